#include <cstddef>
#include <cstdio>
// K10: POSIX ssize_t in host C++
ssize_t remaining(size_t total, size_t used) {
  ssize_t left = static_cast<ssize_t>(total) - static_cast<ssize_t>(used);
  return left < 0 ? 0 : left;
}
