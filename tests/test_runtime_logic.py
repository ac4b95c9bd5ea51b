"""The rewritten runtime code of real releases, executed with ``sys.platform`` set
to "win32" and to "linux".

Functions are taken from the rewritten files with libcst and run in a namespace
holding the real ``sys``, ``os``, ``multiprocessing``, ``socket`` and ``torch``.
What is stubbed: vLLM's own heavy modules and anything else a function names
that is not defined (a recording stand-in, listed by ``Namespace.stubbed``), and
``msvcrt`` (a stand-in that records calls: this machine is not Windows).
"""

from __future__ import annotations

import builtins
import collections
import enum
import functools
import multiprocessing
import os
import socket
import sys
import textwrap
import types
from unittest import mock

import libcst as cst
import libcst.matchers as m
import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.release


class Namespace(dict):
    """Globals for extracted code: builtins first, then a recording stand-in."""

    def __init__(self, **names):
        super().__init__(__builtins__=builtins, __name__="extracted", **names)
        self.stubbed: set[str] = set()

    def __missing__(self, key):
        if hasattr(builtins, key):
            return getattr(builtins, key)
        self.stubbed.add(key)
        self[key] = mock.MagicMock(name=key)
        return self[key]


def module_of(path) -> cst.Module:
    return cst.parse_module(path.read_bytes())


def source_of(module: cst.Module, name: str) -> str:
    """Source of the (first) function or class called ``name``, anywhere, dedented, undecorated."""
    node = next(n for n in m.findall(module, m.OneOf(m.FunctionDef(name=m.Name(name)), m.ClassDef(name=m.Name(name)))))
    return textwrap.dedent(module.code_for_node(node.with_changes(decorators=[])))


def run(code: str, ns: Namespace) -> Namespace:
    exec(compile(code, "extracted", "exec"), ns)
    return ns


@pytest.fixture
def platform(monkeypatch):
    def set_(name: str) -> None:
        monkeypatch.setattr(sys, "platform", name)
    return set_


def test_r2_zmq_path(ported, platform):
    mod = module_of(ported.root / "vllm/utils/network_utils.py")
    ns = Namespace(sys=sys, socket=socket, os=os, uuid4=__import__("uuid").uuid4,
                   envs=types.SimpleNamespace(VLLM_PORT=None, VLLM_RPC_BASE_PATH="/tmp/rpc"))
    for name in ("_get_open_port", "get_open_port", "get_open_zmq_ipc_path"):
        try:
            run(source_of(mod, name), ns)
        except StopIteration:
            assert name == "_get_open_port"
    platform("win32")
    path = ns["get_open_zmq_ipc_path"]()
    assert path.startswith("tcp://127.0.0.1:")
    port = int(path.rsplit(":", 1)[1])
    with socket.socket() as s:  # the port is free: it can be bound
        s.bind(("127.0.0.1", port))
    platform("linux")
    assert ns["get_open_zmq_ipc_path"]().startswith("ipc:///tmp/rpc/")


def test_r3_spawn_context(ported, platform):
    mod = module_of(ported.root / "vllm/utils/system_utils.py")
    ns = run(source_of(mod, "get_mp_context"),
             Namespace(sys=sys, multiprocessing=multiprocessing,
                       envs=types.SimpleNamespace(VLLM_WORKER_MULTIPROC_METHOD="fork")))
    platform("win32")
    assert ns["get_mp_context"]().get_start_method() == "spawn"
    platform("linux")
    assert ns["get_mp_context"]().get_start_method() == "fork"
    assert ns.stubbed <= {"_maybe_force_spawn", "_sync_visible_devices_env_vars", "_release_libgomp_threads"}


def fcntl_block(ported) -> tuple[str, str]:
    for path in sorted((ported.root / "vllm").rglob("*.py")):
        data = path.read_bytes()
        if b"_winport_flock" in data:
            mod = cst.parse_module(data)
            block = next(n for n in m.findall(mod, m.If()) if "class fcntl" in mod.code_for_node(n))
            return str(path), textwrap.dedent(mod.code_for_node(block))
    raise AssertionError("no guarded fcntl import in the tree")


def test_r1_locks_through_msvcrt_on_windows(ported, platform, tmp_path, monkeypatch):
    _, block = fcntl_block(ported)
    calls: list[tuple] = []
    busy = {"on": False}

    def locking(fd, mode, nbytes):
        calls.append((fd, mode, nbytes, os.lseek(fd, 0, os.SEEK_CUR)))
        if busy["on"] and mode == msvcrt.LK_NBLCK:
            raise OSError(36, "Resource deadlock avoided")

    msvcrt = types.SimpleNamespace(LK_UNLCK=0, LK_LOCK=1, LK_NBLCK=2, locking=locking)
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    platform("win32")
    fcntl = run(block, Namespace(sys=sys))["fcntl"]
    with open(tmp_path / "lock", "wb+") as fp:
        fp.write(b"data")
        fcntl.flock(fp, fcntl.LOCK_EX)
        fcntl.flock(fp, fcntl.LOCK_UN)
        assert fp.tell() == 4  # the file position is restored
        busy["on"] = True
        with pytest.raises(BlockingIOError):
            fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    fd = calls[0][0]
    assert calls == [(fd, 1, 1, 0), (fd, 0, 1, 0), (fd, 2, 1, 0)]  # byte 0: lock, unlock, try-lock


def test_r1_real_fcntl_on_linux(ported, platform, tmp_path):
    _, block = fcntl_block(ported)
    platform("linux")
    fcntl = run(block, Namespace(sys=sys))["fcntl"]
    assert isinstance(fcntl, types.ModuleType) and fcntl.__name__ == "fcntl"
    with open(tmp_path / "lock", "wb+") as a, open(tmp_path / "lock", "rb") as b:
        fcntl.flock(a, fcntl.LOCK_EX)
        with pytest.raises(BlockingIOError):
            fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(a, fcntl.LOCK_UN)
        fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_r4_inproc_client(ported, platform):
    mod = module_of(ported.root / "vllm/v1/engine/core_client.py")

    class SyncMPClient:
        def __init__(self, *a, **k): pass

    class InprocClient(SyncMPClient):
        pass

    ns = run(source_of(mod, "make_client"), Namespace(sys=sys, SyncMPClient=SyncMPClient,
                                                      InprocClient=InprocClient))
    args = dict(multiprocess_mode=True, asyncio_mode=False, vllm_config=None, executor_class=None, log_stats=False)
    platform("win32")
    assert type(ns["make_client"](**args)) is InprocClient
    platform("linux")
    assert type(ns["make_client"](**args)) is SyncMPClient


def backend_priorities(path, platform_name, platform):
    mod = module_of(path)
    fn = next(n for n in m.findall(mod, m.FunctionDef()) if n.name.value.endswith("backend_priorities"))
    names = {a.attr.value for a in m.findall(fn, m.Attribute(value=m.Name("AttentionBackendEnum")))}
    Enum = enum.Enum("AttentionBackendEnum", sorted(names))
    # the function's own `from vllm... import f` lines: stand-ins whose functions answer False
    stubs: dict[str, types.ModuleType] = {}
    for imp in m.findall(fn, m.ImportFrom()):
        dotted = mod.code_for_node(imp.module)
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            stubs.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
        for alias in imp.names:
            setattr(stubs[dotted], alias.name.value, lambda *a, **k: False)
    ns = Namespace(sys=sys, AttentionBackendEnum=Enum, cache=functools.cache)
    code = mod.code_for_node(fn)
    if "_winport_windows_backends" in code:
        run(source_of(mod, "_winport_windows_backends"), ns)
    with mock.patch.dict(sys.modules, stubs):
        run(textwrap.dedent(code), ns)
        platform(platform_name)
        cap = collections.namedtuple("DeviceCapability", "major minor")(8, 6)  # hashable, for @cache
        return [b.name for b in ns[fn.name.value](False, cap)], [b.name for b in ns[fn.name.value](True, cap)]


def test_r8_flash_attn_chosen_on_windows(ported, platform):
    win, win_mla = backend_priorities(ported.root / "vllm/platforms/cuda.py", "win32", platform)
    assert win[0] == "FLASH_ATTN"
    assert not [b for b in win + win_mla if any(w in b for w in ("TRITON", "FLEX", "FLASHINFER"))]
    linux = backend_priorities(ported.root / "vllm/platforms/cuda.py", "linux", platform)
    pristine = backend_priorities(ported.pristine / "vllm/platforms/cuda.py", "linux", platform)
    assert linux == pristine and "TRITON_ATTN" in linux[0]


def requirements(path, env):
    out = set()
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                out.add(req.name)
    return out


def test_r9_markers(ported):
    win = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
    linux = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
    new, old = ported.root / "requirements/cuda.txt", ported.pristine / "requirements/cuda.txt"
    assert requirements(new, linux) == requirements(old, linux)
    assert "flashinfer-python" in requirements(new, linux) and "flashinfer-python" not in requirements(new, win)
    assert not [n for n in requirements(new, win) if n.startswith(("flashinfer", "nvidia-cutlass-dsl"))]
    kept = {line for line in old.read_text().splitlines() if "flashinfer" not in line and "cutlass-dsl" not in line
            and "tvm-ffi" not in line}
    assert kept <= set(new.read_text().splitlines())  # comments and every other line untouched


def test_r5_world_of_one_on_fake_backend(ported, platform):
    torch = pytest.importorskip("torch")
    import torch.distributed as dist

    mod = module_of(ported.root / "vllm/distributed/parallel_state.py")
    config = types.ModuleType("vllm.config")
    config.get_current_vllm_config_or_none = lambda: None
    world = types.SimpleNamespace(world_size=1, cpu_group=None, device_group=None)
    envs = types.SimpleNamespace(LOCAL_RANK=0, VLLM_DISTRIBUTED_USE_SPLIT_GROUP=False)
    ns = Namespace(sys=sys, os=os, torch=torch, envs=envs, _WORLD=None, _NODE_COUNT=None, _INNER_DP_WORLD=None,
                   init_world_group=lambda ranks, local_rank, backend: world, _node_count=lambda group: 1)
    run(source_of(mod, "_get_cpu_backend"), ns)
    run(source_of(mod, "init_distributed_environment"), ns)

    platform("linux")
    assert ns["_get_cpu_backend"]() == "gloo"
    platform("win32")
    assert ns["_get_cpu_backend"]() == "fake"
    try:
        with mock.patch.dict(sys.modules, {"vllm.config": config}):
            ns["init_distributed_environment"](world_size=1, rank=0, distributed_init_method="env://",
                                               local_rank=0, backend="nccl")
        assert dist.is_initialized() and dist.get_backend() == "fake" and dist.get_world_size() == 1
        group = dist.new_group([0], backend=ns["_get_cpu_backend"]())
        assert dist.get_backend(group) == "fake"
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    # GroupCoordinator's CPU group goes through the helper
    coordinator = source_of(mod, "GroupCoordinator")
    assert 'backend="gloo"' not in coordinator and "_get_cpu_backend()" in coordinator
