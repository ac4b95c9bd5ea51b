from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import insert_after_includes, msvc_sees
from winport.transform import Context, CppTransform

# builtin -> (macro, what it is with nvcc on Windows); the NaN builtins only with an empty payload
MACROS = {
    "__builtin_huge_valf": ("WINPORT_HUGE_VALF", "::cuda::std::numeric_limits<float>::infinity()"),
    "__builtin_inff": ("WINPORT_INFF", "::cuda::std::numeric_limits<float>::infinity()"),
    "__builtin_huge_val": ("WINPORT_HUGE_VAL", "::cuda::std::numeric_limits<double>::infinity()"),
    "__builtin_inf": ("WINPORT_INF", "::cuda::std::numeric_limits<double>::infinity()"),
    "__builtin_nanf": ("WINPORT_NANF", "::cuda::std::numeric_limits<float>::quiet_NaN()"),
    "__builtin_nan": ("WINPORT_NAN", "::cuda::std::numeric_limits<double>::quiet_NaN()"),
}
_NAN = ("__builtin_nanf", "__builtin_nan")


def _helpers() -> str:
    cuda = "\n".join(f"    #define {macro}(...) ({spelling})" for macro, spelling in MACROS.values())
    gnu = "\n".join(f"    #define {macro}(...) {name}(__VA_ARGS__)" for name, (macro, _) in MACROS.items())
    return f"""\
#ifndef WINPORT_HUGE_VALF  // winport: GCC's float builtins -> libcu++'s numeric_limits under nvcc with MSVC
  #if defined(_MSC_VER) && defined(__CUDACC__)
    #include <cuda/std/limits>
{cuda}
  #else
{gnu}
  #endif
#endif
"""


HELPERS = _helpers()


class FloatBuiltins(CppTransform):
    """Spell infinity and NaN the CUDA way instead of with GCC's builtins.

    Why:
    `__builtin_huge_valf()`, `__builtin_inff()`, `__builtin_nanf("")` and their
    `double` forms are GCC builtins. New kernels use them for padding values
    (0.33.0's top-k histogram, 0.34.0's routing kernel); with nvcc on Windows
    the code is compiled against MSVC's front end, which does not promise them
    in device code.

    Pattern:
    A call to one of those six builtins in CUDA or C++ code compiled on Windows
    (not in a `#if` branch Windows never takes). A NaN builtin with a payload
    other than `""` is reported: `quiet_NaN()` has no payload.

    Rewrite:
    The call keeps its arguments under a `WINPORT_*` macro
    (`-__builtin_huge_valf()` -> `-WINPORT_HUGE_VALF()`), defined once after the
    file's includes: under nvcc with MSVC as libcu++'s
    `cuda::std::numeric_limits<...>::infinity()` / `quiet_NaN()` (constexpr on
    host and device), elsewhere as the builtin itself, so Linux and MSVC's own
    host passes compile what they compiled before.
    """

    id = "cuda/float-builtins"
    seed = "F5"
    summary = "`__builtin_huge_valf()` and other GCC float builtins -> libcu++ numeric_limits under nvcc with MSVC"
    portable = True
    triggers = tuple(MACROS)
    trigger_words = True

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        sites = []
        for name_node in treesitter.called(root, treesitter.words(MACROS)):
            if not msvc_sees(name_node, device=True):
                continue
            name = name_node.text.decode()
            args = name_node.parent.child_by_field_name("arguments")
            if name in _NAN and (args is None or args.text.replace(b" ", b"") not in (b'("")', b"()")):
                ctx.report(name_node, f"{name} with a payload: spell the NaN for Windows by hand")
                continue
            sites.append((name_node, name))
        if not sites:
            if b"#ifndef WINPORT_HUGE_VALF" in ctx.source.body:
                ctx.already(root, "WINPORT_HUGE_VALF and its siblings are defined in this file")
            return
        for node, name in sites:
            ctx.replace_node(node, MACROS[name][0], f"{name} -> {MACROS[name][0]}")
        if b"#ifndef WINPORT_HUGE_VALF" not in ctx.source.body:
            insert_after_includes(ctx, root, HELPERS, "WINPORT_HUGE_VALF and siblings defined (libcu++ "
                                                       "numeric_limits under nvcc with MSVC)", [n for n, _ in sites])
