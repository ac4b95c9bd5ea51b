from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, ensure_import, parse_statement
from winport.transform import Context, PythonTransform

_EMPTY = m.Assign(targets=[m.AssignTarget(target=m.Name("VLLM_TARGET_DEVICE"))], value=m.SimpleString())
_WINDOWS_TEST = 'sys.platform == "win32" and os.getenv("VLLM_TARGET_DEVICE") == "cuda"'


class TargetDevice(PythonTransform):
    """Let an explicit `VLLM_TARGET_DEVICE=cuda` build CUDA on Windows.

    Why:
    setup.py decides the target device from the platform: anything that is
    neither Linux nor macOS gets `VLLM_TARGET_DEVICE = "empty"`, a build with
    no extensions at all, even when the user asked for CUDA.

    Pattern:
    The branch of setup.py's platform `if`/`elif` chain whose test looks at
    `sys.platform` and whose body sets `VLLM_TARGET_DEVICE = "empty"`. It is
    an anchor: a setup.py without it is reported as drifted.

    Rewrite:
    A branch in front of it, taken only on Windows when the environment says
    `VLLM_TARGET_DEVICE=cuda`, which keeps `cuda`. Every other platform and
    every other setting reaches the original branches unchanged.
    """

    id = "build/target-device"
    seed = "B5"
    summary = 'keep VLLM_TARGET_DEVICE="cuda" on Windows when set explicitly (setup.py forces "empty")'
    globs = ("setup.py",)
    triggers = ("VLLM_TARGET_DEVICE",)
    anchors = ("VLLM_TARGET_DEVICE",)
    anchors_in_blocks = True
    expects = 'setup.py\'s platform branch that sets VLLM_TARGET_DEVICE = "empty"'

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_AddBranch(ctx))
        return ensure_import(module, "sys") if ctx.sites else module


def _sets_empty(node: cst.If) -> bool:
    for stmt in m.findall(node.body, _EMPTY):
        if stmt.value.evaluated_value == "empty":  # type: ignore[attr-defined]
            return True
    return False


def _is_windows_branch(node: cst.If) -> bool:
    return bool(m.findall(node.test, m.Comparison(left=m.Attribute(value=m.Name("sys"), attr=m.Name("platform")),
                                                  comparisons=[m.ComparisonTarget(m.Equal(), m.SimpleString())])))


class _AddBranch(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.found = False
        self.parent_of: dict[int, cst.If] = {}  # elif branch -> the branch before it

    def visit_If(self, node: cst.If) -> None:
        if isinstance(node.orelse, cst.If):
            self.parent_of[id(node.orelse)] = node

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        if not (_sets_empty(original) and m.findall(original.test, m.Attribute(m.Name("sys"), m.Name("platform")))):
            return updated
        self.found = True
        before = self.parent_of.get(id(original))
        if before is not None and _is_windows_branch(before) and "cuda" in cst.Module([]).code_for_node(before.test):
            self.ctx.already(self.pos(original), "a Windows branch keeps VLLM_TARGET_DEVICE=cuda already")
            return updated
        branch = parse_statement(f'if {_WINDOWS_TEST}:\n    VLLM_TARGET_DEVICE = "cuda"\n', self.module)
        assert isinstance(branch, cst.If)
        self.ctx.applied(self.pos(original), 'Windows with VLLM_TARGET_DEVICE=cuda keeps "cuda"')
        return branch.with_changes(orelse=updated.with_changes(leading_lines=[]), leading_lines=updated.leading_lines)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not self.found:
            self.ctx.drifted('setup.py: no platform branch sets VLLM_TARGET_DEVICE = "empty"')
        return updated
