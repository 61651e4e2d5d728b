/* Rearranging shape ops: depth_to_space, space_to_depth, diag (with
 * _backward_diag) and the legacy Crop.  Kernels are strided copies
 * (shape_copy.c). */
#include "shape_impl.h"

static const char *const data_input[] = {"data", NULL};

/* ---- depth_to_space, space_to_depth ----------------------------------------------------- */

typedef struct block_attrs {
    int64_t block_size;
} block_attrs;

static const am_attr_field block_fields[] = {
    AM_ATTR_FIELD(block_attrs, block_size, AM_ATTR_INT, NULL, "side of each moved block"),
    {0}};

/* NCHW data; to_space: C divisible by b * b, else H and W divisible by b. */
static am_status block_check(const block_attrs *a, const am_shape *s, bool to_space,
                             am_shape *out)
{
    char buf[AM_SHAPE_BUF];
    int64_t b = a->block_size;
    if (b < 1) return am_fail(AM_ERR_ARG, "block_size=%lld must be at least 1", (long long)b);
    if (s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "data %s must be 4-D (N, C, H, W)", am_fmt_shape(s, buf));
    *out = *s;
    if (to_space) {
        if (s->dim[1] % (b * b))
            return am_fail(AM_ERR_SHAPE, "the channels of data %s are not a multiple of "
                           "block_size^2 = %lld", am_fmt_shape(s, buf), (long long)(b * b));
        out->dim[1] /= b * b, out->dim[2] *= b, out->dim[3] *= b;
    } else {
        if (s->dim[2] % b || s->dim[3] % b)
            return am_fail(AM_ERR_SHAPE, "the height and width of data %s are not multiples of "
                           "block_size=%lld", am_fmt_shape(s, buf), (long long)b);
        out->dim[1] *= b * b, out->dim[2] /= b, out->dim[3] /= b;
    }
    return AM_OK;
}

static am_status d2s_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? block_check(attrs, &in[0], true, &out[0]) : st;
}

static am_status s2d_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? block_check(attrs, &in[0], false, &out[0]) : st;
}

/* The space side (N, C, H*b, W*b) seen as (N, C, H, b, W, b) against the depth side
 * (N, b, b, C, H, W): one 6-axis strided copy either way. */
static am_status block_move(const am_view *in, const am_view *out, int64_t b, bool to_space,
                            am_req req)
{
    const am_view *depth = to_space ? in : out;
    int64_t n = depth->dim[0], c = depth->dim[1] / (b * b), h = depth->dim[2], w = depth->dim[3];
    int64_t ss[6] = {c * h * b * w * b, h * b * w * b, b * w * b, w * b, b, 1};  /* n c h i w j */
    int64_t ds[6] = {b * b * c * h * w, h * w, w, b * c * h * w, 1, c * h * w};
    int64_t dim[6] = {n, c, h, b, w, b};
    am_copy_plan p = {0};
    if (am_view_size(out) == 0 || req == AM_REQ_NULL) return AM_OK;
    for (int i = 0; i < 6; i++)
        am_copy_plan_axis(&p, dim[i], to_space ? ss[i] : ds[i], to_space ? ds[i] : ss[i]);
    return am_copy_run(in, out, &p, 0, req);
}

static am_status d2s_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return block_move(&in[0], &out[0], ((const block_attrs *)attrs)->block_size, true, req[0]);
}

static am_status s2d_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return block_move(&in[0], &out[0], ((const block_attrs *)attrs)->block_size, false, req[0]);
}

extern const am_op_def am_op_depth_to_space, am_op_space_to_depth;

/* Each is the other's inverse permutation, so each is the other's gradient. */
static am_status block_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    const am_op_def *inv = g->op == &am_op_depth_to_space ? &am_op_space_to_depth
                                                           : &am_op_depth_to_space;
    ig[0] = am_call1(inv, g->attrs, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_depth_to_space = {
    .name = "depth_to_space", .input_names = data_input, .num_outputs = 1,
    .attrs = block_fields, .attrs_size = sizeof(block_attrs), .infer_shape = d2s_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = d2s_cpu, .gradient = block_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "(N, C, H, W) to (N, C/b^2, H*b, W*b): channel blocks become spatial blocks."};

const am_op_def am_op_space_to_depth = {
    .name = "space_to_depth", .input_names = data_input, .num_outputs = 1,
    .attrs = block_fields, .attrs_size = sizeof(block_attrs), .infer_shape = s2d_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = s2d_cpu, .gradient = block_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "(N, C, H, W) to (N, C*b^2, H/b, W/b): spatial blocks become channels."};

am_array *am_depth_to_space_at(am_array *x, int64_t block_size, am_site at)
{
    block_attrs a = {block_size};
    return am_call1(&am_op_depth_to_space, &a, x, at);
}

am_array *am_space_to_depth_at(am_array *x, int64_t block_size, am_site at)
{
    block_attrs a = {block_size};
    return am_call1(&am_op_space_to_depth, &a, x, at);
}

/* ---- diag -------------------------------------------------------------------------------- */

typedef struct diag_attrs {
    int64_t k, axis1, axis2;
} diag_attrs;

static const am_attr_field diag_fields[] = {
    AM_ATTR_FIELD(diag_attrs, k, AM_ATTR_INT, "0", "diagonal offset: > 0 above, < 0 below"),
    AM_ATTR_FIELD(diag_attrs, axis1, AM_ATTR_INT, "0", "first axis of the 2-D sub-arrays"),
    AM_ATTR_FIELD(diag_attrs, axis2, AM_ATTR_INT, "1", "second axis of the 2-D sub-arrays"),
    {0}};

/* How the diagonal sits in the full (matrix) side: the matrix shape, its two axes
 * and the diagonal's length. */
typedef struct diag_geom {
    am_shape full;
    int a1, a2;
    int64_t len, k;
} diag_geom;

/* full is the matrix side; part gets the diagonal side (others, then the diagonal). */
static am_status diag_geom_of(const diag_attrs *a, const am_shape *full, diag_geom *g,
                              am_shape *part)
{
    char buf[AM_SHAPE_BUF];
    am_status st = am_norm_axis(a->axis1, full->ndim, "axis1", &g->a1);
    if (st == AM_OK) st = am_norm_axis(a->axis2, full->ndim, "axis2", &g->a2);
    if (st != AM_OK) return st;
    if (g->a1 == g->a2)
        return am_fail(AM_ERR_ARG, "axis1=%lld and axis2=%lld name the same axis",
                       (long long)a->axis1, (long long)a->axis2);
    int64_t d1 = full->dim[g->a1], d2 = full->dim[g->a2], k = a->k;
    g->full = *full;
    g->k = k;
    g->len = k >= 0 ? (d2 - k < d1 ? d2 - k : d1) : (d1 + k < d2 ? d1 + k : d2);
    if (g->len <= 0 && d1 > 0 && d2 > 0)
        return am_fail(AM_ERR_ARG, "k=%lld leaves no diagonal in axes %d and %d of %s",
                       (long long)k, g->a1, g->a2, am_fmt_shape(full, buf));
    if (g->len < 0) g->len = 0;
    part->ndim = 0;
    for (int i = 0; i < full->ndim; i++)
        if (i != g->a1 && i != g->a2) part->dim[part->ndim++] = full->dim[i];
    part->dim[part->ndim++] = g->len;
    return AM_OK;
}

/* The square matrix that a vector of n fills on diagonal k. */
static am_shape diag_square(int64_t n, int64_t k)
{
    int64_t m = n + (k < 0 ? -k : k);
    return (am_shape){.ndim = 2, .dim = {m, m}};
}

static am_status diag_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const diag_attrs *a = attrs;
    char buf[AM_SHAPE_BUF];
    diag_geom g;
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[0].ndim == 0)
        return am_fail(AM_ERR_SHAPE, "data %s must have at least one dimension",
                       am_fmt_shape(&in[0], buf));
    if (in[0].ndim == 1) {
        out[0] = diag_square(in[0].dim[0], a->k);
        return AM_OK;
    }
    return diag_geom_of(a, &in[0], &g, &out[0]);
}

/* The geometry of a diag call on data s: the matrix side is data, or for a vector
 * the square matrix it fills (axes 0 and 1). */
static am_status diag_of(const diag_attrs *a, const am_shape *s, diag_geom *g)
{
    am_shape part;
    if (s->ndim != 1) return diag_geom_of(a, s, g, &part);
    diag_attrs m = {.k = a->k, .axis1 = 0, .axis2 = 1};
    am_shape sq = diag_square(s->dim[0], a->k);
    return diag_geom_of(&m, &sq, g, &part);
}

/* Copies between the diagonal side part and the diagonal of the matrix side full:
 * into part (to_part), else into full, whose other elements the caller has set. */
static am_status diag_move(const diag_geom *g, const am_view *full, const am_view *part,
                           bool to_part, am_req req)
{
    int64_t fs[AM_MAX_NDIM];
    am_shape_strides(&g->full, fs);
    int64_t off = g->k >= 0 ? g->k * fs[g->a2] : -g->k * fs[g->a1];
    am_copy_plan p = {0};
    int j = 0;
    if (am_view_size(part) == 0 || req == AM_REQ_NULL) return AM_OK;
    for (int i = 0; i < g->full.ndim; i++) {
        if (i == g->a1 || i == g->a2) continue;
        am_copy_plan_axis(&p, g->full.dim[i], to_part ? part->strides[j] : fs[i],
                          to_part ? fs[i] : part->strides[j]);
        j++;
    }
    am_copy_plan_axis(&p, g->len, to_part ? part->strides[j] : fs[g->a1] + fs[g->a2],
                      to_part ? fs[g->a1] + fs[g->a2] : part->strides[j]);
    if (to_part) return am_copy_run(full, part, &p, off, req);
    char *dst = (char *)full->data + (size_t)off * am_dtype_size(full->dtype);
    return am_strided_copy(dst, part->data, &p, full->dtype, req);
}

/* Zeros the matrix side (unless req adds), then writes the diagonal. */
static am_status diag_fill(const diag_geom *g, const am_view *full, const am_view *part,
                           am_req req)
{
    if (req == AM_REQ_NULL) return AM_OK;
    if (req != AM_REQ_ADD)
        memset(full->data, 0, (size_t)am_view_size(full) * am_dtype_size(full->dtype));
    return diag_move(g, full, part, false, req == AM_REQ_ADD ? AM_REQ_ADD : AM_REQ_WRITE);
}

static am_status diag_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s = am_view_shape(&in[0]);
    diag_geom g;
    am_status st = diag_of(attrs, &s, &g);
    if (st != AM_OK) return st;
    return s.ndim == 1 ? diag_fill(&g, &out[0], &in[0], req[0])
                       : diag_move(&g, &in[0], &out[0], true, req[0]);
}

/* _backward_diag's attributes: the forward ones, and data's shape. */
typedef struct backward_diag_attrs {
    diag_attrs d;
    am_tuple shape;
} backward_diag_attrs;

extern const am_op_def am_op_backward_diag, am_op_diag;

static am_status diag_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    backward_diag_attrs b = {.d = *(const diag_attrs *)g->attrs};
    am_shape s = am_array_shape(in[0]);
    am_tuple_from_i64(s.dim, s.ndim, &b.shape);
    ig[0] = am_call1(&am_op_backward_diag, &b, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_diag = {
    .name = "diag", .input_names = data_input, .num_outputs = 1, .attrs = diag_fields,
    .attrs_size = sizeof(diag_attrs), .infer_shape = diag_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = diag_cpu, .gradient = diag_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Diagonal k of the (axis1, axis2) sub-arrays, as numpy.diagonal; a vector gives "
           "the square matrix with it on diagonal k."};

am_array *am_diag_at(am_array *x, int64_t k, int axis1, int axis2, am_site at)
{
    diag_attrs a = {.k = k, .axis1 = axis1, .axis2 = axis2};
    return am_call1(&am_op_diag, &a, x, at);
}

/* ---- _backward_diag --------------------------------------------------------------------- */

static const am_attr_field backward_diag_fields[] = {
    {"k", AM_ATTR_INT, offsetof(backward_diag_attrs, d.k), "0", NULL, "the forward k"},
    {"axis1", AM_ATTR_INT, offsetof(backward_diag_attrs, d.axis1), "0", NULL, "the forward axis1"},
    {"axis2", AM_ATTR_INT, offsetof(backward_diag_attrs, d.axis2), "1", NULL, "the forward axis2"},
    {"shape", AM_ATTR_TUPLE, offsetof(backward_diag_attrs, shape), NULL, NULL,
     "shape of the forward data, and of the result"},
    {0}};

static am_status backward_diag_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    const backward_diag_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_shape data, want;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_shape_of_tuple(&a->shape, &data);
    if (st == AM_OK) st = diag_shape(&a->d, &data, 1, &want, n_out);
    if (st != AM_OK) return st;
    bool same = in[0].ndim == want.ndim;
    for (int i = 0; same && i < want.ndim; i++) same = in[0].dim[i] == want.dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "ograd %s is not %s, diag's result for data %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&want, b1),
                       am_fmt_tuple(&a->shape, b2));
    out[0] = data;
    return AM_OK;
}

/* A vector's gradient is read off the diagonal; a matrix's is the diagonal in zeros. */
static am_status backward_diag_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_diag_attrs *a = attrs;
    am_shape s = am_view_shape(&out[0]);
    diag_geom g;
    am_status st = diag_of(&a->d, &s, &g);
    if (st != AM_OK) return st;
    return s.ndim == 1 ? diag_move(&g, &in[0], &out[0], true, req[0])
                       : diag_fill(&g, &out[0], &in[0], req[0]);
}

/* Linear in ograd: its gradient is diag itself. */
static am_status backward_diag_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = am_call1(&am_op_diag, &((const backward_diag_attrs *)g->attrs)->d, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_backward_diag = {
    .name = "_backward_diag", .input_names = (const char *const[]){"ograd", NULL},
    .num_outputs = 1, .attrs = backward_diag_fields, .attrs_size = sizeof(backward_diag_attrs),
    .infer_shape = backward_diag_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = backward_diag_cpu, .gradient = backward_diag_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Gradient of diag: ograd's diagonal (vector data) or ograd on the diagonal of "
           "zeros of data's shape."};

/* ---- Crop ------------------------------------------------------------------------------ */

typedef struct crop_attrs {
    int64_t num_args;
    am_tuple offset, h_w;
    bool center_crop;
} crop_attrs;

static const am_attr_field crop_fields[] = {
    AM_ATTR_FIELD(crop_attrs, num_args, AM_ATTR_INT, NULL,
                  "1: crop to h_w; 2: crop to the height and width of crop_like"),
    AM_ATTR_FIELD(crop_attrs, offset, AM_ATTR_TUPLE, "(0, 0)", "(y, x) of the crop's corner"),
    AM_ATTR_FIELD(crop_attrs, h_w, AM_ATTR_TUPLE, "(0, 0)", "(height, width) with num_args=1"),
    AM_ATTR_FIELD(crop_attrs, center_crop, AM_ATTR_BOOL, "False",
                  "center the crop (offset is ignored)"),
    {0}};

static int crop_inputs(const void *attrs)
{
    int64_t n = ((const crop_attrs *)attrs)->num_args;
    return n == 2 ? 2 : 1;
}

/* The crop's corner (y, x) and size (h, w) in NCHW data s. */
static am_status crop_box(const crop_attrs *a, const am_shape *s, const am_shape *like,
                          int64_t *y, int64_t *x, int64_t *h, int64_t *w)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (a->num_args != 1 && a->num_args != 2)
        return am_fail(AM_ERR_ARG, "num_args=%lld must be 1 or 2", (long long)a->num_args);
    if (s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "data %s must be 4-D (N, C, H, W)", am_fmt_shape(s, b0));
    if (a->offset.ndim != 2 || a->h_w.ndim != 2 || a->offset.none || a->h_w.none)
        return am_fail(AM_ERR_ARG, "offset=%s and h_w=%s must be pairs",
                       am_fmt_tuple(&a->offset, b0), am_fmt_tuple(&a->h_w, b1));
    if (a->num_args == 2 && like->ndim < 2)
        return am_fail(AM_ERR_SHAPE, "crop_like %s must end in height and width",
                       am_fmt_shape(like, b1));
    *h = a->num_args == 2 ? like->dim[like->ndim - 2] : a->h_w.v[0];
    *w = a->num_args == 2 ? like->dim[like->ndim - 1] : a->h_w.v[1];
    if (*h < 0 || *w < 0 || *h > s->dim[2] || *w > s->dim[3])
        return am_fail(AM_ERR_SHAPE, "a crop of (%lld, %lld) does not fit in data %s",
                       (long long)*h, (long long)*w, am_fmt_shape(s, b0));
    *y = a->center_crop ? (s->dim[2] - *h) / 2 : a->offset.v[0];
    *x = a->center_crop ? (s->dim[3] - *w) / 2 : a->offset.v[1];
    if (*y < 0 || *x < 0 || *y + *h > s->dim[2] || *x + *w > s->dim[3])
        return am_fail(AM_ERR_SHAPE, "offset=%s puts the (%lld, %lld) crop outside data %s",
                       am_fmt_tuple(&a->offset, b1), (long long)*h, (long long)*w,
                       am_fmt_shape(s, b0));
    return AM_OK;
}

static am_status crop_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    int64_t y, x, h, w;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = crop_box(attrs, &in[0], n_in > 1 ? &in[1] : NULL, &y, &x, &h, &w);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[0].dim[2] = h, out[0].dim[3] = w;
    return AM_OK;
}

static am_status crop_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    am_shape s = am_view_shape(&in[0]), like = n_in > 1 ? am_view_shape(&in[1]) : s;
    int64_t y, x, h, w;
    am_status st = crop_box(attrs, &s, &like, &y, &x, &h, &w);
    am_copy_plan p = {0};
    if (st != AM_OK || am_view_size(out) == 0 || req[0] == AM_REQ_NULL) return st;
    for (int i = 0; i < 4; i++) am_copy_plan_axis(&p, out->dim[i], out->strides[i], in->strides[i]);
    return am_copy_run(&in[0], out, &p, y * in->strides[2] + x * in->strides[3], req[0]);
}

/* The gradient is ograd in the crop's place in zeros: _backward_slice. */
static am_status crop_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_shape s = am_array_shape(in[0]), like = g->n_in > 1 ? am_array_shape(in[1]) : s;
    int64_t y, x, h, w;
    am_status st = crop_box(g->attrs, &s, &like, &y, &x, &h, &w);
    if (st != AM_OK) return st;
    char begin[AM_SHAPE_BUF], end[AM_SHAPE_BUF], shape[AM_SHAPE_BUF];
    am_tuple tb = {.ndim = 4, .v = {0, 0, y, x}}, ts = {.ndim = 4};
    am_tuple te = {.ndim = 4, .v = {s.dim[0], s.dim[1], y + h, x + w}};
    for (int i = 0; i < 4; i++) ts.v[i] = s.dim[i];
    const char *keys[] = {"begin", "end", "shape"};
    const char *vals[] = {am_fmt_tuple(&tb, begin), am_fmt_tuple(&te, end),
                          am_fmt_tuple(&ts, shape)};
    return am_invoke_at("_backward_slice", &og[0], 1, keys, vals, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_crop = {
    .name = "Crop", .input_names = (const char *const[]){"data", "crop_like", NULL},
    .num_inputs = crop_inputs, .num_outputs = 1, .attrs = crop_fields,
    .attrs_size = sizeof(crop_attrs), .infer_shape = crop_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = crop_cpu, .gradient = crop_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "The legacy crop of NCHW data to h_w, or to crop_like's height and width, at "
           "offset or centred."};

am_array *am_crop_at(am_array *x, am_array *like, const int64_t *offset, const int64_t *h_w,
                     bool center_crop, am_site at)
{
    crop_attrs a = {.num_args = like ? 2 : 1, .offset = {.ndim = 2}, .h_w = {.ndim = 2},
                    .center_crop = center_crop};
    for (int i = 0; i < 2; i++) {
        a.offset.v[i] = offset ? offset[i] : 0;
        a.h_w.v[i] = h_w ? h_w[i] : 0;
    }
    am_array *in[2] = {x, like}, *y = NULL;
    am_op_call(&am_op_crop, &a, in, like ? 2 : 1, &y, 1, at);
    return y;
}
