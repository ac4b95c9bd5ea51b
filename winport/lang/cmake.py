"""CMake questions transforms ask of a tree-sitter-cmake tree."""

from __future__ import annotations

from typing import Iterator

import tree_sitter as ts

from .treesitter import captures

_BLOCKS = "[(normal_command) (if_command) (foreach_command) (function_command) (macro_command)] @c"


def commands(root: ts.Node, name: str | None = None) -> Iterator[ts.Node]:
    """Every ``name(...)`` invocation (case-insensitive), in document order."""
    for _, node in captures("cmake", "(normal_command) @c", root):
        if name is None or command_name(node) == name.lower():
            yield node


def command_name(cmd: ts.Node) -> str:
    first = cmd.child(0)
    return first.text.decode().lower() if first is not None else ""


def arguments(cmd: ts.Node) -> list[ts.Node]:
    arglist = next((c for c in cmd.named_children if c.type == "argument_list"), None)
    return [a for a in (arglist.named_children if arglist else []) if a.type == "argument"]


def value(arg: ts.Node) -> str:
    """An argument's text without the quotes of a quoted argument."""
    text = arg.text.decode()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def values(cmd: ts.Node) -> list[str]:
    return [value(a) for a in arguments(cmd)]


def enclosing_if(node: ts.Node) -> ts.Node | None:
    """The ``if_condition`` block around ``node``, if any."""
    cur = node.parent
    while cur is not None and cur.type != "if_condition":
        cur = cur.parent
    return cur


def if_test(block: ts.Node) -> list[str]:
    """The condition words of an ``if_condition`` block's ``if(...)``."""
    head = next((c for c in block.children if c.type == "if_command"), None)
    return [] if head is None else [value(a) for a in arguments(head)]


def branch_tests(node: ts.Node) -> Iterator[tuple[list[str], list[list[str]]]]:
    """For each ``if`` block around ``node``, innermost first: the condition words of the
    branch ``node`` is in (empty for ``else``) and those of the branches before it."""
    child, cur = node, node.parent
    while cur is not None:
        if cur.type == "if_condition":
            tests: list[list[str]] = []
            for c in cur.children:
                if c.start_byte >= child.start_byte:
                    break
                if c.type in ("if_command", "elseif_command", "else_command"):
                    tests.append([value(a) for a in arguments(c)])
            if tests:
                yield tests[-1], tests[:-1]
        child, cur = cur, cur.parent


def list_variables(root: ts.Node, where=None) -> dict[str, list[str]]:
    """Items of every ``set(VAR ...)`` and ``list(APPEND VAR ...)``, flow-insensitively
    (only commands for which ``where(command)`` holds, when given).

    Over-approximates: every branch counts, options such as CACHE are kept as items."""
    out: dict[str, list[str]] = {}
    for cmd in commands(root):
        if where is not None and not where(cmd):
            continue
        name, args = command_name(cmd), values(cmd)
        if name == "set" and args:
            out.setdefault(args[0], []).extend(args[1:])
        elif name == "list" and len(args) >= 2 and args[0] == "APPEND":
            out.setdefault(args[1], []).extend(args[2:])
    return out


def expand(items: list[str], variables: dict[str, list[str]], seen: frozenset[str] = frozenset()) -> list[str]:
    """Items with ``${VAR}`` references to known list variables expanded (recursively)."""
    out: list[str] = []
    for item in items:
        for part in item.split(";"):
            if part.startswith("${") and part.endswith("}") and part[2:-1] in variables and part not in seen:
                out.extend(expand(variables[part[2:-1]], variables, seen | {part}))
            elif part:
                out.append(part)
    return out


def torch_anchor(root: ts.Node, ctx) -> ts.Node | None:
    """The first ``find_package(Torch ...)`` command, where the CUDA settings must
    stand before; without one the file is drifted (``ctx.drifted``)."""
    anchor = next((c for c in commands(root, "find_package") if values(c)[:1] == ["Torch"]), None)
    if anchor is None:
        ctx.drifted("CMakeLists.txt: no find_package(Torch ...) command to anchor on")
    return anchor
