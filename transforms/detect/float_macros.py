from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import GCC_PREDEFINED, Space, execution_space, msvc_sees, space_macros, tree_space_macros
from winport.transform import Context, CppTransform

# <math.h> macros that recent Windows SDKs expand to MSVC builtins
SDK_BUILTINS = {"INFINITY": "std::numeric_limits<float>::infinity()",
                "NAN": "std::numeric_limits<float>::quiet_NaN()",
                "HUGE_VALF": "std::numeric_limits<float>::infinity()"}


class FloatMacros(CppTransform):
    """Report GCC's predefined `__FLT_MAX__`-style macros, and `INFINITY`/`NAN` in device code.

    Why:
    GCC and Clang predefine `__FLT_MAX__`, `__DBL_EPSILON__`, `__INT_MAX__`,
    `__SIZEOF_POINTER__`, `__BYTE_ORDER__` and their kin; MSVC predefines none,
    so each is an undeclared identifier. The Windows SDK's `<math.h>` (UCRT
    10.0.26100 and later) defines `INFINITY` as `__builtin_huge_valf()` and
    `NAN` as `__builtin_nanf("0")`, MSVC builtins that nvcc's device
    compilation does not know.

    Pattern:
    One of GCC's predefined limit/layout macros used in code MSVC's
    preprocessor sees (host or device), outside `#if`/`#ifdef` tests; `INFINITY`,
    `NAN` or `HUGE_VALF` in `__device__` or `__host__ __device__` code.

    Rewrite:
    None: each site is reported with the portable spelling
    (`std::numeric_limits<float>::max()`, `FLT_MAX` from `<cfloat>`,
    `std::numeric_limits<float>::infinity()`, or CUDA's `CUDART_INF_F`).
    """

    id = "detect/float-macros"
    summary = "report GCC's __FLT_MAX__-style macros, and INFINITY/NAN in device code"
    portable = True
    triggers = ("_MAX__", "_MIN__", "_EPSILON__", "_DIG__", "_EXP__", "__SIZEOF_", "__BYTE_ORDER__",
                "_ENDIAN__", "__CHAR_BIT__", "__BIGGEST_ALIGNMENT__", *SDK_BUILTINS)
    fixes = False

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        macros = None
        for node in treesitter.identifiers(root, _NAMES):
            name = node.text.decode()
            if _in_directive(node):
                continue
            if GCC_PREDEFINED.fullmatch(name) and msvc_sees(node, device=True):
                ctx.report(node, f"{name} is predefined by GCC, not by MSVC; use std::numeric_limits or <cfloat>")
            elif name in SDK_BUILTINS and msvc_sees(node, device=True):
                if macros is None:
                    macros = {**(ctx.plan or {}), **space_macros(root)}
                if execution_space(node, macros) is not Space.HOST:
                    ctx.report(node, f"{name} in device code: recent Windows SDKs define it as an MSVC builtin "
                                     f"nvcc does not know; use {SDK_BUILTINS[name]}")


# the names the rewrite looks at, as whole words
_NAMES = re.compile(rb"\b(?:" + GCC_PREDEFINED.pattern.encode() + rb"|" + b"|".join(n.encode() for n in SDK_BUILTINS)
                    + rb")\b")


def _in_directive(node) -> bool:
    """Inside a preprocessor test (``#if defined(__FLT_MAX__)``) or a macro definition's name."""
    cur = node.parent
    while cur is not None:
        if cur.type in ("preproc_defined", "preproc_if", "preproc_elif", "preproc_ifdef", "preproc_elifdef"):
            return cur.type != "preproc_if" or node.start_byte < _body_start(cur)
        cur = cur.parent
    return False


def _body_start(directive) -> int:
    condition = directive.child_by_field_name("condition")
    return condition.end_byte if condition is not None else directive.start_byte
