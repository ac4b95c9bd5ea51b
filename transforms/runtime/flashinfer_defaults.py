from __future__ import annotations

import libcst as cst

from winport.lang.python import GuardAwareTransformer, ensure_import, parse_expression
from winport.transform import Context, PythonDocument, PythonTransform

ON = ("1", "true", "True")


class FlashInferDefaults(PythonTransform):
    """Turn FlashInfer off by default on Windows, where it has no wheel.

    Why:
    FlashInfer publishes no Windows wheel, and a Windows build of vLLM has none. From
    0.26 the sampler's setting `VLLM_USE_FLASHINFER_SAMPLER` defaults to on, and the
    first sampling step then imports vLLM's FlashInfer backend, which imports
    `flashinfer`: `ImportError` on the first request unless the user knows to set
    the variable to 0. Other FlashInfer settings default to on as well
    (`VLLM_BLOCKSCALE_FP8_GEMM_FLASHINFER`, `VLLM_ALLREDUCE_USE_FLASHINFER`).

    Pattern:
    In the settings of `vllm/envs.py`, an entry whose name holds `FLASHINFER`, read by
    a lambda whose default turns it on: `... if "X" in os.environ else True`, or
    `os.getenv("X", "1")` (also `os.environ.get`).

    Rewrite:
    The default becomes `sys.platform != "win32"`, or
    `"0" if sys.platform == "win32" else "1"` (`import sys` added when missing). A
    user who sets the variable gets what they set, on Windows too; Linux's defaults
    are unchanged.
    """

    id = "runtime/flashinfer-defaults"
    seed = "F2"
    summary = "FlashInfer settings that default to on -> off on Windows (no FlashInfer wheel there)"
    globs = ("vllm/envs.py",)
    triggers = ("FLASHINFER",)
    anchors = ("FLASHINFER",)
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Defaults(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


def _getenv(call: cst.Call) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and (
        (func.attr.value == "getenv" and isinstance(func.value, cst.Name) and func.value.value == "os")
        or (func.attr.value == "get" and isinstance(func.value, cst.Attribute) and func.value.attr.value == "environ"))


class _Defaults(GuardAwareTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.setting: list[str] = []  # the FlashInfer setting whose lambda is being visited

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = node.key
        name = key.evaluated_value if isinstance(key, cst.SimpleString) else None
        self.setting.append(name if isinstance(name, str) and "FLASHINFER" in name else "")

    def leave_DictElement(self, original: cst.DictElement, updated: cst.DictElement) -> cst.DictElement:
        self.setting.pop()
        return updated

    def leave_IfExp(self, original: cst.IfExp, updated: cst.IfExp) -> cst.BaseExpression:
        result = super().leave_IfExp(original, updated)
        if not (self.setting and self.setting[-1]):
            return result
        code = self.module.code_for_node(original.orelse)
        if "win32" in code and "sys.platform" in code:
            self.ctx.already(self.pos(original), f"{self.setting[-1]} is off by default on Windows")
        elif isinstance(original.orelse, cst.Name) and original.orelse.value == "True":
            self.ctx.applied(self.pos(original), f"{self.setting[-1]}: default off on Windows")
            return updated.with_changes(orelse=parse_expression('sys.platform != "win32"', self.module))
        return result

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (self.setting and self.setting[-1]) or not _getenv(original) or len(original.args) != 2:
            return updated
        default = original.args[1].value
        if isinstance(default, cst.IfExp) and "win32" in self.module.code_for_node(default.test):
            self.ctx.already(self.pos(original), f"{self.setting[-1]} is off by default on Windows")
        elif isinstance(default, cst.SimpleString) and default.evaluated_value in ON:
            self.ctx.applied(self.pos(original), f"{self.setting[-1]}: default off on Windows")
            off = '"0"' if default.evaluated_value == "1" else '"false"'
            new = parse_expression(f'{off} if sys.platform == "win32" else {default.value}', self.module)
            return updated.with_changes(args=[updated.args[0], updated.args[1].with_changes(value=new)])
        return updated
