from __future__ import annotations

import ast

from winport.lang.pyast import position
from winport.transform import Context, PythonDetector

UNIX_TOOLS = {"rm", "cp", "mv", "ln", "cat", "sed", "touch", "mkdir", "find"}


class GeneratorShell(PythonDetector):
    """Report build-time generator scripts that run Unix tools.

    Why:
    The kernel generators under `csrc/` run during the CMake build. Some
    remove old outputs with `subprocess.call(["rm", "-f", ...])`; Windows
    has no `rm`, so the call raises `FileNotFoundError` and the build stops
    (unless a Unix toolchain happens to be on the PATH).

    Pattern:
    A `subprocess` call whose command is a list starting with a Unix tool
    name (`rm`, `cp`, `mv`, `ln`, ...) or a string starting with one, in a
    Python file under `csrc/`.

    Rewrite:
    None: each site is reported; `os.remove`, `shutil.copy` and
    `shutil.move` do the same portably.
    """

    id = "detect/generator-shell"
    summary = "report csrc/ generator scripts that shell out to rm/cp/mv"
    globs = ("csrc/**/*.py",)
    triggers = ("subprocess",)

    def rewrite(self, module: ast.Module, ctx: Context) -> None:
        calls = sorted((n for n in ast.walk(module) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
        for node in calls:
            first = _command_head(node)
            if first in UNIX_TOOLS:
                ctx.report(position(ctx.source.body, node), f"runs `{first}`, which Windows does not have; "
                                                            "use os/shutil")


def _command_head(node: ast.AST) -> str | None:
    """The program a ``subprocess.<call>(...)`` runs, when written out literally."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess" and node.args):
        return None
    command = node.args[0]
    if isinstance(command, (ast.List, ast.Tuple)) and command.elts:
        head = command.elts[0]
        return head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else None
    if isinstance(command, ast.Constant) and isinstance(command.value, str):
        return command.value.split(" ", 1)[0]
    return None
