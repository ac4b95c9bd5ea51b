"""The cache of run reports: asking again about an unchanged tree gives the report of
the earlier run without running; any change to the tree or to winport's code, or a
report with changes to make, runs again."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from test_cli import FAKE_VLLM
from winport import cache, pipeline
from winport.cli import main


@pytest.fixture
def cached(tmp_path_factory, monkeypatch):
    """The cache on, in a folder of the test's own (outside the tree); returns that folder."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.delenv("WINPORT_NO_CACHE", raising=False)
    monkeypatch.setenv("WINPORT_CACHE_DIR", str(folder))
    return folder / "runs"


def _rewrite(root, *args):
    return CliRunner().invoke(main, ["rewrite", *args, str(root)])


def _no_run(monkeypatch):
    def refuse(self, *a, **k):
        raise AssertionError("the pipeline ran")

    monkeypatch.setattr(pipeline.Pipeline, "run", refuse)


def _table(output: str) -> str:
    """The output without the summary's timing."""
    return output.rsplit("files scanned", 1)[0]


def test_an_unchanged_ported_tree_is_answered_from_the_cache(tree, cached, monkeypatch):
    root = tree(FAKE_VLLM)
    assert _rewrite(root).exit_code == 0  # ports: a report with changes is not kept
    assert not list(cached.glob("*.json"))
    again = _rewrite(root)  # nothing to do: computed, kept
    assert again.exit_code == 0 and "from the cache" not in again.output
    assert len(list(cached.glob("*.json"))) == 1
    _no_run(monkeypatch)
    hit = _rewrite(root)
    assert hit.exit_code == 0 and "report from the cache" in hit.output
    assert _table(hit.output) == _table(again.output)


def test_a_hit_on_a_ported_tree_loads_no_transform(tree, cached, monkeypatch):
    """What makes a hit fast: neither the transforms nor the catalogue are imported for it."""
    from winport import registry

    root = tree(FAKE_VLLM)
    _rewrite(root)
    _rewrite(root)
    _no_run(monkeypatch)

    def refuse(*a, **k):
        raise AssertionError("the transforms were loaded")

    monkeypatch.setattr(registry, "builtin", refuse)
    monkeypatch.setattr(registry, "resolve", refuse)
    hit = _rewrite(root)
    assert hit.exit_code == 0 and "report from the cache" in hit.output, hit.output


def test_json_report_of_a_hit_equals_the_runs(tree, cached, monkeypatch, tmp_path_factory):
    root, tmp_path = tree(FAKE_VLLM), tmp_path_factory.mktemp("json")
    _rewrite(root)
    _rewrite(root, "--json", str(tmp_path / "run.json"))
    _no_run(monkeypatch)
    _rewrite(root, "--json", str(tmp_path / "hit.json"))
    run, hit = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("run", "hit"))
    run.pop("seconds"), hit.pop("seconds")
    assert run == hit


@pytest.mark.parametrize("change", ["edit", "touch", "new file", "remove"])
def test_any_change_to_the_tree_runs_again(tree, cached, change):
    root = tree(FAKE_VLLM)
    _rewrite(root)
    _rewrite(root)  # kept
    kernel = root / "csrc" / "kernel.cu"
    if change == "edit":
        kernel.write_text(kernel.read_text() + "int y = a or b;\n")
    elif change == "touch":
        os.utime(kernel, ns=(1, 1))
    elif change == "new file":
        (root / "csrc" / "other.cu").write_text("int z = a and b;\n")
    else:
        (root / "cmake" / "utils.cmake").unlink()
    res = _rewrite(root)
    assert res.exit_code == 0 and "from the cache" not in res.output
    if change in ("edit", "new file"):  # and the new work is done
        assert "1 files changed" in res.output


def test_a_change_to_winports_code_runs_again(tree, cached, monkeypatch):
    root = tree(FAKE_VLLM)
    _rewrite(root)
    _rewrite(root)
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "another winport")
    assert "from the cache" not in _rewrite(root).output


def test_options_are_part_of_the_key(tree, cached):
    root = tree(FAKE_VLLM)
    _rewrite(root)
    _rewrite(root)
    assert "from the cache" not in _rewrite(root, "--select", "cuda/").output


def test_reports_with_changes_to_make_are_not_kept_but_checks_are(tree, cached, monkeypatch):
    root = tree(FAKE_VLLM)
    assert _rewrite(root, "--check").exit_code == 1
    assert _rewrite(root, "--diff").exit_code == 0
    assert not list(cached.glob("*.json"))
    first = CliRunner().invoke(main, ["check", str(root)])
    assert first.exit_code == 1 and len(list(cached.glob("*.json"))) == 1
    _no_run(monkeypatch)
    for fmt in ("text", "json", "sarif"):
        hit = CliRunner().invoke(main, ["check", "--format", fmt, str(root)])
        assert hit.exit_code == 1
    assert CliRunner().invoke(main, ["check", str(root)]).output == first.output
    res = _rewrite(root, "--check")  # a rewrite with changes to make still runs (and the stub refuses)
    assert res.exit_code == 4 and "internal error: AssertionError: the pipeline ran" in res.output


def test_no_cache_and_plugins_turn_it_off(tree, cached, monkeypatch):
    root = tree(FAKE_VLLM)
    _rewrite(root)
    _rewrite(root, "--no-cache")
    assert not list(cached.glob("*.json"))
    monkeypatch.setenv("WINPORT_NO_CACHE", "1")
    _rewrite(root)
    assert not list(cached.glob("*.json"))
    monkeypatch.delenv("WINPORT_NO_CACHE")
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: ["a plug-in"])
    assert not cache.enabled()


def test_an_unreadable_entry_is_computed_again(tree, cached):
    root = tree(FAKE_VLLM)
    _rewrite(root)
    _rewrite(root)
    (entry,) = cached.glob("*.json")
    entry.write_text("{not json")
    res = _rewrite(root)
    assert res.exit_code == 0 and "from the cache" not in res.output
    assert "report from the cache" in _rewrite(root).output  # kept again, readable


def test_only_the_newest_entries_stay(tree, cached, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    root = tree(FAKE_VLLM)
    _rewrite(root)
    for ids in ("cuda/", "build/", "runtime/"):
        _rewrite(root, "--select", ids)
    assert len(list(cached.glob("*.json"))) == 2
