from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import file_space_macros, Space, execution_space, msvc_sees, tree_space_macros
from winport.lang.gnu import ATTRIBUTE, FIXED, items
from winport.transform import Context, CppTransform

# Handled by cuda/builtin-clz (K4) and cuda/float-builtins (F5).
FIXED_ELSEWHERE = {"__builtin_clz", "__builtin_clzl", "__builtin_clzll", "__builtin_huge_valf", "__builtin_inff",
                   "__builtin_huge_val", "__builtin_inf", "__builtin_nanf", "__builtin_nan"}
_BUILTINS = re.compile(rb"\b__builtin_\w+\b")

# what the GNU attributes cuda/gnu-attributes leaves alone mean, and what to write instead
MEANING = {
    "ext_vector_type": "a Clang vector type (ROCm code); MSVC and nvcc have none: use a struct or CUDA's vector types",
    "address_space": "a Clang address space (AMDGPU); no meaning for MSVC or nvcc",
    "packed": "no padding between members; MSVC spells it #pragma pack(push, 1) ... #pragma pack(pop)",
    "visibility": "ELF symbol visibility; Windows has none (exports are __declspec(dllexport))",
    "format": "printf-style argument checking; MSVC has _Printf_format_string_ (SAL) or nothing",
    "weak": "a weak symbol; MSVC has no portable equivalent",
    "constructor": "runs before main; MSVC needs a static object or a .CRT$XCU section",
    "destructor": "runs after main; MSVC needs a static object's destructor",
    "const": "a pure function of its arguments; MSVC has no equivalent (drop it under _MSC_VER)",
    "pure": "no side effects; MSVC has no equivalent (drop it under _MSC_VER)",
    "may_alias": "an aliasing exemption; MSVC does no type-based alias analysis (drop it under _MSC_VER)",
    "vector_size": "a GCC vector type; MSVC has none: use intrinsic types (__m128, ...)",
    "hot": "an optimisation hint; drop it under _MSC_VER",
    "cold": "an optimisation hint; drop it under _MSC_VER",
}


class GnuExtensions(CppTransform):
    """Report GCC builtins and the `__attribute__((...))` winport does not rewrite.

    Why:
    `__builtin_expect`, `__builtin_ctz`, `__builtin_popcount`,
    `__builtin_ia32_*` and the other GCC builtins are not MSVC functions, and
    `__attribute__((...))` is not MSVC syntax; both are fine in device code
    (nvcc's), not in host code.

    Pattern:
    A call to a `__builtin_*` function (the `__builtin_clz` family is rewritten
    by `cuda/builtin-clz`) in host or `__host__ __device__` code that MSVC
    compiles; an `__attribute__((...))` or `__attribute((...))` (device code
    too: nvcc's front end reads it in MSVC's dialect on Windows), in code or in a
    `#define`, unless `cuda/gnu-attributes` rewrites it (`aligned`,
    `always_inline`, `noinline`, `unused`, ...).

    Rewrite:
    None: each site is reported, an attribute with what it means. MSVC has
    intrinsics for most builtins (`_BitScanForward`, `__popcnt`,
    `_mm_pause`) and `__declspec` or a pragma for some attributes; the right
    one depends on the use.
    """

    id = "detect/gnu-extensions"
    summary = "report GCC builtins and __attribute__((...)) in host code MSVC compiles"
    portable = True
    triggers = ("__builtin_", "__attribute")
    fixes = False

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        macros = file_space_macros(ctx.plan, root)
        for node in treesitter.called(root, _BUILTINS):
            name = node.text.decode()
            if name not in FIXED_ELSEWHERE and self._host(node, macros):
                ctx.report(node, f"{name} is a GCC builtin: MSVC has no such function; use an intrinsic "
                                 "under #ifdef _MSC_VER")
        for _, node in treesitter.captures(self.language, "(attribute_specifier) @a", root):
            if msvc_sees(node, device=True):
                self._attribute(node, node.text, ctx)
        for _, value in treesitter.captures(self.language, "(preproc_def value: (preproc_arg) @v)"
                                            "(preproc_function_def value: (preproc_arg) @v)", root):
            if b"__attribute" in value.text and msvc_sees(value, device=True):
                for m in ATTRIBUTE.finditer(value.text):
                    self._attribute(value.start_byte + m.start(), m.group(), ctx)

    @staticmethod
    def _attribute(where, text: bytes, ctx: Context) -> None:
        found = items(text) or []
        if found and all(name in FIXED for name, _ in found) and (len(found) == 1 or not isinstance(where, int)):
            return  # cuda/gnu-attributes rewrites it, or reports why it cannot
        unknown = [name for name, _ in found if name not in FIXED] or ["?"]
        meaning = "; ".join(f"{n}: {MEANING.get(n, 'no MSVC spelling known to winport')}" for n in unknown)
        ctx.report(where, f"{text.decode()[:60]} is GNU syntax MSVC rejects ({meaning})")

    @staticmethod
    def _host(node, macros) -> bool:
        return msvc_sees(node) and execution_space(node, macros) is not Space.DEVICE
