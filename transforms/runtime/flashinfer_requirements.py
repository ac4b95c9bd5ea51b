from __future__ import annotations

import re

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from winport.transform import Context, TextTransform

# FlashInfer and what it pulls in that has no Windows wheel.
FLASHINFER = re.compile(r"^(flashinfer(-.*)?|nvidia-cutlass-dsl(-.*)?|apache-tvm-ffi)$")
NOT_WINDOWS = 'sys_platform != "win32"'
_WINDOWS = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}


class FlashinferRequirements(TextTransform):
    """Keep FlashInfer's requirements off Windows with an environment marker.

    Why:
    FlashInfer and its CUTLASS DSL (`nvidia-cutlass-dsl`, with
    `nvidia-cutlass-dsl-libs-base`) and TVM FFI packages publish no Windows
    wheels, so `pip install -r requirements/cuda.txt` fails on Windows.
    Commenting them out (what hand ports do) also drops them on Linux.

    Pattern:
    A requirement line in a top-level `requirements/*.txt` file (not the
    ROCm, CPU, TPU or XPU ones), parsed with
    `packaging`, naming `flashinfer-*`, `nvidia-cutlass-dsl*` or
    `apache-tvm-ffi`.

    Rewrite:
    The line gets the marker `sys_platform != "win32"`, joined with `and` to
    a marker it already has (parenthesised when that one uses `or`); its
    version, extras and trailing comment stay as they are. A line whose
    marker already excludes Windows is left alone.
    """

    id = "runtime/flashinfer-requirements"
    seed = "R9"
    summary = 'FlashInfer requirements get `; sys_platform != "win32"` (not commented out)'
    globs = ("requirements/*.txt",)
    exclude = ("requirements/rocm*.txt", "requirements/cpu*.txt", "requirements/tpu*.txt", "requirements/xpu*.txt")
    triggers = ("flashinfer", "cutlass-dsl", "cutlass_dsl", "apache-tvm-ffi")

    def rewrite(self, text: str, ctx: Context) -> None:
        offset = 0
        for line in text.splitlines(keepends=True):
            self._line(line, offset, ctx)
            offset += len(line.encode("utf-8"))

    def _line(self, line: str, offset: int, ctx: Context) -> None:
        content = line.rstrip("\r\n")
        stripped = content.lstrip()
        if not stripped or stripped.startswith(("#", "-")):
            return
        hash_at = content.find(" #")
        spec = content if hash_at < 0 else content[:hash_at]
        try:
            req = Requirement(spec.strip())
        except InvalidRequirement:
            return
        if not FLASHINFER.match(canonicalize_name(req.name)):
            return
        if req.marker is not None and not req.marker.evaluate(_WINDOWS):
            ctx.already(offset, f"{req.name} already excluded on Windows")
            return
        end = len(spec.rstrip())
        if req.marker is None:
            new_spec = spec[:end] + f"; {NOT_WINDOWS}"
        else:
            semi = spec.index(";")
            old = spec[semi + 1:end].strip()
            joined = f"({old})" if " or " in old else old
            new_spec = spec[:semi] + f"; {joined} and {NOT_WINDOWS}"
        Marker(new_spec.split(";", 1)[1])  # must stay a valid marker
        ctx.replace(offset, offset + len(spec[:end].encode("utf-8")), new_spec,
                    f"{req.name}: {NOT_WINDOWS}", where=offset)
