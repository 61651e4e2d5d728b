/* Shape and dtype inference over a graph: the registry's per-op functions
 * run over the nodes until nothing changes, filling unknown variables (a
 * parameter's shape from its consumer, as MXNet's deferred initialisation
 * needs) and reporting the variables that stay unknown. */
#include "symbol_impl.h"

static bool known_shape(const am_shape *s) { return s->ndim >= 0; }

/* Runs one op node's inference.  *changed is set when a node or variable
 * learned something.  Failures count only when every input was known. */
static am_status infer_node(const am_graph *g, int idx, bool *changed)
{
    am_node *n = g->nodes[idx];
    am_shape ish[AM_MAX_OP_IO], osh[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO], oty[AM_MAX_OP_IO];
    bool all_known = true;
    for (int i = 0; i < n->n_in; i++) {
        am_entry e = n->inputs[i];
        ish[i] = e.node->shapes[e.index];
        ity[i] = e.node->dtypes[e.index];
        all_known &= known_shape(&ish[i]) && ity[i] != AM_DTYPE_COUNT;
    }
    for (int k = 0; k < n->n_out; k++) osh[k].ndim = -1, oty[k] = AM_DTYPE_COUNT;
    char what[160];
    snprintf(what, sizeof(what), "%s (node '%s'%s%s)", n->op->name, g->names[idx],
             n->origin ? " from " : "", n->origin ? n->origin : "");
    am_err_ctx c;
    am_err_push(&c, what, (am_site){NULL, 0});
    bool was = am_set_speculative(!all_known);
    am_status st = n->op->infer_dtype(n->attrs, ity, n->n_in, oty, n->n_out);
    if (st == AM_OK) st = n->op->infer_shape(n->attrs, ish, n->n_in, osh, n->n_out);
    am_set_speculative(was);
    am_err_pop(&c);
    if (st != AM_OK) {
        if (all_known) return st;
        am_clear_error(); /* more may be known on a later sweep */
        return AM_OK;
    }
    for (int k = 0; k < n->n_out; k++) {
        if (known_shape(&osh[k]) && !am_shape_equal(osh[k], n->shapes[k])) n->shapes[k] = osh[k], *changed = true;
        if (oty[k] != AM_DTYPE_COUNT && oty[k] != n->dtypes[k]) n->dtypes[k] = oty[k], *changed = true;
    }
    for (int i = 0; i < n->n_in; i++) {
        am_node *v = n->inputs[i].node;
        if (v->op) continue;
        if (!known_shape(&v->shapes[0]) && known_shape(&ish[i])) v->shapes[0] = ish[i], *changed = true;
        if (v->dtypes[0] == AM_DTYPE_COUNT && ity[i] != AM_DTYPE_COUNT) v->dtypes[0] = ity[i], *changed = true;
    }
    return AM_OK;
}

static am_status bind_inputs(am_graph *g, const char *const *names, const am_shape *shapes,
                             const am_dtype *dtypes, int n)
{
    for (int k = 0; k < n; k++) {
        int found = -1;
        for (int i = 0; i < g->n_nodes && found < 0; i++)
            if (!g->nodes[i]->op && strcmp(g->names[i], names[k]) == 0) found = i;
        if (found < 0) return am_fail(AM_ERR_ARG, "am_graph_infer: the graph has no input named '%s'", names[k]);
        am_node *v = g->nodes[found];
        char a[96], b[96];
        if (shapes && known_shape(&v->shapes[0]) && !am_shape_equal(v->shapes[0], shapes[k]))
            return am_fail(AM_ERR_SHAPE, "am_graph_infer: input '%s' is %s but the graph says %s",
                           names[k], am_shape_format(&shapes[k], a, sizeof(a)),
                           am_shape_format(&v->shapes[0], b, sizeof(b)));
        if (shapes) v->shapes[0] = shapes[k];
        if (dtypes && dtypes[k] != AM_DTYPE_COUNT) v->dtypes[0] = dtypes[k];
    }
    return AM_OK;
}

am_status am_graph_infer(am_graph *g, const char *const *names, const am_shape *shapes,
                         const am_dtype *dtypes, int n)
{
    if (!g) return am_fail(AM_ERR_ARG, "am_graph_infer: the graph is NULL");
    am_status st = bind_inputs(g, names, shapes, dtypes, n);
    bool changed = true;
    for (int sweep = 0; st == AM_OK && changed && sweep <= g->n_nodes; sweep++) {
        changed = false;
        for (int i = 0; i < g->n_nodes && st == AM_OK; i++)
            if (g->nodes[i]->op) st = infer_node(g, i, &changed);
    }
    if (st != AM_OK) return st;
    char missing[512] = "";
    int n_missing = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        am_node *v = g->nodes[i];
        if (v->op || (known_shape(&v->shapes[0]) && v->dtypes[0] != AM_DTYPE_COUNT)) continue;
        if (n_missing++ < 8) {
            strncat(missing, n_missing > 1 ? ", " : "", sizeof(missing) - strlen(missing) - 1);
            strncat(missing, g->names[i], sizeof(missing) - strlen(missing) - 1);
        }
    }
    if (n_missing)
        return am_fail(AM_ERR_SHAPE, "am_graph_infer: %d input%s still unknown: %s%s; give their "
                       "shapes", n_missing, n_missing > 1 ? "s are" : " is", missing,
                       n_missing > 8 ? ", ..." : "");
    return AM_OK;
}

am_status am_graph_input_shape(const am_graph *g, const char *name, am_shape *shape,
                               am_dtype *dtype)
{
    for (int i = 0; g && name && i < g->n_nodes; i++)
        if (!g->nodes[i]->op && strcmp(g->names[i], name) == 0) {
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
