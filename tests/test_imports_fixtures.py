"""Every Python module a fixture's rewrite produces imports, on Linux and under the
simulated Windows standard library (tests/winsim.py), each in a fresh interpreter.

Fixtures are small modules in the shape of vLLM's; what they import from vLLM,
torch and other packages that are not installed here is stood in for
(``--stub-missing``), so what runs is the module's own import-time code: the
statements a transform inserted among them above all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from winport import registry
from winport.examples import cases

WINSIM = Path(__file__).with_name("winsim.py")


def modules():
    for t in registry.all_transforms():
        if t.language != "python" or not t.fixes:
            continue
        for case in cases(t.id):
            if case.unchanged:
                continue
            before = case.files("before")
            for path, data in case.files("after").items():
                if path.endswith(".py") and before.get(path) != data:
                    yield pytest.param(case, path, id=f"{t.id}/{case.name}/{path}")


def load(root: Path, path: str, windows: bool) -> dict:
    args = [sys.executable, str(WINSIM), "--stub-missing", *(["--windows"] if windows else []), str(root), path]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


class _OnDemand(dict):
    def __missing__(self, key):
        done: Future = Future()
        done.set_result(load(key[0] / "after", key[1], key[2]))
        return done


@pytest.fixture(scope="module")
def imported(request):
    """The selected tests' imports, started together on every CPU (each a fresh interpreter
    whose start-up dominates): (case folder, path, windows) -> the future of its result."""
    if "PYTEST_XDIST_WORKER" in os.environ:  # a worker runs a share it does not know in advance: one at a time
        yield _OnDemand()
        return
    wanted = [item.callspec.params for item in request.session.items
              if getattr(item, "originalname", "") == "test_rewritten_fixture_module_imports"]
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    futures: dict[tuple, Future] = {}
    for p in wanted:
        key = (p["case"].folder, p["path"], p["windows"])
        if key not in futures:
            futures[key] = pool.submit(load, p["case"].folder / "after", p["path"], p["windows"])
    yield futures
    pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("case, path", list(modules()))
@pytest.mark.parametrize("windows", [False, True], ids=["linux", "win32"])
def test_rewritten_fixture_module_imports(case, path, windows, imported):
    result = imported[(case.folder, path, windows)].result()
    assert result["ok"], result


def test_the_seed_defect_would_be_caught(tmp_path):
    """The check above fails on a module that reads `sys` before importing it."""
    (tmp_path / "m.py").write_text('if sys.platform == "win32":\n    pass\nimport sys\n')
    for windows in (False, True):
        result = load(tmp_path, "m.py", windows)
        assert not result["ok"] and result["error"] == "NameError" and "sys" in result["message"]
