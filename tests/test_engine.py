"""Engine behaviour: edits, the re-parse guard, atomic writes, isolation, plug-ins, drift."""

from __future__ import annotations

import gc
import os
import re
import stat
import textwrap
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest

from conftest import install_plugin, read_tree, run
from winport import (Context, CppTransform, Edit, Outcome, Pipeline, PythonTransform, TransformError,
                     apply_edits, pipeline, registry)
from winport.lang.python import ensure_import
from winport.sources import SourceError, SourceFile, discover, write_atomic


# -- edits -----------------------------------------------------------------------
def test_edits_apply_back_to_front():
    body = b"abc def ghi"
    assert apply_edits(body, [Edit(0, 3, "X"), Edit(8, 11, "YYYY"), Edit(4, 4, "+")]) == b"X +def YYYY"


def test_overlapping_edits_are_rejected():
    with pytest.raises(TransformError, match="overlapping"):
        apply_edits(b"abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(TransformError):  # an insertion inside a replaced range
        apply_edits(b"abcdef", [Edit(1, 4, "x"), Edit(2, 2, "y")])


def test_insertions_at_one_offset_compose_in_recorded_order():
    assert apply_edits(b"abcdef", [Edit(1, 1, "x"), Edit(1, 1, "y")]) == b"axybcdef"
    assert apply_edits(b"abcdef", [Edit(1, 1, "y"), Edit(1, 1, "x")]) == b"ayxbcdef"
    # an insertion where a replacement starts or ends touches it
    assert apply_edits(b"abcdef", [Edit(1, 3, "R"), Edit(1, 1, "i"), Edit(3, 3, "j")]) == b"aiRjdef"


def test_inserted_newlines_follow_the_file():
    assert apply_edits(b"a\r\nb\r\n", [Edit(3, 3, "x\ny\n")], "\r\n") == b"a\r\nx\r\ny\r\nb\r\n"


def test_source_keeps_bom_and_detects_crlf():
    src = SourceFile.from_bytes("x.cu", b"\xef\xbb\xbfint a;\r\nint b;\r\n")
    assert src.bom and src.newline == "\r\n" and src.body.startswith(b"int")
    assert src.encode(b"int c;\r\n") == b"\xef\xbb\xbfint c;\r\n"


# -- test transforms used below ------------------------------------------------------
class BreakBraces(CppTransform):
    """Deletes every closing brace: must be caught by the re-parse guard."""
    id = "test/break-braces"
    summary = "test"
    triggers = ("}",)

    def rewrite(self, tree, ctx: Context) -> None:
        for i, byte in enumerate(ctx.source.body):
            if byte == ord("}"):
                ctx.replace(i, i + 1, "", "deleted brace")


class Explode(CppTransform):
    """Raises on one file."""
    id = "test/explode"
    summary = "test"
    triggers = ("boom",)

    def rewrite(self, tree, ctx: Context) -> None:
        raise RuntimeError("kaboom in transform")


class ReturnAtModuleLevel(PythonTransform):
    """Turns module-level `pass` into `return 1`: valid syntax to libcst, not to compile()."""
    id = "test/return-at-module-level"
    summary = "test"
    triggers = ("pass",)

    def rewrite(self, wrapper, ctx: Context):
        module = wrapper.module
        body = [cst.parse_statement("return 1\n") if isinstance(s, cst.SimpleStatementLine)
                and isinstance(s.body[0], cst.Pass) else s for s in module.body]
        ctx.applied((1, 1), "pass -> return")
        return module.with_changes(body=body)


class OverlapOr(CppTransform):
    """Edits the same bytes as cuda/alt-tokens."""
    id = "test/overlap-or"
    summary = "test"
    triggers = ("or",)
    trigger_words = True

    def rewrite(self, tree, ctx: Context) -> None:
        at = ctx.source.body.index(b" or ")
        ctx.replace(at + 1, at + 3, "OR", "overlap")


class ExpectsAnchor(CppTransform):
    """Expects an anchor the tree does not have."""
    id = "test/expects-anchor"
    summary = "test"
    triggers = ("find_package_that_is_not_there",)
    expects = "the anchor `find_package_that_is_not_there`"

    def rewrite(self, tree, ctx: Context) -> None:  # pragma: no cover - never called
        raise AssertionError


# -- the re-parse guard and isolation --------------------------------------------------
def test_reparse_guard_leaves_cpp_file_untouched(tree):
    root = tree({"csrc/a.cu": "void f() { if (x) { g(); } }\n"})
    report = Pipeline([BreakBraces()], jobs=1).run(str(root))
    res = report.by_id("test/break-braces")
    assert res.outcome is Outcome.FAILED
    assert "re-parse guard" in res.files[0].reason and "csrc/a.cu" in res.files[0].reason
    assert (root / "csrc/a.cu").read_text() == "void f() { if (x) { g(); } }\n"
    assert report.changed == {}


def test_reparse_guard_for_python_uses_compile(tree):
    root = tree({"vllm/m.py": "pass\n"})
    report = Pipeline([ReturnAtModuleLevel()], jobs=1).run(str(root))
    res = report.by_id("test/return-at-module-level")
    assert res.outcome is Outcome.FAILED and "does not compile" in res.files[0].reason
    assert (root / "vllm/m.py").read_text() == "pass\n"


class GuardWithoutImport(PythonTransform):
    """Puts a Windows guard on `import fcntl` without importing sys: the import guard
    must refuse it (the module would raise NameError on import, on Linux too)."""
    id = "test/guard-without-import"
    summary = "test"
    triggers = ("import fcntl",)

    def rewrite(self, wrapper, ctx: Context):
        module = wrapper.module
        body = [cst.parse_statement('if sys.platform != "win32":\n    import fcntl\n')
                if m.matches(s, m.SimpleStatementLine(body=[m.Import(names=[m.ImportAlias(m.Name("fcntl"))])]))
                else s for s in module.body]
        ctx.applied((1, 1), "guarded")
        return module.with_changes(body=body)


class AddsHelperImport(PythonTransform):
    """A well-behaved transform that changes the same file (it must fail with the file)."""
    id = "test/adds-helper-import"
    summary = "test"
    triggers = ("import",)

    def rewrite(self, wrapper, ctx: Context):
        ctx.applied((1, 1), "import added")
        return ensure_import(wrapper.module, "os")


def test_import_guard_refuses_a_name_read_before_it_is_bound(tree):
    code = "import logging\nimport fcntl\n\nimport sys\n\nlog = logging.getLogger(__name__)\n"
    root = tree({"vllm/m.py": code})
    report = Pipeline([GuardWithoutImport(), AddsHelperImport()], jobs=1).run(str(root))
    res = report.by_id("test/guard-without-import")
    assert res.outcome is Outcome.FAILED
    reason = res.files[0].reason
    assert "import guard" in reason and "`sys` (line 2)" in reason and "vllm/m.py" in reason
    other = report.by_id("test/adds-helper-import")
    assert other.outcome is Outcome.FAILED and "test/guard-without-import broke" in other.files[0].reason
    assert (root / "vllm/m.py").read_text() == code and report.changed == {}


def test_import_guard_accepts_what_the_original_already_left_unbound(tree):
    # `undefined` is read unbound before and after: not the rewrite's doing
    root = tree({"vllm/m.py": "import fcntl\nimport sys\nx = undefined\n"})
    report = Pipeline([AddsHelperImport()], jobs=1).run(str(root))
    assert report.by_id("test/adds-helper-import").outcome is Outcome.APPLIED
    assert (root / "vllm/m.py").read_text().startswith("import fcntl\nimport sys\nimport os\n")


def test_crashing_transform_is_isolated(tree):
    root = tree({"csrc/a.cu": "int boom = a or b;\n", "csrc/b.cu": "int c = a or b;\n"})
    transforms = [Explode()] + registry.select(["cuda/alt-tokens"])
    report = Pipeline(transforms, jobs=1).run(str(root))
    failed = report.by_id("test/explode").files[0]
    assert failed.outcome is Outcome.FAILED and "kaboom in transform" in failed.reason
    assert "Traceback" in failed.reason
    # the other transform still rewrote both files
    assert (root / "csrc/a.cu").read_text() == "int boom = a || b;\n"
    assert (root / "csrc/b.cu").read_text() == "int c = a || b;\n"


def test_overlap_between_transforms_fails_the_later_one(tree):
    root = tree({"csrc/a.cu": "int c = a or b;\n"})
    transforms = registry.select(["cuda/alt-tokens"]) + [OverlapOr()]
    report = Pipeline(transforms, jobs=1).run(str(root))
    assert report.by_id("cuda/alt-tokens").outcome is Outcome.APPLIED
    assert report.by_id("test/overlap-or").outcome is Outcome.FAILED
    assert "overlapping" in report.by_id("test/overlap-or").files[0].reason
    assert (root / "csrc/a.cu").read_text() == "int c = a || b;\n"


def test_two_transforms_inserting_after_the_includes_compose(tree):
    # both insert their helper after the last #include: one offset, run order
    root = tree({"csrc/a.cu": "#include <cstdint>\n\nint f(unsigned x, ssize_t n) { return __builtin_clz(x) + n; }\n"})
    report = run(root, "cuda/builtin-clz", "cuda/ssize-t")
    assert report.by_id("cuda/builtin-clz").outcome is Outcome.APPLIED
    assert report.by_id("cuda/ssize-t").outcome is Outcome.APPLIED
    text = (root / "csrc/a.cu").read_text()
    assert text.index("winport_clz64") < text.index("typedef SSIZE_T") < text.index("int f(")


class AddsHeader(CppTransform):
    """Writes csrc/compat.h when it rewrites a file (what cuda/posix-compat does)."""
    id = "test/adds-header"
    summary = "test"
    triggers = ("needs_compat",)

    def new_files(self, plan):
        return {"csrc/compat.h": "#pragma once\n"}

    def rewrite(self, tree, ctx: Context) -> None:
        at = ctx.source.body.find(b"needs_compat")
        if b"compat.h" not in ctx.source.body:
            ctx.insert(0, '#include "compat.h"\n', "include compat.h")
        elif at >= 0:
            ctx.already(at, "compat.h included")


def test_a_transform_adds_a_file_once_and_never_overwrites_one(tree):
    from winport.render import diff

    root = tree({"csrc/a.cu": "int needs_compat;\n"})
    dry = Pipeline([AddsHeader()], jobs=1).run(str(root), write=False)
    assert dry.created == {"csrc/compat.h"} and not (root / "csrc/compat.h").exists()
    assert "new file mode 100644\n--- /dev/null\n+++ b/csrc/compat.h\n" in diff(dry)
    report = Pipeline([AddsHeader()], jobs=1).run(str(root))
    assert (root / "csrc/compat.h").read_text() == "#pragma once\n"
    assert report.by_id("test/adds-header").outcome is Outcome.APPLIED
    again = Pipeline([AddsHeader()], jobs=1).run(str(root))
    assert again.changed == {} and again.by_id("test/adds-header").outcome is Outcome.ALREADY
    # someone else's file of that name is left alone, and the transform fails
    other = tree({"csrc/b.cu": "int needs_compat;\n"})
    (other / "csrc/compat.h").write_text("mine\n")
    (other / "csrc/a.cu").write_text("int x;\n")
    clash = Pipeline([AddsHeader()], jobs=1).run(str(other))
    assert clash.by_id("test/adds-header").outcome is Outcome.FAILED
    assert (other / "csrc/compat.h").read_text() == "mine\n"


def test_non_utf8_and_unparseable_files_are_reported_and_untouched(tree):
    latin1 = "int caf\xe9 = a or b; // caf\xe9\n".encode("latin-1")
    root = tree({
        "csrc/latin1.cu": latin1,
        "csrc/ok.cu": "int c = a or b;\n",
        "vllm/broken.py": "import socket\ndef f(:\n    socket.SO_REUSEPORT\n",
        "vllm/fine.py": "import socket\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n",
    })
    report = run(root, "cuda/alt-tokens", "runtime/so-reuseport")
    alt = {f.path: f for f in report.by_id("cuda/alt-tokens").files}
    assert alt["csrc/latin1.cu"].outcome is Outcome.FAILED
    assert "csrc/latin1.cu" in alt["csrc/latin1.cu"].reason and "UTF-8" in alt["csrc/latin1.cu"].reason
    assert (root / "csrc/latin1.cu").read_bytes() == latin1
    assert alt["csrc/ok.cu"].outcome is Outcome.APPLIED
    py = {f.path: f for f in report.by_id("runtime/so-reuseport").files}
    assert py["vllm/broken.py"].outcome is Outcome.FAILED and "cannot parse" in py["vllm/broken.py"].reason
    assert py["vllm/fine.py"].outcome is Outcome.APPLIED


# -- writing ------------------------------------------------------------------------------
def test_writes_keep_crlf_bom_and_mode(tree):
    data = b"\xef\xbb\xbf// header\r\nint f(int a, int b) {\r\n  return a and b;\r\n}\r\n"
    root = tree({"csrc/crlf.cu": data})
    os.chmod(root / "csrc/crlf.cu", 0o751)
    run(root, "cuda/alt-tokens")
    assert (root / "csrc/crlf.cu").read_bytes() == data.replace(b"a and b", b"a && b")
    assert stat.S_IMODE(os.stat(root / "csrc/crlf.cu").st_mode) == 0o751
    assert not [p for p in (root / "csrc").iterdir() if p.name.startswith(".winport-")]


def test_python_crlf_is_kept(tree):
    data = (b"import socket\r\n\r\ndef f(s):\r\n"
            b"    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\r\n")
    root = tree({"vllm/x.py": data})
    run(root, "runtime/so-reuseport")
    out = (root / "vllm/x.py").read_bytes()
    assert b"\r\n" in out and b"\n" not in out.replace(b"\r\n", b"")
    assert b'    if hasattr(socket, "SO_REUSEPORT"):\r\n        s.setsockopt' in out


def test_write_refuses_a_file_changed_since_read(tmp_path):
    (tmp_path / "a.cu").write_bytes(b"new content")
    with pytest.raises(SourceError, match="changed on disk"):
        write_atomic(str(tmp_path), "a.cu", b"old content", b"rewritten")
    assert (tmp_path / "a.cu").read_bytes() == b"new content"


def test_read_only_file_is_reported_not_chmodded(tree):
    root = tree({"csrc/ro.cu": "int c = a or b;\n", "csrc/rw.cu": "int d = a or b;\n"})
    os.chmod(root / "csrc/ro.cu", 0o444)
    report = run(root, "cuda/alt-tokens")
    files = {f.path: f for f in report.by_id("cuda/alt-tokens").files}
    assert files["csrc/ro.cu"].outcome is Outcome.FAILED and "read-only" in files["csrc/ro.cu"].reason
    assert (root / "csrc/ro.cu").read_text() == "int c = a or b;\n"
    assert stat.S_IMODE(os.stat(root / "csrc/ro.cu").st_mode) == 0o444
    assert files["csrc/rw.cu"].outcome is Outcome.APPLIED


def test_read_only_check_happens_before_writing(tmp_path, monkeypatch):
    (tmp_path / "a.cu").write_bytes(b"x")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(SourceError, match="read-only"):
        write_atomic(str(tmp_path), "a.cu", b"x", b"y")
    assert (tmp_path / "a.cu").read_bytes() == b"x"


def test_every_edit_is_computed_before_the_first_write(tree, monkeypatch):
    root = tree({"csrc/a.cu": "int a = x or y;\n", "csrc/b.cu": "int b = x or y;\n"})
    writes = []
    monkeypatch.setattr(pipeline, "write_atomic", lambda *a: writes.append(a[1]))
    real = pipeline.process_file

    def spy(work, plans):
        assert not writes, "a file was written before every edit was computed"
        return real(work, plans)

    monkeypatch.setattr(pipeline, "process_file", spy)
    run(root, "cuda/alt-tokens")
    assert writes == ["csrc/a.cu", "csrc/b.cu"]


# -- discovery, parallelism, drift -------------------------------------------------------
def test_discovery_skips_caches_build_outputs_and_symlinks(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "evil.cu").write_text("int z = a or b;\n")
    root = tree({
        "csrc/a.cu": "x", ".git/config.cu": "x", "vllm/__pycache__/m.py": "x", "build/gen.cu": "x",
        "requirements/build/cuda.txt": "x",
    })
    os.symlink(outside, root / "csrc" / "linked_dir")
    os.symlink(outside / "evil.cu", root / "csrc" / "linked.cu")
    os.symlink(root / "csrc", root / "csrc" / "loop")
    assert list(discover(str(root))) == ["csrc/a.cu", "requirements/build/cuda.txt"]
    run(root, "cuda/alt-tokens")
    assert (outside / "evil.cu").read_text() == "int z = a or b;\n"


def test_parallel_run_equals_serial_run(tree, monkeypatch):
    files = {f"csrc/k{i}.cu": f"int v{i} = a or b and not c;\n" for i in range(12)}
    serial = Pipeline(registry.select(["cuda/"]), jobs=1).run(str(tree(files)), write=False)
    monkeypatch.setattr(pipeline, "FILES_PER_WORKER", 2)
    parallel = Pipeline(registry.select(["cuda/"]), jobs=2).run(serial.root, write=False)
    assert parallel.changed == serial.changed and len(serial.changed) == 12
    assert [t.to_json() for t in parallel.transforms] == [t.to_json() for t in serial.transforms]


def test_expected_anchor_missing_is_drift(tree):
    root = tree({"csrc/a.cu": "int x;\n"})
    res = Pipeline([ExpectsAnchor()], jobs=1).run(str(root)).by_id("test/expects-anchor")
    assert res.outcome is Outcome.DRIFTED and "find_package_that_is_not_there" in res.drift


def test_pattern_missing_is_not_needed_not_drift(tree):
    root = tree({"csrc/a.cu": "int x = a || b;\n"})
    res = run(root, "cuda/alt-tokens").by_id("cuda/alt-tokens")
    assert res.outcome is Outcome.NOT_NEEDED and not res.drift


# -- registry and plug-ins -----------------------------------------------------------------
def test_select_by_id_area_and_seed():
    assert [t.id for t in registry.select(["K5"])] == ["cuda/asm-volatile"]
    assert {t.id for t in registry.select(["cuda/"])} == {c.id for c in registry.builtin() if c.id.startswith("cuda/")}
    assert {t.id for t in registry.select(["K3"])} == {"cuda/designated-init", "cuda/int128-vectors", "cuda/int64-t"}
    assert "runtime/so-reuseport" not in [t.id for t in registry.select(ignore=["runtime"])]
    with pytest.raises(registry.RegistryError, match="no transform matches 'cuda/nope'"):
        registry.select(["cuda/nope"])


PLUGIN = '''
from winport import CppTransform

class Shout(CppTransform):
    """Test plug-in."""
    id = "plugin/shout"
    summary = "test plug-in"
    triggers = ("whisper",)

    def rewrite(self, tree, ctx):
        at = ctx.source.body.index(b"whisper")
        ctx.replace(at, at + 7, "WHISPER", "louder")
'''


def test_entry_point_plugins_are_registered_and_run(tmp_path, monkeypatch, tree):
    site = install_plugin(tmp_path / "site", "winport-test-plugin", {"shout": "winport_test_plugin:Shout"},
                          {"winport_test_plugin": textwrap.dedent(PLUGIN)})
    monkeypatch.syspath_prepend(str(site))
    ids = [t.id for t in registry.all_transforms()]
    assert ids[-1] == "plugin/shout" and ids[:-1] == [cls.id for cls in registry.builtin()]
    root = tree({"csrc/a.cu": "int whisper;\n"})
    assert run(root, "plugin/shout").by_id("plugin/shout").outcome is Outcome.APPLIED
    assert read_tree(root)["csrc/a.cu"] == b"int WHISPER;\n"


def test_a_later_group_reports_the_files_own_lines(tree):
    """A libcst transform inserts lines (`import sys`); the ast detector that runs after it
    on the changed file still reports lines of the file as it was."""
    code = ("import multiprocessing\nimport os\n\n\ndef start():\n"
            "    ctx = multiprocessing.get_context(\"fork\")\n    os.fork()\n    return ctx\n")
    root = tree({"vllm/worker.py": code})
    report = run(root, "runtime/spawn-context", "detect/posix-calls", write=False)
    new = report.changed["vllm/worker.py"][1].decode()
    assert new.count("\n") > code.count("\n")  # the rewrite added lines above the call
    (site,) = [s for t in report.transforms if t.id == "detect/posix-calls" for f in t.files for s in f.reported]
    assert (site.line, site.column) == (7, 5)
    assert new.splitlines()[site.line - 1].strip() != "os.fork()"  # the site is not a line of the new file


def test_parallel_run_with_python_files_equals_serial_run(tree, monkeypatch):
    """Python files start in a worker during the scan, the parent takes what no worker
    started: the report and the bytes are those of a serial run."""
    files = {f"csrc/k{i}.cu": f"int v{i} = a or b and not c;\n" for i in range(8)}
    files.update({f"vllm/m{i}.py": f'import multiprocessing\n\nctx = multiprocessing.get_context("fork")  # {i}\n'
                  for i in range(8)})
    files["vllm/distributed/parallel_state.py"] = (
        'import torch\n\n\ndef init_distributed_environment(backend="gloo"):\n    return backend\n')
    root = str(tree(files))
    serial = Pipeline(registry.select(), jobs=1).run(root, write=False)
    monkeypatch.setattr(pipeline, "FILES_PER_WORKER", 2)
    parallel = Pipeline(registry.select(), jobs=3).run(root, write=False)
    assert len(serial.changed) == 17 and parallel.changed == serial.changed
    assert [t.to_json() for t in parallel.transforms] == [t.to_json() for t in serial.transforms]


def test_words_in_comments_do_not_make_an_alt_tokens_candidate(tree):
    from winport.lang.cpp import without_comments

    assert without_comments(b'x = "a // b" or y; // or\n/* and\n not */ z') == b'x = "a // b" or y;  \n  z'
    assert without_comments(b'R"(/*)" or // x') == b'R"(/*)" or // x'  # raw strings: left as they are
    root = tree({"csrc/comment.cu": "// a or b\n/* not this */ int x;\n", "csrc/string.cu": 'auto s = "or";\n',
                 "csrc/code.cu": "int y = a or b;\n"})
    work, _ = Pipeline(registry.select(["cuda/alt-tokens"]), jobs=1).candidates(str(root))
    assert sorted(w.source.path for w in work) == ["csrc/code.cu", "csrc/string.cu"]


def test_attribute_macros_come_from_defines_that_name_an_attribute():
    from winport.lang.cpp import Space, _tree_space_macros

    class View:
        def sources(self, contains):
            return [SourceFile.from_bytes(p, d) for p, d in FILES.items() if contains in d]

    FILES = {
        "a.h": b"#define MY_DEV CUTLASS_DEVICE\n#define MY_BOTH \\\n  __host__ __device__\n",
        "b.h": b"#define N 4\n__device__ int f();\n",  # no #define names an attribute: not parsed
    }
    found = _tree_space_macros(View())
    assert found["MY_DEV"] == {Space.DEVICE} and found["MY_BOTH"] == {Space.HOST, Space.DEVICE}
    assert "N" not in found


def test_a_run_given_the_trees_files_reads_only_those(tree):
    root = tree({"csrc/a.cu": "int x = a or b;\n", "csrc/b.cu": "int y = a or b;\n"})
    report = Pipeline(registry.select(["cuda/alt-tokens"]), jobs=1).run(str(root), write=False, paths=["csrc/b.cu"])
    assert sorted(report.changed) == ["csrc/b.cu"] and report.files_scanned == 1


CPP_FIXTURES = sorted(p for p in (Path(__file__).resolve().parents[1] / "fixtures").glob("**/*")
                      if p.suffix in (".cu", ".cuh", ".h", ".hpp", ".cpp"))


def test_identifiers_found_from_the_text_are_the_querys():
    """``treesitter.identifiers`` gives what ``(identifier) @i`` gives, in the same order
    (less the zero-width MISSING identifiers error recovery makes up: no text names them)."""
    from winport.lang import treesitter

    words = re.compile(rb"\b\w+\b")
    checked = 0
    for path in CPP_FIXTURES:
        root = treesitter.parse("cpp", path.read_bytes()).root_node
        for sub in [root, *root.named_children[:3]]:
            by_query = [(n.start_byte, n.end_byte) for _, n in treesitter.captures("cpp", "(identifier) @i", sub)
                        if n.end_byte > n.start_byte]
            found = [(n.start_byte, n.end_byte) for n in treesitter.identifiers(sub, words)]
            assert found == by_query, path
            checked += len(found)
    assert checked > 1000


def test_tokens_calls_and_defines_found_from_the_text_are_the_querys():
    from winport.lang import treesitter
    from winport.lang.cpp import defines
    from winport.transforms.cuda.alt_tokens import ALTERNATIVES

    alternatives = "[" + " ".join(f'"{t}"' for t in ALTERNATIVES) + "] @op"
    pairs = [
        (lambda r: treesitter.tokens(r, treesitter.words(ALTERNATIVES), ALTERNATIVES), alternatives),
        (lambda r: treesitter.called(r, re.compile(rb"\b\w+\b")), "(call_expression function: (identifier) @f)"),
        (defines, "(preproc_def name: (identifier) value: (preproc_arg)) @d"),
        (lambda r: treesitter.led_by(r, ("asm", "__asm__", "__asm"), "gnu_asm_expression"),
         "(gnu_asm_expression) @asm"),
        (lambda r: treesitter.tokens(r, re.compile(rb"\b\w+\b"), ("type_identifier", "primitive_type")),
         "[(type_identifier) (primitive_type)] @t"),
    ]
    inline = (b"#  define A __device__\n// #define B 1\n#define F(x) x\n/* c */ #define C 2\n#define D\n"
              b'__device__ void k() { asm volatile("trap;"); __asm__ __volatile__("nop"); __asm("x"); }\n'
              b"typedef unsigned int uint; uint u; __int64_t v; int64_t w;\n"
              b"int f() { return a or b and not c; }\nauto s = \"or\"; int g(int x) { return f() + h(x); }\n")
    checked = [0] * len(pairs)
    for code in [inline, *(p.read_bytes() for p in CPP_FIXTURES)]:
        root = treesitter.parse("cpp", code).root_node
        path = code[:40]
        for i, (found_by_text, query) in enumerate(pairs):
            by_query = [(n.start_byte, n.end_byte) for _, n in treesitter.captures("cpp", query, root)]
            assert [(n.start_byte, n.end_byte) for n in found_by_text(root)] == by_query, (path, query)
            checked[i] += len(by_query)
    assert all(n > 5 for n in checked), checked


class ReturnsNothing(PythonTransform):
    """Records a site and returns None instead of the module."""
    id = "test/returns-nothing"
    summary = "test"
    triggers = ("pass",)

    def rewrite(self, wrapper, ctx: Context):
        ctx.applied((1, 1), "pretends")
        return None


def test_a_rewrite_that_returns_no_module_fails_on_that_file_only(tree):
    root = tree({"setup.py": "", "CMakeLists.txt": "", "csrc/a.cu": "", "vllm/a.py": "pass\n",
                 "vllm/b.py": "x = 1 or 2\npass\n"})
    report = Pipeline([ReturnsNothing(), registry.get("runtime/so-reuseport")], jobs=1).run(str(root))
    res = report.by_id("test/returns-nothing")
    assert res.outcome is Outcome.FAILED and len(res.files) == 2
    assert all("rewrite returned NoneType, not the libcst Module" in f.reason for f in res.files)
    assert report.by_id("runtime/so-reuseport").outcome is not Outcome.FAILED
    assert (root / "vllm/a.py").read_text() == "pass\n"


class SeesCollector(PythonTransform):
    """Records whether automatic garbage collection is on while it rewrites."""
    id = "test/sees-collector"
    summary = "test"
    triggers = ("pass",)
    seen: list[bool] = []

    def rewrite(self, wrapper, ctx: Context):
        SeesCollector.seen.append(gc.isenabled())
        return wrapper.module


@pytest.mark.parametrize("enabled", [True, False])
def test_a_run_pauses_automatic_collection_and_restores_the_callers_setting(tree, enabled, monkeypatch):
    root = tree({"setup.py": "", "CMakeLists.txt": "", "csrc/a.cu": "", "vllm/a.py": "pass\n"})
    SeesCollector.seen.clear()
    before = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        Pipeline([SeesCollector()], jobs=1).run(str(root))
        assert SeesCollector.seen == [False]
        assert gc.isenabled() is enabled
        def fails(*args):
            raise OSError("disk gone")

        monkeypatch.setattr(pipeline, "_process", fails)
        with pytest.raises(OSError, match="disk gone"):  # and after a run that raises
            Pipeline([SeesCollector()], jobs=1).run(str(root))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if before else gc.disable)()
