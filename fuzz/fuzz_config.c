/* Fuzz target: the configuration's parsers — the bytes as a YAML file, as a --set
 * argument, and split on newlines as CLICKPULSE_* environment variables — then the
 * listing of every value as 'clickpulse config' prints it. */
#include "clickpulse/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_config c;
    char err[512];
    if (cp_config_init(&c)) return 0;
    cp_config_load_yaml(&c, (const char *)data, size, "fuzz.yml", err, sizeof(err));
    char *text = malloc(size + 1);
    char **env = calloc(size / 2 + 2, sizeof(char *));
    if (text && env) {
        memcpy(text, data, size);
        text[size] = 0;
        cp_config_set_arg(&c, text, err, sizeof(err));
        size_t n = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) env[n++] = line;
        env[n] = NULL;
        cp_config_load_env(&c, env, err, sizeof(err));
    }
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        cp_config_show(&c, out);
        fclose(out);
    }
    free(env);
    free(text);
    cp_config_free(&c);
    return 0;
}
