/* The json suite: MXNet 1.x symbol JSON written byte for byte as MXNet does,
 * read in its current and older spellings, a file read and written back
 * unchanged, and every malformed input refused with a message that names the
 * node and the field. */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../symbol/symbol_impl.h"

/* A whole file as a string (NULL when unreadable); the caller frees it. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

/* Writes g and checks the text equals want; prints the first difference. */
static void assert_json(const am_graph *g, bool origins, const char *want)
{
    char *got = am_graph_to_json_opts(g, origins);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == want[i]) i++;
        printf("\n  JSON differs at byte %zu: got '%.40s' want '%.40s'\n", i, got + i, want + i);
        CU_FAIL("JSON text");
    }
    free(got);
}

static int node_named(const am_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->names[i], name) == 0) return i;
    return -1;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static void test_mlp_fixture(void)
{
    am_scope_begin();
    char *text = read_text("tests/fixtures/mlp-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    am_graph *g = am_graph_load("tests/fixtures/mlp-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 8);
    assert_json(g, true, text);
    const char *args[8];
    CU_ASSERT_EQUAL(am_graph_list_arguments(g, args, 8), 5);
    const char *want[] = {"data", "dense0_weight", "dense0_bias", "dense1_weight", "dense1_bias"};
    for (int i = 0; i < 5; i++) CU_ASSERT_STRING_EQUAL(args[i], want[i]);
    CU_ASSERT_EQUAL(am_graph_list_auxiliary_states(g, args, 8), 0);
    char *outs[2];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_outputs(g, outs, 2), 1);
    CU_ASSERT_STRING_EQUAL(outs[0], "dense1_fwd_output");
    free(outs[0]);
    /* "(64, 0)" has an unknown dimension; "(64,)" is known; "0" is float32. */
    am_node *w = g->nodes[1], *b = g->nodes[2], *fc = g->nodes[3];
    CU_ASSERT(w->shapes[0].ndim == 2 && w->shapes[0].dim[0] == 64 &&
              w->shapes[0].dim[1] == AM_DIM_UNKNOWN && !am_shape_known(&w->shapes[0]));
    CU_ASSERT_STRING_EQUAL(am_node_get_extra(w, "__shape__"), "(64, 0)");
    CU_ASSERT(b->shapes[0].ndim == 1 && b->shapes[0].dim[0] == 64);
    CU_ASSERT_EQUAL(b->dtypes[0], AM_DTYPE_FLOAT32);
    CU_ASSERT_STRING_EQUAL(am_node_get_extra(b, "__init__"), "zeros");
    CU_ASSERT_EQUAL(g->nodes[0]->dtypes[0], AM_DTYPE_COUNT);
    CU_ASSERT_STRING_EQUAL(fc->op->name, "FullyConnected");
    CU_ASSERT_STRING_EQUAL(fc->name, "dense0_fwd");
    CU_ASSERT_EQUAL(fc->attrs_given, 7u); /* num_hidden, no_bias, flatten */
    /* The string reader agrees with the file reader. */
    am_graph *h = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    assert_json(h, true, text);
    am_graph_release(h);
    am_graph_release(g);
    free(text);
    am_scope_end();
}

static void test_lenet_fixture(void)
{
    am_scope_begin();
    char *text = read_text("tests/fixtures/lenet-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    am_graph *g = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 23);
    assert_json(g, true, text);
    const char *args[16];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_arguments(g, args, 16), 11);
    CU_ASSERT_STRING_EQUAL(args[1], "conv0_weight");
    CU_ASSERT_STRING_EQUAL(args[10], "dense2_bias");
    char *outs[2];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_outputs(g, outs, 2), 1);
    CU_ASSERT_STRING_EQUAL(outs[0], "dense2_fwd_output");
    free(outs[0]);
    int c = node_named(g, "conv0_fwd"), p = node_named(g, "pool1_fwd");
    CU_ASSERT_FATAL(c == 3 && p == 10);
    CU_ASSERT_STRING_EQUAL(g->nodes[c]->op->name, "Convolution");
    CU_ASSERT_STRING_EQUAL(g->nodes[p]->op->name, "Pooling");
    CU_ASSERT_EQUAL(node_named(g, "flatten0_flatten0"), 11);
    char buf[64];
    const am_attr_field *f = g->nodes[c]->op->attrs;
    CU_ASSERT_STRING_EQUAL(am_attr_format(&f[0], g->nodes[c]->attrs, buf, sizeof(buf)), "(5, 5)");
    am_graph_release(g);
    free(text);
    am_scope_end();
}

/* The MLP built by tracing, with the attributes Gluon passes marked as given
 * and the hidden attributes Parameter.var() writes, is the fixture exactly.
 * Gluon traces before deferred initialisation, so the shapes it writes are
 * those strings, not the ones inference found here. */
static void gluon_param(am_array *v, const char *shape, bool bias)
{
    am_node *n = v->node;
    n->shapes[0] = (am_shape){.ndim = -1};
    CU_ASSERT_EQUAL(am_node_set_extra(n, "__shape__", shape), AM_OK);
    if (bias) CU_ASSERT_EQUAL(am_node_set_extra(n, "__init__", "zeros"), AM_OK);
    am_node_set_extra(n, "__lr_mult__", "1.0");
    am_node_set_extra(n, "__wd_mult__", "1.0");
    am_node_set_extra(n, "__storage_type__", "0");
}

static am_array *gluon_dense(am_array *x, const char *prefix, int units, bool relu)
{
    char name[64];
    snprintf(name, sizeof(name), "%sweight", prefix);
    am_array *w = am_var(name, (am_shape){.ndim = -1}, AM_DTYPE_FLOAT32);
    snprintf(name, sizeof(name), "%sbias", prefix);
    am_array *b = am_var(name, AM_SHAPE(units), AM_DTYPE_FLOAT32);
    am_array *y = am_fully_connected(x, w, b, units, false, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    snprintf(name, sizeof(name), "(%d, 0)", units);
    gluon_param(w, name, false);
    snprintf(name, sizeof(name), "(%d,)", units);
    gluon_param(b, name, true);
    b->node->shapes[0] = AM_SHAPE(units);
    CU_ASSERT_EQUAL(am_node_mark_given(y->node, "flatten"), AM_OK);
    CU_ASSERT_EQUAL(am_node_mark_given(y->node, "no_bias"), AM_OK);
    snprintf(name, sizeof(name), "%sfwd", prefix);
    y->node->name = strdup(name);
    if (!relu) return y;
    am_array *r = am_activation(y, "relu");
    CU_ASSERT_EQUAL(am_node_mark_given(r->node, "act_type"), AM_OK);
    snprintf(name, sizeof(name), "%srelu_fwd", prefix);
    r->node->name = strdup(name);
    return r;
}

static void test_traced_mlp_is_the_fixture(void)
{
    am_scope_begin();
    char *text = read_text("tests/fixtures/mlp-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    am_array *x = am_var("data", AM_SHAPE(32, 784), AM_DTYPE_FLOAT32);
    am_array *y = gluon_dense(gluon_dense(x, "dense0_", 64, true), "dense1_", 10, false);
    /* Gluon's data variable carries no shape. */
    x->node->shapes[0] = (am_shape){.ndim = -1};
    x->node->dtypes[0] = AM_DTYPE_COUNT;
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    assert_json(g, false, text);
    /* With origins, op nodes say where they were traced. */
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"__origin__\": \"test_json.c:"));
    free(json);
    TU_ASSERT_FAILS(am_node_mark_given(y->node, "colour") == AM_OK, AM_ERR_ARG, "no attribute 'colour'");
    am_graph_release(g);
    free(text);
    am_scope_end();
}

/* ---- round trips of traced graphs ------------------------------------------------------- */

static am_array *call(const char *op, am_array *const *in, int n_in, const char *attrs)
{
    const char *keys[16], *vals[16];
    char buf[512];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", attrs);
    for (char *save = NULL, *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        keys[n] = kv;
        vals[n++] = eq + 1;
    }
    am_array *out[4] = {NULL};
    am_status st = am_invoke(op, in, n_in, keys, vals, n, out, 1);
    if (st != AM_OK) printf("\n  %s failed: %s\n", op, am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    return out[0];
}

/* Same ops, names, inputs and attribute values. */
static void assert_same_graph(const am_graph *a, const am_graph *b)
{
    CU_ASSERT_EQUAL_FATAL(a->n_nodes, b->n_nodes);
    for (int i = 0; i < a->n_nodes; i++) {
        const am_node *x = a->nodes[i], *y = b->nodes[i];
        CU_ASSERT_STRING_EQUAL(a->names[i], b->names[i]);
        CU_ASSERT_PTR_EQUAL(x->op, y->op);
        CU_ASSERT_EQUAL_FATAL(x->n_in, y->n_in);
        for (int k = 0; k < x->n_in; k++) {
            CU_ASSERT_EQUAL(am_graph_index(a, x->inputs[k].node), am_graph_index(b, y->inputs[k].node));
            CU_ASSERT_EQUAL(x->inputs[k].index, y->inputs[k].index);
        }
        if (!x->op) {
            CU_ASSERT_EQUAL(x->shapes[0].ndim, y->shapes[0].ndim);
            CU_ASSERT_EQUAL(x->dtypes[0], y->dtypes[0]);
            continue;
        }
        for (const am_attr_field *f = x->op->attrs; f && f->name; f++) {
            char p[256], q[256];
            am_attr_format(f, x->attrs, p, sizeof(p));
            am_attr_format(f, y->attrs, q, sizeof(q));
            if (strcmp(p, q) != 0) printf("\n  %s.%s: %s != %s\n", x->op->name, f->name, p, q);
            CU_ASSERT_STRING_EQUAL(p, q);
        }
    }
}

static void round_trip(am_array *const *heads, int n)
{
    am_graph *g = am_graph_create(heads, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    am_graph *h = am_graph_from_json(json);
    if (!h) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    assert_same_graph(g, h);
    assert_json(h, true, json);
    free(json);
    am_graph_release(h);
    am_graph_release(g);
}

static void test_round_trip_op_families(void)
{
    am_scope_begin();
    am_array *x = am_var("data", AM_SHAPE(2, 3, 8, 8), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(4, 3, 3, 3), AM_DTYPE_FLOAT32);
    am_array *c = call("Convolution", (am_array *[]){x, w}, 2,
                       "kernel=(3, 3);num_filter=4;no_bias=True;pad=[1,1];layout=NCHW;"
                       "stride=(1, 1);cudnn_tune=fastest");
    am_array *p = call("Pooling", &c, 1, "kernel=(2, 2);pool_type=avg;stride=[2,2];"
                       "count_include_pad=False;pooling_convention=full;global_pool=0");
    am_shape unk = {.ndim = -1};
    am_array *bn = am_batch_norm(p, am_var("g", unk, AM_DTYPE_COUNT),
                                 am_var("b", unk, AM_DTYPE_COUNT), am_var("mm", unk, AM_DTYPE_COUNT),
                                 am_var("mv", unk, AM_DTYPE_COUNT), 1e-5, 0.95, false, false, 1);
    am_array *d = call("Dropout", &bn, 1, "p=0.25;axes=(2, 3)");
    am_array *l = call("LeakyReLU", &d, 1, "act_type=elu;slope=0.3");
    am_array *s = call("slice", &l, 1, "begin=(0, None);end=(None, 3)");
    am_array *r = call("Reshape", &s, 1, "shape=(0, -1)");
    am_array *sm = call("softmax", &r, 1, "axis=-1;temperature=2.5");
    am_array *sum = call("sum", &sm, 1, "axis=(1,);keepdims=true");
    am_array *ps = call("_plus_scalar", &sum, 1, "scalar=0.125");
    am_array *cat = call("Concat", (am_array *[]){ps, ps, sum}, 3, "num_args=3;dim=1");
    am_array *ids = am_var("ids", AM_SHAPE(5), AM_DTYPE_INT32);
    am_array *e = call("Embedding", (am_array *[]){ids, am_var("ew", unk, AM_DTYPE_COUNT)}, 2,
                       "input_dim=10;output_dim=4;dtype=float64");
    am_array *t = call("transpose", &e, 1, "axes=(1, 0)");
    round_trip((am_array *[]){cat, t}, 2);
    /* A constant captured while tracing is written as a variable. */
    am_array *k = am_mul(ids, tu_array(AM_DTYPE_INT32, AM_SHAPE(5), 1, 2, 3, 4, 5));
    round_trip(&k, 1);
    am_scope_end();
}

/* BatchNorm has 3 outputs (1 visible), Dropout 2: node_row_ptr counts them,
 * and an entry may refer to a hidden output. */
static void test_hidden_outputs(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_dropout(x, 0.5);
    am_graph *g = am_graph_create(&y, 1);
    char *json = am_graph_to_json_opts(g, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"node_row_ptr\": [0, 1, 3], "));
    free(json);
    am_graph_release(g);
    const char *mask =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
        " {\"op\": \"Dropout\", \"name\": \"d\", \"inputs\": [[0, 0]]}],"
        " \"arg_nodes\": [0], \"heads\": [[1, 1]]}";
    g = am_graph_from_json(mask);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->heads[0].index, 1);
    am_graph_release(g);
    am_scope_end();
}

/* More than 10 inputs go one per line; names are escaped as dmlc does. */
static void test_formatting_details(void)
{
    am_scope_begin();
    am_array *xs[11];
    char name[16];
    for (int i = 0; i < 11; i++) {
        snprintf(name, sizeof(name), "x%d", i);
        xs[i] = am_var(name, AM_SHAPE(1), AM_DTYPE_FLOAT32);
    }
    am_array *c = am_concat(xs, 11, 0);
    am_graph *g = am_graph_create(&c, 1);
    char *json = am_graph_to_json_opts(g, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"inputs\": [\n        [0, 0, 0], \n        [1, 0, 0], "));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "[10, 0, 0]\n      ]\n    }"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"attrs\": {\n        \"dim\": \"0\", \n"
                                        "        \"num_args\": \"11\"\n      }, \n"));
    free(json);
    am_graph_release(g);

    am_array *q = am_var("a\"b\\c\nd\x01", AM_SHAPE(2), AM_DTYPE_INT64);
    am_array *y = am_relu(q);
    g = am_graph_create(&y, 1);
    json = am_graph_to_json_opts(g, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\": \"a\\\"b\\\\c\\nd\\u0001\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"__dtype__\": \"6\""));
    am_graph *h = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_STRING_EQUAL(h->names[0], "a\"b\\c\nd\x01");
    CU_ASSERT_EQUAL(h->nodes[0]->dtypes[0], AM_DTYPE_INT64);
    free(json);
    am_graph_release(h);
    am_graph_release(g);
    am_scope_end();
}

/* ---- older spellings ---------------------------------------------------------------------- */

static void test_legacy_spellings(void)
{
    am_scope_begin();
    const char *old =
        "{\"nodes\": ["
        " {\"op\": \"null\", \"name\": \"data\", \"param\": {}, \"inputs\": [],"
        "  \"backward_source_id\": -1},"
        " {\"op\": \"null\", \"name\": \"w\", \"attr\": {\"__shape__\": \"[4,6]\", \"lr_mult\": \"2\"},"
        "  \"inputs\": []},"
        " {\"op\": \"flatten\", \"name\": \"f\", \"inputs\": [[0, 0]], \"control_deps\": []},"
        " {\"op\": \"FullyConnected\", \"name\": \"fc\", \"param\": {\"num_hidden\": \"4\"},"
        "  \"attr\": {\"no_bias\": \"1\", \"flatten\": \"true\", \"ctx_group\": \"dev1\"},"
        "  \"inputs\": [[2, 0], [1, 0]], \"subgraphs\": []},"
        " {\"op\": \"Pooling\", \"name\": \"p\", \"attrs\": {\"kernel\": \"[3,3]\","
        "  \"p_value\": \"None\", \"global_pool\": \"true\", \"stride\": \"2L\"},"
        "  \"inputs\": [[0, 0, 0]]}],"
        " \"arg_nodes\": [0, 1], \"heads\": [[3, 0], [4, 0]]}";
    am_graph *g = am_graph_from_json(old);
    if (!g) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int f = node_named(g, "f"), fc = node_named(g, "fc"), w = node_named(g, "w");
    CU_ASSERT_FATAL(f >= 0 && fc >= 0 && w >= 0);
    CU_ASSERT_STRING_EQUAL(g->nodes[f]->op->name, "Flatten");
    CU_ASSERT(g->nodes[w]->shapes[0].ndim == 2 && g->nodes[w]->shapes[0].dim[1] == 6);
    CU_ASSERT_STRING_EQUAL(am_node_get_extra(g->nodes[w], "__lr_mult__"), "2");
    CU_ASSERT_STRING_EQUAL(am_node_get_extra(g->nodes[fc], "__ctx_group__"), "dev1");
    /* Written back as read, in dmlc's layout: every map, key, spelling and
     * entry as the file had them.  Only the indices move: the file lists w
     * before f, the graph (DFS from the heads, as MXNet orders nodes) f
     * first, so arg_nodes is recomputed. */
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"param\": {\"num_hidden\": \"4\"}, \n"
                                        "      \"attr\": {\n        \"no_bias\": \"1\", \n"
                                        "        \"flatten\": \"true\", \n"
                                        "        \"ctx_group\": \"dev1\"\n      }, \n"
                                        "      \"inputs\": [[1, 0], [2, 0]], \n"
                                        "      \"subgraphs\": []\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"backward_source_id\": -1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"op\": \"flatten\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"kernel\": \"[3,3]\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"stride\": \"2L\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"lr_mult\": \"2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"control_deps\": []"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"heads\": [[3, 0], [4, 0]]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"arg_nodes\": [0, 2]"));
    CU_ASSERT_PTR_NULL(strstr(json, "node_row_ptr"));
    free(json);
    /* A graph built from it is Amber's own: MXNet 1.9's spelling. */
    am_graph *d = am_graph_from_heads(g->heads, g->n_heads);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    json = am_graph_to_json(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"flatten\": \"True\", \n        \"no_bias\": \"True\", "));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"kernel\": \"(3, 3)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"stride\": \"(2,)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"p_value\": \"None\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"__shape__\": \"(4, 6)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"__lr_mult__\": \"2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"op\": \"Flatten\""));
    CU_ASSERT_PTR_NULL(strstr(json, "\"param\""));
    CU_ASSERT_PTR_NULL(strstr(json, "backward_source_id"));
    free(json);
    am_graph_release(d);
    am_graph_release(g);

    /* Numpy shape semantics: -1 is unknown, 0 a real size, () a scalar. */
    const char *np =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"a\", \"attrs\": {\"__shape__\": \"(0, 3)\"},"
        " \"inputs\": []}, {\"op\": \"null\", \"name\": \"b\", \"attrs\": {\"__shape__\": \"()\"},"
        " \"inputs\": []}, {\"op\": \"null\", \"name\": \"c\", \"attrs\": {\"__shape__\": \"(-1, 3)\"},"
        " \"inputs\": []}], \"arg_nodes\": [0, 1, 2], \"heads\": [[0, 0], [1, 0], [2, 0]],"
        " \"attrs\": {\"mxnet_version\": [\"int\", 20000], \"is_np_shape\": [\"int\", 1]}}";
    g = am_graph_from_json(np);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(g->nodes[0]->shapes[0].ndim == 2 && g->nodes[0]->shapes[0].dim[0] == 0);
    CU_ASSERT_EQUAL(g->nodes[1]->shapes[0].ndim, 0);
    CU_ASSERT(g->nodes[2]->shapes[0].ndim == 2 && g->nodes[2]->shapes[0].dim[0] == AM_DIM_UNKNOWN &&
              g->nodes[2]->shapes[0].dim[1] == 3);
    am_graph_release(g);
    am_scope_end();
}

/* Names come from the file; two op nodes that share one are told apart, a
 * node without a name gets one, and nodes no head needs are dropped. */
static void test_names_on_load(void)
{
    am_scope_begin();
    const char *s =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
        " {\"op\": \"relu\", \"name\": \"same\", \"inputs\": [[0, 0, 0]]},"
        " {\"op\": \"relu\", \"name\": \"same\", \"inputs\": [[1, 0, 0]]},"
        " {\"op\": \"relu\", \"name\": \"\", \"inputs\": [[2, 0, 0]]},"
        " {\"op\": \"relu\", \"name\": \"dead\", \"inputs\": [[0, 0, 0]]}],"
        " \"arg_nodes\": [0], \"node_row_ptr\": [0, 9, 9, 9, 9, 9], \"heads\": [[3, 0, 0]]}";
    am_graph *g = am_graph_from_json(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_num_nodes(g), 4);
    CU_ASSERT_STRING_EQUAL(g->names[1], "same");
    CU_ASSERT_STRING_EQUAL(g->names[2], "same0");
    CU_ASSERT_STRING_EQUAL(g->names[3], "relu0");
    CU_ASSERT_EQUAL(node_named(g, "dead"), -1);
    /* Written back with the file's names; the dropped node shifts the
     * indices, so node_row_ptr and arg_nodes are recomputed. */
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"node_row_ptr\": [0, 1, 2, 3, 4]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\": \"same\", \n      \"inputs\": [[1, 0, 0]]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\": \"\", "));
    CU_ASSERT_PTR_NULL(strstr(json, "same0"));
    CU_ASSERT_PTR_NULL(strstr(json, "dead"));
    am_graph *h = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_STRING_EQUAL(h->names[2], "same0");
    assert_json(h, true, json);
    am_graph_release(h);
    free(json);
    am_graph_release(g);
    am_scope_end();
}


/* ---- round trips of files: what Amber only reads, it writes back unchanged --------------- */

/* Every symbol file of tests/fixtures and tests/fixtures/json: written by
 * MXNet 1.9.1 (Gluon exports, sym.save of spellings Amber's own writer
 * changes, a BatchNorm applied twice: entry versions 1 and 2) or by hand in
 * MXNet 0.8's layout.  Each comes back byte for byte, from the string and
 * through a file. */
static void test_fixtures_round_trip(void)
{
    static const char *const dirs[] = {"tests/fixtures", "tests/fixtures/json"};
    char path[512], out[64];
    int files = 0;
    char dir[] = "/tmp/amber-json-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/out-symbol.json", dir);
    for (int k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        for (struct dirent *e; (e = readdir(d));) {
            size_t len = strlen(e->d_name);
            if (len < 12 || strcmp(e->d_name + len - 12, "-symbol.json") != 0) continue;
            snprintf(path, sizeof(path), "%s/%s", dirs[k], e->d_name);
            am_scope_begin();
            char *text = read_text(path);
            CU_ASSERT_PTR_NOT_NULL_FATAL(text);
            am_graph *g = am_graph_load(path);
            if (!g) printf("\n  %s: %s\n", path, am_last_error());
            CU_ASSERT_PTR_NOT_NULL_FATAL(g);
            assert_json(g, true, text);
            CU_ASSERT_EQUAL(am_graph_save(g, out), AM_OK);
            char *back = read_text(out);
            CU_ASSERT_FATAL(back != NULL);
            if (strcmp(back, text) != 0) printf("\n  %s changed on its way through a file\n", path);
            CU_ASSERT_STRING_EQUAL(back, text);
            free(back), free(text);
            am_graph_release(g);
            am_scope_end();
            files++;
        }
        closedir(d);
    }
    CU_ASSERT(files >= 6);
    unlink(out);
    rmdir(dir);
}

/* What the MXNet 1.9.1 file says and Amber's canonical writer would not: two
 * nodes named "same", "1"/"0" for booleans, "0" for the axis tuple (0,),
 * "3" for a float, and node_row_ptr with MKLDNN's two outputs of Pooling. */
static void test_mxnet_spellings_kept(void)
{
    am_scope_begin();
    const char *path = "tests/fixtures/json/mxnet191_spellings-symbol.json";
    char *text = read_text(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    am_graph *g = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    /* Inside, names are unique, so lookups by name work. */
    CU_ASSERT_STRING_EQUAL(g->names[1], "same");
    CU_ASSERT_STRING_EQUAL(g->names[2], "same0");
    assert_json(g, true, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"scalar\": \"3\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"no_bias\": \"1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"axis\": \"0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"node_row_ptr\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]"));
    /* A graph passes or composition build is new: written canonically. */
    am_graph *d = am_graph_from_heads_named(g->heads, g->n_heads, g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    char *json = am_graph_to_json(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"scalar\": \"3.0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"no_bias\": \"True\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"axis\": \"(0,)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\": \"same0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"node_row_ptr\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"));
    free(json);
    am_graph_release(d);
    am_graph_release(g);

    /* Entry versions: Gluon's BatchNorm applied twice reads its moving
     * statistics at versions 1 and 2. */
    text = (free(text), read_text("tests/fixtures/json/mxnet191_bn_twice-symbol.json"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[3, 0, 2], [4, 0, 2]"));
    g = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    assert_json(g, true, text);
    d = am_graph_from_heads(g->heads, g->n_heads);
    json = am_graph_to_json(d);
    CU_ASSERT_PTR_NULL(strstr(json, ", 2]"));
    free(json);
    am_graph_release(d);
    am_graph_release(g);
    free(text);
    am_scope_end();
}

/* MXNet 0.8's layout: "param" and "attr" maps, "backward_source_id", entries
 * of two elements, no node_row_ptr or graph attrs, "lr_mult" without
 * underscores, an op alias and an empty name.  MXNet 1.9.1 loads this file.
 * A byte-exact round trip keeps all of it as read (MXNet would upgrade it to
 * 1.9's layout; a graph built from it is written that way). */
static void test_old_mxnet_kept(void)
{
    am_scope_begin();
    const char *path = "tests/fixtures/json/mxnet08_legacy-symbol.json";
    char *text = read_text(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    am_graph *g = am_graph_from_json(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    assert_json(g, true, text);
    int w = node_named(g, "conv_weight"), pool = node_named(g, "pooling0");
    CU_ASSERT_FATAL(w >= 0 && pool >= 0);
    CU_ASSERT_STRING_EQUAL(am_node_get_extra(g->nodes[w], "__lr_mult__"), "2");
    /* Inside, the flatten (the second "relu") and the nameless pooling get
     * names of their own; the file's names are what is written. */
    CU_ASSERT_EQUAL(node_named(g, "relu"), 3);
    CU_ASSERT_EQUAL(pool, 4);
    CU_ASSERT_STRING_EQUAL(g->names[5], "relu0");
    am_graph *d = am_graph_from_heads(g->heads, g->n_heads);
    char *json = am_graph_to_json(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"__wd_mult__\": \"0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"kernel\": \"(3, 3)\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"attrs\": {\"mxnet_version\": [\"int\", 10901]}"));
    CU_ASSERT_PTR_NULL(strstr(json, "\"param\""));
    free(json);
    am_graph_release(d);
    am_graph_release(g);
    free(text);
    am_scope_end();
}

/* What changed since reading is written anew, the rest as read: inference
 * gives the variable x its shape and dtype (an "attrs" map appears after its
 * name); w's shape, known from the file, keeps its spelling "(4,3)" and gains
 * its dtype in sorted position. */
static void test_changed_attributes(void)
{
    am_scope_begin();
    const char *doc =
        "{\n"
        "  \"nodes\": [\n"
        "    {\n"
        "      \"op\": \"null\", \n"
        "      \"name\": \"x\", \n"
        "      \"inputs\": []\n"
        "    }, \n"
        "    {\n"
        "      \"op\": \"null\", \n"
        "      \"name\": \"w\", \n"
        "      \"attrs\": {\n"
        "        \"__shape__\": \"(4,3)\", \n"
        "        \"__wd_mult__\": \"1.0\"\n"
        "      }, \n"
        "      \"inputs\": []\n"
        "    }, \n"
        "    {\n"
        "      \"op\": \"FullyConnected\", \n"
        "      \"name\": \"fc\", \n"
        "      \"attrs\": {\n"
        "        \"num_hidden\": \"4\", \n"
        "        \"no_bias\": \"1\"\n"
        "      }, \n"
        "      \"inputs\": [[0, 0, 0], [1, 0, 0]]\n"
        "    }\n"
        "  ], \n"
        "  \"arg_nodes\": [0, 1], \n"
        "  \"node_row_ptr\": [0, 1, 2, 3], \n"
        "  \"heads\": [[2, 0, 0]], \n"
        "  \"attrs\": {\"mxnet_version\": [\"int\", 10600]}\n"
        "}";
    am_graph *g = am_graph_from_json(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    assert_json(g, true, doc);
    CU_ASSERT_EQUAL_FATAL(am_graph_infer(g, (const char *[]){"x"}, (am_shape[]){AM_SHAPE(2, 3)},
                                         (am_dtype[]){AM_DTYPE_FLOAT32}, 1), AM_OK);
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\": \"x\", \n      \"attrs\": {\n"
                                        "        \"__dtype__\": \"0\", \n"
                                        "        \"__shape__\": \"(2, 3)\"\n      }, \n"
                                        "      \"inputs\": []"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"attrs\": {\n        \"__dtype__\": \"0\", \n"
                                        "        \"__shape__\": \"(4,3)\", \n"
                                        "        \"__wd_mult__\": \"1.0\"\n      }"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"num_hidden\": \"4\", \n        \"no_bias\": \"1\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"attrs\": {\"mxnet_version\": [\"int\", 10600]}"));
    /* The text written is read and written again unchanged. */
    am_graph *h = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    assert_json(h, true, json);
    am_graph_release(h);
    free(json);
    am_graph_release(g);
    am_scope_end();
}

/* A file in another layout (one line, as json.dumps writes) keeps its
 * content and key order but takes dmlc's layout; that text is then a fixed
 * point. */
static void test_other_layout(void)
{
    am_scope_begin();
    const char *doc =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}, {\"name\": \"r\","
        " \"op\": \"Activation\", \"attrs\": {\"act_type\": \"relu\", \"__k__\": \"v\"},"
        " \"inputs\": [[0, 0, 7]]}], \"heads\": [[1, 0, 0]], \"arg_nodes\": [0],"
        " \"attrs\": {\"mxnet_version\": [\"int\", 10901], \"list\": [\"list_int\", [1, 2]]}}";
    const char *want =
        "{\n"
        "  \"nodes\": [\n"
        "    {\n"
        "      \"op\": \"null\", \n"
        "      \"name\": \"x\", \n"
        "      \"inputs\": []\n"
        "    }, \n"
        "    {\n"
        "      \"name\": \"r\", \n"
        "      \"op\": \"Activation\", \n"
        "      \"attrs\": {\n"
        "        \"act_type\": \"relu\", \n"
        "        \"__k__\": \"v\"\n"
        "      }, \n"
        "      \"inputs\": [[0, 0, 7]]\n"
        "    }\n"
        "  ], \n"
        "  \"heads\": [[1, 0, 0]], \n"
        "  \"arg_nodes\": [0], \n"
        "  \"attrs\": {\n"
        "    \"mxnet_version\": [\"int\", 10901], \n"
        "    \"list\": [\"list_int\", [1, 2]]\n"
        "  }\n"
        "}";
    am_graph *g = am_graph_from_json(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    assert_json(g, true, want);
    am_graph *h = am_graph_from_json(want);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    assert_json(h, true, want);
    am_graph_release(h);
    am_graph_release(g);
    am_scope_end();
}

/* ---- errors --------------------------------------------------------------------------------- */

typedef struct bad_case {
    const char *nodes; /* the "nodes" array's body, or a whole document when it starts with '!' */
    const char *heads;
    am_status code;
    const char *msg;
} bad_case;

#define X "{\"op\": \"null\", \"name\": \"x\", \"inputs\": []}"
#define FC(attrs, ins) \
    "{\"op\": \"FullyConnected\", \"name\": \"fc\", \"attrs\": {" attrs "}, \"inputs\": [" ins "]}"

static const bad_case bad_cases[] = {
    {"!{\"nodes\": [", NULL, AM_ERR_FORMAT, "symbol JSON: not JSON: line 1"},
    {"![1, 2]", NULL, AM_ERR_FORMAT, "the top level is an array, not an object"},
    {"!{\"arg_nodes\": [], \"heads\": []}", NULL, AM_ERR_FORMAT, "\"nodes\" is missing"},
    {"!{\"nodes\": {}, \"arg_nodes\": [], \"heads\": []}", NULL, AM_ERR_FORMAT,
     "\"nodes\" is an object, not an array"},
    {"!{\"nodes\": [" X "], \"heads\": [[0, 0]]}", NULL, AM_ERR_FORMAT, "\"arg_nodes\" is missing"},
    {"!{\"nodes\": [" X "], \"arg_nodes\": [0]}", NULL, AM_ERR_FORMAT, "\"heads\" is missing"},
    {"!{\"nodes\": [" X "], \"arg_nodes\": [0], \"heads\": []}", NULL, AM_ERR_FORMAT,
     "\"heads\" is empty"},
    {"!{\"nodes\": [" X "], \"arg_nodes\": [1], \"heads\": [[0, 0]]}", NULL, AM_ERR_FORMAT,
     "arg_nodes[0] is not a node index"},
    {"!{\"nodes\": [" X "], \"arg_nodes\": [0], \"node_row_ptr\": 3, \"heads\": [[0, 0]]}", NULL,
     AM_ERR_FORMAT, "\"node_row_ptr\" is an integer, not an array"},
    {"!{\"nodes\": [" X "], \"arg_nodes\": [0], \"heads\": [[0, 0]], \"attrs\": []}", NULL,
     AM_ERR_FORMAT, "\"attrs\" is an array, not an object"},
    {"!{\"nodes\": [" X "], \"arg_nodes\": [0], \"heads\": [[0, 0]], \"attrs\": "
     "{\"is_np_shape\": 1}}", NULL, AM_ERR_FORMAT, "\"is_np_shape\" is not [\"int\", n]"},
    {"!{\"nodes\": [" X "], \"nodes\": [], \"arg_nodes\": [0], \"heads\": [[0, 0]]}", NULL,
     AM_ERR_FORMAT, "duplicate object key"},
    {"[1, 2]", "[1, 0]", AM_ERR_FORMAT, "node 0 is an array, not an object"},
    {"7", "[0, 0]", AM_ERR_FORMAT, "node 0 is an integer, not an object"},
    {"{\"name\": \"x\", \"inputs\": []}", "[0, 0]", AM_ERR_FORMAT,
     "node 0 ('x'): \"op\" is missing, not a string"},
    {"{\"op\": \"null\", \"name\": 3, \"inputs\": []}", "[0, 0]", AM_ERR_FORMAT,
     "node 0: \"name\" is an integer, not a string"},
    {"{\"op\": \"null\", \"name\": \"x\"}", "[0, 0]", AM_ERR_FORMAT,
     "node 0 ('x'): \"inputs\" is missing, not an array"},
    {"{\"op\": \"null\", \"name\": \"\", \"inputs\": []}", "[0, 0]", AM_ERR_FORMAT,
     "node 0 (''): a variable has an empty name"},
    {X ", {\"op\": \"null\", \"name\": \"y\", \"inputs\": [[0, 0]]}", "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('y'): a variable (op \"null\") has inputs"},
    {X ", {\"op\": \"Frobnicate\", \"name\": \"y\", \"inputs\": [[0, 0]]}", "[1, 0]",
     AM_ERR_UNKNOWN_OP, "node 1 ('y'): unknown op 'Frobnicate'"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[1, 0]]}", "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('y'): inputs[0] refers to node 1, which does not come before it"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[2, 0]]}, "
     "{\"op\": \"relu\", \"name\": \"z\", \"inputs\": [[1, 0]]}", "[2, 0]", AM_ERR_FORMAT,
     "node 1 ('y'): inputs[0] refers to node 2, which does not come before it (a cycle"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[0, 1]]}", "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('y'): inputs[0] refers to output 1 of node 0 ('x'), which has 1"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[0]]}", "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('y'): inputs[0] is an array of the wrong length"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[0, -1]]}", "[1, 0]", AM_ERR_FORMAT,
     "inputs[0] holds something other than non-negative integers"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [\"0\"]}", "[1, 0]", AM_ERR_FORMAT,
     "inputs[0] is a string, not an entry"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[0, 0]], \"subgraphs\": [{}]}",
     "[1, 0]", AM_ERR_FORMAT, "node 1 ('y'): relu runs no subgraphs"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"inputs\": [[0, 0]], \"control_deps\": 1}",
     "[1, 0]", AM_ERR_FORMAT, "node 1 ('y'): \"control_deps\" is an integer, not an array"},
    {X, "[5, 0]", AM_ERR_FORMAT, "heads[0] refers to node 5, which does not exist"},
    {X, "[0, 2]", AM_ERR_FORMAT, "heads[0] refers to output 2 of node 0 ('x'), which has 1"},
    {X ", " X, "[0, 0]", AM_ERR_FORMAT, "nodes 0 and 1 are both variables named 'x'"},
    {X ", {\"op\": \"null\", \"name\": \"w\", \"inputs\": []}, " FC("\"num_hidden\": \"4\","
     "\"no_bias\": \"maybe\"", "[0, 0], [1, 0]"), "[2, 0]", AM_ERR_FORMAT,
     "node 2 ('fc'): FullyConnected: attribute no_bias='maybe' is not True or False"},
    {X ", " FC("\"num_hidden\": \"4\", \"colour\": \"red\"", "[0, 0]"), "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('fc'): FullyConnected: unknown attribute 'colour'"},
    {X ", " FC("\"no_bias\": \"True\"", "[0, 0], [0, 0]"), "[1, 0]", AM_ERR_FORMAT,
     "required attribute 'num_hidden' is missing"},
    {X ", " FC("\"num_hidden\": 4", "[0, 0]"), "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('fc'): attribute \"num_hidden\" is an integer, not a string"},
    {X ", " FC("\"num_hidden\": \"4\"", "[0, 0], [0, 0]"), "[1, 0]", AM_ERR_FORMAT,
     "node 1 ('fc'): FullyConnected takes 3 inputs with these attributes, but \"inputs\" lists 2"},
    {X ", {\"op\": \"relu\", \"name\": \"y\", \"attr\": [], \"inputs\": [[0, 0]]}", "[1, 0]",
     AM_ERR_FORMAT, "node 1 ('y'): \"attr\" is an array, not an object"},
    {"{\"op\": \"null\", \"name\": \"x\", \"attrs\": {\"__shape__\": \"(2, x)\"}, \"inputs\": []}",
     "[0, 0]", AM_ERR_FORMAT, "node 0 ('x'): __shape__ '(2, x)' is not a shape"},
    {"{\"op\": \"null\", \"name\": \"x\", \"attrs\": {\"__shape__\": \"(1,2,3,4,5,6,7,8,9,10,11,"
     "12,13)\"}, \"inputs\": []}", "[0, 0]", AM_ERR_FORMAT, "__shape__ '(1,2,3"},
    {"{\"op\": \"null\", \"name\": \"x\", \"attrs\": {\"__shape__\": \"(4294967296, 4294967296, "
     "4294967296)\"}, \"inputs\": []}", "[0, 0]", AM_ERR_FORMAT, "is not a shape"},
    {"{\"op\": \"null\", \"name\": \"x\", \"attrs\": {\"__shape__\": \"(2, -3)\"}, \"inputs\": []}",
     "[0, 0]", AM_ERR_FORMAT, "__shape__ '(2, -3)'"},
    {"{\"op\": \"null\", \"name\": \"x\", \"attrs\": {\"__dtype__\": \"float32\"}, \"inputs\": []}",
     "[0, 0]", AM_ERR_FORMAT, "node 0 ('x'): __dtype__ 'float32' is not an MXNet type flag"},
};

static void test_errors(void)
{
    am_scope_begin();
    char doc[2048];
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *c = &bad_cases[i];
        if (c->nodes[0] == '!') snprintf(doc, sizeof(doc), "%s", c->nodes + 1);
        else snprintf(doc, sizeof(doc), "{\"nodes\": [%s], \"arg_nodes\": [], \"heads\": [%s]}",
                      c->nodes, c->heads);
        am_clear_error();
        am_graph *g = am_graph_from_json(doc);
        bool ok = !g && am_last_status() == c->code && strstr(am_last_error(), c->msg);
        if (!ok)
            printf("\n  case %zu: got %s '%s'\n", i, am_status_name(am_last_status()),
                   am_last_error());
        CU_ASSERT(ok);
        am_graph_release(g);
    }
    TU_ASSERT_FAILS(am_graph_from_json(NULL), AM_ERR_ARG, "NULL");
    TU_ASSERT_FAILS(am_graph_to_json(NULL), AM_ERR_ARG, "NULL");
    am_scope_end();
}

/* More nodes than anyone needs is refused before any node is built. */
static void test_too_many_nodes(void)
{
    size_t n = 1000001, len = n * 2 + 64;
    char *doc = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    size_t k = (size_t)sprintf(doc, "{\"nodes\": [");
    for (size_t i = 0; i < n; i++) doc[k++] = '0', doc[k++] = ',';
    sprintf(doc + k - 1, "], \"arg_nodes\": [], \"heads\": [[0, 0]]}");
    TU_ASSERT_FAILS(am_graph_from_json(doc), AM_ERR_FORMAT,
                    "1000001 nodes is more than the 1000000 Amber accepts");
    free(doc);
}

/* ---- files ------------------------------------------------------------------------------------- */

static void test_save_and_load(void)
{
    am_scope_begin();
    char dir[] = "/tmp/amber-json-XXXXXX", path[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/lenet-symbol.json", dir);
    am_graph *g = am_graph_load("tests/fixtures/lenet-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_save(g, path), AM_OK);
    CU_ASSERT_EQUAL(am_graph_save(g, path), AM_OK); /* replaces */
    char *a = read_text(path), *b = read_text("tests/fixtures/lenet-symbol.json");
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_STRING_EQUAL(a, b);
    free(a), free(b);
    int entries = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CU_ASSERT_EQUAL(entries, 1); /* no temporary file left behind */

    char missing[96];
    snprintf(missing, sizeof(missing), "%s/nope/x.json", dir);
    TU_ASSERT_FAILS(am_graph_save(g, missing) == AM_OK, AM_ERR_IO, "cannot create a file beside");
    TU_ASSERT_FAILS(am_graph_load(missing), AM_ERR_IO, "cannot open");
    TU_ASSERT_FAILS(am_graph_load(dir), AM_ERR_IO, "not a regular file");
    TU_ASSERT_FAILS(am_graph_save(g, NULL) == AM_OK, AM_ERR_ARG, "NULL");
    TU_ASSERT_FAILS(am_graph_load(NULL), AM_ERR_ARG, "NULL");
    FILE *f = fopen(path, "w");
    fputs("{\"nodes\": 1}", f);
    fclose(f);
    TU_ASSERT_FAILS(am_graph_load(path), AM_ERR_FORMAT, "lenet-symbol.json: \"nodes\" is an integer");
    unlink(path);
    rmdir(dir);
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_json[] = {
    {"the MLP fixture loads and writes back byte for byte", test_mlp_fixture},
    {"the LeNet fixture loads and writes back byte for byte", test_lenet_fixture},
    {"a traced MLP writes the fixture", test_traced_mlp_is_the_fixture},
    {"traced graphs of every op family round-trip", test_round_trip_op_families},
    {"hidden outputs", test_hidden_outputs},
    {"formatting: long arrays, escapes", test_formatting_details},
    {"older spellings and numpy shapes", test_legacy_spellings},
    {"names on load", test_names_on_load},
    {"every fixture file round-trips byte for byte", test_fixtures_round_trip},
    {"MXNet 1.9.1's spellings, duplicate names, versions are kept", test_mxnet_spellings_kept},
    {"an MXNet 0.8 file is kept as read", test_old_mxnet_kept},
    {"attributes changed since reading are written anew", test_changed_attributes},
    {"another layout becomes dmlc's, content kept", test_other_layout},
    {"malformed input is refused with the node and field", test_errors},
    {"absurd node counts are refused", test_too_many_nodes},
    {"save and load files", test_save_and_load},
    CU_TEST_INFO_NULL,
};
