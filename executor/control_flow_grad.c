/* Gradients of _foreach, _while_loop and _cond.  The op's computation is replayed with
 * public ops (each subgraph node through am_op_call), the calls kept on a small tape of
 * their own, and back-propagated with each op's own gradient function: concrete arrays
 * give an eager backward, symbolic ones build the backward graph (a hybridized block's).
 * _foreach replays either way, its length being a shape; _while_loop and _cond decide
 * by values, so a symbolic backward gets a _backward_while_loop or _backward_cond node,
 * which replays them when it runs (docs/control-flow.md). */
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

/* ---- _backward_while_loop, _backward_cond ----------------------------------------------
 * A symbolic backward of _while_loop or _cond cannot unroll the loop: the steps depend on
 * values.  It gets one node of these ops instead, whose kernel replays and differentiates
 * the forward with the values it is given at run time (as MXNet's stateful backward does).
 * Inputs: the forward's inputs, then the gradients of its outputs; outputs: the gradients
 * of its inputs.  The attributes (and subgraphs) are the forward's. */

static int fwd_inputs(const am_op_def *fwd, const void *attrs)
{
    return am_op_num_inputs(fwd, attrs);
}

static int bwd_while_inputs(const void *attrs)
{
    return fwd_inputs(&am_op_while_loop, attrs) + am_op_num_outputs(&am_op_while_loop, attrs);
}

static int bwd_while_outputs(const void *attrs) { return fwd_inputs(&am_op_while_loop, attrs); }

static int bwd_cond_inputs(const void *attrs)
{
    return fwd_inputs(&am_op_cond, attrs) + am_op_num_outputs(&am_op_cond, attrs);
}

static int bwd_cond_outputs(const void *attrs) { return fwd_inputs(&am_op_cond, attrs); }

static am_status bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    for (int i = 0; i < n_out; i++) {
        if (in[i].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of input %d is unknown", i);
        out[i] = in[i];
    }
    return AM_OK;
}

static am_status bwd_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    for (int i = 0; i < n_out; i++) out[i] = in[i];
    return AM_OK;
}

/* A new array holding a copy of view v (CPU). */
static am_array *array_of(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int d = 0; d < v->ndim; d++) s.dim[d] = v->dim[d];
    am_array *x = am_array_alloc(s, v->dtype, am_cpu());
    if (x) memcpy(am_array_ptr(x), v->data, (size_t)am_shape_size(&s) * am_dtype_size(v->dtype));
    return x ? am_scope_own(x) : NULL;
}

static am_status bwd_run(const am_op_def *fwd, const void *attrs, const am_view *in, int n_in,
                         const am_view *out, int n_out, const am_req *req)
{
    am_array *x[2 * AM_MAX_OP_IO], *ig[AM_MAX_OP_IO] = {0};
    bool need[AM_MAX_OP_IO];
    am_status st = AM_OK;
    for (int i = 0; i < n_in + n_out; i++)
        if ((i < n_in ? in[i] : out[i - n_in]).device.type != AM_DEVICE_CPU)
            return am_fail(AM_ERR_UNSUPPORTED, "control flow runs on the CPU only");
    for (int i = 0; i < n_out; i++) need[i] = req[i] != AM_REQ_NULL;
    am_grad_ctx g = {.op = fwd, .attrs = attrs, .n_in = n_out, .n_out = n_in - n_out,
                     .need_grad = need};
    bool was = am_autograd_set_recording(false);
    am_scope_begin();
    for (int i = 0; i < n_in && st == AM_OK; i++)
        if (!(x[i] = array_of(&in[i]))) st = am_last_status();
    if (st == AM_OK)
        st = fwd == &am_op_cond ? cond_grad(&g, x, x + n_out, ig) : while_grad(&g, x, x + n_out, ig);
    for (int i = 0; i < n_out && st == AM_OK; i++) {
        if (!need[i]) continue;
        size_t es = am_dtype_size(out[i].dtype), n = (size_t)am_view_size(&out[i]);
        if (ig[i]->dtype != out[i].dtype || (size_t)am_array_size(ig[i]) != n) {
            st = am_fail(AM_ERR_INTERNAL, "the gradient of input %d does not match it", i);
        } else if (req[i] != AM_REQ_ADD) {
            memcpy(out[i].data, am_array_ptr(ig[i]), n * es);
        } else {
            AM_DTYPE_SWITCH(out[i].dtype, T, {
                T *y = out[i].data;
                const T *d = am_array_ptr(ig[i]);
                for (size_t k = 0; k < n; k++) y[k] += d[k];
            });
        }
    }
    am_scope_end();
    am_autograd_set_recording(was);
    return st;
}

static am_status bwd_while_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx);
    return bwd_run(&am_op_while_loop, attrs, in, n_in, out, n_out, req);
}

static am_status bwd_cond_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx);
    return bwd_run(&am_op_cond, attrs, in, n_in, out, n_out, req);
}

const am_op_def am_op_backward_while_loop = {
    .name = "_backward_while_loop",
    .input_names = (const char *const[]){"data", NULL},
    .num_inputs = bwd_while_inputs, .num_outputs = 1, .num_outputs_of = bwd_while_outputs,
    .attrs = am_cf_while_fields, .attrs_size = sizeof(while_attrs),
    .infer_shape = bwd_shape, .infer_dtype = bwd_dtype, .cpu = bwd_while_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC | AM_OP_NO_GRAD, .num_subgraphs = 2,
    .doc = "The gradient of _while_loop in a symbolic backward: replays the loop on its "
           "inputs' values.",
};

const am_op_def am_op_backward_cond = {
    .name = "_backward_cond",
    .input_names = (const char *const[]){"data", NULL},
    .num_inputs = bwd_cond_inputs, .num_outputs = 1, .num_outputs_of = bwd_cond_outputs,
    .attrs = am_cf_cond_fields, .attrs_size = sizeof(cond_attrs),
    .infer_shape = bwd_shape, .infer_dtype = bwd_dtype, .cpu = bwd_cond_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC | AM_OP_NO_GRAD, .num_subgraphs = 3,
    .doc = "The gradient of _cond in a symbolic backward: runs the branch its inputs' values "
           "choose.",
};

/* One _backward_while_loop or _backward_cond node for a symbolic backward. */
static am_status backward_node(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *out_grad, am_array **in_grad)
{
    am_array *x[2 * AM_MAX_OP_IO], *ig[AM_MAX_OP_IO];
    for (int i = 0; i < g->n_in; i++) x[i] = in[i];
    for (int k = 0; k < g->n_out; k++)
        if (!(x[g->n_in + k] = out_grad[k] ? out_grad[k] : am_zeros_like(out[k])))
            return am_last_status();
    const am_op_def *bwd = g->op->num_subgraphs == 2 ? &am_op_backward_while_loop
                                                     : &am_op_backward_cond;
    am_status st = am_op_call(bwd, g->attrs, x, g->n_in + g->n_out, ig, g->n_in, g->at);
    for (int i = 0; i < g->n_in; i++) in_grad[i] = st == AM_OK && g->need_grad[i] ? ig[i] : NULL;
    return st;
}

am_status am_cf_gradient(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out);
    am_array *x[AM_MAX_OP_IO];
    bool symbolic = false;
    for (int i = 0; i < g->n_in; i++) symbolic |= am_array_is_symbolic(in[i]);
    if (symbolic && g->op->num_subgraphs > 1) return backward_node(g, in, out, out_grad, in_grad);
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
