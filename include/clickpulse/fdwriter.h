/* A buffered writer to a file descriptor whose write(2) calls happen on a
 * thread of their own, so that producing the bytes and the kernel's copying
 * of them overlap. Buffers are bounded: a producer faster than the disk waits. */
#ifndef CLICKPULSE_FDWRITER_H
#define CLICKPULSE_FDWRITER_H

#include <stddef.h>

typedef struct cp_fdwriter cp_fdwriter;

/* For fds opened with O_DIRECT: buffers are page-aligned, every write but the last
 * is a whole number of pages, and the last one is written after O_DIRECT is cleared.
 * On this kind of machine direct writes of large files are several times faster
 * than going through the page cache. */
#define CP_FDWRITER_DIRECT 1u

/* Starts a writer for fd with n_bufs buffers of buf_size bytes (0: 4 MiB and 3;
 * rounded up to whole pages). Does not take ownership of fd. Returns NULL when out
 * of memory or when the thread cannot start. */
cp_fdwriter *cp_fdwriter_new(int fd, size_t buf_size, int n_bufs, unsigned flags);

/* Opens path for writing (created or truncated, mode 0644) with O_DIRECT when the
 * filesystem supports it, else normally; sets *direct accordingly. Returns the fd or -1
 * with errno set. */
int cp_fdwriter_open(const char *path, int *direct);
/* Copies len bytes in; blocks while every buffer waits for the disk. Returns 0, or
 * CP_EIO once any write has failed (later calls keep failing). One producer thread. */
int cp_fdwriter_write(cp_fdwriter *w, const void *data, size_t len);
/* Writes what is buffered, stops the thread and frees the writer. Returns 0 or
 * CP_EIO when any write failed. */
int cp_fdwriter_close(cp_fdwriter *w);

#endif
