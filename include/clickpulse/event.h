/* The typed event (DESIGN.md section 3) and its decoder from Segment JSON:
 * a single message, a {"batch":[…]} envelope, or JSON Lines of either.
 *
 * Decoded events borrow: their slices point into the input bytes or into the
 * decoder's arena, and stay valid until the next call that feeds the decoder
 * (or cp_event_decoder_free). Consumers that keep an event copy what they need. */
#ifndef CLICKPULSE_EVENT_H
#define CLICKPULSE_EVENT_H

#include "clickpulse/arena.h"
#include "clickpulse/money.h"
#include "clickpulse/str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Message types of the Segment spec. */
#define CP_EVENT_TYPES(X)                                                                          \
    X(TRACK, "track")                                                                              \
    X(PAGE, "page")                                                                                \
    X(SCREEN, "screen")                                                                            \
    X(IDENTIFY, "identify")                                                                        \
    X(GROUP, "group")                                                                              \
    X(ALIAS, "alias")

typedef enum cp_event_type {
#define CP_TYPE_ENUM(id, name) CP_TYPE_##id,
    CP_EVENT_TYPES(CP_TYPE_ENUM)
#undef CP_TYPE_ENUM
        CP_TYPE__COUNT
} cp_event_type;

/* What an event means: the e-commerce spec names for track calls, the call
 * type otherwise; other track names are CP_KIND_CUSTOM. (id, short name, spec name) */
#define CP_EVENT_KINDS(X)                                                                          \
    X(PAGE, "page", "page")                                                                        \
    X(SCREEN, "screen", "screen")                                                                  \
    X(IDENTIFY, "identify", "identify")                                                            \
    X(GROUP, "group", "group")                                                                     \
    X(ALIAS, "alias", "alias")                                                                     \
    X(PRODUCT_VIEWED, "product_viewed", "Product Viewed")                                          \
    X(PRODUCT_ADDED, "product_added", "Product Added")                                             \
    X(PRODUCT_REMOVED, "product_removed", "Product Removed")                                       \
    X(CART_VIEWED, "cart_viewed", "Cart Viewed")                                                   \
    X(CHECKOUT_STARTED, "checkout_started", "Checkout Started")                                    \
    X(ORDER_COMPLETED, "order_completed", "Order Completed")                                       \
    X(ORDER_REFUNDED, "order_refunded", "Order Refunded")                                          \
    X(SIGNED_UP, "signed_up", "Signed Up")                                                         \
    X(CUSTOM, "custom", "")

typedef enum cp_event_kind {
#define CP_KIND_ENUM(id, s, spec) CP_KIND_##id,
    CP_EVENT_KINDS(CP_KIND_ENUM)
#undef CP_KIND_ENUM
        CP_KIND__COUNT
} cp_event_kind;

/* Why an input was rejected. (id, name used in dead letters and reports) */
#define CP_REJECT_REASONS(X)                                                                       \
    X(NOT_JSON, "not_json")                                                                        \
    X(TOO_DEEP, "too_deep")                                                                        \
    X(INVALID_UTF8, "invalid_utf8")                                                                \
    X(TOO_LARGE, "too_large")                                                                      \
    X(WRONG_TYPE, "wrong_type")                                                                    \
    X(MISSING_FIELD, "missing_field")                                                              \
    X(UNKNOWN_TYPE, "unknown_type")                                                                \
    X(MISSING_IDENTITY, "missing_identity")                                                        \
    X(BAD_TIMESTAMP, "bad_timestamp")                                                              \
    X(TOO_MANY_EVENTS, "too_many_events")                                                          \
    X(INVALID_VALUE, "invalid_value")                                                              \
    X(OUT_OF_RANGE, "out_of_range")                                                                \
    X(STORE_ERROR, "store_error")

typedef enum cp_reject_reason {
#define CP_REJECT_ENUM(id, name) CP_REJECT_##id,
    CP_REJECT_REASONS(CP_REJECT_ENUM)
#undef CP_REJECT_ENUM
        CP_REJECT__COUNT
} cp_reject_reason;

const char *cp_event_type_name(cp_event_type t);
/* Short snake_case name of a kind ("order_completed"). */
const char *cp_event_kind_name(cp_event_kind k);
/* The Segment spec event name of a track kind ("Order Completed"); "" for others. */
const char *cp_event_kind_spec_name(cp_event_kind k);
/* Kind of a track call from its event name (spec names and their snake_case forms). */
cp_event_kind cp_event_kind_of_track(cp_slice name);
const char *cp_reject_reason_name(cp_reject_reason r);

/* One product line of an e-commerce event. price is per unit. */
typedef struct cp_product {
    cp_slice product_id;
    cp_slice sku;
    cp_slice name;
    cp_slice category;
    cp_money price;   /* hundredths, exact (clickpulse/money.h) */
    int64_t quantity; /* 1 when absent */
    bool has_price;
} cp_product;

/* Fields of the context object that the pipeline uses. Empty slices when absent. */
typedef struct cp_event_context {
    cp_slice ip, user_agent, locale, timezone;
    cp_slice page_url, page_path, page_referrer, page_title, page_search;
    cp_slice campaign_source, campaign_medium, campaign_name, campaign_term, campaign_content;
    cp_slice country, city;
    cp_slice library_name, library_version;
    cp_slice device_type;
    cp_slice session_id; /* context.sessionId (RudderStack) */
} cp_event_context;

enum {
    CP_HAS_TIMESTAMP = 1 << 0,
    CP_HAS_ORIGINAL_TIMESTAMP = 1 << 1,
    CP_HAS_SENT_AT = 1 << 2,
    CP_HAS_RECEIVED_AT = 1 << 3,
    CP_HAS_REVENUE = 1 << 4,
    CP_HAS_TOTAL = 1 << 5,
};

typedef struct cp_event {
    cp_event_type type;
    cp_event_kind kind;
    uint32_t flags; /* CP_HAS_* */

    cp_slice event_name; /* track: "event"; page/screen: "name" */
    cp_slice message_id;
    cp_slice user_id;
    cp_slice anonymous_id;
    cp_slice previous_id; /* alias */
    cp_slice group_id;    /* group */

    int64_t time_ms;      /* event time: corrected as in DESIGN.md section 3 */
    int64_t timestamp_ms; /* the fields as sent, valid when their CP_HAS_* flag is set */
    int64_t original_timestamp_ms;
    int64_t sent_at_ms;
    int64_t received_at_ms;

    /* Commerce (properties). revenue is "revenue", or "total" when revenue is absent. */
    cp_slice order_id;
    cp_slice currency;
    cp_money revenue; /* hundredths, exact */
    cp_money total;
    cp_product *products;
    uint32_t n_products;

    cp_slice session_id; /* properties.$session_id, else context.sessionId */
    cp_slice email;      /* traits.email (identify) or context.traits.email */
    cp_slice name;       /* traits.name */
    cp_event_context ctx;

    /* Raw JSON text of the objects, as received (merged with the batch's for context). */
    cp_slice properties, traits, context, integrations;
    cp_slice raw;   /* the whole event */
    uint64_t pos;   /* byte position of its line in the stream fed (JSON Lines) */
    uint64_t line;  /* its 1-based line number (JSON Lines), else 0 */
    uint32_t index; /* its 1-based place in a batch envelope, else 0 */
} cp_event;

/* A rejected input: the reason, a message that points at the problem, and the raw bytes. */
typedef struct cp_reject {
    cp_reject_reason reason;
    char detail[320];
    cp_slice raw;
    uint64_t line;  /* 1-based line for JSON Lines input, else 0 */
    uint64_t pos;   /* byte position of that line in the stream fed */
    uint32_t index; /* 1-based place in a batch envelope, else 0 */
} cp_reject;

typedef struct cp_decode_options {
    size_t max_event_bytes;  /* larger events: CP_REJECT_TOO_LARGE (default 32 KiB) */
    size_t max_line_bytes;   /* longest JSON Lines line or document (default 500 KiB) */
    size_t max_batch_events; /* most events in one batch envelope (default 2500) */
    int max_depth;           /* deepest nesting of arrays/objects (default 64) */
    bool trust_received_at;  /* take receivedAt from the input (archives) */
    int64_t received_at_ms;  /* the server's receive time; 0 = none */
    int has_default_type;    /* for route-typed input (/v1/track): use default_type */
    cp_event_type default_type;
    cp_slice client_ip; /* set as context.ip where the event has none (collector) */
    bool anonymize_ip;  /* an event's own context.ip loses its host part (cp_ip_anonymize) */
} cp_decode_options;

/* Receives decoded events and rejects. A non-zero return stops decoding and is
 * returned by the feeding call. */
typedef struct cp_decode_sink {
    void *ud;
    int (*on_event)(void *ud, const cp_event *ev);
    int (*on_reject)(void *ud, const cp_reject *rej);
} cp_decode_sink;

typedef struct cp_event_decoder cp_event_decoder;

/* Zeroes the host part of an address written in ip (INET6_ADDRSTRLEN bytes): the last
 * octet of IPv4, the last 80 bits of IPv6. Returns 1 when ip was an address. */
int cp_ip_anonymize(char *ip);

/* Fills opts with the defaults above. */
void cp_decode_options_default(cp_decode_options *opts);

/* Creates a decoder; opts is copied (NULL: defaults). Returns NULL when out of memory.
 * A decoder is used by one thread at a time. */
cp_event_decoder *cp_event_decoder_new(const cp_decode_options *opts, cp_decode_sink sink);
void cp_event_decoder_free(cp_event_decoder *d);
/* Makes d as new with other options and sink, keeping its memory for reuse: the events
 * of earlier decodes are gone. */
void cp_event_decoder_reset(cp_event_decoder *d, const cp_decode_options *opts,
                            cp_decode_sink sink);
/* Changes the receive time stamped on events decoded from now on. */
void cp_event_decoder_set_received_at(cp_event_decoder *d, int64_t ms);

/* Decodes one JSON document: a single message or a batch envelope whose top-level
 * context, integrations and sentAt are merged into each event. Every event goes to
 * on_event, every bad one to on_reject. Returns 0, CP_ENOMEM, or a sink's non-zero.
 *
 * An event's raw text is made self-contained when something was implied: the type
 * given by the route, the batch's shared fields, context.ip from the connection, and a
 * messageId where there is none ("cp-" and a hash of the event's own bytes, and of its
 * event time when it has no time of its own: an exact resend is the same message, a
 * duplicate) — so that decoding that text again (replay) gives the same event. */
int cp_event_decode(cp_event_decoder *d, const char *json, size_t len);

/* JSON Lines in pieces: feed any number of chunks (lines may span chunks), then
 * finish to decode a last line without a newline. Blank lines are skipped; a line
 * longer than max_line_bytes is rejected as too_large (its first bytes kept). */
int cp_event_decoder_feed(cp_event_decoder *d, const char *buf, size_t len);
int cp_event_decoder_finish(cp_event_decoder *d);
/* Says that the next byte fed is at byte position pos of the stream and begins line
 * line + 1 (for resuming a file part-way). */
void cp_event_decoder_set_position(cp_event_decoder *d, uint64_t pos, uint64_t line);
/* Where decoding would have to resume to miss nothing: the position of the first byte
 * not yet decoded (the start of a partial line held back) and the lines before it. */
uint64_t cp_event_decoder_resume_position(const cp_event_decoder *d, uint64_t *line);

/* Finds the string value of a top-level key of a JSON object (unescaped into arena
 * when needed). Returns 1 with *out set, or 0 when absent, not a string or not JSON. */
int cp_json_top_string(const char *json, size_t len, const char *key, cp_arena *arena,
                       cp_slice *out);

#endif
