/* Reads a YAML configuration file with libyaml's document API. Nested
 * mappings become dotted keys (collector: {listen: …} → collector.listen);
 * a sequence fills a list key; a mapping under a map key fills key=value
 * pairs. Every error names the file and line. */
#include "clickpulse/config.h"

#include "clickpulse/error.h"
#include "clickpulse/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

typedef struct yaml_ctx {
    cp_config *c;
    yaml_document_t *doc;
    const char *path;
    char *err;
    size_t errlen;
} yaml_ctx;

static int walk(yaml_ctx *y, yaml_node_t *node, const char *prefix);

static int fail_at(yaml_ctx *y, yaml_node_t *n, const char *what)
{
    snprintf(y->err, y->errlen, "%s:%lu: %s", y->path, (unsigned long)n->start_mark.line + 1, what);
    return CP_EINVAL;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int set_value(yaml_ctx *y, yaml_node_t *n, const char *key, const char *value)
{
    char where[600], msg[512];
    snprintf(where, sizeof(where), "%s:%lu", y->path, (unsigned long)n->start_mark.line + 1);
    int rc = cp_config_set(y->c, key, value, CP_ORIGIN_FILE, where, msg, sizeof(msg));
    if (rc) snprintf(y->err, y->errlen, "%s: %s", where, msg);
    return rc;
}

/* A sequence of scalars, or a mapping of scalars ("k=v"), joined with commas. */
static int join_collection(yaml_ctx *y, yaml_node_t *n, cp_buf *out)
{
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            const char *s = scalar(yaml_document_get_node(y->doc, *it));
            if (!s) return fail_at(y, n, "list items must be plain values");
            if (strchr(s, ',')) return fail_at(y, n, "list items cannot contain ','");
            if ((out->len && cp_buf_append_char(out, ',')) || cp_buf_append_str(out, s))
                return CP_ENOMEM;
        }
        return CP_OK;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(y->doc, p->key));
        const char *v = scalar(yaml_document_get_node(y->doc, p->value));
        if (!k || !v) return fail_at(y, n, "map entries must be plain key: value pairs");
        if (out->len && cp_buf_append_char(out, ',')) return CP_ENOMEM;
        if (cp_buf_appendf(out, "%s=%s", k, v)) return CP_ENOMEM;
    }
    return CP_OK;
}

static int walk_collection_value(yaml_ctx *y, yaml_node_t *n, const char *key)
{
    const cp_conf_entry *e = cp_config_find(key);
    int is_list = e && (e->type == CP_CONF_LIST || e->type == CP_CONF_MAP);
    if (n->type == YAML_MAPPING_NODE && !(e && e->type == CP_CONF_MAP)) return walk(y, n, key);
    if (!is_list) {
        if (!e) return set_value(y, n, key, ""); /* reports the unknown key */
        return fail_at(y, n, "this key takes a single value, not a list");
    }
    cp_buf b;
    cp_buf_init(&b);
    int rc = join_collection(y, n, &b);
    if (rc == CP_OK) rc = set_value(y, n, key, b.ptr ? b.ptr : "");
    cp_buf_free(&b);
    return rc;
}

static int walk(yaml_ctx *y, yaml_node_t *node, const char *prefix)
{
    if (node->type != YAML_MAPPING_NODE) return fail_at(y, node, "expected a mapping of keys");
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
        const char *k = scalar(kn);
        if (!k) return fail_at(y, kn, "keys must be plain text");
        char key[256];
        if (snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k) >= (int)sizeof(key))
            return fail_at(y, kn, "key too long");
        int rc = vn->type == YAML_SCALAR_NODE ? set_value(y, vn, key, scalar(vn))
                                              : walk_collection_value(y, vn, key);
        if (rc) return rc;
    }
    return CP_OK;
}

/* Loads the document the parser reads (its input set); path names it in messages. */
static int load(cp_config *c, yaml_parser_t *parser, const char *path, char *err, size_t errlen)
{
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: %s", path, (unsigned long)parser->problem_mark.line + 1,
                 parser->problem ? parser->problem : "YAML syntax error");
        return CP_EPARSE;
    }
    int rc = CP_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
        yaml_ctx y = {.c = c, .doc = &doc, .path = path, .err = err, .errlen = errlen};
        rc = walk(&y, root, "");
    }
    yaml_document_delete(&doc);
    return rc;
}

int cp_config_load_yaml(cp_config *c, const char *text, size_t len, const char *name, char *err,
                        size_t errlen)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory reading %s", name);
        return CP_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = load(c, &parser, name, err, errlen);
    yaml_parser_delete(&parser);
    return rc;
}

int cp_config_load_file(cp_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open configuration file %s: %s", path, strerror(errno));
        return CP_ENOENT;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(err, errlen, "out of memory reading %s", path);
        return CP_ENOMEM;
    }
    yaml_parser_set_input_file(&parser, f);
    int rc = load(c, &parser, path, err, errlen);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
