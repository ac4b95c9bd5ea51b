"""cuda/math-constants writes glibc's values: each literal, compiled by g++ as the
MSVC branch of the block, equals the macro glibc's <cmath> gives g++ (as a long
double, so every digit that reaches a double and beyond counts)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from winport.transforms.cuda.math_constants import GLIBC, block

GXX = shutil.which("g++")
pytestmark = [pytest.mark.toolchain, pytest.mark.skipif(GXX is None, reason="g++ is not installed")]


def _values(tmp_path, name: str, source: str, *flags: str, names=tuple(GLIBC)) -> dict[str, str]:
    prints = "".join(f'  std::printf("{n} %La\\n", (long double){n});\n' for n in names)
    unit = tmp_path / f"{name}.cpp"
    unit.write_text(f"{source}\n#include <cstdio>\nint main() {{\n{prints}  return 0;\n}}\n")
    exe = tmp_path / name
    build = subprocess.run([GXX, "-std=c++17", *flags, str(unit), "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_every_constant_is_glibcs(tmp_path):
    glibc = _values(tmp_path, "glibc", "#include <cmath>")
    # the block's own definitions: _MSC_VER set, and no math header to define them first
    ours = _values(tmp_path, "ours", block(list(GLIBC)), "-D_MSC_VER=1940")
    assert sorted(ours) == sorted(glibc) == sorted(GLIBC)
    assert ours == glibc


def test_a_definition_made_first_is_kept_and_only_used_constants_are_defined(tmp_path):
    source = "#define M_PI 3.0\n" + block(["M_PI", "M_E"])
    values = _values(tmp_path, "kept", source, "-D_MSC_VER=1940", names=("M_PI", "M_E"))
    assert float.fromhex(values["M_PI"]) == 3.0 and values["M_E"] == _values(tmp_path, "e", "#include <cmath>",
                                                                             names=("M_E",))["M_E"]
    assert block(["M_PI"]).count("#define") == 1
