/* A minimal test harness: each test file is one executable with a main that
 * runs its cases; a failed check prints where and what, and the process exits
 * non-zero. The closing line reads "N passed, M failed". */
#ifndef CP_TEST_H
#define CP_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_checks, t_case_failed, t_cases_passed, t_cases_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            t_failed_checks++;                                                                     \
            t_case_failed = 1;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long t_a = (long long)(a), t_b = (long long)(b);                                      \
        if (t_a != t_b) {                                                                          \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,    \
                    t_a, #b, t_b);                                                                 \
            t_failed_checks++;                                                                     \
            t_case_failed = 1;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *t_a = (a), *t_b = (b);                                                         \
        if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                                               \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    t_a ? t_a : "(null)", t_b ? t_b : "(null)");                                   \
            t_failed_checks++;                                                                     \
            t_case_failed = 1;                                                                     \
        }                                                                                          \
    } while (0)

/* A cp_slice equals a literal. */
#define CHECK_SLICE(s, lit)                                                                        \
    do {                                                                                           \
        cp_slice t_s = (s);                                                                        \
        if (t_s.len != strlen(lit) || (t_s.len && memcmp(t_s.ptr, lit, t_s.len) != 0)) {           \
            fprintf(stderr, "%s:%d: %s == \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__, #s,    \
                    (int)t_s.len, t_s.ptr ? t_s.ptr : "", lit);                                    \
            t_failed_checks++;                                                                     \
            t_case_failed = 1;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                                      \
    do {                                                                                           \
        double t_a = (a), t_b = (b);                                                               \
        if (!(t_a - t_b <= (eps) && t_b - t_a <= (eps))) {                                         \
            fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, t_a,   \
                    t_b);                                                                          \
            t_failed_checks++;                                                                     \
            t_case_failed = 1;                                                                     \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        t_case_failed = 0;                                                                         \
        fn();                                                                                      \
        if (t_case_failed) {                                                                       \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
            t_cases_failed++;                                                                      \
        } else {                                                                                   \
            t_cases_passed++;                                                                      \
        }                                                                                          \
    } while (0)

#define TEST_END()                                                                                 \
    do {                                                                                           \
        printf("%d passed, %d failed\n", t_cases_passed, t_cases_failed);                          \
        return t_cases_failed ? 1 : 0;                                                             \
    } while (0)

#endif
