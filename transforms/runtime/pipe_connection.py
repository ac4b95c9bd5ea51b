from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, add_helper
from winport.transform import Context, PythonTransform

NAME = "_WINPORT_CONNECTIONS"
CODE = '''
# winport: on Windows multiprocessing's pipes are PipeConnection objects, which are no Connection
{name} = (
    ({alias}, sys.modules["multiprocessing.connection"].PipeConnection) if sys.platform == "win32" else ({alias},)
)
'''


class PipeConnection(PythonTransform):
    """Accept Windows' `PipeConnection` where vLLM checks for a `Connection`.

    Why:
    On Windows, `multiprocessing.Pipe()` gives `PipeConnection` objects, and
    `multiprocessing.connection.wait` returns them; `PipeConnection` is a sibling
    of `Connection`, not a subclass. vLLM's worker start-up waits on the ready
    pipes and checks `assert isinstance(pipe, Connection)`, so on Windows every
    engine start fails with an `AssertionError`.

    Pattern:
    In `vllm/`, `isinstance(x, Connection)` where the module binds `Connection`
    (under any alias) with a top-level `from multiprocessing.connection import
    Connection`. A check that names `Connection` any other way (in a tuple, as
    `multiprocessing.connection.Connection`, with an import that is not at the
    top) is reported.

    Rewrite:
    `isinstance(x, _WINPORT_CONNECTIONS)`, with the constant added once after the
    imports: `(Connection, PipeConnection)` on Windows, `(Connection,)`
    elsewhere, so Linux asks the same question (`import sys` added when
    missing).
    """

    id = "runtime/pipe-connection"
    seed = "F3"
    summary = "`isinstance(x, Connection)` also accepts Windows' `PipeConnection`"
    triggers = ("multiprocessing.connection",)
    anchors = ("Connection", "isinstance", NAME)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        alias = _connection_alias(wrapper.module)
        module = wrapper.visit(_Checks(ctx, alias))
        if alias is None:
            return module
        return add_helper(module, ctx, NAME, CODE.format(name=NAME, alias=alias), ("sys",))


def _connection_alias(module: cst.Module) -> str | None:
    """The name a top-level ``from multiprocessing.connection import Connection`` binds."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (isinstance(small, cst.ImportFrom) and isinstance(small.names, (list, tuple))
                    and _dotted(small.module) == "multiprocessing.connection"):
                for alias in small.names:
                    if isinstance(alias.name, cst.Name) and alias.name.value == "Connection":
                        asname = alias.asname.name if alias.asname else None
                        return asname.value if isinstance(asname, cst.Name) else "Connection"
    return None


def _dotted(node) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr.value}" if inner else None
    return None


class _Checks(PositionedTransformer):
    def __init__(self, ctx: Context, alias: str | None):
        super().__init__()
        self.ctx, self.alias = ctx, alias

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(isinstance(t.target, cst.Name) and t.target.value == NAME for t in node.targets):
            self.ctx.already(self.pos(node), f"{NAME} is defined")

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (isinstance(original.func, cst.Name) and original.func.value == "isinstance"
                and len(original.args) == 2):
            return updated
        kind = original.args[1].value
        if self.alias and isinstance(kind, cst.Name) and kind.value == self.alias:
            self.ctx.applied(self.pos(original), f"isinstance(..., {self.alias}) also accepts PipeConnection")
            return updated.with_changes(args=[updated.args[0], updated.args[1].with_changes(value=cst.Name(NAME))])
        names = {_dotted(e.value) for e in kind.elements} if isinstance(kind, cst.Tuple) else {_dotted(kind)}
        if names & ({self.alias} if self.alias else set()) or "multiprocessing.connection.Connection" in names \
                or (self.alias is None and "Connection" in names):
            self.ctx.report(self.pos(original), "a Connection check Windows' PipeConnection fails: "
                                                "make it accept PipeConnection on Windows by hand")
        return updated
