"""The fixture harness: every fixtures/<id>/<case>/ runs through the real pipeline,
checked by winport.testing (the harness plug-ins use too): before/ must become after/
(or stay as it is), exactly the sites of reported.txt must be reported, the outcome
must be the expected one, a second run must change nothing, and the output must
re-parse. Adding a folder adds a test.
"""

from __future__ import annotations

from winport import registry, testing
from winport.examples import cases


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


def test_the_harness_catches_a_block_focused_transform_that_reads_an_unanchored_statement():
    """runtime/exe-suffix reads `candidate = os.path.join(...)`, a statement without its
    anchor, to rewrite it: made block-focused, the harness says so on its case."""
    exe = registry.get("runtime/exe-suffix")
    assert not exe.anchors_in_blocks
    focused = type("Focused", (type(exe),), {"anchors_in_blocks": True})()
    case = next(c for c in cases("runtime/exe-suffix") if c.name == "rust-frontend")
    assert testing.check_case(case, exe) == []
    problems = testing.check_case(case, focused)
    assert any(p.startswith("anchors_in_blocks:") for p in problems), problems
