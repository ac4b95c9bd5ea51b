"""Import, each in a fresh process, every vLLM module a port changed: from the
pristine tree and from the ported one on Linux, and from the ported one under the
simulated Windows standard library (tests/winsim.py). Each process is a child forked
from a server that has imported PyTorch (``winsim.py --serve``), under the real
platform as any import of a vLLM module would: what each import costs beyond that is
vLLM's own.

    python tools/import_check.py --python ENV/bin/python PRISTINE PORTED

prints each module's verdicts and writes them as JSON with ``--json``;
``python tools/import_check.py --table imports-*.json`` renders the files the
import test writes (WINPORT_IMPORT_JSON=DIR) as docs/verification.md's tables. The Python environment is one made
by tools/import_env.py (the release's dependencies, CPU PyTorch). Scripts the port
changes (setup.py, the kernel generators) are not modules of the package and are
not imported: tests/test_build_logic.py and tests/test_generators.py run them.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import filecmp
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

WINSIM = Path(__file__).resolve().parents[1] / "tests" / "winsim.py"


def changed_modules(pristine: Path, ported: Path) -> list[str]:
    """Dotted names of the modules under vllm/ whose file differs between the trees."""
    out = []
    for path in sorted((ported / "vllm").rglob("*.py")):
        rel = path.relative_to(ported)
        old = pristine / rel
        if not old.exists() or not filecmp.cmp(old, path, shallow=False):
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out.append(".".join(parts))
    return out


ENV = {"PYTHONDONTWRITEBYTECODE": "1", "VLLM_LOGGING_LEVEL": "ERROR"}
PRELOAD = ("torch",)  # third-party, imported alike by every module's check: once per server
TIMEOUT = 300


class Server:
    """One ``winsim.py --serve`` process of ``python``: each :meth:`run` is a fresh
    child forked from it, with PyTorch already imported."""

    def __init__(self, python: str):
        self.proc = subprocess.Popen([python, str(WINSIM), "--serve", *PRELOAD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, **ENV})

    def run(self, args: list[str], cwd: Path) -> tuple[str, str, int | None]:
        """(stdout, stderr, exit code or None at the timeout) of winsim's ``main(args)``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": args, "cwd": str(cwd), "timeout": TIMEOUT}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"winsim --serve stopped (exit {self.proc.wait()})")
        answer = json.loads(line)
        return answer["stdout"], answer["stderr"], answer["rc"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def load(python: str, root: Path, module: str, windows: bool, server: Server | None = None) -> dict:
    """winsim's verdict on importing ``module`` from ``root`` (paths in the message
    made relative, so the two trees' messages compare): in a fresh interpreter, or in a
    fresh child of ``server``."""
    args = [*(["--windows"] if windows else []), str(root), module]
    if server is not None:
        stdout, stderr, rc = server.run(args, root)
    else:
        try:
            out = subprocess.run([python, str(WINSIM), *args], capture_output=True, text=True, timeout=TIMEOUT,
                                 cwd=root, env={**os.environ, **ENV})
        except subprocess.TimeoutExpired:
            rc = None
        else:
            stdout, stderr, rc = out.stdout, out.stderr, out.returncode
    if rc is None:
        return {"ok": False, "error": "Timeout", "message": f"no answer in {TIMEOUT} s", "where": ""}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"ok": False, "error": "Crash", "message": stderr[-500:], "where": ""}
    result = json.loads(lines[-1])
    for key in ("message", "where"):
        result[key] = result.get(key, "").replace(str(root) + os.sep, "")
    return result


def check(python: str, pristine: Path, ported: Path, modules: list[str] | None = None,
          windows: set[str] | None = None, jobs: int | None = None) -> dict[str, dict]:
    """module -> {"pristine": verdict, "ported": verdict, "windows": verdict or None}.
    ``windows``: the modules to import under the simulated Windows standard library
    too (default: all)."""
    modules = changed_modules(pristine, ported) if modules is None else modules
    windows = set(modules) if windows is None else windows
    jobs = jobs or os.cpu_count() or 1
    runs = [(m, "pristine", pristine, False) for m in modules] + [(m, "ported", ported, False) for m in modules] + \
        [(m, "windows", ported, True) for m in modules if m in windows]
    results: dict[str, dict] = {m: {"pristine": None, "ported": None, "windows": None} for m in modules}
    local, servers = threading.local(), []

    def one(m: str, root: Path, win: bool) -> dict:
        if not hasattr(local, "server"):  # one server per thread, started with its first import
            local.server = Server(python)
            servers.append(local.server)
        return load(python, root, m, win, local.server)

    try:
        with cf.ThreadPoolExecutor(jobs) as pool:
            futures = {pool.submit(one, m, root, win): (m, kind) for m, kind, root, win in runs}
            for future in cf.as_completed(futures):
                m, kind = futures[future]
                results[m][kind] = future.result()
    finally:
        for server in servers:
            server.close()
    return results


def regressions(results: dict[str, dict]) -> dict[str, dict]:
    """Modules that import from the pristine tree but not the ported one, or fail
    otherwise after the port."""
    bad = {}
    for m, r in results.items():
        p, q = r["pristine"], r["ported"]
        if q["ok"] or (not p["ok"] and (p["error"], p["message"]) == (q["error"], q["message"])):
            continue
        bad[m] = r
    return bad


def _verdict(v: dict | None) -> str:
    if v is None:
        return "-"
    return "ok" if v["ok"] else f"{v['error']}: {v['message'][:90]}"


def table(files: list[Path]) -> str:
    """Markdown: per release (files as WINPORT_IMPORT_JSON writes them), the counts,
    then each runtime-changed module that fails under simulated Windows and why."""
    rows = ["| release | modules changed | import on Linux, pristine | ported | runtime modules | "
            "import under simulated Windows |", "|---|---|---|---|---|---|"]
    fails = []
    for f in sorted(files):
        data = json.loads(f.read_text())
        version = f.stem.removeprefix("imports-")
        mods, runtime = data["modules"], data["runtime"]
        win_ok = sum(1 for m in runtime if mods[m]["windows"]["ok"])
        rows.append(f"| {version} | {len(mods)} | {sum(r['pristine']['ok'] for r in mods.values())} | "
                    f"{sum(r['ported']['ok'] for r in mods.values())} | {len(runtime)} | {win_ok} |")
        for m in runtime:
            w, p = mods[m]["windows"], mods[m]["pristine"]
            if not w["ok"]:
                linux = "yes" if not p["ok"] and (p["error"], p["message"]) == (w["error"], w["message"]) else "no"
                fails.append(f"| {version} | `{m}` | {w['error']}: {w['message']} | `{w['where']}` | {linux} |")
    out = "\n".join(rows)
    if fails:
        out += ("\n\n| release | module | error under simulated Windows | raised at | the same on Linux before "
                "the port |\n|---|---|---|---|---|\n") + "\n".join(fails)
    return out + "\n"


def main() -> int:
    if sys.argv[1:2] == ["--table"]:
        print(table([Path(p) for p in sys.argv[2:]]), end="")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True)
    parser.add_argument("--json")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("pristine", type=Path)
    parser.add_argument("ported", type=Path)
    args = parser.parse_args()
    results = check(args.python, args.pristine, args.ported, jobs=args.jobs)
    for m, r in sorted(results.items()):
        print(f"{m}\n  linux pristine: {_verdict(r['pristine'])}\n  linux ported:   {_verdict(r['ported'])}\n"
              f"  windows ported: {_verdict(r['windows'])}")
    bad = regressions(results)
    print(f"{len(results)} modules; import on Linux: pristine {sum(r['pristine']['ok'] for r in results.values())}, "
          f"ported {sum(r['ported']['ok'] for r in results.values())}; simulated Windows: "
          f"{sum(bool(r['windows'] and r['windows']['ok']) for r in results.values())}; regressions: {len(bad)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
