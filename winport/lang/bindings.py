"""Which names a module's import-time code reads before any statement binds them.

Importing a module runs its top-level statements in order: assignments, imports,
``if``/``try``/``for``/``with`` blocks, the decorators, default values and (without
``from __future__ import annotations``) annotations of functions, and whole class
bodies. A name read there before it is bound raises ``NameError`` and the module
does not import. Function bodies and lambdas run later and are not looked at.

:func:`unbound_at_import` reads this with the standard library's ``ast``. Each path through an
``if``, ``try``, loop or ``match`` starts from what was bound before it (a handler
may run when the body stopped anywhere); after the statement, what every path that
goes on has bound counts as bound. So every read that can raise ``NameError`` is
found (a property test checks this against execution), and a read is reported that
may work only on some paths, as in ``if cond: import x`` followed by ``x.y``. The engine compares a file before and after a
rewrite (:func:`new_unbound`): a name the rewrite leaves unbound that the original
did not is an error, whatever the branch.
"""

from __future__ import annotations

import ast
import builtins

from . import pyast

#: Names every module has without binding them.
_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__",
                           "__builtins__", "__path__", "__cached__", "__annotations__", "__dict__"})
_CLASS_NAMES = frozenset({"__module__", "__qualname__"})
_BUILTINS = frozenset(dir(builtins))


def unbound_at_import(code: bytes | str | ast.Module) -> dict[str, int]:
    """Name -> the first line where import-time code reads it before it is bound.
    ``code`` may be parsed already; empty when it does not parse (the compile guard
    speaks for that)."""
    if isinstance(code, ast.Module):
        tree = code
    else:
        try:
            tree = pyast.parse(code.encode("utf-8") if isinstance(code, str) else code)
        except (SyntaxError, ValueError, RecursionError):
            return {}
    walker = _ImportTime(lazy_annotations=_has_future_annotations(tree))
    walker.block(tree.body, [set()])
    return walker.unbound


def new_unbound(before: bytes | str | ast.Module, after: bytes | str | ast.Module) -> dict[str, int]:
    """The names ``after`` reads unbound at import that ``before`` did not, with
    their line in ``after`` (either may be given parsed)."""
    new = unbound_at_import(after)
    if not new:
        return {}
    old = unbound_at_import(before)
    return {name: line for name, line in new.items() if name not in old}


def _has_future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "annotations"
                                                                                   for a in s.names)
               for s in tree.body)


class _ImportTime:
    """Walks the statements that run at import, with a stack of scopes (the module,
    then the class bodies being executed): a read looks in every scope, a binding
    goes to the innermost."""

    def __init__(self, lazy_annotations: bool):
        self.lazy_annotations = lazy_annotations
        self.unbound: dict[str, int] = {}
        self.star = False  # after ``from x import *`` any name may be bound

    # -- names ---------------------------------------------------------------
    def read(self, name: str, line: int, scopes: list[set[str]]) -> None:
        if self.star or name in _BUILTINS or name in _MODULE_NAMES or any(name in s for s in scopes):
            return
        if len(scopes) > 1 and name in _CLASS_NAMES:
            return
        self.unbound.setdefault(name, line)

    def bind(self, target: ast.AST, scopes: list[set[str]]) -> None:
        """Bind the names of an assignment target (reading what a subscript or
        attribute target reads)."""
        if isinstance(target, ast.Name):
            scopes[-1].add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.bind(elt, scopes)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, scopes)
        else:  # obj.attr = ..., obj[i] = ...
            self.expr(target, scopes)

    # -- expressions ---------------------------------------------------------
    def expr(self, node: ast.AST | None, scopes: list[set[str]]) -> None:
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.read(node.id, node.lineno, scopes)
            else:
                scopes[-1].add(node.id)
            return
        if isinstance(node, ast.Lambda):  # only its defaults run now
            self.arguments_defaults(node.args, scopes)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value, scopes)
            self.bind(node.target, scopes)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.comprehension(node, scopes)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child, scopes)

    def comprehension(self, node, scopes: list[set[str]]) -> None:
        # the first iterable runs in the enclosing scope, the rest in the comprehension's
        # own; a generator expression's body runs when consumed (here: as if now)
        gens = node.generators
        self.expr(gens[0].iter, scopes)
        inner = [*scopes, set()]
        for i, gen in enumerate(gens):
            if i:
                self.expr(gen.iter, inner)
            self.bind(gen.target, inner)
            for cond in gen.ifs:
                self.expr(cond, inner)
        if isinstance(node, ast.DictComp):
            self.expr(node.key, inner)
            self.expr(node.value, inner)
        else:
            self.expr(node.elt, inner)

    def arguments_defaults(self, args: ast.arguments, scopes: list[set[str]]) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            self.expr(default, scopes)

    def annotation(self, node: ast.AST | None, scopes: list[set[str]]) -> None:
        if not self.lazy_annotations:
            self.expr(node, scopes)

    # -- statements ----------------------------------------------------------
    def block(self, body: list[ast.stmt], scopes: list[set[str]]) -> None:
        for stmt in body:
            self.stmt(stmt, scopes)

    def branch(self, scopes: list[set[str]], body: list[ast.stmt], target: ast.AST | None = None,
               bound: set[str] = frozenset()) -> set[str] | None:
        """Walk one of several paths, starting from what is bound now (and ``target``
        or ``bound``): what it has bound at its end, or None when it does not get
        there (it ends with ``raise``, ``return``, ``break`` or ``continue``)."""
        inner = set(scopes[-1]) | bound
        walk = [*scopes[:-1], inner]
        if target is not None:
            self.bind(target, walk)
        self.block(body, walk)
        ends = body and isinstance(body[-1], (ast.Raise, ast.Return, ast.Break, ast.Continue))
        return None if ends else inner

    def join(self, scopes: list[set[str]], *paths: set[str] | None) -> None:
        """After alternative paths, what every path that goes on has bound."""
        going = [p for p in paths if p is not None]
        if going:
            scopes[-1] |= set.intersection(*going)

    def stmt(self, node: ast.stmt, scopes: list[set[str]]) -> None:  # noqa: C901 - one case per statement
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                self.expr(dec, scopes)
            self.arguments_defaults(node.args, scopes)
            a = node.args
            for arg in [*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg]:
                if arg is not None:
                    self.annotation(arg.annotation, scopes)
            self.annotation(node.returns, scopes)
            scopes[-1].add(node.name)
        elif isinstance(node, ast.ClassDef):
            for dec in node.decorator_list:
                self.expr(dec, scopes)
            for base in [*node.bases, *(k.value for k in node.keywords)]:
                self.expr(base, scopes)
            self.block(node.body, [*scopes, set()])
            scopes[-1].add(node.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                scopes[-1].add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    self.star = True
                else:
                    scopes[-1].add(alias.asname or alias.name)
        elif isinstance(node, ast.Assign):
            self.expr(node.value, scopes)
            for target in node.targets:
                self.bind(target, scopes)
        elif isinstance(node, ast.AugAssign):
            self.expr(node.value, scopes)
            if isinstance(node.target, ast.Name):
                self.read(node.target.id, node.lineno, scopes)
            self.bind(node.target, scopes)
        elif isinstance(node, ast.AnnAssign):
            # the value, then the target, then a plain name's annotation (unless postponed)
            self.expr(node.value, scopes)
            if node.value is not None:
                self.bind(node.target, scopes)
            elif not isinstance(node.target, ast.Name):
                self.expr(node.target, scopes)
            if node.simple:
                self.annotation(node.annotation, scopes)
        elif isinstance(node, ast.If):
            self.expr(node.test, scopes)
            self.join(scopes, self.branch(scopes, node.body), self.branch(scopes, node.orelse))
        elif isinstance(node, ast.While):  # the body may not run at all
            self.expr(node.test, scopes)
            self.branch(scopes, node.body)
            self.join(scopes, self.branch(scopes, node.orelse))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter, scopes)
            self.branch(scopes, node.body, target=node.target)
            self.join(scopes, self.branch(scopes, node.orelse))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr, scopes)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, scopes)
            self.block(node.body, scopes)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            # a handler may run when the body stopped anywhere: it starts from what was
            # bound before the ``try``; ``else`` runs after the whole body
            paths = [self.branch(scopes, [*node.body, *node.orelse])]
            for handler in node.handlers:
                self.expr(handler.type, scopes)
                paths.append(self.branch(scopes, handler.body, bound={handler.name} - {None}))
            self.join(scopes, *paths)
            self.block(node.finalbody, scopes)
        elif isinstance(node, ast.Match):
            self.expr(node.subject, scopes)
            for case in node.cases:
                for sub in ast.walk(case.pattern):
                    name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                    if isinstance(name, str):
                        scopes[-1].add(name)
                    if isinstance(sub, ast.MatchValue):
                        self.expr(sub.value, scopes)
                    elif isinstance(sub, ast.MatchClass):
                        self.expr(sub.cls, scopes)
                self.expr(case.guard, scopes)
                self.branch(scopes, case.body)  # no case may match: nothing is bound for sure
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if not isinstance(target, ast.Name):
                    self.expr(target, scopes)
        else:  # Expr, Return, Raise, Assert, type aliases, ...: every name they read
            self.expr(node, scopes)
