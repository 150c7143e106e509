/* Private to the simulator: the model's types, shared by sim_model.c (who
 * does what, when), sim_format.c (how it looks on the wire) and simulator.c
 * (delivery order, mess, outputs, ground truth). */
#ifndef CP_SIM_INTERNAL_H
#define CP_SIM_INTERNAL_H

#include "clickpulse/event.h"
#include "clickpulse/simulate.h"
#include "clickpulse/str.h"

#include <stdint.h>

/* Counter-based hashing: every random choice is a pure function of the seed and
 * the identity of what is being decided, so any customer or day can be generated
 * on its own and the output does not depend on the order of generation. */
static inline uint64_t sim_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}
static inline uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return sim_mix(seed ^ sim_mix(a * 0x9E3779B97F4A7C15ULL ^ sim_mix(b + 0x632BE59BD9B4E019ULL) ^
                                  (c * 0xD6E8FEB86659FD93ULL)));
}

typedef struct sim_rng {
    uint64_t s;
} sim_rng;
static inline uint64_t sim_next(sim_rng *r)
{
    r->s += 0x9E3779B97F4A7C15ULL;
    return sim_mix(r->s);
}
/* Uniform in [0, 1). */
static inline double sim_unit(sim_rng *r)
{
    return (double)(sim_next(r) >> 11) * 0x1.0p-53;
}
/* Uniform in [0, n). */
static inline uint64_t sim_below(sim_rng *r, uint64_t n)
{
    return (uint64_t)(sim_unit(r) * (double)n);
}
static inline double sim_hash_unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

enum sim_persona {
    PERSONA_WINDOW_SHOPPER,
    PERSONA_BARGAIN_HUNTER,
    PERSONA_REGULAR,
    PERSONA_LOYAL_HIGH_SPENDER,
    PERSONA_CHURNING,
    PERSONA__COUNT
};

enum sim_device { DEV_DESKTOP, DEV_MOBILE, DEV_TABLET };

typedef struct sim_customer {
    uint32_t idx;
    uint8_t persona;       /* at the start of the window */
    uint8_t shift_persona; /* from shift_on on (the same when the customer never shifts) */
    int32_t shift_on;      /* days since epoch */
    uint8_t country;
    uint8_t source; /* acquisition channel */
    uint8_t n_devices;
    uint8_t device_kind[2];
    uint16_t first_name, last_name;
    uint8_t email_domain;
    uint16_t email_number;
    int32_t signup_day;  /* days since epoch */
    int32_t skew_min[2]; /* client clock error of each device, minutes */
    uint32_t ua_variant[2];
} sim_customer;

typedef struct sim_product {
    uint32_t price_cents;
    uint8_t category;
    uint16_t adjective, noun;
} sim_product;

typedef struct sim_catalog {
    sim_product *items;
    uint32_t n;
    uint32_t *by_price; /* product indices sorted by price */
} sim_catalog;

/* Event flags. */
enum {
    EVF_BOT = 1 << 0,       /* crawler traffic */
    EVF_USER = 1 << 1,      /* userId is set (identified) */
    EVF_DUP = 1 << 2,       /* a second delivery of an event */
    EVF_CAMPAIGN = 1 << 3,  /* the session came from the customer's campaign */
    EVF_SERVER_TS = 1 << 4, /* unused for now */
    EVF_MESSY = 1 << 5,     /* planted by the messy profile (sim_messy.c) */
};

/* The messy profile's cases (docs/simulator.md "The messy profile"), as sim_ev.mess. */
enum sim_case {
    CASE_NONE,
    CASE_GAP,       /* 1: gaps of exactly, 1 ms under and 1 ms over the session timeout */
    CASE_LONG,      /* 2: active for more than 24 hours */
    CASE_MIDNIGHT,  /* 3: a session across midnight UTC */
    CASE_SKEW,      /* 4: a wrong clock; lines without receivedAt or sentAt */
    CASE_NUMBERS,   /* 5: amounts and quantities as strings, exponents, trailing zeros */
    CASE_AMOUNTS,   /* 6: amounts at the edges */
    CASE_REFUND,    /* 7: an order, refunded later */
    CASE_CURRENCY,  /* 8: an order in another currency */
    CASE_TWICE,     /* 9: one order_id in two Order Completed */
    CASE_FAR,       /* 10: a line delivered again far later */
    CASE_ANON,      /* 11: an anonymous order, identified hours later */
    CASE_BOT_AGENT, /* 12: user agents at the edges of bot detection */
    CASE_BOT_PACE,  /* 12: page views at the edges of the behavioural rule */
    CASE_BAD,       /* 13: bad messages */
    CASE__COUNT
};

/* How a planted line deviates from the usual form (sim_ev.mflags). */
enum {
    MF_NO_RECEIVED_AT = 1 << 0,
    MF_NO_SENT_AT = 1 << 1,
    MF_NO_MESSAGE_ID = 1 << 2,
    MF_REORDERED = 1 << 3, /* top-level members in reverse order */
    MF_NAME = 1 << 4,      /* a track call with "name" instead of "event" */
    MF_LINE = 1 << 5,      /* a line of its own, also in batch output */
    MF_FAR = 1 << 6,       /* delivered again far later, byte for byte */
    MF_SERVER = 1 << 7,    /* sent by the shop's server: userId only, no page */
};

/* What the messy profile planted, for truth.json's "cases": (id, group, name). */
#define SIM_MESSY_COUNTS(X)                                                                        \
    X(GAP_EXACT, "session_gaps", "exactly_timeout")                                                \
    X(GAP_UNDER, "session_gaps", "1ms_under_timeout")                                              \
    X(GAP_OVER, "session_gaps", "1ms_over_timeout")                                                \
    X(LONG, "long_sessions", "over_24h")                                                           \
    X(MIDNIGHT, "midnight", "sessions_across_midnight")                                            \
    X(SKEWED, "clock_skew", "skewed_devices")                                                      \
    X(UNSKEWED, "clock_skew", "right_clock_devices")                                               \
    X(NUM_STRINGS, "number_forms", "orders_as_strings")                                            \
    X(NUM_EXPONENT, "number_forms", "orders_in_exponent_form")                                     \
    X(NUM_TRAILING, "number_forms", "orders_with_trailing_zeros")                                  \
    X(NUM_MIXED, "number_forms", "orders_mixed_forms")                                             \
    X(AMT_ZERO, "edge_amounts", "zero")                                                            \
    X(AMT_ZERO_STR, "edge_amounts", "zero_string")                                                 \
    X(AMT_NEG, "edge_amounts", "negative")                                                         \
    X(AMT_NEG_STR, "edge_amounts", "negative_string")                                              \
    X(AMT_MAX, "edge_amounts", "decimal_18_2_max_string")                                          \
    X(AMT_2P52, "edge_amounts", "large_exact_double")                                              \
    X(AMT_TOO_LARGE, "edge_amounts", "too_large")                                                  \
    X(AMT_SUB_CENT, "edge_amounts", "sub_cent_string")                                             \
    X(AMT_3DEC, "edge_amounts", "three_decimals")                                                  \
    X(REFUND_REVENUE, "refunds", "whole_by_revenue")                                               \
    X(REFUND_TOTAL, "refunds", "whole_by_total")                                                   \
    X(REFUND_PRODUCTS, "refunds", "by_products")                                                   \
    X(CUR_USD, "currencies", "USD")                                                                \
    X(CUR_EUR, "currencies", "EUR")                                                                \
    X(CUR_GBP, "currencies", "GBP")                                                                \
    X(CUR_JPY, "currencies", "JPY")                                                                \
    X(CUR_XTS, "currencies", "XTS")                                                                \
    X(TWICE_SAME, "orders_twice", "same_amounts_seconds_apart")                                    \
    X(TWICE_DIFFERENT, "orders_twice", "different_amounts_minutes_apart")                          \
    X(TWICE_LATER, "orders_twice", "same_amounts_hours_apart")                                     \
    X(FAR_RECV, "far_redeliveries", "with_received_at")                                            \
    X(FAR_NO_RECV, "far_redeliveries", "without_received_at")                                      \
    X(FAR_MIN, "far_redeliveries", "min_distance_lines")                                           \
    X(FAR_MAX, "far_redeliveries", "max_distance_lines")                                           \
    X(ANON, "anonymous_checkouts", "identified_later")                                             \
    X(UA_SCRAPY, "bot_agents", "scrapy")                                                           \
    X(UA_REQUESTS, "bot_agents", "python_requests")                                                \
    X(UA_CURL, "bot_agents", "curl")                                                               \
    X(UA_HEADLESS, "bot_agents", "headless_chrome")                                                \
    X(UA_GOOGLEBOT, "bot_agents", "googlebot")                                                     \
    X(UA_CUBOT, "bot_agents", "browser_cubot_phone")                                               \
    X(UA_BOTANIC, "bot_agents", "browser_botanic_kiosk")                                           \
    X(PACE_2450, "bot_pace", "17_pages_gaps_1000_3900ms")                                          \
    X(PACE_2550, "bot_pace", "17_pages_gaps_1100_4000ms")                                          \
    X(PACE_2499, "bot_pace", "15_pages_gaps_2499ms")                                               \
    X(PACE_2500, "bot_pace", "15_pages_gaps_2500ms")                                               \
    X(PACE_2501, "bot_pace", "15_pages_gaps_2501ms")                                               \
    X(PACE_FEW, "bot_pace", "14_pages_gaps_1000ms")                                                \
    X(PACE_MIXED, "bot_pace", "20_pages_gaps_1000ms_and_a_product_view")                           \
    X(BAD_NAME, "bad_messages", "track_with_name_not_event")                                       \
    X(BAD_TWICE, "bad_messages", "no_message_id_sent_twice")                                       \
    X(BAD_ORDER, "bad_messages", "no_message_id_field_order")                                      \
    X(EVENTS, "planted", "events")                                                                 \
    X(NO_RECEIVED_AT, "planted", "without_received_at")                                            \
    X(NO_SENT_AT, "planted", "without_sent_at")

enum sim_messy_count {
#define SIM_M_ENUM(id, group, name) M_##id,
    SIM_MESSY_COUNTS(SIM_M_ENUM)
#undef SIM_M_ENUM
        M__COUNT
};

/* One generated event, compact; formatted to JSON only when written. */
typedef struct sim_ev {
    int64_t recv_ms;    /* when the server receives it */
    int64_t time_ms;    /* when it happened (true clock) */
    int64_t sent_ms;    /* when the client sent it (true clock) */
    uint32_t cust;      /* customer index, or bot session index with EVF_BOT */
    uint32_t seq;       /* generation order: ties in recv_ms keep it */
    uint32_t item;      /* product index, or page index for plain pages */
    uint32_t lines_off; /* order lines of checkout / order events */
    uint16_t session;   /* session ordinal of the customer that day */
    uint8_t kind;       /* cp_event_kind */
    uint8_t flags;      /* EVF_* */
    uint8_t device;
    uint8_t n_lines;
    uint8_t page_type; /* sim_page_type */
    uint8_t broken;    /* 0, or a cp_reject_reason + 1 for a planted bad line */
    uint8_t ev_idx;    /* index within the session */
    /* Planted by the messy profile (EVF_MESSY): cust is the case's instance that day,
     * session the day of the window it was planted on. */
    uint8_t mess;   /* enum sim_case, or 0 */
    uint8_t mvar;   /* the case's variant */
    uint8_t mflags; /* MF_* */
    uint16_t mev;   /* index within the instance */
    int32_t mshift; /* the printed receivedAt is this many ms before the delivery */
} sim_ev;

enum sim_page_type {
    PAGE_HOME,
    PAGE_CATEGORY,
    PAGE_PRODUCT,
    PAGE_CART,
    PAGE_CHECKOUT,
    PAGE_CONFIRM,
    PAGE_SIGNUP,
    PAGE_SEARCH,
    PAGE_BLOG,
    PAGE_SALE
};

typedef struct sim_line {
    uint32_t product;
    uint8_t qty;
} sim_line;

/* Growable arrays of one day's events and order lines. */
typedef struct sim_day {
    sim_ev *ev;
    size_t n, cap;
    sim_line *lines;
    size_t n_lines, cap_lines;
    int64_t day;
    uint32_t seq;
    const sim_customer *people; /* every profile, when few enough to keep; else NULL */
} sim_day;

/* Customer idx's profile: from the cache when there is one, else computed into tmp. */
static inline const sim_customer *sim_person(const cp_sim_params *p, const sim_day *d, uint32_t idx,
                                             sim_customer *tmp)
{
    void sim_customer_of(const cp_sim_params *p, uint32_t idx, sim_customer *c);
    if (d && d->people) return &d->people[idx];
    sim_customer_of(p, idx, tmp);
    return tmp;
}

/* Static tables (sim_model.c). */
typedef struct sim_country {
    const char *code, *locale, *tz;
    double weight;
} sim_country;
extern const sim_country sim_countries[];
extern const int sim_n_countries;
typedef struct sim_source {
    const char *source, *medium, *campaign, *referrer;
    double weight;
} sim_source;
extern const sim_source sim_sources[];
extern const int sim_n_sources;
extern const char *const sim_categories[];
extern const int sim_n_categories;
#define SIM_N_FIRST   30 /* pairs in sim_first_names */
#define SIM_N_LAST    28
#define SIM_N_DOMAINS 10
#define SIM_N_ADJ     16
#define SIM_N_NOUN    16
extern const char *const sim_first_names[];
extern const char *const sim_last_names[];
extern const char *const sim_email_domains[];
extern const char *const sim_adjectives[];
/* Page titles by page type (sim_format.c). */
extern const char *const sim_page_titles[];
extern const char *const sim_nouns[];
extern const char *const sim_bot_agents[];
extern const int sim_n_bot_agents;
const char *sim_user_agent(int device_kind, uint32_t variant);

/* The model (sim_model.c). */
void sim_customer_of(const cp_sim_params *p, uint32_t idx, sim_customer *c);
int sim_catalog_init(sim_catalog *cat, const cp_sim_params *p);
void sim_catalog_free(sim_catalog *cat);
/* Appends the events of customer c on day day to d. Returns 0 or CP_ENOMEM. */
int sim_customer_day(const cp_sim_params *p, const sim_catalog *cat, const sim_customer *c,
                     sim_day *d);
/* Appends the day's crawler sessions. */
int sim_bots_day(const cp_sim_params *p, sim_day *d);
sim_ev *sim_day_push(sim_day *d);

/* Wire formats (sim_format.c). buf must have SIM_MAX_EVENT_BYTES free. */
#define SIM_MAX_EVENT_BYTES (4096 + SIM_MAX_NOTE_BYTES)
#define SIM_MAX_NOTE_BYTES  20480
size_t sim_format_event(const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                        const sim_ev *e, int in_batch, char *buf);
/* The planted bad line derived from e (e->broken says how). */
size_t sim_format_broken(const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                         const sim_ev *e, char *buf);
size_t sim_format_uuid(uint64_t a, uint64_t b, char *out);
size_t sim_format_customer_id(uint32_t idx, char *out);
size_t sim_format_anonymous_id(const cp_sim_params *p, const sim_ev *e, char *out);
size_t sim_format_session_id(const cp_sim_params *p, const sim_ev *e, char *out);
size_t sim_format_page_path(const sim_catalog *cat, const sim_ev *e, char *out);
size_t sim_format_customer_csv(const cp_sim_params *p, const sim_customer *c, char *out);

/* The messy profile's state across days (zeroed at the start). */
typedef struct sim_messy {
    uint32_t seq;                  /* numbers the planted events */
    uint32_t planted[CASE__COUNT]; /* instances of each case so far: the variants take turns */
} sim_messy;

/* The messy profile (sim_messy.c). Appends the cases planted on day d->day to d, each
 * event flagged EVF_MESSY and numbered from m->seq (with the top bit set) so that the
 * standard traffic's own sequence, and so its output, stays as it is; counts what it
 * planted into counts[M__COUNT]. Returns 0 or CP_ENOMEM. */
int sim_messy_day(const cp_sim_params *p, const sim_catalog *cat, sim_day *d, sim_messy *m,
                  uint64_t *counts);
#define SIM_MESSY_N_SKEWS        10 /* CASE_SKEW variants */
#define SIM_MESSY_N_EDGE_AMOUNTS 9  /* CASE_AMOUNTS variants */
#define SIM_MESSY_N_EDGE_AGENTS  7  /* CASE_BOT_AGENT variants, tools and crawlers first */
#define SIM_MESSY_N_TOOL_AGENTS  5
#define SIM_MESSY_N_PACES        7 /* CASE_BOT_PACE variants */
extern const int32_t sim_messy_skew_min[SIM_MESSY_N_SKEWS];
/* A planted event's wire form (sim_messy_format.c); buf must have SIM_MAX_EVENT_BYTES free. */
size_t sim_messy_format(const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                        const sim_ev *e, int in_batch, char *buf);

#endif
