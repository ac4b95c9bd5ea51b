from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.guards import POSIX_SIGNALS
from winport.lang.python import GuardAwareTransformer, ensure_imports, parse_statement
from winport.transform import Context, PythonTransform

# the signals whose handlers this transform guards: SIGKILL gets SIGTERM instead, and
# SIGKILL and SIGSTOP can have no handler anywhere
MISSING = POSIX_SIGNALS - {"SIGKILL", "SIGSTOP"}
_WINDOWS_HAS = {"SIGINT", "SIGTERM"}


def _signal(name: str | set[str]) -> m.BaseMatcherNode:
    names = {name} if isinstance(name, str) else name
    return m.Attribute(m.Name("signal"), m.Name(m.MatchIfTrue(lambda n: n in names)))


_SIGNAL_CALL = m.Call(func=_signal("signal"), args=[m.Arg(_signal(MISSING)), m.ZeroOrMore()])
_WINDOWS_SIGNALS = m.OneOf(m.Tuple(elements=[m.AtLeastN(m.Element(_signal(_WINDOWS_HAS)), n=1)]),
                           m.List(elements=[m.AtLeastN(m.Element(_signal(_WINDOWS_HAS)), n=1)]))


def _handler_call(method: str, names: set[str], more: list) -> m.BaseMatcherNode:
    """``<loop>.<method>(SIG, ...)`` with SIG signal.SIGINT/SIGTERM or a loop variable over them."""
    sig = m.OneOf(_signal(_WINDOWS_HAS), m.Name(m.MatchIfTrue(lambda n: n in names)))
    return m.Call(func=m.Attribute(attr=m.Name(method)), args=[m.Arg(sig, keyword=None), *more])
_GETPGID = m.Call(func=m.Attribute(m.Name("os"), m.Name("getpgid")), args=[m.Arg()])
_KILLPG = m.Call(func=m.Attribute(m.Name("os"), m.Name("killpg")), args=[m.Arg(keyword=None), m.Arg()])

ADD_HANDLER = '''\
if sys.platform == "win32":  # winport: Windows' event loops have no add_signal_handler
    def _winport_on_signal(_signum, _frame, _h=({loop}, {callback}, ({args}))):
        _h[0].call_soon_threadsafe(_h[1], *_h[2])

    signal.signal({sig}, _winport_on_signal)
else:
    {statement}
'''
REMOVE_HANDLER = '''\
if sys.platform == "win32":  # winport: Windows' event loops have no remove_signal_handler
    signal.signal({sig}, signal.SIG_DFL)
else:
    {statement}
'''
KILLPG = '''\
if sys.platform == "win32":  # winport: no process groups on Windows: kill the process and its children
    import psutil as _winport_psutil

    try:
        _winport_root = _winport_psutil.Process({pid})
        for _winport_proc in [*_winport_root.children(recursive=True), _winport_root]:
            _winport_proc.kill()
    except _winport_psutil.NoSuchProcess as _winport_exc:
        raise ProcessLookupError(str(_winport_exc)) from None
else:
    {statement}
'''


class PosixSignals(PythonTransform):
    """Make signal handling and process-group kills work on Windows.

    Why:
    Windows' Python defines only a few signals: `signal.SIGKILL`, `SIGTSTP`,
    `SIGHUP`, `SIGQUIT`, `SIGUSR1`, ... raise `AttributeError`. Its event
    loops (Proactor and selector alike) raise `NotImplementedError` from
    `loop.add_signal_handler`, which the OpenAI server calls for SIGINT and
    SIGTERM at start-up. `os.killpg` and `os.getpgid` do not exist: Windows
    has no process groups.

    Pattern:
    In `vllm/`, outside code already guarded for Windows:
    `signal.SIGKILL` anywhere; a statement `signal.signal(signal.SIG<X>, ...)`
    for a signal Windows lacks; a statement `<loop>.add_signal_handler(
    signal.SIGINT or SIGTERM, callback, *args)` or `remove_signal_handler`
    (the signal also as the variable of `for sig in (signal.SIGTERM,
    signal.SIGINT):`);
    a statement `os.killpg(os.getpgid(<pid>), <sig>)` or `os.killpg(<pgid>,
    <sig>)` (a group vLLM started with `start_new_session=True`: its id is
    its leader's pid). Other uses of missing signals stay reported by
    `detect/posix-calls`.

    Rewrite:
    `signal.SIGKILL` → `getattr(signal, "SIGKILL", signal.SIGTERM)` (the same
    value on Linux; on Windows `os.kill` with SIGTERM terminates the
    process). `signal.signal(signal.SIGTSTP, h)` → under `if hasattr(signal,
    "SIGTSTP"):`. `add_signal_handler` → on Windows `signal.signal` with a
    handler that hands the callback to that loop with `call_soon_threadsafe`
    (`remove_signal_handler` → `SIG_DFL`); `os.killpg(...)` → on Windows the
    process and its children killed with psutil (a vLLM dependency),
    `ProcessLookupError` when it is gone, as `os.killpg` raises. Linux runs
    the original statement in the `else` branch.
    """

    id = "runtime/posix-signals"
    seed = "P2"
    summary = "SIGKILL, missing signals, add_signal_handler and killpg made to work on Windows"
    triggers = ("signal.SIGKILL", *(f"signal.{name}" for name in sorted(MISSING)), "add_signal_handler",
                "remove_signal_handler", "os.killpg(")
    anchors = ("SIGKILL", *sorted(MISSING), "signal_handler", "killpg")
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        visitor = _Signals(ctx)
        return ensure_imports(wrapper.visit(visitor), visitor.needs)


class _Signals(GuardAwareTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.needs: set[str] = set()
        self.getattr_depth = 0
        self.loop_signals: list[str] = []  # `for sig in (signal.SIGTERM, signal.SIGINT):` variables

    def visit_For(self, node: cst.For) -> None:
        name = node.target.value if isinstance(node.target, cst.Name) and m.matches(node.iter, _WINDOWS_SIGNALS) \
            else ""
        self.loop_signals.append(name)

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        self.loop_signals.pop()
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        if m.matches(node.func, m.Name("getattr")):
            self.getattr_depth += 1

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if m.matches(original.func, m.Name("getattr")):
            self.getattr_depth -= 1
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if self.guarded or self.getattr_depth or not m.matches(original, _signal("SIGKILL")):
            return updated
        self.ctx.applied(self.pos(original), "signal.SIGKILL → SIGTERM where it does not exist (Windows)")
        return cst.parse_expression('getattr(signal, "SIGKILL", signal.SIGTERM)')

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated):
        if self.guarded or len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            return updated
        call = original.body[0].value
        code = self.module.code_for_node
        statement = code(updated.with_changes(leading_lines=[])).strip()
        if m.matches(call, _SIGNAL_CALL):
            name = call.args[0].value.attr.value  # type: ignore[attr-defined]
            self.ctx.applied(self.pos(original), f"signal.signal({name}) only where {name} exists")
            new = f'if hasattr(signal, "{name}"):  # winport: Windows has no {name}\n    {statement}\n'
        elif m.matches(call, _handler_call("add_signal_handler", set(self.loop_signals), [m.AtLeastN(n=1)])):
            loop = code(call.func.value)  # type: ignore[attr-defined]
            args = [code(a.value) for a in call.args[2:]]
            self.ctx.applied(self.pos(original), "add_signal_handler → signal.signal on Windows")
            new = ADD_HANDLER.format(sig=code(call.args[0].value), loop=loop, callback=code(call.args[1].value),
                                     args=", ".join(args) + ("," if len(args) == 1 else ""), statement=statement)
            self.needs |= {"sys", "signal"}
        elif m.matches(call, _handler_call("remove_signal_handler", set(self.loop_signals), [])):
            self.ctx.applied(self.pos(original), "remove_signal_handler → SIG_DFL on Windows")
            new = REMOVE_HANDLER.format(sig=code(call.args[0].value), statement=statement)
            self.needs |= {"sys", "signal"}
        elif m.matches(call, _KILLPG):
            group = call.args[0].value  # type: ignore[attr-defined]
            pid = code(group.args[0].value if m.matches(group, _GETPGID) else group)  # the group's leader
            self.ctx.applied(self.pos(original), "os.killpg → psutil process-tree kill on Windows")
            new = KILLPG.format(pid=pid, statement=statement)
            self.needs.add("sys")
        else:
            return updated
        return parse_statement(new, self.module).with_changes(leading_lines=updated.leading_lines)
