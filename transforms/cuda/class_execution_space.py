from __future__ import annotations

import re

from winport.lang import treesitter
from winport.transform import Context, CppTransform

SPACES = {"__device__", "__host__", "__global__"}
CLASSES = {"struct_specifier", "class_specifier", "union_specifier"}
# qualifiers written right before `struct`, `class` or `union`: the files worth parsing
_BEFORE_CLASS = re.compile(rb"\b__(?:device|host|global)__(?:\s+__(?:device|host|global)__)*\s+(?:struct|class|union)\b")


class ClassExecutionSpace(CppTransform):
    """Drop an execution-space qualifier written on a class definition.

    Why:
    `__device__`, `__host__` and `__global__` qualify functions (and `__device__`
    variables); on a class definition they mean nothing, and nvcc on Linux only warns
    ("attribute does not apply to any entity"). With MSVC they become
    `__declspec(__device__)`, and nvcc's front end on Windows rejects that before a
    class template: "attributes are not allowed here" (0.33.0's
    `template <...> __device__ struct alignas(32) LamportFlags` in
    `csrc/mnnvl_lamport.cuh`, found by the Windows front-end check).

    Pattern:
    A declaration made only of execution-space qualifiers and a `struct`, `class` or
    `union` definition, with no declarator: `__device__ struct S { ... };`, in a
    template or not. A declaration that also declares a variable
    (`__device__ struct S { ... } s;`) keeps its qualifier: there it is meaningful.

    Rewrite:
    The qualifiers are removed. The class is the same class on every platform, so the
    portable form needs no guard.
    """

    id = "cuda/class-execution-space"
    seed = "C2"
    summary = "`__device__ struct S {...};` (a qualifier that means nothing on a class) -> `struct S {...};`"
    portable = True
    triggers = tuple(sorted(SPACES))
    trigger_words = True

    @classmethod
    def triggered(cls, data: bytes) -> bool:
        return _BEFORE_CLASS.search(data) is not None

    def rewrite(self, tree, ctx: Context) -> None:
        for node in treesitter.walk(tree.root_node):
            if node.type != "declaration":
                continue
            kinds = [c.type for c in node.children if not c.is_missing and c.end_byte > c.start_byte]
            if not kinds or kinds[-1] != ";" or not any(k in CLASSES for k in kinds):
                continue
            named = [c for c in node.children if not c.is_missing and c.end_byte > c.start_byte and c.type != ";"]
            spaces = [c for c in named if c.type in SPACES]
            classes = [c for c in named if c.type in CLASSES]
            if not spaces or len(classes) != 1 or len(spaces) + 1 != len(named):
                continue  # a declarator, a storage class or other specifiers: leave it
            if classes[0].child_by_field_name("body") is None:
                continue
            for space in spaces:
                end = space.end_byte
                while end < len(ctx.source.body) and ctx.source.body[end:end + 1] in (b" ", b"\t"):
                    end += 1
                ctx.replace(space.start_byte, end, "", f"{space.text.decode()} on a class definition removed",
                            space)
