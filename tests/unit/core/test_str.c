/* src/core/str.c, arena.c, mem.c, error.c: buffers, formatting, arena
 * lifetimes, allocation failure injection, error names. */
#include "clickpulse/arena.h"
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/str.h"
#include "test.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

static void test_buf(void)
{
    cp_buf b;
    cp_buf_init(&b);
    CHECK(cp_buf_append_str(&b, "ab") == CP_OK);
    CHECK(cp_buf_appendf(&b, "-%d-", 42) == CP_OK);
    CHECK(cp_buf_append_json_str(&b, "q\"\\\n\x01", 5) == CP_OK);
    CHECK_STR(b.ptr, "ab-42-\"q\\\"\\\\\\n\\u0001\"");
    for (int i = 0; i < 10000; i++) cp_buf_append_char(&b, 'x');
    CHECK_INT(b.len, 21 + 10000);
    cp_buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.ptr, "");
    cp_buf_free(&b);
}

static void test_format_numbers(void)
{
    char s[32];
    s[cp_fmt_u64(s, 0)] = 0;
    CHECK_STR(s, "0");
    s[cp_fmt_u64(s, UINT64_MAX)] = 0;
    CHECK_STR(s, "18446744073709551615");
    s[cp_fmt_i64(s, INT64_MIN)] = 0;
    CHECK_STR(s, "-9223372036854775808");
    s[cp_fmt_cents(s, 1999)] = 0;
    CHECK_STR(s, "19.99");
    s[cp_fmt_cents(s, 5)] = 0;
    CHECK_STR(s, "0.05");
    s[cp_fmt_cents(s, -1205)] = 0;
    CHECK_STR(s, "-12.05");
    const char *ips[] = {"0.0.0.0", "127.0.0.1", "10.20.30.40", "255.255.255.255", "192.168.0.9"};
    for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
        struct in_addr a;
        CHECK_INT(inet_pton(AF_INET, ips[i], &a), 1);
        memset(s, 'x', sizeof(s));
        CHECK_INT(cp_fmt_ipv4(s, (const uint8_t *)&a), strlen(ips[i]));
        CHECK_STR(s, ips[i]);
    }
    CHECK_INT(cp_levenshtein("collector.listen", "colector.listen"), 1);
    CHECK_INT(cp_levenshtein("", "abc"), 3);
    CHECK_INT(cp_levenshtein("kitten", "sitting"), 3);
    CHECK(cp_slice_eq(CP_SLICE_LIT("abc"), cp_slice_from("abc")));
    CHECK(!cp_slice_eq_lit(CP_SLICE_LIT("abc"), "abd"));
}

static void test_arena(void)
{
    cp_arena a;
    cp_arena_init(&a, 1024);
    char *p1 = cp_arena_alloc(&a, 10);
    char *p2 = cp_arena_alloc(&a, 10);
    CHECK(p1 && p2);
    CHECK_INT(((uintptr_t)p1) % 16, 0);
    CHECK_INT(p2 - p1, 16);
    char *big = cp_arena_alloc(&a, 100000); /* a block of its own */
    CHECK(big != NULL);
    memset(big, 1, 100000);
    char *p3 = cp_arena_alloc(&a, 16); /* still from the ordinary block */
    CHECK_INT(p3 - p2, 16);
    CHECK_STR(cp_arena_strndup(&a, "hello world", 5), "hello");
    CHECK_INT(a.used_total, 16 + 16 + 100000 + 16 + 16);
    size_t header = (a.reserved - 1024 - 100000) / 2; /* an ordinary block and a big one */
    CHECK(header >= 24 && header <= 64);
    cp_arena_reset(&a);
    CHECK_INT(a.used_total, 0);
    CHECK_INT(a.reserved, 1024 + header); /* the kept block */
    char *q = cp_arena_alloc(&a, 8);      /* the kept block is reused */
    CHECK(q == p1);
    for (int i = 0; i < 1000; i++) CHECK(cp_arena_alloc(&a, 100) != NULL);
    cp_arena_free(&a);
}

static void test_fail_injection(void)
{
    cp_mem_fail_after(2);
    void *a = cp_malloc(8), *b = cp_malloc(8), *c = cp_malloc(8);
    CHECK(a && b && !c);
    CHECK(cp_strdup("x") == NULL);
    cp_mem_fail_after(-1);
    void *d = cp_malloc(8);
    CHECK(d != NULL);
    cp_free(a);
    cp_free(b);
    cp_free(d);
    CHECK(cp_reallocarray(NULL, SIZE_MAX / 2, 4) == NULL);

    /* A buffer that cannot grow reports CP_ENOMEM and keeps its content. */
    cp_buf buf;
    cp_buf_init(&buf);
    cp_buf_append_str(&buf, "keep");
    cp_mem_fail_after(0);
    char big[200];
    memset(big, 'z', sizeof(big));
    CHECK(cp_buf_append(&buf, big, sizeof(big)) == CP_ENOMEM);
    cp_mem_fail_after(-1);
    CHECK_STR(buf.ptr, "keep");
    cp_buf_free(&buf);
}

static void test_grow(void)
{
    int *a = NULL;
    size_t cap = 0;
    CHECK_INT(cp_grow((void **)&a, &cap, 1, sizeof(int)), CP_OK);
    CHECK_INT(cap, 16);
    CHECK_INT(cp_grow((void **)&a, &cap, 16, sizeof(int)), CP_OK);
    CHECK_INT(cap, 16);
    CHECK_INT(cp_grow((void **)&a, &cap, 100, sizeof(int)), CP_OK);
    CHECK_INT(cap, 128);
    a[127] = 7;
    cp_mem_fail_after(0);
    CHECK_INT(cp_grow((void **)&a, &cap, 1000, sizeof(int)), CP_ENOMEM);
    cp_mem_fail_after(-1);
    CHECK_INT(cap, 128);
    CHECK_INT(a[127], 7);
    cp_free(a);
}

static void test_errors(void)
{
    CHECK_STR(cp_strerror(CP_OK), "ok");
    CHECK_STR(cp_strerror(CP_ENOMEM), "out of memory");
    CHECK_STR(cp_errname(CP_EPARSE), "CP_EPARSE");
    CHECK_STR(cp_strerror(12345), "unknown error");
    CHECK(CP_ENOMEM < 0 && CP_EDB < 0);
}

int main(void)
{
    RUN(test_buf);
    RUN(test_format_numbers);
    RUN(test_arena);
    RUN(test_fail_injection);
    RUN(test_grow);
    RUN(test_errors);
    TEST_END();
}
