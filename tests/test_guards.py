"""What counts as already guarded for Windows: the libcst transformers' view
(GuardAwareTransformer) and the report-only detectors' (detect/posix-calls)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from winport.lang.python import GuardAwareTransformer


class _Seen(GuardAwareTransformer):
    def __init__(self):
        super().__init__()
        self.calls: dict[str, bool] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value.startswith("site"):
            self.calls[node.func.value] = self.guarded


def guarded(code: str) -> dict[str, bool]:
    seen = _Seen()
    cst.parse_module(textwrap.dedent(code)).visit(seen)
    return seen.calls


@pytest.mark.parametrize("test, expected", [
    ('sys.platform == "win32"', True),
    ('sys.platform.startswith("win")', True),
    ('not hasattr(os, "sched_setaffinity")', True),
    ('not (sys.platform == "win32")', False),  # what follows runs on Windows only
    ('sys.platform == "win32" and fast', False),  # Windows may go on
    ('sys.platform != "win32"', False),
])
def test_code_after_an_early_exit(test, expected):
    calls = guarded(f"""
        def f():
            site_before()
            if {test}:
                return None
            site_after()

        site_module()
        """)
    assert calls == {"site_before": False, "site_after": expected, "site_module": False}


def test_an_early_exit_guards_its_own_block_only():
    calls = guarded("""
        def f(x):
            if x:
                if sys.platform == "win32":
                    raise NotImplementedError
                site_inner()
            site_outer()
        """)
    assert calls == {"site_inner": True, "site_outer": False}
