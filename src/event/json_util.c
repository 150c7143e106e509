/* Small JSON helpers for other modules, on the validating reader. */
#include "clickpulse/event.h"
#include "internal.h"

#include "clickpulse/error.h"

int cp_json_top_string(const char *json, size_t len, const char *key, cp_arena *arena,
                       cp_slice *out)
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

size_t json_obj_open(cp_buf *j)
{
    return cp_buf_append_char(j, '{') ? (size_t)-1 : j->len;
}

int json_obj_close(cp_buf *j, size_t at)
{
    if (at == (size_t)-1) return CP_ENOMEM;
    if (at < j->len && j->ptr[at] == ',') {
        memmove(j->ptr + at, j->ptr + at + 1, j->len - at - 1);
        j->len--;
    }
    return cp_buf_append_char(j, '}');
}
