"""Partial modules: when every Python transform of a file has anchors, libcst parses only
the statements they need. Whatever a partial module gives must equal what the whole
module gives: the same bytes, outcomes, sites and reports."""

from __future__ import annotations

import re

import libcst as cst
import pytest

from winport import Outcome, Pipeline, registry
from winport.examples import cases
from winport.lang import partial as partial_module
from winport.lang.partial import Partial, focus
from winport.lang.python import has_module_level, module_aliases
from winport.pipeline import TreeView, _run_python_partial, _run_python_whole
from winport.sources import SourceFile

PYTHON = [t for t in registry.all_transforms() if t.language == "python" and t.anchor_re() is not None]


def _sources_and_plans(root, transforms):
    """Every Python file of the fixture tree and the transforms' plans, as a run has them."""
    work, scanned = Pipeline(transforms, jobs=1).candidates(str(root))
    plans = {t.id: t.plan(TreeView(str(root), scanned, t, {})) for t in transforms}
    return [s for p, s in sorted(scanned.items()) if p.endswith(".py")], plans


def _both(source, group, plans):
    partial, whole = {}, {}
    new_partial = _run_python_partial(source, group, plans, partial)
    new_whole = _run_python_whole(source, group, plans, whole)
    return new_partial, partial, new_whole, whole


def _json(results):
    return {k: v.to_json() for k, v in results.items()}


TREES = [(c, side) for t in PYTHON for c in cases(t.id) for side in ("before", "after")
         if (c.before if side == "before" else c.after).is_dir()]


@pytest.fixture
def always_partial(monkeypatch):
    """Small fixture files keep most of their statements: build partial modules anyway."""
    monkeypatch.setattr(partial_module, "PARTIAL_MOST", 1.0)


@pytest.mark.parametrize("case,side", TREES, ids=[f"{c.transform}/{c.name}/{side}" for c, side in TREES])
def test_partial_equals_whole_on_every_fixture(case, side, always_partial):
    """Each fixture tree, unported and ported, with its own transform and with every
    anchored Python transform at once (as a real run groups them)."""
    root = case.before if side == "before" else case.after
    for group in ([registry.get(case.transform)], PYTHON):
        sources, plans = _sources_and_plans(root, group)
        for source in sources:
            wanted = [t for t in group if t.matcher()(source.path) or source.path == plans.get(t.id)]
            if not wanted:
                continue
            new_partial, partial, new_whole, whole = _both(source, wanted, plans)
            if new_partial is None:
                continue
            assert new_partial == new_whole, source.path
            assert _json(partial) == _json(whole), source.path


def test_most_fixture_files_take_the_partial_path(always_partial):
    """Guards the test above: it compares something only where a partial module is built."""
    taken = total = 0
    for case, side in TREES:
        root = case.before if side == "before" else case.after
        t = registry.get(case.transform)
        sources, plans = _sources_and_plans(root, [t])
        for source in sources:
            if t.matcher()(source.path):
                total += 1
                taken += _run_python_partial(source, [t], plans, {}) is not None
    assert total and taken / total > 0.5, (taken, total)


CODE = b'''"""Module doc."""
import os
from typing import Any

LIMIT = 3


def helper():
    import socket as s
    return s


def target(x):
    # comment inside
    return os.fork(x)


class Holder:
    def method(self):
        return target(1)
'''


def test_keeps_anchored_statements_imports_and_docstring():
    part = Partial.build(CODE, re.compile(rb"fork"))
    assert part is not None
    assert [(s.first, s.last) for s in part.spans] == [(1, 1), (2, 2), (3, 3), (13, 15)]
    assert len(part.module.body) == 4
    assert part.omitted.names == {"LIMIT", "helper", "Holder"}
    assert part.omitted.imports == {"socket": {"s"}}
    assert part.line_of[4] == 13 and part.line_of[6] == 15


def test_module_level_helpers_answer_for_the_whole_file():
    part = Partial.build(CODE, re.compile(rb"fork"))
    token = part.active()
    try:
        assert has_module_level(part.module, "helper") and has_module_level(part.module, "LIMIT")
        assert not has_module_level(part.module, "missing")
        assert module_aliases(part.module, "socket") == {"s"}
    finally:
        part.reset(token)
    assert not has_module_level(part.module, "helper")  # outside a partial run: the module alone


class _Drop(cst.CSTTransformer):
    def leave_FunctionDef(self, original, updated):
        return cst.RemoveFromParent() if original.name.value == "target" else updated


class _Rename(cst.CSTTransformer):
    def leave_Name(self, original, updated):
        return updated.with_changes(value="spawn") if original.value == "fork" else updated


def test_splice_edits_only_the_changed_statement():
    part = Partial.build(CODE, re.compile(rb"fork"))
    wrapper = focus(part.module, re.compile(rb"fork"), part.spans)
    new = part.splice(wrapper.visit(_Rename()), wrapper)
    assert new == CODE.replace(b"os.fork(x)", b"os.spawn(x)")


def test_splice_declines_what_it_cannot_place():
    part = Partial.build(CODE, re.compile(rb"fork"))
    wrapper = focus(part.module, re.compile(rb"fork"), part.spans)
    assert part.splice(wrapper.visit(_Drop()), wrapper) is None  # a statement removed
    first = cst.parse_statement("X = 1\n")
    wrapper = focus(part.module, re.compile(rb"fork"), part.spans)
    moved = part.module.with_changes(body=[first, *part.module.body])
    assert part.splice(moved, wrapper) is None  # before the first kept statement


@pytest.mark.parametrize("code", [
    b"# -*- coding: latin-1 -*-\nimport os\nos.fork()\n",  # an encoding declaration
    b"import os\r\nos.fork()\rx = 1\n",  # a lone CR
    b"import os\nos.fork()",  # the last kept statement ends the file without a newline
    b"import os\nos.fork()\nx=1\n",  # nearly everything kept (20 of 24 bytes)
    b"def broken(:\n    fork\n",  # does not parse
])
def test_build_declines(code):
    assert Partial.build(code, re.compile(rb"fork")) is None


def test_default_indent_is_the_files_first():
    code = b"import os\n\n\ndef a():\n  return 1\n\n\ndef b():\n    return os.fork()\n"
    part = Partial.build(code, re.compile(rb"fork"), most=1.0)
    assert part.module.default_indent == "  "  # from a(), which the partial module leaves out
    assert cst.parse_module(code).default_indent == "  "


CLASSY = b'''import multiprocessing


class Engine:
    """An engine."""

    # the start method
    def start(self):
        return multiprocessing.get_context("fork")

    def stop(self):
        import socket as sk
        return sk

    limit = 3

    def restart(self):
        ctx = multiprocessing.get_context("fork")
        return ctx


def other():
    return 1
'''


def test_a_class_is_kept_in_part():
    """Only the statements of a class that hold an anchor are parsed, under its header."""
    part = Partial.build(CLASSY, re.compile(rb"get_context"), most=1.0)
    engine = part.spans[1]
    assert part.parts == {1: engine.body} and [(s.first, s.last) for s in engine.body] == [(8, 9), (17, 19)]
    assert part.module.code_for_node(part.module.body[1]).startswith('class Engine:\n    def start(self):')
    assert part.omitted.imports == {"socket": {"sk"}}  # from stop(), left out of the class
    assert [part.line_of[n] for n in range(1, 8)] == [1, 4, 8, 9, 17, 18, 19]


@pytest.mark.parametrize("code", [CLASSY, CLASSY.replace(b"class Engine:", b"@final\nclass Engine(Base):")])
def test_rewrites_in_a_class_kept_in_part_equal_the_whole_modules(code):
    t = registry.get("runtime/spawn-context")
    source = SourceFile.from_bytes("vllm/engine.py", code)
    new_partial, partial, new_whole, whole = _both(source, [t], {})
    assert new_partial is not None and new_partial == new_whole and _json(partial) == _json(whole)
    assert new_partial.count(b'"spawn" if sys.platform == "win32"') == 2  # both methods, lines of the file
    assert b"def stop(self):\n        import socket" in new_partial \
        and [s["line"] for s in _json(partial)[t.id]["sites"]] == [9 + code.count(b"@"), 18 + code.count(b"@")]


class _Decorate(cst.CSTTransformer):
    def leave_ClassDef(self, original, updated):
        return updated.with_changes(decorators=[cst.Decorator(cst.Name("final")), *updated.decorators])


class _AddMethod(cst.CSTTransformer):
    def leave_ClassDef(self, original, updated):
        method = cst.parse_statement("def added(self):\n    return 2\n")
        return updated.with_changes(body=updated.body.with_changes(body=[*updated.body.body, method]))


@pytest.mark.parametrize("transformer", [_Decorate, _AddMethod])
def test_a_class_kept_in_part_declines_a_new_header_or_a_statement_after_a_function(transformer):
    anchors = re.compile(rb"get_context")
    part = Partial.build(CLASSY, anchors, most=1.0)
    wrapper = focus(part.module, anchors, part.spans)
    assert part.splice(wrapper.visit(transformer()), wrapper) is None


def test_a_rewritten_partial_module_stands_for_the_new_code():
    """After a rewrite, the next transform of the file works on the rewritten partial
    module (not parsed again) and the result equals the whole module's."""
    (case,) = [c for c in cases("build/cmake-path-slashes") if c.name == "vllm-setup-py"]
    source = SourceFile.from_bytes("setup.py", (case.before / "setup.py").read_bytes())
    group = [registry.get(i) for i in ("build/target-device", "build/cmake-path-slashes", "build/nvcc-exe")]
    parses = []
    parse = partial_module.cst.parse_module

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(partial_module, "PARTIAL_MOST", 1.0)
        # a partial module's statements are parsed from bytes (code a transform adds, from str)
        mp.setattr(partial_module.cst, "parse_module", lambda code, *a, **k: parses.append(isinstance(code, bytes))
                   or parse(code, *a, **k))
        partial = {}
        new_partial = _run_python_partial(source, group, {}, partial)
    assert parses.count(True) == 1  # the first partial module only: three transforms changed the file
    new_whole, whole = _run_python_whole(source, group, {}, {}), {}
    _run_python_whole(source, group, {}, whole)
    assert new_partial == new_whole and _json(partial) == _json(whole)
    assert sum(r.outcome is Outcome.APPLIED for r in partial.values()) == 3


def test_a_rewritten_partial_module_serves_only_where_its_statements_are_the_new_text():
    anchors = re.compile(rb"fork|spawn")
    part = Partial.build(CODE, anchors)
    wrapper = focus(part.module, anchors, part.spans)
    rewritten = wrapper.visit(_Rename())
    new = part.splice(rewritten, wrapper)
    assert part.after[-1] == b"def target(x):\n    # comment inside\n    return os.spawn(x)\n"
    again = Partial.build(new, anchors, module=rewritten, texts=part.after)
    assert again is not None and again.module.body[-1].name.value == "target"
    for other in (new.replace(b"LIMIT = 3", b"LIMIT = spawn"),  # one more statement kept
                  new.replace(b"os.spawn(x)", b"os.spawn(y)")):  # a kept statement not as spliced
        assert Partial.build(other, anchors, module=rewritten, texts=part.after) is None
