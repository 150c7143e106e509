/* Double-buffered background writer (see include/clickpulse/fdwriter.h).
 * The producer fills one buffer while the writer thread drains the others;
 * a mutex and two condition variables hand full and empty buffers across. */
#include "clickpulse/fdwriter.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

typedef struct wbuf {
    char *data;
    size_t len;
} wbuf;

struct cp_fdwriter {
    int fd;
    size_t size;
    int n;
    wbuf *bufs;
    int fill;          /* buffer the producer fills */
    int head, queued;  /* ring of full buffers waiting for the thread */
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
        int rc = w->failed ? CP_EIO : write_all(w->fd, b->data, b->len);
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

cp_fdwriter *cp_fdwriter_new(int fd, size_t buf_size, int n_bufs)
{
    cp_fdwriter *w = cp_calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->fd = fd;
    w->size = buf_size ? buf_size : 4u << 20;
    w->n = n_bufs >= 2 ? n_bufs : 3;
    w->bufs = cp_calloc((size_t)w->n, sizeof(wbuf));
    if (!w->bufs) goto fail;
    for (int i = 0; i < w->n; i++)
        if (!(w->bufs[i].data = cp_malloc(w->size))) goto fail;
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
    for (int i = 0; w->bufs && i < w->n; i++) cp_free(w->bufs[i].data);
    cp_free(w->bufs);
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
    for (int i = 0; i < w->n; i++) cp_free(w->bufs[i].data);
    cp_free(w->bufs);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->has_full);
    pthread_cond_destroy(&w->has_empty);
    cp_free(w);
    return rc;
}
