"""cuda/sdk-float-macros redefines INFINITY, HUGE_VALF and NAN with libcu++'s values:
compiled by nvcc as the Windows branch of the block (its condition taken as true),
the new macros are accepted in __device__, __global__ and __host__ __device__ code,
and equal (at compile time) the values <cmath> gave before."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from winport.transforms.cuda.sdk_float_macros import SDK_MACROS, block

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")

UNIT = """
#include <cmath>
#include <cstdio>
constexpr float kInf = INFINITY, kHuge = HUGE_VALF;
constexpr bool kNanIsNan = NAN != NAN;
{block}
static_assert(INFINITY == kInf && HUGE_VALF == kHuge && -INFINITY == -kInf, "infinity changed");
static_assert(NAN != NAN && kNanIsNan, "NAN is no longer a NaN");

__device__ float floor_value() {{ return -INFINITY; }}
__host__ __device__ inline bool masked(float x) {{ return x == -INFINITY || x != x; }}
__global__ void fill(float* out) {{ out[threadIdx.x] = masked(out[threadIdx.x]) ? NAN : floor_value() + HUGE_VALF; }}

int main() {{
  std::printf("%d %d %d\\n", masked(-INFINITY), masked(NAN), masked(1.0f));
  return 0;
}}
"""


@pytest.mark.toolchain
@needs_nvcc
def test_the_windows_branch_compiles_in_device_code_with_the_same_values(tmp_path):
    windows = block(sorted(SDK_MACROS)).replace("defined(_MSC_VER) && defined(__CUDACC__)", "1")
    assert windows.count("#define") == 3 and "#include <cuda/std/limits>" in windows
    unit = tmp_path / "unit.cu"
    unit.write_text(UNIT.format(block=windows))
    exe = tmp_path / "unit"
    # sm_80 device code as well as the host pass
    build = subprocess.run([NVCC, "-std=c++17", "-arch=sm_80", str(unit), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    assert subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout == "1 1 0\n"


def test_only_the_macros_a_file_uses_are_redefined():
    assert block(["NAN"]).count("#define") == 1 and "#define INFINITY" not in block(["NAN"])


# MSVC's <float.h> spells its limits as literals (glibc's refers to GCC's macros, which
# would make the block circular on Linux): these stand in for it
MSVC_FLOAT_H = {"FLT_MAX": "3.402823466e+38F", "FLT_MIN": "1.175494351e-38F", "FLT_EPSILON": "1.192092896e-07F",
                "DBL_MAX": "1.7976931348623158e+308", "DBL_MIN": "2.2250738585072014e-308",
                "DBL_EPSILON": "2.2204460492503131e-016"}


@pytest.mark.toolchain
@needs_nvcc
def test_gccs_limits_become_cfloats_with_the_same_values(tmp_path):
    from winport.lang.gnu import GCC_LIMITS

    names = sorted(GCC_LIMITS)
    assert sorted(GCC_LIMITS.values()) == sorted(MSVC_FLOAT_H)
    msvc = block(names).replace("#ifdef _MSC_VER", "#if 1")  # the MSVC branch, compiled here
    source = "#include <cfloat>\n" + "".join(f"constexpr auto gcc_{n} = {n};\n" for n in names)
    # then as MSVC sees them: GCC's undefined, <cfloat>'s literals
    source += "".join(f"#undef {n}\n" for n in names)
    source += "".join(f"#undef {k}\n#define {k} {v}\n" for k, v in MSVC_FLOAT_H.items()) + msvc
    source += "".join(f'static_assert({n} == gcc_{n}, "{n}");\n' for n in names) + "int main() { return 0; }\n"
    unit = tmp_path / "limits.cu"
    unit.write_text(source)
    build = subprocess.run([NVCC, "-std=c++17", "-Wno-deprecated-gpu-targets", "-c", str(unit), "-o",
                            str(tmp_path / "limits.o")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    assert msvc.count("#define") == 6
