/* clickpulse simulate: writes a simulated shop's traffic to a directory
 * (events, CSV tables, ground truth) or its events to standard output. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/fdwriter.h"
#include "clickpulse/fs.h"
#include "clickpulse/simulate.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_OUT,
    OPT_QUIET,
    OPT_OUTPUTS,
    OPT_HTTP,
    OPT_WRITE_KEY,
    OPT_KAFKA,
    OPT_TOPIC,
    OPT_FROM,
    OPT_UNTIL,
    OPT_LIVE
};

static const cli_opt opts[] = {
    {.name = "out",
     .metavar = "DIR|-",
     .id = OPT_OUT,
     .help = "Directory for events.jsonl, customers.csv, purchases.csv, clickstream.csv and "
             "truth.json; '-' writes only the events, to standard output (default)."},
    {.name = "customers", .key = "simulator.customers", .metavar = "N", .help = "Customers."},
    {.name = "days", .key = "simulator.days", .metavar = "N", .help = "Days simulated."},
    {.name = "start", .key = "simulator.start", .metavar = "DATE", .help = "First day."},
    {.name = "seed", .key = "simulator.seed", .metavar = "N", .help = "Seed."},
    {.name = "products", .key = "simulator.products", .metavar = "N", .help = "Catalogue size."},
    {.name = "format",
     .key = "simulator.format",
     .metavar = "jsonl|batch",
     .help = "One event a line, or Segment batch envelopes."},
    {.name = "batch-size",
     .key = "simulator.batch_size",
     .metavar = "N",
     .help = "Events per envelope."},
    {.name = "rate",
     .key = "simulator.rate",
     .metavar = "N",
     .help = "Pace the output to N events a second (0: as fast as possible)."},
    {.name = "duplicate-rate",
     .key = "simulator.duplicate_rate",
     .metavar = "X",
     .help = "Share of events delivered twice."},
    {.name = "late-rate",
     .key = "simulator.late_rate",
     .metavar = "X",
     .help = "Share of sessions delivered late."},
    {.name = "skew-rate",
     .key = "simulator.skew_rate",
     .metavar = "X",
     .help = "Share of devices with a wrong clock."},
    {.name = "malformed-rate",
     .key = "simulator.malformed_rate",
     .metavar = "X",
     .help = "Bad lines per event."},
    {.name = "bot-rate",
     .key = "simulator.bot_rate",
     .metavar = "X",
     .help = "Crawler sessions per customer per day."},
    {.name = "large-properties",
     .key = "simulator.large_properties",
     .metavar = "X",
     .help = "Share of events whose properties carry a note of 1-20 KB."},
    {.name = "signup-rate",
     .key = "simulator.signup_rate",
     .metavar = "X",
     .help = "Share of customers who sign up during the window."},
    {.name = "utc-offset",
     .key = "simulator.utc_offset",
     .metavar = "H",
     .help = "The customers' local time is UTC+H (-12 to 14): sessions start by the daily curve "
             "of their local hour."},
    {.name = "profile",
     .key = "simulator.profile",
     .metavar = "standard|messy",
     .help = "'messy' adds every edge case of docs/simulator.md \"The messy profile\" to the "
             "standard traffic; truth.json then holds only the figures those cases leave "
             "well defined."},
    {.name = "shift-rate",
     .key = "simulator.shift_rate",
     .metavar = "X",
     .help = "Share of the shift-from persona's customers who change persona mid-window."},
    {.name = "shift-from",
     .key = "simulator.shift_from",
     .metavar = "PERSONA",
     .help = "Persona they change from."},
    {.name = "shift-to",
     .key = "simulator.shift_to",
     .metavar = "PERSONA",
     .help = "Persona they become."},
    {.name = "shift-day",
     .key = "simulator.shift_day",
     .metavar = "N",
     .help = "Day of the window the change happens (0: the middle)."},
    {.name = "outputs",
     .metavar = "LIST",
     .id = OPT_OUTPUTS,
     .help =
         "With --out DIR: which of events,customers,purchases,clickstream,truth to write "
         "(default: all). 'customers' alone writes only the profiles, without simulating days."},
    {.name = "http",
     .metavar = "URL",
     .id = OPT_HTTP,
     .help = "Send the events to a collector (URL of its base, e.g. http://127.0.0.1:8080) as "
             "batches on /v1/batch instead of writing them."},
    {.name = "write-key",
     .metavar = "KEY",
     .id = OPT_WRITE_KEY,
     .help = "The write key sent with --http."},
    {.name = "kafka",
     .metavar = "BROKERS",
     .id = OPT_KAFKA,
     .help = "Produce the events to Kafka (bootstrap servers host:port,...), one event a "
             "message keyed by identity; kafka.properties apply."},
    {.name = "topic",
     .metavar = "TOPIC",
     .id = OPT_TOPIC,
     .help = "The topic written with --kafka (default: events)."},
    {.name = "from",
     .metavar = "TIME",
     .id = OPT_FROM,
     .help = "Write only what the server receives from TIME on (ISO 8601, or 'now'); the shop "
             "stays that of the whole window."},
    {.name = "until",
     .metavar = "TIME",
     .id = OPT_UNTIL,
     .help = "Write only what the server receives before TIME (ISO 8601, or 'now')."},
    {.name = "live",
     .id = OPT_LIVE,
     .help = "Send each event when its receive time comes (the shop in real time; what is "
             "already due goes at once)."},
    {.name = "quiet", .id = OPT_QUIET, .help = "Print no summary."},
    {0},
};

/* Outputs: events, customers, purchases, clickstream, truth. Each is written by a
 * background writer so that generating and writing overlap. */
typedef struct files {
    int fd[5];
    int direct[5];
    cp_fdwriter *w[5];
} files;

static int w_events(void *ud, const char *b, size_t n, size_t ev)
{
    (void)ev;
    return cp_fdwriter_write(((files *)ud)->w[0], b, n);
}
static int w_customers(void *ud, const char *b, size_t n)
{
    return cp_fdwriter_write(((files *)ud)->w[1], b, n);
}
static int w_purchases(void *ud, const char *b, size_t n)
{
    return cp_fdwriter_write(((files *)ud)->w[2], b, n);
}
static int w_clicks(void *ud, const char *b, size_t n)
{
    return cp_fdwriter_write(((files *)ud)->w[3], b, n);
}
static int w_truth(void *ud, const char *b, size_t n)
{
    return cp_fdwriter_write(((files *)ud)->w[4], b, n);
}

static int start_writers(const cli_cmd *cmd, files *f)
{
    for (int i = 0; i < 5; i++) {
        if (f->fd[i] < 0) continue;
        if (!(f->w[i] =
                  cp_fdwriter_new(f->fd[i], 4u << 20, 3, f->direct[i] ? CP_FDWRITER_DIRECT : 0))) {
            cli_error(cmd->name, "out of memory");
            return CLI_FAILURE;
        }
    }
    return CLI_OK;
}

/* Flushes and closes every output; returns CLI_FAILURE when anything failed. */
static int close_outputs(const cli_cmd *cmd, files *f, int rc)
{
    for (int i = 0; i < 5; i++) {
        if (f->w[i] && cp_fdwriter_close(f->w[i]) != CP_OK && rc == CLI_OK) {
            cli_error(cmd->name, "writing the output failed (is the disk full?)");
            rc = CLI_FAILURE;
        }
        if (f->fd[i] > 2 && close(f->fd[i]) != 0 && rc == CLI_OK) {
            cli_error(cmd->name, "closing output: %s", strerror(errno));
            rc = CLI_FAILURE;
        }
    }
    return rc;
}

static const char *const output_names[] = {"events", "customers", "purchases", "clickstream",
                                           "truth"};

/* Parses --outputs into a bit per output; returns -1 for an unknown name. */
static int parse_outputs(const cli_cmd *cmd, const char *list)
{
    if (!list) return 31;
    int mask = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < 5 && strcmp(tok, output_names[i]) != 0) i++;
        if (i == 5) {
            cli_error(cmd->name,
                      "unknown output '%s' (expected events, customers, purchases, "
                      "clickstream or truth)",
                      tok);
            return -1;
        }
        mask |= 1 << i;
    }
    return mask;
}

static int open_outputs(const cli_cmd *cmd, const char *dir, files *f, int mask)
{
    static const char *const names[] = {"events.jsonl", "customers.csv", "purchases.csv",
                                        "clickstream.csv", "truth.json"};
    if (cp_mkdirs(dir) != CP_OK) {
        cli_error(cmd->name, "cannot create %s: %s", dir, strerror(errno));
        return CLI_FAILURE;
    }
    for (int i = 0; i < 5; i++) {
        if (!(mask & (1 << i))) continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        f->fd[i] = cp_fdwriter_open(path, &f->direct[i]);
        if (f->fd[i] < 0) {
            cli_error(cmd->name, "cannot write %s: %s", path, strerror(errno));
            return CLI_FAILURE;
        }
    }
    return CLI_OK;
}

static void print_summary(const cp_sim_stats *s, const char *dest, double secs)
{
    char rev[32], planted[64] = "";
    rev[cp_fmt_cents(rev, s->revenue_cents)] = '\0';
    if (s->planted)
        snprintf(planted, sizeof(planted), " (standard traffic), plus %llu planted events",
                 (unsigned long long)s->planted);
    fprintf(stderr,
            "simulate: %llu lines to %s: %llu events, %llu duplicates, %llu bad lines; "
            "%llu orders, revenue %s%s; %.2f s (%.0f events/s, %.1f MB/s)\n",
            (unsigned long long)s->lines, dest, (unsigned long long)s->events,
            (unsigned long long)s->duplicates, (unsigned long long)s->rejects,
            (unsigned long long)s->orders, rev, planted, secs,
            secs > 0 ? (double)(s->events + s->duplicates + s->rejects + s->planted) / secs : 0,
            secs > 0 ? (double)s->bytes / secs / 1e6 : 0);
}

/* --http: the events go to a collector as batch envelopes. */
static int run_http(const cli_cmd *cmd, cli_args *args, cp_sim_params *p)
{
    http_sender *s;
    const char *key = args->flags[OPT_WRITE_KEY];
    if (!key || !*key) {
        cli_error(cmd->name, "--http needs --write-key KEY (one of the collector's write keys)");
        return CLI_USAGE;
    }
    if (http_sender_open(&s, args->flags[OPT_HTTP], key)) return CLI_FAILURE;
    p->format = CP_SIM_BATCH;
    cp_sim_output out = {.ud = s, .events = http_sender_send};
    cp_sim_stats st;
    int64_t t0 = cp_mono_ns();
    int err = cp_simulate(p, &out, &st);
    if (err)
        cli_error(cmd->name, "sending to %s: %s", args->flags[OPT_HTTP], cp_strerror(err));
    else if (!args->flags[OPT_QUIET])
        print_summary(&st, args->flags[OPT_HTTP], (double)(cp_mono_ns() - t0) / 1e9);
    http_sender_close(s, args->flags[OPT_QUIET] ? NULL : stderr);
    return err ? CLI_FAILURE : CLI_OK;
}

/* --kafka: the events go to a topic, one a message. */
static int run_kafka(const cli_cmd *cmd, cli_args *args, cp_sim_params *p, const cp_config *cfg)
{
    kafka_sender *s;
    const char *topic = args->flags[OPT_TOPIC] ? args->flags[OPT_TOPIC] : "events";
    if (kafka_sender_open(&s, args->flags[OPT_KAFKA], topic, &cfg->kafka_properties))
        return CLI_FAILURE;
    p->format = CP_SIM_JSONL;
    cp_sim_output out = {.ud = s, .events = kafka_sender_send};
    cp_sim_stats st;
    int64_t t0 = cp_mono_ns();
    int err = cp_simulate(p, &out, &st);
    int closed = kafka_sender_close(s, args->flags[OPT_QUIET] ? NULL : stderr);
    if (err || closed)
        cli_error(cmd->name, "producing to %s: %s", args->flags[OPT_KAFKA],
                  cp_strerror(err ? err : closed));
    else if (!args->flags[OPT_QUIET])
        print_summary(&st, topic, (double)(cp_mono_ns() - t0) / 1e9);
    return err || closed ? CLI_FAILURE : CLI_OK;
}

/* --from, --until: ISO 8601 or "now", into ms; returns -1 (said) when it is neither. */
static int parse_when(const cli_cmd *cmd, const char *opt, const char *s, int64_t *ms)
{
    if (!s) return 0;
    if (strcmp(s, "now") == 0) {
        *ms = cp_now_ms();
        return 0;
    }
    if (cp_time_parse(s, strlen(s), ms) == CP_OK) return 0;
    cli_error(cmd->name,
              "--%s '%s' is not a time (expected ISO 8601, e.g. 2026-12-07T10:00:00Z, "
              "or 'now')",
              opt, s);
    return -1;
}

/* The window and pacing options into p; returns CLI_USAGE when one is wrong. */
static int time_options(const cli_cmd *cmd, cli_args *args, cp_sim_params *p)
{
    if (parse_when(cmd, "from", args->flags[OPT_FROM], &p->from_ms) ||
        parse_when(cmd, "until", args->flags[OPT_UNTIL], &p->until_ms))
        return CLI_USAGE;
    p->live = args->flags[OPT_LIVE] != NULL;
    if (p->live && p->rate > 0) {
        cli_error(cmd->name, "--live paces by the events' own times: drop --rate");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    const char *dir = args->flags[OPT_OUT] ? args->flags[OPT_OUT] : "-";
    files f = {.fd = {-1, -1, -1, -1, -1}};
    cp_sim_params p;
    cp_sim_output out = {.ud = &f, .events = w_events};
    if (argc) {
        cli_error(cmd->name, "unexpected argument '%s' (use --out DIR)", argv[0]);
        return CLI_USAGE;
    }
    cp_sim_params_from_config(cfg, &p);
    if (time_options(cmd, args, &p)) return CLI_USAGE;
    if (args->flags[OPT_HTTP]) return run_http(cmd, args, &p);
    if (args->flags[OPT_KAFKA]) return run_kafka(cmd, args, &p, cfg);
    int rc = CLI_OK, mask = parse_outputs(cmd, args->flags[OPT_OUTPUTS]);
    if (mask < 0) return CLI_USAGE;
    if ((p.from_ms || p.until_ms) && (mask & 16)) {
        if (args->flags[OPT_OUTPUTS]) {
            cli_error(cmd->name, "truth.json is the whole window's: not with --from or --until");
            return CLI_USAGE;
        }
        mask &= ~16;
    }
    if (strcmp(dir, "-") == 0) {
        if (args->flags[OPT_OUTPUTS]) {
            cli_error(cmd->name, "--outputs needs --out DIR");
            return CLI_USAGE;
        }
        f.fd[0] = 1;
    } else {
        if ((rc = open_outputs(cmd, dir, &f, mask))) goto done;
        out.events = mask & 1 ? w_events : NULL;
        out.customers_csv = mask & 2 ? w_customers : NULL;
        out.purchases_csv = mask & 4 ? w_purchases : NULL;
        out.clickstream_csv = mask & 8 ? w_clicks : NULL;
        out.truth = mask & 16 ? w_truth : NULL;
    }
    if ((rc = start_writers(cmd, &f))) goto done;
    cp_sim_stats stats;
    int64_t t0 = cp_mono_ns();
    int err = cp_simulate(&p, &out, &stats);
    if (err) {
        cli_error(cmd->name, "%s%s", cp_strerror(err),
                  err == CP_EIO ? " writing the output (is the disk full?)" : "");
        rc = CLI_FAILURE;
        goto done;
    }
    rc = close_outputs(cmd, &f, rc);
    double secs = (double)(cp_mono_ns() - t0) / 1e9;
    if (rc == CLI_OK && !args->flags[OPT_QUIET] && mask == 2)
        fprintf(stderr, "simulate: %lld customer profiles to %s in %.2f s\n",
                (long long)p.customers, dir, secs);
    else if (rc == CLI_OK && !args->flags[OPT_QUIET])
        print_summary(&stats, strcmp(dir, "-") ? dir : "stdout", secs);
    return rc;
done:
    return close_outputs(cmd, &f, rc);
}

const cli_cmd cli_cmd_simulate = {
    .name = "simulate",
    .summary = "Generate a realistic, deterministic shop: events, CSV tables and ground truth.",
    .usage = "clickpulse simulate [--customers N] [--days N] [--seed N] [--out DIR|-] [options]",
    .details =
        "The same seed and options give byte-identical output. truth.json holds the exact\n"
        "answers a correct pipeline must produce: valid events by kind and day, distinct\n"
        "customers, orders and revenue by day and country, sessions, funnel steps,\n"
        "duplicate, late, bad-line and bot counts, and every customer's persona.\n"
        "--profile messy adds planted edge cases; its truth.json says \"profile\":\"messy\"\n"
        "and holds only the figures those cases leave well defined, and what was planted.",
    .opts = opts,
    .run = run,
};
