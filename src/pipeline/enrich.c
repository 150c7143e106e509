/* Enrichment that needs no state: user agent → device, browser, OS and the
 * known-bot flag; e-mail domains. */
#include "clickpulse/pipeline.h"

#include <ctype.h>
#include <string.h>

static int has(cp_slice s, const char *needle)
{
    return s.len && memmem(s.ptr, s.len, needle, strlen(needle)) != NULL;
}

/* Substrings of crawler and tool user agents (checked case-sensitively, both cases listed). */
static const char *const bot_tells[] = {
    "bot",
    "Bot",
    "crawler",
    "Crawler",
    "spider",
    "Spider",
    "Slurp",
    "curl/",
    "Wget/",
    "python-requests",
    "python-urllib",
    "Go-http-client",
    "HeadlessChrome",
    "PhantomJS",
    "facebookexternalhit",
    "Lighthouse",
    "okhttp",
    "Java/",
};

void cp_ua_parse(cp_slice ua, cp_ua_info *o)
{
    o->is_bot = false;
    for (size_t i = 0; i < sizeof(bot_tells) / sizeof(bot_tells[0]); i++)
        if (has(ua, bot_tells[i])) o->is_bot = true;
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
