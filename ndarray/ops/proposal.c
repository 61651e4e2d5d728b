/* Faster R-CNN's region proposal ops as MXNet 1.9.1 has them: _contrib_Proposal
 * (one image) and _contrib_MultiProposal (a batch).
 *
 * Per image: anchors from scales x ratios around a feature_stride cell, shifted
 * over the (H, W) map (index (h * W + w) * A + a), decoded with bbox_pred
 * (Faster R-CNN's center/size deltas, or corner offsets with iou_loss), clipped
 * to the image; anchors on the padded part of the map (beyond im_info's size /
 * feature_stride) and boxes smaller than rpn_min_size * im_info's scale get
 * score -1 (the small ones are also widened by rpn_min_size / 2 on each side,
 * as MXNet does).  Then the rpn_pre_nms_top_n best scores (stable order for
 * equal scores; MXNet's sort leaves them unspecified), greedy NMS with MXNet's
 * +1 pixel areas, and rpn_post_nms_top_n rows [batch, x1, y1, x2, y2], repeating
 * the kept boxes cyclically when fewer survive.  The hidden (or, with
 * output_score, visible) second output holds each row's score.  Arithmetic is
 * float32, as in MXNet's kernel, for float64 inputs too.  No gradient (MXNet's
 * is zeros).  Docs: docs/detection.md. */
#include "detection_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct proposal_attrs {
    int64_t rpn_pre_nms_top_n, rpn_post_nms_top_n;
    double threshold;
    int64_t rpn_min_size;
    char scales[AM_MAX_ATTR_STRING], ratios[AM_MAX_ATTR_STRING];
    int64_t feature_stride;
    bool output_score, iou_loss;
} proposal_attrs;

static const am_attr_field proposal_fields[] = {
    AM_ATTR_FIELD(proposal_attrs, rpn_pre_nms_top_n, AM_ATTR_INT, "6000",
                  "best-scoring boxes that go into NMS; not positive: all"),
    AM_ATTR_FIELD(proposal_attrs, rpn_post_nms_top_n, AM_ATTR_INT, "300",
                  "rows of output per image (boxes NMS keeps, repeated when fewer)"),
    AM_ATTR_FIELD(proposal_attrs, threshold, AM_ATTR_FLOAT, "0.7",
                  "NMS suppresses a box whose IoU with a kept one exceeds it"),
    AM_ATTR_FIELD(proposal_attrs, rpn_min_size, AM_ATTR_INT, "16",
                  "boxes narrower or lower than this times im_info's scale get score -1"),
    AM_ATTR_FIELD(proposal_attrs, scales, AM_ATTR_STRING, "(4,8,16,32)",
                  "anchor scales (multiples of feature_stride)"),
    AM_ATTR_FIELD(proposal_attrs, ratios, AM_ATTR_STRING, "(0.5,1,2)",
                  "anchor aspect ratios (height / width)"),
    AM_ATTR_FIELD(proposal_attrs, feature_stride, AM_ATTR_INT, "16",
                  "image pixels per feature map cell"),
    AM_ATTR_FIELD(proposal_attrs, output_score, AM_ATTR_BOOL, "False",
                  "make the scores a visible second output"),
    AM_ATTR_FIELD(proposal_attrs, iou_loss, AM_ATTR_BOOL, "False",
                  "bbox_pred holds corner offsets instead of center/size deltas"),
    {0}};

typedef struct proposal_cfg {
    float scales[AM_DET_MAX_LIST], ratios[AM_DET_MAX_LIST];
    int n_scales, n_ratios;
} proposal_cfg;

static am_status proposal_parse(const proposal_attrs *a, proposal_cfg *c)
{
    am_status st = am_det_float_list("scales", a->scales, c->scales, &c->n_scales);
    if (st == AM_OK) st = am_det_float_list("ratios", a->ratios, c->ratios, &c->n_ratios);
    if (st != AM_OK) return st;
    if (c->n_scales < 1 || c->n_ratios < 1)
        return am_fail(AM_ERR_ARG, "scales='%s' and ratios='%s' need at least one value each",
                       a->scales, a->ratios);
    if (a->feature_stride < 1)
        return am_fail(AM_ERR_ARG, "feature_stride=%lld must be positive",
                       (long long)a->feature_stride);
    if (a->rpn_post_nms_top_n < 0)
        return am_fail(AM_ERR_ARG, "rpn_post_nms_top_n=%lld is negative",
                       (long long)a->rpn_post_nms_top_n);
    return AM_OK;
}

static int proposal_visible(const void *attrs)
{
    return ((const proposal_attrs *)attrs)->output_score ? 2 : 1;
}

/* cls_prob (N, 2A, H, W), bbox_pred (N, 4A, H, W), im_info (N, 3); the last two
 * are filled when unknown.  rows: output rows per image. */
static am_status proposal_shape_common(const proposal_attrs *a, am_shape *in, bool multi,
                                       am_shape *out)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    proposal_cfg c;
    am_status st = proposal_parse(a, &c);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of cls_prob is unknown");
    const am_shape *s = &in[0];
    int64_t na = (int64_t)c.n_scales * c.n_ratios;
    if (s->ndim != 4 || s->dim[1] != 2 * na)
        return am_fail(AM_ERR_SHAPE, "cls_prob %s must be (N, 2 * %lld anchors, H, W) for %d "
                       "scales and %d ratios", am_fmt_shape(s, b0), (long long)na, c.n_scales,
                       c.n_ratios);
    if (!multi && s->dim[0] != 1)
        return am_fail(AM_ERR_SHAPE, "cls_prob %s: Proposal takes one image (batch 1), as "
                       "MXNet's; MultiProposal takes a batch", am_fmt_shape(s, b0));
    am_shape want[2] = {AM_SHAPE(s->dim[0], 4 * na, s->dim[2], s->dim[3]),
                        AM_SHAPE(s->dim[0], 3)};
    const char *names[2] = {"bbox_pred", "im_info"};
    for (int i = 0; i < 2; i++) {
        if (in[i + 1].ndim < 0) in[i + 1] = want[i];
        else if (!am_shape_equal(in[i + 1], want[i]))
            return am_fail(AM_ERR_SHAPE, "%s %s must be %s for cls_prob %s", names[i],
                           am_fmt_shape(&in[i + 1], b0), am_fmt_shape(&want[i], b1),
                           am_fmt_shape(s, b2));
    }
    int64_t rows = a->rpn_post_nms_top_n * (multi ? s->dim[0] : 1);
    if (rows > 0 && s->dim[0] > 0 && s->dim[2] * s->dim[3] == 0)
        return am_fail(AM_ERR_SHAPE, "cls_prob %s has no anchors to propose from",
                       am_fmt_shape(s, b0));
    out[0] = AM_SHAPE(rows, 5);
    out[1] = AM_SHAPE(rows, 1);
    return AM_OK;
}

static am_status proposal_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return proposal_shape_common(attrs, in, false, out);
}

static am_status multi_proposal_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return proposal_shape_common(attrs, in, true, out);
}

/* Per image workspace: boxes (count x 5 floats), sorted (score, index) pairs,
 * areas, suppression flags and kept indices. */
typedef struct prop_pair {
    float score;
    int64_t idx;
} prop_pair;

static size_t proposal_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t count = in[0].dim[1] / 2 * in[0].dim[2] * in[0].dim[3];
    return (size_t)count * (5 * sizeof(float) + sizeof(prop_pair) + sizeof(float) +
                            sizeof(int64_t) + 1) + 64;
}

/* Descending score, then ascending index; NaN scores last. */
static int pair_cmp(const void *pa, const void *pb)
{
    const prop_pair *a = pa, *b = pb;
    bool na = isnan(a->score), nb = isnan(b->score);
    if (na != nb) return na ? 1 : -1;
    if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* The base anchors: for each ratio, for each scale, a box around the center of
 * the cell [0, stride - 1]^2, with MXNet's rounding. */
static void make_anchors(const proposal_cfg *c, int64_t stride, float *anc)
{
    float w = (float)stride, h = (float)stride;
    float cx = (float)(0.5 * (w - 1.0f)), cy = (float)(0.5 * (h - 1.0f));
    int k = 0;
    for (int r = 0; r < c->n_ratios; r++)
        for (int s = 0; s < c->n_scales; s++, k++) {
            float size_ratio = floorf(w * h / c->ratios[r]);
            float nw = floorf(sqrtf(size_ratio) + 0.5f) * c->scales[s];
            float nh = floorf(nw / c->scales[s] * c->ratios[r] + 0.5f) * c->scales[s];
            anc[k * 4 + 0] = cx - 0.5f * (nw - 1.0f);
            anc[k * 4 + 1] = cy - 0.5f * (nh - 1.0f);
            anc[k * 4 + 2] = cx + 0.5f * (nw - 1.0f);
            anc[k * 4 + 3] = cy + 0.5f * (nh - 1.0f);
        }
}

static float clampf(float v, float hi)
{
    return fmaxf(fminf(v, hi), 0.0f);
}

/* One image b: writes rows [b * rows, (b + 1) * rows) of both outputs. */
static am_status propose_image(const proposal_attrs *a, const float *anc,
                               const am_view *in, const am_view *out, const am_req *req,
                               int64_t b, int64_t rows, void *ws)
{
    const int64_t na = in[0].dim[1] / 2, h = in[0].dim[2], w = in[0].dim[3];
    const int64_t count = na * h * w, stride = a->feature_stride;
    float *box = ws;
    prop_pair *pairs = (prop_pair *)(box + count * 5 + (count * 5) % 2);
    float *area = (float *)(pairs + count);
    int64_t *keep = (int64_t *)(area + count + count % 2);
    unsigned char *supp = (unsigned char *)(keep + count);

    const float im_h = (float)am_view_get(&in[2], b * 3 + 0);
    const float im_w = (float)am_view_get(&in[2], b * 3 + 1);
    const float im_scale = (float)am_view_get(&in[2], b * 3 + 2);
    const float fs = (float)stride;
    if (!(im_h >= 0 && im_w >= 0))
        return am_fail(AM_ERR_ARG, "im_info row %lld [%g, %g, %g] needs a nonnegative height "
                       "and width", (long long)b, im_h, im_w, im_scale);
    const double real_h = floor(im_h / fs), real_w = floor(im_w / fs);
    if (real_h > (double)h || real_w > (double)w)
        return am_fail(AM_ERR_ARG, "im_info row %lld: an image of %g x %g needs a feature map "
                       "of at least %g x %g cells at feature_stride %lld, cls_prob has %lld x %lld",
                       (long long)b, im_h, im_w, real_h, real_w, (long long)stride, (long long)h,
                       (long long)w);

    const int64_t plane = h * w;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int64_t k = 0; k < na; k++) {
                int64_t i = (y * w + x) * na + k, pix = y * w + x;
                float *o = box + i * 5;
                float x1 = anc[k * 4 + 0] + x * fs, y1 = anc[k * 4 + 1] + y * fs;
                float x2 = anc[k * 4 + 2] + x * fs, y2 = anc[k * 4 + 3] + y * fs;
                int64_t d0 = ((b * 4 * na) + k * 4) * plane + pix;
                float d[4];
                for (int j = 0; j < 4; j++) d[j] = (float)am_view_get(&in[1], d0 + j * plane);
                float px1, py1, px2, py2;
                if (a->iou_loss) {
                    px1 = x1 + d[0], py1 = y1 + d[1], px2 = x2 + d[2], py2 = y2 + d[3];
                } else {
                    float bw = x2 - x1 + 1.0f, bh = y2 - y1 + 1.0f;
                    float cx = (float)(x1 + 0.5 * (bw - 1.0)), cy = (float)(y1 + 0.5 * (bh - 1.0));
                    float pcx = d[0] * bw + cx, pcy = d[1] * bh + cy;
                    float pw = expf(d[2]) * bw, ph = expf(d[3]) * bh;
                    px1 = (float)(pcx - 0.5 * (pw - 1.0)), py1 = (float)(pcy - 0.5 * (ph - 1.0));
                    px2 = (float)(pcx + 0.5 * (pw - 1.0)), py2 = (float)(pcy + 0.5 * (ph - 1.0));
                }
                o[0] = clampf(px1, im_w - 1.0f), o[1] = clampf(py1, im_h - 1.0f);
                o[2] = clampf(px2, im_w - 1.0f), o[3] = clampf(py2, im_h - 1.0f);
                o[4] = (float)am_view_get(&in[0], (b * 2 * na + na + k) * plane + pix);
                if ((double)y >= real_h || (double)x >= real_w) o[4] = -1.0f;
            }

    /* Too small: widened and scored -1. */
    const float min_size = (float)a->rpn_min_size * im_scale;
    for (int64_t i = 0; i < count; i++) {
        float *o = box + i * 5;
        float bw = o[2] - o[0] + 1.0f, bh = o[3] - o[1] + 1.0f;
        if (bw < min_size || bh < min_size) {
            o[0] -= min_size / 2, o[1] -= min_size / 2;
            o[2] += min_size / 2, o[3] += min_size / 2;
            o[4] = -1.0f;
        }
    }

    for (int64_t i = 0; i < count; i++) pairs[i] = (prop_pair){box[i * 5 + 4], i};
    qsort(pairs, (size_t)count, sizeof *pairs, pair_cmp);
    int64_t pre = a->rpn_pre_nms_top_n > 0 ? a->rpn_pre_nms_top_n : count;
    if (pre > count) pre = count;
    int64_t post = a->rpn_post_nms_top_n < pre ? a->rpn_post_nms_top_n : pre;

    const float thresh = (float)a->threshold;
    for (int64_t i = 0; i < pre; i++) {
        const float *o = box + pairs[i].idx * 5;
        area[i] = (o[2] - o[0] + 1) * (o[3] - o[1] + 1);
        supp[i] = 0;
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < pre && kept < post; i++) {
        if (supp[i]) continue;
        keep[kept++] = i;
        const float *p = box + pairs[i].idx * 5;
        for (int64_t j = i + 1; j < pre; j++) {
            if (supp[j]) continue;
            const float *q = box + pairs[j].idx * 5;
            float iw = fmaxf(0.0f, fminf(p[2], q[2]) - fmaxf(p[0], q[0]) + 1.0f);
            float ih = fmaxf(0.0f, fminf(p[3], q[3]) - fmaxf(p[1], q[1]) + 1.0f);
            float inter = iw * ih;
            if (inter / (area[i] + area[j] - inter) > thresh) supp[j] = 1;
        }
    }

    for (int64_t r = 0; r < rows; r++) {
        const float *o = box + pairs[keep[kept ? r % kept : 0]].idx * 5;
        int64_t row = b * rows + r;
        double v[6] = {(double)b, o[0], o[1], o[2], o[3], o[4]};
        for (int j = 0; j < 5; j++) {
            if (req[0] == AM_REQ_NULL) break;
            double x = v[j];
            if (req[0] == AM_REQ_ADD) x += am_view_get(&out[0], row * 5 + j);
            am_view_set(&out[0], row * 5 + j, x);
        }
        if (req[1] != AM_REQ_NULL) {
            double x = v[5];
            if (req[1] == AM_REQ_ADD) x += am_view_get(&out[1], row);
            am_view_set(&out[1], row, x);
        }
    }
    return AM_OK;
}

static am_status proposal_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const proposal_attrs *a = attrs;
    proposal_cfg c;
    am_status st = proposal_parse(a, &c);
    if (st != AM_OK) return st;
    float anc[4 * AM_DET_MAX_LIST * AM_DET_MAX_LIST];
    make_anchors(&c, a->feature_stride, anc);
    const int64_t n = in[0].dim[0];
    const int64_t rows = n ? out[0].dim[0] / n : 0;
    for (int64_t b = 0; b < n && rows > 0 && st == AM_OK; b++)
        st = propose_image(a, anc, in, out, req, b, rows, ctx->workspace);
    return st;
}

const am_op_def am_op_proposal = {
    .name = "_contrib_Proposal",
    .input_names = (const char *const[]){"cls_prob", "bbox_pred", "im_info", NULL},
    .num_outputs = 2, .num_visible = proposal_visible, .attrs = proposal_fields,
    .attrs_size = sizeof(proposal_attrs), .infer_shape = proposal_shape,
    .infer_dtype = am_infer_dtype_float_same, .temp_bytes = proposal_temp, .cpu = proposal_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Faster R-CNN's RPN proposals for one image: anchors decoded by bbox_pred, "
           "clipped, filtered, NMS; (rpn_post_nms_top_n, 5) rows [0, x1, y1, x2, y2] and "
           "their scores."};

const am_op_def am_op_multi_proposal = {
    .name = "_contrib_MultiProposal",
    .input_names = (const char *const[]){"cls_prob", "bbox_pred", "im_info", NULL},
    .num_outputs = 2, .num_visible = proposal_visible, .attrs = proposal_fields,
    .attrs_size = sizeof(proposal_attrs), .infer_shape = multi_proposal_shape,
    .infer_dtype = am_infer_dtype_float_same, .temp_bytes = proposal_temp, .cpu = proposal_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Proposal for a batch of N images: (N * rpn_post_nms_top_n, 5) rows [image, x1, y1, "
           "x2, y2] and their scores."};

static am_array *proposal_call(const am_op_def *op, am_array *cls_prob, am_array *bbox_pred,
                               am_array *im_info, int64_t pre_nms_top_n, int64_t post_nms_top_n,
                               double threshold, int64_t min_size, int64_t feature_stride,
                               am_site at)
{
    proposal_attrs a;
    if (am_attrs_init(op, &a) != AM_OK) return NULL;
    a.rpn_pre_nms_top_n = pre_nms_top_n, a.rpn_post_nms_top_n = post_nms_top_n;
    a.threshold = threshold, a.rpn_min_size = min_size, a.feature_stride = feature_stride;
    am_array *in[3] = {cls_prob, bbox_pred, im_info}, *y = NULL;
    am_op_call(op, &a, in, 3, &y, 1, at);
    return y;
}

am_array *am_proposal_at(am_array *cls_prob, am_array *bbox_pred, am_array *im_info,
                         int64_t pre_nms_top_n, int64_t post_nms_top_n, double threshold,
                         int64_t min_size, int64_t feature_stride, am_site at)
{
    return proposal_call(&am_op_proposal, cls_prob, bbox_pred, im_info, pre_nms_top_n,
                         post_nms_top_n, threshold, min_size, feature_stride, at);
}

am_array *am_multi_proposal_at(am_array *cls_prob, am_array *bbox_pred, am_array *im_info,
                               int64_t pre_nms_top_n, int64_t post_nms_top_n, double threshold,
                               int64_t min_size, int64_t feature_stride, am_site at)
{
    return proposal_call(&am_op_multi_proposal, cls_prob, bbox_pred, im_info, pre_nms_top_n,
                         post_nms_top_n, threshold, min_size, feature_stride, at);
}
