/* The job scheduler (see include/clickpulse/jobs.h): a clock thread that starts
 * due jobs on threads of their own and watches their timeouts. */
#include "clickpulse/jobs.h"

#include "clickpulse/cron.h"
#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "clickpulse/thread.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_JOBS 64
#define TICK_MS  100

typedef struct job {
    cp_job_def d;
    char *name, *schedule, *after_text;
    cp_cron cron;
    bool scheduled;
    int after[MAX_JOBS], n_after;
    int64_t next_ms;
    bool due, running, manual;
    pthread_t thread;
    cp_store *session; /* while running */
    int64_t attempt_start_ms;
    bool timed_out;
    bool stopped; /* its last run was interrupted by the scheduler's stop */
    /* the last run */
    bool has_last;
    int last_rc, last_attempts;
    int64_t last_start_ms, last_end_ms, last_rows;
    char last_error[512];
    uint64_t runs; /* finished runs, for waiters */
} job;

struct cp_scheduler {
    cp_store *store;
    int max_concurrent, running;
    job jobs[MAX_JOBS];
    int n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t clock;
    bool started, stop;
    int64_t (*now)(void); /* the wall clock; tests put theirs */
};

static const char *status_of(const job *j)
{
    return !j->has_last          ? ""
           : j->last_rc == CP_OK ? "ok"
           : j->stopped          ? "interrupted"
           : j->timed_out        ? "timeout"
                                 : "failed";
}

/* Sleeps up to ms, waking early when the scheduler stops. With s->mu held. */
static void nap(cp_scheduler *s, int64_t ms)
{
    struct timespec until = cp_timespec_of_ms(cp_now_ms() + ms);
    while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
    }
}

static void record(cp_store *session, const job *j)
{
    char sql[1400], err[256];
    char esc[1100];
    size_t k = 0;
    for (const char *p = j->last_error; *p && k + 2 < sizeof(esc); p++) { /* SQL string quoting */
        if (*p == '\'') esc[k++] = '\'';
        esc[k++] = *p;
    }
    esc[k] = 0;
    snprintf(sql, sizeof(sql),
             "INSERT INTO job_runs VALUES ('%s', make_timestamp(%lld), make_timestamp(%lld), '%s', "
             "%d, %lld, %s%s%s)",
             j->name, (long long)j->last_start_ms * 1000, (long long)j->last_end_ms * 1000,
             status_of(j), j->last_attempts, (long long)j->last_rows, j->last_rc ? "'" : "",
             j->last_rc ? esc : "NULL", j->last_rc ? "'" : "");
    if (cp_store_exec(session, sql, err, sizeof(err)))
        CP_LOG_LIMITED(CP_LOG_WARN, 1, "jobs", "recording a run of %s: %s", j->name, err);
}

typedef struct run_arg {
    cp_scheduler *s;
    int i;
} run_arg;

static void *run_job(void *arg)
{
    run_arg *a = arg;
    cp_scheduler *s = a->s;
    job *j = &s->jobs[a->i];
    cp_free(a);
    char name[16];
    snprintf(name, sizeof(name), "job %s", j->name); /* in top -H: which job works */
    pthread_setname_np(pthread_self(), name);
    cp_thread_background();
    cp_store *session = NULL;
    char err[512] = "";
    int64_t rows = 0;
    int rc = cp_store_session(s->store, &session);
    if (rc) snprintf(err, sizeof(err), "cannot open a store session");
    int attempts = 0;
    int64_t start = cp_now_ms();
    pthread_mutex_lock(&s->mu);
    j->session = session;
    j->timed_out = false;
    pthread_mutex_unlock(&s->mu);
    while (session) {
        attempts++;
        pthread_mutex_lock(&s->mu);
        j->attempt_start_ms = cp_now_ms();
        if (!s->stop) cp_store_resume(session); /* a timeout's interrupt ends with its attempt */
        pthread_mutex_unlock(&s->mu);
        err[0] = 0;
        rows = 0;
        rc = j->d.run(j->d.ud, session, &rows, err, sizeof(err));
        pthread_mutex_lock(&s->mu);
        j->stopped = rc && s->stop && !j->timed_out; /* not the job's failure */
        if (rc && j->timed_out)
            snprintf(err, sizeof(err), "timed out after %lld ms", (long long)j->d.timeout_ms);
        if (j->stopped) snprintf(err, sizeof(err), "interrupted: the scheduler stopped");
        bool again = rc && attempts <= j->d.retries && !s->stop;
        if (again) {
            int64_t wait = j->d.backoff_ms << (attempts - 1 < 20 ? attempts - 1 : 20);
            CP_WARN("jobs", "%s failed (attempt %d): %s; retrying in %lld ms", j->name, attempts,
                    err, (long long)wait);
            j->timed_out = false;
            nap(s, wait);
        }
        pthread_mutex_unlock(&s->mu);
        if (!again) break;
    }
    pthread_mutex_lock(&s->mu);
    j->has_last = true;
    j->last_rc = rc;
    j->last_attempts = attempts;
    j->last_start_ms = start;
    j->last_end_ms = cp_now_ms();
    j->last_rows = rows;
    snprintf(j->last_error, sizeof(j->last_error), "%s", rc ? err : "");
    j->session = NULL;
    pthread_mutex_unlock(&s->mu);
    if (session) {
        cp_store_resume(session); /* the history's row is written whatever stopped the run */
        record(session, j);
        cp_store_close(session);
    }
    if (rc && j->stopped)
        CP_INFO("jobs", "%s interrupted by the stop (attempt %d)", j->name, attempts);
    else if (rc)
        CP_ERROR("jobs", "%s failed after %d attempt%s: %s", j->name, attempts,
                 attempts == 1 ? "" : "s", err);
    pthread_mutex_lock(&s->mu);
    j->running = false;
    j->runs++;
    s->running--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* With s->mu held. */
static bool deps_ok(const cp_scheduler *s, const job *j)
{
    for (int k = 0; k < j->n_after; k++) {
        const job *d = &s->jobs[j->after[k]];
        if (d->running || !d->has_last || d->last_rc != CP_OK) return false;
    }
    return true;
}

static void launch(cp_scheduler *s, int i)
{
    job *j = &s->jobs[i];
    run_arg *a = cp_calloc(1, sizeof(*a));
    if (!a) return;
    *a = (run_arg){s, i};
    j->running = true;
    j->due = j->manual = false;
    s->running++;
    if (pthread_create(&j->thread, NULL, run_job, a) != 0) {
        cp_free(a);
        j->running = false;
        s->running--;
        return;
    }
    pthread_detach(j->thread);
}

static void *clock_main(void *arg)
{
    cp_scheduler *s = arg;
    pthread_setname_np(pthread_self(), "job clock");
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now = s->now();
        for (int i = 0; i < s->n; i++) {
            job *j = &s->jobs[i];
            if (j->scheduled && now >= j->next_ms) {
                j->due = true;
                j->next_ms = cp_cron_next(&j->cron, now);
            }
            if (j->running && j->d.timeout_ms && !j->timed_out && j->session &&
                cp_now_ms() - j->attempt_start_ms > j->d.timeout_ms) {
                j->timed_out = true;
                cp_store_interrupt(j->session);
            }
        }
        for (int i = 0; i < s->n && s->running < s->max_concurrent; i++) {
            job *j = &s->jobs[i];
            if (!j->running && (j->manual || (j->due && deps_ok(s, j)))) launch(s, i);
        }
        nap(s, TICK_MS);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int cp_scheduler_new(cp_store *store, int max_concurrent, cp_scheduler **out, char *err,
                     size_t errlen)
{
    cp_scheduler *s = cp_calloc(1, sizeof(*s));
    if (!s) return CP_ENOMEM;
    s->store = store;
    s->max_concurrent = max_concurrent > 0 ? max_concurrent : 1;
    s->now = cp_now_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    cp_store *session; /* the store's own connection may be another thread's */
    int rc = cp_store_session(store, &session);
    if (rc == CP_OK) {
        rc =
            cp_store_exec(session,
                          "CREATE TABLE IF NOT EXISTS job_runs (job VARCHAR, started_at TIMESTAMP, "
                          "ended_at TIMESTAMP, status VARCHAR, attempts INTEGER, rows BIGINT, "
                          "error VARCHAR)",
                          err, errlen);
        cp_store_close(session);
    }
    if (rc) {
        cp_scheduler_free(s);
        return rc;
    }
    *out = s;
    return CP_OK;
}

int cp_scheduler_add(cp_scheduler *s, const cp_job_def *def, char *err, size_t errlen)
{
    if (s->n == MAX_JOBS) {
        snprintf(err, errlen, "more than %d jobs", MAX_JOBS);
        return CP_ERANGE;
    }
    job *j = &s->jobs[s->n];
    memset(j, 0, sizeof(*j));
    j->d = *def;
    j->name = cp_strdup(def->name);
    j->schedule = cp_strdup(def->schedule ? def->schedule : "");
    j->after_text = cp_strdup(def->after ? def->after : "");
    int rc = !j->name || !j->schedule || !j->after_text ? CP_ENOMEM : CP_OK;
    char why[200];
    if (rc == CP_OK && j->schedule[0]) {
        if (cp_cron_parse(j->schedule, &j->cron, why, sizeof(why))) {
            snprintf(err, errlen, "job %s: schedule %s", j->name, why);
            rc = CP_EINVAL;
        }
        j->scheduled = true;
    }
    if (rc == CP_OK) {
        s->n++;
        return CP_OK;
    }
    cp_free(j->name); /* the slot stays free */
    cp_free(j->schedule);
    cp_free(j->after_text);
    return rc;
}

static int find(const cp_scheduler *s, const char *name, size_t len)
{
    for (int i = 0; i < s->n; i++)
        if (strlen(s->jobs[i].name) == len && strncmp(s->jobs[i].name, name, len) == 0) return i;
    return -1;
}

static bool reaches(const cp_scheduler *s, int from, int to, int depth)
{
    if (from == to) return true;
    if (depth > MAX_JOBS) return false;
    for (int k = 0; k < s->jobs[from].n_after; k++)
        if (reaches(s, s->jobs[from].after[k], to, depth + 1)) return true;
    return false;
}

void cp_scheduler_set_clock(cp_scheduler *s, int64_t (*now)(void))
{
    s->now = now;
}

int cp_scheduler_start(cp_scheduler *s, char *err, size_t errlen)
{
    int64_t now = s->now();
    for (int i = 0; i < s->n; i++) {
        job *j = &s->jobs[i];
        j->n_after = 0;
        for (const char *p = j->after_text; *p;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            while (len && *p == ' ') p++, len--;
            while (len && p[len - 1] == ' ') len--;
            int k = len ? find(s, p, len) : -1;
            if (len && k < 0) {
                snprintf(err, errlen, "job %s: after %.*s: no such job", j->name, (int)len, p);
                return CP_ENOENT;
            }
            if (k >= 0 && j->n_after < MAX_JOBS) j->after[j->n_after++] = k;
            p = e ? e + 1 : p + strlen(p);
        }
        if (j->scheduled) j->next_ms = cp_cron_next(&j->cron, now);
    }
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < s->jobs[i].n_after; k++)
            if (reaches(s, s->jobs[i].after[k], i, 0)) {
                snprintf(err, errlen, "jobs %s and %s depend on each other", s->jobs[i].name,
                         s->jobs[s->jobs[i].after[k]].name);
                return CP_EINVAL;
            }
    if (pthread_create(&s->clock, NULL, clock_main, s) != 0) return CP_ENOMEM;
    s->started = true;
    return CP_OK;
}

int cp_scheduler_run(cp_scheduler *s, const char *name, bool wait, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    int i = find(s, name, strlen(name));
    if (i < 0) {
        pthread_mutex_unlock(&s->mu);
        snprintf(err, errlen, "no job named %s", name);
        return CP_ENOENT;
    }
    job *j = &s->jobs[i];
    uint64_t before = j->runs + (j->running ? 1 : 0);
    j->manual = true;
    pthread_cond_broadcast(&s->cv);
    int rc = CP_OK;
    if (wait) {
        while (j->runs <= before && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        rc = j->last_rc;
        if (rc) snprintf(err, errlen, "%s", j->last_error);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void cp_scheduler_free(cp_scheduler *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    for (int i = 0; i < s->n; i++)
        if (s->jobs[i].running && s->jobs[i].session) cp_store_interrupt(s->jobs[i].session);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started) pthread_join(s->clock, NULL);
    pthread_mutex_lock(&s->mu);
    while (s->running) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n; i++) {
        cp_free(s->jobs[i].name);
        cp_free(s->jobs[i].schedule);
        cp_free(s->jobs[i].after_text);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    cp_free(s);
}

static void json_time(cp_buf *b, const char *key, int64_t ms)
{
    char t[40];
    if (ms <= 0) {
        cp_buf_appendf(b, ",\"%s\":null", key);
        return;
    }
    t[cp_time_format(ms, t)] = 0;
    cp_buf_appendf(b, ",\"%s\":\"%s\"", key, t);
}

void cp_scheduler_json(cp_scheduler *s, cp_buf *b)
{
    pthread_mutex_lock(&s->mu);
    cp_buf_append_char(b, '[');
    for (int i = 0; i < s->n; i++) {
        const job *j = &s->jobs[i];
        cp_buf_appendf(b, "%s{\"name\":", i ? "," : "");
        cp_buf_append_json_str(b, j->name, strlen(j->name));
        cp_buf_append_str(b, ",\"schedule\":");
        cp_buf_append_json_str(b, j->schedule, strlen(j->schedule));
        cp_buf_append_str(b, ",\"after\":");
        cp_buf_append_json_str(b, j->after_text, strlen(j->after_text));
        json_time(b, "next_run", j->scheduled ? j->next_ms : 0);
        cp_buf_appendf(b, ",\"running\":%s,\"last\":", j->running ? "true" : "false");
        if (!j->has_last) {
            cp_buf_append_str(b, "null}");
            continue;
        }
        cp_buf_appendf(b, "{\"status\":\"%s\",\"attempts\":%d,\"rows\":%lld", status_of(j),
                       j->last_attempts, (long long)j->last_rows);
        json_time(b, "started_at", j->last_start_ms);
        json_time(b, "ended_at", j->last_end_ms);
        cp_buf_append_str(b, ",\"error\":");
        if (j->last_rc)
            cp_buf_append_json_str(b, j->last_error, strlen(j->last_error));
        else
            cp_buf_append_str(b, "null");
        cp_buf_append_str(b, "}}");
    }
    cp_buf_append_char(b, ']');
    pthread_mutex_unlock(&s->mu);
}
