"""`winport doctor`: is this machine ready to build the ported tree on Windows?

Each check says ``ok``, ``warn``, ``fail`` or ``skip`` (off Windows, for what
needs Windows) with the fix in one line. Every question to the machine goes
through :class:`Machine` (environment, ``which``, running a program, the
registry, memory, disk), so tests put a simulated Windows machine in its place.

Figures this module assumes (and why):

- nvcc accepts the MSVC versions its ``crt/host_config.h`` admits: CUDA 13.x
  ``1920 <= _MSC_VER < 1950`` (read from CUDA 13.1's header), CUDA 12.4-12.9
  ``1910 <= _MSC_VER < 1950``, CUDA 12.0-12.3 ``1910 <= _MSC_VER < 1940`` (Visual
  Studio 17.10, ``_MSC_VER`` 1940, needs CUDA 12.4: its STL refuses older nvcc).
  Newer toolkits than this table knows are assumed to accept what 13.x accepts.
- ``MEMORY_PER_JOB`` = 4 GiB of memory per parallel compile job (``MAX_JOBS``):
  nvcc with MSVC on CUTLASS-heavy units (the scaled-mm and MoE kernels) holds
  several GiB each in cicc/ptxas. It is an estimate for planning, not a
  measurement of this machine.
- ``DISK_WARN``/``DISK_FAIL`` = 30/10 GiB free: a CUDA build of vLLM with its
  fetched dependencies and build folder takes tens of GiB.
- The deepest path a build creates is the tree's deepest source path below the
  build folder (``build\\temp.win-amd64-cpython-3XX\\Release\\``, 45 characters),
  or a CUTLASS header below ``.deps\\cutlass-src\\`` (140 characters), whichever
  is longer, against Windows' 260-character ``MAX_PATH``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

GIB = 1 << 30
MEMORY_PER_JOB = 4 * GIB
DISK_WARN, DISK_FAIL = 30 * GIB, 10 * GIB
MAX_PATH = 260
BUILD_PREFIX = 45  # build\temp.win-amd64-cpython-3XX\Release\ below the tree
DEPS_DEEPEST = 140  # .deps\cutlass-src\include\cutlass\... below the tree
LONG_PATHS_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\FileSystem"

# (lowest CUDA major.minor, _MSC_VER range nvcc admits), newest first
NVCC_MSVC = (((13, 0), (1920, 1950)), ((12, 4), (1910, 1950)), ((12, 0), (1910, 1940)), ((11, 0), (1910, 1940)))


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""


class Machine:
    """What doctor may ask of the machine; :class:`LocalMachine` asks the real one."""

    platform: str = sys.platform
    python_version: tuple[int, int, int] = sys.version_info[:3]
    python: str = sys.executable

    def env(self) -> Mapping[str, str]:
        return os.environ

    def which(self, name: str, path: str | None = None) -> str | None:
        return shutil.which(name, path=path)

    def run(self, args: list[str]) -> tuple[int, str] | None:
        """(exit code, stdout + stderr) or None when it cannot be run."""
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.returncode, out.stdout + out.stderr

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def registry(self, key: str, value: str) -> int | str | None:
        return None

    def memory(self) -> int | None:
        return None

    def cpus(self) -> int:
        return os.cpu_count() or 1

    def disk_free(self, path: str) -> int | None:
        try:
            return shutil.disk_usage(path).free
        except OSError:
            return None


class LocalMachine(Machine):
    def registry(self, key: str, value: str) -> int | str | None:
        if self.platform != "win32":
            return None
        import winreg  # type: ignore[import-not-found]

        hive, _, sub = key.partition("\\")
        try:
            with winreg.OpenKey(getattr(winreg, {"HKLM": "HKEY_LOCAL_MACHINE"}.get(hive, hive)), sub) as handle:
                return winreg.QueryValueEx(handle, value)[0]
        except OSError:
            return None

    def memory(self) -> int | None:
        if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in getattr(os, "sysconf_names", {}):
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if self.platform == "win32":
            import ctypes

            class Status(ctypes.Structure):
                _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                            ("total", ctypes.c_ulonglong), ("avail", ctypes.c_ulonglong),
                            ("rest", ctypes.c_ulonglong * 5)]
            status = Status()
            status.length = ctypes.sizeof(Status)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return int(status.total)
        return None


# -- what the checks find out -----------------------------------------------------------
@dataclass
class Toolkit:
    root: str
    source: str  # CUDA_HOME, CUDA_PATH, CUDA_PATH_V12_6, PATH
    version: tuple[int, int] | None = None


@dataclass
class Facts:
    windows: bool
    cuda_home: Toolkit | None = None
    toolkits: list[Toolkit] = field(default_factory=list)
    msc_ver: int | None = None
    ported: bool | None = None


def _exe(machine: Machine, name: str) -> str:
    return name + ".exe" if machine.platform == "win32" else name


def _join(machine: Machine, *parts: str) -> str:
    sep = "\\" if machine.platform == "win32" else "/"
    return sep.join(p.rstrip("\\/") for p in parts)


def nvcc_version(machine: Machine, root: str) -> tuple[int, int] | None:
    nvcc = _join(machine, root, "bin", _exe(machine, "nvcc"))
    if not machine.exists(nvcc):
        return None
    out = machine.run([nvcc, "--version"])
    found = re.search(r"release (\d+)\.(\d+)", out[1]) if out else None
    return (int(found.group(1)), int(found.group(2))) if found else None


def toolkits(machine: Machine) -> tuple[Toolkit | None, list[Toolkit]]:
    """CUDA_HOME's toolkit, and every toolkit visible (CUDA_HOME, CUDA_PATH, CUDA_PATH_V*, PATH)."""
    env = machine.env()
    seen: dict[str, Toolkit] = {}

    def add(root: str, source: str) -> Toolkit:
        key = os.path.normcase(root.rstrip("\\/"))
        if key not in seen:
            seen[key] = Toolkit(root, source, nvcc_version(machine, root))
        return seen[key]

    home = add(env["CUDA_HOME"], "CUDA_HOME") if env.get("CUDA_HOME") else None
    for name in sorted(env):
        if name == "CUDA_PATH" or name.startswith("CUDA_PATH_V"):
            add(env[name], name)
    sep = ";" if machine.platform == "win32" else ":"
    for entry in env.get("PATH", "").split(sep):
        if entry and machine.exists(_join(machine, entry, _exe(machine, "nvcc"))):
            add(re.sub(r"[\\/]bin[\\/]?$", "", entry), "PATH")
    return home, list(seen.values())


def msvc_version(machine: Machine) -> tuple[int | None, str]:
    """(_MSC_VER, where it was found) of the MSVC a build would use."""
    env = machine.env()
    if env.get("VCToolsVersion"):  # a Developer prompt: toolset 14.MM -> _MSC_VER 19MM
        found = re.match(r"14\.(\d+)", env["VCToolsVersion"])
        if found:
            return 1900 + int(found.group(1)), f"VCToolsVersion {env['VCToolsVersion']} (Developer prompt)"
    cl = machine.which("cl.exe" if machine.platform == "win32" else "cl")
    if cl:
        out = machine.run([cl])
        found = re.search(r"Version (\d+)\.(\d+)", out[1]) if out else None
        if found:
            return int(found.group(1)) * 100 + int(found.group(2)), f"{cl} {found.group(1)}.{found.group(2)}"
    vswhere = _join(machine, env.get("ProgramFiles(x86)", r"C:\Program Files (x86)"),
                    "Microsoft Visual Studio", "Installer", "vswhere.exe")
    if machine.exists(vswhere):
        out = machine.run([vswhere, "-latest", "-products", "*", "-requires",
                           "Microsoft.VisualStudio.Component.VC.Tools.x86.x64", "-property", "installationVersion"])
        found = re.match(r"\s*(\d+)\.(\d+)", out[1]) if out and out[0] == 0 else None
        if found:  # Visual Studio 16.x -> 192x, 17.x -> 193x/194x, 18.x -> 195x
            major, minor = int(found.group(1)), int(found.group(2))
            base = {16: 1920, 17: 1930, 18: 1950}.get(major)
            if base:
                return base + minor, f"Visual Studio {major}.{minor} (vswhere)"
    return None, ""


def nvcc_accepts(cuda: tuple[int, int]) -> tuple[int, int]:
    for lowest, window in NVCC_MSVC:
        if cuda >= lowest:
            return window
    return NVCC_MSVC[-1][1]


# -- the checks --------------------------------------------------------------------------
def check_msvc(machine: Machine, facts: Facts) -> Check:
    if not facts.windows:
        return Check("msvc", "skip", "MSVC is looked for on Windows only")
    ver, where = msvc_version(machine)
    facts.msc_ver = ver
    if ver is None:
        return Check("msvc", "fail", "no MSVC found (no Developer prompt, no cl.exe on PATH, no vswhere.exe)",
                     "install Visual Studio 2022 Build Tools with 'Desktop development with C++' and build "
                     "from an 'x64 Native Tools Command Prompt'")
    cuda = facts.cuda_home.version if facts.cuda_home else None
    if cuda is None:
        return Check("msvc", "ok", f"_MSC_VER {ver} from {where}; no nvcc to compare with")
    low, high = nvcc_accepts(cuda)
    if low <= ver < high:
        return Check("msvc", "ok", f"_MSC_VER {ver} from {where}; nvcc {cuda[0]}.{cuda[1]} accepts {low}-{high - 1}")
    return Check("msvc", "fail", f"_MSC_VER {ver} from {where}; nvcc {cuda[0]}.{cuda[1]} accepts only {low}-{high - 1}",
                 "install a CUDA toolkit that supports this Visual Studio, or an MSVC toolset nvcc "
                 f"{cuda[0]}.{cuda[1]} accepts (Visual Studio Installer: individual components)")


def check_cuda(machine: Machine, facts: Facts) -> Check:
    if not facts.windows:
        return Check("cuda", "skip", "the CUDA toolkit is checked on Windows only")
    home, visible = facts.cuda_home, facts.toolkits
    if home is None:
        roots = ", ".join(f"{t.root} ({t.source})" for t in visible) or "none"
        return Check("cuda", "fail", f"CUDA_HOME is not set (toolkits visible: {roots})",
                     r'set CUDA_HOME to the toolkit to build with, e.g. set "CUDA_HOME=C:\Program Files\NVIDIA GPU '
                     r'Computing Toolkit\CUDA\v12.6"')
    if home.version is None:
        return Check("cuda", "fail", f"CUDA_HOME={home.root} has no working bin\\nvcc.exe",
                     "point CUDA_HOME at a CUDA toolkit folder (the one holding bin\\nvcc.exe)")
    others = [t for t in visible if t is not home and t.version and t.version != home.version]
    ver = f"{home.version[0]}.{home.version[1]}"
    if not others:
        return Check("cuda", "ok", f"CUDA_HOME={home.root}: nvcc {ver}; no other toolkit visible")
    listed = ", ".join(f"{t.version[0]}.{t.version[1]} at {t.root} ({t.source})" for t in others)  # type: ignore[index]
    if facts.ported:
        return Check("cuda", "ok", f"CUDA_HOME={home.root}: nvcc {ver}; also visible: {listed}; the ported "
                                   "CMakeLists.txt takes CUDA_HOME's (CUDAToolkit_ROOT)")
    pick = next((t for t in visible if t.source == "PATH"), None) or \
        next((t for t in visible if t.source == "CUDA_PATH"), None)
    picked = f"CMake would find {pick.root} ({pick.source}) first" if pick and pick is not home else \
        "CMake may find another one"
    return Check("cuda", "warn", f"CUDA_HOME={home.root}: nvcc {ver}; also visible: {listed}; {picked}",
                 "run 'winport rewrite DIR' (its CMake takes CUDA_HOME's toolkit), or set CUDA_PATH and PATH "
                 "to the same toolkit as CUDA_HOME")


def check_torch(machine: Machine, facts: Facts) -> Check:
    out = machine.run([machine.python, "-c", "import json, torch; "
                       "print('winport-torch', json.dumps([torch.__version__, torch.version.cuda]))"])
    line = next((ln for ln in (out[1] if out and out[0] == 0 else "").splitlines()
                 if ln.startswith("winport-torch ")), None)
    if line is None:
        return Check("torch", "fail", f"PyTorch does not import in {machine.python}",
                     "install the CUDA build of PyTorch vLLM pins (requirements/cuda.txt) from PyTorch's index")
    version, cuda = json.loads(line.split(" ", 1)[1])
    if not cuda:
        return Check("torch", "fail", f"torch {version} is a CPU build",
                     "install a CUDA build of PyTorch (pip install torch --index-url <PyTorch's cuXXX index>)")
    nvcc = facts.cuda_home.version if facts.cuda_home else None
    if nvcc is None:
        return Check("torch", "ok", f"torch {version} built for CUDA {cuda}")
    major, minor = (int(x) for x in cuda.split(".")[:2])
    if major != nvcc[0]:
        return Check("torch", "fail", f"torch {version} is built for CUDA {cuda}, nvcc is {nvcc[0]}.{nvcc[1]}: "
                                      "extensions for another CUDA major do not load",
                     f"install torch built for CUDA {nvcc[0]}.x, or point CUDA_HOME at a CUDA {major}.x toolkit")
    if minor != nvcc[1]:
        return Check("torch", "warn", f"torch {version} is built for CUDA {cuda}, nvcc is {nvcc[0]}.{nvcc[1]}",
                     f"prefer the torch build for CUDA {nvcc[0]}.{nvcc[1]} or a CUDA {cuda} toolkit")
    return Check("torch", "ok", f"torch {version} built for CUDA {cuda}, as nvcc")


def check_python(machine: Machine, tree: Path | None) -> Check:
    have = ".".join(map(str, machine.python_version))
    spec = _requires_python(tree)
    if spec is None:
        return Check("python", "ok", f"Python {have}")
    from packaging.specifiers import SpecifierSet

    if have in SpecifierSet(spec):
        return Check("python", "ok", f"Python {have}; the tree asks {spec}")
    return Check("python", "fail", f"Python {have}; the tree asks {spec}", f"use a Python that satisfies {spec}")


def _requires_python(tree: Path | None) -> str | None:
    if tree is None or not (tree / "pyproject.toml").exists():
        return None
    found = re.search(r'^requires-python\s*=\s*"([^"]+)"', (tree / "pyproject.toml").read_text(), re.M)
    return found.group(1) if found else None


def check_tree(machine: Machine, tree: Path | None, facts: Facts) -> list[Check]:
    if tree is None:
        return [Check("ported", "skip", "no tree given (winport doctor DIR checks it)")]
    from . import registry
    from .pipeline import Pipeline

    report = Pipeline(registry.select(), jobs=1).run(str(tree), write=False)
    facts.ported = not report.changed
    checks = [Check("ported", "ok", f"{tree}: nothing left to rewrite") if facts.ported else
              Check("ported", "fail", f"{tree}: {len(report.changed)} file(s) not ported yet",
                    f"winport rewrite {tree}")]
    device = machine.env().get("VLLM_TARGET_DEVICE")
    if not facts.windows:
        checks.append(Check("target", "skip", "VLLM_TARGET_DEVICE matters on Windows only"))
    elif device == "cuda":
        checks.append(Check("target", "ok", "VLLM_TARGET_DEVICE=cuda"))
    else:
        checks.append(Check("target", "fail", f"VLLM_TARGET_DEVICE is {device or 'not set'}: setup.py builds "
                                              "nothing but Python off Linux unless it is cuda",
                            "set VLLM_TARGET_DEVICE=cuda"))
    return checks


def check_jobs(machine: Machine) -> Check:
    memory = machine.memory()
    raw = machine.env().get("MAX_JOBS")
    jobs = int(raw) if raw and raw.isdigit() else machine.cpus()
    source = f"MAX_JOBS={jobs}" if raw else f"MAX_JOBS unset: {jobs} jobs (the CPU count)"
    if memory is None:
        return Check("jobs", "skip", f"{source}; physical memory unknown")
    need = jobs * MEMORY_PER_JOB
    fits = max(1, memory // MEMORY_PER_JOB)
    text = f"{source}; {memory / GIB:.0f} GiB of memory, about {MEMORY_PER_JOB // GIB} GiB per job"
    if need <= memory:
        return Check("jobs", "ok", text)
    return Check("jobs", "warn", text + f": {need // GIB} GiB may be needed",
                 f"set MAX_JOBS={fits} (the build may run out of memory)")


def check_long_paths(machine: Machine, tree: Path | None) -> Check:
    if machine.platform != "win32":
        return Check("long-paths", "skip", "the 260-character path limit is Windows'")
    enabled = machine.registry(LONG_PATHS_KEY, "LongPathsEnabled") == 1
    if tree is None:
        deepest = None
    else:
        longest = max((len(str(p.relative_to(tree))) for p in tree.rglob("*")), default=0)
        deepest = len(str(tree.resolve())) + 1 + max(BUILD_PREFIX + longest, DEPS_DEEPEST)
    if enabled:
        return Check("long-paths", "ok", "LongPathsEnabled=1")
    if deepest is None:
        return Check("long-paths", "warn", "LongPathsEnabled is off; no tree given to measure its paths",
                     _LONG_PATHS_FIX)
    if deepest < MAX_PATH:
        return Check("long-paths", "ok", f"LongPathsEnabled is off; the deepest build path is about {deepest} "
                                         f"characters (< {MAX_PATH})")
    return Check("long-paths", "fail", f"LongPathsEnabled is off and the build would make paths of about "
                                       f"{deepest} characters (>= {MAX_PATH})",
                 _LONG_PATHS_FIX + ", or move the tree to a shorter folder (e.g. C:\\src\\vllm)")


_LONG_PATHS_FIX = (r"as administrator: reg add HKLM\SYSTEM\CurrentControlSet\Control\FileSystem "
                   r"/v LongPathsEnabled /t REG_DWORD /d 1 /f")


def check_disk(machine: Machine, tree: Path | None) -> Check:
    free = machine.disk_free(str(tree or "."))
    if free is None:
        return Check("disk", "skip", "free space unknown")
    text = f"{free / GIB:.0f} GiB free"
    if free < DISK_FAIL:
        return Check("disk", "fail", text, f"free at least {DISK_WARN // GIB} GiB for the build")
    if free < DISK_WARN:
        return Check("disk", "warn", text, f"a CUDA build may need {DISK_WARN // GIB} GiB")
    return Check("disk", "ok", text)


def doctor(machine: Machine, tree: Path | None) -> list[Check]:
    facts = Facts(windows=machine.platform == "win32")
    if facts.windows:
        facts.cuda_home, facts.toolkits = toolkits(machine)
    checks = check_tree(machine, tree, facts)  # first: the cuda check reads whether the tree is ported
    return [check_msvc(machine, facts), check_cuda(machine, facts), check_torch(machine, facts),
            check_python(machine, tree), *checks, check_jobs(machine), check_long_paths(machine, tree),
            check_disk(machine, tree)]


def render(checks: list[Check], windows: bool) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.status:<4}  {c.name:<{width}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    fails, warns = (sum(c.status == s for c in checks) for s in ("fail", "warn"))
    summary = f"winport doctor: {fails} fail, {warns} warn"
    if not windows:
        summary += "; this is not Windows: the MSVC, CUDA toolkit, target and path checks need Windows"
    return "\n".join([*lines, summary])


def to_json(checks: list[Check]) -> str:
    return json.dumps({"checks": [asdict(c) for c in checks],
                       "ok": not any(c.status == "fail" for c in checks)}, indent=2)
