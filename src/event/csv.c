/* CSV tables to events (see include/clickpulse/csv.h). Records are gathered
 * across pieces with RFC 4180 quoting, split into fields, mapped onto a
 * Segment JSON event and decoded by the event decoder; a bad row is rejected
 * with the row's own bytes. Purchases rows of one order (consecutive rows with
 * the same order_id) become one Order Completed. */
#include "clickpulse/csv.h"

#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#define MAX_FIELDS 32
#define MAX_RECORD (1u << 20)

typedef enum table { T_NONE, T_CUSTOMERS, T_PURCHASES, T_CLICKSTREAM, T_UNKNOWN } table;

static const char *const cols_customers[] = {"customer_id", "name",        "email",
                                             "country",     "signup_date", NULL};
static const char *const cols_purchases[] = {"order_id",      "customer_id", "product_id",
                                             "quantity",      "price",       "total_amount",
                                             "purchase_date", NULL};
static const char *const cols_clicks[] = {"user_id",    "session_id", "page_url", "event_type",
                                          "product_id", "timestamp",  NULL};

struct cp_csv_decoder {
    cp_decode_sink sink;
    cp_event_decoder *inner;
    table t;
    int col[8]; /* field index of each of the table's columns */
    cp_buf rec; /* the record being gathered */
    int in_quotes;
    uint64_t fed, rec_pos, line_no, rec_line;
    cp_buf fields; /* unquoted field values, NUL-separated */
    cp_slice f[MAX_FIELDS];
    int nf;
    cp_buf json;
    cp_slice raw; /* the record handed to the inner decoder's callbacks */
    uint64_t cur_pos, cur_line;
    /* the order being gathered (purchases) */
    cp_buf order_id, order_customer, order_date, order_products, order_raw;
    cp_money order_revenue;
    int order_lines;
    uint64_t order_pos, order_line;
};

static const char *const table_names[] = {NULL, "customers", "purchases", "clickstream", NULL};

const char *cp_csv_decoder_table(const cp_csv_decoder *d)
{
    return table_names[d->t];
}

static int inner_event(void *ud, const cp_event *ev)
{
    cp_csv_decoder *d = ud;
    cp_event e = *ev;
    e.pos = d->cur_pos;
    e.line = d->cur_line;
    return d->sink.on_event ? d->sink.on_event(d->sink.ud, &e) : CP_OK;
}

static int inner_reject(void *ud, const cp_reject *r)
{
    cp_csv_decoder *d = ud;
    cp_reject rej = *r;
    rej.raw = d->raw;
    rej.pos = d->cur_pos;
    rej.line = d->cur_line;
    return d->sink.on_reject ? d->sink.on_reject(d->sink.ud, &rej) : CP_OK;
}

cp_csv_decoder *cp_csv_decoder_new(const cp_decode_options *opts, cp_decode_sink sink)
{
    cp_csv_decoder *d = cp_calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->sink = sink;
    if (!(d->inner = cp_event_decoder_new(opts, (cp_decode_sink){d, inner_event, inner_reject}))) {
        cp_free(d);
        return NULL;
    }
    return d;
}

void cp_csv_decoder_free(cp_csv_decoder *d)
{
    if (!d) return;
    cp_event_decoder_free(d->inner);
    cp_buf *bufs[] = {
        &d->rec,        &d->fields,         &d->json,     &d->order_id, &d->order_customer,
        &d->order_date, &d->order_products, &d->order_raw};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) cp_buf_free(bufs[i]);
    cp_free(d);
}

void cp_csv_decoder_set_position(cp_csv_decoder *d, uint64_t pos, uint64_t line)
{
    d->fed = pos;
    d->line_no = line;
}

uint64_t cp_csv_decoder_resume_position(const cp_csv_decoder *d, uint64_t *line)
{
    if (d->order_lines) {
        *line = d->order_line - 1;
        return d->order_pos;
    }
    *line = d->line_no;
    return d->rec.len ? d->rec_pos : d->fed;
}

static int reject_record(cp_csv_decoder *d, cp_reject_reason why, const char *detail)
{
    if (!d->sink.on_reject) return CP_OK;
    cp_reject r = {.reason = why, .raw = d->raw, .line = d->cur_line, .pos = d->cur_pos};
    snprintf(r.detail, sizeof(r.detail), "%s", detail);
    return d->sink.on_reject(d->sink.ud, &r);
}

/* Splits d->rec into fields (RFC 4180). Returns 0, or -1 for a malformed quote. */
static int split(cp_csv_decoder *d)
{
    const char *p = d->rec.ptr, *e = p + d->rec.len;
    if (e > p && e[-1] == '\r') e--;
    cp_buf_reset(&d->fields);
    if (cp_buf_reserve(&d->fields, d->rec.len + MAX_FIELDS)) return -2;
    char *o = d->fields.ptr;
    d->nf = 0;
    for (;;) {
        if (d->nf == MAX_FIELDS) return -1;
        char *start = o;
        if (p < e && *p == '"') {
            for (p++;; p++) {
                if (p >= e) return -1;
                if (*p == '"') {
                    if (p + 1 < e && p[1] == '"')
                        *o++ = *p++;
                    else
                        break;
                } else {
                    *o++ = *p;
                }
            }
            p++;
            if (p < e && *p != ',') return -1;
        } else {
            while (p < e && *p != ',') {
                if (*p == '"') return -1;
                *o++ = *p++;
            }
        }
        d->f[d->nf++] = (cp_slice){start, (size_t)(o - start)};
        *o++ = '\0';
        if (p >= e) return 0;
        p++; /* the comma */
    }
}

static int match_header(cp_csv_decoder *d, const char *const *cols, table t)
{
    int i = 0;
    for (; cols[i]; i++) {
        d->col[i] = -1;
        for (int k = 0; k < d->nf; k++)
            if (cp_slice_eq_lit(d->f[k], cols[i])) d->col[i] = k;
        if (d->col[i] < 0) return 0;
    }
    d->t = t;
    return 1;
}

static int header(cp_csv_decoder *d)
{
    if (match_header(d, cols_purchases, T_PURCHASES) ||
        match_header(d, cols_customers, T_CUSTOMERS) || match_header(d, cols_clicks, T_CLICKSTREAM))
        return CP_OK;
    d->t = T_UNKNOWN;
    return reject_record(d, CP_REJECT_MISSING_FIELD,
                         "unknown CSV table: expected the columns of customers (customer_id,name,"
                         "email,country,signup_date), purchases (order_id,customer_id,product_id,"
                         "quantity,price,total_amount,purchase_date) or clickstream (user_id,"
                         "session_id,page_url,event_type,product_id,timestamp)");
}

static cp_slice field(const cp_csv_decoder *d, int col)
{
    int k = d->col[col];
    return k < d->nf ? d->f[k] : CP_SLICE_NULL;
}

/* Appends ,"name":"value" (JSON-escaped), or nothing when the value is empty. */
static int add_str(cp_buf *j, const char *name, cp_slice v)
{
    if (!v.len) return CP_OK;
    if (cp_buf_appendf(j, ",\"%s\":", name)) return CP_ENOMEM;
    return cp_buf_append_json_str(j, v.ptr, v.len);
}

/* A numeric field is copied as a JSON number only when it is one. */
static int add_num(cp_buf *j, const char *name, cp_slice v)
{
    double x;
    if (!v.len) return CP_OK;
    if (!jr_parse_number_text(v.ptr, v.len, &x)) return CP_EINVAL;
    return cp_buf_appendf(j, ",\"%s\":%.*s", name, (int)v.len, v.ptr);
}

/* Decodes the JSON built in d->json as the event of the current record. */
static int decode_json(cp_csv_decoder *d)
{
    if (cp_buf_append_char(&d->json, '}')) return CP_ENOMEM;
    return cp_event_decode(d->inner, d->json.ptr, d->json.len);
}

static int customer(cp_csv_decoder *d)
{
    cp_buf *j = &d->json;
    cp_slice id = field(d, 0);
    cp_buf_reset(j);
    int rc = cp_buf_append_str(j, "{\"type\":\"identify\"");
    if (!rc) rc = add_str(j, "userId", id);
    if (!rc)
        rc = cp_buf_appendf(j, ",\"messageId\":\"csv:customers:%.*s\"",
                            (int)(id.len > 200 ? 200 : id.len), id.ptr);
    if (!rc) rc = add_str(j, "timestamp", field(d, 4));
    if (!rc) rc = cp_buf_append_str(j, ",\"traits\":{\"source\":\"customers.csv\"");
    if (!rc) rc = add_str(j, "name", field(d, 1));
    if (!rc) rc = add_str(j, "email", field(d, 2));
    if (!rc) rc = add_str(j, "country", field(d, 3));
    if (!rc) rc = add_str(j, "createdAt", field(d, 4));
    if (!rc) rc = cp_buf_append_str(j, "},\"context\":{\"location\":{");
    cp_slice c = field(d, 3);
    if (!rc && c.len)
        rc = cp_buf_append_str(j, "\"country\":") || cp_buf_append_json_str(j, c.ptr, c.len);
    if (!rc) rc = cp_buf_append_str(j, "}}");
    return rc ? rc : decode_json(d);
}

/* Event types of clickstream tables onto Segment names; orders come from the
 * purchases table, so a clickstream purchase is kept as a custom event. */
static const char *click_event(cp_slice t, int *is_page)
{
    if (cp_slice_eq_lit(t, "identify")) {
        *is_page = 2;
        return "";
    }
    static const char *const map[][2] = {{"page", ""},
                                         {"page_view", ""},
                                         {"pageview", ""},
                                         {"view", ""},
                                         {"product_viewed", "Product Viewed"},
                                         {"product_view", "Product Viewed"},
                                         {"view_item", "Product Viewed"},
                                         {"product_added", "Product Added"},
                                         {"add_to_cart", "Product Added"},
                                         {"product_removed", "Product Removed"},
                                         {"remove_from_cart", "Product Removed"},
                                         {"cart_viewed", "Cart Viewed"},
                                         {"view_cart", "Cart Viewed"},
                                         {"checkout_started", "Checkout Started"},
                                         {"begin_checkout", "Checkout Started"},
                                         {"checkout", "Checkout Started"},
                                         {"signed_up", "Signed Up"},
                                         {"sign_up", "Signed Up"},
                                         {"order_completed", "Order Placed (clickstream)"},
                                         {"purchase", "Order Placed (clickstream)"}};
    *is_page = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!cp_slice_eq_lit(t, map[i][0])) continue;
        *is_page = map[i][1][0] == '\0';
        return map[i][1];
    }
    return NULL;
}

static int looks_like_uuid(cp_slice v)
{
    if (v.len != 36) return 0;
    for (size_t i = 0; i < 36; i++) {
        char c = v.ptr[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/* The path of a URL: from the first '/' after "scheme://host", else the whole value. */
static cp_slice url_path(cp_slice url)
{
    const char *s = url.len ? memchr(url.ptr, ':', url.len) : NULL;
    if (!s || url.len - (size_t)(s - url.ptr) < 3 || s[1] != '/' || s[2] != '/') return url;
    const char *p = memchr(s + 3, '/', url.len - (size_t)(s + 3 - url.ptr));
    return p ? (cp_slice){p, url.len - (size_t)(p - url.ptr)} : CP_SLICE_LIT("/");
}

static int click(cp_csv_decoder *d)
{
    cp_buf *j = &d->json;
    int is_page; /* 0 track, 1 page, 2 identify */
    cp_slice type = field(d, 3), user = field(d, 0), url = field(d, 2);
    const char *name = click_event(type, &is_page);
    if (!name) {
        char msg[128];
        snprintf(msg, sizeof(msg), "event_type: unknown clickstream event type '%.*s'",
                 (int)(type.len > 40 ? 40 : type.len), type.ptr);
        return reject_record(d, CP_REJECT_UNKNOWN_TYPE, msg);
    }
    uint64_t h = XXH3_64bits(d->rec.ptr, d->rec.len);
    cp_buf_reset(j);
    static const char *const types[] = {"track", "page", "identify"};
    int rc = cp_buf_appendf(j, "{\"type\":\"%s\",\"messageId\":\"csv:click:%016llx\"",
                            types[is_page], (unsigned long long)h);
    if (!rc && !is_page) rc = add_str(j, "event", cp_slice_from(name));
    if (!rc) rc = add_str(j, looks_like_uuid(user) ? "anonymousId" : "userId", user);
    if (!rc) rc = add_str(j, "timestamp", field(d, 5));
    if (!rc) rc = cp_buf_append_str(j, ",\"properties\":{\"source\":\"clickstream.csv\"");
    if (!rc) rc = add_str(j, "$session_id", field(d, 1));
    if (!rc) rc = add_str(j, "product_id", field(d, 4));
    if (!rc) rc = cp_buf_append_str(j, "},\"context\":{\"page\":");
    size_t at = json_obj_open(j);
    if (!rc) rc = add_str(j, "url", url);
    if (!rc) rc = add_str(j, "path", url_path(url));
    if (!rc) rc = json_obj_close(j, at);
    if (!rc) rc = cp_buf_append_char(j, '}');
    return rc ? rc : decode_json(d);
}

static int set_buf(cp_buf *b, cp_slice v)
{
    cp_buf_reset(b);
    return cp_buf_append(b, v.ptr ? v.ptr : "", v.len);
}

/* Emits the gathered order as one Order Completed. */
static int flush_order(cp_csv_decoder *d)
{
    if (!d->order_lines) return CP_OK;
    cp_buf *j = &d->json;
    cp_buf_reset(j);
    int rc = cp_buf_append_str(j, "{\"type\":\"track\",\"event\":\"Order Completed\"");
    if (!rc) rc = add_str(j, "userId", cp_buf_slice(&d->order_customer));
    if (!rc)
        rc = cp_buf_appendf(j, ",\"messageId\":\"csv:order:%.*s\"",
                            (int)(d->order_id.len > 200 ? 200 : d->order_id.len), d->order_id.ptr);
    if (!rc) rc = add_str(j, "timestamp", cp_buf_slice(&d->order_date));
    if (!rc) rc = cp_buf_append_str(j, ",\"properties\":{\"source\":\"purchases.csv\"");
    if (!rc) rc = add_str(j, "order_id", cp_buf_slice(&d->order_id));
    if (!rc) {
        char rev[CP_MONEY_TEXT];
        cp_money_format(d->order_revenue, rev);
        rc = cp_buf_appendf(j, ",\"revenue\":%s,\"products\":[%.*s]}", rev,
                            (int)d->order_products.len, d->order_products.ptr);
    }
    d->order_lines = 0;
    d->cur_pos = d->order_pos;
    d->cur_line = d->order_line;
    d->raw = cp_buf_slice(&d->order_raw);
    return rc ? rc : decode_json(d);
}

static int purchase(cp_csv_decoder *d)
{
    cp_slice id = field(d, 0);
    cp_money total, pr;
    cp_slice qty = field(d, 3), price = field(d, 4), amount = field(d, 5);
    double q;
    if (!jr_parse_number_text(qty.ptr, qty.len, &q) ||
        cp_money_parse(price.ptr, price.len, &pr) == CP_MONEY_SYNTAX ||
        cp_money_parse(amount.ptr, amount.len, &total) == CP_MONEY_SYNTAX)
        return reject_record(d, CP_REJECT_WRONG_TYPE,
                             "quantity, price and total_amount must be numbers");
    if (cp_money_parse(amount.ptr, amount.len, &total) == CP_MONEY_PRECISION)
        return reject_record(d, CP_REJECT_INVALID_VALUE,
                             "total_amount: more than two decimal places");
    if (cp_money_parse(amount.ptr, amount.len, &total) != CP_MONEY_OK)
        return reject_record(d, CP_REJECT_OUT_OF_RANGE,
                             "total_amount: beyond the largest amount, 9999999999999999.99");
    if (!id.len) return reject_record(d, CP_REJECT_MISSING_FIELD, "order_id: empty");
    int rc = CP_OK;
    if (d->order_lines && !cp_slice_eq(id, cp_buf_slice(&d->order_id))) {
        uint64_t pos = d->cur_pos, line = d->cur_line;
        cp_slice raw = d->raw;
        rc = flush_order(d);
        d->cur_pos = pos, d->cur_line = line, d->raw = raw;
        if (rc) return rc;
    }
    if (!d->order_lines) {
        if (set_buf(&d->order_id, id) || set_buf(&d->order_customer, field(d, 1)) ||
            set_buf(&d->order_date, field(d, 6)))
            return CP_ENOMEM;
        cp_buf_reset(&d->order_products);
        cp_buf_reset(&d->order_raw);
        d->order_revenue = 0;
        d->order_pos = d->cur_pos;
        d->order_line = d->cur_line;
    }
    cp_buf *j = &d->order_products;
    if (d->order_lines) rc = cp_buf_append_char(j, ',');
    size_t at = json_obj_open(j);
    if (!rc) rc = add_str(j, "product_id", field(d, 2));
    if (!rc) rc = add_num(j, "quantity", qty);
    if (!rc) rc = add_num(j, "price", price);
    if (!rc) rc = json_obj_close(j, at);
    if (!rc) rc = cp_buf_append(&d->order_raw, d->rec.ptr, d->rec.len);
    if (!rc) rc = cp_buf_append_char(&d->order_raw, '\n');
    if (cp_money_add(d->order_revenue, total, &d->order_revenue))
        return reject_record(d, CP_REJECT_OUT_OF_RANGE,
                             "total_amount: the order's sum is beyond 9999999999999999.99");
    d->order_lines++;
    return rc;
}

static int record(cp_csv_decoder *d)
{
    d->cur_pos = d->rec_pos;
    d->cur_line = d->rec_line;
    d->raw = cp_buf_slice(&d->rec);
    int s = split(d);
    if (s == -2) return CP_ENOMEM;
    if (d->rec.len == 0 || (d->rec.len == 1 && d->rec.ptr[0] == '\r')) return CP_OK;
    if (s < 0)
        return reject_record(d, CP_REJECT_NOT_JSON,
                             "malformed CSV record (quotes or too many fields)");
    switch (d->t) {
    case T_NONE:
        return header(d);
    case T_CUSTOMERS:
        return customer(d);
    case T_PURCHASES:
        return purchase(d);
    case T_CLICKSTREAM:
        return click(d);
    default:
        return reject_record(d, CP_REJECT_MISSING_FIELD, "after an unknown CSV header");
    }
}

int cp_csv_decoder_feed(cp_csv_decoder *d, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    int rc = CP_OK;
    while (p < end && rc == CP_OK) {
        if (d->rec.len == 0) {
            d->rec_pos = d->fed + (uint64_t)(p - buf);
            d->rec_line = d->line_no + 1;
        }
        const char *q = p;
        while (q < end && (d->in_quotes || *q != '\n')) {
            if (*q == '"') d->in_quotes = !d->in_quotes;
            q++;
        }
        if (cp_buf_append(&d->rec, p, (size_t)(q - p))) return CP_ENOMEM;
        if (d->rec.len > MAX_RECORD) { /* an unclosed quote swallowing the input */
            d->cur_pos = d->rec_pos, d->cur_line = d->rec_line;
            d->raw = (cp_slice){d->rec.ptr, 4096};
            rc = reject_record(d, CP_REJECT_TOO_LARGE,
                               "CSV record longer than 1 MiB (unclosed quote?)");
            cp_buf_reset(&d->rec);
            d->in_quotes = 0;
            p = q < end ? q + 1 : end;
            continue;
        }
        if (q == end) break;
        d->line_no = d->rec_line;
        rc = record(d);
        cp_buf_reset(&d->rec);
        p = q + 1;
    }
    d->fed += len;
    return rc;
}

int cp_csv_decoder_finish(cp_csv_decoder *d)
{
    int rc = CP_OK;
    if (d->rec.len) {
        d->line_no = d->rec_line;
        rc = record(d);
        cp_buf_reset(&d->rec);
    }
    return rc ? rc : flush_order(d);
}
