/* The optimizer update ops of ndarray/ops/optimizer2.c: trajectories against MXNet 1.9.1's
 * (tests/fixtures/optimizer2, made by make_fixtures.py there), states and master weights
 * updated in place, the multi-tensor forms inside a plan (their states listed as auxiliary
 * states), the helpers (multi_sum_sq, multi_lars, all_finite), and errors. */
#include "test_util.h"

#define FIX "tests/fixtures/optimizer2/"
#define STEPS 3
#define ROW 12

enum {
    T_STEP = 1,      /* attribute t = the step number */
    T_RESCALE = 2,   /* a last input rescale_grad = [0.5] */
    T_PRELOAD = 4,   /* last inputs lrs = [0.1, 0.2], wds = [0.05, 0] */
    T_NUMW = 8,      /* attribute num_weights */
    T_LAMB = 16,     /* attributes step_count = (t, t) and num_tensors */
    T_MP = 32,       /* the last state is weight32, starting as the weight */
    T_HIST = 64,     /* the one state has shape (3, 1) */
    T_MPLAMB = 128,  /* mp_lamb_update_phase1, the norms, mp_lamb_update_phase2 */
    /* MXNet 1.9.1's multi-tensor mp kernels take the mixed-precision path only when weight
     * and weight32 differ in dtype: with both float32 they update the weight and leave
     * weight32 alone.  Amber always runs on weight32 (MXNet's float16 behaviour), so its
     * final weight32 is checked to equal the final weight instead. */
    T_W32_STALE = 256,
};

typedef struct traj2 {
    const char *name, *op;
    int nw, n_states; /* weights; states per weight, weight32 included */
    const char *keys, *vals;
    unsigned flags;
} traj2;

#define CK "wd|rescale_grad|clip_gradient"
#define CV "0.05|0.5|0.6"
#define LR2 "lrs|wds|"
#define LV2 "(0.1, 0.2)|(0.05, 0.0)|"

static const traj2 cases[] = {
    {"signsgd", "signsgd_update", 1, 0, "lr|" CK, "0.1|" CV, 0},
    {"signum", "signum_update", 1, 1, "lr|momentum|wd_lh|" CK, "0.1|0.9|0.02|" CV, 0},
    {"ftml", "ftml_update", 1, 3, "lr|beta1|beta2|epsilon|wd|rescale_grad|clip_grad",
     "0.1|0.6|0.9|0.0001|0.05|0.5|0.6", T_STEP},
    {"ftml_f64", "ftml_update", 1, 3, "lr|beta1|beta2|epsilon|wd|rescale_grad",
     "0.1|0.6|0.9|0.0001|0.05|0.5", T_STEP},
    {"ftrl", "ftrl_update", 1, 2, "lr|lamda1|beta|" CK, "0.1|0.01|1.0|" CV, 0},
    {"group_adagrad", "_contrib_group_adagrad_update", 1, 1,
     "lr|epsilon|rescale_grad|clip_gradient", "0.1|0.0001|0.5|0.6", T_HIST},
    {"mp_sgd", "mp_sgd_update", 1, 1, "lr|" CK, "0.1|" CV, T_MP},
    {"mp_sgd_mom", "mp_sgd_mom_update", 1, 2, "lr|momentum|" CK, "0.1|0.9|" CV, T_MP},
    {"mp_nag", "mp_nag_mom_update", 1, 2, "lr|momentum|" CK, "0.1|0.9|" CV, T_MP},
    {"mp_lamb", "mp_lamb", 1, 3, "beta1|beta2|epsilon|" CK, "0.8|0.95|0.0001|" CV,
     T_MP | T_MPLAMB},
    {"mp_adamw", "_mp_adamw_update", 1, 3,
     "lr|eta|beta1|beta2|epsilon|wd|clip_gradient", "0.05|0.5|0.8|0.95|0.0001|0.05|0.6",
     T_MP | T_RESCALE},
    {"multi_sgd", "multi_sgd_update", 2, 0, LR2 "rescale_grad|clip_gradient",
     LV2 "0.5|0.6", T_NUMW},
    {"multi_sgd_mom", "multi_sgd_mom_update", 2, 1, LR2 "momentum|rescale_grad|clip_gradient",
     LV2 "0.9|0.5|0.6", T_NUMW},
    {"multi_sgd_mom_f64", "multi_sgd_mom_update", 2, 1, LR2 "momentum|rescale_grad",
     LV2 "0.9|0.5", T_NUMW},
    {"multi_mp_sgd", "multi_mp_sgd_update", 2, 1, LR2 "rescale_grad|clip_gradient",
     LV2 "0.5|0.6", T_NUMW | T_MP | T_W32_STALE},
    {"multi_mp_sgd_mom", "multi_mp_sgd_mom_update", 2, 2,
     LR2 "momentum|rescale_grad|clip_gradient", LV2 "0.9|0.5|0.6", T_NUMW | T_MP | T_W32_STALE},
    {"preloaded_sgd", "preloaded_multi_sgd_update", 2, 0, "rescale_grad|clip_gradient",
     "0.5|0.6", T_NUMW | T_PRELOAD},
    {"preloaded_sgd_mom", "preloaded_multi_sgd_mom_update", 2, 1,
     "momentum|rescale_grad|clip_gradient", "0.9|0.5|0.6", T_NUMW | T_PRELOAD},
    {"preloaded_mp_sgd", "preloaded_multi_mp_sgd_update", 2, 1, "rescale_grad|clip_gradient",
     "0.5|0.6", T_NUMW | T_PRELOAD | T_MP | T_W32_STALE},
    {"preloaded_mp_sgd_mom", "preloaded_multi_mp_sgd_mom_update", 2, 2,
     "momentum|rescale_grad|clip_gradient", "0.9|0.5|0.6",
     T_NUMW | T_PRELOAD | T_MP | T_W32_STALE},
    {"multi_adamw", "_multi_adamw_update", 2, 2,
     "lrs|wds|etas|beta1|beta2|epsilon|clip_gradient",
     "(0.05, 0.1)|(0.05, 0.0)|(0.5, 1.0)|0.8|0.95|0.0001|0.6", T_NUMW | T_RESCALE},
    {"multi_mp_adamw", "_contrib_multi_mp_adamw_update", 2, 3,
     "lrs|wds|etas|beta1|beta2|epsilon", "(0.05, 0.1)|(0.05, 0.0)|(0.5, 1.0)|0.8|0.95|0.0001",
     T_NUMW | T_RESCALE | T_MP | T_W32_STALE},
    {"multi_lamb", "_multi_lamb_update", 2, 2,
     "learning_rates|wds|beta1|beta2|epsilon|rescale_grad|clip_gradient|lower_bound|"
     "upper_bound",
     "(0.05, 0.1)|(0.05, 0.0)|0.8|0.95|0.0001|0.5|0.6|0.1|3.0", T_LAMB},
    {"multi_lamb_nobc", "_multi_lamb_update", 2, 2,
     "learning_rates|wds|beta1|beta2|epsilon|bias_correction",
     "(0.05, 0.1)|(0.0, 0.05)|0.8|0.95|0.0001|False", T_LAMB},
    {"multi_mp_lamb", "_multi_mp_lamb_update", 2, 3,
     "learning_rates|wds|beta1|beta2|epsilon|rescale_grad",
     "(0.05, 0.1)|(0.05, 0.0)|0.8|0.95|0.0001|0.5", T_LAMB | T_MP | T_W32_STALE},
};

/* Row r of a fixture as a (3, 4) array of the scope. */
static am_array *row(am_array *fix, int r)
{
    size_t esz = am_dtype_size(am_array_dtype(fix));
    const char *base = am_array_data(fix);
    return am_from_buffer(base + (size_t)r * ROW * esz, AM_SHAPE(3, 4), am_array_dtype(fix));
}

/* mp_lamb_update_phase1, the L2 norms of weight32 and of the direction, phase 2. */
static am_status mp_lamb_step(const traj2 *c, am_array *w, am_array *g, am_array **st, int t,
                              am_array **y)
{
    char keys[160], vals[160];
    snprintf(keys, sizeof(keys), "%s|t", c->keys);
    snprintf(vals, sizeof(vals), "%s|%d", c->vals, t);
    am_array *d = NULL;
    am_array *in1[5] = {w, g, st[0], st[1], st[2]};
    am_status s = tu_invoke("mp_lamb_update_phase1", in1, 5, keys, vals, &d, 1);
    if (s != AM_OK) return s;
    am_array *in2[5] = {w, d, am_norm(st[2], 2, NULL, 0, false), am_norm(d, 2, NULL, 0, false),
                        st[2]};
    return tu_invoke("mp_lamb_update_phase2", in2, 5, "lr|lower_bound|upper_bound",
                     "0.05|0.1|3.0", y, 1);
}

/* One step of case c on weights w (replaced by the outputs). */
static am_status traj_step(const traj2 *c, am_array **w, am_array **g, am_array **st, int t)
{
    if (c->flags & T_MPLAMB) return mp_lamb_step(c, w[0], g[0], st, t, &w[0]);
    am_array *in[AM_MAX_OP_IO];
    int n = 0;
    am_dtype dt = am_array_dtype(w[0]);
    for (int j = 0; j < c->nw; j++) {
        in[n++] = w[j], in[n++] = g[j];
        for (int k = 0; k < c->n_states; k++) in[n++] = st[j * c->n_states + k];
    }
    if (c->flags & T_PRELOAD) {
        in[n++] = tu_array(dt, AM_SHAPE(2), 0.1, 0.2);
        in[n++] = tu_array(dt, AM_SHAPE(2), 0.05, 0.0);
    }
    if (c->flags & T_RESCALE) in[n++] = am_full(AM_SHAPE(1), dt, 0.5);
    char keys[256], vals[256];
    int kl = snprintf(keys, sizeof(keys), "%s", c->keys);
    int vl = snprintf(vals, sizeof(vals), "%s", c->vals);
    if (c->flags & T_STEP) {
        kl += snprintf(keys + kl, sizeof(keys) - kl, "|t");
        vl += snprintf(vals + vl, sizeof(vals) - vl, "|%d", t);
    }
    if (c->flags & T_NUMW) {
        kl += snprintf(keys + kl, sizeof(keys) - kl, "|num_weights");
        vl += snprintf(vals + vl, sizeof(vals) - vl, "|%d", c->nw);
    }
    if (c->flags & T_LAMB) {
        kl += snprintf(keys + kl, sizeof(keys) - kl, "|step_count|num_tensors");
        vl += snprintf(vals + vl, sizeof(vals) - vl, "|(%d, %d)|%d", t, t, c->nw);
    }
    am_array *out[4] = {0};
    am_status s = tu_invoke(c->op, in, n, keys, vals, out, c->nw);
    for (int j = 0; j < c->nw && s == AM_OK; j++) w[j] = out[j];
    return s;
}

static void run_case(const traj2 *c)
{
    char path[128];
    snprintf(path, sizeof(path), FIX "%s.npy", c->name);
    am_scope_begin();
    am_array *fix = am_npy_load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fix);
    int nw = c->nw, gr0 = nw, out0 = nw + STEPS * nw, st0 = nw + 2 * STEPS * nw;
    CU_ASSERT_EQUAL_FATAL(am_array_dim(fix, 0), st0 + nw * c->n_states);
    am_dtype dt = am_array_dtype(fix);
    double tol = dt == AM_DTYPE_FLOAT32 ? 3e-6 : 1e-6; /* MXNet's attributes are float32 */
    am_array *w[2], *st[6];
    for (int j = 0; j < nw; j++) {
        w[j] = am_copy(row(fix, j));
        for (int k = 0; k < c->n_states; k++) {
            bool w32 = (c->flags & T_MP) && k == c->n_states - 1;
            st[j * c->n_states + k] = w32 ? am_copy(w[j])
                                    : (c->flags & T_HIST) ? am_zeros(AM_SHAPE(3, 1), dt)
                                                          : am_zeros(AM_SHAPE(3, 4), dt);
        }
    }
    for (int t = 1; t <= STEPS; t++) {
        am_array *g[2];
        for (int j = 0; j < nw; j++) g[j] = row(fix, gr0 + (t - 1) * nw + j);
        am_status s = traj_step(c, w, g, st, t);
        if (s != AM_OK) printf("  (%s: %s)\n", c->name, am_last_error());
        CU_ASSERT_EQUAL_FATAL(s, AM_OK);
        for (int j = 0; j < nw; j++) {
            bool ok = tu_allclose(w[j], row(fix, out0 + (t - 1) * nw + j), tol);
            if (!ok) printf("  (%s, step %d, weight %d)\n", c->name, t, j);
            CU_ASSERT(ok);
        }
    }
    for (int i = 0; i < nw * c->n_states; i++) {
        am_array *want = row(fix, st0 + i);
        if ((c->flags & T_W32_STALE) && i % c->n_states == c->n_states - 1)
            want = w[i / c->n_states];
        if (c->flags & T_HIST) want = am_reshape(am_slice_axis(am_reshape(want, AM_SHAPE(12)),
                                                               0, 0, 3), AM_SHAPE(3, 1));
        bool ok = tu_allclose(st[i], want, tol);
        if (!ok) printf("  (%s, state %d)\n", c->name, i);
        CU_ASSERT(ok);
    }
    am_scope_end();
}

static void test_trajectories(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) run_case(&cases[i]);
}

/* The C functions run the same rules: signum, ftml, mp_nag and multi_sgd_mom over the
 * fixtures' steps. */
static void test_functions(void)
{
    am_scope_begin();
    am_array *f1 = am_npy_load(FIX "signum.npy"), *f2 = am_npy_load(FIX "ftml.npy");
    am_array *f3 = am_npy_load(FIX "mp_nag.npy"), *f4 = am_npy_load(FIX "multi_sgd_mom.npy");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1 && f2 && f3 && f4);
    am_dtype dt = AM_DTYPE_FLOAT32;
    am_array *w1 = row(f1, 0), *w2 = row(f2, 0), *w3 = row(f3, 0);
    am_array *w4[2] = {row(f4, 0), row(f4, 1)};
    am_array *mom = am_zeros(AM_SHAPE(3, 4), dt), *d = am_zeros(AM_SHAPE(3, 4), dt);
    am_array *v = am_zeros(AM_SHAPE(3, 4), dt), *z = am_zeros(AM_SHAPE(3, 4), dt);
    am_array *mom3 = am_zeros(AM_SHAPE(3, 4), dt), *w32 = am_copy(w3);
    am_array *moms[2] = {am_zeros(AM_SHAPE(3, 4), dt), am_zeros(AM_SHAPE(3, 4), dt)};
    const double lrs[2] = {0.1, 0.2}, wds[2] = {0.05, 0.0};
    for (int t = 1; t <= STEPS; t++) {
        w1 = am_signum_update(w1, row(f1, t), mom, 0.1, 0.9, 0.05, 0.5, 0.6, 0.02);
        w2 = am_ftml_update(w2, row(f2, t), d, v, z, 0.1, 0.6, 0.9, 1e-4, t, 0.05, 0.5, 0.6);
        w3 = am_mp_nag_mom_update(w3, row(f3, t), mom3, w32, 0.1, 0.9, 0.05, 0.5, 0.6);
        am_array *g4[2] = {row(f4, 2 * t), row(f4, 2 * t + 1)};
        CU_ASSERT_EQUAL(am_multi_sgd_mom_update(w4, g4, moms, 2, lrs, wds, 0.9, 0.5, 0.6, w4),
                        AM_OK);
    }
    CU_ASSERT(tu_allclose(w1, row(f1, 2 * STEPS), 3e-6));
    CU_ASSERT(tu_allclose(mom, row(f1, 2 * STEPS + 1), 3e-6));
    CU_ASSERT(tu_allclose(w2, row(f2, 2 * STEPS), 3e-6));
    CU_ASSERT(tu_allclose(z, row(f2, 2 * STEPS + 3), 3e-6));
    CU_ASSERT(tu_allclose(w3, row(f3, 2 * STEPS), 3e-6));
    CU_ASSERT(tu_allclose(w32, row(f3, 2 * STEPS + 2), 3e-6));
    CU_ASSERT(tu_allclose(w4[1], row(f4, 2 + 4 * STEPS - 1), 3e-6));
    CU_ASSERT(tu_allclose(moms[1], row(f4, 2 + 4 * STEPS + 1), 3e-6));
    am_array *pair[2] = {w4[0], w4[1]};
    am_array *ss = am_multi_sum_sq(pair, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ss);
    CU_ASSERT_DOUBLE_EQUAL(am_item(ss, 1),
                           am_item(am_sum(am_square(w4[1]), NULL, 0, false), 0), 1e-5);
    TU_ASSERT_STATUS(am_multi_sgd_update(w4, w4, 0, lrs, wds, 1, -1, w4), AM_ERR_ARG,
                     "n must be in [1, 16], got 0");
    am_scope_end();
}

/* The helpers, against MXNet 1.9.1's output for the same inputs. */
static void test_helpers(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, INFINITY);
    am_array *ab[2] = {a, b}, *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("multi_sum_sq", ab, 2, "num_arrays", "2", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, 30, INFINITY);
    am_array *a64 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, -2, 0.5);
    CU_ASSERT_EQUAL(tu_invoke("multi_sum_sq", &a64, 1, "num_arrays", "1", &y, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT32); /* as MXNet's */
    TU_ASSERT_VALUES(y, AM_SHAPE(1), 0, 5.25);

    y = tu_invoke1("all_finite", b, "", "");
    TU_ASSERT_VALUES(y, AM_SHAPE(1), 0, 0);
    y = tu_invoke1("all_finite", a64, "", "");
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(y, AM_SHAPE(1), 0, 1);
    CU_ASSERT_EQUAL(tu_invoke("multi_all_finite", ab, 2, "num_arrays", "2", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(1), 0, 0);
    /* init_output=False leaves the output alone when all are finite */
    am_array *o = am_full(AM_SHAPE(1), AM_DTYPE_FLOAT32, 7);
    CU_ASSERT_EQUAL(tu_run_kernel("all_finite", "init_output", "False", &a, 1, &o, AM_REQ_WRITE,
                                  false), AM_OK);
    TU_ASSERT_VALUES(o, AM_SHAPE(1), 0, 7);
    CU_ASSERT_EQUAL(tu_run_kernel("all_finite", "init_output", "False", &b, 1, &o, AM_REQ_WRITE,
                                  false), AM_OK);
    TU_ASSERT_VALUES(o, AM_SHAPE(1), 0, 0);

    am_array *lars[4] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0.1, 0.2, 0.3),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 4, 0, 9),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 1, 0),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0.5, 0, 0)};
    CU_ASSERT_EQUAL(tu_invoke("multi_lars", lars, 4, "eta|eps|rescale_grad", "0.5|0.01|2.0", &y,
                              1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 1e-7, 0.03322259, 0.2, 0.3);
    am_scope_end();
}

/* mp_sgd_update: weight32 changes in place, the weight input does not; the output is the new
 * weight32. */
static void test_mp_in_place(void)
{
    am_scope_begin();
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 2, 3);
    am_array *g = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, -1, 4);
    am_array *w32 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 2, 3);
    void *data = am_array_data(w32);
    am_array *in[3] = {w, g, w32}, *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("mp_sgd_update", in, 3, "lr|clip_gradient", "0.5|2.0", &y, 1),
                    AM_OK);
    TU_ASSERT_VALUES(w32, AM_SHAPE(3), 1e-15, 0.5, 2.5, 2);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 1e-15, 0.5, 2.5, 2);
    TU_ASSERT_VALUES(w, AM_SHAPE(3), 0, 1, 2, 3);
    CU_ASSERT_PTR_EQUAL(am_array_data(w32), data);
    am_scope_end();
}

/* multi_sgd_mom_update in a plan: each weight's mom is an auxiliary state (mutates_input),
 * the float tuples print as MXNet writes them and survive a JSON round trip, and runs update
 * the bound moms. */
static void test_multi_in_plan(void)
{
    am_scope_begin();
    static const char *const names[] = {"w0", "g0", "m0", "w1", "g1", "m1"};
    am_array *v[6], *y[2] = {0};
    for (int i = 0; i < 6; i++) v[i] = am_var(names[i], AM_SHAPE(2), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL_FATAL(tu_invoke("multi_sgd_mom_update", v, 6, "lrs|wds|momentum|num_weights",
                                    "(0.1, 0.2)|(0.0, 0.0)|0.5|2", y, 2), AM_OK);
    am_graph *g = am_graph_create(y, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *aux[4] = {0};
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(g, aux, 4), 2);
    CU_ASSERT_STRING_EQUAL(aux[0], "m0");
    CU_ASSERT_STRING_EQUAL(aux[1], "m1");
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"lrs\": \"(0.1, 0.2)\""));
    am_graph *g2 = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g2);
    char *json2 = am_graph_to_json(g2);
    CU_ASSERT_STRING_EQUAL(json, json2);
    free(json), free(json2);
    am_graph_release(g2);
    am_plan *p = am_plan_create(g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_array *val[6];
    for (int i = 0; i < 6; i++) {
        val[i] = i % 3 == 2 ? am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT32)
                            : tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1 + i, -1);
        CU_ASSERT_EQUAL(am_plan_bind(p, names[i], val[i]), AM_OK);
    }
    for (int run = 0; run < 2; run++) CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    /* mom = -lr g, then 0.5 mom - lr g = -1.5 lr g */
    TU_ASSERT_VALUES(val[2], AM_SHAPE(2), 1e-6, -0.3, 0.15);
    TU_ASSERT_VALUES(val[5], AM_SHAPE(2), 1e-6, -1.5, 0.3);
    TU_ASSERT_VALUES(am_plan_output(p, 1), AM_SHAPE(2), 1e-6, 2.5, -0.7);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *w = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32), *y[2] = {0};
    am_array *m5 = am_zeros(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32);
    am_array *in[6] = {w, w, w, w, w, w};
    TU_ASSERT_STATUS(tu_invoke("multi_sgd_update", in, 4, "lrs|wds|num_weights",
                               "(0.1,)|(0.0, 0.0)|2", y, 2),
                     AM_ERR_ARG, "multi_sgd_update: lrs has 1 entries for 2 weights");
    am_array *many[34], *y17[17] = {0};
    for (int i = 0; i < 34; i++) many[i] = w;
    TU_ASSERT_STATUS(tu_invoke("multi_sgd_update", many, 34, "lrs|wds|num_weights",
                               "(0.1,)|(0.0,)|17", y17, 17),
                     AM_ERR_ARG, "num_weights must be in [1, 16], got 17");
    in[4] = m5;
    TU_ASSERT_STATUS(tu_invoke("multi_sgd_mom_update", in, 6, "lrs|wds|num_weights",
                               "(0.1, 0.1)|(0.0, 0.0)|2", y, 2),
                     AM_ERR_SHAPE, "grad (3, 5) does not match weight (3, 4)");
    TU_ASSERT_STATUS(tu_invoke("_multi_lamb_update", in, 4,
                               "learning_rates|wds|step_count|num_tensors",
                               "(0.1,)|(0.0,)|(1, 2)|1",
                               y, 1),
                     AM_ERR_ARG, "_multi_lamb_update: step_count has 2 entries for 1 weights");
    am_array *gi[3] = {w, w, am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT32)};
    TU_ASSERT_STATUS(tu_invoke("_contrib_group_adagrad_update", gi, 3, "lr", "0.1", y, 1),
                     AM_ERR_SHAPE, "history (4,) must hold one value per row of weight (3, 4)");
    am_array *wi = am_zeros(AM_SHAPE(3), AM_DTYPE_INT32);
    TU_ASSERT_STATUS(tu_invoke("all_finite", &wi, 1, "", "", y, 1), AM_ERR_DTYPE,
                     "all_finite: input 0 is int32 (float32 or float64 only)");
    am_array *w64 = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT64);
    am_array *mp[3] = {w, w, w64};
    TU_ASSERT_STATUS(tu_invoke("mp_sgd_update", mp, 3, "lr", "0.1", y, 1), AM_ERR_DTYPE,
                     "mp_sgd_update: weight32 is float64 but weight is float32");
    TU_ASSERT_STATUS(tu_invoke("multi_sgd_update", in, 2, "lrs|wds", "(0.1, x)|(0.0,)", y, 1),
                     AM_ERR_FORMAT, "attribute lrs='(0.1, x)' is not a tuple of numbers");
    am_scope_end();
}

static void test_names(void)
{
    static const char *const alias[][2] = {
        {"_contrib_mp_adamw_update", "_mp_adamw_update"},
        {"_contrib_multi_adamw_update", "_multi_adamw_update"},
        {"_contrib_multi_mp_adamw_update", "_multi_mp_adamw_update"},
        {"_contrib_multi_lamb_update", "_multi_lamb_update"},
        {"_contrib_multi_mp_lamb_update", "_multi_mp_lamb_update"}};
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        CU_ASSERT_PTR_EQUAL(am_op_find(alias[i][0]), am_op_find(alias[i][1]));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const am_op_def *op = am_op_find(cases[i].op);
        if (!op) continue; /* "mp_lamb" runs two ops */
        CU_ASSERT(op->flags & AM_OP_NO_GRAD);
        CU_ASSERT(op->inplace && op->inplace[0].out == 0);
    }
}

CU_TestInfo am_tests_optimizer2[] = {
    {"trajectories match MXNet 1.9.1", test_trajectories},
    {"C functions match the fixtures", test_functions},
    {"multi_sum_sq, multi_lars and all_finite", test_helpers},
    {"mp updates change weight32 in place", test_mp_in_place},
    {"a multi-tensor update inside a plan", test_multi_in_plan},
    {"errors name the op and the inputs", test_errors},
    {"names, aliases and flags", test_names},
    CU_TEST_INFO_NULL,
};
