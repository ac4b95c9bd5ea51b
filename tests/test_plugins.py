"""A faulty plug-in is contained: it never takes a run down, never exits 1 (``--check``'s
"changes pending") and never prints a traceback where a sentence does; the message
names the plug-in and what is wrong with it."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import install_plugin, run
from test_cli import FAKE_VLLM
from winport import Outcome, Pipeline, registry, testing
from winport.cli import main

GOOD = '''
from winport import CppTransform

class Shout(CppTransform):
    """Test plug-in."""
    id = "plugin/shout"
    summary = "whisper -> WHISPER"
    triggers = ("whisper",)

    def rewrite(self, tree, ctx):
        at = ctx.source.body.index(b"whisper")
        ctx.replace(at, at + 7, "WHISPER", "louder")
'''

NO_TRIGGERS = '''
from winport import CppTransform

class NoTriggers(CppTransform):
    """Forgot its triggers."""
    id = "plugin/no-triggers"
    summary = "no triggers"

    def rewrite(self, tree, ctx):
        pass
'''

RETURNS_NONE = '''
from winport import PythonTransform

class ReturnsNone(PythonTransform):
    """Forgets to return the module."""
    id = "plugin/returns-none"
    summary = "returns None"
    triggers = ("socket",)

    def rewrite(self, module, ctx):
        ctx.applied((1, 1), "looked")
'''

PLAN_RAISES = '''
from winport import CppTransform

class PlanRaises(CppTransform):
    """Its plan crashes."""
    id = "plugin/plan-raises"
    summary = "plan raises"
    triggers = ("__asm__",)

    def plan(self, tree):
        raise KeyError("no such thing")

    def rewrite(self, tree, ctx):
        pass
'''


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install plug-ins for this test: plugins({entry name: (module, code, "module:attr")})."""

    def install(spec: dict[str, tuple[str, str, str]]):
        site = install_plugin(tmp_path / "site", "faulty-plugins", {k: v[2] for k, v in spec.items()},
                              {m: textwrap.dedent(code) for m, code, _ in spec.values()})
        monkeypatch.syspath_prepend(str(site))

    return install


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_builtin_transforms_pass_the_load_check():
    assert {cls.id: registry.problems(cls) for cls in registry.builtin()} == {cls.id: [] for cls in registry.builtin()}


def test_a_transform_without_triggers_is_skipped_with_the_attribute_named(plugins, tree):
    plugins({"shout": ("good_plugin", GOOD, "good_plugin:Shout"),
             "lazy": ("lazy_plugin", NO_TRIGGERS, "lazy_plugin:NoTriggers")})
    listed = _cli("list")
    assert listed.exit_code == 0 and "plugin/shout" in listed.output and "plugin/no-triggers" not in listed.output
    assert "winport: warning: plug-in 'lazy' (lazy_plugin:NoTriggers) skipped: lazy_plugin.NoTriggers: " \
           "`triggers` must be a tuple" in listed.output
    assert "Traceback" not in listed.output

    root = tree(FAKE_VLLM)
    chosen = _cli("rewrite", "--check", "--select", "plugin/no-triggers", str(root))
    assert chosen.exit_code == 2 and "no transform matches 'plugin/no-triggers'" in chosen.output
    assert "lazy_plugin.NoTriggers: `triggers`" in chosen.output and "Traceback" not in chosen.output


def test_a_plugin_that_fails_to_import_is_skipped_unless_selected(plugins, tree):
    plugins({"broken": ("broken_plugin", "import no_such_module_here\n", "broken_plugin:Fix")})
    listed = _cli("list")
    assert listed.exit_code == 0 and "cuda/asm-volatile" in listed.output
    assert "plug-in 'broken' (broken_plugin:Fix) skipped: it failed to load (ModuleNotFoundError" in listed.output
    with pytest.warns(registry.PluginWarning, match="'broken'"):
        assert [t.id for t in registry.all_transforms()] == [cls.id for cls in registry.builtin()]
    explained = _cli("explain", "plugin/fix")
    assert explained.exit_code == 2 and "'broken'" in explained.output


def test_a_rewrite_that_returns_the_wrong_thing_fails_that_file_only(plugins, tree):
    plugins({"none": ("none_plugin", RETURNS_NONE, "none_plugin:ReturnsNone")})
    root = tree(FAKE_VLLM)
    report = run(root, "plugin/returns-none", "runtime/so-reuseport", write=False)
    (failed,) = report.by_id("plugin/returns-none").files
    assert failed.outcome is Outcome.FAILED and failed.path == "vllm/entrypoints/api_server.py"
    assert "rewrite returned NoneType, not the libcst Module" in failed.reason
    assert report.by_id("runtime/so-reuseport").outcome is Outcome.APPLIED  # the run went on

    alone = _cli("rewrite", "--check", "--select", "plugin/returns-none", str(root))
    assert alone.exit_code == 0 and "failed   plugin/returns-none" in alone.output  # nothing pending: not 1
    strict = _cli("rewrite", "--check", "--strict", "--select", "plugin/returns-none", str(root))
    assert strict.exit_code == 3 and "Traceback" not in strict.output


def test_a_plan_that_raises_fails_the_transform_not_the_run(plugins, tree):
    plugins({"plan": ("plan_plugin", PLAN_RAISES, "plan_plugin:PlanRaises")})
    root = tree(FAKE_VLLM)
    report = Pipeline(registry.select(["plugin/plan-raises", "cuda/asm-volatile"]), jobs=1).run(str(root), write=False)
    (failed,) = report.by_id("plugin/plan-raises").files
    assert failed.outcome is Outcome.FAILED and "raised while planning" in failed.reason
    assert "KeyError: 'no such thing'" in failed.reason
    assert report.by_id("cuda/asm-volatile").outcome is Outcome.APPLIED
    strict = _cli("rewrite", "--check", "--strict", "--select", "plugin/plan-raises", str(root))
    assert strict.exit_code == 3 and "failed   plugin/plan-raises: transform plugin/plan-raises raised while " \
                                     "planning:" in strict.output


def test_a_crash_outside_a_transform_exits_4_never_1(tree, monkeypatch):
    root = tree(FAKE_VLLM)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Pipeline, "run", boom)
    res = _cli("rewrite", "--check", str(root))
    assert res.exit_code == 4
    assert "winport: internal error: RuntimeError: disk on fire (raised at" in res.output and "in boom)" in res.output
    assert "Traceback" not in res.output


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "winport-example-plugin"


@pytest.fixture
def example(tmp_path, monkeypatch):
    """The example plug-in, importable from its source folder and registered by entry point."""
    site = install_plugin(tmp_path / "site", "winport-example-plugin", {"example": "winport_example:TRANSFORMS"}, {})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    return EXAMPLE / "src" / "winport_example" / "fixtures"


def test_winport_test_runs_a_plugins_cases_and_shows_a_failing_case_as_a_diff(example):
    passed = _cli("test", str(example))
    assert passed.exit_code == 0, passed.output
    assert "ok    example/os-getuid/uid-check" in passed.output
    assert passed.output.splitlines()[-1] == "winport test: 6 case(s), 6 passed, 0 failed"
    wrong = _cli("test", "-q", str(example), str(EXAMPLE / "broken-case"))
    assert wrong.exit_code == 1
    assert wrong.output.splitlines()[0] == (f"FAIL  example/os-getuid/wrong-after "
                                            f"({EXAMPLE / 'broken-case' / 'example' / 'os-getuid' / 'wrong-after'})")
    assert "  --- expected/vllm/envs.py\n  +++ rewritten/vllm/envs.py\n" in wrong.output
    assert wrong.output.splitlines()[-1] == "winport test: 7 case(s), 6 passed, 1 failed"


def test_winport_test_runs_builtin_cases_by_path():
    one = Path(__file__).resolve().parent.parent / "fixtures" / "runtime" / "so-reuseport"
    res = _cli("test", str(one))
    assert res.exit_code == 0 and res.output.splitlines()[-1] == "winport test: 4 case(s), 4 passed, 0 failed"


def test_winport_test_bad_input_exits_2(tmp_path, example):
    assert _cli("test", str(tmp_path / "nope")).exit_code == 2
    empty = _cli("test", str(tmp_path))
    assert empty.exit_code == 2 and "no fixture case" in empty.output
    unknown = tmp_path / "cases" / "nobody" / "installed-this" / "case" / "before"
    unknown.mkdir(parents=True)
    res = _cli("test", str(tmp_path / "cases"))
    assert res.exit_code == 2 and "names 'nobody/installed-this', which no installed transform is" in res.output
    shutil.rmtree(tmp_path / "cases")
    case = tmp_path / "cases" / "example" / "os-getuid" / "typo"
    (case / "before").mkdir(parents=True)
    (case / "outcome.txt").write_text("aplied\n")
    res = _cli("test", str(tmp_path / "cases"))
    assert res.exit_code == 2 and "outcome.txt: 'aplied' is not an outcome" in res.output


def test_assert_rewrite_in_memory(example):
    from winport_example import OsGetuid

    before = {"vllm/a.py": "import os\n\nUID = os.getuid()\n"}
    testing.assert_rewrite(OsGetuid(), before,
                           {"vllm/a.py": 'import os\n\nUID = (os.getuid() if hasattr(os, "getuid") else 0)\n'})
    testing.assert_rewrite(OsGetuid(), {"vllm/b.py": "from os import getuid\n"}, reported=["vllm/b.py:1"],
                           outcome=Outcome.REPORTED)
    with pytest.raises(AssertionError) as wrong:
        testing.assert_rewrite(OsGetuid(), before, {"vllm/a.py": "import os\n\nUID = 0\n"})
    assert "-UID = 0\n+UID = (os.getuid() if" in str(wrong.value)
    with pytest.raises(AssertionError, match="missing: vllm/b.py:2"):
        testing.assert_rewrite(OsGetuid(), {"vllm/b.py": "from os import getuid\n"}, reported=["vllm/b.py:2"])


def test_explain_and_docs_read_a_plugins_cases(example, tmp_path):
    from winport import docs

    explained = _cli("explain", "example/builtin-expect")
    assert explained.exit_code == 0 and "Example (hints, csrc/ops.cu):" in explained.output
    pages = docs.render(tmp_path, plugins=True)
    page = pages[tmp_path / "transforms" / "example-os-getuid.md"]
    assert "## Example (`example/os-getuid/uid-check`)" in page and "- `already-guarded (must not change)`" in page
    assert set(pages) == {tmp_path / "transforms" / n for n in
                          ("example-builtin-expect.md", "example-os-getuid.md", "README.md")}


def test_the_library_rejects_a_root_that_is_not_a_folder(tmp_path):
    from winport import SourceError

    with pytest.raises(SourceError, match=f"{tmp_path / 'nope'}: no such folder"):
        Pipeline(registry.select(["R6"])).run(tmp_path / "nope", write=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(SourceError, match="no such folder"):
        Pipeline(registry.select(["R6"])).run(str(tmp_path / "file"))
