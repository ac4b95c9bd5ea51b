/* winport verification stand-in for MSVC's vadefs.h on x64 (Wine's is written for GCC). */
#pragma once
#define _INC_VADEFS
#ifndef _VA_LIST_DEFINED
  #define _VA_LIST_DEFINED
typedef char* va_list;
#endif
#define _ADDRESSOF(v) (&reinterpret_cast<const char&>(v))
#define _INTSIZEOF(n) ((sizeof(n) + sizeof(int) - 1) & ~(sizeof(int) - 1))
extern "C" void __cdecl __va_start(va_list*, ...);
#define _crt_va_start(ap, x) ((void)(__va_start(&ap, x)))
#define _crt_va_arg(ap, t) (*(t*)((ap += sizeof(__int64)) - sizeof(__int64)))
#define _crt_va_end(ap) ((void)(ap = (va_list)0))
#define _crt_va_copy(d, s) ((d) = (s))
#define __crt_va_start(ap, x) _crt_va_start(ap, x)
#define __crt_va_arg(ap, t) _crt_va_arg(ap, t)
#define __crt_va_end(ap) _crt_va_end(ap)
