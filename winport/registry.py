"""The transforms winport knows: the built-in catalogue, then plug-ins.

A third-party package adds transforms with an entry point in the group
``winport.transforms`` naming a Transform subclass or a list of them::

    [project.entry-points."winport.transforms"]
    mine = "my_package.fixes:MyTransform"
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Iterable

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


def select(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Transform]:
    """Transforms chosen by id (``cuda/asm-volatile``), area (``cuda/`` or ``cuda``)
    or catalogue id (``K5``). Unknown keys are an error."""
    everything = all_transforms()
    select, ignore = list(select), list(ignore)
    for key in select + ignore:
        if not any(_matches(t, key) for t in everything):
            known = ", ".join(t.id for t in everything)
            raise RegistryError(f"no transform matches {key!r} (known: {known})")
    chosen = [t for t in everything if not select or any(_matches(t, k) for k in select)]
    return [t for t in chosen if not any(_matches(t, k) for k in ignore)]


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
