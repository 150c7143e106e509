/* Fuzz target: bytes → a customer row and a purchase row (plain or in a Debezium
 * envelope) mapped onto Segment events. Whatever is accepted must be JSON the
 * event decoder reads (it may still reject a field's value, never the syntax). */
#include "clickpulse/error.h"
#include "clickpulse/event.h"
#include "clickpulse/rows.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ok(void *ud, const cp_event *e)
{
    (void)ud, (void)e;
    return 0;
}

static int rejected(void *ud, const cp_reject *r)
{
    (void)ud;
    if (r->reason == CP_REJECT_NOT_JSON || r->reason == CP_REJECT_INVALID_UTF8) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    for (int k = 0; k < 2; k++) {
        cp_buf out;
        cp_buf_init(&out);
        if (cp_row_to_event(k ? CP_ROW_PURCHASE : CP_ROW_CUSTOMER,
                            (cp_slice){(const char *)data, size}, CP_SLICE_LIT("fuzz:0/1"), &out,
                            err, sizeof(err)) == CP_OK) {
            cp_decode_options o;
            cp_decode_options_default(&o);
            o.received_at_ms = 1790856000000LL;
            cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){NULL, ok, rejected});
            if (d) cp_event_decode(d, out.ptr, out.len);
            cp_event_decoder_free(d);
        }
        cp_buf_free(&out);
    }
    return 0;
}
