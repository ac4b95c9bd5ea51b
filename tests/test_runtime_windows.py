"""The code runtime transforms insert, executed: each rewritten fixture module is loaded
in a fresh interpreter under the simulated Windows standard library (tests/winsim.py)
and on plain Linux, and the inserted stand-ins are called."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WINSIM = Path(__file__).with_name("winsim.py")


def call(case: str, path: str, code: str, windows: bool) -> dict:
    args = [sys.executable, str(WINSIM), "--stub-missing", *(["--windows"] if windows else []),
            str(FIXTURES / case / "after"), path, "--then", textwrap.dedent(code)]
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
