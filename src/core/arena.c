/* Bump allocator over chained blocks (see include/clickpulse/arena.h). Large
 * requests get a block of their own so ordinary blocks stay small. */
#include "clickpulse/arena.h"

#include "clickpulse/mem.h"

#include <stdint.h>
#include <string.h>

struct cp_arena_block {
    cp_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void cp_arena_init(cp_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->used_total = a->reserved = 0;
}

static cp_arena_block *new_block(size_t size)
{
    cp_arena_block *b = cp_malloc(sizeof(*b) + size);
    if (!b) return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *cp_arena_alloc(cp_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    cp_arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bs = size > a->block_size / 4 ? size : a->block_size;
        cp_arena_block *nb = new_block(bs);
        if (!nb) return NULL;
        a->reserved += sizeof(*nb) + bs;
        if (bs != a->block_size && b) {
            /* An oversized block goes behind the current one, which stays usable. */
            nb->next = b->next;
            b->next = nb;
            nb->used = size;
            a->used_total += size;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used_total += size;
    return p;
}

char *cp_arena_strndup(cp_arena *a, const char *s, size_t n)
{
    char *p = cp_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void cp_arena_reset(cp_arena *a)
{
    cp_arena_block *keep = NULL, *b = a->head;
    while (b) {
        cp_arena_block *next = b->next;
        if (!keep && b->size == a->block_size) {
            keep = b;
        } else {
            a->reserved -= sizeof(*b) + b->size;
            cp_free(b);
        }
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used_total = 0;
}

void cp_arena_free(cp_arena *a)
{
    cp_arena_block *b = a->head;
    while (b) {
        cp_arena_block *next = b->next;
        cp_free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = a->reserved = 0;
}
