/* Sending simulated traffic to a collector over HTTP (libcurl): each batch
 * envelope is one POST to /v1/batch with the write key as the Basic user name;
 * 429 and 5xx answers and connection errors are retried with backoff, like the
 * real client libraries do. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct http_sender {
    CURL *curl;
    struct curl_slist *headers;
    char url[1024];
    long ok, rejected, retries, failed;
};

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

int http_sender_open(http_sender **out, const char *base, const char *write_key)
{
    http_sender *s = cp_calloc(1, sizeof(*s));
    if (!s || !(s->curl = curl_easy_init())) {
        cp_free(s);
        return CP_ENOMEM;
    }
    size_t n = strlen(base);
    snprintf(s->url, sizeof(s->url), "%.*s/v1/batch", (int)(n && base[n - 1] == '/' ? n - 1 : n),
             base);
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->curl, CURLOPT_USERNAME, write_key);
    curl_easy_setopt(s->curl, CURLOPT_PASSWORD, "");
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 30L);
    *out = s;
    return CP_OK;
}

void http_sender_close(http_sender *s, FILE *report)
{
    if (!s) return;
    if (report)
        fprintf(report,
                "simulate: %ld requests accepted, %ld rejected (4xx), %ld retries, %ld failed\n",
                s->ok, s->rejected, s->retries, s->failed);
    curl_slist_free_all(s->headers);
    curl_easy_cleanup(s->curl);
    cp_free(s);
}

static int post_line(http_sender *s, const char *line, size_t len)
{
    int64_t backoff_ms = 100;
    for (int attempt = 0; attempt < 8; attempt++) {
        long status = 0;
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, line);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)len);
        CURLcode rc = curl_easy_perform(s->curl);
        if (rc == CURLE_OK) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) return s->ok++, CP_OK;
        if (status >= 400 && status < 500 && status != 429) return s->rejected++, CP_OK;
        s->retries++;
        struct timespec ts = {(time_t)(backoff_ms / 1000), (long)(backoff_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (backoff_ms < 5000) backoff_ms *= 2;
    }
    s->failed++;
    return CP_EIO;
}

int http_sender_send(void *ud, const char *buf, size_t len, size_t n_events)
{
    http_sender *s = ud;
    (void)n_events;
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n && post_line(s, p, n)) return CP_EIO;
        p += n + 1;
    }
    return CP_OK;
}
