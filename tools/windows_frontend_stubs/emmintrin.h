/* winport verification stand-in for MSVC's SSE/SSE2 intrinsic headers: the vector types
   and the operations headers seen so far use (MSVC's own headers are not redistributable;
   clang's use GCC attributes MSVC mode rejects). */
#pragma once
#include <vcruntime.h>
typedef union __declspec(align(16)) __m128 {
  float m128_f32[4];
  unsigned __int64 m128_u64[2];
  __int32 m128_i32[4];
} __m128;
typedef struct __declspec(align(16)) __m128d {
  double m128d_f64[2];
} __m128d;
typedef union __declspec(align(16)) __m128i {
  __int8 m128i_i8[16];
  __int16 m128i_i16[8];
  __int32 m128i_i32[4];
  __int64 m128i_i64[2];
  unsigned __int8 m128i_u8[16];
  unsigned __int16 m128i_u16[8];
  unsigned __int32 m128i_u32[4];
  unsigned __int64 m128i_u64[2];
} __m128i;
extern "C" {
__m128 _mm_setzero_ps(void);
__m128 _mm_set1_ps(float _A);
__m128 _mm_loadu_ps(float const* _P);
void _mm_storeu_ps(float* _P, __m128 _A);
__m128 _mm_add_ps(__m128 _A, __m128 _B);
__m128 _mm_mul_ps(__m128 _A, __m128 _B);
__m128d _mm_set_sd(double _W);
void _mm_store_sd(double* _Dp, __m128d _A);
__m128d _mm_setzero_pd(void);
__m128i _mm_setzero_si128(void);
__m128i _mm_set1_epi32(int _I);
__m128i _mm_loadu_si128(__m128i const* _P);
void _mm_storeu_si128(__m128i* _P, __m128i _B);
__m128i _mm_cvtsi32_si128(int _A);
int _mm_cvtsi128_si32(__m128i _A);
__m128i _mm_cvtps_ph(__m128 _A, int _Imm);
__m128 _mm_cvtph_ps(__m128i _A);
float _mm_cvtss_f32(__m128 _A);
__m128 _mm_set_ss(float _A);
}
