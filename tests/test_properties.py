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


# Noise a real tree has around the patterns: trigger words in comments and
# strings, macros, stray braces (an unbalanced file must not make things worse).
NOISE = {
    "cpp": ["// or and not __asm__ __volatile__ std::isinf uint ssize_t __int128_t\n",
            '/* "else if (" {.x = 1} __builtin_clz(x) */\n',
            'static const char* kNoise = "a or b and not c __asm__";\n',
            "#define NOISE_OR(a, b) ((a) or (b))\n", "{\n", "}\n", "#if defined(__linux__)\n", "#endif\n"],
    "python": ["# import fcntl; socket.SO_REUSEPORT; backend=\"gloo\"\n",
               'NOISE = "get_context(\'fork\') SyncMPClient( import fcntl"\n', "def noise(:\n", ")\n"],
    "cmake": ["# file(REAL_PATH ${X} Y) find_package(Torch)\n", 'set(NOISE "REAL_PATH ${X}")\n', "if(\n"],
    "text": ["# flashinfer-python==1.0\n", "flashinfer-python==0.5.3 ; python_version > \"3\" or os_name == \"nt\"\n",
             "not a requirement line ((\n"],
}


@pytest.mark.parametrize("t", TRANSFORMS, ids=[t.id for t in TRANSFORMS])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_idempotent_and_parse_preserving(t, data):
    pool = pieces(t)
    path = data.draw(st.sampled_from(sorted({p for p, _ in pool})))
    # chunks of one language, in any order and number, mixed with noise
    chunks = [c for p, c in pool if language_of(p) == language_of(path)]
    noise = NOISE.get(language_of(path) or "text", [])
    chosen = data.draw(st.lists(st.sampled_from(chunks + noise), min_size=1, max_size=8))
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
        assert parse_problems(path, source, once, result.repeated_errors) is None
        assert (b"\r\n" in once) == (b"\r\n" in source)


CPP_FILES = sorted({data for t in TRANSFORMS if t.language == "cpp" for c in cases(t.id)
                    for path, data in c.files("before").items() if language_of(path) == "cpp" and len(data) > 20})
SNIPPETS = [b"||", b"&&", b" or ", b"(", b")", b"{", b"}", b";", b"int x = 1;", b"\n", b'asm volatile("")',
            b"#ifdef _MSC_VER\n", b"#endif\n", b"", b"template <typename T>", b"/*", b"*/", b'"', b"x[n]"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_incremental_reparse_agrees_with_a_fresh_parse_on_whether_errors_grew(data):
    """The re-parse guard parses a rewrite incrementally; whether ERROR/MISSING nodes
    grew must be what a parse from scratch says (a failure is confirmed from scratch
    anyway, so this guards against a rewrite passed that should have failed)."""
    from winport.lang import treesitter

    old = data.draw(st.sampled_from(CPP_FILES))
    changes, taken = [], []
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(old) - 1))
        end = min(len(old), start + data.draw(st.integers(0, 20)))
        if all(end <= a or start >= b for a, b in taken) and (start, end) not in taken:
            taken.append((start, end))
            changes.append((start, end, data.draw(st.sampled_from(SNIPPETS))))
    new = old
    for start, end, text in sorted(changes, reverse=True):
        new = new[:start] + text + new[end:]
    tree = treesitter.parser("cpp").parse(old)
    before = treesitter.error_count(tree)
    incremental = treesitter.error_count(treesitter.reparse("cpp", tree, old, new, changes))
    fresh = treesitter.error_count(treesitter.parser("cpp").parse(new))
    assert (incremental > before) == (fresh > before)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two byte ranges overlap as the engine sees it (insertions never do,
    an insertion overlaps a replacement only strictly inside it)."""
    if a[0] == a[1] and b[0] == b[1]:
        return False
    if a[0] == a[1]:
        return b[0] < a[0] < b[1]
    if b[0] == b[1]:
        return a[0] < b[0] < a[1]
    return a[0] < b[1] and b[0] < a[1]


def _edits(data, body: bytes, taken: list[tuple[int, int]]) -> list:
    """Up to four edits of ``body`` that overlap neither each other nor ``taken``."""
    from winport import Edit

    out = []
    for _ in range(data.draw(st.integers(0, 4))):
        start = data.draw(st.integers(0, len(body)))
        end = min(len(body), start + data.draw(st.sampled_from([0, 0, 1, 3])))
        if not any(_overlap((start, end), t) for t in taken):
            taken.append((start, end))
            out.append(Edit(start, end, data.draw(st.sampled_from(["", "x", "yy", "\n#include <z>\n"]))))
    return out


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_edits_of_two_transforms_compose_in_run_order(data):
    """What the engine applies at once equals applying the first transform's edits,
    then the second's moved past the first's (its insertions at a shared offset after
    the first's)."""
    from winport import Edit, apply_edits

    body = data.draw(st.binary(min_size=0, max_size=12).map(lambda b: b.replace(b"\r", b"")))
    taken: list[tuple[int, int]] = []
    first, second = _edits(data, body, taken), _edits(data, body, taken)

    def shift(offset: int) -> int:  # where ``offset`` of ``body`` lies after ``first``
        return offset + sum(len(e.text) - (e.end - e.start) for e in first if e.end <= offset)

    # in the original's order: two edits the first's deletions bring together keep it
    moved = [Edit(shift(e.start), shift(e.start) + (e.end - e.start), e.text)
             for e in sorted(second, key=lambda e: (e.start, e.end))]
    assert apply_edits(body, first + second) == apply_edits(apply_edits(body, first), moved)


_LINES = st.lists(st.sampled_from([b"", b"a", b"b", b"x = 1", b"import sys", b"if x:"]), max_size=25)


@settings(max_examples=300, deadline=None)
@given(_LINES, _LINES)
def test_line_map_names_a_line_of_the_original_for_every_line(old_lines, new_lines):
    """Sites name lines of the file as it was: every line of the rewrite maps to one, in
    order; the lines before the first change and after the last are themselves, and a
    line mapped to a different text can only be one inserted or changed."""
    from winport.pipeline import _line_map

    old, new = b"\n".join(old_lines), b"\n".join(new_lines)
    a, b = old.splitlines(), new.splitlines()
    out = _line_map(old, new)
    assert sorted(out) == list(range(1, len(b) + 1))
    assert all(1 <= line <= max(len(a), 1) for line in out.values())
    assert [out[j] for j in sorted(out)] == sorted(out.values())  # in order
    head = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    assert all(out[j] == j for j in range(1, head + 1))
    tail = next((i for i in range(min(len(a), len(b)) - head) if a[-1 - i] != b[-1 - i]),
                min(len(a), len(b)) - head)
    assert all(out[len(b) - i] == len(a) - i for i in range(tail))
    if a == b:
        assert out == {j: j for j in range(1, len(b) + 1)}
