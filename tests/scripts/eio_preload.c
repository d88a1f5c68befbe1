/* LD_PRELOAD shim for the fault tests: the process's writes (pwrite, pwrite64, pwritev) to
   the file whose path ends in "/$EIO_FILE" fail with EIO from the $EIO_AFTER-th on, the way
   a disk error would meet them inside HDF5 and MPI-IO. Build: cc -shared -fPIC -o eio.so
   eio_preload.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static long writes; /* writes to the file so far */

/* Whether this write to fd is to fail. */
static int fails(int fd)
{
  const char *file = getenv("EIO_FILE"), *after = getenv("EIO_AFTER");
  char        link[64], path[4096];
  ssize_t     len;
  size_t      flen;

  if (!file || !after) return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  if ((len = readlink(link, path, sizeof(path) - 1)) < 0) return 0;
  path[len] = 0;
  flen      = strlen(file);
  if ((size_t)len <= flen || path[len - (ssize_t)flen - 1] != '/' || strcmp(path + len - flen, file)) return 0;
  return ++writes >= atol(after);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
{
  static ssize_t (*real)(int, const void *, size_t, off_t);

  if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
  if (fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buf, count, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) { return pwrite64(fd, buf, count, offset); }

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
  static ssize_t (*real)(int, const struct iovec *, int, off_t);

  if (!real) real = (ssize_t (*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev");
  if (fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, iov, iovcnt, offset);
}
