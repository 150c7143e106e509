/* src/jobs/cron.c: fields, ranges, lists, steps, shortcuts, the day-of-month or
 * day-of-week rule, month and year boundaries, leap days, and the errors. */
#include "clickpulse/cron.h"
#include "clickpulse/error.h"
#include "clickpulse/time.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    CHECK_INT(cp_time_parse(rfc3339, strlen(rfc3339), &ms), CP_OK);
    return ms;
}

static void next_is(const char *expr, const char *after, const char *want)
{
    cp_cron c;
    char err[200];
    CHECK_INT(cp_cron_parse(expr, &c, err, sizeof(err)), CP_OK);
    int64_t n = cp_cron_next(&c, at(after));
    if (n != at(want))
        fprintf(stderr, "%s after %s: got %lld, want %s\n", expr, after, (long long)n, want);
    CHECK(n == at(want));
}

static void test_next(void)
{
    next_is("* * * * *", "2026-11-21T08:15:30Z", "2026-11-21T08:16:00Z");
    next_is("* * * * *", "2026-11-21T08:15:00Z", "2026-11-21T08:16:00Z"); /* strictly after */
    next_is("*/15 * * * *", "2026-11-21T08:15:00Z", "2026-11-21T08:30:00Z");
    next_is("5,35 * * * *", "2026-11-21T08:36:00Z", "2026-11-21T09:05:00Z");
    next_is("0 9-17/4 * * *", "2026-11-21T13:00:00Z", "2026-11-21T17:00:00Z");
    next_is("30 2 * * *", "2026-12-31T03:00:00Z", "2027-01-01T02:30:00Z");
    next_is("@hourly", "2026-11-21T08:59:59Z", "2026-11-21T09:00:00Z");
    next_is("@daily", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z");
    next_is("@weekly", "2026-11-21T10:00:00Z", "2026-11-22T00:00:00Z"); /* 2026-11-22 is a Sunday */
    next_is("0 0 * * 7", "2026-11-21T10:00:00Z", "2026-11-22T00:00:00Z"); /* 7 is Sunday too */
    next_is("@monthly", "2026-11-21T10:00:00Z", "2026-12-01T00:00:00Z");
    next_is("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"); /* the next leap day */
    next_is("0 12 31 * *", "2026-11-01T00:00:00Z",
            "2026-12-31T12:00:00Z"); /* November has no 31st */
    /* both day fields restricted: either matches (the 1st, or a Monday) */
    next_is("0 0 1 * 1", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z");
    next_is("0 0 1 * 1", "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z");
    next_is("0 0 1 * 1", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z");
}

static void test_errors(void)
{
    cp_cron c;
    char err[200];
    CHECK_INT(cp_cron_parse("* * * *", &c, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "'* * * *': expected five fields (minute hour day-of-month month day-of-week)");
    CHECK_INT(cp_cron_parse("60 * * * *", &c, err, sizeof(err)), CP_ERANGE);
    CHECK_STR(err, "minute: 60-60 is outside 0-59");
    CHECK_INT(cp_cron_parse("* * 0 * *", &c, err, sizeof(err)), CP_ERANGE);
    CHECK_STR(err, "day of month: 0-0 is outside 1-31");
    CHECK_INT(cp_cron_parse("*/0 * * * *", &c, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "minute: cannot read '*/0'");
    CHECK_INT(cp_cron_parse("* * * JAN *", &c, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "month: cannot read 'JAN'");
    CHECK_INT(cp_cron_parse("5-1 * * * *", &c, err, sizeof(err)), CP_ERANGE);
    CHECK_INT(cp_cron_parse("0 0 30 2 *", &c, err, sizeof(err)), CP_OK); /* never: no next */
    CHECK(cp_cron_next(&c, at("2026-01-01T00:00:00Z")) == -1);
}

int main(void)
{
    RUN(test_next);
    RUN(test_errors);
    TEST_END();
}
