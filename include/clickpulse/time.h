/* Time: event times are int64 milliseconds since the Unix epoch, UTC.
 * RFC 3339 parsing and formatting with milliseconds and offsets, civil-date
 * arithmetic, and the wall and monotonic clocks. All functions thread-safe. */
#ifndef CLICKPULSE_TIME_H
#define CLICKPULSE_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CP_MS_PER_SEC  1000LL
#define CP_MS_PER_MIN  60000LL
#define CP_MS_PER_HOUR 3600000LL
#define CP_MS_PER_DAY  86400000LL

/* Parses an RFC 3339 / ISO 8601 timestamp: "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)",
 * also with a space or lower-case 't' for 'T', 'z' for 'Z', "±HHMM" offsets, and a
 * bare date "YYYY-MM-DD" (midnight UTC). Fractions beyond milliseconds are
 * truncated. Stores UTC milliseconds in *ms. Returns 0, or CP_EPARSE when the text
 * is not such a timestamp or a field is out of range (month 13, 25:00, Feb 30). */
int cp_time_parse(const char *s, size_t len, int64_t *ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes, no NUL) for years 0..9999; returns 24. */
size_t cp_time_format(int64_t ms, char *out);
/* Same with a local offset in minutes: "…SS.mmm+02:00" (29 bytes, no NUL); returns 29
 * (or 24 with 'Z' when offset_min is 0). */
size_t cp_time_format_offset(int64_t ms, int offset_min, char *out);
/* Writes "YYYY-MM-DD" (10 bytes, no NUL) for the UTC day of ms; returns 10. */
size_t cp_date_format(int64_t days, char *out);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t cp_days_from_civil(int64_t y, unsigned m, unsigned d);
void cp_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* Floor division of a millisecond time into its day number. */
static inline int64_t cp_day_of(int64_t ms)
{
    return ms >= 0 ? ms / CP_MS_PER_DAY : -((-ms + CP_MS_PER_DAY - 1) / CP_MS_PER_DAY);
}
/* Day of week of a day number: 0 = Monday … 6 = Sunday. */
static inline int cp_weekday(int64_t days)
{
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

/* Wall-clock time (CLOCK_REALTIME) in milliseconds. */
int64_t cp_now_ms(void);
/* Monotonic time (CLOCK_MONOTONIC) in nanoseconds, for durations. */
int64_t cp_mono_ns(void);
/* The wall-clock time ms (milliseconds since the epoch, ≥ 0) as a timespec, the form
 * pthread_cond_timedwait takes its deadline in. */
struct timespec cp_timespec_of_ms(int64_t ms);

#endif
