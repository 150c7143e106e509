/* Allocation wrappers with failure injection (see include/clickpulse/mem.h).
 * The countdown is the one piece of process-wide mutable state in core: like
 * SQLite's fault simulator it exists only for tests and is off by default. */
#include "clickpulse/mem.h"

#include "clickpulse/error.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long fail_countdown = -1;

static int should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n < 0) return 0;
    if (n == 0) return 1;
    atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return 0;
}

void cp_mem_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

void *cp_malloc(size_t size)
{
    if (should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *cp_calloc(size_t n, size_t size)
{
    if (should_fail()) return NULL;
    if (n == 0 || size == 0) return calloc(1, 1);
    return calloc(n, size);
}

void *cp_realloc(void *ptr, size_t size)
{
    if (should_fail()) return NULL;
    return realloc(ptr, size ? size : 1);
}

void *cp_reallocarray(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return cp_realloc(ptr, n * size);
}

void cp_free(void *ptr)
{
    free(ptr);
}

int cp_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *p = cp_reallocarray(*arr, n, elem);
    if (!p) return CP_ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

char *cp_strndup(const char *s, size_t len)
{
    char *p = cp_malloc(len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *cp_strdup(const char *s)
{
    return s ? cp_strndup(s, strlen(s)) : NULL;
}
