from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from winport.lang.python import (GuardAwareTransformer, ensure_import, has_module_level, insert_after_imports,
                                 parse_expression)
from winport.transform import Context, PythonTransform

HELPER = "_winport_sentinel_poller"
HELPER_CODE = f'''
def {HELPER}():
    """winport: a zmq.Poller that also watches process sentinels. On Windows zmq
    polls sockets only, and a sentinel is a process handle: zmq polls the
    sockets and multiprocessing.connection.wait the sentinels, in turns of at
    most 50 ms; an exited process comes back as (sentinel, zmq.POLLIN), as
    zmq reports a sentinel on Linux."""
    import multiprocessing.connection
    import time

    import zmq

    class SentinelPoller(zmq.Poller):
        def __init__(self):
            super().__init__()
            self.sentinels = []

        def register(self, socket, flags=zmq.POLLIN | zmq.POLLOUT):
            if not isinstance(socket, int):  # a zmq socket, or an object with fileno()
                return super().register(socket, flags)
            if socket not in self.sentinels:
                self.sentinels.append(socket)
            return None

        def unregister(self, socket):
            if isinstance(socket, int):
                self.sentinels.remove(socket)
            else:
                super().unregister(socket)

        def poll(self, timeout=None):
            forever = timeout is None or timeout < 0
            deadline = 0.0 if forever else time.monotonic() + timeout / 1000
            while True:
                exited = multiprocessing.connection.wait(self.sentinels, timeout=0) if self.sentinels else []
                left = 50 if forever else max(0, min(50, int((deadline - time.monotonic()) * 1000)))
                events = super().poll(0 if exited else left)
                if events or exited or (not forever and time.monotonic() >= deadline):
                    return [*events, *((sentinel, zmq.POLLIN) for sentinel in exited)]

    return SentinelPoller()
'''

_POLLER = m.Call(func=m.Attribute(m.Name("zmq"), m.Name("Poller")), args=[])
_REGISTER = m.Call(func=m.Attribute(attr=m.Name("register")), args=[m.Arg(), m.ZeroOrMore()])
_WRAPPED = m.IfExp(body=m.Call(func=m.Name(HELPER)), orelse=_POLLER)


class ZmqSentinels(PythonTransform):
    """Let the engine start-up wait watch its processes on Windows, where zmq cannot.

    Why:
    While the API server waits for its engine-core processes to say hello,
    it registers their `multiprocessing` sentinels in a `zmq.Poller` beside
    the handshake socket, so that a process that dies during start-up stops
    the wait. On Linux a sentinel is a file descriptor, which zmq polls. On
    Windows it is a process handle, and zmq polls sockets only: the poll
    fails instead of waiting (`vllm serve` stops at start-up).

    Pattern:
    In a function of `vllm/`, `<name> = zmq.Poller()` and a call
    `<name>.register(<sentinel>, ...)`, where `<sentinel>` names a sentinel
    (`proc.sentinel`, a variable called `sentinel`) or is a variable the
    function assigns from one (`fd = proc.sentinel if ... else ...`). A
    sentinel registered in a poller made elsewhere is reported.

    Rewrite:
    `zmq.Poller()` becomes `(_winport_sentinel_poller() if sys.platform ==
    "win32" else zmq.Poller())`. The helper, added once after the imports,
    makes a `zmq.Poller` that keeps integer registrations aside and waits on
    them with `multiprocessing.connection.wait`, which takes process handles
    on Windows, while zmq polls the sockets: `poll(timeout)` returns the
    socket events and `(sentinel, zmq.POLLIN)` for a process that exited,
    within the same timeout. Linux polls as before.
    """

    id = "runtime/zmq-sentinels"
    seed = "P4"
    summary = "zmq.Poller watching process sentinels -> a poller that waits on process handles on Windows"
    triggers = ("zmq.Poller()",)
    anchors = ("Poller", "sentinel", HELPER)

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Pollers(ctx))
        if ctx.sites and not has_module_level(module, HELPER):
            module = insert_after_imports(module, HELPER_CODE)
        return ensure_import(module, "sys") if ctx.sites else module


def _names_sentinel(node: cst.CSTNode, bound: set[str]) -> bool:
    """Whether ``node`` mentions a sentinel: an identifier with "sentinel" in it, or a
    variable in ``bound`` (assigned from one)."""
    return any("sentinel" in n.value.lower() or n.value in bound for n in m.findall(node, m.Name()))


class _Function:
    def __init__(self) -> None:
        self.pollers: dict[str, cst.Assign] = {}  # name -> its `= zmq.Poller()`
        self.wrapped: set[str] = set()  # pollers already made with the helper
        self.bound: set[str] = set()  # variables assigned from a sentinel
        self.watching: set[str] = set()  # pollers a sentinel is registered in


class _Pollers(GuardAwareTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.functions: list[_Function] = []

    # a first pass over each function finds its pollers and what they watch; the
    # transformer then rewrites the pollers that watch a sentinel when it leaves them
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        info = _Function()
        for assign in m.findall(node.body, m.Assign(targets=[m.AssignTarget(m.Name())])):
            name = assign.targets[0].target.value  # type: ignore[attr-defined]
            if m.matches(assign.value, _POLLER):
                info.pollers[name] = assign  # type: ignore[assignment]
            elif m.matches(assign.value, _WRAPPED):
                info.wrapped.add(name)
            elif _names_sentinel(assign.value, set()):  # type: ignore[attr-defined]
                info.bound.add(name)
        for loop in m.findall(node.body, m.For(target=m.Name())):
            if _names_sentinel(loop.iter, set()):  # type: ignore[attr-defined]
                info.bound.add(loop.target.value)  # type: ignore[attr-defined]
        for call in m.findall(node.body, _REGISTER):
            owner = cst.Module([]).code_for_node(call.func.value)  # type: ignore[attr-defined]
            if not _names_sentinel(call.args[0].value, info.bound):  # type: ignore[attr-defined]
                continue
            if owner in info.wrapped:
                self.ctx.already(self.pos(call), f"{owner} already waits on sentinels on Windows")
            elif owner in info.pollers:
                info.watching.add(owner)
            else:
                self.ctx.report(self.pos(call), f"a process sentinel registered in {owner}, a poller not made "
                                                "here: zmq cannot poll it on Windows")
        self.functions.append(info)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.functions.pop()
        return updated

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        info = self.functions[-1] if self.functions else None
        if info is None or self.guarded or not any(a is original for a in info.pollers.values()):
            return updated
        name = original.targets[0].target.value  # type: ignore[attr-defined]
        if name not in info.watching:
            return updated
        self.ctx.applied(self.pos(original), f"{name} waits on process sentinels on Windows")
        return updated.with_changes(value=parse_expression(
            f'({HELPER}() if sys.platform == "win32" else zmq.Poller())', self.module))
