"""The built-in catalogue, in the order the transforms run.

Ids are ``area/name``; areas are ``build/``, ``cuda/`` and ``runtime/``. The
catalogue id (B4, K5, ...) refers to the patch reference the fixes come from.
"""

from .build.quote_real_path import QuoteRealPath
from .cuda.alt_tokens import AltTokens
from .cuda.asm_volatile import AsmVolatile
from .runtime.so_reuseport import SoReusePort

ALL = (
    QuoteRealPath,
    AsmVolatile,
    AltTokens,
    SoReusePort,
)

__all__ = ["ALL"]
