#!/usr/bin/env bash
# Make a Python environment whose packages carry what tools/compile_check.py compiles
# against: PyTorch's C++ and CUDA headers (torch 2.14.1, a CUDA build, installed without
# its dependencies), the cuBLAS/cuSPARSE/cuSOLVER headers of the nvidia-* wheels, and
# CUTLASS's headers (the nvidia-cutlass wheel). Nothing is imported from it.
#
#   tools/compile_env.sh DIR      then   python tools/compile_check.py --python DIR/bin/python ...
set -euo pipefail
dir=${1:?usage: tools/compile_env.sh DIR}
if [ ! -x "$dir/bin/python" ]; then
  python3 -m venv "$dir"
fi
"$dir/bin/python" -m pip install --quiet --no-deps "torch==2.14.1" "nvidia-cublas==13.*" "nvidia-cusparse==12.*" \
  "nvidia-cusolver==12.*" "nvidia-cutlass==4.2.0.0"
