from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.transform import Context, CppTransform

POSIX_HEADERS = {
    "unistd.h", "sys/mman.h", "sys/socket.h", "sys/un.h", "sys/ioctl.h", "sys/syscall.h", "sys/time.h",
    "sys/wait.h", "sys/resource.h", "dlfcn.h", "pthread.h", "cpuid.h", "x86intrin.h", "netinet/in.h",
    "arpa/inet.h", "netdb.h", "poll.h", "sched.h", "semaphore.h", "numa.h", "execinfo.h", "cxxabi.h",
}


class PosixHeaders(CppTransform):
    """Report POSIX-only headers that MSVC would include.

    Why:
    `<unistd.h>`, `<sys/mman.h>`, `<sys/socket.h>`, `<dlfcn.h>`,
    `<pthread.h>`, `<cpuid.h>`, `<x86intrin.h>` and the like do not exist in
    the Windows SDK; MSVC stops with `C1083: cannot open include file`.

    Pattern:
    An `#include <...>` of a POSIX-only header in the sources a CUDA build
    compiles, outside `#if` branches that Windows never compiles (a
    `#ifndef _WIN32` or `#ifdef __linux__` guard counts as handled).

    Rewrite:
    None: each site is reported. The fix is a guard plus the Windows
    equivalent of what the file uses from the header (`<windows.h>`,
    `<intrin.h>`, `<io.h>`, ...), which depends on the code.
    """

    id = "detect/posix-headers"
    summary = "report POSIX-only #include lines MSVC would see (unistd.h, sys/mman.h, dlfcn.h, ...)"
    portable = True
    triggers = tuple(sorted(POSIX_HEADERS))
    fixes = False

    def rewrite(self, tree, ctx: Context) -> None:
        for _, inc in treesitter.captures(self.language, "(preproc_include path: (system_lib_string) @p)",
                                          tree.root_node):
            header = inc.text.decode().strip("<>")
            if header in POSIX_HEADERS and msvc_sees(inc):
                ctx.report(inc, f"<{header}> is POSIX-only: MSVC cannot open it; guard it and use the "
                                "Windows equivalent")
