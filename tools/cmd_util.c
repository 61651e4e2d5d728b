/* What `amber run`, `amber viz` and `amber inspect` share: one-line errors,
 * NAME=VALUE and shape arguments, and parameter files matched to a graph. */
#include "commands.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>

int am_cmd_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "amber %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int am_cmd_fail_last(const char *cmd)
{
    /* Library messages are one line; a stray newline would break the rule. */
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", am_last_error());
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    am_clear_error();
    return am_cmd_fail(cmd, "%s", msg[0] ? msg : "failed (no message)");
}

int am_cmd_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    am_cmd_fail(cmd, "%s (%s)", msg, usage);
    return 2;
}

bool am_cmd_split(const char *arg, char **name, const char **value)
{
    const char *eq = strchr(arg, '=');
    *name = NULL;
    if (!eq || eq == arg || !eq[1]) return false;
    if (!(*name = strndup(arg, (size_t)(eq - arg)))) return false;
    *value = eq + 1;
    return true;
}

bool am_cmd_parse_shape(const char *s, am_shape *out)
{
    am_shape sh = {.ndim = 0};
    while (isspace((unsigned char)*s)) s++;
    char close = *s == '(' ? ')' : *s == '[' ? ']' : 0;
    if (close) s++;
    for (;;) {
        while (isspace((unsigned char)*s)) s++;
        if (close && *s == close) {
            s++;
            break;
        }
        if (!close && !*s) break;
        char *e;
        errno = 0;
        long long d = strtoll(s, &e, 10);
        if (e == s || errno || d <= 0 || d > (1LL << 40) || sh.ndim == AM_MAX_NDIM) return false;
        sh.dim[sh.ndim++] = d;
        for (s = e; isspace((unsigned char)*s); s++) {}
        if (!close && *s == 'x' && isdigit((unsigned char)s[1])) s++;  /* 1x3: x before a digit */
        else if (*s == ',') s++;
        else if (*s && *s != close) return false;
    }
    while (isspace((unsigned char)*s)) s++;
    if (*s || (!close && sh.ndim == 0)) return false;
    *out = sh;
    return true;
}

static bool values_grow(am_cmd_values *v)
{
    if (v->n < v->cap) return true;
    size_t cap = v->cap ? 2 * (size_t)v->cap : 16;
    char **names = realloc(v->names, cap * sizeof(*names));
    if (names) v->names = names;
    am_array **values = names ? realloc(v->values, cap * sizeof(*values)) : NULL;
    if (values) v->values = values;
    am_shape *shapes = values ? realloc(v->shapes, cap * sizeof(*shapes)) : NULL;
    if (shapes) v->shapes = shapes;
    am_dtype *dtypes = shapes ? realloc(v->dtypes, cap * sizeof(*dtypes)) : NULL;
    if (dtypes) v->dtypes = dtypes;
    if (dtypes) v->cap = (int)cap;
    return dtypes != NULL;
}

bool am_cmd_values_add_shape(am_cmd_values *v, const char *name, am_shape shape, am_dtype dtype)
{
    if (!values_grow(v) || !(v->names[v->n] = strdup(name))) return false;
    v->values[v->n] = NULL;
    v->shapes[v->n] = shape;
    v->dtypes[v->n++] = dtype;
    return true;
}

bool am_cmd_values_add(am_cmd_values *v, const char *name, am_array *x)
{
    if (!am_cmd_values_add_shape(v, name, x->shape, x->dtype)) return false;
    v->values[v->n - 1] = am_retain(x);
    return true;
}

int am_cmd_add_shape_arg(const char *cmd, const char *usage, const char *arg, am_cmd_values *v)
{
    char *name;
    const char *value;
    am_shape shape;
    if (!am_cmd_split(arg, &name, &value))
        return am_cmd_usage_error(cmd, usage, "-i takes NAME=SHAPE (data=1x3x224x224), not '%s'",
                                  arg);
    int rc = 0;
    if (!am_cmd_parse_shape(value, &shape))
        rc = am_cmd_usage_error(cmd, usage, "-i %s: '%s' is not a shape like 1x3x224x224 or "
                                "(1, 3, 224, 224)", name, value);
    else if (am_cmd_values_find(v, name) >= 0)
        rc = am_cmd_usage_error(cmd, usage, "-i gives '%s' twice", name);
    else if (!am_cmd_values_add_shape(v, name, shape, AM_DTYPE_FLOAT32))
        rc = am_cmd_fail(cmd, "out of memory");
    free(name);
    return rc;
}

int am_cmd_values_find(const am_cmd_values *v, const char *name)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->names[i], name) == 0) return i;
    return -1;
}

void am_cmd_values_free(am_cmd_values *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->names[i]);
        am_release(v->values[i]);
    }
    free(v->names);
    free(v->values);
    free(v->shapes);
    free(v->dtypes);
    *v = (am_cmd_values){0};
}

int am_cmd_find_variable(const am_graph *g, const char *name)
{
    int i = am_graph_find_name(g, name);
    return i >= 0 && !g->nodes[i]->op ? i : -1;
}

static const char *strip_prefix(const char *name)
{
    if (strncmp(name, "arg:", 4) == 0 || strncmp(name, "aux:", 4) == 0) return name + 4;
    return name;
}

int am_cmd_load_params(const char *cmd, const char *path, const am_graph *g, bool ignore_extra,
                       am_cmd_values *v)
{
    am_ndlist *l = am_ndlist_load(path);
    if (!l) return am_cmd_fail_last(cmd);
    int rc = 0;
    /* Variables v gives already, so that a name given twice costs no search. */
    bool *given = calloc((size_t)g->n_nodes + 1, sizeof(*given));
    if (!given) rc = am_cmd_fail(cmd, "out of memory");
    for (int k = 0; given && k < v->n; k++) {
        int i = am_cmd_find_variable(g, v->names[k]);
        if (i >= 0) given[i] = true;
    }
    if (rc == 0 && am_ndlist_size(l) > 0 && !am_ndlist_is_named(l))
        rc = am_cmd_fail(cmd, "%s: the arrays have no names, so they cannot be matched to the "
                         "graph's parameters", path);
    for (int i = 0; rc == 0 && i < am_ndlist_size(l); i++) {
        const char *full = am_ndlist_name(l, i), *name = strip_prefix(full);
        am_array *x = am_ndlist_get(l, i);
        int node = am_cmd_find_variable(g, name);
        if (node < 0) {
            if (!ignore_extra)
                rc = am_cmd_fail(cmd, "%s holds '%s', which is no input of the graph "
                                 "(--ignore-extra skips such parameters)", path, full);
        } else if (given[node]) {
            rc = am_cmd_fail(cmd, "%s holds '%s' twice (with and without a prefix)", path, name);
        } else if ((rc = am_cmd_check_value(cmd, g, name, x, path)) == 0 &&
                   !am_cmd_values_add(v, name, x)) {
            rc = am_cmd_fail(cmd, "out of memory");
        } else {
            given[node] = true;
        }
    }
    free(given);
    am_ndlist_free(l);
    return rc;
}

int am_cmd_check_value(const char *cmd, const am_graph *g, const char *name, const am_array *x,
                        const char *source)
{
    int i = am_cmd_find_variable(g, name);
    AM_ASSERT(i >= 0);
    const am_node *n = g->nodes[i];
    char a[128], b[128];
    /* An unknown dimension in the graph (an export's batch) takes any size. */
    bool fits = n->shapes[0].ndim < 0 || n->shapes[0].ndim == x->shape.ndim;
    for (int d = 0; fits && n->shapes[0].ndim >= 0 && d < x->shape.ndim; d++)
        fits = n->shapes[0].dim[d] == AM_DIM_UNKNOWN || n->shapes[0].dim[d] == x->shape.dim[d];
    if (!fits)
        return am_cmd_fail(cmd, "'%s' has shape %s in the graph but %s holds %s", name,
                           am_shape_format(&n->shapes[0], a, sizeof(a)), source,
                           am_shape_format(&x->shape, b, sizeof(b)));
    if (n->dtypes[0] != AM_DTYPE_COUNT && n->dtypes[0] != x->dtype)
        return am_cmd_fail(cmd, "'%s' is %s in the graph but %s holds %s", name,
                           am_dtype_name(n->dtypes[0]), source, am_dtype_name(x->dtype));
    return 0;
}
