/* src/core/thread.c: background threads run nicer than the rest by the configured amount,
 * relative to where they were and capped at 19; the other threads keep theirs. */
#include "clickpulse/thread.h"
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
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

int main(void)
{
    RUN(test_lowers_the_calling_thread_only);
    RUN(test_relative_and_capped);
    RUN(test_zero_leaves_it_equal);
    TEST_END();
}
