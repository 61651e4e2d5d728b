/* The infer_partial suite: unknown dimensions (AM_DIM_UNKNOWN) in graphs read
 * from MXNet JSON, filled by am_graph_infer forward and backward as MXNet's
 * partial shape inference fills them (Gluon's begin states, _zeros of shape
 * (0, 16); an export's batch, __shape__ (0, 8)), the error when nothing
 * fills one; plans that accept every input of the graph; exports that run at
 * any batch size. */
#include "test_util.h"

#include "../symbol/symbol_impl.h"
#include <amber/executor.h>
#include <amber/io.h>
#include <amber/layers.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

/* x (N, 3) -> FullyConnected(w_i) + FullyConnected(h0 = _zeros (0, 2), w_h),
 * times _ones (0, 4): an LSTM cell's first step without begin states, whose
 * zeros learn their batch from the elementwise partner and the
 * FullyConnected output (backward). */
static const char *const cell_json =
    "{\"nodes\": ["
    "{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
    "{\"op\": \"null\", \"name\": \"w_i\", \"attrs\": {\"__shape__\": \"(4, 3)\"}, \"inputs\": []},"
    "{\"op\": \"FullyConnected\", \"name\": \"fc_i\", \"attrs\": {\"num_hidden\": \"4\", "
    "\"no_bias\": \"True\"}, \"inputs\": [[0, 0, 0], [1, 0, 0]]},"
    "{\"op\": \"_zeros\", \"name\": \"h0\", \"attrs\": {\"shape\": \"(0, 2)\"}, \"inputs\": []},"
    "{\"op\": \"null\", \"name\": \"w_h\", \"attrs\": {\"__shape__\": \"(4, 2)\"}, \"inputs\": []},"
    "{\"op\": \"FullyConnected\", \"name\": \"fc_h\", \"attrs\": {\"num_hidden\": \"4\", "
    "\"no_bias\": \"True\"}, \"inputs\": [[3, 0, 0], [4, 0, 0]]},"
    "{\"op\": \"elemwise_add\", \"name\": \"gates\", \"inputs\": [[2, 0, 0], [5, 0, 0]]},"
    "{\"op\": \"_ones\", \"name\": \"c0\", \"attrs\": {\"shape\": \"(0, 4)\"}, \"inputs\": []},"
    "{\"op\": \"elemwise_mul\", \"name\": \"out\", \"inputs\": [[6, 0, 0], [7, 0, 0]]}],"
    "\"arg_nodes\": [0, 1, 4], \"heads\": [[8, 0, 0]], "
    "\"attrs\": {\"mxnet_version\": [\"int\", 10901]}}";

static const am_dtype F32[] = {AM_DTYPE_FLOAT32};

static int node_named(const am_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->names[i], name) == 0) return i;
    CU_FAIL("no such node");
    return 0;
}

static bool shape_is(const am_shape *s, int ndim, ...)
{
    va_list ap;
    va_start(ap, ndim);
    bool ok = s->ndim == ndim;
    for (int i = 0; i < ndim; i++) ok &= s->dim[i] == va_arg(ap, int64_t);
    va_end(ap);
    if (!ok) {
        char b[96];
        printf("\n  shape %s\n", am_shape_format(s, b, sizeof(b)));
    }
    return ok;
}

/* x @ w^T by eager ops, the value the cell graph must give. */
static am_array *cell_expected(am_array *x, am_array *w_i)
{
    return am_fully_connected(x, w_i, NULL, 4, true, true);
}

static void test_read_and_write(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(cell_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const am_node *h0 = g->nodes[node_named(g, "h0")];
    CU_ASSERT(am_attrs_shape_unknown(h0->op, h0->attrs));
    char *text = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"shape\": \"(0, 2)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"shape\": \"(0, 4)\""));
    free(text);
    am_graph_release(g);
    /* numpy semantics: 0 is a real size there, -1 the unknown one. */
    const char *np = "{\"nodes\": [{\"op\": \"_zeros\", \"name\": \"z\", \"attrs\": {\"shape\": "
                     "\"(0, 3)\"}, \"inputs\": []}, {\"op\": \"null\", \"name\": \"v\", \"attrs\": "
                     "{\"__shape__\": \"(-1, 3)\"}, \"inputs\": []}], \"arg_nodes\": [1], "
                     "\"heads\": [[0, 0, 0], [1, 0, 0]], \"attrs\": {\"is_np_shape\": [\"int\", 1]}}";
    g = am_graph_from_json(np);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(!am_attrs_shape_unknown(g->nodes[0]->op, g->nodes[0]->attrs));
    CU_ASSERT(shape_is(&g->nodes[1]->shapes[0], 2, (int64_t)AM_DIM_UNKNOWN, (int64_t)3));
    TU_ASSERT_STATUS(am_graph_infer(g, NULL, NULL, NULL, 0), AM_ERR_SHAPE,
                     "input is still unknown: v (?, 3)");
    CU_ASSERT_EQUAL(am_graph_infer(g, (const char *[]){"v"}, (am_shape[]){AM_SHAPE(5, 3)}, F32, 1), AM_OK);
    CU_ASSERT(shape_is(&g->nodes[0]->shapes[0], 2, (int64_t)0, (int64_t)3));
    text = am_graph_to_json(g); /* Amber writes legacy files: unknown is 0 */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"__shape__\": \"(5, 3)\""));
    free(text);
    am_graph_release(g);
    /* An array never has an unknown dimension. */
    am_array *out = NULL;
    TU_ASSERT_STATUS(tu_invoke("_zeros", NULL, 0, "shape", "(-1, 2)", &out, 1), AM_ERR_SHAPE,
                     "unknown (-1) dimension");
    am_scope_end();
}

static void test_fill_backward(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(cell_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_infer(g, (const char *[]){"x"}, (am_shape[]){AM_SHAPE(5, 3)}, F32, 1), AM_OK);
    CU_ASSERT(shape_is(&g->nodes[node_named(g, "h0")]->shapes[0], 2, (int64_t)5, (int64_t)2));
    CU_ASSERT(shape_is(&g->nodes[node_named(g, "c0")]->shapes[0], 2, (int64_t)5, (int64_t)4));
    CU_ASSERT(shape_is(&g->nodes[node_named(g, "fc_h")]->shapes[0], 2, (int64_t)5, (int64_t)4));
    /* the graph's variables keep their shapes; its attributes stay unknown */
    const am_node *h0 = g->nodes[node_named(g, "h0")];
    CU_ASSERT(am_attrs_shape_unknown(h0->op, h0->attrs));
    /* A variable's partial shape takes a compatible binding and refuses another. */
    am_graph_release(g);
    g = am_graph_from_json(cell_json);
    TU_ASSERT_STATUS(am_graph_infer(g, (const char *[]){"w_i"}, (am_shape[]){AM_SHAPE(4, 5)}, F32, 1),
                     AM_ERR_SHAPE, "input 'w_i' is (4, 5) but the graph says (4, 3)");
    am_graph_release(g);
    am_scope_end();
}

/* SliceChannel learns its data from a part (a GRU cell's h2h output split
 * in three), with and without squeeze_axis; the parts' dtypes are known
 * before their shapes, so the elementwise partner can fill them. */
static void test_split_backward(void)
{
    am_scope_begin();
    const char *fmt = "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
                      "{\"op\": \"_zeros\", \"name\": \"z\", \"attrs\": {\"shape\": \"%s\"}, "
                      "\"inputs\": []}, {\"op\": \"SliceChannel\", \"name\": \"s\", \"attrs\": "
                      "{\"num_outputs\": \"3\", \"squeeze_axis\": \"%s\"}, \"inputs\": [[1, 0, 0]]},"
                      "{\"op\": \"elemwise_add\", \"name\": \"sum\", \"inputs\": [[0, 0, 0], [2, 1, 0]]}],"
                      "\"arg_nodes\": [0], \"heads\": [[3, 0, 0]]}";
    char j[1024];
    snprintf(j, sizeof(j), fmt, "(0, 6)", "False");
    am_graph *g = am_graph_from_json(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_infer(g, (const char *[]){"x"}, (am_shape[]){AM_SHAPE(5, 2)}, F32, 1), AM_OK);
    CU_ASSERT(shape_is(&g->nodes[1]->shapes[0], 2, (int64_t)5, (int64_t)6));
    am_graph_release(g);
    snprintf(j, sizeof(j), fmt, "(0, 3)", "True");
    g = am_graph_from_json(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_infer(g, (const char *[]){"x"}, (am_shape[]){AM_SHAPE(5)}, F32, 1), AM_OK);
    CU_ASSERT(shape_is(&g->nodes[1]->shapes[0], 2, (int64_t)5, (int64_t)3));
    am_graph_release(g);
    am_scope_end();
}

/* Plans for two batch sizes from one graph, and node by node. */
static void test_plan_and_eval(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(cell_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_array *w_i = tu_random(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_array *w_h = tu_random(AM_SHAPE(4, 2), AM_DTYPE_FLOAT32, -1, 1);
    const int64_t batches[] = {5, 2};
    for (int b = 0; b < 2; b++) {
        for (int opt = 0; opt < 2; opt++) {
            am_array *x = tu_random(AM_SHAPE(batches[b], 3), AM_DTYPE_FLOAT32, -1, 1);
            am_shape s = am_array_shape(x);
            am_plan_opts o = {.no_optimize = opt == 1, .names = (const char *[]){"x"}, .shapes = &s,
                              .n = 1};
            am_plan *p = am_plan_create(g, &o);
            CU_ASSERT_PTR_NOT_NULL_FATAL(p);
            CU_ASSERT_EQUAL(am_plan_bind(p, "x", x), AM_OK);
            CU_ASSERT_EQUAL(am_plan_bind(p, "w_i", w_i), AM_OK);
            CU_ASSERT_EQUAL(am_plan_bind(p, "w_h", w_h), AM_OK);
            CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
            CU_ASSERT(tu_allclose(am_plan_output(p, 0), cell_expected(x, w_i), 1e-6));
            am_plan_release(p);
        }
    }
    /* node by node, after inference for the batch */
    am_array *x = tu_random(AM_SHAPE(3, 3), AM_DTYPE_FLOAT32, -1, 1), *y = NULL;
    am_graph *h = am_graph_from_json(cell_json);
    CU_ASSERT_EQUAL(am_graph_infer(h, (const char *[]){"x"}, (am_shape[]){AM_SHAPE(3, 3)}, F32, 1), AM_OK);
    CU_ASSERT_EQUAL(am_graph_eval(h, (const char *[]){"x", "w_i", "w_h"},
                                  (am_array *[]){x, w_i, w_h}, 3, false, &y, 1), AM_OK);
    CU_ASSERT(tu_allclose(y, cell_expected(x, w_i), 1e-6));
    am_graph_release(h);
    am_graph_release(g);
    am_scope_end();
}

/* The RNN op fills its begin states' batch from data; a state of another
 * state size is an error naming both nodes. */
static const char *rnn_json(const char *state)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []},"
             "{\"op\": \"null\", \"name\": \"params\", \"inputs\": []},"
             "{\"op\": \"_zeros\", \"name\": \"h0\", \"attrs\": {\"shape\": \"%s\"}, \"inputs\": []},"
             "{\"op\": \"RNN\", \"name\": \"rnn\", \"attrs\": {\"mode\": \"rnn_tanh\", \"num_layers\": "
             "\"1\", \"state_size\": \"3\"}, \"inputs\": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]}],"
             "\"arg_nodes\": [0, 1], \"heads\": [[3, 0, 0]]}", state);
    return buf;
}

#define RNN_IN (const char *[]){"data", "params"}
#define RNN_SHAPES (am_shape[]){AM_SHAPE(5, 2, 4), AM_SHAPE(27)}
#define RNN_DTYPES (am_dtype[]){AM_DTYPE_FLOAT32, AM_DTYPE_FLOAT32}

static void test_rnn_states(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(rnn_json("(1, 0, 3)"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_infer(g, RNN_IN, RNN_SHAPES, RNN_DTYPES, 2), AM_OK);
    CU_ASSERT(shape_is(&g->nodes[2]->shapes[0], 3, (int64_t)1, (int64_t)2, (int64_t)3));
    CU_ASSERT(shape_is(&g->nodes[3]->shapes[0], 3, (int64_t)5, (int64_t)2, (int64_t)3));
    am_graph_release(g);
    g = am_graph_from_json(rnn_json("(1, 0, 7)"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    TU_ASSERT_STATUS(am_graph_infer(g, RNN_IN, RNN_SHAPES, RNN_DTYPES, 2),
                     AM_ERR_SHAPE, "input 'state' of node 'rnn' (RNN) must be (1, 2, 3), but "
                     "node 'h0' (_zeros) gives (1, ?, 7)");
    am_graph_release(g);
    am_scope_end();
}

/* Broadcasting cannot tell a dimension of size 1 from the other's: MXNet
 * leaves it unknown, and so does Amber, with the node and input named. */
static void test_unfilled_error(void)
{
    am_scope_begin();
    const char *j = "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
                    "{\"op\": \"_zeros\", \"name\": \"z\", \"attrs\": {\"shape\": \"(0, 4)\"}, "
                    "\"inputs\": []}, {\"op\": \"broadcast_add\", \"name\": \"sum\", \"inputs\": "
                    "[[1, 0, 0], [0, 0, 0]]}], \"arg_nodes\": [0], \"heads\": [[2, 0, 0]]}";
    am_graph *g = am_graph_from_json(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    TU_ASSERT_STATUS(am_graph_infer(g, (const char *[]){"x"}, (am_shape[]){AM_SHAPE(3, 1)}, F32, 1),
                     AM_ERR_SHAPE, "input 'lhs' of node 'sum' (broadcast_add) stays (?, 4) "
                     "(from node 'z' (_zeros))");
    am_shape s = AM_SHAPE(3, 1);
    TU_ASSERT_FAILS(am_plan_create(g, &(am_plan_opts){.names = (const char *[]){"x"}, .shapes = &s,
                                                      .n = 1}),
                    AM_ERR_SHAPE, "no op in the graph fixes its unknown dimensions");
    am_graph_release(g);
    am_scope_end();
}

/* An imported graph with Gluon-style begin states runs eagerly and
 * hybridized at any batch size. */
static void test_import(void)
{
    am_scope_begin();
    char dir[] = "/tmp/amber-test-partial-XXXXXX", json[96], params[96];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(json, sizeof(json), "%s/cell-symbol.json", dir);
    snprintf(params, sizeof(params), "%s/cell-0000.params", dir);
    FILE *f = fopen(json, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(cell_json, f);
    fclose(f);
    am_array *w_i = tu_random(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_array *w_h = tu_random(AM_SHAPE(4, 2), AM_DTYPE_FLOAT32, -1, 1);
    am_ndlist *l = am_ndlist_create();
    am_ndlist_add(l, "arg:w_i", w_i);
    am_ndlist_add(l, "arg:w_h", w_h);
    CU_ASSERT_EQUAL(am_ndlist_save(l, params), AM_OK);
    am_ndlist_free(l);
    am_block *imp = am_symbol_block_import(json, params, (const char *[]){"x"}, 1, am_cpu());
    CU_ASSERT_PTR_NOT_NULL_FATAL(imp);
    for (int hyb = 0; hyb < 2; hyb++) {
        if (hyb) am_block_hybridize(imp, true, NULL);
        for (int64_t n = 2; n <= 6; n += 4) {
            am_array *x = tu_random(AM_SHAPE(n, 3), AM_DTYPE_FLOAT32, -1, 1);
            am_array *y = am_block_call(imp, x);
            CU_ASSERT_PTR_NOT_NULL_FATAL(y);
            CU_ASSERT(tu_allclose(y, cell_expected(x, w_i), 1e-6));
        }
    }
    am_block_release(imp);
    remove(json), remove(params), rmdir(dir);
    am_scope_end();
}

/* reshape_like and zeros_like read only their inputs' shapes: the passes
 * make a fixed Reshape and a constant of them, and the plan still takes
 * every input of the graph (and ignores the ones it does not read). */
static void test_plan_keeps_inputs(void)
{
    am_scope_begin();
    const char *j =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
        "{\"op\": \"null\", \"name\": \"y\", \"inputs\": []},"
        "{\"op\": \"reshape_like\", \"name\": \"r\", \"inputs\": [[0, 0, 0], [1, 0, 0]]},"
        "{\"op\": \"null\", \"name\": \"z\", \"inputs\": []},"
        "{\"op\": \"zeros_like\", \"name\": \"zl\", \"inputs\": [[3, 0, 0]]},"
        "{\"op\": \"elemwise_add\", \"name\": \"sum\", \"inputs\": [[2, 0, 0], [4, 0, 0]]}],"
        "\"arg_nodes\": [0, 1, 3], \"heads\": [[5, 0, 0]]}";
    am_graph *g = am_graph_from_json(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *y = am_zeros(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32);
    am_shape s[3] = {AM_SHAPE(2, 3), AM_SHAPE(3, 2), AM_SHAPE(3, 2)};
    for (int opt = 0; opt < 2; opt++) {
        am_plan_opts o = {.no_optimize = opt == 1, .names = (const char *[]){"x", "y", "z"},
                          .shapes = s, .n = 3};
        am_plan *p = am_plan_create(g, &o);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(am_plan_bind(p, "x", x), AM_OK);
        CU_ASSERT_EQUAL(am_plan_bind(p, "y", y), AM_OK);
        CU_ASSERT_EQUAL(am_plan_bind(p, "z", y), AM_OK);
        TU_ASSERT_STATUS(am_plan_bind(p, "w", y), AM_ERR_ARG, "no input named 'w'");
        CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
        TU_ASSERT_VALUES(am_plan_output(p, 0), AM_SHAPE(3, 2), 0, 1, 2, 3, 4, 5, 6);
        am_plan_release(p);
    }
    am_graph_release(g);
    am_scope_end();
}

/* ---- the amber program ------------------------------------------------------------------- */

/* Runs the amber program beside this test binary; its exit status. */
static int run_amber(const char *args)
{
    char exe[4096], cmd[8192];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    strcpy(slash ? slash + 1 : exe, "amber");
    if (access(exe, X_OK) != 0) {
        printf("\n  %s is missing: build it first\n", exe);
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "%s %s > /dev/null 2>&1", exe, args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_cli_keeps_inputs(void)
{
    am_scope_begin();
    char dir[] = "/tmp/amber-test-keep-XXXXXX", a[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    const char *j =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
        "{\"op\": \"null\", \"name\": \"y\", \"inputs\": []},"
        "{\"op\": \"reshape_like\", \"name\": \"r\", \"inputs\": [[0, 0, 0], [1, 0, 0]]},"
        "{\"op\": \"null\", \"name\": \"z\", \"inputs\": []},"
        "{\"op\": \"ones_like\", \"name\": \"ol\", \"inputs\": [[3, 0, 0]]},"
        "{\"op\": \"elemwise_add\", \"name\": \"sum\", \"inputs\": [[2, 0, 0], [4, 0, 0]]}],"
        "\"arg_nodes\": [0, 1, 3], \"heads\": [[5, 0, 0]]}";
    char json[96], xf[96], yf[96], of[96];
    snprintf(json, sizeof(json), "%s/g-symbol.json", dir);
    snprintf(xf, sizeof(xf), "%s/x.npy", dir);
    snprintf(yf, sizeof(yf), "%s/y.npy", dir);
    snprintf(of, sizeof(of), "%s/o.npy", dir);
    FILE *f = fopen(json, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(j, f);
    fclose(f);
    am_npy_save(xf, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6));
    am_npy_save(yf, am_zeros(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32));
    for (int opt = 0; opt < 2; opt++) {
        snprintf(a, sizeof(a), "run %s -i x=%s -i y=%s -i z=%s -o %s%s", json, xf, yf, yf, of,
                 opt ? " --no-optimize" : "");
        CU_ASSERT_EQUAL(run_amber(a), 0);
        am_array *o = am_npy_load(of);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        TU_ASSERT_VALUES(o, AM_SHAPE(3, 2), 0, 2, 3, 4, 5, 6, 7);
        remove(of);
    }
    remove(json), remove(xf), remove(yf), rmdir(dir);
    am_scope_end();
}

/* An export at batch 4 runs at batch 3 and 7: its data's __shape__ is (0, 6). */
static void test_export_any_batch(void)
{
    am_scope_begin();
    am_seed(5);
    char dir[] = "/tmp/amber-test-batch-XXXXXX", path[64], json[96], params[96], xf[96], of[96];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/mlp", dir);
    snprintf(json, sizeof(json), "%s-symbol.json", path);
    snprintf(params, sizeof(params), "%s-0000.params", path);
    snprintf(xf, sizeof(xf), "%s/x.npy", dir);
    snprintf(of, sizeof(of), "%s/o.npy", dir);
    am_block *net = am_sequential();
    am_sequential_add(net, am_dense(5, &(am_dense_opts){.activation = "relu"}));
    am_sequential_add(net, am_dense(3, NULL));
    am_block_initialize(net, NULL);
    am_block_hybridize(net, true, NULL);
    CU_ASSERT_PTR_NOT_NULL(am_block_call(net, tu_random(AM_SHAPE(4, 6), AM_DTYPE_FLOAT32, -1, 1)));
    CU_ASSERT_EQUAL_FATAL(am_block_export(net, path, 0), AM_OK);
    am_graph *g = am_graph_load(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char *text = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"__shape__\": \"(0, 6)\""));
    free(text);
    am_graph_release(g);
    am_block *imp = am_symbol_block_import(json, params, (const char *[]){"data"}, 1, am_cpu());
    CU_ASSERT_PTR_NOT_NULL_FATAL(imp);
    for (int64_t n = 3; n <= 7; n += 4) {
        am_array *x = tu_random(AM_SHAPE(n, 6), AM_DTYPE_FLOAT32, -1, 1);
        am_array *want = am_block_call(net, x);
        CU_ASSERT(tu_allclose(am_block_call(imp, x), want, 1e-6));
        am_npy_save(xf, x);
        char a[512];
        snprintf(a, sizeof(a), "run %s %s -i data=%s -o %s", json, params, xf, of);
        CU_ASSERT_EQUAL(run_amber(a), 0);
        am_array *o = am_npy_load(of);
        CU_ASSERT(o && tu_allclose(o, want, 1e-6));
        remove(of);
    }
    am_block_hybridize(imp, true, NULL);
    am_array *x = tu_random(AM_SHAPE(7, 6), AM_DTYPE_FLOAT32, -1, 1);
    CU_ASSERT(tu_allclose(am_block_call(imp, x), am_block_call(net, x), 1e-6));
    am_block_release(imp);
    am_block_release(net);
    remove(json), remove(params), remove(xf), rmdir(dir);
    am_scope_end();
}

CU_TestInfo am_tests_infer_partial[] = {
    {"unknown dimensions read and written as MXNet's files have them", test_read_and_write},
    {"filled backward through FullyConnected and elementwise ops", test_fill_backward},
    {"SliceChannel filled from a part", test_split_backward},
    {"plans and node by node at two batch sizes", test_plan_and_eval},
    {"RNN begin states: filled, and a mismatch named", test_rnn_states},
    {"a dimension nothing fills is an error naming node and input", test_unfilled_error},
    {"an imported graph with unknown dimensions, eager and hybridized", test_import},
    {"a plan takes every input of the graph", test_plan_keeps_inputs},
    {"amber run takes every input of the graph", test_cli_keeps_inputs},
    {"an export runs at any batch size", test_export_any_batch},
    CU_TEST_INFO_NULL,
};
