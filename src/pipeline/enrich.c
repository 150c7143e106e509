/* Enrichment that needs no state: user agent → device, browser, OS and the
 * known-bot flag; e-mail domains. */
#include "clickpulse/pipeline.h"

#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <string.h>

static int has(cp_slice s, const char *needle)
{
    return s.len && memmem(s.ptr, s.len, needle, strlen(needle)) != NULL;
}

/* Crawlers and tools: the patterns of the maintained list crawler-user-agents (npm, pinned
 * in web/, embedded at build time as one POSIX extended expression), and a few generic
 * tells for the ones no list names yet: a product token ending in "bot" or "Bot" followed
 * by its version ("FooBot/1.0"), and "crawler" or "spider" anywhere. */
extern const char cp_crawler_pattern[];
extern const int cp_crawler_pattern_count;
static const char generic_tells[] = "[bB]ot/|[cC]rawler|[sS]pider";

static regex_t crawlers, generic;
static int crawlers_ok, generic_ok;
static pthread_once_t crawlers_once = PTHREAD_ONCE_INIT;

static void compile_crawlers(void)
{
    crawlers_ok = regcomp(&crawlers, cp_crawler_pattern, REG_EXTENDED | REG_NOSUB) == 0;
    generic_ok = regcomp(&generic, generic_tells, REG_EXTENDED | REG_NOSUB) == 0;
}

static bool known_crawler(cp_slice ua)
{
    char buf[1024];
    if (!ua.len) return false;
    size_t n = ua.len < sizeof(buf) - 1 ? ua.len : sizeof(buf) - 1;
    memcpy(buf, ua.ptr, n);
    buf[n] = 0; /* a NUL inside cuts the agent there: no pattern looks past it */
    pthread_once(&crawlers_once, compile_crawlers);
    return (crawlers_ok && regexec(&crawlers, buf, 0, NULL, 0) == 0) ||
           (generic_ok && regexec(&generic, buf, 0, NULL, 0) == 0);
}

void cp_ua_parse(cp_slice ua, cp_ua_info *o)
{
    o->is_bot = known_crawler(ua);
    if (!ua.len)
        o->device_type = "unknown";
    else if (o->is_bot)
        o->device_type = "bot";
    else if (has(ua, "iPad") || has(ua, "Tablet") || (has(ua, "Android") && !has(ua, "Mobile")))
        o->device_type = "tablet";
    else if (has(ua, "Mobile") || has(ua, "iPhone"))
        o->device_type = "mobile";
    else
        o->device_type = "desktop";

    if (has(ua, "HeadlessChrome"))
        o->browser = "Headless Chrome";
    else if (has(ua, "Edg/"))
        o->browser = "Edge";
    else if (has(ua, "SamsungBrowser/"))
        o->browser = "Samsung Internet";
    else if (has(ua, "Firefox/"))
        o->browser = "Firefox";
    else if (has(ua, "Chrome/"))
        o->browser = "Chrome";
    else if (has(ua, "Safari/") && has(ua, "Version/"))
        o->browser = "Safari";
    else if (o->is_bot)
        o->browser = "bot";
    else
        o->browser = "other";

    if (has(ua, "iPhone") || has(ua, "iPad"))
        o->os = "iOS";
    else if (has(ua, "Android"))
        o->os = "Android";
    else if (has(ua, "Windows"))
        o->os = "Windows";
    else if (has(ua, "Mac OS X"))
        o->os = "macOS";
    else if (has(ua, "Linux"))
        o->os = "Linux";
    else
        o->os = "other";
}

cp_slice cp_email_domain(cp_slice email, char *buf)
{
    const char *at = email.len ? memchr(email.ptr, '@', email.len) : NULL;
    if (!at) return CP_SLICE_NULL;
    size_t n = (size_t)(email.ptr + email.len - at - 1);
    if (n == 0 || n > 255) return CP_SLICE_NULL;
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)at[1 + i]);
    return (cp_slice){buf, n};
}

static bool letters(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)p[i])) return false;
    return true;
}

cp_slice cp_country(cp_slice country, cp_slice locale, char *buf)
{
    const char *code = NULL;
    if (country.len) {
        if (country.len != 2 || !letters(country.ptr, 2)) return country;
        code = country.ptr;
    } else {
        const char *l = locale.ptr;
        size_t n = 0, at = 0;
        while (n < locale.len && l[n] != '.' && l[n] != '@') n++;
        for (int k = 0; at <= n && !code; k++) {
            size_t e = at;
            while (e < n && l[e] != '-' && l[e] != '_') e++;
            size_t len = e - at;
            if (!letters(l + at, len)) break;
            if (k == 0) {
                if (len < 2 || len > 3) break;
            } else if (len == 2) {
                code = l + at;
            } else if (k != 1 || len != 4) {
                break;
            }
            at = e + 1;
        }
        if (!code) return CP_SLICE_NULL;
    }
    buf[0] = (char)toupper((unsigned char)code[0]);
    buf[1] = (char)toupper((unsigned char)code[1]);
    buf[2] = 0;
    return (cp_slice){buf, 2};
}
