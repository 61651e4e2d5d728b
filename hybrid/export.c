/* Export of a block as MXNet files, blocks that run imported graphs, and the
 * eager-against-hybridized check. */
#include "hybrid_impl.h"

#include <math.h>

/* ---- export ------------------------------------------------------------------------ */

/* "arg:" or "aux:" and name, for the .params file. */
static am_status add_value(am_ndlist *l, const char *name, bool aux, am_array *x)
{
    size_t len = strlen(name) + 5;
    char *key = malloc(len);
    if (!key) return am_fail(AM_ERR_OOM, "out of memory");
    snprintf(key, len, "%s:%s", aux ? "aux" : "arg", name);
    am_status st = am_ndlist_add(l, key, x);
    free(key);
    return st;
}

static am_status write_params(am_graph *g, const hy_trace *tr, const char *path)
{
    int n_aux = am_graph_list_auxiliary_states(g, NULL, 0);
    const char **aux = calloc((size_t)n_aux + 1, sizeof(*aux));
    am_ndlist *l = am_ndlist_create();
    am_status st = aux && l ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK) am_graph_list_auxiliary_states(g, aux, n_aux);
    for (int k = 0; st == AM_OK && k < tr->n; k++) {
        bool is_aux = false;
        for (int j = 0; j < n_aux && !is_aux; j++) is_aux = strcmp(aux[j], tr->params[k]->name) == 0;
        st = add_value(l, tr->params[k]->name, is_aux, tr->params[k]->data);
    }
    /* Constants captured while tracing (am_zeros, a concrete array the
     * forward closed over) travel as arguments with their values. */
    for (int i = 0; st == AM_OK && i < g->n_nodes; i++)
        if (am_node_is_const(g->nodes[i])) st = add_value(l, g->names[i], false, g->nodes[i]->value);
    if (st == AM_OK) st = am_ndlist_save(l, path);
    am_ndlist_free(l);
    free(aux);
    return st;
}

am_status am_block_export(am_block *b, const char *path, int epoch)
{
    if (!b || !path) return am_fail(AM_ERR_ARG, "am_block_export: %s is NULL", !b ? "block" : "path");
    struct am_block_impl *impl = b->impl;
    if (!impl->called)
        return am_fail(AM_ERR_ARG, "am_block_export: call %s once first: export traces it with "
                       "the shapes of its last call", b->cls->name);
    if (epoch < 0 || epoch > 9999) return am_fail(AM_ERR_ARG, "am_block_export: epoch %d is outside [0, 9999]", epoch);
    hy_trace tr;
    int n_out;
    am_graph *g = hy_trace_block(b, impl->last_shape, impl->last_dtype, impl->last_n_in, false,
                                 &tr, &n_out, impl->last_site);
    if (!g) return am_last_status();
    /* The batch (each input's first dimension) is written as unknown, as
     * Gluon leaves it, so the files run at any batch size. */
    for (int k = 0; k < impl->last_n_in; k++) {
        char name[32];
        hy_input_name(k, impl->last_n_in, name, sizeof(name));
        for (int i = 0; i < g->n_nodes; i++)
            if (!g->nodes[i]->op && strcmp(g->names[i], name) == 0 && g->nodes[i]->shapes[0].ndim > 0)
                g->nodes[i]->shapes[0].dim[0] = AM_DIM_UNKNOWN;
    }
    size_t len = strlen(path) + 32;
    char *file = malloc(len);
    am_status st = file ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK) {
        snprintf(file, len, "%s-symbol.json", path);
        st = am_graph_save(g, file);
    }
    if (st == AM_OK) {
        snprintf(file, len, "%s-%04d.params", path, epoch);
        st = write_params(g, &tr, file);
    }
    free(file);
    hy_trace_free(&tr);
    am_graph_release(g);
    return st;
}

/* ---- blocks over imported graphs ----------------------------------------------------------- */

typedef struct sym_block {
    am_block base;
    am_graph *g;
    int n_inputs;
    int *input_node;     /* graph position of input i */
    am_param **param;    /* per graph node: the parameter of a variable, or NULL */
    int partial;         /* 1: an op's shape attribute has unknown dimensions; -1: none; 0: not looked */
} sym_block;

static void sym_destroy(am_block *self)
{
    sym_block *s = (sym_block *)self;
    am_graph_release(s->g);
    free(s->input_node), free(s->param);
}

/* The value of variable node i. */
static am_array *var_value(sym_block *s, int i, am_array *const *in)
{
    for (int k = 0; k < s->n_inputs; k++)
        if (s->input_node[k] == i) return in[k];
    if (s->param[i]) return am_param_value(s->param[i]);
    am_node *n = s->g->nodes[i];
    if (n->value) return n->value;
    am_fail(AM_ERR_ARG, "the graph variable '%s' has no value", s->g->names[i]);
    return NULL;
}

/* Names the node behind a traced result after the imported node. */
static void keep_name(sym_block *s, int i, am_array *y)
{
    if (!y || !y->node || y->node->op != s->g->nodes[i]->op) return;
    const am_trace_scope *top = am_trace_scope_top();
    const char *prefix = top && top->prefix && top->prefix[0] ? top->prefix : NULL;
    size_t len = strlen(s->g->names[i]) + (prefix ? strlen(prefix) + 2 : 1);
    char *name = malloc(len);
    if (!name) return;
    if (prefix) snprintf(name, len, "%s.%s", prefix, s->g->names[i]);
    else snprintf(name, len, "%s", s->g->names[i]);
    free(y->node->name);
    y->node->name = name;
}

/* When an op's shape attribute has unknown dimensions (Gluon's begin states,
 * _zeros of shape (2, 0, 16)), infers the graph's shapes for these inputs,
 * so that sym_forward can fill them in; the variables keep what they
 * declare, for the next call's batch size. */
static am_status infer_partial(sym_block *s, am_array *const *in)
{
    am_graph *g = s->g;
    if (!s->partial) {
        s->partial = -1;
        for (int i = 0; i < g->n_nodes; i++)
            if (am_attrs_shape_unknown(g->nodes[i]->op, g->nodes[i]->attrs)) s->partial = 1;
    }
    if (s->partial < 0) return AM_OK;
    const char **names = calloc((size_t)g->n_nodes + 1, sizeof(*names));
    am_shape *shapes = calloc((size_t)g->n_nodes + 1, sizeof(*shapes));
    am_shape *kept = calloc((size_t)g->n_nodes + 1, sizeof(*kept));
    am_dtype *dtypes = calloc((size_t)g->n_nodes + 1, sizeof(*dtypes));
    am_dtype *kept_dt = calloc((size_t)g->n_nodes + 1, sizeof(*kept_dt));
    am_status st = names && shapes && kept && dtypes && kept_dt ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    int n = 0;
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        kept[i] = g->nodes[i]->shapes[0], kept_dt[i] = g->nodes[i]->dtypes[0];
        if (g->nodes[i]->op) continue;
        am_array *x = var_value(s, i, in);
        if (!x) {
            am_clear_error(); /* inference names it if it matters */
            continue;
        }
        names[n] = g->names[i], shapes[n] = am_array_shape(x), dtypes[n++] = am_array_dtype(x);
    }
    if (st == AM_OK) st = am_graph_infer(g, names, shapes, dtypes, n);
    for (int i = 0; kept && kept_dt && i < g->n_nodes; i++)
        if (!g->nodes[i]->op) g->nodes[i]->shapes[0] = kept[i], g->nodes[i]->dtypes[0] = kept_dt[i];
    free(names), free(shapes), free(kept), free(dtypes), free(kept_dt);
    return st;
}

/* Runs the graph node by node through the ops, so the same code evaluates
 * eagerly (recorded by autograd) and traces into an enclosing graph. */
static int sym_forward(am_block *self, am_array *const *in, int n_in, am_array **out, int cap)
{
    sym_block *s = (sym_block *)self;
    am_graph *g = s->g;
    if (n_in != s->n_inputs)
        return am_fail(AM_ERR_ARG, "the imported graph takes %d inputs, given %d", s->n_inputs, n_in), -1;
    if (g->n_heads > cap) return am_fail(AM_ERR_ARG, "%d outputs, room for %d", g->n_heads, cap), -1;
    int *offset = malloc(((size_t)g->n_nodes + 1) * sizeof(int)), total = 0;
    if (!offset) return am_fail(AM_ERR_OOM, "out of memory"), -1;
    for (int i = 0; i < g->n_nodes; i++) offset[i] = total, total += g->nodes[i]->n_out;
    am_array **val = calloc((size_t)total + 1, sizeof(*val));
    am_status st = val ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK) st = infer_partial(s, in);
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        am_node *n = g->nodes[i];
        if (!n->op) {
            if (!(val[offset[i]] = var_value(s, i, in))) st = am_last_status();
            continue;
        }
        am_array *args[AM_MAX_OP_IO * 4];
        for (int k = 0; k < n->n_in && st == AM_OK; k++) {
            am_entry e = n->inputs[k];
            if (!(args[k] = val[offset[am_graph_index(g, e.node)] + e.index]))
                st = am_fail(AM_ERR_UNSUPPORTED, "node '%s' reads a hidden output of '%s'",
                             g->names[i], g->names[am_graph_index(g, e.node)]);
        }
        char site[256];
        int vis = am_op_num_visible(n->op, n->attrs);
        void *filled = NULL; /* the attributes with inferred shape dimensions */
        if (st == AM_OK && am_attrs_shape_unknown(n->op, n->attrs)) {
            if (!(filled = malloc(n->op->attrs_size))) st = am_fail(AM_ERR_OOM, "out of memory");
            else memcpy(filled, n->attrs, n->op->attrs_size), am_attrs_fill_shape(n->op, filled, &n->shapes[0]);
        }
        if (st == AM_OK)
            st = am_op_call(n->op, filled ? filled : n->attrs, args, n->n_in, &val[offset[i]], vis,
                            am_node_site(n, site, sizeof(site)));
        free(filled);
        for (int k = 0; st == AM_OK && k < vis; k++) keep_name(s, i, val[offset[i] + k]);
    }
    for (int h = 0; h < g->n_heads && st == AM_OK; h++)
        out[h] = val[offset[am_graph_index(g, g->heads[h].node)] + g->heads[h].index];
    free(val), free(offset);
    return st == AM_OK ? g->n_heads : -1;
}

static const am_block_class sym_class = {
    .name = "SymbolBlock", .size = sizeof(sym_block), .forward_n = sym_forward,
    .destroy = sym_destroy, .flags = AM_BLOCK_BUILTIN,
};

/* Makes a parameter for every variable that is no input: values from the
 * file (names with or without "arg:"/"aux:"), else the graph's shape. */
static am_status add_params(sym_block *s, const am_ndlist *l, am_device dev)
{
    am_graph *g = s->g;
    int n_aux = am_graph_list_auxiliary_states(g, NULL, 0);
    const char **aux = calloc((size_t)n_aux + 1, sizeof(*aux));
    if (!aux) return am_fail(AM_ERR_OOM, "out of memory");
    am_graph_list_auxiliary_states(g, aux, n_aux);
    am_status st = AM_OK;
    for (int i = 0; i < g->n_nodes && st == AM_OK; i++) {
        am_node *n = g->nodes[i];
        bool is_input = false, is_aux = false;
        for (int k = 0; k < s->n_inputs; k++) is_input |= s->input_node[k] == i;
        if (n->op || n->value || is_input) continue;
        for (int j = 0; j < n_aux; j++) is_aux |= strcmp(aux[j], g->names[i]) == 0;
        char key[512];
        am_array *x = NULL;
        snprintf(key, sizeof(key), "%s:%s", is_aux ? "aux" : "arg", g->names[i]);
        if (l && !(x = am_ndlist_find(l, key))) x = am_ndlist_find(l, g->names[i]);
        am_clear_error();
        if (!x && n->shapes[0].ndim < 0) {
            st = am_fail(AM_ERR_ARG, "the graph variable '%s' is neither an input nor in the "
                         "parameter file", g->names[i]);
            break;
        }
        am_param *p = hy_param_add(&s->base, g->names[i], x ? am_array_shape(x) : n->shapes[0], NULL);
        if (!p) {
            st = am_last_status();
            break;
        }
        if (is_aux) p->req = AM_GRAD_NULL;
        if (x) {
            am_scope_begin();
            am_array *v = am_to_device(x, dev);
            if (v) p->dtype = am_array_dtype(v);
            st = v ? am_param_set_data(p, v) : am_last_status();
            am_scope_end();
        }
        s->param[i] = p;
    }
    free(aux);
    return st;
}

am_block *am_symbol_block_import(const char *json_path, const char *params_path,
                                 const char *const *input_names, int n_inputs, am_device dev)
{
    if (!json_path || n_inputs < 0 || n_inputs > AM_BLOCK_MAX_IO || (n_inputs && !input_names)) {
        am_fail(AM_ERR_ARG, "am_symbol_block_import: %s", !json_path ? "json path is NULL" : "bad input names");
        return NULL;
    }
    am_graph *g = am_graph_load(json_path);
    am_ndlist *l = g && params_path ? am_ndlist_load(params_path) : NULL;
    sym_block *s = g && (l || !params_path) ? am_block_new(&sym_class) : NULL;
    am_status st = s ? AM_OK : am_last_status();
    if (s) {
        s->g = g;
        g = NULL;
        s->n_inputs = n_inputs;
        s->input_node = calloc((size_t)n_inputs + 1, sizeof(int));
        s->param = calloc((size_t)s->g->n_nodes + 1, sizeof(am_param *));
        if (!s->input_node || !s->param) st = am_fail(AM_ERR_OOM, "out of memory");
    }
    for (int k = 0; st == AM_OK && k < n_inputs; k++) {
        int i = 0;
        while (i < s->g->n_nodes && (s->g->nodes[i]->op || strcmp(s->g->names[i], input_names[k]) != 0)) i++;
        if (i == s->g->n_nodes) st = am_fail(AM_ERR_ARG, "am_symbol_block_import: %s has no input named '%s'", json_path, input_names[k]);
        s->input_node[k] = i;
    }
    if (st == AM_OK) st = add_params(s, l, dev);
    if (st == AM_OK) st = hy_name_params(&s->base, "");
    am_graph_release(g);
    am_ndlist_free(l);
    if (st != AM_OK && s) {
        am_block_release(&s->base);
        return NULL;
    }
    return s ? &s->base : NULL;
}

/* ---- eager against hybridized ------------------------------------------------------------- */

/* The largest difference of a and b relative to b's scale. */
static double rel_diff(am_array *a, am_array *b)
{
    double scale = 1e-12, diff = 0;
    am_view va = am_array_view(a), vb = am_array_view(b);
    int64_t n = am_view_size(&vb);
    for (int64_t i = 0; i < n; i++) {
        double x = am_view_get(&va, i), y = am_view_get(&vb, i);
        if (fabs(y) > scale) scale = fabs(y);
        if (fabs(x - y) > diff || x != x) diff = x != x ? INFINITY : fabs(x - y);
    }
    return diff / (scale > 1 ? scale : 1);
}

/* Compares every node output of g computed node by node against a plan over
 * all of them; reports the first that differs. */
static am_status locate(am_graph *g, const char *const *names, am_array *const *in, int n_in,
                        hy_trace *tr, double tol, FILE *f)
{
    am_graph *all = am_graph_get_internals(g);
    int n_heads = all ? all->n_heads : 0;
    const char **vn = calloc((size_t)(n_in + tr->n) + 1, sizeof(*vn));
    am_array **vv = calloc((size_t)(n_in + tr->n) + 1, sizeof(*vv));
    am_array **ref = calloc((size_t)n_heads + 1, sizeof(*ref));
    am_status st = all && vn && vv && ref ? AM_OK : am_last_status();
    for (int i = 0; i < n_in; i++) vn[i] = names[i], vv[i] = in[i];
    for (int k = 0; k < tr->n; k++) vn[n_in + k] = tr->params[k]->name, vv[n_in + k] = tr->params[k]->data;
    am_plan *p = NULL;
    if (st == AM_OK) st = am_graph_eval(all, vn, vv, n_in + tr->n, false, ref, n_heads);
    if (st == AM_OK && !(p = am_plan_create(all, NULL))) st = am_last_status();
    for (int i = 0; p && st == AM_OK && i < n_in + tr->n; i++)
        if (am_graph_input_shape(am_plan_graph(p), vn[i], &(am_shape){0}, &(am_dtype){0}) == AM_OK)
            st = am_plan_bind(p, vn[i], vv[i]);
    am_clear_error();
    if (p && st == AM_OK) st = am_plan_run(p);
    for (int h = 0; p && st == AM_OK && h < n_heads; h++) {
        const am_node *n = all->heads[h].node;
        if (!n->op) continue;
        am_array *y = am_plan_output(p, h);
        double d = y ? rel_diff(y, ref[h]) : INFINITY;
        if (d > tol) {
            const char *name = all->names[am_graph_index(all, n)];
            if (f) fprintf(f, "first difference: node '%s' (%s) from %s: %.3g relative\n", name,
                           n->op->name, n->origin ? n->origin : "an unknown line", d);
            st = am_fail(AM_ERR_INTERNAL, "eager and hybridized differ first at node '%s' (%s) "
                         "from %s by %.3g (tolerance %.3g)", name, n->op->name,
                         n->origin ? n->origin : "an unknown line", d, tol);
        }
    }
    am_plan_release(p);
    am_graph_release(all);
    free(vn), free(vv), free(ref);
    return st;
}

am_status am_block_check_hybrid(am_block *b, am_array *const *in, int n_in, double tol, FILE *f)
{
    if (!b || n_in < 1 || n_in > AM_BLOCK_MAX_IO || !in)
        return am_fail(AM_ERR_ARG, "am_block_check_hybrid: %s", !b ? "block is NULL" : "bad inputs");
    am_scope_begin();
    am_autograd_pause_begin(false);
    am_array *eager[AM_BLOCK_MAX_IO], *plan[AM_BLOCK_MAX_IO];
    bool was = b->impl->hybrid;
    b->impl->hybrid = false;
    int n = am_block_forward(b, in, n_in, eager, AM_BLOCK_MAX_IO);
    b->impl->hybrid = true;
    int m = n > 0 ? am_block_forward(b, in, n_in, plan, AM_BLOCK_MAX_IO) : -1;
    b->impl->hybrid = was;
    am_status st = n > 0 && m == n ? AM_OK : am_last_status();
    double worst = 0;
    for (int i = 0; st == AM_OK && i < n; i++) {
        double d = rel_diff(plan[i], eager[i]);
        if (d > worst) worst = d;
    }
    if (st == AM_OK && worst > tol) {
        char names[AM_BLOCK_MAX_IO][32];
        const char *np[AM_BLOCK_MAX_IO];
        for (int i = 0; i < n_in; i++) hy_input_name(i, n_in, names[i], sizeof(names[i])), np[i] = names[i];
        hy_trace tr;
        int n_out;
        am_shape sh[AM_BLOCK_MAX_IO];
        am_dtype dt[AM_BLOCK_MAX_IO];
        for (int i = 0; i < n_in; i++) sh[i] = am_array_shape(in[i]), dt[i] = am_array_dtype(in[i]);
        am_graph *g = hy_trace_block(b, sh, dt, n_in, false, &tr, &n_out, (am_site){0});
        st = g ? locate(g, np, in, n_in, &tr, tol, f) : am_last_status();
        if (st == AM_OK)
            st = am_fail(AM_ERR_INTERNAL, "eager and hybridized outputs differ by %.3g, but every "
                         "node agrees when all are kept: a pass rewriting across nodes differs "
                         "(switch passes off with AM_PASSES to find it)", worst);
        if (g) hy_trace_free(&tr);
        am_graph_release(g);
    } else if (st == AM_OK && f) {
        fprintf(f, "eager and hybridized agree: %d outputs, largest difference %.3g\n", n, worst);
    }
    am_autograd_end();
    am_scope_end();
    return st;
}
