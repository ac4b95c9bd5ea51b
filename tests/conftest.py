from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from winport import Pipeline, registry
from winport.cli import main
from winport.fetch import fetch
from winport.testing import parse_problems  # noqa: F401 (tests import it from here)

# Runs in the tests neither read nor keep reports in the user's cache (tests/test_cache.py
# turns it on in a folder of its own); subprocesses inherit this.
os.environ["WINPORT_NO_CACHE"] = "1"


@pytest.fixture
def tree(tmp_path: Path):
    """Write {relative path: text or bytes} into a fresh folder and return it."""

    def make(files: dict[str, str | bytes]) -> Path:
        for rel, content in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content.encode() if isinstance(content, str) else content)
        return tmp_path

    return make


def run(root: Path, *ids: str, write: bool = True, jobs: int = 1):
    return Pipeline(registry.select(ids), jobs=jobs).run(str(root), write=write)


def install_plugin(site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
    """Make an installed distribution ``name`` under ``site`` (put on sys.path by the caller)
    whose ``winport.transforms`` entry points are ``entry_points`` and whose top-level
    modules are ``modules`` ({module name: code})."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[winport.transforms]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    for module, code in modules.items():
        (site / f"{module}.py").write_text(code)
    return site


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


RELEASES = ("0.14.1", "0.18.0", "0.26.0", "0.33.0")


class Ported:
    """A real release: its pristine tree, a ported copy, and the reports of two runs."""

    def __init__(self, version: str, tmp: Path):
        self.version = version
        self.root = tmp / f"vllm-{version}"
        self.pristine = tmp / f"vllm-{version}-pristine"
        fetch(version, self.pristine)
        shutil.copytree(self.pristine, self.root, symlinks=True)
        # the CLI's --check and --diff before porting: both must write nothing
        self.check_before = CliRunner().invoke(main, ["rewrite", "--check", str(self.root)])
        self.diff_before = CliRunner().invoke(main, ["rewrite", "--diff", str(self.root)]).stdout
        self.report = Pipeline(registry.select()).run(str(self.root))
        self.second = Pipeline(registry.select()).run(str(self.root))


@pytest.fixture(scope="session", params=RELEASES)
def ported(request, tmp_path_factory):
    """Each reference release, fetched by winport and ported once per session."""
    p = Ported(request.param, tmp_path_factory.mktemp(request.param))
    yield p
    shutil.rmtree(p.root.parent, ignore_errors=True)


# Fixtures that download real sources: a test using one belongs to the `release` tier.
RELEASE_FIXTURES = {"ported", "ported_dependencies", "dependency"}


def pytest_collection_modifyitems(config, items):
    """Refuse a test that downloads real sources without the `release` marker: the
    default run (the fast tier) must never reach the network."""
    unmarked = [item.nodeid for item in items if RELEASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("release") is None]
    if unmarked:
        raise pytest.UsageError("these tests use a real release but are not marked `release`: "
                                + ", ".join(unmarked[:5]))
