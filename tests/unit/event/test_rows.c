/* src/event/rows.c: customer and purchase rows (plain, and in Debezium envelopes)
 * onto the exact Segment events, numbers and numeric strings, deletes, and the
 * errors that name the field. */
#include "clickpulse/error.h"
#include "clickpulse/rows.h"
#include "test.h"

#include <string.h>

static char err[256];

static void map(cp_row_kind k, const char *json, int want_rc, const char *want)
{
    cp_buf out;
    cp_buf_init(&out);
    cp_buf_append_str(&out, "[");
    err[0] = 0;
    CHECK_INT(cp_row_to_event(k, cp_slice_from(json), CP_SLICE_LIT("kafka:customers:0/7"), &out,
                              err, sizeof(err)),
              want_rc);
    cp_buf_append_char(&out, 0);
    if (want_rc == CP_OK)
        CHECK_STR(out.ptr + 1, want);
    else {
        CHECK_STR(out.ptr, "["); /* nothing half-written */
        if (want) CHECK_STR(err, want);
    }
    cp_buf_free(&out);
}

static void test_customers(void)
{
    map(CP_ROW_CUSTOMER,
        "{\"customer_id\":\"cus_1\",\"name\":\"Ava Moreau\",\"email\":\"ava@gmx.de\","
        "\"country\":\"BR\",\"signup_date\":\"2026-10-01\",\"extra\":[1,2]}",
        CP_OK,
        "{\"type\":\"identify\",\"userId\":\"cus_1\",\"messageId\":\"kafka:customers:0/7\","
        "\"traits\":{\"source\":\"rows\",\"name\":\"Ava Moreau\",\"email\":\"ava@gmx.de\","
        "\"country\":\"BR\",\"createdAt\":\"2026-10-01\"},"
        "\"context\":{\"location\":{\"source\":\"rows\",\"country\":\"BR\"}}}");
    /* numeric id, escapes, nulls left out, Debezium envelope with payload */
    map(CP_ROW_CUSTOMER,
        "{\"schema\":{},\"payload\":{\"before\":null,\"after\":{\"id\":42,\"name\":\"J\\u00f6rg "
        "\\\"J\\\"\","
        "\"email\":null},\"op\":\"u\"}}",
        CP_OK,
        "{\"type\":\"identify\",\"userId\":\"42\",\"messageId\":\"kafka:customers:0/7\","
        "\"traits\":{\"source\":\"rows\",\"name\":\"J\xc3\xb6rg \\\"J\\\"\"},"
        "\"context\":{\"location\":{\"source\":\"rows\"}}}");
    map(CP_ROW_CUSTOMER, "{\"before\":{\"id\":42},\"after\":null,\"op\":\"d\"}", CP_ENOENT, NULL);
    map(CP_ROW_CUSTOMER, "{\"name\":\"x\"}", CP_EINVAL, "customer_id: missing");
    map(CP_ROW_CUSTOMER, "{\"customer_id\":{\"a\":1}}", CP_EINVAL,
        "userId: expected a string or a number");
    map(CP_ROW_CUSTOMER, "[1,2]", CP_EINVAL, "expected a JSON object");
    map(CP_ROW_CUSTOMER, "{\"customer_id\":\"c\"", CP_EINVAL, NULL);
    map(CP_ROW_CUSTOMER, "{\"customer_id\":\"c\"} x", CP_EINVAL, NULL);
}

static void test_purchases(void)
{
    map(CP_ROW_PURCHASE,
        "{\"order_id\":\"o-1\",\"customer_id\":\"cus_1\",\"purchase_date\":\"2026-10-02T10:00:"
        "00Z\","
        "\"currency\":\"EUR\",\"total_amount\":\"64.90\",\"lines\":[{\"product_id\":\"p-1\","
        "\"name\":\"Lamp\",\"quantity\":2,\"price\":29.95},{\"product_id\":7,\"quantity\":\"1\","
        "\"price\":\"5\"}]}",
        CP_OK,
        "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"cus_1\","
        "\"messageId\":\"order:o-1\",\"timestamp\":\"2026-10-02T10:00:00Z\","
        "\"properties\":{\"source\":\"rows\",\"order_id\":\"o-1\",\"currency\":\"EUR\","
        "\"products\":[{\"source\":\"row\",\"product_id\":\"p-1\",\"name\":\"Lamp\",\"quantity\":2,"
        "\"price\":29.95},{\"source\":\"row\",\"product_id\":\"7\",\"quantity\":1,\"price\":5}],"
        "\"revenue\":64.90}}");
    /* one line flat, no total: revenue from the line */
    map(CP_ROW_PURCHASE,
        "{\"after\":{\"order_id\":9,\"customer_id\":3,\"product_id\":\"p\",\"quantity\":3,"
        "\"price\":2.5},\"op\":\"c\"}",
        CP_OK,
        "{\"type\":\"track\",\"event\":\"Order "
        "Completed\",\"userId\":\"3\",\"messageId\":\"order:9\","
        "\"properties\":{\"source\":\"rows\",\"order_id\":\"9\",\"products\":[{\"source\":\"row\","
        "\"product_id\":\"p\",\"quantity\":3,\"price\":2.5}],\"revenue\":7.50}}");
    map(CP_ROW_PURCHASE, "{\"customer_id\":\"c\"}", CP_EINVAL, "order_id: missing");
    map(CP_ROW_PURCHASE, "{\"order_id\":\"o\"}", CP_EINVAL, "customer_id: missing");
    map(CP_ROW_PURCHASE, "{\"order_id\":\"o\",\"customer_id\":\"c\",\"total_amount\":\"a lot\"}",
        CP_EINVAL, "revenue: expected a number");
    map(CP_ROW_PURCHASE, "{\"order_id\":\"o\",\"customer_id\":\"c\",\"items\":[1]}", CP_EINVAL,
        "lines: each line must be an object");
}

int main(void)
{
    RUN(test_customers);
    RUN(test_purchases);
    TEST_END();
}
