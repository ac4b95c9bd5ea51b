"""Every vLLM module a port changes still imports: real releases, real dependencies.

For each reference release with an import environment (tools/import_env.py: the
release's requirements/common.txt and CPU PyTorch, kept in winport's cache), every
module under vllm/ that the port changed is imported in a fresh process (a child forked
from a server that has imported PyTorch) from the pristine tree and from the ported
tree (tools/import_check.py):

- on Linux, a module must import after the port whenever it did before, and fail
  the same way when it did not: the port may not break an import;
- under the simulated Windows standard library (tests/winsim.py), every module a
  ``runtime/`` transform changed must import from the ported tree (or fail as it
  does on Linux before the port: an optional dependency that
  requirements/common.txt does not name), except those listed in
  ``tests/windows_imports_known.json`` with the reason they still fail
  (what the runtime transforms have yet to fix; docs/verification.md has the
  table). A new failure fails the test, and so does a listed one that now imports.

CI makes the environments of 0.14.1 and 0.33.0 and sets WINPORT_REQUIRE_IMPORT=1,
so a missing environment fails there instead of skipping. The slower suite over
all four releases: ``python tools/import_env.py 0.18.0 0.26.0 && pytest -m imports``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from winport import Outcome
from winport.fetch import cache_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import import_check  # noqa: E402
import serve_check  # noqa: E402

pytestmark = [pytest.mark.release, pytest.mark.imports]

REQUIRED = ("0.14.1", "0.33.0")  # CI makes these environments
KNOWN = json.loads(Path(__file__).with_name("windows_imports_known.json").read_text())


def environment(version: str) -> str:
    python = cache_dir() / "import-envs" / version / "bin" / "python"
    if not (python.parent.parent / "winport-stamp").exists():
        if os.environ.get("WINPORT_REQUIRE_IMPORT") == "1" and version in REQUIRED:
            pytest.fail(f"no import environment for {version}: run python tools/import_env.py {version}")
        pytest.skip(f"no import environment for {version} (python tools/import_env.py {version})")
    return str(python)


@pytest.fixture(scope="module")
def imported(ported):
    """The import verdicts of a ported release's changed modules."""
    python = environment(ported.version)
    runtime = set()
    for result in ported.report.transforms:
        if result.id.startswith("runtime/"):
            runtime |= {_module(f.path) for f in result.files
                        if f.outcome is Outcome.APPLIED and f.path.startswith("vllm/")}
    results = import_check.check(python, ported.pristine, ported.root, windows=runtime)
    if os.environ.get("WINPORT_IMPORT_JSON"):  # keep the verdicts (docs/verification.md's table)
        out = Path(os.environ["WINPORT_IMPORT_JSON"]) / f"imports-{ported.version}.json"
        out.write_text(json.dumps({"runtime": sorted(runtime), "modules": results}, indent=1, sort_keys=True) + "\n")
    return ported.version, results, runtime


def _module(path: str) -> str:
    parts = path[: -len(".py")].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _same(a: dict, b: dict) -> bool:
    return not a["ok"] and (a["error"], a["message"]) == (b["error"], b["message"])


def test_the_port_breaks_no_import_on_linux(imported):
    version, results, runtime = imported
    assert len(results) >= 8 and runtime <= set(results)
    assert import_check.regressions(results) == {}
    # the dependencies are really there: nearly every changed module imports before the port
    assert sum(r["pristine"]["ok"] for r in results.values()) >= len(results) - 2, results


def test_runtime_modules_import_under_simulated_windows(imported):
    version, results, runtime = imported
    # a module that fails the same way on Linux before the port (an optional dependency
    # missing from requirements/common.txt) says nothing about Windows
    failing = {m: results[m]["windows"] for m in runtime
               if not results[m]["windows"]["ok"] and not _same(results[m]["pristine"], results[m]["windows"])}
    known = KNOWN.get(version, {})
    unexpected = {m: v for m, v in failing.items() if m not in known or known[m] not in v["message"]}
    assert unexpected == {}, "modules that fail to import under simulated Windows, not in windows_imports_known.json"
    fixed = set(known) - set(failing)
    assert fixed == set(), "these import now: take them out of tests/windows_imports_known.json and the docs"


def test_openai_server_starts_under_simulated_windows(ported):
    """`vllm serve`'s start-up, stage by stage, without a GPU (tools/serve_check.py): under
    the simulated Windows standard library the ported server binds, runs its loop
    (asyncio's selector loop: no winloop here), answers HTTP, stops on SIGINT through
    its ported signal handler, and the engine-core client's sockets carry a message
    over TCP. The pristine tree stops at its first import of uvloop."""
    python = environment(ported.version)
    stages = serve_check.run(python, ported.root, windows=True)
    if os.environ.get("WINPORT_IMPORT_JSON"):
        out = Path(os.environ["WINPORT_IMPORT_JSON"]) / f"serve-{ported.version}.json"
        out.write_text(json.dumps({"version": ported.version, "stages": stages}, indent=1) + "\n")
    by_name = {s["stage"]: s for s in stages}
    assert [s["stage"] for s in stages] == ["import", *serve_check.STAGES], stages
    assert all(s["ok"] for s in stages), [s for s in stages if not s["ok"]]
    assert "stand-in" in by_name["event loop"]["detail"]
    assert by_name["engine-core transport"]["detail"].startswith("tcp://")
    before = serve_check.run(python, ported.pristine, windows=True)
    assert not before[0]["ok"] and "uvloop" in before[0]["message"], before
