/* src/core/config.c, config_yaml.c, config_table.c: defaults, sources and
 * their precedence, validation with suggestions, and the printed forms. */
#include "clickpulse/config.h"
#include "clickpulse/error.h"
#include "test.h"

#include <unistd.h>

static void test_defaults(void)
{
    cp_config c;
    CHECK(cp_config_init(&c) == CP_OK);
    CHECK_STR(c.data_dir, "./data");
    CHECK_STR(c.collector_listen, "127.0.0.1:8080");
    CHECK_STR(c.dashboard_listen, "127.0.0.1:8088");
    CHECK_INT(c.collector_max_event_bytes, 32 * 1024);
    CHECK_INT(c.collector_max_request_bytes, 500 * 1024);
    CHECK_INT(c.collector_max_batch_events, 2500);
    CHECK_INT(c.pipeline_dedup_window_ms, 7LL * 86400000);
    CHECK_INT(c.pipeline_session_timeout_ms, 30LL * 60000);
    CHECK_INT(c.pipeline_allowed_lateness_ms, 5LL * 60000);
    CHECK_INT(c.log_fsync, 0);
    CHECK_INT(c.kafka_topics.n, 1);
    CHECK_STR(c.kafka_topics.items[0], "events");
    CHECK_INT(c.collector_write_keys.n, 0);
    CHECK_INT(c.simulator_start, 20727);
    CHECK_INT(c.origins[0], CP_ORIGIN_DEFAULT);
    cp_config_free(&c);
}

static void test_set_and_errors(void)
{
    cp_config c;
    char err[256];
    cp_config_init(&c);
    CHECK(cp_config_set_arg(&c, "collector.listen=0.0.0.0:9000", err, sizeof(err)) == CP_OK);
    CHECK_STR(c.collector_listen, "0.0.0.0:9000");
    CHECK(cp_config_set_arg(&c, "collector.max_event_bytes=64KB", err, sizeof(err)) == CP_OK);
    CHECK_INT(c.collector_max_event_bytes, 65536);
    CHECK(cp_config_set_arg(&c, "pipeline.session_timeout=45m", err, sizeof(err)) == CP_OK);
    CHECK_INT(c.pipeline_session_timeout_ms, 2700000);
    CHECK(cp_config_set_arg(&c, "log.fsync=interval", err, sizeof(err)) == CP_OK);
    CHECK_INT(c.log_fsync, 1);
    CHECK(cp_config_set_arg(&c, "kafka.topics=web, purchases ,profiles", err, sizeof(err)) == 0);
    CHECK_INT(c.kafka_topics.n, 3);
    CHECK_STR(c.kafka_topics.items[1], "purchases");

    CHECK(cp_config_set_arg(&c, "colector.listen=x", err, sizeof(err)) == CP_EUNKNOWN);
    CHECK_STR(err,
              "unknown configuration key 'colector.listen' (did you mean 'collector.listen'?)");
    CHECK(cp_config_set_arg(&c, "zzzzzzzzzzzzzz=1", err, sizeof(err)) == CP_EUNKNOWN);
    CHECK_STR(err, "unknown configuration key 'zzzzzzzzzzzzzz' (see 'clickpulse config keys')");
    CHECK(cp_config_set_arg(&c, "log.fsync=sometimes", err, sizeof(err)) == CP_EINVAL);
    CHECK_STR(err, "invalid value 'sometimes' for log.fsync: expected one of batch, interval, off");
    CHECK(cp_config_set_arg(&c, "simulator.customers=0", err, sizeof(err)) == CP_EINVAL);
    CHECK_STR(err, "invalid value '0' for simulator.customers: expected an integer from 1 to "
                   "1000000000");
    CHECK(cp_config_set_arg(&c, "pipeline.dedup_window=7 weeks", err, sizeof(err)) == CP_EINVAL);
    CHECK(cp_config_set_arg(&c, "simulator.start=2026-02-30", err, sizeof(err)) == CP_EINVAL);
    CHECK(cp_config_set_arg(&c, "novalue", err, sizeof(err)) == CP_EINVAL);
    CHECK_STR(err, "--set expects key=value, got 'novalue'");
    CHECK_STR(c.collector_listen, "0.0.0.0:9000"); /* failed sets change nothing */
    cp_config_free(&c);
}

static void test_env(void)
{
    cp_config c;
    char err[256];
    char *env[] = {"PATH=/bin", "CLICKPULSE_CONFIG=/nowhere.yaml",
                   "CLICKPULSE_COLLECTOR_LISTEN=127.0.0.1:7000", "CLICKPULSE_SIMULATOR_RATE=250",
                   NULL};
    cp_config_init(&c);
    CHECK(cp_config_load_env(&c, env, err, sizeof(err)) == CP_OK);
    CHECK_STR(c.collector_listen, "127.0.0.1:7000");
    CHECK_NEAR(c.simulator_rate, 250, 0);
    const cp_conf_entry *e = cp_config_find("collector.listen");
    size_t n, idx;
    idx = (size_t)(e - cp_config_table(&n));
    CHECK_INT(c.origins[idx], CP_ORIGIN_ENV);
    CHECK_STR(c.origin_details[idx], "CLICKPULSE_COLLECTOR_LISTEN");
    char *bad[] = {"CLICKPULSE_COLLECTOR_LISTN=1", NULL};
    CHECK(cp_config_load_env(&c, bad, err, sizeof(err)) == CP_EUNKNOWN);
    CHECK_STR(err, "unknown environment variable CLICKPULSE_COLLECTOR_LISTN (did you mean the key "
                   "'collector.listen'?)");
    cp_config_free(&c);
}

static const char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/cp_test_config_%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_yaml_file_and_precedence(void)
{
    cp_config c;
    char err[256];
    cp_config_init(&c);
    const char *path = write_file("data_dir: /var/lib/clickpulse\n"
                                  "collector:\n"
                                  "  listen: 127.0.0.1:9090\n"
                                  "  write_keys:\n"
                                  "    wk_web: web\n"
                                  "    wk_ios: ios\n"
                                  "kafka:\n"
                                  "  topics: [web_events, purchases]\n"
                                  "simulator:\n"
                                  "  rate: 10\n");
    CHECK(cp_config_load_file(&c, path, err, sizeof(err)) == CP_OK);
    CHECK_STR(c.data_dir, "/var/lib/clickpulse");
    CHECK_STR(c.collector_listen, "127.0.0.1:9090");
    CHECK_INT(c.collector_write_keys.n, 2);
    CHECK_STR(c.collector_write_keys.items[0], "wk_web=web");
    CHECK_STR(c.collector_write_keys.items[1], "wk_ios=ios");
    CHECK_INT(c.kafka_topics.n, 2);
    CHECK_STR(c.kafka_topics.items[0], "web_events");
    char *env[] = {"CLICKPULSE_SIMULATOR_RATE=20", NULL};
    CHECK(cp_config_load_env(&c, env, err, sizeof(err)) == CP_OK);
    CHECK(cp_config_set_arg(&c, "simulator.rate=30", err, sizeof(err)) == CP_OK);
    CHECK_NEAR(c.simulator_rate, 30, 0);

    char out[16384] = {0};
    FILE *mem = fmemopen(out, sizeof(out) - 1, "w");
    cp_config_show(&c, mem);
    fclose(mem);
    char want[256];
    snprintf(want, sizeof(want), "%-48s # file %s:3\n", "collector.listen = 127.0.0.1:9090", path);
    CHECK(strstr(out, want) != NULL);
    CHECK(strstr(out, "simulator.rate = 30                              # --set\n") != NULL);
    CHECK(strstr(out, "pipeline.dedup_window = 7d                       # default\n") != NULL);
    CHECK(strstr(out, "collector.write_keys = wk_web=web,wk_ios=ios") != NULL);

    path = write_file("collector:\n  lisen: x\n");
    CHECK(cp_config_load_file(&c, path, err, sizeof(err)) == CP_EUNKNOWN);
    snprintf(want, sizeof(want),
             "%s:2: unknown configuration key 'collector.lisen' (did you mean "
             "'collector.listen'?)",
             path);
    CHECK_STR(err, want);
    path = write_file("collector: [1, 2\n");
    CHECK(cp_config_load_file(&c, path, err, sizeof(err)) == CP_EPARSE);
    CHECK(strncmp(err, path, strlen(path)) == 0);
    path = write_file("");
    CHECK(cp_config_load_file(&c, path, err, sizeof(err)) == CP_OK);
    unlink(path);
    CHECK(cp_config_load_file(&c, "/nonexistent/x.yaml", err, sizeof(err)) == CP_ENOENT);
    CHECK_STR(err, "cannot open configuration file /nonexistent/x.yaml: No such file or directory");
    cp_config_free(&c);
}

static void test_table_is_consistent(void)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    cp_config c;
    cp_config_init(&c);
    for (size_t i = 0; i < n; i++) {
        char v[512], err[256];
        CHECK(t[i].help && t[i].help[0]);
        CHECK(cp_config_find(t[i].key) == &t[i]);
        /* Every printed value reads back as the same value. */
        CHECK(cp_config_format_value(&c, &t[i], v, sizeof(v)) == CP_OK);
        CHECK(cp_config_set(&c, t[i].key, v, CP_ORIGIN_SET, NULL, err, sizeof(err)) == CP_OK);
        char v2[512];
        cp_config_format_value(&c, &t[i], v2, sizeof(v2));
        CHECK_STR(v2, v);
    }
    cp_config_free(&c);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_set_and_errors);
    RUN(test_env);
    RUN(test_yaml_file_and_precedence);
    RUN(test_table_is_consistent);
    TEST_END();
}
