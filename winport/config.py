"""Settings from a file: ``winport.toml``, or ``[tool.winport]`` in ``pyproject.toml``,
in the folder winport runs from. The command line wins over the file; where both
files hold settings, ``winport.toml`` is used (as ruff prefers ``ruff.toml``).
``select`` and ``ignore`` combine as ruff's rule selection does: a command line
that selects starts anew, one that only ignores removes from the file's choice
(:func:`winport.registry.resolve`).

    # winport.toml                      # pyproject.toml
    select = ["cuda/", "runtime/"]      [tool.winport]
    ignore = ["K6"]                     jobs = 4
    jobs = 4
    strict = true                       [tool.winport.layout]
    [layout]                            python = "python/sglang"
    python = "sglang"

``layout`` (:mod:`winport.layout`) merges role by role: ``--layout python=x`` on the
command line moves that role and keeps the file's others.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: setting -> (type, what the command line calls it)
KEYS: dict[str, tuple[type, str]] = {
    "select": (list, "--select"),
    "ignore": (list, "--ignore"),
    "jobs": (int, "--jobs"),
    "strict": (bool, "--strict"),
    "layout": (dict, "--layout"),
}
DEFAULTS: dict[str, Any] = {"select": [], "ignore": [], "jobs": None, "strict": False, "layout": {}}


class ConfigError(Exception):
    """A settings file winport cannot use; the message names the file and the cause."""


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    sources: dict[str, str] = field(default_factory=lambda: {k: "default" for k in DEFAULTS})

    #: (where, select, ignore) of each level that chose transforms, lowest priority first
    levels: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def selection(self) -> list[tuple[list[str], list[str]]]:
        """The (select, ignore) levels for :func:`winport.registry.resolve`."""
        return [(select, ignore) for _, select, ignore in self.levels]

    def show(self) -> str:
        width = max(map(len, self.values))
        lines = []
        for key in KEYS:
            if key in ("select", "ignore") and self.levels:
                lines += self._shown_levels(key, width)
            else:
                lines.append(f"{key.ljust(width)} = {_shown(self.values[key])}  ({self.sources[key]})")
        return "\n".join(lines)

    def _shown_levels(self, key: str, width: int) -> list[str]:
        """``select`` / ``ignore`` of every level that gives them; a level below one that
        selects no longer applies (:func:`winport.registry.resolve`)."""
        lines = []
        for i, (where, select, ignore) in enumerate(self.levels):
            value = select if key == "select" else ignore
            if not value:
                continue
            above = next((w for w, s, _ in self.levels[i + 1:] if s), None)
            note = f"; not applied: {above} selects anew" if above else ""
            lines.append(f"{key.ljust(width)} = {_shown(value)}  ({where}{note})")
        return lines or [f"{key.ljust(width)} = []  (default)"]


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f'{k} = "{v}"' for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "(CPU count)" if value is None else str(value)


def read_file(folder: Path) -> tuple[dict[str, Any], str]:
    """The settings of ``folder``'s files and where they came from ({} and "" if none)."""
    own = folder / "winport.toml"
    if own.is_file():
        return _validated(_load(own), str(own)), str(own)
    project = folder / "pyproject.toml"
    if project.is_file():
        table = _load(project).get("tool", {}).get("winport")
        if table is not None:
            where = f"{project} [tool.winport]"
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: must be a table")
            return _validated(table, where), where
    return {}, ""


def _load(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _validated(table: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {', '.join(KEYS)})")
        kind = KEYS[key][0]
        if kind is list:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {key} must be a list of ids, areas or catalogue ids")
        elif kind is dict:
            from .layout import Layout, LayoutError

            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(f"{where}: {key} must be a table of role = \"path\"")
            try:
                Layout.of(value)
            except LayoutError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: {key} must be a whole number of at least 1")
        elif not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false")
        out[key] = value
    return out


def resolve(command_line: dict[str, Any], folder: Path | None = None) -> Settings:
    """Defaults, overridden by the file in ``folder`` (default: the current folder),
    overridden by what the command line gave (a value of None or () was not given)."""
    settings = Settings()
    from_file, where = read_file(folder or Path.cwd())
    for key, value in from_file.items():
        settings.values[key], settings.sources[key] = value, where
    given = {key: list(value) if isinstance(value, tuple) else value for key, value in command_line.items()
             if not (value is None or value == () or value == [] or value == {})}
    for key, value in given.items():
        settings.values[key] = {**from_file.get(key, {}), **value} if key == "layout" else value
        settings.sources[key] = f"command line ({KEYS[key][1]})"
    # select and ignore are not overridden key by key: each source is a level of the choice
    for level, where_ in ((from_file, where), (given, "command line")):
        select, ignore = _ids(level.get("select", [])), _ids(level.get("ignore", []))
        if select or ignore:
            settings.levels.append((where_, select, ignore))
    return settings


def _ids(values: list[str]) -> list[str]:
    """Keys as given, a comma-separated item split (``--select K1,K2``)."""
    return [v.strip() for item in values for v in item.split(",") if v.strip()]
