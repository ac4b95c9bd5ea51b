from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.transform import Context, CppTransform


NAMES = ("__int64_t", "__uint64_t")


class Int64T(CppTransform):
    """Spell glibc's `__int64_t` as the standard `int64_t`.

    Why:
    `__int64_t` (and `__uint64_t`) are glibc-internal typedefs from
    `<bits/types.h>`; MSVC does not have them.

    Pattern:
    The type names `__int64_t` and `__uint64_t` in code Windows compiles.

    Rewrite:
    `int64_t` and `uint64_t` from `<cstdint>`. On glibc both names are the
    same type (`long`), so Linux builds are unchanged.
    """

    id = "cuda/int64-t"
    seed = "K3"
    summary = "`__int64_t`/`__uint64_t` -> `int64_t`/`uint64_t`"
    portable = True
    triggers = ("__int64_t", "__uint64_t")
    trigger_words = True

    def rewrite(self, tree, ctx: Context) -> None:
        for node in treesitter.tokens(tree.root_node, treesitter.words(NAMES), ("type_identifier", "primitive_type")):
            name = node.text.decode()
            if msvc_sees(node, device=True):
                ctx.replace_node(node, name[2:], f"{name} -> {name[2:]}")
