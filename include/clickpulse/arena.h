/* A per-batch arena: bump allocation from chained blocks, freed all at once.
 * Objects allocated here have the arena's lifetime; cp_arena_reset() ends it
 * for all of them and keeps the first block for reuse. Not thread-safe. */
#ifndef CLICKPULSE_ARENA_H
#define CLICKPULSE_ARENA_H

#include <stddef.h>

typedef struct cp_arena_block cp_arena_block;

typedef struct cp_arena {
    cp_arena_block *head; /* current block (newest) */
    size_t block_size;    /* size of ordinary blocks */
    size_t used_total;    /* bytes handed out since the last reset */
    size_t reserved;      /* bytes of the blocks it holds (what it costs in memory) */
} cp_arena;

/* Initialises an empty arena whose blocks are block_size bytes (0: 64 KiB).
 * Allocates nothing until the first cp_arena_alloc. */
void cp_arena_init(cp_arena *a, size_t block_size);
/* Returns size bytes aligned to 16, or NULL when out of memory. */
void *cp_arena_alloc(cp_arena *a, size_t size);
/* Returns a copy of n bytes followed by a NUL, or NULL. */
char *cp_arena_strndup(cp_arena *a, const char *s, size_t n);
/* Frees every allocation at once; keeps one block of block_size for reuse. */
void cp_arena_reset(cp_arena *a);
/* Frees all memory; the arena can be used again after cp_arena_init. */
void cp_arena_free(cp_arena *a);

#endif
