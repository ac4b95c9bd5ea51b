"""The code runtime transforms insert, executed: each rewritten fixture module is loaded
in a fresh interpreter under the simulated Windows standard library (tests/winsim.py)
and on plain Linux, and the inserted stand-ins are called."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WINSIM = Path(__file__).with_name("winsim.py")


def call(case: str, path: str, code: str, windows: bool, tree: str = "after", root: Path | None = None) -> dict:
    """Load ``path`` of the fixture case's ``tree`` (or of ``root``, a copy of it) and run ``code``."""
    args = [sys.executable, str(WINSIM), "--stub-missing", *(["--windows"] if windows else []),
            str(root or FIXTURES / case / tree), path, "--then", textwrap.dedent(code)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


UVLOOP_RUN = """
    import asyncio
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        got = loop.create_future()
        loop.add_reader(a.fileno(), lambda: got.set_result(a.recv(5)))  # what pyzmq's asyncio sockets need
        b.send(b"hello")
        data = await got
        loop.remove_reader(a.fileno())
        a.close(); b.close()
        return data, type(loop).__name__

    result = uvloop.run(main())
    loop = uvloop.new_event_loop()
    result = (result, type(loop).__name__, type(uvloop).__name__, uvloop.__module__)
    loop.close()
"""


@pytest.mark.parametrize("case, path", [
    ("runtime/uvloop-winloop/module-level", "vllm/entrypoints/cli/serve.py"),
])
def test_uvloop_stand_in_runs_a_selector_loop_on_windows(case, path):
    result = call(case, path, UVLOOP_RUN, windows=True)
    assert result["ok"], result
    # no winloop here: the asyncio stand-in, a selector loop that has add_reader
    assert result["result"] == "((b'hello', '_UnixSelectorEventLoop'), '_UnixSelectorEventLoop', 'type', " \
                               "'vllm.entrypoints.cli.serve')"


def test_uvloop_import_is_unchanged_on_linux():
    # no uvloop installed beside the tests: on Linux the module imports uvloop as it always did
    result = call("runtime/uvloop-winloop/module-level", "vllm/entrypoints/cli/serve.py",
                  "result = uvloop.__name__", windows=False)
    assert result["ok"] and result["result"] == "'uvloop'"  # the stubbed module, imported by its own name


SIGNALS = "runtime/posix-signals/server-and-tools", "vllm/entrypoints/launcher.py"

KILL_TREE = """
    import subprocess, sys, time
    # a process with a child of its own, as the API server and its engine
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    import psutil
    deadline = time.time() + 20
    while not psutil.Process(proc.pid).children() and time.time() < deadline:
        time.sleep(0.05)
    child = psutil.Process(proc.pid).children()[0]
    stop_server(proc)
    proc.wait(timeout=20)
    child.wait(timeout=20)
    stop_server(proc)  # gone: ProcessLookupError, which the caller suppresses
    result = (proc.returncode, child.is_running())
"""

HANDLERS = """
    import asyncio, signal

    async def main():
        event = asyncio.Event()
        # raised in the loop's thread: a signal is noticed when the loop next wakes (uvicorn's
        # server loop ticks every 0.1 s)
        asyncio.get_running_loop().call_later(0.2, signal.raise_signal, signal.SIGTERM)
        await asyncio.wait_for(serve(event, "term"), timeout=10)
        return event.is_set()

    set_by_signal = asyncio.run(main())
    seen = []
    _register_signal_handlers(lambda *a: seen.append(a[0]))
    signal.raise_signal(signal.SIGINT)
    result = (set_by_signal, [int(s) for s in seen], signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_killpg_kills_the_process_tree(windows):
    result = call(*SIGNALS, KILL_TREE, windows=windows)
    assert result["ok"], result
    assert result["result"] == "(-9, False)"  # killed (SIGKILL on Linux, psutil's kill here), child too


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_killpg_of_a_session_leader_kills_its_group(windows):
    code = KILL_TREE.replace("stop_server(proc)", "abort_group(proc.pid)")
    result = call(*SIGNALS, code, windows=windows)
    assert result["ok"], result
    assert result["result"] == "(-9, False)"


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_signal_handlers_reach_the_loop(windows):
    result = call(*SIGNALS, HANDLERS, windows=windows)
    assert result["ok"], result
    assert result["result"] == "(True, [2], True)"


def test_sigkill_falls_back_to_sigterm_where_missing():
    code = "import signal\nresult = (hasattr(signal, 'SIGKILL'), kill_children.__code__.co_names)"
    result = call(*SIGNALS, code, windows=True)
    assert result["ok"] and result["result"].startswith("(False,")


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_scheduler_calls_answer_on_windows(windows):
    code = "import os\nsched_yield()\nresult = allowed_cpus() == (os.cpu_count() if hasattr(os, 'sched_getaffinity') " \
           "is False else len(os.sched_getaffinity(0)))"
    result = call("runtime/posix-syscalls/distributed-utils", "vllm/distributed/utils.py", code, windows=windows)
    assert result["ok"] and result["result"] == "True", result


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_user_ids_answer_as_windows_stat_does(windows):
    # Windows' os.stat() reports st_uid 0: the id calls answer 0 there; Linux asks the system
    code = """
import os, tempfile
with tempfile.NamedTemporaryFile() as f:
    mine = owned_by_me(f.name) if hasattr(os, "getuid") else None  # the simulation keeps Linux owners
result = (privileged(["ls"]), hasattr(os, "geteuid"), mine)
"""
    result = call("runtime/posix-syscalls/distributed-utils", "vllm/distributed/utils.py", code, windows=windows)
    assert result["ok"], result
    if windows:
        assert result["result"] == "(['ls'], False, None)"
    else:
        import os
        expected = ["ls"] if os.geteuid() == 0 else ["sudo", "-n", "ls"]
        assert result["result"] == f"({expected!r}, True, True)"


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_shared_files_go_to_the_temp_folder_on_windows(windows):
    code = """
    import sys, tempfile
    region = SharedOffloadRegion("e0", 2)
    result = (sys.platform, region.mmap_path == tempfile.gettempdir() + "/vllm_offload_e0.mmap",
              region.mmap_path, region.segments[1].endswith(".mmap.1"))
    """
    result = call("runtime/dev-shm/offload-broadcast-snapshot", "vllm/v1/kv_offload/cpu/shared_offload_region.py",
                  code, windows=windows)
    assert result["ok"], result
    if windows:
        assert result["result"].startswith("('win32', True,") and result["result"].endswith("True)")
    else:
        assert result["result"] == "('linux', False, '/dev/shm/vllm_offload_e0.mmap', True)"


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_shm_free_space_check_reads_a_folder_that_exists(windows):
    code = "import os\nresult = (SHM_PATH, os.path.isdir(SHM_PATH), check_shm_free_space(1))"
    result = call("runtime/dev-shm/offload-broadcast-snapshot",
                  "vllm/distributed/device_communicators/shm_broadcast.py", code, windows=windows)
    assert result["ok"], result
    assert result["result"].endswith(", True, True)")
    assert ("/dev/shm" in result["result"]) != windows


SENTINELS = "runtime/zmq-sentinels/engine-startup", "vllm/v1/engine/utils.py"

ENGINE_STARTUP = """
    import multiprocessing, sys, time
    import zmq

    made = []
    _helper = globals().get("_winport_sentinel_poller")
    if _helper:
        globals()["_winport_sentinel_poller"] = lambda: made.append(1) or _helper()
    spawn = multiprocessing.get_context("spawn")  # Windows' only start method
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    address = f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}"

    # an engine that dies during start-up stops the wait
    dead = spawn.Process(target=sys.exit, args=(3,), name="EngineCore_DP0")
    dead.start()
    start = time.monotonic()
    try:
        wait_for_engine_startup(router, 1, CoreEngineProcManager([dead]), None)
        died = "no error"
    except RuntimeError as error:
        died = str(error).split(".")[0]  # the exit code may not be reaped yet when the sentinel fires
    died_after = time.monotonic() - start

    # a live engine's hello is received; the live coordinator does not stop the wait
    live = spawn.Process(target=time.sleep, args=(60,), name="DPCoordinator")
    live.start()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(address)
    dealer.send(b"HELLO")
    hellos = wait_for_engine_startup(router, 1, CoreEngineProcManager([]), live)

    # a poll with nothing to report lasts its timeout; an exited frontend is named
    start = time.monotonic()
    quiet = watch_frontends(router, [live], 300)
    quiet_for = time.monotonic() - start
    live.terminate(); live.join()
    exited = watch_frontends(router, [live], 5000)
    dealer.close(); router.close(); ctx.term()
    result = (died, died_after < 10, hellos, quiet, quiet_for >= 0.29, exited, len(made))
"""


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_engine_startup_wait_watches_processes(windows):
    result = call(*SENTINELS, ENGINE_STARTUP, windows=windows)
    assert result["ok"], result
    # the same outcomes on both; on Windows through the helper's poller (4 pollers made)
    assert result["result"] == ("('Engine core initialization failed', True, [b'HELLO'], [], True, ['DPCoordinator'], "
                                f"{4 if windows else 0})")


LOOKUP = """
    import zmq

    ctx = zmq.Context()
    server = LookupServer(ctx, 7, 0)
    client = LookupClient(ctx, 7, 0)  # builds the same name on its own, as another process would
    client.socket.send(b"lookup")
    asked = server.socket.recv()
    server.socket.send(b"found")
    answer = client.socket.recv()
    endpoint = server.socket.getsockopt(zmq.LAST_ENDPOINT).decode()
    client.socket.close(); server.socket.close(); ctx.term()
    result = (asked, answer, endpoint.split("://")[0], FALLBACK_PATH.split("://")[0])
"""


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_named_ipc_endpoints_meet_over_loopback_on_windows(windows):
    result = call("runtime/zmq-ipc-endpoints/lookup-socket",
                  "vllm/distributed/kv_transfer/kv_connector/v1/mooncake/store/worker.py", LOOKUP, windows=windows)
    assert result["ok"], result
    scheme = "tcp" if windows else "ipc"
    assert result["result"] == f"(b'lookup', b'found', '{scheme}', '{scheme}')"


@pytest.mark.parametrize("windows", [True, False], ids=["win32", "linux"])
def test_proc_readers_take_their_not_found_path_on_windows(windows):
    code = "result = (find_loaded_library('libc'), get_memory_affinity())"
    result = call("runtime/proc-files/readers", "vllm/utils/system_utils.py", code, windows=windows)
    assert result["ok"], result
    if windows:  # no /proc: the answers the callers handle when the library or line is not there
        assert result["result"] == "(None, [])"
    else:  # Linux reads /proc as before: the C library is mapped, the affinity names a node
        library, affinity = result["result"][1:-1].split(", ", 1)
        assert "libc" in library and affinity != "[]", result


READY_PIPES = """
    import multiprocessing

    handles, writers = [], []
    for rank in range(3):
        reader, writer = multiprocessing.Pipe(duplex=False)
        handles.append(UnreadyWorkerProcHandle(None, rank, reader))
        writers.append(writer)
    for writer in reversed(writers):
        writer.send({"status": "READY"})
    result = (sorted(wait_for_ready(handles)), type(handles[0].ready_pipe).__name__)
"""


@pytest.mark.parametrize("windows", [True, False])
def test_worker_ready_pipes_are_accepted_on_windows(windows):
    """The engine's wait for its workers, on real pipes: Windows' PipeConnection
    fails the original check and passes the rewritten one; Linux passes both."""
    path = "vllm/v1/executor/multiproc_executor.py"
    kind = "PipeConnection" if windows else "Connection"
    after = call("runtime/pipe-connection/worker-ready-pipes", path, READY_PIPES, windows)
    assert after == {"ok": True, "result": repr(([0, 1, 2], kind))}
    before = call("runtime/pipe-connection/worker-ready-pipes", path, READY_PIPES, windows, tree="before")
    if windows:
        assert before["ok"] is False and before["error"] == "AssertionError"
    else:
        assert before == after


@pytest.mark.parametrize("windows", [True, False])
def test_worker_start_method_defaults_to_spawn_on_windows_only(windows):
    code = """
    import os
    os.environ.pop("VLLM_WORKER_MULTIPROC_METHOD", None)
    unset = VLLM_WORKER_MULTIPROC_METHOD = environment_variables["VLLM_WORKER_MULTIPROC_METHOD"]()
    os.environ["VLLM_WORKER_MULTIPROC_METHOD"] = "fork"
    result = (unset, environment_variables["VLLM_WORKER_MULTIPROC_METHOD"]())
    """
    out = call("runtime/start-method-default/envs-settings", "vllm/envs.py", code, windows)
    assert out == {"ok": True, "result": repr(("spawn" if windows else "fork", "fork"))}


@pytest.mark.parametrize("windows", [True, False])
def test_cuda_dll_folders_are_added_before_the_extensions_on_windows(windows, tmp_path, monkeypatch):
    """CUDA 13 (bin\\x64 and bin) named by CUDA_PATH, an older toolkit (bin only) by
    CUDA_PATH_V12_8, a CUDA_HOME that does not exist: only folders that exist are
    added, each once, and only on Windows."""
    new, old = tmp_path / "v13.0", tmp_path / "v12.8"
    for folder in (new / "bin" / "x64", new / "bin", old / "bin"):
        folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("CUDA_PATH", str(new))
    monkeypatch.setenv("CUDA_PATH_V13_0", str(new))
    monkeypatch.setenv("CUDA_PATH_V12_8", str(old))
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "missing"))
    out = call("runtime/cuda-dll-directories/package-init", "vllm", "result = [d.path for d in "
               "_WINPORT_DLL_DIRECTORIES]", windows)
    want = [str(new / "bin" / "x64"), str(new / "bin"), str(old / "bin")] if windows else []
    assert out == {"ok": True, "result": repr(want)}


@pytest.mark.parametrize("windows", [True, False])
def test_raising_the_open_file_limit_runs_on_windows(windows):
    """SGLang's shape: `import resource` at module level and a set_ulimit() at start-up.
    The original module does not import on Windows; the rewritten one imports and
    set_ulimit() runs (nothing to raise); Linux raises the real limit as before."""
    code = """
    set_ulimit(64)
    result = (resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 64 or resource.getrlimit(resource.RLIMIT_NOFILE)[0]
              == resource.RLIM_INFINITY, type(resource).__name__)
    """
    case, path = "runtime/resource-limits/module-level-import", "vllm/utils/common.py"
    after = call(case, path, code, windows)
    assert after == {"ok": True, "result": repr((True, "type" if windows else "module"))}
    before = call(case, path, code, windows, tree="before")
    if windows:
        assert before["ok"] is False and before["error"] == "ModuleNotFoundError" and "resource" in before["message"]
    else:
        assert before == after


REGION = """
import os, sys, time, pathlib
path, role = {path!r}, {role!r}
region = SharedOffloadRegion(path, num_blocks=4, cpu_page_size=4096)
if role == "creator":
    region._base[:8] = torch.arange(8, dtype=torch.int8)
    pathlib.Path(path + ".written").touch()
    while not os.path.exists(path + ".read"):
        time.sleep(0.01)
    got = region._base[8:16].tolist()
    unlink_while_mapped = "skipped"
    if sys.platform == "win32":  # Windows refuses to unlink a mapped file
        try:
            os.unlink(path)
            unlink_while_mapped = "unlinked"
        except PermissionError:
            unlink_while_mapped = "PermissionError"
    region.cleanup()
    result = (got, unlink_while_mapped, os.path.exists(path))
else:
    while not os.path.exists(path + ".written"):
        time.sleep(0.01)
    got = region._base[:8].tolist()
    region._base[8:16] = torch.full((8,), 7, dtype=torch.int8)
    region.cleanup()
    pathlib.Path(path + ".read").touch()
    result = got
"""


@pytest.mark.parametrize("windows", [True, False])
def test_kv_offload_region_is_shared_by_two_processes(windows, tmp_path):
    """The CPU offload region's file, created by one process and joined by another: each
    sees the other's writes through its mapping, and the creator removes the file after
    unmapping it. Under simulated Windows the original cannot map at all (mmap.MAP_SHARED)."""
    from concurrent.futures import ThreadPoolExecutor

    case, path = "runtime/mmap-access/offload-region", "vllm/v1/kv_offload/cpu/shared_offload_region.py"
    region = str(tmp_path / "vllm_offload_test.mmap")
    with ThreadPoolExecutor(2) as pool:
        creator = pool.submit(call, case, path, REGION.format(path=region, role="creator"), windows)
        time.sleep(0.5)  # the joiner finds the file created (and waits for its size)
        joiner = pool.submit(call, case, path, REGION.format(path=region, role="joiner"), windows)
        made, joined = creator.result(), joiner.result()
    assert joined == {"ok": True, "result": repr(list(range(8)))}, joined
    assert made == {"ok": True, "result": repr(([7] * 8, "PermissionError" if windows else "skipped", False))}, made
    before = call(case, path, REGION.format(path=str(tmp_path / "other.mmap"), role="creator").split("if role")[0],
                  windows, tree="before")
    if windows:
        assert before["ok"] is False and before["error"] == "AttributeError" and "MAP_SHARED" in before["message"]
    else:
        assert before["ok"] is True


MODEL_IDS = ["Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B-Instruct:tp2", 'org/a<b>c"d|e?f*g\\h\x01',
             "deepseek-ai/DeepSeek-V3@" + "x" * 300, "deepseek-ai/DeepSeek-V3@" + "x" * 299 + "y"]


@pytest.mark.parametrize("windows", [True, False])
def test_offload_file_names_from_model_ids_are_valid_windows_names(windows):
    """Engine ids that carry model ids: on Windows each becomes a file name with no
    character Windows paths reject, of bounded length, distinct, and creatable in the
    temporary folder; on Linux the names are the original ones."""
    code = f"""
    import os
    ids = {MODEL_IDS!r}
    paths = [SharedOffloadRegion(i, 1).mmap_path for i in ids]
    made = []
    if sys.platform == "win32":
        for p in paths:
            open(p, "wb").close()
            made.append(os.path.exists(p))
            os.remove(p)
    result = ([os.path.relpath(p, _WINPORT_SHM_DIR) for p in paths], made)
    """
    out = call("runtime/dev-shm/offload-broadcast-snapshot", "vllm/v1/kv_offload/cpu/shared_offload_region.py",
               "import sys\n" + textwrap.dedent(code), windows)
    assert out["ok"], out
    names, made = eval(out["result"])  # noqa: S307 - the repr of a tuple of lists of str and bool
    if windows:
        assert made == [True] * len(MODEL_IDS)
        assert all(not set(n) & set('<>:"/\\|?*') and all(ord(c) >= 32 for c in n) for n in names), names
        assert max(map(len, names)) <= 96 + len("vllm_offload_.mmap") and len(set(names)) == len(names)
        assert names[0] == "vllm_offload_Qwen_Qwen2.5-7B-Instruct.mmap"
    else:
        assert names == [f"vllm_offload_{i}.mmap" for i in MODEL_IDS] and made == []


@pytest.mark.parametrize("windows", [True, False])
def test_the_rust_frontend_binary_is_found_under_its_platform_name(windows, tmp_path):
    """A Windows build installs vllm-rs.exe: the ported lookup finds it there, and Linux
    still finds vllm-rs; the original lookup misses the .exe."""
    import shutil

    code = """
    import os
    os.environ["VLLM_USE_RUST_FRONTEND"] = "1"
    result = os.path.basename(_resolve_rust_cli_path())
    """
    binary = "vllm-rs.exe" if windows else "vllm-rs"
    out = {}
    for tree in ("after", "before"):
        root = tmp_path / tree
        shutil.copytree(FIXTURES / "runtime/exe-suffix/rust-frontend" / tree, root)
        (root / "vllm" / binary).write_bytes(b"MZ" if windows else b"#!/bin/sh\n")
        (root / "vllm" / binary).chmod(0o755)
        out[tree] = call("", "vllm/envs.py", code, windows, root=root)
    assert out["after"] == {"ok": True, "result": repr(binary)}
    if windows:
        assert out["before"]["ok"] is False and out["before"]["error"] == "FileNotFoundError"
    else:
        assert out["before"] == out["after"]


@pytest.mark.parametrize("windows", [True, False])
def test_sampling_seeds_draw_the_same_numbers_with_an_explicit_int64(windows):
    """`dtype=np.int64` is what numpy draws by default on Linux (and with numpy 2 on
    Windows): the same seeds, seeded alike, before and after the rewrite. Without it,
    numpy < 2 on Windows draws int32, which the 64-bit bounds overflow."""
    code = """
    np.random.seed(7)
    s = SamplingStates(4)
    s.add_request(0, None)
    s.add_request(1, None)
    try:
        np.random.randint(_NP_INT64_MIN, _NP_INT64_MAX, dtype=np.int32)  # numpy < 2's default on Windows
        narrow = "drawn"
    except ValueError:
        narrow = "ValueError"
    result = (s.seeds[:2].tolist(), narrow)
    """
    case, path = "runtime/randint-dtype/sampling-seeds", "vllm/v1/worker/gpu/sample/states.py"
    after, before = call(case, path, code, windows), call(case, path, code, windows, tree="before")
    assert after["ok"] and after == before, (after, before)
    seeds, narrow = eval(after["result"])  # noqa: S307 - the repr of a tuple of a list of ints and a str
    assert narrow == "ValueError" and len(set(seeds)) == 2 and any(abs(x) > 2**31 for x in seeds)


@pytest.mark.parametrize("windows", [True, False])
def test_flashinfer_settings_default_off_on_windows_only(windows):
    code = """
    import os
    names = ["VLLM_USE_FLASHINFER_SAMPLER", "VLLM_BLOCKSCALE_FP8_GEMM_FLASHINFER"]
    for name in names:
        os.environ.pop(name, None)
    unset = [bool(environment_variables[n]()) for n in names]
    for name in names:
        os.environ[name] = "1"
    chosen = [bool(environment_variables[n]()) for n in names]
    result = (unset, chosen)
    """
    out = call("runtime/flashinfer-defaults/envs-settings", "vllm/envs.py", code, windows)
    assert out == {"ok": True, "result": repr(([not windows] * 2, [True, True]))}
    before = call("runtime/flashinfer-defaults/envs-settings", "vllm/envs.py", code, windows, tree="before")
    assert before == {"ok": True, "result": repr(([True, True], [True, True]))}


@pytest.mark.parametrize("windows", [True, False])
def test_slot_mapping_without_triton_runs_the_torch_path_on_windows_only(windows, tmp_path):
    """With `vllm.triton_utils.HAS_TRITON` false, Windows computes the slots with torch
    (the values of the kernel's arithmetic); Linux still launches the kernel (here a
    stand-in that raises), as before the port."""
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "runtime/slot-mapping-fallback/launcher-object/after", root)
    (root / "vllm/triton_utils").mkdir(parents=True)
    (root / "vllm/triton_utils/__init__.py").write_text("HAS_TRITON = False\ntl = triton = None\n")
    (root / "vllm/v1/attention/backends").mkdir(parents=True)
    (root / "vllm/v1/attention/backends/utils.py").write_text("PAD_SLOT_ID = -1\n")
    code = """
    import torch
    table = torch.tensor([[7, 3, 9], [5, 1, 2]], dtype=torch.int32)
    slots = torch.full((8,), -7777, dtype=torch.int64)
    bt = BlockTable(4, 8, table, slots)
    bt.compute_slot_mapping(2, torch.tensor([0, 3, 6], dtype=torch.int32),
                            torch.tensor([2, 3, 4, 0, 1, 7], dtype=torch.int64))
    result = slots.tolist()
    """
    out = call("", "vllm/v1/worker/block_table.py", code, windows, root=root)
    if windows:  # request 0: positions 2, 3 in block 7, 4 in block 3; request 1: 0, 1 in block 5, 7 in block 1
        assert out == {"ok": True, "result": repr([30, 31, 12, 20, 21, 7, -1, -1])}, out
    else:
        assert out["ok"] is False and out["error"] == "RuntimeError" and "Triton" in out["message"]


DRIVER_STAND_IN = '''\
"""cuda.bindings.driver as far as the offload copy uses it: copies are memmoves of host memory."""
import ctypes
import enum


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1


calls = []
fail_at = None


def cuMemcpyAsync(dst, src, size, stream):
    calls.append("copy")
    if fail_at is not None and calls.count("copy") - 1 == fail_at:
        return (CUresult.CUDA_ERROR_INVALID_VALUE,)
    ctypes.memmove(int(dst), int(src), int(size))
    return (CUresult.CUDA_SUCCESS,)


def _batch(dsts, srcs, sizes, count, attrs, attrs_idx, num_attrs, fail_idx, stream):
    calls.append("batch")
    for i in range(count):
        addr = lambda base: ctypes.c_uint64.from_address(base + 8 * i).value
        ctypes.memmove(addr(dsts), addr(srcs), addr(sizes))
    return 0


_BATCH = ctypes.CFUNCTYPE(ctypes.c_uint, *([ctypes.c_void_p] * 3), ctypes.c_size_t, ctypes.c_void_p,
                          ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p)(_batch)


def cuGetProcAddress(name, version, flags):
    assert name == b"cuMemcpyBatchAsync"
    return CUresult.CUDA_SUCCESS, ctypes.cast(_BATCH, ctypes.c_void_p).value, 0
'''


@pytest.mark.parametrize("windows", [True, False])
def test_offload_block_copies_run_one_by_one_on_windows_only(windows, tmp_path):
    """The batched KV-offload copy (runtime/memcpy-batch-serial): Windows issues one
    cuMemcpyAsync per block, Linux the one batched call, and both leave the same bytes
    in the destination; a failing copy names its index as the batched call does."""
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "runtime/memcpy-batch-serial/entry-point-and-attrs/after", root)
    (root / "cuda/bindings").mkdir(parents=True)
    (root / "cuda/__init__.py").write_text("")
    (root / "cuda/bindings/__init__.py").write_text("")
    (root / "cuda/bindings/driver.py").write_text(DRIVER_STAND_IN)
    code = """
    import ctypes
    import numpy as np
    from cuda.bindings import driver

    rng = np.random.default_rng(7)
    block = 48
    src = rng.integers(0, 256, size=10 * block, dtype=np.uint8)
    dst = np.zeros(12 * block, dtype=np.uint8)
    pairs = [(3, 0), (9, 11), (0, 5), (4, 4)]
    src_addrs = np.array([src.ctypes.data + s * block for s, _ in pairs], dtype=np.uint64)
    dst_addrs = np.array([dst.ctypes.data + d * block for _, d in pairs], dtype=np.uint64)
    sizes = np.full(len(pairs), block, dtype=np.uint64)
    copy_blocks(src_addrs, dst_addrs, sizes, ctypes.c_uint(1), 1234)
    expected = np.zeros_like(dst)
    for s, d in pairs:
        expected[d * block:(d + 1) * block] = src[s * block:(s + 1) * block]
    same = bool((dst == expected).all())
    calls = list(driver.calls)
    driver.calls.clear()
    driver.fail_at = 2
    try:
        copy_blocks(src_addrs, dst_addrs, sizes, ctypes.c_uint(1), 1234)
        failure = None
    except RuntimeError as e:
        failure = str(e)
    result = (same, calls, failure)
    """
    out = call("", "vllm/v1/simple_kv_offload/cuda_mem_ops.py", code, windows, root=root)
    assert out["ok"], out
    if windows:
        assert out["result"] == repr((True, ["copy"] * 4, "batch memcpy failed: err=1 failIdx=2"))
    else:
        assert out["result"] == repr((True, ["batch"], None))


@pytest.mark.parametrize("windows", [True, False])
def test_offload_loads_stay_on_the_copy_engine_on_windows_only(windows, tmp_path):
    """runtime/host-pointer-kernels: with Triton present, Linux loads small blocks with the
    Triton kernel that reads host pointers; Windows takes the copy engine path."""
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "runtime/host-pointer-kernels/swap-selection/after", root)
    stubs = {
        "vllm/_custom_ops.py": "def swap_blocks_batch(*args):\n    pass\n",
        "vllm/platforms/__init__.py": "class _P:\n    def is_xpu(self): return False\n"
                                      "    def is_rocm(self): return False\ncurrent_platform = _P()\n",
        "vllm/triton_utils/__init__.py": "HAS_TRITON = True\nclass triton:\n    next_power_of_2 = staticmethod("
                                         "lambda n: 1 << (n - 1).bit_length())\n",
        "vllm/v1/kv_offload/cpu/swap_blocks_triton.py": "THRESHOLD_BYTES = 28 * 1024\n"
                                                        "def swap_blocks_batch(*args, bytes_per_chunk):\n    pass\n",
    }
    for path, text in stubs.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    code = """
    chosen = _select_swap_blocks_fn([4096, 4096], gpu_to_cpu=False)
    stores = _select_swap_blocks_fn([4096], gpu_to_cpu=True)
    result = (getattr(chosen, "func", chosen).__module__, getattr(chosen, "keywords", None), stores.__module__)
    """
    out = call("", "vllm/v1/kv_offload/cpu/gpu_worker.py", code, windows, root=root)
    assert out["ok"], out
    if windows:
        assert out["result"] == repr(("vllm._custom_ops", None, "vllm._custom_ops"))
    else:
        assert out["result"] == repr(("vllm.v1.kv_offload.cpu.swap_blocks_triton", {"bytes_per_chunk": 4096},
                                      "vllm._custom_ops"))
