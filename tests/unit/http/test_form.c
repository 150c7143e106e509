/* src/http/form.c: form values, page dates and the page a login goes on to. */
#include "http/form.h"
#include "test.h"

#include <string.h>

static void test_form_value(void)
{
    char out[16];
    const char *b = "user=ann+lee&password=p%40ss%2&token=&x=%zz%4";
    CHECK_INT(http_form_value(b, strlen(b), "user", out, sizeof(out)), 1);
    CHECK_STR(out, "ann lee");
    CHECK_INT(http_form_value(b, strlen(b), "password", out, sizeof(out)), 1);
    CHECK_STR(out, "p@ss%2"); /* a cut escape stands for itself */
    CHECK_INT(http_form_value(b, strlen(b), "token", out, sizeof(out)), 1);
    CHECK_STR(out, "");
    CHECK_INT(http_form_value(b, strlen(b), "x", out, sizeof(out)), 1);
    CHECK_STR(out, "%zz%4");
    CHECK_INT(http_form_value(b, strlen(b), "use", out, sizeof(out)), 0);
    CHECK_INT(http_form_value(b, strlen(b), "nope", out, sizeof(out)), 0);
    /* only the given length is read: "user=ann+lee" cut after "ann" */
    CHECK_INT(http_form_value(b, 8, "user", out, sizeof(out)), 1);
    CHECK_STR(out, "ann");
    CHECK_INT(http_form_value("a=%4", 3, "a", out, sizeof(out)), 1);
    CHECK_STR(out, "%");
    CHECK_INT(http_form_value("a=0123456789abcdef", 18, "a", out, sizeof(out)), 0); /* too long */
    CHECK_INT(http_form_value("a=%00b", 6, "a", out, sizeof(out)), 1);
    CHECK_INT(out[0], 0);
}

static void test_parse_day(void)
{
    int64_t d;
    CHECK_INT(http_parse_day("2026-03-01", &d), 0);
    CHECK_INT(d, 20513);
    CHECK_INT(http_parse_day("1970-01-01", &d), 0);
    CHECK_INT(d, 0);
    CHECK_INT(http_parse_day("2026-02-30", &d), -1);
    CHECK_INT(http_parse_day("2026-13-01", &d), -1);
    CHECK_INT(http_parse_day("2026-3-01x", &d), -1);
    CHECK_INT(http_parse_day(" 026-03-01", &d), -1);
    CHECK_INT(http_parse_day("+026-03-01", &d), -1);
    CHECK_INT(http_parse_day("2026-03-011", &d), -1);
    CHECK_INT(http_parse_day(NULL, &d), -1);
}

static void test_safe_next(void)
{
    static const char *const pages[] = {"/", "/sales", "/funnel", NULL};
    CHECK_INT(http_safe_next("/sales?from=2026-01-01", pages), 1);
    CHECK_INT(http_safe_next("/funnel#top", pages), 1);
    CHECK_INT(http_safe_next("/", pages), 1);
    CHECK_INT(http_safe_next("//evil.example", pages), 0);
    CHECK_INT(http_safe_next("/\\evil.example", pages), 0);
    CHECK_INT(http_safe_next("/\t/evil.example", pages), 0);
    CHECK_INT(http_safe_next("/\n/evil.example", pages), 0);
    CHECK_INT(http_safe_next("/sales\\@evil.example", pages), 0);
    CHECK_INT(http_safe_next("/nope", pages), 0);
    CHECK_INT(http_safe_next("/sales/../x", pages), 0);
    CHECK_INT(http_safe_next("https://evil.example", pages), 0);
    CHECK_INT(http_safe_next("", pages), 0);
    CHECK_INT(http_safe_next(NULL, pages), 0);
}

int main(void)
{
    RUN(test_form_value);
    RUN(test_parse_day);
    RUN(test_safe_next);
    TEST_END();
}
