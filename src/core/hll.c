/* HyperLogLog (see include/clickpulse/hll.h). */
#include "clickpulse/hll.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <math.h>
#include <string.h>

#define PAIR(i, r)    ((uint32_t)(i) << 8 | (r))
#define PAIR_INDEX(p) ((p) >> 8)
#define PAIR_RANK(p)  ((uint8_t)((p)&0xff))

void cp_hll_free(cp_hll *h)
{
    cp_free(h->pairs);
    cp_free(h->reg);
    memset(h, 0, sizeof(*h));
}

void cp_hll_clear(cp_hll *h)
{
    cp_hll_free(h);
}

/* The first pair at or after index i. */
static uint32_t find(const cp_hll *h, uint32_t i)
{
    uint32_t lo = 0, hi = h->set;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (PAIR_INDEX(h->pairs[mid]) < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* From pairs to every register. */
static int densify(cp_hll *h)
{
    uint8_t *reg = cp_calloc(CP_HLL_REGISTERS, 1);
    if (!reg) return CP_ENOMEM;
    for (uint32_t k = 0; k < h->set; k++) reg[PAIR_INDEX(h->pairs[k])] = PAIR_RANK(h->pairs[k]);
    cp_free(h->pairs);
    h->pairs = NULL;
    h->cap = 0;
    h->reg = reg;
    return CP_OK;
}

/* Register i to at least rank r. */
static int raise_to(cp_hll *h, uint32_t i, uint8_t r)
{
    if (!r) return CP_OK;
    if (h->reg) {
        if (r <= h->reg[i]) return CP_OK;
        h->set += !h->reg[i];
        h->reg[i] = r;
        return CP_OK;
    }
    uint32_t k = find(h, i);
    if (k < h->set && PAIR_INDEX(h->pairs[k]) == i) {
        if (r > PAIR_RANK(h->pairs[k])) h->pairs[k] = PAIR(i, r);
        return CP_OK;
    }
    if (h->set == CP_HLL_LISTED) {
        if (densify(h)) return CP_ENOMEM;
        return raise_to(h, i, r);
    }
    if (h->set == h->cap) {
        size_t cap = h->cap;
        if (cp_grow((void **)&h->pairs, &cap, h->set + 1, sizeof(uint32_t))) return CP_ENOMEM;
        h->cap = (uint32_t)(cap < CP_HLL_LISTED ? cap : CP_HLL_LISTED);
    }
    memmove(&h->pairs[k + 1], &h->pairs[k], (h->set - k) * sizeof(uint32_t));
    h->pairs[k] = PAIR(i, r);
    h->set++;
    return CP_OK;
}

int cp_hll_add(cp_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - CP_HLL_P));
    uint64_t rest = hash << CP_HLL_P | (1ull << (CP_HLL_P - 1)); /* a stop bit bounds the rank */
    return raise_to(h, idx, (uint8_t)(__builtin_clzll(rest) + 1));
}

int cp_hll_merge(cp_hll *into, const cp_hll *from)
{
    int rc = CP_OK;
    if (from->reg)
        for (uint32_t i = 0; i < CP_HLL_REGISTERS && rc == CP_OK; i++)
            rc = raise_to(into, i, from->reg[i]);
    else
        for (uint32_t k = 0; k < from->set && rc == CP_OK; k++)
            rc = raise_to(into, PAIR_INDEX(from->pairs[k]), PAIR_RANK(from->pairs[k]));
    return rc;
}

uint8_t cp_hll_register(const cp_hll *h, uint32_t i)
{
    if (h->reg) return h->reg[i];
    uint32_t k = find(h, i);
    return k < h->set && PAIR_INDEX(h->pairs[k]) == i ? PAIR_RANK(h->pairs[k]) : 0;
}

/* With at most CP_HLL_LISTED registers set the raw estimate stays under 2.5 m (the sum of
 * 2^-reg is at least m - CP_HLL_LISTED), so the estimate is linear counting, which needs
 * only the number of registers still zero. */
double cp_hll_count(const cp_hll *h)
{
    const double m = CP_HLL_REGISTERS, alpha = 0.7213 / (1 + 1.079 / m);
    if (!h->reg) return h->set ? m * log(m / (double)(CP_HLL_REGISTERS - h->set)) : 0;
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

/* Format: byte 'S' then 3-byte (index, rank) entries by index, or byte 'D' then every
 * register. */
static void put_entry(cp_buf *out, uint32_t i, uint8_t r)
{
    char e[3] = {(char)(i >> 8), (char)(i & 0xff), (char)r};
    cp_buf_put(out, e, 3);
}

int cp_hll_serialize(const cp_hll *h, cp_buf *out)
{
    if (h->set * 3 >= CP_HLL_REGISTERS) {
        if (cp_buf_append_char(out, 'D')) return CP_ENOMEM;
        return cp_buf_append(out, h->reg, CP_HLL_REGISTERS) ? CP_ENOMEM : CP_OK;
    }
    if (cp_buf_reserve(out, 1 + (size_t)h->set * 3)) return CP_ENOMEM;
    cp_buf_putc(out, 'S');
    if (h->reg) {
        for (uint32_t i = 0; i < CP_HLL_REGISTERS; i++)
            if (h->reg[i]) put_entry(out, i, h->reg[i]);
    } else {
        for (uint32_t k = 0; k < h->set; k++)
            put_entry(out, PAIR_INDEX(h->pairs[k]), PAIR_RANK(h->pairs[k]));
    }
    return CP_OK;
}

int cp_hll_merge_serialized(cp_hll *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    int rc = CP_OK;
    if (n == 1 + CP_HLL_REGISTERS && b[0] == 'D') {
        for (uint32_t i = 0; i < CP_HLL_REGISTERS && rc == CP_OK; i++)
            rc = raise_to(h, i, b[1 + i]);
        return rc;
    }
    if (n < 1 || b[0] != 'S' || (n - 1) % 3) return CP_ECORRUPT;
    for (size_t at = 1; at < n && rc == CP_OK; at += 3) {
        uint32_t i = (uint32_t)b[at] << 8 | b[at + 1];
        if (i >= CP_HLL_REGISTERS || b[at + 2] > 64 - CP_HLL_P + 1) return CP_ECORRUPT;
        rc = raise_to(h, i, b[at + 2]);
    }
    return rc;
}
