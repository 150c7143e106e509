/* The job scheduler (DESIGN.md section 6): jobs on cron schedules, each after the jobs
 * it depends on have succeeded, retried with exponential backoff, stopped at a timeout,
 * at most max_concurrent at once, every run recorded in job_runs (job, started_at,
 * ended_at, status, attempts, rows, error). A job runs on its own session of the store. */
#ifndef CLICKPULSE_JOBS_H
#define CLICKPULSE_JOBS_H

#include "clickpulse/store.h"
#include "clickpulse/str.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct cp_scheduler cp_scheduler;

/* One attempt of a job: returns 0, or an error with a message in err; *rows what it did. */
typedef int (*cp_job_fn)(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen);

typedef struct cp_job_def {
    const char *name;
    const char *schedule; /* cron (cp_cron); "" or NULL: only when run by hand */
    const char *after;    /* comma-separated jobs that must have succeeded last; "" none */
    int retries;          /* attempts after the first */
    int64_t backoff_ms;   /* wait before retry n: backoff × 2^(n-1) */
    int64_t timeout_ms;   /* an attempt running longer is interrupted (0: none) */
    cp_job_fn run;
    void *ud;
} cp_job_def;

int cp_scheduler_new(cp_store *store, int max_concurrent, cp_scheduler **out, char *err,
                     size_t errlen);
/* Checks the schedule and the dependencies' names (when all jobs are added: cp_scheduler_start). */
int cp_scheduler_add(cp_scheduler *s, const cp_job_def *def, char *err, size_t errlen);
/* Replaces the wall clock the schedules follow (tests); before cp_scheduler_start. */
void cp_scheduler_set_clock(cp_scheduler *s, int64_t (*now)(void));
/* Starts the clock thread. Unknown dependencies or a cycle are errors. */
int cp_scheduler_start(cp_scheduler *s, char *err, size_t errlen);
/* Runs a job now (as soon as a slot is free), whatever its schedule and dependencies.
 * With wait, returns when it has ended, with its final status (0 or the error). */
int cp_scheduler_run(cp_scheduler *s, const char *name, bool wait, char *err, size_t errlen);
/* Stops the clock, interrupts what runs, waits for it; then frees. */
void cp_scheduler_free(cp_scheduler *s);
/* JSON: [{"name","schedule","after","next_run","running","last":{…run…}}…]. Thread-safe. */
void cp_scheduler_json(cp_scheduler *s, cp_buf *out);

#endif
