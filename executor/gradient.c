/* Symbolic backward: the gradient graph of a forward graph, traced by calling
 * each op's registry gradient function on symbolic arrays of the forward
 * graph's own entries, so that forward and backward share nodes. */
#include "executor_impl.h"

#include <stdlib.h>

/* Gradient contributions arriving at one node output, summed when read. */
typedef struct parts {
    am_array **v;
    int n, cap;
} parts;

typedef struct backward {
    am_graph *g;
    int *offset;  /* contributions to output k of node i are acc[offset[i] + k] */
    parts *acc;
    bool *dep;    /* node i depends on a wrt variable through differentiable ops */
    bool *wrt;    /* node i is a wrt variable */
} backward;

static am_status bw_init(backward *b, am_graph *g)
{
    *b = (backward){.g = g};
    int n = g->n_nodes, total = 0;
    b->offset = malloc((size_t)(n + 1) * sizeof(*b->offset));
    b->dep = calloc((size_t)(n ? n : 1), sizeof(*b->dep));
    b->wrt = calloc((size_t)(n ? n : 1), sizeof(*b->wrt));
    if (!b->offset || !b->dep || !b->wrt) return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < n; i++) {
        b->offset[i] = total;
        total += g->nodes[i]->n_out;
    }
    b->offset[n] = total;
    if (!(b->acc = calloc((size_t)(total ? total : 1), sizeof(*b->acc))))
        return am_fail(AM_ERR_OOM, "out of memory");
    return AM_OK;
}

static void bw_free(backward *b)
{
    for (int s = 0; b->acc && s < b->offset[b->g->n_nodes]; s++) free(b->acc[s].v);
    free(b->acc), free(b->offset), free(b->dep), free(b->wrt);
}

static int slot_of(const backward *b, am_entry e)
{
    return b->offset[am_graph_index(b->g, e.node)] + e.index;
}

/* Records x (a symbolic array owned by the open scope) as a contribution. */
static am_status add_part(backward *b, int slot, am_array *x)
{
    parts *p = &b->acc[slot];
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 4;
        am_array **v = realloc(p->v, (size_t)cap * sizeof(*v));
        if (!v) return am_fail(AM_ERR_OOM, "out of memory");
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = x;
    return AM_OK;
}

/* The sum of xs: elemwise_add for two, add_n for more (in groups that fit
 * one call).  Returns NULL with the op's error. */
static am_array *sum_all(am_array **xs, int n)
{
    if (n == 1) return xs[0];
    if (n == 2) return am_elemwise_add(xs[0], xs[1]);
    if (n <= AM_MAX_OP_IO) return am_add_n(xs, n);
    am_array *groups[AM_MAX_OP_IO];
    int n_groups = 0;
    for (int i = 0; i < n; i += AM_MAX_OP_IO) {
        int k = n - i < AM_MAX_OP_IO ? n - i : AM_MAX_OP_IO;
        if (!(groups[n_groups++] = sum_all(xs + i, k))) return NULL;
    }
    return sum_all(groups, n_groups);
}

/* The gradient accumulated at slot (NULL when nothing arrived); *st says
 * whether summing failed. */
static am_array *gradient_at(backward *b, int slot, am_status *st)
{
    parts *p = &b->acc[slot];
    *st = AM_OK;
    if (p->n == 0) return NULL;
    am_array *sum = sum_all(p->v, p->n);
    if (!sum) *st = am_last_status();
    return sum;
}

/* A concrete gradient (a gradient function may compute one from shapes
 * alone) becomes a constant node, so every gradient is a graph entry. */
static am_array *as_symbolic(am_array *x)
{
    if (x->node) return x;
    am_node *n = am_node_create(NULL, NULL, NULL, 0, 1);
    if (!n) return NULL;
    n->shapes[0] = x->shape;
    n->dtypes[0] = x->dtype;
    n->value = am_retain(x);
    return am_scope_own(am_symbolic_array(n, 0));
}

/* ---- checks and marks --------------------------------------------------------- */

/* True when some op of g mutates variable node v (an auxiliary state). */
/* The index of the wrt variable named name, or -1 with AM_ERR_ARG; aux
 * from am_graph_aux_flags. */
static int find_wrt(const am_graph *g, const char *name, const bool *aux)
{
    int i = name ? am_graph_find_name(g, name) : -1;
    if (i >= 0) {
        const am_node *n = g->nodes[i];
        if (n->op)
            am_fail(AM_ERR_ARG, "am_graph_gradient: '%s' is a %s node, not a variable", name,
                    n->op->name);
        else if (am_node_is_const(n))
            am_fail(AM_ERR_ARG, "am_graph_gradient: '%s' is a constant, not a variable", name);
        else if (aux[i])
            am_fail(AM_ERR_ARG, "am_graph_gradient: '%s' is an auxiliary state (mutated by its "
                    "op), which has no gradient", name);
        else
            return i;
        return -1;
    }
    am_fail(AM_ERR_ARG, "am_graph_gradient: the graph has no variable named '%s'",
            name ? name : "(null)");
    return -1;
}

/* dep[i]: node i is a wrt variable, or a differentiable op with a non-aux
 * input that depends on one.  Nodes come in topological order. */
static void mark_deps(backward *b)
{
    const am_graph *g = b->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        b->dep[i] = b->wrt[i];
        if (!n->op || (n->op->flags & AM_OP_NO_GRAD)) continue;
        for (int k = 0; k < n->n_in && !b->dep[i]; k++)
            b->dep[i] = !am_op_input_is_aux(n->op, n->attrs, k) &&
                        b->dep[am_graph_index(g, n->inputs[k].node)];
    }
}

/* AM_ERR_SHAPE / AM_ERR_DTYPE unless entry e's shape and dtype are known. */
static am_status check_known(const am_graph *g, am_entry e)
{
    int i = am_graph_index(g, e.node);
    if (e.node->shapes[e.index].ndim < 0)
        return am_fail(AM_ERR_SHAPE, "am_graph_gradient: the shape of '%s' (output %d) is "
                       "unknown; run am_graph_infer with the input shapes first", g->names[i],
                       e.index);
    if (e.node->dtypes[e.index] == AM_DTYPE_COUNT)
        return am_fail(AM_ERR_DTYPE, "am_graph_gradient: the dtype of '%s' (output %d) is "
                       "unknown; run am_graph_infer with the input dtypes first", g->names[i],
                       e.index);
    return AM_OK;
}

/* ---- seeds ---------------------------------------------------------------------- */

/* AM_ERR_ARG when g already has a node called name. */
static am_status check_free_name(const am_graph *g, const char *name)
{
    if (am_graph_find_name(g, name) >= 0)
        return am_fail(AM_ERR_ARG, "am_graph_gradient: the head gradient '%s' would clash "
                       "with the graph's node of that name", name);
    return AM_OK;
}

/* The head gradient variable for head h: a new one, or the one made for an
 * earlier head of the same name (a head listed twice gets both seeds). */
static am_array *head_grad_var(backward *b, char *const *names, am_array **vars, int h)
{
    for (int j = 0; j < h; j++)
        if (vars[j] && strcmp(names[j], names[h]) == 0) return vars[j];
    am_entry e = b->g->heads[h];
    char name[256];
    snprintf(name, sizeof(name), "%s_head_grad", names[h]);
    if (check_known(b->g, e) != AM_OK || check_free_name(b->g, name) != AM_OK) return NULL;
    return am_var(name, e.node->shapes[e.index], e.node->dtypes[e.index]);
}

/* Seeds each head that depends on a wrt variable with its head gradient. */
static am_status seed_heads(backward *b)
{
    int n = b->g->n_heads;
    char **names = calloc((size_t)(n ? n : 1), sizeof(*names));
    am_array **vars = calloc((size_t)(n ? n : 1), sizeof(*vars));
    am_status st = names && vars ? AM_OK : am_fail(AM_ERR_OOM, "out of memory");
    if (st == AM_OK && am_graph_list_outputs(b->g, names, n) < 0) st = am_last_status();
    for (int h = 0; h < n && st == AM_OK; h++) {
        am_entry e = b->g->heads[h];
        if (!b->dep[am_graph_index(b->g, e.node)]) continue;
        if (!(vars[h] = head_grad_var(b, names, vars, h))) st = am_last_status();
        else st = add_part(b, slot_of(b, e), vars[h]);
    }
    for (int h = 0; names && h < n; h++) free(names[h]);
    free(names), free(vars);
    return st;
}

/* ---- one node ------------------------------------------------------------------- */

#define MAX_IN (AM_MAX_OP_IO * 4)

/* The gradients a node's gradient function is given and asked for. */
typedef struct node_call {
    am_array *in[MAX_IN], *out[AM_MAX_OP_IO], *og[AM_MAX_OP_IO], *ig[MAX_IN];
    bool need[MAX_IN];
} node_call;

/* Fills c->og from what arrived at node i and c->need from the marks; false
 * (with *st AM_OK) when the node has nothing to do. */
static bool gather(backward *b, int i, node_call *c, am_status *st)
{
    const am_node *n = b->g->nodes[i];
    bool any_og = false, any_need = false;
    *st = AM_OK;
    for (int k = 0; k < n->n_out; k++) {
        c->og[k] = gradient_at(b, b->offset[i] + k, st);
        if (*st != AM_OK) return false;
        any_og |= c->og[k] != NULL;
    }
    for (int k = 0; k < n->n_in; k++) {
        c->need[k] = !am_op_input_is_aux(n->op, n->attrs, k) &&
                     b->dep[am_graph_index(b->g, n->inputs[k].node)];
        any_need |= c->need[k];
        c->ig[k] = NULL;
    }
    return any_og && any_need;
}

/* Symbolic arrays for node n's inputs and outputs (the forward graph's own
 * entries) and zeros for the outputs no gradient reached, as eager backward
 * passes them. */
static am_status bind_values(const am_graph *g, const am_node *n, node_call *c)
{
    am_status st = AM_OK;
    for (int k = 0; k < n->n_in && st == AM_OK; k++) {
        if ((st = check_known(g, n->inputs[k])) != AM_OK) break;
        if (!(c->in[k] = am_rw_symbol(n->inputs[k]))) st = am_last_status();
    }
    for (int k = 0; k < n->n_out && st == AM_OK; k++) {
        am_entry e = {(am_node *)n, k};
        if ((st = check_known(g, e)) != AM_OK) break;
        if (!(c->out[k] = am_rw_symbol(e))) st = am_last_status();
        else if (!c->og[k] && !(c->og[k] = am_zeros_like(c->out[k]))) st = am_last_status();
    }
    return st;
}

/* Routes the input gradients node n's function returned, checking that each
 * has its input's shape and dtype. */
static am_status route(backward *b, const am_node *n, node_call *c, const char *what)
{
    char s1[96], s2[96];
    for (int k = 0; k < n->n_in; k++) {
        am_array *x = c->ig[k];
        if (!c->need[k] || !x) continue;
        if (!(x = as_symbolic(x))) return am_last_status();
        am_dtype gt = x->dtype, it = c->in[k]->dtype;
        if (gt != it && (am_dtype_compute(gt) != gt || am_dtype_compute(it) != it) &&
            !(x = am_astype(x, it))) /* float32 gamma of a float16 BatchNorm */
            return am_last_status();
        if (x->dtype != c->in[k]->dtype || !am_shape_equal(x->shape, c->in[k]->shape))
            return am_fail(AM_ERR_INTERNAL, "am_graph_gradient: the gradient of %s for input %d "
                           "is %s %s, expected %s %s", what, k, am_dtype_name(x->dtype),
                           am_shape_format(&x->shape, s1, sizeof(s1)),
                           am_dtype_name(c->in[k]->dtype),
                           am_shape_format(&c->in[k]->shape, s2, sizeof(s2)));
        am_status st = add_part(b, slot_of(b, n->inputs[k]), x);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

/* Calls node i's gradient function under an error context at the forward
 * call's site; a failure is reported again naming the node. */
static am_status call_gradient(const am_graph *g, int i, node_call *c, const char *what)
{
    const am_node *n = g->nodes[i];
    char site_buf[256], msg[768];
    am_grad_ctx gc = {.op = n->op, .attrs = n->attrs, .n_in = n->n_in, .n_out = n->n_out,
                      .need_grad = c->need, .at = am_node_site(n, site_buf, sizeof(site_buf))};
    am_err_ctx ctx;
    am_err_push(&ctx, "am_graph_gradient", gc.at);
    am_status st = n->op->gradient(&gc, c->in, c->out, c->og, c->ig);
    am_err_pop(&ctx);
    if (st == AM_OK) return AM_OK;
    snprintf(msg, sizeof(msg), "%s", am_last_error());
    return am_fail(st, "am_graph_gradient: the gradient of %s failed: %s", what, msg);
}

/* Runs the gradient function of node i on what arrived at its outputs and
 * routes the results to its inputs. */
static am_status run_node(backward *b, int i)
{
    const am_node *n = b->g->nodes[i];
    char what[192];
    am_status st;
    if (!n->op || !b->dep[i]) return AM_OK;
    am_node_describe(b->g, i, what, sizeof(what));
    if (n->n_in > MAX_IN || n->n_out > AM_MAX_OP_IO)
        return am_fail(AM_ERR_UNSUPPORTED, "am_graph_gradient: %s has too many inputs or "
                       "outputs (%d, %d)", what, n->n_in, n->n_out);
    node_call *c = malloc(sizeof(*c));
    if (!c) return am_fail(AM_ERR_OOM, "out of memory");
    if (!gather(b, i, c, &st)) goto out;
    if (!n->op->gradient) {
        st = am_fail(AM_ERR_UNSUPPORTED, "am_graph_gradient: %s has no gradient function",
                     what);
        goto out;
    }
    if ((st = bind_values(b->g, n, c)) == AM_OK && (st = call_gradient(b->g, i, c, what)) == AM_OK)
        st = route(b, n, c, what);
out:
    free(c);
    return st;
}

/* ---- the graph ------------------------------------------------------------------ */

/* A _zeros node of variable node i's shape and dtype, for a variable no
 * gradient reaches (it needs no binding). */
static am_array *zeros_for(const am_graph *g, int i)
{
    const am_node *v = g->nodes[i];
    uint64_t given = 0;
    if (check_known(g, (am_entry){(am_node *)v, 0}) != AM_OK) return NULL;
    void *attrs = am_zeros_attrs(v->shapes[0], v->dtypes[0], &given);
    am_node *n = attrs ? am_node_build(&am_op_zeros, attrs, NULL, 0) : NULL;
    free(attrs);
    if (!n) return NULL;
    n->attrs_given = given;
    return am_scope_own(am_symbolic_array(n, 0));
}

/* Walks g backwards and fills heads[g->n_heads + j] with the gradient of
 * wrt variable idx[j] (symbolic arrays owned by the open scope). */
static am_status build(backward *b, const int *idx, int n_wrt, am_entry *heads)
{
    am_graph *g = b->g;
    am_status st;
    for (int j = 0; j < n_wrt; j++) b->wrt[idx[j]] = true;
    mark_deps(b);
    if ((st = seed_heads(b)) != AM_OK) return st;
    for (int i = g->n_nodes; i-- > 0;)
        if ((st = run_node(b, i)) != AM_OK) return st;
    for (int h = 0; h < g->n_heads; h++) heads[h] = g->heads[h];
    for (int j = 0; j < n_wrt; j++) {
        am_array *d = gradient_at(b, b->offset[idx[j]], &st);
        if (st != AM_OK) return st;
        if (!d && !(d = zeros_for(g, idx[j]))) return am_last_status();
        heads[g->n_heads + j] = am_entry_of(d);
    }
    return AM_OK;
}

am_graph *am_graph_gradient(am_graph *g, const char *const *wrt, int n_wrt)
{
    return am_graph_gradient_mode(g, wrt, n_wrt, true);
}

am_graph *am_graph_gradient_mode(am_graph *g, const char *const *wrt, int n_wrt, bool training)
{
    if (!g || n_wrt < 0 || (n_wrt > 0 && !wrt)) {
        am_fail(AM_ERR_ARG, "am_graph_gradient: %s", !g ? "graph is NULL" : "bad wrt list");
        return NULL;
    }
    backward b;
    am_graph *out = NULL;
    int *idx = malloc((size_t)(n_wrt ? n_wrt : 1) * sizeof(*idx));
    am_entry *heads = malloc((size_t)(g->n_heads + n_wrt + 1) * sizeof(*heads));
    am_status st = bw_init(&b, g);
    bool *aux = st == AM_OK ? am_graph_aux_flags(g) : NULL;
    if (st == AM_OK && (!idx || !heads || !aux)) st = am_fail(AM_ERR_OOM, "out of memory");
    for (int j = 0; j < n_wrt && st == AM_OK; j++)
        if ((idx[j] = find_wrt(g, wrt[j], aux)) < 0) st = am_last_status();
    free(aux);
    if (st == AM_OK) {
        /* Gradient functions that read the mode (BatchNorm's batch or moving
         * statistics) see the mode the graph will run in; nothing is taped
         * while tracing. */
        bool was_training = am_set_training(training);
        bool was_recording = am_autograd_set_recording(false);
        am_scope_begin();
        if (build(&b, idx, n_wrt, heads) == AM_OK)
            out = am_graph_from_heads_named(heads, g->n_heads + n_wrt, g);
        am_scope_end();
        am_autograd_set_recording(was_recording);
        am_set_training(was_training);
    }
    bw_free(&b);
    free(idx), free(heads);
    return out;
}
