"""winport on the real sources a vLLM build fetches, from PyPI: CUTLASS 4.2.0's headers
(the nvidia-cutlass wheel) and flash-attention 2.8.3 (the flash-attn sdist). Each is
ported with no failure or drift, vLLM's own transforms are not applicable, no changed
file re-parses worse, a second run changes nothing, and (with a compile environment,
as in CI) a vLLM unit that includes touched CUTLASS headers compiles with nvcc
against the pristine and the ported CUTLASS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import parse_problems, read_tree
from winport import Outcome, Pipeline, registry
from winport.fetch import fetch_dependency

pytestmark = pytest.mark.release

DEPENDENCIES = {"cutlass": "4.2.0.0", "flash-attn": "2.8.3"}
TOOL = Path(__file__).resolve().parents[1] / "tools" / "compile_check.py"


class PortedDependency:
    def __init__(self, name: str, version: str, tmp: Path):
        self.pristine = fetch_dependency(name, version, tmp / f"{name}-pristine")
        self.root = tmp / name
        shutil.copytree(self.pristine, self.root, symlinks=True)
        self.report = Pipeline(registry.select(), dependency=True).run(str(self.root))
        self.second = Pipeline(registry.select(), dependency=True).run(str(self.root))


@pytest.fixture(scope="module")
def ported_dependencies(tmp_path_factory):
    """Each dependency ported once for the module, when a test first asks for it."""
    made: dict[str, PortedDependency] = {}

    def get(name: str) -> PortedDependency:
        if name not in made:
            made[name] = PortedDependency(name, DEPENDENCIES[name], tmp_path_factory.mktemp(name))
        return made[name]

    yield get
    for d in made.values():
        shutil.rmtree(d.root.parent, ignore_errors=True)


@pytest.fixture(params=sorted(DEPENDENCIES))
def dependency(request, ported_dependencies):
    return request.param, ported_dependencies(request.param)


def test_ported_without_failure_or_drift(dependency):
    name, d = dependency
    assert d.report.tree == name
    assert not d.report.has_problems, [(t.id, t.drift, [f.reason for f in t.files if f.reason])
                                       for t in d.report.transforms if t.outcome in (Outcome.FAILED, Outcome.DRIFTED)]
    by_id = {t.id: t for t in d.report.transforms}
    for t in registry.all_transforms():
        assert (by_id[t.id].outcome is Outcome.NOT_APPLICABLE) == (not t.portable), t.id
    # both vendor CuTe/CUTLASS code written with `not`/`and`/`or`
    assert len(by_id["cuda/alt-tokens"].sites) > 300
    assert d.report.changed


def test_changed_files_reparse_and_second_run_does_nothing(dependency):
    name, d = dependency
    before, after = read_tree(d.pristine), read_tree(d.root)
    repeated = {f.path: f.repeated_errors for t in d.report.transforms for f in t.files}
    for path in d.report.changed:
        assert parse_problems(path, before[path], after[path], repeated.get(path, 0)) is None, path
    assert d.second.changed == {}
    assert all(t.outcome in (Outcome.ALREADY, Outcome.NOT_NEEDED, Outcome.REPORTED, Outcome.NOT_APPLICABLE)
               for t in d.second.transforms)


def test_device_infinity_is_redefined_in_flash_attention_headers(ported_dependencies):
    # softmax.h starts its row maxima at -INFINITY in __device__ functions of a .h file
    d = ported_dependencies("flash-attn")
    result = next(t for t in d.report.transforms if t.id == "cuda/sdk-float-macros")
    applied = {f.path for f in result.files if f.outcome is Outcome.APPLIED}
    assert {"csrc/flash_attn/src/softmax.h", "csrc/flash_attn/src/mask.h"} <= applied, applied
    assert b"#define INFINITY (::cuda::std::numeric_limits<float>::infinity())" in \
        (d.root / "csrc/flash_attn/src/softmax.h").read_bytes()


def test_only_the_cuda_build_is_ported(dependency):
    name, d = dependency
    changed = d.report.changed_paths
    assert not any("/examples/" in p or p.startswith(("examples/", "test/")) for p in changed)
    if name == "flash-attn":  # the ROCm backends are not compiled by a CUDA build
        assert not any(p.startswith(("csrc/composable_kernel/", "csrc/flash_attn_ck/")) for p in changed)
        assert any(p.startswith("csrc/cutlass/include/") for p in changed)  # its vendored CUTLASS


@pytest.mark.parametrize("ported", ["0.14.1"], indirect=True)
@pytest.mark.toolchain
def test_vllm_unit_compiles_against_ported_cutlass(ported_dependencies, ported, tmp_path):
    """A unit of vLLM 0.14.1 that reaches CUTLASS's `isfinite` (tfloat32.h) and alternative
    tokens through CUTLASS headers compiles against the pristine and the ported CUTLASS
    (one in CI; all of them with tools/compile_check.py --cutlass-ported)."""
    from test_compile_check import compile_python

    d = ported_dependencies("cutlass")
    python = compile_python()
    out = tmp_path / "results.json"
    units = ("csrc/quantization/cutlass_w4a8/w4a8_utils.cu", "csrc/cutlass_extensions/common.cpp")
    only = [a for u in units for a in ("--only", u)]
    done = subprocess.run([sys.executable, str(TOOL), "--pristine", str(ported.pristine), "--ported",
                           str(ported.root), "--cutlass-ported", str(d.root), "--python", python,
                           "--jobs", str(os.cpu_count() or 2), "--json", str(out), *only],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    results = {u["path"]: u for u in json.loads(out.read_text())["units"]}
    assert set(results) == set(units)
    assert all(u["status"] == "ok" for u in results.values()), results
    assert any("CUTLASS headers" in c for u in results.values() for c in u["changed"])
