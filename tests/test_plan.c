/* The plan suite: compiled plans agree with node-by-node evaluation, run
 * without allocating, share memory, honour their signature and modes. */
#include "test_util.h"

#include "../executor/executor_impl.h"

/* An MLP 784-256-256-10 with softmax, traced with batch n. */
static am_array *mlp(int64_t n)
{
    am_array *x = am_var("data", AM_SHAPE(n, 64), AM_DTYPE_FLOAT32);
    am_array *h = x;
    static const char *w[] = {"fc1_weight", "fc2_weight", "fc3_weight"};
    static const char *b[] = {"fc1_bias", "fc2_bias", "fc3_bias"};
    static const int units[] = {48, 48, 10};
    for (int l = 0; l < 3; l++) {
        h = am_fully_connected(h, am_var(w[l], (am_shape){.ndim = -1}, AM_DTYPE_COUNT),
                               am_var(b[l], (am_shape){.ndim = -1}, AM_DTYPE_COUNT), units[l],
                               false, true);
        if (l < 2) h = am_relu(h);
    }
    return am_softmax(h, -1);
}

/* Random values for every input of g (after inference), in a scope. */
static int random_inputs(am_graph *g, const char **names, am_array **vals, int cap)
{
    int n = am_graph_list_inputs(g, names, cap);
    for (int i = 0; i < n; i++) {
        am_shape s;
        am_dtype t;
        CU_ASSERT_EQUAL_FATAL(am_graph_input_shape(g, names[i], &s, &t), AM_OK);
        vals[i] = tu_random(s, t == AM_DTYPE_COUNT ? AM_DTYPE_FLOAT32 : t, -1, 1);
    }
    return n;
}

/* Runs g node by node and as a plan on the same inputs; compares every head. */
static void check_plan_matches(am_graph *g, bool training, const char *passes, double tol)
{
    const char *names[64];
    am_array *vals[64], *ref[8];
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, NULL, NULL, NULL, 0), AM_OK);
    int n = random_inputs(g, names, vals, 64);
    int n_out = am_graph_num_outputs(g);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, training, ref, n_out), AM_OK);
    setenv("AM_PLAN_POISON", "1", 1);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = training, .passes = passes});
    unsetenv("AM_PLAN_POISON");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], vals[i]), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    for (int h = 0; h < n_out; h++) CU_ASSERT(tu_allclose(am_plan_output(p, h), ref[h], tol));
    am_plan_release(p);
}

static void test_mlp_matches_eval(void)
{
    am_scope_begin();
    am_array *y = mlp(16);
    am_graph *g = am_graph_create(&y, 1);
    check_plan_matches(g, false, NULL, 1e-5);
    check_plan_matches(g, false, "-all", 1e-5);
    am_graph_release(g);
    am_scope_end();
}

static void test_runs_allocate_nothing(void)
{
    am_scope_begin();
    am_array *y = mlp(8);
    am_graph *g = am_graph_create(&y, 1);
    const char *names[16];
    am_array *vals[16];
    am_plan *p = am_plan_create(g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, NULL, NULL, NULL, 0), AM_OK);
    int n = random_inputs(g, names, vals, 16);
    for (int i = 0; i < n; i++) am_plan_bind(p, names[i], vals[i]);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    int64_t before = am_debug_alloc_count();
    for (int r = 0; r < 100; r++) CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    CU_ASSERT_EQUAL(am_debug_alloc_count(), before);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

/* A chain of ten same-size elementwise ops needs two buffers, not ten, and
 * most steps write over their input. */
static void test_memory_is_shared(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(64, 64), AM_DTYPE_FLOAT32);
    am_array *h = am_exp(am_mul_scalar(x, 0.01));
    for (int i = 0; i < 8; i++) h = i % 2 ? am_tanh(am_add(h, x)) : am_sigmoid(am_mul(h, x));
    am_array *y = am_sum(h, NULL, 0, false);
    am_graph *g = am_graph_create(&y, 1);
    check_plan_matches(g, false, "-all", 1e-5);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.passes = "-all"});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_plan_stats s = am_plan_get_stats(p);
    CU_ASSERT(s.naive_bytes >= 17 * 64 * 64 * 4);
    CU_ASSERT(s.arena_bytes <= 2 * 64 * 64 * 4 + 64); /* two buffers and the sum */
    CU_ASSERT(s.n_inplace >= 8);
    am_plan_release(p);
    /* Without optimization every value has bytes of its own. */
    p = am_plan_create(g, &(am_plan_opts){.no_optimize = true});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    s = am_plan_get_stats(p);
    CU_ASSERT_EQUAL(s.arena_bytes, s.naive_bytes);
    CU_ASSERT_EQUAL(s.n_inplace, 0);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

/* Sixteen independent branches, each consumed by one step of a chain that
 * reads them first: run in graph order every branch would be computed up
 * front and alive at once; the plan's schedule computes each just in time. */
static void test_schedule_saves_memory(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(64, 64), AM_DTYPE_FLOAT32);
    am_array *h = x;
    for (int t = 0; t < 16; t++) h = am_add(am_exp(am_mul_scalar(x, 0.01 * t)), am_tanh(h));
    am_graph *g = am_graph_create(&h, 1);
    check_plan_matches(g, false, "-all", 1e-5);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.passes = "-all"});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_plan_stats s = am_plan_get_stats(p);
    CU_ASSERT(s.arena_bytes <= 3 * 64 * 64 * 4);
    am_plan_release(p);
    p = am_plan_create(g, &(am_plan_opts){.no_optimize = true}); /* graph order, unshared */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(am_plan_get_stats(p).arena_bytes >= 48 * 64 * 64 * 4);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

static void test_views_cost_no_step(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 6), AM_DTYPE_FLOAT32);
    am_array *r = am_reshape(am_exp(x), AM_SHAPE(2, 12));
    am_array *y = am_relu(am_flatten(am_reshape(r, AM_SHAPE(3, 8))));
    am_graph *g = am_graph_create(&y, 1);
    check_plan_matches(g, false, "-all", 1e-6);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.passes = "-all"});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_plan_stats s = am_plan_get_stats(p);
    CU_ASSERT_EQUAL(s.n_views, 3);
    CU_ASSERT_EQUAL(s.n_steps, 2);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

/* A plan is compiled for the signature it is given, not the traced one. */
static void test_signature(void)
{
    am_scope_begin();
    am_array *y = mlp(4);
    am_graph *g = am_graph_create(&y, 1);
    const char *name = "data";
    am_shape shape = AM_SHAPE(10, 64), bad = AM_SHAPE(1);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.names = &name, .shapes = &shape, .n = 1});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_array *x = tu_random(AM_SHAPE(10, 64), AM_DTYPE_FLOAT32, -1, 1);
    CU_ASSERT_EQUAL(am_plan_bind(p, "data", x), AM_OK);
    TU_ASSERT_FAILS(am_plan_bind(p, "data", tu_random(AM_SHAPE(4, 64), AM_DTYPE_FLOAT32, 0, 1)) == AM_OK,
                    AM_ERR_SHAPE, "compiled for 'data' as float32 (10, 64), given float32 (4, 64)");
    TU_ASSERT_FAILS(am_plan_bind(p, "data", tu_random(AM_SHAPE(10, 64), AM_DTYPE_FLOAT64, 0, 1)) == AM_OK,
                    AM_ERR_DTYPE, "float64");
    TU_ASSERT_FAILS(am_plan_bind(p, "nope", x) == AM_OK, AM_ERR_ARG, "no input named 'nope'");
    TU_ASSERT_FAILS(am_plan_run(p) == AM_OK, AM_ERR_ARG, "no array bound to the input 'fc1_weight'");
    TU_ASSERT_FAILS(am_plan_output(p, 3), AM_ERR_ARG, "no output 3");
    am_plan_release(p);
    /* The original graph still says batch 4. */
    am_shape s;
    CU_ASSERT_EQUAL(am_graph_output_shape(g, 0, &s, NULL), AM_OK);
    CU_ASSERT_EQUAL(s.dim[0], 4);
    TU_ASSERT_FAILS(am_plan_create(g, &(am_plan_opts){.names = (const char *[]){"x"},
                                                      .shapes = &bad, .n = 1}),
                    AM_ERR_ARG, "no input named 'x'");
    am_graph_release(g);
    am_scope_end();
}

/* BatchNorm and Dropout follow the plan's mode; in training the moving
 * statistics of the bound arrays are updated as eager code updates them. */
static void test_modes(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(8, 3, 4, 4), AM_DTYPE_FLOAT32);
    am_array *c = am_var("c", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *mm = am_var("mm", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *mv = am_var("mv", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *y = am_relu(am_batch_norm(am_dropout(x, 0.0), c, c, mm, mv, 1e-5, 0.9, false, false, 1));
    am_graph *g = am_graph_create(&y, 1);
    check_plan_matches(g, false, NULL, 1e-5);
    check_plan_matches(g, true, NULL, 1e-5);
    am_array *xv = tu_random(AM_SHAPE(8, 3, 4, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *cv = tu_random(AM_SHAPE(3), AM_DTYPE_FLOAT32, 0.5, 1);
    am_array *m1 = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32), *v1 = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *m2 = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32), *v2 = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *out;
    CU_ASSERT_EQUAL(am_graph_eval(g, (const char *[]){"x", "c", "mm", "mv"},
                                  (am_array *[]){xv, cv, m1, v1}, 4, true, &out, 1), AM_OK);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = true});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_plan_bind(p, "x", xv), am_plan_bind(p, "c", cv);
    am_plan_bind(p, "mm", m2), am_plan_bind(p, "mv", v2);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    CU_ASSERT(tu_allclose(m1, m2, 1e-6));
    CU_ASSERT(tu_allclose(v1, v2, 1e-6));
    CU_ASSERT(am_item(m2, 0) != 0.0);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

/* Heads may be inputs, constants or the same value twice. */
static void test_odd_heads(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *k = am_from_buffer((float[]){1, 2, 3}, AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *s = am_add(x, k);
    am_graph *g = am_graph_create((am_array *[]){s, x, s, am_reshape(s, AM_SHAPE(1, 3))}, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_plan *p = am_plan_create(g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(am_plan_num_outputs(p), 4);
    TU_ASSERT_FAILS(am_plan_output(p, 1), AM_ERR_ARG, "the input 'x', which is not bound");
    am_array *xv = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 10, 20, 30);
    CU_ASSERT_EQUAL(am_plan_bind(p, "x", xv), AM_OK);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    TU_ASSERT_VALUES(am_plan_output(p, 0), AM_SHAPE(3), 1e-6, 11, 22, 33);
    CU_ASSERT_PTR_EQUAL(am_plan_output(p, 1), xv);
    TU_ASSERT_VALUES(am_plan_output(p, 2), AM_SHAPE(3), 1e-6, 11, 22, 33);
    TU_ASSERT_VALUES(am_plan_output(p, 3), AM_SHAPE(1, 3), 1e-6, 11, 22, 33);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

static void test_print_and_stats(void)
{
    am_scope_begin();
    am_array *y = mlp(2);
    am_graph *g = am_graph_create(&y, 1);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.passes = "-all"});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    am_plan_print(p, f);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "fullyconnected0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "@data"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "(out)"));
    free(buf);
    am_plan_stats s = am_plan_get_stats(p);
    CU_ASSERT_EQUAL(s.n_steps, 6);
    CU_ASSERT_EQUAL(s.n_nodes, 13);
    CU_ASSERT(s.arena_bytes < s.naive_bytes);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

/* BatchNorm with fix_gamma folded into the FullyConnected before it reads
 * no gamma any more; binding every argument of the graph still works. */
static void test_bind_folded_argument(void)
{
    am_scope_begin();
    const char *names[] = {"data", "w", "gamma", "beta", "mean", "var"};
    am_shape shapes[] = {AM_SHAPE(2, 3), AM_SHAPE(4, 3), AM_SHAPE(4), AM_SHAPE(4), AM_SHAPE(4), AM_SHAPE(4)};
    am_array *v[6], *x[6];
    for (int i = 0; i < 6; i++) {
        v[i] = am_var(names[i], shapes[i], AM_DTYPE_FLOAT32);
        x[i] = tu_random(shapes[i], AM_DTYPE_FLOAT32, 0.5, 1);
    }
    am_array *y = am_batch_norm(am_fully_connected(v[0], v[1], NULL, 4, true, true), v[2], v[3], v[4],
                                v[5], 1e-5, 0.9, true, false, 1);
    am_graph *g = am_graph_create(&y, 1);
    am_plan *p = am_plan_create(g, NULL);
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], x[i]), AM_OK);
    TU_ASSERT_FAILS(am_plan_bind(p, "nope", x[0]) == AM_OK, AM_ERR_ARG, "no input named 'nope'");
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    am_array *ref;
    CU_ASSERT_EQUAL(am_graph_eval(g, names, x, 6, false, &ref, 1), AM_OK);
    CU_ASSERT(tu_allclose(am_plan_output(p, 0), ref, 1e-5));
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_plan[] = {
    {"binding an argument the passes folded away", test_bind_folded_argument},
    {"a plan computes what node-by-node evaluation does", test_mlp_matches_eval},
    {"100 runs allocate nothing", test_runs_allocate_nothing},
    {"values share the arena and are written in place", test_memory_is_shared},
    {"view ops are views, not steps", test_views_cost_no_step},
    {"the schedule runs short branches just in time", test_schedule_saves_memory},
    {"a plan is specific to its input signature", test_signature},
    {"inference and training modes", test_modes},
    {"heads that are inputs, duplicates or views", test_odd_heads},
    {"am_plan_print and stats", test_print_and_stats},
    CU_TEST_INFO_NULL,
};
