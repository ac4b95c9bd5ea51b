"""cuda/directives-in-macro-args keeps what every configuration compiles: g++
preprocesses the call before and after the rewrite under each setting of the
macros its conditionals test, and the token streams must be equal."""

from __future__ import annotations

import difflib
import itertools
import re
import shutil
import subprocess

import pytest

from winport.examples import cases

GXX = shutil.which("g++")
pytestmark = [pytest.mark.toolchain, pytest.mark.skipif(GXX is None, reason="g++ is not installed")]

TRANSFORM = "cuda/directives-in-macro-args"
_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif)\b(.*)$", re.M)
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\w+|\S')
_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include\b.*$", re.M)


def tokens(text: str, defines: tuple[str, ...], tmp_path) -> list[str]:
    """g++'s preprocessed tokens of ``text`` (its #include lines left out: headers are
    the same on both sides)."""
    unit = tmp_path / "unit.cpp"
    unit.write_text(_INCLUDE.sub("", text))
    out = subprocess.run([GXX, "-E", "-P", "-x", "c++", *(f"-D{d}" for d in defines), str(unit)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return _TOKEN.findall(out.stdout)


def macros_tested(text: str) -> list[str]:
    names = set()
    for cond in _DIRECTIVE.findall(text):
        names |= set(re.findall(r"\b(?!defined\b)[A-Za-z_]\w*", cond))
    return sorted(names)


def assert_same_tokens(before: str, after: str, names: list[str], tmp_path) -> int:
    settings = 0
    for n in range(len(names) + 1):
        for chosen in itertools.combinations(names, n):
            assert tokens(before, chosen, tmp_path) == tokens(after, chosen, tmp_path), chosen
            settings += 1
    return settings


CHANGED = [c for c in cases(TRANSFORM) if not c.unchanged]


@pytest.mark.parametrize("case", CHANGED, ids=[c.name for c in CHANGED])
def test_fixture_compiles_the_same_tokens_in_every_configuration(case, tmp_path):
    before, after = case.files("before"), case.files("after")
    for path, old in before.items():
        if after[path] != old:
            names = macros_tested(old.decode())
            assert names and assert_same_tokens(old.decode(), after[path].decode(), names, tmp_path) >= 2


@pytest.mark.release
def test_real_sites_compile_the_same_tokens_in_every_configuration(ported, tmp_path):
    result = ported.report.by_id(TRANSFORM)
    for path in sorted({f.path for f in result.files if f.sites}):
        old = (ported.pristine / path).read_text()
        new = (ported.root / path).read_text()
        # the macros the moved conditionals test (not those of blocks other transforms added)
        moved = [line for line in difflib.ndiff(old.splitlines(), new.splitlines()) if line[:1] in "+-"]
        names = sorted(set(macros_tested("\n".join(line[2:] for line in moved))) & set(macros_tested(old)))
        assert names, path
        assert assert_same_tokens(old, new, names, tmp_path) >= 2, path
