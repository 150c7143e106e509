/* Private to the simulator: the ground truth accumulated while generating. */
#ifndef CP_SIM_TRUTH_H
#define CP_SIM_TRUTH_H

#include "sim_internal.h"

enum { FUNNEL_PAGE, FUNNEL_PRODUCT, FUNNEL_CART, FUNNEL_CHECKOUT, FUNNEL_ORDER, FUNNEL__COUNT };
#define SIM_MAX_COUNTRIES 32

typedef struct truth_day {
    uint64_t by_kind[CP_KIND__COUNT];
    uint64_t events, bot_events, late;
    uint64_t customers; /* distinct userIds with an event that day */
    uint64_t visitors;  /* distinct anonymousIds with an event that day */
    uint64_t sessions, bot_sessions;
    uint64_t signups;
    uint64_t new_customers; /* customers first seen that day: their first event with their
                               userId, or on a device of theirs that identify links */
    uint64_t funnel_sessions[FUNNEL__COUNT]; /* human sessions reaching each step in order */
    uint64_t orders, units;
    int64_t revenue_cents;
    uint64_t country_orders[SIM_MAX_COUNTRIES];
    int64_t country_revenue[SIM_MAX_COUNTRIES];
} truth_day;

typedef struct sim_truth {
    truth_day *days;
    int64_t n_days;
    uint8_t *identified; /* a bit a customer: seen with a userId already */
    int32_t *dev_first;  /* each customer's two devices: first day index with an event */
    uint8_t *dev_linked; /* a bit a device (two a customer): an event with the userId on it */
    uint16_t *orders;    /* orders of each customer, saturating */
    int64_t n_customers;
    uint64_t lines, duplicates, late;
    uint64_t rejects[CP_REJECT__COUNT];
    uint64_t messy[M__COUNT]; /* what the messy profile planted (SIM_MESSY_COUNTS) */
} sim_truth;

int sim_truth_init(sim_truth *t, int64_t days, int64_t customers);
void sim_truth_free(sim_truth *t);
/* Counts the valid events d->ev[from..to) that one customer (or one bot session) made. */
void sim_truth_account(sim_truth *t, const cp_sim_params *p, const sim_catalog *cat,
                       const sim_day *d, size_t from, size_t to);
/* Writes the ground-truth JSON through out->truth: every figure for the standard profile;
 * for the messy one, the figures its cases leave well defined and what it planted. */
int sim_truth_write(sim_truth *t, const cp_sim_params *p, const cp_sim_output *out);

#endif
