from __future__ import annotations

import ast

from winport.lang.guards import POSIX_OS_CALLS as OS_CALLS, POSIX_SIGNALS as SIGNALS, WindowsVisitor
from winport.lang.pyast import position
from winport.transform import Context, PythonDetector


class PosixCalls(PythonDetector):
    """Report POSIX-only Python APIs that would run on Windows.

    Why:
    `os.fork`, `os.killpg`, `os.setsid`, `os.sched_yield`, ... and the
    signals `SIGUSR1`, `SIGKILL`, `SIGHUP`, ... do not exist in Windows'
    Python (`AttributeError`); `loop.add_signal_handler` raises
    `NotImplementedError` on the Windows event loops; `uvloop` does not
    install on Windows.

    Pattern:
    `os.<call>`, `signal.<SIGNAL>`, `<x>.add_signal_handler(...)` and
    `import uvloop` in `vllm/`, except where Windows does not run them
    unguarded, by the rules the fixers use too (`winport.lang.guards`): a
    branch a platform test keeps from Windows (`if sys.platform == "linux":`,
    the `else` of `if sys.platform == "win32":`, statement or expression), the
    body of `if hasattr(os, "fork"):`, the rest of a block after
    `if sys.platform == "win32": return ...` or `if not hasattr(os, "..."):
    raise ...`, and a `try` whose handler catches `AttributeError` or
    `ImportError` (or `Exception`, `BaseException`).

    Rewrite:
    None: each site is reported with what Windows lacks; the port decides
    whether the feature is needed on a single-GPU Windows machine.
    """

    id = "detect/posix-calls"
    summary = "report os.fork/killpg/setsid..., POSIX signals, add_signal_handler and uvloop in vllm/"
    triggers = tuple(f"os.{c}(" for c in sorted(OS_CALLS)) + tuple(f"signal.{s}" for s in sorted(SIGNALS)) + (
        "add_signal_handler", "import uvloop")

    def rewrite(self, module: ast.Module, ctx: Context) -> None:
        _Find(ctx).visit(module)


class _Find(WindowsVisitor):
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def report(self, node: ast.AST, message: str) -> None:
        self.ctx.report(position(self.ctx.source.body, node), message)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        owner, attr = node.value, node.attr
        if isinstance(owner, ast.Name) and owner.id == "os" and attr in OS_CALLS:
            self.report(node, f"os.{attr} does not exist on Windows")
        elif isinstance(owner, ast.Name) and owner.id == "signal" and attr in SIGNALS:
            self.report(node, f"signal.{attr} does not exist on Windows")
        elif attr == "add_signal_handler":
            self.report(node, "add_signal_handler raises NotImplementedError on Windows")
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        if any(alias.name == "uvloop" for alias in node.names):
            self.report(node, "uvloop has no Windows build")
