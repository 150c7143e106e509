/* The shop simulator: a seeded, deterministic model of an online shop and its
 * customers (profiles, personas, sessions, funnels, orders, seasonality, bots)
 * with the mess of real traffic at configurable rates (duplicates, late and
 * out-of-order delivery, client clock skew, malformed lines, missing ids), and
 * with the messy profile every edge case of docs/simulator.md planted among it.
 *
 * It writes Segment JSON events, CSV tables (customers, purchases,
 * clickstream) and a ground-truth JSON file with the exact answers a correct
 * pipeline must produce for what was written. The same parameters give
 * byte-identical output. */
#ifndef CLICKPULSE_SIMULATE_H
#define CLICKPULSE_SIMULATE_H

#include "clickpulse/config.h"

#include <stddef.h>
#include <stdint.h>

typedef enum cp_sim_format {
    CP_SIM_JSONL = 0, /* one event a line */
    CP_SIM_BATCH = 1, /* one {"batch":[…]} envelope a line */
} cp_sim_format;

/* What the traffic looks like: the shop's ordinary traffic with its mess at the configured rates,
 * or that plus the planted edge cases of docs/simulator.md "The messy profile". */
typedef enum cp_sim_profile {
    CP_SIM_STANDARD = 0,
    CP_SIM_MESSY = 1,
} cp_sim_profile;

typedef struct cp_sim_params {
    uint64_t seed;
    int64_t customers;
    int64_t days;
    int64_t start_day; /* days since 1970-01-01 */
    int64_t products;
    cp_sim_format format;
    int64_t batch_size;
    double rate; /* events per second; 0 = as fast as possible */
    double duplicate_rate, late_rate, skew_rate, malformed_rate, bot_rate;
    double signup_rate; /* share of customers who sign up during the window */
    int utc_offset;     /* the customers' local time, hours from UTC (the daily curve's) */
    double large_rate;  /* share of events whose properties carry a note of 1-20 KB of text */
    int64_t allowed_lateness_ms; /* for the ground truth's late count */
    int64_t session_timeout_ms;  /* sessions are generated to be recovered by this rule */
    /* Customers who change: shift_rate of those with persona shift_from behave as
     * shift_to from day shift_day of the window (0: the middle) on. */
    double shift_rate;
    int shift_from, shift_to;
    int64_t shift_day;
    cp_sim_profile profile;
    /* Only deliveries received in [from_ms, until_ms) are written (0: no bound); days that
     * cannot reach from_ms are not generated, so a window's tail costs only itself. The
     * shop (customers, catalogue, every choice) stays that of the whole window. */
    int64_t from_ms, until_ms;
    /* Each delivery is written when its receive time comes on the wall clock (what is due
     * already goes at once): the shop in real time. */
    int live;
} cp_sim_params;

/* Where the output goes. Any of the callbacks may be NULL to skip that output; with only
 * customers_csv set, no days are simulated (profiles alone). */
typedef struct cp_sim_output {
    void *ud;
    /* Event lines (each ending in '\n'); n_events counts events, not lines. */
    int (*events)(void *ud, const char *buf, size_t len, size_t n_events);
    int (*customers_csv)(void *ud, const char *buf, size_t len);
    int (*purchases_csv)(void *ud, const char *buf, size_t len);
    int (*clickstream_csv)(void *ud, const char *buf, size_t len);
    int (*truth)(void *ud, const char *buf, size_t len);
} cp_sim_output;

typedef struct cp_sim_stats {
    uint64_t lines;      /* lines written to the event output */
    uint64_t events;     /* valid distinct events */
    uint64_t duplicates; /* extra deliveries of valid events */
    uint64_t rejects;    /* planted bad lines */
    uint64_t bytes;      /* bytes of event output */
    uint64_t orders;
    int64_t revenue_cents;
    uint64_t planted; /* events the messy profile planted, far re-deliveries included (in
                       * lines and bytes, not in the other counts) */
} cp_sim_stats;

/* Fills p from the simulator.* and pipeline.* keys of c. */
void cp_sim_params_from_config(const cp_config *c, cp_sim_params *p);

/* Runs the simulation, writing through out. Returns 0, CP_ENOMEM, CP_EINVAL for
 * impossible parameters, or the first non-zero return of an output callback. */
int cp_simulate(const cp_sim_params *p, const cp_sim_output *out, cp_sim_stats *stats);

/* The persona names, by index, and the persona of customer i (0-based). */
const char *cp_sim_persona_name(int persona);
int cp_sim_persona_of(const cp_sim_params *p, int64_t customer);
/* The persona customer i has on day (days since epoch): cp_sim_persona_of, or shift_to
 * once a shifted customer's shift has happened. */
int cp_sim_persona_on(const cp_sim_params *p, int64_t customer, int64_t day);

#endif
