from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, ensure_import
from winport.transform import Context, PythonTransform

_GLOB = m.Call(func=m.OneOf(m.Attribute(m.Name("glob"), m.Name("glob")), m.Name("glob")))
_SEP_SPLIT = m.Call(func=m.Attribute(attr=m.Name("split")), args=[m.Arg(m.SimpleString())])


class FlashAttnFiles(PythonTransform):
    """Copy the vllm_flash_attn Python files with separator-independent paths.

    Why:
    After a build, setup.py copies `vllm/vllm_flash_attn/**/*.py` from the
    build folder into the source tree (what an editable install imports). It
    finds the files with `glob.glob` and cuts each path with
    `file.split("vllm/vllm_flash_attn/")[-1]`. On Windows glob returns
    `...\\vllm\\vllm_flash_attn\\__init__.py`: the split finds nothing, the
    "relative" path is the whole absolute path, and each file is copied onto
    itself. `vllm/vllm_flash_attn/` ends up with the compiled `.pyd` files
    only - no `__init__.py`, `flash_attn_interface.py`, `layers/`, `ops/` -
    and `import vllm.vllm_flash_attn` fails.

    Pattern:
    In setup.py, `.split("<path with />")` on the loop variable of a `for`
    over `glob.glob(...)` results (directly or through a variable).

    Rewrite:
    The path is normalised first: `file.replace(os.sep, "/").split(...)`. On
    Linux `os.sep` is `/`, so the expression is unchanged in meaning; on
    Windows the split finds its separator and the copy lands in
    `vllm/vllm_flash_attn/` as intended. `import os` is added at the top
    when the module does not bind `os` before.
    """

    id = "build/flash-attn-files"
    seed = "R7"
    summary = "setup.py's copy of vllm_flash_attn/*.py splits glob paths on os.sep-normalised strings"
    globs = ("setup.py",)
    triggers = ("glob",)
    anchors = ("glob", "split")
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Normalise(ctx))
        return ensure_import(module, "os") if ctx.sites else module


class _Normalise(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.globbed: set[str] = set()  # names bound to glob results
        self.loop_vars: list[str] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        if m.matches(node.value, _GLOB):
            self.globbed.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

    def visit_For(self, node: cst.For) -> None:
        it = node.iter
        if isinstance(node.target, cst.Name) and (m.matches(it, _GLOB) or
                                                  (isinstance(it, cst.Name) and it.value in self.globbed)):
            self.loop_vars.append(node.target.value)
        else:
            self.loop_vars.append("")

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        self.loop_vars.pop()
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "split") or not m.matches(original, _SEP_SPLIT):
            return updated
        sep = original.args[0].value.evaluated_value  # type: ignore[attr-defined]
        if "/" not in str(sep) or str(sep).strip("/") == "":
            return updated
        receiver = original.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, cst.Name) and receiver.value in self.loop_vars and receiver.value:
            self.ctx.applied(self.pos(original), f"{receiver.value}.split({sep!r}) on an os.sep-normalised path")
            normalised = cst.parse_expression(f'{receiver.value}.replace(os.sep, "/")')
            return updated.with_changes(func=updated.func.with_changes(value=normalised))
        if m.matches(receiver, m.Call(func=m.Attribute(attr=m.Name("replace")),
                                      args=[m.Arg(m.Attribute(m.Name("os"), m.Name("sep"))), m.Arg()])):
            self.ctx.already(self.pos(original), "path is normalised with replace(os.sep, '/') already")
        return updated
