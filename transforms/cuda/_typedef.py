"""Shared shape of K9 and K10: a type MSVC lacks gets a guarded typedef in each
file that uses it."""

from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.transform import Context, CppTransform


class MissingTypedef(CppTransform):
    """Base: subclasses set ``type_name``, ``block`` and ``defined`` (a regex for an
    existing definition of the type in the file)."""

    type_name: str
    block: str
    defined: str

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        uses = [n for _, n in treesitter.captures(self.language, "[(type_identifier) (primitive_type)] @t", root)
                if n.text.decode() == self.type_name and msvc_sees(n, device=True)
                and n.parent is not None and n.parent.type != "type_definition"]
        if not uses:
            return
        if re.search(self.defined.encode(), ctx.source.body):
            ctx.already(uses[0], f"{self.type_name} is defined in this file for MSVC")
            return
        where = f"{len(uses)} use(s), first at line {uses[0].start_point[0] + 1}"
        insert_after_includes(ctx, root, self.block, f"{self.type_name} defined for MSVC ({where})")


def insert_after_includes(ctx: Context, root, block: str, message: str) -> None:
    """Insert ``block`` after the file's top-level ``#include`` lines (or its
    ``#pragma once``, or at the top)."""
    includes = [c for c in root.named_children if c.type == "preproc_include"]
    pragma = [c for c in root.named_children if c.type == "preproc_call" and b"once" in c.text]
    anchor = (includes or pragma or [None])[-1]
    if anchor is None:
        ctx.insert(0, block.strip("\n") + "\n\n", message)
    else:
        ctx.insert_lines_after(anchor, block, message)
