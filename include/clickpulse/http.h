/* The daemon's HTTP API and dashboard (libmicrohttpd), on dashboard.listen; every
 * endpoint is described in docs/openapi.yaml:
 *   GET  /health                 200 {"status":"ok",…} or 503 with the reason
 *   POST /api/v1/login           user and password, or token: a session cookie
 *   POST /api/v1/query           body: one read-only SQL statement;
 *                                ?format=table|csv|json&max_rows=N
 *   GET  /api/v1/pages/NAME      a dashboard page's datasets (?from&to&country&device&source)
 *   GET  /api/v1/filters, /me, /metrics, /live, /live/stream, /jobs
 * Everything but /health, /login and its assets wants a login: the session cookie, or
 * the token as "Authorization: Bearer TOKEN". */
#ifndef CLICKPULSE_HTTP_H
#define CLICKPULSE_HTTP_H

#include "clickpulse/config.h"
#include "clickpulse/store.h"
#include "clickpulse/str.h"

#include <pthread.h>

typedef struct cp_api cp_api;

typedef struct cp_api_config {
    const char *listen;        /* "host:port" */
    const char *token;         /* the dashboard token; "" or NULL: none (then only users log in) */
    const cp_strlist *users;   /* "user=password" (plain or a crypt(3) hash); may be NULL */
    int64_t session_ttl_ms;    /* how long a login lasts */
    const char *sessions_path; /* the file logins are kept in across restarts; may be NULL */
    bool secure_cookies;       /* session cookies marked Secure */
    int query_timeout_ms;      /* statements of the API stop after this (0: never) */
    int64_t query_max_rows;    /* the SQL page's row limit: a request may ask for fewer */
    size_t query_max_bytes;    /* a statement's answer larger than this: 413 (0: 64 MiB) */
    size_t max_connections;    /* open connections at most (0: 256) */
    size_t max_connections_per_address; /* from one client address (0: 64) */
    int request_timeout_ms;             /* a request must arrive whole within this (0: 10 s) */
    int login_failures_per_minute;      /* failed logins per address before delays (0: 5) */
    cp_store *store;                    /* queries run on its read-only connection */
    void *ud;
    /* Fills out with the health JSON; returns the HTTP status (200 or 503). */
    int (*health)(void *ud, cp_buf *out);
    /* Read-your-writes: waits at most timeout_ms until silver holds every event acknowledged
     * before the call; returns 0 or an error (CP_EAGAIN on timeout). NULL: never waits. */
    int (*catch_up)(void *ud, int timeout_ms);
    struct cp_live *live;      /* GET /api/v1/live and /api/v1/live/stream; NULL: 503 */
    struct cp_scheduler *jobs; /* GET /api/v1/jobs, POST /api/v1/jobs/NAME/run; NULL: 503 */
    /* Appends the engine's metrics (Prometheus text) for GET /api/v1/metrics; may be NULL. */
    void (*metrics)(void *ud, cp_buf *out);
    /* POST /api/v1/forget (form field user_id): erases the person and fills out with what
     * was removed (JSON); returns the HTTP status. NULL: 503. */
    int (*forget)(void *ud, const char *user_id, cp_buf *out);
} cp_api_config;

/* Starts serving on its own threads. On error writes a message into err. */
int cp_api_start(const cp_api_config *c, cp_api **out, char *err, size_t errlen);
void cp_api_stop(cp_api *a);
/* Parses "host:port" (IPv4 or a name) into buf-held host and port; returns 0 or CP_EINVAL. */
int cp_parse_listen(const char *listen, char *host, size_t hostlen, int *port);

/* The collector (DESIGN.md section 8), on collector.listen:
 *   POST /v1/track|page|identify|screen|group|alias   one message, typed by the route
 *   POST /v1/batch, /v1/import                        {"batch":[…]}
 *   OPTIONS *                                         CORS preflight
 *   GET  /health, /metrics                            status; Prometheus text
 * A write key (HTTP Basic user name, or "writeKey" in the body) names the source.
 * Bodies may be gzip-compressed (Content-Encoding: gzip). A 200 is sent only once
 * the request's events are in the bronze log (group commit); under overload the
 * answer is 429 with Retry-After. Every error is a JSON object with a reason. */
typedef struct cp_collector cp_collector;
struct cp_pipeline;

typedef struct cp_collector_config {
    const char *listen;
    const cp_strlist *write_keys;      /* "key" or "key=source" */
    const cp_strlist *cors_origins;    /* "*" or origins */
    const cp_strlist *trusted_proxies; /* peers whose X-Forwarded-For is believed */
    bool anonymize_ip;
    size_t max_request_bytes, max_event_bytes, max_batch_events;
    size_t max_backlog_events; /* beyond this many events waiting: 429 */
    size_t poll_connections;   /* connections a poll server takes (0: epoll servers only) */
    size_t max_connections;    /* open connections at most (0: 2000) */
    size_t max_connections_per_address; /* from one client address (0: 1000) */
    int request_timeout_ms;             /* a request must arrive whole within this (0: 10 s) */
    struct cp_pipeline *pipeline;
    pthread_mutex_t *lock; /* held around every use of the pipeline */
    /* More Prometheus text for /metrics (the Kafka source's); NULL: none. */
    void (*more_metrics)(void *ud, cp_buf *out);
    void *more_metrics_ud;
} cp_collector_config;

int cp_collector_start(const cp_collector_config *c, cp_collector **out, char *err, size_t errlen);
/* Stops accepting, answers the requests in flight, stops. */
/* The most memory the collector's connections and server threads hold with c's settings:
 * each connection its headers and body, the body once more when it comes gzipped, each
 * server thread the batch it decodes (docs/security.md). */
size_t cp_collector_memory(const cp_config *c);
/* The same for the API: its statements' answers and its connections' bodies and threads. */
size_t cp_api_memory(const cp_config *c);
/* Appends the collector's /metrics text (requests, pipeline counters, the more_metrics). */
void cp_collector_metrics(cp_collector *k, cp_buf *out);
void cp_collector_stop(cp_collector *c);

#endif
