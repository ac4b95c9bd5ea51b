from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import Space, execution_space, msvc_sees, space_macros, tree_space_macros
from winport.transform import Context, CppTransform

# Handled by cuda/builtin-clz (K4).
FIXED_ELSEWHERE = {"__builtin_clz", "__builtin_clzl", "__builtin_clzll"}
_BUILTINS = re.compile(rb"\b__builtin_\w+\b")


class GnuExtensions(CppTransform):
    """Report GCC builtins and `__attribute__((...))` in code MSVC compiles.

    Why:
    `__builtin_expect`, `__builtin_ctz`, `__builtin_popcount`,
    `__builtin_ia32_*` and the other GCC builtins are not MSVC functions, and
    `__attribute__((...))` is not MSVC syntax; both are fine in device code
    (nvcc's), not in host code.

    Pattern:
    A call to a `__builtin_*` function (the `__builtin_clz` family is rewritten
    by `cuda/builtin-clz`) or an `__attribute__((...))`, in host or
    `__host__ __device__` code that MSVC compiles.

    Rewrite:
    None: each site is reported. MSVC has intrinsics for most builtins
    (`_BitScanForward`, `__popcnt`, `_mm_pause`) and `__declspec` for some
    attributes; the right one depends on the use.
    """

    id = "detect/gnu-extensions"
    summary = "report GCC builtins and __attribute__((...)) in host code MSVC compiles"
    triggers = ("__builtin_", "__attribute__")
    fixes = False

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        macros = {**(ctx.plan or {}), **space_macros(root)}
        for node in treesitter.called(root, _BUILTINS):
            name = node.text.decode()
            if name not in FIXED_ELSEWHERE and self._host(node, macros):
                ctx.report(node, f"{name} is a GCC builtin: MSVC has no such function; use an intrinsic "
                                 "under #ifdef _MSC_VER")
        for _, node in treesitter.captures(self.language, "(attribute_specifier) @a", root):
            if self._host(node, macros):
                ctx.report(node, f"{node.text.decode()[:60]} is GNU syntax: MSVC rejects __attribute__")

    @staticmethod
    def _host(node, macros) -> bool:
        return msvc_sees(node) and execution_space(node, macros) is not Space.DEVICE
