from __future__ import annotations

import libcst as cst

from winport.lang.python import ImportGuard, ensure_import
from winport.transform import Context, PythonDocument, PythonTransform

GUARDED_IMPORT = '''\
if sys.platform == "win32":  # winport: no resource module on Windows; limits are not raised there
    class resource:  # noqa: N801 - stands in for the POSIX module: rlimits only
        RLIM_INFINITY = -1
        RLIMIT_CORE, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK = 4, 0, 1, 2, 3
        RLIMIT_NOFILE, RLIMIT_AS, RLIMIT_MEMLOCK, RLIMIT_NPROC, RLIMIT_RSS = 7, 9, 8, 6, 5

        @staticmethod
        def getrlimit(which):
            return (-1, -1)  # RLIM_INFINITY: no per-process limit

        @staticmethod
        def setrlimit(which, limits):
            pass  # no limit to raise
else:
    import resource
'''

_STOOD_IN = {"getrlimit", "setrlimit", "RLIM_INFINITY"}


class ResourceLimits(PythonTransform):
    """Make `import resource` and its rlimit calls survive on Windows.

    Why:
    `resource` is a POSIX-only module: importing it on Windows raises
    `ModuleNotFoundError`, and every module that imports it at module level
    fails to import (SGLang's `srt/utils/common.py`, which most of its server
    imports). Serving engines use it to raise the open-file limit
    (`RLIMIT_NOFILE`) or the stack size before starting; Windows has no such
    per-process limits to raise. vLLM imports it inside `set_ulimit()` after an
    early return on Windows: that import is guarded already.

    Pattern:
    Every `import resource` in the package, at module level or inside a
    function, not already under a Windows test or in a `try` that catches
    `ImportError`. Uses of `resource` other than `getrlimit`, `setrlimit`,
    `RLIM_INFINITY` and the `RLIMIT_*` constants are reported with their line.

    Rewrite:
    The import becomes `if sys.platform == "win32": <stand-in> else: import
    resource`. The stand-in is a small class named `resource` whose
    `getrlimit` answers unlimited (`RLIM_INFINITY`) and whose `setrlimit`
    does nothing: there is no limit to raise, which is what vLLM's own
    Windows branch concludes. Linux imports the real module as before.
    """

    id = "runtime/resource-limits"
    seed = "P3"
    summary = "guarded `import resource` with an rlimit stand-in on Windows (no limits to raise there)"
    triggers = ("import resource",)
    anchors = ("resource",)
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Guard(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


class _Guard(ImportGuard):
    def __init__(self, ctx: Context):
        super().__init__(ctx, "resource", GUARDED_IMPORT, "import resource guarded; rlimit stand-in on Windows")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if (isinstance(node.value, cst.Name) and node.value.value == "resource"
                and node.attr.value not in _STOOD_IN and not node.attr.value.startswith("RLIMIT_")):
            self.ctx.report(self.pos(node), f"resource.{node.attr.value} has no Windows equivalent here: "
                                            "guard it by hand")
