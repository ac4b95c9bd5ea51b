from __future__ import annotations

import re
from dataclasses import dataclass, field

from winport.lang import treesitter
from winport.lang.cpp import file_space_macros, Space, execution_space, msvc_sees, tree_space_macros
from winport.transform import Context, CppTransform

FUNCTIONS = ("isinf", "isnan", "isfinite")
# a function of that name defined in the tree (CUTLASS's `cutlass::isfinite(half_t)`)
_OWN = re.compile(rb"\b(isinf|isnan|isfinite)\s*\([^;{()]*\)\s*(?:const\s*)?\{")



@dataclass(frozen=True)
class StdMathPlan:
    """The attribute macros defined anywhere in the tree, and the names of the
    ``isinf``/``isnan``/``isfinite`` the tree defines itself (called as ``::name``)."""

    macros: dict[str, set[Space]] = field(default_factory=dict)
    own: frozenset[str] = frozenset()

class DeviceStdMath(CppTransform):
    """Call `isinf`/`isnan`/`isfinite` unqualified in device code.

    Why:
    With MSVC's standard library, `std::isinf` and friends are host
    functions (templates over MSVC's `fpclassify`), and nvcc rejects calling
    them from `__device__` code. CUDA's own device overloads are the
    unqualified `isinf`, `isnan` and `isfinite`.

    Pattern:
    A call to `std::isinf`, `std::isnan` or `std::isfinite` inside a
    `__global__`/`__device__` (or `__host__ __device__`) function that
    Windows compiles. Host code keeps `std::`.

    Rewrite:
    `std::isinf(x)` becomes `isinf(x)`. In device code both names resolve to
    CUDA's device functions on Linux, so the result is the same there. Where
    the tree defines a function of the same name (CUTLASS's
    `cutlass::isfinite` for its own types), an unqualified call inside that
    namespace would find only that one: the call becomes `::isfinite(x)`,
    CUDA's global overloads.
    """

    id = "cuda/device-std-math"
    seed = "K8"
    summary = "`std::isinf`/`isnan`/`isfinite` -> `isinf`/... in device code"
    portable = True
    triggers = tuple(f"std::{f}" for f in FUNCTIONS)

    def plan(self, tree) -> StdMathPlan:
        own = {m.group(1).decode() for source in tree.sources(contains=b"{") if b"is" in source.body
               for m in _OWN.finditer(source.body)}
        return StdMathPlan(tree_space_macros(tree), frozenset(own))

    def rewrite(self, tree, ctx: Context) -> None:
        plan: StdMathPlan = ctx.plan or StdMathPlan()
        macros = file_space_macros(plan.macros, tree.root_node)
        own = plan.own
        query = "(call_expression function: (qualified_identifier) @q)"
        for _, q in treesitter.captures(self.language, query, tree.root_node):
            text = q.text.decode().replace(" ", "")
            if text not in {f"std::{f}" for f in FUNCTIONS} or not msvc_sees(q, device=True):
                continue
            if execution_space(q, macros) is Space.HOST:
                continue
            name = text[5:] if text[5:] not in own else "::" + text[5:]
            ctx.replace_node(q, name, f"{text} -> {name} in device code")
