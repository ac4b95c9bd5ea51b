from __future__ import annotations

from importlib import resources

from winport.lang import cmake
from winport.transform import CMakeTransform, Context

MODULE = "cmake/winport_dependencies.cmake"


def module_text() -> str:
    """The CMake functions the hooks call, written into the tree."""
    return resources.files(__package__).joinpath("winport_dependencies.cmake").read_text()


class DependencyHook(CMakeTransform):
    """Port every source the CMake build fetches, right after it is populated.

    Why:
    A CUDA build of vLLM fetches sources at configure time: CUTLASS, and the
    projects of `cmake/external_projects/` (vllm-flash-attn, FlashMLA,
    QuTLASS, DeepGEMM, triton_kernels, and more in later releases), or takes
    them from a `*_SRC_DIR` folder the user names. Their C++ has the same
    constructs MSVC rejects as vLLM's own (alternative tokens, GNU attributes,
    nested boolean dispatch, ...), so the build stops at the first of their
    headers unless they are ported too, and no patch file pinned to one
    revision survives the next release.

    Pattern:
    Every `FetchContent_MakeAvailable(name ...)` (each name),
    `FetchContent_Populate(name ...)` and `ExternalProject_Add(name ...)` in
    the top-level `CMakeLists.txt` and `cmake/**/*.cmake`, and every
    `set(name_SOURCE_DIR ...)` (a `*_SRC_DIR` folder the user names, or a
    checkout kept from an earlier configure), whatever the file or the
    dependency is called, so a dependency added in a later release is hooked
    with no change here. The CPU backend's `cmake/cpu_extension.cmake`
    (oneDNN, Arm Compute Library) is not part of the CUDA build and is left.

    Rewrite:
    After the call, inside the same block:
    `if(WIN32)` / `include(cmake/winport_dependencies.cmake)` /
    `winport_port_dependency(name "${name_SOURCE_DIR}")` / `endif()`, with the
    name lower-cased as FetchContent sets the variable; an ExternalProject gets
    `winport_port_external_project(name)`, a step between its patch and
    configure steps. `cmake/winport_dependencies.cmake`, written into the tree,
    runs `python -m winport rewrite --strict --dependency DIR` with the build's
    Python (`Python_EXECUTABLE`, else `VLLM_PYTHON_EXECUTABLE`), which ports
    any C++/CUDA tree (`winport.trees`). A stamp in `${CMAKE_BINARY_DIR}/winport/`
    makes a reconfigure a no-op until a file of the dependency is newer than
    it. Configuration stops with winport's own message when a transform
    drifts or fails, and names the install command when winport is missing.
    The MSVC flags of `build/msvc-flags` are directory properties set before
    these calls, so the subprojects `FetchContent_MakeAvailable` adds inherit
    them. Other platforms skip every hook.
    """

    id = "build/dependency-hook"
    seed = "D1"
    summary = "after each FetchContent/ExternalProject population: winport ports the fetched sources (if(WIN32))"
    globs = ("CMakeLists.txt", "cmake/**/*.cmake")
    exclude = ("cmake/cpu_extension.cmake",)
    triggers = ("FetchContent_MakeAvailable", "FetchContent_Populate", "ExternalProject_Add", "_SOURCE_DIR")
    expects = "FetchContent calls that fetch CUTLASS and the external projects"

    def new_files(self, plan) -> dict[str, str]:
        return {MODULE: module_text()}

    def rewrite(self, tree, ctx: Context) -> None:
        body = ctx.source.body
        for cmd in cmake.commands(tree.root_node):
            name, args = cmake.command_name(cmd), cmake.values(cmd)
            spelled = cmd.child(0).text.decode()
            if name == "fetchcontent_makeavailable":
                hooks = [(a, f'winport_port_dependency({a} "${{{a.lower()}_SOURCE_DIR}}")') for a in args]
            elif name == "fetchcontent_populate" and args:
                hooks = [(args[0], f'winport_port_dependency({args[0]} "${{{args[0].lower()}_SOURCE_DIR}}")')]
            elif name == "externalproject_add" and args:
                hooks = [(args[0], f"winport_port_external_project({args[0]})")]
            elif (name == "set" and len(args) >= 2 and args[0].endswith("_SOURCE_DIR") and args[0] != "_SOURCE_DIR"
                  and not {"CACHE", "PARENT_SCOPE"} & set(args)):  # a folder the user names, or kept from before
                dep = args[0][: -len("_SOURCE_DIR")]
                hooks = [(dep, f'winport_port_dependency({dep} "${{{args[0]}}}")')]
            else:
                continue
            following = body[cmd.end_byte:cmd.end_byte + 400]
            for dep, call in hooks:
                if "$" in dep:
                    ctx.report(cmd, f"{spelled}({dep}): a name only the configure knows; "
                                    "hook it by hand with winport_port_dependency")
                elif call.split('"')[0].encode() in following:
                    ctx.already(cmd, f"{dep} is ported after {spelled}")
                else:
                    block = (f"# winport: port {dep} for MSVC once it is populated\n"
                             f"if(WIN32)\n"
                             f'  include("${{CMAKE_SOURCE_DIR}}/{MODULE}")\n'
                             f"  {call}\n"
                             f"endif()\n")
                    ctx.insert_lines_after(cmd, block, f"{dep}: ported by winport after {spelled}")
