"""K7: the rewritten Marlin kernel generators of real releases, run in a scratch
folder next to the originals. The selector they write has no `else if`, and its
(condition, kernel) pairs are the original's, in the same order, with
mutually exclusive conditions, so flat `if`s pick what the chain picked."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.release

BRANCH = re.compile(r"^(?:else )?if \((.*)\)\n(.*)$", re.M)
ARCHS = "7.5,8.0,8.9,12.0"


def generators(tree):
    return sorted(p.relative_to(tree) for p in tree.glob("csrc/**/generate_kernels.py")
                  if "kernel_selector" in p.read_text())


def run_generator(tree, rel, scratch, env=None):
    folder = scratch / rel.parent
    shutil.copytree(tree / rel.parent, folder)
    out = subprocess.run([sys.executable, "generate_kernels.py", ARCHS], cwd=folder, capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return (folder / "kernel_selector.h").read_text()


def test_ported_generators_need_no_rm_program(ported, tmp_path):
    """P6: with no `rm` on PATH (as on Windows) the ported generators still run; the
    pristine ones stop."""
    bare = tmp_path / "bin"  # a PATH holding python and nothing else
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    env = {"PATH": str(bare), "PYTHONPATH": ":".join(p for p in sys.path if p)}
    for rel in generators(ported.root):
        selector = run_generator(ported.root, rel, tmp_path / "after", env=env)
        assert "if (" in selector
        folder = tmp_path / "before" / rel.parent
        shutil.copytree(ported.pristine / rel.parent, folder)
        out = subprocess.run([sys.executable, "generate_kernels.py", ARCHS], cwd=folder, capture_output=True,
                             text=True, env=env)
        assert out.returncode != 0 and "FileNotFoundError" in out.stderr and "'rm'" in out.stderr
        shutil.rmtree(tmp_path / "after")
        shutil.rmtree(tmp_path / "before")


def conditions(cond: str) -> dict[str, str]:
    return dict(part.split(" == ", 1) for part in cond.split(" && "))


def exclusive(a: dict[str, str], b: dict[str, str]) -> bool:
    return any(k in b and b[k] != v for k, v in a.items())


def test_generated_selectors_are_flat_and_select_the_same(ported, tmp_path):
    rels = generators(ported.root)
    assert rels, "no Marlin generator in the tree"
    for rel in rels:
        before = run_generator(ported.pristine, rel, tmp_path / "before")
        after = run_generator(ported.root, rel, tmp_path / "after")
        assert "else if" in before and "else if" not in after
        pairs_before, pairs_after = BRANCH.findall(before), BRANCH.findall(after)
        assert len(pairs_after) > 100 and pairs_after == pairs_before
        conds = [conditions(c) for c, _ in pairs_after]
        for a, b in itertools.combinations(conds, 2):
            assert exclusive(a, b), (a, b)
