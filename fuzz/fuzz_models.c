/* Fuzz target: the SQL model templates and their schema files. The bytes are split on
 * lines "%%" into up to six files — two models, a schema.yml, a staging model, a
 * data test, another mart — which are loaded (templates rendered: refs, config,
 * is_incremental branches), resolved into an order and listed. */
#include "clickpulse/models.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"marts/a.sql",   "marts/b.sql", "marts/schema.yml",
                                        "staging/c.sql", "tests/t.sql", "marts/d.sql"};
    enum { MAX_FILES = sizeof(paths) / sizeof(*paths) };
    cp_model_file files[MAX_FILES];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (n < MAX_FILES) {
        const char *cut = NULL;
        for (const char *q = p; q + 4 <= end && !cut; q++)
            if (memcmp(q, "\n%%\n", 4) == 0) cut = q;
        files[n] = (cp_model_file){paths[n], p, (size_t)((cut ? cut : end) - p)};
        n++;
        if (!cut) break;
        p = cut + 4;
    }
    cp_models *m = cp_models_new();
    if (!m) return 0;
    char err[512];
    if (cp_models_add_files(m, files, n, err, sizeof(err)) == 0 &&
        cp_models_resolve(m, err, sizeof(err)) == 0) {
        size_t sum = 0;
        for (size_t i = 0; i < cp_models_count(m); i++) {
            cp_model_info info;
            cp_models_get(m, i, &info);
            sum += strlen(info.name) + info.n_deps;
        }
        if (sum == (size_t)-1) err[0] = 0;
    }
    cp_models_free(m);
    return 0;
}
