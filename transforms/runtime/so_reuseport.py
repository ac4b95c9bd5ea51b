from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, module_aliases, parse_expression
from winport.transform import Context, PythonTransform


class SoReusePort(PythonTransform):
    """Guard `socket.SO_REUSEPORT` with `hasattr(socket, "SO_REUSEPORT")`.

    Why:
    Windows has no `SO_REUSEPORT`; the `socket` module there lacks the
    attribute, so the API server dies with `AttributeError` while creating
    its listening socket.

    Pattern:
    A statement that calls something with `socket.SO_REUSEPORT` (through any
    name the `socket` module is imported as), wherever it is in `vllm/`:
    0.14.1 has it in the OpenAI api_server, 0.33.0 in the launchers.

    Rewrite:
    The statement moves under `if hasattr(socket, "SO_REUSEPORT"):`. On Linux
    the attribute exists, so the statement runs as before. A statement
    already under such a test is left alone.

    Reported:
    `from socket import SO_REUSEPORT` and uses that are not a call statement
    (an assignment, a condition): guarding those changes what follows.
    """

    id = "runtime/so-reuseport"
    seed = "R6"
    summary = 'guard `socket.SO_REUSEPORT` with `hasattr(socket, "SO_REUSEPORT")`'
    triggers = ("SO_REUSEPORT",)
    anchors = ("SO_REUSEPORT",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        aliases = module_aliases(wrapper.module, "socket")
        return wrapper.visit(_Guard(ctx, aliases))


def _is_guard(test: cst.BaseExpression, alias: str) -> bool:
    for call in m.findall(test, m.Call(func=m.Name("hasattr"))):
        args = call.args  # type: ignore[attr-defined]
        if (len(args) == 2 and m.matches(args[0].value, m.Name(alias))
                and m.matches(args[1].value, m.SimpleString())
                and args[1].value.evaluated_value == "SO_REUSEPORT"):
            return True
    return False


class _Guard(PositionedTransformer):
    def __init__(self, ctx: Context, aliases: set[str]):
        super().__init__()
        self.ctx = ctx
        self.uses = m.OneOf(*(m.Attribute(value=m.Name(a), attr=m.Name("SO_REUSEPORT")) for a in aliases)) \
            if aliases else None
        self.tests: list[cst.BaseExpression] = []
        self.handled: set[int] = set()  # uses inside a statement this transform deals with
        self.wrap: dict[int, str] = {}  # statement -> socket alias to guard it with

    def _uses(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        return [] if self.uses is None else m.findall(node, self.uses)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if m.matches(node.module, m.Name("socket")) and not isinstance(node.names, cst.ImportStar):
            if any(m.matches(a.name, m.Name("SO_REUSEPORT")) for a in node.names):
                self.ctx.report(self.pos(node), "`from socket import SO_REUSEPORT` fails on Windows; "
                                                "use `socket.SO_REUSEPORT` under a hasattr() guard")

    def visit_If(self, node: cst.If) -> None:
        self.tests.append(node.test)

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        self.tests.pop()
        return updated

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.uses is not None and m.matches(node, self.uses) and id(node) not in self.handled:
            self.ctx.report(self.pos(node), "`SO_REUSEPORT` used outside a call statement: guard it by hand")

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        uses = self._uses(node)
        if not uses:
            return
        alias = uses[0].value.value  # type: ignore[attr-defined]
        if any(_is_guard(t, alias) for t in self.tests):
            self.ctx.already(self.pos(node), "SO_REUSEPORT already under a hasattr() guard")
        elif len(node.body) == 1 and m.matches(node.body[0], m.Expr(value=m.Call())):
            self.wrap[id(node)] = alias
        else:
            return
        self.handled.update(id(u) for u in uses)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        alias = self.wrap.get(id(original))
        if alias is None:
            return updated
        self.ctx.applied(self.pos(original), f'guarded with `if hasattr({alias}, "SO_REUSEPORT"):`')
        return cst.If(
            test=parse_expression(f'hasattr({alias}, "SO_REUSEPORT")', self.module),
            body=cst.IndentedBlock(body=[updated.with_changes(leading_lines=[])]),
            leading_lines=updated.leading_lines,
        )
