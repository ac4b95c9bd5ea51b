/* winport verification stand-in for MSVC's intrin.h: intrin0.h's intrinsics, the vector
   types, and the few others headers use (Wine's intrin.h is written for GCC). */
#pragma once
#include <intrin0.h>
#include <immintrin.h>
extern "C" {
void __cpuid(int _CPUInfo[4], int _InfoType);
void __cpuidex(int _CPUInfo[4], int _InfoType, int _ECXValue);
unsigned __int64 __rdtsc(void);
__int64 _InterlockedExchangeAdd64(__int64 volatile* _Addend, __int64 _Value);
__int64 _InterlockedIncrement64(__int64 volatile* _Addend);
__int64 _InterlockedDecrement64(__int64 volatile* _Addend);
unsigned int __popcnt(unsigned int _Value);
unsigned __int64 __popcnt64(unsigned __int64 _Value);
void __debugbreak(void);
void _mm_prefetch(char const* _A, int _Sel);
}
