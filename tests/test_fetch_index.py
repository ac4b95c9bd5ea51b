"""winport fetch against a package index served on 127.0.0.1: the index named by
PIP_INDEX_URL or pip's configuration, PEP 691 JSON and PEP 503 HTML pages, "latest",
and the progress bar (on a terminal, not in a pipe)."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from test_fetch import make_sdist
from winport import fetch as F

SDIST = make_sdist([("vllm-9.9.9", None, None), ("vllm-9.9.9/setup.py", b"setup()\n", None),
                    ("vllm-9.9.9/vllm/__init__.py", b"", None),
                    ("vllm-9.9.9/csrc/a.cu", b"int a;\n" + b"// padding\n" * 40000, None)])
SHA = hashlib.sha256(SDIST).hexdigest()


class Index(http.server.BaseHTTPRequestHandler):
    html = False  # serve the project page as PEP 503 HTML instead of PEP 691 JSON

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.rstrip("/") == "/simple/vllm":
            files = [("vllm-9.9.8.tar.gz", "0" * 64), ("vllm-9.9.9.tar.gz", SHA), ("vllm-10.0.0rc1.tar.gz", "0" * 64),
                     ("vllm-9.9.9-py3-none-any.whl", "0" * 64)]
            if self.html:
                body = "".join(f'<a href="/files/{n}#sha256={h}">{n}</a><br/>' for n, h in files).encode()
                kind = "text/html"
            else:
                body = json.dumps({"meta": {"api-version": "1.0"}, "name": "vllm", "files": [
                    {"filename": n, "url": f"/files/{n}", "hashes": {"sha256": h}} for n, h in files]}).encode()
                kind = "application/vnd.pypi.simple.v1+json"
        elif self.path == "/files/vllm-9.9.9.tar.gz":
            body, kind = SDIST, "application/octet-stream"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def index(monkeypatch, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/simple"
    monkeypatch.delenv("WINPORT_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", url)
    monkeypatch.setenv("WINPORT_CACHE_DIR", str(tmp_path / "cache"))
    yield url
    server.shutdown()
    Index.html = False


def test_fetch_uses_pip_index_url(index, tmp_path):
    assert F.index_url() == index
    tree = F.fetch("9.9.9", tmp_path / "tree")
    assert (tree / "setup.py").read_bytes() == b"setup()\n"
    assert (tmp_path / "cache" / "sdists" / "vllm-9.9.9.tar.gz.sha256").read_text().strip() == SHA


def test_latest_is_the_newest_final_release_with_an_sdist(index):
    assert F.latest_version() == "9.9.9"


def test_a_pep503_html_index_works_too(index, tmp_path):
    Index.html = True
    assert F.latest_version() == "9.9.9"
    assert (F.fetch("9.9.9", tmp_path / "tree") / "csrc" / "a.cu").exists()


def test_pip_configuration_names_the_index(index, monkeypatch, tmp_path):
    monkeypatch.delenv("PIP_INDEX_URL")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {index}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert F.index_url() == index
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # nothing configured: pip's own default
    from pip._internal.models.index import PyPI

    assert F.index_url() == PyPI.simple_url


def _cli(args, env, terminal: bool) -> tuple[int, str]:
    """Run winport in a subprocess with stderr on a pseudo-terminal or a pipe."""
    cmd = [sys.executable, "-m", "winport", *args]
    if not terminal:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        return out.returncode, out.stderr + out.stdout
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only(index, tmp_path):
    env = {**os.environ, "COLUMNS": "100"}
    code, shown = _cli(["fetch", "latest", str(tmp_path / "a")], env, terminal=True)
    assert code == 0 and "downloading vllm-9.9.9.tar.gz" in shown and "100%" in shown, shown
    assert "fetched vLLM 9.9.9" in shown
    env["WINPORT_CACHE_DIR"] = str(tmp_path / "cache2")  # download again
    code, piped = _cli(["fetch", "9.9.9", str(tmp_path / "b")], env, terminal=False)
    assert code == 0 and "downloading" not in piped and "fetched vLLM 9.9.9" in piped
    env["WINPORT_CACHE_DIR"] = str(tmp_path / "cache3")
    code, quiet = _cli(["fetch", "--quiet", "9.9.9", str(tmp_path / "c")], env, terminal=True)
    assert code == 0 and "downloading" not in quiet
    assert Path(tmp_path / "c" / "setup.py").exists()
