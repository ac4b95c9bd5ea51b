// F5: GCC's float builtins in device code
__global__ void pad(float* scores, int n) {
  if (threadIdx.x >= n) scores[threadIdx.x] = -__builtin_huge_valf();
}
