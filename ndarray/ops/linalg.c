/* MXNet's linalg family (_linalg_gemm ... _linalg_maketrian, alias linalg_*):
 * matrices on the last two axes, batched over the leading ones, float32 and
 * float64, through OpenBLAS's CBLAS and its Fortran LAPACK (lapack.h).
 * Gradients are written with these same ops (linalg_grad.c). */
#include "../ndarray_impl.h"
#include "linalg_impl.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>

#include "lapack.h"

/* Blocking factor for LAPACK work arrays (getri, geqrf, orgqr). */
#define LG_NB 64

static size_t lg_align(size_t b) { return (b + 63) & ~(size_t)63; }

/* Rows on axis, columns on the last axis, batched over b0 (axes before axis)
 * and b1 (axes between axis and the last). */
typedef struct lg_geo {
    int64_t b0, b1, rows_a, cols_a, rows_b, cols_b, rows_d, cols_d;
} lg_geo;

#define LT float
#define LF(n) n##_f32
#define LB(n) cblas_s##n
#define LL(n) s##n##_
#include "linalg_tmpl.h"
#undef LT
#undef LF
#undef LB
#undef LL
#define LT double
#define LF(n) n##_f64
#define LB(n) cblas_d##n
#define LL(n) d##n##_
#include "linalg_tmpl.h"
#undef LT
#undef LF
#undef LB
#undef LL

static const char *const bool_str[] = {"False", "True"};

/* Short names for the attribute structs of linalg_impl.h. */
typedef am_linalg_gemm_attrs gemm_attrs;
typedef am_linalg_trmm_attrs trmm_attrs;
typedef am_linalg_chol_attrs chol_attrs;
typedef am_linalg_syrk_attrs syrk_attrs;
typedef am_linalg_diag_attrs diag_attrs;

/* ---- shared plumbing --------------------------------------------------------------- */

static char *sh(const am_shape *s, char *buf) { return am_shape_format(s, buf, 96); }

static int64_t vprod(const am_view *v, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++) p *= v->dim[i];
    return p;
}

/* Every input has one float dtype; every output gets it (pivots: int32). */
static am_status lg_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs);
    am_dtype t = AM_DTYPE_COUNT;
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] < AM_DTYPE_COUNT) t = in[i];
    if (t == AM_DTYPE_COUNT) return am_fail(AM_ERR_DTYPE, "input dtypes are unknown");
    for (int i = 0; i < n_in; i++) {
        if ((unsigned)in[i] >= AM_DTYPE_COUNT) in[i] = t;
        if (in[i] != t)
            return am_fail(AM_ERR_DTYPE, "input %d is %s but input 0 is %s; all must have one "
                           "dtype", i, am_dtype_name(in[i]), am_dtype_name(t));
    }
    if (t != AM_DTYPE_FLOAT32 && t != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s inputs are not supported (float32 or float64 only)",
                       am_dtype_name(t));
    for (int i = 0; i < n_out; i++) out[i] = t;
    return AM_OK;
}

/* det and slogdet: the last output holds the LU pivots, int32 as in MXNet. */
static am_status lg_dtype_pivot(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    am_status st = lg_dtype(attrs, in, n_in, out, n_out);
    if (st == AM_OK) out[n_out - 1] = AM_DTYPE_INT32;
    return st;
}

/* A (..., n, n): square matrices on the last two axes. */
static am_status need_square(const am_shape *a, const char *what)
{
    char s[96];
    if (a->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shape must be known");
    if (a->ndim < 2)
        return am_fail(AM_ERR_SHAPE, "%s %s must have at least 2 dimensions (matrices on the "
                       "last two axes)", what, sh(a, s));
    if (a->dim[a->ndim - 1] != a->dim[a->ndim - 2])
        return am_fail(AM_ERR_SHAPE, "%s %s must hold square matrices on its last two axes",
                       what, sh(a, s));
    if (a->dim[a->ndim - 1] > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "%s %s: matrices beyond the LAPACK limit of %d", what,
                       sh(a, s), INT_MAX);
    return AM_OK;
}

/* Where each output is computed: the output itself, or (AM_REQ_ADD) a slice of
 * the workspace that finish() then adds on.  Returns the workspace left over. */
static void *targets(const am_kernel_ctx *ctx, const am_view *out, int n_out, const am_req *req,
                     void **dst)
{
    char *ws = ctx->workspace;
    for (int i = 0; i < n_out; i++) {
        if (req[i] != AM_REQ_ADD) {
            dst[i] = out[i].data;
            continue;
        }
        dst[i] = ws;
        ws += lg_align((size_t)am_view_size(&out[i]) * am_dtype_size(out[i].dtype));
    }
    return ws;
}

static void finish(const am_view *out, int n_out, const am_req *req, void *const *dst)
{
    for (int i = 0; i < n_out; i++) {
        if (req[i] != AM_REQ_ADD) continue;
        int64_t n = am_view_size(&out[i]);
        if (out[i].dtype == AM_DTYPE_FLOAT32) {
            float *o = out[i].data;
            const float *s = dst[i];
            for (int64_t k = 0; k < n; k++) o[k] += s[k];
        } else if (out[i].dtype == AM_DTYPE_FLOAT64) {
            double *o = out[i].data;
            const double *s = dst[i];
            for (int64_t k = 0; k < n; k++) o[k] += s[k];
        } else {
            int32_t *o = out[i].data;
            const int32_t *s = dst[i];
            for (int64_t k = 0; k < n; k++) o[k] += s[k];
        }
    }
}

/* Workspace for AM_REQ_ADD copies of the outputs (as float64: the dtype is not
 * known here) plus extra bytes of LAPACK work. */
static size_t out_bytes(const am_op_def *op, const void *attrs, const am_shape *in, int n_in,
                        size_t extra)
{
    am_shape ish[4], osh[4];
    int n_out = am_op_num_outputs(op, attrs);
    for (int i = 0; i < n_in && i < 4; i++) ish[i] = in[i];
    for (int i = 0; i < n_out; i++) osh[i].ndim = -1;
    if (op->infer_shape(attrs, ish, n_in, osh, n_out) != AM_OK) {
        am_clear_error();
        return 64;
    }
    size_t b = extra;
    for (int i = 0; i < n_out; i++) b += lg_align((size_t)am_shape_size(&osh[i]) * 8);
    return b ? b : 64;
}

#define LG_CALL(dt, fn, ...)                                                              \
    ((dt) == AM_DTYPE_FLOAT32 ? fn##_f32(__VA_ARGS__) : fn##_f64(__VA_ARGS__))

/* ---- gemm, gemm2 ------------------------------------------------------------------- */

static const am_attr_field gemm_fields[] = {
    AM_ATTR_FIELD(gemm_attrs, transpose_a, AM_ATTR_BOOL, "False", "multiply with A transposed"),
    AM_ATTR_FIELD(gemm_attrs, transpose_b, AM_ATTR_BOOL, "False", "multiply with B transposed"),
    AM_ATTR_FIELD(gemm_attrs, alpha, AM_ATTR_FLOAT, "1.0", "factor of A B"),
    AM_ATTR_FIELD(gemm_attrs, beta, AM_ATTR_FLOAT, "1.0", "factor of C"),
    AM_ATTR_FIELD(gemm_attrs, axis, AM_ATTR_INT, "-2", "axis of the matrix rows"),
    {0}};

static const am_attr_field gemm2_fields[] = {
    AM_ATTR_FIELD(gemm_attrs, transpose_a, AM_ATTR_BOOL, "False", "multiply with A transposed"),
    AM_ATTR_FIELD(gemm_attrs, transpose_b, AM_ATTR_BOOL, "False", "multiply with B transposed"),
    AM_ATTR_FIELD(gemm_attrs, alpha, AM_ATTR_FLOAT, "1.0", "factor of A B"),
    AM_ATTR_FIELD(gemm_attrs, axis, AM_ATTR_INT, "-2", "axis of the matrix rows"),
    {0}};

static const char *const abc_names[] = {"A", "B", "C", NULL};
static const char *const ab_names[] = {"A", "B", NULL};
static const char *const a_names[] = {"A", NULL};

static am_status gemm_mismatch(const gemm_attrs *g, const am_shape *a, const am_shape *b,
                               const char *what)
{
    char sa[96], sb[96];
    return am_fail(AM_ERR_SHAPE, "A %s does not match B %s: %s (transpose_a=%s, transpose_b=%s, "
                   "axis=%lld)", sh(a, sa), sh(b, sb), what, bool_str[g->transpose_a],
                   bool_str[g->transpose_b], (long long)g->axis);
}

static am_status gemm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const gemm_attrs *g = attrs;
    const am_shape *a = &in[0], *b = &in[1];
    if (a->ndim < 0 || b->ndim < 0) return am_fail(AM_ERR_SHAPE, "A and B shapes must be known");
    if (a->ndim < 2 || a->ndim != b->ndim)
        return gemm_mismatch(g, a, b, "both need the same number (2 or more) of dimensions");
    int nd = a->ndim, ax = (int)(g->axis < 0 ? nd + g->axis : g->axis);
    if (ax < 0 || ax >= nd - 1) return gemm_mismatch(g, a, b, "axis is out of range");
    for (int i = 0; i < nd - 1; i++)
        if (i != ax && a->dim[i] != b->dim[i])
            return gemm_mismatch(g, a, b, "the batch dimensions differ");
    int64_t ka = g->transpose_a ? a->dim[ax] : a->dim[nd - 1];
    int64_t kb = g->transpose_b ? b->dim[nd - 1] : b->dim[ax];
    if (ka != kb) return gemm_mismatch(g, a, b, "the contracted dimensions differ");
    out[0] = *a;
    out[0].dim[ax] = g->transpose_a ? a->dim[nd - 1] : a->dim[ax];
    out[0].dim[nd - 1] = g->transpose_b ? b->dim[ax] : b->dim[nd - 1];
    if (n_in > 2) {
        char sc[96], so[96];
        if (in[2].ndim < 0) in[2] = out[0];
        if (!am_shape_equal(in[2], out[0]))
            return am_fail(AM_ERR_SHAPE, "C %s does not match the product's shape %s",
                           sh(&in[2], sc), sh(&out[0], so));
    }
    return AM_OK;
}

static lg_geo gemm_geo(const gemm_attrs *g, const am_view *a, const am_view *b, const am_view *d)
{
    int nd = a->ndim, ax = (int)(g->axis < 0 ? nd + g->axis : g->axis);
    return (lg_geo){.b0 = vprod(a, 0, ax), .b1 = vprod(a, ax + 1, nd - 1),
                    .rows_a = a->dim[ax], .cols_a = a->dim[nd - 1], .rows_b = b->dim[ax],
                    .cols_b = b->dim[nd - 1], .rows_d = d->dim[ax], .cols_d = d->dim[nd - 1]};
}

static am_status gemm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    const gemm_attrs *g = attrs;
    void *dst[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    targets(ctx, out, n_out, req, dst);
    lg_geo geo = gemm_geo(g, &in[0], &in[1], &out[0]);
    if (geo.rows_a > INT_MAX || geo.cols_a * geo.b1 > INT_MAX || geo.cols_b * geo.b1 > INT_MAX ||
        geo.cols_d * geo.b1 > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "matrices beyond the BLAS limit of %d", INT_MAX);
    double beta = n_in > 2 ? g->beta : 0;
    size_t bytes = (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype);
    if (n_in > 2 && bytes) memcpy(dst[0], in[2].data, bytes);
    if (out[0].dtype == AM_DTYPE_FLOAT32)
        gemm_f32(&geo, in[0].data, in[1].data, dst[0], (float)g->alpha, (float)beta,
                 g->transpose_a, g->transpose_b);
    else
        gemm_f64(&geo, in[0].data, in[1].data, dst[0], g->alpha, beta, g->transpose_a,
                 g->transpose_b);
    finish(out, n_out, req, dst);
    return AM_OK;
}

static size_t gemm_temp(const void *attrs, const am_shape *in, int n_in);
static size_t gemm2_temp(const void *attrs, const am_shape *in, int n_in);

const am_op_def am_op_linalg_gemm = {
    .name = "_linalg_gemm", .aliases = (const char *const[]){"linalg_gemm", NULL},
    .input_names = abc_names, .num_outputs = 1, .attrs = gemm_fields,
    .attrs_size = sizeof(gemm_attrs), .infer_shape = gemm_shape, .infer_dtype = lg_dtype,
    .temp_bytes = gemm_temp, .cpu = gemm_cpu, .gradient = am_linalg_gemm_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "D = alpha op(A) op(B) + beta C on matrices whose rows are on axis and columns on "
           "the last axis, batched over the rest."};

const am_op_def am_op_linalg_gemm2 = {
    .name = "_linalg_gemm2", .aliases = (const char *const[]){"linalg_gemm2", NULL},
    .input_names = ab_names, .num_outputs = 1, .attrs = gemm2_fields,
    .attrs_size = sizeof(gemm_attrs), .infer_shape = gemm_shape, .infer_dtype = lg_dtype,
    .temp_bytes = gemm2_temp, .cpu = gemm_cpu, .gradient = am_linalg_gemm_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "C = alpha op(A) op(B) on matrices whose rows are on axis and columns on the last "
           "axis, batched over the rest."};

static size_t gemm_temp(const void *attrs, const am_shape *in, int n_in)
{
    return out_bytes(&am_op_linalg_gemm, attrs, in, n_in, 0);
}

static size_t gemm2_temp(const void *attrs, const am_shape *in, int n_in)
{
    return out_bytes(&am_op_linalg_gemm2, attrs, in, n_in, 0);
}

/* ---- trmm, trsm -------------------------------------------------------------------- */

static const am_attr_field trmm_fields[] = {
    AM_ATTR_FIELD(trmm_attrs, transpose, AM_ATTR_BOOL, "False", "use A transposed"),
    AM_ATTR_FIELD(trmm_attrs, rightside, AM_ATTR_BOOL, "False", "B op(A) instead of op(A) B"),
    AM_ATTR_FIELD(trmm_attrs, lower, AM_ATTR_BOOL, "True", "A is lower (else upper) triangular"),
    AM_ATTR_FIELD(trmm_attrs, alpha, AM_ATTR_FLOAT, "1.0", "factor of the result"),
    {0}};

static am_status trmm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const trmm_attrs *t = attrs;
    char sa[96], sb[96];
    am_status st = need_square(&in[0], "A");
    if (st != AM_OK) return st;
    const am_shape *a = &in[0], *b = &in[1];
    int nd = a->ndim;
    bool ok = b->ndim == nd;
    for (int i = 0; ok && i < nd - 2; i++) ok = a->dim[i] == b->dim[i];
    if (ok) ok = a->dim[nd - 1] == b->dim[t->rightside ? nd - 1 : nd - 2];
    if (!ok)
        return am_fail(AM_ERR_SHAPE, "A %s does not match B %s (rightside=%s: B needs A's batch "
                       "dimensions and %s of size %lld)", sh(a, sa), sh(b, sb),
                       bool_str[t->rightside], t->rightside ? "columns" : "rows",
                       (long long)a->dim[nd - 1]);
    out[0] = *b;
    return AM_OK;
}

static am_status trmm_run(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          const am_view *out, const am_req *req, bool solve)
{
    const trmm_attrs *t = attrs;
    void *dst[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    targets(ctx, out, 1, req, dst);
    int nd = in[1].ndim;
    int64_t r = in[1].dim[nd - 2], c = in[1].dim[nd - 1], batch = vprod(&in[1], 0, nd - 2);
    if (r > INT_MAX || c > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "matrices beyond the BLAS limit of %d", INT_MAX);
    size_t bytes = (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype);
    if (bytes) memcpy(dst[0], in[1].data, bytes);
    if (out[0].dtype == AM_DTYPE_FLOAT32)
        trmm_f32(in[0].data, dst[0], batch, r, c, (float)t->alpha, solve, t->transpose,
                 t->rightside, t->lower);
    else
        trmm_f64(in[0].data, dst[0], batch, r, c, t->alpha, solve, t->transpose, t->rightside,
                 t->lower);
    finish(out, 1, req, dst);
    return AM_OK;
}

static am_status trmm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return trmm_run(ctx, attrs, in, out, req, false);
}

static am_status trsm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return trmm_run(ctx, attrs, in, out, req, true);
}

static size_t trmm_temp(const void *attrs, const am_shape *in, int n_in);

const am_op_def am_op_linalg_trmm = {
    .name = "_linalg_trmm", .aliases = (const char *const[]){"linalg_trmm", NULL},
    .input_names = ab_names, .num_outputs = 1, .attrs = trmm_fields,
    .attrs_size = sizeof(trmm_attrs), .infer_shape = trmm_shape, .infer_dtype = lg_dtype,
    .temp_bytes = trmm_temp, .cpu = trmm_cpu, .gradient = am_linalg_trmm_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "alpha op(A) B, or alpha B op(A) (rightside), with A triangular (only its lower, or "
           "upper, triangle is read)."};

const am_op_def am_op_linalg_trsm = {
    .name = "_linalg_trsm", .aliases = (const char *const[]){"linalg_trsm", NULL},
    .input_names = ab_names, .num_outputs = 1, .attrs = trmm_fields,
    .attrs_size = sizeof(trmm_attrs), .infer_shape = trmm_shape, .infer_dtype = lg_dtype,
    .temp_bytes = trmm_temp, .cpu = trsm_cpu, .gradient = am_linalg_trsm_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Solves op(A) X = alpha B, or X op(A) = alpha B (rightside), A triangular."};

static size_t trmm_temp(const void *attrs, const am_shape *in, int n_in)
{
    return out_bytes(&am_op_linalg_trmm, attrs, in, n_in, 0);
}

/* ---- potrf, potri ------------------------------------------------------------------ */

static const am_attr_field chol_fields[] = {
    AM_ATTR_FIELD(chol_attrs, lower, AM_ATTR_BOOL, "True",
                  "the factor is lower (else upper) triangular"),
    {0}};

static am_status square_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = need_square(&in[0], "A");
    if (st != AM_OK) return st;
    out[0] = in[0];
    return AM_OK;
}

static am_status chol_run(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          const am_view *out, const am_req *req, bool inverse)
{
    const chol_attrs *c = attrs;
    void *dst[1];
    char s[96];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    targets(ctx, out, 1, req, dst);
    int nd = in[0].ndim;
    int64_t n = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    size_t bytes = (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype);
    if (bytes) memcpy(dst[0], in[0].data, bytes);
    int info = 0;
    int64_t bad = inverse ? LG_CALL(out[0].dtype, potri, dst[0], batch, n, c->lower, &info)
                          : LG_CALL(out[0].dtype, potrf, dst[0], batch, n, c->lower, &info);
    if (bad >= 0) {
        am_shape as = {.ndim = nd};
        memcpy(as.dim, in[0].dim, sizeof(as.dim));
        if (inverse)
            return am_fail(AM_ERR_ARG, "matrix %lld of A %s is singular: its factor's diagonal "
                           "entry %d is zero (LAPACK info %d)", (long long)bad, sh(&as, s), info,
                           info);
        return am_fail(AM_ERR_ARG, "matrix %lld of A %s is not symmetric positive definite (its "
                       "leading minor of order %d is not positive; LAPACK info %d)",
                       (long long)bad, sh(&as, s), info, info);
    }
    finish(out, 1, req, dst);
    return AM_OK;
}

static am_status potrf_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return chol_run(ctx, attrs, in, out, req, false);
}

static am_status potri_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return chol_run(ctx, attrs, in, out, req, true);
}

static size_t square_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return lg_align((size_t)am_shape_size(&in[0]) * 8) + 64;
}

const am_op_def am_op_linalg_potrf = {
    .name = "_linalg_potrf", .aliases = (const char *const[]){"linalg_potrf", NULL},
    .input_names = a_names, .num_outputs = 1, .attrs = chol_fields,
    .attrs_size = sizeof(chol_attrs), .infer_shape = square_shape, .infer_dtype = lg_dtype,
    .temp_bytes = square_temp, .cpu = potrf_cpu, .gradient = am_linalg_potrf_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Cholesky factor L of symmetric positive definite A = L L^T (lower), or U with "
           "A = U^T U; reads only that triangle of A."};

const am_op_def am_op_linalg_potri = {
    .name = "_linalg_potri", .aliases = (const char *const[]){"linalg_potri", NULL},
    .input_names = a_names, .num_outputs = 1, .attrs = chol_fields,
    .attrs_size = sizeof(chol_attrs), .infer_shape = square_shape, .infer_dtype = lg_dtype,
    .temp_bytes = square_temp, .cpu = potri_cpu, .gradient = am_linalg_potri_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "(L L^T)^-1 from a Cholesky factor L (lower), or (U^T U)^-1 from U."};

/* ---- sumlogdiag, syrk -------------------------------------------------------------- */

static am_status sumlogdiag_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = need_square(&in[0], "A");
    if (st != AM_OK) return st;
    out[0] = in[0].ndim == 2 ? AM_SHAPE(1) : in[0];
    if (in[0].ndim > 2) out[0].ndim -= 2;
    return AM_OK;
}

static am_status sumlogdiag_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int nd = in[0].ndim;
    int64_t n = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    bool add = req[0] == AM_REQ_ADD;
    AM_FLOAT_SWITCH(out[0].dtype, T, {
        const T *a = in[0].data;
        T *o = out[0].data;
        for (int64_t b = 0; b < batch; b++) {
            T s = 0;
            for (int64_t i = 0; i < n; i++) s += (T)log((double)a[(b * n + i) * n + i]);
            o[b] = add ? o[b] + s : s;
        }
    });
    return AM_OK;
}

const am_op_def am_op_linalg_sumlogdiag = {
    .name = "_linalg_sumlogdiag", .aliases = (const char *const[]){"linalg_sumlogdiag", NULL},
    .input_names = a_names, .num_outputs = 1, .infer_shape = sumlogdiag_shape,
    .infer_dtype = lg_dtype, .cpu = sumlogdiag_cpu, .gradient = am_linalg_sumlogdiag_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Sum of the logarithms of each matrix's diagonal; shape (1,) for one matrix."};

static const am_attr_field syrk_fields[] = {
    AM_ATTR_FIELD(syrk_attrs, transpose, AM_ATTR_BOOL, "False", "alpha A^T A instead of A A^T"),
    AM_ATTR_FIELD(syrk_attrs, alpha, AM_ATTR_FLOAT, "1.0", "factor of the result"),
    {0}};

static am_status syrk_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const syrk_attrs *s = attrs;
    char sa[96];
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "input shape must be known");
    if (in[0].ndim < 2)
        return am_fail(AM_ERR_SHAPE, "A %s must have at least 2 dimensions", sh(&in[0], sa));
    int nd = in[0].ndim;
    out[0] = in[0];
    int64_t n = s->transpose ? in[0].dim[nd - 1] : in[0].dim[nd - 2];
    out[0].dim[nd - 2] = out[0].dim[nd - 1] = n;
    return AM_OK;
}

static am_status syrk_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const syrk_attrs *s = attrs;
    void *dst[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    targets(ctx, out, 1, req, dst);
    int nd = in[0].ndim;
    int64_t r = in[0].dim[nd - 2], c = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    if (r > INT_MAX || c > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "matrices beyond the BLAS limit of %d", INT_MAX);
    if (out[0].dtype == AM_DTYPE_FLOAT32)
        syrk_f32(in[0].data, dst[0], batch, r, c, (float)s->alpha, s->transpose);
    else
        syrk_f64(in[0].data, dst[0], batch, r, c, s->alpha, s->transpose);
    finish(out, 1, req, dst);
    return AM_OK;
}

static size_t syrk_temp(const void *attrs, const am_shape *in, int n_in);

const am_op_def am_op_linalg_syrk = {
    .name = "_linalg_syrk", .aliases = (const char *const[]){"linalg_syrk", NULL},
    .input_names = a_names, .num_outputs = 1, .attrs = syrk_fields,
    .attrs_size = sizeof(syrk_attrs), .infer_shape = syrk_shape, .infer_dtype = lg_dtype,
    .temp_bytes = syrk_temp, .cpu = syrk_cpu, .gradient = am_linalg_syrk_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "alpha A A^T, or alpha A^T A (transpose), for each matrix."};

static size_t syrk_temp(const void *attrs, const am_shape *in, int n_in)
{
    return out_bytes(&am_op_linalg_syrk, attrs, in, n_in, 0);
}

/* ---- gelqf, syevd ------------------------------------------------------------------ */

static am_status gelqf_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char sa[96];
    const am_shape *a = &in[0];
    if (a->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shape must be known");
    int nd = a->ndim;
    if (nd < 2 || a->dim[nd - 2] > a->dim[nd - 1])
        return am_fail(AM_ERR_SHAPE, "A %s must hold matrices (m, n) with m <= n on its last two "
                       "axes", sh(a, sa));
    if (a->dim[nd - 1] > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "A %s: matrices beyond the LAPACK limit", sh(a, sa));
    out[0] = *a;
    out[1] = *a;
    out[1].dim[nd - 1] = a->dim[nd - 2];
    return AM_OK;
}

static am_status gelqf_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    void *dst[2];
    char s[96];
    am_req rq[2] = {req[0] == AM_REQ_NULL ? AM_REQ_WRITE : req[0],
                    req[1] == AM_REQ_NULL ? AM_REQ_WRITE : req[1]};
    if (req[0] == AM_REQ_NULL && req[1] == AM_REQ_NULL) return AM_OK;
    void *work = targets(ctx, out, n_out, rq, dst);
    int nd = in[0].ndim;
    int64_t m = in[0].dim[nd - 2], n = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    size_t bytes = (size_t)am_view_size(&in[0]) * am_dtype_size(in[0].dtype);
    if (bytes) memcpy(dst[0], in[0].data, bytes);
    int info = 0;
    int64_t bad = LG_CALL(out[0].dtype, gelqf, dst[0], dst[1], batch, m, n, work, &info);
    if (bad >= 0) {
        am_shape as = {.ndim = nd};
        memcpy(as.dim, in[0].dim, sizeof(as.dim));
        return am_fail(AM_ERR_INTERNAL, "LAPACK failed on matrix %lld of A %s (info %d)",
                       (long long)bad, sh(&as, s), info);
    }
    finish(out, n_out, req, dst);
    return AM_OK;
}

static size_t gelqf_temp(const void *attrs, const am_shape *in, int n_in);

const am_op_def am_op_linalg_gelqf = {
    .name = "_linalg_gelqf", .aliases = (const char *const[]){"linalg_gelqf", NULL},
    .input_names = a_names, .num_outputs = 2, .infer_shape = gelqf_shape,
    .infer_dtype = lg_dtype, .temp_bytes = gelqf_temp, .cpu = gelqf_cpu,
    .gradient = am_linalg_gelqf_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "LQ factorization A = L Q of (m, n) matrices, m <= n: outputs Q (orthonormal rows) "
           "and L (lower triangular)."};

static size_t gelqf_temp(const void *attrs, const am_shape *in, int n_in)
{
    int64_t m = in[0].ndim >= 2 ? in[0].dim[in[0].ndim - 2] : 0;
    size_t extra = lg_align((size_t)(m + 1) * 8) + (size_t)(m * LG_NB + 1) * 8;
    return out_bytes(&am_op_linalg_gelqf, attrs, in, n_in, extra);
}

static am_status syevd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = need_square(&in[0], "A");
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[1] = in[0];
    out[1].ndim--;
    return AM_OK;
}

static am_status syevd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    void *dst[2];
    char s[96];
    am_req rq[2] = {req[0] == AM_REQ_NULL ? AM_REQ_WRITE : req[0],
                    req[1] == AM_REQ_NULL ? AM_REQ_WRITE : req[1]};
    if (req[0] == AM_REQ_NULL && req[1] == AM_REQ_NULL) return AM_OK;
    void *work = targets(ctx, out, n_out, rq, dst);
    int nd = in[0].ndim;
    int64_t n = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    size_t bytes = (size_t)am_view_size(&in[0]) * am_dtype_size(in[0].dtype);
    if (bytes) memcpy(dst[0], in[0].data, bytes);
    int info = 0;
    int64_t bad = LG_CALL(out[0].dtype, syevd, dst[0], dst[1], batch, n, work, &info);
    if (bad >= 0) {
        am_shape as = {.ndim = nd};
        memcpy(as.dim, in[0].dim, sizeof(as.dim));
        return am_fail(AM_ERR_ARG, "the eigensolver did not converge on matrix %lld of A %s "
                       "(LAPACK info %d)", (long long)bad, sh(&as, s), info);
    }
    finish(out, n_out, req, dst);
    return AM_OK;
}

static size_t syevd_temp(const void *attrs, const am_shape *in, int n_in);

const am_op_def am_op_linalg_syevd = {
    .name = "_linalg_syevd", .input_names = a_names, .num_outputs = 2,
    .infer_shape = syevd_shape, .infer_dtype = lg_dtype, .temp_bytes = syevd_temp,
    .cpu = syevd_cpu, .gradient = am_linalg_syevd_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Eigendecomposition A = U^T diag(L) U of symmetric matrices (lower triangle read): "
           "outputs U (eigenvectors as rows) and L (ascending)."};

static size_t syevd_temp(const void *attrs, const am_shape *in, int n_in)
{
    int64_t n = in[0].ndim >= 2 ? in[0].dim[in[0].ndim - 1] : 0;
    size_t extra = lg_align((size_t)(3 + 5 * n) * sizeof(int)) +
                   (size_t)(1 + 6 * n + 2 * n * n) * 8;
    return out_bytes(&am_op_linalg_syevd, attrs, in, n_in, extra);
}

/* ---- inverse, det, slogdet --------------------------------------------------------- */

static am_status inverse_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    void *dst[1];
    char s[96];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    void *work = targets(ctx, out, n_out, req, dst);
    int nd = in[0].ndim;
    int64_t n = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    size_t bytes = (size_t)am_view_size(&in[0]) * am_dtype_size(in[0].dtype);
    if (bytes) memcpy(dst[0], in[0].data, bytes);
    int info = 0;
    int64_t bad = LG_CALL(out[0].dtype, inverse, dst[0], batch, n, work, &info);
    if (bad >= 0) {
        am_shape as = {.ndim = nd};
        memcpy(as.dim, in[0].dim, sizeof(as.dim));
        return am_fail(AM_ERR_ARG, "matrix %lld of A %s is singular (U(%d,%d) of its LU "
                       "factorization is zero)", (long long)bad, sh(&as, s), info, info);
    }
    finish(out, 1, req, dst);
    return AM_OK;
}

static size_t inverse_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t n = in[0].ndim >= 2 ? in[0].dim[in[0].ndim - 1] : 0;
    return lg_align((size_t)am_shape_size(&in[0]) * 8) + lg_align((size_t)n * sizeof(int)) +
           (size_t)(n * LG_NB + 1) * 8;
}

const am_op_def am_op_linalg_inverse = {
    .name = "_linalg_inverse", .aliases = (const char *const[]){"linalg_inverse", NULL},
    .input_names = a_names, .num_outputs = 1, .infer_shape = square_shape,
    .infer_dtype = lg_dtype, .temp_bytes = inverse_temp, .cpu = inverse_cpu,
    .gradient = am_linalg_inverse_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Inverse of each square matrix (LU with partial pivoting)."};

/* det: (det, LU, pivots); slogdet: (sign, log|det|, LU, pivots).  The LU and
 * the pivots are hidden outputs, as in MXNet (the LU of A's transpose). */
static am_status det_shape_n(am_shape *in, am_shape *out, int n_vis)
{
    am_status st = need_square(&in[0], "A");
    if (st != AM_OK) return st;
    am_shape d = in[0];
    if (d.ndim == 2)
        d = AM_SHAPE(1);
    else
        d.ndim -= 2;
    for (int i = 0; i < n_vis; i++) out[i] = d;
    out[n_vis] = in[0];
    out[n_vis + 1] = in[0];
    out[n_vis + 1].ndim--;
    return AM_OK;
}

static am_status det_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return det_shape_n(in, out, 1);
}

static am_status slogdet_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return det_shape_n(in, out, 2);
}

/* Runs the LU into out[n_vis] and fills sign and log|det| (into sign, logabs). */
static am_status det_common(const am_view *in, void *const *dst, int n_vis, void *sign,
                            void *logabs)
{
    int nd = in[0].ndim;
    int64_t n = in[0].dim[nd - 1], batch = vprod(&in[0], 0, nd - 2);
    size_t bytes = (size_t)am_view_size(&in[0]) * am_dtype_size(in[0].dtype);
    if (bytes) memcpy(dst[n_vis], in[0].data, bytes);
    int info = 0;
    LG_CALL(in[0].dtype, getrf, dst[n_vis], dst[n_vis + 1], batch, n, &info);
    if (batch == 1 && nd == 2 && n == 0) { /* one empty matrix: det 1 */
        AM_FLOAT_SWITCH(in[0].dtype, T, ((T *)sign)[0] = 1; ((T *)logabs)[0] = 0);
        return AM_OK;
    }
    LG_CALL(in[0].dtype, slogdet, dst[n_vis], dst[n_vis + 1], batch, n, sign, logabs);
    return AM_OK;
}

static am_status det_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    void *dst[3];
    am_req rq[3];
    for (int i = 0; i < 3; i++) rq[i] = req[i] == AM_REQ_NULL ? AM_REQ_WRITE : req[i];
    char *work = targets(ctx, out, n_out, rq, dst);
    int64_t batch = am_view_size(&out[0]);
    am_status st = det_common(in, dst, 1, work, dst[0]);
    if (st != AM_OK) return st;
    AM_FLOAT_SWITCH(out[0].dtype, T, {
        T *d = dst[0];
        const T *sign = (const T *)work;
        for (int64_t b = 0; b < batch; b++) d[b] = sign[b] * (T)exp((double)d[b]);
    });
    finish(out, n_out, req, dst);
    return AM_OK;
}

static am_status slogdet_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    void *dst[4];
    am_req rq[4];
    for (int i = 0; i < 4; i++) rq[i] = req[i] == AM_REQ_NULL ? AM_REQ_WRITE : req[i];
    targets(ctx, out, n_out, rq, dst);
    am_status st = det_common(in, dst, 2, dst[0], dst[1]);
    if (st != AM_OK) return st;
    finish(out, n_out, req, dst);
    return AM_OK;
}

static size_t det_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t all = am_shape_size(&in[0]), n = in[0].ndim >= 1 ? in[0].dim[in[0].ndim - 1] : 1;
    int64_t batch = n ? all / n / n : 1;
    return 4 * lg_align((size_t)(all + batch + 1) * 8);
}

static int det_visible(const void *attrs) { AM_UNUSED(attrs); return 1; }
static int slogdet_visible(const void *attrs) { AM_UNUSED(attrs); return 2; }

const am_op_def am_op_linalg_det = {
    .name = "_linalg_det", .aliases = (const char *const[]){"linalg_det", NULL},
    .input_names = a_names, .num_outputs = 3, .num_visible = det_visible,
    .infer_shape = det_shape, .infer_dtype = lg_dtype_pivot, .temp_bytes = det_temp,
    .cpu = det_cpu, .gradient = am_linalg_det_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Determinant of each square matrix; shape (1,) for one matrix (hidden outputs: the "
           "LU factors and pivots)."};

const am_op_def am_op_linalg_slogdet = {
    .name = "_linalg_slogdet", .aliases = (const char *const[]){"linalg_slogdet", NULL},
    .input_names = a_names, .num_outputs = 4, .num_visible = slogdet_visible,
    .infer_shape = slogdet_shape, .infer_dtype = lg_dtype_pivot, .temp_bytes = det_temp,
    .cpu = slogdet_cpu, .gradient = am_linalg_slogdet_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Sign and log of the absolute determinant of each square matrix (hidden outputs: "
           "the LU factors and pivots)."};

/* ---- extractdiag, makediag, extracttrian, maketrian -------------------------------- */

static const am_attr_field diag_fields[] = {
    AM_ATTR_FIELD(diag_attrs, offset, AM_ATTR_INT, "0",
                  "diagonal: 0 the main one, < 0 below, > 0 above"),
    {0}};

static const am_attr_field trian_fields[] = {
    AM_ATTR_FIELD(diag_attrs, offset, AM_ATTR_INT, "0",
                  "first diagonal: 0 the main one, < 0 below, > 0 above"),
    AM_ATTR_FIELD(diag_attrs, lower, AM_ATTR_BOOL, "True",
                  "lower (else upper) triangle; only read when offset is 0"),
    {0}};

static int64_t iabs64(int64_t x) { return x < 0 ? -x : x; }

/* extract: (..., n, n) -> (..., m) with m = n - |offset| (diag) or m (m + 1) / 2
 * entries of the triangle (trian); make: the reverse. */
static am_status diag_shape_k(const diag_attrs *d, am_shape *in, am_shape *out, bool diag,
                              bool extract)
{
    char s[96];
    const am_shape *a = &in[0];
    int64_t k = iabs64(d->offset);
    if (a->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shape must be known");
    if (extract) {
        am_status st = need_square(a, "A");
        if (st != AM_OK) return st;
        int64_t m = a->dim[a->ndim - 1] - k;
        if (m <= 0)
            return am_fail(AM_ERR_SHAPE, "offset %lld does not fit matrices of A %s",
                           (long long)d->offset, sh(a, s));
        out[0] = *a;
        out[0].ndim--;
        out[0].dim[out[0].ndim - 1] = diag ? m : m * (m + 1) / 2;
        return AM_OK;
    }
    if (a->ndim < 1 || a->ndim + 1 > AM_MAX_NDIM)
        return am_fail(AM_ERR_SHAPE, "A %s must have 1 to %d dimensions", sh(a, s),
                       AM_MAX_NDIM - 1);
    int64_t t = a->dim[a->ndim - 1], m = t;
    if (!diag) {
        m = (int64_t)floor(0.5 + (sqrt(8.0 * (double)t + 1) - 1) * 0.5);
        if (m * (m + 1) / 2 != t)
            return am_fail(AM_ERR_SHAPE, "the last axis of A %s (%lld) is not a triangular "
                           "number m (m + 1) / 2", sh(a, s), (long long)t);
    }
    out[0] = *a;
    out[0].ndim++;
    out[0].dim[a->ndim - 1] = out[0].dim[a->ndim] = m + k;
    return AM_OK;
}

#define DIAG_SHAPE(fn, diag, extract)                                                     \
    static am_status fn(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out) \
    {                                                                                     \
        AM_UNUSED(n_in), AM_UNUSED(n_out);                                                \
        return diag_shape_k(attrs, in, out, diag, extract);                               \
    }
DIAG_SHAPE(extractdiag_shape, true, true)
DIAG_SHAPE(makediag_shape, true, false)
DIAG_SHAPE(extracttrian_shape, false, true)
DIAG_SHAPE(maketrian_shape, false, false)

/* Position in the packed triangle of element (r, c) of an n x n matrix, or -1
 * (MXNet's order: rows of the lower triangle, columns of the upper). */
static int64_t trian_index(const diag_attrs *d, int64_t n, int64_t r, int64_t c)
{
    int64_t k = d->offset;
    if (k > 0 || (k == 0 && !d->lower)) {
        int64_t t = r;
        r = c;
        c = t;
    }
    r -= iabs64(k);
    AM_UNUSED(n);
    return r >= c ? r * (r + 1) / 2 + c : -1;
}

/* Copies between the matrices (batch, n, n) and the packed (batch, m) form;
 * make fills the rest of each matrix with zeros. */
static am_status diag_run(const diag_attrs *d, const am_view *mat, const am_view *packed,
                          bool diag, bool make, bool add)
{
    int nd = mat->ndim;
    int64_t n = mat->dim[nd - 1], batch = vprod(mat, 0, nd - 2), m = packed->dim[packed->ndim - 1];
    int64_t k = d->offset, r0 = k < 0 ? -k : 0, c0 = k > 0 ? k : 0;
    AM_FLOAT_SWITCH(mat->dtype, T, {
        T *x = mat->data, *p = packed->data;
        for (int64_t b = 0; b < batch; b++) {
            T *xb = x + b * n * n, *pb = p + b * m;
            if (diag) {
                if (make && !add) memset(xb, 0, (size_t)(n * n) * sizeof(T));
                for (int64_t i = 0; i < m; i++) {
                    T *e = xb + (i + r0) * n + i + c0;
                    if (make)
                        *e = add ? *e + pb[i] : pb[i];
                    else
                        pb[i] = add ? pb[i] + *e : *e;
                }
                continue;
            }
            for (int64_t r = 0; r < n; r++)
                for (int64_t c = 0; c < n; c++) {
                    int64_t j = trian_index(d, n, r, c);
                    T *e = xb + r * n + c;
                    if (make)
                        *e = (add ? *e : 0) + (j >= 0 ? pb[j] : 0);
                    else if (j >= 0)
                        pb[j] = add ? pb[j] + *e : *e;
                }
        }
    });
    return AM_OK;
}

#define DIAG_KERNEL(fn, diag, make)                                                       \
    static am_status fn(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,   \
                        int n_in, const am_view *out, int n_out, const am_req *req)       \
    {                                                                                     \
        AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);                                \
        if (req[0] == AM_REQ_NULL) return AM_OK;                                          \
        return make ? diag_run(attrs, &out[0], &in[0], diag, true, req[0] == AM_REQ_ADD)  \
                    : diag_run(attrs, &in[0], &out[0], diag, false, req[0] == AM_REQ_ADD); \
    }
DIAG_KERNEL(extractdiag_cpu, true, false)
DIAG_KERNEL(makediag_cpu, true, true)
DIAG_KERNEL(extracttrian_cpu, false, false)
DIAG_KERNEL(maketrian_cpu, false, true)

const am_op_def am_op_linalg_extractdiag = {
    .name = "_linalg_extractdiag", .aliases = (const char *const[]){"linalg_extractdiag", NULL},
    .input_names = a_names, .num_outputs = 1, .attrs = diag_fields,
    .attrs_size = sizeof(diag_attrs), .infer_shape = extractdiag_shape, .infer_dtype = lg_dtype,
    .cpu = extractdiag_cpu, .gradient = am_linalg_extractdiag_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "The diagonal at offset of each square matrix."};

const am_op_def am_op_linalg_makediag = {
    .name = "_linalg_makediag", .aliases = (const char *const[]){"linalg_makediag", NULL},
    .input_names = a_names, .num_outputs = 1, .attrs = diag_fields,
    .attrs_size = sizeof(diag_attrs), .infer_shape = makediag_shape, .infer_dtype = lg_dtype,
    .cpu = makediag_cpu, .gradient = am_linalg_makediag_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Square matrices with the last axis of A on the diagonal at offset, zeros elsewhere."};

const am_op_def am_op_linalg_extracttrian = {
    .name = "_linalg_extracttrian",
    .aliases = (const char *const[]){"linalg_extracttrian", NULL}, .input_names = a_names,
    .num_outputs = 1, .attrs = trian_fields, .attrs_size = sizeof(diag_attrs),
    .infer_shape = extracttrian_shape, .infer_dtype = lg_dtype, .cpu = extracttrian_cpu,
    .gradient = am_linalg_extracttrian_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "The lower (or upper) triangle from the diagonal at offset of each square matrix, "
           "packed into the last axis."};

const am_op_def am_op_linalg_maketrian = {
    .name = "_linalg_maketrian", .aliases = (const char *const[]){"linalg_maketrian", NULL},
    .input_names = a_names, .num_outputs = 1, .attrs = trian_fields,
    .attrs_size = sizeof(diag_attrs), .infer_shape = maketrian_shape, .infer_dtype = lg_dtype,
    .cpu = maketrian_cpu, .gradient = am_linalg_maketrian_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Square matrices with a packed triangle (as extracttrian makes) unpacked, zeros "
           "elsewhere."};
