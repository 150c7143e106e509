/* The parts of handling a collector request that need no network: the Basic
 * credentials, the body (gzip inflated within a limit), and the decode options
 * of each route. Shared by the collector and its fuzz target. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/http.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include <string.h>
#include <strings.h>
#include <zlib.h>

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 text into out (at most cap bytes); returns the length or -1. */
int http_b64_decode(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        int v = b64_value(*in);
        if (v < 0) return -1;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) return -1;
            out[n++] = (char)(acc >> bits & 0xFF);
        }
    }
    return (int)n;
}

/* Inflates a gzip body into out, refusing more than limit bytes (bombs). Returns 0,
 * CP_ETOOBIG or CP_EPARSE. */
static int gunzip(cp_slice in, size_t limit, cp_buf *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return CP_ENOMEM;
    z.next_in = (Bytef *)in.ptr;
    z.avail_in = (uInt)in.len;
    int rc = CP_OK;
    for (;;) {
        if (cp_buf_reserve(out, 65536)) {
            rc = CP_ENOMEM;
            break;
        }
        z.next_out = (Bytef *)out->ptr + out->len;
        z.avail_out = 65536;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len = (size_t)((char *)z.next_out - out->ptr);
        if (out->len > limit) {
            rc = CP_ETOOBIG;
            break;
        }
        if (zr == Z_STREAM_END) break;
        if (zr != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
            rc = CP_EPARSE;
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

int http_request_body(cp_slice raw, const char *content_encoding, size_t limit, cp_buf *plain,
                      cp_slice *body)
{
    *body = raw;
    if (!content_encoding || strcasecmp(content_encoding, "gzip") != 0) return CP_OK;
    int rc = gunzip(raw, limit, plain);
    if (rc == CP_OK) *body = cp_buf_slice(plain);
    return rc;
}

void http_decode_options(enum route r, size_t max_event, size_t max_request, size_t max_batch,
                         cp_decode_options *o)
{
    static const cp_event_type types[] = {CP_TYPE_TRACK,  CP_TYPE_PAGE,  CP_TYPE_IDENTIFY,
                                          CP_TYPE_SCREEN, CP_TYPE_GROUP, CP_TYPE_ALIAS};
    cp_decode_options_default(o);
    o->max_event_bytes = max_event;
    o->max_line_bytes = max_request;
    o->max_batch_events = max_batch;
    if (r < R_BATCH) { /* the Segment routes named after a call type */
        o->has_default_type = 1;
        o->default_type = types[r];
    }
}

int http_gather(void **con_cls, const char *upload, size_t *upload_size, size_t limit,
                int64_t deadline_ns, http_request **out)
{
    http_request *req = *con_cls;
    if (!req) {
        if (!(req = cp_calloc(1, sizeof(*req)))) return HTTP_ABORT;
        cp_buf_init(&req->body);
        cp_buf_init(&req->rejects);
        req->start_ns = cp_mono_ns();
        *con_cls = req;
        return HTTP_MORE;
    }
    if (deadline_ns && cp_mono_ns() - req->start_ns > deadline_ns) return HTTP_ABORT;
    if (*upload_size) {
        if (req->body.len + *upload_size > limit)
            req->too_big = 1;
        else if (cp_buf_append(&req->body, upload, *upload_size))
            return HTTP_ABORT;
        *upload_size = 0;
        return HTTP_MORE;
    }
    *out = req;
    return HTTP_READY;
}

void http_request_done(void *cls, void *connection, void **con_cls, int toe)
{
    http_request *req = *con_cls;
    (void)cls, (void)connection, (void)toe;
    if (!req) return;
    cp_buf_free(&req->body);
    cp_buf_free(&req->rejects);
    cp_free(req);
    *con_cls = NULL;
}

void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    /* a client that went away (a closed dashboard tab, a cut-off request) is routine */
    if (strstr(msg, "no longer available") || strstr(msg, "Connection reset") ||
        strstr(msg, "timed out") || strstr(msg, "disconnected"))
        CP_DEBUG((const char *)cls, "%s", msg);
    else
        CP_WARN((const char *)cls, "%s", msg);
}

int http_listen_addr(const char *listen, const char *key, struct sockaddr_in *sa, char *err,
                     size_t errlen)
{
    char host[256];
    int port;
    if (cp_parse_listen(listen, host, sizeof(host), &port)) {
        snprintf(err, errlen, "%s: expected host:port, got '%s'", key, listen);
        return CP_EINVAL;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa->sin_addr) !=
        1) {
        snprintf(err, errlen, "%s: '%s' is not an IPv4 address", key, host);
        return CP_EINVAL;
    }
    return CP_OK;
}
