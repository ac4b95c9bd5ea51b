from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, ensure_import, module_aliases, parse_expression
from winport.transform import Context, PythonDocument, PythonTransform

SUFFIX = '(".exe" if sys.platform == "win32" else "")'


class ExeSuffix(PythonTransform):
    """Look for an executable under its Windows name, `<name>.exe`, on Windows.

    Why:
    vLLM finds binaries it ships beside its package by path: from 0.26 the Rust
    frontend resolves `os.path.join(pkg_dir, "vllm-rs")` and accepts it when
    `os.path.isfile(candidate) and os.access(candidate, os.X_OK)`. A Windows build
    installs `vllm-rs.exe`, so the check never finds it and the frontend fails with
    `FileNotFoundError` although the binary is there.

    Pattern:
    In a function, a variable assigned `os.path.join(..., "<name>")` whose last part
    is a string literal without an extension, that the same function checks with
    `os.access(<variable>, os.X_OK)`; and `os.access(os.path.join(..., "<name>"),
    os.X_OK)` itself.

    Rewrite:
    The literal becomes `"<name>" + (".exe" if sys.platform == "win32" else "")`
    (`import sys` added when missing). Linux looks for the same path as before.
    """

    id = "runtime/exe-suffix"
    seed = "F3"
    summary = 'executables found by path and checked with `os.X_OK` -> `<name>.exe` on Windows'
    triggers = ("X_OK",)
    anchors = ("X_OK",)

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        aliases = module_aliases(wrapper.module, "os")
        module = wrapper.visit(_Lookups(ctx, aliases))
        return ensure_import(module, "sys") if ctx.sites else module


def _is(node: cst.BaseExpression, aliases: set[str], dotted: str) -> bool:
    """``node`` is ``<os alias>.<dotted>``, e.g. ``os.path.join``."""
    parts = dotted.split(".")
    for part in reversed(parts):
        if not (isinstance(node, cst.Attribute) and node.attr.value == part):
            return False
        node = node.value
    return isinstance(node, cst.Name) and node.value in aliases


class _Checked(cst.CSTVisitor):
    """The names a function hands to ``os.access(<name>, os.X_OK)``."""

    def __init__(self, aliases: set[str]):
        self.aliases, self.names = aliases, set()

    def visit_Call(self, node: cst.Call) -> None:
        if _is(node.func, self.aliases, "access") and len(node.args) == 2 and isinstance(node.args[0].value, cst.Name) \
                and _is(node.args[1].value, self.aliases, "X_OK"):
            self.names.add(node.args[0].value.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a nested function is looked at on its own


class _Lookups(PositionedTransformer):
    def __init__(self, ctx: Context, aliases: set[str]):
        super().__init__()
        self.ctx, self.aliases = ctx, aliases
        self.checked: list[set[str]] = [set()]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        find = _Checked(self.aliases)
        node.body.visit(find)
        self.checked.append(find.names)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.checked.pop()
        return updated

    def _suffixed(self, join: cst.Call, updated: cst.Call) -> cst.Call | None:
        """``updated`` (an ``os.path.join`` call) with ``.exe`` on Windows, or None when it
        names no executable; records the site."""
        if not (_is(join.func, self.aliases, "path.join") and join.args):
            return None
        last = join.args[-1].value
        if isinstance(last, cst.BinaryOperation) and ".exe" in self.module.code_for_node(last):
            self.ctx.already(self.pos(join), "the executable's name has its Windows suffix")
            return None
        if not isinstance(last, cst.SimpleString):
            return None
        name = last.evaluated_value
        if not isinstance(name, str) or not name or "." in name or "/" in name or "\\" in name:
            return None
        self.ctx.applied(self.pos(join), f'"{name}" -> "{name}.exe" on Windows')
        suffixed = parse_expression(f"{self.module.code_for_node(last)} + {SUFFIX}", self.module)
        args = list(updated.args)
        args[-1] = args[-1].with_changes(value=suffixed)
        return updated.with_changes(args=args)

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if len(original.targets) != 1 or not isinstance(original.targets[0].target, cst.Name) \
                or original.targets[0].target.value not in self.checked[-1] or not isinstance(original.value, cst.Call):
            return updated
        new = self._suffixed(original.value, updated.value)  # type: ignore[arg-type]
        return updated.with_changes(value=new) if new is not None else updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if _is(original.func, self.aliases, "access") and len(original.args) == 2 \
                and _is(original.args[1].value, self.aliases, "X_OK") and isinstance(original.args[0].value, cst.Call):
            new = self._suffixed(original.args[0].value, updated.args[0].value)  # type: ignore[arg-type]
            if new is not None:
                return updated.with_changes(args=[updated.args[0].with_changes(value=new), updated.args[1]])
        return updated
