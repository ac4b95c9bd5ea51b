"""winport fetch: sha256 verification, the cache, safe unpacking, clear errors.

The index and the download are stood in for with local data; the real PyPI is
used by the integration tests.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
import zipfile

import pytest
from click.testing import CliRunner

from winport import fetch as F
from winport.cli import main


def make_sdist(members: list[tuple[str, bytes | None, str | None]]) -> bytes:
    """(name, data or None for a folder, symlink target) -> tar.gz bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


GOOD = make_sdist([("vllm-9.9.9", None, None), ("vllm-9.9.9/setup.py", b"setup()\n", None),
                   ("vllm-9.9.9/csrc/a.cu", b"int a;\n", None),
                   ("vllm-9.9.9/csrc/link.cu", None, "a.cu")])


def make_wheel(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


WHEEL = make_wheel({"cutlass_library/__init__.py": b"",
                    "cutlass_library/source/include/cutlass/cutlass.h": b"#pragma once\n",
                    "cutlass_library/source/include/cute/config.hpp": b"#pragma once\n",
                    "nvidia_cutlass-4.2.0.0.dist-info/RECORD": b""})


@pytest.fixture
def index(monkeypatch, tmp_path):
    """A fake index serving GOOD as vllm 9.9.9 (the published sha256 can be changed)."""
    state = {"sha": hashlib.sha256(GOOD).hexdigest(), "payload": GOOD, "downloads": 0}
    monkeypatch.setenv("WINPORT_CACHE_DIR", str(tmp_path / "cache"))

    def fake_index(project="vllm"):
        if project == "nvidia-cutlass":
            return {"files": [{"filename": "nvidia_cutlass-4.2.0.0-py3-none-any.whl",
                               "url": "https://files.invalid/cutlass.whl",
                               "hashes": {"sha256": hashlib.sha256(WHEEL).hexdigest()}}]}
        return {"versions": ["9.9.8", "9.9.9", "10.0.0"],
                "files": [{"filename": "vllm-9.9.9.tar.gz", "url": "https://files.invalid/vllm-9.9.9.tar.gz",
                           "hashes": {"sha256": state["sha"]}}]}

    def fake_urlopen(url, timeout=None):
        state["downloads"] += 1
        return io.BytesIO(WHEEL if url.endswith(".whl") else state["payload"])

    monkeypatch.setattr(F, "_index", fake_index)
    monkeypatch.setattr(F.urllib.request, "urlopen", fake_urlopen)
    return state


def test_fetch_unpacks_top_folder_and_caches(index, tmp_path):
    dest = F.fetch("9.9.9", tmp_path / "tree")
    assert (dest / "setup.py").read_bytes() == b"setup()\n"
    assert (dest / "csrc/link.cu").is_symlink()
    F.fetch("9.9.9", tmp_path / "tree2")
    assert index["downloads"] == 1  # the second fetch came from the cache


def test_sha256_mismatch_is_refused_and_nothing_cached(index, tmp_path):
    index["payload"] = GOOD + b"tampered"
    with pytest.raises(F.FetchError, match="sha256 mismatch"):
        F.fetch("9.9.9", tmp_path / "tree")
    assert not (tmp_path / "tree").exists()
    assert not list((tmp_path / "cache" / "sdists").iterdir())


def test_corrupted_cache_entry_is_replaced(index, tmp_path):
    F.download("9.9.9")
    archive = tmp_path / "cache" / "sdists" / "vllm-9.9.9.tar.gz"
    archive.write_bytes(b"garbage")
    F.fetch("9.9.9", tmp_path / "tree")
    assert index["downloads"] == 2 and archive.read_bytes() == GOOD


def test_unknown_version_lists_nearest(index):
    with pytest.raises(F.FetchError, match=r"vLLM 9.9.7 has no source release on the index; nearest: 9\.9\.[89], 9\.9\.[89]"):
        F.download("9.9.7")


def test_no_network_is_a_clear_error_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv("WINPORT_CACHE_DIR", str(tmp_path / "cache"))

    def down(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(F.urllib.request, "urlopen", down)
    res = CliRunner().invoke(main, ["fetch", "0.14.1", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "cannot reach the package index" in res.stderr and "Name or service not known" in res.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("members, message", [
    ([("vllm-1/../../evil.txt", b"x", None)], "unsafe path"),
    ([("/etc/evil.txt", b"x", None)], "unsafe path"),
    ([("vllm-1/ok.txt", b"x", None), ("vllm-1/link", None, "../../outside")], "points outside"),
    ([("vllm-1/link", None, "/etc/passwd")], "points outside"),
])
def test_unsafe_archives_are_rejected_before_writing(tmp_path, members, message):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(make_sdist(members))
    with pytest.raises(F.FetchError, match=message):
        F.unpack(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]


def test_destination_must_be_empty(index, tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "mine.txt").write_text("keep")
    with pytest.raises(F.FetchError, match="already exists"):
        F.fetch("9.9.9", tmp_path / "tree")
    assert (tmp_path / "tree" / "mine.txt").read_text() == "keep"


def test_dependency_wheel_unpacks_its_source_folder_only(index, tmp_path):
    dest = F.fetch_dependency("cutlass", "4.2.0.0", tmp_path / "cutlass")
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["include/cute/config.hpp", "include/cutlass/cutlass.h"]
    assert (F.cache_dir() / "wheels" / "nvidia-cutlass-4.2.0.0.whl").exists()


def test_dependency_errors_name_the_cause(index, tmp_path):
    with pytest.raises(F.FetchError, match="unknown dependency 'cutless'"):
        F.fetch_dependency("cutless", "1.0", tmp_path / "x")
    with pytest.raises(F.FetchError, match="nvidia-cutlass 9.0 has no wheel on the index"):
        F.fetch_dependency("cutlass", "9.0", tmp_path / "y")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_wheel_with_unsafe_member_is_refused(tmp_path):
    bad = tmp_path / "bad.whl"
    bad.write_bytes(make_wheel({"cutlass_library/source/../../evil.h": b"x"}))
    with pytest.raises(F.FetchError, match="unsafe path"):
        F.unpack_wheel(bad, tmp_path / "out", "cutlass_library/source")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.h").exists()


def test_cli_fetches_a_dependency(index, tmp_path):
    dest = tmp_path / "cutlass"
    res = CliRunner().invoke(main, ["fetch", "--dependency", "cutlass", "-q", "4.2.0.0", str(dest)])
    assert res.exit_code == 0, res.output
    assert (dest / "include/cutlass/cutlass.h").exists()
    res = CliRunner().invoke(main, ["fetch", "--dependency", "nccl", "1.0", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown dependency 'nccl'" in res.output
