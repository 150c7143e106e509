/* Thread priorities (see include/clickpulse/thread.h). On Linux a thread's nice value
 * is its own: setpriority(PRIO_PROCESS, tid) changes one thread, not the process. */
#include "clickpulse/thread.h"

#include <errno.h>
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
