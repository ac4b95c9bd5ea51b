// K9: glibc's uint
__global__ void index(uint* out, uint n) {
  uint i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i;
}
