from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import GuardAwareTransformer, add_helper
from winport.lang.vllm import OPEN_IPC_PATH
from winport.transform import Context, PythonTransform


HELPER = "_winport_ipc_endpoint"
HELPER_CODE = f'''
def {HELPER}(address):
    """winport: Windows' libzmq has no ipc:// transport. Both ends of a socket build
    the same ipc:// name, so on Windows the name maps to one TCP loopback port
    derived from it (32768-49151, below Windows' ephemeral ports); elsewhere the
    name is returned as it is."""
    import sys

    if sys.platform != "win32" or not address.startswith("ipc://"):
        return address
    import zlib

    return f"tcp://127.0.0.1:{{32768 + zlib.crc32(address.encode()) % 16384}}"
'''
PREFIX = "ipc://"


def _is_ipc_literal(node: cst.CSTNode) -> bool:
    """A string literal or f-string whose text starts with ``ipc://``."""
    if isinstance(node, cst.SimpleString):
        return isinstance(node.evaluated_value, str) and node.evaluated_value.startswith(PREFIX)
    if isinstance(node, cst.FormattedString):
        first = node.parts[0] if node.parts else None
        return isinstance(first, cst.FormattedStringText) and first.value.startswith(PREFIX)
    return False


class ZmqIpcEndpoints(PythonTransform):
    """Give the `ipc://` endpoints vLLM names outside `get_open_zmq_ipc_path` a Windows address.

    Why:
    Windows' libzmq (pyzmq's wheels) has no `ipc://` transport: binding or
    connecting fails with `Protocol not supported`. `runtime/zmq-ipc-path`
    fixes the function that makes fresh endpoints. Some endpoints are names
    both ends build from shared settings instead, such as the Mooncake
    store's lookup socket (`f"ipc://{base_url}/lookup_rpc_port_{port}_..."`,
    from 0.26): a fresh free port would not be found by the other end.

    Pattern:
    In `vllm/`, outside `get_open_zmq_ipc_path` and code already guarded for
    Windows, a string or f-string starting with `ipc://` that a function
    returns or a statement assigns.

    Rewrite:
    The value is passed through `_winport_ipc_endpoint(...)`, a helper added
    once after the imports: on Windows it maps the name to
    `tcp://127.0.0.1:<port>`, the port derived from the name (so both ends
    agree); elsewhere it returns the name unchanged.
    """

    id = "runtime/zmq-ipc-endpoints"
    seed = "P4"
    summary = "ipc:// endpoints built from names -> a loopback TCP port derived from the name on Windows"
    triggers = ('"ipc://', "'ipc://", 'f"ipc://', "f'ipc://")
    anchors = (PREFIX, HELPER)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Endpoints(ctx))
        return add_helper(module, ctx, HELPER, HELPER_CODE)


class _Endpoints(GuardAwareTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.functions: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node.name.value)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.functions.pop()
        return updated

    def _wrap(self, original: cst.CSTNode, value: cst.BaseExpression | None) -> cst.BaseExpression | None:
        if self.guarded or OPEN_IPC_PATH in self.functions or HELPER in self.functions:
            return None
        if m.matches(value, m.Call(func=m.Name(HELPER))):
            self.ctx.already(self.pos(original), f"the endpoint already goes through {HELPER}")
            return None
        if value is None or not _is_ipc_literal(value):
            return None
        self.ctx.applied(self.pos(original), "ipc:// endpoint -> a loopback TCP port derived from it on Windows")
        if not value.lpar:  # type: ignore[attr-defined]
            return cst.Call(cst.Name(HELPER), [cst.Arg(value)])
        # `return (\n    f"ipc://..."\n)`: the call's parentheses take the place of these
        lpar, rpar = value.lpar[0], value.rpar[-1]  # type: ignore[attr-defined]
        bare = value.with_changes(lpar=[], rpar=[])
        return cst.Call(cst.Name(HELPER), [cst.Arg(bare, whitespace_after_arg=rpar.whitespace_before)],
                        whitespace_before_args=lpar.whitespace_after)

    def leave_Return(self, original: cst.Return, updated: cst.Return) -> cst.Return:
        value = self._wrap(original, updated.value)
        return updated if value is None else updated.with_changes(value=value)

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        value = self._wrap(original, updated.value)
        return updated if value is None else updated.with_changes(value=value)
