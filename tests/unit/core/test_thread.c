/* src/core/thread.c: background threads run nicer than the rest by the configured amount,
 * relative to where they were and capped at 19; the other threads keep theirs. A thread
 * moves into the idle scheduling class and back (by itself or another thread) with its
 * nice value kept; the class counts as usable only where the way back is open. */
#include "clickpulse/thread.h"
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int nice_of_self(void)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)gettid());
    CHECK(!(n == -1 && errno));
    return n;
}

typedef struct probe {
    int start; /* nice to take first (-1: keep the inherited one) */
    int before, returned, after;
} probe;

static void *background(void *arg)
{
    probe *p = arg;
    if (p->start >= 0) CHECK_INT(setpriority(PRIO_PROCESS, (id_t)gettid(), p->start), 0);
    p->before = nice_of_self();
    p->returned = cp_thread_background();
    p->after = nice_of_self();
    return NULL;
}

static probe run_probe(int start)
{
    probe p = {.start = start};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, background, &p), 0);
    CHECK_INT(pthread_join(t, NULL), 0);
    return p;
}

static int capped(int n)
{
    return n > 19 ? 19 : n;
}

static void test_lowers_the_calling_thread_only(void)
{
    int base = nice_of_self();
    cp_thread_set_background_nice(10);
    CHECK_INT(cp_thread_background_nice(), 10);
    probe p = run_probe(-1);
    CHECK_INT(p.before, base);
    CHECK_INT(p.after, capped(base + 10));
    CHECK_INT(p.returned, p.after);
    CHECK_INT(nice_of_self(), base); /* the thread that set it up is untouched */
}

static void test_relative_and_capped(void)
{
    cp_thread_set_background_nice(10);
    probe p = run_probe(5);
    CHECK_INT(p.before, 5);
    CHECK_INT(p.after, 15);
    p = run_probe(15);
    CHECK_INT(p.after, 19);
    CHECK_INT(p.returned, 19);
    cp_thread_set_background_nice(25);
    CHECK_INT(cp_thread_background_nice(), 19);
    cp_thread_set_background_nice(-3);
    CHECK_INT(cp_thread_background_nice(), 0);
}

static void test_zero_leaves_it_equal(void)
{
    int base = nice_of_self();
    cp_thread_set_background_nice(0);
    probe p = run_probe(-1);
    CHECK_INT(p.after, base);
    CHECK_INT(p.returned, base);
    p = run_probe(7);
    CHECK_INT(p.after, 7);
}

typedef struct idle_probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pid_t tid;
    int step, policy[3], nice[3];
} idle_probe;

/* Into the idle class by itself, then waits for another thread to take it out. */
static void *idle_thread(void *arg)
{
    idle_probe *p = arg;
    CHECK_INT(setpriority(PRIO_PROCESS, (id_t)gettid(), 5), 0);
    p->policy[0] = sched_getscheduler(0);
    CHECK_INT(cp_thread_set_idle(0, 1), 0);
    p->policy[1] = sched_getscheduler(0);
    p->nice[1] = nice_of_self();
    pthread_mutex_lock(&p->mu);
    p->tid = gettid();
    p->step = 1;
    pthread_cond_broadcast(&p->cv);
    while (p->step != 2) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    p->policy[2] = sched_getscheduler(0);
    p->nice[2] = nice_of_self();
    return NULL;
}

static void test_idle_class(void)
{
    CHECK_INT(cp_thread_idle_usable(), 1); /* the tests run as root */
    idle_probe p = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, idle_thread, &p), 0);
    pthread_mutex_lock(&p.mu);
    while (p.step != 1) pthread_cond_wait(&p.cv, &p.mu);
    CHECK_INT(cp_thread_set_idle(p.tid, 0), 0);
    p.step = 2;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(p.policy[0], SCHED_OTHER);
    CHECK_INT(p.policy[1], SCHED_IDLE);
    CHECK_INT(p.nice[1], 5);
    CHECK_INT(p.policy[2], SCHED_OTHER);
    CHECK_INT(p.nice[2], 5);
    CHECK_INT(sched_getscheduler(0), SCHED_OTHER); /* the caller is untouched */
    cp_thread_set_background_idle(0);
    CHECK_INT(cp_thread_idle_usable(), 0);
    cp_thread_set_background_idle(1);
    CHECK_INT(cp_thread_idle_usable(), 1);
}

/* Without CAP_SYS_NICE (a user of its own, RLIMIT_NICE 0) a thread cannot leave the idle
 * class: it is not used. Runs first: the answer is found once a process. */
static void test_idle_unusable_unprivileged(void)
{
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        struct rlimit none = {0, 0};
        int ok = setrlimit(RLIMIT_NICE, &none) == 0 && setgid(65534) == 0 && setuid(65534) == 0;
        _exit(ok ? cp_thread_idle_usable() : 2);
    }
    int status = 0;
    CHECK_INT(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
}

int main(void)
{
    RUN(test_idle_unusable_unprivileged);
    RUN(test_idle_class);
    RUN(test_lowers_the_calling_thread_only);
    RUN(test_relative_and_capped);
    RUN(test_zero_leaves_it_equal);
    TEST_END();
}
