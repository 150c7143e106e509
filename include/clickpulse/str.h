/* Two string types. cp_slice is a borrowed {ptr,len} view (no NUL assumed,
 * never freed through the slice). cp_buf is an owned, growable byte buffer
 * that keeps a NUL after its last byte so it can be handed to C APIs. */
#ifndef CLICKPULSE_STR_H
#define CLICKPULSE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cp_slice {
    const char *ptr;
    size_t len;
} cp_slice;

#define CP_SLICE_LIT(s) ((cp_slice){(s), sizeof(s) - 1})
#define CP_SLICE_NULL   ((cp_slice){NULL, 0})

static inline cp_slice cp_slice_from(const char *s)
{
    return (cp_slice){s, s ? strlen(s) : 0};
}

static inline bool cp_slice_eq(cp_slice a, cp_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool cp_slice_eq_lit(cp_slice a, const char *lit)
{
    size_t n = strlen(lit);
    return a.len == n && (n == 0 || memcmp(a.ptr, lit, n) == 0);
}

/* True when the slice points at something (possibly empty). */
static inline bool cp_slice_set(cp_slice s)
{
    return s.ptr != NULL;
}

typedef struct cp_buf {
    char *ptr;
    size_t len;
    size_t cap;
} cp_buf;

/* Initialises an empty buffer (no allocation until the first append). */
void cp_buf_init(cp_buf *b);
/* Frees the buffer's memory and leaves it empty and reusable. */
void cp_buf_free(cp_buf *b);
/* Makes room for at least extra more bytes (plus the trailing NUL).
 * Returns 0 or CP_ENOMEM (the buffer is unchanged then). */
int cp_buf_reserve(cp_buf *b, size_t extra);
/* Appends; each returns 0 or CP_ENOMEM. */
int cp_buf_append(cp_buf *b, const void *p, size_t n);
int cp_buf_append_str(cp_buf *b, const char *s);
int cp_buf_append_char(cp_buf *b, char c);
int cp_buf_appendf(cp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included, escaping what JSON requires. */
int cp_buf_append_json_str(cp_buf *b, const char *s, size_t n);
/* Appends s as a SQL string literal: in single quotes, each quote doubled. */
int cp_buf_append_sql_str(cp_buf *b, const char *s);
/* Empties the buffer, keeping its memory. */
static inline void cp_buf_reset(cp_buf *b)
{
    b->len = 0;
    if (b->ptr) b->ptr[0] = '\0';
}
static inline cp_slice cp_buf_slice(const cp_buf *b)
{
    return (cp_slice){b->ptr, b->len};
}

/* Unchecked appends for hot paths: the caller has reserved the room. */
static inline void cp_buf_put(cp_buf *b, const void *p, size_t n)
{
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
}
static inline void cp_buf_putc(cp_buf *b, char c)
{
    b->ptr[b->len++] = c;
}
#define CP_BUF_PUT_LIT(b, lit) cp_buf_put((b), (lit), sizeof(lit) - 1)

/* Writes the decimal form of v at dst; returns the number of bytes written (at most 20). */
size_t cp_fmt_u64(char *dst, uint64_t v);
/* Writes the decimal form of v (with '-' when negative); at most 20 bytes. */
size_t cp_fmt_i64(char *dst, int64_t v);
/* Writes the dotted form of the IPv4 address a (network order, as in struct in_addr) at dst,
 * with a terminating NUL; returns its length (at most 15). inet_ntop's result, without its
 * trip through sprintf. */
size_t cp_fmt_ipv4(char *dst, const uint8_t a[4]);
/* Writes v / 100 with exactly two decimals ("-12.05"), for amounts in cents. */
size_t cp_fmt_cents(char *dst, int64_t cents);

/* Edit distance between two strings (for "did you mean" suggestions). */
size_t cp_levenshtein(const char *a, const char *b);

#endif
