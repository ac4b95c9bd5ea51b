"""winport's torch path for the slot mapping (runtime/slot-mapping-fallback) against a
plain per-token reading of the Triton kernel's arithmetic, on the CPU. The GPU check
(tools/slot_mapping_check.py) compares it with the releases' own kernels."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from slot_mapping_check import PAD, batch, fallback  # noqa: E402


def reference(p, qsl, positions, table):
    """The kernel, token by token: request r's tokens [qsl[r], qsl[r+1]) at their positions."""
    out = [-7777] * max(p["max_tokens"], 1)
    block_size = p["kv"] // p["per_kv"]
    flat = table.flatten().tolist()
    stride = table.stride(0)
    for i in range(p["num_tokens"], p["max_tokens"]):
        out[i] = PAD
    for r in range(p["num_reqs"]):
        for t in range(int(qsl[r]), int(qsl[r + 1])):
            pos = int(positions[t])
            vbs = p["kv"] * p["world"]
            vbi, vbo = pos // vbs, pos % vbs
            if (vbo // p["interleave"]) % p["world"] != p["rank"]:
                out[t] = PAD
                continue
            lbo = (vbo // (p["world"] * p["interleave"])) * p["interleave"] + vbo % p["interleave"]
            number = flat[r * stride + vbi * p["per_kv"] + lbo // block_size]
            out[t] = number * block_size + lbo % block_size
    return out


@pytest.mark.parametrize("hybrid", [False, True], ids=["0.33-shape", "0.26-shape"])
def test_torch_path_equals_the_kernels_arithmetic(hybrid):
    rng, compute = random.Random(7), fallback()
    for i in range(60):
        p, qsl, positions, table = batch(rng, hybrid, i)
        got = torch.full((max(p["max_tokens"], 1),), -7777, dtype=torch.int64)
        compute(p["num_reqs"], p["num_tokens"], p["max_tokens"], qsl, positions, table, table.stride(0), got,
                p["kv"], p["world"], p["rank"], p["interleave"], PAD, block_size=p["kv"] // p["per_kv"],
                blocks_per_kv_block=p["per_kv"])
        assert got.tolist() == reference(p, qsl, positions, table), (i, p)
