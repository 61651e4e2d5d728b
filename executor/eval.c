/* Node-by-node evaluation: each node runs through its op's kernel into
 * freshly allocated outputs, and a value is freed after its last use, as an
 * eager program that drops its temporaries would.  The reference every
 * optimized plan is checked against, and `amber run --no-optimize`. */
#include "executor_impl.h"

void am_node_describe(const am_graph *g, int i, char *buf, size_t len)
{
    const am_node *n = g->nodes[i];
    snprintf(buf, len, "node '%s' (%s)", g->names[i], n->op ? n->op->name : "variable");
}

/* The bound value of variable node i (values[k], k -1 when none is), or its
 * constant. */
static am_status variable_value(const am_graph *g, int i, int k, am_array *const *values,
                                am_array **out)
{
    const am_node *v = g->nodes[i];
    *out = NULL;
    if (v->value) {
        *out = am_retain(v->value);
        return AM_OK;
    }
    if (k >= 0) {
        am_array *x = values[k];
        if (!x || !x->storage)
            return am_fail(AM_ERR_ARG, "am_graph_eval: the value bound to '%s' is %s",
                           g->names[i], x ? "symbolic" : "NULL");
        const am_shape *s = &v->shapes[0];
        if (s->ndim >= 0 && !am_shape_equal(*s, x->shape)) {
            char a[96], b[96];
            return am_fail(AM_ERR_SHAPE, "am_graph_eval: '%s' has shape %s in the graph, "
                           "the value bound to it has %s", g->names[i],
                           am_shape_format(s, a, sizeof(a)), am_shape_format(&x->shape, b, sizeof(b)));
        }
        *out = am_retain(x);
        return AM_OK;
    }
    /* Only gradients read it (a loss's label): run_node passes zeros. */
    if (am_graph_input_is_grad_only(g, i)) return AM_OK;
    return am_fail(AM_ERR_ARG, "am_graph_eval: no value bound to the input '%s'", g->names[i]);
}

/* Zeros for an unbound input that only gradients read (a loss's label), in
 * the shape and dtype the op inferred for it; the kernel never reads them. */
static am_status grad_only_zeros(const am_shape *s, am_dtype t, am_device dev, am_array **out)
{
    if (s->ndim < 0 || t == AM_DTYPE_COUNT)
        return am_fail(AM_ERR_SHAPE, "the op leaves the shape or dtype of its unbound "
                       "gradient-only input unknown");
    if (!(*out = am_array_alloc(*s, t, dev))) return am_last_status();
    memset(am_array_ptr(*out), 0, (size_t)am_shape_size(s) * am_dtype_size(t));
    return AM_OK;
}

static am_status run_node(const am_graph *g, int i, am_array **val, const int *offset)
{
    const am_node *n = g->nodes[i];
    am_array *in[AM_MAX_OP_IO * 4], *outs[AM_MAX_OP_IO], *zeros[AM_MAX_OP_IO * 4] = {0};
    am_shape ish[AM_MAX_OP_IO * 4], osh[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO * 4], oty[AM_MAX_OP_IO];
    am_req req[AM_MAX_OP_IO];
    char what[192], site_buf[256];
    am_err_ctx c;
    am_node_describe(g, i, what, sizeof(what));
    am_err_push(&c, what, am_node_site(n, site_buf, sizeof(site_buf)));
    am_status st = AM_OK;
    for (int k = 0; k < n->n_in; k++) {
        am_entry e = n->inputs[k];
        in[k] = val[offset[am_graph_index(g, e.node)] + e.index];
        AM_ASSERT(in[k] != NULL || (k < 32 && (n->op->grad_only_inputs & (1u << k))));
        ish[k] = in[k] ? in[k]->shape : (am_shape){.ndim = -1};
        ity[k] = in[k] ? in[k]->dtype : AM_DTYPE_COUNT;
    }
    for (int k = 0; k < n->n_out; k++) {
        osh[k].ndim = -1;
        oty[k] = AM_DTYPE_COUNT;
        outs[k] = NULL;
        req[k] = AM_REQ_WRITE;
    }
    st = am_op_infer(n->op, n->attrs, ish, ity, n->n_in, osh, oty, n->n_out, NULL);
    /* An unknown dimension of the op's own (a Gluon begin state's batch) is
     * what am_graph_infer filled in from the consumers. */
    for (int k = 0; k < n->n_out && st == AM_OK; k++)
        if (!am_shape_known(&osh[k]) && am_shape_merge(&osh[k], &n->shapes[k]) >= 0 &&
            am_shape_known(&n->shapes[k]))
            osh[k] = n->shapes[k];
    am_device dev = n->n_in && in[0] ? am_array_device(in[0]) : am_cpu();
    for (int k = 0; k < n->n_in && st == AM_OK; k++)
        if (!in[k]) st = grad_only_zeros(&ish[k], ity[k], dev, &zeros[k]), in[k] = zeros[k];
    if (st == AM_OK && dev.type == AM_DEVICE_CPU)
        st = am_memory_check_outputs(osh, oty, 0, n->n_out); /* before any is made */
    for (int k = 0; k < n->n_out && st == AM_OK; k++)
        if (!(outs[k] = am_array_alloc(osh[k], oty[k], dev))) st = am_last_status();
    if (st == AM_OK) st = am_op_run_into(n->op, n->attrs, in, n->n_in, outs, req);
    for (int k = 0; k < n->n_out; k++) {
        if (st == AM_OK) val[offset[i] + k] = outs[k];
        else am_release(outs[k]);
    }
    for (int k = 0; k < n->n_in; k++) am_release(zeros[k]);
    am_err_pop(&c);
    return st;
}

am_status am_graph_eval(const am_graph *g, const char *const *names, am_array *const *values,
                        int n, bool training, am_array **out, int n_out)
{
    int *uses = NULL, *offset = NULL, *bound = NULL;
    am_array **val = NULL;
    if (!g || n_out < 0 || n_out > g->n_heads)
        return am_fail(AM_ERR_ARG, "am_graph_eval: %s", g ? "too many outputs asked for" : "graph is NULL");
    am_status st = am_graph_count_uses(g, &uses, &offset);
    if (st != AM_OK) return st;
    /* bound[i]: the first k whose name is node i's, else -1. */
    if (!(bound = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(*bound)))) {
        free(uses), free(offset);
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++) bound[i] = -1;
    for (int k = n - 1; k >= 0; k--) {
        int i = names[k] ? am_graph_find_name(g, names[k]) : -1;
        if (i >= 0) bound[i] = k;
    }
    int total = offset[g->n_nodes];
    if (!(val = calloc((size_t)(total ? total : 1), sizeof(*val)))) {
        free(uses), free(offset), free(bound);
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    for (int h = 0; h < n_out; h++) out[h] = NULL;
    bool was_training = am_set_training(training);
    bool was_recording = am_autograd_set_recording(false);
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        const am_node *node = g->nodes[i];
        if (!node->op) st = variable_value(g, i, bound[i], values, &val[offset[i]]);
        else st = run_node(g, i, val, offset);
        /* Frees inputs after their last use (heads keep one use each). */
        for (int k = 0; k < node->n_in && st == AM_OK; k++) {
            am_entry e = node->inputs[k];
            int slot = offset[am_graph_index(g, e.node)] + e.index;
            if (--uses[slot] == 0) {
                am_release(val[slot]);
                val[slot] = NULL;
            }
        }
        /* Outputs nobody reads (hidden ones) go at once. */
        for (int k = 0; k < node->n_out && st == AM_OK; k++)
            if (uses[offset[i] + k] == 0) {
                am_release(val[offset[i] + k]);
                val[offset[i] + k] = NULL;
            }
    }
    am_set_training(was_training);
    am_autograd_set_recording(was_recording);
    for (int h = 0; h < n_out && st == AM_OK; h++) {
        int slot = offset[am_graph_index(g, g->heads[h].node)] + g->heads[h].index;
        out[h] = am_scope_own(am_retain(val[slot]));
    }
    for (int i = 0; i < total; i++) am_release(val[i]);
    free(val), free(uses), free(offset), free(bound);
    return st;
}
