#include <cuda_bf16.h>
// K3: a C99 designated initializer (C++17 build)
__device__ __nv_bfloat16 scale_one() {
  return __nv_bfloat16_raw{.x = 17376};
}
