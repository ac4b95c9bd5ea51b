"""Compile every translation unit a port touched, before and after, on Linux.

    python tools/compile_check.py --pristine DIR --ported DIR [--jobs N] [--only GLOB ...]

A translation unit is a source of the CUDA build's extension targets (read from the
top-level CMakeLists.txt by ``winport.scope``); it is *touched* when it, or a tree file
it includes directly or not, differs between the two trees. Each touched unit is
compiled from the pristine tree, then from the ported one: ``.cu`` with nvcc
(``-c``, one architecture), ``.cpp``/``.cc``/``.c`` with g++, against PyTorch's headers
(the ``torch`` package of ``--python``, found without importing it), the CUDA
library headers of the ``nvidia-*`` wheels beside it, and the tree's ``csrc/``.
The target's ``target_compile_definitions`` and ``TORCH_EXTENSION_NAME`` are defined.

A unit that does not compile from the pristine tree is *skipped* with the reason
(usually a header the build fetches: CUTLASS, or one generated at configure time);
one that compiles before and not after is a *regression*. The last line reads
``touched N, compiled before B, after A, regressions R, skipped S``; the exit status
is 1 when R > 0, 2 on bad input. With ``--pristine-compile if-needed`` a unit is
compiled from the pristine tree only where the ported one fails (a unit that compiles
after the port is no regression, whatever it did before): half the compiles when
every unit passes; the last line then counts ``compiled after A`` first and ends with
``, pristine compiles P``.

With ``--cutlass-ported DIR`` (a copy of the wheel's CUTLASS ported with ``winport
rewrite DIR``) the ported tree compiles against DIR instead of the wheel's headers,
and every unit that includes CUTLASS or CuTe counts as touched.
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
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_MISSING = re.compile(r"fatal error: ([^:\s]+): No such file or directory")
_ERROR = re.compile(r"(error[: ].*)")


@dataclass
class Unit:
    path: str
    target: str
    changed: list[str]  # tree files this unit includes that the port changed
    status: str = "pending"  # ok | regression | skipped | pending
    reason: str = ""
    before_s: float = 0.0
    after_s: float = 0.0


def tree_files(root: str) -> list[str]:
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        out += [os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/") for f in files]
    return out


def read_bytes(root: str, path: str) -> bytes | None:
    full = os.path.join(root, path)
    if os.path.islink(full) or not os.path.isfile(full):
        return None
    with open(full, "rb") as fh:
        return fh.read()


def changed_files(pristine: str, ported: str) -> list[str]:
    """Files under csrc/ whose bytes differ (or that exist in one tree only)."""
    a = {p for p in tree_files(os.path.join(pristine, "csrc"))}
    b = {p for p in tree_files(os.path.join(ported, "csrc"))}
    return sorted("csrc/" + p for p in a | b
                  if read_bytes(pristine, "csrc/" + p) != read_bytes(ported, "csrc/" + p))


_CUTLASS_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*[<"](?:cutlass|cute)/', re.M)


def touched_units(pristine: str, ported: str, cutlass: bool = False) -> tuple[list[Unit], dict[str, list[str]]]:
    """The units the port touched; ``cutlass``: also those that include CUTLASS or CuTe
    headers (ported apart, ``--cutlass-ported``)."""
    from winport.scope import cuda_scope, include_closure

    cmakelists = read_bytes(pristine, "CMakeLists.txt")
    if cmakelists is None:
        raise SystemExit(f"error: {pristine}: no CMakeLists.txt (not a vLLM source tree)")
    scope = cuda_scope(cmakelists, tree_files(pristine))
    changed = set(changed_files(pristine, ported))
    closure = include_closure(scope.units, lambda p: read_bytes(ported, p),
                              lambda p: os.path.isfile(os.path.join(ported, p)))
    out = []
    for target, units in scope.targets.items():
        for unit in units:
            hit = sorted(closure[unit] & changed)
            if cutlass and any(_CUTLASS_INCLUDE.search(read_bytes(ported, p) or b"") for p in closure[unit]):
                hit.append("CUTLASS headers (--cutlass-ported)")
            if hit and not any(u.path == unit for u in out):
                out.append(Unit(unit, target, hit))
    return out, scope.definitions


def toolchain(python: str, nvcc: str) -> dict:
    """Include folders of the torch package (and nvidia-* wheels) of ``python``."""
    probe = ("import importlib.util, os, sysconfig, json; s = importlib.util.find_spec('torch'); "
             "c = importlib.util.find_spec('cutlass_library'); "
             "print(json.dumps([os.path.dirname(s.origin) if s else None, sysconfig.get_paths()['include'], "
             "os.path.dirname(c.origin) if c else None]))")
    torch_dir, py_include, cutlass = json.loads(subprocess.run([python, "-c", probe], check=True, capture_output=True,
                                                      text=True).stdout)
    if torch_dir is None:
        raise SystemExit(f"error: {python} has no torch package (pip install --no-deps torch==2.14.1)")
    site = os.path.dirname(torch_dir)
    includes = [os.path.join(torch_dir, "include"), os.path.join(torch_dir, "include", "torch", "csrc", "api",
                                                                  "include")]
    nvidia = os.path.join(site, "nvidia")
    if os.path.isdir(nvidia):
        for d in sorted(os.listdir(nvidia)):
            inc = os.path.join(nvidia, d, "include")
            if os.path.isdir(inc):
                includes.append(inc)
    includes.append(py_include)
    # CUTLASS, which the build fetches: the nvidia-cutlass wheel carries its headers
    source = os.path.join(cutlass, "source") if cutlass else None
    found = cutlass_includes(source) if source and os.path.isdir(os.path.join(source, "include")) else []
    return {"includes": includes, "torch": torch_dir, "cutlass": source, "cutlass_includes": found,
            "cuda": cuda_includes(nvcc)}


def cutlass_includes(source: str) -> list[str]:
    """The include folders vLLM's build takes from a CUTLASS checkout."""
    return [os.path.join(source, "include"), os.path.join(source, "tools", "util", "include"),
            os.path.join(source, "examples", "77_blackwell_fmha"), os.path.join(source, "examples", "common")]


def cuda_includes(nvcc: str) -> list[str]:
    """The include options nvcc gives its host compiler (for .cpp units compiled by g++)."""
    dry = subprocess.run([nvcc, "--dryrun", "-E", "-x", "cu", os.devnull], capture_output=True, text=True)
    out = []
    for m in re.finditer(r'^#\$ (?:SYSTEM_)?INCLUDES=(.*)$', dry.stderr + dry.stdout, re.M):
        out += [p.strip('"') for p in m.group(1).split() if p.strip('"') != "-isystem"]
    return [p if p.startswith("-I") else "-I" + p for p in out]


def command(unit: Unit, tree: str, out: str, defs: list[str], tc: dict, args) -> list[str]:
    ported = tree == getattr(args, "ported", None) and getattr(args, "cutlass_ported", None)
    cutlass = cutlass_includes(args.cutlass_ported) if ported else tc.get("cutlass_includes", [])
    incs = [f"-I{os.path.join(tree, 'csrc')}", f"-I{tree}"] + [f"-I{i}" for i in (*tc["includes"], *cutlass)]
    ds = [f"-D{d}" for d in defs]
    src = os.path.join(tree, unit.path)
    if unit.path.endswith(".cu"):
        # kernels written for one architecture (``*_sm90_*``, ``sm100_*``) are built for it,
        # as vLLM's set_gencode_flags_for_srcs does; the rest for --arch
        m = re.search(r"sm_?(\d{2,3})", os.path.basename(unit.path))
        arch = f"sm_{m.group(1)}a" if m and int(m.group(1)) >= 90 else args.arch
        # ENABLE_FP8: what cmake/utils.cmake (get_torch_gpu_compiler_flags) adds for CUDA >= 11.8
        return [args.nvcc, "-c", f"-std={args.std}", f"-arch={arch}", "-DENABLE_FP8", "--expt-relaxed-constexpr",
                "--expt-extended-lambda", "-w", *ds, *incs, src, "-o", out]
    return [args.cxx, "-c", f"-std={args.std}", "-fPIC", "-w", *ds, *incs, *tc["cuda"], src, "-o", out]


def compile_one(unit: Unit, tree: str, defs: list[str], tc: dict, args) -> tuple[bool, str, float]:
    with tempfile.TemporaryDirectory(prefix="winport-cc-") as tmp:
        cmd = command(unit, tree, os.path.join(tmp, "unit.o"), defs, tc, args)
        start = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return False, f"timed out after {args.timeout} s", time.perf_counter() - start
        took = time.perf_counter() - start
        log = done.stdout + done.stderr
        return done.returncode == 0, log.replace(tree + "/", ""), took


def first_error(log: str) -> str:
    m = _MISSING.search(log)
    if m:
        return f"needs {m.group(1)}, which is not in the tree (fetched or generated by the build)"
    m = _ERROR.search(log)
    return (m.group(1) if m else log.strip().splitlines()[-1] if log.strip() else "failed")[:200]


def verdict(unit: Unit, before: tuple | None, after: tuple) -> Unit:
    """A unit's status from its pristine and ported compiles ((ok, log, seconds) each;
    ``before`` None: not compiled, the ported one compiled)."""
    (ok_after, log_after, unit.after_s) = after
    if before is None:
        assert ok_after
        unit.status, unit.reason = "ok", ""
        return unit
    (ok_before, log_before, unit.before_s) = before
    if not ok_before:
        unit.status, unit.reason = "skipped", "does not compile before the port: " + first_error(log_before)
    else:
        unit.status = "ok" if ok_after else "regression"
        unit.reason = "" if ok_after else first_error(log_after)
    return unit


def write_json(path: str, touched: int, units: list[Unit], wall: float) -> None:
    with open(path + ".tmp", "w") as fh:
        json.dump({"touched": touched, "checked": len(units), "wall_s": round(wall, 1),
                   "units": [asdict(u) for u in units]}, fh, indent=2)
    os.replace(path + ".tmp", path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pristine", required=True)
    ap.add_argument("--ported", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", action="append", default=[], help="compile only units matching this glob")
    ap.add_argument("--list", action="store_true", help="list the touched units and what touches them")
    ap.add_argument("--python", default=sys.executable, help="interpreter whose torch headers to use")
    ap.add_argument("--nvcc", default="nvcc")
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--arch", default="sm_80")
    ap.add_argument("--std", default="c++20", help="c++20 for torch >= 2.14 headers, c++17 before")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per compile")
    ap.add_argument("--pristine-compile", choices=("always", "if-needed"), default="always",
                    help="compile each unit from the pristine tree too (always), or only where the ported tree's "
                         "compile fails (if-needed)")
    ap.add_argument("--json", help="write the per-unit results here (with --list: the units to compile)")
    ap.add_argument("--resume", help="keep the verdicts of this earlier --json file (timeouts are retried)")
    ap.add_argument("--units", help="compile the units a --list --json run wrote (where winport is not installed)")
    ap.add_argument("--cutlass-ported", metavar="DIR",
                    help="a CUTLASS checkout ported with `winport rewrite DIR` (from the same nvidia-cutlass wheel): "
                         "the ported tree compiles against it instead of the wheel's headers, and units that include "
                         "CUTLASS count as touched")
    args = ap.parse_args(argv)
    for d in (args.pristine, args.ported):
        if not os.path.isdir(d):
            print(f"error: {d}: not a folder", file=sys.stderr)
            return 2
    args.pristine, args.ported = os.path.abspath(args.pristine), os.path.abspath(args.ported)
    if args.cutlass_ported:
        args.cutlass_ported = os.path.abspath(args.cutlass_ported)
        if not os.path.isfile(os.path.join(args.cutlass_ported, "include", "cutlass", "cutlass.h")):
            print(f"error: {args.cutlass_ported}: not a CUTLASS checkout (no include/cutlass/cutlass.h)",
                  file=sys.stderr)
            return 2
    if args.units:
        with open(args.units) as fh:
            plan = json.load(fh)
        units = [Unit(u["path"], u["target"], u["changed"]) for u in plan["units"]]
        definitions, touched = plan["definitions"], plan["touched"]
    else:
        units, definitions = touched_units(args.pristine, args.ported, cutlass=bool(args.cutlass_ported))
        touched = len(units)
    if args.only:
        units = [u for u in units if any(fnmatch.fnmatchcase(u.path, g) for g in args.only)]
    if args.list:
        for u in units:
            print(f"{u.path} [{u.target}]: {', '.join(u.changed)}")
        print(f"touched {touched}, listed {len(units)}")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"touched": touched, "definitions": definitions, "units": [asdict(u) for u in units]}, fh,
                          indent=2)
        return 0
    tc = toolchain(args.python, args.nvcc)
    start = time.perf_counter()
    done: dict[str, Unit] = {}
    if args.resume and os.path.exists(args.resume):
        with open(args.resume) as fh:  # keep verdicts of an earlier run, except timeouts
            done = {u["path"]: Unit(**u) for u in json.load(fh)["units"] if "timed out" not in u["reason"]}
    todo = [u for u in units if u.path not in done]
    # both compiles of a unit run side by side (if-needed: the pristine one once the ported one
    # failed); a unit's verdict waits for both
    always = args.pristine_compile == "always"
    pristine_compiles = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        def pristine(u: Unit):
            return pool.submit(compile_one, u, args.pristine, definitions.get(u.target, []), tc, args)

        futures = [(u, pristine(u) if always else None,
                    pool.submit(compile_one, u, args.ported, definitions.get(u.target, []), tc, args)) for u in todo]
        for u, before, after in futures:
            if before is None and not after.result()[0]:
                before = pristine(u)
            pristine_compiles += before is not None
            done[u.path] = verdict(u, before.result() if before is not None else None, after.result())
            tag = {"ok": "ok        ", "regression": "REGRESSION", "skipped": "skipped   "}[u.status]
            times = "" if u.status == "skipped" else f" ({u.after_s:.0f} s)" if before is None else \
                f" ({u.before_s:.0f} s / {u.after_s:.0f} s)"
            print(f"{tag} {u.path}{times}{': ' + u.reason if u.reason else ''}", flush=True)
            if args.json:
                write_json(args.json, touched, [done[x.path] for x in units if x.path in done],
                           time.perf_counter() - start)
    units = [done[u.path] for u in units]
    before = sum(u.status != "skipped" for u in units)
    after = sum(u.status == "ok" for u in units)
    regressions = sum(u.status == "regression" for u in units)
    skipped = sum(u.status == "skipped" for u in units)
    if args.json:
        write_json(args.json, touched, units, time.perf_counter() - start)
    selected = f" (selected {len(units)})" if args.only else ""
    if always:
        print(f"touched {touched}{selected}, compiled before {before}, after {after}, "
              f"regressions {regressions}, skipped {skipped}")
    else:
        print(f"touched {touched}{selected}, compiled after {after}, regressions {regressions}, skipped {skipped}, "
              f"pristine compiles {pristine_compiles}")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
