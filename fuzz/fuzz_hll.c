/* Fuzz target: bytes → a stored HyperLogLog sketch (rt_minute.visitors_hll) merged
 * into an empty one. What is accepted must serialize back to a sketch that merges to
 * the same registers; the estimate must be a finite, non-negative number. */
#include "clickpulse/hll.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_hll a = {0}, b = {0};
    if (cp_hll_merge_serialized(&a, data, size) != 0) {
        cp_hll_free(&a);
        return 0;
    }
    double n = cp_hll_count(&a);
    if (!(n >= 0) || isinf(n)) abort();
    cp_buf buf;
    cp_buf_init(&buf);
    if (cp_hll_serialize(&a, &buf) == 0) {
        if (cp_hll_merge_serialized(&b, buf.ptr, buf.len) != 0) abort();
        if (a.set != b.set) abort();
        for (uint32_t i = 0; i < CP_HLL_REGISTERS; i++)
            if (cp_hll_register(&a, i) != cp_hll_register(&b, i)) abort();
    }
    cp_buf_free(&buf);
    cp_hll_free(&a);
    cp_hll_free(&b);
    return 0;
}
