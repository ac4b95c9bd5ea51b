#include <cstdint>
// K3: 128-bit shared-memory vectors through __int128_t
__global__ void copy_rows(const int4* in, int4* out) {
  extern __shared__ __int128_t smem[];
  smem[threadIdx.x] = *reinterpret_cast<const __int128_t*>(&in[threadIdx.x]);
  __syncthreads();
  *reinterpret_cast<__int128_t*>(&out[threadIdx.x]) = smem[threadIdx.x];
}
