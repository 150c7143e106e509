/* The dedup window's cold part (see dedup.c): the entries the table in memory gave up
 * to stay within pipeline.dedup_memory, in RocksDB under <data_dir>/dedup — keyed by
 * the messageId hash, with the delivery hash and the receive time. RocksDB keeps its
 * own memory bounded (two write buffers, a block cache, and the files' Bloom filters
 * and indexes: about 1.3 bytes a messageId it holds), and a lookup of a hash it does
 * not hold, the common case, is answered by those filters without a read. Entries received before
 * the window's floor are dropped as RocksDB compacts. The part is rebuilt from silver, as the table
 * is, so it is made empty at each start and needs no write-ahead log. */
#include "internal.h"

#include "clickpulse/fs.h"
#include "clickpulse/mem.h"

#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define WRITE_BUFFER (8u << 20)
#define BLOCK_CACHE  (16u << 20)

struct dedup_cold {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *bloom;
    rocksdb_compactionfilter_t *filter;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    rocksdb_writebatch_t *batch;
    _Atomic int64_t floor_ms; /* compactions drop entries received before it */
    char dir[4096];
    char err[256];
};

static void put_u64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) p[7 - i] = (char)(v >> (i * 8));
}

static uint64_t get_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | (uint8_t)p[i];
    return v;
}

/* value: delivery (4 bytes) then the receive time in ms (8), big-endian */
static unsigned char filter(void *state, int level, const char *key, size_t key_len,
                            const char *value, size_t value_len, char **new_value,
                            size_t *new_value_len, unsigned char *value_changed)
{
    (void)level, (void)key, (void)key_len, (void)new_value, (void)new_value_len;
    dedup_cold *c = state;
    *value_changed = 0;
    return value_len == 12 && (int64_t)get_u64(value + 4) < atomic_load(&c->floor_ms);
}

static const char *filter_name(void *state)
{
    (void)state;
    return "clickpulse.dedup.floor";
}

static void nothing(void *state)
{
    (void)state;
}

static int failed(dedup_cold *c, const char *what, char *e)
{
    snprintf(c->err, sizeof(c->err), "dedup %s: %s", what, e ? e : "failed");
    rocksdb_free(e);
    return -1;
}

dedup_cold *dedup_cold_open(const char *dir, char *err, size_t errlen)
{
    dedup_cold *c = cp_calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(c->dir, sizeof(c->dir), "%s", dir);
    atomic_store(&c->floor_ms, INT64_MIN);
    c->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(c->opts, 1);
    rocksdb_options_set_write_buffer_size(c->opts, WRITE_BUFFER);
    rocksdb_options_set_max_write_buffer_number(c->opts, 2);
    rocksdb_options_set_max_background_jobs(c->opts, 1);
    rocksdb_options_set_max_open_files(c->opts, -1); /* every file's reader kept open */
    rocksdb_options_set_compression(c->opts, rocksdb_no_compression); /* hashes */
    rocksdb_options_set_info_log_level(c->opts, 4);                   /* fatal only */
    rocksdb_options_set_keep_log_file_num(c->opts, 1);
    /* most lookups are of hashes it does not hold: a Bloom filter answers them for the
     * write buffers as the table filters do for the files */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(c->opts, 0.1);
    rocksdb_options_set_memtable_whole_key_filtering(c->opts, 1);
    c->cache = rocksdb_cache_create_lru(BLOCK_CACHE);
    c->bloom = rocksdb_filterpolicy_create_bloom_full(10);
    c->table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(c->table, c->cache);
    rocksdb_block_based_options_set_filter_policy(c->table, c->bloom);
    /* the files' filters stay in memory with their readers (1.25 bytes a messageId): read
     * through the block cache, a lookup read and checked a filter block from disk */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(c->table, 0);
    rocksdb_options_set_block_based_table_factory(c->opts, c->table);
    c->filter = rocksdb_compactionfilter_create(c, nothing, filter, filter_name);
    rocksdb_options_set_compaction_filter(c->opts, c->filter);
    c->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(c->wo, 1);
    c->ro = rocksdb_readoptions_create();
    c->batch = rocksdb_writebatch_create();
    char *e = NULL;
    rocksdb_destroy_db(c->opts, dir, &e); /* what an earlier run left: rebuilt from silver */
    rocksdb_free(e);
    e = NULL;
    cp_mkdirs(dir);
    c->db = rocksdb_open(c->opts, dir, &e);
    if (!c->db) {
        snprintf(err, errlen, "dedup: opening %s: %s", dir, e ? e : "failed");
        rocksdb_free(e);
        dedup_cold_close(c);
        return NULL;
    }
    return c;
}

void dedup_cold_close(dedup_cold *c)
{
    if (!c) return;
    if (c->db) {
        rocksdb_close(c->db);
        char *e = NULL;
        rocksdb_destroy_db(c->opts, c->dir, &e);
        rocksdb_free(e);
        remove(c->dir);
    }
    if (c->batch) rocksdb_writebatch_destroy(c->batch);
    if (c->ro) rocksdb_readoptions_destroy(c->ro);
    if (c->wo) rocksdb_writeoptions_destroy(c->wo);
    if (c->opts) rocksdb_options_destroy(c->opts);
    if (c->filter) rocksdb_compactionfilter_destroy(c->filter);
    if (c->table) rocksdb_block_based_options_destroy(c->table); /* with the bloom policy */
    if (c->cache) rocksdb_cache_destroy(c->cache);
    cp_free(c);
}

const char *dedup_cold_error(const dedup_cold *c)
{
    return c->err;
}

void dedup_cold_add(dedup_cold *c, uint64_t msg, uint32_t delivery, int64_t recv_ms)
{
    char k[8], v[12];
    put_u64(k, msg);
    for (int i = 0; i < 4; i++) v[i] = (char)(delivery >> ((3 - i) * 8));
    put_u64(v + 4, (uint64_t)recv_ms);
    rocksdb_writebatch_put(c->batch, k, 8, v, 12);
}

int dedup_cold_flush(dedup_cold *c)
{
    if (!rocksdb_writebatch_count(c->batch)) return 0;
    char *e = NULL;
    rocksdb_write(c->db, c->wo, c->batch, &e);
    rocksdb_writebatch_clear(c->batch);
    return e ? failed(c, "write", e) : 0;
}

int dedup_cold_get(dedup_cold *c, uint64_t msg, uint32_t *delivery, int64_t *recv_ms)
{
    char k[8], *e = NULL;
    put_u64(k, msg);
    rocksdb_pinnableslice_t *v = rocksdb_get_pinned(c->db, c->ro, k, 8, &e);
    if (e) return failed(c, "read", e);
    if (!v) return 0;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(v, &n);
    int found = p && n == 12;
    if (found) {
        *delivery = (uint32_t)(get_u64(p) >> 32); /* the first 4 of the 12 bytes */
        *recv_ms = (int64_t)get_u64(p + 4);
    }
    rocksdb_pinnableslice_destroy(v);
    return found;
}

int dedup_cold_remove(dedup_cold *c, uint64_t msg)
{
    char k[8], *e = NULL;
    put_u64(k, msg);
    rocksdb_delete(c->db, c->wo, k, 8, &e);
    return e ? failed(c, "delete", e) : 0;
}

void dedup_cold_floor(dedup_cold *c, int64_t floor_ms)
{
    atomic_store(&c->floor_ms, floor_ms);
}
