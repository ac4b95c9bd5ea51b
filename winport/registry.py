"""The transforms winport knows: the built-in catalogue, then plug-ins.

A third-party package adds transforms with an entry point in the group
``winport.transforms`` naming a Transform subclass or a list of them::

    [project.entry-points."winport.transforms"]
    mine = "my_package.fixes:MyTransform"
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Iterable, Sequence

from .transform import Transform

ENTRY_POINT_GROUP = "winport.transforms"


class RegistryError(Exception):
    pass


def builtin() -> list[type[Transform]]:
    from .transforms import ALL

    return list(ALL)


def plugins() -> list[type[Transform]]:
    found: list[type[Transform]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:
            raise RegistryError(f"plug-in {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        items = obj if isinstance(obj, (list, tuple)) else [obj]
        for item in items:
            if not (isinstance(item, type) and issubclass(item, Transform)):
                raise RegistryError(f"plug-in {ep.name!r} ({ep.value}) is not a winport Transform subclass")
            found.append(item)
    return sorted(found, key=lambda c: c.id)


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
                raise RegistryError(f"no transform matches {key!r} (known: {known})")
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
    raise RegistryError(f"unknown transform {transform_id!r}")


def widened(t: Transform) -> Transform:
    """``t`` without its ``exclude`` globs (``winport check --all-backends`` runs the
    detectors over the CPU and ROCm sources too)."""
    if not t.exclude:
        return t
    wide = type(t)()
    wide.exclude = ()
    return wide
