from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import Space, execution_space, msvc_sees, space_macros, tree_space_macros
from winport.transform import Context, CppTransform

_GNU_KEYWORDS = {"__asm__": "asm", "__asm": "asm", "__volatile__": "volatile", "__volatile": "volatile",
                 "__inline__": "inline", "__inline": "inline"}


class AsmVolatile(CppTransform):
    """Spell inline PTX assembly `asm volatile`, and report GNU asm in host code.

    Why:
    nvcc on Windows hands host code to MSVC and parses device code in MSVC
    mode; the GNU spellings `__asm__` and `__volatile__` are not accepted
    there, while the standard `asm` keyword with the `volatile` qualifier is
    what CUDA documents for inline PTX. MSVC on x64 has no inline assembler at
    all, so GNU asm in host code cannot be respelled: it needs an intrinsic.

    Pattern:
    Every GNU asm statement (`__asm__ __volatile__(...)`, `__asm(...)`) in a
    `__global__` or `__device__` function, or in a branch compiled only for the
    device (`#if defined(__CUDA_ARCH__)`), in the sources a CUDA build compiles.
    Code in `#if` branches that Windows never compiles (`__aarch64__`,
    `__linux__`, ...) is left alone.

    Rewrite:
    `__asm__` becomes `asm`, `__volatile__` becomes `volatile`; the operands
    are not touched. The two spellings mean the same to GCC and Clang, so the
    rewrite needs no `#ifdef` and Linux builds are unchanged.

    Reported:
    GNU asm in host or `__host__ __device__` code that MSVC compiles.
    """

    id = "cuda/asm-volatile"
    seed = "K5"
    summary = "`__asm__ __volatile__` -> `asm volatile` in device code; report GNU asm in host code"
    triggers = ("__asm__", "__asm", "asm")
    trigger_words = True

    def plan(self, tree) -> dict:
        """Attribute macros defined anywhere in the tree (`#define DINLINE __device__ ...`)."""
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        macros = {**(ctx.plan or {}), **space_macros(tree.root_node)}
        for _, node in treesitter.captures(self.language, "(gnu_asm_expression) @asm", tree.root_node):
            if not msvc_sees(node, device=True):
                continue
            space = execution_space(node, macros)
            if space is not Space.DEVICE:
                if msvc_sees(node):
                    ctx.report(node, f"GNU inline asm in {space.value} code: MSVC x64 has no inline "
                                     "assembler; replace it with an intrinsic under #ifdef _MSC_VER")
                continue
            gnu = [c for c in _keyword_tokens(node) if c.type in _GNU_KEYWORDS]
            if not gnu:
                ctx.already(node, "device asm already spelled `asm volatile`")
                continue
            for tok in gnu:
                ctx.edit(tok.start_byte, tok.end_byte, _GNU_KEYWORDS[tok.type])
            spelled = " ".join(t.type for t in gnu)
            ctx.applied(node, f"`{spelled}` -> `{' '.join(_GNU_KEYWORDS[t.type] for t in gnu)}`")


def _keyword_tokens(node):
    for child in node.children:
        if child.type == "gnu_asm_qualifier":
            yield from child.children
        elif not child.is_named:
            yield child
