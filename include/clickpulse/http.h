/* The daemon's HTTP API (libmicrohttpd), on dashboard.listen:
 *   GET  /health            200 {"status":"ok",…} or 503 with the reason
 *   POST /api/v1/query      body: one read-only SQL statement;
 *                           ?format=table|csv|json&max_rows=N
 * With a token configured, the /api/v1 endpoints want "Authorization: Bearer TOKEN". */
#ifndef CLICKPULSE_HTTP_H
#define CLICKPULSE_HTTP_H

#include "clickpulse/store.h"
#include "clickpulse/str.h"

typedef struct cp_api cp_api;

typedef struct cp_api_config {
    const char *listen;   /* "host:port" */
    const char *token;    /* "" or NULL: no token required */
    cp_store *store;      /* queries run on its read-only connection */
    void *ud;
    /* Fills out with the health JSON; returns the HTTP status (200 or 503). */
    int (*health)(void *ud, cp_buf *out);
} cp_api_config;

/* Starts serving on its own threads. On error writes a message into err. */
int cp_api_start(const cp_api_config *c, cp_api **out, char *err, size_t errlen);
void cp_api_stop(cp_api *a);
/* Parses "host:port" (IPv4 or a name) into buf-held host and port; returns 0 or CP_EINVAL. */
int cp_parse_listen(const char *listen, char *host, size_t hostlen, int *port);

#endif
