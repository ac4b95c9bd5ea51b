from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, ensure_imports, parse_statement
from winport.lang.vllm import NOT_ON_WINDOWS
from winport.transform import Context, PythonTransform

MARK = "winport: extensions MSVC cannot build"

BLOCK = f'''\
if sys.platform == "win32":  # {MARK}
    _winport_not_built = ({", ".join(f'"{n}"' for n in NOT_ON_WINDOWS)})
    _winport_skip = [e.name for e in ext_modules if e.name.rsplit(".", 1)[-1].startswith(_winport_not_built)]
    if _winport_skip:
        print("vLLM on Windows: not building " + ", ".join(_winport_skip)
              + " (MSVC cannot compile them; the features that use them are off)", file=sys.stderr)
        ext_modules = [e for e in ext_modules if e.name not in _winport_skip]
'''

RUST = '''\
    if not os.getenv("VLLM_REQUIRE_RUST_FRONTEND"):
        print("vLLM on Windows: not building the Rust frontend "
              "(set VLLM_REQUIRE_RUST_FRONTEND=1 to build it)", file=sys.stderr)
        rust_extensions = []
'''


class WindowsExtensions(PythonTransform):
    """Skip, on Windows, the optional extensions MSVC cannot build, and say so.

    Why:
    Later releases add extensions built from fetched projects: FlashAttention 3
    (`_vllm_fa3_C`), DeepGEMM, QuTLASS, FlashMLA, and from 0.23 a Rust frontend
    built by `setuptools_rust`. Their sources need GCC and Linux; on Windows
    the whole `pip install` stops at the first of them, although vLLM runs
    without each (the features that use them stay off).

    Pattern:
    The module-level `setup(...)` call of setup.py that passes
    `ext_modules=<a name>` (and `rust_extensions=<a name>` where there is one).
    It is an anchor: a setup.py without it is reported as drifted.

    Rewrite:
    Just before the call, a block taken only when `sys.platform == "win32"`:
    the extensions named `_vllm_fa3_C`, `_deep_gemm_C`, `_qutlass_C`,
    `_flashmla*` and `_sparse_flashmla*` leave the list, with a message that
    names them; the Rust extensions are dropped too unless
    `VLLM_REQUIRE_RUST_FRONTEND` is set. Linux builds the same list as before.
    """

    id = "build/windows-extensions"
    seed = "D3"
    summary = "setup.py: on Windows skip FA3, DeepGEMM, QuTLASS, FlashMLA and the Rust frontend, with a message"
    globs = ("setup.py",)
    triggers = ("ext_modules",)
    anchors = ("ext_modules",)  # the setup(...) call names it; the block winport wrote holds "winport"
    anchors_in_blocks = True
    expects = "setup.py's setup(..., ext_modules=...) call"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        visitor = _BeforeSetup(ctx)
        module = wrapper.visit(visitor)
        return ensure_imports(module, ["os", "sys"] if visitor.rust else ["sys"]) if ctx.sites else module


def _keyword_name(call: cst.Call, keyword: str) -> str | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword and isinstance(arg.value, cst.Name):
            return arg.value.value
    return None


class _BeforeSetup(PositionedTransformer):
    """Puts the block before the first module-level ``setup(..., ext_modules=NAME)``
    statement, as a replacement of that statement (the block and the statement), so
    that the partial parse can place it."""

    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.rust = False
        self.done = False  # the block is in place, or was added
        self.top: set[int] = set()  # the module's own statements

    def visit_Module(self, node: cst.Module) -> None:
        super().visit_Module(node)
        self.top = {id(stmt) for stmt in node.body}
        for stmt in node.body:
            if isinstance(stmt, cst.If) and MARK in cst.Module([]).code_for_node(stmt.body.header or stmt):
                self.ctx.already(self.pos(stmt), "the Windows extension block is in place")
                self.done = True
                return

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        if self.done or id(original) not in self.top:
            return updated
        call = m.findall(original, m.Call(func=m.Name("setup")))
        ext = _keyword_name(call[0], "ext_modules") if call else None
        if ext is None:
            return updated
        rust = _keyword_name(call[0], "rust_extensions")
        text = BLOCK.replace("ext_modules", ext)
        if rust is not None:
            text += RUST.replace("rust_extensions", rust)
            self.rust = True
        block = parse_statement(text, self.module)
        self.done = True
        self.ctx.applied(self.pos(original), "on Windows, skip FA3/DeepGEMM/QuTLASS/FlashMLA"
                         + (" and the Rust frontend" if rust else "") + " before setup()")
        return cst.FlattenSentinel([block.with_changes(leading_lines=updated.leading_lines),
                                    updated.with_changes(leading_lines=[cst.EmptyLine()])])

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.done:
            self.ctx.drifted("setup.py: no module-level setup(..., ext_modules=NAME) call")
        return updated
