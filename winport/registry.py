"""The transforms winport knows: the built-in catalogue, then plug-ins.

A third-party package adds transforms with an entry point in the group
``winport.transforms`` naming a Transform subclass or a list of them::

    [project.entry-points."winport.transforms"]
    mine = "my_package.fixes:MyTransform"
"""

from __future__ import annotations

import re
import warnings
from importlib.metadata import entry_points
from typing import Iterable, Sequence

from .transform import Transform

ENTRY_POINT_GROUP = "winport.transforms"
LANGUAGES = ("cpp", "cmake", "python", "python-ast", "text")


class RegistryError(Exception):
    pass


class PluginWarning(UserWarning):
    """A plug-in was skipped: it failed to load or one of its transforms is malformed."""


#: plug-ins skipped by the last :func:`plugins` call: entry point name -> why
skipped: dict[str, str] = {}


def problems(cls: object) -> list[str]:
    """What is wrong with ``cls`` as a transform class, one line per problem ([] when
    nothing): a subclass of a language family with its metadata and its own ``rewrite``."""
    if not (isinstance(cls, type) and issubclass(cls, Transform)):
        return [f"{cls!r} is not a subclass of winport.Transform"]
    name = f"{cls.__module__}.{cls.__qualname__}"
    out = []

    def strings(attr: str) -> bool:
        value = getattr(cls, attr, None)
        return isinstance(value, tuple) and all(isinstance(x, str) and x for x in value)

    tid = getattr(cls, "id", None)
    if not isinstance(tid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*", tid):
        out.append(f"{name}: `id` must be a string 'area/name' (lower case, digits, '-'), not {tid!r}")
    if not isinstance(getattr(cls, "summary", None), str) or not cls.summary.strip():
        out.append(f"{name}: `summary` must be a one-line string")
    if getattr(cls, "language", None) not in LANGUAGES:
        out.append(f"{name}: subclass one of CppTransform, CMakeTransform, PythonTransform, PythonDetector or "
                   f"TextTransform (`language` is {getattr(cls, 'language', None)!r})")
    if not strings("globs") or not cls.globs:
        out.append(f"{name}: `globs` must be a non-empty tuple of path patterns")
    if not strings("exclude"):
        out.append(f"{name}: `exclude` must be a tuple of path patterns")
    if not strings("triggers"):
        out.append(f"{name}: `triggers` must be a tuple of non-empty strings (() when plan_files chooses the files)")
    if not isinstance(getattr(cls, "seed", ""), str):
        out.append(f"{name}: `seed` must be a string")
    for flag in ("fixes", "portable", "trigger_words"):
        if not isinstance(getattr(cls, flag, False), bool):
            out.append(f"{name}: `{flag}` must be True or False")
    if getattr(cls, "rewrite", None) in {getattr(base, "rewrite", None) for base in _families()}:
        out.append(f"{name}: no `rewrite` method")
    return out


def _families() -> tuple[type, ...]:
    from .transform import CMakeTransform, CppTransform, PythonDetector, PythonTransform, TextTransform

    return (Transform, CppTransform, CMakeTransform, PythonTransform, PythonDetector, TextTransform)


def builtin() -> list[type[Transform]]:
    from .transforms import ALL

    return list(ALL)


def plugins() -> list[type[Transform]]:
    """The transforms of the installed plug-ins, by id. A plug-in that fails to import, or
    one of whose transforms is malformed (:func:`problems`), is skipped whole: a
    :class:`PluginWarning` names it and the cause, and :data:`skipped` keeps the cause, so
    that selecting one of its transforms is an error that says why."""
    found: list[type[Transform]] = []
    skipped.clear()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:
            _skip(ep, f"it failed to load ({type(exc).__name__}: {exc})")
            continue
        items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        wrong = [p for item in items for p in problems(item)]
        if wrong:
            _skip(ep, "; ".join(wrong))
            continue
        found.extend(items)
    return sorted(found, key=lambda c: c.id)


def _skip(ep, why: str) -> None:
    skipped[ep.name] = f"plug-in {ep.name!r} ({ep.value}) skipped: {why}"
    warnings.warn(skipped[ep.name], PluginWarning, stacklevel=3)


def all_transforms() -> list[Transform]:
    """Every transform, in the order they run: built-ins as declared, then plug-ins by id."""
    classes = builtin() + plugins()
    seen: dict[str, type[Transform]] = {}
    for cls in classes:
        if cls.id in seen:
            raise RegistryError(f"two transforms share the id {cls.id!r}: {seen[cls.id].__module__} and {cls.__module__}")
        seen[cls.id] = cls
    return [cls() for cls in classes]


def _matches(t: Transform, key: str) -> bool:
    key = key.strip()
    area = key.rstrip("/")
    return t.id == key or t.area() == area or (t.seed and t.seed.lower() == key.lower())


def _specificity(key: str, everything: list[Transform]) -> int:
    """How narrow a selector is: 1 for an id or a catalogue id (one transform), 0 for
    an area (``cuda/``, every transform in it)."""
    key = key.strip()
    return int(any(t.id == key or (t.seed and t.seed.lower() == key.lower()) for t in everything))


def resolve(levels: Sequence[tuple[Iterable[str], Iterable[str]]]) -> list[Transform]:
    """The transforms chosen by ``(select, ignore)`` pairs, lowest priority first (the
    settings file, then the command line), as ruff resolves its rule selection:

    * a level that selects starts the choice anew: what lower levels selected or
      ignored no longer applies (``--select K6`` runs K6 whatever a file ignores);
    * a level that only ignores removes from what the levels below chose;
    * within a level, a narrower selector wins over a wider one (``--select cuda/
      --ignore K6`` leaves K6 out, ``--select K6 --ignore cuda/`` keeps it), and
      ``ignore`` wins between equals.

    Keys are ids (``cuda/asm-volatile``), areas (``cuda/`` or ``cuda``) or catalogue
    ids (``K5``); an unknown key is an error."""
    everything = all_transforms()
    chosen = set(range(len(everything)))
    for select, ignore in levels:
        select, ignore = list(select), list(ignore)
        for key in select + ignore:
            if not any(_matches(t, key) for t in everything):
                known = ", ".join(t.id for t in everything)
                broken = "".join(f"; {why}" for why in skipped.values())
                raise RegistryError(f"no transform matches {key!r} (known: {known}){broken}")
        if select:
            chosen = set()
        steps = sorted([(_specificity(k, everything), 0, k) for k in select]
                       + [(_specificity(k, everything), 1, k) for k in ignore])
        for _, drop, key in steps:
            hit = {i for i, t in enumerate(everything) if _matches(t, key)}
            chosen = chosen - hit if drop else chosen | hit
    return [t for i, t in enumerate(everything) if i in chosen]


def select(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Transform]:
    """Transforms chosen by id (``cuda/asm-volatile``), area (``cuda/`` or ``cuda``)
    or catalogue id (``K5``): every transform without ``select``, less ``ignore``
    (one level of :func:`resolve`). Unknown keys are an error."""
    return resolve([(select, ignore)])


def get(transform_id: str) -> Transform:
    for t in all_transforms():
        if _matches(t, transform_id) and (t.id == transform_id or t.seed.lower() == transform_id.lower()):
            return t
    broken = "".join(f"; {why}" for why in skipped.values())
    raise RegistryError(f"unknown transform {transform_id!r}{broken}")


def widened(t: Transform) -> Transform:
    """``t`` without its ``exclude`` globs (``winport check --all-backends`` runs the
    detectors over the CPU and ROCm sources too)."""
    if not t.exclude:
        return t
    wide = type(t)()
    wide.exclude = ()
    return wide
