from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from winport.lang.python import PositionedTransformer, is_win32_test
from winport.transform import Context, PythonTransform

OS_CALLS = {"fork", "forkpty", "killpg", "getpgid", "setpgid", "setsid", "sched_yield", "sched_setaffinity",
            "sched_getaffinity", "getuid", "geteuid", "getloadavg", "mkfifo", "wait3", "wait4"}
SIGNALS = {"SIGUSR1", "SIGUSR2", "SIGTSTP", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGCHLD", "SIGALRM", "SIGPIPE",
           "SIGCONT", "SIGSTOP"}


class PosixCalls(PythonTransform):
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
    (under `if sys.platform != "win32":`, or the `else` of
    `if sys.platform == "win32":`).

    Rewrite:
    None: each site is reported with what Windows lacks; the port decides
    whether the feature is needed on a single-GPU Windows machine.
    """

    id = "detect/posix-calls"
    summary = "report os.fork/killpg/setsid..., POSIX signals, add_signal_handler and uvloop in vllm/"
    triggers = tuple(f"os.{c}(" for c in sorted(OS_CALLS)) + tuple(f"signal.{s}" for s in sorted(SIGNALS)) + (
        "add_signal_handler", "import uvloop")
    anchors = (*sorted(OS_CALLS), *sorted(SIGNALS), "add_signal_handler", "uvloop")
    fixes = False

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        wrapper.visit(_Find(ctx))
        return wrapper.module


class _Find(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.skip = 0  # inside a branch Windows does not take

    def visit_If(self, node: cst.If) -> bool:
        if is_win32_test(node.test, negated=True):  # body not on Windows; orelse is
            if node.orelse is not None:
                node.orelse.visit(self)
            return False
        if is_win32_test(node.test):  # only the body runs on Windows
            node.body.visit(self)
            return False
        return True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        owner, attr = node.value, node.attr.value
        if m.matches(owner, m.Name("os")) and attr in OS_CALLS:
            self.ctx.report(self.pos(node), f"os.{attr} does not exist on Windows")
        elif m.matches(owner, m.Name("signal")) and attr in SIGNALS:
            self.ctx.report(self.pos(node), f"signal.{attr} does not exist on Windows")
        elif attr == "add_signal_handler":
            self.ctx.report(self.pos(node), "add_signal_handler raises NotImplementedError on Windows")

    def visit_Import(self, node: cst.Import) -> None:
        if any(m.matches(a.name, m.Name("uvloop")) for a in node.names):
            self.ctx.report(self.pos(node), "uvloop has no Windows build")
