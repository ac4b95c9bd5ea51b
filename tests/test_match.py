"""winport.lang.match answers as libcst.matchers does, pattern by pattern and node by node."""

from __future__ import annotations

import sys
import subprocess

import libcst as cst
import libcst.matchers as lm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winport.lang import match as wm

CODE = '''
import os, signal, subprocess
from socket import SO_REUSEPORT
x = os.open(path, os.O_RDONLY)
y = os.open(path, flags=os.O_RDONLY | os.O_CREAT, mode=0o600)
signal.signal(signal.SIGTERM, handler)
signal.signal(signal.SIGHUP, handler, extra)
for sig in (signal.SIGINT, signal.SIGTERM):
    loop.add_signal_handler(sig, stop, sig)
loop.remove_signal_handler(signal.SIGINT)
subprocess.run(["rm", "-f", path])
subprocess.call(["rm", "-f", *paths])
subprocess.check_call(['rm', '-f', 'a', 'b'])
os.killpg(os.getpgid(pid), signal.SIGKILL)
def get_open_port():
    """Doc."""
    return f"{a}{b}" + c
class Backend:
    backend = "gloo"
    def f(self):
        return [AttentionBackendEnum.FLASH_ATTN, other]
try:
    os.remove(p)
except OSError:
    pass
v = 1 if a == b else zmq.Poller()
socket.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_REUSEPORT"), 1)
print()
'''

PATTERNS = [
    'm.Name("os")',
    'm.Name()',
    'm.Name(m.MatchIfTrue(lambda n: n.startswith("SIG")))',
    'm.Attribute(m.Name("os"), m.Name("open"))',
    'm.Attribute(value=m.Name("signal"))',
    'm.Attribute(attr=m.Name("SIGKILL"))',
    'm.Call(func=m.Attribute(m.Name("os"), m.Name("open")))',
    'm.Call(func=m.Attribute(m.Name("os"), m.Name("open")), args=[m.Arg(), m.Arg()])',
    'm.Call(func=m.Attribute(m.Name("os"), m.Name("open")), args=[m.Arg(), m.ZeroOrMore()])',
    'm.Call(args=[])',
    'm.Call(args=[m.Arg(keyword=None), m.Arg()])',
    'm.Call(args=[m.Arg(keyword=None), m.ZeroOrMore(m.Arg(keyword=None))])',
    'm.Call(args=[m.AtLeastN(n=1)])',
    'm.Call(args=[m.AtLeastN(m.Arg(keyword=None), n=2)])',
    'm.Call(args=[m.AtMostN(n=1)])',
    'm.Call(args=[m.Arg(), m.AtMostN(m.Arg(keyword=None), n=1), m.Arg()])',
    'm.Call(func=m.Attribute(attr=m.Name("add_signal_handler")), args=[m.Arg(m.OneOf(m.Name("sig"), '
    'm.Attribute(m.Name("signal"))), keyword=None), m.AtLeastN(n=1)])',
    'm.Call(func=m.OneOf(m.Name("print"), m.Attribute(attr=m.Name("run"))))',
    'm.Call(func=m.Name("print") | m.Name("hasattr"))',
    'm.Arg(keyword=m.Name("flags"))',
    'm.Arg(keyword=m.Name("mode"), value=m.Integer())',
    'm.List(elements=[m.Element(m.SimpleString(value=m.MatchIfTrue(lambda v: v[1:-1] == "rm"))), '
    'm.Element(m.SimpleString()), m.Element(~m.StarredElement())])',
    'm.List(elements=[m.AtLeastN(m.Element(m.SimpleString()), n=2), m.ZeroOrMore()])',
    'm.Tuple(elements=[m.AtLeastN(m.Element(m.Attribute(m.Name("signal"))), n=1)])',
    'm.SimpleStatementLine([m.Expr(m.SimpleString())])',
    'm.SimpleStatementLine(body=[m.Return()])',
    'm.Return(m.BinaryOperation(operator=m.Add()))',
    'm.Return(m.List())',
    'm.FunctionDef(name=m.Name("get_open_port"))',
    'm.Assign(targets=[m.AssignTarget(m.Name(m.MatchIfTrue(lambda n: n.endswith("backend"))))], '
    'value=m.SimpleString())',
    'm.Try(body=m.IndentedBlock(body=[m.SimpleStatementLine(body=[m.Expr(m.Call(func=m.Attribute('
    'm.Name("os"), m.Name("remove"))))])]))',
    'm.IfExp(orelse=m.Call(func=m.Attribute(m.Name("zmq"), m.Name("Poller")), args=[]))',
    'm.Comparison(comparisons=[m.ComparisonTarget(m.Equal())])',
    'm.FormattedStringExpression()',
    '~m.Name()',
    'm.OneOf(m.Integer(), m.SimpleString())',
]


def _nodes(tree: cst.CSTNode) -> list[cst.CSTNode]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


MODULE = cst.parse_module(CODE)
NODES = _nodes(MODULE)


@pytest.mark.parametrize("source", PATTERNS)
def test_matches_as_libcst_does(source: str) -> None:
    ours, theirs = eval(source, {"m": wm}), eval(source, {"m": lm})
    hits = [node for node in NODES if wm.matches(node, ours)]
    assert hits == [node for node in NODES if lm.matches(node, theirs)]
    assert wm.findall(MODULE, ours) == list(lm.findall(MODULE, theirs))


def test_the_corpus_exercises_both_answers() -> None:
    """Each pattern matches some node and misses some other (else the comparison above proves little)."""
    for source in PATTERNS:
        pattern = eval(source, {"m": wm})
        answers = {wm.matches(node, pattern) for node in NODES}
        assert answers == {True, False}, source


def _element_pattern(mod, word: str):
    """One entry of a sequence pattern over a list's elements."""
    return {"a": lambda: mod.Element(mod.Name("a")), "b": lambda: mod.Element(mod.Name("b")),
            "any": lambda: mod.Element(), "not_a": lambda: mod.Element(~mod.Name("a")),
            "zero": lambda: mod.ZeroOrMore(), "least1": lambda: mod.AtLeastN(mod.Element(mod.Name("a")), n=1),
            "least2": lambda: mod.AtLeastN(n=2), "most1": lambda: mod.AtMostN(mod.Element(mod.Name("b")), n=1),
            }[word]()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c"]), max_size=6),
       st.lists(st.sampled_from(["a", "b", "any", "not_a", "zero", "least1", "least2", "most1"]), max_size=4))
def test_sequences_as_libcst_does(values: list[str], spec: list[str]) -> None:
    """Wildcards in sequence patterns, on every small combination."""
    node = cst.List([cst.Element(cst.Name(v)) for v in values])
    ours = wm.List(elements=[_element_pattern(wm, w) for w in spec])
    theirs = lm.List(elements=[_element_pattern(lm, w) for w in spec])
    assert wm.matches(node, ours) == lm.matches(node, theirs)


def test_bad_patterns_name_the_cause() -> None:
    with pytest.raises(TypeError, match="no field 'nope'"):
        wm.Name(nope=1)
    with pytest.raises(TypeError, match="at most"):
        wm.Name("a", [], [], "extra")
    with pytest.raises(AttributeError, match="NotANode"):
        wm.NotANode()


def test_transforms_do_not_import_libcst_matchers() -> None:
    """The reason the module exists: every winport process starts without that import."""
    code = "import sys, transforms, winport.cli; print('libcst.matchers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
