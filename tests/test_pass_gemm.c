/* The GEMM passes: BatchNorm folding, GEMM batching and epilogue fusion.
 * Each test checks the structure after the pass and that the graph computes
 * what it did before, node by node on the same random values. */
#include "test_util.h"

#include "../executor/executor_impl.h"

#define F32 AM_DTYPE_FLOAT32

static am_array *var(const char *name, am_shape s)
{
    return am_var(name, s, F32);
}

static am_graph *run_pass(am_graph *g, const char *pass, bool training)
{
    am_optimize_opts o = {.training = training};
    am_graph *h = am_graph_run_pass(g, pass, &o);
    if (!h) printf("\n  %s failed: %s\n", pass, am_last_error());
    return h;
}

/* Random values for every variable of g that is not a constant (variances
 * positive), in names/vals; returns the count. */
static int random_inputs(const am_graph *g, const char **names, am_array **vals, int cap)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes && n < cap; i++) {
        const am_node *v = g->nodes[i];
        if (v->op || v->value) continue;
        bool var_like = strstr(g->names[i], "var") != NULL;
        names[n] = g->names[i];
        vals[n++] = tu_random(v->shapes[0], v->dtypes[0], var_like ? 0.5 : -1, var_like ? 2 : 1);
    }
    return n;
}

/* g and h agree on every head within tol (relative and absolute). */
static void check_same(am_graph *g, am_graph *h, double tol)
{
    const char *names[256];
    am_array *vals[256], *a[8], *b[8];
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int n = random_inputs(g, names, vals, 256), nh = g->n_heads;
    CU_ASSERT_FATAL(nh <= 8 && h->n_heads == nh);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, false, a, nh), AM_OK);
    am_status st = am_graph_eval(h, names, vals, n, false, b, nh);
    if (st != AM_OK) printf("\n  %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    for (int k = 0; k < nh; k++) CU_ASSERT(tu_allclose(b[k], a[k], tol));
}

/* Runs pass over the graph of y, checks agreement, returns the new graph. */
static am_graph *pass_and_check(am_array *y, const char *pass, double tol, am_graph **orig)
{
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_graph *h = run_pass(g, pass, false);
    check_same(g, h, tol);
    *orig = g;
    return h;
}

static am_array *conv3x3(am_array *x, am_array *w, am_array *b, int64_t nf, int64_t groups)
{
    static const int64_t kernel[2] = {3, 3}, pad[2] = {1, 1};
    return am_convolution(x, w, b, 2, kernel, NULL, pad, NULL, nf, groups);
}

static am_array *bn(am_array *x, const char *p, int64_t c, bool fix_gamma, int axis)
{
    char n[4][64];
    const char *sfx[4] = {"gamma", "beta", "moving_mean", "moving_var"};
    for (int i = 0; i < 4; i++) snprintf(n[i], sizeof(n[i]), "%s_%s", p, sfx[i]);
    return am_batch_norm(x, var(n[0], AM_SHAPE(c)), var(n[1], AM_SHAPE(c)),
                         var(n[2], AM_SHAPE(c)), var(n[3], AM_SHAPE(c)), 1e-3, 0.9, fix_gamma,
                         false, axis);
}

/* ---- bnfold ----------------------------------------------------------------------- */

static void test_bnfold_conv_bias(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 6, 6));
    am_array *w = var("c_weight", AM_SHAPE(4, 3, 3, 3));
    am_array *y = conv3x3(x, w, var("c_bias", AM_SHAPE(4)), 4, 1);
    y = bn(y, "bn", 4, false, 1);
    am_graph *g, *h = pass_and_check(y, "bnfold", 1e-4, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm"), 0);
    CU_ASSERT_EQUAL(tu_count_op(h, "Convolution"), 1);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

static void test_bnfold_conv_no_bias_fix_gamma(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 4, 5, 5));
    am_array *y = conv3x3(x, var("c_weight", AM_SHAPE(6, 4, 3, 3)), NULL, 6, 1);
    y = am_relu(bn(y, "bn", 6, true, 1));
    am_graph *g, *h = pass_and_check(y, "bnfold", 1e-4, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm"), 0);
    CU_ASSERT_EQUAL(tu_count_op(h, "Convolution"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "relu"), 1);
    /* The new convolution has a bias and keeps the old node's name. */
    for (int i = 0; i < h->n_nodes; i++)
        if (h->nodes[i]->op && !strcmp(h->nodes[i]->op->name, "Convolution")) {
            CU_ASSERT_EQUAL(h->nodes[i]->n_in, 3);
            CU_ASSERT_STRING_EQUAL(h->names[i], "convolution0");
        }
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

static void test_bnfold_grouped_conv(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 4, 5, 5));
    am_array *w = var("c_weight", AM_SHAPE(6, 2, 3, 3));
    am_array *y = conv3x3(x, w, var("c_bias", AM_SHAPE(6)), 6, 2);
    y = bn(y, "bn", 6, false, -3);
    am_graph *g, *h = pass_and_check(y, "bnfold", 1e-4, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm"), 0);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

static void test_bnfold_fc_flatten(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(4, 2, 3, 3));
    am_array *w = var("f_weight", AM_SHAPE(5, 18));
    am_array *y = am_fully_connected(x, w, var("f_bias", AM_SHAPE(5)), 5, false, true);
    y = bn(y, "bn", 5, false, 1);
    am_graph *g, *h = pass_and_check(y, "bnfold", 1e-4, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm"), 0);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* FullyConnected on the last axis: BatchNorm over that axis folds, over
 * axis 1 (a time axis here) it does not. */
static void test_bnfold_fc_last_axis_only(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 4));
    am_array *w = var("f_weight", AM_SHAPE(5, 4));
    am_array *y = bn(am_fully_connected(x, w, NULL, 5, true, false), "bn", 5, true, -1);
    am_graph *g, *h = pass_and_check(y, "bnfold", 1e-4, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm"), 0);
    am_graph_release(g), am_graph_release(h);
    y = bn(am_fully_connected(x, w, NULL, 5, true, false), "bt", 3, true, 1);
    g = am_graph_create(&y, 1);
    h = run_pass(g, "bnfold", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

static void test_bnfold_not_in_training(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 6, 6));
    am_array *w = var("c_weight", AM_SHAPE(4, 3, 3, 3));
    am_array *y = bn(conv3x3(x, w, NULL, 4, 1), "bn", 4, false, 1);
    am_graph *g = am_graph_create(&y, 1), *h = run_pass(g, "bnfold", true);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(h);
    h = run_pass(g, "bnfold", false);
    CU_ASSERT_PTR_NOT_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* The convolution's output read twice, a BatchNorm over axis 2, and a used
 * hidden output all leave the graph as it is. */
static void test_bnfold_refused(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 6, 6)), *w = var("c_weight", AM_SHAPE(4, 3, 3, 3));
    am_array *c = conv3x3(x, w, NULL, 4, 1);
    am_array *y = am_add(bn(c, "bn", 4, false, 1), c);
    am_graph *g = am_graph_create(&y, 1), *h = run_pass(g, "bnfold", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);

    y = bn(conv3x3(x, w, NULL, 4, 1), "bs", 6, false, 2);
    g = am_graph_create(&y, 1), h = run_pass(g, "bnfold", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);

    am_array *in[5] = {conv3x3(x, w, NULL, 4, 1), var("g", AM_SHAPE(4)), var("b", AM_SHAPE(4)),
                       var("mm", AM_SHAPE(4)), var("mv", AM_SHAPE(4))}, *out[3];
    CU_ASSERT_EQUAL_FATAL(tu_invoke("BatchNorm", in, 5, "output_mean_var", "True", out, 3), AM_OK);
    y = am_add(out[0], am_reshape(out[1], AM_SHAPE(1, 4, 1, 1)));
    g = am_graph_create(&y, 1), h = run_pass(g, "bnfold", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* Frozen parameters: the folded weight is computed from constants only,
 * and the result matches the original graph with the parameters bound. */
static void test_bnfold_frozen(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 5, 5));
    am_array *w = var("c_weight", AM_SHAPE(4, 3, 3, 3));
    am_array *y = conv3x3(x, w, var("c_bias", AM_SHAPE(4)), 4, 1);
    y = bn(y, "bn", 4, false, 1);
    am_graph *g = am_graph_create(&y, 1);
    const char *names[16];
    am_array *vals[16], *a, *b;
    int n = random_inputs(g, names, vals, 16);
    CU_ASSERT_EQUAL_FATAL(n, 7);
    CU_ASSERT_STRING_EQUAL(names[0], "data");
    am_graph *frozen = am_graph_freeze(g, names + 1, vals + 1, n - 1);
    am_graph *h = run_pass(frozen, "bnfold", false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm"), 0);
    int free_vars = 0;
    for (int i = 0; i < h->n_nodes; i++) free_vars += !h->nodes[i]->op && !h->nodes[i]->value;
    CU_ASSERT_EQUAL(free_vars, 1); /* data; the rest are constants */
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, false, &a, 1), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(h, names, vals, 1, false, &b, 1), AM_OK);
    CU_ASSERT(tu_allclose(b, a, 1e-4));
    am_graph_release(g), am_graph_release(frozen), am_graph_release(h);
    am_scope_end();
}

static void test_bnfold_logs(void)
{
    am_scope_begin();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    am_array *x = var("data", AM_SHAPE(2, 3));
    am_array *y = bn(am_fully_connected(x, var("w", AM_SHAPE(4, 3)), NULL, 4, true, true), "bn", 4,
                     true, 1);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *h = am_graph_run_pass(g, "bnfold", &(am_optimize_opts){.log = f});
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "folded BatchNorm 'batchnorm0' into FullyConnected "
                                        "'fullyconnected0'"));
    free(text);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* ---- gemm_batch ---------------------------------------------------------------------- */

static void test_batch_shared_weight(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(6, 5)), *b = var("b", AM_SHAPE(6)), *ys[4];
    for (int t = 0; t < 4; t++) {
        char n[16];
        snprintf(n, sizeof(n), "x%d", t);
        ys[t] = am_fully_connected(var(n, AM_SHAPE(t + 1, 5)), w, b, 6, false, true);
    }
    am_array *y = am_concat(ys, 4, 0);
    am_graph *g, *h = pass_and_check(y, "gemm_batch", 1e-5, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "slice_axis"), 4);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* An unrolled RNN: the input projections x_t W_x are independent and become
 * one product; the recurrent ones h_{t-1} W_h form a chain and stay. */
static void test_batch_unrolled_rnn(void)
{
    am_scope_begin();
    am_array *wx = var("wx", AM_SHAPE(8, 6)), *bx = var("bx", AM_SHAPE(8));
    am_array *wh = var("wh", AM_SHAPE(8, 8)), *h = var("h0", AM_SHAPE(3, 8));
    for (int t = 0; t < 6; t++) {
        char n[16];
        snprintf(n, sizeof(n), "x%d", t);
        am_array *ix = am_fully_connected(var(n, AM_SHAPE(3, 6)), wx, bx, 8, false, true);
        h = am_tanh(am_add(ix, am_fully_connected(h, wh, NULL, 8, true, true)));
    }
    am_graph *g, *o = pass_and_check(h, "gemm_batch", 1e-5, &g);
    CU_ASSERT_EQUAL(tu_count_op(g, "FullyConnected"), 12);
    CU_ASSERT_EQUAL(tu_count_op(o, "FullyConnected"), 7);
    CU_ASSERT_EQUAL(tu_count_op(o, "Concat"), 1);
    am_graph_release(g), am_graph_release(o);
    am_scope_end();
}

static void test_batch_dependent_refused(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(4, 4)), *x = var("x", AM_SHAPE(2, 4));
    am_array *h1 = am_fully_connected(x, w, NULL, 4, true, true);
    am_array *h2 = am_fully_connected(h1, w, NULL, 4, true, true);
    am_array *y = am_add(h1, h2);
    am_graph *g = am_graph_create(&y, 1), *h = run_pass(g, "gemm_batch", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* f1 feeds f2 and f3: the largest independent group is {f2, f3}, not {f1}. */
static void test_batch_largest_independent_group(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(4, 4)), *x = var("x", AM_SHAPE(2, 4));
    am_array *f1 = am_fully_connected(x, w, NULL, 4, true, true);
    am_array *f2 = am_fully_connected(am_relu(f1), w, NULL, 4, true, true);
    am_array *f3 = am_fully_connected(am_sigmoid(f1), w, NULL, 4, true, true);
    am_array *y = am_add(f2, f3);
    am_graph *g, *h = pass_and_check(y, "gemm_batch", 1e-5, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 2);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 1);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* Different biases, attributes or row lengths keep products apart. */
static void test_batch_needs_same_function(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(4, 6)), *x1 = var("x1", AM_SHAPE(2, 6));
    am_array *x2 = var("x2", AM_SHAPE(2, 6)), *x3 = var("x3", AM_SHAPE(2, 2, 3));
    am_array *a = am_fully_connected(x1, w, var("b1", AM_SHAPE(4)), 4, false, true);
    am_array *b = am_fully_connected(x2, w, var("b2", AM_SHAPE(4)), 4, false, true);
    am_array *c = am_fully_connected(x2, w, NULL, 4, true, true);
    am_array *d = am_fully_connected(x3, var("w3", AM_SHAPE(4, 3)), NULL, 4, true, false);
    am_array *y = am_add(am_add(a, b), am_add(c, am_sum(d, (int[]){0}, 1, false)));
    am_graph *g = am_graph_create(&y, 1), *h = run_pass(g, "gemm_batch", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* flatten=True on 4-D data and flatten=False on 3-D data are reshaped to
 * rows and back. */
static void test_batch_reshaped_inputs(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(5, 12)), *v = var("v", AM_SHAPE(5, 4));
    am_array *a = am_fully_connected(var("x1", AM_SHAPE(2, 3, 2, 2)), w, NULL, 5, true, true);
    am_array *b = am_fully_connected(var("x2", AM_SHAPE(3, 12)), w, NULL, 5, true, true);
    am_array *c = am_fully_connected(var("x3", AM_SHAPE(2, 3, 4)), v, NULL, 5, true, false);
    am_array *d = am_fully_connected(var("x4", AM_SHAPE(4, 4)), v, NULL, 5, true, false);
    am_array *ab[2] = {a, b};
    am_array *outs[2] = {am_concat(ab, 2, 0),
                         am_add(c, am_sum(d, (int[]){0}, 1, false))};
    am_graph *g = am_graph_create(outs, 2), *h = run_pass(g, "gemm_batch", false);
    check_same(g, h, 1e-5);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 2);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 3);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

static void test_batch_dot(void)
{
    am_scope_begin();
    am_array *r = var("r", AM_SHAPE(6, 3)), *ys[3];
    ys[0] = am_dot(var("a", AM_SHAPE(2, 6)), r);
    ys[1] = am_dot(var("b", AM_SHAPE(2, 2, 6)), r);
    ys[2] = am_dot(var("c", AM_SHAPE(6)), r);
    for (int k = 0; k < 3; k++) ys[k] = am_reshape(ys[k], AM_SHAPE(-1));
    am_array *y = am_concat(ys, 3, 0);
    am_graph *g, *h = pass_and_check(y, "gemm_batch", 1e-5, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "dot"), 1);
    am_graph_release(g), am_graph_release(h);
    /* transpose_a contracts another axis: not batched. */
    y = am_add(am_dot_t(var("p", AM_SHAPE(6, 2)), r, true, false),
               am_dot_t(var("q", AM_SHAPE(6, 2)), r, true, false));
    g = am_graph_create(&y, 1), h = run_pass(g, "gemm_batch", false);
    CU_ASSERT_PTR_EQUAL(h, g);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* More members than one Concat takes (64), in a training graph too. */
static void test_batch_many_in_training(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(3, 4)), *xs[70], *ys[70];
    for (int t = 0; t < 70; t++) {
        char n[16];
        snprintf(n, sizeof(n), "x%d", t);
        xs[t] = var(n, AM_SHAPE(1, 4));
        ys[t] = am_fully_connected(xs[t], w, NULL, 3, true, true);
    }
    am_array *y = am_add_n(ys, 64);
    y = am_add(y, am_add_n(ys + 64, 6));
    am_graph *g = am_graph_create(&y, 1), *h = run_pass(g, "gemm_batch", true);
    check_same(g, h, 1e-5);
    CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "Concat"), 3);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* ---- epilogue -------------------------------------------------------------------------- */

static void test_epilogue_fc_activations(void)
{
    const char *acts[] = {"relu", "sigmoid", "tanh", "softrelu", "softsign"};
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(7, 5)), *w = var("w", AM_SHAPE(9, 5));
    am_array *b = var("b", AM_SHAPE(9));
    for (int k = 0; k < 5; k++) {
        am_array *y = am_activation(am_fully_connected(x, w, b, 9, false, true), acts[k]);
        am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_fc"), 1);
        CU_ASSERT_EQUAL(tu_count_op(h, "Activation") + tu_count_op(h, "FullyConnected"), 0);
        am_graph_release(g), am_graph_release(h);
    }
    am_array *(*unary[])(am_array *, am_site) = {am_relu_at, am_sigmoid_at, am_tanh_at};
    for (int k = 0; k < 3; k++) {
        am_array *y = unary[k](am_fully_connected(x, w, NULL, 9, true, true), AM_HERE);
        am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(h->n_nodes, 3);
        am_graph_release(g), am_graph_release(h);
    }
    am_scope_end();
}

static void test_epilogue_leaky(void)
{
    const char *acts[] = {"leaky", "elu", "selu", "gelu"};
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(300, 130)), *w = var("w", AM_SHAPE(140, 130));
    for (int k = 0; k < 4; k++) {
        am_array *y = am_leaky_relu(am_fully_connected(x, w, NULL, 140, true, true), NULL, acts[k],
                                    0.1);
        am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_fc"), 1);
        am_graph_release(g), am_graph_release(h);
    }
    am_scope_end();
}

/* Outputs larger than a cache with a small weight run in row blocks across
 * threads (2100 rows of 130: 5 blocks on 2 threads, 16 on 16), on 2-D and
 * 3-D data, with and without bias. */
static void test_epilogue_row_blocks(void)
{
    am_scope_begin();
    am_array *w = var("w", AM_SHAPE(130, 20)), *b = var("b", AM_SHAPE(130));
    am_array *ys[3] = {
        am_tanh(am_fully_connected(var("x1", AM_SHAPE(2100, 20)), w, b, 130, false, true)),
        am_relu(am_fully_connected(var("x2", AM_SHAPE(2100, 20)), w, NULL, 130, true, true)),
        am_sigmoid(am_fully_connected(var("x3", AM_SHAPE(30, 70, 20)), w, b, 130, false, false))};
    for (int k = 0; k < 3; k++) {
        am_graph *g, *h = pass_and_check(ys[k], "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_fc"), 1);
        am_graph_release(g), am_graph_release(h);
    }
    am_scope_end();
}

static void test_epilogue_conv(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 8, 8)), *w = var("c_weight", AM_SHAPE(5, 3, 3, 3));
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        am_array *b = with_bias ? var("c_bias", AM_SHAPE(5)) : NULL;
        am_array *y = am_activation(conv3x3(x, w, b, 5, 1), "relu");
        am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_conv"), 1);
        CU_ASSERT_EQUAL(tu_count_op(h, "Convolution") + tu_count_op(h, "Activation"), 0);
        am_graph_release(g), am_graph_release(h);
    }
    /* A bias added as (1, C, 1, 1) becomes the convolution's own. */
    am_array *y = am_tanh(am_add(conv3x3(x, w, NULL, 5, 1), var("cb", AM_SHAPE(1, 5, 1, 1))));
    am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_conv"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "broadcast_add"), 0);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

static void test_epilogue_bias_add(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(4, 5)), *w = var("w", AM_SHAPE(3, 5));
    am_shape shapes[2] = {AM_SHAPE(3), AM_SHAPE(1, 3)};
    for (int k = 0; k < 2; k++) {
        am_array *y = am_add(var("b", shapes[k]), am_fully_connected(x, w, NULL, 3, true, true));
        am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(tu_count_op(h, "FullyConnected"), 1);
        CU_ASSERT_EQUAL(tu_count_op(h, "broadcast_add"), 0);
        am_graph_release(g), am_graph_release(h);
        y = am_relu(am_add(am_fully_connected(x, w, NULL, 3, true, true), var("b", shapes[k])));
        h = pass_and_check(y, "epilogue", 1e-5, &g);
        CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_fc"), 1);
        CU_ASSERT_EQUAL(tu_count_op(h, "broadcast_add") + tu_count_op(h, "relu"), 0);
        am_graph_release(g), am_graph_release(h);
    }
    am_array *f = am_fully_connected(var("x1", AM_SHAPE(1, 5)), w, NULL, 3, true, true);
    am_array *y = am_elemwise_add(f, var("b", AM_SHAPE(1, 3)));
    am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
    CU_ASSERT_EQUAL(tu_count_op(h, "elemwise_add"), 0);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* The product read twice, a full-matrix addend, and an FC that has a bias
 * already stay as they are. */
static void test_epilogue_refused(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(4, 5)), *w = var("w", AM_SHAPE(3, 5));
    am_array *f = am_fully_connected(x, w, NULL, 3, true, true);
    am_array *m = var("m", AM_SHAPE(4, 3));
    am_array *ys[3] = {am_add(am_relu(f), f),
                       am_add(am_fully_connected(x, w, NULL, 3, true, true), m),
                       am_add(am_fully_connected(x, w, var("b", AM_SHAPE(3)), 3, false, true),
                              var("c", AM_SHAPE(3)))};
    for (int k = 0; k < 3; k++) {
        am_graph *g = am_graph_create(&ys[k], 1), *h = run_pass(g, "epilogue", false);
        CU_ASSERT_PTR_EQUAL(h, g);
        am_graph_release(g), am_graph_release(h);
    }
    am_scope_end();
}

/* The fused op is registered with a schema: it prints in JSON, reads back
 * and computes the same. */
static void test_epilogue_fused_op_json(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 6, 6));
    am_array *y = am_leaky_relu(conv3x3(x, var("c_weight", AM_SHAPE(4, 3, 3, 3)), NULL, 4, 1), NULL,
                                "leaky", 0.2);
    am_graph *g, *h = pass_and_check(y, "epilogue", 1e-5, &g);
    const am_op_def *op = am_op_find("_amber_fused_conv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    CU_ASSERT(op->flags & AM_OP_NO_GRAD);
    CU_ASSERT(op->flags & AM_OP_NEEDS_TEMP);
    CU_ASSERT_PTR_NOT_NULL(op->temp_bytes);
    char *json = am_graph_to_json(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"_amber_fused_conv\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"act_type\": \"leaky\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"slope\": \"0.2\""));
    am_graph *back = am_graph_from_json(json);
    free(json);
    check_same(g, back, 1e-5);
    am_graph_release(g), am_graph_release(h), am_graph_release(back);
    am_scope_end();
}

/* The fused ops run by name like any op (attributes parsed by their
 * schema), in float64 too, and refuse to accumulate into their output. */
static void test_fused_ops_by_name(void)
{
    am_scope_begin();
    am_dtype f64 = AM_DTYPE_FLOAT64;
    am_array *x = tu_random(AM_SHAPE(5, 6), f64, -1, 1), *w = tu_random(AM_SHAPE(4, 6), f64, -1, 1);
    am_array *b = tu_random(AM_SHAPE(4), f64, -1, 1), *in[3] = {x, w, b}, *y;
    CU_ASSERT_EQUAL_FATAL(tu_invoke("_amber_fused_fc", in, 3, "num_hidden|act_type|slope",
                                    "4|elu|0.3", &y, 1), AM_OK);
    am_array *want = am_leaky_relu(am_fully_connected(x, w, b, 4, false, true), NULL, "elu", 0.3);
    CU_ASSERT(tu_allclose(y, want, 1e-12));
    am_array *img = tu_random(AM_SHAPE(1, 2, 5, 5), F32, -1, 1);
    am_array *k = tu_random(AM_SHAPE(3, 2, 3, 3), F32, -1, 1), *cin[2] = {img, k}, *c;
    CU_ASSERT_EQUAL_FATAL(tu_invoke("_amber_fused_conv", cin, 2,
                                    "kernel|num_filter|no_bias|act_type",
                                    "(3, 3)|3|True|sigmoid", &c, 1), AM_OK);
    am_array *cw = am_sigmoid(conv3x3(img, k, NULL, 3, 1));
    CU_ASSERT(tu_allclose(c, am_slice_axis(am_slice_axis(cw, 2, 1, 4), 3, 1, 4), 1e-6));
    am_array *out = am_zeros(AM_SHAPE(5, 4), f64);
    TU_ASSERT_FAILS(tu_run_kernel("_amber_fused_fc", "num_hidden|act_type", "4|relu", in, 3, &out,
                                  AM_REQ_ADD, false) == AM_OK, AM_ERR_UNSUPPORTED, "AM_REQ_ADD");
    TU_ASSERT_FAILS(tu_invoke("_amber_fused_fc", in, 3, "num_hidden", "4", &y, 1) == AM_OK,
                    AM_ERR_ARG, "act_type");
    am_scope_end();
}

/* The whole pipeline for inference: conv, BatchNorm, relu, then a dense
 * layer with relu, becomes two fused nodes. */
static void test_pipeline_inference(void)
{
    am_scope_begin();
    am_array *x = var("data", AM_SHAPE(2, 3, 6, 6));
    am_array *y = conv3x3(x, var("c_weight", AM_SHAPE(4, 3, 3, 3)), NULL, 4, 1);
    y = am_activation(bn(y, "bn", 4, false, 1), "relu");
    y = am_relu(am_fully_connected(y, var("f_weight", AM_SHAPE(5, 144)), var("f_bias", AM_SHAPE(5)),
                                   5, false, true));
    am_graph *g = am_graph_create(&y, 1);
    am_graph *h = am_graph_optimize(g, &(am_optimize_opts){.training = false});
    check_same(g, h, 1e-4);
    CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_conv"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_fc"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "BatchNorm") + tu_count_op(h, "relu") + tu_count_op(h, "Activation"), 0);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

/* Gluon's LeNet as MXNet saved it: before inference (unknown shapes) the
 * passes leave it alone; after it, both convolutions and both hidden dense
 * layers carry their relu. */
static void test_pipeline_lenet_fixture(void)
{
    const char *passes[] = {"bnfold", "gemm_batch", "epilogue"};
    am_scope_begin();
    am_graph *g = am_graph_load("tests/fixtures/lenet-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    for (int k = 0; k < 3; k++) {
        am_graph *h = run_pass(g, passes[k], false);
        CU_ASSERT_PTR_EQUAL(h, g);
        am_graph_release(h);
    }
    const char *data = "data";
    am_shape s = AM_SHAPE(2, 1, 28, 28);
    am_dtype t = F32;
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, &data, &s, &t, 1), AM_OK);
    am_graph *h = am_graph_optimize(g, NULL);
    check_same(g, h, 1e-5);
    CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_conv"), 2);
    CU_ASSERT_EQUAL(tu_count_op(h, "_amber_fused_fc"), 2);
    CU_ASSERT_EQUAL(tu_count_op(h, "Activation"), 0);
    am_graph_release(g), am_graph_release(h);
    am_scope_end();
}

CU_TestInfo am_tests_pass_gemm[] = {
    {"bnfold: convolution with bias", test_bnfold_conv_bias},
    {"bnfold: convolution without bias, fix_gamma", test_bnfold_conv_no_bias_fix_gamma},
    {"bnfold: grouped convolution, axis -3", test_bnfold_grouped_conv},
    {"bnfold: FullyConnected flattening 4-D data", test_bnfold_fc_flatten},
    {"bnfold: FullyConnected on the last axis only", test_bnfold_fc_last_axis_only},
    {"bnfold: nothing in training", test_bnfold_not_in_training},
    {"bnfold: shared output, other axis, hidden output", test_bnfold_refused},
    {"bnfold: frozen parameters fold to constants", test_bnfold_frozen},
    {"bnfold: logs each fold", test_bnfold_logs},
    {"gemm_batch: FCs sharing a weight", test_batch_shared_weight},
    {"gemm_batch: unrolled RNN input projections", test_batch_unrolled_rnn},
    {"gemm_batch: dependent FCs stay", test_batch_dependent_refused},
    {"gemm_batch: the largest independent group", test_batch_largest_independent_group},
    {"gemm_batch: different bias, attributes, rows", test_batch_needs_same_function},
    {"gemm_batch: flattened and N-D inputs", test_batch_reshaped_inputs},
    {"gemm_batch: dot sharing its right operand", test_batch_dot},
    {"gemm_batch: 70 members, training graph", test_batch_many_in_training},
    {"epilogue: FullyConnected and activations", test_epilogue_fc_activations},
    {"epilogue: LeakyReLU kinds", test_epilogue_leaky},
    {"epilogue: large outputs in row blocks", test_epilogue_row_blocks},
    {"epilogue: Convolution with and without bias", test_epilogue_conv},
    {"epilogue: bias vector added to FullyConnected", test_epilogue_bias_add},
    {"epilogue: shared product, matrix addend, bias twice", test_epilogue_refused},
    {"epilogue: the fused op in JSON", test_epilogue_fused_op_json},
    {"fused ops: by name, float64, no accumulation", test_fused_ops_by_name},
    {"pipeline: conv-BN-relu and dense-relu for inference", test_pipeline_inference},
    {"pipeline: LeNet fixture before and after inference", test_pipeline_lenet_fixture},
    CU_TEST_INFO_NULL,
};
