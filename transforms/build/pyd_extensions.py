from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, ensure_import, is_win32_test
from winport.transform import Context, PythonTransform


def _windows_spelling(value: str) -> str | None:
    """The Windows pattern for a glob (`*.so`) or regex (`\\.so$`) of compiled extensions."""
    if value.endswith("*.so"):
        return value[: -len(".so")] + ".pyd"
    if value.endswith("\\.so$"):
        return value[: -len("so$")] + "pyd$"
    return None


class PydExtensions(PythonTransform):
    """Find compiled extension modules by `.pyd` on Windows in setup.py.

    Why:
    From 0.26 setup.py looks for the Rust frontend's PyO3 extensions as files:
    `(ROOT_DIR / "vllm").glob("_rust_*.so")` to skip a local Rust build when
    they are all there, and `re.compile(r"vllm/_rust_[^/]*\\.so$")` to pick
    them out of a precompiled wheel. On Windows an extension module is
    `<name>.<tag>.pyd`: the glob finds nothing, every module counts as
    missing, and the regex never matches.

    Pattern:
    A string literal in setup.py that is a glob ending in `*.so` or a regex
    ending in `\\.so$`.

    Rewrite:
    `("_rust_*.pyd" if sys.platform == "win32" else "_rust_*.so")`, the
    same for the regex (`\\.pyd$`); `import sys` is added when missing. Linux
    keeps its pattern. The exact `vllm/_C.abi3.so` names of the precompiled
    wheel path are left: only Linux wheels are published.
    """

    id = "build/pyd-extensions"
    seed = "D3"
    summary = 'setup.py globs and regexes for compiled extensions: `*.pyd` on Windows, `*.so` elsewhere'
    globs = ("setup.py",)
    triggers = ("*.so", "\\.so$")
    anchors = (".so",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Patterns(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


class _Patterns(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.guarded: set[int] = set()
        self.made: set[int] = set()

    def visit_IfExp(self, node: cst.IfExp) -> None:
        if is_win32_test(node.test):
            self.guarded.add(id(node.orelse))

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        value = original.evaluated_value
        windows = _windows_spelling(value) if isinstance(value, str) else None
        if windows is None:
            return updated
        if id(original) in self.guarded:
            self.ctx.already(self.pos(original), "the pattern has a Windows spelling already")
            return updated
        prefix = original.prefix
        quote = original.quote
        text = f"{prefix}{quote}{windows}{quote}"
        self.ctx.applied(self.pos(original), f"{original.value} -> {text} on Windows")
        choice = cst.IfExp(
            test=cst.Comparison(cst.Attribute(cst.Name("sys"), cst.Name("platform")),
                                [cst.ComparisonTarget(cst.Equal(), cst.SimpleString('"win32"'))]),
            body=cst.SimpleString(text), orelse=updated,
            lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        self.made.add(id(choice))
        return choice

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        if id(updated.value) in self.made:  # a call's argument needs no parentheses of its own
            return updated.with_changes(value=updated.value.with_changes(lpar=[], rpar=[]))
        return updated
