"""libcst helpers for Python transforms: visiting with positions and guards, parsing
code in a module's style, asking what a module imports and defines, and adding
imports and helpers before their first use.

How the engine parses only the statements a file's transforms need is
:mod:`winport.lang.partial`; a transform author does not need it.
"""

from __future__ import annotations

import ast
from typing import Iterator

import libcst as cst

from . import guards
from .partial import omitted as _omitted


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


class GuardAwareTransformer(PositionedTransformer):
    """A :class:`PositionedTransformer` that knows whether the node being visited is
    guarded for Windows, by the rules of :mod:`winport.lang.guards` (the detectors'
    too): in a branch a platform test keeps from Windows, the body of
    ``if hasattr(<name>, "..."):``, a ``try`` body whose handlers catch what a
    missing API raises, or after ``if <true on Windows>: return`` (or ``raise``,
    ``continue``, ``break``; also ``if not hasattr(os, "..."): raise``) in the same
    block. Read :attr:`guarded`; a subclass that visits ``If``, ``IfExp``, ``Try`` or
    ``IndentedBlock`` itself calls ``super()``."""

    def __init__(self) -> None:
        super().__init__()
        self._branches: dict[int, bool] = {}  # id of a branch about to be visited -> guarded
        self._tests: dict[int, object] = {}  # id of an if being visited -> its test as ``ast``
        self._guards: list[bool] = []
        self._exits: list[bool] = [False]  # per block: did Windows leave it already?

    @property
    def guarded(self) -> bool:
        return any(self._guards) or any(self._exits)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self._branches:
            self._guards.append(self._branches[id(node)])
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
        result = super().on_leave(original_node, updated_node)
        if self._branches.pop(id(original_node), None) is not None:
            self._guards.pop()
        return result

    def _branch(self, node, test) -> None:
        """Record, before they are visited, whether ``node``'s body and ``orelse`` are guarded."""
        read = self._tests[id(node)] = guards.from_cst(_EMPTY.code_for_node(test))
        body, orelse = guards.branches(read)
        self._branches[id(node.body)] = body
        if node.orelse is not None:
            self._branches[id(node.orelse)] = orelse

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool | None:
        self._exits.append(False)
        return None

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.BaseSuite:
        self._exits.pop()
        return updated

    def visit_If(self, node: cst.If) -> bool | None:
        self._branch(node, node.test)
        return None

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        test = self._tests.pop(id(original), None)
        last = original.body.body[-1] if original.body.body else None
        if isinstance(last, cst.SimpleStatementLine):
            last = last.body[-1] if last.body else None
        if guards.leaves_block(test, original.orelse is not None, _AST_EXITS.get(type(last), type(None))):
            self._exits[-1] = True
        return updated

    def visit_IfExp(self, node: cst.IfExp) -> bool | None:
        self._branch(node, node.test)
        return None

    def leave_IfExp(self, original: cst.IfExp, updated: cst.IfExp) -> cst.BaseExpression:
        self._tests.pop(id(original), None)
        return updated

    def visit_Try(self, node: cst.Try) -> bool | None:
        self._branches[id(node.body)] = any(guards.handles(handler_names(h), _reraises(h)) for h in node.handlers)
        return None

    def leave_Try(self, original: cst.Try, updated: cst.Try) -> cst.Try:
        return updated


_EMPTY = cst.Module([])
_AST_EXITS = {cst.Return: ast.Return, cst.Raise: ast.Raise, cst.Continue: ast.Continue, cst.Break: ast.Break}


def _reraises(handler: cst.ExceptHandler) -> bool:
    """Whether ``handler``'s last statement is a ``raise``."""
    body = handler.body.body
    last = body[-1] if body else None
    return isinstance(last, cst.SimpleStatementLine) and bool(last.body) and isinstance(last.body[-1], cst.Raise)


def handler_names(handler: cst.ExceptHandler) -> set[str] | None:
    """The names an ``except`` clause catches (None for a bare ``except``), for
    :func:`winport.lang.guards.catches`."""
    if handler.type is None:
        return None
    found, stack = set(), [handler.type]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.add(node.value)
        stack.extend(node.children)
    return found


class ImportGuard(GuardAwareTransformer):
    """Replaces each ``import <name>`` statement (at module level or in a function)
    that is not already guarded with ``code``, a block in the module's style that
    binds ``name`` on Windows and imports it elsewhere; reports an import it cannot
    replace as it is (other names beside it, another name), and records a guarded
    one as already done. A subclass adds what else it reports (``visit_Attribute``
    and the like). The transform then calls ``ensure_import(module, "sys")``."""

    def __init__(self, ctx, name: str, code: str, message: str) -> None:
        super().__init__()
        self.ctx, self.name, self.code, self.message = ctx, name, code, message

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated):
        imports = [s for s in original.body if isinstance(s, cst.Import)
                   and any(_is_name(a.name, self.name) for a in s.names)]
        if not imports:
            return updated
        if self.guarded:
            self.ctx.already(self.pos(original), f"import {self.name} already guarded for Windows")
            return updated
        if len(original.body) != 1 or len(imports[0].names) != 1 or imports[0].names[0].asname:
            self.ctx.report(self.pos(original), f"{self.name} imported together with other names or under "
                                                "another name: split it and run winport again")
            return updated
        self.ctx.applied(self.pos(original), self.message)
        return parse_statement(self.code, self.module).with_changes(leading_lines=updated.leading_lines)



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
    omitted = _omitted()
    found: set[str] = set(omitted.imports.get(name, ())) if omitted else set()
    for stmt in statements(module):
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                if _is_name(alias.name, name):
                    found.add(alias.asname.name.value if alias.asname else name)  # type: ignore[union-attr]
    return found


def parse_statement(code: str, module: cst.Module) -> cst.BaseStatement:
    """Parse one statement with the module's conventions (indent, newline)."""
    return cst.parse_statement(code, config=module.config_for_parsing)


def parse_expression(code: str, module: cst.Module) -> cst.BaseExpression:
    return cst.parse_expression(code, config=module.config_for_parsing)


def has_module_level(module: cst.Module, name: str) -> bool:
    """Whether ``name`` is defined (function or assignment) at the top of ``module``."""
    omitted = _omitted()
    if omitted and name in omitted.names:
        return True
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == name:
            return True
        assign = _only(stmt)
        if (isinstance(assign, cst.Assign) and len(assign.targets) == 1
                and _is_name(assign.targets[0].target, name)):
            return True
    return False


def _is_name(node, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _only(stmt: cst.CSTNode) -> "cst.CSTNode | None":
    """The one small statement of a simple statement line, else None."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        return stmt.body[0]
    return None


def _is_docstring(stmt: cst.CSTNode) -> bool:
    only = _only(stmt)
    return isinstance(only, cst.Expr) and isinstance(only.value, cst.SimpleString)


def _after_imports(module: cst.Module) -> int:
    """Index of the first top-level statement after the docstring and the last
    top-level import statement (imports under ``if`` or ``try`` do not count)."""
    at = 0
    for i, stmt in enumerate(module.body):
        if isinstance(_only(stmt), (cst.Import, cst.ImportFrom)):
            at = i + 1
        elif i == 0 and _is_docstring(stmt):
            at = 1
    return at


def _leading(module: cst.Module, future_only: bool = False) -> int:
    """Index of the first top-level statement after the docstring and the run of
    import statements that opens the module (``from __future__`` imports only,
    with ``future_only``)."""
    at = 0
    for i, stmt in enumerate(module.body):
        only = _only(stmt)
        if i == 0 and _is_docstring(stmt):
            at = 1
        elif (isinstance(only, cst.ImportFrom) and _is_name(only.module, "__future__")) or (
                not future_only and isinstance(only, (cst.Import, cst.ImportFrom))):
            at = i + 1
        else:
            break
    return at


def _is_import_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom))
                                                             for s in stmt.body)


def _uses(stmt: cst.CSTNode, names: set[str]) -> bool:
    """Whether ``stmt`` mentions one of ``names`` (an import line does not use what it names)."""
    if _is_import_line(stmt):
        return False
    stack = [stmt]  # a plain walk: libcst's matchers cost several times more on large statements
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value in names:
            return True
        stack.extend(node.children)
    return False


def _first_use(module: cst.Module, names: set[str], stop: int) -> int:
    """Index of the first top-level statement before ``stop`` that mentions one of
    ``names`` (anywhere, function bodies too: an earlier import is never wrong), or ``stop``."""
    return next((i for i, stmt in enumerate(module.body[:stop]) if _uses(stmt, names)), stop)


def _insert(module: cst.Module, at: int, new: list[cst.BaseStatement]) -> cst.Module:
    """``new`` placed before statement ``at``; unless it joins the import lines
    above, the blank lines and comments above that statement move above ``new``."""
    body = list(module.body)
    after_import = at > 0 and _is_import_line(body[at - 1])
    if at < len(body) and not after_import and body[at].leading_lines:
        new = [new[0].with_changes(leading_lines=[*body[at].leading_lines, *new[0].leading_lines]), *new[1:]]
        body[at] = body[at].with_changes(leading_lines=[])
    return module.with_changes(body=[*body[:at], *new, *body[at:]])


def insert_after_imports(module: cst.Module, code: str) -> cst.Module:
    """``module`` with the statements of ``code`` placed after its top-level imports
    (module docstring, ``__future__`` and other imports), set off by two blank
    lines, or before the first statement that mentions a name ``code`` defines when
    that comes earlier. Names ``code`` itself needs are the caller's to
    :func:`ensure_import` afterwards."""
    parsed = cst.parse_module(code.strip("\n") + "\n", config=module.config_for_parsing)
    new = list(parsed.body)
    defined = {s.name.value for s in new if isinstance(s, (cst.FunctionDef, cst.ClassDef))} | {
        t.target.value for s in new if isinstance(s, cst.SimpleStatementLine)
        for a in s.body if isinstance(a, cst.Assign) for t in a.targets if isinstance(t.target, cst.Name)}
    at = _after_imports(module)
    at = max(_first_use(module, defined, at), _leading(module, future_only=True))
    # a comment at the top of ``code`` is the parsed module's header: keep it with the code
    blank = [cst.EmptyLine(), cst.EmptyLine()] if at else []
    new[0] = new[0].with_changes(leading_lines=[*blank, *parsed.header, *new[0].leading_lines])
    return module.with_changes(body=[*module.body[:at], *new, *module.body[at:]])


def add_helper(module: cst.Module, ctx, name: str, code: str, imports=()) -> cst.Module:
    """``module`` with the helper ``code`` (which defines ``name``) placed after its
    imports (:func:`insert_after_imports`) and ``imports`` ensured, when the transform
    recorded sites in this file (``ctx.sites``) and the module does not define
    ``name`` yet; else ``module`` as it is."""
    if not ctx.sites or has_module_level(module, name):
        return module
    return ensure_imports(insert_after_imports(module, code), imports)


def imports_module(module: cst.Module, name: str) -> bool:
    return bool(module_aliases(module, name) & {name})


def _binds_module(stmt: cst.CSTNode, name: str) -> bool:
    """Whether ``stmt`` is a top-level ``import name`` (among other names)."""
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, cst.Import) and any(_is_name(a.name, name) and a.asname is None for a in s.names)
        for s in stmt.body)


def ensure_import(module: cst.Module, name: str) -> cst.Module:
    """``module`` with ``import name`` bound before any top-level statement mentions
    ``name``: an ``import name`` at the top level of the module before that
    statement is kept, else one is added at the end of the imports that open the
    module (after the docstring and ``from __future__`` imports), or just before the
    first statement that mentions ``name`` when that comes earlier. An import inside a
    function or under ``if`` does not count: it does not bind the name for the
    module's own code."""
    first = len(module.body)
    for i, stmt in enumerate(module.body):  # in order: a binding first, or a use first
        if _binds_module(stmt, name):
            return module
        if _uses(stmt, {name}):
            first = i
            break
    at = max(min(_leading(module), first), _leading(module, future_only=True))
    stmt = cst.parse_statement(f"import {name}\n", config=module.config_for_parsing)
    return _insert(module, at, [stmt])


def ensure_imports(module: cst.Module, names) -> cst.Module:
    """:func:`ensure_import` for each of ``names``, in a stable order."""
    for name in sorted(names):
        module = ensure_import(module, name)
    return module


WIN32 = 'sys.platform == "win32"'


def is_win32_test(test: cst.BaseExpression, negated: bool = False) -> bool:
    """Whether ``test`` (anywhere inside it) asks "is this Windows?"
    (:func:`winport.lang.guards.asks_windows`): ``sys.platform`` compared with "win32"
    or ``os.name`` with "nt" (``!=`` when ``negated``), or ``sys.platform.startswith("win")``
    (under ``not`` when ``negated``). A transform uses it to recognise its own rewrite."""
    read = guards.from_cst(_EMPTY.code_for_node(test))
    return read is not None and guards.asks_windows(read, negated)
