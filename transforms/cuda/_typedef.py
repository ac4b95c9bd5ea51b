"""Shared shape of K9 and K10: a type MSVC lacks gets a guarded typedef in each
file that uses it."""

from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import insert_after_includes, msvc_sees
from winport.transform import Context, CppTransform

_TYPES = ("type_identifier", "primitive_type")


class MissingTypedef(CppTransform):
    """Base: subclasses set ``type_name``, ``block`` and ``defined`` (a regex for an
    existing definition of the type in the file)."""

    type_name: str
    block: str
    defined: str

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        uses = [n for n in treesitter.tokens(root, treesitter.words([self.type_name]), _TYPES)
                if msvc_sees(n, device=True) and n.parent is not None and n.parent.type != "type_definition"]
        if not uses:
            return
        if re.search(self.defined.encode(), ctx.source.body):
            ctx.already(uses[0], f"{self.type_name} is defined in this file for MSVC")
            return
        insert_after_includes(ctx, root, self.block, f"{self.type_name} defined for MSVC", uses)
