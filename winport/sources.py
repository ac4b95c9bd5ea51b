"""Finding files in a tree, decoding them faithfully and writing them back atomically."""

from __future__ import annotations

import codecs
import contextlib
import functools
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from typing import Iterator

# Folders never descended into: VCS data, caches, build outputs, fetched deps.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".deps", ".venv", "node_modules",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".eggs"}
)
# Skipped only at the top of the tree (vLLM has e.g. requirements/build/).
ROOT_SKIP_DIRS = frozenset({"build", "dist", "venv"})

BOM = codecs.BOM_UTF8

# File extension -> language family. CUDA's grammar is a superset of C++, so it
# parses every C-family file (headers are included from .cu files).
LANGUAGES = {
    ".py": "python", ".pyi": "python",
    ".cu": "cpp", ".cuh": "cpp", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".c": "cpp",
    ".h": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp", ".inl": "cpp", ".inc": "cpp",
    ".cmake": "cmake",
    ".txt": "text", ".in": "text", ".toml": "text", ".cfg": "text",
}


def language_of(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name == "CMakeLists.txt":
        return "cmake"
    dot = name.rfind(".")
    return LANGUAGES.get(name[dot:].lower()) if dot >= 0 else None


class SourceError(Exception):
    """A file that cannot be handled; the message names the cause."""


@dataclass
class SourceFile:
    """A file's bytes split into what transforms see and what the engine keeps.

    ``body`` is the content without a UTF-8 BOM; ``newline`` is the file's dominant
    line ending, which inserted text adopts.
    """

    path: str  # relative, with '/' separators
    raw: bytes
    bom: bool
    body: bytes
    newline: str

    @classmethod
    def from_bytes(cls, path: str, raw: bytes) -> "SourceFile":
        bom = raw.startswith(BOM)
        body = raw[len(BOM):] if bom else raw
        crlf = body.count(b"\r\n") if b"\r" in body else 0
        newline = "\r\n" if crlf and crlf * 2 >= body.count(b"\n") else "\n"
        return cls(path, raw, bom, body, newline)

    @functools.cached_property
    def text(self) -> str:
        if b"\x00" in self.body:
            raise SourceError(f"{self.path}: binary content (NUL bytes)")
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path}: not valid UTF-8 (byte {exc.start}): left untouched") from None

    def encode(self, body: bytes) -> bytes:
        """Bytes to write for a new body, keeping the BOM."""
        return (BOM + body) if self.bom else body


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob: ``**/`` spans folders, ``*`` and ``?`` stay in one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "{":
            end = pattern.index("}", i)
            out.append("(?:" + "|".join(re.escape(p) for p in pattern[i + 1:end].split(",")) + ")")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class PathMatcher:
    """Include globs minus exclude globs, matched on '/'-separated relative paths."""

    def __init__(self, include: tuple[str, ...], exclude: tuple[str, ...] = ()):
        self._inc = _either(include)
        self._exc = _either(exclude)

    def __call__(self, path: str) -> bool:
        return self._inc is not None and self._inc.match(path) is not None and \
            (self._exc is None or self._exc.match(path) is None)


def _either(globs: tuple[str, ...]) -> "re.Pattern[str] | None":
    """One expression that matches where any of ``globs`` does (None: no glob)."""
    return re.compile("|".join(f"(?:{glob_to_regex(g).pattern})" for g in globs)) if globs else None


def discover(root: str) -> Iterator[str]:
    """Yield the tree's regular files as sorted relative '/' paths.

    Symlinks are never followed: a linked folder is not entered, a linked file is
    not read (its target, when inside the tree, is found on its own).
    """
    for path, _ in discover_stats(root):
        yield path


def discover_stats(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """:func:`discover`'s files with what ``lstat`` said of each."""
    root = os.path.abspath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.endswith(".egg-info")
            and not (not prefix and d in ROOT_SKIP_DIRS)
            and not os.path.islink(os.path.join(dirpath, d))
        )
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield prefix + name, st


def read(root: str, path: str) -> SourceFile:
    with open(os.path.join(root, path), "rb") as fh:
        return SourceFile.from_bytes(path, fh.read())


TEMP_PREFIX = ".winport-"


def write_atomic(root: str, path: str, expected: bytes, data: bytes) -> None:
    """Replace ``path`` with ``data`` if it still holds ``expected``.

    The bytes go to a temporary file in the same folder, are flushed to disk and
    then renamed over the original, so a reader (or an interrupted run) sees the
    old file or the new one, never a mix. The mode bits are kept.
    """
    full = os.path.join(root, path)
    st = os.stat(full)
    # A file without its owner's write bit is read-only even to root: not ours to override.
    if not st.st_mode & stat.S_IWUSR or not os.access(full, os.W_OK):
        raise SourceError(f"{path}: read-only file, not changed")
    with open(full, "rb") as fh:
        if fh.read() != expected:
            raise SourceError(f"{path}: changed on disk since it was read, not overwritten")
    with _signals_deferred():  # an interrupt waits until this file is whole and the temp file gone
        tmp = _temp_copy(full, data, stat.S_IMODE(st.st_mode))
        try:
            os.replace(tmp, full)
        except BaseException:
            _unlink(tmp)
            raise


def create_atomic(root: str, path: str, data: bytes) -> None:
    """Create ``path`` (inside ``root``) holding ``data``, never replacing a file: the
    bytes go to a temporary file that is then linked into place (or renamed where
    links are not supported, after checking the name is free)."""
    full = os.path.join(root, path)
    if not os.path.realpath(full).startswith(os.path.realpath(root) + os.sep):
        raise SourceError(f"{path}: outside the tree, not written")
    if os.path.lexists(full):
        raise SourceError(f"{path}: appeared on disk since the run began, not overwritten")
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with _signals_deferred():
        tmp = _temp_copy(full, data, 0o644)
        try:
            try:
                os.link(tmp, full)
            except FileExistsError:
                raise SourceError(f"{path}: appeared on disk since the run began, not overwritten") from None
            except OSError:  # no hard links on this file system
                os.replace(tmp, full)
        finally:
            _unlink(tmp)


def _temp_copy(full: str, data: bytes, mode: int) -> str:
    """A temporary file beside ``full`` holding ``data`` on disk, with ``mode``."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=os.path.dirname(full))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM back for the length of the block (POSIX, main thread);
    a signal that came meanwhile is delivered when the block ends."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


LOCK_NAME = ".winport.lock"


class TreeLocked(SourceError):
    """Another winport run holds the tree."""


class TreeLock:
    """An exclusive lock file in the tree for the length of a writing run.

    A lock whose process is gone (a killed run) is taken over; a live one makes
    the second run stop before reading anything."""

    def __init__(self, root: str):
        self.path = os.path.join(root, LOCK_NAME)
        self.held = False

    def __enter__(self) -> "TreeLock":
        # A signal between creating the file and noting that we hold it would leave the
        # lock behind: take it with SIGINT/SIGTERM held back, and give it up again if
        # one is delivered as they are let through (the with-block never started).
        try:
            with _signals_deferred():
                self._take()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        with _signals_deferred():
            self._release()

    def _take(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = self._owner()
                if pid is not None and _alive(pid):
                    raise TreeLocked(f"{LOCK_NAME}: another winport rewrite (pid {pid}) is working on "
                                     "this tree; wait for it, or remove the file if that run is gone") from None
                try:
                    os.unlink(self.path)  # left by a run that was killed
                except FileNotFoundError:
                    pass
                continue
            self.held = True
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()}\n")
            return
        raise TreeLocked(f"{LOCK_NAME}: cannot take the tree's lock")

    def _release(self) -> None:
        if self.held:
            self.held = False
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def _owner(self) -> int | None:
        try:
            with open(self.path) as fh:
                return int(fh.read().strip() or 0) or None
        except (OSError, ValueError):
            return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
