/* src/sinks/lake.c: silver published into the lake — files by day named by the instance
 * and the log range, only what silver has applied, nothing twice; a step cut short is
 * done again with the same range (its leftovers replaced, rows applied since left for the
 * next step); the instance's published offset; names checked. */
#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/log.h"
#include "clickpulse/sinks.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[128], lake[160];
static cp_store *store;

static void exec(const char *sql)
{
    char err[512];
    int rc = cp_store_exec(store, sql, err, sizeof(err));
    if (rc) fprintf(stderr, "%s: %s\n", sql, err);
    CHECK_INT(rc, CP_OK);
}

static int64_t scalar(const char *fmt, const char *arg)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), fmt, arg, arg);
    int64_t v = -1;
    bool null;
    CHECK_INT(cp_store_scalar(store, sql, &v, &null), CP_OK);
    return null ? -1 : v;
}

/* The lake's files, "table/dt=D/name" joined by spaces, in order. */
static void files(char *out, size_t len)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(replace(file, '%s/', ''), ' ' ORDER BY file) FROM glob('%s/*/*/*')",
             lake, lake);
    FILE *f = fmemopen(out, len, "w");
    char err[256];
    CHECK_INT(cp_store_query(store, sql, CP_QUERY_CSV, 10, f, err, sizeof(err)), CP_OK);
    fclose(f);
}

static char *slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    return buf;
}

static void events(int from, int to)
{
    char sql[256];
    for (int o = from; o < to; o++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO events (\"offset\", message_id, event_time, event_date) VALUES "
                 "(%d, 'm%d', TIMESTAMP '2026-10-0%d 12:00:00', DATE '2026-10-0%d')",
                 o, o, 1 + o % 2, 1 + o % 2);
        exec(sql);
    }
    CHECK_INT(cp_store_set_checkpoint(store, "log", to), CP_OK);
}

static cp_sink *new_lake_in(const char *where, const char *instance, char *err, size_t errlen)
{
    cp_config c;
    char set[256];
    cp_config_init(&c);
    snprintf(set, sizeof(set), "data_dir=%s", dir);
    cp_config_set_arg(&c, set, err, errlen);
    snprintf(set, sizeof(set), "lake.dir=%s", where);
    cp_config_set_arg(&c, set, err, errlen);
    cp_config_set_arg(&c, "lake.interval=0ms", err, errlen);
    snprintf(set, sizeof(set), "lake.instance=%s", instance);
    cp_config_set_arg(&c, set, err, errlen);
    cp_sink *s = NULL;
    err[0] = 0;
    if (cp_sink_new(&cp_sink_lake, store, &c, &s, err, errlen)) s = NULL;
    cp_config_free(&c);
    return s;
}

static cp_sink *new_lake(const char *instance, char *err, size_t errlen)
{
    return new_lake_in(lake, instance, err, errlen);
}

static void test_publish_ranges(void)
{
    char err[512], got[2048], buf[512];
    events(0, 4);
    exec("INSERT INTO orders (\"offset\", order_id, event_date) VALUES (2, 'o2', DATE "
         "'2026-10-01')");
    exec("INSERT INTO order_items (\"offset\", order_id, line) VALUES (2, 'o2', 1), (2, 'o2', 2)");
    exec("INSERT INTO refunds (\"offset\", order_id, event_date) VALUES (3, 'o2', DATE "
         "'2026-10-02')");
    exec("INSERT INTO events (\"offset\", message_id, event_date) VALUES (4, 'not yet applied', "
         "DATE '2026-10-01')");
    cp_sink *s = new_lake("shop_a", err, sizeof(err));
    CHECK(s != NULL);
    if (!s) return;
    CHECK_INT(cp_sink_step(s), 4 + 1 + 2 + 1); /* offsets 0-3 of each table */
    files(got, sizeof(got));
    CHECK(strstr(got, "events/dt=2026-10-01/shop_a-0-3-0.parquet "
                      "events/dt=2026-10-02/shop_a-0-3-0.parquet "
                      "order_items/dt=2026-10-01/shop_a-0-3-0.parquet "
                      "orders/dt=2026-10-01/shop_a-0-3-0.parquet "
                      "refunds/dt=2026-10-02/shop_a-0-3-0.parquet") != NULL);
    snprintf(buf, sizeof(buf), "%s/_published/shop_a", lake);
    CHECK_STR(slurp(buf, got, sizeof(got)), "next 4\n");
    snprintf(buf, sizeof(buf), "%s/lake.position", dir);
    char want[512];
    snprintf(want, sizeof(want), "next 4 pending -1 instance shop_a dir %s\n", lake);
    CHECK_STR(slurp(buf, got, sizeof(got)), want);
    CHECK_INT(cp_sink_step(s), 0); /* nothing new applied */

    /* the rows as they are in silver, the day from the path */
    CHECK_INT(scalar("SELECT count(*) FROM (SELECT * EXCLUDE (dt) FROM "
                     "read_parquet('%s/events/*/*.parquet', hive_partitioning = true) "
                     "EXCEPT SELECT * FROM events WHERE \"offset\" < 4)",
                     lake),
              0);
    CHECK_INT(scalar("SELECT count(*) FROM read_parquet('%s/events/*/*.parquet', "
                     "hive_partitioning = true) WHERE dt = event_date",
                     lake),
              4);

    /* more applied: the next range, from where the last ended */
    CHECK_INT(cp_store_set_checkpoint(store, "log", 5), CP_OK);
    events(5, 7);
    CHECK_INT(cp_sink_step(s), 3);
    CHECK_INT(scalar("SELECT count(*) FROM glob('%s/events/*/shop_a-4-6-0.parquet')", lake), 2);
    snprintf(buf, sizeof(buf), "%s/_published/shop_a", lake);
    CHECK_STR(slurp(buf, got, sizeof(got)), "next 7\n");
    cp_sink_free(s);
}

/* (After test_publish_ranges: offsets 0-6 published as shop_a.) */
static void test_steps_cut_short(void)
{
    char err[512], got[2048], buf[512], want[512];
    cp_sink *s;

    /* A step cut short after fixing its range [7, 9) and writing a file the next attempt
     * does not make: done again with that range, the leftover gone; what silver applied
     * since waits for the step after. */
    events(7, 11);
    snprintf(buf, sizeof(buf), "%s/lake.position", dir);
    snprintf(want, sizeof(want), "next 7 pending 9 instance shop_a dir %s\n", lake);
    CHECK_INT(cp_write_file_atomic(buf, want, strlen(want)), CP_OK);
    snprintf(buf, sizeof(buf), "%s/events/dt=2026-10-01/shop_a-7-8-5.parquet", lake);
    CHECK_INT(cp_write_file_atomic(buf, "half a file", 11), CP_OK);
    s = new_lake("shop_a", err, sizeof(err));
    CHECK_INT(cp_sink_step(s), 2);
    CHECK_INT(access(buf, F_OK), -1);
    snprintf(buf, sizeof(buf), "%s/_published/shop_a", lake);
    CHECK_STR(slurp(buf, got, sizeof(got)), "next 9\n");
    CHECK_INT(cp_sink_step(s), 2); /* [9, 11) */
    CHECK_INT(cp_sink_drain(s), 0);
    CHECK_INT(scalar("SELECT count(*) - count(DISTINCT \"offset\") FROM "
                     "read_parquet('%s/events/*/*.parquet')",
                     lake),
              0);
    CHECK_INT(scalar("SELECT count(*) FROM read_parquet('%s/events/*/*.parquet')", lake), 11);
    CHECK_INT(scalar("SELECT count(*) FROM glob('%s/_staging/*')", lake), 0);

    /* Cut short after marking the range published: the redo only moves the position (the
     * files readers may already hold are not taken away and written again). */
    events(11, 13);
    CHECK_INT(cp_sink_step(s), 2);
    snprintf(buf, sizeof(buf), "%s/lake.position", dir);
    snprintf(want, sizeof(want), "next 11 pending 13 instance shop_a dir %s\n", lake);
    CHECK_INT(cp_write_file_atomic(buf, want, strlen(want)), CP_OK);
    snprintf(buf, sizeof(buf), "%s/events/dt=2026-10-02/shop_a-11-12-0.parquet", lake);
    struct stat before, after;
    CHECK_INT(stat(buf, &before), 0);
    CHECK_INT(cp_sink_step(s), 1);
    CHECK_INT(stat(buf, &after), 0);
    CHECK_INT(after.st_ino, before.st_ino);
    snprintf(buf, sizeof(buf), "%s/lake.position", dir);
    snprintf(want, sizeof(want), "next 13 pending -1 instance shop_a dir %s\n", lake);
    CHECK_STR(slurp(buf, got, sizeof(got)), want);
    cp_sink_free(s);

    /* Another name for this data directory: refused, the lake has its events as shop_a's. */
    s = new_lake("shop_b", err, sizeof(err));
    events(13, 14);
    CHECK(cp_sink_step(s) < 0);
    CHECK(cp_sink_up(s, got, sizeof(got)) == 0 && strstr(got, "changed from shop_a to shop_b"));
    cp_sink_free(s);
    /* A data directory without its position while the lake holds its name: refused. */
    snprintf(buf, sizeof(buf), "%s/lake.position", dir);
    CHECK_INT(unlink(buf), 0);
    s = new_lake("shop_a", err, sizeof(err));
    CHECK(cp_sink_step(s) < 0);
    CHECK(cp_sink_up(s, got, sizeof(got)) == 0 &&
          strstr(got, "already holds instance shop_a up to offset 13"));
    cp_sink_free(s);
    /* Another lake: begun there from the first offset. */
    char other[200];
    snprintf(other, sizeof(other), "%s/other_lake", dir);
    s = new_lake_in(other, "shop_a", err, sizeof(err));
    CHECK_INT(cp_sink_drain(s), 14 + 1 + 2 + 1); /* events, orders, items, refunds */
    cp_sink_free(s);
}

/* At most one step a lake.interval, but a drain publishes at once. */
static void test_interval(void)
{
    char err[512], set[300];
    cp_config c;
    cp_config_init(&c);
    snprintf(set, sizeof(set), "data_dir=%s/paced", dir);
    cp_config_set_arg(&c, set, err, sizeof(err));
    snprintf(set, sizeof(set), "lake.dir=%s/paced_lake", dir);
    cp_config_set_arg(&c, set, err, sizeof(err));
    cp_config_set_arg(&c, "lake.instance=paced", err, sizeof(err));
    cp_config_set_arg(&c, "lake.interval=1h", err, sizeof(err));
    snprintf(set, sizeof(set), "%s/paced", dir);
    CHECK_INT(cp_mkdirs(set), CP_OK);
    cp_sink *s = NULL;
    CHECK_INT(cp_sink_new(&cp_sink_lake, store, &c, &s, err, sizeof(err)), CP_OK);
    cp_config_free(&c);
    if (!s) return;
    CHECK(cp_sink_step(s) > 0); /* the first step: nothing published yet */
    events(14, 15);
    CHECK_INT(cp_sink_step(s), 0); /* within the hour */
    CHECK_INT(cp_sink_drain(s), 1);
    cp_sink_free(s);
}

static void test_instance_names(void)
{
    char err[512];
    CHECK(new_lake("shop-a", err, sizeof(err)) == NULL);
    CHECK_STR(err, "lake.instance: 'shop-a' is not a name of 1-64 letters, digits and "
                   "underscores");
    CHECK_INT(cp_lake_instance_ok("a_1"), 1);
    CHECK_INT(cp_lake_instance_ok(""), 0);
    CHECK_INT(cp_lake_instance_ok("a/b"), 0);
    CHECK(new_lake("", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "lake.instance: name this instance") == err);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_lake_%d", (int)getpid());
    snprintf(lake, sizeof(lake), "%s/lake", dir);
    char cmd[400], err[512], path[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    cp_log_configure(CP_LOG_ERROR, CP_LOG_TEXT, 2);
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", dir);
    if (cp_store_open(path, false, &store, err, sizeof(err))) return 1;
    RUN(test_publish_ranges);
    RUN(test_steps_cut_short);
    RUN(test_interval);
    RUN(test_instance_names);
    cp_store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_END();
}
