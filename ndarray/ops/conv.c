/* Convolution family: Convolution and Deconvolution (1-D NCW, 2-D NCHW and 3-D NCDHW, grouped
 * and depthwise) with their _backward_ ops, by im2col/col2im and GEMM (kernels in conv_tmpl.h).
 * Deconvolution is Convolution's data gradient, so all four ops share one geometry. */
#include "../ndarray_impl.h"
#include "conv_algo.h"
#include "conv_winograd.h"

#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>

/* Weak, so that an OPENMP=0 build links; NULL there. */
extern int omp_get_max_threads(void) __attribute__((weak));

/* Below this many flops a convolution runs as one slice: waking threads costs more. */
#define CONV_PAR_MIN_FLOPS (1 << 20)
/* Column blocks are built for bands of output rows of about this many elements, so that
 * the block is still in L2 when the GEMM reads it (measured best of 64K to 384K on a 3x3,
 * 64-channel layer with 2 MB of L2 per core). */
#define CONV_BAND_ELEMS (3 << 16)

/* ---- geometry ------------------------------------------------------------------------ */

/* A convolution from input (n, c, d, h, w) to output (n, f, od, oh, ow) with weight
 * (f, c / groups, kd, kh, kw); 2-D has d = od = kd = 1, 1-D also h = oh = kh = 1.
 * Deconvolution uses the same geometry with its input and output swapped.  An output
 * "row" is one (z, y) pair: there are od * oh of them, ow elements each. */
typedef struct conv_geom {
    int64_t n, c, d, h, w, f, od, oh, ow;
    int64_t kd, kh, kw, sd, sh, sw;           /* kernel, stride */
    int64_t pd, ph, pw, dld, dlh, dlw;        /* pad, dilation */
    int64_t groups, cg, fg, k;                /* per group: channels in, out, GEMM depth */
    int64_t hw, ohw;                          /* spatial sizes: d h w and od oh ow */
    int64_t rows;                             /* output rows: od * oh */
    int64_t band, nbands;                     /* output rows per column block, blocks */
    bool direct;                              /* 1x1, stride 1, no pad: no im2col */
    bool depthwise;                           /* one input channel per group: no GEMM */
} conv_geom;

/* One pass over the batch (see CONV_FN(image)).  a is the convolution's input side
 * (N, C, H, W), b its output side (N, F, OH, OW). */
typedef struct conv_job {
    conv_geom g;
    const void *a, *b, *w;
    const void *bias;   /* added to fwd (bias_on_fwd) or to din; NULL: none */
    bool bias_on_fwd;
    void *fwd;          /* W col(a): the Convolution output, Deconvolution's data gradient */
    void *din;          /* col2im(W^T b): Convolution's data gradient, the Deconvolution output */
    void *dw;           /* sum over the batch of b col(a)^T: the weight gradient */
    am_req fwd_req, din_req, dw_req;
    void *ws;           /* slices of slice_elems: col_elems of columns, then a dw accumulator */
    int64_t slices, slice_elems, col_elems;
} conv_job;

/* Work items a job splits into: bands, or whole images when col2im runs (its bands overlap). */
static inline int64_t conv_items(const conv_job *j)
{
    return j->din ? j->g.n : j->g.n * j->g.nbands;
}

/* Output positions x in [0, ow) whose input x * s - start lies in [0, w): [*lo, *hi).
 * Stride 1, the common case, needs no division. */
static inline void conv_valid_range(int64_t start, int64_t s, int64_t w, int64_t ow,
                                    int64_t *lo, int64_t *hi)
{
    int64_t a = start, b = w + start; /* x * s in [a, b) */
    int64_t l, h;
    if (s == 1) l = a < 0 ? 0 : a, h = b < 0 ? 0 : b;
    else l = a <= 0 ? 0 : (a + s - 1) / s, h = b <= 0 ? 0 : (b + s - 1) / s;
    *lo = l < ow ? l : ow;
    *hi = h < *lo ? *lo : h < ow ? h : ow;
}

#define T float
#define GEMM cblas_sgemm
#define CONV_FN(name) conv_##name##_f32
#include "conv_tmpl.h"
#undef T
#undef GEMM
#undef CONV_FN
#define T double
#define GEMM cblas_dgemm
#define CONV_FN(name) conv_##name##_f64
#include "conv_tmpl.h"
#undef T
#undef GEMM
#undef CONV_FN

/* ---- attributes ---------------------------------------------------------------------- */

typedef struct conv_attrs {
    am_tuple kernel, stride, dilate, pad, adj, target_shape; /* adj, target_shape: Deconvolution */
    int64_t num_filter, num_group, workspace;
    bool no_bias;
    int cudnn_tune;
    bool cudnn_off;
    int layout;
} conv_attrs;

static const char *const tune_choices[] = {"None", "off", "limited_workspace", "fastest", NULL};
static const char *const layout_choices[] = {"None", "NCW", "NCHW", "NCDHW", "NHWC", "NDHWC",
                                             NULL};
enum { LAYOUT_NONE, LAYOUT_NCW, LAYOUT_NCHW, LAYOUT_NCDHW };

#define CONV_TUPLES                                                                          \
    AM_ATTR_FIELD(conv_attrs, kernel, AM_ATTR_TUPLE, NULL,                                   \
                  "kernel size: (w,), (h, w) or (d, h, w)"),                                 \
    AM_ATTR_FIELD(conv_attrs, stride, AM_ATTR_TUPLE, "()", "stride; (): 1 per dimension"),   \
    AM_ATTR_FIELD(conv_attrs, dilate, AM_ATTR_TUPLE, "()", "dilation; (): 1 per dimension"), \
    AM_ATTR_FIELD(conv_attrs, pad, AM_ATTR_TUPLE, "()", "zero padding per side; (): none")
#define CONV_REST(ws_, no_bias_)                                                             \
    AM_ATTR_FIELD(conv_attrs, num_filter, AM_ATTR_INT, NULL, "output channels"),             \
    AM_ATTR_FIELD(conv_attrs, num_group, AM_ATTR_INT, "1", "groups the channels split into"), \
    AM_ATTR_FIELD(conv_attrs, workspace, AM_ATTR_INT, ws_,                                   \
                  "MB of column buffers across threads (at least one image's)"),             \
    AM_ATTR_FIELD(conv_attrs, no_bias, AM_ATTR_BOOL, no_bias_, "no bias input"),             \
    AM_ATTR_ENUM_FIELD(conv_attrs, cudnn_tune, tune_choices, "None",                         \
                       "cuDNN algorithm search (GPU only)"),                                 \
    AM_ATTR_FIELD(conv_attrs, cudnn_off, AM_ATTR_BOOL, "False", "do not use cuDNN (GPU only)"), \
    AM_ATTR_ENUM_FIELD(conv_attrs, layout, layout_choices, "None",                           \
                       "NCW (1-D), NCHW (2-D) or NCDHW (3-D); None: from the kernel")

static const am_attr_field conv_fields[] = {CONV_TUPLES, CONV_REST("1024", "False"), {0}};
static const am_attr_field deconv_fields[] = {
    CONV_TUPLES,
    AM_ATTR_FIELD(conv_attrs, adj, AM_ATTR_TUPLE, "()", "extra output size per dimension"),
    AM_ATTR_FIELD(conv_attrs, target_shape, AM_ATTR_TUPLE, "()",
                  "output size per dimension; sets pad and adj"),
    CONV_REST("512", "True"),
    {0}};

static char *tuple_str(const am_tuple *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)t->v[i]);
    if (k < n) snprintf(buf + k, n - k, t->ndim == 1 ? ",)" : ")");
    return buf;
}

/* The attributes in 3-D form (depth, height, width): the dims a 1-D or 2-D kernel lacks
 * lead, as 1 (0 for pad and adj). */
typedef struct conv_p {
    int nk;
    int64_t k[3], s[3], d[3], p[3], adj[3];
} conv_p;

static am_status tuple_3d(const am_tuple *t, const char *name, const am_tuple *kernel,
                          int64_t def, int64_t min, int64_t out[3])
{
    char b1[64], b2[64];
    int nk = kernel->ndim;
    out[0] = out[1] = out[2] = def;
    if (t->ndim == 0) return AM_OK;
    if (t->ndim != nk || t->none)
        return am_fail(AM_ERR_ARG, "%s %s must have %d entries, as kernel %s has", name,
                       t->ndim < 0 ? "None" : tuple_str(t, b1, sizeof(b1)), nk,
                       tuple_str(kernel, b2, sizeof(b2)));
    for (int i = 0; i < nk; i++)
        if (t->v[i] < min)
            return am_fail(AM_ERR_ARG, "%s %s must have entries of at least %lld", name,
                           tuple_str(t, b1, sizeof(b1)), (long long)min);
    for (int i = 0; i < nk; i++) out[3 - nk + i] = t->v[i];
    return AM_OK;
}

static am_status check_layout(const conv_attrs *a, int nk)
{
    int want = nk == 1 ? LAYOUT_NCW : nk == 2 ? LAYOUT_NCHW : LAYOUT_NCDHW;
    if (a->layout == LAYOUT_NONE || a->layout == want) return AM_OK;
    if (a->layout <= LAYOUT_NCDHW)
        return am_fail(AM_ERR_ARG, "layout %s does not fit a %d-D kernel (use %s)",
                       layout_choices[a->layout], nk, layout_choices[want]);
    return am_fail(AM_ERR_UNSUPPORTED, "layout %s is not supported: the CPU convolution takes "
                   "NCW (1-D), NCHW (2-D) and NCDHW (3-D) data", layout_choices[a->layout]);
}

/* Checks the attributes as MXNet's parameter parser and shape inference do. */
static am_status conv_params(const conv_attrs *a, bool deconv, conv_p *p)
{
    char b1[64];
    const am_tuple *k = &a->kernel;
    am_status st;
    if (k->ndim < 1 || k->ndim > 3)
        return am_fail(AM_ERR_ARG, "kernel %s must have 1, 2 or 3 entries",
                       k->ndim < 0 ? "None" : tuple_str(k, b1, sizeof(b1)));
    p->nk = k->ndim;
    if ((st = tuple_3d(k, "kernel", k, 1, 1, p->k)) != AM_OK ||
        (st = tuple_3d(&a->stride, "stride", k, 1, 1, p->s)) != AM_OK ||
        (st = tuple_3d(&a->dilate, "dilate", k, 1, 1, p->d)) != AM_OK ||
        (st = tuple_3d(&a->pad, "pad", k, 0, 0, p->p)) != AM_OK)
        return st;
    p->adj[0] = p->adj[1] = p->adj[2] = 0;
    if (deconv) {
        int64_t ts[3];
        if ((st = tuple_3d(&a->adj, "adj", k, 0, 0, p->adj)) != AM_OK ||
            (st = tuple_3d(&a->target_shape, "target_shape", k, 0, 0, ts)) != AM_OK)
            return st;
    }
    if (a->num_filter < 1)
        return am_fail(AM_ERR_ARG, "num_filter must be at least 1, got %lld",
                       (long long)a->num_filter);
    if (a->num_group < 1)
        return am_fail(AM_ERR_ARG, "num_group must be at least 1, got %lld",
                       (long long)a->num_group);
    if (a->workspace < 0)
        return am_fail(AM_ERR_ARG, "workspace must be non-negative, got %lld",
                       (long long)a->workspace);
    return check_layout(a, p->nk);
}

static am_status check_data(const conv_p *p, const am_shape *d, const am_tuple *kernel)
{
    char b1[96], b2[64];
    if (d->ndim < 0) return am_fail(AM_ERR_SHAPE, "data shape is unknown");
    if (d->ndim != p->nk + 2)
        return am_fail(AM_ERR_SHAPE, "data %s must be %s for the %d-D kernel %s",
                       am_shape_format(d, b1, sizeof(b1)),
                       p->nk == 1 ? "3-D (N, C, W)" : p->nk == 2 ? "4-D (N, C, H, W)"
                                                                 : "5-D (N, C, D, H, W)", p->nk,
                       tuple_str(kernel, b2, sizeof(b2)));
    return AM_OK;
}

/* Fills the derived sizes; BLAS indexes with int, so one image's blocks must fit. */
static am_status geom_finish(conv_geom *g, const conv_p *p, int64_t groups, bool deconv)
{
    g->kd = p->k[0], g->kh = p->k[1], g->kw = p->k[2];
    g->sd = p->s[0], g->sh = p->s[1], g->sw = p->s[2];
    g->pd = p->p[0], g->ph = p->p[1], g->pw = p->p[2];
    g->dld = p->d[0], g->dlh = p->d[1], g->dlw = p->d[2];
    g->groups = groups, g->cg = g->c / groups, g->fg = g->f / groups;
    const int64_t kk = g->kd * g->kh * g->kw;
    g->k = g->cg * kk;
    g->hw = g->d * g->h * g->w, g->rows = g->od * g->oh, g->ohw = g->rows * g->ow;
    g->direct = kk == 1 && g->sd == 1 && g->sh == 1 && g->sw == 1 && g->pd == 0 && g->ph == 0 &&
                g->pw == 0;
    int64_t row = g->c * kk * g->ow;
    g->band = g->direct || row == 0 ? g->rows : CONV_BAND_ELEMS / row;
    g->band = g->band < 1 ? 1 : g->band > g->rows ? g->rows : g->band;
    g->nbands = g->band ? (g->rows + g->band - 1) / g->band : 0;
    g->depthwise = g->cg == 1 && groups > 1;
    /* Each block BLAS sees, named for the error (the first too large).  In
     * deconvolution's geometry c counts num_filter and f the data's channels. */
    const char *c = deconv ? "num_filter" : "channels", *f = deconv ? "channels" : "num_filter";
    const struct { double size; const char *what, *a, *b; } blocks[] = {
        {(double)g->c * (double)kk * (double)g->ohw, "column block", c, "kernel x positions"},
        {(double)g->c * (double)g->hw, "input block", c, "positions"},
        {(double)g->f * (double)g->ohw, "output block", f, "positions"},
        {(double)g->f * (double)g->k, "weight block", f, "channels per group x kernel"},
    };
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        if (blocks[i].size > INT_MAX)
            return am_fail(AM_ERR_UNSUPPORTED, "one image's %s (%s x %s) has %.0f elements, more "
                           "than BLAS's int range (%d)", blocks[i].what, blocks[i].a, blocks[i].b,
                           blocks[i].size, INT_MAX);
    return AM_OK;
}

static am_status check_groups(const am_shape *d, int64_t channels, int64_t num_filter,
                              int64_t groups)
{
    char b1[96];
    if (channels % groups)
        return am_fail(AM_ERR_SHAPE, "data %s has %lld channels, not divisible by num_group %lld",
                       am_shape_format(d, b1, sizeof(b1)), (long long)channels,
                       (long long)groups);
    if (num_filter % groups)
        return am_fail(AM_ERR_ARG, "num_filter %lld is not divisible by num_group %lld",
                       (long long)num_filter, (long long)groups);
    return AM_OK;
}

/* Convolution of data (N, C, [[D,] H,] W). */
static am_status conv_geom_fwd(const conv_attrs *a, const am_shape *d, conv_geom *g)
{
    char b1[96], b2[64];
    conv_p p;
    am_status st = conv_params(a, false, &p);
    if (st != AM_OK || (st = check_data(&p, d, &a->kernel)) != AM_OK) return st;
    memset(g, 0, sizeof(*g));
    g->n = d->dim[0], g->c = d->dim[1], g->f = a->num_filter;
    int64_t size[3] = {1, 1, 1}, out[3];
    for (int i = 0; i < p.nk; i++) size[3 - p.nk + i] = d->dim[2 + i];
    g->d = size[0], g->h = size[1], g->w = size[2];
    if ((st = check_groups(d, g->c, g->f, a->num_group)) != AM_OK) return st;
    for (int i = 0; i < 3; i++) {
        int64_t dk = 1 + (p.k[i] - 1) * p.d[i], padded = size[i] + 2 * p.p[i];
        if (dk > padded)
            return am_fail(AM_ERR_SHAPE, "kernel %s with dilate spans %lld, more than data %s "
                           "padded to %lld", tuple_str(&a->kernel, b2, sizeof(b2)),
                           (long long)dk, am_shape_format(d, b1, sizeof(b1)),
                           (long long)padded);
        out[i] = (padded - dk) / p.s[i] + 1;
    }
    g->od = out[0], g->oh = out[1], g->ow = out[2];
    return geom_finish(g, &p, a->num_group, false);
}

/* Deconvolution of data (N, C_in, [[D,] H,] W): pad and adj from target_shape as MXNet's
 * DeconvolutionParam::InferPad, then out = stride (in - 1) + dilated kernel - 2 pad + adj. */
static am_status conv_geom_deconv(const conv_attrs *a, const am_shape *d, conv_geom *g)
{
    char b1[96], b2[64], b3[64];
    conv_p p;
    am_status st = conv_params(a, true, &p);
    if (st != AM_OK || (st = check_data(&p, d, &a->kernel)) != AM_OK) return st;
    memset(g, 0, sizeof(*g));
    g->n = d->dim[0], g->f = d->dim[1], g->c = a->num_filter;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    for (int i = 0; i < p.nk; i++) in[3 - p.nk + i] = d->dim[2 + i];
    g->od = in[0], g->oh = in[1], g->ow = in[2];
    if ((st = check_groups(d, g->f, g->c, a->num_group)) != AM_OK) return st;
    const am_tuple *ts = &a->target_shape;
    bool from_target = false;
    for (int i = 0; i < ts->ndim; i++) from_target |= ts->v[i] != 0;
    for (int i = 3 - p.nk; i < 3; i++) {
        int64_t dk = 1 + (p.k[i] - 1) * p.d[i], full = p.s[i] * (in[i] - 1) + dk;
        if (from_target) {
            int64_t excess = full - ts->v[i - (3 - p.nk)];
            if (excess < 0)
                return am_fail(AM_ERR_SHAPE, "target_shape %s is too big for data %s (at most "
                               "%lld)", tuple_str(ts, b2, sizeof(b2)),
                               am_shape_format(d, b1, sizeof(b1)), (long long)full);
            p.adj[i] = excess % 2, p.p[i] = (excess + 1) / 2;
        }
        if (p.adj[i] >= p.s[i])
            return am_fail(AM_ERR_ARG, "adj %lld must be smaller than stride %s",
                           (long long)p.adj[i], tuple_str(&a->stride, b3, sizeof(b3)));
        out[i] = full - 2 * p.p[i] + p.adj[i];
        if (out[i] < 0)
            return am_fail(AM_ERR_SHAPE, "pad %s leaves no output for data %s",
                           tuple_str(&a->pad, b2, sizeof(b2)), am_shape_format(d, b1, sizeof(b1)));
    }
    g->d = out[0], g->h = out[1], g->w = out[2];
    return geom_finish(g, &p, a->num_group, true);
}

/* ---- shape and dtype inference ------------------------------------------------------- */

/* (n, c, sp...) with the last nk of the spatial sizes (d, h, w). */
static am_shape shape_ncx(int nk, int64_t n, int64_t c, int64_t d, int64_t h, int64_t w)
{
    const int64_t sp[3] = {d, h, w};
    am_shape s = {.ndim = nk + 2, .dim = {n, c}};
    for (int i = 0; i < nk; i++) s.dim[2 + i] = sp[3 - nk + i];
    return s;
}

static bool shape_eq(const am_shape *a, const am_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

/* Fills an unknown input shape or checks a known one. */
static am_status assign(am_shape *s, const am_shape *want, const char *name, const am_shape *data,
                        const conv_attrs *a)
{
    char b1[96], b2[96], b3[96], b4[64];
    if (s->ndim < 0) *s = *want;
    if (shape_eq(s, want)) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "%s %s does not match %s for data %s with num_filter %lld, "
                   "num_group %lld, kernel %s", name, am_shape_format(s, b1, sizeof(b1)),
                   am_shape_format(want, b2, sizeof(b2)), am_shape_format(data, b3, sizeof(b3)),
                   (long long)a->num_filter, (long long)a->num_group,
                   tuple_str(&a->kernel, b4, sizeof(b4)));
}

/* Checks (or fills) weight and bias, in[0] being the data; *y is the op's output shape. */
static am_status infer_params(const conv_attrs *a, bool deconv, am_shape *in, am_shape *y)
{
    conv_geom g;
    am_status st = deconv ? conv_geom_deconv(a, &in[0], &g) : conv_geom_fwd(a, &in[0], &g);
    if (st != AM_OK) return st;
    int nk = a->kernel.ndim;
    am_shape w = shape_ncx(nk, g.f, g.cg, g.kd, g.kh, g.kw);
    am_shape b = {.ndim = 1, .dim = {a->num_filter}};
    if ((st = assign(&in[1], &w, "weight", &in[0], a)) != AM_OK) return st;
    if (!a->no_bias && (st = assign(&in[2], &b, "bias", &in[0], a)) != AM_OK) return st;
    *y = deconv ? shape_ncx(nk, g.n, g.c, g.d, g.h, g.w)
                : shape_ncx(nk, g.n, g.f, g.od, g.oh, g.ow);
    return AM_OK;
}

static am_status conv_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return infer_params(attrs, false, in, &out[0]);
}

static am_status deconv_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return infer_params(attrs, true, in, &out[0]);
}

/* _backward_ ops: inputs (out_grad, data, weight[, bias]), outputs the gradients of data,
 * weight and bias (shape (0,) when no_bias, and hidden). */
static am_status bwd_shape(const conv_attrs *a, bool deconv, am_shape *in, am_shape *out)
{
    char b1[96], b2[96], b3[96];
    am_shape y;
    am_status st = infer_params(a, deconv, in + 1, &y);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) in[0] = y;
    if (!shape_eq(&in[0], &y))
        return am_fail(AM_ERR_SHAPE, "out_grad %s does not match the output %s of data %s",
                       am_shape_format(&in[0], b1, sizeof(b1)), am_shape_format(&y, b2, sizeof(b2)),
                       am_shape_format(&in[1], b3, sizeof(b3)));
    out[0] = in[1], out[1] = in[2];
    out[2] = (am_shape){.ndim = 1, .dim = {a->no_bias ? 0 : a->num_filter}};
    return AM_OK;
}

static am_status conv_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return bwd_shape(attrs, false, in, out);
}

static am_status deconv_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return bwd_shape(attrs, true, in, out);
}

/* Every input has data's dtype (unknown ones take it), float32 or float64. */
static am_status conv_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    static const char *const names[] = {"data", "weight", "bias"};
    const bool bwd = n_out == 3; /* _backward_ ops start with out_grad */
    const int d = bwd ? 1 : 0;
    AM_UNUSED(attrs);
    if (!am_dtype_is_float(in[d]))
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(in[d]));
    for (int i = 0; i < n_in; i++) {
        if ((unsigned)in[i] >= AM_DTYPE_COUNT) in[i] = in[d];
        if (in[i] != in[d])
            return am_fail(AM_ERR_DTYPE, "%s is %s but data is %s",
                           bwd && i == 0 ? "out_grad" : names[i - d], am_dtype_name(in[i]),
                           am_dtype_name(in[d]));
    }
    for (int i = 0; i < n_out; i++) out[i] = in[d];
    return AM_OK;
}

/* ---- workspace ----------------------------------------------------------------------- */

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

static int64_t conv_threads(void)
{
    return omp_get_max_threads ? omp_get_max_threads() : 1;
}

/* Elements of one slice: a column block (none for 1x1 convolutions) and, for weight
 * gradients, an accumulator. */
static void slice_size(const conv_geom *g, bool with_dw, int64_t *col, int64_t *slice)
{
    *col = g->direct || g->depthwise ? 0
                                     : round16(g->c * g->kd * g->kh * g->kw * g->band * g->ow);
    *slice = g->depthwise ? 0 : *col + (with_dw ? round16(g->f * g->k) : 0);
}

/* Slices run in parallel: one per thread, at most one per work item, within the workspace
 * attribute (MB), and one for small problems.  Sized for float64 (temp_bytes does not know
 * the dtype). */
static int64_t slice_count(const conv_geom *g, int64_t items, int64_t slice_elems,
                           int64_t workspace_mb)
{
    if (items == 0) return 0;
    int64_t ns = conv_threads(), budget = workspace_mb > (1 << 20) ? INT64_MAX / 2
                                                                  : workspace_mb << 20;
    if (ns > items) ns = items;
    if (2.0 * (double)g->n * (double)(g->f * g->k) * (double)g->ohw < CONV_PAR_MIN_FLOPS) ns = 1;
    while (ns > 1 && ns * slice_elems * (int64_t)sizeof(double) > budget) ns--;
    return ns;
}

static size_t temp_for(const conv_attrs *a, const am_shape *data, bool deconv, bool with_dw)
{
    conv_geom g;
    am_status st = deconv ? conv_geom_deconv(a, data, &g) : conv_geom_fwd(a, data, &g);
    if (st != AM_OK) return 0; /* infer_shape has reported it */
    int64_t col, slice;
    slice_size(&g, with_dw, &col, &slice);
    /* Without knowing the requests, assume the most slices (band items). */
    int64_t ns = g.depthwise ? 0 : slice_count(&g, g.n * g.nbands, slice, a->workspace);
    return (size_t)(ns * slice) * sizeof(double);
}

/* Winograd F(m x m, 3x3) applies to 3x3, stride-1, undilated 2-D convolutions that are not
 * depthwise (those run direct loops), with at least as many 2x2 output tiles as input
 * channels per group: the weights are transformed at every call (16 f c/groups elements),
 * which costs more than it saves on deep layers of few tiles (ResNet-18's 256 and 512
 * channels at 14x14 and 7x7, batch 1: 2 to 3x slower than im2col), and would make their
 * workspace 8 to 32 MB. */
static bool wino_applies(const conv_geom *g, int m)
{
    const int64_t tiles = g->n * ((g->oh + m - 1) / m) * ((g->ow + m - 1) / m);
    return g->kd == 1 && g->d == 1 && g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 &&
           g->dlh == 1 && g->dlw == 1 && !g->depthwise && tiles > 0 && g->c > 0 &&
           tiles >= g->cg && g->f * g->cg <= (1 << 18);
}

static am_wino_conv wino_desc(const conv_geom *g, int m)
{
    return (am_wino_conv){.n = g->n, .c = g->c, .h = g->h, .w = g->w, .f = g->f, .oh = g->oh,
                          .ow = g->ow, .ph = g->ph, .pw = g->pw, .groups = g->groups, .m = m};
}

/* Whether AM_CONV_ALGO lets F(4x4, 3x3) run (fast or winograd4). */
static bool wino4_allowed(void)
{
    const char *e = getenv("AM_CONV_ALGO");
    return e && (!strcmp(e, "fast") || !strcmp(e, "winograd4"));
}

/* Convolution's workspace: im2col's slices, or Winograd's where it applies and needs more
 * (sized for float64, as the rest); F(4x4, 3x3)'s only while AM_CONV_ALGO allows it. */
static size_t conv_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    size_t bytes = temp_for(attrs, &in[0], false, false);
    conv_geom g;
    if (bytes == 0 || conv_geom_fwd(attrs, &in[0], &g) != AM_OK) return bytes;
    for (int m = 2; m <= (wino4_allowed() ? 4 : 2); m += 2) {
        am_wino_conv p = wino_desc(&g, m);
        size_t wb = (size_t)am_wino_ws_elems(&p, conv_threads()) * sizeof(double);
        if (wino_applies(&g, m) && wb > bytes) bytes = wb;
    }
    return bytes;
}

static size_t deconv_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    return temp_for(attrs, &in[0], true, false);
}

static size_t conv_bwd_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    return temp_for(attrs, &in[1], false, true);
}

static size_t deconv_bwd_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    return temp_for(attrs, &in[1], true, true);
}

/* ---- kernels ------------------------------------------------------------------------- */

static am_shape view_shape(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int i = 0; i < v->ndim; i++) s.dim[i] = v->dim[i];
    return s;
}

/* Splits the batch into slices that fit ctx's workspace and runs the job. */
static am_status conv_exec(const am_kernel_ctx *ctx, conv_job *j, am_dtype dt,
                           int64_t workspace_mb, bool with_dw)
{
    slice_size(&j->g, with_dw, &j->col_elems, &j->slice_elems);
    int64_t items = conv_items(j), ns = slice_count(&j->g, items, j->slice_elems, workspace_mb);
    size_t esz = am_dtype_size(dt), slice_bytes = (size_t)j->slice_elems * esz;
    while (ns > 0 && slice_bytes && (size_t)ns * slice_bytes > ctx->workspace_bytes) ns--;
    if (ns == 0 && items > 0)
        return am_fail(AM_ERR_INTERNAL, "workspace of %zu bytes is smaller than one slice (%zu)",
                       ctx->workspace_bytes, slice_bytes);
    j->slices = ns;
    j->ws = ctx->workspace;
    if (dt != AM_DTYPE_FLOAT32 && dt != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(dt));
    bool f32 = dt == AM_DTYPE_FLOAT32;
    if (j->g.depthwise) f32 ? conv_depthwise_f32(j) : conv_depthwise_f64(j);
    else f32 ? conv_run_f32(j) : conv_run_f64(j);
    return AM_OK;
}

/* The bias gradient: src (N, channels, sp) summed over all but the channel axis. */
static void bias_grad(const am_view *src, int64_t nb, int64_t channels, int64_t sp,
                      const am_view *out, am_req req)
{
    if (req == AM_REQ_NULL) return;
    if (src->dtype == AM_DTYPE_FLOAT32)
        conv_channel_sum_f32(src->data, nb, channels, sp, out->data, req);
    else
        conv_channel_sum_f64(src->data, nb, channels, sp, out->data, req);
}

/* ---- algorithm choice ---------------------------------------------------------------- */

enum { ALGO_IM2COL, ALGO_WINOGRAD, ALGO_WINOGRAD4, ALGO_UNTIMED, ALGO_ERROR };
static const char *const algo_names[] = {"im2col", "winograd", "winograd4", "untimed"};
static const int algo_tile[] = {0, 2, 4}; /* Winograd's output tile */

/* Choices measured so far, per shape, attributes that matter, dtype, thread count and
 * candidates (fast: F(4x4, 3x3) among them). */
typedef struct algo_key {
    int64_t n, c, h, w, f, ph, pw, groups, threads;
    int dtype, fast;
} algo_key;

#define ALGO_CACHE_SIZE 256
static struct { algo_key key; int algo; } algo_cache[ALGO_CACHE_SIZE];
static int algo_cached, algo_next;
static pthread_mutex_t algo_lock = PTHREAD_MUTEX_INITIALIZER;

static algo_key algo_key_of(const conv_geom *g, am_dtype dt, bool fast)
{
    algo_key k;
    memset(&k, 0, sizeof(k)); /* compared with memcmp */
    k.n = g->n, k.c = g->c, k.h = g->h, k.w = g->w, k.f = g->f, k.ph = g->ph, k.pw = g->pw;
    k.groups = g->groups, k.threads = conv_threads(), k.dtype = (int)dt, k.fast = fast;
    return k;
}

static int algo_lookup(const algo_key *k)
{
    int found = ALGO_UNTIMED;
    pthread_mutex_lock(&algo_lock);
    for (int i = 0; i < algo_cached; i++)
        if (!memcmp(&algo_cache[i].key, k, sizeof(*k))) found = algo_cache[i].algo;
    pthread_mutex_unlock(&algo_lock);
    return found;
}

/* A full cache overwrites its entries round robin. */
static void algo_store(const algo_key *k, int algo)
{
    pthread_mutex_lock(&algo_lock);
    int i = algo_cached < ALGO_CACHE_SIZE ? algo_cached++ : algo_next++ % ALGO_CACHE_SIZE;
    algo_cache[i].key = *k, algo_cache[i].algo = algo;
    pthread_mutex_unlock(&algo_lock);
}

void am_conv_algo_reset(void)
{
    pthread_mutex_lock(&algo_lock);
    algo_cached = algo_next = 0;
    pthread_mutex_unlock(&algo_lock);
}

/* AM_CONV_ALGO: ALGO_IM2COL, ALGO_WINOGRAD (F(2x2, 3x3)) or ALGO_WINOGRAD4 (F(4x4, 3x3))
 * when forced, ALGO_UNTIMED for auto (or unset: im2col and F(2x2, 3x3), which are as
 * accurate as each other) and for fast (*fast: F(4x4, 3x3) too, faster and less accurate),
 * ALGO_ERROR (with the error set) for anything else. */
static int algo_override(bool *fast)
{
    const char *e = getenv("AM_CONV_ALGO");
    *fast = e && !strcmp(e, "fast");
    if (!e || !*e || !strcmp(e, "auto") || *fast) return ALGO_UNTIMED;
    if (!strcmp(e, "im2col")) return ALGO_IM2COL;
    if (!strcmp(e, "winograd")) return ALGO_WINOGRAD;
    if (!strcmp(e, "winograd4")) return ALGO_WINOGRAD4;
    am_fail(AM_ERR_ARG, "AM_CONV_ALGO=%s is not one of auto, fast, im2col, winograd, winograd4",
            e);
    return ALGO_ERROR;
}

/* The choice for a geometry without timing: forced, cached, or ALGO_UNTIMED (*fast says
 * whether F(4x4, 3x3) is a candidate).  Shapes where no Winograd candidate applies, and
 * problems too small to be worth timing, run im2col. */
static int algo_pick(const conv_geom *g, am_dtype dt, bool *fast)
{
    int o = algo_override(fast);
    if (o == ALGO_ERROR) return o;
    if (o == ALGO_WINOGRAD || o == ALGO_WINOGRAD4) return wino_applies(g, algo_tile[o]) ? o
                                                                                 : ALGO_IM2COL;
    if (o == ALGO_IM2COL || (!wino_applies(g, 2) && !(*fast && wino_applies(g, 4))))
        return ALGO_IM2COL;
    if (2.0 * (double)g->n * (double)(g->f * g->k) * (double)g->ohw < CONV_PAR_MIN_FLOPS)
        return ALGO_IM2COL;
    algo_key k = algo_key_of(g, dt, *fast);
    return algo_lookup(&k);
}

const char *am_conv_algo(const void *attrs, const am_shape *data, am_dtype dtype)
{
    conv_geom g;
    if (conv_geom_fwd(attrs, data, &g) != AM_OK) return NULL;
    if (g.depthwise) return "depthwise";
    bool fast;
    int algo = algo_pick(&g, dtype, &fast);
    return algo == ALGO_ERROR ? NULL : algo_names[algo];
}

/* Whether F(m x m, 3x3) fits ctx's workspace with one thread: a workspace sized while
 * AM_CONV_ALGO did not allow F(4x4, 3x3) may be too small for it. */
static bool wino_fits(const am_kernel_ctx *ctx, const conv_job *j, am_dtype dt, int m)
{
    am_wino_conv p = wino_desc(&j->g, m);
    return (size_t)am_wino_ws_elems(&p, 1) * am_dtype_size(dt) <= ctx->workspace_bytes;
}

/* Runs F(m x m, 3x3); wino_fits must hold. */
static void wino_exec(const am_kernel_ctx *ctx, const conv_job *j, am_dtype dt, int m)
{
    am_wino_conv p = wino_desc(&j->g, m);
    p.x = j->a, p.weight = j->w, p.bias = j->bias, p.y = j->fwd;
    p.add = j->fwd_req == AM_REQ_ADD, p.ws = ctx->workspace;
    size_t esz = am_dtype_size(dt);
    int64_t ns = conv_threads();
    if (2.0 * (double)j->g.n * (double)(j->g.f * j->g.k) * (double)j->g.ohw < CONV_PAR_MIN_FLOPS)
        ns = 1;
    while (ns > 1 && (size_t)am_wino_ws_elems(&p, ns) * esz > ctx->workspace_bytes) ns--;
    p.threads = ns;
    dt == AM_DTYPE_FLOAT32 ? am_wino_run_f32(&p) : am_wino_run_f64(&p);
}

/* The process's CPU time: on a busy machine it counts only the time the candidates ran
 * (spinning at barriers included), where wall time also counts other processes'. */
static double algo_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs the forward with the cached or forced algorithm; an untimed shape whose output is
 * overwritten (not AM_REQ_ADD) runs each candidate that applies twice, alternating, keeps
 * the fastest (best of two each) and leaves the output written by the one kept. */
static am_status conv_fwd_run(const am_kernel_ctx *ctx, conv_job *j, am_dtype dt,
                              int64_t workspace_mb)
{
    bool fast = false;
    int algo = j->g.depthwise || (dt != AM_DTYPE_FLOAT32 && dt != AM_DTYPE_FLOAT64)
                   ? ALGO_IM2COL : algo_pick(&j->g, dt, &fast);
    if (algo == ALGO_ERROR) return am_last_status();
    if ((algo == ALGO_WINOGRAD || algo == ALGO_WINOGRAD4) &&
        wino_fits(ctx, j, dt, algo_tile[algo])) {
        wino_exec(ctx, j, dt, algo_tile[algo]);
        return AM_OK;
    }
    if (algo != ALGO_UNTIMED || j->fwd_req != AM_REQ_WRITE)
        return conv_exec(ctx, j, dt, workspace_mb, false);
    double best[3] = {1e300, 1e300, 1e300};
    int pick = ALGO_IM2COL, last = ALGO_IM2COL;
    for (int r = 0; r < 2; r++)
        for (int a = ALGO_IM2COL; a <= (fast ? ALGO_WINOGRAD4 : ALGO_WINOGRAD); a++) {
            if (a != ALGO_IM2COL && (!wino_applies(&j->g, algo_tile[a]) ||
                                     !wino_fits(ctx, j, dt, algo_tile[a])))
                continue;
            double t0 = algo_now();
            am_status st = AM_OK;
            if (a == ALGO_IM2COL) st = conv_exec(ctx, j, dt, workspace_mb, false);
            else wino_exec(ctx, j, dt, algo_tile[a]);
            if (st != AM_OK) return st;
            last = a;
            double t = algo_now() - t0;
            best[a] = t < best[a] ? t : best[a];
            pick = best[a] < best[pick] ? a : pick;
        }
    algo_key k = algo_key_of(&j->g, dt, fast);
    algo_store(&k, pick);
    /* The output is the pick's, bit for bit what every later call with the cached choice
     * gives, whichever candidate ran last. */
    if (pick == last) return AM_OK;
    if (pick == ALGO_IM2COL) return conv_exec(ctx, j, dt, workspace_mb, false);
    wino_exec(ctx, j, dt, algo_tile[pick]);
    return AM_OK;
}

static am_status conv_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const conv_attrs *a = attrs;
    conv_job j = {.bias_on_fwd = true, .fwd_req = req[0]};
    am_shape d = view_shape(&in[0]);
    am_status st = conv_geom_fwd(a, &d, &j.g);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    j.a = in[0].data, j.w = in[1].data, j.fwd = out[0].data;
    j.bias = a->no_bias ? NULL : in[2].data;
    return conv_fwd_run(ctx, &j, in[0].dtype, a->workspace);
}

/* in: out_grad, data, weight[, bias]; out: data, weight and bias gradients. */
static am_status conv_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const conv_attrs *a = attrs;
    conv_job j = {.din_req = req[0], .dw_req = req[1]};
    am_shape d = view_shape(&in[1]);
    am_status st = conv_geom_fwd(a, &d, &j.g);
    if (st != AM_OK) return st;
    j.b = in[0].data, j.w = in[2].data;
    if (req[1] != AM_REQ_NULL) j.a = in[1].data, j.dw = out[1].data;
    if (req[0] != AM_REQ_NULL) j.din = out[0].data;
    if ((j.dw || j.din) && (st = conv_exec(ctx, &j, in[0].dtype, a->workspace, true)) != AM_OK)
        return st;
    if (!a->no_bias) bias_grad(&in[0], j.g.n, j.g.f, j.g.ohw, &out[2], req[2]);
    return AM_OK;
}

/* Deconvolution: the data gradient of the convolution whose output side is data. */
static am_status deconv_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const conv_attrs *a = attrs;
    conv_job j = {.din_req = req[0]};
    am_shape d = view_shape(&in[0]);
    am_status st = conv_geom_deconv(a, &d, &j.g);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    j.b = in[0].data, j.w = in[1].data, j.din = out[0].data;
    j.bias = a->no_bias ? NULL : in[2].data;
    return conv_exec(ctx, &j, in[0].dtype, a->workspace, false);
}

/* Its data gradient is a convolution of out_grad; its weight gradient pairs out_grad's
 * columns with data. */
static am_status deconv_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const conv_attrs *a = attrs;
    conv_job j = {.fwd_req = req[0], .dw_req = req[1]};
    am_shape d = view_shape(&in[1]);
    am_status st = conv_geom_deconv(a, &d, &j.g);
    if (st != AM_OK) return st;
    j.a = in[0].data, j.w = in[2].data;
    if (req[0] != AM_REQ_NULL) j.fwd = out[0].data;
    if (req[1] != AM_REQ_NULL) j.b = in[1].data, j.dw = out[1].data;
    if ((j.dw || j.fwd) && (st = conv_exec(ctx, &j, in[0].dtype, a->workspace, true)) != AM_OK)
        return st;
    if (!a->no_bias) bias_grad(&in[0], j.g.n, j.g.c, j.g.hw, &out[2], req[2]);
    return AM_OK;
}

/* ---- gradients ----------------------------------------------------------------------- */

extern const am_op_def am_op_backward_convolution, am_op_backward_deconvolution;

/* One _backward_ op call gives all gradients.  The _backward_ ops are AM_OP_NO_GRAD, as in
 * MXNet, so a gradient taken with create_graph does not differentiate through them. */
static am_status grad_via(const am_op_def *bwd, const am_grad_ctx *g, am_array *const *in,
                          am_array *const *og, am_array **ig)
{
    const conv_attrs *a = g->attrs;
    int np = a->no_bias ? 2 : 3;
    am_array *bin[4] = {og[0], in[0], in[1], a->no_bias ? NULL : in[2]}, *res[3] = {0};
    am_status st = am_op_call(bwd, a, bin, np + 1, res, np, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < np; i++)
        if (g->need_grad[i]) ig[i] = res[i];
    return AM_OK;
}

static am_status conv_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return grad_via(&am_op_backward_convolution, g, in, og, ig);
}

static am_status deconv_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return grad_via(&am_op_backward_deconvolution, g, in, og, ig);
}

/* ---- definitions --------------------------------------------------------------------- */

static int fwd_inputs(const void *attrs) { return ((const conv_attrs *)attrs)->no_bias ? 2 : 3; }
static int bwd_inputs(const void *attrs) { return ((const conv_attrs *)attrs)->no_bias ? 3 : 4; }
static int bwd_visible(const void *attrs) { return fwd_inputs(attrs); }

static const char *const fwd_names[] = {"data", "weight", "bias", NULL};
static const char *const bwd_names[] = {"out_grad", "data", "weight", "bias", NULL};

/* The GEMM facet of Convolution: weight (num_filter, ...), channels on axis 1
 * (NCW, NCHW, NCDHW). */
static void conv_gemm_read(const void *attrs, am_gemm_attrs *g)
{
    const conv_attrs *a = attrs;
    *g = (am_gemm_attrs){.num_out = a->num_filter, .no_bias = a->no_bias};
}

static void conv_gemm_write(void *attrs, const am_gemm_attrs *g)
{
    conv_attrs *a = attrs;
    a->num_filter = g->num_out, a->no_bias = g->no_bias;
}

static int conv_channel_axis(const void *attrs, int ndim)
{
    AM_UNUSED(attrs), AM_UNUSED(ndim);
    return 1;
}

static const am_gemm_facet conv_gemm = {
    .kind = AM_GEMM_CONV, .data = 0, .weight = 1, .bias = 2, .channel_axis = conv_channel_axis,
    .read = conv_gemm_read, .write = conv_gemm_write, .fused = "_amber_fused_conv"};

const am_op_def am_op_convolution = {
    .name = "Convolution", .aliases = (const char *const[]){"_npx_convolution", "Convolution_v1", NULL},
    .input_names = fwd_names, .num_inputs = fwd_inputs, .num_outputs = 1,
    .attrs = conv_fields, .attrs_size = sizeof(conv_attrs), .infer_shape = conv_shape,
    .infer_dtype = conv_dtype, .temp_bytes = conv_temp, .cpu = conv_cpu, .gradient = conv_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP, .gemm = &conv_gemm,
    .doc = "1-D (NCW), 2-D (NCHW) or 3-D (NCDHW) convolution, grouped or depthwise, plus bias."};

const am_op_def am_op_backward_convolution = {
    .name = "_backward_Convolution", .input_names = bwd_names, .num_inputs = bwd_inputs,
    .num_outputs = 3, .num_visible = bwd_visible, .attrs = conv_fields,
    .attrs_size = sizeof(conv_attrs), .infer_shape = conv_bwd_shape, .infer_dtype = conv_dtype,
    .temp_bytes = conv_bwd_temp, .cpu = conv_bwd_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Convolution's data, weight and bias gradients from out_grad."};

const am_op_def am_op_deconvolution = {
    .name = "Deconvolution", .aliases = (const char *const[]){"_npx_deconvolution", NULL},
    .input_names = fwd_names, .num_inputs = fwd_inputs, .num_outputs = 1,
    .attrs = deconv_fields, .attrs_size = sizeof(conv_attrs), .infer_shape = deconv_shape,
    .infer_dtype = conv_dtype, .temp_bytes = deconv_temp, .cpu = deconv_cpu,
    .gradient = deconv_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Transposed 1-D, 2-D or 3-D convolution (Convolution's data gradient), with adj and "
           "target_shape."};

const am_op_def am_op_backward_deconvolution = {
    .name = "_backward_Deconvolution", .input_names = bwd_names, .num_inputs = bwd_inputs,
    .num_outputs = 3, .num_visible = bwd_visible, .attrs = deconv_fields,
    .attrs_size = sizeof(conv_attrs), .infer_shape = deconv_bwd_shape, .infer_dtype = conv_dtype,
    .temp_bytes = deconv_bwd_temp, .cpu = deconv_bwd_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Deconvolution's data, weight and bias gradients from out_grad."};

/* ---- C functions --------------------------------------------------------------------- */

/* NULL leaves the tuple "()" (the attribute's default). */
static void set_tuple(am_tuple *t, const int64_t *v, int nk)
{
    t->ndim = v ? nk : 0;
    for (int i = 0; v && i < nk; i++) t->v[i] = v[i];
}

static am_array *call_conv(const am_op_def *op, conv_attrs *a, am_array *x, am_array *w,
                           am_array *b, am_site at)
{
    am_array *in[3] = {x, w, b}, *y = NULL;
    a->no_bias = b == NULL;
    am_op_call(op, a, in, b ? 3 : 2, &y, 1, at);
    return y;
}

static bool bad_nk(const char *op, int nk, const int64_t *kernel, am_array *x, am_site at)
{
    if (!x || (nk >= 1 && nk <= 3 && kernel)) return false;
    am_fail_at(op, at, AM_ERR_ARG, "kernel must have 1, 2 or 3 entries, got %d%s", nk,
                 kernel ? "" : " (kernel is NULL)");
    return true;
}

am_array *am_convolution_at(am_array *x, am_array *weight, am_array *bias, int nk,
                            const int64_t *kernel, const int64_t *stride, const int64_t *pad,
                            const int64_t *dilate, int64_t num_filter, int64_t num_group,
                            am_site at)
{
    conv_attrs a;
    if (bad_nk("Convolution", nk, kernel, x, at) || am_attrs_init(&am_op_convolution, &a))
        return NULL;
    set_tuple(&a.kernel, kernel, nk), set_tuple(&a.stride, stride, nk);
    set_tuple(&a.pad, pad, nk), set_tuple(&a.dilate, dilate, nk);
    a.num_filter = num_filter, a.num_group = num_group;
    return call_conv(&am_op_convolution, &a, x, weight, bias, at);
}

am_array *am_deconvolution_at(am_array *x, am_array *weight, am_array *bias, int nk,
                              const int64_t *kernel, const int64_t *stride, const int64_t *pad,
                              const int64_t *dilate, const int64_t *adj,
                              const int64_t *target_shape, int64_t num_filter,
                              int64_t num_group, am_site at)
{
    conv_attrs a;
    if (bad_nk("Deconvolution", nk, kernel, x, at) || am_attrs_init(&am_op_deconvolution, &a))
        return NULL;
    set_tuple(&a.kernel, kernel, nk), set_tuple(&a.stride, stride, nk);
    set_tuple(&a.pad, pad, nk), set_tuple(&a.dilate, dilate, nk);
    set_tuple(&a.adj, adj, nk), set_tuple(&a.target_shape, target_shape, nk);
    a.num_filter = num_filter, a.num_group = num_group;
    return call_conv(&am_op_deconvolution, &a, x, weight, bias, at);
}
