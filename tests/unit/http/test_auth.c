/* src/http/auth.c: logins by token and by user and password (plain and crypt(3)
 * hashes), session cookies among others in the Cookie header, logout, expiry, and
 * sessions kept in a file across a restart. */
#include "http/auth.h"
#include "test.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *users_items[3];
static cp_strlist users = {users_items, 3};

static void cookie_of(const char *sid, char *out, size_t cap)
{
    snprintf(out, cap, "theme=dark; %s=%s; other=1", HTTP_SESSION_COOKIE, sid);
}

static void test_logins(void)
{
    char sid[HTTP_SID_LEN + 1], cookie[256], user[64];
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
    char hashed[256];
    snprintf(hashed, sizeof(hashed), "bob=%s", crypt_r("hunter2", salt, &cd));
    free(salt);
    users_items[0] = "ana=plain-pw";
    users_items[1] = hashed;
    users_items[2] = "carl";
    http_auth *a = http_auth_new("tok3n", &users, 60000, NULL);
    CHECK(http_auth_has_users(a));
    CHECK(http_auth_token_ok(a, "tok3n"));
    CHECK(!http_auth_token_ok(a, "tok3"));
    CHECK(!http_auth_token_ok(a, "tok3nn"));
    CHECK(!http_auth_login(a, "ana", "wrong", NULL, sid));
    CHECK(!http_auth_login(a, "anna", "plain-pw", NULL, sid));
    CHECK(!http_auth_login(a, "carl", "", NULL, sid));        /* an entry without a password */
    CHECK(!http_auth_login(a, "bob", hashed + 4, NULL, sid)); /* the hash is not the password */
    CHECK(!http_auth_login(a, NULL, NULL, "nope", sid));
    CHECK(http_auth_login(a, "bob", "hunter2", NULL, sid));
    CHECK_INT((long long)strlen(sid), HTTP_SID_LEN);
    cookie_of(sid, cookie, sizeof(cookie));
    CHECK(http_auth_session(a, cookie, user, sizeof(user), NULL));
    CHECK_STR(user, "bob");
    char csrf[HTTP_SID_LEN + 1] = "", csrf2[HTTP_SID_LEN + 1] = "";
    CHECK(http_auth_session(a, cookie, user, sizeof(user), csrf));
    CHECK_INT((long long)strlen(csrf), HTTP_SID_LEN); /* a token of its own, not the id */
    CHECK(strcmp(csrf, sid) != 0);
    CHECK(http_auth_session(a, cookie, user, sizeof(user), csrf2));
    CHECK_STR(csrf2, csrf); /* stable for the session */
    CHECK(http_auth_same(csrf, csrf2));
    CHECK(!http_auth_same("", csrf2));
    CHECK(!http_auth_same(NULL, csrf2));
    char other[HTTP_SID_LEN + 1];
    CHECK(http_auth_login(a, "ana", "plain-pw", NULL, other));
    CHECK(strcmp(other, sid) != 0);
    CHECK(http_auth_login(a, NULL, NULL, "tok3n", other));
    cookie_of(other, cookie, sizeof(cookie));
    CHECK(http_auth_session(a, cookie, user, sizeof(user), NULL));
    CHECK_STR(user, "token");
    CHECK(!http_auth_session(a, NULL, user, sizeof(user), NULL));
    CHECK(!http_auth_session(a, "cp_session=abc", user, sizeof(user), NULL));
    char forged[HTTP_SID_LEN + 32];
    snprintf(forged, sizeof(forged), "cp_session=%.*s0", HTTP_SID_LEN - 1, sid);
    CHECK(!http_auth_session(a, forged, user, sizeof(user), NULL) || sid[HTTP_SID_LEN - 1] == '0');
    cookie_of(sid, cookie, sizeof(cookie));
    http_auth_logout(a, cookie);
    CHECK(!http_auth_session(a, cookie, user, sizeof(user), NULL));
    http_auth_free(a);
}

static void test_without_token(void)
{
    char sid[HTTP_SID_LEN + 1];
    http_auth *a = http_auth_new("", NULL, 0, NULL);
    CHECK(!http_auth_has_users(a));
    CHECK(!http_auth_token_ok(a, ""));
    CHECK(!http_auth_login(a, NULL, NULL, "", sid));
    CHECK(!http_auth_login(a, "", "", NULL, sid));
    CHECK_INT(http_auth_ttl_ms(a), 12 * 3600 * 1000LL);
    http_auth_free(a);
}

static void test_kept_and_expired(void)
{
    char dir[] = "/tmp/cp-auth-XXXXXX", path[128], sid[HTTP_SID_LEN + 1], cookie[256], user[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/sessions", dir);
    http_auth *a = http_auth_new("t", NULL, 60000, path);
    CHECK(http_auth_login(a, NULL, NULL, "t", sid));
    http_auth_free(a);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    a = http_auth_new("t", NULL, 60000, path); /* a restart */
    cookie_of(sid, cookie, sizeof(cookie));
    CHECK(http_auth_session(a, cookie, user, sizeof(user), NULL));
    CHECK_STR(user, "token");
    http_auth_logout(a, cookie);
    http_auth_free(a);
    a = http_auth_new("t", NULL, 60000, path); /* logged out stays out */
    CHECK(!http_auth_session(a, cookie, user, sizeof(user), NULL));
    http_auth_free(a);
    FILE *f = fopen(path, "w"); /* an expired session is not read back */
    fprintf(f, "%s 1000 token\n", sid);
    fclose(f);
    a = http_auth_new("t", NULL, 60000, path);
    CHECK(!http_auth_session(a, cookie, user, sizeof(user), NULL));
    http_auth_free(a);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    RUN(test_logins);
    RUN(test_without_token);
    RUN(test_kept_and_expired);
    TEST_END();
}
