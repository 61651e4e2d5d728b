/* What ndarray/ops/optimizer2.c and optimizer_multi.c share: storing under a request,
 * clipping, the shape and dtype checks of weight-shaped inputs, and the LAMB and AdamW
 * element steps. */
#ifndef AMBER_OPTIMIZER2_IMPL_H
#define AMBER_OPTIMIZER2_IMPL_H

#include "../ndarray_impl.h"

#include <math.h>
#include <string.h>

#define STORE(req, out, i, v)                                            \
    do {                                                                 \
        if ((req) == AM_REQ_ADD) (out)[i] += (v);                        \
        else if ((req) != AM_REQ_NULL) (out)[i] = (v);                   \
    } while (0)

/* x clipped to [-c, c]; c < 0 means no clipping (MXNet's -1). */
#define CLIP(x, c) ((c) < 0 ? (x) : (x) > (c) ? (c) : (x) < -(c) ? -(c) : (x))
#define SIGN(x) (((x) > 0) - ((x) < 0))

/* ---- shapes and dtypes of the one-weight ops --------------------------------------------- */

/* Inputs [first, first + n) share one shape (unknown ones are filled in); out, when not
 * NULL, gets it.  Inputs whose bit is in scalar_mask hold one element instead. */
static inline am_status same_shapes(const char *const *names, unsigned scalar_mask, am_shape *in,
                             int first, int n, am_shape *out)
{
    int known = -1;
    for (int i = first; i < first + n && known < 0; i++)
        if (!(scalar_mask >> (i - first) & 1) && in[i].ndim >= 0) known = i;
    if (known < 0) return am_fail(AM_ERR_SHAPE, "the weight's shape is unknown");
    for (int i = first; i < first + n; i++) {
        char a[96], b[96];
        const char *nm = names[i - first];
        if (scalar_mask >> (i - first) & 1) {
            if (in[i].ndim < 0) in[i] = am_shape_make(1, (int64_t[]){1});
            if (am_shape_size(&in[i]) != 1)
                return am_fail(AM_ERR_SHAPE, "%s %s must hold one element", nm,
                               am_shape_format(&in[i], a, sizeof(a)));
            continue;
        }
        if (in[i].ndim < 0) in[i] = in[known];
        if (!am_shape_equal(in[i], in[known]))
            return am_fail(AM_ERR_SHAPE, "%s %s does not match %s %s", nm,
                           am_shape_format(&in[i], a, sizeof(a)), names[known - first],
                           am_shape_format(&in[known], b, sizeof(b)));
    }
    if (out) *out = in[known];
    return AM_OK;
}

/* Inputs [first, first + n) share one float dtype (float32 or float64); out gets it. */
static inline am_status same_dtypes(const char *const *names, am_dtype *in, int first, int n,
                             am_dtype *out)
{
    if (in[first] != AM_DTYPE_FLOAT32 && in[first] != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s is %s (float32 or float64 only)", names[0],
                       am_dtype_name(in[first]));
    for (int i = first + 1; i < first + n; i++)
        if (in[i] != in[first])
            return am_fail(AM_ERR_DTYPE, "%s is %s but %s is %s", names[i - first],
                           am_dtype_name(in[i]), names[0], am_dtype_name(in[first]));
    if (out) *out = in[first];
    return AM_OK;
}

#define INFER1(id, mask)                                                                    \
    static am_status id##_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(attrs), AM_UNUSED(n_out);                                                 \
        return same_shapes(names_##id, (mask), in, 0, n_in, out);                           \
    }                                                                                       \
    static am_status id##_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(attrs), AM_UNUSED(n_out);                                                 \
        return same_dtypes(names_##id, in, 0, n_in, out);                                   \
    }

#define KERNEL(id)                                                                          \
    static am_status id##_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                              int n_in, const am_view *out, int n_out, const am_req *req)

#define KERNEL_PROLOGUE(type)                                                               \
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);                                      \
    const type *a = attrs;                                                                  \
    int64_t n = am_view_size(&in[0])

static const am_inplace_pair weight_inplace[] = {{0, 0}, {-1, -1}};

#define DOC_LR "learning rate"
#define DOC_WD "weight decay: adds wd * weight to the gradient"
#define DOC_RG "multiplies the gradient first"
#define DOC_CG "clips the rescaled gradient to [-c, c]; -1: no clipping"
#define DOC_LAZY "row_sparse gradients only (no effect on dense arrays)"

#define OPT_DEF(sym, nm, id, aux)                                                           \
    .name = nm, .input_names = names_##id, .num_outputs = 1, .num_aux = aux,                \
    .attrs = id##_fields, .attrs_size = sizeof(id##_attrs), .infer_shape = id##_shape,      \
    .infer_dtype = id##_dtype, .cpu = id##_cpu, .inplace = weight_inplace,                  \
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD

/* One LAMB phase-1 direction: mean and var updated, d = mean' / (sqrt(var') + eps) + wd * w. */
#define LAMB1(T, b1, b2, eps, wd, rg, cg, c1, c2, gi, wi, mean, var, d)                     \
    do {                                                                                    \
        T gg_ = CLIP((rg) * (gi), (cg));                                                    \
        (mean) = (b1) * (mean) + (1 - (b1)) * gg_;                                          \
        (var) = (b2) * (var) + (1 - (b2)) * gg_ * gg_;                                      \
        (d) = ((mean) / (c1)) / (sqrt((var) / (c2)) + (eps)) + (wd) * (wi);                 \
    } while (0)

/* LAMB's trust ratio: r1 clipped to the bounds (negative: none) over r2; 1 if either is 0. */
static inline double lamb_ratio(double r1, double r2, double lower, double upper)
{
    if (lower >= 0 && r1 < lower) r1 = lower;
    if (upper >= 0 && r1 > upper) r1 = upper;
    return r1 == 0 || r2 == 0 ? 1 : r1 / r2;
}

typedef struct mpadamw_attrs {
    double lr, beta1, beta2, epsilon, wd, eta, clip_gradient;
} mpadamw_attrs;

/* One AdamW step of element i on w (the master copy): mean, var and w in place. */
#define ADAMW(T, a, rg, g, mean, var, w)                                                    \
    do {                                                                                    \
        T gg_ = CLIP((rg) * (g), (T)(a)->clip_gradient);                                    \
        (mean) = (T)(a)->beta1 * (mean) + (1 - (T)(a)->beta1) * gg_;                        \
        (var) = (T)(a)->beta2 * (var) + (1 - (T)(a)->beta2) * gg_ * gg_;                    \
        (w) -= (T)(a)->eta * ((T)(a)->lr * (mean) / (sqrt(var) + (T)(a)->epsilon) +        \
                              (T)(a)->wd * (w));                                            \
    } while (0)

#endif /* AMBER_OPTIMIZER2_IMPL_H */
