"""Another engine's tree, read through a layout (winport.layout): the transforms run on
the files their roles name there; a role the tree lacks makes its transforms not
applicable, with the reason; vLLM's limits and build steps are for vLLM trees only."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import read_tree
from winport import Outcome, Pipeline, registry
from winport.cli import main
from winport.layout import Layout, LayoutError, parse, role_of

ENGINE = {
    "engine/srv/server.py": ("import fcntl\nimport socket\n\n\ndef make():\n    s = socket.socket()\n"
                             "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n    return s\n\n\n"
                             "def lock(f):\n    fcntl.flock(f, fcntl.LOCK_EX)\n"),
    "kern/ops.cu": "__global__ void k(int* x) {\n  __asm__ __volatile__(\"trap;\");\n}\n",
    "kern/io.cpp": "#include <unistd.h>\n\nint probe(const char* p) { return access(p, 0); }\n",
}


def test_layout_roles_and_translation():
    layout = Layout.of(["python=python/sglang", "kernels=sgl-kernel/csrc"])
    assert layout.moved() == {"python": "python/sglang", "kernels": "sgl-kernel/csrc"}
    assert layout.translate("vllm/**/*.py") == "python/sglang/**/*.py"
    assert layout.translate("vllm/__init__.py") == "python/sglang/__init__.py"
    assert layout.translate("csrc/**/*.{cu,cuh}") == "sgl-kernel/csrc/**/*.{cu,cuh}"
    assert layout.translate("setup.py") == "setup.py" and layout.translate("**/*.cmake") == "**/*.cmake"
    assert Layout.of({"build": "cpp"}).translate("CMakeLists.txt") == "cpp/CMakeLists.txt"
    # a plug-in's glob of the whole tree belongs to no role: it is neither moved nor required
    assert role_of("**/*.py") is None and role_of("**/*.cmake") == "build"
    assert Layout.of({"build": "cpp"}).translate("**/*.py") == "**/*.py"
    assert parse({"python": "a\\b/"}) == {"python": "a/b"}
    for bad, why in (["python"], "ROLE=PATH"), (["lib=x"], "unknown layout role 'lib'"), \
                    (["python=../up"], "inside the tree"), (["python=/abs"], "inside the tree"):
        with pytest.raises(LayoutError, match=why):
            Layout.of(bad)


def test_an_engine_tree_is_ported_through_its_layout(tree):
    root = tree(ENGINE)
    layout = Layout.of({"python": "engine", "kernels": "kern"})
    report = Pipeline(registry.select(), jobs=1, layout=layout).run(root)
    assert report.by_id("runtime/so-reuseport").sites[0].path == "engine/srv/server.py"
    assert report.by_id("runtime/fcntl-lock").outcome is Outcome.APPLIED
    assert report.by_id("cuda/asm-volatile").sites[0].path == "kern/ops.cu"
    # the added header goes beside the kernels, and the include names it from there
    assert report.by_id("cuda/posix-compat").outcome is Outcome.APPLIED
    assert "kern/winport_posix.h" in report.created and not (root / "csrc").exists()
    assert '#include "winport_posix.h"' in (root / "kern/io.cpp").read_text()
    # roles the tree lacks: not applicable, saying which
    setup = report.by_id("build/nvcc-exe")
    assert setup.outcome is Outcome.NOT_APPLICABLE and "no setup role (setup.py is missing" in setup.not_applicable
    assert "no build role (CMakeLists.txt is missing" in report.by_id("build/quote-real-path").not_applicable
    # vLLM's own anchors are not expected in another engine's code: no drift
    assert not any(t.outcome is Outcome.DRIFTED for t in report.transforms)
    assert report.tree == "other" and report.limits == () and report.layout["python"] == "engine"
    assert report.to_json()["layout"] == {"python": "engine", "kernels": "kern", "build": ".",
                                          "setup": "setup.py", "requirements": "requirements"}


def test_the_cli_takes_a_layout_from_the_command_line_and_the_settings_file(tree, monkeypatch):
    root = tree(ENGINE)
    refused = CliRunner().invoke(main, ["rewrite", "--check", str(root)])
    assert refused.exit_code == 2 and "--layout python=PACKAGE" in refused.output
    res = CliRunner().invoke(main, ["rewrite", "--layout", "python=engine", "--layout", "kernels=kern", str(root)])
    assert res.exit_code == 0, res.output
    assert "in layout python=engine, kernels=kern (" in res.output
    assert "single-GPU" not in res.output and "next steps" not in res.output.lower()  # vLLM's notes stay out
    assert "hasattr(socket, \"SO_REUSEPORT\")" in (root / "engine/srv/server.py").read_text()

    settings = root.parent / "cfg"
    settings.mkdir()
    (settings / "winport.toml").write_text('[layout]\npython = "engine"\nkernels = "elsewhere"\n')
    monkeypatch.chdir(settings)
    shown = CliRunner().invoke(main, ["rewrite", "--show-settings", "--layout", "kernels=kern", str(root)])
    assert 'layout = {python = "engine", kernels = "kern"}  (command line (--layout))' in shown.output
    check = CliRunner().invoke(main, ["check", "--format", "json", str(root)])
    assert check.exit_code == 0, check.output  # ported: nothing left (kernels=elsewhere: not applicable)
    (settings / "winport.toml").write_text('[layout]\nlib = "x"\n')
    bad = CliRunner().invoke(main, ["check", str(root)])
    assert bad.exit_code == 2 and "unknown layout role 'lib'" in bad.output


def test_vllms_own_layout_given_on_a_vllm_tree_changes_the_same_files(tree):
    from test_cli import FAKE_VLLM

    root = tree(FAKE_VLLM)
    plain = Pipeline(registry.select(), jobs=1).run(root, write=False)
    given = Pipeline(registry.select(), jobs=1, layout=Layout.of({})).run(root, write=False)
    assert given.changed == plain.changed and plain.layout is None and given.tree == "vllm"
    assert given.limits == plain.limits
    for p, g in zip(plain.transforms, given.transforms):
        if g.outcome is Outcome.NOT_APPLICABLE:  # a role this small tree lacks (requirements/, CMakeLists.txt)
            assert p.outcome in (Outcome.NOT_NEEDED, Outcome.DRIFTED) and "role" in g.not_applicable, p.id
        elif p.outcome is Outcome.DRIFTED:  # no anchor is expected when a layout is given
            assert g.outcome is Outcome.NOT_NEEDED, p.id
        else:
            assert g.outcome is p.outcome, p.id


def test_fetch_project_refuses_a_name_that_is_no_project(tmp_path):
    res = CliRunner().invoke(main, ["fetch", "--project", "../evil", "1.0", str(tmp_path / "x")])
    assert res.exit_code == 2 and "'../evil' is not a project name" in res.output and not (tmp_path / "x").exists()
