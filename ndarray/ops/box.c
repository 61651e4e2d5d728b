/* _contrib_box_nms (alias _contrib_box_non_maximum_suppression), the non-maximum
 * suppression that ends GluonCV's SSD, YOLO and Faster R-CNN exports, as MXNet 1.9.1 does
 * it: per batch, boxes scoring above valid_thresh (and not of background_id) sorted by
 * score, descending and stable, the first topk kept, then greedy suppression by IoU; a
 * hidden second output records where each output row came from, for the gradient.  Also
 * _contrib_box_iou and _contrib_box_decode, which MXNet does not differentiate either. */
#include "../ndarray_impl.h"

#include <math.h>

enum { FMT_CORNER, FMT_CENTER };
static const char *const box_formats[] = {"corner", "center", NULL};

typedef struct nms_attrs {
    double overlap_thresh, valid_thresh;
    int64_t topk, coord_start, score_index, id_index, background_id;
    bool force_suppress;
    int in_format, out_format;
} nms_attrs;

static const am_attr_field nms_fields[] = {
    AM_ATTR_FIELD(nms_attrs, overlap_thresh, AM_ATTR_FLOAT, "0.5",
                  "IoU above which the lower-scoring box is suppressed"),
    AM_ATTR_FIELD(nms_attrs, valid_thresh, AM_ATTR_FLOAT, "0",
                  "boxes scoring at most this are dropped first"),
    AM_ATTR_FIELD(nms_attrs, topk, AM_ATTR_INT, "-1",
                  "boxes kept per batch after sorting (-1: all; 0: no suppression)"),
    AM_ATTR_FIELD(nms_attrs, coord_start, AM_ATTR_INT, "2", "index of the 4 coordinates"),
    AM_ATTR_FIELD(nms_attrs, score_index, AM_ATTR_INT, "1", "index of the score"),
    AM_ATTR_FIELD(nms_attrs, id_index, AM_ATTR_INT, "-1", "index of the class id (-1: none)"),
    AM_ATTR_FIELD(nms_attrs, background_id, AM_ATTR_INT, "-1",
                  "class id dropped before suppression (with id_index)"),
    AM_ATTR_FIELD(nms_attrs, force_suppress, AM_ATTR_BOOL, "False",
                  "suppress across classes too (else only within a class, given id_index)"),
    AM_ATTR_ENUM_FIELD(nms_attrs, in_format, box_formats, "corner",
                       "corner: (xmin, ymin, xmax, ymax); center: (x, y, w, h)"),
    AM_ATTR_ENUM_FIELD(nms_attrs, out_format, box_formats, "corner", "format of the output"),
    {0}};

static am_status nms_check(const nms_attrs *a, const am_shape *s)
{
    char b[96];
    if (s->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (s->ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s must have 2 or more axes (..., boxes, width)",
                       am_shape_format(s, b, sizeof(b)));
    int64_t w = s->dim[s->ndim - 1], cs = a->coord_start, si = a->score_index, id = a->id_index;
    if (w < (id > 0 ? 6 : 5))
        return am_fail(AM_ERR_SHAPE, "data %s: each box needs at least %d values (score, 4 "
                       "coordinates%s)", am_shape_format(s, b, sizeof(b)), id > 0 ? 6 : 5,
                       id > 0 ? ", id" : "");
    if (cs < 0 || cs + 3 >= w)
        return am_fail(AM_ERR_ARG, "coord_start=%lld: the coordinates fall outside the %lld "
                       "values of a box", (long long)cs, (long long)w);
    if (si < 0 || si >= w || (si >= cs && si <= cs + 3))
        return am_fail(AM_ERR_ARG, "score_index=%lld is outside the box (width %lld) or among "
                       "its coordinates (coord_start=%lld)", (long long)si, (long long)w,
                       (long long)cs);
    if (id >= 0 && (id >= w || (id >= cs && id <= cs + 3) || id == si))
        return am_fail(AM_ERR_ARG, "id_index=%lld is outside the box (width %lld) or collides "
                       "with the score or the coordinates", (long long)id, (long long)w);
    return AM_OK;
}

static am_status nms_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = nms_check(attrs, &in[0]);
    if (st != AM_OK) return st;
    out[0] = out[1] = in[0];
    out[1].dim[in[0].ndim - 1] = 1;
    return AM_OK;
}

static am_status nms_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input %d is %s but input 0 is %s", i,
                           am_dtype_name(in[i]), am_dtype_name(in[0]));
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s data is not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    out[0] = in[0];
    if (n_out > 1) out[1] = in[0];
    return AM_OK;
}

/* A candidate: its score and its row in the batch. */
typedef struct nms_cand {
    double score;
    int64_t row;
} nms_cand;

static size_t nms_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return sizeof(nms_cand) * (size_t)(in[0].ndim >= 2 ? in[0].dim[in[0].ndim - 2] : 0);
}

/* Descending score; ties keep the input order (MXNet's stable sort). */
static int cand_cmp(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score > b->score) return -1;
    if (a->score < b->score) return 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* Overlap of [a0 a1] and [b0 b1] along one axis (corner), or of centre/size pairs. */
static double overlap_1d(const double *a, const double *b, int fmt)
{
    double lo, hi;
    if (fmt == FMT_CORNER) {
        lo = a[0] > b[0] ? a[0] : b[0];
        hi = a[2] < b[2] ? a[2] : b[2];
    } else {
        double al = a[0] - a[2] / 2, ar = a[0] + a[2] / 2, bl = b[0] - b[2] / 2,
               br = b[0] + b[2] / 2;
        lo = al > bl ? al : bl;
        hi = ar < br ? ar : br;
    }
    return hi - lo > 0 ? hi - lo : 0;
}

static double box_area(const double *c, int fmt)
{
    double w = fmt == FMT_CORNER ? c[2] - c[0] : c[2], h = fmt == FMT_CORNER ? c[3] - c[1] : c[3];
    return w < 0 || h < 0 ? 0 : w * h;
}

static double box_iou(const double *a, const double *b, int fmt)
{
    double inter = overlap_1d(a, b, fmt) * overlap_1d(a + 1, b + 1, fmt);
    if (inter <= 0) return 0;
    return inter / (box_area(a, fmt) + box_area(b, fmt) - inter);
}

/* Converts the 4 coordinates at c between formats, skipping a row whose first coordinate is
 * negative (as MXNet does: that is how it recognises the -1 rows). */
static void convert_box(double *c, int to)
{
    if (c[0] < 0) return;
    if (to == FMT_CENTER) {
        double l = c[0], t = c[1], r = c[2], b = c[3];
        c[0] = (l + r) / 2, c[1] = (t + b) / 2, c[2] = r - l, c[3] = b - t;
    } else {
        double x = c[0], y = c[1], w = c[2] / 2, h = c[3] / 2;
        c[0] = x - w, c[1] = y - h, c[2] = x + w, c[3] = y + h;
    }
}

/* Stores v at element i of v's view as req asks. */
static void put(const am_view *v, int64_t i, double x, am_req r)
{
    if (r == AM_REQ_NULL) return;
    am_view_set(v, i, r == AM_REQ_ADD ? am_view_get(v, i) + x : x);
}

/* One batch: rows x (n x w) into rows y, record rec (global row indices or -1). */
static void nms_batch(const nms_attrs *a, const am_view *x, const am_view *y,
                      const am_view *rec, int64_t b, int64_t n, int64_t w, nms_cand *cand,
                      const am_req *req)
{
    int64_t base = b * n, m = 0, kept = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = am_view_get(x, (base + i) * w + a->score_index);
        if (!(s > a->valid_thresh)) continue;
        if (a->id_index >= 0 && a->background_id >= 0 &&
            am_view_get(x, (base + i) * w + a->id_index) == (double)a->background_id)
            continue;
        cand[m++] = (nms_cand){.score = s, .row = i};
    }
    if (m > 1) qsort(cand, (size_t)m, sizeof(*cand), cand_cmp);
    int64_t k = a->topk < 0 || a->topk > m ? m : a->topk;
    for (int64_t r = 0; r < k; r++) { /* greedy: a kept box suppresses later overlaps */
        if (cand[r].row < 0) continue;
        double cr[4], id_r = 0;
        for (int j = 0; j < 4; j++)
            cr[j] = am_view_get(x, (base + cand[r].row) * w + a->coord_start + j);
        if (a->id_index >= 0) id_r = am_view_get(x, (base + cand[r].row) * w + a->id_index);
        for (int64_t p = r + 1; p < k; p++) {
            if (cand[p].row < 0) continue;
            if (!a->force_suppress && a->id_index >= 0 &&
                (int64_t)id_r != (int64_t)am_view_get(x, (base + cand[p].row) * w + a->id_index))
                continue;
            double cp[4];
            for (int j = 0; j < 4; j++)
                cp[j] = am_view_get(x, (base + cand[p].row) * w + a->coord_start + j);
            if (box_iou(cr, cp, a->in_format) > a->overlap_thresh) cand[p].row = -1;
        }
    }
    for (int64_t r = 0; r < k; r++) {
        if (cand[r].row < 0) continue;
        double row[4];
        int64_t o = base + kept++;
        for (int64_t j = 0; j < w; j++) {
            double v = am_view_get(x, (base + cand[r].row) * w + j);
            if (j >= a->coord_start && j < a->coord_start + 4) row[j - a->coord_start] = v;
            else put(y, o * w + j, v, req[0]);
        }
        if (a->in_format != a->out_format) convert_box(row, a->out_format);
        for (int j = 0; j < 4; j++) put(y, o * w + a->coord_start + j, row[j], req[0]);
        put(rec, o, (double)(base + cand[r].row), req[1]);
    }
    for (int64_t o = base + kept; o < base + n; o++) {
        for (int64_t j = 0; j < w; j++) put(y, o * w + j, -1, req[0]);
        put(rec, o, -1, req[1]);
    }
}

static am_status nms_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const nms_attrs *a = attrs;
    const am_view *x = &in[0];
    int64_t n = x->dim[x->ndim - 2], w = x->dim[x->ndim - 1], nb = 1;
    for (int i = 0; i < x->ndim - 2; i++) nb *= x->dim[i];
    if (a->topk == 0) { /* MXNet: a copy, each row its own record */
        for (int64_t i = 0; i < nb * n; i++) {
            for (int64_t j = 0; j < w; j++)
                put(&out[0], i * w + j, am_view_get(x, i * w + j), req[0]);
            put(&out[1], i, (double)i, req[1]);
        }
        return AM_OK;
    }
    for (int64_t b = 0; b < nb; b++)
        nms_batch(a, x, &out[0], &out[1], b, n, w, ctx->workspace, req);
    return AM_OK;
}

/* _backward_contrib_box_nms (ograd, record) -> data grad: output row i's gradient goes back
 * to input row record[i]; suppressed and dropped rows get zeros. */
static am_status nms_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[96], b1[96];
    am_shape y[2];
    am_status st = nms_shape(attrs, &in[0], 1, y, 2);
    if (st != AM_OK) return st;
    if (in[1].ndim < 0) in[1] = y[1];
    if (in[1].ndim != y[1].ndim || memcmp(in[1].dim, y[1].dim, sizeof(int64_t) * (size_t)y[1].ndim))
        return am_fail(AM_ERR_SHAPE, "record %s does not match ograd %s",
                       am_shape_format(&in[1], b0, sizeof(b0)),
                       am_shape_format(&in[0], b1, sizeof(b1)));
    out[0] = in[0];
    return AM_OK;
}

static am_status nms_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t w = in[0].dim[in[0].ndim - 1], rows = am_view_size(&in[1]);
    if (req[0] != AM_REQ_ADD)
        if (am_view_size(&out[0]) > 0)
            memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    for (int64_t i = 0; i < rows; i++) {
        double r = am_view_get(&in[1], i);
        if (!(r >= 0 && r < (double)rows)) continue;
        int64_t src = (int64_t)r;
        for (int64_t j = 0; j < w; j++)
            am_view_set(&out[0], src * w + j,
                        am_view_get(&out[0], src * w + j) + am_view_get(&in[0], i * w + j));
    }
    return AM_OK;
}

extern const am_op_def am_op_backward_box_nms;

static am_status nms_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    am_array *args[2] = {og[0], out[1]};
    return am_op_call(&am_op_backward_box_nms, g->attrs, args, 2, &ig[0], 1, g->at);
}

static int one_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

const am_op_def am_op_box_nms = {
    .name = "_contrib_box_nms",
    .aliases = (const char *const[]){"_contrib_box_non_maximum_suppression", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 2,
    .num_visible = one_visible, .attrs = nms_fields, .attrs_size = sizeof(nms_attrs),
    .infer_shape = nms_shape, .infer_dtype = nms_dtype, .temp_bytes = nms_temp,
    .cpu = nms_cpu, .gradient = nms_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Non-maximum suppression of (..., boxes, width) rows: kept boxes sorted by score "
           "first, the rest -1; a hidden second output records each row's source."};

const am_op_def am_op_backward_box_nms = {
    .name = "_backward_contrib_box_nms",
    .input_names = (const char *const[]){"ograd", "record", NULL}, .num_outputs = 1,
    .attrs = nms_fields, .attrs_size = sizeof(nms_attrs), .infer_shape = nms_bwd_shape,
    .infer_dtype = nms_dtype, .cpu = nms_bwd_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "Gradient of _contrib_box_nms from (ograd, record): each kept row's gradient goes "
           "back to its input row."};

am_array *am_box_nms_at(am_array *x, double overlap_thresh, double valid_thresh, int64_t topk,
                        int64_t id_index, bool force_suppress, am_site at)
{
    nms_attrs a;
    if (am_attrs_init(&am_op_box_nms, &a) != AM_OK) return NULL;
    a.overlap_thresh = overlap_thresh, a.valid_thresh = valid_thresh, a.topk = topk;
    a.id_index = id_index, a.force_suppress = force_suppress;
    am_array *y = NULL;
    am_op_call(&am_op_box_nms, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- _contrib_box_iou ------------------------------------------------------------------- */

typedef struct iou_attrs {
    int format;
} iou_attrs;

static const am_attr_field iou_fields[] = {
    AM_ATTR_ENUM_FIELD(iou_attrs, format, box_formats, "corner",
                       "corner: (xmin, ymin, xmax, ymax); center: (x, y, w, h)"),
    {0}};

static am_status iou_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[96], b1[96];
    const am_shape *l = &in[0], *r = &in[1];
    if (l->ndim < 0 || r->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shapes must be known");
    if (l->ndim < 2 || r->ndim < 2 || l->dim[l->ndim - 1] != 4 || r->dim[r->ndim - 1] != 4 ||
        l->ndim + r->ndim - 2 > AM_MAX_NDIM)
        return am_fail(AM_ERR_SHAPE, "lhs %s and rhs %s must both be (..., 4), 2 or more axes",
                       am_shape_format(l, b0, sizeof(b0)), am_shape_format(r, b1, sizeof(b1)));
    am_shape o = {.ndim = 0};
    for (int i = 0; i < l->ndim - 1; i++) o.dim[o.ndim++] = l->dim[i];
    for (int i = 0; i < r->ndim - 1; i++) o.dim[o.ndim++] = r->dim[i];
    out[0] = o;
    return AM_OK;
}

static am_status iou_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int fmt = ((const iou_attrs *)attrs)->format;
    int64_t nl = am_view_size(&in[0]) / 4, nr = am_view_size(&in[1]) / 4;
    for (int64_t i = 0; i < nl; i++) {
        double a[4];
        for (int k = 0; k < 4; k++) a[k] = am_view_get(&in[0], i * 4 + k);
        for (int64_t j = 0; j < nr; j++) {
            double b[4];
            for (int k = 0; k < 4; k++) b[k] = am_view_get(&in[1], j * 4 + k);
            put(&out[0], i * nr + j, box_iou(a, b, fmt), req[0]);
        }
    }
    return AM_OK;
}

const am_op_def am_op_box_iou = {
    .name = "_contrib_box_iou", .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .attrs = iou_fields, .attrs_size = sizeof(iou_attrs),
    .infer_shape = iou_shape, .infer_dtype = nms_dtype, .cpu = iou_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Intersection over union of every lhs box (..., 4) with every rhs box (..., 4)."};

/* ---- _contrib_box_decode ---------------------------------------------------------------- */

typedef struct decode_attrs {
    double std0, std1, std2, std3, clip;
    int format;
} decode_attrs;

static const am_attr_field decode_fields[] = {
    AM_ATTR_FIELD(decode_attrs, std0, AM_ATTR_FLOAT, "1", "scale of the x offsets"),
    AM_ATTR_FIELD(decode_attrs, std1, AM_ATTR_FLOAT, "1", "scale of the y offsets"),
    AM_ATTR_FIELD(decode_attrs, std2, AM_ATTR_FLOAT, "1", "scale of the log-width offsets"),
    AM_ATTR_FIELD(decode_attrs, std3, AM_ATTR_FLOAT, "1", "scale of the log-height offsets"),
    AM_ATTR_FIELD(decode_attrs, clip, AM_ATTR_FLOAT, "-1",
                  "above 0: upper bound of the scaled log-size offsets"),
    AM_ATTR_ENUM_FIELD(decode_attrs, format, box_formats, "center",
                       "encoding of the anchors (the output is corner)"),
    {0}};

static am_status decode_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[96], b1[96];
    const am_shape *d = &in[0], *a = &in[1];
    if (d->ndim < 0 || a->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shapes must be known");
    int64_t na = 1;
    for (int i = 0; i < a->ndim; i++) na *= a->dim[i];
    if (d->ndim != 3 || d->dim[2] != 4 || a->ndim < 3 || a->dim[a->ndim - 1] != 4 ||
        na < d->dim[1] * 4)
        return am_fail(AM_ERR_SHAPE, "data %s must be (B, N, 4) and anchors %s (1, N, 4)",
                       am_shape_format(d, b0, sizeof(b0)), am_shape_format(a, b1, sizeof(b1)));
    out[0] = *d;
    return AM_OK;
}

static am_status decode_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const decode_attrs *p = attrs;
    int64_t n = in[0].dim[1], rows = in[0].dim[0] * n;
    for (int64_t i = 0; i < rows; i++) {
        double an[4], x[4];
        for (int k = 0; k < 4; k++) {
            an[k] = am_view_get(&in[1], (i % n) * 4 + k);
            x[k] = am_view_get(&in[0], i * 4 + k);
        }
        if (p->format == FMT_CORNER) {
            an[2] -= an[0], an[3] -= an[1];
            an[0] += an[2] * 0.5, an[1] += an[3] * 0.5;
        }
        double ox = x[0] * p->std0 * an[2] + an[0], oy = x[1] * p->std1 * an[3] + an[1];
        double dw = x[2] * p->std2, dh = x[3] * p->std3;
        if (p->clip > 0) dw = dw < p->clip ? dw : p->clip, dh = dh < p->clip ? dh : p->clip;
        double ow = exp(dw) * an[2] * 0.5, oh = exp(dh) * an[3] * 0.5;
        put(&out[0], i * 4 + 0, ox - ow, req[0]);
        put(&out[0], i * 4 + 1, oy - oh, req[0]);
        put(&out[0], i * 4 + 2, ox + ow, req[0]);
        put(&out[0], i * 4 + 3, oy + oh, req[0]);
    }
    return AM_OK;
}

const am_op_def am_op_box_decode = {
    .name = "_contrib_box_decode", .input_names = (const char *const[]){"data", "anchors", NULL},
    .num_outputs = 1, .attrs = decode_fields, .attrs_size = sizeof(decode_attrs),
    .infer_shape = decode_shape, .infer_dtype = nms_dtype, .cpu = decode_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Decodes normalized centre offsets (B, N, 4) against anchors (1, N, 4) into "
           "corner boxes (xmin, ymin, xmax, ymax)."};

am_array *am_box_iou_at(am_array *lhs, am_array *rhs, bool center, am_site at)
{
    iou_attrs a = {.format = center ? FMT_CENTER : FMT_CORNER};
    am_array *in[2] = {lhs, rhs}, *y = NULL;
    am_op_call(&am_op_box_iou, &a, in, 2, &y, 1, at);
    return y;
}

am_array *am_box_decode_at(am_array *data, am_array *anchors, const double *std, double clip,
                           bool corner_anchors, am_site at)
{
    decode_attrs a = {.std0 = std ? std[0] : 1, .std1 = std ? std[1] : 1,
                      .std2 = std ? std[2] : 1, .std3 = std ? std[3] : 1, .clip = clip,
                      .format = corner_anchors ? FMT_CORNER : FMT_CENTER};
    am_array *in[2] = {data, anchors}, *y = NULL;
    am_op_call(&am_op_box_decode, &a, in, 2, &y, 1, at);
    return y;
}
