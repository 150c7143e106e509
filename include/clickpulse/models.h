/* The gold layer's SQL models (DESIGN.md section 6), the subset of dbt they need:
 *
 *   models/ (any depth), NAME.sql: one model a file, named by the file; in the SQL:
 *     {{ ref('name') }}                a model (a dependency)
 *     {{ source('silver', 'events') }} a silver table
 *     {{ config(materialized='view|table|incremental', unique_key='col') }}
 *     {{ this }}                       the model's own relation
 *     {% if is_incremental() %} … {% else %} … {% endif %}
 *     {# a comment #}
 *   models/ (any depth), schema.yml: columns and data tests: unique, not_null, accepted_values
 *                          (values), relationships (to: ref('m'), field), under "tests"
 *                          or "data_tests"
 *   tests/ (next to models/), NAME.sql: custom tests, passing when they return no rows
 *
 * Models are built in the schema "gold" of the store. Anything outside the subset is
 * an error naming the file and line. Directories given later add models or replace
 * those of the same name (a user's models over the built-in ones). */
#ifndef CLICKPULSE_MODELS_H
#define CLICKPULSE_MODELS_H

#include "clickpulse/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cp_models cp_models;

typedef enum cp_materialized { CP_MAT_VIEW, CP_MAT_TABLE, CP_MAT_INCREMENTAL } cp_materialized;

/* A file given by content (the built-in models embedded in the binary). */
typedef struct cp_model_file {
    const char *path; /* "staging/stg_orders.sql", "marts/schema.yml", "tests/x.sql" */
    const char *text;
    size_t len;
} cp_model_file;

cp_models *cp_models_new(void);
void cp_models_free(cp_models *m);
/* Adds the files of a directory tree (a models directory; its sibling tests/ too). */
int cp_models_add_dir(cp_models *m, const char *dir, char *err, size_t errlen);
/* Adds files given in memory. */
int cp_models_add_files(cp_models *m, const cp_model_file *files, size_t n, char *err,
                        size_t errlen);
/* The built-in models (models/ of the source tree, embedded at build time). */
extern const cp_model_file cp_builtin_models[];
extern const size_t cp_builtin_models_count;
/* Adds the built-in models. */
int cp_models_add_builtin(cp_models *m, char *err, size_t errlen);
/* Resolves references and orders the models; a cycle is reported with its path
 * ("a -> b -> a"), a ref to no model with the file and line. */
int cp_models_resolve(cp_models *m, char *err, size_t errlen);

size_t cp_models_count(const cp_models *m);
typedef struct cp_model_info {
    const char *name, *path;
    cp_materialized materialized;
    const char *unique_key; /* "" when none */
    const char *const *deps;
    size_t n_deps;
} cp_model_info;
/* The i-th model in build order (dependencies first). */
void cp_models_get(const cp_models *m, size_t i, cp_model_info *out);

/* What a run or a test did, one line each, handed to a callback. */
typedef struct cp_model_result {
    const char *name;
    const char *what; /* "view", "table", "incremental", "full-refresh", or a test's kind */
    bool ok;
    int64_t rows; /* rows in the model after the build; failing rows of a test */
    double seconds;
    const char *error; /* when !ok: DuckDB's message, or the test's failure */
} cp_model_result;
typedef void (*cp_model_report)(void *ud, const cp_model_result *r);

/* Builds the selected models (NULL: all; "name", "name+" with what depends on it,
 * "+name" with what it depends on) in order. A failed model stops what depends on it;
 * the others go on. Returns 0 when all were built, else CP_EDB. */
int cp_models_run(cp_models *m, cp_store *s, const char *select, bool full_refresh,
                  cp_model_report report, void *ud);
/* The documentation of every model (build order) as built in the store: fn gets each
 * model once with column NULL (type: its file's path), then each of its columns with
 * DuckDB's type; description is schema.yml's, or NULL when there is none. A model not
 * built yet has no columns. *undocumented (may be NULL) counts the columns without
 * one. Returns 0 or CP_EDB with a message. */
typedef void (*cp_model_doc_fn)(void *ud, const char *model, const char *column, const char *type,
                                const char *description);
int cp_models_docs(const cp_models *m, cp_store *s, cp_model_doc_fn fn, void *ud,
                   int64_t *undocumented, char *err, size_t errlen);
/* Runs the data tests of the selected models (and the custom tests). Returns 0 when
 * all pass, CP_EDB when one fails or cannot run. */
int cp_models_test(cp_models *m, cp_store *s, const char *select, cp_model_report report, void *ud);

#endif
