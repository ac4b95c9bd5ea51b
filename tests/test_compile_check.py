"""tools/compile_check.py on a real release: which translation units a port touches,
and (where a compile environment is set up, as CI does) that they compile with nvcc
and g++ before and after the port.

WINPORT_COMPILE_PYTHON names a Python whose packages carry PyTorch's CUDA headers
(``tools/compile_env.sh DIR`` makes one); without it the compile test is skipped,
unless WINPORT_REQUIRE_COMPILE=1 (CI) turns that into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "compile_check.py"
# the CI subset: on 0.14.1 the clz header's users that need no CUTLASS, K8/K9's
# merge_attn_states, K3's activation kernels, and a g++-compiled unit; on 0.33.0 the
# activation kernels (C1's nested dispatch, C3's constants) and fs_io.cpp (C4's header)
CI_UNITS = {
    "0.14.1": ("csrc/attention/merge_attn_states.cu", "csrc/quantization/activation_kernels.cu",
               "csrc/moe/moe_align_sum_kernels.cu", "csrc/cumem_allocator.cpp"),
    "0.33.0": ("csrc/activation_kernels.cu", "csrc/fs_io.cpp"),
}


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)


@pytest.mark.release
def test_touched_units_cover_every_changed_build_source(ported, tmp_path):
    out = tmp_path / "units.json"
    done = tool("--pristine", str(ported.pristine), "--ported", str(ported.root), "--list", "--json", str(out))
    assert done.returncode == 0, done.stderr
    plan = json.loads(out.read_text())
    units = {u["path"]: u for u in plan["units"]}
    assert plan["touched"] == len(units) > 0
    # every changed file of csrc/ reaches the list through at least one unit that includes it
    changed = {p for p in ported.report.changed if p.startswith("csrc/") and not p.startswith(("csrc/cpu/",
                                                                                                "csrc/rocm/"))}
    reached = {c for u in units.values() for c in u["changed"]}
    assert reached <= changed
    for path in ("csrc/core/math.hpp", "csrc/attention/merge_attn_states.cu"):
        if path in changed:
            assert path in reached, path
    assert all(u["path"].endswith((".cu", ".cpp", ".cc", ".c")) for u in units.values())
    assert not any(u["path"].startswith(("csrc/cpu/", "csrc/rocm/")) for u in units.values())


def compile_python() -> str:
    python = os.environ.get("WINPORT_COMPILE_PYTHON")
    if python and shutil.which("nvcc"):
        return python
    if os.environ.get("WINPORT_REQUIRE_COMPILE") == "1":
        pytest.fail("WINPORT_REQUIRE_COMPILE=1 but WINPORT_COMPILE_PYTHON is unset or nvcc is missing")
    pytest.skip("set WINPORT_COMPILE_PYTHON (tools/compile_env.sh DIR) to compile with nvcc")


@pytest.mark.release
@pytest.mark.toolchain
@pytest.mark.parametrize("ported", sorted(CI_UNITS), indirect=True)
def test_ci_units_compile_before_and_after(ported, tmp_path):
    python = compile_python()
    out = tmp_path / "results.json"
    units = CI_UNITS[ported.version]
    only = [a for u in units for a in ("--only", u)]
    done = tool("--pristine", str(ported.pristine), "--ported", str(ported.root), "--python", python,
                "--jobs", str(os.cpu_count() or 2), "--json", str(out), *only)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    results = {u["path"]: u for u in json.loads(out.read_text())["units"]}
    assert set(results) == set(units), last
    assert all(u["status"] == "ok" for u in results.values()), results
    assert f"compiled before {len(units)}, after {len(units)}, regressions 0, skipped 0" in last
