/* src/event/json.c: the validating JSON reader. Every case states the exact
 * verdict: accepted, or rejected with which reason. */
#include "event/internal.h"
#include "test.h"

/* 0 when the text is one valid JSON value, else the reject reason + 1. */
static int verdict(const char *s)
{
    cp_arena a;
    cp_jr jr;
    cp_arena_init(&a, 0);
    jr_init(&jr, s, strlen(s), &a, 8);
    jr_skip(&jr, NULL);
    jr_end(&jr);
    int err = jr.err;
    cp_arena_free(&a);
    return err;
}

#define OK_JSON(s)     CHECK_INT(verdict(s), 0)
#define BAD(s, reason) CHECK_INT(verdict(s), (reason) + 1)

static void test_grammar(void)
{
    OK_JSON("{}");
    OK_JSON(" [ ] ");
    OK_JSON("{\"a\":[1,-2.5e+3,0.0,true,false,null,\"x\"],\"b\":{\"c\":{}}}");
    OK_JSON("-0");
    OK_JSON("1E9");
    OK_JSON("\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"");
    OK_JSON("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    BAD("", CP_REJECT_NOT_JSON);
    BAD("{", CP_REJECT_NOT_JSON);
    BAD("{\"a\"}", CP_REJECT_NOT_JSON);
    BAD("{\"a\":1,}", CP_REJECT_NOT_JSON);
    BAD("[1,]", CP_REJECT_NOT_JSON);
    BAD("[,1]", CP_REJECT_NOT_JSON);
    BAD("[1 2]", CP_REJECT_NOT_JSON);
    BAD("{a:1}", CP_REJECT_NOT_JSON);
    BAD("01", CP_REJECT_NOT_JSON);
    BAD("1.", CP_REJECT_NOT_JSON);
    BAD(".5", CP_REJECT_NOT_JSON);
    BAD("1e", CP_REJECT_NOT_JSON);
    BAD("+1", CP_REJECT_NOT_JSON);
    BAD("tru", CP_REJECT_NOT_JSON);
    BAD("nul", CP_REJECT_NOT_JSON);
    BAD("\"abc", CP_REJECT_NOT_JSON);
    BAD("\"a\tb\"", CP_REJECT_NOT_JSON);
    BAD("\"\\x\"", CP_REJECT_NOT_JSON);
    BAD("\"\\u12g4\"", CP_REJECT_NOT_JSON);
    BAD("{} {}", CP_REJECT_NOT_JSON);
    BAD("[[[[[[[[[1]]]]]]]]]", CP_REJECT_TOO_DEEP);
    OK_JSON("[[[[[[[[1]]]]]]]]");
    BAD("\"\xc3\x28\"", CP_REJECT_INVALID_UTF8);
    BAD("\"\xc0\xaf\"", CP_REJECT_INVALID_UTF8);         /* overlong */
    BAD("\"\xed\xa0\x80\"", CP_REJECT_INVALID_UTF8);     /* encoded surrogate */
    BAD("\"\xf4\x90\x80\x80\"", CP_REJECT_INVALID_UTF8); /* above U+10FFFF */
    BAD("\"\xe2\x82\"", CP_REJECT_INVALID_UTF8);         /* truncated sequence */
    BAD("\"\\ud83d\"", CP_REJECT_INVALID_UTF8);          /* lone surrogate escape */
    BAD("\"\\ude00\"", CP_REJECT_INVALID_UTF8);
}

static void test_strings_and_numbers(void)
{
    cp_arena a;
    cp_jr jr;
    cp_slice s = CP_SLICE_NULL, raw = CP_SLICE_NULL;
    double d = 0;
    cp_arena_init(&a, 0);
    const char *text = "[\"plain text here\",\"a\\\"b\\u00e9\\ud83d\\ude00\",19.99,-2.5e3,"
                       "123456789012345678901234567890,0.1]";
    jr_init(&jr, text, strlen(text), &a, 8);
    CHECK(jr_arr_begin(&jr));
    CHECK(jr_arr_next(&jr) && jr_string(&jr, &s));
    CHECK_SLICE(s, "plain text here");
    CHECK(s.ptr == text + 2); /* no escapes: borrowed */
    CHECK(jr_arr_next(&jr) && jr_string(&jr, &s));
    CHECK_SLICE(s, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(jr_arr_next(&jr) && jr_number(&jr, &d, &raw));
    CHECK(d == 19.99);
    CHECK_SLICE(raw, "19.99");
    CHECK(jr_arr_next(&jr) && jr_number(&jr, &d, &raw));
    CHECK(d == -2500.0);
    CHECK(jr_arr_next(&jr) && jr_number(&jr, &d, &raw));
    CHECK(d == 123456789012345678901234567890.0);
    CHECK(jr_arr_next(&jr) && jr_number(&jr, &d, &raw));
    CHECK(d == 0.1);
    CHECK(!jr_arr_next(&jr));
    CHECK(jr_end(&jr));
    CHECK(jr_parse_number_text("12.50", 5, &d) && d == 12.5);
    CHECK(!jr_parse_number_text("12.5x", 5, &d));
    CHECK(!jr_parse_number_text("", 0, &d));
    cp_arena_free(&a);
}

static void test_objects(void)
{
    cp_arena a;
    cp_jr jr;
    cp_slice k, v, raw;
    cp_arena_init(&a, 0);
    const char *text = " { \"k\\u0031\" : \"v\" , \"skip\" : {\"x\":[1,{}]} } ";
    jr_init(&jr, text, strlen(text), &a, 8);
    CHECK(jr_obj_begin(&jr));
    CHECK(jr_obj_next(&jr, &k));
    CHECK_SLICE(k, "k1");
    CHECK(jr_string(&jr, &v));
    CHECK_SLICE(v, "v");
    CHECK(jr_obj_next(&jr, &k));
    CHECK_SLICE(k, "skip");
    CHECK(jr_skip(&jr, &raw));
    CHECK_SLICE(raw, "{\"x\":[1,{}]}");
    CHECK(!jr_obj_next(&jr, &k));
    CHECK(jr_end(&jr));
    CHECK_INT(jr.depth, 0);
    cp_arena_free(&a);
}

int main(void)
{
    RUN(test_grammar);
    RUN(test_strings_and_numbers);
    RUN(test_objects);
    TEST_END();
}
