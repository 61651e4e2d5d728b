/* The GEMM passes read the registry's facets, not op names: a user op that
 * declares a GEMM facet is fused with its bias add and activation by the
 * epilogue pass, with no pass code knowing it, and the plan computes what
 * node-by-node evaluation does. */
#include "test_util.h"

#include "../executor/executor_impl.h"

/* ---- the user's op: y = x w^T (+ b), its own names for everything ------------------------- */

typedef struct my_dense_attrs {
    int64_t units;
    bool use_bias;
} my_dense_attrs;

static const am_attr_field my_dense_fields[] = {
    AM_ATTR_FIELD(my_dense_attrs, units, AM_ATTR_INT, NULL, "output units"),
    AM_ATTR_FIELD(my_dense_attrs, use_bias, AM_ATTR_BOOL, "True", "add the bias input"),
    {0}};

static int my_dense_inputs(const void *attrs)
{
    return ((const my_dense_attrs *)attrs)->use_bias ? 3 : 2;
}

/* x (n, k), w (units, k), b (units) -> (n, units). */
static am_status my_dense_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    const my_dense_attrs *a = attrs;
    AM_UNUSED(n_out);
    if (in[0].ndim != 2 || in[1].ndim != 2 || in[1].dim[0] != a->units ||
        in[1].dim[1] != in[0].dim[1] || (n_in == 3 && (in[2].ndim != 1 ||
                                                       in[2].dim[0] != a->units)))
        return am_fail(AM_ERR_SHAPE, "my_dense: x (n, k), w (units, k), b (units)");
    out[0] = AM_SHAPE(in[0].dim[0], a->units);
    return AM_OK;
}

static am_status my_dense_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_out);
    if (in[0].dtype != AM_DTYPE_FLOAT32) return am_fail(AM_ERR_DTYPE, "my_dense: float32 only");
    const float *x = in[0].data, *w = in[1].data, *b = n_in == 3 ? in[2].data : NULL;
    float *y = out[0].data;
    int64_t n = in[0].dim[0], k = in[0].dim[1], u = in[1].dim[0];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < u; j++) {
            float s = b ? b[j] : 0;
            for (int64_t t = 0; t < k; t++) s += x[i * k + t] * w[j * k + t];
            y[i * u + j] = req[0] == AM_REQ_ADD ? y[i * u + j] + s : s;
        }
    return AM_OK;
}

static void my_dense_read(const void *attrs, am_gemm_attrs *g)
{
    const my_dense_attrs *a = attrs;
    *g = (am_gemm_attrs){.num_out = a->units, .no_bias = !a->use_bias};
}

static void my_dense_write(void *attrs, const am_gemm_attrs *g)
{
    my_dense_attrs *a = attrs;
    a->units = g->num_out, a->use_bias = !g->no_bias;
}

static int last_axis(const void *attrs, int ndim)
{
    AM_UNUSED(attrs);
    return ndim - 1;
}

static const am_op_def my_dense_op = {
    .name = "test_my_dense", .input_names = (const char *const[]){"x", "w", "b", NULL},
    .num_inputs = my_dense_inputs, .num_outputs = 1, .attrs = my_dense_fields,
    .attrs_size = sizeof(my_dense_attrs), .infer_shape = my_dense_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = my_dense_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .gemm = &(const am_gemm_facet){.kind = AM_GEMM_DENSE, .data = 0, .weight = 1, .bias = 2,
                                   .channel_axis = last_axis, .read = my_dense_read,
                                   .write = my_dense_write, .fused = "_test_my_dense_act"}};

/* Registers the op once (with its fused op, which the registry derives). */
static const am_op_def *my_dense(void)
{
    static bool done;
    if (!done) {
        CU_ASSERT_EQUAL_FATAL(am_op_register(&my_dense_op), AM_OK);
        done = true;
    }
    return &my_dense_op;
}

static am_array *call_my_dense(am_array *x, am_array *w, am_array *b, int64_t units)
{
    char u[32];
    snprintf(u, sizeof(u), "%lld", (long long)units);
    am_array *in[3] = {x, w, b}, *y = NULL;
    const char *keys[] = {"units", "use_bias"}, *vals[] = {u, b ? "True" : "False"};
    CU_ASSERT_EQUAL(am_invoke(my_dense()->name, in, b ? 3 : 2, keys, vals, 2, &y, 1), AM_OK);
    return y;
}

/* ---- checks -------------------------------------------------------------------------------- */

/* y's graph after the epilogue pass: each value, node by node, and from a
 * plan (whose graph has one node of op `made`), agrees with the graph's
 * before the pass. */
static am_graph *epilogue_and_check(am_array *y, const char *made)
{
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_graph *h = am_graph_run_pass(g, "epilogue", &(am_optimize_opts){.training = false});
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const char *names[3] = {"x", "w", "b"};
    am_array *vals[3] = {tu_random(AM_SHAPE(6, 4), AM_DTYPE_FLOAT32, -1, 1),
                         tu_random(AM_SHAPE(5, 4), AM_DTYPE_FLOAT32, -1, 1),
                         tu_random(AM_SHAPE(5), AM_DTYPE_FLOAT32, -1, 1)};
    am_array *want = NULL, *got = NULL;
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, 3, false, &want, 1), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(h, names, vals, 3, false, &got, 1), AM_OK);
    CU_ASSERT(tu_allclose(got, want, 1e-5));
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = false});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], vals[i]), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    CU_ASSERT(tu_allclose(am_plan_output(p, 0), want, 1e-5));
    /* the plan's passes made the same */
    CU_ASSERT_EQUAL(tu_count_op(am_plan_graph(p), made), 1);
    am_plan_release(p);
    am_graph_release(g);
    return h;
}

/* The registry derived the fused op when the user's op was registered: it
 * is listed, internal, and is what the facet names. */
static void test_fused_op_derived(void)
{
    const am_op_def *op = my_dense(), *f = am_op_fused_gemm(op);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(f->name, "_test_my_dense_act");
    CU_ASSERT(f->flags & AM_OP_INTERNAL);
    CU_ASSERT_PTR_EQUAL(am_op_find("_test_my_dense_act"), f);
    /* the built-in GEMM ops have theirs from the start */
    CU_ASSERT_PTR_EQUAL(am_op_fused_gemm(am_op_find("FullyConnected")),
                        am_op_find("_amber_fused_fc"));
    CU_ASSERT_PTR_NULL(am_op_fused_gemm(am_op_find("dot")));
    /* a second op whose fused name is taken is refused whole */
    am_op_def clash = my_dense_op;
    clash.name = "test_my_dense_again";
    TU_ASSERT_FAILS(am_op_register(&clash) == AM_OK, AM_ERR_ARG, "_test_my_dense_act");
    CU_ASSERT_PTR_NULL(am_op_find("test_my_dense_again"));
    /* a facet the passes could not read is refused */
    am_op_def bad = my_dense_op;
    bad.name = "test_bad_gemm";
    bad.gemm = &(const am_gemm_facet){.kind = AM_GEMM_DENSE, .data = 0, .weight = 1, .bias = -1};
    TU_ASSERT_FAILS(am_op_register(&bad) == AM_OK, AM_ERR_ARG, "GEMM facet without read");
}

/* custom GEMM -> relu: one fused node, no relu. */
static void test_custom_gemm_relu(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(6, 4), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(5, 4), AM_DTYPE_FLOAT32);
    am_array *b = am_var("b", AM_SHAPE(5), AM_DTYPE_FLOAT32);
    am_array *y = am_relu(call_my_dense(x, w, b, 5));
    am_graph *h = epilogue_and_check(y, "_test_my_dense_act");
    CU_ASSERT_EQUAL(tu_count_op(h, "_test_my_dense_act"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "relu") + tu_count_op(h, "test_my_dense"), 0);
    am_graph_release(h);
    am_scope_end();
}

/* custom GEMM without bias, + bias, -> LeakyReLU: the bias becomes its input
 * (written through the facet: use_bias, which no pass names), the slope
 * comes through. */
static void test_custom_gemm_bias_leaky(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(6, 4), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(5, 4), AM_DTYPE_FLOAT32);
    am_array *b = am_var("b", AM_SHAPE(5), AM_DTYPE_FLOAT32);
    am_array *y = am_leaky_relu(am_broadcast_add(call_my_dense(x, w, NULL, 5), b), NULL,
                                "leaky", 0.1);
    am_graph *h = epilogue_and_check(y, "_test_my_dense_act");
    CU_ASSERT_EQUAL(tu_count_op(h, "_test_my_dense_act"), 1);
    CU_ASSERT_EQUAL(h->n_nodes, 4); /* x, w, b and the fused node */
    am_graph_release(h);
    /* without an activation only the bias moves in: the op itself, use_bias */
    y = am_broadcast_add(call_my_dense(x, w, NULL, 5), b);
    h = epilogue_and_check(y, "test_my_dense");
    CU_ASSERT_EQUAL(tu_count_op(h, "test_my_dense"), 1);
    CU_ASSERT_EQUAL(tu_count_op(h, "broadcast_add"), 0);
    am_graph_release(h);
    am_scope_end();
}

/* A GEMM facet without a fused op: the bias moves in, the activation stays. */
static void test_custom_gemm_without_fused_op(void)
{
    static const am_gemm_facet plain_gemm = {
        .kind = AM_GEMM_DENSE, .data = 0, .weight = 1, .bias = 2, .channel_axis = last_axis,
        .read = my_dense_read, .write = my_dense_write};
    static am_op_def plain;
    plain = my_dense_op;
    plain.name = "test_my_dense_plain", plain.gemm = &plain_gemm;
    CU_ASSERT_EQUAL_FATAL(am_op_register(&plain), AM_OK);
    CU_ASSERT_PTR_NULL(am_op_fused_gemm(&plain));
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(6, 4), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(5, 4), AM_DTYPE_FLOAT32);
    am_array *b = am_var("b", AM_SHAPE(5), AM_DTYPE_FLOAT32), *in[2] = {x, w}, *p = NULL;
    const char *keys[] = {"units", "use_bias"}, *vals[] = {"5", "False"};
    CU_ASSERT_EQUAL_FATAL(am_invoke("test_my_dense_plain", in, 2, keys, vals, 2, &p, 1), AM_OK);
    am_graph *h = epilogue_and_check(am_sigmoid(am_broadcast_add(p, b)), "test_my_dense_plain");
    CU_ASSERT_EQUAL(tu_count_op(h, "test_my_dense_plain") + tu_count_op(h, "sigmoid"), 2);
    CU_ASSERT_EQUAL(h->n_nodes, 5); /* x, w, b, the op with its bias, sigmoid */
    am_graph_release(h);
    am_scope_end();
}

CU_TestInfo am_tests_gemm_facets[] = {
    {"a GEMM facet's fused op is derived at registration", test_fused_op_derived},
    {"epilogue fuses a user GEMM op and relu", test_custom_gemm_relu},
    {"epilogue: a user GEMM op's bias add and LeakyReLU", test_custom_gemm_bias_leaky},
    {"epilogue: a user GEMM op without a fused op", test_custom_gemm_without_fused_op},
    CU_TEST_INFO_NULL,
};
