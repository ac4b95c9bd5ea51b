from __future__ import annotations

from dataclasses import dataclass, field

from winport.lang import treesitter
from winport.lang.cpp import (Space, execution_space, file_space_macros, insert_after_includes, msvc_sees,
                               tree_device_only_macros, tree_space_macros)
from winport.transform import Context, CppTransform


# Host-side GNU asm idioms and the MSVC intrinsic (from <intrin.h>) that does the same.
IDIOMS = {"pause": "_mm_pause()", "yield": "_mm_pause()", "": "_ReadWriteBarrier()"}
INTRIN = """\
#ifdef _MSC_VER
#include <intrin.h>  // winport: MSVC intrinsics for GNU asm idioms
#endif
"""

_GNU_KEYWORDS = {"__asm__": "asm", "__asm": "asm", "__volatile__": "volatile", "__volatile": "volatile",
                 "__inline__": "inline", "__inline": "inline"}



@dataclass(frozen=True)
class AsmPlan:
    """What the tree tells about a file's asm: the attribute macros defined anywhere
    (``#define DINLINE __device__ ...``), and the macros defined only for device passes
    (CUTLASS's ``CUTE_ARCH_*_ENABLED``)."""

    macros: dict[str, set[Space]] = field(default_factory=dict)
    device_only: frozenset[str] = frozenset()

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

    Host code has no inline assembler with MSVC on x64, but three idioms
    have intrinsics: a spin-wait `pause` (and ARM's `yield`) becomes
    `_mm_pause()`, and an empty asm with a `"memory"` clobber (a compiler
    barrier) becomes `_ReadWriteBarrier()`. The statement is kept for other
    compilers: `#ifdef _MSC_VER <intrinsic>; #else <asm>; #endif`, and
    `<intrin.h>` is included under `#ifdef _MSC_VER`.

    Reported:
    Any other GNU asm in host or `__host__ __device__` code that MSVC compiles.
    """

    id = "cuda/asm-volatile"
    seed = "K5"
    summary = "`__asm__ __volatile__` -> `asm volatile` in device code; report GNU asm in host code"
    portable = True
    triggers = ("__asm__", "__asm", "asm")
    trigger_words = True

    def plan(self, tree) -> AsmPlan:
        """Attribute macros defined anywhere in the tree (`#define DINLINE __device__ ...`),
        and the macros defined only for device passes (CUTLASS's `CUTE_ARCH_*_ENABLED`)."""
        return AsmPlan(tree_space_macros(tree), frozenset(tree_device_only_macros(tree)))

    def rewrite(self, tree, ctx: Context) -> None:
        plan: AsmPlan = ctx.plan or AsmPlan()
        macros = file_space_macros(plan.macros, tree.root_node)
        device_only = plan.device_only
        for node in treesitter.led_by(tree.root_node, ("asm", "__asm__", "__asm"), "gnu_asm_expression"):
            if not msvc_sees(node, device=True):
                continue
            space = execution_space(node, macros, device_only)
            if space is not Space.DEVICE:
                if msvc_sees(node, device_only=device_only):
                    self._host(node, space, ctx, tree.root_node)
                continue
            gnu = [c for c in _keyword_tokens(node) if c.type in _GNU_KEYWORDS]
            if not gnu:
                ctx.already(node, "device asm already spelled `asm volatile`")
                continue
            for tok in gnu:
                ctx.edit(tok.start_byte, tok.end_byte, _GNU_KEYWORDS[tok.type])
            spelled = " ".join(t.type for t in gnu)
            ctx.applied(node, f"`{spelled}` -> `{' '.join(_GNU_KEYWORDS[t.type] for t in gnu)}`")


    def _host(self, node, space, ctx: Context, root) -> None:
        statement = node.parent
        if _under_msvc_else(node):
            ctx.already(node, "host asm already has an MSVC branch")
            return
        intrinsic = IDIOMS.get(_template(node)) if statement.type == "expression_statement" else None
        if intrinsic is None or (_template(node) == "" and b'"memory"' not in node.text):
            ctx.report(node, f"GNU inline asm in {space.value} code: MSVC x64 has no inline "
                             "assembler; replace it with an intrinsic under #ifdef _MSC_VER")
            return
        start, indent = ctx.line_of(statement.start_byte)
        end = ctx.source.body.find(b"\n", statement.end_byte)
        end = len(ctx.source.body) if end < 0 else end + 1
        ctx.edit(start, start, f"#ifdef _MSC_VER\n{indent}{intrinsic};\n#else\n")
        ctx.edit(end, end, "#endif\n")
        ctx.applied(node, f"host asm `{_template(node)}` -> {intrinsic} under #ifdef _MSC_VER")
        if b"<intrin.h>" not in ctx.source.body and not any(e.text == INTRIN for e in ctx.edits):
            insert_after_includes(ctx, root, INTRIN, "<intrin.h> included for MSVC", [node])


def _template(node) -> str:
    """The asm template text (`"pause"` -> `pause`), or None when it is not a plain literal."""
    lit = next((c for c in node.named_children if c.type in ("string_literal", "concatenated_string")), None)
    if lit is None:
        return None
    return "".join(c.text.decode() for c in treesitter.walk(lit) if c.type == "string_content").strip()


def _under_msvc_else(node) -> bool:
    """Whether ``node`` sits in the `#else` of an `#ifdef _MSC_VER` (already handled)."""
    cur = node.parent
    while cur is not None:
        if cur.type == "preproc_else" and cur.parent is not None and cur.parent.type == "preproc_ifdef":
            name = cur.parent.child_by_field_name("name")
            if name is not None and name.text == b"_MSC_VER" and cur.parent.children[0].type == "#ifdef":
                return True
        cur = cur.parent
    return False


def _keyword_tokens(node):
    for child in node.children:
        if child.type == "gnu_asm_qualifier":
            yield from child.children
        elif not child.is_named:
            yield child
