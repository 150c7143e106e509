/* RFC 3339 parsing and formatting, civil dates (H. Hinnant's algorithms),
 * and clocks. The parser is hand-written: it sits on the decoder's hot path. */
#include "clickpulse/time.h"

#include "clickpulse/error.h"

#include <time.h>

int64_t cp_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void cp_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) return -1;
        v = v * 10 + (int)c;
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static int parse_offset(const char *s, size_t len, size_t *i, int *off_min)
{
    if (*i >= len) return CP_EPARSE;
    char c = s[*i];
    if (c == 'Z' || c == 'z') {
        (*i)++;
        *off_min = 0;
        return CP_OK;
    }
    if (c != '+' && c != '-') return CP_EPARSE;
    int oh, om;
    size_t j = *i + 1;
    if (len - j < 4 || digits(s + j, 2, &oh)) return CP_EPARSE;
    j += 2;
    if (s[j] == ':') j++;
    if (len - j < 2 || digits(s + j, 2, &om)) return CP_EPARSE;
    j += 2;
    if (oh > 23 || om > 59) return CP_EPARSE;
    *off_min = (c == '-' ? -1 : 1) * (oh * 60 + om);
    *i = j;
    return CP_OK;
}

int cp_time_parse(const char *s, size_t len, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0, off = 0;
    if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return CP_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return CP_EPARSE;
    size_t i = 10;
    if (len > 10) {
        char t = s[10];
        if ((t != 'T' && t != 't' && t != ' ') || len < 19) return CP_EPARSE;
        if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
            digits(s + 17, 2, &se))
            return CP_EPARSE;
        if (h > 23 || mi > 59 || se > 60) return CP_EPARSE;
        i = 19;
        if (i < len && s[i] == '.') {
            int nd = 0;
            i++;
            while (i < len && (unsigned)(s[i] - '0') <= 9) {
                if (nd < 3) frac = frac * 10 + (s[i] - '0');
                nd++;
                i++;
            }
            if (nd == 0) return CP_EPARSE;
            for (; nd < 3; nd++) frac *= 10;
        }
        if (parse_offset(s, len, &i, &off)) return CP_EPARSE;
    }
    if (i != len) return CP_EPARSE;
    if (se == 60) se = 59; /* leap second: clamp, as most systems do */
    int64_t days = cp_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms = ((days * 24 + h) * 60 + mi) * CP_MS_PER_MIN + (int64_t)se * 1000 + frac -
          (int64_t)off * CP_MS_PER_MIN;
    return CP_OK;
}

static void put2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

size_t cp_date_format(int64_t days, char *o)
{
    int64_t y;
    unsigned m, d;
    cp_civil_from_days(days, &y, &m, &d);
    unsigned yy = (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y);
    put2(o, yy / 100);
    put2(o + 2, yy % 100);
    o[4] = '-';
    put2(o + 5, m);
    o[7] = '-';
    put2(o + 8, d);
    return 10;
}

size_t cp_time_format(int64_t ms, char *o)
{
    int64_t days = cp_day_of(ms);
    int64_t rem = ms - days * CP_MS_PER_DAY;
    cp_date_format(days, o);
    unsigned s = (unsigned)(rem / 1000), f = (unsigned)(rem % 1000);
    o[10] = 'T';
    put2(o + 11, s / 3600);
    o[13] = ':';
    put2(o + 14, s / 60 % 60);
    o[16] = ':';
    put2(o + 17, s % 60);
    o[19] = '.';
    o[20] = (char)('0' + f / 100);
    put2(o + 21, f % 100);
    o[23] = 'Z';
    return 24;
}

size_t cp_time_format_offset(int64_t ms, int offset_min, char *o)
{
    if (offset_min == 0) return cp_time_format(ms, o);
    cp_time_format(ms + (int64_t)offset_min * CP_MS_PER_MIN, o);
    unsigned a = (unsigned)(offset_min < 0 ? -offset_min : offset_min);
    o[23] = offset_min < 0 ? '-' : '+';
    put2(o + 24, a / 60);
    o[26] = ':';
    put2(o + 27, a % 60);
    return 29;
}

int64_t cp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec cp_timespec_of_ms(int64_t ms)
{
    return (struct timespec){.tv_sec = (time_t)(ms / 1000),
                             .tv_nsec = (long)(ms % 1000) * 1000000L};
}

int64_t cp_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
