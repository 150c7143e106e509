/* Private to src/event: the JSON reader the decoders are built on.
 *
 * A cp_jr is a cursor over one JSON text. Functions advance it, validate what
 * they pass (grammar, UTF-8, depth) and set jr->err/jr->msg on the first
 * problem; after an error every function returns at once. */
#ifndef CP_EVENT_INTERNAL_H
#define CP_EVENT_INTERNAL_H

#include "clickpulse/arena.h"
#include "clickpulse/event.h"
#include "clickpulse/str.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum jr_kind {
    JR_NONE = 0,
    JR_OBJECT,
    JR_ARRAY,
    JR_STRING,
    JR_NUMBER,
    JR_TRUE,
    JR_FALSE,
    JR_NULL,
} jr_kind;

typedef struct cp_jr {
    const char *p, *start, *end;
    cp_arena *arena; /* for unescaped strings */
    int depth, max_depth;
    int err; /* 0, or a cp_reject_reason + 1 */
    char msg[160];
} cp_jr;

void jr_init(cp_jr *jr, const char *s, size_t len, cp_arena *arena, int max_depth);
/* Records the first error: reason and a message (printf-style). Always returns 0. */
int jr_fail(cp_jr *jr, cp_reject_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Skips blanks and returns the kind of the next value without consuming it. */
jr_kind jr_peek(cp_jr *jr);
const char *jr_kind_name(jr_kind k);

/* Objects: jr_obj_begin consumes '{'; jr_obj_next returns 1 with the next key
 * (unescaped) and the cursor at its value, or 0 at '}' (consumed) or on error. */
int jr_obj_begin(cp_jr *jr);
int jr_obj_next(cp_jr *jr, cp_slice *key);
/* Arrays: the same with elements. */
int jr_arr_begin(cp_jr *jr);
int jr_arr_next(cp_jr *jr);

/* Reads a string value; unescaped into the arena only when it has escapes. */
int jr_string(cp_jr *jr, cp_slice *out);
/* Reads a number; *raw gets its text. Returns 1 on success. */
int jr_number(cp_jr *jr, double *out, cp_slice *raw);
/* A number's text alone (for exact decimals); 1 when well formed. */
int jr_number_text(cp_jr *jr, cp_slice *raw);
/* Validates and skips any value; *raw (optional) gets its exact text. */
int jr_skip(cp_jr *jr, cp_slice *raw);
/* After the top-level value: only blanks may follow. */
int jr_end(cp_jr *jr);

/* Parses a JSON number's text into a double (exact for up to 15 significant digits
 * and small exponents, otherwise via strtod). Returns 1 when the text is a number. */
int jr_parse_number_text(const char *s, size_t n, double *out);

/* Building objects from optional members written as ',"k":v': json_obj_open writes
 * '{' and returns where the members start; json_obj_close drops the first member's
 * comma and writes '}'. (json_util.c) */
size_t json_obj_open(cp_buf *j);
int json_obj_close(cp_buf *j, size_t at);

#endif

/* Top-level groups of context keys, to merge a batch's context field by field. */
enum {
    CTXG_IP = 1 << 0,
    CTXG_UA = 1 << 1,
    CTXG_LOCALE = 1 << 2,
    CTXG_TZ = 1 << 3,
    CTXG_PAGE = 1 << 4,
    CTXG_CAMPAIGN = 1 << 5,
    CTXG_SESSION = 1 << 6,
    CTXG_LOCATION = 1 << 7,
    CTXG_LIBRARY = 1 << 8,
    CTXG_DEVICE = 1 << 9,
    CTXG_TRAITS = 1 << 10,
};
#define SEG_MAX_CTX_KEYS 32

/* Where an object's members lie, recorded as it is parsed, so that an event is
 * normalized without reading its text again: the members keyed as SPAN_* says may be
 * left out. Usable when the object is compact (nothing but a ',' between members). */
enum { SPAN_CONTEXT = 1, SPAN_INTEGRATIONS = 2, SPAN_IP = 4 };
#define SEG_MAX_MARKED 4
typedef struct seg_spans {
    const char *obj; /* the object's '{' (NULL: none recorded) */
    size_t bytes;    /* the members' bytes, each from its key's quote to its value's end */
    int n, n_marked; /* members; marked ones (beyond SEG_MAX_MARKED: not usable) */
    struct {
        const char *s, *e;
        int mark;
    } marked[SEG_MAX_MARKED];
} seg_spans;

typedef struct seg_elem seg_elem;

/* State of decoding one event object: the first semantic problem found, kept
 * while parsing goes on so that a later syntax error still wins. */
typedef struct seg_state {
    cp_reject_reason sem_reason;
    int sem_err;
    char sem_msg[160];
    cp_slice batch;   /* top level "batch": raw array text (envelopes) */
    seg_elem **elems; /* its elements, decoded, when batch is set */
    size_t n_elems;
    int has_type;
    cp_slice type_name;
    cp_slice name;     /* the top-level "name": a page's or screen's name (never a track's event) */
    bool received_own; /* the event carried a receivedAt of its own */
    uint32_t ctx_groups; /* CTXG_* seen in the event's context */
    int n_ctx_keys;      /* top-level context keys (may exceed SEG_MAX_CTX_KEYS) */
    cp_slice ctx_keys[SEG_MAX_CTX_KEYS];
    seg_spans top, ctx; /* the event object's members, its context's */
} seg_state;

/* One element of a batch envelope, decoded in the envelope's single pass. */
struct seg_elem {
    cp_event ev;
    seg_state st;
    cp_slice raw;
    int not_object;
};

/* Parses the event object at the cursor into ev (zeroed by the caller).
 * Syntax problems go to jr->err, semantic ones to st. */
void seg_parse_event(cp_jr *jr, seg_state *st, cp_event *ev, size_t max_elems);
/* Parses a context object's text into ctx (used for merged batch contexts). */
void seg_parse_context_text(cp_jr *jr, seg_state *st, cp_slice text, cp_event_context *ctx,
                            cp_slice *email);
/* Records the first semantic problem. */
void seg_fail(seg_state *st, cp_reject_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
