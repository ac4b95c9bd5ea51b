"""The port seen through NVIDIA's Windows front end (tools/windows_frontend.py): the
calibration suite, one small unit per class in tests/windows_frontend/, must be rejected
as written and accepted as winport ports it, unless its expect.txt names a blind spot;
and on 0.14.1 a few touched units go from rejected to accepted.

WINPORT_WINDOWS_FRONTEND names what tools/windows_frontend_env.sh set up (default
~/.cache/winport/windows-frontend); without it these tests skip, unless
WINPORT_REQUIRE_WINDOWS_FRONTEND=1 (CI) turns that into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "windows_frontend.py"
CASES = ROOT / "tests" / "windows_frontend"
# the classes of the seed's kernels and of the beyond-seed C++ catalogue (docs/verification.md)
CLASSES = {"K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K10", "C1", "C2", "C3", "C4", "F5"}


def env_dir() -> Path:
    env = Path(os.environ.get("WINPORT_WINDOWS_FRONTEND", Path.home() / ".cache/winport/windows-frontend"))
    if (env / "bin" / "cudafe++.exe").is_file() and shutil.which("nvcc") and shutil.which("clang-cl-19"):
        return env
    if os.environ.get("WINPORT_REQUIRE_WINDOWS_FRONTEND") == "1":
        pytest.fail(f"WINPORT_REQUIRE_WINDOWS_FRONTEND=1 but {env} is not set up (tools/windows_frontend_env.sh)")
    pytest.skip("set up the Windows front end with tools/windows_frontend_env.sh DIR (WINPORT_WINDOWS_FRONTEND=DIR)")


def expectations() -> dict[str, dict[str, str]]:
    out = {}
    for case in sorted(CASES.iterdir()):
        lines = (case / "expect.txt").read_text().splitlines()
        out[case.name] = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}
    return out


def test_every_class_has_a_case_and_blind_spots_give_their_reason():
    """Readable without the toolchain: the suite covers each class, and a class the check
    cannot see says why instead of expecting verdicts."""
    cases = expectations()
    assert {e["class"] for e in cases.values()} == CLASSES
    for name, e in cases.items():
        if "blind" in e:
            assert len(e["blind"]) > 30, name  # a reason, not a flag
        else:
            assert (e.get("pristine"), e.get("ported")) == ("rejected", "accepted"), name
            assert any(p.suffix in (".cu", ".cpp") for p in (CASES / name).iterdir()), name


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    env = env_dir()
    out = tmp_path_factory.mktemp("calibration") / "calibration.json"
    done = subprocess.run([sys.executable, str(TOOL), "--env", str(env), "--calibrate", "--json", str(out)],
                          capture_output=True, text=True, timeout=1800)
    rows = json.loads(out.read_text()) if out.exists() else []
    return done, {r["case"]: r for r in rows}


@pytest.mark.toolchain
def test_each_class_is_rejected_as_written_and_accepted_as_ported(calibration):
    done, rows = calibration
    assert set(rows) == set(expectations()), done.stdout + done.stderr
    for name, e in expectations().items():
        if "blind" in e:
            continue
        row = rows[name]
        assert row["pristine"] == "rejected", f"{name}: the check did not see the class: {row['pristine_error']}"
        assert row["ported"] == "accepted", f"{name}: winport's port is rejected: {row['ported_error']}"
    assert done.returncode == 0, done.stdout


@pytest.mark.toolchain
def test_blind_spots_are_listed_never_counted(calibration):
    done, rows = calibration
    blind = [r for r in rows.values() if r["blind"]]
    assert blind and not any(r["calibrated"] for r in blind)
    last = done.stdout.strip().splitlines()[-1]
    calibrated = sum(r["calibrated"] for r in rows.values())
    assert f"calibrated {calibrated}, blind spots {len(blind)}, not calibrated 0" in last


# on 0.14.1: K10's ssize_t (host C++), K9's uint and K8's std::isinf (merge_attn_states)
CI_UNITS = ("csrc/cumem_allocator.cpp", "csrc/attention/merge_attn_states.cu")


@pytest.mark.release
@pytest.mark.toolchain
@pytest.mark.parametrize("ported", ["0.14.1"], indirect=True)
def test_touched_units_go_from_rejected_to_accepted(ported, tmp_path):
    env = env_dir()
    python = os.environ.get("WINPORT_COMPILE_PYTHON")
    if not python:
        if os.environ.get("WINPORT_REQUIRE_WINDOWS_FRONTEND") == "1":
            pytest.fail("WINPORT_REQUIRE_WINDOWS_FRONTEND=1 but WINPORT_COMPILE_PYTHON (torch's headers) is unset")
        pytest.skip("set WINPORT_COMPILE_PYTHON (tools/compile_env.sh DIR) for PyTorch's headers")
    out = tmp_path / "verdicts.json"
    only = [a for u in CI_UNITS for a in ("--only", u)]
    done = subprocess.run([sys.executable, str(TOOL), "--env", str(env), "--pristine", str(ported.pristine),
                           "--ported", str(ported.root), "--python", python, "--jobs", str(os.cpu_count() or 2),
                           "--json", str(out), *only], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    units = {u["path"]: u for u in json.loads(out.read_text())["units"]}
    assert set(units) == set(CI_UNITS)
    for path, u in units.items():
        assert u["before"]["status"] == "rejected", (path, u["before"])
        assert u["after"]["status"] == "accepted", (path, u["after"])
    assert units["csrc/cumem_allocator.cpp"]["before"]["errors"][0]["message"] == 'identifier "ssize_t" is undefined'
    assert "uint" in units["csrc/attention/merge_attn_states.cu"]["before"]["errors"][0]["message"]
    assert f"accepted before 0, after {len(CI_UNITS)}, rejected after 0, harness gaps 0" in done.stdout
