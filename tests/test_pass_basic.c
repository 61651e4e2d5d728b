/* The pass_basic suite: algebraic simplification, common-subexpression
 * elimination and constant folding, each rule on a small traced graph: the
 * structure after the pass, the same values before and after, the rules that
 * must not fire, the log and the AM_PASSES switches. */
#include "test_util.h"

#include "../executor/executor_impl.h"

#define F32 AM_DTYPE_FLOAT32

/* ---- helpers ------------------------------------------------------------------- */

static am_graph *pass(am_graph *g, const char *name, bool training, FILE *log)
{
    am_optimize_opts o = {.training = training, .log = log};
    am_graph *out = am_graph_run_pass(g, name, &o);
    if (!out) printf("\n  pass %s failed: %s\n", name, am_last_error());
    return out;
}

static am_graph *graph_of(am_array *y)
{
    am_graph *g = am_graph_create(&y, 1);
    if (!g) printf("\n  graph: %s\n", am_last_error());
    return g;
}

static am_node *find_op(const am_graph *g, const char *op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op && strcmp(g->nodes[i]->op->name, op) == 0) return g->nodes[i];
    return NULL;
}

/* Attribute `key` of n as MXNet spells it. */
static const char *attr_str(const am_node *n, const char *key, char *buf, size_t len)
{
    for (const am_attr_field *f = n->op->attrs; f && f->name; f++)
        if (strcmp(f->name, key) == 0) return am_attr_format(f, n->attrs, buf, len);
    return "?";
}

/* Both graphs give the same heads on the same inputs (1e-5). */
static bool same_values(am_graph *a, am_graph *b, const char *const *names,
                        am_array *const *vals, int n, bool training)
{
    am_array *oa[8], *ob[8];
    int h = am_graph_num_outputs(a);
    if (h != am_graph_num_outputs(b) || h > 8) return false;
    if (am_graph_eval(a, names, vals, n, training, oa, h) != AM_OK ||
        am_graph_eval(b, names, vals, n, training, ob, h) != AM_OK) {
        printf("\n  eval: %s\n", am_last_error());
        return false;
    }
    bool ok = true;
    for (int i = 0; i < h; i++) ok = tu_allclose(ob[i], oa[i], 1e-5) && ok;
    return ok;
}

/* x bound to random values of shape s. */
#define SAME1(a, b, s) \
    CU_ASSERT(same_values((a), (b), (const char *[]){"x"}, \
                          (am_array *[]){tu_random((s), F32, -1, 1)}, 1, false))

/* A node running a creation op (no inputs) with the given attributes. */
static am_array *fill_node(const char *op, const char *key, const char *val)
{
    const am_op_def *def = am_op_find(op);
    void *attrs = am_attrs_parse(def, &key, &val, key ? 1 : 0);
    am_node *n = attrs ? am_node_build(def, attrs, NULL, 0) : NULL;
    free(attrs);
    if (!n) return NULL;
    am_array *y = am_rw_symbol((am_entry){n, 0});
    am_node_release(n);
    return y;
}

/* A constant node holding v (concrete arrays used with symbols become
 * constants too, but an op on constants alone runs eagerly). */
static am_array *const_node(am_array *v)
{
    am_node *n = am_node_create(NULL, NULL, NULL, 0, 1);
    if (!n) return NULL;
    n->shapes[0] = v->shape;
    n->dtypes[0] = v->dtype;
    n->value = am_retain(v);
    am_array *y = am_rw_symbol((am_entry){n, 0});
    am_node_release(n);
    return y;
}

/* Runs f with a log stream and returns what was written (caller frees). */
static char *logged(am_graph **out, am_graph *g, const char *name, bool training)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *out = pass(g, name, training, f);
    fclose(f);
    return buf;
}

/* ---- simplify: identities ------------------------------------------------------------ */

static void test_scalar_identities(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *y = am_exp(am_mul_scalar(am_div_scalar(am_plus_scalar(am_minus_scalar(x, 0), 0),
                                                     1), 1));
    am_graph *g = graph_of(y);
    CU_ASSERT_EQUAL(g->n_nodes, 6);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 2);
    CU_ASSERT_STRING_EQUAL(s->nodes[1]->op->name, "exp");
    CU_ASSERT_PTR_EQUAL(s->nodes[1]->inputs[0].node, x->node);
    SAME1(g, s, AM_SHAPE(2, 3));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* x*2, x+1, 0-x, x**1 and a scalar op that changes the dtype stay. */
static void test_scalar_non_identities(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *y = am_rminus_scalar(am_plus_scalar(am_mul_scalar(x, 2), 1), 0);
    am_graph *g = graph_of(y);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);
    /* int32 * 1.0 with is_int=False computes in float64: not x. */
    am_array *xi = am_var("xi", AM_SHAPE(3), AM_DTYPE_INT32), *yi = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_mul_scalar", &xi, 1, "scalar|is_int", "1|False", &yi, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(yi), AM_DTYPE_FLOAT64);
    g = graph_of(yi);
    s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* x * ones, zeros + x, x - zeros and x / ones with captured constants that
 * broadcast to x's shape. */
static void test_binary_constants(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *ones = am_ones(AM_SHAPE(3), F32), *zeros = am_zeros(AM_SHAPE(1), F32);
    am_array *y = am_div(am_sub(am_add(zeros, am_mul(x, ones)), zeros), ones);
    am_graph *g = graph_of(am_tanh(y));
    CU_ASSERT_EQUAL(g->n_nodes, 10);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 2);
    CU_ASSERT_EQUAL(tu_count_op(s, "tanh"), 1);
    SAME1(g, s, AM_SHAPE(2, 3));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* A constant that widens x, one that is not all ones, and zeros - x stay. */
static void test_binary_negative(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *wide = am_ones(AM_SHAPE(4, 2, 3), F32);
    am_array *mixed = tu_array(F32, AM_SHAPE(3), 1, 1, 2);
    am_array *zeros = am_zeros(AM_SHAPE(2, 3), F32);
    am_array *y = am_sum(am_mul(x, wide), (int[]){0}, 1, false);
    y = am_sub(zeros, am_mul(y, mixed));
    am_graph *g = graph_of(y);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* zeros_like, ones_like and _full nodes are known values too. */
static void test_fill_ops_are_known(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *w = am_var("w", AM_SHAPE(2, 3), F32);
    am_array *one = fill_node("_full", "value", "1"); /* shape () */
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    am_array *y = am_mul(am_add(am_zeros_like(w), am_mul(x, am_ones_like(w))), one);
    am_graph *g = graph_of(am_relu(y));
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 2);
    CU_ASSERT_EQUAL(tu_count_op(s, "relu"), 1);
    CU_ASSERT(same_values(g, s, (const char *[]){"x", "w"},
                          (am_array *[]){tu_random(AM_SHAPE(2, 3), F32, -1, 1),
                                         tu_random(AM_SHAPE(2, 3), F32, -1, 1)}, 2, false));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* ---- simplify: transposes and reshapes ------------------------------------------------- */

static void test_double_transpose(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3, 4), F32);
    int swap[] = {1, 0, 2}, rot[] = {1, 2, 0}, keep[] = {0, 1, 2};
    am_array *back = am_transpose(am_transpose(x, swap, 3), swap, 3);
    am_array *twice = am_transpose(am_transpose(x, rot, 3), rot, 3);
    am_array *same = am_transpose(x, keep, 3);
    am_array *rev3 = am_transpose(am_transpose(am_transpose(x, NULL, 0), NULL, 0), NULL, 0);
    am_array *ys[] = {am_relu(back), am_exp(twice), am_tanh(same), am_sigmoid(rev3)};
    am_graph *g = am_graph_create(ys, 4);
    CU_ASSERT_EQUAL(tu_count_op(g, "transpose"), 8);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* rot twice is one transpose (2, 0, 1); three reversals are one reversal. */
    CU_ASSERT_EQUAL(tu_count_op(s, "transpose"), 2);
    CU_ASSERT_PTR_EQUAL(s->heads[0].node->inputs[0].node, x->node);
    CU_ASSERT_PTR_EQUAL(s->heads[2].node->inputs[0].node, x->node);
    am_node *t = s->heads[1].node->inputs[0].node;
    char buf[64];
    CU_ASSERT_STRING_EQUAL(t->op->name, "transpose");
    CU_ASSERT_STRING_EQUAL(attr_str(t, "axes", buf, sizeof(buf)), "(2, 0, 1)");
    CU_ASSERT_PTR_EQUAL(t->inputs[0].node, x->node);
    CU_ASSERT_PTR_EQUAL(s->heads[3].node->inputs[0].node->inputs[0].node, x->node);
    SAME1(g, s, AM_SHAPE(2, 3, 4));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* expand_dims -> Flatten -> Reshape is one Reshape; a chain that comes back
 * to x's shape is x. */
static void test_reshape_chain(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3, 4), F32);
    am_array *r = am_reshape(am_flatten(am_expand_dims(x, 0)), AM_SHAPE(4, 6));
    am_array *back = am_reshape(am_reshape(x, AM_SHAPE(6, 4)), AM_SHAPE(2, 3, 4));
    am_array *ys[] = {am_relu(r), am_exp(back)};
    am_graph *g = am_graph_create(ys, 2);
    CU_ASSERT_EQUAL(g->n_nodes, 8);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 4);
    am_node *rs = find_op(s, "Reshape");
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_PTR_EQUAL(rs->inputs[0].node, x->node);
    CU_ASSERT(am_shape_equal(rs->shapes[0], AM_SHAPE(4, 6)));
    CU_ASSERT_EQUAL(tu_count_op(s, "Flatten") + tu_count_op(s, "expand_dims"), 0);
    CU_ASSERT_PTR_EQUAL(s->heads[1].node->inputs[0].node, x->node);
    /* The new Reshape keeps the name of the node it replaced. */
    CU_ASSERT_STRING_EQUAL(s->names[am_graph_index(s, rs)], "reshape0");
    SAME1(g, s, AM_SHAPE(2, 3, 4));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* An intermediate view with another user stays for it; the end of the chain
 * reads x directly.  A lone view that changes the shape stays as it is. */
static void test_reshape_shared_intermediate(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3, 4), F32);
    am_array *f = am_flatten(x);
    am_array *ys[] = {am_relu(f), am_exp(am_reshape(f, AM_SHAPE(3, 8)))};
    am_graph *g = am_graph_create(ys, 2);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 5);
    CU_ASSERT_EQUAL(tu_count_op(s, "Flatten"), 1);
    CU_ASSERT_PTR_EQUAL(find_op(s, "Reshape")->inputs[0].node, x->node);
    SAME1(g, s, AM_SHAPE(2, 3, 4));
    am_graph *again = pass(s, "simplify", false, NULL);
    CU_ASSERT_PTR_EQUAL(again, s);
    am_graph_release(again);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* ---- simplify: Dropout and copies --------------------------------------------------- */

static void test_dropout_inference(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 5), F32);
    am_graph *g = graph_of(am_relu(am_dropout(x, 0.5)));
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 2);
    CU_ASSERT_EQUAL(tu_count_op(s, "Dropout"), 0);
    SAME1(g, s, AM_SHAPE(4, 5));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Dropout with p = 0 is the identity even in training or with "always". */
static void test_dropout_p0(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 5), F32);
    am_array *ys[] = {am_relu(am_dropout(x, 0)), am_exp(am_dropout_at(x, 0, "always", AM_HERE))};
    am_graph *g = am_graph_create(ys, 2), *s = NULL;
    char *log = logged(&s, g, "simplify", true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "Dropout"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "Dropout with p=0: 'dropout0' (Dropout) becomes 'x'\n"));
    CU_ASSERT(same_values(g, s, (const char *[]){"x"},
                          (am_array *[]){tu_random(AM_SHAPE(4, 5), F32, -1, 1)}, 1, true));
    free(log);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Dropout stays in training, with mode "always", and when its mask is read. */
static void test_dropout_kept(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 5), F32);
    am_graph *g = graph_of(am_relu(am_dropout(x, 0.5)));
    am_graph *s = pass(g, "simplify", true, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);

    g = graph_of(am_relu(am_dropout_at(x, 0.5, "always", AM_HERE)));
    s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);

    am_array *d = am_dropout(x, 0.5);
    am_entry heads[] = {{d->node, 0}, {d->node, 1}};
    g = am_graph_from_heads(heads, 2);
    s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* A copy goes, except a copy of a variable that is a head. */
static void test_identity_copy(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3), F32);
    am_array *ys[] = {am_exp(tu_invoke1("_copy", x, "", "")), tu_invoke1("_copy", x, "", ""),
                      tu_invoke1("identity", am_sin(x), "", "")};
    am_graph *g = am_graph_create(ys, 3);
    CU_ASSERT_EQUAL(tu_count_op(g, "_copy"), 3);
    am_graph *s = pass(g, "simplify", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "_copy"), 1);
    CU_ASSERT_STRING_EQUAL(s->heads[1].node->op->name, "_copy");
    CU_ASSERT_STRING_EQUAL(s->heads[2].node->op->name, "sin");
    SAME1(g, s, AM_SHAPE(3));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

static void test_simplify_log(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    int swap[] = {1, 0};
    am_array *y = am_transpose(am_transpose(am_mul_scalar(x, 1), swap, 2), swap, 2);
    am_graph *g = graph_of(am_exp(am_reshape(am_flatten(y), AM_SHAPE(3, 2)))), *s = NULL;
    char *log = logged(&s, g, "simplify", false);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "pass simplify: x*1: '_mul_scalar0' (_mul_scalar) "
                                       "becomes 'x'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "pass simplify: transposes that cancel: 'transpose1' "
                                       "(transpose) becomes 'x'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "pass simplify: identity reshape: 'flatten0' (Flatten) "
                                       "becomes 'x'\n"));
    CU_ASSERT_PTR_NULL(strstr(log, "reshape0"));
    CU_ASSERT_EQUAL(s->n_nodes, 3);
    SAME1(g, s, AM_SHAPE(2, 3));
    free(log);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* ---- cse --------------------------------------------------------------------------- */

static void test_cse_merges(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *y = am_add(am_exp(x), am_exp(x));
    am_graph *g = graph_of(y), *s = NULL;
    char *log = logged(&s, g, "cse", false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 3);
    CU_ASSERT_EQUAL(tu_count_op(s, "exp"), 1);
    am_node *add = s->heads[0].node;
    CU_ASSERT_PTR_EQUAL(add->inputs[0].node, add->inputs[1].node);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "pass cse: merged 'exp1' into 'exp0' (exp)\n"));
    SAME1(g, s, AM_SHAPE(2, 3));
    free(log);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Merging cascades: two copies of a whole expression become one. */
static void test_cse_cascade(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3, 4), F32), *w = am_var("w", AM_SHAPE(5, 4), F32);
    am_array *ys[2];
    for (int k = 0; k < 2; k++)
        ys[k] = am_relu(am_plus_scalar(am_fully_connected(x, w, NULL, 5, true, true), 1));
    am_graph *g = am_graph_create(ys, 2);
    CU_ASSERT_EQUAL(g->n_nodes, 8);
    am_graph *s = pass(g, "cse", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 5);
    CU_ASSERT_PTR_EQUAL(s->heads[0].node, s->heads[1].node);
    CU_ASSERT(same_values(g, s, (const char *[]){"x", "w"},
                          (am_array *[]){tu_random(AM_SHAPE(3, 4), F32, -1, 1),
                                         tu_random(AM_SHAPE(5, 4), F32, -1, 1)}, 2, false));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Attributes decide: x*2 twice merges, x*3 and a sum over another axis stay. */
static void test_cse_attributes(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(3, 3), F32);
    am_array *a = am_add(am_mul_scalar(x, 2), am_mul_scalar(x, 2));
    am_array *b = am_add(am_mul_scalar(x, 3), am_sum(x, (int[]){0}, 1, true));
    am_array *c = am_sum(x, (int[]){1}, 1, true);
    am_array *ys[] = {a, b, c};
    am_graph *g = am_graph_create(ys, 3);
    am_graph *s = pass(g, "cse", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "_mul_scalar"), 2);
    CU_ASSERT_EQUAL(tu_count_op(s, "sum"), 2);
    CU_ASSERT_EQUAL(s->n_nodes, g->n_nodes - 1);
    SAME1(g, s, AM_SHAPE(3, 3));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Random ops (Dropout "always", _random_uniform) and ops with auxiliary
 * states (BatchNorm) are never merged. */
static void test_cse_never_merges(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3, 2, 2), F32);
    am_array *d = am_add(am_dropout_at(x, 0.5, "always", AM_HERE),
                         am_dropout_at(x, 0.5, "always", AM_HERE));
    am_array *r = am_add(fill_node("_random_uniform", "shape", "(2, 3, 2, 2)"),
                         fill_node("_random_uniform", "shape", "(2, 3, 2, 2)"));
    am_array *p[4];
    const char *pn[] = {"gamma", "beta", "mean", "var"};
    for (int k = 0; k < 4; k++) p[k] = am_var(pn[k], AM_SHAPE(3), F32);
    am_array *bn = am_add(am_batch_norm(x, p[0], p[1], p[2], p[3], 1e-5, 0.9, false, false, 1),
                          am_batch_norm(x, p[0], p[1], p[2], p[3], 1e-5, 0.9, false, false, 1));
    am_array *ys[] = {d, r, bn};
    am_graph *g = am_graph_create(ys, 3);
    am_graph *s = pass(g, "cse", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Equal small constants merge (and so do the ops that read them); unequal
 * ones and variables do not. */
static void test_cse_constants(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *w1 = am_var("w1", AM_SHAPE(2, 3), F32), *w2 = am_var("w2", AM_SHAPE(2, 3), F32);
    am_array *c1 = tu_array(F32, AM_SHAPE(3), 1, 2, 3), *c2 = tu_array(F32, AM_SHAPE(3), 1, 2, 3);
    am_array *c3 = tu_array(F32, AM_SHAPE(3), 1, 2, 4);
    am_array *y = am_add(am_add(am_mul(x, c1), am_mul(x, c2)), am_mul(x, c3));
    am_array *ys[] = {y, am_add(am_exp(w1), am_exp(w2))};
    am_graph *g = am_graph_create(ys, 2), *s = NULL;
    CU_ASSERT_EQUAL(tu_count_op(g, NULL), 6);
    char *log = logged(&s, g, "cse", false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, NULL), 5);
    CU_ASSERT_EQUAL(tu_count_op(s, "broadcast_mul"), 2);
    CU_ASSERT_EQUAL(tu_count_op(s, "exp"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "merged '_const1' into '_const0' (constant)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "merged 'broadcast_mul1' into 'broadcast_mul0'"));
    CU_ASSERT(same_values(g, s, (const char *[]){"x", "w1", "w2"},
                          (am_array *[]){tu_random(AM_SHAPE(2, 3), F32, -1, 1),
                                         tu_random(AM_SHAPE(2, 3), F32, -1, 1),
                                         tu_random(AM_SHAPE(2, 3), F32, -1, 1)}, 3, false));
    free(log);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* A multi-output node merges output by output. */
static void test_cse_multi_output(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 6), F32);
    am_array *a[3], *b[3];
    CU_ASSERT_EQUAL_FATAL(am_split(x, 3, 1, false, a), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_split(x, 3, 1, false, b), AM_OK);
    am_array *ys[] = {am_sub(a[0], b[2]), am_mul(b[1], a[2])};
    am_graph *g = am_graph_create(ys, 2);
    am_graph *s = pass(g, "cse", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "SliceChannel"), 1);
    am_node *sub = s->heads[0].node;
    CU_ASSERT_EQUAL(sub->inputs[0].index, 0);
    CU_ASSERT_EQUAL(sub->inputs[1].index, 2);
    CU_ASSERT_PTR_EQUAL(sub->inputs[0].node, sub->inputs[1].node);
    SAME1(g, s, AM_SHAPE(4, 6));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* ---- fold ---------------------------------------------------------------------------- */

/* exp(c1) * c2 is computed once; folding cascades through the sweep. */
static void test_fold_basic(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *c1 = am_var("c1", AM_SHAPE(2, 3), F32), *c2 = am_var("c2", AM_SHAPE(3), F32);
    am_graph *traced = graph_of(am_add(x, am_mul(am_exp(c1), c2))), *s = NULL;
    am_graph *g = am_graph_freeze(traced, (const char *[]){"c1", "c2"},
                                  (am_array *[]){tu_random(AM_SHAPE(2, 3), F32, -1, 1),
                                                 tu_random(AM_SHAPE(3), F32, -1, 1)}, 2);
    am_graph_release(traced);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->n_nodes, 6);
    char *log = logged(&s, g, "fold", false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n_nodes, 3);
    CU_ASSERT_EQUAL(tu_count_op(s, NULL), 2);
    CU_ASSERT_EQUAL(tu_count_op(s, "broadcast_add"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "pass fold: folded 'exp0' (exp) into a constant (2, 3) "
                                       "float32\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "pass fold: folded 'broadcast_mul0' (broadcast_mul) "
                                       "into a constant (2, 3) float32\n"));
    SAME1(g, s, AM_SHAPE(2, 3));
    free(log);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Random ops are never folded, even on constants. */
static void test_fold_not_random(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *c = const_node(tu_random(AM_SHAPE(2, 3), F32, -1, 1));
    am_array *y = am_add(am_add(x, am_dropout_at(c, 0.5, "always", AM_HERE)),
                         fill_node("_random_uniform", "shape", "(2, 3)"));
    am_graph *g = graph_of(y);
    am_graph *s = pass(g, "fold", false, NULL);
    CU_ASSERT_PTR_EQUAL(s, g);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Creation ops fold when small (4x4 zeros), not when large (200x200 ones). */
static void test_fold_creation_ops(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 4), F32), *big = am_var("big", AM_SHAPE(200, 200), F32);
    am_array *ys[] = {am_add(x, fill_node("_zeros", "shape", "(4, 4)")),
                      am_add(big, fill_node("_ones", "shape", "(200, 200)"))};
    am_graph *g = am_graph_create(ys, 2);
    am_graph *s = pass(g, "fold", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "_zeros"), 0);
    CU_ASSERT_EQUAL(tu_count_op(s, "_ones"), 1);
    CU_ASSERT(same_values(g, s, (const char *[]){"x", "big"},
                          (am_array *[]){tu_random(AM_SHAPE(4, 4), F32, -1, 1),
                                         tu_random(AM_SHAPE(200, 200), F32, -1, 1)}, 2, false));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* A broadcast that would grow a tiny constant past 64 KiB stays; a small one
 * folds, and so does a large result no bigger than its inputs. */
static void test_fold_size_limits(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(200, 200), F32), *y = am_var("y", AM_SHAPE(10, 10), F32);
    am_array *one = const_node(tu_array(F32, AM_SHAPE(1, 1), 0.5));
    am_array *big = const_node(tu_random(AM_SHAPE(200, 200), F32, -1, 1));
    am_array *ys[] = {am_add(x, am_broadcast_to(one, AM_SHAPE(200, 200))),
                      am_add(y, am_broadcast_to(one, AM_SHAPE(10, 10))),
                      am_add(x, am_transpose(big, NULL, 0))};
    am_graph *g = am_graph_create(ys, 3);
    am_graph *s = pass(g, "fold", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "broadcast_to"), 1);
    CU_ASSERT(am_shape_equal(find_op(s, "broadcast_to")->shapes[0], AM_SHAPE(200, 200)));
    CU_ASSERT_EQUAL(tu_count_op(s, "transpose"), 0);
    CU_ASSERT(same_values(g, s, (const char *[]){"x", "y"},
                          (am_array *[]){tu_random(AM_SHAPE(200, 200), F32, -1, 1),
                                         tu_random(AM_SHAPE(10, 10), F32, -1, 1)}, 2, false));
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* BatchNorm on constants folds for inference; for training it would update
 * its moving statistics, so it stays. */
static void test_fold_aux_states(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3, 2), F32);
    am_array *data = const_node(tu_random(AM_SHAPE(2, 3, 2), F32, -1, 1));
    am_array *gamma = const_node(tu_random(AM_SHAPE(3), F32, 0.5, 1.5));
    am_array *beta = const_node(tu_random(AM_SHAPE(3), F32, -1, 1));
    am_array *mean = const_node(tu_random(AM_SHAPE(3), F32, -1, 1));
    am_array *var = const_node(tu_random(AM_SHAPE(3), F32, 0.5, 2));
    am_array *bn = am_batch_norm(data, gamma, beta, mean, var, 1e-5, 0.9, false, false, 1);
    am_graph *g = graph_of(am_add(x, bn));
    am_graph *t = pass(g, "fold", true, NULL);
    CU_ASSERT_PTR_EQUAL(t, g);
    am_graph *s = pass(g, "fold", false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "BatchNorm"), 0);
    CU_ASSERT_EQUAL(s->n_nodes, 3);
    SAME1(g, s, AM_SHAPE(2, 3, 2));
    am_graph_release(t);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* Each used output of a multi-output node becomes its own constant. */
static void test_fold_multi_output(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 2), F32);
    am_array *c = const_node(tu_array(F32, AM_SHAPE(2, 4), 1, 2, 3, 4, 5, 6, 7, 8)), *p[2];
    CU_ASSERT_EQUAL_FATAL(am_split(c, 2, 1, false, p), AM_OK);
    am_graph *g = graph_of(am_add(am_mul(x, p[0]), p[1])), *s = NULL;
    char *log = logged(&s, g, "fold", false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(tu_count_op(s, "SliceChannel"), 0);
    CU_ASSERT_EQUAL(tu_count_op(s, NULL), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "folded 'slicechannel0' (SliceChannel) into 2 constants"));
    SAME1(g, s, AM_SHAPE(2, 2));
    free(log);
    am_graph_release(s);
    am_graph_release(g);
    am_scope_end();
}

/* ---- the pipeline ---------------------------------------------------------------------- */

static void test_pipeline_order(void)
{
    const char *const *names = am_pass_names();
    int simplify = -1, cse = -1, fold = -1, dce = -1;
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], "simplify") == 0) simplify = i;
        if (strcmp(names[i], "cse") == 0) cse = i;
        if (strcmp(names[i], "fold") == 0) fold = i;
        if (strcmp(names[i], "dce") == 0) dce = i;
    }
    CU_ASSERT_EQUAL(simplify, 0);
    CU_ASSERT(simplify < cse && cse < fold && fold < dce);
}

/* "-cse" turns CSE off while the other passes run, and the log shows it. */
static void test_pipeline_switches(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_array *c = const_node(tu_random(AM_SHAPE(3), F32, -1, 1));
    am_array *y = am_add(am_exp(am_mul_scalar(x, 1)), am_exp(x));
    am_graph *g = graph_of(am_add(y, am_sqrt(am_abs(c))));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    am_graph *off = am_graph_optimize(g, &(am_optimize_opts){.passes = "-cse,-fuse", .log = f});
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(off);
    CU_ASSERT_EQUAL(tu_count_op(off, "exp"), 2);
    CU_ASSERT_EQUAL(tu_count_op(off, "_mul_scalar") + tu_count_op(off, "sqrt"), 0);
    CU_ASSERT_PTR_NULL(strstr(buf, "pass cse"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pass simplify: 1 change"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pass fold: 2 changes"));
    free(buf);
    f = open_memstream(&buf, &len);
    am_graph *on = am_graph_optimize(g, &(am_optimize_opts){.passes = "-fuse", .log = f});
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(on);
    CU_ASSERT_EQUAL(tu_count_op(on, "exp"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pass cse: merged 'exp1' into 'exp0' (exp)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pass cse: 1 change, 8 -> 7 nodes\n"));
    SAME1(g, off, AM_SHAPE(2, 3));
    SAME1(g, on, AM_SHAPE(2, 3));
    free(buf);
    am_graph_release(on);
    am_graph_release(off);
    am_graph_release(g);
    am_scope_end();
}

/* The default pipeline on a frozen inference MLP: Dropout, the transposes
 * and x*1 go, work on the frozen weights is folded, and the values stay. */
static void test_pipeline_mlp(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4, 8), F32);
    am_array *w1 = am_var("w1", AM_SHAPE(8, 16), F32), *w2 = am_var("w2", AM_SHAPE(3, 16), F32);
    am_array *t = am_transpose(am_transpose(am_transpose(w1, NULL, 0), NULL, 0), NULL, 0);
    am_array *h = am_dropout(am_relu(am_fully_connected(x, am_mul_scalar(t, 1), NULL, 16, true,
                                                        true)), 0.5);
    am_array *w = am_reshape(am_exp(am_flatten(w2)), AM_SHAPE(3, 16));
    am_graph *traced = graph_of(am_fully_connected(h, w, NULL, 3, true, true));
    am_graph *g = am_graph_freeze(traced, (const char *[]){"w1", "w2"},
                                  (am_array *[]){tu_random(AM_SHAPE(8, 16), F32, -1, 1),
                                                 tu_random(AM_SHAPE(3, 16), F32, -1, 1)}, 2);
    am_graph_release(traced);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_graph *o = am_graph_optimize(g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    /* x, 2 constants, FullyConnected, and FullyConnected + relu fused */
    CU_ASSERT_EQUAL(o->n_nodes, 5);
    CU_ASSERT_EQUAL(tu_count_op(o, "FullyConnected"), 1);
    CU_ASSERT_EQUAL(tu_count_op(o, "_amber_fused_fc"), 1);
    CU_ASSERT_EQUAL(tu_count_op(o, NULL), 3);
    SAME1(g, o, AM_SHAPE(4, 8));
    am_graph_release(o);
    am_graph_release(g);
    am_scope_end();
}

/* AM_PASSES switches passes for every call; opts.passes applies on top. */
static void test_am_passes_env(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_graph *g = graph_of(am_add(am_exp(x), am_exp(x)));
    setenv("AM_PASSES", "-cse,-fuse", 1);
    am_graph *off = am_graph_optimize(g, NULL);
    am_graph *on = am_graph_optimize(g, &(am_optimize_opts){.passes = "+cse"});
    unsetenv("AM_PASSES");
    CU_ASSERT_PTR_EQUAL(off, g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(on);
    CU_ASSERT_EQUAL(tu_count_op(on, "exp"), 1);
    TU_ASSERT_FAILS(am_graph_optimize(g, &(am_optimize_opts){.passes = "-csee"}), AM_ERR_ARG,
                    "unknown pass 'csee'");
    am_graph_release(on);
    am_graph_release(off);
    am_graph_release(g);
    am_scope_end();
}

/* A pass that changes nothing returns the graph itself and logs nothing. */
static void test_no_change_is_silent(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32);
    am_graph *g = graph_of(am_relu(am_exp(x)));
    const char *names[] = {"simplify", "cse", "fold"};
    for (int k = 0; k < 3; k++) {
        am_graph *s = NULL;
        char *log = logged(&s, g, names[k], false);
        CU_ASSERT_PTR_EQUAL(s, g);
        CU_ASSERT_STRING_EQUAL(log, "");
        free(log);
        am_graph_release(s);
    }
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_pass_basic[] = {
    {"simplify: scalar identities", test_scalar_identities},
    {"simplify: scalar ops that are not identities", test_scalar_non_identities},
    {"simplify: x*ones, x+zeros with constants", test_binary_constants},
    {"simplify: constants that widen or differ stay", test_binary_negative},
    {"simplify: fill ops are known values", test_fill_ops_are_known},
    {"simplify: double transposes", test_double_transpose},
    {"simplify: reshape chains", test_reshape_chain},
    {"simplify: shared intermediate views", test_reshape_shared_intermediate},
    {"simplify: Dropout in inference", test_dropout_inference},
    {"simplify: Dropout with p=0", test_dropout_p0},
    {"simplify: Dropout that must stay", test_dropout_kept},
    {"simplify: identity copies", test_identity_copy},
    {"simplify: log", test_simplify_log},
    {"cse: equal nodes merge", test_cse_merges},
    {"cse: merging cascades", test_cse_cascade},
    {"cse: attributes decide", test_cse_attributes},
    {"cse: random and auxiliary-state ops never merge", test_cse_never_merges},
    {"cse: constants and variables", test_cse_constants},
    {"cse: multi-output nodes", test_cse_multi_output},
    {"fold: cascading folds", test_fold_basic},
    {"fold: random ops stay", test_fold_not_random},
    {"fold: creation ops", test_fold_creation_ops},
    {"fold: size limits", test_fold_size_limits},
    {"fold: auxiliary states in training", test_fold_aux_states},
    {"fold: multi-output nodes", test_fold_multi_output},
    {"pipeline: order", test_pipeline_order},
    {"pipeline: switches and log", test_pipeline_switches},
    {"pipeline: a frozen inference MLP", test_pipeline_mlp},
    {"pipeline: AM_PASSES", test_am_passes_env},
    {"passes that change nothing", test_no_change_is_silent},
    CU_TEST_INFO_NULL,
};
