/* Names shared by the store's files, not part of the engine's API. */
#ifndef CP_STORE_INTERNAL_H
#define CP_STORE_INTERNAL_H

#include "clickpulse/store.h"

#include <duckdb.h>
#include <stdio.h>

/* 1 when query_out.c writes values of type t (else the result is read materialised). */
int store_stream_supported(duckdb_type t);
/* Prints the streaming result r as a says (format, max_rows; the rows it gave into
 * *a->total_rows, counted until deadline_ms when past max_rows), a chunk at a time.
 * Returns 0, CP_ETIMEOUT when the deadline passed before max_rows were printed, CP_EIO
 * when out failed (a bounded writer full), CP_ENOMEM; err says which. */
int store_stream_out(duckdb_result *r, const cp_query_args *a, int64_t deadline_ms, FILE *out,
                     char *err, size_t errlen);

/* Prints the materialised result r as a says (format, max_rows; all its rows into
 * *a->total_rows), each value as DuckDB's cast to VARCHAR writes it. Returns 0, CP_EIO
 * when out failed, CP_ENOMEM; err says which. */
int store_print_materialized(duckdb_result *r, const cp_query_args *a, FILE *out, char *err,
                             size_t errlen);

/* 1 when sql's first word is one of a reading statement's (SELECT, WITH, FROM, VALUES,
 * TABLE, SHOW, DESCRIBE, SUMMARIZE, or EXPLAIN of one): looked at before DuckDB binds the
 * statement, since binding some (EXPORT DATABASE, COPY) already creates directories. */
int store_reads_only(const char *sql);

#endif
