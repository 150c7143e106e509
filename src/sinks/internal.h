/* What a sink implements, and what the runner (sink.c) gives it. A sink is a const
 * table of callbacks over a context of its own; the runner reads the rows, keeps the
 * positions, retries and counts. */
#ifndef CP_SINKS_INTERNAL_H
#define CP_SINKS_INTERNAL_H

#include "clickpulse/sinks.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum sink_mode {
    SINK_APPEND,  /* append-only, by log offset ("offset") */
    SINK_UPDATED, /* rows updated in place, by update time (updated_at, in µs) */
    SINK_REPLACE  /* whole, again whenever the content changes */
} sink_mode;

typedef struct sink_column {
    char *name;    /* as in the store */
    char *type;    /* DuckDB's type name: BIGINT, VARCHAR, DECIMAL(18,2), TIMESTAMP, ... */
    char dest[64]; /* the destination's type, from map */
} sink_column;

typedef struct sink_stream {
    char *source; /* the store's table: "events", "gold.daily_sales_summary" */
    char *name;   /* the destination's table: "events", "daily_sales_summary" */
    sink_mode mode;
    sink_column *cols;
    size_t ncols;
    int key;            /* the column giving the position (APPEND, UPDATED); -1 otherwise */
    int64_t position;   /* APPEND: last offset delivered (-1: none); UPDATED: µs; REPLACE:
                           the content's version */
    bool prepared;      /* created or migrated since the last connect */
    bool gone;          /* no longer in the store (a mart removed) */
    int64_t checked_ms; /* REPLACE: when the version was last compared */
    uint64_t rows, batches;
    int64_t lag; /* APPEND: offsets in silver past the position at the last step */
} sink_stream;

struct cp_sink_ops {
    const char *name;
    /* Tables delivered when the configuration names none: a comma-separated list of
     * table names ("gold.*" for every mart). */
    void (*tables)(const cp_config *c, char *out, size_t len);
    /* Reads the sink's configuration into a new context; no connection yet. */
    int (*open)(const cp_config *c, void **ctx, char *err, size_t errlen);
    /* The destination's type for a DuckDB type, and the DuckDB expression rendering a
     * value as the text the destination reads ({} stands for the quoted column). */
    void (*map)(void *ctx, const char *type, char *dest, size_t destlen, const char **render);
    int (*connect)(void *ctx, char *err, size_t errlen);
    /* Creates or migrates st's table; for an APPEND stream, may set st->position from
     * what the destination holds (it is then trusted over the positions file). */
    int (*prepare)(void *ctx, sink_stream *st, char *err, size_t errlen);
    /* A batch of st's rows: begin, row for each (values as text, a NULL value has ptr
     * NULL), then commit, which makes them durable at the destination — for a REPLACE
     * stream in place of everything before — or fails and leaves no half batch behind
     * that a redelivery would duplicate. */
    int (*begin)(void *ctx, const sink_stream *st);
    int (*row)(void *ctx, const sink_stream *st, const cp_slice *v);
    int (*commit)(void *ctx, const sink_stream *st, char *err, size_t errlen);
    void (*disconnect)(void *ctx);
    void (*free)(void *ctx);
    /* A sink that delivers by itself through its connection to the store (the lake): called
     * in place of the tables' batches (tables gives none; map, prepare, begin, row and
     * commit are not called); now: a drain (stopping, or `clickpulse sinks`), not to wait for
     * the sink's own pace. Returns what it delivered (0: nothing new) or a negative error
     * with the reason in err. */
    int64_t (*publish)(void *ctx, cp_store *store, bool now, char *err, size_t errlen);
};

/* Appends values as one line of PostgreSQL's COPY text format, which is also
 * ClickHouse's TabSeparated: tab-separated, \N for NULL, backslash escapes. */
void sink_tsv_row(cp_buf *out, const cp_slice *v, size_t n);
/* An SQL identifier quoted with q ('"' or '`'), the quote doubled or escaped inside. */
void sink_quote_ident(cp_buf *out, const char *name, char q);

/* The column list of st for DDL and DML: " (a T, b U)" with type giving each column's
 * destination type, " (a, b)" when type is NULL; names quoted with quote. */
void sink_column_list(cp_buf *out, const sink_stream *st, char quote,
                      void (*type)(const sink_stream *st, size_t i, char *out, size_t len));

/* HTTP for the sinks that speak it (libcurl). */
typedef struct sink_http sink_http;
sink_http *sink_http_new(void);
void sink_http_free(sink_http *h);
/* POSTs body to url; the status in *status, the response body in resp. Returns 0 or
 * CP_EIO with the transport's reason in err (refused, timed out). */
int sink_http_post(sink_http *h, const char *url, const char *body, size_t len, long *status,
                   cp_buf *resp, char *err, size_t errlen);
/* url with "?" or "&" and the query parameter name=value (value URL-encoded) added. */
void sink_url_param(cp_buf *out, const char *url, const char *name, const char *value);

#endif
