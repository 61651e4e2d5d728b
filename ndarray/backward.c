/* Backward passes over the autograd tape: order the recorded nodes, run each
 * op's gradient function, and route the results to variables. */
#include "ndarray_impl.h"
#include "profiler_impl.h"

extern const am_op_def am_op_copy, am_op_elemwise_add;

typedef struct leaf_grad {
    am_array *x, *g;
    bool own; /* g is a sum made by accumulate, held nowhere else */
} leaf_grad;

typedef struct backward {
    am_tape_node **order; /* inputs before consumers */
    int n, cap;
    am_array ***og;       /* og[i][k]: gradient arriving at output k of order[i] */
    bool **og_own;        /* og_own[i][k]: og[i][k] is a sum made by accumulate */
    leaf_grad *leaves;
    int n_leaves, cap_leaves;
    bool create;
    am_site at;
} backward;

static bool push_node(backward *b, am_tape_node *n)
{
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        am_tape_node **o = realloc(b->order, (size_t)cap * sizeof(*o));
        if (!o) return false;
        b->order = o;
        b->cap = cap;
    }
    b->order[b->n++] = n;
    n->visit = b->n; /* 1-based position */
    return true;
}

typedef struct frame {
    am_tape_node *n;
    int next; /* next input to look at */
} frame;

static bool push_frame(frame **stack, int *depth, int *cap, am_tape_node *n)
{
    if (*depth == *cap) {
        int c = *cap ? *cap * 2 : 64;
        frame *s = realloc(*stack, (size_t)c * sizeof(*s));
        if (!s) return false;
        *stack = s;
        *cap = c;
    }
    n->visit = -1; /* on the stack */
    (*stack)[(*depth)++] = (frame){n, 0};
    return true;
}

/* Iterative depth-first post-order from root, so long recorded chains do not
 * exhaust the C stack. */
static am_status visit_from(backward *b, am_tape_node *root)
{
    frame *stack = NULL;
    int depth = 0, cap = 0;
    am_status st = AM_OK;
    if (root->visit) return AM_OK;
    if (!push_frame(&stack, &depth, &cap, root)) return am_fail(AM_ERR_OOM, "backward: out of memory");
    while (depth > 0) {
        frame *f = &stack[depth - 1];
        if (f->n->freed) {
            st = am_fail(AM_ERR_ARG, "the graph through %s was freed by an earlier backward; "
                         "pass retain_graph to run backward twice", f->n->op->name);
            break;
        }
        am_tape_node *child = NULL;
        while (f->next < f->n->n_in && !child) {
            am_tape_node *c = f->n->in[f->next++]->grad_fn;
            if (c && c->visit == 0) child = c;
        }
        if (child ? !push_frame(&stack, &depth, &cap, child) : !push_node(b, f->n)) {
            st = am_fail(AM_ERR_OOM, "backward: out of memory");
            break;
        }
        if (!child) depth--;
    }
    free(stack);
    return st;
}

/* Adds g to a slot.  The first sum is a new array; later gradients add into it in
 * place (the same additions in the same order, so the same bits), which saves an
 * array and a pass over memory per gradient: a weight used at every step of a loop
 * gets one sum, not one per step.  Not under create_graph, where each sum is recorded. */
static am_status accumulate(backward *b, am_array **slot, bool *own, am_array *g)
{
    if (!*slot) {
        *slot = g;
        *own = false;
        return AM_OK;
    }
    if (*own && !b->create) {
        /* elemwise_add over its own lhs (its kernel allows it, and goes parallel on
         * large arrays); dtypes that compute through another add through copy */
        am_dtype t = (*slot)->dtype;
        bool direct = g->dtype == t && am_dtype_compute(t) == t;
        am_array *sum_in[2] = {*slot, g};
        const am_req req = direct ? AM_REQ_INPLACE : AM_REQ_ADD;
        return direct ? am_op_run_into(&am_op_elemwise_add, NULL, sum_in, 2, slot, &req)
                      : am_op_run_into(&am_op_copy, NULL, &g, 1, slot, &req);
    }
    am_array *sum = am_elemwise_add_at(*slot, g, b->at);
    if (!sum) return am_last_status();
    *slot = sum;
    *own = true;
    return AM_OK;
}

static am_status route(backward *b, am_array *x, am_array *g)
{
    if (x->grad_fn) {
        int i = x->grad_fn->visit - 1;
        return accumulate(b, &b->og[i][x->grad_index], &b->og_own[i][x->grad_index], g);
    }
    if (x->grad_req == AM_GRAD_NULL) return AM_OK;
    for (int i = 0; i < b->n_leaves; i++)
        if (b->leaves[i].x == x) return accumulate(b, &b->leaves[i].g, &b->leaves[i].own, g);
    if (b->n_leaves == b->cap_leaves) {
        int cap = b->cap_leaves ? b->cap_leaves * 2 : 16;
        leaf_grad *l = realloc(b->leaves, (size_t)cap * sizeof(*l));
        if (!l) return am_fail(AM_ERR_OOM, "backward: out of memory");
        b->leaves = l;
        b->cap_leaves = cap;
    }
    b->leaves[b->n_leaves++] = (leaf_grad){x, g, false};
    return AM_OK;
}

static bool same_layout(const am_array *a, const am_array *b)
{
    if (a->dtype != b->dtype || a->shape.ndim != b->shape.ndim) return false;
    for (int i = 0; i < a->shape.ndim; i++)
        if (a->shape.dim[i] != b->shape.dim[i]) return false;
    return true;
}

/* Output values handed to a gradient function: under create_graph they are
 * linked to the node, so gradients through them reach its inputs. */
static am_array *output_for_grad(backward *b, am_tape_node *n, int k)
{
    if (!b->create) return n->out[k];
    am_array *v = am_array_new_view(n->out[k], n->out[k]->shape, n->out[k]->dtype, 0);
    if (!v) return NULL;
    atomic_fetch_add(&n->refcount, 1);
    v->grad_fn = n;
    v->grad_index = k;
    return am_scope_own(v);
}

static am_status run_node_with(backward *b, am_tape_node *n, am_array **og, am_array **outs,
                               am_array **in_grad, bool *need);

/* Ops have at most AM_MAX_OP_IO inputs; a hybridized block's call records
 * one node over all its parameters, which may be more. */
static am_status run_node(backward *b, int idx)
{
    am_tape_node *n = b->order[idx];
    am_array **og = b->og[idx];
    bool any = false;
    for (int k = 0; k < n->n_out; k++) any |= og[k] != NULL;
    if (!any) return AM_OK;
    if (n->n_in <= AM_MAX_OP_IO && n->n_out <= AM_MAX_OP_IO) {
        am_array *outs[AM_MAX_OP_IO], *in_grad[AM_MAX_OP_IO] = {0};
        bool need[AM_MAX_OP_IO];
        return run_node_with(b, n, og, outs, in_grad, need);
    }
    am_array **outs = calloc((size_t)n->n_out, sizeof(*outs));
    am_array **in_grad = calloc((size_t)n->n_in, sizeof(*in_grad));
    bool *need = calloc((size_t)n->n_in, sizeof(*need));
    am_status st = outs && in_grad && need ? run_node_with(b, n, og, outs, in_grad, need)
                                           : am_fail(AM_ERR_OOM, "backward: out of memory");
    free(outs), free(in_grad), free(need);
    return st;
}

static am_status run_node_with(backward *b, am_tape_node *n, am_array **og, am_array **outs,
                               am_array **in_grad, bool *need)
{
    char s1[96], s2[96];
    if (!n->op->gradient)
        return am_fail(AM_ERR_UNSUPPORTED, "%s has no gradient yet (recorded at %s:%d)",
                       n->op->name, n->at.file ? n->at.file : "?", n->at.line);
    for (int k = 0; k < n->n_out; k++) {
        if (!og[k] && !(og[k] = am_zeros_like_at(n->out[k], b->at))) return am_last_status();
        if (!(outs[k] = output_for_grad(b, n, k))) return am_last_status();
    }
    for (int i = 0; i < n->n_in; i++) need[i] = n->in[i]->grad_fn || n->in[i]->grad_req;
    am_grad_ctx g = {.op = n->op, .attrs = n->attrs, .n_in = n->n_in, .n_out = n->n_out,
                     .need_grad = need, .at = n->at, .state = n->state};
    /* Gradients follow the mode of their forward call (BatchNorm's batch or
     * moving statistics), whatever the mode during backward. */
    bool was_training = am_set_training(n->training);
    am_status st = n->op->gradient(&g, n->in, outs, og, in_grad);
    am_set_training(was_training);
    if (st != AM_OK) return st;
    for (int i = 0; i < n->n_in; i++) {
        if (!in_grad[i]) continue;
        am_dtype gt = in_grad[i]->dtype, it = n->in[i]->dtype;
        if (gt != it && (am_dtype_compute(gt) != gt || am_dtype_compute(it) != it) &&
            !(in_grad[i] = am_astype_at(in_grad[i], it, n->at)))
            /* a float32 input (BatchNorm's gamma) of an op computing float16
             * gets its gradient in float16: back to the input's dtype */
            return am_last_status();
        if (!same_layout(in_grad[i], n->in[i]))
            return am_fail(AM_ERR_INTERNAL, "%s: gradient of input %d is %s %s, expected %s %s",
                           n->op->name, i, am_dtype_name(in_grad[i]->dtype),
                           am_shape_format(&in_grad[i]->shape, s1, sizeof(s1)),
                           am_dtype_name(n->in[i]->dtype),
                           am_shape_format(&n->in[i]->shape, s2, sizeof(s2)));
        if (need[i] && (st = route(b, n->in[i], in_grad[i])) != AM_OK) return st;
    }
    return AM_OK;
}

/* Seeds the head gradients; heads must be recorded results or variables. */
static am_status seed_heads(backward *b, am_array *const *heads, am_array *const *head_grads,
                            int n_heads)
{
    char s1[96], s2[96];
    for (int h = 0; h < n_heads; h++) {
        am_array *x = heads[h], *hg = head_grads ? head_grads[h] : NULL;
        if (!x->grad_fn && x->grad_req == AM_GRAD_NULL)
            return am_fail(AM_ERR_ARG, "head %d was not recorded: compute it inside "
                           "am_autograd_record_begin from a variable with am_attach_grad", h);
        if (!hg && !(hg = am_ones_like_at(x, b->at))) return am_last_status();
        if (!same_layout(hg, x))
            return am_fail(AM_ERR_SHAPE, "head gradient %d is %s %s, head is %s %s", h,
                           am_dtype_name(hg->dtype), am_shape_format(&hg->shape, s1, sizeof(s1)),
                           am_dtype_name(x->dtype), am_shape_format(&x->shape, s2, sizeof(s2)));
        am_status st = route(b, x, hg);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

/* Orders the tape behind the heads and runs every gradient function. */
static am_status run_backward(backward *b, am_array *const *heads, am_array *const *head_grads,
                              int n_heads)
{
    am_status st = AM_OK;
    for (int h = 0; h < n_heads && st == AM_OK; h++) {
        if (!heads[h]) return am_fail_null_input("backward", h, b->at);
        if (!heads[h]->storage) return am_fail(AM_ERR_SYMBOLIC, "head %d is symbolic", h);
        if (heads[h]->grad_fn) st = visit_from(b, heads[h]->grad_fn);
    }
    if (st != AM_OK) return st;
    b->og = calloc((size_t)(b->n ? b->n : 1), sizeof(*b->og));
    b->og_own = calloc((size_t)(b->n ? b->n : 1), sizeof(*b->og_own));
    if (!b->og || !b->og_own) return am_fail(AM_ERR_OOM, "backward: out of memory");
    for (int i = 0; i < b->n; i++)
        if (!(b->og[i] = calloc((size_t)b->order[i]->n_out, sizeof(**b->og))) ||
            !(b->og_own[i] = calloc((size_t)b->order[i]->n_out, sizeof(**b->og_own))))
            return am_fail(AM_ERR_OOM, "backward: out of memory");
    if ((st = seed_heads(b, heads, head_grads, n_heads)) != AM_OK) return st;
    for (int i = b->n; i-- > 0 && st == AM_OK;) st = run_node(b, i);
    return st;
}

/* Resets scratch marks and, without retain_graph, frees the saved values. */
static void finish(backward *b, bool retain)
{
    for (int i = 0; i < b->n; i++) {
        am_tape_node *n = b->order[i];
        n->visit = 0;
        if (!retain) {
            n->freed = true;
            for (int k = 0; k < n->n_out; k++) {
                am_release(n->out[k]);
                n->out[k] = NULL;
            }
        }
        if (b->og) free(b->og[i]);
        if (b->og_own) free(b->og_own[i]);
    }
    /* A graph still on the visit stack after a failure keeps -1 marks. */
    free(b->og);
    free(b->og_own);
    free(b->order);
    free(b->leaves);
}

static am_status backward_scoped(backward *b, am_array *const *heads,
                                 am_array *const *head_grads, int n_heads, bool retain,
                                 am_array *const *vars, int n_vars, am_array **grads)
{
    bool was = am_autograd_set_recording(b->create);
    am_scope_begin();
    am_status st = run_backward(b, heads, head_grads, n_heads);
    for (int v = 0; st == AM_OK && v < n_vars; v++) {
        am_array *x = vars[v], *g = NULL;
        if (x->grad_fn && x->grad_fn->visit > 0) g = b->og[x->grad_fn->visit - 1][x->grad_index];
        for (int i = 0; !x->grad_fn && i < b->n_leaves; i++)
            if (b->leaves[i].x == x) g = b->leaves[i].g;
        if (!g && !(g = am_zeros_like_at(x, b->at))) st = am_last_status();
        grads[v] = g;
    }
    for (int i = 0; st == AM_OK && !vars && i < b->n_leaves; i++) {
        am_array *x = b->leaves[i].x;
        am_req req = x->grad_req == AM_GRAD_ADD ? AM_REQ_ADD : AM_REQ_WRITE;
        st = am_op_run_into(&am_op_copy, NULL, &b->leaves[i].g, 1, &x->grad, &req);
    }
    for (int v = 0; v < n_vars; v++) {
        if (st == AM_OK) am_keep(grads[v]);
        else grads[v] = NULL;
    }
    am_scope_end();
    am_autograd_set_recording(was);
    /* Mark clean-up: nodes left at -1 by a failed visit are reset too. */
    for (int i = 0; i < b->n; i++) b->order[i]->visit = 0;
    finish(b, retain || st != AM_OK);
    return st;
}

/* The profiler's event for a backward pass (the ops it runs nest in it). */
static void prof_backward(const am_prof_span *s, const char *name, am_site at, am_status st)
{
    am_prof_args a;
    am_prof_args_init(&a);
    am_prof_arg_site(&a, "origin", at);
    if (st != AM_OK) am_prof_arg_str(&a, "error", am_last_error());
    am_prof_complete(s, "autograd", name, &a);
}

am_status am_backward_at(am_array *head, am_array *head_grad, bool retain_graph, am_site at)
{
    am_err_ctx c;
    backward b = {.at = at};
    am_prof_span s = {0};
    bool prof = am_prof_on();
    if (prof) am_prof_begin(&s);
    am_err_push(&c, "backward", at);
    am_status st = backward_scoped(&b, &head, head_grad ? &head_grad : NULL, 1, retain_graph,
                                   NULL, 0, NULL);
    am_err_pop(&c);
    if (prof) prof_backward(&s, "backward", at, st);
    return st;
}

am_status am_grad_of_at(am_array *const *heads, am_array *const *head_grads, int n_heads,
                        am_array *const *variables, int n_vars, bool retain_graph,
                        bool create_graph, am_array **grads, am_site at)
{
    am_err_ctx c;
    backward b = {.at = at, .create = create_graph};
    am_status st = AM_OK;
    am_prof_span s = {0};
    bool prof = am_prof_on();
    if (prof) am_prof_begin(&s);
    am_err_push(&c, "grad", at);
    for (int v = 0; v < n_vars; v++) {
        if (!variables[v]) {
            st = am_fail(AM_ERR_ARG, "variable %d is NULL", v);
            break;
        }
        if (!variables[v]->grad_fn && variables[v]->grad_req == AM_GRAD_NULL) {
            st = am_fail(AM_ERR_ARG, "variable %d needs no gradient: call am_attach_grad on it "
                         "before recording", v);
            break;
        }
    }
    if (st == AM_OK)
        st = backward_scoped(&b, heads, head_grads, n_heads, retain_graph || create_graph,
                             variables, n_vars, grads);
    am_err_pop(&c);
    if (prof) prof_backward(&s, "grad", at, st);
    return st;
}
