from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from winport.lang.python import PositionedTransformer
from winport.transform import Context, PythonTransform

UNIX_TOOLS = {"rm", "cp", "mv", "ln", "cat", "sed", "touch", "mkdir", "find"}


class GeneratorShell(PythonTransform):
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
    anchors = ("subprocess",)
    fixes = False

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        wrapper.visit(_Find(ctx))
        return wrapper.module


class _Find(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def visit_Call(self, node: cst.Call) -> None:
        if not m.matches(node.func, m.Attribute(value=m.Name("subprocess"))) or not node.args:
            return
        command = node.args[0].value
        first = None
        if isinstance(command, (cst.List, cst.Tuple)) and command.elements:
            head = command.elements[0].value
            if isinstance(head, cst.SimpleString):
                first = str(head.evaluated_value)
        elif isinstance(command, cst.SimpleString):
            first = str(command.evaluated_value).split(" ", 1)[0]
        if first in UNIX_TOOLS:
            self.ctx.report(self.pos(node), f"runs `{first}`, which Windows does not have; use os/shutil")
