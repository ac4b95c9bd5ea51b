"""Download a vLLM source release (or a dependency's sources) from the package index,
verify it, cache it, unpack it safely.

The index is the one pip uses (:func:`index_url`: ``PIP_INDEX_URL``, then pip's
configuration, then pip's own default), so a machine behind a mirror needs nothing
new. The sdist's sha256 comes from the index (PEP 691 JSON, or the hashes in a
PEP 503 page's links); a download that does not match is deleted and refused.
Archives are cached under the user cache folder (``WINPORT_CACHE_DIR`` overrides
it) next to a ``.sha256`` file, so a cached release is verified and usable with no
network. ``latest`` names the newest final release that has an sdist.

The sources a vLLM build fetches at configure time are on the same index: CUTLASS's
headers in the ``nvidia-cutlass`` wheel (under ``cutlass_library/source``) and
flash-attention in the ``flash-attn`` sdist. :data:`DEPENDENCIES` names them;
:func:`fetch_dependency` unpacks one into a folder shaped like its checkout.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import html
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PROJECT = "vllm"
TIMEOUT = 60


@dataclass(frozen=True)
class Dependency:
    """Where a dependency's sources are published: an index project, the kind of
    file (``sdist`` or ``wheel``) and the folder inside it that is the checkout."""

    project: str
    kind: str
    folder: str = ""  # inside the archive ("": the sdist's top folder)


DEPENDENCIES = {
    "cutlass": Dependency("nvidia-cutlass", "wheel", "cutlass_library/source"),
    "flash-attn": Dependency("flash-attn", "sdist"),
}


class FetchError(Exception):
    """A release could not be fetched or unpacked; the message says why."""


def cache_dir() -> Path:
    env = os.environ.get("WINPORT_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("winport"))


def index_url() -> str:
    """The package index pip would use: ``WINPORT_INDEX_URL`` (winport's own override),
    ``PIP_INDEX_URL``, ``index-url`` in pip's configuration files, else pip's default."""
    for name in ("WINPORT_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(name):
            return os.environ[name].split()[0]
    configured = _pip_config_index()
    if configured:
        return configured
    try:
        from pip._internal.models.index import PyPI  # pip's own default index
    except ImportError:
        raise FetchError("no package index known: set PIP_INDEX_URL (pip is not installed to ask)") from None
    return PyPI.simple_url


def _pip_config_index() -> str | None:
    """``index-url`` from ``pip config list`` (``install.`` before ``global.``)."""
    import subprocess
    import sys

    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             timeout=30, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = dict(re.findall(r"^(\w+)\.index-url='([^']*)'", out, re.M))
    return found.get("install") or found.get("global") or None


def _index(project: str = PROJECT) -> dict:
    """The index's page for ``project`` as PEP 691 JSON (a PEP 503 HTML page is read into the same shape)."""
    url = f"{index_url().rstrip('/')}/{project}/"
    req = urllib.request.Request(url, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            kind = resp.headers.get("Content-Type", "")
            body = resp.read()
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot reach the package index {url}: {reason}") from None
    try:
        page = _from_html(body.decode("utf-8"), url) if "html" in kind else json.loads(body)
    except ValueError as exc:
        raise FetchError(f"the package index {url} sent an unreadable answer: {exc}") from None
    for f in page.get("files", []):  # file URLs may be relative to the page (PEP 691, PEP 503)
        if isinstance(f, dict) and f.get("url"):
            f["url"] = urllib.parse.urljoin(url, f["url"])
    return page


def _from_html(page: str, base: str) -> dict:
    files = []
    for href, name in re.findall(r'<a\s[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page):
        link = urllib.parse.urljoin(base, html.unescape(href))
        url, _, fragment = link.partition("#")
        algo, _, digest = fragment.partition("=")
        files.append({"filename": name.strip(), "url": url, "hashes": {algo: digest} if digest else {}})
    return {"files": files}


def latest_version() -> str:
    """The newest final (not pre-release) vLLM version with an sdist on the index."""
    from packaging.version import InvalidVersion, Version

    found = []
    for f in _index().get("files", []):
        name = f.get("filename", "")
        if name.startswith(f"{PROJECT}-") and name.endswith(".tar.gz") and not f.get("yanked"):
            try:
                v = Version(name[len(PROJECT) + 1: -len(".tar.gz")])
            except InvalidVersion:
                continue
            if not v.is_prerelease:
                found.append(v)
    if not found:
        raise FetchError(f"the index at {index_url()} lists no source release of vLLM")
    return str(max(found))


def release_file(version: str, project: str = PROJECT, kind: str = "sdist") -> tuple[str, str, str]:
    """(filename, url, sha256) of ``project`` ``version``'s sdist (or, with
    ``kind="wheel"``, its pure-Python wheel) on the index."""
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, canonicalize_name
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    index = _index(project)
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise FetchError(f"{version!r} is not a version") from None
    seen = set(index.get("versions") or ())
    for f in index.get("files", []):
        name = f.get("filename", "")
        try:
            if kind == "wheel" and name.endswith(".whl"):
                found, v = parse_wheel_filename(name)[:2]
            elif kind == "sdist" and name.endswith(".tar.gz"):
                found, v = parse_sdist_filename(name)
            else:
                continue
        except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
            continue
        if found != canonicalize_name(project):
            continue
        seen.add(str(v))
        if v == wanted:
            sha = f.get("hashes", {}).get("sha256")
            if not sha:
                raise FetchError(f"the index publishes no sha256 for {name}")
            return name, f["url"], sha
    label = "vLLM" if project == PROJECT else project
    near = difflib.get_close_matches(version, sorted(seen), n=5, cutoff=0.5)
    hint = f"; nearest: {', '.join(near)}" if near else ""
    what = "source release" if kind == "sdist" else "wheel"
    raise FetchError(f"{label} {version} has no {what} on the index{hint}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(version: str, progress: bool = False, project: str = PROJECT, kind: str = "sdist") -> Path:
    """The verified sdist archive of ``version`` (of ``project``; ``kind="wheel"``: its
    wheel), from the cache or the index; ``progress``: show a progress bar on stderr
    while downloading."""
    folder = cache_dir() / ("sdists" if kind == "sdist" else "wheels")
    archive = folder / f"{project}-{version}{'.tar.gz' if kind == 'sdist' else '.whl'}"
    sidecar = archive.with_name(archive.name + ".sha256")
    if archive.exists() and sidecar.exists():
        if _sha256(archive) == sidecar.read_text().strip():
            return archive
        archive.unlink()  # corrupted cache entry
        sidecar.unlink()
    filename, url, sha = release_file(version, project, kind)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            bar = _bar(filename, resp) if progress else None
            for block in iter(lambda: resp.read(1 << 18), b""):
                h.update(block)
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
            if bar is not None:
                bar.render_finish()
        if h.hexdigest() != sha:
            raise FetchError(f"{filename}: sha256 mismatch (index says {sha}, got {h.hexdigest()}); "
                             "download discarded")
        os.replace(tmp, archive)
        sidecar.write_text(sha + "\n")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise FetchError(f"downloading {url} failed: {getattr(exc, 'reason', exc)}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return archive


def _bar(filename: str, resp):
    """A progress bar on stderr for a download (its size from Content-Length)."""
    import sys

    import click

    size = getattr(resp, "headers", {}).get("Content-Length")
    if not (size and size.isdigit()):
        return None  # no size to measure against
    bar = click.progressbar(length=int(size), label=f"downloading {filename}", file=sys.stderr, width=30)
    bar.render_progress()
    return bar


def _member_target(member: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's path below the archive's top folder, or None for the folder itself.

    Raises FetchError for anything that could land outside the destination."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or "\\" in member.name or ":" in member.name:
        raise FetchError(f"unsafe path in archive: {member.name!r}")
    if member.issym() or member.islnk():
        link = PurePosixPath(member.linkname)
        resolved = (name.parent / link) if member.issym() else link
        if link.is_absolute() or not _inside(resolved, name.parts[0]):
            raise FetchError(f"archive link {member.name!r} points outside the tree: {member.linkname!r}")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise FetchError(f"archive member {member.name!r} is not a file, folder or link")
    parts = name.parts[1:]
    return PurePosixPath(*parts) if parts else None


def _inside(path: PurePosixPath, top: str) -> bool:
    """Whether ``path`` (relative to the archive root), with '..' resolved, stays under ``top``."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return False
            parts.pop()
        elif part != ".":
            parts.append(part)
    return bool(parts) and parts[0] == top and len(parts) > 1


def _require_empty(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FetchError(f"{dest}: already exists and is not an empty folder")


@contextlib.contextmanager
def _built_aside(dest: Path):
    """A temporary sibling of ``dest`` (which must not exist or be empty) to build a
    tree in; renamed to ``dest`` when the block succeeds, removed when it fails."""
    _require_empty(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack the sdist's top folder into ``dest`` (which must not exist or be empty).

    Every member is checked before anything is written; the tree is built in a
    temporary sibling folder and renamed into place, so ``dest`` is complete or absent.
    """
    dest = Path(dest).absolute()
    _require_empty(dest)  # before the archive is read
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise FetchError(f"{archive}: not a readable tar archive ({exc})") from None
    with tar:
        members = [(m, _member_target(m)) for m in tar.getmembers()]
        with _built_aside(dest) as tmp:
            for member, target in members:
                if target is None:
                    continue
                out = tmp / target
                if member.isdir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                if member.issym():
                    os.symlink(member.linkname, out)
                elif member.islnk():
                    shutil.copyfile(tmp / PurePosixPath(*PurePosixPath(member.linkname).parts[1:]), out)
                else:
                    with tar.extractfile(member) as src, open(out, "wb") as fh:  # type: ignore[union-attr]
                        shutil.copyfileobj(src, fh)
                    os.chmod(out, 0o755 if member.mode & 0o111 else 0o644)
    return dest


def unpack_wheel(archive: Path, dest: Path, folder: str) -> Path:
    """Unpack the files under ``folder`` of the wheel ``archive`` into ``dest`` (which
    must not exist or be empty), checked and built aside like :func:`unpack`."""
    dest = Path(dest).absolute()
    _require_empty(dest)  # before the archive is read
    prefix = folder.strip("/") + "/"
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"{archive}: not a readable wheel ({exc})") from None
    with zf:
        members = []
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename or ":" in info.filename:
                raise FetchError(f"unsafe path in archive: {info.filename!r}")
            if info.filename.startswith(prefix) and not info.is_dir():
                members.append((info, PurePosixPath(info.filename[len(prefix):])))
        if not members:
            raise FetchError(f"{archive.name}: no files under {folder}/")
        with _built_aside(dest) as tmp:
            for info, target in members:
                out = tmp / target
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as fh:
                    shutil.copyfileobj(src, fh)
    return dest


def fetch(version: str, dest: str | os.PathLike, progress: bool = False) -> Path:
    """Download (or take from the cache) vLLM ``version`` and unpack it into ``dest``.
    ``progress``: a progress bar on stderr while downloading (on a terminal)."""
    return unpack(download(version, progress), Path(dest))


def fetch_project(project: str, version: str, dest: str | os.PathLike, progress: bool = False) -> Path:
    """Unpack the sdist of another index ``project`` (a serving engine to port with a
    layout, :mod:`winport.layout`) at ``version`` into ``dest``, checked and cached as vLLM's."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", project):
        raise FetchError(f"{project!r} is not a project name")
    return unpack(download(version, progress, project, "sdist"), Path(dest))


def fetch_dependency(name: str, version: str, dest: str | os.PathLike, progress: bool = False) -> Path:
    """Unpack the sources of dependency ``name`` (a key of :data:`DEPENDENCIES`) at
    ``version`` into ``dest``, shaped like the project's own checkout."""
    dep = DEPENDENCIES.get(name)
    if dep is None:
        raise FetchError(f"unknown dependency {name!r} (known: {', '.join(sorted(DEPENDENCIES))})")
    archive = download(version, progress, dep.project, dep.kind)
    if dep.kind == "wheel":
        return unpack_wheel(archive, Path(dest), dep.folder)
    return unpack(archive, Path(dest))
