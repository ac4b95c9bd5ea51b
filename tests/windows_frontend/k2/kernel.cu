#include <cstdint>
// K2: constexpr booleans captured through nested dispatch lambdas
#define BOOL_SWITCH(COND, CONST_NAME, ...) \
  [&] {                                    \
    if (COND) {                            \
      constexpr static bool CONST_NAME = true; \
      return __VA_ARGS__();                \
    } else {                               \
      constexpr static bool CONST_NAME = false; \
      return __VA_ARGS__();                \
    }                                      \
  }()

template <bool A, bool B>
__global__ void scan_kernel(float* x) { if (A && B) x[0] = 1.f; }

void launch(float* x, bool a, bool b) {
  BOOL_SWITCH(a, kA, [&] {
    BOOL_SWITCH(b, kB, [&] { scan_kernel<kA, kB><<<1, 1>>>(x); });
  });
}
