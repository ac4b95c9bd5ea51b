// K6: alternative tokens
__global__ void gate(const int* a, const int* b, int* out) {
  int i = threadIdx.x;
  if (a[i] > 0 and b[i] > 0 or not out[i]) out[i] = 1;
}
