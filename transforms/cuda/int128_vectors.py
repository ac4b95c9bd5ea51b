from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.transform import Context, CppTransform

VECTORS = {"__int128_t": "int4", "__uint128_t": "uint4", "__int128": "int4", "unsigned __int128": "uint4"}
_HOLDERS = ("declaration", "parameter_declaration", "type_descriptor", "field_declaration")
_INDIRECT = ("pointer_declarator", "abstract_pointer_declarator", "array_declarator", "abstract_array_declarator")


class Int128Vectors(CppTransform):
    """Use CUDA's 16-byte vector types for `__int128_t` pointers and shared arrays.

    Why:
    `__int128_t` is a GCC/Clang extension; MSVC has no 128-bit integer type
    and rejects the name. vLLM uses it only to move 16 bytes at a time:
    pointers into shared memory and global memory, never arithmetic on
    128-bit values.

    Pattern:
    `__int128_t`/`__uint128_t` naming the element type of a pointer or of an
    array (`extern __shared__ __align__(16) __int128_t smem[]`,
    `const __int128_t* p`, `reinterpret_cast<__int128_t*>(...)`) in code
    Windows compiles. A file that also uses the type for a value (a variable,
    arithmetic) is reported and left as it is: changing only some uses would
    mix types.

    Rewrite:
    `__int128_t` becomes `int4` and `__uint128_t` becomes `uint4`. Both are
    16 bytes with 16-byte alignment, so pointer arithmetic keeps its stride
    and each load or store still moves 16 bytes, on Linux as well.
    """

    id = "cuda/int128-vectors"
    seed = "K3"
    summary = "`__int128_t*` / `__int128_t smem[]` -> `int4` (16-byte vectors) where used as pointers"
    portable = True
    triggers = ("__int128", "__uint128_t")

    def rewrite(self, tree, ctx: Context) -> None:
        uses, values = [], []
        for node in treesitter.walk(tree.root_node):
            if node.child_count or node.text.decode() not in VECTORS or not msvc_sees(node, device=True):
                continue
            holder = node.parent
            while holder is not None and holder.type not in _HOLDERS:
                holder = holder.parent
            (uses if holder is not None and _indirect_only(holder, node) else values).append(node)
        if values:
            for node in values:
                ctx.report(node, f"{node.text.decode()} used as a value: MSVC has no 128-bit integer; "
                                 "not rewritten (file left as it is)")
            return
        for node in uses:
            name = node.text.decode()
            ctx.replace_node(node, VECTORS[name], f"{name} -> {VECTORS[name]}")


def _indirect_only(holder, type_node) -> bool:
    """Whether every declarator of ``holder`` is a pointer or an array."""
    if holder.type == "type_descriptor":
        return any(c.type in _INDIRECT for c in holder.children)
    declarators = [c for c in holder.children if c.end_byte > type_node.end_byte and c.is_named
                   and c.type not in ("type_qualifier", "storage_class_specifier")]
    if not declarators:
        return False
    for d in declarators:
        inner = d.child_by_field_name("declarator") if d.type == "init_declarator" else d
        found = [n for n in treesitter.walk(inner) if n.type in _INDIRECT] if inner is not None else []
        if not found:
            return False
    return True
