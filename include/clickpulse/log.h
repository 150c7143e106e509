/* Diagnostic logging: levels, a component prefix ("[source:kafka]"), text or
 * JSON lines, and rate-limited variants for hot-path errors. The level is
 * checked before any formatting happens.
 *
 * The logger is process-wide (like the C library's stderr): configure it once
 * at start-up with cp_log_configure, before threads start; cp_log_write itself
 * is thread-safe (one write(2) per line). */
#ifndef CLICKPULSE_LOG_H
#define CLICKPULSE_LOG_H

#include <stdint.h>

typedef enum cp_log_level {
    CP_LOG_DEBUG = 0,
    CP_LOG_INFO = 1,
    CP_LOG_WARN = 2,
    CP_LOG_ERROR = 3,
    CP_LOG_OFF = 4,
} cp_log_level;

typedef enum cp_log_format {
    CP_LOG_TEXT = 0,
    CP_LOG_JSON = 1,
} cp_log_format;

/* Sets the minimum level, the line format and the output file descriptor
 * (2 for stderr). Not thread-safe: call before starting threads. */
void cp_log_configure(cp_log_level level, cp_log_format format, int fd);
/* The current minimum level. */
cp_log_level cp_log_level_get(void);
/* Parses "debug|info|warn|error|off"; returns 0 or CP_EINVAL. */
int cp_log_level_parse(const char *s, cp_log_level *out);

/* Formats and writes one line. Use the macros, which skip formatting below the level. */
void cp_log_write(cp_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Per-call-site state of a rate-limited log line. */
typedef struct cp_log_limit {
    int64_t window_start_ms;
    uint32_t in_window;
    uint32_t suppressed;
} cp_log_limit;
/* Returns 1 when the line may be written now (at most per_sec lines a second at
 * this call site); counts the others and reports them on the next written line. */
int cp_log_limit_allow(cp_log_limit *st, uint32_t per_sec, uint32_t *suppressed_out);

#define CP_LOG(level, comp, ...)                                                                   \
    do {                                                                                           \
        if ((level) >= cp_log_level_get()) cp_log_write((level), (comp), __VA_ARGS__);             \
    } while (0)
#define CP_DEBUG(comp, ...) CP_LOG(CP_LOG_DEBUG, comp, __VA_ARGS__)
#define CP_INFO(comp, ...)  CP_LOG(CP_LOG_INFO, comp, __VA_ARGS__)
#define CP_WARN(comp, ...)  CP_LOG(CP_LOG_WARN, comp, __VA_ARGS__)
#define CP_ERROR(comp, ...) CP_LOG(CP_LOG_ERROR, comp, __VA_ARGS__)

/* At most per_sec lines a second from this call site; the next line written
 * after a quiet spell says how many were suppressed. */
#define CP_LOG_LIMITED(level, per_sec, comp, fmt, ...)                                             \
    do {                                                                                           \
        static _Thread_local cp_log_limit cp__lim;                                                 \
        uint32_t cp__sup;                                                                          \
        if ((level) >= cp_log_level_get() && cp_log_limit_allow(&cp__lim, (per_sec), &cp__sup)) {  \
            if (cp__sup)                                                                           \
                cp_log_write((level), (comp), fmt " (%u similar lines suppressed)", ##__VA_ARGS__, \
                             cp__sup);                                                             \
            else                                                                                   \
                cp_log_write((level), (comp), fmt, ##__VA_ARGS__);                                 \
        }                                                                                          \
    } while (0)

#endif
