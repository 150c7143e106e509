/* Fuzz target: bytes → the CSV table decoder, fed whole and in two pieces.
 * A few headers are tried in front of the input so the row paths are reached. */
#include "clickpulse/csv.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static int touch(void *ud, const cp_event *e)
{
    *(size_t *)ud += e->raw.len + e->user_id.len + e->n_products;
    return 0;
}

static int touch_reject(void *ud, const cp_reject *r)
{
    *(size_t *)ud += r->raw.len + strlen(r->detail);
    return 0;
}

static void run(const char *header, const uint8_t *data, size_t size, size_t split, size_t *sum)
{
    cp_decode_options o;
    cp_decode_options_default(&o);
    cp_csv_decoder *d = cp_csv_decoder_new(&o, (cp_decode_sink){sum, touch, touch_reject});
    if (!d) return;
    if (header) cp_csv_decoder_feed(d, header, strlen(header));
    cp_csv_decoder_feed(d, (const char *)data, split);
    cp_csv_decoder_feed(d, (const char *)data + split, size - split);
    cp_csv_decoder_finish(d);
    uint64_t line;
    *sum += cp_csv_decoder_resume_position(d, &line);
    cp_csv_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const headers[] = {
        NULL, "customer_id,name,email,country,signup_date\n",
        "order_id,customer_id,product_id,quantity,price,total_amount,purchase_date\n",
        "user_id,session_id,page_url,event_type,product_id,timestamp\n"};
    size_t sum = 0;
    const char *h = headers[size ? data[0] % 4 : 0];
    run(h, data, size, size / 3, &sum);
    return sum == (size_t)-1;
}
