/* Owned growable buffers, number formatting and small string helpers. */
#include "clickpulse/str.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <stdarg.h>
#include <stdio.h>

void cp_buf_init(cp_buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void cp_buf_free(cp_buf *b)
{
    cp_free(b->ptr);
    cp_buf_init(b);
}

int cp_buf_reserve(cp_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return CP_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *p = cp_realloc(b->ptr, cap);
    if (!p) return CP_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return CP_OK;
}

int cp_buf_append(cp_buf *b, const void *p, size_t n)
{
    if (cp_buf_reserve(b, n)) return CP_ENOMEM;
    if (n) memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return CP_OK;
}

int cp_buf_append_str(cp_buf *b, const char *s)
{
    return cp_buf_append(b, s, strlen(s));
}

int cp_buf_append_char(cp_buf *b, char c)
{
    return cp_buf_append(b, &c, 1);
}

int cp_buf_appendf(cp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return CP_EINVAL;
    if (cp_buf_reserve(b, (size_t)n)) return CP_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CP_OK;
}

int cp_buf_append_json_str(cp_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (cp_buf_reserve(b, n * 6 + 2)) return CP_ENOMEM;
    char *o = b->ptr + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->ptr);
    b->ptr[b->len] = '\0';
    return CP_OK;
}

size_t cp_fmt_u64(char *dst, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
    return n;
}

size_t cp_fmt_ipv4(char *dst, const uint8_t a[4])
{
    char *w = dst;
    for (int i = 0; i < 4; i++) {
        if (i) *w++ = '.';
        w += cp_fmt_u64(w, a[i]);
    }
    *w = 0;
    return (size_t)(w - dst);
}

size_t cp_fmt_i64(char *dst, int64_t v)
{
    if (v >= 0) return cp_fmt_u64(dst, (uint64_t)v);
    dst[0] = '-';
    return 1 + cp_fmt_u64(dst + 1, (uint64_t)0 - (uint64_t)v);
}

size_t cp_fmt_cents(char *dst, int64_t cents)
{
    size_t n = 0;
    uint64_t u = (uint64_t)cents;
    if (cents < 0) {
        dst[n++] = '-';
        u = (uint64_t)0 - u;
    }
    n += cp_fmt_u64(dst + n, u / 100);
    dst[n++] = '.';
    dst[n++] = (char)('0' + (u % 100) / 10);
    dst[n++] = (char)('0' + u % 10);
    return n;
}

size_t cp_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (lb > 127) return lb > la ? lb : la;
    size_t row[128];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int cp_buf_append_sql_str(cp_buf *b, const char *s)
{
    int rc = cp_buf_append_char(b, '\'');
    for (const char *c = s; *c && !rc; c++)
        rc = *c == '\'' ? cp_buf_append_str(b, "''") : cp_buf_append_char(b, *c);
    return rc ? rc : cp_buf_append_char(b, '\'');
}
