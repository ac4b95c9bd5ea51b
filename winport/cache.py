"""Reports of earlier runs, so that asking again about an unchanged tree costs a walk
of the tree instead of a run (as black and ruff skip the files they checked before).

An entry's key is what ran (the command and its options), winport's own code (the
bytes of every source file of ``winport`` and ``winport.transforms``), the versions of
the parsers, and the tree as the file system describes it: every file
:func:`~winport.sources.discover` finds, with its size, modification and change times
(ns) and inode. Editing, touching, copying or replacing any file gives another key.

Kept are the reports of ``winport check`` and those of ``winport rewrite`` that leave
nothing to write (a tree already ported): a report with changes to make is never
taken from here. Installed plug-ins turn the cache off (their code is not part of the
key), as do ``--no-cache`` and ``WINPORT_NO_CACHE=1``. Entries are files under
``<user cache dir>/runs/``; the newest :data:`KEEP` stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from .model import FileResult, Outcome, Report, Site, TransformResult
from .sources import discover_stats

FORMAT = 1
KEEP = 64
PARSERS = ("libcst", "tree-sitter", "tree-sitter-cuda", "tree-sitter-cmake", "ahocorasick-rs")


def enabled() -> bool:
    if os.environ.get("WINPORT_NO_CACHE", "") not in ("", "0"):
        return False
    from importlib.metadata import entry_points

    from .registry import ENTRY_POINT_GROUP

    return not list(entry_points(group=ENTRY_POINT_GROUP))


def folder() -> Path:
    from .fetch import cache_dir

    return cache_dir() / "runs"


def code_fingerprint() -> str:
    """A digest of winport's own source files and the parsers' versions."""
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec

    h = hashlib.sha256(f"format {FORMAT}".encode())
    homes = [os.path.dirname(os.path.abspath(__file__))]
    spec = find_spec("winport.transforms")
    homes += list(spec.submodule_search_locations or ()) if spec else []
    for home in homes:
        for dirpath, dirnames, filenames in os.walk(home):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".py"):
                    full = os.path.join(dirpath, name)
                    h.update(os.path.relpath(full, home).encode() + b"\0")
                    with open(full, "rb") as fh:
                        h.update(hashlib.sha256(fh.read()).digest())
    for name in PARSERS:
        try:
            h.update(f"{name}={version(name)}\0".encode())
        except PackageNotFoundError:
            h.update(f"{name}=?\0".encode())
    return h.hexdigest()


def tree_signature(files: "list[tuple[str, os.stat_result]]") -> str:
    """A digest of :func:`~winport.sources.discover_stats`' files and what lstat said of each."""
    h = hashlib.sha256()
    for path, st in files:
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\0".encode())
    return h.hexdigest()


class RunCache:
    """The entry of one command with its options on one tree (computed on creation)."""

    def __init__(self, root: str, command: str, options: dict):
        self.started = time.perf_counter()
        self.command = command
        ident = json.dumps({"command": command, "options": options, "code": code_fingerprint()}, sort_keys=True)
        files = list(discover_stats(root))
        self.paths = [path for path, _ in files]  # the tree's files: a run on a miss need not walk it again
        self.key = hashlib.sha256(f"{ident}\0{tree_signature(files)}".encode()).hexdigest()
        self.path = folder() / f"{self.key}.json"

    def load(self, root: str, write: bool) -> Report | None:
        """The stored report, as a run on ``root`` would have given it (with no
        changes: ``check`` uses its findings only), or None."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            report = _load(data, root, write)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none yet, or unreadable: the run computes it again
        try:
            os.utime(self.path)  # recently used entries are kept longest
        except OSError:
            pass
        return report

    def store(self, report: Report) -> None:
        if self.command == "rewrite" and report.changed:
            return  # a report with changes to make is never taken from the cache
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".entry-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(_dump(report), fh)
            os.replace(tmp, self.path)
            _prune(self.path.parent)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _prune(where: Path) -> None:
    entries = sorted(where.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        try:
            old.unlink()
        except OSError:
            pass


def _site(s: Site) -> list:
    return [s.path, s.line, s.column, s.message]


def _dump(report: Report) -> dict:
    return {
        "files_scanned": report.files_scanned,
        "limits": list(report.limits),
        "tree": report.tree,
        "layout": report.layout,
        "transforms": [{
            "id": t.id, "seed": t.seed, "summary": t.summary, "drift": t.drift, "note": t.note,
            "not_applicable": t.not_applicable,
            "files": [[f.path, f.outcome.value, [_site(s) for s in f.sites], [_site(s) for s in f.reported],
                       f.reason] for f in t.files],
        } for t in report.transforms],
    }


def _load(data: dict, root: str, write: bool) -> Report:
    transforms = [TransformResult(t["id"], t["seed"], t["summary"], drift=t["drift"], note=t.get("note", ""),
                                  not_applicable=t.get("not_applicable", ""), files=[
        FileResult(t["id"], path, Outcome(outcome), [Site(*s) for s in sites], [Site(*s) for s in reported], reason)
        for path, outcome, sites, reported, reason in t["files"]]) for t in data["transforms"]]
    return Report(root=os.path.abspath(root), transforms=transforms, written=write,
                  files_scanned=data["files_scanned"], limits=tuple(data["limits"]), cached=True,
                  tree=data.get("tree", "vllm"), layout=data.get("layout"))
