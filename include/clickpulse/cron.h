/* Cron schedules: five fields — minute (0-59), hour (0-23), day of month (1-31),
 * month (1-12), day of week (0-7, 0 and 7 Sunday) — each *, a number, a range a-b,
 * a list a,b,c, and /step on * or a range; or a shortcut: @hourly, @daily, @weekly,
 * @monthly, @yearly. Times are UTC. As in Vixie cron, when both day fields are
 * restricted a day matching either is taken. */
#ifndef CLICKPULSE_CRON_H
#define CLICKPULSE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cp_cron {
    uint64_t minute;     /* bit n: minute n */
    uint32_t hour, mday; /* bit n: hour n, day n */
    uint16_t month;      /* bit n: month n */
    uint8_t wday;        /* bit n: weekday n, Sunday 0 */
    bool mday_any, wday_any;
} cp_cron;

/* Parses expr; on error writes a message naming the field into err. */
int cp_cron_parse(const char *expr, cp_cron *out, char *err, size_t errlen);
/* The first minute strictly after after_ms that matches, in ms; -1 if none within 5 years. */
int64_t cp_cron_next(const cp_cron *c, int64_t after_ms);

#endif
