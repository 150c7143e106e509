/* Thread priorities. Work that can wait — the silver writer, jobs, sinks — runs below
 * the threads that answer clients (the collector's servers and the log's committer):
 * when the cores are busy, acknowledgements come first and silver catches up from the
 * log after. The process-wide amount is set once from configuration (background.nice).
 *
 * The silver writer goes further while it keeps up: it waits in Linux's idle scheduling
 * class (SCHED_IDLE), where a thread runs only on a core nothing else wants and any
 * other thread waking takes the core from it at once — with nice alone the writer keeps
 * a waking server waiting up to the end of its slice. A thread may always enter the
 * idle class; leaving it again needs CAP_SYS_NICE (or an RLIMIT_NICE reaching the
 * thread's nice value), so the class is used only where that works
 * (cp_thread_idle_usable). */
#ifndef CLICKPULSE_THREAD_H
#define CLICKPULSE_THREAD_H

#include <sys/types.h>

/* How much nicer background threads are than the process (0..19; 0 leaves them equal). */
void cp_thread_set_background_nice(int nice);
int cp_thread_background_nice(void);

/* Lowers the calling thread's CPU priority by the background amount, relative to its
 * current one (capped at 19). Returns its nice value after, or -1 when it cannot tell. */
int cp_thread_background(void);

/* Whether background threads may use the idle class (background.idle; on by default). */
void cp_thread_set_background_idle(int on);
/* Configured so, and a background thread put into the idle class can be taken out of it
 * again (tried once, on a thread of its own, at the background nice value). */
int cp_thread_idle_usable(void);
/* Moves thread tid (0: the calling one) into the idle class, or back to the normal one
 * with its nice value as it was. Returns 0, or -1 with errno set. */
int cp_thread_set_idle(pid_t tid, int idle);

#endif
