from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import insert_after_includes, msvc_sees
from winport.lang.gnu import ATTRIBUTE, FIXED, STANDARD, items
from winport.transform import Context, CppTransform

# the CUDA qualifiers for GCC's inlining attributes (`__forceinline__` implies `inline`)
CUDA_INLINING = {"always_inline": "__forceinline__", "noinline": "__noinline__"}
HOST_INLINING = {"always_inline": "[[WINPORT_ALWAYS_INLINE]]", "noinline": "[[WINPORT_NOINLINE]]"}

HOST_MACROS = """\
#ifndef WINPORT_ALWAYS_INLINE  // winport: GCC's inlining attributes in each compiler's namespace
  #ifdef _MSC_VER
    #define WINPORT_ALWAYS_INLINE msvc::forceinline
    #define WINPORT_NOINLINE msvc::noinline
  #else
    #define WINPORT_ALWAYS_INLINE gnu::always_inline
    #define WINPORT_NOINLINE gnu::noinline
  #endif
#endif
"""

_DECLARATIONS = ("declaration", "field_declaration", "parameter_declaration", "function_definition",
                 "optional_parameter_declaration")
_CUDA_FILES = (".cu", ".cuh")
_LITERAL = re.compile(r"\d+[uU]?")


class GnuAttributes(CppTransform):
    """Write GCC's `__attribute__((...))` the way MSVC and nvcc on Windows read it.

    Why:
    `__attribute__((...))` (and its older spelling `__attribute((...))`) is
    GNU syntax. MSVC rejects it, and so does nvcc's front end on Windows,
    which parses device code in MSVC's dialect: `__shared__ float
    __attribute((aligned(128))) smem[N];` in the grouped top-k kernels stops
    the build.

    Pattern:
    An attribute in code Windows compiles (device code too), on a
    declaration, a struct, a function, or in the body of a `#define`, made
    of the attributes below. Any other attribute is reported by
    `detect/gnu-extensions` with what it means.

    Rewrite:
    - `aligned(N)` becomes the standard `alignas(N)`: at the start of the
      declaration (`alignas(128) __shared__ float smem[N];`), or after
      `struct` where it stood.
    - `always_inline` and `noinline` become `__forceinline__` and
      `__noinline__` in CUDA sources (an `inline` beside them goes:
      `__forceinline__` says it, and twice is an error); in host C++
      `[[WINPORT_ALWAYS_INLINE]]`/`[[WINPORT_NOINLINE]]` at the start of the
      declaration, the macros defined after the includes as
      `msvc::forceinline`/`msvc::noinline` under `_MSC_VER` (MSVC 2022's
      spelling of `__forceinline` and `__declspec(noinline)`; an older
      MSVC ignores an attribute it does not know, with warning C5030) and
      as `gnu::always_inline`/`gnu::noinline`, the attribute itself, elsewhere.
    - `unused`, `noreturn`, `warn_unused_result`, `deprecated`,
      `fallthrough` become the standard `[[maybe_unused]]`, `[[noreturn]]`,
      `[[nodiscard]]`, `[[deprecated]]`, `[[fallthrough]]` at the start of
      the declaration (C++17, which every vLLM build uses).
    - In the body of a `#define`, where nothing can move, a CUDA source gets
      `__forceinline__`, `__noinline__` and, for a literal `N`, `__align__(N)`
      (CUDA's macro: `__declspec(align(N))` for MSVC, the attribute for GCC)
      in place.

    Each form means on Linux what the attribute meant, so the rewrite is not
    guarded.

    Reported:
    A fixable attribute the rewrite cannot place: `aligned` without an
    argument or on a `typedef` (alignas cannot apply to one), several
    attributes in one list of which one needs moving, an attribute in a
    macro body that is not one of the in-place forms, or one in a
    declaration tree-sitter could not parse.
    """

    id = "cuda/gnu-attributes"
    seed = "C2"
    summary = "__attribute__((aligned/always_inline/noinline/unused/...)) -> alignas, __forceinline__, [[...]]"
    portable = True
    triggers = ("__attribute",)
    triggers_in_code = True

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        cuda = ctx.path.endswith(_CUDA_FILES)
        for _, node in treesitter.captures(self.language, "(attribute_specifier) @a", root):
            found = items(node.text)
            if found is not None and msvc_sees(node, device=True) and all(n in FIXED for n, _ in found):
                self._attribute(node, found, cuda, ctx)
        for _, value in treesitter.captures(self.language, "(preproc_def value: (preproc_arg) @v)"
                                            "(preproc_function_def value: (preproc_arg) @v)", root):
            if b"__attribute" in value.text and msvc_sees(value, device=True):
                self._macro_body(value, cuda, ctx)
        uses = [e.start for e in ctx.edits if "[[WINPORT_" in e.text]
        if uses and b"#ifndef WINPORT_ALWAYS_INLINE" not in ctx.source.body:
            insert_after_includes(ctx, root, HOST_MACROS, "define WINPORT_ALWAYS_INLINE / WINPORT_NOINLINE", uses)

    # -- attributes the grammar sees ------------------------------------------------
    def _attribute(self, node, found, cuda: bool, ctx: Context) -> None:
        text = node.text.decode()
        owner = node.parent
        if owner is not None and owner.type == "type_definition":
            ctx.report(node, f"{text} on a typedef: alignas cannot apply to one; align the type itself")
            return
        if owner is None or owner.type not in (*_DECLARATIONS, "struct_specifier", "class_specifier",
                                               "union_specifier"):
            ctx.report(node, f"{text}: not on a declaration winport can place it on")
            return
        if len(found) > 1:
            if all(n in STANDARD for n, _ in found) and owner.type in _DECLARATIONS:
                self._lead(node, owner, " ".join(STANDARD[n] for n, _ in found), text, ctx)
            else:
                ctx.report(node, f"{text}: several attributes in one list; write each in its MSVC form")
            return
        name, args = found[0]
        if name == "aligned":
            self._aligned(node, owner, args, text, ctx)
        elif name in CUDA_INLINING:
            self._inlining(node, owner, name, cuda, text, ctx)
        elif owner.type in _DECLARATIONS:
            self._lead(node, owner, STANDARD[name], text, ctx)
        else:
            ctx.report(node, f"{text} on a type: {STANDARD[name]} belongs to a declaration")

    def _aligned(self, node, owner, args, text: str, ctx: Context) -> None:
        if not args or not args.strip():
            ctx.report(node, f"{text}: the largest alignment has no MSVC spelling; write alignas(N)")
            return
        n = args.strip()
        if owner.type in _DECLARATIONS:
            self._lead(node, owner, f"alignas({n})", text, ctx)
        else:  # struct/class/union: alignas stands after the keyword, where the attribute is
            ctx.replace_node(node, f"alignas({n})", f"{text} -> alignas({n})")

    def _inlining(self, node, owner, name: str, cuda: bool, text: str, ctx: Context) -> None:
        if owner.type not in ("function_definition", "declaration"):
            ctx.report(node, f"{text} not on a function")
            return
        if cuda:
            ctx.replace_node(node, CUDA_INLINING[name], f"{text} -> {CUDA_INLINING[name]}")
            if name == "always_inline":
                for spec in owner.children:
                    if spec.type == "storage_class_specifier" and spec.text == b"inline":
                        _delete(ctx, spec)
        else:
            self._lead(node, owner, HOST_INLINING[name], text, ctx)

    def _lead(self, node, owner, spelling: str, text: str, ctx: Context) -> None:
        """Move the attribute to the start of ``owner`` as ``spelling``."""
        if any(c.type == "ERROR" for c in owner.children):
            ctx.report(node, f"{text}: the declaration does not parse; write {spelling} by hand")
            return
        start = owner.start_byte  # a template's header belongs to the parent node
        if node.start_byte == start:
            ctx.replace_node(node, spelling, f"{text} -> {spelling}")
            return
        _delete(ctx, node)
        ctx.insert(start, spelling + " ", f"{text} -> {spelling} at the start of the declaration", where=node)

    # -- attributes in macro bodies (text the grammar does not parse) -----------------
    def _macro_body(self, value, cuda: bool, ctx: Context) -> None:
        body, base = value.text, value.start_byte
        for m in ATTRIBUTE.finditer(body):
            text = m.group().decode()
            found = items(m.group())
            if found is None or len(found) != 1 or found[0][0] not in FIXED:
                continue  # detect/gnu-extensions reports it
            name, args = found[0]
            start, end = base + m.start(), base + m.end()
            if name in CUDA_INLINING and cuda:
                spelling = CUDA_INLINING[name]
                ctx.replace(start, end, spelling, f"{text} -> {spelling} in a macro body", where=start)
                inline = re.search(rb"\binline\b", body)
                if name == "always_inline" and inline is not None:
                    cut = inline.end() + (1 if body[inline.end():inline.end() + 1] == b" " else 0)
                    ctx.edit(base + inline.start(), base + cut, "")
            elif name == "aligned" and cuda and args and _LITERAL.fullmatch(args.strip()):
                spelling = f"__align__({args.strip()})"
                ctx.replace(start, end, spelling, f"{text} -> {spelling} in a macro body", where=start)
            else:
                ctx.report(start, f"{text} in a macro body: its MSVC form must stand elsewhere in the "
                                  "declaration; write it by hand")


def _delete(ctx: Context, node) -> None:
    """Delete ``node`` and one space beside it."""
    body = ctx.source.body
    start, end = node.start_byte, node.end_byte
    if body[end:end + 1] == b" ":
        end += 1
    elif body[start - 1:start] == b" ":
        start -= 1
    ctx.edit(start, end, "")

