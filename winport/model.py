"""Typed results: what a transform did to one file, to the tree, and the whole report."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Outcome(str, enum.Enum):
    """What one transform did with one file (or, aggregated, with the tree)."""

    APPLIED = "applied"  # the file was rewritten
    ALREADY = "already"  # the fix is present already: nothing to do
    REPORTED = "reported"  # sites were found that a person must port (a detector's finding): nothing rewritten
    NOT_NEEDED = "not-needed"  # the pattern does not occur
    DRIFTED = "drifted"  # an anchor the transform expects was not found
    FAILED = "failed"  # the transform could not finish: file left untouched
    NOT_APPLICABLE = "not-applicable"  # the tree is not vLLM and the transform fixes vLLM only

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


#: The version of the JSON report's layout (``Report.to_json``, ``winport check --format json``):
#: raised when a field changes meaning or goes away; new fields do not raise it. docs/api.md
#: describes the layout.
SCHEMA_VERSION = 1

#: The path of a result that concerns the whole tree rather than one file (a transform
#: that raised while planning).
TREE = "."

# Precedence when folding file outcomes into one transform outcome.
_RANK = {
    Outcome.FAILED: 5,
    Outcome.DRIFTED: 4,
    Outcome.APPLIED: 3,
    Outcome.REPORTED: 2,
    Outcome.ALREADY: 1,
    Outcome.NOT_NEEDED: 0,
    Outcome.NOT_APPLICABLE: -1,
}


@dataclass(frozen=True)
class Site:
    """One place in one file (1-based line and column) and what happened there."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    def to_json(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class FileResult:
    """The result of one transform on one file.

    ``sites`` are the places rewritten (or, for ALREADY, found already done);
    ``reported`` are places the transform recognised but will not rewrite, each
    with the reason: they need a person (a file with such sites and nothing rewritten
    or found done is *reported*).
    """

    transform: str
    path: str
    outcome: Outcome
    sites: list[Site] = field(default_factory=list)
    reported: list[Site] = field(default_factory=list)
    reason: str = ""
    #: parse errors the rewrite repeats (copies of code the parser already failed on)
    repeated_errors: int = 0

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "outcome": self.outcome.value,
            "sites": [s.to_json() for s in self.sites],
            "reported": [s.to_json() for s in self.reported],
            "reason": self.reason,
        }


@dataclass
class TransformResult:
    """Everything one transform did over the tree."""

    id: str
    seed: str
    summary: str
    files: list[FileResult] = field(default_factory=list)
    drift: str = ""  # set when an expected anchor is missing from the whole tree
    note: str = ""  # why the tree needs nothing from the transform (Transform.not_needed)
    not_applicable: str = ""  # why the transform did not run on this tree (a dependency, not vLLM)

    @property
    def outcome(self) -> Outcome:
        if self.not_applicable:
            return Outcome.NOT_APPLICABLE
        if self.drift and not any(f.outcome is Outcome.FAILED for f in self.files):
            return Outcome.DRIFTED
        best = Outcome.NOT_NEEDED
        for f in self.files:
            if _RANK[f.outcome] > _RANK[best]:
                best = f.outcome
        return best

    def count(self, outcome: Outcome) -> int:
        return sum(1 for f in self.files if f.outcome is outcome)

    @property
    def sites(self) -> list[Site]:
        return [s for f in self.files if f.outcome is Outcome.APPLIED for s in f.sites]

    @property
    def reported(self) -> list[Site]:
        return [s for f in self.files for s in f.reported]

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "seed": self.seed,
            "summary": self.summary,
            "outcome": self.outcome.value,
            "drift": self.drift,
            "note": self.note,
            "not_applicable": self.not_applicable,
            "files": [f.to_json() for f in self.files if f.outcome is not Outcome.NOT_NEEDED or f.reported],
        }


@dataclass
class Report:
    """The result of one pipeline run."""

    root: str
    transforms: list[TransformResult]
    changed: dict[str, tuple[bytes, bytes]] = field(default_factory=dict, repr=False)
    created: set[str] = field(default_factory=set)  # paths of ``changed`` that are new files
    written: bool = False
    seconds: float = 0.0
    files_scanned: int = 0
    limits: tuple[str, ...] = ()
    cached: bool = False  # taken from the cache of earlier runs (winport.cache)
    tree: str = "vllm"  # the tree's kind (winport.trees): "vllm", "cutlass", "flash-attn", ..., "other"
    #: the layout the run read the tree in (role -> path, winport.layout); None: vLLM's, not given
    layout: dict[str, str] | None = None

    @property
    def changed_paths(self) -> list[str]:
        return sorted(self.changed)

    def by_id(self, transform_id: str) -> TransformResult:
        for t in self.transforms:
            if t.id == transform_id:
                return t
        raise KeyError(transform_id)

    @property
    def has_problems(self) -> bool:
        return any(t.outcome in (Outcome.DRIFTED, Outcome.FAILED) for t in self.transforms)

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "root": self.root,
            "tree": self.tree,
            "layout": self.layout,
            "written": self.written,
            "seconds": round(self.seconds, 3),
            "files_scanned": self.files_scanned,
            "changed": self.changed_paths,
            "transforms": [t.to_json() for t in self.transforms],
            "known_limits": list(self.limits),
        }
