"""`os.getuid()` -> a call Windows survives."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from winport import Context, PythonDocument, PythonTransform
from winport.lang.python import PositionedTransformer, module_aliases, parse_expression

FIXTURES = str(Path(__file__).parent / "fixtures")


class OsGetuid(PythonTransform):
    """Make `os.getuid()` answer 0 on Windows instead of raising.

    Why:
    Windows' `os` module has no `getuid`: the call raises `AttributeError`.

    Pattern:
    A call `os.getuid()` through any name `os` is imported as. `from os import getuid`
    is reported: the import itself fails on Windows.

    Rewrite:
    `(os.getuid() if hasattr(os, "getuid") else 0)`. On Linux the attribute exists
    and the call runs as before.
    """

    id = "example/os-getuid"
    summary = "`os.getuid()` -> 0 on Windows, where `os` has no getuid"
    triggers = ("getuid",)
    anchors = ("getuid",)
    fixture_root = FIXTURES

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        aliases = module_aliases(wrapper.module, "os")
        return wrapper.visit(_Guard(ctx, aliases))


class _Guard(PositionedTransformer):
    def __init__(self, ctx: Context, aliases: set[str]) -> None:
        super().__init__()
        self.ctx = ctx
        self.aliases = aliases
        self.depth = 0  # inside a hasattr(os, "getuid") test's expression

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.module, cst.Name) and node.module.value == "os" and not isinstance(node.names,
                                                                                             cst.ImportStar):
            if any(isinstance(a.name, cst.Name) and a.name.value == "getuid" for a in node.names):
                self.ctx.report(self.pos(node), "`from os import getuid` fails on Windows: use os.getuid()")

    def visit_IfExp(self, node: cst.IfExp) -> None:
        if "hasattr" in self.module.code_for_node(node.test) and "getuid" in self.module.code_for_node(node.test):
            self.depth += 1

    def leave_IfExp(self, original: cst.IfExp, updated: cst.BaseExpression) -> cst.BaseExpression:
        if "hasattr" in self.module.code_for_node(original.test) and "getuid" in self.module.code_for_node(
                original.test):
            self.depth -= 1
            self.ctx.already(self.pos(original), "os.getuid() is guarded already")
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if (self.depth or original.args or not isinstance(func, cst.Attribute) or func.attr.value != "getuid"
                or not isinstance(func.value, cst.Name) or func.value.value not in self.aliases):
            return updated
        alias = func.value.value
        self.ctx.applied(self.pos(original), f"{alias}.getuid() -> 0 on Windows")
        return parse_expression(f'({alias}.getuid() if hasattr({alias}, "getuid") else 0)', self.module)
