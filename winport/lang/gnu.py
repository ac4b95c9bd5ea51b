"""GNU C++ that MSVC rejects, as fixers and detectors read it: ``__attribute__((...))``
lists, and GCC's predefined float limits."""

from __future__ import annotations

import re

# `__attribute__((item, item(args)))` or `__attribute((...))`
ATTRIBUTE = re.compile(rb"__attribute(?:__)?\s*\(\((?P<items>(?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)\)")
_ITEM = re.compile(r"\s*(?:__)?(?P<name>[A-Za-z_]\w*?)(?:__)?\s*(?:\((?P<args>.*)\))?\s*", re.S)

# GNU attributes with a C++ standard spelling, placed at the start of the declaration
STANDARD = {"unused": "[[maybe_unused]]", "noreturn": "[[noreturn]]", "warn_unused_result": "[[nodiscard]]",
            "deprecated": "[[deprecated]]", "fallthrough": "[[fallthrough]]"}
# the attributes cuda/gnu-attributes writes in an MSVC form: aligned, the inlining ones, STANDARD
FIXED = frozenset({"aligned", "always_inline", "noinline", *STANDARD})

# GCC's predefined float limits and their <cfloat> names (MSVC predefines none of them)
GCC_LIMITS = {f"__{kind}_{what}__": f"{kind}_{what}" for kind in ("FLT", "DBL") for what in ("MAX", "MIN", "EPSILON")}


def items(text: bytes) -> list[tuple[str, str | None]] | None:
    """``(name, args)`` of each item of one ``__attribute__((...))`` (``__name__``
    spelled as ``name``), or None if the text is not one attribute."""
    m = ATTRIBUTE.fullmatch(text.strip())
    if m is None:
        return None
    out, depth, start, inner = [], 0, 0, m.group("items").decode()
    for i, ch in enumerate(inner + ","):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            part = _ITEM.fullmatch(inner[start:i])
            if part is None:
                return None
            out.append((part.group("name"), part.group("args")))
            start = i + 1
    return out
