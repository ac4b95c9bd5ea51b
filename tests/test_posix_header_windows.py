"""winport_posix.h behaves on Windows as POSIX does on Linux: one behaviour test
(tests/posix_header_check.cpp) is built with g++ against the real POSIX headers and
run here, and built with MinGW against the header (real Windows headers) and run
under wine. Both must print "ok".

CI installs MinGW and wine and sets WINPORT_REQUIRE_WINE=1: there a missing tool is
a failure, elsewhere a skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from winport.transforms.cuda.posix_compat import header_text

pytestmark = pytest.mark.toolchain  # g++, MinGW, wine

HERE = Path(__file__).parent
PROGRAM = HERE / "posix_header_check.cpp"
MINGW = shutil.which("x86_64-w64-mingw32-g++-posix")
WINE = shutil.which("wine64") or shutil.which("wine")


def _require(*tools):
    missing = [name for name, path in tools if path is None]
    if missing:
        if os.environ.get("WINPORT_REQUIRE_WINE"):
            pytest.fail(f"WINPORT_REQUIRE_WINE is set but {', '.join(missing)} is missing")
        pytest.skip(f"not installed: {', '.join(missing)}")


def test_the_check_passes_on_linux_with_real_posix(tmp_path):
    _require(("g++", shutil.which("g++")))
    exe = tmp_path / "check"
    build = subprocess.run(["g++", "-std=c++17", "-Wall", "-pthread", str(PROGRAM), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([str(exe), str(tmp_path / "data.bin")], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip().splitlines()[-1] == "ok", run.stdout


def _windows_build(tmp_path, header: str) -> Path:
    (tmp_path / "winport_posix.h").write_text(header)
    exe = tmp_path / "check.exe"
    build = subprocess.run([MINGW, "-std=c++17", "-O1", "-DWINPORT_POSIX_SHIMS", f"-I{tmp_path}", str(PROGRAM),
                            "-o", str(exe), "-static"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    return exe


def _wine(exe: Path, tmp_path: Path) -> str:
    env = {**os.environ, "WINEDEBUG": "-all", "WINEPREFIX": str(Path.home() / ".cache" / "winport" / "wine")}
    run = subprocess.run([WINE, str(exe), "data.bin"], capture_output=True, text=True, timeout=300, env=env,
                         cwd=tmp_path)
    return run.stdout


def test_the_check_passes_on_windows_with_the_header(tmp_path):
    _require(("x86_64-w64-mingw32-g++-posix", MINGW), ("wine", WINE))
    out = _wine(_windows_build(tmp_path, header_text()), tmp_path)
    assert out.strip().splitlines()[-1] == "ok", out


def test_the_check_fails_on_windows_without_binary_open(tmp_path):
    """The check can fail: with text-mode open the bytes written are not the bytes read."""
    _require(("x86_64-w64-mingw32-g++-posix", MINGW), ("wine", WINE))
    broken = header_text().replace("flags | _O_BINARY", "flags")
    assert broken != header_text()
    out = _wine(_windows_build(tmp_path, broken), tmp_path)
    assert "FAIL" in out and out.strip().splitlines()[-1].startswith("failed"), out
