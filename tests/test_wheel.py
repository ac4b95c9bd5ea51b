"""The wheel carries the engine, the transforms and the fixtures, and no top-level
`transforms` package: build it, install it in a fresh venv, run `winport list`.
The example plug-in (examples/winport-example-plugin), written against docs/api.md,
installs beside it: its cases pass `winport test`, a wrong case fails with a diff,
and mypy --strict passes on it against the installed winport."""

from __future__ import annotations

import shutil
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


PLUGIN = ROOT / "examples" / "winport-example-plugin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True)
    return next(out.glob("winport-*.whl"))


def test_wheel_installs_and_lists(tmp_path, wheel):
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


def test_the_example_plugin_installs_tests_and_type_checks(tmp_path, wheel):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(PLUGIN)], check=True, capture_output=True)
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env)
    py, winport = env / "bin" / "python", str(env / "bin" / "winport")
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel), *map(str, dist.glob("*.whl"))], check=True,
                   capture_output=True)

    listed = subprocess.run([winport, "list"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0 and "warning" not in listed.stderr, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()][-2:] == ["example/builtin-expect",
                                                                            "example/os-getuid"]
    fixtures = subprocess.run([str(py), "-c", "import winport_example, pathlib; "
                               "print(pathlib.Path(winport_example.__file__).parent / 'fixtures')"],
                              capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    passed = subprocess.run([winport, "test", fixtures], capture_output=True, text=True, cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.splitlines()[-1] == "winport test: 6 case(s), 6 passed, 0 failed"
    wrong = subprocess.run([winport, "test", str(PLUGIN / "broken-case")], capture_output=True, text=True,
                           cwd=tmp_path)
    assert wrong.returncode == 1
    assert "FAIL  example/os-getuid/wrong-after" in wrong.stdout and "--- expected/vllm/envs.py" in wrong.stdout
    assert '+    return (_os.getuid() if hasattr(_os, "getuid") else 0) == 0' in wrong.stdout
    explained = subprocess.run([winport, "explain", "example/builtin-expect"], capture_output=True, text=True,
                               cwd=tmp_path)
    assert explained.returncode == 0 and "if (__builtin_expect(i >= n, 0)) {" in explained.stdout

    # the plug-in's sources type-check strictly against the installed winport (py.typed), from a
    # folder where no winport checkout shadows it
    src = tmp_path / "check" / "winport_example"
    shutil.copytree(PLUGIN / "src" / "winport_example", src, ignore=shutil.ignore_patterns("fixtures"))
    typed = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", str(py),
                            "--no-incremental", str(src)], capture_output=True, text=True, cwd=tmp_path / "check")
    assert typed.returncode == 0 and "Success: no issues found in 3 source files" in typed.stdout, typed.stdout
    bad = src / "os_getuid.py"
    bad.write_text(bad.read_text().replace("ctx.applied(self.pos(original), ", 'ctx.applied("line 3", '))
    typed = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", str(py),
                            "--no-incremental", str(src)], capture_output=True, text=True, cwd=tmp_path / "check")
    # ... and the check is not vacuous: winport's signatures reach it
    assert typed.returncode == 1 and 'Argument 1 to "applied" of "Context" has incompatible type "str"' in typed.stdout
