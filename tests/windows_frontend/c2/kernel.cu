// C2: GNU attributes
__global__ void topk(float* out) {
  __shared__ float __attribute((aligned(128))) scores[64];
  scores[threadIdx.x] = out[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = scores[63 - threadIdx.x];
}
