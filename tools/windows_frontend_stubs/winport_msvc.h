/* winport verification: included first in every unit. clang-cl preprocesses, but MSVC
   has none of clang's feature-test operators: headers that ask them must take the
   branches they take under cl.exe (no GCC attributes, no clang builtins). */
#pragma once
#define __has_attribute(x) 0
#define __has_builtin(x) 0
#define __has_feature(x) 0
#define __has_extension(x) 0
#define __has_declspec_attribute(x) 0
#define __is_identifier(x) 1
#define WINE_UNICODE_NATIVE 1  /* WCHAR is wchar_t, as in the Windows SDK */
/* MSVC knows its intrinsics as builtins; the Windows SDK's winnt.h uses them undeclared */
#ifdef __cplusplus
#include <intrin0.h>
#endif
