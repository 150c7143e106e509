/* Fuzz target: bytes → the Segment event decoder, as a whole document and as
 * JSON Lines fed in two pieces. Every decoded event's slices must lie inside
 * the input or the decoder's memory and be readable; silver's country rule reads the
 * decoded country and locale. */
#include "clickpulse/event.h"
#include "clickpulse/pipeline.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static int touch(void *ud, const cp_event *e)
{
    size_t *sum = ud;
    *sum += e->raw.len + e->user_id.len + e->anonymous_id.len + e->ctx.page_url.len + e->n_products;
    for (uint32_t i = 0; i < e->n_products; i++) *sum += e->products[i].product_id.len;
    if (e->context.len) *sum += (unsigned char)e->context.ptr[e->context.len - 1];
    char country[3];
    *sum += cp_country(e->ctx.country, e->ctx.locale, country).len; /* silver's country rule */
    return 0;
}

static int touch_reject(void *ud, const cp_reject *r)
{
    size_t *sum = ud;
    *sum += r->raw.len + strlen(r->detail) +
            (r->raw.len ? (unsigned char)r->raw.ptr[r->raw.len - 1] : 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sum = 0;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_event_bytes = 4096;
    o.max_line_bytes = 16384;
    o.max_batch_events = 50;
    o.max_depth = 16;
    o.trust_received_at = size & 1;
    o.received_at_ms = 1790856000000LL;
    cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){&sum, touch, touch_reject});
    if (!d) return 0;
    cp_event_decode(d, (const char *)data, size);
    size_t half = size / 2;
    cp_event_decoder_feed(d, (const char *)data, half);
    cp_event_decoder_feed(d, (const char *)data + half, size - half);
    cp_event_decoder_finish(d);
    cp_event_decoder_free(d);
    return sum == (size_t)-1;
}
