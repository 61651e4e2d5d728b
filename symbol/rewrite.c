/* The graph rewriter the executor's passes and composition use: a map from
 * the old graph's node outputs to entries of the new graph, filled in order,
 * then a new graph over the remapped heads.  Nodes are shared between graphs
 * and never mutated. */
#include "symbol_impl.h"

am_status am_rw_init(am_rewriter *rw, am_graph *g)
{
    *rw = (am_rewriter){.g = g};
    int total = 0;
    if (!(rw->offset = malloc((size_t)(g->n_nodes + 1) * sizeof(int))))
        return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        rw->offset[i] = total;
        total += g->nodes[i]->n_out;
    }
    rw->offset[g->n_nodes] = total;
    if (!(rw->map = calloc((size_t)(total ? total : 1), sizeof(am_entry)))) {
        free(rw->offset);
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    return AM_OK;
}

am_entry am_rw_get(const am_rewriter *rw, am_entry old)
{
    int i = am_graph_index(rw->g, old.node);
    AM_ASSERT(i >= 0);
    am_entry e = rw->map[rw->offset[i] + old.index];
    AM_ASSERT(e.node != NULL);
    return e;
}

void am_rw_set(am_rewriter *rw, int i, int k, am_entry e)
{
    am_entry *slot = &rw->map[rw->offset[i] + k];
    am_node_retain(e.node);
    am_node_release(slot->node);
    *slot = e;
    if (e.node != rw->g->nodes[i] || e.index != k) rw->n_changed++;
}

am_node *am_node_clone(const am_node *n, const am_entry *inputs)
{
    am_node *c = am_node_create(n->op, n->attrs, inputs, n->n_in, n->n_out);
    if (!c) return NULL;
    c->attrs_given = n->attrs_given;
    memcpy(c->shapes, n->shapes, (size_t)n->n_out * sizeof(*c->shapes));
    memcpy(c->dtypes, n->dtypes, (size_t)n->n_out * sizeof(*c->dtypes));
    bool ok = (!n->name || (c->name = strdup(n->name))) && am_node_copy_site(c, n) == AM_OK;
    for (int i = 0; ok && i < n->n_extra; i++)
        ok = am_node_set_extra(c, n->extra[i].key, n->extra[i].value) == AM_OK;
    if (!ok) {
        am_node_release(c);
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    c->value = n->value ? am_retain(n->value) : NULL;
    return c;
}

am_node *am_rw_keep(am_rewriter *rw, int i)
{
    am_node *n = rw->g->nodes[i];
    am_entry in[AM_MAX_OP_IO * 4];
    bool same = true;
    AM_ASSERT(n->n_in <= (int)(sizeof(in) / sizeof(in[0])));
    for (int k = 0; k < n->n_in; k++) {
        in[k] = am_rw_get(rw, n->inputs[k]);
        same = same && in[k].node == n->inputs[k].node && in[k].index == n->inputs[k].index;
    }
    am_node *c = n;
    if (!same) {
        if (!(c = am_node_clone(n, in))) return NULL;
        if (!c->name && !(c->name = strdup(rw->g->names[i]))) {
            am_node_release(c);
            am_fail(AM_ERR_OOM, "out of memory");
            return NULL;
        }
    } else {
        am_node_retain(c);
    }
    for (int k = 0; k < n->n_out; k++) {
        am_entry *slot = &rw->map[rw->offset[i] + k];
        am_node_release(slot->node);
        am_node_retain(c);
        *slot = (am_entry){c, k};
    }
    if (!same) rw->n_changed++;
    am_node_release(c);
    return c;
}

static void rw_free(am_rewriter *rw)
{
    for (int i = 0; i < rw->offset[rw->g->n_nodes]; i++) am_node_release(rw->map[i].node);
    free(rw->map);
    free(rw->offset);
}

am_graph *am_rw_fail(am_rewriter *rw)
{
    rw_free(rw);
    return NULL;
}

am_graph *am_rw_finish(am_rewriter *rw)
{
    am_graph *g = rw->g;
    /* A training graph has a head per parameter gradient and saved value:
     * hundreds for a large model. */
    am_entry *heads = malloc(((size_t)g->n_heads + 1) * sizeof(*heads));
    if (!heads) {
        am_fail(AM_ERR_OOM, "out of memory");
        return am_rw_fail(rw);
    }
    bool same = rw->n_changed == 0;
    for (int h = 0; h < g->n_heads; h++) {
        heads[h] = am_rw_get(rw, g->heads[h]);
        same = same && heads[h].node == g->heads[h].node && heads[h].index == g->heads[h].index;
    }
    am_graph *out = same ? am_graph_retain(g) : am_graph_from_heads_named(heads, g->n_heads, g);
    free(heads);
    rw_free(rw);
    return out;
}

am_array *am_rw_symbol(am_entry e)
{
    am_node_retain(e.node);
    return am_scope_own(am_symbolic_array(e.node, e.index));
}

am_entry am_entry_of(const am_array *x)
{
    AM_ASSERT(x && x->node);
    return (am_entry){x->node, x->node_output};
}

am_node *am_node_build(const am_op_def *op, const void *attrs, const am_entry *inputs, int n_in)
{
    am_shape ish[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO];
    int n_out = am_op_num_outputs(op, attrs);
    AM_ASSERT(n_in <= AM_MAX_OP_IO);
    for (int i = 0; i < n_in; i++) {
        ish[i] = inputs[i].node->shapes[inputs[i].index];
        ity[i] = inputs[i].node->dtypes[inputs[i].index];
    }
    am_node *n = am_node_create(op, attrs, inputs, n_in, n_out);
    if (!n) return NULL;
    am_err_ctx c;
    am_err_push(&c, op->name, (am_site){0});
    am_status st = am_op_infer(op, attrs, ish, ity, n_in, n->shapes, n->dtypes, n_out, NULL);
    am_err_pop(&c);
    if (st != AM_OK) {
        am_node_release(n);
        return NULL;
    }
    return n;
}

am_node *am_rw_build(const am_rewriter *rw, int i, const am_op_def *op, const void *attrs,
                     const am_entry *inputs, int n_in)
{
    am_node *n = am_node_build(op, attrs, inputs, n_in);
    if (!n) return NULL;
    const am_node *old = rw->g->nodes[i];
    if (!(n->name = strdup(rw->g->names[i])) || am_node_copy_site(n, old) != AM_OK) {
        am_node_release(n);
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    return n;
}

am_status am_graph_count_uses(const am_graph *g, int **uses, int **offset)
{
    int total = 0;
    *uses = NULL;
    if (!(*offset = malloc((size_t)(g->n_nodes + 1) * sizeof(int))))
        return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        (*offset)[i] = total;
        total += g->nodes[i]->n_out;
    }
    (*offset)[g->n_nodes] = total;
    if (!(*uses = calloc((size_t)(total ? total : 1), sizeof(int)))) {
        free(*offset);
        *offset = NULL;
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            am_entry e = g->nodes[i]->inputs[k];
            (*uses)[(*offset)[am_graph_index(g, e.node)] + e.index]++;
        }
    for (int h = 0; h < g->n_heads; h++)
        (*uses)[(*offset)[am_graph_index(g, g->heads[h].node)] + g->heads[h].index]++;
    return AM_OK;
}

void am_graph_mark_ancestors(const am_graph *g, bool *mark)
{
    for (int i = g->n_nodes - 1; i >= 0; i--)
        for (int k = 0; mark[i] && k < g->nodes[i]->n_in; k++)
            mark[am_graph_index(g, g->nodes[i]->inputs[k].node)] = true;
}
