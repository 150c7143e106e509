/* Small JSON helpers for other modules, on the validating reader. */
#include "clickpulse/event.h"
#include "internal.h"

int cp_json_top_string(const char *json, size_t len, const char *key, cp_arena *arena, cp_slice *out)
{
    cp_jr jr;
    cp_slice k;
    size_t n = strlen(key);
    jr_init(&jr, json, len, arena, 64);
    if (!jr_obj_begin(&jr)) return 0;
    while (jr_obj_next(&jr, &k)) {
        if (k.len == n && memcmp(k.ptr, key, n) == 0 && jr_peek(&jr) == JR_STRING)
            return jr_string(&jr, out);
        if (!jr_skip(&jr, NULL)) return 0;
    }
    return 0;
}
