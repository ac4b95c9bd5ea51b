from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, add_helper
from winport.transform import Context, PythonTransform

HELPER = "_winport_cmake_args"
HELPER_CODE = f'''
def {HELPER}(args):
    """winport: CMake reads a backslash in a path as an escape; on Windows hand it '/'."""
    import sys

    if sys.platform != "win32":
        return args
    return [str(arg).replace("\\\\", "/") for arg in args]
'''

_CMAKE_LIST = m.List(elements=[m.Element(m.SimpleString()), m.ZeroOrMore()])


class CMakePathSlashes(PythonTransform):
    """Hand CMake forward-slash paths from setup.py on Windows.

    Why:
    setup.py passes Windows paths (`C:\\Users\\...\\python.exe`, the source and
    `.deps` folders) to CMake as `-D` values and arguments. CMake treats a
    backslash in a string as an escape, so `\\U`, `\\p`, ... break
    configuration or silently change paths.

    Pattern:
    Every list literal in setup.py whose first element is the string
    `"cmake"` and that holds a non-literal element (a path, `*cmake_args`):
    the configure, build and install command lines, however they are built.

    Rewrite:
    The list is passed through a small helper, `_winport_cmake_args(...)`,
    added once after the imports, which returns the list unchanged off
    Windows and replaces `\\` with `/` in every argument on Windows.
    """

    id = "build/cmake-path-slashes"
    seed = "B6"
    summary = "setup.py hands CMake forward-slash paths on Windows"
    globs = ("setup.py",)
    triggers = ('"cmake"', "'cmake'")
    anchors = ("cmake",)
    anchors_in_blocks = True
    expects = 'a `["cmake", ...]` command line in setup.py'

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        visitor = _Wrap(ctx)
        module = wrapper.visit(visitor)
        if visitor.found == 0:
            ctx.drifted('setup.py: no ["cmake", ...] command line with a path or argument list in it')
        return add_helper(module, ctx, HELPER, HELPER_CODE)


class _Wrap(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx
        self.found = 0
        self.wrapped: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if m.matches(node.func, m.Name(HELPER)) and node.args:
            self.wrapped.add(id(node.args[0].value))

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.BaseExpression:
        if not m.matches(original, _CMAKE_LIST) or original.elements[0].value.evaluated_value != "cmake":
            return updated
        if all(isinstance(e.value, cst.SimpleString) for e in original.elements):
            return updated  # nothing but literals: no path in it
        self.found += 1
        if id(original) in self.wrapped:
            self.ctx.already(self.pos(original), "command line already goes through _winport_cmake_args")
            return updated
        self.ctx.applied(self.pos(original), "CMake command line passed through _winport_cmake_args")
        return cst.Call(func=cst.Name(HELPER), args=[cst.Arg(updated)])
