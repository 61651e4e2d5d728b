/* Amber's built-in layers: Gluon's nn layers (MXNet 1.x) as blocks, with
 * Gluon's parameter names, shapes, initializers, defaults and op attributes. */
#ifndef AMBER_LAYERS_H
#define AMBER_LAYERS_H

/*
 * Each layer is an ordinary block (hybrid.h) made by one constructor; options
 * come in a struct whose zero value is Gluon's default, NULL meaning all
 * defaults.  Unknown input sizes (in_units, in_channels 0) are inferred at
 * the first call.  Example (runs):
 *
 *     am_array *x = am_random_normal(0, 1, AM_SHAPE(2, 3, 28, 28), AM_DTYPE_FLOAT32);
 *     am_block *net = am_sequential();
 *     am_sequential_add(net, am_conv2d(8, AM_SHAPE(3, 3),
 *                                      &(am_conv_opts){.padding = AM_SHAPE(1),
 *                                                      .activation = "relu"}));
 *     am_sequential_add(net, am_batch_norm_layer(NULL));
 *     am_sequential_add(net, am_max_pool2d(NULL));              // 2x2, stride 2
 *     am_sequential_add(net, am_dense(10, NULL));               // flattens (N, 8, 14, 14)
 *     am_block_initialize(net, NULL);
 *     am_array *y = am_block_call(net, x);                      // x (N, 3, 28, 28) -> (N, 10)
 *     am_block_release(net);
 *
 * The parameters above are "0.weight", "0.bias", "1.gamma", "1.beta",
 * "1.running_mean", "1.running_var", "3.weight" and "3.bias".
 *
 * Tuple options (kernel, strides, padding, ...) are am_shape values: ndim 0
 * means the default, one entry is used for every spatial axis (Gluon's int),
 * otherwise there is one entry per spatial axis.  Every constructor returns
 * a new reference (release it with am_block_release, or hand it to
 * am_block_add or am_sequential_add, which take it over), or NULL with
 * AM_ERR_ARG naming the constructor and the bad argument (AM_ERR_OOM when
 * memory runs out).  A constructor never reads opts after it returns.
 * Layer names that would clash with an op of ops.h end in _layer
 * (am_dropout_layer, am_batch_norm_layer).
 */

#include "hybrid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dense and embedding --------------------------------------------------- */

typedef struct am_dense_opts {
    const char *activation;      /* NULL: none; else a name am_activation_layer takes */
    bool no_bias;                /* Gluon's use_bias=False: no "bias" parameter */
    bool no_flatten;             /* Gluon's flatten=False: act on the last axis only */
    int64_t in_units;            /* 0: inferred from the first input */
    am_init weight_init;         /* kind AM_INIT_DEFAULT: am_block_initialize's initializer */
    am_init bias_init;           /* kind AM_INIT_DEFAULT: zeros */
} am_dense_opts;

/* Dense (nn.Dense): y = activation(x weight^T + bias) through FullyConnected.
 * Parameters "weight" (units, in_units) and "bias" (units,).  With flatten
 * (the default) x (N, ...) is seen as (N, prod(...)); without it, x (..., in)
 * gives (..., units).  An activation becomes the child block "act", as in
 * Gluon.  AM_ERR_ARG: units <= 0, in_units < 0, an unknown activation. */
AM_API am_block *am_dense(int64_t units, const am_dense_opts *opts);

typedef struct am_embedding_opts {
    am_init weight_init;         /* kind AM_INIT_DEFAULT: am_block_initialize's initializer */
} am_embedding_opts;

/* Embedding (nn.Embedding): rows of "weight" (input_dim, output_dim) picked by
 * the indices in x (any shape, float or integer values); the output is x's
 * shape + (output_dim,).  AM_ERR_ARG: a dimension <= 0. */
AM_API am_block *am_embedding_layer(int64_t input_dim, int64_t output_dim,
                                    const am_embedding_opts *opts);

/* ---- convolution ----------------------------------------------------------- */

typedef struct am_conv_opts {
    am_shape strides;            /* ndim 0: 1 */
    am_shape padding;            /* ndim 0: 0, on both sides */
    am_shape dilation;           /* ndim 0: 1 */
    am_shape output_padding;     /* transposed convolutions only (MXNet's adj); ndim 0: 0 */
    int64_t groups;              /* 0: 1 */
    int64_t in_channels;         /* 0: inferred from the first input */
    const char *activation;      /* NULL: none; else a name am_activation_layer takes */
    bool no_bias;                /* Gluon's use_bias=False: no "bias" parameter */
    am_init weight_init;         /* kind AM_INIT_DEFAULT: am_block_initialize's initializer */
    am_init bias_init;           /* kind AM_INIT_DEFAULT: zeros */
} am_conv_opts;

/* Conv1D, Conv2D and Conv3D (nn.Conv1D, nn.Conv2D, nn.Conv3D) over
 * channel-first data (N, C, W), (N, C, H, W) and (N, C, D, H, W) through
 * Convolution.  Parameters "weight" (channels, in_channels / groups, *kernel)
 * and "bias" (channels,); an activation is the child "act".  kernel_size has
 * 1 entry (Conv1D), or 1 or 2 (Conv2D), or 1 or 3 (Conv3D).
 * AM_ERR_ARG: channels <= 0, a kernel of the wrong rank or an entry <= 0,
 * strides or dilation <= 0, padding < 0, channels or in_channels not
 * divisible by groups, output_padding given, an unknown activation. */
AM_API am_block *am_conv1d(int64_t channels, am_shape kernel_size, const am_conv_opts *opts);
AM_API am_block *am_conv2d(int64_t channels, am_shape kernel_size, const am_conv_opts *opts);
AM_API am_block *am_conv3d(int64_t channels, am_shape kernel_size, const am_conv_opts *opts);

/* Conv1DTranspose, Conv2DTranspose and Conv3DTranspose (nn.Conv2DTranspose) through
 * Deconvolution: "weight" is (in_channels, channels / groups, *kernel), and
 * each output size is strides * (in - 1) + dilated kernel - 2 padding +
 * output_padding.  Errors as am_conv2d, and output_padding entries must be
 * smaller than strides or dilation. */
AM_API am_block *am_conv1d_transpose(int64_t channels, am_shape kernel_size,
                                     const am_conv_opts *opts);
AM_API am_block *am_conv2d_transpose(int64_t channels, am_shape kernel_size,
                                     const am_conv_opts *opts);
AM_API am_block *am_conv3d_transpose(int64_t channels, am_shape kernel_size,
                                     const am_conv_opts *opts);

/* ---- pooling ----------------------------------------------------------------- */

typedef struct am_pool_opts {
    am_shape pool_size;          /* ndim 0: 2 */
    am_shape strides;            /* ndim 0: pool_size */
    am_shape padding;            /* ndim 0: 0 */
    bool ceil_mode;              /* output sizes round up (pooling_convention "full") */
    bool exclude_pad;            /* average pooling: Gluon's count_include_pad=False */
} am_pool_opts;

/* MaxPool1D/2D/3D and AvgPool1D/2D/3D (nn.MaxPool2D, ...) through Pooling,
 * on (N, C, W), (N, C, H, W) and (N, C, D, H, W).  No parameters.  AM_ERR_ARG: a tuple of the
 * wrong rank, pool_size or strides <= 0, padding < 0, exclude_pad given to
 * max pooling. */
AM_API am_block *am_max_pool1d(const am_pool_opts *opts);
AM_API am_block *am_max_pool2d(const am_pool_opts *opts);
AM_API am_block *am_avg_pool1d(const am_pool_opts *opts);
AM_API am_block *am_avg_pool2d(const am_pool_opts *opts);
AM_API am_block *am_max_pool3d(const am_pool_opts *opts);
AM_API am_block *am_avg_pool3d(const am_pool_opts *opts);

/* GlobalMaxPool1D/2D/3D and GlobalAvgPool1D/2D/3D: one value per channel,
 * giving (N, C, 1), (N, C, 1, 1) and (N, C, 1, 1, 1).  NULL only with
 * AM_ERR_OOM. */
AM_API am_block *am_global_max_pool1d(void);
AM_API am_block *am_global_max_pool2d(void);
AM_API am_block *am_global_avg_pool1d(void);
AM_API am_block *am_global_avg_pool2d(void);
AM_API am_block *am_global_max_pool3d(void);
AM_API am_block *am_global_avg_pool3d(void);

/* ---- normalization ------------------------------------------------------------- */

typedef struct am_batch_norm_opts {
    int axis;                    /* the channel axis; 0: 1 (write axis 0 as -ndim) */
    double momentum;             /* 0: 0.9 */
    double epsilon;              /* 0: 1e-5 */
    bool no_center;              /* Gluon's center=False: beta stays 0 (grad_req NULL) */
    bool no_scale;               /* Gluon's scale=False: gamma stays 1 (fix_gamma) */
    bool use_global_stats;       /* normalise with the running statistics, also in training */
    int64_t in_channels;         /* 0: inferred from the first input */
    am_init gamma_init;          /* kind AM_INIT_DEFAULT: ones */
    am_init beta_init;           /* kind AM_INIT_DEFAULT: zeros */
    am_init running_mean_init;   /* kind AM_INIT_DEFAULT: zeros */
    am_init running_var_init;    /* kind AM_INIT_DEFAULT: ones */
} am_batch_norm_opts;

/* BatchNorm (nn.BatchNorm) through the BatchNorm op.  Parameters "gamma",
 * "beta", "running_mean" and "running_var", each (in_channels,); the last two
 * have grad_req NULL and are the op's auxiliary states: a call in training
 * mode normalises with the batch statistics and updates them as running =
 * running * momentum + batch * (1 - momentum); other calls use them.
 * AM_ERR_ARG: momentum outside [0, 1], epsilon < 0, in_channels < 0. */
AM_API am_block *am_batch_norm_layer(const am_batch_norm_opts *opts);

typedef struct am_instance_norm_opts {
    int axis;                    /* the channel axis; 0: 1 */
    double epsilon;              /* 0: 1e-5 */
    bool no_center;              /* Gluon's center=False: beta stays 0 (grad_req NULL) */
    bool scale;                  /* Gluon's scale=True: gamma learns (default: stays 1) */
    int64_t in_channels;         /* 0: inferred from the first input */
    am_init gamma_init;          /* kind AM_INIT_DEFAULT: ones */
    am_init beta_init;           /* kind AM_INIT_DEFAULT: zeros */
} am_instance_norm_opts;

/* InstanceNorm (nn.InstanceNorm): each (sample, channel) normalised over the
 * other axes, then gamma * x + beta; "gamma" and "beta" are (in_channels,).
 * Data needs at least 3 axes.  An axis other than 1 is swapped to 1 around
 * the op (SwapAxis), as Gluon does.  AM_ERR_ARG: epsilon < 0, in_channels < 0. */
AM_API am_block *am_instance_norm_layer(const am_instance_norm_opts *opts);

typedef struct am_layer_norm_opts {
    int axis;                    /* the normalised axis; 0: -1 (write axis 0 as -ndim) */
    double epsilon;              /* 0: 1e-5 */
    bool no_center;              /* Gluon's center=False: beta stays 0 (grad_req NULL) */
    bool no_scale;               /* Gluon's scale=False: gamma stays 1 (grad_req NULL) */
    int64_t in_channels;         /* 0: inferred from the first input */
    am_init gamma_init;          /* kind AM_INIT_DEFAULT: ones */
    am_init beta_init;           /* kind AM_INIT_DEFAULT: zeros */
} am_layer_norm_opts;

/* LayerNorm (nn.LayerNorm): normalises along axis, then gamma * x + beta;
 * "gamma" and "beta" are (in_channels,).  AM_ERR_ARG: epsilon < 0,
 * in_channels < 0. */
AM_API am_block *am_layer_norm_layer(const am_layer_norm_opts *opts);

typedef struct am_group_norm_opts {
    int num_groups;              /* 0: 1 */
    double epsilon;              /* 0: 1e-5 */
    bool no_center;              /* Gluon's center=False: beta stays 0 (grad_req NULL) */
    bool no_scale;               /* Gluon's scale=False: gamma stays 1 (grad_req NULL) */
    am_init gamma_init;          /* kind AM_INIT_DEFAULT: ones */
    am_init beta_init;           /* kind AM_INIT_DEFAULT: zeros */
} am_group_norm_opts;

/* GroupNorm (nn.GroupNorm): x (N, C, ...) with C split in num_groups groups,
 * each normalised over its channels and the other axes; "gamma" and "beta"
 * are (num_groups,), as in MXNet 1.x.  AM_ERR_ARG: num_groups < 0,
 * epsilon < 0. */
AM_API am_block *am_group_norm_layer(const am_group_norm_opts *opts);

/* ---- activations and dropout ---------------------------------------------------- */

/* Activation (nn.Activation) with MXNet's act_type: "relu", "sigmoid",
 * "tanh", "softrelu", "softsign", "log_sigmoid" or "mish" (the last two are
 * composed of other ops: Amber's Activation op lacks them).  The name is
 * copied.  AM_ERR_ARG: NULL or another name (the message lists them). */
AM_API am_block *am_activation_layer(const char *activation);

/* LeakyReLU (nn.LeakyReLU): x for x >= 0, alpha * x below.
 * AM_ERR_ARG: alpha < 0. */
AM_API am_block *am_leaky_relu_layer(double alpha);

typedef struct am_prelu_opts {
    int64_t in_channels;         /* 0: 1, one slope shared by every channel */
    am_init alpha_init;          /* kind AM_INIT_DEFAULT: the constant 0.25 */
} am_prelu_opts;

/* PReLU (nn.PReLU): LeakyReLU with a learned slope "alpha" (in_channels,),
 * one per channel (axis 1) or one for all.  AM_ERR_ARG: in_channels < 0. */
AM_API am_block *am_prelu(const am_prelu_opts *opts);

/* ELU (nn.ELU): x for x > 0, alpha * (e^x - 1) below (Gluon's alpha 1.0).
 * AM_ERR_ARG: alpha NaN. */
AM_API am_block *am_elu(double alpha);
/* SELU (nn.SELU): 1.0507 * (x > 0 ? x : 1.6733 * (e^x - 1)). */
AM_API am_block *am_selu(void);
/* GELU (nn.GELU): x * Phi(x), Phi the standard normal CDF (the erf form). */
AM_API am_block *am_gelu(void);
/* Swish (nn.Swish): x * sigmoid(beta * x) (Gluon's beta 1.0).
 * AM_ERR_ARG: beta NaN. */
AM_API am_block *am_swish(double beta);

typedef struct am_dropout_opts {
    am_shape axes;               /* axes that share one mask value; ndim 0: none */
} am_dropout_opts;

/* Dropout (nn.Dropout): in training mode each element (or each slice across
 * axes) is zeroed with probability rate and the rest scaled by 1 / (1 -
 * rate); otherwise the identity.  rate 0 is a copy, as in Gluon.
 * AM_ERR_ARG: rate outside [0, 1). */
AM_API am_block *am_dropout_layer(double rate, const am_dropout_opts *opts);

/* Flatten (nn.Flatten): (N, ...) -> (N, prod(...)). */
AM_API am_block *am_flatten_layer(void);

/* ---- user functions and containers -------------------------------------------------- */

/* The function of a Lambda: called with the block's inputs and ctx; returns
 * one array made by ops (owned by the current scope, as op results are), or
 * NULL after an op or am_fail reported why.  Written with ops only, it is
 * traced like any forward; one that reads values must stay eager
 * (am_block_set_eager). */
typedef am_array *(*am_lambda_fn)(am_array *const *in, int n_in, void *ctx);

/* Lambda and HybridLambda (nn.Lambda): a block running fn(in, n_in, ctx).
 * ctx is borrowed and must outlive the block.  AM_ERR_ARG: fn NULL. */
AM_API am_block *am_lambda(am_lambda_fn fn, void *ctx);

/* Sequential and HybridSequential (nn.HybridSequential): children run one
 * after the other, each on the outputs of the one before (the first on the
 * block's inputs); no children is the identity.  Whether it runs eagerly or
 * as a plan is am_block_hybridize's business. */
AM_API am_block *am_sequential(void);

/* Concatenate and HybridConcatenate (Gluon's HybridConcurrent): every child
 * runs on the block's inputs and their first outputs are concatenated along
 * axis (Concat).  Gluon's default axis is -1; 1 joins the channels of NCHW
 * feature maps.  The block needs at least one child when called. */
AM_API am_block *am_concatenate(int axis);

/* Adds child to a Sequential or Concatenate under the next free name "0",
 * "1", ..., taking over the caller's reference.  Returns child (borrowed,
 * alive as long as container), or NULL: with child's own error when child is
 * NULL (a failed constructor), else AM_ERR_ARG when container is NULL or of
 * another kind (child is released then). */
AM_API am_block *am_sequential_add(am_block *container, am_block *child);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_LAYERS_H */
