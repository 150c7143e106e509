/* File-system helpers (see include/clickpulse/fs.h). */
#include "clickpulse/fs.h"

#include "clickpulse/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int cp_mkdirs(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) return CP_EIO;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return CP_EIO;
        *p = '/';
    }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? CP_OK : CP_EIO;
}
