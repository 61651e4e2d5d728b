/* libFuzzer target for compiled plans: the input picks a small graph of
 * registered ops, each an entry of the registry's case tables
 * (tests/cases_*.c: an op, attributes and input shapes it accepts), wired
 * to earlier outputs where one has the shape and dtype an input needs, and
 * seeds the random input values.  The plan (every pass, memory planning,
 * in-place reuse, arenas poisoned with NaN) must give what node-by-node
 * evaluation gives, and a graph that evaluates must also compile.  Ops that
 * draw random numbers, mutate their inputs or size their outputs by their
 * inputs' values (eager only) are left out.  `make fuzz`
 * builds it with the case tables and runs it. */
#include "../test_util.h"

#include <math.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_graph: check failed: %s (%s)\n", #cond, am_last_error()); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

extern const am_op_case *const am_case_tables[];

#define MAX_CASES 4096
#define POOL 32
#define MAX_VARS 48

static const am_op_case *cases[MAX_CASES];
static int n_cases;

/* The cases a graph may use: CPU ops that are deterministic and leave their
 * inputs alone, whose inputs need no preparation. */
static void collect_cases(void)
{
    for (int t = 0; am_case_tables[t]; t++)
        for (const am_op_case *c = am_case_tables[t]; c->op && n_cases < MAX_CASES; c++) {
            const am_op_def *op = am_op_find(c->op);
            if (!op || !op->cpu || op->value_shape || (op->flags & AM_OP_RANDOM) ||
                op->mutates_input || op->num_aux || c->prepare || strstr(op->name, "_update"))
                continue;
            cases[n_cases++] = c;
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("AM_PLAN_POISON", "1", 1); /* arenas start as NaN: reads before writes show */
    collect_cases();
    return 0;
}

typedef struct bytes {
    const uint8_t *p;
    size_t n;
} bytes;

/* The next choice in [0, mod), 0 once the input is used up. */
static uint32_t take(bytes *b, uint32_t mod)
{
    uint32_t v = 0;
    for (int i = 0; i < 2 && b->n; i++, b->p++, b->n--) v = v << 8 | *b->p;
    return mod ? v % mod : 0;
}

typedef struct graph_in {
    am_array *pool[POOL]; /* symbolic values an input may read */
    int n_pool;
    char names[MAX_VARS][8];
    const char *name_ptr[MAX_VARS];
    am_array *values[MAX_VARS];
    int n_vars;
    am_array *heads[3];
    int n_heads;
} graph_in;

/* Input i of case c: an earlier value of that shape and dtype, or a new
 * variable with the case's kind of values. */
static am_array *input_for(graph_in *g, bytes *b, const am_op_case *c, const tu_parsed_case *p,
                           int i)
{
    bool index = c->index_mask & (1u << i);
    am_dtype t = index ? c->index_dtype : c->dtype ? c->dtype : AM_DTYPE_FLOAT32;
    if (!index && g->n_pool && take(b, 2)) {
        int start = (int)take(b, (uint32_t)g->n_pool);
        for (int k = 0; k < g->n_pool; k++) {
            am_array *a = g->pool[(start + k) % g->n_pool];
            if (am_array_dtype(a) == t && am_shape_equal(am_array_shape(a), p->shapes[i]))
                return a;
        }
    }
    if (g->n_vars == MAX_VARS) return NULL;
    int v = g->n_vars++;
    snprintf(g->names[v], sizeof(g->names[v]), "v%d", v);
    g->name_ptr[v] = g->names[v];
    g->values[v] = tu_case_input(c, p, i);
    CHECK(g->values[v] != NULL && am_array_dtype(g->values[v]) == t);
    return am_var(g->names[v], p->shapes[i], t);
}

/* Adds one op node; false when the case does not fit here. */
static bool add_node(graph_in *g, bytes *b)
{
    const am_op_case *c = cases[take(b, (uint32_t)n_cases)];
    tu_parsed_case p;
    tu_parse_case(c, &p);
    const am_op_def *op = am_op_find(c->op);
    void *attrs = am_attrs_parse(op, (const char *const *)p.keys, (const char *const *)p.vals,
                                 p.n_attrs);
    CHECK(attrs != NULL);
    int n_vis = am_op_num_visible(op, attrs);
    free(attrs);
    if (n_vis > 4 || p.n_in > 8 || p.n_in == 0) return false; /* no inputs: runs eagerly */
    am_array *in[16], *out[4] = {0};
    for (int i = 0; i < p.n_in; i++)
        if (!(in[i] = input_for(g, b, c, &p, i))) return false;
    am_clear_error();
    am_status st = am_invoke(c->op, in, p.n_in, (const char *const *)p.keys,
                             (const char *const *)p.vals, p.n_attrs, out, n_vis);
    if (st != AM_OK) { /* a case's own shapes always trace */
        fprintf(stderr, "fuzz_graph: %s (%s) failed to trace: %s\n", c->op, c->attrs,
                am_last_error());
        abort();
    }
    for (int k = 0; k < n_vis && g->n_pool < POOL; k++) g->pool[g->n_pool++] = out[k];
    for (int k = 0; k < n_vis; k++) {
        if (g->n_heads < 3) g->heads[g->n_heads++] = out[k];
        else g->heads[take(b, 3)] = out[k];
    }
    return true;
}

/* a and b hold the same values: NaN where the other has NaN, equal
 * infinities, and otherwise close (passes may reorder float arithmetic). */
static bool agree(am_array *a, am_array *b, int head)
{
    if (am_array_dtype(a) != am_array_dtype(b) ||
        !am_shape_equal(am_array_shape(a), am_array_shape(b))) {
        fprintf(stderr, "fuzz_graph: head %d: plan gives %s, eval %s\n", head,
                am_dtype_name(am_array_dtype(a)), am_dtype_name(am_array_dtype(b)));
        return false;
    }
    am_array *x = am_astype(a, AM_DTYPE_FLOAT64), *y = am_astype(b, AM_DTYPE_FLOAT64);
    CHECK(x && y);
    const double *u = am_array_data(x), *v = am_array_data(y);
    double tol = am_dtype_size(am_array_dtype(a)) <= 2 ? 1e-2 : 1e-3;
    for (int64_t i = 0; i < am_array_size(x); i++) {
        bool same = (isnan(u[i]) && isnan(v[i])) || u[i] == v[i] ||
                    fabs(u[i] - v[i]) <= tol * (1 + fabs(v[i]));
        if (!same) {
            fprintf(stderr, "fuzz_graph: head %d element %lld: plan %.9g, node by node %.9g\n",
                    head, (long long)i, u[i], v[i]);
            return false;
        }
    }
    return true;
}

static void compare(am_graph *graph, graph_in *g)
{
    am_array *ref[3];
    int n_out = am_graph_num_outputs(graph);
    CHECK(n_out <= 3);
    am_clear_error();
    if (am_graph_eval(graph, g->name_ptr, g->values, g->n_vars, false, ref, n_out) != AM_OK) {
        CHECK(am_last_status() != AM_OK && am_last_error()[0] != '\0');
        return;
    }
    am_plan *p = am_plan_create(graph, &(am_plan_opts){.training = false});
    CHECK(p != NULL);
    for (int i = 0; i < g->n_vars; i++) { /* a variable no head reads is not the plan's */
        am_status st = am_plan_bind(p, g->name_ptr[i], g->values[i]);
        CHECK(st == AM_OK || st == AM_ERR_ARG);
    }
    am_clear_error();
    CHECK(am_plan_run(p) == AM_OK);
    bool ok = true;
    for (int h = 0; h < n_out && ok; h++) ok = agree(am_plan_output(p, h), ref[h], h);
    if (!ok) {
        char *json = am_graph_to_json(graph);
        fprintf(stderr, "%s\n", json ? json : "(no json)");
        free(json);
        abort();
    }
    am_plan_release(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!n_cases) return 0;
    int64_t live = am_debug_live_arrays();
    bytes b = {data, size};
    uint64_t seed = 0xcbf29ce484222325ull; /* FNV-1a of the input seeds the values */
    for (size_t i = 0; i < size; i++) seed = (seed ^ data[i]) * 0x100000001b3ull;
    am_seed(seed);
    graph_in g = {.n_pool = 0};
    am_scope_begin();
    int nodes = 1 + (int)take(&b, 5);
    for (int k = 0; k < nodes; k++) add_node(&g, &b);
    if (g.n_heads) {
        am_graph *graph = am_graph_create(g.heads, g.n_heads);
        CHECK(graph != NULL);
        compare(graph, &g);
        am_graph_release(graph);
    }
    am_scope_end();
    am_clear_error();
    CHECK(am_debug_live_arrays() == live);
    return 0;
}
