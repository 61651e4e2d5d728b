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

CU_TestInfo am_tests_optimizer2[] = {
    {"trajectories match MXNet 1.9.1", test_trajectories},
    CU_TEST_INFO_NULL,
};
