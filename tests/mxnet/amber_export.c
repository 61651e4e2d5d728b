/* Models built with Amber's symbol API, run with a plan and exported as MXNet
 * files, for `make check-mxnet`: tests/mxnet/check.py loads each export in
 * real MXNet and compares.  Uses the public API only (include/amber/). */
#include <amber/amber.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 64

/* One model being built: its data input and every parameter, with values. */
typedef struct model {
    const char *name;
    am_array *input;                 /* the value of "data" */
    int n;
    char *names[MAX_PARAMS];
    am_array *values[MAX_PARAMS];    /* owned by the model's scope */
    char err[512];                   /* this program's own complaint, if any */
} model;

static am_array *data_input(model *m, am_shape shape, am_array *value)
{
    m->input = value;
    return am_var("data", shape, AM_DTYPE_FLOAT32);
}

/* A parameter (or auxiliary state) named name with the given value. */
static am_array *param_value(model *m, const char *name, am_array *value)
{
    if (!value || m->n == MAX_PARAMS) return NULL;
    m->names[m->n] = strdup(name);
    m->values[m->n] = value;
    m->n++;
    return am_var(name, am_array_shape(value), AM_DTYPE_FLOAT32);
}

/* Seeded N(0, scale^2) values. */
static am_array *param(model *m, const char *name, am_shape shape, double scale)
{
    return param_value(m, name, am_random_normal(0, scale, shape, AM_DTYPE_FLOAT32));
}

/* "<prefix>_<suffix>" in a static buffer (names are copied by param_value). */
static const char *pname(const char *prefix, const char *suffix)
{
    static char buf[128];
    snprintf(buf, sizeof(buf), "%s_%s", prefix, suffix);
    return buf;
}

static am_array *dense(model *m, am_array *x, const char *name, int64_t in, int64_t out,
                       bool flatten)
{
    am_array *w = param(m, pname(name, "weight"), AM_SHAPE(out, in), 1.0 / sqrt((double)in));
    am_array *b = param(m, pname(name, "bias"), AM_SHAPE(out), 0.1);
    return am_fully_connected(x, w, b, out, false, flatten);
}

/* A 2-D convolution with square kernel k, stride s, pad p, dilation d. */
static am_array *conv(model *m, am_array *x, const char *name, int64_t in, int64_t out,
                      int64_t k, int64_t s, int64_t p, int64_t d, int64_t groups, bool bias)
{
    int64_t kernel[2] = {k, k}, stride[2] = {s, s}, pad[2] = {p, p}, dil[2] = {d, d};
    double fan_in = (double)(in / groups * k * k);
    am_array *w = param(m, pname(name, "weight"), AM_SHAPE(out, in / groups, k, k),
                        sqrt(2.0 / fan_in));
    am_array *b = bias ? param(m, pname(name, "bias"), AM_SHAPE(out), 0.1) : NULL;
    return am_convolution(x, w, b, 2, kernel, stride, pad, dil, out, groups);
}

/* BatchNorm with non-trivial gamma, beta and moving statistics (auxiliary
 * states moving_mean and moving_var, as MXNet names them). */
static am_array *batch_norm(model *m, am_array *x, const char *name, int64_t c, bool fix_gamma)
{
    am_array *g = param_value(m, pname(name, "gamma"),
                              am_random_uniform(0.5, 1.5, AM_SHAPE(c), AM_DTYPE_FLOAT32));
    am_array *b = param(m, pname(name, "beta"), AM_SHAPE(c), 0.2);
    am_array *mm = param(m, pname(name, "moving_mean"), AM_SHAPE(c), 0.2);
    am_array *mv = param_value(m, pname(name, "moving_var"),
                               am_random_uniform(0.5, 1.5, AM_SHAPE(c), AM_DTYPE_FLOAT32));
    return am_batch_norm(x, g, b, mm, mv, 1e-3, 0.9, fix_gamma, false, 1);
}

static am_array *pool(am_array *x, const char *type, int64_t k, int64_t s, int64_t p)
{
    int64_t kernel[2] = {k, k}, stride[2] = {s, s}, pad[2] = {p, p};
    return am_pooling(x, type, kernel, stride, pad, 2, false, NULL, 0, true);
}

static am_array *global_pool(am_array *x, const char *type)
{
    return am_pooling(x, type, NULL, NULL, NULL, 0, true, NULL, 0, true);
}

/* ---- the models ------------------------------------------------------------------ */

/* FullyConnected + Activation (relu, tanh) + softmax. */
static am_array *build_mlp(model *m)
{
    am_array *x = data_input(m, AM_SHAPE(4, 20),
                             am_random_normal(0, 1, AM_SHAPE(4, 20), AM_DTYPE_FLOAT32));
    am_array *h = am_activation(dense(m, x, "fc1", 20, 32, true), "relu");
    h = am_activation(dense(m, h, "fc2", 32, 16, true), "tanh");
    return am_softmax(dense(m, h, "fc3", 16, 10, true), -1);
}

/* Convolution, BatchNorm with fix_gamma False (auxiliary states moving_mean
 * and moving_var), max and global average Pooling, Flatten. */
static am_array *build_convnet(model *m)
{
    am_shape s = AM_SHAPE(2, 3, 16, 16);
    am_array *x = data_input(m, s, am_random_normal(0.3, 1, s, AM_DTYPE_FLOAT32));
    am_array *h = conv(m, x, "conv1", 3, 8, 3, 1, 1, 1, 1, true);
    h = am_relu(batch_norm(m, h, "bn1", 8, false));
    h = pool(h, "max", 2, 2, 0);
    h = conv(m, h, "conv2", 8, 16, 3, 1, 1, 1, 1, false);
    h = am_activation(batch_norm(m, h, "bn2", 16, false), "relu");
    h = am_flatten(global_pool(h, "avg"));
    return dense(m, h, "fc", 16, 10, true);
}

/* BatchNorm with MXNet's default fix_gamma True: gamma holds values that
 * both frameworks must ignore. */
static am_array *build_convnet_fix_gamma(model *m)
{
    am_shape s = AM_SHAPE(2, 3, 8, 8);
    am_array *x = data_input(m, s, am_random_normal(0.3, 1, s, AM_DTYPE_FLOAT32));
    am_array *h = conv(m, x, "conv", 3, 8, 3, 1, 1, 1, 1, true);
    h = am_relu(batch_norm(m, h, "bn", 8, true));
    h = am_flatten(global_pool(h, "max"));
    return dense(m, h, "fc", 8, 10, true);
}

/* Depthwise and dilated convolutions, LeakyReLU, clip (relu6), InstanceNorm,
 * a residual add and a squeeze-and-excitation gate (broadcast_mul). */
static am_array *build_conv_ops(model *m)
{
    am_shape s = AM_SHAPE(2, 4, 8, 8);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    am_array *a = am_leaky_relu(conv(m, x, "dw", 4, 4, 3, 1, 1, 1, 4, true), NULL, "leaky", 0.1);
    a = am_clip(conv(m, a, "pw", 4, 8, 1, 1, 0, 1, 1, true), 0, 6);
    am_array *b = conv(m, x, "dil", 4, 8, 3, 1, 2, 2, 1, false);
    b = am_instance_norm(b, param(m, "in_gamma", AM_SHAPE(8), 0.5),
                         param(m, "in_beta", AM_SHAPE(8), 0.2), 1e-3);
    am_array *h = am_elemwise_add(a, b);
    am_array *g = am_flatten(global_pool(h, "avg"));
    g = am_sigmoid(dense(m, am_relu(dense(m, g, "se1", 8, 2, true)), "se2", 2, 8, true));
    h = am_broadcast_mul(h, am_reshape(g, AM_SHAPE(0, 0, 1, 1)));
    h = am_flatten(pool(h, "max", 2, 2, 0));
    return dense(m, h, "fc", 8 * 4 * 4, 10, true);
}

/* Deconvolution, padded average pooling, Concat, nearest UpSampling,
 * GroupNorm, sum pooling, L2Normalization. */
static am_array *build_upsample_ops(model *m)
{
    am_shape s = AM_SHAPE(2, 4, 8, 8);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    int64_t k4[2] = {4, 4}, s2[2] = {2, 2}, p1[2] = {1, 1};
    am_array *w = param(m, "deconv_weight", AM_SHAPE(4, 6, 4, 4), 0.25);
    am_array *b = param(m, "deconv_bias", AM_SHAPE(6), 0.1);
    am_array *h = am_deconvolution(x, w, b, 2, k4, s2, p1, NULL, NULL, NULL, 6, 1); /* 16x16 */
    h = pool(am_tanh(h), "avg", 3, 2, 1);                                         /* 8x8 */
    h = am_concat(((am_array *[]){x, h}), 2, 1);                                   /* 10 ch */
    h = am_upsampling(h, 2);                                                       /* 16x16 */
    h = am_group_norm(h, param(m, "gn_gamma", AM_SHAPE(2), 0.5),
                      param(m, "gn_beta", AM_SHAPE(2), 0.2), 2, 1e-5);
    h = pool(h, "sum", 4, 4, 0);                                                   /* 4x4 */
    return am_l2_normalization(am_flatten(h), 1e-10, "instance");
}

/* Pre-LayerNorm self-attention block: FullyConnected (flatten False),
 * SliceChannel, Reshape with MXNet's codes, transpose, batch_dot, softmax,
 * Dropout (identity in inference), GELU, residual adds. */
static am_array *heads_of(am_array *t)
{
    t = am_reshape(t, AM_SHAPE(0, 0, 4, -1));                          /* (N, T, H, d) */
    t = am_transpose(t, ((int[]){0, 2, 1, 3}), 4);                     /* (N, H, T, d) */
    return am_reshape(t, AM_SHAPE(-3, -2));                            /* (N*H, T, d) */
}

static am_array *build_attention(model *m)
{
    am_shape s = AM_SHAPE(2, 6, 16);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    am_array *ln = am_layer_norm(x, param(m, "ln1_gamma", AM_SHAPE(16), 0.5),
                                 param(m, "ln1_beta", AM_SHAPE(16), 0.2), -1, 1e-5);
    am_array *qkv[3];
    if (am_split(dense(m, ln, "qkv", 16, 48, false), 3, -1, false, qkv) != AM_OK) return NULL;
    am_array *score = am_batch_dot(heads_of(qkv[0]), heads_of(qkv[1]), false, true);
    am_array *att = am_softmax(am_mul_scalar(score, 0.5), -1);
    am_array *o = am_batch_dot(att, heads_of(qkv[2]), false, false);   /* (N*H, T, d) */
    o = am_reshape(o, AM_SHAPE(-4, -1, 4, 0, 0));
    o = am_reshape(am_transpose(o, ((int[]){0, 2, 1, 3}), 4), AM_SHAPE(0, 0, -3));
    am_array *h = am_elemwise_add(x, am_dropout(dense(m, o, "proj", 16, 16, false), 0.1));
    ln = am_layer_norm(h, param(m, "ln2_gamma", AM_SHAPE(16), 0.5),
                       param(m, "ln2_beta", AM_SHAPE(16), 0.2), -1, 1e-5);
    am_array *f = am_leaky_relu(dense(m, ln, "ffn1", 16, 64, false), NULL, "gelu", 0.25);
    return am_elemwise_add(h, dense(m, f, "ffn2", 64, 16, false));
}

/* The fused RNN op: a 2-layer LSTM over (T, N, I) with begin states as
 * parameters, then a FullyConnected over the last axis. */
static am_array *build_lstm(model *m)
{
    const int64_t T = 5, N = 2, I = 8, H = 12, L = 2;
    am_shape s = AM_SHAPE(T, N, I);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    int64_t np = 4 * H * (I + H + 2) + 4 * H * (H + H + 2);
    am_array *p = param(m, "lstm_parameters", AM_SHAPE(np), 0.3);
    am_array *h0 = param(m, "lstm_h0", AM_SHAPE(L, N, H), 0.5);
    am_array *c0 = param(m, "lstm_c0", AM_SHAPE(L, N, H), 0.5);
    am_array *out[3] = {NULL, NULL, NULL};
    if (am_rnn(x, p, h0, c0, "lstm", H, L, false, false, out) != AM_OK) return NULL;
    return dense(m, out[0], "head", H, 4, false);
}

/* The fused RNN op: a bidirectional GRU with state outputs; the output
 * averaged over time is concatenated with the final states. */
static am_array *build_gru(model *m)
{
    const int64_t T = 5, N = 2, I = 8, H = 6;
    am_shape s = AM_SHAPE(T, N, I);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    am_array *p = param(m, "gru_parameters", AM_SHAPE(2 * 3 * H * (I + H + 2)), 0.3);
    am_array *h0 = param(m, "gru_h0", AM_SHAPE(2, N, H), 0.5);
    am_array *out[3] = {NULL, NULL, NULL};
    if (am_rnn(x, p, h0, NULL, "gru", H, 1, true, true, out) != AM_OK) return NULL;
    am_array *y = am_mean(out[0], ((int[]){0}), 1, false);                   /* (N, 2H) */
    am_array *st = am_reshape(am_swap_axis(out[1], 0, 1), AM_SHAPE(N, 2 * H)); /* (N, 2H) */
    return am_concat(((am_array *[]){y, st}), 2, 1);
}

/* Embedding of integer-valued float indices, reductions (mean, max, sum,
 * norm), unary ops, slice_axis, SwapAxis, expand_dims, tile, broadcasting,
 * Concat. */
static am_array *build_embed_ops(model *m)
{
    am_shape s = AM_SHAPE(3, 5);
    am_array *ids = am_floor(am_random_uniform(0, 10, s, AM_DTYPE_FLOAT32));
    am_array *x = data_input(m, s, ids);
    am_array *e = am_embedding(x, param(m, "embed_weight", AM_SHAPE(10, 8), 1.0), 10, 8);
    int t_axis[1] = {1};
    am_array *a = am_mean(e, t_axis, 1, false);                           /* (3, 8) */
    am_array *b = am_max(e, t_axis, 1, false);
    am_array *c = am_sqrt(am_plus_scalar(am_sum(am_square(e), t_axis, 1, false), 1.0));
    am_array *d = am_activation(am_broadcast_maximum(a, b), "softrelu");
    am_array *n = am_tile(am_norm(e, 2, ((int[]){1, 2}), 2, true), ((int64_t[]){1, 8}), 2);
    n = am_reshape(n, AM_SHAPE(3, 8));
    am_array *sl = am_swap_axis(am_slice_axis(e, 1, 1, 4), 1, 2);        /* (3, 8, 3) */
    sl = dense(m, am_exp(am_mul_scalar(sl, 0.3)), "fc", 24, 8, true);
    am_array *bias = am_expand_dims(param(m, "offset", AM_SHAPE(8), 1.0), 0);
    am_array *parts[] = {a, b, c, d, am_broadcast_sub(sl, bias), n};
    return am_concat(parts, 6, 1);
}

/* 1-D Convolution, ELU, Pooling in 1-D and 2-D with the "full" (ceil)
 * convention, average pooling without the padding in its count, lp pooling. */
static am_array *build_pool_ops(model *m)
{
    am_shape s = AM_SHAPE(2, 3, 11);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    int64_t k3[1] = {3}, s2[1] = {2}, p1[1] = {1};
    am_array *w = param(m, "conv_weight", AM_SHAPE(4, 3, 3), 0.5);
    am_array *h = am_convolution(x, w, param(m, "conv_bias", AM_SHAPE(4), 0.1), 1, k3, s2, p1,
                                 NULL, 4, 1);                                   /* (2, 4, 6) */
    h = am_leaky_relu(h, NULL, "elu", 0.5);
    am_array *a = am_pooling(h, "max", k3, s2, NULL, 1, false, "full", 0, true); /* (2, 4, 3) */
    am_array *b = am_reshape(h, AM_SHAPE(2, 1, 4, 6));
    int64_t k2[2] = {2, 2}, one[2] = {1, 1}, two[2] = {2, 2};
    b = am_pooling(b, "avg", k2, one, one, 2, false, "full", 0, false);         /* (2, 1, 5, 7) */
    b = am_pooling(b, "lp", k2, two, NULL, 2, false, NULL, 2, true);            /* (2, 1, 2, 3) */
    return am_concat(((am_array *[]){am_flatten(a), am_flatten(b)}), 2, 1);
}

/* LeakyReLU (prelu with a learned slope, selu), softmax with a temperature,
 * log_softmax, softsign, where, broadcast_power, slice with steps, argmax,
 * pick, one_hot, take. */
static am_array *build_activation_ops(model *m)
{
    am_shape s = AM_SHAPE(3, 7);
    am_array *x = data_input(m, s, am_random_normal(0, 1, s, AM_DTYPE_FLOAT32));
    am_array *prelu = am_leaky_relu(x, param(m, "prelu_gamma", AM_SHAPE(7), 0.3), "prelu", 0.25);
    am_array *selu = am_leaky_relu(x, NULL, "selu", 0.25);
    am_array *sm = am_softmax_at(x, 1, 2.0, AM_HERE);
    am_array *lsm = am_log_softmax(x, 0);
    am_array *wh = am_where(am_greater_scalar(x, 0), am_exp(x), am_mul_scalar(x, 0.5));
    am_array *pw = am_broadcast_power(am_plus_scalar(am_abs(x), 0.5),
                                      param(m, "power", AM_SHAPE(1, 7), 0.5));
    am_array *sl = am_slice(x, ((int64_t[]){AM_NONE, 1}), ((int64_t[]){AM_NONE, AM_NONE}),
                            ((int64_t[]){1, 2}), 2);                            /* (3, 3) */
    am_array *idx = am_argmax(x, 1, false);                                     /* (3,) */
    am_array *pk = am_expand_dims(am_pick(x, idx, 1), 1);                       /* (3, 1) */
    am_array *tk = am_take(param(m, "table", AM_SHAPE(7, 4), 1.0), idx, 0);     /* (3, 4) */
    am_array *parts[] = {prelu, selu, sm, lsm, wh, pw, am_softsign(x), sl, pk,
                         am_one_hot(idx, 7), tk};
    return am_concat(parts, 11, 1);
}

/* ---- running and writing ---------------------------------------------------------- */

static am_array *find_value(const model *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0) return m->values[i];
    return NULL;
}

/* Adds every listed variable but "data" to l as "<prefix><name>", and binds it. */
static am_status add_params(model *m, am_ndlist *l, am_plan *p, const char *prefix,
                            const char **names, int n)
{
    char key[160];
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "data") == 0) continue;
        am_array *v = find_value(m, names[i]);
        if (!v) {
            snprintf(m->err, sizeof(m->err), "the graph input '%s' has no value", names[i]);
            return AM_ERR_ARG;
        }
        snprintf(key, sizeof(key), "%s%s", prefix, names[i]);
        if (am_ndlist_add(l, key, v) != AM_OK || am_plan_bind(p, names[i], v) != AM_OK)
            return am_last_status();
    }
    return AM_OK;
}

static am_status save(const model *m, const char *dir, const char *suffix, am_graph *g,
                      am_ndlist *l, am_array *x)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s%s", dir, m->name, suffix);
    if (g) return am_graph_save(g, path);
    if (l) return am_ndlist_save(l, path);
    return am_npy_save(path, x);
}

/* Runs y's graph with a plan in inference mode and writes the quadruple
 * <dir>/<name>-symbol.json, -0000.params, -input.npy, -output.npy. */
static am_status export_model(model *m, am_array *y, const char *dir)
{
    const char *args[MAX_PARAMS + 8], *aux[MAX_PARAMS];
    am_status st = AM_ERR_ARG;
    am_array *out;
    int na, nx;
    am_graph *g = y ? am_graph_create(&y, 1) : NULL;
    am_plan *p = g ? am_plan_create(g, &(am_plan_opts){.training = false}) : NULL;
    am_ndlist *l = am_ndlist_create();
    if (!p || !l) goto out;
    na = am_graph_list_arguments(g, args, MAX_PARAMS + 8);
    nx = am_graph_list_auxiliary_states(g, aux, MAX_PARAMS);
    if (na > MAX_PARAMS + 8 || nx > MAX_PARAMS) {
        snprintf(m->err, sizeof(m->err), "more variables than MAX_PARAMS");
        goto out;
    }
    if (na + nx != m->n + 1) {
        snprintf(m->err, sizeof(m->err), "%d parameters made, but the graph has %d arguments "
                 "and %d auxiliary states besides data", m->n, na - 1, nx);
        goto out;
    }
    if ((st = add_params(m, l, p, "arg:", args, na)) != AM_OK) goto out;
    if ((st = add_params(m, l, p, "aux:", aux, nx)) != AM_OK) goto out;
    if ((st = am_plan_bind(p, "data", m->input)) != AM_OK) goto out;
    if ((st = am_plan_run(p)) != AM_OK) goto out;
    out = am_plan_output(p, 0);
    if ((st = save(m, dir, "-symbol.json", g, NULL, NULL)) != AM_OK ||
        (st = save(m, dir, "-0000.params", NULL, l, NULL)) != AM_OK ||
        (st = save(m, dir, "-input.npy", NULL, NULL, m->input)) != AM_OK ||
        (st = save(m, dir, "-output.npy", NULL, NULL, out)) != AM_OK)
        goto out;
    printf("amber_export: %-17s %2d arguments, %d auxiliary states -> %s/%s-*\n", m->name,
           na - 1, nx, dir, m->name);
out:
    am_ndlist_free(l);
    am_plan_release(p);
    am_graph_release(g);
    return st;
}

static const struct {
    const char *name;
    am_array *(*build)(model *m);
} models[] = {
    {"mlp", build_mlp},
    {"convnet", build_convnet},
    {"convnet_fix_gamma", build_convnet_fix_gamma},
    {"conv_ops", build_conv_ops},
    {"upsample_ops", build_upsample_ops},
    {"attention", build_attention},
    {"lstm", build_lstm},
    {"gru", build_gru},
    {"embed_ops", build_embed_ops},
    {"pool_ops", build_pool_ops},
    {"activation_ops", build_activation_ops},
};

/* A failed model leaves <dir>/<name>-error.txt for check.py to report. */
static void write_error(const char *dir, const char *name, const char *msg)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s-error.txt", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", msg);
        fclose(f);
    }
    fprintf(stderr, "amber_export: %s failed: %s\n", name, msg);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);   /* keep stdout and stderr lines in order */
    int failed = 0;
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        model m = {.name = models[i].name};
        am_seed(1000 + i);
        am_scope_begin();
        am_array *y = models[i].build(&m);
        if (export_model(&m, y, argv[1]) != AM_OK || !y) {
            write_error(argv[1], m.name, m.err[0] ? m.err : am_last_error());
            failed++;
        }
        am_scope_end();
        for (int k = 0; k < m.n; k++) free(m.names[k]);
        am_clear_error();
    }
    if (am_debug_live_arrays() != 0) {
        fprintf(stderr, "amber_export: %lld arrays still alive\n",
                (long long)am_debug_live_arrays());
        return 1;
    }
    return failed ? 1 : 0;
}
