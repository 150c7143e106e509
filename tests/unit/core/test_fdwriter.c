/* src/core/fdwriter.c: bytes arrive in order through the background writer,
 * buffered and with O_DIRECT, and write errors are reported. */
#include "clickpulse/error.h"
#include "clickpulse/fdwriter.h"
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_and_check(int use_direct)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/cp_test_fdwriter_%d_%d", (int)getpid(), use_direct);
    int direct = 0, fd;
    if (use_direct)
        fd = cp_fdwriter_open(path, &direct);
    else
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    cp_fdwriter *w = cp_fdwriter_new(fd, 10000, 2, direct ? CP_FDWRITER_DIRECT : 0);
    CHECK(w != NULL);
    /* 1,000,003 bytes in pieces of odd sizes: many buffer hand-overs and a partial tail. */
    static char chunk[777];
    size_t total = 0;
    unsigned v = 0;
    while (total < 1000003) {
        size_t n = 1000003 - total < sizeof(chunk) ? 1000003 - total : sizeof(chunk);
        for (size_t i = 0; i < n; i++) chunk[i] = (char)(v++ * 7 + 3);
        CHECK(cp_fdwriter_write(w, chunk, n) == CP_OK);
        total += n;
    }
    CHECK(cp_fdwriter_close(w) == CP_OK);
    close(fd);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 1000003);
    FILE *f = fopen(path, "rb");
    int ok = 1, c;
    v = 0;
    while ((c = fgetc(f)) != EOF) ok &= (char)c == (char)(v++ * 7 + 3);
    fclose(f);
    CHECK(ok);
    CHECK_INT(v, 1000003);
    unlink(path);
}

static void test_buffered(void)
{
    write_and_check(0);
}

static void test_direct(void)
{
    write_and_check(1);
}

static void test_write_error(void)
{
    int fd = open("/dev/null", O_RDONLY); /* writes fail with EBADF */
    cp_fdwriter *w = cp_fdwriter_new(fd, 4096, 2, 0);
    char buf[4096] = {0};
    int rc = CP_OK;
    for (int i = 0; i < 8 && rc == CP_OK; i++) rc = cp_fdwriter_write(w, buf, sizeof(buf));
    CHECK_INT(rc, CP_EIO);
    CHECK_INT(cp_fdwriter_close(w), CP_EIO);
    close(fd);
}

int main(void)
{
    RUN(test_buffered);
    RUN(test_direct);
    RUN(test_write_error);
    TEST_END();
}
