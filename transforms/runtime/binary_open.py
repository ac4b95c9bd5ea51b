from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, parse_expression
from winport.transform import Context, PythonTransform

_OS_OPEN = m.Call(func=m.Attribute(m.Name("os"), m.Name("open")))
BINARY = 'getattr(os, "O_BINARY", 0)'
# flags that need no parentheses before `|`
_PLAIN = (cst.Name, cst.Attribute, cst.Call, cst.Integer, cst.Subscript)


class BinaryOpen(PythonTransform):
    """Open files with `os.open` as bytes on Windows too.

    Why:
    On POSIX a file descriptor reads and writes bytes. On Windows `os.open`
    opens in text mode unless the flags hold `os.O_BINARY`: every `\\n`
    written becomes `\\r\\n`, and a read stops at the first `0x1A`. The
    KV-cache offload tiers (`kv_offload/tiering/fs/io.py`, the shared offload
    region, the disk backend) write raw tensor bytes through `os.open`.

    Pattern:
    A call `os.open(<path>, <flags>, ...)` in `vllm/` whose flags do not
    mention `O_BINARY` or `O_TEXT`.

    Rewrite:
    The flags become `<flags> | getattr(os, "O_BINARY", 0)`. POSIX has no
    `O_BINARY`, so Linux opens with exactly the flags it did.
    """

    id = "runtime/binary-open"
    seed = "P5"
    summary = 'os.open(path, flags) -> flags | getattr(os, "O_BINARY", 0): raw bytes on Windows too'
    triggers = ("os.open(",)
    anchors = ("os.open(",)
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        return wrapper.visit(_Flags(ctx))


class _Flags(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not m.matches(original, _OS_OPEN):
            return updated
        args = list(updated.args)
        at = next((i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == "flags"),
                  1 if len(args) > 1 and args[1].keyword is None and not args[1].star else None)
        if at is None:
            self.ctx.report(self.pos(original), "os.open without flags this rewrite can find: add os.O_BINARY "
                                                "on Windows by hand")
            return updated
        flags = self.module.code_for_node(args[at].value)
        if "O_BINARY" in flags or "O_TEXT" in flags:
            self.ctx.already(self.pos(original), "os.open says binary or text already")
            return updated
        plain = "\n" not in flags and (isinstance(args[at].value, _PLAIN) or (
            isinstance(args[at].value, cst.BinaryOperation) and isinstance(args[at].value.operator, cst.BitOr)))
        value = parse_expression(f"{flags if plain else f'({flags})'} | {BINARY}", self.module)
        args[at] = args[at].with_changes(value=value)
        self.ctx.applied(self.pos(original), "os.open opens in binary mode on Windows (O_BINARY)")
        return updated.with_changes(args=args)
