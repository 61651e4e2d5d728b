/* The symbol suite: variables, tracing ops into nodes, errors at trace time,
 * graphs and their queries. */
#include "test_util.h"

#include "../symbol/symbol_impl.h"

static void test_trace_mlp(void)
{
    am_scope_begin();
    am_array *x = am_var("data", AM_SHAPE(32, 784), AM_DTYPE_FLOAT32);
    am_array *w = am_var("fc1_weight", (am_shape){.ndim = -1}, AM_DTYPE_COUNT);
    am_array *b = am_var("fc1_bias", (am_shape){.ndim = -1}, AM_DTYPE_COUNT);
    am_array *h = am_relu(am_fully_connected(x, w, b, 128, false, true));
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT(am_array_is_symbolic(h));
    am_shape s = am_array_shape(h);
    CU_ASSERT(s.ndim == 2 && s.dim[0] == 32 && s.dim[1] == 128);
    CU_ASSERT_EQUAL(am_array_dtype(h), AM_DTYPE_FLOAT32);
    /* The weight's unknown shape was filled by FullyConnected's inference. */
    CU_ASSERT(w->node->shapes[0].ndim == 2 && w->node->shapes[0].dim[1] == 784);
    CU_ASSERT_EQUAL(w->node->dtypes[0], AM_DTYPE_FLOAT32);

    am_array *y = am_softmax(am_fully_connected(h, am_var("fc2_weight", AM_SHAPE(10, 128),
                                                          AM_DTYPE_FLOAT32),
                                                NULL, 10, true, true), -1);
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 8);
    const char *names[16];
    int n = am_graph_list_arguments(g, names, 16);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_STRING_EQUAL(names[0], "data");
    CU_ASSERT_STRING_EQUAL(names[1], "fc1_weight");
    CU_ASSERT_STRING_EQUAL(names[2], "fc1_bias");
    CU_ASSERT_STRING_EQUAL(names[3], "fc2_weight");
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(g, names, 16), 0);
    char *outs[4];
    CU_ASSERT_EQUAL(am_graph_list_outputs(g, outs, 4), 1);
    CU_ASSERT_STRING_EQUAL(outs[0], "softmax0_output");
    free(outs[0]);
    /* Names are local to the graph: the two FullyConnected nodes are 0 and 1. */
    CU_ASSERT_STRING_EQUAL(g->names[3], "fullyconnected0");
    CU_ASSERT_STRING_EQUAL(g->names[6], "fullyconnected1");
    am_graph_release(g);
    am_scope_end();
}

static void test_symbolic_values_are_unreadable(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_array_data(x), AM_ERR_SYMBOLIC, "cannot be hybridized as written");
    am_clear_error();
    CU_ASSERT(isnan(am_item(x, 0)));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_SYMBOLIC);
    am_clear_error();
    TU_ASSERT_FAILS(am_to_string(x), AM_ERR_SYMBOLIC, "symbolic");
    TU_ASSERT_FAILS(am_var("", AM_SHAPE(1), AM_DTYPE_FLOAT32), AM_ERR_ARG, "needs a name");
    TU_ASSERT_FAILS(am_graph_create(&(am_array *){am_zeros(AM_SHAPE(1), AM_DTYPE_FLOAT32)}, 1),
                    AM_ERR_ARG, "concrete array");
    am_scope_end();
}

/* A shape error while tracing names the op, the shapes and the user's line. */
static void test_trace_errors_name_the_line(void)
{
    am_scope_begin();
    am_array *a = am_var("a", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *b = am_var("b", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_add(a, b), AM_ERR_SHAPE, "broadcast_add");
    am_clear_error();
    int line = __LINE__ + 1;
    am_add(a, b);
    char where[64];
    snprintf(where, sizeof(where), "test_symbol.c:%d", line);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), where));
    am_clear_error();
    am_array *i = am_var("i", AM_SHAPE(2, 3), AM_DTYPE_INT32);
    TU_ASSERT_FAILS(am_exp(i), AM_ERR_DTYPE, "exp");
    am_scope_end();
}

/* Concrete arrays used with symbols become constant nodes holding the value. */
static void test_constants_are_captured(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *c = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3);
    am_array *y = am_mul(x, c);
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 3);
    am_node *k = g->nodes[1];
    CU_ASSERT_PTR_NULL(k->op);
    CU_ASSERT_PTR_EQUAL(k->value, c);
    CU_ASSERT_STRING_EQUAL(g->names[1], "_const0");
    am_graph_release(g);
    am_scope_end();
}

static void test_aux_states_and_outputs(void)
{
    am_scope_begin();
    am_array *x = am_var("data", AM_SHAPE(4, 3, 5, 5), AM_DTYPE_FLOAT32);
    am_shape unk = {.ndim = -1};
    am_array *y = am_batch_norm(x, am_var("bn_gamma", unk, AM_DTYPE_COUNT),
                                am_var("bn_beta", unk, AM_DTYPE_COUNT),
                                am_var("bn_moving_mean", unk, AM_DTYPE_COUNT),
                                am_var("bn_moving_var", unk, AM_DTYPE_COUNT), 1e-5, 0.9, false,
                                false, 1);
    am_array *parts[3];
    CU_ASSERT_EQUAL_FATAL(am_split(y, 3, 1, false, parts), AM_OK);
    am_graph *g = am_graph_create(parts, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(g, names, 8), 3);
    CU_ASSERT_STRING_EQUAL(names[2], "bn_beta");
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(g, names, 8), 2);
    CU_ASSERT_STRING_EQUAL(names[0], "bn_moving_mean");
    CU_ASSERT_STRING_EQUAL(names[1], "bn_moving_var");
    CU_ASSERT_EQUAL(am_graph_list_inputs(g, names, 8), 5);
    char *outs[3];
    CU_ASSERT_EQUAL(am_graph_list_outputs(g, outs, 3), 3);
    CU_ASSERT_STRING_EQUAL(outs[2], "slicechannel0_output2");
    for (int i = 0; i < 3; i++) free(outs[i]);
    /* Heads compose: a graph output is a symbol again. */
    am_array *again = am_graph_output(g, 1);
    CU_ASSERT(am_array_is_symbolic(again) && am_array_dim(again, 1) == 1);
    am_graph_release(g);
    am_scope_end();
}

/* Two distinct variables cannot share a name; a 10,000-node chain is built
 * and freed without recursion. */
static void test_names_and_long_chains(void)
{
    am_scope_begin();
    am_array *a = am_var("x", AM_SHAPE(1), AM_DTYPE_FLOAT32);
    am_array *b = am_var("x", AM_SHAPE(1), AM_DTYPE_FLOAT32);
    am_array *s = am_add(a, b);
    TU_ASSERT_FAILS(am_graph_create(&s, 1), AM_ERR_ARG, "two different variables are named 'x'");
    am_scope_end();

    am_array *y = am_var_at("x", AM_SHAPE(1), AM_DTYPE_FLOAT32, AM_HERE);
    for (int i = 0; i < 10000; i++) {
        am_array *next = am_mul_scalar(y, 2);
        am_release(y);
        y = next;
    }
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 10001);
    am_graph_release(g);
    am_release(y);
}


/* Inference over a loaded MXNet graph: the weights' "(64, 0)" shapes are
 * unknown until the data's shape is given; a missing input is named. */
static void test_graph_infer(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load("tests/fixtures/mlp-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    TU_ASSERT_FAILS(am_graph_infer(g, NULL, NULL, NULL, 0) == AM_OK, AM_ERR_SHAPE,
                    "inputs are still unknown: data, dense0_weight (64, ?), dense1_weight (10, ?)");
    const char *name = "data";
    am_shape s = AM_SHAPE(32, 784);
    am_dtype t = AM_DTYPE_FLOAT32;
    CU_ASSERT_EQUAL(am_graph_infer(g, &name, &s, &t, 1), AM_OK);
    am_shape w;
    am_dtype wt;
    CU_ASSERT_EQUAL(am_graph_input_shape(g, "dense0_weight", &w, &wt), AM_OK);
    CU_ASSERT(w.ndim == 2 && w.dim[0] == 64 && w.dim[1] == 784 && wt == AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_graph_input_shape(g, "dense1_weight", &w, NULL), AM_OK);
    CU_ASSERT(w.ndim == 2 && w.dim[0] == 10 && w.dim[1] == 64);
    CU_ASSERT_EQUAL(am_graph_output_shape(g, 0, &w, &wt), AM_OK);
    CU_ASSERT(w.ndim == 2 && w.dim[0] == 32 && w.dim[1] == 10 && wt == AM_DTYPE_FLOAT32);
    /* A shape that contradicts what the graph learned, and unknown names. */
    am_shape bad = AM_SHAPE(32, 100);
    TU_ASSERT_FAILS(am_graph_infer(g, &name, &bad, NULL, 1) == AM_OK, AM_ERR_SHAPE,
                    "input 'data' is (32, 100) but the graph says (32, 784)");
    const char *nope = "nope";
    TU_ASSERT_FAILS(am_graph_infer(g, &nope, &s, NULL, 1) == AM_OK, AM_ERR_ARG, "no input named 'nope'");
    TU_ASSERT_FAILS(am_graph_input_shape(g, "nope", &w, NULL) == AM_OK, AM_ERR_ARG, "nope");
    am_graph_release(g);

    /* Tracing filled w as (5, 3) from x; a contradicting shape is refused. */
    am_array *x = am_var("x", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_array *wv = am_var("w", (am_shape){.ndim = -1}, AM_DTYPE_COUNT);
    am_array *y = am_fully_connected(x, wv, NULL, 5, true, true);
    g = am_graph_create(&y, 1);
    const char *wn = "w";
    am_shape ws = AM_SHAPE(5, 7);
    TU_ASSERT_FAILS(am_graph_infer(g, &wn, &ws, NULL, 1) == AM_OK, AM_ERR_SHAPE,
                    "graph says (5, 3)");
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_symbol[] = {
    {"tracing an MLP", test_trace_mlp},
    {"symbolic values cannot be read", test_symbolic_values_are_unreadable},
    {"trace-time errors name the line", test_trace_errors_name_the_line},
    {"constants are captured", test_constants_are_captured},
    {"auxiliary states and multiple outputs", test_aux_states_and_outputs},
    {"names and long chains", test_names_and_long_chains},
    {"graph shape and dtype inference", test_graph_infer},
    CU_TEST_INFO_NULL,
};
