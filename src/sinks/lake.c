/* The lake: silver published as Parquet into a directory shared by every instance
 * (lake.dir), Hive-partitioned by day, each file written once and named by the instance
 * and the log range it holds:
 *
 *   <lake>/<table>/dt=YYYY-MM-DD/<instance>-<first>-<last>-<i>.parquet
 *   <lake>/_published/<instance>        "next N": every range below N is in place
 *
 * A step takes silver's rows from the instance's last published offset up to what silver
 * has applied. The range is fixed first (<data_dir>/lake.position: "next N pending E"),
 * then its files are written (through a staging directory and renames), then the
 * instance's published offset moves, then the position: a step cut short is done again
 * with the same range, its files replaced by the same names, and no reader took them
 * before (readers take the files below an instance's published offset). */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A table of silver, and the day its rows are filed under. */
static const struct {
    const char *name, *select;
} lake_tables[] = {
    {"events", "SELECT *, event_date AS dt FROM events t"},
    {"orders", "SELECT *, event_date AS dt FROM orders t"},
    {"order_items", "SELECT t.*, o.event_date AS dt FROM order_items t JOIN orders o USING "
                    "(\"offset\")"},
    {"refunds", "SELECT *, event_date AS dt FROM refunds t"},
};

typedef struct lake {
    char *dir, *instance, *position;
} lake;

int cp_lake_instance_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64) return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

static void read_position(const char *path, int64_t *next, int64_t *pending)
{
    long long n = 0, p = -1;
    FILE *f = fopen(path, "r");
    if (f && fscanf(f, "next %lld pending %lld", &n, &p) < 1) n = 0, p = -1;
    if (f) fclose(f);
    *next = n;
    *pending = p;
}

static int write_position(const char *path, int64_t next, int64_t pending)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "next %lld pending %lld\n", (long long)next,
                     (long long)pending);
    return cp_write_file_atomic(path, line, (size_t)n);
}

/* Calls fn for each file of <dir>/<table>/dt=*: its directory and name. */
static int each_file(const char *dir, int (*fn)(const char *sub, const char *name, void *ud),
                     void *ud)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? CP_OK : CP_EIO;
    int rc = CP_OK;
    for (struct dirent *e; rc == CP_OK && (e = readdir(d));) {
        if (strncmp(e->d_name, "dt=", 3) != 0) continue;
        char sub[4300];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        DIR *f = opendir(sub);
        for (struct dirent *x; rc == CP_OK && f && (x = readdir(f));)
            if (x->d_name[0] != '.') rc = fn(sub, x->d_name, ud);
        if (f) closedir(f);
    }
    closedir(d);
    return rc;
}

/* A file of the range being written again: removed first (the staging may split the
 * rows into other files than the attempt cut short did). */
static int remove_if_prefix(const char *sub, const char *name, void *ud)
{
    char path[4600];
    if (strncmp(name, ud, strlen(ud)) != 0) return CP_OK;
    snprintf(path, sizeof(path), "%s/%s", sub, name);
    return unlink(path) == 0 || errno == ENOENT ? CP_OK : CP_EIO;
}

typedef struct move_ctx {
    const char *to; /* <lake>/<table> */
} move_ctx;

/* A staged file into its place: <staging>/dt=D/F to <lake>/<table>/dt=D/F. */
static int move_into_place(const char *sub, const char *name, void *ud)
{
    move_ctx *m = ud;
    char from[4600], dir[4600], to[4700];
    snprintf(from, sizeof(from), "%s/%s", sub, name);
    snprintf(dir, sizeof(dir), "%s/%s", m->to, strrchr(sub, '/') + 1);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    return cp_mkdirs(dir) || rename(from, to) != 0 ? CP_EIO : CP_OK;
}

/* The staging directory emptied by the moves, and its day directories, removed. */
static void remove_staging(const char *staging)
{
    DIR *d = opendir(staging);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4300];
        snprintf(sub, sizeof(sub), "%s/%s", staging, e->d_name);
        rmdir(sub);
    }
    if (d) closedir(d);
    rmdir(staging);
}

/* One table's rows of [from, to) as Parquet files in place. */
static int publish_table(cp_store *s, const lake *l, size_t t, int64_t from, int64_t to,
                         int64_t *rows, char *err, size_t errlen)
{
    char dir[4200], staging[4300], prefix[160];
    snprintf(dir, sizeof(dir), "%s/%s", l->dir, lake_tables[t].name);
    snprintf(staging, sizeof(staging), "%s/_staging/%s-%s", l->dir, l->instance,
             lake_tables[t].name);
    snprintf(prefix, sizeof(prefix), "%s-%lld-%lld-", l->instance, (long long)from,
             (long long)to - 1);
    int rc = each_file(dir, remove_if_prefix, prefix);
    if (rc == CP_OK) {
        each_file(staging, remove_if_prefix, ""); /* a staging left by an attempt cut short */
        remove_staging(staging);
    }
    if (rc == CP_OK && cp_mkdirs(staging)) rc = CP_EIO;
    if (rc) {
        snprintf(err, errlen, "lake: cannot prepare %s: %s", dir, strerror(errno));
        return rc;
    }
    cp_buf sql;
    cp_buf_init(&sql);
    cp_buf_appendf(&sql, "COPY (%s WHERE t.\"offset\" >= %lld AND t.\"offset\" < %lld) TO ",
                   lake_tables[t].select, (long long)from, (long long)to);
    cp_buf_append_sql_str(&sql, staging);
    cp_buf_appendf(&sql,
                   " (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), OVERWRITE_OR_IGNORE, "
                   "FILENAME_PATTERN '%s{i}')",
                   prefix);
    int64_t n = 0;
    bool none;
    rc = cp_buf_append_char(&sql, 0) ? CP_ENOMEM : cp_store_scalar(s, sql.ptr, &n, &none);
    cp_buf_free(&sql);
    if (rc == CP_EDB) snprintf(err, errlen, "lake: %s", cp_store_error(s));
    move_ctx m = {.to = dir};
    if (rc == CP_OK && (rc = each_file(staging, move_into_place, &m)))
        snprintf(err, errlen, "lake: cannot move the files of %s into place: %s", staging,
                 strerror(errno));
    remove_staging(staging);
    *rows += none ? 0 : n;
    return rc;
}

/* The instance's published offset, for readers: every range below it is in place. */
static int mark_published(const lake *l, int64_t next)
{
    char dir[4200], path[4300], line[32];
    snprintf(dir, sizeof(dir), "%s/_published", l->dir);
    snprintf(path, sizeof(path), "%s/%s", dir, l->instance);
    int n = snprintf(line, sizeof(line), "next %lld\n", (long long)next);
    return cp_mkdirs(dir) ? CP_EIO : cp_write_file_atomic(path, line, (size_t)n);
}

static int64_t publish(void *ctx, cp_store *s, char *err, size_t errlen)
{
    lake *l = ctx;
    int64_t next, pending, applied = 0, rows = 0;
    bool found;
    read_position(l->position, &next, &pending);
    if (pending < 0) {
        if (cp_store_get_checkpoint(s, "log", &applied, &found)) {
            snprintf(err, errlen, "lake: %s", cp_store_error(s));
            return CP_EDB;
        }
        if (!found || applied <= next) return 0;
        pending = applied;
        if (write_position(l->position, next, pending)) {
            snprintf(err, errlen, "lake: cannot write %s: %s", l->position, strerror(errno));
            return CP_EIO;
        }
    }
    int rc = CP_OK;
    for (size_t t = 0; t < sizeof(lake_tables) / sizeof(lake_tables[0]) && rc == CP_OK; t++)
        rc = publish_table(s, l, t, next, pending, &rows, err, errlen);
    if (rc == CP_OK && mark_published(l, pending)) {
        snprintf(err, errlen, "lake: cannot mark %s published: %s", l->instance, strerror(errno));
        rc = CP_EIO;
    }
    if (rc == CP_OK && write_position(l->position, pending, -1)) {
        snprintf(err, errlen, "lake: cannot write %s: %s", l->position, strerror(errno));
        rc = CP_EIO;
    }
    return rc ? rc : rows > 0 ? rows : 1; /* (a range of rejects only: still progress) */
}

static void lake_tables_none(const cp_config *c, char *out, size_t len)
{
    (void)c;
    snprintf(out, len, "%s", "");
}

/* lake.instance, or the host's name with anything but letters, digits and underscores
 * made underscores. */
static void instance_name(const cp_config *c, char *out, size_t len)
{
    if (c->lake_instance[0]) {
        snprintf(out, len, "%s", c->lake_instance);
        return;
    }
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    size_t n = 0;
    for (const char *p = host; *p && n + 1 < len && n < 64; p++)
        out[n++] = cp_lake_instance_ok((char[]){*p, 0}) ? *p : '_';
    out[n] = 0;
}

static int lake_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    char name[80];
    instance_name(c, name, sizeof(name));
    if (!cp_lake_instance_ok(name)) {
        snprintf(err, errlen,
                 "lake.instance: '%s' is not a name of 1-64 letters, digits and underscores", name);
        return CP_EINVAL;
    }
    lake *l = cp_calloc(1, sizeof(*l));
    char position[4200];
    snprintf(position, sizeof(position), "%s/lake.position", c->data_dir);
    if (l) *l = (lake){cp_strdup(c->lake_dir), cp_strdup(name), cp_strdup(position)};
    if (!l || !l->dir || !l->instance || !l->position) {
        if (l) cp_free(l->dir), cp_free(l->instance), cp_free(l->position);
        cp_free(l);
        return CP_ENOMEM;
    }
    if (cp_mkdirs(l->dir)) {
        snprintf(err, errlen, "lake.dir: cannot create %s: %s", l->dir, strerror(errno));
        cp_free(l->dir), cp_free(l->instance), cp_free(l->position), cp_free(l);
        return CP_EIO;
    }
    *ctx = l;
    return CP_OK;
}

static int lake_connect(void *ctx, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    return CP_OK;
}

static void lake_disconnect(void *ctx)
{
    (void)ctx;
}

static void lake_free(void *ctx)
{
    lake *l = ctx;
    cp_free(l->dir);
    cp_free(l->instance);
    cp_free(l->position);
    cp_free(l);
}

const cp_sink_ops cp_sink_lake = {
    .name = "lake",
    .tables = lake_tables_none,
    .open = lake_open,
    .connect = lake_connect,
    .disconnect = lake_disconnect,
    .free = lake_free,
    .publish = publish,
};
