/* Exact decimal money: JSON number text to hundredths and back, with the bounds of
 * DECIMAL(18,2). The digits are read as a digit string and a power of ten; trailing
 * zeros are dropped first, so "19.990" and "1.999e1" are exact and "0.001" is not. */
#include "clickpulse/money.h"

#include <stdbool.h>

#define SIG_MAX 40 /* significant digits kept; more can neither fit nor be exact */

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The exponent of "e±ddd" from s[*i]; saturates far beyond any amount. */
static bool read_exponent(const char *s, size_t n, size_t *i, long *exp)
{
    bool neg = false;
    if (*i < n && (s[*i] == '+' || s[*i] == '-')) neg = s[(*i)++] == '-';
    if (*i >= n || !digit(s[*i])) return false;
    long e = 0;
    for (; *i < n && digit(s[*i]); (*i)++)
        if (e < 100000) e = e * 10 + (s[*i] - '0');
    *exp = neg ? -e : e;
    return true;
}

cp_money_status cp_money_parse(const char *s, size_t n, cp_money *out)
{
    char sig[SIG_MAX];
    int nsig = 0;   /* significant digits kept, leading zeros skipped */
    long extra = 0; /* significant digits beyond SIG_MAX (integer part): powers of ten */
    long frac = 0;  /* digits after the point that are in sig */
    bool neg = false, any = false, lost = false;
    size_t i = 0;
    if (i < n && s[i] == '-') neg = true, i++;
    if (i >= n || !digit(s[i]) || (s[i] == '0' && i + 1 < n && digit(s[i + 1])))
        return CP_MONEY_SYNTAX;
    for (; i < n && digit(s[i]); i++, any = true) {
        if (nsig == 0 && s[i] == '0') continue;
        if (nsig < SIG_MAX)
            sig[nsig++] = s[i];
        else
            extra++;
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !digit(s[i])) return CP_MONEY_SYNTAX;
        for (; i < n && digit(s[i]); i++) {
            if (nsig == 0 && s[i] == '0') {
                frac++; /* a leading zero of the fraction: a place, no digit */
                continue;
            }
            if (nsig < SIG_MAX && !extra)
                sig[nsig++] = s[i], frac++;
            else if (s[i] != '0')
                lost = true; /* a digit too far down to be a cent */
        }
    }
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (!read_exponent(s, n, &i, &exp)) return CP_MONEY_SYNTAX;
    }
    if (i != n || !any) return CP_MONEY_SYNTAX;
    while (nsig && sig[nsig - 1] == '0') nsig--, frac--; /* trailing zeros are no precision */
    if (nsig == 0 && !lost) return *out = 0, CP_MONEY_OK;
    /* the value is sig × 10^(extra + exp - frac); in hundredths, 10^(scale) */
    long scale = extra + exp - frac + 2;
    if (lost || scale < 0) {
        /* lost digits lie beyond 40 significant ones: a range problem when the integer
         * part alone is too large, else too precise */
        return nsig + scale > 18 ? CP_MONEY_RANGE : CP_MONEY_PRECISION;
    }
    if (nsig + scale > 18) return CP_MONEY_RANGE;
    int64_t v = 0;
    for (int k = 0; k < nsig; k++) v = v * 10 + (sig[k] - '0');
    for (long k = 0; k < scale; k++) v *= 10;
    if (v > CP_MONEY_MAX) return CP_MONEY_RANGE; /* cannot happen at 18 digits; kept as a guard */
    *out = neg ? -v : v;
    return CP_MONEY_OK;
}

size_t cp_money_format(cp_money v, char *out)
{
    char tmp[CP_MONEY_TEXT];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
        if (n == 2) tmp[n++] = '.';
    } while (u || n < 4);
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = tmp[--n];
    out[len] = 0;
    return len;
}

int cp_money_add(cp_money a, cp_money b, cp_money *out)
{
    cp_money r;
    if (__builtin_add_overflow(a, b, &r) || r > CP_MONEY_MAX || r < -CP_MONEY_MAX) return -1;
    *out = r;
    return 0;
}

int cp_money_mul(cp_money a, int64_t n, cp_money *out)
{
    cp_money r;
    if (__builtin_mul_overflow(a, n, &r) || r > CP_MONEY_MAX || r < -CP_MONEY_MAX) return -1;
    *out = r;
    return 0;
}

cp_money cp_money_div(cp_money a, int64_t n)
{
    __int128 q = (__int128)a / n, r = (__int128)a % n;
    if (2 * (r < 0 ? -r : r) >= n) q += a < 0 ? -1 : 1;
    return (cp_money)q;
}

cp_money cp_money_convert(cp_money a, int64_t rate_e8)
{
    __int128 p = (__int128)a * rate_e8, q = p / 100000000, r = p % 100000000;
    if (2 * (r < 0 ? -r : r) >= 100000000) q += p < 0 ? -1 : 1;
    return (cp_money)q;
}
