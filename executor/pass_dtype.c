/* Dtype legalization, the plan's half of computing float16, bfloat16 and
 * bool through float32, int8 through int32 (the eager half is in
 * ndarray/dispatch.c): each op node whose kernels do not take such an input
 * or output (its .dtypes lacks the bit) gets a Cast to the compute dtype on
 * that input, computes in it, and a Cast back on that output, so the planner and every kernel see only dtypes
 * they know.  Not a switchable pass: plans need it to run at all. */
#include "executor_impl.h"

static bool via_compute(const am_op_def *op, am_dtype t)
{
    return (unsigned)t < AM_DTYPE_COUNT && am_dtype_compute(t) != t &&
           !(op->dtypes & (1u << t));
}

static bool needs_casts(const am_node *n)
{
    if (!n->op) return false;
    for (int k = 0; k < n->n_in; k++)
        if (via_compute(n->op, n->inputs[k].node->dtypes[n->inputs[k].index])) return true;
    for (int k = 0; k < n->n_out; k++)
        if (via_compute(n->op, n->dtypes[k])) return true;
    return false;
}

/* A new Cast node of e to t named "<base><suffix>"; NULL with an error. */
static am_node *cast_node(am_entry e, am_dtype t, const char *base, const char *suffix)
{
    uint64_t given = 0;
    void *attrs = am_cast_attrs(t, &given);
    if (!attrs) return NULL;
    am_node *c = am_node_build(&am_op_cast, attrs, &e, 1);
    free(attrs);
    if (!c) return NULL;
    c->attrs_given = given;
    size_t len = strlen(base) + strlen(suffix) + 1;
    free(c->name);
    if (!(c->name = malloc(len))) {
        am_node_release(c);
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    snprintf(c->name, len, "%s%s", base, suffix);
    return c;
}

static am_status legalize_node(am_rewriter *rw, int i)
{
    const am_graph *g = rw->g;
    const am_node *n = g->nodes[i];
    am_entry in[AM_MAX_OP_IO * 4];
    am_node *made[AM_MAX_OP_IO * 4] = {0};
    am_status st = AM_OK;
    char suffix[48];
    AM_ASSERT(n->n_in <= (int)(sizeof(in) / sizeof(in[0])));
    for (int k = 0; k < n->n_in && st == AM_OK; k++) {
        in[k] = am_rw_get(rw, n->inputs[k]);
        am_dtype t = in[k].node->dtypes[in[k].index];
        if (!via_compute(n->op, t)) continue;
        snprintf(suffix, sizeof(suffix), "_in%d_%s", k, am_dtype_name(am_dtype_compute(t)));
        if (!(made[k] = cast_node(in[k], am_dtype_compute(t), g->names[i], suffix)))
            st = am_last_status();
        else in[k] = (am_entry){made[k], 0};
    }
    am_node *c = st == AM_OK ? am_node_clone(n, in) : NULL;
    if (st == AM_OK && !c) st = am_last_status();
    if (st == AM_OK && !c->name && !(c->name = strdup(g->names[i])))
        st = am_fail(AM_ERR_OOM, "out of memory");
    for (int k = 0; k < n->n_out && st == AM_OK; k++) {
        am_dtype t = n->dtypes[k];
        if (!via_compute(n->op, t)) {
            am_rw_set(rw, i, k, (am_entry){c, k});
            continue;
        }
        c->dtypes[k] = am_dtype_compute(t);
        snprintf(suffix, sizeof(suffix), "_out%d_%s", k, am_dtype_name(t));
        am_node *back = cast_node((am_entry){c, k}, t, g->names[i], suffix);
        if (!back) {
            st = am_last_status();
            break;
        }
        am_rw_set(rw, i, k, (am_entry){back, 0});
        am_node_release(back);
    }
    am_node_release(c);
    for (int k = 0; k < n->n_in; k++) am_node_release(made[k]);
    return st;
}

am_graph *am_graph_legalize_dtypes(am_graph *g)
{
    am_rewriter rw;
    if (am_rw_init(&rw, g) != AM_OK) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        if (needs_casts(g->nodes[i])) {
            if (legalize_node(&rw, i) != AM_OK) return am_rw_fail(&rw);
        } else if (!am_rw_keep(&rw, i)) {
            return am_rw_fail(&rw);
        }
    }
    return am_rw_finish(&rw);
}
