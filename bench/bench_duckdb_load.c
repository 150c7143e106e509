/* The comparisons for the ingest benchmark: DuckDB alone loading the same JSON
 * Lines file with read_json + INSERT into a table (no validation, dedup, log or
 * sessions), to a database file, checkpointed. Given clickpulse's database after the
 * ingest, also the floor of silver's own storage: DuckDB copying the silver events
 * table, already columnar, into a new table of the same schema (INSERT ... SELECT,
 * checkpointed), on one thread and on all. Prints a JSON object per run. */
#include "clickpulse/time.h"

#include <duckdb.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static int run(duckdb_connection con, const char *sql)
{
    duckdb_result r;
    int bad = duckdb_query(con, sql, &r) == DuckDBError;
    if (bad) fprintf(stderr, "%s: %s\n", sql, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return bad;
}

/* silver's events copied into a new table, with 1 thread and then with all */
static int copy_silver(duckdb_connection con, const char *silver_db)
{
    char sql[4200];
    snprintf(sql, sizeof(sql), "ATTACH '%s' AS silver (READ_ONLY)", silver_db);
    if (run(con, sql) || run(con, "CREATE TABLE src AS SELECT * FROM silver.events") ||
        run(con, "DETACH silver") || run(con, "CHECKPOINT"))
        return 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (long threads = 1; threads <= cpus; threads += cpus > 1 ? cpus - 1 : 1) {
        snprintf(sql, sizeof(sql), "SET threads = %ld", threads);
        if (run(con, sql) || run(con, "CREATE OR REPLACE TABLE copy AS FROM src LIMIT 0") ||
            run(con, "CHECKPOINT"))
            return 1;
        int64_t t0 = cp_mono_ns();
        if (run(con, "INSERT INTO copy SELECT * FROM src") || run(con, "CHECKPOINT")) return 1;
        double secs = (double)(cp_mono_ns() - t0) / 1e9;
        duckdb_result r;
        duckdb_query(con, "SELECT count(*) FROM copy", &r);
        long long rows = (long long)duckdb_value_int64(&r, 0, 0);
        duckdb_destroy_result(&r);
        printf("{\"bench\": \"duckdb_silver_events_copy\", \"threads\": %ld, \"rows\": %lld, "
               "\"seconds\": %.2f, \"rows_per_s\": %.0f}\n",
               threads, rows, secs, (double)rows / secs);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_duckdb_load EVENTS.jsonl DB_PATH [CLICKPULSE_DB]\n");
        return 2;
    }
    duckdb_database db;
    duckdb_connection con;
    duckdb_result r;
    char sql[4096], wal[4096];
    unlink(argv[2]);
    snprintf(wal, sizeof(wal), "%s.wal", argv[2]);
    unlink(wal);
    if (duckdb_open(argv[2], &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError)
        return 1;
    int64_t t0 = cp_mono_ns();
    snprintf(sql, sizeof(sql),
             "CREATE TABLE raw AS SELECT * FROM read_json('%s', format='newline_delimited', "
             "ignore_errors=true, maximum_object_size=1048576)",
             argv[1]);
    if (duckdb_query(con, sql, &r) == DuckDBError) {
        fprintf(stderr, "%s\n", duckdb_result_error(&r));
        return 1;
    }
    duckdb_destroy_result(&r);
    duckdb_query(con, "CHECKPOINT", &r);
    duckdb_destroy_result(&r);
    double secs = (double)(cp_mono_ns() - t0) / 1e9;
    duckdb_query(con, "SELECT count(*) FROM raw", &r);
    long long rows = (long long)duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"bench\": \"duckdb_read_json_insert\", \"rows\": %lld, \"seconds\": %.2f, "
           "\"rows_per_s\": %.0f, \"peak_rss_mb\": %.1f}\n",
           rows, secs, (double)rows / secs, (double)ru.ru_maxrss / 1024);
    if (argc > 3 && copy_silver(con, argv[3])) return 1;
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return 0;
}
