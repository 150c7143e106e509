/* The daemon's API server (see include/clickpulse/http.h). Request bodies are
 * gathered per connection up to a limit; every answer that is an error is a
 * JSON object with a reason. */
#include "clickpulse/http.h"

#include "assets.h"
#include "auth.h"
#include "form.h"
#include "clickpulse/error.h"
#include "clickpulse/jobs.h"
#include "clickpulse/live.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "internal.h"
#include "pages.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY          (1u << 20)
#define QUERY_WAIT_MS     2000 /* default wait for silver to hold what was acknowledged */
#define QUERY_WAIT_MAX_MS 60000

#define N_READERS        4    /* statements the API runs at once */
#define MAX_RANGE_DAYS   3660 /* the longest date range a page takes */
#define LOGIN_FAIL_DELAY 250  /* ms a failed login waits before its answer */

struct cp_api {
    cp_api_config c;
    http_auth *auth;
    struct MHD_Daemon *d;
    volatile int stopping; /* ends live streams */
    pthread_mutex_t mu;    /* the reader pool */
    pthread_cond_t freed;
    cp_store_reader *readers[N_READERS];
    bool busy[N_READERS];
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

/* The user a request is from: the token as a Bearer header, or a session cookie. */
static int authorised(cp_api *a, struct MHD_Connection *con, char *user, size_t cap)
{
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && http_auth_token_ok(a->auth, h + 7)) {
        snprintf(user, cap, "token");
        return 1;
    }
    const char *cookie = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie");
    return http_auth_session(a->auth, cookie, user, cap);
}

/* ---- the reader pool: statements run on connections of their own ---- */

static int reader_take(cp_api *a, cp_store_reader **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&a->mu);
    int slot = -1;
    while (slot < 0) {
        for (int i = 0; i < N_READERS && slot < 0; i++)
            if (!a->busy[i]) slot = i;
        if (slot < 0) pthread_cond_wait(&a->freed, &a->mu);
    }
    a->busy[slot] = true;
    pthread_mutex_unlock(&a->mu);
    int rc = CP_OK;
    if (!a->readers[slot])
        rc = cp_store_reader_open(a->c.store, http_pages_init_sql, &a->readers[slot], err, errlen);
    if (rc) {
        pthread_mutex_lock(&a->mu);
        a->busy[slot] = false;
        pthread_cond_signal(&a->freed);
        pthread_mutex_unlock(&a->mu);
        return rc;
    }
    *out = a->readers[slot];
    return CP_OK;
}

static void reader_give(cp_api *a, cp_store_reader *r)
{
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < N_READERS; i++)
        if (a->readers[i] == r) a->busy[i] = false;
    pthread_cond_signal(&a->freed);
    pthread_mutex_unlock(&a->mu);
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
    char *out = NULL, err[2048], rows[32];
    size_t len = 0;
    int64_t total = 0;
    cp_store_reader *rd;
    if (reader_take(a, &rd, err, sizeof(err))) return reply_error(con, 503, err);
    FILE *mem = open_memstream(&out, &len);
    int rc = CP_ENOMEM;
    if (mem) {
        cp_query_args qa = {.format = fmt,
                            .max_rows = m ? atoll(m) : 0,
                            .timeout_ms = a->c.query_timeout_ms,
                            .total_rows = &total};
        rc = cp_store_reader_query(rd, sql, &qa, mem, err, sizeof(err));
        fclose(mem);
    }
    reader_give(a, rd);
    if (rc == CP_ENOMEM) snprintf(err, sizeof(err), "out of memory");
    snprintf(rows, sizeof(rows), "%lld", (long long)total);
    enum MHD_Result r;
    if (rc) {
        r = reply_error(con, rc == CP_ETIMEOUT ? 408 : 400, err);
    } else {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_COPY);
        if (!resp) {
            free(out);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", types[fmt]);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Clickpulse-Fresh", fresh);
        MHD_add_response_header(resp, "X-Clickpulse-Rows", rows);
        r = MHD_queue_response(con, 200, resp);
        MHD_destroy_response(resp);
    }
    free(out);
    return r;
}

/* ---- pages ---- */

/* GET /api/v1/pages/NAME?from=&to=&country=&device=&source= (and /api/v1/filters). */
static enum MHD_Result page(cp_api *a, struct MHD_Connection *con, const char *name)
{
    static const char *const keys[HTTP_PAGE_PARAMS] = {"from", "to", "country", "device", "source"};
    const char *p[HTTP_PAGE_PARAMS];
    for (int i = 0; i < HTTP_PAGE_PARAMS; i++) {
        p[i] = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, keys[i]);
        if (p[i] && (!*p[i] || strcmp(p[i], "all") == 0)) p[i] = NULL;
        if (p[i] && strlen(p[i]) > 200) return reply_error(con, 400, "a filter value is too long");
    }
    char from[16], to[16];
    int64_t d0, d1;
    if (p[1] && http_parse_day(p[1], &d1)) return reply_error(con, 400, "to: expected YYYY-MM-DD");
    if (!p[1]) d1 = cp_day_of(cp_now_ms());
    if (p[0] && http_parse_day(p[0], &d0))
        return reply_error(con, 400, "from: expected YYYY-MM-DD");
    if (!p[0]) d0 = d1 - 29;
    if (d0 > d1) return reply_error(con, 400, "from is after to");
    if (d1 - d0 >= MAX_RANGE_DAYS) return reply_error(con, 400, "the date range is over 10 years");
    from[cp_date_format(d0, from)] = 0;
    to[cp_date_format(d1, to)] = 0;
    p[0] = from;
    p[1] = to;
    if (!http_page_exists(name)) return reply_error(con, 404, "no such page");
    char err[512];
    cp_store_reader *rd;
    if (reader_take(a, &rd, err, sizeof(err))) return reply_error(con, 503, err);
    cp_buf b;
    cp_buf_init(&b);
    int rc = http_page_json(rd, name, p, a->c.query_timeout_ms, &b);
    reader_give(a, rd);
    enum MHD_Result r = rc ? reply_error(con, 500, cp_strerror(rc))
                           : reply(con, 200, "application/json", b.ptr, b.len);
    cp_buf_free(&b);
    return r;
}

/* ---- login ---- */

static enum MHD_Result with_cookie(cp_api *a, struct MHD_Connection *con, unsigned status,
                                   const char *sid, const char *location, const char *body)
{
    char cookie[256];
    if (sid)
        snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
                 HTTP_SESSION_COOKIE, sid, (long long)(http_auth_ttl_ms(a->auth) / 1000),
                 a->c.secure_cookies ? "; Secure" : "");
    else
        snprintf(cookie, sizeof(cookie), "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                 HTTP_SESSION_COOKIE, a->c.secure_cookies ? "; Secure" : "");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Set-Cookie", cookie);
    if (location) MHD_add_response_header(r, "Location", location);
    enum MHD_Result ok = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ok;
}

static void login_failed(void)
{
    nanosleep(&(struct timespec){0, LOGIN_FAIL_DELAY * 1000000L}, NULL);
}

/* POST /api/v1/login with user and password, or token (form-encoded). */
static enum MHD_Result login(cp_api *a, struct MHD_Connection *con, request *req)
{
    char user[128] = "", password[256] = "", token[256] = "", sid[HTTP_SID_LEN + 1];
    const char *b = req->body.ptr ? req->body.ptr : "";
    http_form_value(b, req->body.len, "user", user, sizeof(user));
    http_form_value(b, req->body.len, "password", password, sizeof(password));
    http_form_value(b, req->body.len, "token", token, sizeof(token));
    if (!http_auth_login(a->auth, user, password, token, sid)) {
        login_failed();
        return reply_error(con, 401, token[0] ? "wrong token" : "wrong user name or password");
    }
    cp_buf out;
    cp_buf_init(&out);
    cp_buf_append_str(&out, "{\"user\":");
    cp_buf_append_json_str(&out, token[0] ? "token" : user, strlen(token[0] ? "token" : user));
    cp_buf_append_str(&out, "}\n");
    enum MHD_Result r = with_cookie(a, con, 200, sid, NULL, out.ptr);
    cp_buf_free(&out);
    return r;
}

/* GET /login?token=T&next=/path: a link that logs in and goes on to the page. */
static enum MHD_Result login_link(cp_api *a, struct MHD_Connection *con, const char *token)
{
    const char *next = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "next");
    char sid[HTTP_SID_LEN + 1];
    if (!http_auth_login(a->auth, NULL, NULL, token, sid)) {
        login_failed();
        return with_cookie(a, con, 303, NULL, "/login?failed=1", "{\"error\":\"wrong token\"}\n");
    }
    if (!http_safe_next(next)) next = "/";
    return with_cookie(a, con, 303, sid, next, "{\"ok\":true}\n");
}

static enum MHD_Result me(cp_api *a, struct MHD_Connection *con, const char *user)
{
    char body[512];
    cp_buf u;
    cp_buf_init(&u);
    cp_buf_append_json_str(&u, user, strlen(user));
    int n = snprintf(body, sizeof(body),
                     "{\"user\":%.*s,\"query_max_rows\":%lld,\"query_timeout_ms\":%d}\n",
                     (int)u.len, u.ptr, (long long)a->c.query_max_rows, a->c.query_timeout_ms);
    cp_buf_free(&u);
    return reply(con, 200, "application/json", body, (size_t)n);
}

static enum MHD_Result metrics(cp_api *a, struct MHD_Connection *con)
{
    cp_buf b;
    cp_buf_init(&b);
    if (a->c.metrics) a->c.metrics(a->c.ud, &b);
    enum MHD_Result r = reply(con, 200, "text/plain; version=0.0.4", b.ptr ? b.ptr : "", b.len);
    cp_buf_free(&b);
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

/* The dashboard's pages: each is index.html, which draws the one its path names. */
static const char *const app_pages[] = {
    "/",          "/live",     "/overview", "/sales",   "/acquisition",
    "/countries", "/funnel",   "/sessions", "/content", "/conversion",
    "/customers", "/segments", "/pipeline", "/sql",     NULL};
/* What a browser may fetch before logging in. */
static const char *const public_assets[] = {"/login", "/login.js", "/app.css", NULL};

static int listed(const char *const *list, const char *url)
{
    for (; *list; list++)
        if (strcmp(*list, url) == 0) return 1;
    return 0;
}

/* The dashboard's files; gzip when the client takes it. */
static enum MHD_Result asset(struct MHD_Connection *con, const char *url)
{
    if (listed(app_pages, url)) url = "/";
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
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Referrer-Policy", "same-origin");
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; frame-ancestors 'none'");
        if (gz) MHD_add_response_header(r, "Content-Encoding", "gzip");
        enum MHD_Result ok = MHD_queue_response(con, 200, r);
        MHD_destroy_response(r);
        return ok;
    }
    return reply_error(con, 404, "no such page");
}

/* s percent-encoded (twice over for what a query's value must keep) into b. */
static void url_encode(cp_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("/-_.", *s)) {
            cp_buf_append_char(b, *s);
        } else {
            char hex[4];
            snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)*s);
            cp_buf_append_str(b, hex);
        }
    }
}

/* The request's query arguments, as "?k=v&..." encoded for a value of next. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    cp_buf *b = cls, one;
    (void)kind;
    cp_buf_init(&one);
    cp_buf_append_str(&one, b->len ? "&" : "?");
    url_encode(&one, key);
    cp_buf_append_char(&one, '=');
    url_encode(&one, value);
    url_encode(b, one.ptr);
    cp_buf_free(&one);
    return MHD_YES;
}

/* A page asked for without a login: to the login page, which comes back to it. */
static enum MHD_Result to_login(struct MHD_Connection *con, const char *url)
{
    char location[2048];
    cp_buf next, args;
    cp_buf_init(&next);
    cp_buf_init(&args);
    url_encode(&next, url);
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, add_arg, &args);
    snprintf(location, sizeof(location), "/login?next=%.*s%.*s", (int)next.len, next.ptr,
             (int)args.len, args.ptr ? args.ptr : "");
    cp_buf_free(&next);
    cp_buf_free(&args);
    return reply_with(con, 303, "application/json", "{\"error\":\"log in first\"}\n", 24,
                      "Location", location);
}

/* POST /api/v1/forget with user_id=…: a person's erasure. */
static enum MHD_Result forget(cp_api *a, struct MHD_Connection *con, request *req)
{
    char user[1024] = "";
    if (!a->c.forget) return reply_error(con, 503, "no pipeline in this process");
    http_form_value(req->body.ptr ? req->body.ptr : "", req->body.len, "user_id", user,
                    sizeof(user));
    if (!user[0]) return reply_error(con, 400, "the form field user_id names the person to forget");
    cp_buf out;
    cp_buf_init(&out);
    int status = a->c.forget(a->c.ud, user, &out);
    enum MHD_Result r = reply(con, status, "application/json", out.ptr ? out.ptr : "", out.len);
    cp_buf_free(&out);
    return r;
}

static enum MHD_Result api_route(cp_api *a, struct MHD_Connection *con, const char *url,
                                 const char *method, request *req, const char *user)
{
    int get = strcmp(method, "GET") == 0;
    if (req->too_big) return reply_error(con, 413, "request body larger than 1 MiB");
    if (strcmp(url, "/api/v1/query") == 0) {
        if (strcmp(method, "POST") != 0 && !get)
            return reply_error(con, 405, "use POST with the SQL as the body");
        return query(a, con, req);
    }
    if (strcmp(url, "/api/v1/logout") == 0) {
        if (strcmp(method, "POST") != 0) return reply_error(con, 405, "use POST");
        http_auth_logout(a->auth, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie"));
        return with_cookie(a, con, 200, NULL, NULL, "{\"ok\":true}\n");
    }
    if (strcmp(url, "/api/v1/jobs") == 0 || strncmp(url, "/api/v1/jobs/", 13) == 0)
        return jobs(a, con, url + 12, method);
    if (strcmp(url, "/api/v1/forget") == 0) {
        if (strcmp(method, "POST") != 0) return reply_error(con, 405, "use POST");
        return forget(a, con, req);
    }
    if (!get) return reply_error(con, 405, "use GET");
    if (strcmp(url, "/api/v1/live") == 0 || strcmp(url, "/api/v1/live/stream") == 0)
        return url[12] ? live_stream(a, con) : live(a, con);
    if (strncmp(url, "/api/v1/pages/", 14) == 0) return page(a, con, url + 14);
    if (strcmp(url, "/api/v1/filters") == 0) return page(a, con, "filters");
    if (strcmp(url, "/api/v1/me") == 0) return me(a, con, user);
    if (strcmp(url, "/api/v1/metrics") == 0) return metrics(a, con);
    return reply_error(con, 404, "no such endpoint");
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
    if (strcmp(url, "/api/v1/login") == 0) {
        if (strcmp(method, "POST") != 0)
            return reply_error(con, 405, "use POST with user and password, or token");
        return login(a, con, req);
    }
    char user[64] = "";
    int ok = authorised(a, con, user, sizeof(user));
    if (strncmp(url, "/api/v1/", 8) == 0) {
        if (!ok)
            return reply_error(con, 401,
                               "log in first: a session cookie from /api/v1/login, "
                               "or the dashboard token as a Bearer header");
        return api_route(a, con, url, method, req, user);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_error(con, 405, "the dashboard's pages are read with GET");
    if (strcmp(url, "/login") == 0) {
        const char *t = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "token");
        if (t) return login_link(a, con, t);
    }
    if (!ok && !listed(public_assets, url)) {
        if (listed(app_pages, url)) return to_login(con, url);
        return reply_error(con, 401, "log in first");
    }
    return asset(con, url);
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
    a->auth = http_auth_new(c->token, c->users, c->session_ttl_ms, c->sessions_path);
    if (!a->auth) {
        cp_free(a);
        return CP_ENOMEM;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->freed, NULL);
    a->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handle, a, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, "api",
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
        http_request_done, a, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!a->d) {
        snprintf(err, errlen, "cannot listen on %s (in use?)", c->listen);
        http_auth_free(a->auth);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->freed);
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
    for (int i = 0; i < N_READERS; i++) cp_store_reader_close(a->readers[i]);
    http_auth_free(a->auth);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->freed);
    cp_free(a);
}
