"""Download a vLLM source release from PyPI, verify it, cache it, unpack it safely.

The sdist's sha256 comes from the package index (PEP 691 JSON); a download that
does not match is deleted and refused. Archives are cached under the user cache
folder (``WINPORT_CACHE_DIR`` overrides it) next to a ``.sha256`` file, so a
cached release is verified and usable with no network.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

INDEX_URL = os.environ.get("WINPORT_INDEX_URL", "https://pypi.org/simple")
PROJECT = "vllm"
TIMEOUT = 60


class FetchError(Exception):
    """A release could not be fetched or unpacked; the message says why."""


def cache_dir() -> Path:
    env = os.environ.get("WINPORT_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("winport"))


def _index() -> dict:
    url = f"{INDEX_URL.rstrip('/')}/{PROJECT}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot reach the package index {url}: {reason}") from None
    except ValueError as exc:
        raise FetchError(f"the package index {url} sent an unreadable answer: {exc}") from None


def sdist_info(version: str) -> tuple[str, str, str]:
    """(filename, url, sha256) of vLLM ``version``'s sdist on the index."""
    index = _index()
    wanted = f"{PROJECT}-{version}.tar.gz"
    for f in index.get("files", []):
        if f.get("filename") == wanted:
            sha = f.get("hashes", {}).get("sha256")
            if not sha:
                raise FetchError(f"the index publishes no sha256 for {wanted}")
            return wanted, f["url"], sha
    versions = index.get("versions") or sorted({
        f["filename"][len(PROJECT) + 1: -len(".tar.gz")]
        for f in index.get("files", []) if f.get("filename", "").endswith(".tar.gz")})
    near = difflib.get_close_matches(version, versions, n=5, cutoff=0.5)
    hint = f"; nearest: {', '.join(near)}" if near else ""
    raise FetchError(f"vLLM {version} has no source release on the index{hint}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(version: str) -> Path:
    """The verified sdist archive of ``version``, from the cache or the index."""
    folder = cache_dir() / "sdists"
    archive = folder / f"{PROJECT}-{version}.tar.gz"
    sidecar = archive.with_name(archive.name + ".sha256")
    if archive.exists() and sidecar.exists():
        if _sha256(archive) == sidecar.read_text().strip():
            return archive
        archive.unlink()  # corrupted cache entry
        sidecar.unlink()
    filename, url, sha = sdist_info(version)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                h.update(block)
                out.write(block)
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


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack the sdist's top folder into ``dest`` (which must not exist or be empty).

    Every member is checked before anything is written; the tree is built in a
    temporary sibling folder and renamed into place, so ``dest`` is complete or absent.
    """
    dest = Path(dest).absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FetchError(f"{dest}: already exists and is not an empty folder")
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise FetchError(f"{archive}: not a readable tar archive ({exc})") from None
    with tar:
        members = [(m, _member_target(m)) for m in tar.getmembers()]
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
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
            if dest.exists():
                dest.rmdir()
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest


def fetch(version: str, dest: str | os.PathLike) -> Path:
    """Download (or take from the cache) vLLM ``version`` and unpack it into ``dest``."""
    return unpack(download(version), Path(dest))
