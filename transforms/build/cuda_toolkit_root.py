from __future__ import annotations

from winport.lang import cmake
from winport.transform import CMakeTransform, Context

BLOCK = r"""# winport: with several CUDA toolkits installed, use the one CUDA_HOME names
if(WIN32 AND DEFINED ENV{CUDA_HOME})
  string(REPLACE "\\" "/" _WINPORT_CUDA_HOME "$ENV{CUDA_HOME}")
  set(CUDA_TOOLKIT_ROOT_DIR "${_WINPORT_CUDA_HOME}")
  set(CUDAToolkit_ROOT "${_WINPORT_CUDA_HOME}")
  set(CUDA_BIN_PATH "${_WINPORT_CUDA_HOME}")
endif()
"""


class CudaToolkitRoot(CMakeTransform):
    """Point CMake at the CUDA toolkit that `CUDA_HOME` names, before Torch looks for one.

    Why:
    Windows machines often carry several CUDA toolkits (a compiler-only 13.x
    next to the 12.x PyTorch was built with). `find_package(Torch)` runs
    CMake's CUDA discovery, which takes the newest toolkit on the PATH, not
    the one in `CUDA_HOME`, and the build mixes headers and libraries of two
    versions.

    Pattern:
    The top-level `find_package(Torch ...)` command of `CMakeLists.txt`. It is
    an anchor: a tree without it is reported as drifted.

    Rewrite:
    Just above it, a block that runs only on Windows and only when the
    `CUDA_HOME` environment variable is set: it converts the path to forward
    slashes and sets `CUDA_TOOLKIT_ROOT_DIR`, `CUDAToolkit_ROOT` and
    `CUDA_BIN_PATH` from it. Linux builds skip the block.
    """

    id = "build/cuda-toolkit-root"
    seed = "B1"
    summary = "set CUDA_TOOLKIT_ROOT_DIR / CUDAToolkit_ROOT / CUDA_BIN_PATH from CUDA_HOME before find_package(Torch)"
    globs = ("CMakeLists.txt",)
    triggers = ("find_package",)
    expects = "the top-level find_package(Torch) call"

    def rewrite(self, tree, ctx: Context) -> None:
        anchor = cmake.torch_anchor(tree.root_node, ctx)
        if anchor is None:
            return
        for cmd in cmake.commands(tree.root_node, "set"):
            if cmd.start_byte > anchor.start_byte:
                break
            if cmake.values(cmd)[:1] == ["CUDAToolkit_ROOT"]:
                ctx.already(cmd, "CUDAToolkit_ROOT is set before find_package(Torch)")
                return
        ctx.insert_lines_before(anchor, BLOCK, "CUDA toolkit taken from CUDA_HOME before find_package(Torch)")
