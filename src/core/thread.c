/* Thread priorities (see include/clickpulse/thread.h). On Linux a thread's nice value
 * is its own: setpriority(PRIO_PROCESS, tid) changes one thread, not the process. */
#include "clickpulse/thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#define NICE_MAX 19

static atomic_int background_nice = 10;

void cp_thread_set_background_nice(int nice)
{
    atomic_store(&background_nice, nice < 0 ? 0 : nice > NICE_MAX ? NICE_MAX : nice);
}

int cp_thread_background_nice(void)
{
    return atomic_load(&background_nice);
}

int cp_thread_background(void)
{
    id_t tid = (id_t)gettid();
    errno = 0;
    int now = getpriority(PRIO_PROCESS, tid);
    if (now == -1 && errno) return -1;
    int want = now + atomic_load(&background_nice);
    if (want > NICE_MAX) want = NICE_MAX;
    if (want != now && setpriority(PRIO_PROCESS, tid, want) != 0) return now;
    return want;
}

static atomic_int background_idle = 1;

void cp_thread_set_background_idle(int on)
{
    atomic_store(&background_idle, on != 0);
}

int cp_thread_set_idle(pid_t tid, int idle)
{
    struct sched_param none = {0};
    return sched_setscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, &none);
}

static int idle_reversible;

static void *try_idle(void *arg)
{
    (void)arg;
    cp_thread_background();
    idle_reversible = cp_thread_set_idle(0, 1) == 0 && cp_thread_set_idle(0, 0) == 0;
    return NULL;
}

static void probe_idle(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, try_idle, NULL) == 0) pthread_join(t, NULL);
}

int cp_thread_idle_usable(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!atomic_load(&background_idle)) return 0;
    pthread_once(&once, probe_idle);
    return idle_reversible;
}
