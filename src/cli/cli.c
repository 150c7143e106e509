/* Option parsing shared by every command: "--name value" and "--name=value",
 * command options that are shorthands for configuration keys, and the common
 * --config, --set and --help. */
#include "cli.h"

#include "clickpulse/log.h"
#include "clickpulse/thread.h"
#include "clickpulse/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const cli_opt common_opts[] = {
    {.name = "config",
     .metavar = "FILE",
     .help = "Read configuration from a YAML file "
             "(default: $CLICKPULSE_CONFIG, if set)."},
    {.name = "set",
     .metavar = "KEY=VALUE",
     .help = "Set a configuration key (repeatable); "
             "see 'clickpulse config keys'."},
    {.name = "help", .help = "Show this help."},
    {0},
};

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "clickpulse%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void print_opts(const cli_opt *o, FILE *out)
{
    for (; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-28s %s", left, o->help);
        if (o->key) fprintf(out, " [%s]", o->key);
        fputc('\n', out);
    }
}

void cli_print_help(const cli_cmd *cmd, FILE *out)
{
    fprintf(out, "Usage: %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->details) fprintf(out, "\n%s\n", cmd->details);
    if (cmd->opts && cmd->opts[0].name) {
        fprintf(out, "\nOptions:\n");
        print_opts(cmd->opts, out);
    }
    fprintf(out, "\nCommon options:\n");
    print_opts(common_opts, out);
    fprintf(out, "\nExit codes: 0 ok, 1 runtime failure, 2 usage error.\n");
}

static const cli_opt *find_opt(const cli_opt *opts, const char *name, size_t len)
{
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0) return opts;
    return NULL;
}

typedef struct pending_set {
    const char *key, *value, *flag;
} pending_set;

static int apply_sets(const cli_cmd *cmd, cp_config *cfg, pending_set *sets, int n)
{
    char err[512];
    for (int i = 0; i < n; i++) {
        int rc = sets[i].key ? cp_config_set(cfg, sets[i].key, sets[i].value, CP_ORIGIN_SET,
                                             sets[i].flag, err, sizeof(err))
                             : cp_config_set_arg(cfg, sets[i].value, err, sizeof(err));
        if (rc) {
            cli_error(cmd->name, "%s", err);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

static int load_config(const cli_cmd *cmd, cp_config *cfg, const char *path, pending_set *sets,
                       int n)
{
    char err[512];
    if (!path) path = getenv("CLICKPULSE_CONFIG");
    if (path && *path && cp_config_load_file(cfg, path, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_USAGE;
    }
    if (cp_config_load_env(cfg, environ, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_USAGE;
    }
    int rc = apply_sets(cmd, cfg, sets, n);
    if (rc == CLI_OK) {
        cp_log_configure((cp_log_level)cfg->logging_level, (cp_log_format)cfg->logging_format, 2);
        /* background work yields to the daemon's servers; in any other command it is the
         * work the command waits for, at the command's own priority */
        bool daemon = strcmp(cmd->name, "run") == 0;
        cp_thread_set_background_nice(daemon ? (int)cfg->background_nice : 0);
        cp_thread_set_background_idle(daemon && cfg->background_idle);
    }
    return rc;
}

static int unknown_option(const cli_cmd *cmd, const char *name, size_t len)
{
    char want[64];
    snprintf(want, sizeof(want), "%.*s", (int)len, name);
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (int pass = 0; pass < 2; pass++) {
        for (const cli_opt *o = pass ? common_opts : cmd->opts; o && o->name; o++) {
            size_t d = cp_levenshtein(want, o->name);
            if (d < bestd) bestd = d, best = o->name;
        }
    }
    if (best && bestd <= strlen(want) / 3 + 1)
        cli_error(cmd->name, "unknown option --%s (did you mean --%s?)", want, best);
    else
        cli_error(cmd->name, "unknown option --%s (see 'clickpulse %s --help')", want, cmd->name);
    return CLI_USAGE;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cp_config *cfg, cli_args *args)
{
    pending_set sets[128];
    int n_sets = 0;
    const char *config_path = NULL;
    memset(args, 0, sizeof(*args));
    args->positional = argv;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0) a = "--help";
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "-") == 0 || a[2] == '\0') {
            if (strcmp(a, "--") == 0)
                while (++i < argc) args->positional[args->n_positional++] = argv[i];
            else
                args->positional[args->n_positional++] = argv[i];
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = find_opt(cmd->opts, name, len);
        const cli_opt *c = o ? NULL : find_opt(common_opts, name, len);
        if (!o && !c) return unknown_option(cmd, name, len);
        const cli_opt *opt = o ? o : c;
        const char *val = "";
        if (opt->metavar) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                cli_error(cmd->name, "--%s needs a value (%s)", opt->name, opt->metavar);
                return CLI_USAGE;
            }
        } else if (eq) {
            cli_error(cmd->name, "--%s takes no value", opt->name);
            return CLI_USAGE;
        }
        if (c && strcmp(c->name, "help") == 0) {
            cli_print_help(cmd, stdout);
            return -1;
        }
        if (c && strcmp(c->name, "config") == 0)
            config_path = val;
        else if (n_sets >= 128) {
            cli_error(cmd->name, "too many options");
            return CLI_USAGE;
        } else if (c)
            sets[n_sets++] = (pending_set){NULL, val, NULL};
        else if (o->key)
            sets[n_sets++] = (pending_set){o->key, val, a};
        else if (o->id >= 0 && o->id < 32)
            args->flags[o->id] = val;
    }
    return load_config(cmd, cfg, config_path, sets, n_sets);
}
