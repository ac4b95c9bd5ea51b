"""`winport doctor` on simulated Windows machines (and a partial run on this one)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from winport import doctor as D
from winport.cli import main

GIB = 1 << 30
CUDA = r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA"


class FakeWindows(D.Machine):
    """A Windows machine made of dictionaries: files that exist, programs and what
    they print, environment, registry, memory, CPUs, free disk."""

    platform = "win32"
    python = r"C:\Python312\python.exe"

    def __init__(self, env=None, files=(), programs=None, registry=None, memory=64 * GIB, cpus=16,
                 disk=200 * GIB, python_version=(3, 12, 8)):
        self._env = {"PATH": r"C:\Windows\system32", **(env or {})}
        self.files = set(files)
        self.programs = dict(programs or {})
        self._registry = dict(registry or {})
        self._memory, self._cpus, self._disk = memory, cpus, disk
        self.python_version = python_version

    def env(self):
        return self._env

    def which(self, name, path=None):
        for entry in self._env.get("PATH", "").split(";"):
            if f"{entry}\\{name}" in self.files:
                return f"{entry}\\{name}"
        return None

    def run(self, args):
        key = args[0] if args[0] in self.programs else " ".join(args[:2])
        return self.programs.get(key)

    def exists(self, path):
        return path in self.files

    def registry(self, key, value):
        return self._registry.get(f"{key}\\{value}")

    def memory(self):
        return self._memory

    def cpus(self):
        return self._cpus

    def disk_free(self, path):
        return self._disk

    # -- building blocks --------------------------------------------------------------
    def toolkit(self, version: str) -> str:
        root = f"{CUDA}\\v{version}"
        nvcc = f"{root}\\bin\\nvcc.exe"
        self.files.add(nvcc)
        self.programs[nvcc] = (0, f"nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release {version},"
                                  f" V{version}.85\n")
        return root

    def torch(self, version: str, cuda: str | None) -> None:
        self.programs[f"{self.python} -c"] = (0, "some warning\nwinport-torch " + json.dumps([version, cuda]) + "\n")


def ready(**overrides) -> FakeWindows:
    """A machine where everything is in order: VS 2022 17.10 prompt, CUDA 12.6, torch cu126."""
    m = FakeWindows(env={"VCToolsVersion": "14.40.33807", "VLLM_TARGET_DEVICE": "cuda", "MAX_JOBS": "8"},
                    registry={f"{D.LONG_PATHS_KEY}\\LongPathsEnabled": 1}, **overrides)
    m._env["CUDA_HOME"] = m.toolkit("12.6")
    m.torch("2.9.1+cu126", "12.6")
    return m


def by_name(machine, tree=None) -> dict[str, D.Check]:
    return {c.name: c for c in D.doctor(machine, tree)}


@pytest.fixture
def vllm_tree(tmp_path):
    (tmp_path / "vllm").mkdir()
    (tmp_path / "csrc").mkdir()
    (tmp_path / "setup.py").write_text("import os\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.10,<3.14"\n')
    return tmp_path


def test_a_ready_machine_passes_every_check(vllm_tree):
    checks = by_name(ready(), vllm_tree)
    assert {n: c.status for n, c in checks.items()} == {
        "msvc": "ok", "cuda": "ok", "torch": "ok", "python": "ok", "ported": "ok", "target": "ok", "jobs": "ok",
        "long-paths": "ok", "disk": "ok"}
    assert "1940" in checks["msvc"].detail and "12.6" in checks["cuda"].detail


# -- MSVC ------------------------------------------------------------------------------
def test_missing_msvc_fails_with_the_install_step():
    m = ready()
    del m._env["VCToolsVersion"]
    check = by_name(m)["msvc"]
    assert check.status == "fail" and "Build Tools" in check.fix


def test_msvc_newer_than_nvcc_accepts_fails():
    m = ready()
    m._env["VCToolsVersion"] = "14.50.35717"  # Visual Studio 2026: _MSC_VER 1950
    check = by_name(m)["msvc"]
    assert check.status == "fail" and "1950" in check.detail and "12.6" in check.detail


def test_msvc_found_by_vswhere_and_by_cl():
    m = ready()
    del m._env["VCToolsVersion"]
    vswhere = r"C:\Program Files (x86)\Microsoft Visual Studio\Installer\vswhere.exe"
    m.files.add(vswhere)
    m.programs[vswhere] = (0, "17.10.35013.160\n")
    assert by_name(m)["msvc"].status == "ok" and "vswhere" in by_name(m)["msvc"].detail
    m.files.discard(vswhere)
    m.files.add(r"C:\VS\bin\cl.exe")
    m._env["PATH"] += r";C:\VS\bin"
    m.programs[r"C:\VS\bin\cl.exe"] = (0, "Microsoft (R) C/C++ Optimizing Compiler Version 19.38.33130 for x64\n")
    check = by_name(m)["msvc"]
    assert check.status == "ok" and "1938" in check.detail


def test_old_cuda_rejects_visual_studio_17_10():
    m = ready()
    m._env["CUDA_HOME"] = m.toolkit("12.1")
    m.torch("2.1.0+cu121", "12.1")
    assert by_name(m)["msvc"].status == "fail"


# -- CUDA toolkits -----------------------------------------------------------------------
def test_the_seeds_two_toolkits_warn_until_the_tree_is_ported(vllm_tree):
    m = ready()
    newer = m.toolkit("13.1")
    m._env.update({"CUDA_PATH": newer, "CUDA_PATH_V13_1": newer, "CUDA_PATH_V12_6": m._env["CUDA_HOME"]})
    m._env["PATH"] = f"{newer}\\bin;" + m._env["PATH"]
    check = by_name(m)["cuda"]
    assert check.status == "warn" and "13.1" in check.detail and "CMake would find" in check.detail
    assert "winport rewrite" in check.fix
    ported = by_name(m, vllm_tree)["cuda"]  # the tree needs nothing: as a ported tree, it pins CUDA_HOME
    assert ported.status == "ok" and "CUDAToolkit_ROOT" in ported.detail


def test_cuda_home_unset_or_empty_fails():
    m = ready()
    m._env["CUDA_PATH"] = m._env.pop("CUDA_HOME")
    check = by_name(m)["cuda"]
    assert check.status == "fail" and "CUDA_PATH" in check.detail and "CUDA_HOME" in check.fix
    m._env["CUDA_HOME"] = r"C:\nowhere"
    assert by_name(m)["cuda"].status == "fail"


# -- PyTorch -----------------------------------------------------------------------------
@pytest.mark.parametrize("torch, cuda, nvcc, status", [
    ("2.9.1+cu126", "12.6", "13.0", "fail"),  # another CUDA major: extensions do not load
    ("2.9.1+cu126", "12.6", "12.8", "warn"),
    ("2.9.1+cpu", None, "12.6", "fail"),
    ("2.9.1+cu128", "12.8", "12.8", "ok"),
])
def test_torch_against_nvcc(torch, cuda, nvcc, status):
    m = ready()
    m._env["CUDA_HOME"] = m.toolkit(nvcc)
    m.torch(torch, cuda)
    assert by_name(m)["torch"].status == status


def test_torch_missing_fails():
    m = ready()
    m.programs.pop(f"{m.python} -c")
    assert by_name(m)["torch"].status == "fail"


# -- Python, tree, target ------------------------------------------------------------------
def test_python_outside_the_trees_range_fails(vllm_tree):
    check = by_name(ready(python_version=(3, 14, 0)), vllm_tree)["python"]
    assert check.status == "fail" and ">=3.10,<3.14" in check.detail


def test_unported_tree_and_target_device(vllm_tree):
    (vllm_tree / "vllm" / "locks.py").write_text("import fcntl\n")
    m = ready()
    del m._env["VLLM_TARGET_DEVICE"]
    checks = by_name(m, vllm_tree)
    assert checks["ported"].status == "fail" and checks["ported"].fix == f"winport rewrite {vllm_tree}"
    assert checks["target"].status == "fail" and checks["target"].fix == "set VLLM_TARGET_DEVICE=cuda"


# -- jobs, paths, disk ---------------------------------------------------------------------
def test_max_jobs_against_memory():
    m = ready(memory=32 * GIB, cpus=16)
    del m._env["MAX_JOBS"]
    check = by_name(m)["jobs"]
    assert check.status == "warn" and check.fix.startswith("set MAX_JOBS=8")
    m._env["MAX_JOBS"] = "6"
    assert by_name(m)["jobs"].status == "ok"


def test_long_paths(vllm_tree):
    m = ready()
    m._registry.clear()
    assert by_name(m, vllm_tree)["long-paths"].status == "ok"  # a short tree fits in 260
    deep = vllm_tree / "csrc" / ("d" * 80) / ("e" * 80)
    deep.mkdir(parents=True)
    (deep / "kernel_with_a_long_name.cu").write_text("")
    check = by_name(m, vllm_tree)["long-paths"]
    assert check.status == "fail" and "LongPathsEnabled" in check.fix
    m._registry[f"{D.LONG_PATHS_KEY}\\LongPathsEnabled"] = 1
    assert by_name(m, vllm_tree)["long-paths"].status == "ok"


@pytest.mark.parametrize("free, status", [(5 * GIB, "fail"), (20 * GIB, "warn"), (100 * GIB, "ok")])
def test_disk(free, status):
    assert by_name(ready(disk=free))["disk"].status == status


# -- on this machine -----------------------------------------------------------------------
def test_doctor_on_linux_runs_what_applies(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["msvc"]["status"] == checks["cuda"]["status"] == checks["long-paths"]["status"] == "skip"
    assert checks["python"]["status"] == "ok" and checks["disk"]["status"] in ("ok", "warn", "fail")
    assert result.exit_code == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)
    text = CliRunner().invoke(main, ["doctor"]).stdout
    assert "this is not Windows" in text and "skip  msvc" in text


def test_doctor_refuses_a_folder_that_is_not_a_vllm_tree(tmp_path):
    result = CliRunner().invoke(main, ["doctor", str(tmp_path)])
    assert result.exit_code == 2 and "not a vLLM source tree" in result.output


def test_long_paths_off_without_a_tree_warns():
    m = ready()
    m._registry.clear()
    check = by_name(m)["long-paths"]
    assert check.status == "warn" and "LongPathsEnabled" in check.fix
