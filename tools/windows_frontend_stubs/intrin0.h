/* winport verification stand-in for MSVC's intrin0.h: the intrinsics the Microsoft STL
   declares from it (MSVC knows them as builtins; the front end needs the declarations). */
#pragma once
#include <vcruntime.h>
extern "C" {
char _InterlockedAnd8(char volatile* _Target, char _Value);
char _InterlockedOr8(char volatile* _Target, char _Value);
char _InterlockedXor8(char volatile* _Target, char _Value);
char _InterlockedExchange8(char volatile* _Target, char _Value);
char _InterlockedExchangeAdd8(char volatile* _Target, char _Value);
char _InterlockedCompareExchange8(char volatile* _Destination, char _Exchange, char _Comparand);
short _InterlockedAnd16(short volatile* _Target, short _Value);
short _InterlockedOr16(short volatile* _Target, short _Value);
short _InterlockedXor16(short volatile* _Target, short _Value);
short _InterlockedExchange16(short volatile* _Target, short _Value);
short _InterlockedExchangeAdd16(short volatile* _Target, short _Value);
short _InterlockedCompareExchange16(short volatile* _Destination, short _Exchange, short _Comparand);
short _InterlockedIncrement16(short volatile* _Addend);
short _InterlockedDecrement16(short volatile* _Addend);
long _InterlockedAnd(long volatile* _Target, long _Value);
long _InterlockedOr(long volatile* _Target, long _Value);
long _InterlockedXor(long volatile* _Target, long _Value);
long _InterlockedExchange(long volatile* _Target, long _Value);
long _InterlockedExchangeAdd(long volatile* _Target, long _Value);
long _InterlockedCompareExchange(long volatile* _Destination, long _Exchange, long _Comparand);
long _InterlockedIncrement(long volatile* _Addend);
long _InterlockedDecrement(long volatile* _Addend);
__int64 _InterlockedAnd64(__int64 volatile* _Target, __int64 _Value);
__int64 _InterlockedOr64(__int64 volatile* _Target, __int64 _Value);
__int64 _InterlockedXor64(__int64 volatile* _Target, __int64 _Value);
__int64 _InterlockedExchange64(__int64 volatile* _Target, __int64 _Value);
__int64 _InterlockedExchangeAdd64(__int64 volatile* _Target, __int64 _Value);
__int64 _InterlockedCompareExchange64(__int64 volatile* _Destination, __int64 _Exchange, __int64 _Comparand);
__int64 _InterlockedIncrement64(__int64 volatile* _Addend);
__int64 _InterlockedDecrement64(__int64 volatile* _Addend);
unsigned char _InterlockedCompareExchange128(__int64 volatile* _Destination, __int64 _ExchangeHigh, __int64 _ExchangeLow, __int64* _ComparandResult);
__int8 __iso_volatile_load8(const volatile __int8* _Location);
void __iso_volatile_store8(volatile __int8* _Location, __int8 _Value);
__int16 __iso_volatile_load16(const volatile __int16* _Location);
void __iso_volatile_store16(volatile __int16* _Location, __int16 _Value);
__int32 __iso_volatile_load32(const volatile __int32* _Location);
void __iso_volatile_store32(volatile __int32* _Location, __int32 _Value);
__int64 __iso_volatile_load64(const volatile __int64* _Location);
void __iso_volatile_store64(volatile __int64* _Location, __int64 _Value);
void _ReadWriteBarrier(void);
void __faststorefence(void);
void _mm_mfence(void);
void _mm_lfence(void);
void _mm_sfence(void);
void _mm_pause(void);
unsigned short __lzcnt16(unsigned short _Value);
unsigned int __lzcnt(unsigned int _Value);
unsigned __int64 __lzcnt64(unsigned __int64 _Value);
unsigned char _BitScanForward(unsigned long* _Index, unsigned long _Mask);
unsigned char _BitScanReverse(unsigned long* _Index, unsigned long _Mask);
unsigned char _BitScanForward64(unsigned long* _Index, unsigned __int64 _Mask);
unsigned char _BitScanReverse64(unsigned long* _Index, unsigned __int64 _Mask);
unsigned __int64 __umulh(unsigned __int64 _Multiplier, unsigned __int64 _Multiplicand);
unsigned __int64 _umul128(unsigned __int64 _Multiplier, unsigned __int64 _Multiplicand, unsigned __int64* _HighProduct);
unsigned __int64 _udiv128(unsigned __int64 _HighDividend, unsigned __int64 _LowDividend, unsigned __int64 _Divisor,
                          unsigned __int64* _Remainder);
__int64 _div128(__int64 _HighDividend, __int64 _LowDividend, __int64 _Divisor, __int64* _Remainder);
__int64 _mul128(__int64 _Multiplier, __int64 _Multiplicand, __int64* _HighProduct);
__int64 __mulh(__int64 _Multiplier, __int64 _Multiplicand);
unsigned __int64 __shiftleft128(unsigned __int64 _LowPart, unsigned __int64 _HighPart, unsigned char _Shift);
unsigned __int64 __shiftright128(unsigned __int64 _LowPart, unsigned __int64 _HighPart, unsigned char _Shift);
double __ceil(double); float __ceilf(float);
double __floor(double); float __floorf(float);
double __round(double); float __roundf(float);
double __trunc(double); float __truncf(float);
double __copysign(double, double); float __copysignf(float, float);
}
