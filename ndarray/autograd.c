/* The autograd tape: recording eager calls, and backward passes that run the
 * registry's gradient functions (themselves recorded under create_graph). */
#include "ndarray_impl.h"

/* ---- modes ------------------------------------------------------------------ */

static _Thread_local bool recording;
static _Thread_local struct mode { bool recording, training; } *modes;
static _Thread_local int n_modes, cap_modes;

bool am_autograd_set_recording(bool on)
{
    bool prev = recording;
    recording = on;
    return prev;
}

bool am_autograd_is_recording(void) { return recording; }
bool am_autograd_set_training(bool on) { return am_set_training(on); }
bool am_autograd_is_training(void) { return am_is_training(); }

static void push_mode(bool record, bool train)
{
    if (n_modes == cap_modes) {
        int cap = cap_modes ? cap_modes * 2 : 8;
        struct mode *m = realloc(modes, (size_t)cap * sizeof(*m));
        AM_ASSERT(m != NULL);
        modes = m;
        cap_modes = cap;
    }
    modes[n_modes++] = (struct mode){recording, am_is_training()};
    recording = record;
    am_set_training(train);
}

void am_autograd_record_begin(bool train_mode) { push_mode(true, train_mode); }
void am_autograd_pause_begin(bool train_mode) { push_mode(false, train_mode); }

am_status am_autograd_end(void)
{
    if (n_modes == 0) return am_fail(AM_ERR_ARG, "am_autograd_end: no record or pause scope is open");
    struct mode m = modes[--n_modes];
    recording = m.recording;
    am_set_training(m.training);
    if (n_modes == 0) {
        free(modes);
        modes = NULL;
        cap_modes = 0;
    }
    return AM_OK;
}

/* ---- tape nodes ------------------------------------------------------------------ */

static bool needs_grad(const am_array *x)
{
    return x->grad_fn || x->grad_req != AM_GRAD_NULL;
}

/* Releasing the last result of a long recorded chain frees the chain; a
 * worklist instead of recursion keeps deep chains off the C stack. */
static _Thread_local am_tape_node **doomed;
static _Thread_local int n_doomed, cap_doomed;
static _Thread_local bool draining;

static void node_free(am_tape_node *n)
{
    for (int i = 0; i < n->n_in; i++) am_release(n->in[i]);
    for (int i = 0; i < n->n_out; i++) am_release(n->out[i]);
    free(n->in);
    free(n->out);
    for (int k = 0; n->attrs && k < n->op->num_subgraphs; k++)
        if (((am_op_subgraphs *)n->attrs)->g[k])
            am_symbol_hooks_get()->graph_release(((am_op_subgraphs *)n->attrs)->g[k]);
    free(n->attrs);
    if (n->state_release) n->state_release(n->state);
    free(n);
}

void am_tape_node_release(am_tape_node *n)
{
    int prev = atomic_fetch_sub(&n->refcount, 1);
    AM_ASSERT(prev > 0);
    if (prev != 1) return;
    if (n_doomed == cap_doomed) {
        int cap = cap_doomed ? cap_doomed * 2 : 64;
        am_tape_node **d = realloc(doomed, (size_t)cap * sizeof(*d));
        AM_ASSERT(d != NULL);
        doomed = d;
        cap_doomed = cap;
    }
    doomed[n_doomed++] = n;
    if (draining) return;
    draining = true;
    while (n_doomed > 0) node_free(doomed[--n_doomed]);
    draining = false;
    free(doomed);
    doomed = NULL;
    cap_doomed = 0;
}

static void node_retain(am_tape_node *n)
{
    AM_ASSERT(atomic_load(&n->refcount) > 0);
    atomic_fetch_add(&n->refcount, 1);
}

am_status am_tape_record(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                         am_array **outs, int n_all, int n_visible, am_site at)
{
    return am_tape_record_state(op, attrs, in, n_in, outs, n_all, n_visible, at, NULL, NULL);
}

am_status am_tape_record_state(const am_op_def *op, const void *attrs, am_array *const *in,
                               int n_in, am_array **outs, int n_all, int n_visible, am_site at,
                               void *state, void (*release)(void *state))
{
    bool any = false;
    for (int i = 0; recording && !(op->flags & AM_OP_NO_GRAD) && i < n_in && !any; i++)
        any = needs_grad(in[i]);
    am_tape_node *n = any ? calloc(1, sizeof(*n)) : NULL;
    if (!n) {
        if (release) release(state);
        return any ? am_fail(AM_ERR_OOM, "cannot record on the autograd tape") : AM_OK;
    }
    atomic_init(&n->refcount, 1);
    n->state = state;
    n->state_release = release;
    n->op = op;
    n->at = at;
    n->training = am_is_training();
    n->n_in = n_in;
    n->n_out = n_all;
    n->in = calloc((size_t)(n_in ? n_in : 1), sizeof(*n->in));
    n->out = calloc((size_t)n->n_out, sizeof(*n->out));
    n->attrs = op->attrs_size ? calloc(1, op->attrs_size) : NULL;
    if (!n->in || !n->out || (op->attrs_size && !n->attrs)) goto out_oom;
    if (op->attrs_size) memcpy(n->attrs, attrs, op->attrs_size);
    /* A control-flow call's subgraphs stay alive as long as its record. */
    for (int k = 0; k < op->num_subgraphs; k++)
        if (((am_op_subgraphs *)n->attrs)->g[k])
            am_symbol_hooks_get()->graph_retain(((am_op_subgraphs *)n->attrs)->g[k]);
    for (int i = 0; i < n_in; i++) n->in[i] = am_retain(in[i]);
    for (int k = 0; k < n->n_out; k++) {
        n->out[k] = am_array_new_view(outs[k], outs[k]->shape, outs[k]->dtype, 0);
        if (!n->out[k]) goto out_oom;
    }
    for (int k = 0; k < n_visible; k++) {
        node_retain(n);
        outs[k]->grad_fn = n;
        outs[k]->grad_index = k;
    }
    am_tape_node_release(n); /* the outputs hold it now */
    return AM_OK;

out_oom:
    node_free(n);
    return am_fail(AM_ERR_OOM, "cannot record on the autograd tape");
}

/* ---- variables -------------------------------------------------------------------- */

am_status am_attach_grad(am_array *x, am_grad_req req)
{
    if (!x) return am_fail(AM_ERR_ARG, "am_attach_grad: array is NULL");
    if (!x->storage) return am_fail(AM_ERR_SYMBOLIC, "am_attach_grad: array is symbolic");
    if ((unsigned)req >= AM_GRAD_REQ_COUNT)
        return am_fail(AM_ERR_ARG, "am_attach_grad: unknown request %d", (int)req);
    if (x->grad_fn)
        return am_fail(AM_ERR_ARG, "am_attach_grad: the array is a recorded result; attach "
                       "gradients to variables, or use am_grad_of for intermediate values");
    am_release(x->grad);
    x->grad = NULL;
    x->grad_req = req;
    if (req == AM_GRAD_NULL) return AM_OK;
    am_array *g = am_array_alloc(x->shape, x->dtype, x->storage->device);
    if (!g) return am_last_status();
    const am_device_ops *ops = am_device_ops_for(x->storage->device.type);
    am_status st = ops->memset0(x->storage->device.id, am_array_ptr(g),
                                (size_t)am_shape_size(&x->shape) * am_dtype_size(x->dtype));
    if (st != AM_OK) {
        am_release(g);
        return st;
    }
    x->grad = g;
    return AM_OK;
}

am_array *am_grad(am_array *x) { return x ? x->grad : NULL; }

am_array *am_detach(am_array *x)
{
    if (!x) return NULL;
    if (!x->storage) {
        am_fail(AM_ERR_SYMBOLIC, "am_detach: array is symbolic");
        return NULL;
    }
    return am_scope_own(am_array_new_view(x, x->shape, x->dtype, 0));
}
