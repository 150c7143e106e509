/* src/core/log.c: line formats, level filtering, rate limiting. */
#include "clickpulse/log.h"
#include "test.h"

#include <unistd.h>

static char out[65536];

static int pipe_fds[2];

static void start(cp_log_level lvl, cp_log_format fmt)
{
    CHECK(pipe(pipe_fds) == 0);
    cp_log_configure(lvl, fmt, pipe_fds[1]);
}

static const char *finish(void)
{
    close(pipe_fds[1]);
    ssize_t n = read(pipe_fds[0], out, sizeof(out) - 1), m;
    while (n >= 0 && (m = read(pipe_fds[0], out + n, sizeof(out) - 1 - (size_t)n)) > 0) n += m;
    out[n < 0 ? 0 : n] = 0;
    close(pipe_fds[0]);
    cp_log_configure(CP_LOG_INFO, CP_LOG_TEXT, 2);
    return out;
}

static void test_text_and_levels(void)
{
    start(CP_LOG_INFO, CP_LOG_TEXT);
    CP_DEBUG("core", "hidden %d", 1);
    CP_INFO("source:file", "read %d lines", 42);
    CP_ERROR("sink:pg", "down");
    const char *s = finish();
    CHECK(strstr(s, "hidden") == NULL);
    CHECK(strstr(s, " INFO  [source:file] read 42 lines\n") != NULL);
    CHECK(strstr(s, " ERROR [sink:pg] down\n") != NULL);
    CHECK_INT(s[4], '-'); /* starts with an RFC 3339 time */
    CHECK_INT(s[23], 'Z');
}

static void test_json(void)
{
    start(CP_LOG_DEBUG, CP_LOG_JSON);
    CP_WARN("http", "bad \"quote\"\n");
    const char *s = finish();
    CHECK(
        strstr(
            s,
            "\"level\":\"WARN\",\"component\":\"http\",\"msg\":\"bad \\\"quote\\\"\\u000a\"}\n") !=
        NULL);
}

static void test_rate_limit(void)
{
    start(CP_LOG_INFO, CP_LOG_TEXT);
    for (int i = 0; i < 100; i++) CP_LOG_LIMITED(CP_LOG_WARN, 5, "hot", "flood %d", i);
    const char *s = finish();
    int lines = 0;
    for (const char *p = s; *p; p++) lines += *p == '\n';
    CHECK_INT(lines, 5);
    CHECK(strstr(s, "flood 4\n") != NULL);
    CHECK(strstr(s, "flood 5") == NULL);

    cp_log_limit st = {0};
    uint32_t sup;
    CHECK(cp_log_limit_allow(&st, 1, &sup) == 1);
    CHECK(cp_log_limit_allow(&st, 1, &sup) == 0);
    CHECK(cp_log_limit_allow(&st, 1, &sup) == 0);
    st.window_start_ms -= 2000; /* a second later */
    CHECK(cp_log_limit_allow(&st, 1, &sup) == 1);
    CHECK_INT(sup, 2);
    cp_log_level l;
    CHECK(cp_log_level_parse("warn", &l) == 0 && l == CP_LOG_WARN);
    CHECK(cp_log_level_parse("loud", &l) != 0);
}

int main(void)
{
    RUN(test_text_and_levels);
    RUN(test_json);
    RUN(test_rate_limit);
    TEST_END();
}
