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
#include <errno.h>
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

#define N_READERS        4     /* statements the API runs at once */
#define MAX_RANGE_DAYS   3660  /* the longest date range a page takes */
#define LOGIN_FAIL_DELAY 250   /* ms a failed login waits before its answer */
#define LOGIN_WINDOW_MS  60000 /* failed logins are counted over this long */
#define LOGIN_FIRST_WAIT 2000  /* ms between guesses once the limit is reached, doubling */
#define LOGIN_MAX_WAIT   30000 /* the longest wait imposed between guesses */
#define LOGIN_ADDRESSES  512   /* addresses whose failures are remembered */
#define QUERY_MAX_BYTES  (64u << 20)

/* Failed logins of one client address (or of all: the global record). */
typedef struct login_record {
    char ip[48];
    int64_t window_ms, next_ok_ms, last_ms;
    int failures;
} login_record;
struct cp_api {
    cp_api_config c;
    http_auth *auth;
    struct MHD_Daemon *d;
    volatile int stopping; /* ends live streams */
    pthread_mutex_t mu;    /* the reader pool */
    pthread_cond_t freed;
    cp_store_reader *readers[N_READERS];
    bool busy[N_READERS];
    http_guard *guard;
    pthread_mutex_t login_mu;
    login_record logins[LOGIN_ADDRESSES], all_logins;
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
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
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

/* The user a request is from: the token as a Bearer header, or a session cookie (then
 * its anti-forgery token into csrf; "" for the Bearer token, which a browser never
 * sends by itself). */
static int authorised(cp_api *a, struct MHD_Connection *con, char *user, size_t cap,
                      char csrf[HTTP_SID_LEN + 1])
{
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    csrf[0] = 0;
    if (h && strncmp(h, "Bearer ", 7) == 0 && http_auth_token_ok(a->auth, h + 7)) {
        snprintf(user, cap, "token");
        return 1;
    }
    const char *cookie = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie");
    return http_auth_session(a->auth, cookie, user, cap, csrf);
}

/* Whether a request that changes something may come from where it says: a browser's
 * Sec-Fetch-Site must be same-origin (or none: typed by the user), and an Origin must be
 * this server's own (scheme and the Host the request was sent to). Requests without
 * either header (curl, scripts) pass: they carry no cookie a browser added by itself
 * unless they also carry the session's X-CSRF-Token (see route). NULL, or the reason. */
static const char *foreign(struct MHD_Connection *con)
{
    const char *site = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return "cross-site request refused (Sec-Fetch-Site)";
    const char *origin = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin");
    if (!origin) return NULL;
    const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host");
    const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                             : NULL;
    if (!host || !rest || strcmp(rest, host) != 0)
        return "cross-origin request refused (Origin is not this server)";
    return NULL;
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

/* A statement's answer, gathered up to a limit (dashboard.query_max_bytes). */
typedef struct bounded_out {
    cp_buf buf;
    size_t limit;
    int over;
} bounded_out;

static ssize_t bounded_write(void *cookie, const char *p, size_t n)
{
    bounded_out *b = cookie;
    if (b->over || b->buf.len + n > b->limit) {
        b->over = 1;
        return -1; /* the store's writes fail from here on: nothing more is kept */
    }
    return cp_buf_append(&b->buf, p, n) ? -1 : (ssize_t)n;
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
    if (req->body.len && memchr(req->body.ptr, 0, req->body.len))
        return reply_error(con, 400, "the SQL holds a NUL byte");
    /* the server's row limit: a request may ask for fewer, never more */
    long long max_rows = a->c.query_max_rows;
    if (m) {
        char *end;
        errno = 0;
        long long want = strtoll(m, &end, 10);
        if (end == m || *end || errno || want < 1) {
            char msg[128];
            snprintf(msg, sizeof(msg), "max_rows: expected a number of rows from 1 to %lld",
                     (long long)a->c.query_max_rows);
            return reply_error(con, 400, msg);
        }
        if (want < max_rows) max_rows = want;
    }
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
    char err[2048], rows[32];
    int64_t total = 0;
    cp_store_reader *rd;
    if (reader_take(a, &rd, err, sizeof(err))) return reply_error(con, 503, err);
    bounded_out bo = {.limit = a->c.query_max_bytes};
    cp_buf_init(&bo.buf);
    FILE *mem = fopencookie(&bo, "w", (cookie_io_functions_t){.write = bounded_write});
    int rc = CP_ENOMEM;
    if (mem) {
        cp_query_args qa = {.format = fmt,
                            .max_rows = max_rows,
                            .timeout_ms = a->c.query_timeout_ms,
                            .total_rows = &total};
        rc = cp_store_reader_query(rd, sql, &qa, mem, err, sizeof(err));
        fclose(mem);
    }
    reader_give(a, rd);
    if (rc == CP_ENOMEM) snprintf(err, sizeof(err), "out of memory");
    if (bo.over) {
        cp_buf_free(&bo.buf);
        snprintf(err, sizeof(err),
                 "the answer is larger than dashboard.query_max_bytes (%zu bytes): ask for "
                 "fewer rows (max_rows) or columns",
                 bo.limit);
        return reply_error(con, 413, err);
    }
    char *out = bo.buf.ptr;
    size_t len = bo.buf.len;
    char limit[32];
    snprintf(rows, sizeof(rows), "%lld", (long long)total);
    snprintf(limit, sizeof(limit), "%lld", max_rows);
    enum MHD_Result r;
    if (rc) {
        r = reply_error(con, rc == CP_ETIMEOUT ? 408 : 400, err);
    } else {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, out ? out : "", MHD_RESPMEM_MUST_COPY);
        if (!resp) {
            cp_buf_free(&bo.buf);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", types[fmt]);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "X-Clickpulse-Fresh", fresh);
        MHD_add_response_header(resp, "X-Clickpulse-Rows", rows);
        MHD_add_response_header(resp, "X-Clickpulse-Max-Rows", limit);
        r = MHD_queue_response(con, 200, resp);
        MHD_destroy_response(resp);
    }
    cp_buf_free(&bo.buf);
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

/* The dashboard's pages: each is index.html, which draws the one its path names. */
static const char *const app_pages[] = {
    "/",          "/live",     "/overview", "/sales",   "/acquisition",
    "/countries", "/funnel",   "/sessions", "/content", "/conversion",
    "/customers", "/segments", "/pipeline", "/sql",     NULL};

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
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
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

/* The peer's address as text. */
static void peer_ip(struct MHD_Connection *con, char *ip, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    ip[0] = 0;
    if (!ci || !ci->client_addr) return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  ip, (socklen_t)cap);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, ip,
                  (socklen_t)cap);
}

/* One attempt against a record (under login_mu): the milliseconds to wait before another
 * is looked at (then this one is not), or 0 when it may go on — counted as a failure
 * until it succeeds (so that parallel guesses count before their answers). */
static int64_t login_attempt(login_record *r, int limit, int64_t now)
{
    if (now - r->window_ms > LOGIN_WINDOW_MS) r->window_ms = now, r->failures = 0;
    if (now < r->next_ok_ms) return r->next_ok_ms - now;
    r->last_ms = now;
    if (++r->failures >= limit) { /* the limit reached: 2 s, 4 s, 8 s, … 30 s between tries */
        int over = r->failures - limit;
        int64_t wait = over >= 5 ? LOGIN_MAX_WAIT : (int64_t)LOGIN_FIRST_WAIT << over;
        r->next_ok_ms = now + (wait > LOGIN_MAX_WAIT ? LOGIN_MAX_WAIT : wait);
    }
    return 0;
}

/* The record of an address: its own, a free one, or the least recently used. */
static login_record *login_slot(cp_api *a, const char *ip)
{
    login_record *best = &a->logins[0];
    for (int i = 0; i < LOGIN_ADDRESSES; i++) {
        login_record *r = &a->logins[i];
        if (strcmp(r->ip, ip) == 0) return r;
        if (r->last_ms < best->last_ms) best = r;
    }
    memset(best, 0, sizeof(*best));
    snprintf(best->ip, sizeof(best->ip), "%s", ip);
    return best;
}

/* Failed logins are limited per address (dashboard.login_failures a minute, then waits
 * 2 s doubling up to 30 s between guesses) and for all addresses together (ten
 * times as many). Returns the seconds to wait (answered 429), or 0 to go on. */
static int login_gate(cp_api *a, const char *ip)
{
    int limit = a->c.login_failures_per_minute > 0 ? a->c.login_failures_per_minute : 5;
    int64_t now = cp_now_ms();
    pthread_mutex_lock(&a->login_mu);
    login_record *r = login_slot(a, ip);
    int64_t wait = login_attempt(r, limit, now);
    if (!wait && (wait = login_attempt(&a->all_logins, 10 * limit, now))) {
        r->failures--; /* not looked at after all */
    }
    pthread_mutex_unlock(&a->login_mu);
    return wait ? (int)((wait + 999) / 1000) : 0;
}

/* A login that succeeded was no failure. */
static void login_ok(cp_api *a, const char *ip)
{
    pthread_mutex_lock(&a->login_mu);
    int limit = a->c.login_failures_per_minute > 0 ? a->c.login_failures_per_minute : 5;
    login_record *r = login_slot(a, ip);
    if (r->failures > 0) r->failures--;
    if (r->failures < limit) r->next_ok_ms = 0;
    if (a->all_logins.failures > 0) a->all_logins.failures--;
    if (a->all_logins.failures < 10 * limit) a->all_logins.next_ok_ms = 0;
    pthread_mutex_unlock(&a->login_mu);
}

static enum MHD_Result too_many_logins(struct MHD_Connection *con, int seconds)
{
    char after[16], body[160];
    snprintf(after, sizeof(after), "%d", seconds);
    int n = snprintf(body, sizeof(body),
                     "{\"error\":\"too many failed logins: try again in %d s\"}\n", seconds);
    return reply_with(con, 429, "application/json", body, (size_t)n, "Retry-After", after);
}

/* POST /api/v1/login with user and password, or token (form-encoded). */
static enum MHD_Result login(cp_api *a, struct MHD_Connection *con, request *req)
{
    char user[128] = "", password[256] = "", token[256] = "", sid[HTTP_SID_LEN + 1], ip[64];
    const char *b = req->body.ptr ? req->body.ptr : "";
    http_form_value(b, req->body.len, "user", user, sizeof(user));
    http_form_value(b, req->body.len, "password", password, sizeof(password));
    http_form_value(b, req->body.len, "token", token, sizeof(token));
    peer_ip(con, ip, sizeof(ip));
    int wait = login_gate(a, ip);
    if (wait) return too_many_logins(con, wait);
    if (!http_auth_login(a->auth, user, password, token, sid)) {
        login_failed();
        return reply_error(con, 401, token[0] ? "wrong token" : "wrong user name or password");
    }
    login_ok(a, ip);
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
    char sid[HTTP_SID_LEN + 1], ip[64];
    peer_ip(con, ip, sizeof(ip));
    int wait = login_gate(a, ip);
    if (wait) return too_many_logins(con, wait);
    if (!http_auth_login(a->auth, NULL, NULL, token, sid)) {
        login_failed();
        return with_cookie(a, con, 303, NULL, "/login?failed=1", "{\"error\":\"wrong token\"}\n");
    }
    login_ok(a, ip);
    if (!http_safe_next(next, app_pages)) next = "/";
    return with_cookie(a, con, 303, sid, next, "{\"ok\":true}\n");
}

static enum MHD_Result me(cp_api *a, struct MHD_Connection *con, const char *user, const char *csrf)
{
    char body[640];
    cp_buf u;
    cp_buf_init(&u);
    cp_buf_append_json_str(&u, user, strlen(user));
    int n =
        snprintf(body, sizeof(body),
                 "{\"user\":%.*s,\"query_max_rows\":%lld,\"query_timeout_ms\":%d,"
                 "\"csrf\":\"%s\"}\n",
                 (int)u.len, u.ptr, (long long)a->c.query_max_rows, a->c.query_timeout_ms, csrf);
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
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ok = MHD_queue_response(con, 200, r);
    MHD_destroy_response(r);
    return ok;
}

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
                                 const char *method, request *req, const char *user,
                                 const char *csrf)
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
    if (strcmp(url, "/api/v1/me") == 0) return me(a, con, user, csrf);
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
    int changes = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    const char *why = changes ? foreign(con) : NULL;
    if (strcmp(url, "/api/v1/login") == 0) {
        if (strcmp(method, "POST") != 0)
            return reply_error(con, 405, "use POST with user and password, or token");
        if (why) return reply_error(con, 403, why);
        return login(a, con, req);
    }
    char user[64] = "", csrf[HTTP_SID_LEN + 1];
    int ok = authorised(a, con, user, sizeof(user), csrf);
    if (strncmp(url, "/api/v1/", 8) == 0) {
        if (!ok)
            return reply_error(con, 401,
                               "log in first: a session cookie from /api/v1/login, "
                               "or the dashboard token as a Bearer header");
        if (why) return reply_error(con, 403, why);
        /* a session's requests that change something prove they come from its pages */
        if (changes && csrf[0] &&
            !http_auth_same(MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-CSRF-Token"),
                            csrf))
            return reply_error(con, 403,
                               "missing or wrong X-CSRF-Token: requests that change something "
                               "carry the session's token (from /api/v1/me)");
        return api_route(a, con, url, method, req, user, csrf);
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
    cp_api *a = cls;
    request *req = *con_cls;
    int first = req == NULL;
    (void)version;
    int g = http_gather(con_cls, upload, upload_size, MAX_BODY,
                        (int64_t)a->c.request_timeout_ms * 1000000, &req);
    if (g == HTTP_MORE && first) ((request *)*con_cls)->malformed = http_request_malformed(con);
    if (g != HTTP_READY) return g == HTTP_MORE ? MHD_YES : MHD_NO;
    http_guard_busy(a->guard, con, 1); /* arrived whole: no deadline while it is handled */
    if (req->malformed)
        return reply_with(con, 400, "application/json", "{\"error\":\"malformed request\"}\n", 30,
                          "Connection", "close");
    return route(a, con, url, method, req);
}

/* Connections over dashboard.max_connections[_per_address] are refused at once. */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t len)
{
    cp_api *a = cls;
    (void)len;
    return http_guard_admit(a->guard, addr) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    cp_api *a = cls;
    http_guard_notify(a->guard, con, socket_context, (int)code);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    cp_api *a = cls;
    http_guard_busy(a->guard, con, 0);
    http_request_done(cls, con, con_cls, (int)toe);
}

size_t cp_api_memory(const cp_config *c)
{
    /* a connection: its thread's stack as touched, its request (MHD's buffer and the body) */
    size_t connection = (256u << 10) + MAX_BODY;
    return N_READERS * (size_t)c->dashboard_query_max_bytes +
           (size_t)c->dashboard_max_connections * connection;
}

int cp_api_start(const cp_api_config *c, cp_api **out, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (http_listen_addr(c->listen, "dashboard.listen", &sa, err, errlen)) return CP_EINVAL;
    cp_api *a = cp_calloc(1, sizeof(*a));
    if (!a) return CP_ENOMEM;
    a->c = *c;
    if (!a->c.max_connections) a->c.max_connections = 256;
    if (!a->c.max_connections_per_address) a->c.max_connections_per_address = 64;
    if (a->c.request_timeout_ms <= 0) a->c.request_timeout_ms = 10000;
    if (!a->c.query_max_bytes) a->c.query_max_bytes = QUERY_MAX_BYTES;
    if (a->c.query_max_rows <= 0) a->c.query_max_rows = 10000;
    a->auth = http_auth_new(c->token, c->users, c->session_ttl_ms, c->sessions_path);
    a->guard = a->auth ? http_guard_new("api", a->c.request_timeout_ms, a->c.max_connections,
                                        a->c.max_connections_per_address)
                       : NULL;
    if (!a->guard) {
        http_auth_free(a->auth);
        cp_free(a);
        return CP_ENOMEM;
    }
    http_raise_nofile(a->c.max_connections + 1024, "api");
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->login_mu, NULL);
    pthread_cond_init(&a->freed, NULL);
    /* poll(2), never select(2): descriptors past FD_SETSIZE are normal under load */
    a->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, admit, a, handle, a, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, "api",
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, a, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)((a->c.request_timeout_ms + 999) / 1000), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)a->c.max_connections + 16, MHD_OPTION_END);
    if (!a->d) {
        snprintf(err, errlen, "cannot listen on %s (in use?)", c->listen);
        http_guard_free(a->guard);
        pthread_mutex_destroy(&a->login_mu);
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
    http_guard_free(a->guard);
    pthread_mutex_destroy(&a->login_mu);
    for (int i = 0; i < N_READERS; i++) cp_store_reader_close(a->readers[i]);
    http_auth_free(a->auth);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->freed);
    cp_free(a);
}
