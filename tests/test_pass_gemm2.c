/* The gemm_sum and gemm_concat passes.  Each test checks the structure after
 * the pass and that the graph computes what it did before, node by node on
 * the same random values (and through a plan in training mode). */
#include "test_util.h"

#include "../executor/executor_impl.h"

#define F32 AM_DTYPE_FLOAT32
#define TOL 1e-4

static am_array *var(const char *name, am_shape s)
{
    return am_var(name, s, F32);
}

static am_graph *run_pass(am_graph *g, const char *pass, bool training, FILE *log)
{
    am_optimize_opts o = {.training = training, .log = log};
    am_graph *h = am_graph_run_pass(g, pass, &o);
    if (!h) printf("\n  %s failed: %s\n", pass, am_last_error());
    return h;
}

/* Random values for every variable of g that is not a constant. */
static int random_inputs(const am_graph *g, const char **names, am_array **vals, int cap)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes && n < cap; i++) {
        const am_node *v = g->nodes[i];
        if (v->op || v->value) continue;
        names[n] = g->names[i];
        vals[n++] = tu_random(v->shapes[0], v->dtypes[0], -1, 1);
    }
    return n;
}

/* g and h agree on every head within TOL, evaluated in mode training. */
static void check_same(am_graph *g, am_graph *h, bool training)
{
    const char *names[256];
    am_array *vals[256], *a[32], *b[32];
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int n = random_inputs(g, names, vals, 256), nh = g->n_heads;
    CU_ASSERT_FATAL(nh <= 32 && h->n_heads == nh);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, training, a, nh), AM_OK);
    am_status st = am_graph_eval(h, names, vals, n, training, b, nh);
    if (st != AM_OK) printf("\n  %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    for (int k = 0; k < nh; k++) CU_ASSERT(tu_allclose(b[k], a[k], TOL));
}

/* The graph of ys, the pass over it checked against it; *orig gets the graph. */
static am_graph *pass_and_check(am_array **ys, int n, const char *pass, bool training,
                                am_graph **orig)
{
    am_graph *g = am_graph_create(ys, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_graph *h = run_pass(g, pass, training, NULL);
    check_same(g, h, training);
    *orig = g;
    return h;
}

/* ---- gemm_sum -------------------------------------------------------------------------- */

/* A tanh RNN unrolled over steps, from FullyConnected; the loss is the sum
 * of squares of the last state.  The gradient graph for both weights and
 * biases. */
static am_graph *rnn_gradient(int steps, int64_t batch, int64_t in, int64_t hidden)
{
    am_array *x = var("data", AM_SHAPE(steps, batch, in));
    am_array *wx = var("wx", AM_SHAPE(hidden, in)), *bx = var("bx", AM_SHAPE(hidden));
    am_array *wh = var("wh", AM_SHAPE(hidden, hidden)), *bh = var("bh", AM_SHAPE(hidden));
    am_array *h = var("h0", AM_SHAPE(batch, hidden));
    for (int t = 0; t < steps; t++) {
        am_array *xt = am_reshape(am_slice_axis(x, 0, t, t + 1), AM_SHAPE(batch, in));
        h = am_tanh(am_add(am_fully_connected(xt, wx, bx, hidden, false, true),
                           am_fully_connected(h, wh, bh, hidden, false, true)));
    }
    am_array *loss = am_sum(am_mul(h, h), NULL, 0, false);
    am_graph *fwd = am_graph_create(&loss, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fwd);
    const char *wrt[] = {"wx", "bx", "wh", "bh", "h0"};
    am_graph *g = am_graph_gradient(fwd, wrt, 5);
    if (!g) printf("\n  am_graph_gradient: %s\n", am_last_error());
    am_graph_release(fwd);
    return g;
}

static void test_sum_rnn_gradient(void)
{
    am_scope_begin();
    am_graph *g = rnn_gradient(6, 2, 6, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    am_graph *h = run_pass(g, "gemm_sum", true, log);
    fclose(log);
    check_same(g, h, true);
    /* The weight gradients: 6 dots each into one; the data gradients stay. */
    CU_ASSERT_EQUAL(tu_count_op(g, "dot"), 6 + 6 + 6);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1 + 1 + 6);
    CU_ASSERT_EQUAL(tu_count_op(h, "add_n"), tu_count_op(g, "add_n") - 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "6 dot nodes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "into one (5 x 12 x 6)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "into one (5 x 12 x 5)"));
    free(buf);
    /* After simplify and CSE the weights' dots read one gates gradient,
     * joined once for both. */
    am_graph_release(h);
    am_optimize_opts o = {.training = true, .passes = "-all,simplify,cse,gemm_sum"};
    h = am_graph_optimize(g, &o);
    check_same(g, h, true);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 3); /* gates gradient, inputs, states */
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1 + 1 + 6);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* sum_t op(A_t) op(B_t) with contracted sizes 2, 3, 4 under transposes ta, tb. */
static void check_transposes(bool ta, bool tb)
{
    am_array *terms[3];
    for (int t = 0; t < 3; t++) {
        char an[8], bn[8];
        int64_t k = t + 2;
        snprintf(an, sizeof(an), "a%d", t), snprintf(bn, sizeof(bn), "b%d", t);
        am_array *a = var(an, ta ? AM_SHAPE(k, 8) : AM_SHAPE(8, k));
        am_array *b = var(bn, tb ? AM_SHAPE(9, k) : AM_SHAPE(k, 9));
        terms[t] = am_dot_t(a, b, ta, tb);
    }
    am_array *y = am_add_n(terms, 3);
    am_graph *g, *h = pass_and_check(&y, 1, "gemm_sum", false, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "add_n"), 0);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 2);
    am_graph_release(g), am_graph_release(h);
}

static void test_sum_transposes(void)
{
    am_scope_begin();
    check_transposes(false, false);
    check_transposes(false, true);
    check_transposes(true, false);
    check_transposes(true, true);
    am_scope_end();
}

/* Rank-3 operands are seen as matrices; chains of elemwise_add and
 * broadcast_add of equal shapes are sums; a non-dot leaf stays. */
static void test_sum_chains_and_ranks(void)
{
    am_scope_begin();
    am_array *d1 = am_dot(var("a1", AM_SHAPE(2, 3, 4)), var("b1", AM_SHAPE(4, 8)));
    am_array *d2 = am_dot(var("a2", AM_SHAPE(2, 3, 2)), var("b2", AM_SHAPE(2, 8)));
    am_array *d3 = am_dot(var("a3", AM_SHAPE(2, 3, 3)), var("b3", AM_SHAPE(3, 8)));
    am_array *x = var("x", AM_SHAPE(2, 3, 8));
    am_array *y = am_add(am_elemwise_add(am_elemwise_add(d1, x), d2), d3);
    am_graph *g, *h = pass_and_check(&y, 1, "gemm_sum", false, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "elemwise_add"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "broadcast_add"), 0);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* What stays: a dot used twice, different transposes, different splits of
 * the output between the operands, a shared partial sum, joins that cost
 * more than they save, broadcasting. */
static void test_sum_refused(void)
{
    am_scope_begin();
    am_array *a = var("a", AM_SHAPE(6, 2)), *b = var("b", AM_SHAPE(2, 6));
    am_array *c = var("c", AM_SHAPE(6, 1)), *d = var("d", AM_SHAPE(1, 6));
    am_array *e = var("e", AM_SHAPE(6, 6)), *f = var("f", AM_SHAPE(6, 6));
    am_array *twice = am_dot(a, b);
    am_array *ys[3] = {am_elemwise_add(twice, am_dot(c, d)), twice, NULL};
    am_graph *g = am_graph_create(ys, 2), *h = run_pass(g, "gemm_sum", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);

    ys[0] = am_elemwise_add(am_dot_t(e, f, true, false), am_dot_t(e, f, false, true));
    g = am_graph_create(ys, 1), h = run_pass(g, "gemm_sum", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);

    /* (2, 3) x (3, 2, 2) and (2, 2, 2) x (2, 2) both give (2, 2, 2). */
    am_array *p = am_dot(var("p", AM_SHAPE(2, 3)), var("q", AM_SHAPE(3, 2, 2)));
    am_array *r = am_dot(var("r", AM_SHAPE(2, 2, 2)), var("s", AM_SHAPE(2, 2)));
    ys[0] = am_elemwise_add(p, r);
    g = am_graph_create(ys, 1), h = run_pass(g, "gemm_sum", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);

    /* The partial sum is read twice: the outer sum sees it as a leaf. */
    am_array *part = am_elemwise_add(am_dot(a, b), am_dot(c, d));
    ys[0] = am_elemwise_add(part, am_dot(e, f));
    ys[1] = part;
    g = am_graph_create(ys, 2), h = run_pass(g, "gemm_sum", false, NULL);
    check_same(g, h, false);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 2);
    am_graph_release(g), am_graph_release(h);

    /* Joins larger than the products they save: (2 x 100) (100 x 2) twice. */
    ys[0] = am_elemwise_add(am_dot(var("l0", AM_SHAPE(2, 100)), var("r0", AM_SHAPE(100, 2))),
                            am_dot(var("l1", AM_SHAPE(2, 100)), var("r1", AM_SHAPE(100, 2))));
    g = am_graph_create(ys, 1), h = run_pass(g, "gemm_sum", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);

    /* broadcast_add that broadcasts is no sum of equal shapes. */
    ys[0] = am_add(am_dot(var("u", AM_SHAPE(1, 2)), b), am_dot(var("v", AM_SHAPE(6, 1)), d));
    g = am_graph_create(ys, 1), h = run_pass(g, "gemm_sum", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* Constant operands are joined once, by constant folding: they cost the
 * sum nothing at run time.  (2, 16) x (16, 16) twice pays only so. */
static void test_sum_constant_operands(void)
{
    am_scope_begin();
    am_array *y = am_elemwise_add(am_dot(var("g0", AM_SHAPE(2, 16)), var("w0", AM_SHAPE(16, 16))),
                                  am_dot(var("g1", AM_SHAPE(2, 16)), var("w1", AM_SHAPE(16, 16))));
    am_graph *g = am_graph_create(&y, 1), *h = run_pass(g, "gemm_sum", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(h);
    am_array *w[2] = {tu_random(AM_SHAPE(16, 16), F32, -1, 1),
                      tu_random(AM_SHAPE(16, 16), F32, -1, 1)};
    const char *names[2] = {"w0", "w1"};
    am_graph *f = am_graph_freeze(g, names, w, 2);
    h = run_pass(f, "gemm_sum", false, NULL);
    check_same(f, h, false);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);
    am_scope_end();
}

/* 70 products in two add_n: joins of joins past AM_MAX_OP_IO inputs. */
static void test_sum_many(void)
{
    am_scope_begin();
    enum { N = 70 };
    am_array *terms[N], *halves[2];
    for (int t = 0; t < N; t++) {
        char an[8], bn[8];
        snprintf(an, sizeof(an), "a%d", t), snprintf(bn, sizeof(bn), "b%d", t);
        terms[t] = am_dot_t(var(an, AM_SHAPE(2, 6)), var(bn, AM_SHAPE(2, 8)), true, false);
    }
    halves[0] = am_add_n(terms, N / 2);
    halves[1] = am_add_n(terms + N / 2, N / 2);
    am_array *y = am_add_n(halves, 2);
    am_graph *g, *h = pass_and_check(&y, 1, "gemm_sum", true, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "add_n"), 0);
    CU_ASSERT(tu_count_op(h, "Concat") > 2);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* The RNN's training graph through the whole pipeline in a plan, against
 * the unoptimized graph node by node. */
static void test_sum_plan_training(void)
{
    am_scope_begin();
    am_graph *g = rnn_gradient(5, 2, 5, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[64];
    am_array *vals[64], *want[16];
    int n = random_inputs(g, names, vals, 64), nh = g->n_heads;
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, true, want, nh), AM_OK);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = true});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], vals[i]), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    for (int k = 0; k < nh; k++) CU_ASSERT(tu_allclose(am_plan_output(p, k), want[k], TOL));
    CU_ASSERT_EQUAL(tu_count_op(am_plan_graph(p), "dot"), 2 + 5);
    am_plan_release(p);
    p = am_plan_create(g, &(am_plan_opts){.training = true, .passes = "-gemm_sum"});
    CU_ASSERT_EQUAL(tu_count_op(am_plan_graph(p), "dot"), 5 + 5 + 5);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}


/* ---- gemm_concat ------------------------------------------------------------------------ */

/* g with every variable whose name is not in keep frozen to random values. */
static am_graph *freeze_all_but(am_graph *g, const char *const *keep, int n_keep)
{
    const char *names[64];
    am_array *vals[64];
    int n = 0;
    for (int i = 0; i < g->n_nodes && n < 64; i++) {
        const am_node *v = g->nodes[i];
        bool kept = false;
        for (int k = 0; k < n_keep; k++) kept = kept || !strcmp(g->names[i], keep[k]);
        if (v->op || v->value || kept) continue;
        names[n] = g->names[i];
        vals[n++] = tu_random(v->shapes[0], v->dtypes[0], -1, 1);
    }
    am_graph *f = am_graph_freeze(g, names, vals, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

/* q, k, v projections of x (rows, 64) of widths 72, 80, 96 (the last without
 * bias when no_bias), each read by its own consumer. */
static void qkv(am_array *x, bool flatten, bool no_bias, am_array **out)
{
    static const char *const w[] = {"q_weight", "k_weight", "v_weight"};
    static const char *const b[] = {"q_bias", "k_bias", "v_bias"};
    int64_t width[] = {72, 80, 96};
    for (int j = 0; j < 3; j++) {
        am_array *bias = no_bias ? NULL : var(b[j], AM_SHAPE(width[j]));
        out[j] = am_fully_connected(x, var(w[j], AM_SHAPE(width[j], 64)), bias, width[j],
                                    no_bias, flatten);
    }
    out[0] = am_tanh(out[0]);
    out[1] = am_sigmoid(out[1]);
    out[2] = am_mul_scalar(out[2], 2.0);
}

static void test_concat_qkv_frozen(void)
{
    am_scope_begin();
    am_array *ys[3];
    qkv(var("data", AM_SHAPE(64, 64)), true, false, ys);
    am_graph *g = am_graph_create(ys, 3);
    const char *keep[] = {"data"};
    am_graph *f = freeze_all_but(g, keep, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    am_graph *h = run_pass(f, "gemm_concat", false, log);
    fclose(log);
    check_same(f, h, false);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "slice_axis"), 3);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "3 FullyConnected nodes ('fullyconnected0' ... "
                                       "'fullyconnected2') reading 'data' into one 248 wide"));
    free(buf);
    /* Constant folding joins the weights once. */
    am_graph *k = run_pass(h, "fold", false, NULL);
    check_same(f, k, false);
    CU_ASSERT_EQUAL(tu_count_op(k, "Concat"), 0);
    am_graph_release(k), am_graph_release(h);
    /* The whole pipeline: one product. */
    h = am_graph_optimize(f, NULL);
    check_same(f, h, false);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 0);
    am_graph_release(h);
    /* Trainable weights would be joined on every run: left alone. */
    h = run_pass(g, "gemm_concat", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);
    am_scope_end();
}

/* FullyConnected on the last axis of 3-D data, without biases, and weights
 * computed from constants (folded later). */
static void test_concat_last_axis_no_bias(void)
{
    am_scope_begin();
    am_array *ys[3];
    qkv(var("data", AM_SHAPE(2, 40, 64)), false, true, ys);
    am_graph *g = am_graph_create(ys, 3);
    const char *keep[] = {"data"};
    am_graph *f = freeze_all_but(g, keep, 1);
    am_graph *h = run_pass(f, "gemm_concat", false, NULL);
    check_same(f, h, false);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 1);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);

    /* Weights scaled from constants are joined too. */
    am_array *x = var("data", AM_SHAPE(64, 64)), *w = var("w", AM_SHAPE(80, 64));
    ys[0] = am_fully_connected(x, w, NULL, 80, true, true);
    ys[1] = am_fully_connected(x, am_mul_scalar(w, 0.5), NULL, 80, true, true);
    g = am_graph_create(ys, 2), f = freeze_all_but(g, keep, 1);
    h = run_pass(f, "gemm_concat", false, NULL);
    check_same(f, h, false);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);
    am_scope_end();
}

/* dot with one left operand and constant right operands, either transpose. */
static void test_concat_dot(void)
{
    am_scope_begin();
    const char *keep[] = {"a"};
    for (int tb = 0; tb < 2; tb++) {
        am_array *a = var("a", AM_SHAPE(4, 16, 64)), *ys[2];
        ys[0] = am_dot_t(a, var("b0", tb ? AM_SHAPE(72, 64) : AM_SHAPE(64, 72)), false, tb);
        ys[1] = am_dot_t(a, var("b1", tb ? AM_SHAPE(80, 64) : AM_SHAPE(64, 80)), false, tb);
        am_graph *g = am_graph_create(ys, 2), *f = freeze_all_but(g, keep, 1);
        am_graph *h = run_pass(f, "gemm_concat", false, NULL);
        check_same(f, h, false);
        CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1);
        CU_ASSERT_EQUAL(tu_count_op(h, "slice_axis"), 2);
        am_graph_release(g), am_graph_release(f), am_graph_release(h);
    }
    am_scope_end();
}

/* What stays: different attributes or data, small products, a weight
 * computed from another member's output. */
static void test_concat_refused(void)
{
    am_scope_begin();
    const char *keep[] = {"data", "other"};
    am_array *x = var("data", AM_SHAPE(64, 64)), *ys[2];
    am_array *w0 = var("w0", AM_SHAPE(80, 64)), *w1 = var("w1", AM_SHAPE(80, 64));
    am_shape x3 = AM_SHAPE(64, 1, 64);
    ys[0] = am_fully_connected(x, w0, NULL, 80, true, true);
    ys[1] = am_fully_connected(am_reshape(x, x3), w1, NULL, 80, true, false);
    am_graph *g = am_graph_create(ys, 2), *f = freeze_all_but(g, keep, 2);
    am_graph *h = run_pass(f, "gemm_concat", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, f);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);

    ys[1] = am_fully_connected(var("other", AM_SHAPE(64, 64)), w1, NULL, 80, true, true);
    g = am_graph_create(ys, 2), f = freeze_all_but(g, keep, 2);
    h = run_pass(f, "gemm_concat", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, f);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);

    /* 4 rows x 256 x 256: each product stays on one BLAS thread. */
    am_array *s = var("data", AM_SHAPE(4, 256));
    ys[0] = am_fully_connected(s, var("v0", AM_SHAPE(256, 256)), NULL, 256, true, true);
    ys[1] = am_fully_connected(s, var("v1", AM_SHAPE(256, 256)), NULL, 256, true, true);
    g = am_graph_create(ys, 2), f = freeze_all_but(g, keep, 2);
    h = run_pass(f, "gemm_concat", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, f);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);

    /* All constant: the second weight is the first product. */
    am_array *c = var("c", AM_SHAPE(72, 64));
    am_array *p = am_fully_connected(c, var("u", AM_SHAPE(64, 64)), NULL, 64, true, true);
    ys[0] = p;
    ys[1] = am_fully_connected(c, p, NULL, 72, true, true);
    g = am_graph_create(ys, 2), f = freeze_all_but(g, keep, 0);
    h = run_pass(f, "gemm_concat", false, NULL);
    CU_ASSERT_PTR_EQUAL(h, f);
    am_graph_release(g), am_graph_release(f), am_graph_release(h);
    am_scope_end();
}

/* Frozen q/k/v under a trained output layer: the training graph, by the
 * pass and through a plan in training mode. */
static void test_concat_training(void)
{
    am_scope_begin();
    am_array *ys[3];
    qkv(var("data", AM_SHAPE(64, 64)), true, false, ys);
    am_array *z = am_concat(ys, 3, 1);
    am_array *out = am_fully_connected(z, var("o_weight", AM_SHAPE(16, 248)),
                                       var("o_bias", AM_SHAPE(16)), 16, false, true);
    am_array *loss = am_sum(am_mul(out, out), NULL, 0, false);
    am_graph *fwd = am_graph_create(&loss, 1);
    const char *wrt[] = {"o_weight", "o_bias"}, *keep[] = {"data", "o_weight", "o_bias"};
    am_graph *f = freeze_all_but(fwd, keep, 3), *g = am_graph_gradient(f, wrt, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_graph *h = run_pass(g, "gemm_concat", true, NULL);
    check_same(g, h, true);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 2);
    am_graph_release(h);

    const char *names[64];
    am_array *vals[64], *want[8];
    int n = random_inputs(g, names, vals, 64), nh = g->n_heads;
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, true, want, nh), AM_OK);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = true});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], vals[i]), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    for (int k = 0; k < nh; k++) CU_ASSERT(tu_allclose(am_plan_output(p, k), want[k], TOL));
    CU_ASSERT_EQUAL(tu_count_op(am_plan_graph(p), "Concat"), 1); /* z; the weights' are folded */
    am_plan_release(p);
    am_graph_release(fwd), am_graph_release(f), am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_pass_gemm2[] = {
    {"gemm_sum: unrolled RNN weight gradients", test_sum_rnn_gradient},
    {"gemm_sum: the four transposes", test_sum_transposes},
    {"gemm_sum: add chains and rank-3 operands", test_sum_chains_and_ranks},
    {"gemm_sum: what stays", test_sum_refused},
    {"gemm_sum: constant operands join for free", test_sum_constant_operands},
    {"gemm_sum: 70 products, joins of joins", test_sum_many},
    {"gemm_sum: RNN training graph through a plan", test_sum_plan_training},
    {"gemm_concat: frozen q/k/v projections, then fold", test_concat_qkv_frozen},
    {"gemm_concat: last axis, no bias, computed weights", test_concat_last_axis_no_bias},
    {"gemm_concat: dot sharing its left operand", test_concat_dot},
    {"gemm_concat: what stays", test_concat_refused},
    {"gemm_concat: training graph and plan", test_concat_training},
    CU_TEST_INFO_NULL,
};
