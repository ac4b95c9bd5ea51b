"""Names in vLLM's sources that more than one transform refers to."""

from __future__ import annotations

# extensions whose CMake projects or sources need GCC and Linux (CUTLASS 3 kernels for
# sm90/sm100 built with GNU extensions, DeepGEMM's JIT, ...): the last part of the name,
# or its start for families. build/windows-extensions skips them on Windows;
# detect/optional-extensions reports imports of them that would fail there.
NOT_ON_WINDOWS = ("_vllm_fa3_C", "_deep_gemm_C", "_qutlass_C", "_flashmla", "_sparse_flashmla")

# the function that names vLLM's ZMQ IPC endpoints (runtime/zmq-ipc-path ports it;
# runtime/zmq-ipc-endpoints ports the endpoints made elsewhere)
OPEN_IPC_PATH = "get_open_zmq_ipc_path"
