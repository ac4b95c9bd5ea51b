from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import ImportGuard, ensure_import
from winport.transform import Context, PythonTransform

GUARDED_IMPORT = '''\
if sys.platform == "win32":  # winport: no fcntl on Windows; flock()/lockf() through msvcrt
    import msvcrt as _winport_msvcrt

    def _winport_flock(fd, operation, *_range):
        # flock()/lockf() on the file's first byte with msvcrt.locking(). msvcrt has
        # no shared locks: LOCK_SH locks exclusively. A blocking lock waits for
        # ever, as flock does (msvcrt's LK_LOCK gives up after 10 s).
        import os
        import time

        fd = fd if isinstance(fd, int) else fd.fileno()
        where = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            if operation & 8:  # LOCK_UN
                _winport_msvcrt.locking(fd, _winport_msvcrt.LK_UNLCK, 1)
            elif operation & 4:  # LOCK_NB
                try:
                    _winport_msvcrt.locking(fd, _winport_msvcrt.LK_NBLCK, 1)
                except OSError as exc:
                    raise BlockingIOError(*exc.args) from exc
            else:
                while True:
                    try:
                        _winport_msvcrt.locking(fd, _winport_msvcrt.LK_LOCK, 1)
                        break
                    except OSError:
                        time.sleep(0.05)
        finally:
            os.lseek(fd, where, os.SEEK_SET)

    class fcntl:  # noqa: N801 - stands in for the POSIX module: locks only
        LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8
        flock = staticmethod(_winport_flock)
        lockf = staticmethod(_winport_flock)
else:
    import fcntl
'''

_LOCKING = {"flock", "lockf", "LOCK_SH", "LOCK_EX", "LOCK_NB", "LOCK_UN"}


class FcntlLock(PythonTransform):
    """Make `import fcntl` and its file locks work on Windows through `msvcrt`.

    Why:
    `fcntl` is a POSIX-only module: importing it on Windows raises
    `ModuleNotFoundError`, which takes down every module that imports it
    (0.14.1: the routed-experts capturer of fused MoE; 0.30+: the weight
    cache daemon and a KV connector too). vLLM uses it only for advisory file
    locks (`fcntl.flock`).

    Pattern:
    Every `import fcntl` statement in `vllm/`, at module level or inside a
    function, that is not already under a Windows test or in a `try` that
    catches `ImportError`. Uses of `fcntl` other than `flock`, `lockf` and the `LOCK_*`
    constants are reported with their line.

    Rewrite:
    The import becomes `if sys.platform == "win32": <stand-in> else: import
    fcntl`. The stand-in is a small class named `fcntl` with `flock`,
    `lockf` and `LOCK_SH/EX/NB/UN`, implemented with `msvcrt.locking()` on
    the file's first byte: lock, unlock and non-blocking lock (which raises
    `BlockingIOError` like fcntl) map directly; a shared lock is exclusive
    on Windows. Linux imports the real module as before.
    """

    id = "runtime/fcntl-lock"
    seed = "R1"
    summary = "guarded `import fcntl` with an msvcrt.locking() stand-in for flock/lockf on Windows"
    triggers = ("import fcntl",)
    anchors = ("fcntl",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Guard(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


class _Guard(ImportGuard):
    def __init__(self, ctx: Context):
        super().__init__(ctx, "fcntl", GUARDED_IMPORT, "import fcntl guarded; msvcrt.locking() stand-in on Windows")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if m.matches(node.value, m.Name("fcntl")) and node.attr.value not in _LOCKING:
            self.ctx.report(self.pos(node), f"fcntl.{node.attr.value} has no Windows equivalent here: "
                                            "guard it by hand")
