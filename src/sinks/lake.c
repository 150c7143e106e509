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
#include "clickpulse/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    int64_t interval_ms, last_ms; /* the least time between steps; when the last one ended */
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

/* <data_dir>/lake.position: "next N pending E instance I dir D" (the lake it is about). */
typedef struct lake_position {
    int64_t next, pending;
    char instance[80], dir[4096];
} lake_position;

static int read_position(const char *path, lake_position *p)
{
    long long n, e;
    int at = 0;
    char line[4300];
    FILE *f = fopen(path, "r");
    int ok = f && fgets(line, sizeof(line), f) &&
             sscanf(line, "next %lld pending %lld instance %64s dir %n", &n, &e, p->instance,
                    &at) == 3 &&
             at > 0;
    if (f) fclose(f);
    if (!ok) return 0;
    p->next = n;
    p->pending = e;
    snprintf(p->dir, sizeof(p->dir), "%.*s", (int)strcspn(line + at, "\n"), line + at);
    return 1;
}

static int write_position(const lake *l, int64_t next, int64_t pending)
{
    cp_buf b;
    cp_buf_init(&b);
    cp_buf_appendf(&b, "next %lld pending %lld instance %s dir %s\n", (long long)next,
                   (long long)pending, l->instance, l->dir);
    int rc = b.ptr ? cp_write_file_atomic(l->position, b.ptr, b.len) : CP_ENOMEM;
    cp_buf_free(&b);
    return rc;
}

/* The instance's published offset in the lake (_published/<instance>); -1: none. */
static int64_t published(const lake *l)
{
    char path[4300];
    long long n = -1;
    snprintf(path, sizeof(path), "%s/_published/%s", l->dir, l->instance);
    FILE *f = fopen(path, "r");
    if (f && fscanf(f, "next %lld", &n) != 1) n = -1;
    if (f) fclose(f);
    return n;
}

/* Calls fn for each file of <dir>/dt=*: its directory and name. A directory that cannot be
 * read is an error (a file passed over would be lost to the moves or left to a redo). */
static int each_file(const char *dir, int (*fn)(const char *sub, const char *name, void *ud),
                     void *ud)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? CP_OK : CP_EIO;
    int rc = CP_OK;
    struct dirent *e;
    while (rc == CP_OK && (errno = 0, e = readdir(d))) {
        if (strncmp(e->d_name, "dt=", 3) != 0) continue;
        char sub[4300];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        DIR *f = opendir(sub);
        if (!f) {
            rc = CP_EIO;
            break;
        }
        struct dirent *x;
        while (rc == CP_OK && (errno = 0, x = readdir(f)))
            if (x->d_name[0] != '.') rc = fn(sub, x->d_name, ud);
        if (rc == CP_OK && errno) rc = CP_EIO;
        closedir(f);
    }
    if (rc == CP_OK && errno) rc = CP_EIO;
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

static int sync_path(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0) return CP_EIO;
    int ok = fsync(fd) == 0;
    close(fd);
    return ok ? CP_OK : CP_EIO;
}

/* A staged file into its place, <staging>/dt=D/F to <to>/dt=D/F, and on disk: the file and
 * the directory naming it synced before the range is marked published. */
static int move_into_place(const char *sub, const char *name, void *ud)
{
    const char *to = ud;
    char from[4600], dir[4600], path[4700];
    snprintf(from, sizeof(from), "%s/%s", sub, name);
    snprintf(dir, sizeof(dir), "%s/%s", to, strrchr(sub, '/') + 1);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (cp_mkdirs(dir) || sync_path(from, 0) || rename(from, path) != 0) return CP_EIO;
    return sync_path(dir, O_DIRECTORY) || sync_path(to, O_DIRECTORY) ? CP_EIO : CP_OK;
}

/* The staging directory and its day directories removed: fails when one is not empty (a
 * file the moves did not take). */
static int remove_staging(const char *staging)
{
    DIR *d = opendir(staging);
    if (!d) return errno == ENOENT ? CP_OK : CP_EIO;
    int rc = CP_OK;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4300];
        snprintf(sub, sizeof(sub), "%s/%s", staging, e->d_name);
        if (rmdir(sub) != 0 && errno != ENOENT) rc = CP_EIO;
    }
    closedir(d);
    if (rmdir(staging) != 0 && errno != ENOENT) rc = CP_EIO;
    return rc;
}

/* One table's rows of [from, to) as Parquet files in place; redo: the range was begun
 * before (its files, if any, are replaced). */
static int publish_table(cp_store *s, const lake *l, size_t t, int64_t from, int64_t to, bool redo,
                         int64_t *rows, char *err, size_t errlen)
{
    char dir[4200], staging[4300], prefix[160];
    snprintf(dir, sizeof(dir), "%s/%s", l->dir, lake_tables[t].name);
    snprintf(staging, sizeof(staging), "%s/_staging/%s-%s", l->dir, l->instance,
             lake_tables[t].name);
    snprintf(prefix, sizeof(prefix), "%s-%lld-%lld-", l->instance, (long long)from,
             (long long)to - 1);
    int rc = redo ? each_file(dir, remove_if_prefix, prefix) : CP_OK;
    if (rc == CP_OK) rc = each_file(staging, remove_if_prefix, ""); /* left by a step cut short */
    if (rc == CP_OK) rc = remove_staging(staging);
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
    bool none = true;
    rc = cp_buf_append_char(&sql, 0) ? CP_ENOMEM : cp_store_scalar(s, sql.ptr, &n, &none);
    cp_buf_free(&sql);
    if (rc == CP_EDB) snprintf(err, errlen, "lake: %s", cp_store_error(s));
    if (rc == CP_OK && (rc = each_file(staging, move_into_place, dir)) == CP_OK)
        rc = remove_staging(staging);
    if (rc == CP_EIO)
        snprintf(err, errlen, "lake: cannot move the files of %s into place: %s", staging,
                 strerror(errno));
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

/* Where this step starts: the position, unless it is about another lake (a new one, begun
 * from offset 0) or another instance's name, or is missing while the lake already holds
 * this name (another data directory's: refused, its files would be replaced or doubled). */
static int start_of(const lake *l, int64_t *next, int64_t *pending, char *err, size_t errlen)
{
    lake_position p;
    int have = read_position(l->position, &p);
    if (have && !strcmp(p.dir, l->dir) && strcmp(p.instance, l->instance) != 0) {
        snprintf(err, errlen,
                 "lake: lake.instance changed from %s to %s: the lake names this data "
                 "directory's events %s (set lake.instance back)",
                 p.instance, l->instance, p.instance);
        return CP_ESTATE;
    }
    if (!have || strcmp(p.dir, l->dir) != 0) {
        int64_t there = published(l);
        if (there >= 0) {
            snprintf(err, errlen,
                     "lake: %s already holds instance %s up to offset %lld, from another data "
                     "directory: give this one another lake.instance",
                     l->dir, l->instance, (long long)there);
            return CP_ESTATE;
        }
        p.next = 0;
        p.pending = -1;
    }
    *next = p.next;
    *pending = p.pending;
    return CP_OK;
}

static int64_t publish(void *ctx, cp_store *s, bool now, char *err, size_t errlen)
{
    lake *l = ctx;
    int64_t next, pending, applied = 0, rows = 0;
    bool found;
    int rc = start_of(l, &next, &pending, err, errlen);
    if (rc) return rc;
    bool redo = pending >= 0;
    if (redo && published(l) >= pending) { /* cut short after marking it: only the position */
        if (write_position(l, pending, -1)) goto position_failed;
        return 1;
    }
    if (!redo) {
        if (!now && cp_now_ms() - l->last_ms < l->interval_ms) return 0;
        if (cp_store_get_checkpoint(s, "log", &applied, &found)) {
            snprintf(err, errlen, "lake: %s", cp_store_error(s));
            return CP_EDB;
        }
        if (!found || applied <= next) return 0;
        pending = applied;
        if (write_position(l, next, pending)) goto position_failed;
    }
    for (size_t t = 0; t < sizeof(lake_tables) / sizeof(lake_tables[0]) && rc == CP_OK; t++)
        rc = publish_table(s, l, t, next, pending, redo, &rows, err, errlen);
    if (rc == CP_OK && mark_published(l, pending)) {
        snprintf(err, errlen, "lake: cannot mark %s published: %s", l->instance, strerror(errno));
        rc = CP_EIO;
    }
    if (rc) return rc;
    l->last_ms = cp_now_ms();
    if (write_position(l, pending, -1)) goto position_failed;
    return rows > 0 ? rows : 1; /* (a range of rejects only: still progress) */
position_failed:
    snprintf(err, errlen, "lake: cannot write %s: %s", l->position, strerror(errno));
    return CP_EIO;
}

static void lake_tables_none(const cp_config *c, char *out, size_t len)
{
    (void)c;
    snprintf(out, len, "%s", "");
}

static int lake_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    if (!cp_lake_instance_ok(c->lake_instance)) {
        snprintf(err, errlen,
                 c->lake_instance[0]
                     ? "lake.instance: '%s' is not a name of 1-64 letters, digits and underscores"
                     : "lake.instance: name this instance (letters, digits and underscores, "
                       "unique in the lake and kept with this data directory)%s",
                 c->lake_instance);
        return CP_EINVAL;
    }
    lake *l = cp_calloc(1, sizeof(*l));
    char position[4200];
    snprintf(position, sizeof(position), "%s/lake.position", c->data_dir);
    if (l)
        *l = (lake){cp_strdup(c->lake_dir), cp_strdup(c->lake_instance), cp_strdup(position),
                    c->lake_interval_ms, 0};
    if (!l || !l->dir || !l->instance || !l->position) {
        if (l) cp_free(l->dir), cp_free(l->instance), cp_free(l->position);
        cp_free(l);
        return CP_ENOMEM;
    }
    *ctx = l; /* the directory is made by the first step (a share not mounted yet: retried) */
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
