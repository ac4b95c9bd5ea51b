"""Standard-library ``ast`` helpers for report-only Python detectors
(:class:`winport.PythonDetector`): no concrete syntax tree is needed to report, and
``ast`` parses several times faster than libcst. What code Windows runs unguarded
is :mod:`winport.lang.guards` (:class:`~winport.lang.guards.WindowsVisitor`)."""

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


_PARSED: dict[bytes, ast.Module] = {}
_PARSED_MAX = 256


def parse(code: bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(code)``, once per run for the same bytes: the statement spans of the
    partial parse, the import guard, the compile check and the detectors read one tree
    (none of them changes it). Raises as ``ast.parse(code, filename)`` does."""
    tree = _PARSED.get(code)
    if tree is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        tree = _PARSED[code] = ast.parse(code, filename)
    return tree


def forget() -> None:
    """Drop the parse cache (the pipeline does at the end of a run)."""
    _PARSED.clear()
