"""`winport check`: findings in text, JSON and SARIF; every seed site found on an
unported tree; nothing but reported sites left after a rewrite."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from test_cli import FAKE_VLLM
from winport.cli import main

# The sites the patch reference changed in 0.14.1: (class, file).
SEED_SITES_0_14_1 = {
    ("B1", "CMakeLists.txt"), ("B2", "CMakeLists.txt"), ("B3", "CMakeLists.txt"), ("B4", "cmake/utils.cmake"),
    ("B5", "setup.py"), ("B6", "setup.py"), ("B7", "setup.py"), ("R7", "setup.py"),
    ("K1", "csrc/quantization/utils.cuh"), ("K2", "csrc/mamba/mamba_ssm/selective_scan_fwd.cu"),
    ("K3", "csrc/quantization/activation_kernels.cu"), ("K4", "csrc/core/math.hpp"),
    ("K5", "csrc/quantization/awq/gemm_kernels.cu"),
    ("K6", "csrc/quantization/gptq_allspark/allspark_qgemm_w8a16.cu"),
    ("K7", "csrc/quantization/gptq_marlin/generate_kernels.py"),
    ("K7", "csrc/moe/marlin_moe_wna16/generate_kernels.py"),
    ("K8", "csrc/attention/merge_attn_states.cu"), ("K9", "csrc/attention/merge_attn_states.cu"),
    ("K9", "csrc/fused_qknorm_rope_kernel.cu"), ("K9", "csrc/quantization/marlin/sparse/common/base.h"),
    ("K10", "csrc/cumem_allocator.cpp"),
    ("R1", "vllm/model_executor/layers/fused_moe/routed_experts_capturer.py"),
    ("R2", "vllm/utils/network_utils.py"), ("R3", "vllm/utils/system_utils.py"),
    ("R4", "vllm/v1/engine/core_client.py"), ("R5", "vllm/distributed/parallel_state.py"),
    ("R6", "vllm/entrypoints/openai/api_server.py"), ("R8", "vllm/platforms/cuda.py"),
    ("R9", "requirements/cuda.txt"),
}


def check(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


@pytest.mark.release
def test_check_finds_the_seed_sites_and_nothing_after_rewrite(ported):
    if ported.version == "0.14.1":
        before = check("--format", "json", ported.pristine)
        assert before.exit_code == 1
        found = {(f["class"], f["path"]) for f in json.loads(before.stdout)["findings"]}
        assert SEED_SITES_0_14_1 <= found, SEED_SITES_0_14_1 - found
    after = check("--format", "json", ported.root)
    left = json.loads(after.stdout)["findings"]
    # the second run saw the ported tree, as check does (lines moved by the port)
    reported = {(s.path, s.line) for t in ported.second.transforms for s in t.reported}
    assert all(f["transform"] is None for f in left)  # nothing a transform could still fix
    assert {(f["path"], f["line"]) for f in left} == reported
    assert after.exit_code == (1 if left else 0)


def test_check_text_json_and_exit_codes(tree):
    root = tree(FAKE_VLLM)
    res = check(root)
    assert res.exit_code == 1
    assert "csrc/kernel.cu:2:3: K5 `__asm__ __volatile__` -> `asm volatile`" in res.stdout
    assert "[fix: winport rewrite --select cuda/asm-volatile]" in res.stdout
    data = json.loads(check("--format", "json", root).stdout)
    first = data["findings"][0]
    assert set(first) == {"path", "line", "column", "class", "message", "transform", "scope"}
    assert all(not f["path"].startswith("/") for f in data["findings"])
    assert CliRunner().invoke(main, ["rewrite", "--select", "K5,K6,B4,R6", str(root)]).exit_code == 0
    clean = check("--select", "K5,K6,B4,R6", root)
    assert clean.exit_code == 0 and "nothing left to port" in clean.stdout
    assert check(root / "missing").exit_code == 2


def test_sarif_has_the_required_structure(tree):
    root = tree(FAKE_VLLM)
    doc = json.loads(check("--format", "sarif", root).stdout)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "winport" and driver["rules"]
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))  # one rule per class
    assert run["results"]
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("warning", "error") and result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] and not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1


BACKENDS = {
    "setup.py": "", "vllm/__init__.py": "",
    "CMakeLists.txt": ('set(VLLM_EXT_SRC "csrc/k.cu")\n'
                       "define_gpu_extension_target(_C DESTINATION vllm LANGUAGE CUDA SOURCES ${VLLM_EXT_SRC})\n"),
    "csrc/k.cu": '#include "core/h.hpp"\nint f(int x) { return __builtin_expect(x, 1); }\n',
    "csrc/core/h.hpp": "inline int g(int x) { return __builtin_popcount(x); }\n",
    "csrc/cpu/c.cpp": "int c(int x) { return __builtin_ctz(x); }\n",
    "csrc/orphan.cpp": "int u(int x) { return __builtin_ffs(x); }\n",
}


def test_findings_say_which_build_compiles_the_file(tree):
    """Sources of the CUDA build (units and what they include) apart from other backends;
    the CPU/ROCm folders only with --all-backends."""
    root = tree(BACKENDS)
    scopes = {f["path"]: f["scope"] for f in json.loads(check("--format", "json", root).stdout)["findings"]}
    assert scopes == {"csrc/k.cu": "cuda", "csrc/core/h.hpp": "cuda", "csrc/orphan.cpp": "unlisted"}
    res = check("--all-backends", root)
    assert "csrc/cpu/c.cpp:1:23: detect/gnu-extensions" in res.stdout and "[CPU backend]" in res.stdout
    assert "csrc/orphan.cpp" in res.stdout and "[no CUDA target compiles it]" in res.stdout
    assert "4 finding(s) (1 CPU backend, 1 no CUDA target compiles it;" in res.stdout.splitlines()[-1]
    sarif = json.loads(check("--all-backends", "--format", "sarif", root).stdout)
    assert {r["properties"]["scope"] for r in sarif["runs"][0]["results"]} == {"cuda", "cpu", "unlisted"}


def test_widened_detectors_travel_to_worker_processes():
    """--all-backends drops a detector's exclude globs on an instance that pickles (the
    worker processes receive it) and keeps its class."""
    import pickle

    from winport import registry

    t = registry.get("detect/gnu-extensions")
    wide = pickle.loads(pickle.dumps(registry.widened(t)))
    assert type(wide) is type(t) and wide.exclude == () and t.exclude
    assert wide.matcher()("csrc/cpu/x.cpp") and not t.matcher()("csrc/cpu/x.cpp")


def test_a_missing_definition_says_where_it_is_first_used(tree):
    """A finding that stands where a definition goes (after the includes) names the
    line that needs it: M_PI used at line 6 is reported at the include, "first at line 6"."""
    root = tree({**FAKE_VLLM, "csrc/pos.cu": "#include <cmath>\n\n__global__ void k(float* x) {\n  // rotary\n"
                                             "  float s = 1.0f;\n  x[0] = M_PI * s + M_PI_2;\n}\n"})
    found = [f for f in json.loads(check("--format", "json", "--select", "cuda/math-constants", root).output)["findings"]
             if f["path"] == "csrc/pos.cu"]
    assert [(f["line"], f["class"]) for f in found] == [(1, "C3")]
    assert "(2 use(s), first at line 6)" in found[0]["message"]


# every transform that inserts a definition after the includes says where it is needed
INSERTING = ("cuda/math-constants", "cuda/sdk-float-macros", "cuda/uint-typedef", "cuda/ssize-t",
             "cuda/builtin-clz", "cuda/asm-volatile", "cuda/bool-dispatch", "cuda/gnu-attributes")


@pytest.mark.parametrize("transform", INSERTING)
def test_file_level_sites_name_their_first_use(transform, tmp_path):
    import re

    from conftest import run
    from winport.examples import cases

    seen = 0
    for case in cases(transform):
        if case.unchanged:
            continue
        root = case.write(tmp_path / case.name)
        before = case.files("before")
        for f in run(root, transform, write=False).by_id(transform).files:
            for site in f.sites:
                m = re.search(r"\((\d+) use\(s\), first at line (\d+)\)", site.message)
                if m is None:
                    continue
                seen += 1
                line = int(m.group(2))
                text = before[f.path].decode().splitlines()
                assert site.line <= line <= len(text), (case.name, site)
    assert seen, f"{transform}: no fixture shows a file-level site"


def test_detectors_judge_the_text_the_fixers_leave(tmp_path):
    """A detector run beside the fixers reports what remains after them, as `check`
    on the ported tree does: <unistd.h>, which cuda/posix-compat guards in the same
    run, is not reported; <sys/mman.h>, which it leaves, is (at its original line)."""
    from conftest import run
    from winport.examples import cases

    (case,) = [c for c in cases("cuda/posix-compat") if c.name == "fs-io"]
    root = case.write(tmp_path / "tree")
    report = run(root, "cuda/posix-compat", "detect/posix-headers")
    assert report.by_id("cuda/posix-compat").outcome.value == "applied"
    reported = {(s.path, s.line, s.message.split(" ")[0]) for s in report.by_id("detect/posix-headers").reported}
    assert reported == {("csrc/demo_fs_io.cpp", 6, "<sys/mman.h>")}
    after = json.loads(check("--format", "json", "--select", "detect/posix-headers", "--dependency", root).output)
    assert [(f["path"], f["message"].split(" ")[0]) for f in after["findings"]] == [("csrc/demo_fs_io.cpp", "<sys/mman.h>")]
