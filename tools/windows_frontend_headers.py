"""Make copies of Wine's headers behave as the UCRT's and the Windows SDK's do where a
verdict depends on it: part of tools/windows_frontend_env.sh.

    python tools/windows_frontend_headers.py CRT_COPY SDK_OVERLAY [STL_COPY]

CRT_COPY is a copy of Wine's msvcrt headers, edited in place:

- POSIX headers the UCRT does not have are removed (`<unistd.h>`, `<dirent.h>`), and so
  are the POSIX types `<sys/types.h>` has in Wine and not in the UCRT (`ssize_t`, `pid_t`).
- `corecrt.h` includes `<vcruntime.h>` first, as the UCRT's does, and `_CRTIMP` is defined.
- `<math.h>` defines `M_PI` and the other `M_*` constants only under `_USE_MATH_DEFINES`,
  and in C++ classifies with functions (`fpclassify` overloads, `isinf`... templates), not
  macros, so the CUDA headers' overloads of the same names parse.

SDK_OVERLAY receives the Windows SDK headers of Wine that test `__x86_64__` (GCC's and
clang's macro, which MSVC does not define) with the test made on `_M_X64`, MSVC's, and
`windef.h` without its `#define inline __inline` in C++; it is searched before Wine's own.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

WINE_SDK = Path("/usr/include/wine/wine/windows")

CLASSIFY_CXX = """\
#ifdef __cplusplus
extern "C++" {
inline int fpclassify(float _X) throw() { return _fdclass(_X); }
inline int fpclassify(double _X) throw() { return _dclass(_X); }
inline int fpclassify(long double _X) throw() { return _dclass((double)_X); }
template <class _Ty> inline bool isinf(_Ty _X) throw() { return fpclassify(_X) == FP_INFINITE; }
template <class _Ty> inline bool isnan(_Ty _X) throw() { return fpclassify(_X) == FP_NAN; }
template <class _Ty> inline bool isnormal(_Ty _X) throw() { return fpclassify(_X) == FP_NORMAL; }
template <class _Ty> inline bool isfinite(_Ty _X) throw() { return fpclassify(_X) <= 0; }
template <class _Ty> inline bool signbit(_Ty _X) throw() { return _dsign((double)_X) != 0; }
template <class _T1, class _T2> inline bool isgreater(_T1 _X, _T2 _Y) throw() { return _X > _Y; }
template <class _T1, class _T2> inline bool isgreaterequal(_T1 _X, _T2 _Y) throw() { return _X >= _Y; }
template <class _T1, class _T2> inline bool isless(_T1 _X, _T2 _Y) throw() { return _X < _Y; }
template <class _T1, class _T2> inline bool islessequal(_T1 _X, _T2 _Y) throw() { return _X <= _Y; }
template <class _T1, class _T2> inline bool islessgreater(_T1 _X, _T2 _Y) throw() { return _X < _Y || _X > _Y; }
template <class _T1, class _T2> inline bool isunordered(_T1 _X, _T2 _Y) throw() { return isnan(_X) || isnan(_Y); }
}
#else
"""


# the C99 math functions of the UCRT, by shape; Wine's math.h lacks many float and long double ones
_SHAPES = {
    "{T} {n}({T})": "acos asin atan ceil cos cosh exp fabs floor log log10 sin sinh sqrt tan tanh acosh asinh "
                    "atanh cbrt erf erfc exp2 expm1 lgamma log1p log2 logb nearbyint rint round tgamma trunc",
    "{T} {n}({T}, {T})": "atan2 copysign fdim fmax fmin fmod hypot nextafter pow remainder",
    "{T} {n}({T}, {T}, {T})": "fma",
    "{T} {n}({T}, int*)": "frexp",
    "{T} {n}({T}, int)": "ldexp scalbn",
    "{T} {n}({T}, {T}*)": "modf",
    "int {n}({T})": "ilogb",
    "long long {n}({T})": "llrint llround",
    "long {n}({T})": "lrint lround",
    "{T} {n}(const char*)": "nan",
    "{T} {n}({T}, {T}, int*)": "remquo",
    "{T} {n}({T}, long)": "scalbln",
    "{T} {n}({T}, long double)": "nexttoward",
}


def missing_math(text: str) -> str:
    """Declarations of the UCRT's math functions ``text`` (Wine's math.h) does not declare."""
    lines = [] if "float_t" in text else ["typedef float float_t;", "typedef double double_t;"]
    for shape, bases in _SHAPES.items():
        for base in bases.split():
            for suffix, kind in (("", "double"), ("f", "float"), ("l", "long double")):
                name = base + suffix
                if not re.search(rf"\b{name}\s*\(", text):
                    lines.append("_ACRTIMP " + shape.format(T=kind, n=f"__cdecl {name}") + ";")
    return "\n".join(lines) + "\n"


# functions the UCRT declares and Wine's headers lack: header -> (name, declaration)
_MISSING = {
    "corecrt.h": [("_Mbstatet", "} _Mbstatet"), ("_invoke_watson", "__declspec(noreturn) void __cdecl _invoke_watson("
                  "const wchar_t*, const wchar_t*, const wchar_t*, unsigned int, uintptr_t)")],
    "stdio.h": [("vfscanf", "int __cdecl vfscanf(FILE*, const char*, va_list)"),
                ("vscanf", "int __cdecl vscanf(const char*, va_list)"),
                ("vsscanf", "int __cdecl vsscanf(const char*, const char*, va_list)")],
    "inttypes.h": [("imaxabs", "intmax_t __cdecl imaxabs(intmax_t)"),
                   ("imaxdiv", "imaxdiv_t __cdecl imaxdiv(intmax_t, intmax_t)"),
                   ("wcstoimax", "intmax_t __cdecl wcstoimax(const wchar_t*, wchar_t**, int)"),
                   ("wcstoumax", "uintmax_t __cdecl wcstoumax(const wchar_t*, wchar_t**, int)")],
    "fenv.h": [("feupdateenv", "int __cdecl feupdateenv(const fenv_t*)"),
               ("feraiseexcept", "int __cdecl feraiseexcept(int)"),
               ("feholdexcept", "int __cdecl feholdexcept(fenv_t*)"),
               ("fetestexcept", "int __cdecl fetestexcept(int)"),
               ("fegetexceptflag", "int __cdecl fegetexceptflag(fexcept_t*, int)"),
               ("fesetexceptflag", "int __cdecl fesetexceptflag(const fexcept_t*, int)"),
               ("feclearexcept", "int __cdecl feclearexcept(int)")],
    "wchar.h": [("fwide", "int __cdecl fwide(FILE*, int)"), ("mbsinit", "int __cdecl mbsinit(const mbstate_t*)"),
                ("vfwscanf", "int __cdecl vfwscanf(FILE*, const wchar_t*, va_list)"),
                ("vswscanf", "int __cdecl vswscanf(const wchar_t*, const wchar_t*, va_list)"),
                ("vwscanf", "int __cdecl vwscanf(const wchar_t*, va_list)"),
                ("wcstold", "long double __cdecl wcstold(const wchar_t*, wchar_t**)")],
}


def declare_missing(root: Path) -> None:
    """Declare, inside each header's include guard, what the UCRT has and it lacks."""
    for name, decls in _MISSING.items():
        path = root / name
        text = path.read_text()
        lines = [f"_ACRTIMP {decl};" for fn, decl in decls if not re.search(rf"\b{fn}\s*\(", text)
                 and not decl.startswith("}")]
        if name == "corecrt.h" and "_Mbstatet" not in text:  # the UCRT's conversion state, named by the STL
            lines.insert(0, "typedef struct _Mbstatet { unsigned long _Wchar; unsigned short _Byte, _State; } "
                            "_Mbstatet;")
        if not lines:
            continue
        block = '#ifdef __cplusplus\nextern "C" {\n#endif\n' + "\n".join(lines) + '\n#ifdef __cplusplus\n}\n#endif\n'
        at = text.rindex("#endif")
        path.write_text(text[:at] + block + text[at:])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"{path}: expected text not found (Wine's headers changed?): {old[:60]!r}")
    path.write_text(text.replace(old, new, 1))


def main(root: Path) -> None:
    for name in ("unistd.h", "dirent.h", "sys/unistd.h"):
        (root / name).unlink(missing_ok=True)
    corecrt = root / "corecrt.h"
    corecrt.write_text("#include <vcruntime.h>\n" + corecrt.read_text())
    declare_missing(root)  # corecrt.h's, before wchar.h names _Mbstatet
    math = root / "math.h"
    text = math.read_text()
    start = text.index("#if !defined(__STRICT_ANSI__)")
    end = text.index("\n", start)
    math.write_text(text[:start] + "#if defined(_USE_MATH_DEFINES)" + text[end:])
    # the classification block: C++ gets functions, C keeps Wine's macros
    edit(math, "#if _MSVCR_VER >= 120\n\n_ACRTIMP short __cdecl _dclass(double);",
         "_ACRTIMP short __cdecl _dclass(double);\n_ACRTIMP short __cdecl _fdclass(float);\n"
         "_ACRTIMP int   __cdecl _dsign(double);\n_ACRTIMP int   __cdecl _fdsign(float);\n"
         + CLASSIFY_CXX + "#if _MSVCR_VER >= 120\n\n_ACRTIMP short __cdecl _dclass(double);")
    edit(math, "#define isfinite(x) (!isinf(x) && !isnan(x))\n\n#endif\n",
         "#define isfinite(x) (!isinf(x) && !isnan(x))\n\n#endif\n#endif /* __cplusplus */\n"
         + missing_math(math.read_text()))
    # the UCRT's conversion state is a struct the STL names as _Mbstatet
    edit(root / "wchar.h", "typedef int mbstate_t;", "typedef _Mbstatet mbstate_t;")
    float_h = root / "float.h"
    if "FLT_TRUE_MIN" not in float_h.read_text():
        at = float_h.read_text().rindex("#endif")
        text = float_h.read_text()
        float_h.write_text(text[:at] + "#define FLT_TRUE_MIN 1.401298464e-45F\n#define DBL_TRUE_MIN 4.9406564584124654e-324\n"
                           "#define LDBL_TRUE_MIN DBL_TRUE_MIN\n" + text[at:])
    time_h = root / "time.h"
    if "timespec_get" not in time_h.read_text():  # C11's, which the UCRT has
        text = time_h.read_text()
        at = text.rindex("#endif")
        time_h.write_text(text[:at] + "#ifndef _CRT_TIMESPEC_DEFINED\n#define _CRT_TIMESPEC_DEFINED\n"
                          "struct timespec { time_t tv_sec; long tv_nsec; };\n#endif\n#define TIME_UTC 1\n"
                          '#ifdef __cplusplus\nextern "C"\n#endif\n'
                          "_ACRTIMP int __cdecl timespec_get(struct timespec*, int);\n" + text[at:])
    # the UCRT's sys/types.h has no POSIX pid_t or ssize_t (K10)
    types = root / "sys" / "types.h"
    edit(types, "#ifndef _PID_T_DEFINED\ntypedef int pid_t;\n#define _PID_T_DEFINED\n#endif\n", "")
    edit(types, "#ifndef _SSIZE_T_DEFINED\n#ifdef _WIN64\ntypedef __int64 ssize_t;\n#else\ntypedef int ssize_t;\n#endif\n"
                "#define _SSIZE_T_DEFINED\n#endif\n", "")
    # the UCRT's assert reports through _wassert, which CUDA's and PyTorch's assert macros call
    edit(root / "assert.h", "#undef assert\n", "_ACRTIMP void __cdecl _wassert(const wchar_t*, const wchar_t*, unsigned);\n"
         "#undef assert\n")
    stdlib = root / "stdlib.h"
    edit(stdlib, "#include <corecrt_malloc.h>", "#include <corecrt_malloc.h>\n#include <errno.h>")
    text = stdlib.read_text()  # the UCRT's C++ overloads of abs and div
    at = text.rindex("#endif")
    stdlib.write_text(text[:at] + '#ifdef __cplusplus\nextern "C++" {\n'
                      "inline long __cdecl abs(long _X) throw() { return labs(_X); }\n"
                      "inline long long __cdecl abs(long long _X) throw() { return llabs(_X); }\n"
                      "inline ldiv_t __cdecl div(long _A1, long _A2) throw() { return ldiv(_A1, _A2); }\n"
                      "inline lldiv_t __cdecl div(long long _A1, long long _A2) throw() { return lldiv(_A1, _A2); }\n"
                      "}\n#endif\n" + text[at:])
    if "quick_exit" not in stdlib.read_text():  # C11's, which the UCRT has
        edit(stdlib, "#ifdef __cplusplus\n}\n#endif", "_ACRTIMP void __cdecl quick_exit(int);\n"
             "_ACRTIMP int __cdecl at_quick_exit(void (__cdecl*)(void));\n#ifdef __cplusplus\n}\n#endif")


# SAL annotations by their leading word (the STL has other names that end in "_": _Is_invocable_r_)
_SAL_WORDS = ("In Out Inout Pre Post Ret Check Success Deref At When Field Struct Printf Scanf Null NullNull Notnull "
              "Maybenull Must Analysis Acquires Releases Requires Guarded Interlocked Use Always Frees Result Readable "
              "Writable Outptr COM Reserved Group On Points Literal Valid Notvalid Const Return Translates Strict "
              "Unchanged Satisfies Kernel IRQL Dispatch Has Lock Benign Write Create Param Old Curr Inexpressible "
              "Nullterm Raises Maybe Enum Notliteral Format Called").split()
_SAL_USE = re.compile(r"\b(_(?:" + "|".join(_SAL_WORDS) + r")_(?:[A-Za-z0-9]+_)*)(?![A-Za-z0-9_])(\s*\()?")
_DEFINED = re.compile(r"^\s*#\s*define\s+(\w+)", re.M)


def sal_rest(headers: list[Path], out: Path) -> None:
    """Write ``out``: every SAL annotation (`_In_`, `_Out_writes_all_(n)`, ...) the
    ``headers`` folders use and none defines, defined empty, as the annotations are for a
    compiler that does not analyse them; Wine's sal.h has only part of them."""
    used: dict[str, bool] = {}
    defined: set[str] = set()
    for folder in headers:
        for path in [folder] if folder.is_file() else folder.rglob("*"):
            if not path.is_file():
                continue
            text = path.read_text(errors="replace")
            defined.update(_DEFINED.findall(text))
            for m in _SAL_USE.finditer(text):
                used[m.group(1)] = used.get(m.group(1), False) or bool(m.group(2))
    lines = ["/* generated by tools/windows_frontend_headers.py: the SAL annotations Wine's sal.h lacks */",
             "#pragma once"]
    for name in sorted(set(used) - defined):
        lines.append(f"#define {name}(...)" if used[name] else f"#define {name}")
    out.write_text("\n".join(lines) + "\n")


def sdk_overlay(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for header in sorted(WINE_SDK.glob("*.h")):
        text = header.read_text(errors="replace")
        if "__x86_64__" not in text:
            continue
        text = re.sub(r"defined\s*\(\s*__x86_64__\s*\)", "defined(_M_X64)", text)
        text = re.sub(r"#(\s*)ifdef(\s+)__x86_64__\b", r"#\1ifdef\2_M_X64", text)
        if header.name == "windef.h":  # `inline` is C++'s keyword: the SDK does not redefine it there
            text = text.replace("#ifdef _MSC_VER\n# define inline __inline\n#endif",
                                "#if defined(_MSC_VER) && !defined(__cplusplus)\n# define inline __inline\n#endif")
        (out / header.name).write_text(text)


# The one place the front end (cudafe++ 13.5) cannot parse the STL: a right fold over a
# variable template named through `template` (`(T::template v<Args> + ...)`, <format>'s
# argument store, which C++20's <chrono> includes). nvcc on Windows meets it too; the
# check rewrites it as the equivalent left fold so that units including <chrono> are judged.
_FOLD = ("(_Traits::template _Storage_size<_Args> + ...)", "(size_t{0} + ... + _Traits::template _Storage_size<_Args>)")


def stl_fold(stl: Path) -> None:
    path = stl / "__msvc_ranges_tuple_formatter.hpp"
    if path.is_file() and _FOLD[0] in path.read_text():
        path.write_text(path.read_text().replace(*_FOLD))


def vfs_overlay(include: Path, out: Path) -> None:
    """A clang VFS overlay making the Windows headers' folders case-insensitive, as Windows'
    file system is: `#include <BaseTsd.h>` finds Wine's basetsd.h."""
    import json

    def entries(folder: Path) -> list[dict]:
        out_entries = []
        for child in sorted(folder.iterdir()):
            real = child.resolve()
            if real.is_dir():
                out_entries.append({"type": "directory", "name": child.name, "contents": entries(real)})
            elif real.is_file():
                out_entries.append({"type": "file", "name": child.name, "external-contents": str(real)})
        return out_entries

    roots = [{"type": "directory", "name": str((include / d).resolve()), "contents": entries((include / d).resolve())}
             for d in ("stubs", "stl", "crt", "sdk", "windows") if (include / d).is_dir()]
    out.write_text(json.dumps({"version": 0, "case-sensitive": "false", "roots": roots}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    sdk_overlay(Path(sys.argv[2]))
    if len(sys.argv) > 3:  # the STL's folder (a copy): the SAL annotations it uses, the fold
        stl_fold(Path(sys.argv[3]))
        sal_rest([Path(sys.argv[3]), Path(sys.argv[1]), WINE_SDK / "sal.h"], Path(sys.argv[2]) / "winport_sal_rest.h")
