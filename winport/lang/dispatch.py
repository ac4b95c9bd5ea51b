"""Boolean-dispatch macros in C++ (``BOOL_SWITCH(cond, kName, [&] {...})`` and their
kin): which macros of a tree are such, and the nests of their calls. Read by
``cuda/bool-dispatch``, which flattens the nests, and by
``cuda/directives-in-macro-args``, which leaves the calls inside them alone.

A macro is a dispatch macro by its definition, not its name: a
``#define NAME(cond, CONST, ...)`` whose body declares ``constexpr bool CONST =
true`` and ``= false`` (or ``const bool`` proven constant by a ``static_assert``)
and runs ``__VA_ARGS__``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import tree_sitter as ts

from . import treesitter
from .cpp import msvc_sees

_DEFINE = re.compile(rb"#\s*define\s+(\w+)\s*\(\s*\w+\s*,\s*(\w+)\s*,\s*\.\.\.\s*\)")


class Level(NamedTuple):
    """One dispatch call of a nest: ``NAME(condition, const, lam)``."""

    call: ts.Node  # the call_expression
    condition: ts.Node
    const: str  # the constant's name the macro declares
    lam: ts.Node  # the lambda_expression


@dataclass
class Nest:
    """A dispatch call that holds another: its levels and, when it cannot be
    flattened, why."""

    outer: ts.Node  # the outermost call_expression
    name: str
    levels: list[Level]
    problem: str | None


def nests(root, macros) -> Iterator[Nest]:
    """Every nest of dispatch calls (``macros``) under ``root`` that Windows compiles,
    outermost calls only: a :class:`Nest` with ``problem`` None is what
    ``cuda/bool-dispatch`` flattens (its statement is replaced)."""
    done_inner: set[int] = set()
    for call in treesitter.called(root, treesitter.words(macros)):
        outer = call.parent
        if outer.start_byte in done_inner or not msvc_sees(outer, device=True):
            continue
        levels = _nest(outer, macros)
        done_inner.update(level.call.start_byte for level in levels)
        deeper = _holds_dispatch(levels[-1].lam, macros) if levels else False
        if deeper:
            done_inner.update(c.parent.start_byte for c in treesitter.called(
                levels[-1].lam, treesitter.words(macros)))
            yield Nest(outer, call.text.decode(), levels, "a lambda holds more than the inner dispatch call "
                                                         "(and a trailing return of a literal)")
        elif len(levels) >= 2:
            statement = outer.parent
            problem = "it is used as a value" if statement is None or statement.type != "expression_statement" \
                else _problem(levels)
            yield Nest(outer, call.text.decode(), levels, problem)


def dispatch_macros(tree) -> set[str]:
    """The boolean-dispatch macros a tree (a ``TreeView``) defines, read once per run
    (for a ``plan``; see the Pattern)."""
    return tree.memo("bool_dispatch.macros", _dispatch_macros)


def _dispatch_macros(tree) -> set[str]:
    macros: set[str] = set()
    for source in tree.sources(contains=b"__VA_ARGS__"):
        for m in _DEFINE.finditer(source.body):
            const = m.group(2)
            end = source.body.find(b"\n", m.end())
            while end > 0 and source.body[end - 1:end] == b"\\":  # the macro's continued lines
                end = source.body.find(b"\n", end + 1)
            body = source.body[m.end():end if end > 0 else len(source.body)]
            if _dispatches(body, const):
                macros.add(m.group(1).decode())
    return macros


def _dispatches(body: bytes, const: bytes) -> bool:
    """Whether a macro body declares ``const`` true in one branch and false in the
    other and runs its ``__VA_ARGS__``: as ``constexpr bool``, or as ``const bool``
    that a ``static_assert`` proves constant."""
    if b"__VA_ARGS__" not in body:
        return False
    for value in (b"true", b"false"):
        m = re.search(rb"\b(constexpr|const)\s+bool\s+" + const + rb"\s*=\s*" + value + rb"\b", body)
        if m is None:
            return False
        if m.group(1) == b"const" and not re.search(rb"static_assert\s*\(\s*" + const + rb"\b", body):
            return False
    return True


def _args(call):
    arglist = call.child_by_field_name("arguments")
    return [c for c in arglist.named_children if c.type != "comment"] if arglist is not None else []


def _nest(call, macros) -> list[Level]:
    """The levels of a nest from the outside in, while each
    lambda holds one further dispatch call (and at most a trailing ``return <literal>;``,
    whose value a statement discards)."""
    levels = []
    while True:
        args = _args(call)
        if len(args) != 3 or args[2].type != "lambda_expression":
            break
        levels.append(Level(call, args[0], args[1].text.decode(), args[2]))
        inner = _sole_call(args[2])
        fn = inner.child_by_field_name("function") if inner is not None else None
        if fn is None or fn.text.decode() not in macros:
            break
        call = inner
    return levels


def _sole_call(lam):
    """The call a lambda's body consists of: one expression statement, optionally
    followed by ``return <literal>;``. None for any other body."""
    body = lam.child_by_field_name("body")
    stmts = [c for c in body.named_children if c.type != "comment"] if body is not None else []
    if len(stmts) == 2 and stmts[1].type == "return_statement" and _returns_literal(stmts[1]):
        stmts = stmts[:1]
    if len(stmts) != 1 or stmts[0].type != "expression_statement" or not stmts[0].named_children:
        return None
    inner = stmts[0].named_children[0]
    return inner if inner.type == "call_expression" else None


def _returns_literal(ret) -> bool:
    values = [c for c in ret.named_children if c.type != "comment"]
    return len(values) == 1 and values[0].type in ("true", "false", "number_literal")


def _holds_dispatch(lam, macros) -> bool:
    """Whether a dispatch call sits anywhere in ``lam``'s body."""
    body = lam.child_by_field_name("body")
    return body is not None and any(treesitter.called(body, treesitter.words(macros)))


def _problem(levels: list[Level]) -> str | None:
    names = [level.const for level in levels]
    for i, (_, cond, _, lam) in enumerate(levels):
        capture = lam.child_by_field_name("captures")
        if capture is None or capture.text.replace(b" ", b"") != b"[&]":
            return f"a lambda captures {capture.text.decode() if capture else 'nothing'}, not [&]"
        if lam.child_by_field_name("declarator") is not None:
            return "a lambda takes parameters"
        used = {n.text.decode() for n in treesitter.walk(cond) if n.child_count == 0}
        if used & set(names[:i]):
            return f"the condition `{cond.text.decode()}` uses an outer constant"
    return None
