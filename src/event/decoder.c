/* Documents and streams: single messages, batch envelopes (with the batch's
 * context, integrations and sentAt merged into each event), JSON Lines fed in
 * pieces; the checks that make a decoded object an event (type, name,
 * identity, time) and the clock-skew correction of DESIGN.md section 3. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <xxhash.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define RAW_SAMPLE_MAX 4096

struct cp_event_decoder {
    cp_decode_options o;
    cp_decode_sink sink;
    cp_arena arena;
    cp_buf pending; /* a line split across feeds */
    int pending_too_long;
    uint64_t line_no;     /* lines completed so far */
    uint64_t cur_line;    /* line being decoded, 0 outside JSON Lines */
    uint64_t fed;         /* stream position of the next byte fed */
    uint64_t pending_pos; /* stream position where the pending line starts */
    uint64_t cur_pos;     /* position of the line being decoded */
    uint32_t cur_index;   /* place in the batch of the element being decoded */
};

static const char *const type_names[] = {
#define X(id, name) name,
    CP_EVENT_TYPES(X)
#undef X
};
static const char *const kind_names[] = {
#define X(id, s, spec) s,
    CP_EVENT_KINDS(X)
#undef X
};
static const char *const kind_spec_names[] = {
#define X(id, s, spec) spec,
    CP_EVENT_KINDS(X)
#undef X
};
static const char *const reason_names[] = {
#define X(id, name) name,
    CP_REJECT_REASONS(X)
#undef X
};

const char *cp_event_type_name(cp_event_type t)
{
    return (unsigned)t < CP_TYPE__COUNT ? type_names[t] : "?";
}

const char *cp_event_kind_name(cp_event_kind k)
{
    return (unsigned)k < CP_KIND__COUNT ? kind_names[k] : "?";
}

const char *cp_event_kind_spec_name(cp_event_kind k)
{
    return (unsigned)k < CP_KIND__COUNT ? kind_spec_names[k] : "";
}

const char *cp_reject_reason_name(cp_reject_reason r)
{
    return (unsigned)r < CP_REJECT__COUNT ? reason_names[r] : "?";
}

cp_event_kind cp_event_kind_of_track(cp_slice name)
{
    for (int k = CP_KIND_PRODUCT_VIEWED; k < CP_KIND_CUSTOM; k++) {
        if (cp_slice_eq_lit(name, kind_spec_names[k]) || cp_slice_eq_lit(name, kind_names[k]))
            return (cp_event_kind)k;
    }
    return CP_KIND_CUSTOM;
}

void cp_decode_options_default(cp_decode_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_event_bytes = 32 * 1024;
    o->max_line_bytes = 500 * 1024;
    o->max_batch_events = 2500;
    o->max_depth = 64;
}

/* Everything but the memory: fresh state, the options (or the defaults) and the sink. */
static void setup(cp_event_decoder *d, const cp_decode_options *opts, cp_decode_sink sink)
{
    cp_arena a = d->arena;
    cp_buf pending = d->pending;
    memset(d, 0, sizeof(*d));
    d->arena = a;
    d->pending = pending;
    if (opts)
        d->o = *opts;
    else
        cp_decode_options_default(&d->o);
    if (d->o.max_depth <= 0) d->o.max_depth = 64;
    d->sink = sink;
}

cp_event_decoder *cp_event_decoder_new(const cp_decode_options *opts, cp_decode_sink sink)
{
    cp_event_decoder *d = cp_calloc(1, sizeof(*d));
    if (!d) return NULL;
    cp_arena_init(&d->arena, 256 * 1024);
    cp_buf_init(&d->pending);
    setup(d, opts, sink);
    return d;
}

void cp_event_decoder_reset(cp_event_decoder *d, const cp_decode_options *opts, cp_decode_sink sink)
{
    cp_arena_reset(&d->arena); /* keeps its first block */
    cp_buf_reset(&d->pending);
    setup(d, opts, sink);
}

void cp_event_decoder_free(cp_event_decoder *d)
{
    if (!d) return;
    cp_arena_free(&d->arena);
    cp_buf_free(&d->pending);
    cp_free(d);
}

void cp_event_decoder_set_received_at(cp_event_decoder *d, int64_t ms)
{
    d->o.received_at_ms = ms;
}

static int reject(cp_event_decoder *d, cp_reject_reason r, const char *detail, cp_slice raw)
{
    if (!d->sink.on_reject) return CP_OK;
    cp_reject rej = {
        .reason = r, .raw = raw, .line = d->cur_line, .pos = d->cur_pos, .index = d->cur_index};
    snprintf(rej.detail, sizeof(rej.detail), "%s", detail);
    if (rej.raw.len > RAW_SAMPLE_MAX && r == CP_REJECT_TOO_LARGE) rej.raw.len = RAW_SAMPLE_MAX;
    return d->sink.on_reject(d->sink.ud, &rej);
}

static int find_type(cp_slice name, cp_event_type *out)
{
    for (int t = 0; t < CP_TYPE__COUNT; t++) {
        if (cp_slice_eq_lit(name, type_names[t])) {
            *out = (cp_event_type)t;
            return 1;
        }
    }
    return 0;
}

/* Event time per docs/events.md. The receive time is fixed here, once: the input's own
 * receivedAt when trusted, else the server's (the option), else the clock now — and the
 * log keeps it, so that every later decode (the silver writer, a replay) gives the same
 * time. Returns 0 when there is no time at all. */
static int resolve_time(cp_event_decoder *d, seg_state *st, cp_event *ev)
{
    st->received_own = (ev->flags & CP_HAS_RECEIVED_AT) != 0;
    if (!(d->o.trust_received_at && (ev->flags & CP_HAS_RECEIVED_AT))) {
        ev->received_at_ms = d->o.received_at_ms > 0 ? d->o.received_at_ms : cp_now_ms();
        ev->flags |= CP_HAS_RECEIVED_AT;
    }
    uint32_t skew = CP_HAS_ORIGINAL_TIMESTAMP | CP_HAS_SENT_AT | CP_HAS_RECEIVED_AT;
    if ((ev->flags & skew) == skew)
        ev->time_ms = ev->received_at_ms - (ev->sent_at_ms - ev->original_timestamp_ms);
    else if (ev->flags & CP_HAS_TIMESTAMP)
        ev->time_ms = ev->timestamp_ms;
    else if (ev->flags & CP_HAS_ORIGINAL_TIMESTAMP)
        ev->time_ms = ev->original_timestamp_ms;
    else if (ev->flags & CP_HAS_RECEIVED_AT)
        ev->time_ms = ev->received_at_ms;
    else
        return 0;
    return 1;
}

/* Semantic checks after a syntactically valid parse; returns 0 and fills st when bad. */
static int finish_event(cp_event_decoder *d, seg_state *st, cp_event *ev)
{
    if (st->sem_err) return 0;
    if (!st->has_type) {
        if (!d->o.has_default_type)
            return seg_fail(st, CP_REJECT_MISSING_FIELD, "type: missing"), 0;
        ev->type = d->o.default_type;
    } else if (!find_type(st->type_name, &ev->type)) {
        return seg_fail(st, CP_REJECT_UNKNOWN_TYPE, "type: unknown message type '%.*s'",
                        (int)(st->type_name.len > 32 ? 32 : st->type_name.len), st->type_name.ptr),
               0;
    }
    if (ev->type != CP_TYPE_TRACK && !ev->event_name.ptr) ev->event_name = st->name;
    if (ev->type == CP_TYPE_TRACK) {
        if (ev->event_name.len == 0)
            return seg_fail(st, CP_REJECT_MISSING_FIELD, "event: a track call needs an event name"),
                   0;
        ev->kind = cp_event_kind_of_track(ev->event_name);
    } else {
        static const cp_event_kind by_type[] = {CP_KIND_CUSTOM,   CP_KIND_PAGE,  CP_KIND_SCREEN,
                                                CP_KIND_IDENTIFY, CP_KIND_GROUP, CP_KIND_ALIAS};
        ev->kind = by_type[ev->type];
    }
    if (ev->user_id.len == 0 && ev->anonymous_id.len == 0)
        return seg_fail(st, CP_REJECT_MISSING_IDENTITY, "neither userId nor anonymousId is set"), 0;
    if (!resolve_time(d, st, ev))
        return seg_fail(st, CP_REJECT_MISSING_FIELD,
                        "timestamp: none of timestamp, originalTimestamp or receivedAt is set"),
               0;
    if (ev->raw.len > d->o.max_event_bytes)
        return seg_fail(st, CP_REJECT_TOO_LARGE, "event of %zu bytes exceeds the limit of %zu",
                        ev->raw.len, d->o.max_event_bytes),
               0;
    return 1;
}

/* What an element took from outside its own text (its batch, the connection). */
enum { TOOK_CONTEXT = 1, TOOK_INTEGRATIONS = 2, TOOK_SENT_AT = 4 };

static int put(char **w, const char *s, size_t n, int *first)
{
    if (!*first) *(*w)++ = ',';
    *first = 0;
    memcpy(*w, s, n);
    *w += n;
    return CP_OK;
}

int cp_ip_anonymize(char *ip)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        ((unsigned char *)&a4)[3] = 0;
        return inet_ntop(AF_INET, &a4, ip, INET6_ADDRSTRLEN) != NULL;
    }
    if (inet_pton(AF_INET6, ip, &a6) == 1) {
        memset(a6.s6_addr + 6, 0, 10);
        return inet_ntop(AF_INET6, &a6, ip, INET6_ADDRSTRLEN) != NULL;
    }
    return 0;
}

/* The members of a JSON object's text (already validated) to *w, as they are, but for
 * those keyed as skip says (SPAN_*): read again. */
static void copy_members(cp_event_decoder *d, char **w, cp_slice obj, int skip, int *first)
{
    static const cp_slice names[] = {CP_SLICE_LIT("context"), CP_SLICE_LIT("integrations"),
                                     CP_SLICE_LIT("ip")};
    cp_jr j;
    cp_slice k;
    jr_init(&j, obj.ptr, obj.len, &d->arena, d->o.max_depth + 2);
    jr_obj_begin(&j);
    for (;;) {
        const char *before = j.p;
        if (!jr_obj_next(&j, &k)) break;
        while (*before != '"') before++;
        jr_skip(&j, NULL);
        int left_out = 0;
        for (int i = 0; i < 3 && !left_out; i++)
            left_out = (skip & (1 << i)) && cp_slice_eq(k, names[i]);
        if (!left_out) put(w, before, (size_t)(j.p - before), first);
    }
}

/* The same from where the parse saw the members (sp), without reading the text again;
 * 0 when sp does not describe obj or obj is not compact. */
static int copy_spans(char **w, cp_slice obj, const seg_spans *sp, int skip, int *first)
{
    if (sp->obj != obj.ptr || sp->n_marked > SEG_MAX_MARKED ||
        obj.len != 2 + sp->bytes + (size_t)(sp->n ? sp->n - 1 : 0))
        return 0;
    const char *at = obj.ptr + 1, *end = obj.ptr + obj.len - 1;
    for (int i = 0; i <= sp->n_marked; i++) {
        if (i < sp->n_marked && !(sp->marked[i].mark & skip)) continue;
        const char *a = at, *b = i < sp->n_marked ? sp->marked[i].s : end;
        if (a < b && *a == ',') a++; /* the commas around a member left out */
        if (b > a && b[-1] == ',') b--;
        if (b > a) put(w, a, (size_t)(b - a), first);
        if (i < sp->n_marked) at = sp->marked[i].e;
    }
    return 1;
}

static void copy_object(cp_event_decoder *d, char **w, cp_slice obj, const seg_spans *sp, int skip,
                        int *first)
{
    if (!copy_spans(w, obj, sp, skip, first)) copy_members(d, w, obj, skip, first);
}

/* The context text with "ip" first (set to ip) and its other members after; *ip_out
 * gets the address as written. */
static cp_slice context_with_ip(cp_event_decoder *d, char **w, cp_slice ctx, const seg_spans *sp,
                                cp_slice ip, cp_slice *ip_out)
{
    char *start = *w;
    memcpy(*w, "{\"ip\":\"", 7);
    *w += 7;
    memcpy(*w, ip.ptr, ip.len); /* addresses hold no characters JSON escapes */
    *ip_out = (cp_slice){*w, ip.len};
    *w += ip.len;
    *(*w)++ = '"';
    int first = 0;
    if (ctx.len) copy_object(d, w, ctx, sp, SPAN_IP, &first);
    *(*w)++ = '}';
    return (cp_slice){start, (size_t)(*w - start)};
}

/* Rebuilds ev->raw as a self-contained event (see cp_event_decode). */
static int normalize(cp_event_decoder *d, const seg_state *st, cp_event *ev, int took,
                     cp_slice add_ip)
{
    char id[20];
    int add_type = !st->has_type, add_id = ev->message_id.len == 0;
    if (!add_type && !took && !add_id && !add_ip.len) return CP_OK;
    if (add_id) {
        /* from the content: an exact resend is the same message (a duplicate), wherever
         * it comes; an event without a time of its own happens when it is received, so
         * its receive time is part of it */
        uint64_t own = CP_HAS_TIMESTAMP | CP_HAS_ORIGINAL_TIMESTAMP;
        bool own_time = (ev->flags & own) || (d->o.trust_received_at && st->received_own);
        uint64_t h =
            XXH3_64bits_withSeed(ev->raw.ptr, ev->raw.len, own_time ? 0 : (uint64_t)ev->time_ms);
        memcpy(id, "cp-", 3);
        for (int i = 0; i < 16; i++) id[3 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
    }
    size_t cap = ev->raw.len + ev->context.len + ev->integrations.len + add_ip.len + 160;
    char *buf = cp_arena_alloc(&d->arena, cap), *w = buf;
    if (!buf) return CP_ENOMEM;
    int first = 1, new_ctx = (took & TOOK_CONTEXT) || add_ip.len;
    *w++ = '{';
    copy_object(d, &w, ev->raw, &st->top,
                (new_ctx ? SPAN_CONTEXT : 0) | (took & TOOK_INTEGRATIONS ? SPAN_INTEGRATIONS : 0),
                &first);
    if (add_type) {
        const char *type = cp_event_type_name(ev->type);
        put(&w, "\"type\":\"", 8, &first);
        size_t n = strlen(type);
        memcpy(w, type, n), w += n, *w++ = '"';
    }
    if (add_id) {
        put(&w, "\"messageId\":\"", 13, &first);
        memcpy(w, id, 19), w += 19, *w++ = '"';
        ev->message_id = (cp_slice){w - 20, 19};
    }
    if (took & TOOK_SENT_AT) {
        put(&w, "\"sentAt\":\"", 10, &first);
        w += cp_time_format(ev->sent_at_ms, w);
        *w++ = '"';
    }
    if (new_ctx) {
        put(&w, "\"context\":", 10, &first);
        if (add_ip.len) {
            ev->context = context_with_ip(d, &w, ev->context, &st->ctx, add_ip, &ev->ctx.ip);
        } else {
            memcpy(w, ev->context.ptr, ev->context.len);
            ev->context = (cp_slice){w, ev->context.len};
            w += ev->context.len;
        }
    }
    if (took & TOOK_INTEGRATIONS) {
        put(&w, "\"integrations\":", 15, &first);
        memcpy(w, ev->integrations.ptr, ev->integrations.len);
        w += ev->integrations.len;
    }
    *w++ = '}';
    ev->raw = (cp_slice){buf, (size_t)(w - buf)};
    return CP_OK;
}

static int emit_took(cp_event_decoder *d, seg_state *st, cp_event *ev, cp_slice raw, int took)
{
    if (!finish_event(d, st, ev)) return reject(d, st->sem_reason, st->sem_msg, raw);
    cp_slice add_ip = ev->ctx.ip.len ? CP_SLICE_NULL : d->o.client_ip;
    char anon[INET6_ADDRSTRLEN];
    if (d->o.anonymize_ip && ev->ctx.ip.len && ev->ctx.ip.len < sizeof(anon)) {
        memcpy(anon, ev->ctx.ip.ptr, ev->ctx.ip.len);
        anon[ev->ctx.ip.len] = 0;
        if (cp_ip_anonymize(anon) && !cp_slice_eq(cp_slice_from(anon), ev->ctx.ip))
            add_ip = cp_slice_from(anon); /* the context is rewritten with it */
    }
    if (normalize(d, st, ev, took, add_ip)) return CP_ENOMEM;
    ev->pos = d->cur_pos;
    ev->line = d->cur_line;
    ev->index = d->cur_index;
    return d->sink.on_event ? d->sink.on_event(d->sink.ud, ev) : CP_OK;
}

static int emit(cp_event_decoder *d, seg_state *st, cp_event *ev, cp_slice raw)
{
    return emit_took(d, st, ev, raw, 0);
}

/* Shallow merge of two JSON objects: a's members, then b's whose keys a lacks.
 * Both are already validated; members are copied as raw text. */
static int merge_objects(cp_event_decoder *d, cp_slice a, cp_slice b, cp_slice *out)
{
    char *buf = cp_arena_alloc(&d->arena, a.len + b.len + 2), *w = buf;
    cp_slice *keys = NULL;
    size_t nkeys = 0, cap = 0;
    cp_jr j;
    cp_slice k;
    if (!buf) return CP_ENOMEM;
    jr_init(&j, a.ptr, a.len, &d->arena, d->o.max_depth + 2);
    jr_obj_begin(&j);
    const char *members = j.p;
    while (jr_obj_next(&j, &k)) {
        if (nkeys == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cp_slice *nk = cp_arena_alloc(&d->arena, ncap * sizeof(*nk));
            if (!nk) return CP_ENOMEM;
            if (cap) memcpy(nk, keys, cap * sizeof(*nk));
            keys = nk;
            cap = ncap;
        }
        keys[nkeys++] = k;
        jr_skip(&j, NULL);
    }
    *w++ = '{';
    size_t written = nkeys;
    size_t alen = (size_t)(j.p - 1 - members); /* a's members, without its '}' */
    memcpy(w, members, alen);
    w += alen;
    jr_init(&j, b.ptr, b.len, &d->arena, d->o.max_depth + 2);
    jr_obj_begin(&j);
    for (;;) {
        const char *before = j.p;
        if (!jr_obj_next(&j, &k)) break;
        while (*before != '"') before++; /* only blanks and ',' precede the key */
        jr_skip(&j, NULL);
        int dup = 0;
        for (size_t i = 0; i < nkeys && !dup; i++) dup = cp_slice_eq(keys[i], k);
        if (dup) continue;
        if (written++) *w++ = ',';
        memcpy(w, before, (size_t)(j.p - before));
        w += j.p - before;
    }
    *w++ = '}';
    *out = (cp_slice){buf, (size_t)(w - buf)};
    return CP_OK;
}

/* Members of a batch's context, split once per envelope for the merges. */
#define BATCH_CTX_MAX 64
typedef struct batch_defaults {
    cp_slice context, integrations;
    cp_event_context ctx;
    cp_slice ctx_email;
    int64_t sent_at_ms;
    int has_sent_at;
    int n_members; /* -1: too many to split, merge the slow way */
    cp_slice keys[BATCH_CTX_MAX], members[BATCH_CTX_MAX];
} batch_defaults;

static void split_members(cp_event_decoder *d, batch_defaults *bd)
{
    cp_jr j;
    cp_slice k;
    jr_init(&j, bd->context.ptr, bd->context.len, &d->arena, d->o.max_depth + 2);
    jr_obj_begin(&j);
    bd->n_members = 0;
    for (;;) {
        const char *before = j.p;
        if (!jr_obj_next(&j, &k)) break;
        while (*before != '"') before++; /* only blanks and ',' precede the key */
        jr_skip(&j, NULL);
        if (bd->n_members == BATCH_CTX_MAX) {
            bd->n_members = -1;
            return;
        }
        bd->keys[bd->n_members] = k;
        bd->members[bd->n_members++] = (cp_slice){before, (size_t)(j.p - before)};
    }
}

/* The batch's context fields fill the groups the element's context lacks. */
static void merge_context_fields(cp_event *ev, uint32_t have, const batch_defaults *bd)
{
    cp_event_context *c = &ev->ctx;
    const cp_event_context *b = &bd->ctx;
    if (!(have & CTXG_IP)) c->ip = b->ip;
    if (!(have & CTXG_UA)) c->user_agent = b->user_agent;
    if (!(have & CTXG_LOCALE)) c->locale = b->locale;
    if (!(have & CTXG_TZ)) c->timezone = b->timezone;
    if (!(have & CTXG_PAGE)) {
        c->page_url = b->page_url, c->page_path = b->page_path, c->page_referrer = b->page_referrer;
        c->page_title = b->page_title, c->page_search = b->page_search;
    }
    if (!(have & CTXG_CAMPAIGN)) {
        c->campaign_source = b->campaign_source, c->campaign_medium = b->campaign_medium;
        c->campaign_name = b->campaign_name, c->campaign_term = b->campaign_term;
        c->campaign_content = b->campaign_content;
    }
    if (!(have & CTXG_SESSION)) c->session_id = b->session_id;
    if (!(have & CTXG_LOCATION)) c->country = b->country, c->city = b->city;
    if (!(have & CTXG_LIBRARY))
        c->library_name = b->library_name, c->library_version = b->library_version;
    if (!(have & CTXG_DEVICE)) c->device_type = b->device_type;
    if (!(have & CTXG_TRAITS) && !ev->email.ptr) ev->email = bd->ctx_email;
}

/* The element's context text followed by the batch members it does not have. */
static int merge_context_text(cp_event_decoder *d, seg_elem *el, const batch_defaults *bd)
{
    cp_slice a = el->ev.context;
    char *buf = cp_arena_alloc(&d->arena, a.len + bd->context.len + 2), *w = buf;
    if (!buf) return CP_ENOMEM;
    memcpy(w, a.ptr, a.len - 1); /* without its '}' */
    w += a.len - 1;
    int n = el->st.n_ctx_keys;
    for (int i = 0; i < bd->n_members; i++) {
        int dup = 0;
        for (int j = 0; j < n && !dup; j++) dup = cp_slice_eq(el->st.ctx_keys[j], bd->keys[i]);
        if (dup) continue;
        if (n++) *w++ = ',';
        memcpy(w, bd->members[i].ptr, bd->members[i].len);
        w += bd->members[i].len;
    }
    *w++ = '}';
    el->ev.context = (cp_slice){buf, (size_t)(w - buf)};
    return CP_OK;
}

static int merge_context(cp_event_decoder *d, seg_elem *el, const batch_defaults *bd)
{
    cp_event *ev = &el->ev;
    if (!ev->context.ptr) {
        ev->context = bd->context;
        ev->ctx = bd->ctx;
        if (!ev->email.ptr) ev->email = bd->ctx_email;
        return CP_OK;
    }
    if (bd->n_members >= 0 && el->st.n_ctx_keys <= SEG_MAX_CTX_KEYS) {
        merge_context_fields(ev, el->st.ctx_groups, bd);
        return merge_context_text(d, el, bd);
    }
    if (merge_objects(d, ev->context, bd->context, &ev->context)) return CP_ENOMEM;
    cp_jr mj = {.arena = &d->arena, .max_depth = d->o.max_depth + 2};
    cp_slice email = {0};
    seg_parse_context_text(&mj, &el->st, ev->context, &ev->ctx, &email);
    if (!ev->email.ptr) ev->email = email;
    return CP_OK;
}

/* One element of a batch: merge the batch's shared fields, then emit. */
static int emit_element(cp_event_decoder *d, seg_elem *el, const batch_defaults *bd)
{
    char msg[96];
    if (el->not_object)
        return reject(d, CP_REJECT_WRONG_TYPE, "batch element: expected an object", el->raw);
    if (el->raw.len > d->o.max_event_bytes) {
        snprintf(msg, sizeof(msg), "event of %zu bytes exceeds the limit of %zu", el->raw.len,
                 d->o.max_event_bytes);
        return reject(d, CP_REJECT_TOO_LARGE, msg, el->raw);
    }
    cp_event *ev = &el->ev;
    if (el->st.batch.ptr)
        seg_fail(&el->st, CP_REJECT_WRONG_TYPE, "batch: nested batch envelopes are not allowed");
    int took = 0;
    if (bd->has_sent_at && !(ev->flags & CP_HAS_SENT_AT)) {
        ev->sent_at_ms = bd->sent_at_ms;
        ev->flags |= CP_HAS_SENT_AT;
        took |= TOOK_SENT_AT;
    }
    if (bd->context.ptr) {
        if (merge_context(d, el, bd)) return CP_ENOMEM;
        took |= TOOK_CONTEXT;
    }
    if (bd->integrations.ptr) {
        if (!ev->integrations.ptr)
            ev->integrations = bd->integrations;
        else if (merge_objects(d, ev->integrations, bd->integrations, &ev->integrations))
            return CP_ENOMEM;
        took |= TOOK_INTEGRATIONS;
    }
    return emit_took(d, &el->st, ev, el->raw, took);
}

static int decode_envelope(cp_event_decoder *d, seg_state *top, const cp_event *env, cp_slice raw)
{
    batch_defaults bd = {.context = env->context, .integrations = env->integrations};
    if (top->n_elems > d->o.max_batch_events) {
        char msg[96];
        snprintf(msg, sizeof(msg), "batch of %zu events exceeds the limit of %zu", top->n_elems,
                 d->o.max_batch_events);
        return reject(d, CP_REJECT_TOO_MANY_EVENTS, msg, raw);
    }
    if (top->sem_err) return reject(d, top->sem_reason, top->sem_msg, raw);
    if (env->flags & CP_HAS_SENT_AT) {
        bd.sent_at_ms = env->sent_at_ms;
        bd.has_sent_at = 1;
    }
    bd.ctx = env->ctx;
    bd.ctx_email = env->email;
    if (bd.context.ptr) split_members(d, &bd);
    int rc = CP_OK;
    for (size_t i = 0; i < top->n_elems && rc == CP_OK; i++) {
        d->cur_index = (uint32_t)i + 1;
        rc = emit_element(d, top->elems[i], &bd);
    }
    d->cur_index = 0;
    return rc;
}

static cp_slice trim_blank(const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    while (n && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) s++, n--;
    return (cp_slice){s, n};
}

static int decode_doc(cp_event_decoder *d, const char *json, size_t len)
{
    cp_slice raw = trim_blank(json, len);
    if (raw.len > d->o.max_line_bytes) {
        char msg[96];
        snprintf(msg, sizeof(msg), "document of %zu bytes exceeds the limit of %zu", raw.len,
                 d->o.max_line_bytes);
        return reject(d, CP_REJECT_TOO_LARGE, msg, raw);
    }
    cp_jr jr;
    seg_state st = {0};
    cp_event ev = {0};
    jr_init(&jr, raw.ptr, raw.len, &d->arena, d->o.max_depth);
    jr_kind k = jr_peek(&jr);
    if (k != JR_OBJECT) {
        if (!jr.err && jr_skip(&jr, NULL) && jr_end(&jr))
            return reject(d, CP_REJECT_WRONG_TYPE, "expected a JSON object", raw);
        return reject(d, (cp_reject_reason)(jr.err - 1), jr.msg, raw);
    }
    seg_parse_event(&jr, &st, &ev, d->o.max_batch_events);
    jr_end(&jr);
    if (jr.err) return reject(d, (cp_reject_reason)(jr.err - 1), jr.msg, raw);
    if (st.batch.ptr && !st.has_type) return decode_envelope(d, &st, &ev, raw);
    return emit(d, &st, &ev, raw);
}

int cp_event_decode(cp_event_decoder *d, const char *json, size_t len)
{
    cp_arena_reset(&d->arena);
    return decode_doc(d, json, len);
}

void cp_event_decoder_set_position(cp_event_decoder *d, uint64_t pos, uint64_t line)
{
    d->fed = pos;
    d->line_no = line;
}

uint64_t cp_event_decoder_resume_position(const cp_event_decoder *d, uint64_t *line)
{
    *line = d->line_no;
    return d->pending.len || d->pending_too_long ? d->pending_pos : d->fed;
}

/* Decodes one complete line (without its newline). */
static int decode_line(cp_event_decoder *d, const char *s, size_t n)
{
    d->cur_line = ++d->line_no;
    cp_slice t = trim_blank(s, n);
    int rc = t.len ? decode_doc(d, t.ptr, t.len) : CP_OK;
    d->cur_line = 0;
    return rc;
}

static int reject_long_line(cp_event_decoder *d)
{
    char msg[96];
    d->cur_line = ++d->line_no;
    snprintf(msg, sizeof(msg), "line longer than %zu bytes", d->o.max_line_bytes);
    d->cur_pos = d->pending_pos;
    int rc = reject(d, CP_REJECT_TOO_LARGE, msg, cp_buf_slice(&d->pending));
    d->cur_line = 0;
    d->pending_too_long = 0;
    cp_buf_reset(&d->pending);
    return rc;
}

/* Keeps the start of an unfinished line; past the limit only a sample is kept. */
static int keep_pending(cp_event_decoder *d, const char *s, size_t n)
{
    if (d->pending_too_long) return CP_OK;
    if (d->pending.len == 0) d->pending_pos = d->fed;
    if (d->pending.len + n > d->o.max_line_bytes) {
        size_t room = d->pending.len < RAW_SAMPLE_MAX ? RAW_SAMPLE_MAX - d->pending.len : 0;
        d->pending_too_long = 1;
        if (d->pending.len > RAW_SAMPLE_MAX) d->pending.len = RAW_SAMPLE_MAX;
        return cp_buf_append(&d->pending, s, n < room ? n : room);
    }
    return cp_buf_append(&d->pending, s, n);
}

/* Completes the pending line with s[0..n) and decodes it from an arena copy. */
static int finish_pending(cp_event_decoder *d, const char *s, size_t n)
{
    if (d->pending_too_long || d->pending.len + n > d->o.max_line_bytes) {
        if (keep_pending(d, s, n)) return CP_ENOMEM;
        return reject_long_line(d);
    }
    size_t total = d->pending.len + n;
    d->cur_pos = d->pending_pos;
    char *line = cp_arena_alloc(&d->arena, total + 1);
    if (!line) return CP_ENOMEM;
    memcpy(line, d->pending.ptr, d->pending.len);
    memcpy(line + d->pending.len, s, n);
    cp_buf_reset(&d->pending);
    return decode_line(d, line, total);
}

int cp_event_decoder_feed(cp_event_decoder *d, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    uint64_t base = d->fed;
    int rc = CP_OK;
    cp_arena_reset(&d->arena);
    if (d->pending.len || d->pending_too_long) {
        const char *nl = memchr(p, '\n', len);
        if (!nl) {
            rc = keep_pending(d, p, len);
            d->fed = base + len;
            return rc;
        }
        rc = finish_pending(d, p, (size_t)(nl - p));
        p = nl + 1;
    }
    while (rc == CP_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        d->cur_pos = base + (uint64_t)(p - buf);
        rc = decode_line(d, p, (size_t)(nl - p));
        p = nl + 1;
    }
    if (rc == CP_OK && p < end) {
        d->fed = base + (uint64_t)(p - buf);
        rc = keep_pending(d, p, (size_t)(end - p));
    }
    d->fed = base + len;
    return rc;
}

int cp_event_decoder_finish(cp_event_decoder *d)
{
    if (d->pending_too_long) return reject_long_line(d);
    if (!d->pending.len) return CP_OK;
    cp_arena_reset(&d->arena);
    return finish_pending(d, "", 0);
}
