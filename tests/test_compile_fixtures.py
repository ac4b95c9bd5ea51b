"""Fixture cases that name compilers in ``compile.txt`` compile, before and after
their transform, with those compilers on this machine (Linux): what a transform
writes must leave the Linux build as it was. Warnings may not grow either."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from winport.examples import root

CASES = sorted(p.parent for p in root().glob("*/*/*/compile.txt"))
COMMANDS = {
    "g++": lambda src, out: ["g++", "-std=c++17", "-Wall", "-c", str(src), "-o", str(out)],
    "nvcc": lambda src, out: ["nvcc", "-std=c++17", "-c", str(src), "-o", str(out)],
}
SUFFIXES = {"g++": (".cpp", ".cc", ".h", ".hpp"), "nvcc": (".cu",)}


def _compile(compiler: str, src: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(COMMANDS[compiler](src, tmp / "unit.o"), capture_output=True, text=True, cwd=src.parent)


@pytest.mark.toolchain
@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.parent.name}/{c.parent.name}/{c.name}" for c in CASES])
def test_fixture_compiles_before_and_after(case: Path, tmp_path: Path):
    compilers = (case / "compile.txt").read_text().split()
    missing = [c for c in compilers if shutil.which(c) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    after = case / "after" if (case / "after").is_dir() else case / "before"
    checked = 0
    for compiler in compilers:
        for src in sorted((case / "before").rglob("*")):
            if src.suffix not in SUFFIXES[compiler]:
                continue
            rel = src.relative_to(case / "before")
            old, new = _compile(compiler, src, tmp_path), _compile(compiler, after / rel, tmp_path)
            assert old.returncode == 0, (str(rel), compiler, old.stderr[-2000:])
            assert new.returncode == 0, (str(rel), compiler, new.stderr[-2000:])
            assert new.stderr.count("warning") <= old.stderr.count("warning"), (str(rel), new.stderr[-2000:])
            checked += 1
    assert checked, f"{case}: compile.txt names no compiler for its files"
