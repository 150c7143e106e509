/* The sink runner (see include/clickpulse/sinks.h and src/sinks/internal.h): which tables
 * a sink delivers, reading their rows from the store in batches, positions, retries with
 * backoff, the thread, metrics. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "clickpulse/thread.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

enum { MAX_STREAMS = 64 };

struct cp_sink {
    const cp_sink_ops *ops;
    void *ctx;
    cp_store *store; /* the sink's own connection */
    char *tables[MAX_STREAMS];
    size_t n_tables;
    int64_t batch_rows, poll_ms, retry_min_ms, retry_max_ms, replace_ms, drain_ms;
    char positions[4096];
    sink_stream streams[MAX_STREAMS];
    size_t n_streams;
    int64_t resolved_ms; /* when the tables were last looked up */
    bool connected;
    cp_buf sql;
    pthread_mutex_t mu; /* guards what the metrics read: streams, counters, the reason */
    uint64_t failures, retries;
    int up;
    char reason[512];
    pthread_t thread;
    bool started;
    bool draining; /* in cp_sink_drain: everything pending now */
    atomic_int stop;
};

/* Columns the store keeps for itself. */
static bool internal_column(const char *name)
{
    return !strcmp(name, "msg_hash") || !strcmp(name, "delivery_hash") ||
           !strcmp(name, "visitors_hll");
}

static bool plain_name(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.'))
            return false;
    return true;
}

/* ---- text helpers shared by the sinks ---- */

void sink_tsv_row(cp_buf *out, const cp_slice *v, size_t n)
{
    static const char escape[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};
    for (size_t i = 0; i < n; i++) {
        if (cp_buf_reserve(out, v[i].ptr ? v[i].len * 2 + 2 : 4)) return;
        if (i) cp_buf_putc(out, '\t');
        if (!v[i].ptr) {
            CP_BUF_PUT_LIT(out, "\\N");
            continue;
        }
        const unsigned char *p = (const unsigned char *)v[i].ptr;
        size_t from = 0;
        for (size_t k = 0; k < v[i].len; k++) {
            if (!escape[p[k]]) continue; /* runs without escapes are copied whole */
            cp_buf_put(out, p + from, k - from);
            cp_buf_putc(out, '\\');
            cp_buf_putc(out, escape[p[k]]);
            from = k + 1;
        }
        cp_buf_put(out, p + from, v[i].len - from);
    }
    cp_buf_append_char(out, '\n');
}

void sink_quote_ident(cp_buf *out, const char *name, char q)
{
    cp_buf_append_char(out, q);
    for (const char *p = name; *p; p++) {
        if (*p == q) cp_buf_append_char(out, q == '`' ? '\\' : q);
        cp_buf_append_char(out, *p);
    }
    cp_buf_append_char(out, q);
}

void sink_column_list(cp_buf *out, const sink_stream *st, char quote,
                      void (*type)(const sink_stream *st, size_t i, char *out, size_t len))
{
    for (size_t i = 0; i < st->ncols; i++) {
        cp_buf_append_str(out, i ? ", " : " (");
        sink_quote_ident(out, st->cols[i].name, quote);
        if (type) {
            char t[96];
            type(st, i, t, sizeof(t));
            cp_buf_appendf(out, " %s", t);
        }
    }
    cp_buf_append_char(out, ')');
}

/* ---- positions: "<table> <position>" lines ---- */

static void load_positions(cp_sink *s, sink_stream *st)
{
    FILE *f = fopen(s->positions, "r");
    char name[256];
    long long pos;
    while (f && fscanf(f, "%255s %lld", name, &pos) == 2)
        if (!strcmp(name, st->source)) st->position = pos;
    if (f) fclose(f);
}

static int save_positions(cp_sink *s)
{
    cp_buf b;
    cp_buf_init(&b);
    for (size_t i = 0; i < s->n_streams; i++)
        cp_buf_appendf(&b, "%s %lld\n", s->streams[i].source, (long long)s->streams[i].position);
    int rc = cp_write_file_atomic(s->positions, b.ptr ? b.ptr : "", b.len);
    cp_buf_free(&b);
    return rc;
}

/* ---- the tables ---- */

typedef struct name_list {
    char names[MAX_STREAMS][128];
    size_t n;
} name_list;

static int collect_name(void *ud, const cp_slice *v, size_t n)
{
    name_list *l = ud;
    (void)n;
    if (l->n < MAX_STREAMS && v[0].ptr && v[0].len < 128)
        snprintf(l->names[l->n++], 128, "%.*s", (int)v[0].len, v[0].ptr);
    return CP_OK;
}

typedef struct column_list {
    sink_stream *st;
    int failed;
} column_list;

static int collect_column(void *ud, const cp_slice *v, size_t n)
{
    column_list *l = ud;
    (void)n;
    char name[128];
    snprintf(name, sizeof(name), "%.*s", (int)v[0].len, v[0].ptr ? v[0].ptr : "");
    if (internal_column(name)) return CP_OK;
    sink_column *c = cp_realloc(l->st->cols, (l->st->ncols + 1) * sizeof(*c));
    if (!c) return CP_ENOMEM;
    l->st->cols = c;
    c += l->st->ncols++;
    *c = (sink_column){.name = cp_strdup(name),
                       .type = cp_strndup(v[1].ptr ? v[1].ptr : "", v[1].len)};
    return c->name && c->type ? CP_OK : CP_ENOMEM;
}

static sink_mode mode_of(const char *source)
{
    if (!strcmp(source, "events") || !strcmp(source, "orders") || !strcmp(source, "order_items") ||
        !strcmp(source, "refunds"))
        return SINK_APPEND;
    if (!strcmp(source, "rt_minute")) return SINK_UPDATED;
    return SINK_REPLACE;
}

static void stream_free(sink_stream *st)
{
    for (size_t i = 0; i < st->ncols; i++) cp_free(st->cols[i].name), cp_free(st->cols[i].type);
    cp_free(st->cols);
    cp_free(st->source);
    cp_free(st->name);
    memset(st, 0, sizeof(*st));
}

/* A stream for the store's table source ("schema.table" or a silver table). */
static int add_stream(cp_sink *s, const char *source, char *err, size_t errlen)
{
    const char *dot = strchr(source, '.');
    sink_stream st = {.source = cp_strdup(source),
                      .name = cp_strdup(dot ? dot + 1 : source),
                      .mode = mode_of(source),
                      .key = -1,
                      .position = -1};
    if (st.mode != SINK_APPEND) st.position = 0;
    cp_buf_reset(&s->sql);
    cp_buf_append_str(&s->sql, "SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = ");
    if (dot) {
        cp_buf_appendf(&s->sql, "'%.*s' AND table_name = '%s'", (int)(dot - source), source,
                       dot + 1);
    } else {
        cp_buf_appendf(&s->sql, "'main' AND table_name = '%s'", source);
    }
    cp_buf_append_str(&s->sql, " ORDER BY ordinal_position");
    column_list l = {&st, 0};
    int rc = st.source && st.name
                 ? cp_store_read_rows(s->store, s->sql.ptr, collect_column, &l, err, errlen)
                 : CP_ENOMEM;
    const char *key = st.mode == SINK_APPEND    ? "offset"
                      : st.mode == SINK_UPDATED ? "updated_at"
                                                : NULL;
    for (size_t i = 0; rc == CP_OK && i < st.ncols; i++) {
        if (key && !strcmp(st.cols[i].name, key)) st.key = (int)i;
        const char *render;
        s->ops->map(s->ctx, st.cols[i].type, st.cols[i].dest, sizeof(st.cols[i].dest), &render);
    }
    if (rc == CP_OK && (!st.ncols || (key && st.key < 0))) {
        snprintf(err, errlen, "%s: no such table in the store, or no %s column", source,
                 key ? key : "");
        rc = CP_ENOENT;
    }
    if (rc) {
        stream_free(&st);
        return rc;
    }
    load_positions(s, &st);
    pthread_mutex_lock(&s->mu);
    s->streams[s->n_streams++] = st;
    pthread_mutex_unlock(&s->mu);
    return CP_OK;
}

static bool have_stream(const cp_sink *s, const char *source)
{
    for (size_t i = 0; i < s->n_streams; i++)
        if (!strcmp(s->streams[i].source, source)) return true;
    return false;
}

/* Looks the configured tables up in the store: "gold.*" is every mart there now (not the
 * staging and intermediate models, stg_* and int_*, unless named); a table not there yet
 * (a mart before the first models run) is looked for again later. */
static int resolve(cp_sink *s, char *err, size_t errlen)
{
    name_list found = {.n = 0};
    int rc = cp_store_read_rows(s->store,
                                "SELECT table_schema || '.' || table_name FROM "
                                "information_schema.tables WHERE table_schema IN ('main', 'gold') "
                                "ORDER BY 1",
                                collect_name, &found, err, errlen);
    for (size_t i = 0; rc == CP_OK && i < s->n_tables; i++) {
        const char *want = s->tables[i];
        size_t wl = strlen(want);
        bool all = wl > 2 && !strcmp(want + wl - 2, ".*");
        for (size_t k = 0; rc == CP_OK && k < found.n; k++) {
            const char *have = found.names[k];
            const char *bare = !strncmp(have, "main.", 5) ? have + 5 : have;
            const char *table = strchr(have, '.') + 1;
            bool layer = !strncmp(table, "stg_", 4) || !strncmp(table, "int_", 4);
            bool match = all ? !strncmp(have, want, wl - 1) && !layer : !strcmp(bare, want);
            if (match && !have_stream(s, bare) && s->n_streams < MAX_STREAMS)
                rc = add_stream(s, bare, err, errlen);
        }
    }
    s->resolved_ms = cp_now_ms();
    return rc;
}

/* ---- delivering ---- */

/* A decimal integer in a value from the store (not NUL-terminated). */
static int64_t slice_i64(cp_slice v)
{
    bool neg = v.len && v.ptr[0] == '-';
    int64_t n = 0;
    for (size_t i = neg; i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9'; i++)
        n = n * 10 + (v.ptr[i] - '0');
    return neg ? -n : n;
}

typedef struct batch {
    cp_sink *s;
    sink_stream *st;
    int64_t rows, last;
    int rc;
} batch;

static int take_row(void *ud, const cp_slice *v, size_t n)
{
    batch *b = ud;
    int64_t key = 0;
    if (b->st->mode != SINK_REPLACE) {
        key = slice_i64(v[n - 1]);
        if (key > b->last) b->last = key;
    }
    b->rows++;
    return b->s->ops->row(b->s->ctx, b->st, v);
}

/* The select list: each column rendered for the destination, then the position key. */
static void select_list(cp_sink *s, const sink_stream *st)
{
    cp_buf *q = &s->sql;
    cp_buf_reset(q);
    cp_buf_append_str(q, "SELECT ");
    cp_buf col;
    cp_buf_init(&col);
    for (size_t i = 0; i < st->ncols; i++) {
        char dest[64];
        const char *render;
        s->ops->map(s->ctx, st->cols[i].type, dest, sizeof(dest), &render);
        cp_buf_reset(&col);
        sink_quote_ident(&col, st->cols[i].name, '"');
        if (i) cp_buf_append_str(q, ", ");
        for (const char *r = render; *r; r++) { /* each {} is the column */
            if (r[0] == '{' && r[1] == '}')
                cp_buf_append(q, col.ptr, col.len), r++;
            else
                cp_buf_append_char(q, *r);
        }
    }
    if (st->mode == SINK_APPEND) cp_buf_append_str(q, ", CAST(\"offset\" AS VARCHAR)");
    if (st->mode == SINK_UPDATED) cp_buf_append_str(q, ", CAST(epoch_us(updated_at) AS VARCHAR)");
    cp_buf_free(&col);
    cp_buf_appendf(q, " FROM %s", st->source);
}

static int take_version(void *ud, const cp_slice *v, size_t n)
{
    (void)n;
    bool empty = v[0].len >= 2 && v[0].ptr[0] == '0' && v[0].ptr[1] == ':';
    *(int64_t *)ud = empty ? 0 : (int64_t)(XXH3_64bits(v[0].ptr, v[0].len) >> 1) | 1;
    return CP_OK;
}

/* A REPLACE stream's content, as a number that changes when any row does; 0 when the
 * table is empty (as a destination's new table is). */
static int version_of(cp_sink *s, const sink_stream *st, int64_t *version, char *err, size_t errlen)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT CAST(count(*) AS VARCHAR) || ':' || CAST(coalesce(sum(hash(t)), 0) AS "
             "VARCHAR) FROM %s t",
             st->source);
    return cp_store_read_rows(s->store, sql, take_version, version, err, errlen);
}

static int take_lag(void *ud, const cp_slice *v, size_t n)
{
    (void)n;
    sink_stream *st = ud;
    int64_t max = v[0].ptr ? slice_i64(v[0]) : -1;
    st->lag = max > st->position ? max - st->position : 0;
    return CP_OK;
}

/* One batch of st: its rows past the position (whole offsets: the rows of an order stay
 * together), or all of it when it changed. Returns the rows delivered or an error. */
static int64_t deliver(cp_sink *s, sink_stream *st, char *err, size_t errlen)
{
    if (st->mode == SINK_REPLACE) {
        int64_t now = cp_now_ms(), version = 0;
        if (st->checked_ms && now - st->checked_ms < s->replace_ms) return 0;
        int rc = version_of(s, st, &version, err, errlen);
        if (rc) return rc;
        st->checked_ms = now;
        if (version == st->position) return 0;
        select_list(s, st);
        batch b = {s, st, 0, version, CP_OK};
        rc = s->ops->begin(s->ctx, st);
        if (rc == CP_OK) rc = cp_store_read_rows(s->store, s->sql.ptr, take_row, &b, err, errlen);
        if (rc == CP_OK) rc = s->ops->commit(s->ctx, st, err, errlen);
        if (rc) return rc;
        pthread_mutex_lock(&s->mu);
        st->position = version, st->rows += (uint64_t)b.rows, st->batches++;
        pthread_mutex_unlock(&s->mu);
        return b.rows ? b.rows : 1; /* an emptied table counts as a delivery */
    }
    select_list(s, st);
    const char *key = st->mode == SINK_APPEND ? "\"offset\"" : "epoch_us(updated_at)";
    cp_buf_appendf(&s->sql,
                   " WHERE %s > %lld AND %s <= (SELECT max(k) FROM (SELECT %s AS k FROM %s "
                   "WHERE %s > %lld ORDER BY 1 LIMIT %lld)) ORDER BY %s",
                   key, (long long)st->position, key, key, st->source, key, (long long)st->position,
                   (long long)s->batch_rows, key);
    batch b = {s, st, 0, st->position, CP_OK};
    int rc = s->ops->begin(s->ctx, st);
    if (rc == CP_OK) rc = cp_store_read_rows(s->store, s->sql.ptr, take_row, &b, err, errlen);
    if (rc == CP_OK && b.rows) rc = s->ops->commit(s->ctx, st, err, errlen);
    if (rc) return rc;
    pthread_mutex_lock(&s->mu);
    st->position = b.last, st->rows += (uint64_t)b.rows, st->batches += b.rows > 0;
    pthread_mutex_unlock(&s->mu);
    if (st->mode == SINK_APPEND) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT CAST(max(\"offset\") AS VARCHAR) FROM %s", st->source);
        cp_store_read_rows(s->store, sql, take_lag, st, err, errlen);
    }
    return b.rows;
}

static void set_state(cp_sink *s, int up, const char *reason)
{
    pthread_mutex_lock(&s->mu);
    if (up && !s->up && s->failures) CP_INFO("sink", "%s: delivering again", s->ops->name);
    if (!up && (s->up || strcmp(s->reason, reason)))
        CP_WARN("sink", "%s: %s (retrying; ingestion goes on)", s->ops->name, reason);
    s->up = up;
    snprintf(s->reason, sizeof(s->reason), "%s", up ? "" : reason);
    if (!up) s->failures++;
    pthread_mutex_unlock(&s->mu);
}

int64_t cp_sink_step(cp_sink *s)
{
    char err[1024] = "";
    int64_t total = 0;
    int rc = CP_OK;
    if (!s->connected) {
        rc = s->ops->connect(s->ctx, err, sizeof(err));
        s->connected = rc == CP_OK;
        for (size_t i = 0; i < s->n_streams; i++) s->streams[i].prepared = false;
    }
    if (rc == CP_OK && s->ops->publish) {
        total = s->ops->publish(s->ctx, s->store, s->draining, err, sizeof(err));
        rc = total < 0 ? (int)total : CP_OK;
    }
    if (rc == CP_OK && !s->ops->publish &&
        (!s->resolved_ms || cp_now_ms() - s->resolved_ms >= s->replace_ms))
        rc = resolve(s, err, sizeof(err));
    bool moved = false;
    for (size_t i = 0; rc == CP_OK && i < s->n_streams; i++) {
        sink_stream *st = &s->streams[i];
        if (!st->prepared) {
            int64_t before = st->position;
            rc = s->ops->prepare(s->ctx, st, err, sizeof(err));
            if (rc) break;
            st->prepared = true;
            moved |= before != st->position;
        }
        int64_t n = deliver(s, st, err, sizeof(err));
        if (n < 0) rc = (int)n;
        total += n > 0 ? n : 0;
        moved |= n > 0;
    }
    if (moved && save_positions(s) && rc == CP_OK) {
        snprintf(err, sizeof(err), "cannot write %.900s", s->positions);
        rc = CP_EIO;
    }
    if (rc) {
        if (s->connected) s->ops->disconnect(s->ctx);
        s->connected = false;
        set_state(s, 0, err[0] ? err : cp_strerror(rc));
        return rc;
    }
    set_state(s, 1, "");
    return total;
}

int64_t cp_sink_drain(cp_sink *s)
{
    int64_t total = 0, n;
    for (size_t i = 0; i < s->n_streams; i++) s->streams[i].checked_ms = 0; /* compare now */
    s->resolved_ms = 0;
    s->draining = true;
    while ((n = cp_sink_step(s)) > 0) total += n;
    s->draining = false;
    return n < 0 ? n : total;
}

static void nap(cp_sink *s, int64_t ms)
{
    for (int64_t w = 0; w < ms && !atomic_load(&s->stop); w += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

static void *run(void *arg)
{
    cp_sink *s = arg;
    int64_t backoff = 0;
    cp_thread_background();
    while (!atomic_load(&s->stop)) {
        int64_t n = cp_sink_step(s);
        if (n < 0) {
            backoff = backoff ? backoff * 2 : s->retry_min_ms;
            if (backoff > s->retry_max_ms) backoff = s->retry_max_ms;
            pthread_mutex_lock(&s->mu);
            s->retries++;
            pthread_mutex_unlock(&s->mu);
            nap(s, backoff);
        } else {
            backoff = 0;
            if (n == 0) nap(s, s->poll_ms);
        }
    }
    /* A last delivery of what the store holds, if the destination is there. */
    int64_t until = cp_now_ms() + s->drain_ms;
    while (cp_now_ms() < until && cp_sink_drain(s) < 0)
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    return NULL;
}

int cp_sink_start(cp_sink *s)
{
    if (s->started) return CP_OK;
    if (pthread_create(&s->thread, NULL, run, s) != 0) return CP_ENOMEM;
    s->started = true;
    return CP_OK;
}

void cp_sink_stop(cp_sink *s)
{
    if (!s || !s->started) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    s->started = false;
}

/* ---- life ---- */

static bool table_pattern(const char *t)
{
    size_t n = strlen(t);
    return plain_name(t) || (n > 2 && !strcmp(t + n - 2, ".*"));
}

/* The configured tables, or the sink's defaults. */
static int tables_of(cp_sink *s, const cp_sink_ops *ops, const cp_config *c, char *err,
                     size_t errlen)
{
    const cp_strlist *want = ops == &cp_sink_postgres     ? &c->sinks_postgres_tables
                             : ops == &cp_sink_clickhouse ? &c->sinks_clickhouse_tables
                                                          : NULL;
    char list[512];
    ops->tables(c, list, sizeof(list));
    char *save = NULL, *t = want && want->n ? NULL : strtok_r(list, ",", &save);
    for (size_t i = 0; want && i < want->n && s->n_tables < MAX_STREAMS; i++)
        s->tables[s->n_tables++] = cp_strdup(want->items[i]);
    for (; t && s->n_tables < MAX_STREAMS; t = strtok_r(NULL, ",", &save))
        s->tables[s->n_tables++] = cp_strdup(t);
    for (size_t i = 0; i < s->n_tables; i++) {
        if (!s->tables[i]) return CP_ENOMEM;
        if (!table_pattern(s->tables[i])) {
            snprintf(err, errlen, "sinks.%s.tables: '%s' is not a table name", ops->name,
                     s->tables[i]);
            return CP_EINVAL;
        }
    }
    return CP_OK;
}

int cp_sink_new(const cp_sink_ops *ops, cp_store *base, const cp_config *c, cp_sink **out,
                char *err, size_t errlen)
{
    cp_sink *s = cp_calloc(1, sizeof(*s));
    if (!s) return CP_ENOMEM;
    s->ops = ops;
    cp_buf_init(&s->sql);
    pthread_mutex_init(&s->mu, NULL);
    s->batch_rows = c->sinks_batch_rows;
    s->poll_ms = c->sinks_poll_ms;
    s->retry_min_ms = c->sinks_retry_min_ms;
    s->retry_max_ms = c->sinks_retry_max_ms;
    s->replace_ms = c->sinks_replace_interval_ms;
    s->drain_ms = c->sinks_drain_timeout_ms;
    s->up = 1;
    int rc = tables_of(s, ops, c, err, errlen);
    snprintf(s->positions, sizeof(s->positions), "%s/sinks", c->data_dir);
    if (rc == CP_OK && cp_mkdirs(s->positions)) {
        snprintf(err, errlen, "cannot create %s", s->positions);
        rc = CP_EIO;
    }
    size_t pl = strlen(s->positions);
    snprintf(s->positions + pl, sizeof(s->positions) - pl, "/%s.positions", ops->name);
    if (rc == CP_OK && cp_store_session(base, &s->store)) {
        snprintf(err, errlen, "cannot open a connection to the store");
        rc = CP_EDB;
    }
    if (rc == CP_OK) rc = ops->open(c, &s->ctx, err, errlen);
    if (rc) {
        cp_sink_free(s);
        return rc;
    }
    *out = s;
    return CP_OK;
}

void cp_sink_free(cp_sink *s)
{
    if (!s) return;
    cp_sink_stop(s);
    if (s->ctx) {
        if (s->connected) s->ops->disconnect(s->ctx);
        s->ops->free(s->ctx);
    }
    for (size_t i = 0; i < s->n_streams; i++) stream_free(&s->streams[i]);
    cp_store_close(s->store);
    for (size_t i = 0; i < s->n_tables; i++) cp_free(s->tables[i]);
    cp_buf_free(&s->sql);
    pthread_mutex_destroy(&s->mu);
    cp_free(s);
}

const char *cp_sink_name(const cp_sink *s)
{
    return s->ops->name;
}

int cp_sink_up(cp_sink *s, char *reason, size_t len)
{
    pthread_mutex_lock(&s->mu);
    int up = s->up;
    snprintf(reason, len, "%s", s->reason);
    pthread_mutex_unlock(&s->mu);
    return up;
}

int cp_sinks_from_config(cp_store *base, const cp_config *c, cp_sink **out, size_t *n, char *err,
                         size_t errlen)
{
    const struct {
        const char *setting;
        const cp_sink_ops *ops;
    } kinds[] = {{c->sinks_postgres_dsn, &cp_sink_postgres},
                 {c->sinks_clickhouse_url, &cp_sink_clickhouse},
                 {c->sinks_influx_url, &cp_sink_influx},
                 {c->sinks_kafka_brokers, &cp_sink_kafka},
                 {c->lake_dir, &cp_sink_lake}};
    *n = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (!kinds[i].setting[0]) continue;
        int rc = cp_sink_new(kinds[i].ops, base, c, &out[*n], err, errlen);
        if (rc) {
            while (*n) cp_sink_free(out[--*n]);
            return rc;
        }
        (*n)++;
    }
    return CP_OK;
}

void cp_sink_metrics(cp_sink *const *sinks, size_t n, cp_buf *out)
{
    static const char *const families[] = {
        "up gauge",           "failures_total counter", "retries_total counter",
        "rows_total counter", "batches_total counter",  "position gauge",
        "lag gauge"};
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]) && n; f++) {
        char fam[32];
        snprintf(fam, sizeof(fam), "%.*s", (int)strcspn(families[f], " "), families[f]);
        cp_buf_appendf(out, "# TYPE clickpulse_sink_%s %s\n", fam, strchr(families[f], ' ') + 1);
        for (size_t i = 0; i < n; i++) {
            cp_sink *s = sinks[i];
            pthread_mutex_lock(&s->mu);
            const char *name = s->ops->name;
            if (f == 0) cp_buf_appendf(out, "clickpulse_sink_up{sink=\"%s\"} %d\n", name, s->up);
            if (f == 1)
                cp_buf_appendf(out, "clickpulse_sink_failures_total{sink=\"%s\"} %llu\n", name,
                               (unsigned long long)s->failures);
            if (f == 2)
                cp_buf_appendf(out, "clickpulse_sink_retries_total{sink=\"%s\"} %llu\n", name,
                               (unsigned long long)s->retries);
            for (size_t k = 0; f > 2 && k < s->n_streams; k++) {
                const sink_stream *st = &s->streams[k];
                if (f >= 5 && st->mode == SINK_REPLACE) continue;
                if (f == 6 && st->mode != SINK_APPEND) continue;
                unsigned long long v = f == 3   ? st->rows
                                       : f == 4 ? st->batches
                                       : f == 5 ? (unsigned long long)st->position
                                                : (unsigned long long)st->lag;
                cp_buf_appendf(out, "clickpulse_sink_%s{sink=\"%s\",table=\"%s\"} %lld\n", fam,
                               name, st->source, f == 5 ? (long long)st->position : (long long)v);
            }
            pthread_mutex_unlock(&s->mu);
        }
    }
}
