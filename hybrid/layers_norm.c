/* Normalization layers: BatchNorm (with its running statistics), InstanceNorm,
 * LayerNorm and GroupNorm, with Gluon's parameters and defaults. */
#include "layers_impl.h"

static const am_init init_zero = {.kind = AM_INIT_ZERO};
static const am_init init_one = {.kind = AM_INIT_ONE};

/* Gluon's default epsilon (1e-5) for 0; AM_ERR_ARG naming fn for a negative one. */
static am_status norm_epsilon(const char *fn, double given, double *eps)
{
    if (!(given >= 0))
        return am_fail(AM_ERR_ARG, "%s: epsilon must not be negative, got %g", fn, given);
    *eps = given ? given : 1e-5;
    return AM_OK;
}

/* Registers "gamma" (ones) and "beta" (zeros) of c entries; one that does not
 * learn (scale or center false) gets grad_req NULL, as Gluon's do. */
static am_status add_affine(am_block *b, int64_t c, const am_init *gamma_init,
                            const am_init *beta_init, bool scale, bool center, am_param **gamma,
                            am_param **beta)
{
    *gamma = am_block_param(b, "gamma", AM_SHAPE(c), am_layer_init_or(gamma_init, &init_one));
    *beta = *gamma ? am_block_param(b, "beta", AM_SHAPE(c), am_layer_init_or(beta_init, &init_zero))
                   : NULL;
    if (!*beta) return am_last_status();
    am_status st = AM_OK;
    if (!scale) st = am_param_set_grad_req(*gamma, AM_GRAD_NULL);
    if (!center && st == AM_OK) st = am_param_set_grad_req(*beta, AM_GRAD_NULL);
    return st;
}

static am_status check_channels(const char *fn, int64_t in_channels)
{
    if (in_channels >= 0) return AM_OK;
    return am_fail(AM_ERR_ARG, "%s: in_channels must not be negative, got %lld", fn,
                   (long long)in_channels);
}

/* ---- BatchNorm ------------------------------------------------------------------------------ */

typedef struct batch_norm {
    am_block base;
    am_param *gamma, *beta, *running_mean, *running_var;
    int axis;
    double momentum, eps;
    bool fix_gamma, use_global_stats;
} batch_norm;

static am_array *batch_norm_forward(am_block *self, am_array *const *in, int n_in)
{
    batch_norm *bn = (batch_norm *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *g = am_param_value(bn->gamma), *b = am_param_value(bn->beta);
    am_array *m = am_param_value(bn->running_mean), *v = am_param_value(bn->running_var);
    if (!g || !b || !m || !v) return NULL;
    /* The op updates m and v (its auxiliary states) in training mode. */
    return am_batch_norm(in[0], g, b, m, v, bn->eps, bn->momentum, bn->fix_gamma,
                         bn->use_global_stats, bn->axis);
}

static const am_block_class batch_norm_class = {
    .name = "BatchNorm", .size = sizeof(batch_norm), .forward = batch_norm_forward,
    .flags = AM_BLOCK_BUILTIN};

static am_status batch_norm_stats(batch_norm *bn, int64_t c, const am_batch_norm_opts *o)
{
    bn->running_mean = am_block_param(&bn->base, "running_mean", AM_SHAPE(c),
                                      am_layer_init_or(&o->running_mean_init, &init_zero));
    bn->running_var = bn->running_mean
        ? am_block_param(&bn->base, "running_var", AM_SHAPE(c),
                         am_layer_init_or(&o->running_var_init, &init_one))
        : NULL;
    if (!bn->running_var) return am_last_status();
    am_status st = am_param_set_grad_req(bn->running_mean, AM_GRAD_NULL);
    return st ? st : am_param_set_grad_req(bn->running_var, AM_GRAD_NULL);
}

am_block *am_batch_norm_layer(const am_batch_norm_opts *opts)
{
    static const am_batch_norm_opts defaults;
    const char *fn = "am_batch_norm_layer";
    const am_batch_norm_opts *o = opts ? opts : &defaults;
    double eps = 0;
    if (norm_epsilon(fn, o->epsilon, &eps) != AM_OK || check_channels(fn, o->in_channels))
        return NULL;
    if (!(o->momentum >= 0 && o->momentum <= 1)) {
        am_fail(AM_ERR_ARG, "%s: momentum must be in [0, 1], got %g", fn, o->momentum);
        return NULL;
    }
    batch_norm *bn = am_block_new(&batch_norm_class);
    if (!bn) return NULL;
    bn->axis = o->axis ? o->axis : 1;
    bn->momentum = o->momentum ? o->momentum : 0.9;
    bn->eps = eps;
    bn->fix_gamma = o->no_scale;
    bn->use_global_stats = o->use_global_stats;
    if (add_affine(&bn->base, o->in_channels, &o->gamma_init, &o->beta_init, !o->no_scale,
                   !o->no_center, &bn->gamma, &bn->beta) != AM_OK ||
        batch_norm_stats(bn, o->in_channels, o) != AM_OK)
        return am_layer_fail(&bn->base);
    return &bn->base;
}

/* ---- InstanceNorm ---------------------------------------------------------------------------- */

typedef struct instance_norm {
    am_block base;
    am_param *gamma, *beta;
    int axis;
    double eps;
} instance_norm;

static am_array *instance_norm_forward(am_block *self, am_array *const *in, int n_in)
{
    instance_norm *n = (instance_norm *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *g = am_param_value(n->gamma), *b = am_param_value(n->beta), *x = in[0];
    if (!g || !b) return NULL;
    int axis = n->axis < 0 ? n->axis + am_array_ndim(x) : n->axis;
    if (axis == 1) return am_instance_norm(x, g, b, n->eps);
    /* Gluon moves the channel axis to 1 and back. */
    return am_swap_axis(am_instance_norm(am_swap_axis(x, 1, n->axis), g, b, n->eps), 1, n->axis);
}

static const am_block_class instance_norm_class = {
    .name = "InstanceNorm", .size = sizeof(instance_norm), .forward = instance_norm_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_instance_norm_layer(const am_instance_norm_opts *opts)
{
    static const am_instance_norm_opts defaults;
    const char *fn = "am_instance_norm_layer";
    const am_instance_norm_opts *o = opts ? opts : &defaults;
    double eps = 0;
    if (norm_epsilon(fn, o->epsilon, &eps) != AM_OK || check_channels(fn, o->in_channels))
        return NULL;
    instance_norm *n = am_block_new(&instance_norm_class);
    if (!n) return NULL;
    n->axis = o->axis ? o->axis : 1;
    n->eps = eps;
    if (add_affine(&n->base, o->in_channels, &o->gamma_init, &o->beta_init, o->scale,
                   !o->no_center, &n->gamma, &n->beta) != AM_OK)
        return am_layer_fail(&n->base);
    return &n->base;
}

/* ---- LayerNorm and GroupNorm ----------------------------------------------------------------- */

typedef struct layer_norm {
    am_block base;
    am_param *gamma, *beta;
    int axis;           /* LayerNorm */
    int num_groups;     /* GroupNorm */
    double eps;
} layer_norm;

static am_array *layer_norm_forward(am_block *self, am_array *const *in, int n_in)
{
    layer_norm *n = (layer_norm *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *g = am_param_value(n->gamma), *b = am_param_value(n->beta);
    return g && b ? am_layer_norm(in[0], g, b, n->axis, n->eps) : NULL;
}

static am_array *group_norm_forward(am_block *self, am_array *const *in, int n_in)
{
    layer_norm *n = (layer_norm *)self;
    if (am_layer_check_inputs(self, n_in, 1) != AM_OK) return NULL;
    am_array *g = am_param_value(n->gamma), *b = am_param_value(n->beta);
    return g && b ? am_group_norm(in[0], g, b, n->num_groups, n->eps) : NULL;
}

static const am_block_class layer_norm_class = {
    .name = "LayerNorm", .size = sizeof(layer_norm), .forward = layer_norm_forward,
    .flags = AM_BLOCK_BUILTIN};

static const am_block_class group_norm_class = {
    .name = "GroupNorm", .size = sizeof(layer_norm), .forward = group_norm_forward,
    .flags = AM_BLOCK_BUILTIN};

am_block *am_layer_norm_layer(const am_layer_norm_opts *opts)
{
    static const am_layer_norm_opts defaults;
    const char *fn = "am_layer_norm_layer";
    const am_layer_norm_opts *o = opts ? opts : &defaults;
    double eps = 0;
    if (norm_epsilon(fn, o->epsilon, &eps) != AM_OK || check_channels(fn, o->in_channels))
        return NULL;
    layer_norm *n = am_block_new(&layer_norm_class);
    if (!n) return NULL;
    n->axis = o->axis ? o->axis : -1;
    n->eps = eps;
    if (add_affine(&n->base, o->in_channels, &o->gamma_init, &o->beta_init, !o->no_scale,
                   !o->no_center, &n->gamma, &n->beta) != AM_OK)
        return am_layer_fail(&n->base);
    return &n->base;
}

am_block *am_group_norm_layer(const am_group_norm_opts *opts)
{
    static const am_group_norm_opts defaults;
    const char *fn = "am_group_norm_layer";
    const am_group_norm_opts *o = opts ? opts : &defaults;
    double eps = 0;
    if (norm_epsilon(fn, o->epsilon, &eps) != AM_OK) return NULL;
    if (o->num_groups < 0) {
        am_fail(AM_ERR_ARG, "%s: num_groups must not be negative, got %d", fn, o->num_groups);
        return NULL;
    }
    layer_norm *n = am_block_new(&group_norm_class);
    if (!n) return NULL;
    n->num_groups = o->num_groups ? o->num_groups : 1;
    n->eps = eps;
    if (add_affine(&n->base, n->num_groups, &o->gamma_init, &o->beta_init, !o->no_scale,
                   !o->no_center, &n->gamma, &n->beta) != AM_OK)
        return am_layer_fail(&n->base);
    return &n->base;
}
