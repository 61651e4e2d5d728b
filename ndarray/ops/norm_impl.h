/* Helpers shared by the normalization family (norm.c, norm_group.c): shape and dtype
 * checks with messages that name the inputs, and the store macro for am_req. */
#ifndef AMBER_NORM_IMPL_H
#define AMBER_NORM_IMPL_H

#include "../ndarray_impl.h"

#include <math.h>

/* BatchNorm's attributes (norm.c); SyncBatchNorm and BatchNormWithReLU (norm_variants.c)
 * run BatchNorm's kernel and gradient with them. */
typedef struct batch_norm_attrs {
    double eps, momentum;
    bool fix_gamma, use_global_stats, output_mean_var;
    int64_t axis;
    bool cudnn_off;
    am_opt_float min_calib_range, max_calib_range;
} batch_norm_attrs;

#define NORM_TILE 256
#define STORE(dst, i, v, req) ((dst)[i] = (req) == AM_REQ_ADD ? (dst)[i] + (v) : (v))
#define MIN64(a, b) ((a) < (b) ? (a) : (b))

/* Input i must be the vector (n,) (filled in when unknown); why says what n is. */
static inline am_status vector_input(am_shape *in, int i, const char *name, int64_t n,
                                      const char *why)
{
    char b1[96], b2[96], b3[96];
    am_shape want = {.ndim = 1, .dim = {n}};
    if (in[i].ndim < 0) in[i] = want;
    if (in[i].ndim == 1 && in[i].dim[0] == n) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "%s %s must be %s for data %s (%s)", name,
                   am_shape_format(&in[i], b1, sizeof(b1)), am_shape_format(&want, b2, sizeof(b2)),
                   am_shape_format(&in[0], b3, sizeof(b3)), why);
}

/* Data (input 0) must be known with at least min_ndim axes. */
static inline am_status data_rank(const am_shape *s, int min_ndim, const char *why)
{
    char b[96];
    if (s->ndim < 0) return am_fail(AM_ERR_SHAPE, "data shape is unknown");
    if (s->ndim < min_ndim)
        return am_fail(AM_ERR_SHAPE, "data %s must have at least %d axes (%s)",
                       am_shape_format(s, b, sizeof(b)), min_ndim, why);
    return AM_OK;
}

static inline bool same_shape(const am_shape *a, const am_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

static inline am_status check_eps(double eps)
{
    return eps >= 0 ? AM_OK : am_fail(AM_ERR_ARG, "eps must be non-negative, got %g", eps);
}

/* Every input has data's dtype (float32 or float64; unknown ones are filled in); so
 * has every output.  names[i] names input i in messages (n_names of them). */
static inline am_status same_float_dtype(const char *const *names, int n_names, am_dtype *in,
                                         int n_in, am_dtype *out, int n_out)
{
    if ((unsigned)in[0] >= AM_DTYPE_COUNT) return am_fail(AM_ERR_DTYPE, "data dtype is unknown");
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    for (int i = 1; i < n_in; i++) {
        if ((unsigned)in[i] >= AM_DTYPE_COUNT) in[i] = in[0];
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "%s is %s but %s is %s",
                           i < n_names ? names[i] : "an input", am_dtype_name(in[i]), names[0],
                           am_dtype_name(in[0]));
    }
    for (int k = 0; k < n_out; k++) out[k] = in[0];
    return AM_OK;
}

#define DEF_DTYPE_FN(fn, ...)                                                                 \
    static am_status fn(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)  \
    {                                                                                         \
        AM_UNUSED(attrs);                                                                     \
        static const char *const names[] = {__VA_ARGS__};                                     \
        int n_names = (int)(sizeof(names) / sizeof(names[0]));                                \
        return same_float_dtype(names, n_names, in, n_in, out, n_out);                        \
    }

static const am_inplace_pair same_slot[] = {{0, 0}, {-1, -1}};

static inline int all_visible3(const void *attrs)
{
    AM_UNUSED(attrs);
    return 3;
}

static inline int one_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

#endif /* AMBER_NORM_IMPL_H */
