from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, ensure_import, is_win32_test, parse_statement, statements
from winport.transform import Context, PythonTransform

_RETURN_SYNC = m.SimpleStatementLine([m.Return(m.Call(func=m.Name("SyncMPClient")))])
_RETURN_INPROC = m.Return(m.Call(func=m.Name("InprocClient")))


class InprocEngineClient(PythonTransform):
    """Run the engine core in-process instead of through `SyncMPClient` on Windows.

    Why:
    `SyncMPClient` starts the engine core in another process and hands it
    ZMQ sockets; under `spawn` (the only start method Windows has) the
    process arguments are pickled and sockets cannot be, so the offline
    `LLM` entry point fails before loading a model.

    Pattern:
    A function that returns `SyncMPClient(...)` and, further down, falls back
    to `return InprocClient(...)` (`EngineCoreClient.make_client`). It is an
    anchor: a tree without it is drifted.

    Rewrite:
    The `return SyncMPClient(...)` runs only when `sys.platform != "win32"`;
    on Windows the function reaches its `InprocClient` return. Linux is
    unchanged.
    """

    id = "runtime/inproc-client"
    seed = "R4"
    summary = "the sync engine client is InprocClient on Windows (SyncMPClient cannot pickle sockets)"
    triggers = ("SyncMPClient(",)
    anchors = ("SyncMPClient", "InprocClient")
    anchors_in_blocks = True
    expects = "the function that returns SyncMPClient(...) (EngineCoreClient.make_client)"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        # functions (and methods) that fall back to `return InprocClient(...)`
        fallback = {id(f) for f in statements(wrapper.module) if isinstance(f, cst.FunctionDef)
                    and any(m.matches(s, _RETURN_INPROC) for s in statements(f.body))}
        if not fallback:
            return wrapper.module
        module = wrapper.visit(_Guard(ctx, fallback))
        return ensure_import(module, "sys") if ctx.sites else module


class _Guard(PositionedTransformer):
    def __init__(self, ctx: Context, fallback: set[int]):
        super().__init__()
        self.ctx = ctx
        self.fallback = fallback
        self.functions: list[bool] = []  # per enclosing def: does it fall back to InprocClient?
        self.guarded: set[int] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(id(node) in self.fallback)

    def leave_FunctionDef(self, original, updated):
        self.functions.pop()
        return updated

    def visit_If(self, node: cst.If) -> None:
        if is_win32_test(node.test, negated=True):
            self.guarded.update(id(s) for s in m.findall(node.body, _RETURN_SYNC))

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated):
        if not m.matches(original, _RETURN_SYNC) or not (self.functions and self.functions[-1]):
            return updated
        if id(original) in self.guarded:
            self.ctx.already(self.pos(original), "SyncMPClient already skipped on Windows")
            return updated
        self.ctx.applied(self.pos(original), "SyncMPClient only off Windows; InprocClient on Windows")
        guard = parse_statement('if sys.platform != "win32":  # winport: sockets cannot be pickled '
                                'under spawn\n    pass\n', self.module)
        return guard.with_changes(body=guard.body.with_changes(body=[updated.with_changes(leading_lines=[])]),
                                  leading_lines=updated.leading_lines)
