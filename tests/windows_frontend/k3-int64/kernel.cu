#include <cstdint>
// K3: glibc's __int64_t
__global__ void offsets(__int64_t* out, int stride) {
  out[threadIdx.x] = static_cast<__int64_t>(threadIdx.x) * stride;
}
