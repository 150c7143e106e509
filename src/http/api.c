/* The daemon's API server (see include/clickpulse/http.h). Request bodies are
 * gathered per connection up to a limit; every answer that is an error is a
 * JSON object with a reason. */
#include "clickpulse/http.h"

#include "assets.h"
#include "clickpulse/error.h"
#include "clickpulse/jobs.h"
#include "clickpulse/live.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY          (1u << 20)
#define QUERY_WAIT_MS     2000 /* default wait for silver to hold what was acknowledged */
#define QUERY_WAIT_MAX_MS 60000

struct cp_api {
    cp_api_config c;
    char *token;
    struct MHD_Daemon *d;
    volatile int stopping; /* ends live streams */
};

typedef http_request request;

int cp_parse_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= hostlen) return CP_EINVAL;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535) return CP_EINVAL;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    *port = (int)p;
    return CP_OK;
}

static enum MHD_Result reply_with(struct MHD_Connection *con, unsigned status, const char *type,
                                  const char *body, size_t len, const char *header,
                                  const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (header) MHD_add_response_header(r, header, value);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, const char *type,
                             const char *body, size_t len)
{
    return reply_with(con, status, type, body, len, NULL, NULL);
}

static enum MHD_Result reply_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
    cp_buf b;
    cp_buf_init(&b);
    cp_buf_append_str(&b, "{\"error\":");
    cp_buf_append_json_str(&b, msg, strlen(msg));
    cp_buf_append_str(&b, "}\n");
    enum MHD_Result r = reply(con, status, "application/json", b.ptr ? b.ptr : "", b.len);
    cp_buf_free(&b);
    return r;
}

static int authorised(cp_api *a, struct MHD_Connection *con)
{
    if (!a->token || !a->token[0]) return 1;
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, a->token) == 0) return 1;
    const char *q = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "token");
    return q && strcmp(q, a->token) == 0;
}

static enum MHD_Result query(cp_api *a, struct MHD_Connection *con, request *req)
{
    const char *f = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "format");
    const char *m = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "max_rows");
    const char *w = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "wait_ms");
    const char *sql = req->body.len
                          ? req->body.ptr
                          : MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "sql");
    cp_query_format fmt = CP_QUERY_JSON;
    static const char *const types[] = {"text/plain; charset=utf-8", "text/csv; charset=utf-8",
                                        "application/json"};
    if (f && strcmp(f, "table") == 0)
        fmt = CP_QUERY_TABLE;
    else if (f && strcmp(f, "csv") == 0)
        fmt = CP_QUERY_CSV;
    else if (f && strcmp(f, "json") != 0)
        return reply_error(con, 400, "format: expected table, csv or json");
    if (!sql || !*sql) return reply_error(con, 400, "no SQL: send it as the request body");
    long wait_ms = QUERY_WAIT_MS;
    if (w) {
        char *end;
        wait_ms = strtol(w, &end, 10);
        if (end == w || *end || wait_ms < 0 || wait_ms > QUERY_WAIT_MAX_MS)
            return reply_error(con, 400, "wait_ms: expected milliseconds from 0 to 60000");
    }
    /* Fresh unless silver could not catch up with what was acknowledged before the query. */
    const char *fresh = "true";
    if (a->c.catch_up && a->c.catch_up(a->c.ud, (int)wait_ms) != 0) fresh = "false";
    char *out = NULL, err[2048];
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    if (!mem) return reply_error(con, 500, "out of memory");
    int rc = cp_store_query_readonly(a->c.store, sql, fmt, m ? atoll(m) : 0, mem, err, sizeof(err));
    fclose(mem);
    enum MHD_Result r =
        rc ? reply_error(con, 400, err)
           : reply_with(con, 200, types[fmt], out, len, "X-Clickpulse-Fresh", fresh);
    free(out);
    return r;
}

/* ---- jobs ---- */

/* GET /api/v1/jobs; POST /api/v1/jobs/NAME/run (rest is "" or "/NAME/run"). */
static enum MHD_Result jobs(cp_api *a, struct MHD_Connection *con, const char *rest,
                            const char *method)
{
    if (!a->c.jobs) return reply_error(con, 503, "no job scheduler in this process");
    if (!*rest) {
        if (strcmp(method, "GET") != 0) return reply_error(con, 405, "use GET");
        cp_buf b;
        cp_buf_init(&b);
        cp_scheduler_json(a->c.jobs, &b);
        cp_buf_append_char(&b, '\n');
        enum MHD_Result r = reply(con, 200, "application/json", b.ptr, b.len);
        cp_buf_free(&b);
        return r;
    }
    char name[128], err[512];
    size_t n = strlen(rest);
    if (n < 6 || n - 5 > sizeof(name) || strcmp(rest + n - 4, "/run") != 0)
        return reply_error(con, 404, "no such endpoint: POST /api/v1/jobs/NAME/run runs a job");
    if (strcmp(method, "POST") != 0) return reply_error(con, 405, "use POST");
    snprintf(name, sizeof(name), "%.*s", (int)(n - 5), rest + 1);
    if (cp_scheduler_run(a->c.jobs, name, false, err, sizeof(err)))
        return reply_error(con, 404, err);
    return reply(con, 202, "application/json", "{\"started\":true}\n", 17);
}

/* ---- the live view ---- */

#define STREAM_INTERVAL_MS 1000

static enum MHD_Result live(cp_api *a, struct MHD_Connection *con)
{
    if (!a->c.live) return reply_error(con, 503, "no live view in this process");
    cp_buf b;
    cp_buf_init(&b);
    int rc = cp_live_snapshot(a->c.live, cp_now_ms(), &b);
    enum MHD_Result r = rc ? reply_error(con, 500, cp_strerror(rc))
                           : reply(con, 200, "application/json", b.ptr, b.len);
    cp_buf_free(&b);
    return r;
}

/* One live stream (Server-Sent Events): a snapshot every interval, written by the
 * connection's own thread, which sleeps between them. */
typedef struct stream {
    cp_api *a;
    int64_t interval_ms, next_ms;
    cp_buf buf;
    size_t off;
    bool started;
} stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    stream *s = cls;
    (void)pos;
    while (s->off == s->buf.len) {
        if (s->a->stopping) return MHD_CONTENT_READER_END_OF_STREAM;
        int64_t now = cp_now_ms();
        if (now < s->next_ms) {
            int64_t wait = s->next_ms - now < 100 ? s->next_ms - now : 100;
            nanosleep(&(struct timespec){0, (long)wait * 1000000L}, NULL);
            continue;
        }
        s->next_ms = (s->next_ms ? s->next_ms : now) + s->interval_ms;
        if (s->next_ms < now) s->next_ms = now + s->interval_ms; /* fell behind: skip ticks */
        cp_buf_reset(&s->buf);
        s->off = 0;
        /* the first message tells the browser to reconnect a second after a drop */
        cp_buf_append_str(&s->buf,
                          s->started ? "event: live\ndata: " : "retry: 1000\nevent: live\ndata: ");
        s->started = true;
        if (cp_live_snapshot(s->a->c.live, now, &s->buf)) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->buf.len && s->buf.ptr[s->buf.len - 1] == '\n') s->buf.len--;
        if (cp_buf_append_str(&s->buf, "\n\n")) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->buf.len - s->off < max ? s->buf.len - s->off : max;
    memcpy(out, s->buf.ptr + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    cp_buf_free(&s->buf);
    cp_free(s);
}

static enum MHD_Result live_stream(cp_api *a, struct MHD_Connection *con)
{
    if (!a->c.live) return reply_error(con, 503, "no live view in this process");
    const char *iv = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "interval_ms");
    long interval = STREAM_INTERVAL_MS;
    if (iv) {
        char *end;
        interval = strtol(iv, &end, 10);
        if (end == iv || *end || interval < 50 || interval > 60000)
            return reply_error(con, 400, "interval_ms: expected milliseconds from 50 to 60000");
    }
    stream *s = cp_calloc(1, sizeof(*s));
    if (!s) return reply_error(con, 500, "out of memory");
    s->a = a;
    s->interval_ms = interval;
    cp_buf_init(&s->buf);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
    if (!r) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ok = MHD_queue_response(con, 200, r);
    MHD_destroy_response(r);
    return ok;
}

/* The dashboard's files; gzip when the client takes it. */
static enum MHD_Result asset(struct MHD_Connection *con, const char *url)
{
    if (strcmp(url, "/index.html") == 0) url = "/";
    for (const http_asset *f = http_assets; f->path; f++) {
        if (strcmp(f->path, url) != 0) continue;
        const char *ae = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept-Encoding");
        bool gz = ae && strstr(ae, "gzip");
        struct MHD_Response *r = MHD_create_response_from_buffer(
            gz ? f->gz_len : f->len, (void *)(gz ? f->gz : f->data), MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, "Content-Type", f->type);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "Vary", "Accept-Encoding");
        if (gz) MHD_add_response_header(r, "Content-Encoding", "gzip");
        enum MHD_Result ok = MHD_queue_response(con, 200, r);
        MHD_destroy_response(r);
        return ok;
    }
    return reply_error(con, 404, "no such page");
}

static enum MHD_Result route(cp_api *a, struct MHD_Connection *con, const char *url,
                             const char *method, request *req)
{
    if (strcmp(url, "/health") == 0) {
        cp_buf b;
        cp_buf_init(&b);
        int status = a->c.health ? a->c.health(a->c.ud, &b) : 200;
        if (!b.len) cp_buf_append_str(&b, "{\"status\":\"ok\"}\n");
        enum MHD_Result r = reply(con, (unsigned)status, "application/json", b.ptr, b.len);
        cp_buf_free(&b);
        return r;
    }
    if (strncmp(url, "/api/v1/", 8) != 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return reply_error(con, 405, "the dashboard's pages are read with GET");
        return asset(con, url);
    }
    if (!authorised(a, con)) return reply_error(con, 401, "a valid dashboard token is required");
    if (req->too_big) return reply_error(con, 413, "request body larger than 1 MiB");
    if (strcmp(url, "/api/v1/query") == 0) {
        if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
            return reply_error(con, 405, "use POST with the SQL as the body");
        return query(a, con, req);
    }
    if (strcmp(url, "/api/v1/jobs") == 0 || strncmp(url, "/api/v1/jobs/", 13) == 0)
        return jobs(a, con, url + 12, method);
    if (strcmp(url, "/api/v1/live") == 0 || strcmp(url, "/api/v1/live/stream") == 0) {
        if (strcmp(method, "GET") != 0) return reply_error(con, 405, "use GET");
        return url[12] ? live_stream(a, con) : live(a, con);
    }
    return reply_error(con, 404, "no such endpoint");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    request *req;
    (void)version;
    int g = http_gather(con_cls, upload, upload_size, MAX_BODY, 0, &req);
    if (g != HTTP_READY) return g == HTTP_MORE ? MHD_YES : MHD_NO;
    return route(cls, con, url, method, req);
}

int cp_api_start(const cp_api_config *c, cp_api **out, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (http_listen_addr(c->listen, "dashboard.listen", &sa, err, errlen)) return CP_EINVAL;
    cp_api *a = cp_calloc(1, sizeof(*a));
    if (!a) return CP_ENOMEM;
    a->c = *c;
    a->token = c->token ? cp_strdup(c->token) : NULL;
    a->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handle, a, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, "api",
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
        http_request_done, a, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!a->d) {
        snprintf(err, errlen, "cannot listen on %s (in use?)", c->listen);
        cp_free(a->token);
        cp_free(a);
        return CP_EIO;
    }
    *out = a;
    return CP_OK;
}

void cp_api_stop(cp_api *a)
{
    if (!a) return;
    a->stopping = 1;
    MHD_stop_daemon(a->d);
    cp_free(a->token);
    cp_free(a);
}
