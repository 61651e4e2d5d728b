/* Helpers shared by the CUnit suites. */
#include "test_util.h"

#include "../symbol/symbol_impl.h"

#include <unistd.h>

am_array *tu_array_from(am_dtype dtype, am_shape shape, const double *v, int64_t n)
{
    am_array *x = am_empty(shape, dtype);
    if (!x) return NULL;
    AM_ASSERT(am_array_size(x) == n);
    am_view w = am_array_view(x);
    for (int64_t i = 0; i < n; i++) am_view_set(&w, i, v[i]);
    return x;
}

static bool close_enough(double a, double b, double tol)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= tol * (1.0 + fabs(b));
}

bool tu_values_are(am_array *x, am_shape shape, const double *v, int64_t n, double tol)
{
    char a[96], b[96];
    if (!x) {
        printf("\n  array is NULL: %s\n", am_last_error());
        return false;
    }
    am_shape s = am_array_shape(x);
    bool same = s.ndim == shape.ndim;
    for (int i = 0; same && i < s.ndim; i++) same = s.dim[i] == shape.dim[i];
    if (!same || am_shape_size(&s) != n) {
        printf("\n  shape %s, expected %s\n", am_shape_format(&s, a, sizeof(a)),
               am_shape_format(&shape, b, sizeof(b)));
        return false;
    }
    am_view w = am_array_view(x);
    for (int64_t i = 0; i < n; i++)
        if (!close_enough(am_view_get(&w, i), v[i], tol)) {
            printf("\n  element %lld is %.9g, expected %.9g\n", (long long)i, am_view_get(&w, i), v[i]);
            return false;
        }
    return true;
}

bool tu_allclose(am_array *a, am_array *b, double tol)
{
    if (!a || !b) {
        printf("\n  array is NULL: %s\n", am_last_error());
        return false;
    }
    int64_t n = am_array_size(b);
    double *v = malloc((size_t)(n ? n : 1) * sizeof(double));
    am_view w = am_array_view(b);
    for (int64_t i = 0; i < n; i++) v[i] = am_view_get(&w, i);
    bool ok = tu_values_are(a, am_array_shape(b), v, n, tol);
    free(v);
    return ok;
}

am_array *tu_random(am_shape shape, am_dtype dtype, double lo, double hi)
{
    am_array *u = am_random_uniform(lo, hi, shape, AM_DTYPE_FLOAT64);
    return dtype == AM_DTYPE_FLOAT64 ? u : am_astype(u, dtype);
}

void tu_parse_case(const am_op_case *c, tu_parsed_case *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->buf, sizeof(p->buf), "%s", c->attrs ? c->attrs : "");
    for (char *save = NULL, *kv = strtok_r(p->buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        AM_ASSERT(eq != NULL && p->n_attrs < 32);
        *eq = '\0';
        p->keys[p->n_attrs] = kv;
        p->vals[p->n_attrs++] = eq + 1;
    }
    if (!c->shapes) return;
    const char *s = c->shapes;
    for (;;) {
        am_shape *sh = &p->shapes[p->n_in++];
        sh->ndim = 0;
        while (*s && *s != ';') {
            sh->dim[sh->ndim++] = strtoll(s, (char **)&s, 10);
            if (*s == ',') s++;
        }
        if (*s != ';') break;
        s++;
    }
}

am_array *tu_case_input(const am_op_case *c, const tu_parsed_case *p, int i)
{
    if (c->index_mask & (1u << i)) {
        am_array *r = am_random_uniform(0, (double)c->index_hi, p->shapes[i], AM_DTYPE_FLOAT64);
        am_view v = am_array_view(r);
        for (int64_t k = 0; k < am_view_size(&v); k++) am_view_set(&v, k, floor(am_view_get(&v, k)));
        return am_astype(r, c->index_dtype);
    }
    am_dtype t = c->dtype ? c->dtype : AM_DTYPE_FLOAT32;
    double lo = c->lo, hi = c->hi;
    if (lo == hi) lo = -1, hi = 1;
    return tu_random(p->shapes[i], t, lo, hi);
}


/* Splits "k1|k2" and "v1|v2" into at most 16 keys and values (in buf). */
static int split_attrs(const char *keys, const char *vals, char kb[512], char vb[512],
                       const char **k, const char **v)
{
    int n = 0;
    snprintf(kb, 512, "%s", keys ? keys : "");
    snprintf(vb, 512, "%s", vals ? vals : "");
    for (char *sk = NULL, *sv = NULL, *a = strtok_r(kb, "|", &sk), *b = strtok_r(vb, "|", &sv);
         a && b && n < 16; a = strtok_r(NULL, "|", &sk), b = strtok_r(NULL, "|", &sv))
        k[n] = a, v[n++] = b;
    return n;
}

am_status tu_invoke(const char *op, am_array *const *in, int n_in, const char *keys,
                    const char *vals, am_array **out, int n_out)
{
    const char *k[16], *v[16];
    char kb[512], vb[512];
    int n = split_attrs(keys, vals, kb, vb, k, v);
    return am_invoke(op, in, n_in, k, v, n, out, n_out);
}

am_array *tu_invoke1(const char *op, am_array *x, const char *keys, const char *vals)
{
    am_array *y = NULL;
    return tu_invoke(op, &x, 1, keys, vals, &y, 1) == AM_OK ? y : NULL;
}

am_status tu_run_kernel(const char *name, const char *keys, const char *vals, am_array **in,
                        int n_in, am_array **out, am_req req, bool training)
{
    const am_op_def *op = am_op_find(name);
    const char *k[16], *v[16];
    char kb[512], vb[512];
    int n = split_attrs(keys, vals, kb, vb, k, v);
    void *attrs = am_attrs_parse(op, k, v, n);
    AM_ASSERT(attrs != NULL);
    am_view vin[AM_MAX_OP_IO], vout[AM_MAX_OP_IO];
    am_req reqs[AM_MAX_OP_IO];
    am_shape ish[AM_MAX_OP_IO];
    int n_out = am_op_num_outputs(op, attrs);
    for (int i = 0; i < n_in; i++) vin[i] = am_array_view(in[i]), ish[i] = am_array_shape(in[i]);
    for (int i = 0; i < n_out; i++) vout[i] = am_array_view(out[i]), reqs[i] = req;
    am_kernel_ctx ctx = {.device = am_cpu(), .training = training, .rng = am_rng_state()};
    if (op->temp_bytes && (ctx.workspace_bytes = op->temp_bytes(attrs, ish, n_in)))
        ctx.workspace = am_host_alloc(ctx.workspace_bytes);
    am_status st = op->cpu(&ctx, attrs, vin, n_in, vout, n_out, reqs);
    am_host_free(ctx.workspace);
    free(attrs);
    return st;
}

int tu_count_op(const struct am_graph *g, const char *op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const am_op_def *d = g->nodes[i]->op;
        n += op ? d && strcmp(d->name, op) == 0 : !d;
    }
    return n;
}

bool tu_export_import_agree(am_block *b, am_array *const *in, int n_in, double tol)
{
    char dir[] = "/tmp/amber-export-XXXXXX", path[64], json[96], params[96], names[16][16];
    const char *np[16];
    if (n_in > 16 || !mkdtemp(dir)) return false;
    snprintf(path, sizeof(path), "%s/m", dir);
    snprintf(json, sizeof(json), "%s-symbol.json", path);
    snprintf(params, sizeof(params), "%s-0000.params", path);
    for (int i = 0; i < n_in; i++) {
        if (n_in == 1) snprintf(names[i], sizeof(names[i]), "data");
        else snprintf(names[i], sizeof(names[i]), "data%d", i);
        np[i] = names[i];
    }
    am_scope_begin();
    am_autograd_pause_begin(false);
    bool ok = false;
    am_array *want = am_block_call_at(b, in, n_in, AM_HERE);
    am_block *imp = want && am_block_export(b, path, 0) == AM_OK
                    ? am_symbol_block_import(json, params, np, n_in, am_cpu()) : NULL;
    am_array *eager = imp ? am_block_call_at(imp, in, n_in, AM_HERE) : NULL;
    am_array *hybrid = eager && am_block_hybridize(imp, true, NULL) == AM_OK
                       ? am_block_call_at(imp, in, n_in, AM_HERE) : NULL;
    if (!hybrid) {
        printf("\n  export and import of %s: %s\n", am_block_type(b), am_last_error());
    } else {
        double scale = am_item(am_max(am_abs(want), NULL, 0, false), 0);
        double tol_abs = tol * (scale > 1 ? scale : 1);
        ok = tu_allclose(eager, want, tol_abs) && tu_allclose(hybrid, want, tol_abs);
        if (!ok) printf("\n  export and import of %s: the imported output differs\n", am_block_type(b));
    }
    am_block_release(imp);
    am_autograd_end();
    am_scope_end();
    remove(json), remove(params), rmdir(dir);
    return ok;
}
