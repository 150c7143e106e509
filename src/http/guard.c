/* Connection deadlines for the libmicrohttpd servers. libmicrohttpd's own timeout is an
 * idle timeout: any byte resets it, so a client sending one header line every few
 * seconds would stay forever. A guard keeps every open connection of its servers in a
 * list (MHD_OPTION_NOTIFY_CONNECTION) and a thread of its own shuts down, a few times a
 * second, each connection whose next request has not arrived whole — request line,
 * headers and body — within the deadline counted from the moment the connection was
 * opened or its previous answer was sent (which bounds idle keep-alive connections
 * too). A request that has arrived whole is the handler's: a statement, a live stream
 * or a request waiting for its group commit is never cut. shutdown(2) only: the server
 * thread sees the end of the stream and closes the descriptor itself (the record is
 * removed under the lock before libmicrohttpd closes it, so a reused descriptor is
 * never touched). Also raises RLIMIT_NOFILE for the connection limits. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <errno.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define SWEEP_MS 100 /* how often the deadlines are looked at */

typedef struct guarded {
    int fd;
    int busy;         /* a whole request is with the handler */
    int64_t since_ns; /* opened, or its last answer sent */
    struct guarded *prev, *next;
} guarded;

/* Open connections of one client address. */
typedef struct address {
    unsigned char key[16];
    size_t n;
    struct address *next;
} address;

#define ADDRESS_BUCKETS 1024

struct http_guard {
    const char *name;
    int64_t deadline_ns;
    size_t max_total, max_per_address, total, refused;
    address *by_address[ADDRESS_BUCKETS];
    pthread_mutex_t mu;
    pthread_cond_t wake;
    guarded head; /* circular list */
    int stop;
    size_t cut; /* connections cut off so far */
    pthread_t thread;
};

static void *sweep(void *arg)
{
    http_guard *g = arg;
    pthread_setname_np(pthread_self(), "http deadlines");
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&g->wake, &g->mu, &ts);
        int64_t now = cp_mono_ns();
        size_t cut = 0;
        for (guarded *c = g->head.next; c != &g->head; c = c->next) {
            if (c->busy || c->fd < 0 || now - c->since_ns <= g->deadline_ns) continue;
            shutdown(c->fd, SHUT_RDWR);
            c->fd = -1; /* once */
            cut++;
        }
        g->cut += cut;
        if (cut)
            CP_LOG_LIMITED(CP_LOG_WARN, 1, g->name,
                           "cut off %zu connection(s): no whole request within %lld ms", cut,
                           (long long)(g->deadline_ns / 1000000));
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

http_guard *http_guard_new(const char *name, int64_t deadline_ms, size_t max_total,
                           size_t max_per_address)
{
    http_guard *g = cp_calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->name = name;
    g->max_total = max_total;
    g->max_per_address = max_per_address;
    g->deadline_ns = (deadline_ms > 0 ? deadline_ms : 10000) * 1000000LL;
    g->head.next = g->head.prev = &g->head;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->thread, NULL, sweep, g) != 0) {
        pthread_cond_destroy(&g->wake);
        pthread_mutex_destroy(&g->mu);
        cp_free(g);
        return NULL;
    }
    return g;
}

void http_guard_free(http_guard *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    for (guarded *c = g->head.next; c != &g->head;) { /* servers stopped first: none left */
        guarded *next = c->next;
        cp_free(c);
        c = next;
    }
    for (size_t i = 0; i < ADDRESS_BUCKETS; i++)
        for (address *x = g->by_address[i], *next; x; x = next) {
            next = x->next;
            cp_free(x);
        }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->mu);
    cp_free(g);
}

void http_guard_notify(http_guard *g, struct MHD_Connection *con, void **socket_context, int code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        guarded *c = cp_calloc(1, sizeof(*c));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = c;
        if (!c) return; /* unguarded: only libmicrohttpd's idle timeout applies */
        c->fd = ci ? ci->connect_fd : -1;
        c->since_ns = cp_mono_ns();
        pthread_mutex_lock(&g->mu);
        c->next = &g->head;
        c->prev = g->head.prev;
        g->head.prev->next = c;
        g->head.prev = c;
        pthread_mutex_unlock(&g->mu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        guarded *c = *socket_context;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        http_guard_release(g, ci ? ci->client_addr : NULL);
        if (!c) return;
        pthread_mutex_lock(&g->mu);
        c->prev->next = c->next;
        c->next->prev = c->prev;
        pthread_mutex_unlock(&g->mu);
        cp_free(c);
        *socket_context = NULL;
    }
}

/* The record of a connection, from the connection. */
static guarded *record_of(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void http_guard_busy(http_guard *g, struct MHD_Connection *con, int busy)
{
    guarded *c = record_of(con);
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    c->busy = busy;
    if (!busy) c->since_ns = cp_mono_ns();
    pthread_mutex_unlock(&g->mu);
}

/* The address's key (IPv4 mapped into IPv6) and its bucket; -1 when not IP. */
static int address_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (!sa) return -1;
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    } else {
        return -1;
    }
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) h = (h ^ key[i]) * 16777619u;
    return (int)(h % ADDRESS_BUCKETS);
}

int http_guard_admit(http_guard *g, const struct sockaddr *peer)
{
    unsigned char key[16];
    int b = address_key(peer, key), ok = 0;
    pthread_mutex_lock(&g->mu);
    address *x = NULL;
    if (b >= 0)
        for (x = g->by_address[b]; x && memcmp(x->key, key, 16) != 0;) x = x->next;
    if (g->total < g->max_total && (!x || x->n < g->max_per_address)) {
        if (!x && b >= 0 && (x = cp_calloc(1, sizeof(*x)))) {
            memcpy(x->key, key, 16);
            x->next = g->by_address[b];
            g->by_address[b] = x;
        }
        if (x || b < 0) {
            if (x) x->n++;
            g->total++;
            ok = 1;
        }
    }
    if (!ok) g->refused++;
    size_t refused = g->refused;
    pthread_mutex_unlock(&g->mu);
    if (!ok)
        CP_LOG_LIMITED(CP_LOG_WARN, 1, g->name,
                       "refused a connection: %zu open of %zu, at most %zu per address (%zu "
                       "refused so far)",
                       g->total, g->max_total, g->max_per_address, refused);
    return ok;
}

void http_guard_release(http_guard *g, const struct sockaddr *peer)
{
    unsigned char key[16];
    int b = address_key(peer, key);
    pthread_mutex_lock(&g->mu);
    if (g->total) g->total--;
    for (address **p = b >= 0 ? &g->by_address[b] : NULL; p && *p; p = &(*p)->next) {
        address *x = *p;
        if (memcmp(x->key, key, 16) != 0) continue;
        if (--x->n == 0) {
            *p = x->next;
            cp_free(x);
        }
        break;
    }
    pthread_mutex_unlock(&g->mu);
}

size_t http_guard_refused(http_guard *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->refused;
    pthread_mutex_unlock(&g->mu);
    return n;
}

size_t http_guard_cut(http_guard *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->cut;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void http_raise_nofile(size_t need, const char *who)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || want < need)
        CP_WARN(who,
                "open files limited to %llu, the connection limits need %zu: raise the hard "
                "limit (ulimit -Hn) or lower the limits",
                (unsigned long long)want, need);
}

typedef struct header_count {
    const char *name;
    int n;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    header_count *h = cls;
    (void)kind, (void)value;
    if (key && strcasecmp(key, h->name) == 0) h->n++;
    return MHD_YES;
}

int http_header_count(struct MHD_Connection *con, const char *name)
{
    header_count h = {name, 0};
    MHD_get_connection_values(con, MHD_HEADER_KIND, count_header, &h);
    return h.n;
}

const char *http_request_malformed(struct MHD_Connection *con)
{
    if (http_header_count(con, "Content-Length") > 1) return "more than one Content-Length header";
    if (http_header_count(con, "Content-Length") && http_header_count(con, "Transfer-Encoding"))
        return "both Content-Length and Transfer-Encoding";
    return NULL;
}
