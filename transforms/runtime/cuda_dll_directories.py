from __future__ import annotations

import libcst as cst

from winport.lang.python import add_helper, has_module_level
from winport.transform import Context, PythonTransform

NAME = "_WINPORT_DLL_DIRECTORIES"
CODE = f'''
# winport: since Python 3.8 Windows does not search PATH for the DLLs an extension needs, and CUDA 13
# keeps its DLLs in bin\\x64: add the toolkit's DLL folders before vllm._C and the other extensions load
def _winport_add_cuda_dll_directories() -> list:
    import os

    roots = [os.environ.get(name) for name in ("CUDA_PATH", "CUDA_HOME")]
    roots += [value for name, value in sorted(os.environ.items()) if name.startswith("CUDA_PATH_V")]
    added = []
    for root in dict.fromkeys(root for root in roots if root):
        for folder in (os.path.join(root, "bin", "x64"), os.path.join(root, "bin")):
            if os.path.isdir(folder):
                added.append(os.add_dll_directory(folder))
    return added


{NAME} = _winport_add_cuda_dll_directories() if sys.platform == "win32" else []
'''


class CudaDllDirectories(PythonTransform):
    """Let Windows find the CUDA toolkit's DLLs when vLLM's extensions load.

    Why:
    Since Python 3.8, Windows loads the DLLs an extension module depends on
    from the application's folder, the system folders and the folders added
    with `os.add_dll_directory`, not from `PATH`. `vllm._C` links the CUDA
    toolkit's libraries (cuBLAS, B3), and CUDA 13 installs its DLLs in
    `bin\\x64` rather than `bin`: `import vllm._C` fails with "DLL load
    failed" although the toolkit is installed and on `PATH`.

    Pattern:
    The package's `vllm/__init__.py`, which runs before any `vllm.*` module
    and so before the extensions load.

    Rewrite:
    After its imports, a helper that adds `bin\\x64` and `bin` of the
    toolkits named by `CUDA_PATH`, `CUDA_HOME` and `CUDA_PATH_V*` (those that
    exist) with `os.add_dll_directory`, called only where
    `sys.platform == "win32"`; the handles are kept in
    `_WINPORT_DLL_DIRECTORIES` (`import sys` added when missing). Linux runs
    nothing new.
    """

    id = "runtime/cuda-dll-directories"
    seed = "F4"
    summary = "the CUDA toolkit's DLL folders (`bin\\x64`, `bin`) added with os.add_dll_directory on Windows"
    globs = ("vllm/__init__.py",)
    triggers = ("import",)
    expects = "vllm/__init__.py, the package that loads before its extensions"

    def rewrite(self, wrapper, ctx: Context) -> cst.Module:
        module = wrapper.module
        if has_module_level(module, NAME):
            ctx.already((1, 1), f"{NAME} is defined")
            return module
        ctx.applied((1, 1), "CUDA DLL folders added with os.add_dll_directory on Windows, before the extensions load")
        return add_helper(module, ctx, NAME, CODE, ("sys",))
