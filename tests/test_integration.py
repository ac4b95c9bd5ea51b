"""Integration on real vLLM releases, downloaded by winport's own fetch code.

The sdists are cached under WINPORT_CACHE_DIR (or the user cache folder) between
runs. Each release is unpacked once per session and rewritten once (the
``ported`` fixture in conftest.py); the tests assert on the report and the tree.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from conftest import parse_problems
from winport import Outcome, registry
from winport.cli import main
from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.pipeline import python_error
from winport.sources import discover, language_of

pytestmark = pytest.mark.release

# what a release does not contain, or does not need (a C++20 build; the float builtins arrive
# with 0.33.0's top-k kernel, the shared mmap regions with 0.26.0's KV offload,
# the Rust frontend's binary lookup with 0.26.0, FlashInfer defaults that are on with 0.18.0,
# the batched KV-offload copy with 0.26.0, a qualified class template with 0.33.0's Lamport
# flags); cuda/host-device-calls-host
# is for the sources the build fetches (CUTLASS), not vLLM's own
NOT_NEEDED = {
    "0.14.1": {"cuda/gnu-attributes", "cuda/directives-in-macro-args", "cuda/posix-compat",
               "build/pyd-extensions", "cuda/host-device-calls-host", "runtime/dev-shm",
               "runtime/zmq-ipc-endpoints", "cuda/sdk-float-macros", "cuda/float-builtins", "runtime/mmap-access",
               "runtime/exe-suffix", "runtime/flashinfer-defaults",
               "cuda/batch-memcpy", "runtime/memcpy-batch-serial",
               "runtime/host-pointer-kernels", "cuda/class-execution-space"},
    "0.18.0": {"cuda/directives-in-macro-args", "cuda/posix-compat", "build/pyd-extensions",
               "cuda/host-device-calls-host", "runtime/dev-shm", "runtime/zmq-ipc-endpoints",
               "cuda/float-builtins", "runtime/mmap-access", "runtime/exe-suffix",
               "cuda/batch-memcpy", "runtime/memcpy-batch-serial",
               "runtime/host-pointer-kernels", "cuda/class-execution-space"},
    "0.26.0": {"cuda/designated-init", "cuda/host-device-calls-host", "cuda/float-builtins",
               "cuda/class-execution-space"},
    "0.33.0": {"cuda/designated-init", "cuda/host-device-calls-host"},
}


# what every release has done already: vLLM imports `resource` after an early return on Windows
ALREADY = {"runtime/resource-limits"}
# what a release has only sites of to report: model runner v2's Triton slot mappings before
# 0.26.0's own kernel in the v1 runner
REPORTED = {"0.14.1": {"runtime/slot-mapping-fallback"}, "0.18.0": {"runtime/slot-mapping-fallback"},
            "0.26.0": set(), "0.33.0": set()}


def test_each_transform_applies(ported):
    fixing = {t.id for t in registry.all_transforms() if t.fixes}
    for t in ported.report.transforms:
        if t.id not in fixing:
            continue
        expected = Outcome.NOT_NEEDED if t.id in NOT_NEEDED[ported.version] else \
            Outcome.REPORTED if t.id in REPORTED[ported.version] else \
            Outcome.ALREADY if t.id in ALREADY else Outcome.APPLIED
        assert t.outcome is expected, (ported.version, t.id, t.outcome, t.drift,
                                       [f.reason for f in t.files if f.reason])
    designated = ported.report.by_id("cuda/designated-init")
    assert ("C++20" in designated.note) == ("cuda/designated-init" in NOT_NEEDED[ported.version])
    assert ported.check_before.exit_code == 1


def test_diff_named_every_change_and_wrote_nothing(ported):
    # had --check or --diff written anything, the rewrite after them would have found it done
    diffed = set(re.findall(r"^diff --git a/(\S+) ", ported.diff_before, re.M))
    assert diffed == set(ported.report.changed) and diffed


def test_second_run_changes_nothing_and_check_passes(ported):
    assert ported.second.changed == {}
    assert all(t.outcome in (Outcome.ALREADY, Outcome.NOT_NEEDED, Outcome.REPORTED) for t in ported.second.transforms)
    res = CliRunner().invoke(main, ["rewrite", "--check", str(ported.root)])
    assert res.exit_code == 0, res.output


def test_changed_files_reparse(ported):
    for path in ported.report.changed:
        new = (ported.root / path).read_bytes()
        old = b"" if path in ported.report.created else (ported.pristine / path).read_bytes()
        repeated = sum(f.repeated_errors for t in ported.report.transforms for f in t.files if f.path == path)
        assert parse_problems(path, old, new, repeated) is None, path
        if language_of(path) == "python":
            assert python_error(new, path) is None, path


def test_only_reported_files_changed(ported):
    """Nothing outside the report's changed files differs from the pristine tree."""
    pristine = set(discover(str(ported.pristine)))
    assert pristine | ported.report.created == set(discover(str(ported.root)))
    assert ported.report.created <= set(ported.report.changed)
    differing = {p for p in pristine if (ported.root / p).read_bytes() != (ported.pristine / p).read_bytes()}
    assert differing == set(ported.report.changed) - ported.report.created


ALT = re.compile(rb"\b(and|or|not|bitand|bitor|xor|compl|and_eq|or_eq|xor_eq|not_eq)\b")
CUDA_BUILD = registry.get("cuda/alt-tokens").matcher()


def test_no_pattern_left(ported):
    """No `or`/`and`/`not` operator, no device `__asm__`, no unguarded SO_REUSEPORT,
    no unquoted ${...} in file(REAL_PATH) and no GNU attribute or directive in a macro
    call's arguments that Windows compiles remains."""
    reported = {(s.path, s.line) for t in ported.report.transforms for s in t.reported}
    for path in discover(str(ported.root)):
        data = (ported.root / path).read_bytes()
        lang = language_of(path)
        if lang == "cpp" and CUDA_BUILD(path) and (ALT.search(data) or b"__asm" in data):
            tree = treesitter.parse("cpp", data)
            for _, node in treesitter.captures("cpp", '["and" "or" "not" "not_eq" "bitand" "bitor" '
                                               '"xor" "compl" "and_eq" "or_eq" "xor_eq"] @op', tree.root_node):
                if node.parent.type.endswith("expression"):
                    assert not msvc_sees(node, device=True), (path, node.start_point)
            for _, node in treesitter.captures("cpp", "(gnu_asm_expression) @a", tree.root_node):
                if node.text.startswith((b"__asm", b"asm __volatile")) and msvc_sees(node, device=True):
                    assert (path, node.start_point[0] + 1) in reported, (path, node.start_point)
        if lang == "cpp" and CUDA_BUILD(path) and b"__attribute" in data:  # C2: rewritten or reported
            tree = treesitter.parse("cpp", data)
            for _, node in treesitter.captures("cpp", "(attribute_specifier) @a", tree.root_node):
                if msvc_sees(node, device=True):
                    assert (path, node.start_point[0] + 1) in reported, (path, node.start_point)
        if lang == "cpp" and CUDA_BUILD(path):
            # K1, K3, K4: the seed's own sites, checked by text
            assert not re.search(rb"\bquant_type_max_v<\w+>(?!\()", data), path
            assert not re.search(rb"\b__int64_t\b", data.split(b"//")[0]) or b"__int64_t" not in _code(data), path
            # (a C++20 build keeps its designated initializers: standard there)
            assert b"__nv_bfloat16_raw{.x" not in data or "cuda/designated-init" in NOT_NEEDED[ported.version], path
            assert not re.search(rb"(?<!define WINPORT_CLZ\(x\) )__builtin_clz\(num", data), path
        if lang == "cmake" and b"REAL_PATH" in data:
            assert not re.search(rb"file\(\s*REAL_PATH\s+\$", data), path
        elif lang == "python" and path.startswith("vllm/") and b"SO_REUSEPORT" in data:
            text = data.decode()
            for m in re.finditer(r"\n( *)(\w+)\.setsockopt\([^\n]*SO_REUSEPORT", text):
                prev = text[:m.start()].rsplit("\n", 1)[-1]
                assert "hasattr(" in prev and "SO_REUSEPORT" in prev, (path, prev)


def _code(data: bytes) -> bytes:
    """``data`` without // and /* */ comments (good enough for the checks above)."""
    return re.sub(rb"//[^\n]*|/\*.*?\*/", b"", data, flags=re.S)
