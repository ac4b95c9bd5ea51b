"""tools/compile_check.py on a real release: which translation units a port touches,
and (where a compile environment is set up, as CI does) that they compile with nvcc
and g++ after the port (and, where one does not, whether it did before).

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
def test_ci_units_compile_after_the_port(ported, tmp_path):
    python = compile_python()
    out = tmp_path / "results.json"
    units = CI_UNITS[ported.version]
    only = [a for u in units for a in ("--only", u)]
    # a unit that compiles after the port is no regression: its pristine compile, the control,
    # runs only where the ported one fails
    done = tool("--pristine", str(ported.pristine), "--ported", str(ported.root), "--python", python,
                "--jobs", str(os.cpu_count() or 2), "--json", str(out), "--pristine-compile", "if-needed", *only)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    results = {u["path"]: u for u in json.loads(out.read_text())["units"]}
    assert set(results) == set(units), last
    assert all(u["status"] == "ok" for u in results.values()), results
    assert f"compiled after {len(units)}, regressions 0, skipped 0, pristine compiles 0" in last


def _fake_tool(monkeypatch, tmp_path, fails: dict[str, set[str]]):
    """tools/compile_check.py's main with the compiles faked: ``fails`` names, per tree
    ("pristine", "ported"), the units that do not compile; returns the compiles made."""
    sys.path.insert(0, str(TOOL.parent))
    import compile_check

    made: list[tuple[str, str]] = []
    units = ["csrc/a.cu", "csrc/b.cu", "csrc/c.cpp"]
    monkeypatch.setattr(compile_check, "toolchain", lambda python, nvcc: {})
    monkeypatch.setattr(compile_check, "touched_units", lambda pristine, ported, cutlass=False: (
        [compile_check.Unit(u, "_C", [u]) for u in units], {}))

    def compile_one(unit, tree, defs, tc, args):
        which = "pristine" if tree.endswith("pristine") else "ported"
        made.append((which, unit.path))
        ok = unit.path not in fails.get(which, set())
        return ok, "" if ok else f"{unit.path}:1: error: expected ';'", 1.0

    monkeypatch.setattr(compile_check, "compile_one", compile_one)
    for tree in ("pristine", "ported"):
        (tmp_path / tree).mkdir()
    return compile_check, made


@pytest.mark.parametrize("mode", ["always", "if-needed"])
def test_pristine_compiles_only_where_needed(monkeypatch, tmp_path, capsys, mode):
    fails = {"ported": {"csrc/b.cu", "csrc/c.cpp"}, "pristine": {"csrc/c.cpp"}}
    compile_check, made = _fake_tool(monkeypatch, tmp_path, fails)
    out = tmp_path / "results.json"
    rc = compile_check.main(["--pristine", str(tmp_path / "pristine"), "--ported", str(tmp_path / "ported"),
                             "--jobs", "2", "--json", str(out), "--pristine-compile", mode])
    assert rc == 1  # b.cu compiled before the port and not after
    results = {u["path"]: u["status"] for u in json.loads(out.read_text())["units"]}
    assert results == {"csrc/a.cu": "ok", "csrc/b.cu": "regression", "csrc/c.cpp": "skipped"}
    pristine = sorted(path for tree, path in made if tree == "pristine")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    if mode == "always":
        assert pristine == ["csrc/a.cu", "csrc/b.cu", "csrc/c.cpp"]
        assert last == "touched 3, compiled before 2, after 1, regressions 1, skipped 1"
    else:  # a.cu compiled after the port: no pristine compile for it
        assert pristine == ["csrc/b.cu", "csrc/c.cpp"]
        assert last == "touched 3, compiled after 1, regressions 1, skipped 1, pristine compiles 2"
