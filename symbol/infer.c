/* Shape and dtype inference over a graph: the registry's per-op functions
 * run over the nodes until nothing changes, filling unknown variables (a
 * parameter's shape from its consumer, as MXNet's deferred initialisation
 * needs) and unknown dimensions (AM_DIM_UNKNOWN: a Gluon begin state's batch,
 * an export's batch) forward and backward, as MXNet's partial shape
 * inference does, and reporting what stays unknown. */
#include "symbol_impl.h"

/* Merges b into *a: 1 when *a learned something, 0 when not, -1 when they
 * conflict (*a is then unchanged). */
int am_shape_merge(am_shape *a, const am_shape *b)
{
    if (b->ndim < 0) return 0;
    if (a->ndim < 0) return *a = *b, 1;
    if (a->ndim != b->ndim) return -1;
    am_shape m = *a;
    int changed = 0;
    for (int d = 0; d < m.ndim; d++) {
        if (b->dim[d] < 0) continue;
        if (m.dim[d] < 0) m.dim[d] = b->dim[d], changed = 1;
        else if (m.dim[d] != b->dim[d]) return -1;
    }
    *a = m;
    return changed;
}

am_shape am_shape_for_op(const am_op_def *op, am_shape s)
{
    if (!am_shape_known(&s) && !(op->flags & AM_OP_PARTIAL_SHAPES)) s.ndim = -1;
    return s;
}

/* "input 'data' of node 'fc' (FullyConnected)" */
static void describe_input(const am_graph *g, int idx, int k, char *buf, size_t len)
{
    const am_node *n = g->nodes[idx];
    int named = 0;
    while (n->op->input_names && n->op->input_names[named]) named++;
    char in[64];
    if (k < named) snprintf(in, sizeof(in), "'%s'", n->op->input_names[k]);
    else snprintf(in, sizeof(in), "%d", k);
    snprintf(buf, len, "input %s of node '%s' (%s)", in, g->names[idx], n->op->name);
}

/* "node 'h0' (_zeros)" or "variable 'x'" for the producer of e. */
static void describe_entry(const am_graph *g, am_entry e, char *buf, size_t len)
{
    int j = am_graph_index(g, e.node);
    const char *name = j >= 0 ? g->names[j] : e.node->name ? e.node->name : "?";
    if (!e.node->op) snprintf(buf, len, "variable '%s'", name);
    else if (e.node->n_out > 1) snprintf(buf, len, "output %d of node '%s' (%s)", e.index, name, e.node->op->name);
    else snprintf(buf, len, "node '%s' (%s)", name, e.node->op->name);
}

/* An op's failure while some inputs were unknown: reported when inference
 * ends with unknown inputs, since the op is why they stayed unknown. */
typedef struct deferred {
    am_status code;       /* AM_OK: none */
    char msg[1024];
} deferred;

/* True when the op's first input is known and every unknown input is a
 * variable: its failure is then no lack of information but its real error
 * (Convolution given 3-D data cannot fill its weight).  Only shapes count
 * unless dtype inference is what failed. */
static bool fails_for_real(const am_node *n, bool dtype_failed)
{
    if (n->n_in < 1) return false;
    for (int i = 0; i < n->n_in; i++) {
        am_entry e = n->inputs[i];
        bool known = am_shape_known(&e.node->shapes[e.index]) &&
                     (!dtype_failed || e.node->dtypes[e.index] != AM_DTYPE_COUNT);
        if (!known && (i == 0 || e.node->op)) return false;
    }
    return true;
}

/* Runs one op node's inference.  *changed is set when a node or variable
 * learned something.  Failures count only when every input was known; the
 * first other failure of an op that fails_for_real is kept in *d.  An op
 * without AM_OP_PARTIAL_SHAPES sees a partial shape as unknown; what it
 * fills in is merged into the partial shape. */
static am_status infer_node(const am_graph *g, int idx, bool *changed, deferred *d)
{
    am_node *n = g->nodes[idx];
    am_shape ish[AM_MAX_OP_IO], osh[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO], oty[AM_MAX_OP_IO];
    bool all_known = true;
    for (int i = 0; i < n->n_in; i++) {
        am_entry e = n->inputs[i];
        ish[i] = am_shape_for_op(n->op, e.node->shapes[e.index]);
        ity[i] = e.node->dtypes[e.index];
        all_known &= am_shape_known(&e.node->shapes[e.index]) && ity[i] != AM_DTYPE_COUNT;
    }
    for (int k = 0; k < n->n_out; k++) osh[k] = am_shape_for_op(n->op, n->shapes[k]), oty[k] = AM_DTYPE_COUNT;
    char what[160];
    snprintf(what, sizeof(what), "%s (node '%s'%s%s)", n->op->name, g->names[idx],
             n->origin ? " from " : "", n->origin ? n->origin : "");
    am_err_ctx c;
    am_err_push(&c, what, (am_site){NULL, 0});
    bool was = am_set_speculative(!all_known);
    bool dtypes_ok;
    am_status st = am_op_infer(n->op, n->attrs, ish, ity, n->n_in, osh, oty, n->n_out, &dtypes_ok);
    am_set_speculative(was);
    am_err_pop(&c);
    if (st != AM_OK && all_known) return st;
    /* The dtypes count even when the shapes are not known yet: the
     * consumers need them to fill shapes backward. */
    for (int k = 0; k < n->n_out && dtypes_ok; k++)
        if (oty[k] != AM_DTYPE_COUNT && oty[k] != n->dtypes[k]) n->dtypes[k] = oty[k], *changed = true;
    for (int i = 0; i < n->n_in && dtypes_ok; i++) {
        am_node *v = n->inputs[i].node;
        if (!v->op && v->dtypes[0] == AM_DTYPE_COUNT && ity[i] != AM_DTYPE_COUNT) v->dtypes[0] = ity[i], *changed = true;
    }
    if (st != AM_OK) {
        if (d->code == AM_OK && fails_for_real(n, !dtypes_ok)) {
            d->code = am_last_status();
            snprintf(d->msg, sizeof(d->msg), "%s", am_last_error());
        }
        am_clear_error(); /* more may be known on a later sweep */
        return AM_OK;
    }
    char a[96], b[96], who[224], from[160];
    for (int k = 0; k < n->n_out; k++) {
        int m = am_shape_merge(&n->shapes[k], &osh[k]);
        if (m < 0)
            return am_fail(AM_ERR_SHAPE, "am_graph_infer: output %d of node '%s' (%s) is %s, but "
                           "the nodes that read it need %s", k, g->names[idx], n->op->name,
                           am_shape_format(&osh[k], a, sizeof(a)),
                           am_shape_format(&n->shapes[k], b, sizeof(b)));
        if (m > 0) *changed = true;
        snprintf(who, sizeof(who), "am_graph_infer: output %d of node '%s' (%s)", k,
                 g->names[idx], n->op->name);
        am_status sf = am_shape_fits(&n->shapes[k], n->dtypes[k], who);
        if (sf != AM_OK) return sf;
    }
    for (int i = 0; i < n->n_in; i++) {
        am_entry e = n->inputs[i];
        am_shape *have = &e.node->shapes[e.index];
        int m = am_shape_merge(have, &ish[i]);
        if (m < 0) {
            describe_input(g, idx, i, who, sizeof(who));
            describe_entry(g, e, from, sizeof(from));
            return am_fail(AM_ERR_SHAPE, "am_graph_infer: %s must be %s, but %s gives %s", who,
                           am_shape_format(&ish[i], a, sizeof(a)), from,
                           am_shape_format(have, b, sizeof(b)));
        }
        if (m > 0) *changed = true;
        char role[256] = "am_graph_infer: ";
        describe_input(g, idx, i, role + strlen(role), sizeof(role) - strlen(role));
        am_status sf = am_shape_fits(have, e.node->dtypes[e.index], role);
        if (sf != AM_OK) return sf;
    }
    return AM_OK;
}

static am_status bind_inputs(am_graph *g, const char *const *names, const am_shape *shapes,
                             const am_dtype *dtypes, int n)
{
    for (int k = 0; k < n; k++) {
        int found = am_graph_find_name(g, names[k]);
        if (found >= 0 && g->nodes[found]->op) found = -1;
        if (found < 0) return am_fail(AM_ERR_ARG, "am_graph_infer: the graph has no input named '%s'", names[k]);
        am_node *v = g->nodes[found];
        char a[96], b[96];
        am_shape merged = v->shapes[0];
        if (shapes && am_shape_merge(&merged, &shapes[k]) < 0)
            return am_fail(AM_ERR_SHAPE, "am_graph_infer: input '%s' is %s but the graph says %s",
                           names[k], am_shape_format(&shapes[k], a, sizeof(a)),
                           am_shape_format(&v->shapes[0], b, sizeof(b)));
        if (shapes) v->shapes[0] = merged;
        if (dtypes && dtypes[k] != AM_DTYPE_COUNT) v->dtypes[0] = dtypes[k];
    }
    return AM_OK;
}

/* The first op input whose shape stayed unknown, then the first output. */
static am_status report_unknown(const am_graph *g)
{
    char who[224], from[160], a[96];
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        for (int k = 0; n->op && k < n->n_in; k++) {
            am_entry e = n->inputs[k];
            if (am_shape_known(&e.node->shapes[e.index])) continue;
            describe_input(g, i, k, who, sizeof(who));
            describe_entry(g, e, from, sizeof(from));
            return am_fail(AM_ERR_SHAPE, "am_graph_infer: %s stays %s (from %s): no op in the "
                           "graph fixes its unknown dimensions; give the shapes of the inputs "
                           "in full", who, am_shape_format(&e.node->shapes[e.index], a, sizeof(a)),
                           from);
        }
    }
    for (int h = 0; h < g->n_heads; h++) {
        am_entry e = g->heads[h];
        if (am_shape_known(&e.node->shapes[e.index])) continue;
        describe_entry(g, e, from, sizeof(from));
        return am_fail(AM_ERR_SHAPE, "am_graph_infer: output %d of the graph (%s) stays %s: no "
                       "op in the graph fixes its unknown dimensions", h, from,
                       am_shape_format(&e.node->shapes[e.index], a, sizeof(a)));
    }
    return AM_OK;
}

am_status am_graph_infer(am_graph *g, const char *const *names, const am_shape *shapes,
                         const am_dtype *dtypes, int n)
{
    if (!g) return am_fail(AM_ERR_ARG, "am_graph_infer: the graph is NULL");
    /* Op outputs are inferred afresh for these inputs: what an earlier call
     * (another batch size) or a consumer filled in must not stick. */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; g->nodes[i]->op && k < g->nodes[i]->n_out; k++) g->nodes[i]->shapes[k].ndim = -1;
    am_status st = bind_inputs(g, names, shapes, dtypes, n);
    bool changed = true;
    deferred d = {AM_OK, ""};
    for (int sweep = 0; st == AM_OK && changed && sweep <= g->n_nodes; sweep++) {
        changed = false;
        d.code = AM_OK;  /* only the last sweep's failures stand */
        for (int i = 0; i < g->n_nodes && st == AM_OK; i++)
            if (g->nodes[i]->op) st = infer_node(g, i, &changed, &d);
    }
    if (st != AM_OK) return st;
    if (d.code != AM_OK) return am_fail(d.code, "%s", d.msg);
    char missing[512] = "";
    int n_missing = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        am_node *v = g->nodes[i];
        if (v->op || (am_shape_known(&v->shapes[0]) && v->dtypes[0] != AM_DTYPE_COUNT)) continue;
        if (n_missing++ < 8) {
            char sh[112] = "";
            if (v->shapes[0].ndim >= 0) {
                char b[96];
                snprintf(sh, sizeof(sh), " %s", am_shape_format(&v->shapes[0], b, sizeof(b)));
            }
            strncat(missing, n_missing > 1 ? ", " : "", sizeof(missing) - strlen(missing) - 1);
            strncat(missing, g->names[i], sizeof(missing) - strlen(missing) - 1);
            strncat(missing, sh, sizeof(missing) - strlen(missing) - 1);
        }
    }
    if (n_missing)
        return am_fail(AM_ERR_SHAPE, "am_graph_infer: %d input%s still unknown: %s%s; give their "
                       "shapes", n_missing, n_missing > 1 ? "s are" : " is", missing,
                       n_missing > 8 ? ", ..." : "");
    return report_unknown(g);
}

am_status am_graph_input_shape(const am_graph *g, const char *name, am_shape *shape,
                               am_dtype *dtype)
{
    int i = g && name ? am_graph_find_name(g, name) : -1;
    if (i >= 0 && !g->nodes[i]->op) {
        if (shape) *shape = g->nodes[i]->shapes[0];
        if (dtype) *dtype = g->nodes[i]->dtypes[0];
        return AM_OK;
    }
    return am_fail(AM_ERR_ARG, "am_graph_input_shape: the graph has no input named '%s'",
                   name ? name : "(NULL)");
}

am_status am_graph_output_shape(const am_graph *g, int i, am_shape *shape, am_dtype *dtype)
{
    if (!g || i < 0 || i >= g->n_heads)
        return am_fail(AM_ERR_ARG, "am_graph_output_shape: no output %d", i);
    am_entry e = g->heads[i];
    if (shape) *shape = e.node->shapes[e.index];
    if (dtype) *dtype = e.node->dtypes[e.index];
    return AM_OK;
}
