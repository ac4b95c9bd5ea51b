/* winport verification stand-in for MSVC's vcruntime.h (not redistributable): the
   macros and types the Microsoft STL and the UCRT headers take from it. */
#pragma once
#include <sal.h>
#include <vadefs.h>

#define _VCRT_COMPILER_PREPROCESSOR 1
#define _CRT_PACKING 8
#define _VCRUNTIME_DISABLED_WARNINGS
#define _CRT_BEGIN_C_HEADER __pragma(pack(push, _CRT_PACKING)) extern "C" {
#define _CRT_END_C_HEADER } __pragma(pack(pop))
#define _VCRTIMP __declspec(dllimport)
#define _VCRTIMP2 __declspec(dllimport)
#define _VCRT_EXPORT_STD
#define _MSVC_CONSTEXPR
#define _CRTIMP2
#define _MRTIMP2
#define _PGLOBAL
#define _CRT_SATELLITE_1
#define _CRT_SATELLITE_2
#define _CRT_SATELLITE_CODECVT_IDS
#define _CRT_SATELLITE_CODECVT_IDS_NOIMPORT
#define __CLRCALL_PURE_OR_CDECL __cdecl
#define __CLRCALL_OR_CDECL __cdecl
#define __CLR_OR_THIS_CALL
#define __CRTDECL __CLRCALL_PURE_OR_CDECL
/* the CRT's import declarations, as vcruntime.h and the UCRT's corecrt.h make them:
   dllimport with the DLL runtime (/MD defines _DLL), nothing with the static one */
#ifndef _CRTIMP
  #define _VCRT_DEFINED_CRTIMP
  #ifdef _DLL
    #define _CRTIMP __declspec(dllimport)
  #else
    #define _CRTIMP
  #endif
#endif
#ifndef _ACRTIMP
  #ifdef _DLL
    #define _ACRTIMP __declspec(dllimport)
  #else
    #define _ACRTIMP
  #endif
#endif
#define _CRT_STRINGIZE_(x) #x
#define _CRT_STRINGIZE(x) _CRT_STRINGIZE_(x)
#define _CRT_WIDE_(s) L ## s
#define _CRT_WIDE(s) _CRT_WIDE_(s)
#define _CRT_CONCATENATE_(a, b) a ## b
#define _CRT_CONCATENATE(a, b) _CRT_CONCATENATE_(a, b)
#define _CRT_UNPARENTHESIZE_(...) __VA_ARGS__
#define _CRT_UNPARENTHESIZE(...) _CRT_UNPARENTHESIZE_ __VA_ARGS__
#define _VCRT_ALLOCATOR __declspec(allocator)
#define _VCRT_NOALIAS __declspec(noalias)
#define _VCRT_RESTRICT __declspec(restrict)
#define _CRT_DEPRECATE_TEXT(_Text) __declspec(deprecated(_Text))
#define _CRT_INSECURE_DEPRECATE(_Replacement)
#define _CRT_INSECURE_DEPRECATE_MEMORY(_Replacement)
#define _CRT_GUARDOVERFLOW
#define _CRT_HYBRIDPATCHABLE
#define _CRT_ALIGN(x) __declspec(align(x))
#define _CRT_STATIC_ASSERT(expr, msg) static_assert((expr), msg)
#define _CRT_HAS_CXX17 _HAS_CXX17
#ifndef _HAS_EXCEPTIONS
  #define _HAS_EXCEPTIONS 1
#endif
/* the language level, from /std: (_MSVC_LANG), as vcruntime.h gives it to the STL */
#ifndef _HAS_CXX17
  #if _MSVC_LANG > 201402L
    #define _HAS_CXX17 1
  #else
    #define _HAS_CXX17 0
  #endif
#endif
#ifndef _HAS_CXX20
  #if _HAS_CXX17 && _MSVC_LANG > 201703L
    #define _HAS_CXX20 1
  #else
    #define _HAS_CXX20 0
  #endif
#endif
#ifndef _HAS_CXX23
  #if _HAS_CXX20 && _MSVC_LANG > 202002L
    #define _HAS_CXX23 1
  #else
    #define _HAS_CXX23 0
  #endif
#endif
#ifndef _HAS_NODISCARD
  #define _HAS_NODISCARD 1
#endif
#if _HAS_NODISCARD
  #define _NODISCARD [[nodiscard]]
#else
  #define _NODISCARD
#endif
#define _CRT_NODISCARD [[nodiscard]]
#define _CRT_SECURE_CPP_NOTHROW throw()
#define __crt_countof(_Array) (sizeof(_Array) / sizeof(_Array[0]))
#ifndef NULL
  #define NULL 0
#endif
#ifndef _SIZE_T_DEFINED
  #define _SIZE_T_DEFINED
  typedef unsigned __int64 size_t;
#endif
#ifndef _PTRDIFF_T_DEFINED
  #define _PTRDIFF_T_DEFINED
  typedef __int64 ptrdiff_t;
#endif
#ifndef _INTPTR_T_DEFINED
  #define _INTPTR_T_DEFINED
  typedef __int64 intptr_t;
#endif
#ifndef _UINTPTR_T_DEFINED
  #define _UINTPTR_T_DEFINED
  typedef unsigned __int64 uintptr_t;
#endif
typedef bool __vcrt_bool;
extern "C" {
extern uintptr_t __security_cookie;
void __cdecl __security_init_cookie(void);
void __cdecl __security_check_cookie(uintptr_t _StackCookie);
__declspec(noreturn) void __cdecl __report_gsfailure(uintptr_t _StackCookie);
}
