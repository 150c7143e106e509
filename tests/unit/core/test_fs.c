/* src/core/fs.c: directories made with their parents; a file's content replaced whole. */
#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[128];

static void test_mkdirs(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    CHECK_INT(cp_mkdirs(path), CP_OK);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_INT(cp_mkdirs(path), CP_OK); /* there already */
    snprintf(path, sizeof(path), "%s/a/file", dir);
    CHECK_INT(cp_write_file_atomic(path, "x", 1), CP_OK);
    snprintf(path, sizeof(path), "%s/a/file/d", dir);
    CHECK_INT(cp_mkdirs(path), CP_EIO); /* under a file */
}

static void test_write_file_atomic(void)
{
    char path[256], tmp[300], got[64] = "";
    snprintf(path, sizeof(path), "%s/position", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    CHECK_INT(cp_write_file_atomic(path, "next 10 pending -1\n", 19), CP_OK);
    CHECK_INT(cp_write_file_atomic(path, "next 12\n", 8), CP_OK); /* shorter: nothing left over */
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
    if (f) fclose(f);
    got[n] = 0;
    CHECK_STR(got, "next 12\n");
    CHECK_INT(access(tmp, F_OK), -1); /* renamed into place */
    snprintf(path, sizeof(path), "%s/missing/position", dir);
    CHECK_INT(cp_write_file_atomic(path, "x", 1), CP_EIO);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_fs_%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    RUN(test_mkdirs);
    RUN(test_write_file_atomic);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_END();
}
