from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import GuardAwareTransformer, ensure_imports, parse_expression
from winport.transform import Context, PythonTransform

_CALL = m.Call(func=m.Attribute(m.Name("os"), m.Name(m.MatchIfTrue(lambda n: n in WINDOWS))))

# call -> (what Windows does instead, with {args} the call's arguments; modules it needs)
WINDOWS = {
    # the scheduler yield: give up the rest of the time slice
    "sched_yield": ("time.sleep(0)", ("time",)),
    # the CPUs this process may run on: Windows' Python has no affinity call, the count stands in
    "sched_getaffinity": ("set(range(os.cpu_count() or 1))", ()),
    # user and group ids: Windows has none, and its os.stat() reports st_uid and st_gid 0,
    # so 0 keeps "a file of mine" checks true; "am I root?" answers yes (no sudo there)
    **{call: ("0", ()) for call in ("getuid", "geteuid", "getgid", "getegid")},
}


class PosixSyscalls(PythonTransform):
    """Give POSIX scheduler and user-id calls a Windows answer.

    Why:
    `os.sched_yield`, `os.sched_getaffinity`, `os.getuid`, `os.geteuid`,
    `os.getgid` and `os.getegid` do not exist in Windows' Python:
    `AttributeError`. vLLM yields in its shared-memory broadcast polling
    loops (`vllm.distributed.utils.sched_yield`), counts the allowed CPUs for
    thread pools, and compares file owners with its own user id (the snapshot
    runtime, from 0.33.0).

    Pattern:
    A call `os.sched_yield()`, `os.sched_getaffinity(<pid>)` or
    `os.get[e]uid()`/`os.get[e]gid()` in `vllm/` outside code already guarded
    for Windows (a Windows or Linux-only test, `hasattr(os, ...)`, a `try`
    that handles `AttributeError`).

    Rewrite:
    The call becomes `(<Windows form> if sys.platform == "win32" else
    <the call>)`: `time.sleep(0)` for the yield, the set of the first
    `os.cpu_count()` CPU numbers for the affinity, and `0` for an id: the
    owner Windows' `os.stat()` reports for every file, so "is this file
    mine?" holds, and "am I root?" says yes (there is no `sudo` to ask for).
    Linux makes the same call as before.
    """

    id = "runtime/posix-syscalls"
    seed = "P3"
    summary = "os.sched_yield/sched_getaffinity/getuid... get a Windows answer (time.sleep(0), the CPU count, 0)"
    triggers = tuple(f"os.{call}(" for call in WINDOWS)
    anchors = ("sched_", "getuid", "geteuid", "getgid", "getegid")
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        visitor = _Calls(ctx)
        return ensure_imports(wrapper.visit(visitor), visitor.needs)


class _Calls(GuardAwareTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.needs: set[str] = set()

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.guarded or not m.matches(original, _CALL):
            return updated
        name = original.func.attr.value  # type: ignore[attr-defined]
        windows, modules = WINDOWS[name]
        self.needs |= {"sys", *modules}
        self.ctx.applied(self.pos(original), f"os.{name}: {windows} on Windows")
        call = self.module.code_for_node(updated)
        return parse_expression(f'({windows} if sys.platform == "win32" else {call})', self.module)
