from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
import re

from winport.lang import treesitter
from winport.lang.cpp import enclosing, msvc_sees
from winport.scope import tree_standards
from winport.transform import Context, CppTransform

# CUDA runtime aggregates, in declaration order (from cuda_bf16.h, cuda_fp16.h,
# cuda_runtime_api.h): their headers are not in the tree.
BUILTIN = {
    "__nv_bfloat16_raw": ("struct", [("x", None, "unsigned short")]),
    "__half_raw": ("struct", [("x", None, "unsigned short")]),
    "cudaLaunchConfig_t": ("struct", [("gridDim", None, "dim3"), ("blockDim", None, "dim3"),
                                      ("dynamicSmemBytes", None, "size_t"), ("stream", None, "cudaStream_t"),
                                      ("attrs", None, "cudaLaunchAttribute"), ("numAttrs", None, "unsigned int")]),
}
_DESIGNATED = re.compile(rb"[{,]\s*\.[A-Za-z_]\w*\s*=[^=]")
_INCLUDE = re.compile(rb'#\s*include\s*"([^"]+)"')



@dataclass(frozen=True)
class InitPlan:
    """What the files with designated lists (and their includes) declare: aggregates
    {name: (kind, fields)}, functions {name: parameter types}, members {(aggregate,
    field): type}."""

    aggregates: dict[str, tuple[str, list]] = field(default_factory=lambda: dict(BUILTIN))
    functions: dict[str, list[str]] = field(default_factory=dict)
    members: dict[tuple[str, str], str] = field(default_factory=dict)

class DesignatedInit(CppTransform):
    """Rewrite C99 designated initializers as positional ones where provably the same.

    Why:
    `T{.x = 1}` is C99 and C++20; in C++17 it is a GNU extension that GCC
    and Clang accept and MSVC rejects (`C7555` / `C2059`). The lists grow with
    every release (11 sites in 0.14.1, 30 in 0.33.0).

    Pattern:
    A braced list whose items are all `.field = value`, in code Windows
    compiles, whose aggregate type is known: written before the braces
    (`__nv_bfloat16_raw{.x = 1}`), the type of the declared variable, the
    enclosing function's return type (`return {...}`), the pointee or member
    type on the left of an assignment (`*match = {...}`, `smem->m = {...}`),
    or the parameter of an in-tree function the list is passed to. The type
    must be an aggregate found in the sources the file includes (or a CUDA
    type from a built-in table), and the designators must follow the
    declaration order.

    Rewrite:
    The designators go; a member skipped in the middle gets the value it
    would have had: its default member initializer, or `{}`. The positional
    list initialises exactly the same members with the same values, on every
    compiler.

    Not needed:
    When the build compiles host and CUDA sources as C++20 or later
    (`CMAKE_CXX_STANDARD` and `CMAKE_CUDA_STANDARD` 20, vLLM 0.21.0 on):
    MSVC and nvcc accept designators in declaration order there, and those
    out of order are an error on every compiler.

    Reported:
    A designated list whose type cannot be resolved, whose type is not an
    aggregate in the tree, whose designators are out of order or nested, or
    a union initialised through a member other than the first.
    """

    id = "cuda/designated-init"
    seed = "K3"
    summary = "C99 designated initializers -> positional ones when the aggregate type and order are proven"
    portable = True
    # a brace or comma, any white space (new lines too), then `.name =`
    triggers = ("{",)

    @classmethod
    def triggered(cls, data: bytes) -> bool:
        return _DESIGNATED.search(data) is not None

    def not_needed(self, tree) -> str:
        found = tree_standards(tree)
        return f"the build is C++20 ({found}): designated initializers are standard" if found.at_least(20) else ""

    def plan(self, tree) -> InitPlan:
        """Aggregates and functions declared in the files with designated lists and their includes."""
        wanted: set[str] = set()
        todo = [s.path for s in tree.sources() if _DESIGNATED.search(s.body)]
        while todo:
            path = todo.pop()
            if path in wanted:
                continue
            wanted.add(path)
            source = tree.read(path)
            for inc in _INCLUDE.findall(source.body if source else b""):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), inc.decode()))
                for candidate in (target, posixpath.normpath("csrc/" + inc.decode())):
                    if tree.read(candidate) is not None:
                        todo.append(candidate)
                        break
        aggregates: dict[str, tuple[str, list]] = dict(BUILTIN)
        functions: dict[str, list[str]] = {}
        for path in sorted(wanted):
            root = treesitter.parse(self.language, tree.read(path).body).root_node
            aggregates.update(_aggregates(root))
            functions.update(_functions(root))
        members = {(name, f[0]): _base(f[2]) for name, (_, fields) in aggregates.items() for f in fields if f[2]}
        return InitPlan(aggregates, functions, members)

    def rewrite(self, tree, ctx: Context) -> None:
        plan: InitPlan = ctx.plan or InitPlan()
        seen: set[int] = set()
        for _, pair in treesitter.captures(self.language, "(initializer_pair) @p", tree.root_node):
            lst = pair.parent
            if lst is None or lst.type != "initializer_list" or lst.start_byte in seen:
                continue
            seen.add(lst.start_byte)
            if not msvc_sees(lst, device=True):
                continue
            problem = self._one(lst, plan, ctx)
            if problem:
                ctx.report(lst, f"designated initializer not rewritten: {problem}")

    def _one(self, lst, plan, ctx: Context) -> str | None:
        items = [c for c in lst.named_children if c.type != "comment"]
        if not items or any(i.type != "initializer_pair" for i in items):
            return "mixes designated and positional items"
        names = []
        for item in items:
            designators = [c for c in item.children if c.type == "field_designator"]
            if len(designators) != 1:
                return "nested or array designator"
            names.append(designators[0].named_children[0].text.decode())
        type_name = _type_of(lst, plan)
        if type_name is None:
            return "the aggregate type of the braced list is not written or declared nearby"
        found = plan.aggregates.get(type_name)
        if found is None:
            return f"`{type_name}` is not an aggregate found in the sources this file includes"
        kind, fields = found
        order = [f[0] for f in fields]
        if any(n not in order for n in names):
            return f"`{type_name}` has no member named {next(n for n in names if n not in order)}"
        index = [order.index(n) for n in names]
        if index != sorted(index) or len(set(index)) != len(index):
            return f"designators are not in the declaration order of `{type_name}`"
        if kind == "union" and index != [0]:
            return f"union `{type_name}` initialised through a member other than its first"
        position = 0
        for item, i in zip(items, index):
            fillers = ", ".join(f[1] or "{}" for f in fields[position:i])
            value = item.child_by_field_name("value")
            ctx.edit(item.start_byte, value.start_byte, f"{fillers}, " if fillers else "")
            position = i + 1
        ctx.applied(lst, f"designated initializer of `{type_name}` -> positional")
        return None


def _base(type_text: str) -> str:
    text = re.sub(r"\b(const|volatile|struct|union|typename)\b", "", type_text)
    text = text.split("<", 1)[0].replace("*", "").replace("&", "").strip()
    return text.rsplit("::", 1)[-1].strip()


def _aggregates(root) -> dict[str, tuple[str, list]]:
    out = {}
    for _, spec in treesitter.captures("cpp", "[(struct_specifier) (union_specifier)] @s", root):
        name, body = spec.child_by_field_name("name"), spec.child_by_field_name("body")
        if name is None or body is None or any(c.type == "base_class_clause" for c in spec.children):
            continue
        fields, aggregate = [], True
        for member in body.named_children:
            if member.type in ("function_definition", "declaration", "template_declaration"):
                aggregate = aggregate and name.text not in member.text.split(b"(", 1)[0]  # a constructor?
                continue
            if member.type != "field_declaration":
                continue
            if any(c.type == "storage_class_specifier" for c in member.children):
                continue  # static members are not initialised by the list
            default = member.child_by_field_name("default_value")
            type_node = member.child_by_field_name("type")
            for d in member.children_by_field_name("declarator"):
                ident = d if d.type == "field_identifier" else next(
                    (n for n in treesitter.walk(d) if n.type == "field_identifier"), None)
                if ident is not None and d.type != "function_declarator":
                    fields.append((ident.text.decode(), default.text.decode() if default is not None else None,
                                   type_node.text.decode() if type_node is not None else None))
        if aggregate and fields:
            out[name.text.decode()] = (spec.type.split("_")[0], fields)
    return out


def _functions(root) -> dict[str, list[str]]:
    out = {}
    for _, fd in treesitter.captures("cpp", "(function_declarator) @f", root):
        name, params = fd.child_by_field_name("declarator"), fd.child_by_field_name("parameters")
        if name is None or params is None:
            continue
        types = [p.child_by_field_name("type").text.decode() for p in params.named_children
                 if p.type in ("parameter_declaration", "optional_parameter_declaration")
                 and p.child_by_field_name("type") is not None]
        out.setdefault(name.text.decode(), types)
    return out


def _declared_type(name: str, at) -> str | None:
    """The declared type of variable ``name`` visible at ``at`` (parameters and locals)."""
    func = enclosing(at, "function_definition")
    if func is None:
        return None
    for node in treesitter.walk(func):
        if node.start_byte > at.start_byte:
            break
        if node.type in ("parameter_declaration", "declaration"):
            for ident in treesitter.walk(node):
                if ident.type == "identifier" and ident.text.decode() == name and ident.parent is not None \
                        and ident.parent.type in ("pointer_declarator", "init_declarator", "parameter_declaration",
                                                  "declaration", "reference_declarator"):
                    type_node = node.child_by_field_name("type")
                    return type_node.text.decode() if type_node is not None else None
    return None


def _type_of(lst, plan) -> str | None:
    parent = lst.parent
    if parent is None:
        return None
    if parent.type == "compound_literal_expression":
        return _base(parent.child_by_field_name("type").text.decode())
    if parent.type == "init_declarator":
        decl = parent.parent
        type_node = decl.child_by_field_name("type") if decl is not None else None
        if type_node is not None and type_node.type != "placeholder_type_specifier":
            declarator = parent.child_by_field_name("declarator")
            if declarator is not None and declarator.type == "identifier":
                return _base(type_node.text.decode())
        return None
    if parent.type == "return_statement":
        func = enclosing(lst, "function_definition", "lambda_expression")
        if func is None or func.type != "function_definition":
            return None
        type_node = func.child_by_field_name("type")
        if type_node is None or type_node.type == "placeholder_type_specifier":
            return None
        return _base(type_node.text.decode())
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == lst:
        return _lvalue_type(parent.child_by_field_name("left"), lst, plan)
    if parent.type == "argument_list" and parent.parent is not None and parent.parent.type == "call_expression":
        fn = parent.parent.child_by_field_name("function")
        params = plan.functions.get(fn.text.decode()) if fn is not None and fn.type == "identifier" else None
        index = [c for c in parent.named_children].index(lst)
        if params and index < len(params):
            return _base(params[index])
    return None


def _lvalue_type(left, at, plan) -> str | None:
    if left.type == "pointer_expression" and left.child_by_field_name("argument").type == "identifier":
        declared = _declared_type(left.child_by_field_name("argument").text.decode(), at)
        return _base(declared) if declared else None
    if left.type == "identifier":
        declared = _declared_type(left.text.decode(), at)
        return _base(declared) if declared else None
    if left.type == "field_expression":
        owner = _lvalue_type(left.child_by_field_name("argument"), at, plan)
        member = left.child_by_field_name("field").text.decode()
        return plan.members.get((owner, member)) if owner else None
    return None
