from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import GCC_PREDEFINED, in_directive, msvc_sees
from winport.lang.gnu import GCC_LIMITS
from winport.transform import Context, CppTransform


class FloatMacros(CppTransform):
    """Report GCC's predefined `__FLT_MAX__`-style macros.

    Why:
    GCC and Clang predefine `__FLT_MAX__`, `__DBL_EPSILON__`, `__INT_MAX__`,
    `__SIZEOF_POINTER__`, `__BYTE_ORDER__` and their kin; MSVC predefines none,
    so each is an undeclared identifier. (The float limits `__FLT_MAX__`,
    ... and `INFINITY`/`NAN` in device code are `cuda/sdk-float-macros`'s,
    which defines them.)

    Pattern:
    One of GCC's predefined limit/layout macros used in code MSVC's
    preprocessor sees (host or device), outside `#if`/`#ifdef` tests.

    Rewrite:
    None: each site is reported with the portable spelling
    (`std::numeric_limits<float>::max()`, `FLT_MAX` from `<cfloat>`).
    """

    id = "detect/float-macros"
    summary = "report GCC's __FLT_MAX__-style predefined macros"
    portable = True
    triggers = ("_MAX__", "_MIN__", "_EPSILON__", "_DIG__", "_EXP__", "__SIZEOF_", "__BYTE_ORDER__",
                "_ENDIAN__", "__CHAR_BIT__", "__BIGGEST_ALIGNMENT__")
    fixes = False

    def rewrite(self, tree, ctx: Context) -> None:
        for node in treesitter.identifiers(tree.root_node, _NAMES):
            name = node.text.decode()
            if name not in GCC_LIMITS and not in_directive(node) and msvc_sees(node, device=True):
                ctx.report(node, f"{name} is predefined by GCC, not by MSVC; use std::numeric_limits or <cfloat>")


# the names the rewrite looks at, as whole words
_NAMES = re.compile(rb"\b(?:" + GCC_PREDEFINED.pattern.encode() + rb")\b")
