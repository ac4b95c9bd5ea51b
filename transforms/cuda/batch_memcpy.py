from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import enclosing
from winport.transform import Context, CppTransform

BATCH = b'"cuMemcpyBatchAsync"'
GUARD = "!defined(_WIN32)"


class BatchMemcpy(CppTransform):
    """Copy KV-cache blocks one by one on Windows instead of with `cuMemcpyBatchAsync`.

    Why:
    From 0.26 `swap_blocks_batch` (`csrc/cache_kernels.cu`, 0.26's
    `csrc/libtorch_stable/cache_kernels.cu`) resolves `cuMemcpyBatchAsync` with
    `cuGetProcAddress` and submits every block copy of a KV-cache offload in one
    driver call. Under the Windows display driver model (WDDM, what an RTX card on
    a desktop runs) the batched copy is unusable: the symbol resolves, the call
    fails, and the offload stops with "cuMemcpyBatchAsync failed". The function
    already ends with a per-copy `cudaMemcpyAsync` loop for drivers without it.

    Pattern:
    A `#if` / `#elif` branch that resolves the batched copy
    (`cuGetProcAddress("cuMemcpyBatchAsync", ...)`) inside a function that also
    copies with `cudaMemcpyAsync` outside that branch. A resolution with no such
    fallback in its function, or outside any `#if`, is reported.

    Rewrite:
    `!defined(_WIN32) && ` in front of the branch's condition (parenthesised when
    it has a `||`), so Windows builds take the per-copy loop; Linux compiles what it
    compiled before. The Python side of the same copy is
    `runtime/memcpy-batch-serial`.
    """

    id = "cuda/batch-memcpy"
    seed = "F1"
    summary = "`#if` branch using cuMemcpyBatchAsync -> skipped on Windows, where the per-copy loop runs"
    triggers = ("cuMemcpyBatchAsync",)

    def rewrite(self, tree, ctx: Context) -> None:
        for literal in treesitter.walk(tree.root_node):
            if literal.type != "string_literal" or literal.text != BATCH:
                continue
            call = enclosing(literal, "call_expression")
            if call is None or not call.text.startswith(b"cuGetProcAddress"):
                continue
            branch = enclosing(literal, "preproc_if", "preproc_elif")
            function = enclosing(literal, "function_definition")
            if branch is None:
                ctx.report(call, "cuMemcpyBatchAsync resolved outside any #if: give Windows a per-copy path by hand")
                continue
            condition = branch.child_by_field_name("condition")
            if b"_WIN32" in condition.text:
                ctx.already(branch, "the batched copy is already skipped on Windows")
                continue
            if function is None or not _copies_outside(function, branch):
                ctx.report(branch, "cuMemcpyBatchAsync with no cudaMemcpyAsync fallback in its function: "
                                   "give Windows a per-copy path by hand")
                continue
            text = condition.text.decode()
            text = f"({text})" if "||" in text else text
            ctx.replace_node(condition, f"{GUARD} && {text}",
                             "cuMemcpyBatchAsync branch skipped on Windows (the per-copy loop runs)")


def _copies_outside(function, branch) -> bool:
    """Whether ``function`` calls ``cudaMemcpyAsync`` outside the ``#if`` chain ``branch`` belongs to."""
    chain = branch
    while chain.type == "preproc_elif" or chain.type == "preproc_else":
        chain = chain.parent
    for name in treesitter.called(function, treesitter.words(["cudaMemcpyAsync"])):
        if not treesitter.inside(name, chain):
            return True
    return False
