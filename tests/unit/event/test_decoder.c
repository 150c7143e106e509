/* src/event/decoder.c and segment.c: Segment messages, batch envelopes and
 * JSON Lines into typed events, and every kind of rejection with its reason. */
#include "clickpulse/error.h"
#include "clickpulse/event.h"
#include "clickpulse/mem.h"
#include "test.h"

typedef struct got {
    int n_events, n_rejects;
    cp_event ev[8];
    cp_reject rej[8];
    char raw[8][256];
} got;

static int on_event(void *ud, const cp_event *ev)
{
    got *g = ud;
    if (g->n_events < 8) g->ev[g->n_events] = *ev;
    g->n_events++;
    return 0;
}

static int on_reject(void *ud, const cp_reject *r)
{
    got *g = ud;
    if (g->n_rejects < 8) {
        g->rej[g->n_rejects] = *r;
        snprintf(g->raw[g->n_rejects], 256, "%.*s", (int)r->raw.len, r->raw.ptr);
    }
    g->n_rejects++;
    return 0;
}

static cp_event_decoder *decoder(got *g, const cp_decode_options *o)
{
    memset(g, 0, sizeof(*g));
    return cp_event_decoder_new(o, (cp_decode_sink){g, on_event, on_reject});
}

static const char order_json[] =
    "{\"type\":\"track\",\"event\":\"Order Completed\",\"messageId\":\"m-1\",\"userId\":\"cus_1\","
    "\"anonymousId\":\"anon-1\",\"properties\":{\"order_id\":\"ord_9\",\"total\":57.98,"
    "\"revenue\":52.99,\"currency\":\"EUR\",\"products\":[{\"product_id\":\"p1\",\"sku\":\"S1\","
    "\"name\":\"Lamp\",\"category\":\"Home\",\"price\":19.99,\"quantity\":2},{\"product_id\":42,"
    "\"price\":\"13.01\"}]},\"context\":{\"ip\":\"203.0.113.9\",\"userAgent\":\"UA/1\","
    "\"locale\":\"de-DE\",\"page\":{\"url\":\"https://s.example/c\",\"path\":\"/c\","
    "\"referrer\":\"https://www.google.com/\",\"title\":\"Checkout\"},\"campaign\":{\"source\":"
    "\"google\",\"medium\":\"cpc\",\"name\":\"brand\",\"term\":\"lamp\",\"content\":\"ad1\"},"
    "\"location\":{\"country\":\"DE\",\"city\":\"Berlin\"},\"library\":{\"name\":\"analytics.js\","
    "\"version\":\"5.2.1\"},\"sessionId\":1700000000},\"originalTimestamp\":"
    "\"2026-10-01T14:00:00.000+02:00\",\"sentAt\":\"2026-10-01T12:00:05.000Z\",\"receivedAt\":"
    "\"2026-10-01T12:10:06.500Z\"}";

static void test_commerce_event(void)
{
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.trust_received_at = true;
    cp_event_decoder *d = decoder(&g, &o);
    CHECK(cp_event_decode(d, order_json, sizeof(order_json) - 1) == CP_OK);
    CHECK_INT(g.n_events, 1);
    CHECK_INT(g.n_rejects, 0);
    const cp_event *e = &g.ev[0];
    CHECK_INT(e->type, CP_TYPE_TRACK);
    CHECK_INT(e->kind, CP_KIND_ORDER_COMPLETED);
    CHECK_SLICE(e->event_name, "Order Completed");
    CHECK_SLICE(e->message_id, "m-1");
    CHECK_SLICE(e->user_id, "cus_1");
    CHECK_SLICE(e->anonymous_id, "anon-1");
    CHECK_SLICE(e->order_id, "ord_9");
    CHECK_SLICE(e->currency, "EUR");
    CHECK_INT(e->revenue, 5299);
    CHECK_INT(e->total, 5798);
    CHECK_INT(e->flags & (CP_HAS_REVENUE | CP_HAS_TOTAL), CP_HAS_REVENUE | CP_HAS_TOTAL);
    CHECK_INT(e->n_products, 2);
    CHECK_SLICE(e->products[0].product_id, "p1");
    CHECK_SLICE(e->products[0].sku, "S1");
    CHECK_SLICE(e->products[0].name, "Lamp");
    CHECK_SLICE(e->products[0].category, "Home");
    CHECK_INT(e->products[0].price, 1999);
    CHECK_INT(e->products[0].quantity, 2);
    CHECK_SLICE(e->products[1].product_id, "42");
    CHECK_INT(e->products[1].price, 1301);
    CHECK_INT(e->products[1].quantity, 1);
    CHECK_SLICE(e->ctx.ip, "203.0.113.9");
    CHECK_SLICE(e->ctx.user_agent, "UA/1");
    CHECK_SLICE(e->ctx.locale, "de-DE");
    CHECK_SLICE(e->ctx.page_url, "https://s.example/c");
    CHECK_SLICE(e->ctx.page_path, "/c");
    CHECK_SLICE(e->ctx.page_referrer, "https://www.google.com/");
    CHECK_SLICE(e->ctx.page_title, "Checkout");
    CHECK_SLICE(e->ctx.campaign_source, "google");
    CHECK_SLICE(e->ctx.campaign_medium, "cpc");
    CHECK_SLICE(e->ctx.campaign_name, "brand");
    CHECK_SLICE(e->ctx.campaign_term, "lamp");
    CHECK_SLICE(e->ctx.campaign_content, "ad1");
    CHECK_SLICE(e->ctx.country, "DE");
    CHECK_SLICE(e->ctx.city, "Berlin");
    CHECK_SLICE(e->ctx.library_name, "analytics.js");
    CHECK_SLICE(e->ctx.session_id, "1700000000");
    /* Client clock 5 s behind the send, received 10 min later: event at 12:10:01.500. */
    CHECK_INT(e->original_timestamp_ms, 1790856000000LL);
    CHECK_INT(e->sent_at_ms, 1790856005000LL);
    CHECK_INT(e->received_at_ms, 1790856606500LL);
    CHECK_INT(e->time_ms, 1790856601500LL);
    CHECK(e->properties.ptr && e->properties.ptr[0] == '{' &&
          e->properties.ptr[e->properties.len - 1] == '}');
    CHECK(e->context.len > 100);
    CHECK_INT(e->raw.len, sizeof(order_json) - 1);
    cp_event_decoder_free(d);
}

/* A page field context.page leaves out or gives empty comes from the page call's properties. */
static void test_page_fields(void)
{
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    cp_event_decoder *d = decoder(&g, &o);
    const char *line = "{\"type\":\"page\",\"anonymousId\":\"a1\",\"messageId\":\"p1\","
                       "\"context\":{\"page\":{\"path\":\"\",\"title\":\"Home\"}},"
                       "\"properties\":{\"path\":\"/p\",\"title\":\"Other\","
                       "\"url\":\"https://s.example/p\"}}";
    CHECK(cp_event_decode(d, line, strlen(line)) == CP_OK);
    CHECK_INT(g.n_events, 1);
    const cp_event *e = &g.ev[0];
    CHECK_SLICE(e->ctx.page_path, "/p");
    CHECK_SLICE(e->ctx.page_title, "Home");
    CHECK_SLICE(e->ctx.page_url, "https://s.example/p");
    cp_event_decoder_free(d);
}

static void test_times_and_types(void)
{
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.received_at_ms = 1790856000000LL; /* the server's clock */
    cp_event_decoder *d = decoder(&g, &o);
    /* receivedAt from the client is not trusted: the server's time is used. */
    const char *a =
        "{\"type\":\"page\",\"name\":\"Home\",\"anonymousId\":7,\"originalTimestamp\":"
        "\"2026-10-01T10:00:00Z\",\"sentAt\":\"2026-10-01T10:00:02Z\","
        "\"receivedAt\":\"2030-01-01T00:00:00Z\",\"properties\":{\"url\":\"https://x/\","
        "\"path\":\"/\",\"title\":\"Home\"},\"userId\":null}";
    CHECK(cp_event_decode(d, a, strlen(a)) == 0);
    CHECK_INT(g.n_events, 1);
    CHECK_INT(g.ev[0].kind, CP_KIND_PAGE);
    CHECK_SLICE(g.ev[0].event_name, "Home");
    CHECK_SLICE(g.ev[0].anonymous_id, "7");
    CHECK_INT(g.ev[0].user_id.len, 0);
    CHECK_INT(g.ev[0].time_ms, 1790856000000LL - 2000);
    CHECK_SLICE(g.ev[0].ctx.page_url, "https://x/");
    CHECK_SLICE(g.ev[0].ctx.page_title, "Home");
    /* Server-side: a timestamp without sentAt is used as it is. */
    const char *b =
        "{\"type\":\"identify\",\"userId\":\"u\",\"timestamp\":\"2026-09-30T23:00:00Z\","
        "\"traits\":{\"email\":\"a@b.example\",\"name\":\"A B\"}}";
    CHECK(cp_event_decode(d, b, strlen(b)) == 0);
    CHECK_INT(g.n_events, 2);
    CHECK_INT(g.ev[1].kind, CP_KIND_IDENTIFY);
    CHECK_INT(g.ev[1].time_ms, 1790809200000LL);
    CHECK_SLICE(g.ev[1].email, "a@b.example");
    CHECK_SLICE(g.ev[1].name, "A B");
    /* Track names: spec names, snake_case forms, custom. */
    CHECK_INT(cp_event_kind_of_track(CP_SLICE_LIT("Product Added")), CP_KIND_PRODUCT_ADDED);
    CHECK_INT(cp_event_kind_of_track(CP_SLICE_LIT("checkout_started")), CP_KIND_CHECKOUT_STARTED);
    CHECK_INT(cp_event_kind_of_track(CP_SLICE_LIT("Video Played")), CP_KIND_CUSTOM);
    /* A route-typed body (/v1/track) needs no "type". */
    cp_event_decoder_free(d);
    o.has_default_type = 1;
    o.default_type = CP_TYPE_TRACK;
    d = decoder(&g, &o);
    const char *c = "{\"event\":\"Signed Up\",\"userId\":\"u\"}";
    CHECK(cp_event_decode(d, c, strlen(c)) == 0);
    CHECK_INT(g.n_events, 1);
    CHECK_INT(g.ev[0].kind, CP_KIND_SIGNED_UP);
    CHECK_INT(g.ev[0].time_ms, 1790856000000LL);
    cp_event_decoder_free(d);
}

static void test_batch_envelope(void)
{
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.received_at_ms = 1790856010000LL;
    cp_event_decoder *d = decoder(&g, &o);
    const char *env =
        "{\"batch\":[{\"type\":\"track\",\"event\":\"Cart Viewed\",\"userId\":\"u1\","
        "\"originalTimestamp\":\"2026-10-01T12:00:00Z\",\"context\":{\"ip\":\"1.2.3.4\","
        "\"library\":{\"name\":\"mine\"}}},{\"type\":\"page\",\"anonymousId\":\"a2\","
        "\"originalTimestamp\":\"2026-10-01T12:00:03Z\",\"sentAt\":\"2026-10-01T12:00:04Z\"},"
        "{\"type\":\"track\",\"userId\":\"u3\"},{\"type\":\"bogus\",\"userId\":\"u4\"}],"
        "\"sentAt\":\"2026-10-01T12:00:05Z\",\"context\":{\"library\":{\"name\":\"analytics-node\"}"
        ","
        "\"locale\":\"en-GB\"},\"integrations\":{\"All\":true}}";
    CHECK(cp_event_decode(d, env, strlen(env)) == 0);
    CHECK_INT(g.n_events, 2);
    CHECK_INT(g.n_rejects, 2);
    /* Element 1: its own context wins per key, the batch's fills the rest; batch sentAt applies. */
    CHECK_SLICE(g.ev[0].ctx.ip, "1.2.3.4");
    CHECK_SLICE(g.ev[0].ctx.library_name, "mine");
    CHECK_SLICE(g.ev[0].ctx.locale, "en-GB");
    CHECK_SLICE(g.ev[0].context,
                "{\"ip\":\"1.2.3.4\",\"library\":{\"name\":\"mine\"},\"locale\":\"en-GB\"}");
    CHECK_SLICE(g.ev[0].integrations, "{\"All\":true}");
    CHECK_INT(g.ev[0].time_ms, 1790856010000LL - 5000);
    /* Element 2: keeps its own sentAt, takes the whole batch context. */
    CHECK_SLICE(g.ev[1].ctx.library_name, "analytics-node");
    CHECK_INT(g.ev[1].time_ms, 1790856010000LL - 1000);
    CHECK_INT(g.rej[0].reason, CP_REJECT_MISSING_FIELD);
    CHECK_STR(g.rej[0].detail, "event: a track call needs an event name");
    CHECK_STR(g.raw[0], "{\"type\":\"track\",\"userId\":\"u3\"}");
    CHECK_INT(g.rej[1].reason, CP_REJECT_UNKNOWN_TYPE);
    CHECK_STR(g.rej[1].detail, "type: unknown message type 'bogus'");
    cp_event_decoder_free(d);

    /* Integrations merge shallowly; a context of more than 32 keys takes the general merge. */
    d = decoder(&g, &o);
    char big_ctx[2048];
    size_t n = (size_t)snprintf(big_ctx, sizeof(big_ctx), "{\"ip\":\"9.9.9.9\"");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big_ctx + n, sizeof(big_ctx) - n, ",\"k%d\":%d", i, i);
    snprintf(big_ctx + n, sizeof(big_ctx) - n, "}");
    char env2[4096];
    snprintf(env2, sizeof(env2),
             "{\"batch\":[{\"type\":\"page\",\"userId\":\"u\",\"timestamp\":\"2026-10-01\","
             "\"integrations\":{\"A\":1},\"context\":%s}],\"integrations\":{\"B\":2,\"C\":3,"
             "\"A\":9},\"context\":{\"locale\":\"fr-FR\",\"k3\":0}}",
             big_ctx);
    CHECK(cp_event_decode(d, env2, strlen(env2)) == 0);
    CHECK_INT(g.n_events, 1);
    CHECK_SLICE(g.ev[0].integrations, "{\"A\":1,\"B\":2,\"C\":3}");
    CHECK_SLICE(g.ev[0].ctx.ip, "9.9.9.9");
    CHECK_SLICE(g.ev[0].ctx.locale, "fr-FR");
    CHECK(g.ev[0].context.len == strlen(big_ctx) + strlen(",\"locale\":\"fr-FR\""));
    cp_event_decoder_free(d);

    o.max_batch_events = 2;
    d = decoder(&g, &o);
    const char *big = "{\"batch\":[{},{},{}]}";
    CHECK(cp_event_decode(d, big, strlen(big)) == 0);
    CHECK_INT(g.n_events, 0);
    CHECK_INT(g.n_rejects, 1);
    CHECK_INT(g.rej[0].reason, CP_REJECT_TOO_MANY_EVENTS);
    CHECK_STR(g.rej[0].detail, "batch of 3 events exceeds the limit of 2");
    cp_event_decoder_free(d);
}

typedef struct bad_case {
    const char *json;
    cp_reject_reason reason;
    const char *detail;
} bad_case;

static void test_rejects(void)
{
    static const bad_case cases[] = {
        {"{\"type\":\"page\",\"userId\":\"u\"", CP_REJECT_NOT_JSON, "unexpected end of input"},
        {"not json", CP_REJECT_NOT_JSON, "invalid literal at byte 0"},
        {"[1,2]", CP_REJECT_WRONG_TYPE, "expected a JSON object"},
        {"{\"type\":\"page\",\"userId\":true,\"timestamp\":\"2026-10-01\"}", CP_REJECT_WRONG_TYPE,
         "userId: expected a string, got true"},
        {"{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u\",\"timestamp\":"
         "\"2026-10-01\",\"properties\":{\"revenue\":{\"amount\":1}}}",
         CP_REJECT_WRONG_TYPE, "properties.revenue: expected a number, got an object"},
        {"{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"timestamp\":\"2026-10-01\","
         "\"properties\":{\"products\":[{\"quantity\":1.5}]}}",
         CP_REJECT_WRONG_TYPE, "properties.products[0].quantity: expected an integer, got 1.5"},
        {"{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"timestamp\":\"2026-10-01\","
         "\"properties\":{\"price\":\"cheap\"}}",
         CP_REJECT_WRONG_TYPE, "properties.price: expected a number, got the string 'cheap'"},
        {"{\"type\":\"page\",\"timestamp\":\"2026-10-01\"}", CP_REJECT_MISSING_IDENTITY,
         "neither userId nor anonymousId is set"},
        {"{\"type\":\"page\",\"userId\":\"\",\"anonymousId\":null,\"timestamp\":\"2026-10-01\"}",
         CP_REJECT_MISSING_IDENTITY, "neither userId nor anonymousId is set"},
        {"{\"type\":\"page\",\"userId\":\"u\",\"originalTimestamp\":\"yesterday\"}",
         CP_REJECT_BAD_TIMESTAMP, "originalTimestamp: not an RFC 3339 timestamp: 'yesterday'"},
        {"{\"type\":\"page\",\"userId\":\"u\",\"timestamp\":1700000000}", CP_REJECT_WRONG_TYPE,
         "timestamp: expected an RFC 3339 timestamp string, got a number"},
        /* a track's name is no event name (a page's is its name) */
        {"{\"type\":\"track\",\"name\":\"Order Completed\",\"userId\":\"u\"}",
         CP_REJECT_MISSING_FIELD, "event: a track call needs an event name"},
        /* amounts are exact: one DECIMAL(18,2) cannot hold is refused before the log */
        {"{\"type\":\"track\",\"event\":\"Checkout Started\",\"userId\":\"u1\",\"messageId\":"
         "\"m2\",\"timestamp\":\"2026-10-01T11:00:00Z\",\"properties\":{\"order_id\":\"o2\","
         "\"revenue\":1e16}}",
         CP_REJECT_OUT_OF_RANGE,
         "properties.revenue: 1e16 is beyond the largest amount, 9999999999999999.99"},
        {"{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"properties\":{\"products\":"
         "[{\"price\":\"0.001\"}]}}",
         CP_REJECT_INVALID_VALUE,
         "properties.products[0].price: 0.001 has more than two decimal places"},
        {"{\"userId\":\"u\",\"timestamp\":\"2026-10-01\"}", CP_REJECT_MISSING_FIELD,
         "type: missing"},
        {"{\"type\":\"page\",\"userId\":\"caf\xc3\x28\"}", CP_REJECT_INVALID_UTF8,
         "invalid UTF-8 at byte 28"},
        {"{\"type\":\"page\",\"userId\":\"u\",\"properties\":{\"a\":[[[[[[[[[[1]]]]]]]]]]}}",
         CP_REJECT_TOO_DEEP, "nesting deeper than 8 at byte 52"},
        /* A syntax error after a type error: the syntax error wins. */
        {"{\"type\":\"page\",\"userId\":true,\"x\":}", CP_REJECT_NOT_JSON,
         "expected a value at byte 33"},
    };
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_depth = 8;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cp_event_decoder *d = decoder(&g, &o);
        CHECK(cp_event_decode(d, cases[i].json, strlen(cases[i].json)) == 0);
        CHECK_INT(g.n_events, 0);
        CHECK_INT(g.n_rejects, 1);
        if (g.rej[0].reason != cases[i].reason || strcmp(g.rej[0].detail, cases[i].detail))
            fprintf(stderr, "case %zu: %s\n", i, cases[i].json);
        CHECK_STR(cp_reject_reason_name(g.rej[0].reason), cp_reject_reason_name(cases[i].reason));
        CHECK_STR(g.rej[0].detail, cases[i].detail);
        CHECK_STR(g.raw[0], cases[i].json);
        cp_event_decoder_free(d);
    }
}

static void test_size_limits(void)
{
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_event_bytes = 256;
    o.max_line_bytes = 1024;
    cp_event_decoder *d = decoder(&g, &o);
    char ev[600];
    snprintf(ev, sizeof(ev),
             "{\"type\":\"page\",\"userId\":\"u\",\"timestamp\":\"2026-10-01\","
             "\"properties\":{\"pad\":\"%0400d\"}}",
             0);
    CHECK(cp_event_decode(d, ev, strlen(ev)) == 0);
    CHECK_INT(g.n_rejects, 1);
    CHECK_INT(g.rej[0].reason, CP_REJECT_TOO_LARGE);
    CHECK_STR(g.rej[0].detail, "event of 477 bytes exceeds the limit of 256");
    char line[3000];
    memset(line, ' ', sizeof(line));
    line[0] = '{';
    line[sizeof(line) - 2] = '}';
    line[sizeof(line) - 1] = '\n';
    CHECK(cp_event_decoder_feed(d, line, 1500) == 0);
    CHECK(cp_event_decoder_feed(d, line + 1500, 1500) == 0);
    CHECK_INT(g.n_rejects, 2);
    CHECK_INT(g.rej[1].reason, CP_REJECT_TOO_LARGE);
    CHECK_STR(g.rej[1].detail, "line longer than 1024 bytes");
    CHECK_INT(g.rej[1].line, 1);
    cp_event_decoder_free(d);
}

static void test_json_lines_in_pieces(void)
{
    const char *text =
        "{\"type\":\"page\",\"userId\":\"a\",\"timestamp\":\"2026-10-01T00:00:01Z\"}\n"
        "\r\n"
        "{\"type\":\"page\",\"userId\":\"b\",\"timestamp\":\"2026-10-01T00:00:02Z\"}\r\n"
        "{broken\n"
        "{\"batch\":[{\"type\":\"page\",\"userId\":\"c\",\"timestamp\":\"2026-10-01\"}]}\n"
        "{\"type\":\"page\",\"userId\":\"d\",\"timestamp\":\"2026-10-01T00:00:04Z\"}";
    size_t n = strlen(text);
    for (size_t chunk = 1; chunk <= n; chunk = chunk * 2 + 1) {
        got g;
        cp_event_decoder *d = decoder(&g, NULL);
        char user[8] = {0};
        int nu = 0;
        for (size_t off = 0; off < n; off += chunk) {
            size_t len = off + chunk > n ? n - off : chunk;
            int before = g.n_events;
            CHECK(cp_event_decoder_feed(d, text + off, len) == 0);
            for (int i = before; i < g.n_events && nu < 8; i++) user[nu++] = g.ev[i].user_id.ptr[0];
        }
        int before = g.n_events;
        CHECK(cp_event_decoder_finish(d) == 0);
        for (int i = before; i < g.n_events && nu < 8; i++) user[nu++] = g.ev[i].user_id.ptr[0];
        CHECK_INT(g.n_events, 4);
        CHECK_STR(user, "abcd");
        CHECK_INT(g.n_rejects, 1);
        CHECK_INT(g.rej[0].line, 4);
        CHECK_STR(g.raw[0], "{broken");
        cp_event_decoder_free(d);
    }
}

/* With anonymize_ip, an address the event carries loses its host part in the event's
 * own text too (what the log keeps); the rest of its context stays, in order. */
static void test_anonymize_ip(void)
{
    got g;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.anonymize_ip = true;
    o.received_at_ms = 1790856010000LL;
    cp_event_decoder *d = decoder(&g, &o);
    const char *a =
        "{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u\",\"messageId\":\"m\","
        "\"context\":{\"locale\":\"fr-FR\",\"ip\":\"198.51.100.23\",\"page\":{\"ip\":1}}}";
    CHECK(cp_event_decode(d, a, strlen(a)) == 0);
    CHECK_INT(g.n_events, 1);
    char raw[512];
    snprintf(raw, sizeof(raw), "%.*s", (int)g.ev[0].raw.len, g.ev[0].raw.ptr);
    CHECK_STR(raw,
              "{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u\",\"messageId\":\"m\","
              "\"context\":{\"ip\":\"198.51.100.0\",\"locale\":\"fr-FR\",\"page\":{\"ip\":1}}}");
    CHECK_SLICE(g.ev[0].ctx.ip, "198.51.100.0");
    const char *b = "{\"type\":\"page\",\"userId\":\"u\",\"messageId\":\"n\","
                    "\"context\":{\"ip\":\"2001:db8:1:2:3:4:5:6\"}}";
    CHECK(cp_event_decode(d, b, strlen(b)) == 0);
    CHECK_SLICE(g.ev[1].ctx.ip, "2001:db8:1::");
    const char *c = "{\"type\":\"page\",\"userId\":\"u\",\"messageId\":\"o\","
                    "\"context\":{\"ip\":\"10.1.2.0\"}}"; /* already without: as it was */
    CHECK(cp_event_decode(d, c, strlen(c)) == 0);
    CHECK_INT(g.n_events, 3);
    CHECK_SLICE(g.ev[2].ctx.ip, "10.1.2.0");
    cp_event_decoder_free(d);

    char ip[64] = "203.0.113.77";
    CHECK_INT(cp_ip_anonymize(ip), 1);
    CHECK_STR(ip, "203.0.113.0");
    snprintf(ip, sizeof(ip), "not an address");
    CHECK_INT(cp_ip_anonymize(ip), 0);
    CHECK_STR(ip, "not an address");
}

/* As the collector decodes a route's body: typed by the route, stamped, the peer's address. */
static void collector_options(cp_decode_options *o, cp_event_type type)
{
    cp_decode_options_default(o);
    o->received_at_ms = 1790856010000LL;
    o->has_default_type = 1;
    o->default_type = type;
    o->client_ip = CP_SLICE_LIT("198.51.100.7");
}

/* The messageId of an event without one: from its content, so an exact resend (another
 * request, another receive time, another place in a file) is the same message; an event
 * with no time of its own happens when received, so its receive time counts too. */
static void test_content_ids(void)
{
    static const char *const timed =
        "{\"type\":\"page\",\"anonymousId\":\"b\",\"timestamp\":\"2026-10-07T10:00:00Z\"}";
    static const char *const untimed = "{\"type\":\"page\",\"anonymousId\":\"b\"}";
    char ids[4][24];
    const char *docs[4] = {timed, timed, untimed, untimed};
    for (int i = 0; i < 4; i++) {
        got g;
        cp_decode_options o;
        cp_decode_options_default(&o);
        o.received_at_ms = 1790856010000LL + i * 1000; /* each a second later */
        cp_event_decoder *d = decoder(&g, &o);
        /* a line of its own, after i blank lines: another position each time */
        char text[256];
        snprintf(text, sizeof(text), "%.*s%s\n", i, "\n\n\n\n", docs[i]);
        CHECK(cp_event_decoder_feed(d, text, strlen(text)) == 0);
        CHECK(cp_event_decoder_finish(d) == 0);
        CHECK_INT(g.n_events, 1);
        snprintf(ids[i], sizeof(ids[i]), "%.*s", (int)g.ev[0].message_id.len,
                 g.ev[0].message_id.ptr);
        CHECK_INT(strncmp(ids[i], "cp-", 3), 0);
        cp_event_decoder_free(d);
    }
    CHECK_STR(ids[0], ids[1]);          /* a resend of the same bytes: one message */
    CHECK(strcmp(ids[2], ids[3]) != 0); /* no time of its own: each receipt an event */
    CHECK(strcmp(ids[0], ids[2]) != 0);
}

static void test_self_contained_raw(void)
{
    got g, again;
    cp_decode_options o;
    collector_options(&o, CP_TYPE_TRACK);
    cp_event_decoder *d = decoder(&g, &o);
    const char *a = "{\"event\":\"Signed Up\",\"userId\":\"u\",\"context\":{\"locale\":\"fr-FR\"}}";
    CHECK(cp_event_decode(d, a, strlen(a)) == 0);
    CHECK_INT(g.n_events, 1);
    char raw[512];
    snprintf(raw, sizeof(raw), "%.*s", (int)g.ev[0].raw.len, g.ev[0].raw.ptr);
    CHECK_STR(
        raw, "{\"event\":\"Signed Up\",\"userId\":\"u\",\"type\":\"track\",\"messageId\":"
             "\"cp-f525f180ce937ef8\",\"context\":{\"ip\":\"198.51.100.7\",\"locale\":\"fr-FR\"}}");
    CHECK_SLICE(g.ev[0].ctx.ip, "198.51.100.7");
    cp_event_decoder_free(d);
    /* A batch element takes the batch's sentAt and context into its own text. */
    o.has_default_type = 0;
    o.client_ip = CP_SLICE_NULL;
    d = decoder(&g, &o);
    const char *env =
        "{\"batch\":[{\"type\":\"page\",\"anonymousId\":\"a\",\"messageId\":\"m\","
        "\"originalTimestamp\":\"2026-10-01T12:00:00Z\"}],\"sentAt\":\"2026-10-01T12:00:02Z\","
        "\"context\":{\"library\":{\"name\":\"analytics-node\"}}}";
    CHECK(cp_event_decode(d, env, strlen(env)) == 0);
    snprintf(raw, sizeof(raw), "%.*s", (int)g.ev[0].raw.len, g.ev[0].raw.ptr);
    CHECK_STR(raw,
              "{\"type\":\"page\",\"anonymousId\":\"a\",\"messageId\":\"m\",\"originalTimestamp\":"
              "\"2026-10-01T12:00:00Z\",\"sentAt\":\"2026-10-01T12:00:02.000Z\",\"context\":"
              "{\"library\":{\"name\":\"analytics-node\"}}}");
    int64_t t = g.ev[0].time_ms;
    CHECK_INT(t, 1790856010000LL - 2000);
    /* Decoding that text alone gives the same event. */
    cp_event_decoder *d2 = decoder(&again, &o);
    CHECK(cp_event_decode(d2, raw, strlen(raw)) == 0);
    CHECK_INT(again.n_events, 1);
    CHECK_INT(again.ev[0].time_ms, t);
    CHECK_SLICE(again.ev[0].ctx.library_name, "analytics-node");
    CHECK_SLICE(again.ev[0].raw, raw);
    cp_event_decoder_free(d2);
    cp_event_decoder_free(d);
}

/* The normalized text leaves out the members the connection's address and the batch
 * replace, wherever they stand, once or repeated, with blanks between members or none
 * (the parse's record of where members lie, or a second reading of the text). */
static void test_normalized_members(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{\"messageId\":\"m\",\"context\":{\"a\":1,\"ip\":\"\",\"b\":[2]},\"userId\":\"u\"}",
         "{\"messageId\":\"m\",\"userId\":\"u\",\"type\":\"page\",\"context\":{\"ip\":"
         "\"198.51.100.7\",\"a\":1,\"b\":[2]}}"},
        {"{\"context\":{\"ip\":null,\"a\":{\"ip\":1}},\"messageId\":\"m\",\"userId\":\"u\"}",
         "{\"messageId\":\"m\",\"userId\":\"u\",\"type\":\"page\",\"context\":{\"ip\":"
         "\"198.51.100.7\",\"a\":{\"ip\":1}}}"},
        {"{\"messageId\":\"m\",\"userId\":\"u\",\"context\":{\"a\":1,\"ip\":\"\"}}",
         "{\"messageId\":\"m\",\"userId\":\"u\",\"type\":\"page\",\"context\":{\"ip\":"
         "\"198.51.100.7\",\"a\":1}}"},
        {"{\"context\":{\"x\":1},\"messageId\":\"m\",\"context\":{},\"userId\":\"u\","
         "\"context\":{\"y\":2}}",
         "{\"messageId\":\"m\",\"userId\":\"u\",\"type\":\"page\",\"context\":{\"ip\":"
         "\"198.51.100.7\",\"y\":2}}"},
        /* more repeats than the parse records: read again */
        {"{\"context\":{},\"context\":{},\"context\":{},\"context\":{},\"messageId\":\"m\","
         "\"context\":{\"z\":3},\"userId\":\"u\"}",
         "{\"messageId\":\"m\",\"userId\":\"u\",\"type\":\"page\",\"context\":{\"ip\":"
         "\"198.51.100.7\",\"z\":3}}"},
        /* blanks between members: read again, each member as it is written */
        {" { \"messageId\" : \"m\" , \"context\" : { \"a\" : 1 , \"ip\" : null } ,\n"
         "\"userId\":\"u\" } ",
         "{\"messageId\" : \"m\",\"userId\":\"u\",\"type\":\"page\",\"context\":{\"ip\":"
         "\"198.51.100.7\",\"a\" : 1}}"},
    };
    got g;
    cp_decode_options o;
    collector_options(&o, CP_TYPE_PAGE);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cp_event_decoder *d = decoder(&g, &o);
        const char *page = cases[i].in;
        /* as an event of its own, and as the elements of a batch */
        char env[512], raw[512];
        snprintf(env, sizeof(env), "{\"batch\":[%s,%s]}", page, page);
        for (int doc = 0; doc < 2; doc++) {
            g.n_events = 0;
            CHECK(cp_event_decode(d, doc ? env : page, strlen(doc ? env : page)) == 0);
            CHECK_INT(g.n_events, doc ? 2 : 1);
            CHECK_INT(g.n_rejects, 0);
            for (int k = 0; k < g.n_events; k++) {
                snprintf(raw, sizeof(raw), "%.*s", (int)g.ev[k].raw.len, g.ev[k].raw.ptr);
                CHECK_STR(raw, cases[i].out);
                CHECK_SLICE(g.ev[k].ctx.ip, "198.51.100.7");
            }
        }
        cp_event_decoder_free(d);
    }
}

/* A decoder reset with other options and another sink behaves as a new one: the old
 * limit, sink and half-fed line are gone. */
static void test_reset(void)
{
    got g1, g2;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_event_bytes = 256;
    cp_event_decoder *d = decoder(&g1, &o);
    CHECK(cp_event_decode(d, order_json, strlen(order_json)) == CP_OK);
    CHECK_INT(g1.n_rejects, 1);
    CHECK_INT(g1.rej[0].reason, CP_REJECT_TOO_LARGE);
    static const char half[] = "{\"type\":\"track\",";
    CHECK(cp_event_decoder_feed(d, half, strlen(half)) == CP_OK);
    memset(&g2, 0, sizeof(g2));
    cp_decode_options_default(&o);
    o.received_at_ms = 1790856000000LL;
    cp_event_decoder_reset(d, &o, (cp_decode_sink){&g2, on_event, on_reject});
    CHECK(cp_event_decode(d, order_json, strlen(order_json)) == CP_OK);
    static const char line[] = "{\"type\":\"page\",\"messageId\":\"m-2\",\"anonymousId\":\"a\"}\n";
    CHECK(cp_event_decoder_feed(d, line, strlen(line)) == CP_OK);
    CHECK(cp_event_decoder_finish(d) == CP_OK);
    CHECK_INT(g1.n_events, 0);
    CHECK_INT(g1.n_rejects, 1);
    CHECK_INT(g2.n_rejects, 0);
    CHECK_INT(g2.n_events, 2);
    CHECK(cp_slice_eq_lit(g2.ev[0].message_id, "m-1"));
    CHECK_INT(g2.ev[0].received_at_ms, 1790856000000LL);
    CHECK(cp_slice_eq_lit(g2.ev[1].message_id, "m-2"));
    cp_event_decoder_free(d);
}

static int stop_sink(void *ud, const cp_event *ev)
{
    (void)ev;
    return ++*(int *)ud == 2 ? CP_EFULL : 0;
}

static void test_sink_stops_and_oom(void)
{
    int count = 0;
    cp_event_decoder *d = cp_event_decoder_new(NULL, (cp_decode_sink){&count, stop_sink, NULL});
    const char *lines = "{\"type\":\"page\",\"userId\":\"a\",\"timestamp\":\"2026-10-01\"}\n"
                        "{\"type\":\"page\",\"userId\":\"a\",\"timestamp\":\"2026-10-01\"}\n"
                        "{\"type\":\"page\",\"userId\":\"a\",\"timestamp\":\"2026-10-01\"}\n";
    CHECK_INT(cp_event_decoder_feed(d, lines, strlen(lines)), CP_EFULL);
    CHECK_INT(count, 2);
    cp_event_decoder_free(d);
    cp_mem_fail_after(0);
    CHECK(cp_event_decoder_new(NULL, (cp_decode_sink){0}) == NULL);
    cp_mem_fail_after(-1);
}

int main(void)
{
    RUN(test_reset);
    RUN(test_commerce_event);
    RUN(test_page_fields);
    RUN(test_times_and_types);
    RUN(test_batch_envelope);
    RUN(test_rejects);
    RUN(test_size_limits);
    RUN(test_json_lines_in_pieces);
    RUN(test_sink_stops_and_oom);
    RUN(test_self_contained_raw);
    RUN(test_content_ids);
    RUN(test_anonymize_ip);
    RUN(test_normalized_members);
    TEST_END();
}
