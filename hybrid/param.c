/* Parameters: values, gradients and their settings, and saving and loading
 * them by structural name in MXNet's .params format. */
#include "hybrid_impl.h"

extern const am_op_def am_op_copy;

const char *am_param_name(const am_param *p) { return p ? p->name : NULL; }
am_shape am_param_shape(const am_param *p) { return p ? p->shape : (am_shape){0}; }
am_dtype am_param_dtype(const am_param *p) { return p ? p->dtype : AM_DTYPE_COUNT; }
bool am_param_is_initialized(const am_param *p) { return p && p->data; }
am_array *am_param_data(am_param *p) { return p ? p->data : NULL; }
am_array *am_param_grad(am_param *p) { return p && p->data ? am_grad(p->data) : NULL; }
am_grad_req am_param_grad_req(const am_param *p) { return p ? p->req : AM_GRAD_NULL; }
double am_param_lr_mult(const am_param *p) { return p ? p->lr_mult : 0; }
double am_param_wd_mult(const am_param *p) { return p ? p->wd_mult : 0; }

void am_param_set_lr_mult(am_param *p, double m)
{
    if (p) p->lr_mult = m;
}

void am_param_set_wd_mult(am_param *p, double m)
{
    if (p) p->wd_mult = m;
}

am_array *am_param_value_at(am_param *p, am_site at)
{
    if (!p) return am_fail_null("am_param_value", at, AM_ERR_ARG, "parameter is NULL");
    hy_trace *tr = hy_trace_current();
    if (tr) {
        am_array *v = hy_trace_param(tr, p, at);
        return v ? am_scope_own(am_retain(v)) : NULL;
    }
    if (!p->data)
        return am_fail_null("am_param_value", at, AM_ERR_ARG, "parameter '%s' has no value: %s",
                            p->name, p->wants_init ? "its shape is inferred at the block's first call"
                                                   : "call am_block_initialize first");
    return am_scope_own(am_retain(p->data));
}

am_status am_param_set_data(am_param *p, am_array *x)
{
    if (!p || !x) return am_fail(AM_ERR_ARG, "am_param_set_data: %s is NULL", !p ? "parameter" : "array");
    if (am_array_is_symbolic(x))
        return am_fail(AM_ERR_SYMBOLIC, "am_param_set_data: the value for '%s' is symbolic", p->name);
    am_shape s = am_array_shape(x);
    bool fits = s.ndim == p->shape.ndim;
    for (int i = 0; fits && i < s.ndim; i++) fits = p->shape.dim[i] == 0 || p->shape.dim[i] == s.dim[i];
    if (!fits) {
        char a[96], b[96];
        return am_fail(AM_ERR_SHAPE, "am_param_set_data: '%s' is %s, the value is %s", p->name,
                       am_shape_format(&p->shape, a, sizeof(a)), am_shape_format(&s, b, sizeof(b)));
    }
    am_status st = AM_OK;
    am_scope_begin();
    am_array *v = am_astype(x, p->dtype);
    if (v && p->data && am_shape_equal(am_array_shape(p->data), s)) {
        am_req req = AM_REQ_WRITE;
        st = am_op_run_into(&am_op_copy, NULL, &v, 1, &p->data, &req);
    } else if (v) {
        am_array *d = am_retain(am_copy(v)); /* ours beyond this scope */
        if (d && am_array_is_view(d)) st = am_fail(AM_ERR_INTERNAL, "a copy is a view");
        if (d && st == AM_OK && p->req != AM_GRAD_NULL) st = am_attach_grad(d, p->req);
        if (!d) st = am_last_status();
        if (st == AM_OK) {
            am_release(p->data);
            p->data = d;
            p->shape = s;
            p->wants_init = false;
        } else {
            am_release(d);
        }
    } else {
        st = am_last_status();
    }
    am_scope_end();
    return st;
}

am_status am_param_set_init(am_param *p, const am_init *init)
{
    if (!p) return am_fail(AM_ERR_ARG, "am_param_set_init: parameter is NULL");
    if (init && (unsigned)init->kind >= AM_INIT_KIND_COUNT)
        return am_fail(AM_ERR_ARG, "am_param_set_init: unknown initializer kind %d", (int)init->kind);
    p->has_init = init != NULL;
    if (init) p->init = *init;
    return AM_OK;
}

am_status am_param_set_grad_req(am_param *p, am_grad_req req)
{
    if (!p) return am_fail(AM_ERR_ARG, "am_param_set_grad_req: parameter is NULL");
    if ((unsigned)req >= AM_GRAD_REQ_COUNT)
        return am_fail(AM_ERR_ARG, "am_param_set_grad_req: unknown request %d", (int)req);
    if (p->data && req != p->req) {
        am_status st = am_attach_grad(p->data, req);
        if (st != AM_OK) return st;
    }
    p->req = req; /* cached plans check the requests they were made for at each call */
    return AM_OK;
}

/* ---- .params files ---------------------------------------------------------------------- */

am_status am_block_save_parameters(am_block *b, const char *path)
{
    if (!b || !path) return am_fail(AM_ERR_ARG, "am_block_save_parameters: %s is NULL", !b ? "block" : "path");
    int n = am_block_collect_params(b, NULL, NULL, 0);
    if (n < 0) return am_last_status();
    am_param **ps = malloc(((size_t)n + 1) * sizeof(*ps));
    am_ndlist *l = am_ndlist_create();
    am_status st = ps && l ? AM_OK : am_fail(AM_ERR_OOM, "am_block_save_parameters: out of memory");
    if (st == AM_OK) am_block_collect_params(b, NULL, ps, n);
    for (int i = 0; st == AM_OK && i < n; i++) {
        if (!ps[i]->data)
            st = am_fail(AM_ERR_ARG, "am_block_save_parameters: '%s' is not initialised%s",
                         ps[i]->name, ps[i]->wants_init ? " (its shape comes at the first call)" : "");
        else
            st = am_ndlist_add(l, ps[i]->name, ps[i]->data);
    }
    if (st == AM_OK) st = am_ndlist_save(l, path);
    am_ndlist_free(l);
    free(ps);
    return st;
}

/* name without MXNet's "arg:" or "aux:" prefix. */
static const char *strip_prefix(const char *name)
{
    return strncmp(name, "arg:", 4) == 0 || strncmp(name, "aux:", 4) == 0 ? name + 4 : name;
}

/* Appends to a message buffer, keeping it terminated. */
static void say(char *buf, size_t len, size_t *at, const char *fmt, const char *a, const char *b,
                const char *c)
{
    if (*at >= len) return;
    int k = snprintf(buf + *at, len - *at, fmt, a, b, c);
    if (k > 0) *at += (size_t)k;
}

/* Every problem in one message: missing names, extra names, shape mismatches. */
static am_status check_file(am_param **ps, int n, const am_ndlist *l, unsigned flags, int *match)
{
    char missing[512] = "", extra[512] = "", shapes[512] = "", a[96], b[96];
    size_t nm = 0, ne = 0, ns = 0;
    for (int i = 0; i < n; i++) {
        match[i] = -1;
        for (int j = 0; j < am_ndlist_size(l) && match[i] < 0; j++)
            if (strcmp(strip_prefix(am_ndlist_name(l, j)), ps[i]->name) == 0) match[i] = j;
        if (match[i] < 0) {
            if (!(flags & AM_LOAD_ALLOW_MISSING)) say(missing, sizeof(missing), &nm, "%s'%s'%s", nm ? ", " : "", ps[i]->name, "");
            continue;
        }
        am_shape fs = am_array_shape(am_ndlist_get(l, match[i]));
        bool fits = fs.ndim == ps[i]->shape.ndim;
        for (int d = 0; fits && d < fs.ndim; d++)
            fits = ps[i]->shape.dim[d] == 0 || ps[i]->shape.dim[d] == fs.dim[d];
        if (!fits) {
            char pair[200];
            snprintf(pair, sizeof(pair), "%s in the file, %s in the block",
                     am_shape_format(&fs, a, sizeof(a)), am_shape_format(&ps[i]->shape, b, sizeof(b)));
            say(shapes, sizeof(shapes), &ns, "%s'%s' (%s)", ns ? ", " : "", ps[i]->name, pair);
        }
    }
    for (int j = 0; j < am_ndlist_size(l) && !(flags & AM_LOAD_IGNORE_EXTRA); j++) {
        bool used = false;
        for (int i = 0; i < n && !used; i++) used = match[i] == j;
        if (!used) say(extra, sizeof(extra), &ne, "%s'%s'%s", ne ? ", " : "", am_ndlist_name(l, j), "");
    }
    if (nm || ne)
        return am_fail(AM_ERR_ARG, "%s%s%s%s%s%s", nm ? "missing from the file: " : "", missing,
                       nm && ne ? "; " : "", ne ? "in the file but not in the block: " : "", extra,
                       nm ? " (AM_LOAD_ALLOW_MISSING keeps them)" : " (AM_LOAD_IGNORE_EXTRA skips them)");
    if (ns) return am_fail(AM_ERR_SHAPE, "shapes differ: %s", shapes);
    return AM_OK;
}

am_status am_block_load_parameters(am_block *b, const char *path, unsigned flags)
{
    if (!b || !path) return am_fail(AM_ERR_ARG, "am_block_load_parameters: %s is NULL", !b ? "block" : "path");
    am_err_ctx c;
    am_err_push(&c, "am_block_load_parameters", (am_site){0});
    am_ndlist *l = am_ndlist_load(path);
    int n = l ? am_block_collect_params(b, NULL, NULL, 0) : -1;
    am_param **ps = n >= 0 ? malloc(((size_t)n + 1) * sizeof(*ps)) : NULL;
    int *match = n >= 0 ? malloc(((size_t)n + 1) * sizeof(int)) : NULL;
    am_status st = !l || n < 0 ? am_last_status()
                 : !ps || !match ? am_fail(AM_ERR_OOM, "out of memory") : AM_OK;
    if (st == AM_OK && l && !am_ndlist_is_named(l))
        st = am_fail(AM_ERR_FORMAT, "%s holds arrays without names", path);
    if (st == AM_OK) {
        am_block_collect_params(b, NULL, ps, n);
        st = check_file(ps, n, l, flags, match);
    }
    for (int i = 0; st == AM_OK && i < n; i++)
        if (match[i] >= 0) st = am_param_set_data(ps[i], am_ndlist_get(l, match[i]));
    am_err_pop(&c);
    free(ps), free(match);
    am_ndlist_free(l);
    return st;
}
