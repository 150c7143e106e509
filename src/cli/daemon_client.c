/* The CLI's side of the daemon's API: finds a running daemon from the pid file
 * in the data directory and sends it a query over HTTP (libcurl). */
#include "cli.h"

#include "clickpulse/str.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/* Reads <data_dir>/clickpulse.pid: "pid\nhost:port\n". Returns 1 when the daemon lives. */
int cli_daemon_address(const cp_config *cfg, char *addr, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/clickpulse.pid", cfg->data_dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    long pid = 0;
    int ok = fscanf(f, "%ld", &pid) == 1 && fscanf(f, "%255s", addr) == 1;
    fclose(f);
    (void)len;
    return ok && pid > 0 && kill((pid_t)pid, 0) == 0;
}

int cli_dashboard_token(const cp_config *cfg, bool create, char *out, size_t cap, char *err,
                        size_t errlen)
{
    char path[4096];
    out[0] = 0;
    if (cfg->dashboard_token[0]) {
        snprintf(out, cap, "%s", cfg->dashboard_token);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/dashboard.token", cfg->data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(out, (int)cap, f)) out[0] = 0;
        fclose(f);
        out[strcspn(out, "\r\n")] = 0;
        return 0;
    }
    if (!create || cfg->dashboard_users.n) return 0;
    unsigned char raw[24];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw) || cap < 2 * sizeof(raw) + 1) {
        snprintf(err, errlen, "cannot make a dashboard token");
        return -1;
    }
    for (size_t i = 0; i < sizeof(raw); i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, out, strlen(out)) < 0 || write(fd, "\n", 1) < 0 || close(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return 0;
}

/* "Authorization: Bearer TOKEN" appended to h when there is a token. */
static struct curl_slist *with_token(const cp_config *cfg, struct curl_slist *h)
{
    char token[256], auth[300], err[256];
    if (cli_dashboard_token(cfg, false, token, sizeof(token), err, sizeof(err)) || !token[0])
        return h;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    return curl_slist_append(h, auth);
}

static size_t write_out(char *p, size_t size, size_t n, void *ud)
{
    return cp_buf_append(ud, p, size * n) ? 0 : size * n;
}

/* What the answer's headers say: silver behind, the rows given and the limit applied. */
typedef struct answer_head {
    int stale;
    long long rows, max_rows;
} answer_head;

static size_t header_in(char *p, size_t size, size_t n, void *ud)
{
    answer_head *a = ud;
    static const char fresh[] = "x-clickpulse-fresh: false",
                      rows[] = "x-clickpulse-rows:", max[] = "x-clickpulse-max-rows:";
    size_t len = size * n;
    if (len >= sizeof(fresh) - 1 && strncasecmp(p, fresh, sizeof(fresh) - 1) == 0) a->stale = 1;
    char line[96];
    snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), p);
    if (strncasecmp(line, rows, sizeof(rows) - 1) == 0)
        a->rows = atoll(line + sizeof(rows) - 1);
    else if (strncasecmp(line, max, sizeof(max) - 1) == 0)
        a->max_rows = atoll(line + sizeof(max) - 1);
    return len;
}

int cli_query_daemon(const cp_config *cfg, const char *sql, const char *format, long max_rows,
                     long wait_ms, int *handled)
{
    char addr[256], url[512];
    *handled = 0;
    if (!cli_daemon_address(cfg, addr, sizeof(addr))) return CLI_OK;
    *handled = 1;
    CURL *c = curl_easy_init();
    if (!c) return CLI_FAILURE;
    /* no max_rows: the daemon's own limit (dashboard.query_max_rows) */
    int n = snprintf(url, sizeof(url), "http://%s/api/v1/query?format=%s", addr, format);
    if (max_rows > 0) n += snprintf(url + n, sizeof(url) - (size_t)n, "&max_rows=%ld", max_rows);
    if (wait_ms >= 0) snprintf(url + n, sizeof(url) - (size_t)n, "&wait_ms=%ld", wait_ms);
    struct curl_slist *h = with_token(cfg, NULL);
    h = curl_slist_append(h, "Content-Type: text/plain");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, sql);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_out);
    cp_buf body;
    cp_buf_init(&body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    answer_head head = {0, 0, 0};
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_in);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    int result = CLI_OK;
    if (rc != CURLE_OK) {
        cli_error("query", "the daemon at %s did not answer: %s", addr, curl_easy_strerror(rc));
        result = CLI_FAILURE;
    } else if (status != 200) {
        cli_error("query", "%.*s",
                  (int)(body.len && body.ptr[body.len - 1] == '\n' ? body.len - 1 : body.len),
                  body.ptr ? body.ptr : "");
        result = CLI_FAILURE;
    } else {
        if (head.max_rows > 0 && head.rows > head.max_rows && max_rows <= 0)
            cli_error("query",
                      "note: the statement gave %lld rows, the daemon answers with at most %lld "
                      "(dashboard.query_max_rows)",
                      head.rows, head.max_rows);
        if (head.stale)
            cli_error("query", "note: silver is still behind what the daemon has acknowledged; "
                               "the result may miss the latest events");
        if (body.len) fwrite(body.ptr, 1, body.len, stdout);
    }
    cp_buf_free(&body);
    return result;
}

int cli_daemon_post(const cp_config *cfg, const char *path, const char *form, cp_buf *body,
                    long *status)
{
    char addr[256], url[768];
    if (!cli_daemon_address(cfg, addr, sizeof(addr))) return CLI_USAGE;
    CURL *c = curl_easy_init();
    if (!c) return CLI_FAILURE;
    snprintf(url, sizeof(url), "http://%s%s", addr, path);
    struct curl_slist *h = with_token(cfg, NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form ? form : "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_out);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        cli_error(path, "the daemon at %s did not answer: %s", addr, curl_easy_strerror(rc));
        return CLI_FAILURE;
    }
    return CLI_OK;
}
