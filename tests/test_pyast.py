"""Which platform tests keep code off Windows (winport.lang.guards), as fixers and detectors read them."""

from __future__ import annotations

import ast

import pytest

from winport.lang.guards import false_on_windows, true_on_windows


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
    assert false_on_windows(expr(test)) is off_windows
    assert true_on_windows(expr(test)) is on_windows


def test_one_parse_per_run_for_the_same_bytes(tree):
    from conftest import run
    from winport.lang import pyast

    code = b"import os\nx = 1\n"
    assert pyast.parse(code) is pyast.parse(bytes(code)) and pyast.parse(code) is not pyast.parse(b"y = 2\n")
    with pytest.raises(SyntaxError) as err:
        pyast.parse(b"def (\n", "vllm/bad.py")
    assert err.value.filename == "vllm/bad.py"
    run(tree({"vllm/a.py": "import fcntl\n"}), "runtime/fcntl-lock")
    assert pyast._PARSED == {}  # a run leaves nothing behind
