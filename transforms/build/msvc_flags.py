from __future__ import annotations

from winport.lang import cmake
from winport.transform import CMakeTransform, Context

from .cuda_toolkit_root import torch_anchor

BLOCK = """\
# winport: what MSVC needs to compile vLLM's extensions
if(MSVC)
  # the CUDA headers, quoted: the toolkit lives under "C:/Program Files"
  foreach(_winport_dir IN LISTS CUDAToolkit_INCLUDE_DIRS)
    include_directories("${_winport_dir}")
  endforeach()
  # POSIX names (ssize_t, ...) and PyTorch's CUDA code paths
  add_compile_definitions(_CRT_DECLARE_NONSTDC_NAMES=1 USE_CUDA)
  # the conforming preprocessor: nested variadic macros such as BOOL_SWITCH
  add_compile_options(
    "$<$<COMPILE_LANGUAGE:CXX>:/Zc:preprocessor>"
    "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=/Zc:preprocessor>")
endif()
"""


class MsvcFlags(CMakeTransform):
    """Give every extension target the compiler settings MSVC needs.

    Why:
    With MSVC as the host compiler, vLLM's extensions fail to build in three
    ways: CUDA include paths under `C:\\Program Files` are split at the space;
    POSIX names such as `ssize_t` are missing unless
    `_CRT_DECLARE_NONSTDC_NAMES=1`; PyTorch's `compiled_autograd.h` takes a
    CCCL workaround only when `USE_CUDA` is defined; and MSVC's traditional
    preprocessor mis-expands nested variadic macros (`BOOL_SWITCH` inside
    `BOOL_SWITCH`) unless `/Zc:preprocessor` is on, for C++ and for the host
    side of CUDA files (`-Xcompiler=/Zc:preprocessor`).

    Pattern:
    The top-level `find_package(Torch ...)` command (the anchor: the CUDA
    variables exist after it and no extension target is defined before it).

    Rewrite:
    Right after it, an `if(MSVC)` block with directory-wide settings, so every
    extension target defined below gets them. Other compilers skip the block.
    """

    id = "build/msvc-flags"
    seed = "B2"
    summary = "an if(MSVC) block: quoted CUDA includes, _CRT_DECLARE_NONSTDC_NAMES, USE_CUDA, /Zc:preprocessor"
    globs = ("CMakeLists.txt",)
    triggers = ("find_package",)
    expects = "the top-level find_package(Torch) call"

    def rewrite(self, tree, ctx: Context) -> None:
        anchor = torch_anchor(tree.root_node, ctx)
        if anchor is None:
            return
        for cmd in cmake.commands(tree.root_node, "add_compile_options"):
            block = cmake.enclosing_if(cmd)
            if block is not None and "MSVC" in cmake.if_test(block) and "/Zc:preprocessor" in cmd.text.decode():
                ctx.already(block, "an if(MSVC) block already sets /Zc:preprocessor")
                return
        ctx.insert_lines_after(anchor, BLOCK, "if(MSVC) block with the MSVC compile settings")
