#include <cstdint>
// K5: GNU's spelling of inline PTX
__device__ inline uint32_t lop3(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t res;
  __asm__ __volatile__("lop3.b32 %0, %1, %2, %3, 0xea;\n" : "=r"(res) : "r"(a), "r"(b), "r"(c));
  return res;
}
__global__ void apply(uint32_t* x) { x[0] = lop3(x[0], x[1], x[2]); }
