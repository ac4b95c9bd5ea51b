from __future__ import annotations

import posixpath
from importlib import resources

from winport.lang import treesitter
from winport.lang.cpp import Space, execution_space, msvc_sees, space_macros
from winport.transform import Context, CppTransform

HEADER = "csrc/winport_posix.h"
# not in the Windows SDK: the include is replaced under _MSC_VER
SWITCHED = ("unistd.h", "sys/time.h", "sched.h")
# in the Windows SDK too, without the calls: the header is included beside them
KEPT = ("fcntl.h", "time.h", "ctime", "sys/stat.h", "sys/types.h")
# what the header gives (the descriptor calls read/write/close/unlink/lseek are MSVC's
# own, declared by the <io.h> it includes)
PROVIDED = ("access", "open", "pread", "pwrite", "clock_gettime", "usleep", "sleep", "sched_yield", "getpid",
            "read", "write", "close", "unlink", "lseek")
# POSIX calls without a faithful Windows equivalent: reported
UNPROVIDED = {
    "mmap": "file mapping with POSIX flags (CreateFileMapping/MapViewOfFile differ)",
    "munmap": "see mmap", "mprotect": "VirtualProtect has other page rules",
    "fork": "Windows has no fork", "vfork": "Windows has no fork", "execv": "no exec: CreateProcess",
    "execvp": "no exec: CreateProcess", "waitpid": "no child reaping: WaitForSingleObject",
    "kill": "no signals: TerminateProcess", "dlopen": "LoadLibrary has other search rules",
    "dlsym": "GetProcAddress", "dlclose": "FreeLibrary", "dlerror": "GetLastError",
    "sysconf": "no sysconf: GetSystemInfo", "getpagesize": "GetSystemInfo().dwPageSize",
    "gettimeofday": "struct timeval lives in winsock2.h", "nanosleep": "Sleep rounds to milliseconds",
    "ftruncate": "_chsize_s", "fsync": "_commit", "pipe": "_pipe has other arguments",
    "posix_memalign": "_aligned_malloc needs _aligned_free", "fcntl": "no fcntl",
    "ioctl": "no ioctl", "readlink": "no symbolic link API of that shape", "getuid": "no user ids",
    "geteuid": "no user ids", "shm_open": "no POSIX shared memory",
}
MARK = "winport: POSIX calls for MSVC"


def header_text() -> str:
    """The compatibility header winport writes into the tree."""
    return resources.files(__package__).joinpath("winport_posix.h").read_text()


class PosixCompat(CppTransform):
    """Give MSVC the POSIX calls host C++ makes, from one header written into the tree.

    Why:
    Host code such as `fs_io.cpp` (`<unistd.h>`, `access`, `open`/`read`/`write`)
    and `spinloop.cpp` (`clock_gettime`, `CLOCK_MONOTONIC`) does not compile with
    MSVC: `<unistd.h>` and `<sys/time.h>` do not exist, `clock_gettime`,
    `pread`, `usleep` are not declared, and `open` without `O_BINARY` turns
    every `\\n` written into `\\r\\n`.

    Pattern:
    A file MSVC compiles that includes `<unistd.h>`, `<sys/time.h>` or
    `<sched.h>`, or that includes `<fcntl.h>`/`<time.h>` and calls one of the
    header's functions in host code.

    Rewrite:
    Winport writes `csrc/winport_posix.h` (content only under `_MSC_VER`):
    `access` and its modes, `open` with `_O_BINARY` (a C++ overload),
    positional `pread`/`pwrite` safe for concurrent readers, `usleep`,
    `sleep`, `sched_yield`, `getpid`, and `clock_gettime` with
    `CLOCK_REALTIME`, `CLOCK_MONOTONIC` and `CLOCK_MONOTONIC_RAW`. The first
    POSIX-only include becomes `#ifdef _MSC_VER` / `#include
    "winport_posix.h"` / `#else` / the include / `#endif` (later ones keep
    only the `#else` part); a file with only `<fcntl.h>`/`<time.h>` gets the
    MSVC include after them. `open(path, flags)` gets a mode,
    `open(path, flags, 0)`, the same call on POSIX, so the overload is chosen.
    A test builds the header's functions for Windows with MinGW and runs
    them under wine.

    Reported:
    POSIX calls with no faithful Windows equivalent in such a file: `mmap`,
    `fork`, `dlopen`, `sysconf`, ... with what Windows has instead.
    """

    id = "cuda/posix-compat"
    seed = "C4"
    summary = "POSIX headers and calls in host C++ -> csrc/winport_posix.h (MSVC only) written into the tree"
    triggers = tuple(f"<{h}>" for h in (*SWITCHED, *KEPT))
    exclude = (*CppTransform.exclude, HEADER)

    def new_files(self, plan) -> dict[str, str]:
        return {HEADER: header_text()}

    def rewrite(self, tree, ctx: Context) -> None:
        root = tree.root_node
        includes = [(path.parent, path.text.decode().strip("<>")) for _, path in treesitter.captures(
            self.language, "(preproc_include path: (system_lib_string) @p)", root)]
        switched = [inc for inc, name in includes if name in SWITCHED and msvc_sees(inc)]
        kept = [inc for inc, name in includes if name in KEPT and msvc_sees(inc)]
        macros = space_macros(root)
        calls = [c for c in treesitter.called(root, treesitter.words((*PROVIDED, *UNPROVIDED)))
                 if msvc_sees(c) and execution_space(c, macros) is not Space.DEVICE]
        needed = {"access", "open", "pread", "pwrite", "clock_gettime", "usleep", "sleep", "sched_yield"}
        if not switched and not (kept and any(c.text.decode() in needed for c in calls)):
            return
        if not switched and MARK.encode() in ctx.source.body:
            ctx.already(root, "winport_posix.h is included")
            return
        # the header's place in this tree: csrc/ in vLLM's layout, the kernels' folder in another
        header = next((g for g in self.exclude if g.endswith(posixpath.basename(HEADER))), HEADER)
        include = posixpath.relpath(header, posixpath.dirname(ctx.path))
        msvc = f'#include "{include}"  // {MARK}'
        if switched:
            first, *rest = switched
            text = first.text.decode().rstrip("\n")
            ctx.replace(first.start_byte, first.end_byte, f"#ifdef _MSC_VER\n{msvc}\n#else\n{text}\n#endif\n",
                        f"{text} -> winport_posix.h under _MSC_VER", where=first)
            for inc in rest:
                text = inc.text.decode().rstrip("\n")
                ctx.replace(inc.start_byte, inc.end_byte, f"#ifndef _MSC_VER\n{text}\n#endif\n",
                            f"{text} only where it exists", where=inc)
        else:
            ctx.insert_lines_after(kept[-1], f"#ifdef _MSC_VER\n{msvc}\n#endif",
                                   "winport_posix.h included for MSVC")
        for call in calls:
            name = call.text.decode()
            if name in UNPROVIDED:
                ctx.report(call, f"{name}() has no faithful Windows equivalent ({UNPROVIDED[name]}): port by hand")
            elif name == "open":
                args = call.parent.child_by_field_name("arguments")
                values = [a for a in args.named_children if a.type != "comment"] if args is not None else []
                if len(values) == 2:
                    ctx.insert(args.end_byte - 1, ", 0", "open(path, flags) -> open(path, flags, 0): "
                                                         "winport_posix.h's binary open", where=call)
