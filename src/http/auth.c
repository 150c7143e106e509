/* Dashboard logins: a token, or a user name and password from the configuration
 * (plain, or a crypt(3) hash such as "$y$..." from 'clickpulse passwd'), open a
 * session kept in memory; its id travels in an HttpOnly, SameSite=Strict cookie.
 * Sessions expire after the configured time; the oldest is dropped when the table
 * is full. They are kept in a file (mode 0600) so that a restart logs nobody out.
 * Comparisons of secrets take the same time whatever they hold. */
#include "auth.h"

#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <crypt.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MAX_SESSIONS 1024
#define SID_BYTES    32

typedef struct session {
    char id[2 * SID_BYTES + 1];
    char user[64];
    char csrf[2 * SID_BYTES + 1]; /* the session's anti-forgery token */
    int64_t expires_ms;
} session;

struct http_auth {
    char *token;
    const cp_strlist *users; /* "user=password"; the configuration's, which outlives us */
    int64_t ttl_ms;
    char *path; /* where the sessions are kept; NULL: memory only */
    pthread_mutex_t mu;
    session sessions[MAX_SESSIONS];
};

/* Equal strings, in a time that depends only on the lengths. */
static int same(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < na; i++) d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return d == 0;
}

/* 2*SID_BYTES random hex digits into out; 0 when the kernel gives no randomness. */
static int random_hex(char *out)
{
    unsigned char raw[SID_BYTES];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) return 0;
    for (size_t i = 0; i < SID_BYTES; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 1;
}

/* Reads the kept sessions: a line each, "id expires_ms user csrf". */
static void load(http_auth *a)
{
    FILE *f = a->path ? fopen(a->path, "r") : NULL;
    if (!f) return;
    int64_t now = cp_now_ms();
    size_t n = 0;
    char line[256];
    while (n < MAX_SESSIONS && fgets(line, sizeof(line), f)) {
        session *s = &a->sessions[n];
        long long exp;
        int got = sscanf(line, "%64s %lld %63s %64s", s->id, &exp, s->user, s->csrf);
        if (got == 3 && !random_hex(s->csrf)) got = 0; /* kept by an older version */
        if (got < 3 || strlen(s->id) != HTTP_SID_LEN || strlen(s->csrf) != HTTP_SID_LEN ||
            exp <= now) {
            memset(s, 0, sizeof(*s));
            continue;
        }
        s->expires_ms = exp;
        n++;
    }
    fclose(f);
}

/* Writes the live sessions (under a->mu): a new file renamed over the old one. */
static void save(http_auth *a)
{
    if (!a->path) return;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.new", a->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        return;
    }
    int64_t now = cp_now_ms();
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        const session *s = &a->sessions[i];
        if (s->id[0] && s->expires_ms > now)
            fprintf(f, "%s %lld %s %s\n", s->id, (long long)s->expires_ms, s->user, s->csrf);
    }
    if (fclose(f) == 0) rename(tmp, a->path);
}

http_auth *http_auth_new(const char *token, const cp_strlist *users, int64_t ttl_ms,
                         const char *path)
{
    http_auth *a = cp_calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->token = cp_strdup(token ? token : "");
    a->ttl_ms = ttl_ms > 0 ? ttl_ms : 12 * 3600 * 1000LL;
    a->users = users;
    a->path = path ? cp_strdup(path) : NULL;
    pthread_mutex_init(&a->mu, NULL);
    load(a);
    return a;
}

void http_auth_free(http_auth *a)
{
    if (!a) return;
    cp_free(a->token);
    cp_free(a->path);
    pthread_mutex_destroy(&a->mu);
    cp_free(a);
}

int http_auth_has_users(const http_auth *a)
{
    return a->users && a->users->n > 0;
}

static int password_ok(const char *stored, const char *given)
{
    if (stored[0] != '$') return same(stored, given);
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    const char *h = crypt_r(given, stored, &cd);
    return h && h[0] != '*' && same(h, stored);
}

int http_auth_token_ok(const http_auth *a, const char *token)
{
    return a->token[0] && token && same(token, a->token);
}

static int credentials_ok(const http_auth *a, const char *user, const char *password)
{
    int ok = 0;
    size_t ulen = strlen(user);
    for (size_t i = 0; a->users && i < a->users->n; i++) {
        const char *u = a->users->items[i], *eq = strchr(u, '=');
        if (!eq || (size_t)(eq - u) != ulen || memcmp(u, user, ulen) != 0) continue;
        ok = password_ok(eq + 1, password);
    }
    return ok;
}

int http_auth_login(http_auth *a, const char *user, const char *password, const char *token,
                    char sid[HTTP_SID_LEN + 1])
{
    const char *who;
    if (token && *token) {
        if (!http_auth_token_ok(a, token)) return 0;
        who = "token";
    } else {
        if (!user || !password || !*user || strlen(user) >= sizeof(((session *)0)->user) ||
            !credentials_ok(a, user, password))
            return 0;
        who = user;
    }
    char csrf[HTTP_SID_LEN + 1];
    if (!random_hex(sid) || !random_hex(csrf)) return 0;
    int64_t now = cp_now_ms();
    pthread_mutex_lock(&a->mu);
    session *slot = &a->sessions[0];
    for (size_t i = 0; i < MAX_SESSIONS; i++) { /* a free or expired slot, else the oldest */
        session *s = &a->sessions[i];
        if (!s->id[0] || s->expires_ms <= now) {
            slot = s;
            break;
        }
        if (s->expires_ms < slot->expires_ms) slot = s;
    }
    memcpy(slot->id, sid, HTTP_SID_LEN + 1);
    memcpy(slot->csrf, csrf, HTTP_SID_LEN + 1);
    snprintf(slot->user, sizeof(slot->user), "%s", who);
    slot->expires_ms = now + a->ttl_ms;
    save(a);
    pthread_mutex_unlock(&a->mu);
    return 1;
}

/* The value of cookie name in a Cookie header, into out. */
static int cookie_value(const char *header, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';') p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            if (len - n - 1 >= cap) return 0;
            memcpy(out, p + n + 1, len - n - 1);
            out[len - n - 1] = 0;
            return 1;
        }
        p = end;
    }
    return 0;
}

int http_auth_session(http_auth *a, const char *cookie_header, char *user, size_t cap,
                      char csrf[HTTP_SID_LEN + 1])
{
    char sid[HTTP_SID_LEN + 2];
    if (!cookie_value(cookie_header, HTTP_SESSION_COOKIE, sid, sizeof(sid)) ||
        strlen(sid) != HTTP_SID_LEN)
        return 0;
    int64_t now = cp_now_ms();
    int ok = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < MAX_SESSIONS && !ok; i++) {
        session *s = &a->sessions[i];
        if (s->id[0] && s->expires_ms > now && same(s->id, sid)) {
            ok = 1;
            if (user) snprintf(user, cap, "%s", s->user);
            if (csrf) memcpy(csrf, s->csrf, HTTP_SID_LEN + 1);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return ok;
}

void http_auth_logout(http_auth *a, const char *cookie_header)
{
    char sid[HTTP_SID_LEN + 2];
    if (!cookie_value(cookie_header, HTTP_SESSION_COOKIE, sid, sizeof(sid))) return;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (a->sessions[i].id[0] && same(a->sessions[i].id, sid)) a->sessions[i].id[0] = 0;
    save(a);
    pthread_mutex_unlock(&a->mu);
}

int http_auth_same(const char *given, const char *expected)
{
    return given && expected && expected[0] && same(given, expected);
}

int64_t http_auth_ttl_ms(const http_auth *a)
{
    return a->ttl_ms;
}
