"""The fixture harness: every fixtures/<id>/<case>/ runs through the real pipeline,
checked by winport.testing (the harness plug-ins use too): before/ must become after/
(or stay as it is), exactly the sites of reported.txt must be reported, the outcome
must be the expected one, a second run must change nothing, and the output must
re-parse. Adding a folder adds a test.
"""

from __future__ import annotations

import pytest

from winport import registry, testing
from winport.examples import cases
from winport.pipeline import Pipeline


def test_every_transform_has_a_changing_and_an_unchanged_case():
    for t in registry.all_transforms():
        mine = cases(t.id)
        if t.fixes:
            assert any(not c.unchanged for c in mine), f"{t.id}: no case that rewrites"
        else:  # a detector: a case it reports, and one it must stay quiet on
            assert any(c.reported for c in mine), f"{t.id}: no case that reports"
            assert any(not c.reported for c in mine), f"{t.id}: no case that must not report"
        assert any(c.unchanged for c in mine), f"{t.id}: no case that must not change"


@testing.parametrize()
def test_case(case):
    testing.assert_case(case)


def _block_focused() -> list:
    return [c for t in registry.all_transforms() if getattr(t, "anchors_in_blocks", False) for c in cases(t.id)]


@pytest.mark.parametrize("case", _block_focused(), ids=lambda c: f"{c.transform}/{c.name}")
def test_focus_inside_blocks_changes_nothing(case, tmp_path):
    """A transform that says its anchors hold inside blocks too (``anchors_in_blocks``)
    gives on each of its cases what the same transform visiting those blocks whole
    gives: the same files, sites, positions and messages."""
    transform = registry.get(case.transform)
    whole = type(f"Whole{type(transform).__name__}", (type(transform),), {"anchors_in_blocks": False})()
    assert whole.anchor_re() is not None
    runs = []
    for t in (transform, whole):
        root = tmp_path / ("blocks" if t is transform else "whole")
        for rel, data in case.files("before").items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        report = Pipeline([t], jobs=1).run(root, write=False)
        result = report.by_id(case.transform)
        runs.append((report.changed, result.outcome,
                     [(f.path, f.outcome, [(s.line, s.column, s.message) for s in [*f.sites, *f.reported]])
                      for f in result.files]))
    assert runs[0] == runs[1]
