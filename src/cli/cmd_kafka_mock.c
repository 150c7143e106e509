/* clickpulse kafka-mock: librdkafka's in-process mock cluster on loopback, for
 * tests and the Kafka flavour of the demo. Prints the bootstrap servers on the
 * first line of standard output, then serves until SIGINT or SIGTERM. The mock
 * broker of librdkafka 2.0.2 keeps about 5 MB or 100,000 messages a partition
 * and drops older ones silently: spread volume over partitions. */
#include "cli.h"

#include "clickpulse/error.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_BROKERS, OPT_PARTITIONS, OPT_TOPICS };

static const cli_opt opts[] = {
    {.name = "brokers",
     .metavar = "N",
     .id = OPT_BROKERS,
     .help = "Brokers in the cluster (default 1)."},
    {.name = "partitions",
     .metavar = "N",
     .id = OPT_PARTITIONS,
     .help = "Partitions of each topic created (default 4)."},
    {.name = "topics",
     .metavar = "LIST",
     .id = OPT_TOPICS,
     .help = "Topics to create, comma-separated (default: kafka.topics)."},
    {0},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    int brokers = args->flags[OPT_BROKERS] ? atoi(args->flags[OPT_BROKERS]) : 1;
    int partitions = args->flags[OPT_PARTITIONS] ? atoi(args->flags[OPT_PARTITIONS]) : 4;
    (void)argv;
    if (argc || brokers < 1 || partitions < 1) {
        cli_error(cmd->name, "expects --brokers N and --partitions N of at least 1, no arguments");
        return CLI_USAGE;
    }
    char why[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", why, sizeof(why));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!rk) {
        cli_error(cmd->name, "%s", why);
        return CLI_FAILURE;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        cli_error(cmd->name, "cannot start the mock cluster");
        rd_kafka_destroy(rk);
        return CLI_FAILURE;
    }
    char list[4096];
    if (args->flags[OPT_TOPICS])
        snprintf(list, sizeof(list), "%s", args->flags[OPT_TOPICS]);
    else
        for (size_t i = 0, n = 0; i < cfg->kafka_topics.n && n < sizeof(list); i++) {
            const char *t = cfg->kafka_topics.items[i], *eq = strchr(t, '='); /* name=layout */
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%.*s", i ? "," : "",
                                  (int)(eq ? (size_t)(eq - t) : strlen(t)), t);
        }
    int rc = CLI_OK;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (rd_kafka_mock_topic_create(mc, t, partitions, 1)) {
            cli_error(cmd->name, "cannot create topic %s", t);
            rc = CLI_FAILURE;
        }
    if (rc == CLI_OK) {
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!stop) nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}

const cli_cmd cli_cmd_kafka_mock = {
    .name = "kafka-mock",
    .summary = "Run librdkafka's mock Kafka cluster on loopback (tests, demos).",
    .usage = "clickpulse kafka-mock [--brokers N] [--partitions N] [--topics LIST]",
    .details = "Prints the bootstrap servers, then serves until SIGINT or SIGTERM. The mock keeps\n"
               "about 5 MB or 100,000 messages per partition and drops older ones silently.",
    .opts = opts,
    .run = run,
};
