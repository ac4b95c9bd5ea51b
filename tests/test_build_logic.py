"""The rewritten build logic of real releases, executed: CMake blocks with cmake,
setup.py pieces with ``sys.platform`` set to win32 and to linux (no build is run).

What is stubbed: setup.py's module-level names the extracted code needs
(``logger``, ``torch.version``, ``os.getenv``'s environment, ``self`` of the
build command); CMake's ``WIN32``/``MSVC`` and the CUDA toolkit variables.
"""

from __future__ import annotations

import ast
import ntpath
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest

from winport.lang import cmake as ck
from winport.lang import treesitter

pytestmark = [pytest.mark.release, pytest.mark.toolchain]  # cmake

CUDA_HOME_WIN = r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v12.6"


def run_cmake(script: str, tmp_path: Path, *defs: str, env: dict | None = None) -> str:
    path = tmp_path / "script.cmake"
    path.write_text(script)
    full_env = {k: v for k, v in os.environ.items() if k != "CUDA_HOME"}
    full_env.update(env or {})
    out = subprocess.run(["cmake", *defs, "-P", str(path)], capture_output=True, text=True, env=full_env)
    assert out.returncode == 0, out.stderr
    return out.stderr + out.stdout  # message() writes to stderr


def cmake_tree(ported, path="CMakeLists.txt"):
    data = (ported.root / path).read_bytes()
    return data, treesitter.parse("cmake", data)


def block_around(tree, data: bytes, marker: str) -> str:
    """Text of the innermost if() block whose text contains ``marker``."""
    blocks = [n.text.decode() for _, n in treesitter.captures("cmake", "(if_condition) @b", tree.root_node)
              if marker in n.text.decode()]
    assert blocks, f"no if() block containing {marker!r}"
    return min(blocks, key=len)


def test_cmake_files_still_parse(ported):
    for path in ("CMakeLists.txt", "cmake/utils.cmake"):
        data, tree = cmake_tree(ported, path)
        assert treesitter.error_count(tree) == 0, path


def test_b1_sets_toolkit_from_cuda_home(ported, tmp_path):
    data, tree = cmake_tree(ported)
    block = block_around(tree, data, "CUDAToolkit_ROOT")
    show = '\nmessage("R=[${CUDA_TOOLKIT_ROOT_DIR}][${CUDAToolkit_ROOT}][${CUDA_BIN_PATH}]")\n'
    want = "C:/Program Files/NVIDIA GPU Computing Toolkit/CUDA/v12.6"
    out = run_cmake(block + show, tmp_path, "-DWIN32=1", env={"CUDA_HOME": CUDA_HOME_WIN})
    assert f"R=[{want}][{want}][{want}]" in out
    assert "R=[][][]" in run_cmake(block + show, tmp_path, "-DWIN32=1")  # no CUDA_HOME: unset
    assert "R=[][][]" in run_cmake(block + show, tmp_path, env={"CUDA_HOME": "/usr/local/cuda"})  # Linux
    # the block sits before find_package(Torch)
    anchor = data.index(b"find_package(Torch")
    assert data.index(b"CUDAToolkit_ROOT") < anchor


def test_b4_real_path_with_spaces(ported, tmp_path):
    data, tree = cmake_tree(ported, "cmake/utils.cmake")
    cmd = next(c for c in ck.commands(tree.root_node, "file") if ck.values(c)[:1] == ["REAL_PATH"])
    folder = tmp_path / "Program Files (x86)" / "Python 3.10"
    folder.mkdir(parents=True)
    (folder / "python.exe").write_text("")
    os.symlink(folder / "python.exe", folder / "python")
    script = f'set(EXECUTABLE "{folder}/python")\n{cmd.text.decode()}\nmessage("E=[${{EXECUTABLE}}]")\n'
    assert f"E=[{folder}/python.exe]" in run_cmake(script, tmp_path)


def test_b2_b3_configure_a_project(ported, tmp_path):
    """The MSVC block and the cuBLAS link, configured in a small C project with MSVC set."""
    data, tree = cmake_tree(ported)
    msvc = block_around(tree, data, "/Zc:preprocessor")
    links = [n.text.decode() for _, n in treesitter.captures("cmake", "(if_condition) @b", tree.root_node)
             if n.text.startswith(b"if(MSVC)") and b"CUDA::cublas" in n.text]
    targets = [re.search(r"target_link_libraries\((\S+)", b).group(1) for b in links]
    assert targets and set(targets) <= {"_C", "_moe_C", "_C_stable_libtorch"}
    (tmp_path / "empty.c").write_text("int f(void) { return 0; }\n")
    (tmp_path / "CMakeLists.txt").write_text(textwrap.dedent(f'''
        cmake_minimum_required(VERSION 3.20)
        project(probe LANGUAGES C)
        set(MSVC 1)
        set(CUDAToolkit_INCLUDE_DIRS "/opt/Program Files/NVIDIA/CUDA/v12.6/include;/opt/cccl/include")
        add_library(CUDA::cublas INTERFACE IMPORTED)
        {{MSVC}}
        {{TARGETS}}
        {{LINKS}}
        get_directory_property(opts COMPILE_OPTIONS)
        get_directory_property(defs COMPILE_DEFINITIONS)
        get_directory_property(incs INCLUDE_DIRECTORIES)
        get_target_property(libs {targets[0]} LINK_LIBRARIES)
        message("OPTS=[${{opts}}] DEFS=[${{defs}}] INCS=[${{incs}}] LIBS=[${{libs}}]")
    ''').replace("{MSVC}", msvc).replace("{LINKS}", "\n".join(links)).replace(
        "{TARGETS}", "\n".join(f"add_library({t} MODULE empty.c)" for t in targets)))
    out = subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = out.stderr + out.stdout
    assert ("OPTS=[$<$<COMPILE_LANGUAGE:CXX>:/Zc:preprocessor>;"
            "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=/Zc:preprocessor>;"
            "$<$<COMPILE_LANGUAGE:CXX>:/Zc:__cplusplus>;"
            "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=/Zc:__cplusplus>]") in text
    assert "DEFS=[_CRT_DECLARE_NONSTDC_NAMES=1;USE_CUDA;WIN32_LEAN_AND_MEAN]" in text
    assert "INCS=[/opt/Program Files/NVIDIA/CUDA/v12.6/include;/opt/cccl/include]" in text
    assert "LIBS=[CUDA::cublas]" in text


# -- setup.py ----------------------------------------------------------------------------
def setup_module_of(ported) -> cst.Module:
    return cst.parse_module((ported.root / "setup.py").read_bytes())


def code(module: cst.Module, node: cst.CSTNode) -> str:
    return textwrap.dedent(module.code_for_node(node))


def fake_sys(platform: str):
    return types.SimpleNamespace(platform=platform, executable=sys.executable, argv=[])


def test_b5_target_device(ported):
    module = setup_module_of(ported)
    chain = next(s for s in module.body if isinstance(s, cst.If) and "VLLM_TARGET_DEVICE" in code(module, s)
                 and '"empty"' in code(module, s))
    snippet = code(module, chain)

    def target(platform: str, env: dict, default: str = "cuda") -> str:
        os_stub = types.SimpleNamespace(getenv=lambda k, d=None: env.get(k, d))
        torch = types.SimpleNamespace(version=types.SimpleNamespace(hip=None, cuda="12.6", xpu=None))
        ns = {"sys": fake_sys(platform), "os": os_stub, "torch": torch, "VLLM_TARGET_DEVICE": default,
              "logger": types.SimpleNamespace(warning=lambda *a: None, info=lambda *a: None)}
        exec(compile(snippet, "setup.py", "exec"), ns)
        return ns["VLLM_TARGET_DEVICE"]

    assert target("win32", {"VLLM_TARGET_DEVICE": "cuda"}) == "cuda"
    assert target("win32", {}) == "empty"                       # not asked for: as before
    assert target("win32", {"VLLM_TARGET_DEVICE": "cpu"}, "cpu") == "empty"
    assert target("linux", {}) == "cuda"                        # Linux auto-detection unchanged
    assert target("linux", {"VLLM_TARGET_DEVICE": "cpu"}, "cpu") == "cpu"
    assert target("darwin", {}) == "cpu"


def test_b6_cmake_arguments(ported, monkeypatch):
    module = setup_module_of(ported)
    helper = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "_winport_cmake_args")
    ns: dict = {}
    exec(compile(code(module, helper), "setup.py", "exec"), ns)
    args = ["cmake", r"C:\src\vllm", "-DVLLM_PYTHON_EXECUTABLE=C:\\Python310\\python.exe",
            Path("/tmp/prefix")]
    monkeypatch.setattr(sys, "platform", "win32")
    assert ns["_winport_cmake_args"](args) == ["cmake", "C:/src/vllm",
                                                "-DVLLM_PYTHON_EXECUTABLE=C:/Python310/python.exe", "/tmp/prefix"]
    monkeypatch.setattr(sys, "platform", "linux")
    assert ns["_winport_cmake_args"](args) is args
    # the configure, build and install command lines all go through it
    calls = m.findall(module, m.Call(func=m.Name("_winport_cmake_args")))
    assert len(calls) == 3


def test_b7_nvcc_name(ported):
    module = setup_module_of(ported)
    text = module.code
    const = next(line for line in text.splitlines() if line.startswith("_WINPORT_EXE ="))
    exprs = [code(module, n) for n in m.findall(module, m.BinaryOperation(right=m.Name("_WINPORT_EXE")))]
    fstrings = [code(module, n) for n in m.findall(module, m.FormattedString())
                if "bin/nvcc{_WINPORT_EXE}" in code(module, n)]
    assert exprs and fstrings
    for platform, home, want in (("win32", "C:/CUDA/v12.6", "C:/CUDA/v12.6/bin/nvcc.exe"),
                                 ("linux", "/usr/local/cuda", "/usr/local/cuda/bin/nvcc")):
        ns = {"sys": fake_sys(platform), "CUDA_HOME": home}
        exec(const, ns)
        for e in exprs + fstrings:
            assert eval(e, ns).endswith(want), (e, platform)


def test_r7_flash_attn_copy_with_windows_paths(ported):
    """The copy loop of setup.py's build command, run with ntpath and Windows paths."""
    def loop_of(path: Path) -> str:
        module = cst.parse_module(path.read_bytes())
        loop = next(n for n in m.findall(module, m.For(target=m.Name("file")))
                    if "vllm_flash_attn" in code(module, n))
        return code(module, loop)

    build_lib = r"C:\src\vllm\build\lib.win-amd64-cpython-310"
    files = [build_lib + r"\vllm\vllm_flash_attn\__init__.py",
             build_lib + r"\vllm\vllm_flash_attn\layers\rotary.py"]

    def copies(snippet: str) -> list[str]:
        done: list[str] = []
        os_stub = types.SimpleNamespace(path=ntpath, sep="\\", makedirs=lambda *a, **k: None)
        self = types.SimpleNamespace(build_lib=build_lib, copy_file=lambda src, dst: done.append(dst))
        exec(compile(snippet, "setup.py", "exec"), {"os": os_stub, "self": self, "files": files, "print": len})
        return done

    before = copies(loop_of(ported.pristine / "setup.py"))
    assert before == files  # the bug: every file "copied" onto itself
    after = copies(loop_of(ported.root / "setup.py"))
    assert [p.replace("\\", "/") for p in after] == ["vllm/vllm_flash_attn/__init__.py",
                                                     "vllm/vllm_flash_attn/layers/rotary.py"]


# -- setup.py: the extensions skipped on Windows (build/windows-extensions) ----------------
def _windows_block(setup_py: str):
    from winport.transforms.build.windows_extensions import MARK

    module = ast.parse(setup_py)
    block = next(n for n in module.body if isinstance(n, ast.If) and MARK in ast.get_source_segment(setup_py, n))
    return compile(ast.Module([block], []), "setup.py", "exec")


@pytest.mark.parametrize("platform, require_rust", [("linux", ""), ("win32", ""), ("win32", "1")])
def test_windows_extension_block_skips_only_on_windows(platform, require_rust, monkeypatch, capsys):
    from types import SimpleNamespace

    from winport.examples import cases

    case = next(c for c in cases("build/windows-extensions") if c.name == "setup-with-rust")
    code = _windows_block(case.files("after")["setup.py"].decode())
    names = ["vllm.vllm_flash_attn._vllm_fa2_C", "vllm.vllm_flash_attn._vllm_fa3_C", "vllm._flashmla_C",
             "vllm._flashmla_extension_C", "vllm._sparse_flashmla_C", "vllm._deep_gemm_C", "vllm._qutlass_C",
             "vllm._C_stable_libtorch", "vllm._moe_C_stable_libtorch", "vllm.cumem_allocator"]
    monkeypatch.setenv("VLLM_REQUIRE_RUST_FRONTEND", require_rust)
    scope = {"sys": SimpleNamespace(platform=platform, stderr=sys.stderr), "os": os,
             "ext_modules": [SimpleNamespace(name=n) for n in names], "rust_extensions": ["rust"]}
    exec(code, scope)
    kept = [e.name for e in scope["ext_modules"]]
    if platform == "linux":
        assert kept == names and scope["rust_extensions"] == ["rust"]
        assert capsys.readouterr().err == ""
    else:
        assert kept == ["vllm.vllm_flash_attn._vllm_fa2_C", "vllm._C_stable_libtorch", "vllm._moe_C_stable_libtorch",
                        "vllm.cumem_allocator"]
        assert scope["rust_extensions"] == (["rust"] if require_rust else [])
        err = capsys.readouterr().err
        assert "not building vllm.vllm_flash_attn._vllm_fa3_C, vllm._flashmla_C" in err
        assert ("Rust frontend" in err) == (not require_rust)


@pytest.mark.parametrize("platform, found", [("linux", ["_rust_frontend.abi3.so"]),
                                             ("win32", ["_rust_frontend.cp311-win_amd64.pyd"])])
def test_pyd_extension_patterns_by_platform(platform, found, tmp_path):
    """The rewritten glob and regex of setup.py (0.26-shaped fixture) find the Rust
    extension modules as each platform names them, and only those."""
    from winport.examples import cases

    case = next(c for c in cases("build/pyd-extensions") if c.name == "rust-extension-patterns")
    module = ast.parse(case.files("after")["setup.py"].decode())
    wanted = {"PRECOMPILED_RUST_EXTENSION_MEMBER_REGEX", "get_precompiled_rust_extension_paths"}
    nodes = [n for n in module.body if (isinstance(n, ast.FunctionDef) and n.name in wanted)
             or (isinstance(n, ast.Assign) and n.targets[0].id in wanted)]
    assert len(nodes) == 2
    (tmp_path / "vllm").mkdir()
    for name in ("_rust_frontend.abi3.so", "_rust_frontend.cp311-win_amd64.pyd", "_C.abi3.so"):
        (tmp_path / "vllm" / name).write_bytes(b"")
    scope = {"sys": fake_sys(platform), "re": re, "ROOT_DIR": tmp_path, "Path": Path}
    exec(compile(ast.Module(nodes, []), "setup.py", "exec"), scope)
    assert [p.name for p in scope["get_precompiled_rust_extension_paths"]()] == found
    regex = scope["PRECOMPILED_RUST_EXTENSION_MEMBER_REGEX"]
    assert [bool(regex.match(f"vllm/{n}")) for n in ("_rust_frontend.abi3.so", "_rust_frontend.cp311-win_amd64.pyd")] \
        == [platform == "linux", platform == "win32"]


@pytest.mark.parametrize("windows", [True, False])
def test_dependency_hooks_of_the_real_cmake_files(ported, tmp_path, windows):
    """Every hook build/dependency-hook put into the release's CMake files, run by cmake
    (script mode) with the dependency's *_SOURCE_DIR set: on Windows each calls winport on
    its folder, once per dependency however many sites hook it; elsewhere none runs."""
    hooks = []
    for path in sorted(ported.root.glob("cmake/**/*.cmake")) + [ported.root / "CMakeLists.txt"]:
        text = path.read_text()
        hooks += re.findall(r'winport_port_dependency\((\S+) "\$\{([\w-]+)\}"\)', text)
    names = {name for name, _ in hooks}
    assert {"cutlass", "vllm-flash-attn", "flashmla", "qutlass", "triton_kernels"} <= names
    fake = tmp_path / "python"
    log = tmp_path / "calls.log"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n')
    fake.chmod(0o755)
    lines = [f'set(CMAKE_SOURCE_DIR "{ported.root}")', f'set(Python_EXECUTABLE "{fake}")']
    if windows:
        lines.append("set(WIN32 1)")
    for name, var in hooks:
        folder = tmp_path / "deps" / name
        folder.mkdir(parents=True, exist_ok=True)
        lines += [f'set({var} "{folder}")', "if(WIN32)",
                  f'  include("${{CMAKE_SOURCE_DIR}}/cmake/winport_dependencies.cmake")',
                  f'  winport_port_dependency({name} "${{{var}}}")', "endif()"]
    work = tmp_path / "build"
    work.mkdir()
    script = tmp_path / "hooks.cmake"
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["cmake", "-P", str(script)], capture_output=True, text=True, cwd=work)
    assert out.returncode == 0, out.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    if not windows:
        assert calls == [] and "winport" not in out.stderr + out.stdout
        return
    assert sorted(calls) == sorted(f"-m winport rewrite --strict --dependency {tmp_path / 'deps' / n}" for n in names)
