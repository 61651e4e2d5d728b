/* Bounding-box ops that GluonCV's detectors (SSD, Faster R-CNN, YOLO) write into
 * graphs, as MXNet 1.9.1 has them: _contrib_box_iou, _contrib_box_nms (and its
 * backward), _contrib_bipartite_matching, _contrib_box_encode, _contrib_box_decode.
 *
 * Boxes are "corner" [xmin, ymin, xmax, ymax] or "center" [x, y, width, height].
 * Arithmetic runs in the data's dtype, with MXNet's float attributes rounded to
 * float first, so that ties at a threshold break as MXNet's do.  Only box_nms
 * has a gradient in MXNet (its rows scattered back to where they came from); the
 * others are AM_OP_NO_GRAD (MXNet returns zeros).  Docs: docs/detection.md. */
#include "shape_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FMT_CORNER, FMT_CENTER };
static const char *const box_formats[] = {"corner", "center", NULL};

/* out = v, or out += v, as req says. */
#define BOX_PUT(dst, v, r) \
    do {                                         \
        if ((r) == AM_REQ_ADD) (dst) += (v);     \
        else if ((r) != AM_REQ_NULL) (dst) = (v); \
    } while (0)

/* Length of the overlap of two boxes along one axis: a and b point at that
 * axis's first coordinate (x or y); the second is two entries on. */
#define BOX_HELPERS(T)                                                               \
    static inline T overlap_1d_##T(const T *a, const T *b, int fmt)                  \
    {                                                                                \
        T l, r;                                                                      \
        if (fmt == FMT_CORNER) {                                                     \
            l = a[0] > b[0] ? a[0] : b[0];                                           \
            r = a[2] < b[2] ? a[2] : b[2];                                           \
        } else {                                                                     \
            T al = a[0] - a[2] / 2, ar = a[0] + a[2] / 2;                            \
            T bl = b[0] - b[2] / 2, br = b[0] + b[2] / 2;                            \
            l = bl > al ? bl : al;                                                   \
            r = br < ar ? br : ar;                                                   \
        }                                                                            \
        T w = r - l;                                                                 \
        return w > 0 ? w : (T)0;                                                     \
    }                                                                                \
    static inline T area_##T(const T *a, int fmt)                                    \
    {                                                                                \
        T w = fmt == FMT_CORNER ? a[2] - a[0] : a[2];                                \
        T h = fmt == FMT_CORNER ? a[3] - a[1] : a[3];                                \
        return (w < 0 || h < 0) ? (T)0 : w * h;                                      \
    }
BOX_HELPERS(float)
BOX_HELPERS(double)

/* ---- _contrib_box_iou ------------------------------------------------------------------ */

typedef struct box_iou_attrs {
    int format;
} box_iou_attrs;

static const am_attr_field box_iou_fields[] = {
    AM_ATTR_ENUM_FIELD(box_iou_attrs, format, box_formats, "corner",
                       "box encoding: corner [xmin, ymin, xmax, ymax] or center [x, y, w, h]"),
    {0}};

/* AM_ERR_SHAPE unless s is (..., 4) with at least two axes. */
static am_status need_boxes(const am_shape *s, const char *what)
{
    char b[AM_SHAPE_BUF];
    if (s->ndim < 2 || s->dim[s->ndim - 1] != 4)
        return am_fail(AM_ERR_SHAPE, "%s %s must be (..., 4) boxes with at least 2 axes", what,
                       am_fmt_shape(s, b));
    return AM_OK;
}

static am_status box_iou_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = need_boxes(&in[0], "lhs");
    if (st == AM_OK) st = need_boxes(&in[1], "rhs");
    if (st != AM_OK) return st;
    int nd = in[0].ndim + in[1].ndim - 2;
    if (nd > AM_MAX_NDIM)
        return am_fail(AM_ERR_SHAPE, "the output would have %d axes (at most %d)", nd,
                       AM_MAX_NDIM);
    out[0].ndim = nd;
    int k = 0;
    for (int i = 0; i < in[0].ndim - 1; i++) out[0].dim[k++] = in[0].dim[i];
    for (int i = 0; i < in[1].ndim - 1; i++) out[0].dim[k++] = in[1].dim[i];
    return AM_OK;
}

#define BOX_IOU(T)                                                                      \
    static void box_iou_##T(const T *l, const T *r, T *o, int64_t nl, int64_t nr, int fmt, \
                            am_req req)                                                 \
    {                                                                                   \
        const int64_t n = nl * nr;                                                      \
        AM_OMP_FOR_N                                                                    \
        for (int64_t i = 0; i < n; i++) {                                               \
            const T *a = l + (i / nr) * 4, *b = r + (i % nr) * 4;                       \
            T inter = overlap_1d_##T(a, b, fmt) * overlap_1d_##T(a + 1, b + 1, fmt);    \
            T v = inter <= 0 ? (T)0                                                     \
                             : inter / (area_##T(a, fmt) + area_##T(b, fmt) - inter);   \
            BOX_PUT(o[i], v, req);                                                      \
        }                                                                               \
    }
BOX_IOU(float)
BOX_IOU(double)

static am_status box_iou_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const box_iou_attrs *a = attrs;
    int64_t nl = am_view_size(&in[0]) / 4, nr = am_view_size(&in[1]) / 4;
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        box_iou_float(in[0].data, in[1].data, out[0].data, nl, nr, a->format, req[0]);
    else
        box_iou_double(in[0].data, in[1].data, out[0].data, nl, nr, a->format, req[0]);
    return AM_OK;
}

const am_op_def am_op_box_iou = {
    .name = "_contrib_box_iou",
    .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .attrs = box_iou_fields, .attrs_size = sizeof(box_iou_attrs),
    .infer_shape = box_iou_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = box_iou_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Intersection over union of every box of lhs (..., 4) with every box of rhs "
           "(..., 4): shape lhs[:-1] + rhs[:-1]."};

am_array *am_box_iou_at(am_array *lhs, am_array *rhs, const char *format, am_site at)
{
    box_iou_attrs a = {0};
    if (format && strcmp(format, "center") == 0) a.format = FMT_CENTER;
    else if (format && strcmp(format, "corner") != 0)
        return am_fail_null("_contrib_box_iou", at, AM_ERR_ARG,
                            "format '%s' is not one of corner, center", format);
    am_array *in[2] = {lhs, rhs}, *y = NULL;
    am_op_call(&am_op_box_iou, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- _contrib_box_nms ------------------------------------------------------------------ */

typedef struct box_nms_attrs {
    double overlap_thresh, valid_thresh;
    int64_t topk, coord_start, score_index, id_index, background_id;
    bool force_suppress;
    int in_format, out_format;
} box_nms_attrs;

static const am_attr_field box_nms_fields[] = {
    AM_ATTR_FIELD(box_nms_attrs, overlap_thresh, AM_ATTR_FLOAT, "0.5",
                  "IoU above which the box with the lower score is suppressed"),
    AM_ATTR_FIELD(box_nms_attrs, valid_thresh, AM_ATTR_FLOAT, "0",
                  "only boxes whose score is greater than this take part"),
    AM_ATTR_FIELD(box_nms_attrs, topk, AM_ATTR_INT, "-1",
                  "keep at most this many of the highest scores per batch before NMS; -1: all"),
    AM_ATTR_FIELD(box_nms_attrs, coord_start, AM_ATTR_INT, "2",
                  "index of the first of the 4 coordinates in a row"),
    AM_ATTR_FIELD(box_nms_attrs, score_index, AM_ATTR_INT, "1", "index of the score in a row"),
    AM_ATTR_FIELD(box_nms_attrs, id_index, AM_ATTR_INT, "-1",
                  "index of the class id in a row; -1: no classes"),
    AM_ATTR_FIELD(box_nms_attrs, background_id, AM_ATTR_INT, "-1",
                  "class id of boxes left out (with id_index)"),
    AM_ATTR_FIELD(box_nms_attrs, force_suppress, AM_ATTR_BOOL, "False",
                  "suppress across classes (else only within a class when id_index is set)"),
    AM_ATTR_ENUM_FIELD(box_nms_attrs, in_format, box_formats, "corner", "input box encoding"),
    AM_ATTR_ENUM_FIELD(box_nms_attrs, out_format, box_formats, "corner", "output box encoding"),
    {0}};

static am_status box_nms_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const box_nms_attrs *a = attrs;
    char b[AM_SHAPE_BUF];
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s must be (..., boxes, row width) with at least 2 "
                       "axes", am_fmt_shape(&in[0], b));
    int64_t w = in[0].dim[in[0].ndim - 1], need = a->id_index >= 0 ? 6 : 5;
    if (w < need)
        return am_fail(AM_ERR_SHAPE, "data %s has rows of %lld; score and 4 coordinates%s need "
                       "%lld", am_fmt_shape(&in[0], b), (long long)w,
                       a->id_index >= 0 ? " and a class id" : "", (long long)need);
    int64_t c0 = a->coord_start, c3 = a->coord_start + 3, s = a->score_index, id = a->id_index;
    if (c0 < 0 || c3 >= w)
        return am_fail(AM_ERR_ARG, "coord_start=%lld: coordinates %lld..%lld are outside rows "
                       "of %lld", (long long)c0, (long long)c0, (long long)c3, (long long)w);
    if (s < 0 || s >= w || (s >= c0 && s <= c3))
        return am_fail(AM_ERR_ARG, "score_index=%lld is outside rows of %lld or among the "
                       "coordinates %lld..%lld", (long long)s, (long long)w, (long long)c0,
                       (long long)c3);
    if (id >= 0 && (id >= w || (id >= c0 && id <= c3) || id == s))
        return am_fail(AM_ERR_ARG, "id_index=%lld is outside rows of %lld or among the "
                       "coordinates %lld..%lld or the score", (long long)id, (long long)w,
                       (long long)c0, (long long)c3);
    out[0] = in[0];
    out[1] = in[0];
    out[1].dim[out[1].ndim - 1] = 1;
    return AM_OK;
}

static int one_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

/* A candidate: its score and its row within the batch. */
typedef struct nms_cand {
    double score;
    int64_t row;
} nms_cand;

/* Descending score; ties keep the input order (MXNet's sort is stable). */
static int cand_cmp(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* Workspace: the output and the record as built (B*N*W + B*N of T), then,
 * 16-byte aligned, per batch N candidates and N areas. */
static size_t box_nms_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t total = am_shape_size(&in[0]), w = in[0].dim[in[0].ndim - 1];
    int64_t n = in[0].dim[in[0].ndim - 2];
    return (size_t)(total + (w ? total / w : 0)) * sizeof(double) + 16 +
           (size_t)n * (sizeof(nms_cand) + sizeof(double));
}

/* Converts one row's 4 coordinates between encodings, skipping rows whose first
 * coordinate is negative (the -1 padding rows; MXNet skips any such row). */
#define BOX_CONVERT(T)                                                         \
    static void convert_##T(T *c, int to)                                      \
    {                                                                          \
        if (c[0] < 0) return;                                                  \
        if (to == FMT_CENTER) {                                                \
            T l = c[0], t = c[1], r = c[2], b = c[3];                          \
            c[0] = (l + r) / 2, c[1] = (t + b) / 2, c[2] = r - l, c[3] = b - t; \
        } else {                                                               \
            T x = c[0], y = c[1], w = c[2] / 2, h = c[3] / 2;                  \
            c[0] = x - w, c[1] = y - h, c[2] = x + w, c[3] = y + h;            \
        }                                                                      \
    }
BOX_CONVERT(float)
BOX_CONVERT(double)

/* One batch of n rows of width w: candidates sorted by score, topk kept, NMS,
 * survivors copied to the front of out (the rest -1) with their global row
 * numbers (base + row) in rec. */
#define BOX_NMS_BATCH(T)                                                                   \
    static void nms_batch_##T(const box_nms_attrs *a, const T *x, T *out, T *rec, int64_t n, \
                              int64_t w, int64_t base, int64_t topk, nms_cand *cand, T *area) \
    {                                                                                      \
        const T vt = (T)(float)a->valid_thresh, ot = (T)(float)a->overlap_thresh;          \
        const int64_t cs = a->coord_start, id = a->id_index;                               \
        int64_t nv = 0;                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                  \
            const T *row = x + i * w;                                                      \
            if (!(row[a->score_index] > vt)) continue;                                     \
            if (id >= 0 && row[id] == (T)a->background_id) continue;                       \
            cand[nv++] = (nms_cand){row[a->score_index], i};                               \
        }                                                                                  \
        if (nv > 1) qsort(cand, (size_t)nv, sizeof(*cand), cand_cmp);                                \
        if (nv > topk) nv = topk;                                                          \
        for (int64_t k = 0; k < nv; k++) area[k] = area_##T(x + cand[k].row * w + cs, a->in_format); \
        for (int64_t r = 0; r < nv; r++) {                                                 \
            if (cand[r].row < 0) continue;                                                 \
            const T *rb = x + cand[r].row * w + cs;                                        \
            for (int64_t p = r + 1; p < nv; p++) {                                         \
                if (cand[p].row < 0) continue;                                             \
                const T *pb = x + cand[p].row * w + cs;                                    \
                if (!a->force_suppress && id >= 0 &&                                       \
                    (int)x[cand[r].row * w + id] != (int)x[cand[p].row * w + id])          \
                    continue;                                                              \
                T inter = overlap_1d_##T(rb, pb, a->in_format) *                           \
                          overlap_1d_##T(rb + 1, pb + 1, a->in_format);                    \
                T iou = inter / (area[r] + area[p] - inter);                               \
                if (iou > ot) cand[p].row = -1;                                            \
            }                                                                              \
        }                                                                                  \
        for (int64_t i = 0; i < n * w; i++) out[i] = -1;                                   \
        for (int64_t i = 0; i < n; i++) rec[i] = -1;                                       \
        int64_t cnt = 0;                                                                   \
        for (int64_t k = 0; k < nv; k++) {                                                 \
            if (cand[k].row < 0) continue;                                                 \
            memcpy(out + cnt * w, x + cand[k].row * w, (size_t)w * sizeof(T));             \
            rec[cnt++] = (T)(base + cand[k].row);                                          \
        }                                                                                  \
        if (a->in_format != a->out_format)                                                 \
            for (int64_t i = 0; i < n; i++) convert_##T(out + i * w + cs, a->out_format);  \
    }
BOX_NMS_BATCH(float)
BOX_NMS_BATCH(double)

#define BOX_NMS_RUN(T)                                                                     \
    static void box_nms_##T(const box_nms_attrs *a, const am_view *in, const am_view *out,  \
                            const am_req *req, void *ws)                                   \
    {                                                                                      \
        const int64_t total = am_view_size(&in[0]), w = in[0].dim[in[0].ndim - 1];         \
        const int64_t n = in[0].dim[in[0].ndim - 2], rows = w ? total / w : 0;             \
        const int64_t nb = n ? rows / n : 0;                                               \
        const T *x = in[0].data;                                                           \
        T *o = ws, *rec = o + total, *dst = out[0].data, *drec = out[1].data;              \
        int64_t topk = a->topk < 0 ? n : (a->topk < n ? a->topk : n);                      \
        if (topk < 1) {                                                                    \
            if (total) memcpy(o, x, (size_t)total * sizeof(T));                            \
            for (int64_t i = 0; i < rows; i++) rec[i] = (T)i;                              \
        } else {                                                                           \
            uintptr_t at_ = ((uintptr_t)(rec + rows) + 15) & ~(uintptr_t)15;              \
            nms_cand *cand = (nms_cand *)at_;                                              \
            T *area = (T *)(cand + n);                                                     \
            for (int64_t b = 0; b < nb; b++)                                               \
                nms_batch_##T(a, x + b * n * w, o + b * n * w, rec + b * n, n, w, b * n, topk, \
                              cand, area);                                                 \
        }                                                                                  \
        for (int64_t i = 0; i < total; i++) BOX_PUT(dst[i], o[i], req[0]);                 \
        for (int64_t i = 0; i < rows; i++) BOX_PUT(drec[i], rec[i], req[1]);               \
    }
BOX_NMS_RUN(float)
BOX_NMS_RUN(double)

static am_status box_nms_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0].dtype == AM_DTYPE_FLOAT32) box_nms_float(attrs, in, out, req, ctx->workspace);
    else box_nms_double(attrs, in, out, req, ctx->workspace);
    return AM_OK;
}

/* _backward_contrib_box_nms(out_grad, record): zeros, then row i of out_grad
 * into row record[i] wherever record[i] >= 0. */
static am_status box_nms_backward_shape(const void *attrs, am_shape *in, int n_in,
                                        am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    am_shape want = in[0];
    if (want.ndim >= 2) want.dim[want.ndim - 1] = 1;
    if (in[0].ndim < 2 || !am_shape_equal(want, in[1]))
        return am_fail(AM_ERR_SHAPE, "record %s must be out_grad %s with rows of 1",
                       am_fmt_shape(&in[1], b1), am_fmt_shape(&in[0], b0));
    out[0] = in[0];
    return AM_OK;
}

#define BOX_NMS_BACK(T)                                                                    \
    static am_status box_nms_back_##T(const am_view *in, const am_view *out, am_req req)   \
    {                                                                                      \
        const int64_t total = am_view_size(&in[0]), rows = am_view_size(&in[1]);           \
        const int64_t w = rows ? total / rows : 0;                                         \
        const T *og = in[0].data, *rec = in[1].data;                                       \
        T *ig = out[0].data;                                                               \
        for (int64_t i = 0; i < rows; i++)                                                 \
            if (rec[i] >= rows)                                                            \
                return am_fail(AM_ERR_ARG, "record[%lld] = %g is not a row below %lld",    \
                               (long long)i, (double)rec[i], (long long)rows);             \
        if (req != AM_REQ_ADD && total) memset(ig, 0, (size_t)total * sizeof(T));          \
        for (int64_t i = 0; i < rows; i++) {                                               \
            if (!(rec[i] >= 0)) continue;                                                  \
            int64_t r = (int64_t)rec[i];                                                   \
            for (int64_t j = 0; j < w; j++) ig[r * w + j] += og[i * w + j];                \
        }                                                                                  \
        return AM_OK;                                                                      \
    }
BOX_NMS_BACK(float)
BOX_NMS_BACK(double)

static am_status box_nms_backward_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                      const am_view *in, int n_in, const am_view *out,
                                      int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (in[0].dtype == AM_DTYPE_FLOAT32) return box_nms_back_float(in, out, req[0]);
    return box_nms_back_double(in, out, req[0]);
}

const am_op_def am_op_backward_box_nms = {
    .name = "_backward_contrib_box_nms",
    .input_names = (const char *const[]){"out_grad", "record", NULL},
    .num_outputs = 1, .infer_shape = box_nms_backward_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = box_nms_backward_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "box_nms's gradient: rows of out_grad scattered back to the rows record names."};

static am_status box_nms_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], out[1]};
    return am_op_call(&am_op_backward_box_nms, NULL, x, 2, &ig[0], 1, g->at);
}

const am_op_def am_op_box_nms = {
    .name = "_contrib_box_nms",
    .aliases = (const char *const[]){"_contrib_box_non_maximum_suppression", NULL},
    .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 2, .num_visible = one_visible, .attrs = box_nms_fields,
    .attrs_size = sizeof(box_nms_attrs), .infer_shape = box_nms_shape,
    .infer_dtype = am_infer_dtype_float_same, .temp_bytes = box_nms_temp, .cpu = box_nms_cpu,
    .gradient = box_nms_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Non-maximum suppression per batch of rows (..., N, W): survivors by descending "
           "score first, then rows of -1; a hidden output records where each row came from."};

am_array *am_box_nms_at(am_array *data, double overlap_thresh, double valid_thresh, int64_t topk,
                        int64_t id_index, bool force_suppress, am_site at)
{
    box_nms_attrs a;
    am_attrs_init(&am_op_box_nms, &a);
    a.overlap_thresh = overlap_thresh, a.valid_thresh = valid_thresh, a.topk = topk;
    a.id_index = id_index, a.force_suppress = force_suppress;
    am_array *y = NULL;
    am_op_call(&am_op_box_nms, &a, &data, 1, &y, 1, at);
    return y;
}

/* ---- _contrib_bipartite_matching -------------------------------------------------------- */

typedef struct bipartite_attrs {
    bool is_ascend;
    double threshold;
    int64_t topk;
} bipartite_attrs;

static const am_attr_field bipartite_fields[] = {
    AM_ATTR_FIELD(bipartite_attrs, is_ascend, AM_ATTR_BOOL, "False",
                  "match the lowest scores first (threshold is then an upper bound)"),
    AM_ATTR_FIELD(bipartite_attrs, threshold, AM_ATTR_FLOAT, NULL,
                  "scores must be above it (below it with is_ascend) to match"),
    AM_ATTR_FIELD(bipartite_attrs, topk, AM_ATTR_INT, "-1",
                  "stop once more than topk pairs matched (MXNet's rule); -1: no limit"),
    {0}};

static am_status bipartite_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b[AM_SHAPE_BUF];
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s must be (..., rows, columns) scores",
                       am_fmt_shape(&in[0], b));
    out[0] = in[0];
    out[0].ndim--;
    out[1] = out[0];
    out[1].dim[out[1].ndim - 1] = in[0].dim[in[0].ndim - 1];
    return AM_OK;
}

static size_t bipartite_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t r = in[0].dim[in[0].ndim - 2], c = in[0].dim[in[0].ndim - 1];
    return (size_t)(r * c) * sizeof(nms_cand) + (size_t)(r + c) * sizeof(double);
}

/* Ascending score, ties in input order. */
static int cand_cmp_asc(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

#define BIPARTITE(T)                                                                       \
    static void bipartite_##T(const bipartite_attrs *a, const T *s, T *rows, T *cols,       \
                              int64_t nr, int64_t nc, nms_cand *cand)                       \
    {                                                                                      \
        const T th = (T)(float)a->threshold;                                               \
        for (int64_t i = 0; i < nr * nc; i++) cand[i] = (nms_cand){s[i], i};               \
        if (nr * nc > 1)                                                                   \
            qsort(cand, (size_t)(nr * nc), sizeof(*cand), a->is_ascend ? cand_cmp_asc : cand_cmp); \
        for (int64_t i = 0; i < nr; i++) rows[i] = -1;                                     \
        for (int64_t i = 0; i < nc; i++) cols[i] = -1;                                     \
        int64_t count = 0;                                                                 \
        for (int64_t j = 0; j < nr * nc; j++) {                                            \
            int64_t r = cand[j].row / nc, c = cand[j].row % nc;                            \
            if (rows[r] != -1 || cols[c] != -1) continue;                                  \
            T v = s[cand[j].row];                                                          \
            if (!(a->is_ascend ? v < th : v > th)) break;                                  \
            rows[r] = (T)c, cols[c] = (T)r;                                                \
            if (a->topk > 0 && ++count > a->topk) break;                                   \
        }                                                                                  \
    }
BIPARTITE(float)
BIPARTITE(double)

static am_status bipartite_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const int64_t nr = in[0].dim[in[0].ndim - 2], nc = in[0].dim[in[0].ndim - 1];
    int64_t nb = 1;
    for (int i = 0; i < in[0].ndim - 2; i++) nb *= in[0].dim[i];
    nms_cand *cand = ctx->workspace;
    const size_t es = am_dtype_size(in[0].dtype);
    char *rows = (char *)(cand + nr * nc), *cols = rows + nr * es;
    for (int64_t b = 0; b < nb; b++) {
        char *ro = (char *)out[0].data + b * nr * es, *co = (char *)out[1].data + b * nc * es;
        if (in[0].dtype == AM_DTYPE_FLOAT32) {
            bipartite_float(attrs, (const float *)in[0].data + b * nr * nc, (float *)rows,
                            (float *)cols, nr, nc, cand);
            for (int64_t i = 0; i < nr; i++) BOX_PUT(((float *)ro)[i], ((float *)rows)[i], req[0]);
            for (int64_t i = 0; i < nc; i++) BOX_PUT(((float *)co)[i], ((float *)cols)[i], req[1]);
        } else {
            bipartite_double(attrs, (const double *)in[0].data + b * nr * nc, (double *)rows,
                             (double *)cols, nr, nc, cand);
            for (int64_t i = 0; i < nr; i++)
                BOX_PUT(((double *)ro)[i], ((double *)rows)[i], req[0]);
            for (int64_t i = 0; i < nc; i++)
                BOX_PUT(((double *)co)[i], ((double *)cols)[i], req[1]);
        }
    }
    return AM_OK;
}

const am_op_def am_op_bipartite_matching = {
    .name = "_contrib_bipartite_matching",
    .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 2, .attrs = bipartite_fields, .attrs_size = sizeof(bipartite_attrs),
    .infer_shape = bipartite_shape, .infer_dtype = am_infer_dtype_float_same,
    .temp_bytes = bipartite_temp, .cpu = bipartite_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Greedy bipartite matching of a score matrix (..., R, C), best score first: the "
           "column of each row (..., R) and the row of each column (..., C), -1 when unmatched."};

am_status am_bipartite_matching_at(am_array *data, double threshold, bool is_ascend, int64_t topk,
                                   am_array **out, am_site at)
{
    bipartite_attrs a = {.is_ascend = is_ascend, .threshold = threshold, .topk = topk};
    return am_op_call(&am_op_bipartite_matching, &a, &data, 1, out, 2, at);
}

/* ---- _contrib_box_encode ---------------------------------------------------------------- */

static am_status box_encode_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b[4][AM_SHAPE_BUF];
    if (in[4].ndim < 0) in[4] = AM_SHAPE(4);
    if (in[5].ndim < 0) in[5] = AM_SHAPE(4);
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    const am_shape *s = &in[0], *m = &in[1], *an = &in[2], *r = &in[3];
    if (s->ndim != 2 || an->ndim != 3 || an->dim[2] != 4 || r->ndim != 3 || r->dim[2] != 4 ||
        !am_shape_equal(*s, *m) || an->dim[0] != s->dim[0] || an->dim[1] != s->dim[1] ||
        r->dim[0] != s->dim[0])
        return am_fail(AM_ERR_SHAPE, "samples %s, matches %s, anchors %s and refs %s must be "
                       "(B, N), (B, N), (B, N, 4) and (B, M, 4)", am_fmt_shape(s, b[0]),
                       am_fmt_shape(m, b[1]), am_fmt_shape(an, b[2]), am_fmt_shape(r, b[3]));
    for (int i = 4; i < 6; i++)
        if (in[i].ndim != 1 || in[i].dim[0] != 4)
            return am_fail(AM_ERR_SHAPE, "%s %s must be (4,)", i == 4 ? "means" : "stds",
                           am_fmt_shape(&in[i], b[0]));
    out[0] = out[1] = *an;
    return AM_OK;
}

#define BOX_ENCODE(T)                                                                       \
    static am_status box_encode_##T(const am_view *in, const am_view *out, const am_req *req) \
    {                                                                                       \
        const int64_t nb = in[2].dim[0], n = in[2].dim[1], m = in[3].dim[1];                \
        const T *smp = in[0].data, *mt = in[1].data, *anc = in[2].data, *ref = in[3].data;  \
        const T *mean = in[4].data, *sd = in[5].data;                                       \
        T *tg = out[0].data, *mk = out[1].data;                                             \
        for (int64_t i = 0; i < nb * n; i++)                                                \
            if (smp[i] > 0.5 && !(mt[i] >= 0 && mt[i] < m))                                 \
                return am_fail(AM_ERR_ARG, "matches[%lld] = %g of a positive sample is not a " \
                               "ref in [0, %lld)", (long long)i, (double)mt[i], (long long)m); \
        for (int64_t i = 0; i < nb * n; i++) {                                              \
            const T *a = anc + i * 4;                                                       \
            T valid = smp[i] > 0.5 ? (T)1 : (T)0, t[4] = {0, 0, 0, 0};                      \
            if (valid > (T)0.5) {                                                           \
                const T *r = ref + ((i / n) * m + (int64_t)mt[i]) * 4;                      \
                T rw = r[2] - r[0], rh = r[3] - r[1];                                       \
                T rx = (T)(r[0] + rw * 0.5), ry = (T)(r[1] + rh * 0.5);                     \
                T aw = a[2] - a[0], ah = a[3] - a[1];                                       \
                T ax = (T)(a[0] + aw * 0.5), ay = (T)(a[1] + ah * 0.5);                     \
                t[0] = ((rx - ax) / aw - mean[0]) / sd[0];                                  \
                t[1] = ((ry - ay) / ah - mean[1]) / sd[1];                                  \
                t[2] = ((T)log(rw / aw) - mean[2]) / sd[2];                                 \
                t[3] = ((T)log(rh / ah) - mean[3]) / sd[3];                                 \
            }                                                                               \
            for (int k = 0; k < 4; k++) {                                                   \
                BOX_PUT(tg[i * 4 + k], t[k], req[0]);                                       \
                BOX_PUT(mk[i * 4 + k], valid, req[1]);                                      \
            }                                                                               \
        }                                                                                   \
        return AM_OK;                                                                       \
    }
BOX_ENCODE(float)
BOX_ENCODE(double)

static am_status box_encode_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0].dtype == AM_DTYPE_FLOAT32) return box_encode_float(in, out, req);
    return box_encode_double(in, out, req);
}

const am_op_def am_op_box_encode = {
    .name = "_contrib_box_encode",
    .input_names = (const char *const[]){"samples", "matches", "anchors", "refs", "means",
                                         "stds", NULL},
    .num_outputs = 2, .infer_shape = box_encode_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = box_encode_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Regression targets (B, N, 4) of the matched refs against corner anchors, "
           "normalized by means and stds, and their masks (1 where samples > 0.5)."};

am_status am_box_encode_at(am_array *samples, am_array *matches, am_array *anchors,
                           am_array *refs, am_array *means, am_array *stds, am_array **out,
                           am_site at)
{
    am_array *in[6] = {samples, matches, anchors, refs, means, stds};
    return am_op_call(&am_op_box_encode, NULL, in, 6, out, 2, at);
}

/* ---- _contrib_box_decode ---------------------------------------------------------------- */

typedef struct box_decode_attrs {
    double std0, std1, std2, std3, clip;
    int format;
} box_decode_attrs;

static const am_attr_field box_decode_fields[] = {
    AM_ATTR_FIELD(box_decode_attrs, std0, AM_ATTR_FLOAT, "1", "scale of the x offset"),
    AM_ATTR_FIELD(box_decode_attrs, std1, AM_ATTR_FLOAT, "1", "scale of the y offset"),
    AM_ATTR_FIELD(box_decode_attrs, std2, AM_ATTR_FLOAT, "1", "scale of the log width"),
    AM_ATTR_FIELD(box_decode_attrs, std3, AM_ATTR_FLOAT, "1", "scale of the log height"),
    AM_ATTR_FIELD(box_decode_attrs, clip, AM_ATTR_FLOAT, "-1",
                  "upper bound of the scaled log width and height when > 0"),
    AM_ATTR_ENUM_FIELD(box_decode_attrs, format, box_formats, "center", "anchor encoding"),
    {0}};

static am_status box_decode_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[0].ndim != 3 || in[0].dim[2] != 4 || in[1].ndim < 3 ||
        in[1].dim[in[1].ndim - 1] != 4 || am_shape_size(&in[1]) != in[0].dim[1] * 4)
        return am_fail(AM_ERR_SHAPE, "data %s and anchors %s must be (B, N, 4) and (1, N, 4)",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1));
    out[0] = in[0];
    return AM_OK;
}

#define BOX_DECODE(T)                                                                       \
    static void box_decode_##T(const box_decode_attrs *p, const T *x, const T *anc, T *o,   \
                               int64_t nb, int64_t nn, am_req req)                          \
    {                                                                                       \
        const T s0 = (T)(float)p->std0, s1 = (T)(float)p->std1, s2 = (T)(float)p->std2;     \
        const T s3 = (T)(float)p->std3, clip = (T)(float)p->clip;                           \
        const bool has_clip = (float)p->clip > 0;                                           \
        const int64_t n = nb * nn;                                                          \
        AM_OMP_FOR_N                                                                        \
        for (int64_t i = 0; i < n; i++) {                                                   \
            const T *a = anc + (i % nn) * 4, *d = x + i * 4;                                 \
            T ax = a[0], ay = a[1], aw = a[2], ah = a[3];                                   \
            if (p->format == FMT_CORNER) {                                                  \
                aw = aw - ax, ah = ah - ay;                                                 \
                ax = (T)(ax + aw * 0.5), ay = (T)(ay + ah * 0.5);                           \
            }                                                                               \
            T ox = d[0] * s0 * aw + ax, oy = d[1] * s1 * ah + ay;                           \
            T dw = d[2] * s2, dh = d[3] * s3;                                               \
            if (has_clip) dw = dw < clip ? dw : clip, dh = dh < clip ? dh : clip;           \
            dw = (T)exp(dw), dh = (T)exp(dh);                                               \
            T ow = (T)(dw * aw * 0.5), oh = (T)(dh * ah * 0.5);                             \
            BOX_PUT(o[i * 4 + 0], ox - ow, req);                                            \
            BOX_PUT(o[i * 4 + 1], oy - oh, req);                                            \
            BOX_PUT(o[i * 4 + 2], ox + ow, req);                                            \
            BOX_PUT(o[i * 4 + 3], oy + oh, req);                                            \
        }                                                                                   \
    }
BOX_DECODE(float)
BOX_DECODE(double)

static am_status box_decode_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t nb = in[0].dim[0], n = in[0].dim[1];
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        box_decode_float(attrs, in[0].data, in[1].data, out[0].data, nb, n, req[0]);
    else
        box_decode_double(attrs, in[0].data, in[1].data, out[0].data, nb, n, req[0]);
    return AM_OK;
}

const am_op_def am_op_box_decode = {
    .name = "_contrib_box_decode",
    .input_names = (const char *const[]){"data", "anchors", NULL},
    .num_outputs = 1, .attrs = box_decode_fields, .attrs_size = sizeof(box_decode_attrs),
    .infer_shape = box_decode_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = box_decode_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Decodes offsets (B, N, 4) against anchors (1, N, 4) into corner boxes."};

am_array *am_box_decode_at(am_array *data, am_array *anchors, const double std[4], double clip,
                           const char *format, am_site at)
{
    box_decode_attrs a = {.std0 = std[0], .std1 = std[1], .std2 = std[2], .std3 = std[3],
                          .clip = clip, .format = FMT_CENTER};
    if (format && strcmp(format, "corner") == 0) a.format = FMT_CORNER;
    else if (format && strcmp(format, "center") != 0)
        return am_fail_null("_contrib_box_decode", at, AM_ERR_ARG,
                            "format '%s' is not one of corner, center", format);
    am_array *in[2] = {data, anchors}, *y = NULL;
    am_op_call(&am_op_box_decode, &a, in, 2, &y, 1, at);
    return y;
}
