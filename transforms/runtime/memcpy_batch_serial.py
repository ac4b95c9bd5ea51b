from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, add_helper, ensure_import, parse_statement
from winport.transform import Context, PythonDocument, PythonTransform

NAME = "_winport_memcpy_serial"
CODE = '''
def _winport_memcpy_serial(dsts, srcs, sizes, count, attrs, attrs_idxs, num_attrs, fail_idx, stream):
    # winport: cuMemcpyBatchAsync's contract (count copies on stream, a CUresult back, failIdx
    # naming the copy that failed) with one cuMemcpyAsync per copy: the batched copy is
    # unusable under the Windows display driver model. attrs only relax the source's read
    # order; copies in stream order satisfy every order they ask for
    import ctypes

    from cuda.bindings import driver

    dst = (ctypes.c_uint64 * count).from_address(dsts)
    src = (ctypes.c_uint64 * count).from_address(srcs)
    size = (ctypes.c_uint64 * count).from_address(sizes)
    for i in range(count):
        result = driver.cuMemcpyAsync(dst[i], src[i], size[i], stream)
        err = result[0] if isinstance(result, tuple) else result
        if err != driver.CUresult.CUDA_SUCCESS:
            getattr(fail_idx, "_obj", fail_idx).value = i
            return int(err)
    return 0
'''
GUARD = '''\
if sys.platform == "win32":  # winport: no batched copies under WDDM: one cuMemcpyAsync per copy
    return {value}
'''
BATCH = ("b\"cuMemcpyBatchAsync\"", "\"cuMemcpyBatchAsync\"", "b'cuMemcpyBatchAsync'", "'cuMemcpyBatchAsync'")


class MemcpyBatchSerial(PythonTransform):
    """Give the KV-cache offload's batched block copy a per-copy path on Windows.

    Why:
    From 0.26 the CPU offload connector (`vllm/v1/simple_kv_offload/cuda_mem_ops.py`)
    resolves `cuMemcpyBatchAsync` with `cuda.bindings.driver.cuGetProcAddress` at run
    time and moves every block of every layer in one driver call. Under the Windows
    display driver model (WDDM: an RTX card on a desktop) the batched copy is
    unusable, and the hand-made Windows ports copy block by block instead.

    Pattern:
    A function that calls `cuGetProcAddress(b"cuMemcpyBatchAsync", ...)` and then
    returns the entry point wrapped for ctypes: `return FUNC_TYPE(ptr)` (0.26) or a
    tuple led by it, `return FUNC_TYPE(ptr), 1` (0.33: entry point and the number
    of attributes to pass). A resolution with no such `return` after it is
    reported.

    Rewrite:
    `if sys.platform == "win32": return _winport_memcpy_serial` (with the tuple's
    other values as they were) first in the function, and the helper added once:
    it takes the batched call's nine arguments (arrays of destination, source and
    size addresses, the count, the attributes, the failure index, the stream) and
    issues one `cuMemcpyAsync` per copy on the same stream, returning the first
    failure's `CUresult` and setting the failure index as the batched call does.
    Callers (chunking, error messages) are untouched; Linux resolves and calls the
    batched copy as before. The GPU check in docs/verification.md compares the two
    paths' destination buffers bit for bit.
    """

    id = "runtime/memcpy-batch-serial"
    seed = "F1"
    summary = "cuMemcpyBatchAsync resolved at run time -> one cuMemcpyAsync per copy on Windows"
    triggers = ("cuMemcpyBatchAsync",)
    anchors = ("cuGetProcAddress", NAME)
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        resolvers = _Resolvers(ctx)
        module = wrapper.visit(resolvers)
        if not resolvers.rewritten:
            return module
        return ensure_import(add_helper(module, ctx, NAME, CODE), "sys")


def _resolves_batch(node: cst.CSTNode, module: cst.Module) -> bool:
    """Whether ``node`` is a statement that calls ``cuGetProcAddress`` for the batched copy."""
    code = module.code_for_node(node)
    return "cuGetProcAddress(" in code and any(literal in code for literal in BATCH)


class _Resolvers(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.rewritten = 0

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if not isinstance(original.body, cst.IndentedBlock):
            return updated
        body = list(updated.body.body)
        at = next((i for i, s in enumerate(body) if not isinstance(s, (cst.FunctionDef, cst.ClassDef))
                   and _resolves_batch(s, self.module)), None)
        if at is None:
            if _resolves_batch(original.body, self.module) and not any(
                    isinstance(s, (cst.FunctionDef, cst.ClassDef)) and _resolves_batch(s, self.module) for s in body):
                self.ctx.report(self.pos(original), "cuMemcpyBatchAsync resolved inside a nested statement: "
                                                    "give Windows a per-copy path by hand")
            return updated
        if NAME in self.module.code_for_node(original.body):
            self.ctx.already(self.pos(original), "the batched copy has its Windows path")
            return updated
        ret = next((s.body[0] for s in body[at + 1:] if isinstance(s, cst.SimpleStatementLine)
                    and isinstance(s.body[0], cst.Return) and s.body[0].value is not None), None)
        if ret is None:
            self.ctx.report(self.pos(original), "cuMemcpyBatchAsync resolved without returning the entry point: "
                                                "give Windows a per-copy path by hand")
            return updated
        value = ret.value
        code = self.module.code_for_node
        if isinstance(value, cst.Tuple) and value.elements:
            rest = [code(e.value) for e in value.elements[1:]]
            windows = ", ".join([NAME, *rest])
        else:
            windows = NAME
        guard = parse_statement(GUARD.format(value=windows), self.module)
        first = 1 if body and _docstring(body[0]) else 0
        self.ctx.applied(self.pos(original), "cuMemcpyBatchAsync -> one cuMemcpyAsync per copy on Windows")
        body.insert(first, guard)
        self.rewritten += 1
        return updated.with_changes(body=updated.body.with_changes(body=body))


def _docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))
