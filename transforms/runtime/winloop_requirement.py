from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from winport.transform import Context, TextTransform

LINE = 'winloop; sys_platform == "win32"  # winport: the Windows build of uvloop (runtime/uvloop-winloop)\n'
# what brings uvloop in: itself, or uvicorn's [standard] extra (directly or through fastapi's)
_PULLS_UVLOOP = {"uvloop": set(), "uvicorn": {"standard"}, "fastapi": {"standard"}}


class WinloopRequirement(TextTransform):
    """Install winloop on Windows wherever the requirements bring in uvloop.

    Why:
    vLLM's server runs on uvloop, which `fastapi[standard]` (through
    `uvicorn[standard]`) installs everywhere but on Windows, where it has no
    build. `runtime/uvloop-winloop` uses winloop, uvloop's Windows build, when
    it is installed; without it the port falls back to asyncio's slower loop.

    Pattern:
    A requirement line in a top-level `requirements/*.txt` (not the ROCm,
    CPU, TPU or XPU ones), parsed with `packaging`, naming `uvloop`, or
    `uvicorn`/`fastapi` with the `standard` extra.

    Rewrite:
    `winloop; sys_platform == "win32"` is added on the next line, once per
    file: Linux installs exactly what it did. A file that names winloop
    already is left alone.
    """

    id = "runtime/winloop-requirement"
    seed = "P1"
    summary = 'requirements that bring in uvloop get `winloop; sys_platform == "win32"` beside them'
    globs = ("requirements/*.txt",)
    exclude = ("requirements/rocm*.txt", "requirements/cpu*.txt", "requirements/tpu*.txt", "requirements/xpu*.txt")
    triggers = ("uvloop", "fastapi[standard]", "uvicorn[standard]")

    def rewrite(self, text: str, ctx: Context) -> None:
        offset, anchor = 0, None
        for line in text.splitlines(keepends=True):
            req = _requirement(line)
            if req is not None and canonicalize_name(req.name) == "winloop":
                ctx.already(offset, "winloop is required already")
                return
            if req is not None and anchor is None:
                extras = _PULLS_UVLOOP.get(canonicalize_name(req.name))
                if extras is not None and extras <= req.extras:
                    anchor = (offset, line, req.name)
            offset += len(line.encode("utf-8"))
        if anchor is not None:
            at, line, name = anchor
            end = at + len(line.encode("utf-8"))
            prefix = "" if line.endswith("\n") else "\n"
            ctx.insert(end, prefix + LINE, f"winloop required on Windows beside {name}", where=at)


def _requirement(line: str) -> Requirement | None:
    spec = line.split(" #", 1)[0].strip()
    if not spec or spec.startswith(("#", "-")):
        return None
    try:
        return Requirement(spec)
    except InvalidRequirement:
        return None
