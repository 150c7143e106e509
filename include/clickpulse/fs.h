/* Small file-system helpers. */
#ifndef CLICKPULSE_FS_H
#define CLICKPULSE_FS_H

/* Creates a directory and its missing parents (like mkdir -p), mode 0755.
 * Returns 0, or CP_EIO with errno set. */
int cp_mkdirs(const char *path);

#endif
