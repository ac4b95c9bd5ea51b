from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, add_helper
from winport.transform import Context, PythonTransform

SUFFIX = "_WINPORT_EXE"
SUFFIX_CODE = f'''
# winport: executables carry .exe on Windows (nvcc.exe)
{SUFFIX} = ".exe" if sys.platform == "win32" else ""
'''


class NvccExe(PythonTransform):
    """Name the nvcc executable `nvcc.exe` on Windows in setup.py.

    Why:
    setup.py builds the compiler path as `CUDA_HOME + "/bin/nvcc"` (to read
    nvcc's version) and `f"{CUDA_HOME}/bin/nvcc"` (for
    `CMAKE_CUDA_COMPILER`). On Windows the file is `nvcc.exe`: running the
    first fails, and CMake is pointed at a file that does not exist.

    Pattern:
    A string literal or the text of an f-string in setup.py that ends with
    `/bin/nvcc`, however the path is put together around it.

    Rewrite:
    The string is followed by `_WINPORT_EXE`, a constant added once after the
    imports that is `".exe"` on Windows and `""` elsewhere:
    `CUDA_HOME + "/bin/nvcc" + _WINPORT_EXE`, `f"{CUDA_HOME}/bin/nvcc{_WINPORT_EXE}"`.
    """

    id = "build/nvcc-exe"
    seed = "B7"
    summary = "setup.py names nvcc `nvcc.exe` on Windows"
    globs = ("setup.py",)
    triggers = ("/bin/nvcc",)
    anchors = ("nvcc", SUFFIX)
    anchors_in_blocks = True
    expects = "setup.py's path to nvcc (`.../bin/nvcc`)"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Suffix(ctx))
        return add_helper(module, ctx, SUFFIX, SUFFIX_CODE, ("sys",))


def _ends_with_nvcc(text: str) -> bool:
    return text.endswith("/bin/nvcc")


class _Suffix(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.done: set[int] = set()

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if m.matches(node, m.BinaryOperation(operator=m.Add(), right=m.Name(SUFFIX))):
            left = node.left  # `a + "/bin/nvcc" + S` is `(a + "/bin/nvcc") + S`
            while isinstance(left, cst.BinaryOperation):
                left = left.right
            self.done.add(id(left))

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.BaseExpression:
        if not _ends_with_nvcc(str(original.evaluated_value)):
            return updated
        if id(original) in self.done:
            self.ctx.already(self.pos(original), "nvcc path already carries _WINPORT_EXE")
            return updated
        self.ctx.applied(self.pos(original), '"/bin/nvcc" + _WINPORT_EXE')
        return cst.BinaryOperation(left=updated, operator=cst.Add(), right=cst.Name(SUFFIX))

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString):
        parts = list(updated.parts)
        for i, part in enumerate(parts):
            if isinstance(part, cst.FormattedStringText) and _ends_with_nvcc(part.value):
                following = parts[i + 1] if i + 1 < len(parts) else None
                if m.matches(following, m.FormattedStringExpression(expression=m.Name(SUFFIX))):
                    self.ctx.already(self.pos(original), "nvcc path already carries _WINPORT_EXE")
                    continue
                parts.insert(i + 1, cst.FormattedStringExpression(expression=cst.Name(SUFFIX)))
                self.ctx.applied(self.pos(original), "{_WINPORT_EXE} after /bin/nvcc")
                return updated.with_changes(parts=parts)
        return updated
