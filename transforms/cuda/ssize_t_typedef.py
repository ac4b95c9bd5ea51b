from __future__ import annotations

from ._typedef import MissingTypedef


class SsizeTTypedef(MissingTypedef):
    """Define `ssize_t` for MSVC in each file that uses it.

    Why:
    `ssize_t` is POSIX (`<sys/types.h>`); the Windows SDK calls the same
    type `SSIZE_T` (`<BaseTsd.h>`), so MSVC rejects `ssize_t` as undeclared.

    Pattern:
    `ssize_t` used as a type in code Windows compiles (0.14.1: the CUDA
    memory allocator; 0.28+: also the file I/O extension), in a file that
    does not define it. `Py_ssize_t` is another name and does not count.

    Rewrite:
    After the file's `#include` lines: `#ifdef _MSC_VER` /
    `#include <BaseTsd.h>` / `typedef SSIZE_T ssize_t;` / `#endif`. Other
    compilers skip it.
    """

    id = "cuda/ssize-t"
    seed = "K10"
    summary = "`#include <BaseTsd.h>` + `typedef SSIZE_T ssize_t;` under #ifdef _MSC_VER"
    portable = True
    triggers = ("ssize_t",)
    trigger_words = True
    type_name = "ssize_t"
    defined = r"typedef\s+\w+\s+ssize_t\s*;|using\s+ssize_t\s*="
    block = """\
#ifdef _MSC_VER
#include <BaseTsd.h>
typedef SSIZE_T ssize_t;  // winport: POSIX ssize_t is SSIZE_T on Windows
#endif
"""
