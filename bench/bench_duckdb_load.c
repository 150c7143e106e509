/* The comparison for the ingest benchmark: DuckDB alone loading the same JSON
 * Lines file with read_json + INSERT into a table (no validation, dedup, log or
 * sessions), to a database file, checkpointed. Prints one JSON object. */
#include "clickpulse/time.h"

#include <duckdb.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_duckdb_load EVENTS.jsonl DB_PATH\n");
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
    duckdb_disconnect(&con);
    duckdb_close(&db);
    return 0;
}
