/* Table rows as events (see include/clickpulse/rows.h): the row's fields are
 * gathered with their raw JSON text, then written out as a Segment event. */
#include "clickpulse/rows.h"

#include "internal.h"

#include "clickpulse/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_FIELDS 48
#define MAX_DEPTH  32

typedef struct field {
    cp_slice key, raw;
    jr_kind kind;
} field;

typedef struct row {
    field f[MAX_FIELDS];
    int n;
} row;

/* Reads the object at the cursor into r (the first MAX_FIELDS keys). */
static int read_object(cp_jr *jr, row *r)
{
    cp_slice k;
    r->n = 0;
    if (!jr_obj_begin(jr)) return 0;
    while (jr_obj_next(jr, &k)) {
        jr_kind kind = jr_peek(jr);
        cp_slice raw;
        if (!jr_skip(jr, &raw)) return 0;
        if (r->n < MAX_FIELDS) r->f[r->n++] = (field){k, raw, kind};
    }
    return !jr->err;
}

static int parse_object(cp_slice text, cp_arena *a, row *r, char *err, size_t errlen)
{
    cp_jr jr;
    jr_init(&jr, text.ptr, text.len, a, MAX_DEPTH);
    if (jr_peek(&jr) != JR_OBJECT) {
        snprintf(err, errlen, "expected a JSON object");
        return CP_EINVAL;
    }
    if (!read_object(&jr, r) || !jr_end(&jr)) {
        snprintf(err, errlen, "not JSON: %s", jr.msg);
        return CP_EINVAL;
    }
    return CP_OK;
}

static const field *get(const row *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (cp_slice_eq_lit(r->f[i].key, name) && r->f[i].kind != JR_NULL) return &r->f[i];
    return NULL;
}

/* A string field's text (unescaped), or a number's digits. */
static int text_of(const field *f, cp_arena *a, cp_slice *out)
{
    if (f->kind == JR_NUMBER) {
        *out = f->raw;
        return 1;
    }
    if (f->kind != JR_STRING) return 0;
    cp_jr jr;
    jr_init(&jr, f->raw.ptr, f->raw.len, a, MAX_DEPTH);
    return jr_string(&jr, out);
}

typedef struct writer {
    cp_buf *out;
    cp_arena *a;
    char *err;
    size_t errlen;
    int rc;
} writer;

static void fail(writer *w, const char *fmt, const char *name)
{
    if (!w->rc) snprintf(w->err, w->errlen, fmt, name);
    if (!w->rc) w->rc = CP_EINVAL;
}

/* ,"name":"text" when the field is there (a number is written as a string). */
static void put_str(writer *w, const char *name, const field *f)
{
    cp_slice v;
    if (!f || w->rc) return;
    if (!text_of(f, w->a, &v)) return fail(w, "%s: expected a string or a number", name);
    if (cp_buf_appendf(w->out, ",\"%s\":", name) || cp_buf_append_json_str(w->out, v.ptr, v.len))
        w->rc = CP_ENOMEM;
}

/* ,"name":number when the field is there (a numeric string is written as a number). */
static void put_num(writer *w, const char *name, const field *f, double *value)
{
    cp_slice v;
    double x;
    if (!f || w->rc) return;
    if (!text_of(f, w->a, &v) || !jr_parse_number_text(v.ptr, v.len, &x) || !isfinite(x))
        return fail(w, "%s: expected a number", name);
    if (value) *value = x;
    if (cp_buf_appendf(w->out, ",\"%s\":%.*s", name, (int)v.len, v.ptr)) w->rc = CP_ENOMEM;
}

/* price × quantity added to *sum exactly; false when it is no amount or too large. */
static bool add_line(const writer *w, const field *price, double qty, cp_money *sum)
{
    cp_slice v;
    cp_money p = 0, line;
    if (price && (!text_of(price, w->a, &v) || cp_money_parse(v.ptr, v.len, &p) != CP_MONEY_OK))
        return false;
    return qty == (double)(int64_t)qty && !cp_money_mul(p, (int64_t)qty, &line) &&
           !cp_money_add(*sum, line, sum);
}

/* {"product_id":…,"quantity":…,"price":…,…}; adds price × quantity to *sum (exactly; *ok
 * false when it cannot). */
static void put_product(writer *w, const row *r, cp_money *sum, bool *ok)
{
    double qty = 1, price = 0;
    if (cp_buf_append_str(w->out, "{\"source\":\"row\"")) w->rc = CP_ENOMEM;
    put_str(w, "product_id", get(r, "product_id"));
    put_str(w, "sku", get(r, "sku"));
    put_str(w, "name", get(r, "name"));
    put_str(w, "category", get(r, "category"));
    put_num(w, "quantity", get(r, "quantity"), &qty);
    put_num(w, "price", get(r, "price"), &price);
    if (!w->rc && cp_buf_append_char(w->out, '}')) w->rc = CP_ENOMEM;
    if (*ok && !add_line(w, get(r, "price"), qty, sum)) *ok = false;
}

static const field *lines_of(const row *r)
{
    static const char *const names[] = {"lines", "items", "products"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const field *f = get(r, names[i]);
        if (f && f->kind == JR_ARRAY) return f;
    }
    return NULL;
}

static void purchase(writer *w, const row *r)
{
    const field *order = get(r, "order_id"), *customer = get(r, "customer_id");
    cp_slice id;
    if (!order || !text_of(order, w->a, &id) || !id.len) return fail(w, "%s: missing", "order_id");
    if (!customer) return fail(w, "%s: missing", "customer_id");
    if (cp_buf_append_str(w->out, "{\"type\":\"track\",\"event\":\"Order Completed\""))
        w->rc = CP_ENOMEM;
    put_str(w, "userId", customer);
    char *mid = cp_arena_alloc(w->a, id.len + 6);
    if (mid) {
        memcpy(mid, "order:", 6);
        memcpy(mid + 6, id.ptr, id.len);
    }
    if (!w->rc && (!mid || cp_buf_append_str(w->out, ",\"messageId\":") ||
                   cp_buf_append_json_str(w->out, mid, id.len + 6)))
        w->rc = CP_ENOMEM;
    put_str(w, "timestamp", get(r, "purchase_date"));
    if (!w->rc && cp_buf_append_str(w->out, ",\"properties\":{\"source\":\"rows\""))
        w->rc = CP_ENOMEM;
    put_str(w, "order_id", order);
    put_str(w, "currency", get(r, "currency"));
    if (!w->rc && cp_buf_append_str(w->out, ",\"products\":[")) w->rc = CP_ENOMEM;
    cp_money sum = 0;
    bool sum_ok = true;
    char text[CP_MONEY_TEXT];
    const field *lines = lines_of(r);
    if (lines) {
        cp_jr jr;
        int first = 1;
        jr_init(&jr, lines->raw.ptr, lines->raw.len, w->a, MAX_DEPTH);
        if (jr_arr_begin(&jr))
            while (!w->rc && jr_arr_next(&jr)) {
                row line;
                if (jr_peek(&jr) != JR_OBJECT || !read_object(&jr, &line)) {
                    fail(w, "%s: each line must be an object", "lines");
                    break;
                }
                if (!first && cp_buf_append_char(w->out, ',')) w->rc = CP_ENOMEM;
                first = 0;
                put_product(w, &line, &sum, &sum_ok);
            }
    } else if (get(r, "product_id")) {
        put_product(w, r, &sum, &sum_ok);
    }
    if (!w->rc && cp_buf_append_char(w->out, ']')) w->rc = CP_ENOMEM;
    const field *total = get(r, "total_amount");
    if (!total) total = get(r, "total");
    if (total)
        put_num(w, "revenue", total, NULL);
    else if (!sum_ok)
        fail(w, "%s: out of range", "revenue");
    else if (!w->rc &&
             (cp_money_format(sum, text), cp_buf_appendf(w->out, ",\"revenue\":%s", text)))
        w->rc = CP_ENOMEM;
    if (!w->rc && cp_buf_append_str(w->out, "}}")) w->rc = CP_ENOMEM;
}

static void customer(writer *w, const row *r, cp_slice update_id)
{
    const field *id = get(r, "customer_id");
    if (!id) id = get(r, "id");
    if (!id) return fail(w, "%s: missing", "customer_id");
    if (cp_buf_append_str(w->out, "{\"type\":\"identify\"")) w->rc = CP_ENOMEM;
    put_str(w, "userId", id);
    if (!w->rc && (cp_buf_append_str(w->out, ",\"messageId\":") ||
                   cp_buf_append_json_str(w->out, update_id.ptr, update_id.len)))
        w->rc = CP_ENOMEM;
    if (!w->rc && cp_buf_append_str(w->out, ",\"traits\":{\"source\":\"rows\"")) w->rc = CP_ENOMEM;
    put_str(w, "name", get(r, "name"));
    put_str(w, "email", get(r, "email"));
    put_str(w, "country", get(r, "country"));
    put_str(w, "createdAt", get(r, "signup_date"));
    if (!w->rc && cp_buf_append_str(w->out, "},\"context\":{\"location\":{\"source\":\"rows\""))
        w->rc = CP_ENOMEM;
    put_str(w, "country", get(r, "country"));
    if (!w->rc && cp_buf_append_str(w->out, "}}}")) w->rc = CP_ENOMEM;
}

int cp_row_to_event(cp_row_kind kind, cp_slice json, cp_slice update_id, cp_buf *out, char *err,
                    size_t errlen)
{
    cp_arena a;
    cp_arena_init(&a, 4096);
    row *top = cp_arena_alloc(&a, sizeof(row)), *r = cp_arena_alloc(&a, sizeof(row));
    int rc = top && r ? parse_object(json, &a, top, err, errlen) : CP_ENOMEM;
    /* Debezium: {"payload":{…}} around {"before":…,"after":…,"op":…} */
    const field *env = rc ? NULL : get(top, "payload");
    if (!rc && env && env->kind == JR_OBJECT) rc = parse_object(env->raw, &a, top, err, errlen);
    int envelope = 0;
    for (int i = 0; !rc && i < top->n; i++)
        envelope |= cp_slice_eq_lit(top->f[i].key, "after") || cp_slice_eq_lit(top->f[i].key, "op");
    if (!rc && envelope) {
        const field *after = get(top, "after");
        if (!after)
            rc = CP_ENOENT; /* a delete */
        else if (after->kind != JR_OBJECT) {
            snprintf(err, errlen, "after: expected an object");
            rc = CP_EINVAL;
        } else
            rc = parse_object(after->raw, &a, r, err, errlen);
    } else if (!rc) {
        *r = *top;
    }
    if (!rc) {
        size_t mark = out->len;
        writer w = {out, &a, err, errlen, CP_OK};
        if (kind == CP_ROW_CUSTOMER)
            customer(&w, r, update_id);
        else
            purchase(&w, r);
        rc = w.rc;
        if (rc) out->len = mark;
    }
    cp_arena_free(&a);
    return rc;
}
