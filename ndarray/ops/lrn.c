/* LRN: local response normalization across channels, as MXNet 1.x's nn/lrn.cc, with its
 * hidden second output (the normalizer) and _backward_LRN.  Channel c is divided by
 * (knorm + alpha / nsize * sum of squares over channels [c - nsize/2, c - nsize/2 + nsize))
 * to the power beta; channel-first data of two or more axes. */
#include "../ndarray_impl.h"

#include <math.h>

typedef struct lrn_attrs {
    double alpha, beta, knorm;
    int64_t nsize;
} lrn_attrs;

static const am_attr_field lrn_fields[] = {
    AM_ATTR_FIELD(lrn_attrs, alpha, AM_ATTR_FLOAT, "0.0001", "scale of the sum of squares"),
    AM_ATTR_FIELD(lrn_attrs, beta, AM_ATTR_FLOAT, "0.75", "power of the normalizer"),
    AM_ATTR_FIELD(lrn_attrs, knorm, AM_ATTR_FLOAT, "2", "constant added to the normalizer"),
    AM_ATTR_FIELD(lrn_attrs, nsize, AM_ATTR_INT, NULL, "channels in the window (at least 1)"),
    {0}};

static am_status lrn_check(const lrn_attrs *a, const am_shape *x)
{
    char b[96];
    if (a->nsize < 1)
        return am_fail(AM_ERR_ARG, "nsize=%lld must be at least 1", (long long)a->nsize);
    if (x->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (x->ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s needs a channel axis (N, C, ...)",
                       am_shape_format(x, b, sizeof(b)));
    return AM_OK;
}

static am_status lrn_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = lrn_check(attrs, &in[0]);
    if (st != AM_OK) return st;
    out[0] = out[1] = in[0];
    return AM_OK;
}

/* (batch, channels, inner) of channel-first data. */
typedef struct lrn_geom {
    int64_t n, c, inner, lo; /* window of channel k: [k - lo, k - lo + nsize) */
} lrn_geom;

static lrn_geom lrn_geom_of(const lrn_attrs *a, const am_view *x)
{
    lrn_geom g = {.n = x->dim[0], .c = x->dim[1], .inner = 1, .lo = a->nsize / 2};
    for (int i = 2; i < x->ndim; i++) g.inner *= x->dim[i];
    return g;
}

static inline void store(void *p, am_dtype t, int64_t i, double v, am_req r)
{
    if (t == AM_DTYPE_FLOAT32) {
        float *f = p;
        f[i] = r == AM_REQ_ADD ? f[i] + (float)v : (float)v;
    } else {
        double *d = p;
        d[i] = r == AM_REQ_ADD ? d[i] + v : v;
    }
}

#define LRN_FWD(T)                                                                           \
    do {                                                                                     \
        const T *x = in[0].data;                                                             \
        int64_t n = g.n * g.c * g.inner;                                                     \
        AM_UNUSED(n);                                                                        \
        _Pragma("omp parallel for collapse(2) if (n > AM_OMP_MIN) schedule(static)")         \
        for (int64_t b = 0; b < g.n; b++)                                                    \
            for (int64_t s = 0; s < g.inner; s++) {                                          \
                const T *xs = x + b * g.c * g.inner + s;                                     \
                for (int64_t k = 0; k < g.c; k++) {                                          \
                    double sum = 0;                                                          \
                    int64_t j0 = k - g.lo, j1 = j0 + a->nsize;                               \
                    for (int64_t j = j0 < 0 ? 0 : j0; j < j1 && j < g.c; j++)                \
                        sum += (double)xs[j * g.inner] * xs[j * g.inner];                    \
                    double norm = a->knorm + salpha * sum;                                   \
                    int64_t i = (b * g.c + k) * g.inner + s;                                 \
                    if (req[0] != AM_REQ_NULL)                                               \
                        store(out[0].data, dt, i, xs[k * g.inner] * pow(norm, -a->beta),     \
                              req[0]);                                                       \
                    if (req[1] != AM_REQ_NULL) store(out[1].data, dt, i, norm, req[1]);      \
                }                                                                            \
            }                                                                                \
    } while (0)

static am_status lrn_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const lrn_attrs *a = attrs;
    lrn_geom g = lrn_geom_of(a, &in[0]);
    double salpha = a->alpha / (double)a->nsize;
    am_dtype dt = in[0].dtype;
    AM_FLOAT_SWITCH(dt, T, LRN_FWD(T));
    return AM_OK;
}

/* _backward_LRN (ograd, data, norm): dx_k = g_k norm_k^-beta - 2 beta alpha / nsize x_k
 * sum over the channels j whose window holds k of g_j x_j norm_j^(-beta - 1). */
#define LRN_BWD(T)                                                                           \
    do {                                                                                     \
        const T *gy = in[0].data, *x = in[1].data, *nm = in[2].data;                         \
        int64_t n = g.n * g.c * g.inner;                                                     \
        AM_UNUSED(n);                                                                        \
        _Pragma("omp parallel for collapse(2) if (n > AM_OMP_MIN) schedule(static)")         \
        for (int64_t b = 0; b < g.n; b++)                                                    \
            for (int64_t s = 0; s < g.inner; s++) {                                          \
                int64_t base = b * g.c * g.inner + s;                                        \
                for (int64_t k = 0; k < g.c; k++) {                                          \
                    /* channels j with j - lo <= k < j - lo + nsize */                       \
                    int64_t j0 = k + g.lo - a->nsize + 1, j1 = k + g.lo + 1;                 \
                    double acc = 0;                                                          \
                    for (int64_t j = j0 < 0 ? 0 : j0; j < j1 && j < g.c; j++) {              \
                        int64_t ij = base + j * g.inner;                                     \
                        acc += (double)gy[ij] * x[ij] * pow((double)nm[ij], -a->beta - 1);   \
                    }                                                                        \
                    int64_t ik = base + k * g.inner;                                         \
                    double v = gy[ik] * pow((double)nm[ik], -a->beta) -                      \
                               2 * a->beta * salpha * x[ik] * acc;                           \
                    store(out[0].data, dt, ik, v, req[0]);                                   \
                }                                                                            \
            }                                                                                \
    } while (0)

static am_status lrn_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[96], b1[96];
    am_status st = lrn_check(attrs, &in[1]);
    if (st != AM_OK) return st;
    for (int i = 0; i < 3; i += 2) {
        if (in[i].ndim < 0) in[i] = in[1];
        if (in[i].ndim != in[1].ndim ||
            memcmp(in[i].dim, in[1].dim, sizeof(int64_t) * (size_t)in[1].ndim))
            return am_fail(AM_ERR_SHAPE, "%s %s does not match data %s", i ? "norm" : "ograd",
                           am_shape_format(&in[i], b0, sizeof(b0)),
                           am_shape_format(&in[1], b1, sizeof(b1)));
    }
    out[0] = in[1];
    return AM_OK;
}

static am_status lrn_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const lrn_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    lrn_geom g = lrn_geom_of(a, &in[1]);
    double salpha = a->alpha / (double)a->nsize;
    am_dtype dt = in[1].dtype;
    AM_FLOAT_SWITCH(dt, T, LRN_BWD(T));
    return AM_OK;
}

extern const am_op_def am_op_backward_lrn;

static am_status lrn_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    if (!g->need_grad[0]) return AM_OK;
    am_array *args[3] = {og[0], in[0], out[1]};
    return am_op_call(&am_op_backward_lrn, g->attrs, args, 3, &ig[0], 1, g->at);
}

static int one_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

const am_op_def am_op_lrn = {
    .name = "LRN", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 2,
    .num_visible = one_visible, .attrs = lrn_fields, .attrs_size = sizeof(lrn_attrs),
    .infer_shape = lrn_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = lrn_cpu,
    .gradient = lrn_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Local response normalization across channels: x / (knorm + alpha / nsize * "
           "window sum of x^2)^beta; a hidden second output holds the normalizer."};

const am_op_def am_op_backward_lrn = {
    .name = "_backward_LRN", .input_names = (const char *const[]){"ograd", "data", "norm", NULL},
    .num_outputs = 1, .attrs = lrn_fields, .attrs_size = sizeof(lrn_attrs),
    .infer_shape = lrn_bwd_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = lrn_bwd_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Gradient of LRN from (ograd, data, the normalizer LRN kept)."};

am_array *am_lrn_at(am_array *x, int64_t nsize, double alpha, double beta, double knorm,
                    am_site at)
{
    lrn_attrs a = {.alpha = alpha, .beta = beta, .knorm = knorm, .nsize = nsize};
    am_array *y = NULL;
    am_op_call(&am_op_lrn, &a, &x, 1, &y, 1, at);
    return y;
}
