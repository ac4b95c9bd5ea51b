"""The fixture harness: every fixtures/<id>/<case>/ runs through the real pipeline.

A case's before/ tree must become its after/ tree (or stay as it is when there
is no after/; a file the transform adds, such as a compatibility header, is
compared with what the transform writes instead of kept in after/), exactly the sites listed in reported.txt must be reported, a second run must change nothing, and the output must re-parse.
Adding a folder adds a test.
"""

from __future__ import annotations

import pytest

from conftest import parse_problems, read_tree, run
from winport import Outcome, registry
from winport.examples import cases

CASES = [c for t in registry.all_transforms() for c in cases(t.id)]


def test_every_transform_has_a_changing_and_an_unchanged_case():
    for t in registry.all_transforms():
        mine = cases(t.id)
        if t.fixes:
            assert any(not c.unchanged for c in mine), f"{t.id}: no case that rewrites"
        else:  # a detector: a case it reports, and one it must stay quiet on
            assert any(c.reported for c in mine), f"{t.id}: no case that reports"
            assert any(not c.reported for c in mine), f"{t.id}: no case that must not report"
        assert any(c.unchanged for c in mine), f"{t.id}: no case that must not change"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.transform}/{c.name}" for c in CASES])
def test_case(case, tmp_path):
    root = case.write(tmp_path / "tree")
    report = run(root, case.transform)
    result = report.by_id(case.transform)
    if case.outcome:
        assert result.outcome.value == case.outcome, [f.reason for f in result.files]
    else:
        assert result.outcome is not Outcome.FAILED, [f.reason for f in result.files]
    tree = read_tree(root)
    added = registry.get(case.transform).new_files(None)
    for path in report.created:
        assert tree.pop(path) == added[path].encode(), path
    assert tree == case.files("after")
    assert {f"{s.path}:{s.line}" for s in result.reported} == case.reported
    if case.unchanged:
        assert result.outcome is not Outcome.APPLIED or case.outcome
    else:
        assert result.outcome is Outcome.APPLIED and result.sites

    # idempotent: a second run changes nothing and says why
    again = run(root, case.transform)
    assert again.changed == {}
    if case.unchanged:
        assert again.by_id(case.transform).outcome is result.outcome
    else:
        assert again.by_id(case.transform).outcome in (Outcome.ALREADY, Outcome.NOT_NEEDED)

    before = case.files("before")
    for path, data in read_tree(root).items():
        if path in report.created:
            continue
        repeated = sum(f.repeated_errors for f in result.files if f.path == path)
        assert parse_problems(path, before[path], data, repeated) is None
