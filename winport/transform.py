"""The transform API: what a fix declares and the context it records its work in.

A transform is a class with metadata (id, seed id, summary, the files it may
touch, cheap trigger substrings) and one ``rewrite`` method. It never opens,
parses or writes a file: the pipeline hands it a parsed document and a
:class:`Context`, and the transform records edits, sites already done and sites
it will not rewrite. The docstring, with the headings ``Why``, ``Pattern`` and
``Rewrite``, is the transform's documentation page.

Five families, one per parser, each with what its ``rewrite`` gets:

* :class:`CppTransform`    - a ``tree_sitter.Tree`` (CUDA grammar) of a C, C++ or CUDA file
* :class:`CMakeTransform`  - a ``tree_sitter.Tree`` (tree-sitter-cmake) of CMakeLists.txt or *.cmake
* :class:`PythonTransform` - a :class:`PythonDocument` (libcst) of a Python file; returns the new module
* :class:`PythonDetector`  - an ``ast.Module`` (report-only checks)
* :class:`TextTransform`   - the text of the file (requirements files and the like)
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, Union

from .model import Site
from .sources import PathMatcher, SourceFile

if TYPE_CHECKING:  # pragma: no cover
    import ast

    import libcst as cst
    import tree_sitter as ts

    from .layout import Layout
    from .pipeline import TreeView
    from .trees import TreeKind

#: Where a site is: a tree-sitter node, a libcst node (of the document the transform
#: got), a byte offset into the file, or a 1-based (line, column) pair.
Where = Union["ts.Node", "cst.CSTNode", int, "tuple[int, int]"]


class PythonDocument(Protocol):
    """What a :class:`PythonTransform`'s ``rewrite`` gets: a libcst ``MetadataWrapper``
    of the file. ``module`` is the parsed module (with ``anchors`` set, possibly a
    partial one: the statements holding an anchor, the imports and the docstring);
    ``visit(transformer)`` runs a ``libcst.CSTTransformer`` (or visitor) over it,
    resolving the metadata it declares, and returns the new module. A transform uses
    nothing else of it."""

    @property
    def module(self) -> "cst.Module": ...

    def visit(self, visitor: "cst.CSTVisitorT") -> "cst.Module": ...


class TransformError(Exception):
    """Raised by the engine when a transform's edits cannot be applied (e.g. overlap)."""


@dataclass(frozen=True)
class Edit:
    """Replace bytes ``start:end`` of the document body with ``text``."""

    start: int
    end: int
    text: str


def apply_edits(body: bytes, edits: list[Edit], newline: str = "\n") -> bytes:
    """Apply byte-range edits back to front; overlapping edits are an error.

    Insertions at one offset compose in the order they were recorded (a later
    transform's text after an earlier one's), and an insertion where a
    replaced range starts or ends touches it without overlapping.
    ``\\n`` in inserted text becomes ``newline`` so CRLF files stay CRLF.
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end))  # stable: recorded order kept
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise TransformError(f"overlapping edits at bytes {a.start}-{a.end} and {b.start}-{b.end}")
    out, end = [], len(body)
    for e in reversed(ordered):
        out.append(body[e.end:end])
        out.append(edit_bytes(e, newline))
        end = e.start
    out.append(body[:end])
    return b"".join(reversed(out))


def edit_bytes(e: Edit, newline: str = "\n") -> bytes:
    """The bytes ``e`` puts in place: its text with ``newline`` line endings."""
    text = e.text.replace("\r\n", "\n")
    if newline != "\n":
        text = text.replace("\n", newline)
    return text.encode("utf-8")


class Context:
    """What one transform records about one file."""

    def __init__(self, transform: "Transform", source: SourceFile, plan: Any = None):
        #: the transform at work and the file it works on (``source.body``: its bytes)
        self.transform = transform
        self.source = source
        self.path = source.path
        self.plan = plan
        self.edits: list[Edit] = []
        self.sites: list[Site] = []
        self.already_sites: list[Site] = []
        self.reported: list[Site] = []
        self.drift: str = ""
        self.failure: str = ""
        #: libcst node -> (line, column), set by the pipeline
        self.node_position: Callable[[Any], tuple[int, int]] | None = None
        #: parse errors the edits repeat: copies of code the parser already failed on
        #: (the re-parse guard does not count them as new)
        self.repeated_errors = 0

    # -- positions -------------------------------------------------------
    def site(self, where: Where, message: str) -> Site:
        line, col = self.position(where)
        return Site(self.path, line, col, message)

    def position(self, where: Where) -> tuple[int, int]:
        """1-based (line, column) of a tree-sitter node, a libcst node, a byte offset or a
        (line, col) pair."""
        if isinstance(where, tuple):
            return where
        if isinstance(where, int):
            before = self.source.body[:where]
            return before.count(b"\n") + 1, where - (before.rfind(b"\n") + 1) + 1
        if self.node_position is not None and not hasattr(where, "start_point"):  # a libcst node
            return self.node_position(where)
        row, col = where.start_point  # tree-sitter node
        return row + 1, col + 1

    # -- recording ---------------------------------------------------------
    def edit(self, start: int, end: int, text: str) -> None:
        """Record an edit without a site (pair it with :meth:`applied`)."""
        self.edits.append(Edit(start, end, text))

    def replace(self, start: int, end: int, text: str, message: str, where: Where | None = None) -> None:
        self.edit(start, end, text)
        self.sites.append(self.site(start if where is None else where, message))

    def replace_node(self, node: "ts.Node", text: str, message: str) -> None:
        self.replace(node.start_byte, node.end_byte, text, message, where=node)

    def insert(self, offset: int, text: str, message: str, where: Where | None = None) -> None:
        self.replace(offset, offset, text, message, where)

    def insert_lines_before(self, node: "ts.Node", block: str, message: str) -> None:
        """Insert whole lines above the line ``node`` starts on, indented like it."""
        start, indent = self.line_of(node.start_byte)
        self.insert(start, _indent(block, indent), message, where=node)

    def insert_lines_after(self, node: "ts.Node", block: str, message: str) -> None:
        """Insert whole lines below the line ``node`` ends on, indented like its first line."""
        _, indent = self.line_of(node.start_byte)
        body = self.source.body
        # a node may end with its own newline (tree-sitter's #include lines do)
        end = node.end_byte - 1 if body[node.end_byte - 1:node.end_byte] == b"\n" else body.find(b"\n", node.end_byte)
        if end < 0:  # last line without a newline
            self.insert(len(body), "\n" + _indent(block, indent).rstrip("\n"), message, where=node)
        else:
            self.insert(end + 1, _indent(block, indent), message, where=node)

    def line_of(self, offset: int) -> tuple[int, str]:
        """(byte offset of the line holding ``offset``, that line's indentation)."""
        body = self.source.body
        start = body.rfind(b"\n", 0, offset) + 1
        prefix = body[start:offset].decode("utf-8", "replace")
        return start, prefix[: len(prefix) - len(prefix.lstrip(" \t"))]

    def applied(self, where: Where, message: str) -> None:
        """Record a rewritten site whose edits are recorded apart (or made by libcst)."""
        self.sites.append(self.site(where, message))

    def already(self, where: Where, message: str) -> None:
        self.already_sites.append(self.site(where, message))

    def report(self, where: Where, message: str) -> None:
        """A site the transform recognises but will not rewrite: a person must look."""
        self.reported.append(self.site(where, message))

    def failed(self, reason: str) -> None:
        """The transform cannot do its work on this file safely: nothing of its is
        written here, and the file's result is *failed* with ``reason``."""
        self.failure = reason
        self.edits.clear()

    def drifted(self, message: str) -> None:
        """An anchor this file should have is missing: say what was looked for."""
        self.drift = message


def _indent(block: str, indent: str) -> str:
    lines = block.strip("\n").split("\n")
    return "".join((indent + line if line.strip() else "") + "\n" for line in lines)


@functools.cache
def _path_matcher(globs: tuple[str, ...], exclude: tuple[str, ...]) -> PathMatcher:
    return PathMatcher(globs, exclude)


class Transform:
    """Base of every transform; subclass one of the four language families."""

    id: ClassVar[str]  # "area/name", e.g. "cuda/asm-volatile"
    seed: ClassVar[str] = ""  # catalogue id, e.g. "K5"
    summary: ClassVar[str]  # one line
    language: ClassVar[str]
    globs: ClassVar[tuple[str, ...]]
    exclude: ClassVar[tuple[str, ...]] = ()
    triggers: ClassVar[tuple[str, ...]]  # substrings; a file containing none is skipped unread by the parser
    trigger_words: ClassVar[bool] = False  # triggers must match whole words
    # If set, the tree is expected to contain the construct: when no file matches
    # the triggers, the transform is *drifted* with this text instead of not needed.
    expects: ClassVar[str | None] = None
    # False for a detector: it only reports what a person must port (`winport check`
    # lists its sites; `rewrite` shows them as reported).
    fixes: ClassVar[bool] = True
    # True when the fix holds for any C++/CUDA code MSVC compiles, not only vLLM's: the
    # transform then also runs on a dependency's tree (CUTLASS, flash-attention, ...),
    # over every C, C++ and CUDA file of it (winport.trees).
    portable: ClassVar[bool] = False
    #: A plug-in's folder of fixture cases, laid out as winport's own
    #: (``<area>/<name>/<case>/before|after``): ``winport explain``, ``winport test`` and
    #: :mod:`winport.testing` read this transform's cases there. None: winport's own.
    fixture_root: ClassVar[str | os.PathLike[str] | None] = None

    # -- derived, cached per class ------------------------------------------
    def matcher(self) -> PathMatcher:
        """Which paths the transform reads (an instance may drop ``exclude``, as
        ``winport check --all-backends`` does for the detectors)."""
        return _path_matcher(self.globs, self.exclude)

    def on_tree(self, kind: "TreeKind") -> "Transform":
        """This transform as it runs on a tree of ``kind`` (a :class:`winport.trees.TreeKind`):
        itself on vLLM; on a dependency, a copy reading the dependency's C/C++/CUDA files."""
        if kind.is_vllm:
            return self
        from .trees import DEPENDENCY_SOURCES

        adapted = type(self)()
        adapted.globs = (DEPENDENCY_SOURCES,)
        adapted.exclude = kind.exclude_globs()
        return adapted

    def on_layout(self, layout: "Layout") -> "Transform":
        """This transform reading a tree in ``layout`` (:mod:`winport.layout`): a copy whose
        globs name the layout's paths and which expects no vLLM anchor."""
        adapted = type(self)()
        adapted.globs = tuple(layout.translate(g) for g in self.globs)
        adapted.exclude = tuple(layout.translate(g) for g in self.exclude)
        adapted.expects = None
        return adapted

    @classmethod
    @functools.cache
    def trigger_re(cls) -> re.Pattern[bytes]:
        if not cls.triggers:  # candidates come from plan_files() only
            return re.compile(rb"(?!)")
        alts = b"|".join(re.escape(t.encode()) for t in cls.triggers)
        return re.compile(rb"\b(?:" + alts + rb")\b" if cls.trigger_words else alts)

    @classmethod
    def triggered(cls, data: bytes) -> bool:
        """Whether ``data`` holds a trigger (as a whole word, with ``trigger_words``);
        the pipeline asks only where a multi-pattern scan found one as a substring."""
        return not cls.trigger_words or cls.trigger_re().search(data) is not None

    def wants(self, path: str, data: bytes) -> bool:
        return self.matcher()(path) and self.trigger_re().search(data) is not None

    @classmethod
    def area(cls) -> str:
        return cls.id.split("/", 1)[0]

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split by its ``Heading:`` sections (first paragraph: "" key)."""
        sections: dict[str, list[str]] = {"": []}
        current = ""
        for line in cls.doc().splitlines():
            m = re.fullmatch(r"([A-Z][A-Za-z ]+):", line.strip())
            if m and not line.startswith(" "):
                current = m.group(1)
                sections[current] = []
            else:
                sections[current].append(line)
        return {k: "\n".join(v).strip() for k, v in sections.items()}

    # -- hooks -------------------------------------------------------------------
    def not_needed(self, tree: "TreeView") -> str:
        """Why this tree needs nothing from the transform, whatever its files hold
        (a build fact such as the C++ standard, read through :mod:`winport.scope`
        from the :class:`~winport.pipeline.TreeView` ``tree``), or "" when it may.
        Asked once per run, before :meth:`plan`: a transform that answers reads no
        file, and its outcome is *not needed* with that reason. Default: ""."""
        return ""

    def plan(self, tree: "TreeView") -> Any:
        """Cross-file transforms look at the tree first (a :class:`~winport.pipeline.TreeView`
        of every file their globs match); the value reaches :meth:`rewrite` as
        ``ctx.plan`` and must be picklable. Default: nothing to plan."""
        return None

    def new_files(self, plan: Any) -> dict[str, str]:
        """Files the transform adds to the tree (relative path -> text), such as a
        compatibility header its rewrites include. Asked after the run when the
        transform applied to some file or found one done; a file already there with
        that text is *already*, with other text a failure (never overwritten).
        Default: none."""
        return {}

    def plan_files(self, plan: Any) -> set[str]:
        """Files the plan says this transform must see although no trigger names
        them (e.g. every use of a name the plan found). Default: none."""
        return set()

    def rewrite(self, doc: Any, ctx: Context) -> Any:  # pragma: no cover - abstract
        """Do the work on one file (each family narrows ``doc``'s type and the return)."""
        raise NotImplementedError


class CppTransform(Transform):
    """C, C++ and CUDA sources, parsed with the tree-sitter CUDA grammar.

    ``rewrite(tree, ctx)`` records byte-range edits with ``ctx.replace``/``ctx.insert``.
    """

    language = "cpp"
    globs = ("csrc/**/*.{cu,cuh,cpp,cc,h,hpp,inl}",)
    # Sources of the CPU and ROCm backends are not compiled by a CUDA build
    # (quickreduce is ROCm-only; later releases moved it under rocm/).
    exclude = ("csrc/cpu/**", "csrc/rocm/**", "csrc/quickreduce/**")
    #: Set when a trigger in a comment cannot lead to a site (a common word such as
    #: ``or``): such a file is then not parsed for this transform.
    triggers_in_code: ClassVar[bool] = False

    @classmethod
    def triggered(cls, data: bytes) -> bool:
        if cls.triggers_in_code:
            from .lang.cpp import without_comments

            return cls.trigger_re().search(without_comments(data)) is not None
        return super().triggered(data)

    def rewrite(self, tree: "ts.Tree", ctx: Context) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class CMakeTransform(Transform):
    """CMakeLists.txt and *.cmake files, parsed with tree-sitter-cmake."""

    language = "cmake"
    globs = ("CMakeLists.txt", "**/CMakeLists.txt", "**/*.cmake")

    def rewrite(self, tree: "ts.Tree", ctx: Context) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class PythonTransform(Transform):
    """Python files, parsed once with libcst; transforms chain on the module.

    ``rewrite(wrapper, ctx)`` gets a :class:`PythonDocument` (a libcst
    ``MetadataWrapper``), returns the new ``libcst.Module`` (``wrapper.module`` when
    it changes nothing, else what ``wrapper.visit(transformer)`` returns) and records
    each rewritten site with ``ctx.applied(node, ...)``. Returning anything else makes
    the transform *failed* on that file.
    """

    language = "python"
    globs = ("vllm/**/*.py",)
    #: Words one of which occurs in every top-level statement (function, class, ...)
    #: the transform must visit or look at. When set, ``wrapper.visit`` skips the
    #: other top-level statements (a large file's visit costs far more than its
    #: parse), and when every transform of a file has anchors libcst parses only the
    #: statements holding them, the imports and the docstring: ``wrapper.module`` is
    #: then that partial module (``has_module_level``, ``module_aliases`` and
    #: ``imports_module`` still answer for the whole file). Statements holding
    #: "winport" (the transform's own marks) are always visited.
    anchors: ClassVar[tuple[str, ...] | None] = None
    #: With ``anchors``: True when an anchor also occurs in every statement inside a
    #: block (a function's body, a loop's, a branch of an ``if`` or a ``try``, at any
    #: depth) that the transform must visit. The visit then skips the others there as
    #: it skips top-level statements, and transformers that note things in statements
    #: without an anchor (a variable assigned in one, read in another) must leave this
    #: False. An ``if`` statement is always entered: it may end its block on Windows,
    #: which guards the rest (:class:`~winport.lang.python.GuardAwareTransformer`).
    anchors_in_blocks: ClassVar[bool] = False

    @classmethod
    @functools.cache
    def anchor_re(cls) -> "re.Pattern[bytes] | None":
        if cls.anchors is None:
            return None
        return re.compile(b"|".join(re.escape(a.encode()) for a in (*cls.anchors, "winport")))

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> "cst.Module":  # pragma: no cover
        raise NotImplementedError


class PythonDetector(Transform):
    """Python files read with the standard library's ``ast``, for report-only checks
    (``fixes = False``): a report needs no concrete syntax tree, and ``ast`` parses
    several times faster than libcst. ``rewrite(module, ctx)`` gets the
    ``ast.Module`` and records ``ctx.report(winport.lang.pyast.position(...), ...)``;
    an edit is an error."""

    language = "python-ast"
    globs = ("vllm/**/*.py",)
    fixes = False

    def rewrite(self, module: "ast.Module", ctx: Context) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class TextTransform(Transform):
    """Plain text files; ``rewrite(text, ctx)`` records edits by byte offset."""

    language = "text"

    def rewrite(self, text: str, ctx: Context) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
