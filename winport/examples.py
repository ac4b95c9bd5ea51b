"""Fixture cases: small hand-written trees that show what each transform does.

Layout: ``fixtures/<area>/<name>/<case>/before/<path in a vLLM tree>`` and, unless
the case must not change, the same paths under ``after/``; ``reported.txt`` lists
``path:line`` of each site the transform must report, ``outcome.txt`` the outcome
when it is not the usual one. The cases feed the test harness (:mod:`winport.testing`,
``winport test``), ``winport explain`` and the generated documentation pages.

A plug-in keeps its cases in the same layout under a folder of its own and names
that folder in its transforms' ``fixture_root``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .transform import Transform


@dataclass(frozen=True)
class Case:
    transform: str
    name: str
    folder: Path

    @property
    def before(self) -> Path:
        return self.folder / "before"

    @property
    def after(self) -> Path:
        """The expected tree; a case without ``after/`` must come out unchanged."""
        after = self.folder / "after"
        return after if after.is_dir() else self.before

    @property
    def unchanged(self) -> bool:
        return not (self.folder / "after").is_dir()

    @property
    def reported(self) -> set[str]:
        """``path:line`` of every site the transform must report (``reported.txt``)."""
        listing = self.folder / "reported.txt"
        if not listing.is_file():
            return set()
        return {line.strip() for line in listing.read_text().splitlines() if line.strip()}

    @property
    def outcome(self) -> str | None:
        """The outcome the case must end in (``outcome.txt``), when it is not the usual one."""
        path = self.folder / "outcome.txt"
        return path.read_text().strip() if path.is_file() else None

    def files(self, which: str = "before") -> dict[str, bytes]:
        """The case's tree as data: {relative path: bytes}. Byte-compiled files are
        not part of it (an installer compiles the ``.py`` files of the installed
        fixtures, leaving ``__pycache__`` folders beside them)."""
        top = self.before if which == "before" else self.after
        out = {}
        for dirpath, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for n in names:
                if not n.endswith((".pyc", ".pyo")):
                    full = Path(dirpath) / n
                    out[full.relative_to(top).as_posix()] = full.read_bytes()
        return out

    def write(self, dest: Path, which: str = "before") -> Path:
        """Write the case's tree (:meth:`files`) under ``dest``, a new folder; return it."""
        for rel, data in self.files(which).items():
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        dest.mkdir(parents=True, exist_ok=True)
        return dest


def root() -> Path:
    """The folder of winport's own cases."""
    return Path(str(resources.files("winport.fixtures")))


def root_of(transform: "str | Transform") -> Path:
    """The folder holding ``transform``'s cases under ``<area>/<name>/``: its
    ``fixture_root`` (a plug-in's), else winport's own (:func:`root`)."""
    if isinstance(transform, str):
        if (root() / transform).is_dir():
            return root()
        from . import registry

        try:
            transform = registry.get(transform)
        except registry.RegistryError:
            return root()
    return Path(transform.fixture_root) if transform.fixture_root is not None else root()


def cases(transform: "str | Transform") -> list[Case]:
    """The cases of a transform (by id or instance), by name."""
    tid = transform if isinstance(transform, str) else transform.id
    folder = root_of(transform) / tid
    if not folder.is_dir():
        return []
    return [Case(tid, d.name, d) for d in sorted(folder.iterdir()) if (d / "before").is_dir()]


def find(path: Path) -> list[Case]:
    """Every case at or under ``path`` (a fixtures folder, one transform's folder or one
    case), its transform's id read from the two folders above it (``<area>/<name>/<case>``)."""
    path = Path(path)
    if (path / "before").is_dir():
        found = [path]
    else:
        found = sorted(p.parent for p in path.rglob("before") if p.is_dir()
                       and not {"before", "after"} & set(p.relative_to(path).parts[:-1]))
    return [Case(f"{c.parent.parent.name}/{c.parent.name}", c.name, c) for c in found]


def first_example(transform: "str | Transform") -> Case | None:
    """The case that shows the rewrite best: the first one that changes something."""
    return next((c for c in cases(transform) if not c.unchanged), None)
