/* clickpulse passwd USER: reads a password from standard input (without echo on a
 * terminal) and prints the dashboard.users entry with its yescrypt hash. */
#include "cli.h"

#include <crypt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int read_password(char *out, size_t cap)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "password: ");
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int ok = fgets(out, (int)cap, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (ok) out[strcspn(out, "\r\n")] = 0;
    return ok && out[0] ? 0 : -1;
}

static int passwd(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    (void)cfg;
    (void)parsed;
    if (argc != 1 || !argv[0][0] || strpbrk(argv[0], ":= \t")) {
        cli_error(cmd->name, "takes one user name (without ':', '=' or spaces)");
        return CLI_USAGE;
    }
    char password[512];
    if (read_password(password, sizeof(password))) {
        cli_error(cmd->name, "no password on standard input");
        return CLI_FAILURE;
    }
    char *salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    const char *hash = salt ? crypt_r(password, salt, &cd) : NULL;
    free(salt);
    memset(password, 0, sizeof(password));
    if (!hash || hash[0] == '*') {
        cli_error(cmd->name, "cannot hash the password");
        return CLI_FAILURE;
    }
    printf("%s: \"%s\"\n", argv[0], hash);
    return CLI_OK;
}

const cli_cmd cli_cmd_passwd = {
    .name = "passwd",
    .summary = "Hash a dashboard password for dashboard.users.",
    .usage = "clickpulse passwd USER < password",
    .details = "Reads the password from standard input (without echo on a terminal) and prints\n"
               "the line to put under dashboard.users in the configuration: the user name and a\n"
               "yescrypt hash of the password.",
    .run = passwd,
};
