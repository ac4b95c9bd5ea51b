from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, add_helper, ensure_import, parse_statement
from winport.transform import Context, PythonDocument, PythonTransform

NAME = "_winport_compute_slot_mapping"
CODE = '''
def _winport_compute_slot_mapping(num_reqs, num_tokens, max_num_tokens, query_start_loc, positions, block_table,
                                  block_table_stride, slot_mapping, kv_cache_block_size, total_cp_world_size,
                                  total_cp_rank, cp_kv_cache_interleave_size, pad_id, block_size=None,
                                  blocks_per_kv_block=1):
    # winport: what the Triton slot-mapping kernel computes, with torch operations, where
    # Triton is missing (Windows): each token of request r at position p gets the slot of
    # its block in row r of the block table (pad_id where another context-parallel rank
    # holds it), and the slots from num_tokens to max_num_tokens get pad_id
    import torch

    block_size = kv_cache_block_size if block_size is None else block_size
    slot_mapping[num_tokens:max_num_tokens] = pad_id
    if num_reqs <= 0:
        return
    bounds = query_start_loc[: num_reqs + 1].to(torch.int64)
    token = torch.arange(int(bounds.max()), device=slot_mapping.device)
    req = torch.searchsorted(bounds[1:].contiguous(), token, right=True)
    inside = req < num_reqs
    req = req.clamp(max=num_reqs - 1)
    inside &= token >= bounds[req]
    token, req = token[inside], req[inside]
    pos = positions[token].to(torch.int64)
    virtual_block_size = kv_cache_block_size * total_cp_world_size
    virtual_block = pos // virtual_block_size
    virtual_offset = pos - virtual_block * virtual_block_size
    local = (virtual_offset // cp_kv_cache_interleave_size) % total_cp_world_size == total_cp_rank
    local_offset = (virtual_offset // (total_cp_world_size * cp_kv_cache_interleave_size)) \\
        * cp_kv_cache_interleave_size + virtual_offset % cp_kv_cache_interleave_size
    index = req * block_table_stride + virtual_block * blocks_per_kv_block + local_offset // block_size
    number = torch.zeros_like(index)
    number[local] = block_table.flatten()[index[local]].to(torch.int64)
    slots = torch.where(local, number * block_size + local_offset % block_size, torch.full_like(index, pad_id))
    slot_mapping[token] = slots.to(slot_mapping.dtype)
'''
GUARD = '''\
if sys.platform == "win32" and not HAS_TRITON:  # winport: no Triton: the same slots computed with torch
    {fallback}
else:
    pass
'''

# keyword arguments of the 0.26 launch -> the fallback's parameters
_KEYWORDS = {"KV_CACHE_BLOCK_SIZE": "kv_cache_block_size", "BLOCKS_PER_KV_BLOCK": "blocks_per_kv_block",
             "TOTAL_CP_WORLD_SIZE": "total_cp_world_size", "TOTAL_CP_RANK": "total_cp_rank",
             "CP_KV_CACHE_INTERLEAVE_SIZE": "cp_kv_cache_interleave_size", "PAD_ID": "pad_id"}
# positional arguments of each launch, in order
_LAUNCH_0_26 = ("num_tokens", "max_num_tokens", "query_start_loc", "positions", "block_table", "block_table_stride",
                "block_size", "slot_mapping")
_LAUNCH_0_33 = ("num_reqs", "num_tokens", "max_num_tokens", "query_start_loc", "positions", "block_table",
                "block_table_stride", "slot_mapping", "kv_cache_block_size", "total_cp_world_size", "total_cp_rank",
                "cp_kv_cache_interleave_size")


class SlotMappingFallback(PythonTransform):
    """Compute the KV-cache slot mapping with torch where Triton is missing (Windows).

    Why:
    From 0.26 `BlockTable.compute_slot_mapping` launches a Triton kernel on every
    scheduling step. Triton has no official Windows build, and without it
    `vllm.triton_utils` gives a placeholder: the first step of every request fails.
    0.14.1 and 0.18.0 computed the mapping with numpy and need nothing.

    Pattern:
    In `vllm/v1/worker/block_table.py`, the statement that launches the slot-mapping
    kernel: `_compute_slot_mapping_kernel[grid](...)` (0.26: its positional
    arguments and the `KV_CACHE_BLOCK_SIZE=`, `BLOCKS_PER_KV_BLOCK=`, ... constants)
    or `_COMPUTE_SLOT_MAPPING_KERNEL(...)` (0.33: twelve positional arguments; it pads
    with the module's `PAD_SLOT_ID`). A launch with other arguments, or without a
    padding value the module binds, is reported.

    Rewrite:
    `if sys.platform == "win32" and not HAS_TRITON: _winport_compute_slot_mapping(...)`
    `else: <the launch as it was>`, with the function added once: the kernel's
    arithmetic with torch operations on the same tensors (request of each token by
    `searchsorted` over `query_start_loc`, the context-parallel ownership test, the
    block-table lookup, `PAD_SLOT_ID` padding to `max_num_tokens`). `HAS_TRITON` is
    imported from `vllm.triton_utils`. Linux, and Windows with a Triton build,
    launch the kernel as before. The GPU check in docs/verification.md compares the
    two bit for bit.

    Reported:
    The multi-group launch of model runner v2 (`_compute_slot_mappings_kernel[...]`
    in `vllm/v1/worker/gpu/block_table.py`, 0.33 and later; the only slot mapping in
    0.34): that runner launches a hundred other Triton kernels too, so a torch path for
    this one would not make it run; on Windows it needs a Triton build.
    """

    id = "runtime/slot-mapping-fallback"
    seed = "F2"
    summary = "the Triton slot-mapping kernel -> a torch computation of the same slots on Windows without Triton"
    globs = ("vllm/v1/worker/block_table.py", "vllm/v1/worker/gpu/block_table.py")
    triggers = ("_compute_slot_mapping_kernel", "_COMPUTE_SLOT_MAPPING_KERNEL", "_compute_slot_mappings_kernel")
    anchors = ("compute_slot_mapping", "COMPUTE_SLOT_MAPPING", NAME)
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Launches(ctx, _binds(wrapper.module, "PAD_SLOT_ID")))
        if not ctx.sites:
            return module
        module = add_helper(module, ctx, NAME, CODE, ("sys",))
        return _import_has_triton(ensure_import(module, "sys"))


def _binds(module: cst.Module, name: str) -> bool:
    """Whether a top-level import or assignment of ``module`` binds ``name``."""
    for stmt in module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.ImportFrom) and isinstance(small.names, (list, tuple)) and any(
                    (a.asname.name if a.asname else a.name).value == name for a in small.names  # type: ignore[union-attr]
                    if isinstance(a.asname.name if a.asname else a.name, cst.Name)):
                return True
            if isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == name
                                                     for t in small.targets):
                return True
    return False


def _import_has_triton(module: cst.Module) -> cst.Module:
    """``module`` importing ``HAS_TRITON`` from ``vllm.triton_utils`` beside what it imports from there."""
    for i, stmt in enumerate(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        imp = stmt.body[0]
        if isinstance(imp, cst.ImportFrom) and isinstance(imp.names, (list, tuple)) and imp.module is not None \
                and cst.Module([]).code_for_node(imp.module) == "vllm.triton_utils":
            if any(isinstance(a.name, cst.Name) and a.name.value == "HAS_TRITON" for a in imp.names):
                return module
            names = [*imp.names[:-1], imp.names[-1].with_changes(comma=cst.Comma(
                whitespace_after=cst.SimpleWhitespace(" "))), cst.ImportAlias(cst.Name("HAS_TRITON"))]
            body = list(module.body)
            body[i] = stmt.with_changes(body=[imp.with_changes(names=names)])
            return module.with_changes(body=body)
    return module.with_changes(body=[*module.body[:1], parse_statement(
        "from vllm.triton_utils import HAS_TRITON\n", module), *module.body[1:]])


def _programs(launch: cst.Subscript) -> str:
    """The code of the one-dimensional grid of ``kernel[(n,)]`` ("" if it is not one)."""
    if len(launch.slice) != 1 or not isinstance(launch.slice[0].slice, cst.Index):
        return ""
    grid = launch.slice[0].slice.value
    if isinstance(grid, cst.Tuple) and len(grid.elements) == 1:
        grid = grid.elements[0].value
    return cst.Module([]).code_for_node(grid)


class _Launches(PositionedTransformer):
    def __init__(self, ctx: Context, pad_bound: bool):
        super().__init__()
        self.ctx, self.pad_bound = ctx, pad_bound
        self.windows = 0  # inside the Windows branch this transform wrote

    def visit_If(self, node: cst.If) -> None:
        if NAME in self.module.code_for_node(node.body):
            self.windows += 1
            self.ctx.already(self.pos(node), "the slot mapping has its Windows path")

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        if NAME in self.module.code_for_node(original.body):
            self.windows -= 1
        return updated

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine) -> cst.BaseStatement:
        if self.windows or len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            return updated
        call = original.body[0].value
        if not isinstance(call, cst.Call):
            return updated
        func, code = call.func, self.module.code_for_node
        if isinstance(func, cst.Subscript) and code(func.value) == "_compute_slot_mappings_kernel":
            self.ctx.report(self.pos(original), "model runner v2's slot mappings: one of its many Triton kernels, "
                                                "no torch path; on Windows this runner needs a Triton build")
            return updated
        if isinstance(func, cst.Subscript) and code(func.value) == "_compute_slot_mapping_kernel":
            names, grid = _LAUNCH_0_26, _programs(func)
        elif isinstance(func, cst.Name) and func.value == "_COMPUTE_SLOT_MAPPING_KERNEL":
            names, grid = _LAUNCH_0_33, ""
        else:
            return updated
        positional = [a for a in call.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in call.args if a.keyword is not None}
        known = set(_KEYWORDS) | {"BLOCK_SIZE"}
        if len(positional) != len(names) or set(keywords) - known:
            self.ctx.report(self.pos(original), "a slot-mapping launch with arguments winport does not know: "
                                                "give it a path without Triton by hand")
            return updated
        args = {name: code(a.value) for name, a in zip(names, positional)}
        args.update({_KEYWORDS[k]: code(a.value) for k, a in keywords.items() if k in _KEYWORDS})
        if "num_reqs" not in args:  # 0.26: one program per request and one that pads
            args["num_reqs"] = grid[:-len(" + 1")] if grid.endswith(" + 1") else f"({grid}) - 1" if grid else ""
        if not args["num_reqs"] or "pad_id" not in args and (names is _LAUNCH_0_26 or not self.pad_bound):
            self.ctx.report(self.pos(original), "a slot-mapping launch whose grid or padding winport cannot read")
            return updated
        args.setdefault("pad_id", "PAD_SLOT_ID")  # what the launcher object pads with
        fallback = f"{NAME}(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"
        guard = parse_statement(GUARD.format(fallback=fallback), self.module)
        assert isinstance(guard, cst.If) and isinstance(guard.orelse, cst.Else)
        self.ctx.applied(self.pos(original), "slot-mapping kernel: a torch path where Triton is missing (Windows)")
        orelse = guard.orelse.with_changes(body=guard.orelse.body.with_changes(
            body=[updated.with_changes(leading_lines=())]))
        return guard.with_changes(leading_lines=updated.leading_lines, orelse=orelse)
