"""An example winport plug-in, written against winport's docs/api.md only.

Two transforms, registered through the ``winport.transforms`` entry point:

* ``example/builtin-expect`` (C++/CUDA, tree-sitter): ``__builtin_expect(e, c)`` -> ``(e)``
* ``example/os-getuid`` (Python, libcst): ``os.getuid()`` -> a call Windows survives

Their fixture cases live in ``fixtures/`` beside this file, in winport's layout;
``winport test`` runs them.
"""

from __future__ import annotations

from .builtin_expect import BuiltinExpect
from .os_getuid import OsGetuid

TRANSFORMS = [BuiltinExpect, OsGetuid]

__all__ = ["TRANSFORMS", "BuiltinExpect", "OsGetuid"]
