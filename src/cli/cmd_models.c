/* clickpulse models run|test|list: the gold layer's SQL models (DESIGN.md section 6):
 * the built-in ones, and models.dir's adding to or replacing them, built in the store's
 * "gold" schema. Runs on the data directory
 * directly: with the daemon running, its scheduler builds them instead. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/models.h"

#include <stdio.h>
#include <string.h>

enum { OPT_SELECT, OPT_FULL_REFRESH, OPT_DIR };

static const cli_opt opts[] = {
    {.name = "select",
     .metavar = "NAME",
     .id = OPT_SELECT,
     .help = "Only this model; NAME+ with what depends on it, +NAME with what it depends on."},
    {.name = "full-refresh",
     .id = OPT_FULL_REFRESH,
     .help = "Rebuild incremental models from scratch."},
    {.name = "dir", .key = "models.dir", .metavar = "DIR", .help = "The models directory."},
    {0},
};

static void print_result(void *ud, const cp_model_result *r)
{
    (void)ud;
    if (r->ok)
        printf("%-4s %-40s %-16s %10lld rows  %7.3f s\n", "ok", r->name, r->what,
               (long long)r->rows, r->seconds);
    else
        printf("%-4s %-40s %-16s %s\n", "FAIL", r->name, r->what, r->error ? r->error : "");
}

/* Markdown: a heading and description a model, then a table of its columns. */
static void print_doc(void *ud, const char *model, const char *column, const char *type,
                      const char *description)
{
    (void)ud;
    if (!column) {
        printf("\n## %s\n\n`%s`%s%s\n\n| column | type | description |\n|---|---|---|\n", model,
               type, description ? ": " : "", description ? description : "");
        return;
    }
    printf("| `%s` | %s | %s |\n", column, type, description ? description : "(undocumented)");
}

static int load(const cli_cmd *cmd, const cp_config *cfg, cp_models **out)
{
    char err[2048];
    cp_models *m = cp_models_new();
    if (!m) return CLI_FAILURE;
    int rc = cp_models_add_builtin(m, err, sizeof(err));
    if (rc == CP_OK && cfg->models_dir[0])
        rc = cp_models_add_dir(m, cfg->models_dir, err, sizeof(err));
    if (rc == CP_OK) rc = cp_models_resolve(m, err, sizeof(err));
    if (rc) {
        cli_error(cmd->name, "%s", err);
        cp_models_free(m);
        return CLI_FAILURE;
    }
    *out = m;
    return CLI_OK;
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    const char *action = argc ? argv[0] : "";
    if (argc != 1 || (strcmp(action, "run") && strcmp(action, "test") && strcmp(action, "list") &&
                      strcmp(action, "docs"))) {
        cli_error(cmd->name, "expects one of: run, test, list, docs");
        return CLI_USAGE;
    }
    cp_models *m;
    int rc = load(cmd, cfg, &m);
    if (rc) return rc;
    if (strcmp(action, "list") == 0) {
        static const char *const kinds[] = {"view", "table", "incremental"};
        for (size_t i = 0; i < cp_models_count(m); i++) {
            cp_model_info x;
            cp_models_get(m, i, &x);
            printf("%-40s %-12s %s", x.name, kinds[x.materialized], x.path);
            for (size_t d = 0; d < x.n_deps; d++) printf("%s%s", d ? ", " : "  <- ", x.deps[d]);
            printf("\n");
        }
        cp_models_free(m);
        return CLI_OK;
    }
    char path[4096], err[2048];
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", cfg->data_dir);
    cp_store *s;
    if (cp_store_open(path, false, &s, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        cp_models_free(m);
        return CLI_FAILURE;
    }
    if (cp_store_set_currency(s, cfg->currency_reporting, cfg->currency_rates, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        cp_store_close(s);
        cp_models_free(m);
        return CLI_FAILURE;
    }
    if (strcmp(action, "docs") == 0) {
        int64_t missing = 0;
        int e = cp_models_docs(m, s, print_doc, NULL, &missing, err, sizeof(err));
        if (e) cli_error(cmd->name, "%s", err);
        if (!e && missing)
            fprintf(stderr, "%lld columns have no description\n", (long long)missing);
        cp_store_close(s);
        cp_models_free(m);
        return e ? CLI_FAILURE : CLI_OK;
    }
    const char *select = args->flags[OPT_SELECT];
    int e =
        strcmp(action, "run") == 0
            ? cp_models_run(m, s, select, args->flags[OPT_FULL_REFRESH] != NULL, print_result, NULL)
            : cp_models_test(m, s, select, print_result, NULL);
    if (e == CP_ENOENT) cli_error(cmd->name, "--select %s: no such model", select ? select : "");
    cp_store_close(s);
    cp_models_free(m);
    return e ? CLI_FAILURE : CLI_OK;
}

const cli_cmd cli_cmd_models = {
    .name = "models",
    .summary = "Build, test or list the gold layer's SQL models.",
    .usage = "clickpulse models run|test|list|docs [--select NAME[+]] [--full-refresh] [--dir DIR]",
    .details =
        "The built-in models (staging views; fct_purchases, daily_sales_summary,\n"
        "dim_customers, country_summary, funnel_daily, sessions_summary, acquisition) and\n"
        "those of models.dir, which add to or replace them: NAME.sql files (dbt-style: ref,\n"
        "source, config, is_incremental), data tests in schema.yml files, custom tests in\n"
        "tests/*.sql next to the models directory. Built in the store's 'gold' schema; exit\n"
        "code 1 when a model or a test fails. 'docs' prints every built model's columns with\n"
        "their types and schema.yml descriptions (Markdown).",
    .opts = opts,
    .run = run,
};
