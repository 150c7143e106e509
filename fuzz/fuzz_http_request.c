/* Fuzz target: a collector request without the network. The first byte picks the
 * route and whether the body is gzip; the rest is the body (and, for the Basic
 * header path, base64 credentials). Body handling, the Snowplow payload mapping
 * and the event decoder run as in the collector. */
#include "clickpulse/event.h"
#include "clickpulse/snowplow.h"
#include "http/internal.h"

#include <stdint.h>
#include <string.h>

static int count(void *ud, const cp_event *e)
{
    *(size_t *)ud += e->raw.len + e->ctx.ip.len;
    return 0;
}

static int count_reject(void *ud, const cp_reject *r)
{
    *(size_t *)ud += r->raw.len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    enum route r = (enum route)(data[0] % (R_SNOWPLOW_TP2 + 1));
    const char *enc = data[0] & 0x80 ? "gzip" : NULL;
    cp_slice raw = {(const char *)data + 1, size - 1};
    size_t sum = 0;
    char creds[64], err[256];
    cp_buf plain, doc;
    cp_slice body, aid;
    cp_arena a;
    cp_buf_init(&plain);
    cp_buf_init(&doc);
    cp_arena_init(&a, 4096);
    size_t n = raw.len < 48 ? raw.len : 48;
    char b64[49];
    memcpy(b64, raw.ptr, n);
    b64[n] = 0;
    sum += (size_t)(http_b64_decode(b64, creds, sizeof(creds)) + 1);
    if (http_request_body(raw, enc, 64 * 1024, &plain, &body) == 0) {
        if (r == R_SNOWPLOW_TP2 && cp_snowplow_payload(body, &doc, &a, &aid, err, sizeof(err)) == 0)
            body = cp_buf_slice(&doc);
        cp_decode_options o;
        http_decode_options(r, 8192, 64 * 1024, 100, &o);
        o.received_at_ms = 1790856000000LL;
        o.client_ip = CP_SLICE_LIT("203.0.113.9");
        cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){&sum, count, count_reject});
        if (d) cp_event_decode(d, body.ptr, body.len);
        cp_event_decoder_free(d);
    }
    cp_buf_free(&plain);
    cp_buf_free(&doc);
    cp_arena_free(&a);
    return sum == (size_t)-1;
}
