/* The optimizer update ops (ndarray/ops/optimizer.c): trajectories against MXNet 1.9.1's
 * (tests/fixtures/optimizer, made by make_fixtures.py there), states updated in place, the
 * ops inside a plan, and errors. */
#include "test_util.h"

#define FIX "tests/fixtures/optimizer/"
#define STEPS 4
#define ROW 12

typedef struct traj_case {
    const char *name;     /* fixture file */
    const char *op;       /* registry name; "lamb" for phase 1 + phase 2 */
    const char *keys[10]; /* attributes, NULL-terminated */
    const char *vals[10];
    int n_states;
} traj_case;

#define COMMON_K "wd", "rescale_grad", "clip_gradient"
#define COMMON_V "0.05", "0.5", "0.6"

static const traj_case traj_cases[] = {
    {"sgd", "sgd_update", {"lr", COMMON_K}, {"0.1", COMMON_V}, 0},
    {"sgd_plain", "sgd_update", {"lr"}, {"0.2"}, 0},
    {"sgd_mom", "sgd_mom_update", {"lr", "momentum", COMMON_K}, {"0.1", "0.9", COMMON_V}, 1},
    {"sgd_mom_f64", "sgd_mom_update", {"lr", "momentum", COMMON_K}, {"0.1", "0.9", COMMON_V},
     1},
    {"nag", "nag_mom_update", {"lr", "momentum", COMMON_K}, {"0.1", "0.9", COMMON_V}, 1},
    {"adam", "adam_update", {"lr", "beta1", "beta2", "epsilon", COMMON_K},
     {"0.05", "0.8", "0.95", "0.0001", COMMON_V}, 2},
    {"adam_f64", "adam_update", {"lr", "beta1", "beta2", "epsilon", COMMON_K},
     {"0.05", "0.8", "0.95", "0.0001", COMMON_V}, 2},
    {"rmsprop", "rmsprop_update", {"lr", "gamma1", "epsilon", "clip_weights", COMMON_K},
     {"0.05", "0.8", "0.0001", "1.5", COMMON_V}, 1},
    {"rmspropalex", "rmspropalex_update",
     {"lr", "gamma1", "gamma2", "epsilon", "clip_weights", COMMON_K},
     {"0.05", "0.8", "0.7", "0.0001", "1.5", COMMON_V}, 3},
    {"adagrad", "adagrad_update", {"lr", "epsilon", "rescale_grad", "clip_gradient"},
     {"0.1", "0.0001", "0.5", "0.6"}, 1},
    {"adagrad_wd", "_sparse_adagrad_update", {"lr", "epsilon", COMMON_K},
     {"0.1", "0.0001", COMMON_V}, 1},
    {"adamw", "_adamw_update", {"lr", "eta", "beta1", "beta2", "epsilon", "wd", "clip_gradient"},
     {"0.05", "0.5", "0.8", "0.95", "0.0001", "0.05", "0.6"}, 2},
    {"lamb", "lamb", {"beta1", "beta2", "epsilon", COMMON_K}, {"0.8", "0.95", "0.0001", COMMON_V},
     2},
    {"lamb_nobc", "lamb", {"beta1", "beta2", "epsilon", "bias_correction", COMMON_K},
     {"0.8", "0.95", "0.0001", "False", COMMON_V}, 2},
};

/* Row r of a fixture as a (3, 4) array of the scope. */
static am_array *row(am_array *fix, int r)
{
    size_t esz = am_dtype_size(am_array_dtype(fix));
    const char *base = am_array_data(fix);
    return am_from_buffer(base + (size_t)r * ROW * esz, AM_SHAPE(3, 4), am_array_dtype(fix));
}

static int n_attrs(const traj_case *c)
{
    int n = 0;
    while (n < 10 && c->keys[n]) n++;
    return n;
}

/* One LAMB step as MXNet's optimizer takes it: phase 1, the two norms, phase 2. */
static am_array *lamb_step(const traj_case *c, am_array *w, am_array *g, am_array **st, int t,
                           bool bounds)
{
    const char *k[12], *v[12];
    char tbuf[16];
    int n = n_attrs(c);
    for (int i = 0; i < n; i++) k[i] = c->keys[i], v[i] = c->vals[i];
    snprintf(tbuf, sizeof(tbuf), "%d", t);
    k[n] = "t", v[n++] = tbuf;
    am_array *d = NULL, *y = NULL;
    am_array *in1[4] = {w, g, st[0], st[1]};
    if (am_invoke("lamb_update_phase1", in1, 4, k, v, n, &d, 1) != AM_OK) return NULL;
    am_array *in2[4] = {w, d, am_norm(w, 2, NULL, 0, false), am_norm(d, 2, NULL, 0, false)};
    const char *k2[] = {"lr", "lower_bound", "upper_bound"}, *v2[] = {"0.05", "0.1", "3.0"};
    if (am_invoke("lamb_update_phase2", in2, 4, k2, v2, bounds ? 3 : 1, &y, 1) != AM_OK)
        return NULL;
    return y;
}

/* One step of case c: the new weight; states are updated in place. */
static am_array *traj_step(const traj_case *c, am_array *w, am_array *g, am_array **st, int t)
{
    am_array *in[8] = {w, g}, *y = NULL;
    int n_in = 2;
    if (strcmp(c->op, "lamb") == 0) return lamb_step(c, w, g, st, t, !strstr(c->name, "nobc"));
    for (int i = 0; i < c->n_states; i++) in[n_in++] = st[i];
    if (strcmp(c->op, "_adamw_update") == 0)
        in[n_in++] = am_full(AM_SHAPE(1), am_array_dtype(w), 0.5);
    am_status s = am_invoke(c->op, in, n_in, c->keys, c->vals, n_attrs(c), &y, 1);
    return s == AM_OK ? y : NULL;
}

static void run_traj(const traj_case *c)
{
    char path[128];
    snprintf(path, sizeof(path), FIX "%s.npy", c->name);
    am_scope_begin();
    am_array *fix = am_npy_load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fix);
    CU_ASSERT_EQUAL_FATAL(am_array_dim(fix, 0), 1 + 2 * STEPS + c->n_states);
    am_dtype dt = am_array_dtype(fix);
    double tol = dt == AM_DTYPE_FLOAT32 ? 2e-6 : 1e-6; /* MXNet's attributes are float32 */
    am_array *w = am_copy(row(fix, 0)), *st[3];
    for (int i = 0; i < c->n_states; i++) st[i] = am_zeros(AM_SHAPE(3, 4), dt);
    for (int t = 1; t <= STEPS; t++) {
        w = traj_step(c, w, row(fix, t), st, t);
        bool ok = tu_allclose(w, row(fix, STEPS + t), tol);
        if (!ok) printf("  (%s, step %d)\n", c->name, t);
        CU_ASSERT(ok);
        if (!ok) break;
    }
    for (int i = 0; i < c->n_states; i++) {
        bool ok = tu_allclose(st[i], row(fix, 1 + 2 * STEPS + i), tol);
        if (!ok) printf("  (%s, state %d)\n", c->name, i);
        CU_ASSERT(ok);
    }
    am_scope_end();
}

static void test_trajectories(void)
{
    for (size_t i = 0; i < sizeof(traj_cases) / sizeof(traj_cases[0]); i++)
        run_traj(&traj_cases[i]);
}

/* The C functions run the same rules: sgd_mom and adam over the fixtures' steps. */
static void test_functions_match_fixtures(void)
{
    am_scope_begin();
    am_array *f1 = am_npy_load(FIX "sgd_mom.npy"), *f2 = am_npy_load(FIX "adam.npy");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
    am_array *w1 = row(f1, 0), *w2 = row(f2, 0);
    am_array *mom = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    am_array *mean = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    am_array *var = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    for (int t = 1; t <= STEPS; t++) {
        w1 = am_sgd_mom_update(w1, row(f1, t), mom, 0.1, 0.9, 0.05, 0.5, 0.6);
        w2 = am_adam_update(w2, row(f2, t), mean, var, 0.05, 0.8, 0.95, 1e-4, 0.05, 0.5, 0.6);
    }
    CU_ASSERT(tu_allclose(w1, row(f1, 2 * STEPS), 2e-6));
    CU_ASSERT(tu_allclose(mom, row(f1, 2 * STEPS + 1), 2e-6));
    CU_ASSERT(tu_allclose(w2, row(f2, 2 * STEPS), 2e-6));
    CU_ASSERT(tu_allclose(var, row(f2, 2 * STEPS + 2), 2e-6));
    am_scope_end();
}

/* The weight input is left alone (the output is new); the states change in place. */
static void test_states_in_place(void)
{
    am_scope_begin();
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 2, 3);
    am_array *g = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, -1, 4);
    am_array *mom = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 0.5, 0, -0.5);
    void *mom_data = am_array_data(mom);
    am_array *y = am_sgd_mom_update(w, g, mom, 0.1, 0.5, 0.0, 1.0, -1.0);
    /* mom = 0.5 mom - 0.1 g; y = w + mom */
    TU_ASSERT_VALUES(mom, AM_SHAPE(3), 1e-15, 0.15, 0.1, -0.65);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 1e-15, 1.15, 2.1, 2.35);
    TU_ASSERT_VALUES(w, AM_SHAPE(3), 0, 1, 2, 3);
    CU_ASSERT_PTR_EQUAL(am_array_data(mom), mom_data);

    am_array *hist = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT64);
    y = am_adagrad_update(w, g, hist, 1.0, 0.0, 0.0, 1.0, 2.0); /* g clipped to [-2, 2] */
    TU_ASSERT_VALUES(hist, AM_SHAPE(3), 1e-15, 1, 1, 4);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 1e-15, 0, 3, 2);
    am_scope_end();
}

/* AdamW takes no step when rescale_grad overflowed (inf, nan) or is 0. */
static void test_adamw_skips(void)
{
    am_scope_begin();
    static const double bad[] = {INFINITY, NAN, 0.0};
    for (int i = 0; i < 3; i++) {
        am_array *w = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2);
        am_array *g = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 1);
        am_array *m = am_full(AM_SHAPE(2), AM_DTYPE_FLOAT32, 0.5);
        am_array *v = am_full(AM_SHAPE(2), AM_DTYPE_FLOAT32, 0.5);
        am_array *rg = am_full(AM_SHAPE(1), AM_DTYPE_FLOAT32, bad[i]);
        am_array *y = am_adamw_update(w, g, m, v, rg, 0.1, 0.9, 0.999, 1e-8, 0.1, 1.0, -1.0);
        TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, 1, 2);
        TU_ASSERT_VALUES(m, AM_SHAPE(2), 0, 0.5, 0.5);
        TU_ASSERT_VALUES(v, AM_SHAPE(2), 0, 0.5, 0.5);
    }
    am_scope_end();
}

/* An update inside a plan: the bound momentum is the state the op updates, the mom
 * variable is listed as an auxiliary state, and the attributes survive JSON. */
static void test_in_plan(void)
{
    am_scope_begin();
    am_array *vw = am_var("weight", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *vg = am_var("grad", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *vm = am_var("mom", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *y = am_sgd_mom_update(vw, vg, vm, 0.1, 0.5, 0.0, 2.0, -1.0);
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *aux[4] = {0};
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(g, aux, 4), 1);
    CU_ASSERT_STRING_EQUAL(aux[0], "mom");
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"momentum\": \"0.5\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"rescale_grad\": \"2.0\""));
    free(json);
    am_plan *p = am_plan_create(g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_array *w = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3);
    am_array *gr = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, -1, 0.5);
    am_array *mom = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_plan_bind(p, "weight", w), AM_OK);
    CU_ASSERT_EQUAL(am_plan_bind(p, "grad", gr), AM_OK);
    CU_ASSERT_EQUAL(am_plan_bind(p, "mom", mom), AM_OK);
    for (int run = 0; run < 2; run++) CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    /* two runs on the same weight: mom = -0.2 g, then 0.5 mom - 0.2 g = -0.3 g */
    TU_ASSERT_VALUES(mom, AM_SHAPE(3), 1e-6, -0.3, 0.3, -0.15);
    TU_ASSERT_VALUES(am_plan_output(p, 0), AM_SHAPE(3), 1e-6, 0.7, 2.3, 2.85);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *w = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    am_array *g = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    am_array *m = am_zeros(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_sgd_mom_update(w, g, m, 0.1, 0.9, 0, 1, -1), AM_ERR_SHAPE,
                    "sgd_mom_update: mom (3, 5) does not match weight (3, 4) at test_optimizer.c");
    am_array *m64 = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT64);
    TU_ASSERT_FAILS(am_adam_update(w, g, m64, m64, 0.1, 0.9, 0.999, 1e-8, 0, 1, -1),
                    AM_ERR_DTYPE, "adam_update: mean is float64 but weight is float32");
    am_array *wi = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_INT32);
    TU_ASSERT_FAILS(am_sgd_update(wi, wi, 0.1, 0, 1, -1), AM_ERR_DTYPE,
                    "sgd_update: weight is int32 (float32 or float64 only)");
    am_array *y = NULL;
    am_clear_error();
    am_array *wg[2] = {w, g};
    CU_ASSERT_EQUAL(am_invoke("sgd_update", wg, 2, NULL, NULL, 0, &y, 1), AM_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "'lr'"));
    am_clear_error();
    am_array *rg = am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_adamw_update(w, g, w, w, rg, 0.1, 0.9, 0.999, 1e-8, 0, 1, -1),
                    AM_ERR_SHAPE, "_adamw_update: rescale_grad (2,) must hold one element");
    TU_ASSERT_FAILS(am_sgd_update(NULL, g, 0.1, 0, 1, -1), AM_ERR_ARG, "sgd_update");
    am_scope_end();
}

static void test_names(void)
{
    CU_ASSERT_PTR_EQUAL(am_op_find("adagrad_update"), am_op_find("_sparse_adagrad_update"));
    CU_ASSERT_PTR_EQUAL(am_op_find("_contrib_adamw_update"), am_op_find("_adamw_update"));
    static const char *const ops[] = {"sgd_update", "sgd_mom_update", "nag_mom_update",
                                      "adam_update", "rmsprop_update", "rmspropalex_update",
                                      "_sparse_adagrad_update", "_adamw_update",
                                      "lamb_update_phase1", "lamb_update_phase2"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        const am_op_def *op = am_op_find(ops[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        CU_ASSERT(op->flags & AM_OP_NO_GRAD);
        CU_ASSERT(op->inplace && op->inplace[0].out == 0);
    }
}

CU_TestInfo am_tests_optimizer[] = {
    {"trajectories match MXNet 1.9.1", test_trajectories},
    {"C functions match the fixtures", test_functions_match_fixtures},
    {"states are updated in place", test_states_in_place},
    {"adamw skips an overflowed step", test_adamw_skips},
    {"an update inside a plan", test_in_plan},
    {"errors name the op and the inputs", test_errors},
    {"names, aliases and flags", test_names},
    CU_TEST_INFO_NULL,
};
