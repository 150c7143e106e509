/* Private to src/http: the dashboard's logins and sessions (auth.c). */
#ifndef CP_HTTP_AUTH_H
#define CP_HTTP_AUTH_H

#include "clickpulse/config.h"

#include <stddef.h>
#include <stdint.h>

#define HTTP_SESSION_COOKIE "cp_session"
#define HTTP_SID_LEN        64

typedef struct http_auth http_auth;

/* token: "" for none; users: "user=password" entries, the password plain or a crypt(3)
 * hash (starting with '$'); ttl_ms: how long a session lasts (<= 0: 12 hours); path:
 * the file the sessions are kept in across restarts (NULL: none). */
http_auth *http_auth_new(const char *token, const cp_strlist *users, int64_t ttl_ms,
                         const char *path);
void http_auth_free(http_auth *a);
int http_auth_has_users(const http_auth *a);
int64_t http_auth_ttl_ms(const http_auth *a);
/* 1 when token is the configured token. */
int http_auth_token_ok(const http_auth *a, const char *token);
/* Opens a session for a valid token (when token is set) or user and password; writes
 * its id into sid and returns 1, or returns 0. */
int http_auth_login(http_auth *a, const char *user, const char *password, const char *token,
                    char sid[HTTP_SID_LEN + 1]);
/* 1 when the Cookie header (may be NULL) carries a live session; its user into user and,
 * when csrf is not NULL, its anti-forgery token (which the session's pages send back in
 * X-CSRF-Token with every request that changes something) into csrf. */
int http_auth_session(http_auth *a, const char *cookie_header, char *user, size_t cap,
                      char csrf[HTTP_SID_LEN + 1]);
/* 1 when given equals expected, in a time that depends only on their lengths. */
int http_auth_same(const char *given, const char *expected);
/* Ends the session the Cookie header carries, if any. */
void http_auth_logout(http_auth *a, const char *cookie_header);

#endif
