from __future__ import annotations

import libcst as cst

from winport.lang.python import GuardAwareTransformer, ensure_import, module_aliases, parse_expression, \
    parse_statement
from winport.transform import Context, PythonDocument, PythonTransform

# a Unix mapping flag -> Windows' access for a writable and for a read-only mapping
_ACCESS = {"MAP_SHARED": ("ACCESS_WRITE", "ACCESS_READ"), "MAP_PRIVATE": ("ACCESS_COPY", "ACCESS_READ")}
_PROT = {"PROT_READ", "PROT_WRITE"}
MARK = "winport: Windows' mmap has no madvise"


class MmapAccess(PythonTransform):
    """Map files the way Windows' `mmap` takes it: `access=` instead of `flags=`/`prot=`,
    and no `madvise`.

    Why:
    Windows' `mmap.mmap(fileno, length, tagname=None, access=..., offset=0)` has no
    `flags` or `prot` parameters, and its `mmap` module has no `MAP_*`, `PROT_*` or
    `MADV_*` constants and its mapping objects no `madvise` method. The CPU KV-cache
    offload region (`vllm/v1/kv_offload/cpu/shared_offload_region.py`), the encoder
    cache's shared region and other shared mappings call
    `mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)`
    and pre-fault pages with `madvise`: on Windows the first raises `AttributeError`
    (the constants) and the offload region is never created.

    Pattern:
    A call `mmap.mmap(...)` (any alias of the module) with `flags=` and/or `prot=`
    keywords whose values are `MAP_SHARED`, `MAP_PRIVATE` (and `MAP_ANONYMOUS` on an
    anonymous mapping), `PROT_READ` and `PROT_WRITE`, combined with `|` or a
    conditional expression; and a statement that is a call of `<mapping>.madvise(...)`.

    Rewrite:
    The call becomes `(mmap.mmap(<same positional arguments>, access=A) if
    sys.platform == "win32" else <the call as it was>)`, where `A` is the flags
    expression with `MAP_SHARED` -> `ACCESS_WRITE` and `MAP_PRIVATE` -> `ACCESS_COPY`
    (both `ACCESS_READ` when `prot` lacks `PROT_WRITE`); a flag combined with
    `MAP_ANONYMOUS` becomes `ACCESS_WRITE` (a `fileno` of -1 is anonymous memory on
    Windows too, the process's own whether shared or private: nothing forks there). A `madvise` statement moves
    under `if hasattr(<mapping>, "madvise"):`, true wherever the method exists: the
    advice is a hint, and Windows runs without it. Linux calls exactly what it did.

    Reported:
    Flags or protections Windows cannot express (`MAP_FIXED`, `PROT_EXEC`, ...),
    `flags`/`prot` passed by position, `trackfd=`, and a `madvise` call inside a
    larger statement (an assignment, a condition).
    """

    id = "runtime/mmap-access"
    seed = "F1"
    summary = "`mmap.mmap(..., flags=, prot=)` -> `access=` on Windows; `madvise` only where it exists"
    triggers = ("MAP_SHARED", "MAP_PRIVATE", "PROT_READ", "PROT_WRITE", ".madvise(")
    anchors = ("mmap", "madvise")
    anchors_in_blocks = True

    def rewrite(self, wrapper: PythonDocument, ctx: Context) -> cst.Module:
        aliases = module_aliases(wrapper.module, "mmap")
        module = wrapper.visit(_Maps(ctx, aliases))
        return ensure_import(module, "sys") if any("access=" in s.message for s in ctx.sites) else module


def _names(node: cst.CSTNode, aliases: set[str]) -> list[str]:
    """The ``<alias>.NAME`` attributes in ``node``, in order."""
    found: list[str] = []

    class Find(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> None:
            if isinstance(n.value, cst.Name) and n.value.value in aliases:
                found.append(n.attr.value)

    node.visit(Find())
    return found


class _Access(cst.CSTTransformer):
    """The flags expression in Windows' terms: MAP_* -> ACCESS_*; with MAP_ANONYMOUS, ACCESS_WRITE."""

    def __init__(self, aliases: set[str], writable: bool):
        super().__init__()
        self.aliases, self.writable = aliases, writable

    def _anonymous(self, node: cst.BaseExpression) -> bool:
        return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                and node.value.value in self.aliases and node.attr.value == "MAP_ANONYMOUS")

    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation) -> cst.BaseExpression:
        # anonymous memory is the process's own on Windows (nothing forks): shared or private alike
        if isinstance(original.operator, cst.BitOr) and (self._anonymous(original.left)
                                                         or self._anonymous(original.right)):
            anonymous = original.left if self._anonymous(original.left) else original.right
            module = anonymous.value  # type: ignore[attr-defined] - the mmap alias MAP_ANONYMOUS was read from
            return cst.Attribute(module, cst.Name("ACCESS_WRITE" if self.writable else "ACCESS_READ"))
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if isinstance(original.value, cst.Name) and original.value.value in self.aliases \
                and original.attr.value in _ACCESS:
            return updated.with_changes(attr=cst.Name(_ACCESS[original.attr.value][0 if self.writable else 1]))
        return updated


class _Maps(GuardAwareTransformer):
    def __init__(self, ctx: Context, aliases: set[str]):
        super().__init__()
        self.ctx, self.aliases = ctx, aliases
        self.probes: list[bool] = []  # per enclosing if: does its test ask hasattr(..., "madvise")?

    # -- mmap.mmap(..., flags=, prot=) -----------------------------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "mmap" and isinstance(func.value, cst.Name)
                and func.value.value in self.aliases):
            return updated
        keywords = {a.keyword.value: a for a in original.args if a.keyword is not None}
        positional = [a for a in original.args if a.keyword is None]
        if "flags" not in keywords and "prot" not in keywords:
            if len(positional) > 2:
                self.ctx.report(self.pos(original), "mmap flags/prot passed by position: Windows' mmap takes "
                                                    "access=; pass them by keyword and run winport again")
            return updated
        if self.guarded:
            self.ctx.already(self.pos(original), "mmap call has a Windows branch")
            return updated
        flags, prot = keywords.get("flags"), keywords.get("prot")
        flag_names = _names(flags.value, self.aliases) if flags else ["MAP_SHARED"]
        prot_names = _names(prot.value, self.aliases) if prot else ["PROT_READ", "PROT_WRITE"]
        unknown = sorted({*flag_names, *prot_names} - {*_ACCESS, "MAP_ANONYMOUS", *_PROT})
        if unknown or len(positional) > 2 or "trackfd" in keywords:
            why = ", ".join(unknown) if unknown else "flags/prot by position or trackfd="
            self.ctx.report(self.pos(original), f"mmap with {why}: Windows' mmap cannot express it; "
                                                "map it by hand for Windows")
            return updated
        writable = "PROT_WRITE" in prot_names
        access = flags.value.visit(_Access(self.aliases, writable)) if flags else \
            cst.parse_expression(f"{func.value.value}.ACCESS_WRITE")
        code = self.module.code_for_node
        kept = [code(a.value) for a in positional]
        kept += [f"{name}={code(a.value)}" for name, a in keywords.items() if name not in ("flags", "prot")]
        windows = f"{code(func)}({', '.join(kept)}, access={code(access)})"
        self.ctx.applied(self.pos(original), "mmap flags/prot -> access= on Windows")
        return parse_expression(f'({windows} if sys.platform == "win32" else {code(updated)})', self.module)

    # -- <mapping>.madvise(...) ----------------------------------------------------------
    def visit_If(self, node: cst.If) -> None:
        super().visit_If(node)
        test = self.module.code_for_node(node.test)
        self.probes.append("hasattr(" in test and "madvise" in test)

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.BaseStatement:
        self.probes.pop()
        return super().leave_If(original, updated)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine) -> cst.BaseStatement:
        if len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            if ".madvise(" in self.module.code_for_node(original) and not (any(self.probes) or self.guarded):
                self.ctx.report(self.pos(original), "madvise inside a larger statement: Windows' mmap has none; "
                                                    "guard it by hand")
            return updated
        call = original.body[0].value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "madvise"):
            return updated
        target = self.module.code_for_node(call.func.value)
        if any(self.probes) or self.guarded:
            self.ctx.already(self.pos(original), "madvise runs only where the method exists")
            return updated
        self.ctx.applied(self.pos(original), "madvise only where the mapping has it (not on Windows)")
        guard = parse_statement(f'if hasattr({target}, "madvise"):  # {MARK}\n    pass\n', self.module)
        assert isinstance(guard, cst.If) and isinstance(guard.body, cst.IndentedBlock)
        return guard.with_changes(leading_lines=updated.leading_lines,
                                  body=guard.body.with_changes(body=[updated.with_changes(leading_lines=())]))
