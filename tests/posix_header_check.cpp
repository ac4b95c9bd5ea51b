// What the host C++ of vLLM expects from the POSIX calls winport_posix.h gives MSVC:
// built on Linux against the real POSIX headers, and for Windows (MinGW, run under wine)
// against winport_posix.h. Prints "ok" or the failed checks.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>
#ifdef WINPORT_POSIX_SHIMS
  #include "winport_posix.h"
#else
  #include <fcntl.h>
  #include <sys/stat.h>
  #include <time.h>
  #include <unistd.h>
#endif

static int failures = 0;
#define CHECK(cond) do { if (!(cond)) { std::printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #cond); ++failures; } } while (0)

static double seconds(int clock_id) {
  struct timespec ts;
  CHECK(clock_gettime(clock_id, &ts) == 0);
  CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "winport_posix_check.bin";
  const char* missing = "winport_posix_check.missing";
  unlink(path);
  // raw bytes: a "\n" and a 0x1A stay one byte each
  unsigned char data[256];
  for (int i = 0; i < 256; ++i) data[i] = (unsigned char)i;
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, data, sizeof data) == (int)sizeof data);
  CHECK(close(fd) == 0);
  CHECK(open(path, O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size == 256);
  // access
  CHECK(access(path, F_OK) == 0);
  CHECK(access(path, R_OK | W_OK) == 0);
  CHECK(access(missing, F_OK) == -1 && errno == ENOENT);
  CHECK(access(path, X_OK) == 0 || access(path, X_OK) == -1);  // POSIX: not executable; Windows: exists
  // positional reads from several threads on one descriptor
  fd = open(path, O_RDONLY, 0);
  CHECK(fd >= 0);
  std::vector<std::thread> readers;
  std::vector<int> wrong(8, 0);
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      unsigned char buf[16];
      for (int round = 0; round < 200; ++round) {
        long long at = (t * 29 + round * 7) % 240;
        if (pread(fd, buf, sizeof buf, at) != (long long)sizeof buf || std::memcmp(buf, data + at, sizeof buf))
          ++wrong[t];
      }
    });
  }
  for (auto& r : readers) r.join();
  for (int t = 0; t < 8; ++t) CHECK(wrong[t] == 0);
  unsigned char tail[16];
  CHECK(pread(fd, tail, sizeof tail, 250) == 6 && tail[0] == 250);  // short read at the end
  CHECK(pread(fd, tail, sizeof tail, 256) == 0);                     // end of file
  unsigned char got[256];
  CHECK(read(fd, got, sizeof got) >= 0);
  CHECK(close(fd) == 0);
  // positional writes
  fd = open(path, O_RDWR, 0);
  CHECK(fd >= 0);
  const unsigned char patch[3] = {'\r', '\n', 0x1A};
  CHECK(pwrite(fd, patch, 3, 100) == 3);
  CHECK(pread(fd, got, 256, 0) == 256 && got[99] == 99 && got[100] == '\r' && got[102] == 0x1A && got[103] == 103);
  CHECK(close(fd) == 0);
  CHECK(unlink(path) == 0 && access(path, F_OK) == -1);
  // clocks and sleeping
  double m0 = seconds(CLOCK_MONOTONIC), r0 = seconds(CLOCK_REALTIME);
  CHECK(usleep(30000) == 0);
  double m1 = seconds(CLOCK_MONOTONIC), r1 = seconds(CLOCK_REALTIME);
  CHECK(m1 - m0 >= 0.029 && m1 - m0 < 5.0);
  CHECK(r1 - r0 >= 0.0 && r1 - r0 < 5.0);
  CHECK(r0 > 1.6e9 && (long)r0 - (long)time(nullptr) <= 1 && (long)time(nullptr) - (long)r0 <= 1);
#ifdef CLOCK_MONOTONIC_RAW
  CHECK(seconds(CLOCK_MONOTONIC_RAW) > 0);
#endif
  struct timespec ts;
  CHECK(clock_gettime(12345, &ts) == -1 && errno == EINVAL);
  CHECK(sleep(0) == 0);
  CHECK(sched_yield() == 0);
  CHECK(getpid() > 0);
  std::printf(failures ? "failed %d\n" : "ok\n", failures);
  return failures != 0;
}
