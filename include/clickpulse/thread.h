/* Thread priorities. Work that can wait — the silver writer, jobs, sinks — runs below
 * the threads that answer clients (the collector's servers and the log's committer):
 * when the cores are busy, acknowledgements come first and silver catches up from the
 * log after. The process-wide amount is set once from configuration (background.nice). */
#ifndef CLICKPULSE_THREAD_H
#define CLICKPULSE_THREAD_H

/* How much nicer background threads are than the process (0..19; 0 leaves them equal). */
void cp_thread_set_background_nice(int nice);
int cp_thread_background_nice(void);

/* Lowers the calling thread's CPU priority by the background amount, relative to its
 * current one (capped at 19). Returns its nice value after, or -1 when it cannot tell. */
int cp_thread_background(void);

#endif
