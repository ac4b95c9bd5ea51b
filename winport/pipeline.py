"""The engine: discover -> prefilter -> plan -> parse once and rewrite -> guard -> write -> report.

It never names a transform. Every edit of every file is computed (and checked by
the re-parse guard) before the first byte is written.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import difflib
import gc
import os
import time
import traceback
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterable, Iterator, Sequence, TypeVar

import ahocorasick_rs

from . import trees
from .lang import pyast, treesitter
from .layout import Layout, roles
from .model import TREE, FileResult, Outcome, Report, Site, TransformResult
from .sources import SourceError, SourceFile, TreeLock, create_atomic, discover, read, write_atomic
from .transform import Context, Transform, TransformError, apply_edits, edit_bytes

T = TypeVar("T")

KNOWN_LIMITS = (
    "single GPU only: NCCL has no Windows build, so no tensor or pipeline parallelism",
    "no Triton on Windows: the TRITON_ATTN and FLEX_ATTENTION backends cannot run",
    "no FlashInfer on Windows (nvidia-cutlass-dsl-libs-base has no Windows wheel)",
    "no gloo transport in PyTorch's Windows builds: distributed CPU groups work for one process only",
)

# Below this many candidate files per worker, starting processes costs more than it saves.
FILES_PER_WORKER = 24


class TreeView:
    """What a cross-file transform's :meth:`~winport.Transform.plan` sees: every file
    its globs match (already read once by the prefilter), whatever its triggers."""

    def __init__(self, root: str, scanned: dict[str, SourceFile], transform: Transform, memo: dict | None = None):
        self.root = root
        self._scanned = scanned
        self._matcher = transform.matcher()
        self._memo = {} if memo is None else memo

    def memo(self, key: Hashable, compute: Callable[["TreeView"], T]) -> T:
        """``compute(self)`` once per run for ``key``, shared by every transform's plan
        (e.g. the attribute macros of the tree, which several transforms need)."""
        if key not in self._memo:
            self._memo[key] = compute(self)
        return self._memo[key]

    def sources(self, contains: bytes | None = None) -> Iterator[SourceFile]:
        for path, source in self._scanned.items():
            if self._matcher(path) and (contains is None or contains in source.body):
                yield source

    def read(self, path: str) -> SourceFile | None:
        """Any regular file of the tree by relative path (None if absent or a symlink)."""
        if path in self._scanned:
            return self._scanned[path]
        full = os.path.join(self.root, path)
        if os.path.islink(full) or not os.path.isfile(full):
            return None
        return read(self.root, path)


@dataclass
class FileWork:
    source: SourceFile
    transforms: list[Transform]


@dataclass
class FileOutcome:
    path: str
    new_raw: bytes | None  # None: unchanged
    results: list[FileResult]


class Pipeline:
    """Run an ordered set of transforms over a tree.

    >>> report = Pipeline(registry.select()).run("vllm-src", write=False)
    """

    def __init__(self, transforms: Sequence[Transform], jobs: int | None = None, dependency: bool = False,
                 layout: Layout | None = None):
        self.transforms = list(transforms)
        self.jobs = jobs if jobs and jobs > 0 else (os.cpu_count() or 1)
        #: the tree is a dependency of vLLM even if no known kind's markers say so
        self.dependency = dependency
        #: where the tree keeps what the transforms read (:mod:`winport.layout`); None: vLLM's
        self.layout = layout

    # -- phases ---------------------------------------------------------------
    def candidates(self, root: str, grew: Callable[[list[FileWork]], None] | None = None,
                   paths: Sequence[str] | None = None) -> tuple[list[FileWork], dict[str, SourceFile]]:
        """Read each file some transform's globs match, once, and keep those whose
        bytes contain a trigger of a transform that wants it (``grew`` is called with
        the list each time it grows; ``paths``: the tree's files, found already)."""
        work, scanned = [], {}
        # transforms with the same globs share one matcher, tried once per path; each set
        # of matching globs selects its transforms (in run order) and one automaton that
        # finds all their triggers in one pass over a file
        matchers = list({id(t.matcher()): t.matcher() for t in self.transforms}.values())
        chooses: dict[tuple[bool, ...], tuple[list[Transform], list[str], object]] = {}
        for path in discover(root) if paths is None else paths:
            key = tuple(matches(path) for matches in matchers)
            choice = chooses.get(key)
            if choice is None:
                on = {id(matches) for matches, hit in zip(matchers, key) if hit}
                wanting = [t for t in self.transforms if id(t.matcher()) in on]
                triggers = sorted({trigger for t in wanting for trigger in t.triggers})
                automaton = ahocorasick_rs.BytesAhoCorasick([x.encode() for x in triggers]) if triggers else None
                choice = chooses[key] = (wanting, triggers, automaton)
            wanting, triggers, automaton = choice
            if not wanting:
                continue
            try:
                source = read(root, path)
            except OSError as exc:
                raise SourceError(f"{path}: cannot read ({exc.strerror})") from None
            scanned[path] = source
            found = {triggers[i] for i, _, _ in automaton.find_matches_as_indexes(source.body, overlapping=True)} \
                if automaton is not None else set()
            chosen = [t for t in wanting if found.intersection(t.triggers) and t.triggered(source.body)]
            if chosen:
                work.append(FileWork(source, chosen))
                if grew is not None:
                    grew(work)
        return work, scanned

    def run(self, root: str | os.PathLike[str], write: bool = True, paths: Sequence[str] | None = None) -> Report:
        """Port ``root`` (``write=False``: compute the report and changes only).
        ``paths``: the tree's files as :func:`~winport.sources.discover` gives them,
        when the caller has them already.

        The tree's kind (:func:`winport.trees.identify`) decides what runs: on vLLM every
        transform; on a dependency (CUTLASS, flash-attention, ...) the portable ones over
        its C/C++/CUDA files, the others being *not applicable*.

        A writing run holds ``.winport.lock`` in the tree; a second one stops with
        :class:`~winport.sources.TreeLocked`. A ``root`` that is not a folder is a
        :class:`~winport.sources.SourceError`."""
        root = os.path.abspath(root)
        if not os.path.isdir(root):
            raise SourceError(f"{root}: no such folder")
        if self.layout is not None and not self.dependency:
            return self._run_layout(root, write, paths)
        kind = trees.identify(root, self.dependency)
        if kind.is_vllm:
            return self._run_unlocked(root, write, paths) if not write else self._run_locked(root, paths)
        inner = Pipeline([t.on_tree(kind) for t in self.transforms if t.portable], self.jobs, dependency=True)
        report = inner._run_unlocked(root, write, paths) if not write else inner._run_locked(root, paths)
        ran = {t.id: t for t in report.transforms}
        what = f"a {kind.label}" if kind is trees.OTHER else kind.label
        why = f"the tree is {what}, not vLLM: this transform fixes vLLM's own files"
        report.transforms = [ran.get(t.id) or TransformResult(t.id, t.seed, t.summary, not_applicable=why)
                             for t in self.transforms]
        report.tree, report.limits = kind.name, ()
        return report

    def _run_layout(self, root: str, write: bool, paths: Sequence[str] | None) -> Report:
        """Every transform over the files its roles name in :attr:`layout`; one whose role
        the tree lacks is *not applicable*, with the reason."""
        layout = self.layout
        assert layout is not None
        lacking = {t.id: layout.missing(root, roles((*t.globs, *t.exclude))) for t in self.transforms}
        inner = Pipeline([t.on_layout(layout) for t in self.transforms if not lacking[t.id]], self.jobs)
        inner.new_path = layout.translate
        report = inner._run_unlocked(root, write, paths) if not write else inner._run_locked(root, paths)
        ran = {t.id: t for t in report.transforms}
        report.transforms = [ran.get(t.id) or TransformResult(t.id, t.seed, t.summary, not_applicable=lacking[t.id])
                             for t in self.transforms]
        report.layout = layout.as_dict()
        report.tree = "vllm" if not layout.moved() and trees.VLLM.matches(root) else "other"
        report.limits = KNOWN_LIMITS if report.tree == "vllm" else ()
        return report

    #: where a file a transform adds (``new_files``, in vLLM's layout) goes in the tree
    new_path: Callable[[str], str] = staticmethod(lambda path: path)

    def _run_unlocked(self, root: str, write: bool, paths: Sequence[str] | None) -> Report:
        try:
            return self._run(root, write, paths)
        finally:
            treesitter.forget()
            pyast.forget()

    def _run_locked(self, root: str, paths: Sequence[str] | None) -> Report:
        try:
            with TreeLock(root):
                return self._run(root, True, paths)
        finally:
            treesitter.forget()
            pyast.forget()

    def _run(self, root: str, write: bool, paths: Sequence[str] | None = None) -> Report:
        """The stages, in order: discover and prefilter, plan and prune, process,
        collect, write. Processing overlaps the first two where it can: Python files
        that no plan can change start in the worker processes during the scan."""
        started = time.perf_counter()
        with _no_collections(), _Workers(self.jobs - 1) as workers:
            work, scanned = self.candidates(root, lambda work: workers.early(work, plans_nothing=_plans_nothing),
                                            paths)
            planner, plans = _Plans(root, self.transforms, work, scanned), {}
            outcomes = _process(work, planner, plans, workers)
        results, changed, created = _collect(root, self.transforms, outcomes, scanned, planner.reasons, plans,
                                             planner.failures, self.new_path)
        if write:
            _write(root, changed, created, results)
        return Report(
            root=root,
            transforms=[results[t.id] for t in self.transforms],
            changed=changed,
            created=created & set(changed),
            written=write,
            seconds=time.perf_counter() - started,
            files_scanned=len(scanned),
            limits=KNOWN_LIMITS,
        )


# -- plan and prune ------------------------------------------------------------------
class _Plans:
    """The plan stage: each transform with a ``not_needed`` answer or a ``plan`` looks
    at the tree (:class:`TreeView`) once. One that is not needed leaves every file's
    list (its reason in :attr:`reasons`); one whose plan names files
    (``plan_files``) is added to them, in run order."""

    def __init__(self, root: str, transforms: list[Transform], work: list[FileWork],
                 scanned: dict[str, SourceFile]):
        self.root, self.transforms, self.work, self.scanned = root, transforms, work, scanned
        self.reasons: dict[str, str] = {}
        self.failures: dict[str, str] = {}  # transforms whose not_needed/plan/plan_files raised: why
        self.memo: dict = {}  # shared by every transform's TreeView

    def run(self, transforms: list[Transform], plans: dict) -> None:
        for t in transforms:
            try:
                if type(t).not_needed is not Transform.not_needed:
                    why = t.not_needed(TreeView(self.root, self.scanned, t, self.memo))
                    if why:
                        self.reasons[t.id] = why
                        self._drop(t)
                        continue
                if type(t).plan is not Transform.plan:
                    plans[t.id] = t.plan(TreeView(self.root, self.scanned, t, self.memo))
                    self._add(t, t.plan_files(plans[t.id]))
            except Exception:  # the transform fails on the tree; the run goes on without it
                self.failures[t.id] = f"transform {t.id} raised while planning:\n{traceback.format_exc()}"
                plans.pop(t.id, None)
                self._drop(t)

    def _drop(self, t: Transform) -> None:
        for w in self.work:
            if t in w.transforms:
                w.transforms = [x for x in w.transforms if x is not t]
        self.work[:] = [w for w in self.work if w.transforms]

    def _add(self, t: Transform, paths: set[str]) -> None:
        """Make ``t`` run on ``paths`` (files its globs match), keeping the run order."""
        by_path = {w.source.path: w for w in self.work}
        order = {id(x): i for i, x in enumerate(self.transforms)}
        for path in sorted(paths):
            if path not in self.scanned or not t.matcher()(path):
                continue
            w = by_path.get(path)
            if w is None:
                w = by_path[path] = FileWork(self.scanned[path], [])
                self.work.append(w)
            if t not in w.transforms:
                w.transforms = sorted([*w.transforms, t], key=lambda x: order[id(x)])
        self.work.sort(key=lambda w: w.source.path)


# -- process ---------------------------------------------------------------------------
def _process(work: list[FileWork], planner: _Plans, plans: dict, workers: "_Workers") -> list[FileOutcome]:
    """Plan, then process every file. With more than one job, ``jobs - 1`` worker
    processes and the parent share the files: the Python files (whose transforms
    plan little) start in the workers, some during the scan, while the parent
    plans the rest; the parent, which holds the plans' parse trees and compiled
    queries, then takes the tasks no worker has started yet, smallest first, while
    the workers go from the biggest (of the files the plans did not parse: the parent
    holds those trees, and takes them). A file a later plan gave more transforms runs
    again, with all of them."""
    python = [t for t in planner.transforms if t.language.startswith("python")]
    others = [t for t in planner.transforms if t not in python]
    planner.run(python, plans)
    if not workers.n or (not workers.tasks and len(work) < FILES_PER_WORKER):
        planner.run(others, plans)
        return [process_file(w, plans) for w in work]
    started = {id(w) for w, _, _ in workers.tasks}
    for w in sorted(work, key=_weight):  # biggest first: a few large Python files dominate
        if id(w) not in started and all(t in python for t in w.transforms):
            workers.submit(w, plans)
    planner.run(others, plans)
    submitted = {id(w): n for w, n, _ in workers.tasks}
    tasks = [task for task in workers.tasks if task[1] == len(task[0].transforms)]
    # files the plans parsed here go last: the parent, which holds their trees, takes them
    for w in sorted(work, key=lambda w: (treesitter.holds(w.source.body), _weight(w))):
        if submitted.get(id(w)) != len(w.transforms):
            tasks.append(workers.submit(w, plans))
    done = [process_file(w, plans) for w, _, future in reversed(tasks) if future.cancel()]
    done += [future.result() for _, _, future in tasks if not future.cancelled()]
    return sorted(done, key=lambda out: out.path)


class _Workers:
    """``n`` worker processes beside the parent, started with the first task, and the
    tasks given to them: (file, its number of transforms then, future)."""

    def __init__(self, n: int):
        self.n = max(n, 0)
        self.pool: cf.ProcessPoolExecutor | None = None
        self.tasks: list[tuple[FileWork, int, cf.Future]] = []
        self.frozen = False
        self.waiting: list[FileWork] = []  # found by the scan, not yet worth the workers

    def early(self, work: list[FileWork], plans_nothing: Callable[[Transform], bool]) -> None:
        """The scan found ``work[-1]``: a Python file that no plan can change is kept
        for the workers, which start on those once the scan has found enough files."""
        if all(t.language.startswith("python") and plans_nothing(t) for t in work[-1].transforms):
            self.waiting.append(work[-1])
        if self.n and len(work) >= FILES_PER_WORKER:
            for w in self.waiting:
                self.submit(w, {})
            self.waiting.clear()

    def submit(self, w: FileWork, plans: dict) -> tuple[FileWork, int, cf.Future]:
        if self.pool is None:
            # The workers are forked by the first submit. With the objects of the parent
            # frozen until the run ends, no collection walks them again: the workers' do
            # not copy the pages they share, the parent's are shorter.
            self.frozen = gc.get_freeze_count() == 0
            if self.frozen:
                gc.freeze()
            self.pool = cf.ProcessPoolExecutor(max_workers=self.n, initializer=gc.disable)
        task = (w, len(w.transforms), self.pool.submit(process_file, w, _plans_for(w, plans)))
        self.tasks.append(task)
        return task

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            if self.frozen:
                gc.unfreeze()


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """The run without automatic garbage collection (as the caller had it after).
    Parsing allocates far more objects than it frees, and parse trees hold no
    reference cycles: at CPython's default thresholds, collections that found
    nothing took 40% of the Python files' time (docs/performance.md). What cycles
    a run leaves are collected after it, as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- collect and write ---------------------------------------------------------------
def _collect(root: str, transforms: list[Transform], outcomes: list[FileOutcome], scanned: dict[str, SourceFile],
             notes: dict[str, str], plans: dict, failures: dict[str, str] | None = None,
             new_path: Callable[[str], str] = lambda path: path) -> tuple[dict[str, TransformResult], dict, set[str]]:
    """Each transform's result (its files, the files it adds, its drift) and the
    changed files: {path: (old bytes, new bytes)}, and those that are new."""
    results = {t.id: TransformResult(t.id, t.seed, t.summary, note=notes.get(t.id, "")) for t in transforms}
    for tid, why in (failures or {}).items():
        results[tid].files.append(FileResult(tid, TREE, Outcome.FAILED, reason=why))
    changed: dict[str, tuple[bytes, bytes]] = {}
    for out in outcomes:
        for r in out.results:
            results[r.transform].files.append(r)
        if out.new_raw is not None:
            changed[out.path] = (scanned[out.path].raw, out.new_raw)
    created: set[str] = set()
    for t in transforms:
        res = results[t.id]
        if type(t).new_files is not Transform.new_files and any(
                f.outcome in (Outcome.APPLIED, Outcome.ALREADY) for f in res.files):
            try:
                added = t.new_files(plans.get(t.id))
            except Exception:
                res.files.append(FileResult(t.id, TREE, Outcome.FAILED, reason=f"transform {t.id} raised in "
                                            f"new_files:\n{traceback.format_exc()}"))
                continue
            for path, text in added.items():
                res.files.append(_new_file(root, new_path(path), text, t, changed, created))
    for t in transforms:
        res = results[t.id]
        if t.expects and not res.note and not any(f.outcome is not Outcome.NOT_NEEDED for f in res.files):
            res.drift = f"{t.expects} (looked in {', '.join(t.globs)} for {' / '.join(t.triggers)})"
        drifts = [f.reason for f in res.files if f.outcome is Outcome.DRIFTED]
        if drifts and not res.drift:
            res.drift = drifts[0]
    return results, changed, created


def _write(root: str, changed: dict, created: set[str], results: dict[str, TransformResult]) -> None:
    """Write every changed file atomically; one that cannot be written leaves
    ``changed`` and fails the transforms that changed it."""
    for path in sorted(changed):
        old, new = changed[path]
        try:
            if path in created:
                create_atomic(root, path, new)
            else:
                write_atomic(root, path, old, new)
        except (SourceError, OSError) as exc:
            reason = str(exc) if isinstance(exc, SourceError) else f"{path}: cannot write ({exc})"
            for res in results.values():
                for f in res.files:
                    if f.path == path and f.outcome is Outcome.APPLIED:
                        f.outcome, f.reason = Outcome.FAILED, reason
            del changed[path]


def _new_file(root: str, path: str, text: str, t: Transform, changed: dict, created: set) -> FileResult:
    """The result of adding ``path`` (a file of ``t``'s) to the tree; a new file goes
    into ``changed`` (from nothing) and ``created``."""
    data = text.encode("utf-8")
    full = os.path.join(root, path)
    if os.path.lexists(full):
        try:
            with open(full, "rb") as fh:
                same = fh.read() == data
        except OSError:
            same = False
        if same:
            return FileResult(t.id, path, Outcome.ALREADY, [Site(path, 1, 1, "written by winport already")])
        return FileResult(t.id, path, Outcome.FAILED,
                          reason=f"{path}: exists with other content; winport's version was not written")
    changed[path] = (b"", data)
    created.add(path)
    return FileResult(t.id, path, Outcome.APPLIED, [Site(path, 1, 1, "new file written by winport")])


def _plans_nothing(t: Transform) -> bool:
    """Whether ``t`` may run on a file before the tree is looked at (no plan, no
    ``not_needed``)."""
    return type(t).plan is Transform.plan and type(t).not_needed is Transform.not_needed


def _plans_for(w: FileWork, plans: dict) -> dict:
    """The plans of the file's transforms: what a worker needs of them."""
    return {t.id: plans[t.id] for t in w.transforms if t.id in plans}


def _weight(w: FileWork) -> int:
    return -len(w.source.body) * (8 if w.transforms[0].language.startswith("python") else 1)


# -- one file -------------------------------------------------------------------
def process_file(work: FileWork, plans: dict) -> FileOutcome:
    """Run the file's transforms in order, the fixers first and then the detectors
    (which judge the text the fixers leave: a site a fixer of this run rewrites is
    not reported as left to a person); return its new bytes (or None) and results."""
    source = work.source
    try:
        source.text  # decodes, or says why not
    except SourceError as exc:
        return FileOutcome(source.path, None, [
            FileResult(t.id, source.path, Outcome.FAILED, reason=str(exc)) for t in work.transforms])

    results: dict[str, FileResult] = {}
    body = source.body
    fixers = [t for t in work.transforms if t.fixes]
    for language, group in _groups(fixers) + _groups(t for t in work.transforms if not t.fixes):
        current = SourceFile.from_bytes(source.path, body) if body is not source.body else source
        run = {"python": _run_python, "python-ast": _run_ast}.get(language, _run_edits)
        body = run(language, current, group, plans, results, _Lines(source.body))

    ordered = [results[t.id] for t in work.transforms]
    new_raw = source.encode(body) if body != source.body else None
    return FileOutcome(source.path, new_raw, ordered)


def _groups(transforms: Iterable[Transform]) -> list[tuple[str, list[Transform]]]:
    groups: list[tuple[str, list[Transform]]] = []
    for t in transforms:
        if groups and groups[-1][0] == t.language:
            groups[-1][1].append(t)
        else:
            groups.append((t.language, [t]))
    return groups


class _Lines:
    """Maps the lines of the text a transform saw to the file's own lines, so that
    every site names a line of the file as it was (one map per text, made when an
    earlier transform of the run had moved lines)."""

    def __init__(self, origin: bytes):
        self.origin = origin
        self._text: bytes = origin
        self._map: dict[int, int] | None = None

    def remap(self, ctx: Context, seen: bytes) -> None:
        if not (ctx.sites or ctx.already_sites or ctx.reported) or seen == self.origin:
            return
        if self._map is None or seen != self._text:
            self._text, self._map = seen, _line_map(self.origin, seen)
        for sites in (ctx.sites, ctx.already_sites, ctx.reported):
            sites[:] = [replace(s, line=self._map.get(s.line, s.line)) for s in sites]


def _step(t: Transform, source: SourceFile, plans: dict, results: dict[str, FileResult], lines: _Lines,
          call: Callable[[Context], object], seen: bytes | None = None) -> tuple[Context, object] | None:
    """One transform on one file, the step of every language path: a new
    :class:`Context`, ``call(ctx)`` (which runs the transform's ``rewrite``), a crash
    contained as that transform's failure on this file, the sites mapped to the file's
    own lines (``seen``: the text the transform saw, default ``source``'s), the result
    recorded. Returns the context and what ``call`` returned, or None after a failure."""
    ctx = Context(t, source, plans.get(t.id))
    try:
        value = call(ctx)
    except TransformError as exc:
        results[t.id] = _failed(t, source.path, f"{source.path}: {exc}")
        return None
    except Exception:
        results[t.id] = _failed(t, source.path, f"{source.path}: transform {t.id} raised:\n{traceback.format_exc()}")
        return None
    lines.remap(ctx, source.body if seen is None else seen)
    results[t.id] = _result(ctx)
    return ctx, value


def _result(ctx: Context) -> FileResult:
    t, path = ctx.transform, ctx.path
    if ctx.failure:
        return FileResult(t.id, path, Outcome.FAILED, reported=ctx.reported, reason=f"{path}: {ctx.failure}")
    if ctx.drift:
        return FileResult(t.id, path, Outcome.DRIFTED, reported=ctx.reported, reason=ctx.drift)
    if ctx.sites:
        return FileResult(t.id, path, Outcome.APPLIED, ctx.sites, ctx.reported, repeated_errors=ctx.repeated_errors)
    if ctx.already_sites:
        return FileResult(t.id, path, Outcome.ALREADY, ctx.already_sites, ctx.reported)
    if ctx.reported:
        return FileResult(t.id, path, Outcome.REPORTED, reported=ctx.reported)
    return FileResult(t.id, path, Outcome.NOT_NEEDED)


def _failed(t: Transform, path: str, reason: str) -> FileResult:
    return FileResult(t.id, path, Outcome.FAILED, reason=reason)


def _fail_all(changed_by: list[Context], path: str, reason: str, results: dict[str, FileResult]) -> None:
    for ctx in changed_by:
        results[ctx.transform.id] = _failed(ctx.transform, path, reason)


def _run_edits(language, source, group, plans, results, lines) -> bytes:
    """tree-sitter and text families: every transform edits the same parse."""
    tree = treesitter.parse(language, source.body) if language != "text" else None
    subject = tree if tree is not None else source.text
    accepted: list = []
    changed_by: list[Context] = []

    def rewrite(t: Transform, ctx: Context) -> None:
        t.rewrite(subject, ctx)
        try:
            apply_edits(source.body, accepted + ctx.edits)  # overlap check only
        except TransformError as exc:
            raise TransformError(f"{exc} (with an earlier transform's edits)") from None

    for t in group:
        done = _step(t, source, plans, results, lines, lambda ctx: rewrite(t, ctx))
        if done and done[0].edits:
            accepted += done[0].edits
            changed_by.append(done[0])
    if not accepted:
        return source.body
    new = apply_edits(source.body, accepted, source.newline)
    if tree is not None:
        # parsed again incrementally; a failure is confirmed by a parse from scratch
        changes = [(e.start, e.end, edit_bytes(e, source.newline)) for e in accepted]
        before = treesitter.error_count(tree)
        after = treesitter.error_count(treesitter.reparse(language, tree, source.body, new, changes))
        before += sum(ctx.repeated_errors for ctx in changed_by)
        if after > before:
            after = treesitter.error_count(treesitter.parse(language, new))
        if after > before:
            _fail_all(changed_by, source.path, f"{source.path}: re-parse guard: the rewrite would add "
                                               f"{after - before} ERROR/MISSING node(s); file left untouched", results)
            return source.body
    return new


def _run_python(language, source, group, plans, results, lines=None) -> bytes:
    """libcst family. When every transform of the group has anchors, libcst parses
    only the statements they need (:class:`~winport.lang.partial.Partial`), else (or
    where the partial module cannot stand for the file) the whole module."""
    from .lang.partial import statement_spans

    lines = lines or _Lines(source.body)
    spans = None  # the file's statements, read once for both ways
    if all(t.anchor_re() is not None for t in group):
        spans = statement_spans(source.body)
        new = _run_python_partial(source, group, plans, results, spans, lines)
        if new is not None:
            return new
    return _run_python_whole(source, group, plans, results, spans, lines)


def _run_python_partial(source, group, plans, results, spans=None, lines=None) -> bytes | None:
    """Each transform sees a partial module of the file as the earlier ones left it;
    None where a partial module cannot stand for the file (nothing is kept then)."""
    import re

    from .lang.partial import Partial, focus, node_positions, statement_spans

    lines = lines or _Lines(source.body)
    code = source.body
    changed_by: list[tuple[Context, object]] = []  # each changing transform, the code it left
    todo = list(group)
    anchors = re.compile(b"|".join(t.anchor_re().pattern for t in group))
    rewritten, texts = None, None  # the partial module the last rewrite gave, its statements' text
    while todo:
        # after a rewrite, its module stands for the new code where their statements line up
        part = Partial.build(code, anchors, spans=spans if code is source.body else statement_spans(code),
                             module=rewritten, texts=texts)
        if part is None and rewritten is not None:
            part = Partial.build(code, anchors)
        if part is None:
            return None
        positions: dict = {}  # statement -> its nodes' positions within it, shared by the transforms
        rest: list[Transform] = []
        for i, t in enumerate(todo):
            def rewrite(ctx: Context, t=t):
                wrapper = focus(part.module, t.anchor_re(), part.spans, t.anchors_in_blocks)
                ctx.node_position = node_positions(wrapper, positions, part.line_of)
                token = part.active()
                try:
                    return wrapper, _checked(t, t.rewrite(wrapper, ctx))
                finally:
                    part.reset(token)

            done = _step(t, source, plans, results, lines, rewrite, seen=code)
            if done and done[0].sites:
                ctx, (wrapper, new_module) = done
                spliced = part.splice(new_module, wrapper)
                if spliced is None:
                    return None
                code, rewritten, texts = spliced, new_module, part.after
                changed_by.append((ctx, code))
                rest = todo[i + 1:]
                break
        todo = rest
    return _guarded(source, code, changed_by, results)


def _run_python_whole(source, group, plans, results, spans=None, lines=None) -> bytes:
    """libcst family on the whole module: parse once, each transform returns a new module."""
    import libcst as cst

    from .lang.partial import focus, node_positions, statement_spans

    lines = lines or _Lines(source.body)
    try:
        module = cst.parse_module(source.body)
    except cst.ParserSyntaxError as exc:
        reason = f"{source.path}: libcst cannot parse it (line {exc.raw_line}: {exc.message}); left untouched"
        for t in group:
            results[t.id] = _failed(t, source.path, reason)
        return source.body
    changed_by: list[tuple[Context, object]] = []  # each changing transform, the module it left
    code = source.body  # the current module's code and (``spans``) its top-level statements' lines
    positions: dict = {}  # statement -> its nodes' positions within it, shared by the file's transforms
    for t in group:
        if t.anchor_re() is not None and spans is None:
            spans = statement_spans(code)

        def rewrite(ctx: Context, t=t):
            wrapper = focus(module, t.anchor_re(), spans, t.anchors_in_blocks)
            ctx.node_position = node_positions(wrapper, positions)
            return _checked(t, t.rewrite(wrapper, ctx))

        done = _step(t, source, plans, results, lines, rewrite, seen=code)
        if done and done[0].sites:
            ctx, module = done
            changed_by.append((ctx, module))
            if t is not group[-1]:
                code, spans = module.bytes, None
    return _guarded(source, module.bytes if changed_by else source.body, changed_by, results)


def _checked(t: Transform, module):
    """What a Python transform's ``rewrite`` returned, if it is a module."""
    import libcst as cst

    if not isinstance(module, cst.Module):
        raise TransformError(f"transform {t.id}: rewrite returned {type(module).__name__}, "
                             "not the libcst Module (wrapper.module or wrapper.visit(...))")
    return module


def _guarded(source, new: bytes, changed_by: list[tuple[Context, object]], results) -> bytes:
    """``new``, unless it does not compile where the original did, or its import-time
    code reads a name before anything binds it where the original did not (then the
    file is left as it was and its changing transforms fail, the first that broke it
    named)."""
    from .lang.bindings import new_unbound

    if not changed_by:
        return source.body
    tree, error = _compiled(new, source.path)  # one parse serves the compile check and the import guard
    if error and not python_error(source.body, source.path):
        _fail_all([ctx for ctx, _ in changed_by], source.path, f"{source.path}: re-parse guard: the rewrite does "
                                                                f"not compile ({error}); file left untouched", results)
        return source.body
    if error or not new_unbound(source.body, tree):
        return new
    for ctx, after in changed_by:  # the first transform whose output reads an unbound name
        unbound = new_unbound(source.body, after if isinstance(after, bytes) else after.code.encode("utf-8"))
        if unbound:
            break
    names = ", ".join(f"`{name}` (line {line})" for name, line in sorted(unbound.items(), key=lambda i: i[1]))
    culprit = ctx.transform.id
    for other, _ in changed_by:
        why = (f"import guard: the rewrite reads {names} at import before anything binds it (NameError "
               "on import)" if other is ctx else f"import guard: {culprit} broke the module's import")
        results[other.transform.id] = _failed(other.transform, source.path,
                                              f"{source.path}: {why}; file left untouched")
    return source.body


def _run_ast(language, source, group, plans, results, lines=None) -> bytes:
    """Report-only Python detectors: one ``ast`` parse, no edits."""
    lines = lines or _Lines(source.body)
    try:
        module = pyast.parse(source.body, source.path)
    except (SyntaxError, ValueError) as exc:
        reason = f"{source.path}: Python cannot parse it ({exc}); left unchecked"
        for t in group:
            results[t.id] = _failed(t, source.path, reason)
        return source.body
    for t in group:
        done = _step(t, source, plans, results, lines, lambda ctx: t.rewrite(module, ctx))
        if done and (done[0].edits or done[0].sites):
            results[t.id] = _failed(t, source.path, f"{source.path}: detector {t.id} recorded an edit")
    return source.body


def _line_map(old: bytes, new: bytes) -> dict[int, int]:
    """1-based line of ``new`` -> the line of ``old`` it is, or where it was inserted."""
    a, b = old.splitlines(), new.splitlines()
    # the lines before the first difference and after the last are the same lines
    shortest = min(len(a), len(b))
    head = next((i for i in range(shortest) if a[i] != b[i]), shortest)
    tail = next((i for i in range(shortest - head) if a[-1 - i] != b[-1 - i]), shortest - head)
    out = {line: line for line in range(1, head + 1)}
    out.update({len(b) - i: len(a) - i for i in range(tail)})
    middle = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail], autojunk=False)
    for tag, i1, i2, j1, j2 in middle.get_opcodes():
        for k in range(j2 - j1):
            out[head + j1 + k + 1] = (head + i1 + k + 1) if tag == "equal" else max(min(head + i1 + 1, len(a)), 1)
    return out


def _compiled(code: bytes, path: str):
    """(the ``ast`` of ``code``, None) if it compiles, else (None, why not)."""
    try:
        tree = pyast.parse(code, path)
        compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return None, f"line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. NUL bytes
        return None, str(exc)
    return tree, None


def python_error(code: bytes, path: str) -> str | None:
    """Why ``code`` does not compile, or None."""
    return _compiled(code, path)[1]
