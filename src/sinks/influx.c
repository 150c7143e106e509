/* The InfluxDB sink: the per-minute KPIs (rt_minute) as line protocol to an InfluxDB
 * 1.x /write endpoint, a point per minute in sinks.influx.measurement, timestamped with
 * the minute. A minute is written again whenever it changes; InfluxDB keeps the last
 * point of a series and time, so redelivery is harmless. The database named by the URL's
 * db parameter is created when missing. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <stdio.h>
#include <string.h>

typedef struct influx_sink {
    char *url, *measurement;
    sink_http *http;
    cp_buf data, resp, write_url;
    int time_col; /* the column timestamping a point */
} influx_sink;

static void influx_tables(const cp_config *c, char *out, size_t len)
{
    (void)c;
    snprintf(out, len, "rt_minute");
}

static int influx_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    influx_sink *x = cp_calloc(1, sizeof(*x));
    if (!x) return CP_ENOMEM;
    x->url = cp_strdup(c->sinks_influx_url);
    x->measurement = cp_strdup(c->sinks_influx_measurement);
    x->http = sink_http_new();
    cp_buf_init(&x->data), cp_buf_init(&x->resp), cp_buf_init(&x->write_url);
    *ctx = x;
    if (!x->url || !x->measurement || !x->http) return CP_ENOMEM;
    if (strncmp(x->url, "http://", 7) && strncmp(x->url, "https://", 8)) {
        snprintf(err, errlen, "sinks.influx.url: '%s' is not an http:// or https:// URL", x->url);
        return CP_EINVAL;
    }
    if (!x->measurement[0] || strpbrk(x->measurement, " ,\n")) {
        snprintf(err, errlen, "sinks.influx.measurement: '%s' is not a measurement name",
                 x->measurement);
        return CP_EINVAL;
    }
    sink_url_param(&x->write_url, x->url, "precision", "ms");
    return CP_OK;
}

static void influx_map(void *ctx, const char *type, char *dest, size_t destlen, const char **render)
{
    (void)ctx;
    snprintf(dest, destlen, "%s", type);
    *render =
        !strncmp(type, "TIMESTAMP", 9) ? "CAST(epoch_ms({}) AS VARCHAR)" : "CAST({} AS VARCHAR)";
}

static int post(influx_sink *x, const char *url, const char *body, size_t len, char *err,
                size_t errlen)
{
    long status = 0;
    char why[512];
    if (sink_http_post(x->http, url, body, len, &status, &x->resp, why, sizeof(why))) {
        snprintf(err, errlen, "InfluxDB: %s", why);
        return CP_EIO;
    }
    if (status != 204 && status != 200) {
        size_t n = x->resp.len > 400 ? 400 : x->resp.len;
        while (n && x->resp.ptr[n - 1] == '\n') n--;
        snprintf(err, errlen, "InfluxDB: HTTP %ld: %.*s", status, (int)n,
                 x->resp.ptr ? x->resp.ptr : "");
        return CP_EIO;
    }
    return CP_OK;
}

/* CREATE DATABASE for the URL's db parameter, at <scheme://host:port>/query. */
static int influx_connect(void *ctx, char *err, size_t errlen)
{
    influx_sink *x = ctx;
    const char *db = strstr(x->url, "db=");
    if (!db || (db[-1] != '?' && db[-1] != '&')) return CP_OK;
    const char *host = strstr(x->url, "://") + 3;
    size_t base = (size_t)(strcspn(host, "/?") + (size_t)(host - x->url));
    char name[256], q[400];
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(db + 3, "&"), db + 3);
    snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"", name);
    cp_buf u;
    cp_buf_init(&u);
    cp_buf_append(&u, x->url, base);
    cp_buf_append_str(&u, "/query");
    cp_buf body;
    cp_buf_init(&body);
    sink_url_param(&body, "", "q", q);
    int rc =
        u.ptr && body.ptr ? post(x, u.ptr, body.ptr + 1, body.len - 1, err, errlen) : CP_ENOMEM;
    cp_buf_free(&u);
    cp_buf_free(&body);
    return rc;
}

static void influx_disconnect(void *ctx)
{
    (void)ctx;
}

static int influx_prepare(void *ctx, sink_stream *st, char *err, size_t errlen)
{
    influx_sink *x = ctx;
    x->time_col = -1;
    for (size_t i = 0; i < st->ncols && x->time_col < 0; i++)
        if (!strcmp(st->cols[i].name, "minute")) x->time_col = (int)i;
    for (size_t i = 0; i < st->ncols && x->time_col < 0; i++)
        if (!strncmp(st->cols[i].type, "TIMESTAMP", 9)) x->time_col = (int)i;
    if (x->time_col < 0) {
        snprintf(err, errlen, "InfluxDB: %s has no timestamp to write points at", st->source);
        return CP_ETYPE;
    }
    return CP_OK;
}

static int influx_begin(void *ctx, const sink_stream *st)
{
    influx_sink *x = ctx;
    (void)st;
    cp_buf_reset(&x->data);
    return CP_OK;
}

static bool integer_type(const char *t)
{
    return strstr(t, "INT") != NULL;
}

/* A field per numeric column (integers with an i), other columns as string fields; the
 * update time is not a field. */
static int influx_row(void *ctx, const sink_stream *st, const cp_slice *v)
{
    influx_sink *x = ctx;
    cp_buf *b = &x->data;
    int fields = 0;
    cp_buf_append_str(b, x->measurement);
    for (size_t i = 0; i < st->ncols; i++) {
        const sink_column *c = &st->cols[i];
        if ((int)i == x->time_col || (int)i == st->key || !v[i].ptr) continue;
        cp_buf_append_char(b, fields++ ? ',' : ' ');
        cp_buf_append_str(b, c->name);
        cp_buf_append_char(b, '=');
        if (integer_type(c->type)) {
            cp_buf_append(b, v[i].ptr, v[i].len);
            cp_buf_append_char(b, 'i');
        } else if (!strcmp(c->type, "DOUBLE") || !strcmp(c->type, "FLOAT") ||
                   !strncmp(c->type, "DECIMAL", 7) || !strcmp(c->type, "BOOLEAN")) {
            cp_buf_append(b, v[i].ptr, v[i].len);
        } else {
            cp_buf_append_char(b, '"');
            for (size_t k = 0; k < v[i].len; k++) {
                if (v[i].ptr[k] == '"' || v[i].ptr[k] == '\\') cp_buf_append_char(b, '\\');
                cp_buf_append_char(b, v[i].ptr[k]);
            }
            cp_buf_append_char(b, '"');
        }
    }
    if (!fields) { /* a point needs a field */
        b->len -= strlen(x->measurement);
        return CP_OK;
    }
    const cp_slice t = v[x->time_col];
    cp_buf_append_char(b, ' ');
    cp_buf_append(b, t.ptr ? t.ptr : "0", t.ptr ? t.len : 1);
    return cp_buf_append_char(b, '\n');
}

static int influx_commit(void *ctx, const sink_stream *st, char *err, size_t errlen)
{
    influx_sink *x = ctx;
    (void)st;
    return x->data.len ? post(x, x->write_url.ptr, x->data.ptr, x->data.len, err, errlen) : CP_OK;
}

static void influx_free(void *ctx)
{
    influx_sink *x = ctx;
    sink_http_free(x->http);
    cp_buf_free(&x->data), cp_buf_free(&x->resp), cp_buf_free(&x->write_url);
    cp_free(x->url);
    cp_free(x->measurement);
    cp_free(x);
}

const cp_sink_ops cp_sink_influx = {
    .name = "influx",
    .tables = influx_tables,
    .open = influx_open,
    .map = influx_map,
    .connect = influx_connect,
    .prepare = influx_prepare,
    .begin = influx_begin,
    .row = influx_row,
    .commit = influx_commit,
    .disconnect = influx_disconnect,
    .free = influx_free,
};
