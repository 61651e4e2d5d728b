/* The rest of MXNet's Symbol queries: internals, children, an output by name,
 * groups, and composition (variables replaced by other graphs' heads).  Every
 * function returns a new graph; the nodes of its arguments are shared, never
 * mutated. */
#include "symbol_impl.h"

/* Names in MXNet's error style: "'a', 'b', 'c'" (at most 12, then "..."). */
static void list_names(char *buf, size_t len, const char *const *names, int n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && i <= 12 && k + 1 < len; i++) {
        if (i == 12) snprintf(buf + k, len - k, ", ...");
        else k += (size_t)snprintf(buf + k, len - k, "%s'%s'", i ? ", " : "", names[i]);
    }
}

/* ---- internals, children, outputs by name, groups ---------------------------------- */

/* A NULL graph argument keeps the message of the failure that produced it
 * (DESIGN: NULL propagates); otherwise it is an AM_ERR_ARG. */
static am_graph *null_graph(const char *fn, const char *what)
{
    if (am_last_status() == AM_OK) am_fail(AM_ERR_ARG, "%s: %s is NULL", fn, what);
    return NULL;
}

static am_entry *alloc_entries(int n)
{
    am_entry *e = malloc((size_t)(n > 0 ? n : 1) * sizeof(*e));
    if (!e) am_fail(AM_ERR_OOM, "out of memory");
    return e;
}

am_graph *am_graph_get_internals(const am_graph *g)
{
    if (!g) return null_graph("am_graph_get_internals", "the graph");
    int total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        total += n->op ? am_op_num_visible(n->op, n->attrs) : 1;
    }
    am_entry *heads = alloc_entries(total);
    if (!heads) return NULL;
    int h = 0;
    /* g's order is topological, so the new graph lists the nodes in the same
     * order, and g's names for unnamed nodes carry over. */
    for (int i = 0; i < g->n_nodes; i++) {
        am_node *n = g->nodes[i];
        int vis = n->op ? am_op_num_visible(n->op, n->attrs) : 1;
        for (int k = 0; k < vis; k++) heads[h++] = (am_entry){n, k};
    }
    am_graph *out = am_graph_from_heads_named(heads, total, g);
    free(heads);
    return out;
}

am_graph *am_graph_get_children(const am_graph *g)
{
    if (!g) return null_graph("am_graph_get_children", "the graph");
    int total = 0;
    for (int h = 0; h < g->n_heads; h++) total += g->heads[h].node->n_in;
    am_entry *heads = alloc_entries(total);
    if (!heads) return NULL;
    int k = 0;
    for (int h = 0; h < g->n_heads; h++) {
        const am_node *n = g->heads[h].node;
        bool seen = false;
        for (int j = 0; j < h && !seen; j++) seen = g->heads[j].node == n;
        for (int i = 0; i < n->n_in && !seen; i++) heads[k++] = n->inputs[i];
    }
    am_graph *out = NULL;
    if (k > 0) {
        out = am_graph_from_heads_named(heads, k, g);
    } else if (g->n_heads == 0) {
        am_fail(AM_ERR_ARG, "am_graph_get_children: the graph has no heads");
    } else {
        const am_node *n = g->heads[0].node;
        am_fail(AM_ERR_ARG, "am_graph_get_children: the graph's head%s ('%s'%s) %s no inputs",
                g->n_heads > 1 ? "s" : "", g->names[am_graph_index(g, n)],
                g->n_heads > 1 ? ", ..." : "",
                g->n_heads > 1 ? "have" : !n->op ? "is a variable and has" : "has");
    }
    free(heads);
    return out;
}

am_graph *am_graph_find_output(const am_graph *g, const char *name)
{
    if (!g) return null_graph("am_graph_find_output", "the graph");
    if (!name) {
        am_fail(AM_ERR_ARG, "am_graph_find_output: the name is NULL");
        return NULL;
    }
    char **names = malloc((size_t)(g->n_heads ? g->n_heads : 1) * sizeof(*names));
    if (!names) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    int n = am_graph_list_outputs(g, names, g->n_heads), found = -1, count = 0;
    for (int h = 0; h < n; h++)
        if (strcmp(names[h], name) == 0) found = found < 0 ? h : found, count++;
    am_graph *out = NULL;
    if (count == 1) {
        out = am_graph_from_heads_named(&g->heads[found], 1, g);
    } else if (n >= 0) {
        char list[512];
        list_names(list, sizeof(list), (const char *const *)names, n);
        if (count > 1)
            am_fail(AM_ERR_ARG, "am_graph_find_output: %d outputs are named '%s'", count, name);
        else
            am_fail(AM_ERR_ARG, "am_graph_find_output: no output is named '%s' (the outputs "
                    "are %s)", name, list);
    }
    for (int h = 0; h < n; h++) free(names[h]);
    free(names);
    return out;
}

am_graph *am_graph_group(am_graph *const *graphs, int n)
{
    if (!graphs || n < 1) {
        am_fail(AM_ERR_ARG, "am_graph_group: %d graphs (at least 1)", graphs ? n : 0);
        return NULL;
    }
    int total = 0;
    for (int i = 0; i < n; i++) {
        if (!graphs[i]) {
            char what[32];
            snprintf(what, sizeof(what), "graph %d", i);
            return null_graph("am_graph_group", what);
        }
        total += graphs[i]->n_heads;
    }
    am_entry *heads = alloc_entries(total);
    if (!heads) return NULL;
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int h = 0; h < graphs[i]->n_heads; h++) heads[k++] = graphs[i]->heads[h];
    am_err_ctx c;
    am_err_push(&c, "am_graph_group", (am_site){0});
    am_graph *out = am_graph_from_heads_named(heads, total, graphs[0]);
    am_err_pop(&c);
    free(heads);
    return out;
}

/* ---- composition ------------------------------------------------------------------ */

/* Shapes and dtypes of rebuilt node c from its new inputs: old's when the
 * inputs look the same, else the op's inference.  An inference failure is
 * an error when every input is known, else the outputs stay unknown for
 * am_graph_infer to fill once more is known. */
static am_status infer_rebuilt(const am_graph *g, int i, am_node *c)
{
    const am_node *old = g->nodes[i];
    am_shape ish[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO];
    bool same = true, known = true;
    for (int k = 0; k < c->n_in; k++) {
        am_entry e = c->inputs[k], o = old->inputs[k];
        ish[k] = e.node->shapes[e.index];
        ity[k] = e.node->dtypes[e.index];
        same = same && am_shape_equal(ish[k], o.node->shapes[o.index]) &&
               ity[k] == o.node->dtypes[o.index];
        known = known && am_shape_known(&ish[k]) && ity[k] != AM_DTYPE_COUNT;
    }
    if (same) {
        memcpy(c->shapes, old->shapes, (size_t)c->n_out * sizeof(*c->shapes));
        memcpy(c->dtypes, old->dtypes, (size_t)c->n_out * sizeof(*c->dtypes));
        return AM_OK;
    }
    char what[192];
    snprintf(what, sizeof(what), "am_graph_compose: %s (node '%s')", c->op->name, g->names[i]);
    am_err_ctx ctx;
    am_err_push(&ctx, what, (am_site){0});
    for (int k = 0; k < c->n_in; k++) ish[k] = am_shape_for_op(c->op, ish[k]);
    for (int k = 0; k < c->n_out; k++) c->shapes[k].ndim = -1;
    bool was = am_set_speculative(!known);
    am_status st = am_op_infer(c->op, c->attrs, ish, ity, c->n_in, c->shapes, c->dtypes, c->n_out,
                               NULL);
    am_set_speculative(was);
    am_err_pop(&ctx);
    if (st == AM_OK || known) return st;
    am_clear_error();
    for (int k = 0; k < c->n_out; k++) c->shapes[k].ndim = -1, c->dtypes[k] = AM_DTYPE_COUNT;
    return AM_OK;
}

/* Maps node i with the rewriter: a replaced variable to its value, an op
 * whose inputs changed to a copy (am_rw_keep) with shapes re-inferred,
 * anything else to itself. */
static am_status compose_node(am_rewriter *rw, int i, const int *value_of, am_graph *const *values)
{
    const am_graph *g = rw->g;
    am_node *n = g->nodes[i];
    if (!n->op) {
        am_rw_set(rw, i, 0, value_of[i] >= 0 ? values[value_of[i]]->heads[0] : (am_entry){n, 0});
        return AM_OK;
    }
    am_node *c = am_rw_keep(rw, i);
    if (!c) return am_last_status();
    return c == n ? AM_OK : infer_rebuilt(g, i, c);
}

/* Checks the arguments and finds, for each node of g, the value replacing
 * it (value_of[i], -1 for none). */
static am_status match_names(const am_graph *g, const char *const *names,
                             am_graph *const *values, int n, int *value_of)
{
    for (int i = 0; i < g->n_nodes; i++) value_of[i] = -1;
    for (int k = 0; k < n; k++) {
        if (!names[k]) return am_fail(AM_ERR_ARG, "am_graph_compose: name %d is NULL", k);
        if (!values[k]) {
            if (am_last_status() != AM_OK) return am_last_status();
            return am_fail(AM_ERR_ARG, "am_graph_compose: the value for '%s' is NULL", names[k]);
        }
        if (values[k]->n_heads != 1)
            return am_fail(AM_ERR_ARG, "am_graph_compose: the value for '%s' has %d outputs; "
                           "a single output is required", names[k], values[k]->n_heads);
        int found = am_graph_find_name(g, names[k]);
        if (found >= 0 && g->nodes[found]->op) found = -1;
        if (found >= 0 && value_of[found] >= 0)
            return am_fail(AM_ERR_ARG, "am_graph_compose: '%s' is given twice", names[k]);
        if (found >= 0) {
            value_of[found] = k;
            continue;
        }
        const char *inputs[13];
        char list[512];
        int m = am_graph_list_inputs(g, inputs, 13);
        list_names(list, sizeof(list), inputs, m < 13 ? m : 13);
        return am_fail(AM_ERR_ARG, "am_graph_compose: the graph has no input named '%s' (its "
                       "inputs are %s)", names[k], list);
    }
    return AM_OK;
}

am_graph *am_graph_compose(const am_graph *g, const char *const *names, am_graph *const *values,
                           int n)
{
    if (!g) return null_graph("am_graph_compose", "the graph");
    if (n < 0 || (n > 0 && (!names || !values))) {
        am_fail(AM_ERR_ARG, "am_graph_compose: %d names and values", n);
        return NULL;
    }
    int *value_of = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
    am_graph *out = NULL;
    if (!value_of) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    /* The rewriter never changes the graph it reads. */
    am_rewriter rw;
    if (match_names(g, names, values, n, value_of) == AM_OK &&
        am_rw_init(&rw, (am_graph *)g) == AM_OK) {
        am_status st = AM_OK;
        for (int i = 0; i < g->n_nodes && st == AM_OK; i++)
            st = compose_node(&rw, i, value_of, values);
        am_err_ctx c;
        am_err_push(&c, "am_graph_compose", (am_site){0});
        out = st == AM_OK ? am_rw_finish(&rw) : am_rw_fail(&rw);
        am_err_pop(&c);
    }
    free(value_of);
    return out;
}
