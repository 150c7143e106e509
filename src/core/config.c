/* Configuration values: parsing text into typed fields, origins, the
 * environment, --set, and printing. The YAML file reader is config_yaml.c. */
#include "clickpulse/config.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const origin_names[] = {"default", "file", "env", "--set"};

const cp_conf_entry *cp_config_find(const char *key)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].key, key) == 0) return &t[i];
    return NULL;
}

const char *cp_config_suggest(const char *key)
{
    size_t n, best = (size_t)-1;
    const cp_conf_entry *t = cp_config_table(&n);
    const char *pick = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = cp_levenshtein(key, t[i].key);
        if (d < best) {
            best = d;
            pick = t[i].key;
        }
    }
    size_t limit = strlen(key) / 3 + 2;
    return best <= limit ? pick : NULL;
}

static void strlist_free(cp_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) cp_free(l->items[i]);
    cp_free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int strlist_push(cp_strlist *l, const char *s, size_t len)
{
    char **items = cp_reallocarray(l->items, l->n + 1, sizeof(char *));
    if (!items) return CP_ENOMEM;
    l->items = items;
    if (!(l->items[l->n] = cp_strndup(s, len))) return CP_ENOMEM;
    l->n++;
    return CP_OK;
}

static const char *trim(const char *s, size_t *len)
{
    while (*len && isspace((unsigned char)*s)) s++, (*len)--;
    while (*len && isspace((unsigned char)s[*len - 1])) (*len)--;
    return s;
}

/* Splits comma-separated text into the list, trimming blanks; "" gives an empty list. */
static int parse_list(const char *v, cp_strlist *out)
{
    cp_strlist l = {0};
    while (*v) {
        const char *comma = strchr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);
        const char *s = trim(v, &len);
        if (len && strlist_push(&l, s, len)) {
            strlist_free(&l);
            return CP_ENOMEM;
        }
        v += comma ? (size_t)(comma - v) + 1 : strlen(v);
    }
    *out = l;
    return CP_OK;
}

static int parse_scaled(const char *v, int64_t *out, const char *const *units, const int64_t *mult)
{
    errno = 0;
    char *end;
    double x = strtod(v, &end);
    if (end == v || errno || !isfinite(x) || x < 0) return CP_EINVAL;
    while (*end == ' ') end++;
    if (*end == '\0') {
        *out = (int64_t)llround(x * (double)mult[0]);
        return CP_OK;
    }
    for (size_t i = 0; units[i]; i++) {
        if (strcasecmp(end, units[i]) == 0) {
            *out = (int64_t)llround(x * (double)mult[i]);
            return CP_OK;
        }
    }
    return CP_EINVAL;
}

static int parse_duration(const char *v, int64_t *out)
{
    static const char *const units[] = {"ms", "ms", "s", "m", "h", "d", NULL};
    static const int64_t mult[] = {1, 1, 1000, 60000, 3600000, 86400000};
    return parse_scaled(v, out, units, mult);
}

static int parse_size(const char *v, int64_t *out)
{
    static const char *const units[] = {"b", "b", "kb", "mb", "gb", "k", "m", "g", NULL};
    static const int64_t mult[] = {1, 1, 1024, 1048576, 1073741824, 1024, 1048576, 1073741824};
    return parse_scaled(v, out, units, mult);
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = true, CP_OK;
        if (strcasecmp(v, no[i]) == 0) return *out = false, CP_OK;
    }
    return CP_EINVAL;
}

static int parse_enum(const cp_conf_entry *e, const char *v, int *out)
{
    for (int i = 0; e->choices[i]; i++) {
        if (strcmp(v, e->choices[i]) == 0) {
            *out = i;
            return CP_OK;
        }
    }
    return CP_EINVAL;
}

static void describe_expected(const cp_conf_entry *e, char *buf, size_t len)
{
    switch (e->type) {
    case CP_CONF_INT:
        snprintf(buf, len, "an integer from %.0f to %.0f", e->min, e->max);
        break;
    case CP_CONF_DOUBLE:
        snprintf(buf, len, "a number from %g to %g", e->min, e->max);
        break;
    case CP_CONF_BOOL:
        snprintf(buf, len, "true or false");
        break;
    case CP_CONF_DURATION:
        snprintf(buf, len, "a duration such as 500ms, 30s, 5m, 24h or 7d");
        break;
    case CP_CONF_SIZE:
        snprintf(buf, len, "a size such as 32KB, 500KB or 128MB");
        break;
    case CP_CONF_DATE:
        snprintf(buf, len, "a date YYYY-MM-DD");
        break;
    case CP_CONF_ENUM: {
        size_t n = (size_t)snprintf(buf, len, "one of");
        for (int i = 0; e->choices[i] && n < len; i++)
            n += (size_t)snprintf(buf + n, len - n, "%s %s", i ? "," : "", e->choices[i]);
        break;
    }
    default:
        snprintf(buf, len, "text");
    }
}

static int in_bounds(const cp_conf_entry *e, double x)
{
    return e->min == e->max || (x >= e->min && x <= e->max);
}

/* Parses v into the field of e inside c. Returns 0, CP_EINVAL or CP_ENOMEM. */
static int assign(cp_config *c, const cp_conf_entry *e, const char *v)
{
    void *field = (char *)c + e->offset;
    char *end;
    int rc = CP_OK;
    switch (e->type) {
    case CP_CONF_STR: {
        char *s = cp_strdup(v);
        if (!s) return CP_ENOMEM;
        cp_free(*(char **)field);
        *(char **)field = s;
        return CP_OK;
    }
    case CP_CONF_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno || !in_bounds(e, (double)x)) return CP_EINVAL;
        *(int64_t *)field = x;
        return CP_OK;
    }
    case CP_CONF_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x) || !in_bounds(e, x)) return CP_EINVAL;
        *(double *)field = x;
        return CP_OK;
    }
    case CP_CONF_BOOL:
        return parse_bool(v, (bool *)field);
    case CP_CONF_ENUM:
        return parse_enum(e, v, (int *)field);
    case CP_CONF_DURATION:
        return parse_duration(v, (int64_t *)field);
    case CP_CONF_SIZE: {
        int64_t x;
        if (parse_size(v, &x) || !in_bounds(e, (double)x)) return CP_EINVAL;
        *(int64_t *)field = x;
        return CP_OK;
    }
    case CP_CONF_DATE: {
        int64_t ms;
        if (strlen(v) != 10 || cp_time_parse(v, 10, &ms)) return CP_EINVAL;
        *(int64_t *)field = cp_day_of(ms);
        return CP_OK;
    }
    case CP_CONF_LIST:
    case CP_CONF_MAP: {
        cp_strlist l;
        if ((rc = parse_list(v, &l))) return rc;
        strlist_free((cp_strlist *)field);
        *(cp_strlist *)field = l;
        return CP_OK;
    }
    }
    return CP_EINVAL;
}

static size_t entry_index(const cp_conf_entry *e)
{
    size_t n;
    return (size_t)(e - cp_config_table(&n));
}

static int set_origin(cp_config *c, const cp_conf_entry *e, cp_conf_origin o, const char *detail)
{
    size_t i = entry_index(e);
    char *d = detail ? cp_strdup(detail) : NULL;
    if (detail && !d) return CP_ENOMEM;
    cp_free(c->origin_details[i]);
    c->origin_details[i] = d;
    c->origins[i] = o;
    return CP_OK;
}

int cp_config_set(cp_config *c, const char *key, const char *value, cp_conf_origin origin,
                  const char *detail, char *err, size_t errlen)
{
    const cp_conf_entry *e = cp_config_find(key);
    if (!e) {
        const char *s = cp_config_suggest(key);
        if (s)
            snprintf(err, errlen, "unknown configuration key '%s' (did you mean '%s'?)", key, s);
        else
            snprintf(err, errlen, "unknown configuration key '%s' (see 'clickpulse config keys')",
                     key);
        return CP_EUNKNOWN;
    }
    int rc = assign(c, e, value);
    if (rc == CP_EINVAL) {
        char expected[160];
        describe_expected(e, expected, sizeof(expected));
        snprintf(err, errlen, "invalid value '%s' for %s: expected %s", value, key, expected);
        return rc;
    }
    if (rc == CP_OK) rc = set_origin(c, e, origin, detail);
    if (rc == CP_ENOMEM) snprintf(err, errlen, "out of memory setting %s", key);
    return rc;
}

int cp_config_set_arg(cp_config *c, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(err, errlen, "--set expects key=value, got '%s'", kv);
        return CP_EINVAL;
    }
    char key[128];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof(key)) klen = sizeof(key) - 1;
    memcpy(key, kv, klen);
    key[klen] = '\0';
    return cp_config_set(c, key, eq + 1, CP_ORIGIN_SET, NULL, err, errlen);
}

/* CLICKPULSE_COLLECTOR_LISTEN → collector.listen, by comparing against the table. */
static const cp_conf_entry *find_env(const char *name, size_t len)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        const char *k = t[i].key;
        size_t j = 0;
        for (; j < len && k[j]; j++) {
            char want = k[j] == '.' ? '_' : (char)toupper((unsigned char)k[j]);
            if (name[j] != want) break;
        }
        if (j == len && k[j] == '\0') return &t[i];
    }
    return NULL;
}

int cp_config_load_env(cp_config *c, char *const *envp, char *err, size_t errlen)
{
    static const char prefix[] = "CLICKPULSE_";
    for (; envp && *envp; envp++) {
        const char *var = *envp;
        if (strncmp(var, prefix, sizeof(prefix) - 1) != 0) continue;
        const char *name = var + sizeof(prefix) - 1, *eq = strchr(var, '=');
        if (!eq) continue;
        size_t nlen = (size_t)(eq - name);
        if (nlen == 6 && strncmp(name, "CONFIG", 6) == 0) continue;
        const cp_conf_entry *e = find_env(name, nlen);
        char vname[160];
        snprintf(vname, sizeof(vname), "%.*s", (int)(eq - var), var);
        if (!e) {
            char lower[128];
            size_t k = 0;
            for (; k < nlen && k < sizeof(lower) - 1; k++)
                lower[k] = name[k] == '_' ? '.' : (char)tolower((unsigned char)name[k]);
            lower[k] = '\0';
            const char *s = cp_config_suggest(lower);
            snprintf(err, errlen, "unknown environment variable %s%s%s%s", vname,
                     s ? " (did you mean the key '" : "", s ? s : "", s ? "'?)" : "");
            return CP_EUNKNOWN;
        }
        int rc = cp_config_set(c, e->key, eq + 1, CP_ORIGIN_ENV, vname, err, errlen);
        if (rc) return rc;
    }
    return CP_OK;
}

int cp_config_init(cp_config *c)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    memset(c, 0, sizeof(*c));
    c->origins = cp_calloc(n, sizeof(*c->origins));
    c->origin_details = cp_calloc(n, sizeof(*c->origin_details));
    if (!c->origins || !c->origin_details) goto fail;
    for (size_t i = 0; i < n; i++) {
        if (assign(c, &t[i], t[i].def)) goto fail;
    }
    return CP_OK;
fail:
    cp_config_free(c);
    return CP_ENOMEM;
}

void cp_config_free(cp_config *c)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        void *field = (char *)c + t[i].offset;
        if (t[i].type == CP_CONF_STR) {
            cp_free(*(char **)field);
            *(char **)field = NULL;
        } else if (t[i].type == CP_CONF_LIST || t[i].type == CP_CONF_MAP) {
            strlist_free((cp_strlist *)field);
        }
        if (c->origin_details) cp_free(c->origin_details[i]);
    }
    cp_free(c->origins);
    cp_free(c->origin_details);
    c->origins = NULL;
    c->origin_details = NULL;
}

static void format_scaled(int64_t v, char *out, size_t len, const char *const *units,
                          const int64_t *mult, int nunits)
{
    for (int i = nunits - 1; i > 0; i--) {
        if (v && v % mult[i] == 0) {
            snprintf(out, len, "%lld%s", (long long)(v / mult[i]), units[i]);
            return;
        }
    }
    snprintf(out, len, "%lld%s", (long long)v, units[0]);
}

int cp_config_format_value(const cp_config *c, const cp_conf_entry *e, char *out, size_t len)
{
    static const char *const dur_units[] = {"ms", "s", "m", "h", "d"};
    static const int64_t dur_mult[] = {1, 1000, 60000, 3600000, 86400000};
    static const char *const size_units[] = {"B", "KB", "MB", "GB"};
    static const int64_t size_mult[] = {1, 1024, 1048576, 1073741824};
    const void *field = (const char *)c + e->offset;
    switch (e->type) {
    case CP_CONF_STR:
        snprintf(out, len, "%s", *(char *const *)field);
        break;
    case CP_CONF_INT:
        snprintf(out, len, "%lld", (long long)*(const int64_t *)field);
        break;
    case CP_CONF_DOUBLE:
        snprintf(out, len, "%g", *(const double *)field);
        break;
    case CP_CONF_BOOL:
        snprintf(out, len, "%s", *(const bool *)field ? "true" : "false");
        break;
    case CP_CONF_ENUM:
        snprintf(out, len, "%s", e->choices[*(const int *)field]);
        break;
    case CP_CONF_DURATION:
        format_scaled(*(const int64_t *)field, out, len, dur_units, dur_mult, 5);
        break;
    case CP_CONF_SIZE:
        format_scaled(*(const int64_t *)field, out, len, size_units, size_mult, 4);
        break;
    case CP_CONF_DATE:
        if (len < 11) return CP_EINVAL;
        out[cp_date_format(*(const int64_t *)field, out)] = '\0';
        break;
    case CP_CONF_LIST:
    case CP_CONF_MAP: {
        const cp_strlist *l = field;
        size_t n = 0;
        out[0] = '\0';
        for (size_t i = 0; i < l->n && n < len; i++)
            n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "," : "", l->items[i]);
        break;
    }
    }
    return CP_OK;
}

void cp_config_show(const cp_config *c, FILE *out)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        char v[1024], line[1200];
        cp_config_format_value(c, &t[i], v, sizeof(v));
        if (t[i].type == CP_CONF_STR && strchr(v, ' '))
            snprintf(line, sizeof(line), "%s = \"%s\"", t[i].key, v);
        else
            snprintf(line, sizeof(line), "%s = %s", t[i].key, v);
        const char *d = c->origin_details[i];
        fprintf(out, "%-48s # %s%s%s\n", line, origin_names[c->origins[i]], d ? " " : "",
                d ? d : "");
    }
}

static const char *type_name(cp_conf_type t)
{
    static const char *const names[] = {"text",     "integer", "number", "bool", "choice",
                                        "duration", "size",    "date",   "list", "map"};
    return names[t];
}

void cp_config_help(FILE *out)
{
    size_t n;
    const cp_conf_entry *t = cp_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        char expected[200];
        describe_expected(&t[i], expected, sizeof(expected));
        fprintf(out, "%s (%s, default '%s')\n    %s\n", t[i].key, type_name(t[i].type), t[i].def,
                t[i].help);
        if (t[i].type != CP_CONF_STR && t[i].type != CP_CONF_LIST && t[i].type != CP_CONF_MAP)
            fprintf(out, "    expects %s\n", expected);
    }
}
