/* winport_posix.h: the POSIX calls vLLM's host C++ makes, for MSVC.
 *
 * Written into the tree by winport (transform cuda/posix-compat), which includes it
 * in place of <unistd.h> and <sys/time.h> under _MSC_VER. Linux never includes it,
 * and everything below is for MSVC only (WINPORT_POSIX_SHIMS turns it on for a
 * test with MinGW's Windows headers).
 *
 *   access(path, F_OK | R_OK | W_OK | X_OK)   _access; X_OK asks existence only
 *   open(path, flags[, mode])  (C++)          _open with _O_BINARY: raw bytes, as on POSIX
 *   pread / pwrite                            ReadFile / WriteFile at an offset; concurrent
 *                                             callers never share a file position (the
 *                                             position afterwards is unspecified)
 *   clock_gettime(CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW, &ts)
 *                                             system time / QueryPerformanceCounter
 *   usleep, sleep, sched_yield                Sleep (rounded up to a millisecond), SwitchToThread
 *   getpid                                    MSVC's own (<process.h>)
 *
 * Names MSVC lacks are plain inline functions (a macro would also rename members
 * such as allocator.sleep()); access, which MSVC has with another meaning of X_OK, and
 * clock_gettime and sched_yield, which a threads library may declare, are macros for
 * winport_ functions.
 * open is an overload (C++ only) that wins over the CRT's open(const char*, int, ...)
 * when given a mode: cuda/posix-compat writes open(path, flags) as open(path, flags, 0).
 */
#pragma once

#if defined(_MSC_VER) && !defined(WINPORT_POSIX_SHIMS)
  #define WINPORT_POSIX_SHIMS
#endif

#ifdef WINPORT_POSIX_SHIMS

#ifndef WIN32_LEAN_AND_MEAN
  #define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
  #define NOMINMAX
#endif
#include <windows.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

/* access(2) modes; a Windows file has no execute bit, so X_OK asks whether it exists */
#ifndef F_OK
  #define F_OK 0
#endif
#ifndef X_OK
  #define X_OK 1
#endif
#ifndef W_OK
  #define W_OK 2
#endif
#ifndef R_OK
  #define R_OK 4
#endif

static inline int winport_access(const char* path, int mode) {
  return _access(path, mode & (R_OK | W_OK)); /* _access rejects X_OK */
}
#define access(path, mode) winport_access((path), (mode))

/* clocks: CLOCK_MONOTONIC(_RAW) is the performance counter, which no clock adjustment moves */
#ifndef CLOCK_REALTIME
  #define CLOCK_REALTIME 0
#endif
#ifndef CLOCK_MONOTONIC
  #define CLOCK_MONOTONIC 1
#endif
#ifndef CLOCK_MONOTONIC_RAW
  #define CLOCK_MONOTONIC_RAW 4
#endif

static inline int winport_clock_gettime(int clock_id, struct timespec* ts) {
  if (clock_id == CLOCK_REALTIME) {
    FILETIME ft;
    ULARGE_INTEGER t;
    GetSystemTimePreciseAsFileTime(&ft);
    t.LowPart = ft.dwLowDateTime;
    t.HighPart = ft.dwHighDateTime;
    /* 100 ns units since 1601-01-01 -> since 1970-01-01 */
    unsigned long long since_epoch = t.QuadPart - 116444736000000000ULL;
    ts->tv_sec = (time_t)(since_epoch / 10000000ULL);
    ts->tv_nsec = (long)(since_epoch % 10000000ULL) * 100;
    return 0;
  }
  if (clock_id == CLOCK_MONOTONIC || clock_id == CLOCK_MONOTONIC_RAW) {
    LARGE_INTEGER frequency, count;
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&count);
    ts->tv_sec = (time_t)(count.QuadPart / frequency.QuadPart);
    ts->tv_nsec = (long)((count.QuadPart % frequency.QuadPart) * 1000000000LL / frequency.QuadPart);
    return 0;
  }
  errno = EINVAL;
  return -1;
}
#define clock_gettime winport_clock_gettime /* a threads library may declare its own */

static inline int usleep(unsigned long long usec) {
  Sleep((DWORD)((usec + 999) / 1000));
  return 0;
}

static inline unsigned int sleep(unsigned int seconds) {
  Sleep((DWORD)seconds * 1000);
  return 0;
}

static inline int winport_sched_yield(void) {
  SwitchToThread();
  return 0;
}
#define sched_yield winport_sched_yield

/* positional I/O on the descriptor's handle: an OVERLAPPED offset, so threads reading
 * one descriptor never race on a shared position. At most 2 GiB a call: a short
 * count, as POSIX allows. */
static inline HANDLE winport_at(int fd, long long offset, size_t* count, OVERLAPPED* at) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) errno = EBADF;
  ZeroMemory(at, sizeof(*at));
  at->Offset = (DWORD)(offset & 0xFFFFFFFFULL);
  at->OffsetHigh = (DWORD)((unsigned long long)offset >> 32);
  if (*count > 0x7FFFFFFFu) *count = 0x7FFFFFFFu;
  return h;
}

static inline long long pread(int fd, void* buf, size_t count, long long offset) {
  OVERLAPPED at;
  DWORD done = 0;
  HANDLE h = winport_at(fd, offset, &count, &at);
  if (h == INVALID_HANDLE_VALUE) return -1;
  if (!ReadFile(h, buf, (DWORD)count, &done, &at)) {
    if (GetLastError() == ERROR_HANDLE_EOF) return 0;
    errno = EIO;
    return -1;
  }
  return (long long)done;
}

static inline long long pwrite(int fd, const void* buf, size_t count, long long offset) {
  OVERLAPPED at;
  DWORD done = 0;
  HANDLE h = winport_at(fd, offset, &count, &at);
  if (h == INVALID_HANDLE_VALUE) return -1;
  if (!WriteFile(h, buf, (DWORD)count, &done, &at)) {
    errno = EIO;
    return -1;
  }
  return (long long)done;
}

#ifdef __cplusplus
/* open(2) without text-mode translation: POSIX files are bytes. An overload, not a
 * macro, so that members named open (std::ifstream::open) are left alone; given three
 * arguments it wins over the CRT's variadic open(const char*, int, ...). */
extern "C++" {
namespace winport_posix {
inline int open(const char* path, int flags, int mode) {
  return ::_open(path, flags | _O_BINARY, mode & (_S_IREAD | _S_IWRITE));
}
}  // namespace winport_posix
using winport_posix::open;
}
#endif

#endif /* WINPORT_POSIX_SHIMS */
