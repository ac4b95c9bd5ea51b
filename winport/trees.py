"""Which kind of source tree winport is pointed at: vLLM itself, or one of the
sources a vLLM build fetches at configure time (CUTLASS, flash-attention,
FlashMLA, QuTLASS, DeepGEMM, or any other C++/CUDA project).

On vLLM every transform runs with the paths it declares. On a dependency only
the transforms marked ``portable`` run (the C++/CUDA fixes that hold for any
code MSVC compiles), over every C, C++ and CUDA file of the tree except the
parts its own CUDA build does not compile (ROCm backends, examples, tests).
The others are *not applicable*: a dependency has no ``setup.py`` or
``vllm/`` package for them to fix, and that is neither drift nor failure.

A kind is recognised by files only its checkout has, so a vLLM sdist, a git
checkout and a folder given through ``VLLM_CUTLASS_SRC_DIR`` read the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: C, C++ and CUDA files of a dependency, whatever its layout
DEPENDENCY_SOURCES = "**/*.{cu,cuh,cpp,cc,cxx,c,h,hpp,hxx,inl,inc}"
#: folders a dependency's CUDA build does not compile, in every dependency
_NOT_BUILT = ("**/test/**", "**/tests/**", "**/examples/**", "**/docs/**", "**/benchmarks/**",
              "**/python/**", "**/.git/**")


@dataclass(frozen=True)
class TreeKind:
    """One kind of tree: how it is recognised and which of its files are ported."""

    name: str
    label: str
    #: paths that must all exist (relative to the tree's root)
    markers: tuple[str, ...] = ()
    #: paths not ported beyond ``_NOT_BUILT`` (another backend's sources)
    exclude: tuple[str, ...] = ()

    @property
    def is_vllm(self) -> bool:
        return self.name == "vllm"

    def exclude_globs(self) -> tuple[str, ...]:
        return (*_NOT_BUILT, *self.exclude)

    def matches(self, root: str) -> bool:
        return bool(self.markers) and all(os.path.exists(os.path.join(root, m)) for m in self.markers)


VLLM = TreeKind("vllm", "vLLM", ("setup.py", "vllm", "csrc"))

#: known dependencies, most specific first (flash-attention vendors CUTLASS, so
#: its own marker is tried before CUTLASS's)
DEPENDENCY_KINDS = (
    TreeKind("flash-attn", "flash-attention", ("csrc/flash_attn",),
             exclude=("csrc/composable_kernel/**", "csrc/flash_attn_ck/**")),
    TreeKind("flashmla", "FlashMLA", ("flash_mla", "csrc")),
    TreeKind("qutlass", "QuTLASS", ("qutlass", "csrc")),
    TreeKind("deepgemm", "DeepGEMM", ("deep_gemm",)),
    TreeKind("cutlass", "CUTLASS", ("include/cutlass/cutlass.h",)),
)

#: a dependency winport knows nothing else about (``winport rewrite --dependency``)
OTHER = TreeKind("c++", "C++/CUDA project")

def identify(root: str, dependency: bool = False) -> TreeKind:
    """The kind of the tree at ``root``: a known dependency when its markers are there
    and vLLM's (``setup.py``, ``vllm/``, ``csrc/``) are not. Otherwise vLLM, so that
    part of a vLLM tree is ported as vLLM, unless ``dependency`` says the tree is a
    dependency: then it is :data:`OTHER`."""
    if VLLM.matches(root):
        return VLLM
    for kind in DEPENDENCY_KINDS:
        if kind.matches(root):
            return kind
    return OTHER if dependency else VLLM
