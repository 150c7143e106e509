/* src/core/money.c: amounts from their JSON text to hundredths exactly — the largest
 * DECIMAL(18,2) holds, trailing zeros, exponents, the limits refused for range or for a
 * digit past the cents, and not-numbers — their text back, and exact sums, products and
 * averages rounded halves away from zero. */
#include "clickpulse/money.h"
#include "test.h"

#include <string.h>

static cp_money_status parse(const char *s, cp_money *v)
{
    *v = -1;
    return cp_money_parse(s, strlen(s), v);
}

static void test_parse(void)
{
    static const struct {
        const char *text;
        cp_money_status st;
        cp_money v;
    } cases[] = {
        {"0", CP_MONEY_OK, 0},
        {"-0", CP_MONEY_OK, 0},
        {"19.99", CP_MONEY_OK, 1999},
        {"19.990", CP_MONEY_OK, 1999},
        {"0.05", CP_MONEY_OK, 5},
        {"1.5e2", CP_MONEY_OK, 15000},
        {"1999e-2", CP_MONEY_OK, 1999},
        {"100", CP_MONEY_OK, 10000},
        {"-42.5", CP_MONEY_OK, -4250},
        {"4503599627370495.50", CP_MONEY_OK, 450359962737049550},
        {"98765432109876.55", CP_MONEY_OK, 9876543210987655},
        {"9999999999999999.99", CP_MONEY_OK, CP_MONEY_MAX},
        {"-9999999999999999.99", CP_MONEY_OK, -CP_MONEY_MAX},
        {"0.000000000000000000000000000000000000000000000000", CP_MONEY_OK, 0},
        {"1e16", CP_MONEY_RANGE, -1},
        {"10000000000000000", CP_MONEY_RANGE, -1},
        {"1e999999999", CP_MONEY_RANGE, -1},
        {"12345678901234567890123456789012345678901234567890", CP_MONEY_RANGE, -1},
        {"0.001", CP_MONEY_PRECISION, -1},
        {"19.995", CP_MONEY_PRECISION, -1},
        {"1e-3", CP_MONEY_PRECISION, -1},
        {"1.00000000000000000000000000000000000000000000001", CP_MONEY_PRECISION, -1},
        {"", CP_MONEY_SYNTAX, -1},
        {"-", CP_MONEY_SYNTAX, -1},
        {"01", CP_MONEY_SYNTAX, -1},
        {"1.", CP_MONEY_SYNTAX, -1},
        {".5", CP_MONEY_SYNTAX, -1},
        {"1e", CP_MONEY_SYNTAX, -1},
        {"+1", CP_MONEY_SYNTAX, -1},
        {" 1", CP_MONEY_SYNTAX, -1},
        {"1,5", CP_MONEY_SYNTAX, -1},
        {"NaN", CP_MONEY_SYNTAX, -1},
        {"cheap", CP_MONEY_SYNTAX, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cp_money v;
        cp_money_status st = parse(cases[i].text, &v);
        if (st != cases[i].st || (st == CP_MONEY_OK && v != cases[i].v))
            fprintf(stderr, "case %zu: '%s'\n", i, cases[i].text);
        CHECK_INT(st, cases[i].st);
        if (st == CP_MONEY_OK) CHECK_INT(v, cases[i].v);
    }
}

static void test_format(void)
{
    char t[CP_MONEY_TEXT];
    CHECK_INT(cp_money_format(0, t), 4);
    CHECK_STR(t, "0.00");
    cp_money_format(5, t);
    CHECK_STR(t, "0.05");
    cp_money_format(-4250, t);
    CHECK_STR(t, "-42.50");
    cp_money_format(450359962737049550, t);
    CHECK_STR(t, "4503599627370495.50");
    cp_money_format(-CP_MONEY_MAX, t);
    CHECK_STR(t, "-9999999999999999.99");
    cp_money_format(INT64_MIN, t); /* beyond any amount, still text */
    CHECK_STR(t, "-92233720368547758.08");
}

static void test_arithmetic(void)
{
    cp_money v;
    CHECK_INT(cp_money_add(CP_MONEY_MAX - 1, 1, &v), 0);
    CHECK_INT(v, CP_MONEY_MAX);
    CHECK_INT(cp_money_add(CP_MONEY_MAX, 1, &v), -1);
    CHECK_INT(cp_money_mul(1999, 3, &v), 0);
    CHECK_INT(v, 5997);
    CHECK_INT(cp_money_mul(CP_MONEY_MAX, 2, &v), -1);
    CHECK_INT(cp_money_mul(INT64_MAX, INT64_MAX, &v), -1);
    CHECK_INT(cp_money_div(201, 2), 101); /* 1.005 → 1.01: halves away from zero */
    CHECK_INT(cp_money_div(-201, 2), -101);
    CHECK_INT(cp_money_div(200, 3), 67); /* 0.666… → 0.67 */
    CHECK_INT(cp_money_div(100, 3), 33);
    CHECK_INT(cp_money_div(450359962737049550, 3), 150119987579016517);
    CHECK_INT(cp_money_div(CP_MONEY_MAX, 1), CP_MONEY_MAX);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_format);
    RUN(test_arithmetic);
    TEST_END();
}
