"""The built-in catalogue, in the order the transforms run.

Ids are ``area/name``; areas are ``build/``, ``cuda/`` and ``runtime/``, and
``detect/`` for detectors, which report what a person must port. The
catalogue id (B4, K5, ...) refers to the patch reference the fixes come from.
"""

from .build.cmake_path_slashes import CMakePathSlashes
from .build.cuda_toolkit_root import CudaToolkitRoot
from .build.dependency_hook import DependencyHook
from .build.flash_attn_files import FlashAttnFiles
from .build.link_cublas import LinkCublas
from .build.msvc_flags import MsvcFlags
from .build.nvcc_exe import NvccExe
from .build.pyd_extensions import PydExtensions
from .build.quote_real_path import QuoteRealPath
from .build.target_device import TargetDevice
from .build.windows_extensions import WindowsExtensions
from .cuda.alt_tokens import AltTokens
from .cuda.batch_memcpy import BatchMemcpy
from .cuda.asm_volatile import AsmVolatile
from .cuda.bool_dispatch import BoolDispatch
from .cuda.class_execution_space import ClassExecutionSpace
from .cuda.builtin_clz import BuiltinClz
from .cuda.designated_init import DesignatedInit
from .cuda.device_std_math import DeviceStdMath
from .cuda.directives_in_macro_args import DirectivesInMacroArgs
from .cuda.flat_kernel_selector import FlatKernelSelector
from .cuda.float_builtins import FloatBuiltins
from .cuda.gnu_attributes import GnuAttributes
from .cuda.host_device_calls_host import HostDeviceCallsHost
from .cuda.int64_t import Int64T
from .cuda.int128_vectors import Int128Vectors
from .cuda.math_constants import MathConstants
from .cuda.posix_compat import PosixCompat
from .cuda.sdk_float_macros import SdkFloatMacros
from .cuda.ssize_t_typedef import SsizeTTypedef
from .cuda.uint_typedef import UintTypedef
from .cuda.var_template_function import VarTemplateFunction
from .detect.float_macros import FloatMacros
from .detect.generator_shell import GeneratorShell
from .detect.optional_extensions import OptionalExtensions
from .detect.gnu_extensions import GnuExtensions
from .detect.posix_calls import PosixCalls
from .detect.posix_headers import PosixHeaders
from .detect.vla import VariableLengthArrays
from .runtime.attention_backend import AttentionBackend
from .runtime.binary_open import BinaryOpen
from .runtime.cuda_dll_directories import CudaDllDirectories
from .runtime.dev_shm import DevShm
from .runtime.fake_cpu_backend import FakeCpuBackend
from .runtime.fcntl_lock import FcntlLock
from .runtime.resource_limits import ResourceLimits
from .runtime.mmap_access import MmapAccess
from .runtime.memcpy_batch_serial import MemcpyBatchSerial
from .runtime.host_pointer_kernels import HostPointerKernels
from .runtime.exe_suffix import ExeSuffix
from .runtime.randint_dtype import RandintDtype
from .runtime.flashinfer_defaults import FlashInferDefaults
from .runtime.slot_mapping_fallback import SlotMappingFallback
from .runtime.flashinfer_requirements import FlashinferRequirements
from .runtime.generator_rm import GeneratorRm
from .runtime.inproc_client import InprocEngineClient
from .runtime.pipe_connection import PipeConnection
from .runtime.posix_signals import PosixSignals
from .runtime.posix_syscalls import PosixSyscalls
from .runtime.proc_files import ProcFiles
from .runtime.so_reuseport import SoReusePort
from .runtime.spawn_context import SpawnContext
from .runtime.start_method_default import StartMethodDefault
from .runtime.uvloop_winloop import UvloopWinloop
from .runtime.winloop_requirement import WinloopRequirement
from .runtime.zmq_ipc_path import ZmqIpcPath
from .runtime.zmq_ipc_endpoints import ZmqIpcEndpoints
from .runtime.zmq_sentinels import ZmqSentinels

ALL = (
    CudaToolkitRoot,
    MsvcFlags,
    LinkCublas,
    QuoteRealPath,
    TargetDevice,
    CMakePathSlashes,
    NvccExe,
    FlashAttnFiles,
    WindowsExtensions,
    PydExtensions,
    DependencyHook,
    VarTemplateFunction,
    BoolDispatch,
    DirectivesInMacroArgs,
    AsmVolatile,
    AltTokens,
    DesignatedInit,
    Int128Vectors,
    Int64T,
    BuiltinClz,
    FloatBuiltins,
    BatchMemcpy,
    DeviceStdMath,
    UintTypedef,
    SsizeTTypedef,
    FlatKernelSelector,
    GnuAttributes,
    ClassExecutionSpace,
    HostDeviceCallsHost,
    MathConstants,
    SdkFloatMacros,
    PosixCompat,
    FcntlLock,
    ResourceLimits,
    MmapAccess,
    MemcpyBatchSerial,
    HostPointerKernels,
    ExeSuffix,
    RandintDtype,
    FlashInferDefaults,
    SlotMappingFallback,
    ZmqIpcPath,
    SpawnContext,
    PipeConnection,
    CudaDllDirectories,
    StartMethodDefault,
    InprocEngineClient,
    FakeCpuBackend,
    SoReusePort,
    AttentionBackend,
    FlashinferRequirements,
    UvloopWinloop,
    WinloopRequirement,
    GeneratorRm,
    PosixSignals,
    PosixSyscalls,
    ProcFiles,
    BinaryOpen,
    DevShm,
    ZmqSentinels,
    ZmqIpcEndpoints,
    # detectors: reported, not rewritten
    PosixHeaders,
    GnuExtensions,
    FloatMacros,
    VariableLengthArrays,
    PosixCalls,
    GeneratorShell,
    OptionalExtensions,
)

__all__ = ["ALL"]
