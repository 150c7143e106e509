/* Double-buffered background writer (see include/clickpulse/fdwriter.h).
 * The producer fills one buffer while the writer thread drains the others;
 * a mutex and two condition variables hand full and empty buffers across. */
#include "clickpulse/fdwriter.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct wbuf {
    char *data;
    size_t len;
} wbuf;

#define PAGE 4096

struct cp_fdwriter {
    int fd;
    unsigned flags;
    size_t size;
    int n;
    wbuf *bufs;
    int fill;         /* buffer the producer fills */
    int head, queued; /* ring of full buffers waiting for the thread */
    int closing, failed;
    pthread_mutex_t mu;
    pthread_cond_t has_full, has_empty;
    pthread_t thread;
};

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return CP_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return CP_OK;
}

static void *drain(void *arg)
{
    cp_fdwriter *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->queued && !w->closing) pthread_cond_wait(&w->has_full, &w->mu);
        if (!w->queued) break;
        wbuf *b = &w->bufs[w->head];
        pthread_mutex_unlock(&w->mu);
        int rc = CP_EIO;
        if (!w->failed) {
            if ((w->flags & CP_FDWRITER_DIRECT) && b->len % PAGE) {
                /* the tail: direct I/O needs whole pages, so finish with buffered I/O */
                int fl = fcntl(w->fd, F_GETFL);
                if (fl != -1) fcntl(w->fd, F_SETFL, fl & ~O_DIRECT);
            }
            rc = write_all(w->fd, b->data, b->len);
        }
        pthread_mutex_lock(&w->mu);
        if (rc) w->failed = 1;
        b->len = 0;
        w->head = (w->head + 1) % w->n;
        w->queued--;
        pthread_cond_signal(&w->has_empty);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int cp_fdwriter_open(const char *path, int *direct)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
    *direct = fd >= 0;
    if (fd < 0 && errno == EINVAL) fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd;
}

static void free_bufs(cp_fdwriter *w)
{
    for (int i = 0; w->bufs && i < w->n; i++) free(w->bufs[i].data);
    cp_free(w->bufs);
}

cp_fdwriter *cp_fdwriter_new(int fd, size_t buf_size, int n_bufs, unsigned flags)
{
    cp_fdwriter *w = cp_calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->fd = fd;
    w->flags = flags;
    w->size = ((buf_size ? buf_size : 4u << 20) + PAGE - 1) / PAGE * PAGE;
    w->n = n_bufs >= 2 ? n_bufs : 3;
    w->bufs = cp_calloc((size_t)w->n, sizeof(wbuf));
    if (!w->bufs) goto fail;
    for (int i = 0; i < w->n; i++) {
        void *p = NULL;
        /* page-aligned for O_DIRECT; freed with free() (the hook covers cp_calloc above) */
        if (posix_memalign(&p, PAGE, w->size) != 0) goto fail;
        w->bufs[i].data = p;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->has_full, NULL);
    pthread_cond_init(&w->has_empty, NULL);
    if (pthread_create(&w->thread, NULL, drain, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->has_full);
        pthread_cond_destroy(&w->has_empty);
        goto fail;
    }
    return w;
fail:
    free_bufs(w);
    cp_free(w);
    return NULL;
}

/* Queues the fill buffer and waits for an empty one. Called with mu held. */
static void hand_over(cp_fdwriter *w)
{
    w->queued++;
    pthread_cond_signal(&w->has_full);
    while (w->queued == w->n) pthread_cond_wait(&w->has_empty, &w->mu);
    w->fill = (w->fill + 1) % w->n;
}

int cp_fdwriter_write(cp_fdwriter *w, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        wbuf *b = &w->bufs[w->fill];
        size_t room = w->size - b->len, n = len < room ? len : room;
        memcpy(b->data + b->len, p, n);
        b->len += n;
        p += n;
        len -= n;
        if (b->len == w->size) {
            pthread_mutex_lock(&w->mu);
            hand_over(w);
            int failed = w->failed;
            pthread_mutex_unlock(&w->mu);
            if (failed) return CP_EIO;
        }
    }
    return CP_OK;
}

int cp_fdwriter_close(cp_fdwriter *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->bufs[w->fill].len) hand_over(w);
    w->closing = 1;
    pthread_cond_signal(&w->has_full);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    int rc = w->failed ? CP_EIO : CP_OK;
    free_bufs(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->has_full);
    pthread_cond_destroy(&w->has_empty);
    cp_free(w);
    return rc;
}
