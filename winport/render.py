"""Turning a Report into what people and tools read: the table, a diff, JSON."""

from __future__ import annotations

import difflib
import json

from .model import Outcome, Report

COLUMNS = ("transform", "seed", "outcome", "files", "sites", "already", "reported")


def table(report: Report, verb: str = "changed") -> str:
    rows = [COLUMNS]
    for t in report.transforms:
        rows.append((
            t.id, t.seed or "-", t.outcome.value,
            str(t.count(Outcome.APPLIED)), str(len(t.sites)), str(t.count(Outcome.ALREADY)),
            str(len(t.reported)),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = []
    for r in rows:
        cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))

    details = []
    for t in report.transforms:
        if t.drift:
            details.append(f"drifted  {t.id}: {t.drift}")
        if t.note:
            details.append(f"not needed {t.id}: {t.note}")
        for f in t.files:
            if f.outcome is Outcome.FAILED:
                details.append(f"failed   {t.id}: {f.reason.splitlines()[0]}")
        for s in t.reported:
            details.append(f"reported {t.id}: {s}")
    if details:
        lines += [""] + details

    lines += ["", summary(report, verb)]
    return "\n".join(lines)


def summary(report: Report, verb: str = "changed") -> str:
    ts = report.transforms
    sites = sum(len(t.sites) for t in ts)
    reported = sum(len(t.reported) for t in ts)
    drifted = sum(1 for t in ts if t.outcome is Outcome.DRIFTED)
    failed = sum(1 for t in ts if t.outcome is Outcome.FAILED)
    ran = [t for t in ts if t.outcome is not Outcome.NOT_APPLICABLE]
    if report.layout is not None:
        from .layout import VLLM_PATHS

        moved = ", ".join(f"{k}={v}" for k, v in report.layout.items() if VLLM_PATHS.get(k) != v)
        tree = f" in layout {moved or 'vllm'} ({len(ts) - len(ran)} not applicable: their roles are missing)"
    elif report.tree == "vllm":
        tree = ""
    else:
        tree = f" on a {report.tree} tree ({len(ts) - len(ran)} not applicable: they fix vLLM's own files)"
    return (f"winport: {len(ran)} transforms{tree}, {len(report.changed)} files {verb}, {sites} sites, "
            f"{reported} reported, {drifted} drifted, {failed} failed "
            f"({report.files_scanned} files scanned in {report.seconds:.2f}s"
            + (", report from the cache)" if report.cached else ")"))


def limits(report: Report) -> str:
    return "Known limits of the port:\n" + "\n".join(f"  - {line}" for line in report.limits)


def next_steps(directory) -> str:
    """The Windows commands that build the ported tree, for a run that changed it."""
    return "\n".join([
        "Next, on Windows, in an 'x64 Native Tools Command Prompt for VS 2022' with the Python that has",
        "CUDA PyTorch installed:",
        f"  cd {directory}",
        "  winport doctor .",
        r'  set "CUDA_HOME=C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v12.6"   (your toolkit)',
        "  set VLLM_TARGET_DEVICE=cuda",
        "  set MAX_JOBS=4   (about 4 GiB of memory per job; winport doctor suggests a value)",
        "  pip install -r requirements/build.txt",
        "  pip install -e . --no-build-isolation",
    ])


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)


def diff(report: Report) -> str:
    """A unified diff of every change, in the form `git apply` takes (a/ and b/ prefixes)."""
    out: list[str] = []
    for path in report.changed_paths:
        old, new = report.changed[path]
        out.append(f"diff --git a/{path} b/{path}\n")
        new_file = path in report.created
        if new_file:
            out.append("new file mode 100644\n")
        for line in difflib.unified_diff(_lines(old), _lines(new), "/dev/null" if new_file else f"a/{path}",
                                         f"b/{path}"):
            if line.startswith(("---", "+++")):
                out.append(line.rstrip("\r\n") + "\n")  # difflib's header lines end with "\n" only
            elif not line.endswith("\n"):
                out.append(line + "\n\\ No newline at end of file\n")
            else:
                out.append(line)
    return "".join(out)


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
