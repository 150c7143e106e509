/* src/pipeline/enrich.c and validate.c: user agents, e-mail domains, countries, and the
 * validation rules per event kind. */
#include "clickpulse/error.h"
#include "clickpulse/pipeline.h"
#include "test.h"

static void ua(const char *s, const char *device, const char *browser, const char *os, bool bot)
{
    cp_ua_info i;
    cp_ua_parse(cp_slice_from(s), &i);
    CHECK_STR(i.device_type, device);
    CHECK_STR(i.browser, browser);
    CHECK_STR(i.os, os);
    CHECK_INT(i.is_bot, bot);
}

static void test_user_agents(void)
{
    ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/131.0.0.0 Safari/537.36",
       "desktop", "Chrome", "Windows", false);
    ua("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
       "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
       "mobile", "Safari", "iOS", false);
    ua("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.6 Mobile/15E148 Safari/604.1",
       "tablet", "Safari", "iOS", false);
    ua("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/131.0.0.0 Mobile Safari/537.36",
       "mobile", "Chrome", "Android", false);
    ua("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/131.0.0.0 Safari/537.36",
       "tablet", "Chrome", "Android", false);
    ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
       "desktop", "Firefox", "Windows", false);
    ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
       "desktop", "Edge", "Windows", false);
    ua("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "bot",
       "other", true);
    ua("python-requests/2.31.0", "bot", "bot", "other", true);
    ua("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "HeadlessChrome/120.0.0.0 Safari/537.36",
       "bot", "Headless Chrome", "Linux", true);
    ua("", "unknown", "other", "other", false);
}

static void test_email_domain(void)
{
    char buf[256];
    CHECK_SLICE(cp_email_domain(CP_SLICE_LIT("Ana.Silva@Example.COM"), buf), "example.com");
    CHECK(cp_email_domain(CP_SLICE_LIT("no-at-sign"), buf).ptr == NULL);
    CHECK(cp_email_domain(CP_SLICE_LIT("trailing@"), buf).ptr == NULL);
}

static int check_event(cp_event *e, cp_reject_reason *why, char *detail)
{
    cp_reject r = {0};
    int ok = cp_validate_event(e, &r);
    *why = r.reason;
    strcpy(detail, r.detail);
    return ok;
}

static void country(const char *c, const char *locale, const char *want)
{
    char buf[3];
    cp_slice got = cp_country(c ? cp_slice_from(c) : CP_SLICE_NULL,
                              locale ? cp_slice_from(locale) : CP_SLICE_NULL, buf);
    if (want)
        CHECK_SLICE(got, want);
    else
        CHECK(got.ptr == NULL);
}

static void test_country(void)
{
    country("DE", "fr-FR", "DE");
    country("de", NULL, "DE");
    country("Germany", NULL, "Germany");
    country(NULL, "de-DE", "DE");
    country(NULL, "pt_br", "BR");
    country(NULL, "pt_BR.UTF-8", "BR");
    country(NULL, "zh-Hant-TW", "TW");
    country(NULL, "sr-Latn-RS@latin", "RS");
    country(NULL, "es-419", NULL);
    country(NULL, "en", NULL);
    country(NULL, "en-", NULL);
    country(NULL, "english-GB", NULL);
    country(NULL, "zh-Hant", NULL);
    country(NULL, "de-DE-1996", "DE");
    country(NULL, "x-DE", NULL);
    country(NULL, NULL, NULL);
}

static void test_validation(void)
{
    cp_product prods[2] = {
        {.product_id = CP_SLICE_LIT("p1"), .price = 5, .has_price = true, .quantity = 2},
        {.product_id = CP_SLICE_LIT("p2"), .price = -1, .has_price = true, .quantity = 1}};
    cp_event e = {.kind = CP_KIND_ORDER_COMPLETED,
                  .time_ms = 1790856000000LL,
                  .received_at_ms = 1790856000000LL,
                  .flags = CP_HAS_RECEIVED_AT | CP_HAS_REVENUE,
                  .order_id = CP_SLICE_LIT("o1"),
                  .revenue = 10,
                  .currency = CP_SLICE_LIT("EUR"),
                  .products = prods,
                  .n_products = 1};
    cp_reject_reason why;
    char detail[320];
    CHECK(check_event(&e, &why, detail));
    e.n_products = 2;
    CHECK(!check_event(&e, &why, detail));
    CHECK_INT(why, CP_REJECT_INVALID_VALUE);
    CHECK_STR(detail, "properties.products[1].price: negative");
    prods[1].price = 1;
    prods[1].quantity = 0;
    CHECK(!check_event(&e, &why, detail));
    CHECK_INT(why, CP_REJECT_INVALID_VALUE);
    CHECK_STR(detail, "properties.products[1].quantity: below 1");
    e.n_products = 1;
    e.currency = CP_SLICE_LIT("euro");
    CHECK(!check_event(&e, &why, detail));
    CHECK_STR(detail, "properties.currency: not an ISO 4217 code");
    e.currency = CP_SLICE_LIT("EUR");
    e.revenue = -300;
    CHECK(!check_event(&e, &why, detail));
    CHECK_STR(detail, "properties.revenue: negative (-3.00)");
    e.revenue = 300;
    e.order_id = CP_SLICE_NULL;
    CHECK(!check_event(&e, &why, detail));
    CHECK_INT(why, CP_REJECT_MISSING_FIELD);
    CHECK_STR(detail, "properties.order_id: an order needs one");
    e.order_id = CP_SLICE_LIT("o1");
    e.time_ms = e.received_at_ms + 2 * 86400000LL;
    CHECK(!check_event(&e, &why, detail));
    CHECK_INT(why, CP_REJECT_BAD_TIMESTAMP);
    e.time_ms = 900000000000LL;
    CHECK(!check_event(&e, &why, detail));
    CHECK_STR(detail, "event time before 2000-01-01");
    cp_event id = {
        .kind = CP_KIND_IDENTIFY, .time_ms = 1790856000000LL, .email = CP_SLICE_LIT("a b@c.de")};
    CHECK(!check_event(&id, &why, detail));
    CHECK_STR(detail, "traits.email: not an e-mail address");
    id.email = CP_SLICE_LIT("ab@c.de");
    CHECK(check_event(&id, &why, detail));
    id.email = CP_SLICE_LIT("ab@cde");
    CHECK(!check_event(&id, &why, detail));
}

int main(void)
{
    RUN(test_user_agents);
    RUN(test_email_domain);
    RUN(test_country);
    RUN(test_validation);
    TEST_END();
}
