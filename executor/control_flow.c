/* MXNet 1.x's control-flow ops _foreach, _while_loop and _cond, which Gluon writes for
 * F.contrib.foreach / while_loop / cond: each node holds its subgraphs (symbol JSON's
 * "subgraphs"), its inference runs the subgraphs' inference and its kernel runs them
 * node by node with am_graph_eval; control_flow_grad.c differentiates them. */
#include <pthread.h>

#include "control_flow_impl.h"


/* ---- subgraphs ------------------------------------------------------------------------- */

/* The variables of g in its node order: the subgraph's inputs, as MXNet numbers them. */
static int sub_inputs(const am_graph *g, int *idx, int cap)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->op) {
            if (n < cap) idx[n] = i;
            n++;
        }
    return n;
}

/* Checks that subgraph k (what names it) exists, takes n_in inputs and gives n_out outputs. */
static am_status check_sub(const am_op_subgraphs *sg, int k, const char *what, int n_in,
                           int n_out)
{
    const am_graph *g = sg->g[k];
    int idx[AM_MAX_OP_IO];
    if (!g)
        return am_fail(AM_ERR_ARG, "the %s subgraph is missing: this op runs only in a graph "
                       "whose node carries its \"subgraphs\" (symbol JSON)", what);
    int have = sub_inputs(g, idx, AM_MAX_OP_IO);
    if (have != n_in)
        return am_fail(AM_ERR_FORMAT, "the %s subgraph has %d inputs, but the attributes give "
                       "it %d", what, have, n_in);
    if (g->n_heads != n_out)
        return am_fail(AM_ERR_FORMAT, "the %s subgraph has %d outputs, but the attributes "
                       "need %d", what, g->n_heads, n_out);
    return AM_OK;
}

/* Each entry of locs (what names it) lies in [0, n) and (distinct) appears once. */
static am_status check_locs(const am_tuple *locs, const char *what, int n, bool distinct)
{
    char b[AM_SHAPE_BUF];
    for (int i = 0; i < locs->ndim; i++) {
        bool dup = false;
        for (int j = 0; distinct && j < i; j++) dup |= locs->v[j] == locs->v[i];
        if (locs->v[i] < 0 || locs->v[i] >= n || dup)
            return am_fail(AM_ERR_FORMAT, "%s %s: entry %d is %s (%d inputs)", what,
                           am_fmt_tuple(locs, b), i, dup ? "repeated" : "out of range", n);
    }
    return AM_OK;
}

/* Inference changes the shapes held by the subgraph's nodes, so it runs one at a time
 * (recursive: a subgraph may hold control flow itself); the variables get back what
 * they had. */
static pthread_mutex_t infer_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* Infers subgraph g for input shapes and dtypes (ndim -1 / AM_DTYPE_COUNT unknown):
 * the heads' shapes and dtypes into hs/ht, and unknown input shapes it fills back
 * into shapes.  Fails when a head stays unknown. */
static am_status sub_infer(am_graph *g, const char *what, am_shape *shapes, am_dtype *dtypes,
                           am_shape *hs, am_dtype *ht, bool need_shapes)
{
    int idx[AM_MAX_OP_IO], n = sub_inputs(g, idx, AM_MAX_OP_IO);
    const char *names[AM_MAX_OP_IO];
    am_shape keep_s[AM_MAX_OP_IO];
    am_dtype keep_t[AM_MAX_OP_IO];
    pthread_mutex_lock(&infer_lock);
    for (int i = 0; i < n; i++) {
        am_node *v = g->nodes[idx[i]];
        names[i] = g->names[idx[i]];
        keep_s[i] = v->shapes[0], keep_t[i] = v->dtypes[0];
        v->shapes[0].ndim = -1, v->dtypes[0] = AM_DTYPE_COUNT;
    }
    am_status st = am_graph_infer(g, names, shapes, dtypes, n);
    bool missing = false;
    for (int h = 0; h < g->n_heads; h++) {
        am_entry e = g->heads[h];
        hs[h] = e.node->shapes[e.index], ht[h] = e.node->dtypes[e.index];
        missing |= ht[h] == AM_DTYPE_COUNT || (need_shapes && !am_shape_known(&hs[h]));
    }
    for (int i = 0; i < n; i++) {
        am_node *v = g->nodes[idx[i]];
        if (shapes[i].ndim < 0 && am_shape_known(&v->shapes[0])) shapes[i] = v->shapes[0];
        v->shapes[0] = keep_s[i], v->dtypes[0] = keep_t[i];
    }
    pthread_mutex_unlock(&infer_lock);
    if (!missing) {
        am_clear_error();
        return AM_OK;
    }
    if (st == AM_OK) st = am_fail(AM_ERR_SHAPE, "an output stays unknown");
    am_error_append(" (in the %s subgraph)", what);
    return st;
}

/* Runs subgraph g on its inputs (borrowed); out receives its outputs (new references). */
static am_status sub_run(const am_graph *g, const char *what, am_array *const *in, bool training,
                         am_array **out)
{
    int idx[AM_MAX_OP_IO], n = sub_inputs(g, idx, AM_MAX_OP_IO);
    const char *names[AM_MAX_OP_IO];
    for (int i = 0; i < n; i++) names[i] = g->names[idx[i]];
    am_scope_begin();
    am_status st = am_graph_eval(g, names, in, n, training, out, g->n_heads);
    for (int h = 0; h < g->n_heads && st == AM_OK; h++) am_retain(out[h]);
    am_scope_end();
    if (st != AM_OK) am_error_append(" (in the %s subgraph)", what);
    return st;
}

/* Whether the one-element predicate p is non-zero. */
am_status am_cf_truth(am_array *p, const char *what, bool *yes)
{
    if (am_array_size(p) != 1)
        return am_fail(AM_ERR_SHAPE, "the %s subgraph gives %lld values, not one", what,
                       (long long)am_array_size(p));
    am_view v = am_array_view(p);
    *yes = am_view_get(&v, 0) != 0;
    return AM_OK;
}

/* A new array holding a copy of view v. */
static am_array *array_of(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int d = 0; d < v->ndim; d++) s.dim[d] = v->dim[d];
    am_array *x = am_array_alloc(s, v->dtype, am_cpu());
    if (x) memcpy(am_array_ptr(x), v->data, (size_t)am_shape_size(&s) * am_dtype_size(v->dtype));
    return x;
}

/* Stores x into out at element offset at, by req; what names the output in errors. */
static am_status store(const am_view *out, am_req req, int64_t at, am_array *x, const char *what)
{
    int64_t n = am_array_size(x);
    char b[AM_SHAPE_BUF];
    if (req == AM_REQ_NULL) return AM_OK;
    if (x->dtype != out->dtype)
        return am_fail(AM_ERR_DTYPE, "%s is %s, but the op's output is %s", what,
                       am_dtype_name(x->dtype), am_dtype_name(out->dtype));
    if (at + n > am_view_size(out))
        return am_fail(AM_ERR_SHAPE, "%s %s does not fit the op's output", what,
                       am_fmt_shape(&x->shape, b));
    size_t es = am_dtype_size(out->dtype);
    if (req != AM_REQ_ADD) {
        memcpy((char *)out->data + at * es, am_array_ptr(x), (size_t)n * es);
        return AM_OK;
    }
    AM_DTYPE_SWITCH(out->dtype, T, {
        T *y = (T *)out->data + at;
        const T *s = am_array_ptr(x);
        for (int64_t i = 0; i < n; i++) y[i] += s[i];
    });
    return AM_OK;
}

/* Zeros rows [from, to) of a stacked output (rows of row elements), as WRITE needs. */
static void zero_rows(const am_view *out, am_req req, int64_t row, int64_t from, int64_t to)
{
    if (req == AM_REQ_ADD || req == AM_REQ_NULL || to <= from) return;
    size_t es = am_dtype_size(out->dtype);
    memset((char *)out->data + (size_t)(from * row) * es, 0, (size_t)((to - from) * row) * es);
}

static am_status need_cpu(const am_view *in, int n_in, const am_view *out, int n_out)
{
    for (int i = 0; i < n_in + n_out; i++) {
        const am_view *v = i < n_in ? &in[i] : &out[i - n_in];
        if (v->device.type != AM_DEVICE_CPU)
            return am_fail(AM_ERR_UNSUPPORTED, "control flow runs on the CPU only");
    }
    return AM_OK;
}

/* ---- _foreach ------------------------------------------------------------------------- */

/* An input or output count from an attribute, clamped to what the registry
 * checks: negative is 0, more than AM_MAX_OP_IO is one too many. */
static int io_count(int64_t n)
{
    return n < 0 ? 0 : n > AM_MAX_OP_IO ? AM_MAX_OP_IO + 1 : (int)n;
}

static int foreach_inputs(const void *attrs)
{
    int64_t n = ((const foreach_attrs *)attrs)->num_args - 1;
    return io_count(n);
}

static int foreach_outputs(const void *attrs)
{
    int64_t n = ((const foreach_attrs *)attrs)->num_outputs;
    return io_count(n);
}

/* Checks the attributes against the body; *nd, *ns: data inputs and states. */
am_status am_cf_foreach_check(const foreach_attrs *a, int n_in, int *nd, int *ns)
{
    *nd = a->in_data_locs.ndim, *ns = a->in_state_locs.ndim;
    int nr = a->remain_locs.ndim < 0 ? 0 : a->remain_locs.ndim;
    am_status st = AM_OK;
    if (*nd < 1 || *ns < 0 || *nd + *ns + nr != n_in)
        return am_fail(AM_ERR_FORMAT, "in_data_locs, in_state_locs and remain_locs give %d "
                       "inputs, but num_args says %d (at least one data input)",
                       *nd + (*ns > 0 ? *ns : 0) + nr, n_in);
    if (a->num_out_data < 0 || a->num_outputs != a->num_out_data + *ns)
        return am_fail(AM_ERR_FORMAT, "num_outputs %lld is not num_out_data %lld plus the %d "
                       "states", (long long)a->num_outputs, (long long)a->num_out_data, *ns);
    am_tuple all = a->in_data_locs;
    for (int i = 0; i < *ns; i++) all.v[all.ndim++] = a->in_state_locs.v[i];
    for (int i = 0; i < nr && all.ndim < AM_MAX_TUPLE; i++) all.v[all.ndim++] = a->remain_locs.v[i];
    if (all.ndim != n_in)
        return am_fail(AM_ERR_UNSUPPORTED, "more than %d inputs", AM_MAX_TUPLE);
    if (st == AM_OK) st = check_locs(&all, "in_data_locs + in_state_locs + remain_locs", n_in, true);
    if (st == AM_OK) st = check_sub(&a->sg, 0, "body", n_in, (int)a->num_outputs);
    return st;
}

/* Op input i is subgraph input loc_of(i). */
int am_cf_foreach_loc(const foreach_attrs *a, int nd, int ns, int i)
{
    if (i < nd) return (int)a->in_data_locs.v[i];
    if (i < nd + ns) return (int)a->in_state_locs.v[i - nd];
    return (int)a->remain_locs.v[i - nd - ns];
}

static am_status foreach_types(const foreach_attrs *a, am_shape *in, am_dtype *ti, int n_in,
                               am_shape *out, am_dtype *to, int n_out, bool shapes)
{
    int nd, ns;
    am_status st = am_cf_foreach_check(a, n_in, &nd, &ns);
    if (st != AM_OK) return st;
    am_shape ss[AM_MAX_OP_IO], hs[AM_MAX_OP_IO];
    am_dtype st_[AM_MAX_OP_IO], ht[AM_MAX_OP_IO];
    int64_t len = -1;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    for (int i = 0; i < n_in; i++) {
        int loc = am_cf_foreach_loc(a, nd, ns, i);
        ss[loc] = shapes ? in[i] : (am_shape){.ndim = -1};
        st_[loc] = ti ? ti[i] : AM_DTYPE_FLOAT32;
        if (!shapes || i >= nd) continue;
        if (in[i].ndim < 1)
            return am_fail(AM_ERR_SHAPE, "data input %d is %s: it needs a first axis to loop "
                           "over", i, in[i].ndim < 0 ? "unknown" : "0-d");
        if (len >= 0 && in[i].dim[0] != len)
            return am_fail(AM_ERR_SHAPE, "data inputs 0 %s and %d %s differ in length",
                           am_fmt_shape(&in[0], b0), i, am_fmt_shape(&in[i], b1));
        len = in[i].dim[0];
        ss[loc].ndim--;
        for (int d = 0; d < ss[loc].ndim; d++) ss[loc].dim[d] = in[i].dim[d + 1];
    }
    st = sub_infer(a->sg.g[0], "body", ss, st_, hs, ht, shapes);
    for (int k = 0; k < n_out && st == AM_OK; k++) {
        if (!shapes) {
            to[k] = ht[k];
            continue;
        }
        out[k] = hs[k];
        if (k < a->num_out_data) {
            if (hs[k].ndim >= AM_MAX_NDIM)
                return am_fail(AM_ERR_SHAPE, "output %d of the body has too many axes", k);
            out[k].ndim = hs[k].ndim + 1, out[k].dim[0] = len;
            for (int d = 0; d < hs[k].ndim; d++) out[k].dim[d + 1] = hs[k].dim[d];
        } else {
            am_shape *s0 = &in[nd + k - a->num_out_data];
            if (s0->ndim < 0) *s0 = hs[k];
            if (!am_shape_equal(*s0, hs[k]))
                return am_fail(AM_ERR_SHAPE, "state %lld enters the body as %s but leaves it "
                               "as %s", (long long)(k - a->num_out_data), am_fmt_shape(s0, b0),
                               am_fmt_shape(&hs[k], b1));
        }
    }
    for (int i = 0; shapes && i < n_in && st == AM_OK; i++)
        if (in[i].ndim < 0 && i >= nd) in[i] = ss[am_cf_foreach_loc(a, nd, ns, i)];
    return st;
}

static am_status foreach_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    return foreach_types(attrs, in, NULL, n_in, out, NULL, n_out, true);
}

static am_status foreach_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    return foreach_types(attrs, NULL, in, n_in, NULL, out, n_out, false);
}

static am_status foreach_loop(const am_kernel_ctx *ctx, const foreach_attrs *a, am_array **cur,
                              int nd, int ns, int n_in, const am_view *out, const am_req *req)
{
    am_array *sin[AM_MAX_OP_IO], *res[AM_MAX_OP_IO];
    int64_t len = cur[0]->shape.dim[0];
    am_status st = AM_OK;
    for (int64_t t = 0; t < len && st == AM_OK; t++) {
        am_array *slices[AM_MAX_OP_IO] = {0};
        for (int i = 0; i < n_in && st == AM_OK; i++) {
            int loc = am_cf_foreach_loc(a, nd, ns, i);
            sin[loc] = cur[i];
            if (i >= nd) continue;
            am_shape s = cur[i]->shape;
            s.ndim--;
            for (int d = 0; d < s.ndim; d++) s.dim[d] = cur[i]->shape.dim[d + 1];
            size_t bytes = (size_t)am_shape_size(&s) * am_dtype_size(cur[i]->dtype);
            if (!(slices[i] = am_array_new_view(cur[i], s, cur[i]->dtype, (size_t)t * bytes)))
                st = am_last_status();
            sin[loc] = slices[i];
        }
        if (st == AM_OK) st = sub_run(a->sg.g[0], "body", sin, ctx->training, res);
        for (int i = 0; i < nd; i++) am_release(slices[i]);
        if (st != AM_OK) break;
        for (int k = 0; k < a->num_out_data && st == AM_OK; k++)
            st = store(&out[k], req[k], t * am_array_size(res[k]), res[k], "an output of the body");
        for (int k = 0; k < ns; k++) {
            am_release(cur[nd + k]);
            cur[nd + k] = am_retain(res[a->num_out_data + k]);
        }
        for (int k = 0; k < a->num_outputs; k++) am_release(res[k]);
    }
    for (int k = 0; k < ns && st == AM_OK; k++)
        st = store(&out[a->num_out_data + k], req[a->num_out_data + k], 0, cur[nd + k], "a state");
    return st;
}

static am_status foreach_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    const foreach_attrs *a = attrs;
    int nd, ns;
    am_array *cur[AM_MAX_OP_IO] = {0};
    am_status st = need_cpu(in, n_in, out, n_out);
    if (st == AM_OK) st = am_cf_foreach_check(a, n_in, &nd, &ns);
    for (int i = 0; i < n_in && st == AM_OK; i++)
        if (!(cur[i] = array_of(&in[i]))) st = am_last_status();
    if (st == AM_OK) st = foreach_loop(ctx, a, cur, nd, ns, n_in, out, req);
    for (int i = 0; i < n_in; i++) am_release(cur[i]);
    return st;
}

static const am_attr_field foreach_fields[] = {
    AM_ATTR_FIELD(foreach_attrs, num_args, AM_ATTR_INT, NULL, "inputs, plus 1 for the body"),
    AM_ATTR_FIELD(foreach_attrs, num_outputs, AM_ATTR_INT, NULL, "outputs of the body"),
    AM_ATTR_FIELD(foreach_attrs, num_out_data, AM_ATTR_INT, NULL,
                  "leading outputs of the body stacked over the steps"),
    AM_ATTR_FIELD(foreach_attrs, in_state_locs, AM_ATTR_TUPLE, NULL,
                  "body inputs that the states feed"),
    AM_ATTR_FIELD(foreach_attrs, in_data_locs, AM_ATTR_TUPLE, NULL,
                  "body inputs that the data inputs' steps feed"),
    AM_ATTR_FIELD(foreach_attrs, remain_locs, AM_ATTR_TUPLE, NULL,
                  "body inputs that the remaining inputs feed"),
    {0}};

const am_op_def am_op_foreach = {
    .name = "_foreach",
    .input_names = (const char *const[]){"data", NULL},
    .num_inputs = foreach_inputs, .num_outputs = 1, .num_outputs_of = foreach_outputs,
    .attrs = foreach_fields, .attrs_size = sizeof(foreach_attrs),
    .infer_shape = foreach_shape, .infer_dtype = foreach_dtype, .cpu = foreach_cpu,
    .gradient = am_cf_gradient, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC,
    .num_subgraphs = 1,
    .doc = "Runs its body subgraph over the first axis of the data inputs, carrying states "
           "(F.contrib.foreach).",
};

/* ---- _while_loop ---------------------------------------------------------------------- */

static int while_inputs(const void *attrs)
{
    int64_t n = ((const while_attrs *)attrs)->num_args - 2;
    return io_count(n);
}

static int while_outputs(const void *attrs)
{
    int64_t n = ((const while_attrs *)attrs)->num_outputs;
    return io_count(n);
}

am_status am_cf_while_check(const while_attrs *a, int n_in)
{
    int nv = (int)(a->num_outputs - a->num_out_data);
    am_status st = AM_OK;
    if (a->max_iterations < 0)
        return am_fail(AM_ERR_FORMAT, "max_iterations %lld is negative",
                       (long long)a->max_iterations);
    if (a->num_out_data < 0 || nv < 1 || a->func_var_locs.ndim != nv)
        return am_fail(AM_ERR_FORMAT, "num_outputs %lld less num_out_data %lld must be the %d "
                       "loop variables of func_var_locs", (long long)a->num_outputs,
                       (long long)a->num_out_data, a->func_var_locs.ndim);
    st = check_locs(&a->cond_input_locs, "cond_input_locs", n_in, false);
    if (st == AM_OK) st = check_locs(&a->func_input_locs, "func_input_locs", n_in, false);
    if (st == AM_OK) st = check_locs(&a->func_var_locs, "func_var_locs", a->func_input_locs.ndim, true);
    if (st == AM_OK) st = check_sub(&a->sg, 0, "cond", a->cond_input_locs.ndim, 1);
    if (st == AM_OK) st = check_sub(&a->sg, 1, "func", a->func_input_locs.ndim, (int)a->num_outputs);
    return st;
}

/* Op input that loop variable v lives in. */
int am_cf_while_var(const while_attrs *a, int v)
{
    return (int)a->func_input_locs.v[a->func_var_locs.v[v]];
}

static am_status while_types(const while_attrs *a, am_shape *in, am_dtype *ti, int n_in,
                             am_shape *out, am_dtype *to, int n_out, bool shapes)
{
    am_status st = am_cf_while_check(a, n_in);
    if (st != AM_OK) return st;
    am_shape ss[AM_MAX_OP_IO], hs[AM_MAX_OP_IO];
    am_dtype st_[AM_MAX_OP_IO], ht[AM_MAX_OP_IO];
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    for (int j = 0; j < a->func_input_locs.ndim; j++) {
        int i = (int)a->func_input_locs.v[j];
        ss[j] = shapes ? in[i] : (am_shape){.ndim = -1};
        st_[j] = ti ? ti[i] : AM_DTYPE_FLOAT32;
    }
    st = sub_infer(a->sg.g[1], "func", ss, st_, hs, ht, shapes);
    for (int j = 0; j < a->func_input_locs.ndim && shapes && st == AM_OK; j++)
        if (in[a->func_input_locs.v[j]].ndim < 0) in[a->func_input_locs.v[j]] = ss[j];
    for (int k = 0; k < n_out && st == AM_OK; k++) {
        if (!shapes) {
            to[k] = ht[k];
            continue;
        }
        out[k] = hs[k];
        if (k < a->num_out_data) {
            if (hs[k].ndim >= AM_MAX_NDIM)
                return am_fail(AM_ERR_SHAPE, "output %d of func has too many axes", k);
            out[k].ndim = hs[k].ndim + 1, out[k].dim[0] = a->max_iterations;
            for (int d = 0; d < hs[k].ndim; d++) out[k].dim[d + 1] = hs[k].dim[d];
        } else {
            const am_shape *s0 = &in[am_cf_while_var(a, (int)(k - a->num_out_data))];
            if (!am_shape_equal(*s0, hs[k]))
                return am_fail(AM_ERR_SHAPE, "loop variable %lld enters func as %s but leaves "
                               "it as %s", (long long)(k - a->num_out_data),
                               am_fmt_shape(s0, b0), am_fmt_shape(&hs[k], b1));
        }
    }
    return st;
}

static am_status while_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    return while_types(attrs, in, NULL, n_in, out, NULL, n_out, true);
}

static am_status while_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    return while_types(attrs, NULL, in, n_in, NULL, out, n_out, false);
}

/* Runs the loop over cur (the op's inputs, loop variables replaced as they change). */
static am_status while_loop(const am_kernel_ctx *ctx, const while_attrs *a, am_array **cur,
                            const am_view *out, const am_req *req)
{
    am_array *sin[AM_MAX_OP_IO], *res[AM_MAX_OP_IO], *p = NULL;
    int nv = (int)(a->num_outputs - a->num_out_data);
    am_status st = AM_OK;
    int64_t t = 0;
    for (; t < a->max_iterations && st == AM_OK; t++) {
        bool go = false;
        for (int j = 0; j < a->cond_input_locs.ndim; j++) sin[j] = cur[a->cond_input_locs.v[j]];
        st = sub_run(a->sg.g[0], "cond", sin, ctx->training, &p);
        if (st == AM_OK) st = am_cf_truth(p, "cond", &go);
        am_release(p);
        if (st != AM_OK || !go) break;
        for (int j = 0; j < a->func_input_locs.ndim; j++) sin[j] = cur[a->func_input_locs.v[j]];
        if ((st = sub_run(a->sg.g[1], "func", sin, ctx->training, res)) != AM_OK) break;
        for (int k = 0; k < a->num_out_data && st == AM_OK; k++)
            st = store(&out[k], req[k], t * am_array_size(res[k]), res[k], "an output of func");
        for (int v = 0; v < nv; v++) {
            am_release(cur[am_cf_while_var(a, v)]);
            cur[am_cf_while_var(a, v)] = am_retain(res[a->num_out_data + v]);
        }
        for (int k = 0; k < a->num_outputs; k++) am_release(res[k]);
    }
    /* Steps the loop did not take leave zeros (MXNet leaves them undefined). */
    for (int k = 0; k < a->num_out_data && st == AM_OK; k++) {
        int64_t row = out[k].dim[0] ? am_view_size(&out[k]) / out[k].dim[0] : 0;
        zero_rows(&out[k], req[k], row, t, out[k].dim[0]);
    }
    for (int v = 0; v < nv && st == AM_OK; v++)
        st = store(&out[a->num_out_data + v], req[a->num_out_data + v], 0, cur[am_cf_while_var(a, v)],
                   "a loop variable");
    return st;
}

static am_status while_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    am_array *cur[AM_MAX_OP_IO] = {0};
    am_status st = need_cpu(in, n_in, out, n_out);
    if (st == AM_OK) st = am_cf_while_check(attrs, n_in);
    for (int i = 0; i < n_in && st == AM_OK; i++)
        if (!(cur[i] = array_of(&in[i]))) st = am_last_status();
    if (st == AM_OK) st = while_loop(ctx, attrs, cur, out, req);
    for (int i = 0; i < n_in; i++) am_release(cur[i]);
    return st;
}

const am_attr_field am_cf_while_fields[] = {
    AM_ATTR_FIELD(while_attrs, num_args, AM_ATTR_INT, NULL, "inputs, plus 2 for the subgraphs"),
    AM_ATTR_FIELD(while_attrs, num_outputs, AM_ATTR_INT, NULL, "outputs of func"),
    AM_ATTR_FIELD(while_attrs, num_out_data, AM_ATTR_INT, NULL,
                  "leading outputs of func stacked over the steps"),
    AM_ATTR_FIELD(while_attrs, max_iterations, AM_ATTR_INT, NULL,
                  "most steps; stacked outputs have this many rows"),
    AM_ATTR_FIELD(while_attrs, cond_input_locs, AM_ATTR_TUPLE, NULL, "op input of each cond input"),
    AM_ATTR_FIELD(while_attrs, func_input_locs, AM_ATTR_TUPLE, NULL, "op input of each func input"),
    AM_ATTR_FIELD(while_attrs, func_var_locs, AM_ATTR_TUPLE, NULL,
                  "func input of each loop variable"),
    {0}};

const am_op_def am_op_while_loop = {
    .name = "_while_loop",
    .input_names = (const char *const[]){"data", NULL},
    .num_inputs = while_inputs, .num_outputs = 1, .num_outputs_of = while_outputs,
    .attrs = am_cf_while_fields, .attrs_size = sizeof(while_attrs),
    .infer_shape = while_shape, .infer_dtype = while_dtype, .cpu = while_cpu,
    .gradient = am_cf_gradient, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC,
    .num_subgraphs = 2,
    .doc = "Runs func while cond holds, at most max_iterations times; unfilled rows of the "
           "stacked outputs are zero (F.contrib.while_loop).",
};

/* ---- _cond ---------------------------------------------------------------------------- */

static int cond_inputs(const void *attrs)
{
    int64_t n = ((const cond_attrs *)attrs)->num_args - 3;
    return io_count(n);
}

static int cond_outputs(const void *attrs)
{
    int64_t n = ((const cond_attrs *)attrs)->num_outputs;
    return io_count(n);
}

const char *const am_cf_cond_names[] = {"cond", "then", "else"};

const am_tuple *am_cf_cond_locs(const cond_attrs *a, int k)
{
    return k == 0 ? &a->cond_input_locs : k == 1 ? &a->then_input_locs : &a->else_input_locs;
}

am_status am_cf_cond_check(const cond_attrs *a, int n_in)
{
    static const char *const what[] = {"cond_input_locs", "then_input_locs", "else_input_locs"};
    am_status st = AM_OK;
    for (int k = 0; k < 3 && st == AM_OK; k++) {
        st = check_locs(am_cf_cond_locs(a, k), what[k], n_in, false);
        if (st == AM_OK)
            st = check_sub(&a->sg, k, am_cf_cond_names[k], am_cf_cond_locs(a, k)->ndim,
                           k ? (int)a->num_outputs : 1);
    }
    return st;
}

static am_status cond_types(const cond_attrs *a, am_shape *in, am_dtype *ti, int n_in,
                            am_shape *out, am_dtype *to, int n_out, bool shapes)
{
    am_status st = am_cf_cond_check(a, n_in);
    am_shape hs[2][AM_MAX_OP_IO];
    am_dtype ht[2][AM_MAX_OP_IO];
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    for (int k = 1; k < 3 && st == AM_OK; k++) {
        am_shape ss[AM_MAX_OP_IO];
        am_dtype st_[AM_MAX_OP_IO];
        const am_tuple *locs = am_cf_cond_locs(a, k);
        for (int j = 0; j < locs->ndim; j++) {
            ss[j] = shapes ? in[locs->v[j]] : (am_shape){.ndim = -1};
            st_[j] = ti ? ti[locs->v[j]] : AM_DTYPE_FLOAT32;
        }
        st = sub_infer(a->sg.g[k], am_cf_cond_names[k], ss, st_, hs[k - 1], ht[k - 1], shapes);
        for (int j = 0; j < locs->ndim && shapes && st == AM_OK; j++)
            if (in[locs->v[j]].ndim < 0) in[locs->v[j]] = ss[j];
    }
    for (int k = 0; k < n_out && st == AM_OK; k++) {
        if (shapes && !am_shape_equal(hs[0][k], hs[1][k]))
            return am_fail(AM_ERR_SHAPE, "output %d is %s in then but %s in else", k,
                           am_fmt_shape(&hs[0][k], b0), am_fmt_shape(&hs[1][k], b1));
        if (!shapes && ht[0][k] != ht[1][k])
            return am_fail(AM_ERR_DTYPE, "output %d is %s in then but %s in else", k,
                           am_dtype_name(ht[0][k]), am_dtype_name(ht[1][k]));
        if (shapes) out[k] = hs[0][k];
        else to[k] = ht[0][k];
    }
    return st;
}

static am_status cond_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    return cond_types(attrs, in, NULL, n_in, out, NULL, n_out, true);
}

static am_status cond_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    return cond_types(attrs, NULL, in, n_in, NULL, out, n_out, false);
}

static am_status cond_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    const cond_attrs *a = attrs;
    am_array *cur[AM_MAX_OP_IO] = {0}, *sin[AM_MAX_OP_IO], *res[AM_MAX_OP_IO] = {0}, *p = NULL;
    bool yes = false;
    am_status st = need_cpu(in, n_in, out, n_out);
    if (st == AM_OK) st = am_cf_cond_check(a, n_in);
    for (int i = 0; i < n_in && st == AM_OK; i++)
        if (!(cur[i] = array_of(&in[i]))) st = am_last_status();
    for (int j = 0; st == AM_OK && j < a->cond_input_locs.ndim; j++) sin[j] = cur[a->cond_input_locs.v[j]];
    if (st == AM_OK) st = sub_run(a->sg.g[0], "cond", sin, ctx->training, &p);
    if (st == AM_OK) st = am_cf_truth(p, "cond", &yes);
    am_release(p);
    int k = yes ? 1 : 2;
    for (int j = 0; st == AM_OK && j < am_cf_cond_locs(a, k)->ndim; j++) sin[j] = cur[am_cf_cond_locs(a, k)->v[j]];
    if (st == AM_OK && (st = sub_run(a->sg.g[k], am_cf_cond_names[k], sin, ctx->training, res)) == AM_OK) {
        for (int o = 0; o < n_out && st == AM_OK; o++)
            st = store(&out[o], req[o], 0, res[o], "an output of the branch");
        for (int o = 0; o < n_out; o++) am_release(res[o]);
    }
    for (int i = 0; i < n_in; i++) am_release(cur[i]);
    return st;
}

const am_attr_field am_cf_cond_fields[] = {
    AM_ATTR_FIELD(cond_attrs, num_args, AM_ATTR_INT, NULL, "inputs, plus 3 for the subgraphs"),
    AM_ATTR_FIELD(cond_attrs, num_outputs, AM_ATTR_INT, NULL, "outputs of each branch"),
    AM_ATTR_FIELD(cond_attrs, cond_input_locs, AM_ATTR_TUPLE, NULL, "op input of each cond input"),
    AM_ATTR_FIELD(cond_attrs, then_input_locs, AM_ATTR_TUPLE, NULL, "op input of each then input"),
    AM_ATTR_FIELD(cond_attrs, else_input_locs, AM_ATTR_TUPLE, NULL, "op input of each else input"),
    {0}};

const am_op_def am_op_cond = {
    .name = "_cond",
    .input_names = (const char *const[]){"data", NULL},
    .num_inputs = cond_inputs, .num_outputs = 1, .num_outputs_of = cond_outputs,
    .attrs = am_cf_cond_fields, .attrs_size = sizeof(cond_attrs),
    .infer_shape = cond_shape, .infer_dtype = cond_dtype, .cpu = cond_cpu,
    .gradient = am_cf_gradient, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC,
    .num_subgraphs = 3,
    .doc = "Runs the then or the else subgraph as the cond subgraph's one value is non-zero "
           "or zero (F.contrib.cond).",
};
