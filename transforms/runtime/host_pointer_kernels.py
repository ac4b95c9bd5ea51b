from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, ensure_import, parse_expression
from winport.transform import Context, PythonDocument, PythonTransform

COPY = "swap_blocks_batch"  # the C++ copy-engine path (cudaMemcpyAsync / cuMemcpyBatchAsync)
KERNELS = "swap_blocks_triton"  # the module of the Triton kernel that reads host pointers
WINDOWS = 'sys.platform == "win32"'


class HostPointerKernels(PythonTransform):
    """Keep KV-cache loads from pinned host memory on the copy engine on Windows,
    never in a kernel that dereferences host pointers.

    Why:
    From 0.26 the CPU KV-cache offload (`vllm/v1/kv_offload/cpu/gpu_worker.py`)
    loads small blocks with a Triton kernel (`swap_blocks_triton.py`) that reads
    the pinned host buffers through their addresses on the GPU (`tl.load` of a
    host pointer). The host buffers are a shared file mapping
    (`shared_offload_region.py`) registered with `cudaHostRegister`; on Windows a
    registered file-backed mapping is not promised to be a valid device address,
    and Triton itself is a separate, unofficial build there. The copy engine path
    (`ops.swap_blocks_batch`, one `cudaMemcpyAsync` per block on Windows after
    `cuda/batch-memcpy`) works on any host memory.

    Pattern:
    In a function, an `if` whose test contains `not HAS_TRITON` (vLLM's test for
    platforms where the kernel cannot run: `not HAS_TRITON or
    current_platform.is_xpu() ...`) and whose body is `return <ops>.swap_blocks_batch`.

    Rewrite:
    `sys.platform == "win32" or ` in front of the test, so Windows returns the copy
    engine path; on Linux the test is the one it was.

    Reported:
    A module that imports the kernel's module (`swap_blocks_triton`) without such a
    selection: its choice of the kernel needs a Windows branch by hand.
    """

    id = "runtime/host-pointer-kernels"
    seed = "F1"
    summary = "KV-offload loads through a kernel that reads host pointers -> the copy engine path on Windows"
    triggers = (COPY,)
    anchors = ("HAS_TRITON",)
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        selections = _Selections(ctx)
        module = wrapper.visit(selections)
        if not selections.seen and KERNELS in wrapper.module.code:
            ctx.report(wrapper.module, f"selects {KERNELS}'s kernel with no `not HAS_TRITON` copy-engine branch "
                                       "winport knows: give Windows the copy engine path by hand")
        return ensure_import(module, "sys") if selections.rewritten else module


def _returns_copy(body: cst.BaseSuite, module: cst.Module) -> bool:
    """Whether ``body`` is a single ``return <...>.swap_blocks_batch``."""
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return False
    small = statements[0].body
    return (len(small) == 1 and isinstance(small[0], cst.Return) and small[0].value is not None
            and module.code_for_node(small[0].value).split(".")[-1] == COPY)


class _Selections(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.rewritten = 0
        self.seen = 0  # selections found, rewritten or already guarded

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        test = self.module.code_for_node(original.test)
        if "not HAS_TRITON" not in test or not _returns_copy(original.body, self.module):
            return updated
        self.seen += 1
        if "win32" in test:
            self.ctx.already(self.pos(original), "Windows already takes the copy engine path")
            return updated
        if isinstance(original.test, (cst.IfExp, cst.Lambda, cst.NamedExpr)):
            test = f"({test})"
        self.rewritten += 1
        self.ctx.applied(self.pos(original), "host-pointer kernel -> the copy engine path on Windows")
        return updated.with_changes(test=parse_expression(f"{WINDOWS} or {test}", self.module))
