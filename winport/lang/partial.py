"""How the engine parses and visits only what a file's Python transforms need.

Statement spans read with the fast ``ast`` parser (:func:`statement_spans`); a
wrapper whose visit skips statements without a transform's anchors
(:func:`focus`); a module of just the statements holding anchors, the imports and
the docstring, and putting its rewrite back into the file (:class:`Partial`);
positions of the nodes a transform reports (:func:`node_positions`). The helpers
transforms use live in :mod:`winport.lang.python`.
"""

from __future__ import annotations

import ast
import contextvars
import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import libcst as cst

from . import pyast
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState


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
    nodes: list = field(default_factory=list)  # its ``ast`` statements
    start: int = 0  # byte offsets of its lines in the code
    end: int = 0


def statement_spans(code: bytes) -> list[Span] | None:
    """The spans of the module's top-level statements, read with the fast ``ast``
    parser (class bodies too). None when ``ast`` cannot parse the code."""
    try:
        spans = _spans(pyast.parse(code).body)
    except (SyntaxError, ValueError, RecursionError):
        return None
    starts = [0, *(m_.end() for m_ in re.finditer(rb"\n", code)), len(code)]
    stack = list(spans)
    while stack:
        span = stack.pop()
        span.start, span.end = starts[span.first - 1], starts[min(span.last, len(starts) - 1)]
        span.text = code[span.start:span.end]
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
            spans[-1].nodes.append(stmt)
        else:
            spans.append(Span(first, last, stmt.col_offset, _spans(stmt.body) if isinstance(stmt, ast.ClassDef)
                              else None, nodes=[stmt]))
        last_simple = simple
    return spans


class Unit(NamedTuple):
    """A part of the module a focused visit enters and whose nodes' positions are
    resolved together: a statement, one element of a large dict literal, or a
    statement in a block (:func:`_focus_blocks`)."""

    node: cst.CSTNode
    line: int  # the file's line before the part's code (its first line - 1)
    column: int  # the column its code starts at
    inline: bool = False  # an element: only its first line starts at ``column``
    head: str = ""  # an element: its first line in the file from ``column`` on; in a block: its first line
    indents: "tuple[str, ...] | None" = None  # in a block: the indentation of the blocks it is in


class FocusedWrapper(MetadataWrapper):
    """A :class:`MetadataWrapper` whose ``visit`` skips the statements (top-level, or
    in the body of a class; for a transform with ``anchors_in_blocks``, in any block
    of those too) in which a transform's anchors do not occur: the visitor is neither
    called for them nor for anything inside them, and they stay as they are.
    Positions of nodes inside visited statements are computed from those statements
    alone, the innermost first. In a statement that assigns a large dict literal (vLLM's
    ``environment_variables``, most of ``vllm/envs.py``) the same holds for each
    element."""

    def __init__(self, module: cst.Module, skip: set[int], units: list[Unit]):
        super().__init__(module, unsafe_skip_copy=True)
        self.skip = skip  # id() of skipped statements
        # the innermost visited statements (or dict elements)
        self.units = units
        # id() of each statement a transformer's visit made of a top-level one, or of one
        # in the body of a top-level class -> (the class's index or None, the statement's
        # index in its body, the new statement, kept alive so the id stays its own)
        self.derived: dict[int, tuple[int | None, int, cst.CSTNode]] = {}
        # indices in ``units`` of the statements a visit is inside of now, outermost first
        self.inside: list[int] = []

    def visit(self, visitor):
        on_visit, on_leave = visitor.on_visit, visitor.on_leave
        skip, derived, inside = self.skip, self.derived, self.inside
        unit = {id(u.node): i for i, u in enumerate(self.units)}
        top: dict[int, tuple[int | None, int]] = {}
        for k, stmt in enumerate(self.module.body):
            top[id(stmt)] = (None, k)
            if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
                top.update({id(inner): (k, j) for j, inner in enumerate(stmt.body.body)})

        def visiting(node):
            if id(node) in skip:
                return False
            if id(node) in unit:
                inside.append(unit[id(node)])
            return on_visit(node)

        def leaving(original, *updated):  # a transformer passes the updated node, a visitor not
            if id(original) in skip:
                return original if updated else None
            result = on_leave(original, *updated)
            if id(original) in unit:
                inside.pop()
            where = top.get(id(original))
            if updated and where is not None:
                for node in result.nodes if isinstance(result, cst.FlattenSentinel) else [result]:
                    if isinstance(node, cst.CSTNode):
                        derived[id(node)] = (*where, node)
            return result

        visitor.on_visit, visitor.on_leave = visiting, leaving  # type: ignore[method-assign]
        return super().visit(visitor)


def focus(module: cst.Module, anchors: re.Pattern[bytes] | None, spans: list[Span] | None,
          blocks: bool = False) -> MetadataWrapper:
    """The wrapper a transform visits: every statement when ``anchors`` is None or the
    spans do not line up with libcst's statements, else only those whose lines match;
    with ``blocks``, in the blocks of those too (:func:`_focus_blocks`)."""
    if anchors is None or spans is None or len(spans) != len(module.body):
        return MetadataWrapper(module, unsafe_skip_copy=True)
    skip: set[int] = set()
    units: list[Unit] = []

    def walk(body, spans: list[Span], indents: tuple[str, ...]) -> None:
        for stmt, span in zip(body, spans):
            if not anchors.search(span.text):
                skip.add(id(stmt))
                continue
            inner = stmt.body.body if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock) \
                else None
            if span.body is not None and inner is not None and len(inner) == len(span.body):
                walk(inner, span.body, (*indents, _indent(stmt.body, module)))
            elif not _focus_elements(stmt, span, anchors, skip, units):
                units.append(Unit(stmt, span.first - 1 - len(stmt.leading_lines), span.column))
                if blocks:
                    _focus_blocks(stmt, span, anchors, skip, units, indents, module)

    walk(module.body, spans, ())
    return FocusedWrapper(module, skip, units)


def _focus_blocks(stmt: cst.CSTNode, span: Span, anchors: "re.Pattern[bytes]", skip: set[int], units: list[Unit],
                  indents: tuple[str, ...], module: cst.Module) -> None:
    """In the blocks of a visited compound statement (a function's body, a loop's, the
    branches of an ``if`` or a ``try``, ...), at any depth, skip the statements in whose
    lines ``anchors`` do not occur, and make the others units. An ``if`` statement is
    entered whatever its lines hold: it may end its block on Windows, which guards what
    follows it (:class:`~winport.lang.python.GuardAwareTransformer`). A block whose
    statements do not line up with ``ast``'s is visited whole. ``indents``: those of
    the blocks ``stmt`` is in."""
    if len(span.nodes) != 1:
        return
    starts = [0, *(m_.end() for m_ in re.finditer(rb"\n", span.text))]
    if len(starts) - (1 if span.text.endswith(b"\n") else 0) != span.last - span.first + 1:
        return
    starts.append(len(span.text))
    stack = [(stmt, span.nodes[0], indents)]
    while stack:
        node, tree, outer = stack.pop()
        for block, body in _blocks(node, tree):
            inner = _spans(body)
            if len(inner) != len(block.body):
                continue
            within = (*outer, _indent(block, module))
            for child, part in zip(block.body, inner):
                first = starts[part.first - span.first]
                if not isinstance(child, cst.If) and not anchors.search(
                        span.text[first:starts[part.last - span.first + 1]]):
                    skip.add(id(child))
                    continue
                head = span.text[first:starts[part.first - span.first + 1]].decode("utf-8", "replace")
                units.append(Unit(child, part.first - 1 - len(child.leading_lines), 0,
                                  head=head.rstrip("\r\n"), indents=within))
                if len(part.nodes) == 1:
                    stack.append((child, part.nodes[0], within))


def _indent(block: cst.BaseSuite, module: cst.Module) -> str:
    """What an indented block adds to the indentation of the code around it."""
    indent = getattr(block, "indent", None)
    return module.default_indent if indent is None else indent


# libcst's compound statements and the ``ast`` statements they are
_COMPOUND: dict[type, tuple[type, ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef), cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,), cst.For: (ast.For, ast.AsyncFor), cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith), cst.Try: (ast.Try,), cst.Match: (ast.Match,),
    cst.TryStar: tuple(t for t in [getattr(ast, "TryStar", None)] if t),  # Python 3.11+
}


def _blocks(node: cst.CSTNode, tree: ast.AST) -> "list[tuple[cst.IndentedBlock, list[ast.stmt]]]":
    """The indented blocks of a compound statement, each with the ``ast`` statements in
    it, in order (one-line bodies such as ``if x: return`` are no blocks to focus)."""
    if not isinstance(tree, _COMPOUND.get(type(node), ())):
        return []
    if isinstance(node, cst.Match):
        if len(node.cases) != len(tree.cases):  # type: ignore[attr-defined]
            return []
        return [(c.body, t.body) for c, t in zip(node.cases, tree.cases)  # type: ignore[attr-defined]
                if isinstance(c.body, cst.IndentedBlock)]
    pairs: list = [(node.body, tree.body)]  # type: ignore[attr-defined]
    if isinstance(node, cst.If):
        if isinstance(node.orelse, cst.If) and len(tree.orelse) == 1:  # type: ignore[attr-defined]
            pairs += _blocks(node.orelse, tree.orelse[0])  # type: ignore[attr-defined]
        elif isinstance(node.orelse, cst.Else):
            pairs.append((node.orelse.body, tree.orelse))  # type: ignore[attr-defined]
    elif isinstance(node, (cst.For, cst.While)) and node.orelse is not None:
        pairs.append((node.orelse.body, tree.orelse))  # type: ignore[attr-defined]
    elif isinstance(node, (cst.Try, cst.TryStar)):
        if len(node.handlers) != len(tree.handlers):  # type: ignore[attr-defined]
            return []
        pairs += [(h.body, t.body) for h, t in zip(node.handlers, tree.handlers)]  # type: ignore[attr-defined]
        pairs += [(part.body, body) for part, body in ((node.orelse, tree.orelse), (node.finalbody, tree.finalbody))
                  if part is not None]  # type: ignore[attr-defined]
    return [(block, body) for block, body in pairs if isinstance(block, cst.IndentedBlock)]


# a dict literal with at least this many elements is focused element by element
ELEMENTS_MIN = 32


def _focus_elements(stmt: cst.CSTNode, span: Span, anchors: "re.Pattern[bytes]", skip: set[int],
                    units: list[Unit]) -> bool:
    """Focus a statement that assigns a large dict literal element by element: skip the
    elements in whose lines (with the comment lines after them, up to the next
    element) ``anchors`` do not occur, make the others units. False (nothing done)
    for any other statement, or where libcst's and ``ast``'s elements do not line up."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and len(span.nodes) == 1):
        return False
    small, node = stmt.body[0], span.nodes[0]
    if not (isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(node, (ast.Assign, ast.AnnAssign))):
        return False
    value, tree = small.value, node.value
    if not (isinstance(value, cst.Dict) and isinstance(tree, ast.Dict)) or len(value.elements) < ELEMENTS_MIN \
            or len(value.elements) != len(tree.keys):
        return False
    keys = tree.keys
    if any(not isinstance(e, cst.DictElement) or e.key.lpar for e in value.elements) or None in keys:
        return False
    lines = span.text.splitlines(keepends=True)
    for n, (element, key) in enumerate(zip(value.elements, keys)):
        assert key is not None
        first = key.lineno - span.first
        last = (tree.values[n].end_lineno or key.lineno) - span.first
        if n + 1 < len(keys):
            last = max(last, keys[n + 1].lineno - span.first - 1)  # type: ignore[union-attr]
        if not anchors.search(b"".join(lines[first:last + 1])):
            skip.add(id(element))
            continue
        line = lines[first] if 0 <= first < len(lines) else b""
        head = line[key.col_offset:].decode("utf-8", "replace").rstrip("\r\n")
        units.append(Unit(element, key.lineno - 1, len(line[:key.col_offset].decode("utf-8", "replace")),
                          inline=True, head=head))
    return True


# -- a partial module: the statements a file's transforms need -----------------------
@dataclass
class Omitted:
    """What the top-level statements a :class:`Partial` leaves out hold: the names their
    functions, classes and one-name assignments define, and for each module the names
    ``import module [as name]`` binds anywhere in them. :func:`has_module_level` and
    :func:`module_aliases` answer for the whole file with it."""

    names: set[str] = field(default_factory=set)
    imports: dict[str, set[str]] = field(default_factory=dict)


_OMITTED: "contextvars.ContextVar[Omitted | None]" = contextvars.ContextVar("winport_omitted", default=None)
# Above this share of a file's bytes, a partial module saves too little to be worth it.
PARTIAL_MOST = 0.8
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]")


class Partial:
    """The top-level statements of a file that its transforms need, parsed by libcst
    alone: those holding an anchor, the top-level import statements and the module
    docstring; of a class whose anchors lie in some of its statements, its header and
    those statements. Transforms see a module of just these (:meth:`active` lets the
    module-level helpers answer for the whole file), and :meth:`splice` puts a
    rewritten module back into the file statement by statement; the rest of the
    file is never parsed, visited or generated by libcst.

    :meth:`build` gives None where the two could differ (an encoding declaration,
    lone CR newlines, nearly every statement needed, ...); :meth:`splice` gives None
    for an edit it cannot place as libcst would (a statement removed, or one added
    before the first kept statement or after a compound one). The caller then works
    on the whole module."""

    def __init__(self, code: bytes, spans: list[Span], module: cst.Module, omitted: Omitted,
                 line_of: dict[int, int], parts: dict[int, list[Span]] | None = None):
        self.code = code
        self.spans = spans  # of the kept statements, lines and bytes of ``code``
        self.module = module
        self.omitted = omitted
        self.line_of = line_of  # line of ``module`` -> line of ``code``
        self.parts = parts or {}  # index of a class kept in part -> the body statements kept
        self.after: list[bytes] = []  # after :meth:`splice`: the text of each statement of the new module

    @classmethod
    def build(cls, code: bytes, anchors: "re.Pattern[bytes]", most: float | None = None,
              spans: list[Span] | None = None, module: cst.Module | None = None,
              texts: list[bytes] | None = None) -> "Partial | None":
        """``spans``: the code's :func:`statement_spans`, when the caller has them;
        ``module``: the partial module the kept statements are already (what a rewrite
        of the previous partial module gave, spliced into ``code``), used instead of
        parsing them again when ``texts`` (its statements' text in ``code``, as
        :meth:`splice` gave them) are exactly the kept statements' text."""
        most = PARTIAL_MOST if most is None else most
        if code.startswith(b"\xef\xbb\xbf") or any(_CODING.match(line) for line in code.split(b"\n", 2)[:2]) \
                or code.count(b"\r") != code.count(b"\r\n"):
            return None
        spans = statement_spans(code) if spans is None else spans
        if not spans:
            return None
        keep = [i for i, span in enumerate(spans)
                if anchors.search(span.text) or _is_import(span) or (i == 0 and _is_docstring(span))]
        kept = [spans[i] for i in keep]
        # a class whose anchors lie in some of its statements: its header and those statements
        parts: dict[int, list[Span]] = {}
        headers: dict[int, bytes] = {}
        dropped: list[Span] = []
        for n, span in enumerate(kept):
            inner = [b for b in span.body or () if anchors.search(b.text)]
            header = _class_header(code, span) if inner and len(inner) < len(span.body or ()) else None
            if header is not None:
                parts[n], headers[n] = inner, header
                dropped += [b for b in span.body if all(b is not i for i in inner)]
                kept[n] = Span(span.first, span.last, span.column, inner, header + b"".join(b.text for b in inner),
                               span.nodes, span.start, span.end)
        if not kept or sum(len(span.text) for span in kept) > most * len(code) or not kept[-1].text.endswith(b"\n"):
            return None
        if module is not None and [span.text for span in kept] != texts:
            return None
        if module is not None:
            module = _as_parsed(module, parts)  # it has the file's newline and indent already
        else:
            try:
                module = cst.parse_module(b"".join(span.text for span in kept))
            except cst.ParserSyntaxError:
                return None
            # what libcst would have found in the whole file: its first newline, first indent
            first_newline = code.find(b"\n")
            newline = "\r\n" if first_newline > 0 and code[first_newline - 1] == 0x0D else "\n"
            indent = _first_indent(code, spans)
            module = module.with_changes(default_newline=newline, **({"default_indent": indent} if indent else {}))
        if len(module.body) != len(kept) or any(
                not isinstance(module.body[n], cst.ClassDef) or not isinstance(module.body[n].body, cst.IndentedBlock)
                or len(module.body[n].body.body) != len(inner) for n, inner in parts.items()):
            return None
        line_of: dict[int, int] = {}
        for n, span in enumerate(kept):
            pieces = [(span.first, span.first + span.text.count(b"\n") - 1)] if n not in parts else \
                [(span.first, span.first + headers[n].count(b"\n") - 1), *((b.first, b.last) for b in parts[n])]
            for first, last in pieces:
                for line in range(first, last + 1):
                    line_of[len(line_of) + 1] = line
        kept_ids = set(keep)
        return cls(code, kept, module, _omitted([span for i, span in enumerate(spans) if i not in kept_ids], dropped),
                   line_of, parts)

    def active(self) -> "contextvars.Token":
        """Make the module-level helpers answer for the whole file (``reset`` after)."""
        return _OMITTED.set(self.omitted)

    @staticmethod
    def reset(token: "contextvars.Token") -> None:
        _OMITTED.reset(token)

    def splice(self, new: cst.Module, wrapper: FocusedWrapper) -> bytes | None:
        """The file with ``new`` (the partial module as ``wrapper``'s visits and the
        transform left it) in place of the kept statements. A statement ``new`` shares
        with the partial module stays as it is; one a visit made of a kept statement
        replaces it; one from elsewhere goes after the kept statement before it. A
        class kept in part keeps its header and takes its statements the same way."""
        if new.header or new.footer:
            return None
        found = self._pieces(None, self.module.body, new.body, self.spans, wrapper, new,
                             lambda stmts: "".join(new.code_for_node(s) for s in stmts).encode())
        if found is None:
            return None
        pieces, self.after = found
        out, at = [], 0
        for start, end, text in pieces:
            out += [self.code[at:start], text]
            at = end
        return b"".join([*out, self.code[at:]])

    def _pieces(self, parent: int | None, old: list, body: list, spans: list[Span], wrapper: FocusedWrapper,
                new: cst.Module, code: "Callable[[list], bytes | None]"
                ) -> tuple[list[tuple[int, int, bytes]], list[bytes]] | None:
        """(start, end, text) edits that make ``old`` (statements of the module, or of
        the class kept in part at ``parent``) into ``body`` (``code`` writes statements
        of it), and the text each statement of ``body`` will have in the new file
        (without the lines above it); None where they cannot be placed."""
        origin = {id(stmt): (k, False) for k, stmt in enumerate(old)}
        origin.update({key: (k, True) for key, (where, k, _) in wrapper.derived.items() if where == parent})
        groups: list[tuple[int | None, bool, list[cst.BaseStatement]]] = []
        for stmt in body:
            k, changed = origin.get(id(stmt), (None, True))
            if groups and groups[-1][0] == k:
                groups[-1][2].append(stmt)
            else:
                groups.append((k, changed, [stmt]))
        order = [k for k, _, _ in groups if k is not None]
        if order != list(range(len(old))):  # a kept statement removed, moved or split apart
            return None
        pieces: list[tuple[int, int, bytes]] = []
        texts: list[bytes] = []
        before: int | None = None
        for k, changed, stmts in groups:
            if k is not None and not changed:
                texts.append(spans[k].text)
                before = k
                continue
            if k is None and (before is None or any(hasattr(node, "body") for node in spans[before].nodes)):
                return None  # libcst would place it before the gap's comments, or in a block's footer
            if k is not None and parent is None and k in self.parts:  # its header stays; its statements change
                cls = stmts[0]
                if len(stmts) != 1 or not isinstance(cls, cst.ClassDef) or not isinstance(cls.body, cst.IndentedBlock) \
                        or _header(cls, new) != _header(self.module.body[k], self.module):
                    return None
                inner = self._pieces(k, self.module.body[k].body.body, cls.body.body, self.parts[k], wrapper, new,
                                     lambda stmts, cls=cls: self._in_class(cls, stmts, new))
                if inner is None:
                    return None
                pieces += inner[0]
                header = spans[k].text[:len(spans[k].text) - sum(len(b.text) for b in self.parts[k])]
                texts.append(header + b"".join(inner[1]))
                before = k
                continue
            text = code(stmts)
            own = [text] if len(stmts) == 1 and not stmts[0].leading_lines else \
                [code([s.with_changes(leading_lines=[]) if s.leading_lines else s]) for s in stmts]
            if text is None or None in own:
                return None
            texts += own
            if k is None:
                pieces.append((spans[before].end, spans[before].end, text))
                continue
            before = k
            if text != self.code[spans[k].start:spans[k].end]:
                pieces.append((spans[k].start, spans[k].end, text))
        return pieces, texts

    def _in_class(self, cls: cst.ClassDef, stmts: list, new: cst.Module) -> bytes | None:
        """The code of ``stmts`` as statements of the body of ``cls`` (indented as there)."""
        head = _header(cls, new)
        alone = new.code_for_node(cls.with_changes(body=cls.body.with_changes(body=stmts)))
        filler = (cls.body.indent if cls.body.indent is not None else new.default_indent) + "pass" + new.default_newline
        if not head.endswith(filler) or not alone.startswith(head[:-len(filler)]):
            return None
        return alone[len(head) - len(filler):].encode()


def _as_parsed(module: cst.Module, parts: dict[int, list[Span]]) -> cst.Module:
    """A rewritten partial module as parsing its statements' text would give it: the
    blank and comment lines above a kept statement (a rewrite may have put some there,
    and :meth:`Partial.splice` wrote them into the file) lie between the kept
    statements, not in them."""
    def bare(stmt):
        return stmt.with_changes(leading_lines=[]) if stmt.leading_lines else stmt

    body = []
    for n, stmt in enumerate(module.body):
        stmt = bare(stmt)
        if n in parts and isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            inner = [bare(x) for x in stmt.body.body]
            if any(a is not b for a, b in zip(inner, stmt.body.body)):
                stmt = stmt.with_changes(body=stmt.body.with_changes(body=inner))
        body.append(stmt)
    return module.with_changes(body=body)


def _header(cls: cst.ClassDef, module: cst.Module) -> str:
    """A class's code with an empty body (libcst writes ``pass`` in it)."""
    return module.code_for_node(cls.with_changes(body=cls.body.with_changes(body=[])))


def _class_header(code: bytes, span: Span) -> bytes | None:
    """The lines of a class statement before its first body statement, less the
    comment and blank lines just above that statement; None for a one-line class."""
    if not span.body or span.body[0].first <= span.first:
        return None
    lines = code[span.start:span.body[0].start].splitlines(keepends=True)
    while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith(b"#")):
        lines.pop()
    return b"".join(lines)


def _is_import(span: Span) -> bool:
    return all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in span.nodes)


def _is_docstring(span: Span) -> bool:
    node = span.nodes[0]
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _first_indent(code: bytes, spans: list[Span]) -> str | None:
    """The indentation of the first indented statement line (libcst's default indent:
    its first INDENT token)."""
    first: tuple[int, str] | None = None
    starts = None
    stack = [node for span in spans for node in span.nodes]
    while stack:
        node = stack.pop()
        for part in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, part, None)
            if not isinstance(children, list):
                continue
            for child in children:
                stack.append(child)
                if not isinstance(child, ast.stmt) or child.col_offset == 0:
                    continue
                line = min([child.lineno, *(d.lineno for d in getattr(child, "decorator_list", ()))])
                if first is not None and line >= first[0]:
                    continue
                if starts is None:
                    starts = [0, *(m_.end() for m_ in re.finditer(rb"\n", code))]
                text = code[starts[line - 1]:starts[line] if line < len(starts) else len(code)]
                indent = text[:len(text) - len(text.lstrip(b" \t\f"))]
                if indent:
                    first = (line, indent.decode())
    return first[1] if first else None


def _omitted(spans: list[Span], inner: list[Span] = ()) -> Omitted:
    """``spans``: top-level statements left out; ``inner``: statements left out of
    classes kept in part (their imports only count)."""
    omitted = Omitted()
    top = {id(span) for span in spans}
    for span in [*spans, *inner]:
        for node in span.nodes if id(span) in top else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                omitted.names.add(node.name)
        if id(span) in top and len(span.nodes) == 1 and isinstance(span.nodes[0], ast.Assign) and len(span.nodes[0].targets) == 1 \
                and isinstance(span.nodes[0].targets[0], ast.Name):
            omitted.names.add(span.nodes[0].targets[0].id)
        stack = list(span.nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if "." not in alias.name:
                        omitted.imports.setdefault(alias.name, set()).add(alias.asname or alias.name)
            for part in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, part, None)
                if isinstance(children, list):
                    stack.extend(children)
    return omitted


def node_positions(wrapper, memo: dict | None = None,
                   line_of: dict[int, int] | None = None) -> "Callable[[cst.CSTNode], tuple[int, int]]":
    """1-based (line, column) of an original node of ``wrapper``'s module, resolved
    on first use. For a :class:`FocusedWrapper`, visited statements are resolved one
    at a time: first those the visit is inside of, innermost first (a site is mostly
    recorded while its statement is visited), then the others in order until the node
    is found; and
    ``memo`` keeps each statement's relative positions for the next transform of the
    file. A node outside them falls back to the whole module (whose lines ``line_of``
    maps to the file's, for a :class:`Partial` module)."""
    cache: dict = {}
    pending = dict(enumerate(wrapper.units)) if isinstance(wrapper, FocusedWrapper) else {}
    inside = wrapper.inside if isinstance(wrapper, FocusedWrapper) else []
    memo = {} if memo is None else memo

    def resolve(unit: Unit) -> None:
        stmt = unit.node
        kept = memo.get(id(stmt))
        if kept is None or kept[0] is not stmt:
            if unit.indents is not None:  # in a block: written with the indentation it has in the file
                code, found = _positions_alone(stmt, wrapper.module, unit.indents)
                lines = code.split("\n", len(stmt.leading_lines) + 1)
                if len(lines) <= len(stmt.leading_lines) or lines[len(stmt.leading_lines)].rstrip("\r") != unit.head:
                    return  # not where the file's text puts it: an enclosing statement's positions answer
                relative = {node: (rng.start.line, rng.start.column) for node, rng in found.items()}
            elif unit.inline:
                code, found = _positions_alone(stmt, wrapper.module)
                if not unit.head.startswith(code.split("\n", 1)[0].rstrip("\r")):
                    return  # not where the file's text puts it: the whole module's positions answer
                relative = {node: (rng.start.line, rng.start.column) for node, rng in found.items()}
            else:
                alone = wrapper.module.with_changes(header=[], body=[stmt], footer=[])
                relative = {node: (rng.start.line, rng.start.column) for node, rng in
                            _positions(alone).items() if node is not alone}
            kept = memo[id(stmt)] = (stmt, relative)
        line_offset, column = unit.line, unit.column
        if unit.inline:  # only the first line is shifted: the others' indentation is in the code
            for node, (line, col) in kept[1].items():
                cache[node] = (line + line_offset, col + (column if line == 1 else 0) + 1)
            return
        for node, (line, col) in kept[1].items():
            cache[node] = (line + line_offset, col + column + 1)

    def position(node: cst.CSTNode) -> tuple[int, int]:
        for unit in reversed(inside):  # the statements the visit is inside of, innermost first
            if node in cache:
                break
            if unit in pending:
                resolve(pending.pop(unit))
        while node not in cache and pending:
            resolve(pending.pop(next(iter(pending))))
        if node not in cache:
            pending.clear()
            lines = line_of or {}
            cache.update({n: (lines.get(r.start.line, r.start.line), r.start.column + 1)
                          for n, r in _positions(wrapper.module).items()})
        return cache[node]

    return position


class _PositionState(PositionProvidingCodegenState):
    """libcst's own position-keeping code generation, with the column of a token that
    holds no line break counted without its regular expression."""

    def _update_position(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            super()._update_position(value)
        else:
            self.column += len(value)


def _positions(module: cst.Module) -> "dict[cst.CSTNode, object]":
    """What ``PositionProvider`` gives for every node of ``module`` (about twice as
    fast as resolving it through a ``MetadataWrapper``: same state, same ranges)."""
    return _generated(module, module)[1]._computed


def _positions_alone(node: cst.CSTNode, module: cst.Module, indents: "tuple[str, ...]" = ()
                     ) -> "tuple[str, dict[cst.CSTNode, object]]":
    """The code of ``node`` (of ``module``) written alone, inside blocks indented by
    ``indents``, and its nodes' positions in it."""
    state, provider = _generated(node, module, indents)
    return "".join(state.tokens), provider._computed


def _generated(node: cst.CSTNode, module: cst.Module, indents: "tuple[str, ...]" = ()
               ) -> "tuple[_PositionState, PositionProvider]":
    """``node`` written with libcst's position-keeping code generation, in ``module``'s style."""
    provider = PositionProvider()
    state = _PositionState(default_indent=module.default_indent, default_newline=module.default_newline,
                           provider=provider, indent_tokens=list(indents))
    node._codegen(state)
    return state, provider


def omitted() -> "Omitted | None":
    """What the statements a :class:`Partial` being rewritten leaves out hold (None
    outside a partial rewrite)."""
    return _OMITTED.get()
