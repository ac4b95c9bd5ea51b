"""`winport check`: what remains to port, as findings in text, JSON or SARIF 2.1.0.

A finding is a site a transform would rewrite (``transform`` names it) or a site a
transform recognises but leaves to a person (``transform`` is null). Classes are
the catalogue ids (K5, R6, ...) or, for transforms outside the catalogue, their ids.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from . import __version__
from .model import SCHEMA_VERSION, Outcome, Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


SCOPE_LABELS = {"cpu": "CPU backend", "rocm": "ROCm backend", "unlisted": "no CUDA target compiles it"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    klass: str
    message: str
    transform: str | None
    #: for C-family files, the build that compiles them: cuda, cpu, rocm or unlisted
    scope: str | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["class"] = d.pop("klass")
        return d


def from_report(report: Report, scope_of=None) -> list[Finding]:
    """Findings of a dry run's report; ``scope_of(path)`` (``winport.scope.classifier``)
    labels C-family files with the build that compiles them."""
    out = []
    for t in report.transforms:
        klass = t.seed or t.id
        for f in t.files:
            if f.outcome is Outcome.APPLIED:
                out += [Finding(s.path, s.line, s.column, klass, s.message, t.id) for s in f.sites]
            elif f.outcome is Outcome.FAILED:
                out.append(Finding(f.path, 1, 1, klass, f.reason.splitlines()[0], None))
            out += [Finding(s.path, s.line, s.column, klass, s.message, None) for s in f.reported]
    if scope_of is not None:
        out = [replace(f, scope=scope_of(f.path)) for f in out]
    return sorted(set(out), key=lambda x: (x.path, x.line, x.column, x.klass))


def text(findings: list[Finding]) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.klass} {f.message}"
             + (f" [fix: winport rewrite --select {f.transform}]" if f.transform else " [needs a person]")
             + (f" [{SCOPE_LABELS[f.scope]}]" if f.scope in SCOPE_LABELS else "")
             for f in findings]
    if not findings:
        lines.append("winport check: nothing left to port")
    else:
        others = {s: sum(f.scope == s for f in findings) for s in SCOPE_LABELS}
        split = ", ".join(f"{n} {SCOPE_LABELS[s]}" for s, n in others.items() if n)
        lines.append(f"winport check: {len(findings)} finding(s)" + (f" ({split}; the rest in the CUDA build "
                                                                       "and in Python/build files)" if split else ""))
    return "\n".join(lines)


def to_json(findings: list[Finding]) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION, "findings": [f.to_json() for f in findings]}, indent=2)


def sarif(findings: list[Finding], transforms) -> str:
    """SARIF 2.1.0: one rule per class, one result per finding."""
    rules, index = [], {}
    for t in transforms:
        klass = t.seed or t.id
        if klass in index:
            continue
        index[klass] = len(rules)
        sections = t.doc_sections()
        rules.append({
            "id": klass,
            "name": t.id.replace("/", "-"),
            "shortDescription": {"text": t.summary},
            "fullDescription": {"text": sections.get("Why", t.summary)},
            "help": {"text": sections.get("Rewrite", "")},
        })
    results = []
    for f in findings:
        if f.klass not in index:
            index[f.klass] = len(rules)
            rules.append({"id": f.klass, "shortDescription": {"text": f.klass}})
        results.append({
            "ruleId": f.klass,
            "ruleIndex": index[f.klass],
            "level": "warning" if f.transform else "error",
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f.path, "uriBaseId": "SRCROOT"},
                "region": {"startLine": f.line, "startColumn": f.column},
            }}],
            **({"properties": {"scope": f.scope}} if f.scope else {}),
        })
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "winport", "version": __version__, "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2)
