/* Segment spec fields: the walk over one event object that fills cp_event.
 * Known fields are type-checked (null counts as absent); unknown ones are
 * validated and skipped; properties, traits, context and integrations are
 * also kept as raw JSON text. */
#include "internal.h"

#include "clickpulse/time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Where a field is, for messages: "a", "a.b" or "a[i].b"; formatted only on error. */
typedef struct fpath {
    const char *a;
    int idx;
    const char *b;
} fpath;
#define FP(a)     ((fpath){(a), -1, NULL})
#define FP2(a, b) ((fpath){(a), -1, (b)})

static const char *path_str(fpath p, char *buf, size_t n)
{
    if (p.idx >= 0)
        snprintf(buf, n, "%s[%d]%s%s", p.a, p.idx, p.b ? "." : "", p.b ? p.b : "");
    else
        snprintf(buf, n, "%s%s%s", p.a, p.b ? "." : "", p.b ? p.b : "");
    return buf;
}

#define KEY_IS(k, lit) ((k).len == sizeof(lit) - 1 && memcmp((k).ptr, lit, sizeof(lit) - 1) == 0)

void seg_fail(seg_state *st, cp_reject_reason r, const char *fmt, ...)
{
    if (st->sem_err) return;
    st->sem_err = 1;
    st->sem_reason = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->sem_msg, sizeof(st->sem_msg), fmt, ap);
    va_end(ap);
}

static void wrong_type(cp_jr *jr, seg_state *st, fpath path, const char *want, jr_kind got)
{
    char b[96];
    seg_fail(st, CP_REJECT_WRONG_TYPE, "%s: expected %s, got %s", path_str(path, b, sizeof(b)),
             want, jr_kind_name(got));
    jr_skip(jr, NULL);
}

/* A string field; with ids_ok a number is accepted and kept as its text. */
static void str_field(cp_jr *jr, seg_state *st, fpath path, cp_slice *out, int ids_ok)
{
    jr_kind k = jr_peek(jr);
    if (k == JR_STRING) {
        jr_string(jr, out);
    } else if (k == JR_NULL) {
        jr_skip(jr, NULL);
    } else if (k == JR_NUMBER && ids_ok) {
        double v;
        jr_number(jr, &v, out);
    } else if (k != JR_NONE) {
        wrong_type(jr, st, path, "a string", k);
    }
}

static void time_field(cp_jr *jr, seg_state *st, const char *path, int64_t *ms, uint32_t *flags,
                       uint32_t flag)
{
    jr_kind k = jr_peek(jr);
    cp_slice s;
    fpath fp = FP(path);
    if (k == JR_STRING) {
        if (!jr_string(jr, &s)) return;
        if (cp_time_parse(s.ptr, s.len, ms) == 0) {
            *flags |= flag;
        } else {
            seg_fail(st, CP_REJECT_BAD_TIMESTAMP, "%s: not an RFC 3339 timestamp: '%.*s'", path,
                     (int)(s.len > 40 ? 40 : s.len), s.ptr);
        }
    } else if (k == JR_NULL) {
        jr_skip(jr, NULL);
    } else if (k != JR_NONE) {
        wrong_type(jr, st, fp, "an RFC 3339 timestamp string", k);
    }
}

/* A number field; numeric strings ("19.99") are accepted. Returns 1 when set. */
static int num_field(cp_jr *jr, seg_state *st, fpath path, double *out)
{
    jr_kind k = jr_peek(jr);
    cp_slice s;
    char b[96];
    if (k == JR_NUMBER) {
        return jr_number(jr, out, &s) && isfinite(*out);
    } else if (k == JR_STRING) {
        if (!jr_string(jr, &s)) return 0;
        if (jr_parse_number_text(s.ptr, s.len, out) && isfinite(*out)) return 1;
        seg_fail(st, CP_REJECT_WRONG_TYPE, "%s: expected a number, got the string '%.*s'",
                 path_str(path, b, sizeof(b)), (int)(s.len > 32 ? 32 : s.len), s.ptr);
    } else if (k == JR_NULL) {
        jr_skip(jr, NULL);
    } else if (k != JR_NONE) {
        wrong_type(jr, st, path, "a number", k);
    }
    return 0;
}

/* A money field (number or numeric string) read exactly into hundredths; an amount
 * DECIMAL(18,2) cannot hold is rejected (out_of_range, invalid_value past the cents).
 * Returns 1 when set. */
static int money_field(cp_jr *jr, seg_state *st, fpath path, cp_money *out)
{
    jr_kind k = jr_peek(jr);
    cp_slice s;
    char b[96];
    if (k == JR_NUMBER) {
        if (!jr_number_text(jr, &s)) return 0;
    } else if (k == JR_STRING) {
        if (!jr_string(jr, &s)) return 0;
    } else {
        if (k == JR_NULL)
            jr_skip(jr, NULL);
        else if (k != JR_NONE)
            wrong_type(jr, st, path, "a number", k);
        return 0;
    }
    int len = (int)(s.len > 32 ? 32 : s.len);
    switch (cp_money_parse(s.ptr, s.len, out)) {
    case CP_MONEY_OK:
        return 1;
    case CP_MONEY_RANGE:
        seg_fail(st, CP_REJECT_OUT_OF_RANGE,
                 "%s: %.*s is beyond the largest amount, 9999999999999999.99",
                 path_str(path, b, sizeof(b)), len, s.ptr);
        return 0;
    case CP_MONEY_PRECISION:
        seg_fail(st, CP_REJECT_INVALID_VALUE, "%s: %.*s has more than two decimal places",
                 path_str(path, b, sizeof(b)), len, s.ptr);
        return 0;
    default:
        seg_fail(st, CP_REJECT_WRONG_TYPE, "%s: expected a number, got the string '%.*s'",
                 path_str(path, b, sizeof(b)), len, s.ptr);
        return 0;
    }
}

static void int_field(cp_jr *jr, seg_state *st, fpath path, int64_t *out)
{
    double v;
    char b[96];
    if (!num_field(jr, st, path, &v)) return;
    if (v != floor(v) || fabs(v) > 9e15) {
        seg_fail(st, CP_REJECT_WRONG_TYPE, "%s: expected an integer, got %g",
                 path_str(path, b, sizeof(b)), v);
        return;
    }
    *out = (int64_t)v;
}

/* Starts an object-valued field; returns 1 when the cursor entered an object. */
static int obj_field(cp_jr *jr, seg_state *st, fpath path)
{
    jr_kind k = jr_peek(jr);
    if (k == JR_OBJECT) return jr_obj_begin(jr);
    if (k == JR_NULL)
        jr_skip(jr, NULL);
    else if (k != JR_NONE)
        wrong_type(jr, st, path, "an object", k);
    return 0;
}

static void parse_page(cp_jr *jr, seg_state *st, cp_event_context *c)
{
    cp_slice k;
    if (!obj_field(jr, st, FP("context.page"))) return;
    while (jr_obj_next(jr, &k)) {
        if (KEY_IS(k, "url"))
            str_field(jr, st, FP("context.page.url"), &c->page_url, 0);
        else if (KEY_IS(k, "path"))
            str_field(jr, st, FP("context.page.path"), &c->page_path, 0);
        else if (KEY_IS(k, "referrer"))
            str_field(jr, st, FP("context.page.referrer"), &c->page_referrer, 0);
        else if (KEY_IS(k, "title"))
            str_field(jr, st, FP("context.page.title"), &c->page_title, 0);
        else if (KEY_IS(k, "search"))
            str_field(jr, st, FP("context.page.search"), &c->page_search, 0);
        else
            jr_skip(jr, NULL);
    }
}

static void parse_campaign(cp_jr *jr, seg_state *st, cp_event_context *c)
{
    cp_slice k;
    if (!obj_field(jr, st, FP("context.campaign"))) return;
    while (jr_obj_next(jr, &k)) {
        if (KEY_IS(k, "source"))
            str_field(jr, st, FP("context.campaign.source"), &c->campaign_source, 0);
        else if (KEY_IS(k, "medium"))
            str_field(jr, st, FP("context.campaign.medium"), &c->campaign_medium, 0);
        else if (KEY_IS(k, "name"))
            str_field(jr, st, FP("context.campaign.name"), &c->campaign_name, 0);
        else if (KEY_IS(k, "term"))
            str_field(jr, st, FP("context.campaign.term"), &c->campaign_term, 0);
        else if (KEY_IS(k, "content"))
            str_field(jr, st, FP("context.campaign.content"), &c->campaign_content, 0);
        else
            jr_skip(jr, NULL);
    }
}

/* A small object of string fields: {name: slice} pairs given as parallel arrays. */
static void parse_flat(cp_jr *jr, seg_state *st, const char *path, const char *const *names,
                       cp_slice *const *outs, int n)
{
    cp_slice k;
    if (!obj_field(jr, st, FP(path))) return;
    while (jr_obj_next(jr, &k)) {
        int i = 0;
        while (i < n && !(k.len == strlen(names[i]) && memcmp(k.ptr, names[i], k.len) == 0)) i++;
        if (i == n) {
            jr_skip(jr, NULL);
            continue;
        }
        str_field(jr, st, FP2(path, names[i]), outs[i], 0);
    }
}

static uint32_t context_key(cp_jr *jr, seg_state *st, cp_slice k, cp_event_context *c,
                            cp_slice *email)
{
    if (KEY_IS(k, "ip")) return str_field(jr, st, FP("context.ip"), &c->ip, 0), CTXG_IP;
    if (KEY_IS(k, "userAgent"))
        return str_field(jr, st, FP("context.userAgent"), &c->user_agent, 0), CTXG_UA;
    if (KEY_IS(k, "locale"))
        return str_field(jr, st, FP("context.locale"), &c->locale, 0), CTXG_LOCALE;
    if (KEY_IS(k, "timezone"))
        return str_field(jr, st, FP("context.timezone"), &c->timezone, 0), CTXG_TZ;
    if (KEY_IS(k, "page")) return parse_page(jr, st, c), CTXG_PAGE;
    if (KEY_IS(k, "campaign")) return parse_campaign(jr, st, c), CTXG_CAMPAIGN;
    if (KEY_IS(k, "sessionId"))
        return str_field(jr, st, FP("context.sessionId"), &c->session_id, 1), CTXG_SESSION;
    if (KEY_IS(k, "location")) {
        static const char *const n[] = {"country", "city"};
        cp_slice *const o[] = {&c->country, &c->city};
        return parse_flat(jr, st, "context.location", n, o, 2), CTXG_LOCATION;
    }
    if (KEY_IS(k, "library")) {
        static const char *const n[] = {"name", "version"};
        cp_slice *const o[] = {&c->library_name, &c->library_version};
        return parse_flat(jr, st, "context.library", n, o, 2), CTXG_LIBRARY;
    }
    if (KEY_IS(k, "device")) {
        static const char *const n[] = {"type"};
        cp_slice *const o[] = {&c->device_type};
        return parse_flat(jr, st, "context.device", n, o, 1), CTXG_DEVICE;
    }
    if (KEY_IS(k, "traits")) {
        static const char *const n[] = {"email"};
        cp_slice *const o[] = {email};
        return parse_flat(jr, st, "context.traits", n, o, 1), CTXG_TRAITS;
    }
    jr_skip(jr, NULL);
    return 0;
}

/* A member from after the previous one (at) to where the parse is now (its value's end). */
static void span_add(seg_spans *sp, const char *at, const char *end, int mark)
{
    while (*at != '"') at++; /* only blanks and ',' precede the key */
    sp->n++;
    sp->bytes += (size_t)(end - at);
    if (!mark) return;
    if (sp->n_marked < SEG_MAX_MARKED) {
        sp->marked[sp->n_marked].s = at;
        sp->marked[sp->n_marked].e = end;
        sp->marked[sp->n_marked].mark = mark;
    }
    sp->n_marked++;
}

/* The members of the object whose '{' the cursor has just passed. */
static void parse_context(cp_jr *jr, seg_state *st, cp_event_context *c, cp_slice *email)
{
    cp_slice k;
    st->n_ctx_keys = 0;
    st->ctx_groups = 0;
    st->ctx = (seg_spans){.obj = jr->p - 1};
    for (const char *at = jr->p; jr_obj_next(jr, &k); at = jr->p) {
        if (st->n_ctx_keys < SEG_MAX_CTX_KEYS) st->ctx_keys[st->n_ctx_keys] = k;
        st->n_ctx_keys++;
        st->ctx_groups |= context_key(jr, st, k, c, email);
        span_add(&st->ctx, at, jr->p, KEY_IS(k, "ip") ? SPAN_IP : 0);
    }
}

void seg_parse_context_text(cp_jr *jr, seg_state *st, cp_slice text, cp_event_context *ctx,
                            cp_slice *email)
{
    jr_init(jr, text.ptr, text.len, jr->arena, jr->max_depth);
    memset(ctx, 0, sizeof(*ctx));
    if (jr_obj_begin(jr)) parse_context(jr, st, ctx, email);
}

/* Fields of one product; path is "properties" or "properties.products[i]". */
static int product_key(cp_jr *jr, seg_state *st, cp_slice k, cp_product *p, fpath path)
{
#define PATH(name) (path.b = (name), path)
    if (KEY_IS(k, "product_id"))
        str_field(jr, st, PATH("product_id"), &p->product_id, 1);
    else if (KEY_IS(k, "sku"))
        str_field(jr, st, PATH("sku"), &p->sku, 1);
    else if (KEY_IS(k, "name"))
        str_field(jr, st, PATH("name"), &p->name, 0);
    else if (KEY_IS(k, "category"))
        str_field(jr, st, PATH("category"), &p->category, 0);
    else if (KEY_IS(k, "price")) {
        if (money_field(jr, st, PATH("price"), &p->price)) p->has_price = true;
    } else if (KEY_IS(k, "quantity"))
        int_field(jr, st, PATH("quantity"), &p->quantity);
    else
        return 0;
#undef PATH
    return 1;
}

static void parse_products(cp_jr *jr, seg_state *st, cp_event *ev)
{
    jr_kind kind = jr_peek(jr);
    if (kind == JR_NULL) {
        jr_skip(jr, NULL);
        return;
    }
    if (kind != JR_ARRAY) {
        if (kind != JR_NONE) wrong_type(jr, st, FP("properties.products"), "an array", kind);
        return;
    }
    jr_arr_begin(jr);
    size_t cap = 0;
    cp_slice k;
    while (jr_arr_next(jr)) {
        fpath path = {"properties.products", (int)ev->n_products, NULL};
        if (!obj_field(jr, st, path)) continue;
        if (ev->n_products == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            cp_product *np = cp_arena_alloc(jr->arena, ncap * sizeof(*np));
            if (!np) {
                jr_fail(jr, CP_REJECT_TOO_LARGE, "out of memory");
                return;
            }
            if (cap) memcpy(np, ev->products, cap * sizeof(*np));
            ev->products = np;
            cap = ncap;
        }
        cp_product *p = &ev->products[ev->n_products++];
        memset(p, 0, sizeof(*p));
        p->quantity = 1;
        while (jr_obj_next(jr, &k))
            if (!product_key(jr, st, k, p, path)) jr_skip(jr, NULL);
    }
}

static void parse_properties(cp_jr *jr, seg_state *st, cp_event *ev, cp_event_context *pc,
                             cp_product *single)
{
    cp_slice k;
    while (jr_obj_next(jr, &k)) {
        if (KEY_IS(k, "revenue")) {
            if (money_field(jr, st, FP("properties.revenue"), &ev->revenue))
                ev->flags |= CP_HAS_REVENUE;
        } else if (KEY_IS(k, "total")) {
            if (money_field(jr, st, FP("properties.total"), &ev->total)) ev->flags |= CP_HAS_TOTAL;
        } else if (KEY_IS(k, "order_id"))
            str_field(jr, st, FP("properties.order_id"), &ev->order_id, 1);
        else if (KEY_IS(k, "currency"))
            str_field(jr, st, FP("properties.currency"), &ev->currency, 0);
        else if (KEY_IS(k, "products"))
            parse_products(jr, st, ev);
        else if (KEY_IS(k, "$session_id"))
            str_field(jr, st, FP("properties.$session_id"), &ev->session_id, 1);
        else if (KEY_IS(k, "url"))
            str_field(jr, st, FP("properties.url"), &pc->page_url, 0);
        else if (KEY_IS(k, "path"))
            str_field(jr, st, FP("properties.path"), &pc->page_path, 0);
        else if (KEY_IS(k, "referrer"))
            str_field(jr, st, FP("properties.referrer"), &pc->page_referrer, 0);
        else if (KEY_IS(k, "title"))
            str_field(jr, st, FP("properties.title"), &pc->page_title, 0);
        else if (KEY_IS(k, "search"))
            str_field(jr, st, FP("properties.search"), &pc->page_search, 0);
        else if (!product_key(jr, st, k, single, FP("properties")))
            jr_skip(jr, NULL);
    }
}

static void parse_traits(cp_jr *jr, seg_state *st, cp_event *ev)
{
    cp_slice k;
    while (jr_obj_next(jr, &k)) {
        if (KEY_IS(k, "email"))
            str_field(jr, st, FP("traits.email"), &ev->email, 0);
        else if (KEY_IS(k, "name"))
            str_field(jr, st, FP("traits.name"), &ev->name, 0);
        else
            jr_skip(jr, NULL);
    }
}

/* An object-valued top-level field kept raw and walked by fn. */
static void raw_object(cp_jr *jr, seg_state *st, const char *path, cp_slice *raw)
{
    const char *s;
    jr_peek(jr);
    s = jr->p;
    if (obj_field(jr, st, FP(path))) {
        while (jr_obj_next(jr, raw)) jr_skip(jr, NULL);
        *raw = (cp_slice){s, (size_t)(jr->p - s)};
    }
}

/* Decodes every element of a batch in this pass; they are emitted once the
 * whole envelope (whose context may follow the batch) is known to be valid. */
static void parse_batch_array(cp_jr *jr, seg_state *st, size_t max_elems)
{
    jr_kind k = jr_peek(jr);
    const char *s = jr->p;
    if (k != JR_ARRAY) {
        if (k != JR_NONE) wrong_type(jr, st, FP("batch"), "an array", k);
        return;
    }
    jr_arr_begin(jr);
    size_t cap = 0;
    while (jr_arr_next(jr)) {
        if (st->n_elems >= max_elems) {
            st->n_elems++;
            if (!jr_skip(jr, NULL)) return;
            continue;
        }
        /* the elements stay where they are made (each is kilobytes): pointers to them grow */
        seg_elem *el = cp_arena_alloc(jr->arena, sizeof(*el));
        if (st->n_elems == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            seg_elem **ne = cp_arena_alloc(jr->arena, ncap * sizeof(*ne));
            if (ne && cap) memcpy(ne, st->elems, cap * sizeof(*ne));
            st->elems = ne;
            cap = ncap;
        }
        if (!el || !st->elems) {
            jr_fail(jr, CP_REJECT_TOO_LARGE, "out of memory");
            return;
        }
        st->elems[st->n_elems++] = el;
        memset(el, 0, sizeof(*el));
        if (jr_peek(jr) != JR_OBJECT) {
            el->not_object = 1;
            if (!jr_skip(jr, &el->raw)) return;
            continue;
        }
        seg_parse_event(jr, &el->st, &el->ev, 0);
        if (jr->err) return;
        el->raw = el->ev.raw;
    }
    st->batch = (cp_slice){s, (size_t)(jr->p - s)};
}

static void parse_object_field(cp_jr *jr, seg_state *st, cp_event *ev, cp_slice k,
                               cp_event_context *pc, cp_product *single)
{
    const char *s;
    if (KEY_IS(k, "properties")) {
        jr_peek(jr);
        s = jr->p;
        if (obj_field(jr, st, FP("properties"))) {
            parse_properties(jr, st, ev, pc, single);
            ev->properties = (cp_slice){s, (size_t)(jr->p - s)};
        }
    } else if (KEY_IS(k, "context")) {
        jr_peek(jr);
        s = jr->p;
        if (obj_field(jr, st, FP("context"))) {
            parse_context(jr, st, &ev->ctx, &ev->email);
            ev->context = (cp_slice){s, (size_t)(jr->p - s)};
        }
    } else if (KEY_IS(k, "traits")) {
        jr_peek(jr);
        s = jr->p;
        if (obj_field(jr, st, FP("traits"))) {
            parse_traits(jr, st, ev);
            ev->traits = (cp_slice){s, (size_t)(jr->p - s)};
        }
    } else if (KEY_IS(k, "integrations")) {
        raw_object(jr, st, "integrations", &ev->integrations);
    } else {
        jr_skip(jr, NULL);
    }
}

/* A page field the context leaves out, or gives as "", comes from the page call's properties. */
static void fill_page_from_properties(cp_event_context *c, const cp_event_context *pc)
{
    if (!c->page_url.len) c->page_url = pc->page_url;
    if (!c->page_path.len) c->page_path = pc->page_path;
    if (!c->page_referrer.len) c->page_referrer = pc->page_referrer;
    if (!c->page_title.len) c->page_title = pc->page_title;
    if (!c->page_search.len) c->page_search = pc->page_search;
}

/* One top-level object being walked. */
typedef struct walk {
    cp_jr *jr;
    seg_state *st;
    cp_event *ev;
    cp_event_context pc; /* page fields found in properties */
    cp_product single;   /* product fields found directly in properties */
    size_t max_elems;
} walk;

/* Identity and name fields; returns 0 when k is none of them. */
static int identity_key(walk *w, cp_slice k)
{
    cp_jr *jr = w->jr;
    seg_state *st = w->st;
    cp_event *ev = w->ev;
    if (KEY_IS(k, "userId"))
        str_field(jr, st, FP("userId"), &ev->user_id, 1);
    else if (KEY_IS(k, "anonymousId"))
        str_field(jr, st, FP("anonymousId"), &ev->anonymous_id, 1);
    else if (KEY_IS(k, "messageId"))
        str_field(jr, st, FP("messageId"), &ev->message_id, 1);
    else if (KEY_IS(k, "event"))
        str_field(jr, st, FP("event"), &ev->event_name, 0);
    else if (KEY_IS(k, "name"))
        str_field(jr, st, FP("name"), &st->name, 0);
    else if (KEY_IS(k, "previousId"))
        str_field(jr, st, FP("previousId"), &ev->previous_id, 1);
    else if (KEY_IS(k, "groupId"))
        str_field(jr, st, FP("groupId"), &ev->group_id, 1);
    else
        return 0;
    return 1;
}

/* type, the four times and batch; returns 0 when k is none of them. */
static int control_key(walk *w, cp_slice k)
{
    cp_jr *jr = w->jr;
    seg_state *st = w->st;
    cp_event *ev = w->ev;
    if (KEY_IS(k, "type")) {
        str_field(jr, st, FP("type"), &st->type_name, 0);
        st->has_type = st->type_name.ptr != NULL;
    } else if (KEY_IS(k, "timestamp")) {
        time_field(jr, st, "timestamp", &ev->timestamp_ms, &ev->flags, CP_HAS_TIMESTAMP);
    } else if (KEY_IS(k, "originalTimestamp")) {
        time_field(jr, st, "originalTimestamp", &ev->original_timestamp_ms, &ev->flags,
                   CP_HAS_ORIGINAL_TIMESTAMP);
    } else if (KEY_IS(k, "sentAt")) {
        time_field(jr, st, "sentAt", &ev->sent_at_ms, &ev->flags, CP_HAS_SENT_AT);
    } else if (KEY_IS(k, "receivedAt")) {
        time_field(jr, st, "receivedAt", &ev->received_at_ms, &ev->flags, CP_HAS_RECEIVED_AT);
    } else if (KEY_IS(k, "batch")) {
        parse_batch_array(jr, st, w->max_elems);
    } else {
        return 0;
    }
    return 1;
}

static void top_key(walk *w, cp_slice k)
{
    switch (k.len ? k.ptr[0] : 0) {
    case 'u':
    case 'a':
    case 'm':
    case 'e':
    case 'n':
    case 'g':
        if (!identity_key(w, k)) jr_skip(w->jr, NULL);
        return;
    case 'o':
    case 's':
    case 'r':
    case 'b':
        if (!control_key(w, k)) jr_skip(w->jr, NULL);
        return;
    case 't':
        if (!control_key(w, k)) parse_object_field(w->jr, w->st, w->ev, k, &w->pc, &w->single);
        return;
    case 'p':
        if (!identity_key(w, k)) parse_object_field(w->jr, w->st, w->ev, k, &w->pc, &w->single);
        return;
    default:
        parse_object_field(w->jr, w->st, w->ev, k, &w->pc, &w->single);
    }
}

void seg_parse_event(cp_jr *jr, seg_state *st, cp_event *ev, size_t max_elems)
{
    walk w = {.jr = jr, .st = st, .ev = ev, .single = {.quantity = 1}, .max_elems = max_elems};
    cp_slice k;
    jr_peek(jr);
    const char *s = jr->p;
    if (!jr_obj_begin(jr)) return;
    st->top = (seg_spans){.obj = s};
    for (const char *at = jr->p; jr_obj_next(jr, &k); at = jr->p) {
        top_key(&w, k);
        span_add(&st->top, at, jr->p,
                 KEY_IS(k, "context")        ? SPAN_CONTEXT
                 : KEY_IS(k, "integrations") ? SPAN_INTEGRATIONS
                                             : 0);
    }
    if (jr->err) return;
    ev->raw = (cp_slice){s, (size_t)(jr->p - s)};
    fill_page_from_properties(&ev->ctx, &w.pc);
    if (ev->n_products == 0 && (w.single.product_id.ptr || w.single.sku.ptr)) {
        cp_product *p = cp_arena_alloc(jr->arena, sizeof(*p));
        if (!p) {
            jr_fail(jr, CP_REJECT_TOO_LARGE, "out of memory");
            return;
        }
        *p = w.single;
        ev->products = p;
        ev->n_products = 1;
    }
}
