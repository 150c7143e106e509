/* src/jobs/scheduler.c: retries with backoff and their history, a timeout that
 * interrupts DuckDB, dependencies between scheduled jobs (with a clock the test
 * moves), the concurrency limit, a dependency cycle, the JSON for the API, and jobs
 * running at the background priority. */
#include "clickpulse/error.h"
#include "clickpulse/jobs.h"
#include "clickpulse/thread.h"
#include "clickpulse/time.h"
#include "test.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static cp_store *st;
static char err[512];
static _Atomic int64_t fake_now;
static int64_t clock_fn(void)
{
    return atomic_load(&fake_now);
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static int64_t q(const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK_INT(cp_store_scalar(st, sql, &v, &null), CP_OK);
    return null ? -1 : v;
}

typedef struct flaky {
    int fail_first, calls;
} flaky;

static int flaky_run(void *ud, cp_store *session, int64_t *rows, char *e, size_t n)
{
    flaky *f = ud;
    (void)session;
    if (++f->calls <= f->fail_first) {
        snprintf(e, n, "it's attempt %d", f->calls);
        return CP_EIO;
    }
    *rows = 42;
    return CP_OK;
}

static int slow_query(void *ud, cp_store *session, int64_t *rows, char *e, size_t n)
{
    (void)ud, (void)rows;
    return cp_store_exec(session, "SELECT count(*) FROM range(100000000) a, range(100000000) b", e,
                         n);
}

/* Two long statements, the second started whatever became of the first (as the models job
 * goes on with the models that do not depend on a failed one). */
static int two_slow_queries(void *ud, cp_store *session, int64_t *rows, char *e, size_t n)
{
    slow_query(ud, session, rows, e, n);
    return slow_query(ud, session, rows, e, n);
}

/* A transaction timed out: its ROLLBACK still runs, so the next attempt can begin one. */
static atomic_int begun;
static int slow_transaction(void *ud, cp_store *session, int64_t *rows, char *e, size_t n)
{
    if (cp_store_exec(session, "BEGIN TRANSACTION", e, n)) return CP_EDB;
    atomic_fetch_add(&begun, 1);
    int rc = slow_query(ud, session, rows, e, n);
    cp_store_exec(session, "ROLLBACK", NULL, 0);
    return rc;
}

static void test_retries_timeout_history(void)
{
    cp_scheduler *s;
    CHECK_INT(cp_store_open(":memory:", false, &st, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_new(st, 2, &s, err, sizeof(err)), CP_OK);
    flaky twice = {.fail_first = 2}, always = {.fail_first = 1000};
    cp_job_def a = {
        .name = "twice", .retries = 3, .backoff_ms = 10, .run = flaky_run, .ud = &twice};
    cp_job_def b = {
        .name = "always", .retries = 2, .backoff_ms = 5, .run = flaky_run, .ud = &always};
    cp_job_def c = {.name = "slow", .timeout_ms = 200, .run = slow_query};
    CHECK_INT(cp_scheduler_add(s, &a, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_add(s, &b, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_add(s, &c, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_start(s, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_run(s, "twice", true, err, sizeof(err)), CP_OK);
    CHECK_INT(twice.calls, 3);
    CHECK_INT(cp_scheduler_run(s, "always", true, err, sizeof(err)), CP_EIO);
    CHECK_STR(err, "it's attempt 3");
    CHECK_INT(always.calls, 3);
    int64_t t0 = cp_mono_ns();
    CHECK_INT(cp_scheduler_run(s, "slow", true, err, sizeof(err)), CP_EDB);
    CHECK_STR(err, "timed out after 200 ms");
    CHECK((cp_mono_ns() - t0) / 1000000 < 5000);
    CHECK_INT(cp_scheduler_run(s, "nothing", true, err, sizeof(err)), CP_ENOENT);
    cp_job_def t = {
        .name = "txn", .timeout_ms = 100, .retries = 1, .backoff_ms = 1, .run = slow_transaction};
    CHECK_INT(cp_scheduler_add(s, &t, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_run(s, "txn", true, err, sizeof(err)), CP_EDB);
    CHECK_STR(err, "timed out after 100 ms");
    CHECK_INT(atomic_load(&begun), 2);
    cp_buf j;
    cp_buf_init(&j);
    cp_scheduler_json(s, &j);
    cp_buf_append_char(&j, 0);
    CHECK(strstr(j.ptr,
                 "{\"name\":\"twice\",\"schedule\":\"\",\"after\":\"\",\"next_run\":null,"
                 "\"running\":false,\"last\":{\"status\":\"ok\",\"attempts\":3,\"rows\":42,") !=
          NULL);
    CHECK(strstr(j.ptr, "\"status\":\"failed\",\"attempts\":3,\"rows\":0,") != NULL);
    CHECK(strstr(j.ptr, "\"error\":\"it's attempt 3\"}}") != NULL);
    CHECK(strstr(j.ptr, "\"status\":\"timeout\",\"attempts\":1,") != NULL);
    cp_buf_free(&j);
    /* A run going on when the scheduler stops: interrupted, not failed, and not retried; its
     * next statement does not start. */
    cp_job_def d = {.name = "cut", .retries = 3, .backoff_ms = 10, .run = two_slow_queries};
    CHECK_INT(cp_scheduler_add(s, &d, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_run(s, "cut", false, err, sizeof(err)), CP_OK);
    sleep_ms(300); /* its first query under way */
    t0 = cp_mono_ns();
    alarm(60); /* a stop waiting for the second query would wait for good: the test ends */
    cp_scheduler_free(s);
    alarm(0);
    CHECK((cp_mono_ns() - t0) / 1000000 < 5000);
    CHECK_INT(q("SELECT count(*) FROM job_runs"), 5);
    CHECK_INT(q("SELECT attempts FROM job_runs WHERE job = 'cut' AND status = 'interrupted' AND "
                "error = 'interrupted: the scheduler stopped'"),
              1);
    CHECK_INT(q("SELECT attempts FROM job_runs WHERE job = 'twice' AND status = 'ok' AND rows = 42 "
                "AND error IS NULL"),
              3);
    CHECK_INT(q("SELECT attempts FROM job_runs WHERE job = 'always' AND status = 'failed' AND "
                "error = 'it''s attempt 3'"),
              3);
    CHECK_INT(q("SELECT count(*) FROM job_runs WHERE job = 'slow' AND status = 'timeout' AND "
                "ended_at >= started_at"),
              1);
    cp_store_close(st);
}

static flaky upstream = {.fail_first = 1};
static atomic_int downstream_runs, downstream_nice;
static int count_run(void *ud, cp_store *session, int64_t *rows, char *e, size_t n)
{
    (void)ud, (void)session, (void)rows, (void)e, (void)n;
    atomic_fetch_add(&downstream_runs, 1);
    atomic_store(&downstream_nice, getpriority(PRIO_PROCESS, 0)); /* this thread's */
    return CP_OK;
}

static int job_status(cp_scheduler *s, const char *name, const char *status)
{
    cp_buf j;
    cp_buf_init(&j);
    cp_scheduler_json(s, &j);
    cp_buf_append_char(&j, 0);
    char want[200];
    snprintf(want, sizeof(want), "{\"name\":\"%s\"", name);
    const char *at = strstr(j.ptr, want), *end = at ? strstr(at + 1, "{\"name\"") : NULL;
    snprintf(want, sizeof(want), "\"status\":\"%s\"", status);
    const char *st_at = at ? strstr(at, want) : NULL;
    int ok = st_at && (!end || st_at < end);
    cp_buf_free(&j);
    return ok;
}

static void wait_until(cp_scheduler *s, const char *name, const char *status)
{
    for (int i = 0; i < 300 && !job_status(s, name, status); i++) sleep_ms(10);
}

static void test_schedule_and_dependencies(void)
{
    cp_scheduler *s;
    int base = getpriority(PRIO_PROCESS, 0);
    cp_thread_set_background_nice(5);
    CHECK_INT(cp_store_open(":memory:", false, &st, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_new(st, 2, &s, err, sizeof(err)), CP_OK);
    atomic_store(&fake_now, 1790856000000LL + 30000); /* 12:00:30 */
    cp_scheduler_set_clock(s, clock_fn);
    cp_job_def up = {.name = "build", .schedule = "* * * * *", .run = flaky_run, .ud = &upstream};
    cp_job_def down = {
        .name = "test", .schedule = "*/2 * * * *", .after = "build", .run = count_run};
    CHECK_INT(cp_scheduler_add(s, &up, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_add(s, &down, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_start(s, err, sizeof(err)), CP_OK);
    sleep_ms(300);
    CHECK_INT(upstream.calls, 0);                     /* nothing due before 12:01 */
    atomic_store(&fake_now, 1790856000000LL + 60000); /* 12:01: build is due and fails */
    wait_until(s, "build", "failed");
    CHECK_INT(upstream.calls, 1);
    atomic_store(&fake_now, 1790856000000LL + 120000); /* 12:02: build ok; test waits for it */
    wait_until(s, "test", "ok");
    CHECK_INT(upstream.calls, 2);
    CHECK_INT(atomic_load(&downstream_runs), 1);
    CHECK_INT(atomic_load(&downstream_nice), base + 5); /* jobs give way to the collector */
    CHECK_INT(getpriority(PRIO_PROCESS, 0), base);
    atomic_store(&fake_now, 1790856000000LL + 180000); /* 12:03: only build */
    for (int i = 0; i < 300 && upstream.calls < 3; i++) sleep_ms(10);
    sleep_ms(200);
    CHECK_INT(upstream.calls, 3);
    CHECK_INT(atomic_load(&downstream_runs), 1);
    cp_scheduler_free(s);
    cp_store_close(st);
}

static atomic_int running_now, running_max;
static int busy_run(void *ud, cp_store *session, int64_t *rows, char *e, size_t n)
{
    (void)ud, (void)session, (void)rows, (void)e, (void)n;
    int r = atomic_fetch_add(&running_now, 1) + 1;
    int m = atomic_load(&running_max);
    while (r > m && !atomic_compare_exchange_weak(&running_max, &m, r)) {
    }
    sleep_ms(100);
    atomic_fetch_sub(&running_now, 1);
    return CP_OK;
}

static void test_limit_and_cycle(void)
{
    cp_scheduler *s;
    CHECK_INT(cp_store_open(":memory:", false, &st, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_new(st, 1, &s, err, sizeof(err)), CP_OK);
    cp_job_def a = {.name = "a", .run = busy_run}, b = {.name = "b", .run = busy_run};
    CHECK_INT(cp_scheduler_add(s, &a, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_add(s, &b, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_start(s, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_run(s, "a", false, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_run(s, "b", true, err, sizeof(err)), CP_OK);
    wait_until(s, "a", "ok");
    CHECK_INT(atomic_load(&running_max), 1);
    cp_scheduler_free(s);

    CHECK_INT(cp_scheduler_new(st, 1, &s, err, sizeof(err)), CP_OK);
    cp_job_def x = {.name = "x", .after = "y", .run = busy_run},
               y = {.name = "y", .after = "x", .run = busy_run};
    cp_job_def z = {.name = "z", .after = "nope", .run = busy_run},
               bad = {.name = "bad", .schedule = "61 * * * *"};
    CHECK_INT(cp_scheduler_add(s, &bad, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "job bad: schedule minute: 61-61 is outside 0-59");
    CHECK_INT(cp_scheduler_add(s, &x, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_add(s, &y, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_start(s, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "jobs x and y depend on each other");
    CHECK_INT(cp_scheduler_add(s, &z, err, sizeof(err)), CP_OK);
    cp_scheduler_free(s);
    CHECK_INT(cp_scheduler_new(st, 1, &s, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_add(s, &z, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_scheduler_start(s, err, sizeof(err)), CP_ENOENT);
    CHECK_STR(err, "job z: after nope: no such job");
    cp_scheduler_free(s);
    cp_store_close(st);
}

int main(void)
{
    RUN(test_retries_timeout_history);
    RUN(test_schedule_and_dependencies);
    RUN(test_limit_and_cycle);
    TEST_END();
}
