"""Another serving engine's real tree, ported through a layout: SGLang's sdist from PyPI
(fetched by winport's own code), its Python package and its JIT kernel sources.

What must hold: no transform fails or drifts; every changed Python module compiles and
reads no name at import before binding it; no changed C++/CUDA file parses worse; a
second run changes nothing; no changed module newly fails to import, on Linux or under
the simulated Windows standard library (the engine's own dependencies stood in where
they are not installed here); and after the port every changed module that imports on
Linux imports under simulated Windows too. Numbers: docs/verification.md.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import parse_problems, read_tree
from winport import Outcome, Pipeline, registry
from winport.fetch import fetch_project
from winport.lang.bindings import new_unbound
from winport.layout import Layout

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import import_check  # noqa: E402

pytestmark = pytest.mark.release

PROJECT, VERSION = "sglang", "0.5.10.post1"
LAYOUT = Layout.of({"python": "sglang", "kernels": "sglang/jit_kernel/csrc"})


class Engine:
    def __init__(self, tmp: Path):
        self.pristine = fetch_project(PROJECT, VERSION, tmp / "pristine")
        self.root = tmp / "ported"
        shutil.copytree(self.pristine, self.root, symlinks=True)
        self.report = Pipeline(registry.select(), layout=LAYOUT).run(self.root)
        self.second = Pipeline(registry.select(), layout=LAYOUT).run(self.root)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    e = Engine(tmp_path_factory.mktemp("engine"))
    yield e
    shutil.rmtree(e.root.parent, ignore_errors=True)


def test_the_engine_is_ported_without_failure_or_drift(engine):
    report = engine.report
    assert report.layout == LAYOUT.as_dict() and report.tree == "other" and report.limits == ()
    problems = {t.id: [f.reason.splitlines()[0] for f in t.files if f.reason] for t in report.transforms
                if t.outcome in (Outcome.FAILED, Outcome.DRIFTED)}
    assert problems == {}
    applied = {t.id for t in report.transforms if t.outcome is Outcome.APPLIED}
    # the classes every serving engine shares with vLLM, found in SGLang's own code
    assert {"runtime/uvloop-winloop", "runtime/posix-signals", "runtime/fcntl-lock", "runtime/dev-shm",
            "runtime/zmq-ipc-endpoints", "runtime/binary-open", "cuda/designated-init"} <= applied
    assert all(s.path.startswith("sglang/") for t in report.transforms for s in t.sites)
    lacking = {t.id for t in report.transforms if t.outcome is Outcome.NOT_APPLICABLE}
    assert "build/nvcc-exe" in lacking and "cuda/asm-volatile" not in lacking  # no setup.py; kernels there
    assert engine.second.changed == {}


def test_every_changed_file_compiles_binds_and_parses(engine):
    before, after = read_tree(engine.pristine), read_tree(engine.root)
    repeated = {f.path: f.repeated_errors for t in engine.report.transforms for f in t.files}
    changed = sorted(engine.report.changed)
    assert len([p for p in changed if p.endswith(".py")]) >= 20
    for path in changed:
        if path in engine.report.created:
            continue
        assert parse_problems(path, before[path], after[path], repeated.get(path, 0)) is None, path
        if path.endswith(".py"):
            compile(after[path], path, "exec", dont_inherit=True)
            assert new_unbound(before[path], after[path]) == {}, path


class _Imports:
    """Each import in a fresh child of a ``winsim.py --serve`` process (one per thread)
    that has imported PyTorch, as tools/import_check.py does for vLLM."""

    def __init__(self):
        self.local, self.servers = threading.local(), []

    def __call__(self, job: tuple[str, bool, Path]) -> dict:
        module, windows, root = job
        if not hasattr(self.local, "server"):
            self.local.server = import_check.Server(sys.executable)
            self.servers.append(self.local.server)
        args = ["--stub-missing", "--own", PROJECT, *(["--windows"] if windows else []), str(root), module]
        stdout, stderr, rc = self.local.server.run(args, root)
        assert rc == 0, stderr[-2000:]
        return json.loads(stdout.strip().splitlines()[-1])


def test_no_changed_module_newly_fails_to_import(engine):
    modules = sorted(p[:-3].replace("/", ".").removesuffix(".__init__") for p in engine.report.changed
                     if p.endswith(".py") and p.startswith("sglang/"))
    jobs = [(module, windows, root) for module in modules for windows in (False, True)
            for root in (engine.pristine, engine.root)]
    imports = _Imports()
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            results = dict(zip(jobs, pool.map(imports, jobs)))
    finally:
        for server in imports.servers:
            server.close()
    newly = []
    for module in modules:
        for windows in (False, True):
            was, now = results[(module, windows, engine.pristine)], results[(module, windows, engine.root)]
            if was["ok"] and not now["ok"]:
                newly.append((module, "win32" if windows else "linux", now))
            if not windows:  # on Linux the port changes nothing a module does at import
                assert (now["ok"], now.get("error")) == (was["ok"], was.get("error")), (module, was, now)
    assert newly == []
    # the check runs the modules' own code: some import whole on both platforms (the others stop
    # in the same place before and after the port, at a dependency this machine lacks)
    whole = [m for m in modules if results[(m, False, engine.root)]["ok"] and results[(m, True, engine.root)]["ok"]]
    assert whole, results
    # ... and after the port, what imports on Linux imports under simulated Windows too
    assert [m for m in modules if results[(m, False, engine.root)]["ok"]] == \
        [m for m in modules if results[(m, True, engine.root)]["ok"]]
    print(f"\n{len(modules)} changed modules; import on Linux before/after: "
          f"{sum(results[(m, False, engine.pristine)]['ok'] for m in modules)}/"
          f"{sum(results[(m, False, engine.root)]['ok'] for m in modules)}; under simulated Windows before/after: "
          f"{sum(results[(m, True, engine.pristine)]['ok'] for m in modules)}/"
          f"{sum(results[(m, True, engine.root)]['ok'] for m in modules)}")
    for m in modules:
        was, now = results[(m, True, engine.pristine)], results[(m, True, engine.root)]
        print(f"  {m}: win32 before {was.get('error') or 'ok'} {was.get('where', '')}; "
              f"after {now.get('error') or 'ok'} {now.get('where', '')} {now.get('message', '')[:80]}")
