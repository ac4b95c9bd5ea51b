from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, ensure_import, is_win32_test, parse_statement
from winport.lang.vllm import OPEN_IPC_PATH
from winport.transform import Context, PythonTransform

FUNCTION = OPEN_IPC_PATH


class ZmqIpcPath(PythonTransform):
    """Use a TCP loopback address instead of an IPC path for ZMQ on Windows.

    Why:
    vLLM's processes talk over ZMQ `ipc://` endpoints, which are Unix domain
    sockets; libzmq on Windows has no IPC transport and fails with
    `Protocol not supported`.

    Pattern:
    The function `get_open_zmq_ipc_path()` (an anchor: a tree without it is
    drifted), in a module that also defines `get_open_port()`.

    Rewrite:
    Its body starts with
    `if sys.platform == "win32": return f"tcp://127.0.0.1:{get_open_port()}"`;
    on Linux the function returns its `ipc://` path as before.
    """

    id = "runtime/zmq-ipc-path"
    seed = "R2"
    summary = "get_open_zmq_ipc_path() returns tcp://127.0.0.1:<free port> on Windows"
    triggers = (f"def {FUNCTION}",)
    anchors = (FUNCTION, "get_open_port")  # it looks for get_open_port() beside the function
    anchors_in_blocks = True
    expects = f"the function {FUNCTION}()"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.module
        if not any(m.matches(s, m.FunctionDef(name=m.Name("get_open_port"))) for s in module.body):
            ctx.report((1, 1), f"{FUNCTION}() found, but no get_open_port() beside it to pick a TCP port")
            return module
        module = wrapper.visit(_Guard(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


class _Guard(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if original.name.value != FUNCTION or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = list(updated.body.body)
        first = 1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
        if len(body) > first and isinstance(body[first], cst.If) and is_win32_test(body[first].test):
            self.ctx.already(self.pos(original), f"{FUNCTION}() already has a Windows branch")
            return updated
        guard = parse_statement(
            'if sys.platform == "win32":  # winport: no ZMQ ipc:// transport on Windows\n'
            '    return f"tcp://127.0.0.1:{get_open_port()}"\n', self.module)
        self.ctx.applied(self.pos(original), f"{FUNCTION}() returns tcp://127.0.0.1:<port> on Windows")
        return updated.with_changes(body=updated.body.with_changes(body=[*body[:first], guard, *body[first:]]))
