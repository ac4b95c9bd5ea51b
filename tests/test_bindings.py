"""Names read at import before they are bound (winport.lang.bindings), and
ensure_import / insert_after_imports placing what they add before its first use.

The property tests generate modules from statements that read and bind a few names
at import time (assignments, imports, decorators, default values, annotations, class
bodies, comprehensions, lambdas) and compare the analysis with what executing the
module does."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winport.lang.bindings import new_unbound, unbound_at_import
from winport.lang.python import ensure_import, insert_after_imports

NAMES = ("a", "b", "c", "sys", "os")


def execute(code: str) -> str | None:
    """The name a NameError at import names, or None when the module runs."""
    try:
        exec(compile(code, "generated", "exec", dont_inherit=True), {"__name__": "generated", "__file__": __file__})
    except NameError as exc:
        return exc.name
    return None


name = st.sampled_from(NAMES)


@st.composite
def expression(draw) -> str:
    n = draw(name)
    return draw(st.sampled_from([
        n, f"[{n}, 1]", f"(lambda: {n})", f"(lambda x={n}: x)", f"[x for x in ({n},)]",
        f"{{k: {n} for k in (1,)}}", f"({n} if 1 else 2)", f"str({n})",
    ]))


@st.composite
def statement(draw, straight: bool) -> str:
    n, e = draw(name), draw(expression())
    kinds = [
        f"import {n}" if n in ("sys", "os") else f"import os as {n}",
        f"from os import path as {n}",
        f"{n} = {e}",
        f"{n}, _t = {e}, 0",
        f"def {n}(p={e}):\n    return undefined_in_body",
        f"@(lambda fn: fn) if {e} else (lambda fn: fn)\ndef {n}():\n    pass",
        f"def {n}(p: {e}) -> {draw(expression())}:\n    pass",
        f"class {n}:\n    x = {e}\n    y = [x]",
        f"{n}: {e} = 1",
        f"with open(__file__) as {n}:\n    _z = {e}",
    ]
    if not straight:
        body = draw(statement(True))
        kinds += [f"if {e}:\n{textwrap.indent(body, '    ')}",
                  f"try:\n{textwrap.indent(body, '    ')}\nexcept ImportError:\n    {n} = None",
                  f"if 0:\n    {n} = 1\nelse:\n{textwrap.indent(body, '    ')}",
                  f"for {n} in [{e}]:\n{textwrap.indent(body, '    ')}",
                  f"for _i in []:\n    {n} = 1\nelse:\n{textwrap.indent(body, '    ')}",
                  f"while 0:\n    {n} = 1",
                  f"try:\n    import os as {n}\nexcept ImportError:\n    raise"]
    return draw(st.sampled_from(kinds))


@st.composite
def module(draw, straight: bool) -> str:
    head = "from __future__ import annotations\n" if draw(st.booleans()) else ""
    return head + "\n".join(draw(st.lists(statement(straight), max_size=8))) + "\n"


@settings(max_examples=400, deadline=None)
@given(module(straight=True))
def test_straight_line_modules_agree_with_execution(code):
    unbound = unbound_at_import(code)
    raised = execute(code)
    if raised is None:
        assert unbound == {}, code
    else:  # the first name execution trips over is the analysis' first
        assert raised in unbound and min(unbound, key=unbound.get) == raised, (raised, unbound, code)


@settings(max_examples=400, deadline=None)
@given(module(straight=False))
def test_a_name_error_at_import_is_always_found(code):
    raised = execute(code)
    if raised is not None:
        assert raised in unbound_at_import(code), code


def test_what_runs_at_import_and_what_does_not():
    code = textwrap.dedent('''\
        import os

        def f(x=DEFAULT) -> RET:
            return BODY_ONLY

        @DECO
        class C(BASE, metaclass=META):
            attr = CLASS_BODY
            other = attr
            def m(self, y=IN_CLASS_DEFAULT):
                return attr

        g = lambda: LAMBDA_BODY
        v = [x for x in ITER if x and COMP]
        u = (bound := 1) + bound
        if COND:
            import sys
        w = sys
        try:
            import fcntl
        except ImportError:
            fcntl = None
        print(fcntl, __name__, __file__, len)
        ''')
    # `sys` is bound only when COND holds: reading it after the `if` may fail
    assert set(unbound_at_import(code)) == {"DEFAULT", "RET", "DECO", "BASE", "META", "CLASS_BODY",
                                            "IN_CLASS_DEFAULT", "ITER", "COMP", "COND", "sys"}
    assert unbound_at_import(code)["DEFAULT"] == 3
    # postponed annotations are not evaluated
    assert "RET" not in unbound_at_import("from __future__ import annotations\n" + code)
    # a star import may bind anything after it
    assert unbound_at_import("from os import *\nx = anything\n") == {}


def test_new_unbound_is_what_the_rewrite_added():
    before = "import fcntl\nx = missing\n"
    after = 'if sys.platform == "win32":\n    fcntl = None\nelse:\n    import fcntl\nx = missing\n'
    assert new_unbound(before, after) == {"sys": 1}
    assert new_unbound(before, "import sys\n" + after) == {}


# -- placing imports and helpers ------------------------------------------------------
def _ensure(code: str, name: str = "sys") -> str:
    return ensure_import(cst.parse_module(code), name).code


@pytest.mark.parametrize("code, expected", [
    # the seed's defect: the guard uses sys among the imports, sys bound only at the end
    ("import os\nif sys.platform == 'win32':\n    pass\nimport logging\n",
     "import os\nimport sys\nif sys.platform == 'win32':\n    pass\nimport logging\n"),
    # after the docstring and __future__, before the first use
    ('"""Doc."""\nfrom __future__ import annotations\n\nX = sys.platform\nimport os\n',
     '"""Doc."""\nfrom __future__ import annotations\nimport sys\n\nX = sys.platform\nimport os\n'),
    # at the end of the opening imports when the first use comes later
    ("import os\nimport re\n\n\ndef f():\n    return sys.argv\n",
     "import os\nimport re\nimport sys\n\n\ndef f():\n    return sys.argv\n"),
    # a top-level import before the first use is enough
    ("import sys\nX = sys.platform\n", "import sys\nX = sys.platform\n"),
    ("import os, sys\nX = sys.platform\n", "import os, sys\nX = sys.platform\n"),
])
def test_ensure_import_binds_before_the_first_use(code, expected):
    assert _ensure(code) == expected
    assert execute(_ensure(code).replace("import logging\n", "")) is None


@pytest.mark.parametrize("code", [
    "def f():\n    import sys\n    return sys\nX = sys.platform\n",  # only a function binds it
    "if 0:\n    import sys\nX = sys.platform\n",  # only a branch binds it
    "import sys as system\nX = sys.platform\n",  # bound under another name
    "X = sys.platform\nimport sys\n",  # bound after the use
])
def test_ensure_import_adds_one_where_the_module_does_not_bind_the_name_first(code):
    new = _ensure(code)
    assert new.count("import sys\n") == code.count("import sys\n") + 1
    assert execute(new) is None


def test_insert_after_imports_goes_before_a_use_of_what_it_defines():
    code = "import os\n\n@helper\ndef f():\n    pass\n\nimport re\n"
    new = insert_after_imports(cst.parse_module(code), "def helper(fn):\n    return fn\n").code
    assert new.index("def helper") < new.index("@helper") and execute(new) is None


@st.composite
def runnable_module(draw) -> tuple[str, int]:
    """A module that runs, and a top-level index to insert a use of sys at."""
    head = draw(st.sampled_from(["", '"""Doc."""\n', "from __future__ import annotations\n",
                                 '"""Doc."""\nfrom __future__ import annotations\n']))
    statements = [s for s in draw(st.lists(statement(False), max_size=6))
                  if execute("\n".join([s, ""])) is None and "sys" not in s]
    return head + "\n".join(statements) + "\n", draw(st.integers(0, len(statements)))


@settings(max_examples=200, deadline=None)
@given(runnable_module())
def test_ensure_import_makes_any_use_of_the_module_run(generated):
    code, at = generated
    module = cst.parse_module(code)
    lead = code.count('"""Doc."""') + code.count("__future__")
    body = list(module.body)
    body.insert(max(at, lead), cst.parse_statement("_p = sys.platform\n"))
    broken = module.with_changes(body=body)
    assert execute(broken.code) == "sys"
    fixed = ensure_import(broken, "sys").code
    assert execute(fixed) is None, fixed
    assert ensure_import(cst.parse_module(fixed), "sys").code == fixed  # idempotent
