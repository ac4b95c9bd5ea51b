from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, ensure_import, is_win32_test, parse_expression
from winport.transform import Context, PythonTransform

_POSIX_METHODS = ("fork", "forkserver")


class StartMethodDefault(PythonTransform):
    """Make `spawn` the default start method setting on Windows.

    Why:
    `VLLM_WORKER_MULTIPROC_METHOD` defaults to `"fork"` in `vllm/envs.py`.
    `runtime/spawn-context` makes the contexts vLLM creates use `spawn` on
    Windows, but code that reads the setting itself still sees `"fork"`: it
    warns about or forces a fork-only path (the CUDA re-initialisation check,
    the executor's choice of what to pass to workers) on a platform that has no
    fork.

    Pattern:
    In `vllm/`, a call whose first argument names a start-method setting (a
    string ending in `MULTIPROC_METHOD` or `START_METHOD`) and whose second is
    the literal `"fork"` or `"forkserver"`:
    `env_with_choices("VLLM_WORKER_MULTIPROC_METHOD", "fork", [...])`,
    `os.getenv("VLLM_WORKER_MULTIPROC_METHOD", "fork")`.

    Rewrite:
    The default becomes `"spawn" if sys.platform == "win32" else "fork"`
    (`import sys` added when missing); a value set in the environment still
    wins, and Linux keeps `"fork"`.
    """

    id = "runtime/start-method-default"
    seed = "F3"
    summary = 'start-method settings default to "spawn" on Windows (`VLLM_WORKER_MULTIPROC_METHOD`)'
    triggers = ("MULTIPROC_METHOD", "START_METHOD")
    anchors = ("MULTIPROC_METHOD", "START_METHOD")
    anchors_in_blocks = True
    expects = "the VLLM_WORKER_MULTIPROC_METHOD setting in vllm/envs.py"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Defaults(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


def _string(node) -> str | None:
    value = node.evaluated_value if isinstance(node, cst.SimpleString) else None
    return value if isinstance(value, str) else None


class _Defaults(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        args = original.args
        if len(args) < 2 or args[0].keyword is not None or args[1].keyword is not None:
            return updated
        name = _string(args[0].value)
        if name is None or not name.endswith(("MULTIPROC_METHOD", "START_METHOD")):
            return updated
        default = args[1].value
        if isinstance(default, cst.IfExp) and is_win32_test(default.test):
            self.ctx.already(self.pos(original), f"{name} already defaults to spawn on Windows")
            return updated
        method = _string(default)
        if method not in _POSIX_METHODS:
            if method is not None:
                self.ctx.already(self.pos(original), f"{name} defaults to {method!r}, which Windows has")
            else:
                self.ctx.report(self.pos(original), f"{name}'s default is computed: make it \"spawn\" on Windows "
                                                    "by hand if it can be fork")
            return updated
        code = self.module.code_for_node(default)
        new = parse_expression(f'"spawn" if sys.platform == "win32" else {code}', self.module)
        self.ctx.applied(self.pos(original), f'{name} defaults to "spawn" on Windows ({code} elsewhere)')
        return updated.with_changes(args=[updated.args[0], updated.args[1].with_changes(value=new), *updated.args[2:]])
