from __future__ import annotations

from ._typedef import MissingTypedef


class UintTypedef(MissingTypedef):
    """Define `uint` for MSVC in each file that uses it as a type.

    Why:
    `uint` is a glibc typedef (`<sys/types.h>`), not a C++ or CUDA type.
    GCC builds see it through system headers; MSVC stops with `C2065:
    'uint': undeclared identifier`.

    Pattern:
    `uint` used as a type (a declaration, a parameter, a cast) in code
    Windows compiles, in a file that does not define it. `uint` as a member
    or function name is an identifier, not a type, and does not count.

    Rewrite:
    After the file's `#include` lines:
    `#ifdef _MSC_VER` / `typedef unsigned int uint;` / `#endif`. Other
    compilers skip it; repeating the typedef in several headers of one
    translation unit is allowed.
    """

    id = "cuda/uint-typedef"
    seed = "K9"
    summary = "`typedef unsigned int uint;` under #ifdef _MSC_VER where uint is used as a type"
    portable = True
    triggers = ("uint",)
    trigger_words = True
    type_name = "uint"
    defined = r"typedef\s+unsigned(\s+int)?\s+uint\s*;|using\s+uint\s*="
    block = """\
#ifdef _MSC_VER
typedef unsigned int uint;  // winport: glibc's uint, absent on Windows
#endif
"""
