"""Which platform tests keep code off Windows (winport.lang.pyast), as the detectors read them."""

from __future__ import annotations

import ast

import pytest

from winport.lang.pyast import excludes_windows, only_windows_or_more


def expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


@pytest.mark.parametrize("test, off_windows, on_windows", [
    ('sys.platform == "linux"', True, False),
    ('sys.platform != "linux"', False, True),
    ('sys.platform == "win32"', False, True),
    ('sys.platform != "win32"', True, False),
    ('os.name == "posix"', True, False),
    ('os.name == "nt"', False, True),
    ('platform.system() == "Darwin"', True, False),
    ('sys.platform.startswith("linux")', True, False),
    ('not sys.platform.startswith("linux")', False, True),
    ('not sys.platform.startswith("win")', True, False),
    ('sys.platform == "linux" and x', True, False),
    ('sys.platform == "linux" or sys.platform == "darwin"', True, False),
    ('sys.platform == "linux" or x', False, False),
    ("x > 1", False, False),
])
def test_platform_tests(test, off_windows, on_windows):
    assert excludes_windows(expr(test)) is off_windows
    assert only_windows_or_more(expr(test)) is on_windows
