/* Fuzz target: bytes → the Snowplow mappings: as a tp2 payload, and split on '&'
 * and '=' as the parameters of a pixel request; what they produce is decoded. */
#include "clickpulse/event.h"
#include "clickpulse/snowplow.h"

#include <stdint.h>
#include <string.h>

static int count(void *ud, const cp_event *e)
{
    *(size_t *)ud += e->raw.len;
    return 0;
}

static int count_reject(void *ud, const cp_reject *r)
{
    *(size_t *)ud += r->raw.len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sum = 0;
    char err[256];
    cp_arena a;
    cp_buf out;
    cp_slice aid;
    cp_arena_init(&a, 4096);
    cp_buf_init(&out);
    cp_event_decoder *d = cp_event_decoder_new(NULL, (cp_decode_sink){&sum, count, count_reject});
    if (cp_snowplow_payload((cp_slice){(const char *)data, size}, &out, &a, &aid, err,
                            sizeof(err)) == 0 &&
        d)
        cp_event_decode(d, out.ptr, out.len);
    cp_kv kv[64];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end && n < 64) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        kv[n++] = eq ? (cp_kv){{p, (size_t)(eq - p)}, {eq + 1, (size_t)(stop - eq - 1)}}
                     : (cp_kv){{p, (size_t)(stop - p)}, {"", 0}};
        p = stop + 1;
    }
    cp_buf_reset(&out);
    if (cp_snowplow_event(kv, n, &out, err, sizeof(err)) == 0 && d)
        cp_event_decode(d, out.ptr, out.len);
    cp_event_decoder_free(d);
    cp_buf_free(&out);
    cp_arena_free(&a);
    return sum == (size_t)-1;
}
