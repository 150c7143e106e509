/* The API's request data parsers (form.h). */
#include "form.h"

#include "clickpulse/time.h"

#include <stdio.h>
#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes body[from, end) into out; 0 when it does not fit. */
static int decode(const char *body, size_t from, size_t end, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t k = from; k < end; k++) {
        char c = body[k];
        int hi, lo;
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && end - k > 2 && (hi = hex_digit(body[k + 1])) >= 0 &&
                   (lo = hex_digit(body[k + 2])) >= 0) {
            c = (char)(hi * 16 + lo);
            k += 2;
        }
        if (o + 1 >= cap) return 0;
        out[o++] = c;
    }
    out[o] = 0;
    return 1;
}

int http_form_value(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (cap == 0) return 0;
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && body[end] != '&') end++;
        if (end - i > n && memcmp(body + i, name, n) == 0 && body[i + n] == '=')
            return decode(body, i + n + 1, end, out, cap);
        i = end + 1;
    }
    return 0;
}

int http_parse_day(const char *s, int64_t *days)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
    unsigned y =
        (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + s[3] - '0');
    unsigned m = (unsigned)((s[5] - '0') * 10 + s[6] - '0'),
             d = (unsigned)((s[8] - '0') * 10 + s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
    *days = cp_days_from_civil(y, m, d);
    char back[16];
    back[cp_date_format(*days, back)] = 0;
    return strcmp(back, s) == 0 ? 0 : -1;
}

int http_safe_next(const char *next, const char *const *pages)
{
    if (!next || next[0] != '/') return 0;
    for (const unsigned char *p = (const unsigned char *)next; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '\\') return 0;
    size_t path = strcspn(next, "?#");
    for (; pages && *pages; pages++)
        if (strlen(*pages) == path && memcmp(*pages, next, path) == 0) return 1;
    return 0;
}
