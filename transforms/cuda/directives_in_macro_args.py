from __future__ import annotations

import re
from dataclasses import dataclass, field

from winport.lang import treesitter
from winport.lang.cpp import blank_literals, closing_paren, msvc_sees
from winport.lang.dispatch import dispatch_macros, nests
from winport.transform import Context, CppTransform


# a function-like macro's definition, and a call of something named like a macro
_FUNCTION_MACRO = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)\(", re.M)
_CALL = re.compile(rb"\b([A-Za-z_]\w*)[ \t]*\(")
_ALL_CAPS = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")
_CONDITIONAL = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)\b", re.M)
# copies of one call beyond which the rewrite is reported instead
MAX_COPIES = 8


@dataclass
class _Group:
    """One ``#if`` ... ``#endif`` among the lines of a call: its branches (the
    directive line and the items under it) and its ``#endif`` line."""

    branches: list[tuple[str, list]] = field(default_factory=list)
    endif: str = ""


def _parse(lines: list[str]) -> list | None:
    """The lines as items: a text line, or a :class:`_Group` (nested groups inside
    its branches). None when the conditionals do not balance."""
    stack: list[tuple[list, _Group | None]] = [([], None)]
    for line in lines:
        m = _CONDITIONAL.match(line.encode())
        word = m.group(1).decode() if m else ""
        if word.startswith("if"):
            group = _Group([(line, [])])
            stack[-1][0].append(group)
            stack.append((group.branches[0][1], group))
        elif word.startswith(("elif", "else")):
            if stack[-1][1] is None:
                return None
            group = stack[-1][1]
            group.branches.append((line, []))
            stack[-1] = (group.branches[-1][1], group)
        elif word == "endif":
            if stack[-1][1] is None:
                return None
            stack[-1][1].endif = line
            stack.pop()
        else:
            stack[-1][0].append(line)
    return stack[0][0] if len(stack) == 1 else None


def _expand(items: list) -> list[str]:
    """Lines where no conditional stands among the call's lines: the first group
    becomes the outer conditional, each branch holding the whole call with that
    branch's lines (and an ``#else`` with none of them when the group has none)."""
    at = next((i for i, item in enumerate(items) if isinstance(item, _Group)), None)
    if at is None:
        return list(items)
    group, before, after = items[at], items[:at], items[at + 1:]
    out: list[str] = []
    for directive, body in group.branches:
        out.append(directive)
        out += _expand(before + body + after)
    if not any(_CONDITIONAL.match(d.encode()).group(1) == b"else" for d, _ in group.branches):
        out.append("#else")
        out += _expand(before + after)
    out.append(group.endif)
    return out



@dataclass(frozen=True)
class MacroPlan:
    """The function-like macros the tree defines, and its boolean-dispatch macros
    (whose nests ``cuda/bool-dispatch`` rewrites)."""

    macros: frozenset[str] = frozenset()
    dispatch: frozenset[str] = frozenset()

class DirectivesInMacroArgs(CppTransform):
    """Move `#if`/`#else`/`#endif` out of the arguments of a macro call.

    Why:
    A preprocessing directive among the arguments of a function-like macro
    is undefined behaviour in ISO C++ ([cpp.replace]). GCC and Clang process
    it as if it stood outside; MSVC does not: `DISPATCH_HASH(use_hash,
    USE_HASH, { ... #ifndef USE_ROCM ... #else ... #endif })` in the top-k
    softplus/sqrt kernels, and the `#ifndef USE_ROCM` inside the nested
    floating-type dispatch of 0.33.0's activation kernels, stop the build.

    Pattern:
    A call, standing on its own lines as a statement, of a function-like
    macro the tree defines or of a name written like a macro (all capitals:
    `AT_DISPATCH_...`, `TORCH_CHECK`), whose arguments hold conditional
    directives, in code Windows compiles. The outermost such call is taken.
    A boolean-dispatch nest that `cuda/bool-dispatch` flattens is left to it:
    its body then stands in a lambda, where directives are ordinary.

    Rewrite:
    The whole call is repeated once per branch, inside the same
    conditional: `#ifndef X` / the call with the `#ifndef` branch's lines /
    `#else` / the call with the `#else` branch's lines / `#endif` (an `#else`
    with neither branch's lines when the group had none). Later and nested
    groups are taken the same way. Every configuration, Linux's included,
    compiles the same tokens as GCC did before (a test preprocesses both
    forms with g++ under each setting and compares).

    Reported:
    A call that does not start its line or is followed by more code on its
    last line, whose conditionals do not balance, or that would need more
    than eight copies.
    """

    id = "cuda/directives-in-macro-args"
    seed = "C1"
    summary = "#if/#else/#endif inside a macro call's arguments -> the call repeated once per branch"
    portable = True
    triggers = ("#if",)
    triggers_in_code = True

    def plan(self, tree) -> MacroPlan:
        names: set[str] = set()
        for source in tree.sources(contains=b"#define"):
            names.update(m.group(1).decode() for m in _FUNCTION_MACRO.finditer(source.body))
        return MacroPlan(frozenset(names), frozenset(dispatch_macros(tree)))

    def rewrite(self, tree, ctx: Context) -> None:
        body = ctx.source.body
        if b'R"' in body or not _CONDITIONAL.search(body):
            return
        plan: MacroPlan = ctx.plan or MacroPlan()
        macros, dispatch = set(plan.macros), set(plan.dispatch)
        flattened = [(n.outer.parent.start_byte, n.outer.parent.end_byte)
                     for n in (nests(tree.root_node, dispatch) if dispatch else ()) if n.problem is None]
        code = blank_literals(body)
        taken_to = 0
        for m in _CALL.finditer(code):
            name = m.group(1).decode()
            if m.start() < taken_to or not (name in macros or _ALL_CAPS.fullmatch(name)):
                continue
            line_start = code.rfind(b"\n", 0, m.start()) + 1
            if code[line_start:m.start()].lstrip().startswith(b"#") or _continued(code, line_start):
                continue  # a directive's or a #define's own text
            close = closing_paren(code, m.end() - 1)
            if close is None or not _CONDITIONAL.search(code, m.end(), close):
                continue
            taken_to = close
            node = tree.root_node.descendant_for_byte_range(m.start(), m.start() + 1)
            if node is None or not msvc_sees(node, device=True):
                continue
            if any(a <= m.start() < b for a, b in flattened):
                continue
            self._call(ctx, code, name, line_start, m.start(), close)

    def _call(self, ctx: Context, code: bytes, name: str, line_start: int, start: int, close: int) -> None:
        end = code.find(b"\n", close)
        end = len(code) if end < 0 else end
        tail = code[close + 1:end].strip()
        if code[line_start:start].strip() or tail not in (b"", b";"):
            ctx.report(start, f"{name}(...) holds #if/#endif in its arguments but shares its lines with "
                              "other code: move the directives out by hand")
            return
        text = ctx.source.body[line_start:end].decode("utf-8")
        items = _parse(text.split("\n"))
        if items is None:
            ctx.report(start, f"{name}(...): the conditionals in its arguments do not balance")
            return
        lines = _expand(items)
        copies = lines.count(text.split("\n", 1)[0])
        if copies > MAX_COPIES:
            ctx.report(start, f"{name}(...) would be repeated {copies} times: move the directives out by hand")
            return
        # the copies repeat what the parser fails on in the call (a statement-like macro
        # call without a semicolon reads as a MISSING ";"): those are not new errors
        ctx.repeated_errors += max(0, _errors_in_a_body(lines) - _errors_in_a_body(text.split("\n")))
        ctx.replace(line_start, end, "\n".join(lines),
                    f"#if/#endif in the arguments of {name}(...) -> the call once per branch ({copies} copies)",
                    where=start)


def _errors_in_a_body(lines: list[str]) -> int:
    """Parse errors of ``lines`` as the statements of a function body."""
    text = "void winport_probe() {\n" + "\n".join(lines) + "\n}\n"
    return treesitter.error_count(treesitter.parse("cpp", text.encode()))


def _continued(code: bytes, line_start: int) -> bool:
    """Whether the line at ``line_start`` continues a ``#define`` (the line above ends
    with a backslash)."""
    return line_start >= 2 and code[line_start - 2:line_start - 1] == b"\\"
