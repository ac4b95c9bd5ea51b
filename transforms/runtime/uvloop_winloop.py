from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import ImportGuard, ensure_import
from winport.transform import Context, PythonTransform

GUARDED_IMPORT = '''\
if sys.platform == "win32":  # winport: uvloop has no Windows build
    try:
        import winloop as uvloop
    except ImportError:
        import asyncio as _winport_asyncio

        class uvloop:  # noqa: N801 - asyncio with the selector loop pyzmq's sockets need
            EventLoopPolicy = _winport_asyncio.WindowsSelectorEventLoopPolicy
            new_event_loop = _winport_asyncio.SelectorEventLoop

            @staticmethod
            def install():
                _winport_asyncio.set_event_loop_policy(_winport_asyncio.WindowsSelectorEventLoopPolicy())

            @staticmethod
            def run(main, *, debug=None, **_kwargs):
                uvloop.install()
                return _winport_asyncio.run(main, debug=debug)
else:
    import uvloop
'''

_USED = {"run", "install", "new_event_loop", "EventLoopPolicy", "Loop"}


class UvloopWinloop(PythonTransform):
    """Make `import uvloop` work on Windows: winloop, else asyncio's selector loop.

    Why:
    uvloop does not build on Windows (uvicorn's `[standard]` extra leaves it
    out there), so every module that imports it fails to import: on 0.14.1 the
    OpenAI server, from 0.26.0 `vllm/v1/utils.py`, which most of the engine
    and the server import. winloop is uvloop's Windows build, with the same
    API. Without it, asyncio's own loop must be the selector one: pyzmq's
    asyncio sockets need `add_reader`, which Windows' default Proactor loop
    lacks.

    Pattern:
    Every `import uvloop` in `vllm/`, at module level or in a function, that
    is not already under a Windows test or a `try` that catches
    `ImportError`. `from uvloop import ...` and uses of `uvloop` other than
    `run`, `install`, `new_event_loop`, `EventLoopPolicy` and `Loop` are
    reported.

    Rewrite:
    `if sys.platform == "win32":` imports `winloop as uvloop`, or, when
    winloop is not installed, binds `uvloop` to a small class offering `run`,
    `install`, `new_event_loop` and `EventLoopPolicy` on asyncio with the
    `WindowsSelectorEventLoopPolicy`; `else: import uvloop` as before, so
    Linux is unchanged. `runtime/winloop-requirement` adds winloop to the
    requirements on Windows.
    """

    id = "runtime/uvloop-winloop"
    seed = "P1"
    summary = "`import uvloop` → winloop, else asyncio's selector loop, on Windows"
    triggers = ("uvloop",)
    trigger_words = True
    anchors = ("uvloop",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Guard(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


class _Guard(ImportGuard):
    def __init__(self, ctx: Context):
        super().__init__(ctx, "uvloop", GUARDED_IMPORT, "import uvloop: winloop or asyncio's selector loop on Windows")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if m.matches(node.value, m.Name("uvloop")) and node.attr.value not in _USED:
            self.ctx.report(self.pos(node), f"uvloop.{node.attr.value} is not in the Windows stand-in: "
                                            "check winloop offers it")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if m.matches(node.module, m.Name("uvloop")):
            self.ctx.report(self.pos(node), "from uvloop import ...: import the module instead and run winport "
                                            "again")
