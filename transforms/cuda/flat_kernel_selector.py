from __future__ import annotations

import libcst as cst

from winport.lang.python import PositionedTransformer
from winport.transform import Context, PythonTransform

ELSE_IF = "else if ("


class FlatKernelSelector(PythonTransform):
    """Make the Marlin kernel generators emit flat `if` statements, not `else if` chains.

    Why:
    The Marlin generators write `kernel_selector.h`, included into the body
    of the kernel dispatch function: 700+ branches chained with `else if`.
    Each `else if` nests one block deeper, and MSVC stops at 128 levels with
    `C1061: compiler limit: blocks nested too deeply`.

    Pattern:
    In a Python file under `csrc/` (`generate_kernels.py` of gptq_marlin and
    marlin_moe_wna16, merged into `quantization/marlin/` by 0.33), a string
    or f-string whose text starts with `else if (`: the selector branches the
    generator appends.

    Rewrite:
    The text starts with `if (` instead. Every branch tests a conjunction of
    `name == value` over the same template parameters with a distinct
    combination of values (and the closing fp8 check tests an activation
    type no generated branch has), so at most one branch matches: flat `if`s
    select exactly the kernel the chain selected, on every compiler. The
    tests run both generators and compare every (condition, kernel) pair.
    """

    id = "cuda/flat-kernel-selector"
    seed = "K7"
    summary = "kernel generators emit flat `if` branches instead of 700-deep `else if` chains (C1061)"
    globs = ("csrc/**/*.py",)
    triggers = ('"else if (', "'else if (", 'f"else if (', "f'else if (")
    anchors = ("else if",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        return wrapper.visit(_Flatten(ctx))


class _Flatten(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        body = updated.value[len(updated.prefix) + len(updated.quote):]
        if not body.startswith(ELSE_IF):
            return updated
        self.ctx.applied(self.pos(original), '"else if (" -> "if (" in generated code')
        start = len(updated.prefix) + len(updated.quote)
        return updated.with_changes(value=updated.value[:start] + body[len("else "):])

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString):
        first = updated.parts[0] if updated.parts else None
        if not isinstance(first, cst.FormattedStringText) or not first.value.startswith(ELSE_IF):
            return updated
        self.ctx.applied(self.pos(original), 'f"else if (" -> f"if (" in generated code')
        return updated.with_changes(parts=[first.with_changes(value=first.value[len("else "):]), *updated.parts[1:]])
