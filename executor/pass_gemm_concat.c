/* GEMM concatenation (horizontal fusion): independent dense products
 * (FullyConnected: GEMM facet AM_GEMM_DENSE) reading the same data with
 * different constant weights (the q/k/v projections of attention, frozen),
 * or matrix products (dot: AM_GEMM_MATMUL) sharing their left operand,
 * become one product over the weights joined along the output axis (a join
 * constant folding computes once), sliced back for each consumer.  Where it
 * applies and why only there: docs/passes/gemm_concat.md. */
#include "executor_impl.h"

/* Most members of one group: one Concat of weights. */
#define MAX_MEMBERS AM_MAX_OP_IO

/* Members whose products are at most this much work (rows x width x cols)
 * are left alone: OpenBLAS 0.3.21 runs such a GEMM on one thread, and the
 * joined one, larger, would wake the pool (4 rows x 256 x 256 per member,
 * three members: 16% slower, docs/passes/gemm_concat.md). */
#define GC_MIN_WORK (1 << 18)

/* What the members share: a dense product its data, a matrix product its
 * left operand. */
enum { GC_FC, GC_DOT };

/* A candidate: node i sharing input `shared`, contributing `width` columns
 * of the joined product. */
typedef struct gc_cand {
    int node, kind;
    am_entry shared;
    int64_t width;
} gc_cand;

typedef struct gc_group {
    gc_cand c[MAX_MEMBERS];
    int n;
} gc_group;

static bool known(am_entry e)
{
    return e.node->shapes[e.index].ndim >= 0 && e.node->dtypes[e.index] != AM_DTYPE_COUNT &&
           am_shape_size(&e.node->shapes[e.index]) > 0;
}

/* Rows and columns of a product's left operand x: all but the last axis
 * (or, flattening, the first) by the rest. */
static int64_t work(am_entry x, bool flatten, int64_t width)
{
    const am_shape *s = &x.node->shapes[x.index];
    int64_t rows = 1, size = am_shape_size(s);
    for (int i = 0; i < (flatten ? 1 : s->ndim - 1); i++) rows *= s->dim[i];
    return rows * width * (rows ? size / rows : 0);
}

/* A dense product (data 0, weight 1, bias 2) with a 1-D bias (or none),
 * whose width the pass may write. */
static bool fc_candidate(const am_node *n, gc_cand *c)
{
    const am_gemm_facet *gm = n->op->gemm;
    am_gemm_attrs ga;
    if (!gm->write || gm->weight != 1 || (n->n_in == 3 && gm->bias != 2)) return false;
    if (n->n_in == 3 && n->inputs[2].node->shapes[n->inputs[2].index].ndim != 1) return false;
    gm->read(n->attrs, &ga);
    if (work(n->inputs[0], ga.flatten, ga.num_out) <= GC_MIN_WORK) return false;
    *c = (gc_cand){.kind = GC_FC, .shared = n->inputs[0], .width = ga.num_out};
    return true;
}

/* A matrix product (lhs 0, rhs 1) over matrices (rank 2 or more) with
 * transpose_a false. */
static bool dot_candidate(const am_node *n, gc_cand *c)
{
    am_gemm_attrs ga;
    n->op->gemm->read(n->attrs, &ga);
    bool tb = ga.transpose_b;
    if (n->n_in != 2 || n->op->gemm->weight != 1 || ga.transpose_a) return false;
    am_shape a = n->inputs[0].node->shapes[n->inputs[0].index];
    am_shape b = n->inputs[1].node->shapes[n->inputs[1].index];
    if (a.ndim < 2 || b.ndim < 2) return false;
    b = am_join_matrix_shape(b, tb ? AM_JOIN_LAST : AM_JOIN_FIRST);
    *c = (gc_cand){.kind = GC_DOT, .shared = n->inputs[0], .width = b.dim[tb ? 0 : 1]};
    return work(n->inputs[0], false, c->width) > GC_MIN_WORK;
}

/* Node i is a product whose weights (every input but the shared one) are
 * constants or computed from constants alone (cst[]), over known inputs. */
static bool candidate(const am_graph *g, const bool *cst, int i, gc_cand *c)
{
    const am_node *n = g->nodes[i];
    const am_gemm_facet *gm = n->op ? n->op->gemm : NULL;
    if (!gm || (gm->kind != AM_GEMM_DENSE && gm->kind != AM_GEMM_MATMUL) || gm->data != 0 ||
        n->n_out != 1)
        return false;
    for (int k = 0; k < n->n_in; k++)
        if (!known(n->inputs[k]) || (k > 0 && !cst[am_graph_index(g, n->inputs[k].node)]))
            return false;
    bool ok = gm->kind == AM_GEMM_DENSE ? fc_candidate(n, c) : dot_candidate(n, c);
    c->node = i;
    return ok;
}

/* a and b may share one product: same op, shared input, dtypes, and
 * attributes but for the width (num_hidden). */
static bool compatible(const am_node *a, const gc_cand *ca, const am_node *b, const gc_cand *cb)
{
    if (a->op != b->op || ca->kind != cb->kind || a->n_in != b->n_in ||
        ca->shared.node != cb->shared.node || ca->shared.index != cb->shared.index ||
        a->dtypes[0] != b->dtypes[0])
        return false;
    for (int k = 0; k < a->n_in; k++)
        if (a->inputs[k].node->dtypes[a->inputs[k].index] !=
            b->inputs[k].node->dtypes[b->inputs[k].index])
            return false;
    if (ca->kind != GC_FC) return am_attrs_print_equal(a->op, a->attrs, b->attrs);
    /* b with a's width compares equal to a when only the widths differ */
    void *bw = malloc(b->op->attrs_size ? b->op->attrs_size : 1);
    if (!bw) return false;
    am_gemm_attrs ga, gb;
    memcpy(bw, b->attrs, b->op->attrs_size);
    a->op->gemm->read(a->attrs, &ga);
    b->op->gemm->read(bw, &gb);
    gb.num_out = ga.num_out;
    b->op->gemm->write(bw, &gb);
    bool same = am_attrs_print_equal(a->op, a->attrs, bw);
    free(bw);
    return same;
}

/* ---- choosing a group ---------------------------------------------------------------- */

/* Keeps the members of gr that depend on no earlier kept member (one bit
 * per member in anc[] of each node from the first member on). */
static am_status independent(const am_graph *g, gc_group *gr)
{
    int first = gr->c[0].node, kept = 0;
    uint64_t *anc = calloc((size_t)(g->n_nodes - first), sizeof(uint64_t));
    if (!anc) return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = first, j = 0; i < g->n_nodes && j < gr->n; i++) {
        uint64_t a = 0;
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            int p = am_graph_index(g, g->nodes[i]->inputs[k].node);
            if (p >= first) a |= anc[p - first];
        }
        if (gr->c[j].node == i) {
            if (!a) {
                a = 1ull << kept;
                gr->c[kept++] = gr->c[j];
            }
            j++;
        }
        anc[i - first] = a;
    }
    gr->n = kept;
    free(anc);
    return AM_OK;
}

/* The first group of two or more independent, compatible candidates not
 * marked in done[]; gr->n 0 when there is none. */
static am_status next_group(const am_graph *g, const bool *cst, bool *done, gc_group *gr)
{
    gc_cand c, r;
    for (int i = 0; i < g->n_nodes; i++) {
        if (done[i] || !candidate(g, cst, i, &r)) continue;
        gr->n = 0;
        for (int j = i; j < g->n_nodes && gr->n < MAX_MEMBERS; j++)
            if (!done[j] && candidate(g, cst, j, &c) &&
                compatible(g->nodes[i], &r, g->nodes[j], &c))
                gr->c[gr->n++] = c;
        done[i] = true;
        if (gr->n < 2) continue;
        if (independent(g, gr) != AM_OK) return am_last_status();
        if (gr->n >= 2) {
            for (int k = 0; k < gr->n; k++) done[gr->c[k].node] = true;
            return AM_OK;
        }
    }
    gr->n = 0;
    return AM_OK;
}

/* ---- rewriting -------------------------------------------------------------------------- */

/* Attributes of the joined product: the first member's, with the total
 * width for a dense product.  malloc'd, or NULL. */
static void *joined_attrs(const am_node *first, const gc_group *gr)
{
    void *attrs = malloc(first->op->attrs_size ? first->op->attrs_size : 1);
    if (!attrs) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    memcpy(attrs, first->attrs, first->op->attrs_size);
    int64_t width = 0;
    for (int j = 0; j < gr->n; j++) width += gr->c[j].width;
    if (gr->c[0].kind == GC_FC) {
        am_gemm_attrs ga;
        first->op->gemm->read(attrs, &ga);
        ga.num_out = width;
        first->op->gemm->write(attrs, &ga);
    }
    return attrs;
}

/* The joined product of gr over its inputs in the new graph: the weights
 * (and biases) joined along the output axis, from jc when joined before. */
static am_array *joined(am_rewriter *rw, am_join_cache *jc, const gc_group *gr, am_site at)
{
    const am_node *first = rw->g->nodes[gr->c[0].node];
    am_entry w[MAX_MEMBERS], b[MAX_MEMBERS];
    am_array *in[3] = {am_rw_symbol(am_rw_get(rw, gr->c[0].shared)), NULL, NULL}, *y = NULL;
    am_gemm_attrs ga;
    first->op->gemm->read(first->attrs, &ga);
    bool tb = gr->c[0].kind == GC_DOT && ga.transpose_b;
    for (int j = 0; j < gr->n; j++) {
        const am_node *m = rw->g->nodes[gr->c[j].node];
        w[j] = am_rw_get(rw, m->inputs[1]);
        if (m->n_in == 3) b[j] = am_rw_get(rw, m->inputs[2]);
    }
    /* FullyConnected weights are (width, cols); a dot's right operand is
     * (cols, width) or, transposed, (width, cols), as matrices. */
    if (gr->c[0].kind == GC_FC) in[1] = am_join(jc, w, gr->n, AM_JOIN_AS_IS, 0, at);
    else in[1] = am_join(jc, w, gr->n, tb ? AM_JOIN_LAST : AM_JOIN_FIRST, tb ? 0 : 1, at);
    if (!in[1] || (first->n_in == 3 && !(in[2] = am_join(jc, b, gr->n, AM_JOIN_AS_IS, 0, at))))
        return NULL;
    void *attrs = joined_attrs(first, gr);
    if (!attrs) return NULL;
    am_status st = am_op_call(first->op, attrs, in, first->n_in, &y, 1, at);
    free(attrs);
    if (st != AM_OK) return NULL;
    am_entry_of(y).node->attrs_given = first->attrs_given;
    return y;
}

static am_status set_name(am_array *y, const char *name, const char *suffix)
{
    am_node *n = am_entry_of(y).node;
    size_t len = strlen(name) + strlen(suffix) + 1;
    free(n->name);
    if (!(n->name = malloc(len))) return am_fail(AM_ERR_OOM, "out of memory");
    snprintf(n->name, len, "%s%s", name, suffix);
    return AM_OK;
}

/* Maps every member's output to its slice of one joined product. */
static am_status build_group(am_rewriter *rw, am_join_cache *jc, const gc_group *gr)
{
    const am_graph *g = rw->g;
    char buf[256];
    am_site at = am_node_site(g->nodes[gr->c[0].node], buf, sizeof(buf));
    am_array *y = joined(rw, jc, gr, at);
    if (!y || set_name(y, g->names[gr->c[0].node], "_concat") != AM_OK) return am_last_status();
    int axis = am_array_shape(y).ndim - 1;
    int64_t at_col = 0;
    for (int j = 0; j < gr->n; j++) {
        const gc_cand *c = &gr->c[j];
        const am_shape *want = &g->nodes[c->node]->shapes[0];
        am_array *part = am_slice_axis_at(y, axis, at_col, at_col + c->width, at);
        if (part && !am_shape_equal(am_array_shape(part), *want))
            part = am_reshape_at(part, *want, false, at);
        if (!part || set_name(part, g->names[c->node], "") != AM_OK) return am_last_status();
        am_rw_set(rw, c->node, 0, am_entry_of(part));
        at_col += c->width;
    }
    return AM_OK;
}

/* Rewrites one group: what the members depend on first, then the joined
 * product and its slices, then the rest in order. */
static am_graph *rewrite(am_graph *g, const gc_group *gr)
{
    am_rewriter rw;
    am_join_cache jc = {0};
    bool *member = calloc((size_t)g->n_nodes + 1, 1), *need = calloc((size_t)g->n_nodes + 1, 1);
    if (!member || !need || am_rw_init(&rw, g) != AM_OK) {
        if (!member || !need) am_fail(AM_ERR_OOM, "out of memory");
        free(member), free(need);
        return NULL;
    }
    for (int j = 0; j < gr->n; j++) member[gr->c[j].node] = need[gr->c[j].node] = true;
    am_graph_mark_ancestors(g, need);
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++)
        if (need[i] && !member[i]) ok = am_rw_keep(&rw, i) != NULL;
    ok = ok && build_group(&rw, &jc, gr) == AM_OK;
    for (int i = 0; i < g->n_nodes && ok; i++)
        if (!need[i]) ok = am_rw_keep(&rw, i) != NULL;
    am_join_cache_free(&jc);
    free(member), free(need);
    return ok ? am_rw_finish(&rw) : am_rw_fail(&rw);
}

static void log_group(am_pass_ctx *ctx, const am_graph *g, const gc_group *gr)
{
    int64_t width = 0;
    for (int j = 0; j < gr->n; j++) width += gr->c[j].width;
    am_pass_log(ctx, "%d %s nodes ('%s' ... '%s') reading '%s' into one %lld wide", gr->n,
                g->nodes[gr->c[0].node]->op->name, g->names[gr->c[0].node],
                g->names[gr->c[gr->n - 1].node],
                g->names[am_graph_index(g, gr->c[0].shared.node)], (long long)width);
}

/* The next group of cur into gr (gr->n 0: none). */
static am_status find_group(const am_graph *cur, gc_group *gr)
{
    bool *cst = am_graph_constants(cur), *done = calloc((size_t)cur->n_nodes + 1, sizeof(bool));
    am_status st = cst && done ? next_group(cur, cst, done, gr)
                               : cst ? am_fail(AM_ERR_OOM, "out of memory") : am_last_status();
    free(cst), free(done);
    return st;
}

am_graph *am_pass_gemm_concat(am_graph *g, am_pass_ctx *ctx)
{
    gc_group *gr = malloc(sizeof(*gr));
    if (!gr) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    am_graph *cur = am_graph_retain(g);
    /* One group per rewrite: joining one group adds dependencies (through
     * the joined product) that decide whether another stays acyclic. */
    while (cur) {
        if (find_group(cur, gr) != AM_OK) break;
        if (gr->n < 2) {
            free(gr);
            return cur;
        }
        am_scope_begin();
        am_graph *next = rewrite(cur, gr);
        am_scope_end();
        if (next) {
            ctx->changes++;
            log_group(ctx, cur, gr);
        }
        am_graph_release(cur);
        cur = next;
    }
    free(gr);
    am_graph_release(cur);
    return NULL;
}
