"""libcst helpers shared by Python transforms."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Callable, Iterator

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, PositionProvider


class PositionedTransformer(cst.CSTTransformer):
    """A transformer whose sites name original nodes: ``ctx.applied(self.pos(node), ...)``.

    Run it with ``wrapper.visit(...)`` on the ``MetadataWrapper`` the pipeline hands
    to :meth:`winport.PythonTransform.rewrite`. Positions (a code generation pass
    over the module) are computed only when a site is recorded, once per file.
    """

    module: cst.Module  # the module being visited, for parsing code with its conventions

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node

    def pos(self, node: cst.CSTNode) -> cst.CSTNode:
        return node


@dataclass
class Span:
    """Where one statement, as libcst groups statements, lies: 1-based first and last
    line (decorators included; ``a; b`` on one line is one statement), the column of
    its first line, and for a class the spans of its body."""

    first: int
    last: int
    column: int
    body: "list[Span] | None" = None
    text: bytes = b""  # the statement's lines


def statement_spans(code: bytes) -> list[Span] | None:
    """The spans of the module's top-level statements, read with the fast ``ast``
    parser (class bodies too). None when ``ast`` cannot parse the code."""
    try:
        spans = _spans(ast.parse(code).body)
    except (SyntaxError, ValueError, RecursionError):
        return None
    starts = [0, *(m_.end() for m_ in re.finditer(rb"\n", code)), len(code)]
    stack = list(spans)
    while stack:
        span = stack.pop()
        span.text = code[starts[span.first - 1]:starts[min(span.last, len(starts) - 1)]]
        stack.extend(span.body or ())
    return spans


def _spans(body: list[ast.stmt]) -> list[Span]:
    spans: list[Span] = []
    last_simple = False
    for stmt in body:
        first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
        last = stmt.end_lineno or first
        simple = not hasattr(stmt, "body")
        if simple and last_simple and spans and first == spans[-1].last:
            spans[-1].last = max(spans[-1].last, last)
        else:
            spans.append(Span(first, last, stmt.col_offset, _spans(stmt.body) if isinstance(stmt, ast.ClassDef)
                              else None))
        last_simple = simple
    return spans


class FocusedWrapper(MetadataWrapper):
    """A :class:`MetadataWrapper` whose ``visit`` skips the statements (top-level, or
    in the body of a class) in which a transform's anchors do not occur: the visitor
    is neither called for them nor for anything inside them, and they stay as they
    are. Positions of nodes inside visited statements are computed from those
    statements alone."""

    def __init__(self, module: cst.Module, skip: set[int], units: list[tuple[cst.CSTNode, int, int]]):
        super().__init__(module, unsafe_skip_copy=True)
        self.skip = skip  # id() of skipped statements
        # the innermost visited statements: (statement, first line - 1 of its code, its column)
        self.units = units

    def visit(self, visitor):
        if self.skip:
            on_visit, on_leave = visitor.on_visit, visitor.on_leave
            skip = self.skip

            def visiting(node):
                return False if id(node) in skip else on_visit(node)

            def leaving(original, *updated):  # a transformer passes the updated node, a visitor not
                if id(original) in skip:
                    return original if updated else None
                return on_leave(original, *updated)

            visitor.on_visit, visitor.on_leave = visiting, leaving  # type: ignore[method-assign]
        return super().visit(visitor)


def focus(module: cst.Module, anchors: re.Pattern[bytes] | None, spans: list[Span] | None) -> MetadataWrapper:
    """The wrapper a transform visits: every statement when ``anchors`` is None or the
    spans do not line up with libcst's statements, else only those whose lines match."""
    if anchors is None or spans is None or len(spans) != len(module.body):
        return MetadataWrapper(module, unsafe_skip_copy=True)
    skip: set[int] = set()
    units: list[tuple[cst.CSTNode, int, int]] = []

    def walk(body, spans: list[Span]) -> None:
        for stmt, span in zip(body, spans):
            if not anchors.search(span.text):
                skip.add(id(stmt))
                continue
            inner = stmt.body.body if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock) \
                else None
            if span.body is not None and inner is not None and len(inner) == len(span.body):
                walk(inner, span.body)
            else:
                units.append((stmt, span.first - 1 - len(stmt.leading_lines), span.column))

    walk(module.body, spans)
    return FocusedWrapper(module, skip, units)


def node_positions(wrapper, memo: dict | None = None) -> "Callable[[cst.CSTNode], tuple[int, int]]":
    """1-based (line, column) of an original node of ``wrapper``'s module, resolved
    on first use. For a :class:`FocusedWrapper`, visited statements are resolved one
    at a time, in order, until the node is found (sites come in visiting order), and
    ``memo`` keeps each statement's relative positions for the next transform of the
    file; a node outside them falls back to the whole module."""
    cache: dict = {}
    pending = list(wrapper.units) if isinstance(wrapper, FocusedWrapper) else []
    memo = {} if memo is None else memo

    def resolve(stmt, line_offset: int, column: int) -> None:
        kept = memo.get(id(stmt))
        if kept is None or kept[0] is not stmt:
            alone = MetadataWrapper(wrapper.module.with_changes(header=[], body=[stmt], footer=[]),
                                    unsafe_skip_copy=True)
            relative = {node: (rng.start.line, rng.start.column) for node, rng in
                        alone.resolve(PositionProvider).items() if node is not alone.module}
            kept = memo[id(stmt)] = (stmt, relative)
        for node, (line, col) in kept[1].items():
            cache[node] = (line + line_offset, col + column + 1)

    def position(node: cst.CSTNode) -> tuple[int, int]:
        while node not in cache and pending:
            resolve(*pending.pop(0))
        if node not in cache:
            pending.clear()
            cache.update({n: (r.start.line, r.start.column + 1) for n, r in wrapper.resolve(PositionProvider).items()})
        return cache[node]

    return position


def statements(block) -> "Iterator[cst.CSTNode]":
    """Every statement of a module or block, nested blocks included, without
    descending into expressions (cheap compared with a full visit)."""
    body = getattr(block, "body", ())
    for stmt in body if isinstance(body, (list, tuple)) else ():
        yield from _statement(stmt)


def _statement(stmt) -> "Iterator[cst.CSTNode]":
    yield stmt
    if isinstance(stmt, cst.SimpleStatementLine):
        yield from stmt.body
        return
    for part in ("body", "orelse", "finalbody"):
        child = getattr(stmt, part, None)
        if isinstance(child, cst.If):  # elif
            yield from _statement(child)
        elif isinstance(child, (cst.Else, cst.Finally)):
            yield from statements(child.body)
        elif isinstance(child, cst.BaseSuite):
            yield from statements(child)
    for handler in getattr(stmt, "handlers", ()):
        yield from statements(handler.body)


def module_aliases(module: cst.Module, name: str) -> set[str]:
    """Names under which module ``name`` is imported anywhere in ``module``
    (``import socket`` -> {"socket"}, ``import socket as s`` -> {"s"})."""
    found: set[str] = set()
    for stmt in statements(module):
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                if m.matches(alias.name, m.Name(name)):
                    found.add(alias.asname.name.value if alias.asname else name)  # type: ignore[union-attr]
    return found


def parse_statement(code: str, module: cst.Module) -> cst.BaseStatement:
    """Parse one statement with the module's conventions (indent, newline)."""
    return cst.parse_statement(code, config=module.config_for_parsing)


def parse_expression(code: str, module: cst.Module) -> cst.BaseExpression:
    return cst.parse_expression(code, config=module.config_for_parsing)


def has_module_level(module: cst.Module, name: str) -> bool:
    """Whether ``name`` is defined (function or assignment) at the top of ``module``."""
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == name:
            return True
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name(name))])])):
            return True
    return False


def _after_imports(module: cst.Module) -> int:
    """Index of the first top-level statement after the docstring and the imports
    that lead the module (later imports, e.g. under ``if``, do not count)."""
    at = 0
    for i, stmt in enumerate(module.body):
        if m.matches(stmt, m.SimpleStatementLine(body=[m.OneOf(m.Import(), m.ImportFrom())])):
            at = i + 1
        elif i == 0 and m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])):
            at = 1
    return at


def insert_after_imports(module: cst.Module, code: str) -> cst.Module:
    """``module`` with the statements of ``code`` placed after its leading imports
    (module docstring, ``__future__`` and other top-level imports), set off by
    two blank lines."""
    parsed = cst.parse_module(code.strip("\n") + "\n", config=module.config_for_parsing)
    new = list(parsed.body)
    at = _after_imports(module)
    # a comment at the top of ``code`` is the parsed module's header: keep it with the code
    blank = [cst.EmptyLine(), cst.EmptyLine()] if at else []
    new[0] = new[0].with_changes(leading_lines=[*blank, *parsed.header, *new[0].leading_lines])
    return module.with_changes(body=[*module.body[:at], *new, *module.body[at:]])


def imports_module(module: cst.Module, name: str) -> bool:
    return bool(module_aliases(module, name) & {name})


def ensure_import(module: cst.Module, name: str) -> cst.Module:
    """``module`` with a top-level ``import name`` when it has none."""
    if imports_module(module, name):
        return module
    at = _after_imports(module)
    stmt = cst.parse_statement(f"import {name}\n", config=module.config_for_parsing)
    return module.with_changes(body=[*module.body[:at], stmt, *module.body[at:]])


WIN32 = 'sys.platform == "win32"'


def is_win32_test(test: cst.BaseExpression, negated: bool = False) -> bool:
    """Whether ``test`` asks "is this Windows?": ``sys.platform`` compared with "win32"
    or ``os.name`` with "nt" (``!=`` when ``negated``), or ``sys.platform.startswith("win")``
    (under ``not`` when ``negated``)."""
    op = m.NotEqual() if negated else m.Equal()

    def compares(owner: str, attr: str, value: str) -> bool:
        return bool(m.findall(test, m.Comparison(
            left=m.Attribute(m.Name(owner), m.Name(attr)),
            comparisons=[m.ComparisonTarget(op, m.SimpleString(value=m.MatchIfTrue(lambda v: value in v)))])))

    starts = m.Call(func=m.Attribute(m.Attribute(m.Name("sys"), m.Name("platform")), m.Name("startswith")),
                    args=[m.Arg(m.SimpleString(value=m.MatchIfTrue(lambda v: v.strip("\"'") == "win")))])
    if negated:
        starts = m.UnaryOperation(operator=m.Not(), expression=starts)
    return compares("sys", "platform", "win32") or compares("os", "name", "nt") or bool(m.findall(test, starts))