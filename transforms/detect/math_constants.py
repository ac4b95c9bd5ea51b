from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.transform import Context, CppTransform

CONSTANTS = {"M_PI", "M_PI_2", "M_PI_4", "M_1_PI", "M_2_PI", "M_E", "M_LN2", "M_LN10", "M_LOG2E",
             "M_LOG10E", "M_SQRT2", "M_SQRT1_2", "M_2_SQRTPI"}
_NAMES = re.compile(rb"\b(?:" + b"|".join(sorted((c.encode() for c in CONSTANTS), key=len, reverse=True)) + rb")\b")


class MathConstants(CppTransform):
    """Report `M_PI`-style constants in files that do not ask MSVC for them.

    Why:
    `<cmath>`/`<math.h>` define `M_PI`, `M_E`, `M_SQRT2`, ... on glibc, but
    MSVC's only when `_USE_MATH_DEFINES` is defined before the first include
    of the header, so the constant is an undeclared identifier.

    Pattern:
    One of the `M_*` constants used in code Windows compiles, in a file that
    does not mention `_USE_MATH_DEFINES`.

    Rewrite:
    None: each site is reported. Where to define `_USE_MATH_DEFINES` (the
    build, or before the first include in every translation unit) is a
    project decision.
    """

    id = "detect/math-constants"
    summary = "report M_PI-style constants used without _USE_MATH_DEFINES"
    triggers = tuple(sorted(CONSTANTS))
    trigger_words = True
    fixes = False

    def rewrite(self, tree, ctx: Context) -> None:
        if re.search(rb"\b_USE_MATH_DEFINES\b", ctx.source.body):
            return
        for node in treesitter.identifiers(tree.root_node, _NAMES):
            if msvc_sees(node, device=True):
                ctx.report(node, f"{node.text.decode()} needs _USE_MATH_DEFINES with MSVC")
