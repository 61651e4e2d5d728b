/* The graph_gradient suite: am_graph_gradient's backward graphs, evaluated
 * node by node on random values, against eager autograd on the same values
 * (models from primitive ops, accumulation, multi-output and hidden outputs,
 * shared weights, zeros, head gradients, JSON round trips), and its errors. */
#include "test_util.h"

#include <amber/executor.h>

#include "../symbol/symbol_impl.h"

#define TOL 1e-5
#define MAX_T 16

/* An input of a test model: a variable in the graph, a random array eagerly. */
typedef struct tg_in {
    const char *name;
    am_shape shape;
    bool wrt;        /* differentiate with respect to it */
    double lo, hi;   /* value range; lo == hi: [-1, 1) */
} tg_in;

/* A model: the same C code builds the graph and runs eagerly.  Fills heads
 * and returns their count (0 on failure). */
typedef int (*tg_model)(am_array *const *in, am_array **heads);

typedef struct tg_run {
    am_graph *g, *gg;            /* forward and gradient graphs */
    am_array *val[MAX_T];        /* input values */
    am_array *hg[MAX_T];         /* head gradients */
    char *hg_name[MAX_T];
    const char *names[2 * MAX_T];
    am_array *bound[2 * MAX_T];
    int n_in, n_heads, n_wrt, n_bound;
} tg_run;

static void run_free(tg_run *r)
{
    am_graph_release(r->g);
    am_graph_release(r->gg);
    for (int h = 0; h < r->n_heads; h++) free(r->hg_name[h]);
}

/* Traces the model, differentiates it and makes values for every input and
 * a random head gradient per head.  false (after CU failures) on error. */
static bool run_build(tg_run *r, const tg_in *ins, int n_in, tg_model f)
{
    am_array *vars[MAX_T], *heads[MAX_T];
    const char *wrt[MAX_T];
    *r = (tg_run){.n_in = n_in};
    for (int i = 0; i < n_in; i++) {
        vars[i] = am_var(ins[i].name, ins[i].shape, AM_DTYPE_FLOAT32);
        double lo = ins[i].lo, hi = ins[i].hi;
        r->val[i] = lo == hi ? tu_random(ins[i].shape, AM_DTYPE_FLOAT32, -1, 1)
                             : tu_random(ins[i].shape, AM_DTYPE_FLOAT32, lo, hi);
        if (ins[i].wrt) wrt[r->n_wrt++] = ins[i].name;
        r->names[r->n_bound] = ins[i].name;
        r->bound[r->n_bound++] = r->val[i];
    }
    r->n_heads = f(vars, heads);
    if (r->n_heads <= 0) printf("\n  model: %s\n", am_last_error());
    CU_ASSERT_FATAL(r->n_heads > 0);
    r->g = am_graph_create(heads, r->n_heads);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->g);
    r->gg = am_graph_gradient(r->g, wrt, r->n_wrt);
    if (!r->gg) printf("\n  am_graph_gradient: %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->gg);
    CU_ASSERT_EQUAL(am_graph_num_outputs(r->gg), r->n_heads + r->n_wrt);
    CU_ASSERT_EQUAL_FATAL(am_graph_list_outputs(r->g, r->hg_name, MAX_T), r->n_heads);
    for (int h = 0; h < r->n_heads; h++) {
        char name[256];
        snprintf(name, sizeof(name), "%s_head_grad", r->hg_name[h]);
        free(r->hg_name[h]);
        r->hg_name[h] = strdup(name);
        r->hg[h] = tu_random(am_array_shape(heads[h]), AM_DTYPE_FLOAT32, -1, 1);
        r->names[r->n_bound] = r->hg_name[h];
        r->bound[r->n_bound++] = r->hg[h];
    }
    return true;
}

/* The gradient graph's outputs on the run's values (training mode). */
static bool run_eval(tg_run *r, am_graph *gg, am_array **out)
{
    am_status st = am_graph_eval(gg, r->names, r->bound, r->n_bound, true, out,
                                 r->n_heads + r->n_wrt);
    if (st != AM_OK) printf("\n  am_graph_eval: %s\n", am_last_error());
    CU_ASSERT_EQUAL(st, AM_OK);
    return st == AM_OK;
}

/* The same model run eagerly under autograd on copies of the run's values:
 * heads, then the gradients of the wrt inputs given the head gradients. */
static bool run_eager(tg_run *r, const tg_in *ins, tg_model f, am_array **out)
{
    am_array *x[MAX_T], *vars[MAX_T];
    int n_vars = 0;
    for (int i = 0; i < r->n_in; i++) {
        x[i] = am_copy(r->val[i]);
        if (ins[i].wrt) {
            CU_ASSERT_EQUAL(am_attach_grad(x[i], AM_GRAD_WRITE), AM_OK);
            vars[n_vars++] = x[i];
        }
    }
    am_autograd_record_begin(true);
    int n = f(x, out);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(n, r->n_heads);
    am_status st = am_grad_of(out, r->hg, n, vars, n_vars, false, false, out + n);
    if (st != AM_OK) printf("\n  am_grad_of: %s\n", am_last_error());
    CU_ASSERT_EQUAL(st, AM_OK);
    return st == AM_OK;
}

static void assert_same(am_array *const *a, am_array *const *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!tu_allclose(a[i], b[i], TOL)) {
            printf("  (output %d)\n", i);
            CU_FAIL("graph and eager values differ");
        }
}

/* Builds, evaluates and compares a model with eager autograd.  Values made
 * for the inputs are copied before the graph runs, so ops that mutate their
 * auxiliary states (BatchNorm) see the same values both ways. */
static void check_model(const tg_in *ins, int n_in, tg_model f)
{
    tg_run r;
    am_array *got[2 * MAX_T], *want[2 * MAX_T];
    am_scope_begin();
    if (run_build(&r, ins, n_in, f)) {
        bool ok = run_eager(&r, ins, f, want) && run_eval(&r, r.gg, got);
        if (ok) assert_same(got, want, r.n_heads + r.n_wrt);
    }
    run_free(&r);
    am_scope_end();
}

/* ---- models ---------------------------------------------------------------------- */

/* Two layers and a softmax cross-entropy written with primitive ops:
 * -mean(sum(label * (z - max z - log(sum(exp(z - max z)))))). */
static int mlp_xent(am_array *const *in, am_array **heads)
{
    am_array *x = in[0], *w1 = in[1], *b1 = in[2], *w2 = in[3], *b2 = in[4], *label = in[5];
    am_array *h = am_relu(am_fully_connected(x, w1, b1, 5, false, true));
    am_array *z = am_add(am_dot_t(h, w2, false, true), b2);
    am_array *s = am_sub(z, am_max(z, (int[]){1}, 1, true));
    am_array *lse = am_log(am_sum(am_exp(s), (int[]){1}, 1, true));
    am_array *ll = am_sum(am_mul(label, am_sub(s, lse)), (int[]){1}, 1, false);
    heads[0] = am_mul_scalar(am_mean(ll, NULL, 0, false), -1.0);
    return heads[0] ? 1 : 0;
}

static void test_mlp_cross_entropy(void)
{
    const tg_in ins[] = {
        {"data", AM_SHAPE(4, 6), false, 0, 0},   {"fc1_weight", AM_SHAPE(5, 6), true, 0, 0},
        {"fc1_bias", AM_SHAPE(5), true, 0, 0},   {"fc2_weight", AM_SHAPE(3, 5), true, 0, 0},
        {"fc2_bias", AM_SHAPE(3), true, 0, 0},   {"label", AM_SHAPE(4, 3), false, 0, 1},
    };
    check_model(ins, 6, mlp_xent);
}

/* x feeds four consumers and w two: their contributions add up. */
static int shared_uses(am_array *const *in, am_array **heads)
{
    am_array *x = in[0], *w = in[1];
    am_array *a = am_elemwise_mul(x, x), *b = am_sin(x), *c = am_mul(x, w);
    am_array *d = am_tanh(am_elemwise_add(am_add(a, b), am_add(c, x)));
    heads[0] = am_sum(am_mul(d, w), NULL, 0, false);
    return heads[0] ? 1 : 0;
}

static void test_accumulates_several_uses(void)
{
    const tg_in ins[] = {{"x", AM_SHAPE(3, 4), true, 0, 0}, {"w", AM_SHAPE(4), true, 0, 0}};
    check_model(ins, 2, shared_uses);
    /* The structure: x's five contributions (x * x gives two) meet in one add_n. */
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(4), AM_DTYPE_FLOAT32), *y;
    CU_ASSERT_EQUAL(shared_uses((am_array *[]){x, w}, &y), 1);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"x"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    am_node *dx = gg->heads[1].node;
    CU_ASSERT_STRING_EQUAL(dx->op->name, "add_n");
    CU_ASSERT_EQUAL(dx->n_in, 5);
    am_graph_release(g);
    am_graph_release(gg);
    am_scope_end();
}

/* SliceChannel with three outputs of which the middle one is unused: its
 * gradient is zeros, as eager backward passes it. */
static int split_some(am_array *const *in, am_array **heads)
{
    am_array *p[3], *q[2];
    if (am_split(in[0], 3, 1, false, p) != AM_OK) return 0;
    if (am_split(in[1], 2, 0, true, q) != AM_OK) return 0;
    am_array *y = am_mul(am_elemwise_mul(p[0], am_exp(p[2])), q[1]);
    heads[0] = am_sum(y, NULL, 0, false);
    return heads[0] ? 1 : 0;
}

static void test_multi_output_partly_used(void)
{
    const tg_in ins[] = {{"x", AM_SHAPE(2, 6), true, 0, 0}, {"v", AM_SHAPE(2, 2), true, 0, 0}};
    check_model(ins, 2, split_some);
}

/* BatchNorm in training: its gradient reads the hidden mean and inverse
 * std of the forward node; the moving statistics are updated, not
 * differentiated. */
static int bn_model(am_array *const *in, am_array **heads)
{
    am_array *y = am_batch_norm(in[0], in[1], in[2], in[3], in[4], 1e-5, 0.9, false, false, 1);
    heads[0] = am_sum(am_mul(am_square(y), in[5]), NULL, 0, false);
    heads[1] = y;
    return heads[0] ? 2 : 0;
}

#define BN_INS                                                                              \
    {                                                                                       \
        {"data", AM_SHAPE(4, 3, 2, 2), true, 0, 0}, {"bn_gamma", AM_SHAPE(3), true, 0.5, 1.5}, \
        {"bn_beta", AM_SHAPE(3), true, 0, 0}, {"bn_moving_mean", AM_SHAPE(3), false, 0, 0},    \
        {"bn_moving_var", AM_SHAPE(3), false, 0.5, 1.5}, {"c", AM_SHAPE(3, 1, 1), false, 0, 0} \
    }

static void test_batch_norm_training(void)
{
    const tg_in ins[] = BN_INS;
    check_model(ins, 6, bn_model);
}

/* Convolution, bias, relu, max and average pooling, then a dense layer. */
static int conv_pool(am_array *const *in, am_array **heads)
{
    const int64_t k3[] = {3, 3}, p1[] = {1, 1}, k2[] = {2, 2};
    am_array *c = am_convolution(in[0], in[1], in[2], 2, k3, NULL, p1, NULL, 4, 1);
    am_array *m = am_pooling(am_relu(c), "max", k2, k2, NULL, 2, false, NULL, 0, true);
    am_array *a = am_pooling(m, "avg", k2, NULL, NULL, 2, false, NULL, 0, true);
    am_array *y = am_fully_connected(am_flatten(a), in[3], NULL, 3, true, true);
    heads[0] = am_sum(am_square(y), NULL, 0, false);
    return heads[0] ? 1 : 0;
}

static void test_convolution_pooling(void)
{
    const tg_in ins[] = {
        {"data", AM_SHAPE(2, 3, 6, 6), true, 0, 0},
        {"conv_weight", AM_SHAPE(4, 3, 3, 3), true, 0, 0},
        {"conv_bias", AM_SHAPE(4), true, 0, 0},
        {"fc_weight", AM_SHAPE(3, 16), true, 0, 0},
    };
    check_model(ins, 4, conv_pool);
}

/* An LSTM cell unrolled over 3 steps from primitive ops; the weights are
 * shared across steps, so their gradients sum over time. */
static int lstm3(am_array *const *in, am_array **heads)
{
    am_array *xs[3], *wx = in[1], *wh = in[2], *b = in[3], *h = in[4], *c = in[5];
    if (am_split(in[0], 3, 0, true, xs) != AM_OK) return 0;
    for (int t = 0; t < 3; t++) {
        am_array *gates = am_elemwise_add(am_fully_connected(xs[t], wx, b, 12, false, true),
                                          am_fully_connected(h, wh, NULL, 12, true, true));
        am_array *q[4];
        if (am_split(gates, 4, 1, false, q) != AM_OK) return 0;
        am_array *i = am_sigmoid(q[0]), *f = am_sigmoid(q[1]), *g = am_tanh(q[2]);
        am_array *o = am_sigmoid(q[3]);
        c = am_elemwise_add(am_elemwise_mul(f, c), am_elemwise_mul(i, g));
        h = am_elemwise_mul(o, am_tanh(c));
    }
    heads[0] = h;
    heads[1] = c;
    return h && c ? 2 : 0;
}

static void test_lstm_unrolled_shared_weights(void)
{
    const tg_in ins[] = {
        {"x", AM_SHAPE(3, 2, 4), true, 0, 0},  {"wx", AM_SHAPE(12, 4), true, 0, 0},
        {"wh", AM_SHAPE(12, 3), true, 0, 0},   {"b", AM_SHAPE(12), true, 0, 0},
        {"h0", AM_SHAPE(2, 3), true, 0, 0},    {"c0", AM_SHAPE(2, 3), false, 0, 0},
    };
    check_model(ins, 6, lstm3);
}

/* Broadcasting binary ops: each gradient sums over its broadcast axes. */
static int broadcasting(am_array *const *in, am_array **heads)
{
    am_array *a = in[0], *b = in[1], *c = in[2], *d = in[3];
    am_array *y = am_div(am_mul(am_add(a, b), am_sub(c, a)), d);
    y = am_add(y, am_broadcast_power(d, am_broadcast_maximum(b, am_broadcast_minimum(c, b))));
    heads[0] = y;
    return y ? 1 : 0;
}

static void test_broadcasting_ops(void)
{
    const tg_in ins[] = {
        {"a", AM_SHAPE(3, 1, 4), true, 0, 0}, {"b", AM_SHAPE(2, 4), true, 0, 0},
        {"c", AM_SHAPE(4), true, 0, 0},       {"d", AM_SHAPE(3, 2, 1), true, 0.5, 1.5},
    };
    check_model(ins, 4, broadcasting);
}

/* Reductions over some axes and all, with and without keepdims. */
static int reductions(am_array *const *in, am_array **heads)
{
    static const int ax02[] = {0, 2};
    am_array *x = in[0];
    am_array *s = am_sum(x, ax02, 2, true), *m = am_mean(x, (int[]){1}, 1, false);
    am_array *mx = am_max(x, (int[]){1}, 1, false), *p = am_prod(x, (int[]){-1}, 1, true);
    am_array *n = am_norm(x, 2, (int[]){1}, 1, false);
    am_array *y = am_add(am_mul(am_broadcast_add(x, s), p), am_expand_dims(am_mul(m, mx), 1));
    heads[0] = am_add(am_sum(y, NULL, 0, false), am_sum(n, NULL, 0, false));
    heads[1] = am_min(x, NULL, 0, false);
    return heads[0] && heads[1] ? 2 : 0;
}

static void test_reductions(void)
{
    const tg_in ins[] = {{"x", AM_SHAPE(2, 3, 4), true, 0.5, 1.5}};
    check_model(ins, 1, reductions);
}

/* Reshape, transpose, slice, slice_axis, concat and expand_dims. */
static int reshaping(am_array *const *in, am_array **heads)
{
    static const int perm[] = {2, 0, 1};
    static const int64_t begin[] = {0, 1, AM_NONE}, end[] = {2, 4, AM_NONE}, step[] = {1, 2, 1};
    am_array *x = in[0], *w = in[1];
    am_array *r = am_transpose(am_reshape(x, AM_SHAPE(4, 3, 2)), perm, 3);
    am_array *s = am_slice(r, begin, end, step, 3);
    am_array *t = am_slice_axis(x, 1, 1, 5);
    am_array *u = am_concat(((am_array *[]){am_reshape(s, AM_SHAPE(2, 6)), t, w}), 3, 1);
    heads[0] = am_sum(am_mul(u, u), (int[]){1}, 1, false);
    return heads[0] ? 1 : 0;
}

static void test_reshape_transpose_slice(void)
{
    const tg_in ins[] = {{"x", AM_SHAPE(2, 12), true, 0, 0}, {"w", AM_SHAPE(2, 3), true, 0, 0}};
    check_model(ins, 2, reshaping);
}

/* Two heads with head gradients bound to random values (not ones). */
static int two_heads(am_array *const *in, am_array **heads)
{
    heads[0] = am_mul(in[0], in[1]);
    heads[1] = am_sum(am_tanh(am_dot(in[0], am_transpose(in[1], NULL, 0))), (int[]){0}, 1, false);
    return heads[0] && heads[1] ? 2 : 0;
}

static void test_two_heads_weighted(void)
{
    const tg_in ins[] = {{"a", AM_SHAPE(3, 2), true, 0, 0}, {"b", AM_SHAPE(3, 2), true, 0, 0}};
    check_model(ins, 2, two_heads);
    /* By hand: d/da of sum(h0 * a * b) with h0 given is h0 * b. */
    am_scope_begin();
    am_array *a = am_var("a", AM_SHAPE(2), AM_DTYPE_FLOAT32);
    am_array *b = am_var("b", AM_SHAPE(2), AM_DTYPE_FLOAT32);
    am_array *y = am_mul(a, b);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"a"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    am_array *vals[3] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3, 4),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 10, -1)};
    const char *names[3] = {"a", "b", "broadcast_mul0_output_head_grad"};
    am_array *out[2];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(gg, names, vals, 3, true, out, 2), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2), 0, 3, 8);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2), 0, 30, -4);
    am_graph_release(g);
    am_graph_release(gg);
    am_scope_end();
}

/* ---- structure -------------------------------------------------------------------- */

/* A wrt variable no gradient reaches (only through BlockGrad) gets a _zeros
 * node of its shape, which needs no binding; eager autograd agrees. */
static int blocked(am_array *const *in, am_array **heads)
{
    heads[0] = am_sum(am_mul(in[0], am_block_grad(in[1])), NULL, 0, false);
    return heads[0] ? 1 : 0;
}

static void test_unreached_variable_gets_zeros(void)
{
    const tg_in ins[] = {{"x", AM_SHAPE(2, 3), true, 0, 0}, {"w", AM_SHAPE(3), true, 0, 0}};
    check_model(ins, 2, blocked);
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(3), AM_DTYPE_FLOAT64), *y;
    y = am_sum(am_mul(x, am_astype(am_block_grad(w), AM_DTYPE_FLOAT32)), NULL, 0, false);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"w"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    am_node *z = gg->heads[1].node;
    CU_ASSERT_STRING_EQUAL(z->op->name, "_zeros");
    CU_ASSERT_EQUAL(z->n_in, 0);
    CU_ASSERT(am_shape_equal(z->shapes[0], AM_SHAPE(3)) && z->dtypes[0] == AM_DTYPE_FLOAT64);
    /* Nothing flows back, so no head gradient variable is needed. */
    const char *names[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(gg, names, 8), 2);
    am_array *out[2], *vals[2] = {tu_random(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32, 0, 1),
                                  tu_random(AM_SHAPE(3), AM_DTYPE_FLOAT64, 0, 1)};
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(gg, (const char *[]){"x", "w"}, vals, 2, true, out, 2),
                          AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(3), 0, 0, 0, 0);
    am_graph_release(g);
    am_graph_release(gg);
    am_scope_end();
}

/* Forward nodes are shared, keep their names and come first; the head
 * gradient is an argument; the modes and the tape are left as they were. */
static void test_shares_forward_nodes(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_tanh(am_fully_connected(x, w, NULL, 4, true, true));
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT(!am_autograd_set_training(false));
    am_graph *gg = am_graph_gradient(g, (const char *[]){"w", "x", "w"}, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    CU_ASSERT(!am_autograd_is_training() && !am_autograd_is_recording());
    CU_ASSERT_EQUAL(am_graph_num_outputs(gg), 4);
    CU_ASSERT(gg->heads[0].node == g->heads[0].node);
    for (int i = 0; i < g->n_nodes; i++) {
        CU_ASSERT_PTR_EQUAL(gg->nodes[i], g->nodes[i]);
        CU_ASSERT_STRING_EQUAL(gg->names[i], g->names[i]);
    }
    CU_ASSERT(gg->n_nodes > g->n_nodes);
    CU_ASSERT(gg->heads[1].node == gg->heads[3].node);
    const char *names[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(gg, names, 8), 3);
    CU_ASSERT_STRING_EQUAL(names[2], "tanh0_output_head_grad");
    char *outs[4];
    CU_ASSERT_EQUAL(am_graph_list_outputs(gg, outs, 4), 4);
    CU_ASSERT_STRING_EQUAL(outs[0], "tanh0_output");
    for (int i = 0; i < 4; i++) free(outs[i]);
    am_graph_release(g);
    am_graph_release(gg);
    am_scope_end();
}

/* A head listed twice gets both seeds; a head that is itself a wrt
 * variable passes its head gradient straight through. */
static void test_repeated_and_variable_heads(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *y = am_square(x);
    am_graph *g = am_graph_create((am_array *[]){y, y, x}, 3);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"x"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    const char *names[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(gg, names, 8), 3);
    am_array *vals[3] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 1, 2),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 100, 0, 0)};
    am_array *out[4];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(gg, (const char *[]){"x", "square0_output_head_grad",
                                                             "x_head_grad"},
                                        vals, 3, true, out, 4), AM_OK);
    /* 2 * (2 x h) + hx = 4 x h + hx. */
    TU_ASSERT_VALUES(out[3], AM_SHAPE(3), 1e-6, 104, 8, 24);
    am_graph_release(g);
    am_graph_release(gg);
    am_scope_end();
}

/* Dropout's gradient multiplies by the mask the forward node drew (its
 * hidden output), so in one run dx * x == y * head_grad elementwise. */
static void test_dropout_shares_its_mask(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(64), AM_DTYPE_FLOAT32);
    am_array *y = am_dropout(x, 0.5);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"x"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    am_array *xv = tu_random(AM_SHAPE(64), AM_DTYPE_FLOAT32, 0.5, 1.5);
    am_array *hv = tu_random(AM_SHAPE(64), AM_DTYPE_FLOAT32, -1, 1), *out[2];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(gg, (const char *[]){"x", "dropout0_output_head_grad"},
                                        (am_array *[]){xv, hv}, 2, true, out, 2), AM_OK);
    CU_ASSERT(tu_allclose(am_mul(out[1], xv), am_mul(out[0], hv), TOL));
    double zeros = am_item(am_sum(am_equal_scalar(out[0], 0), NULL, 0, false), 0);
    CU_ASSERT(zeros > 8 && zeros < 56);
    am_graph_release(g);
    am_graph_release(gg);
    am_scope_end();
}

/* The gradient graph written as MXNet JSON and read back evaluates to the
 * same numbers (BatchNorm's hidden outputs and _backward_ ops included). */
static void test_json_round_trip(void)
{
    tg_run r;
    am_array *a[2 * MAX_T], *b[2 * MAX_T];
    am_scope_begin();
    const tg_in ins[] = BN_INS;
    run_build(&r, ins, 6, bn_model);
    char *json = am_graph_to_json(r.gg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    am_graph *back = am_graph_from_json(json);
    if (!back) printf("\n  am_graph_from_json: %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(am_graph_num_nodes(back), am_graph_num_nodes(r.gg));
    /* BatchNorm updates the moving statistics: both runs start from copies. */
    am_array *mm = am_copy(r.val[3]), *mv = am_copy(r.val[4]);
    CU_ASSERT_FATAL(run_eval(&r, r.gg, a));
    r.bound[3] = mm, r.bound[4] = mv;
    CU_ASSERT_FATAL(run_eval(&r, back, b));
    for (int i = 0; i < r.n_heads + r.n_wrt; i++) CU_ASSERT(tu_allclose(b[i], a[i], 0));
    char *again = am_graph_to_json(back);
    CU_ASSERT_STRING_EQUAL(again, json);
    free(again);
    free(json);
    am_graph_release(back);
    run_free(&r);
    am_scope_end();
}

/* The gradient graph is an ordinary graph: differentiating one of its
 * outputs again gives the second derivative (sum x^3: 6 x h). */
static void test_second_order(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *y = am_sum(am_power_scalar(x, 3), NULL, 0, false);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *g1 = am_graph_gradient(g, (const char *[]){"x"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g1);
    am_array *dx = am_graph_output(g1, 1);
    am_graph *d = am_graph_create(&dx, 1);
    char *out_name[1];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_outputs(d, out_name, 1), 1);
    char hg[256];
    snprintf(hg, sizeof(hg), "%s_head_grad", out_name[0]);
    free(out_name[0]);
    am_graph *g2 = am_graph_gradient(d, (const char *[]){"x"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g2);
    am_array *vals[3] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, -1),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 2),
                         tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 1, 0.5)}, *out[2];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g2, (const char *[]){"x", "sum0_output_head_grad", hg},
                                        vals, 3, true, out, 2), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(3), 1e-5, 6, 24, 6);   /* 3 x^2 h */
    TU_ASSERT_VALUES(out[1], AM_SHAPE(3), 1e-5, 12, 24, -6); /* 6 x h k */
    am_graph_release(g);
    am_graph_release(g1);
    am_graph_release(d);
    am_graph_release(g2);
    am_scope_end();
}

/* ---- errors ------------------------------------------------------------------------ */

static am_status copy_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out), AM_UNUSED(req);
    memcpy(out[0].data, in[0].data, (size_t)am_view_size(&in[0]) * am_dtype_size(in[0].dtype));
    return AM_OK;
}

/* A gradient that fails as a buggy one would: a reshape to a wrong size. */
static am_status failing_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = am_reshape_at(og[0], AM_SHAPE(7, 7), false, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

static const am_op_def failing_op = {
    .name = "_test_graph_gradient_fails", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same,
    .cpu = copy_cpu, .gradient = failing_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "A copy whose gradient fails (tests)."};
static const am_op_def gradless_op = {
    .name = "_test_graph_gradient_none", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same,
    .cpu = copy_cpu, .fuse = AM_FUSE_OPAQUE, .doc = "A copy without a gradient (tests)."};

static am_graph *graph_of(const char *op, am_array *x)
{
    am_array *y = NULL;
    CU_ASSERT_EQUAL_FATAL(am_op_call(am_op_find(op), NULL, &x, 1, &y, 1, AM_HERE), AM_OK);
    return am_graph_create(&y, 1);
}

static void test_errors(void)
{
    static bool registered;
    if (!registered) {
        CU_ASSERT_EQUAL(am_op_register(&failing_op), AM_OK);
        CU_ASSERT_EQUAL(am_op_register(&gradless_op), AM_OK);
        registered = true;
    }
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 3, 2, 2), AM_DTYPE_FLOAT32), *hs[2];
    CU_ASSERT_EQUAL_FATAL(bn_model((am_array *[]){x, am_var("g", AM_SHAPE(3), AM_DTYPE_FLOAT32),
                                                  am_var("b", AM_SHAPE(3), AM_DTYPE_FLOAT32),
                                                  am_var("mm", AM_SHAPE(3), AM_DTYPE_FLOAT32),
                                                  am_var("mv", AM_SHAPE(3), AM_DTYPE_FLOAT32),
                                                  am_var("c", AM_SHAPE(3, 1, 1), AM_DTYPE_FLOAT32)},
                                   hs), 2);
    am_graph *g = am_graph_create(hs, 1);
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"x", "nope"}, 2), AM_ERR_ARG,
                    "no variable named 'nope'");
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"mm"}, 1), AM_ERR_ARG,
                    "'mm' is an auxiliary state");
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"batchnorm0"}, 1), AM_ERR_ARG,
                    "'batchnorm0' is a BatchNorm node, not a variable");
    TU_ASSERT_FAILS(am_graph_gradient(NULL, NULL, 0), AM_ERR_ARG, "graph is NULL");
    TU_ASSERT_FAILS(am_graph_gradient(g, NULL, 1), AM_ERR_ARG, "bad wrt list");
    am_graph_release(g);

    /* A constant is not a variable; a head gradient name may not clash. */
    am_array *k = am_mul(x, tu_random(AM_SHAPE(4, 3, 2, 2), AM_DTYPE_FLOAT32, 0, 1));
    g = am_graph_create(&k, 1);
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"_const0"}, 1), AM_ERR_ARG,
                    "'_const0' is a constant");
    am_graph_release(g);
    am_array *v = am_var("broadcast_add0_output_head_grad", AM_SHAPE(1), AM_DTYPE_FLOAT32);
    am_array *s = am_add(x, v);
    g = am_graph_create(&s, 1);
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"x"}, 1), AM_ERR_ARG,
                    "would clash");
    am_graph_release(g);

    /* Gradient functions that fail, or are missing, name the node. */
    am_array *z = am_var("z", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    g = graph_of("_test_graph_gradient_fails", z);
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"z"}, 1), AM_ERR_SHAPE,
                    "the gradient of node '_test_graph_gradient_fails0' "
                    "(_test_graph_gradient_fails) failed: Reshape");
    am_graph_release(g);
    g = graph_of("_test_graph_gradient_none", z);
    TU_ASSERT_FAILS(am_graph_gradient(g, (const char *[]){"z"}, 1), AM_ERR_UNSUPPORTED,
                    "(_test_graph_gradient_none) has no gradient function");
    am_graph_release(g);
    am_scope_end();
}

/* A graph read from JSON without shapes must be inferred first. */
static void test_unknown_shapes(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load("tests/fixtures/mlp-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *w = "dense0_weight";
    TU_ASSERT_FAILS(am_graph_gradient(g, &w, 1), AM_ERR_SHAPE, "run am_graph_infer");
    const char *name = "data";
    am_shape s = AM_SHAPE(32, 784);
    am_dtype t = AM_DTYPE_FLOAT32;
    am_status st = am_graph_infer(g, &name, &s, &t, 1);
    if (st != AM_OK) printf("\n  am_graph_infer: %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    am_graph *gg = am_graph_gradient(g, &w, 1);
    CU_ASSERT_PTR_NOT_NULL(gg);
    if (gg) {
        am_shape ws;
        CU_ASSERT_EQUAL(am_graph_output_shape(gg, 1, &ws, NULL), AM_OK);
        CU_ASSERT(ws.ndim == 2 && ws.dim[0] == 64 && ws.dim[1] == 784);
    }
    am_graph_release(gg);
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_graph_gradient[] = {
    {"MLP with a cross-entropy from primitive ops", test_mlp_cross_entropy},
    {"several uses of a value accumulate", test_accumulates_several_uses},
    {"multi-output op with some outputs unused", test_multi_output_partly_used},
    {"BatchNorm in training (hidden outputs)", test_batch_norm_training},
    {"convolution and pooling", test_convolution_pooling},
    {"LSTM unrolled 3 steps with shared weights", test_lstm_unrolled_shared_weights},
    {"broadcasting ops", test_broadcasting_ops},
    {"reductions", test_reductions},
    {"reshape, transpose, slice, concat", test_reshape_transpose_slice},
    {"two heads with head gradients", test_two_heads_weighted},
    {"unreached variable gets zeros", test_unreached_variable_gets_zeros},
    {"forward nodes are shared and keep names", test_shares_forward_nodes},
    {"repeated heads and variable heads", test_repeated_and_variable_heads},
    {"Dropout's gradient uses its mask", test_dropout_shares_its_mask},
    {"JSON round trip evaluates the same", test_json_round_trip},
    {"second order", test_second_order},
    {"errors", test_errors},
    {"unknown shapes", test_unknown_shapes},
    CU_TEST_INFO_NULL,
};
