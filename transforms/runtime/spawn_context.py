from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import (PositionedTransformer, ensure_import, is_win32_test, module_aliases,
                                 parse_expression)
from winport.transform import Context, PythonTransform

_CALLS = ("get_context", "set_start_method")


class SpawnContext(PythonTransform):
    """Choose the `spawn` start method for multiprocessing on Windows.

    Why:
    Windows has neither `fork` nor `forkserver`. vLLM picks its start method
    from `VLLM_WORKER_MULTIPROC_METHOD` (default `fork`) in
    `get_mp_context()`, forces `fork` for a CUDA probe and sets
    `forkserver` for the API server; each raises `ValueError: cannot find
    context for 'fork'` on Windows.

    Pattern:
    Every `multiprocessing.get_context(method)` and
    `multiprocessing.set_start_method(method, ...)` call in `vllm/` (through
    any name the module is imported as) whose method is not the literal
    `"spawn"`.

    Rewrite:
    The method becomes `"spawn" if sys.platform == "win32" else <method>`, so
    Linux keeps its choice.
    """

    id = "runtime/spawn-context"
    seed = "R3"
    summary = 'multiprocessing contexts and start methods are "spawn" on Windows'
    triggers = ("get_context(", "set_start_method(")
    anchors = ("get_context", "set_start_method")
    anchors_in_blocks = True
    expects = "multiprocessing.get_context() in vllm/ (get_mp_context)"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        aliases = module_aliases(wrapper.module, "multiprocessing")
        if not aliases:
            return wrapper.module
        module = wrapper.visit(_Spawn(ctx, aliases))
        return ensure_import(module, "sys") if ctx.sites else module


class _Spawn(PositionedTransformer):
    def __init__(self, ctx: Context, aliases: set[str]):
        super().__init__()
        self.ctx = ctx
        self.calls = m.Call(func=m.Attribute(value=m.OneOf(*(m.Name(a) for a in aliases)),
                                             attr=m.OneOf(*(m.Name(c) for c in _CALLS))))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not m.matches(original, self.calls) or not original.args or original.args[0].keyword is not None:
            return updated
        method = original.args[0].value
        if m.matches(method, m.SimpleString()) and method.evaluated_value == "spawn":  # type: ignore[attr-defined]
            return updated
        if isinstance(method, cst.IfExp) and is_win32_test(method.test):
            self.ctx.already(self.pos(original), "start method already spawn on Windows")
            return updated
        code = self.module.code_for_node(method)
        new = parse_expression(f'"spawn" if sys.platform == "win32" else {code}', self.module)
        self.ctx.applied(self.pos(original), f'{original.func.attr.value}({code}) -> "spawn" on Windows')
        args = [updated.args[0].with_changes(value=new), *updated.args[1:]]
        return updated.with_changes(args=args)
