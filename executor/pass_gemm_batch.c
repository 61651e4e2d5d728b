/* GEMM batching: independent dense products (FullyConnected: GEMM facet
 * AM_GEMM_DENSE) sharing one weight (and bias), or matrix products (dot:
 * AM_GEMM_MATMUL) sharing one right operand, become one product over their
 * inputs joined along the rows, sliced back for each consumer.  An unrolled
 * RNN's input projections become one large GEMM this way. */
#include "executor_impl.h"

/* Most nodes batched at once: two levels of Concat of AM_MAX_OP_IO inputs
 * would allow more, but the reachability bitsets grow with the group. */
#define MAX_BATCH 1024

/* A candidate product: node i reading its data as a (rows, cols) matrix. */
typedef struct gb_cand {
    int node;
    int64_t rows, cols;
} gb_cand;

typedef struct gb_group {
    gb_cand *c;
    int n;
} gb_group;

/* Node n is a product that may join a batch: a dense product, or a matrix
 * product with transpose_a false, whose data is input 0 (the rows joined),
 * with known shapes and no empty operand. */
static bool candidate(const am_node *n, gb_cand *c)
{
    const am_gemm_facet *gm = n->op ? n->op->gemm : NULL;
    if (!gm || (gm->kind != AM_GEMM_DENSE && gm->kind != AM_GEMM_MATMUL) || gm->data != 0 ||
        n->n_out != 1)
        return false;
    for (int k = 0; k < n->n_in; k++) /* traced from them: nothing inferred backwards */
        if (n->inputs[k].node->shapes[n->inputs[k].index].ndim < 0 ||
            n->inputs[k].node->dtypes[n->inputs[k].index] == AM_DTYPE_COUNT)
            return false;
    const am_shape *d = &n->inputs[0].node->shapes[n->inputs[0].index], *y = &n->shapes[0];
    if (d->ndim < 1 || y->ndim < 0 || am_shape_size(d) == 0 || am_shape_size(y) == 0)
        return false;
    am_gemm_attrs ga;
    gm->read(n->attrs, &ga);
    bool flatten = gm->kind == AM_GEMM_DENSE && ga.flatten;
    if (gm->kind == AM_GEMM_MATMUL && ga.transpose_a) return false;
    c->rows = 1;
    for (int i = 0; i < (flatten ? 1 : d->ndim - 1); i++) c->rows *= d->dim[i];
    c->cols = am_shape_size(d) / c->rows;
    return true;
}

static bool same_entry(am_entry a, am_entry b)
{
    return a.node == b.node && a.index == b.index;
}

/* a and b compute the same function of their data: the same op and
 * attributes over the same weight (and bias), data of the same dtype and
 * row length. */
static bool compatible(const am_node *a, const gb_cand *ca, const am_node *b, const gb_cand *cb)
{
    am_entry da = a->inputs[0], db = b->inputs[0];
    if (a->op != b->op || a->n_in != b->n_in || ca->cols != cb->cols ||
        da.node->dtypes[da.index] != db.node->dtypes[db.index])
        return false;
    for (int k = 1; k < a->n_in; k++)
        if (!same_entry(a->inputs[k], b->inputs[k])) return false;
    return am_attrs_print_equal(a->op, a->attrs, b->attrs);
}

/* ---- the largest independent subset ------------------------------------------------ */

typedef struct gb_match {
    int n, words;
    const uint64_t *reach;  /* bit j of row i: member i reaches member j */
    int *mate_r;            /* left vertex matched to right j, or -1 */
    bool *seen;
} gb_match;

static bool reaches(const gb_match *m, int i, int j)
{
    return (m->reach[(size_t)i * m->words + j / 64] >> (j % 64)) & 1;
}

static bool augment(gb_match *m, int u)
{
    for (int v = 0; v < m->n; v++) {
        if (!reaches(m, u, v) || m->seen[v]) continue;
        m->seen[v] = true;
        if (m->mate_r[v] < 0 || augment(m, m->mate_r[v])) {
            m->mate_r[v] = u;
            return true;
        }
    }
    return false;
}

/* Koenig: from the left vertices left unmatched, alternate non-matching
 * edges forward and matching edges back; z marks what is reached. */
static void alternate(const gb_match *m, const int *mate_l, int u, bool *zl, bool *zr)
{
    if (zl[u]) return;
    zl[u] = true;
    for (int v = 0; v < m->n; v++)
        if (reaches(m, u, v) && !zr[v] && mate_l[u] != v) {
            zr[v] = true;
            if (m->mate_r[v] >= 0) alternate(m, mate_l, m->mate_r[v], zl, zr);
        }
}

/* Keeps in keep[] the largest antichain of the reachability order (Dilworth:
 * n minus a maximum matching of the comparability graph); returns its size. */
static int max_antichain(int n, int words, const uint64_t *reach, bool *keep)
{
    int *mate_r = malloc((size_t)n * sizeof(int)), *mate_l = malloc((size_t)n * sizeof(int));
    bool *seen = malloc((size_t)n), *zl = calloc((size_t)n, 1), *zr = calloc((size_t)n, 1);
    int size = -1;
    if (mate_r && mate_l && seen && zl && zr) {
        gb_match m = {n, words, reach, mate_r, seen};
        for (int v = 0; v < n; v++) mate_r[v] = mate_l[v] = -1;
        for (int u = 0; u < n; u++) {
            memset(seen, 0, (size_t)n);
            augment(&m, u);
        }
        for (int v = 0; v < n; v++)
            if (mate_r[v] >= 0) mate_l[mate_r[v]] = v;
        for (int u = 0; u < n; u++)
            if (mate_l[u] < 0) alternate(&m, mate_l, u, zl, zr);
        size = 0;
        for (int v = 0; v < n; v++) size += (keep[v] = zl[v] && !zr[v]);
    } else {
        am_fail(AM_ERR_OOM, "out of memory");
    }
    free(mate_r), free(mate_l), free(seen), free(zl), free(zr);
    return size;
}

/* Narrows group gr to its largest subset in which no member depends on
 * another, from which members each node depends on (bitsets in order). */
static int independent(const am_graph *g, gb_group *gr)
{
    int n = gr->n, words = (n + 63) / 64, first = gr->c[0].node;
    uint64_t *anc = calloc((size_t)(g->n_nodes - first) * words, sizeof(uint64_t));
    uint64_t *reach = calloc((size_t)n * words, sizeof(uint64_t));
    bool *keep = malloc((size_t)n);
    int size = -1;
    if (!anc || !reach || !keep) {
        am_fail(AM_ERR_OOM, "out of memory");
        goto out;
    }
    for (int i = first, j = 0; i < g->n_nodes; i++) {
        uint64_t *a = anc + (size_t)(i - first) * words;
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            int p = am_graph_index(g, g->nodes[i]->inputs[k].node);
            if (p < first) continue; /* before every member: depends on none */
            const uint64_t *pa = anc + (size_t)(p - first) * words;
            for (int w = 0; w < words; w++) a[w] |= pa[w];
        }
        if (j < n && gr->c[j].node == i) {
            for (int u = 0; u < n; u++) /* reach[u][j]: u is an ancestor of j */
                if ((a[u / 64] >> (u % 64)) & 1)
                    reach[(size_t)u * words + j / 64] |= 1ull << (j % 64);
            a[j / 64] |= 1ull << (j % 64);
            j++;
        }
    }
    if ((size = max_antichain(n, words, reach, keep)) < 0) goto out;
    int k = 0;
    for (int j = 0; j < n; j++)
        if (keep[j]) gr->c[k++] = gr->c[j];
    gr->n = k;
out:
    free(anc), free(reach), free(keep);
    return size;
}

/* ---- choosing a group ----------------------------------------------------------------- */

/* Candidates compatible with node rep (in order), at most MAX_BATCH;
 * done[] marks them so that each group is gathered once. */
static int gather(const am_graph *g, int rep, bool *done, gb_cand *out)
{
    gb_cand cr, c;
    int n = 0;
    candidate(g->nodes[rep], &cr);
    for (int i = rep; i < g->n_nodes && n < MAX_BATCH; i++) {
        if (done[i] || !candidate(g->nodes[i], &c) ||
            !compatible(g->nodes[rep], &cr, g->nodes[i], &c))
            continue;
        c.node = i;
        out[n++] = c;
        done[i] = true;
    }
    return n;
}

/* The largest batchable group of g into best (n 0: none); AM_OK or an error. */
static am_status best_group(const am_graph *g, gb_group *best)
{
    bool *done = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    gb_group cur = {malloc(MAX_BATCH * sizeof(gb_cand)), 0};
    best->c = malloc(MAX_BATCH * sizeof(gb_cand));
    best->n = 0;
    am_status st = done && cur.c && best->c ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        gb_cand c;
        if (done[i] || !candidate(g->nodes[i], &c)) continue;
        cur.n = gather(g, i, done, cur.c);
        if (cur.n < 2 || cur.n <= best->n) continue; /* cannot beat the best */
        if (independent(g, &cur) < 0) st = am_last_status();
        else if (cur.n >= 2 && cur.n > best->n) {
            memcpy(best->c, cur.c, (size_t)cur.n * sizeof(gb_cand));
            best->n = cur.n;
        }
    }
    free(done), free(cur.c);
    return st;
}

/* ---- rewriting -------------------------------------------------------------------------- */

static am_array *concat_rows(am_array **xs, int n, am_site at)
{
    if (n <= AM_MAX_OP_IO) return n == 1 ? xs[0] : am_concat_at(xs, n, 0, at);
    am_array *parts[MAX_BATCH / AM_MAX_OP_IO + 1];
    int np = 0;
    for (int i = 0; i < n; i += AM_MAX_OP_IO)
        parts[np++] = concat_rows(xs + i, n - i < AM_MAX_OP_IO ? n - i : AM_MAX_OP_IO, at);
    return am_concat_at(parts, np, 0, at);
}

/* Maps every member's output to its rows of one product over all members'
 * data; the product takes the first member's name with "_batch". */
static am_status build_batch(am_rewriter *rw, const am_graph *g, const gb_group *gr)
{
    const am_node *first = g->nodes[gr->c[0].node];
    char buf[256], name[320];
    am_site at = am_node_site(first, buf, sizeof(buf));
    am_array **xs = malloc((size_t)gr->n * sizeof(*xs)), *in[AM_MAX_OP_IO], *y = NULL;
    if (!xs) return am_fail(AM_ERR_OOM, "out of memory");
    for (int j = 0; j < gr->n; j++) {
        const gb_cand *c = &gr->c[j];
        am_array *x = am_rw_symbol(am_rw_get(rw, g->nodes[c->node]->inputs[0]));
        am_shape s = am_array_shape(x);
        xs[j] = s.ndim == 2 ? x : am_reshape_at(x, AM_SHAPE(c->rows, c->cols), false, at);
    }
    in[0] = concat_rows(xs, gr->n, at);
    free(xs);
    for (int k = 1; k < first->n_in; k++) in[k] = am_rw_symbol(am_rw_get(rw, first->inputs[k]));
    am_status st = am_op_call(first->op, first->attrs, in, first->n_in, &y, 1, at);
    if (st != AM_OK) return st;
    am_node *n = am_entry_of(y).node;
    n->attrs_given = first->attrs_given;
    snprintf(name, sizeof(name), "%s_batch", g->names[gr->c[0].node]);
    if (!(n->name = strdup(name))) return am_fail(AM_ERR_OOM, "out of memory");
    int64_t row = 0;
    for (int j = 0; j < gr->n && st == AM_OK; j++) {
        const gb_cand *c = &gr->c[j];
        const am_shape *ys = &g->nodes[c->node]->shapes[0];
        am_array *part = am_slice_axis_at(y, 0, row, row + c->rows, at);
        am_shape ps = part ? am_array_shape(part) : *ys;
        if (part && !am_shape_equal(ps, *ys)) part = am_reshape_at(part, *ys, false, at);
        if (part) am_rw_set(rw, c->node, 0, am_entry_of(part));
        else st = am_last_status();
        row += c->rows;
    }
    return st;
}

/* Batches one group: the nodes the members depend on are mapped first, then
 * the batched product, then the rest in order (members already mapped). */
static am_graph *rewrite(am_graph *g, const gb_group *gr)
{
    am_rewriter rw;
    bool *member = calloc((size_t)g->n_nodes + 1, 1), *need = calloc((size_t)g->n_nodes + 1, 1);
    if (!member || !need || am_rw_init(&rw, g) != AM_OK) {
        if (!member || !need) am_fail(AM_ERR_OOM, "out of memory");
        free(member), free(need);
        return NULL;
    }
    for (int j = 0; j < gr->n; j++) member[gr->c[j].node] = need[gr->c[j].node] = true;
    am_graph_mark_ancestors(g, need);
    for (int i = 0; i < g->n_nodes; i++) /* what the members depend on */
        if (need[i] && !member[i] && !am_rw_keep(&rw, i)) goto fail;
    if (build_batch(&rw, g, gr) != AM_OK) goto fail;
    for (int i = 0; i < g->n_nodes; i++)
        if (!need[i] && !am_rw_keep(&rw, i)) goto fail;
    free(member), free(need);
    return am_rw_finish(&rw);
fail:
    free(member), free(need);
    return am_rw_fail(&rw);
}

static void log_group(am_pass_ctx *ctx, const am_graph *g, const gb_group *gr)
{
    const am_node *first = g->nodes[gr->c[0].node];
    int64_t rows = 0;
    for (int j = 0; j < gr->n; j++) rows += gr->c[j].rows;
    am_pass_log(ctx, "%d %s nodes ('%s' ... '%s') sharing '%s' into one of %lld rows", gr->n,
                first->op->name, g->names[gr->c[0].node], g->names[gr->c[gr->n - 1].node],
                g->names[am_graph_index(g, first->inputs[first->op->gemm->weight].node)],
                (long long)rows);
}

am_graph *am_pass_gemm_batch(am_graph *g, am_pass_ctx *ctx)
{
    am_graph *cur = am_graph_retain(g);
    /* One group per rewrite: batching one group adds dependencies (through
     * the shared product) that decide whether another group stays acyclic. */
    for (;;) {
        gb_group best = {0};
        am_status st = best_group(cur, &best);
        if (st != AM_OK || best.n < 2) {
            free(best.c);
            if (st == AM_OK) return cur;
            am_graph_release(cur);
            return NULL;
        }
        am_scope_begin();
        am_graph *next = rewrite(cur, &best);
        am_scope_end();
        if (next) {
            ctx->changes++;
            log_group(ctx, cur, &best);
        }
        free(best.c);
        am_graph_release(cur);
        if (!(cur = next)) return NULL;
    }
}
