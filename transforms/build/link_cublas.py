from __future__ import annotations

import re

from winport.lang import cmake, treesitter
from winport.scope import extension_targets, keyword_items
from winport.transform import CMakeTransform, Context

_CUBLAS_USE = re.compile(rb"\bcublas[A-Z]\w*\s*\(")


class LinkCublas(CMakeTransform):
    """Link cuBLAS into every extension target whose sources call it.

    Why:
    On Linux the cuBLAS symbols that vLLM's kernels call (`cublasGemmEx`, ...)
    resolve through PyTorch's shared libraries. MSVC's linker resolves only
    what a target links explicitly, so the `_C` extension fails with
    unresolved `cublas*` symbols.

    Pattern:
    An extension target: a command whose first argument names the target and
    which has `DESTINATION` and `SOURCES` keywords (`define_extension_target`,
    `define_gpu_extension_target`, whatever the helper is called). Its sources
    are resolved through the `set()`/`list(APPEND)` variables of the file, and
    the target counts when one of them calls a `cublas*` function. Targets
    already linking `CUDA::cublas` are left alone.

    Rewrite:
    After the target's definition,
    `if(MSVC) target_link_libraries(<target> PRIVATE CUDA::cublas) endif()`.
    Other compilers skip it.
    """

    id = "build/link-cublas"
    seed = "B3"
    summary = "link CUDA::cublas into the extension targets (_C) whose sources call cuBLAS"
    globs = ("CMakeLists.txt",)
    triggers = ("SOURCES",)
    expects = "an extension target whose sources call cuBLAS"

    def plan(self, tree) -> dict[str, list[str]]:
        """{target: [source files calling cuBLAS]} for the top-level CMakeLists.txt."""
        top = tree.read("CMakeLists.txt")
        if top is None:
            return {}
        root = treesitter.parse(self.language, top.body).root_node
        variables = cmake.list_variables(root)
        needs: dict[str, list[str]] = {}
        for name, cmd in extension_targets(root):
            args = cmake.values(cmd)
            sources = cmake.expand(keyword_items(args, "SOURCES"), variables)
            users = []
            for path in dict.fromkeys(s for s in sources if s.startswith("csrc/")):
                src = tree.read(path)
                if src is not None and _CUBLAS_USE.search(src.body):
                    users.append(path)
            if users:
                needs[name] = users
        return needs

    def rewrite(self, tree, ctx: Context) -> None:
        needs = ctx.plan or {}
        if not needs:
            ctx.drifted("CMakeLists.txt: no extension target (a command with DESTINATION and SOURCES) "
                        "has a source that calls a cublas* function")
            return
        linked = {cmake.values(c)[0] for c in cmake.commands(tree.root_node, "target_link_libraries")
                  if "CUDA::cublas" in cmake.values(c)}
        for name, cmd in extension_targets(tree.root_node):
            if name not in needs:
                continue
            if name in linked:
                ctx.already(cmd, f"{name} already links CUDA::cublas")
                continue
            block = (f"if(MSVC)  # winport: cuBLAS calls in {', '.join(needs[name][:2])}"
                     f"{' ...' if len(needs[name]) > 2 else ''}\n"
                     f"  target_link_libraries({name} PRIVATE CUDA::cublas)\nendif()\n")
            ctx.insert_lines_after(cmd, block, f"{name} links CUDA::cublas under MSVC")
