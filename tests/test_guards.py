"""What counts as guarded for Windows (winport.lang.guards): the libcst fixers' view
(GuardAwareTransformer) and the report-only detectors' (WindowsVisitor) are one."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from winport.lang.guards import WindowsVisitor
from winport.lang.python import GuardAwareTransformer


class _Seen(GuardAwareTransformer):
    def __init__(self):
        super().__init__()
        self.calls: dict[str, bool] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value.startswith("site"):
            self.calls[node.func.value] = self.guarded


class _Runs(WindowsVisitor):
    def __init__(self):
        self.calls: set[str] = set()

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id.startswith("site"):
            self.calls.add(node.func.id)
        self.generic_visit(node)


def guarded(code: str) -> dict[str, bool]:
    """{site: guarded} as the fixers see it, asserted equal to the detectors' view."""
    code = textwrap.dedent(code)
    seen = _Seen()
    cst.parse_module(code).visit(seen)
    runs = _Runs()
    runs.visit(ast.parse(code))
    assert {site: site not in runs.calls for site in seen.calls} == seen.calls, "fixers and detectors disagree"
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


@pytest.mark.parametrize("code, expected", [
    # a branch only Linux (or another non-Windows platform) takes is guarded
    ('if sys.platform == "linux":\n    site_a()\nelse:\n    site_b()', (True, False)),
    ('if sys.platform.startswith("linux"):\n    site_a()\nelse:\n    site_b()', (True, False)),
    ('if os.name == "posix":\n    site_a()\nelse:\n    site_b()', (True, False)),
    ('if platform.system() == "Darwin":\n    site_a()\nelse:\n    site_b()', (True, False)),
    ('if sys.platform != "win32":\n    site_a()\nelse:\n    site_b()', (True, False)),
    # the Windows branch runs on Windows; its else does not
    ('if sys.platform == "win32":\n    site_a()\nelse:\n    site_b()', (False, True)),
    ('if os.name == "nt":\n    site_a()\nelif x:\n    site_b()', (False, True)),
    ('x = site_a() if sys.platform == "win32" else site_b()', (False, True)),
    ('x = site_a() if sys.platform == "linux" else site_b()', (True, False)),
    # an API probed: its body runs only where it exists
    ('if hasattr(os, "fork"):\n    site_a()\nelse:\n    site_b()', (True, False)),
    # a try whose handler copes with a missing API: its body; not its handler
    ('try:\n    site_a()\nexcept AttributeError:\n    site_b()', (True, False)),
    ('try:\n    site_a()\nexcept:\n    site_b()', (True, False)),
    ('try:\n    site_a()\nexcept ValueError:\n    site_b()', (False, False)),
    ('try:\n    site_a()\nexcept (OSError, ImportError):\n    pass\nfinally:\n    site_b()', (True, False)),
    # ... unless the handler raises again: the failure still propagates
    ('try:\n    site_a()\nexcept Exception:\n    site_b()\n    raise', (False, False)),
    ('try:\n    site_a()\nexcept BaseException as e:\n    site_b()\n    raise RuntimeError("x") from e', (False, False)),
    ('try:\n    site_a()\nexcept ValueError:\n    raise\nexcept AttributeError:\n    site_b()', (True, False)),
    # neither
    ('if x > 1:\n    site_a()\nelse:\n    site_b()', (False, False)),
    ('if sys.platform == "linux" or x:\n    site_a()\nelse:\n    site_b()', (False, False)),
])
def test_fixers_and_detectors_agree(code, expected):
    calls = guarded(code)
    assert (calls["site_a"], calls["site_b"]) == expected


def test_a_linux_only_function_tail_is_guarded():
    """The case the fixers once read differently: after `if sys.platform != "linux":
    return`, and after `if platform.system() != "Linux" or ...: raise`, the rest of
    the function runs on Linux only."""
    calls = guarded("""
        def count():
            if sys.platform != "linux":
                return site_fallback()
            return site_affinity()

        def preflight():
            if platform.system() != "Linux" or platform.machine() != "x86_64":
                raise RuntimeError("Linux only")
            site_root()
        """)
    assert calls == {"site_fallback": False, "site_affinity": True, "site_root": True}
