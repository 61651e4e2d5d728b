/* The fused training step (include/amber/trainer.h): the forward pass of a block and its
 * loss, the backward pass and the trainer's update of every parameter, traced once per
 * input signature into one graph and run as one plan.
 *
 * The graph: the trace of loss(net(data), label) with the parameters as variables; the
 * gradient graph of its sum (am_graph_gradient, head gradient ones) with respect to the
 * parameters the trainer trains; then, per parameter, the nodes the trainer's own update
 * function makes when it is called on symbolic arrays (the weight's variable, its
 * gradient, a variable per optimizer state).  The states are the ops' mutated inputs, so
 * the plan updates the trainer's state arrays in place; the new weights are heads, copied
 * into the parameters after each run, as the trainer's separate step copies them.
 *
 * The learning rate (a scheduler, Adam's bias correction) and LAMB's step count change
 * from step to step while the graph does not: each run calls the update function again
 * on the same variables, outside any plan, and gives the plan the attributes of the nodes
 * it makes (am_plan_set_step_attrs).  The trainer stays the one place that knows how an
 * optimizer calls its ops. */
#include "hybrid_impl.h"

/* What tracing sees: loss(net(data), label) and the prediction. */
typedef struct step_block {
    am_block base;
    am_block *net, *loss;
} step_block;

static int step_forward(am_block *self, am_array *const *in, int n_in, am_array **out, int cap)
{
    AM_UNUSED(n_in), AM_UNUSED(cap);
    step_block *s = (step_block *)self;
    am_array *pred = am_block_call(s->net, in[0]);
    out[0] = pred ? am_block_call2(s->loss, pred, in[1]) : NULL;
    out[1] = pred;
    return out[0] ? 2 : -1;
}

static const am_block_class step_class = {.name = "TrainStep", .size = sizeof(step_block),
                                          .forward_n = step_forward,
                                          .flags = AM_BLOCK_BUILTIN};

enum { MAX_UPDATE_NODES = 8, MAX_STATES = 3 };

/* One parameter the plan updates. */
typedef struct ts_param {
    int slot;                               /* the trainer's */
    am_array *w, *g;                        /* variables: the weight, the gradient's stand-in */
    am_array *st[MAX_STATES];               /* variables for the states */
    char *names[MAX_UPDATE_NODES];          /* the update's op nodes, by name in the graph */
    int n_nodes;
} ts_param;

/* Where the array for each input of the plan comes from. */
typedef enum ts_src { SRC_DATA, SRC_LABEL, SRC_HEAD_GRAD, SRC_PARAM, SRC_STATE } ts_src;
typedef struct ts_input {
    ts_src src;
    am_param *param;   /* SRC_PARAM */
    int slot, state;   /* SRC_STATE */
} ts_input;

struct am_train_step {
    am_block *net, *loss;
    am_trainer *trainer;
    am_plan *plan;
    am_shape shapes[2];
    am_dtype dtypes[2];
    int64_t batch_size;
    ts_param *params;
    int n_params;
    ts_input *inputs;                  /* per plan input */
    am_array *ones;                    /* the loss's head gradient */
    am_train_step_stats stats;
};

/* ---- building ----------------------------------------------------------------------------- */

/* The op nodes from n back to (not into) variables and the stop nodes, inputs first,
 * as the update function made them. */
static am_status update_nodes(const am_node *n, const am_node *const *stop, int n_stop,
                              const am_node **nodes, int *count)
{
    if (!n->op) return AM_OK;
    for (int i = 0; i < n_stop; i++)
        if (stop[i] == n) return AM_OK;
    for (int i = 0; i < *count; i++)
        if (nodes[i] == n) return AM_OK;
    for (int i = 0; i < n->n_in; i++) {
        am_status st = update_nodes(n->inputs[i].node, stop, n_stop, nodes, count);
        if (st != AM_OK) return st;
    }
    if (*count == MAX_UPDATE_NODES)
        return am_fail(AM_ERR_INTERNAL, "am_train_step: an update of more than %d ops",
                       MAX_UPDATE_NODES);
    nodes[(*count)++] = n;
    return AM_OK;
}

/* The update of parameter q, traced on its variables with gradient g and the trainer's
 * current rate: the new weight (symbolic) and the nodes that make it. */
static am_array *trace_update(am_train_step *s, ts_param *q, am_array *g, double lr, double wd,
                              const am_node **nodes, int *count)
{
    am_array *y = hy_trainer_update(s->trainer, q->slot, q->w, g, q->st, lr, wd,
                                    1.0 / (double)s->batch_size);
    if (!y) return NULL;
    const am_node *stop[2 + MAX_STATES] = {q->w->node, g->node};
    int n_stop = 2;
    for (int k = 0; k < hy_trainer_num_states(s->trainer); k++) stop[n_stop++] = q->st[k]->node;
    *count = 0;
    return update_nodes(y->node, stop, n_stop, nodes, count) == AM_OK ? y : NULL;
}

static void drop_plan(am_train_step *s)
{
    for (int i = 0; i < s->n_params; i++) {
        ts_param *q = &s->params[i];
        am_release(q->w), am_release(q->g);
        for (int k = 0; k < MAX_STATES; k++) am_release(q->st[k]);
        for (int j = 0; j < q->n_nodes; j++) free(q->names[j]);
    }
    free(s->params), free(s->inputs);
    am_plan_release(s->plan);
    am_release(s->ones);
    s->params = NULL, s->inputs = NULL, s->plan = NULL, s->ones = NULL;
    s->n_params = 0;
}

/* The parameters the trainer trains that the trace read, with their variables. */
static am_status collect_params(am_train_step *s, const hy_trace *tr)
{
    int n = hy_trainer_num_slots(s->trainer);
    if (!(s->params = calloc((size_t)n, sizeof(*s->params))))
        return am_fail(AM_ERR_OOM, "am_train_step: out of memory");
    for (int i = 0; i < n; i++) {
        if (!hy_trainer_trains(s->trainer, i)) continue;
        am_param *p = hy_trainer_param(s->trainer, i);
        int j = 0;
        while (j < tr->n && tr->params[j] != p) j++;
        if (j == tr->n) continue; /* the loss does not depend on it */
        if (am_param_grad_req(p) == AM_GRAD_ADD)
            return am_fail(AM_ERR_UNSUPPORTED, "am_train_step: parameter '%s' accumulates its "
                           "gradient (grad_req add), which a fused step cannot: use "
                           "am_backward and am_trainer_step", p->name);
        am_status st = hy_trainer_make_states(s->trainer, i);
        if (st != AM_OK) return st;
        ts_param *q = &s->params[s->n_params++];
        q->slot = i;
        q->w = am_retain(tr->vars[j]);
        am_shape sh = am_array_shape(p->data);
        am_dtype dt = am_array_dtype(p->data);
        char name[256];
        snprintf(name, sizeof(name), "%s_grad", p->name);
        if (!(q->g = am_retain(am_var(name, sh, dt)))) return am_last_status();
        for (int k = 0; k < hy_trainer_num_states(s->trainer); k++) {
            snprintf(name, sizeof(name), "%s_state%d", p->name, k);
            if (!(q->st[k] = am_retain(am_var(name, sh, dt)))) return am_last_status();
        }
    }
    if (s->n_params == 0)
        return am_fail(AM_ERR_ARG, "am_train_step: the loss depends on none of the trainer's "
                       "parameters");
    return AM_OK;
}

/* The name node n has in graph g. */
static const char *name_in(const am_graph *g, const am_node *n)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n) return g->names[i];
    return "";
}

/* Where each plan input comes from. */
static am_status map_inputs(am_train_step *s, const hy_trace *tr, const char *head_grad)
{
    int n = am_plan_num_inputs(s->plan);
    if (!(s->inputs = calloc((size_t)n, sizeof(*s->inputs))))
        return am_fail(AM_ERR_OOM, "am_train_step: out of memory");
    char data[32], label[32];
    hy_input_name(0, 2, data, sizeof(data));
    hy_input_name(1, 2, label, sizeof(label));
    for (int i = 0; i < n; i++) {
        const char *name = am_plan_input_name(s->plan, i);
        ts_input *in = &s->inputs[i];
        bool found = true;
        if (strcmp(name, data) == 0) in->src = SRC_DATA;
        else if (strcmp(name, label) == 0) in->src = SRC_LABEL;
        else if (strcmp(name, head_grad) == 0) in->src = SRC_HEAD_GRAD;
        else found = false;
        for (int j = 0; !found && j < tr->n; j++)
            if (strcmp(am_symbol_name(tr->vars[j]), name) == 0)
                in->src = SRC_PARAM, in->param = tr->params[j], found = true;
        for (int j = 0; !found && j < s->n_params; j++)
            for (int k = 0; !found && k < hy_trainer_num_states(s->trainer); k++)
                if (strcmp(am_symbol_name(s->params[j].st[k]), name) == 0)
                    in->src = SRC_STATE, in->slot = s->params[j].slot, in->state = k,
                    found = true;
        if (!found)
            return am_fail(AM_ERR_INTERNAL, "am_train_step: the plan reads '%s'", name);
    }
    return AM_OK;
}

/* Traces, differentiates and plans the step for the signature of data and label. */
static am_status build(am_train_step *s, am_array *data, am_array *label)
{
    am_shape shapes[2] = {am_array_shape(data), am_array_shape(label)};
    am_dtype dtypes[2] = {am_array_dtype(data), am_array_dtype(label)};
    step_block *wrap = am_block_new(&step_class);
    if (!wrap) return am_last_status();
    wrap->net = s->net, wrap->loss = s->loss;
    hy_trace tr = {0};
    int n_out;
    am_status st = hy_name_params(s->net, "");
    am_graph *fwd = st == AM_OK ? hy_trace_block(&wrap->base, shapes, dtypes, 2, false, &tr,
                                                 &n_out, (am_site){0})
                                : NULL;
    am_block_release(&wrap->base);
    if (!fwd) return am_last_status();
    am_scope_begin();
    am_graph *loss_g = NULL, *grad_g = NULL, *step_g = NULL;
    am_array **heads = NULL;
    const am_node *(*nodes)[MAX_UPDATE_NODES] = NULL; /* each update's nodes, until named */
    char head_grad[256] = "";
    st = collect_params(s, &tr);
    if (st == AM_OK) {
        am_array *loss = am_graph_output(fwd, 0);
        loss_g = loss ? am_graph_create(&loss, 1) : NULL;
        const char **wrt = calloc((size_t)s->n_params, sizeof(*wrt));
        for (int i = 0; wrt && i < s->n_params; i++) wrt[i] = am_symbol_name(s->params[i].w);
        grad_g = loss_g && wrt ? am_graph_gradient(loss_g, wrt, s->n_params) : NULL;
        free(wrt);
        char *out_name = NULL;
        if (grad_g && am_graph_list_outputs(loss_g, &out_name, 1) == 1)
            snprintf(head_grad, sizeof(head_grad), "%s_head_grad", out_name);
        free(out_name);
        heads = calloc((size_t)s->n_params + 2, sizeof(*heads));
        nodes = calloc((size_t)s->n_params, sizeof(*nodes));
        if (!grad_g || !heads || !nodes) st = grad_g ? am_fail(AM_ERR_OOM, "out of memory")
                                           : am_last_status();
    }
    /* Heads: the loss, the prediction, then each parameter's new weight. */
    if (st == AM_OK) {
        heads[0] = am_graph_output(grad_g, 0);
        heads[1] = am_graph_output(fwd, 1);
    }
    for (int i = 0; st == AM_OK && i < s->n_params; i++) {
        ts_param *q = &s->params[i];
        am_param *p = hy_trainer_param(s->trainer, q->slot);
        char prefix[256];
        snprintf(prefix, sizeof(prefix), "update.%s", p->name);
        am_trace_scope scope;
        am_trace_scope_push(&scope, prefix, (am_site){0});
        double lr = am_trainer_learning_rate(s->trainer) * am_param_lr_mult(p);
        double wd = hy_trainer_opts(s->trainer)->wd * am_param_wd_mult(p);
        am_array *g = am_graph_output(grad_g, 1 + i);
        heads[2 + i] = g ? trace_update(s, q, g, lr, wd, nodes[i], &q->n_nodes) : NULL;
        am_trace_scope_pop(&scope);
        if (!heads[2 + i]) st = am_last_status();
    }
    if (st == AM_OK && !(step_g = am_graph_create(heads, s->n_params + 2))) st = am_last_status();
    for (int i = 0; st == AM_OK && i < s->n_params; i++)
        for (int j = 0; j < s->params[i].n_nodes; j++)
            if (!(s->params[i].names[j] = strdup(name_in(step_g, nodes[i][j]))))
                st = am_fail(AM_ERR_OOM, "am_train_step: out of memory");
    if (st == AM_OK) {
        s->plan = am_plan_create(step_g, &(am_plan_opts){.training = true});
        if (!s->plan) st = am_last_status();
    }
    if (st == AM_OK) st = map_inputs(s, &tr, head_grad);
    if (st == AM_OK) {
        am_shape ls;
        am_dtype lt;
        st = am_graph_output_shape(step_g, 0, &ls, &lt);
        if (st == AM_OK && !(s->ones = am_retain(am_ones(ls, lt)))) st = am_last_status();
    }
    free(heads), free(nodes);
    am_scope_end();
    am_graph_release(fwd), am_graph_release(loss_g), am_graph_release(grad_g);
    am_graph_release(step_g);
    hy_trace_free(&tr);
    if (st == AM_OK) {
        s->shapes[0] = shapes[0], s->shapes[1] = shapes[1];
        s->dtypes[0] = dtypes[0], s->dtypes[1] = dtypes[1];
        s->stats.traces++;
    } else {
        drop_plan(s);
    }
    return st;
}

/* ---- running ------------------------------------------------------------------------------ */

am_train_step *am_train_step_create(am_block *net, am_block *loss, am_trainer *trainer)
{
    if (!net || !loss || !trainer)
        return am_fail(AM_ERR_ARG, "am_train_step_create: %s is NULL",
                       !net ? "net" : !loss ? "loss" : "trainer"), NULL;
    if (hy_trainer_opts(trainer)->clip_global_norm > 0)
        return am_fail(AM_ERR_UNSUPPORTED, "am_train_step_create: the trainer clips by the "
                       "global norm, which a fused step does not do yet: use am_backward and "
                       "am_trainer_step"), NULL;
    am_train_step *s = calloc(1, sizeof(*s));
    if (!s) return am_fail(AM_ERR_OOM, "am_train_step_create: out of memory"), NULL;
    s->net = am_block_retain(net);
    s->loss = am_block_retain(loss);
    s->trainer = trainer;
    return s;
}

void am_train_step_free(am_train_step *s)
{
    if (!s) return;
    drop_plan(s);
    am_block_release(s->net);
    am_block_release(s->loss);
    free(s);
}

am_train_step_stats am_train_step_get_stats(const am_train_step *s)
{
    return s ? s->stats : (am_train_step_stats){0};
}

static bool same_signature(const am_train_step *s, am_array *data, am_array *label,
                           int64_t batch_size)
{
    return s->plan && s->batch_size == batch_size &&
           am_shape_equal(s->shapes[0], am_array_shape(data)) &&
           am_shape_equal(s->shapes[1], am_array_shape(label)) &&
           s->dtypes[0] == am_array_dtype(data) && s->dtypes[1] == am_array_dtype(label);
}

/* Counts the step in the trainer and gives the plan this step's attributes. */
static am_status refresh_updates(am_train_step *s)
{
    am_status st = AM_OK;
    for (int i = 0; i < s->n_params && st == AM_OK; i++) {
        ts_param *q = &s->params[i];
        double lr, wd;
        st = hy_trainer_begin_update(s->trainer, q->slot, &lr, &wd);
        if (st != AM_OK) break;
        am_scope_begin();
        const am_node *nodes[MAX_UPDATE_NODES];
        int n = 0;
        if (!trace_update(s, q, q->g, lr, wd, nodes, &n)) st = am_last_status();
        else if (n != q->n_nodes)
            st = am_fail(AM_ERR_INTERNAL, "am_train_step: the update of '%s' changed form",
                         am_symbol_name(q->w));
        for (int j = 0; j < n && st == AM_OK; j++)
            st = am_plan_set_step_attrs(s->plan, q->names[j], nodes[j]->op, nodes[j]->attrs);
        am_scope_end();
    }
    return st;
}

static am_status bind_all(am_train_step *s, am_array *data, am_array *label)
{
    am_status st = AM_OK;
    for (int i = 0; i < am_plan_num_inputs(s->plan) && st == AM_OK; i++) {
        const ts_input *in = &s->inputs[i];
        am_array *x = in->src == SRC_DATA ? data : in->src == SRC_LABEL ? label
                    : in->src == SRC_HEAD_GRAD ? s->ones
                    : in->src == SRC_PARAM ? am_param_data(in->param)
                    : hy_trainer_state(s->trainer, in->slot, in->state);
        st = am_plan_bind_index(s->plan, i, x);
    }
    return st;
}

extern const am_op_def am_op_copy;

am_array *am_train_step_run(am_train_step *s, am_array *data, am_array *label,
                            int64_t batch_size, am_array **pred)
{
    if (pred) *pred = NULL;
    if (!s || !data || !label)
        return am_fail(AM_ERR_ARG, "am_train_step_run: %s is NULL",
                       !s ? "step" : !data ? "data" : "label"), NULL;
    if (batch_size < 1)
        return am_fail(AM_ERR_ARG, "am_train_step_run: batch_size %lld < 1",
                       (long long)batch_size), NULL;
    if (am_array_is_symbolic(data) || am_array_is_symbolic(label))
        return am_fail(AM_ERR_ARG, "am_train_step_run: data and label must be concrete"), NULL;
    if (!same_signature(s, data, label, batch_size)) {
        drop_plan(s);
        s->batch_size = batch_size;
        if (build(s, data, label) != AM_OK) return NULL;
    }
    am_status st = bind_all(s, data, label);
    if (st == AM_OK) st = refresh_updates(s);
    if (st == AM_OK) st = am_plan_run(s->plan);
    am_array *loss = NULL;
    if (st == AM_OK) {
        am_scope_begin();
        for (int i = 0; i < s->n_params && st == AM_OK; i++) {
            am_array *y = am_plan_output(s->plan, 2 + i);
            am_array *w = am_param_data(hy_trainer_param(s->trainer, s->params[i].slot));
            am_req req = AM_REQ_WRITE;
            st = y ? am_op_run_into(&am_op_copy, NULL, &y, 1, &w, &req) : am_last_status();
        }
        am_scope_end();
    }
    if (st == AM_OK) {
        loss = am_copy(am_plan_output(s->plan, 0));
        if (loss && pred) *pred = am_copy(am_plan_output(s->plan, 1));
        s->stats.steps++;
    }
    return loss;
}
