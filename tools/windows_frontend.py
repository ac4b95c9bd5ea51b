"""Judge every translation unit a port touched with NVIDIA's Windows CUDA front end.

    python tools/windows_frontend.py --env DIR --pristine DIR --ported DIR [--only GLOB ...]
        [--jobs N] [--json FILE] [--keep DIR] [--device-pass]
    python tools/windows_frontend.py --env DIR --calibrate [CASES] [--json FILE]

DIR of --env is what tools/windows_frontend_env.sh set up. The touched units are the ones
tools/compile_check.py compiles (same selection). Each is preprocessed as MSVC would
(clang-cl /P with the predefined macros of MSVC 19.44 on x64 and none of clang's, the
Microsoft STL, the UCRT stand-in, the target's definitions, `/std` of --std, PyTorch's,
CUTLASS's and CUDA's headers; for a `.cu` file the host pass nvcc on Windows makes, with
`__CUDACC__`, the CUDA version macros and `cuda_runtime.h` first, and with --device-pass
its `__CUDA_ARCH__` pass too), then parsed by `cudafe++.exe --microsoft` (the device pass by
`cicc.exe`) under wine. A unit is *accepted* when every pass parses, *rejected* with its
first errors when one fails in a file of the tree (file:line and the source line), and a
*harness gap* when the errors are only in headers outside the tree (the stand-ins,
PyTorch's or CUDA's headers seen through them) or a header the build fetches is missing.
The last line reads ``touched N, accepted before B, after A, rejected after R, harness
gaps G``; the exit status is 1 when a unit accepted before is rejected after, 2 on bad
input. --calibrate judges the calibration cases (tests/windows_frontend) as written and as
winport ports them.

Verification only: winport itself never runs Wine or these headers.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compile_check import cuda_includes, touched_units, toolchain  # noqa: E402

MSVC_VERSION = 1944
# what clang-cl defines that MSVC does not: headers would take clang's or GCC's branches
CLANG_ONLY = ("__clang__", "__clang_major__", "__clang_minor__", "__clang_patchlevel__", "__clang_version__",
              "__clang_literal_encoding__", "__clang_wide_literal_encoding__", "__x86_64__", "__x86_64",
              "__amd64__", "__amd64", "__llvm__", "__SSE__", "__SSE2__", "__MMX__")
# clang diagnostics: path(line,col): fatal error: ...; the front end's: path(line): error: ...
_CLANG = re.compile(r"^(?P<file>.+?)\((?P<line>\d+),\d+\): (?:fatal )?error: (?P<msg>.*)$", re.M)
_EDG = re.compile(r"^(?P<file>.+?)\((?P<line>\d+)\): (?:catastrophic )?error(?: #[\w-]+)?: (?P<msg>.*)$", re.M)


@dataclass
class Error:
    file: str  # tree-relative for the tree's files, else the header's path
    line: int
    message: str
    source: str = ""  # the line of the tree's file
    in_tree: bool = True


@dataclass
class Verdict:
    status: str  # accepted | rejected | gap
    passes: list[str] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Unit:
    path: str
    target: str
    changed: list[str]
    before: Verdict | None = None
    after: Verdict | None = None


class Env:
    """The set-up of tools/windows_frontend_env.sh."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.cudafe = os.path.join(self.root, "bin", "cudafe++.exe")
        self.cicc = os.path.join(self.root, "bin", "cicc.exe")
        for exe in (self.cudafe, self.cicc):
            if not os.path.isfile(exe):
                raise SystemExit(f"error: {root}: no {os.path.relpath(exe, root)} "
                                 f"(run tools/windows_frontend_env.sh {root})")
        inc = os.path.join(self.root, "include")
        self.includes = [os.path.join(inc, d) for d in ("stubs", "stl", "crt", "sdk", "windows")]
        self.stubs = os.path.join(inc, "stubs")
        self.vfs = os.path.join(inc, "vfs.yaml")
        self.python = os.path.join(inc, "python")
        self.wine = os.environ.get("WINE", "/usr/lib/wine/wine64")
        self.clang = os.environ.get("CLANG_CL", "clang-cl-19")
        self.environ = dict(os.environ, WINEPREFIX=os.path.join(self.root, "prefix"), WINEDEBUG="-all")


def windows_python(env: Env, include: str) -> str:
    """A copy of a Python include folder with the Windows pyconfig.h stand-in in place of
    the Linux one (Python.h finds pyconfig.h beside itself first), made once in the env."""
    if not os.path.isfile(os.path.join(include, "Python.h")):
        return include
    out = os.path.join(env.root, "python-include", os.path.basename(os.path.normpath(include)))
    if not os.path.isfile(os.path.join(out, "pyconfig.h.winport")):
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(include, out)
        shutil.copyfile(os.path.join(env.python, "pyconfig.h"), os.path.join(out, "pyconfig.h"))
        open(os.path.join(out, "pyconfig.h.winport"), "w").close()
    return out


def cuda_version(nvcc: str) -> tuple[int, int, int]:
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"V(\d+)\.(\d+)\.(\d+)", out)
    if not m:
        raise SystemExit(f"error: {nvcc} --version names no version")
    major, minor, build = (int(x) for x in m.groups())
    return major, minor, build


def preprocess_args(env: Env, std: str, cuda: tuple[int, int, int] | None, device: bool) -> list[str]:
    """clang-cl's options for one pass: MSVC's macros, its headers, no clang of its own."""
    args = ["/nologo", "/TP", f"/std:{std}", "/EHsc", "/Zc:__cplusplus", "/permissive-",
            f"-fms-compatibility-version={MSVC_VERSION // 100}.{MSVC_VERSION % 100}", "/X",
            "/clang:-nobuiltininc", "-Wno-everything", *[f"-U{m}" for m in CLANG_ONLY]]
    args += [x for d in env.includes for x in ("-imsvc", d)] + ["/FIwinport_msvc.h"]
    if os.path.isfile(env.vfs):
        args += ["-Xclang", "-ivfsoverlay", "-Xclang", env.vfs]
    if cuda is not None:
        major, minor, build = cuda
        args += ["-D__CUDACC__", "-D__NVCC__", f"-D__CUDACC_VER_MAJOR__={major}", f"-D__CUDACC_VER_MINOR__={minor}",
                 f"-D__CUDACC_VER_BUILD__={build}", f"-D__CUDA_API_VER_MAJOR__={major}",
                 f"-D__CUDA_API_VER_MINOR__={minor}", "-D__NVCC_DIAG_PRAGMA_SUPPORT__=1",
                 "-D__CUDACC_DEVICE_ATOMIC_BUILTINS__=1", "-D__CUDA_ARCH_LIST__=900", "/FIcuda_runtime.h"]
        if device:
            args += ["-D__CUDA_ARCH__=900", "-DCUDA_DOUBLE_MATH_FUNCTIONS"]
    return args


def frontend_args(env: Env, std: str, cuda: bool, device: bool, ii: str) -> list[str]:
    """The host pass through cudafe++ (parse only), the device pass through cicc (to PTX,
    which is thrown away), both in Microsoft mode as nvcc on Windows runs them."""
    common = [f"--microsoft_version={MSVC_VERSION}", f"--{std}", "--m64", "--display_error_number"]
    if cuda:
        common += ["--allow_managed", "--extended-lambda", "--relaxed_constexpr"]
    if device:
        return [env.wine, env.cicc, *common, "-arch", "compute_90", "--orig_src_file_name", "unit.cu", ii,
                "-o", ii + ".ptx"]
    return [env.wine, env.cudafe, "--microsoft", *common, "--no_code_gen", "--parse_templates", ii]


_MARKER_FLAGS = re.compile(rb'^(# \d+ "[^"\n]*")(?: \d)+$', re.M)


def unmark(path: str) -> None:
    """Drop the flags of the preprocessor's line markers (`# 12 "file" 1 3`): the front end
    keeps quiet about errors in what they mark as system headers, and the check must
    see every error."""
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(_MARKER_FLAGS.sub(rb"\1", data))


_NOT_FOUND = re.compile(r"'([^']+)' file not found")


def posix_header(name: str) -> bool:
    """Whether a header a unit asks for and Windows lacks is one of the POSIX system's (a
    real rejection: <unistd.h>) rather than one the build fetches or generates (CUTLASS)."""
    return any(os.path.isfile(os.path.join(d, name)) for d in ("/usr/include", "/usr/include/x86_64-linux-gnu"))


def classify(log: str, tree: str, pattern: re.Pattern) -> list[Error]:
    errors = []
    for m in pattern.finditer(log):
        path = os.path.normpath(m.group("file").strip().strip('"'))
        line = int(m.group("line"))
        missing = _NOT_FOUND.search(m.group("msg"))
        if missing and not posix_header(missing.group(1)):  # fetched or generated by the build: no verdict
            errors.append(Error(missing.group(1), 0, "not in the tree: the build fetches or generates it",
                                in_tree=False))
            continue
        inside = path.startswith(tree + os.sep)
        rel = os.path.relpath(path, tree).replace(os.sep, "/") if inside else path
        source = ""
        if inside:
            try:
                with open(path, errors="replace") as fh:
                    source = next((t.strip() for i, t in enumerate(fh, 1) if i == line), "")
            except OSError:
                pass
        errors.append(Error(rel, line, m.group("msg").strip(), source, inside))
    return errors


def judge(env: Env, unit: Unit, tree: str, defs: list[str], includes: list[str], std: str,
          cuda: tuple[int, int, int], timeout: int, keep: str | None = None, device_pass: bool = False) -> Verdict:
    """Preprocess and parse ``unit`` of ``tree`` in the host pass nvcc on Windows makes (and,
    with ``device_pass``, the ``__CUDA_ARCH__`` pass through cicc)."""
    src = os.path.join(tree, unit.path)
    is_cu = unit.path.endswith(".cu")
    passes = [("host", False), ("device", True)] if is_cu and device_pass else [("host", False)]
    verdict = Verdict("accepted")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="winport-wfe-") as tmp:
        for name, device in passes:
            ii = os.path.join(tmp, f"{name}.ii")
            cmd = [env.clang, *preprocess_args(env, std, cuda if is_cu else None, device),
                   f"-I{os.path.join(tree, 'csrc')}", f"-I{tree}", *[f"-D{d}" for d in defs], "-DENABLE_FP8",
                   *includes, src, f"/Fi{ii}", "/P"]
            pre = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
            errors = classify(pre.stdout + pre.stderr, tree, _CLANG) if pre.returncode else []
            if pre.returncode == 0:
                unmark(ii)
                run = subprocess.run(frontend_args(env, std, is_cu, device, f"{name}.ii"),
                                     capture_output=True, text=True, timeout=timeout, cwd=tmp, env=env.environ)
                if run.returncode:
                    errors = classify(run.stdout + run.stderr, tree, _EDG) or [
                        Error("(front end)", 0, (run.stdout + run.stderr).strip()[-300:], in_tree=False)]
            elif not errors:
                errors = [Error("(preprocessor)", 0, (pre.stdout + pre.stderr).strip()[-300:], in_tree=False)]
            if keep:  # the preprocessed pass and the front end's whole answer, to read
                stem = os.path.join(keep, unit.path.replace("/", "__") + f".{os.path.basename(tree)}.{name}")
                if os.path.exists(ii):
                    os.replace(ii, stem + ".ii")
                with open(stem + ".log", "w") as fh:
                    fh.write(pre.stdout + pre.stderr + (run.stdout + run.stderr if pre.returncode == 0 else ""))
            verdict.passes.append(f"{name}: {'ok' if not errors else 'errors'}")
            verdict.errors += errors
    verdict.seconds = round(time.perf_counter() - start, 2)
    if any(e.in_tree for e in verdict.errors):
        verdict.status = "rejected"
        verdict.errors = [e for e in verdict.errors if e.in_tree][:5]
    elif verdict.errors:
        verdict.status = "gap"
        verdict.errors = verdict.errors[:5]
    return verdict


CALIBRATION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "windows_frontend")
_RANK = {"accepted": 0, "gap": 1, "rejected": 2}


def worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: _RANK[v.status]) if verdicts else Verdict("accepted")


def calibrate(env: Env, cases: str, nvcc: str = "nvcc", std: str = "c++20") -> list[dict]:
    """Each calibration case (a folder of small units in the shape of a class's code, and
    its expect.txt) ported by winport's built-in transforms, then judged as written and
    as ported (with `device: yes`, the __CUDA_ARCH__ pass through cicc too): one row per case with both verdicts and whether they are the expected ones
    (`pristine: rejected` / `ported: accepted`), or the blind spot's reason (`blind: ...`)."""
    import shutil

    from winport.pipeline import Pipeline
    from winport.registry import builtin

    cuda = cuda_version(nvcc)
    includes = [i if not i.startswith("-I") else f"-I{i[2:]}" for i in cuda_includes(nvcc)]
    rows = []
    for name in sorted(os.listdir(cases)):
        folder = os.path.join(cases, name)
        expect_path = os.path.join(folder, "expect.txt")
        if not os.path.isfile(expect_path):
            continue
        with open(expect_path) as fh:
            expect = dict(line.split(":", 1) for line in fh.read().splitlines() if ":" in line)
        expect = {k.strip(): v.strip() for k, v in expect.items()}
        with tempfile.TemporaryDirectory(prefix="winport-wfe-cal-") as tmp:
            trees = {}
            for kind in ("pristine", "ported"):
                trees[kind] = os.path.join(tmp, kind)
                shutil.copytree(folder, os.path.join(trees[kind], "csrc"), ignore=shutil.ignore_patterns("expect.txt"))
            Pipeline([t() for t in builtin()], jobs=1).run(trees["ported"], write=True)
            units = sorted(f for f in os.listdir(folder) if f.endswith((".cu", ".cpp")))
            device = expect.get("device", "no") == "yes"  # a class only the __CUDA_ARCH__ pass sees
            got = {kind: worst([judge(env, Unit(f"csrc/{u}", "_C", []), tree, [], includes, std, cuda, 300,
                                      device_pass=device) for u in units]) for kind, tree in trees.items()}
        row = {"case": name, "class": expect.get("class", name.upper()), "pristine": got["pristine"].status,
               "ported": got["ported"].status, "pristine_error": describe(got["pristine"]),
               "ported_error": describe(got["ported"]), "blind": expect.get("blind", "")}
        row["calibrated"] = (not row["blind"] and row["pristine"] == expect.get("pristine")
                             and row["ported"] == expect.get("ported"))
        rows.append(row)
    return rows


def describe(v: Verdict) -> str:
    if v.status == "accepted":
        return "accepted"
    first = v.errors[0]
    where = f"{first.file}:{first.line}" if first.line else first.file
    text = f"{where}: {first.message}"
    return f"{v.status}: {text}" + (f"  [{first.source}]" if first.source else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default=os.path.expanduser("~/.cache/winport/windows-frontend"))
    ap.add_argument("--pristine")
    ap.add_argument("--ported")
    ap.add_argument("--calibrate", nargs="?", const=CALIBRATION, metavar="CASES",
                    help="judge the calibration cases (default tests/windows_frontend) instead of a tree")
    ap.add_argument("--only", action="append", default=[], help="judge only units matching this glob")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--python", default=sys.executable, help="interpreter whose torch headers to use")
    ap.add_argument("--nvcc", default="nvcc", help="the CUDA toolkit whose headers and version to use")
    ap.add_argument("--std", default="c++20", help="/std: c++20 for torch >= 2.14 headers, c++17 before")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per pass")
    ap.add_argument("--json", help="write the per-unit verdicts here")
    ap.add_argument("--keep", metavar="DIR", help="keep each pass's preprocessed file and front-end log here")
    ap.add_argument("--device-pass", action="store_true",
                    help="also run the __CUDA_ARCH__ pass through cicc.exe (its libcu++ headers are still harness "
                         "gaps: see docs/verification.md)")
    args = ap.parse_args(argv)
    if args.calibrate:
        env = Env(args.env)
        rows = calibrate(env, args.calibrate, args.nvcc)
        for r in rows:
            state = f"blind spot: {r['blind']}" if r["blind"] else ("calibrated" if r["calibrated"] else "NOT CALIBRATED")
            print(f"{r['class']:4} {r['case']:14} pristine {r['pristine']:8} ported {r['ported']:8} {state}")
            if not r["blind"] and not r["calibrated"]:
                print(f"     pristine: {r['pristine_error']}\n     ported: {r['ported_error']}")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(rows, fh, indent=1)
        bad = [r for r in rows if not r["blind"] and not r["calibrated"]]
        print(f"cases {len(rows)}, calibrated {sum(r['calibrated'] for r in rows)}, "
              f"blind spots {sum(bool(r['blind']) for r in rows)}, not calibrated {len(bad)}")
        return 1 if bad else 0
    if not args.pristine or not args.ported:
        ap.error("--pristine and --ported are needed (or --calibrate)")
    for d in (args.pristine, args.ported):
        if not os.path.isdir(d):
            print(f"error: {d}: not a folder", file=sys.stderr)
            return 2
    env = Env(args.env)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    pristine, ported = os.path.abspath(args.pristine), os.path.abspath(args.ported)
    found, definitions = touched_units(pristine, ported)
    touched = len(found)
    units = [Unit(u.path, u.target, u.changed) for u in found
             if not args.only or any(fnmatch.fnmatchcase(u.path, g) for g in args.only)]
    tc = toolchain(args.python, args.nvcc)
    includes = [f"-I{windows_python(env, i)}" for i in (*tc["includes"], *tc.get("cutlass_includes", []))] + [f"-I{i[2:]}" if i.startswith("-I") else i
                                                      for i in cuda_includes(args.nvcc)]
    cuda = cuda_version(args.nvcc)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        jobs = [(u, pool.submit(judge, env, u, pristine, definitions.get(u.target, []), includes, args.std, cuda,
                                args.timeout, args.keep, args.device_pass),
                 pool.submit(judge, env, u, ported, definitions.get(u.target, []), includes, args.std, cuda,
                             args.timeout, args.keep, args.device_pass)) for u in units]
        for u, before, after in jobs:
            u.before, u.after = before.result(), after.result()
            print(f"{u.path}: before {describe(u.before)}; after {describe(u.after)} "
                  f"({u.before.seconds:.0f} s / {u.after.seconds:.0f} s)", flush=True)
    wall = time.perf_counter() - start
    accepted_before = sum(u.before.status == "accepted" for u in units)
    accepted_after = sum(u.after.status == "accepted" for u in units)
    rejected_after = sum(u.after.status == "rejected" for u in units)
    gaps = sum(u.after.status == "gap" for u in units)
    regressions = sum(u.before.status == "accepted" and u.after.status == "rejected" for u in units)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"touched": touched, "judged": len(units), "wall_s": round(wall, 1),
                       "accepted_before": accepted_before, "accepted_after": accepted_after,
                       "rejected_after": rejected_after, "harness_gaps": gaps,
                       "units": [asdict(u) for u in units]}, fh, indent=1)
    selected = f" (selected {len(units)})" if args.only else ""
    print(f"touched {touched}{selected}, accepted before {accepted_before}, after {accepted_after}, "
          f"rejected after {rejected_after}, harness gaps {gaps} ({wall:.0f} s)")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
