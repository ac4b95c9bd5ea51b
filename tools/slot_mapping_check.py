"""Compare, on a GPU, a release's Triton slot-mapping kernel with winport's torch path
(`runtime/slot-mapping-fallback`) on generated batches: the whole slot-mapping buffer
must be bit-identical.

    python tools/slot_mapping_check.py --release 0.26.0=PATH/block_table.py \\
        --release 0.33.0=PATH/block_table.py [--cases 400] [--json FILE]

PATH/block_table.py is the release's own `vllm/v1/worker/block_table.py` (from its sdist:
`winport fetch VERSION DIR`); the kernel is taken from it as it is, the torch path from
the transform's source. Needs torch with CUDA and triton; nothing of vLLM is imported.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import random
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAD = -1


def fallback():
    """winport's torch path, from the transform's helper code."""
    tree = ast.parse((ROOT / "transforms/runtime/slot_mapping_fallback.py").read_text())
    code = next(n.value.value for n in tree.body if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "CODE" for t in n.targets))
    namespace: dict = {}
    exec(compile(code, "slot_mapping_fallback.CODE", "exec"), namespace)
    return namespace["_winport_compute_slot_mapping"]


def kernel(path: Path, folder: Path):
    """The release's Triton kernel (module-level `_compute_slot_mapping_kernel`, or the
    `kernel` of `ComputeSlotMappingKernel`), compiled from its own source, and whether it
    takes the table's block size and `BLOCKS_PER_KV_BLOCK` (0.26)."""
    source = path.read_text()
    tree = ast.parse(source)
    found = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_compute_slot_mapping_kernel":
            found = node
        if isinstance(node, ast.ClassDef) and node.name == "ComputeSlotMappingKernel":
            found = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "kernel")
    if found is None:
        raise SystemExit(f"{path}: no slot-mapping kernel")
    lines = source.splitlines()[found.lineno - 1:found.end_lineno]
    body = textwrap.dedent("\n".join(lines))
    module = folder / f"slot_kernel_{abs(hash(str(path)))}.py"
    module.write_text("import triton\nimport triton.language as tl\n\n\n"
                      "@triton.jit(do_not_specialize=['num_tokens', 'max_num_tokens'])\n" + body + "\n")
    spec = importlib.util.spec_from_file_location(module.stem, module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = [a.arg for a in found.args.args]
    return getattr(mod, found.name), "BLOCKS_PER_KV_BLOCK" in args


def batch(rng: random.Random, hybrid: bool, index: int):
    """One generated batch: (parameters, query_start_loc, positions, block table)."""
    import torch

    kv = rng.choice([16, 32, 64])
    per_kv = rng.choice([1, 2, 4]) if hybrid else 1
    world = rng.choice([1, 1, 2, 4])
    rank = rng.randrange(world)
    interleave = rng.choice([d for d in (1, 2, 4, kv) if kv % d == 0])
    edge = index % 6  # every sixth case of each kind: none, empty, one token, long, crossing, mixed
    num_reqs = 0 if edge == 0 else rng.randint(1, 12)
    lengths = []
    for _ in range(num_reqs):
        kind = rng.random()
        lengths.append(0 if edge == 1 and kind < 0.5 else 1 if edge == 2 or kind < 0.2 else
                       rng.randint(600, 1500) if edge == 3 else rng.randint(1, 200))
    starts = [rng.randint(0, 3000) for _ in lengths]  # tokens already in the cache
    if edge == 4:  # each request starts just before a block boundary
        starts = [max(0, (s // kv + 1) * kv * world - rng.randint(1, 3)) for s in starts]
    qsl = [0]
    for n in lengths:
        qsl.append(qsl[-1] + n)
    positions = [s + i for s, n in zip(starts, lengths) for i in range(n)]
    num_tokens = len(positions)
    max_tokens = num_tokens + rng.choice([0, 1, 7, 100])
    top = max([p for p in positions] + [0])
    blocks = (top // (kv * world) + 1) * per_kv + 1
    rows = max(num_reqs, 1) + rng.randint(0, 3)
    table = torch.randint(0, 1 << 20, (rows, blocks + rng.randint(0, 5)), dtype=torch.int32)
    params = dict(kv=kv, per_kv=per_kv, world=world, rank=rank, interleave=interleave, num_reqs=num_reqs,
                  num_tokens=num_tokens, max_tokens=max_tokens, edge=edge)
    return params, torch.tensor(qsl, dtype=torch.int32), torch.tensor(positions, dtype=torch.int64), table


def run(release: str, path: Path, cases: int, folder: Path, seed: int) -> dict:
    import torch

    launch, hybrid = kernel(path, folder)
    torch_path = fallback()
    rng = random.Random(seed)
    mismatches, tokens, kinds = [], 0, {}
    for i in range(cases):
        p, qsl, pos, table = batch(rng, hybrid, i)
        qsl, pos, table = qsl.cuda(), pos.cuda(), table.cuda()
        buffers = [torch.full((max(p["max_tokens"], 1),), -7777, dtype=torch.int64, device="cuda") for _ in (0, 1)]
        block_size = p["kv"] // p["per_kv"]
        if hybrid:
            launch[(p["num_reqs"] + 1,)](p["num_tokens"], p["max_tokens"], qsl, pos, table, table.stride(0),
                                        block_size, buffers[0], KV_CACHE_BLOCK_SIZE=p["kv"],
                                        BLOCKS_PER_KV_BLOCK=p["per_kv"], TOTAL_CP_WORLD_SIZE=p["world"],
                                        TOTAL_CP_RANK=p["rank"], CP_KV_CACHE_INTERLEAVE_SIZE=p["interleave"],
                                        PAD_ID=PAD, BLOCK_SIZE=1024)
        else:
            launch[(p["num_reqs"] + 1,)](p["num_tokens"], p["max_tokens"], qsl, pos, table, table.stride(0),
                                        buffers[0], KV_CACHE_BLOCK_SIZE=p["kv"], TOTAL_CP_WORLD_SIZE=p["world"],
                                        TOTAL_CP_RANK=p["rank"], CP_KV_CACHE_INTERLEAVE_SIZE=p["interleave"],
                                        PAD_ID=PAD, BLOCK_SIZE=1024)
        torch_path(p["num_reqs"], p["num_tokens"], p["max_tokens"], qsl, pos, table, table.stride(0), buffers[1],
                   p["kv"], p["world"], p["rank"], p["interleave"], PAD,
                   block_size=block_size, blocks_per_kv_block=p["per_kv"])
        torch.cuda.synchronize()
        tokens += p["num_tokens"]
        kind = ["no request", "empty requests", "one-token requests", "long prefills", "block crossings",
                "mixed"][p["edge"]]
        kinds[kind] = kinds.get(kind, 0) + 1
        if p["world"] > 1:
            kinds["context parallel (world > 1)"] = kinds.get("context parallel (world > 1)", 0) + 1
        if not torch.equal(buffers[0], buffers[1]):
            differ = (buffers[0] != buffers[1]).nonzero().flatten()[:5].tolist()
            mismatches.append({"case": i, **p, "first_differing_slots": differ})
    return {"release": release, "kernel_file": "vllm/v1/worker/block_table.py", "hybrid_block_sizes": hybrid,
            "cases": cases, "tokens": tokens, "kinds": kinds, "bit_identical": cases - len(mismatches),
            "mismatches": mismatches[:10], "device": torch.cuda.get_device_name()}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--release", action="append", required=True, metavar="VERSION=PATH")
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.release:
            version, _, path = item.partition("=")
            result = run(version, Path(path), args.cases, Path(tmp), args.seed)
            results.append(result)
            print(f"{version}: {result['bit_identical']}/{result['cases']} batches bit-identical "
                  f"({result['tokens']} tokens; {result['kinds']})")
    if args.json:
        args.json.write_text(json.dumps({"check": "slot mapping: Triton kernel vs winport's torch path",
                                         "results": results}, indent=2) + "\n")
    return 0 if all(r["bit_identical"] == r["cases"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
