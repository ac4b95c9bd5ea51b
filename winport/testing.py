"""Test transforms, winport's own and plug-ins', against fixture cases.

One harness for every transform: a case's ``before/`` tree must become its
``after/`` tree (or stay as it is when there is no ``after/``; a file the transform
adds, such as a compatibility header, is compared with what its ``new_files``
gives), exactly the sites of ``reported.txt`` must be reported, the outcome must be
the one of ``outcome.txt`` (else not *failed*; *applied* for a case that changes),
a second run must change nothing, and no output file may parse worse than its input.
A Python transform with ``anchors_in_blocks`` must give the same with every statement
of its blocks visited.

From pytest::

    from winport import testing

    @testing.parametrize("fixtures")          # every case under ./fixtures
    def test_case(case):
        testing.assert_case(case)

    def test_in_memory():
        testing.assert_rewrite(MyFix(), {"vllm/a.py": "import fcntl\\n"},
                               {"vllm/a.py": "..."}, outcome="applied")

From the shell: ``winport test PATH...`` (exit 0 all pass, 1 a case fails, 2 bad input).
"""

from __future__ import annotations

import copy
import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from . import registry
from .examples import Case, cases, find
from .model import Outcome, Report
from .pipeline import Pipeline, python_error
from .sources import language_of
from .transform import Transform

__all__ = ["CaseError", "assert_case", "assert_rewrite", "check_case", "check_rewrite", "find_cases",
           "parametrize", "parse_problems", "validate"]


class CaseError(Exception):
    """A case winport cannot run: malformed, or naming a transform nobody installed."""


@dataclass
class Expected:
    """What a run of one transform over one tree must give."""

    after: dict[str, bytes]
    reported: set[str] | None = None  # "path:line"; None: not checked
    outcome: str | None = None  # None: the usual (applied when the tree changes, else not failed)
    unchanged: bool = False


def parse_problems(path: str, before: bytes, after: bytes, repeated: int = 0) -> str | None:
    """Why ``after`` parses worse than ``before`` (None if it does not): Python that no
    longer compiles, C++/CUDA or CMake with more tree-sitter ERROR/MISSING nodes than
    ``before`` plus ``repeated`` (errors a rewrite repeats by copying code)."""
    from .lang import treesitter

    lang = language_of(path)
    if lang == "python":
        return None if python_error(before, path) else python_error(after, path)
    if lang in ("cpp", "cmake"):
        b = treesitter.error_count(treesitter.parse(lang, before))
        a = treesitter.error_count(treesitter.parse(lang, after))
        return f"{path}: {a - b - repeated} new parse error(s)" if a > b + repeated else None
    return None


def _diff(path: str, want: bytes | None, got: bytes | None) -> str:
    lines = difflib.unified_diff(
        (want or b"").decode("utf-8", "replace").splitlines(keepends=True),
        (got or b"").decode("utf-8", "replace").splitlines(keepends=True),
        fromfile=f"expected/{path}" if want is not None else "/dev/null",
        tofile=f"rewritten/{path}" if got is not None else "/dev/null")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _read(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)


def _run(transform: Transform, root: Path) -> Report:
    return Pipeline([transform], jobs=1).run(root, write=True)


def _verify(transform: Transform, before: dict[str, bytes], want: Expected) -> list[str]:
    """The problems of ``transform`` on ``before`` against ``want`` ([] when it passes)."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="winport-case-") as tmp:
        root = Path(tmp) / "tree"
        _write(root, before)
        report = _run(transform, root)
        result = report.by_id(transform.id)
        reasons = "".join(f"\n  {f.path}: {f.reason.splitlines()[0]}" for f in result.files if f.reason)
        if want.outcome is not None and result.outcome.value != want.outcome:
            problems.append(f"outcome: expected {want.outcome}, got {result.outcome.value}{reasons}")
        elif want.outcome is None and result.outcome is Outcome.FAILED:
            problems.append(f"outcome: failed{reasons}")
        elif want.outcome is None and not want.unchanged and not (result.outcome is Outcome.APPLIED
                                                                    and result.sites):
            problems.append(f"outcome: expected applied (the case changes the tree), got {result.outcome.value}")
        elif want.outcome is None and want.unchanged and result.outcome is Outcome.APPLIED:
            problems.append("outcome: applied, but the case must not change the tree (no after/ folder)")

        tree = _read(root)
        added = transform.new_files(None) if report.created else {}
        for path in sorted(report.created):
            got = tree.pop(path)
            if path in added and got != added[path].encode():
                problems.append(f"{path}: the added file differs from new_files()\n"
                                + _diff(path, added[path].encode(), got))
        for path in sorted(set(tree) | set(want.after)):
            if tree.get(path) != want.after.get(path):
                problems.append(f"{path}: differs from the expected tree\n"
                                + _diff(path, want.after.get(path), tree.get(path)))

        got_reported = {f"{s.path}:{s.line}" for s in result.reported}
        if want.reported is not None and got_reported != want.reported:
            missing, extra = sorted(want.reported - got_reported), sorted(got_reported - want.reported)
            problems.append("reported sites differ from reported.txt"
                            + "".join(f"\n  missing: {m}" for m in missing)
                            + "".join(f"\n  not expected: {e}: " + next(s.message for s in result.reported
                                                                        if f"{s.path}:{s.line}" == e)
                                      for e in extra))

        for path, data in _read(root).items():
            if path in report.created or path not in before:
                continue
            repeated = sum(f.repeated_errors for f in result.files if f.path == path)
            why = parse_problems(path, before[path], data, repeated)
            if why:
                problems.append(f"re-parse: {why}")

        problems += _block_focus_problems(transform, before, report)

        again = _run(transform, root)
        if again.changed:
            problems.append("a second run changes the tree again: " + ", ".join(sorted(again.changed)))
        second = again.by_id(transform.id).outcome
        if want.unchanged and second is not result.outcome:
            problems.append(f"a second run's outcome is {second.value}, the first's {result.outcome.value}")
        if not want.unchanged and second not in (Outcome.ALREADY, Outcome.NOT_NEEDED, Outcome.REPORTED):
            problems.append(f"a second run's outcome is {second.value} (expected already, not-needed or reported)")
    return problems


def _outcome_of(report: Report, transform_id: str) -> tuple:
    """What a run gave: the changed files' new text, and each file's outcome and sites."""
    result = report.by_id(transform_id)
    return ({path: new for path, (_, new) in report.changed.items()}, result.outcome,
            [(f.path, f.outcome, [(s.line, s.column, s.message) for s in [*f.sites, *f.reported]])
             for f in result.files])


def _block_focus_problems(transform: Transform, before: dict[str, bytes], report: Report) -> list[str]:
    """For a Python transform with ``anchors_in_blocks``: the same transform visiting the
    blocks whole must give what ``report`` gave (else a statement it reads lacks an anchor)."""
    if not getattr(transform, "anchors_in_blocks", False):
        return []
    whole = copy.copy(transform)
    whole.__class__ = type(f"Whole{type(transform).__name__}", (type(transform),), {"anchors_in_blocks": False})
    with tempfile.TemporaryDirectory(prefix="winport-case-") as tmp:
        root = Path(tmp) / "tree"
        _write(root, before)
        if _outcome_of(Pipeline([whole], jobs=1).run(root, write=False), transform.id) == \
                _outcome_of(report, transform.id):
            return []
    return ["anchors_in_blocks: visiting every statement of the blocks gives other files, sites or outcome; a "
            "statement the transform reads holds none of its anchors (add one, or leave anchors_in_blocks False)"]


def _bytes(files: Mapping[str, str | bytes]) -> dict[str, bytes]:
    return {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in files.items()}


def check_rewrite(transform: Transform, before: Mapping[str, str | bytes],
                  after: Mapping[str, str | bytes] | None = None, *, reported: Iterable[str] | None = None,
                  outcome: str | Outcome | None = None) -> list[str]:
    """The problems of ``transform`` on the tree ``before`` ({relative path: text}):
    it must become ``after`` (None: stay as it is), report exactly ``reported``
    (``"path:line"``; None: not checked) and end in ``outcome`` (None: applied when it
    changes, else not failed). Each problem is a sentence; a differing file comes with
    a unified diff. [] when it passes."""
    if isinstance(outcome, Outcome):
        outcome = outcome.value
    source = _bytes(before)
    want = Expected(after=_bytes(after) if after is not None else dict(source),
                    reported=set(reported) if reported is not None else None, outcome=outcome,
                    unchanged=after is None or _bytes(after) == source)
    return _verify(transform, source, want)


def assert_rewrite(transform: Transform, before: Mapping[str, str | bytes],
                   after: Mapping[str, str | bytes] | None = None, *, reported: Iterable[str] | None = None,
                   outcome: str | Outcome | None = None) -> None:
    """:func:`check_rewrite`, raising ``AssertionError`` with every problem."""
    problems = check_rewrite(transform, before, after, reported=reported, outcome=outcome)
    if problems:
        raise AssertionError(f"{transform.id}:\n" + "\n".join(problems))


def _transform_of(case: Case, transforms: Mapping[str, Transform] | None = None) -> Transform:
    if transforms is not None and case.transform in transforms:
        return transforms[case.transform]
    try:
        return registry.get(case.transform)
    except registry.RegistryError as exc:
        raise CaseError(f"{case.folder}: names {case.transform!r}, which no installed transform is ({exc})") from None


def validate(case: Case) -> Transform:
    """The installed transform ``case`` names, once the case is well formed; else
    :class:`CaseError` saying what is wrong with it."""
    import re

    if not case.before.is_dir():
        raise CaseError(f"{case.folder}: no before/ folder")
    outcomes = [o.value for o in Outcome]
    if case.outcome is not None and case.outcome not in outcomes:
        raise CaseError(f"{case.folder / 'outcome.txt'}: {case.outcome!r} is not an outcome ({', '.join(outcomes)})")
    for line in sorted(case.reported):
        if not re.fullmatch(r"[^:]+:[1-9][0-9]*", line):
            raise CaseError(f"{case.folder / 'reported.txt'}: {line!r} is not PATH:LINE")
    return _transform_of(case)


def check_case(case: Case, transform: Transform | None = None) -> list[str]:
    """The problems of one fixture case (:func:`check_rewrite` on its folders); ``transform``:
    the transform to run (default: the installed one the case's folder names). A case
    that cannot run raises :class:`CaseError`."""
    t = validate(case) if transform is None else transform
    want = Expected(after=case.files("after"), reported=case.reported, outcome=case.outcome,
                    unchanged=case.unchanged)
    return _verify(t, case.files("before"), want)


def assert_case(case: Case, transform: Transform | None = None) -> None:
    """:func:`check_case`, raising ``AssertionError`` that names the case's folder."""
    problems = check_case(case, transform)
    if problems:
        raise AssertionError(f"{case.transform}/{case.name} ({case.folder}):\n" + "\n".join(problems))


def find_cases(*paths: str | Path) -> list[Case]:
    """Every case at or under ``paths`` (fixture roots, a transform's folder or single cases);
    with no path, every case of every installed transform."""
    if not paths:
        return [c for t in registry.all_transforms() for c in cases(t)]
    return [c for p in paths for c in find(Path(p))]


def parametrize(*paths: str | Path, argname: str = "case") -> Callable[[Any], Any]:
    """A ``pytest.mark.parametrize`` over :func:`find_cases`, one test per case, named
    ``area/name/case``."""
    import pytest

    found = find_cases(*paths)
    return pytest.mark.parametrize(argname, found, ids=[f"{c.transform}/{c.name}" for c in found])
