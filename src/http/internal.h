/* Private to src/http: the collector's counters, exported on /metrics. */
#ifndef CP_HTTP_INTERNAL_H
#define CP_HTTP_INTERNAL_H

#include "clickpulse/event.h"
#include "clickpulse/str.h"

#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>

#define ROUTES(X)                                                                                  \
    X(TRACK, "/v1/track")                                                                          \
    X(PAGE, "/v1/page")                                                                            \
    X(IDENTIFY, "/v1/identify")                                                                    \
    X(SCREEN, "/v1/screen")                                                                        \
    X(GROUP, "/v1/group")                                                                          \
    X(ALIAS, "/v1/alias")                                                                          \
    X(BATCH, "/v1/batch")                                                                          \
    X(IMPORT, "/v1/import")                                                                        \
    X(SNOWPLOW_TP2, "/com.snowplowanalytics.snowplow/tp2")                                         \
    X(SNOWPLOW_I, "/i")                                                                            \
    X(HEALTH, "/health")                                                                           \
    X(METRICS, "/metrics")                                                                         \
    X(OTHER, "other")

enum route {
#define X(id, path) R_##id,
    ROUTES(X)
#undef X
        R__COUNT
};

/* Status codes counted one by one; anything else lands in the last slot. */
#define STATUS_CODES(X) X(200) X(204) X(400) X(401) X(404) X(405) X(413) X(429) X(503)
enum { N_STATUS = 10 };
/* Upper bounds of the group commits' histogram buckets, in µs (+Inf after them). */
#define COMMIT_BUCKETS_US                                                                          \
    500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000
enum { N_COMMIT_BUCKETS = 11 };

typedef struct collector_metrics {
    _Atomic uint64_t requests[R__COUNT][N_STATUS];
    _Atomic uint64_t bytes_in;
    _Atomic uint64_t commits, commit_ns_sum, commit_ns_max;
    _Atomic uint64_t commit_buckets[N_COMMIT_BUCKETS]; /* not cumulative: each its own range */
} collector_metrics;

int status_slot(unsigned status);
void metrics_request(collector_metrics *m, enum route r, unsigned status);
void metrics_commit(collector_metrics *m, int64_t ns);
/* Appends the Prometheus text of the counters (pipeline counters are added by the caller). */
int metrics_format(const collector_metrics *m, cp_buf *out);
const char *route_path(enum route r);

/* request.c */
/* A request body being gathered; the deadline counts from the request's start. */
typedef struct http_request {
    cp_buf body;
    int too_big;           /* more than the limit arrived: the rest was dropped */
    const char *malformed; /* why its head is refused (two Content-Length headers), or NULL */
    int64_t start_ns;
    /* A collector request suspended until its group commit (generation gen) is done. */
    int waiting, durable, route;
    uint64_t gen;
    size_t rejected;
    cp_buf rejects; /* the JSON array of a batch's rejected events ("" when none) */
    struct MHD_Connection *con;
    struct http_request *next;
} http_request;
enum { HTTP_MORE = 1, HTTP_READY = 0, HTTP_ABORT = -1 };
/* The body-gathering part of a libmicrohttpd access handler: HTTP_MORE while the
 * request is arriving, HTTP_READY with *out when it is complete, HTTP_ABORT when out
 * of memory or past deadline_ns (0: none). */
int http_gather(void **con_cls, const char *upload, size_t *upload_size, size_t limit,
                int64_t deadline_ns, http_request **out);
/* The matching MHD_OPTION_NOTIFY_COMPLETED callback (frees the request). */
void http_request_done(void *cls, void *connection, void **con_cls, int toe);
/* libmicrohttpd's messages into our log (cls: the component name); clients that went
 * away are logged at debug level. */
void http_mhd_log(void *cls, const char *fmt, va_list ap);
struct sockaddr_in;
/* "host:port" (IPv4) into sa; on error a message naming the key in err. */
int http_listen_addr(const char *listen, const char *key, struct sockaddr_in *sa, char *err,
                     size_t errlen);
/* Decodes base64 (standard or URL alphabet) into out; returns the length or -1. */
int http_b64_decode(const char *in, char *out, size_t cap);
/* The request body: inflated into plain when Content-Encoding is gzip (never past
 * limit bytes: CP_ETOOBIG; broken gzip: CP_EPARSE), else raw itself. */
int http_request_body(cp_slice raw, const char *content_encoding, size_t limit, cp_buf *plain,
                      cp_slice *body);
/* Decode options of a route: limits, and the type the Segment call routes imply. */
void http_decode_options(enum route r, size_t max_event, size_t max_request, size_t max_batch,
                         cp_decode_options *o);

/* guard.c: whole-request deadlines (see the file's comment). */
struct MHD_Connection;
typedef struct http_guard http_guard;
/* A guard and its thread; deadline_ms: how long a connection may take to bring its next
 * request whole. NULL when out of memory. */
http_guard *http_guard_new(const char *name, int64_t deadline_ms, size_t max_total,
                           size_t max_per_address);
struct sockaddr;
/* Counts a new connection from peer in, or returns 0 when it is over a limit (the caller
 * closes it). Every admitted connection is counted out when it closes (notify). */
int http_guard_admit(http_guard *g, const struct sockaddr *peer);
/* Counts out a connection admitted but never handed to a server. */
void http_guard_release(http_guard *g, const struct sockaddr *peer);
/* Connections refused so far. */
size_t http_guard_refused(http_guard *g);
/* Stops the thread; call after the servers it guards have stopped. */
void http_guard_free(http_guard *g);
/* The MHD_OPTION_NOTIFY_CONNECTION part: tracks connections (*socket_context is ours) and
 * counts admitted ones out when they close. */
void http_guard_notify(http_guard *g, struct MHD_Connection *con, void **socket_context, int code);
/* busy: a whole request is being handled (no deadline); 0: its answer is sent, the clock
 * starts again for the next request. */
void http_guard_busy(http_guard *g, struct MHD_Connection *con, int busy);
/* Connections cut off so far. */
size_t http_guard_cut(http_guard *g);
/* Raises the soft RLIMIT_NOFILE to need (at most the hard limit; a warning if short). */
void http_raise_nofile(size_t need, const char *who);
/* How many times the request carries header name. */
int http_header_count(struct MHD_Connection *con, const char *name);
/* The request's own problems found before its body: two Content-Length headers. NULL: none. */
const char *http_request_malformed(struct MHD_Connection *con);

#endif
