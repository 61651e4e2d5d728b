/* SSD's anchor and detection ops as MXNet 1.9.1 has them: _contrib_MultiBoxPrior
 * (anchor boxes for a feature map) and _contrib_MultiBoxDetection (class scores
 * and box offsets into [id, score, xmin, ymin, xmax, ymax] rows after NMS).
 *
 * Float-list attributes (sizes, ratios, steps, offsets, variances) are kept as
 * the string the graph gave, so a file round-trips byte for byte, and parsed
 * into float32 values, as MXNet stores them.  MXNet's gradients of both ops are
 * zeros: they are AM_OP_NO_GRAD.  Docs: docs/detection.md. */
#include "detection_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MB_MAX_LIST AM_DET_MAX_LIST

/* Parses "(0.5, 0.25)", "[0.5,0.25]", "0.5" or "()" into at most MB_MAX_LIST
 * floats; AM_ERR_ARG naming the attribute when it does not parse. */
am_status am_det_float_list(const char *what, const char *s, float *v, int *n)
{
    const char *p = s;
    *n = 0;
    while (*p == ' ' || *p == '(' || *p == '[') p++;
    while (*p && *p != ')' && *p != ']') {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno || *n == MB_MAX_LIST)
            return am_fail(AM_ERR_ARG, "%s='%s' is not a list of at most %d numbers", what, s,
                           MB_MAX_LIST);
        v[(*n)++] = (float)x;
        p = end;
        while (*p == ' ' || *p == ',') p++;
    }
    return AM_OK;
}

/* ---- _contrib_MultiBoxPrior ------------------------------------------------------------ */

typedef struct prior_attrs {
    char sizes[AM_MAX_ATTR_STRING], ratios[AM_MAX_ATTR_STRING];
    bool clip;
    char steps[AM_MAX_ATTR_STRING], offsets[AM_MAX_ATTR_STRING];
} prior_attrs;

static const am_attr_field prior_fields[] = {
    AM_ATTR_FIELD(prior_attrs, sizes, AM_ATTR_STRING, "(1,)",
                  "box sizes (fractions of the image height), each at ratio 1"),
    AM_ATTR_FIELD(prior_attrs, ratios, AM_ATTR_STRING, "(1,)",
                  "aspect ratios; those after the first go with the first size"),
    AM_ATTR_FIELD(prior_attrs, clip, AM_ATTR_BOOL, "False", "clip the boxes to [0, 1]"),
    AM_ATTR_FIELD(prior_attrs, steps, AM_ATTR_STRING, "(-1, -1)",
                  "distance between centers in y and x; -1: 1 / the feature map's size"),
    AM_ATTR_FIELD(prior_attrs, offsets, AM_ATTR_STRING, "(0.5, 0.5)",
                  "center offsets in y and x, in steps"),
    {0}};

typedef struct prior_lists {
    float sizes[MB_MAX_LIST], ratios[MB_MAX_LIST], steps[MB_MAX_LIST], offsets[MB_MAX_LIST];
    int n_sizes, n_ratios, n_steps, n_offsets;
} prior_lists;

static am_status prior_parse(const prior_attrs *a, prior_lists *l)
{
    am_status st = am_det_float_list("sizes", a->sizes, l->sizes, &l->n_sizes);
    if (st == AM_OK) st = am_det_float_list("ratios", a->ratios, l->ratios, &l->n_ratios);
    if (st == AM_OK) st = am_det_float_list("steps", a->steps, l->steps, &l->n_steps);
    if (st == AM_OK) st = am_det_float_list("offsets", a->offsets, l->offsets, &l->n_offsets);
    if (st != AM_OK) return st;
    if (l->n_sizes < 1 || l->n_ratios < 1)
        return am_fail(AM_ERR_ARG, "sizes='%s' and ratios='%s' need at least one value each",
                       a->sizes, a->ratios);
    if (l->n_steps != 2 || l->n_offsets != 2)
        return am_fail(AM_ERR_ARG, "steps='%s' and offsets='%s' need 2 values each (y, x)",
                       a->steps, a->offsets);
    return AM_OK;
}

static am_status prior_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b[AM_SHAPE_BUF];
    prior_lists l;
    am_status st = prior_parse(attrs, &l);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim < 4 || in[0].dim[2] < 1 || in[0].dim[3] < 1)
        return am_fail(AM_ERR_SHAPE, "data %s must be (batch, channels, height, width) with a "
                       "nonempty height and width", am_fmt_shape(&in[0], b));
    out[0] = AM_SHAPE(1, in[0].dim[2] * in[0].dim[3] * (l.n_sizes + l.n_ratios - 1), 4);
    return AM_OK;
}

/* One anchor [cx - w, cy - h, cx + w, cy + h] in float32, as MXNet computes it. */
static void put_box(const am_view *o, int64_t k, float cx, float cy, float w, float h, bool clip,
                    am_req req)
{
    float v[4] = {cx - w, cy - h, cx + w, cy + h};
    for (int j = 0; j < 4; j++) {
        float x = clip ? (v[j] < 0 ? 0.f : v[j] > 1 ? 1.f : v[j]) : v[j];
        if (o->dtype == AM_DTYPE_FLOAT32) {
            float *d = (float *)o->data + k * 4 + j;
            *d = req == AM_REQ_ADD ? *d + x : x;
        } else {
            double *d = (double *)o->data + k * 4 + j;
            *d = req == AM_REQ_ADD ? *d + x : x;
        }
    }
}

static am_status prior_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const prior_attrs *a = attrs;
    prior_lists l;
    am_status st = prior_parse(a, &l);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    const int h = (int)in[0].dim[2], w = (int)in[0].dim[3];
    const float step_y = l.steps[0] > 0 ? l.steps[0] : 1.f / h;
    const float step_x = l.steps[1] > 0 ? l.steps[1] : 1.f / w;
    int64_t k = 0;
    for (int r = 0; r < h; r++) {
        float cy = (r + l.offsets[0]) * step_y;
        for (int c = 0; c < w; c++) {
            float cx = (c + l.offsets[1]) * step_x;
            for (int i = 0; i < l.n_sizes; i++)
                put_box(&out[0], k++, cx, cy, l.sizes[i] * h / w / 2, l.sizes[i] / 2, a->clip,
                        req[0]);
            for (int j = 1; j < l.n_ratios; j++) {
                float q = sqrtf(l.ratios[j]);
                put_box(&out[0], k++, cx, cy, l.sizes[0] * h / w * q / 2, l.sizes[0] / q / 2,
                        a->clip, req[0]);
            }
        }
    }
    return AM_OK;
}

const am_op_def am_op_multibox_prior = {
    .name = "_contrib_MultiBoxPrior",
    .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = prior_fields, .attrs_size = sizeof(prior_attrs),
    .infer_shape = prior_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = prior_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "SSD anchor boxes (1, H*W*(sizes+ratios-1), 4) in corner format for a feature map "
           "(N, C, H, W); only data's shape is read."};

/* ---- _contrib_MultiBoxDetection -------------------------------------------------------- */

typedef struct detect_attrs {
    bool clip;
    double threshold;
    int64_t background_id;
    double nms_threshold;
    bool force_suppress;
    char variances[AM_MAX_ATTR_STRING];
    int64_t nms_topk;
} detect_attrs;

static const am_attr_field detect_fields[] = {
    AM_ATTR_FIELD(detect_attrs, clip, AM_ATTR_BOOL, "True", "clip the boxes to [0, 1]"),
    AM_ATTR_FIELD(detect_attrs, threshold, AM_ATTR_FLOAT, "0.01",
                  "a detection's best class probability must reach it"),
    AM_ATTR_FIELD(detect_attrs, background_id, AM_ATTR_INT, "0",
                  "accepted and ignored, as MXNet's CPU kernel does: class 0 is background"),
    AM_ATTR_FIELD(detect_attrs, nms_threshold, AM_ATTR_FLOAT, "0.5",
                  "IoU at or above which the lower score is suppressed; outside (0, 1]: no NMS"),
    AM_ATTR_FIELD(detect_attrs, force_suppress, AM_ATTR_BOOL, "False",
                  "suppress across classes"),
    AM_ATTR_FIELD(detect_attrs, variances, AM_ATTR_STRING, "(0.1, 0.1, 0.2, 0.2)",
                  "scales of the x, y, width and height offsets"),
    AM_ATTR_FIELD(detect_attrs, nms_topk, AM_ATTR_INT, "-1",
                  "keep at most this many detections before NMS; -1: all"),
    {0}};

static am_status parse_variances(const char *s, float *v)
{
    float buf[MB_MAX_LIST];
    int n = 0;
    am_status st = am_det_float_list("variances", s, buf, &n);
    if (st != AM_OK) return st;
    if (n != 4) return am_fail(AM_ERR_ARG, "variances='%s' needs 4 values", s);
    memcpy(v, buf, 4 * sizeof(float));
    return AM_OK;
}

static am_status detect_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    float v[4];
    am_status st = parse_variances(((const detect_attrs *)attrs)->variances, v);
    if (st == AM_OK) st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    const am_shape *c = &in[0], *l = &in[1], *an = &in[2];
    if (c->ndim != 3 || l->ndim != 2 || an->ndim != 3 || an->dim[2] != 4 ||
        an->dim[1] != c->dim[2] || l->dim[0] != c->dim[0] || l->dim[1] != c->dim[2] * 4)
        return am_fail(AM_ERR_SHAPE, "cls_prob %s, loc_pred %s and anchor %s must be (B, C, N), "
                       "(B, N*4) and (1, N, 4)", am_fmt_shape(c, b0), am_fmt_shape(l, b1),
                       am_fmt_shape(an, b2));
    out[0] = AM_SHAPE(c->dim[0], c->dim[2], 6);
    return AM_OK;
}

/* Per batch: the decoded rows, the rows as built, a copy for sorting (N*6 doubles
 * each), and N sort keys. */
typedef struct det_key {
    double score;
    int64_t row;
} det_key;

static size_t detect_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return (size_t)in[0].dim[2] * (18 * sizeof(double) + sizeof(det_key));
}

static int det_cmp(const void *pa, const void *pb)
{
    const det_key *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

#define DETECT(T)                                                                            \
    static T clip01_##T(T v) { return v < 0 ? (T)0 : v > 1 ? (T)1 : v; }                     \
    static void decode_##T(T *o, const T *an, const T *p, bool clip, const float *var)        \
    {                                                                                        \
        T aw = an[2] - an[0], ah = an[3] - an[1];                                            \
        T ax = (an[0] + an[2]) / 2, ay = (an[1] + an[3]) / 2;                                \
        T ox = p[0] * (T)var[0] * aw + ax, oy = p[1] * (T)var[1] * ah + ay;                  \
        T ow = (T)exp(p[2] * (T)var[2]) * aw / 2, oh = (T)exp(p[3] * (T)var[3]) * ah / 2;    \
        T v[4] = {ox - ow, oy - oh, ox + ow, oy + oh};                                       \
        for (int j = 0; j < 4; j++) o[j] = clip ? clip01_##T(v[j]) : v[j];                   \
    }                                                                                        \
    static T overlap_##T(const T *a, const T *b)                                             \
    {                                                                                        \
        T w = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);                     \
        T h = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);                     \
        w = w > 0 ? w : 0, h = h > 0 ? h : 0;                                                \
        T i = w * h, u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i;  \
        return u <= 0 ? (T)0 : i / u;                                                        \
    }                                                                                        \
    static void detect_batch_##T(const detect_attrs *a, const float *var, const T *cls,     \
                                 const T *loc, const T *anc, int64_t nc, int64_t n, T *dec,  \
                                 T *res, T *tmp, det_key *keys)                              \
    {                                                                                        \
        const T thr = (T)(float)a->threshold, nms = (T)(float)a->nms_threshold;             \
        for (int64_t i = 0; i < n; i++) {                                                    \
            T score = -1;                                                                    \
            int64_t id = 0;                                                                  \
            for (int64_t j = 1; j < nc; j++)                                                 \
                if (cls[j * n + i] > score) score = cls[j * n + i], id = j;                  \
            if (id > 0 && score < thr) id = 0;                                               \
            dec[i * 6] = (T)(id - 1), dec[i * 6 + 1] = score;                                \
            decode_##T(dec + i * 6 + 2, anc + i * 4, loc + i * 4, a->clip, var);              \
        }                                                                                    \
        for (int64_t i = 0; i < n * 6; i++) res[i] = -1;                                     \
        int64_t nv = 0;                                                                      \
        for (int64_t i = 0; i < n; i++)                                                      \
            if (dec[i * 6] >= 0) memcpy(res + 6 * nv++, dec + i * 6, 6 * sizeof(T));         \
        if (nv < 1 || !((float)a->nms_threshold > 0 && (float)a->nms_threshold <= 1)) return; \
        memcpy(tmp, res, (size_t)(n * 6) * sizeof(T));                                       \
        for (int64_t i = 0; i < nv; i++) keys[i] = (det_key){res[i * 6 + 1], i};             \
        if (nv > 1) qsort(keys, (size_t)nv, sizeof(*keys), det_cmp);                                   \
        int64_t keep = nv;                                                                   \
        if (a->nms_topk > 0 && a->nms_topk < nv) {                                           \
            keep = a->nms_topk;                                                              \
            for (int64_t i = keep; i < nv; i++) res[i * 6] = -1;                             \
        }                                                                                    \
        for (int64_t i = 0; i < keep; i++)                                                   \
            memcpy(res + i * 6, tmp + keys[i].row * 6, 6 * sizeof(T));                       \
        for (int64_t i = 0; i < keep; i++) {                                                 \
            if (res[i * 6] < 0) continue;                                                    \
            for (int64_t j = i + 1; j < keep; j++) {                                         \
                if (res[j * 6] < 0) continue;                                                \
                if ((a->force_suppress || res[i * 6] == res[j * 6]) &&                       \
                    overlap_##T(res + i * 6 + 2, res + j * 6 + 2) >= nms)                    \
                    res[j * 6] = -1;                                                         \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    static void detect_##T(const detect_attrs *a, const float *var, const am_view *in,       \
                           const am_view *out, am_req req, void *ws)                         \
    {                                                                                        \
        const int64_t nb = in[0].dim[0], nc = in[0].dim[1], n = in[0].dim[2];                \
        if (n == 0) return; /* no anchors: an empty output (and no workspace) */             \
        T *dec = ws, *res = dec + n * 6, *tmp = res + n * 6, *o = out[0].data;               \
        det_key *keys = (det_key *)(tmp + n * 6);                                            \
        for (int64_t b = 0; b < nb; b++) {                                                   \
            const T *cls = in[0].data; /* NULL when there are no classes */                 \
            detect_batch_##T(a, var, cls ? cls + b * nc * n : cls,                           \
                             (const T *)in[1].data + b * n * 4, in[2].data, nc, n, dec, res, \
                             tmp, keys);                                                     \
            T *ob = o + b * n * 6;                                                           \
            for (int64_t i = 0; i < n * 6; i++) ob[i] = req == AM_REQ_ADD ? ob[i] + res[i] : res[i]; \
        }                                                                                    \
    }
DETECT(float)
DETECT(double)

static am_status detect_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    float var[4];
    am_status st = parse_variances(((const detect_attrs *)attrs)->variances, var);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    if (in[0].dtype == AM_DTYPE_FLOAT32) detect_float(attrs, var, in, out, req[0], ctx->workspace);
    else detect_double(attrs, var, in, out, req[0], ctx->workspace);
    return AM_OK;
}

const am_op_def am_op_multibox_detection = {
    .name = "_contrib_MultiBoxDetection",
    .input_names = (const char *const[]){"cls_prob", "loc_pred", "anchor", NULL},
    .num_outputs = 1, .attrs = detect_fields, .attrs_size = sizeof(detect_attrs),
    .infer_shape = detect_shape, .infer_dtype = am_infer_dtype_float_same, .temp_bytes = detect_temp,
    .cpu = detect_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "SSD detections (B, N, 6) [class, score, xmin, ymin, xmax, ymax] from class "
           "probabilities (B, C, N), offsets (B, N*4) and anchors (1, N, 4), after NMS."};

am_array *am_multibox_prior_at(am_array *data, const char *sizes, const char *ratios, bool clip,
                               am_site at)
{
    prior_attrs a;
    am_attrs_init(&am_op_multibox_prior, &a);
    if (sizes) snprintf(a.sizes, sizeof(a.sizes), "%s", sizes);
    if (ratios) snprintf(a.ratios, sizeof(a.ratios), "%s", ratios);
    a.clip = clip;
    am_array *y = NULL;
    am_op_call(&am_op_multibox_prior, &a, &data, 1, &y, 1, at);
    return y;
}

am_array *am_multibox_detection_at(am_array *cls_prob, am_array *loc_pred, am_array *anchor,
                                   double threshold, double nms_threshold, int64_t nms_topk,
                                   bool force_suppress, am_site at)
{
    detect_attrs a;
    am_attrs_init(&am_op_multibox_detection, &a);
    a.threshold = threshold, a.nms_threshold = nms_threshold, a.nms_topk = nms_topk;
    a.force_suppress = force_suppress;
    am_array *in[3] = {cls_prob, loc_pred, anchor}, *y = NULL;
    am_op_call(&am_op_multibox_detection, &a, in, 3, &y, 1, at);
    return y;
}

/* ---- _contrib_MultiBoxTarget ----------------------------------------------------------- */

typedef struct target_attrs {
    double overlap_threshold, ignore_label, negative_mining_ratio, negative_mining_thresh;
    int64_t minimum_negative_samples;
    char variances[AM_MAX_ATTR_STRING];
} target_attrs;

static const am_attr_field target_fields[] = {
    AM_ATTR_FIELD(target_attrs, overlap_threshold, AM_ATTR_FLOAT, "0.5",
                  "IoU above which an anchor is a positive match"),
    AM_ATTR_FIELD(target_attrs, ignore_label, AM_ATTR_FLOAT, "-1",
                  "class target of anchors neither positive nor negative"),
    AM_ATTR_FIELD(target_attrs, negative_mining_ratio, AM_ATTR_FLOAT, "-1",
                  "negatives per positive, hardest first; -1: every unmatched anchor"),
    AM_ATTR_FIELD(target_attrs, negative_mining_thresh, AM_ATTR_FLOAT, "0.5",
                  "only anchors whose best IoU is below it can be mined negatives"),
    AM_ATTR_FIELD(target_attrs, minimum_negative_samples, AM_ATTR_INT, "0",
                  "accepted and ignored, as by MXNet's CPU kernel"),
    AM_ATTR_FIELD(target_attrs, variances, AM_ATTR_STRING, "(0.1, 0.1, 0.2, 0.2)",
                  "scales of the x, y, width and height targets"),
    {0}};

static am_status target_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    float v[4];
    am_status st = parse_variances(((const target_attrs *)attrs)->variances, v);
    if (st == AM_OK) st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    const am_shape *a = &in[0], *l = &in[1], *p = &in[2];
    if (a->ndim != 3 || a->dim[0] != 1 || a->dim[1] < 1 || a->dim[2] != 4 || l->ndim != 3 ||
        l->dim[1] < 1 || l->dim[2] < 5 || p->ndim != 3 || p->dim[2] != a->dim[1] ||
        p->dim[0] != l->dim[0])
        return am_fail(AM_ERR_SHAPE, "anchor %s, label %s and cls_pred %s must be (1, N, 4) with "
                       "N > 0, (B, L, 5 or more) with L > 0 and (B, C, N)", am_fmt_shape(a, b0),
                       am_fmt_shape(l, b1), am_fmt_shape(p, b2));
    out[0] = out[1] = AM_SHAPE(l->dim[0], a->dim[1] * 4);
    out[2] = AM_SHAPE(l->dim[0], a->dim[1]);
    return AM_OK;
}

/* Overlaps N*L, sort keys N, best IoU N (float), best label N, flags N, label flags L. */
static size_t target_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    size_t n = (size_t)in[0].dim[1], l = (size_t)in[1].dim[1];
    return (n * l + 9 * n) * sizeof(double) +
           n * (sizeof(det_key) + sizeof(int64_t) + sizeof(float) + 1) + l;
}

typedef struct target_ws {
    det_key *keys;
    float *miou;
    int64_t *mgt;
    signed char *flag;
    bool *gtf;
} target_ws;

/* Anchor j's best label by IoU (first on ties) into miou/mgt. */
#define BEST_GT(T)                                                                          \
    static void best_gt_##T(const T *ov, int64_t j, int64_t nl, int64_t nv, target_ws *w)     \
    {                                                                                       \
        float best = -1.f;                                                                  \
        int64_t k_best = -1;                                                                \
        for (int64_t k = 0; k < nv; k++)                                                    \
            if ((float)ov[j * nl + k] > best) best = (float)ov[j * nl + k], k_best = k;     \
        if (k_best >= 0) w->miou[j] = best, w->mgt[j] = k_best;                             \
    }
BEST_GT(float)
BEST_GT(double)

#define TARGET(T)                                                                            \
    static am_status target_batch_##T(const target_attrs *a, const float *var, const T *anc,  \
                                      const T *lab, const T *cp, int64_t n, int64_t nl,       \
                                      int64_t lw, int64_t nc, T *ov, target_ws *w, T *lt,     \
                                      T *lm, T *ct)                                           \
    {                                                                                        \
        for (int64_t i = 0; i < n * 4; i++) lt[i] = 0, lm[i] = 0;                            \
        for (int64_t i = 0; i < n; i++) ct[i] = (T)(float)a->ignore_label;                   \
        int64_t nv = 0;                                                                      \
        while (nv < nl && (float)lab[nv * lw] != -1.f) nv++;                                 \
        if (nv == 0) return AM_OK;                                                           \
        for (int64_t j = 0; j < n; j++)                                                      \
            for (int64_t k = 0; k < nl; k++) {                                               \
                const T *p = anc + j * 4, *g = lab + k * lw + 1;                             \
                T iw = (p[2] < g[2] ? p[2] : g[2]) - (p[0] > g[0] ? p[0] : g[0]);            \
                T ih = (p[3] < g[3] ? p[3] : g[3]) - (p[1] > g[1] ? p[1] : g[1]);            \
                T i = (iw > 0 ? iw : 0) * (ih > 0 ? ih : 0);                                 \
                T u = (p[2] - p[0]) * (p[3] - p[1]) + (g[2] - g[0]) * (g[3] - g[1]) - i;     \
                ov[j * nl + k] = u == 0 ? (T)0 : i / u;                                      \
            }                                                                                \
        for (int64_t j = 0; j < n; j++) w->miou[j] = -1.f, w->mgt[j] = -1, w->flag[j] = -1;  \
        for (int64_t k = 0; k < nv; k++) w->gtf[k] = false;                                  \
        int64_t npos = 0;                                                                    \
        for (int64_t left = nv; left > 0; left--) { /* each label's best anchor */          \
            int64_t bj = -1, bk = -1;                                                        \
            float best = 1e-6f;                                                              \
            for (int64_t j = 0; j < n; j++) {                                                \
                if (w->flag[j] == 1) continue;                                               \
                for (int64_t k = 0; k < nv; k++)                                             \
                    if (!w->gtf[k] && (float)ov[j * nl + k] > best)                          \
                        best = (float)ov[j * nl + k], bj = j, bk = k;                        \
            }                                                                                \
            if (bj < 0) break;                                                               \
            w->miou[bj] = best, w->mgt[bj] = bk, w->flag[bj] = 1, w->gtf[bk] = true, npos++; \
        }                                                                                    \
        if ((float)a->overlap_threshold > 0)                                                 \
            for (int64_t j = 0; j < n; j++) {                                                \
                if (w->flag[j] == 1) continue;                                               \
                best_gt_##T(ov, j, nl, nv, w);                                               \
                if (w->mgt[j] >= 0 && w->miou[j] > (float)a->overlap_threshold)              \
                    w->flag[j] = 1, w->gtf[w->mgt[j]] = true, npos++;                        \
            }                                                                                \
        if ((float)a->negative_mining_ratio > 0) {                                           \
            if (!((float)a->negative_mining_thresh > 0))                                     \
                return am_fail(AM_ERR_ARG, "negative_mining_thresh=%g must be positive when " \
                               "mining negatives", a->negative_mining_thresh);               \
            int64_t nneg = (int64_t)(npos * (float)a->negative_mining_ratio);                \
            if (nneg > n - npos) nneg = n - npos;                                            \
            if (nneg > 0) {                                                                  \
                int64_t nk = 0;                                                              \
                for (int64_t j = 0; j < n; j++) {                                            \
                    if (w->flag[j] == 1) continue;                                           \
                    if (w->miou[j] < 0) best_gt_##T(ov, j, nl, nv, w);                       \
                    if (!(w->miou[j] < (float)a->negative_mining_thresh) || w->flag[j] != -1) \
                        continue;                                                            \
                    T mx = cp[j], sum = 0;                                                   \
                    for (int64_t k = 1; k < nc; k++) mx = cp[j + n * k] > mx ? cp[j + n * k] : mx; \
                    for (int64_t k = 0; k < nc; k++) sum += (T)exp(cp[j + n * k] - mx);      \
                    T prob = (T)exp(cp[j] - mx) / sum;                                       \
                    w->keys[nk++] = (det_key){(float)-prob, j};                              \
                }                                                                            \
                if (nk < nneg)                                                               \
                    return am_fail(AM_ERR_ARG, "%lld anchors can be negatives, fewer than the " \
                                   "%lld that negative_mining_ratio asks", (long long)nk,    \
                                   (long long)nneg);                                         \
                if (nk > 1) qsort(w->keys, (size_t)nk, sizeof(*w->keys), det_cmp);                     \
                for (int64_t i = 0; i < nneg; i++) w->flag[w->keys[i].row] = 0;              \
            }                                                                                \
        } else {                                                                             \
            for (int64_t j = 0; j < n; j++)                                                  \
                if (w->flag[j] != 1) w->flag[j] = 0;                                         \
        }                                                                                    \
        for (int64_t j = 0; j < n; j++) {                                                    \
            if (w->flag[j] == 0) ct[j] = 0;                                                  \
            if (w->flag[j] != 1) continue;                                                   \
            const T *g = lab + w->mgt[j] * lw;                                               \
            ct[j] = g[0] + 1;                                                                \
            for (int k = 0; k < 4; k++) lm[j * 4 + k] = 1;                                   \
            float al = (float)anc[j * 4], at = (float)anc[j * 4 + 1];                        \
            float ar = (float)anc[j * 4 + 2], ab = (float)anc[j * 4 + 3];                    \
            float aw = ar - al, ah = ab - at, ax = (al + ar) * 0.5f, ay = (at + ab) * 0.5f;  \
            float gl = (float)g[1], gt = (float)g[2], gr = (float)g[3], gb = (float)g[4];    \
            float gw = gr - gl, gh = gb - gt, gx = (gl + gr) * 0.5f, gy = (gt + gb) * 0.5f;  \
            lt[j * 4] = (T)((gx - ax) / aw / var[0]);                                        \
            lt[j * 4 + 1] = (T)((gy - ay) / ah / var[1]);                                    \
            lt[j * 4 + 2] = (T)(logf(gw / aw) / var[2]);                                     \
            lt[j * 4 + 3] = (T)(logf(gh / ah) / var[3]);                                     \
        }                                                                                    \
        return AM_OK;                                                                        \
    }
TARGET(float)
TARGET(double)

/* Writes res (n values) into dst as req says. */
static void put_all(const am_view *dst, int64_t off, const void *res, int64_t n, am_req req)
{
    if (req == AM_REQ_NULL) return;
    for (int64_t i = 0; i < n; i++) {
        if (dst->dtype == AM_DTYPE_FLOAT32) {
            float *d = (float *)dst->data + off + i, v = ((const float *)res)[i];
            *d = req == AM_REQ_ADD ? *d + v : v;
        } else {
            double *d = (double *)dst->data + off + i, v = ((const double *)res)[i];
            *d = req == AM_REQ_ADD ? *d + v : v;
        }
    }
}

static am_status target_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    float var[4];
    am_status st = parse_variances(((const target_attrs *)attrs)->variances, var);
    if (st != AM_OK) return st;
    const int64_t n = in[0].dim[1], nb = in[1].dim[0], nl = in[1].dim[1], lw = in[1].dim[2];
    const int64_t nc = in[2].dim[1];
    const size_t es = am_dtype_size(in[0].dtype);
    /* Doubles first (overlaps, then one batch's three results), then the rest. */
    double *ov = ctx->workspace, *lt = ov + n * nl, *lm = lt + n * 4, *ct = lm + n * 4;
    target_ws w = {.keys = (det_key *)(ct + n)};
    w.mgt = (int64_t *)(w.keys + n);
    w.miou = (float *)(w.mgt + n);
    w.flag = (signed char *)(w.miou + n);
    w.gtf = (bool *)(w.flag + n);
    for (int64_t b = 0; b < nb; b++) {
        const char *lab = (const char *)in[1].data + b * nl * lw * es;
        const char *cp = (const char *)in[2].data + b * nc * n * es;
        if (in[0].dtype == AM_DTYPE_FLOAT32)
            st = target_batch_float(attrs, var, in[0].data, (const float *)lab,
                                    (const float *)cp, n, nl, lw, nc, (float *)ov, &w,
                                    (float *)lt, (float *)lm, (float *)ct);
        else
            st = target_batch_double(attrs, var, in[0].data, (const double *)lab,
                                     (const double *)cp, n, nl, lw, nc, ov, &w, lt, lm, ct);
        if (st != AM_OK) return st;
        put_all(&out[0], b * n * 4, lt, n * 4, req[0]);
        put_all(&out[1], b * n * 4, lm, n * 4, req[1]);
        put_all(&out[2], b * n, ct, n, req[2]);
    }
    return AM_OK;
}

const am_op_def am_op_multibox_target = {
    .name = "_contrib_MultiBoxTarget",
    .input_names = (const char *const[]){"anchor", "label", "cls_pred", NULL},
    .num_outputs = 3, .attrs = target_fields, .attrs_size = sizeof(target_attrs),
    .infer_shape = target_shape, .infer_dtype = am_infer_dtype_float_same, .temp_bytes = target_temp,
    .cpu = target_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "SSD training targets: box offsets (B, N*4), their mask (B, N*4) and class targets "
           "(B, N) from anchors (1, N, 4), labels (B, L, 5+) and class predictions (B, C, N)."};

am_status am_multibox_target_at(am_array *anchor, am_array *label, am_array *cls_pred,
                                double overlap_threshold, double negative_mining_ratio,
                                am_array **out, am_site at)
{
    target_attrs a;
    am_attrs_init(&am_op_multibox_target, &a);
    a.overlap_threshold = overlap_threshold, a.negative_mining_ratio = negative_mining_ratio;
    am_array *in[3] = {anchor, label, cls_pred};
    return am_op_call(&am_op_multibox_target, &a, in, 3, out, 3, at);
}
