"""Start the OpenAI server of a ported tree, without a GPU, under the simulated
Windows standard library (tests/winsim.py), and say how far it gets.

    python tools/serve_check.py --python ENV/bin/python ROOT [--linux] [--json FILE]

ENV is an environment made by tools/import_env.py (the release's dependencies, CPU
PyTorch). In a fresh interpreter, `vllm.entrypoints.cli.serve` is imported and the
server is started the way `vllm serve` starts it, one stage after another:

1. `arguments`: with vLLM's CPU platform as the current one (no GPU here),
   `make_arg_parser` parses `--model ... --host 127.0.0.1 --port 0`;
2. `server socket`: `setup_server(args)` binds the socket and sets the SIGTERM
   handler and the file limit;
3. `event loop`: `uvloop.run(...)` of the ported `cli/serve.py` starts a loop (on
   Windows without winloop: asyncio's selector loop);
4. `app`: `build_app(args)` makes the FastAPI app with its routes;
5. `app state`: `init_app_state` with a mocked engine client (no engine, no
   model): how far vLLM's own objects go with a stand-in engine;
6. `HTTP server`: `serve_http` (uvicorn) answers `GET /health` and `GET /version`;
7. `shutdown`: SIGINT stops the server through the handler it registered with
   `loop.add_signal_handler` (ported to `signal.signal` on Windows);
8. `engine-core transport`: the engine-core client's sockets
   (`get_open_zmq_ipc_path` + `make_zmq_socket` on a `zmq.asyncio` context, as
   `AsyncMPClient` makes them) carry a message on the running loop.

A stage that fails stops the ones after it, except `app state`: the server then
starts with the mocked engine alone. It prints one line per stage; `--json` keeps
the verdicts (docs/verification.md's table: `--table FILES`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

WINSIM = Path(__file__).resolve().parents[1] / "tests" / "winsim.py"
STAGES = ("arguments", "server socket", "event loop", "app", "app state", "HTTP server", "shutdown",
          "engine-core transport")

# Run by winsim in the namespace of vllm.entrypoints.cli.serve (so `uvloop` is the ported one).
START = r'''
import asyncio, faulthandler, importlib, inspect, signal, sys, traceback, warnings
from unittest import mock

faulthandler.dump_traceback_later(240, exit=True)  # a stage that hangs shows where

warnings.simplefilter("ignore")
stages = []


class _Stop(Exception):
    pass


def _failed(name, exc):
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{f.filename.split('/vllm/', 1)[-1]}:{f.lineno}" for f in reversed(frames)
                  if "/vllm/" in f.filename), "")
    stages.append({"stage": name, "ok": False, "error": type(exc).__name__, "message": str(exc)[:300],
                   "where": "vllm/" + where if where else ""})


def _ok(name, detail=""):
    stages.append({"stage": name, "ok": True, "detail": detail})


def _first(*names):
    for name in names:
        module, _, attr = name.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"none of {names}")


def _call(fn, *args, **optional):
    """fn(*args, **those of ``optional`` it takes)."""
    params = inspect.signature(fn).parameters
    return fn(*args, **{k: v for k, v in optional.items() if k in params})


async def _get(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return data.split(b"\r\n", 1)[0].decode()


def _engine():
    engine = mock.MagicMock(name="engine_client")
    for name in ("check_health", "is_sleeping", "reset_prefix_cache", "do_log_stats", "get_tokenizer"):
        setattr(engine, name, mock.AsyncMock(name=name, return_value=False))
    engine.get_supported_tasks = mock.AsyncMock(return_value=("generate",))
    engine.errored = False
    engine.is_running = True
    engine.dead_error = None
    return engine


async def _serve(args, sock):
    name = "app"
    try:
        api = importlib.import_module("vllm.entrypoints.openai.api_server")
        app = _call(api.build_app, args, supported_tasks=("generate",))
        _ok(name, f"{len(app.routes)} routes")
        name = "app state"
        engine = _engine()
        try:
            await _call(api.init_app_state, engine, app.state, args, supported_tasks=("generate",))
            _ok(name)
        except Exception as exc:  # the mocked engine is not a real one: say where it stops
            _failed(name, exc)
        app.state.engine_client = engine
        name = "HTTP server"
        serve_http = _first("vllm.entrypoints.launchers.launcher.serve_http", "vllm.entrypoints.launcher.serve_http")
        port = sock.getsockname()[1]
        # serve_http returns once a signal stops the server: it runs as a task meanwhile
        serving = asyncio.ensure_future(serve_http(app, sock=sock, host="127.0.0.1", port=port,
                                                   log_level="warning"))
        answers = []
        for path in ("/health", "/version"):
            for _ in range(100):  # until uvicorn listens
                try:
                    answers.append(await _get(port, path))
                    break
                except OSError:
                    if serving.done():
                        serving.result()
                    await asyncio.sleep(0.1)
        if len(answers) < 2 or not all(" 200 " in a for a in answers):
            raise RuntimeError(f"answers: {answers}")
        _ok(name, "; ".join(answers))
        name = "shutdown"
        signal.raise_signal(signal.SIGINT)
        shutdown = await asyncio.wait_for(serving, 30)
        if inspect.isawaitable(shutdown):
            await asyncio.wait_for(shutdown, 30)
        _ok(name, "SIGINT")
    except BaseException as exc:
        _failed(name, exc)
        raise _Stop from exc
    name = "engine-core transport"
    try:
        import zmq, zmq.asyncio
        from vllm.utils.network_utils import get_open_zmq_ipc_path, make_zmq_socket
        address = get_open_zmq_ipc_path()
        ctx, peer_ctx = zmq.asyncio.Context(), zmq.Context()
        router = make_zmq_socket(ctx, address, zmq.ROUTER, bind=True)
        peer = make_zmq_socket(peer_ctx, address, zmq.DEALER, bind=False)
        peer.send(b"READY")
        identity, message = await asyncio.wait_for(router.recv_multipart(), 20)
        router.close(linger=0); peer.close(linger=0)
        ctx.term(); peer_ctx.term()
        _ok(name, f"{address.split('://')[0]}:// {message.decode()} on {type(asyncio.get_running_loop()).__name__}")
    except BaseException as exc:
        _failed(name, exc)


def _start():
    name = "arguments"
    try:
        # no GPU here: vLLM's CPU platform, as `vllm serve` on a machine without one
        import vllm.platforms
        from vllm.platforms.cpu import CpuPlatform
        vllm.platforms._current_platform = CpuPlatform()
        make_arg_parser = _first("vllm.entrypoints.common.cli_args.make_arg_parser",
                                 "vllm.entrypoints.openai.cli_args.make_arg_parser")
        from vllm.utils.argparse_utils import FlexibleArgumentParser
        args = make_arg_parser(FlexibleArgumentParser()).parse_args(
            ["--model", "Qwen/Qwen3-0.6B", "--host", "127.0.0.1", "--port", "0"])
        _ok(name)
        name = "server socket"
        api = importlib.import_module("vllm.entrypoints.openai.api_server")
        listen, sock = _call(api.setup_server, args, reuse_port=False)
        _ok(name, f"port {sock.getsockname()[1]}")
        name = "event loop"
        loops = []

        async def main():
            loops.append(type(asyncio.get_running_loop()).__name__)
            _ok("event loop", f"{loops[0]} (" + ("the asyncio stand-in" if isinstance(uvloop, type) else uvloop.__name__) + ")")
            await _serve(args, sock)

        uvloop.run(main())
    except _Stop:
        pass
    except BaseException as exc:
        _failed(name, exc)


_start()
result = stages
'''


def run(python: str, root: Path, windows: bool) -> list[dict]:
    args = [python, str(WINSIM), *(["--windows"] if windows else []), str(root), "vllm.entrypoints.cli.serve",
            "--then", START]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "VLLM_LOGGING_LEVEL": "ERROR", "HF_HUB_OFFLINE": "1"}
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=root, env=env)
    except subprocess.TimeoutExpired:
        return [{"stage": "import", "ok": False, "error": "Timeout", "message": "no answer in 600 s", "where": ""}]
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return [{"stage": "import", "ok": False, "error": "Crash", "message": out.stderr[-500:], "where": ""}]
    verdict = json.loads(lines[-1])
    if not verdict["ok"]:  # the module itself did not import
        return [{"stage": "import", **verdict}]
    import ast
    return [{"stage": "import", "ok": True, "detail": ""}, *ast.literal_eval(verdict["result"])]


def table(files: list[Path]) -> str:
    rows = ["| release | " + " | ".join(("import", *STAGES)) + " |", "|---" * (len(STAGES) + 2) + "|"]
    stops = []
    for path in files:
        data = json.loads(path.read_text())
        got = {s["stage"]: s for s in data["stages"]}
        cells = []
        for name in ("import", *STAGES):
            stage = got.get(name)
            cells.append("—" if stage is None else "ok" if stage["ok"] else stage["error"])
            if stage and not stage["ok"]:
                stops.append(f"| {data['version']} | {name} | {stage['error']}: {stage['message']} | "
                             f"`{stage['where']}` |")
        rows.append(f"| {data['version']} | " + " | ".join(cells) + " |")
    if stops:
        rows += ["", "| release | stage | error | raised at |", "|---|---|---|---|", *stops]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--linux", action="store_true", help="the real platform, not the simulated Windows one")
    parser.add_argument("--json", type=Path, help="keep the verdicts here")
    parser.add_argument("--version", default="", help="the release, for --json")
    parser.add_argument("--table", nargs="+", type=Path, help="render kept verdicts as a table")
    ns = parser.parse_args(argv)
    if ns.table:
        print(table(ns.table))
        return 0
    stages = run(ns.python, ns.root.resolve(), windows=not ns.linux)
    for stage in stages:
        print(f"{stage['stage']:<22} " + (f"ok  {stage.get('detail', '')}" if stage["ok"] else
                                          f"{stage['error']}: {stage['message']} ({stage['where']})"))
    if ns.json:
        ns.json.write_text(json.dumps({"version": ns.version, "stages": stages}, indent=1) + "\n")
    return 0 if all(s["ok"] for s in stages if s["stage"] != "app state") else 1


if __name__ == "__main__":
    sys.exit(main())
