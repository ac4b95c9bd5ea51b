"""Make a Python environment with a vLLM release's Python dependencies, to import its
modules on this machine (tests/test_imports_real.py, tools/import_check.py).

It installs the CPU build of PyTorch (``--torch``, default ``torch==2.13.0``) and
then the release's ``requirements/common.txt`` (the packages every vLLM install
needs; no CUDA packages) from the package index pip is configured with, with
PyTorch held at the version installed. The environment is kept under winport's
cache folder, one per release, and made again only when the requirements or the
PyTorch spec change; pip's own cache keeps the wheels.

    python tools/import_env.py 0.33.0            # prints the environment's python
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from winport.fetch import cache_dir, fetch  # noqa: E402

DEFAULT_TORCH = "torch==2.13.0"


def requirements(tree: Path) -> str:
    """requirements/common.txt with its ``-r`` includes inlined, comments dropped."""
    def read(path: Path) -> list[str]:
        lines = []
        for raw in path.read_text().splitlines():
            line = raw.split(" #")[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-r "):
                lines += read(path.parent / line[3:].strip())
            else:
                lines.append(line)
        return lines
    return "\n".join(read(tree / "requirements" / "common.txt")) + "\n"


def environment(version: str, torch: str = DEFAULT_TORCH, root: Path | None = None) -> Path:
    """The python of an environment with ``version``'s dependencies (made if needed)."""
    root = root or cache_dir() / "import-envs"
    with tempfile.TemporaryDirectory() as tmp:
        tree = fetch(version, Path(tmp) / "vllm")
        reqs = requirements(tree)
    stamp = hashlib.sha256(f"{torch}\n{reqs}".encode()).hexdigest()[:16]
    env = root / version
    python = env / "bin" / "python"
    stamp_file = env / "winport-stamp"
    if python.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, torch], check=True)
    req_file = env / "requirements.txt"
    req_file.write_text(reqs)
    # torch stays as installed: a requirement that wants another one fails loudly
    subprocess.run([*pip, "-r", str(req_file), torch], check=True)
    stamp_file.write_text(stamp + "\n")
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="+")
    parser.add_argument("--torch", default=os.environ.get("WINPORT_IMPORT_TORCH", DEFAULT_TORCH))
    args = parser.parse_args()
    for version in args.versions:
        print(environment(version, args.torch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
