"""Focused libcst visits: a Python transform with ``anchors`` visits only the statements
holding one, and positions computed per statement equal those of the whole module."""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from winport.lang import match
from winport.lang.partial import FocusedWrapper, focus, node_positions, statement_spans

CODE = b'''"""doc"""
import os; import sys  # two statements, one line


@decorator(
    arg=1)
def anchored():
    return os.fork()


class Holder:
    # a comment
    x = 1; y = 2

    @staticmethod
    def plain():
        return 1

    def anchored_method(self):
        if True:
            sys.exit(
                os.fork())


def other():
    return 2
'''


class Names(cst.CSTVisitor):
    def __init__(self):
        self.seen: list[str] = []

    def visit_FunctionDef(self, node):
        self.seen.append(node.name.value)

    def visit_ClassDef(self, node):
        self.seen.append(node.name.value)


def test_spans_group_statements_as_libcst_does():
    spans = statement_spans(CODE)
    assert [(s.first, s.last) for s in spans] == [(1, 1), (2, 2), (5, 8), (11, 22), (25, 26)]
    holder = spans[3]
    assert [(s.first, s.last, s.column) for s in holder.body] == [(13, 13, 4), (15, 17, 4), (19, 22, 4)]
    assert len(cst.parse_module(CODE).body) == len(spans)
    assert statement_spans(b"def broken(:\n") is None


def test_visit_skips_statements_without_an_anchor():
    module = cst.parse_module(CODE)
    wrapper = focus(module, re.compile(rb"fork"), statement_spans(CODE))
    assert isinstance(wrapper, FocusedWrapper)
    names = Names()
    wrapper.visit(names)
    assert names.seen == ["anchored", "Holder", "anchored_method"]
    full = Names()
    focus(module, None, statement_spans(CODE)).visit(full)
    assert full.seen == ["anchored", "Holder", "plain", "anchored_method", "other"]
    # spans that do not line up with libcst's statements: everything is visited
    assert not isinstance(focus(module, re.compile(rb"fork"), statement_spans(CODE)[:-1]), FocusedWrapper)


def test_skipped_statements_come_back_unchanged():
    class Rename(cst.CSTTransformer):
        def leave_Name(self, original, updated):
            return updated.with_changes(value=updated.value.upper()) if updated.value == "fork" else updated

        def leave_Integer(self, original, updated):
            return updated.with_changes(value="7")

    module = cst.parse_module(CODE)
    out = focus(module, re.compile(rb"fork"), statement_spans(CODE)).visit(Rename()).code
    assert "os.FORK()" in out and "return 2" in out and "return 1" in out  # other()/plain() untouched
    assert "x = 1; y = 2" in out


FIXTURE_PY = sorted(Path(__file__).resolve().parents[1].glob("fixtures/**/*.py"))


@pytest.mark.parametrize("blocks", [False, True], ids=["statements", "blocks"])
@pytest.mark.parametrize("path", FIXTURE_PY + [None], ids=lambda p: "inline" if p is None else p.parent.name)
def test_positions_per_statement_equal_the_whole_module(path, blocks):
    code = CODE if path is None else path.read_bytes()
    module = cst.parse_module(code)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    wrapper = focus(module, re.compile(rb"[a-z]"), statement_spans(code), blocks)  # every statement visited
    if blocks:  # each node resolved from the innermost statement around it, as during a visit
        assert any(unit.indents for unit in wrapper.units) or path is not None
        wrapper.visit(_Asks(node_positions(wrapper), whole))
    position = node_positions(wrapper)
    checked = 0
    for node, rng in whole.items():
        if node is module:
            continue
        assert position(node) == (rng.start.line, rng.start.column + 1), (path, type(node).__name__)
        checked += 1
    assert checked > 0 or not code.strip()


class _Asks(cst.CSTVisitor):
    """Asks for the position of every node as the visit enters it, and checks it."""

    def __init__(self, position, whole):
        super().__init__()
        self.position, self.whole, self.asked = position, whole, 0

    def on_visit(self, node):
        if node in self.whole and not isinstance(node, cst.Module):
            rng = self.whole[node]
            assert self.position(node) == (rng.start.line, rng.start.column + 1), type(node).__name__
        return super().on_visit(node)


def _settings_module(extra: str = "") -> bytes:
    """A statement assigning a large dict literal, as vllm/envs.py's environment_variables."""
    lines = ['import os', '', 'settings: dict[str, object] = {']
    for n in range(40):
        if n == 5:
            lines.append('    "WANTED_A": lambda: os.getenv("WANTED_A", "fork"),')
        elif n == 9:
            lines += ['    "MULTI":', '    lambda: (', '        os.getenv("X", "1")', '    ),']
        elif n == 12:
            lines.append('    "é": 1, "WANTED_B": lambda: "ü",  # two on one line, wide characters before')
        elif n == 20:
            lines += ['    "PLAIN_20": 20,', '    # WANTED_C: named in a comment after an element']
        else:
            lines.append(f'    "PLAIN_{n}": {n},')
    lines += [extra + '}', '']
    return "\n".join(lines).encode()


class Keys(cst.CSTVisitor):
    def __init__(self):
        self.seen: list[str] = []

    def visit_DictElement(self, node):
        self.seen.append(node.key.evaluated_value)


def test_a_large_dict_is_visited_element_by_element():
    code = _settings_module()
    module = cst.parse_module(code)
    keys = Keys()
    focus(module, re.compile(rb"WANTED"), statement_spans(code)).visit(keys)
    # the comment after PLAIN_20 is code libcst keeps with that element: it is visited
    assert keys.seen == ["WANTED_A", "é", "WANTED_B", "PLAIN_20"]
    every = Keys()
    focus(module, None, statement_spans(code)).visit(every)
    assert len(every.seen) == 41


def test_a_dict_whose_elements_do_not_line_up_is_visited_whole():
    code = _settings_module().replace(b'"PLAIN_30": 30', b'("PLAIN_30"): 30')  # a key in parentheses
    keys = Keys()
    focus(cst.parse_module(code), re.compile(rb"WANTED"), statement_spans(code)).visit(keys)
    assert len(keys.seen) == 41


def test_skipped_elements_come_back_unchanged():
    class Spawn(cst.CSTTransformer):
        def leave_SimpleString(self, original, updated):
            return updated.with_changes(value='"spawn"') if updated.value == '"fork"' else updated

        def leave_Integer(self, original, updated):
            return updated.with_changes(value="0")

    code = _settings_module()
    out = focus(cst.parse_module(code), re.compile(rb"WANTED_A"), statement_spans(code)).visit(Spawn()).code
    assert out == code.decode().replace('"fork"', '"spawn"')


@pytest.mark.parametrize("anchors", [rb"WANTED", rb"[A-Za-z]"])
def test_positions_per_element_equal_the_whole_module(anchors, monkeypatch):
    code = _settings_module()
    if anchors == rb"WANTED":  # every node asked for lies in an element: no whole-module pass
        from winport.lang import partial

        monkeypatch.setattr(partial, "_positions", lambda module: pytest.fail("whole-module positions"))
    module = cst.parse_module(code)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    wrapper = focus(module, re.compile(anchors), statement_spans(code))
    assert any(unit.inline for unit in wrapper.units)
    position = node_positions(wrapper)
    elements = [u.node for u in wrapper.units if u.inline]
    inside = {id(n) for e in elements for n in match.findall(e, match.DoNotCare())}
    checked = 0
    for node, rng in whole.items():
        if node is module or (anchors == rb"WANTED" and id(node) not in inside):
            continue
        assert position(node) == (rng.start.line, rng.start.column + 1), type(node).__name__
        checked += 1
    assert checked > 30


# -- inside blocks (anchors_in_blocks) ---------------------------------------------------
BLOCKS = b'''import os


def anchored(x):
    a = 1; b = 2
    os.fork()
    if x:
        c = 3
        os.fork()
    elif x > 1:
        d = 4
    else:
        e = 5
        os.fork()
    for i in range(3):
        f = 6
    else:
        os.fork()
    try:
        g = 7
    except OSError:
        os.fork()
    else:
        h = 8
    finally:
        os.fork()
    while x:
        j = 9
    with open(x) as fh:
        k = 10
        if x: os.fork()
    match x:
        case 1:
            m = 11
        case _:
            os.fork()

    def inner():
        n = 12

    class Inner:
        o = 13
        p = os.fork()
    return os.fork()


def other():
    q = 14
'''


class Targets(cst.CSTVisitor):
    """The names assigned in the statements a visit enters, and the ``if``s it enters."""

    def __init__(self):
        self.seen: list[str] = []

    def visit_AssignTarget(self, node):
        self.seen.append(node.target.value)

    def visit_If(self, node):
        self.seen.append("if")

    def visit_FunctionDef(self, node):
        self.seen.append(node.name.value)


def test_blocks_skip_their_statements_without_an_anchor():
    module = cst.parse_module(BLOCKS)
    spans = statement_spans(BLOCKS)
    seen = Targets()
    focus(module, re.compile(rb"fork"), spans, blocks=True).visit(seen)
    # every if is entered (it may end its block on Windows), none of its statements without an anchor;
    # `a = 1; b = 2` is one statement without the anchor; `inner` holds none; `Inner` holds one in `p`
    assert seen.seen == ["anchored", "if", "if", "if", "p"]
    whole = Targets()
    focus(module, re.compile(rb"fork"), spans).visit(whole)
    assert whole.seen == ["anchored", "a", "b", "if", "c", "if", "d", "e", "f", "g", "h", "j", "k", "if", "m",
                          "inner", "n", "o", "p"]


def test_blocks_leave_skipped_statements_unchanged():
    class Renumber(cst.CSTTransformer):
        def leave_Integer(self, original, updated):
            return updated.with_changes(value="0")

        def leave_Name(self, original, updated):
            return updated.with_changes(value="spawn") if updated.value == "fork" else updated

    module = cst.parse_module(BLOCKS)
    out = focus(module, re.compile(rb"fork"), statement_spans(BLOCKS), blocks=True).visit(Renumber()).code
    # the anchored statements changed, and the headers of the statements it entered (the ifs, the for
    # and match holding an anchor); no statement without an anchor in their blocks
    want = BLOCKS.decode().replace("fork", "spawn")
    for entered, changed in [("elif x > 1", "elif x > 0"), ("range(3)", "range(0)"), ("case 1:", "case 0:")]:
        want = want.replace(entered, changed)
    assert out == want


def test_blocks_that_do_not_line_up_with_ast_are_visited_whole():
    other = BLOCKS.replace(b"        f = 6\n", b"        f = 6\n        f2 = 6\n")  # one statement more
    seen = Targets()
    focus(cst.parse_module(BLOCKS), re.compile(rb"fork"), statement_spans(other), blocks=True).visit(seen)
    assert "f" in seen.seen and "c" not in seen.seen  # the for statement's block whole, the others focused


def test_block_focus_keeps_positions(monkeypatch):
    from winport.lang import partial

    module = cst.parse_module(BLOCKS)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    wrapper = focus(module, re.compile(rb"fork"), statement_spans(BLOCKS), blocks=True)
    position = node_positions(wrapper)

    class Calls(cst.CSTVisitor):
        seen = 0

        def visit_Call(self, node):
            assert position(node) == (whole[node].start.line, whole[node].start.column + 1)
            self.seen += 1

    # asked during the visit, each call's position comes from the statement in a block around it,
    # written alone with its indentation, not from the whole function
    monkeypatch.setattr(partial, "_positions", lambda module: pytest.fail("a whole statement written"))
    calls = Calls()
    wrapper.visit(calls)
    assert calls.seen == 12
