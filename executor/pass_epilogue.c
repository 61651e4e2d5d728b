/* Epilogue fusion: a bias added to a GEMM op without one (FullyConnected,
 * Convolution: an op whose GEMM facet has a bias input and a channel axis)
 * becomes its bias input, and an activation (an op with an activation facet)
 * that is the only consumer of the product runs inside the fused op the
 * registry derived from the GEMM op (_amber_fused_fc, _amber_fused_conv)
 * over the freshly written output, instead of as a second pass over memory. */
#include "executor_impl.h"

/* One rewrite: the GEMM node, the add of a bias (-1: none), the activation
 * (-1: none) and which input of the add is the bias. */
typedef struct epi_match {
    int gemm, add, act, bias_slot;
    int64_t channels;    /* the bias length */
    am_act kind;         /* the activation's */
    double slope;
} epi_match;

typedef struct epi_scan {
    const am_graph *g;
    const int *uses, *off;
} epi_scan;

/* A GEMM op with a bias input, a channel axis and a writable facet, whose
 * inputs have known shapes and dtypes (new nodes are traced from them;
 * nothing is inferred back into the old graph's nodes). */
static bool is_gemm(const epi_scan *s, const am_node *n)
{
    AM_UNUSED(s);
    const am_gemm_facet *gm = n->op ? n->op->gemm : NULL;
    if (!gm || gm->bias < 0 || !gm->channel_axis || !gm->write || n->n_out != 1 ||
        n->n_in >= AM_MAX_OP_IO)
        return false;
    for (int k = 0; k < n->n_in; k++) {
        am_entry e = n->inputs[k];
        if (e.node->shapes[e.index].ndim < 0 || e.node->dtypes[e.index] == AM_DTYPE_COUNT)
            return false;
    }
    return true;
}

/* Output 0 of node n has exactly one consumer. */
static bool single_use(const epi_scan *s, const am_node *n)
{
    return s->uses[s->off[am_graph_index(s->g, n)]] == 1;
}

/* A bias b of the GEMM output `out` (channels h on axis feat): b's axes,
 * aligned to the right of out's, are 1 except h on the channel axis, so the
 * add broadcasts b along channels and changes no shape. */
static bool bias_fits(const am_shape *out, int feat, const am_shape *b, int64_t h)
{
    if (b->ndim < 1 || b->ndim > out->ndim || out->ndim - b->ndim > feat) return false;
    for (int j = 0; j < b->ndim; j++)
        if (b->dim[j] != (out->ndim - b->ndim + j == feat ? h : 1)) return false;
    return true;
}

/* Node n adds two inputs (same shape, or broadcasting). */
static bool is_add2(const am_node *n)
{
    const am_op_algebra *al = n->op ? n->op->algebra : NULL;
    return al && al->arith == AM_ARITH_ADD && n->n_in == 2 &&
           (al->operands == AM_OPERANDS_SAME || al->operands == AM_OPERANDS_BROADCAST);
}

/* Node a adds a bias to a no_bias GEMM output used only by a: fills m. */
static bool match_bias(const epi_scan *s, int a, epi_match *m)
{
    const am_node *add = s->g->nodes[a];
    if (!is_add2(add)) return false;
    for (int k = 0; k < 2; k++) {
        am_entry e = add->inputs[k], b = add->inputs[1 - k];
        const am_node *gemm = e.node;
        am_gemm_attrs ga;
        if (!is_gemm(s, gemm) || e.index != 0 || !single_use(s, gemm)) continue;
        gemm->op->gemm->read(gemm->attrs, &ga);
        if (!ga.no_bias || gemm->n_in != gemm->op->gemm->bias) continue; /* bias goes last */
        const am_shape *out = &gemm->shapes[0];
        int feat = out->ndim >= 2 ? gemm->op->gemm->channel_axis(gemm->attrs, out->ndim) : -1;
        if (out->ndim < 2 || feat < 0 || feat >= out->ndim ||
            !am_shape_equal(*out, add->shapes[0]) ||
            b.node->dtypes[b.index] != gemm->dtypes[0] ||
            !bias_fits(out, feat, &b.node->shapes[b.index], out->dim[feat]))
            continue;
        *m = (epi_match){.gemm = am_graph_index(s->g, gemm), .add = a, .act = -1,
                         .bias_slot = 1 - k, .channels = out->dim[feat]};
        return true;
    }
    return false;
}

/* The activation the fused op runs for activation node n, or false. */
static bool act_of(const am_node *n, epi_match *m)
{
    const am_activation_facet *a = n->op ? n->op->activation : NULL;
    if (!a || n->n_in != 1 || n->n_out != 1) return false;
    m->slope = 0.25;
    m->kind = a->read ? a->read(n->attrs, &m->slope) : a->act;
    /* LeakyReLU is flagged random for rrelu, whose facet reads AM_ACT_NONE;
     * the kinds the fused ops take are deterministic. */
    return am_fused_gemm_act_known(m->kind);
}

/* Node i is an activation over a GEMM output (or a bias add of one, per
 * match_bias) that it alone reads. */
static bool match_act(const epi_scan *s, int i, epi_match *m)
{
    const am_node *act = s->g->nodes[i];
    if (!act->op || act->n_in < 1 || !act_of(act, m)) return false;
    am_entry e = act->inputs[0];
    if (e.index != 0 || !single_use(s, e.node)) return false;
    int p = am_graph_index(s->g, e.node);
    epi_match b;
    if (is_gemm(s, e.node)) {
        m->gemm = p, m->add = -1, m->bias_slot = -1;
    } else if (match_bias(s, p, &b)) {
        m->gemm = b.gemm, m->add = b.add, m->bias_slot = b.bias_slot, m->channels = b.channels;
    } else {
        return false;
    }
    m->act = i;
    return am_op_fused_gemm(s->g->nodes[m->gemm]->op) != NULL; /* else the bias alone */
}

static am_array *sym(am_rewriter *rw, am_entry old)
{
    return am_rw_symbol(am_rw_get(rw, old));
}

/* The inputs of the new node: the GEMM's data and weight, and its bias or
 * the added one as a vector. */
static int fused_inputs(am_rewriter *rw, const am_graph *g, const epi_match *m, am_site at,
                        am_array **in)
{
    const am_node *gemm = g->nodes[m->gemm];
    int n = gemm->n_in;
    for (int k = 0; k < n; k++) in[k] = sym(rw, gemm->inputs[k]);
    if (m->add < 0) return n;
    am_array *b = sym(rw, g->nodes[m->add]->inputs[m->bias_slot]);
    am_shape bs = am_array_shape(b);
    in[n++] = bs.ndim == 1 ? b : am_reshape_at(b, AM_SHAPE(m->channels), false, at);
    return n;
}

/* The new node's attributes: the GEMM's, with a bias when one was added,
 * then the activation for the fused op.  *op is the op to call; *given, the
 * bits of the fused fields set. */
static void *fused_attrs(const am_node *gemm, const epi_match *m, const am_op_def **op,
                         uint64_t *given)
{
    void *a = malloc(gemm->op->attrs_size);
    if (!a) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    memcpy(a, gemm->attrs, gemm->op->attrs_size);
    if (m->add >= 0) {
        am_gemm_attrs ga;
        gemm->op->gemm->read(a, &ga);
        ga.no_bias = false;
        gemm->op->gemm->write(a, &ga);
    }
    *op = gemm->op;
    *given = 0;
    if (m->act < 0) return a;
    void *f = NULL;
    if ((*op = am_op_fused_gemm(gemm->op)))
        f = am_op_fused_gemm_attrs(*op, a, m->kind, m->slope, given);
    else
        am_fail(AM_ERR_INTERNAL, "%s has no fused op", gemm->op->name);
    free(a);
    return f;
}

static am_status apply(am_rewriter *rw, const am_graph *g, const epi_match *m)
{
    const am_node *gemm = g->nodes[m->gemm];
    const am_op_def *op = NULL;
    char buf[256];
    am_site at = am_node_site(gemm, buf, sizeof(buf));
    am_array *in[AM_MAX_OP_IO], *y = NULL;
    int n_in = fused_inputs(rw, g, m, at, in);
    uint64_t given = 0;
    void *attrs = fused_attrs(gemm, m, &op, &given);
    if (!attrs) return am_last_status();
    am_status st = am_op_call(op, attrs, in, n_in, &y, 1, at);
    free(attrs);
    if (st != AM_OK) return st;
    am_node *n = am_entry_of(y).node;
    n->attrs_given = gemm->attrs_given | given;
    if (!(n->name = strdup(g->names[m->gemm]))) return am_fail(AM_ERR_OOM, "out of memory");
    am_rw_set(rw, m->act >= 0 ? m->act : m->add, 0, am_entry_of(y));
    return AM_OK;
}

/* at[i]: the match rewritten at node i (its last node), -1 elsewhere;
 * absorbed[i]: the node disappears into a match. */
static int find_matches(const epi_scan *s, epi_match *ms, int *at, bool *absorbed)
{
    int n = 0;
    for (int i = 0; i < s->g->n_nodes; i++) at[i] = -1;
    for (int i = 0; i < s->g->n_nodes; i++) {
        epi_match m;
        if (!match_act(s, i, &m)) continue;
        ms[n] = m, at[i] = n++;
        absorbed[m.gemm] = true;
        if (m.add >= 0) absorbed[m.add] = true;
    }
    for (int i = 0; i < s->g->n_nodes; i++) {
        epi_match m;
        if (absorbed[i] || at[i] >= 0 || !match_bias(s, i, &m)) continue;
        ms[n] = m, at[i] = n++;
        absorbed[m.gemm] = true;
    }
    return n;
}

static void log_match(am_pass_ctx *ctx, const am_graph *g, const epi_match *m)
{
    const char *gn = g->names[m->gemm], *op = g->nodes[m->gemm]->op->name;
    ctx->changes++;
    if (m->act < 0)
        am_pass_log(ctx, "bias '%s' of '%s' into %s '%s'", g->names[m->add],
                    g->nodes[m->add]->op->name, op, gn);
    else if (m->add < 0)
        am_pass_log(ctx, "%s '%s' (%s) into %s '%s'", g->nodes[m->act]->op->name,
                    g->names[m->act], am_act_name(m->kind), op, gn);
    else
        am_pass_log(ctx, "bias '%s' and %s '%s' (%s) into %s '%s'", g->names[m->add],
                    g->nodes[m->act]->op->name, g->names[m->act], am_act_name(m->kind), op, gn);
}

static am_graph *rewrite(am_graph *g, am_pass_ctx *ctx, const epi_match *ms, const int *at,
                         const bool *absorbed)
{
    am_rewriter rw;
    if (am_rw_init(&rw, g) != AM_OK) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        if (at[i] >= 0) {
            if (apply(&rw, g, &ms[at[i]]) != AM_OK) return am_rw_fail(&rw);
            log_match(ctx, g, &ms[at[i]]);
        } else if (!absorbed[i] && !am_rw_keep(&rw, i)) {
            return am_rw_fail(&rw);
        }
    }
    return am_rw_finish(&rw);
}

am_graph *am_pass_epilogue(am_graph *g, am_pass_ctx *ctx)
{
    epi_scan s = {.g = g};
    int *uses = NULL, *off = NULL, *at = malloc((size_t)(g->n_nodes + 1) * sizeof(int));
    epi_match *ms = malloc((size_t)(g->n_nodes + 1) * sizeof(epi_match));
    bool *absorbed = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    am_graph *out = NULL;
    if (!at || !ms || !absorbed) am_fail(AM_ERR_OOM, "out of memory");
    else if (am_graph_count_uses(g, &uses, &off) == AM_OK) {
        s.uses = uses, s.off = off;
        if (find_matches(&s, ms, at, absorbed) == 0) {
            out = am_graph_retain(g);
        } else {
            am_scope_begin();
            out = rewrite(g, ctx, ms, at, absorbed);
            am_scope_end();
        }
    }
    free(uses), free(off), free(at), free(ms), free(absorbed);
    return out;
}
