/* Snowplow tracker parameters to Segment JSON (see include/clickpulse/snowplow.h). */
#include "clickpulse/snowplow.h"

#include "clickpulse/error.h"
#include "clickpulse/time.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cp_slice get(const cp_kv *p, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (cp_slice_eq_lit(p[i].key, key)) return p[i].value;
    return CP_SLICE_NULL;
}

/* ,"name":"value" (escaped) when the value is set. */
static int str(cp_buf *o, const char *name, cp_slice v)
{
    if (!v.len) return CP_OK;
    if (cp_buf_appendf(o, ",\"%s\":", name)) return CP_ENOMEM;
    return cp_buf_append_json_str(o, v.ptr, v.len);
}

/* ,"name":number when the value is a number; CP_EINVAL when set but not one. */
static int num(cp_buf *o, const char *name, cp_slice v)
{
    double x;
    if (!v.len) return CP_OK;
    if (!jr_parse_number_text(v.ptr, v.len, &x)) return CP_EINVAL;
    return cp_buf_appendf(o, ",\"%s\":%.*s", name, (int)v.len, v.ptr);
}

/* ,"name":"RFC 3339" from epoch milliseconds. */
static int ms_time(cp_buf *o, const char *name, cp_slice v)
{
    char tmp[32], ts[32];
    if (!v.len) return CP_OK;
    if (v.len >= sizeof(tmp)) return CP_EINVAL;
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = 0;
    char *end;
    long long ms = strtoll(tmp, &end, 10);
    if (*end || ms <= 0) return CP_EINVAL;
    ts[cp_time_format(ms, ts)] = 0;
    return cp_buf_appendf(o, ",\"%s\":\"%s\"", name, ts);
}

/* The event name of a self-describing event: the schema's name part
 * ("iglu:com.acme/checkout_step/jsonschema/1-0-0" → "checkout_step"), and its data. */
static int self_describing(cp_slice ue, cp_buf *o, char *err, size_t errlen)
{
    cp_arena a;
    cp_jr jr;
    cp_slice k, schema = CP_SLICE_NULL, inner = CP_SLICE_NULL;
    cp_arena_init(&a, 4096);
    jr_init(&jr, ue.ptr, ue.len, &a, 32);
    if (jr_obj_begin(&jr))
        while (jr_obj_next(&jr, &k)) {
            if (cp_slice_eq_lit(k, "data") && jr_peek(&jr) == JR_OBJECT) {
                jr_obj_begin(&jr);
                while (jr_obj_next(&jr, &k)) {
                    if (cp_slice_eq_lit(k, "schema"))
                        jr_string(&jr, &schema);
                    else if (cp_slice_eq_lit(k, "data"))
                        jr_skip(&jr, &inner);
                    else
                        jr_skip(&jr, NULL);
                }
            } else {
                jr_skip(&jr, NULL);
            }
        }
    int rc = CP_OK;
    const char *slash = schema.len ? memchr(schema.ptr, '/', schema.len) : NULL;
    if (jr.err || !slash || !inner.len || inner.ptr[0] != '{') {
        snprintf(err, errlen, "ue_pr/ue_px: not a self-describing event");
        rc = CP_EINVAL;
    } else {
        const char *name = slash + 1,
                   *end = memchr(name, '/', schema.len - (size_t)(name - schema.ptr));
        size_t n = end ? (size_t)(end - name) : schema.len - (size_t)(name - schema.ptr);
        rc = str(o, "event", (cp_slice){name, n});
        if (!rc) rc = cp_buf_append_str(o, ",\"properties\":{\"schema\":");
        if (!rc) rc = cp_buf_append_json_str(o, schema.ptr, schema.len);
        const char *body = inner.ptr + 1;
        size_t blen = inner.len - 2;
        while (blen && (*body == ' ' || *body == '\n' || *body == '\t' || *body == '\r'))
            body++, blen--;
        if (!rc && blen) rc = cp_buf_append_char(o, ',') || cp_buf_append(o, body, blen);
        if (!rc) rc = cp_buf_append_char(o, '}');
    }
    cp_arena_free(&a);
    return rc;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

static int b64_decode(cp_slice in, cp_buf *out)
{
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.len && in.ptr[i] != '='; i++) {
        int v = b64url_value(in.ptr[i]);
        if (v < 0) return CP_EINVAL;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (cp_buf_append_char(out, (char)(acc >> bits & 0xFF))) return CP_ENOMEM;
        }
    }
    return CP_OK;
}

static int kind_fields(const cp_kv *p, size_t n, cp_slice e, cp_buf *o, char *err, size_t errlen)
{
    int rc = CP_OK;
    if (cp_slice_eq_lit(e, "pv")) {
        rc = cp_buf_append_str(o, "\"type\":\"page\"");
        if (!rc) rc = str(o, "name", get(p, n, "page"));
    } else if (cp_slice_eq_lit(e, "pp")) {
        rc = cp_buf_append_str(o, "\"type\":\"track\",\"event\":\"Page Ping\"");
    } else if (cp_slice_eq_lit(e, "se")) {
        rc = cp_buf_append_str(o, "\"type\":\"track\"");
        if (!rc) rc = str(o, "event", get(p, n, "se_ac"));
        if (!rc) rc = cp_buf_append_str(o, ",\"properties\":");
        size_t at = json_obj_open(o);
        if (!rc)
            rc = str(o, "category", get(p, n, "se_ca")) || str(o, "label", get(p, n, "se_la")) ||
                 str(o, "property", get(p, n, "se_pr"));
        if (!rc) rc = num(o, "value", get(p, n, "se_va"));
        if (!rc) rc = json_obj_close(o, at);
    } else if (cp_slice_eq_lit(e, "ue")) {
        cp_slice pr = get(p, n, "ue_pr"), px = get(p, n, "ue_px");
        cp_buf dec;
        cp_buf_init(&dec);
        if (!pr.len && px.len && !b64_decode(px, &dec)) pr = cp_buf_slice(&dec);
        rc = cp_buf_append_str(o, "\"type\":\"track\"");
        if (!rc) rc = self_describing(pr, o, err, errlen);
        cp_buf_free(&dec);
    } else if (cp_slice_eq_lit(e, "tr")) {
        rc = cp_buf_append_str(o,
                               "\"type\":\"track\",\"event\":\"Order Completed\",\"properties\":");
        size_t at = json_obj_open(o);
        if (!rc) rc = str(o, "order_id", get(p, n, "tr_id"));
        if (!rc) rc = num(o, "total", get(p, n, "tr_tt"));
        if (!rc) rc = num(o, "tax", get(p, n, "tr_tx"));
        if (!rc) rc = num(o, "shipping", get(p, n, "tr_sh"));
        if (!rc)
            rc =
                str(o, "currency", get(p, n, "tr_cu")) || str(o, "affiliation", get(p, n, "tr_af"));
        if (!rc) rc = json_obj_close(o, at);
    } else if (cp_slice_eq_lit(e, "ti")) {
        rc = cp_buf_append_str(o, "\"type\":\"track\",\"event\":\"Order Item\",\"properties\":");
        size_t at = json_obj_open(o);
        if (!rc)
            rc = str(o, "order_id", get(p, n, "ti_id")) || str(o, "sku", get(p, n, "ti_sk")) ||
                 str(o, "name", get(p, n, "ti_nm")) || str(o, "category", get(p, n, "ti_ca"));
        if (!rc) rc = num(o, "price", get(p, n, "ti_pr"));
        if (!rc) rc = num(o, "quantity", get(p, n, "ti_qu"));
        if (!rc) rc = str(o, "currency", get(p, n, "ti_cu"));
        if (!rc) rc = json_obj_close(o, at);
    } else {
        snprintf(err, errlen, "e: unknown Snowplow event type '%.*s'",
                 (int)(e.len > 16 ? 16 : e.len), e.ptr);
        return CP_EINVAL;
    }
    if (rc == CP_EINVAL && !err[0])
        snprintf(err, errlen, "a numeric Snowplow parameter is not a number");
    return rc;
}

int cp_snowplow_event(const cp_kv *p, size_t n, cp_buf *o, char *err, size_t errlen)
{
    cp_slice e = get(p, n, "e"), anon = get(p, n, "duid");
    err[0] = 0;
    if (!e.len) {
        snprintf(err, errlen, "e: missing (the Snowplow event type)");
        return CP_EINVAL;
    }
    if (!anon.len) anon = get(p, n, "nuid");
    int rc = cp_buf_append_char(o, '{');
    if (!rc) rc = kind_fields(p, n, e, o, err, errlen);
    if (!rc)
        rc = str(o, "messageId", get(p, n, "eid")) || str(o, "userId", get(p, n, "uid")) ||
             str(o, "anonymousId", anon);
    if (!rc)
        rc = ms_time(o, "originalTimestamp", get(p, n, "dtm")) ||
             ms_time(o, "sentAt", get(p, n, "stm")) || ms_time(o, "timestamp", get(p, n, "ttm"));
    if (rc == CP_EINVAL && !err[0])
        snprintf(err, errlen, "dtm/stm/ttm: not a time in milliseconds");
    if (!rc) rc = cp_buf_append_str(o, ",\"context\":{\"library\":{\"name\":\"snowplow\"");
    if (!rc) rc = str(o, "version", get(p, n, "tv"));
    if (!rc) rc = cp_buf_append_str(o, "},\"page\":");
    size_t at = json_obj_open(o);
    if (!rc)
        rc = str(o, "url", get(p, n, "url")) || str(o, "referrer", get(p, n, "refr")) ||
             str(o, "title", get(p, n, "page"));
    if (!rc) rc = json_obj_close(o, at);
    if (!rc)
        rc = str(o, "userAgent", get(p, n, "ua")) || str(o, "locale", get(p, n, "lang")) ||
             str(o, "timezone", get(p, n, "tz")) || str(o, "sessionId", get(p, n, "sid"));
    if (!rc) rc = cp_buf_append_char(o, '}');
    if (!rc && get(p, n, "aid").len) {
        rc = cp_buf_append_str(o, ",\"integrations\":{\"snowplow\":{\"app_id\":");
        if (!rc) rc = cp_buf_append_json_str(o, get(p, n, "aid").ptr, get(p, n, "aid").len);
        if (!rc) rc = cp_buf_append_str(o, "}}");
    }
    if (!rc) rc = cp_buf_append_char(o, '}');
    return rc;
}

#define MAX_PARAMS 128

/* One element of "data": an object of string values. */
static int payload_element(cp_jr *jr, cp_buf *out, cp_slice *app_id, char *err, size_t errlen)
{
    cp_kv kv[MAX_PARAMS];
    size_t n = 0;
    cp_slice k;
    if (!jr_obj_begin(jr)) return CP_EINVAL;
    while (jr_obj_next(jr, &k)) {
        if (jr_peek(jr) != JR_STRING || n == MAX_PARAMS) {
            if (!jr->err) snprintf(err, errlen, "data: every Snowplow parameter must be a string");
            return CP_EINVAL;
        }
        kv[n].key = k;
        if (!jr_string(jr, &kv[n].value)) return CP_EINVAL;
        if (!app_id->len && cp_slice_eq_lit(k, "aid")) *app_id = kv[n].value;
        n++;
    }
    return cp_snowplow_event(kv, n, out, err, errlen);
}

int cp_snowplow_payload(cp_slice body, cp_buf *out, cp_arena *arena, cp_slice *app_id, char *err,
                        size_t errlen)
{
    cp_jr jr;
    cp_slice k;
    int found = 0, rc = CP_OK, first = 1;
    err[0] = 0;
    *app_id = CP_SLICE_NULL;
    jr_init(&jr, body.ptr, body.len, arena, 32);
    if (cp_buf_append_str(out, "{\"batch\":[")) return CP_ENOMEM;
    if (jr_obj_begin(&jr))
        while (rc == CP_OK && jr_obj_next(&jr, &k)) {
            if (!cp_slice_eq_lit(k, "data") || jr_peek(&jr) != JR_ARRAY) {
                jr_skip(&jr, NULL);
                continue;
            }
            found = 1;
            jr_arr_begin(&jr);
            while (rc == CP_OK && jr_arr_next(&jr)) {
                if (!first && cp_buf_append_char(out, ',')) return CP_ENOMEM;
                first = 0;
                rc = payload_element(&jr, out, app_id, err, errlen);
            }
        }
    if (jr.err && !err[0]) snprintf(err, errlen, "not a Snowplow payload: %s", jr.msg);
    if (rc == CP_OK && (jr.err || !found)) {
        if (!err[0]) snprintf(err, errlen, "not a Snowplow payload: no \"data\" array");
        rc = CP_EINVAL;
    }
    return rc ? rc : cp_buf_append_str(out, "]}");
}
