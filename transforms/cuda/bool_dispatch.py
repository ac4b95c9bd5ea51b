from __future__ import annotations

from dataclasses import dataclass

from winport.lang.cpp import insert_after_includes
from winport.lang.dispatch import Level, dispatch_macros, nests
from winport.transform import Context, CppTransform


MARK = "winport_dispatch"



@dataclass(frozen=True)
class DispatchPlan:
    """The tree's boolean-dispatch macros, and the files that call one."""

    macros: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()

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

    def plan(self, tree) -> DispatchPlan:
        macros = dispatch_macros(tree)
        files = {s.path for s in tree.sources() if any(name.encode() + b"(" in s.body for name in macros)}
        return DispatchPlan(frozenset(macros), frozenset(files))

    def plan_files(self, plan: DispatchPlan) -> set[str]:
        return set(plan.files)

    def rewrite(self, tree, ctx: Context) -> None:
        macros = set((ctx.plan or DispatchPlan()).macros)
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


def _flatten(ctx: Context, statement, levels: list[Level]) -> str:
    _, indent = ctx.line_of(statement.start_byte)
    names = [level.const for level in levels]
    conds = [level.condition.text.decode() for level in levels]
    body = levels[-1].lam.child_by_field_name("body")
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
