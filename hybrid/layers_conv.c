/* Convolution and pooling layers: Conv1D/2D/3D, Conv1D/2D/3DTranspose,
 * Max/AvgPool1D/2D/3D and the global pools, with Gluon's parameter shapes and op attributes. */
#include "layers_impl.h"

/* ---- convolution ------------------------------------------------------------------------ */

typedef struct conv {
    am_block base;
    am_param *weight, *bias; /* bias NULL: use_bias=False */
    am_block *act;           /* the child "act", or NULL */
    int nk;                  /* spatial axes: 1, 2 or 3 */
    bool transpose;          /* Deconvolution */
    int64_t kernel[3], stride[3], pad[3], dilate[3], adj[3];
    int64_t channels, groups;
} conv;

static am_array *conv_forward(am_block *self, am_array *const *in, int n_in)
{
    conv *c = (conv *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *w = am_param_value(c->weight);
    am_array *b = c->bias ? am_param_value(c->bias) : NULL;
    if (!w || (c->bias && !b)) return NULL;
    am_array *y = c->transpose
        ? am_deconvolution(in[0], w, b, c->nk, c->kernel, c->stride, c->pad, c->dilate, c->adj,
                           NULL, c->channels, c->groups)
        : am_convolution(in[0], w, b, c->nk, c->kernel, c->stride, c->pad, c->dilate,
                         c->channels, c->groups);
    return y && c->act ? am_block_call(c->act, y) : y;
}

#define CONV_CLASS(var, name_)                                                      \
    static const am_block_class var = {.name = name_, .size = sizeof(conv),         \
                                       .forward = conv_forward, .flags = AM_BLOCK_BUILTIN}
CONV_CLASS(conv1d_class, "Conv1D");
CONV_CLASS(conv2d_class, "Conv2D");
CONV_CLASS(conv1d_transpose_class, "Conv1DTranspose");
CONV_CLASS(conv2d_transpose_class, "Conv2DTranspose");
CONV_CLASS(conv3d_class, "Conv3D");
CONV_CLASS(conv3d_transpose_class, "Conv3DTranspose");
#undef CONV_CLASS

/* Reads the tuples of opts into c; checks them and the counts. */
static am_status conv_settings(conv *c, const char *fn, am_shape kernel, const am_conv_opts *o)
{
    am_status st;
    if (kernel.ndim == 0)
        return am_fail(AM_ERR_ARG, "%s: kernel_size must have %d entr%s, got none", fn, c->nk,
                       c->nk == 1 ? "y" : "ies");
    if ((st = am_layer_tuple(fn, "kernel_size", kernel, c->nk, 1, 1, c->kernel)) ||
        (st = am_layer_tuple(fn, "strides", o->strides, c->nk, 1, 1, c->stride)) ||
        (st = am_layer_tuple(fn, "padding", o->padding, c->nk, 0, 0, c->pad)) ||
        (st = am_layer_tuple(fn, "dilation", o->dilation, c->nk, 1, 1, c->dilate)))
        return st;
    if (!c->transpose && o->output_padding.ndim != 0)
        return am_fail(AM_ERR_ARG, "%s: output_padding is for transposed convolutions", fn);
    if ((st = am_layer_tuple(fn, "output_padding", o->output_padding, c->nk, 0, 0, c->adj)))
        return st;
    for (int i = 0; i < c->nk; i++)
        if (c->adj[i] >= c->stride[i] && c->adj[i] >= c->dilate[i])
            return am_fail(AM_ERR_ARG, "%s: output_padding %lld must be smaller than strides "
                           "(%lld) or dilation (%lld)", fn, (long long)c->adj[i],
                           (long long)c->stride[i], (long long)c->dilate[i]);
    if (o->groups < 0 || o->in_channels < 0)
        return am_fail(AM_ERR_ARG, "%s: %s must not be negative", fn,
                       o->groups < 0 ? "groups" : "in_channels");
    c->groups = o->groups ? o->groups : 1;
    if (c->channels % c->groups || o->in_channels % c->groups)
        return am_fail(AM_ERR_ARG, "%s: channels (%lld) and in_channels (%lld) must be "
                       "divisible by groups (%lld)", fn, (long long)c->channels,
                       (long long)o->in_channels, (long long)c->groups);
    return AM_OK;
}

/* Weight (channels, in / groups, k...) or, transposed, (in, channels / groups, k...). */
static am_shape conv_weight_shape(const conv *c, int64_t in_channels)
{
    am_shape s = {.ndim = 2 + c->nk};
    s.dim[0] = c->transpose ? in_channels : c->channels;
    s.dim[1] = c->transpose ? c->channels / c->groups : in_channels / c->groups;
    for (int i = 0; i < c->nk; i++) s.dim[2 + i] = c->kernel[i];
    return s;
}

static am_block *new_conv(const am_block_class *cls, const char *fn, int nk, bool transpose,
                          int64_t channels, am_shape kernel, const am_conv_opts *opts)
{
    static const am_conv_opts defaults;
    static const am_init zero = {.kind = AM_INIT_ZERO};
    const am_conv_opts *o = opts ? opts : &defaults;
    if (channels <= 0) {
        am_fail(AM_ERR_ARG, "%s: channels must be positive, got %lld", fn, (long long)channels);
        return NULL;
    }
    if (o->activation && !am_layer_act_name(fn, o->activation)) return NULL;
    conv *c = am_block_new(cls);
    if (!c) return NULL;
    c->nk = nk;
    c->transpose = transpose;
    c->channels = channels;
    if (conv_settings(c, fn, kernel, o) != AM_OK) return am_layer_fail(&c->base);
    c->weight = am_block_param(&c->base, "weight", conv_weight_shape(c, o->in_channels),
                               am_layer_init_or(&o->weight_init, NULL));
    if (c->weight && !o->no_bias)
        c->bias = am_block_param(&c->base, "bias", AM_SHAPE(channels),
                                 am_layer_init_or(&o->bias_init, &zero));
    if (!c->weight || (!o->no_bias && !c->bias)) return am_layer_fail(&c->base);
    c->act = am_layer_add_act(&c->base, fn, o->activation);
    if (o->activation && !c->act) return am_layer_fail(&c->base);
    return &c->base;
}

am_block *am_conv1d(int64_t channels, am_shape kernel_size, const am_conv_opts *opts)
{
    return new_conv(&conv1d_class, "am_conv1d", 1, false, channels, kernel_size, opts);
}

am_block *am_conv2d(int64_t channels, am_shape kernel_size, const am_conv_opts *opts)
{
    return new_conv(&conv2d_class, "am_conv2d", 2, false, channels, kernel_size, opts);
}

am_block *am_conv3d(int64_t channels, am_shape kernel_size, const am_conv_opts *opts)
{
    return new_conv(&conv3d_class, "am_conv3d", 3, false, channels, kernel_size, opts);
}

am_block *am_conv1d_transpose(int64_t channels, am_shape kernel_size, const am_conv_opts *opts)
{
    return new_conv(&conv1d_transpose_class, "am_conv1d_transpose", 1, true, channels,
                    kernel_size, opts);
}

am_block *am_conv2d_transpose(int64_t channels, am_shape kernel_size, const am_conv_opts *opts)
{
    return new_conv(&conv2d_transpose_class, "am_conv2d_transpose", 2, true, channels,
                    kernel_size, opts);
}

am_block *am_conv3d_transpose(int64_t channels, am_shape kernel_size, const am_conv_opts *opts)
{
    return new_conv(&conv3d_transpose_class, "am_conv3d_transpose", 3, true, channels,
                    kernel_size, opts);
}

/* ---- pooling ------------------------------------------------------------------------------ */

typedef struct pool {
    am_block base;
    const char *type;        /* "max" or "avg" */
    int nk;
    int64_t kernel[3], stride[3], pad[3];
    bool global, ceil_mode, count_include_pad;
} pool;

static am_array *pool_forward(am_block *self, am_array *const *in, int n_in)
{
    pool *p = (pool *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    return am_pooling(in[0], p->type, p->kernel, p->stride, p->pad, p->nk, p->global,
                      p->ceil_mode ? "full" : "valid", 0, p->count_include_pad);
}

#define POOL_CLASS(var, name_)                                                      \
    static const am_block_class var = {.name = name_, .size = sizeof(pool),         \
                                       .forward = pool_forward, .flags = AM_BLOCK_BUILTIN}
POOL_CLASS(max_pool1d_class, "MaxPool1D");
POOL_CLASS(max_pool2d_class, "MaxPool2D");
POOL_CLASS(avg_pool1d_class, "AvgPool1D");
POOL_CLASS(avg_pool2d_class, "AvgPool2D");
POOL_CLASS(global_max_pool1d_class, "GlobalMaxPool1D");
POOL_CLASS(global_max_pool2d_class, "GlobalMaxPool2D");
POOL_CLASS(global_avg_pool1d_class, "GlobalAvgPool1D");
POOL_CLASS(global_avg_pool2d_class, "GlobalAvgPool2D");
POOL_CLASS(max_pool3d_class, "MaxPool3D");
POOL_CLASS(avg_pool3d_class, "AvgPool3D");
POOL_CLASS(global_max_pool3d_class, "GlobalMaxPool3D");
POOL_CLASS(global_avg_pool3d_class, "GlobalAvgPool3D");
#undef POOL_CLASS

static am_block *new_pool(const am_block_class *cls, const char *fn, const char *type, int nk,
                          const am_pool_opts *opts)
{
    static const am_pool_opts defaults;
    const am_pool_opts *o = opts ? opts : &defaults;
    bool avg = type[0] == 'a';
    if (o->exclude_pad && !avg) {
        am_fail(AM_ERR_ARG, "%s: exclude_pad is for average pooling", fn);
        return NULL;
    }
    pool *p = am_block_new(cls);
    if (!p) return NULL;
    p->type = type;
    p->nk = nk;
    p->ceil_mode = o->ceil_mode;
    p->count_include_pad = !o->exclude_pad;
    if (am_layer_tuple(fn, "pool_size", o->pool_size, nk, 2, 1, p->kernel) != AM_OK ||
        am_layer_tuple(fn, "padding", o->padding, nk, 0, 0, p->pad) != AM_OK)
        return am_layer_fail(&p->base);
    /* strides default to pool_size (Gluon's strides=None) */
    am_shape kernel = {.ndim = nk};
    for (int i = 0; i < nk; i++) kernel.dim[i] = p->kernel[i];
    if (am_layer_tuple(fn, "strides", o->strides.ndim ? o->strides : kernel, nk, 1, 1,
                       p->stride) != AM_OK)
        return am_layer_fail(&p->base);
    return &p->base;
}

am_block *am_max_pool1d(const am_pool_opts *opts)
{
    return new_pool(&max_pool1d_class, "am_max_pool1d", "max", 1, opts);
}

am_block *am_max_pool2d(const am_pool_opts *opts)
{
    return new_pool(&max_pool2d_class, "am_max_pool2d", "max", 2, opts);
}

am_block *am_max_pool3d(const am_pool_opts *opts)
{
    return new_pool(&max_pool3d_class, "am_max_pool3d", "max", 3, opts);
}

am_block *am_avg_pool1d(const am_pool_opts *opts)
{
    return new_pool(&avg_pool1d_class, "am_avg_pool1d", "avg", 1, opts);
}

am_block *am_avg_pool2d(const am_pool_opts *opts)
{
    return new_pool(&avg_pool2d_class, "am_avg_pool2d", "avg", 2, opts);
}

am_block *am_avg_pool3d(const am_pool_opts *opts)
{
    return new_pool(&avg_pool3d_class, "am_avg_pool3d", "avg", 3, opts);
}

/* Gluon's global pools: kernel, strides 1, padding 0, ceil_mode, global_pool. */
static am_block *new_global_pool(const am_block_class *cls, const char *fn, const char *type,
                                 int nk)
{
    am_pool_opts o = {.pool_size = {.ndim = 1, .dim = {1}}, .ceil_mode = true};
    pool *p = (pool *)new_pool(cls, fn, type, nk, &o);
    if (p) p->global = true;
    return p ? &p->base : NULL;
}

am_block *am_global_max_pool1d(void)
{
    return new_global_pool(&global_max_pool1d_class, "am_global_max_pool1d", "max", 1);
}

am_block *am_global_max_pool2d(void)
{
    return new_global_pool(&global_max_pool2d_class, "am_global_max_pool2d", "max", 2);
}

am_block *am_global_avg_pool1d(void)
{
    return new_global_pool(&global_avg_pool1d_class, "am_global_avg_pool1d", "avg", 1);
}

am_block *am_global_avg_pool2d(void)
{
    return new_global_pool(&global_avg_pool2d_class, "am_global_avg_pool2d", "avg", 2);
}

am_block *am_global_max_pool3d(void)
{
    return new_global_pool(&global_max_pool3d_class, "am_global_max_pool3d", "max", 3);
}

am_block *am_global_avg_pool3d(void)
{
    return new_global_pool(&global_avg_pool3d_class, "am_global_avg_pool3d", "avg", 3);
}
