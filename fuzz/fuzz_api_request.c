/* Fuzz target: the dashboard API's request data without the network — the bytes as a
 * login form body (every field the API reads), as a page's date, as the page a login
 * goes on to, and as a Cookie header looked up among the sessions; the form's fields
 * then try to log in. */
#include "http/auth.h"
#include "http/form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static http_auth *auth;
    static cp_strlist users;
    static char *list[] = {"ann=secret"};
    if (!auth) {
        users.items = list;
        users.n = 1;
        auth = http_auth_new("tok", &users, 60000, NULL);
        if (!auth) return 0;
    }
    const char *body = (const char *)data;
    char user[128], password[256], token[256], id[1024], one[64];
    int n = 0;
    if (!http_form_value(body, size, "user", user, sizeof(user))) user[0] = 0;
    if (!http_form_value(body, size, "password", password, sizeof(password))) password[0] = 0;
    if (!http_form_value(body, size, "token", token, sizeof(token))) token[0] = 0;
    n += http_form_value(body, size, "user_id", id, sizeof(id));
    n += http_form_value(body, size, "x", one, 1); /* room for the NUL only */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    int64_t day;
    n += http_parse_day(text, &day);
    static const char *const pages[] = {"/", "/sales", NULL};
    n += http_safe_next(text, pages);
    char who[64], csrf[HTTP_SID_LEN + 1];
    n += http_auth_session(auth, text, who, sizeof(who), csrf);
    http_auth_logout(auth, text);
    char sid[HTTP_SID_LEN + 1];
    if (http_auth_login(auth, user, password, token, sid)) {
        char cookie[HTTP_SID_LEN + 32] = HTTP_SESSION_COOKIE "=";
        strcat(cookie, sid);
        n += http_auth_session(auth, cookie, who, sizeof(who), csrf);
        n += http_auth_same(text, csrf);
        http_auth_logout(auth, cookie);
    }
    free(text);
    return n == 1000;
}
