#include <cmath>
// C3: M_* constants without _USE_MATH_DEFINES
__device__ float gelu_tanh(float x) {
  const float k = sqrtf(2.0f / M_PI);
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}
__global__ void act(float* x) { x[threadIdx.x] = gelu_tanh(x[threadIdx.x]); }
