/* Property test: random DAGs of elementwise, broadcast, reduction, reshape
 * and matmul ops agree when run node by node and through the whole pipeline
 * (every pass, memory planning, in-place reuse), and so do the gradient
 * graphs of every other one. */
#include "test_util.h"

#include "../executor/executor_impl.h"

#define N_GRAPHS 500
#define POOL 48

typedef struct gen {
    uint64_t s;
    am_array *pool[POOL];
    int n;
    int64_t m, k;
} gen;

static uint32_t rnd(gen *g, uint32_t n)
{
    g->s ^= g->s << 13, g->s ^= g->s >> 7, g->s ^= g->s << 17;
    return (uint32_t)(g->s >> 11) % n;
}

static bool same_shape(am_array *a, am_array *b)
{
    return am_shape_equal(am_array_shape(a), am_array_shape(b));
}

/* A pool entry other than a with a's shape, or NULL. */
static am_array *partner(gen *g, am_array *a)
{
    int start = (int)rnd(g, (uint32_t)g->n);
    for (int k = 0; k < g->n; k++) {
        am_array *b = g->pool[(start + k) % g->n];
        if (b != a && same_shape(a, b)) return b;
    }
    return NULL;
}

static am_array *unary(gen *g, am_array *a)
{
    switch (rnd(g, 9)) {
    case 0: return am_tanh(a);
    case 1: return am_sigmoid(a);
    case 2: return am_relu(a);
    case 3: return am_negative(a);
    case 4: return am_abs(a);
    case 5: return am_sin(a);
    case 6: return am_mul_scalar(a, rnd(g, 2) ? 1.0 : 0.5);
    case 7: return am_plus_scalar(a, rnd(g, 2) ? 0.0 : 0.25);
    default: return am_activation(a, "softrelu");
    }
}

static am_array *binary(gen *g, am_array *a)
{
    am_array *b = partner(g, a);
    if (!b) return NULL;
    switch (rnd(g, 4)) {
    case 0: return am_elemwise_add(a, b);
    case 1: return am_elemwise_sub(a, b);
    case 2: return am_elemwise_mul(a, b);
    default: {
        am_array *xs[3] = {a, b, a};
        return am_add_n(xs, 3);
    }
    }
}

/* a (r, c) with a row (1, c) or column (r, 1) made by a reduction. */
static am_array *broadcast(gen *g, am_array *a)
{
    am_shape s = am_array_shape(a);
    if (s.ndim != 2) return NULL;
    int axis = (int)rnd(g, 2);
    am_array *r = rnd(g, 2) ? am_sum(a, &axis, 1, true) : am_mean(a, &axis, 1, true);
    r = am_tanh(r);
    return rnd(g, 2) ? am_broadcast_add(a, r) : am_broadcast_mul(r, a);
}

static am_array *reshape(gen *g, am_array *a)
{
    am_shape s = am_array_shape(a);
    if (s.ndim != 2) return NULL;
    switch (rnd(g, 3)) {
    case 0: return am_transpose(a, NULL, 0);
    case 1: return am_reshape(am_reshape(a, AM_SHAPE(s.dim[0] * s.dim[1])), AM_SHAPE(s.dim[1], s.dim[0]));
    default: return am_reshape(am_transpose(am_transpose(a, NULL, 0), NULL, 0), AM_SHAPE(s.dim[0], s.dim[1]));
    }
}

/* a (r, c) times a weight variable (c, c) or a pool entry (c, *). */
static am_array *matmul(gen *g, am_array *a)
{
    am_shape s = am_array_shape(a);
    if (s.ndim != 2) return NULL;
    for (int k = 0; k < g->n; k++) {
        am_shape t = am_array_shape(g->pool[k]);
        if (t.ndim == 2 && t.dim[0] == s.dim[1] && rnd(g, 2)) return am_dot(a, g->pool[k]);
    }
    return am_dot_t(a, a, false, true);
}

static am_array *grow(gen *g)
{
    am_array *a = g->pool[g->n > 4 && rnd(g, 2) ? g->n - 1 - (int)rnd(g, 4) : (int)rnd(g, (uint32_t)g->n)];
    am_array *y = NULL;
    switch (rnd(g, 6)) {
    case 0: case 1: y = unary(g, a); break;
    case 2: y = binary(g, a); break;
    case 3: y = broadcast(g, a); break;
    case 4: y = reshape(g, a); break;
    default: y = matmul(g, a); break;
    }
    return y;
}

static am_graph *random_graph(gen *g, int *n_heads)
{
    g->m = 1 + rnd(g, 6);
    g->k = 1 + rnd(g, 7);
    g->n = 0;
    g->pool[g->n++] = am_var("x", AM_SHAPE(g->m, g->k), AM_DTYPE_FLOAT32);
    g->pool[g->n++] = am_var("y", AM_SHAPE(g->m, g->k), AM_DTYPE_FLOAT32);
    g->pool[g->n++] = am_var("w", AM_SHAPE(g->k, g->k), AM_DTYPE_FLOAT32);
    int first_op = g->n, steps = 4 + (int)rnd(g, 20);
    for (int i = 0; i < steps && g->n < POOL; i++) {
        am_array *y = grow(g);
        if (!y && am_last_status() != AM_OK) {
            printf("\n  building a random graph: %s\n", am_last_error());
            CU_FAIL("an op failed while tracing");
            am_clear_error();
        }
        if (y) g->pool[g->n++] = y;
    }
    am_array *heads[3];
    *n_heads = 1 + (int)rnd(g, 3);
    for (int h = 0; h < *n_heads; h++)
        heads[h] = g->pool[g->n - 1 - (g->n - first_op > 1 ? (int)rnd(g, (uint32_t)(g->n - first_op)) : 0)];
    return am_graph_create(heads, *n_heads);
}

/* Runs g node by node and as an optimized plan; the largest relative error. */
static double compare(am_graph *g, bool training, const char *const *names, am_array *const *vals, int n)
{
    am_array *ref[8];
    int n_out = am_graph_num_outputs(g);
    double worst = 0;
    if (am_graph_eval(g, names, vals, n, training, ref, n_out) != AM_OK) {
        printf("\n  eval: %s\n", am_last_error());
        return INFINITY;
    }
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = training});
    if (!p) {
        printf("\n  plan: %s\n", am_last_error());
        return INFINITY;
    }
    for (int i = 0; i < n; i++) am_plan_bind(p, names[i], vals[i]); /* unused inputs fail */
    am_clear_error();
    if (am_plan_run(p) != AM_OK) worst = INFINITY;
    for (int h = 0; h < n_out && worst < INFINITY; h++) {
        am_array *a = am_plan_output(p, h);
        const float *x = am_array_data(a), *y = am_array_data(ref[h]);
        for (int64_t i = 0; i < am_array_size(a); i++) {
            double e = fabs((double)x[i] - y[i]) / (1e-3 + fabs((double)y[i]));
            if (!(e <= worst)) worst = e;
        }
    }
    am_plan_release(p);
    return worst;
}

/* The gradient graph of g for every argument, with random head gradients. */
static double compare_gradients(am_graph *g)
{
    const char *wrt[8], *names[16];
    am_array *vals[16];
    int n_wrt = am_graph_list_arguments(g, wrt, 8);
    am_graph *grad = am_graph_gradient(g, wrt, n_wrt);
    if (!grad) {
        printf("\n  gradient: %s\n", am_last_error());
        return INFINITY;
    }
    int n = am_graph_list_arguments(grad, names, 16);
    for (int i = 0; i < n; i++) {
        am_shape s;
        am_graph_input_shape(grad, names[i], &s, NULL);
        vals[i] = tu_random(s, AM_DTYPE_FLOAT32, -1, 1);
    }
    double err = compare(grad, true, names, vals, n);
    am_graph_release(grad);
    return err;
}

static void test_random_graphs(void)
{
    gen g = {.s = 0x9E3779B97F4A7C15ull};
    int failures = 0;
    setenv("AM_PLAN_POISON", "1", 1); /* arenas start as NaN: reads before writes show */
    for (int t = 0; t < N_GRAPHS; t++) {
        am_scope_begin();
        int n_heads;
        am_graph *graph = random_graph(&g, &n_heads);
        CU_ASSERT_PTR_NOT_NULL_FATAL(graph);
        const char *names[3] = {"x", "y", "w"};
        am_array *vals[3] = {tu_random(AM_SHAPE(g.m, g.k), AM_DTYPE_FLOAT32, -1, 1),
                             tu_random(AM_SHAPE(g.m, g.k), AM_DTYPE_FLOAT32, -1, 1),
                             tu_random(AM_SHAPE(g.k, g.k), AM_DTYPE_FLOAT32, -1, 1)};
        double err = compare(graph, false, names, vals, 3);
        if (err <= 1e-5 && t % 2 == 0) err = compare_gradients(graph);
        if (!(err <= 1e-5) && failures++ < 3) {
            printf("\n  graph %d: relative error %g\n", t, err);
            char *json = am_graph_to_json(graph);
            printf("%s\n", json);
            free(json);
        }
        am_graph_release(graph);
        am_scope_end();
    }
    unsetenv("AM_PLAN_POISON");
    CU_ASSERT_EQUAL(failures, 0);
}

CU_TestInfo am_tests_plan_random[] = {
    {"500 random DAGs and 250 of their gradients: node by node and plans agree", test_random_graphs},
    CU_TEST_INFO_NULL,
};
