/* src/models/models.c and template.c: the template subset, the dependency graph
 * (order, cycles with their path, missing refs with file and line), views, tables
 * and incremental models against silver, the data tests of schema.yml and custom
 * SQL tests — passing, and catching planted violations with the failing rows. */
#include "clickpulse/error.h"
#include "clickpulse/models.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

#define F(path, text)                                                                              \
    {                                                                                              \
        path, text, sizeof(text) - 1                                                               \
    }

static const cp_model_file shop[] = {
    F("staging/stg_orders.sql",
      "{# orders as silver has them #}\n"
      "SELECT order_id, user_id, CAST(revenue AS DOUBLE) AS revenue, event_date\n"
      "FROM {{ source('silver', 'orders') }}"),
    F("marts/daily.sql", "{{ config(materialized='table') }}\n"
                         "SELECT event_date, count(*) AS orders, sum(revenue) AS revenue\n"
                         "FROM {{ ref(\"stg_orders\") }} GROUP BY 1"),
    F("marts/inc_orders.sql", "{{ config(materialized='incremental', unique_key='order_id') }}\n"
                              "SELECT * FROM {{ ref('stg_orders') }}\n"
                              "{% if is_incremental() %}WHERE event_date >= (SELECT "
                              "max(event_date) FROM {{ this }}){% endif %}"),
    F("marts/schema.yml", "version: 2\n"
                          "models:\n"
                          "  - name: inc_orders\n"
                          "    description: every order\n"
                          "    columns:\n"
                          "      - name: order_id\n"
                          "        tests: [unique, not_null]\n"
                          "      - name: user_id\n"
                          "        data_tests:\n"
                          "          - accepted_values:\n"
                          "              values: ['u1', 'u2', \"o'hara\"]\n"
                          "      - name: order_id\n"
                          "        tests:\n"
                          "          - relationships:\n"
                          "              to: ref('stg_orders')\n"
                          "              field: order_id\n"),
    F("tests/no_negative_revenue.sql", "SELECT * FROM {{ ref('daily') }} WHERE revenue < 0"),
};

static cp_store *st;
static char err[2048];
static char log_[4096];

static void report(void *ud, const cp_model_result *r)
{
    (void)ud;
    size_t n = strlen(log_);
    snprintf(log_ + n, sizeof(log_) - n, "%s%s:%s:%s:%lld", n ? "|" : "", r->name, r->what,
             r->ok ? "ok" : "FAIL", (long long)r->rows);
}

static int64_t q(const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK_INT(cp_store_scalar(st, sql, &v, &null), CP_OK);
    return null ? -1 : v;
}

static void exec(const char *sql)
{
    CHECK_INT(cp_store_exec(st, sql, err, sizeof(err)), CP_OK);
}

static void test_build_and_tests(void)
{
    CHECK_INT(cp_store_open(":memory:", false, &st, err, sizeof(err)), CP_OK);
    exec("INSERT INTO orders (\"offset\", order_id, user_id, revenue, event_date) VALUES "
         "(1, 'o1', 'u1', 10, DATE '2026-10-01'), (2, 'o2', 'u2', 5.5, DATE '2026-10-01'), "
         "(3, 'o3', 'u1', 7, DATE '2026-10-02')");
    cp_models *m = cp_models_new();
    CHECK_INT(cp_models_add_files(m, shop, sizeof(shop) / sizeof(shop[0]), err, sizeof(err)),
              CP_OK);
    CHECK_INT(cp_models_resolve(m, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_models_count(m), 3);
    cp_model_info a, b, c;
    cp_models_get(m, 0, &a);
    cp_models_get(m, 1, &b);
    cp_models_get(m, 2, &c);
    CHECK_STR(a.name, "stg_orders"); /* dependencies first */
    CHECK(a.materialized == CP_MAT_VIEW && b.materialized == CP_MAT_TABLE);
    CHECK(c.materialized == CP_MAT_INCREMENTAL);
    CHECK_STR(c.unique_key, "order_id");
    CHECK_INT(c.n_deps, 1);
    CHECK_STR(c.deps[0], "stg_orders");

    log_[0] = 0;
    CHECK_INT(cp_models_run(m, st, NULL, false, report, NULL), CP_OK);
    CHECK_STR(log_, "stg_orders:view:ok:3|daily:table:ok:2|inc_orders:full-refresh:ok:3");
    CHECK_INT(q("SELECT orders FROM gold.daily WHERE event_date = DATE '2026-10-01'"), 2);
    CHECK_INT(q("SELECT CAST(revenue * 10 AS BIGINT) FROM gold.daily WHERE event_date = DATE "
                "'2026-10-01'"),
              155);

    /* new silver rows: the incremental model takes the new day and replaces by key */
    exec("INSERT INTO orders (\"offset\", order_id, user_id, revenue, event_date) VALUES "
         "(4, 'o4', 'u2', 1, DATE '2026-10-02'), (5, 'o5', 'u2', 2, DATE '2026-10-03')");
    exec("UPDATE orders SET revenue = 8 WHERE order_id = 'o3'");
    log_[0] = 0;
    CHECK_INT(cp_models_run(m, st, "inc_orders", false, report, NULL), CP_OK);
    CHECK_STR(log_, "inc_orders:incremental:ok:5");
    CHECK_INT(q("SELECT CAST(revenue AS BIGINT) FROM gold.inc_orders WHERE order_id = 'o3'"), 8);
    CHECK_INT(q("SELECT count(*) FROM gold.inc_orders WHERE order_id = 'o3'"), 1);
    /* a selection with what depends on it; the full refresh rebuilds */
    log_[0] = 0;
    CHECK_INT(cp_models_run(m, st, "stg_orders+", true, report, NULL), CP_OK);
    CHECK_STR(log_, "stg_orders:view:ok:5|daily:table:ok:3|inc_orders:full-refresh:ok:5");
    log_[0] = 0;
    CHECK_INT(cp_models_run(m, st, "+daily", false, report, NULL), CP_OK);
    CHECK_STR(log_, "stg_orders:view:ok:5|daily:table:ok:3");
    CHECK_INT(cp_models_run(m, st, "nothing", false, NULL, NULL), CP_ENOENT);

    log_[0] = 0;
    CHECK_INT(cp_models_test(m, st, NULL, report, NULL), CP_OK);
    CHECK_STR(log_,
              "unique_inc_orders_order_id:unique:ok:0|not_null_inc_orders_order_id:not_null:ok:0|"
              "accepted_values_inc_orders_user_id:accepted_values:ok:0|"
              "relationships_inc_orders_order_id:relationships:ok:0|"
              "no_negative_revenue:custom:ok:0");
    /* planted violations: each test reports its failing rows */
    exec("INSERT INTO gold.inc_orders VALUES ('o1', 'u9', 1, DATE '2026-10-01'), (NULL, 'u1', 1, "
         "NULL), ('zz', 'u1', 1, NULL)");
    exec("INSERT INTO orders (\"offset\", order_id, user_id, revenue, event_date) VALUES (6, 'o6', "
         "'u1', -100, DATE '2026-10-04')");
    CHECK_INT(cp_models_run(m, st, "daily", false, NULL, NULL), CP_OK);
    log_[0] = 0;
    CHECK_INT(cp_models_test(m, st, NULL, report, NULL), CP_EDB);
    CHECK_STR(
        log_,
        "unique_inc_orders_order_id:unique:FAIL:1|not_null_inc_orders_order_id:not_null:FAIL:1|"
        "accepted_values_inc_orders_user_id:accepted_values:FAIL:1|"
        "relationships_inc_orders_order_id:relationships:FAIL:1|"
        "no_negative_revenue:custom:FAIL:1");
    cp_models_free(m);
    cp_store_close(st);
}

static void expect_error(const cp_model_file *files, size_t n, int want, const char *message)
{
    cp_models *m = cp_models_new();
    err[0] = 0;
    int rc = cp_models_add_files(m, files, n, err, sizeof(err));
    if (rc == CP_OK) rc = cp_models_resolve(m, err, sizeof(err));
    CHECK_INT(rc, want);
    CHECK_STR(err, message);
    cp_models_free(m);
}

static void test_errors(void)
{
    static const cp_model_file cycle[] = {
        F("a.sql", "SELECT * FROM {{ ref('b') }}"), F("b.sql", "SELECT * FROM {{ ref('c') }}"),
        F("c.sql", "SELECT * FROM {{ ref('a') }}"), F("d.sql", "SELECT 1")};
    expect_error(cycle, 4, CP_EINVAL, "models form a cycle: a -> b -> c -> a");
    static const cp_model_file missing[] = {F("m/x.sql", "SELECT 1\nFROM {{ ref('nope') }}")};
    expect_error(missing, 1, CP_ENOENT, "m/x.sql:2: ref('nope'): no such model");
    static const cp_model_file macro[] = {F("m/x.sql", "SELECT 1\n\n{{ var('day') }}")};
    expect_error(macro, 1, CP_EINVAL,
                 "m/x.sql:3: unsupported expression '{{ var('day') }}' (supported: ref, source, "
                 "config, this)");
    static const cp_model_file loop[] = {
        F("m/x.sql", "{% for i in range(3) %}SELECT 1{% endfor %}")};
    expect_error(loop, 1, CP_EINVAL, "m/x.sql:1: unsupported statement '{% for i in range(3) %}'");
    static const cp_model_file unclosed[] = {
        F("m/x.sql", "SELECT 1 {% if is_incremental() %} WHERE x")};
    expect_error(unclosed, 1, CP_EINVAL, "m/x.sql:1: {% if %} without {% endif %}");
    static const cp_model_file mat[] = {
        F("m/x.sql", "{{ config(materialized='ephemeral') }} SELECT 1")};
    expect_error(mat, 1, CP_EINVAL,
                 "m/x.sql:1: config: unsupported materialized='ephemeral' (supported: "
                 "materialized=view|table|incremental, unique_key)");
    static const cp_model_file src[] = {F("m/x.sql", "SELECT * FROM {{ source('raw', 'x') }}")};
    expect_error(src, 1, CP_EINVAL, "m/x.sql:1: source: the only source is 'silver'");
    static const cp_model_file yml[] = {
        F("m/schema.yml", "models:\n  - name: x\n    columns:\n      - name: c\n        tests:\n   "
                          "       - dbt_utils.expression_is_true: {}\n")};
    expect_error(yml, 1, CP_EINVAL,
                 "m/schema.yml:6: unsupported test 'dbt_utils.expression_is_true' (supported: "
                 "unique, not_null, "
                 "accepted_values, relationships; custom tests go in tests/*.sql)");
    static const cp_model_file bad_yaml[] = {F("m/schema.yml", "models:\n  - name: [x\n")};
    expect_error(bad_yaml, 1, CP_EPARSE, "m/schema.yml:3: did not find expected ',' or ']'");
}

static void test_override_and_kind_change(void)
{
    CHECK_INT(cp_store_open(":memory:", false, &st, err, sizeof(err)), CP_OK);
    cp_models *m = cp_models_new();
    static const cp_model_file builtin[] = {F("marts/x.sql", "SELECT 1 AS v")};
    static const cp_model_file user[] = {
        F("/home/me/models/x.sql", "{{ config(materialized='table') }} SELECT 2 AS v")};
    CHECK_INT(cp_models_add_files(m, builtin, 1, err, sizeof(err)), CP_OK);
    CHECK_INT(cp_models_run(m, st, NULL, false, NULL, NULL), CP_OK);
    CHECK_INT(q("SELECT v FROM gold.x"), 1);
    CHECK_INT(cp_models_add_files(m, user, 1, err, sizeof(err)),
              CP_OK); /* replaces, view -> table */
    CHECK_INT(cp_models_count(m), 1);
    log_[0] = 0;
    CHECK_INT(cp_models_run(m, st, NULL, false, report, NULL), CP_OK);
    CHECK_STR(log_, "x:table:ok:1");
    CHECK_INT(q("SELECT v FROM gold.x"), 2);
    /* a model that fails stops what depends on it, not the others */
    static const cp_model_file broken[] = {F("y.sql", "SELECT no_such_column FROM {{ ref('x') }}"),
                                           F("z.sql", "SELECT * FROM {{ ref('y') }}"),
                                           F("w.sql", "SELECT 3 AS v")};
    CHECK_INT(cp_models_add_files(m, broken, 3, err, sizeof(err)), CP_OK);
    log_[0] = 0;
    CHECK_INT(cp_models_run(m, st, NULL, false, report, NULL), CP_EDB);
    CHECK_STR(log_, "x:table:ok:1|y:view:FAIL:0|z:skipped:FAIL:0|w:view:ok:1");
    cp_models_free(m);
    cp_store_close(st);
}

int main(void)
{
    RUN(test_build_and_tests);
    RUN(test_errors);
    RUN(test_override_and_kind_change);
    TEST_END();
}
