/* The pass_fuse suite: elementwise fusion.  Each case checks the structure
 * after the pass and that the fused graph computes what the original does
 * (am_graph_eval on the same random inputs). */
#include "test_util.h"

#include <pthread.h>

#include "../executor/executor_impl.h"

#define F32 AM_DTYPE_FLOAT32
#define F64 AM_DTYPE_FLOAT64
#define FUSED "_amber_fused_elemwise"

static am_graph *fuse(am_graph *g)
{
    am_graph *f = am_graph_run_pass(g, "fuse", NULL);
    if (!f) printf("\n  fuse failed: %s\n", am_last_error());
    return f;
}

static const am_fused_attrs *fused_attrs(const am_graph *g, int which)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op && strcmp(g->nodes[i]->op->name, FUSED) == 0 && which-- == 0)
            return g->nodes[i]->attrs;
    return NULL;
}

/* g and its fused form f give the same heads on the same inputs. */
static void check_agree(am_graph *g, am_graph *f, const char *const *names,
                        am_array *const *vals, int n, double tol)
{
    am_array *a[8], *b[8];
    int heads = am_graph_num_outputs(g);
    CU_ASSERT_EQUAL_FATAL(am_graph_num_outputs(f), heads);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, n, false, a, heads), AM_OK);
    am_status st = am_graph_eval(f, names, vals, n, false, b, heads);
    if (st != AM_OK) printf("\n  fused graph failed: %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    for (int h = 0; h < heads; h++) {
        CU_ASSERT_EQUAL(am_array_dtype(a[h]), am_array_dtype(b[h]));
        CU_ASSERT(tu_allclose(b[h], a[h], tol));
    }
}

/* exp -> _mul_scalar -> relu becomes one node reading x once. */
static void test_chain(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3, 1000), F32);
    am_array *y = am_relu(am_mul_scalar(am_exp(x), 0.5));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_nodes, 2);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 1);
    const am_fused_attrs *a = fused_attrs(f, 0);
    CU_ASSERT_STRING_EQUAL(a->ops, "exp,_mul_scalar,relu");
    CU_ASSERT(a->n_ops == 3 && a->num_args == 1 && a->num_outputs == 1);
    /* The fused node takes the root's name, so the output keeps its name. */
    CU_ASSERT_STRING_EQUAL(f->names[1], g->names[g->n_nodes - 1]);
    am_array *xv = tu_random(AM_SHAPE(3, 1000), F32, -2, 2);
    check_agree(g, f, (const char *[]){"x"}, &xv, 1, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* tanh(a * b) + sigmoid(c * d): a tree over four inputs. */
static void test_tree(void)
{
    am_scope_begin();
    am_shape s = AM_SHAPE(17, 33);
    const char *names[] = {"a", "b", "c", "d"};
    am_array *v[4], *vals[4];
    for (int i = 0; i < 4; i++) {
        v[i] = am_var(names[i], s, F32);
        vals[i] = tu_random(s, F32, -3, 3);
    }
    am_array *y = am_elemwise_add(am_tanh(am_elemwise_mul(v[0], v[1])),
                                  am_activation(am_mul(v[2], v[3]), "sigmoid"));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_nodes, 5);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 1);
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->n_ops, 5);
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->num_args, 4);
    check_agree(g, f, names, vals, 4, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* The pointwise part of an LSTM cell over slices of the gate GEMMs: c' and
 * h' come out of one node (c' is used by h' and is a head). */
static void test_lstm_cell(void)
{
    am_scope_begin();
    const int B = 5, I = 7, H = 300;
    const char *names[] = {"x", "h", "c", "W", "U", "b"};
    am_shape shapes[] = {AM_SHAPE(B, I), AM_SHAPE(B, H), AM_SHAPE(B, H), AM_SHAPE(4 * H, I),
                         AM_SHAPE(4 * H, H), AM_SHAPE(4 * H)};
    am_array *v[6], *vals[6];
    for (int i = 0; i < 6; i++) {
        v[i] = am_var(names[i], shapes[i], F32);
        vals[i] = tu_random(shapes[i], F32, -1, 1);
    }
    am_array *gates = am_elemwise_add(am_fully_connected(v[0], v[3], v[5], 4 * H, false, true),
                                      am_fully_connected(v[1], v[4], NULL, 4 * H, true, true));
    am_array *in = am_activation(am_slice_axis(gates, 1, 0, H), "sigmoid");
    am_array *fg = am_sigmoid(am_slice_axis(gates, 1, H, 2 * H));
    am_array *gg = am_tanh(am_slice_axis(gates, 1, 2 * H, 3 * H));
    am_array *og = am_sigmoid(am_slice_axis(gates, 1, 3 * H, 4 * H));
    am_array *c2 = am_elemwise_add(am_elemwise_mul(fg, v[2]), am_elemwise_mul(in, gg));
    am_array *h2 = am_elemwise_mul(og, am_activation(c2, "tanh"));
    am_graph *g = am_graph_create((am_array *[]){h2, c2}, 2), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 1);
    const am_fused_attrs *a = fused_attrs(f, 0);
    CU_ASSERT(a->n_ops == 9 && a->num_args == 5 && a->num_outputs == 2);
    /* 6 variables, 2 FullyConnected, their sum, 4 slices and the fused node. */
    CU_ASSERT_EQUAL(f->n_nodes, 14);
    CU_ASSERT_EQUAL(tu_count_op(f, "slice_axis"), 4);
    CU_ASSERT_EQUAL(tu_count_op(f, "elemwise_add"), 1);
    check_agree(g, f, names, vals, 6, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* Row (N,), column (M, 1), channel (C, 1, 1) and scalar (1,) operands are
 * gathered per chunk; chunks end inside rows and channels. */
static void test_broadcast_operands(void)
{
    am_scope_begin();
    const char *names[] = {"x", "bias", "col", "s", "img", "cb"};
    am_shape shapes[] = {AM_SHAPE(1000, 100), AM_SHAPE(100), AM_SHAPE(1000, 1), AM_SHAPE(1),
                         AM_SHAPE(4, 3, 70, 50), AM_SHAPE(3, 1, 1)};
    am_array *v[6], *vals[6];
    for (int i = 0; i < 6; i++) {
        v[i] = am_var(names[i], shapes[i], F32);
        vals[i] = tu_random(shapes[i], F32, -2, 2);
    }
    am_array *y = am_relu(am_add(am_mul_scalar(v[0], 2), v[1]));
    y = am_mul(am_sub(y, v[2]), v[3]);
    am_array *z = am_tanh(am_add(am_square(v[4]), v[5]));
    am_graph *g = am_graph_create((am_array *[]){y, z}, 2), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 2);
    CU_ASSERT_EQUAL(f->n_nodes, 8);
    check_agree(g, f, names, vals, 6, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* where (equal shapes), clip, add_n, Cast to the same dtype, identity and
 * ones_like fuse too; running the pass again changes nothing. */
static void test_other_elementwise_ops(void)
{
    am_scope_begin();
    am_shape s = AM_SHAPE(40000);
    const char *names[] = {"a", "b", "c"};
    am_array *v[3], *vals[3];
    for (int i = 0; i < 3; i++) {
        v[i] = am_var(names[i], s, F64);
        vals[i] = tu_random(s, F64, -2, 2);
    }
    am_array *m = am_where(am_greater_scalar(v[0], 0), am_clip(v[1], -0.5, 0.5), v[2]);
    am_array *sum = am_add_n(((am_array *[]){m, am_astype(v[0], F64), am_copy(v[1])}), 3);
    am_array *y = am_elemwise_mul(sum, am_ones_like(v[2]));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_nodes, 4);
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->n_ops, 8);
    check_agree(g, f, names, vals, 3, 1e-12);
    am_graph *again = fuse(f);
    CU_ASSERT_PTR_EQUAL(again, f);
    am_graph_release(again);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* t = exp(x) read three times inside one node. */
static void test_shared_subexpression(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(1000), F32);
    am_array *t = am_exp(x);
    am_array *y = am_elemwise_add(am_elemwise_mul(t, t), am_negative(t));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_nodes, 2);
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->n_ops, 4);
    check_agree(g, f, (const char *[]){"x"}, (am_array *[]){tu_random(AM_SHAPE(1000), F32, -1, 1)},
                1, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* A member read by a GEMM becomes a second output; one whose other
 * consumer leads back into the group stays out of it, so no cycle forms. */
static void test_values_used_outside(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(8, 8), F32), *w = am_var("w", AM_SHAPE(8, 8), F32);
    am_array *t = am_sigmoid(x);
    am_array *y = am_mul_scalar(am_exp(t), 3);
    am_array *z = am_dot(t, w);
    am_graph *g = am_graph_create((am_array *[]){y, z}, 2), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_nodes, 4);
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->num_outputs, 2);
    am_array *vals[] = {tu_random(AM_SHAPE(8, 8), F32, -1, 1),
                        tu_random(AM_SHAPE(8, 8), F32, -1, 1)};
    check_agree(g, f, (const char *[]){"x", "w"}, vals, 2, 1e-5);
    am_graph_release(f);
    am_graph_release(g);

    /* t = relu(exp(x)) feeds dot and tanh(t + dot(t, w)). */
    t = am_relu(am_exp(x));
    y = am_tanh(am_elemwise_add(t, am_dot(t, w)));
    g = am_graph_create(&y, 1);
    f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 2);
    CU_ASSERT_EQUAL(f->n_nodes, 5);
    check_agree(g, f, (const char *[]){"x", "w"}, vals, 2, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

static void test_float64_and_int32(void)
{
    am_scope_begin();
    am_shape s = AM_SHAPE(9, 1001);
    am_array *a = am_var("a", s, F64), *b = am_var("b", AM_SHAPE(1001), F64);
    am_array *y = am_sqrt(am_add(am_square(am_sin(a)), am_exp(b)));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->n_nodes, 4); /* a, b, exp(b) of b's shape, the rest fused */
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->dtype, F64);
    am_array *vals[] = {tu_random(s, F64, -3, 3), tu_random(AM_SHAPE(1001), F64, -3, 3)};
    check_agree(g, f, (const char *[]){"a", "b"}, vals, 2, 1e-12);
    am_graph_release(f);
    am_graph_release(g);

    /* Integer ops keep their wrap-around semantics: the kernels are the ops' own. */
    am_array *i = am_var("i", AM_SHAPE(50000), AM_DTYPE_INT32);
    y = am_abs(am_plus_scalar(am_mul_scalar(i, 3), -7));
    g = am_graph_create(&y, 1);
    f = fuse(g);
    CU_ASSERT_EQUAL(f->n_nodes, 2);
    am_array *iv = am_astype(tu_random(AM_SHAPE(50000), F64, -1e9, 1e9), AM_DTYPE_INT32);
    check_agree(g, f, (const char *[]){"i"}, &iv, 1, 0);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* Sizes around and across chunks, and past the size where threads join. */
static void test_odd_sizes(void)
{
    const int64_t c = AM_FUSE_CHUNK;
    const int64_t sizes[] = {1, 7, c - 1, c, c + 1, 3 * c + 5, 1 << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        am_scope_begin();
        int64_t n = sizes[k];
        am_array *x = am_var("x", AM_SHAPE(n), F32), *s = am_var("s", AM_SHAPE(1), F32);
        am_array *y = am_sigmoid(am_mul(am_plus_scalar(am_tanh(x), 1), s));
        am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(f->n_nodes, 3);
        am_array *vals[] = {tu_random(AM_SHAPE(n), F32, -4, 4), tu_random(AM_SHAPE(1), F32, 0, 2)};
        check_agree(g, f, (const char *[]){"x", "s"}, vals, 2, 1e-5);
        am_graph_release(f);
        am_graph_release(g);
        am_scope_end();
    }
}

/* Other shapes, reductions, dtype changes and where's row condition split
 * groups; a graph with nothing to fuse comes back unchanged. */
static void test_what_does_not_fuse(void)
{
    am_scope_begin();
    am_array *a = am_var("a", AM_SHAPE(3, 4), F32), *b = am_var("b", AM_SHAPE(4), F32);
    am_array *y = am_add(am_exp(a), am_tanh(b));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 1);
    CU_ASSERT_EQUAL(tu_count_op(f, "tanh"), 1);
    am_array *vals[] = {tu_random(AM_SHAPE(3, 4), F32, -1, 1), tu_random(AM_SHAPE(4), F32, -1, 1)};
    check_agree(g, f, (const char *[]){"a", "b"}, vals, 2, 1e-5);
    am_graph_release(f);
    am_graph_release(g);

    am_array *x = am_var("x", AM_SHAPE(4, 4), F32), *c = am_var("c", AM_SHAPE(4), F32);
    am_array *outs[] = {am_where(c, am_relu(x), x), am_sum(am_exp(x), (int[]){0}, 1, false),
                        am_exp(am_astype(am_exp(x), F64))};
    g = am_graph_create(outs, 3);
    f = fuse(g);
    CU_ASSERT_PTR_EQUAL(f, g);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* ---- random ops ------------------------------------------------------------------- */

/* An elementwise op that draws: x + uniform noise. */
static am_status noise_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out), AM_UNUSED(req);
    for (int64_t i = 0; i < am_view_size(&out[0]); i++)
        am_view_set(&out[0], i, am_view_get(&in[0], i) + am_rng_uniform01(ctx->rng));
    return AM_OK;
}

static const am_op_def noise_op = {
    .name = "_amber_test_fuse_noise", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same,
    .cpu = noise_cpu, .fuse = AM_FUSE_ELEMWISE, .flags = AM_OP_RANDOM | AM_OP_NO_GRAD};

static pthread_once_t noise_once = PTHREAD_ONCE_INIT;
static void register_noise(void) { AM_ASSERT(am_op_register(&noise_op) == AM_OK); }

static void test_random_ops_stay(void)
{
    pthread_once(&noise_once, register_noise);
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(50), F32), *n = NULL;
    am_array *t = am_exp(x);
    CU_ASSERT_EQUAL_FATAL(am_op_call(&noise_op, NULL, &t, 1, &n, 1, AM_HERE), AM_OK);
    am_array *y = am_relu(am_dropout(am_relu(n), 0.5));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    CU_ASSERT_PTR_EQUAL(f, g); /* every elementwise op sits between random ones */
    am_graph_release(f);
    am_graph_release(g);
    y = am_tanh(am_relu(n));
    g = am_graph_create(&y, 1);
    f = fuse(g);
    CU_ASSERT_EQUAL(tu_count_op(f, "_amber_test_fuse_noise"), 1);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 1);
    CU_ASSERT_EQUAL(fused_attrs(f, 0)->n_ops, 2);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* ---- the op itself ---------------------------------------------------------------- */

/* The planner may ask for AM_REQ_ADD, and may give output 0 input 0's memory. */
static void test_kernel_requests(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3, 50000), F32), *w = am_var("w", AM_SHAPE(50000), F32);
    am_array *t = am_tanh(x);
    am_array *y = am_relu(am_add(am_exp(t), w));
    am_graph *g = am_graph_create((am_array *[]){y, t}, 2), *f = fuse(g);
    int i = 0;
    while (i < f->n_nodes && (!f->nodes[i]->op || strcmp(f->nodes[i]->op->name, FUSED) != 0)) i++;
    CU_ASSERT_FATAL(i < f->n_nodes);
    const am_node *node = f->nodes[i];
    CU_ASSERT_EQUAL(node->n_out, 2);
    am_array *xv = tu_random(AM_SHAPE(3, 50000), F32, -1, 1);
    am_array *wv = tu_random(AM_SHAPE(50000), F32, -1, 1);
    am_array *ref[2];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, (const char *[]){"x", "w"}, (am_array *[]){xv, wv}, 2,
                                        false, ref, 2), AM_OK);
    bool x_first = strcmp(f->names[am_graph_index(f, node->inputs[0].node)], "x") == 0;
    am_array *in[2] = {x_first ? xv : wv, x_first ? wv : xv};
    am_array *out[2] = {am_ones(AM_SHAPE(3, 50000), F32), am_ones(AM_SHAPE(3, 50000), F32)};
    CU_ASSERT_EQUAL(am_op_run_into(node->op, node->attrs, in, 2, out,
                                   (am_req[]){AM_REQ_ADD, AM_REQ_ADD}), AM_OK);
    CU_ASSERT(tu_allclose(out[0], am_plus_scalar(ref[0], 1), 1e-5));
    CU_ASSERT(tu_allclose(out[1], am_plus_scalar(ref[1], 1), 1e-5));
    /* In place: output 0 over a copy of x, input 0. */
    CU_ASSERT_FATAL(x_first);
    am_array *xc = am_copy(xv), *io[2] = {xc, wv}, *o2[2] = {xc, out[1]};
    CU_ASSERT_EQUAL(am_op_run_into(node->op, node->attrs, io, 2, o2,
                                   (am_req[]){AM_REQ_INPLACE, AM_REQ_WRITE}), AM_OK);
    CU_ASSERT(tu_allclose(xc, ref[0], 1e-5));
    CU_ASSERT(tu_allclose(out[1], ref[1], 1e-5));
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* A fused node read back from JSON has no program and says so. */
static void test_json_roundtrip_fails_clearly(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(10), F32);
    am_array *y = am_sigmoid(am_exp(x));
    am_graph *g = am_graph_create(&y, 1), *f = fuse(g);
    char *json = am_graph_to_json(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"" FUSED "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "exp,sigmoid"));
    am_graph *back = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    am_array *r = NULL, *xv = tu_random(AM_SHAPE(10), F32, -1, 1);
    TU_ASSERT_FAILS(am_graph_eval(back, (const char *[]){"x"}, &xv, 1, false, &r, 1) == AM_OK,
                    AM_ERR_UNSUPPORTED, "fused nodes cannot be loaded from JSON");
    free(json);
    am_graph_release(back);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

/* Forty ops split at 32 per node; the log names each group; the pipeline
 * runs the pass by default. */
static void test_long_chain_and_log(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(777), F32), *y = x;
    for (int k = 0; k < 40; k++) y = k % 2 ? am_tanh(y) : am_mul_scalar(y, 1.5);
    am_graph *g = am_graph_create(&y, 1);
    FILE *log = tmpfile();
    am_graph *f = am_graph_optimize(g, &(am_optimize_opts){.passes = "-all,+fuse", .log = log});
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(tu_count_op(f, FUSED), 2);
    CU_ASSERT_EQUAL(f->n_nodes, 3);
    char text[4096] = {0};
    rewind(log);
    CU_ASSERT(fread(text, 1, sizeof(text) - 1, log) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "pass fuse: fused 32 ops into"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "pass fuse: 2 changes, 41 -> 3 nodes"));
    fclose(log);
    check_agree(g, f, (const char *[]){"x"}, (am_array *[]){tu_random(AM_SHAPE(777), F32, -1, 1)},
                1, 1e-5);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_pass_fuse[] = {
    {"a chain becomes one node", test_chain},
    {"a tree becomes one node", test_tree},
    {"an LSTM cell's pointwise part", test_lstm_cell},
    {"broadcast operands", test_broadcast_operands},
    {"shared subexpressions", test_shared_subexpression},
    {"other elementwise ops", test_other_elementwise_ops},
    {"values used outside the group", test_values_used_outside},
    {"float64 and int32", test_float64_and_int32},
    {"sizes around chunks", test_odd_sizes},
    {"what does not fuse", test_what_does_not_fuse},
    {"random ops stay out", test_random_ops_stay},
    {"kernel requests: add and in place", test_kernel_requests},
    {"fused nodes cannot be loaded", test_json_roundtrip_fails_clearly},
    {"long chains split; the log", test_long_chain_and_log},
    CU_TEST_INFO_NULL,
};
