/* Operator attributes: parse MXNet's attribute strings into an op's C struct
 * through its schema, and print them back as MXNet 1.x's Python writes them. */
#include "ndarray_impl.h"

#include <ctype.h>
#include <errno.h>

static const char *skip_ws(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return s;
}

static bool is_none(const char *s)
{
    s = skip_ws(s);
    if (strncmp(s, "None", 4) != 0) return false;
    return *skip_ws(s + 4) == '\0';
}

/* Integer with optional trailing L (Python 2 longs); *end after it. */
static bool parse_int_at(const char *s, int64_t *v, const char **end)
{
    char *e;
    s = skip_ws(s);
    errno = 0;
    long long x = strtoll(s, &e, 10);
    if (e == s || errno) return false;
    if (*e == 'L' || *e == 'l') e++;
    *v = x;
    *end = e;
    return true;
}

static bool parse_int(const char *s, int64_t *v)
{
    const char *end;
    return parse_int_at(s, v, &end) && *skip_ws(end) == '\0';
}

static bool parse_float(const char *s, double *v)
{
    char *e;
    s = skip_ws(s);
    errno = 0;
    double x = strtod(s, &e);
    if (e == s || *skip_ws(e) != '\0' || (errno == ERANGE && x != 0)) return false;
    *v = x;
    return true;
}

static bool parse_bool(const char *s, bool *v)
{
    s = skip_ws(s);
    static const char *const yes[] = {"True", "true", "1"}, *const no[] = {"False", "false", "0"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(yes[i]), m = strlen(no[i]);
        if (strncmp(s, yes[i], n) == 0 && *skip_ws(s + n) == '\0') return *v = true, true;
        if (strncmp(s, no[i], m) == 0 && *skip_ws(s + m) == '\0') return *v = false, true;
    }
    return false;
}

/* "(3, 3)", "[3,3]", "(64,)", "()", "3", "None", "(0, None)". */
static bool parse_tuple(const char *s, am_tuple *t)
{
    memset(t, 0, sizeof(*t));
    if (is_none(s)) {
        t->ndim = -1;
        return true;
    }
    s = skip_ws(s);
    char close = 0;
    if (*s == '(') close = ')';
    else if (*s == '[') close = ']';
    if (!close) {
        int64_t v;
        if (!parse_int(s, &v)) return false;
        t->ndim = 1;
        t->v[0] = v;
        return true;
    }
    s = skip_ws(s + 1);
    while (*s != close) {
        if (t->ndim == AM_MAX_TUPLE) return false;
        if (strncmp(s, "None", 4) == 0) {
            t->none |= 1u << t->ndim;
            t->v[t->ndim++] = 0;
            s += 4;
        } else if (!parse_int_at(s, &t->v[t->ndim++], &s)) {
            return false;
        }
        s = skip_ws(s);
        if (*s == ',') s = skip_ws(s + 1);
        else if (*s != close) return false;
    }
    return *skip_ws(s + 1) == '\0';
}

/* "(0.1, 0.05)", "[0.1,0.05]", "(0.1,)", "()", "0.1". */
static bool parse_floats(const char *s, am_floats *t)
{
    memset(t, 0, sizeof(*t));
    s = skip_ws(s);
    char close = *s == '(' ? ')' : *s == '[' ? ']' : 0;
    if (!close) return t->n = 1, parse_float(s, &t->v[0]);
    s = skip_ws(s + 1);
    while (*s != close) {
        char *e;
        if (t->n == AM_MAX_FLOATS) return false;
        errno = 0;
        t->v[t->n++] = strtod(s, &e);
        if (e == s || errno == ERANGE) return false;
        s = skip_ws(e);
        if (*s == ',') s = skip_ws(s + 1);
        else if (*s != close) return false;
    }
    return *skip_ws(s + 1) == '\0';
}

static am_status parse_field(const am_op_def *op, const am_attr_field *f, const char *val,
                             void *attrs)
{
    char *p = (char *)attrs + f->offset;
    bool ok = false;
    switch (f->type) {
    case AM_ATTR_INT: ok = parse_int(val, (int64_t *)p); break;
    case AM_ATTR_FLOAT: ok = parse_float(val, (double *)p); break;
    case AM_ATTR_BOOL: ok = parse_bool(val, (bool *)p); break;
    case AM_ATTR_TUPLE:
    case AM_ATTR_SHAPE: ok = parse_tuple(val, (am_tuple *)p); break;
    case AM_ATTR_ENUM:
        for (int i = 0; f->choices[i]; i++)
            if (strcmp(skip_ws(val), f->choices[i]) == 0) {
                *(int *)p = i;
                return AM_OK;
            }
        {
            char list[256] = "";
            for (int i = 0; f->choices[i]; i++) {
                if (i) strncat(list, ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, f->choices[i], sizeof(list) - strlen(list) - 1);
            }
            char shown[128];
            return am_fail(AM_ERR_FORMAT, "%s: attribute %s='%s' is not one of {%s}", op->name,
                           f->name, am_escape_text(val, shown, sizeof(shown)), list);
        }
    case AM_ATTR_DTYPE: {
        am_dtype t;
        if (is_none(val)) *(int *)p = -1, ok = true;
        else if (am_dtype_from_name(skip_ws(val), &t)) *(int *)p = (int)t, ok = true;
        break;
    }
    case AM_ATTR_OPT_INT: {
        am_opt_int *o = (am_opt_int *)p;
        if (is_none(val)) o->has = false, ok = true;
        else ok = o->has = parse_int(val, &o->v);
        break;
    }
    case AM_ATTR_OPT_FLOAT: {
        am_opt_float *o = (am_opt_float *)p;
        if (is_none(val)) o->has = false, ok = true;
        else ok = o->has = parse_float(val, &o->v);
        break;
    }
    case AM_ATTR_STRING:
        ok = strlen(val) < AM_MAX_ATTR_STRING;
        if (ok) strcpy(p, val);
        break;
    case AM_ATTR_FLOATS: ok = parse_floats(val, (am_floats *)p); break;
    default: break;
    }
    if (ok) return AM_OK;
    static const char *const kinds[] = {"an integer", "a number", "True or False",
                                        "a tuple like (3, 3)", "", "a dtype name",
                                        "an integer or None", "a number or None",
                                        "a string under 64 bytes", "a shape like (2, 3)",
                                        "a tuple of numbers like (0.1, 0.5)"};
    _Static_assert(sizeof(kinds) / sizeof(kinds[0]) == AM_ATTR_TYPE_COUNT,
                   "kinds must name every am_attr_type");
    char shown[128];
    return am_fail(AM_ERR_FORMAT, "%s: attribute %s='%s' is not %s", op->name, f->name,
                   am_escape_text(val, shown, sizeof(shown)), kinds[f->type]);
}

am_status am_attrs_init(const am_op_def *op, void *attrs)
{
    if (op->attrs_size) memset(attrs, 0, op->attrs_size);
    for (const am_attr_field *f = op->attrs; f && f->name; f++)
        if (f->def && parse_field(op, f, f->def, attrs) != AM_OK)
            return am_fail(AM_ERR_INTERNAL, "%s: default of %s does not parse", op->name, f->name);
    return AM_OK;
}

static const am_attr_field *find_field(const am_op_def *op, const char *key)
{
    for (const am_attr_field *f = op->attrs; f && f->name; f++)
        if (strcmp(f->name, key) == 0) return f;
    return NULL;
}

void *am_attrs_parse(const am_op_def *op, const char *const *keys, const char *const *vals,
                     int n)
{
    void *attrs = calloc(1, op->attrs_size ? op->attrs_size : 1);
    uint64_t seen = 0;
    if (!attrs) {
        am_fail(AM_ERR_OOM, "%s: cannot allocate attributes", op->name);
        return NULL;
    }
    if (am_attrs_init(op, attrs) != AM_OK) goto out_free;
    for (int i = 0; i < n; i++) {
        if (!keys[i] || !vals[i]) {
            am_fail(AM_ERR_ARG, "%s: attribute %d has a NULL key or value", op->name, i);
            goto out_free;
        }
        if (strncmp(keys[i], "__", 2) == 0) continue;
        const am_attr_field *f = find_field(op, keys[i]);
        if (!f) {
            char shown[128];
            am_fail(AM_ERR_ARG, "%s: unknown attribute '%s'", op->name,
                    am_escape_text(keys[i], shown, sizeof(shown)));
            goto out_free;
        }
        if (parse_field(op, f, vals[i], attrs) != AM_OK) goto out_free;
        seen |= 1ull << (f - op->attrs);
    }
    for (const am_attr_field *f = op->attrs; f && f->name; f++)
        if (!f->def && !(seen & (1ull << (f - op->attrs)))) {
            am_fail(AM_ERR_ARG, "%s: required attribute '%s' is missing", op->name, f->name);
            goto out_free;
        }
    return attrs;

out_free:
    free(attrs);
    return NULL;
}

static char *format_tuple(const am_tuple *t, char *buf, size_t n)
{
    if (t->ndim < 0) return snprintf(buf, n, "None"), buf;
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < t->ndim && k < n; i++) {
        if (i) k += (size_t)snprintf(buf + k, n - k, ", ");
        if (k >= n) break;
        if (t->none & (1u << i)) k += (size_t)snprintf(buf + k, n - k, "None");
        else k += (size_t)snprintf(buf + k, n - k, "%lld", (long long)t->v[i]);
    }
    if (k < n) snprintf(buf + k, n - k, t->ndim == 1 ? ",)" : ")");
    return buf;
}

static char *format_floats(const am_floats *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < t->n && k < n; i++) {
        char v[32];
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "",
                              am_format_double(t->v[i], v, sizeof(v)));
    }
    if (k < n) snprintf(buf + k, n - k, t->n == 1 ? ",)" : ")");
    return buf;
}

/* A shape attribute as MXNet's legacy files write it: unknown dimensions as 0. */
static char *format_shape_attr(const am_tuple *t, char *buf, size_t n)
{
    am_tuple c = *t;
    for (int i = 0; i < c.ndim && i < AM_MAX_TUPLE; i++)
        if (c.v[i] == AM_DIM_UNKNOWN) c.v[i] = 0;
    return format_tuple(&c, buf, n);
}

char *am_attr_format(const am_attr_field *f, const void *attrs, char *buf, size_t n)
{
    const char *p = (const char *)attrs + f->offset;
    switch (f->type) {
    case AM_ATTR_INT: snprintf(buf, n, "%lld", (long long)*(const int64_t *)p); break;
    case AM_ATTR_FLOAT: am_format_double(*(const double *)p, buf, n); break;
    case AM_ATTR_BOOL: snprintf(buf, n, "%s", *(const bool *)p ? "True" : "False"); break;
    case AM_ATTR_TUPLE: format_tuple((const am_tuple *)p, buf, n); break;
    case AM_ATTR_SHAPE: format_shape_attr((const am_tuple *)p, buf, n); break;
    case AM_ATTR_ENUM: snprintf(buf, n, "%s", f->choices[*(const int *)p]); break;
    case AM_ATTR_DTYPE: {
        int t = *(const int *)p;
        snprintf(buf, n, "%s", t < 0 ? "None" : am_dtype_name((am_dtype)t));
        break;
    }
    case AM_ATTR_OPT_INT: {
        const am_opt_int *o = (const am_opt_int *)p;
        if (o->has) snprintf(buf, n, "%lld", (long long)o->v);
        else snprintf(buf, n, "None");
        break;
    }
    case AM_ATTR_OPT_FLOAT: {
        const am_opt_float *o = (const am_opt_float *)p;
        if (o->has) am_format_double(o->v, buf, n);
        else snprintf(buf, n, "None");
        break;
    }
    case AM_ATTR_STRING: snprintf(buf, n, "%s", p); break;
    case AM_ATTR_FLOATS: format_floats((const am_floats *)p, buf, n); break;
    default: snprintf(buf, n, "?"); break;
    }
    return buf;
}

bool am_attr_is_default(const am_attr_field *f, const void *attrs)
{
    if (!f->def) return false;
    char a[256], b[256];
    /* Compare canonical spellings: "(1,1)" and "(1, 1)" are the same default. */
    union {
        int64_t i;
        double d;
        bool b;
        am_tuple t;
        int e;
        am_opt_int oi;
        am_opt_float of;
        char s[AM_MAX_ATTR_STRING];
        am_floats fs;
    } tmp;
    memset(&tmp, 0, sizeof(tmp));
    am_attr_field g = *f;
    g.offset = 0;
    am_op_def fake = {.name = "?"};
    if (parse_field(&fake, &g, f->def, &tmp) != AM_OK) return false;
    return strcmp(am_attr_format(f, attrs, a, sizeof(a)), am_attr_format(&g, &tmp, b, sizeof(b))) == 0;
}

bool am_attrs_shape_unknown(const am_op_def *op, const void *attrs)
{
    for (const am_attr_field *f = op && attrs ? op->attrs : NULL; f && f->name; f++) {
        const am_tuple *t = (const am_tuple *)((const char *)attrs + f->offset);
        for (int d = 0; f->type == AM_ATTR_SHAPE && d < t->ndim; d++)
            if (t->v[d] == AM_DIM_UNKNOWN) return true;
    }
    return false;
}

void am_attrs_fill_shape(const am_op_def *op, void *attrs, const am_shape *shape)
{
    for (const am_attr_field *f = op && attrs ? op->attrs : NULL; f && f->name; f++) {
        am_tuple *t = (am_tuple *)((char *)attrs + f->offset);
        if (f->type != AM_ATTR_SHAPE || t->ndim != shape->ndim) continue;
        for (int d = 0; d < t->ndim; d++)
            if (t->v[d] == AM_DIM_UNKNOWN) t->v[d] = shape->dim[d];
    }
}
