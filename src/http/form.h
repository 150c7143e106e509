/* Private to src/http: the small parsers of the API's request data — form bodies,
 * dates of page filters, the page a login goes on to. Each reads only within the
 * bytes it is given. */
#ifndef CP_HTTP_FORM_H
#define CP_HTTP_FORM_H

#include <stddef.h>
#include <stdint.h>

/* The value of name in an application/x-www-form-urlencoded body of len bytes, decoded
 * ('+' is a space, %XX a byte; a '%' not followed by two hex digits stands for itself)
 * into out (cap bytes, NUL-terminated). Returns 1 when found and it fits, else 0. */
int http_form_value(const char *body, size_t len, const char *name, char *out, size_t cap);
/* A calendar day written YYYY-MM-DD into *days (since 1970-01-01); 0, or -1 when s is
 * anything else (NULL included). */
int http_parse_day(const char *s, int64_t *days);
/* 1 when next (may be NULL, already percent-decoded once) is one of this server's pages:
 * its path (before '?' or '#') exactly one of pages (a NULL-terminated list), and no
 * control character, backslash or space anywhere — so a login link never leads to
 * another host, whatever a browser makes of "/\t/host" or "/\\host". */
int http_safe_next(const char *next, const char *const *pages);

#endif
