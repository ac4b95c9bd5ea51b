from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer, add_helper
from winport.transform import Context, PythonTransform

NAME = "_WINPORT_SHM_DIR"
CODE = f'''
# winport: Windows has no /dev/shm; shared files live in the temporary folder there
{NAME} = tempfile.gettempdir() if sys.platform == "win32" else "/dev/shm"
'''
SHM = "/dev/shm"
NAME_FN = "_winport_shm_name"
NAME_CODE = r'''
def _winport_shm_name(part):
    # winport: a part of a shared file's name on Windows: none of the characters its paths
    # reject, and a bounded length (the temporary folder's path comes before it)
    if sys.platform != "win32":
        return part
    text = "".join("_" if c in '<>:"/\\|?*' or ord(c) < 32 else c for c in str(part))
    if len(text) > 96:
        text = text[:80] + "-" + hashlib.sha256(text.encode()).hexdigest()[:15]
    return text
'''


class DevShm(PythonTransform):
    """Put the files vLLM shares through `/dev/shm` in the temporary folder on Windows.

    Why:
    From 0.26 the CPU KV-offload tier and the encoder-cache connector map
    `f"/dev/shm/vllm_offload_{engine_id}.mmap"`, the shared-memory broadcast
    checks free space on `SHM_PATH = "/dev/shm"`, and the snapshot runtime
    keeps `Path("/dev/shm")`. Windows has no such folder: creating the files
    fails, and the free-space check raises.

    Pattern:
    In `vllm/`, a string literal that is `/dev/shm` or starts with `/dev/shm/`,
    and an f-string whose text starts with it.

    Rewrite:
    The `/dev/shm` part becomes `_WINPORT_SHM_DIR`, a constant added once
    after the imports: `tempfile.gettempdir()` on Windows, `"/dev/shm"`
    elsewhere (`import sys`/`import tempfile` are added when missing):
    `SHM_PATH = _WINPORT_SHM_DIR`, `f"{_WINPORT_SHM_DIR}/vllm_offload_{engine_id}.mmap"`,
    `_WINPORT_SHM_DIR + "/x"`. The values an f-string puts into the file's
    name (an engine id may hold a model id: `org/model:tag`) pass through
    `_winport_shm_name()`, added once: on Windows it replaces the characters
    Windows paths reject (`<>:"/\\|?*` and control characters) with `_` and
    bounds the part to 96 characters (a hash keeps long ones apart);
    elsewhere it returns the value itself, so Linux gets the same strings.
    """

    id = "runtime/dev-shm"
    seed = "P5"
    summary = "`/dev/shm` paths -> the temporary folder on Windows (`_WINPORT_SHM_DIR`), /dev/shm elsewhere"
    triggers = ('"/dev/shm', "'/dev/shm", 'f"/dev/shm', "f'/dev/shm")
    anchors = (SHM, NAME)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        paths = _Paths(ctx)
        module = add_helper(wrapper.visit(paths), ctx, NAME, CODE, ("sys", "tempfile"))
        return add_helper(module, ctx, NAME_FN, NAME_CODE, ("sys", "hashlib")) if paths.named else module


class _Paths(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.definition = 0  # inside `_WINPORT_SHM_DIR = ...`: its "/dev/shm" stays
        self.named = False  # an f-string's value now passes through _winport_shm_name()

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(isinstance(t.target, cst.Name) and t.target.value == NAME for t in node.targets):
            self.definition += 1
            self.ctx.already(self.pos(node), f"{NAME} is defined")

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if any(isinstance(t.target, cst.Name) and t.target.value == NAME for t in original.targets):
            self.definition -= 1
        return updated

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        value = original.evaluated_value
        if self.definition or not isinstance(value, str) or not (value == SHM or value.startswith(SHM + "/")):
            return updated
        self.ctx.applied(self.pos(original), f"{original.value}: {SHM} -> {NAME}")
        if value == SHM:
            return cst.Name(NAME)
        rest = original.prefix + original.quote + original.value[len(original.prefix) + len(original.quote) + len(SHM):]
        return cst.BinaryOperation(cst.Name(NAME), cst.Add(), cst.SimpleString(rest))

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString):
        parts = list(updated.parts)
        first = parts[0] if parts else None
        if self.definition or not isinstance(first, cst.FormattedStringText) or not (
                first.value == SHM or first.value.startswith(SHM + "/")):
            return updated
        rest = first.value[len(SHM):]
        named = [p.with_changes(expression=cst.Call(cst.Name(NAME_FN), [cst.Arg(p.expression)]))
                 if isinstance(p, cst.FormattedStringExpression) else p for p in parts[1:]]
        self.named = self.named or named != parts[1:]
        new = [cst.FormattedStringExpression(expression=cst.Name(NAME))] + (
            [cst.FormattedStringText(rest)] if rest else []) + named
        self.ctx.applied(self.pos(original), f"f-string: {SHM} -> {{{NAME}}}")
        return updated.with_changes(parts=new)
