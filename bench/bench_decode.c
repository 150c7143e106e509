/* Decoder throughput on simulator output, one core: events/s and MB/s for
 * JSON Lines and for batch envelopes. Prints one JSON object. */
#include "clickpulse/event.h"
#include "clickpulse/simulate.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static int grab(void *ud, const char *b, size_t n, size_t ev)
{
    (void)ev;
    return cp_buf_append(ud, b, n);
}

typedef struct counts {
    uint64_t events, rejects, bytes_seen;
} counts;

static int on_event(void *ud, const cp_event *e)
{
    counts *c = ud;
    c->events++;
    c->bytes_seen += e->user_id.len + e->n_products;
    return 0;
}

static int on_reject(void *ud, const cp_reject *r)
{
    ((counts *)ud)->rejects++;
    return 0;
}

static double run(const cp_buf *input, counts *c, int chunk)
{
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.trust_received_at = true;
    cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){c, on_event, on_reject});
    int64_t t0 = cp_mono_ns();
    for (size_t off = 0; off < input->len; off += (size_t)chunk) {
        size_t n = input->len - off < (size_t)chunk ? input->len - off : (size_t)chunk;
        cp_event_decoder_feed(d, input->ptr + off, n);
    }
    cp_event_decoder_finish(d);
    double secs = (double)(cp_mono_ns() - t0) / 1e9;
    cp_event_decoder_free(d);
    return secs;
}

static void measure(const char *name, cp_sim_format fmt, int customers, int first)
{
    cp_config cfg;
    cp_sim_params p;
    cp_config_init(&cfg);
    cp_sim_params_from_config(&cfg, &p);
    cp_config_free(&cfg);
    p.customers = customers;
    p.days = 7;
    p.seed = 7;
    p.format = fmt;
    cp_buf input;
    cp_buf_init(&input);
    cp_sim_output out = {.ud = &input, .events = grab};
    cp_sim_stats st;
    cp_simulate(&p, &out, &st);
    double best = 1e9;
    counts c = {0};
    for (int rep = 0; rep < 5; rep++) {
        counts k = {0};
        double s = run(&input, &k, 1 << 20);
        if (s < best) best = s, c = k;
    }
    uint64_t total = c.events + c.rejects;
    printf(
        "%s  \"%s\": {\"input_bytes\": %zu, \"events\": %llu, \"rejects\": %llu, "
        "\"avg_event_bytes\": %.0f, \"seconds\": %.4f, \"events_per_s\": %.0f, \"mb_per_s\": %.1f}",
        first ? "" : ",\n", name, input.len, (unsigned long long)c.events,
        (unsigned long long)c.rejects, (double)input.len / (double)total, best,
        (double)total / best, (double)input.len / best / 1e6);
    cp_buf_free(&input);
}

int main(int argc, char **argv)
{
    int customers = argc > 1 ? atoi(argv[1]) : 40000;
    printf("{\"bench\": \"decode\", \"threads\": 1,\n");
    measure("jsonl", CP_SIM_JSONL, customers, 1);
    measure("batch_100", CP_SIM_BATCH, customers, 0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf(",\n  \"peak_rss_mb\": %.1f}\n", (double)ru.ru_maxrss / 1024);
    return 0;
}
