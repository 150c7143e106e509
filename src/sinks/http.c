/* HTTP for the sinks that speak it (ClickHouse, InfluxDB), through libcurl: one easy
 * handle per sink, kept alive between requests. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct sink_http {
    CURL *curl;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

sink_http *sink_http_new(void)
{
    pthread_once(&init_once, init_curl);
    sink_http *h = cp_calloc(1, sizeof(*h));
    if (h && !(h->curl = curl_easy_init())) {
        cp_free(h);
        return NULL;
    }
    return h;
}

void sink_http_free(sink_http *h)
{
    if (!h) return;
    curl_easy_cleanup(h->curl);
    cp_free(h);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    cp_buf *b = ud;
    return cp_buf_append(b, p, size * n) ? 0 : size * n;
}

int sink_http_post(sink_http *h, const char *url, const char *body, size_t len, long *status,
                   cp_buf *resp, char *err, size_t errlen)
{
    CURL *c = h->curl;
    char why[CURL_ERROR_SIZE] = "";
    cp_buf_reset(resp);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", why[0] ? why : curl_easy_strerror(rc));
        return CP_EIO;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return CP_OK;
}

void sink_url_param(cp_buf *out, const char *url, const char *name, const char *value)
{
    cp_buf_append_str(out, url);
    cp_buf_append_char(out, strchr(url, '?') ? '&' : '?');
    cp_buf_appendf(out, "%s=", name);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            cp_buf_append_char(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            cp_buf_append(out, e, 3);
        }
    }
}
