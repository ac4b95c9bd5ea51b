from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import (PositionedTransformer, ensure_import, has_module_level, insert_after_imports,
                                 is_win32_test, parse_statement)
from winport.transform import Context, PythonTransform

HELPER = "_get_cpu_backend"
HELPER_CODE = f'''
def {HELPER}() -> str:
    """winport: the backend of CPU process groups. PyTorch's Windows builds have
    no gloo transport; the "fake" backend (registered by importing
    torch.testing._internal.distributed.fake_pg) serves a single process."""
    if sys.platform == "win32":
        import torch.testing._internal.distributed.fake_pg  # noqa: F401

        return "fake"
    return "gloo"
'''
PROLOGUE = f'''\
if sys.platform == "win32":  # winport: one process, a FileStore rendezvous, the fake backend
    import tempfile

    backend = {HELPER}()
    distributed_init_method = "file:///" + os.path.join(
        tempfile.mkdtemp(prefix="vllm-winport-"), "store").replace(os.sep, "/").lstrip("/")
'''
INIT = "init_distributed_environment"
_GLOO = m.SimpleString(value=m.MatchIfTrue(lambda v: v.strip("\"'") == "gloo"))


class FakeCpuBackend(PythonTransform):
    """Run vLLM's process groups on PyTorch's `fake` backend on Windows (single GPU).

    Why:
    vLLM needs `torch.distributed` even on one GPU, for rank and world-size
    bookkeeping: it creates a world group with NCCL (falling back to gloo)
    and a gloo group on the CPU for every coordinator. PyTorch's Windows
    builds have no NCCL and a gloo without TCP or UV transport, so every
    init method fails with `makeDeviceForHostname(): unsupported gloo device`.

    Pattern:
    The module that defines `init_distributed_environment` (the anchor;
    `vllm/distributed/parallel_state.py` so far), found by that definition,
    not by its path; in every module of `vllm/`, a call that
    passes `backend="gloo"` (`new_group(ranks, backend="gloo")`,
    `init_process_group(backend="gloo")`, ...), and in parallel_state.py an
    assignment of `"gloo"` to a `backend` variable (the fallback when NCCL
    is missing).

    Rewrite:
    parallel_state.py gets `_get_cpu_backend()`: `"fake"` on Windows (after
    importing `torch.testing._internal.distributed.fake_pg`, which registers
    it), `"gloo"` elsewhere. Each `"gloo"` above becomes `_get_cpu_backend()`
    (imported locally where it is used in other modules, so no import cycle
    appears). `init_distributed_environment` starts with a Windows-only
    block choosing the fake backend and a `file://` init method in a fresh
    temporary folder, which PyTorch serves with a `FileStore`. On Linux
    every expression evaluates as before.
    """

    id = "runtime/fake-cpu-backend"
    seed = "R5"
    summary = '`_get_cpu_backend()`: "fake" (FileStore, one process) instead of gloo on Windows'
    triggers = ('"gloo"', "'gloo'", f"def {INIT}")
    anchors = ("gloo", INIT, HELPER)
    anchors_in_blocks = True
    expects = f"a module that defines {INIT}()"

    def plan(self, tree) -> str | None:
        """The module that defines init_distributed_environment (the helper's home)."""
        marker = f"def {INIT}(".encode()
        return next((s.path for s in tree.sources(contains=marker)), None)

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        if ctx.plan is None:
            ctx.drifted(f"no module in vllm/ defines {INIT}()")
            return wrapper.module
        home = ctx.path == ctx.plan
        visitor = _Rewrite(ctx, home, ctx.plan[: -len(".py")].replace("/", "."))
        module = wrapper.visit(visitor)
        if home and ctx.sites and not has_module_level(module, HELPER):
            module = insert_after_imports(module, HELPER_CODE)
        if home and ctx.sites:
            module = ensure_import(ensure_import(module, "sys"), "os")
        return module


class _Rewrite(PositionedTransformer):
    def __init__(self, ctx: Context, home: bool, home_module: str):
        super().__init__()
        self.ctx = ctx
        self.home = home
        self.home_module = home_module
        self.needs_import: list[bool] = []  # per statement line: did it get a helper call?

    def helper_call(self) -> cst.Call:
        if self.needs_import:
            self.needs_import[-1] = True
        return cst.Call(func=cst.Name(HELPER))

    # backend="gloo" in any call
    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        if m.matches(original, m.Arg(keyword=m.Name("backend"), value=_GLOO)):
            self.ctx.applied(self.pos(original), 'backend="gloo" -> backend=_get_cpu_backend()')
            return updated.with_changes(value=self.helper_call())
        if m.matches(original, m.Arg(keyword=m.Name("backend"), value=m.Call(func=m.Name(HELPER)))):
            self.ctx.already(self.pos(original), "CPU group backend already from _get_cpu_backend()")
        return updated

    # backend = "gloo" (the fallback) in parallel_state.py
    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if self.home and m.matches(original, m.Assign(
                targets=[m.AssignTarget(m.Name(m.MatchIfTrue(lambda n: n.endswith("backend"))))], value=_GLOO)):
            self.ctx.applied(self.pos(original), '"gloo" fallback -> _get_cpu_backend()')
            return updated.with_changes(value=self.helper_call())
        return updated

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.needs_import.append(False)

    def leave_SimpleStatementLine(self, original, updated):
        if not self.needs_import.pop() or self.home:
            return updated
        imp = parse_statement(f"from {self.home_module} import {HELPER}\n", self.module)
        return cst.FlattenSentinel([imp.with_changes(leading_lines=updated.leading_lines),
                                    updated.with_changes(leading_lines=[])])

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if not self.home or original.name.value != INIT or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = list(updated.body.body)
        first = 1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
        if len(body) > first and isinstance(body[first], cst.If) and is_win32_test(body[first].test):
            self.ctx.already(self.pos(original), f"{INIT}() already starts with a Windows branch")
            return updated
        self.ctx.applied(self.pos(original), f"{INIT}(): fake backend and FileStore rendezvous on Windows")
        prologue = parse_statement(PROLOGUE, self.module)
        return updated.with_changes(body=updated.body.with_changes(body=[*body[:first], prologue, *body[first:]]))
