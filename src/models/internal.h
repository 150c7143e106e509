/* Private to src/models. */
#ifndef CP_MODELS_INTERNAL_H
#define CP_MODELS_INTERNAL_H

#include "clickpulse/models.h"
#include "clickpulse/str.h"

#include <stdbool.h>

/* One rendering of a model's text. */
typedef struct tpl_ctx {
    const char *path, *model; /* for messages and {{ this }} */
    const char *text;
    size_t len;
    bool incremental; /* {% if is_incremental() %} takes its first branch */
    void *ud;
    int (*on_ref)(void *ud, cp_slice name, int line);         /* NULL: ignored */
    int (*on_config)(void *ud, cp_slice key, cp_slice value); /* CP_EINVAL: unsupported */
} tpl_ctx;

/* Appends the SQL to out; on an unsupported or broken construct, "path:line: …" in err. */
int tpl_render(const tpl_ctx *c, cp_buf *out, char *err, size_t errlen);

#endif
