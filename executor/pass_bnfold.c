/* BatchNorm folding for inference: Convolution or FullyConnected followed by a
 * BatchNorm over its output channels becomes one Convolution/FullyConnected
 * whose weight and bias absorb the moving statistics, gamma and beta. */
#include "executor_impl.h"

typedef struct bn_ops {
    const am_op_def *fc, *conv, *bn;
} bn_ops;

/* The axis of a GEMM output that holds its output channels: the last for
 * FullyConnected (which flattens or works on the last axis), 1 for
 * Convolution (NCW / NCHW). */
static int channel_axis(const bn_ops *ops, const am_node *gemm)
{
    return gemm->op == ops->fc ? gemm->shapes[0].ndim - 1 : 1;
}

static bool known(const am_entry e)
{
    return e.node->shapes[e.index].ndim >= 0 && am_dtype_is_float(e.node->dtypes[e.index]);
}

/* The GEMM node BatchNorm node b of g can absorb, or -1: it feeds only b, b's
 * hidden outputs (mean, inverse std) are unused, b normalises its channel
 * axis, and every shape involved is known. */
static int foldable(const am_graph *g, int b, const int *uses, const int *off, const bn_ops *ops)
{
    const am_node *bn = g->nodes[b];
    if (bn->op != ops->bn || bn->n_in != 5) return -1;
    const am_node *gemm = bn->inputs[0].node;
    int p = am_graph_index(g, gemm);
    if ((gemm->op != ops->fc && gemm->op != ops->conv) || bn->inputs[0].index != 0 ||
        uses[off[p]] != 1)
        return -1;
    for (int k = 1; k < bn->n_out; k++)
        if (uses[off[b] + k] != 0) return -1;
    for (int k = 0; k < gemm->n_in; k++)
        if (!known(gemm->inputs[k])) return -1;
    for (int k = 1; k < bn->n_in; k++)
        if (!known(bn->inputs[k])) return -1;
    int64_t axis;
    int ax, nd = gemm->shapes[0].ndim;
    if (nd < 2 || !am_attr_read_int(bn->op, bn->attrs, "axis", &axis) ||
        !am_axis_norm(axis, nd, &ax) || ax != channel_axis(ops, gemm))
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
    double eps;
    int64_t fix_gamma;
    if (!am_attr_read_float(bn->op, bn->attrs, "eps", &eps) ||
        !am_attr_read_int(bn->op, bn->attrs, "fix_gamma", &fix_gamma))
        return am_fail(AM_ERR_INTERNAL, "BatchNorm lacks eps or fix_gamma");
    am_array *w = sym(rw, gemm->inputs[1]);
    am_array *gamma = sym(rw, bn->inputs[1]), *beta = sym(rw, bn->inputs[2]);
    am_array *mean = sym(rw, bn->inputs[3]), *var = sym(rw, bn->inputs[4]);
    int64_t c = am_array_dim(w, 0);
    am_array *inv = am_rsqrt_at(am_plus_scalar_at(var, eps, at), at);
    am_array *scale = fix_gamma ? inv : am_broadcast_mul_at(gamma, inv, at);
    am_shape ws = am_array_shape(w), ss = ws;
    for (int i = 1; i < ss.ndim; i++) ss.dim[i] = 1;
    *w2 = am_broadcast_mul_at(w, as_shape(scale, ss, at), at);
    if (no_bias) {
        *b2 = am_broadcast_sub_at(beta, am_broadcast_mul_at(mean, scale, at), at);
    } else {
        am_array *bias = as_shape(sym(rw, gemm->inputs[2]), AM_SHAPE(c), at);
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
    int64_t no_bias = 0;
    am_attr_read_int(gemm->op, gemm->attrs, "no_bias", &no_bias);
    am_array *in[3] = {sym(rw, gemm->inputs[0]), NULL, NULL}, *y = NULL;
    am_status st = fold_params(rw, gemm, bn, no_bias, at, &in[1], &in[2]);
    if (st != AM_OK) return st;
    void *attrs = malloc(gemm->op->attrs_size);
    if (!attrs) return am_fail(AM_ERR_OOM, "out of memory");
    memcpy(attrs, gemm->attrs, gemm->op->attrs_size);
    am_attr_write_int(gemm->op, attrs, "no_bias", 0);
    am_site gat = am_node_site(gemm, buf, sizeof(buf));
    st = am_op_call(gemm->op, attrs, in, 3, &y, 1, gat);
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
static int find_folds(const am_graph *g, const bn_ops *ops, int *target, bool *absorbed)
{
    int *uses, *off, found = 0;
    if (am_graph_count_uses(g, &uses, &off) != AM_OK) return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        target[i] = foldable(g, i, uses, off, ops);
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
        am_pass_log(ctx, "folded BatchNorm '%s' into %s '%s'", g->names[i],
                    g->nodes[target[i]]->op->name, g->names[target[i]]);
    }
    return am_rw_finish(&rw);
}

am_graph *am_pass_bnfold(am_graph *g, am_pass_ctx *ctx)
{
    if (ctx->training) return am_graph_retain(g); /* BatchNorm learns from batches */
    bn_ops ops = {am_op_find("FullyConnected"), am_op_find("Convolution"), am_op_find("BatchNorm")};
    if (!ops.fc || !ops.conv || !ops.bn) return NULL;
    int *target = malloc((size_t)(g->n_nodes + 1) * sizeof(int));
    bool *absorbed = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    am_graph *out = NULL;
    if (!target || !absorbed) {
        am_fail(AM_ERR_OOM, "out of memory");
    } else {
        int found = find_folds(g, &ops, target, absorbed);
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
