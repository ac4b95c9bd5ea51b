"""Does this code run on Windows? One answer for the fixers (libcst) and the
detectors (``ast``), so that a transform and a detector never disagree about a line.

Code is *guarded* for Windows when Windows never runs it, or runs it only where a
missing API is handled:

* a branch that a platform test keeps from Windows: the body of
  ``if sys.platform == "linux":`` (or ``!= "win32"``, ``os.name == "posix"``,
  ``platform.system() == "Darwin"``, ``not sys.platform.startswith("win")``, an
  ``and`` holding one of these), the ``else`` of ``if sys.platform == "win32":``
  (statement or expression);
* the body of ``if hasattr(os, "fork"):`` (any ``hasattr(<name>, "...")``): it runs
  only where the API exists;
* the rest of a block after ``if <true on Windows>: return`` (or ``raise``,
  ``continue``, ``break``; no ``else``), or after ``if not hasattr(os, "..."): raise``;
* the body of a ``try`` whose handler catches what a missing module or attribute
  raises (:data:`HANDLES_MISSING_API`, or a bare ``except``) and does not end by
  raising again (an ``except Exception: <clean up>; raise`` guards nothing).

A branch that runs on Windows is not guarded, the Windows branch of a Windows test
included: code written for Windows must work there.

The libcst side (:class:`winport.lang.python.GuardAwareTransformer`) hands its
tests to these functions as ``ast`` expressions (:func:`from_cst`).
"""

from __future__ import annotations

import ast
from typing import Iterable

# A ``try`` whose handler names one of these copes with a missing module or attribute
# (the Windows standard library lacking it).
HANDLES_MISSING_API = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError", "Exception",
                                 "BaseException"})

# Signals Windows' ``signal`` module does not define (it has SIGINT, SIGTERM, SIGABRT,
# SIGFPE, SIGILL, SIGSEGV, SIGBREAK).
POSIX_SIGNALS = frozenset({"SIGUSR1", "SIGUSR2", "SIGTSTP", "SIGHUP", "SIGQUIT", "SIGALRM", "SIGCHLD", "SIGPIPE",
                           "SIGCONT", "SIGWINCH", "SIGKILL", "SIGSTOP"})
# ``os`` functions Windows' Python does not define.
POSIX_OS_CALLS = frozenset({"fork", "forkpty", "killpg", "getpgid", "setpgid", "setsid", "sched_yield",
                            "sched_setaffinity", "sched_getaffinity", "getuid", "geteuid", "getgid", "getegid",
                            "getloadavg", "mkfifo", "wait3", "wait4"})

_NOT_WINDOWS = ("linux", "darwin", "freebsd", "aix", "cygwin")
EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


# -- platform tests -----------------------------------------------------------------
def _is(node: ast.AST, owner: str, attr: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name)
            and node.value.id == owner)


def _startswith(node: ast.AST) -> str | None:
    """The literal of ``sys.platform.startswith("...")``, or None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith" \
            and _is(node.func.value, "sys", "platform") and node.args and isinstance(node.args[0], ast.Constant):
        return str(node.args[0].value)
    return None


def asks_windows(test: ast.expr, negated: bool = False) -> bool:
    """Whether ``test`` (anywhere inside it) asks "is this Windows?": ``sys.platform``
    compared with "win32" or ``os.name`` with "nt" (``!=`` when ``negated``), or
    ``sys.platform.startswith("win")`` (under ``not`` when ``negated``). A
    transform uses it to recognise its own rewrite."""
    op = ast.NotEq if negated else ast.Eq
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], op):
            right = node.comparators[0]
            if isinstance(right, ast.Constant) and isinstance(right.value, str):
                if (_is(node.left, "sys", "platform") and "win32" in right.value) or \
                        (_is(node.left, "os", "name") and "nt" in right.value):
                    return True
        call = node.operand if negated and isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) else \
            (None if negated else node)
        if call is not None and _startswith(call) == "win":
            return True
    return False


def _compared(test: ast.expr) -> tuple[str, ast.cmpop, str] | None:
    """(what, operator, literal) for ``sys.platform <op> "x"``, ``os.name <op> "x"`` or
    ``platform.system() <op> "x"``."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant)
            and isinstance(test.comparators[0].value, str)):
        return None
    left, value = test.left, test.comparators[0].value
    if _is(left, "sys", "platform"):
        return "platform", test.ops[0], value
    if _is(left, "os", "name"):
        return "name", test.ops[0], value
    if isinstance(left, ast.Call) and _is(left.func, "platform", "system") and not left.args:
        return "system", test.ops[0], value
    return None


def _is_windows_value(what: str, value: str) -> bool:
    return {"platform": value.startswith("win"), "name": value == "nt", "system": value == "Windows"}[what]


def false_on_windows(test: ast.expr) -> bool:
    """Whether ``test`` is false on Windows: ``sys.platform == "linux"``, ``os.name ==
    "posix"``, ``platform.system() == "Darwin"``, ``sys.platform.startswith("linux")``,
    a Windows test negated, or an ``and`` holding one of these (an ``or`` of them all)."""
    if isinstance(test, ast.BoolOp):
        parts = [false_on_windows(v) for v in test.values]
        return any(parts) if isinstance(test.op, ast.And) else all(parts)
    found = _compared(test)
    if found:
        what, op, value = found
        return (isinstance(op, ast.Eq) and not _is_windows_value(what, value)) or \
            (isinstance(op, ast.NotEq) and _is_windows_value(what, value))
    prefix = _startswith(test)
    if prefix is not None:
        return prefix.startswith(_NOT_WINDOWS)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return true_on_windows(test.operand)
    return False


def true_on_windows(test: ast.expr) -> bool:
    """Whether ``test`` is true on Windows: ``sys.platform == "win32"``, ``os.name ==
    "nt"``, ``sys.platform != "linux"``, ``not sys.platform.startswith("linux")``, an
    ``or`` holding one of these (an ``and`` of them all)."""
    if isinstance(test, ast.BoolOp):
        parts = [true_on_windows(v) for v in test.values]
        return all(parts) if isinstance(test.op, ast.And) else any(parts)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return false_on_windows(test.operand)
    found = _compared(test)
    if found:
        what, op, value = found
        return (isinstance(op, ast.NotEq) and not _is_windows_value(what, value)) or \
            (isinstance(op, ast.Eq) and _is_windows_value(what, value))
    return _startswith(test) == "win"


def probes_api(test: ast.expr) -> bool:
    """``hasattr(<name>, "...")`` somewhere in ``test``: its body runs only where the
    API exists."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "hasattr"
               and len(n.args) == 2 and isinstance(n.args[0], ast.Name) for n in ast.walk(test))


def lacks_api(test: ast.expr) -> bool:
    """``not hasattr(<name>, "...")``: true where the API is missing."""
    return isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and probes_api(test.operand)


# -- what is guarded -----------------------------------------------------------------
def branches(test: ast.expr | None) -> tuple[bool, bool]:
    """(body guarded, else guarded) of an ``if`` statement or expression on ``test``
    (None: a test that cannot be read, so nothing is guarded)."""
    if test is None:
        return False, False
    if false_on_windows(test) or probes_api(test):
        return True, False
    return False, true_on_windows(test)


def leaves_block(test: ast.expr | None, has_else: bool, last: object) -> bool:
    """Whether an ``if`` on ``test`` whose body ends with statement ``last`` (an ``ast``
    statement, or a libcst one's ``ast`` class) guards the rest of its block:
    ``if <true on Windows>: return`` or ``if not hasattr(...): raise``, no ``else``."""
    if test is None or has_else:
        return False
    kind = last if isinstance(last, type) else type(last)
    return issubclass(kind, EXITS) and (true_on_windows(test) or lacks_api(test))


def catches(names: Iterable[str] | None, accepted: frozenset[str] = HANDLES_MISSING_API) -> bool:
    """Whether a handler catching ``names`` (None: a bare ``except``) catches what a
    missing module or attribute raises (``accepted``)."""
    return names is None or any(n in accepted for n in names)


def handles(names: Iterable[str] | None, reraises: bool, accepted: frozenset[str] = HANDLES_MISSING_API) -> bool:
    """Whether a handler catching ``names`` that ends in a ``raise`` (``reraises``) or not
    keeps a failure of its ``try`` body from propagating: it must catch it and not
    raise again."""
    return not reraises and catches(names, accepted)


def handler_names(handler: ast.ExceptHandler) -> set[str] | None:
    """The names an ``except`` clause catches (None for a bare ``except``)."""
    if handler.type is None:
        return None
    return {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(handler.type) if isinstance(n, ast.Attribute)}


def from_cst(code: str) -> ast.expr | None:
    """A libcst test's code as an ``ast`` expression (None if it does not parse alone)."""
    try:
        return ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        try:  # a test spread over lines inside its parentheses
            return ast.parse(f"({code.strip()})", mode="eval").body
        except SyntaxError:
            return None


class WindowsVisitor(ast.NodeVisitor):
    """An ``ast`` visitor for detectors that visits only the code Windows runs
    unguarded (the rules of this module); a subclass reports in its ``visit_*``
    methods and calls ``generic_visit`` to go on. ``accepted``: the exceptions a
    ``try`` must catch for its body to count as handled."""

    accepted: frozenset[str] = HANDLES_MISSING_API

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        body, orelse = branches(node.test)
        if not body:
            self.block(node.body)
        if not orelse:
            self.block(node.orelse)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit(node.test)
        body, orelse = branches(node.test)
        if not body:
            self.visit(node.body)
        if not orelse:
            self.visit(node.orelse)

    def visit_Try(self, node: ast.Try) -> None:
        if not any(handles(handler_names(h), bool(h.body) and isinstance(h.body[-1], ast.Raise), self.accepted)
                   for h in node.handlers):
            self.block(node.body)
        for handler in node.handlers:
            self.visit(handler)
        self.block(node.orelse)
        self.block(node.finalbody)

    visit_TryStar = visit_Try

    def block(self, body: list[ast.stmt]) -> None:
        """Statements in order, up to one after which Windows leaves the block."""
        for stmt in body:
            self.visit(stmt)
            if isinstance(stmt, ast.If) and stmt.body and leaves_block(stmt.test, bool(stmt.orelse), stmt.body[-1]):
                return

    def generic_visit(self, node: ast.AST) -> None:
        for name, value in ast.iter_fields(node):
            if name in ("body", "orelse", "finalbody") and isinstance(value, list):
                self.block(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)
