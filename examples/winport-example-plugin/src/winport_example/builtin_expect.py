"""`__builtin_expect(e, c)` -> `(e)`."""

from __future__ import annotations

from pathlib import Path

import tree_sitter as ts

from winport import Context, CppTransform
from winport.lang.treesitter import called, words

FIXTURES = str(Path(__file__).parent / "fixtures")
NAME = words(["__builtin_expect"])


class BuiltinExpect(CppTransform):
    """Drop GCC's branch hint `__builtin_expect(e, c)`, keeping `(e)`.

    Why:
    MSVC has no `__builtin_expect`: cl.exe stops at the call ("identifier not found").

    Pattern:
    A call of `__builtin_expect` with two arguments, in any C, C++ or CUDA file
    (not in the body of a `#define`, which the parser keeps as text).

    Rewrite:
    The call becomes its first argument in parentheses, which is the value the
    builtin returns on every compiler: only the hint is lost. A call with another
    number of arguments is reported.
    """

    id = "example/builtin-expect"
    summary = "`__builtin_expect(e, c)` -> `(e)`: MSVC has no such builtin"
    triggers = ("__builtin_expect",)
    portable = True
    fixture_root = FIXTURES

    def rewrite(self, tree: ts.Tree, ctx: Context) -> None:
        for function in called(tree.root_node, NAME):
            node = function.parent
            arguments = node.child_by_field_name("arguments") if node is not None else None
            if node is None or arguments is None:
                continue
            args = [a for a in arguments.named_children if a.type != "comment"]
            if len(args) != 2:
                ctx.report(node, f"__builtin_expect with {len(args)} argument(s): rewrite it by hand")
                continue
            ctx.replace_node(node, f"({ctx.source.body[args[0].start_byte:args[0].end_byte].decode()})",
                             "__builtin_expect(e, c) -> (e)")
