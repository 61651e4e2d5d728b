/* BatchNorm folding for inference: a GEMM op with a bias input and a channel
 * axis (Convolution, FullyConnected: its GEMM facet) followed by a batch
 * normalisation (an op with a batchnorm facet: BatchNorm) over its output
 * channels becomes one GEMM node whose weight and bias absorb the moving
 * statistics, gamma and beta. */
#include "executor_impl.h"

/* A GEMM op whose bias the pass may add and whose weight's axis 0 holds the
 * output channels. */
static bool foldable_gemm(const am_node *n)
{
    const am_gemm_facet *g = n->op ? n->op->gemm : NULL;
    return g && (g->kind == AM_GEMM_DENSE || g->kind == AM_GEMM_CONV) && g->bias >= 0 &&
           g->channel_axis && g->write && n->n_out == 1;
}

static bool known(const am_entry e)
{
    return e.node->shapes[e.index].ndim >= 0 && am_dtype_is_float(e.node->dtypes[e.index]);
}

/* The GEMM node BatchNorm node b of g can absorb, or -1: it feeds only b, b's
 * hidden outputs (mean, inverse std) are unused, b normalises its channel
 * axis, and every shape involved is known. */
static int foldable(const am_graph *g, int b, const int *uses, const int *off)
{
    const am_node *bn = g->nodes[b];
    const am_batchnorm_facet *f = bn->op ? bn->op->batchnorm : NULL;
    if (!f || bn->n_in < 5 || f->data >= bn->n_in || f->gamma >= bn->n_in ||
        f->beta >= bn->n_in || f->moving_mean >= bn->n_in || f->moving_var >= bn->n_in)
        return -1;
    am_entry d = bn->inputs[f->data];
    const am_node *gemm = d.node;
    int p = am_graph_index(g, gemm);
    if (!foldable_gemm(gemm) || d.index != 0 || uses[off[p]] != 1) return -1;
    for (int k = 1; k < bn->n_out; k++)
        if (uses[off[b] + k] != 0) return -1;
    for (int k = 0; k < gemm->n_in; k++)
        if (!known(gemm->inputs[k])) return -1;
    for (int k = 0; k < bn->n_in; k++)
        if (k != f->data && !known(bn->inputs[k])) return -1;
    am_batchnorm_attrs ba;
    f->read(bn->attrs, &ba);
    int ax, nd = gemm->shapes[0].ndim;
    if (nd < 2 || !am_axis_norm(ba.axis, nd, &ax) ||
        ax != gemm->op->gemm->channel_axis(gemm->attrs, nd))
        return -1;
    return p;
}

static am_array *sym(am_rewriter *rw, am_entry old)
{
    return am_rw_symbol(am_rw_get(rw, old));
}

/* x in shape s, unchanged when it has it already. */
static am_array *as_shape(am_array *x, am_shape s, am_site at)
{
    am_shape xs = am_array_shape(x);
    return am_shape_equal(xs, s) ? x : am_reshape_at(x, s, false, at);
}

/* The folded weight and bias:
 *   scale   = gamma / sqrt(moving_var + eps)     (gamma = 1 with fix_gamma)
 *   weight' = weight * scale, over the weight's output-channel axis (0)
 *   bias'   = (bias - moving_mean) * scale + beta  (bias = 0 with no_bias)
 * built from ops on the parameters, so that frozen parameters fold to
 * constants and live ones are recomputed each run. */
static am_status fold_params(am_rewriter *rw, const am_node *gemm, const am_node *bn,
                             bool no_bias, am_site at, am_array **w2, am_array **b2)
{
    const am_batchnorm_facet *f = bn->op->batchnorm;
    const am_gemm_facet *gf = gemm->op->gemm;
    am_batchnorm_attrs ba;
    f->read(bn->attrs, &ba);
    am_array *w = sym(rw, gemm->inputs[gf->weight]);
    am_array *gamma = sym(rw, bn->inputs[f->gamma]), *beta = sym(rw, bn->inputs[f->beta]);
    am_array *mean = sym(rw, bn->inputs[f->moving_mean]);
    am_array *var = sym(rw, bn->inputs[f->moving_var]);
    int64_t c = am_array_dim(w, 0);
    am_array *inv = am_rsqrt_at(am_plus_scalar_at(var, ba.eps, at), at);
    am_array *scale = ba.fix_gamma ? inv : am_broadcast_mul_at(gamma, inv, at);
    am_shape ws = am_array_shape(w), ss = ws;
    for (int i = 1; i < ss.ndim; i++) ss.dim[i] = 1;
    *w2 = am_broadcast_mul_at(w, as_shape(scale, ss, at), at);
    if (no_bias) {
        *b2 = am_broadcast_sub_at(beta, am_broadcast_mul_at(mean, scale, at), at);
    } else {
        am_array *bias = as_shape(sym(rw, gemm->inputs[gf->bias]), AM_SHAPE(c), at);
        am_array *shift = am_broadcast_sub_at(bias, mean, at);
        *b2 = am_broadcast_add_at(am_broadcast_mul_at(shift, scale, at), beta, at);
    }
    return *w2 && *b2 ? AM_OK : am_last_status();
}

/* Maps BatchNorm node b's output to a new GEMM node over node p's data and
 * the folded parameters; the new node takes p's name. */
static am_status fold_one(am_rewriter *rw, const am_graph *g, int b, int p)
{
    const am_node *bn = g->nodes[b], *gemm = g->nodes[p];
    char buf[256];
    am_site at = am_node_site(bn, buf, sizeof(buf));
    const am_gemm_facet *gf = gemm->op->gemm;
    am_gemm_attrs ga;
    gf->read(gemm->attrs, &ga);
    /* The new node's inputs: the GEMM's, with the folded weight and bias. */
    am_array *in[AM_MAX_OP_IO] = {0}, *w2 = NULL, *b2 = NULL, *y = NULL;
    int n_in = gemm->n_in > gf->bias ? gemm->n_in : gf->bias + 1;
    if (n_in > AM_MAX_OP_IO) return am_fail(AM_ERR_INTERNAL, "too many inputs");
    am_status st = fold_params(rw, gemm, bn, ga.no_bias, at, &w2, &b2);
    if (st != AM_OK) return st;
    for (int k = 0; k < gemm->n_in; k++) in[k] = sym(rw, gemm->inputs[k]);
    in[gf->weight] = w2, in[gf->bias] = b2;
    void *attrs = malloc(gemm->op->attrs_size);
    if (!attrs) return am_fail(AM_ERR_OOM, "out of memory");
    memcpy(attrs, gemm->attrs, gemm->op->attrs_size);
    ga.no_bias = false;
    gf->write(attrs, &ga);
    am_site gat = am_node_site(gemm, buf, sizeof(buf));
    st = am_op_call(gemm->op, attrs, in, n_in, &y, 1, gat);
    free(attrs);
    if (st != AM_OK) return st;
    am_node *n = am_entry_of(y).node;
    n->attrs_given = gemm->attrs_given;
    if (!(n->name = strdup(g->names[p]))) return am_fail(AM_ERR_OOM, "out of memory");
    am_rw_set(rw, b, 0, am_entry_of(y));
    return AM_OK;
}

/* target[b] = the GEMM node BatchNorm b folds into (-1: none); absorbed[p]
 * marks those GEMM nodes, which the new graph no longer holds. */
static int find_folds(const am_graph *g, int *target, bool *absorbed)
{
    int *uses, *off, found = 0;
    if (am_graph_count_uses(g, &uses, &off) != AM_OK) return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        target[i] = foldable(g, i, uses, off);
        if (target[i] >= 0) absorbed[target[i]] = true, found++;
    }
    free(uses), free(off);
    return found;
}

static am_graph *rewrite(am_graph *g, am_pass_ctx *ctx, const int *target, const bool *absorbed)
{
    am_rewriter rw;
    if (am_rw_init(&rw, g) != AM_OK) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        if (absorbed[i]) continue;
        if (target[i] < 0) {
            if (!am_rw_keep(&rw, i)) return am_rw_fail(&rw);
            continue;
        }
        if (fold_one(&rw, g, i, target[i]) != AM_OK) return am_rw_fail(&rw);
        ctx->changes++;
        am_pass_log(ctx, "folded %s '%s' into %s '%s'", g->nodes[i]->op->name, g->names[i],
                    g->nodes[target[i]]->op->name, g->names[target[i]]);
    }
    return am_rw_finish(&rw);
}

am_graph *am_pass_bnfold(am_graph *g, am_pass_ctx *ctx)
{
    if (ctx->training) return am_graph_retain(g); /* BatchNorm learns from batches */
    int *target = malloc((size_t)(g->n_nodes + 1) * sizeof(int));
    bool *absorbed = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    am_graph *out = NULL;
    if (!target || !absorbed) {
        am_fail(AM_ERR_OOM, "out of memory");
    } else {
        int found = find_folds(g, target, absorbed);
        if (found == 0) out = am_graph_retain(g);
        else if (found > 0) {
            am_scope_begin();
            out = rewrite(g, ctx, target, absorbed);
            am_scope_end();
        }
    }
    free(target), free(absorbed);
    return out;
}
