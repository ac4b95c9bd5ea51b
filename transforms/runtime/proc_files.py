from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.guards import catches
from winport.lang.python import GuardAwareTransformer, ensure_imports, handler_names, parse_expression
from winport.transform import Context, PythonTransform

PROC = "/proc/"
# handlers that already cope with the file missing
_OS_ERRORS = frozenset({"OSError", "IOError", "FileNotFoundError", "EnvironmentError", "Exception", "BaseException"})
_OPEN = m.Call(func=m.Name("open"), args=[m.Arg(keyword=None), m.ZeroOrMore()])
_EXISTS = m.Call(func=m.OneOf(m.Attribute(m.Attribute(m.Name("os"), m.Name("path")),
                                          m.Name(m.MatchIfTrue(lambda n: n in ("exists", "isfile")))),
                              m.Attribute(attr=m.Name("exists"))))
_PATH = m.Call(func=m.OneOf(m.Name("Path"), m.Attribute(m.Name("pathlib"), m.Name("Path"))), args=[m.Arg(), m.ZeroOrMore()])


def _is_proc(node: cst.CSTNode) -> bool:
    """A string, or an f-string whose text starts with ``/proc/`` (or is ``/proc``)."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return isinstance(value, str) and (value.startswith(PROC) or value == PROC[:-1])
    if isinstance(node, cst.FormattedString):
        first = node.parts[0] if node.parts else None
        return isinstance(first, cst.FormattedStringText) and first.value.startswith(PROC)
    return False


class ProcFiles(PythonTransform):
    """Make reads of Linux's `/proc` files take their "nothing found" path on Windows.

    Why:
    vLLM reads `/proc/self/maps` to find the loaded CUDA runtime
    (`find_loaded_library`), `/proc/<pid>/status` for the memory affinity and
    the like. Windows has no `/proc`: `open` raises `FileNotFoundError` where
    the code expects a file it can scan.

    Pattern:
    In `vllm/`, `open(<path>)` where the path is a string or f-string
    starting with `/proc/`, or a variable assigned one in the same module.
    Left alone: an `open` in a `try` whose handler catches `OSError` (or
    `FileNotFoundError`, `Exception`), in a function that tests
    `os.path.exists("/proc/...")` first, or under a Windows test. A `/proc`
    path built with `pathlib.Path` is reported.

    Rewrite:
    The path becomes `(os.devnull if sys.platform == "win32" else <path>)`:
    on Windows the file reads as empty, so the scan finds nothing and the
    function gives the answer it gives when the file lacks the line it looks
    for (`None`, `[]`), the answer its callers already handle. Linux opens
    the same file as before.
    """

    id = "runtime/proc-files"
    seed = "P3"
    summary = "open(\"/proc/...\") reads an empty file on Windows (os.devnull): the code's own not-found answer"
    triggers = ('"/proc', "'/proc", 'f"/proc', "f'/proc")
    anchors = ("/proc",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        # first the names an unguarded open() reads (a path kept in a variable or constant)
        names = _Reads(None, set())
        wrapper.module.visit(names)
        module = wrapper.visit(_Reads(ctx, names.reads))
        return ensure_imports(module, ("os", "sys")) if ctx.sites else module


class _Reads(GuardAwareTransformer):
    """Rewrites the paths ``open`` reads; with no ``ctx``, only collects in ``reads``
    the variables an unguarded ``open(<name>)`` reads."""

    def __init__(self, ctx: Context | None, opened: set[str]):
        super().__init__()
        self.ctx = ctx
        self.opened = opened  # variables an unguarded open() reads
        self.reads: set[str] = set()
        self.handled: list[bool] = []  # per try: does it catch OSError?
        self.checked: list[bool] = []  # per function: does it test os.path.exists("/proc/...")?

    def visit_Try(self, node: cst.Try) -> bool | None:
        self.handled.append(any(catches(handler_names(h), _OS_ERRORS) for h in node.handlers))
        return super().visit_Try(node)

    def leave_Try(self, original: cst.Try, updated: cst.Try) -> cst.Try:
        self.handled.pop()
        return super().leave_Try(original, updated)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.checked.append(any(call.args and _is_proc(call.args[0].value)  # type: ignore[attr-defined]
                                for call in m.findall(node.body, _EXISTS)))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.checked.pop()
        return updated

    @property
    def copes(self) -> bool:
        return self.guarded or any(self.handled) or any(self.checked)

    def _empty_on_windows(self, original: cst.CSTNode, path: cst.BaseExpression) -> cst.BaseExpression:
        code = self.module.code_for_node(path)
        self.ctx.applied(self.pos(original), f"{code}: an empty file (os.devnull) on Windows")
        return parse_expression(f'os.devnull if sys.platform == "win32" else {code}', self.module)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.ctx is None:
            if m.matches(original, _OPEN) and isinstance(original.args[0].value, cst.Name) and not self.copes:
                self.reads.add(original.args[0].value.value)
            return updated
        if m.matches(original, _PATH) and _is_proc(original.args[0].value) and not self.copes:
            self.ctx.report(self.pos(original), "/proc read through pathlib: Windows has no /proc")
            return updated
        if not m.matches(original, _OPEN) or not _is_proc(original.args[0].value) or self.copes:
            return updated
        first = updated.args[0].with_changes(value=self._empty_on_windows(original, updated.args[0].value))
        return updated.with_changes(args=[first, *updated.args[1:]])

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        names = {t.target.value for t in original.targets if isinstance(t.target, cst.Name)}
        if self.ctx is None or not names & self.opened or not _is_proc(original.value) or self.copes:
            return updated
        return updated.with_changes(value=self._empty_on_windows(original, updated.value))
