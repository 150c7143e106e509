/* src/core/time.c: RFC 3339 parsing and formatting, civil dates. */
#include "clickpulse/error.h"
#include "clickpulse/time.h"
#include "test.h"

static int64_t parse(const char *s)
{
    int64_t ms = -1;
    if (cp_time_parse(s, strlen(s), &ms) != CP_OK) return INT64_MIN;
    return ms;
}

static void test_parse_forms(void)
{
    CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(parse("2026-10-01T12:34:56.789Z"), 1790858096789LL);
    CHECK_INT(parse("2026-10-01T12:34:56Z"), 1790858096000LL);
    CHECK_INT(parse("2026-10-01T12:34:56.7Z"), 1790858096700LL);
    CHECK_INT(parse("2026-10-01T12:34:56.789123456Z"), 1790858096789LL);
    CHECK_INT(parse("2026-10-01T14:34:56.789+02:00"), 1790858096789LL);
    CHECK_INT(parse("2026-10-01T07:04:56.789-0530"), 1790858096789LL);
    CHECK_INT(parse("2026-10-01 12:34:56.789z"), 1790858096789LL);
    CHECK_INT(parse("2026-10-01"), 1790812800000LL);
    CHECK_INT(parse("1969-12-31T23:59:59.999Z"), -1);
    CHECK_INT(parse("2024-02-29T00:00:00Z"), 1709164800000LL);
    CHECK_INT(parse("2016-12-31T23:59:60Z"), 1483228799000LL);
}

static void test_parse_rejects(void)
{
    const char *bad[] = {"",
                         "yesterday",
                         "2026-13-01T00:00:00Z",
                         "2026-02-29T00:00:00Z",
                         "2026-04-31",
                         "2026-10-01T24:00:00Z",
                         "2026-10-01T12:60:00Z",
                         "2026-10-01T12:00:00",
                         "2026-10-01T12:00:00.Z",
                         "2026-10-01T12:00:00+2:00",
                         "2026-10-01T12:00:00Zjunk",
                         "2026-1-01",
                         "20261001T120000Z",
                         "2026-10-01T12:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms;
        if (cp_time_parse(bad[i], strlen(bad[i]), &ms) != CP_EPARSE)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(cp_time_parse(bad[i], strlen(bad[i]), &ms) == CP_EPARSE);
    }
}

static void test_format(void)
{
    char buf[40];
    buf[cp_time_format(1790858096789LL, buf)] = 0;
    CHECK_STR(buf, "2026-10-01T12:34:56.789Z");
    buf[cp_time_format(-1, buf)] = 0;
    CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
    buf[cp_time_format_offset(1790858096789LL, 120, buf)] = 0;
    CHECK_STR(buf, "2026-10-01T14:34:56.789+02:00");
    buf[cp_time_format_offset(1790858096789LL, -330, buf)] = 0;
    CHECK_STR(buf, "2026-10-01T07:04:56.789-05:30");
    buf[cp_date_format(20362, buf)] = 0;
    CHECK_STR(buf, "2025-10-01");
}

static void test_round_trip(void)
{
    char buf[40];
    for (int64_t ms = -86400000LL * 800; ms < 86400000LL * 40000; ms += 86400000LL * 7 + 3723456) {
        size_t n = cp_time_format(ms, buf);
        int64_t back;
        CHECK(cp_time_parse(buf, n, &back) == CP_OK);
        CHECK_INT(back, ms);
    }
}

static void test_civil(void)
{
    int64_t y;
    unsigned m, d;
    CHECK_INT(cp_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(cp_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(cp_days_from_civil(1600, 1, 1), -135140);
    cp_civil_from_days(20727, &y, &m, &d);
    CHECK_INT(y, 2026);
    CHECK_INT(m, 10);
    CHECK_INT(d, 1);
    CHECK_INT(cp_weekday(20727), 3); /* 2026-10-01 is a Thursday */
    CHECK_INT(cp_day_of(-1), -1);
    CHECK_INT(cp_day_of(86399999), 0);
    CHECK(cp_mono_ns() > 0);
    CHECK(cp_now_ms() > 1700000000000LL);
}

static void test_timespec(void)
{
    struct timespec t = cp_timespec_of_ms(1790856003999LL); /* a deadline 3,999 ms on */
    CHECK_INT(t.tv_sec, 1790856003LL);
    CHECK_INT(t.tv_nsec, 999000000L);
    t = cp_timespec_of_ms(1790856600000LL);
    CHECK_INT(t.tv_sec, 1790856600LL);
    CHECK_INT(t.tv_nsec, 0);
}

int main(void)
{
    RUN(test_parse_forms);
    RUN(test_parse_rejects);
    RUN(test_format);
    RUN(test_round_trip);
    RUN(test_civil);
    RUN(test_timespec);
    TEST_END();
}
