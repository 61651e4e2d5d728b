/* The roundtrip suite: every registered op traced with the attributes of its
 * cases (and a non-default value for each attribute no case sets), written as
 * symbol JSON and read back unchanged; variables of every dtype; .params
 * files of every dtype and odd shape, byte for byte. */
#include "test_util.h"

#include <amber/io.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../executor/executor_impl.h"

extern const am_op_case *const am_case_tables[];

/* ---- tracing one op ------------------------------------------------------------------- */

/* One traced call: the op, its attribute strings, its input variables. */
typedef struct call {
    const am_op_def *op;
    const am_op_case *c;
    tu_parsed_case p;
    const char *keys[40], *vals[40];
    int n_attrs;
    char what[600];
} call;

static void call_init(call *k, const am_op_def *op, const am_op_case *c)
{
    k->op = op;
    k->c = c;
    tu_parse_case(c, &k->p);
    k->n_attrs = k->p.n_attrs;
    for (int i = 0; i < k->n_attrs; i++) k->keys[i] = k->p.keys[i], k->vals[i] = k->p.vals[i];
}

/* Sets key to val (replacing the case's value). */
static void call_set(call *k, const char *key, const char *val)
{
    for (int i = 0; i < k->n_attrs; i++)
        if (strcmp(k->keys[i], key) == 0) {
            k->vals[i] = val;
            return;
        }
    k->keys[k->n_attrs] = key;
    k->vals[k->n_attrs++] = val;
}

static const char *call_name(call *k)
{
    size_t n = (size_t)snprintf(k->what, sizeof(k->what), "%s{", k->op->name);
    for (int i = 0; i < k->n_attrs && n < sizeof(k->what); i++)
        n += (size_t)snprintf(k->what + n, sizeof(k->what) - n, "%s%s=%s", i ? ";" : "",
                              k->keys[i], k->vals[i]);
    if (n < sizeof(k->what))
        snprintf(k->what + n, sizeof(k->what) - n, "}[%s]", k->c->shapes ? k->c->shapes : "");
    return k->what;
}

static am_dtype input_dtype(const am_op_case *c, int i)
{
    if (c->index_mask & (1u << i)) return c->index_dtype;
    return c->dtype ? c->dtype : AM_DTYPE_FLOAT32;
}

/* The graph of the call over variables "in0", "in1", ... (all visible
 * outputs as heads), or NULL when the op refuses these attributes.  Ops
 * without inputs (_zeros) cannot be traced, so their node is built. */
static am_graph *trace(call *k)
{
    am_array *in[AM_MAX_OP_IO], *out[AM_MAX_OP_IO];
    am_graph *g = NULL;
    void *attrs = am_attrs_parse(k->op, k->keys, k->vals, k->n_attrs);
    if (!attrs) return NULL;
    int nvis = am_op_num_visible(k->op, attrs);
    if (k->p.n_in == 0) {
        am_node *n = am_node_build(k->op, attrs, NULL, 0);
        am_entry heads[AM_MAX_OP_IO];
        for (int i = 0; n && i < nvis; i++) heads[i] = (am_entry){n, i};
        if (n) g = am_graph_from_heads(heads, nvis);
        am_node_release(n);
    } else {
        for (int i = 0; i < k->p.n_in; i++) {
            char name[16];
            snprintf(name, sizeof(name), "in%d", i);
            in[i] = am_var(name, k->p.shapes[i], input_dtype(k->c, i));
        }
        if (am_invoke(k->op->name, in, k->p.n_in, k->keys, k->vals, k->n_attrs, out, nvis) == AM_OK)
            g = am_graph_create(out, nvis);
    }
    free(attrs);
    return g;
}

/* ---- checking a round trip ------------------------------------------------------------ */

static int op_node(const am_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op) return i;
    return -1;
}

static bool same_shape(const am_shape *a, const am_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

/* Every schema field of b formats as a's does. */
static bool same_attrs(const am_node *a, const am_node *b, const char *what)
{
    bool ok = true;
    for (const am_attr_field *f = a->op->attrs; f && f->name; f++) {
        char x[256], y[256];
        am_attr_format(f, a->attrs, x, sizeof(x));
        am_attr_format(f, b->attrs, y, sizeof(y));
        if (strcmp(x, y) != 0) {
            printf("\n  %s: attribute %s '%s' reads back as '%s'\n", what, f->name, x, y);
            ok = false;
        }
    }
    return ok;
}

/* The read graph's variables whose shapes JSON could not carry (0-d and
 * size-0 shapes read as unknown in MXNet 1.x's legacy shape semantics) get
 * the traced shapes, and so do shape attributes (a 0 in _zeros' shape reads
 * as unknown); then shapes are inferred.  Returns how many needed it. */
static int infer_read(am_graph *r, const am_graph *g, const char *what, bool *ok)
{
    const char *names[AM_MAX_OP_IO];
    am_shape shapes[AM_MAX_OP_IO];
    int n = 0, attrs_given = 0;
    for (int i = 0; i < r->n_nodes; i++)
        for (const am_attr_field *f = r->nodes[i]->op ? r->nodes[i]->op->attrs : NULL;
             f && f->name; f++) {
            am_tuple *t = (am_tuple *)((char *)r->nodes[i]->attrs + f->offset);
            const am_tuple *traced = (const am_tuple *)((const char *)g->nodes[i]->attrs + f->offset);
            bool lost = false;
            for (int d = 0; f->type == AM_ATTR_SHAPE && d < t->ndim; d++)
                lost |= t->v[d] == AM_DIM_UNKNOWN && traced->v[d] == 0;
            if (lost) *t = *traced, attrs_given++;
        }
    for (int i = 0; i < r->n_nodes; i++)
        if (!r->nodes[i]->op && !am_shape_known(&r->nodes[i]->shapes[0])) {
            names[n] = r->names[i];
            shapes[n++] = g->nodes[i]->shapes[0];
        }
    if (am_graph_infer(r, names, shapes, NULL, n) != AM_OK) {
        printf("\n  %s: inference after reading failed: %s\n", what, am_last_error());
        *ok = false;
    }
    return n + attrs_given;
}

/* Outputs (hidden ones too), counts and variables agree. */
static bool same_node(const am_graph *g, const am_graph *r, int i, const char *what)
{
    const am_node *a = g->nodes[i], *b = r->nodes[i];
    bool ok = a->op == b->op && a->n_in == b->n_in && a->n_out == b->n_out &&
              strcmp(g->names[i], r->names[i]) == 0;
    for (int k = 0; ok && k < a->n_out; k++) {
        ok = same_shape(&a->shapes[k], &b->shapes[k]) && a->dtypes[k] == b->dtypes[k];
        if (!ok) {
            char x[96], y[96];
            printf("\n  %s: node '%s' output %d: %s %s reads back as %s %s\n", what,
                   g->names[i], k, am_shape_format(&a->shapes[k], x, sizeof(x)),
                   am_dtype_name(a->dtypes[k]), am_shape_format(&b->shapes[k], y, sizeof(y)),
                   am_dtype_name(b->dtypes[k]));
        }
    }
    if (ok && a->op) ok = same_attrs(a, b, what) &&
                          am_op_num_visible(a->op, a->attrs) == am_op_num_visible(b->op, b->attrs);
    return ok;
}

typedef struct stats {
    int ops, ops_without_cases, cases, fields, covered, by_mutation, shapes_given;
    char uncovered[4096];
} stats;

/* Writes g, reads it back, writes that: same text, attributes, counts and
 * inferred shapes. */
static bool round_trip(const am_graph *g, const char *what, stats *st)
{
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    am_graph *r = am_graph_from_json(json);
    bool ok = r != NULL;
    if (!r) printf("\n  %s: the JSON does not read back: %s\n", what, am_last_error());
    if (ok && r->n_nodes != g->n_nodes) ok = false, printf("\n  %s: node count\n", what);
    if (ok) st->shapes_given += infer_read(r, g, what, &ok);
    for (int i = 0; ok && i < g->n_nodes; i++) ok = same_node(g, r, i, what);
    for (int h = 0; ok && h < g->n_heads; h++)
        ok = g->heads[h].index == r->heads[h].index &&
             am_graph_index(g, g->heads[h].node) == am_graph_index(r, r->heads[h].node);
    char *again = ok ? am_graph_to_json(r) : NULL;
    if (again && strcmp(json, again) != 0) {
        size_t i = 0;
        while (json[i] == again[i]) i++;
        printf("\n  %s: JSON differs at byte %zu: '%.40s' then '%.40s'\n", what, i, json + i,
               again + i);
        ok = false;
    }
    free(again);
    free(json);
    am_graph_release(r);
    return ok;
}

/* ---- every op --------------------------------------------------------------------------- */

/* Schema fields of node n's op that differ from the default (or are required). */
static uint64_t fields_set(const am_graph *g)
{
    const am_node *n = g->nodes[op_node(g)];
    uint64_t m = 0;
    for (const am_attr_field *f = n->op->attrs; f && f->name; f++)
        if (!f->def || !am_attr_is_default(f, n->attrs)) m |= 1ull << (f - n->op->attrs);
    return m;
}

/* Values to try for a field no case sets, by type; the first the op takes
 * on the case's inputs and that differs from the default is used. */
static const char *const *candidates(const am_attr_field *f)
{
    static const char *const b[] = {"True", "False", NULL};
    static const char *const i[] = {"1", "2", "0", "-1", "3", NULL};
    static const char *const fl[] = {"0.375", "2.5", "1e-07", "-0.5", "0.0", NULL};
    static const char *const oi[] = {"1", "0", "2", "-1", NULL};
    static const char *const of[] = {"0.5", "1.0", "-1.5", NULL};
    static const char *const t[] = {"(1,)", "(0,)", "(-1,)", "(1, 1)", "(0, 1)", "(2, 2)",
                                    "()", NULL};
    static const char *const sh[] = {"(1,)", "(2, 2)", "(1, 1)", "()", NULL};
    static const char *const d[] = {"float64", "int32", "int64", "uint8", "float32", NULL};
    static const char *const s[] = {"cpu(0)", "x", NULL};
    switch (f->type) {
    case AM_ATTR_BOOL: return b;
    case AM_ATTR_INT: return i;
    case AM_ATTR_FLOAT: return fl;
    case AM_ATTR_OPT_INT: return oi;
    case AM_ATTR_OPT_FLOAT: return of;
    case AM_ATTR_TUPLE: return t;
    case AM_ATTR_ENUM: return f->choices;
    case AM_ATTR_DTYPE: return d;
    case AM_ATTR_STRING: return s;
    case AM_ATTR_SHAPE: return sh;
    case AM_ATTR_FLOATS: return fl;
    default: return NULL;
    }
}

/* Tries the candidates for field f on case c (with the same-numbered
 * candidate for field h, when given, for fields that go in pairs such as
 * lstm_state_clip_min/max); true when one round-trips. */
static bool mutate(const am_op_def *op, const am_op_case *c, const am_attr_field *f,
                   const am_attr_field *h, stats *st)
{
    const char *const *cand = candidates(f), *const *hc = h ? candidates(h) : NULL;
    for (int j = 0; cand && cand[j] && (!h || (hc && hc[j])); j++) {
        call k;
        call_init(&k, op, c);
        call_set(&k, f->name, cand[j]);
        if (h) call_set(&k, h->name, hc[j]);
        am_scope_begin();
        am_graph *g = trace(&k);
        bool used = g && (fields_set(g) >> (f - op->attrs) & 1);
        if (used) {
            bool ok = round_trip(g, call_name(&k), st);
            CU_ASSERT(ok);
        }
        am_clear_error();
        am_graph_release(g);
        am_scope_end();
        if (used) return true;
    }
    return false;
}

/* A non-default value for field f on some case, alone or with another field. */
static bool cover(const am_op_def *op, const am_op_case *const *cases, int n,
                  const am_attr_field *f, stats *st)
{
    for (int i = 0; i < n; i++)
        if (mutate(op, cases[i], f, NULL, st)) return true;
    for (const am_attr_field *h = op->attrs; h->name; h++)
        for (int i = 0; h != f && i < n; i++)
            if (mutate(op, cases[i], f, h, st)) return true;
    return false;
}

static void note_uncovered(stats *st, const am_op_def *op, const am_attr_field *f)
{
    size_t n = strlen(st->uncovered);
    snprintf(st->uncovered + n, sizeof(st->uncovered) - n, "%s%s.%s", n ? ", " : "", op->name,
             f->name);
}

/* Every case of op, then, for each field no case set, a mutation of the
 * first case that takes one. */
static void check_op(const am_op_def *op, stats *st)
{
    uint64_t covered = 0;
    const am_op_case *cases[256];
    int n = 0;
    if (op->value_shape) return; /* eager only (_contrib_boolean_mask): nothing to trace */
    for (int t = 0; am_case_tables[t]; t++)
        for (const am_op_case *c = am_case_tables[t]; c->op; c++) {
            if (strcmp(c->op, op->name) != 0) continue;
            call k;
            call_init(&k, op, c);
            am_scope_begin();
            am_graph *g = trace(&k);
            if (!g) printf("\n  %s does not trace: %s\n", call_name(&k), am_last_error());
            CU_ASSERT_PTR_NOT_NULL(g);
            if (g) {
                bool ok = round_trip(g, call_name(&k), st);
                CU_ASSERT(ok);
                covered |= fields_set(g);
                if (n < 256) cases[n++] = c;
                st->cases++;
            }
            am_graph_release(g);
            am_scope_end();
        }
    if (n == 0) return;
    for (const am_attr_field *f = op->attrs; f && f->name; f++) {
        uint64_t bit = 1ull << (f - op->attrs);
        st->fields++;
        if (!(covered & bit) && cover(op, cases, n, f, st)) covered |= bit, st->by_mutation++;
        if (covered & bit) st->covered++;
        else note_uncovered(st, op, f);
    }
}

static void test_every_op(void)
{
    stats st = {0};
    for (int i = 0; i < am_op_count(); i++) {
        const am_op_def *op = am_op_at(i);
        int before = st.cases;
        check_op(op, &st);
        if (st.cases > before) st.ops++;
        else if (i < am_registry_builtin_count() && !op->value_shape && !op->num_subgraphs) {
            printf("\n  %s has no case that traces\n", op->name);
            CU_FAIL("an op without a case");
        } else {
            st.ops_without_cases++; /* registered at run time by another suite */
        }
    }
    printf("\n  %d ops (%d registered at run time skipped), %d cases; %d of %d attribute fields "
           "set to a non-default value (%d by a value no case uses); %d 0-d or size-0 input "
           "shapes given after reading\n  never non-default: %s\n  ",
           st.ops, st.ops_without_cases, st.cases, st.covered, st.fields, st.by_mutation,
           st.shapes_given, st.uncovered[0] ? st.uncovered : "none");
}

/* ---- dtypes ------------------------------------------------------------------------------ */

/* A variable of each dtype carries it through __dtype__, and back. */
static void test_variable_dtypes(void)
{
    stats st = {0};
    am_scope_begin();
    for (int t = 0; t < AM_DTYPE_COUNT; t++) {
        am_array *v = am_var("v", AM_SHAPE(2, 3), (am_dtype)t);
        am_graph *g = am_graph_create(&v, 1);
        char *json = am_graph_to_json(g), want[64];
        snprintf(want, sizeof(want), "\"__dtype__\": \"%d\"", am_dtype_to_mxnet((am_dtype)t));
        CU_ASSERT_PTR_NOT_NULL(strstr(json, want));
        free(json);
        CU_ASSERT(round_trip(g, am_dtype_name((am_dtype)t), &st));
        /* The dtype also reaches a consumer's inferred output. */
        am_array *y = am_reshape(v, AM_SHAPE(3, 2));
        am_graph *h = am_graph_create(&y, 1);
        CU_ASSERT(round_trip(h, am_dtype_name((am_dtype)t), &st));
        am_graph_release(h);
        am_graph_release(g);
    }
    am_scope_end();
}

/* ---- .params files ------------------------------------------------------------------------- */

static am_array *patterned(am_shape s, am_dtype t, int seed)
{
    am_array *x = am_zeros(s, t);
    am_view v = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&v); i++) {
        double val = (double)((i * 37 + seed * 11) % 251);
        am_view_set(&v, i, am_dtype_is_float(t) ? (val - 125) / 7.0
                          : t == AM_DTYPE_UINT8  ? val
                                                 : val - 125);
    }
    return x;
}

static bool same_bytes(am_array *a, am_array *b)
{
    if (am_array_dtype(a) != am_array_dtype(b)) return false;
    am_shape sa = am_array_shape(a), sb = am_array_shape(b);
    if (!same_shape(&sa, &sb)) return false;
    size_t n = (size_t)am_array_size(a) * am_dtype_size(am_array_dtype(a));
    return n == 0 || memcmp(am_array_data(a), am_array_data(b), n) == 0;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(*n ? *n : 1);
    if (s && fread(s, 1, *n, f) != *n) free(s), s = NULL;
    fclose(f);
    return s;
}

/* Saves l under dir, loads it, checks every array byte for byte, saves the
 * loaded list and checks the two files are identical. */
static void params_round_trip(am_ndlist *l, const char *dir)
{
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/a.params", dir);
    snprintf(b, sizeof(b), "%s/b.params", dir);
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save(l, a), AM_OK);
    am_ndlist *r = am_ndlist_load(a);
    if (!r) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(am_ndlist_size(r), am_ndlist_size(l));
    for (int i = 0; i < am_ndlist_size(l); i++) {
        CU_ASSERT_STRING_EQUAL(am_ndlist_name(r, i), am_ndlist_name(l, i));
        if (!same_bytes(am_ndlist_get(r, i), am_ndlist_get(l, i)))
            printf("\n  %s differs after loading\n", am_ndlist_name(l, i));
        CU_ASSERT(same_bytes(am_ndlist_get(r, i), am_ndlist_get(l, i)));
    }
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save(r, b), AM_OK);
    size_t na = 0, nb = 0, nbuf = 0;
    char *fa = slurp(a, &na), *fb = slurp(b, &nb);
    void *buf = NULL;
    CU_ASSERT_EQUAL(am_ndlist_save_buffer(r, &buf, &nbuf), AM_OK);
    CU_ASSERT(fa && fb && na == nb && memcmp(fa, fb, na) == 0);
    CU_ASSERT(fa && buf && na == nbuf && memcmp(fa, buf, na) == 0);
    free(fa), free(fb), free(buf);
    unlink(a), unlink(b);
    am_ndlist_free(r);
}

static void test_params_every_dtype_and_shape(void)
{
    am_shape shapes[] = {{.ndim = 0}, AM_SHAPE(0), AM_SHAPE(3, 0, 2), AM_SHAPE(7),
                         AM_SHAPE(2, 1, 3, 1, 2, 2), AM_SHAPE(1, 1, 1, 1, 1, 1), AM_SHAPE(5, 3)};
    int n_shapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    char dir[] = "/tmp/amber_roundtrip_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    am_scope_begin();
    /* One list of everything (V3 records, as a 0-d array is in it) ... */
    am_ndlist *all = am_ndlist_create();
    for (int t = 0; t < AM_DTYPE_COUNT; t++)
        for (int s = 0; s < n_shapes; s++) {
            char name[64];
            snprintf(name, sizeof(name), "arg:%s_%d", am_dtype_name((am_dtype)t), s);
            CU_ASSERT_EQUAL(am_ndlist_add(all, name, patterned(shapes[s], (am_dtype)t, s)), AM_OK);
        }
    params_round_trip(all, dir);
    am_ndlist_free(all);
    /* ... and one list per dtype without the 0-d array (V2 records). */
    for (int t = 0; t < AM_DTYPE_COUNT; t++) {
        am_ndlist *l = am_ndlist_create();
        for (int s = 1; s < n_shapes; s++) {
            char name[64];
            snprintf(name, sizeof(name), "aux:%d", s);
            am_array *x = patterned(shapes[s], (am_dtype)t, s + t);
            CU_ASSERT_EQUAL(am_ndlist_add(l, name, x), AM_OK);
        }
        params_round_trip(l, dir);
        am_ndlist_free(l);
    }
    am_scope_end();
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

CU_TestInfo am_tests_roundtrip[] = {
    {"every op's attributes through symbol JSON", test_every_op},
    {"variables of every dtype", test_variable_dtypes},
    {".params files: every dtype, 0-d, size-0 and 6-D arrays", test_params_every_dtype_and_shape},
    CU_TEST_INFO_NULL,
};
