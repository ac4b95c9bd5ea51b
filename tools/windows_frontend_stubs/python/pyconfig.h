/* winport verification stand-in for CPython's Windows pyconfig.h (PC/pyconfig.h, which a
   Linux Python's include folder does not have): what Python.h takes from it on x64 with
   MSVC. Like the real one it defines no ssize_t and includes no POSIX header. */
#ifndef Py_CONFIG_H
#define Py_CONFIG_H
#define MS_WIN32
#define MS_WIN64
#define MS_WINDOWS
#define NT_THREADS
#define WITH_THREAD
#define Py_ENABLE_SHARED 1
#define HAVE_DECLSPEC_DLL
#define HAVE_DYNAMIC_LOADING
#define Py_WINVER 0x0602
#define Py_NTDDI 0x06020000
#include <io.h>
#include <basetsd.h>
typedef __int64 Py_ssize_t;
#define HAVE_PY_SSIZE_T 1
#define PY_SSIZE_T_CLEAN
#define pid_t int
#define PY_LONG_LONG __int64
#define PY_LLONG_MIN _I64_MIN
#define PY_LLONG_MAX _I64_MAX
#define PY_ULLONG_MAX _UI64_MAX
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_SHORT 2
#define SIZEOF_FLOAT 4
#define SIZEOF_DOUBLE 8
#define SIZEOF_VOID_P 8
#define SIZEOF_SIZE_T 8
#define SIZEOF_TIME_T 8
#define SIZEOF_OFF_T 4
#define SIZEOF_FPOS_T 8
#define SIZEOF_HKEY 8
#define SIZEOF_WCHAR_T 2
#define SIZEOF__BOOL 1
#define SIZEOF_PID_T SIZEOF_INT
#define ALIGNOF_SIZE_T 8
#define ALIGNOF_LONG 4
#define ALIGNOF_MAX_ALIGN_T 8
#define HAVE_STDDEF_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_PROCESS_H 1
#define HAVE_IO_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_WCHAR_H 1
#define HAVE_ERRNO_H 1
#define HAVE_FCNTL_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_LIMITS_H 1
#define HAVE_COPYSIGN 1
#define HAVE_ROUND 1
#define HAVE_HYPOT 1
#define HAVE_STRFTIME 1
#define HAVE_CLOCK 1
#define HAVE_FTIME 1
#define HAVE_GETPID 1
#define HAVE_MKTIME 1
#define HAVE_PUTENV 1
#define HAVE_UMASK 1
#define HAVE_WCSFTIME 1
#define HAVE_WCSCOLL 1
#define HAVE_WCSXFRM 1
#define HAVE_ZLIB_COPY 1
#define HAVE_X509_VERIFY_PARAM_SET1_HOST 1
#define DONT_HAVE_SIG_ALARM
#define DONT_HAVE_SIG_PAUSE
#define LONG_BIT 32
#define WORD_BIT 32
#define PY_SUPPORT_TIER 1
#define Py_HAVE_CONDVAR
#define _Py_COMP_DIAG_PUSH __pragma(warning(push))
#define _Py_COMP_DIAG_IGNORE_DEPR_DECLS __pragma(warning(disable: 4996))
#define _Py_COMP_DIAG_POP __pragma(warning(pop))
#define Py_IS_NAN(X) _isnan(X)
#define Py_IS_INFINITY(X) (!_finite(X) && !_isnan(X))
#define Py_IS_FINITE(X) _finite(X)
#define PLATFORM "win32"
#define COMPILER "[MSC v.1944 64 bit (AMD64)]"
#endif /* Py_CONFIG_H */
