"""Standard-library ``ast`` helpers for report-only Python detectors
(:class:`winport.PythonDetector`): no concrete syntax tree is needed to report, and
``ast`` parses several times faster than libcst."""

from __future__ import annotations

import ast

# A ``try`` whose handler names one of these copes with a missing module or attribute
# (the Windows standard library lacking it); detectors and transforms agree on it.
HANDLES_MISSING_API = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError", "Exception",
                                 "BaseException"})
# Modules whose POSIX-only attributes code tests with ``hasattr(<module>, "...")``
PROBED_MODULES = ("os", "signal", "socket")


def position(source: bytes, node: ast.AST) -> tuple[int, int]:
    """1-based (line, column in characters) of ``node`` (``ast`` counts UTF-8 bytes)."""
    line = node.lineno
    start = 0
    for _ in range(line - 1):
        start = source.index(b"\n", start) + 1
    prefix = source[start:start + node.col_offset]
    return line, len(prefix.decode("utf-8", "replace")) + 1


def _is(node: ast.AST, owner: str, attr: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name)
            and node.value.id == owner)


def is_win32_test(test: ast.expr, negated: bool = False) -> bool:
    """Whether ``test`` (anywhere inside it) asks "is this Windows?": ``sys.platform``
    compared with "win32" or ``os.name`` with "nt" (``!=`` when ``negated``), or
    ``sys.platform.startswith("win")`` (under ``not`` when ``negated``) — as
    :func:`winport.lang.python.is_win32_test` does for libcst."""
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
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "startswith" \
                and _is(call.func.value, "sys", "platform") and call.args \
                and isinstance(call.args[0], ast.Constant) and call.args[0].value == "win":
            return True
    return False


_NOT_WINDOWS = ("linux", "darwin", "freebsd", "aix", "cygwin")


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


def excludes_windows(test: ast.expr) -> bool:
    """Whether ``test`` is false on Windows: ``sys.platform == "linux"``, ``os.name ==
    "posix"``, ``platform.system() == "Darwin"``, ``sys.platform.startswith("linux")``,
    a Windows test negated (:func:`is_win32_test`), or an ``and`` holding one of
    these (an ``or`` of them all)."""
    if isinstance(test, ast.BoolOp):
        parts = [excludes_windows(v) for v in test.values]
        return any(parts) if isinstance(test.op, ast.And) else all(parts)
    found = _compared(test)
    if found:
        what, op, value = found
        return (isinstance(op, ast.Eq) and not _is_windows_value(what, value)) or \
            (isinstance(op, ast.NotEq) and _is_windows_value(what, value))
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "startswith" \
            and _is(test.func.value, "sys", "platform") and test.args and isinstance(test.args[0], ast.Constant):
        return str(test.args[0].value).startswith(_NOT_WINDOWS)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return is_win32_test(test.operand)
    return False


def only_windows_or_more(test: ast.expr) -> bool:
    """Whether ``test`` is true on Windows: ``sys.platform != "linux"``, ``os.name ==
    "nt"``, ``not sys.platform.startswith("linux")``, ``sys.platform == "win32"``."""
    if isinstance(test, ast.BoolOp):
        parts = [only_windows_or_more(v) for v in test.values]
        return all(parts) if isinstance(test.op, ast.And) else any(parts)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return excludes_windows(test.operand)
    found = _compared(test)
    if found:
        what, op, value = found
        return (isinstance(op, ast.NotEq) and not _is_windows_value(what, value)) or \
            (isinstance(op, ast.Eq) and _is_windows_value(what, value))
    return is_win32_test(test)


def probes_api(test: ast.expr) -> bool:
    """``hasattr(os|signal|socket, "...")`` somewhere in ``test``: its body runs only
    where the API exists."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "hasattr" and n.args
               and isinstance(n.args[0], ast.Name) and n.args[0].id in PROBED_MODULES
               for n in ast.walk(test))


def lacks_api(test: ast.expr) -> bool:
    """``not hasattr(os|signal|socket, "...")``: true where the API is missing, so a
    block after ``if <this>: raise ...`` runs only where it exists."""
    return isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and probes_api(test.operand)
