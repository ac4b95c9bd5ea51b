"""winsim's server (``--serve``): each request is a fresh child of one process, with
the same answers as a fresh interpreter, nothing left over from the one before, and a
child that hangs killed at its timeout (tools/import_check.py runs the import test on it)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import import_check  # noqa: E402

MODULES = {
    "vllm/__init__.py": "",
    "vllm/platform_probe.py": "import sys\nPLATFORM = sys.platform\nimport fcntl\n",
    "vllm/counter.py": "import json\nCOUNT = 1\n",
    "vllm/slow.py": "import time\ntime.sleep(30)\n",
}


def _tree(tmp_path: Path) -> Path:
    for rel, text in MODULES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_a_served_import_answers_as_a_fresh_interpreter(tmp_path):
    root = _tree(tmp_path)
    server = import_check.Server(sys.executable)
    try:
        for module in ("vllm.platform_probe", "vllm.counter"):
            for windows in (False, True):
                served = import_check.load(sys.executable, root, module, windows, server)
                assert served == import_check.load(sys.executable, root, module, windows), (module, windows)
        # fcntl is missing under simulated Windows, there on Linux: the two children did not share a state
        assert import_check.load(sys.executable, root, "vllm.platform_probe", False, server)["ok"]
        windows = import_check.load(sys.executable, root, "vllm.platform_probe", True, server)
        assert not windows["ok"] and windows["error"] == "ModuleNotFoundError"
        # a module a child imported is not there for the next one
        out, _, rc = server.run([str(root), "vllm.counter", "--then", "import sys; result = 'vllm.slow' in sys.modules"],
                                root)
        assert rc == 0 and '"result": "False"' in out
    finally:
        server.close()
    assert server.proc.returncode == 0


def test_a_child_that_hangs_is_killed_at_the_timeout(tmp_path, monkeypatch):
    root = _tree(tmp_path)
    monkeypatch.setattr(import_check, "TIMEOUT", 1)
    server = import_check.Server(sys.executable)
    try:
        verdict = import_check.load(sys.executable, root, "vllm.slow", False, server)
        assert verdict == {"ok": False, "error": "Timeout", "message": "no answer in 1 s", "where": ""}
        assert import_check.load(sys.executable, root, "vllm.counter", False, server)["ok"]  # it serves on
    finally:
        server.close()
