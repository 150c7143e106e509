/* Allocation wrappers. All engine memory goes through these, so tests and
 * fuzzers can make allocations fail (cp_mem_fail_after) and check that every
 * out-of-memory path returns CP_ENOMEM cleanly. */
#ifndef CLICKPULSE_MEM_H
#define CLICKPULSE_MEM_H

#include <stddef.h>

/* malloc/calloc/realloc/free with the same contracts as the C library's;
 * they return NULL when the allocation fails or a failure is injected.
 * cp_calloc and cp_reallocarray check n * size for overflow. Thread-safe. */
void *cp_malloc(size_t size);
void *cp_calloc(size_t n, size_t size);
void *cp_realloc(void *ptr, size_t size);
void *cp_reallocarray(void *ptr, size_t n, size_t size);
void cp_free(void *ptr);

/* Makes the array *arr of elem-byte items hold at least need items, growing *cap by
 * doubling (from 16). Returns 0 or CP_ENOMEM (the array is unchanged then). */
int cp_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Returns a NUL-terminated copy of the first len bytes of s, or NULL. */
char *cp_strndup(const char *s, size_t len);
/* Returns a copy of the NUL-terminated s, or NULL (also for s == NULL). */
char *cp_strdup(const char *s);

/* A byte budget shared by the structures of one component (not thread-safe: under the
 * owner's lock). max 0: unbounded. cp_budget_take charges n bytes if they fit and says
 * whether they did; cp_budget_give returns them. NULL budgets charge nothing. */
typedef struct cp_budget {
    size_t used, max;
} cp_budget;

static inline int cp_budget_take(cp_budget *b, size_t n)
{
    if (!b) return 1;
    if (b->max && (n > b->max || b->used > b->max - n)) return 0;
    b->used += n;
    return 1;
}

static inline void cp_budget_give(cp_budget *b, size_t n)
{
    if (b) b->used -= n < b->used ? n : b->used;
}

/* What an allocation of n bytes costs the heap (glibc: a 16-byte aligned chunk with an
 * 8-byte header, 32 bytes at least): what a budget charges for one. */
static inline size_t cp_alloc_cost(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

/* Test hook: the next n allocations succeed and every later one fails,
 * until called again; n < 0 turns injection off (the default). Process-wide. */
void cp_mem_fail_after(long n);

#endif
