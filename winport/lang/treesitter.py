"""tree-sitter grammars, loaded on first use, and the error count the re-parse guard compares."""

from __future__ import annotations

import functools
import re
from typing import Iterator

import tree_sitter as ts


@functools.lru_cache(maxsize=None)
def language(name: str) -> ts.Language:
    if name == "cpp":  # the CUDA grammar: a superset of C++ that knows __global__ etc.
        import tree_sitter_cuda as grammar
    elif name == "cmake":
        import tree_sitter_cmake as grammar
    else:  # pragma: no cover - programming error
        raise ValueError(f"no tree-sitter grammar for {name!r}")
    return ts.Language(grammar.language())


@functools.lru_cache(maxsize=None)
def parser(name: str) -> ts.Parser:
    return ts.Parser(language(name))


_PARSED: dict[tuple[str, bytes], ts.Tree] = {}
_PARSED_MAX = 4096


def parse(name: str, source: bytes) -> ts.Tree:
    """The tree of ``source``; the same bytes are parsed once per run (plans and the
    per-file pass share trees; trees are never edited in place, and worker processes
    forked after the plans inherit them)."""
    key = (name, source)
    tree = _PARSED.get(key)
    if tree is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        tree = _PARSED[key] = parser(name).parse(source)
    return tree


def reparse(name: str, tree: ts.Tree, old: bytes, new: bytes, changes: "list[tuple[int, int, bytes]]") -> ts.Tree:
    """The tree of ``new``, which is ``old`` (whose tree is ``tree``) with ``changes``
    made: (start, end, replacement) byte ranges of ``old``, not overlapping. A copy of
    ``tree`` learns the edits, so that tree-sitter parses again only what they touch;
    ``tree`` itself is left as it is (trees are shared)."""
    edited = tree.copy()
    for start, end, text in sorted(changes, key=lambda c: (c[0], c[1]), reverse=True):  # later ones first
        start_point, old_end_point = _point(old, start), _point(old, end)
        lines = text.count(b"\n")
        new_end_point = (start_point[0] + lines,
                         len(text) - text.rfind(b"\n") - 1 if lines else start_point[1] + len(text))
        edited.edit(start, end, start + len(text), start_point, old_end_point, new_end_point)
    return parser(name).parse(new, edited)


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


def holds(source: bytes) -> bool:
    """Whether this process parsed ``source`` in this run (with any grammar)."""
    return any((name, source) in _PARSED for name in ("cpp", "cmake"))


def forget() -> None:
    """Drop the parse cache (the pipeline does at the end of a run)."""
    _PARSED.clear()


def error_count(tree: ts.Tree) -> int:
    """ERROR and MISSING nodes in ``tree``; only subtrees flagged ``has_error`` are walked."""
    root = tree.root_node
    if not root.has_error:
        return 0
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        stack.extend(c for c in node.children if c.has_error)
    return count


@functools.lru_cache(maxsize=256)
def query(name: str, source: str) -> ts.Query:
    return ts.Query(language(name), source)


def captures(name: str, source: str, node: ts.Node) -> Iterator[tuple[str, ts.Node]]:
    """(capture name, node) pairs of ``source`` over ``node``, in document order."""
    cursor = ts.QueryCursor(query(name, source))
    for _, caps in cursor.matches(node):
        for cap, nodes in caps.items():
            for n in nodes:
                yield cap, n


def tokens(root: ts.Node, words: "re.Pattern[bytes]", types: "set[str] | tuple[str, ...]") -> Iterator[ts.Node]:
    """The nodes under ``root`` of one of ``types`` whose whole text is a match of
    ``words`` (a pattern of word characters only), in document order: what a query
    for those node types filtered by text gives, found from the text and looked up in
    the tree, instead of a Python object made for every such node of a large file."""
    text, base = root.text or b"", root.start_byte
    for m in words.finditer(text):
        start, end = base + m.start(), base + m.end()
        node = root.descendant_for_byte_range(start, end)
        if node is not None and node.type in types and node.start_byte == start and node.end_byte == end:
            yield node


def identifiers(root: ts.Node, words: "re.Pattern[bytes]") -> Iterator[ts.Node]:
    """``(identifier) @i`` filtered by name: see :func:`tokens`."""
    return tokens(root, words, ("identifier",))


def called(root: ts.Node, words: "re.Pattern[bytes]") -> Iterator[ts.Node]:
    """``(call_expression function: (identifier) @f)`` filtered by name: the called
    identifiers matching ``words``."""
    for node in identifiers(root, words):
        call = node.parent
        if call is not None and call.type == "call_expression" and call.child_by_field_name("function") == node:
            yield node


def led_by(root: ts.Node, keywords: "set[str] | tuple[str, ...]", parent: str) -> Iterator[ts.Node]:
    """The ``parent`` nodes under ``root`` whose first child is one of ``keywords``
    (``(parent) @p`` for node types that open with a keyword, e.g. ``gnu_asm_expression``
    with ``asm``), found from the text like :func:`tokens`."""
    for token in tokens(root, words(keywords), keywords):
        node = token.parent
        if node is not None and node.type == parent and node.start_byte == token.start_byte:
            yield node


def words(names) -> "re.Pattern[bytes]":
    """A pattern for :func:`tokens` matching exactly these names."""
    return re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
                      + rb")\b")


def walk(node: ts.Node) -> Iterator[ts.Node]:
    """Every node below ``node`` (included), depth first, in document order."""
    cursor = node.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node == node:
                return


def inside(node: ts.Node, outer: ts.Node | None) -> bool:
    return outer is not None and outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte
