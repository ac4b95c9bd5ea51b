from __future__ import annotations

import ast
import operator

import libcst as cst

from winport.lang.python import PositionedTransformer, module_aliases
from winport.transform import Context, PythonDocument, PythonTransform

INT32_MAX = 2**31 - 1


class RandintDtype(PythonTransform):
    """Give `np.random.randint` with 64-bit bounds its `dtype=np.int64`.

    Why:
    `np.random.randint(low, high)` draws integers of numpy's default integer type.
    Before numpy 2 that was C `long`, 32 bits on Windows: bounds beyond 32 bits raise
    `ValueError: high is out of bounds for int32`. vLLM draws every request's sampling
    seed as `np.random.randint(_NP_INT64_MIN, _NP_INT64_MAX)` (the GPU model runner's
    sampling states); its requirements do not exclude numpy 1.x, which another
    package in a Windows environment may hold back.

    Pattern:
    A call `np.random.randint(...)` (any alias of numpy) without `dtype=` whose bounds
    name a 64-bit integer (a name holding `INT64`, or `iinfo(...int64)`) or are
    literals beyond 32 bits.

    Rewrite:
    `dtype=np.int64` is added. On Linux (and with numpy 2 everywhere) that is the
    default already: the same numbers are drawn, so the rewrite needs no guard.
    """

    id = "runtime/randint-dtype"
    seed = "F5"
    summary = "`np.random.randint` with 64-bit bounds gets `dtype=np.int64` (32-bit default on Windows, numpy < 2)"
    triggers = ("random.randint",)  # `np.random.randint`, not torch's
    anchors = ("random.randint",)
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        return wrapper.visit(_Draws(ctx, module_aliases(wrapper.module, "numpy")))


def _wide(code: str) -> bool:
    """Whether a bound is 64-bit: a name or expression naming int64, or a constant
    (``2**40``, ``-(1 << 40)``, ...) beyond 32 bits."""
    if "int64" in code.lower():
        return True
    value = _constant(code)
    return value is not None and abs(value) > INT32_MAX


_OPS = {ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.Mult: operator.mul, ast.Add: operator.add,
        ast.Sub: operator.sub}


def _constant(code: str) -> int | None:
    """The value of an integer expression of literals, or None."""
    def value(node: ast.AST) -> int | None:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = value(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = value(node.left), value(node.right)
            if left is None or right is None or (isinstance(node.op, (ast.Pow, ast.LShift)) and right > 128):
                return None
            return _OPS[type(node.op)](left, right)
        return None

    try:
        return value(ast.parse(code.strip(), mode="eval").body)
    except SyntaxError:
        return None


class _Draws(PositionedTransformer):
    def __init__(self, ctx: Context, aliases: set[str]):
        super().__init__()
        self.ctx, self.aliases = ctx, aliases

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "randint"
                and isinstance(func.value, cst.Attribute) and func.value.attr.value == "random"
                and isinstance(func.value.value, cst.Name) and func.value.value.value in self.aliases):
            return updated
        bounds = [a for a in original.args if a.keyword is None or a.keyword.value in ("low", "high")][:2]
        if not any(_wide(self.module.code_for_node(a.value)) for a in bounds):
            return updated
        if any(a.keyword is not None and a.keyword.value == "dtype" for a in original.args):
            self.ctx.already(self.pos(original), "randint has its dtype")
            return updated
        alias = func.value.value.value
        self.ctx.applied(self.pos(original), "64-bit randint bounds: dtype=np.int64 (numpy < 2 on Windows: int32)")
        args = list(updated.args)
        dtype = cst.Arg(cst.parse_expression(f"{alias}.int64"), keyword=cst.Name("dtype"),
                        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                              whitespace_after=cst.SimpleWhitespace("")))
        if isinstance(args[-1].comma, cst.Comma):  # a trailing comma (one argument a line): keep the layout
            dtype = dtype.with_changes(comma=args[-1].comma)
        else:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return updated.with_changes(args=[*args, dtype])
