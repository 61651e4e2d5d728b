/* Blocks, parameters, hybridize and its plan cache, export and import. */
#include <amber/amber.h>
#include <unistd.h>

#include "test_util.h"

#include "../hybrid/hybrid_impl.h"

/* ---- a model written the way users write one ------------------------------------------ */

typedef struct mlp {
    am_block base;
    am_param *w1, *b1, *w2, *b2;
    bool twice;   /* apply the first layer twice (a shared block's parameters) */
} mlp;

static am_array *mlp_forward(am_block *self, am_array *const *in, int n_in)
{
    mlp *m = (mlp *)self;
    AM_UNUSED(n_in);
    am_array *h = am_relu(am_fully_connected(in[0], am_param_value(m->w1), am_param_value(m->b1), 16,
                                             false, true));
    if (m->twice) h = am_tanh(am_fully_connected(h, am_param_value(m->w1), NULL, 16, true, true));
    return am_fully_connected(h, am_param_value(m->w2), am_param_value(m->b2), 3, false, true);
}

static const am_block_class mlp_class = {"MLP", sizeof(mlp), .forward = mlp_forward};

/* in_units 0: the first layer's input size comes at the first call. */
static mlp *make_mlp(int64_t in_units, bool twice)
{
    mlp *m = am_block_new(&mlp_class);
    am_init xavier = am_init_xavier(false, AM_INIT_FACTOR_AVG, 3);
    m->w1 = am_block_param(&m->base, "w1", AM_SHAPE(16, twice ? 16 : in_units), &xavier);
    m->b1 = am_block_param(&m->base, "b1", AM_SHAPE(16), &(am_init){.kind = AM_INIT_ZERO});
    m->w2 = am_block_param(&m->base, "w2", AM_SHAPE(3, 16), NULL);
    m->b2 = am_block_param(&m->base, "b2", AM_SHAPE(3), &(am_init){.kind = AM_INIT_ZERO});
    m->twice = twice;
    return m;
}

/* A parent with children, for structural names. */
typedef struct net {
    am_block base;
    am_block *body, *head;
} net;

static am_array *net_forward(am_block *self, am_array *const *in, int n_in)
{
    net *n = (net *)self;
    AM_UNUSED(n_in);
    return am_softmax(am_block_call(n->head, am_sigmoid(am_block_call(n->body, in[0]))), -1);
}

static const am_block_class net_class = {"Net", sizeof(net), .forward = net_forward};

typedef struct affine {
    am_block base;
    am_param *w;
} affine;

static am_array *affine_forward(am_block *self, am_array *const *in, int n_in)
{
    AM_UNUSED(n_in);
    return am_fully_connected(in[0], am_param_value(((affine *)self)->w), NULL, 3, true, true);
}

static const am_block_class affine_class = {"Affine", sizeof(affine), .forward = affine_forward};

static net *make_net(void)
{
    net *n = am_block_new(&net_class);
    n->body = am_block_add(&n->base, "body", &make_mlp(5, false)->base);
    affine *a = am_block_new(&affine_class);
    a->w = am_block_param(&a->base, "weight", AM_SHAPE(3, 3), NULL);
    n->head = am_block_add(&n->base, "head", &a->base);
    return n;
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Output and every parameter gradient of one recorded call, loss = sum(y * r). */
static am_array *run_and_grad(am_block *b, am_array *x, am_array *r, am_array **grads, int n)
{
    am_param *ps[16];
    int np = am_block_collect_params(b, NULL, ps, 16);
    am_autograd_record_begin(true);
    am_array *y = am_block_call(b, x);
    am_array *loss = am_sum(am_mul(y, r), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward(loss), AM_OK);
    for (int i = 0; i < np && i < n; i++) grads[i] = am_copy(am_param_grad(ps[i]));
    return y;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_names_and_print(void)
{
    am_scope_begin();
    net *n = make_net();
    am_param *ps[8];
    CU_ASSERT_EQUAL(am_block_collect_params(&n->base, NULL, ps, 8), 5);
    CU_ASSERT_STRING_EQUAL(am_param_name(ps[0]), "body.w1");
    CU_ASSERT_STRING_EQUAL(am_param_name(ps[4]), "head.weight");
    CU_ASSERT_EQUAL(am_block_collect_params(&n->base, "^body\\.b", ps, 8), 2);
    CU_ASSERT_STRING_EQUAL(am_param_name(ps[1]), "body.b2");
    TU_ASSERT_FAILS(am_block_collect_params(&n->base, "(", ps, 8) + 1, AM_ERR_ARG, "regular expression");
    TU_ASSERT_FAILS(am_block_param(&n->base, "body", AM_SHAPE(1), NULL), AM_ERR_ARG, "already has a child");
    TU_ASSERT_FAILS(am_block_add(&n->base, "a.b", &make_mlp(2, false)->base), AM_ERR_ARG, "without '.'");
    /* A cycle of children is refused (the reference given is released, so
     * keep one of our own). */
    TU_ASSERT_FAILS(am_block_add(n->body, "up", am_block_retain(&n->base)), AM_ERR_ARG, "cycle");
    TU_ASSERT_FAILS(am_block_add(&n->base, "self", am_block_retain(&n->base)), AM_ERR_ARG, "cycle");
    CU_ASSERT_EQUAL(am_block_num_children(&n->base), 2);
    CU_ASSERT_STRING_EQUAL(am_block_child_name(&n->base, 1), "head");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    am_block_print(&n->base, f);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "body: MLP"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "head.weight float32 (3, 3)"));
    free(buf);
    am_block_release(&n->base);
    am_scope_end();
}

static void test_eager_equals_hybrid(void)
{
    am_scope_begin();
    am_seed(3);
    net *n = make_net();
    CU_ASSERT_EQUAL(am_block_initialize(&n->base, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_array *eager = am_block_call(&n->base, x);
    CU_ASSERT_EQUAL(am_block_hybridize(&n->base, true, NULL), AM_OK);
    am_array *hyb = am_block_call(&n->base, x);
    CU_ASSERT(tu_allclose(hyb, eager, 1e-6));
    CU_ASSERT_EQUAL(am_block_cache_stats(&n->base).traces, 1);
    CU_ASSERT_EQUAL(am_block_check_hybrid(&n->base, &x, 1, 1e-5, NULL), AM_OK);
    am_block_release(&n->base);
    am_scope_end();
}

/* Outputs returned to the user never change behind their back. */
static void test_outputs_stay_valid(void)
{
    am_scope_begin();
    mlp *m = make_mlp(4, false);
    am_block_initialize(&m->base, NULL);
    am_block_hybridize(&m->base, true, NULL);
    am_array *x1 = tu_random(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *x2 = tu_random(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *y1 = am_block_call(&m->base, x1), *keep = am_copy(y1);
    am_array *y2 = am_block_call(&m->base, x2);
    CU_ASSERT(tu_allclose(y1, keep, 0));
    CU_ASSERT(!tu_allclose(y1, y2, 1e-3));
    am_block_release(&m->base);
    am_scope_end();
}

/* Called with no scope open, a block leaves only its output alive, as an
 * op does: the forward's temporaries die with the call. */
static void test_no_scope_no_leak(void)
{
    net *n = make_net();
    am_block_initialize(&n->base, NULL);
    am_array *x = am_ones(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32);
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        am_block_hybridize(&n->base, hybrid, NULL);
        am_release(am_block_call(&n->base, x)); /* the plan (and its arrays) is made */
        int64_t before = am_debug_live_arrays();
        am_array *y = am_block_call(&n->base, x);
        CU_ASSERT_EQUAL(am_debug_live_arrays(), before + 1);
        am_release(y);
    }
    am_release(x);
    am_block_release(&n->base);
}

static void test_cache_signatures(void)
{
    am_scope_begin();
    mlp *m = make_mlp(4, false);
    am_block_initialize(&m->base, NULL);
    am_block_hybridize(&m->base, true, &(am_hybridize_opts){.cache_size = 2});
    am_array *a = tu_random(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *b = tu_random(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *c = tu_random(AM_SHAPE(5, 4), AM_DTYPE_FLOAT32, -1, 1);
    for (int i = 0; i < 100; i++) {
        am_scope_begin();
        am_block_call(&m->base, a);
        am_scope_end();
    }
    am_cache_stats s = am_block_cache_stats(&m->base);
    CU_ASSERT_EQUAL(s.traces, 1);
    CU_ASSERT_EQUAL(s.hits, 99);
    am_block_call(&m->base, b);          /* a new batch size: a second plan */
    am_autograd_set_training(true);
    am_block_call(&m->base, b);          /* training mode: a third, evicting a's */
    am_autograd_set_training(false);
    s = am_block_cache_stats(&m->base);
    CU_ASSERT_EQUAL(s.traces, 3);
    CU_ASSERT_EQUAL(s.evictions, 1);
    CU_ASSERT_EQUAL(s.entries, 2);
    am_block_call(&m->base, b);          /* still cached */
    CU_ASSERT_EQUAL(am_block_cache_stats(&m->base).traces, 3);
    am_array *yc = am_block_call(&m->base, c);
    CU_ASSERT_EQUAL(am_array_dim(yc, 0), 5);
    am_block_release(&m->base);
    am_scope_end();
}

static void test_deferred_shapes(void)
{
    am_scope_begin();
    mlp *m = make_mlp(0, false);
    CU_ASSERT_EQUAL(am_block_initialize(&m->base, NULL), AM_OK);
    CU_ASSERT(!am_param_is_initialized(m->w1));
    CU_ASSERT(am_param_is_initialized(m->w2));
    TU_ASSERT_FAILS(am_block_save_parameters(&m->base, "/tmp/amber-deferred.params") == AM_OK, AM_ERR_ARG,
                    "first call");
    am_array *y = am_block_call(&m->base, tu_random(AM_SHAPE(2, 7), AM_DTYPE_FLOAT32, -1, 1));
    CU_ASSERT_PTR_NOT_NULL(y);
    am_shape s = am_param_shape(m->w1);
    CU_ASSERT(am_shape_equal(s, AM_SHAPE(16, 7)));
    /* The shape is fixed now: another input size is the op's error, at this line. */
    TU_ASSERT_FAILS(am_block_call(&m->base, tu_random(AM_SHAPE(2, 8), AM_DTYPE_FLOAT32, -1, 1)),
                    AM_ERR_SHAPE, "test_hybrid.c");
    am_block_release(&m->base);
    am_scope_end();
}

/* Gradients of every parameter agree, with a block applied twice. */
static void test_gradients_agree(void)
{
    am_scope_begin();
    am_seed(5);
    mlp *m = make_mlp(16, true);
    am_block_initialize(&m->base, NULL);
    am_array *x = tu_random(AM_SHAPE(3, 16), AM_DTYPE_FLOAT32, -1, 1);
    am_array *r = tu_random(AM_SHAPE(3, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_array *ge[4], *gh[4];
    am_array *ye = run_and_grad(&m->base, x, r, ge, 4);
    am_block_hybridize(&m->base, true, NULL);
    am_array *yh = run_and_grad(&m->base, x, r, gh, 4);
    CU_ASSERT(tu_allclose(yh, ye, 1e-5));
    for (int i = 0; i < 4; i++) CU_ASSERT(tu_allclose(gh[i], ge[i], 1e-5));
    /* grad_req ADD accumulates across calls, as eagerly. */
    am_param_set_grad_req(m->w2, AM_GRAD_ADD);
    am_block_zero_grad(&m->base);
    run_and_grad(&m->base, x, r, gh, 4);
    run_and_grad(&m->base, x, r, gh, 4);
    CU_ASSERT(tu_allclose(gh[2], am_mul_scalar(ge[2], 2), 1e-5));
    /* Input gradients reach an attached input. */
    am_array *xv = am_copy(x);
    am_attach_grad(xv, AM_GRAD_WRITE);
    am_block_hybridize(&m->base, false, NULL);
    run_and_grad(&m->base, xv, r, ge, 4);
    am_array *dx_eager = am_copy(am_grad(xv));
    am_block_hybridize(&m->base, true, NULL);
    run_and_grad(&m->base, xv, r, gh, 4);
    CU_ASSERT(tu_allclose(am_grad(xv), dx_eager, 1e-5));
    am_block_release(&m->base);
    am_scope_end();
}

/* A block returning one value as two outputs: each output's gradient counts. */
typedef struct twice {
    am_block base;
    am_param *w;
} twice;

static int twice_forward(am_block *self, am_array *const *in, int n_in, am_array **out, int cap)
{
    AM_UNUSED(n_in), AM_UNUSED(cap);
    out[0] = out[1] = am_mul(in[0], am_param_value(((twice *)self)->w));
    return out[0] ? 2 : -1;
}

static const am_block_class twice_class = {"Twice", sizeof(twice), .forward_n = twice_forward};

static void test_duplicate_outputs(void)
{
    am_scope_begin();
    twice *t = am_block_new(&twice_class);
    t->w = am_block_param(&t->base, "w", AM_SHAPE(3), &(am_init){.kind = AM_INIT_ONE});
    am_block_initialize(&t->base, NULL);
    am_array *x = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32), *g[2];
    for (int mode = 0; mode < 2; mode++) {
        am_block_hybridize(&t->base, mode, NULL);
        am_array *o[2];
        am_autograd_record_begin(true);
        CU_ASSERT_EQUAL(am_block_forward(&t->base, &x, 1, o, 2), 2);
        am_array *loss = am_add(am_sum(o[0], NULL, 0, false),
                                am_mul_scalar(am_sum(o[1], NULL, 0, false), 10));
        am_autograd_end();
        CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
        g[mode] = am_copy(am_param_grad(t->w));
    }
    TU_ASSERT_VALUES(g[0], AM_SHAPE(3), 0, 11, 11, 11);
    TU_ASSERT_VALUES(g[1], AM_SHAPE(3), 0, 11, 11, 11);
    am_block_release(&t->base);
    am_scope_end();
}

/* Two recorded calls before one backward: each keeps its own saved values. */
static void test_two_calls_one_backward(void)
{
    am_scope_begin();
    am_seed(7);
    mlp *m = make_mlp(4, false);
    am_block_initialize(&m->base, NULL);
    am_array *a = tu_random(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *b = tu_random(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *g[2];
    for (int mode = 0; mode < 2; mode++) {
        am_block_hybridize(&m->base, mode == 1, NULL);
        am_autograd_record_begin(true);
        am_array *loss = am_add(am_sum(am_square(am_block_call(&m->base, a)), NULL, 0, false),
                                am_sum(am_block_call(&m->base, b), NULL, 0, false));
        am_autograd_end();
        CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
        g[mode] = am_copy(am_param_grad(m->w1));
    }
    CU_ASSERT(tu_allclose(g[1], g[0], 1e-5));
    /* create_graph through a plan is refused clearly. */
    am_autograd_record_begin(true);
    am_array *y = am_sum(am_block_call(&m->base, a), NULL, 0, false);
    am_autograd_end();
    am_array *w = am_param_data(m->w1), *gw;
    TU_ASSERT_FAILS(am_grad_of(&y, NULL, 1, &w, 1, true, true, &gw) == AM_OK, AM_ERR_UNSUPPORTED,
                    "higher-order");
    am_block_release(&m->base);
    am_scope_end();
}

typedef struct branchy {
    am_block base;
    am_param *w;
} branchy;

static am_array *branchy_forward(am_block *self, am_array *const *in, int n_in)
{
    AM_UNUSED(n_in);
    am_array *s = am_sum(in[0], NULL, 0, false);
    if (am_item(s, 0) > 0) return am_mul(in[0], am_param_value(((branchy *)self)->w));
    return am_negative(in[0]);
}

static const am_block_class branchy_class = {"Branchy", sizeof(branchy), .forward = branchy_forward};

static void test_trace_errors(void)
{
    am_scope_begin();
    branchy *b = am_block_new(&branchy_class);
    b->w = am_block_param(&b->base, "w", AM_SHAPE(3), &(am_init){.kind = AM_INIT_ONE});
    am_array *x = tu_random(AM_SHAPE(3), AM_DTYPE_FLOAT32, 0, 1);
    TU_ASSERT_FAILS(am_block_call(&b->base, x), AM_ERR_ARG, "am_block_initialize");
    am_block_initialize(&b->base, NULL);
    CU_ASSERT_PTR_NOT_NULL(am_block_call(&b->base, x));   /* eager: control flow on values */
    am_block_hybridize(&b->base, true, NULL);
    TU_ASSERT_FAILS(am_block_call(&b->base, x), AM_ERR_SYMBOLIC, "Branchy cannot be traced");
    am_clear_error();
    am_block_call(&b->base, x);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "keep this block eager"));
    am_clear_error();
    /* Marked eager: the call runs eagerly (with one warning). */
    am_block_set_eager(&b->base, "branches on the sum");
    CU_ASSERT_PTR_NOT_NULL(am_block_call(&b->base, x));
    am_block_release(&b->base);
    am_scope_end();
}

static void test_save_load_parameters(void)
{
    am_scope_begin();
    char path[] = "/tmp/amber-test-params-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    net *a = make_net(), *b = make_net();
    am_block_initialize(&a->base, NULL);
    am_block_initialize(&b->base, NULL);
    CU_ASSERT_EQUAL(am_block_save_parameters(&a->base, path), AM_OK);
    CU_ASSERT_EQUAL(am_block_load_parameters(&b->base, path, 0), AM_OK);
    am_array *x = tu_random(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32, -1, 1);
    CU_ASSERT(tu_allclose(am_block_call(&b->base, x), am_block_call(&a->base, x), 0));
    /* A model without the head: the file has an extra name. */
    mlp *m = make_mlp(5, false);
    am_block_initialize(&m->base, NULL);
    TU_ASSERT_FAILS(am_block_load_parameters(&m->base, path, 0) == AM_OK, AM_ERR_ARG,
                    "missing from the file: 'w1'");
    TU_ASSERT_FAILS(am_block_load_parameters(b->body, path, 0) == AM_OK, AM_ERR_ARG, "'head.weight'");
    /* Shapes that differ are listed. */
    mlp *wide = make_mlp(6, false);
    am_block_initialize(&wide->base, NULL);
    am_block_save_parameters(&wide->base, path);
    TU_ASSERT_FAILS(am_block_load_parameters(&m->base, path, 0) == AM_OK, AM_ERR_SHAPE,
                    "'w1' ((16, 6) in the file");
    TU_ASSERT_FAILS(am_block_load_parameters(&m->base, path, AM_LOAD_ALLOW_MISSING) == AM_OK,
                    AM_ERR_SHAPE, "(16, 5) in the block");
    unlink(path);
    am_block_release(&a->base), am_block_release(&b->base);
    am_block_release(&m->base), am_block_release(&wide->base);
    am_scope_end();
}

static void test_export_import(void)
{
    am_scope_begin();
    char dir[] = "/tmp/amber-test-export-XXXXXX", path[256], json[300], params[300];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/net", dir);
    net *n = make_net();
    am_block_initialize(&n->base, NULL);
    TU_ASSERT_FAILS(am_block_export(&n->base, path, 0) == AM_OK, AM_ERR_ARG, "call Net once");
    TU_ASSERT_FAILS(am_block_call(&n->base, am_ones(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32)), AM_ERR_SHAPE,
                    "FullyConnected");
    TU_ASSERT_FAILS(am_block_export(&n->base, path, 0) == AM_OK, AM_ERR_ARG, "call Net once");
    am_array *x = tu_random(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_array *y = am_block_call(&n->base, x);
    CU_ASSERT_EQUAL(am_block_export(&n->base, path, 3), AM_OK);
    snprintf(json, sizeof(json), "%s-symbol.json", path);
    snprintf(params, sizeof(params), "%s-0003.params", path);
    am_ndlist *l = am_ndlist_load(params);
    CU_ASSERT_EQUAL(am_ndlist_size(l), 5);
    CU_ASSERT_PTR_NOT_NULL(am_ndlist_find(l, "arg:body.w1"));
    CU_ASSERT_PTR_NOT_NULL(am_ndlist_find(l, "arg:head.weight"));
    am_ndlist_free(l);
    am_graph *g = am_graph_load(json);
    char *text = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"name\": \"body.fullyconnected\""));
    free(text);
    am_graph_release(g);
    const char *in = "data";
    am_block *imp = am_symbol_block_import(json, params, &in, 1, am_cpu());
    CU_ASSERT_PTR_NOT_NULL_FATAL(imp);
    CU_ASSERT(tu_allclose(am_block_call(imp, x), y, 1e-6));
    am_block_hybridize(imp, true, NULL);
    CU_ASSERT(tu_allclose(am_block_call(imp, x), y, 1e-6));
    /* Imported blocks train: their parameters get gradients. */
    am_array *gr[8];
    run_and_grad(imp, x, am_ones_like(y), gr, 8);
    am_param *ps[8];
    CU_ASSERT_EQUAL(am_block_collect_params(imp, NULL, ps, 8), 5);
    CU_ASSERT_PTR_NOT_NULL(am_param_grad(ps[0]));
    TU_ASSERT_FAILS(am_symbol_block_import(json, params, (const char *[]){"x"}, 1, am_cpu()),
                    AM_ERR_ARG, "no input named 'x'");
    am_block *bare = am_symbol_block_import(json, NULL, &in, 1, am_cpu());
    CU_ASSERT_PTR_NOT_NULL(bare);
    TU_ASSERT_FAILS(am_block_call(bare, x), AM_ERR_ARG, "am_block_initialize");
    am_block_release(bare);
    am_block_release(imp);
    am_block_release(&n->base);
    remove(json), remove(params), rmdir(dir);
    am_scope_end();
}

/* Training eagerly and hybridized from the same seed ends at the same loss. */
static double train(bool hybrid, int steps)
{
    am_scope_begin();
    am_seed(11);
    mlp *m = make_mlp(8, false);
    am_block_initialize(&m->base, NULL);
    am_block_hybridize(&m->base, hybrid, NULL);
    am_array *x = tu_random(AM_SHAPE(32, 8), AM_DTYPE_FLOAT32, -1, 1);
    am_array *label = am_astype(am_argmax(am_slice_axis(x, 1, 0, 3), -1, false), AM_DTYPE_FLOAT32);
    am_param *ps[4];
    am_block_collect_params(&m->base, NULL, ps, 4);
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *l = am_mean(am_negative(am_pick(am_log_softmax(am_block_call(&m->base, x), -1),
                                                  label, -1)), NULL, 0, false);
        am_autograd_end();
        am_backward(l);
        for (int i = 0; i < 4; i++) {
            float *w = am_array_data_f32(am_param_data(ps[i]));
            const float *g = am_array_data_f32(am_param_grad(ps[i]));
            for (int64_t k = 0; k < am_array_size(am_param_data(ps[i])); k++) w[k] -= 0.5f * g[k];
        }
        loss = am_item(l, 0);
        am_scope_end();
    }
    am_block_release(&m->base);
    am_scope_end();
    return loss;
}

typedef struct cnn {
    am_block base;
    am_param *w, *gamma, *beta, *mean, *var, *fw, *fb;
} cnn;

static am_array *cnn_forward(am_block *self, am_array *const *in, int n_in)
{
    cnn *m = (cnn *)self;
    const int64_t k[] = {3, 3}, pad[] = {1, 1}, two[] = {2, 2};
    AM_UNUSED(n_in);
    am_array *h = am_convolution(in[0], am_param_value(m->w), NULL, 2, k, NULL, pad, NULL, 4, 1);
    h = am_batch_norm(h, am_param_value(m->gamma), am_param_value(m->beta), am_param_value(m->mean),
                      am_param_value(m->var), 1e-5, 0.9, false, false, 1);
    h = am_pooling(am_relu(h), "max", two, two, NULL, 2, false, NULL, 0, true);
    return am_fully_connected(h, am_param_value(m->fw), am_param_value(m->fb), 3, false, true);
}

static const am_block_class cnn_class = {"CNN", sizeof(cnn), .forward = cnn_forward};

static am_block *make_cnn(void)
{
    cnn *m = am_block_new(&cnn_class);
    am_init one = am_init_one(), zero = am_init_zero();
    m->w = am_block_param(&m->base, "w", AM_SHAPE(4, 0, 3, 3), NULL);
    m->gamma = am_block_param(&m->base, "gamma", AM_SHAPE(4), &one);
    m->beta = am_block_param(&m->base, "beta", AM_SHAPE(4), &zero);
    m->mean = am_block_param(&m->base, "running_mean", AM_SHAPE(4), &zero);
    m->var = am_block_param(&m->base, "running_var", AM_SHAPE(4), &one);
    am_param_set_grad_req(m->mean, AM_GRAD_NULL);
    am_param_set_grad_req(m->var, AM_GRAD_NULL);
    m->fw = am_block_param(&m->base, "fw", AM_SHAPE(3, 0), NULL);
    m->fb = am_block_param(&m->base, "fb", AM_SHAPE(3), &zero);
    return &m->base;
}

/* Trains the CNN; returns the last loss and the running mean's first value. */
static double train_cnn(bool hybrid, int steps, double *running_mean)
{
    am_scope_begin();
    am_seed(17);
    am_block *m = make_cnn();
    am_block_initialize(m, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 2});
    am_block_hybridize(m, hybrid, NULL);
    am_array *x = tu_random(AM_SHAPE(8, 2, 6, 6), AM_DTYPE_FLOAT32, -1, 1);
    static const int hw[] = {2, 3};
    am_array *label = am_astype(am_argmax(am_mean(x, hw, 2, false), -1, false), AM_DTYPE_FLOAT32);
    am_param *ps[8];
    int n = am_block_collect_params(m, NULL, ps, 8);
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *l = am_mean(am_negative(am_pick(am_log_softmax(am_block_call(m, x), -1), label, -1)),
                              NULL, 0, false);
        am_autograd_end();
        am_backward(l);
        for (int i = 0; i < n; i++) {
            if (!am_param_grad(ps[i])) continue;
            am_array *w = am_param_data(ps[i]);
            am_param_set_data(ps[i], am_sub(w, am_mul_scalar(am_param_grad(ps[i]), 0.2)));
        }
        loss = am_item(l, 0);
        am_scope_end();
    }
    *running_mean = am_item(am_param_data(ps[3]), 0);
    am_block_release(m);
    am_scope_end();
    return loss;
}

/* Recorded in inference mode, BatchNorm is differentiated through its
 * moving statistics both ways. */
static void test_inference_mode_gradients(void)
{
    am_scope_begin();
    am_seed(19);
    am_block *m = make_cnn();
    am_block_initialize(m, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 2});
    am_param *ps[8];
    int n = am_block_collect_params(m, NULL, ps, 8);
    am_array *x = tu_random(AM_SHAPE(2, 2, 4, 4), AM_DTYPE_FLOAT32, -1, 1), *g[2][8];
    am_param_set_data(ps[3], am_full(AM_SHAPE(4), AM_DTYPE_FLOAT32, 0.3));   /* moving mean */
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        am_block_hybridize(m, hybrid, NULL);
        am_autograd_record_begin(false);
        am_array *loss = am_sum(am_square(am_block_call(m, x)), NULL, 0, false);
        am_autograd_end();
        CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
        for (int i = 0; i < n; i++) g[hybrid][i] = am_param_grad(ps[i]) ? am_copy(am_param_grad(ps[i])) : NULL;
    }
    for (int i = 0; i < n; i++)
        if (g[0][i]) CU_ASSERT(tu_allclose(g[1][i], g[0][i], 1e-5));
    am_block_release(m);
    am_scope_end();
}

static void test_convergence(void)
{
    double eager = train(false, 50), hybrid = train(true, 50);
    CU_ASSERT(eager < 0.5);
    CU_ASSERT(fabs(eager - hybrid) <= 1e-4 * fabs(eager));
    double mean_e, mean_h;
    eager = train_cnn(false, 30, &mean_e);
    hybrid = train_cnn(true, 30, &mean_h);
    CU_ASSERT(eager < 0.9);
    CU_ASSERT(fabs(eager - hybrid) <= 1e-4 * fabs(eager));
    CU_ASSERT(mean_e != 0 && fabs(mean_e - mean_h) <= 1e-4 * fabs(mean_e));
}

static void test_symbolic_call(void)
{
    am_scope_begin();
    net *n = make_net();
    am_block_initialize(&n->base, NULL);
    am_array *y = am_block_call(&n->base, am_var("data", AM_SHAPE(2, 5), AM_DTYPE_FLOAT32));
    CU_ASSERT(am_array_is_symbolic(y));
    am_graph *g = am_graph_create(&y, 1);
    const char *names[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(g, names, 8), 6);
    CU_ASSERT_STRING_EQUAL(names[1], "body.w1");
    am_graph_release(g);
    am_block_release(&n->base);
    am_scope_end();
}

/* Initializers: the moments MXNet's definitions give. */
static void test_initializers(void)
{
    am_scope_begin();
    am_seed(13);
    am_array *w = am_zeros(AM_SHAPE(200, 100, 3), AM_DTYPE_FLOAT32);
    am_init x = am_init_xavier(false, AM_INIT_FACTOR_AVG, 3);
    CU_ASSERT_EQUAL(am_init_fill(&x, w), AM_OK);
    /* U(-s, s) with s = sqrt(3 / ((300 + 600) / 2)): variance s^2 / 3 = 1 / 450. */
    double var = am_item(am_mean(am_square(w), NULL, 0, false), 0);
    CU_ASSERT(fabs(var * 450 - 1) < 0.03);
    am_init k = am_init_msra(AM_INIT_FACTOR_IN, 0);
    am_init_fill(&k, w);       /* N(0, 2 / fan_in), fan_in = 300 */
    var = am_item(am_mean(am_square(w), NULL, 0, false), 0);
    CU_ASSERT(fabs(var * 150 - 1) < 0.03);
    am_array *q = am_zeros(AM_SHAPE(8, 20), AM_DTYPE_FLOAT64);
    am_init o = am_init_orthogonal(2);
    CU_ASSERT_EQUAL(am_init_fill(&o, q), AM_OK);
    am_array *qqt = am_dot_t(q, q, false, true);   /* 4 I: orthogonal rows of norm 2 */
    double e[64] = {0};
    for (int i = 0; i < 8; i++) e[i * 9] = 4;
    am_array *eye4 = am_from_buffer(e, AM_SHAPE(8, 8), AM_DTYPE_FLOAT64);
    CU_ASSERT(tu_allclose(qqt, eye4, 1e-9));
    am_array *tall = am_zeros(AM_SHAPE(20, 8), AM_DTYPE_FLOAT64);
    am_init_fill(&o, tall);
    CU_ASSERT(tu_allclose(am_dot_t(tall, tall, true, false), eye4, 1e-9));
    am_init c = am_init_constant(0.5);
    am_init_fill(&c, q);
    CU_ASSERT_EQUAL(am_item(q, 7), 0.5);
    TU_ASSERT_FAILS(am_init_fill(&x, am_zeros(AM_SHAPE(5), AM_DTYPE_FLOAT32)) == AM_OK, AM_ERR_ARG,
                    "at least 2 dimensions");
    CU_ASSERT_STRING_EQUAL(am_init_kind_name(AM_INIT_MSRA), "msraprelu");
    am_scope_end();
}

/* A broken op: its kernel adds to its output instead of writing it, so the
 * result depends on what the memory held.  Plans poisoned with NaN show it. */
static am_status sloppy_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out), AM_UNUSED(req);
    float *y = out[0].data;
    const float *x = in[0].data;
    for (int64_t i = 0; i < am_view_size(&in[0]); i++) y[i] += x[i];
    return AM_OK;
}

static const am_op_def sloppy_op = {
    .name = "test_sloppy_copy", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = am_infer_shape_same,
    .infer_dtype = am_infer_dtype_same, .cpu = sloppy_cpu, .flags = AM_OP_NO_GRAD,
    .fuse = AM_FUSE_OPAQUE};

/* An op whose kernel refuses negative values: a failure only a run can see. */
static am_status picky_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out), AM_UNUSED(req);
    const float *x = in[0].data;
    for (int64_t i = 0; i < am_view_size(&in[0]); i++) {
        if (x[i] < 0) return am_fail(AM_ERR_ARG, "element %lld is negative", (long long)i);
        ((float *)out[0].data)[i] = x[i];
    }
    return AM_OK;
}

static const am_op_def picky_op = {
    .name = "test_picky", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = am_infer_shape_same,
    .infer_dtype = am_infer_dtype_same, .cpu = picky_cpu, .flags = AM_OP_NO_GRAD,
    .fuse = AM_FUSE_OPAQUE};

typedef struct sloppy {
    am_block base;
} sloppy;

static am_array *sloppy_forward(am_block *self, am_array *const *in, int n_in)
{
    AM_UNUSED(self), AM_UNUSED(n_in);
    am_array *y;
    if (am_op_call(&sloppy_op, NULL, &in[0], 1, &y, 1, AM_HERE) != AM_OK) return NULL;
    return am_relu(am_tanh(y));
}

static am_array *picky_forward(am_block *self, am_array *const *in, int n_in)
{
    AM_UNUSED(self), AM_UNUSED(n_in);
    am_array *y, *x = am_tanh(in[0]);
    if (am_op_call(&picky_op, NULL, &x, 1, &y, 1, AM_HERE) != AM_OK) return NULL;
    return am_sqrt(y);
}

static const am_block_class picky_class = {"Picky", sizeof(sloppy), .forward = picky_forward};

/* A kernel's failure inside a plan names the node, its op and the model
 * line that made it. */
static void test_plan_errors_name_the_line(void)
{
    am_scope_begin();
    static bool registered;
    if (!registered) CU_ASSERT_EQUAL(am_op_register(&picky_op), AM_OK);
    registered = true;
    am_block *b = am_block_new(&picky_class);
    am_block_hybridize(b, true, NULL);
    am_array *x = tu_random(AM_SHAPE(4), AM_DTYPE_FLOAT32, 0.5, 1);
    CU_ASSERT_PTR_NOT_NULL(am_block_call(b, x));
    TU_ASSERT_FAILS(am_block_call(b, am_negative(x)), AM_ERR_ARG, "(test_picky)");
    am_block_call(b, am_negative(x));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "element 0 is negative"));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "(the node comes from test_hybrid.c:"));
    am_clear_error();
    /* A block without parameters exports an empty parameter file. */
    char path[64] = "/tmp/amber-test-noparams-XXXXXX", file[96];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(path));
    strcat(path, "/m");
    CU_ASSERT_EQUAL(am_block_export(b, path, 0), AM_OK);
    snprintf(file, sizeof(file), "%s-0000.params", path);
    am_ndlist *l = am_ndlist_load(file);
    CU_ASSERT_EQUAL(am_ndlist_size(l), 0);
    am_ndlist_free(l);
    remove(file);
    snprintf(file, sizeof(file), "%s-symbol.json", path);
    remove(file);
    path[strlen(path) - 2] = '\0';
    rmdir(path);
    am_block_release(b);
    am_scope_end();
}

static const am_block_class sloppy_class = {"Sloppy", sizeof(sloppy), .forward = sloppy_forward};

static void test_check_hybrid_finds_the_node(void)
{
    am_scope_begin();
    static bool registered;
    if (!registered) CU_ASSERT_EQUAL(am_op_register(&sloppy_op), AM_OK);
    registered = true;
    sloppy *b = am_block_new(&sloppy_class);
    am_array *x = tu_random(AM_SHAPE(64), AM_DTYPE_FLOAT32, 0.1, 1);
    setenv("AM_PLAN_POISON", "1", 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    TU_ASSERT_FAILS(am_block_check_hybrid(&b->base, &x, 1, 1e-5, f) == AM_OK, AM_ERR_INTERNAL,
                    "test_sloppy_copy");
    fclose(f);
    unsetenv("AM_PLAN_POISON");
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "first difference: node 'test_sloppy_copy0' (test_sloppy_copy) "
                                       "from test_hybrid.c:"));
    free(buf);
    am_block_release(&b->base);
    am_scope_end();
}

/* The example of README.md and include/amber/hybrid.h, as written there. */
typedef struct readme_mlp { am_block base; am_block *fc1, *fc2; } readme_mlp;

static am_array *readme_mlp_forward(am_block *self, am_array *const *in, int n_in)
{
    readme_mlp *m = (readme_mlp *)self;
    AM_UNUSED(n_in);
    return am_block_call(m->fc2, am_relu(am_block_call(m->fc1, in[0])));
}
static const am_block_class readme_mlp_class = {"MLP", sizeof(readme_mlp), .forward = readme_mlp_forward};

static void test_readme_example(void)
{
    am_scope_begin();
    char dir[] = "/tmp/amber-test-readme-XXXXXX", cwd[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    am_array *x = tu_random(AM_SHAPE(4, 20), AM_DTYPE_FLOAT32, -1, 1);

    readme_mlp *m = am_block_new(&readme_mlp_class);
    m->fc1 = am_block_add(&m->base, "fc1", am_dense(64, NULL));   // input size from the first call
    m->fc2 = am_block_add(&m->base, "fc2", am_dense(10, NULL));
    am_block_initialize(&m->base, NULL);
    am_array *y = am_block_call(&m->base, x);                       // eager
    am_block_hybridize(&m->base, true, NULL);
    am_array *y2 = am_block_call(&m->base, x);                      // traced once, then a cached plan
    am_block_export(&m->base, "mlp", 0);                            // mlp-symbol.json, mlp-0000.params

    CU_ASSERT(tu_allclose(y2, y, 1e-6));
    am_param *ps[4];
    CU_ASSERT_EQUAL(am_block_collect_params(&m->base, NULL, ps, 4), 4);
    CU_ASSERT_STRING_EQUAL(am_param_name(ps[0]), "fc1.weight");
    CU_ASSERT(am_shape_equal(am_param_shape(ps[0]), AM_SHAPE(64, 20)));
    CU_ASSERT_EQUAL(remove("mlp-symbol.json"), 0);
    CU_ASSERT_EQUAL(remove("mlp-0000.params"), 0);
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    rmdir(dir);
    am_block_release(&m->base);
    am_scope_end();
}

/* float64 parameters: casting keeps values and gradients work both ways. */
static void test_cast(void)
{
    am_scope_begin();
    am_seed(23);
    net *n = make_net();
    am_block_initialize(&n->base, NULL);
    am_array *x = tu_random(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_array *y32 = am_block_call(&n->base, x);
    TU_ASSERT_FAILS(am_block_cast(&n->base, AM_DTYPE_INT32) == AM_OK, AM_ERR_DTYPE, "int32");
    CU_ASSERT_EQUAL(am_block_cast(&n->base, AM_DTYPE_FLOAT64), AM_OK);
    am_param *ps[8];
    am_block_collect_params(&n->base, NULL, ps, 8);
    CU_ASSERT_EQUAL(am_array_dtype(am_param_data(ps[0])), AM_DTYPE_FLOAT64);
    am_array *x64 = am_astype(x, AM_DTYPE_FLOAT64), *r = am_ones(AM_SHAPE(3, 3), AM_DTYPE_FLOAT64);
    am_array *ge[8], *gh[8];
    am_array *ye = run_and_grad(&n->base, x64, r, ge, 8);
    CU_ASSERT(tu_allclose(ye, am_astype(y32, AM_DTYPE_FLOAT64), 1e-6));
    CU_ASSERT_EQUAL(am_array_dtype(ge[0]), AM_DTYPE_FLOAT64);
    am_block_hybridize(&n->base, true, NULL);
    am_array *yh = run_and_grad(&n->base, x64, r, gh, 8);
    CU_ASSERT(tu_allclose(yh, ye, 1e-12));
    for (int i = 0; i < 5; i++) CU_ASSERT(tu_allclose(gh[i], ge[i], 1e-12));
    CU_ASSERT_EQUAL(am_block_to_device(&n->base, am_cpu()), AM_OK);
    CU_ASSERT(tu_allclose(am_block_call(&n->base, x64), ye, 1e-12));
    am_block_release(&n->base);
    am_scope_end();
}

/* BatchNorm's moving statistics travel as aux: entries and come back. */
static void test_export_import_aux(void)
{
    am_scope_begin();
    am_seed(29);
    char dir[] = "/tmp/amber-test-aux-XXXXXX", path[128], file[160];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/cnn", dir);
    am_block *m = make_cnn();
    am_block_initialize(m, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 2});
    am_array *x = tu_random(AM_SHAPE(2, 2, 6, 6), AM_DTYPE_FLOAT32, -1, 1);
    am_autograd_record_begin(true);
    am_array *t = am_block_call(m, x);            /* training mode: moving statistics move */
    am_autograd_end();
    CU_ASSERT_PTR_NOT_NULL(t);
    am_array *y = am_block_call(m, x);
    CU_ASSERT_EQUAL(am_block_export(m, path, 0), AM_OK);
    snprintf(file, sizeof(file), "%s-0000.params", path);
    am_ndlist *l = am_ndlist_load(file);
    CU_ASSERT_PTR_NOT_NULL(am_ndlist_find(l, "aux:running_mean"));
    CU_ASSERT_PTR_NOT_NULL(am_ndlist_find(l, "aux:running_var"));
    CU_ASSERT_PTR_NOT_NULL(am_ndlist_find(l, "arg:gamma"));
    am_clear_error();
    am_ndlist_free(l);
    char json[160];
    snprintf(json, sizeof(json), "%s-symbol.json", path);
    const char *in = "data";
    am_block *imp = am_symbol_block_import(json, file, &in, 1, am_cpu());
    CU_ASSERT_PTR_NOT_NULL_FATAL(imp);
    CU_ASSERT(tu_allclose(am_block_call(imp, x), y, 1e-6));
    am_param *ps[8];
    int n = am_block_collect_params(imp, "running", ps, 8);
    CU_ASSERT_EQUAL(n, 2);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(am_param_grad_req(ps[i]), AM_GRAD_NULL);
    remove(json), remove(file), rmdir(dir);
    am_block_release(imp);
    am_block_release(m);
    am_scope_end();
}

/* More parameters and saved values than one op has inputs: the training
 * graph has hundreds of heads. */
typedef struct deep {
    am_block base;
    am_param *p[300];
} deep;

static am_array *deep_forward(am_block *self, am_array *const *in, int n_in)
{
    deep *d = (deep *)self;
    AM_UNUSED(n_in);
    am_array *h = in[0];
    for (int i = 0; i < 300; i += 2)
        h = am_tanh(am_add(am_mul(h, am_param_value(d->p[i])), am_param_value(d->p[i + 1])));
    return h;
}

static const am_block_class deep_class = {"Deep", sizeof(deep), .forward = deep_forward};

static void test_many_parameters(void)
{
    am_scope_begin();
    am_seed(31);
    deep *d = am_block_new(&deep_class);
    for (int i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        d->p[i] = am_block_param(&d->base, name, AM_SHAPE(4), &(am_init){.kind = AM_INIT_NORMAL,
                                                                       .scale = 0.5});
    }
    am_block_initialize(&d->base, NULL);
    am_array *x = tu_random(AM_SHAPE(4), AM_DTYPE_FLOAT32, -1, 1), *r = am_ones(AM_SHAPE(4), AM_DTYPE_FLOAT32);
    am_array *ge[16], *gh[16];
    am_array *ye = run_and_grad(&d->base, x, r, ge, 16);
    am_block_hybridize(&d->base, true, NULL);
    am_array *yh = run_and_grad(&d->base, x, r, gh, 16);
    CU_ASSERT(tu_allclose(yh, ye, 1e-5));
    for (int i = 0; i < 16; i++) CU_ASSERT(tu_allclose(gh[i], ge[i], 1e-4));
    am_block_release(&d->base);
    am_scope_end();
}

/* Signatures: what makes two calls share a plan. */
static void test_signatures(void)
{
    am_scope_begin();
    am_array *a = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32), *b = am_ones(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_signature s1, s2;
    CU_ASSERT_EQUAL(am_signature_make(&s1, &a, 1), AM_OK);
    CU_ASSERT_EQUAL(am_signature_make(&s2, &b, 1), AM_OK);
    CU_ASSERT(am_signature_equal(&s1, &s2));      /* values do not matter */
    CU_ASSERT_EQUAL(s1.hash, s2.hash);
    am_array *c = am_zeros(AM_SHAPE(3, 3), AM_DTYPE_FLOAT32), *d = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT64);
    am_signature_make(&s2, &c, 1);
    CU_ASSERT(!am_signature_equal(&s1, &s2));      /* batch size */
    am_signature_make(&s2, &d, 1);
    CU_ASSERT(!am_signature_equal(&s1, &s2));      /* dtype */
    am_autograd_set_training(true);
    am_signature_make(&s2, &a, 1);
    am_autograd_set_training(false);
    CU_ASSERT(!am_signature_equal(&s1, &s2));      /* training */
    am_autograd_record_begin(false);
    am_signature_make(&s2, &a, 1);
    am_autograd_end();
    CU_ASSERT(!am_signature_equal(&s1, &s2));      /* recording */
    am_array *v = am_copy(a);
    am_attach_grad(v, AM_GRAD_WRITE);
    am_signature_make(&s2, &v, 1);
    CU_ASSERT(!am_signature_equal(&s1, &s2));      /* an input that needs a gradient */
    am_array *two[2] = {a, b};
    am_signature_make(&s2, two, 2);
    CU_ASSERT(!am_signature_equal(&s1, &s2));
    am_array *sym = am_var("x", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_signature_make(&s2, &sym, 1) == AM_OK, AM_ERR_SYMBOLIC, "symbolic");
    am_scope_end();
}

/* A forward that returns its input unchanged, and a parameter as it is. */
typedef struct passthrough {
    am_block base;
    am_param *w;
} passthrough;

static int passthrough_forward(am_block *self, am_array *const *in, int n_in, am_array **out,
                               int cap)
{
    AM_UNUSED(n_in), AM_UNUSED(cap);
    out[0] = in[0];
    out[1] = am_param_value(((passthrough *)self)->w);
    return out[1] ? 2 : -1;
}

static const am_block_class passthrough_class = {"Passthrough", sizeof(passthrough),
                                                 .forward_n = passthrough_forward};

static void test_passthrough(void)
{
    am_scope_begin();
    passthrough *p = am_block_new(&passthrough_class);
    p->w = am_block_param(&p->base, "w", AM_SHAPE(3), &(am_init){.kind = AM_INIT_ONE});
    am_block_initialize(&p->base, NULL);
    am_array *x = am_arange(0, 3, 1, AM_DTYPE_FLOAT32);
    am_attach_grad(x, AM_GRAD_WRITE);
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        am_block_hybridize(&p->base, hybrid, NULL);
        am_array *o[2];
        am_autograd_record_begin(true);
        CU_ASSERT_EQUAL_FATAL(am_block_forward(&p->base, &x, 1, o, 2), 2);
        am_array *loss = am_add(am_sum(am_mul_scalar(o[0], 3), NULL, 0, false),
                                am_sum(am_mul_scalar(o[1], 5), NULL, 0, false));
        am_autograd_end();
        CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
        TU_ASSERT_VALUES(o[0], AM_SHAPE(3), 0, 0, 1, 2);
        TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(3), 0, 3, 3, 3);
        TU_ASSERT_VALUES(am_param_grad(p->w), AM_SHAPE(3), 0, 5, 5, 5);
    }
    /* Unrecorded: the outputs are copies, the input is not aliased. */
    am_array *o[2];
    CU_ASSERT_EQUAL(am_block_forward(&p->base, &x, 1, o, 2), 2);
    CU_ASSERT(o[0] != x);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(3), 0, 0, 1, 2);
    am_block_release(&p->base);
    am_scope_end();
}

CU_TestInfo am_tests_hybrid[] = {
    {"a forward returning its input and a parameter", test_passthrough},
    {"signatures", test_signatures},
    {"300 parameters: hundreds of heads", test_many_parameters},
    {"the example of README.md and hybrid.h", test_readme_example},
    {"casting to float64", test_cast},
    {"BatchNorm's aux states through export and import", test_export_import_aux},
    {"initializers", test_initializers},
    {"check_hybrid names the first node that differs", test_check_hybrid_finds_the_node},
    {"errors inside a plan name the model's line", test_plan_errors_name_the_line},
    {"structural names, collect and print", test_names_and_print},
    {"eager and hybridized outputs agree", test_eager_equals_hybrid},
    {"outputs stay valid over later calls", test_outputs_stay_valid},
    {"one trace per signature; LRU eviction", test_cache_signatures},
    {"no scope open: only the output stays alive", test_no_scope_no_leak},
    {"deferred parameter shapes", test_deferred_shapes},
    {"gradients agree (write, add, inputs, shared)", test_gradients_agree},
    {"two recorded calls, one backward", test_two_calls_one_backward},
    {"one value returned as two outputs", test_duplicate_outputs},
    {"tracing errors name the block and remedy", test_trace_errors},
    {"save and load parameters", test_save_load_parameters},
    {"export and import", test_export_import},
    {"training converges the same both ways", test_convergence},
    {"gradients recorded in inference mode agree", test_inference_mode_gradients},
    {"blocks on symbolic inputs build graphs", test_symbolic_call},
    CU_TEST_INFO_NULL,
};
