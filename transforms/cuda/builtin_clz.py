from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import (Space, execution_space, file_space_macros, insert_after_includes, msvc_sees,
                               tree_space_macros)
from winport.transform import Context, CppTransform


MACROS = {"__builtin_clz": "WINPORT_CLZ", "__builtin_clzl": "WINPORT_CLZL", "__builtin_clzll": "WINPORT_CLZLL"}

HELPERS = """\
#ifndef WINPORT_CLZ  // winport: MSVC has no __builtin_clz; a portable constexpr form
  #ifdef _MSC_VER
    #ifdef __CUDACC__
__host__ __device__ constexpr int winport_clz64(unsigned long long x) {
  return x == 0 ? 64 : (x >> 63) ? 0 : 1 + winport_clz64(x << 1);
}
    #else
constexpr int winport_clz64(unsigned long long x) {
  return x == 0 ? 64 : (x >> 63) ? 0 : 1 + winport_clz64(x << 1);
}
    #endif
    #define WINPORT_CLZ(x) (winport_clz64(static_cast<unsigned int>(x)) - 32)
    #define WINPORT_CLZL(x) (winport_clz64(static_cast<unsigned long>(x)) - 8 * (8 - static_cast<int>(sizeof(unsigned long))))
    #define WINPORT_CLZLL(x) winport_clz64(static_cast<unsigned long long>(x))
  #else
    #define WINPORT_CLZ(x) __builtin_clz(x)
    #define WINPORT_CLZL(x) __builtin_clzl(x)
    #define WINPORT_CLZLL(x) __builtin_clzll(x)
  #endif
#endif
"""


class BuiltinClz(CppTransform):
    """Count leading zeros without `__builtin_clz` where MSVC compiles the code.

    Why:
    `__builtin_clz`, `__builtin_clzl` and `__builtin_clzll` are GCC/Clang
    builtins; MSVC has none of them (its `_BitScanReverse` is not
    `constexpr`), so host code that rounds to a power of two
    (`next_pow_2`) does not compile.

    Pattern:
    A call to one of the three builtins in host or `__host__ __device__`
    code that MSVC compiles (0.14.1: `core/math.hpp`; 0.24+:
    `core/utils.hpp` and new kernels). Device-only code is nvcc's, not
    MSVC's, and keeps the builtin.

    Rewrite:
    The call becomes `WINPORT_CLZ(x)` (`WINPORT_CLZL`, `WINPORT_CLZLL`), and
    the file gets, after its includes, a guarded block defining them: with
    MSVC a `constexpr` function that counts leading zeros (usable in
    constant expressions, and `__host__ __device__` under nvcc), elsewhere
    the builtin itself, so Linux compiles exactly what it compiled before.
    """

    id = "cuda/builtin-clz"
    seed = "K4"
    summary = "`__builtin_clz*` -> a portable constexpr count of leading zeros under #ifdef _MSC_VER"
    portable = True
    triggers = tuple(MACROS)
    trigger_words = True

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        macros = file_space_macros(ctx.plan, root)
        sites = []
        for call in treesitter.called(root, treesitter.words(MACROS)):
            if msvc_sees(call) and execution_space(call, macros) is not Space.DEVICE:
                sites.append(call)
        if not sites:
            if b"#ifndef WINPORT_CLZ" in ctx.source.body:
                ctx.already(root, "WINPORT_CLZ is defined in this file")
            return
        for call in sites:
            name = call.text.decode()
            ctx.replace_node(call, MACROS[name], f"{name} -> {MACROS[name]}")
        if b"#ifndef WINPORT_CLZ" not in ctx.source.body:
            insert_after_includes(ctx, root, HELPERS, "WINPORT_CLZ* defined (constexpr with MSVC)", sites)
