/* Privacy controls: erasing a person (GDPR article 17) from the bronze log, silver,
 * the ML tables and gold; and retention by age for silver. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pipeline_state.h"

/* The person's anonymous ids: from the identity map, or seen on their events. */
#define FORGET_IDS                                                                                 \
    "CREATE OR REPLACE TEMP TABLE __cp_forget AS SELECT DISTINCT id FROM ("                        \
    " SELECT anonymous_id AS id FROM identity_map WHERE user_id = $1"                              \
    " UNION SELECT anonymous_id FROM events WHERE user_id = $1) WHERE coalesce(id, '') <> ''"
/* Their events: with their user id, or with one of their anonymous ids and no user
 * id (an anonymous id someone else later used keeps that person's identified events). */
#define MATCH                                                                                      \
    "(user_id = $1 OR (coalesce(user_id, '') = '' AND anonymous_id IN (SELECT id FROM "            \
    "__cp_forget)))"
#define ANY_ID(col) "(" col " = $1 OR " col " IN (SELECT id FROM __cp_forget))"
/* A raw payload naming one of the ids as a JSON string. */
#define RAW_NAMES(id)                                                                              \
    "contains(CAST(raw AS VARCHAR), CAST(encode('\"' || " id " || '\"') AS VARCHAR))"

/* Silver and ML rows, in an order that lets later steps find what earlier ones need. */
static const struct {
    const char *sql;
    size_t counter; /* offset of the cp_forget_stats field it adds to */
} silver_steps[] = {
    {"DELETE FROM duplicates WHERE message_id IN (SELECT message_id FROM events WHERE " MATCH ")",
     offsetof(cp_forget_stats, other_rows)},
    {"DELETE FROM order_items WHERE \"offset\" IN (SELECT \"offset\" FROM orders WHERE " MATCH ")",
     offsetof(cp_forget_stats, other_rows)},
    {"DELETE FROM orders WHERE " MATCH, offsetof(cp_forget_stats, orders)},
    {"DELETE FROM refunds WHERE " MATCH, offsetof(cp_forget_stats, other_rows)},
    {"DELETE FROM events WHERE " MATCH " OR identity = $1", offsetof(cp_forget_stats, events)},
    {"DELETE FROM sessions WHERE user_id = $1 OR identity = $1 OR (coalesce(user_id, '') = '' AND "
     "identity IN (SELECT id FROM __cp_forget))",
     offsetof(cp_forget_stats, sessions)},
    {"DELETE FROM customers WHERE user_id = $1", offsetof(cp_forget_stats, customers)},
    {"DELETE FROM identity_map WHERE user_id = $1", offsetof(cp_forget_stats, other_rows)},
    {"DELETE FROM customer_segments WHERE user_id = $1", offsetof(cp_forget_stats, other_rows)},
    {"DELETE FROM churn_scores WHERE user_id = $1", offsetof(cp_forget_stats, other_rows)},
    {"DELETE FROM dead_letters WHERE " RAW_NAMES("$1") " OR EXISTS (SELECT 1 FROM __cp_forget f "
                                                       "WHERE " RAW_NAMES("f.id") ")",
     offsetof(cp_forget_stats, other_rows)},
};

/* Gold's tables (not views) with a column naming a person. */
#define GOLD_PERSON_COLUMNS                                                                        \
    "SELECT c.table_name || chr(9) || c.column_name FROM duckdb_columns() c JOIN duckdb_tables() " \
    "t USING (database_name, schema_name, table_name) WHERE c.schema_name = 'gold' AND "           \
    "c.column_name IN ('user_id', 'anonymous_id', 'identity', 'customer_id') ORDER BY 1"

typedef struct forget_ctx {
    cp_pipeline *p;
    const char *user_id;
    char **anon; /* the person's anonymous ids */
    size_t n_anon, cap_anon;
    cp_event_decoder *dec;
    int hit;
    cp_buf sql;
    cp_forget_stats *st;
    char *err;
    size_t errlen;
} forget_ctx;

static int slice_is(cp_slice s, const char *z)
{
    return s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

static int on_event(void *ud, const cp_event *ev)
{
    forget_ctx *c = ud;
    c->hit = slice_is(ev->user_id, c->user_id);
    for (size_t i = 0; i < c->n_anon && !c->hit && !ev->user_id.len; i++)
        c->hit = slice_is(ev->anonymous_id, c->anon[i]);
    return CP_OK;
}

static int on_reject(void *ud, const cp_reject *r)
{
    (void)ud, (void)r; /* a logged event always decodes; nothing to match if not */
    return CP_OK;
}

static int match_entry(void *ud, const cp_bronze_entry *e)
{
    forget_ctx *c = ud;
    c->hit = 0;
    int rc = cp_event_decode(c->dec, e->event.ptr, e->event.len);
    return rc ? rc : c->hit;
}

static int add_anon(void *ud, cp_slice key, const double *v, size_t n)
{
    forget_ctx *c = ud;
    (void)v, (void)n;
    if (!key.ptr) return CP_OK;
    if (cp_grow((void **)&c->anon, &c->cap_anon, c->n_anon + 1, sizeof(char *))) return CP_ENOMEM;
    if (!(c->anon[c->n_anon] = cp_strndup(key.ptr, key.len))) return CP_ENOMEM;
    c->n_anon++;
    return CP_OK;
}

static int forget_gold_table(void *ud, cp_slice key, const double *v, size_t n)
{
    forget_ctx *c = ud;
    (void)v, (void)n;
    const char *tab = key.ptr ? memchr(key.ptr, '\t', key.len) : NULL;
    if (!tab) return CP_OK;
    cp_buf_reset(&c->sql);
    cp_buf_appendf(&c->sql,
                   "DELETE FROM gold.\"%.*s\" WHERE \"%.*s\" = $1 OR \"%.*s\" IN (SELECT id "
                   "FROM __cp_forget)",
                   (int)(tab - key.ptr), key.ptr, (int)(key.ptr + key.len - tab - 1), tab + 1,
                   (int)(key.ptr + key.len - tab - 1), tab + 1);
    int64_t changed = 0;
    int rc = cp_store_exec_param(c->p->store, c->sql.ptr, c->user_id, &changed, c->err, c->errlen);
    c->st->gold_rows += changed;
    return rc;
}

/* Silver, ML and gold rows, in one transaction. */
static int forget_rows(forget_ctx *c)
{
    cp_store *s = c->p->store;
    int rc = cp_store_begin(s);
    for (size_t i = 0; i < sizeof(silver_steps) / sizeof(*silver_steps) && rc == CP_OK; i++) {
        int64_t changed = 0;
        rc = cp_store_exec_param(s, silver_steps[i].sql, c->user_id, &changed, c->err, c->errlen);
        *(int64_t *)((char *)c->st + silver_steps[i].counter) += changed;
    }
    if (rc == CP_OK)
        rc = cp_store_read_numeric(s, GOLD_PERSON_COLUMNS, NULL, forget_gold_table, c, c->err,
                                   c->errlen);
    if (rc == CP_OK) return cp_store_commit(s);
    cp_store_rollback(s);
    return rc;
}

static int forget_locked(forget_ctx *c)
{
    cp_store *s = c->p->store;
    int rc = cp_store_exec_param(s, FORGET_IDS, c->user_id, NULL, c->err, c->errlen);
    if (rc == CP_OK)
        rc = cp_store_read_numeric(s, "SELECT id FROM __cp_forget ORDER BY id", NULL, add_anon, c,
                                   c->err, c->errlen);
    if (rc == CP_OK && (rc = cp_bronze_erase(c->p->log, match_entry, c, &c->st->log_events)))
        snprintf(c->err, c->errlen, "erasing from the bronze log: %s", cp_strerror(rc));
    if (rc == CP_OK) rc = forget_rows(c);
    cp_store_exec(s, "DROP TABLE IF EXISTS __cp_forget", NULL, 0);
    if (rc == CP_OK) rc = cp_store_exec(s, "CHECKPOINT", c->err, c->errlen);
    return rc;
}

int cp_pipeline_forget(cp_pipeline *p, const char *user_id, cp_forget_stats *st, char *err,
                       size_t errlen)
{
    memset(st, 0, sizeof(*st));
    if (!user_id || !user_id[0]) {
        snprintf(err, errlen, "an empty user id names nobody");
        return CP_EINVAL;
    }
    forget_ctx c = {.p = p, .user_id = user_id, .st = st, .err = err, .errlen = errlen};
    cp_buf_init(&c.sql);
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_event_bytes = o.max_line_bytes = 64u << 20;
    if (!(c.dec = cp_event_decoder_new(&o, (cp_decode_sink){&c, on_event, on_reject}))) {
        snprintf(err, errlen, "out of memory");
        return CP_ENOMEM;
    }
    /* silver caught up first, appends going on (it may be far behind: spilled batches),
     * then held with what came meanwhile */
    int rc = writer_sync(p);
    pthread_mutex_lock(&p->append_mu); /* no appends while segments are rewritten */
    if (rc == CP_OK) rc = writer_hold(p);
    if (rc == CP_OK) {
        rc = forget_locked(&c);
        writer_release(p);
    } else {
        snprintf(err, errlen, "%s", p->err);
    }
    pthread_mutex_unlock(&p->append_mu);
    if (rc == CP_OK)
        CP_INFO("pipeline",
                "forgot a person: %llu logged events, %lld events, %lld orders, "
                "%lld sessions, %lld other silver rows, %lld gold rows",
                (unsigned long long)st->log_events, (long long)st->events, (long long)st->orders,
                (long long)st->sessions, (long long)st->other_rows, (long long)st->gold_rows);
    for (size_t i = 0; i < c.n_anon; i++) cp_free(c.anon[i]);
    cp_free(c.anon);
    cp_buf_free(&c.sql);
    cp_event_decoder_free(c.dec);
    return rc;
}

/* Silver rows older than the cutoff, by the time each table is about. */
static const char *const retention_steps[] = {
    ("DELETE FROM order_items WHERE \"offset\" IN (SELECT \"offset\" FROM orders WHERE "
     "event_time < CAST($1 AS TIMESTAMP))"), /* one statement */
    "DELETE FROM orders WHERE event_time < CAST($1 AS TIMESTAMP)",
    "DELETE FROM refunds WHERE event_time < CAST($1 AS TIMESTAMP)",
    "DELETE FROM events WHERE event_time < CAST($1 AS TIMESTAMP)",
    "DELETE FROM sessions WHERE end_time < CAST($1 AS TIMESTAMP)",
    "DELETE FROM customers WHERE last_seen < CAST($1 AS TIMESTAMP)",
    "DELETE FROM dead_letters WHERE received_at < CAST($1 AS TIMESTAMP)",
    "DELETE FROM duplicates WHERE received_at < CAST($1 AS TIMESTAMP)",
    "DELETE FROM rt_minute WHERE minute < CAST($1 AS TIMESTAMP)",
    "DELETE FROM rt_minute_top WHERE minute < CAST($1 AS TIMESTAMP)",
    /* customers and sessions that lost events: the next refresh recomputes them all */
    "DELETE FROM checkpoints WHERE name = '" CP_DERIVED_CHECKPOINT "' AND $1 IS NOT NULL",
};

int cp_pipeline_retain_silver(cp_pipeline *p, int64_t now_ms, int64_t *rows)
{
    *rows = 0;
    if (p->silver_retention_ms <= 0) return CP_OK;
    char cutoff[32];
    cutoff[cp_time_format(now_ms - p->silver_retention_ms, cutoff)] = '\0';
    int rc = writer_hold(p);
    if (rc) return rc;
    char err[256];
    rc = cp_store_begin(p->store);
    for (size_t i = 0; i < sizeof(retention_steps) / sizeof(*retention_steps) && rc == CP_OK; i++) {
        int64_t changed = 0;
        rc = cp_store_exec_param(p->store, retention_steps[i], cutoff, &changed, err, sizeof(err));
        *rows += changed;
    }
    if (rc == CP_OK)
        rc = cp_store_commit(p->store);
    else
        cp_store_rollback(p->store);
    writer_release(p);
    if (rc)
        snprintf(p->err, sizeof(p->err), "silver retention: %s", err);
    else if (*rows)
        CP_INFO("pipeline", "retention removed %lld silver rows older than %s", (long long)*rows,
                cutoff);
    return rc;
}
