from __future__ import annotations

import ast

from winport.lang.pyast import (HANDLES_MISSING_API, excludes_windows, is_win32_test, lacks_api,
                                only_windows_or_more, position, probes_api)
from winport.transform import Context, PythonDetector

OS_CALLS = {"fork", "forkpty", "killpg", "getpgid", "setpgid", "setsid", "sched_yield", "sched_setaffinity",
            "sched_getaffinity", "getuid", "geteuid", "getgid", "getegid", "getloadavg", "mkfifo", "wait3", "wait4"}
SIGNALS = {"SIGUSR1", "SIGUSR2", "SIGTSTP", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGCHLD", "SIGALRM", "SIGPIPE",
           "SIGCONT", "SIGSTOP"}


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
    `import uvloop` in `vllm/`, except in branches that Windows does not take
    (under `if sys.platform != "win32":` or `if sys.platform == "linux":`,
    the `else` of `if sys.platform == "win32":` (statement or expression), under `if hasattr(os,
    "fork"):` and the like, after `if sys.platform != "linux": return ...`
    or `if not hasattr(os, "..."): raise ...`) and in a `try` whose handler
    catches `AttributeError` or `ImportError` (or `Exception`, `BaseException`).

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


class _Find(ast.NodeVisitor):
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def report(self, node: ast.AST, message: str) -> None:
        self.ctx.report(position(self.ctx.source.body, node), message)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        if is_win32_test(node.test, negated=True) or excludes_windows(node.test) or probes_api(node.test):
            self.block(node.orelse)  # the body does not run on Windows
        elif is_win32_test(node.test):  # only the body runs on Windows
            self.block(node.body)
        else:
            self.block(node.body)
            self.block(node.orelse)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit(node.test)
        if is_win32_test(node.test, negated=True) or excludes_windows(node.test) or probes_api(node.test):
            self.visit(node.orelse)
        elif is_win32_test(node.test):
            self.visit(node.body)
        else:
            self.visit(node.body)
            self.visit(node.orelse)

    def block(self, body: list[ast.stmt]) -> None:
        """Statements in order; after `if <true on Windows>: return` (or raise, ...) or
        `if not hasattr(os, "..."): raise ...` the rest of the block does not run on
        Windows, or only where the API exists."""
        for stmt in body:
            self.visit(stmt)
            if isinstance(stmt, ast.If) and not stmt.orelse and stmt.body \
                    and (only_windows_or_more(stmt.test) or lacks_api(stmt.test)) \
                    and isinstance(stmt.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break)):
                return

    def generic_visit(self, node: ast.AST) -> None:
        for name, value in ast.iter_fields(node):
            if name in ("body", "orelse", "finalbody") and isinstance(value, list):
                self.block(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def visit_Try(self, node: ast.Try) -> None:
        # a body whose AttributeError (or ImportError) is handled copes with the API missing
        if not any(_catches(h, HANDLES_MISSING_API) for h in node.handlers):
            self.block(node.body)
        for handler in node.handlers:
            self.visit(handler)
        self.block(node.orelse)
        self.block(node.finalbody)

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


def _catches(handler: ast.ExceptHandler, names: frozenset[str]) -> bool:
    if handler.type is None:
        return True
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(handler.type))
