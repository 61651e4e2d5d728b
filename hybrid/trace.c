/* Tracing a block: its forward runs on variables, parameters read while it
 * runs become variables named after them, and the ops it calls become a
 * graph.  Deferred parameter shapes are inferred by such a trace. */
#include "hybrid_impl.h"
#include "../ndarray/profiler_impl.h"

static _Thread_local hy_trace *current;

hy_trace *hy_trace_current(void) { return current; }

void hy_trace_free(hy_trace *tr)
{
    for (int i = 0; i < tr->n; i++) am_release(tr->vars[i]);
    free(tr->params), free(tr->vars);
    *tr = (hy_trace){0};
}

void hy_input_name(int i, int n_in, char *buf, size_t len)
{
    if (n_in == 1) snprintf(buf, len, "data");
    else snprintf(buf, len, "data%d", i);
}

/* MXNet's __init__ string for an initializer ('["xavier", {...}]'). */
static void init_string(const am_init *in, char *buf, size_t len)
{
    static const char *const factor[] = {"avg", "in", "out"};
    const char *f = factor[(unsigned)in->factor < 3 ? in->factor : 0];
    switch (in->kind) {
    case AM_INIT_CONSTANT: snprintf(buf, len, "[\"constant\", {\"value\": %.17g}]", in->value); break;
    case AM_INIT_UNIFORM: snprintf(buf, len, "[\"uniform\", {\"scale\": %.17g}]", in->scale); break;
    case AM_INIT_NORMAL: snprintf(buf, len, "[\"normal\", {\"sigma\": %.17g}]", in->scale); break;
    case AM_INIT_XAVIER:
        snprintf(buf, len, "[\"xavier\", {\"rnd_type\": \"%s\", \"factor_type\": \"%s\", "
                 "\"magnitude\": %.17g}]", in->gaussian ? "gaussian" : "uniform", f,
                 in->magnitude > 0 ? in->magnitude : 3);
        break;
    case AM_INIT_MSRA:
        snprintf(buf, len, "[\"msraprelu\", {\"factor_type\": \"%s\", \"slope\": %.17g}]", f, in->slope);
        break;
    case AM_INIT_ORTHOGONAL:
        snprintf(buf, len, "[\"orthogonal\", {\"scale\": %.17g}]", in->scale > 0 ? in->scale : 1);
        break;
    default: snprintf(buf, len, "[\"%s\", {}]", am_init_kind_name(in->kind)); break;
    }
}

/* The attributes Gluon's Parameter.var() gives a parameter's variable. */
static am_status describe_var(am_node *n, const am_param *p)
{
    char buf[256];
    am_status st = AM_OK;
    if (p->has_init && p->init.kind != AM_INIT_DEFAULT) {
        init_string(&p->init, buf, sizeof(buf));
        st = am_node_set_extra(n, "__init__", buf);
    }
    if (st == AM_OK && p->lr_mult != 1) {
        am_format_double(p->lr_mult, buf, sizeof(buf));
        st = am_node_set_extra(n, "__lr_mult__", buf);
    }
    if (st == AM_OK && p->wd_mult != 1) {
        am_format_double(p->wd_mult, buf, sizeof(buf));
        st = am_node_set_extra(n, "__wd_mult__", buf);
    }
    return st;
}

am_array *hy_trace_param(hy_trace *tr, am_param *p, am_site at)
{
    for (int i = 0; i < tr->n; i++)
        if (tr->params[i] == p) return tr->vars[i];
    if (!p->data && !tr->shape_only) {
        am_fail_at("am_param_value", at, AM_ERR_ARG, "parameter '%s' has no value: call "
                   "am_block_initialize first", p->name);
        return NULL;
    }
    if (tr->n == tr->cap) {
        int cap = tr->cap ? tr->cap * 2 : 16;
        am_param **ps = realloc(tr->params, (size_t)cap * sizeof(*ps));
        if (ps) tr->params = ps;
        am_array **vs = ps ? realloc(tr->vars, (size_t)cap * sizeof(*vs)) : NULL;
        if (!vs) {
            am_fail(AM_ERR_OOM, "out of memory");
            return NULL;
        }
        tr->vars = vs;
        tr->cap = cap;
    }
    bool known = p->shape.ndim >= 0;
    for (int d = 0; d < p->shape.ndim; d++) known &= p->shape.dim[d] > 0;
    am_shape s = p->data ? am_array_shape(p->data) : known ? p->shape : (am_shape){.ndim = -1};
    am_dtype dt = p->data ? am_array_dtype(p->data) : p->dtype;
    am_array *v = am_var_at(p->name, s, dt, at);
    if (!v || describe_var(v->node, p) != AM_OK) return NULL;
    tr->params[tr->n] = p;
    tr->vars[tr->n++] = am_retain(v);
    return v;
}

/* Messages of failed traces say which block and what to do. */
static void explain(am_block *b, am_status code, bool shape_only)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", am_last_error());
    /* When am_fail appends a line of its own, drop the one in msg. */
    char *at = strrchr(msg, ' ');
    if (am_err_has_site() && at && at > msg + 3 && strncmp(at - 3, " at ", 4) == 0 &&
        strchr(at, ':'))
        at[-3] = '\0';
    char who[160];
    am_block *f = hy_failed_block;
    if (f && f != b) snprintf(who, sizeof(who), "%s (in %s)", f->cls->name, b->cls->name);
    else snprintf(who, sizeof(who), "%s", b->cls->name);
    if (code == AM_ERR_SYMBOLIC && shape_only)
        am_fail(code, "the parameter shapes of %s are inferred by a trace of its forward, which "
                "reads a value: %s.  Give the layers their input sizes (in_units, in_channels), "
                "or make the first call with the reading switched off", who, msg);
    else if (code == AM_ERR_SYMBOLIC)
        am_fail(code, "hybridize: %s cannot be traced: %s.  Its forward reads a value while "
                "tracing (am_item, am_array_data, printing, a comparison steering C control "
                "flow); keep this block eager (am_block_hybridize(b, false, NULL), or "
                "am_block_set_eager on the child), or express the branch with am_where",
                who, msg);
    else if (shape_only)
        am_fail(code, "inferring the parameter shapes of %s (a trace of its forward) failed: %s",
                b->cls->name, msg);
    else
        am_fail(code, "hybridize: tracing %s failed: %s", b->cls->name, msg);
}

static am_graph *trace_block(am_block *b, const am_shape *shapes, const am_dtype *dtypes, int n_in,
                             bool shape_only, hy_trace *tr, int *n_out, am_site at)
{
    am_array *in[AM_BLOCK_MAX_IO], *out[AM_BLOCK_MAX_IO];
    am_graph *g = NULL;
    *tr = (hy_trace){.shape_only = shape_only, .prev = current};
    if (hy_name_params(b, "") != AM_OK) return NULL;
    am_scope_begin();
    int n = 0;
    for (int i = 0; i < n_in; i++) {
        char name[32];
        hy_input_name(i, n_in, name, sizeof(name));
        if (!(in[i] = am_var_at(name, shapes[i], dtypes[i], at))) n = -1;
    }
    if (n == 0) {
        am_trace_scope s;
        am_trace_scope_push(&s, "", (b->cls->flags & AM_BLOCK_BUILTIN) ? at : (am_site){0});
        bool was_recording = am_autograd_set_recording(false);
        current = tr;
        /* A value read while tracing (am_item) fails without a NULL to
         * propagate: any failure during the trace fails it. */
        am_clear_error();
        hy_failed_block = NULL;
        n = hy_forward(b, in, n_in, out, AM_BLOCK_MAX_IO, at);
        if (n > 0 && am_last_status() != AM_OK) n = -1;
        current = tr->prev;
        am_autograd_set_recording(was_recording);
        am_trace_scope_pop(&s);
    }
    for (int i = 0; i < n; i++) {
        if (!am_array_is_symbolic(out[i])) {
            am_fail(AM_ERR_ARG, "output %d does not depend on the inputs or parameters", i);
            n = -1;
            break;
        }
        /* The same value returned twice gets a head of its own, so each
         * output has its own head gradient in the backward graph. */
        for (int j = 0; j < i; j++)
            if (out[j]->node == out[i]->node && out[j]->node_output == out[i]->node_output) {
                if (!(out[i] = am_copy(out[i]))) n = -1;
                break;
            }
    }
    if (n > 0) g = am_graph_create(out, n);
    am_status code = am_last_status();
    am_scope_end();
    if (!g) {
        explain(b, code, shape_only);
        hy_trace_free(tr);
    }
    *n_out = n;
    return g;
}

/* trace_block, and the profiler's event for it. */
am_graph *hy_trace_block(am_block *b, const am_shape *shapes, const am_dtype *dtypes, int n_in,
                         bool shape_only, hy_trace *tr, int *n_out, am_site at)
{
    if (!am_prof_on()) return trace_block(b, shapes, dtypes, n_in, shape_only, tr, n_out, at);
    am_prof_span s;
    am_prof_args a;
    am_prof_begin(&s);
    am_graph *g = trace_block(b, shapes, dtypes, n_in, shape_only, tr, n_out, at);
    am_prof_args_init(&a);
    am_prof_arg_str(&a, "block", b->cls->name);
    am_prof_arg_shapes(&a, "inputs", shapes, dtypes, n_in);
    if (g) am_prof_arg_int(&a, "nodes", g->n_nodes);
    else am_prof_arg_str(&a, "error", am_last_error());
    am_prof_arg_bool(&a, "shapes only", shape_only);
    am_prof_complete(&s, "hybrid", "trace", &a);
    return g;
}

int hy_trace_open_call(am_block *b, am_array *const *in, int n_in, am_array **out, int cap,
                       am_site at)
{
    hy_trace tr = {.shape_only = true, .prev = current};
    if (hy_name_params(b, "") != AM_OK) return -1;
    current = &tr;
    int n = hy_forward(b, in, n_in, out, cap, at);
    current = tr.prev;
    hy_trace_free(&tr);
    return n;
}

/* Recomputes the deferred marks under b; true when one remains. */
static bool mark_deferred(am_block *b)
{
    bool any = false;
    for (int i = 0; i < b->impl->n_params; i++)
        any |= b->impl->params[i]->wants_init && !b->impl->params[i]->data;
    for (int i = 0; i < b->impl->n_children; i++) any |= mark_deferred(b->impl->children[i].b);
    b->impl->deferred = any;
    return any;
}

static am_status settle(am_param *p, const am_array *v)
{
    am_shape s = v->node->shapes[0];
    char a[96], c[96];
    if (s.ndim < 0)
        return am_fail(AM_ERR_SHAPE, "the shape of parameter '%s' cannot be inferred from this "
                       "call; give it when making the layer", p->name);
    bool fits = s.ndim == p->shape.ndim;
    for (int d = 0; fits && d < s.ndim; d++) fits = p->shape.dim[d] == 0 || p->shape.dim[d] == s.dim[d];
    if (!fits)
        return am_fail(AM_ERR_SHAPE, "parameter '%s' was declared %s but the call needs %s",
                       p->name, am_shape_format(&p->shape, a, sizeof(a)),
                       am_shape_format(&s, c, sizeof(c)));
    p->shape = s;
    return hy_param_init(p);
}

am_status hy_resolve_deferred(am_block *b, am_array *const *in, int n_in, am_site at)
{
    am_shape shapes[AM_BLOCK_MAX_IO];
    am_dtype dtypes[AM_BLOCK_MAX_IO];
    for (int i = 0; i < n_in; i++) {
        shapes[i] = am_array_shape(in[i]);
        dtypes[i] = am_array_dtype(in[i]);
    }
    hy_trace tr;
    int n_out;
    am_graph *g = hy_trace_block(b, shapes, dtypes, n_in, true, &tr, &n_out, at);
    if (!g) return am_last_status();
    am_status st = AM_OK;
    am_err_ctx c;
    am_err_push(&c, b->cls->name, at);
    for (int i = 0; i < tr.n && st == AM_OK; i++)
        if (!tr.params[i]->data && tr.params[i]->wants_init) st = settle(tr.params[i], tr.vars[i]);
    am_err_pop(&c);
    hy_trace_free(&tr);
    am_graph_release(g);
    mark_deferred(b);
    return st;
}

am_graph *am_block_trace(am_block *b, am_array *const *in, int n_in)
{
    if (!b || n_in < 0 || n_in > AM_BLOCK_MAX_IO || (n_in && !in)) {
        am_fail(AM_ERR_ARG, "am_block_trace: %s", !b ? "block is NULL" : "bad inputs");
        return NULL;
    }
    am_shape shapes[AM_BLOCK_MAX_IO];
    am_dtype dtypes[AM_BLOCK_MAX_IO];
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) {
            am_fail(AM_ERR_ARG, "am_block_trace: input %d is NULL", i);
            return NULL;
        }
        shapes[i] = am_array_shape(in[i]);
        dtypes[i] = am_array_dtype(in[i]);
    }
    hy_trace tr;
    int n_out;
    am_graph *g = hy_trace_block(b, shapes, dtypes, n_in, true, &tr, &n_out, (am_site){0});
    if (g) hy_trace_free(&tr);
    return g;
}
