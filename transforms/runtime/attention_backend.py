from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, add_helper
from winport.transform import Context, PythonTransform

HELPER = "_winport_windows_backends"
HELPER_CODE = f'''
def {HELPER}(get_priorities):
    """winport: Triton (TRITON_*, FLEX_ATTENTION) and FlashInfer do not run on
    Windows; leave them out of the automatic choice there."""
    import functools
    import sys

    @functools.wraps(get_priorities)
    def priorities(*args, **kwargs):
        backends = get_priorities(*args, **kwargs)
        if sys.platform != "win32":
            return backends
        unusable = ("TRITON", "FLEX", "FLASHINFER", "TOKENSPEED")
        return [b for b in backends if not any(word in b.name for word in unusable)]

    return priorities
'''

_MEMBER = m.Attribute(value=m.Name("AttentionBackendEnum"))


class AttentionBackend(PythonTransform):
    """Make the automatic attention backend choice skip Triton and FlashInfer on Windows.

    Why:
    On a CUDA machine vLLM tries attention backends in a priority order that
    starts with FlashInfer or FlashAttention and falls back to Triton-based
    ones (`TRITON_ATTN`, `FLEX_ATTENTION`, which compiles Triton kernels).
    Triton and FlashInfer do not exist on Windows, so a backend that cannot
    load may be picked and the user has to set `VLLM_ATTENTION_BACKEND`.

    Pattern:
    In the CUDA platform module (the one with `PlatformEnum.CUDA`), the
    module-level function that returns lists of `AttentionBackendEnum`
    members: the backend priorities.

    Rewrite:
    The function gets a decorator, `@_winport_windows_backends`, added once
    after the imports: off Windows it returns the list unchanged; on Windows
    it drops the Triton, FlexAttention and FlashInfer backends, so
    FLASH_ATTN is chosen. A backend the user names in
    `VLLM_ATTENTION_BACKEND` does not go through the priorities and still wins.
    """

    id = "runtime/attention-backend"
    seed = "R8"
    summary = "the automatic attention backend choice skips Triton/FlexAttention/FlashInfer on Windows"
    globs = ("vllm/platforms/**/*.py",)
    triggers = ("PlatformEnum.CUDA",)
    anchors = ("AttentionBackendEnum",)
    anchors_in_blocks = True
    expects = "the CUDA platform's backend priority function"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Decorate(ctx))
        return add_helper(module, ctx, HELPER, HELPER_CODE)


class _Decorate(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.depth -= 1
        if self.depth:  # only module-level functions
            return updated
        lists = m.findall(original.body, m.Return(m.List()))
        if not any(m.findall(r, _MEMBER) for r in lists):
            return updated
        if any(m.matches(d.decorator, m.Name(HELPER)) for d in original.decorators):
            self.ctx.already(self.pos(original), "backend priorities already filtered on Windows")
            return updated
        self.ctx.applied(self.pos(original), f"{original.name.value}() leaves Triton/FlashInfer out on Windows")
        return updated.with_changes(decorators=[cst.Decorator(cst.Name(HELPER)), *updated.decorators])

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False  # methods are not the module-level priority function
