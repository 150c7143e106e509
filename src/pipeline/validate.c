/* Validation rules per event kind, beyond what decoding checks: commerce
 * amounts and codes, identities of orders, e-mail addresses, plausible times. */
#include "clickpulse/pipeline.h"

#include "clickpulse/time.h"

#include <stdio.h>
#include <string.h>

static int reject(cp_reject *r, cp_reject_reason why, const char *detail)
{
    r->reason = why;
    snprintf(r->detail, sizeof(r->detail), "%s", detail);
    return 0;
}

static int negative(cp_reject *r, const char *path, cp_money v)
{
    char text[CP_MONEY_TEXT];
    cp_money_format(v, text);
    r->reason = CP_REJECT_INVALID_VALUE;
    snprintf(r->detail, sizeof(r->detail), "%s: negative (%s)", path, text);
    return 0;
}

/* An order's amount from its lines (Σ price × quantity) must be one silver can hold. */
static int lines_sum_ok(const cp_event *ev, cp_reject *r)
{
    cp_money sum = 0, line;
    for (uint32_t i = 0; i < ev->n_products; i++) {
        const cp_product *p = &ev->products[i];
        if (p->has_price &&
            (cp_money_mul(p->price, p->quantity, &line) || cp_money_add(sum, line, &sum)))
            return reject(r, CP_REJECT_OUT_OF_RANGE,
                          "properties.products: price × quantity adds up beyond "
                          "9999999999999999.99");
    }
    return 1;
}

static int currency_ok(cp_slice c)
{
    if (c.len != 3) return 0;
    for (int i = 0; i < 3; i++)
        if (c.ptr[i] < 'A' || c.ptr[i] > 'Z') return 0;
    return 1;
}

static int email_ok(cp_slice e)
{
    const char *at = memchr(e.ptr, '@', e.len);
    if (!at || at == e.ptr) return 0;
    const char *dom = at + 1, *end = e.ptr + e.len;
    if (memchr(dom, '@', (size_t)(end - dom)) || !memchr(dom, '.', (size_t)(end - dom))) return 0;
    if (end[-1] == '.' || dom[0] == '.') return 0;
    for (const char *p = e.ptr; p < end; p++)
        if (*p == ' ' || (unsigned char)*p < 0x20) return 0;
    return 1;
}

static int products_ok(const cp_event *ev, cp_reject *r)
{
    for (uint32_t i = 0; i < ev->n_products; i++) {
        const cp_product *p = &ev->products[i];
        const char *bad = p->has_price && p->price < 0 ? "price: negative"
                          : p->quantity < 1            ? "quantity: below 1"
                                                       : NULL;
        if (bad) { /* the path is formatted for a rejection only: this runs for every product */
            r->reason = CP_REJECT_INVALID_VALUE;
            snprintf(r->detail, sizeof(r->detail), "properties.products[%u].%s", i, bad);
            return 0;
        }
    }
    return 1;
}

int cp_validate_event(const cp_event *ev, cp_reject *r)
{
    if (ev->time_ms < 946684800000LL) /* 2000-01-01 */
        return reject(r, CP_REJECT_BAD_TIMESTAMP, "event time before 2000-01-01");
    if ((ev->flags & CP_HAS_RECEIVED_AT) && ev->time_ms > ev->received_at_ms + CP_MS_PER_DAY)
        return reject(r, CP_REJECT_BAD_TIMESTAMP,
                      "event time more than a day after it was received");
    if (ev->currency.len && !currency_ok(ev->currency))
        return reject(r, CP_REJECT_INVALID_VALUE, "properties.currency: not an ISO 4217 code");
    if ((ev->flags & CP_HAS_REVENUE) && ev->revenue < 0)
        return negative(r, "properties.revenue", ev->revenue);
    if ((ev->flags & CP_HAS_TOTAL) && ev->total < 0)
        return negative(r, "properties.total", ev->total);
    if (ev->kind == CP_KIND_ORDER_COMPLETED || ev->kind == CP_KIND_ORDER_REFUNDED) {
        if (!ev->order_id.len)
            return reject(r, CP_REJECT_MISSING_FIELD, "properties.order_id: an order needs one");
        if (!(ev->flags & (CP_HAS_REVENUE | CP_HAS_TOTAL)) && ev->n_products == 0)
            return reject(r, CP_REJECT_MISSING_FIELD,
                          "properties.revenue: an order needs revenue, total or products");
    }
    if (!products_ok(ev, r) || !lines_sum_ok(ev, r)) return 0;
    if (ev->kind == CP_KIND_IDENTIFY && ev->email.len && !email_ok(ev->email))
        return reject(r, CP_REJECT_INVALID_VALUE, "traits.email: not an e-mail address");
    return 1;
}
