#include <cstdint>
// C2 on a class template, which also carries a meaningless __device__
template <typename PackedType = float4>
__device__ struct __attribute__((aligned(32))) LamportFlags {
  uint32_t* flags;
  __device__ uint32_t stage() const { return flags[0]; }
};
__global__ void read_stage(uint32_t* flags, uint32_t* out) {
  LamportFlags<> f{flags};
  out[0] = f.stage();
}
