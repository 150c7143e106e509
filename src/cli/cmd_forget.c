/* clickpulse forget USER: erases a person (GDPR erasure) from the bronze log,
 * silver, the ML tables and gold — through the running daemon when there is one,
 * else on the data directory itself. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/pipeline.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

void cli_forget_json(const cp_forget_stats *st, cp_buf *out)
{
    cp_buf_appendf(out,
                   "{\"log_events\":%llu,\"events\":%lld,\"orders\":%lld,\"sessions\":%lld,"
                   "\"customers\":%lld,\"other_rows\":%lld,\"gold_rows\":%lld}\n",
                   (unsigned long long)st->log_events, (long long)st->events, (long long)st->orders,
                   (long long)st->sessions, (long long)st->customers, (long long)st->other_rows,
                   (long long)st->gold_rows);
}

static int here(const cli_cmd *cmd, cp_config *cfg, const char *user)
{
    char err[1024] = {0};
    cp_pipeline *p;
    if (cp_pipeline_open(cfg, &p, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    cp_forget_stats st;
    int rc = cp_pipeline_forget(p, user, &st, err, sizeof(err));
    if (rc) {
        cli_error(cmd->name, "%s", err);
    } else {
        cp_buf out;
        cp_buf_init(&out);
        cli_forget_json(&st, &out);
        fputs(out.ptr, stdout);
        cp_buf_free(&out);
    }
    cp_pipeline_close(p);
    return rc ? CLI_FAILURE : CLI_OK;
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    (void)parsed;
    if (argc != 1 || !argv[0][0]) {
        cli_error(cmd->name, "expects one user id: clickpulse forget USER");
        return CLI_USAGE;
    }
    char *enc = curl_easy_escape(NULL, argv[0], 0);
    cp_buf form, body;
    cp_buf_init(&form);
    cp_buf_init(&body);
    cp_buf_appendf(&form, "user_id=%s", enc ? enc : "");
    curl_free(enc);
    long status = 0;
    int rc = cli_daemon_post(cfg, "/api/v1/forget", form.ptr, &body, &status);
    cp_buf_free(&form);
    if (rc == CLI_USAGE)
        rc = here(cmd, cfg, argv[0]); /* no daemon */
    else if (rc == CLI_OK && status == 200)
        fwrite(body.ptr, 1, body.len, stdout);
    else if (rc == CLI_OK) {
        cli_error(cmd->name, "the daemon answered %ld: %.*s", status,
                  (int)(body.len && body.ptr[body.len - 1] == '\n' ? body.len - 1 : body.len),
                  body.ptr ? body.ptr : "");
        rc = CLI_FAILURE;
    }
    cp_buf_free(&body);
    return rc;
}

const cli_cmd cli_cmd_forget = {
    .name = "forget",
    .summary = "Erase a person's events and everything derived from them (GDPR).",
    .usage = "clickpulse forget USER",
    .details = "Every event with the user id USER, or with one of their anonymous ids and no\n"
               "user id, becomes a tombstone in the bronze log (offsets stay); their rows\n"
               "leave silver (events, orders, sessions, customers, identity map, dead letters\n"
               "naming them), the ML tables and every gold table with a person's id column.\n"
               "Aggregate marts lose them at the models' next run. Prints what was removed,\n"
               "as JSON. Through the running daemon when there is one. Running it again is\n"
               "harmless (and finishes an erasure a crash interrupted).",
    .run = run,
};
