/* HyperLogLog (see include/clickpulse/hll.h). */
#include "clickpulse/hll.h"

#include "clickpulse/error.h"

#include <math.h>
#include <string.h>

void cp_hll_clear(cp_hll *h)
{
    memset(h->reg, 0, sizeof(h->reg));
}

void cp_hll_add(cp_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - CP_HLL_P));
    uint64_t rest = hash << CP_HLL_P | (1ull << (CP_HLL_P - 1)); /* a stop bit bounds the rank */
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > h->reg[idx]) h->reg[idx] = rank;
}

void cp_hll_merge(cp_hll *into, const cp_hll *from)
{
    for (size_t i = 0; i < CP_HLL_REGISTERS; i++)
        if (from->reg[i] > into->reg[i]) into->reg[i] = from->reg[i];
}

double cp_hll_count(const cp_hll *h)
{
    const double m = CP_HLL_REGISTERS, alpha = 0.7213 / (1 + 1.079 / m);
    double sum = 0;
    size_t zeros = 0;
    for (size_t i = 0; i < CP_HLL_REGISTERS; i++) {
        union {
            uint64_t u;
            double d;
        } pow2 = {(uint64_t)(1023 - h->reg[i]) << 52}; /* exactly 2^-reg, no ldexp */
        sum += pow2.d;
        zeros += h->reg[i] == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / (double)zeros);
    return e;
}

/* Format: byte 'S' then 3-byte (index, rank) entries, or byte 'D' then every register. */
int cp_hll_serialize(const cp_hll *h, cp_buf *out)
{
    size_t set = 0;
    for (size_t i = 0; i < CP_HLL_REGISTERS; i++) set += h->reg[i] != 0;
    if (set * 3 >= CP_HLL_REGISTERS) {
        if (cp_buf_append_char(out, 'D')) return CP_ENOMEM;
        return cp_buf_append(out, h->reg, sizeof(h->reg)) ? CP_ENOMEM : CP_OK;
    }
    if (cp_buf_reserve(out, 1 + set * 3)) return CP_ENOMEM;
    cp_buf_putc(out, 'S');
    for (size_t i = 0; i < CP_HLL_REGISTERS; i++)
        if (h->reg[i]) {
            char e[3] = {(char)(i >> 8), (char)(i & 0xff), (char)h->reg[i]};
            cp_buf_put(out, e, 3);
        }
    return CP_OK;
}

int cp_hll_merge_serialized(cp_hll *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    if (n == 1 + CP_HLL_REGISTERS && b[0] == 'D') {
        for (size_t i = 0; i < CP_HLL_REGISTERS; i++)
            if (b[1 + i] > h->reg[i]) h->reg[i] = b[1 + i];
        return CP_OK;
    }
    if (n < 1 || b[0] != 'S' || (n - 1) % 3) return CP_ECORRUPT;
    for (size_t at = 1; at < n; at += 3) {
        size_t i = (size_t)b[at] << 8 | b[at + 1];
        if (i >= CP_HLL_REGISTERS || b[at + 2] > 64 - CP_HLL_P + 1) return CP_ECORRUPT;
        if (b[at + 2] > h->reg[i]) h->reg[i] = b[at + 2];
    }
    return CP_OK;
}
