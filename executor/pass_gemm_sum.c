/* GEMM sums: a sum (an op whose algebra facet adds: add_n, elemwise_add,
 * broadcast_add of equal shapes, or a tree of them) of matrix products (GEMM
 * facet AM_GEMM_MATMUL: dot) with the same transposes becomes one product
 * over the operands joined along the contracted axis,
 *     sum_t op(A_t) op(B_t) = op(join A_t) op(join B_t),
 * so the weight gradient of an unrolled RNN, sum_t G_t^T X_t, is one GEMM. */
#include "executor_impl.h"

/* A dot that may join others: an (m, n) product with these transposes. */
typedef struct gs_dot {
    bool ta, tb;
    int64_t m, n;
} gs_dot;

/* A sum tree with at least one group of dots: its leaves (old entries) in
 * order, and for each the first leaf of its group, or -1. */
typedef struct gs_tree {
    am_entry *leaf;
    int *group;
    gs_dot *dot;
    int n, cap;
} gs_tree;

typedef struct gs_state {
    am_graph *g;
    int *uses, *offset;     /* am_graph_count_uses */
    bool *interior;         /* a sum absorbed into the sum that reads it */
    bool *cst;              /* am_graph_constants: joins of these fold away */
    gs_tree *tree;          /* per node: its tree when it is a root with groups */
} gs_state;

static int uses_of(const gs_state *s, am_entry e)
{
    return s->uses[s->offset[am_graph_index(s->g, e.node)] + e.index];
}

static const am_shape *shape_of(am_entry e)
{
    return &e.node->shapes[e.index];
}

/* n adds same-shape values: add_n, elemwise_add, or broadcast_add that does
 * not broadcast; its output shape and dtype are known. */
static bool is_sum(const am_node *n)
{
    const am_op_algebra *al = n->op ? n->op->algebra : NULL;
    if (!al || al->arith != AM_ARITH_ADD || n->n_out != 1 || n->shapes[0].ndim < 0 ||
        n->dtypes[0] == AM_DTYPE_COUNT)
        return false;
    if (al->operands == AM_OPERANDS_NARY || al->operands == AM_OPERANDS_SAME) return true;
    if (al->operands != AM_OPERANDS_BROADCAST) return false;
    for (int k = 0; k < n->n_in; k++)
        if (!am_shape_equal(*shape_of(n->inputs[k]), n->shapes[0])) return false;
    return true;
}

/* Marks the sums read once, by a sum of the same shape and dtype: they
 * belong to the tree of the sum that reads them. */
static void mark_interior(gs_state *s)
{
    for (int i = 0; i < s->g->n_nodes; i++) {
        const am_node *n = s->g->nodes[i];
        if (!is_sum(n)) continue;
        for (int k = 0; k < n->n_in; k++) {
            am_entry e = n->inputs[k];
            if (is_sum(e.node) && uses_of(s, e) == 1 &&
                am_shape_equal(*shape_of(e), n->shapes[0]) && e.node->dtypes[0] == n->dtypes[0])
                s->interior[am_graph_index(s->g, e.node)] = true;
        }
    }
}

/* e is a matrix product (lhs 0, rhs 1) read only by its sum, over known
 * matrices (rank 2 or more, not empty): fills d. */
static bool dot_leaf(const gs_state *s, am_entry e, gs_dot *d)
{
    const am_node *n = e.node;
    const am_gemm_facet *gm = n->op ? n->op->gemm : NULL;
    if (!gm || gm->kind != AM_GEMM_MATMUL || gm->data != 0 || gm->weight != 1 ||
        n->n_out != 1 || n->n_in != 2 || uses_of(s, e) != 1)
        return false;
    am_gemm_attrs ga;
    gm->read(n->attrs, &ga);
    bool ta = ga.transpose_a, tb = ga.transpose_b;
    const am_shape *a = shape_of(n->inputs[0]), *b = shape_of(n->inputs[1]);
    if (a->ndim < 2 || b->ndim < 2 || am_shape_size(a) == 0 || am_shape_size(b) == 0)
        return false;
    am_shape ma = am_join_matrix_shape(*a, ta ? AM_JOIN_FIRST : AM_JOIN_LAST);
    am_shape mb = am_join_matrix_shape(*b, tb ? AM_JOIN_LAST : AM_JOIN_FIRST);
    *d = (gs_dot){ta, tb, ta ? ma.dim[1] : ma.dim[0], tb ? mb.dim[0] : mb.dim[1]};
    return true;
}

static am_status tree_push(gs_tree *t, am_entry e)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        am_entry *leaf = realloc(t->leaf, (size_t)cap * sizeof(*leaf));
        if (leaf) t->leaf = leaf;
        int *group = realloc(t->group, (size_t)cap * sizeof(*group));
        if (group) t->group = group;
        gs_dot *dot = realloc(t->dot, (size_t)cap * sizeof(*dot));
        if (dot) t->dot = dot;
        if (!leaf || !group || !dot) return am_fail(AM_ERR_OOM, "out of memory");
        t->cap = cap;
    }
    t->leaf[t->n] = e;
    t->group[t->n++] = -1;
    return AM_OK;
}

static void tree_free(gs_tree *t)
{
    free(t->leaf), free(t->group), free(t->dot);
    *t = (gs_tree){0};
}

/* The leaves of the tree rooted at node root, left to right. */
static am_status collect(const gs_state *s, int root, gs_tree *t)
{
    const am_node *r = s->g->nodes[root];
    int cap = r->n_in + 16, n = 0;
    am_entry *stack = malloc((size_t)cap * sizeof(*stack));
    if (!stack) return am_fail(AM_ERR_OOM, "out of memory");
    for (int k = r->n_in - 1; k >= 0; k--) stack[n++] = r->inputs[k];
    am_status st = AM_OK;
    while (n > 0 && st == AM_OK) {
        am_entry e = stack[--n];
        const am_node *p = e.node;
        if (!s->interior[am_graph_index(s->g, p)]) {
            st = tree_push(t, e);
            continue;
        }
        if (n + p->n_in > cap) {
            am_entry *more = realloc(stack, (size_t)(cap = 2 * (n + p->n_in)) * sizeof(*more));
            if (!more) {
                st = am_fail(AM_ERR_OOM, "out of memory");
                break;
            }
            stack = more;
        }
        for (int k = p->n_in - 1; k >= 0; k--) stack[n++] = p->inputs[k];
    }
    free(stack);
    return st;
}

static bool same_kind(const gs_tree *t, int a, int b)
{
    const gs_dot *x = &t->dot[a], *y = &t->dot[b];
    const am_node *na = t->leaf[a].node, *nb = t->leaf[b].node;
    return x->ta == y->ta && x->tb == y->tb && x->m == y->m && x->n == y->n &&
           na->dtypes[0] == nb->dtypes[0] && am_attrs_print_equal(na->op, na->attrs, nb->attrs);
}

/* Elements of e a join copies on every run: none for a constant, which
 * constant folding joins once. */
static int64_t join_cost(const gs_state *s, am_entry e)
{
    return s->cst[am_graph_index(s->g, e.node)] ? 0 : am_shape_size(shape_of(e));
}

/* Joining group first of t pays: the joins copy no more elements than the
 * sum stops writing and reading (one product per member).  An unrolled
 * RNN's weight gradient joins 12x less than it saves; the data gradient of
 * three 256-wide projections of 16 rows joins 17x more and ran 3% slower
 * (docs/passes/gemm_sum.md). */
static bool pays(const gs_state *s, const gs_tree *t, int first)
{
    int64_t joined = 0, saved = 0;
    for (int k = first; k < t->n; k++) {
        if (t->group[k] != first) continue;
        const am_node *d = t->leaf[k].node;
        joined += join_cost(s, d->inputs[0]) + join_cost(s, d->inputs[1]);
        saved += t->dot[k].m * t->dot[k].n;
    }
    return joined <= saved;
}

/* Groups the dot leaves of t that compute products of one kind, where
 * joining pays; returns how many groups there are (two members or more). */
static int find_groups(const gs_state *s, gs_tree *t)
{
    bool *open = malloc((size_t)t->n + 1);
    int n_groups = 0;
    if (!open) return am_fail(AM_ERR_OOM, "out of memory"), -1;
    for (int k = 0; k < t->n; k++) open[k] = dot_leaf(s, t->leaf[k], &t->dot[k]);
    for (int k = 0; k < t->n; k++) {
        if (!open[k]) continue;
        int members = 1;
        t->group[k] = k;
        for (int j = k + 1; j < t->n; j++)
            if (open[j] && same_kind(t, k, j)) {
                t->group[j] = k;
                open[j] = false;
                members++;
            }
        bool keep = members > 1 && pays(s, t, k);
        for (int j = k; j < t->n && !keep; j++)
            if (t->group[j] == k) t->group[j] = -1;
        n_groups += keep;
    }
    free(open);
    return n_groups;
}

/* ---- rewriting ---------------------------------------------------------------- */

/* A member of a group, ordered by where its operands are in the graph, so
 * that two groups over the same operands (the gates gradient of both RNN
 * weights) join them in the same order and share the join. */
typedef struct gs_member {
    int key[4];
    am_entry a, b;
} gs_member;

static int member_cmp(const void *x, const void *y)
{
    const gs_member *p = x, *q = y;
    for (int i = 0; i < 4; i++)
        if (p->key[i] != q->key[i]) return p->key[i] < q->key[i] ? -1 : 1;
    return 0;
}

/* The members of group first of t, in that order; their count. */
static int members(const am_rewriter *rw, const gs_tree *t, int first, gs_member *m)
{
    int n = 0;
    for (int k = first; k < t->n; k++) {
        if (t->group[k] != first) continue;
        am_entry a = t->leaf[k].node->inputs[0], b = t->leaf[k].node->inputs[1];
        m[n++] = (gs_member){{am_graph_index(rw->g, a.node), a.index, am_graph_index(rw->g, b.node),
                              b.index}, am_rw_get(rw, a), am_rw_get(rw, b)};
    }
    qsort(m, (size_t)n, sizeof(*m), member_cmp);
    return n;
}

/* The one product of group first of t: the dots' operands joined along
 * their contracted axes, shaped as the sum. */
static am_array *group_product(am_rewriter *rw, am_join_cache *jc, const gs_tree *t, int first,
                               const am_shape *out, am_site at)
{
    gs_member *m = malloc((size_t)t->n * sizeof(*m));
    am_entry *a = malloc((size_t)t->n * sizeof(*a)), *b = malloc((size_t)t->n * sizeof(*b));
    am_array *in[2] = {NULL, NULL}, *y = NULL;
    const gs_dot *d = &t->dot[first];
    const am_node *dn = t->leaf[first].node;
    if (m && a && b) {
        int n = members(rw, t, first, m);
        for (int j = 0; j < n; j++) a[j] = m[j].a, b[j] = m[j].b;
        in[0] = am_join(jc, a, n, d->ta ? AM_JOIN_FIRST : AM_JOIN_LAST, d->ta ? 0 : 1, at);
        if (in[0]) in[1] = am_join(jc, b, n, d->tb ? AM_JOIN_LAST : AM_JOIN_FIRST, d->tb, at);
        if (in[1] && am_op_call(dn->op, dn->attrs, in, 2, &y, 1, at) == AM_OK) {
            am_entry_of(y).node->attrs_given = dn->attrs_given;
            if (!am_shape_equal(am_array_shape(y), *out)) y = am_reshape_at(y, *out, false, at);
        }
    } else {
        am_fail(AM_ERR_OOM, "out of memory");
    }
    free(m), free(a), free(b);
    return y;
}

/* The sum of xs: elemwise_add for two, add_n for more (add_n of add_n past
 * AM_MAX_OP_IO). */
static am_array *add_all(am_array **xs, int n, am_site at)
{
    if (n == 1) return xs[0];
    if (n == 2) return am_elemwise_add_at(xs[0], xs[1], at);
    if (n <= AM_MAX_OP_IO) return am_add_n_at(xs, n, at);
    am_array *parts[AM_MAX_OP_IO];
    int np = 0, per = (n + AM_MAX_OP_IO - 1) / AM_MAX_OP_IO;
    for (int i = 0; i < n; i += per)
        if (!(parts[np++] = add_all(xs + i, n - i < per ? n - i : per, at))) return NULL;
    return add_all(parts, np, at);
}

static void log_group(am_pass_ctx *ctx, const am_graph *g, const gs_tree *t, int first, int root)
{
    int n = 0, last = first;
    int64_t k = 0;
    for (int j = first; j < t->n; j++)
        if (t->group[j] == first) {
            const am_node *d = t->leaf[j].node;
            am_shape a = am_join_matrix_shape(*shape_of(d->inputs[0]),
                                              t->dot[j].ta ? AM_JOIN_FIRST : AM_JOIN_LAST);
            k += t->dot[j].ta ? a.dim[0] : a.dim[1];
            n++, last = j;
        }
    am_pass_log(ctx, "%d dot nodes ('%s' ... '%s') summed by '%s' into one (%lld x %lld x %lld)",
                n, g->names[am_graph_index(g, t->leaf[first].node)],
                g->names[am_graph_index(g, t->leaf[last].node)], g->names[root],
                (long long)t->dot[first].m, (long long)k, (long long)t->dot[first].n);
}

/* Maps root's output to the sum of its groups' products and its other leaves. */
static am_status build_sum(am_rewriter *rw, am_join_cache *jc, const gs_tree *t, int root,
                           am_pass_ctx *ctx)
{
    const am_graph *g = rw->g;
    const am_node *r = g->nodes[root];
    char buf[256];
    am_site at = am_node_site(r, buf, sizeof(buf));
    am_array **parts = malloc((size_t)t->n * sizeof(*parts)), *y = NULL;
    int np = 0;
    am_status st = parts ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    for (int k = 0; k < t->n && st == AM_OK; k++) {
        if (t->group[k] >= 0 && t->group[k] != k) continue; /* in an earlier product */
        if (t->group[k] < 0) {
            parts[np++] = am_rw_symbol(am_rw_get(rw, t->leaf[k]));
        } else if ((parts[np] = group_product(rw, jc, t, k, &r->shapes[0], at))) {
            np++;
            ctx->changes++;
            log_group(ctx, g, t, k, root);
        } else {
            st = am_last_status();
        }
    }
    if (st == AM_OK && !(y = add_all(parts, np, at))) st = am_last_status();
    free(parts);
    if (st != AM_OK) return st;
    am_node *n = am_entry_of(y).node;
    free(n->name);
    if (!(n->name = strdup(g->names[root]))) return am_fail(AM_ERR_OOM, "out of memory");
    am_rw_set(rw, root, 0, am_entry_of(y));
    return AM_OK;
}

static am_graph *rewrite(gs_state *s, am_pass_ctx *ctx)
{
    am_rewriter rw;
    am_join_cache jc = {0};
    if (am_rw_init(&rw, s->g) != AM_OK) return NULL;
    am_scope_begin();
    for (int i = 0; i < s->g->n_nodes; i++) {
        bool ok = s->tree[i].n ? build_sum(&rw, &jc, &s->tree[i], i, ctx) == AM_OK
                               : am_rw_keep(&rw, i) != NULL;
        if (!ok) {
            am_join_cache_free(&jc);
            am_scope_end();
            return am_rw_fail(&rw);
        }
    }
    am_join_cache_free(&jc);
    am_graph *out = am_rw_finish(&rw);
    am_scope_end();
    return out;
}

/* ---- the pass ---------------------------------------------------------------------- */

/* Fills s->tree for every root sum with a group; returns how many, or -1. */
static int find_trees(gs_state *s)
{
    int n_trees = 0;
    mark_interior(s);
    for (int i = 0; i < s->g->n_nodes; i++) {
        if (s->interior[i] || !is_sum(s->g->nodes[i])) continue;
        gs_tree *t = &s->tree[i];
        int groups = collect(s, i, t) == AM_OK ? find_groups(s, t) : -1;
        if (groups < 0) return -1;
        if (groups == 0) tree_free(t);
        else n_trees++;
    }
    return n_trees;
}

am_graph *am_pass_gemm_sum(am_graph *g, am_pass_ctx *ctx)
{
    gs_state s = {g, NULL, NULL, NULL, NULL, NULL};
    if (am_graph_count_uses(g, &s.uses, &s.offset) != AM_OK) return NULL;
    s.interior = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    s.tree = calloc((size_t)g->n_nodes + 1, sizeof(gs_tree));
    am_graph *out = NULL;
    int n_trees = -1;
    if (!s.interior || !s.tree) am_fail(AM_ERR_OOM, "out of memory");
    else if ((s.cst = am_graph_constants(g))) n_trees = find_trees(&s);
    if (n_trees == 0) out = am_graph_retain(g);
    else if (n_trees > 0) out = rewrite(&s, ctx);
    for (int i = 0; s.tree && i < g->n_nodes; i++) tree_free(&s.tree[i]);
    free(s.uses), free(s.offset), free(s.interior), free(s.tree), free(s.cst);
    return out;
}
