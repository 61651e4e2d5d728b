/* _contrib_DeformablePSROIPooling (Deformable ConvNets' position-sensitive RoI
 * pooling with learned part offsets) and its backward,
 * _backward__contrib_DeformablePSROIPooling, as MXNet 1.9.1 has them.
 *
 * data (N, C, H, W), rois (R, 5) [batch index, x1, y1, x2, y2] and, unless
 * no_trans, trans (R, 2 * classes, part, part) (part = part_size, default
 * pooled_size).  The roi is rounded to whole pixels, [round(x1), round(x2) + 1)
 * times spatial_scale less half a pixel (at least 0.1 wide and high), cut into
 * P x P bins (P = pooled_size).  Bin (i, j) of output channel c moves by
 * (trans[r, 2k, pi, pj], trans[r, 2k + 1, pi, pj]) * trans_std * roi size
 * (k = c / (output_dim / classes), pi = floor(i / P * part)) and averages
 * sample_per_part^2 bilinear samples of input channel (c * G + gi) * G + gj
 * (G = group_size, gi = floor(i * G / P)) on a regular grid from its corner;
 * samples outside [-0.5, W - 0.5] x [-0.5, H - 0.5] are skipped, the others
 * clamped to the map.  A bin without samples, and a roi whose batch index is
 * outside [0, N), gives 0.  Gradients flow to data and trans (MXNet's: the
 * trans gradient is the bilinear slope at the clamped point); rois get none.
 * Docs: docs/detection.md. */
#include "shape_impl.h"

#include <math.h>
#include <string.h>

typedef struct dpsroi_attrs {
    double spatial_scale;
    int64_t output_dim, group_size, pooled_size, part_size, sample_per_part;
    double trans_std;
    bool no_trans;
} dpsroi_attrs;

static const am_attr_field dpsroi_fields[] = {
    AM_ATTR_FIELD(dpsroi_attrs, spatial_scale, AM_ATTR_FLOAT, NULL,
                  "feature map size over image size (1 / total stride)"),
    AM_ATTR_FIELD(dpsroi_attrs, output_dim, AM_ATTR_INT, NULL, "output channels"),
    AM_ATTR_FIELD(dpsroi_attrs, group_size, AM_ATTR_INT, NULL,
                  "position-sensitive groups per axis"),
    AM_ATTR_FIELD(dpsroi_attrs, pooled_size, AM_ATTR_INT, NULL, "output height and width"),
    AM_ATTR_FIELD(dpsroi_attrs, part_size, AM_ATTR_INT, "0",
                  "offset parts per axis (trans's last two sizes); 0: pooled_size"),
    AM_ATTR_FIELD(dpsroi_attrs, sample_per_part, AM_ATTR_INT, "1",
                  "bilinear samples per bin and axis"),
    AM_ATTR_FIELD(dpsroi_attrs, trans_std, AM_ATTR_FLOAT, "0",
                  "scale of the offsets in trans (fractions of the roi size)"),
    AM_ATTR_FIELD(dpsroi_attrs, no_trans, AM_ATTR_BOOL, "False",
                  "no trans input: plain position-sensitive pooling with bilinear samples"),
    {0}};

static int64_t dpsroi_parts(const dpsroi_attrs *a)
{
    return a->part_size ? a->part_size : a->pooled_size;
}

static int dpsroi_num_inputs(const void *attrs)
{
    return ((const dpsroi_attrs *)attrs)->no_trans ? 2 : 3;
}

/* Checks data, rois and (when given) trans. */
static am_status dpsroi_check(const dpsroi_attrs *a, const am_shape *data, const am_shape *rois,
                              const am_shape *trans)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (!(a->spatial_scale >= 0 && a->spatial_scale <= 1))
        return am_fail(AM_ERR_ARG, "spatial_scale=%g is outside [0, 1] (MXNet's bound)",
                       a->spatial_scale);
    if (a->output_dim < 1 || a->group_size < 1 || a->pooled_size < 1 || a->part_size < 0 ||
        a->sample_per_part < 1)
        return am_fail(AM_ERR_ARG, "output_dim=%lld, group_size=%lld, pooled_size=%lld and "
                       "sample_per_part=%lld must be positive and part_size=%lld not negative",
                       (long long)a->output_dim, (long long)a->group_size,
                       (long long)a->pooled_size, (long long)a->sample_per_part,
                       (long long)a->part_size);
    if (data->ndim != 4 || rois->ndim != 2 || rois->dim[1] != 5)
        return am_fail(AM_ERR_SHAPE, "data %s and rois %s must be (N, C, H, W) and (R, 5)",
                       am_fmt_shape(data, b0), am_fmt_shape(rois, b1));
    int64_t g = a->group_size;
    if (data->dim[1] < a->output_dim * g * g)
        return am_fail(AM_ERR_SHAPE, "data %s has fewer than output_dim * group_size^2 = %lld "
                       "channels", am_fmt_shape(data, b0), (long long)(a->output_dim * g * g));
    if (!trans) return AM_OK;
    int64_t p = dpsroi_parts(a);
    if (trans->ndim != 4 || trans->dim[0] != rois->dim[0] || trans->dim[1] < 2 ||
        trans->dim[1] % 2 || trans->dim[2] != p || trans->dim[3] != p ||
        a->output_dim % (trans->dim[1] / 2))
        return am_fail(AM_ERR_SHAPE, "trans %s must be (%lld rois, 2 * classes, %lld, %lld) "
                       "with output_dim=%lld a multiple of the classes", am_fmt_shape(trans, b0),
                       (long long)rois->dim[0], (long long)p, (long long)p,
                       (long long)a->output_dim);
    return AM_OK;
}

static am_status dpsroi_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const dpsroi_attrs *a = attrs;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = dpsroi_check(a, &in[0], &in[1], n_in > 2 ? &in[2] : NULL);
    if (st != AM_OK) return st;
    out[0] = AM_SHAPE(in[1].dim[0], a->output_dim, a->pooled_size, a->pooled_size);
    return AM_OK;
}

/* The views one run reads and writes: forward fills out; backward adds to
 * gdata and (when not NULL) gtrans from gout. */
typedef struct dpsroi_io {
    const am_view *data, *rois, *trans, *out, *gout, *gdata, *gtrans;
    am_req req;
} dpsroi_io;

static void add_at(const am_view *v, int64_t i, double x)
{
    am_view_set(v, i, am_view_get(v, i) + x);
}

static void dpsroi_run(const dpsroi_attrs *a, const dpsroi_io *io)
{
    const am_view *dv = io->data;
    const int64_t n = dv->dim[0], ch = dv->dim[1], h = dv->dim[2], w = dv->dim[3];
    const int64_t nr = io->rois->dim[0], p = a->pooled_size, g = a->group_size;
    const int64_t od = a->output_dim, parts = dpsroi_parts(a), sp = a->sample_per_part;
    const int64_t classes = io->trans ? io->trans->dim[1] / 2 : 1;
    const int64_t per_class = od / classes;
    const double s = (double)(float)a->spatial_scale, tstd = (double)(float)a->trans_std;
    for (int64_t idx = 0; idx < nr * od * p * p; idx++) {
        int64_t j = idx % p, i = (idx / p) % p, c = (idx / p / p) % od, r = idx / (p * p * od);
        double roi[5];
        for (int k = 0; k < 5; k++) roi[k] = am_view_get(io->rois, r * 5 + k);
        bool skip = !(roi[0] > -1 && roi[0] < (double)n);
        int64_t batch = skip ? 0 : (int64_t)roi[0];
        double x0 = round(roi[1]) * s - 0.5, y0 = round(roi[2]) * s - 0.5;
        double x1 = (round(roi[3]) + 1.0) * s - 0.5, y1 = (round(roi[4]) + 1.0) * s - 0.5;
        double rw = fmax(x1 - x0, 0.1), rh = fmax(y1 - y0, 0.1);
        double bw = rw / (double)p, bh = rh / (double)p;
        double sbw = bw / (double)sp, sbh = bh / (double)sp;
        int64_t pi = (int64_t)floor((double)i / (double)p * (double)parts);
        int64_t pj = (int64_t)floor((double)j / (double)p * (double)parts);
        int64_t k = c / per_class;
        int64_t tx_i = (((r * classes + k) * 2) * parts + pi) * parts + pj;
        int64_t ty_i = (((r * classes + k) * 2 + 1) * parts + pi) * parts + pj;
        double tx = io->trans ? am_view_get(io->trans, tx_i) * tstd : 0;
        double ty = io->trans ? am_view_get(io->trans, ty_i) * tstd : 0;
        double ws = j * bw + x0 + tx * rw, hs = i * bh + y0 + ty * rh;
        int64_t gi = (int64_t)floor((double)(i * g) / (double)p);
        int64_t gj = (int64_t)floor((double)(j * g) / (double)p);
        gi = gi < g ? gi : g - 1, gj = gj < g ? gj : g - 1;
        int64_t base = (batch * ch + (c * g + gi) * g + gj) * h * w;
        /* Count the samples first: the backward divides by it. */
        int64_t count = 0;
        for (int64_t ih = 0; ih < sp; ih++)
            for (int64_t iw = 0; iw < sp; iw++) {
                double sx = ws + iw * sbw, sy = hs + ih * sbh;
                if (!(sx < -0.5 || sx > w - 0.5 || sy < -0.5 || sy > h - 0.5)) count++;
            }
        if (skip) count = 0;
        double go = io->gout && count ? am_view_get(io->gout, idx) / (double)count : 0;
        double sum = 0;
        for (int64_t ih = 0; ih < sp && count; ih++)
            for (int64_t iw = 0; iw < sp; iw++) {
                double sx = ws + iw * sbw, sy = hs + ih * sbh;
                if (sx < -0.5 || sx > w - 0.5 || sy < -0.5 || sy > h - 0.5) continue;
                sx = fmin(fmax(sx, 0.0), (double)(w - 1));
                sy = fmin(fmax(sy, 0.0), (double)(h - 1));
                int64_t xa = (int64_t)floor(sx), xb = (int64_t)ceil(sx);
                int64_t ya = (int64_t)floor(sy), yb = (int64_t)ceil(sy);
                double dx = sx - xa, dy = sy - ya;
                int64_t o00 = base + ya * w + xa, o01 = base + yb * w + xa;
                int64_t o10 = base + ya * w + xb, o11 = base + yb * w + xb;
                double u00 = am_view_get(dv, o00), u01 = am_view_get(dv, o01);
                double u10 = am_view_get(dv, o10), u11 = am_view_get(dv, o11);
                if (!io->gout) {
                    sum += (1 - dx) * (1 - dy) * u00 + (1 - dx) * dy * u01 +
                           dx * (1 - dy) * u10 + dx * dy * u11;
                    continue;
                }
                if (io->gdata) {
                    add_at(io->gdata, o00, (1 - dx) * (1 - dy) * go);
                    add_at(io->gdata, o01, (1 - dx) * dy * go);
                    add_at(io->gdata, o10, dx * (1 - dy) * go);
                    add_at(io->gdata, o11, dx * dy * go);
                }
                if (io->gtrans) {
                    double gx = (u11 * dy + u10 * (1 - dy) - u01 * dy - u00 * (1 - dy)) * tstd * go;
                    double gy = (u11 * dx + u01 * (1 - dx) - u10 * dx - u00 * (1 - dx)) * tstd * go;
                    add_at(io->gtrans, tx_i, gx * rw);
                    add_at(io->gtrans, ty_i, gy * rh);
                }
            }
        if (io->gout) continue;
        double v = count ? sum / (double)count : 0;
        if (io->req == AM_REQ_ADD) v += am_view_get(io->out, idx);
        am_view_set(io->out, idx, v);
    }
}

static am_status dpsroi_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    dpsroi_io io = {.data = &in[0], .rois = &in[1], .trans = n_in > 2 ? &in[2] : NULL,
                    .out = &out[0], .req = req[0]};
    dpsroi_run(attrs, &io);
    return AM_OK;
}

/* _backward__contrib_DeformablePSROIPooling(out_grad, data, rois[, trans]):
 * d data[, d trans]. */
static int dpsroi_bwd_num_inputs(const void *attrs)
{
    return dpsroi_num_inputs(attrs) + 1;
}

static int dpsroi_bwd_num_outputs(const void *attrs)
{
    return ((const dpsroi_attrs *)attrs)->no_trans ? 1 : 2;
}

static am_status dpsroi_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_out);
    const dpsroi_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = dpsroi_check(a, &in[1], &in[2], n_in > 3 ? &in[3] : NULL);
    if (st != AM_OK) return st;
    am_shape want = AM_SHAPE(in[2].dim[0], a->output_dim, a->pooled_size, a->pooled_size);
    if (!am_shape_equal(want, in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be %s", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&want, b1));
    out[0] = in[1];
    if (n_in > 3) out[1] = in[3];
    return AM_OK;
}

static void zero_unless_add(const am_view *v, am_req req)
{
    if (req != AM_REQ_ADD && req != AM_REQ_NULL && am_view_size(v))
        memset(v->data, 0, (size_t)am_view_size(v) * am_dtype_size(v->dtype));
}

static am_status dpsroi_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx);
    for (int i = 0; i < n_out; i++) zero_unless_add(&out[i], req[i]);
    dpsroi_io io = {.data = &in[1], .rois = &in[2], .trans = n_in > 3 ? &in[3] : NULL,
                    .gout = &in[0], .gdata = req[0] != AM_REQ_NULL ? &out[0] : NULL,
                    .gtrans = n_out > 1 && req[1] != AM_REQ_NULL ? &out[1] : NULL};
    if (io.gdata || io.gtrans) dpsroi_run(attrs, &io);
    return AM_OK;
}

const am_op_def am_op_backward_deformable_psroi_pooling = {
    .name = "_backward__contrib_DeformablePSROIPooling",
    .input_names = (const char *const[]){"out_grad", "data", "rois", "trans", NULL},
    .num_inputs = dpsroi_bwd_num_inputs, .num_outputs = 2,
    .num_outputs_of = dpsroi_bwd_num_outputs, .attrs = dpsroi_fields,
    .attrs_size = sizeof(dpsroi_attrs), .infer_shape = dpsroi_bwd_shape,
    .infer_dtype = am_infer_dtype_float_same, .cpu = dpsroi_bwd_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD | AM_OP_VARIADIC,
    .doc = "DeformablePSROIPooling's gradients for data and (unless no_trans) trans."};

static am_status dpsroi_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    bool trans = g->n_in > 2;
    if (!g->need_grad[0] && !(trans && g->need_grad[2])) return AM_OK;
    am_array *x[4] = {og[0], am_block_grad_at(in[0], g->at), am_block_grad_at(in[1], g->at),
                      trans ? am_block_grad_at(in[2], g->at) : NULL};
    am_array *y[2] = {NULL, NULL};
    am_status st = am_op_call(&am_op_backward_deformable_psroi_pooling, g->attrs, x,
                              trans ? 4 : 3, y, trans ? 2 : 1, g->at);
    if (st != AM_OK) return st;
    if (g->need_grad[0]) ig[0] = y[0];
    if (trans && g->need_grad[2]) ig[2] = y[1];
    return AM_OK;
}

const am_op_def am_op_deformable_psroi_pooling = {
    .name = "_contrib_DeformablePSROIPooling",
    .input_names = (const char *const[]){"data", "rois", "trans", NULL},
    .num_inputs = dpsroi_num_inputs, .num_outputs = 1, .attrs = dpsroi_fields,
    .attrs_size = sizeof(dpsroi_attrs), .infer_shape = dpsroi_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = dpsroi_cpu, .gradient = dpsroi_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_VARIADIC,
    .doc = "Deformable position-sensitive RoI pooling: bins of rois (R, 5) over data "
           "(N, C, H, W) moved by trans, averaged bilinear samples (R, output_dim, P, P)."};

am_array *am_deformable_psroi_pooling_at(am_array *data, am_array *rois, am_array *trans,
                                         double spatial_scale, int64_t output_dim,
                                         int64_t group_size, int64_t pooled_size,
                                         int64_t sample_per_part, double trans_std, am_site at)
{
    dpsroi_attrs a;
    if (am_attrs_init(&am_op_deformable_psroi_pooling, &a) != AM_OK) return NULL;
    a.spatial_scale = spatial_scale, a.output_dim = output_dim, a.group_size = group_size;
    a.pooled_size = pooled_size, a.sample_per_part = sample_per_part, a.trans_std = trans_std;
    a.no_trans = trans == NULL;
    am_array *in[3] = {data, rois, trans}, *y = NULL;
    am_op_call(&am_op_deformable_psroi_pooling, &a, in, trans ? 3 : 2, &y, 1, at);
    return y;
}
