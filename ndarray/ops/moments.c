/* moments: the mean and the (population) variance of data over the given axes, as MXNet
 * 1.x's nn/moments.cc.  Each output element sums its reduced elements in double, twice
 * (mean, then the squared deviations), so no workspace is needed. */
#include "../ndarray_impl.h"

typedef struct moments_attrs {
    am_tuple axes;
    bool keepdims;
} moments_attrs;

static const am_attr_field moments_fields[] = {
    AM_ATTR_FIELD(moments_attrs, axes, AM_ATTR_TUPLE, "None",
                  "axes to reduce (required: MXNet refuses None and ())"),
    AM_ATTR_FIELD(moments_attrs, keepdims, AM_ATTR_BOOL, "False",
                  "keep the reduced axes as size 1"),
    {0}};

/* red[i]: axis i is reduced. */
static am_status moments_mask(const moments_attrs *a, const am_shape *s, bool *red)
{
    char b[96];
    if (s->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (a->axes.ndim <= 0)
        return am_fail(AM_ERR_ARG, "axes is empty (data %s); MXNet needs every axis listed "
                       "for global moments", am_shape_format(s, b, sizeof(b)));
    for (int i = 0; i < s->ndim; i++) red[i] = false;
    for (int k = 0; k < a->axes.ndim; k++) {
        int ax;
        if ((a->axes.none & (1u << k)) || !am_axis_norm(a->axes.v[k], s->ndim, &ax))
            return am_fail(AM_ERR_ARG, "axes entry %d is out of range for data %s", k,
                           am_shape_format(s, b, sizeof(b)));
        if (red[ax])
            return am_fail(AM_ERR_ARG, "axis %d is listed twice in axes (data %s)", ax,
                           am_shape_format(s, b, sizeof(b)));
        red[ax] = true;
    }
    return AM_OK;
}

static am_status moments_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const moments_attrs *a = attrs;
    bool red[AM_MAX_NDIM];
    am_status st = moments_mask(a, &in[0], red);
    if (st != AM_OK) return st;
    am_shape o = {.ndim = 0};
    for (int i = 0; i < in[0].ndim; i++) {
        if (!red[i]) o.dim[o.ndim++] = in[0].dim[i];
        else if (a->keepdims) o.dim[o.ndim++] = 1;
    }
    if (o.ndim == 0) o = (am_shape){.ndim = 1, .dim = {1}}; /* MXNet 1.x's (1,) */
    out[0] = out[1] = o;
    return AM_OK;
}

/* The kept and the reduced axes of data, each with its sizes and element strides. */
typedef struct moments_geom {
    int nk, nr;
    int64_t kdim[AM_MAX_NDIM], kstr[AM_MAX_NDIM], rdim[AM_MAX_NDIM], rstr[AM_MAX_NDIM];
    int64_t count; /* elements per output */
} moments_geom;

static int64_t offset_of(int64_t i, int n, const int64_t *dim, const int64_t *str)
{
    int64_t off = 0;
    for (int k = n - 1; k >= 0; k--) {
        off += (i % dim[k]) * str[k];
        i /= dim[k];
    }
    return off;
}

#define MOMENTS_LOOP(T)                                                                      \
    do {                                                                                     \
        const T *x = in[0].data;                                                             \
        T *m = out[0].data, *v = out[1].data;                                                \
        AM_OMP_FOR_N                                                                         \
        for (int64_t o = 0; o < no; o++) {                                                   \
            const T *p = x + offset_of(o, g.nk, g.kdim, g.kstr);                             \
            double s = 0, q = 0;                                                             \
            for (int64_t r = 0; r < g.count; r++) s += p[offset_of(r, g.nr, g.rdim, g.rstr)]; \
            double mean = s / (double)g.count;                                               \
            for (int64_t r = 0; r < g.count; r++) {                                          \
                double d = p[offset_of(r, g.nr, g.rdim, g.rstr)] - mean;                     \
                q += d * d;                                                                  \
            }                                                                                \
            double var = q / (double)g.count;                                                \
            if (req[0] == AM_REQ_ADD) m[o] += (T)mean;                                       \
            else if (req[0] != AM_REQ_NULL) m[o] = (T)mean;                                  \
            if (req[1] == AM_REQ_ADD) v[o] += (T)var;                                        \
            else if (req[1] != AM_REQ_NULL) v[o] = (T)var;                                   \
        }                                                                                    \
    } while (0)

static am_status moments_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const am_view *x = &in[0];
    bool red[AM_MAX_NDIM];
    am_shape xs = {.ndim = x->ndim};
    memcpy(xs.dim, x->dim, sizeof(int64_t) * (size_t)x->ndim);
    am_status st = moments_mask(attrs, &xs, red);
    if (st != AM_OK) return st;
    moments_geom g = {.count = 1};
    for (int i = 0; i < x->ndim; i++) {
        if (red[i]) {
            g.rdim[g.nr] = x->dim[i], g.rstr[g.nr++] = x->strides[i];
            g.count *= x->dim[i];
        } else {
            g.kdim[g.nk] = x->dim[i], g.kstr[g.nk++] = x->strides[i];
        }
    }
    /* An empty reduction gives NaN (0 / 0), as MXNet's mean of nothing does. */
    int64_t no = am_view_size(&out[0]), n = no * (g.count ? g.count : 1);
    AM_UNUSED(n); /* read only by OpenMP */
    AM_FLOAT_SWITCH(x->dtype, T, MOMENTS_LOOP(T));
    return AM_OK;
}

/* d/dx = og_mean / N + og_var * 2 (x - mean) / N, with the outputs' gradients reshaped to
 * keep the reduced axes so that they broadcast against x. */
static am_status moments_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    const moments_attrs *a = g->attrs;
    if (!g->need_grad[0]) return AM_OK;
    am_shape xs = am_array_shape(in[0]), ks = xs;
    bool red[AM_MAX_NDIM];
    am_status st = moments_mask(a, &xs, red);
    if (st != AM_OK) return st;
    int64_t count = 1;
    for (int i = 0; i < xs.ndim; i++)
        if (red[i]) ks.dim[i] = 1, count *= xs.dim[i];
    double inv = count ? 1.0 / (double)count : 0.0;
    am_array *gm = am_reshape_at(og[0], ks, false, g->at);
    am_array *gv = am_reshape_at(og[1], ks, false, g->at);
    am_array *mean = am_reshape_at(out[0], ks, false, g->at);
    am_array *dev = am_broadcast_sub_at(in[0], mean, g->at);
    am_array *t = am_broadcast_mul_at(dev, am_mul_scalar_at(gv, 2 * inv, g->at), g->at);
    ig[0] = am_broadcast_add_at(t, am_mul_scalar_at(gm, inv, g->at), g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_moments = {
    .name = "moments", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 2,
    .attrs = moments_fields, .attrs_size = sizeof(moments_attrs), .infer_shape = moments_shape,
    .infer_dtype = am_infer_dtype_float_same, .cpu = moments_cpu, .gradient = moments_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Mean and population variance of data over axes: two outputs (mean, var)."};

am_status am_moments_at(am_array *x, const int *axes, int naxes, bool keepdims, am_array **mean,
                        am_array **var, am_site at)
{
    moments_attrs a = {.keepdims = keepdims, .axes = {.ndim = naxes}};
    if (naxes < 0 || naxes > AM_MAX_TUPLE)
        return am_fail_at("moments", at, AM_ERR_ARG, "%d axes (0 to %d)", naxes, AM_MAX_TUPLE);
    for (int i = 0; i < naxes; i++) a.axes.v[i] = axes[i];
    am_array *y[2] = {0};
    am_status st = am_op_call(&am_op_moments, &a, &x, 1, y, 2, at);
    *mean = y[0], *var = y[1];
    return st;
}
