"""Run kernels of a ported tree against the pristine ones on a GPU; outputs must be
bit-identical.

    python tools/gpu_equivalence.py --pristine DIR --ported DIR [--seeds 3] [--json FILE]

Builds, with PyTorch's extension builder, one extension from each tree holding
these vLLM sources (v0.14.1 signatures) and a small binding of their host functions:

- ``csrc/mamba/mamba_ssm/selective_scan_fwd.cu`` (K2: the nested BOOL_SWITCH
  dispatch): every combination of even length / has z / varlen, three input dtypes;
- ``csrc/quantization/activation_kernels.cu`` (K3: ``__int128_t`` shared-memory
  vectors, designated initialisers): ``persistent_masked_m_silu_mul_quant`` with both
  warp configurations and both scale modes, and ``silu_and_mul_quant``;
- ``csrc/attention/merge_attn_states.cu`` (K8/K9): fp32/fp16/bf16, with ``+inf`` and
  ``-inf`` log-sum-exp entries, with and without ``output_lse``;

and a third pair of extensions with one kernel calling ``next_pow_2`` of
``csrc/core/math.hpp`` (K4). The ported header is included with ``_MSC_VER`` defined,
so the kernel runs the portable clz that MSVC builds get; it is compared with the
pristine ``__builtin_clz`` form on every one of the 2^32 inputs.

Each case runs both extensions on the same inputs (every tensor argument cloned) and
compares every tensor argument afterwards, byte for byte. Exit status 1 on any
difference.

``--suite classes`` checks the kernels of the classes beyond the seed instead, on
the trees given (``--pristine``/``--ported`` repeated, one pair per release): each
kernel comes from the first pair whose tree has it in the shape the suite knows.

- ``csrc/moe/grouped_topk_kernels.cu`` with the PyTorch-tensor ``grouped_topk``
  (0.18.0; C2: ``__attribute((aligned(128)))`` shared arrays -> ``alignas(128)``):
  softmax and sigmoid scoring, one group and grouped (DeepSeek-V3's 256 experts in
  8 groups), fp32/fp16/bf16 scores, renormalised or not;
- ``csrc/moe/topk_softplus_sqrt_kernels.cu`` (0.26.0+; C1: ``DISPATCH_HASH`` with
  ``#ifndef USE_ROCM`` in its argument, repeated per branch): bf16 gating, with and
  without the hash routing (``use_hash`` picks the macro's branch), several expert
  counts, with and without a correction bias, through the launcher's raw pointers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

KERNEL_SOURCES = ("csrc/mamba/mamba_ssm/selective_scan_fwd.cu", "csrc/quantization/activation_kernels.cu",
                  "csrc/attention/merge_attn_states.cu")

BINDINGS = r"""
#include <optional>
#include <torch/extension.h>

void merge_attn_states(torch::Tensor& output, std::optional<torch::Tensor> output_lse,
                       const torch::Tensor& prefix_output, const torch::Tensor& prefix_lse,
                       const torch::Tensor& suffix_output, const torch::Tensor& suffix_lse);
void silu_and_mul_quant(torch::Tensor& out, torch::Tensor& input, torch::Tensor& scale);
void persistent_masked_m_silu_mul_quant(const at::Tensor& input, const at::Tensor& tokens_per_expert,
                                        at::Tensor& y_q, at::Tensor& y_s, bool cast_scale_ue8m0);
void selective_scan_fwd(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                        const torch::Tensor& B, const torch::Tensor& C, const std::optional<torch::Tensor>& D_,
                        const std::optional<torch::Tensor>& z_, const std::optional<torch::Tensor>& delta_bias_,
                        bool delta_softplus, const std::optional<torch::Tensor>& query_start_loc,
                        const std::optional<torch::Tensor>& cache_indices,
                        const std::optional<torch::Tensor>& has_initial_state, const torch::Tensor& ssm_states,
                        int64_t pad_slot_id, int64_t block_size,
                        const std::optional<torch::Tensor>& block_idx_first_scheduled_token,
                        const std::optional<torch::Tensor>& block_idx_last_scheduled_token,
                        const std::optional<torch::Tensor>& initial_state_idx);

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("merge_attn_states", [](torch::Tensor o, std::optional<torch::Tensor> lse, torch::Tensor po,
                                torch::Tensor pl, torch::Tensor so, torch::Tensor sl) {
    merge_attn_states(o, lse, po, pl, so, sl);
  });
  m.def("silu_and_mul_quant", [](torch::Tensor out, torch::Tensor input, torch::Tensor scale) {
    silu_and_mul_quant(out, input, scale);
  });
  m.def("persistent_masked_m_silu_mul_quant", [](torch::Tensor input, torch::Tensor counts, torch::Tensor y_q,
                                                 torch::Tensor y_s, bool ue8m0) {
    persistent_masked_m_silu_mul_quant(input, counts, y_q, y_s, ue8m0);
  });
  m.def("selective_scan_fwd", [](torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor B,
                                 torch::Tensor C, std::optional<torch::Tensor> D, std::optional<torch::Tensor> z,
                                 std::optional<torch::Tensor> delta_bias, bool softplus,
                                 std::optional<torch::Tensor> qsl, torch::Tensor ssm_states) {
    selective_scan_fwd(u, delta, A, B, C, D, z, delta_bias, softplus, qsl, std::nullopt, std::nullopt, ssm_states,
                       -1, 1024, std::nullopt, std::nullopt, std::nullopt);
  });
}
"""

CLZ_KERNEL = r"""
#include <climits>
#include <cstdint>
#include <iostream>
#include <torch/extension.h>
// The ported header's portable branch is what MSVC compiles; select it here.
#define _MSC_VER 1940
#include "core/math.hpp"
#undef _MSC_VER

__global__ void next_pow_2_kernel(uint32_t start, uint32_t count, uint32_t* out) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) out[i] = next_pow_2(start + i);
}

torch::Tensor next_pow_2_range(int64_t start, int64_t count) {
  auto out = torch::empty({count}, torch::dtype(torch::kInt32).device(torch::kCUDA));
  next_pow_2_kernel<<<(count + 255) / 256, 256>>>(static_cast<uint32_t>(start), static_cast<uint32_t>(count),
                                                 reinterpret_cast<uint32_t*>(out.data_ptr<int32_t>()));
  return out;
}

torch::Tensor next_pow_2_host(torch::Tensor xs) {
  auto out = torch::empty_like(xs);
  auto in = xs.data_ptr<int32_t>();
  auto o = out.data_ptr<int32_t>();
  for (int64_t i = 0; i < xs.numel(); ++i) o[i] = static_cast<int32_t>(next_pow_2(static_cast<uint32_t>(in[i])));
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("next_pow_2_range", &next_pow_2_range);
  m.def("next_pow_2_host", &next_pow_2_host);
}
"""


GROUPED_TOPK_WRAPPER = r"""
#include <torch/extension.h>
#include "moe/grouped_topk_kernels.cu"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("grouped_topk", &grouped_topk); }
"""

# the stable-ABI file is reached through its launcher's raw pointers: no tensor crosses
SOFTPLUS_WRAPPER = r"""
#include <pybind11/pybind11.h>
#include "moe/topk_softplus_sqrt_kernels.cu"

static void softplus(int64_t input, int64_t weights, int64_t indices, int64_t token_expert, int tokens,
                     int experts, int topk, bool renormalize, double scale, int64_t bias, bool use_hash,
                     int64_t input_ids, int64_t tid2eid) {
  vllm::moe::topkGatingSoftplusSqrtKernelLauncher<int, __nv_bfloat16, int>(
      reinterpret_cast<const __nv_bfloat16*>(input), reinterpret_cast<float*>(weights),
      reinterpret_cast<int*>(indices), reinterpret_cast<int*>(token_expert), tokens, experts, topk, renormalize,
      scale, reinterpret_cast<const float*>(bias), use_hash, reinterpret_cast<const int*>(input_ids),
      reinterpret_cast<const int*>(tid2eid), 0, nullptr, nullptr, 0);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("softplus", &softplus); }
"""

# kernel: (source, text the source must hold, wrapper)
CLASS_KERNELS = {
    "grouped_topk": ("csrc/moe/grouped_topk_kernels.cu", "std::tuple<torch::Tensor, torch::Tensor> grouped_topk(",
                     GROUPED_TOPK_WRAPPER),
    "topk_softplus_sqrt": ("csrc/moe/topk_softplus_sqrt_kernels.cu", "DISPATCH_HASH(", SOFTPLUS_WRAPPER),
}


def build(name: str, tree: str, sources: list[str], work: str, verbose: bool, std: str = "c++17",
          defines: tuple[str, ...] = ()):
    from torch.utils.cpp_extension import load

    build_dir = os.path.join(work, name)
    os.makedirs(build_dir, exist_ok=True)
    # ENABLE_FP8: what cmake/utils.cmake (get_torch_gpu_compiler_flags) adds for CUDA >= 11.8
    flags = ["-O3", f"-std={std}", "-DENABLE_FP8", *defines, "--expt-relaxed-constexpr", "--expt-extended-lambda", "-w",
             "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
             "-U__CUDA_NO_BFLOAT16_CONVERSIONS__", "-U__CUDA_NO_HALF2_OPERATORS__"]
    return load(name=name, sources=sources, build_directory=build_dir, verbose=verbose,
                extra_include_paths=[os.path.join(tree, "csrc")], extra_cflags=["-O3", f"-std={std}", *defines],
                extra_cuda_cflags=flags)


def build_all(pristine: str, ported: str, work: str, verbose: bool) -> dict:
    bind = os.path.join(work, "bindings.cpp")
    clz = os.path.join(work, "clz_kernel.cu")
    with open(bind, "w") as fh:
        fh.write(BINDINGS)
    with open(clz, "w") as fh:
        fh.write(CLZ_KERNEL)
    jobs = {}
    for tag, tree in (("pristine", pristine), ("ported", ported)):
        jobs[f"{tag}_kernels"] = (tree, [bind] + [os.path.join(tree, s) for s in KERNEL_SOURCES])
        jobs[f"{tag}_clz"] = (tree, [clz])
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(build, f"winport_{name}", tree, srcs, work, verbose)
                   for name, (tree, srcs) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def build_classes(pairs: list[tuple[str, str]], work: str, verbose: bool) -> tuple[dict, dict]:
    """Both extensions of every class kernel some pair's tree has: ({name: module},
    {kernel: the pristine tree it came from})."""
    jobs, origin = {}, {}
    for kernel, (source, marker, wrapper) in CLASS_KERNELS.items():
        pair = next((p for p in pairs if marker in _read(os.path.join(p[0], source))), None)
        if pair is None:
            print(f"{kernel}: no tree given has {source} in the shape this suite knows; not run")
            continue
        origin[kernel] = pair[0]
        for tag, tree in zip(("pristine", "ported"), pair):
            unit = os.path.join(work, f"{kernel}_{tag}.cu")
            with open(unit, "w") as fh:
                fh.write(wrapper)
            jobs[f"{tag}_{kernel}"] = (tree, [unit])
    # C++20 for every release: PyTorch's newer headers ask for it, and pristine and ported
    # build alike; USE_CUDA declares the CUDA parts of the stable ABI's shim
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        futures = {name: pool.submit(build, f"winport_{name}", tree, srcs, work, verbose, "c++20", ("-DUSE_CUDA",))
                   for name, (tree, srcs) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}, origin


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return ""


def same_bytes(a, b) -> bool:
    import torch

    a, b = a.contiguous(), b.contiguous()
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.view(torch.uint8), b.view(torch.uint8))


class Runner:
    """Runs one case through both extensions and compares every tensor argument after."""

    def __init__(self, mods: dict):
        self.mods = mods
        self.results: dict[str, dict] = {}

    def record(self, kernel: str, label: str, ok: bool, wrote: bool) -> None:
        r = self.results.setdefault(kernel, {"cases": 0, "identical": 0, "wrote": 0, "differences": []})
        r["cases"] += 1
        r["identical"] += ok
        r["wrote"] += wrote
        if not ok:
            r["differences"].append(label)

    def case(self, kernel: str, label: str, fn_name: str, args: list, suffix: str = "kernels"):
        import torch

        outs = []
        for tag in ("pristine", "ported"):
            call = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
            getattr(self.mods[f"{tag}_{suffix}"], fn_name)(*call)
            torch.cuda.synchronize()
            outs.append([a for a in call if isinstance(a, torch.Tensor)])
        ok = all(same_bytes(a, b) for a, b in zip(*outs))
        # a kernel that never ran would also give identical outputs: count the cases that wrote
        wrote = any(not same_bytes(a, b) for a, b in zip([a for a in args if isinstance(a, torch.Tensor)], outs[0]))
        self.record(kernel, label, ok, wrote)
        return ok


def run_merge_attn_states(run: Runner, seeds: int):
    import torch

    for seed in range(seeds):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            for tokens, heads, size in ((1, 8, 64), (7, 16, 128), (256, 32, 128), (33, 4, 256)):
                for with_lse in (True, False):
                    g = torch.Generator(device="cuda").manual_seed(seed)
                    po = torch.randn(tokens, heads, size, device="cuda", dtype=dtype, generator=g)
                    so = torch.randn(tokens, heads, size, device="cuda", dtype=dtype, generator=g)
                    pl = torch.randn(heads, tokens, device="cuda", generator=g) * 4
                    sl = torch.randn(heads, tokens, device="cuda", generator=g) * 4
                    # infinite LSE entries: +inf, -inf on one side, and both sides -inf
                    pl.view(-1)[:: 5] = float("inf")
                    sl.view(-1)[1:: 7] = float("-inf")
                    pl.view(-1)[2:: 11] = float("-inf")
                    sl.view(-1)[2:: 11] = float("-inf")
                    out = torch.zeros_like(po)
                    lse = torch.zeros(heads, tokens, device="cuda") if with_lse else None
                    run.case("merge_attn_states", f"seed {seed} {dtype} {tokens}x{heads}x{size} lse={with_lse}",
                             "merge_attn_states", [out, lse, po, pl, so, sl])


def run_activation(run: Runner, seeds: int):
    import torch

    for seed in range(seeds):
        for experts, tokens, hidden in ((2, 16, 256), (8, 64, 512), (4, 32, 4096), (3, 40, 7168)):
            for ue8m0 in (False, True):
                g = torch.Generator(device="cuda").manual_seed(seed)
                x = torch.randn(experts, tokens, 2 * hidden, device="cuda", dtype=torch.bfloat16, generator=g)
                counts = torch.randint(0, tokens + 1, (experts,), device="cuda", dtype=torch.int32, generator=g)
                y_q = torch.zeros(experts, tokens, hidden, device="cuda", dtype=torch.float8_e4m3fn)
                y_s = torch.zeros(experts, tokens, hidden // 128, device="cuda", dtype=torch.float32)
                run.case("persistent_masked_m_silu_mul_quant",
                         f"seed {seed} E{experts} T{tokens} H{hidden} ue8m0={ue8m0}",
                         "persistent_masked_m_silu_mul_quant", [x, counts, y_q, y_s, ue8m0])
        for dtype in (torch.float16, torch.bfloat16):
            for tokens, d in ((1, 128), (19, 1024), (128, 4096)):
                g = torch.Generator(device="cuda").manual_seed(seed)
                x = torch.randn(tokens, 2 * d, device="cuda", dtype=dtype, generator=g)
                scale = torch.rand(1, device="cuda", generator=g) + 0.5
                out = torch.zeros(tokens, d, device="cuda", dtype=torch.float8_e4m3fn)
                run.case("silu_and_mul_quant", f"seed {seed} {dtype} {tokens}x{d}", "silu_and_mul_quant",
                         [out, x, scale])


def run_selective_scan(run: Runner, seeds: int):
    import torch

    # seqlen 128/256 are multiples of the kernel's chunk (even length); 100/200 are not
    for seed in range(seeds):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            for seqlen in (128, 100, 256, 200):
                for has_z in (True, False):
                    for varlen in (True, False):
                        g = torch.Generator(device="cuda").manual_seed(seed)
                        batch, dim, dstate, groups = 3, 64, 16, 1
                        r = lambda *s, dt=dtype: torch.randn(*s, device="cuda", dtype=dt, generator=g)  # noqa: E731
                        A = -torch.rand(dim, dstate, device="cuda", generator=g) - 0.1
                        D, bias = r(dim, dt=torch.float32), r(dim, dt=torch.float32)
                        if varlen:
                            u, delta = r(dim, seqlen), r(dim, seqlen).abs()
                            B, C = r(groups, dstate, seqlen), r(groups, dstate, seqlen)
                            z = r(dim, seqlen) if has_z else None
                            cuts = sorted(torch.randint(1, seqlen, (batch - 1,), generator=torch.Generator()
                                                        .manual_seed(seed)).tolist())
                            qsl = torch.tensor([0, *cuts, seqlen], device="cuda", dtype=torch.int32)
                        else:
                            u, delta = r(batch, dim, seqlen), r(batch, dim, seqlen).abs()
                            B, C = r(batch, groups, dstate, seqlen), r(batch, groups, dstate, seqlen)
                            z = r(batch, dim, seqlen) if has_z else None
                            qsl = None
                        states = torch.zeros(batch, dim, dstate, device="cuda", dtype=dtype)
                        run.case("selective_scan_fwd",
                                 f"seed {seed} {dtype} L{seqlen} z={has_z} varlen={varlen}",
                                 "selective_scan_fwd", [u, delta, A, B, C, D, z, bias, True, qsl, states])


def run_clz(run: Runner, seeds: int) -> None:
    import torch

    r = run.results.setdefault("next_pow_2 (K4)", {"cases": 0, "identical": 0, "differences": [], "inputs": 0})
    r["distinct_outputs"] = 0
    chunk = 1 << 28
    for start in range(0, 1 << 32, chunk):
        a = run.mods["pristine_clz"].next_pow_2_range(start, chunk)
        b = run.mods["ported_clz"].next_pow_2_range(start, chunk)
        ok = torch.equal(a, b)
        r["distinct_outputs"] = max(r["distinct_outputs"], int(torch.unique(a).numel()))
        r["cases"] += 1
        r["identical"] += ok
        r["inputs"] += chunk
        if not ok:
            bad = (a != b).nonzero()[:3].flatten().tolist()
            r["differences"].append(f"device inputs {[start + i for i in bad]}")
    g = torch.Generator().manual_seed(seeds)
    xs = torch.cat([torch.arange(0, 1 << 20, dtype=torch.int64), torch.randint(0, 1 << 32, (1 << 22,), generator=g)])
    xs = ((xs + (1 << 31)) % (1 << 32) - (1 << 31)).to(torch.int32)  # the uint32 bit patterns
    a = run.mods["pristine_clz"].next_pow_2_host(xs)
    b = run.mods["ported_clz"].next_pow_2_host(xs)
    r["cases"] += 1
    r["identical"] += torch.equal(a, b)
    r["inputs"] += xs.numel()
    if not torch.equal(a, b):
        r["differences"].append("host")


def run_grouped_topk(run: Runner, seeds: int) -> None:
    import torch

    for seed in range(seeds):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            # (experts, n_group, topk_group, topk): DeepSeek-V3, a one-group case, a small grouped one
            for experts, n_group, topk_group, topk in ((256, 8, 4, 8), (128, 1, 1, 8), (64, 4, 2, 6)):
                for tokens in (1, 37, 512):
                    for scoring in (0, 1):
                        for renormalize in (True, False):
                            g = torch.Generator(device="cuda").manual_seed(seed)
                            scores = torch.randn(tokens, experts, device="cuda", dtype=dtype, generator=g)
                            bias = torch.randn(experts, device="cuda", dtype=dtype, generator=g) * 0.1
                            outs = []
                            for tag in ("pristine", "ported"):
                                mod = run.mods[f"{tag}_grouped_topk"]
                                values, indices = mod.grouped_topk(scores.clone(), n_group, topk_group, topk,
                                                                   renormalize, 2.5, bias.clone(), scoring)
                                torch.cuda.synchronize()
                                outs.append((values, indices))
                            ok = all(same_bytes(a, b) for a, b in zip(*outs))
                            wrote = bool(outs[0][0].abs().sum() > 0)
                            run.record("grouped_topk", f"seed {seed} {dtype} E{experts} g{n_group}/{topk_group} "
                                       f"k{topk} T{tokens} sf{scoring} renorm={renormalize}", ok, wrote)


def run_topk_softplus(run: Runner, seeds: int) -> None:
    import torch

    vocab = 1000
    for seed in range(seeds):
        for experts, topk in ((64, 6), (128, 8), (256, 8), (384, 6)):
            for tokens in (1, 33, 300):
                for use_hash in (False, True):
                    for with_bias in (False, True):
                        for renormalize in (True, False):
                            g = torch.Generator(device="cuda").manual_seed(seed)
                            x = torch.randn(tokens, experts, device="cuda", dtype=torch.bfloat16, generator=g)
                            bias = torch.randn(experts, device="cuda", generator=g) * 0.1 if with_bias else None
                            ids = torch.randint(0, vocab, (tokens,), device="cuda", dtype=torch.int32, generator=g)
                            table = torch.stack([torch.randperm(experts, device="cuda", generator=g)[:topk]
                                                 for _ in range(vocab)]).to(torch.int32).contiguous()
                            outs = []
                            for tag in ("pristine", "ported"):
                                w = torch.zeros(tokens, topk, device="cuda")
                                idx = torch.full((tokens, topk), -1, device="cuda", dtype=torch.int32)
                                tei = torch.full((tokens, topk), -1, device="cuda", dtype=torch.int32)
                                run.mods[f"{tag}_topk_softplus_sqrt"].softplus(
                                    x.data_ptr(), w.data_ptr(), idx.data_ptr(), tei.data_ptr(), tokens, experts,
                                    topk, renormalize, 1.5, bias.data_ptr() if bias is not None else 0, use_hash,
                                    ids.data_ptr(), table.data_ptr())
                                torch.cuda.synchronize()
                                outs.append((w, idx, tei))
                            ok = all(same_bytes(a, b) for a, b in zip(*outs))
                            wrote = bool((outs[0][1] >= 0).all())
                            run.record("topk_softplus_sqrt", f"seed {seed} E{experts} k{topk} T{tokens} "
                                       f"hash={use_hash} bias={with_bias} renorm={renormalize}", ok, wrote)


def main_classes(args) -> int:
    import torch

    pairs = list(zip(args.pristine, args.ported))
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")
    work = args.work or tempfile.mkdtemp(prefix="winport-gpu-")
    start = time.perf_counter()
    mods, origin = build_classes([(os.path.abspath(a), os.path.abspath(b)) for a, b in pairs], work, args.verbose)
    built = time.perf_counter() - start
    run = Runner(mods)
    timings = {}
    for kernel, fn in (("grouped_topk", run_grouped_topk), ("topk_softplus_sqrt", run_topk_softplus)):
        if kernel in origin:
            t = time.perf_counter()
            fn(run, args.seeds)
            timings[kernel] = round(time.perf_counter() - t, 2)
    return report(run, built, timings, args.json, {"trees": origin})


def report(run: "Runner", built: float, timings: dict, json_path: str | None, extra: dict | None = None) -> int:
    import torch

    device = torch.cuda.get_device_name()
    print(f"device: {device}; torch {torch.__version__}; build {built:.0f} s")
    for kernel, r in run.results.items():
        more = f", {r['inputs']:,} inputs" if "inputs" in r else ""
        more += f", outputs written in {r['wrote']}" if "wrote" in r else ""
        print(f"{kernel}: {r['identical']}/{r['cases']} cases bit-identical{more}"
              + (f"; DIFFERENT: {r['differences'][:5]}" if r["differences"] else ""))
    if json_path:
        with open(json_path, "w") as fh:
            json.dump({"device": device, "torch": torch.__version__, "build_s": round(built, 1),
                       "run_s": timings, "results": run.results, **(extra or {})}, fh, indent=2)
    return 0 if run.results and all(not r["differences"] for r in run.results.values()) else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pristine", required=True, action="append", help="repeat for --suite classes")
    ap.add_argument("--ported", required=True, action="append")
    ap.add_argument("--suite", choices=("seed", "classes"), default="seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--work", help="build folder (default: a temporary one)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if len(args.pristine) != len(args.ported):
        ap.error("give --pristine and --ported the same number of times")
    if args.suite == "classes":
        return main_classes(args)
    args.pristine, args.ported = args.pristine[0], args.ported[0]
    for d in (args.pristine, args.ported):
        if not os.path.isfile(os.path.join(d, KERNEL_SOURCES[0])):
            print(f"error: {d}: no {KERNEL_SOURCES[0]} (not a vLLM 0.14-style tree)", file=sys.stderr)
            return 2
    import torch

    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")  # the device's architecture only: half the build
    work = args.work or tempfile.mkdtemp(prefix="winport-gpu-")
    start = time.perf_counter()
    mods = build_all(os.path.abspath(args.pristine), os.path.abspath(args.ported), work, args.verbose)
    built = time.perf_counter() - start
    run = Runner(mods)
    timings = {}
    for fn in (run_merge_attn_states, run_activation, run_selective_scan, run_clz):
        t = time.perf_counter()
        fn(run, args.seeds)
        timings[fn.__name__] = round(time.perf_counter() - t, 2)
    return report(run, built, timings, args.json)


if __name__ == "__main__":
    sys.exit(main())
