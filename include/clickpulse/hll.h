/* HyperLogLog distinct counting (Flajolet et al. 2007, with the small-range
 * correction by linear counting): 2^14 one-byte registers, a standard error of
 * 0.81 %. Counts of a few thousand are near exact (linear counting). Sketches
 * merge (register-wise max), so a range of minutes is the merge of its minutes.
 * Callers hash the values themselves (64-bit, well mixed: XXH3). */
#ifndef CLICKPULSE_HLL_H
#define CLICKPULSE_HLL_H

#include "clickpulse/str.h"

#include <stddef.h>
#include <stdint.h>

#define CP_HLL_P         14
#define CP_HLL_REGISTERS (1u << CP_HLL_P)

typedef struct cp_hll {
    uint8_t reg[CP_HLL_REGISTERS];
} cp_hll;

void cp_hll_clear(cp_hll *h);
void cp_hll_add(cp_hll *h, uint64_t hash);
void cp_hll_merge(cp_hll *into, const cp_hll *from);
/* The estimated number of distinct hashes added. */
double cp_hll_count(const cp_hll *h);
/* Compact form for storage: (index, rank) pairs of the registers set, or all registers
 * when that is smaller. Appends to out; returns 0 or CP_ENOMEM. */
int cp_hll_serialize(const cp_hll *h, cp_buf *out);
/* Merges a serialized sketch into h; CP_ECORRUPT when the bytes are not one. */
int cp_hll_merge_serialized(cp_hll *h, const void *p, size_t n);

#endif
