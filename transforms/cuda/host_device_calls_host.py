from __future__ import annotations

import re

from winport.lang.cpp import file_space_macros, Space, blank_literals, tree_space_macros
from winport.transform import Context, CppTransform


class HostDeviceCallsHost(CppTransform):
    """Make a `__host__ __device__` member that calls a host-only virtual member host-only.

    Why:
    CUTLASS's `CudaHostAdapter::memsetDevice` is `CUTLASS_HOST_DEVICE` and
    calls `memsetDeviceImpl`, a pure virtual host member. nvcc on Linux lets
    the device side of a template that is never instantiated for the device
    pass; with MSVC as the host compiler the call is an error ("calling a
    __host__ function from a __host__ __device__ function is not allowed"),
    and every vLLM unit that includes `cuda_host_adapter.hpp` fails.

    Pattern:
    A function definition marked host and device (`__host__ __device__`, or
    a macro that expands to both such as `CUTLASS_HOST_DEVICE`,
    `CUTE_HOST_DEVICE`, `C10_HOST_DEVICE`) whose body calls (`f(...)` or
    `this->f(...)`) a `virtual` function the same file declares without a
    device marker, when the definition is in its class (a member defined
    there is inline whatever its marker says; one defined outside is
    reported). The file is read as text (comments and literals blanked): the header
    where this occurs does not parse as a whole.

    Rewrite:
    The marker becomes its host-only form: `CUTLASS_HOST_DEVICE` ->
    `CUTLASS_HOST`, `CUTE_HOST_DEVICE` -> `CUTE_HOST`, `C10_HOST_DEVICE` ->
    `C10_HOST`, `__host__ __device__` -> `__host__`. No `#ifdef` is needed:
    device code can never call such a member (its body calls a host
    function), so every program that compiles on Linux means the same.
    """

    id = "cuda/host-device-calls-host"
    seed = "D2"
    summary = "`__host__ __device__` members that call host-only virtual members -> host-only (CUTLASS)"
    portable = True
    triggers = ("virtual",)
    trigger_words = True

    def plan(self, tree) -> dict:
        return tree_space_macros(tree)

    def rewrite(self, tree, ctx: Context) -> None:
        # read as text: the real case (cuda_host_adapter.hpp) does not parse as a whole
        if b'R"' in ctx.source.body:
            return  # a raw string literal: blank_literals cannot tell code from text
        macros = file_space_macros(ctx.plan, tree.root_node)
        text = blank_literals(ctx.source.body)
        virtuals = {m.group(1).decode() for m in _VIRTUAL.finditer(text)
                    if not _DEVICE_WORD.search(text[_statement_start(text, m.start()):m.end()])}
        if not virtuals:
            return
        calls = re.compile(rb"(?:(?<![\w.>])|this->)(" + b"|".join(re.escape(v.encode()) for v in sorted(virtuals))
                           + rb")\s*\(")
        for m in _MARKER.finditer(text):
            replacement = _host_only(m, macros)
            if replacement is None:
                continue
            body = _body(text, m.end())
            if body is None:
                continue
            call = calls.search(text, body[0], body[1])
            if call is None:
                continue
            spelled = m.group().decode()
            declarator = text[m.end():text.find(b"(", m.end())].split()
            if declarator and b"::" in declarator[-1]:  # out of its class: the marker may carry `inline`
                ctx.report(m.start(), f"{' '.join(spelled.split())} member defined out of its class calls host-only "
                                      f"virtual {call.group(1).decode()}(): mark it host-only (keep it inline)")
                continue
            ctx.replace(m.start(), m.end(), replacement,
                        f"{' '.join(spelled.split())} -> {replacement}: the member calls host-only "
                        f"virtual {call.group(1).decode()}()")


_VIRTUAL = re.compile(rb"\bvirtual\b[^;{}()]*?\b(\w+)\s*\(")
_DEVICE_WORD = re.compile(rb"__device__|\w*HOST_DEVICE|\w*_DEVICE\b")
_MARKER = re.compile(rb"\b(\w+)_HOST_DEVICE\b|\b__host__\s+__device__\b|\b__device__\s+__host__\b")


def _statement_start(text: bytes, at: int) -> int:
    """Where the declaration holding offset ``at`` starts (after the last `;`, `{` or `}`)."""
    return max(text.rfind(b";", 0, at), text.rfind(b"{", 0, at), text.rfind(b"}", 0, at)) + 1


def _host_only(m: re.Match, macros) -> str | None:
    """The host-only spelling of the host+device marker ``m``, or None."""
    if m.group(1) is None:
        return "__host__"
    both, host = m.group().decode(), m.group(1).decode() + "_HOST"
    if macros.get(both) == {Space.HOST, Space.DEVICE} and macros.get(host) == {Space.HOST}:
        return host
    return None


def _body(text: bytes, at: int) -> tuple[int, int] | None:
    """The span of the function body after a marker at ``at``: the braces after the
    first `(...)`, when a `{` comes before any `;` (else a declaration: None)."""
    paren = text.find(b"(", at)
    brace = text.find(b"{", at)
    semi = text.find(b";", at)
    if paren < 0 or brace < 0 or (0 <= semi < brace) or paren > brace:
        return None
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == ord("{"):
            depth += 1
        elif text[i] == ord("}"):
            depth -= 1
            if depth == 0:
                return brace, i
    return None
