"""Property tests: on files generated from the fixtures' pieces (reordered, repeated,
mixed with each other, CRLF or LF), every transform never crashes, never makes
the parse worse, and is idempotent."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import parse_problems
from winport import Outcome, registry
from winport.examples import cases
from winport.pipeline import FileWork, process_file
from winport.sources import SourceFile, language_of

TRANSFORMS = registry.all_transforms()


def pieces(t):
    """(path, chunk) pairs: each fixture file of t's language split at blank lines."""
    out = []
    for c in cases(t.id):
        for path, data in c.files("before").items():
            if language_of(path) == t.language or t.matcher()(path):
                for chunk in data.decode().split("\n\n"):
                    if chunk.strip():
                        out.append((path, chunk.strip("\n") + "\n"))
    return out


def run_once(t, path: str, data: bytes):
    if not t.wants(path, data):
        return data, None
    out = process_file(FileWork(SourceFile.from_bytes(path, data), [t]), {})
    return (out.new_raw if out.new_raw is not None else data), out.results[0]


@pytest.mark.parametrize("t", TRANSFORMS, ids=[t.id for t in TRANSFORMS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_idempotent_and_parse_preserving(t, data):
    pool = pieces(t)
    path = data.draw(st.sampled_from(sorted({p for p, _ in pool})))
    # chunks of one language, in any order and number
    chosen = data.draw(st.lists(st.sampled_from([c for p, c in pool if language_of(p) == language_of(path)]),
                                min_size=1, max_size=6))
    text = "\n".join(chosen)
    if data.draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    source = text.encode()

    once, result = run_once(t, path, source)
    if result is not None:
        assert "raised" not in result.reason, result.reason
    twice, again = run_once(t, path, once)
    assert twice == once
    if again is not None:
        assert again.outcome is not Outcome.APPLIED
    if once != source:
        assert parse_problems(path, source, once) is None
        assert (b"\r\n" in once) == (b"\r\n" in source)
