#include <cmath>
// K8: std::isinf in device code
__global__ void merge(const float* lse, float* out, int n) {
  int i = threadIdx.x;
  if (i < n) out[i] = std::isinf(lse[i]) ? -INFINITY : lse[i];
}
