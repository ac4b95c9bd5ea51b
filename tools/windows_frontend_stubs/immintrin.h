/* winport verification stand-in for MSVC's immintrin.h: the AVX vector types, beside SSE2. */
#pragma once
#include <emmintrin.h>
typedef union __declspec(align(32)) __m256 { float m256_f32[8]; } __m256;
typedef struct __declspec(align(32)) __m256d { double m256d_f64[4]; } __m256d;
typedef union __declspec(align(32)) __m256i { __int8 m256i_i8[32]; __int32 m256i_i32[8]; __int64 m256i_i64[4]; } __m256i;
typedef union __declspec(align(64)) __m512 { float m512_f32[16]; } __m512;
typedef union __declspec(align(64)) __m512i { __int32 m512i_i32[16]; __int64 m512i_i64[8]; } __m512i;
extern "C" {
unsigned __int64 _xgetbv(unsigned int _Xcr);
}
