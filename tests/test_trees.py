"""winport on a dependency's tree (CUTLASS, flash-attention, ...): which kind a tree is,
what runs there, what is not applicable, and the command line around it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import run
from winport import Outcome, registry, trees
from winport.cache import _dump, _load
from winport.cli import main

ALT = b"#pragma once\ninline bool f(bool a, bool b) { return a and not b; }\n"


def make(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


@pytest.mark.parametrize("files, kind", [
    ({"setup.py": b"", "vllm/__init__.py": b"", "csrc/a.cu": b""}, "vllm"),
    ({"include/cutlass/cutlass.h": b""}, "cutlass"),
    ({"setup.py": b"", "csrc/flash_attn/src/a.h": b"", "csrc/cutlass/include/cutlass/cutlass.h": b""}, "flash-attn"),
    ({"flash_mla/__init__.py": b"", "csrc/a.cu": b""}, "flashmla"),
    ({"qutlass/__init__.py": b"", "csrc/a.cu": b""}, "qutlass"),
    ({"deep_gemm/__init__.py": b""}, "deepgemm"),
    ({"csrc/a.cu": b""}, "vllm"),  # part of a vLLM tree is ported as vLLM
])
def test_identify(tmp_path, files, kind):
    assert trees.identify(str(make(tmp_path, files))).name == kind


def test_identify_other_dependency_only_when_told(tmp_path):
    make(tmp_path, {"src/a.cu": b""})
    assert trees.identify(str(tmp_path)) is trees.VLLM
    assert trees.identify(str(tmp_path), dependency=True) is trees.OTHER


def test_dependency_runs_portable_transforms_on_every_cpp_file(tmp_path):
    root = make(tmp_path, {"include/cutlass/cutlass.h": b"#pragma once\n", "include/cute/algo.hpp": ALT,
                           "tools/util/include/cutlass/util/x.h": ALT,
                           "examples/00_basic/a.cu": ALT, "test/unit/b.cu": ALT})
    report = run(root)
    assert report.tree == "cutlass"
    alt = report.by_id("cuda/alt-tokens")
    assert alt.outcome is Outcome.APPLIED
    # every header the build includes; no example or test (not compiled by vLLM's build)
    assert sorted(f.path for f in alt.files if f.outcome is Outcome.APPLIED) == [
        "include/cute/algo.hpp", "tools/util/include/cutlass/util/x.h"]
    assert b"return a && ! b;" in (root / "include/cute/algo.hpp").read_bytes()
    assert (root / "examples/00_basic/a.cu").read_bytes() == ALT
    for t in registry.all_transforms():
        result = report.by_id(t.id)
        if not t.portable:
            assert result.outcome is Outcome.NOT_APPLICABLE and "CUTLASS, not vLLM" in result.not_applicable
            assert not result.files
        else:
            assert result.outcome is not Outcome.NOT_APPLICABLE
    assert not report.has_problems and not report.limits
    assert run(root).changed == {}  # a second run does nothing


def test_portable_transforms_are_cpp_only():
    for t in registry.all_transforms():
        if t.portable:
            assert t.language == "cpp", t.id
            assert t.on_tree(trees.VLLM) is t
            adapted = t.on_tree(trees.OTHER)
            assert adapted.matcher()("src/kernels/x.cuh") and not adapted.matcher()("tests/x.cu")


def test_flash_attn_rocm_backends_are_left_out(tmp_path):
    root = make(tmp_path, {"setup.py": b"", "csrc/flash_attn/src/a.h": ALT,
                           "csrc/composable_kernel/include/ck.hpp": ALT, "csrc/flash_attn_ck/b.cu": ALT})
    run(root, "cuda/alt-tokens")
    assert (root / "csrc/flash_attn/src/a.h").read_bytes() != ALT
    assert (root / "csrc/composable_kernel/include/ck.hpp").read_bytes() == ALT
    assert (root / "csrc/flash_attn_ck/b.cu").read_bytes() == ALT


def test_not_applicable_survives_the_cache(tmp_path):
    root = make(tmp_path, {"include/cutlass/cutlass.h": ALT})
    report = run(root, write=False)
    again = _load(_dump(report), str(root), False)
    assert again.tree == "cutlass"
    assert [t.not_applicable for t in again.transforms] == [t.not_applicable for t in report.transforms]
    assert again.by_id("build/msvc-flags").outcome is Outcome.NOT_APPLICABLE


def test_cli_on_dependencies(tmp_path):
    cutlass = make(tmp_path / "cutlass", {"include/cutlass/cutlass.h": ALT})
    res = CliRunner().invoke(main, ["rewrite", "--no-cache", str(cutlass)])
    assert res.exit_code == 0, res.output
    assert "on a cutlass tree" in res.output and "build/msvc-flags" in res.output
    assert "not-applicable" in res.output
    assert "Known limits" not in res.output and "pip install -e ." not in res.output  # vLLM's build steps

    other = make(tmp_path / "other", {"src/kernel.cu": ALT})
    res = CliRunner().invoke(main, ["rewrite", "--no-cache", str(other)])
    assert res.exit_code == 2
    assert "not a vLLM source tree (missing setup.py, vllm, csrc) nor a known dependency" in res.output
    assert "--dependency" in res.output
    res = CliRunner().invoke(main, ["rewrite", "--no-cache", "--strict", "--dependency", str(other)])
    assert res.exit_code == 0, res.output
    assert "on a c++ tree" in res.output
    assert b"&&" in (other / "src/kernel.cu").read_bytes()
