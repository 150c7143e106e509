/* Line-oriented logger: "2026-10-01T12:00:00.000Z WARN [source:file] message"
 * or one JSON object a line. Each line is built in a stack buffer and written
 * with a single write(2), so lines from several threads never interleave. */
#include "clickpulse/log.h"

#include "clickpulse/error.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static cp_log_level log_level = CP_LOG_INFO;
static cp_log_format log_format = CP_LOG_TEXT;
static int log_fd = 2;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};

void cp_log_configure(cp_log_level level, cp_log_format format, int fd)
{
    log_level = level;
    log_format = format;
    log_fd = fd;
}

cp_log_level cp_log_level_get(void)
{
    return log_level;
}

int cp_log_level_parse(const char *s, cp_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (cp_log_level)i;
            return CP_OK;
        }
    }
    return CP_EINVAL;
}

static size_t json_escape_into(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
        } else {
            dst[n++] = (char)c;
        }
    }
    return n;
}

void cp_log_write(cp_log_level level, const char *component, const char *fmt, ...)
{
    char msg[2048], line[4608], ts[32];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m < 0) return;
    ts[cp_time_format(cp_now_ms(), ts)] = '\0';
    size_t n;
    if (log_format == CP_LOG_JSON) {
        n = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"",
                             ts, level_names[level]);
        n += json_escape_into(line + n, sizeof(line) - n - 32, component ? component : "");
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
        n += json_escape_into(line + n, sizeof(line) - n - 8, msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", ts, level_names[level],
                             component ? component : "-", msg);
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(log_fd, line, n);
    (void)w;
}

int cp_log_limit_allow(cp_log_limit *st, uint32_t per_sec, uint32_t *suppressed_out)
{
    int64_t now = cp_now_ms();
    *suppressed_out = 0;
    if (now - st->window_start_ms >= 1000) {
        st->window_start_ms = now;
        st->in_window = 0;
    }
    if (st->in_window >= per_sec) {
        st->suppressed++;
        return 0;
    }
    st->in_window++;
    *suppressed_out = st->suppressed;
    st->suppressed = 0;
    return 1;
}
