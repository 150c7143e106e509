/* src/sinks/sink.c: the runner, over a sink that keeps what it gets in memory — batches
 * by offset that never split an offset's rows, positions carried to a new instance, a
 * failed batch delivered again whole, a position the destination holds, tables delivered
 * whole only when they change, the metrics, the runner's thread at the background priority;
 * and the text helpers the sinks share. */
#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/thread.h"
#include "sinks/internal.h"
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- a sink in memory ---- */

typedef struct mem_sink {
    cp_buf pending, delivered; /* "table: v1|v2|...\n" lines */
    int commits, fail, held;   /* held: a position to report for events (-2: none) */
} mem_sink;

static mem_sink mem;
static atomic_int connect_nice = -100; /* the priority of the thread that last connected */

static void mem_tables(const cp_config *c, char *out, size_t len)
{
    (void)c;
    snprintf(out, len, "order_items,events,customers,gold.*");
}

static int mem_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    (void)c, (void)err, (void)errlen;
    *ctx = &mem;
    return CP_OK;
}

static void mem_map(void *ctx, const char *type, char *dest, size_t destlen, const char **render)
{
    (void)ctx;
    snprintf(dest, destlen, "%s", type);
    *render = "CAST({} AS VARCHAR)";
}

static int mem_connect(void *ctx, char *err, size_t errlen)
{
    mem_sink *m = ctx;
    atomic_store(&connect_nice, getpriority(PRIO_PROCESS, 0)); /* this thread's */
    if (m->fail) snprintf(err, errlen, "memory: refused");
    return m->fail ? CP_EIO : CP_OK;
}

static int mem_prepare(void *ctx, sink_stream *st, char *err, size_t errlen)
{
    mem_sink *m = ctx;
    (void)err, (void)errlen;
    if (!strcmp(st->source, "events") && m->held != -2) st->position = m->held;
    return CP_OK;
}

static int mem_begin(void *ctx, const sink_stream *st)
{
    mem_sink *m = ctx;
    (void)st;
    cp_buf_reset(&m->pending);
    return CP_OK;
}

static int mem_row(void *ctx, const sink_stream *st, const cp_slice *v)
{
    mem_sink *m = ctx;
    cp_buf_appendf(&m->pending, "%s:", st->name);
    for (size_t i = 0; i < st->ncols; i++)
        cp_buf_appendf(&m->pending, "%s%.*s", i ? "|" : " ", v[i].ptr ? (int)v[i].len : 4,
                       v[i].ptr ? v[i].ptr : "NULL");
    return cp_buf_append_char(&m->pending, '\n');
}

static int mem_commit(void *ctx, const sink_stream *st, char *err, size_t errlen)
{
    mem_sink *m = ctx;
    if (m->fail) {
        snprintf(err, errlen, "memory: %s refused", st->name);
        return CP_EIO;
    }
    m->commits++;
    return cp_buf_append(&m->delivered, m->pending.ptr ? m->pending.ptr : "", m->pending.len);
}

static void mem_disconnect(void *ctx)
{
    (void)ctx;
}

static void mem_free(void *ctx)
{
    (void)ctx;
}

static const cp_sink_ops mem_ops = {.name = "mem",
                                    .tables = mem_tables,
                                    .open = mem_open,
                                    .map = mem_map,
                                    .connect = mem_connect,
                                    .prepare = mem_prepare,
                                    .begin = mem_begin,
                                    .row = mem_row,
                                    .commit = mem_commit,
                                    .disconnect = mem_disconnect,
                                    .free = mem_free};

/* ---- fixtures ---- */

static char dir[128];
static cp_config cfg;
static cp_store *store;

static void exec(const char *sql)
{
    char err[512];
    int rc = cp_store_exec(store, sql, err, sizeof(err));
    if (rc) fprintf(stderr, "%s: %s\n", sql, err);
    CHECK_INT(rc, CP_OK);
}

static cp_sink *new_sink(void)
{
    cp_sink *s = NULL;
    char err[512] = "";
    CHECK_INT(cp_sink_new(&mem_ops, store, &cfg, &s, err, sizeof(err)), CP_OK);
    CHECK_STR(err, "");
    return s;
}

static void take(const char *want)
{
    CHECK_STR(mem.delivered.ptr ? mem.delivered.ptr : "", want);
    cp_buf_reset(&mem.delivered);
}

static void test_batches_positions_failures(void)
{
    exec("INSERT INTO order_items (\"offset\", order_id, line, product_id, quantity) VALUES "
         "(1, 'o1', 1, 'p1', 2), (1, 'o1', 2, 'p2', 1), (1, 'o1', 3, 'p3', 1), "
         "(2, 'o2', 1, 'p1', 1), (4, 'o4', 1, 'p9', 5), (4, 'o4', 2, 'p8', 1)");
    cp_sink *s = new_sink();
    /* batch_rows = 2, yet offset 1's three rows travel together; then offsets 2 and 4. */
    CHECK_INT(cp_sink_step(s), 3);
    take("order_items: 1|o1|1|p1|NULL|NULL|NULL|NULL|2\n"
         "order_items: 1|o1|2|p2|NULL|NULL|NULL|NULL|1\n"
         "order_items: 1|o1|3|p3|NULL|NULL|NULL|NULL|1\n");
    CHECK_INT(cp_sink_step(s), 3);
    take("order_items: 2|o2|1|p1|NULL|NULL|NULL|NULL|1\n"
         "order_items: 4|o4|1|p9|NULL|NULL|NULL|NULL|5\n"
         "order_items: 4|o4|2|p8|NULL|NULL|NULL|NULL|1\n");
    CHECK_INT(cp_sink_step(s), 0);
    cp_sink_free(s);

    /* A new instance resumes from the positions file. */
    exec("INSERT INTO order_items (\"offset\", order_id, line) VALUES (7, 'o7', 1)");
    s = new_sink();
    mem.fail = 1; /* the destination is down: nothing moves, the reason is kept */
    CHECK(cp_sink_step(s) < 0);
    char why[256];
    CHECK_INT(cp_sink_up(s, why, sizeof(why)), 0);
    CHECK_STR(why, "memory: refused");
    CHECK(cp_sink_step(s) < 0);
    CHECK_INT(cp_sink_up(s, why, sizeof(why)), 0);
    mem.fail = 0;
    CHECK_INT(cp_sink_step(s), 1);
    take("order_items: 7|o7|1|NULL|NULL|NULL|NULL|NULL|NULL\n");
    CHECK_INT(cp_sink_up(s, why, sizeof(why)), 1);
    CHECK_STR(why, "");

    cp_buf m;
    cp_buf_init(&m);
    cp_sink *one[1] = {s};
    cp_sink_metrics(one, 1, &m);
    CHECK(strstr(m.ptr, "clickpulse_sink_up{sink=\"mem\"} 1\n") != NULL);
    CHECK(strstr(m.ptr, "clickpulse_sink_failures_total{sink=\"mem\"} 2\n") != NULL);
    CHECK(strstr(m.ptr, "clickpulse_sink_rows_total{sink=\"mem\",table=\"order_items\"} 1\n"));
    CHECK(strstr(m.ptr, "clickpulse_sink_position{sink=\"mem\",table=\"order_items\"} 7\n"));
    CHECK(strstr(m.ptr, "clickpulse_sink_lag{sink=\"mem\",table=\"order_items\"} 0\n"));
    CHECK(strstr(m.ptr, "# TYPE clickpulse_sink_rows_total counter\n") != NULL);
    cp_buf_free(&m);
    cp_sink_free(s);
}

static void test_held_position_and_whole_tables(void)
{
    exec("INSERT INTO events (\"offset\", message_id) VALUES (3, 'a'), (5, 'b'), (6, 'c')");
    exec("INSERT INTO customers (user_id, events) VALUES ('u1', 2), ('u2', 1)");
    mem.held = 5; /* the destination says it holds up to offset 5 */
    cp_sink *s = new_sink();
    CHECK_INT(cp_sink_drain(s), 1 + 2); /* event c, both customers */
    const char *got = mem.delivered.ptr;
    CHECK(strstr(got, "events: 6|c|") != NULL);
    CHECK(strstr(got, "events: 5|") == NULL && strstr(got, "events: 3|") == NULL);
    CHECK(strstr(got, "customers: u1|") != NULL && strstr(got, "customers: u2|") != NULL);
    cp_buf_reset(&mem.delivered);
    /* Unchanged: nothing again. Changed: the whole table again. */
    CHECK_INT(cp_sink_drain(s), 0);
    exec("UPDATE customers SET events = 3 WHERE user_id = 'u1'");
    CHECK_INT(cp_sink_drain(s), 2);
    CHECK(strstr(mem.delivered.ptr, "customers: u1|NULL|NULL|NULL|NULL|NULL|NULL|NULL|3|") != NULL);
    cp_buf_reset(&mem.delivered);
    /* A mart appears: gold.* picks it up; emptied, it is delivered empty (once). */
    exec("CREATE SCHEMA IF NOT EXISTS gold; CREATE TABLE gold.daily (day DATE, orders BIGINT); "
         "INSERT INTO gold.daily VALUES ('2026-10-01', 4); "
         "CREATE TABLE gold.stg_x (a INTEGER); INSERT INTO gold.stg_x VALUES (1)");
    CHECK_INT(cp_sink_drain(s), 1);
    take("daily: 2026-10-01|4\n");
    exec("DELETE FROM gold.daily");
    int commits = mem.commits;
    CHECK_INT(cp_sink_drain(s), 1);
    CHECK_INT(mem.commits, commits + 1);
    take("");
    cp_sink_free(s);
    mem.held = -2;
}

/* Started, the runner works on a thread of its own, nicer by background.nice. */
static void test_runner_thread_priority(void)
{
    int base = getpriority(PRIO_PROCESS, 0);
    cp_thread_set_background_nice(4);
    atomic_store(&connect_nice, -100);
    cp_sink *s = new_sink();
    CHECK_INT(cp_sink_start(s), CP_OK);
    for (int i = 0; i < 200 && atomic_load(&connect_nice) == -100; i++) usleep(10000);
    cp_sink_stop(s);
    CHECK_INT(atomic_load(&connect_nice), base + 4);
    CHECK_INT(getpriority(PRIO_PROCESS, 0), base);
    cp_sink_free(s);
}

static void dest_type(const sink_stream *st, size_t i, char *out, size_t len)
{
    snprintf(out, len, "%s", st->cols[i].dest);
}

static void test_text_helpers(void)
{
    cp_buf b;
    cp_buf_init(&b);
    cp_slice v[4] = {
        CP_SLICE_LIT("a\tb\\c"), {NULL, 0}, CP_SLICE_LIT("line\nnext\r"), CP_SLICE_LIT("")};
    sink_tsv_row(&b, v, 4);
    CHECK_STR(b.ptr, "a\\tb\\\\c\t\\N\tline\\nnext\\r\t\n");
    cp_buf_reset(&b);
    sink_quote_ident(&b, "we\"ird", '"');
    sink_quote_ident(&b, "ti`ck", '`');
    CHECK_STR(b.ptr, "\"we\"\"ird\"`ti\\`ck`");
    cp_buf_reset(&b);
    sink_url_param(&b, "http://h:1/write?db=x", "q", "SELECT 1, 'é'");
    CHECK_STR(b.ptr, "http://h:1/write?db=x&q=SELECT%201%2C%20%27%C3%A9%27");
    cp_buf_reset(&b);
    sink_url_param(&b, "http://h:1/", "query", "a&b");
    CHECK_STR(b.ptr, "http://h:1/?query=a%26b");
    cp_buf_reset(&b);
    sink_column cols[2] = {{.name = "offset", .dest = "bigint"}, {.name = "a\"b", .dest = "text"}};
    sink_stream st = {.cols = cols, .ncols = 2};
    sink_column_list(&b, &st, '"', dest_type);
    sink_column_list(&b, &st, '`', NULL);
    CHECK_STR(b.ptr, " (\"offset\" bigint, \"a\"\"b\" text) (`offset`, `a\"b`)");
    cp_buf_free(&b);
}

static void test_configuration_errors(void)
{
    cp_config c;
    cp_config_init(&c);
    char err[512] = "", set[200];
    snprintf(set, sizeof(set), "data_dir=%s", dir);
    cp_config_set_arg(&c, set, err, sizeof(err));
    cp_config_set_arg(&c, "sinks.postgres.tables=events,bad name", err, sizeof(err));
    cp_config_set_arg(&c, "sinks.postgres.dsn=host=127.0.0.1", err, sizeof(err));
    cp_sink *s = NULL;
    CHECK_INT(cp_sink_new(&cp_sink_postgres, store, &c, &s, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "sinks.postgres.tables: 'bad name' is not a table name");
    cp_config_set_arg(&c, "sinks.clickhouse.url=ftp://x", err, sizeof(err));
    CHECK_INT(cp_sink_new(&cp_sink_clickhouse, store, &c, &s, err, sizeof(err)), CP_EINVAL);
    CHECK_STR(err, "sinks.clickhouse.url: 'ftp://x' is not an http:// or https:// URL");
    cp_sink *all[4];
    size_t n = 9;
    cp_config_set_arg(&c, "sinks.postgres.tables=events", err, sizeof(err));
    cp_config_set_arg(&c, "sinks.clickhouse.url=", err, sizeof(err));
    CHECK_INT(cp_sinks_from_config(store, &c, all, &n, err, sizeof(err)), CP_OK);
    CHECK_INT(n, 1);
    CHECK_STR(cp_sink_name(all[0]), "postgres");
    cp_sink_free(all[0]);
    cp_config_free(&c);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_sink_%d", (int)getpid());
    char cmd[400], err[512], set[200], path[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 1;
    cp_log_configure(CP_LOG_ERROR, CP_LOG_TEXT, 2);
    cp_config_init(&cfg);
    snprintf(set, sizeof(set), "data_dir=%s", dir);
    cp_config_set_arg(&cfg, set, err, sizeof(err));
    cp_config_set_arg(&cfg, "sinks.batch_rows=2", err, sizeof(err));
    cp_config_set_arg(&cfg, "sinks.replace_interval=0ms", err, sizeof(err));
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", dir);
    if (cp_store_open(path, false, &store, err, sizeof(err))) return 1;
    cp_buf_init(&mem.pending);
    cp_buf_init(&mem.delivered);
    mem.held = -2;
    RUN(test_batches_positions_failures);
    RUN(test_held_position_and_whole_tables);
    RUN(test_runner_thread_priority);
    RUN(test_text_helpers);
    RUN(test_configuration_errors);
    cp_store_close(store);
    cp_buf_free(&mem.pending);
    cp_buf_free(&mem.delivered);
    cp_config_free(&cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_END();
}
