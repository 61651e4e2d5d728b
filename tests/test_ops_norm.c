/* The ops_norm suite: BatchNorm, InstanceNorm, GroupNorm and L2Normalization against
 * hand-checked values and naive double references (forward, moving statistics,
 * gradients in training and inference), edge cases and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define F64 AM_DTYPE_FLOAT64

static double get(am_array *x, int64_t i)
{
    am_view v = am_array_view(x);
    return am_view_get(&v, i);
}

static void set(am_array *x, int64_t i, double value)
{
    am_view v = am_array_view(x);
    am_view_set(&v, i, value);
}

/* The default attribute strings of op, in schema order, joined by ";". */
static void defaults_of(const char *name, char *buf, size_t n)
{
    const am_op_def *op = am_op_find(name);
    void *a = am_attrs_parse(op, NULL, NULL, 0);
    AM_ASSERT(a != NULL);
    buf[0] = '\0';
    for (const am_attr_field *f = op->attrs; f->name; f++) {
        char v[64];
        am_attr_format(f, a, v, sizeof(v));
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%s=%s", buf[0] ? ";" : "", f->name, v);
    }
    free(a);
}

/* Central difference of loss(x) = sum(f(x) * w) at element j, for a one-output f. */
typedef am_array *(*unary_fn)(am_array *x, void *ctx);

static double central_diff(unary_fn f, void *ctx, am_array *x, am_array *w, int64_t j)
{
    double x0 = get(x, j), h = 1e-6, l[2];
    for (int s = 0; s < 2; s++) {
        set(x, j, x0 + (s ? -h : h));
        am_scope_begin();
        l[s] = am_item(am_sum(am_broadcast_mul(f(x, ctx), w), NULL, 0, false), 0);
        am_scope_end();
    }
    set(x, j, x0);
    return (l[0] - l[1]) / (2 * h);
}

/* ---- BatchNorm references ------------------------------------------------------------- */

typedef struct bn_geo {
    int64_t outer, c, inner;
} bn_geo;

static bn_geo geo_of(am_array *x, int axis)
{
    bn_geo g = {1, am_array_dim(x, axis), 1};
    for (int i = 0; i < axis; i++) g.outer *= am_array_dim(x, i);
    for (int i = axis + 1; i < am_array_ndim(x); i++) g.inner *= am_array_dim(x, i);
    return g;
}

static int64_t at3(bn_geo g, int64_t o, int64_t c, int64_t i)
{
    return (o * g.c + c) * g.inner + i;
}

/* What BatchNorm should give, in double: output, mean, inverse std, and the moving
 * statistics after the call. */
typedef struct bn_ref {
    am_array *y, *mean, *invstd, *mm, *mv;
} bn_ref;

static bn_ref naive_bn(am_array *x, am_array *g, am_array *b, am_array *mm, am_array *mv,
                       double eps, double mom, bool fix_gamma, int axis, bool batch)
{
    bn_geo q = geo_of(x, axis);
    am_shape cs = AM_SHAPE(q.c);
    bn_ref r = {am_zeros(am_array_shape(x), F64), am_zeros(cs, F64), am_zeros(cs, F64),
                am_astype(mm, F64), am_astype(mv, F64)};
    double cnt = (double)(q.outer * q.inner);
    for (int64_t c = 0; c < q.c; c++) {
        double mu = 0, var = 0;
        for (int64_t o = 0; o < q.outer; o++)
            for (int64_t i = 0; i < q.inner; i++) mu += get(x, at3(q, o, c, i)) / cnt;
        for (int64_t o = 0; o < q.outer; o++)
            for (int64_t i = 0; i < q.inner; i++) var += pow(get(x, at3(q, o, c, i)) - mu, 2) / cnt;
        if (batch) {
            set(r.mm, c, get(mm, c) * mom + mu * (1 - mom));
            set(r.mv, c, get(mv, c) * mom + var * (1 - mom));
        } else {
            mu = get(mm, c), var = get(mv, c);
        }
        double iv = 1 / sqrt(var + eps), gc = fix_gamma ? 1 : get(g, c);
        set(r.mean, c, mu), set(r.invstd, c, iv);
        for (int64_t o = 0; o < q.outer; o++)
            for (int64_t i = 0; i < q.inner; i++) {
                int64_t k = at3(q, o, c, i);
                set(r.y, k, (get(x, k) - mu) * iv * gc + get(b, c));
            }
    }
    return r;
}

/* BatchNorm's gradients given dy, the statistics the forward used, in double. */
static void naive_bn_grad(am_array *x, am_array *g, am_array *dy, const bn_ref *r, bool fix_gamma,
                          int axis, bool batch, am_array **dx, am_array **dg, am_array **db)
{
    bn_geo q = geo_of(x, axis);
    double cnt = (double)(q.outer * q.inner);
    *dx = am_zeros(am_array_shape(x), F64);
    *dg = am_zeros(AM_SHAPE(q.c), F64), *db = am_zeros(AM_SHAPE(q.c), F64);
    for (int64_t c = 0; c < q.c; c++) {
        double mu = get(r->mean, c), iv = get(r->invstd, c), sd = 0, sdx = 0;
        double gc = fix_gamma ? 1 : get(g, c);
        for (int64_t o = 0; o < q.outer; o++)
            for (int64_t i = 0; i < q.inner; i++) {
                int64_t k = at3(q, o, c, i);
                sd += get(dy, k);
                sdx += get(dy, k) * (get(x, k) - mu) * iv;
            }
        set(*dg, c, fix_gamma ? 0 : sdx), set(*db, c, sd);
        for (int64_t o = 0; o < q.outer; o++)
            for (int64_t i = 0; i < q.inner; i++) {
                int64_t k = at3(q, o, c, i);
                double xh = (get(x, k) - mu) * iv, d = get(dy, k);
                set(*dx, k, gc * iv * (batch ? d - sd / cnt - xh * sdx / cnt : d));
            }
    }
}

/* ---- BatchNorm -------------------------------------------------------------------------- */

static void test_batch_norm_values(void)
{
    am_scope_begin();
    /* Channel 0 holds 1, 3 (mean 2, var 1); channel 1 holds 2, 6 (mean 4, var 4). */
    am_array *x = tu_array(F32, AM_SHAPE(2, 2), 1, 2, 3, 6);
    am_array *g = tu_array(F32, AM_SHAPE(2), 2, 3), *b = tu_array(F32, AM_SHAPE(2), 0.5, -1);
    am_array *mm = am_zeros(AM_SHAPE(2), F32), *mv = am_ones(AM_SHAPE(2), F32);
    am_array *in[5] = {x, g, b, mm, mv}, *out[3] = {NULL};
    bool was = am_autograd_set_training(true);
    CU_ASSERT_EQUAL(tu_invoke("BatchNorm", in, 5, "eps|fix_gamma|output_mean_var", "0|False|True",
                           out, 3), AM_OK);
    am_autograd_set_training(was);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 2), 1e-6, -1.5, -4, 2.5, 2);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2), 1e-6, 2, 4);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(2), 1e-6, 1, 0.5); /* the inverse std */
    /* moving = 0.9 moving + 0.1 batch, with the biased variance. */
    TU_ASSERT_VALUES(mm, AM_SHAPE(2), 1e-6, 0.2, 0.4);
    TU_ASSERT_VALUES(mv, AM_SHAPE(2), 1e-6, 1.0, 1.3);

    /* Inference normalises with the moving statistics and leaves them alone. */
    double s = sqrt(1.3);
    TU_ASSERT_VALUES(am_batch_norm(x, g, b, mm, mv, 0, 0.9, false, false, 1), AM_SHAPE(2, 2),
                     1e-6, 0.8 * 2 + 0.5, 1.6 / s * 3 - 1, 2.8 * 2 + 0.5, 5.6 / s * 3 - 1);
    TU_ASSERT_VALUES(mm, AM_SHAPE(2), 1e-6, 0.2, 0.4);
    TU_ASSERT_VALUES(mv, AM_SHAPE(2), 1e-6, 1.0, 1.3);

    /* fix_gamma: gamma counts as ones and is not written; a second training step. */
    was = am_autograd_set_training(true);
    am_array *y = am_batch_norm(x, g, b, mm, mv, 0, 0.9, true, false, -1);
    am_autograd_set_training(was);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2), 1e-6, -0.5, -2, 1.5, 0);
    TU_ASSERT_VALUES(g, AM_SHAPE(2), 0, 2, 3);
    TU_ASSERT_VALUES(mm, AM_SHAPE(2), 1e-6, 0.38, 0.76);
    TU_ASSERT_VALUES(mv, AM_SHAPE(2), 1e-6, 1.0, 1.57);

    /* use_global_stats in training: the moving statistics, not updated. */
    was = am_autograd_set_training(true);
    y = am_batch_norm(x, g, b, mm, mv, 0, 0.9, true, true, 1);
    am_autograd_set_training(was);
    s = sqrt(1.57);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2), 1e-6, 0.62 + 0.5, 1.24 / s - 1, 2.62 + 0.5, 5.24 / s - 1);
    TU_ASSERT_VALUES(mm, AM_SHAPE(2), 1e-6, 0.38, 0.76);
    am_scope_end();
}

/* Runs BatchNorm with output_mean_var and compares every output and the moving
 * statistics with the naive reference. */
static bool bn_matches(am_array *x, int axis, bool train, bool fix_gamma, double tol)
{
    bn_geo q = geo_of(x, axis);
    am_dtype t = am_array_dtype(x);
    am_array *g = tu_random(AM_SHAPE(q.c), t, 0.5, 2), *b = tu_random(AM_SHAPE(q.c), t, -1, 1);
    am_array *mm = tu_random(AM_SHAPE(q.c), t, -1, 1), *mv = tu_random(AM_SHAPE(q.c), t, 0.5, 2);
    bn_ref r = naive_bn(x, g, b, mm, mv, 1e-3, 0.75, fix_gamma, axis, train);
    am_array *in[5] = {x, g, b, mm, mv}, *out[3] = {NULL};
    char vals[96];
    snprintf(vals, sizeof(vals), "%d|0.75|%s|True", axis, fix_gamma ? "True" : "False");
    bool was = am_autograd_set_training(train);
    am_status st = tu_invoke("BatchNorm", in, 5, "axis|momentum|fix_gamma|output_mean_var", vals,
                          out, 3);
    am_autograd_set_training(was);
    return st == AM_OK && tu_allclose(out[0], r.y, tol) && tu_allclose(out[1], r.mean, tol) &&
           tu_allclose(out[2], r.invstd, tol) && tu_allclose(mm, r.mm, tol) &&
           tu_allclose(mv, r.mv, tol);
}

static void test_batch_norm_reference(void)
{
    am_scope_begin();
    static const struct { am_shape s; int axis; am_dtype t; } cases[] = {
        {{4, {4, 3, 5, 2}}, 1, F32}, {{4, {3, 2, 2, 5}}, -1, F64}, {{4, {3, 2, 2, 5}}, 3, F32},
        {{2, {6, 4}}, 1, F64},       {{3, {2, 3, 4}}, 2, F32},     {{2, {5, 300}}, 1, F32},
        {{3, {2, 3, 400}}, 0, F64},  {{3, {70, 3, 200}}, 1, F32},  {{2, {1000, 40}}, -1, F32},
        {{1, {7}}, 0, F64},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int mode = 0; mode < 4; mode++) {
            am_scope_begin();
            am_array *x = tu_random(cases[i].s, cases[i].t, -2, 3);
            int axis = (cases[i].axis + cases[i].s.ndim) % cases[i].s.ndim;
            double tol = cases[i].t == F32 ? 2e-5 : 1e-10;
            bool ok = bn_matches(x, axis, mode & 1, mode & 2, tol);
            if (!ok) printf("  (case %zu, mode %d)\n", i, mode);
            CU_ASSERT(ok);
            am_scope_end();
        }
    /* The batch mean far from zero relative to the spread: statistics in double. */
    CU_ASSERT(bn_matches(tu_random(AM_SHAPE(200, 8), F32, 999, 1001), 1, true, false, 1e-4));
    /* The statistics are one pass over memory, merged piece by piece (a run of the
     * inner axis, or 32 rows when inner is 1): as exact as two passes even when the
     * mean is 1e6 times the spread (float64), with pieces of every kind (uneven last ones). */
    static const struct { am_shape s; int axis; } far[] = {
        {{3, {70, 3, 5}}, 1}, {{2, {101, 5}}, 1}, {{4, {3, 2, 33, 1}}, 1}, {{3, {33, 2, 1}}, 1},
    };
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        am_array *x = tu_random(far[i].s, F64, 1e6, 1e6 + 1);
        CU_ASSERT(bn_matches(x, far[i].axis, true, false, 1e-7));
        x = tu_random(far[i].s, F32, 999, 1001); /* float32 holds the centred output */
        CU_ASSERT(bn_matches(x, far[i].axis, true, false, 1e-4));
    }
    am_scope_end();
}

/* k training steps update the moving statistics k times; inference then uses them. */
static void test_batch_norm_moving_steps(void)
{
    am_scope_begin();
    am_array *g = tu_random(AM_SHAPE(3), F64, 0.5, 2), *b = tu_random(AM_SHAPE(3), F64, -1, 1);
    am_array *mm = am_zeros(AM_SHAPE(3), F64), *mv = am_ones(AM_SHAPE(3), F64);
    am_array *want_mm = am_copy(mm), *want_mv = am_copy(mv);
    for (int k = 0; k < 4; k++) {
        am_array *x = tu_random(AM_SHAPE(5, 3, 2), F64, -1 + k, 2 + 2 * k);
        bn_ref r = naive_bn(x, g, b, want_mm, want_mv, 1e-5, 0.9, false, 1, true);
        am_autograd_record_begin(true);
        am_array *y = am_batch_norm(x, g, b, mm, mv, 1e-5, 0.9, false, false, 1);
        am_autograd_end();
        CU_ASSERT(tu_allclose(y, r.y, 1e-10));
        want_mm = r.mm, want_mv = r.mv;
        CU_ASSERT(tu_allclose(mm, want_mm, 1e-12));
        CU_ASSERT(tu_allclose(mv, want_mv, 1e-12));
    }
    am_array *x = tu_random(AM_SHAPE(2, 3, 2), F64, -1, 1), *before = am_copy(mm);
    bn_ref r = naive_bn(x, g, b, mm, mv, 1e-5, 0.9, false, 1, false);
    CU_ASSERT(tu_allclose(am_batch_norm(x, g, b, mm, mv, 1e-5, 0.9, false, false, 1), r.y, 1e-10));
    CU_ASSERT(tu_allclose(mm, before, 0));
    am_scope_end();
}

/* The kernel honours AM_REQ_ADD and AM_REQ_NULL in training, updating the moving
 * statistics once per call either way. */
static void test_batch_norm_requests(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(4, 3), F64, -1, 1), *g = tu_random(AM_SHAPE(3), F64, 1, 2);
    am_array *b = tu_random(AM_SHAPE(3), F64, -1, 1);
    am_array *mm = am_zeros(AM_SHAPE(3), F64), *mv = am_ones(AM_SHAPE(3), F64);
    bn_ref r = naive_bn(x, g, b, mm, mv, 1e-3, 0.9, false, 1, true);
    am_array *base[3] = {tu_random(AM_SHAPE(4, 3), F64, -1, 1), tu_random(AM_SHAPE(3), F64, -1, 1),
                         tu_random(AM_SHAPE(3), F64, -1, 1)};
    am_array *out[3] = {am_copy(base[0]), am_copy(base[1]), am_copy(base[2])};
    am_array *in[5] = {x, g, b, mm, mv}, *want[3] = {r.y, r.mean, r.invstd};
    CU_ASSERT_EQUAL(tu_run_kernel("BatchNorm", "fix_gamma", "False", in, 5, out, AM_REQ_ADD, true),
                    AM_OK);
    for (int i = 0; i < 3; i++) CU_ASSERT(tu_allclose(out[i], am_add(base[i], want[i]), 1e-12));
    CU_ASSERT(tu_allclose(mm, r.mm, 1e-12));
    bn_ref r2 = naive_bn(x, g, b, mm, mv, 1e-3, 0.9, false, 1, true);
    CU_ASSERT_EQUAL(tu_run_kernel("BatchNorm", "fix_gamma", "False", in, 5, base, AM_REQ_NULL, true),
                    AM_OK);
    CU_ASSERT(tu_allclose(base[0], am_sub(out[0], want[0]), 1e-12));
    CU_ASSERT(tu_allclose(mm, r2.mm, 1e-12));
    CU_ASSERT(tu_allclose(mv, r2.mv, 1e-12));
    am_scope_end();
}

typedef struct bn_call {
    am_array *in[5];
    int axis;
    bool fix_gamma, global, train;
} bn_call;

static am_array *bn_forward(am_array *x, void *ctx)
{
    AM_UNUSED(x);
    bn_call *c = ctx;
    bool was = am_autograd_set_training(c->train);
    am_array *y = am_batch_norm(c->in[0], c->in[1], c->in[2], c->in[3], c->in[4], 1e-3, 0.9,
                                c->fix_gamma, c->global, c->axis);
    am_autograd_set_training(was);
    return y;
}

/* Gradients of sum(BatchNorm(x) * w) by autograd, with the forward and the backward in
 * the call's mode, against the naive formulas and central differences. */
static bool bn_grads_match(bn_call *c)
{
    am_array *x = c->in[0], *g = c->in[1], *b = c->in[2];
    for (int i = 0; i < 3; i++) am_attach_grad(c->in[i], AM_GRAD_WRITE);
    bool batch = c->train && !c->global;
    bn_ref r = naive_bn(x, g, b, c->in[3], c->in[4], 1e-3, 0.9, c->fix_gamma, c->axis, batch);
    am_array *w = tu_random(am_array_shape(x), F64, -1, 1), *dx, *dg, *db;
    naive_bn_grad(x, g, w, &r, c->fix_gamma, c->axis, batch, &dx, &dg, &db);
    am_autograd_record_begin(c->train);
    am_array *y = bn_forward(x, c);
    bool ok = am_backward_at(y, w, false, AM_HERE) == AM_OK; /* in the forward's mode */
    am_autograd_end();
    ok = ok && tu_allclose(am_grad(x), dx, 1e-9) && tu_allclose(am_grad(g), dg, 1e-9) &&
         tu_allclose(am_grad(b), db, 1e-9);
    for (int i = 0; i < 3 && ok; i++)
        for (int64_t j = 0, n = am_array_size(c->in[i]); j < n; j += n > 60 ? n / 20 : 3) {
            double num = central_diff(bn_forward, c, c->in[i], w, j);
            double ana = get(am_grad(c->in[i]), j);
            if (fabs(num - ana) > 1e-6 * (1 + fabs(num))) {
                printf("\n  input %d element %lld: analytic %.9g, numerical %.9g", i,
                       (long long)j, ana, num);
                ok = false;
            }
        }
    return ok;
}

static void test_batch_norm_gradients(void)
{
    static const struct { am_shape s; int axis; bool fix, global, train; } cases[] = {
        {{3, {4, 3, 2}}, 1, false, false, true},  {{3, {4, 3, 2}}, 1, false, false, false},
        {{4, {2, 2, 3, 3}}, 3, false, false, true}, {{2, {6, 3}}, 1, false, false, true},
        {{2, {6, 3}}, -1, true, false, true},     {{3, {3, 2, 4}}, 1, false, true, true},
        {{3, {3, 2, 4}}, 1, true, false, false},  {{2, {5, 300}}, 1, false, false, true},
        {{3, {40, 4, 250}}, 1, false, false, true}, /* OpenMP over the channels */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        am_scope_begin();
        int axis = (cases[i].axis + cases[i].s.ndim) % cases[i].s.ndim;
        am_shape cs = AM_SHAPE(cases[i].s.dim[axis]);
        bn_call c = {{tu_random(cases[i].s, F64, -2, 2), tu_random(cs, F64, 0.5, 2),
                      tu_random(cs, F64, -1, 1), tu_random(cs, F64, -1, 1),
                      tu_random(cs, F64, 0.5, 2)},
                     axis, cases[i].fix, cases[i].global, cases[i].train};
        bool ok = bn_grads_match(&c);
        if (!ok) printf("  (case %zu)\n", i);
        CU_ASSERT(ok);
        am_scope_end();
    }
}

/* fix_gamma gives gamma a zero gradient; the moving statistics get none at all; the
 * hidden mean and inverse std pass no gradient back (as in MXNet). */
static void test_batch_norm_gradient_rules(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(4, 2), F64, -1, 1), *g = tu_random(AM_SHAPE(2), F64, 1, 2);
    am_array *b = am_zeros(AM_SHAPE(2), F64), *mm = am_zeros(AM_SHAPE(2), F64);
    am_array *mv = am_ones(AM_SHAPE(2), F64), *in[5] = {x, g, b, mm, mv}, *out[3] = {NULL};
    for (int i = 0; i < 5; i++) am_attach_grad(in[i], AM_GRAD_ADD);
    am_array_fill(am_grad(g), 7.0), am_array_fill(am_grad(mm), 7.0);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke("BatchNorm", in, 5, "output_mean_var", "True", out, 3), AM_OK);
    am_array *ones[3] = {am_ones_like(out[0]), am_ones_like(out[1]), am_ones_like(out[2])}, *dx;
    CU_ASSERT_EQUAL(am_backward_at(out[0], ones[0], true, AM_HERE), AM_OK);
    /* With the mean and inverse std as heads too, d/dx is unchanged. */
    CU_ASSERT_EQUAL(am_grad_of(out, ones, 3, &x, 1, false, false, &dx), AM_OK);
    am_autograd_end();
    TU_ASSERT_VALUES(am_grad(g), AM_SHAPE(2), 0, 7, 7);   /* zero added */
    TU_ASSERT_VALUES(am_grad(mm), AM_SHAPE(2), 0, 7, 7);  /* untouched */
    TU_ASSERT_VALUES(am_grad(mv), AM_SHAPE(2), 0, 0, 0);
    TU_ASSERT_VALUES(am_grad(b), AM_SHAPE(2), 1e-12, 4, 4);
    /* d sum(out) / dx is zero in training, and the blocked mean/invstd add nothing. */
    CU_ASSERT(tu_allclose(am_grad(x), am_zeros(AM_SHAPE(4, 2), F64), 1e-12));
    CU_ASSERT(tu_allclose(dx, am_zeros(AM_SHAPE(4, 2), F64), 1e-12));
    am_scope_end();
}

/* An empty batch teaches nothing: the moving statistics stay and the gradients are zero.
 * One sample per channel has variance 0: the output is beta, and with eps 0 the inverse
 * std is 0 rather than infinite, as in MXNet. */
static void test_batch_norm_edges(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(0, 2), F64), *g = tu_array(F64, AM_SHAPE(2), 2, 3);
    am_array *b = tu_array(F64, AM_SHAPE(2), 0.25, 0.5), *mm = tu_array(F64, AM_SHAPE(2), 0.5, -1);
    am_array *mv = tu_array(F64, AM_SHAPE(2), 2, 3), *in[5] = {x, g, b, mm, mv}, *out[3];
    for (int i = 0; i < 3; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke("BatchNorm", in, 5, "fix_gamma|output_mean_var", "False|True", out, 3),
                    AM_OK);
    CU_ASSERT_EQUAL(am_backward_at(out[0], am_zeros(AM_SHAPE(0, 2), F64), false, AM_HERE), AM_OK);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_array_size(out[0]), 0);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2), 0, NAN, NAN);
    TU_ASSERT_VALUES(mm, AM_SHAPE(2), 0, 0.5, -1);
    TU_ASSERT_VALUES(mv, AM_SHAPE(2), 0, 2, 3);
    TU_ASSERT_VALUES(am_grad(g), AM_SHAPE(2), 0, 0, 0);
    TU_ASSERT_VALUES(am_grad(b), AM_SHAPE(2), 0, 0, 0);

    in[0] = tu_array(F64, AM_SHAPE(1, 2), 3, -4);
    bool was = am_autograd_set_training(true);
    CU_ASSERT_EQUAL(tu_invoke("BatchNorm", in, 5, "eps|fix_gamma|output_mean_var", "0|False|True",
                           out, 3), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1, 2), 0, 0.25, 0.5);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(2), 0, 0, 0);
    CU_ASSERT_EQUAL(tu_invoke("BatchNorm", in, 5, "output_mean_var", "True", out, 3), AM_OK);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(2), 1e-12, 1 / sqrt(1e-3), 1 / sqrt(1e-3));
    am_autograd_set_training(was);
    am_scope_end();
}

static void test_batch_norm_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), F32), *c3 = am_ones(AM_SHAPE(3), F32);
    TU_ASSERT_FAILS(am_batch_norm(x, c3, c3, c3, c3, 1e-3, 0.9, true, false, 2), AM_ERR_ARG,
                    "BatchNorm: axis 2 is out of range for data (2, 3) at test_ops_norm.c");
    TU_ASSERT_FAILS(am_batch_norm(x, c3, c3, c3, c3, 1e-3, 0.9, true, false, -3), AM_ERR_ARG,
                    "axis -3 is out of range");
    TU_ASSERT_FAILS(am_batch_norm(am_zeros(AM_SHAPE(), F32), c3, c3, c3, c3, 1e-3, 0.9, true,
                                  false, 1), AM_ERR_ARG, "axis 1 is out of range for data ()");
    am_array *c4 = am_ones(AM_SHAPE(4), F32);
    TU_ASSERT_FAILS(am_batch_norm(x, c4, c3, c3, c3, 1e-3, 0.9, true, false, 1), AM_ERR_SHAPE,
                    "gamma (4,) must be (3,) for data (2, 3) (its size along axis 1)");
    TU_ASSERT_FAILS(am_batch_norm(x, c3, c3, c3, c4, 1e-3, 0.9, true, false, 1), AM_ERR_SHAPE,
                    "moving_var (4,) must be (3,)");
    TU_ASSERT_FAILS(am_batch_norm(x, c3, c3, c3, c3, 1e-3, 0.9, true, false, 0), AM_ERR_SHAPE,
                    "gamma (3,) must be (2,) for data (2, 3) (its size along axis 0)");
    TU_ASSERT_FAILS(am_batch_norm(x, c3, c3, am_ones(AM_SHAPE(3), F64), c3, 1e-3, 0.9, true,
                                  false, 1), AM_ERR_DTYPE,
                    "moving_mean is float64 but data is float32");
    am_array *i3 = am_ones(AM_SHAPE(3), AM_DTYPE_INT32);
    TU_ASSERT_FAILS(am_batch_norm(am_zeros(AM_SHAPE(2, 3), AM_DTYPE_INT32), i3, i3, i3, i3,
                                  1e-3, 0.9, true, false, 1), AM_ERR_DTYPE,
                    "int32 data not supported");
    TU_ASSERT_FAILS(am_batch_norm(x, c3, c3, c3, c3, -1, 0.9, true, false, 1), AM_ERR_ARG,
                    "eps must be non-negative");
    am_array *in[5] = {x, c3, c3, c3, c3}, *out[3];
    TU_ASSERT_FAILS(tu_invoke("BatchNorm", in, 5, "", "", out, 3) == AM_OK, AM_ERR_ARG,
                    "has 1 outputs, caller asked for 3");
    TU_ASSERT_FAILS(am_batch_norm(NULL, c3, c3, c3, c3, 1e-3, 0.9, true, false, 1), AM_ERR_ARG,
                    "BatchNorm");
    am_array *bin[8] = {am_zeros(AM_SHAPE(3, 2), F32), c3, c3, x, c3, c3, c3, c3};
    TU_ASSERT_FAILS(tu_invoke("_backward_BatchNorm", bin, 8, "", "", out, 3) == AM_OK, AM_ERR_SHAPE,
                    "out_grad (3, 2) does not match data (2, 3)");
    am_scope_end();
}

static void test_batch_norm_attributes(void)
{
    char buf[512];
    defaults_of("BatchNorm", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "eps=0.001;momentum=0.9;fix_gamma=True;use_global_stats=False;"
                                "output_mean_var=False;axis=1;cudnn_off=False;"
                                "min_calib_range=None;max_calib_range=None");
    const am_op_def *op = am_op_find("BatchNorm");
    CU_ASSERT_PTR_EQUAL(am_op_find("_npx_batch_norm"), op);
    CU_ASSERT_EQUAL(op->num_aux, 2);
    CU_ASSERT_EQUAL(op->num_outputs, 3);
    CU_ASSERT_STRING_EQUAL(op->input_names[3], "moving_mean");
    CU_ASSERT_STRING_EQUAL(op->input_names[4], "moving_var");
    void *a = am_attrs_parse(op, (const char *[]){"axis", "output_mean_var"},
                             (const char *[]){"-1", "True"}, 2);
    CU_ASSERT_EQUAL(am_op_num_visible(op, a), 3);
    /* Shape inference fills unknown gamma, beta and moving statistics with (C,). */
    am_shape in[5] = {AM_SHAPE(2, 5, 7), {.ndim = -1}, {.ndim = -1}, {.ndim = -1}, {.ndim = -1}};
    am_shape out[3];
    CU_ASSERT_EQUAL_FATAL(op->infer_shape(a, in, 5, out, 3), AM_OK);
    for (int i = 1; i < 5; i++) CU_ASSERT(in[i].ndim == 1 && in[i].dim[0] == 7);
    CU_ASSERT(out[1].ndim == 1 && out[1].dim[0] == 7 && out[2].dim[0] == 7);
    CU_ASSERT(out[0].ndim == 3 && out[0].dim[2] == 7);
    am_dtype ti[5] = {F64, AM_DTYPE_COUNT, F64, AM_DTYPE_COUNT, F64}, to[3];
    CU_ASSERT_EQUAL(op->infer_dtype(a, ti, 5, to, 3), AM_OK);
    CU_ASSERT(ti[1] == F64 && ti[3] == F64 && to[0] == F64 && to[2] == F64);
    free(a);
}

/* ---- InstanceNorm, GroupNorm ------------------------------------------------------------- */

/* GroupNorm in double (InstanceNorm: groups == C): the output, and the mean and variance
 * of each (sample, group) row. */
static am_array *naive_gn(am_array *x, am_array *g, am_array *b, int64_t groups, double eps,
                          am_array **mean, am_array **var)
{
    int64_t n = am_array_dim(x, 0), rows = n * groups, m = rows ? am_array_size(x) / rows : 0;
    am_array *y = am_zeros(am_array_shape(x), F64);
    *mean = am_zeros(AM_SHAPE(n, groups), F64), *var = am_zeros(AM_SHAPE(n, groups), F64);
    for (int64_t r = 0; r < rows; r++) {
        double mu = 0, v = 0;
        for (int64_t j = 0; j < m; j++) mu += get(x, r * m + j) / (double)m;
        for (int64_t j = 0; j < m; j++) v += pow(get(x, r * m + j) - mu, 2) / (double)m;
        set(*mean, r, mu), set(*var, r, v);
        for (int64_t j = 0; j < m; j++)
            set(y, r * m + j, (get(x, r * m + j) - mu) / sqrt(v + eps) * get(g, r % groups) +
                                  get(b, r % groups));
    }
    return y;
}

/* The gradients of sum(GroupNorm(x) * dy) in double, term by term. */
static void naive_gn_grad(am_array *x, am_array *g, am_array *dy, int64_t groups, double eps,
                          am_array **dx, am_array **dg, am_array **db)
{
    am_array *mean, *var;
    naive_gn(x, g, g, groups, eps, &mean, &var);
    int64_t rows = am_array_size(mean), m = rows ? am_array_size(x) / rows : 0;
    *dx = am_zeros(am_array_shape(x), F64);
    *dg = am_zeros(AM_SHAPE(groups), F64), *db = am_zeros(AM_SHAPE(groups), F64);
    for (int64_t r = 0; r < rows; r++) {
        double mu = get(mean, r), sd = sqrt(get(var, r) + eps), gk = get(g, r % groups);
        double dmu = 0, dvar = 0; /* d loss / d mean, d loss / d var */
        for (int64_t j = 0; j < m; j++) {
            double d = get(dy, r * m + j), xc = get(x, r * m + j) - mu;
            set(*dg, r % groups, get(*dg, r % groups) + d * xc / sd);
            set(*db, r % groups, get(*db, r % groups) + d);
            dmu += -d * gk / sd;
            dvar += d * gk * xc * -0.5 * pow(sd, -3);
        }
        for (int64_t j = 0; j < m; j++) {
            double d = get(dy, r * m + j), xc = get(x, r * m + j) - mu;
            set(*dx, r * m + j, d * gk / sd + dvar * 2 * xc / (double)m + dmu / (double)m);
        }
    }
}

/* sqrt(var + eps) elementwise, in double. */
static am_array *std_of(am_array *var, double eps)
{
    am_array *s = am_astype(var, F64);
    for (int64_t i = 0; i < am_array_size(s); i++) set(s, i, sqrt(get(s, i) + eps));
    return s;
}

static void test_instance_norm_values(void)
{
    am_scope_begin();
    /* Row (0, 0) is 1..4: mean 2.5, var 1.25; row (0, 1) is constant. */
    am_array *x = tu_array(F32, AM_SHAPE(1, 2, 4), 1, 2, 3, 4, 2, 2, 2, 2);
    am_array *g = tu_array(F32, AM_SHAPE(2), 1, 2), *b = tu_array(F32, AM_SHAPE(2), 0, 1);
    double sd = sqrt(1.251);
    TU_ASSERT_VALUES(am_instance_norm(x, g, b, 1e-3), AM_SHAPE(1, 2, 4), 1e-6, -1.5 / sd,
                     -0.5 / sd, 0.5 / sd, 1.5 / sd, 1, 1, 1, 1);
    am_array *in[3] = {x, g, b}, *out[3] = {am_zeros(AM_SHAPE(1, 2, 4), F32),
                                            am_zeros(AM_SHAPE(1, 2), F32),
                                            am_zeros(AM_SHAPE(1, 2), F32)};
    CU_ASSERT_EQUAL(tu_run_kernel("InstanceNorm", "eps", "0.001", in, 3, out, AM_REQ_WRITE, false),
                    AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 2), 1e-7, 2.5, 2);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(1, 2), 1e-7, 1.25, 0); /* the variance */
    char buf[64];
    defaults_of("InstanceNorm", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "eps=0.001");
    am_scope_end();
}

static void test_group_norm_values(void)
{
    am_scope_begin();
    /* Groups {1, 2} and {3, 4}: means 1.5, 3.5, std 0.5 each (eps 0). */
    am_array *x = tu_array(F32, AM_SHAPE(1, 4, 1), 1, 2, 3, 4);
    am_array *g = tu_array(F32, AM_SHAPE(2), 2, 3), *b = tu_array(F32, AM_SHAPE(2), 0, 1);
    am_array *in[3] = {x, g, b}, *out[3] = {NULL};
    CU_ASSERT_EQUAL(tu_invoke("GroupNorm", in, 3, "num_groups|eps|output_mean_var", "2|0|True",
                           out, 3), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1, 4, 1), 1e-6, -2, 2, -2, 4);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 2), 1e-7, 1.5, 3.5);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(1, 2), 1e-7, 0.5, 0.5); /* the std */
    TU_ASSERT_VALUES(am_group_norm(x, am_ones(AM_SHAPE(1), F32), am_zeros(AM_SHAPE(1), F32), 1,
                                   0), AM_SHAPE(1, 4, 1), 1e-6, -1.5 / sqrt(1.25),
                     -0.5 / sqrt(1.25), 0.5 / sqrt(1.25), 1.5 / sqrt(1.25));
    char buf[128];
    defaults_of("GroupNorm", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "num_groups=1;eps=1e-05;output_mean_var=False");
    am_scope_end();
}

/* Forward, hidden statistics and gradients against the naive references; InstanceNorm
 * equals GroupNorm with one group per channel. */
static void test_group_norm_reference(void)
{
    static const struct { am_shape s; int groups; am_dtype t; } cases[] = {
        {{3, {2, 6, 3}}, 3, F32}, {{4, {3, 4, 2, 2}}, 2, F64}, {{3, {2, 4, 5}}, 1, F32},
        {{3, {2, 4, 5}}, 4, F64}, {{3, {2, 2, 9000}}, 2, F32}, {{3, {1, 1, 1}}, 1, F64},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        am_scope_begin();
        int64_t G = cases[i].groups, C = cases[i].s.dim[1];
        double tol = cases[i].t == F32 ? 2e-5 : 1e-10, eps = 1e-5;
        am_array *x = tu_random(cases[i].s, cases[i].t, -2, 3);
        am_array *g = tu_random(AM_SHAPE(G), cases[i].t, 0.5, 2);
        am_array *b = tu_random(AM_SHAPE(G), cases[i].t, -1, 1), *mean, *var;
        am_array *want = naive_gn(x, g, b, G, eps, &mean, &var);
        am_array *in[3] = {x, g, b}, *out[3] = {NULL};
        char vals[64];
        snprintf(vals, sizeof(vals), "%d|1e-05|True", cases[i].groups);
        CU_ASSERT_EQUAL(tu_invoke("GroupNorm", in, 3, "num_groups|eps|output_mean_var", vals, out, 3),
                        AM_OK);
        bool ok = tu_allclose(out[0], want, tol) && tu_allclose(out[1], mean, tol) &&
                  tu_allclose(out[2], std_of(var, eps), tol);
        if (G == C) ok = ok && tu_allclose(am_instance_norm(x, g, b, eps), want, tol);
        /* Gradients of the output alone (mean and std unused) in double. */
        am_array *xd = am_astype(x, F64), *gd = am_astype(g, F64), *bd = am_astype(b, F64);
        am_array *w = tu_random(cases[i].s, F64, -1, 1), *dx, *dg, *db;
        am_array *vars[3] = {xd, gd, bd};
        for (int k = 0; k < 3; k++) am_attach_grad(vars[k], AM_GRAD_WRITE);
        am_autograd_record_begin(false);
        am_array *y = G == C && i % 2 ? am_instance_norm(xd, gd, bd, eps)
                                      : am_group_norm(xd, gd, bd, (int)G, eps);
        am_autograd_end();
        ok = ok && am_backward_at(y, w, false, AM_HERE) == AM_OK;
        naive_gn_grad(xd, gd, w, G, eps, &dx, &dg, &db);
        ok = ok && tu_allclose(am_grad(xd), dx, 1e-9) && tu_allclose(am_grad(gd), dg, 1e-9) &&
             tu_allclose(am_grad(bd), db, 1e-9);
        if (!ok) printf("  (case %zu)\n", i);
        CU_ASSERT(ok);
        am_scope_end();
    }
}

/* sum(out * w0) + sum(mean * w1) + sum(std * w2) for GroupNorm with output_mean_var,
 * evaluated without recording. */
static double gn3_loss(am_array **in, am_array **w)
{
    am_array *out[3] = {NULL};
    double loss = 0;
    if (tu_invoke("GroupNorm", in, 3, "num_groups|output_mean_var", "2|True", out, 3) != AM_OK)
        return NAN;
    for (int k = 0; k < 3; k++)
        for (int64_t j = 0; j < am_array_size(out[k]); j++) loss += get(out[k], j) * get(w[k], j);
    return loss;
}

/* With output_mean_var the mean and std are outputs like any other: gradients flow
 * through them (central differences). */
static void test_group_norm_stat_gradients(void)
{
    am_scope_begin();
    am_array *in[3] = {tu_random(AM_SHAPE(2, 4, 3), F64, -1, 1),
                       tu_random(AM_SHAPE(2), F64, 0.5, 2), tu_random(AM_SHAPE(2), F64, -1, 1)};
    am_array *w[3] = {tu_random(AM_SHAPE(2, 4, 3), F64, -1, 1),
                      tu_random(AM_SHAPE(2, 2), F64, -1, 1), tu_random(AM_SHAPE(2, 2), F64, -1, 1)};
    am_array *out[3] = {NULL}, *grads[3] = {NULL};
    for (int i = 0; i < 3; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    CU_ASSERT_EQUAL(tu_invoke("GroupNorm", in, 3, "num_groups|output_mean_var", "2|True", out, 3),
                    AM_OK);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_grad_of(out, w, 3, in, 3, false, false, grads), AM_OK);
    for (int i = 0; i < 3; i++)
        for (int64_t j = 0; j < am_array_size(in[i]); j++) {
            double x0 = get(in[i], j), l[2];
            for (int s = 0; s < 2; s++) {
                set(in[i], j, x0 + (s ? -1e-6 : 1e-6));
                am_scope_begin();
                l[s] = gn3_loss(in, w);
                am_scope_end();
            }
            set(in[i], j, x0);
            double num = (l[0] - l[1]) / 2e-6, ana = get(grads[i], j);
            if (fabs(num - ana) > 1e-6 * (1 + fabs(num)))
                printf("\n  input %d element %lld: analytic %.9g, numerical %.9g", i,
                       (long long)j, ana, num);
            CU_ASSERT(fabs(num - ana) <= 1e-6 * (1 + fabs(num)));
        }
    am_scope_end();
}

static void test_instance_group_norm_errors(void)
{
    am_scope_begin();
    am_array *x2 = am_zeros(AM_SHAPE(2, 3), F32), *x = am_zeros(AM_SHAPE(2, 6, 3), F32);
    am_array *c3 = am_ones(AM_SHAPE(3), F32), *c6 = am_ones(AM_SHAPE(6), F32);
    am_array *c2 = am_ones(AM_SHAPE(2), F32);
    TU_ASSERT_FAILS(am_instance_norm(x2, c3, c3, 1e-3), AM_ERR_SHAPE,
                    "InstanceNorm: data (2, 3) must have at least 3 axes (N, C, ...)");
    TU_ASSERT_FAILS(am_instance_norm(x, c3, c6, 1e-3), AM_ERR_SHAPE,
                    "gamma (3,) must be (6,) for data (2, 6, 3) (its channels)");
    TU_ASSERT_FAILS(am_instance_norm(x, c6, am_ones(AM_SHAPE(6), F64), 1e-3), AM_ERR_DTYPE,
                    "beta is float64 but data is float32");
    TU_ASSERT_FAILS(am_instance_norm(x, c6, c6, -1e-3), AM_ERR_ARG, "eps must be non-negative");
    TU_ASSERT_FAILS(am_group_norm(x, c6, c6, 4, 1e-5), AM_ERR_ARG,
                    "GroupNorm: num_groups 4 does not divide the 6 channels of data (2, 6, 3)");
    TU_ASSERT_FAILS(am_group_norm(x, c6, c6, 0, 1e-5), AM_ERR_ARG,
                    "num_groups must be positive, got 0");
    TU_ASSERT_FAILS(am_group_norm(x, c6, c2, 2, 1e-5), AM_ERR_SHAPE,
                    "gamma (6,) must be (2,) for data (2, 6, 3) (num_groups 2)");
    TU_ASSERT_FAILS(am_group_norm(x2, c2, c2, 1, 1e-5), AM_ERR_SHAPE, "at least 3 axes");
    am_array *i6 = am_ones(AM_SHAPE(6), AM_DTYPE_INT64);
    TU_ASSERT_FAILS(am_group_norm(am_zeros(AM_SHAPE(2, 6, 3), AM_DTYPE_INT64), i6, i6, 1, 1e-5),
                    AM_ERR_DTYPE, "int64 data not supported");
    am_array *bin[5] = {x, x, c2, am_zeros(AM_SHAPE(2, 3), F32), am_zeros(AM_SHAPE(2, 2), F32)};
    am_array *out[3];
    TU_ASSERT_FAILS(tu_invoke("_backward_GroupNorm", bin, 5, "num_groups", "2", out, 3) == AM_OK,
                    AM_ERR_SHAPE, "mean (2, 3) must be (2, 2) for data (2, 6, 3)");
    am_scope_end();
}

/* ---- L2Normalization ------------------------------------------------------------------- */

/* (outer, m, inner) with the norm over m, per mode (0 instance, 1 channel, 2 spatial). */
static void l2_geo(am_array *x, int mode, int64_t *outer, int64_t *m, int64_t *inner)
{
    int64_t n = am_array_dim(x, 0), c = am_array_ndim(x) > 1 ? am_array_dim(x, 1) : 1, rest = 1;
    for (int i = 2; i < am_array_ndim(x); i++) rest *= am_array_dim(x, i);
    *outer = mode == 2 ? n * c : n;
    *m = mode == 0 ? c * rest : mode == 1 ? c : rest;
    *inner = mode == 1 ? rest : 1;
}

static am_array *naive_l2(am_array *x, int mode, double eps, am_array **norm)
{
    int64_t outer, m, inner;
    l2_geo(x, mode, &outer, &m, &inner);
    am_array *y = am_zeros(am_array_shape(x), F64);
    *norm = am_zeros(AM_SHAPE(outer * inner), F64);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0;
            for (int64_t k = 0; k < m; k++) s += pow(get(x, (o * m + k) * inner + i), 2);
            set(*norm, o * inner + i, sqrt(s + eps));
            for (int64_t k = 0; k < m; k++) {
                int64_t j = (o * m + k) * inner + i;
                set(y, j, get(x, j) / sqrt(s + eps));
            }
        }
    return y;
}

/* d/dx of sum(x / |x| * dy): dy / n - x * sum(x * dy) / n^3, in double. */
static am_array *naive_l2_grad(am_array *x, int mode, double eps, am_array *dy)
{
    int64_t outer, m, inner;
    l2_geo(x, mode, &outer, &m, &inner);
    am_array *dx = am_zeros(am_array_shape(x), F64);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0, d = 0;
            for (int64_t k = 0; k < m; k++) {
                int64_t j = (o * m + k) * inner + i;
                s += pow(get(x, j), 2), d += get(x, j) * get(dy, j);
            }
            double n = sqrt(s + eps);
            for (int64_t k = 0; k < m; k++) {
                int64_t j = (o * m + k) * inner + i;
                set(dx, j, get(dy, j) / n - get(x, j) * d / (n * n * n));
            }
        }
    return dx;
}

static void test_l2_normalization_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(2, 2), 3, 4, 0, 0);
    TU_ASSERT_VALUES(am_l2_normalization(x, 1e-10, NULL), AM_SHAPE(2, 2), 1e-6, 0.6, 0.8, 0, 0);
    am_array *c = tu_array(F32, AM_SHAPE(1, 2, 2), 3, 1, 4, 0);
    TU_ASSERT_VALUES(am_l2_normalization(c, 0, "channel"), AM_SHAPE(1, 2, 2), 1e-6, 0.6, 1, 0.8,
                     0);
    TU_ASSERT_VALUES(am_l2_normalization(c, 0, "spatial"), AM_SHAPE(1, 2, 2), 1e-6,
                     3 / sqrt(10), 1 / sqrt(10), 1, 0);
    TU_ASSERT_VALUES(am_l2_normalization(tu_array(F64, AM_SHAPE(2), 2, -3), 0, "instance"),
                     AM_SHAPE(2), 1e-12, 1, -1);
    /* The hidden norm: (N,), (N, 1, ...) and (N, C). */
    am_array *out[2] = {am_zeros(AM_SHAPE(1, 2, 2), F32), am_zeros(AM_SHAPE(1, 1, 2), F32)};
    CU_ASSERT_EQUAL(tu_run_kernel("L2Normalization", "mode|eps", "channel|0", &c, 1, out,
                               AM_REQ_WRITE, false), AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 1, 2), 1e-6, 5, 1);
    out[1] = am_zeros(AM_SHAPE(1, 2), F32);
    CU_ASSERT_EQUAL(tu_run_kernel("L2Normalization", "mode|eps", "spatial|0", &c, 1, out,
                               AM_REQ_WRITE, false), AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 2), 1e-6, sqrt(10), 4);
    out[0] = am_zeros(AM_SHAPE(2, 2), F32), out[1] = am_zeros(AM_SHAPE(2), F32);
    CU_ASSERT_EQUAL(tu_run_kernel("L2Normalization", "", "", &x, 1, out, AM_REQ_WRITE, false), AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2), 1e-6, 5, 1e-5);
    char buf[64];
    defaults_of("L2Normalization", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "eps=1e-10;mode=instance");
    am_scope_end();
}

static void test_l2_normalization_reference(void)
{
    static const char *const modes[] = {"instance", "channel", "spatial"};
    static const struct { am_shape s; int mode; am_dtype t; } cases[] = {
        {{2, {4, 7}}, 0, F32},       {{3, {3, 4, 5}}, 0, F64},    {{3, {3, 4, 5}}, 1, F32},
        {{3, {2, 3, 300}}, 1, F64},  {{4, {2, 3, 2, 2}}, 2, F64}, {{3, {3, 4, 5}}, 2, F32},
        {{3, {4, 50, 200}}, 1, F32}, {{2, {300, 200}}, 0, F32},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        am_scope_begin();
        int mode = cases[i].mode;
        double tol = cases[i].t == F32 ? 1e-5 : 1e-12, eps = 1e-6;
        am_array *x = tu_random(cases[i].s, cases[i].t, -2, 2), *norm;
        am_array *want = naive_l2(x, mode, eps, &norm);
        bool ok = tu_allclose(am_l2_normalization(x, eps, modes[mode]), want, tol);
        am_array *xd = am_astype(x, F64), *w = tu_random(cases[i].s, F64, -1, 1);
        am_attach_grad(xd, AM_GRAD_WRITE);
        am_autograd_record_begin(false);
        am_array *y = am_l2_normalization(xd, eps, modes[mode]);
        am_autograd_end();
        ok = ok && am_backward_at(y, w, false, AM_HERE) == AM_OK &&
             tu_allclose(am_grad(xd), naive_l2_grad(xd, mode, eps, w), 1e-9);
        if (!ok) printf("  (case %zu)\n", i);
        CU_ASSERT(ok);
        am_scope_end();
    }
}

static void test_l2_normalization_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), F32);
    TU_ASSERT_FAILS(am_l2_normalization(x, 1e-10, "channel"), AM_ERR_SHAPE,
                    "L2Normalization: data (2, 3) must have at least 3 axes (N, C, ...)");
    TU_ASSERT_FAILS(am_l2_normalization(x, 1e-10, "spatial"), AM_ERR_SHAPE, "at least 3 axes");
    TU_ASSERT_FAILS(am_l2_normalization(am_zeros(AM_SHAPE(), F32), 1e-10, NULL), AM_ERR_SHAPE,
                    "data () must have at least 1 axes (instance mode)");
    TU_ASSERT_FAILS(am_l2_normalization(x, 1e-10, "bogus"), AM_ERR_ARG,
                    "L2Normalization: mode 'bogus' is not one of instance, channel, spatial at "
                    "test_ops_norm.c");
    TU_ASSERT_FAILS(am_l2_normalization(x, -1, NULL), AM_ERR_ARG, "eps must be non-negative");
    TU_ASSERT_FAILS(am_l2_normalization(am_zeros(AM_SHAPE(2, 3), AM_DTYPE_UINT8), 1e-10, NULL),
                    AM_ERR_DTYPE, "uint8 data not supported");
    am_array *y = NULL;
    TU_ASSERT_FAILS(tu_invoke("L2Normalization", &x, 1, "mode", "bogus", &y, 1) == AM_OK,
                    AM_ERR_FORMAT, "mode");
    am_array *bin[3] = {x, x, am_ones(AM_SHAPE(3), F32)};
    TU_ASSERT_FAILS(tu_invoke("_backward_L2Normalization", bin, 3, "", "", &y, 1) == AM_OK,
                    AM_ERR_SHAPE, "norm (3,) must be (2,) for output (2, 3)");
    am_scope_end();
}

CU_TestInfo am_tests_ops_norm[] = {
    {"BatchNorm hand-checked values and moving statistics", test_batch_norm_values},
    {"BatchNorm against a naive reference", test_batch_norm_reference},
    {"BatchNorm moving statistics over training steps", test_batch_norm_moving_steps},
    {"BatchNorm kernel requests in training", test_batch_norm_requests},
    {"BatchNorm gradients in training and inference", test_batch_norm_gradients},
    {"BatchNorm gradient rules (fix_gamma, aux, hidden)", test_batch_norm_gradient_rules},
    {"BatchNorm empty batch and single samples", test_batch_norm_edges},
    {"BatchNorm errors", test_batch_norm_errors},
    {"BatchNorm attributes and shape inference", test_batch_norm_attributes},
    {"InstanceNorm values", test_instance_norm_values},
    {"GroupNorm values", test_group_norm_values},
    {"GroupNorm and InstanceNorm against naive references", test_group_norm_reference},
    {"GroupNorm gradients through mean and std", test_group_norm_stat_gradients},
    {"InstanceNorm and GroupNorm errors", test_instance_group_norm_errors},
    {"L2Normalization values", test_l2_normalization_values},
    {"L2Normalization against naive references", test_l2_normalization_reference},
    {"L2Normalization errors", test_l2_normalization_errors},
    CU_TEST_INFO_NULL,
};
