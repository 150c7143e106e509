/* Fuzz target: bytes → an exact amount (cp_money_parse). What parses must lie within
 * DECIMAL(18,2) and come back the same from its text; the parser's idea of a number must
 * be the JSON grammar's (the event reader's), so no valid amount is refused as a
 * non-number and nothing else is taken for one. */
#include "clickpulse/money.h"
#include "event/internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    cp_money v, again;
    cp_money_status st = cp_money_parse(s, size, &v);
    double d;
    if (size < 400 && (st != CP_MONEY_SYNTAX) != (jr_parse_number_text(s, size, &d) != 0)) abort();
    if (st != CP_MONEY_OK) return 0;
    if (v > CP_MONEY_MAX || v < -CP_MONEY_MAX) abort();
    char text[CP_MONEY_TEXT];
    size_t n = cp_money_format(v, text);
    if (cp_money_parse(text, n, &again) != CP_MONEY_OK || again != v) abort();
    return 0;
}
