"""The CMake hook build/dependency-hook writes, run by cmake: a configure that takes
the WIN32 branch ports a dependency fetched with FetchContent (a local folder)
once, a reconfigure is a no-op until a file of it changes, failures stop the
configure with winport's message, the MSVC flags reach the subproject, and a
Linux configure never runs winport."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run
from winport.transforms.build.msvc_flags import BLOCK

if shutil.which("cmake") is None and os.environ.get("WINPORT_REQUIRE_CMAKE"):
    raise RuntimeError("WINPORT_REQUIRE_CMAKE is set but cmake is not installed")
pytestmark = [pytest.mark.toolchain, pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")]

TOP = """cmake_minimum_required(VERSION 3.24)
project(toy LANGUAGES NONE)
{msvc_block}
include(FetchContent)
FetchContent_Declare(cutlass SOURCE_DIR "{dep}")
FetchContent_MakeAvailable(cutlass)
"""

DEP_CMAKE = """cmake_minimum_required(VERSION 3.24)
project(cutlass LANGUAGES NONE)
get_directory_property(options COMPILE_OPTIONS)
get_directory_property(definitions COMPILE_DEFINITIONS)
file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/inherited.txt" "${options}|${definitions}")
"""

HEADER = b"#pragma once\ninline bool pick(bool a, bool b) { return a and not b; }\n"


def toy(tmp_path: Path, header: bytes = HEADER) -> tuple[Path, Path]:
    dep = tmp_path / "cutlass-src"
    (dep / "include/cutlass").mkdir(parents=True)
    (dep / "include/cutlass/cutlass.h").write_bytes(header)
    (dep / "CMakeLists.txt").write_text(DEP_CMAKE)
    top = tmp_path / "vllm"
    top.mkdir()
    (top / "CMakeLists.txt").write_text(TOP.format(msvc_block=BLOCK, dep=dep.as_posix()))
    report = run(top, "build/dependency-hook")
    assert report.by_id("build/dependency-hook").sites
    assert (top / "cmake/winport_dependencies.cmake").exists()
    return top, dep


def configure(top: Path, build: Path, windows: bool, python: str = sys.executable):
    args = ["cmake", "-S", str(top), "-B", str(build), f"-DPython_EXECUTABLE={python}"]
    if windows:  # the WIN32 and MSVC branches, as a Windows configure with MSVC takes them
        args += ["-DWIN32=ON", "-DMSVC=ON"]
    env = {**os.environ, "WINPORT_CACHE_DIR": str(build / "winport-cache")}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, cwd=build.parent)


def test_windows_configure_ports_once_and_again_after_a_change(tmp_path):
    top, dep = toy(tmp_path)
    build = tmp_path / "build"
    first = configure(top, build, windows=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "winport: porting cutlass for MSVC" in first.stdout
    ported = (dep / "include/cutlass/cutlass.h").read_bytes()
    assert b"return a && ! b;" in ported
    assert (build / "winport/cutlass.ported").read_text() == dep.as_posix()

    # the subproject inherits the MSVC block's flags (directory properties)
    inherited = (build / "_deps/cutlass-build/inherited.txt").read_text()
    assert "/Zc:__cplusplus" in inherited and "/Zc:preprocessor" in inherited
    assert "WIN32_LEAN_AND_MEAN" in inherited and "_CRT_DECLARE_NONSTDC_NAMES=1" in inherited

    mtime = (dep / "include/cutlass/cutlass.h").stat().st_mtime_ns
    second = configure(top, build, windows=True)
    assert second.returncode == 0, second.stderr
    assert "winport: porting" not in second.stdout  # a no-op: winport does not even start
    assert (dep / "include/cutlass/cutlass.h").stat().st_mtime_ns == mtime

    (dep / "include/cute").mkdir()
    (dep / "include/cute/new.hpp").write_bytes(HEADER)  # a new revision brings a file
    third = configure(top, build, windows=True)
    assert third.returncode == 0, third.stderr
    assert "winport: porting cutlass for MSVC" in third.stdout
    assert b"&&" in (dep / "include/cute/new.hpp").read_bytes()


def test_linux_configure_never_runs_winport(tmp_path):
    top, dep = toy(tmp_path)
    build = tmp_path / "build"
    out = configure(top, build, windows=False)
    assert out.returncode == 0, out.stderr
    assert "winport" not in out.stdout
    assert (dep / "include/cutlass/cutlass.h").read_bytes() == HEADER
    assert not (build / "winport").exists()
    assert "/Zc" not in (build / "_deps/cutlass-build/inherited.txt").read_text()


def test_missing_winport_stops_the_configure_naming_the_install(tmp_path):
    top, dep = toy(tmp_path)
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    out = configure(top, tmp_path / "build", windows=True, python=str(python))
    assert out.returncode != 0
    message = " ".join(out.stderr.split())  # cmake wraps long messages
    assert "winport is not installed for" in message
    assert f'"{python}" -m pip install winport' in message
    assert (dep / "include/cutlass/cutlass.h").read_bytes() == HEADER


def test_failed_transform_stops_the_configure_with_winports_message(tmp_path):
    # a __host__ __device__ variable template used inside a macro body: cuda/var-template-function
    # fails rather than convert it half, and --strict makes that an error
    header = (b"#pragma once\ntemplate <class T> __host__ __device__ constexpr T limit_v = T(1);\n"
              b"#define LIMIT(T) limit_v<T>\n")
    top, dep = toy(tmp_path, header)
    out = configure(top, tmp_path / "build", windows=True)
    assert out.returncode != 0
    assert "winport: porting cutlass" in out.stderr and "failed (exit 3)" in out.stderr
    assert "cuda/var-template-function" in out.stderr
    assert (dep / "include/cutlass/cutlass.h").read_bytes() == header
    assert not (tmp_path / "build/winport/cutlass.ported").exists()
