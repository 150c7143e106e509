/* The collector's counters and their Prometheus text form. */
#include "internal.h"

#include "clickpulse/error.h"

#include <stdio.h>

static const unsigned codes[] = {
#define X(c) c,
    STATUS_CODES(X)
#undef X
};

static const char *const paths[] = {
#define X(id, path) path,
    ROUTES(X)
#undef X
};

const char *route_path(enum route r)
{
    return paths[r];
}

int status_slot(unsigned status)
{
    for (int i = 0; i < N_STATUS - 1; i++)
        if (codes[i] == status) return i;
    return N_STATUS - 1;
}

void metrics_request(collector_metrics *m, enum route r, unsigned status)
{
    atomic_fetch_add_explicit(&m->requests[r][status_slot(status)], 1, memory_order_relaxed);
}

static const int64_t commit_bounds_us[N_COMMIT_BUCKETS] = {COMMIT_BUCKETS_US};

void metrics_commit(collector_metrics *m, int64_t ns)
{
    int b = 0;
    while (b < N_COMMIT_BUCKETS && ns > commit_bounds_us[b] * 1000) b++;
    atomic_fetch_add(&m->commits, 1); /* before its bucket: a scrape never sees a bucket above it */
    if (b < N_COMMIT_BUCKETS) atomic_fetch_add(&m->commit_buckets[b], 1);
    atomic_fetch_add_explicit(&m->commit_ns_sum, (uint64_t)ns, memory_order_relaxed);
    uint64_t old = atomic_load(&m->commit_ns_max);
    while ((uint64_t)ns > old &&
           !atomic_compare_exchange_weak(&m->commit_ns_max, &old, (uint64_t)ns)) {
    }
}

int metrics_format(const collector_metrics *m, cp_buf *out)
{
    int rc =
        cp_buf_append_str(out, "# HELP clickpulse_http_requests_total Collector requests by route "
                               "and status.\n# TYPE clickpulse_http_requests_total counter\n");
    for (int r = 0; r < R__COUNT && !rc; r++)
        for (int s = 0; s < N_STATUS && !rc; s++) {
            uint64_t n = atomic_load(&m->requests[r][s]);
            if (!n) continue;
            char status[8];
            if (s == N_STATUS - 1)
                snprintf(status, sizeof(status), "other");
            else
                snprintf(status, sizeof(status), "%u", codes[s]);
            rc = cp_buf_appendf(out,
                                "clickpulse_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                                paths[r], status, (unsigned long long)n);
        }
    if (!rc)
        rc = cp_buf_appendf(
            out,
            "# HELP clickpulse_http_bytes_in_total Request body bytes received (after gzip).\n"
            "# TYPE clickpulse_http_bytes_in_total counter\nclickpulse_http_bytes_in_total %llu\n"
            "# HELP clickpulse_log_commit_seconds Group commits of the bronze log (write + "
            "fsync).\n"
            "# TYPE clickpulse_log_commit_seconds histogram\n",
            (unsigned long long)atomic_load(&m->bytes_in));
    uint64_t below = 0;
    for (int b = 0; b < N_COMMIT_BUCKETS && !rc; b++) {
        below += atomic_load(&m->commit_buckets[b]);
        rc = cp_buf_appendf(out, "clickpulse_log_commit_seconds_bucket{le=\"%g\"} %llu\n",
                            (double)commit_bounds_us[b] / 1e6, (unsigned long long)below);
    }
    uint64_t count = atomic_load(&m->commits); /* read after the buckets: at least their sum */
    if (!rc)
        rc = cp_buf_appendf(
            out,
            "clickpulse_log_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
            "clickpulse_log_commit_seconds_sum %.6f\nclickpulse_log_commit_seconds_count %llu\n"
            "# HELP clickpulse_log_commit_max_seconds The slowest group commit since the start.\n"
            "# TYPE clickpulse_log_commit_max_seconds gauge\n"
            "clickpulse_log_commit_max_seconds %.6f\n",
            (unsigned long long)count, (double)atomic_load(&m->commit_ns_sum) / 1e9,
            (unsigned long long)count, (double)atomic_load(&m->commit_ns_max) / 1e9);
    return rc;
}
