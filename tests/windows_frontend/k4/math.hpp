#pragma once
// K4: a GCC builtin in a constexpr helper
inline constexpr unsigned next_pow2(unsigned num) {
  if (num <= 1) return num;
  return 1u << (8 * sizeof(num) - __builtin_clz(num - 1));
}
