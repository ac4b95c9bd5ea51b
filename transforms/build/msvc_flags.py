from __future__ import annotations

from winport.lang import cmake
from winport.transform import CMakeTransform, Context

BLOCK = """\
# winport: what MSVC needs to compile vLLM's extensions
if(MSVC)
  # the CUDA headers, quoted: the toolkit lives under "C:/Program Files"
  foreach(_winport_dir IN LISTS CUDAToolkit_INCLUDE_DIRS)
    include_directories("${_winport_dir}")
  endforeach()
  # POSIX names (ssize_t, ...), PyTorch's CUDA code paths, a windows.h without
  # winsock and the other rarely used parts
  add_compile_definitions(_CRT_DECLARE_NONSTDC_NAMES=1 USE_CUDA WIN32_LEAN_AND_MEAN)
  # the conforming preprocessor: nested variadic macros such as BOOL_SWITCH; and
  # __cplusplus as the standard in use, not 199711L: CUDA 12's vector_types.h makes
  # dim3's constructors constexpr only when __cplusplus >= 201103L
  add_compile_options(
    "$<$<COMPILE_LANGUAGE:CXX>:/Zc:preprocessor>"
    "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=/Zc:preprocessor>"
    "$<$<COMPILE_LANGUAGE:CXX>:/Zc:__cplusplus>"
    "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=/Zc:__cplusplus>")
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
    side of CUDA files (`-Xcompiler=/Zc:preprocessor`). MSVC also reports
    `__cplusplus` as 199711L unless `/Zc:__cplusplus` is on: CUDA 12.x's
    `vector_types.h` (12.8.90, the `nvidia-cuda-runtime-cu12` wheel) declares
    `dim3`'s constructors `constexpr` only when `__cplusplus >= 201103L`, so
    CUTLASS's `static constexpr dim3 get_block_shape()` fails to compile;
    CUDA 13.0 adds an `_MSC_VER >= 1900` clause. The flag makes `__cplusplus`
    the standard in use (201703L, 202002L), which is what GCC reports: a
    header that tests `__cplusplus` takes on MSVC the branch it takes on
    Linux. `WIN32_LEAN_AND_MEAN` keeps `windows.h` from pulling in winsock
    and the other rarely used headers, whose names clash with POSIX ones.

    Pattern:
    The top-level `find_package(Torch ...)` command (the anchor: the CUDA
    variables exist after it and no extension target is defined before it).

    Rewrite:
    Right after it, an `if(MSVC)` block with directory-wide settings, so every
    extension target defined below gets them. Other compilers skip the block.
    """

    id = "build/msvc-flags"
    seed = "B2"
    summary = ("an if(MSVC) block: quoted CUDA includes, _CRT_DECLARE_NONSTDC_NAMES, USE_CUDA, "
               "WIN32_LEAN_AND_MEAN, /Zc:preprocessor, /Zc:__cplusplus")
    globs = ("CMakeLists.txt",)
    triggers = ("find_package",)
    expects = "the top-level find_package(Torch) call"

    def rewrite(self, tree, ctx: Context) -> None:
        anchor = cmake.torch_anchor(tree.root_node, ctx)
        if anchor is None:
            return
        for cmd in cmake.commands(tree.root_node, "add_compile_options"):
            block = cmake.enclosing_if(cmd)
            if block is not None and "MSVC" in cmake.if_test(block) and "/Zc:preprocessor" in cmd.text.decode():
                ctx.already(block, "an if(MSVC) block already sets /Zc:preprocessor")
                return
        ctx.insert_lines_after(anchor, BLOCK, "if(MSVC) block with the MSVC compile settings")
