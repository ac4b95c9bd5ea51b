from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import GuardAwareTransformer, add_helper, ensure_import, parse_expression
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
    # functions that make a poller or register in one; in them, the statements that bind sentinels
    anchors = ("Poller", ".register(", "sentinel", HELPER)
    anchors_in_blocks = True

    @classmethod
    def triggered(cls, data: bytes) -> bool:
        return b"sentinel" in data and super().triggered(data)  # no sentinel, nothing to watch

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Pollers(ctx))
        module = add_helper(module, ctx, HELPER, HELPER_CODE)
        return ensure_import(module, "sys") if ctx.sites else module


def _sentinel(names) -> bool:
    return any("sentinel" in name.lower() for name in names)


class _Function:
    def __init__(self) -> None:
        self.pollers: dict[str, tuple[cst.Assign, cst.Assign]] = {}  # name -> (original, updated) `= zmq.Poller()`
        self.wrapped: set[str] = set()  # pollers already made with the helper
        self.bound: set[str] = set()  # variables assigned from a sentinel
        self.watching: set[str] = set()  # pollers a sentinel is registered in


class _Pollers(GuardAwareTransformer):
    """One pass: each function's pollers, the variables bound to sentinels and the
    `register` calls are noted as they come; a poller that watches a sentinel is
    rewritten when the function is left."""

    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.functions: list[_Function] = []
        self.names: list[set[str]] = []  # identifiers of the assigned values / loop iterables being visited

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(_Function())

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        info = self.functions.pop()
        for name in sorted(info.watching & set(info.pollers)):
            first, assign = info.pollers[name]
            self.ctx.applied(self.pos(first), f"{name} waits on process sentinels on Windows")
            new = assign.with_changes(value=parse_expression(
                f'({HELPER}() if sys.platform == "win32" else zmq.Poller())', self.module))
            updated = updated.deep_replace(assign, new)  # type: ignore[assignment]
        return updated

    def visit_Name(self, node: cst.Name) -> None:
        for names in self.names:
            names.add(node.value)

    def visit_Assign_value(self, node: cst.Assign) -> None:
        self.names.append(set())

    def leave_Assign_value(self, node: cst.Assign) -> None:
        self.value_names = self.names.pop()

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if not self.functions or len(original.targets) != 1 or not isinstance(original.targets[0].target, cst.Name):
            return updated
        info, name = self.functions[-1], original.targets[0].target.value
        if m.matches(original.value, _POLLER):
            if not self.guarded:
                info.pollers[name] = (original, updated)
        elif m.matches(original.value, _WRAPPED):
            info.wrapped.add(name)
        elif _sentinel(self.value_names):
            info.bound.add(name)
        return updated

    def visit_For_iter(self, node: cst.For) -> None:
        self.names.append(set())

    def leave_For_iter(self, node: cst.For) -> None:
        names = self.names.pop()
        if self.functions and isinstance(node.target, cst.Name) and _sentinel(names):
            self.functions[-1].bound.add(node.target.value)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not self.functions or not m.matches(original, _REGISTER):
            return updated
        info = self.functions[-1]
        names = {n.value for n in m.findall(original.args[0].value, m.Name())}  # type: ignore[attr-defined]
        if not (_sentinel(names) or names & info.bound):
            return updated
        owner = cst.Module([]).code_for_node(original.func.value)  # type: ignore[attr-defined]
        if owner in info.wrapped:
            self.ctx.already(self.pos(original), f"{owner} already waits on sentinels on Windows")
        elif owner in info.pollers:
            info.watching.add(owner)
        else:
            self.ctx.report(self.pos(original), f"a process sentinel registered in {owner}, a poller not made "
                                                "here: zmq cannot poll it on Windows")
        return updated
