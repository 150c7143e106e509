/* A store of three kinds of customer for the ML tests — buyers of expensive things,
 * browsers of cheap things, and customers gone since January (u000, u001, u002, … by
 * i % 3) — with features identical within a kind; and a reader of numeric query rows. */
#ifndef CP_TEST_ML_SHOP_H
#define CP_TEST_ML_SHOP_H

#include "clickpulse/error.h"
#include "clickpulse/store.h"

#include <stdio.h>

static cp_store *shop(void)
{
    cp_store *s;
    char err[256];
    if (cp_store_open(":memory:", false, &s, err, sizeof(err))) return NULL;
    const char *sql =
        "INSERT INTO customers (user_id, first_seen) SELECT printf('u%03d', i),"
        " TIMESTAMP '2026-01-01' FROM range(90) t(i);"
        "CREATE TEMP TABLE visits AS SELECT printf('u%03d', i) AS u, i % 3 AS g,"
        " TIMESTAMP '2026-01-01 10:00' + INTERVAL (d) DAY AS t FROM range(90) a(i),"
        " range(0, 120, 7) b(d) WHERE i % 3 <> 2 OR d < 30;"
        "INSERT INTO sessions (user_id, start_time, pageviews, is_bot, cart, purchase)"
        " SELECT u, t, CASE g WHEN 0 THEN 5 ELSE 10 END, false, g = 0, g = 0 FROM visits;"
        "INSERT INTO events (\"offset\", kind, user_id, event_time, event_date, is_bot, properties)"
        " SELECT row_number() OVER (), 'product_viewed', u, t, t::DATE, false,"
        " CASE g WHEN 0 THEN '{\"price\":100}' ELSE '{\"price\":5}' END FROM visits;"
        "INSERT INTO orders (\"offset\", order_id, user_id, event_time, revenue)"
        " SELECT 1000 + row_number() OVER (), 'o' || row_number() OVER (), u,"
        " t + INTERVAL 5 MINUTE, 200 FROM visits WHERE g = 0;";
    if (cp_store_exec(s, sql, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        cp_store_close(s);
        return NULL;
    }
    return s;
}

typedef struct rows {
    char key[16][48];
    double v[16][4];
    int n;
} rows;

static int take(void *ud, cp_slice key, const double *v, size_t n)
{
    rows *r = ud;
    if (r->n == 16) return CP_OK;
    snprintf(r->key[r->n], 48, "%.*s", (int)key.len, key.ptr ? key.ptr : "");
    for (size_t i = 0; i < n && i < 4; i++) r->v[r->n][i] = v[i];
    r->n++;
    return CP_OK;
}

static rows query(cp_store *s, const char *sql)
{
    rows r = {.n = 0};
    char err[256];
    if (cp_store_read_numeric(s, sql, NULL, take, &r, err, sizeof(err)))
        fprintf(stderr, "%s\n", err);
    return r;
}

#endif
