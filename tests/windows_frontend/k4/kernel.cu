#include "math.hpp"
__global__ void fill(unsigned* out) { out[threadIdx.x] = next_pow2(threadIdx.x); }
