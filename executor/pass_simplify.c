/* Algebraic simplification: nodes that compute their own input (x*1, x+0,
 * inference Dropout, copies, identity transposes and reshapes) give way to
 * that input, and chains of transposes or of reshaping views become one op.
 * The rules read the registry's facets and hooks (am_op_def's algebra,
 * const_fill, is_identity, permutation and view), never op or attribute
 * names, so a new op with a hook is simplified with no change here. */
#include "executor_impl.h"

typedef struct simp {
    am_graph *g;
    am_pass_ctx *ctx;
    am_rewriter rw;
    int *uses, *uoff;   /* uses of every output of the old graph */
} simp;

/* ---- reading nodes ---------------------------------------------------------- */

static const am_shape *entry_shape(am_entry e) { return &e.node->shapes[e.index]; }
static am_dtype entry_dtype(am_entry e) { return e.node->dtypes[e.index]; }

/* Output k of n and entry e have the same known shape and dtype, so e can
 * stand for it. */
static bool same_type(const am_node *n, int k, am_entry e)
{
    return n->shapes[k].ndim >= 0 && n->dtypes[k] != AM_DTYPE_COUNT &&
           am_shape_equal(n->shapes[k], *entry_shape(e)) && n->dtypes[k] == entry_dtype(e);
}

/* No consumer and no head reads an output of node i beyond output 0 (such
 * as Dropout's mask), so output 0 alone may be remapped. */
static bool others_unused(const simp *s, int i)
{
    for (int k = 1; k < s->g->nodes[i]->n_out; k++)
        if (s->uses[s->uoff[i] + k] > 0) return false;
    return true;
}

static bool is_head(const am_graph *g, int i)
{
    for (int h = 0; h < g->n_heads; h++)
        if (g->heads[h].node == g->nodes[i]) return true;
    return false;
}

/* A constant whose elements all equal one value (host memory only). */
static bool const_uniform(const am_array *a, double *v)
{
    if (!a->storage || a->storage->device.type != AM_DEVICE_CPU) return false;
    am_view w = am_array_view(a);
    int64_t n = am_view_size(&w);
    if (n <= 0) return false;
    *v = am_view_get(&w, 0);
    for (int64_t i = 1; i < n; i++)
        if (am_view_get(&w, i) != *v) return false;
    return *v == *v; /* NaN is no identity */
}

/* Entry e holds one value everywhere, known without running the graph: a
 * uniform constant, or output 0 of an op with a const_fill hook (_zeros,
 * _ones, _full, zeros_like, ones_like). */
static bool uniform_value(am_entry e, double *v)
{
    const am_node *n = e.node;
    if (am_node_is_const(n)) return const_uniform(n->value, v);
    return n->op && n->op->const_fill && e.index == 0 && n->op->const_fill(n->attrs, v) &&
           *v == *v;
}

/* The algebra facet of node n with these operands, or NULL. */
static const am_op_algebra *algebra_of(const am_node *n, am_operands operands)
{
    const am_op_algebra *a = n->op ? n->op->algebra : NULL;
    return a && a->operands == operands && a->arith != AM_ARITH_NONE ? a : NULL;
}

/* How the log names x <arith> identity: "x*1", "x-zeros". */
static const char *identity_why(am_arith a, bool scalar)
{
    static const char *const why[][2] = {
        [AM_ARITH_ADD] = {"x+zeros", "x+0"}, [AM_ARITH_SUB] = {"x-zeros", "x-0"},
        [AM_ARITH_MUL] = {"x*ones", "x*1"}, [AM_ARITH_DIV] = {"x/ones", "x/1"}};
    bool known = (unsigned)a < sizeof(why) / sizeof(why[0]) && why[a][scalar];
    return known ? why[a][scalar] : "arithmetic identity";
}

/* ---- rules that hand a node's output 0 to an existing entry ------------------------- */

/* x <arith> scalar, the scalar being the identity (x + 0, x - 0, x * 1, x / 1),
 * when the result has x's shape and dtype. */
static const char *rule_scalar(simp *s, int i, am_entry *to)
{
    const am_node *n = s->g->nodes[i];
    const am_op_algebra *a = algebra_of(n, AM_OPERANDS_SCALAR);
    if (!a || !a->scalar || !n->attrs || n->n_in != 1 ||
        a->scalar(n->attrs) != am_arith_identity(a->arith))
        return NULL;
    *to = am_rw_get(&s->rw, n->inputs[0]);
    return same_type(n, 0, *to) ? identity_why(a->arith, true) : NULL;
}

/* x <arith> c, two operands of one shape or broadcast, c known to hold the
 * identity everywhere (x + zeros, x - zeros, x * ones, x / ones), when the
 * result has x's shape and dtype; the constant may come first where the
 * arithmetic commutes. */
static const char *rule_binary(simp *s, int i, am_entry *to)
{
    const am_node *n = s->g->nodes[i];
    const am_op_algebra *a = algebra_of(n, AM_OPERANDS_SAME);
    if (!a) a = algebra_of(n, AM_OPERANDS_BROADCAST);
    if (!a || n->n_in != 2) return NULL;
    for (int side = 0; side < (am_arith_commutes(a->arith) ? 2 : 1); side++) {
        am_entry x = am_rw_get(&s->rw, n->inputs[side]);
        am_entry c = am_rw_get(&s->rw, n->inputs[1 - side]);
        double v;
        if (same_type(n, 0, x) && uniform_value(c, &v) && v == am_arith_identity(a->arith)) {
            *to = x;
            return identity_why(a->arith, false);
        }
    }
    return NULL;
}

/* x <arith> c1 <arith> c2 ... with any number of operands of one shape
 * (add_n), every operand but one known to hold the identity everywhere: that
 * operand, when the result has its shape and dtype.  Only operands after the
 * first are dropped where the arithmetic does not commute. */
static const char *rule_nary(simp *s, int i, am_entry *to)
{
    const am_node *n = s->g->nodes[i];
    const am_op_algebra *a = algebra_of(n, AM_OPERANDS_NARY);
    int keep = -1;
    if (!a || n->n_in < 1) return NULL;
    for (int k = 0; k < n->n_in; k++) {
        double v;
        bool id = uniform_value(am_rw_get(&s->rw, n->inputs[k]), &v) &&
                  v == am_arith_identity(a->arith);
        if (id && (k > 0 || am_arith_commutes(a->arith))) continue;
        if (keep >= 0) return NULL;
        keep = k;
    }
    *to = am_rw_get(&s->rw, n->inputs[keep < 0 ? 0 : keep]);
    return same_type(n, 0, *to) ? identity_why(a->arith, false) : NULL;
}

/* An op whose is_identity hook says output 0 is input 0 with these attributes
 * in this mode (a copy, inference Dropout, Dropout with p = 0; other outputs,
 * such as Dropout's mask, are checked unread by the caller), except one at a
 * head reading a variable: it keeps that output a buffer of its own, not the
 * input. */
static const char *rule_identity(simp *s, int i, am_entry *to)
{
    const am_node *n = s->g->nodes[i];
    const char *why = n->op->is_identity && n->n_in >= 1
                          ? n->op->is_identity(n->attrs, s->ctx->training)
                          : NULL;
    if (!why) return NULL;
    *to = am_rw_get(&s->rw, n->inputs[0]);
    if (!to->node->op && is_head(s->g, i)) return NULL;
    return same_type(n, 0, *to) ? why : NULL;
}

/* ---- rules that build one op in place of a chain ------------------------------------ */

/* The permutation of node n, whose input has nd axes, from its permutation
 * hook: out axis k reads input axis perm[k].  False when n has none. */
static bool node_perm(const am_node *n, int nd, int *perm)
{
    return n->op && n->op->permutation && n->n_in >= 1 && nd >= 0 && nd <= AM_MAX_NDIM &&
           n->op->permutation(n->attrs, nd, perm);
}

/* Names a node built in place of old node i after it, with its origin. */
static am_entry adopt(simp *s, int i, am_array *y)
{
    if (!y) return (am_entry){0};
    am_entry e = am_entry_of(y);
    if (!e.node->name && !(e.node->name = strdup(s->g->names[i]))) {
        am_fail(AM_ERR_OOM, "out of memory");
        return (am_entry){0};
    }
    return e;
}

static am_site site_of(const am_node *n, char *buf, size_t len)
{
    am_site at = am_node_site(n, buf, len);
    return at.file ? at : (am_site){"simplify", 0};
}

/* perm(perm(x)), two ops with a permutation hook (transpose, SwapAxis): one
 * transpose with the composed axes, or x when they cancel; a single one that
 * keeps every axis in place is x as well.  Returns 1 with *to an existing
 * entry, 2 with *to a new node, 0 when the rule does not apply, -1 on
 * failure. */
static int rule_transpose(simp *s, int i, am_entry *to, const char **why)
{
    const am_node *n = s->g->nodes[i];
    int nd = n->shapes[0].ndim, outer[AM_MAX_NDIM], inner[AM_MAX_NDIM], c[AM_MAX_NDIM];
    if (!node_perm(n, nd, outer)) return 0;
    am_entry x = am_rw_get(&s->rw, n->inputs[0]);
    bool chain = x.index == 0 && node_perm(x.node, nd, inner);
    bool identity = true;
    for (int k = 0; k < nd; k++) {
        c[k] = chain ? inner[outer[k]] : outer[k];
        identity = identity && c[k] == k;
    }
    if (chain) x = x.node->inputs[0];
    if (identity) {
        if (!same_type(n, 0, x)) return 0;
        *to = x;
        *why = chain ? "transposes that cancel" : "identity transpose";
        return 1;
    }
    if (!chain) return 0;
    char buf[256];
    *to = adopt(s, i, am_transpose_at(am_rw_symbol(x), c, nd, site_of(n, buf, sizeof(buf))));
    *why = "double transpose";
    return to->node ? 2 : -1;
}

/* A view op that keeps every element in order: output 0 is input 0's
 * elements (same count and dtype, at offset 0) in another shape.  Reshape,
 * Flatten, expand_dims, squeeze, reshape_like and whole slices are. */
static bool is_reshape_view(const am_node *n)
{
    if (!n->op || !n->op->view || n->n_out != 1 || n->n_in < 1) return false;
    am_entry in = n->inputs[0];
    const am_shape *x = entry_shape(in), *y = &n->shapes[0];
    int64_t offset = -1;
    return x->ndim >= 0 && y->ndim >= 0 && n->dtypes[0] == entry_dtype(in) &&
           n->dtypes[0] != AM_DTYPE_COUNT && am_shape_size(x) == am_shape_size(y) &&
           n->op->view(n->attrs, x, &offset) && offset == 0;
}

/* Reshape's shape attribute reads 0 as "copy", and () is no shape. */
static bool reshape_can_say(const am_shape *s)
{
    if (s->ndim < 1 || s->ndim > AM_MAX_TUPLE) return false;
    for (int k = 0; k < s->ndim; k++)
        if (s->dim[k] <= 0) return false;
    return true;
}

/* view(view(x)): one Reshape of x to the final shape, or x itself when the
 * shape comes back to x's; a single view that keeps x's shape is x. */
static int rule_view_chain(simp *s, int i, am_entry *to, const char **why)
{
    const am_node *n = s->g->nodes[i];
    if (!is_reshape_view(n)) return 0;
    am_entry x = am_rw_get(&s->rw, n->inputs[0]);
    bool chain = is_reshape_view(x.node);
    if (chain) x = x.node->inputs[0];
    if (same_type(n, 0, x)) {
        *to = x;
        *why = chain ? "reshapes back to the input's shape" : "identity reshape";
        return 1;
    }
    if (!chain || !reshape_can_say(&n->shapes[0])) return 0;
    char buf[256];
    am_array *y = am_reshape_at(am_rw_symbol(x), n->shapes[0], false, site_of(n, buf, sizeof(buf)));
    *to = adopt(s, i, y);
    *why = "reshape chain";
    return to->node ? 2 : -1;
}

/* ---- the pass ------------------------------------------------------------------------ */

/* The name an entry of the new graph goes by. */
static const char *entry_name(const simp *s, am_entry e)
{
    int j = am_graph_index(s->g, e.node);
    return j >= 0 ? s->g->names[j] : e.node->name ? e.node->name : e.node->op->name;
}

/* What output 0 of node i becomes: 1 with *to (borrowed), 0 to keep the
 * node, -1 on failure. */
static int simplify_node(simp *s, int i, am_entry *to)
{
    const am_node *n = s->g->nodes[i];
    if (!others_unused(s, i)) return 0; /* only output 0 could be remapped */
    const char *why = rule_scalar(s, i, to);
    int r = 0;
    if (!why) why = rule_binary(s, i, to);
    if (!why) why = rule_nary(s, i, to);
    if (!why) why = rule_identity(s, i, to);
    if (why) r = 1;
    else if ((r = rule_transpose(s, i, to, &why)) == 0) r = rule_view_chain(s, i, to, &why);
    if (r <= 0) return r;
    char shape[96];
    if (r == 2)
        am_pass_log(s->ctx, "%s: '%s' (%s) becomes %s %s of '%s'", why, s->g->names[i],
                    n->op->name, to->node->op->name,
                    am_shape_format(entry_shape(*to), shape, sizeof(shape)),
                    entry_name(s, to->node->inputs[0]));
    else
        am_pass_log(s->ctx, "%s: '%s' (%s) becomes '%s'", why, s->g->names[i], n->op->name,
                    entry_name(s, *to));
    return 1;
}

am_graph *am_pass_simplify(am_graph *g, am_pass_ctx *ctx)
{
    simp s = {.g = g, .ctx = ctx};
    if (am_graph_count_uses(g, &s.uses, &s.uoff) != AM_OK) return NULL;
    if (am_rw_init(&s.rw, g) != AM_OK) {
        free(s.uses), free(s.uoff);
        return NULL;
    }
    am_scope_begin(); /* the symbolic arrays of nodes built here */
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++) {
        am_entry to = {0};
        int r = g->nodes[i]->op ? simplify_node(&s, i, &to) : 0;
        if (r > 0) {
            am_rw_set(&s.rw, i, 0, to);
            ctx->changes++;
        } else {
            ok = r == 0 && am_rw_keep(&s.rw, i) != NULL;
        }
    }
    am_graph *out = ok ? am_rw_finish(&s.rw) : am_rw_fail(&s.rw);
    am_scope_end();
    free(s.uses), free(s.uoff);
    return out;
}
