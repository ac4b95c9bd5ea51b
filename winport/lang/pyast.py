"""Standard-library ``ast`` helpers for report-only Python detectors
(:class:`winport.PythonDetector`): no concrete syntax tree is needed to report, and
``ast`` parses several times faster than libcst."""

from __future__ import annotations

import ast


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
