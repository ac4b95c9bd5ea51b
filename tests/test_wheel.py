"""The wheel carries the engine, the transforms and the fixtures, and no top-level
`transforms` package: build it, install it in a fresh venv, run `winport list`."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from winport.cli import explanation
from winport.registry import builtin

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.wheel


def test_wheel_installs_and_lists(tmp_path):
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(out.glob("winport-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "winport/transforms/cuda/asm_volatile.py" in names
    assert any(n.startswith("winport/fixtures/cuda/asm-volatile/") for n in names)
    assert not any(n.startswith("transforms/") for n in names)

    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env)
    py = env / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    res = subprocess.run([str(env / "bin" / "winport"), "list"], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [line.split()[0] for line in res.stdout.splitlines()] == [cls.id for cls in builtin()]
    res = subprocess.run([str(env / "bin" / "winport"), "explain", "R6"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert res.returncode == 0 and 'if hasattr(socket, "SO_REUSEPORT"):' in res.stdout

    # pip byte-compiles the installed fixtures' .py files; `explain` reads the cases as
    # data, so every transform's explanation is the checkout's, with no compiled bytes
    site = subprocess.run([str(py), "-c", "import winport.fixtures as f; print(f.__path__[0])"],
                          capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    assert any(Path(site).rglob("__pycache__/*.pyc")), "pip compiled no fixture: the check below proves nothing"
    for cls in builtin():
        res = subprocess.run([str(env / "bin" / "winport"), "explain", cls.id], capture_output=True, text=True,
                             cwd=tmp_path)
        assert res.returncode == 0, (cls.id, res.stderr)
        assert ".pyc" not in res.stdout and "\ufffd" not in res.stdout, cls.id
        assert res.stdout.rstrip("\n") == explanation(cls()).rstrip("\n"), cls.id
