"""The command line: exit codes, --check, --diff (applied with git), --json, list, explain."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from conftest import read_tree
from winport import registry
from winport.cli import main

FAKE_VLLM = {
    "setup.py": "from setuptools import setup\nsetup()\n",
    "vllm/__init__.py": "",
    "vllm/entrypoints/api_server.py": (
        "import socket\n\n\ndef make(addr):\n    sock = socket.socket()\n"
        "    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n    return sock\n"),
    "csrc/kernel.cu": "__global__ void k(int* x) {\n  __asm__ __volatile__(\"trap;\");\n"
                      "  if (x[0] == 0 or x[1] == 1) x[2] = 0;\n}\n",
    "cmake/utils.cmake": "macro (f EXECUTABLE)\n  file(REAL_PATH ${EXECUTABLE} EXECUTABLE)\nendmacro()\n",
    "CMakeLists.txt": "cmake_minimum_required(VERSION 3.26)\n",
}


@pytest.fixture
def vllm_tree(tree):
    return tree(FAKE_VLLM)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_rewrite_then_check_is_clean(vllm_tree):
    res = invoke("rewrite", vllm_tree, "--jobs", "1")
    assert res.exit_code == 0, res.output
    for tid in ("build/quote-real-path", "cuda/asm-volatile", "cuda/alt-tokens", "runtime/so-reuseport"):
        assert any(line.startswith(tid) and " applied " in line for line in res.output.splitlines()), tid
    assert "3 files changed, 4 sites" in res.output
    assert "Known limits of the port" in res.output and "single GPU" in res.output
    again = invoke("rewrite", "--check", vllm_tree)
    assert again.exit_code == 0, again.output
    assert "0 files would change" in again.output


def test_check_on_unported_tree_exits_1_and_writes_nothing(vllm_tree):
    before = read_tree(vllm_tree)
    res = invoke("rewrite", "--check", vllm_tree)
    assert res.exit_code == 1
    assert read_tree(vllm_tree) == before


def test_diff_writes_nothing_and_git_applies_it(vllm_tree, tmp_path):
    before = read_tree(vllm_tree)
    res = CliRunner().invoke(main, ["rewrite", "--diff", str(vllm_tree)])
    assert res.exit_code == 0
    patch = res.stdout
    assert patch.startswith("diff --git a/") and "+  asm volatile(" in patch
    assert read_tree(vllm_tree) == before

    # git applies the patch, and the result equals a real rewrite
    subprocess.run(["git", "init", "-q", str(vllm_tree)], check=True)
    (tmp_path / "p.diff").write_text(patch)
    subprocess.run(["git", "apply", str(tmp_path / "p.diff")], cwd=vllm_tree, check=True)
    shutil.rmtree(vllm_tree / ".git")
    patched = read_tree(vllm_tree)
    other = tmp_path / "other"
    shutil.copytree(vllm_tree, other, dirs_exist_ok=True)
    for path, data in before.items():
        (other / path).write_bytes(data)
    assert invoke("rewrite", other).exit_code == 0
    assert read_tree(other) == patched


def test_json_report(vllm_tree, tmp_path):
    out = tmp_path / "report.json"
    assert invoke("rewrite", vllm_tree, "--json", out).exit_code == 0
    data = json.loads(out.read_text())
    assert data["written"] is True and "csrc/kernel.cu" in data["changed"]
    alt = next(t for t in data["transforms"] if t["id"] == "cuda/alt-tokens")
    assert alt["outcome"] == "applied" and alt["seed"] == "K6"
    assert alt["files"][0]["sites"][0] == {"path": "csrc/kernel.cu", "line": 3, "column": 17,
                                           "message": "`or` -> `||`"}
    assert any("single GPU" in line for line in data["known_limits"])


def test_not_a_vllm_tree_is_exit_2_with_one_line(tmp_path):
    (tmp_path / "vllm").mkdir()
    res = CliRunner().invoke(main, ["rewrite", str(tmp_path)])
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0
    assert "not a vLLM source tree (missing setup.py, csrc)" in res.stderr
    res = CliRunner().invoke(main, ["rewrite", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such folder" in res.stderr


def test_unknown_transform_is_exit_2(vllm_tree):
    res = CliRunner().invoke(main, ["rewrite", str(vllm_tree), "--select", "cuda/nope"])
    assert res.exit_code == 2 and "no transform matches 'cuda/nope'" in res.stderr


def test_unknown_transform_stops_before_a_download(tmp_path, monkeypatch):
    import winport.fetch

    def no_download(*a, **k):
        raise AssertionError("downloaded")

    monkeypatch.setattr(winport.fetch, "fetch", no_download)
    res = CliRunner().invoke(main, ["rewrite", "--fetch", "0.14.1", "--select", "cuda/nope", str(tmp_path / "t")])
    assert res.exit_code == 2 and "no transform matches 'cuda/nope'" in res.stderr


def test_select_and_ignore(vllm_tree):
    res = invoke("rewrite", vllm_tree, "--select", "cuda/", "--ignore", "K6")
    assert res.exit_code == 0
    text = (vllm_tree / "csrc/kernel.cu").read_text()
    assert "asm volatile" in text and " or " in text
    assert "file(REAL_PATH ${EXECUTABLE}" in (vllm_tree / "cmake/utils.cmake").read_text()


def test_strict_exit_3_on_failure(vllm_tree):
    (vllm_tree / "csrc/latin1.cu").write_bytes("int caf\xe9 = a or b;\n".encode("latin-1"))
    res = invoke("rewrite", vllm_tree)
    assert res.exit_code == 0 and "failed   cuda/alt-tokens: csrc/latin1.cu: not valid UTF-8" in res.output
    res = invoke("rewrite", vllm_tree, "--strict")
    assert res.exit_code == 3


def test_list_and_explain():
    res = invoke("list")
    assert res.exit_code == 0
    assert [line.split()[0] for line in res.output.splitlines()] == [t.id for t in registry.all_transforms()]
    res = invoke("explain", "K5")
    assert res.exit_code == 0
    assert "cuda/asm-volatile (K5)" in res.output and "Why:" in res.output
    assert "--- before" in res.output and "__asm__ __volatile__(" in res.output and "asm volatile(" in res.output
    assert CliRunner().invoke(main, ["explain", "nope/nope"]).exit_code == 2


def test_python_dash_m_entry_point(vllm_tree):
    import sys

    out = subprocess.run([sys.executable, "-m", "winport", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and "cuda/asm-volatile" in out.stdout


def test_a_rewrite_that_changed_files_says_how_to_build_on_windows(vllm_tree):
    first = invoke("rewrite", vllm_tree, "--jobs", "1")
    assert "pip install -e . --no-build-isolation" in first.output and "winport doctor" in first.output
    assert "set VLLM_TARGET_DEVICE=cuda" in first.output
    again = invoke("rewrite", vllm_tree, "--jobs", "1")  # nothing changed: no next steps
    assert "pip install -e ." not in again.output
