/* Money: exact decimal amounts, a whole number of hundredths (cents) in an int64 — what
 * silver's DECIMAL(18,2) columns hold. Amounts are parsed from their JSON text, never
 * through a double, so 4503599627370495.50 stays 4503599627370495.50. */
#ifndef CLICKPULSE_MONEY_H
#define CLICKPULSE_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t cp_money; /* hundredths */

/* The largest amount DECIMAL(18,2) holds: 9999999999999999.99. */
#define CP_MONEY_MAX 999999999999999999LL

typedef enum cp_money_status {
    CP_MONEY_OK = 0,
    CP_MONEY_SYNTAX,    /* not a JSON number */
    CP_MONEY_RANGE,     /* beyond ±CP_MONEY_MAX */
    CP_MONEY_PRECISION, /* a non-zero digit past the hundredths */
} cp_money_status;

/* Parses the JSON number text s[0..n) (RFC 8259 grammar: "-12.50", "1.5e2", "19.990")
 * exactly into hundredths. Returns CP_MONEY_OK and sets *out, or the reason it cannot.
 * Thread-safe, no allocation. */
cp_money_status cp_money_parse(const char *s, size_t n, cp_money *out);

/* Writes v as decimal text with two decimals ("-1234.50", "0.00") and a NUL into out
 * (at least CP_MONEY_TEXT bytes); returns the length. */
#define CP_MONEY_TEXT 24
size_t cp_money_format(cp_money v, char *out);

/* a + b and a * n, within ±CP_MONEY_MAX; return 0 and set *out, or -1 on overflow. */
int cp_money_add(cp_money a, cp_money b, cp_money *out);
int cp_money_mul(cp_money a, int64_t n, cp_money *out);

/* a / n (n > 0) rounded to the hundredth, halves away from zero: an average amount. */
cp_money cp_money_div(cp_money a, int64_t n);

/* a converted at rate_e8 (the rate × 10^8: DECIMAL(18,8)'s digits), rounded to the hundredth,
 * halves away from zero — as the store's round(amount * rate, 2). */
cp_money cp_money_convert(cp_money a, int64_t rate_e8);

#endif
