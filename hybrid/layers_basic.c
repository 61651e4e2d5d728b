/* Basic built-in layers: Dense, Embedding, Dropout, Flatten, the activations,
 * Lambda and the containers (Sequential, Concatenate), with the helpers the
 * other layer files share.  Written with the public API only. */
#include "layers_impl.h"

#include <stdio.h>
#include <string.h>

/* ---- shared helpers -------------------------------------------------------------------- */

am_status am_layer_check_inputs(const am_block *b, int n_in, int want)
{
    if (n_in == want) return AM_OK;
    return am_fail(AM_ERR_ARG, "%s: takes %d input%s, got %d", am_block_type(b), want,
                   want == 1 ? "" : "s", n_in);
}

am_status am_layer_tuple(const char *fn, const char *what, am_shape t, int nk, int64_t def,
                         int64_t min, int64_t *out)
{
    if (t.ndim != 0 && t.ndim != 1 && t.ndim != nk)
        return am_fail(AM_ERR_ARG, "%s: %s must have %d entr%s (or 1 for all axes), got %d",
                       fn, what, nk, nk == 1 ? "y" : "ies", t.ndim);
    for (int i = 0; i < nk; i++) {
        out[i] = t.ndim == 0 ? def : t.dim[t.ndim == 1 ? 0 : i];
        if (out[i] < min)
            return am_fail(AM_ERR_ARG, "%s: %s entries must be at least %lld, got %lld", fn,
                           what, (long long)min, (long long)out[i]);
    }
    return AM_OK;
}

const am_init *am_layer_init_or(const am_init *init, const am_init *fallback)
{
    return init->kind != AM_INIT_DEFAULT ? init : fallback;
}

am_block *am_layer_fail(am_block *b)
{
    am_block_release(b);
    return NULL;
}

/* MXNet's act_type names.  log_sigmoid and mish are composed below: Amber's
 * Activation op has the first five. */
static const char *const act_names[] = {"relu", "sigmoid", "tanh", "softrelu", "softsign",
                                        "log_sigmoid", "mish", NULL};

const char *am_layer_act_name(const char *fn, const char *name)
{
    for (int i = 0; name && act_names[i]; i++)
        if (strcmp(name, act_names[i]) == 0) return act_names[i];
    am_fail(AM_ERR_ARG, "%s: activation '%s' is not one of relu, sigmoid, tanh, softrelu, "
            "softsign, log_sigmoid, mish", fn, name ? name : "(null)");
    return NULL;
}

am_array *am_layer_activate(am_array *x, const char *act)
{
    if (strcmp(act, "log_sigmoid") == 0) /* log(sigmoid(x)) = -softrelu(-x) */
        return am_negative(am_activation(am_negative(x), "softrelu"));
    if (strcmp(act, "mish") == 0) /* x tanh(softrelu(x)) */
        return am_elemwise_mul(x, am_tanh(am_activation(x, "softrelu")));
    return am_activation(x, act);
}

am_block *am_layer_add_act(am_block *parent, const char *fn, const char *name)
{
    if (!name) return NULL;
    const char *act = am_layer_act_name(fn, name);
    return act ? am_block_add(parent, "act", am_activation_layer(act)) : NULL;
}

static const am_init init_zero = {.kind = AM_INIT_ZERO};

/* ---- Dense ------------------------------------------------------------------------------- */

typedef struct dense {
    am_block base;
    am_param *weight, *bias; /* bias NULL: use_bias=False */
    am_block *act;           /* the child "act", or NULL */
    int64_t units;
    bool flatten;
} dense;

static am_array *dense_forward(am_block *self, am_array *const *in, int n_in)
{
    dense *d = (dense *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *w = am_param_value(d->weight);
    am_array *b = d->bias ? am_param_value(d->bias) : NULL;
    if (!w || (d->bias && !b)) return NULL;
    am_array *y = am_fully_connected(in[0], w, b, d->units, !d->bias, d->flatten);
    return y && d->act ? am_block_call(d->act, y) : y;
}

static const am_block_class dense_class = {
    .name = "Dense", .size = sizeof(dense), .forward = dense_forward, .flags = AM_BLOCK_BUILTIN};

am_block *am_dense(int64_t units, const am_dense_opts *opts)
{
    static const am_dense_opts defaults;
    const am_dense_opts *o = opts ? opts : &defaults;
    if (units <= 0 || o->in_units < 0) {
        am_fail(AM_ERR_ARG, "am_dense: %s, got %lld",
                units <= 0 ? "units must be positive" : "in_units must not be negative",
                (long long)(units <= 0 ? units : o->in_units));
        return NULL;
    }
    if (o->activation && !am_layer_act_name("am_dense", o->activation)) return NULL;
    dense *d = am_block_new(&dense_class);
    if (!d) return NULL;
    d->units = units;
    d->flatten = !o->no_flatten;
    d->weight = am_block_param(&d->base, "weight", AM_SHAPE(units, o->in_units),
                               am_layer_init_or(&o->weight_init, NULL));
    if (d->weight && !o->no_bias)
        d->bias = am_block_param(&d->base, "bias", AM_SHAPE(units),
                                 am_layer_init_or(&o->bias_init, &init_zero));
    if (!d->weight || (!o->no_bias && !d->bias)) return am_layer_fail(&d->base);
    d->act = am_layer_add_act(&d->base, "am_dense", o->activation);
    if (o->activation && !d->act) return am_layer_fail(&d->base);
    return &d->base;
}

/* ---- Embedding ----------------------------------------------------------------------------- */

typedef struct embedding {
    am_block base;
    am_param *weight;
    int64_t input_dim, output_dim;
} embedding;

static am_array *embedding_forward(am_block *self, am_array *const *in, int n_in)
{
    embedding *e = (embedding *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *w = am_param_value(e->weight);
    return w ? am_embedding(in[0], w, e->input_dim, e->output_dim) : NULL;
}

static const am_block_class embedding_class = {
    .name = "Embedding", .size = sizeof(embedding), .forward = embedding_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_embedding_layer(int64_t input_dim, int64_t output_dim,
                             const am_embedding_opts *opts)
{
    static const am_embedding_opts defaults;
    const am_embedding_opts *o = opts ? opts : &defaults;
    if (input_dim <= 0 || output_dim <= 0) {
        am_fail(AM_ERR_ARG, "am_embedding_layer: %s must be positive, got %lld",
                input_dim <= 0 ? "input_dim" : "output_dim",
                (long long)(input_dim <= 0 ? input_dim : output_dim));
        return NULL;
    }
    embedding *e = am_block_new(&embedding_class);
    if (!e) return NULL;
    e->input_dim = input_dim;
    e->output_dim = output_dim;
    e->weight = am_block_param(&e->base, "weight", AM_SHAPE(input_dim, output_dim),
                               am_layer_init_or(&o->weight_init, NULL));
    return e->weight ? &e->base : am_layer_fail(&e->base);
}

/* ---- Dropout and Flatten --------------------------------------------------------------------- */

typedef struct dropout {
    am_block base;
    double rate;
    am_shape axes;
} dropout;

/* The axes as MXNet writes a tuple: "(1, 2)" or "(1,)". */
static void format_axes(am_shape axes, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < axes.ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)axes.dim[i]);
    if (k < len) snprintf(buf + k, len - k, axes.ndim == 1 ? ",)" : ")");
}

static am_array *dropout_forward(am_block *self, am_array *const *in, int n_in)
{
    dropout *d = (dropout *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    if (d->rate == 0) return am_copy(in[0]); /* Gluon's identity */
    if (d->axes.ndim == 0) return am_dropout(in[0], d->rate);
    /* am_dropout has no axes argument: the op's attribute strings carry them. */
    char p[32], axes[128];
    snprintf(p, sizeof(p), "%.17g", d->rate);
    format_axes(d->axes, axes, sizeof(axes));
    const char *keys[] = {"p", "axes"}, *vals[] = {p, axes};
    am_array *y = NULL;
    am_invoke("Dropout", in, 1, keys, vals, 2, &y, 1);
    return y;
}

static const am_block_class dropout_class = {
    .name = "Dropout", .size = sizeof(dropout), .forward = dropout_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_dropout_layer(double rate, const am_dropout_opts *opts)
{
    if (!(rate >= 0 && rate < 1)) {
        am_fail(AM_ERR_ARG, "am_dropout_layer: rate must be in [0, 1), got %g", rate);
        return NULL;
    }
    if (opts && (opts->axes.ndim < 0 || opts->axes.ndim > AM_MAX_NDIM)) {
        am_fail(AM_ERR_ARG, "am_dropout_layer: axes has %d entries", opts->axes.ndim);
        return NULL;
    }
    dropout *d = am_block_new(&dropout_class);
    if (!d) return NULL;
    d->rate = rate;
    if (opts) d->axes = opts->axes;
    return &d->base;
}

static am_array *flatten_forward(am_block *self, am_array *const *in, int n_in)
{
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    return am_flatten(in[0]);
}

static const am_block_class flatten_class = {
    .name = "Flatten", .size = sizeof(am_block), .forward = flatten_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_flatten_layer(void)
{
    return am_block_new(&flatten_class);
}

/* ---- activations ----------------------------------------------------------------------------- */

typedef struct activation {
    am_block base;
    const char *act; /* one of act_names */
} activation;

static am_array *activation_forward(am_block *self, am_array *const *in, int n_in)
{
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    return am_layer_activate(in[0], ((activation *)self)->act);
}

static const am_block_class activation_class = {
    .name = "Activation", .size = sizeof(activation), .forward = activation_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_activation_layer(const char *name)
{
    const char *act = am_layer_act_name("am_activation_layer", name);
    if (!act) return NULL;
    activation *a = am_block_new(&activation_class);
    if (a) a->act = act;
    return a ? &a->base : NULL;
}

/* LeakyReLU, ELU, SELU and GELU: the LeakyReLU op with Gluon's act_type. */
typedef struct leaky {
    am_block base;
    const char *act_type;
    double slope;
} leaky;

static am_array *leaky_forward(am_block *self, am_array *const *in, int n_in)
{
    leaky *l = (leaky *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    return am_leaky_relu(in[0], NULL, l->act_type, l->slope);
}

#define LEAKY_CLASS(var, name_)                                                       \
    static const am_block_class var = {.name = name_, .size = sizeof(leaky),          \
                                       .forward = leaky_forward, .flags = AM_BLOCK_BUILTIN}
LEAKY_CLASS(leaky_relu_class, "LeakyReLU");
LEAKY_CLASS(elu_class, "ELU");
LEAKY_CLASS(selu_class, "SELU");
LEAKY_CLASS(gelu_class, "GELU");
#undef LEAKY_CLASS

static am_block *new_leaky(const am_block_class *cls, const char *act_type, double slope)
{
    leaky *l = am_block_new(cls);
    if (!l) return NULL;
    l->act_type = act_type;
    l->slope = slope;
    return &l->base;
}

am_block *am_leaky_relu_layer(double alpha)
{
    if (!(alpha >= 0)) {
        am_fail(AM_ERR_ARG, "am_leaky_relu_layer: alpha must be at least 0, got %g", alpha);
        return NULL;
    }
    return new_leaky(&leaky_relu_class, "leaky", alpha);
}

am_block *am_elu(double alpha)
{
    if (alpha != alpha) {
        am_fail(AM_ERR_ARG, "am_elu: alpha is NaN");
        return NULL;
    }
    return new_leaky(&elu_class, "elu", alpha);
}

/* SELU and GELU ignore the slope: the op's default (0.25) keeps it out of
 * exported attributes, as Gluon's call leaves it out. */
am_block *am_selu(void)
{
    return new_leaky(&selu_class, "selu", 0.25);
}

am_block *am_gelu(void)
{
    return new_leaky(&gelu_class, "gelu", 0.25);
}

typedef struct prelu {
    am_block base;
    am_param *alpha;
} prelu;

static am_array *prelu_forward(am_block *self, am_array *const *in, int n_in)
{
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *alpha = am_param_value(((prelu *)self)->alpha);
    return alpha ? am_leaky_relu(in[0], alpha, "prelu", 0.25) : NULL;
}

static const am_block_class prelu_class = {
    .name = "PReLU", .size = sizeof(prelu), .forward = prelu_forward, .flags = AM_BLOCK_BUILTIN};

am_block *am_prelu(const am_prelu_opts *opts)
{
    static const am_prelu_opts defaults;
    static const am_init quarter = {.kind = AM_INIT_CONSTANT, .value = 0.25};
    const am_prelu_opts *o = opts ? opts : &defaults;
    if (o->in_channels < 0) {
        am_fail(AM_ERR_ARG, "am_prelu: in_channels must not be negative, got %lld",
                (long long)o->in_channels);
        return NULL;
    }
    prelu *p = am_block_new(&prelu_class);
    if (!p) return NULL;
    p->alpha = am_block_param(&p->base, "alpha", AM_SHAPE(o->in_channels ? o->in_channels : 1),
                              am_layer_init_or(&o->alpha_init, &quarter));
    return p->alpha ? &p->base : am_layer_fail(&p->base);
}

typedef struct swish {
    am_block base;
    double beta;
} swish;

static am_array *swish_forward(am_block *self, am_array *const *in, int n_in)
{
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *x = in[0];
    return am_elemwise_mul(x, am_sigmoid(am_mul_scalar(x, ((swish *)self)->beta)));
}

static const am_block_class swish_class = {
    .name = "Swish", .size = sizeof(swish), .forward = swish_forward, .flags = AM_BLOCK_BUILTIN};

am_block *am_swish(double beta)
{
    if (beta != beta) {
        am_fail(AM_ERR_ARG, "am_swish: beta is NaN");
        return NULL;
    }
    swish *s = am_block_new(&swish_class);
    if (s) s->beta = beta;
    return s ? &s->base : NULL;
}

/* ---- Lambda ---------------------------------------------------------------------------------- */

typedef struct lambda {
    am_block base;
    am_lambda_fn fn;
    void *ctx;
} lambda;

static am_array *lambda_forward(am_block *self, am_array *const *in, int n_in)
{
    lambda *l = (lambda *)self;
    am_array *y = l->fn(in, n_in, l->ctx);
    if (!y && am_last_status() == AM_OK)
        am_fail(AM_ERR_ARG, "Lambda: the function returned NULL without reporting an error");
    return y;
}

/* Not AM_BLOCK_BUILTIN: the nodes a user function makes carry its own lines. */
static const am_block_class lambda_class = {
    .name = "Lambda", .size = sizeof(lambda), .forward = lambda_forward};

am_block *am_lambda(am_lambda_fn fn, void *ctx)
{
    if (!fn) {
        am_fail(AM_ERR_ARG, "am_lambda: the function is NULL");
        return NULL;
    }
    lambda *l = am_block_new(&lambda_class);
    if (!l) return NULL;
    l->fn = fn;
    l->ctx = ctx;
    return &l->base;
}

/* ---- Sequential and Concatenate -------------------------------------------------------------- */

static int sequential_forward(am_block *self, am_array *const *in, int n_in, am_array **out,
                              int cap)
{
    int n_children = am_block_num_children(self), n = n_in;
    if (n_children == 0) { /* the identity, as copies: out must be new values */
        if (n_in > cap) {
            am_fail(AM_ERR_ARG, "Sequential: %d inputs, room for %d outputs", n_in, cap);
            return -1;
        }
        for (int i = 0; i < n_in; i++)
            if (!(out[i] = am_copy(in[i]))) return -1;
        return n_in;
    }
    am_array *buf[2][AM_BLOCK_MAX_IO];
    am_array *const *cur = in;
    for (int i = 0; i < n_children && n >= 0; i++) {
        bool last = i == n_children - 1;
        am_array **dst = last ? out : buf[i % 2];
        n = am_block_forward(am_block_child(self, i), cur, n, dst, last ? cap : AM_BLOCK_MAX_IO);
        cur = dst;
    }
    return n;
}

static const am_block_class sequential_class = {
    .name = "Sequential", .size = sizeof(am_block), .forward_n = sequential_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_sequential(void)
{
    return am_block_new(&sequential_class);
}

typedef struct concatenate {
    am_block base;
    int axis;
} concatenate;

static am_array *concatenate_forward(am_block *self, am_array *const *in, int n_in)
{
    int n = am_block_num_children(self);
    if (n < 1 || n > AM_MAX_OP_IO) {
        am_fail(AM_ERR_ARG, "Concatenate: has %d children, needs 1 to %d", n, AM_MAX_OP_IO);
        return NULL;
    }
    am_array *parts[AM_MAX_OP_IO];
    for (int i = 0; i < n; i++)
        if (!(parts[i] = am_block_call_at(am_block_child(self, i), in, n_in, AM_HERE)))
            return NULL;
    return am_concat(parts, n, ((concatenate *)self)->axis);
}

static const am_block_class concatenate_class = {
    .name = "Concatenate", .size = sizeof(concatenate), .forward = concatenate_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_concatenate(int axis)
{
    concatenate *c = am_block_new(&concatenate_class);
    if (c) c->axis = axis;
    return c ? &c->base : NULL;
}

am_block *am_sequential_add(am_block *container, am_block *child)
{
    if (!child) return NULL; /* a failed constructor: keep its error */
    if (!container || (container->cls != &sequential_class &&
                       container->cls != &concatenate_class)) {
        am_fail(AM_ERR_ARG, "am_sequential_add: the container is %s, not a Sequential or "
                "Concatenate", container ? am_block_type(container) : "NULL");
        am_block_release(child);
        return NULL;
    }
    char name[24];
    snprintf(name, sizeof(name), "%d", am_block_num_children(container));
    return am_block_add(container, name, child);
}
