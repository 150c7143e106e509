/* src/http/metrics.c: requests by route and status, bytes in, and the bronze log's group
 * commits as a Prometheus histogram with their slowest. */
#include "http/internal.h"
#include "test.h"

#include <string.h>

static char *text(const collector_metrics *m, cp_buf *b)
{
    cp_buf_init(b);
    CHECK_INT(metrics_format(m, b), 0);
    cp_buf_append_char(b, 0);
    return b->ptr;
}

static void test_commit_histogram(void)
{
    static collector_metrics m;
    /* 0.3 ms, exactly 1 ms (the bound is inclusive), 1.5 ms, 7 ms, 300 ms, 3 s */
    const int64_t ns[] = {300000, 1000000, 1500000, 7000000, 300000000, 3000000000};
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) metrics_commit(&m, ns[i]);
    cp_buf b;
    const char *t = text(&m, &b);
    CHECK(strstr(t, "# TYPE clickpulse_log_commit_seconds histogram\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.0005\"} 1\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.001\"} 2\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.002\"} 3\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.005\"} 3\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.01\"} 4\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.025\"} 4\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.05\"} 4\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.1\"} 4\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.25\"} 4\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"0.5\"} 5\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"1\"} 5\n"
                    "clickpulse_log_commit_seconds_bucket{le=\"+Inf\"} 6\n"
                    "clickpulse_log_commit_seconds_sum 3.309800\n"
                    "clickpulse_log_commit_seconds_count 6\n") != NULL);
    CHECK(strstr(t, "# TYPE clickpulse_log_commit_max_seconds gauge\n"
                    "clickpulse_log_commit_max_seconds 3.000000\n") != NULL);
    cp_buf_free(&b);
}

static void test_requests_and_bytes(void)
{
    static collector_metrics m;
    metrics_request(&m, R_TRACK, 200);
    metrics_request(&m, R_TRACK, 200);
    metrics_request(&m, R_TRACK, 401);
    metrics_request(&m, R_TRACK, 418); /* a status without a slot of its own */
    atomic_store(&m.bytes_in, 12345);
    cp_buf b;
    const char *t = text(&m, &b);
    CHECK(strstr(t, "clickpulse_http_requests_total{route=\"/v1/track\",status=\"200\"} 2\n") !=
          NULL);
    CHECK(strstr(t, "clickpulse_http_requests_total{route=\"/v1/track\",status=\"401\"} 1\n") !=
          NULL);
    CHECK(strstr(t, "clickpulse_http_requests_total{route=\"/v1/track\",status=\"other\"} 1\n") !=
          NULL);
    CHECK(strstr(t, "status=\"404\"") == NULL); /* counters at zero are left out */
    CHECK(strstr(t, "\nclickpulse_http_bytes_in_total 12345\n") != NULL);
    /* no commits yet: every bucket, the sum and the count at zero */
    CHECK(strstr(t, "clickpulse_log_commit_seconds_bucket{le=\"+Inf\"} 0\n"
                    "clickpulse_log_commit_seconds_sum 0.000000\n"
                    "clickpulse_log_commit_seconds_count 0\n") != NULL);
    cp_buf_free(&b);
}

int main(void)
{
    RUN(test_commit_histogram);
    RUN(test_requests_and_bytes);
    TEST_END();
}
