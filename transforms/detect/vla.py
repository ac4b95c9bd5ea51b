from __future__ import annotations

import re

from winport.lang import treesitter
from winport.lang.cpp import file_space_macros, Space, enclosing, execution_space, msvc_sees, tree_space_macros
from winport.transform import Context, CppTransform


class VariableLengthArrays(CppTransform):
    """Report variable-length arrays in host code MSVC compiles.

    Why:
    `int buf[n];` with a size known only at run time is a GNU extension in
    C++ (C99 has it, C++ never did). GCC and Clang accept it; MSVC rejects it
    (C2131: expression did not evaluate to a constant).

    Pattern:
    A local array declaration in a function body whose size uses one of the
    function's parameters, or a local variable declared without `const` or
    `constexpr`, outside `sizeof`; in host or `__host__ __device__` code
    MSVC compiles. Template parameters, enumerators, macros and constants are
    not flagged.

    Rewrite:
    None: each site is reported. `std::vector<T>`, `std::unique_ptr<T[]>`, or
    a fixed upper bound with a check are the usual replacements; which one
    depends on the size and the lifetime.
    """

    id = "detect/vla"
    summary = "report variable-length arrays (int buf[n]) in host code MSVC compiles"
    portable = True
    triggers = ("[",)
    fixes = False
    # ``type name[size]`` with a lower-case identifier starting the size: files without one are not parsed
    DECLARATION = re.compile(rb"\b[A-Za-z_]\w*[\s*&]+[A-Za-z_]\w*\s*\[\s*[a-z_]\w*[^\]\n]*\]\s*[;=,\[{]")

    @classmethod
    def triggered(cls, data: bytes) -> bool:
        return cls.DECLARATION.search(data) is not None

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        macros = None
        functions: dict[int, tuple[set[str], list[tuple[int, set[str]]]]] = {}
        query = "(declaration declarator: [(array_declarator) (init_declarator (array_declarator))] @a) @d"
        for name, node in treesitter.captures(self.language, query, root):
            if name != "d":
                continue
            func = enclosing(node, "function_definition")
            if func is None or not msvc_sees(node):
                continue
            if func.id not in functions:
                functions[func.id] = _runtime_names(func)
            params, locals_ = functions[func.id]
            runtime = params.union(*(names for start, names in locals_ if start < node.start_byte))
            for array in _arrays(node):
                size = array.child_by_field_name("size")
                used = sorted(_identifiers(size) & runtime) if size is not None else []
                if not used:
                    continue
                if macros is None:
                    macros = file_space_macros(ctx.plan, root)
                if execution_space(node, macros) is Space.DEVICE:
                    break
                ctx.report(array, f"variable-length array (size uses {', '.join(used)}): MSVC needs a constant "
                                  "size; use std::vector or a fixed bound")
                break


def _arrays(decl):
    """The array declarators of a declaration (``a[n]``, ``b[n][4]`` counts once per dimension)."""
    stack = [decl]
    while stack:
        node = stack.pop()
        if node.type == "array_declarator":
            yield node
        stack.extend(reversed(node.named_children))


def _identifiers(expr) -> set[str]:
    out: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.type in ("sizeof_expression", "alignof_expression", "template_argument_list"):
            continue
        if node.type == "identifier":
            out.add(node.text.decode())
        stack.extend(node.named_children)
    return out


def _runtime_names(func) -> tuple[set[str], list[tuple[int, set[str]]]]:
    """The function's parameters, and (start byte, names) of each local declaration
    without const/constexpr/static."""
    params: set[str] = set()
    declarator = func.child_by_field_name("declarator")
    plist = declarator.child_by_field_name("parameters") if declarator is not None else None
    for param in plist.named_children if plist is not None else ():
        params |= {n.text.decode() for n in _declared(param.child_by_field_name("declarator"))}
    locals_: list[tuple[int, set[str]]] = []
    body = func.child_by_field_name("body")
    for _, decl in treesitter.captures("cpp", "(declaration) @d", body) if body is not None else ():
        qualifiers = {c.text.decode() for c in decl.children if c.type in ("type_qualifier", "storage_class_specifier")}
        if qualifiers & {"const", "constexpr", "static"}:
            continue
        names = {n.text.decode() for d in decl.children_by_field_name("declarator") for n in _declared(d)}
        locals_.append((decl.start_byte, names))
    return params, locals_


def _declared(declarator) -> list:
    """The identifier a (possibly nested) declarator declares."""
    node = declarator
    while node is not None and node.type != "identifier":
        node = node.child_by_field_name("declarator")
    return [node] if node is not None else []
