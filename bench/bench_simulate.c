/* Simulator throughput: events/s and MB/s generating a shop, to memory (a sink
 * that only counts) and to a file in the directory given. Prints one JSON object. */
#include "clickpulse/fdwriter.h"
#include "clickpulse/simulate.h"
#include "clickpulse/time.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static int count_only(void *ud, const char *b, size_t n, size_t ev)
{
    (void)b, (void)ev;
    *(size_t *)ud += n;
    return 0;
}

static int to_file(void *ud, const char *b, size_t n, size_t ev)
{
    (void)ev;
    return cp_fdwriter_write(ud, b, n);
}

static void measure(const char *name, cp_sim_params *p, cp_sim_output *out, int first)
{
    cp_sim_stats st;
    int64_t t0 = cp_mono_ns();
    int rc = cp_simulate(p, out, &st);
    double secs = (double)(cp_mono_ns() - t0) / 1e9;
    uint64_t records = st.events + st.duplicates + st.rejects;
    printf("%s  \"%s\": {\"ok\": %s, \"customers\": %lld, \"days\": %lld, \"records\": %llu, "
           "\"bytes\": %llu, \"seconds\": %.3f, \"events_per_s\": %.0f, \"mb_per_s\": %.1f}",
           first ? "" : ",\n", name, rc ? "false" : "true", (long long)p->customers,
           (long long)p->days, (unsigned long long)records, (unsigned long long)st.bytes, secs,
           (double)records / secs, (double)st.bytes / secs / 1e6);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    cp_config cfg;
    cp_sim_params p;
    cp_config_init(&cfg);
    cp_sim_params_from_config(&cfg, &p);
    cp_config_free(&cfg);
    p.customers = 100000;
    p.days = 30;
    p.seed = 7;
    size_t bytes = 0;
    cp_sim_output mem = {.ud = &bytes, .events = count_only};
    printf("{\"bench\": \"simulate\", \"threads\": 1,\n");
    measure("memory", &p, &mem, 1);
    char path[4096];
    snprintf(path, sizeof(path), "%s/clickpulse-bench-events.jsonl", dir);
    int direct = 0;
    int fd = cp_fdwriter_open(path, &direct);
    if (fd >= 0) {
        /* The same background writer as 'clickpulse simulate --out'; its close is timed too. */
        int64_t t0 = cp_mono_ns();
        cp_fdwriter *w = cp_fdwriter_new(fd, 4u << 20, 3, direct ? CP_FDWRITER_DIRECT : 0);
        cp_sim_output file = {.ud = w, .events = to_file};
        measure("file", &p, &file, 0);
        int rc = cp_fdwriter_close(w);
        int64_t t1 = cp_mono_ns();
        close(fd);
        unlink(path);
        printf(",\n  \"file_including_close_s\": %.3f, \"file_ok\": %s, \"o_direct\": %s",
               (double)(t1 - t0) / 1e9, rc ? "false" : "true", direct ? "true" : "false");
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf(",\n  \"file_dir\": \"%s\", \"peak_rss_mb\": %.1f}\n", dir, (double)ru.ru_maxrss / 1024);
    return 0;
}
