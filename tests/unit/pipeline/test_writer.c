/* src/pipeline/writer.c: batches beyond pipeline.queue_events or queue_memory wait in the log alone
 * (spilled, consecutive ones merged) and the writer reads them back; silver ends the
 * same as with everything in memory — events, late flags, dead letters, duplicates,
 * cursors — and a restart before the writer got to them applies them from the log.
 * The writer is held by one caller at a time, and runs at the background priority,
 * waiting in the idle scheduling class while it keeps up. Its
 * transactions stay open for more events (longer while they come at a row group's pace)
 * and close at once for a caller waiting for silver. */
#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/store.h"
#include "clickpulse/log.h"
#include "clickpulse/pipeline.h"
#include "clickpulse/thread.h"
#include "clickpulse/time.h"
#include "pipeline/pipeline_state.h"
#include "feed.h"
#include "test.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char dir[128];
static cp_config cfg;
static char where[32]; /* the delivery position: at points here */
static const char *queue_memory = "512MB";
static uint64_t held_bytes; /* the queue's memory once a held run's batches are in */

static int64_t q(const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK(cp_store_scalar(cp_pipeline_store(pl), sql, &v, &null) == CP_OK);
    return null ? -1 : v;
}

static void open_in(const char *sub, const char *queue_events)
{
    char set[256], err[512];
    snprintf(set, sizeof(set), "data_dir=%s/%s", dir, sub);
    CHECK_INT(cp_config_set_arg(&cfg, set, err, sizeof(err)), CP_OK);
    snprintf(set, sizeof(set), "pipeline.queue_events=%s", queue_events);
    CHECK_INT(cp_config_set_arg(&cfg, set, err, sizeof(err)), CP_OK);
    snprintf(set, sizeof(set), "pipeline.queue_memory=%s", queue_memory);
    CHECK_INT(cp_config_set_arg(&cfg, set, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_pipeline_open(&cfg, &pl, err, sizeof(err)), CP_OK);
}

/* A decoder feeding the pipeline, opened in sub with that queue bound. */
static cp_event_decoder *start(const char *sub, const char *queue_events)
{
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.received_at_ms = 1790856600000LL;
    at = where;
    open_in(sub, queue_events);
    return cp_event_decoder_new(&o, (cp_decode_sink){NULL, on_event, on_reject});
}

/* Batch k of the run: 60 events (from the third batch on every seventh one 20 minutes
 * behind: late), a duplicate of the first batch's first event, an event without an
 * identity (a dead letter), and the cursor "file" at k + 1. Delivery positions are unique per line.
 */
static void submit_batch(cp_event_decoder *d, int k)
{
    char json[256];
    for (int i = 0; i < 60; i++) {
        int n = k * 60 + i, minute = 40 + 2 * k - (k >= 2 && i % 7 == 0 ? 20 : 0);
        snprintf(where, sizeof(where), "%d", n);
        snprintf(json, sizeof(json),
                 "{\"type\":\"track\",\"event\":\"E\",\"messageId\":\"m%d\",\"userId\":\"u%d\","
                 "\"timestamp\":\"2026-10-01T%02d:%02d:00Z\"}",
                 n, n % 9, 10 + minute / 60, minute % 60);
        CHECK_INT(cp_event_decode(d, json, strlen(json)), CP_OK);
    }
    if (k > 0) {
        snprintf(where, sizeof(where), "dup%d", k);
        const char *dup =
            "{\"type\":\"track\",\"event\":\"E\",\"messageId\":\"m0\",\"userId\":\"u0\","
            "\"timestamp\":\"2026-10-01T11:20:00Z\"}";
        CHECK_INT(cp_event_decode(d, dup, strlen(dup)), CP_OK);
    }
    snprintf(where, sizeof(where), "bad%d", k);
    const char *bad = "{\"type\":\"page\"}"; /* no identity */
    CHECK_INT(cp_event_decode(d, bad, strlen(bad)), CP_OK);
    CHECK_INT(cp_pipeline_flush(pl, "file", k + 1), CP_OK);
}

/* Everything silver holds of the run, as one number. */
static int64_t silver_hash(void)
{
    return q("SELECT (hash(string_agg(concat_ws(',', \"offset\", message_id, user_id, event_time, "
             "late, received_at, msg_hash, delivery_hash, source), ';' ORDER BY \"offset\")) >> "
             "1)::BIGINT FROM events") ^
           q("SELECT (hash(string_agg(concat_ws(',', delivery, reason, raw), ';' ORDER BY "
             "delivery)) >> 1)::BIGINT FROM dead_letters") ^
           q("SELECT (hash(string_agg(concat_ws(',', message_id, delivery), ';' ORDER BY "
             "delivery)) >> 1)::BIGINT FROM duplicates");
}

#define BATCHES 6

static int64_t run(const char *sub, const char *queue_events, bool hold, uint64_t *spilled)
{
    cp_event_decoder *d = start(sub, queue_events);
    if (hold) CHECK_INT(writer_hold(pl), CP_OK);
    for (int k = 0; k < BATCHES; k++) submit_batch(d, k);
    *spilled = cp_pipeline_spilled(pl);
    if (hold) {
        CHECK_INT(cp_pipeline_backlog(pl), BATCHES * 60);
        held_bytes = cp_pipeline_stats_get(pl)->queue_bytes;
        writer_release(pl);
    }
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(cp_pipeline_backlog(pl), 0);
    CHECK_INT(q("SELECT count(*) FROM events"), BATCHES * 60);
    CHECK_INT(q("SELECT count(*) FROM events WHERE late"), (BATCHES - 2) * 9);
    CHECK_INT(q("SELECT count(*) FROM dead_letters"), BATCHES);
    CHECK_INT(q("SELECT count(*) FROM duplicates"), BATCHES - 1);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'file'"), BATCHES);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'log'"), BATCHES * 60);
    int64_t h = silver_hash();
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
    return h;
}

static void test_spill_equals_memory(void)
{
    uint64_t none, spilled;
    int64_t in_memory = run("memory", "400000", true, &none);
    CHECK_INT(none, 0);
    uint64_t whole = held_bytes; /* all six batches */
    /* held writer, room for 100 events: the first batch stays in memory, the next five
     * spill (300 events), merged into one */
    int64_t read_back = run("spill", "100", true, &spilled);
    CHECK_INT(spilled, 300);
    CHECK(read_back == in_memory);
    /* the writer running meanwhile: whatever spilled, the same silver */
    CHECK(run("spill_live", "100", false, &spilled) == in_memory);
    /* room for 64 KB: the first batches stay in memory, the rest spill */
    queue_memory = "64KB";
    CHECK(run("spill_bytes", "400000", true, &spilled) == in_memory);
    queue_memory = "512MB";
    CHECK(spilled > 0 && spilled < BATCHES * 60);
    CHECK(held_bytes < whole);
    CHECK(held_bytes <= 65536 + whole / BATCHES * 2); /* the bound, and a batch that passed it */
}

/* The writer never gets to the spilled batches: the next open applies them from the log
 * (the cursor stays where silver last committed it). */
static void test_restart_before_read_back(void)
{
    cp_event_decoder *d = start("restart", "100");
    CHECK_INT(writer_hold(pl), CP_OK);
    for (int k = 0; k < BATCHES; k++) submit_batch(d, k);
    CHECK_INT(cp_pipeline_spilled(pl), 300);
    cp_pipeline_close(pl); /* held: the queued batches are left to the log */
    open_in("restart", "100");
    CHECK_INT(q("SELECT count(*) FROM events"), BATCHES * 60);
    CHECK_INT(q("SELECT count(DISTINCT message_id) FROM events"), BATCHES * 60);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'log'"), BATCHES * 60);
    CHECK_INT(q("SELECT count(*) FROM checkpoints WHERE name = 'file'"), 0);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
}

/* Holders waiting together while silver has a batch to apply: each gets the writer
 * alone (two refreshes on the store's one connection would break each other). */
static atomic_int inside, most_inside, held_ok;

static void *hold_briefly(void *arg)
{
    (void)arg;
    if (writer_hold(pl) != CP_OK) return NULL;
    int n = atomic_fetch_add(&inside, 1) + 1, most = atomic_load(&most_inside);
    while (n > most && !atomic_compare_exchange_weak(&most_inside, &most, n)) {
    }
    usleep(50000);
    atomic_fetch_sub(&inside, 1);
    atomic_fetch_add(&held_ok, 1);
    writer_release(pl);
    return NULL;
}

static void test_one_holder_at_a_time(void)
{
    cp_event_decoder *d = start("holders", "400000");
    CHECK_INT(writer_hold(pl), CP_OK);
    submit_batch(d, 0); /* queued: the next holders wait for silver to apply it */
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, hold_briefly, NULL);
    usleep(200000); /* all three wait for the holder */
    writer_release(pl);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&held_ok), 3);
    CHECK_INT(atomic_load(&most_inside), 1);
    CHECK_INT(q("SELECT count(*) FROM events"), 60);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
}

/* Field `field` (1-based, as in proc(5)) of the stat of this process's thread with that
 * name, or -100 when there is none. */
static int stat_of_thread(const char *name, int field)
{
    int found = -100;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && found == -100 && (e = readdir(d));) {
        char path[300], comm[64] = "", stat[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof(comm), f)) comm[0] = 0;
        fclose(f);
        comm[strcspn(comm, "\n")] = 0;
        if (strcmp(comm, name) != 0) continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        if (!(f = fopen(path, "r"))) continue;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = 0;
        /* "(comm)" is field 2: the field wanted follows the (field - 2)th space after it */
        char *p = strrchr(stat, ')');
        for (int k = 2; p && k < field; k++) p = strchr(p + 1, ' ');
        if (p) found = atoi(p + 1);
    }
    if (d) closedir(d);
    return found;
}

static int nice_of_thread(const char *name)
{
    return stat_of_thread(name, 19);
}

static int writer_policy(void)
{
    return stat_of_thread("silver writer", 41);
}

/* Waits up to 2 s for the writer to be in that scheduling class. */
static int until_policy(int policy)
{
    int n = -100;
    for (int i = 0; i < 200 && (n = writer_policy()) != policy; i++) usleep(10000);
    return n;
}

/* The silver writer gives way to the threads answering clients: it runs nicer by
 * background.nice than the thread that opened the pipeline. */
static void test_background_priority(void)
{
    int base = getpriority(PRIO_PROCESS, 0);
    cp_thread_set_background_nice(7);
    open_in("priority", "400000");
    int n = -100;
    for (int i = 0; i < 100 && (n = nice_of_thread("silver writer")) != base + 7; i++)
        usleep(10000);
    CHECK_INT(n, base + 7);
    CHECK_INT(getpriority(PRIO_PROCESS, 0), base);
    cp_pipeline_close(pl);
    cp_thread_set_background_nice(0);
    open_in("priority-equal", "400000");
    usleep(100000);
    CHECK_INT(nice_of_thread("silver writer"), base);
    cp_pipeline_close(pl);
}

static int first_value(void *ud, const cp_slice *cols, size_t n)
{
    CHECK(n == 1 && cols[0].ptr);
    *(int64_t *)ud = strtoll(cols[0].ptr, NULL, 10);
    return 0;
}

/* Events in silver as another thread sees them: committed rows only. */
static int64_t committed(void)
{
    int64_t v = -1;
    char err[256];
    CHECK_INT(cp_store_read_rows(cp_pipeline_store(pl), "SELECT count(*)::VARCHAR FROM events",
                                 first_value, &v, err, sizeof(err)),
              CP_OK);
    return v;
}

/* Events first .. first + n - 1, one batch; returns the time it was handed over. */
static int64_t submit_events(cp_event_decoder *d, int first, int n)
{
    char json[256];
    for (int i = first; i < first + n; i++) {
        snprintf(where, sizeof(where), "p%d", i);
        snprintf(json, sizeof(json),
                 "{\"type\":\"track\",\"event\":\"E\",\"messageId\":\"p%d\",\"userId\":\"u%d\","
                 "\"timestamp\":\"2026-10-01T10:00:00Z\"}",
                 i, i % 50);
        CHECK_INT(cp_event_decode(d, json, strlen(json)), CP_OK);
    }
    CHECK_INT(cp_pipeline_flush(pl, NULL, 0), CP_OK);
    return cp_mono_ns() / 1000000;
}

/* Waits up to 20 s for want committed events; returns the milliseconds since `since`. */
static int64_t until_committed(int64_t want, int64_t since)
{
    for (int i = 0; i < 4000 && committed() != want; i++) usleep(5000);
    CHECK_INT(committed(), want);
    return cp_mono_ns() / 1000000 - since;
}

/* A transaction stays open WRITER_LINGER_MS for more events; when they come at a pace
 * filling a row group within WRITER_BULK_MS, up to that (its rows counted live
 * meanwhile); someone waiting for silver closes it at once. */
static cp_event_decoder *enqueuer_d;

static void *enqueue_100(void *arg)
{
    submit_events(enqueuer_d, *(int *)arg, 100);
    return NULL;
}

static void *catch_up(void *arg)
{
    *(int *)arg = writer_catch_up(pl, 10000);
    return NULL;
}

/* The writer waits in the idle scheduling class once it has caught up, at its nice value.
 * It is taken out of it (until it has caught up again) by the backlog reaching half the
 * sources' bound — and then runs at the process's own nice value too — by a caller waiting
 * for silver, by a batch waiting background.idle_lag (here 1 s) to be picked up, and by an
 * enqueuer kept waiting for the writer's lock. */
static void test_idle_class(void)
{
    char err[256];
    int base = getpriority(PRIO_PROCESS, 0), rc = -1, first = 0;
    CHECK_INT(cp_thread_idle_usable(), 1); /* the tests run as root */
    cp_thread_set_background_nice(7);
    CHECK_INT(cp_config_set_arg(&cfg, "collector.max_backlog=1000", err, sizeof(err)), CP_OK);
    CHECK_INT(cp_config_set_arg(&cfg, "background.idle_lag=1s", err, sizeof(err)), CP_OK);
    cp_event_decoder *d = start("idle", "400000");
    enqueuer_d = d;
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    CHECK_INT(nice_of_thread("silver writer"), base + 7);
    /* held, 400 events queued: still idle; 200 more reach 500 */
    CHECK_INT(writer_hold(pl), CP_OK);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    submit_events(d, 0, 400);
    usleep(100000);
    CHECK_INT(writer_policy(), SCHED_IDLE);
    submit_events(d, 400, 200);
    CHECK_INT(writer_policy(), SCHED_OTHER);
    CHECK_INT(nice_of_thread("silver writer"), base); /* pressed: the process's own */
    writer_release(pl);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    CHECK_INT(nice_of_thread("silver writer"), base + 7); /* caught up: background again */
    CHECK_INT(committed(), 600);
    /* a caller waiting for silver (held meanwhile, so that it waits) */
    CHECK_INT(writer_hold(pl), CP_OK);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    submit_events(d, 600, 100);
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, catch_up, &rc), 0);
    usleep(100000);
    CHECK_INT(writer_policy(), SCHED_OTHER);
    CHECK_INT(nice_of_thread("silver writer"), base + 7); /* raised, not pressed */
    writer_release(pl);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(rc, CP_OK);
    CHECK_INT(committed(), 700);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    /* a batch not picked up for background.idle_lag (held meanwhile): the next enqueuer */
    CHECK_INT(writer_hold(pl), CP_OK);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    submit_events(d, 700, 100);
    usleep(700 * 1000);
    submit_events(d, 800, 100);
    CHECK_INT(writer_policy(), SCHED_IDLE);
    usleep(400 * 1000);
    submit_events(d, 900, 100);
    CHECK_INT(writer_policy(), SCHED_OTHER);
    CHECK_INT(nice_of_thread("silver writer"), base + 7);
    writer_release(pl);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    CHECK_INT(committed(), 1000);
    /* an enqueuer finding the lock held (here by this thread) past WRITER_IDLE_LOCK_MS */
    pthread_mutex_lock(&pl->w.mu);
    first = 1000;
    CHECK_INT(pthread_create(&t, NULL, enqueue_100, &first), 0);
    usleep(100000);
    CHECK_INT(writer_policy(), SCHED_OTHER);
    pthread_mutex_unlock(&pl->w.mu);
    CHECK_INT(pthread_join(t, NULL), 0);
    CHECK_INT(until_policy(SCHED_IDLE), SCHED_IDLE);
    CHECK_INT(committed(), 1100);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
    cp_thread_set_background_nice(0);
    CHECK_INT(cp_config_set_arg(&cfg, "collector.max_backlog=2000000", err, sizeof(err)), CP_OK);
    /* background.idle off: the writer stays in the normal class */
    cp_thread_set_background_idle(0);
    CHECK_INT(cp_thread_idle_usable(), 0);
    open_in("not-idle", "400000");
    usleep(200000);
    CHECK_INT(writer_policy(), SCHED_OTHER);
    cp_pipeline_close(pl);
    cp_thread_set_background_idle(1);
}

static void test_linger(void)
{
    cp_thread_set_background_idle(0); /* its times, not the idle class's (tested below) */
    cp_event_decoder *d = start("linger", "400000");
    int64_t t = submit_events(d, 0, 1000); /* 1,000 in 100 ms: a row group in 12 s */
    int64_t took = until_committed(1000, t);
    CHECK(took >= WRITER_LINGER_MS - 10 && took < WRITER_BULK_MS - 500);
    t = submit_events(d, 1000, 5000); /* 5,000 in 100 ms: a row group in 2.5 s */
    usleep(1000 * 1000);
    CHECK_INT(committed(), 1000);
    CHECK_INT(cp_live_counted(cp_pipeline_live(pl)), 6000);
    took = until_committed(6000, t);
    CHECK(took >= WRITER_BULK_MS - 10);
    t = submit_events(d, 6000, 5000);
    usleep(300 * 1000);
    CHECK_INT(committed(), 6000);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(committed(), 11000);
    CHECK(cp_mono_ns() / 1000000 - t < WRITER_BULK_MS - 500);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
    /* the sources' bound near (collector.max_backlog 8,000: half of it reached), the same
     * pace is committed at once: the sources would refuse the row group awaited */
    char err[256];
    CHECK_INT(cp_config_set_arg(&cfg, "collector.max_backlog=8000", err, sizeof(err)), CP_OK);
    d = start("linger-bound", "400000");
    t = submit_events(d, 0, 5000);
    took = until_committed(5000, t);
    CHECK(took < WRITER_BULK_MS - 500);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
    CHECK_INT(cp_config_set_arg(&cfg, "collector.max_backlog=2000000", err, sizeof(err)), CP_OK);
    cp_thread_set_background_idle(1);
}

/* A row the store refuses (here: an orders table whose revenue holds at most 999.99) does
 * not stop silver: the transaction is tried again with that event as a dead letter
 * (store_error, its bytes and the store's message); the rest is stored, silver goes on,
 * and a replay ends the same. */
static void test_poison_row(void)
{
    char path[256], err[512];
    snprintf(path, sizeof(path), "%s/poison", dir);
    CHECK_INT(cp_mkdirs(path), CP_OK);
    snprintf(path, sizeof(path), "%s/poison/clickpulse.duckdb", dir);
    cp_store *s;
    CHECK_INT(cp_store_open(path, false, &s, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_store_exec(s,
                            "DROP TABLE orders; CREATE TABLE orders (\"offset\" BIGINT NOT NULL,"
                            " order_id VARCHAR, message_id VARCHAR, user_id VARCHAR, anonymous_id "
                            "VARCHAR, event_time TIMESTAMP, event_date DATE, revenue DECIMAL(5,2),"
                            " total DECIMAL(18,2), currency VARCHAR, country VARCHAR, items "
                            "INTEGER, units BIGINT)",
                            err, sizeof(err)),
              CP_OK);
    cp_store_close(s);
    cp_event_decoder *d = start("poison", "400000");
    static const char *const lines[] = {
        "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u1\",\"messageId\":\"m1\","
        "\"timestamp\":\"2026-10-01T10:00:00Z\",\"properties\":{\"order_id\":\"o1\",\"revenue\":10}"
        "}",
        "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u1\",\"messageId\":\"m2\","
        "\"timestamp\":\"2026-10-01T11:00:00Z\",\"properties\":{\"order_id\":\"o-big\",\"revenue\":"
        "5000}}",
        "{\"type\":\"page\",\"userId\":\"u1\",\"messageId\":\"m3\",\"timestamp\":\"2026-10-01T12:"
        "00:00Z\"}"};
    for (int i = 0; i < 3; i++) {
        snprintf(where, sizeof(where), "p%d", i);
        CHECK_INT(cp_event_decode(d, lines[i], strlen(lines[i])), CP_OK);
    }
    CHECK_INT(cp_pipeline_flush(pl, "file", 3), CP_OK);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events"), 2);
    CHECK_INT(q("SELECT count(*) FROM orders"), 1);
    CHECK_INT(q("SELECT count(*) FROM dead_letters WHERE reason = 'store_error' AND delivery = 'p1'"
                " AND contains(CAST(raw AS VARCHAR), 'o-big') AND contains(detail, 'offset 1')"),
              1);
    CHECK_INT(cp_pipeline_stats_get(pl)->poisoned, 1);
    CHECK_INT(q("SELECT position FROM checkpoints WHERE name = 'log'"), 3);
    /* silver goes on */
    snprintf(where, sizeof(where), "p3");
    const char *more = "{\"type\":\"page\",\"userId\":\"u2\",\"messageId\":\"m4\","
                       "\"timestamp\":\"2026-10-01T13:00:00Z\"}";
    CHECK_INT(cp_event_decode(d, more, strlen(more)), CP_OK);
    CHECK_INT(cp_pipeline_flush(pl, "file", 4), CP_OK);
    CHECK_INT(cp_pipeline_sync(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events"), 3);
    /* a replay isolates it again, once */
    CHECK_INT(cp_pipeline_replay(pl), CP_OK);
    CHECK_INT(q("SELECT count(*) FROM events"), 3);
    CHECK_INT(q("SELECT count(*) FROM orders"), 1);
    CHECK_INT(q("SELECT count(*) FROM dead_letters WHERE reason = 'store_error'"), 1);
    cp_pipeline_close(pl);
    cp_event_decoder_free(d);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_writer_%d", (int)getpid());
    cp_config_init(&cfg);
    char err[256];
    cp_config_set_arg(&cfg, "store.memory_limit=256MB", err, sizeof(err));
    cp_log_configure(CP_LOG_ERROR, CP_LOG_TEXT, 2);
    RUN(test_spill_equals_memory);
    RUN(test_restart_before_read_back);
    RUN(test_one_holder_at_a_time);
    RUN(test_background_priority);
    RUN(test_linger);
    RUN(test_idle_class);
    RUN(test_poison_row);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    TEST_END();
}
