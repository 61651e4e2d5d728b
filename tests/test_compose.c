/* The compose suite: MXNet's Symbol queries over graphs (internals, children,
 * outputs by name, groups, composition) on the MLP and LeNet fixtures and
 * traced graphs, with names, errors and numbers checked by am_graph_eval. */
#include "test_util.h"

#include <amber/executor.h>

#include "../symbol/symbol_impl.h"

#define MLP "tests/fixtures/mlp-symbol.json"
#define LENET "tests/fixtures/lenet-symbol.json"

/* Asserts g's output names are want[0..n); prints them when they are not. */
static void assert_outputs(const am_graph *g, const char *const *want, int n)
{
    char *names[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int got = am_graph_list_outputs(g, names, 64);
    CU_ASSERT_EQUAL(got, n);
    for (int i = 0; i < got && i < 64; i++) {
        if (i >= n || strcmp(names[i], want[i]) != 0) {
            printf("\n  output %d is '%s', want '%s'\n", i, names[i], i < n ? want[i] : "");
            CU_FAIL("output names");
        }
        free(names[i]);
    }
}

/* Random values for every input of g, its shapes inferred from data's. */
typedef struct binds {
    const char *names[32];
    am_array *values[32];
    int n;
} binds;

static void bind_random(am_graph *g, const char *data, am_shape shape, binds *b)
{
    am_dtype t = AM_DTYPE_FLOAT32;
    am_status st = am_graph_infer(g, &data, &shape, &t, 1);
    if (st != AM_OK) printf("\n  %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    b->n = am_graph_list_inputs(g, b->names, 32);
    CU_ASSERT_FATAL(b->n <= 32);
    for (int i = 0; i < b->n; i++) {
        am_shape s;
        am_dtype dt;
        CU_ASSERT_EQUAL_FATAL(am_graph_input_shape(g, b->names[i], &s, &dt), AM_OK);
        b->values[i] = tu_random(s, dt, -1, 1);
    }
}

static am_array *bound(const binds *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->names[i], name) == 0) return b->values[i];
    CU_FAIL_FATAL("no such binding");
    return NULL;
}

/* Output i of g run on b (owned by the scope). */
static am_array *eval_out(const am_graph *g, const binds *b, int i)
{
    am_array *out[64] = {0};
    CU_ASSERT_FATAL(i < 64 && am_graph_num_outputs(g) <= 64);
    am_status st = am_graph_eval(g, b->names, b->values, b->n, false, out, am_graph_num_outputs(g));
    if (st != AM_OK) printf("\n  %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    return out[i];
}

static char *json_of(const am_graph *g)
{
    char *s = am_graph_to_json_opts(g, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* ---- internals ------------------------------------------------------------------------ */

static void test_internals_mlp(void)
{
    static const char *const want[] = {
        "data", "dense0_weight", "dense0_bias", "dense0_fwd_output", "dense0_relu_fwd_output",
        "dense1_weight", "dense1_bias", "dense1_fwd_output"};
    am_scope_begin();
    am_graph *g = am_graph_load(MLP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    binds b;
    bind_random(g, "data", AM_SHAPE(4, 784), &b);
    am_graph *in = am_graph_get_internals(g);
    assert_outputs(in, want, 8);
    /* The same nodes in the same order under the same names. */
    CU_ASSERT_EQUAL_FATAL(am_graph_num_nodes(in), am_graph_num_nodes(g));
    for (int i = 0; i < g->n_nodes; i++) {
        CU_ASSERT_PTR_EQUAL(in->nodes[i], g->nodes[i]);
        CU_ASSERT_STRING_EQUAL(in->names[i], g->names[i]);
    }
    const char *args[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(in, args, 8), 5);
    /* Internals of internals are the same list. */
    am_graph *again = am_graph_get_internals(in);
    assert_outputs(again, want, 8);
    am_graph_release(again);

    /* Numbers: each internal output is what eager code computes. */
    am_array *fc = am_fully_connected(bound(&b, "data"), bound(&b, "dense0_weight"),
                                      bound(&b, "dense0_bias"), 64, false, true);
    CU_ASSERT(tu_allclose(eval_out(in, &b, 0), bound(&b, "data"), 0));
    CU_ASSERT(tu_allclose(eval_out(in, &b, 3), fc, 1e-5));
    CU_ASSERT(tu_allclose(eval_out(in, &b, 4), am_relu(fc), 1e-5));
    CU_ASSERT(tu_allclose(eval_out(in, &b, 7), eval_out(g, &b, 0), 1e-6));
    am_shape s;
    CU_ASSERT_EQUAL(am_graph_output_shape(in, 4, &s, NULL), AM_OK);
    CU_ASSERT(s.ndim == 2 && s.dim[0] == 4 && s.dim[1] == 64);
    am_graph_release(in);
    am_graph_release(g);
    am_scope_end();
}

/* Hidden outputs are not listed; every visible output of a multi-output
 * node is. */
static void test_internals_hidden_and_multi(void)
{
    static const char *const want[] = {
        "data", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var", "batchnorm0_output",
        "dropout0_output", "slicechannel0_output0", "slicechannel0_output1",
        "slicechannel0_output2", "broadcast_add0_output"};
    am_scope_begin();
    am_shape unk = {.ndim = -1};
    am_array *x = am_var("data", AM_SHAPE(4, 3, 5, 5), AM_DTYPE_FLOAT32);
    am_array *y = am_batch_norm(x, am_var("bn_gamma", unk, AM_DTYPE_COUNT),
                                am_var("bn_beta", unk, AM_DTYPE_COUNT),
                                am_var("bn_moving_mean", unk, AM_DTYPE_COUNT),
                                am_var("bn_moving_var", unk, AM_DTYPE_COUNT), 1e-5, 0.9, false,
                                false, 1);
    am_array *parts[3];
    CU_ASSERT_EQUAL_FATAL(am_split(am_dropout(y, 0.5), 3, 1, false, parts), AM_OK);
    am_array *sum = am_add(parts[0], parts[2]);
    am_graph *g = am_graph_create(&sum, 1);
    am_graph *in = am_graph_get_internals(g);
    assert_outputs(in, want, 11);
    const char *aux[4];
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(in, aux, 4), 2);
    /* Written as JSON, internals are g's nodes with more heads. */
    char *j = json_of(in);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"heads\": [\n    [0, 0, 0], "));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "[7, 2, 0], \n    [8, 0, 0]\n  ]"));
    free(j);
    am_graph_release(in);
    am_graph_release(g);
    TU_ASSERT_FAILS(am_graph_get_internals(NULL), AM_ERR_ARG, "the graph is NULL");
    am_scope_end();
}

/* ---- outputs by name and children ------------------------------------------------------- */

static void test_find_output(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(MLP);
    binds b;
    bind_random(g, "data", AM_SHAPE(3, 784), &b);
    am_graph *in = am_graph_get_internals(g);
    am_graph *relu = am_graph_find_output(in, "dense0_relu_fwd_output");
    assert_outputs(relu, (const char *[]){"dense0_relu_fwd_output"}, 1);
    CU_ASSERT_EQUAL(am_graph_num_nodes(relu), 5);
    CU_ASSERT(tu_allclose(eval_out(relu, &b, 0), eval_out(in, &b, 4), 0));
    am_graph *w = am_graph_find_output(in, "dense1_weight");
    assert_outputs(w, (const char *[]){"dense1_weight"}, 1);
    CU_ASSERT_EQUAL(am_graph_num_nodes(w), 1);
    /* Only the heads are searched: g has one output. */
    am_graph *top = am_graph_find_output(g, "dense1_fwd_output");
    CU_ASSERT_EQUAL(am_graph_num_nodes(top), 8);
    TU_ASSERT_FAILS(am_graph_find_output(g, "dense0_fwd_output"), AM_ERR_ARG,
                    "no output is named 'dense0_fwd_output' (the outputs are 'dense1_fwd_output')");
    TU_ASSERT_FAILS(am_graph_find_output(in, "nope"), AM_ERR_ARG,
                    "the outputs are 'data', 'dense0_weight', ");
    TU_ASSERT_FAILS(am_graph_find_output(in, NULL), AM_ERR_ARG, "the name is NULL");
    am_graph_release(top);
    am_graph_release(w);
    am_graph_release(relu);
    am_graph_release(in);
    am_graph_release(g);

    /* A variable "fc_output" and the output of op node "fc" share a name. */
    const char *clash =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"fc_output\", \"inputs\": []},"
        " {\"op\": \"relu\", \"name\": \"fc\", \"inputs\": [[0, 0, 0]]}],"
        " \"arg_nodes\": [0], \"heads\": [[1, 0, 0]]}";
    g = am_graph_from_json(clash);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    in = am_graph_get_internals(g);
    TU_ASSERT_FAILS(am_graph_find_output(in, "fc_output"), AM_ERR_ARG,
                    "2 outputs are named 'fc_output'");
    am_graph_release(in);
    am_graph_release(g);
    am_scope_end();
}

static void test_children(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(MLP);
    am_graph *c = am_graph_get_children(g);
    assert_outputs(c, (const char *[]){"dense0_relu_fwd_output", "dense1_weight", "dense1_bias"},
                   3);
    am_graph *cc = am_graph_get_children(c);
    /* Children of every head node, concatenated (variables have none). */
    assert_outputs(cc, (const char *[]){"dense0_fwd_output"}, 1);
    am_graph *ccc = am_graph_get_children(cc);
    assert_outputs(ccc, (const char *[]){"data", "dense0_weight", "dense0_bias"}, 3);
    am_graph *data = am_graph_find_output(ccc, "data");
    TU_ASSERT_FAILS(am_graph_get_children(data), AM_ERR_ARG,
                    "head ('data') is a variable and has no inputs");
    am_graph_release(data);
    /* The NULL of a failed call passes through with its message. */
    TU_ASSERT_FAILS(am_graph_get_children(am_graph_find_output(ccc, "nope")), AM_ERR_ARG,
                    "no output is named 'nope'");
    am_graph_release(ccc);
    am_graph_release(cc);
    am_graph_release(c);
    am_graph_release(g);

    /* A node heading the graph three times gives its inputs once. */
    am_array *x = am_var("x", AM_SHAPE(2, 6), AM_DTYPE_FLOAT32);
    am_array *parts[3];
    CU_ASSERT_EQUAL_FATAL(am_split(am_tanh(x), 3, 1, false, parts), AM_OK);
    g = am_graph_create(parts, 3);
    c = am_graph_get_children(g);
    assert_outputs(c, (const char *[]){"tanh0_output"}, 1);
    am_graph_release(c);
    am_graph_release(g);
    am_scope_end();
}

/* ---- groups ------------------------------------------------------------------------------ */

static void test_group(void)
{
    am_scope_begin();
    am_array *x = am_var("data", AM_SHAPE(2, 5), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(3, 5), AM_DTYPE_FLOAT32);
    am_array *fc = am_fully_connected(x, w, NULL, 3, true, true);
    am_array *e = am_exp(x);
    am_graph *a = am_graph_create(&fc, 1), *b = am_graph_create(&e, 1);
    am_graph *g = am_graph_group((am_graph *[]){a, b, a}, 3);
    assert_outputs(g, (const char *[]){"fullyconnected0_output", "exp0_output",
                                       "fullyconnected0_output"}, 3);
    const char *args[4];
    CU_ASSERT_EQUAL(am_graph_list_arguments(g, args, 4), 2);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 4);
    binds bd = {.names = {"data", "w"}, .n = 2};
    bd.values[0] = tu_random(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32, -1, 1);
    bd.values[1] = tu_random(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32, -1, 1);
    CU_ASSERT(tu_allclose(eval_out(g, &bd, 0), eval_out(a, &bd, 0), 0));
    CU_ASSERT(tu_allclose(eval_out(g, &bd, 1), am_exp(bd.values[0]), 1e-6));
    CU_ASSERT(tu_allclose(eval_out(g, &bd, 2), eval_out(a, &bd, 0), 0));
    /* A group of groups flattens; JSON lists every head. */
    am_graph *gg = am_graph_group((am_graph *[]){g, b}, 2);
    CU_ASSERT_EQUAL(am_graph_num_outputs(gg), 4);
    char *j = json_of(gg);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"heads\": [[2, 0, 0], [3, 0, 0], [2, 0, 0], [3, 0, 0]]"));
    free(j);
    am_graph_release(gg);

    /* Another variable named "data" is not the same input. */
    am_array *other = am_relu(am_var("data", AM_SHAPE(2, 5), AM_DTYPE_FLOAT32));
    am_graph *o = am_graph_create(&other, 1);
    TU_ASSERT_FAILS(am_graph_group((am_graph *[]){a, o}, 2), AM_ERR_ARG,
                    "am_graph_group: two different variables are named 'data'");
    TU_ASSERT_FAILS(am_graph_group((am_graph *[]){a, NULL}, 2), AM_ERR_ARG, "graph 1 is NULL");
    TU_ASSERT_FAILS(am_graph_group(NULL, 0), AM_ERR_ARG, "at least 1");
    am_graph_release(o);
    am_graph_release(g);
    am_graph_release(b);
    am_graph_release(a);
    am_scope_end();
}

/* ---- composition ------------------------------------------------------------------------- */

/* A graph of one function of a new variable. */
static am_graph *graph_of(am_array *y)
{
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    return g;
}

/* The MLP's data replaced by a preprocessing graph: numbers match running
 * the preprocessing eagerly, shapes are inferred, g is unchanged. */
static void test_compose_input(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(MLP);
    binds b;
    bind_random(g, "data", AM_SHAPE(4, 784), &b);
    char *before = json_of(g);
    am_array *raw = am_var("raw", AM_SHAPE(4, 784), AM_DTYPE_FLOAT32);
    am_graph *pre = graph_of(am_plus_scalar(am_mul_scalar(raw, 2), -1));
    const char *name = "data";
    am_graph *c = am_graph_compose(g, &name, &pre, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const char *args[8];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_arguments(c, args, 8), 5);
    CU_ASSERT_STRING_EQUAL(args[0], "raw");
    CU_ASSERT_STRING_EQUAL(args[1], "dense0_weight");
    assert_outputs(c, (const char *[]){"dense1_fwd_output"}, 1);
    am_shape s;
    CU_ASSERT_EQUAL(am_graph_output_shape(c, 0, &s, NULL), AM_OK);
    CU_ASSERT(s.ndim == 2 && s.dim[0] == 4 && s.dim[1] == 10);
    /* g and its nodes are untouched. */
    char *after = json_of(g);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before), free(after);

    am_array *r = tu_random(AM_SHAPE(4, 784), AM_DTYPE_FLOAT32, -1, 1);
    binds cb = b;
    cb.names[0] = "raw";
    cb.values[0] = r;
    b.values[0] = am_plus_scalar(am_mul_scalar(r, 2), -1);
    CU_ASSERT(tu_allclose(eval_out(c, &cb, 0), eval_out(g, &b, 0), 1e-5));
    am_graph_release(c);
    am_graph_release(pre);
    am_graph_release(g);
    am_scope_end();
}

/* A new head on top of a loaded model's features: the value's shapes are
 * unknown (JSON), so the rebuilt nodes' stay unknown until inference. */
static void test_compose_features(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(MLP);
    am_graph *in = am_graph_get_internals(g);
    am_graph *feat = am_graph_find_output(in, "dense0_relu_fwd_output");
    am_array *f = am_var("feat", AM_SHAPE(4, 64), AM_DTYPE_FLOAT32);
    am_array *hw = am_var("head_weight", AM_SHAPE(3, 64), AM_DTYPE_FLOAT32);
    am_graph *head = graph_of(am_softmax(am_fully_connected(f, hw, NULL, 3, true, true), -1));
    const char *name = "feat";
    am_graph *c = am_graph_compose(head, &name, &feat, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const char *args[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(c, args, 8), 4);
    CU_ASSERT_STRING_EQUAL(args[3], "head_weight");
    am_shape s;
    CU_ASSERT_EQUAL(am_graph_output_shape(c, 0, &s, NULL), AM_OK);
    CU_ASSERT_EQUAL(s.ndim, -1);
    binds b;
    bind_random(c, "data", AM_SHAPE(4, 784), &b);
    CU_ASSERT_EQUAL(am_graph_output_shape(c, 0, &s, NULL), AM_OK);
    CU_ASSERT(s.ndim == 2 && s.dim[0] == 4 && s.dim[1] == 3);
    am_array *want = am_softmax(am_fully_connected(eval_out(feat, &b, 0), bound(&b, "head_weight"),
                                                   NULL, 3, true, true), -1);
    CU_ASSERT(tu_allclose(eval_out(c, &b, 0), want, 1e-5));
    /* The composed graph's JSON keeps the model's names. */
    char *j = json_of(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"name\": \"dense0_relu_fwd\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"name\": \"softmax0\""));
    CU_ASSERT_PTR_NULL(strstr(j, "\"feat\""));
    free(j);
    am_graph_release(c);
    am_graph_release(head);
    am_graph_release(feat);
    am_graph_release(in);
    am_graph_release(g);
    am_scope_end();
}

/* Several names at once, a replaced head, an auxiliary state, and every
 * error. */
static void test_compose_many_and_errors(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(5, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_fully_connected(x, w, NULL, 5, true, true);
    am_graph *g = graph_of(y);
    am_array *z = am_var("z", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_array *v = am_var("v", AM_SHAPE(5, 3), AM_DTYPE_FLOAT32);
    am_graph *zg = graph_of(am_tanh(z)), *vg = graph_of(am_mul_scalar(v, 0.5));
    am_graph *c = am_graph_compose(g, (const char *[]){"w", "x"}, (am_graph *[]){vg, zg}, 2);
    const char *args[4];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_arguments(c, args, 4), 2);
    CU_ASSERT_STRING_EQUAL(args[0], "z");
    CU_ASSERT_STRING_EQUAL(args[1], "v");
    binds b = {.names = {"z", "v"}, .n = 2};
    b.values[0] = tu_random(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32, -1, 1);
    b.values[1] = tu_random(AM_SHAPE(5, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_array *want = am_fully_connected(am_tanh(b.values[0]), am_mul_scalar(b.values[1], 0.5),
                                        NULL, 5, true, true);
    CU_ASSERT(tu_allclose(eval_out(c, &b, 0), want, 1e-5));
    am_graph_release(c);

    /* A head that is a replaced variable; no names is a copy. */
    am_graph *in = am_graph_get_internals(g);
    c = am_graph_compose(in, (const char *[]){"x"}, &zg, 1);
    assert_outputs(c, (const char *[]){"tanh0_output", "w", "fullyconnected0_output"}, 3);
    am_graph_release(c);
    c = am_graph_compose(g, NULL, NULL, 0);
    CU_ASSERT_EQUAL(am_graph_num_nodes(c), 3);
    am_graph_release(c);

    TU_ASSERT_FAILS(am_graph_compose(g, (const char *[]){"nope"}, &zg, 1), AM_ERR_ARG,
                    "no input named 'nope' (its inputs are 'x', 'w')");
    TU_ASSERT_FAILS(am_graph_compose(g, (const char *[]){"x", "x"}, (am_graph *[]){zg, zg}, 2),
                    AM_ERR_ARG, "'x' is given twice");
    TU_ASSERT_FAILS(am_graph_compose(g, (const char *[]){"x"}, &in, 1), AM_ERR_ARG,
                    "the value for 'x' has 3 outputs; a single output is required");
    TU_ASSERT_FAILS(am_graph_compose(g, (const char *[]){"x"}, (am_graph *[]){NULL}, 1),
                    AM_ERR_ARG, "the value for 'x' is NULL");
    TU_ASSERT_FAILS(am_graph_compose(NULL, NULL, NULL, 0), AM_ERR_ARG, "the graph is NULL");
    /* New shapes that do not fit name the node. */
    am_graph *wide = graph_of(am_var("z7", AM_SHAPE(4, 7), AM_DTYPE_FLOAT32));
    TU_ASSERT_FAILS(am_graph_compose(g, (const char *[]){"x"}, &wide, 1), AM_ERR_SHAPE,
                    "am_graph_compose: FullyConnected (node 'fullyconnected0')");
    /* The value brings another variable named "w". */
    am_graph *clash = graph_of(am_add(am_var("w", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32), z));
    TU_ASSERT_FAILS(am_graph_compose(g, (const char *[]){"x"}, &clash, 1), AM_ERR_ARG,
                    "am_graph_compose: two different variables are named 'w'");
    am_graph_release(clash);
    am_graph_release(wide);
    am_graph_release(in);
    am_graph_release(vg);
    am_graph_release(zg);
    am_graph_release(g);
    am_scope_end();
}

/* Replacing BatchNorm's moving mean (an auxiliary state) with a computed
 * value: in inference the output uses it. */
static void test_compose_aux_state(void)
{
    am_scope_begin();
    am_shape unk = {.ndim = -1};
    am_array *x = am_var("data", AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32);
    am_array *y = am_batch_norm(x, am_var("g", unk, AM_DTYPE_COUNT),
                                am_var("b", unk, AM_DTYPE_COUNT), am_var("mm", unk, AM_DTYPE_COUNT),
                                am_var("mv", unk, AM_DTYPE_COUNT), 1e-5, 0.9, false, true, 1);
    am_graph *g = graph_of(y);
    am_graph *mean = graph_of(am_plus_scalar(am_var("m0", AM_SHAPE(3), AM_DTYPE_FLOAT32), 1));
    am_graph *c = am_graph_compose(g, (const char *[]){"mm"}, &mean, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const char *aux[4];
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(c, aux, 4), 1);
    CU_ASSERT_STRING_EQUAL(aux[0], "mv");
    binds b;
    bind_random(c, "data", AM_SHAPE(2, 3, 4), &b);
    for (int i = 0; i < b.n; i++) /* a variance must be positive */
        if (strcmp(b.names[i], "mv") == 0)
            b.values[i] = tu_random(AM_SHAPE(3), AM_DTYPE_FLOAT32, 0.5, 1.5);
    binds gb = b;
    for (int i = 0; i < gb.n; i++)
        if (strcmp(gb.names[i], "m0") == 0)
            gb.names[i] = "mm", gb.values[i] = am_plus_scalar(b.values[i], 1);
    CU_ASSERT(tu_allclose(eval_out(c, &b, 0), eval_out(g, &gb, 0), 1e-5));
    am_graph_release(c);
    am_graph_release(mean);
    am_graph_release(g);
    am_scope_end();
}

/* ---- composing through symbolic arrays ---------------------------------------------------- */

/* am_graph_output turns a loaded graph's head into a symbol that ops take. */
static void test_ops_on_loaded_outputs(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(MLP);
    binds b;
    bind_random(g, "data", AM_SHAPE(4, 784), &b);
    am_array *p = am_softmax(am_graph_output(g, 0), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_graph *h = graph_of(p);
    CU_ASSERT_EQUAL(am_graph_num_nodes(h), 9);
    assert_outputs(h, (const char *[]){"softmax0_output"}, 1);
    CU_ASSERT(tu_allclose(eval_out(h, &b, 0), am_softmax(eval_out(g, &b, 0), -1), 1e-6));
    char *j = json_of(h);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"name\": \"dense1_fwd\""));
    free(j);
    am_graph_release(h);
    am_graph_release(g);
    am_scope_end();
}

/* ---- LeNet ------------------------------------------------------------------------------- */

static void test_lenet(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load(LENET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    binds b;
    bind_random(g, "data", AM_SHAPE(2, 1, 28, 28), &b);
    am_graph *in = am_graph_get_internals(g);
    CU_ASSERT_EQUAL(am_graph_num_outputs(in), 23);
    am_graph *pool = am_graph_find_output(in, "pool1_fwd_output");
    am_shape s;
    CU_ASSERT_EQUAL(am_graph_output_shape(pool, 0, &s, NULL), AM_OK);
    CU_ASSERT(s.ndim == 4 && s.dim[1] == 16 && s.dim[2] == 4 && s.dim[3] == 4);
    am_graph *kids = am_graph_get_children(pool);
    assert_outputs(kids, (const char *[]){"conv1_relu_fwd_output"}, 1);
    /* Two heads of one group evaluate as the internals do. */
    am_graph *flat = am_graph_find_output(in, "flatten0_flatten0_output");
    am_graph *both = am_graph_group((am_graph *[]){pool, flat}, 2);
    CU_ASSERT(tu_allclose(eval_out(both, &b, 1), eval_out(in, &b, 11), 0));
    CU_ASSERT(tu_allclose(am_reshape(eval_out(both, &b, 0), AM_SHAPE(2, 256)),
                          eval_out(both, &b, 1), 0));

    /* Normalisation composed in front of the model. */
    am_array *img = am_var("image", AM_SHAPE(2, 1, 28, 28), AM_DTYPE_FLOAT32);
    am_graph *norm = graph_of(am_mul_scalar(am_plus_scalar(img, -0.5), 2));
    am_graph *c = am_graph_compose(g, (const char *[]){"data"}, &norm, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(am_graph_num_nodes(c), 25);
    binds cb = b;
    am_array *image = tu_random(AM_SHAPE(2, 1, 28, 28), AM_DTYPE_FLOAT32, 0, 1);
    cb.names[0] = "image", cb.values[0] = image;
    b.values[0] = am_mul_scalar(am_plus_scalar(image, -0.5), 2);
    CU_ASSERT(tu_allclose(eval_out(c, &cb, 0), eval_out(g, &b, 0), 1e-5));
    am_graph_release(c);
    am_graph_release(norm);
    am_graph_release(both);
    am_graph_release(flat);
    am_graph_release(kids);
    am_graph_release(pool);
    am_graph_release(in);
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_compose[] = {
    {"internals of the MLP fixture", test_internals_mlp},
    {"internals: hidden and multiple outputs", test_internals_hidden_and_multi},
    {"an output by name", test_find_output},
    {"children", test_children},
    {"groups", test_group},
    {"compose: a preprocessing graph in front", test_compose_input},
    {"compose: a new head on a model's features", test_compose_features},
    {"compose: several names, heads, errors", test_compose_many_and_errors},
    {"compose: an auxiliary state", test_compose_aux_state},
    {"ops on a loaded graph's outputs", test_ops_on_loaded_outputs},
    {"LeNet: internals, children, groups, compose", test_lenet},
    CU_TEST_INFO_NULL,
};
