#include <fcntl.h>
#include <unistd.h>
#include <cstddef>
// C4: POSIX file I/O in host C++
long read_at(int fd, void* buf, size_t n, long offset) {
  return static_cast<long>(pread(fd, buf, n, offset));
}
