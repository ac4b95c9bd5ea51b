"""Compare, on a GPU, the KV-offload block copy's two paths in a ported release:
Linux's one `cuMemcpyBatchAsync` call and Windows' one `cuMemcpyAsync` per copy
(`runtime/memcpy-batch-serial`). Every destination buffer must be bit-identical
between the two paths and to the copy torch indexing makes.

    python tools/offload_copy_check.py --release 0.26.0=PATH/cuda_mem_ops.py \\
        --release 0.33.0=PATH/cuda_mem_ops.py [--json FILE]

PATH/cuda_mem_ops.py is `vllm/v1/simple_kv_offload/cuda_mem_ops.py` of a tree ported by
`winport rewrite`; it is loaded twice, once as on Linux and once with `sys.platform` read
as "win32" by the module, with small stand-ins for the three vLLM modules it imports
(`vllm.envs`, `vllm.logger`, `vllm.platforms`: CUDA, no descriptor cap). Host buffers are
pinned with the module's own `pin_tensor` (cudaHostRegister): plain memory, and a
file-backed shared mapping as the offload region uses. Needs torch with CUDA and
`cuda-bindings`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import mmap
import os
import sys
import tempfile
import time
import types
from pathlib import Path

BLOCKS = 40  # blocks per layer on each side


def stand_ins() -> None:
    """The vLLM modules cuda_mem_ops.py imports, as far as it uses them."""
    vllm = types.ModuleType("vllm")
    envs = types.ModuleType("vllm.envs")
    envs.VLLM_KV_OFFLOAD_MAX_BATCH_DESCRIPTORS = 0  # type: ignore[attr-defined]
    logger = types.ModuleType("vllm.logger")
    logger.init_logger = logging.getLogger  # type: ignore[attr-defined]
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = types.SimpleNamespace(is_rocm=lambda: False)  # type: ignore[attr-defined]
    vllm.envs, vllm.logger, vllm.platforms = envs, logger, platforms  # type: ignore[attr-defined]
    sys.modules.update({"vllm": vllm, "vllm.envs": envs, "vllm.logger": logger, "vllm.platforms": platforms})


def load(path: Path, name: str, windows: bool):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if windows:
        if not hasattr(module, "_winport_memcpy_serial"):
            raise SystemExit(f"{path}: not ported (no _winport_memcpy_serial); run winport rewrite first")
        module.sys = types.SimpleNamespace(platform="win32")  # what the guard reads
    return module


class Host:
    """Pinned host buffers of one kind: 'pinned' (plain memory) or 'pinned-file' (a shared file mapping)."""

    def __init__(self, kind: str, mod, folder: Path):
        self.kind, self.mod, self.folder = kind, mod, folder
        self.keep: list = []

    def empty(self, nbytes: int):
        import torch

        if self.kind == "pinned":
            t = torch.empty(nbytes, dtype=torch.uint8)
        else:
            path = self.folder / f"region{len(self.keep)}.bin"
            with open(path, "wb") as f:
                f.truncate(nbytes)
            f = open(path, "r+b")
            m = mmap.mmap(f.fileno(), nbytes)
            self.keep.append((f, m))
            t = torch.frombuffer(m, dtype=torch.uint8)
        self.mod.pin_tensor(t)
        self.keep.append(t)
        return t

    def release(self) -> None:
        import torch

        for item in self.keep:
            if isinstance(item, torch.Tensor):
                torch.cuda.cudart().cudaHostUnregister(item.data_ptr())
        for item in self.keep:
            if isinstance(item, tuple):
                del item  # the mapping closes with its last tensor
        self.keep.clear()


def caches(layers: int, bpb: int, device: str, host: Host | None, gen):
    """``layers`` caches of BLOCKS blocks of ``bpb`` bytes, random contents."""
    import torch

    out = {}
    for i in range(layers):
        if device == "cuda":
            t = torch.empty(BLOCKS * bpb, dtype=torch.uint8, device="cuda")
        else:
            t = host.empty(BLOCKS * bpb)
        t.copy_(torch.randint(0, 256, (BLOCKS * bpb,), dtype=torch.uint8, generator=gen))
        out[f"layer.{i}"] = t.view(BLOCKS, bpb)
    return out


def run_case(mods: dict, release: str, layers: int, bpb: int, count: int, directions: list[str], host_kind: str,
             folder: Path, seed: int) -> dict:
    import torch

    gen = torch.Generator().manual_seed(seed)
    picked = torch.randperm(BLOCKS, generator=gen)
    results: dict[str, list] = {}
    timings: dict[str, float] = {}
    for path_name, mod in mods.items():
        host = Host(host_kind, mod, folder)
        gen.manual_seed(seed)  # the same buffers and block ids for both paths
        gpu = caches(layers, bpb, "cuda", None, gen)
        cpu = caches(layers, bpb, "cpu", host, gen)
        stream = torch.cuda.Stream()
        finals = []
        expected = []
        start = time.perf_counter()
        for step, direction in enumerate(directions):
            src, dst = (gpu, cpu) if direction == "gpu->cpu" else (cpu, gpu)
            src_ids = picked[:count].tolist()
            dst_ids = torch.roll(picked, step + 1)[:count].tolist()
            want = {k: v.to("cpu", copy=True) for k, v in dst.items()}
            for k in want:
                if count:
                    want[k][dst_ids] = src[k].to("cpu")[src_ids]
            torch.cuda.synchronize()
            params = mod.build_params(src, dst, stream)
            mod.copy_blocks(src_ids, dst_ids, params)
            stream.synchronize()
            expected.append(all(torch.equal(want[k], dst[k].to("cpu")) for k in want))
        timings[path_name] = time.perf_counter() - start
        finals = [t.to("cpu").clone() for t in [*gpu.values(), *cpu.values()]]
        results[path_name] = [finals, expected]
        host.release()
    linux, windows = results["linux"], results["windows"]
    identical = all(torch.equal(a, b) for a, b in zip(linux[0], windows[0]))
    return {"release": release, "layers": layers, "bytes_per_block": bpb, "blocks": count,
            "directions": directions, "host": host_kind, "identical": identical,
            "linux_matches_reference": all(linux[1]), "windows_matches_reference": all(windows[1]),
            "seconds": {k: round(v, 6) for k, v in timings.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", action="append", required=True, metavar="VERSION=PATH")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    stand_ins()
    shapes = [(1, 16, 1), (1, 4096, 7), (3, 2048, 0), (3, 65536, 16), (2, 528, 40), (4, 12288, 33)]
    plans = [["gpu->cpu"], ["cpu->gpu"], ["gpu->cpu", "cpu->gpu", "gpu->cpu"]]
    cases = []
    unavailable: list[str] = []
    # the file mapping lives where the offload region keeps it on Linux: /dev/shm
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        for spec in args.release:
            release, _, path = spec.partition("=")
            mods = {"linux": load(Path(path), f"cuda_mem_ops_{release}_linux".replace(".", "_"), False),
                    "windows": load(Path(path), f"cuda_mem_ops_{release}_windows".replace(".", "_"), True)}
            seed = 0
            for host_kind in ("pinned", "pinned-file"):
                for layers, bpb, count in shapes:
                    for directions in plans:
                        seed += 1
                        if any(u.startswith(f"{release} {host_kind}:") for u in unavailable):
                            continue
                        try:
                            case = run_case(mods, release, layers, bpb, count, directions, host_kind, Path(tmp),
                                            seed)
                        except RuntimeError as e:  # cudaHostRegister refused this memory on this machine
                            if "cudaHostRegister" not in str(e):
                                raise
                            unavailable.append(f"{release} {host_kind}: {e}")
                            print(f"{release} {host_kind:11} not available here: {e}", flush=True)
                            continue
                        cases.append(case)
                        ok = case["identical"] and case["linux_matches_reference"] and case["windows_matches_reference"]
                        print(f"{release} {host_kind:11} layers={layers} bpb={bpb:6} blocks={count:2} "
                              f"{'+'.join(directions):26} {'identical' if ok else 'DIFFERENT'}", flush=True)
    bad = [c for c in cases if not (c["identical"] and c["linux_matches_reference"] and c["windows_matches_reference"])]
    summary = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cases": len(cases),
               "identical": len(cases) - len(bad), "different": len(bad), "unavailable": unavailable}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "cases": cases}, indent=1) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
