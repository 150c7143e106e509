/* The file source: JSON Lines (single events or batch envelopes) and CSV
 * tables, from a file or standard input, once or following a growing file.
 * The cursor is the byte position (and line) up to which every record is in
 * a committed batch; a restart seeks there (a CSV file's header is read again
 * first). Each record's delivery position is its byte position, plus its
 * place in a batch envelope. */
#include "clickpulse/sources.h"

#include "clickpulse/arena.h"
#include "clickpulse/csv.h"
#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct file_run {
    cp_pipeline *p;
    const cp_file_options *o;
    cp_event_decoder *json;
    cp_csv_decoder *csv;
    cp_arena positions; /* delivery positions of the open batch */
    char source[PATH_MAX + 8], cursor[PATH_MAX + 8], line_cursor[PATH_MAX + 16];
    int fd, is_stdin;
    uint64_t pos; /* bytes of the stream read so far (from its start) */
    int rc;
} file_run;

static cp_slice position(file_run *r, uint64_t pos, uint32_t index)
{
    char *s = cp_arena_alloc(&r->positions, 32);
    if (!s) return CP_SLICE_NULL;
    int n = index ? snprintf(s, 32, "%llu.%u", (unsigned long long)pos, index)
                  : snprintf(s, 32, "%llu", (unsigned long long)pos);
    return (cp_slice){s, (size_t)n};
}

static int on_event(void *ud, const cp_event *ev)
{
    file_run *r = ud;
    return cp_pipeline_submit(r->p, ev, cp_slice_from(r->source), position(r, ev->pos, ev->index));
}

static int on_reject(void *ud, const cp_reject *rej)
{
    file_run *r = ud;
    return cp_pipeline_reject(r->p, rej, cp_slice_from(r->source),
                              position(r, rej->pos, rej->index), cp_now_ms());
}

static int feed(file_run *r, const char *buf, size_t n)
{
    return r->csv ? cp_csv_decoder_feed(r->csv, buf, n) : cp_event_decoder_feed(r->json, buf, n);
}

static uint64_t resume_point(file_run *r, uint64_t *line)
{
    return r->csv ? cp_csv_decoder_resume_position(r->csv, line)
                  : cp_event_decoder_resume_position(r->json, line);
}

/* Commits the batch with the cursor (stdin has none: it cannot be re-read). */
static int commit(file_run *r)
{
    uint64_t line, at = resume_point(r, &line);
    int rc = CP_OK;
    if (!r->is_stdin) rc = cp_pipeline_note_cursor(r->p, r->line_cursor, (int64_t)line);
    if (rc == CP_OK) rc = cp_pipeline_flush(r->p, r->is_stdin ? NULL : r->cursor, (int64_t)at);
    cp_arena_reset(&r->positions);
    return rc;
}

/* JSON when the first non-blank byte is '{' (or the input is empty), else CSV. */
static int is_json(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n')
            return buf[i] == '{';
    return 1;
}

static int make_decoder(file_run *r, const cp_config *c, int json)
{
    cp_decode_options d;
    cp_decode_options_default(&d);
    d.max_event_bytes = (size_t)c->collector_max_event_bytes;
    d.max_line_bytes = (size_t)c->collector_max_request_bytes;
    d.max_batch_events = (size_t)c->collector_max_batch_events;
    d.trust_received_at = true; /* files are archives: their receivedAt is the collector's */
    cp_decode_sink sink = {r, on_event, on_reject};
    if (json)
        r->json = cp_event_decoder_new(&d, sink);
    else
        r->csv = cp_csv_decoder_new(&d, sink);
    return r->json || r->csv ? CP_OK : CP_ENOMEM;
}

/* For a CSV file resumed part-way: the header line, fed again from position 0. */
static int replay_header(file_run *r)
{
    char buf[65536];
    ssize_t n = pread(r->fd, buf, sizeof(buf), 0);
    if (n <= 0) return CP_EIO;
    char *nl = memchr(buf, '\n', (size_t)n);
    if (!nl) return CP_EPARSE;
    cp_csv_decoder_set_position(r->csv, 0, 0);
    return cp_csv_decoder_feed(r->csv, buf, (size_t)(nl - buf) + 1);
}

static void lock(file_run *r)
{
    if (r->o->lock) pthread_mutex_lock(r->o->lock);
}

static void unlock(file_run *r)
{
    if (r->o->lock) pthread_mutex_unlock(r->o->lock);
}

static int wait_for_more(file_run *r)
{
    struct timespec ts = {0, 200 * 1000000L};
    struct stat st;
    nanosleep(&ts, NULL);
    if (!r->is_stdin && fstat(r->fd, &st) == 0 && (uint64_t)st.st_size < r->pos) {
        CP_WARN("source:file", "%s shrank below the position read; it was truncated or replaced",
                r->source);
        return CP_ECORRUPT;
    }
    return CP_OK;
}

static int read_loop(file_run *r, char *buf, size_t cap, uint64_t total)
{
    for (;;) {
        if (r->o->stop && *r->o->stop) return CP_OK;
        ssize_t n = read(r->fd, buf, cap);
        if (n < 0) {
            if (errno == EINTR) continue;
            return CP_EIO;
        }
        if (n == 0) {
            if (!r->o->follow) return CP_OK;
            int rc = wait_for_more(r);
            if (rc) return rc;
            continue;
        }
        r->pos += (uint64_t)n;
        lock(r);
        int rc = feed(r, buf, (size_t)n);
        if (rc == CP_OK) rc = commit(r);
        unlock(r);
        if (rc) return rc;
        if (r->o->progress) r->o->progress(r->o->progress_ud, r->pos, total);
    }
}

static int start(file_run *r, const cp_config *c, cp_file_result *res, char *buf, size_t cap)
{
    /* The format from the file's start (not the resume point). */
    ssize_t n = r->is_stdin ? read(r->fd, buf, cap) : pread(r->fd, buf, cap < 4096 ? cap : 4096, 0);
    if (n < 0) return CP_EIO;
    int json = is_json(buf, (size_t)n);
    int rc = make_decoder(r, c, json);
    if (rc) return rc;
    if (r->is_stdin) {
        r->pos = (uint64_t)n;
        rc = feed(r, buf, (size_t)n);
        res->format = json ? "jsonl" : "csv";
        return rc;
    }
    int64_t at = 0, line = 0;
    bool found = false, lfound = false;
    if ((rc = cp_pipeline_cursor(r->p, r->cursor, &at, &found)) ||
        (rc = cp_pipeline_cursor(r->p, r->line_cursor, &line, &lfound)))
        return rc;
    struct stat st;
    if (fstat(r->fd, &st) == 0 && found && at > st.st_size) {
        CP_WARN("source:file",
                "%s is shorter than its committed position %lld: reading it from "
                "the start",
                r->source, (long long)at);
        at = line = 0;
    }
    if (!json && at > 0 && (rc = replay_header(r))) return rc;
    if (json)
        cp_event_decoder_set_position(r->json, (uint64_t)at, (uint64_t)line);
    else
        cp_csv_decoder_set_position(r->csv, (uint64_t)at, (uint64_t)line);
    if (lseek(r->fd, at, SEEK_SET) < 0) return CP_EIO;
    r->pos = (uint64_t)at;
    res->resumed_at = (uint64_t)at;
    res->format = json ? "jsonl" : "csv";
    return CP_OK;
}

int cp_source_file(cp_pipeline *p, const cp_config *c, const cp_file_options *o,
                   cp_file_result *res, char *err, size_t errlen)
{
    file_run r = {.p = p, .o = o, .fd = -1};
    size_t cap = o->chunk_bytes ? o->chunk_bytes : 16u << 20;
    char *buf = cp_malloc(cap);
    memset(res, 0, sizeof(*res));
    cp_arena_init(&r.positions, 0);
    r.is_stdin = strcmp(o->path, "-") == 0;
    char abs[PATH_MAX];
    if (r.is_stdin) {
        snprintf(r.source, sizeof(r.source), "stdin");
        r.fd = 0;
    } else if (!realpath(o->path, abs) || (r.fd = open(abs, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", o->path, strerror(errno));
        cp_free(buf);
        return CP_ENOENT;
    } else {
        snprintf(r.source, sizeof(r.source), "file:%s", abs);
        snprintf(r.cursor, sizeof(r.cursor), "file:%s", abs);
        snprintf(r.line_cursor, sizeof(r.line_cursor), "file:%s#line", abs);
    }
    struct stat st;
    uint64_t total = !r.is_stdin && fstat(r.fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    uint64_t first = 0;
    lock(&r);
    int rc = buf ? start(&r, c, res, buf, cap) : CP_ENOMEM;
    first = r.pos;
    if (rc == CP_OK && r.is_stdin) rc = commit(&r);
    unlock(&r);
    if (rc == CP_OK) rc = read_loop(&r, buf, cap, total);
    if (rc == CP_OK && !(o->stop && *o->stop)) {
        lock(&r);
        rc = r.csv ? cp_csv_decoder_finish(r.csv) : cp_event_decoder_finish(r.json);
        if (rc == CP_OK) rc = commit(&r);
        unlock(&r);
    }
    if (r.csv && cp_csv_decoder_table(r.csv)) res->format = cp_csv_decoder_table(r.csv);
    res->bytes = r.pos - (r.is_stdin ? 0 : first);
    if (rc && !err[0])
        snprintf(err, errlen, "ingesting %s: %s%s%s", o->path, cp_strerror(rc),
                 cp_pipeline_error(p)[0] ? ": " : "", cp_pipeline_error(p));
    cp_event_decoder_free(r.json);
    cp_csv_decoder_free(r.csv);
    cp_arena_free(&r.positions);
    if (r.fd > 0) close(r.fd);
    cp_free(buf);
    return rc;
}
