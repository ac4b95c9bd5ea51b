from __future__ import annotations

import re
from dataclasses import dataclass, field

from winport.lang import treesitter
from winport.lang.cpp import Space, space_macros, tree_space_macros
from winport.transform import Context, CppTransform

_DEFINITION = "(template_declaration (declaration) @d)"
# cheap byte-level shapes that select the files worth parsing in the plan
_VARIABLE_TEMPLATE = re.compile(rb"template\s*<[^;{]*>\s*[^;{(]*\bconstexpr\b[^;{(]*[^=!<>]=[^=]")
_CONVERTED = re.compile(rb"\bconstexpr\b[^;{(]*\w\(\)\s*\{\s*return\b")



@dataclass(frozen=True)
class TemplatePlan:
    """The variable templates to convert {name: the file defining it}, those a use
    blocks {name: ["path:why", ...]}, and the files that name one."""

    names: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, list[str]] = field(default_factory=dict)
    files: frozenset[str] = frozenset()

class VarTemplateFunction(CppTransform):
    """Turn `__host__ __device__` variable templates into constexpr function templates.

    Why:
    nvcc with MSVC as host compiler cannot attach `__host__ __device__` to a
    variable template (`MAYBE_HOST_DEVICE static constexpr T
    quant_type_max_v = ...`): the declaration is rejected, and every kernel
    that reads the value fails with it.

    Pattern:
    A `template <...>` declaration of a `constexpr` variable with an
    initializer whose specifiers carry `__host__`/`__device__` directly or
    through a macro (`MAYBE_HOST_DEVICE` -> `C10_HOST_DEVICE`), found
    anywhere in the sources; then every use `name<Args>` of that variable in
    every file (10+ files by 0.33). Uses are planned for the whole tree
    before anything is edited: if one of them is not a plain `name<Args>`
    expression (inside a macro body, in unparsable code), the definition
    file fails with the reason and no file is changed for that name, so the
    tree is never half converted.

    Rewrite:
    `static constexpr T name = expr;` becomes
    `static inline constexpr T name() { return expr; }` and every use
    `name<T>` becomes `name<T>()`. A constexpr function template gives the
    same value at compile time on every compiler, so no `#ifdef` is needed.
    """

    id = "cuda/var-template-function"
    seed = "K1"
    summary = "`__host__ __device__` variable templates -> constexpr function templates, every use `name<T>()`"
    portable = True
    triggers = ()  # the plan finds the definitions and names every file to visit

    def plan(self, tree) -> TemplatePlan:
        macros = tree_space_macros(tree)
        names: dict[str, str] = {}
        converted: set[str] = set()  # function templates already: only their uses may need `()`
        for source in tree.sources(contains=b"constexpr"):
            if not _VARIABLE_TEMPLATE.search(source.body) and not _CONVERTED.search(source.body):
                continue
            root = treesitter.parse(self.language, source.body).root_node
            local = {**macros, **space_macros(root)}
            for decl in _definitions(root, local):
                name = _declarator(decl).child_by_field_name("declarator").text.decode()
                names[name] = source.path
                converted.discard(name)
            for name in _converted(root, local):
                if name not in names:
                    names[name] = source.path
                    converted.add(name)
        blocked: dict[str, list[str]] = {}
        files: set[str] = set()
        for name, home in names.items():
            for source in tree.sources(contains=name.encode()):
                files.add(source.path)
                root = treesitter.parse(self.language, source.body).root_node
                if name in converted:
                    continue  # nothing is converted: a use the rewrite cannot read is left as it is
                for reason in _unsafe_uses(root, name):
                    blocked.setdefault(name, []).append(f"{source.path}:{reason}")
        return TemplatePlan(names, blocked, frozenset(files))

    def plan_files(self, plan: TemplatePlan) -> set[str]:
        return set(plan.files)

    def rewrite(self, tree, ctx: Context) -> None:
        plan: TemplatePlan = ctx.plan or TemplatePlan()
        root = tree.root_node
        for name, home in plan.names.items():
            if name in plan.blocked:
                if ctx.path == home:
                    ctx.failed(f"variable template {name} not converted: a use cannot be rewritten safely "
                               f"({'; '.join(plan.blocked[name][:3])})")
                continue
            if ctx.path == home:
                self._definition(root, name, ctx)
            self._uses(root, name, ctx)

    def _definition(self, root, name: str, ctx: Context) -> None:
        for decl in _definitions(root, None):
            init = _declarator(decl)
            if init.child_by_field_name("declarator").text.decode() != name:
                continue
            value = init.child_by_field_name("value").text.decode()
            qualifier = next(c for c in decl.children if c.type == "type_qualifier" and c.text == b"constexpr")
            if b"inline" not in decl.text[: init.start_byte - decl.start_byte]:
                ctx.edit(qualifier.start_byte, qualifier.start_byte, "inline ")
            ctx.edit(init.start_byte, decl.end_byte, f"{name}() {{\n  return {value};\n}}")
            ctx.applied(decl, f"variable template {name} -> constexpr function template")
        if name in _converted(root, None):
            ctx.already(root, f"{name} is a constexpr function template already")

    def _uses(self, root, name: str, ctx: Context) -> None:
        for node in _name_nodes(root, name):
            use = node.parent
            if use is None or use.type != "template_function" or any(a.is_error for a in _ancestors(use)):
                continue
            called = use  # `ns::name<T>` is called as a whole
            while called.parent is not None and called.parent.type == "qualified_identifier":
                called = called.parent
            parent = called.parent
            if parent is not None and parent.type == "call_expression" and parent.child_by_field_name("function") == called:
                ctx.already(use, f"{name}<...>() is called already")
                continue
            ctx.insert(use.end_byte, "()", f"{use.text.decode()} -> {use.text.decode()}()", where=use)


def _declarator(decl):
    return next((c for c in decl.children if c.type == "init_declarator"), None)


def _definitions(root, macros):
    """`template<...> ... constexpr T name = value;` declarations; with ``macros``,
    only those whose specifiers mark them host/device."""
    for _, decl in treesitter.captures("cpp", _DEFINITION, root):
        init = _declarator(decl)
        if init is None or init.child_by_field_name("value") is None or not any(c.type == "=" for c in init.children):
            continue  # `auto f(args)` is a (misparsed) function or a direct-initialisation
        if init.child_by_field_name("declarator").type != "identifier":
            continue
        if not any(c.type == "type_qualifier" and c.text == b"constexpr" for c in decl.children):
            continue
        if macros is not None:
            words = {leaf.text.decode() for c in decl.children if c.end_byte <= init.start_byte
                     for leaf in treesitter.walk(c) if leaf.child_count == 0}
            spaces = {Space.DEVICE for w in words if w in ("__device__", "__global__")}
            for w in words & macros.keys():
                spaces |= macros[w]
            if Space.DEVICE not in spaces:
                continue
        yield decl


def _converted(root, macros) -> set[str]:
    """Names of function templates of the shape this transform writes:
    `constexpr`, no parameters, a body that is one `return`, and (with
    ``macros``) a host/device marker."""
    out = set()
    for _, fn in treesitter.captures("cpp", "(template_declaration (function_definition) @f)", root):
        declarator, body = fn.child_by_field_name("declarator"), fn.child_by_field_name("body")
        if declarator is None or declarator.type != "function_declarator" or body is None:
            continue
        head = fn.text[: declarator.start_byte - fn.start_byte]
        params = declarator.child_by_field_name("parameters")
        if b"constexpr" not in head or params is None or params.named_child_count:
            continue
        if [c.type for c in body.named_children] != ["return_statement"]:
            continue
        if macros is not None:
            words = set(head.decode().split())
            if not (words & {"__device__", "__host__"} or any(Space.DEVICE in macros[w] for w in words & macros.keys())):
                continue
        out.add(declarator.child_by_field_name("declarator").text.decode())
    return out


def _name_nodes(root, name: str):
    return treesitter.identifiers(root, re.compile(rb"\b" + re.escape(name.encode()) + rb"\b"))


def _unsafe_uses(root, name: str) -> list[str]:
    """Occurrences of ``name`` that are neither its definition nor `name<...>`."""
    bad = []
    for node in _name_nodes(root, name):
        parent = node.parent
        ok = (parent is not None and (
            parent.type == "template_function"
            or (parent.type == "init_declarator" and parent.child_by_field_name("declarator") == node)
            or parent.type == "function_declarator"))
        if not ok or any(a.is_error for a in _ancestors(node)):
            bad.append(f"{node.start_point[0] + 1}: `{name}` outside a `{name}<...>` expression")
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    for _, arg in treesitter.captures("cpp", "(preproc_arg) @a", root):
        if pattern.search(arg.text.decode()):
            bad.append(f"{arg.start_point[0] + 1}: `{name}` in a macro body")
    return bad


def _ancestors(node):
    cur = node.parent
    while cur is not None:
        yield cur
        cur = cur.parent
