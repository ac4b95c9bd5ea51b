from __future__ import annotations

import ast

from winport.lang.guards import HANDLES_MISSING_API, WindowsVisitor
from winport.lang.pyast import position
from winport.lang.vllm import NOT_ON_WINDOWS
from winport.transform import Context, PythonDetector


def _skipped(name: str) -> bool:
    """Whether a module or op-library name is one of the extensions Windows builds skip."""
    last = name.rsplit(".", 1)[-1]
    return any(last.startswith(prefix) for prefix in NOT_ON_WINDOWS)


class OptionalExtensions(PythonDetector):
    """Report imports of the extensions a Windows build skips that would fail import.

    Why:
    `build/windows-extensions` makes setup.py skip the extensions MSVC cannot
    build (FA3, DeepGEMM, QuTLASS, FlashMLA). A module that imports one of them
    at import time without a guard (`import vllm._qutlass_C` at module level),
    or reads an op from its library (`torch.ops._flashmla_C.fwd` outside a
    function), then fails to import on Windows, and takes down every module
    that imports it, instead of only turning the feature off.

    Pattern:
    In `vllm/`, an `import`/`from ... import` of such a module, or an attribute
    of `torch.ops.<library>`, that runs at import time (not inside a function)
    and is neither in a `try` whose handler catches `ImportError` nor under
    `contextlib.suppress(ImportError)` nor inside `hasattr(...)` (which
    `torch.ops` answers without the library). Through 0.33 vLLM guards all of
    them; the detector keeps a later release honest.

    Rewrite:
    None: each site is reported; guard it with `try`/`except ImportError`
    and a flag the feature checks.
    """

    id = "detect/optional-extensions"
    summary = "report unguarded import-time uses of the extensions a Windows build skips (FA3, FlashMLA, ...)"
    triggers = NOT_ON_WINDOWS

    def rewrite(self, module: ast.Module, ctx: Context) -> None:
        _Find(ctx).visit(module)


class _Find(WindowsVisitor):
    # a missing extension's DLL may also fail as OSError
    accepted = HANDLES_MISSING_API | {"OSError"}

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def report(self, node: ast.AST, what: str) -> None:
        self.ctx.report(position(self.ctx.source.body, node),
                        f"{what} runs at import time without a guard: Windows builds skip this extension, so the "
                        "module fails to import there; wrap it in try/except ImportError")

    def visit_FunctionDef(self, node) -> None:  # runs when called, where callers handle it
        for d in node.decorator_list:
            self.visit(d)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node) -> None:
        pass

    def visit_With(self, node: ast.With) -> None:
        if any("suppress" in ast.unparse(item.context_expr) and "ImportError" in ast.unparse(item.context_expr)
               for item in node.items):
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "hasattr":
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _skipped(alias.name):
                self.report(node, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if _skipped(alias.name) or _skipped(node.module or ""):
                self.report(node, f"from {node.module or '.'} import {alias.name}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (isinstance(node.value, ast.Attribute) and node.value.attr == "ops" and _skipped(node.attr)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "torch"):
            self.report(node, f"torch.ops.{node.attr}")
            return
        self.generic_visit(node)
