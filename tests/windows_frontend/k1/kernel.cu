#include <cstdint>
// K1: a host-device variable template, read in device code
template <typename T>
__host__ __device__ static constexpr T quant_type_max_v = T(448);

template <typename T>
__global__ void clamp_kernel(T* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && out[i] > quant_type_max_v<T>) out[i] = quant_type_max_v<T>;
}

template __global__ void clamp_kernel<float>(float*, int);
