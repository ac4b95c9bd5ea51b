"""docs/transforms/ is generated from the transforms: fail while it is stale."""

from pathlib import Path

from winport import Transform, registry
from winport.docs import render

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_pages_are_current():
    stale = [str(p) for p, text in render(DOCS).items() if not p.exists() or p.read_text() != text]
    assert not stale, f"regenerate with `python -m winport.docs docs`: {stale}"


def test_every_transform_documents_why_pattern_rewrite():
    for t in registry.all_transforms():
        sections = t.doc_sections()
        for heading in ("Why", "Pattern", "Rewrite"):
            assert sections.get(heading), f"{t.id}: docstring lacks a '{heading}:' section"
        planned = type(t).plan_files is not Transform.plan_files
        assert (t.seed or not t.fixes) and t.summary and t.globs and (t.triggers or planned)
