from __future__ import annotations

import libcst as cst

from winport.lang import match as m
from winport.lang.python import PositionedTransformer, ensure_import, parse_statement
from winport.transform import Context, PythonTransform

_CALLS = ("call", "run", "check_call")
_RM_F = m.Call(func=m.Attribute(m.Name("subprocess"), m.Name(m.MatchIfTrue(lambda n: n in _CALLS))),
               args=[m.Arg(m.List(elements=[m.Element(m.SimpleString(value=m.MatchIfTrue(lambda v: v[1:-1] == "rm"))),
                                            m.Element(m.SimpleString(value=m.MatchIfTrue(lambda v: v[1:-1] == "-f"))),
                                            m.Element(~m.StarredElement())]))])
_REMOVE = m.Try(body=m.IndentedBlock(body=[m.SimpleStatementLine(body=[m.Expr(m.Call(
    func=m.Attribute(m.Name("os"), m.Name("remove"))))])]))


class GeneratorRm(PythonTransform):
    """Remove files in the kernel generators with `os.remove`, not the `rm` program.

    Why:
    The Marlin kernel generators under `csrc/` run during the CMake build and
    clear old outputs with `subprocess.call(["rm", "-f", filename])`. Windows
    has no `rm`: the call raises `FileNotFoundError` and the build stops.

    Pattern:
    A statement that is just `subprocess.call(["rm", "-f", <one path>])`
    (or `run`/`check_call`), its result unused, in a Python file under
    `csrc/`. Other shell-outs stay reported by `detect/generator-shell`.

    Rewrite:
    `try: os.remove(<path>)` / `except OSError: pass`: like `rm -f`, a
    missing file (or one that cannot be removed) is not an error and the
    script goes on. The same on Linux, so it needs no guard; `import os` is
    added when the module does not bind `os` first.
    """

    id = "runtime/generator-rm"
    seed = "P6"
    summary = '`subprocess.call(["rm", "-f", f])` in csrc/ generators → `os.remove(f)` ignoring errors'
    globs = ("csrc/**/*.py",)
    triggers = ('"rm"', "'rm'")
    anchors = ('"rm"', "'rm'", "os.remove")
    anchors_in_blocks = True

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.visit(_Remove(ctx))
        return ensure_import(module, "os") if ctx.sites else module


class _Remove(PositionedTransformer):
    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def leave_Try(self, original: cst.Try, updated: cst.Try) -> cst.Try:
        if original.handlers and m.matches(original, _REMOVE) and \
                "winport" in self.module.code_for_node(original.handlers[0]):
            self.ctx.already(self.pos(original), "rm -f done with os.remove already")
        return updated

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated):
        if len(original.body) != 1 or not m.matches(original.body[0], m.Expr(_RM_F)):
            return updated
        call = original.body[0].value  # type: ignore[attr-defined]
        path = self.module.code_for_node(call.args[0].value.elements[2].value)
        self.ctx.applied(self.pos(original), "rm -f → os.remove (Windows has no rm)")
        code = f"try:\n    os.remove({path})\nexcept OSError:  # winport: `rm -f` without the rm program\n    pass\n"
        return parse_statement(code, self.module).with_changes(leading_lines=updated.leading_lines)
