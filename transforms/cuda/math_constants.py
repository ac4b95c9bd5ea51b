from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import insert_after_includes, msvc_sees
from winport.transform import Context, CppTransform

# glibc's <math.h> (__USE_MISC), digit for digit: tests/test_math_constants.py compares
# each with the macro g++ sees
GLIBC = {
    "M_E": "2.7182818284590452354", "M_LOG2E": "1.4426950408889634074", "M_LOG10E": "0.43429448190325182765",
    "M_LN2": "0.69314718055994530942", "M_LN10": "2.30258509299404568402", "M_PI": "3.14159265358979323846",
    "M_PI_2": "1.57079632679489661923", "M_PI_4": "0.78539816339744830962", "M_1_PI": "0.31830988618379067154",
    "M_2_PI": "0.63661977236758134308", "M_2_SQRTPI": "1.12837916709551257390",
    "M_SQRT2": "1.41421356237309504880", "M_SQRT1_2": "0.70710678118654752440",
}
_NAMES = treesitter.words(sorted(GLIBC, key=len, reverse=True))
MARK = "winport: MSVC defines M_* only with _USE_MATH_DEFINES"


def block(names: list[str]) -> str:
    """The guarded definitions of ``names`` (glibc's order)."""
    lines = [f"#ifdef _MSC_VER  // {MARK}"]
    for name in (n for n in GLIBC if n in names):
        lines += [f"  #ifndef {name}", f"    #define {name} {GLIBC[name]}", "  #endif"]
    return "\n".join(lines + ["#endif"]) + "\n"


class MathConstants(CppTransform):
    """Give MSVC the `M_PI`-style constants the file uses.

    Why:
    `<cmath>`/`<math.h>` define `M_PI`, `M_SQRT2`, `M_SQRT1_2`, ... on glibc,
    but MSVC's only when `_USE_MATH_DEFINES` is defined before the header is
    first included, so `M_SQRT1_2` in the GELU kernels is an undeclared
    identifier. Defining `_USE_MATH_DEFINES` in the file is not enough: nvcc
    includes `cuda_runtime.h`, and with it `<math.h>`, before the first line
    of every `.cu` file, and torch's headers include `<cmath>` before most
    kernels' own lines.

    Pattern:
    One of glibc's thirteen `M_*` constants used in code Windows compiles
    (device code too, and `#define` bodies), in a file that does not define
    it already; a host C++ file that defines `_USE_MATH_DEFINES` before its
    first include is done already.

    Rewrite:
    After the file's includes, for the constants the file uses, glibc's
    exact values under `#ifdef _MSC_VER`, each under `#ifndef M_X`: a build
    that defines `_USE_MATH_DEFINES` keeps MSVC's own, whatever was included
    first. Linux never sees the block.
    """

    id = "cuda/math-constants"
    seed = "C3"
    summary = "M_PI-style constants -> glibc's values under #ifdef _MSC_VER where a file uses them"
    portable = True
    triggers = tuple(sorted(GLIBC))
    trigger_words = True

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        uses = [(n.text.decode(), n) for n in treesitter.identifiers(root, _NAMES) if msvc_sees(n, device=True)]
        for _, value in treesitter.captures(self.language, "(preproc_def value: (preproc_arg) @v)"
                                            "(preproc_function_def value: (preproc_arg) @v)", root):
            if msvc_sees(value, device=True):
                uses += [(m.group().decode(), value.start_byte + m.start()) for m in _NAMES.finditer(value.text)]
        names = {name for name, _ in uses}
        if not names:
            return
        body = ctx.source.body
        missing = [n for n in GLIBC if n in names and not re.search(rb"#\s*(?:ifndef|define)\s+" + n.encode() + rb"\b", body)]
        if not missing:
            ctx.already(root, f"{', '.join(sorted(names))} defined in this file")
            return
        if not ctx.path.endswith((".cu", ".cuh")) and _defines_first(body):
            ctx.already(root, "_USE_MATH_DEFINES is defined before the first include")
            return
        insert_after_includes(ctx, root, block(missing), f"define {', '.join(missing)} for MSVC",
                              [where for name, where in uses if name in missing])


def _defines_first(body: bytes) -> bool:
    """Whether ``body`` defines ``_USE_MATH_DEFINES`` before its first ``#include``."""
    define = re.search(rb"#\s*define\s+_USE_MATH_DEFINES\b", body)
    include = re.search(rb"#\s*include", body)
    return define is not None and (include is None or define.start() < include.start())
