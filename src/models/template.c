/* The template subset of model SQL (see include/clickpulse/models.h): a single
 * pass over the text that copies SQL and replaces {{ … }}, {% … %} and {# … #}. */
#include "internal.h"

#include "clickpulse/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int line_of(const char *text, const char *at)
{
    int n = 1;
    for (const char *p = text; p < at; p++) n += *p == '\n';
    return n;
}

static int failf(const tpl_ctx *c, const char *at, char *err, size_t errlen, const char *what,
                 const char *detail)
{
    snprintf(err, errlen, "%s:%d: %s%s", c->path, line_of(c->text, at), what, detail);
    return CP_EINVAL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p)) p++;
    return p;
}

/* A quoted string argument: 'x' or "x"; returns the position after it, or NULL. */
static const char *quoted(const char *p, const char *end, cp_slice *out)
{
    p = skip_ws(p, end);
    if (p >= end || (*p != '\'' && *p != '"')) return NULL;
    char q = *p++;
    const char *s = p;
    while (p < end && *p != q) p++;
    if (p >= end) return NULL;
    *out = (cp_slice){s, (size_t)(p - s)};
    return p + 1;
}

static const char *expect(const char *p, const char *end, char ch)
{
    p = skip_ws(p, end);
    return p < end && *p == ch ? p + 1 : NULL;
}

static bool word(const char *p, const char *end, const char *w, const char **after)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n || memcmp(p, w, n) != 0) return false;
    if (p + n < end && (isalnum((unsigned char)p[n]) || p[n] == '_')) return false;
    *after = p + n;
    return true;
}

/* config(key='value', …) */
static int config(const tpl_ctx *c, const char *at, const char *p, const char *end, char *err,
                  size_t errlen)
{
    if (!(p = expect(p, end, '('))) return failf(c, at, err, errlen, "config: expected '('", "");
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == ')')
            return skip_ws(p + 1, end) == end
                       ? CP_OK
                       : failf(c, at, err, errlen, "config: unexpected text after ')'", "");
        const char *k = p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '_')) p++;
        cp_slice key = {k, (size_t)(p - k)}, value;
        if (!key.len || !(p = expect(p, end, '=')) || !(p = quoted(p, end, &value)))
            return failf(c, at, err, errlen, "config: expected key='value'", "");
        if (c->on_config) {
            int rc = c->on_config(c->ud, key, value);
            if (rc == CP_EINVAL) {
                char what[160];
                snprintf(what, sizeof(what), "config: unsupported %.*s='%.*s'", (int)key.len,
                         key.ptr, (int)(value.len > 60 ? 60 : value.len), value.ptr);
                return failf(c, at, err, errlen, what,
                             " (supported: materialized=view|table|"
                             "incremental, unique_key)");
            }
            if (rc) return rc;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') p++;
    }
}

/* The inside of {{ … }}. */
static int expression(const tpl_ctx *c, const char *at, const char *p, const char *end, cp_buf *out,
                      char *err, size_t errlen)
{
    const char *q;
    cp_slice a, b;
    p = skip_ws(p, end);
    while (end > p && isspace((unsigned char)end[-1])) end--;
    if (word(p, end, "ref", &q)) {
        if (!(q = expect(q, end, '(')) || !(q = quoted(q, end, &a)) || !(q = expect(q, end, ')')) ||
            skip_ws(q, end) != end || !a.len)
            return failf(c, at, err, errlen, "ref: expected ref('model')", "");
        if (c->on_ref) {
            int rc = c->on_ref(c->ud, a, line_of(c->text, at));
            if (rc) return rc;
        }
        return cp_buf_appendf(out, "gold.\"%.*s\"", (int)a.len, a.ptr) ? CP_ENOMEM : CP_OK;
    }
    if (word(p, end, "source", &q)) {
        if (!(q = expect(q, end, '(')) || !(q = quoted(q, end, &a)) || !(q = expect(q, end, ',')) ||
            !(q = quoted(q, end, &b)) || !(q = expect(q, end, ')')) || skip_ws(q, end) != end)
            return failf(c, at, err, errlen, "source: expected source('silver', 'table')", "");
        if (!cp_slice_eq_lit(a, "silver"))
            return failf(c, at, err, errlen, "source: the only source is 'silver'", "");
        return cp_buf_appendf(out, "main.\"%.*s\"", (int)b.len, b.ptr) ? CP_ENOMEM : CP_OK;
    }
    if (word(p, end, "config", &q)) return config(c, at, q, end, err, errlen);
    if (word(p, end, "this", &q) && skip_ws(q, end) == end)
        return cp_buf_appendf(out, "gold.\"%s\"", c->model) ? CP_ENOMEM : CP_OK;
    char what[120];
    snprintf(what, sizeof(what), "unsupported expression '{{ %.*s }}'",
             (int)(end - p > 60 ? 60 : end - p), p);
    return failf(c, at, err, errlen, what, " (supported: ref, source, config, this)");
}

/* The open {% if %} blocks: whether each emits, and where it opened. */
enum { MAX_NEST = 8 };
typedef struct blocks {
    bool emit[MAX_NEST + 1];
    const char *opened[MAX_NEST + 1];
    int depth;
} blocks;

/* One {% … %} statement, in[in, in_end) of the tag at o: if is_incremental(), else, endif. */
static int statement(const tpl_ctx *c, blocks *b, const char *o, const char *in, const char *in_end,
                     char *err, size_t errlen)
{
    const char *q, *s = skip_ws(in, in_end), *t = in_end;
    while (t > s && isspace((unsigned char)t[-1])) t--;
    if (word(s, t, "if", &q)) {
        const char *r;
        q = skip_ws(q, t);
        if (!word(q, t, "is_incremental", &r) || !(r = expect(r, t, '(')) ||
            !(r = expect(r, t, ')')) || skip_ws(r, t) != t)
            return failf(c, o, err, errlen, "only {% if is_incremental() %} is supported", "");
        if (b->depth == MAX_NEST) return failf(c, o, err, errlen, "if blocks nested too deep", "");
        b->depth++;
        b->emit[b->depth] = b->emit[b->depth - 1] && c->incremental;
        b->opened[b->depth] = o;
        return CP_OK;
    }
    if (word(s, t, "else", &q) && q == t) {
        if (!b->depth) return failf(c, o, err, errlen, "{% else %} without {% if %}", "");
        b->emit[b->depth] = b->emit[b->depth - 1] && !c->incremental;
        return CP_OK;
    }
    if (word(s, t, "endif", &q) && q == t) {
        if (!b->depth) return failf(c, o, err, errlen, "{% endif %} without {% if %}", "");
        b->depth--;
        return CP_OK;
    }
    char what[120];
    snprintf(what, sizeof(what), "unsupported statement '{%% %.*s %%}'",
             (int)(t - s > 60 ? 60 : t - s), s);
    return failf(c, o, err, errlen, what, "");
}

int tpl_render(const tpl_ctx *c, cp_buf *out, char *err, size_t errlen)
{
    const char *p = c->text, *end = c->text + c->len;
    blocks bl = {.emit = {true}};
    cp_buf junk; /* what an expression of a branch not taken renders to */
    cp_buf_init(&junk);
    int rc = CP_OK;
    while (p < end) {
        const char *o = p;
        while (o + 1 < end && !(o[0] == '{' && (o[1] == '{' || o[1] == '%' || o[1] == '#'))) o++;
        if (o + 1 >= end) o = end;
        if (bl.emit[bl.depth] && cp_buf_append(out, p, (size_t)(o - p))) {
            rc = CP_ENOMEM;
            goto done;
        }
        if (o == end) break;
        char kind = o[1];
        const char *close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
        const char *e = o + 2;
        while (e + 1 < end && !(e[0] == close[0] && e[1] == close[1])) e++;
        if (e + 1 >= end) {
            rc = failf(c, o, err, errlen, "unclosed '{", (const char[]){kind, '\'', 0});
            goto done;
        }
        const char *in = o + 2, *in_end = e;
        if (kind == '%' && in < in_end && *in == '-') in++; /* whitespace control: ignored */
        if (kind == '%' && in_end > in && in_end[-1] == '-') in_end--;
        if (kind == '{') {
            /* checked (and its ref recorded) in a branch not taken too */
            cp_buf_reset(&junk);
            if ((rc = expression(c, o, in, in_end, bl.emit[bl.depth] ? out : &junk, err, errlen)))
                goto done;
        } else if (kind == '%' && (rc = statement(c, &bl, o, in, in_end, err, errlen))) {
            goto done;
        }
        p = e + 2;
    }
    if (bl.depth)
        rc = failf(c, bl.opened[bl.depth], err, errlen, "{% if %} without {% endif %}", "");
done:
    cp_buf_free(&junk);
    return rc;
}
