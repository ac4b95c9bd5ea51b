"""C++/CUDA questions transforms ask of a tree-sitter node.

* :func:`execution_space` - is this code compiled for the GPU, the host, or both?
* :func:`msvc_sees` - would MSVC (x64, host pass of nvcc) compile this line at all,
  given the ``#if``/``#ifdef`` branches around it?
"""

from __future__ import annotations

import enum
import re
from typing import Iterator, Sequence

import tree_sitter as ts

from .treesitter import inside, walk

# What the host pass of nvcc with MSVC on x64 defines, and what it does not.
MSVC_DEFINED = frozenset({"_MSC_VER", "_WIN32", "_WIN64", "_M_X64", "_M_AMD64", "__CUDACC__", "__NVCC__"})
MSVC_UNDEFINED = frozenset({
    "__GNUC__", "__GNUG__", "__clang__", "__linux__", "__linux", "__unix__", "__unix", "__APPLE__",
    "__x86_64__", "__amd64__", "__i386__", "__aarch64__", "__arm__", "__powerpc64__", "__powerpc__",
    "__ppc64__", "__s390x__", "__riscv", "__CUDA_ARCH__", "__HIP_PLATFORM_AMD__", "__HIPCC__",
    "USE_ROCM", "__HIP__", "__MINGW32__", "__MINGW64__", "__CYGWIN__",
})


# a string or character literal (kept), or a comment (blanked)
_LITERAL_OR_COMMENT = re.compile(rb'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*.*?(?:\*/|\Z)', re.S)


def without_comments(data: bytes) -> bytes:
    """``data`` with its ``//`` and ``/* */`` comments blanked, string and character
    literals kept (a ``//`` inside one is no comment). A file with a raw string
    literal is returned as it is: its delimiters could hide a quote."""
    if b'R"' in data:
        return data
    last = _LAST_WITHOUT_COMMENTS
    if last and last[0] is data:  # the scan asks once per transform that triggers in code
        return last[1]
    out = _LITERAL_OR_COMMENT.sub(lambda m: m.group(0) if m.group(0)[:1] in b"\"'" else b" ", data)
    _LAST_WITHOUT_COMMENTS[:] = [data, out]
    return out


_LAST_WITHOUT_COMMENTS: list[bytes] = []  # the last file's bytes and its answer


def blank_literals(data: bytes) -> bytes:
    """``data`` with the same length and lines, comments and the insides of string
    and character literals blanked to spaces: what is left is code a scanner can
    match brackets in. A raw string literal (``R"``) is not understood: callers
    leave such files alone."""

    def blank(m: re.Match) -> bytes:
        text = m.group(0)
        if text[:1] in b"\"'":
            return text[:1] + b" " * (len(text) - 2) + text[-1:]
        return bytes(b if b == 10 else 32 for b in text)

    return _LITERAL_OR_COMMENT.sub(blank, data)


def closing_paren(code: bytes, open_at: int) -> int | None:
    """The offset of the ``)`` matching the ``(`` at ``open_at`` in ``code`` (text from
    :func:`blank_literals`), or None when it is not closed."""
    depth = 0
    for m in _PAREN.finditer(code, open_at):
        depth += 1 if m.group() == b"(" else -1
        if depth == 0:
            return m.start()
    return None


_PAREN = re.compile(rb"[()]")


class Space(enum.Enum):
    HOST = "host"
    DEVICE = "device"
    BOTH = "host+device"


_SPACE_KEYWORDS = {"__global__": Space.DEVICE, "__device__": Space.DEVICE, "__host__": Space.HOST}

# Attribute macros from CUTLASS/CuTe (not in the vLLM tree) and their meaning.
# Macros defined in the file itself are read from their #define.
KNOWN_SPACE_MACROS = {
    "C10_HOST_DEVICE": {Space.HOST, Space.DEVICE}, "C10_DEVICE": {Space.DEVICE}, "C10_HOST": {Space.HOST},
    "CUTLASS_DEVICE": {Space.DEVICE}, "CUTLASS_GLOBAL": {Space.DEVICE},
    "CUTLASS_HOST_DEVICE": {Space.HOST, Space.DEVICE}, "CUTE_DEVICE": {Space.DEVICE},
    "CUTE_HOST_DEVICE": {Space.HOST, Space.DEVICE}, "CUTE_HOST": {Space.HOST},
    "CUTLASS_HOST": {Space.HOST},
}


_HASH_DEFINE = re.compile(rb"#[ \t]*define\b")


def defines(root: ts.Node) -> Iterator[ts.Node]:
    """The object-like macro definitions under ``root`` (what the query
    ``(preproc_def name: (identifier) value: (preproc_arg)) @d`` gives, in document
    order), found from the text's ``#define`` and looked up in the tree."""
    text, base = root.text or b"", root.start_byte
    for m in _HASH_DEFINE.finditer(text):
        token = root.descendant_for_byte_range(base + m.start(), base + m.start() + 1)
        node = token.parent if token is not None and token.type == "#define" else None
        if node is None or node.type != "preproc_def" or node.start_byte != token.start_byte:
            continue
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if name is not None and name.type == "identifier" and value is not None and value.type == "preproc_arg":
            yield node


def space_macros(root: ts.Node) -> dict[str, set[Space]]:
    """Macros of this file that expand to ``__device__``/``__host__``/``__global__``,
    plus the known CUTLASS/CuTe ones."""
    found = dict(KNOWN_SPACE_MACROS)
    defs = [(node.child_by_field_name("name").text.decode(), set(node.child_by_field_name("value").text.decode().split()))
            for node in defines(root)]
    changed = True
    while changed:  # a macro may expand to another one (MAYBE_HOST_DEVICE -> C10_HOST_DEVICE)
        changed = False
        for name, words in defs:
            spaces = {_SPACE_KEYWORDS[w] for w in words if w in _SPACE_KEYWORDS}
            for w in words & found.keys():
                spaces |= found[w]
            if spaces and not spaces <= found.get(name, set()):
                found[name] = found.get(name, set()) | spaces
                changed = True
    return found


def tree_space_macros(view) -> dict[str, set[Space]]:
    """Attribute macros defined anywhere in a tree (a ``TreeView``), e.g.
    ``#define DINLINE __device__ __forceinline__``: for a transform's ``plan``.
    Computed once per run."""
    return view.memo("cpp.space_macros", _tree_space_macros)


def file_space_macros(tree_macros: "dict[str, set[Space]] | None", root: ts.Node) -> dict[str, set[Space]]:
    """The attribute macros a file sees: the tree's (a plan's :func:`tree_space_macros`,
    None without a plan) and the file's own, which win."""
    return {**(tree_macros or {}), **space_macros(root)}


def _tree_space_macros(view) -> dict[str, set[Space]]:
    from . import treesitter

    found: dict[str, set[Space]] = {}
    for source in view.sources(contains=b"#define"):
        # only a file with a #define that names an attribute can define an attribute macro
        if any(_SPACE_WORD.search(m_.group()) for m_ in _DEFINE.finditer(source.body)):
            found.update(space_macros(treesitter.parse("cpp", source.body).root_node))
    return found


# a #define with its continuation lines, and a word that makes it an attribute macro
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t](?:[^\n\\]|\\(?:\r?\n|.))*", re.M)
_SPACE_WORD = re.compile(rb"\b(?:__device__|__host__|__global__|\w*HOST_DEVICE|"
                         + b"|".join(k.encode() for k in KNOWN_SPACE_MACROS) + rb")\b")


def enclosing(node: ts.Node, *types: str) -> ts.Node | None:
    cur = node.parent
    while cur is not None:
        if cur.type in types:
            return cur
        cur = cur.parent
    return None


def _signature_words(func: ts.Node) -> Iterator[str]:
    """Leaf texts of a function definition before its declarator (specifiers, macros).
    When the parser split the head off (``CUTLASS_DEVICE`` on its own line before
    ``static T f()`` in a class parses as a separate, broken member), the words
    between the previous ``;``, ``{`` or ``}`` and the definition count too."""
    declarator = func.child_by_field_name("declarator")
    for child in func.children:
        if declarator is not None and child.start_byte >= declarator.start_byte:
            break
        for leaf in walk(child):
            if leaf.child_count == 0:
                yield leaf.type if not leaf.is_named else leaf.text.decode()
    parent = func.parent
    if parent is not None and parent.has_error:
        before = parent.text[:func.start_byte - parent.start_byte]
        cut = max(before.rfind(b";"), before.rfind(b"{"), before.rfind(b"}"))
        yield from (w.decode() for w in re.findall(rb"\w+", before[cut + 1:]))


def execution_space(node: ts.Node, macros: dict[str, set[Space]] | None = None,
                    device_only: frozenset[str] = frozenset()) -> Space:
    """Where the function around ``node`` runs: __global__/__device__ code is device
    code, ``__host__ __device__`` both, anything else host. Attribute macros
    (``macros``, e.g. from :func:`space_macros`) count like what they expand to.
    Code inside ``#if defined(__CUDA_ARCH__)`` counts as device code, and so does code
    inside ``#if defined(M)`` for a macro of ``device_only`` (:func:`tree_device_only_macros`)."""
    if _under_cuda_arch(node) or (device_only and excluded(
            node, _Windows({**_HOST_PASS, **{m: False for m in device_only}}))):
        return Space.DEVICE
    macros = KNOWN_SPACE_MACROS if macros is None else macros
    func = enclosing(node, "function_definition")
    while func is not None:
        found: set[Space] = set()
        for word in _signature_words(func):
            if word in _SPACE_KEYWORDS:
                found.add(_SPACE_KEYWORDS[word])
            elif word in macros:
                found |= macros[word]
        if found:
            return Space.BOTH if len(found) == 2 else found.pop()
        # a lambda or local class inside a device function runs on the device too
        func = enclosing(func, "function_definition")
    return Space.HOST


def _under_cuda_arch(node: ts.Node) -> bool:
    return excluded(node, _HOST_PASS)


def msvc_sees(node: ts.Node, device: bool = False, device_only: frozenset[str] = frozenset()) -> bool:
    """False when a ``#if`` branch around ``node`` is certainly not compiled on
    Windows x64; True when it is or when a condition cannot be decided.

    ``device=False`` asks about MSVC itself (nvcc's host pass: ``__CUDA_ARCH__``
    undefined, and so the macros of ``device_only``); ``device=True`` about any pass
    of nvcc on Windows, the device passes included (``__CUDA_ARCH__`` may be defined)."""
    if device or not device_only:
        return not excluded(node, WINDOWS_DEVICE if device else MSVC)
    return not excluded(node, _Windows({**MSVC, **{m: False for m in device_only}}))


def tree_device_only_macros(view) -> frozenset[str]:
    """Macros a tree (a ``TreeView``) defines only inside branches nvcc's host pass
    skips, such as CUTLASS's ``CUTE_ARCH_MMA_SM80_ENABLED`` under ``#if
    defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800``: code under ``#if defined(M)``
    is then device code. Computed once per run."""
    return view.memo("cpp.device_only_macros", _tree_device_only_macros)


def _tree_device_only_macros(view) -> frozenset[str]:
    from . import treesitter

    sites, elsewhere = [], set()
    for source in view.sources(contains=b"define"):  # `#  define` too
        names = [(m.start(1), m.end(1), m.group(1).decode()) for m in _DEFINED_NAME.finditer(source.body)]
        if b"#if" not in source.body:
            elsewhere.update(name for _, _, name in names)
            continue
        root = treesitter.parse("cpp", source.body).root_node
        sites += [(name, root.descendant_for_byte_range(start, end)) for start, end, name in names]
    # a macro defined only under another device-only macro is device-only too
    # (CUTE_ARCH_MMA_SM90A_ENABLED under CUTLASS_ARCH_MMA_SM90A_ENABLED under __CUDA_ARCH__)
    device: set[str] = set()
    for _ in range(8):
        assume = _Windows({**_HOST_PASS, **{m: False for m in device}})
        inside, outside = set(), set(elsewhere)
        for name, node in sites:
            (inside if node is not None and excluded(node, assume) else outside).add(name)
        if inside - outside == device:
            break
        device = inside - outside
    return frozenset(device)


_DEFINED_NAME = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)", re.M)


# GCC's predefined limit and layout macros (``__FLT_MAX__``, ``__SIZEOF_POINTER__``, ...):
# MSVC predefines none of them
GCC_PREDEFINED = re.compile(r"__(?:(?:FLT|DBL|LDBL)_(?:MAX|MIN|EPSILON|DENORM_MIN|MANT_DIG|DIG|MAX_EXP|MIN_EXP)"
                            r"|(?:SCHAR|SHRT|INT|LONG|LONG_LONG|WCHAR|SIZE|PTRDIFF|INTMAX|UINTMAX)_MAX"
                            r"|SIZEOF_\w+|BYTE_ORDER|ORDER_(?:LITTLE|BIG)_ENDIAN|CHAR_BIT|BIGGEST_ALIGNMENT)__")


# what nvcc defines only in a device pass for an architecture (``__CUDA_ARCH_FEAT_SM90_ALL``,
# ``__CUDA_ARCH_SPECIFIC__``, ...): undefined wherever ``__CUDA_ARCH__`` is
_DEVICE_PASS_ONLY = re.compile(r"__CUDA_ARCH_(?:FEAT_\w+|SPECIFIC__|FAMILY_SPECIFIC__|LIST__)")


class _Windows(dict):
    """Macro assumptions for Windows: the listed names, and GCC's predefined macros undefined
    (and, when ``__CUDA_ARCH__`` is, nvcc's other device-pass macros)."""

    def get(self, name, default=None):
        if name in self:
            return self[name]
        if GCC_PREDEFINED.fullmatch(name):
            return False
        if dict.get(self, "__CUDA_ARCH__", None) is False and _DEVICE_PASS_ONLY.fullmatch(name):
            return False
        return default


MSVC = _Windows({**{n: True for n in MSVC_DEFINED}, **{n: False for n in MSVC_UNDEFINED}})
WINDOWS_DEVICE = _Windows({n: v for n, v in MSVC.items() if n != "__CUDA_ARCH__"})
_HOST_PASS = _Windows({"__CUDA_ARCH__": False})


def excluded(node: ts.Node, assume: dict[str, bool]) -> bool:
    """True when some ``#if``/``#elif``/``#else`` branch around ``node`` is certainly
    not taken if the macros in ``assume`` are (un)defined as given; names not in
    ``assume`` are unknown."""
    cur = node.parent
    while cur is not None:
        if cur.type in ("preproc_if", "preproc_elif", "preproc_ifdef", "preproc_elifdef"):
            taken = not inside(node, cur.child_by_field_name("alternative"))
            value = _condition(cur, assume)
            if value is not None and value != taken:
                return True
        cur = cur.parent
    return False


def _condition(branch: ts.Node, assume: dict[str, bool]) -> bool | None:
    if branch.type in ("preproc_ifdef", "preproc_elifdef"):
        name = branch.child_by_field_name("name")
        defined = None if name is None else assume.get(name.text.decode())
        if defined is None:
            return None
        negate = branch.children[0].type in ("#ifndef", "#elifndef")
        return (not defined) if negate else defined
    cond = branch.child_by_field_name("condition")
    return None if cond is None else _eval(cond, assume)


_COMPARE = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _number(node: ts.Node, assume: dict[str, bool]) -> int | None:
    if node.type == "number_literal":
        try:
            return int(node.text.decode().rstrip("uUlL"), 0)
        except ValueError:
            return None
    if node.type == "identifier" and assume.get(node.text.decode()) is False:
        return 0  # an undefined macro is 0 in #if
    if node.type == "parenthesized_expression" and node.named_child_count == 1:
        return _number(node.named_children[0], assume)
    return None


def _eval(node: ts.Node, assume: dict[str, bool]) -> bool | None:
    """Three-valued evaluation of a preprocessor condition (None: unknown)."""
    t = node.type
    if t == "preproc_defined":
        ident = next((c for c in node.children if c.type == "identifier"), None)
        return None if ident is None else assume.get(ident.text.decode())
    if t == "parenthesized_expression":
        inner = [c for c in node.named_children if c.type != "comment"]
        return _eval(inner[0], assume) if len(inner) == 1 else None
    if t == "unary_expression" and node.child_by_field_name("operator").type in ("!", "not"):
        v = _eval(node.child_by_field_name("argument"), assume)
        return None if v is None else not v
    if t == "binary_expression":
        op = node.child_by_field_name("operator").type
        left = _eval(node.child_by_field_name("left"), assume)
        right = _eval(node.child_by_field_name("right"), assume)
        if op in ("&&", "and"):
            if left is False or right is False:
                return False
            return True if (left and right) else None
        if op in ("||", "or"):
            if left is True or right is True:
                return True
            return False if (left is False and right is False) else None
        if op in _COMPARE:
            a = _number(node.child_by_field_name("left"), assume)
            b = _number(node.child_by_field_name("right"), assume)
            return None if a is None or b is None else _COMPARE[op](a, b)
        return None
    value = _number(node, assume)
    return None if value is None else value != 0


_TESTS = ("preproc_if", "preproc_elif")
_NAMED = ("preproc_ifdef", "preproc_elifdef", "preproc_defined")
_DEFINES = ("preproc_def", "preproc_function_def")


def in_directive(node: ts.Node, defines: bool = False) -> bool:
    """Whether ``node`` is part of a preprocessor test: a ``#if``/``#elif`` condition,
    the name of ``#ifdef``/``#ifndef``, ``defined(...)``; with ``defines``, also
    anywhere in a ``#define``. Code in the branches those directives guard is not."""
    cur = node.parent
    while cur is not None:
        if cur.type in _TESTS:
            condition = cur.child_by_field_name("condition")
            return condition is not None and node.start_byte < condition.end_byte
        if cur.type in _NAMED:
            name = cur.child_by_field_name("name")
            return cur.type == "preproc_defined" or (name is not None and node.start_byte < name.end_byte)
        if defines and cur.type in _DEFINES:
            return True
        cur = cur.parent
    return False


def insert_after_includes(ctx, root: ts.Node, block: str, message: str, uses: "Sequence[ts.Node | int]") -> None:
    """Insert ``block`` after the file's top-level ``#include`` lines (or its
    ``#pragma once``, or at the top). ``uses``: the nodes (or byte offsets) that need
    the block; the site, which stands where the block goes, says how many and where
    the first is (``... (3 use(s), first at line 42)``), so that a finding at the top
    of a file leads to the code that needs it."""
    first = min(ctx.position(u)[0] for u in uses)
    message = f"{message} ({len(uses)} use(s), first at line {first})"
    includes = [c for c in root.named_children if c.type == "preproc_include"]
    pragma = [c for c in root.named_children if c.type == "preproc_call" and b"once" in c.text]
    anchor = (includes or pragma or [None])[-1]
    if anchor is None:
        ctx.insert(0, block.strip("\n") + "\n\n", message)
    else:
        ctx.insert_lines_after(anchor, block, message)
