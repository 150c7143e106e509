/* Frame headers of bronze segments: encoding, decoding and the content check
 * used by recovery. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/str.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t meta_check(const unsigned char *payload)
{
    unsigned char tmp[META_BYTES];
    memcpy(tmp, payload, META_BYTES);
    memset(tmp + 20, 0, 4);
    return XXH32(tmp, META_BYTES, 0x62726f6e);
}

void pad_encode(unsigned char out[PAD_HEADER_BYTES], uint64_t content)
{
    put32(out, PAD_MAGIC);
    put32(out + 4, (uint32_t)content);
}

int pad_decode(const unsigned char in[PAD_HEADER_BYTES], uint64_t *content)
{
    if (get32(in) != PAD_MAGIC) return CP_ECORRUPT;
    *content = get32(in + 4);
    return CP_OK;
}

void meta_encode(const frame_meta *m, unsigned char out[HEADER_BYTES])
{
    unsigned char *p = out + 8;
    put32(out, SKIP_MAGIC);
    put32(out + 4, META_BYTES);
    put64(p, m->first);
    put32(p + 8, m->count);
    put32(p + 12, m->clen);
    put32(p + 16, m->ulen);
    put32(p + 20, 0);
    put64(p + 24, (uint64_t)m->last_recv);
    put32(p + 20, meta_check(p));
}

int meta_decode(const unsigned char in[HEADER_BYTES], frame_meta *m)
{
    const unsigned char *p = in + 8;
    if (get32(in) != SKIP_MAGIC || get32(in + 4) != META_BYTES) return CP_ECORRUPT;
    if (get32(p + 20) != meta_check(p)) return CP_ECORRUPT;
    m->first = get64(p);
    m->count = get32(p + 8);
    m->clen = get32(p + 12);
    m->ulen = get32(p + 16);
    m->check = get32(p + 20);
    m->last_recv = (int64_t)get64(p + 24);
    if (m->count == 0 || m->clen == 0 || m->ulen == 0) return CP_ECORRUPT;
    return CP_OK;
}

int batch_lines_ok(const char *data, size_t len, const frame_meta *m)
{
    char want[40];
    size_t n =
        (size_t)snprintf(want, sizeof(want), "{\"offset\":%llu,", (unsigned long long)m->first);
    if (len < n || memcmp(data, want, n) != 0 || data[len - 1] != '\n') return 0;
    uint32_t lines = 0;
    for (const char *p = data, *e = data + len; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        lines++;
    return lines == m->count;
}
