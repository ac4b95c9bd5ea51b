"""Where a tree keeps what the transforms read: its layout.

Transforms declare their files in vLLM's layout (``vllm/**/*.py``, ``csrc/**/*.cu``,
``setup.py``, ``CMakeLists.txt``, ``requirements/*.txt``). Another serving engine
keeps the same kinds of files elsewhere; a :class:`Layout` names where, by role:

=============== ================ ==================================================
role            vLLM's           what it is
=============== ================ ==================================================
``python``      ``vllm``         the Python package
``kernels``     ``csrc``         the C++/CUDA sources
``build``       ``.``            the folder of the top ``CMakeLists.txt`` (and ``cmake/``)
``setup``       ``setup.py``     the setup script
``requirements`` ``requirements`` the requirements files
=============== ================ ==================================================

``winport rewrite --layout python=sglang DIR`` (or ``[layout]`` in winport.toml,
``[tool.winport.layout]`` in pyproject.toml) runs every transform over the files its
roles name in that tree. A transform whose role the tree lacks is *not applicable*,
with the reason. On a tree in another layout a transform's ``expects`` (an anchor in
vLLM's own code) is not asked for: its absence is not drift there.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import Iterable, Mapping

#: role -> its path in vLLM's layout
VLLM_PATHS: dict[str, str] = {"python": "vllm", "kernels": "csrc", "build": ".", "setup": "setup.py",
                              "requirements": "requirements"}

#: the first part of a glob written in vLLM's layout -> its role
_FIRST: dict[str, str] = {"vllm": "python", "csrc": "kernels", "requirements": "requirements",
                          "setup.py": "setup", "CMakeLists.txt": "build", "cmake": "build", "**": "build"}


class LayoutError(ValueError):
    """A layout winport cannot use; the message names the role or path."""


@dataclass(frozen=True)
class Layout:
    """Each role's path, relative to the tree's root (``/``-separated)."""

    paths: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, given: Mapping[str, str] | Iterable[str]) -> "Layout":
        """vLLM's layout with the roles ``given`` moved: ``{"python": "sglang"}`` or
        ``["python=sglang"]``. An unknown role, or a path that leaves the tree, is an error."""
        items = parse(given)
        return cls(tuple((role, items.get(role, default)) for role, default in VLLM_PATHS.items()))

    def path(self, role: str) -> str:
        return dict(self.paths)[role]

    def as_dict(self) -> dict[str, str]:
        return dict(self.paths)

    def moved(self) -> dict[str, str]:
        """The roles not where vLLM keeps them."""
        return {role: path for role, path in self.paths if VLLM_PATHS[role] != path}

    def __str__(self) -> str:
        return ", ".join(f"{role}={path}" for role, path in self.paths)

    # -- globs ---------------------------------------------------------------
    def translate(self, glob: str) -> str:
        """``glob`` (vLLM's layout) in this layout: its first part replaced by its role's path."""
        role = role_of(glob)
        if role is None:
            return glob
        path = self.path(role)
        if role == "build":
            return glob if path == "." else f"{path}/{glob}"
        first, _, rest = glob.partition("/")
        return f"{path}/{rest}" if rest else path

    def missing(self, root: str, roles: Iterable[str]) -> str:
        """Why the tree at ``root`` lacks one of ``roles`` ("" when it has them all)."""
        for role in roles:
            path = self.path(role)
            where = os.path.join(root, path, "CMakeLists.txt") if role == "build" else os.path.join(root, path)
            if not os.path.exists(where):
                shown = posixpath.join(path, "CMakeLists.txt").removeprefix("./") if role == "build" else path
                return (f"the tree has no {role} role ({shown} is missing; "
                        f"set it with --layout {role}=PATH)")
        return ""


def parse(given: Mapping[str, str] | Iterable[str]) -> dict[str, str]:
    """The roles ``given`` (``{"python": "sglang"}`` or ``["python=sglang"]``), checked:
    role -> its path, normalised. An unknown role, or a path that leaves the tree, is an error."""
    items: dict[str, str] = {}
    pairs = given.items() if isinstance(given, Mapping) else (_split(item) for item in given)
    for role, path in pairs:
        if role not in VLLM_PATHS:
            raise LayoutError(f"unknown layout role {role!r} (roles: {', '.join(VLLM_PATHS)})")
        norm = posixpath.normpath(path.replace("\\", "/"))
        if posixpath.isabs(norm) or norm == ".." or norm.startswith("../") or ":" in norm:
            raise LayoutError(f"layout {role}={path}: the path must lie inside the tree")
        items[role] = norm
    return items


def role_of(glob: str) -> str | None:
    """The role a glob written in vLLM's layout reads, or None. A glob of the whole tree
    (``**/...``) reads the build role only when it names CMake files."""
    role = _FIRST.get(glob.split("/", 1)[0])
    if role == "build" and glob.startswith("**") and not glob.endswith(("CMakeLists.txt", ".cmake")):
        return None
    return role


def roles(globs: Iterable[str]) -> list[str]:
    """The roles of ``globs``, in order, each once."""
    return list(dict.fromkeys(r for g in globs if (r := role_of(g)) is not None))


def _split(item: str) -> tuple[str, str]:
    role, sep, path = item.partition("=")
    if not sep or not role.strip() or not path.strip():
        raise LayoutError(f"layout {item!r}: expected ROLE=PATH (roles: {', '.join(VLLM_PATHS)})")
    return role.strip(), path.strip()
