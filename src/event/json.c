/* A validating JSON reader over one text (RFC 8259): a cursor, no tree.
 * Strings are returned as slices of the input unless they hold escapes, in
 * which case they are unescaped into the arena. UTF-8 is validated inside
 * strings (the only place non-ASCII bytes may appear); nesting is bounded.
 * The string scanner looks at eight bytes at a time for the common case of
 * plain ASCII text. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jr_init(cp_jr *jr, const char *s, size_t len, cp_arena *arena, int max_depth)
{
    jr->p = jr->start = s;
    jr->end = s + len;
    jr->arena = arena;
    jr->depth = 0;
    jr->max_depth = max_depth;
    jr->err = 0;
    jr->msg[0] = '\0';
}

int jr_fail(cp_jr *jr, cp_reject_reason reason, const char *fmt, ...)
{
    if (jr->err) return 0;
    jr->err = (int)reason + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(jr->msg, sizeof(jr->msg), fmt, ap);
    va_end(ap);
    return 0;
}

static size_t offset(const cp_jr *jr)
{
    return (size_t)(jr->p - jr->start);
}

static int fail_syntax(cp_jr *jr, const char *what)
{
    if (jr->p >= jr->end) return jr_fail(jr, CP_REJECT_NOT_JSON, "unexpected end of input");
    return jr_fail(jr, CP_REJECT_NOT_JSON, "%s at byte %zu", what, offset(jr));
}

static inline void skip_ws(cp_jr *jr)
{
    const char *p = jr->p, *e = jr->end;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    jr->p = p;
}

const char *jr_kind_name(jr_kind k)
{
    static const char *const names[] = {"nothing",  "an object", "an array", "a string",
                                        "a number", "true",      "false",    "null"};
    return names[k];
}

jr_kind jr_peek(cp_jr *jr)
{
    if (jr->err) return JR_NONE;
    skip_ws(jr);
    if (jr->p >= jr->end) return fail_syntax(jr, ""), JR_NONE;
    switch (*jr->p) {
    case '{':
        return JR_OBJECT;
    case '[':
        return JR_ARRAY;
    case '"':
        return JR_STRING;
    case 't':
        return JR_TRUE;
    case 'f':
        return JR_FALSE;
    case 'n':
        return JR_NULL;
    case '-':
    case '0' ... '9':
        return JR_NUMBER;
    default:
        fail_syntax(jr, "expected a value");
        return JR_NONE;
    }
}

/* Length of the valid UTF-8 sequence at s (first byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *s, const unsigned char *e)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(e - s) < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Validates the escape at p (p[0] == '\\'); returns its length or 0. */
static size_t check_escape(cp_jr *jr, const char *p, unsigned *cp_out)
{
    const char *e = jr->end;
    if (e - p < 2) return 0;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return 2;
    case 'u':
        break;
    default:
        return 0;
    }
    unsigned u, u2;
    if (e - p < 6 || hex4(p + 2, &u)) return 0;
    if (u >= 0xDC00 && u <= 0xDFFF) return (size_t)-1; /* lone low surrogate */
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (e - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &u2) || u2 < 0xDC00 ||
            u2 > 0xDFFF)
            return (size_t)-1;
        *cp_out = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
        return 12;
    }
    *cp_out = u;
    return 6;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescapes a validated string body s[0..n) into the arena. */
static int unescape(cp_jr *jr, const char *s, size_t n, cp_slice *out)
{
    char *o = cp_arena_alloc(jr->arena, n + 1), *w = o;
    if (!o) return jr_fail(jr, CP_REJECT_TOO_LARGE, "out of memory");
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            *w++ = s[i++];
            continue;
        }
        unsigned cp = 0;
        size_t len = check_escape(jr, s + i, &cp);
        switch (s[i + 1]) {
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'u':
            w += put_utf8(w, cp);
            break;
        default:
            *w++ = s[i + 1];
        }
        i += len;
    }
    *w = '\0';
    *out = (cp_slice){o, (size_t)(w - o)};
    return 1;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline int word_is_plain(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
    uint64_t special = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v);
    return ((special | v) & HIGHS) == 0;
}

/* Returns the first byte at or after p that is '"', '\\', a control character or
 * non-ASCII (or a position from which fewer than 8 bytes remain). */
static inline const char *skip_plain(const char *p, const char *e)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so they count as special too */
        __m128i special =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmplt_epi8(v, space));
        int m = _mm_movemask_epi8(special);
        if (m) return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
    while (e - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (!word_is_plain(v)) break;
        p += 8;
    }
    return p;
}

/* Scans the string at jr->p (at '"'); with want, stores its value. */
static int scan_string(cp_jr *jr, int want, cp_slice *out)
{
    const char *p = jr->p + 1, *e = jr->end, *body = p;
    int escaped = 0;
    for (;;) {
        p = skip_plain(p, e);
        if (p >= e) {
            jr->p = p;
            return fail_syntax(jr, "unterminated string");
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c == '\\') {
            unsigned cp;
            size_t n = check_escape(jr, p, &cp);
            jr->p = p;
            if (n == (size_t)-1)
                return jr_fail(jr, CP_REJECT_INVALID_UTF8, "lone surrogate escape at byte %zu",
                               offset(jr));
            if (n == 0) return fail_syntax(jr, "invalid escape");
            escaped = 1;
            p += n;
        } else if (c < 0x20) {
            jr->p = p;
            return fail_syntax(jr, "control character in string");
        } else if (c >= 0x80) {
            size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)e);
            if (!n) {
                jr->p = p;
                return jr_fail(jr, CP_REJECT_INVALID_UTF8, "invalid UTF-8 at byte %zu", offset(jr));
            }
            p += n;
        } else {
            p++;
        }
    }
    jr->p = p + 1;
    if (!want) return 1;
    size_t n = (size_t)(p - body);
    if (!escaped) {
        *out = (cp_slice){body, n};
        return 1;
    }
    return unescape(jr, body, n, out);
}

int jr_string(cp_jr *jr, cp_slice *out)
{
    if (jr_peek(jr) != JR_STRING) return jr->err ? 0 : fail_syntax(jr, "expected a string");
    return scan_string(jr, 1, out);
}

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int jr_parse_number_text(const char *s, size_t n, double *out)
{
    size_t i = 0;
    int neg = 0, ndig = 0, exp10 = 0;
    uint64_t mant = 0;
    if (i < n && s[i] == '-') neg = 1, i++;
    if (i >= n) return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (ndig < 19)
                mant = mant * 10 + (uint64_t)(s[i] - '0'), ndig += mant != 0;
            else
                exp10++;
            i++;
        }
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (ndig < 19) mant = mant * 10 + (uint64_t)(s[i] - '0'), ndig += mant != 0, exp10--;
            i++;
        }
    }
    int has_exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        has_exp = 1;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i != n) return 0;
    if (!has_exp && mant < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)mant;
        v = exp10 < 0 ? v / pow10_tab[-exp10] : v * pow10_tab[exp10];
        *out = neg ? -v : v;
        return 1;
    }
    char tmp[512];
    if (n >= sizeof(tmp)) return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return 1;
}

/* Consumes a number's text per the JSON grammar; returns 1 when it is well formed. */
static int scan_number(cp_jr *jr, cp_slice *raw)
{
    const char *p = jr->p, *e = jr->end, *s = p;
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0') {
        p++;
    } else if (p < e && *p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9') p++;
    } else {
        jr->p = p;
        return fail_syntax(jr, "invalid number");
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9') return jr->p = p, fail_syntax(jr, "invalid number");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return jr->p = p, fail_syntax(jr, "invalid number");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    jr->p = p;
    *raw = (cp_slice){s, (size_t)(p - s)};
    return 1;
}

int jr_number_text(cp_jr *jr, cp_slice *raw)
{
    if (jr_peek(jr) != JR_NUMBER) return jr->err ? 0 : fail_syntax(jr, "expected a number");
    return scan_number(jr, raw);
}

int jr_number(cp_jr *jr, double *out, cp_slice *raw)
{
    if (jr_peek(jr) != JR_NUMBER) return jr->err ? 0 : fail_syntax(jr, "expected a number");
    if (!scan_number(jr, raw)) return 0;
    return jr_parse_number_text(raw->ptr, raw->len, out);
}

static int literal(cp_jr *jr, const char *word, size_t n)
{
    if ((size_t)(jr->end - jr->p) < n || memcmp(jr->p, word, n) != 0)
        return fail_syntax(jr, "invalid literal");
    jr->p += n;
    return 1;
}

static int enter(cp_jr *jr)
{
    if (++jr->depth > jr->max_depth)
        return jr_fail(jr, CP_REJECT_TOO_DEEP, "nesting deeper than %d at byte %zu", jr->max_depth,
                       offset(jr));
    jr->p++;
    return 1;
}

int jr_obj_begin(cp_jr *jr)
{
    if (jr_peek(jr) != JR_OBJECT) return jr->err ? 0 : fail_syntax(jr, "expected an object");
    return enter(jr);
}

int jr_arr_begin(cp_jr *jr)
{
    if (jr_peek(jr) != JR_ARRAY) return jr->err ? 0 : fail_syntax(jr, "expected an array");
    return enter(jr);
}

static char prev_nonblank(const cp_jr *jr)
{
    const char *q = jr->p - 1;
    while (q > jr->start && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) q--;
    return *q;
}

static int obj_next(cp_jr *jr, int want, cp_slice *key)
{
    if (jr->err) return 0;
    skip_ws(jr);
    if (jr->p >= jr->end) return fail_syntax(jr, "");
    char c = *jr->p;
    if (c == '}') {
        jr->p++;
        jr->depth--;
        return 0;
    }
    if (prev_nonblank(jr) != '{') {
        if (c != ',') return fail_syntax(jr, "expected ',' or '}'");
        jr->p++;
        skip_ws(jr);
    }
    if (jr->p >= jr->end || *jr->p != '"') return fail_syntax(jr, "expected a string key");
    if (!scan_string(jr, want, key)) return 0;
    skip_ws(jr);
    if (jr->p >= jr->end || *jr->p != ':') return fail_syntax(jr, "expected ':'");
    jr->p++;
    return 1;
}

int jr_obj_next(cp_jr *jr, cp_slice *key)
{
    return obj_next(jr, 1, key);
}

int jr_arr_next(cp_jr *jr)
{
    if (jr->err) return 0;
    skip_ws(jr);
    if (jr->p >= jr->end) return fail_syntax(jr, "");
    char c = *jr->p;
    if (c == ']') {
        jr->p++;
        jr->depth--;
        return 0;
    }
    if (prev_nonblank(jr) == '[') return 1;
    if (c != ',') return fail_syntax(jr, "expected ',' or ']'");
    jr->p++;
    return 1;
}

int jr_skip(cp_jr *jr, cp_slice *raw)
{
    jr_kind k = jr_peek(jr);
    const char *s = jr->p;
    cp_slice tmp;
    int ok;
    switch (k) {
    case JR_OBJECT:
        ok = enter(jr);
        while (ok && obj_next(jr, 0, &tmp)) ok = jr_skip(jr, NULL);
        break;
    case JR_ARRAY:
        ok = enter(jr);
        while (ok && jr_arr_next(jr)) ok = jr_skip(jr, NULL);
        break;
    case JR_STRING:
        ok = scan_string(jr, 0, &tmp);
        break;
    case JR_NUMBER:
        ok = scan_number(jr, &tmp);
        break;
    case JR_TRUE:
        ok = literal(jr, "true", 4);
        break;
    case JR_FALSE:
        ok = literal(jr, "false", 5);
        break;
    case JR_NULL:
        ok = literal(jr, "null", 4);
        break;
    default:
        return 0;
    }
    if (jr->err) return 0;
    if (raw) *raw = (cp_slice){s, (size_t)(jr->p - s)};
    return ok;
}

int jr_end(cp_jr *jr)
{
    if (jr->err) return 0;
    skip_ws(jr);
    if (jr->p != jr->end) return fail_syntax(jr, "unexpected data after the JSON value");
    return 1;
}
