"""winport.scope: the CUDA build's translation units from CMake source lists, and includes."""

from __future__ import annotations

from winport.scope import Standards, cuda_scope, include_closure, includes, standards

CMAKE = b"""
set(VLLM_EXT_SRC
  "csrc/a.cu"
  "csrc/b.cpp")
if(VLLM_GPU_LANG STREQUAL "CUDA")
  list(APPEND VLLM_EXT_SRC "csrc/cuda_only.cu")
  file(GLOB GEN_SRC "csrc/gen/k_*.cu")
  list(APPEND VLLM_EXT_SRC ${GEN_SRC})
  target_compile_definitions(_C PRIVATE USE_CUDA)
elseif(VLLM_GPU_LANG STREQUAL "HIP")
  list(APPEND VLLM_EXT_SRC "csrc/rocm_only.cu")
  target_compile_definitions(_C PRIVATE USE_ROCM)
else()
  list(APPEND VLLM_EXT_SRC "csrc/other.cu")
endif()
if(VLLM_GPU_LANG STREQUAL "CUDA")
  set(X 1)
else()
  list(APPEND VLLM_EXT_SRC "csrc/not_cuda.cu")
endif()
define_gpu_extension_target(
  _C
  DESTINATION vllm
  LANGUAGE ${VLLM_GPU_LANG}
  SOURCES ${VLLM_EXT_SRC}
  USE_SABI 3)
if(VLLM_GPU_LANG STREQUAL "HIP")
  define_gpu_extension_target(_rocm_C DESTINATION vllm SOURCES "csrc/rocm/r.cu")
endif()
"""

FILES = ["csrc/a.cu", "csrc/b.cpp", "csrc/cuda_only.cu", "csrc/rocm_only.cu", "csrc/other.cu",
         "csrc/not_cuda.cu", "csrc/gen/k_1.cu", "csrc/gen/k_2.cu", "csrc/gen/other.cu", "csrc/rocm/r.cu"]


def test_cuda_scope_reads_lists_globs_and_skips_branches_a_cuda_build_skips():
    scope = cuda_scope(CMAKE, FILES)
    assert list(scope.targets) == ["_C"]
    assert scope.targets["_C"] == ["csrc/a.cu", "csrc/b.cpp", "csrc/cuda_only.cu", "csrc/gen/k_1.cu",
                                   "csrc/gen/k_2.cu"]
    assert scope.definitions["_C"] == ["TORCH_EXTENSION_NAME=_C", "USE_CUDA"]


def test_sources_the_tree_lacks_are_dropped():
    scope = cuda_scope(CMAKE, ["csrc/a.cu"])
    assert scope.units == ["csrc/a.cu"]


def test_includes_resolve_beside_the_file_then_under_csrc():
    files = {"csrc/x/k.cu", "csrc/x/local.cuh", "csrc/core/math.hpp", "csrc/core/deep.h"}
    body = b'#include "local.cuh"\n  #  include <core/math.hpp>\n#include <torch/all.h>\n// #include "nope.h"\n'
    assert includes("csrc/x/k.cu", body, files.__contains__) == ["csrc/x/local.cuh", "csrc/core/math.hpp"]
    bodies = {"csrc/x/k.cu": body, "csrc/core/math.hpp": b'#include "deep.h"\n', "csrc/x/local.cuh": b""}
    closure = include_closure(["csrc/x/k.cu"], bodies.get, files.__contains__)
    assert closure["csrc/x/k.cu"] == {"csrc/x/k.cu", "csrc/x/local.cuh", "csrc/core/math.hpp", "csrc/core/deep.h"}


def test_standards_are_read_from_the_top_level_cmake():
    top = b"""set(CMAKE_CXX_STANDARD 17)
if(VLLM_GPU_LANG STREQUAL "HIP")
  set(CMAKE_CXX_STANDARD 14)
endif()
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CUDA_STANDARD 20)
"""
    assert standards(top) == Standards(20, 20) and standards(top).at_least(20)
    # the last set() wins; a HIP-only branch does not count; CUDA unset is nvcc's default (C++17)
    assert standards(b"set(CMAKE_CXX_STANDARD 20)\n") == Standards(20, None)
    assert not standards(b"set(CMAKE_CXX_STANDARD 20)\n").at_least(20)
    assert not standards(top.replace(b"CUDA_STANDARD 20", b"CUDA_STANDARD 17")).at_least(20)
    assert standards(None) == Standards() and standards(b"project(x)\n").at_least(17)
