/* The model runner (see include/clickpulse/models.h): loading, the dependency
 * graph, building in DuckDB, and the data tests. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>
#include <yaml.h>

#define MAX_MODELS 4096

typedef struct model {
    char *name, *path, *text;
    size_t len;
    cp_materialized mat;
    char unique_key[256];
    char **deps;
    int *dep_lines;
    size_t n_deps;
    int *dep_index;
    int state; /* topological sort: 0 new, 1 on the path, 2 done */
} model;

typedef enum test_kind { T_UNIQUE, T_NOT_NULL, T_ACCEPTED, T_RELATIONSHIP, T_CUSTOM } test_kind;
static const char *const test_names[] = {"unique", "not_null", "accepted_values", "relationships",
                                         "custom"};

typedef struct data_test {
    test_kind kind;
    char *model, *column; /* custom: the test's name, no column */
    char *values;         /* accepted_values: a SQL list ('a', 'b') */
    char *to, *field;     /* relationships */
    char *path, *text;    /* custom: its file */
    size_t len;
    int line;
} data_test;

/* A description from schema.yml: of a model (column NULL) or of one of its columns. */
typedef struct doc {
    char *model, *column, *text;
} doc;

struct cp_models {
    model *m;
    size_t n, cap;
    int *order; /* build order, after resolve */
    data_test *t;
    size_t n_tests, cap_tests;
    doc *docs;
    size_t n_docs;
    bool resolved;
};

cp_models *cp_models_new(void)
{
    return cp_calloc(1, sizeof(cp_models));
}

static void model_clear(model *x)
{
    cp_free(x->name);
    cp_free(x->path);
    cp_free(x->text);
    for (size_t i = 0; i < x->n_deps; i++) cp_free(x->deps[i]);
    cp_free(x->deps);
    cp_free(x->dep_lines);
    cp_free(x->dep_index);
    memset(x, 0, sizeof(*x));
}

static void test_clear(data_test *t)
{
    cp_free(t->model);
    cp_free(t->column);
    cp_free(t->values);
    cp_free(t->to);
    cp_free(t->field);
    cp_free(t->path);
    cp_free(t->text);
}

void cp_models_free(cp_models *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) model_clear(&m->m[i]);
    for (size_t i = 0; i < m->n_tests; i++) test_clear(&m->t[i]);
    for (size_t i = 0; i < m->n_docs; i++) {
        cp_free(m->docs[i].model);
        cp_free(m->docs[i].column);
        cp_free(m->docs[i].text);
    }
    cp_free(m->docs);
    cp_free(m->m);
    cp_free(m->t);
    cp_free(m->order);
    cp_free(m);
}

/* ---- models ---- */

typedef struct scan {
    model *x;
    char *err;
    size_t errlen;
} scan;

static int collect_ref(void *ud, cp_slice name, int line)
{
    model *x = ud;
    for (size_t i = 0; i < x->n_deps; i++)
        if (strlen(x->deps[i]) == name.len && memcmp(x->deps[i], name.ptr, name.len) == 0)
            return CP_OK;
    char **d = cp_reallocarray(x->deps, x->n_deps + 1, sizeof(*d));
    if (!d) return CP_ENOMEM;
    x->deps = d;
    int *l = cp_reallocarray(x->dep_lines, x->n_deps + 1, sizeof(*l));
    if (!l) return CP_ENOMEM;
    x->dep_lines = l;
    if (!(x->deps[x->n_deps] = cp_strndup(name.ptr, name.len))) return CP_ENOMEM;
    x->dep_lines[x->n_deps++] = line;
    return CP_OK;
}

static int collect_config(void *ud, cp_slice key, cp_slice value)
{
    model *x = ud;
    if (cp_slice_eq_lit(key, "materialized")) {
        if (cp_slice_eq_lit(value, "view"))
            x->mat = CP_MAT_VIEW;
        else if (cp_slice_eq_lit(value, "table"))
            x->mat = CP_MAT_TABLE;
        else if (cp_slice_eq_lit(value, "incremental"))
            x->mat = CP_MAT_INCREMENTAL;
        else
            return CP_EINVAL;
        return CP_OK;
    }
    if (cp_slice_eq_lit(key, "unique_key") && value.len < sizeof(x->unique_key)) {
        memcpy(x->unique_key, value.ptr, value.len);
        x->unique_key[value.len] = 0;
        return CP_OK;
    }
    return CP_EINVAL;
}

static const char *base_name(const char *path, size_t *len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    *len = dot ? (size_t)(dot - b) : strlen(b);
    return b;
}

static int add_model(cp_models *m, const char *path, const char *text, size_t len, char *err,
                     size_t errlen)
{
    size_t n;
    const char *b = base_name(path, &n);
    model x = {.mat = CP_MAT_VIEW};
    if (!(x.name = cp_strndup(b, n)) || !(x.path = cp_strdup(path)) ||
        !(x.text = cp_strndup(text, len))) {
        model_clear(&x);
        return CP_ENOMEM;
    }
    x.len = len;
    /* One pass for the configuration and the references (both branches of any if). */
    cp_buf sink;
    cp_buf_init(&sink);
    tpl_ctx c = {.path = path,
                 .model = x.name,
                 .text = x.text,
                 .len = len,
                 .ud = &x,
                 .on_ref = collect_ref,
                 .on_config = collect_config};
    int rc = tpl_render(&c, &sink, err, errlen);
    cp_buf_free(&sink);
    if (rc == CP_OK && x.mat == CP_MAT_INCREMENTAL && !x.unique_key[0]) {
        /* without a key, new rows are appended: allowed, as in dbt */
    }
    if (rc) {
        model_clear(&x);
        return rc;
    }
    for (size_t i = 0; i < m->n; i++) /* a later directory replaces a model of that name */
        if (strcmp(m->m[i].name, x.name) == 0) {
            model_clear(&m->m[i]);
            m->m[i] = x;
            m->resolved = false;
            return CP_OK;
        }
    if (m->n == MAX_MODELS) {
        model_clear(&x);
        snprintf(err, errlen, "%s: more than %d models", path, MAX_MODELS);
        return CP_ERANGE;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 32;
        model *nm = cp_reallocarray(m->m, cap, sizeof(*nm));
        if (!nm) {
            model_clear(&x);
            return CP_ENOMEM;
        }
        m->m = nm;
        m->cap = cap;
    }
    m->m[m->n++] = x;
    m->resolved = false;
    return CP_OK;
}

/* ---- tests from schema.yml ---- */

static data_test *new_test(cp_models *m)
{
    if (m->n_tests == m->cap_tests) {
        size_t cap = m->cap_tests ? 2 * m->cap_tests : 32;
        data_test *t = cp_reallocarray(m->t, cap, sizeof(*t));
        if (!t) return NULL;
        m->t = t;
        m->cap_tests = cap;
    }
    data_test *t = &m->t[m->n_tests++];
    memset(t, 0, sizeof(*t));
    return t;
}

typedef struct ydoc {
    yaml_document_t doc;
    const char *path;
    char *err;
    size_t errlen;
} ydoc;

static yaml_node_t *node(ydoc *y, int id)
{
    return yaml_document_get_node(&y->doc, id);
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get_key(ydoc *y, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(node(y, p->key));
        if (k && strcmp(k, key) == 0) return node(y, p->value);
    }
    return NULL;
}

static int yfail(ydoc *y, yaml_node_t *n, const char *fmt, const char *a)
{
    char what[256];
    snprintf(what, sizeof(what), fmt, a ? a : "");
    snprintf(y->err, y->errlen, "%s:%lu: %s", y->path,
             n ? (unsigned long)n->start_mark.line + 1 : 0UL, what);
    return CP_EINVAL;
}

/* "ref('name')" or "name" */
static char *ref_target(const char *s)
{
    const char *a = strchr(s, '\''), *b = a ? strchr(a + 1, '\'') : NULL;
    if (!a) a = strchr(s, '"'), b = a ? strchr(a + 1, '"') : NULL;
    return a && b ? cp_strndup(a + 1, (size_t)(b - a - 1)) : cp_strdup(s);
}

/* Keeps a description (a later file's replaces an earlier one's when read). */
static int add_doc(cp_models *m, const char *model_name, const char *column, const char *text)
{
    if (!text) return CP_OK;
    doc *d = cp_reallocarray(m->docs, m->n_docs + 1, sizeof(*d));
    if (!d) return CP_ENOMEM;
    m->docs = d;
    d = &m->docs[m->n_docs];
    d->model = cp_strdup(model_name);
    d->column = column ? cp_strdup(column) : NULL;
    d->text = cp_strdup(text);
    m->n_docs++;
    return d->model && d->text && (!column || d->column) ? CP_OK : CP_ENOMEM;
}

/* One entry of a column's tests: "unique", or {accepted_values: {values: […]}}, … */
static int column_test(cp_models *m, ydoc *y, const char *model_name, const char *column,
                       yaml_node_t *t)
{
    const char *kind = scalar(t);
    yaml_node_t *args = NULL;
    if (!kind && t->type == YAML_MAPPING_NODE &&
        t->data.mapping.pairs.top - t->data.mapping.pairs.start == 1) {
        kind = scalar(node(y, t->data.mapping.pairs.start->key));
        args = node(y, t->data.mapping.pairs.start->value);
    }
    if (!kind)
        return yfail(y, t, "a test is a name or a mapping of one name to its arguments%s", NULL);
    data_test *d = new_test(m);
    if (!d) return CP_ENOMEM;
    d->line = (int)t->start_mark.line + 1;
    d->model = cp_strdup(model_name);
    d->column = cp_strdup(column);
    d->path = cp_strdup(y->path);
    if (!d->model || !d->column || !d->path) return CP_ENOMEM;
    if (strcmp(kind, "unique") == 0)
        d->kind = T_UNIQUE;
    else if (strcmp(kind, "not_null") == 0)
        d->kind = T_NOT_NULL;
    else if (strcmp(kind, "accepted_values") == 0) {
        d->kind = T_ACCEPTED;
        yaml_node_t *v = get_key(y, args, "values");
        if (!v || v->type != YAML_SEQUENCE_NODE)
            return yfail(y, t, "accepted_values needs values: [...]%s", NULL);
        cp_buf b;
        cp_buf_init(&b);
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
             i++) {
            const char *s = scalar(node(y, *i));
            if (!s) {
                cp_buf_free(&b);
                return yfail(y, t, "accepted_values: values must be scalars%s", NULL);
            }
            if (b.len) cp_buf_append_str(&b, ", ");
            cp_buf_append_sql_str(&b, s);
        }
        cp_buf_append_char(&b, 0);
        d->values = b.ptr ? b.ptr : cp_strdup("");
    } else if (strcmp(kind, "relationships") == 0) {
        d->kind = T_RELATIONSHIP;
        const char *to = scalar(get_key(y, args, "to")), *field = scalar(get_key(y, args, "field"));
        if (!to || !field)
            return yfail(y, t, "relationships needs to: ref('model') and field:%s", NULL);
        d->to = ref_target(to);
        d->field = cp_strdup(field);
        if (!d->to || !d->field) return CP_ENOMEM;
    } else {
        return yfail(y, t,
                     "unsupported test '%s' (supported: unique, not_null, accepted_values, "
                     "relationships; custom tests go in tests/*.sql)",
                     kind);
    }
    return CP_OK;
}

static int schema_file(cp_models *m, const char *path, const char *text, size_t len, char *err,
                       size_t errlen)
{
    yaml_parser_t p;
    ydoc y = {.path = path, .err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&p)) return CP_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = CP_OK;
    if (!yaml_parser_load(&p, &y.doc)) {
        snprintf(err, errlen, "%s:%lu: %s", path, (unsigned long)p.problem_mark.line + 1,
                 p.problem ? p.problem : "not YAML");
        yaml_parser_delete(&p);
        return CP_EPARSE;
    }
    yaml_node_t *root = yaml_document_get_root_node(&y.doc);
    yaml_node_t *models = get_key(&y, root, "models");
    if (models && models->type != YAML_SEQUENCE_NODE)
        rc = yfail(&y, models, "models: expected a list%s", NULL);
    for (yaml_node_item_t *i = models && !rc ? models->data.sequence.items.start : NULL;
         i && i < models->data.sequence.items.top && rc == CP_OK; i++) {
        yaml_node_t *md = node(&y, *i);
        const char *name = scalar(get_key(&y, md, "name"));
        if (!name) {
            rc = yfail(&y, md, "a model entry needs a name%s", NULL);
            break;
        }
        rc = add_doc(m, name, NULL, scalar(get_key(&y, md, "description")));
        yaml_node_t *cols = get_key(&y, md, "columns");
        for (yaml_node_item_t *c =
                 cols && cols->type == YAML_SEQUENCE_NODE ? cols->data.sequence.items.start : NULL;
             c && c < cols->data.sequence.items.top && rc == CP_OK; c++) {
            yaml_node_t *col = node(&y, *c);
            const char *cname = scalar(get_key(&y, col, "name"));
            yaml_node_t *tests = get_key(&y, col, "tests");
            if (!tests) tests = get_key(&y, col, "data_tests");
            if (!cname) {
                rc = yfail(&y, col, "a column entry needs a name%s", NULL);
                break;
            }
            rc = add_doc(m, name, cname, scalar(get_key(&y, col, "description")));
            for (yaml_node_item_t *t = tests && tests->type == YAML_SEQUENCE_NODE
                                           ? tests->data.sequence.items.start
                                           : NULL;
                 t && t < tests->data.sequence.items.top && rc == CP_OK; t++)
                rc = column_test(m, &y, name, cname, node(&y, *t));
        }
    }
    yaml_document_delete(&y.doc);
    yaml_parser_delete(&p);
    return rc;
}

static int custom_test(cp_models *m, const char *path, const char *text, size_t len)
{
    size_t n;
    const char *b = base_name(path, &n);
    data_test *t = new_test(m);
    if (!t) return CP_ENOMEM;
    t->kind = T_CUSTOM;
    t->model = cp_strndup(b, n);
    t->path = cp_strdup(path);
    t->text = cp_strndup(text, len);
    t->len = len;
    return t->model && t->path && t->text ? CP_OK : CP_ENOMEM;
}

/* ---- adding files ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int add_file(cp_models *m, const char *path, const char *text, size_t len, bool is_test,
                    char *err, size_t errlen)
{
    if (ends_with(path, ".yml") || ends_with(path, ".yaml"))
        return schema_file(m, path, text, len, err, errlen);
    if (!ends_with(path, ".sql")) return CP_OK;
    return is_test ? custom_test(m, path, text, len) : add_model(m, path, text, len, err, errlen);
}

int cp_models_add_files(cp_models *m, const cp_model_file *f, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        int rc = add_file(m, f[i].path, f[i].text, f[i].len, strncmp(f[i].path, "tests/", 6) == 0,
                          err, errlen);
        if (rc) return rc;
    }
    return CP_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cp_models_add_builtin(cp_models *m, char *err, size_t errlen)
{
    return cp_models_add_files(m, cp_builtin_models, cp_builtin_models_count, err, errlen);
}

static int walk(cp_models *m, const char *dir, bool is_test, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) return CP_OK;
    struct dirent *e;
    int rc = CP_OK;
    /* names sorted: the same tree always loads the same way */
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char **nn = cp_reallocarray(names, n + 1, sizeof(*nn));
        if (!nn || !(nn[n] = cp_strdup(e->d_name))) {
            cp_free(nn ? nn : names);
            closedir(d);
            return CP_ENOMEM;
        }
        names = nn;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n && rc == CP_OK; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            rc = walk(m, path, is_test, err, errlen);
            continue;
        }
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        cp_buf b;
        cp_buf_init(&b);
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) cp_buf_append(&b, chunk, got);
        fclose(f);
        rc = add_file(m, path, b.ptr ? b.ptr : "", b.len, is_test, err, errlen);
        cp_buf_free(&b);
    }
    for (size_t i = 0; i < n; i++) cp_free(names[i]);
    cp_free(names);
    return rc;
}

int cp_models_add_dir(cp_models *m, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "models directory %s: not found", dir);
        return CP_ENOENT;
    }
    int rc = walk(m, dir, false, err, errlen);
    char tests[4096];
    snprintf(tests, sizeof(tests), "%s/../tests", dir);
    return rc ? rc : walk(m, tests, true, err, errlen);
}

/* ---- the graph ---- */

static int find(const cp_models *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->m[i].name, name) == 0) return (int)i;
    return -1;
}

static int visit(cp_models *m, int i, int *stack, int depth, size_t *out, char *err, size_t errlen)
{
    model *x = &m->m[i];
    if (x->state == 2) return CP_OK;
    stack[depth] = i;
    if (x->state == 1) { /* back on the path: the cycle is from its first visit to here */
        int from = depth - 1;
        while (from >= 0 && stack[from] != i) from--;
        size_t n = 0;
        n += (size_t)snprintf(err + n, errlen - n, "models form a cycle: ");
        for (int k = from; k <= depth && n < errlen; k++)
            n += (size_t)snprintf(err + n, errlen - n, "%s%s", k > from ? " -> " : "",
                                  m->m[stack[k]].name);
        return CP_EINVAL;
    }
    x->state = 1;
    for (size_t d = 0; d < x->n_deps; d++) {
        int rc = visit(m, x->dep_index[d], stack, depth + 1, out, err, errlen);
        if (rc) return rc;
    }
    x->state = 2;
    m->order[(*out)++] = i;
    return CP_OK;
}

int cp_models_resolve(cp_models *m, char *err, size_t errlen)
{
    for (size_t i = 0; i < m->n; i++) {
        model *x = &m->m[i];
        cp_free(x->dep_index);
        if (!(x->dep_index = cp_calloc(x->n_deps + 1, sizeof(int)))) return CP_ENOMEM;
        for (size_t d = 0; d < x->n_deps; d++) {
            int j = find(m, x->deps[d]);
            if (j < 0) {
                snprintf(err, errlen, "%s:%d: ref('%s'): no such model", x->path, x->dep_lines[d],
                         x->deps[d]);
                return CP_ENOENT;
            }
            x->dep_index[d] = j;
        }
        x->state = 0;
    }
    cp_free(m->order);
    int *stack = cp_calloc(m->n + 1, sizeof(int));
    if (!(m->order = cp_calloc(m->n + 1, sizeof(int))) || !stack) {
        cp_free(stack);
        return CP_ENOMEM;
    }
    size_t out = 0;
    int rc = CP_OK;
    for (size_t i = 0; i < m->n && rc == CP_OK; i++)
        rc = visit(m, (int)i, stack, 0, &out, err, errlen);
    cp_free(stack);
    m->resolved = rc == CP_OK;
    return rc;
}

size_t cp_models_count(const cp_models *m)
{
    return m->n;
}

void cp_models_get(const cp_models *m, size_t i, cp_model_info *out)
{
    const model *x = &m->m[m->resolved ? (size_t)m->order[i] : i];
    *out = (cp_model_info){x->name,  x->path, x->mat, x->unique_key, (const char *const *)x->deps,
                           x->n_deps};
}

/* ---- selection: "name", "name+", "+name" ---- */

static void mark_down(cp_models *m, int i, bool *sel)
{
    if (sel[i]) return;
    sel[i] = true;
    for (size_t j = 0; j < m->n; j++)
        for (size_t d = 0; d < m->m[j].n_deps; d++)
            if (m->m[j].dep_index[d] == i) mark_down(m, (int)j, sel);
}

static void mark_up(cp_models *m, int i, bool *sel)
{
    if (sel[i]) return;
    sel[i] = true;
    for (size_t d = 0; d < m->m[i].n_deps; d++) mark_up(m, m->m[i].dep_index[d], sel);
}

static int select_models(cp_models *m, const char *select, bool *sel)
{
    if (!select || !*select) {
        for (size_t i = 0; i < m->n; i++) sel[i] = true;
        return CP_OK;
    }
    bool up = select[0] == '+';
    size_t n = strlen(select + up);
    bool down = n && select[up + n - 1] == '+';
    char name[512];
    snprintf(name, sizeof(name), "%.*s", (int)(n - down), select + up);
    int i = find(m, name);
    if (i < 0) return CP_ENOENT;
    if (up) mark_up(m, i, sel);
    sel[i] = false;
    if (down) mark_down(m, i, sel);
    sel[i] = true;
    return CP_OK;
}

/* ---- building ---- */

static int exec_sql(cp_store *s, const char *sql, char *err, size_t errlen)
{
    return cp_store_exec(s, sql, err, errlen);
}

/* "VIEW", "BASE TABLE" or NULL */
static const char *relation_type(cp_store *s, const char *name)
{
    char sql[600];
    int64_t v;
    bool null;
    snprintf(sql, sizeof(sql),
             "SELECT CASE table_type WHEN 'VIEW' THEN 1 ELSE 2 END FROM information_schema.tables "
             "WHERE table_schema = 'gold' AND table_name = '%s'",
             name);
    if (cp_store_scalar(s, sql, &v, &null) || null) return NULL;
    return v == 1 ? "VIEW" : "TABLE";
}

/* The model's text and the settings its figures depend on (the reporting currency and the
 * rates) as last built into gold (model_versions): an incremental model whose text or
 * settings changed is built in full once — its columns or meaning may have changed. */
static uint64_t text_hash(cp_store *s, const model *x)
{
    int64_t settings = 0;
    bool null;
    if (cp_store_scalar(s,
                        "SELECT (hash(coalesce((SELECT string_agg(code, ',') FROM "
                        "currency_reporting), '') || '|' || coalesce((SELECT string_agg(day || "
                        "currency || rate, ',' ORDER BY day, currency, rate) FROM "
                        "currency_rates), '')) >> 1)::BIGINT",
                        &settings, &null) != CP_OK)
        settings = 0;
    return XXH3_64bits_withSeed(x->text, x->len, (uint64_t)settings) >> 1; /* fits a BIGINT */
}

static bool same_text(cp_store *s, const model *x)
{
    char sql[400];
    int64_t v = -1;
    bool null = true;
    snprintf(sql, sizeof(sql), "SELECT max(hash) FROM model_versions WHERE name = '%s'", x->name);
    return cp_store_scalar(s, sql, &v, &null) == CP_OK && !null && (uint64_t)v == text_hash(s, x);
}

static int note_text(cp_store *s, const model *x, char *err, size_t errlen)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO model_versions VALUES ('%s', %llu, now())",
             x->name, (unsigned long long)text_hash(s, x));
    return exec_sql(s, sql, err, errlen);
}

static int build(cp_models *m, cp_store *s, model *x, bool full, cp_model_result *r, char *err,
                 size_t errlen)
{
    const char *have = relation_type(s, x->name);
    bool incremental = x->mat == CP_MAT_INCREMENTAL && !full && have &&
                       strcmp(have, "TABLE") == 0 && same_text(s, x);
    cp_buf sql, q;
    cp_buf_init(&sql);
    cp_buf_init(&q);
    tpl_ctx c = {.path = x->path,
                 .model = x->name,
                 .text = x->text,
                 .len = x->len,
                 .incremental = incremental};
    int rc = tpl_render(&c, &sql, err, errlen);
    (void)m;
    const char *want = x->mat == CP_MAT_VIEW ? "VIEW" : "TABLE";
    if (rc == CP_OK && have && strcmp(have, want) != 0) { /* its kind changed */
        cp_buf_appendf(&q, "DROP %s gold.\"%s\"", have, x->name);
        rc = exec_sql(s, q.ptr, err, errlen);
        cp_buf_reset(&q);
    }
    if (rc == CP_OK && !incremental) {
        r->what = x->mat == CP_MAT_VIEW    ? "view"
                  : x->mat == CP_MAT_TABLE ? "table"
                                           : "full-refresh";
        cp_buf_appendf(&q, "CREATE OR REPLACE %s gold.\"%s\" AS\n%.*s", want, x->name, (int)sql.len,
                       sql.ptr ? sql.ptr : "");
        rc = exec_sql(s, q.ptr, err, errlen);
    } else if (rc == CP_OK) {
        r->what = "incremental";
        cp_buf_appendf(&q, "BEGIN TRANSACTION; CREATE OR REPLACE TEMP TABLE __cp_new AS\n%.*s;\n",
                       (int)sql.len, sql.ptr ? sql.ptr : "");
        if (x->unique_key[0])
            cp_buf_appendf(&q, "DELETE FROM gold.\"%s\" WHERE (%s) IN (SELECT %s FROM __cp_new);\n",
                           x->name, x->unique_key, x->unique_key);
        cp_buf_appendf(
            &q,
            "INSERT INTO gold.\"%s\" BY NAME SELECT * FROM __cp_new; DROP TABLE __cp_new; COMMIT;",
            x->name);
        rc = exec_sql(s, q.ptr, err, errlen);
        if (rc) cp_store_exec(s, "ROLLBACK", NULL, 0);
    }
    if (rc == CP_OK) rc = note_text(s, x, err, errlen);
    if (rc == CP_OK) {
        char cnt[600];
        bool null;
        snprintf(cnt, sizeof(cnt), "SELECT count(*) FROM gold.\"%s\"", x->name);
        rc = cp_store_scalar(s, cnt, &r->rows, &null);
        if (rc) snprintf(err, errlen, "%s", cp_store_error(s));
    }
    cp_buf_free(&sql);
    cp_buf_free(&q);
    return rc;
}

int cp_models_run(cp_models *m, cp_store *s, const char *select, bool full_refresh,
                  cp_model_report report, void *ud)
{
    char err[2048];
    if (!m->resolved && cp_models_resolve(m, err, sizeof(err))) {
        cp_model_result r = {.name = "(models)", .what = "resolve", .error = err};
        if (report) report(ud, &r);
        return CP_EINVAL;
    }
    bool *sel = cp_calloc(m->n + 1, sizeof(bool)), *failed = cp_calloc(m->n + 1, sizeof(bool));
    int rc = sel && failed ? CP_OK : CP_ENOMEM;
    if (rc == CP_OK && select_models(m, select, sel)) {
        snprintf(err, sizeof(err), "--select %s: no such model", select);
        cp_model_result r = {.name = select, .what = "select", .error = err};
        if (report) report(ud, &r);
        rc = CP_ENOENT;
    }
    if (rc == CP_OK) rc = cp_store_exec(s, "CREATE SCHEMA IF NOT EXISTS gold", err, sizeof(err));
    for (size_t k = 0; k < m->n && rc != CP_ENOMEM && rc != CP_ENOENT; k++) {
        int i = m->order[k];
        model *x = &m->m[i];
        bool upstream_failed = false;
        for (size_t d = 0; d < x->n_deps; d++) upstream_failed |= failed[x->dep_index[d]];
        if (!sel[i]) continue;
        cp_model_result r = {.name = x->name};
        int64_t t0 = cp_mono_ns();
        err[0] = 0;
        int b = upstream_failed ? CP_ESTATE : build(m, s, x, full_refresh, &r, err, sizeof(err));
        if (upstream_failed) {
            r.what = "skipped";
            snprintf(err, sizeof(err), "a model it depends on failed");
        }
        r.ok = b == CP_OK;
        r.error = r.ok ? NULL : err;
        r.seconds = (double)(cp_mono_ns() - t0) / 1e9;
        failed[i] = !r.ok;
        if (!r.ok) rc = CP_EDB;
        if (report) report(ud, &r);
    }
    cp_free(sel);
    cp_free(failed);
    return rc;
}

/* ---- data tests ---- */

static int test_sql(cp_models *m, const data_test *t, cp_buf *q, char *err, size_t errlen)
{
    switch (t->kind) {
    case T_UNIQUE:
        return cp_buf_appendf(q,
                              "SELECT \"%s\" FROM gold.\"%s\" WHERE \"%s\" IS NOT NULL GROUP BY 1 "
                              "HAVING count(*) > 1",
                              t->column, t->model, t->column);
    case T_NOT_NULL:
        return cp_buf_appendf(q, "SELECT 1 FROM gold.\"%s\" WHERE \"%s\" IS NULL", t->model,
                              t->column);
    case T_ACCEPTED:
        return cp_buf_appendf(q,
                              "SELECT \"%s\" FROM gold.\"%s\" WHERE \"%s\" IS NOT NULL AND "
                              "CAST(\"%s\" AS VARCHAR) NOT IN (%s)",
                              t->column, t->model, t->column, t->column, t->values);
    case T_RELATIONSHIP:
        return cp_buf_appendf(q,
                              "SELECT \"%s\" FROM gold.\"%s\" WHERE \"%s\" IS NOT NULL AND \"%s\" "
                              "NOT IN (SELECT \"%s\" FROM gold.\"%s\" WHERE \"%s\" IS NOT NULL)",
                              t->column, t->model, t->column, t->column, t->field, t->to, t->field);
    case T_CUSTOM: {
        tpl_ctx c = {.path = t->path, .model = t->model, .text = t->text, .len = t->len};
        (void)m;
        return tpl_render(&c, q, err, errlen);
    }
    }
    return CP_EINVAL;
}

int cp_models_test(cp_models *m, cp_store *s, const char *select, cp_model_report report, void *ud)
{
    char err[2048];
    if (!m->resolved && cp_models_resolve(m, err, sizeof(err))) {
        cp_model_result r = {.name = "(models)", .what = "resolve", .error = err};
        if (report) report(ud, &r);
        return CP_EINVAL;
    }
    bool *sel = cp_calloc(m->n + 1, sizeof(bool));
    if (!sel) return CP_ENOMEM;
    if (select_models(m, select, sel)) {
        cp_free(sel);
        return CP_ENOENT;
    }
    int rc = CP_OK;
    for (size_t k = 0; k < m->n_tests; k++) {
        data_test *t = &m->t[k];
        int i = t->kind == T_CUSTOM ? -1 : find(m, t->model);
        if (t->kind != T_CUSTOM && (i < 0 || !sel[i])) {
            if (i < 0 && (!select || !*select)) { /* a test of a model that does not exist */
                snprintf(err, sizeof(err), "%s:%d: no model '%s'", t->path, t->line, t->model);
                cp_model_result r = {.name = t->model, .what = test_names[t->kind], .error = err};
                if (report) report(ud, &r);
                rc = CP_EDB;
            }
            continue;
        }
        if (t->kind == T_CUSTOM && select && *select) continue;
        char name[600];
        if (t->kind == T_CUSTOM)
            snprintf(name, sizeof(name), "%s", t->model);
        else
            snprintf(name, sizeof(name), "%s_%s_%s", test_names[t->kind], t->model, t->column);
        cp_buf q;
        cp_buf_init(&q);
        cp_buf_append_str(&q, "SELECT count(*) FROM (\n");
        err[0] = 0;
        int e = test_sql(m, t, &q, err, sizeof(err));
        cp_buf_append_str(&q, "\n)");
        int64_t fails = 0;
        bool null;
        int64_t t0 = cp_mono_ns();
        if (e == CP_OK && (e = cp_store_scalar(s, q.ptr, &fails, &null)))
            snprintf(err, sizeof(err), "%s", cp_store_error(s));
        cp_model_result r = {.name = name,
                             .what = test_names[t->kind],
                             .rows = fails,
                             .seconds = (double)(cp_mono_ns() - t0) / 1e9};
        r.ok = e == CP_OK && fails == 0;
        if (e == CP_OK && fails)
            snprintf(err, sizeof(err), "%lld row%s fail%s", (long long)fails, fails == 1 ? "" : "s",
                     fails == 1 ? "s" : "");
        r.error = r.ok ? NULL : err;
        if (!r.ok) rc = CP_EDB;
        if (report) report(ud, &r);
        cp_buf_free(&q);
    }
    cp_free(sel);
    return rc;
}

/* ---- documentation ---- */

static const char *doc_of(const cp_models *m, const char *model_name, const char *column)
{
    for (size_t i = m->n_docs; i-- > 0;) {
        const doc *d = &m->docs[i];
        if (strcmp(d->model, model_name) == 0 &&
            (column ? d->column && strcmp(d->column, column) == 0 : !d->column))
            return d->text;
    }
    return NULL;
}

typedef struct doc_walk {
    const cp_models *m;
    const char *model;
    cp_model_doc_fn fn;
    void *ud;
    int64_t undocumented;
} doc_walk;

static int doc_column(void *ud, const cp_slice *cols, size_t n)
{
    doc_walk *w = ud;
    char column[256], type[64];
    snprintf(column, sizeof(column), "%.*s", (int)cols[0].len, cols[0].ptr ? cols[0].ptr : "");
    snprintf(type, sizeof(type), "%.*s", n > 1 ? (int)cols[1].len : 0,
             n > 1 && cols[1].ptr ? cols[1].ptr : "");
    const char *text = doc_of(w->m, w->model, column);
    if (!text) w->undocumented++;
    w->fn(w->ud, w->model, column, type, text);
    return CP_OK;
}

int cp_models_docs(const cp_models *m, cp_store *s, cp_model_doc_fn fn, void *ud,
                   int64_t *undocumented, char *err, size_t errlen)
{
    doc_walk w = {m, NULL, fn, ud, 0};
    int rc = CP_OK;
    for (size_t i = 0; i < m->n && rc == CP_OK; i++) {
        const model *x = &m->m[m->resolved ? (size_t)m->order[i] : i];
        w.model = x->name;
        fn(ud, x->name, NULL, x->path, doc_of(m, x->name, NULL));
        cp_buf sql;
        cp_buf_init(&sql);
        rc = cp_buf_append_str(&sql, "SELECT column_name, data_type FROM information_schema.columns"
                                     " WHERE table_schema = 'gold' AND table_name = ");
        if (!rc) rc = cp_buf_append_sql_str(&sql, x->name);
        if (!rc) rc = cp_buf_append_str(&sql, " ORDER BY ordinal_position");
        if (!rc) rc = cp_buf_append_char(&sql, 0);
        if (!rc) rc = cp_store_read_rows(s, sql.ptr, doc_column, &w, err, errlen);
        cp_buf_free(&sql);
    }
    if (undocumented) *undocumented = w.undocumented;
    return rc;
}
