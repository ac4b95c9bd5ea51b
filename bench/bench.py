"""Benchmark winport on real vLLM releases against the floor, in one run.

    python bench/bench.py [--releases 0.14.1 0.33.0] [--repeat 5] [--no-naive] [--baseline REF]
                          [--out docs/performance.md]

Measures, per release, min and median over ``--repeat`` runs (each on a fresh
copy of the tree, 2-core machine assumed):

* floor: one process that reads every file of the tree and parses exactly the
  files the port changes, with the same parsers (libcst / tree-sitter): timed as
  a new process (start-up and importing the parsers included, as for the CLI),
  and for reference inside this one;
* ``winport rewrite`` on a fresh tree (the CLI, a new process, as a user runs it);
* ``winport rewrite`` on the already ported tree (nothing to do): its first run,
  which computes the report, and the next, which takes it from the run cache;
* ``winport check`` on a fresh tree;
* once per release (unless ``--no-naive``): a LibCST-style pass that parses every
  Python and C++ file;
* with ``--baseline REF`` (a git commit, say ``HEAD~1``): ``winport rewrite`` of that
  commit too, installed into a folder of its own, on a fresh tree in the same rounds,
  so that the two are compared on the same machine in the same minutes.

Child processes may write bytecode (a user's installed winport has it), so the first
run of each version, whose report lists the files the port changes, also compiles it.

Prints the table with the ratios and writes it as markdown. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from winport.fetch import fetch
from winport.lang import treesitter
from winport.sources import discover, language_of

WINPORT = [sys.executable, "-m", "winport"]
# the CLI's processes as a user's: bytecode written and read (PYTHONDONTWRITEBYTECODE dropped)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# where the CLI runs: not in this checkout, whose winport/ `python -m` would import before a baseline's
RUN_IN = tempfile.gettempdir()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def parse(path: str, data: bytes) -> None:
    lang = language_of(path)
    if lang == "python":
        import libcst

        libcst.parse_module(data)
    elif lang in ("cpp", "cmake"):
        treesitter.parse(lang, data)


def floor(root: Path, changed: list[str]) -> None:
    for path in discover(str(root)):
        data = (root / path).read_bytes()
        if path in changed:
            parse(path, data)


def floor_process(root: Path, changed: list[str]) -> float:
    """The floor as a new process: this script's ``--floor`` mode."""
    listing = root.parent / "changed.json"
    listing.write_text(json.dumps(changed))
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--floor", str(root), str(listing)], check=True)
    return time.perf_counter() - start


def naive(root: Path) -> None:
    for path in discover(str(root)):
        if language_of(path) in ("python", "cpp"):
            try:
                parse(path, (root / path).read_bytes())
            except Exception:
                pass


def run_cli(*args: str, env: dict | None = None) -> tuple[float, float]:
    """Run the CLI in a new process: (wall seconds, its own peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*WINPORT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env or ENV, cwd=RUN_IN)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def install_baseline(ref: str, folder: Path) -> dict:
    """winport at git ``ref`` installed into ``folder`` (no dependencies: this
    environment's serve it); the environment that runs it instead of this checkout."""
    repo = Path(__file__).resolve().parents[1]
    src, site = folder / "src", folder / "site"
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(src)], check=True, env=ENV)
    return {**ENV, "PYTHONPATH": str(site)}


def stats(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def tree_bytes(root: Path) -> int:
    return sum((root / p).stat().st_size for p in discover(str(root)))


FLOOR_RATIO = 1.5  # rewrite / floor, the engine-and-tests issue's goal
TARGETS = {  # measure -> {release: seconds}, from the performance issue
    "rewrite": {"0.14.1": 1.5, "0.33.0": 3.0},
    # "rewrite on an already ported tree": answered from the run cache; the first run
    # after the port, which computes the report, is in the main table ("again")
    "cached": {"0.14.1": 0.5},
    "check": {"0.14.1": 2.0, "0.33.0": 4.0},
}
LABELS = {"cached": "again (from the run cache)"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--releases", nargs="+", default=["0.14.1", "0.33.0"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-naive", action="store_true", help="skip the parse-everything baseline (minutes)")
    ap.add_argument("--out", default="docs/performance.md")
    ap.add_argument("--baseline", metavar="REF", help="also time `winport rewrite` of this git commit (say HEAD~1)")
    ap.add_argument("--floor", nargs=2, metavar=("ROOT", "CHANGED_JSON"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.floor:  # the floor's own process
        floor(Path(args.floor[0]), json.loads(Path(args.floor[1]).read_text()))
        return 0

    rows = []
    with tempfile.TemporaryDirectory(prefix="winport-bench-") as tmp:
        baseline = install_baseline(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        for version in args.releases:
            pristine = Path(tmp) / f"vllm-{version}"
            fetch(version, pristine)
            work = Path(tmp) / "work"
            report = Path(tmp) / "r.json"
            for env in filter(None, (baseline, ENV)):  # the first runs: bytecode, and what the port changes
                shutil.copytree(pristine, work, symlinks=True)
                subprocess.run([*WINPORT, "rewrite", "--no-cache", "--json", str(report), str(work)],
                               capture_output=True, env=env, cwd=RUN_IN)
                shutil.rmtree(work)
            changed = json.loads(report.read_text())["changed"]
            m: dict[str, list[float]] = {k: [] for k in ("floor", "floor_in", "rewrite", "again", "cached", "check",
                                                         "baseline")}
            rss: dict[str, float] = {}
            for _ in range(args.repeat):
                if baseline:
                    shutil.copytree(pristine, work, symlinks=True)
                    m["baseline"].append(run_cli("rewrite", str(work), env=baseline)[0])
                    shutil.rmtree(work)
                shutil.copytree(pristine, work, symlinks=True)
                m["floor"].append(floor_process(work, changed))
                m["floor_in"].append(timed(lambda: floor(work, changed)))
                for name, cli in (("check", ("check", str(work))), ("rewrite", ("rewrite", str(work))),
                                  ("again", ("rewrite", str(work))), ("cached", ("rewrite", str(work)))):
                    seconds, peak = run_cli(*cli)
                    m[name].append(seconds)
                    rss[name] = max(rss.get(name, 0.0), peak)
                shutil.rmtree(work)
            naive_s = None if args.no_naive else timed(lambda: naive(pristine))
            rows.append({"version": version, "files": sum(1 for _ in discover(str(pristine))),
                         "mb": tree_bytes(pristine) / 1e6, "changed": len(changed), "m": m, "rss": rss,
                         "naive": naive_s})
            print(f"{version}: done", file=sys.stderr)

    lines = ["# Performance", "",
             f"Generated by `python bench/bench.py` on {os.cpu_count()} cores; min / median of {args.repeat} runs, "
             "seconds, all measured in one run of the script. `rewrite` is the CLI in a new process on a fresh "
             "tree; `again` the same on the tree it just ported (nothing to do): its first run computes the "
             "report, `again (cached)` is the run after, answered from the run cache (`winport/cache.py`), which "
             "is what the target for a ported tree is measured on; "
             "`check` is `winport check` on a fresh tree. `floor` is one process that reads every file and parses "
             "exactly the files the port changes with the same parsers, timed as a new process like the CLI "
             "(`floor in-process`: the same work inside the benchmark's process, parsers already imported); "
             "`naive` parses every Python file with libcst and every C++ file with tree-sitter, once. Peak RSS "
             "is each CLI process's own.", "",
             "| release | files | MB | changed | floor | floor in-process | rewrite | rewrite / floor | again | "
             "again (cached) | check | naive | naive / rewrite | peak RSS MB (rewrite / again / check) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["m"]
        fl, fi, rw, ag, ca, ck = (stats(m[k]) for k in ("floor", "floor_in", "rewrite", "again", "cached", "check"))
        nv = f"{r['naive']:.1f}" if r["naive"] else "-"
        speed = f"{r['naive'] / rw[0]:.0f}x" if r["naive"] else "-"
        lines.append(f"| {r['version']} | {r['files']} | {r['mb']:.1f} | {r['changed']} | {fl[0]:.2f} / {fl[1]:.2f} | "
                     f"{fi[0]:.2f} / {fi[1]:.2f} | {rw[0]:.2f} / {rw[1]:.2f} | {rw[0] / fl[0]:.2f}x | "
                     f"{ag[0]:.2f} / {ag[1]:.2f} | {ca[0]:.2f} / {ca[1]:.2f} | "
                     f"{ck[0]:.2f} / {ck[1]:.2f} | {nv} | {speed} | "
                     f"{r['rss']['rewrite']:.0f} / {r['rss']['again']:.0f} / {r['rss']['check']:.0f} |")
    if args.baseline:
        lines += ["", f"Side by side in the same rounds: `winport rewrite` of `{args.baseline}` "
                      f"({_describe(args.baseline)}) and of this checkout, on fresh trees, against the same floor.", "",
                  "| release | floor | rewrite, baseline | baseline / floor | rewrite, this checkout | this / floor |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            fl, bl, rw = (min(r["m"][k]) for k in ("floor", "baseline", "rewrite"))
            lines.append(f"| {r['version']} | {fl:.2f} | {bl:.2f} | {bl / fl:.2f}x | {rw:.2f} | {rw / fl:.2f}x |")
    lines += ["", "## Targets", "", "| measure | release | target | measured (min) | met |", "|---|---|---|---|---|"]
    for measure, by_release in TARGETS.items():
        for r in rows:
            if r["version"] in by_release:
                got = min(r["m"][measure])
                goal = by_release[r["version"]]
                lines.append(f"| {LABELS.get(measure, measure)} | {r['version']} | <= {goal} s | {got:.2f} s | "
                             f"{'yes' if got <= goal else 'no'} |")
    for r in rows:
        fl = min(r["m"]["floor"])
        lines.append(f"| rewrite / floor | {r['version']} | <= {FLOOR_RATIO}x | {min(r['m']['rewrite']) / fl:.2f}x | "
                     f"{'yes' if min(r['m']['rewrite']) <= FLOOR_RATIO * fl else 'no'} |")
    peak = max(v for r in rows for v in r["rss"].values())
    lines.append(f"| peak RSS | all | <= 300 MB | {peak:.0f} MB | {'yes' if peak <= 300 else 'no'} |")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        lines += ["", f"Growth {a['version']} -> {b['version']}: files x{b['files'] / a['files']:.2f}, bytes "
                      f"x{b['mb'] / a['mb']:.2f}, floor x{min(b['m']['floor']) / min(a['m']['floor']):.2f}, "
                      f"rewrite x{min(b['m']['rewrite']) / min(a['m']['rewrite']):.2f}, check "
                      f"x{min(b['m']['check']) / min(a['m']['check']):.2f}."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    # hand-written notes below the marker survive regeneration
    notes = out.read_text().partition(NOTES)[2] if out.exists() and NOTES in out.read_text() else ""
    out.write_text(text + ("\n" + NOTES + notes if notes else ""))
    return 0


NOTES = "<!-- notes: kept by bench/bench.py -->"


def _describe(ref: str) -> str:
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h", ref], capture_output=True, text=True)
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
