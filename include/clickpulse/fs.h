/* Small file-system helpers. */
#ifndef CLICKPULSE_FS_H
#define CLICKPULSE_FS_H

/* Creates a directory and its missing parents (like mkdir -p), mode 0755.
 * Returns 0, or CP_EIO with errno set. */
int cp_mkdirs(const char *path);

#include <stddef.h>
/* Replaces path's content with len bytes of data, whole or not at all: written to
 * path.tmp, synced, renamed over path, the directory synced. Returns 0, or CP_EIO with
 * errno set (path.tmp removed). */
int cp_write_file_atomic(const char *path, const void *data, size_t len);

#endif
