/* Control flow (_foreach, _while_loop, _cond): graphs with subgraphs read from symbol JSON
 * (hand-written and MXNet 1.9.1's own exports in tests/fixtures/json), run node by node
 * and in plans, written back, differentiated eagerly, and bad input. */
#include "test_util.h"

#include "../symbol/symbol_impl.h"

/* s' = d * w + s over the rows d of x; outputs every s' stacked, and the last.  The body's
 * inputs are d, w, s (MXNet's order for foreach's data, remaining input, state). */
#define BODY                                                                                 \
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"d\", \"inputs\": []},"                      \
    " {\"op\": \"null\", \"name\": \"w\", \"inputs\": []},"                                  \
    " {\"op\": \"elemwise_mul\", \"name\": \"m\", \"inputs\": [[0, 0, 0], [1, 0, 0]]},"      \
    " {\"op\": \"null\", \"name\": \"s\", \"inputs\": []},"                                  \
    " {\"op\": \"elemwise_add\", \"name\": \"a\", \"inputs\": [[2, 0, 0], [3, 0, 0]]}],"     \
    " \"arg_nodes\": [0, 1, 3], \"heads\": [[4, 0, 0], [4, 0, 0]]}"

#define FOREACH(attrs, subgraphs)                                                            \
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"                      \
    " {\"op\": \"null\", \"name\": \"s0\", \"inputs\": []},"                                 \
    " {\"op\": \"null\", \"name\": \"w\", \"inputs\": []},"                                  \
    " {\"op\": \"_foreach\", \"name\": \"loop\", \"attrs\": {" attrs "},"                    \
    "  \"inputs\": [[0, 0, 0], [1, 0, 0], [2, 0, 0]], \"subgraphs\": [" subgraphs "]}],"    \
    " \"arg_nodes\": [0, 1, 2], \"heads\": [[3, 0, 0], [3, 1, 0]]}"

#define FOREACH_ATTRS(data, state, remain)                                                   \
    "\"num_args\": \"4\", \"num_outputs\": \"2\", \"num_out_data\": \"1\","                  \
    " \"in_data_locs\": \"" data "\", \"in_state_locs\": \"" state "\","                     \
    " \"remain_locs\": \"" remain "\""

static const char *foreach_json = FOREACH(FOREACH_ATTRS("[0]", "[2]", "[1]"), BODY);

static int node_of(const am_graph *g, const char *op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op && strcmp(g->nodes[i]->op->name, op) == 0) return i;
    return -1;
}

/* Runs g node by node and as a plan on the named inputs; both results in out (the
 * scope's).  Asserts they agree. */
static void run_both(const char *json, const char *const *names, am_array *const *x, int n,
                     am_array **out, int n_out)
{
    am_graph *g = json[0] == '{' ? am_graph_from_json(json) : am_graph_load(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_shape sh[8];
    am_dtype ty[8];
    for (int i = 0; i < n; i++) sh[i] = am_array_shape(x[i]), ty[i] = am_array_dtype(x[i]);
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, x, n, false, out, n_out), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, names, sh, ty, n), AM_OK);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = false});
    if (!p) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], x[i]), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    for (int k = 0; k < n_out; k++) CU_ASSERT(tu_allclose(am_plan_output(p, k), out[k], 0));
    am_plan_release(p);
    am_graph_release(g);
}

static void test_foreach_values(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(foreach_json);
    if (!g) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"x", "s0", "w"};
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 10, 20),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 2, 0.5)};
    am_array *out[2];
    run_both(foreach_json, names, x, 3, out, 2);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(3, 2), 0, 12, 21, 18, 23, 28, 26);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2), 0, 28, 26);
    /* float64 and another length: the same graph, other signatures. */
    am_array *y[] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 2), 1, 1),
                     tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 0, 1),
                     tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 3, 4)};
    run_both(foreach_json, names, y, 3, out, 2);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1, 2), 0, 3, 5);
    CU_ASSERT_EQUAL(am_array_dtype(out[1]), AM_DTYPE_FLOAT64);
    /* Zero steps: the states come out as they went in. */
    am_array *z[] = {am_zeros(AM_SHAPE(0, 2), AM_DTYPE_FLOAT32), x[1], x[2]};
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, z, 3, false, out, 2), AM_OK);
    CU_ASSERT_EQUAL(am_array_dim(out[0], 0), 0);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2), 0, 10, 20);
    /* Shape inference runs the body's. */
    CU_ASSERT_EQUAL(am_graph_infer(g, names, (am_shape[]){AM_SHAPE(7, 2), AM_SHAPE(2), AM_SHAPE(2)},
                                   (am_dtype[]){AM_DTYPE_FLOAT32, AM_DTYPE_FLOAT32,
                                                AM_DTYPE_FLOAT32}, 3), AM_OK);
    am_shape s;
    am_dtype t;
    CU_ASSERT_EQUAL(am_graph_output_shape(g, 0, &s, &t), AM_OK);
    CU_ASSERT(am_shape_equal(s, AM_SHAPE(7, 2)) && t == AM_DTYPE_FLOAT32);
    am_graph_release(g);
    am_scope_end();
}

/* The gradient of sum(stacked) + sum(last), worked by hand: s0 reaches 3 + 1 outputs,
 * row t of x reaches (3 - t) + 1 of them through w, and w collects x's rows likewise. */
static void test_foreach_gradient(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(foreach_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const am_node *n = g->nodes[node_of(g, "_foreach")];
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6),
                     tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 10, 20),
                     tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 2, 0.5)};
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(am_attach_grad(x[i], AM_GRAD_WRITE), AM_OK);
    am_array *out[2];
    am_autograd_record_begin(false);
    CU_ASSERT_EQUAL_FATAL(am_op_call(n->op, n->attrs, x, 3, out, 2, AM_HERE), AM_OK);
    am_array *loss = am_elemwise_add(am_sum(out[0], NULL, 0, false), am_sum(out[1], NULL, 0, false));
    CU_ASSERT_EQUAL(am_autograd_end(), AM_OK);
    am_graph_release(g); /* the tape keeps the body alive */
    CU_ASSERT_EQUAL_FATAL(am_backward(loss), AM_OK);
    TU_ASSERT_VALUES(am_grad(x[0]), AM_SHAPE(3, 2), 1e-12, 8, 2, 6, 1.5, 4, 1);
    TU_ASSERT_VALUES(am_grad(x[1]), AM_SHAPE(2), 1e-12, 4, 4);
    TU_ASSERT_VALUES(am_grad(x[2]), AM_SHAPE(2), 1e-12, 23, 32);
    am_scope_end();
}

/* The same gradient from the symbolic backward (a hybridized block's): the loop unrolled
 * into the backward graph. */
static void test_foreach_symbolic_gradient(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(foreach_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[8] = {"x", "s0", "w"};
    am_array *x[8] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6),
                      tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 10, 20),
                      tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 2, 0.5)};
    am_shape sh[] = {AM_SHAPE(3, 2), AM_SHAPE(2), AM_SHAPE(2)};
    am_dtype ty[] = {AM_DTYPE_FLOAT64, AM_DTYPE_FLOAT64, AM_DTYPE_FLOAT64};
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, names, sh, ty, 3), AM_OK);
    am_graph *gg = am_graph_gradient(g, names, 3);
    if (!gg) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    int n = 3;
    for (int i = 0; i < gg->n_nodes && n < 8; i++) {
        const am_node *v = gg->nodes[i];
        size_t len = strlen(gg->names[i]);
        if (v->op || len < 10 || strcmp(gg->names[i] + len - 10, "_head_grad") != 0) continue;
        names[n] = gg->names[i];
        x[n++] = am_ones(v->shapes[0], AM_DTYPE_FLOAT64);
    }
    CU_ASSERT_EQUAL_FATAL(n, 5);
    am_array *out[5];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(gg, names, x, n, false, out, 5), AM_OK);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(3, 2), 1e-12, 8, 2, 6, 1.5, 4, 1);
    TU_ASSERT_VALUES(out[3], AM_SHAPE(2), 1e-12, 4, 4);
    TU_ASSERT_VALUES(out[4], AM_SHAPE(2), 1e-12, 23, 32);
    am_graph_release(gg);
    am_graph_release(g);
    am_scope_end();
}

/* The gradient graph of file's graph w.r.t. its inputs names[0..n), evaluated at x with
 * head gradients of ones; grads receive the input gradients. */
static void symbolic_grads(const char *file, const char **names, am_array **x, int n,
                           am_array **grads)
{
    am_graph *g = am_graph_load(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_shape sh[8];
    am_dtype ty[8];
    for (int i = 0; i < n; i++) sh[i] = am_array_shape(x[i]), ty[i] = am_array_dtype(x[i]);
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, names, sh, ty, n), AM_OK);
    am_graph *gg = am_graph_gradient(g, names, n);
    if (!gg) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    int m = n, heads = g->n_heads;
    for (int i = 0; i < gg->n_nodes && m < 8; i++) {
        size_t len = strlen(gg->names[i]);
        if (gg->nodes[i]->op || len < 10 || strcmp(gg->names[i] + len - 10, "_head_grad") != 0)
            continue;
        names[m] = gg->names[i];
        x[m++] = am_ones(gg->nodes[i]->shapes[0], gg->nodes[i]->dtypes[0]);
    }
    CU_ASSERT_EQUAL_FATAL(m, n + heads);
    am_array *out[16];
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(gg, names, x, m, false, out, heads + n), AM_OK);
    for (int i = 0; i < n; i++) grads[i] = out[heads + i];
    /* And in a plan, as a hybridized block's backward runs. */
    am_plan *p = am_plan_create(gg, &(am_plan_opts){.training = false});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < m; i++) CU_ASSERT_EQUAL(am_plan_bind(p, names[i], x[i]), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    for (int i = 0; i < n; i++) CU_ASSERT(tu_allclose(am_plan_output(p, heads + i), grads[i], 0));
    am_plan_release(p);
    am_graph_release(gg);
    am_graph_release(g);
}

/* A symbolic backward of _cond and _while_loop: one _backward_* node that replays the op
 * on the values when the plan runs. */
static void test_symbolic_gradient_by_value(void)
{
    am_scope_begin();
    const char *cn[8] = {"data0", "data1"};
    am_array *x[8] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2),
                      tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0.5, 0.5)}, *gr[2];
    symbolic_grads("tests/fixtures/json/mxnet191_cond-symbol.json", cn, x, 2, gr);
    TU_ASSERT_VALUES(gr[0], AM_SHAPE(2), 0, 2, 2);
    TU_ASSERT_VALUES(gr[1], AM_SHAPE(2), 0, 1, 1);
    x[1] = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 5, 5);
    symbolic_grads("tests/fixtures/json/mxnet191_cond-symbol.json", cn, x, 2, gr);
    TU_ASSERT_VALUES(gr[0], AM_SHAPE(2), 0, 1, 1);
    TU_ASSERT_VALUES(gr[1], AM_SHAPE(2), 0, -1, -1);
    /* sum of the stacked s (rows s, s, s + 1, s + 3, zeros), of i, and of the last s. */
    const char *wn[8] = {"data"};
    x[0] = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2);
    symbolic_grads("tests/fixtures/json/mxnet191_while_loop-symbol.json", wn, x, 1, gr);
    TU_ASSERT_VALUES(gr[0], AM_SHAPE(2), 0, 5, 5);
    am_scope_end();
}

/* MXNet 1.9.1's export of while_loop(s.sum() < 10: i + 1, s + i, output s), max 5 steps:
 * four steps, and the fifth row, which MXNet leaves undefined, zero. */
static void test_while_loop(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load("tests/fixtures/json/mxnet191_while_loop-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"data"};
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2)}, *out[3];
    run_both("tests/fixtures/json/mxnet191_while_loop-symbol.json", names, x, 1, out, 3);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(5, 2), 0, 1, 2, 1, 2, 2, 3, 4, 5, 0, 0);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1), 0, 4);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(2), 0, 7, 8);
    /* No step at all: every row zero, the loop variables as given. */
    x[0] = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 6, 5);
    run_both("tests/fixtures/json/mxnet191_while_loop-symbol.json", names, x, 1, out, 3);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(5, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(2), 0, 6, 5);
    /* Gradient of sum(out[2]) = s + 0 + 0 + 1 + 2 (four steps) w.r.t. data: 1 each;
     * sum(out[0]) adds rows 1, 1, 2, 3 of s and i: 4 per element, 2 through i's sum. */
    const am_node *n = g->nodes[node_of(g, "_while_loop")];
    am_array *in[] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2),
                      tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), 0)};
    for (int i = 0; i < 2; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    CU_ASSERT_EQUAL_FATAL(am_op_call(n->op, n->attrs, in, 2, out, 3, AM_HERE), AM_OK);
    am_array *loss = am_sum(out[2], NULL, 0, false);
    CU_ASSERT_EQUAL(am_autograd_end(), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_backward(loss), AM_OK);
    TU_ASSERT_VALUES(am_grad(in[0]), AM_SHAPE(2), 1e-12, 1, 1);
    /* s gains i + (i+1) + (i+2) + (i+3) over the four steps: 4 per element, 8 in all. */
    TU_ASSERT_VALUES(am_grad(in[1]), AM_SHAPE(1), 1e-12, 8);
    am_graph_release(g);
    am_scope_end();
}

/* MXNet 1.9.1's export of cond(x.sum() > y.sum(), x * 2 + y, x - y). */
static void test_cond(void)
{
    am_scope_begin();
    am_graph *g = am_graph_load("tests/fixtures/json/mxnet191_cond-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"data0", "data1"};
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0.5, 0.5)}, *out[1];
    run_both("tests/fixtures/json/mxnet191_cond-symbol.json", names, x, 2, out, 1);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2), 0, 2.5, 4.5);
    x[1] = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 5, 5);
    run_both("tests/fixtures/json/mxnet191_cond-symbol.json", names, x, 2, out, 1);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2), 0, -4, -3);
    /* Gradients follow the branch taken; the predicate gets zeros. */
    const am_node *n = g->nodes[node_of(g, "_cond")];
    for (int branch = 0; branch < 2; branch++) {
        am_array *in[] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), branch ? 0 : 1),
                          tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2),
                          tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 3, 4)};
        for (int i = 0; i < 3; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
        am_autograd_record_begin(false);
        CU_ASSERT_EQUAL_FATAL(am_op_call(n->op, n->attrs, in, 3, out, 1, AM_HERE), AM_OK);
        am_array *loss = am_sum(out[0], NULL, 0, false);
        CU_ASSERT_EQUAL(am_autograd_end(), AM_OK);
        CU_ASSERT_EQUAL_FATAL(am_backward(loss), AM_OK);
        TU_ASSERT_VALUES(am_grad(in[0]), AM_SHAPE(1), 0, 0);
        TU_ASSERT_VALUES(am_grad(in[1]), AM_SHAPE(2), 0, branch ? 1 : 2, branch ? 1 : 2);
        TU_ASSERT_VALUES(am_grad(in[2]), AM_SHAPE(2), 0, branch ? -1 : 1, branch ? -1 : 1);
    }
    am_graph_release(g);
    am_scope_end();
}

/* A graph built anew (as passes build them) is written canonically, subgraphs included, and reads back
 * to the same values; a read graph writes back as read. */
static void test_json_round_trip(void)
{
    am_scope_begin();
    am_graph *g = am_graph_from_json(foreach_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char *kept = am_graph_to_json(g);
    am_graph *opt = am_graph_from_heads(g->heads, g->n_heads); /* a new graph, no file */
    CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
    char *canon = am_graph_to_json(opt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(canon);
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "\"subgraphs\": [\n        {\n          \"nodes\": ["));
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "\"in_data_locs\": \"(0,)\""));
    am_graph *back = am_graph_from_json(canon);
    if (!back) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    char *again = am_graph_to_json(back);
    CU_ASSERT_STRING_EQUAL(again, canon);
    const char *names[] = {"x", "s0", "w"};
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 1),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2)}, *a[2], *b[2];
    run_both(kept, names, x, 3, a, 2);
    run_both(canon, names, x, 3, b, 2);
    CU_ASSERT(tu_allclose(a[0], b[0], 0) && tu_allclose(a[1], b[1], 0));
    /* Inference and runs leave the file's text as it was. */
    char *after = am_graph_to_json(g);
    CU_ASSERT_STRING_EQUAL(after, kept);
    free(kept), free(canon), free(again), free(after);
    am_graph_release(back);
    am_graph_release(opt);
    am_graph_release(g);
    am_scope_end();
}

/* A foreach whose body holds a cond: |d| * w accumulated (then d * w, else -d * w). */
#define NESTED_BODY                                                                          \
    "{\"nodes\": [{\"op\": \"null\", \"name\": \"d\", \"inputs\": []},"                      \
    " {\"op\": \"sum\", \"name\": \"p0\", \"inputs\": [[0, 0, 0]]},"                         \
    " {\"op\": \"_greater_scalar\", \"name\": \"p\", \"attrs\": {\"scalar\": \"0\"},"        \
    "  \"inputs\": [[1, 0, 0]]},"                                                            \
    " {\"op\": \"null\", \"name\": \"w\", \"inputs\": []},"                                  \
    " {\"op\": \"_cond\", \"name\": \"c\", \"attrs\": {\"num_args\": \"6\", \"num_outputs\": \"1\","\
    "  \"cond_input_locs\": \"[0]\", \"then_input_locs\": \"[1, 2]\", \"else_input_locs\": \"[1, 2]\"},"\
    "  \"inputs\": [[2, 0, 0], [0, 0, 0], [3, 0, 0]], \"subgraphs\": ["                      \
    "  {\"nodes\": [{\"op\": \"null\", \"name\": \"q\", \"inputs\": []},"                    \
    "   {\"op\": \"_copy\", \"name\": \"qq\", \"inputs\": [[0, 0, 0]]}], \"arg_nodes\": [0],"\
    "   \"heads\": [[1, 0, 0]]},"                                                            \
    "  {\"nodes\": [{\"op\": \"null\", \"name\": \"a\", \"inputs\": []},"                    \
    "   {\"op\": \"null\", \"name\": \"b\", \"inputs\": []},"                                \
    "   {\"op\": \"elemwise_mul\", \"name\": \"t\", \"inputs\": [[0, 0, 0], [1, 0, 0]]}],"   \
    "   \"arg_nodes\": [0, 1], \"heads\": [[2, 0, 0]]},"                                     \
    "  {\"nodes\": [{\"op\": \"null\", \"name\": \"a\", \"inputs\": []},"                    \
    "   {\"op\": \"null\", \"name\": \"b\", \"inputs\": []},"                                \
    "   {\"op\": \"elemwise_mul\", \"name\": \"e0\", \"inputs\": [[0, 0, 0], [1, 0, 0]]},"   \
    "   {\"op\": \"negative\", \"name\": \"e\", \"inputs\": [[2, 0, 0]]}],"                  \
    "   \"arg_nodes\": [0, 1], \"heads\": [[3, 0, 0]]}]},"                                   \
    " {\"op\": \"null\", \"name\": \"s\", \"inputs\": []},"                                  \
    " {\"op\": \"elemwise_add\", \"name\": \"acc\", \"inputs\": [[4, 0, 0], [5, 0, 0]]}],"   \
    " \"arg_nodes\": [0, 3, 5], \"heads\": [[6, 0, 0], [6, 0, 0]]}"

static void test_nested(void)
{
    am_scope_begin();
    const char *json = FOREACH(FOREACH_ATTRS("[0]", "[2]", "[1]"), NESTED_BODY);
    am_graph *g = am_graph_from_json(json);
    if (!g) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char *text = am_graph_to_json(g);
    am_graph *h = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *again = am_graph_to_json(h);
    CU_ASSERT_STRING_EQUAL(again, text);
    const char *names[] = {"x", "s0", "w"};
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 2), 1, 2, -3, -4, 5, -6),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0, 0),
                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 10)}, *out[2];
    run_both(text, names, x, 3, out, 2);
    /* rows: +(1, 20), -(-3, -40) = (3, 40), and (5, -60) has sum < 0: -(5, -60) = (-5, 60). */
    TU_ASSERT_VALUES(out[0], AM_SHAPE(3, 2), 0, 1, 20, 4, 60, -1, 120);
    free(text), free(again);
    am_graph_release(h);
    am_graph_release(g);
    am_scope_end();
}

/* A graph whose cond's then branch holds a cond, levels deep: x > 0 ? x : x at each. */
static char *nested_conds(int levels)
{
    static const char leaf[] =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"a\", \"inputs\": []}, "
        "{\"op\": \"_copy\", \"name\": \"c\", \"inputs\": [[0, 0, 0]]}], "
        "\"arg_nodes\": [0], \"heads\": [[1, 0, 0]]}";
    char *g = strdup(leaf);
    for (int l = 0; l < levels && g; l++) {
        size_t n = strlen(g) + 2 * sizeof(leaf) + 512;
        char *h = malloc(n);
        if (h)
            snprintf(h, n, "{\"nodes\": [{\"op\": \"null\", \"name\": \"a\", \"inputs\": []}, "
                     "{\"op\": \"_cond\", \"name\": \"c\", \"attrs\": {\"num_args\": \"5\", "
                     "\"num_outputs\": \"1\", \"cond_input_locs\": \"[0]\", "
                     "\"then_input_locs\": \"[1]\", \"else_input_locs\": \"[1]\"}, "
                     "\"inputs\": [[0, 0, 0], [0, 0, 0]], \"subgraphs\": [%s, %s, %s]}], "
                     "\"arg_nodes\": [0], \"heads\": [[1, 0, 0]]}", leaf, g, leaf);
        free(g);
        g = h;
    }
    return g;
}

/* Subgraphs nest 8 deep at most; up to that they read, run and write back as read. */
static void test_nesting_depth(void)
{
    am_scope_begin();
    char *ok = nested_conds(8), *deep = nested_conds(9);
    CU_ASSERT_FATAL(ok && deep);
    am_graph *g = am_graph_from_json(ok);
    if (!g) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char *text = am_graph_to_json(g);
    am_graph *h = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *again = am_graph_to_json(h);
    CU_ASSERT_STRING_EQUAL(again, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"arg_nodes\": [0], \n"));
    const char *names[] = {"a"};
    am_array *x[] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 3)}, *out[1];
    run_both(text, names, x, 1, out, 1);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1), 0, 3);
    TU_ASSERT_FAILS(am_graph_from_json(deep), AM_ERR_FORMAT, "subgraphs nest more than 8 deep");
    free(ok), free(deep), free(text), free(again);
    am_graph_release(h);
    am_graph_release(g);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    /* Attribute strings cannot give a subgraph. */
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4), *y[2];
    TU_ASSERT_STATUS(tu_invoke("_foreach", &x, 1,
                               "num_args|num_outputs|num_out_data|in_data_locs|in_state_locs|remain_locs",
                               "2|1|1|[0]|[]|[]", y, 1),
                     AM_ERR_ARG, "the body subgraph is missing");
    /* The wrong number of subgraphs, locations out of range, a body of the wrong arity. */
    TU_ASSERT_FAILS(am_graph_from_json(FOREACH(FOREACH_ATTRS("[0]", "[2]", "[1]"), BODY ", " BODY)),
                    AM_ERR_FORMAT, "node 3 ('loop'): _foreach runs 1 subgraph, but \"subgraphs\" lists 2");
    TU_ASSERT_FAILS(am_graph_from_json(FOREACH(FOREACH_ATTRS("[0]", "[2]", "[1]"), "")),
                    AM_ERR_FORMAT, "lists 0");
    TU_ASSERT_FAILS(am_graph_from_json(FOREACH(FOREACH_ATTRS("[0]", "[2]", "[1]"), "[]")),
                    AM_ERR_FORMAT, "subgraphs[0] is an array, not an object");
    TU_ASSERT_FAILS(am_graph_from_json(FOREACH(FOREACH_ATTRS("[0]", "[2]", "[1]"),
                                               "{\"nodes\": [], \"arg_nodes\": [], \"heads\": []}")),
                    AM_ERR_FORMAT, "node 3 ('loop'): subgraphs[0]: \"heads\" is empty");
    const char *names[] = {"x", "s0", "w"};
    am_array *in[] = {x, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0, 0),
                      tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 1)}, *out[2];
    am_graph *g = am_graph_from_json(FOREACH(FOREACH_ATTRS("[0]", "[7]", "[1]"), BODY));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    TU_ASSERT_STATUS(am_graph_eval(g, names, in, 3, false, out, 2), AM_ERR_FORMAT,
                     "entry 1 is out of range");
    am_graph_release(g);
    g = am_graph_from_json(FOREACH(FOREACH_ATTRS("[0]", "[1]", "[1]"), BODY));
    TU_ASSERT_STATUS(am_graph_eval(g, names, in, 3, false, out, 2), AM_ERR_FORMAT,
                     "entry 2 is repeated");
    am_graph_release(g);
    /* A state whose shape the body changes. */
    g = am_graph_from_json(foreach_json);
    in[1] = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 0);
    TU_ASSERT_STATUS(am_graph_eval(g, names, in, 3, false, out, 2), AM_ERR_SHAPE,
                     "must have the same shape (the broadcast_* ops broadcast) (in the body "
                     "subgraph)");
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_ops_control_flow[] = {
    {"_foreach: stacked outputs and states, node by node and in plans", test_foreach_values},
    {"_foreach: eager gradient by hand", test_foreach_gradient},
    {"_foreach: symbolic gradient (the backward graph)", test_foreach_symbolic_gradient},
    {"_cond, _while_loop: symbolic gradient by a _backward_* node", test_symbolic_gradient_by_value},
    {"_while_loop: MXNet's export, data-dependent stop, zero rows, gradient", test_while_loop},
    {"_cond: MXNet's export, both branches, gradient", test_cond},
    {"symbol JSON with subgraphs: canonical and kept writing", test_json_round_trip},
    {"a cond nested in a foreach body", test_nested},
    {"subgraphs nest 8 deep at most", test_nesting_depth},
    {"bad input fails with a clear message", test_errors},
    CU_TEST_INFO_NULL};
