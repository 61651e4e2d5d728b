/* The workloads of `amber bench blocks` and `amber bench models`: blocks
 * written as a user writes them, over the ops (MLP, LeNet, an LSTM cell loop,
 * a transformer layer) or over the layers (the ResNets). */
#include <amber/amber.h>

#include "bench_workloads.h"

/* ---- workloads: blocks written over the ops, as a user writes them ----------------- */

typedef struct model {
    am_block base;
    int kind;
    am_param *p[16];
    int64_t steps, hidden;
} model;

static am_array *P(model *m, int i) { return am_param_value(m->p[i]); }

static am_array *mlp_fwd(model *m, am_array *x)
{
    am_array *h = am_relu(am_fully_connected(x, P(m, 0), P(m, 1), 256, false, true));
    h = am_relu(am_fully_connected(h, P(m, 2), P(m, 3), 256, false, true));
    return am_fully_connected(h, P(m, 4), P(m, 5), 10, false, true);
}

static am_array *lenet_fwd(model *m, am_array *x)
{
    const int64_t k5[] = {5, 5}, k2[] = {2, 2};
    am_array *h = am_relu(am_convolution(x, P(m, 0), P(m, 1), 2, k5, NULL, NULL, NULL, 6, 1));
    h = am_pooling(h, "max", k2, k2, NULL, 2, false, NULL, 0, true);
    h = am_relu(am_convolution(h, P(m, 2), P(m, 3), 2, k5, NULL, NULL, NULL, 16, 1));
    h = am_pooling(h, "max", k2, k2, NULL, 2, false, NULL, 0, true);
    h = am_relu(am_fully_connected(h, P(m, 4), P(m, 5), 120, false, true));
    h = am_relu(am_fully_connected(h, P(m, 6), P(m, 7), 84, false, true));
    return am_fully_connected(h, P(m, 8), P(m, 9), 10, false, true);
}

/* An LSTM written as a loop over time of primitive ops, a linear head on
 * the last state: x (T, N, I). */
static am_array *lstm_fwd(model *m, am_array *x)
{
    int64_t n = am_array_dim(x, 1), hdim = m->hidden;
    am_array *h = am_zeros(AM_SHAPE(n, hdim), AM_DTYPE_FLOAT32), *c = h;
    am_array *wi = P(m, 0), *bi = P(m, 1), *wh = P(m, 2), *bh = P(m, 3);
    for (int64_t t = 0; t < m->steps; t++) {
        am_array *xt = am_reshape(am_slice_axis(x, 0, t, t + 1), AM_SHAPE(n, -1));
        am_array *g = am_add(am_fully_connected(xt, wi, bi, 4 * hdim, false, true),
                             am_fully_connected(h, wh, bh, 4 * hdim, false, true));
        am_array *i = am_sigmoid(am_slice_axis(g, 1, 0, hdim));
        am_array *f = am_sigmoid(am_slice_axis(g, 1, hdim, 2 * hdim));
        am_array *u = am_tanh(am_slice_axis(g, 1, 2 * hdim, 3 * hdim));
        am_array *o = am_sigmoid(am_slice_axis(g, 1, 3 * hdim, 4 * hdim));
        c = am_add(am_mul(f, c), am_mul(i, u));
        h = am_mul(o, am_tanh(c));
    }
    return am_fully_connected(h, P(m, 4), P(m, 5), 10, false, true);
}

/* One post-norm transformer encoder layer (d 256, 4 heads, ff 1024, GELU),
 * then the mean over time and a linear head: x (N, T, D). */
static am_array *transformer_fwd(model *m, am_array *x)
{
    int64_t n = am_array_dim(x, 0), t = am_array_dim(x, 1), d = 256, heads = 4, dh = d / heads;
    am_array *qkv = am_fully_connected(x, P(m, 0), P(m, 1), 3 * d, false, false);
    am_array *part[3];
    const int perm[] = {0, 2, 1, 3};
    for (int k = 0; k < 3; k++) {
        am_array *s = am_slice_axis(qkv, 2, k * d, (k + 1) * d);
        s = am_transpose(am_reshape(s, AM_SHAPE(n, t, heads, dh)), perm, 4);
        part[k] = am_reshape(s, AM_SHAPE(n * heads, t, dh));
    }
    am_array *att = am_softmax(am_mul_scalar(am_batch_dot(part[0], part[1], false, true),
                                             1.0 / 8.0), -1);
    am_array *ctx = am_reshape(am_batch_dot(att, part[2], false, false), AM_SHAPE(n, heads, t, dh));
    ctx = am_reshape(am_transpose(ctx, perm, 4), AM_SHAPE(n, t, d));
    am_array *y = am_layer_norm(am_add(x, am_fully_connected(ctx, P(m, 2), P(m, 3), d, false, false)),
                                P(m, 4), P(m, 5), -1, 1e-5);
    am_array *ff = am_leaky_relu(am_fully_connected(y, P(m, 6), P(m, 7), 1024, false, false), NULL,
                                 "gelu", 0.25);
    y = am_layer_norm(am_add(y, am_fully_connected(ff, P(m, 8), P(m, 9), d, false, false)),
                      P(m, 10), P(m, 11), -1, 1e-5);
    return am_fully_connected(am_mean(y, (int[]){1}, 1, false), P(m, 12), P(m, 13), 10, false, true);
}

static am_array *model_forward(am_block *self, am_array *const *in, int n_in)
{
    model *m = (model *)self;
    (void)n_in;
    switch (m->kind) {
    case MLP: return mlp_fwd(m, in[0]);
    case LENET: return lenet_fwd(m, in[0]);
    case LSTM: return lstm_fwd(m, in[0]);
    case TRANSFORMER: return transformer_fwd(m, in[0]);
    default: return am_relu(in[0]);
    }
}

static const am_block_class model_class = {"BenchModel", sizeof(model), .forward = model_forward};

/* ---- ResNets over the layers ----------------------------------------------------------- */

/* A basic residual block (ResNet v1): conv3x3-BN-ReLU-conv3x3-BN, plus the
 * input (through a 1x1 conv and BN where the shape changes), then ReLU. */
typedef struct basic_block {
    am_block base;
    am_block *body, *down;
} basic_block;

static am_array *basic_forward(am_block *self, am_array *const *in, int n_in)
{
    (void)n_in;
    basic_block *b = (basic_block *)self;
    am_array *skip = b->down ? am_block_call(b->down, in[0]) : in[0];
    return am_relu(am_add(am_block_call(b->body, in[0]), skip));
}

static const am_block_class basic_class = {"BasicBlock", sizeof(basic_block),
                                           .forward = basic_forward};

static am_block *conv_bn(am_block *seq, int64_t channels, int64_t k, int64_t stride, bool relu)
{
    am_conv_opts o = {.strides = AM_SHAPE(stride, stride), .padding = AM_SHAPE(k / 2, k / 2),
                      .no_bias = true};
    am_sequential_add(seq, am_conv2d(channels, AM_SHAPE(k, k), &o));
    am_sequential_add(seq, am_batch_norm_layer(NULL));
    if (relu) am_sequential_add(seq, am_activation_layer("relu"));
    return seq;
}

static am_block *basic(int64_t channels, int64_t stride, bool downsample)
{
    basic_block *b = am_block_new(&basic_class);
    am_block *body = am_sequential();
    conv_bn(body, channels, 3, stride, true);
    conv_bn(body, channels, 3, 1, false);
    b->body = am_block_add(&b->base, "body", body);
    if (downsample) b->down = am_block_add(&b->base, "downsample", conv_bn(am_sequential(), channels, 1, stride, false));
    return &b->base;
}

/* Stages of two basic blocks each; the first block of a stage strides 2
 * (but the first stage's) and projects the input. */
static am_block *resnet(const int64_t *widths, int n_stages, bool imagenet)
{
    am_block *net = am_sequential();
    if (imagenet) {
        conv_bn(net, widths[0], 7, 2, true);
        am_sequential_add(net, am_max_pool2d(&(am_pool_opts){.pool_size = AM_SHAPE(3, 3),
                                                             .strides = AM_SHAPE(2, 2),
                                                             .padding = AM_SHAPE(1, 1)}));
    } else {
        conv_bn(net, widths[0], 3, 1, true);
    }
    for (int s = 0; s < n_stages; s++) {
        int64_t stride = s == 0 ? 1 : 2;
        am_sequential_add(net, basic(widths[s], stride, s > 0));
        am_sequential_add(net, basic(widths[s], 1, false));
    }
    am_sequential_add(net, am_global_avg_pool2d());
    am_sequential_add(net, am_dense(imagenet ? 1000 : 10, NULL));
    return net;
}

am_block *bench_model(bench_kind kind)
{
    if (kind == RESNET_SMALL || kind == RESNET18) {
        am_block *net = kind == RESNET18 ? resnet((const int64_t[]){64, 128, 256, 512}, 4, true)
                                         : resnet((const int64_t[]){16, 32, 64}, 3, false);
        am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 2});
        return net;
    }
    static const char *const names[] = {"w0", "b0", "w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4",
                                        "w5", "b5", "w6", "b6"};
    static const int counts[] = {6, 10, 6, 14, 0};
    model *m = am_block_new(&model_class);
    m->kind = kind;
    m->steps = 32;
    m->hidden = 256;
    am_init one = am_init_one(), zero = am_init_zero();
    for (int i = 0; i < counts[kind]; i++) {
        bool gamma = kind == TRANSFORMER && (i == 4 || i == 10), beta = kind == TRANSFORMER && (i == 5 || i == 11);
        /* Biases and LayerNorm's beta are vectors; weights are inferred. */
        am_shape s = (i % 2 && !gamma) || beta ? AM_SHAPE(0) : AM_SHAPE(0, 0);
        if (gamma) s = AM_SHAPE(0);
        if (kind == LENET && (i == 0 || i == 2)) s = AM_SHAPE(0, 0, 0, 0);
        m->p[i] = am_block_param(&m->base, names[i], s, gamma ? &one : (i % 2 || beta) ? &zero : NULL);
    }
    am_block_initialize(&m->base, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});
    return &m->base;
}

