from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import (Space, execution_space, file_space_macros, in_directive, insert_after_includes,
                               msvc_sees, tree_space_macros)
from winport.lang.gnu import GCC_LIMITS
from winport.transform import Context, CppTransform

# <math.h> macros whose Windows SDK spelling nvcc's device pass rejects, and libcu++'s
# host-and-device spelling of the same value
SDK_MACROS = {"INFINITY": "::cuda::std::numeric_limits<float>::infinity()",
              "HUGE_VALF": "::cuda::std::numeric_limits<float>::infinity()",
              "NAN": "::cuda::std::numeric_limits<float>::quiet_NaN()"}
# GCC's predefined float limits (MSVC predefines none) and <cfloat>'s names for them
_NAMES = treesitter.words(sorted([*SDK_MACROS, *GCC_LIMITS]))
MARK = "winport: the Windows SDK's INFINITY/NAN do not compile in nvcc's device code"
LIMITS_MARK = "winport: MSVC predefines no __FLT_MAX__-style macros"


def block(names: list[str]) -> str:
    """The guarded redefinitions of ``names``: the SDK's macros for nvcc, GCC's limits
    for MSVC."""
    out = ""
    sdk = [n for n in SDK_MACROS if n in names]
    if sdk:
        lines = [f"#if defined(_MSC_VER) && defined(__CUDACC__)  // {MARK}", "  #include <cuda/std/limits>"]
        for name in sdk:
            lines += [f"  #undef {name}", f"  #define {name} ({SDK_MACROS[name]})"]
        out += "\n".join(lines + ["#endif"]) + "\n"
    gcc = [n for n in GCC_LIMITS if n in names]
    if gcc:
        lines = [f"#ifdef _MSC_VER  // {LIMITS_MARK}", "  #include <cfloat>"]
        for name in gcc:
            lines += [f"  #ifndef {name}", f"    #define {name} {GCC_LIMITS[name]}", "  #endif"]
        out += "\n".join(lines + ["#endif"]) + "\n"
    return out


class SdkFloatMacros(CppTransform):
    """Give nvcc on Windows an `INFINITY`/`NAN` its device code accepts, and MSVC GCC's float limits.

    Why:
    The Windows SDK's `<math.h>` spells `INFINITY` as an overflowing constant
    (`(float)(1e+300 * 1e+300)`, nvcc error #221-D "floating-point value does
    not fit in required floating-point type") or, from UCRT 10.0.26100, as
    MSVC builtins (`__builtin_huge_valf()`, `__builtin_nanf("0")`) that
    nvcc's device compilation does not know. vLLM's top-k, sampler and
    attention kernels start reductions at `-INFINITY`. GCC predefines
    `__FLT_MAX__`, `__DBL_EPSILON__` and their kin, MSVC none: a top-k kernel
    of 0.26 marks empty slots with `-__FLT_MAX__`.

    Pattern:
    `INFINITY`, `HUGE_VALF` or `NAN` in `__device__`, `__global__` or
    `__host__ __device__` code Windows compiles (`.cu` files and the headers
    they include), in a file that does not redefine them already. Host-only
    uses are MSVC's
    own and stay. `__FLT_MAX__`, `__FLT_MIN__`, `__FLT_EPSILON__` and their
    `__DBL_*__` twins in any C++/CUDA code Windows compiles.

    Rewrite:
    After the file's includes, under `#if defined(_MSC_VER) &&
    defined(__CUDACC__)`: `#include <cuda/std/limits>`, and each macro the
    file uses redefined as libcu++'s `::cuda::std::numeric_limits<float>`
    `infinity()` or `quiet_NaN()`, which are `__host__ __device__`
    `constexpr`: the same values in every pass. For GCC's limits, under
    `#ifdef _MSC_VER`, `#include <cfloat>` and each one the file uses defined
    as `<cfloat>`'s `FLT_MAX`, ... (unless defined already). Linux never sees
    the blocks.
    """

    id = "cuda/sdk-float-macros"
    seed = "C3"
    summary = "INFINITY/NAN in device code -> libcu++'s numeric_limits; __FLT_MAX__-style -> <cfloat> (MSVC only)"
    portable = True
    triggers = tuple(sorted([*SDK_MACROS, *GCC_LIMITS]))
    trigger_words = True

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        macros = file_space_macros(ctx.plan, root)
        names, uses = set(), []
        for node in treesitter.identifiers(root, _NAMES):
            name = node.text.decode()
            if in_directive(node, defines=name in SDK_MACROS) or not msvc_sees(node, device=True):
                continue
            if name in GCC_LIMITS or execution_space(node, macros) is not Space.HOST:
                names.add(name)
                uses.append(node)
        if not names:
            return
        body = ctx.source.body
        done = {n for n in names if (MARK if n in SDK_MACROS else LIMITS_MARK).encode() in body}
        if done:
            ctx.already(root, f"{', '.join(sorted(done))} defined for Windows")
        if names - done:
            todo = sorted(names - done)
            insert_after_includes(ctx, root, block(todo), f"{', '.join(todo)}: portable values for Windows",
                                  [n for n in uses if n.text.decode() in todo])
