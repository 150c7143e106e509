/* Error codes: every function that can fail returns int, 0 on success and a
 * negative CP_E* code otherwise. cp_strerror() names them for people. */
#ifndef CLICKPULSE_ERROR_H
#define CLICKPULSE_ERROR_H

#define CP_ERRNO_MAP(X)                                                                            \
    X(NOMEM, "out of memory")                                                                      \
    X(INVAL, "invalid argument")                                                                   \
    X(IO, "input/output error")                                                                    \
    X(NOENT, "no such file or key")                                                                \
    X(PARSE, "syntax error")                                                                       \
    X(RANGE, "value out of range")                                                                 \
    X(TOOBIG, "input too large")                                                                   \
    X(TYPE, "wrong type")                                                                          \
    X(UNKNOWN, "unknown name")                                                                     \
    X(FULL, "queue or disk full")                                                                  \
    X(AGAIN, "try again")                                                                          \
    X(CORRUPT, "data corrupt")                                                                     \
    X(STATE, "operation not valid in this state")                                                  \
    X(DB, "database error")                                                                        \
    X(TIMEOUT, "timed out")

/* Error codes, all negative. CP_OK is 0. */
typedef enum cp_err {
    CP_OK = 0,
    CP__EBASE = -1000,
#define CP_ERR_ENUM(name, msg) CP_E##name,
    CP_ERRNO_MAP(CP_ERR_ENUM)
#undef CP_ERR_ENUM
} cp_err;

/* Returns a static, human-readable message for an error code (never NULL;
 * "unknown error" for codes outside the enum). Thread-safe. */
const char *cp_strerror(int err);

/* Returns the short symbolic name ("CP_EPARSE") of an error code. Thread-safe. */
const char *cp_errname(int err);

#endif
