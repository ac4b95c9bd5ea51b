"""Structural patterns over libcst nodes, spelled as ``libcst.matchers`` spells them.

    from winport.lang import match as m

    CALL = m.Call(func=m.Attribute(m.Name("os"), m.Name("open")), args=[m.Arg(), m.ZeroOrMore()])
    if m.matches(node, CALL): ...
    for call in m.findall(tree, m.Call(func=m.Name("hasattr"))): ...

``m.<NodeName>(...)`` takes the fields of the libcst node of that name, positionally
in the node's field order or by keyword; a field left out matches anything. A field's
pattern is a value (compared with ``==``), another pattern, :class:`OneOf`,
:class:`MatchIfTrue`, ``~pattern`` (does not match), or for a sequence field a list
of those with :class:`ZeroOrMore`, :class:`AtLeastN` and :class:`AtMostN` as
wildcards. A node pattern matches a node of exactly that class, as in
``libcst.matchers``; ``tests/test_match.py`` checks the two agree.

Why not ``libcst.matchers`` itself: importing it builds a matcher class for every
libcst node (about 0.3 s, more than importing libcst), and every winport process
pays that before it can start; the transforms use a small part of it, which this
module gives without the cost (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Sequence

import libcst as cst

__all__ = ["AtLeastN", "AtMostN", "BaseMatcherNode", "DoesNotMatch", "MatchIfTrue", "OneOf", "ZeroOrMore",
           "findall", "matches"]


class BaseMatcherNode:
    """A pattern: :func:`matches` tries it on a node (or a field's value)."""

    def match(self, value: Any) -> bool:  # pragma: no cover - every pattern defines it
        raise NotImplementedError

    def __invert__(self) -> "DoesNotMatch":
        return DoesNotMatch(self)

    def __or__(self, other: Any) -> "OneOf":
        return OneOf(self, other)


class Node(BaseMatcherNode):
    """A libcst node of class ``cls`` whose given fields match."""

    def __init__(self, cls: type, *args: Any, **fields: Any):
        names = _field_names(cls)
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional fields")
        for name, value in zip(names, args):
            if name in fields:
                raise TypeError(f"{cls.__name__}() got field {name!r} twice")
            fields[name] = value
        unknown = set(fields) - set(names)
        if unknown:
            raise TypeError(f"{cls.__name__}() has no field {sorted(unknown)[0]!r}")
        self.cls = cls
        self.fields = tuple(fields.items())

    def match(self, value: Any) -> bool:
        return type(value) is self.cls and all(_matches(getattr(value, name), pattern)
                                               for name, pattern in self.fields)

    def __repr__(self) -> str:
        return f"m.{self.cls.__name__}({', '.join(f'{k}={v!r}' for k, v in self.fields)})"


class OneOf(BaseMatcherNode):
    """Any of the patterns."""

    def __init__(self, *options: Any):
        self.options = options

    def match(self, value: Any) -> bool:
        return any(_matches(value, option) for option in self.options)


class MatchIfTrue(BaseMatcherNode):
    """A value for which ``func`` returns true."""

    def __init__(self, func: Callable[[Any], object]):
        self.func = func

    def match(self, value: Any) -> bool:
        return bool(self.func(value))


class DoesNotMatch(BaseMatcherNode):
    """Anything the pattern does not match (``~pattern``)."""

    def __init__(self, pattern: Any):
        self.pattern = pattern

    def match(self, value: Any) -> bool:
        return not _matches(value, self.pattern)


class _DoNotCare(BaseMatcherNode):
    def match(self, value: Any) -> bool:
        return True


DoNotCare = _DoNotCare


class _Repeat(BaseMatcherNode):
    """In a sequence pattern: between ``least`` and ``most`` (None: any number of)
    consecutive elements, each matching ``pattern``."""

    least = 0
    most: int | None = None

    def __init__(self, pattern: Any = None):
        self.pattern = _DoNotCare() if pattern is None else pattern

    def match(self, value: Any) -> bool:
        return _matches(value, self.pattern)


class ZeroOrMore(_Repeat):
    pass


class AtLeastN(_Repeat):
    def __init__(self, pattern: Any = None, *, n: int):
        super().__init__(pattern)
        self.least = n


class AtMostN(_Repeat):
    def __init__(self, pattern: Any = None, *, n: int):
        super().__init__(pattern)
        self.most = n


def matches(node: Any, pattern: Any) -> bool:
    """Whether ``node`` (a libcst node, or None) matches ``pattern``."""
    return _matches(node, pattern)


def findall(tree: cst.CSTNode, pattern: Any) -> list[cst.CSTNode]:
    """Every node of ``tree`` (itself included) that matches ``pattern``, in visiting order."""
    return [node for node in _walk(tree) if _matches(node, pattern)]


def _walk(tree: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _matches(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, BaseMatcherNode):
        return pattern.match(value)
    if isinstance(pattern, (list, tuple)):
        return isinstance(value, Sequence) and not isinstance(value, str) and _sequence(list(value), list(pattern))
    return bool(value == pattern)


def _sequence(values: list, patterns: list) -> bool:
    if not patterns:
        return not values
    first, rest = patterns[0], patterns[1:]
    if isinstance(first, _Repeat):
        most = len(values) if first.most is None else min(first.most, len(values))
        taken = 0
        while taken < first.least:
            if taken >= len(values) or not first.match(values[taken]):
                return False
            taken += 1
        while True:
            if _sequence(values[taken:], rest):
                return True
            if taken >= most or not first.match(values[taken]):
                return False
            taken += 1
    return bool(values) and _matches(values[0], first) and _sequence(values[1:], rest)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    return names


def __getattr__(name: str) -> Callable[..., Node]:
    """``m.Call``, ``m.Name``, ...: a pattern for the libcst node class of that name."""
    cls = getattr(cst, name, None)
    if not (isinstance(cls, type) and issubclass(cls, cst.CSTNode) and dataclasses.is_dataclass(cls)):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def pattern(*args: Any, **fields: Any) -> Node:
        return Node(cls, *args, **fields)

    pattern.__name__ = pattern.__qualname__ = name
    globals()[name] = pattern  # the next lookup finds it without this function
    return pattern
