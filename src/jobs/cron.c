/* Cron schedules (see include/clickpulse/cron.h). */
#include "clickpulse/cron.h"

#include "clickpulse/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct field_spec {
    const char *name;
    int lo, hi;
} field_spec;

static const field_spec specs[5] = {{"minute", 0, 59},
                                    {"hour", 0, 23},
                                    {"day of month", 1, 31},
                                    {"month", 1, 12},
                                    {"day of week", 0, 7}};

static int number(const char **p, int *out)
{
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p || v < 0 || v > 1000) return 0;
    *out = (int)v;
    *p = end;
    return 1;
}

/* One field into bits; *any when it was "*" (or "*\/1"). */
static int parse_field(const char *text, const field_spec *f, uint64_t *bits, bool *any, char *err,
                       size_t errlen)
{
    *bits = 0;
    *any = false;
    const char *p = text;
    for (;;) {
        int a, b, step = 1;
        bool star = *p == '*';
        if (star) {
            a = f->lo;
            b = f->hi;
            p++;
        } else {
            if (!number(&p, &a)) goto bad;
            b = a;
            if (*p == '-') {
                p++;
                if (!number(&p, &b)) goto bad;
            }
        }
        if (*p == '/') {
            p++;
            if (!number(&p, &step) || step < 1) goto bad;
            if (!star && b == a) b = f->hi; /* "5/10": from 5 on */
        }
        if (a < f->lo || b > f->hi || a > b) {
            snprintf(err, errlen, "%s: %d-%d is outside %d-%d", f->name, a, b, f->lo, f->hi);
            return CP_ERANGE;
        }
        for (int v = a; v <= b; v += step) *bits |= 1ull << v;
        if (star && step == 1) *any = true;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p) goto bad;
        return CP_OK;
    }
bad:
    snprintf(err, errlen, "%s: cannot read '%s'", f->name, text);
    return CP_EINVAL;
}

int cp_cron_parse(const char *expr, cp_cron *out, char *err, size_t errlen)
{
    static const struct {
        const char *name, *expr;
    } shortcuts[] = {{"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},
                     {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
                     {"@monthly", "0 0 1 * *"},  {"@yearly", "0 0 1 1 *"},
                     {"@annually", "0 0 1 1 *"}};
    for (size_t i = 0; i < sizeof(shortcuts) / sizeof(shortcuts[0]); i++)
        if (strcmp(expr, shortcuts[i].name) == 0) expr = shortcuts[i].expr;
    char copy[256], *fields[6];
    int n = 0;
    snprintf(copy, sizeof(copy), "%s", expr);
    for (char *save = NULL, *t = strtok_r(copy, " \t", &save); t && n < 6;
         t = strtok_r(NULL, " \t", &save))
        fields[n++] = t;
    if (n != 5) {
        snprintf(err, errlen,
                 "'%s': expected five fields (minute hour day-of-month month day-of-week)", expr);
        return CP_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    uint64_t bits[5];
    bool any[5];
    for (int i = 0; i < 5; i++) {
        int rc = parse_field(fields[i], &specs[i], &bits[i], &any[i], err, errlen);
        if (rc) return rc;
    }
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->mday = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->wday = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->mday_any = any[2];
    out->wday_any = any[4];
    return CP_OK;
}

static bool day_matches(const cp_cron *c, const struct tm *t)
{
    bool m = c->mday >> t->tm_mday & 1, w = c->wday >> t->tm_wday & 1;
    if (c->mday_any && c->wday_any) return true;
    if (c->mday_any) return w;
    if (c->wday_any) return m;
    return m || w;
}

int64_t cp_cron_next(const cp_cron *c, int64_t after_ms)
{
    time_t t = (time_t)(after_ms / 1000 / 60 + 1) * 60; /* the next whole minute */
    const time_t limit = t + (time_t)5 * 366 * 86400;
    while (t < limit) {
        struct tm tm;
        gmtime_r(&t, &tm);
        if (!(c->month >> (tm.tm_mon + 1) & 1)) { /* to the first of the next month */
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            t = timegm(&tm);
            continue;
        }
        if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            t = timegm(&tm);
            continue;
        }
        if (!(c->hour >> tm.tm_hour & 1)) {
            tm.tm_hour++;
            tm.tm_min = tm.tm_sec = 0;
            t = timegm(&tm);
            continue;
        }
        if (!(c->minute >> tm.tm_min & 1)) {
            t += 60;
            continue;
        }
        return (int64_t)t * 1000;
    }
    return -1;
}
