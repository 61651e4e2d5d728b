/* InstanceNorm and GroupNorm and their _backward_ ops: each (sample, group of channels)
 * is a contiguous row normalised on its own; InstanceNorm is one group per channel. */
#include "norm_impl.h"

/* ---- InstanceNorm, GroupNorm ------------------------------------------------------------ */

typedef struct instance_norm_attrs {
    double eps;
} instance_norm_attrs;

static const am_attr_field instance_norm_fields[] = {
    AM_ATTR_FIELD(instance_norm_attrs, eps, AM_ATTR_FLOAT, "0.001", "added to the variance"),
    {0}};

typedef struct group_norm_attrs {
    int64_t num_groups;
    double eps;
    bool output_mean_var;
} group_norm_attrs;

static const am_attr_field group_norm_fields[] = {
    AM_ATTR_FIELD(group_norm_attrs, num_groups, AM_ATTR_INT, "1", "number of channel groups"),
    AM_ATTR_FIELD(group_norm_attrs, eps, AM_ATTR_FLOAT, "1e-05", "added to the variance"),
    AM_ATTR_FIELD(group_norm_attrs, output_mean_var, AM_ATTR_BOOL, "False",
                  "also return the mean and std (sqrt(var + eps))"),
    {0}};

static int group_norm_visible(const void *attrs)
{
    return ((const group_norm_attrs *)attrs)->output_mean_var ? 3 : 1;
}

/* Data (N, C, ...) split into `groups` groups of channels: checks the rank and that
 * groups divides C.  InstanceNorm is the case groups == C. */
static am_status groups_check(const am_shape *d, int64_t groups)
{
    char b[96];
    am_status st = data_rank(d, 3, "N, C, ...");
    if (st != AM_OK) return st;
    if (groups < 1) return am_fail(AM_ERR_ARG, "num_groups must be positive, got %lld",
                                   (long long)groups);
    if (d->dim[1] % groups != 0)
        return am_fail(AM_ERR_ARG, "num_groups %lld does not divide the %lld channels of data %s",
                       (long long)groups, (long long)d->dim[1],
                       am_shape_format(d, b, sizeof(b)));
    return AM_OK;
}

/* Data at in[0] (N, C, ...), gamma (groups,) at in[1] and, with beta, beta at in[2].
 * per_channel: InstanceNorm, one group per channel. */
static am_status affine_shapes(am_shape *in, int64_t groups, double eps, bool per_channel,
                               bool beta)
{
    char why[64];
    am_status st = per_channel ? data_rank(&in[0], 3, "N, C, ...") : groups_check(&in[0], groups);
    if (st == AM_OK) st = check_eps(eps);
    if (st != AM_OK) return st;
    if (per_channel) groups = in[0].dim[1];
    snprintf(why, sizeof(why), per_channel ? "its channels" : "num_groups %lld",
             (long long)groups);
    if ((st = vector_input(in, 1, "gamma", groups, why)) != AM_OK || !beta) return st;
    return vector_input(in, 2, "beta", groups, why);
}

static am_status instance_norm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = affine_shapes(in, 0, ((const instance_norm_attrs *)attrs)->eps, true, true);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[1] = out[2] = (am_shape){.ndim = 2, .dim = {in[0].dim[0], in[0].dim[1]}};
    return AM_OK;
}

static am_status group_norm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const group_norm_attrs *a = attrs;
    am_status st = affine_shapes(in, a->num_groups, a->eps, false, true);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[1] = out[2] = (am_shape){.ndim = 2, .dim = {in[0].dim[0], a->num_groups}};
    return AM_OK;
}

DEF_DTYPE_FN(affine_dtype, "data", "gamma", "beta")

/* (N * groups) rows of m contiguous elements; gamma and beta are indexed by row % groups. */
typedef struct gn_args {
    int64_t rows, m, groups;
    double eps;
    bool std_out; /* the third output is sqrt(var + eps) (GroupNorm), else var */
    const am_req *req;
} gn_args;

static am_status gn_geometry(const am_view *x, int64_t groups, gn_args *a)
{
    am_shape s = {.ndim = x->ndim};
    for (int i = 0; i < x->ndim; i++) s.dim[i] = x->dim[i];
    am_status st = groups_check(&s, groups);
    if (st != AM_OK) return st;
    int64_t rest = 1;
    for (int i = 2; i < s.ndim; i++) rest *= s.dim[i];
    a->groups = groups;
    a->rows = s.dim[0] * groups;
    a->m = s.dim[1] / groups * rest;
    return AM_OK;
}

/* Mean and biased variance of one contiguous row (NaN when empty). */
#define DEF_ROW_STATS(T)                                                                      \
    static void row_stats_##T(const T *restrict x, int64_t m, double *mean, double *var)      \
    {                                                                                         \
        double s = 0, q = 0;                                                                  \
        _Pragma("omp simd reduction(+:s)")                                                    \
        for (int64_t j = 0; j < m; j++) s += x[j];                                            \
        const double mu = m ? s / (double)m : NAN;                                            \
        _Pragma("omp simd reduction(+:q)")                                                    \
        for (int64_t j = 0; j < m; j++) q += (x[j] - mu) * (x[j] - mu);                       \
        *mean = mu;                                                                           \
        *var = m ? q / (double)m : NAN;                                                       \
    }

#define DEF_GN_FWD(T)                                                                         \
    DEF_ROW_STATS(T)                                                                          \
    static void gn_fwd_##T(const am_view *in, const am_view *out, const gn_args *a)           \
    {                                                                                         \
        const T *x = in[0].data, *g = in[1].data, *b = in[2].data;                            \
        T *y = out[0].data, *mo = out[1].data, *so = out[2].data;                             \
        const am_req *req = a->req;                                                           \
        int64_t m = a->m, n = a->rows * m;                                                    \
        AM_OMP_FOR_N for (int64_t r = 0; r < a->rows; r++) {                                  \
            double mu, var;                                                                   \
            row_stats_##T(x + r * m, m, &mu, &var);                                           \
            int64_t k = r % a->groups;                                                        \
            double sd = sqrt(var + a->eps);                                                   \
            if (req[1] != AM_REQ_NULL) STORE(mo, r, (T)mu, req[1]);                           \
            if (req[2] != AM_REQ_NULL) STORE(so, r, (T)(a->std_out ? sd : var), req[2]);      \
            if (req[0] == AM_REQ_NULL) continue;                                              \
            const T *xr = x + r * m;                                                          \
            T *yr = y + r * m;                                                                \
            const T mm = (T)mu, s = (T)(g[k] / sd), bb = b[k];                                \
            if (req[0] == AM_REQ_ADD)                                                         \
                for (int64_t j = 0; j < m; j++) yr[j] += (xr[j] - mm) * s + bb;               \
            else                                                                              \
                for (int64_t j = 0; j < m; j++) yr[j] = (xr[j] - mm) * s + bb;                \
        }                                                                                     \
    }
DEF_GN_FWD(float)
DEF_GN_FWD(double)

static am_status gn_forward(const am_view *in, const am_view *out, int64_t groups, double eps,
                            bool std_out, const am_req *req)
{
    gn_args a = {.eps = eps, .std_out = std_out, .req = req};
    am_status st = gn_geometry(&in[0], groups, &a);
    if (st != AM_OK) return st;
    if (in[0].dtype == AM_DTYPE_FLOAT32) gn_fwd_float(in, out, &a);
    else gn_fwd_double(in, out, &a);
    return AM_OK;
}

static am_status instance_norm_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t c = in[0].ndim > 1 ? in[0].dim[1] : 0;
    if (c == 0) return AM_OK; /* no channels: nothing to write */
    return gn_forward(in, out, c, ((const instance_norm_attrs *)attrs)->eps, false, req);
}

static am_status group_norm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const group_norm_attrs *a = attrs;
    return gn_forward(in, out, a->num_groups, a->eps, true, req);
}

/* ---- _backward_InstanceNorm (out_grad, data, gamma, mean, var) and _backward_GroupNorm
 * (out_grad, data, gamma, mean, std[, mean_grad, std_grad]) -> (data, gamma, beta) ---- */

static int gn_backward_inputs(const void *attrs)
{
    return ((const group_norm_attrs *)attrs)->output_mean_var ? 7 : 5;
}

/* The statistics inputs in[first..n_in) must be (N, groups). */
static am_status gn_backward_shapes(am_shape *in, int n_in, int64_t groups, double eps,
                                    bool per_channel, am_shape *out)
{
    static const char *const names[] = {"mean", "var", "mean_grad", "std_grad"};
    char b1[96], b2[96], b3[96];
    am_status st = affine_shapes(in + 1, groups, eps, per_channel, false);
    if (st != AM_OK) return st;
    am_shape stat = {.ndim = 2, .dim = {in[1].dim[0], per_channel ? in[1].dim[1] : groups}};
    if (!same_shape(&in[0], &in[1]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s does not match data %s",
                       am_shape_format(&in[0], b1, sizeof(b1)),
                       am_shape_format(&in[1], b2, sizeof(b2)));
    for (int i = 3; i < n_in; i++) {
        if (in[i].ndim < 0) in[i] = stat;
        if (!same_shape(&in[i], &stat))
            return am_fail(AM_ERR_SHAPE, "%s %s must be %s for data %s", names[i - 3],
                           am_shape_format(&in[i], b1, sizeof(b1)),
                           am_shape_format(&stat, b2, sizeof(b2)),
                           am_shape_format(&in[1], b3, sizeof(b3)));
    }
    out[0] = in[1];
    out[1] = out[2] = in[2];
    return AM_OK;
}

static am_status in_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_out);
    return gn_backward_shapes(in, n_in, 0, ((const instance_norm_attrs *)attrs)->eps, true, out);
}

static am_status gn_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_out);
    const group_norm_attrs *a = attrs;
    return gn_backward_shapes(in, n_in, a->num_groups, a->eps, false, out);
}

DEF_DTYPE_FN(gn_backward_dtype, "out_grad", "data", "gamma", "mean", "std", "mean_grad",
             "std_grad")

/* Two doubles per (sample, group) row: the partial sums for gamma and beta. */
static size_t in_backward_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return (size_t)(in[1].ndim > 1 ? in[1].dim[0] * in[1].dim[1] : 0) * 2 * sizeof(double);
}

static size_t gn_backward_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    int64_t groups = ((const group_norm_attrs *)attrs)->num_groups;
    return (size_t)(in[1].ndim > 0 && groups > 0 ? in[1].dim[0] * groups : 0) * 2 * sizeof(double);
}

/* Per row, with xh = (x - mean) * rs and w = dy * gamma:
 *   dx = rs * (w - mean(w) - xh * mean(w * xh)) + mean_grad / m + std_grad * xh / m,
 * written as dx = A dy + B (x - mean) + C; the row sums of dy and dy * xh go to part for
 * the gamma and beta gradients. */
#define DEF_GN_BWD_ROWS(T)                                                                    \
    static void gn_bwd_rows_##T(const am_view *in, int n_in, const am_view *out,              \
                                const gn_args *a, double *part)                               \
    {                                                                                         \
        const T *dy = in[0].data, *x = in[1].data, *g = in[2].data, *mean = in[3].data;       \
        const T *sv = in[4].data, *ogm = n_in > 5 ? in[5].data : NULL;                        \
        const T *ogs = n_in > 6 ? in[6].data : NULL;                                          \
        T *dx = out[0].data;                                                                  \
        int64_t m = a->m, n = a->rows * m;                                                    \
        AM_OMP_FOR_N for (int64_t r = 0; r < a->rows; r++) {                                  \
            const T *dr = dy + r * m, *xr = x + r * m;                                        \
            const T mu = mean[r];                                                             \
            const double rs = a->std_out ? 1.0 / sv[r] : 1.0 / sqrt(sv[r] + a->eps);          \
            double sd = 0, sdx = 0;                                                           \
            _Pragma("omp simd reduction(+:sd,sdx)")                                           \
            for (int64_t j = 0; j < m; j++) {                                                 \
                sd += dr[j];                                                                  \
                sdx += (double)dr[j] * (xr[j] - mu);                                          \
            }                                                                                 \
            part[2 * r] = sd;                                                                 \
            part[2 * r + 1] = m ? sdx * rs : 0; /* an empty row's std is NaN */              \
            if (a->req[0] == AM_REQ_NULL || m == 0) continue;                                 \
            const double gk = g[r % a->groups], im = 1.0 / (double)m;                         \
            const T A = (T)(rs * gk);                                                         \
            const T B = (T)(-rs * rs * gk * sdx * rs * im + (ogs ? ogs[r] * rs * im : 0));    \
            const T C = (T)(-rs * gk * sd * im + (ogm ? ogm[r] * im : 0));                    \
            T *gr = dx + r * m;                                                               \
            if (a->req[0] == AM_REQ_ADD)                                                      \
                for (int64_t j = 0; j < m; j++) gr[j] += A * dr[j] + B * (xr[j] - mu) + C;    \
            else                                                                              \
                for (int64_t j = 0; j < m; j++) gr[j] = A * dr[j] + B * (xr[j] - mu) + C;     \
        }                                                                                     \
    }

/* gamma and beta gradients: the row sums added over the batch. */
#define DEF_GN_BWD(T)                                                                         \
    DEF_GN_BWD_ROWS(T)                                                                        \
    static void gn_bwd_##T(const am_view *in, int n_in, const am_view *out, const gn_args *a, \
                           double *part)                                                      \
    {                                                                                         \
        gn_bwd_rows_##T(in, n_in, out, a, part);                                              \
        T *dg = out[1].data, *db = out[2].data;                                               \
        int64_t batch = a->groups ? a->rows / a->groups : 0;                                  \
        for (int64_t k = 0; k < a->groups; k++) {                                             \
            double sd = 0, sdx = 0;                                                           \
            for (int64_t b = 0; b < batch; b++) {                                             \
                sd += part[2 * (b * a->groups + k)];                                          \
                sdx += part[2 * (b * a->groups + k) + 1];                                     \
            }                                                                                 \
            if (a->req[1] != AM_REQ_NULL) STORE(dg, k, (T)sdx, a->req[1]);                    \
            if (a->req[2] != AM_REQ_NULL) STORE(db, k, (T)sd, a->req[2]);                     \
        }                                                                                     \
    }
DEF_GN_BWD(float)
DEF_GN_BWD(double)

static am_status gn_backward(const am_kernel_ctx *ctx, const am_view *in, int n_in,
                             const am_view *out, int64_t groups, double eps, bool std_out,
                             const am_req *req)
{
    gn_args a = {.eps = eps, .std_out = std_out, .req = req};
    am_status st = gn_geometry(&in[1], groups, &a);
    if (st != AM_OK) return st;
    if ((size_t)a.rows * 2 * sizeof(double) > ctx->workspace_bytes)
        return am_fail(AM_ERR_INTERNAL, "workspace is too small");
    if (in[0].dtype == AM_DTYPE_FLOAT32) gn_bwd_float(in, n_in, out, &a, ctx->workspace);
    else gn_bwd_double(in, n_in, out, &a, ctx->workspace);
    return AM_OK;
}

static am_status in_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_out);
    int64_t c = in[1].ndim > 1 ? in[1].dim[1] : 0;
    if (c == 0) return AM_OK;
    return gn_backward(ctx, in, n_in, out, c, ((const instance_norm_attrs *)attrs)->eps, false,
                       req);
}

static am_status gn_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_out);
    const group_norm_attrs *a = attrs;
    return gn_backward(ctx, in, n_in, out, a->num_groups, a->eps, true, req);
}

const am_op_def am_op_backward_instance_norm = {
    .name = "_backward_InstanceNorm",
    .input_names = (const char *const[]){"out_grad", "data", "gamma", "mean", "var", NULL},
    .num_outputs = 3, .num_visible = all_visible3, .attrs = instance_norm_fields,
    .attrs_size = sizeof(instance_norm_attrs), .infer_shape = in_backward_shape,
    .infer_dtype = gn_backward_dtype, .temp_bytes = in_backward_temp, .cpu = in_backward_cpu,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | AM_OP_NEEDS_TEMP,
    .doc = "Gradients of InstanceNorm's data, gamma and beta."};

const am_op_def am_op_backward_group_norm = {
    .name = "_backward_GroupNorm",
    .input_names = (const char *const[]){"out_grad", "data", "gamma", "mean", "std",
                                         "mean_grad", "std_grad", NULL},
    .num_inputs = gn_backward_inputs, .num_outputs = 3, .num_visible = all_visible3,
    .attrs = group_norm_fields, .attrs_size = sizeof(group_norm_attrs),
    .infer_shape = gn_backward_shape, .infer_dtype = gn_backward_dtype,
    .temp_bytes = gn_backward_temp, .cpu = gn_backward_cpu, .inplace = same_slot,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | AM_OP_NEEDS_TEMP | AM_OP_VARIADIC,
    .doc = "Gradients of GroupNorm's data, gamma and beta (with output_mean_var, also "
           "through its mean and std)."};

static am_status affine_grad(const am_op_def *bop, const am_grad_ctx *g, am_array *const *in,
                             am_array *const *out, am_array *const *og, am_array **ig,
                             bool stat_grads)
{
    am_array *bin[7] = {og[0], in[0], in[1], out[1], out[2], og[1], og[2]}, *r[3] = {0};
    am_status st = am_op_call(bop, g->attrs, bin, stat_grads ? 7 : 5, r, 3, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < 3; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return AM_OK;
}

/* InstanceNorm's mean and var are always hidden: their gradients are zero. */
static am_status instance_norm_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    return affine_grad(&am_op_backward_instance_norm, g, in, out, og, ig, false);
}

static am_status group_norm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array *const *og, am_array **ig)
{
    bool stats = ((const group_norm_attrs *)g->attrs)->output_mean_var;
    return affine_grad(&am_op_backward_group_norm, g, in, out, og, ig, stats);
}

const am_op_def am_op_instance_norm = {
    .name = "InstanceNorm", .input_names = (const char *const[]){"data", "gamma", "beta", NULL},
    .num_outputs = 3, .num_visible = one_visible, .attrs = instance_norm_fields,
    .attrs_size = sizeof(instance_norm_attrs), .infer_shape = instance_norm_shape,
    .infer_dtype = affine_dtype, .cpu = instance_norm_cpu, .gradient = instance_norm_grad,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .doc = "Normalises each (sample, channel) over the remaining axes, then gamma * x + beta "
           "per channel; outputs (out, mean, var)."};

const am_op_def am_op_group_norm = {
    .name = "GroupNorm", .input_names = (const char *const[]){"data", "gamma", "beta", NULL},
    .num_outputs = 3, .num_visible = group_norm_visible, .attrs = group_norm_fields,
    .attrs_size = sizeof(group_norm_attrs), .infer_shape = group_norm_shape,
    .infer_dtype = affine_dtype, .cpu = group_norm_cpu, .gradient = group_norm_grad,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .doc = "Normalises each (sample, group of channels), then gamma * x + beta per group; "
           "outputs (out, mean, std)."};

am_array *am_instance_norm_at(am_array *x, am_array *gamma, am_array *beta, double eps,
                              am_site at)
{
    instance_norm_attrs a = {.eps = eps};
    am_array *in[3] = {x, gamma, beta}, *y = NULL;
    am_op_call(&am_op_instance_norm, &a, in, 3, &y, 1, at);
    return y;
}

am_array *am_group_norm_at(am_array *x, am_array *gamma, am_array *beta, int num_groups,
                           double eps, am_site at)
{
    group_norm_attrs a = {.num_groups = num_groups, .eps = eps};
    am_array *in[3] = {x, gamma, beta}, *y = NULL;
    am_op_call(&am_op_group_norm, &a, in, 3, &y, 1, at);
    return y;
}
