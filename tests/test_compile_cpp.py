"""Rewritten C++ that needs neither CUDA nor torch, compiled with g++; and the K4
count-leading-zeros replacement checked against the builtin on sampled inputs.

g++ compiles the portable branch too: defining ``_MSC_VER`` selects the code
MSVC would compile.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winport.transforms.cuda.builtin_clz import HELPERS

GXX = shutil.which("g++")
pytestmark = [pytest.mark.toolchain, pytest.mark.skipif(GXX is None, reason="g++ is not installed")]


def gxx(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([GXX, "-std=c++17", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.release
def test_pure_cpp_headers_compile_before_and_after(ported, tmp_path):
    """The clz helpers' headers (core/math.hpp, core/utils.hpp), as shipped and as ported."""
    headers = [p for p in ("csrc/core/math.hpp", "csrc/core/utils.hpp", "csrc/libtorch_stable/core/math.hpp")
               if p in ported.report.changed]
    assert headers, "no pure C++ clz header was rewritten"
    for path in headers:
        for tree, defines in ((ported.pristine, ()), (ported.root, ()), (ported.root, ("-D_MSC_VER=1940",))):
            unit = tmp_path / "unit.cpp"
            unit.write_text(f'#include <cstdint>\n#include "{tree / path}"\nint main() {{ return 0; }}\n')
            out = gxx("-fsyntax-only", *defines, str(unit))
            assert out.returncode == 0, (path, str(tree), defines, out.stderr[-2000:])


PROGRAM = HELPERS + r"""
#include <cstdio>
#include <cstdint>
#include <climits>
static_assert(WINPORT_CLZ(1u) == 31, "constexpr");
static_assert(WINPORT_CLZLL(1ull) == 63, "constexpr");
inline constexpr uint32_t next_pow_2(uint32_t const num) {  // vLLM's, on the macro
  if (num <= 1) return num;
  return 1 << (CHAR_BIT * sizeof(num) - WINPORT_CLZ(num - 1));
}
inline constexpr uint32_t next_pow_2_builtin(uint32_t const num) {
  if (num <= 1) return num;
  return 1 << (CHAR_BIT * sizeof(num) - __builtin_clz(num - 1));
}
int main() {
  unsigned long long v;
  while (std::scanf("%llu", &v) == 1) {
    unsigned int v32 = static_cast<unsigned int>(v);
    std::printf("%d %d %d %d %u %u\n", v32 ? WINPORT_CLZ(v32) : -1, v32 ? __builtin_clz(v32) : -1,
                WINPORT_CLZLL(v), __builtin_clzll(v), next_pow_2(v32 & 0x7fffffffu),
                next_pow_2_builtin(v32 & 0x7fffffffu));
  }
}
"""


@pytest.fixture(scope="module")
def clz_program(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clz")
    (folder / "clz.cpp").write_text(PROGRAM)
    # _MSC_VER selects the portable branch; the builtins stay available to compare with
    out = gxx("-O1", "-D_MSC_VER=1940", "clz.cpp", "-o", "clz", cwd=folder)
    assert out.returncode == 0, out.stderr
    return folder / "clz"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=2**64 - 1), min_size=1, max_size=200))
def test_portable_clz_agrees_with_builtin(clz_program, values):
    values += [1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, 2**31 + 1]
    out = subprocess.run([str(clz_program)], input=" ".join(map(str, values)), capture_output=True, text=True)
    for value, line in zip(values, out.stdout.splitlines(), strict=True):
        clz, builtin, clzll, builtinll, np2, np2_builtin = (int(x) for x in line.split())
        assert clz == builtin and clzll == builtinll and np2 == np2_builtin, value


def _plain_cpp_fixtures():
    """(case, path) of fixture files that are plain C++: no CUDA, torch or Python headers."""
    from winport import registry
    from winport.examples import cases

    out = []
    for t in registry.all_transforms():
        for case in cases(t.id):
            for path, data in case.files("after").items():
                if path.endswith((".cpp", ".hpp")) and not any(
                        h in data for h in (b"cuda", b"torch", b"Python.h", b"__global__", b"__device__")):
                    out.append((case, path))
    return out


@pytest.mark.parametrize("case, path", _plain_cpp_fixtures(), ids=lambda x: getattr(x, "name", x))
def test_plain_cpp_fixtures_compile(case, path, tmp_path):
    for which in ("before", "after"):
        root = tmp_path / which
        for name, data in case.files(which).items():  # the file's includes from the case resolve
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        out = gxx("-fsyntax-only", "-x", "c++", f"-I{root / 'include'}", f"-I{root / 'csrc'}", str(root / path))
        assert out.returncode == 0, (which, path, out.stderr[-1500:])


DISPATCH_PROGRAM = {
    "csrc/static_switch.h": """#pragma once
#define BOOL_SWITCH(COND, CONST_NAME, ...) \\
  [&] {                                    \\
    if (COND) {                            \\
      constexpr bool CONST_NAME = true;    \\
      return __VA_ARGS__();                \\
    } else {                               \\
      constexpr bool CONST_NAME = false;   \\
      return __VA_ARGS__();                \\
    }                                      \\
  }()
""",
    "csrc/dispatch.cpp": """#include <cstdio>
#include <cstdlib>
#include "static_switch.h"

static int evaluations = 0;
static bool cond(bool value, int order) { std::printf("cond%d ", order); ++evaluations; return value; }

template <bool A, bool B, bool C>
void record(int n) { std::printf("leaf<%d,%d,%d> n=%d\\n", A, B, C, n); }

void launch(bool a, bool b, bool c, int n) {
  BOOL_SWITCH(cond(a, 0), kA, [&] {
    BOOL_SWITCH(cond(b, 1), kB, [&] {
      BOOL_SWITCH(cond(c, 2), kC, [&] {
        record<kA, kB, kC>(n);
      });
    });
  });
}

int main(int argc, char** argv) {
  for (int i = 0; i < 8; ++i) launch(i & 4, i & 2, i & 1, i);
  std::printf("evaluations=%d\\n", evaluations);
}
""",
}


# the MLA decode nest's shape: the macro returns a value, each lambda ends with `return true;`
MLA_DISPATCH_PROGRAM = {
    "csrc/mla.cpp": """#include <cstdio>

static int evaluations = 0;
static bool cond(bool value, int order) { std::printf("cond%d ", order); ++evaluations; return value; }

template <bool A, bool B>
void record(int n) { std::printf("leaf<%d,%d> n=%d\\n", A, B, n); }

#define DISPATCH_BOOL(expr, const_expr, ...) \\
  [&]() -> bool {                            \\
    if (expr) {                              \\
      constexpr bool const_expr = true;      \\
      return __VA_ARGS__();                  \\
    } else {                                 \\
      constexpr bool const_expr = false;     \\
      return __VA_ARGS__();                  \\
    }                                        \\
  }()

void decode(bool a, bool b, int n) {
  DISPATCH_BOOL(cond(a, 0), IsPaged128, [&] {
    DISPATCH_BOOL(cond(b, 1), NotManualSplitKV, [&] {
      record<IsPaged128, NotManualSplitKV>(n);
      return true;
    });
    return true;
  });
}

int main() {
  for (int i = 0; i < 4; ++i) decode(i & 2, i & 1, i);
  std::printf("evaluations=%d\\n", evaluations);
}
""",
}


@pytest.mark.parametrize("program, main, evaluations", [
    (DISPATCH_PROGRAM, "csrc/dispatch.cpp", 24), (MLA_DISPATCH_PROGRAM, "csrc/mla.cpp", 8)], ids=["switch", "mla"])
def test_flattened_bool_dispatch_runs_the_same_leaves(tmp_path, program, main, evaluations):
    """K2 on a host-only nest: the same leaf per input, conditions evaluated in the same order."""
    from winport import Pipeline, registry

    outputs = {}
    for which in ("before", "after"):
        root = tmp_path / which
        for rel, text in program.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        if which == "after":
            report = Pipeline(registry.select(["K2"]), jobs=1).run(str(root))
            assert report.by_id("cuda/bool-dispatch").sites, "the nest was not rewritten"
            text = (root / main).read_text()
            assert "SWITCH(cond" not in text and "BOOL(cond" not in text
        out = gxx("-O0", main, "-o", "dispatch", cwd=root)
        assert out.returncode == 0, out.stderr[-2000:]
        outputs[which] = subprocess.run([str(root / "dispatch")], capture_output=True, text=True).stdout
    assert outputs["after"] == outputs["before"] and f"evaluations={evaluations}" in outputs["after"]


NVCC = shutil.which("nvcc")


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_float_builtin_spellings_equal_the_builtins(tmp_path):
    """What cuda/float-builtins writes for nvcc with MSVC (libcu++'s numeric_limits)
    is, on host and device, the value of the GCC builtin it stands for."""
    from winport.transforms.cuda.float_builtins import MACROS

    checks = []
    for name, (_, spelling) in MACROS.items():
        arg = '""' if name.endswith(("nan", "nanf")) else ""
        if "nan" in name:  # NaN equals nothing: compare the bits
            kind = "float" if name.endswith("f") else "double"
            same = (f"__builtin_bit_cast(cuda::std::conditional_t<sizeof({kind}) == 4, unsigned, unsigned long long>, "
                    f"{spelling}) == __builtin_bit_cast(cuda::std::conditional_t<sizeof({kind}) == 4, unsigned, "
                    f"unsigned long long>, {name}({arg}))")
        else:
            same = f"{spelling} == {name}({arg})"
        checks.append(f"static_assert({same}, \"{name}\");")
        checks.append(f"__device__ bool device_{name}() {{ return {same}; }}")
    src = tmp_path / "spellings.cu"
    src.write_text("#include <cuda/std/limits>\n#include <cuda/std/type_traits>\n" + "\n".join(checks) + "\n")
    out = subprocess.run([NVCC, "-std=c++17", "-c", str(src), "-o", str(tmp_path / "s.o")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
