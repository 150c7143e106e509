/* src/pipeline/pipeline.c, writer.c, recovery.c: batches through the log into
 * silver; duplicates, redeliveries and rejects; the watermark; catch-up after a
 * crash between the log and silver; replay. */
#include "clickpulse/bronze.h"
#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/log.h"
#include "clickpulse/pipeline.h"
#include "feed.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[128];

static void submit(cp_event_decoder *d, const char *json, const char *where)
{
    at = where;
    CHECK_INT(cp_event_decode(d, json, strlen(json)), CP_OK);
}

static int64_t q(const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK(cp_store_scalar(cp_pipeline_store(pl), sql, &v, &null) == CP_OK);
    return null ? -1 : v;
}

static cp_config cfg;

static void open_pipeline(void)
{
    char err[512];
    CHECK_INT(cp_pipeline_open(&cfg, &pl, err, sizeof(err)), CP_OK);
}

#define EV(id, t)                                                                                  \
    "{\"type\":\"page\",\"messageId\":\"" id "\",\"userId\":\"u\",\"timestamp\":\"" t "\"}"

/* Silver fails under the writer (pl holds events m1-m5 at offsets 0-4): health says why,
 * later batches are refused; the writer keeps trying and, the fault gone, commits what
 * waited and takes batches again. */
static void silver_fails_and_recovers(cp_event_decoder *d)
{
    char why[600] = "";
    CHECK_INT(cp_pipeline_healthy(pl, why, sizeof(why)), 1);
    CHECK_STR(why, "");
    char err[256];
    CHECK_INT(cp_store_exec(cp_pipeline_store(pl), "ALTER TABLE checkpoints RENAME TO gone", err,
                            sizeof(err)),
              CP_OK);
    submit(d, EV("m6", "2026-10-01T12:12:00Z"), "9");
    CHECK_INT(cp_pipeline_flush(pl, NULL, 0), CP_OK); /* in the log; silver is behind */
    CHECK_INT(cp_pipeline_catch_up(pl, 10000), CP_EDB);
    CHECK_INT(cp_pipeline_sync(pl), CP_EDB);
    CHECK_INT(cp_pipeline_healthy(pl, why, sizeof(why)), 0);
    CHECK(strncmp(why, "writing silver: ", 16) == 0);
    CHECK(strstr(why, "checkpoints") != NULL);
    submit(d, EV("m7", "2026-10-01T12:13:00Z"), "10");
    CHECK_INT(cp_pipeline_flush(pl, NULL, 0), CP_EDB);
    cp_store *other;
    CHECK_INT(cp_store_session(cp_pipeline_store(pl), &other), CP_OK);
    CHECK_INT(cp_store_exec(other, "ALTER TABLE gone RENAME TO checkpoints", err, sizeof(err)),
              CP_OK);
    cp_store_close(other);
    int waited = 0;
    while (!cp_pipeline_healthy(pl, why, sizeof(why)) && waited < 20000)
        usleep(10000), waited += 10;
    CHECK(waited < 20000);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events WHERE message_id = 'm6'"), 1);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'log'"), 6);
    submit(d, EV("m8", "2026-10-01T12:14:00Z"), "11");
    CHECK_INT(cp_pipeline_flush(pl, NULL, 0), CP_OK);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events"), 7);
    CHECK_INT(q("SELECT count(*) FROM events WHERE message_id = 'm7'"), 0); /* refused: not kept */
}

static void test_batches_recovery_replay(void)
{
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.received_at_ms = 1790856600000LL;
    cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){NULL, on_event, on_reject});
    open_pipeline();
    submit(d, EV("m1", "2026-10-01T12:00:00Z"), "1");
    submit(d, EV("m2", "2026-10-01T12:09:00Z"), "2");
    submit(d, EV("m1", "2026-10-01T12:00:00Z"), "3"); /* a duplicate */
    submit(d, EV("m3", "2026-10-01T12:03:00Z"), "4"); /* late: 6 min behind 12:09 */
    submit(d, "{\"type\":\"page\"}", "5");            /* rejected */
    CHECK_INT(cp_pipeline_flush(pl, "file:x", 100), CP_OK);
    submit(d, EV("m1", "2026-10-01T12:00:00Z"), "1"); /* the same delivery again */
    submit(d, "{\"type\":\"page\"}", "5");            /* a rejected delivery again */
    CHECK_INT(cp_pipeline_flush(pl, "file:x", 200), CP_OK);
    CHECK_INT(cp_pipeline_catch_up(pl, 10000), CP_OK); /* read-your-writes, no full sync */
    CHECK_INT(q("SELECT count(*) FROM dead_letters"), 1);
    CHECK_INT(cp_pipeline_catch_up(pl, 0), CP_OK); /* nothing outstanding: at once */
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    const cp_pipeline_stats *s = cp_pipeline_stats_get(pl);
    CHECK_INT(s->accepted, 3);
    CHECK_INT(s->duplicates, 1);
    CHECK_INT(s->redelivered, 2); /* m1 and the rejected line, each delivered again */
    CHECK_INT(s->late, 1);
    CHECK_INT(s->rejected[CP_REJECT_MISSING_IDENTITY], 1);
    CHECK_INT(q("SELECT count(*) FROM events"), 3);
    CHECK_INT(q("SELECT \"offset\" FROM events WHERE message_id = 'm3' AND late"), 2);
    CHECK_INT(q("SELECT count(*) FROM duplicates WHERE message_id = 'm1' AND delivery = '3'"), 1);
    CHECK_INT(
        q("SELECT count(*) FROM dead_letters WHERE reason = 'missing_identity' AND delivery = '5'"),
        1);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'log'"), 3);
    int64_t cur;
    bool found;
    CHECK(cp_pipeline_cursor(pl, "file:x", &cur, &found) == CP_OK && found);
    CHECK_INT(cur, 200);
    cp_pipeline_close(pl);

    /* A crash after the log append, before silver: two events only in the log. */
    char logdir[256];
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    cp_bronze_options bo;
    cp_bronze_options_default(&bo);
    bo.dir = logdir;
    cp_bronze *b;
    CHECK_INT(cp_bronze_open(&bo, &b, NULL), CP_OK);
    cp_bronze_record recs[2] = {{1790856700000LL, CP_SLICE_LIT("t"), CP_SLICE_LIT("6"),
                                 CP_SLICE_LIT(EV("m4", "2026-10-01T12:10:00Z"))},
                                {1790856700000LL, CP_SLICE_LIT("t"), CP_SLICE_LIT("7"),
                                 CP_SLICE_LIT(EV("m5", "2026-10-01T12:11:00Z"))}};
    uint64_t first;
    CHECK_INT(cp_bronze_append(b, recs, 2, &first), CP_OK);
    CHECK_INT(first, 3);
    cp_bronze_close(b);
    cp_log_configure(CP_LOG_WARN, CP_LOG_TEXT, 2);
    open_pipeline();
    CHECK_INT(q("SELECT count(*) FROM events"), 5);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'log'"), 5);
    /* Their messageIds are known again: a new delivery of m5 is a duplicate; the rejected
     * delivery is known from its dead letter: no second one. */
    submit(d, EV("m5", "2026-10-01T12:11:00Z"), "8");
    submit(d, "{\"type\":\"page\"}", "5");
    CHECK_INT(cp_pipeline_flush(pl, NULL, 0), CP_OK);
    CHECK_INT(cp_pipeline_stats_get(pl)->duplicates, 1);
    CHECK_INT(cp_pipeline_stats_get(pl)->redelivered, 1);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM dead_letters"), 1);
    CHECK_INT(cp_pipeline_replay(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events"), 5);
    CHECK_INT(q("SELECT count(*) FROM events WHERE late"), 1);
    CHECK_INT(q("SELECT count(*) FROM dead_letters"), 1);
    CHECK_INT(q("SELECT count(*) FROM duplicates"), 2);
    CHECK_INT(q("SELECT count(*) FROM sessions"), 1);
    CHECK_INT(q("SELECT count(*) FROM customers"), 1);

    silver_fails_and_recovers(d);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
}

/* Batches keep arriving while sessions are refreshed on another thread: the writer
 * waits while the refresh has the store's connection, nothing fails, nothing is lost. */
enum { STREAM_BATCHES = 60, STREAM_PER_BATCH = 50 };

static void *stream(void *arg)
{
    cp_event_decoder *d = arg;
    char json[200], where[32];
    for (int b = 0; b < STREAM_BATCHES; b++) {
        for (int i = 0; i < STREAM_PER_BATCH; i++) {
            int n = b * STREAM_PER_BATCH + i;
            snprintf(json, sizeof(json),
                     "{\"type\":\"page\",\"messageId\":\"s%d\",\"userId\":\"u%d\","
                     "\"timestamp\":\"2026-10-02T%02d:%02d:00Z\"}",
                     n, n % 7, 10 + n / 600, n / 10 % 60);
            snprintf(where, sizeof(where), "%d", n);
            at = where;
            if (cp_event_decode(d, json, strlen(json)) != CP_OK) return "decode";
        }
        if (cp_pipeline_flush(pl, NULL, 0) != CP_OK) return "flush";
    }
    return NULL;
}

static void test_refresh_under_stream(void)
{
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.received_at_ms = 1790942400000LL;
    cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){NULL, on_event, on_reject});
    char set[200], err[256];
    snprintf(set, sizeof(set), "data_dir=%s/stream", dir);
    cp_config_set_arg(&cfg, set, err, sizeof(err));
    open_pipeline();
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, stream, d), 0);
    int refreshes = 0, failures = 0;
    for (; refreshes < 40; refreshes++) {
        failures += cp_pipeline_refresh_sessions(pl) != CP_OK;
        int64_t cursor;
        bool found;
        failures += cp_pipeline_cursor(pl, "none", &cursor, &found) != CP_OK;
    }
    void *why;
    pthread_join(t, &why);
    CHECK(why == NULL);
    CHECK_INT(failures, 0);
    CHECK_INT(cp_pipeline_refresh_sessions(pl), CP_OK);
    char reason[600] = "";
    CHECK_INT(cp_pipeline_healthy(pl, reason, sizeof(reason)), 1);
    CHECK_INT(q("SELECT count(*) FROM events"), STREAM_BATCHES * STREAM_PER_BATCH);
    CHECK_INT(q("SELECT count(DISTINCT user_id) FROM sessions"), 7);
    CHECK_INT(q("SELECT sum(events) FROM sessions"), STREAM_BATCHES * STREAM_PER_BATCH);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
}

/* A database from before silver's columns of names were ENUMs: opening it makes them
 * ENUMs of every name the engine gives, keeping the values it held. */
static void test_columns_of_names(void)
{
    char path[300], err[512], set[200];
    snprintf(path, sizeof(path), "%s/names", dir);
    CHECK_INT(cp_mkdirs(path), CP_OK);
    snprintf(path, sizeof(path), "%s/names/clickpulse.duckdb", dir);
    cp_store *s;
    CHECK_INT(cp_store_open(path, false, &s, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_store_exec(s,
                            "INSERT INTO events (\"offset\", type, kind, device_type, browser, os) "
                            "VALUES (0, 'page', 'page', 'mobile', 'Firefox', 'Android'), (1, "
                            "'track', 'a_kind_of_old', 'desktop', 'Netscape', 'BeOS')",
                            err, sizeof(err)),
              CP_OK);
    cp_store_close(s);
    snprintf(set, sizeof(set), "data_dir=%s/names", dir);
    CHECK_INT(cp_config_set_arg(&cfg, set, err, sizeof(err)), CP_OK);
    open_pipeline();
    CHECK_INT(q("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'events' AND data_type "
                "LIKE 'ENUM(%'"),
              5);
    CHECK_INT(q("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'events' AND "
                "column_name = 'kind' AND data_type LIKE 'ENUM(''page'', ''screen'', %"
                "''signed_up'', ''custom'', ''a_kind_of_old'')'"),
              1);
    CHECK_INT(q("SELECT count(*) FROM events WHERE kind = 'a_kind_of_old' AND browser = "
                "'Netscape' AND os = 'BeOS' AND device_type = 'desktop' AND type = 'track'"),
              1);
    CHECK_INT(q("SELECT count(*) FROM events WHERE kind = 'page' AND browser = 'Firefox'"), 1);
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.received_at_ms = 1790856600000LL;
    cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){NULL, on_event, on_reject});
    submit(d, EV("n1", "2026-10-01T10:00:00Z"), "p0");
    CHECK_INT(cp_pipeline_flush(pl, "t", 1), CP_OK);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events WHERE message_id = 'n1' AND kind = 'page' AND "
                "type = 'page' AND device_type = 'unknown' AND browser = 'other' AND os = "
                "'other'"),
              1);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
    snprintf(set, sizeof(set), "data_dir=%s", dir);
    CHECK_INT(cp_config_set_arg(&cfg, set, err, sizeof(err)), CP_OK);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_pipeline_%d", (int)getpid());
    cp_config_init(&cfg);
    char err[256], set[200];
    snprintf(set, sizeof(set), "data_dir=%s", dir);
    cp_config_set_arg(&cfg, set, err, sizeof(err));
    cp_config_set_arg(&cfg, "store.memory_limit=256MB", err, sizeof(err));
    RUN(test_batches_recovery_replay);
    RUN(test_refresh_under_stream);
    RUN(test_columns_of_names);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    cp_config_free(&cfg);
    TEST_END();
}
