/* Recurrent cells, their unrolling, and the fused recurrent layers (Gluon 1.x's
 * rnn_cell.py and rnn_layer.py), written as users write blocks: parameters
 * registered by name, one forward over arrays that traces as it runs. */
#include "amber/hybrid.h"
#include "amber/layers_rnn.h"
#include "amber/op.h"
#include "amber/ops.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CELL_RNN, CELL_LSTM, CELL_GRU };
enum { MODE_RNN_RELU, MODE_RNN_TANH, MODE_LSTM, MODE_GRU };

#define ACT_LEN 32

static const am_init bias_zero = {.kind = AM_INIT_ZERO};

/* A weight's initializer: NULL (the block-wide default) unless one was given. */
static const am_init *weight_init(const am_init *i)
{
    return i->kind == AM_INIT_DEFAULT ? NULL : i;
}

/* A bias's initializer: zeros unless one was given, as Gluon's 'zeros' default. */
static const am_init *bias_init(const am_init *i)
{
    return i->kind == AM_INIT_DEFAULT ? &bias_zero : i;
}

static bool has_null(am_array *const *in, int n)
{
    for (int i = 0; i < n; i++)
        if (!in[i]) return true;
    return false;
}

/* Fails with AM_ERR_ARG unless an earlier failure (a NULL input's) is pending. */
static int fail_null_input(const char *who)
{
    if (am_last_status() == AM_OK) am_fail(AM_ERR_ARG, "%s: an input is NULL", who);
    return -1;
}

static char *fmt_shape(am_shape s, char *buf, size_t n) { return am_shape_format(&s, buf, n); }

/* ---- joining and splitting more arrays than one op takes ------------------------------ */

static int imin(int a, int b) { return a < b ? a : b; }

/* Concat (stack when stack is set) of n arrays along axis, in groups of at most
 * AM_MAX_OP_IO inputs per op, joined again with Concat: the same values. */
static am_array *join_many(am_array **xs, int n, int axis, bool stack, am_site at)
{
    if (n <= AM_MAX_OP_IO)
        return stack ? am_stack_at(xs, n, axis, at) : am_concat_at(xs, n, axis, at);
    int ng = (n + AM_MAX_OP_IO - 1) / AM_MAX_OP_IO;
    am_array **parts = calloc((size_t)ng, sizeof(*parts));
    if (!parts) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    for (int g = 0; g < ng; g++) {
        int k = imin(AM_MAX_OP_IO, n - g * AM_MAX_OP_IO);
        am_array **src = xs + (size_t)g * AM_MAX_OP_IO;
        parts[g] = stack ? am_stack_at(src, k, axis, at) : am_concat_at(src, k, axis, at);
    }
    am_array *y = join_many(parts, ng, axis, false, at);
    free(parts);
    return y;
}

/* x split along axis into n pieces with that axis squeezed (SliceChannel), more than
 * AM_MAX_OP_IO pieces through slices of at most that many steps. */
static am_status split_many(am_array *x, int64_t n, int axis, am_array **out, am_site at)
{
    for (int64_t b = 0; b < n; b += AM_MAX_OP_IO) {
        int k = (int)(n - b < AM_MAX_OP_IO ? n - b : AM_MAX_OP_IO);
        am_array *part = n <= AM_MAX_OP_IO ? x : am_slice_axis_at(x, axis, b, b + k, at);
        am_status st = am_split_at(part, k, axis, true, out + b, at);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

/* ---- activations ----------------------------------------------------------------------- */

/* Gluon's _get_activation: the unary ops tanh, relu, sigmoid and softsign by name,
 * any other act_type through the Activation op. */
static am_array *apply_act(am_array *x, const char *act)
{
    if (strcmp(act, "tanh") == 0) return am_tanh(x);
    if (strcmp(act, "relu") == 0) return am_relu(x);
    if (strcmp(act, "sigmoid") == 0) return am_sigmoid(x);
    if (strcmp(act, "softsign") == 0) return am_softsign(x);
    return am_activation(x, act);
}

/* Copies act (def when NULL) into buf after checking that Activation takes it. */
static am_status set_act(const char *who, const char *what, const char *act, const char *def,
                         char *buf)
{
    if (!act) act = def;
    if (strlen(act) >= ACT_LEN)
        return am_fail(AM_ERR_ARG, "%s: %s '%s' is not an activation", who, what, act);
    const char *key = "act_type";
    void *attrs = am_attrs_parse(am_op_find("Activation"), &key, &act, 1);
    if (!attrs)
        return am_fail(AM_ERR_ARG, "%s: %s '%s' is not an activation (%s)", who, what, act,
                       am_last_error());
    free(attrs);
    strcpy(buf, act);
    return AM_OK;
}

/* ---- cells ------------------------------------------------------------------------------ */

typedef struct rnn_cell {
    am_block base;
    int kind;
    int64_t hidden;
    char act[ACT_LEN], rec_act[ACT_LEN];
    am_param *i2h_weight, *h2h_weight, *i2h_bias, *h2h_bias;
} rnn_cell;

static const int64_t cell_gates[] = {1, 4, 3};
static const char *const cell_names[] = {"RNNCell", "LSTMCell", "GRUCell"};

static int cell_forward(am_block *self, am_array *const *in, int n_in, am_array **out, int cap);

static const am_block_class cell_classes[] = {
    {"RNNCell", sizeof(rnn_cell), .forward_n = cell_forward, .flags = AM_BLOCK_BUILTIN},
    {"LSTMCell", sizeof(rnn_cell), .forward_n = cell_forward, .flags = AM_BLOCK_BUILTIN},
    {"GRUCell", sizeof(rnn_cell), .forward_n = cell_forward, .flags = AM_BLOCK_BUILTIN},
};

static rnn_cell *as_cell(const am_block *b)
{
    for (int k = 0; b && k < 3; k++)
        if (b->cls == &cell_classes[k]) return (rnn_cell *)b;
    return NULL;
}

/* RNNCell: FullyConnected i2h and h2h, elemwise_add, the activation. */
static int rnn_step(rnn_cell *c, am_array *i2h, am_array *h2h, am_array **out)
{
    am_array *y = apply_act(am_elemwise_add(i2h, h2h), c->act);
    if (!y) return -1;
    out[0] = out[1] = y;
    return 2;
}

/* LSTMCell: gates i, f, c, o from one SliceChannel of i2h + h2h. */
static int lstm_step(rnn_cell *c, am_array *i2h, am_array *h2h, am_array *c_prev,
                     am_array **out)
{
    am_array *g[4];
    if (am_split(am_elemwise_add(i2h, h2h), 4, 1, false, g) != AM_OK) return -1;
    am_array *in_gate = apply_act(g[0], c->rec_act);
    am_array *forget_gate = apply_act(g[1], c->rec_act);
    am_array *in_transform = apply_act(g[2], c->act);
    am_array *out_gate = apply_act(g[3], c->rec_act);
    am_array *kept = am_elemwise_mul(forget_gate, c_prev);
    am_array *added = am_elemwise_mul(in_gate, in_transform);
    am_array *next_c = am_elemwise_add(kept, added);
    am_array *next_h = am_elemwise_mul(out_gate, am_activation(next_c, c->act));
    if (!next_h) return -1;
    out[0] = out[1] = next_h;
    out[2] = next_c;
    return 3;
}

/* GRUCell (cuDNN's form: the reset gate multiplies h2h's candidate part). */
static int gru_step(am_array *i2h, am_array *h2h, am_array *h_prev, am_array **out)
{
    am_array *x[3], *h[3];
    if (am_split(i2h, 3, 1, false, x) != AM_OK || am_split(h2h, 3, 1, false, h) != AM_OK)
        return -1;
    am_array *reset = am_activation(am_elemwise_add(x[0], h[0]), "sigmoid");
    am_array *update = am_activation(am_elemwise_add(x[1], h[1]), "sigmoid");
    am_array *gated = am_elemwise_mul(reset, h[2]);
    am_array *cand = am_activation(am_elemwise_add(x[2], gated), "tanh");
    am_array *ones = am_ones_like(update);
    am_array *new_part = am_elemwise_mul(am_elemwise_sub(ones, update), cand);
    am_array *old_part = am_elemwise_mul(update, h_prev);
    am_array *next_h = am_elemwise_add(new_part, old_part);
    if (!next_h) return -1;
    out[0] = out[1] = next_h;
    return 2;
}

/* Checks (input (N, C), states (N, H) ...) against the cell. */
static am_status cell_check(rnn_cell *c, am_array *const *in, int n_in, int cap)
{
    const char *who = cell_names[c->kind];
    int ns = c->kind == CELL_LSTM ? 2 : 1;
    char b0[64], b1[64];
    if (n_in != 1 + ns)
        return am_fail(AM_ERR_ARG, "%s: takes the input and %d state%s, got %d array%s", who,
                       ns, ns == 1 ? " (h)" : "s (h, c)", n_in, n_in == 1 ? "" : "s");
    if (cap < 1 + ns) return am_fail(AM_ERR_ARG, "%s: room for %d outputs, need %d", who, cap,
                                     1 + ns);
    am_shape xs = am_array_shape(in[0]);
    if (xs.ndim != 2)
        return am_fail(AM_ERR_SHAPE, "%s: input %s must be 2-D (batch, input_size)", who,
                       fmt_shape(xs, b0, sizeof(b0)));
    am_shape ws = am_param_shape(c->i2h_weight);
    if (ws.dim[1] != 0 && ws.dim[1] != xs.dim[1])
        return am_fail(AM_ERR_SHAPE, "%s: input %s has %lld features; i2h_weight %s takes %lld",
                       who, fmt_shape(xs, b0, sizeof(b0)), (long long)xs.dim[1],
                       fmt_shape(ws, b1, sizeof(b1)), (long long)ws.dim[1]);
    am_shape want = {.ndim = 2, .dim = {xs.dim[0], c->hidden}};
    for (int i = 0; i < ns; i++) {
        am_shape s = am_array_shape(in[1 + i]);
        if (!am_shape_equal(s, want))
            return am_fail(AM_ERR_SHAPE, "%s: state %d %s must be %s (batch, hidden_size)", who,
                           i, fmt_shape(s, b0, sizeof(b0)), fmt_shape(want, b1, sizeof(b1)));
    }
    return AM_OK;
}

static int cell_forward(am_block *self, am_array *const *in, int n_in, am_array **out, int cap)
{
    rnn_cell *c = (rnn_cell *)self;
    if (has_null(in, n_in)) return fail_null_input(cell_names[c->kind]);
    if (cell_check(c, in, n_in, cap) != AM_OK) return -1;
    int64_t gh = cell_gates[c->kind] * c->hidden;
    am_array *i2h = am_fully_connected(in[0], am_param_value(c->i2h_weight),
                                       am_param_value(c->i2h_bias), gh, false, true);
    am_array *h2h = am_fully_connected(in[1], am_param_value(c->h2h_weight),
                                       am_param_value(c->h2h_bias), gh, false, true);
    if (!i2h || !h2h) return -1;
    switch (c->kind) {
    case CELL_LSTM: return lstm_step(c, i2h, h2h, in[2], out);
    case CELL_GRU: return gru_step(i2h, h2h, in[1], out);
    default: return rnn_step(c, i2h, h2h, out);
    }
}

static am_block *cell_new(int kind, int64_t hidden, const am_rnn_cell_opts *opts)
{
    const am_rnn_cell_opts o = opts ? *opts : (am_rnn_cell_opts){0};
    const char *who = cell_names[kind];
    if (hidden < 1) {
        am_fail(AM_ERR_ARG, "%s: hidden_size must be positive, got %lld", who, (long long)hidden);
        return NULL;
    }
    if (o.input_size < 0) {
        am_fail(AM_ERR_ARG, "%s: input_size must be 0 (inferred) or positive, got %lld", who,
                (long long)o.input_size);
        return NULL;
    }
    if ((kind == CELL_GRU && o.activation) || (kind != CELL_LSTM && o.recurrent_activation)) {
        am_fail(AM_ERR_ARG, "%s: takes no %s", who,
                o.recurrent_activation ? "recurrent_activation" : "activation");
        return NULL;
    }
    rnn_cell *c = am_block_new(&cell_classes[kind]);
    if (!c) return NULL;
    c->kind = kind;
    c->hidden = hidden;
    am_block *b = &c->base;
    int64_t gh = cell_gates[kind] * hidden;
    if (set_act(who, "activation", o.activation, "tanh", c->act) != AM_OK ||
        set_act(who, "recurrent_activation", o.recurrent_activation, "sigmoid", c->rec_act) !=
            AM_OK)
        goto fail;
    c->i2h_weight = am_block_param(b, "i2h_weight", AM_SHAPE(gh, o.input_size),
                                   weight_init(&o.i2h_weight_init));
    c->h2h_weight = am_block_param(b, "h2h_weight", AM_SHAPE(gh, hidden),
                                   weight_init(&o.h2h_weight_init));
    c->i2h_bias = am_block_param(b, "i2h_bias", AM_SHAPE(gh), bias_init(&o.i2h_bias_init));
    c->h2h_bias = am_block_param(b, "h2h_bias", AM_SHAPE(gh), bias_init(&o.h2h_bias_init));
    if (c->i2h_weight && c->h2h_weight && c->i2h_bias && c->h2h_bias) return b;
fail:
    am_block_release(b);
    return NULL;
}

am_block *am_rnn_cell(int64_t hidden_size, const am_rnn_cell_opts *opts)
{
    return cell_new(CELL_RNN, hidden_size, opts);
}

am_block *am_lstm_cell(int64_t hidden_size, const am_rnn_cell_opts *opts)
{
    return cell_new(CELL_LSTM, hidden_size, opts);
}

am_block *am_gru_cell(int64_t hidden_size, const am_rnn_cell_opts *opts)
{
    return cell_new(CELL_GRU, hidden_size, opts);
}

/* ---- fused layers ----------------------------------------------------------------------- */

typedef struct rnn_layer {
    am_block base;
    int mode;
    int64_t hidden;
    int layers, dirs;
    bool ntc;
    const am_op_def *op;  /* RNN */
    void *attrs;          /* its parsed attributes (state_outputs on, as Gluon) */
    am_param **params;    /* per layer and direction: i2h_weight, h2h_weight, i2h_bias,
                           * h2h_bias, in registration order */
} rnn_layer;

static const int64_t mode_gates[] = {1, 1, 4, 3};
static const char *const mode_names[] = {"rnn_relu", "rnn_tanh", "lstm", "gru"};
static const char *const layer_names[] = {"RNN", "RNN", "LSTM", "GRU"};

static int layer_forward(am_block *self, am_array *const *in, int n_in, am_array **out,
                         int cap);
static void layer_destroy(am_block *self);

static const am_block_class layer_classes[] = {
    {"RNN", sizeof(rnn_layer), .forward_n = layer_forward, .destroy = layer_destroy,
     .flags = AM_BLOCK_BUILTIN},
    {"LSTM", sizeof(rnn_layer), .forward_n = layer_forward, .destroy = layer_destroy,
     .flags = AM_BLOCK_BUILTIN},
    {"GRU", sizeof(rnn_layer), .forward_n = layer_forward, .destroy = layer_destroy,
     .flags = AM_BLOCK_BUILTIN},
};

static rnn_layer *as_layer(const am_block *b)
{
    for (int k = 0; b && k < 3; k++)
        if (b->cls == &layer_classes[k]) return (rnn_layer *)b;
    return NULL;
}

static void layer_destroy(am_block *self)
{
    rnn_layer *l = (rnn_layer *)self;
    free(l->attrs);
    free(l->params);
}

static int layer_num_states(const rnn_layer *l) { return l->mode == MODE_LSTM ? 2 : 1; }

static am_shape layer_state_shape(const rnn_layer *l, int64_t batch)
{
    return (am_shape){.ndim = 3, .dim = {(int64_t)l->layers * l->dirs, batch, l->hidden}};
}

/* Checks input (T, N, C) or (N, T, C) and the begin states, if given. */
static am_status layer_check(rnn_layer *l, am_array *const *in, int n_in, int cap)
{
    const char *who = layer_names[l->mode];
    int ns = layer_num_states(l);
    char b0[64], b1[64];
    if (n_in != 1 && n_in != 1 + ns)
        return am_fail(AM_ERR_ARG, "%s: takes the input and optionally %d begin state%s, got %d "
                       "arrays", who, ns, ns == 1 ? " (h)" : "s (h, c)", n_in);
    if (cap < 1 + ns) return am_fail(AM_ERR_ARG, "%s: room for %d outputs, need %d", who, cap,
                                     1 + ns);
    am_shape xs = am_array_shape(in[0]);
    if (xs.ndim != 3)
        return am_fail(AM_ERR_SHAPE, "%s: input %s must be 3-D %s for layout %s", who,
                       fmt_shape(xs, b0, sizeof(b0)), l->ntc ? "(batch, time, features)" :
                       "(time, batch, features)", l->ntc ? "NTC" : "TNC");
    am_shape ws = am_param_shape(l->params[0]);
    if (ws.dim[1] != 0 && ws.dim[1] != xs.dim[2])
        return am_fail(AM_ERR_SHAPE, "%s: input %s has %lld features; l0_i2h_weight %s takes "
                       "%lld", who, fmt_shape(xs, b0, sizeof(b0)), (long long)xs.dim[2],
                       fmt_shape(ws, b1, sizeof(b1)), (long long)ws.dim[1]);
    am_shape want = layer_state_shape(l, xs.dim[l->ntc ? 0 : 1]);
    for (int i = 1; i < n_in; i++) {
        am_shape s = am_array_shape(in[i]);
        if (!am_shape_equal(s, want))
            return am_fail(AM_ERR_SHAPE, "%s: begin state %d %s must be %s (layers * "
                           "directions, batch, hidden_size)", who, i - 1,
                           fmt_shape(s, b0, sizeof(b0)), fmt_shape(want, b1, sizeof(b1)));
    }
    return AM_OK;
}

/* Parameters read in a shape-inference trace (a deferred first call, am_block_trace
 * before initialisation) are variables of unknown shape, which Reshape cannot
 * flatten: no op infers an input's shape back through Reshape and Concat (MXNet's
 * _rnn_param_concat did).  Each weight and bias pair of unknown shape then goes to a
 * FullyConnected over zeros of its width, whose shape inference fills both, and the
 * RNN op gets zeros of the vector's length.  Only that trace's shapes are read. */
static am_array *layer_infer_params(rnn_layer *l, am_array **v, int64_t in0, am_dtype dt,
                                    am_site at)
{
    int64_t gh = mode_gates[l->mode] * l->hidden, total = 0;
    for (int j = 0; j < l->layers * l->dirs; j++) {
        for (int g = 0; g < 2; g++) {              /* i2h, then h2h */
            int64_t width = g ? l->hidden : j < l->dirs ? in0 : l->hidden * l->dirs;
            am_array *w = v[4 * j + g], *b = v[4 * j + 2 + g];
            total += gh * (width + 1);
            if (am_array_ndim(w) >= 0 && am_array_ndim(b) >= 0) continue;
            am_array *z = am_zeros(AM_SHAPE(1, width), dt);
            if (!am_fully_connected_at(z, w, b, gh, false, true, at)) return NULL;
        }
    }
    return am_zeros(AM_SHAPE(total), dt);
}

/* The RNN op's parameter vector, as Gluon 1.9 builds it: every parameter reshaped
 * to 1-D, all weights (layer by layer, direction by direction, i2h then h2h) and
 * then all biases in the same order, concatenated.  Gluon concatenates with
 * _rnn_param_concat, which Amber reads as Concat: the same vector. */
static am_array *layer_packed_params(rnn_layer *l, int64_t in0, am_dtype dt, am_site at)
{
    int n = 4 * l->layers * l->dirs, k = 0;
    bool unknown = false;
    am_array **v = calloc((size_t)(2 * n), sizeof(*v)), **flat = v + n, *y = NULL;
    if (!v) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        v[i] = am_param_value(l->params[i]);
        unknown |= v[i] && am_array_ndim(v[i]) < 0;
    }
    if (has_null(v, n)) goto out;
    if (unknown) {
        y = layer_infer_params(l, v, in0, dt, at);
        goto out;
    }
    for (int t = 0; t < 2; t++)                      /* weights, then biases */
        for (int j = 0; j < l->layers * l->dirs; j++) /* layer, then direction */
            for (int g = 0; g < 2; g++)               /* i2h, then h2h */
                flat[k++] = am_reshape_at(v[4 * j + 2 * t + g], AM_SHAPE(-1), false, at);
    if (!has_null(flat, n)) y = join_many(flat, n, 0, false, at);
out:
    free(v);
    return y;
}

/* Zero begin states (L*D, N, H) in x's dtype, on x's device. */
static am_status layer_zero_states(rnn_layer *l, am_array *x, int64_t batch, am_array **st)
{
    am_device dev = am_array_device(x);
    for (int i = 0; i < layer_num_states(l); i++) {
        st[i] = am_zeros(layer_state_shape(l, batch), am_array_dtype(x));
        if (st[i] && dev.type != AM_DEVICE_CPU) st[i] = am_to_device(st[i], dev);
        if (!st[i]) return am_last_status();
    }
    return AM_OK;
}

static int layer_forward(am_block *self, am_array *const *in, int n_in, am_array **out,
                         int cap)
{
    rnn_layer *l = (rnn_layer *)self;
    const am_site at = AM_HERE;
    int ns = layer_num_states(l);
    if (has_null(in, n_in)) return fail_null_input(layer_names[l->mode]);
    if (layer_check(l, in, n_in, cap) != AM_OK) return -1;
    am_array *x = in[0], *st[2] = {NULL, NULL}, *r[3];
    int64_t batch = am_array_dim(x, l->ntc ? 0 : 1);
    if (n_in > 1) {
        for (int i = 0; i < ns; i++) st[i] = in[1 + i];
    } else if (layer_zero_states(l, x, batch, st) != AM_OK) {
        return -1;
    }
    if (l->ntc) x = am_swap_axis_at(x, 0, 1, at);
    am_array *params = layer_packed_params(l, am_array_dim(in[0], 2), am_array_dtype(in[0]), at);
    if (!x || !params) return -1;
    am_array *rin[4] = {x, params, st[0], st[1]};
    if (am_op_call(l->op, l->attrs, rin, 2 + ns, r, 1 + ns, at) != AM_OK) return -1;
    out[0] = l->ntc ? am_swap_axis_at(r[0], 0, 1, at) : r[0];
    if (!out[0]) return -1;
    if (n_in == 1) return 1;
    for (int i = 0; i < ns; i++) out[1 + i] = r[1 + i];
    return 1 + ns;
}

/* Registers the parameters of every layer and direction in Gluon's order. */
static am_status layer_params(rnn_layer *l, int64_t input_size, const am_rnn_layer_opts *o)
{
    static const char *const suffix[] = {"i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"};
    int64_t gh = mode_gates[l->mode] * l->hidden, ni = input_size;
    l->params = calloc((size_t)(4 * l->layers * l->dirs), sizeof(*l->params));
    if (!l->params) return am_fail(AM_ERR_OOM, "out of memory");
    for (int i = 0; i < l->layers; i++) {
        for (int d = 0; d < l->dirs; d++) {
            am_param **p = l->params + 4 * (i * l->dirs + d);
            const am_shape shapes[] = {AM_SHAPE(gh, ni), AM_SHAPE(gh, l->hidden), AM_SHAPE(gh),
                                       AM_SHAPE(gh)};
            const am_init *inits[] = {weight_init(&o->i2h_weight_init),
                                      weight_init(&o->h2h_weight_init),
                                      bias_init(&o->i2h_bias_init), bias_init(&o->h2h_bias_init)};
            for (int g = 0; g < 4; g++) {
                char name[48];
                snprintf(name, sizeof(name), "%c%d_%s", d ? 'r' : 'l', i, suffix[g]);
                if (!(p[g] = am_block_param(&l->base, name, shapes[g], inits[g])))
                    return am_last_status();
            }
        }
        ni = l->hidden * l->dirs;
    }
    return AM_OK;
}

/* The RNN op's attributes: Gluon's call, with state_outputs on. */
static am_status layer_attrs(rnn_layer *l, double dropout)
{
    char size[32], layers[16], p[40];
    snprintf(size, sizeof(size), "%lld", (long long)l->hidden);
    snprintf(layers, sizeof(layers), "%d", l->layers);
    snprintf(p, sizeof(p), "%.17g", dropout);
    const char *keys[] = {"state_size", "num_layers", "bidirectional", "mode", "p",
                          "state_outputs"};
    const char *vals[] = {size, layers, l->dirs == 2 ? "True" : "False", mode_names[l->mode],
                          p, "True"};
    if (!(l->op = am_op_find("RNN"))) return am_last_status();
    l->attrs = am_attrs_parse(l->op, keys, vals, 6);
    return l->attrs ? AM_OK : am_last_status();
}

static am_status layer_opts_check(const char *who, int64_t hidden, const am_rnn_layer_opts *o)
{
    if (hidden < 1)
        return am_fail(AM_ERR_ARG, "%s: hidden_size must be positive, got %lld", who,
                       (long long)hidden);
    if (o->num_layers < 0)
        return am_fail(AM_ERR_ARG, "%s: num_layers must be positive (0: 1), got %d", who,
                       o->num_layers);
    if (o->input_size < 0)
        return am_fail(AM_ERR_ARG, "%s: input_size must be 0 (inferred) or positive, got %lld",
                       who, (long long)o->input_size);
    if (!(o->dropout >= 0 && o->dropout < 1))
        return am_fail(AM_ERR_ARG, "%s: dropout must be in [0, 1), got %g", who, o->dropout);
    if (o->layout && strcmp(o->layout, "TNC") != 0 && strcmp(o->layout, "NTC") != 0)
        return am_fail(AM_ERR_ARG, "%s: layout '%s' must be 'TNC' or 'NTC'", who, o->layout);
    return AM_OK;
}

static am_block *layer_new(int mode, int64_t hidden, const am_rnn_layer_opts *opts)
{
    const am_rnn_layer_opts o = opts ? *opts : (am_rnn_layer_opts){0};
    const char *who = layer_names[mode];
    if (layer_opts_check(who, hidden, &o) != AM_OK) return NULL;
    if (mode == MODE_RNN_RELU && o.activation) {
        if (strcmp(o.activation, "tanh") == 0) {
            mode = MODE_RNN_TANH;
        } else if (strcmp(o.activation, "relu") != 0) {
            am_fail(AM_ERR_ARG, "RNN: activation '%s' must be 'relu' or 'tanh'", o.activation);
            return NULL;
        }
    } else if (mode != MODE_RNN_RELU && o.activation) {
        am_fail(AM_ERR_ARG, "%s: takes no activation", who);
        return NULL;
    }
    int k = mode == MODE_LSTM ? 1 : mode == MODE_GRU ? 2 : 0;
    rnn_layer *l = am_block_new(&layer_classes[k]);
    if (!l) return NULL;
    l->mode = mode;
    l->hidden = hidden;
    l->layers = o.num_layers ? o.num_layers : 1;
    l->dirs = o.bidirectional ? 2 : 1;
    l->ntc = o.layout && strcmp(o.layout, "NTC") == 0;
    if (layer_attrs(l, o.dropout) == AM_OK && layer_params(l, o.input_size, &o) == AM_OK)
        return &l->base;
    am_block_release(&l->base);
    return NULL;
}

am_block *am_rnn_layer(int64_t hidden_size, const am_rnn_layer_opts *opts)
{
    return layer_new(MODE_RNN_RELU, hidden_size, opts);
}

am_block *am_lstm_layer(int64_t hidden_size, const am_rnn_layer_opts *opts)
{
    return layer_new(MODE_LSTM, hidden_size, opts);
}

am_block *am_gru_layer(int64_t hidden_size, const am_rnn_layer_opts *opts)
{
    return layer_new(MODE_GRU, hidden_size, opts);
}

/* ---- states ----------------------------------------------------------------------------- */

int am_rnn_num_states(const am_block *b)
{
    const rnn_cell *c = as_cell(b);
    const rnn_layer *l = as_layer(b);
    if (c) return c->kind == CELL_LSTM ? 2 : 1;
    if (l) return layer_num_states(l);
    am_fail(AM_ERR_ARG, "am_rnn_num_states: %s is not a recurrent cell or layer",
            b ? am_block_type(b) : "NULL");
    return -1;
}

am_shape am_rnn_state_shape(const am_block *b, int64_t batch_size)
{
    const rnn_cell *c = as_cell(b);
    const rnn_layer *l = as_layer(b);
    if (c) return (am_shape){.ndim = 2, .dim = {batch_size, c->hidden}};
    if (l) return layer_state_shape(l, batch_size);
    am_fail(AM_ERR_ARG, "am_rnn_state_shape: %s is not a recurrent cell or layer",
            b ? am_block_type(b) : "NULL");
    return (am_shape){.ndim = -1};
}

int am_rnn_begin_state(am_block *b, int64_t batch_size, am_array **out, int cap)
{
    int n = am_rnn_num_states(b);
    if (n < 0) return -1;
    if (batch_size < 0 || !out || cap < n) {
        am_fail(AM_ERR_ARG, "am_rnn_begin_state: %s", batch_size < 0 ? "batch_size is negative"
                : "out must hold the states (am_rnn_num_states)");
        return -1;
    }
    const rnn_cell *c = as_cell(b);
    am_param *p = c ? c->i2h_weight : as_layer(b)->params[0];
    am_array *z[2];
    for (int i = 0; i < n; i++)
        if (!(z[i] = am_zeros(am_rnn_state_shape(b, batch_size), am_param_dtype(p)))) return -1;
    for (int i = 0; i < n; i++) out[i] = z[i];
    return n;
}

/* ---- unroll ----------------------------------------------------------------------------- */

/* am_fail with the caller's file:line behind the message, as ops report. */
static am_status fail_at(am_site at, am_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static am_status fail_at(am_site at, am_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *base = at.file ? strrchr(at.file, '/') : NULL;
    if (!at.file) return am_fail(code, "%s", msg);
    return am_fail(code, "%s at %s:%d", msg, base ? base + 1 : at.file, at.line);
}

typedef struct unroll_args {
    int64_t length;
    int axis;        /* the time axis of inputs and merged outputs */
    int ns;          /* states */
} unroll_args;

static am_status unroll_check(am_block *cell, int64_t length, am_array *inputs,
                              const char *layout, unroll_args *u, am_site at)
{
    char b0[64];
    if (!as_cell(cell))
        return fail_at(at, AM_ERR_ARG, "am_rnn_unroll: %s is not a recurrent cell",
                       cell ? am_block_type(cell) : "NULL");
    if (!inputs)
        return am_last_status() ? am_last_status()
                                : fail_at(at, AM_ERR_ARG, "am_rnn_unroll: inputs is NULL");
    if (layout && strcmp(layout, "TNC") != 0 && strcmp(layout, "NTC") != 0)
        return fail_at(at, AM_ERR_ARG, "am_rnn_unroll: layout '%s' must be 'TNC' or 'NTC'",
                       layout);
    if (length < 1 || length > INT_MAX)
        return fail_at(at, AM_ERR_ARG, "am_rnn_unroll: length must be positive, got %lld",
                       (long long)length);
    u->axis = layout && strcmp(layout, "TNC") == 0 ? 0 : 1;
    am_shape s = am_array_shape(inputs);
    if (s.ndim != 3 || s.dim[u->axis] != length)
        return fail_at(at, AM_ERR_SHAPE, "am_rnn_unroll: inputs %s must be 3-D with %lld steps "
                       "along axis %d (layout %s)", fmt_shape(s, b0, sizeof(b0)),
                       (long long)length, u->axis, u->axis ? "NTC" : "TNC");
    u->length = length;
    u->ns = am_rnn_num_states(cell);
    return AM_OK;
}

/* The begin states: the caller's, or zeros in the dtype of inputs. */
static am_status unroll_begin(am_block *cell, const unroll_args *u, am_array *inputs,
                              am_array *const *begin_state, am_array **st, am_site at)
{
    int64_t batch = am_array_dim(inputs, u->axis ? 0 : 1);
    for (int i = 0; i < u->ns; i++) {
        st[i] = begin_state ? begin_state[i]
                            : am_zeros(am_rnn_state_shape(cell, batch), am_array_dtype(inputs));
        if (!st[i])
            return am_last_status() ? am_last_status()
                                    : fail_at(at, AM_ERR_ARG, "am_rnn_unroll: begin state %d "
                                              "is NULL", i);
    }
    return AM_OK;
}

/* Runs the steps: xs are the steps' inputs, ys receives their outputs and st the
 * running states. */
static am_status unroll_steps(am_block *cell, const unroll_args *u, am_array **xs,
                              am_array **ys, am_array **st, am_site at)
{
    for (int64_t t = 0; t < u->length; t++) {
        am_array *in[3] = {xs[t], st[0], st[1]}, *out[3];
        int n = am_block_forward_at(cell, in, 1 + u->ns, out, 3, at);
        if (n < 0) return am_last_status();
        if (n != 1 + u->ns)
            return fail_at(at, AM_ERR_INTERNAL, "am_rnn_unroll: the cell returned %d arrays", n);
        ys[t] = out[0];
        for (int i = 0; i < u->ns; i++) st[i] = out[1 + i];
    }
    return AM_OK;
}

am_status am_rnn_unroll_at(am_block *cell, int64_t length, am_array *inputs, const char *layout,
                           am_array *const *begin_state, bool merge_outputs,
                           am_array **outputs, am_array **states, am_site at)
{
    unroll_args u = {0};
    am_status st = unroll_check(cell, length, inputs, layout, &u, at);
    if (st != AM_OK) return st;
    if (!outputs || !states)
        return fail_at(at, AM_ERR_ARG, "am_rnn_unroll: outputs or states is NULL");
    am_array **xs = calloc((size_t)(2 * length), sizeof(*xs)), *s[2] = {NULL, NULL};
    if (!xs) return am_fail(AM_ERR_OOM, "out of memory");
    am_array **ys = xs + length, *merged = NULL;
    am_scope_begin();
    st = unroll_begin(cell, &u, inputs, begin_state, s, at);
    if (st == AM_OK) st = split_many(inputs, length, u.axis, xs, at);
    if (st == AM_OK) st = unroll_steps(cell, &u, xs, ys, s, at);
    if (st == AM_OK && merge_outputs && !(merged = join_many(ys, (int)length, u.axis, true, at)))
        st = am_last_status();
    if (st == AM_OK) {
        if (merge_outputs) outputs[0] = am_keep(merged);
        else
            for (int64_t t = 0; t < length; t++) outputs[t] = am_keep(ys[t]);
        for (int i = 0; i < u.ns; i++) states[i] = am_keep(s[i]);
    }
    am_scope_end();
    free(xs);
    return st;
}
