"""A simulated Windows standard library, and a runner that imports modules of a tree.

No Windows machine runs the tests, so what a ported module does on Windows at
import is checked here by making this Linux interpreter look like Windows to the
code under test (``activate``):

- ``sys.platform`` is ``"win32"`` (``os.name`` stays ``"posix"``: ``os.path`` and the
  interpreter itself are POSIX underneath);
- the POSIX-only attributes below are gone from ``os``, ``signal`` and ``socket``;
- ``fcntl``, ``resource``, ``uvloop`` and ``termios`` cannot be imported;
- ``msvcrt`` can, as on Windows (a stand-in: ``locking`` keeps the locks in memory);
- ``socket.socketpair`` joins two TCP sockets over the loopback, as on Windows;
- ``multiprocessing.Pipe()`` gives ``PipeConnection`` objects, a sibling class of
  ``Connection`` (not a subclass), as on Windows;
- ``os.add_dll_directory`` exists (a stand-in that checks the folder, as Windows
  does, and returns a handle that names it);
- ``mmap`` has no ``MAP_*``, ``PROT_*`` or ``MADV_*`` constants, ``mmap.mmap`` takes
  Windows' arguments (``fileno, length, tagname=None, access=..., offset=0``: no
  ``flags``/``prot``) and its objects have no ``madvise``; and ``os.unlink``/``os.remove``
  of a file this process has mapped fails with ``PermissionError``, as on Windows;
- asyncio's ``add_signal_handler``/``remove_signal_handler`` raise
  ``NotImplementedError`` as on Windows, and asyncio has the Windows event-loop
  policy names (``WindowsSelectorEventLoopPolicy``, ``WindowsProactorEventLoopPolicy``).

Third-party packages and the standard library's own modules are not what winport
ports: their code runs with the real ``sys.platform`` while they are imported (their
Windows branches need Windows itself). Modules under the tree's own package
(``vllm``) and files loaded by path run with the simulated one.

As a script, in a fresh interpreter for each call::

    python tests/winsim.py [--windows] [--stub-missing] [--own PACKAGE] ROOT MODULE_OR_FILE

or, for many calls, ``python tests/winsim.py --serve torch``: one process that imports
PyTorch once and forks a fresh child for each call it reads on stdin (:func:`serve`).

imports the module (a dotted name, with ROOT first on ``sys.path``) or executes a
file of ROOT as a module, and prints one JSON line: ``{"ok": true}`` or the
exception's type and message. ``--then CODE`` runs CODE in the module's namespace
afterwards and prints the ``repr`` of what it leaves in ``result``. The tree's compiled extensions (``vllm._C`` and the
like), which only a build makes, are stood in for. ``--stub-missing`` stands in a module for every
missing non-standard-library import (fixtures name vLLM modules, torch, ... which
are not there for them). ``--own PACKAGE``: the tree's package is PACKAGE, not ``vllm``
(another engine's tree, ported with a layout).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import traceback
import types
from unittest import mock

REAL_PLATFORM = sys.platform
OWN = ("vllm",)  # packages imported under the simulated platform

REMOVED = {
    "os": ("fork", "forkpty", "killpg", "getpgid", "setpgid", "setsid", "getuid", "geteuid", "getgid", "getegid",
           "sched_yield", "sched_getaffinity", "sched_setaffinity", "O_NOFOLLOW"),
    "signal": ("SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTSTP", "SIGHUP", "SIGQUIT", "SIGCHLD", "SIGALRM",
               "setitimer", "alarm", "pause", "siginterrupt"),
    "socket": ("SO_REUSEPORT", "AF_UNIX"),
    "mmap": tuple(name for name in dir(__import__("mmap")) if name.startswith(("MAP_", "PROT_", "MADV_"))),
}
UNIMPORTABLE = ("fcntl", "resource", "uvloop", "termios", "pwd", "grp", "posix")
# Optional packages ported code tries and does without: never stood in for (their absence is tested)
OPTIONAL = ("winloop",)
# Imported with the real platform before the switch: the interpreter's own machinery
# that reads sys.platform at import (asyncio would import its Windows event loop).
PRELOAD = ("asyncio", "asyncio.unix_events", "subprocess", "multiprocessing", "multiprocessing.connection",
           "concurrent.futures", "socket", "selectors", "signal", "tempfile", "threading", "ctypes",
           "ctypes.util", "shutil", "platform", "uuid", "logging.handlers", "importlib.metadata")


def _msvcrt() -> types.ModuleType:
    """What vLLM's ported code uses of Windows' msvcrt: byte-range locks."""
    mod = types.ModuleType("msvcrt")
    mod.LK_UNLCK, mod.LK_LOCK, mod.LK_NBLCK, mod.LK_RLCK, mod.LK_NBRLCK = 0, 1, 2, 3, 4
    held: set[int] = set()

    def locking(fd: int, mode: int, nbytes: int) -> None:
        if mode == mod.LK_UNLCK:
            held.discard(fd)
        elif fd in held and mode in (mod.LK_NBLCK, mod.LK_NBRLCK):
            raise OSError(36, "Resource deadlock avoided")
        else:
            held.add(fd)

    mod.locking = locking
    mod.get_osfhandle = lambda fd: fd
    mod.open_osfhandle = lambda handle, flags: handle
    mod.setmode = lambda fd, flags: flags
    return mod


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, stub_missing: bool):
        self.stub_missing = stub_missing

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if _depth:  # a third-party or standard-library module's import: as on Linux
            return None
        if top in UNIMPORTABLE:
            raise ModuleNotFoundError(f"No module named {name!r} (simulated Windows)", name=name)
        if top == "msvcrt":
            return importlib.util.spec_from_loader(name, _Loader(_msvcrt))
        spec = self._others(name, path, target)
        if spec is None:
            if self.stub_missing and top not in sys.stdlib_module_names and top not in OPTIONAL:
                return importlib.util.spec_from_loader(name, _Loader(_stub), is_package=True)
            return None
        if top not in OWN and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RealPlatform(spec.loader)
        return spec

    def _others(self, name, path, target):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, make):
        self.make = make

    def create_module(self, spec):
        mod = self.make()
        mod.__name__ = spec.name
        return mod

    def exec_module(self, module):
        pass


def _stub() -> types.ModuleType:
    mod = types.ModuleType("stub")
    mod.__path__ = []
    mod.__getattr__ = lambda attr: mock.MagicMock(name=attr)  # type: ignore[attr-defined]
    return mod


class _RealPlatform(importlib.abc.Loader):
    """Runs a third-party module's code with the real ``sys.platform``."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = self.loader
        with _real_system():
            self.loader.exec_module(module)

    def __getattr__(self, attr):  # get_source, get_code, is_package, ... for tools that ask
        return getattr(self.loader, attr)


_REMOVED_VALUES: dict[tuple[str, str], object] = {}  # (module, attribute) -> the value taken away
_depth = 0  # how many third-party modules are being imported (one imports another)


class _real_system:
    """While a module that is not the tree's own is imported: the real platform,
    ``os``/``signal``/``socket`` whole (copies it keeps), the POSIX modules importable
    (and forgotten again after, so the code under test cannot find them in
    ``sys.modules``)."""

    def __enter__(self):
        global _depth
        _depth += 1
        if _depth == 1:
            self.saved = sys.platform
            sys.platform = REAL_PLATFORM
            # the module imports `os`, `signal`, `socket` whole: it gets copies that keep
            # what was taken away, so its code works later too (psutil's kill() reads
            # signal.SIGKILL when called)
            self.trimmed = {name: sys.modules[name] for name in REMOVED}
            for name, module in self.trimmed.items():
                whole = types.ModuleType(name, module.__doc__)
                whole.__dict__.update(module.__dict__)
                for (owner, attr), value in _REMOVED_VALUES.items():
                    if owner == name:
                        setattr(whole, attr, value)
                sys.modules[name] = whole

    def __exit__(self, *exc):
        global _depth
        _depth -= 1
        if _depth == 0:
            sys.platform = self.saved
            sys.modules.update(self.trimmed)
            _remove_posix()


def _remove_posix() -> None:
    for module, attrs in REMOVED.items():
        mod = sys.modules[module]
        for attr in attrs:
            if hasattr(mod, attr):
                _REMOVED_VALUES[(module, attr)] = getattr(mod, attr)
                delattr(mod, attr)
    for name in list(sys.modules):
        if name.partition(".")[0] in UNIMPORTABLE:
            del sys.modules[name]


def _socketpair(family=None, type=None, proto=0):
    """Windows' socketpair: two TCP sockets joined over the loopback (no AF_UNIX)."""
    import socket

    family = socket.AF_INET if family is None else family
    type = socket.SOCK_STREAM if type is None else type
    with socket.socket(family, type, proto) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        a = socket.socket(family, type, proto)
        a.connect(listener.getsockname())
        b, _ = listener.accept()
    return a, b


def _windows_pipes() -> None:
    """Windows' ``multiprocessing.connection``: ``Pipe()`` ends are ``PipeConnection``,
    which derives from ``_ConnectionBase`` beside ``Connection``."""
    import multiprocessing.connection as mpc

    own = {k: v for k, v in vars(mpc.Connection).items() if k.startswith("_") and callable(v)
           and not k.startswith("__")}
    pipe_connection = type("PipeConnection", (mpc._ConnectionBase,), {**own, "__module__": mpc.__name__})
    real_pipe = mpc.Pipe

    def pipe(duplex: bool = True):
        ends = real_pipe(duplex)
        for end in ends:
            end.__class__ = pipe_connection
        return ends

    mpc.PipeConnection, mpc.Pipe = pipe_connection, pipe


class _DllDirectory:
    def __init__(self, path: str):
        self.path = path

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<AddedDllDirectory({self.path!r})>"


def _add_dll_directory(path: str) -> _DllDirectory:
    import os

    if not os.path.isdir(path):
        raise FileNotFoundError(2, "The system cannot find the file specified", path)
    return _DllDirectory(os.fspath(path))


_MAPPED: dict[int, tuple[int, int]] = {}  # id of an open mapping -> (st_dev, st_ino) of its file


def _windows_mmap() -> None:
    """Windows' ``mmap.mmap``: its signature, no ``madvise``, and a mapped file that
    cannot be unlinked (``os.unlink``/``os.remove`` raise ``PermissionError``)."""
    import mmap
    import os

    real = mmap.mmap

    class WindowsMmap(real):
        def __new__(cls, fileno, length, tagname=None, access=mmap.ACCESS_DEFAULT, offset=0):
            self = super().__new__(cls, fileno, length, access=access, offset=offset)
            if fileno != -1:
                st = os.fstat(fileno)
                _MAPPED[id(self)] = (st.st_dev, st.st_ino)
            return self

        def __getattribute__(self, name):
            if name == "madvise":
                raise AttributeError("'mmap.mmap' object has no attribute 'madvise' (simulated Windows)")
            return super().__getattribute__(name)

        def close(self):
            _MAPPED.pop(id(self), None)
            return super().close()

    WindowsMmap.__name__ = WindowsMmap.__qualname__ = "mmap"
    WindowsMmap.__module__ = "mmap"
    _REMOVED_VALUES[("mmap", "mmap")] = real  # third-party code keeps the real class
    mmap.mmap = WindowsMmap
    real_unlink = os.unlink

    def unlink(path, *, dir_fd=None):
        try:
            st = os.stat(path, dir_fd=dir_fd)
        except OSError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) in _MAPPED.values():
            raise PermissionError(32, "The process cannot access the file because it is being used by another "
                                      "process", os.fspath(path))
        return real_unlink(path, dir_fd=dir_fd)

    os.unlink = os.remove = unlink


def _no_signals(self, *args, **kwargs):
    raise NotImplementedError


def activate(stub_missing: bool = False) -> None:
    """Make this interpreter look like Windows to the code imported from now on."""
    for name in PRELOAD:
        importlib.import_module(name)
    import asyncio
    import asyncio.unix_events

    for cls in (asyncio.unix_events._UnixSelectorEventLoop,):
        cls.add_signal_handler = _no_signals
        cls.remove_signal_handler = _no_signals
    import socket

    socket.socketpair = _socketpair
    _windows_pipes()
    import os

    os.add_dll_directory = _add_dll_directory  # type: ignore[attr-defined]
    _windows_mmap()
    asyncio.WindowsSelectorEventLoopPolicy = asyncio.DefaultEventLoopPolicy  # type: ignore[attr-defined]
    asyncio.WindowsProactorEventLoopPolicy = asyncio.DefaultEventLoopPolicy  # type: ignore[attr-defined]
    for module in REMOVED:
        importlib.import_module(module)
    _remove_posix()
    sys.meta_path.insert(0, _Finder(stub_missing))
    sys.platform = "win32"


class _CompiledStubs(importlib.abc.MetaPathFinder):
    """The tree's compiled extensions (``vllm._C``, ``vllm._moe_C``, ...): a build
    makes them, a source tree has none; asked for last, a stand-in is given."""

    def find_spec(self, name, path=None, target=None):
        package, _, last = name.rpartition(".")
        if package.partition(".")[0] in OWN and (last.endswith("_C") or last.startswith("_C_")):
            return importlib.util.spec_from_loader(name, _Loader(_stub), is_package=True)
        return None


class _StubAtEnd(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in sys.stdlib_module_names and name.partition(".")[0] not in OPTIONAL:
            return importlib.util.spec_from_loader(name, _Loader(_stub), is_package=True)
        return None


def load(root: str, target: str) -> types.ModuleType:
    """Import ``target``: a dotted module name, or a path of a file under ``root``."""
    sys.path.insert(0, root)
    if target.endswith(".py"):
        import os

        path = os.path.join(root, target)
        spec = importlib.util.spec_from_file_location(target[:-3].replace("/", ".").replace(os.sep, "."), path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def main(argv: list[str]) -> int:
    windows = "--windows" in argv
    stub = "--stub-missing" in argv
    then = argv[argv.index("--then") + 1] if "--then" in argv else None
    if "--own" in argv:  # another engine's package instead of vllm
        global OWN
        OWN = (argv[argv.index("--own") + 1],)
    root, target = [a for i, a in enumerate(argv)
                    if not a.startswith("--") and argv[i - 1] not in ("--then", "--own")]
    if windows:
        activate(stub)
    elif stub:
        sys.meta_path.append(_StubAtEnd())
    sys.meta_path.append(_CompiledStubs())
    try:
        module = load(root, target)
        if then is not None:  # code run in the module's namespace; its `result` is printed
            namespace = vars(module)
            exec(compile(then, "--then", "exec"), namespace)
            print(json.dumps({"ok": True, "result": repr(namespace.get("result"))}))
            return 0
    except BaseException as exc:  # noqa: BLE001 - reported, whatever it is
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{f.filename}:{f.lineno}" for f in reversed(tb) if root in f.filename), "")
        print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)[:500], "where": where}))
        return 0
    print(json.dumps({"ok": True}))
    return 0


def serve(preload: list[str]) -> int:
    """``--serve``: import the third-party packages ``preload`` names (under the real
    platform, as an import of the tree's modules would), then for each request line on
    stdin (JSON: ``{"argv": [...], "cwd": DIR, "timeout": SECONDS}``) fork a child that
    runs :func:`main` on ``argv`` in ``cwd`` as a fresh interpreter would, and answer one
    JSON line: ``{"stdout": ..., "stderr": ..., "rc": ...}`` (rc None: killed at the
    timeout). Each import starts from the same state, without paying for PyTorch's
    import again: most of the cost of importing a vLLM module."""
    import os
    import signal
    import tempfile
    import time

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not there: the children import what they find
            pass
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:  # the child: a fresh import of one module
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                code = 1
                try:
                    os.chdir(request["cwd"])
                    code = main(request["argv"])
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            deadline = time.monotonic() + request.get("timeout", 300)
            rc = None
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    rc = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.01)
            out.seek(0)
            err.seek(0)
            answer = {"stdout": out.read().decode("utf-8", "replace"),
                      "stderr": err.read().decode("utf-8", "replace")[-2000:], "rc": rc}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        sys.exit(serve(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
