/* HyperLogLog distinct counting (Flajolet et al. 2007, with the small-range
 * correction by linear counting): 2^14 one-byte registers, a standard error of
 * 0.81 %. Counts of a few thousand are near exact (linear counting). Sketches
 * merge (register-wise max), so a range of minutes is the merge of its minutes.
 * Callers hash the values themselves (64-bit, well mixed: XXH3).
 *
 * A sketch with few registers set (a minute's visitors, say) holds only those, as
 * sorted (index, rank) pairs, so making, counting, merging and storing it costs what
 * is set; past CP_HLL_LISTED of them it holds every register. */
#ifndef CLICKPULSE_HLL_H
#define CLICKPULSE_HLL_H

#include "clickpulse/str.h"

#include <stddef.h>
#include <stdint.h>

#define CP_HLL_P         14
#define CP_HLL_REGISTERS (1u << CP_HLL_P)
#define CP_HLL_LISTED    512 /* registers held as pairs at most */

/* All zero ({0}, cp_calloc) is the empty sketch; cp_hll_free releases what it holds. */
typedef struct cp_hll {
    uint32_t set;    /* registers not zero */
    uint32_t cap;    /* room in pairs */
    uint32_t *pairs; /* index << 8 | rank of each register set, by index, while reg is NULL */
    uint8_t *reg;    /* every register, once more than CP_HLL_LISTED are set */
} cp_hll;

void cp_hll_free(cp_hll *h);
/* Empties h (what it holds is released). */
void cp_hll_clear(cp_hll *h);
/* 0, or CP_ENOMEM (h unchanged). */
int cp_hll_add(cp_hll *h, uint64_t hash);
/* 0, or CP_ENOMEM (into holds part of from: merging again completes it). */
int cp_hll_merge(cp_hll *into, const cp_hll *from);
/* Register i (0 … CP_HLL_REGISTERS - 1). */
uint8_t cp_hll_register(const cp_hll *h, uint32_t i);
/* The estimated number of distinct hashes added. */
double cp_hll_count(const cp_hll *h);
/* Compact form for storage: (index, rank) pairs of the registers set, or all registers
 * when that is smaller. Appends to out; returns 0 or CP_ENOMEM. */
int cp_hll_serialize(const cp_hll *h, cp_buf *out);
/* Merges a serialized sketch into h; CP_ECORRUPT when the bytes are not one (h may hold
 * the registers read before the fault), CP_ENOMEM. */
int cp_hll_merge_serialized(cp_hll *h, const void *p, size_t n);

#endif
