/* Gradients of _foreach, _while_loop and _cond.  The op's computation is replayed with
 * public ops (each subgraph node through am_op_call), the calls kept on a small tape of
 * their own, and back-propagated with each op's own gradient function: concrete arrays
 * give an eager backward, symbolic ones build the backward graph (a hybridized block's).
 * _foreach replays either way, its length being a shape; _while_loop and _cond decide
 * by values, so their gradients are eager only (docs/control-flow.md). */
#include "control_flow_impl.h"

/* One replayed subgraph node: its inputs then its outputs. */
typedef struct gcall {
    const am_node *n;
    am_array *io[2 * AM_MAX_OP_IO];
} gcall;

typedef struct gtape {
    gcall *calls;
    int n, cap;
    am_ptrmap slot; /* array -> index into grads */
    am_array **grads;
    int n_grads, cap_grads;
} gtape;

static void tape_free(gtape *t)
{
    free(t->calls), free(t->grads);
    am_ptrmap_free(&t->slot);
}

/* Adds d to the gradient of x. */
static am_status grad_add(gtape *t, am_array *x, am_array *d)
{
    if (!d) return am_last_status();
    int k = am_ptrmap_get(&t->slot, x, -1);
    if (k >= 0) {
        t->grads[k] = am_elemwise_add(t->grads[k], d);
        return t->grads[k] ? AM_OK : am_last_status();
    }
    if (t->n_grads == t->cap_grads) {
        int cap = t->cap_grads ? 2 * t->cap_grads : 64;
        am_array **g = realloc(t->grads, (size_t)cap * sizeof(*g));
        if (!g) return am_fail(AM_ERR_OOM, "out of memory");
        t->grads = g, t->cap_grads = cap;
    }
    if (!am_ptrmap_put(&t->slot, x, t->n_grads)) return am_fail(AM_ERR_OOM, "out of memory");
    t->grads[t->n_grads++] = d;
    return AM_OK;
}

/* The gradient of x, or zeros like it. */
static am_array *grad_of(gtape *t, am_array *x)
{
    int k = am_ptrmap_get(&t->slot, x, -1);
    return k >= 0 ? t->grads[k] : am_zeros_like(x);
}

/* Applies subgraph g to in through public dispatch, keeping each call on t;
 * out receives its outputs (the current scope's). */
static am_status sub_apply(const am_graph *g, const char *what, am_array *const *in,
                           am_array **out, gtape *t)
{
    int *offset = malloc((size_t)(g->n_nodes + 1) * sizeof(*offset)), k = 0;
    am_array **val = NULL;
    am_status st = offset ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK) {
        offset[0] = 0;
        for (int i = 0; i < g->n_nodes; i++) offset[i + 1] = offset[i] + g->nodes[i]->n_out;
        if (!(val = calloc((size_t)offset[g->n_nodes] + 1, sizeof(*val))))
            st = am_fail(AM_ERR_OOM, "out of memory");
    }
    for (int i = 0; st == AM_OK && i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        if (!n->op) {
            val[offset[i]] = n->value ? n->value : in[k++];
            continue;
        }
        if (t && am_op_num_visible(n->op, n->attrs) != n->n_out) {
            st = am_fail(AM_ERR_UNSUPPORTED, "node '%s' (%s) has hidden outputs, which the "
                         "gradient of control flow cannot replay yet", g->names[i], n->op->name);
            break;
        }
        if (t && t->n == t->cap) {
            int cap = t->cap ? 2 * t->cap : 64;
            gcall *c = realloc(t->calls, (size_t)cap * sizeof(*c));
            if (!c) {
                st = am_fail(AM_ERR_OOM, "out of memory");
                break;
            }
            t->calls = c, t->cap = cap;
        }
        gcall c = {.n = n};
        for (int j = 0; j < n->n_in; j++) {
            am_entry e = n->inputs[j];
            c.io[j] = val[offset[am_graph_index(g, e.node)] + e.index];
            if (!c.io[j]) st = am_fail(AM_ERR_UNSUPPORTED, "node '%s' reads a hidden output", g->names[i]);
        }
        if (st == AM_OK)
            st = am_op_call(n->op, n->attrs, c.io, n->n_in, &val[offset[i]],
                            am_op_num_visible(n->op, n->attrs), AM_HERE);
        for (int j = 0; st == AM_OK && t && j < n->n_out; j++) c.io[n->n_in + j] = val[offset[i] + j];
        if (st == AM_OK && t) t->calls[t->n++] = c;
    }
    for (int h = 0; st == AM_OK && h < g->n_heads; h++) {
        am_entry e = g->heads[h];
        if (!(out[h] = val[offset[am_graph_index(g, e.node)] + e.index]))
            st = am_fail(AM_ERR_UNSUPPORTED, "output %d is a hidden output", h);
    }
    if (st != AM_OK) am_error_append(" (in the %s subgraph)", what);
    free(val), free(offset);
    return st;
}

/* Back-propagates the gradients seeded on t through its calls, last first. */
static am_status tape_backward(gtape *t)
{
    am_status st = AM_OK;
    for (int c = t->n - 1; c >= 0 && st == AM_OK; c--) {
        const am_node *n = t->calls[c].n;
        am_array *const *in = t->calls[c].io, *const *out = in + n->n_in;
        am_array *og[AM_MAX_OP_IO], *ig[AM_MAX_OP_IO] = {0};
        bool need[AM_MAX_OP_IO], any = false;
        for (int k = 0; k < n->n_out; k++) any |= am_ptrmap_get(&t->slot, out[k], -1) >= 0;
        if (!any || !n->op->gradient) continue; /* no gradient reaches it, or none passes */
        for (int k = 0; k < n->n_out && st == AM_OK; k++)
            if (!(og[k] = grad_of(t, out[k]))) st = am_last_status();
        for (int j = 0; j < n->n_in; j++) need[j] = true;
        am_grad_ctx g = {.op = n->op, .attrs = n->attrs, .n_in = n->n_in, .n_out = n->n_out,
                         .need_grad = need};
        if (st == AM_OK) st = n->op->gradient(&g, in, out, og, ig);
        for (int j = 0; j < n->n_in && st == AM_OK; j++)
            if (ig[j]) st = grad_add(t, in[j], ig[j]);
    }
    return st;
}

/* Row r of x along the first axis, as an array of one axis less. */
static am_array *row(am_array *x, int64_t r)
{
    return am_squeeze(am_slice_axis(x, 0, r, r + 1), (int[]){0}, 1);
}

/* Seeds stacked output k's gradient og on the steps' outputs res[t * stride + k]. */
static am_status seed_rows(gtape *t, am_array **res, int stride, int k, int64_t steps,
                           am_array *og)
{
    am_status st = AM_OK;
    for (int64_t s = 0; s < steps && st == AM_OK; s++)
        st = grad_add(t, res[s * stride + k], row(og, s));
    return st;
}

static am_status foreach_grad(const am_grad_ctx *g, am_array **x, am_array *const *og,
                              am_array **ig)
{
    const foreach_attrs *a = g->attrs;
    int nd, ns, no = (int)a->num_outputs, nod = (int)a->num_out_data;
    am_status st = am_cf_foreach_check(a, g->n_in, &nd, &ns);
    if (st != AM_OK) return st;
    int64_t len = am_array_dim(x[0], 0);
    am_array **slices = calloc((size_t)(len * nd + 1), sizeof(*slices));
    am_array **res = calloc((size_t)(len * no + 1), sizeof(*res));
    am_array *cur[AM_MAX_OP_IO], *sin[AM_MAX_OP_IO];
    gtape t = {0};
    if (!slices || !res) st = am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < g->n_in; i++) cur[i] = x[i];
    for (int64_t s = 0; s < len && st == AM_OK; s++) {
        for (int i = 0; i < g->n_in && st == AM_OK; i++) {
            if (i < nd && !(slices[s * nd + i] = row(x[i], s))) st = am_last_status();
            sin[am_cf_foreach_loc(a, nd, ns, i)] = i < nd ? slices[s * nd + i] : cur[i];
        }
        if (st == AM_OK) st = sub_apply(a->sg.g[0], "body", sin, &res[s * no], &t);
        for (int k = 0; k < ns && st == AM_OK; k++) cur[nd + k] = res[s * no + nod + k];
    }
    for (int k = 0; k < nod && st == AM_OK; k++) st = seed_rows(&t, res, no, k, len, og[k]);
    for (int k = 0; k < ns && st == AM_OK; k++) st = grad_add(&t, cur[nd + k], og[nod + k]);
    if (st == AM_OK) st = tape_backward(&t);
    for (int i = 0; i < g->n_in && st == AM_OK; i++) {
        if (!g->need_grad[i]) continue;
        if (i >= nd) {
            ig[i] = grad_of(&t, x[i]);
        } else if (len == 0) {
            ig[i] = am_zeros_like(x[i]);
        } else {
            am_array **rows = malloc((size_t)len * sizeof(*rows));
            for (int64_t s = 0; rows && s < len; s++) rows[s] = grad_of(&t, slices[s * nd + i]);
            ig[i] = rows ? am_stack(rows, (int)len, 0) : NULL;
            free(rows);
        }
        if (!ig[i]) st = am_last_status();
    }
    tape_free(&t);
    free(slices), free(res);
    return st;
}

static am_status while_grad(const am_grad_ctx *g, am_array **x, am_array *const *og,
                            am_array **ig)
{
    const while_attrs *a = g->attrs;
    int no = (int)a->num_outputs, nod = (int)a->num_out_data, nv = no - nod;
    am_status st = am_cf_while_check(a, g->n_in);
    if (st != AM_OK) return st;
    am_array **res = calloc((size_t)(a->max_iterations * no + 1), sizeof(*res));
    am_array *cur[AM_MAX_OP_IO], *sin[AM_MAX_OP_IO], *p = NULL;
    gtape t = {0};
    int64_t steps = 0;
    if (!res) st = am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < g->n_in; i++) cur[i] = x[i];
    for (; steps < a->max_iterations && st == AM_OK; steps++) {
        bool go = false;
        for (int j = 0; j < a->cond_input_locs.ndim; j++) sin[j] = cur[a->cond_input_locs.v[j]];
        st = sub_apply(a->sg.g[0], "cond", sin, &p, NULL);
        if (st == AM_OK) st = am_cf_truth(p, "cond", &go);
        if (st != AM_OK || !go) break;
        for (int j = 0; j < a->func_input_locs.ndim; j++) sin[j] = cur[a->func_input_locs.v[j]];
        if ((st = sub_apply(a->sg.g[1], "func", sin, &res[steps * no], &t)) != AM_OK) break;
        for (int v = 0; v < nv; v++) cur[am_cf_while_var(a, v)] = res[steps * no + nod + v];
    }
    for (int k = 0; k < nod && st == AM_OK; k++) st = seed_rows(&t, res, no, k, steps, og[k]);
    for (int v = 0; v < nv && st == AM_OK; v++)
        st = grad_add(&t, cur[am_cf_while_var(a, v)], og[nod + v]);
    if (st == AM_OK) st = tape_backward(&t);
    for (int i = 0; i < g->n_in && st == AM_OK; i++)
        if (g->need_grad[i] && !(ig[i] = grad_of(&t, x[i]))) st = am_last_status();
    tape_free(&t);
    free(res);
    return st;
}

static am_status cond_grad(const am_grad_ctx *g, am_array **x, am_array *const *og, am_array **ig)
{
    const cond_attrs *a = g->attrs;
    am_array *sin[AM_MAX_OP_IO], *res[AM_MAX_OP_IO], *p = NULL;
    bool yes = false;
    gtape t = {0};
    am_status st = am_cf_cond_check(a, g->n_in);
    for (int j = 0; st == AM_OK && j < a->cond_input_locs.ndim; j++) sin[j] = x[a->cond_input_locs.v[j]];
    if (st == AM_OK) st = sub_apply(a->sg.g[0], "cond", sin, &p, NULL);
    if (st == AM_OK) st = am_cf_truth(p, "cond", &yes);
    const am_tuple *locs = am_cf_cond_locs(a, yes ? 1 : 2);
    for (int j = 0; st == AM_OK && j < locs->ndim; j++) sin[j] = x[locs->v[j]];
    if (st == AM_OK) st = sub_apply(a->sg.g[yes ? 1 : 2], am_cf_cond_names[yes ? 1 : 2], sin, res, &t);
    for (int k = 0; k < g->n_out && st == AM_OK; k++) st = grad_add(&t, res[k], og[k]);
    if (st == AM_OK) st = tape_backward(&t);
    for (int i = 0; i < g->n_in && st == AM_OK; i++)
        if (g->need_grad[i] && !(ig[i] = grad_of(&t, x[i]))) st = am_last_status();
    tape_free(&t);
    return st;
}

/* A handle of its own on x's value (the same graph entry when symbolic), so that two
 * inputs given the same array keep their gradients apart. */
static am_array *own_handle(am_array *x)
{
    if (!am_array_is_symbolic(x)) return am_detach(x);
    am_node_retain(x->node);
    return am_scope_own(am_symbolic_array(x->node, x->node_output));
}

am_status am_cf_gradient(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out);
    am_array *x[AM_MAX_OP_IO];
    bool symbolic = false;
    for (int i = 0; i < g->n_in; i++) symbolic |= am_array_is_symbolic(in[i]);
    if (symbolic && g->op->num_subgraphs > 1)
        return am_fail(AM_ERR_UNSUPPORTED, "its gradient is computed eagerly only: the steps "
                       "taken depend on values, which a hybridized (symbolic) backward does not "
                       "have; keep the block eager to train it (docs/control-flow.md)");
    am_scope_begin();
    am_status st = AM_OK;
    for (int i = 0; i < g->n_in && st == AM_OK; i++)
        if (!(x[i] = own_handle(in[i]))) st = am_last_status();
    for (int i = 0; i < g->n_in; i++) in_grad[i] = NULL;
    if (st == AM_OK) {
        if (g->op->num_subgraphs == 1) st = foreach_grad(g, x, out_grad, in_grad);
        else if (g->op->num_subgraphs == 2) st = while_grad(g, x, out_grad, in_grad);
        else st = cond_grad(g, x, out_grad, in_grad);
    }
    /* The results may alias arrays outside this scope (a head gradient passed on). */
    for (int i = 0; i < g->n_in; i++)
        in_grad[i] = st == AM_OK && in_grad[i] ? am_retain(in_grad[i]) : NULL;
    am_scope_end();
    for (int i = 0; i < g->n_in; i++)
        if (in_grad[i]) am_scope_own(in_grad[i]);
    return st;
}
