from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from winport.lang import treesitter
from winport.lang.cpp import insert_after_includes, msvc_sees
from winport.transform import Context, CppTransform


_DEFINE = re.compile(rb"#\s*define\s+(\w+)\s*\(\s*\w+\s*,\s*(\w+)\s*,\s*\.\.\.\s*\)")
MARK = "winport_dispatch"


class BoolDispatch(CppTransform):
    """Flatten nested boolean-dispatch macros into one generic lambda and an if/else tree.

    Why:
    vLLM picks kernel template arguments from runtime booleans with macros
    such as `BOOL_SWITCH(cond, kName, [&] {...})` or
    `VLLM_DISPATCH_BOOL(cond, kName, [&] {...})`: each branch declares
    `constexpr bool kName = true/false` and runs the lambda. Nested three
    deep (selective scan), the innermost lambda uses constants declared two
    or three lambdas further out; MSVC does not carry those `constexpr`
    values through the nested captures and rejects them as template
    arguments.

    Pattern:
    The macros are recognised by their definition, not their name: a
    `#define NAME(cond, CONST, ...)` whose body declares
    `constexpr bool CONST = true` and `= false` (or `const bool` proven
    constant by a `static_assert`) and runs `__VA_ARGS__` (`BOOL_SWITCH`,
    `VLLM_DISPATCH_BOOL`, `VLLM_STABLE_DISPATCH_BOOL`, the MLA kernel's
    `DISPATCH_BOOL`, `DISPATCH_HASH`, ...). A nest is such a call, used as a
    statement, whose `[&]` lambda holds nothing but another such call, two
    or more deep; a lambda may end with `return <literal>;` (the MLA decode
    nest's `return true;`), a value the statement discards.

    Rewrite:
    One generic lambda takes a `std::integral_constant` per boolean and
    declares the constants from their types
    (`constexpr bool kHasZ = decltype(kHasZ_c)::value;`), so no `constexpr`
    crosses a lambda boundary; the innermost body follows unchanged. The
    conditions are evaluated once each, outermost first, as before, and an
    explicit if/else tree of 2^n leaves calls the lambda with
    `std::true_type{}`/`std::false_type{}`. Each leaf instantiates the body
    with the same constants as the macro branch it replaces, so every
    compiler generates the same kernels. A generic lambda keeps the body in
    place with all the variables it captured; a separate dispatch function
    template (the hand port's choice) would have to be given every one of
    them as a parameter.

    Reported:
    A nest whose inner condition uses an outer constant (it cannot be
    evaluated before the tree), whose lambdas take parameters or capture
    other than `[&]`, whose value is used, or whose lambda holds a further
    dispatch call beside other statements: no nest is left silently.
    """

    id = "cuda/bool-dispatch"
    seed = "K2"
    summary = "nested BOOL_SWITCH-style dispatch -> one generic lambda + explicit if/else tree"
    portable = True
    triggers = ("const bool", "constexpr bool")  # the macro definitions; the plan names the files using them

    def plan(self, tree) -> dict:
        macros = dispatch_macros(tree)
        files = {s.path for s in tree.sources() if any(name.encode() + b"(" in s.body for name in macros)}
        return {"macros": sorted(macros), "files": files}

    def plan_files(self, plan) -> set[str]:
        return plan["files"]

    def rewrite(self, tree, ctx: Context) -> None:
        macros = set((ctx.plan or {}).get("macros", ()))
        if not macros:
            return
        flattened = []
        for nest in nests(tree.root_node, macros):
            if nest.problem:
                ctx.report(nest.outer, f"nested boolean dispatch not rewritten: {nest.problem}")
                continue
            statement, levels = nest.outer.parent, nest.levels
            flattened.append(statement)
            ctx.replace_node(statement, _flatten(ctx, statement, levels),
                             f"{len(levels)}-deep {nest.name} nest -> generic lambda + "
                             f"{2 ** len(levels)}-leaf if/else tree")
        if ctx.sites and b"<type_traits>" not in ctx.source.body:
            insert_after_includes(ctx, tree.root_node, "#include <type_traits>  // winport: std::true_type\n",
                                  "<type_traits> included for std::true_type", flattened)
        if not ctx.sites and f"auto {MARK} = [&](".encode() in ctx.source.body:
            ctx.already(tree.root_node, "boolean dispatch already flattened")


@dataclass
class Nest:
    """A dispatch call that holds another: its levels and, when it cannot be
    flattened, why."""

    outer: object  # the outermost call_expression
    name: str
    levels: list
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
        done_inner.update(level.start_byte for level, _, _ in levels)
        deeper = _holds_dispatch(levels[-1][2][1], macros) if levels else False
        if deeper:
            done_inner.update(c.parent.start_byte for c in treesitter.called(
                levels[-1][2][1], treesitter.words(macros)))
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


def _nest(call, macros):
    """[(call, condition node, const name, lambda)] from the outside in, while each
    lambda holds one further dispatch call (and at most a trailing ``return <literal>;``,
    whose value a statement discards)."""
    levels = []
    while True:
        args = _args(call)
        if len(args) != 3 or args[2].type != "lambda_expression":
            break
        levels.append((call, args[0], args[1].text.decode(), args[2]))
        inner = _sole_call(args[2])
        fn = inner.child_by_field_name("function") if inner is not None else None
        if fn is None or fn.text.decode() not in macros:
            break
        call = inner
    return [(c, cond, (name, lam)) for c, cond, name, lam in levels]


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


def _problem(levels) -> str | None:
    names = [name for _, _, (name, _) in levels]
    for i, (_, cond, (_, lam)) in enumerate(levels):
        capture = lam.child_by_field_name("captures")
        if capture is None or capture.text.replace(b" ", b"") != b"[&]":
            return f"a lambda captures {capture.text.decode() if capture else 'nothing'}, not [&]"
        if lam.child_by_field_name("declarator") is not None:
            return "a lambda takes parameters"
        used = {n.text.decode() for n in treesitter.walk(cond) if n.child_count == 0}
        if used & set(names[:i]):
            return f"the condition `{cond.text.decode()}` uses an outer constant"
    return None


def _flatten(ctx: Context, statement, levels) -> str:
    _, indent = ctx.line_of(statement.start_byte)
    names = [name for _, _, (name, _) in levels]
    conds = [cond.text.decode() for _, cond, _ in levels]
    body = levels[-1][2][1].child_by_field_name("body")
    inner = ctx.source.body[body.start_byte + 1: body.end_byte - 1].decode().strip("\n").rstrip()
    params = ", ".join(f"auto {n}_c" for n in names)
    lines = ["{  // winport: nested boolean dispatch flattened (MSVC loses constexpr in nested lambdas)",
             f"{indent}  auto {MARK} = [&]({params}) {{"]
    lines += [f"{indent}    constexpr bool {n} = decltype({n}_c)::value;" for n in names]
    lines += [inner, f"{indent}  }};"]
    lines += [f"{indent}  const bool {MARK}_{i} = ({c});" for i, c in enumerate(conds)]

    def tree_(i: int, chosen: list[str], pad: str) -> list[str]:
        if i == len(names):
            return [f"{pad}{MARK}({', '.join(chosen)});"]
        return ([f"{pad}if ({MARK}_{i}) {{"] + tree_(i + 1, chosen + ["std::true_type{}"], pad + "  ")
                + [f"{pad}}} else {{"] + tree_(i + 1, chosen + ["std::false_type{}"], pad + "  ") + [f"{pad}}}"])

    lines += tree_(0, [], f"{indent}  ")
    lines.append(f"{indent}}}")
    return "\n".join(lines)
