/* The HTTP collector (see include/clickpulse/http.h). An acceptor thread hands each
 * connection to a libmicrohttpd server thread (poll or epoll, see struct cp_collector);
 * a request's events are decoded and submitted under the pipeline lock, then the
 * request is suspended until the committer thread has made its batch durable — every
 * request that arrived while the previous batch was being written shares the next
 * fsync (group commit). */
#include "clickpulse/http.h"

#include "clickpulse/error.h"
#include "clickpulse/event.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/pipeline.h"
#include "clickpulse/snowplow.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAILED_RING 256

/* Servers of each kind: one per core, up to this many. */
#define MAX_SERVERS 16

/* One libmicrohttpd daemon and its thread, fed connections by the acceptor. */
typedef struct server {
    struct cp_collector *k;
    struct MHD_Daemon *d;
    atomic_int conns; /* its open connections */
} server;

struct cp_collector {
    cp_collector_config c;
    /* The servers: poll loops first (s[0..n_poll)), then epoll loops. A request waiting
     * for its group commit is suspended and resumed: in an epoll loop that is two
     * epoll_ctl calls a request, while a poll loop pays nothing for it but looks at all
     * its connections at every turn. So the first collector.poll_connections connections
     * of each poll server are answered there (the few busy ones of SDKs and proxies:
     * the cheapest per request), any more in the epoll servers (many browsers, idle
     * most of the time: nothing per idle connection). */
    server s[2 * MAX_SERVERS];
    int n_s, n_poll;
    /* One thread accepts on the port and hands each connection to a server. */
    int listen_fd;
    pthread_t acceptor;
    int accepting;
    atomic_int closing;
    pthread_key_t thread;    /* each server thread's decoder and arrays, kept between requests */
    struct MHD_Response *ok; /* the plain success answer, shared by every request */
    /* group commit */
    pthread_cond_t work, durable;
    uint64_t open_gen, durable_gen;
    uint64_t failed[FAILED_RING]; /* the latest generations whose commit failed */
    int pending, stop;
    http_request *waiters; /* suspended requests waiting for their generation */
    size_t n_waiters;
    struct MHD_Connection **resume; /* the committer's scratch */
    size_t cap_resume;
    pthread_t committer;
    char failure[512];  /* the last commit's failure, if it failed */
    int64_t failure_ms; /* when: /health reports it for FAILURE_SHOWN_MS */
    collector_metrics m;
    http_guard *guard; /* connection limits and whole-request deadlines */
};

/* A failed commit makes /health fail for this long (or until a commit succeeds): the
 * next requests find out whether the cause is gone. */
#define FAILURE_SHOWN_MS 2000

/* ---- group commit ---- */

static void *commit_loop(void *arg)
{
    cp_collector *k = arg;
    pthread_setname_np(pthread_self(), "collector log");
    pthread_mutex_lock(k->c.lock);
    for (;;) {
        while (!k->pending && !k->stop) pthread_cond_wait(&k->work, k->c.lock);
        if (!k->pending) break;
        uint64_t gen = k->open_gen++;
        k->pending = 0;
        cp_pipeline_batch *b = cp_pipeline_seal(k->c.pipeline), *failed;
        /* The write and fsync happen without the lock: requests keep arriving into the
         * next batch meanwhile. */
        pthread_mutex_unlock(k->c.lock);
        int64_t t0 = cp_mono_ns();
        int rc = cp_pipeline_commit(k->c.pipeline, b, &failed);
        metrics_commit(&k->m, cp_mono_ns() - t0);
        pthread_mutex_lock(k->c.lock);
        if (failed) cp_pipeline_abandon(k->c.pipeline, failed);
        k->durable_gen = gen; /* done, one way or the other: failures are in the ring */
        if (rc) {
            k->failed[gen % FAILED_RING] = gen;
            snprintf(k->failure, sizeof(k->failure), "events cannot be taken: %s",
                     cp_pipeline_error(k->c.pipeline));
            k->failure_ms = cp_now_ms();
            CP_LOG_LIMITED(CP_LOG_ERROR, 1, "collector", "%s", k->failure);
        } else {
            k->failure[0] = 0;
        }
        /* The requests of this generation answer now: their connections are resumed
         * (after the lock is let go; a resumed request may complete and be freed at once). */
        size_t n = 0;
        for (http_request **w = &k->waiters; *w;) {
            http_request *x = *w;
            if (x->gen > gen) {
                w = &x->next;
                continue;
            }
            *w = x->next;
            x->durable = k->failed[x->gen % FAILED_RING] != x->gen;
            k->resume[n++] = x->con; /* room was made when it started waiting */
            k->n_waiters--;
        }
        pthread_cond_broadcast(&k->durable);
        pthread_mutex_unlock(k->c.lock);
        for (size_t i = 0; i < n; i++) MHD_resume_connection(k->resume[i]);
        pthread_mutex_lock(k->c.lock);
    }
    pthread_mutex_unlock(k->c.lock);
    return NULL;
}

/* ---- requests ---- */

typedef http_request request;

typedef struct outcome {
    cp_collector *k;
    cp_slice source;
    cp_event *events; /* decoded, valid while the decoder lives */
    cp_reject *rejects;
    size_t accepted, rejected, cap_events, cap_rejects;
    int64_t received;
    char at[32];
    uint64_t n;
} outcome;

static enum MHD_Result reply(cp_collector *k, struct MHD_Connection *con, enum route r,
                             unsigned status, const char *type, const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    const char *origin = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin");
    if (origin && k->c.cors_origins) {
        for (size_t i = 0; i < k->c.cors_origins->n; i++) {
            const char *o = k->c.cors_origins->items[i];
            if (strcmp(o, "*") == 0 || strcmp(o, origin) == 0) {
                MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
                MHD_add_response_header(resp, "Vary", "Origin");
                break;
            }
        }
    }
    if (status == 429) MHD_add_response_header(resp, "Retry-After", "1");
    enum MHD_Result ok = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    metrics_request(&k->m, r, status);
    return ok;
}

static enum MHD_Result reply_json_error(cp_collector *k, struct MHD_Connection *con, enum route r,
                                        unsigned status, const char *reason, const char *msg)
{
    cp_buf b;
    cp_buf_init(&b);
    cp_buf_appendf(&b, "{\"success\":false,\"reason\":\"%s\",\"error\":", reason);
    cp_buf_append_json_str(&b, msg, strlen(msg));
    cp_buf_append_str(&b, "}\n");
    enum MHD_Result res = reply(k, con, r, status, "application/json", b.ptr ? b.ptr : "", b.len);
    cp_buf_free(&b);
    return res;
}

/* A request none of whose events is kept: the first reason, and every element's. */
static enum MHD_Result reply_rejected(cp_collector *k, struct MHD_Connection *con, enum route r,
                                      unsigned status, const outcome *o, const cp_buf *rejects)
{
    cp_buf b;
    cp_buf_init(&b);
    cp_buf_appendf(&b, "{\"success\":false,\"reason\":\"%s\",\"error\":",
                   cp_reject_reason_name(o->rejects[0].reason));
    cp_buf_append_json_str(&b, o->rejects[0].detail, strlen(o->rejects[0].detail));
    cp_buf_appendf(&b, ",\"rejected\":%zu,\"rejects\":", o->rejected);
    cp_buf_append(&b, rejects->ptr, rejects->len);
    cp_buf_append_str(&b, "}\n");
    enum MHD_Result res = reply(k, con, r, status, "application/json", b.ptr ? b.ptr : "", b.len);
    cp_buf_free(&b);
    return res;
}

static enum route route_of(const char *url)
{
    for (int r = 0; r < R_OTHER; r++)
        if (strcmp(url, route_path((enum route)r)) == 0) return (enum route)r;
    return R_OTHER;
}

static const char *source_of_key(cp_collector *k, const char *key, size_t n)
{
    for (size_t i = 0; i < k->c.write_keys->n; i++) {
        const char *item = k->c.write_keys->items[i], *eq = strchr(item, '=');
        size_t klen = eq ? (size_t)(eq - item) : strlen(item);
        if (klen == n && memcmp(item, key, n) == 0) return eq ? eq + 1 : "http";
    }
    return NULL;
}

/* The source named by the request's write key, or NULL. */
static const char *authenticate(cp_collector *k, struct MHD_Connection *con, cp_slice body)
{
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    if (h && strncasecmp(h, "Basic ", 6) == 0) {
        char user[512];
        int n = http_b64_decode(h + 6, user, sizeof(user));
        if (n <= 0) return NULL;
        const char *colon = memchr(user, ':', (size_t)n);
        return source_of_key(k, user, colon ? (size_t)(colon - user) : (size_t)n);
    }
    cp_arena a;
    cp_slice key;
    cp_arena_init(&a, 4096);
    const char *src = NULL;
    if (cp_json_top_string(body.ptr, body.len, "writeKey", &a, &key))
        src = source_of_key(k, key.ptr, key.len);
    cp_arena_free(&a);
    return src;
}

/* A request's events and rejects, decoded before the pipeline's lock is taken. */
static int on_event(void *ud, const cp_event *ev)
{
    outcome *o = ud;
    if (cp_grow((void **)&o->events, &o->cap_events, o->accepted + 1, sizeof(cp_event)))
        return CP_ENOMEM;
    o->events[o->accepted++] = *ev;
    return CP_OK;
}

static int on_reject(void *ud, const cp_reject *r)
{
    outcome *o = ud;
    if (cp_grow((void **)&o->rejects, &o->cap_rejects, o->rejected + 1, sizeof(cp_reject)))
        return CP_ENOMEM;
    o->rejects[o->rejected++] = *r;
    return CP_OK;
}

/* Applies the pipeline's rules (cp_validate_event) before anything is submitted, so that
 * the answer tells what will not be kept: each event that breaks one moves from the
 * events to the rejects, with its reason. */
static int validate_all(outcome *o)
{
    size_t kept = 0;
    for (size_t i = 0; i < o->accepted; i++) {
        cp_event ev = o->events[i];
        cp_reject r = {.raw = ev.raw, .line = ev.line, .pos = ev.pos, .index = ev.index};
        if (!(ev.flags & CP_HAS_RECEIVED_AT)) {
            ev.received_at_ms = o->received;
            ev.flags |= CP_HAS_RECEIVED_AT;
        }
        if (cp_validate_event(&ev, &r)) {
            o->events[kept++] = o->events[i];
            continue;
        }
        int rc = on_reject(o, &r);
        if (rc) return rc;
    }
    o->accepted = kept;
    return CP_OK;
}

static int by_index(const void *a, const void *b)
{
    const cp_reject *x = *(const cp_reject *const *)a, *y = *(const cp_reject *const *)b;
    return (x->index > y->index) - (x->index < y->index);
}

/* The rejects of a batch as a JSON array in the batch's order: index (1-based), reason
 * and detail. */
static void rejects_json(const outcome *o, cp_buf *out)
{
    const cp_reject **sorted = cp_malloc(o->rejected * sizeof(*sorted));
    if (!sorted) return; /* no list: the count still says how many */
    for (size_t i = 0; i < o->rejected; i++) sorted[i] = &o->rejects[i];
    qsort(sorted, o->rejected, sizeof(*sorted), by_index);
    cp_buf_append_char(out, '[');
    for (size_t i = 0; i < o->rejected; i++) {
        const cp_reject *r = sorted[i];
        cp_buf_appendf(out, "%s{\"index\":%u,\"reason\":\"%s\",\"error\":", i ? "," : "",
                       (unsigned)r->index, cp_reject_reason_name(r->reason));
        cp_buf_append_json_str(out, r->detail, strlen(r->detail));
        cp_buf_append_char(out, '}');
    }
    cp_buf_append_char(out, ']');
    cp_free(sorted);
}

/* Events prefetched ahead of the one submitted (see cp_pipeline_prefetch). */
#define PREFETCH_AHEAD 8

/* With the lock: everything the request brought into the open batch; each event's
 * delivery position is "<request>.<index>". */
static int submit_all(outcome *o)
{
    int rc = CP_OK;
    size_t at = cp_fmt_u64(o->at, o->n);
    o->at[at++] = '.';
    for (uint32_t i = 0; o->accepted > 1 && i < o->accepted && i < PREFETCH_AHEAD; i++)
        cp_pipeline_prefetch(o->k->c.pipeline, &o->events[i]); /* one event: nothing to overlap */
    for (uint32_t i = 0; i < o->accepted && rc == CP_OK; i++) {
        if (i + PREFETCH_AHEAD < o->accepted)
            cp_pipeline_prefetch(o->k->c.pipeline, &o->events[i + PREFETCH_AHEAD]);
        size_t n = at + cp_fmt_u64(o->at + at, o->events[i].index);
        rc = cp_pipeline_submit(o->k->c.pipeline, &o->events[i], o->source, (cp_slice){o->at, n});
    }
    for (uint32_t i = 0; i < o->rejected && rc == CP_OK; i++) {
        size_t n = at + cp_fmt_u64(o->at + at, o->rejects[i].index);
        rc = cp_pipeline_reject(o->k->c.pipeline, &o->rejects[i], o->source, (cp_slice){o->at, n},
                                o->received);
    }
    return rc;
}

static _Atomic uint64_t request_counter;

/* The client's address: the peer's, or X-Forwarded-For's first when the peer is trusted. */
static void client_ip(cp_collector *k, struct MHD_Connection *con, char *ip)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    ip[0] = 0;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        cp_fmt_ipv4(ip,
                    (const uint8_t *)&((const struct sockaddr_in *)(const void *)ci->client_addr)
                        ->sin_addr);
    const char *xff = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Forwarded-For");
    for (size_t i = 0; xff && k->c.trusted_proxies && i < k->c.trusted_proxies->n; i++) {
        if (strcmp(k->c.trusted_proxies->items[i], ip) != 0) continue;
        size_t n = strcspn(xff, ", ");
        char cand[INET6_ADDRSTRLEN];
        struct in6_addr tmp;
        if (n < sizeof(cand)) {
            memcpy(cand, xff, n);
            cand[n] = 0;
            if (inet_pton(AF_INET, cand, &tmp) == 1 || inet_pton(AF_INET6, cand, &tmp) == 1)
                strcpy(ip, cand);
        }
        break;
    }
    if (k->c.anonymize_ip) cp_ip_anonymize(ip);
}

static enum MHD_Result reply_gif(cp_collector *k, struct MHD_Connection *con, enum route r);
static enum MHD_Result reply_accepted(cp_collector *k, struct MHD_Connection *con, enum route r,
                                      size_t rejected, const cp_buf *rejects);

/* What a server thread keeps from one request to the next (freed when it ends): its
 * decoder and the arrays a request's events and rejects are gathered in. */
typedef struct server_thread {
    cp_event_decoder *dec;
    cp_event *events;
    cp_reject *rejects;
    size_t cap_events, cap_rejects;
} server_thread;

static void free_thread(void *arg)
{
    server_thread *t = arg;
    cp_event_decoder_free(t->dec);
    cp_free(t->events);
    cp_free(t->rejects);
    cp_free(t);
}

/* The calling server thread's state, its decoder set up for this request and its arrays
 * lent to o (given back by give_back). */
static server_thread *thread_state(cp_collector *k, const cp_decode_options *opt, outcome *o)
{
    cp_decode_sink sink = {o, on_event, on_reject};
    server_thread *t = pthread_getspecific(k->thread);
    if (t) {
        cp_event_decoder_reset(t->dec, opt, sink);
    } else if ((t = cp_calloc(1, sizeof(*t)))) {
        if (!(t->dec = cp_event_decoder_new(opt, sink)) || pthread_setspecific(k->thread, t)) {
            free_thread(t);
            return NULL;
        }
    }
    if (t) {
        o->events = t->events, o->cap_events = t->cap_events;
        o->rejects = t->rejects, o->cap_rejects = t->cap_rejects;
    }
    return t;
}

static void give_back(server_thread *t, outcome *o)
{
    t->events = o->events, t->cap_events = o->cap_events;
    t->rejects = o->rejects, t->cap_rejects = o->cap_rejects;
}

#define BUSY_REASON "too many events waiting: retry later"

/* 1 when the client has shut down its side of the connection after its request. */
static int half_closed(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    char c;
    return ci && recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static enum MHD_Result ingest(cp_collector *k, struct MHD_Connection *con, request *req,
                              enum route r, cp_slice body, const char *source)
{
    /* Overloaded already: answered before the body is decoded (the check under the lock
     * below counts the open batch too). */
    if (cp_pipeline_queued(k->c.pipeline) > k->c.max_backlog_events)
        return reply_json_error(k, con, r, 429, "overloaded", BUSY_REASON);
    cp_decode_options o;
    char ip[INET6_ADDRSTRLEN];
    http_decode_options(r, k->c.max_event_bytes, k->c.max_request_bytes, k->c.max_batch_events, &o);
    client_ip(k, con, ip);
    o.client_ip = cp_slice_from(ip);
    o.anonymize_ip = k->c.anonymize_ip;
    o.received_at_ms = cp_now_ms();
    outcome out = {.k = k,
                   .source = cp_slice_from(source),
                   .received = o.received_at_ms,
                   .n = atomic_fetch_add(&request_counter, 1) + 1};
    server_thread *t = thread_state(k, &o, &out);
    if (!t) return reply_json_error(k, con, r, 503, "overloaded", "out of memory");
    int rc = cp_event_decode(t->dec, body.ptr, body.len), busy = 0;
    if (rc == CP_OK) rc = validate_all(&out);
    if (rc == CP_OK && out.rejected) rejects_json(&out, &req->rejects);
    if (rc == CP_OK) {
        pthread_mutex_lock(k->c.lock);
        busy = cp_pipeline_backlog(k->c.pipeline) > k->c.max_backlog_events;
        if (!busy) rc = submit_all(&out);
        if (!busy && rc == CP_OK && out.accepted && k->n_waiters == k->cap_resume) {
            size_t cap = k->cap_resume ? 2 * k->cap_resume : 256;
            struct MHD_Connection **more = cp_reallocarray(k->resume, cap, sizeof(*more));
            if (more)
                k->resume = more, k->cap_resume = cap;
            else
                rc = CP_ENOMEM; /* answered 503; its events are in the batch regardless */
        }
        if (!busy && rc == CP_OK && out.accepted && half_closed(con)) {
            /* The client has sent all it will (a half-close): a suspended connection would
             * find the end of its stream at resumption and be closed unanswered, so this
             * one waits for its group commit here. */
            uint64_t gen = k->open_gen;
            k->pending++;
            pthread_cond_signal(&k->work);
            while (k->durable_gen < gen) pthread_cond_wait(&k->durable, k->c.lock);
            int durable = k->failed[gen % FAILED_RING] != gen;
            pthread_mutex_unlock(k->c.lock);
            give_back(t, &out);
            if (durable) return reply_accepted(k, con, r, out.rejected, &req->rejects);
            return reply_json_error(k, con, r, 503, "unavailable",
                                    k->failure[0] ? k->failure : "events cannot be taken");
        }
        if (!busy && rc == CP_OK && out.accepted) {
            /* Answered once the batch is in the log: the connection is suspended (its
             * thread serves others) until the committer resumes it. */
            req->gen = k->open_gen;
            req->rejected = out.rejected;
            req->con = con;
            req->route = (int)r;
            req->waiting = 1;
            req->next = k->waiters;
            k->waiters = req;
            k->n_waiters++;
            k->pending++;
            pthread_cond_signal(&k->work);
            MHD_suspend_connection(con);
            pthread_mutex_unlock(k->c.lock);
            give_back(t, &out);
            return MHD_YES;
        } else if (!busy && rc == CP_OK && out.rejected) { /* dead letters only: commit, no wait */
            k->pending++;
            pthread_cond_signal(&k->work);
        }
        pthread_mutex_unlock(k->c.lock);
    }
    enum MHD_Result res = MHD_YES;
    int answered = 1;
    if (busy)
        res = reply_json_error(k, con, r, 429, "overloaded", BUSY_REASON);
    else if (rc)
        res = reply_json_error(k, con, r, 503, "unavailable",
                               k->failure[0] ? k->failure : "the pipeline failed");
    else if (!out.accepted && out.rejected) {
        cp_reject_reason why = out.rejects[0].reason;
        unsigned status =
            why == CP_REJECT_TOO_LARGE || why == CP_REJECT_TOO_MANY_EVENTS ? 413 : 400;
        if (req->rejects.len && out.rejected > 1)
            res = reply_rejected(k, con, r, status, &out, &req->rejects);
        else
            res = reply_json_error(k, con, r, status, cp_reject_reason_name(why),
                                   out.rejects[0].detail);
    } else {
        answered = 0;
    }
    give_back(t, &out);
    return answered ? res : reply_accepted(k, con, r, out.rejected, &req->rejects);
}

/* The answer to a request whose events were accepted (and, if any, are in the log). */
static enum MHD_Result reply_accepted(cp_collector *k, struct MHD_Connection *con, enum route r,
                                      size_t rejected, const cp_buf *rejects)
{
    if (r == R_SNOWPLOW_I) return reply_gif(k, con, r);
    if (rejected && rejects->len) {
        cp_buf b;
        cp_buf_init(&b);
        cp_buf_appendf(
            &b, "{\"success\":true,\"accepted\":true,\"rejected\":%zu,\"rejects\":", rejected);
        cp_buf_append(&b, rejects->ptr, rejects->len);
        cp_buf_append_str(&b, "}\n");
        enum MHD_Result res = reply(k, con, r, 200, "application/json", b.ptr ? b.ptr : "", b.len);
        cp_buf_free(&b);
        return res;
    }
    if (!rejected && k->ok && !MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin")) {
        enum MHD_Result res = MHD_queue_response(con, 200, k->ok); /* counts its uses */
        metrics_request(&k->m, r, 200);
        return res;
    }
    char ok[96];
    int n = rejected ? snprintf(ok, sizeof(ok), "{\"success\":true,\"rejected\":%zu}\n", rejected)
                     : snprintf(ok, sizeof(ok), "{\"success\":true}\n");
    return reply(k, con, r, 200, "application/json", ok, (size_t)n);
}

static enum MHD_Result snowplow_post(cp_collector *k, struct MHD_Connection *con, request *req,
                                     cp_slice body);

static enum MHD_Result post(cp_collector *k, struct MHD_Connection *con, enum route r, request *req)
{
    if (req->too_big)
        return reply_json_error(k, con, r, 413, "too_large",
                                "request body over collector.max_request_bytes");
    cp_buf plain;
    cp_slice body;
    cp_buf_init(&plain);
    const char *enc = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Encoding");
    int rc =
        http_request_body(cp_buf_slice(&req->body), enc, k->c.max_request_bytes, &plain, &body);
    if (rc) {
        cp_buf_free(&plain);
        return rc == CP_ETOOBIG
                   ? reply_json_error(k, con, r, 413, "too_large",
                                      "decompressed body over collector.max_request_bytes")
                   : reply_json_error(k, con, r, 400, "bad_gzip", "the body is not valid gzip");
    }
    atomic_fetch_add(&k->m.bytes_in, body.len);
    if (r == R_SNOWPLOW_TP2) {
        enum MHD_Result res = snowplow_post(k, con, req, body);
        cp_buf_free(&plain);
        return res;
    }
    const char *source = authenticate(k, con, body);
    enum MHD_Result res =
        source ? ingest(k, con, req, r, body, source)
               : reply_json_error(k, con, r, 401, "unauthorized",
                                  k->c.write_keys->n
                                      ? "missing or unknown write key"
                                      : "no write keys configured (collector.write_keys)");
    cp_buf_free(&plain);
    return res;
}

static enum MHD_Result health(cp_collector *k, struct MHD_Connection *con)
{
    char reason[600] = {0};
    cp_buf b;
    pthread_mutex_lock(k->c.lock);
    if (k->failure[0] && cp_now_ms() - k->failure_ms < FAILURE_SHOWN_MS)
        snprintf(reason, sizeof(reason), "%s", k->failure);
    pthread_mutex_unlock(k->c.lock);
    if (!reason[0]) cp_pipeline_healthy(k->c.pipeline, reason, sizeof(reason));
    cp_buf_init(&b);
    if (reason[0]) {
        cp_buf_append_str(&b, "{\"status\":\"failing\",\"reason\":");
        cp_buf_append_json_str(&b, reason, strlen(reason));
        cp_buf_append_str(&b, "}\n");
    } else {
        cp_buf_append_str(&b, "{\"status\":\"ok\"}\n");
    }
    enum MHD_Result res =
        reply(k, con, R_HEALTH, reason[0] ? 503 : 200, "application/json", b.ptr, b.len);
    cp_buf_free(&b);
    return res;
}

void cp_collector_metrics(cp_collector *k, cp_buf *out)
{
    metrics_format(&k->m, out);
    int conns[2] = {0, 0};
    for (int i = 0; i < k->n_s; i++) conns[i >= k->n_poll] += atomic_load(&k->s[i].conns);
    cp_buf_appendf(out,
                   "# HELP clickpulse_http_servers Collector server threads, by event loop.\n"
                   "# TYPE clickpulse_http_servers gauge\n"
                   "clickpulse_http_servers{loop=\"poll\"} %d\n"
                   "clickpulse_http_servers{loop=\"epoll\"} %d\n"
                   "# HELP clickpulse_http_connections Open collector connections, by event loop.\n"
                   "# TYPE clickpulse_http_connections gauge\n"
                   "clickpulse_http_connections{loop=\"poll\"} %d\n"
                   "clickpulse_http_connections{loop=\"epoll\"} %d\n",
                   k->n_poll, k->n_s - k->n_poll, conns[0], conns[1]);
    pthread_mutex_lock(k->c.lock);
    const cp_pipeline_stats *s = cp_pipeline_stats_get(k->c.pipeline);
    size_t backlog = cp_pipeline_backlog(k->c.pipeline);
    uint64_t raised;
    int idle = cp_pipeline_writer_idle(k->c.pipeline, &raised);
    cp_buf_appendf(
        out,
        "# TYPE clickpulse_events_accepted_total counter\nclickpulse_events_accepted_total %llu\n"
        "# TYPE clickpulse_events_duplicate_total counter\nclickpulse_events_duplicate_total %llu\n"
        "# TYPE clickpulse_events_late_total counter\nclickpulse_events_late_total %llu\n"
        "# TYPE clickpulse_queue_events gauge\nclickpulse_queue_events %zu\n"
        "# TYPE clickpulse_events_spilled_total counter\nclickpulse_events_spilled_total %llu\n"
        "# HELP clickpulse_silver_writer_idle 1 while silver's writer waits in the idle "
        "scheduling class.\n"
        "# TYPE clickpulse_silver_writer_idle gauge\nclickpulse_silver_writer_idle %d\n"
        "# TYPE clickpulse_silver_writer_raised_total counter\n"
        "clickpulse_silver_writer_raised_total %llu\n"
        "# HELP clickpulse_dedup_entries messageIds in the dedup window's table.\n"
        "# TYPE clickpulse_dedup_entries gauge\nclickpulse_dedup_entries %llu\n"
        "# HELP clickpulse_dedup_bytes Memory of the dedup window's table "
        "(pipeline.dedup_memory bounds it).\n"
        "# TYPE clickpulse_dedup_bytes gauge\nclickpulse_dedup_bytes %llu\n"
        "# HELP clickpulse_dedup_cold_total messageIds the dedup window moved to disk.\n"
        "# TYPE clickpulse_dedup_cold_total counter\nclickpulse_dedup_cold_total %llu\n"
        "# HELP clickpulse_queue_bytes Memory of the events held for silver "
        "(pipeline.queue_memory bounds it).\n"
        "# TYPE clickpulse_queue_bytes gauge\nclickpulse_queue_bytes %llu\n"
        "# HELP clickpulse_live_bytes Memory of the live view's keys and sessions "
        "(pipeline.live_memory bounds it).\n"
        "# TYPE clickpulse_live_bytes gauge\nclickpulse_live_bytes %llu\n"
        "# HELP clickpulse_live_untracked_total Events of identities the live sessions had no "
        "room for.\n"
        "# TYPE clickpulse_live_untracked_total counter\nclickpulse_live_untracked_total %llu\n"
        "# TYPE clickpulse_events_rejected_total counter\n",
        (unsigned long long)s->accepted, (unsigned long long)s->duplicates,
        (unsigned long long)s->late, backlog,
        (unsigned long long)cp_pipeline_spilled(k->c.pipeline), idle, (unsigned long long)raised,
        (unsigned long long)s->dedup_entries, (unsigned long long)s->dedup_bytes,
        (unsigned long long)s->dedup_cold, (unsigned long long)s->queue_bytes,
        (unsigned long long)s->live_bytes, (unsigned long long)s->live_untracked);
    for (int i = 0; i < CP_REJECT__COUNT; i++)
        cp_buf_appendf(out, "clickpulse_events_rejected_total{reason=\"%s\"} %llu\n",
                       cp_reject_reason_name((cp_reject_reason)i),
                       (unsigned long long)s->rejected[i]);
    pthread_mutex_unlock(k->c.lock);
    if (k->c.more_metrics) k->c.more_metrics(k->c.more_metrics_ud, out);
}

static enum MHD_Result metrics(cp_collector *k, struct MHD_Connection *con)
{
    cp_buf b;
    cp_buf_init(&b);
    cp_collector_metrics(k, &b);
    enum MHD_Result res = reply(k, con, R_METRICS, 200, "text/plain; version=0.0.4", b.ptr, b.len);
    cp_buf_free(&b);
    return res;
}

/* The 1x1 transparent GIF of the pixel endpoint. */
static const unsigned char gif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff,
    0xff, 0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

static enum MHD_Result reply_gif(cp_collector *k, struct MHD_Connection *con, enum route r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(gif), (void *)gif, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "image/gif");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
    MHD_add_response_header(resp, "Pragma", "no-cache");
    MHD_add_response_header(resp, "Expires", "0");
    enum MHD_Result ok = MHD_queue_response(con, 200, resp);
    MHD_destroy_response(resp);
    metrics_request(&k->m, r, 200);
    return ok;
}

/* Snowplow has no write key: the app id ("aid") is taken as one, else HTTP Basic. */
static const char *snowplow_source(cp_collector *k, struct MHD_Connection *con, cp_slice aid)
{
    const char *src = aid.len ? source_of_key(k, aid.ptr, aid.len) : NULL;
    return src ? src : authenticate(k, con, CP_SLICE_NULL);
}

#define MAX_PARAMS 128
typedef struct params {
    cp_kv kv[MAX_PARAMS];
    size_t n;
} params;

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    params *p = cls;
    (void)kind;
    if (p->n < MAX_PARAMS && key && value)
        p->kv[p->n++] = (cp_kv){cp_slice_from(key), cp_slice_from(value)};
    return MHD_YES;
}

static enum MHD_Result snowplow_get(cp_collector *k, struct MHD_Connection *con, request *req)
{
    params p = {.n = 0};
    char err[256];
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, collect_param, &p);
    cp_slice aid = CP_SLICE_NULL;
    for (size_t i = 0; i < p.n; i++)
        if (cp_slice_eq_lit(p.kv[i].key, "aid")) aid = p.kv[i].value;
    const char *source = snowplow_source(k, con, aid);
    if (!source)
        return reply_json_error(k, con, R_SNOWPLOW_I, 401, "unauthorized",
                                "aid is not a known write key");
    cp_buf json;
    cp_buf_init(&json);
    int rc = cp_snowplow_event(p.kv, p.n, &json, err, sizeof(err));
    enum MHD_Result res = rc ? reply_json_error(k, con, R_SNOWPLOW_I, 400, "bad_snowplow", err)
                             : ingest(k, con, req, R_SNOWPLOW_I, cp_buf_slice(&json), source);
    cp_buf_free(&json);
    return res;
}

static enum MHD_Result snowplow_post(cp_collector *k, struct MHD_Connection *con, request *req,
                                     cp_slice body)
{
    char err[256];
    cp_buf batch;
    cp_arena a;
    cp_slice aid;
    cp_buf_init(&batch);
    cp_arena_init(&a, 16384);
    int rc = cp_snowplow_payload(body, &batch, &a, &aid, err, sizeof(err));
    enum MHD_Result res;
    const char *source = rc ? NULL : snowplow_source(k, con, aid);
    if (rc)
        res = reply_json_error(k, con, R_SNOWPLOW_TP2, 400, "bad_snowplow", err);
    else if (!source)
        res = reply_json_error(k, con, R_SNOWPLOW_TP2, 401, "unauthorized",
                               "aid is not a known write key");
    else
        res = ingest(k, con, req, R_SNOWPLOW_TP2, cp_buf_slice(&batch), source);
    cp_buf_free(&batch);
    cp_arena_free(&a);
    return res;
}

static enum MHD_Result route(cp_collector *k, struct MHD_Connection *con, const char *url,
                             const char *method, request *req)
{
    enum route r = route_of(url);
    if (strcmp(method, "OPTIONS") == 0) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Content-Encoding");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
        const char *origin = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin");
        for (size_t i = 0; origin && k->c.cors_origins && i < k->c.cors_origins->n; i++) {
            const char *o = k->c.cors_origins->items[i];
            if (strcmp(o, "*") == 0 || strcmp(o, origin) == 0) {
                MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
                break;
            }
        }
        enum MHD_Result ok = MHD_queue_response(con, 204, resp);
        MHD_destroy_response(resp);
        metrics_request(&k->m, r, 204);
        return ok;
    }
    if (strcmp(url, "/com.snowplowanalytics.snowplow/i") == 0) r = R_SNOWPLOW_I;
    if (r == R_HEALTH) return health(k, con);
    if (r == R_SNOWPLOW_I && strcmp(method, "GET") == 0) return snowplow_get(k, con, req);

    if (r == R_METRICS) return metrics(k, con);
    if (r == R_OTHER) return reply_json_error(k, con, r, 404, "not_found", "no such endpoint");
    if (strcmp(method, "POST") != 0) return reply_json_error(k, con, r, 405, "method", "use POST");
    return post(k, con, r, req);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    cp_collector *k = cls;
    request *req = *con_cls;
    (void)version;
    if (req && req->waiting) { /* resumed: its generation is written */
        req->waiting = 0;
        if (req->durable)
            return reply_accepted(k, con, (enum route)req->route, req->rejected, &req->rejects);
        return reply_json_error(k, con, (enum route)req->route, 503, "unavailable",
                                k->failure[0] ? k->failure : "events cannot be taken");
    }
    int first = req == NULL;
    int g = http_gather(con_cls, upload, upload_size, k->c.max_request_bytes,
                        (int64_t)k->c.request_timeout_ms * 1000000, &req);
    if (g == HTTP_ABORT)
        CP_LOG_LIMITED(CP_LOG_WARN, 1, "collector",
                       "cut off a request (too slow or out of memory)");
    if (g == HTTP_MORE && first) ((request *)*con_cls)->malformed = http_request_malformed(con);
    if (g != HTTP_READY) return g == HTTP_MORE ? MHD_YES : MHD_NO;
    http_guard_busy(k->guard, con, 1); /* arrived whole: no deadline while it is handled */
    if (req->malformed) {
        enum route r = route_of(url);
        cp_buf b;
        cp_buf_init(&b);
        cp_buf_append_str(&b, "{\"success\":false,\"reason\":\"bad_request\",\"error\":");
        cp_buf_append_json_str(&b, req->malformed, strlen(req->malformed));
        cp_buf_append_str(&b, "}\n");
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(b.len, b.ptr, MHD_RESPMEM_MUST_COPY);
        cp_buf_free(&b);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "application/json");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Connection", "close"); /* its framing is not known */
        enum MHD_Result ok = MHD_queue_response(con, 400, resp);
        MHD_destroy_response(resp);
        metrics_request(&k->m, r, 400);
        return ok;
    }
    return route(k, con, url, method, req);
}

/* ---- servers ---- */

/* A server's connections are counted by the acceptor as it hands them over (a burst of
 * them is placed by counts already up to date) and counted out as the server closes
 * them. */
static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    server *s = cls;
    http_guard_notify(s->k->guard, con, socket_context, (int)code);
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) atomic_fetch_sub(&s->conns, 1);
}

/* A request's answer is sent (or it failed): the clock for the next one starts. */
/* The answer of a request whose client half-closed while it waited for its group commit:
 * libmicrohttpd closes such a connection at the end of its stream without answering, so
 * the answer is written to the socket here (still open: the servers run in turbo mode,
 * which does not shut it down first), then the connection closes. */
static void answer_directly(cp_collector *k, struct MHD_Connection *con, request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    cp_buf body, msg;
    cp_buf_init(&body);
    cp_buf_init(&msg);
    unsigned status = req->durable ? 200 : 503;
    if (!req->durable)
        cp_buf_append_str(&body, "{\"success\":false,\"reason\":\"unavailable\"}\n");
    else if (req->rejected && req->rejects.len)
        cp_buf_appendf(&body,
                       "{\"success\":true,\"accepted\":true,\"rejected\":%zu,\"rejects\":%.*s}\n",
                       req->rejected, (int)req->rejects.len, req->rejects.ptr);
    else
        cp_buf_append_str(&body, "{\"success\":true}\n");
    cp_buf_appendf(&msg,
                   "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                   "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%.*s",
                   status, status == 200 ? "OK" : "Service Unavailable", body.len, (int)body.len,
                   body.ptr ? body.ptr : "");
    if (ci && msg.ptr && send(ci->connect_fd, msg.ptr, msg.len, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        metrics_request(&k->m, (enum route)req->route, status);
    cp_buf_free(&body);
    cp_buf_free(&msg);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    cp_collector *k = cls;
    request *req = *con_cls;
    /* resumed, its commit done, and closed before its answer: the client half-closed */
    if (req && req->waiting && toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
        answer_directly(k, con, req);
    http_guard_busy(k->guard, con, 0);
    http_request_done(cls, con, con_cls, (int)toe);
}

/* The least busy of s[from..to); NULL when none. */
static server *least_busy(cp_collector *k, int from, int to)
{
    server *best = NULL;
    for (int i = from; i < to; i++)
        if (!best || atomic_load(&k->s[i].conns) < atomic_load(&best->conns)) best = &k->s[i];
    return best;
}

/* Where a new connection goes: the least busy poll server while it has fewer than
 * collector.poll_connections, else the least busy epoll server. */
static server *pick(cp_collector *k)
{
    server *s = least_busy(k, 0, k->n_poll);
    if (s && (size_t)atomic_load(&s->conns) < k->c.poll_connections) return s;
    return least_busy(k, k->n_poll, k->n_s);
}

static void *accept_loop(void *arg)
{
    cp_collector *k = arg;
    pthread_setname_np(pthread_self(), "collector accept");
    while (!atomic_load(&k->closing)) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        int fd =
            accept4(k->listen_fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (!http_guard_admit(k->guard, (const struct sockaddr *)&peer)) {
                close(fd); /* over collector.max_connections[_per_address] */
                continue;
            }
            server *s = pick(k);
            atomic_fetch_add(&s->conns, 1);
            /* refused (out of memory): the server has closed it */
            if (MHD_add_connection(s->d, fd, (const struct sockaddr *)&peer, len) != MHD_YES) {
                atomic_fetch_sub(&s->conns, 1);
                http_guard_release(k->guard, (const struct sockaddr *)&peer);
            }
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            CP_LOG_LIMITED(CP_LOG_WARN, 1, "collector", "cannot accept a connection: %s",
                           strerror(errno));
            usleep(10000); /* the connection waits in the backlog meanwhile */
        }
    }
    return NULL;
}

/* The port, listened on: SO_REUSEADDR only (a restart finds the last run's connections
 * in TIME_WAIT), so that a second daemon on the same port fails. -1 when it cannot. */
static int listen_on(struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    socklen_t len = sizeof(*sa);
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
        bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 && listen(fd, SOMAXCONN) == 0 &&
        getsockname(fd, (struct sockaddr *)sa, &len) == 0)
        return fd;
    if (fd >= 0) close(fd);
    return -1;
}

/* One of the n servers of its kind. The acceptor enforces the connection limits (in
 * all and per address, across the servers); a poll server is given at most
 * collector.poll_connections; the servers' own limits are only a backstop, with room
 * for connections closed and not yet counted out. */
static struct MHD_Daemon *start_server(cp_collector *k, server *s, bool poll, unsigned n)
{
    unsigned limit = poll ? 2 * (unsigned)k->c.poll_connections : (unsigned)k->c.max_connections;
    (void)n;
    s->k = k;
    return MHD_start_daemon(
        (poll ? MHD_USE_POLL_INTERNAL_THREAD : MHD_USE_EPOLL_INTERNAL_THREAD) |
            MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO,
        0, NULL, NULL, handle, k, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, "collector",
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, k, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)((k->c.request_timeout_ms + 999) / 1000), /* idle: nothing at all arrives */
        MHD_OPTION_CONNECTION_LIMIT, limit + 64, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(16 * 1024), MHD_OPTION_END);
}

static int start_servers(cp_collector *k)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cpus < 1 ? 1 : cpus > MAX_SERVERS ? MAX_SERVERS : (int)cpus;
    for (int kind = k->c.poll_connections ? 0 : 1; kind < 2; kind++) {
        for (int i = 0; i < n; i++) {
            server *s = &k->s[k->n_s];
            if (!(s->d = start_server(k, s, kind == 0, (unsigned)n))) return CP_EIO;
            k->n_s++;
            k->n_poll += kind == 0;
        }
    }
    return CP_OK;
}

size_t cp_collector_memory(const cp_config *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t servers = 2 * (size_t)(cpus < 1 ? 1 : cpus > MAX_SERVERS ? MAX_SERVERS : cpus);
    size_t body = (size_t)c->collector_max_request_bytes;
    return (size_t)c->collector_max_connections * (16384 + 2 * body) + servers * 3 * body;
}

int cp_collector_start(const cp_collector_config *c, cp_collector **out, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (http_listen_addr(c->listen, "collector.listen", &sa, err, errlen)) return CP_EINVAL;
    cp_collector *k = cp_calloc(1, sizeof(*k));
    if (!k) return CP_ENOMEM;
    k->c = *c;
    if (!k->c.max_connections) k->c.max_connections = 2000;
    if (!k->c.max_connections_per_address) k->c.max_connections_per_address = 1000;
    if (k->c.request_timeout_ms <= 0) k->c.request_timeout_ms = 10000;
    k->open_gen = 1;
    k->listen_fd = -1;
    /* every connection a descriptor, and room for the log, the database and the API */
    http_raise_nofile(k->c.max_connections + 1024, "collector");
    if (!(k->guard = http_guard_new("collector", k->c.request_timeout_ms, k->c.max_connections,
                                    k->c.max_connections_per_address))) {
        cp_free(k);
        return CP_ENOMEM;
    }
    if (pthread_key_create(&k->thread, free_thread) != 0) {
        http_guard_free(k->guard);
        cp_free(k);
        return CP_ENOMEM;
    }
    static const char success[] = "{\"success\":true}\n";
    k->ok = MHD_create_response_from_buffer(sizeof(success) - 1, (void *)success,
                                            MHD_RESPMEM_PERSISTENT);
    if (k->ok && (MHD_add_response_header(k->ok, "Content-Type", "application/json") != MHD_YES ||
                  MHD_add_response_header(k->ok, "X-Content-Type-Options", "nosniff") != MHD_YES)) {
        MHD_destroy_response(k->ok);
        k->ok = NULL; /* each answer is then made on its own */
    }
    pthread_cond_init(&k->work, NULL);
    pthread_cond_init(&k->durable, NULL);
    if (pthread_create(&k->committer, NULL, commit_loop, k) != 0) {
        if (k->ok) MHD_destroy_response(k->ok);
        pthread_key_delete(k->thread);
        http_guard_free(k->guard);
        cp_free(k);
        return CP_ENOMEM;
    }
    int rc = CP_EIO;
    if ((k->listen_fd = listen_on(&sa)) < 0)
        snprintf(err, errlen, "cannot listen on %s: %s", c->listen, strerror(errno));
    else if (start_servers(k))
        snprintf(err, errlen, "cannot start the collector's servers");
    else if (pthread_create(&k->acceptor, NULL, accept_loop, k) != 0)
        snprintf(err, errlen, "cannot start the collector's acceptor thread");
    else
        k->accepting = 1, rc = CP_OK;
    if (rc) {
        cp_collector_stop(k);
        return rc;
    }
    *out = k;
    return CP_OK;
}

void cp_collector_stop(cp_collector *k)
{
    if (!k) return;
    atomic_store(&k->closing, 1);
    if (k->listen_fd >= 0) shutdown(k->listen_fd, SHUT_RDWR); /* wakes the acceptor */
    if (k->accepting) pthread_join(k->acceptor, NULL);
    if (k->listen_fd >= 0) close(k->listen_fd);
    /* no new connections; the suspended requests are answered first */
    pthread_mutex_lock(k->c.lock);
    while (k->waiters) pthread_cond_wait(&k->durable, k->c.lock);
    pthread_mutex_unlock(k->c.lock);
    for (int i = 0; i < k->n_s; i++) MHD_stop_daemon(k->s[i].d);
    pthread_mutex_lock(k->c.lock);
    k->stop = 1;
    pthread_cond_broadcast(&k->work);
    pthread_mutex_unlock(k->c.lock);
    pthread_join(k->committer, NULL);
    pthread_key_delete(k->thread); /* after the server threads ended, freeing theirs */
    if (k->ok) MHD_destroy_response(k->ok);
    http_guard_free(k->guard);
    pthread_cond_destroy(&k->work);
    pthread_cond_destroy(&k->durable);
    cp_free(k->resume);
    cp_free(k);
}
