"""What a CUDA build of the tree compiles: its translation units, read from the
top-level ``CMakeLists.txt``, and the files each of them includes.

vLLM lists its sources in ``set(...)``/``list(APPEND ...)`` variables and
``file(GLOB ...)`` patterns, and hands them to an extension-target helper
(``define_gpu_extension_target(_C ... SOURCES ${VLLM_EXT_SRC})``; later releases
call it ``define_extension_target``). A command inside an ``if(VLLM_GPU_LANG
STREQUAL "HIP")`` block, or the ``else`` of a CUDA test, belongs to another build
and is left out; everything else counts, whatever the branch, so the scope over-approximates what one CUDA
configuration compiles (every architecture, every optional kernel). The CPU
backend's targets live in ``cmake/cpu_extension.cmake`` and are not read.

Includes are resolved the way the build's include path does: beside the including
file, then under ``csrc/``. Includes that resolve to no file of the tree (PyTorch,
CUDA, CUTLASS, the standard library) are not followed.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .lang import cmake, treesitter
from .sources import discover

SOURCE_SUFFIXES = (".cu", ".cpp", ".cc", ".c")
_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*[<"]([^>"\n]+)[>"]', re.M)
_PREFIXES = ("${CMAKE_CURRENT_SOURCE_DIR}/", "${CMAKE_SOURCE_DIR}/", "${PROJECT_SOURCE_DIR}/")


@dataclass
class BuildScope:
    """The CUDA build's extension targets and their sources that exist in the tree."""

    targets: dict[str, list[str]] = field(default_factory=dict)
    #: {target: its ``target_compile_definitions`` (every branch), ``-DTORCH_EXTENSION_NAME`` first}
    definitions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def units(self) -> list[str]:
        """Every translation unit of every target, once, in listing order."""
        return list(dict.fromkeys(u for srcs in self.targets.values() for u in srcs))


def extension_targets(root):
    """``(name, command)`` for every command that defines an extension target: its first
    argument names the target and it has ``DESTINATION`` and ``SOURCES`` keywords."""
    for cmd in cmake.commands(root):
        args = cmake.values(cmd)
        if len(args) > 2 and "DESTINATION" in args and "SOURCES" in args and cmake.command_name(cmd) not in (
                "install", "set", "list"):
            yield args[0], cmd


def keyword_items(args: list[str], keyword: str) -> list[str]:
    """The values after ``keyword`` up to the next all-caps keyword."""
    out, on = [], False
    for a in args:
        if a == keyword:
            on = True
        elif on and re.fullmatch(r"[A-Z_]+", a):
            on = False
        elif on:
            out.append(a)
    return out


def outside_cuda(node) -> bool:
    """Whether ``node`` sits in a branch a CUDA build skips: ``if/elseif(... STREQUAL "HIP")``,
    or an ``else`` after ``if(... STREQUAL "CUDA")``."""

    def names(test: list[str], lang: str) -> bool:
        return "STREQUAL" in test and lang in test and ("HIP" if lang == "CUDA" else "CUDA") not in test

    for own, before in cmake.branch_tests(node):
        if names(own, "HIP") or (not own and any(names(t, "CUDA") for t in before)):
            return True
    return False


def _relative(item: str) -> str:
    for prefix in _PREFIXES:
        if item.startswith(prefix):
            return item[len(prefix):]
    return item


def cuda_scope(cmakelists: bytes, files: Iterable[str]) -> BuildScope:
    """The CUDA targets of a top-level ``CMakeLists.txt``; ``files`` (relative paths of
    the tree) resolve ``file(GLOB ...)`` patterns and drop sources the tree lacks
    (those generated at configure time)."""
    present = set(files)
    root = treesitter.parse("cmake", cmakelists).root_node
    variables = cmake.list_variables(root, where=lambda cmd: not outside_cuda(cmd))
    for cmd in cmake.commands(root, "file"):
        args = cmake.values(cmd)
        if len(args) >= 3 and args[0] in ("GLOB", "GLOB_RECURSE") and not outside_cuda(cmd):
            patterns = [_relative(a) for a in args[2:] if not a.isupper()]
            variables.setdefault(args[1], []).extend(
                sorted(f for f in present if any(fnmatch.fnmatchcase(f, p) for p in patterns)))
    scope = BuildScope()
    for name, cmd in extension_targets(root):
        if outside_cuda(cmd):
            continue
        sources = cmake.expand(keyword_items(cmake.values(cmd), "SOURCES"), variables)
        units = [s for s in (_relative(s) for s in sources) if s in present and s.endswith(SOURCE_SUFFIXES)]
        if units:
            scope.targets.setdefault(name, []).extend(u for u in units if u not in scope.targets.get(name, ()))
            scope.definitions.setdefault(name, [f"TORCH_EXTENSION_NAME={name}"])
    for cmd in cmake.commands(root, "target_compile_definitions"):
        args = cmake.values(cmd)
        if args and args[0] in scope.definitions and not outside_cuda(cmd):
            scope.definitions[args[0]] += [a.removeprefix("-D") for a in args[1:]
                                           if a not in ("PRIVATE", "PUBLIC", "INTERFACE") and "$" not in a]
    return scope


def includes(path: str, body: bytes, exists: Callable[[str], bool]) -> list[str]:
    """The tree files that ``path``'s ``#include`` lines name (beside it, then under csrc/)."""
    out = []
    for m in _INCLUDE.finditer(body):
        name = m.group(1).decode("utf-8", "replace").strip()
        for candidate in (posixpath.join(posixpath.dirname(path), name), posixpath.join("csrc", name)):
            candidate = posixpath.normpath(candidate)
            if not candidate.startswith("..") and exists(candidate):
                out.append(candidate)
                break
    return out


def include_closure(units: Iterable[str], read: Callable[[str], bytes | None],
                    exists: Callable[[str], bool]) -> dict[str, set[str]]:
    """{unit: every tree file it includes, directly or not, itself included}."""
    direct: dict[str, list[str]] = {}

    def deps(path: str) -> list[str]:
        if path not in direct:
            body = read(path)
            direct[path] = [] if body is None else includes(path, body, exists)
        return direct[path]

    out = {}
    for unit in units:
        seen, stack = {unit}, [unit]
        while stack:
            for dep in deps(stack.pop()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        out[unit] = seen
    return out


@dataclass(frozen=True)
class Standards:
    """The C++ dialects the build asks for: ``CMAKE_CXX_STANDARD`` and
    ``CMAKE_CUDA_STANDARD`` of the top-level ``CMakeLists.txt`` (None when not set:
    the compilers' defaults, C++17 for MSVC 2022 and for nvcc 11 and later)."""

    cxx: int | None = None
    cuda: int | None = None

    def at_least(self, year: int) -> bool:
        """Whether host and CUDA sources alike are compiled as C++``year`` or later."""
        return (self.cxx or 17) >= year and (self.cuda or 17) >= year

    def __str__(self) -> str:
        return (f"CMAKE_CXX_STANDARD {self.cxx or 'unset'}, CMAKE_CUDA_STANDARD {self.cuda or 'unset'}")


def standards(cmakelists: bytes | None) -> Standards:
    """The :class:`Standards` that a top-level ``CMakeLists.txt`` sets (``set(...)``
    outside the branches of a HIP build; the last one wins, as in CMake)."""
    found: dict[str, int] = {}
    if cmakelists:
        root = treesitter.parse("cmake", cmakelists).root_node
        for cmd in cmake.commands(root, "set"):
            args = cmake.values(cmd)
            if len(args) >= 2 and args[0] in ("CMAKE_CXX_STANDARD", "CMAKE_CUDA_STANDARD") \
                    and args[1].isdigit() and not outside_cuda(cmd):
                found[args[0]] = int(args[1])
    return Standards(found.get("CMAKE_CXX_STANDARD"), found.get("CMAKE_CUDA_STANDARD"))


def tree_standards(view) -> Standards:
    """:func:`standards` of the tree a plan looks at (a ``TreeView``), read once per run."""
    def compute(v) -> Standards:
        top = v.read("CMakeLists.txt")
        return standards(top.body if top is not None else None)

    return view.memo("scope.standards", compute)


C_FAMILY = (".cu", ".cuh", ".cpp", ".cc", ".c", ".h", ".hpp", ".inl")


def classifier(root: str) -> Callable[[str], str | None]:
    """``of(path)``: which build compiles a C-family file of the tree at ``root``:
    ``"cuda"`` (a CUDA translation unit or a file one includes), ``"cpu"`` or
    ``"rocm"`` (those backends' folders), ``"unlisted"`` (no CUDA target reaches it);
    None for other files."""
    files = [p for p in discover(root) if p.startswith("csrc/")]
    present = set(files)

    def read(path: str) -> bytes | None:
        try:
            with open(os.path.join(root, path), "rb") as fh:
                return fh.read()
        except OSError:
            return None

    top = read("CMakeLists.txt")
    cuda: set[str] = set()
    if top is not None:
        units = cuda_scope(top, files).units
        for reached in include_closure(units, read, present.__contains__).values():
            cuda |= reached

    def of(path: str) -> str | None:
        if not path.endswith(C_FAMILY):
            return None
        if path in cuda:
            return "cuda"
        if path.startswith("csrc/cpu/"):
            return "cpu"
        if path.startswith(("csrc/rocm/", "csrc/quickreduce/")) or "/quickreduce/" in path:
            return "rocm"
        return "unlisted"

    return of
