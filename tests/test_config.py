"""Settings from winport.toml or pyproject.toml's [tool.winport] in the folder winport
runs from; the command line wins."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from test_cli import FAKE_VLLM
from winport.cli import main


@pytest.fixture
def project(tree, tmp_path_factory, monkeypatch):
    """A vLLM tree, and a separate folder winport runs from (where settings live)."""
    vllm = tree(FAKE_VLLM)
    here = tmp_path_factory.mktemp("project")
    monkeypatch.chdir(here)
    return vllm, here


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ran(vllm, *args) -> set[str]:
    """The transforms a `rewrite --check --json` ran."""
    res = invoke("rewrite", "--check", "--json", vllm.parent / "r.json", *args, vllm)
    assert res.exit_code in (0, 1), res.output
    return {t["id"] for t in json.loads((vllm.parent / "r.json").read_text())["transforms"]}


def test_winport_toml_selects_and_the_command_line_wins(project):
    vllm, here = project
    (here / "winport.toml").write_text('select = ["cuda/asm-volatile", "cuda/alt-tokens"]\nignore = "K6"\n')
    assert ran(vllm) == {"cuda/asm-volatile"}
    assert ran(vllm, "--select", "runtime/so-reuseport") == {"runtime/so-reuseport"}
    shown = invoke("rewrite", "--show-settings", "--jobs", "3", vllm).output
    assert 'select = ["cuda/asm-volatile", "cuda/alt-tokens"]' in shown and "winport.toml" in shown
    assert "jobs   = 3  (command line (--jobs))" in shown and "strict = false  (default)" in shown


def test_pyproject_tool_table_and_winport_toml_first(project):
    vllm, here = project
    (here / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.winport]\nselect = ["build/"]\n')
    assert ran(vllm) and all(t.startswith("build/") for t in ran(vllm))
    assert "[tool.winport]" in invoke("rewrite", "--show-settings", vllm).output
    (here / "winport.toml").write_text('select = ["runtime/so-reuseport"]\n')  # both: winport.toml is used
    assert ran(vllm) == {"runtime/so-reuseport"}


def test_strict_from_the_file_and_no_strict_on_the_command_line(project, tree):
    vllm, here = project
    (vllm / "setup.py").write_text("print('no anchors here')\n")  # build/ transforms drift
    (here / "winport.toml").write_text('strict = true\nselect = ["build/target-device"]\n')
    assert invoke("rewrite", "--check", vllm).exit_code == 3
    assert invoke("rewrite", "--check", "--no-strict", vllm).exit_code == 0


def test_check_reads_the_settings_too(project):
    vllm, here = project
    (here / "winport.toml").write_text('select = ["runtime/so-reuseport"]\n')
    out = invoke("check", "--format", "json", vllm)
    assert {f["transform"] for f in json.loads(out.output)["findings"]} == {"runtime/so-reuseport"}


@pytest.mark.parametrize("text, message", [
    ("selct = []\n", "unknown setting 'selct'"),
    ("jobs = 0\n", "jobs must be a whole number"),
    ("strict = 1\n", "strict must be true or false"),
    ("select = [1]\n", "select must be a list"),
    ("select = [\n", "not valid TOML"),
])
def test_a_bad_setting_is_an_input_error_naming_file_and_key(project, text, message):
    vllm, here = project
    (here / "winport.toml").write_text(text)
    res = invoke("rewrite", vllm)
    assert res.exit_code == 2 and message in res.output and "winport.toml" in res.output
    assert invoke("check", vllm).exit_code == 2


# select / ignore across the file and the command line, as ruff resolves its rules
@pytest.mark.parametrize("levels, chosen", [
    # a command line that selects starts anew: the file's ignore no longer applies
    ([([], ["K6"]), (["K6"], [])], {"cuda/alt-tokens"}),
    ([(["cuda/"], ["K6"]), (["K6"], [])], {"cuda/alt-tokens"}),
    ([(["build/"], []), (["K6"], [])], {"cuda/alt-tokens"}),
    # a command line that only ignores removes from the file's choice
    ([(["cuda/asm-volatile", "K6"], []), ([], ["K6"])], {"cuda/asm-volatile"}),
    ([(["K5", "K6"], ["K5"]), ([], ["K6"])], set()),
    # within one level the narrower selector wins, ignore between equals
    ([(["cuda/"], ["K6", "K5"])], "cuda/ less K5, K6"),
    ([(["K6"], ["cuda/"])], {"cuda/alt-tokens"}),
    ([(["K6"], ["K6"])], set()),
    ([(["cuda/", "cuda/alt-tokens"], ["cuda"])], {"cuda/alt-tokens"}),
])
def test_selection_levels_resolve_as_ruff_does(levels, chosen):
    from winport import registry

    ids = {t.id for t in registry.resolve(levels)}
    if chosen == "cuda/ less K5, K6":
        chosen = {t.id for t in registry.select(["cuda/"])} - {"cuda/alt-tokens", "cuda/asm-volatile"}
        assert len(chosen) > 5
    assert ids == chosen


def test_command_line_select_wins_over_the_files_ignore(project):
    vllm, here = project
    (here / "winport.toml").write_text('ignore = ["K6"]\n')
    assert "cuda/alt-tokens" not in ran(vllm)
    assert ran(vllm, "--select", "K6") == {"cuda/alt-tokens"}
    assert ran(vllm, "--ignore", "K5") & {"cuda/alt-tokens", "cuda/asm-volatile"} == set()
    shown = invoke("rewrite", "--show-settings", "--select", "K6", vllm).output
    assert 'select = ["K6"]  (command line)' in shown
    assert 'ignore = ["K6"]  (' in shown and "winport.toml; not applied: command line selects anew)" in shown
