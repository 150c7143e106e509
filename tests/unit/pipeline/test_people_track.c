/* src/pipeline/people_track.c: customers and the identity map kept as silver is written
 * equal the SQL recomputation from silver — events in any order, equal event times (ties
 * by offset), fields given on some events only, devices linked to users — and past its
 * memory it gives up. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "pipeline/internal.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

#define T0 1790856000000LL

static uint64_t rng = 2463534242ull;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static char *dump(cp_store *s, const char *sql)
{
    static char out[1 << 21];
    char err[256];
    FILE *f = fmemopen(out, sizeof(out) - 1, "w");
    CHECK_INT(cp_store_query(s, sql, CP_QUERY_CSV, 0, f, err, sizeof(err)), CP_OK);
    fclose(f);
    return cp_strdup(out);
}

/* n events written in batches, each also handed to t (when not NULL). */
static void write_events(cp_store *s, people_track *t, size_t n)
{
    static const char *const kinds[] = {"page", "identify", "signed_up", "order_completed"};
    char anon[24], user[24], email[40], domain[24], name[24], country[4];
    for (size_t i = 0; i < n; i++) {
        if (i % 500 == 0) CHECK_INT(cp_store_begin(s), CP_OK);
        uint64_t r = next();
        int who = (int)(r % 60), dev = (int)((r >> 8) % 3);
        snprintf(anon, sizeof(anon), "a-%d-%d", who, dev);
        snprintf(user, sizeof(user), "u-%d", (int)((r >> 16) % 100 < 10 ? (who + 1) % 60 : who));
        snprintf(email, sizeof(email), "p%d.%d@Mail%d.example", who, (int)((r >> 24) % 3),
                 (int)((r >> 26) % 2));
        snprintf(domain, sizeof(domain), "mail%d.example", (int)((r >> 26) % 2));
        snprintf(name, sizeof(name), "N%d", (int)((r >> 28) % 4));
        snprintf(country, sizeof(country), "%s", (r >> 30) % 2 ? "DE" : "FR");
        bool has_anon = (r >> 32) % 4 != 0, has_user = (r >> 34) % 3 == 0 || !has_anon;
        cp_silver_event e = {
            .offset = (int64_t)i,
            .message_id = CP_SLICE_LIT("m"),
            .kind = cp_slice_from(kinds[(r >> 36) % 4]),
            .anonymous_id = has_anon ? cp_slice_from(anon) : CP_SLICE_NULL,
            .user_id = has_user ? cp_slice_from(user) : CP_SLICE_NULL,
            .email = (r >> 38) % 5 == 0 ? cp_slice_from(email) : CP_SLICE_NULL,
            .email_domain = (r >> 38) % 5 == 0 ? cp_slice_from(domain) : CP_SLICE_NULL,
            .name = (r >> 41) % 4 == 0 ? cp_slice_from(name) : CP_SLICE_NULL,
            .country = (r >> 43) % 3 ? cp_slice_from(country) : CP_SLICE_NULL,
            /* in any order, many at the same time */
            .event_time_ms = T0 + (int64_t)((r >> 45) % 40) * 60000,
        };
        e.identity = e.anonymous_id.ptr ? e.anonymous_id : e.user_id;
        e.received_at_ms = e.event_time_ms;
        CHECK_INT(cp_store_add_event(s, &e), CP_OK);
        people_track_add(t, &e);
        if (i % 500 == 499 || i == n - 1) CHECK_INT(cp_store_commit(s), CP_OK);
    }
}

static void test_equal_to_recomputation(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    people_track *t = people_track_new(64 << 20);
    write_events(s, t, 6000);
    CHECK(people_track_active(t));
    CHECK_INT(people_track_finish(t, s, 5999), CP_OK);
    CHECK(!people_track_active(t));
    const char *cust = "SELECT * FROM customers ORDER BY user_id",
               *map = "SELECT * FROM identity_map ORDER BY anonymous_id";
    char *kept_c = dump(s, cust), *kept_m = dump(s, map);
    int64_t v = 0;
    bool null;
    CHECK_INT(
        cp_store_scalar(s, "SELECT position FROM checkpoints WHERE name = 'derived'", &v, &null),
        CP_OK);
    CHECK_INT(v, 5999);
    CHECK_INT(cp_store_scalar(s, "SELECT count(*) FROM customers", &v, &null), CP_OK);
    CHECK_INT(v, 60);
    CHECK_INT(cp_store_scalar(s, "SELECT count(*) FROM identity_map", &v, &null), CP_OK);
    CHECK_INT(v, 180);
    CHECK_INT(cp_store_refresh_derived(s, -1, 5999), CP_OK);
    char *again_c = dump(s, cust), *again_m = dump(s, map);
    CHECK_STR(kept_c, again_c);
    CHECK_STR(kept_m, again_m);
    cp_free(kept_c);
    cp_free(kept_m);
    cp_free(again_c);
    cp_free(again_m);
    people_track_free(t);
    cp_store_close(s);
}

static void test_gives_up(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    people_track *t = people_track_new(16 << 10);
    write_events(s, t, 2000);
    CHECK(!people_track_active(t));
    CHECK_INT(people_track_finish(t, s, 1999), CP_EAGAIN);
    people_track_free(t);
    t = people_track_new(64 << 20);
    write_events(s, t, 10);
    people_track_abandon(t);
    CHECK_INT(people_track_finish(t, s, 9), CP_EAGAIN);
    people_track_free(t);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_equal_to_recomputation);
    RUN(test_gives_up);
    TEST_END();
}
