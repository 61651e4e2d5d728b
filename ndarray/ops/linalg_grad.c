/* The linalg ops' public functions and their gradients, written with the
 * linalg ops themselves (gemm2, trmm, trsm, extract/make diag and trian) and
 * the elementwise ones, so they run eagerly, symbolically and to higher order.
 * The formulas are MXNet's (la_op-inl.h; arXiv:1710.08717): potrf's and
 * syevd's gradients are symmetric, those of triangular inputs keep the
 * triangle the op reads. */
#include "linalg_impl.h"

#include <amber/ops.h>

extern const am_op_def am_op_linalg_gemm, am_op_linalg_gemm2, am_op_linalg_potrf,
    am_op_linalg_potri, am_op_linalg_trmm, am_op_linalg_trsm, am_op_linalg_sumlogdiag,
    am_op_linalg_syrk, am_op_linalg_gelqf, am_op_linalg_syevd, am_op_linalg_inverse,
    am_op_linalg_det, am_op_linalg_slogdet, am_op_linalg_extractdiag, am_op_linalg_makediag,
    am_op_linalg_extracttrian, am_op_linalg_maketrian;

/* ---- public functions -------------------------------------------------------------- */

am_array *am_linalg_gemm_at(am_array *a, am_array *b, am_array *c, bool transpose_a,
                            bool transpose_b, double alpha, double beta, int axis, am_site at)
{
    am_linalg_gemm_attrs g = {transpose_a, transpose_b, alpha, beta, axis};
    return am_op_call1(&am_op_linalg_gemm, &g, (am_array *[]){a, b, c}, 3, at);
}

am_array *am_linalg_gemm2_at(am_array *a, am_array *b, bool transpose_a, bool transpose_b,
                             double alpha, int axis, am_site at)
{
    am_linalg_gemm_attrs g = {transpose_a, transpose_b, alpha, 0, axis};
    return am_op_call1(&am_op_linalg_gemm2, &g, (am_array *[]){a, b}, 2, at);
}

am_array *am_linalg_potrf_at(am_array *a, bool lower, am_site at)
{
    am_linalg_chol_attrs c = {lower};
    return am_op_call1(&am_op_linalg_potrf, &c, &a, 1, at);
}

am_array *am_linalg_potri_at(am_array *a, bool lower, am_site at)
{
    am_linalg_chol_attrs c = {lower};
    return am_op_call1(&am_op_linalg_potri, &c, &a, 1, at);
}

am_array *am_linalg_trmm_at(am_array *a, am_array *b, bool transpose, bool rightside, bool lower,
                            double alpha, am_site at)
{
    am_linalg_trmm_attrs t = {transpose, rightside, lower, alpha};
    return am_op_call1(&am_op_linalg_trmm, &t, (am_array *[]){a, b}, 2, at);
}

am_array *am_linalg_trsm_at(am_array *a, am_array *b, bool transpose, bool rightside, bool lower,
                            double alpha, am_site at)
{
    am_linalg_trmm_attrs t = {transpose, rightside, lower, alpha};
    return am_op_call1(&am_op_linalg_trsm, &t, (am_array *[]){a, b}, 2, at);
}

am_array *am_linalg_sumlogdiag_at(am_array *a, am_site at)
{
    return am_op_call1(&am_op_linalg_sumlogdiag, NULL, &a, 1, at);
}

am_array *am_linalg_syrk_at(am_array *a, bool transpose, double alpha, am_site at)
{
    am_linalg_syrk_attrs s = {transpose, alpha};
    return am_op_call1(&am_op_linalg_syrk, &s, &a, 1, at);
}

static am_status call2(const am_op_def *op, am_array *a, am_array **x, am_array **y, am_site at)
{
    am_array *out[2] = {0};
    am_status st = am_op_call(op, NULL, &a, 1, out, 2, at);
    if (x) *x = out[0];
    if (y) *y = out[1];
    return st;
}

am_status am_linalg_gelqf_at(am_array *a, am_array **q, am_array **l, am_site at)
{
    return call2(&am_op_linalg_gelqf, a, q, l, at);
}

am_status am_linalg_syevd_at(am_array *a, am_array **u, am_array **l, am_site at)
{
    return call2(&am_op_linalg_syevd, a, u, l, at);
}

am_status am_linalg_slogdet_at(am_array *a, am_array **sign, am_array **logabsdet, am_site at)
{
    return call2(&am_op_linalg_slogdet, a, sign, logabsdet, at);
}

am_array *am_linalg_inverse_at(am_array *a, am_site at)
{
    return am_op_call1(&am_op_linalg_inverse, NULL, &a, 1, at);
}

am_array *am_linalg_det_at(am_array *a, am_site at)
{
    return am_op_call1(&am_op_linalg_det, NULL, &a, 1, at);
}

am_array *am_linalg_extractdiag_at(am_array *a, int offset, am_site at)
{
    am_linalg_diag_attrs d = {offset, true};
    return am_op_call1(&am_op_linalg_extractdiag, &d, &a, 1, at);
}

am_array *am_linalg_makediag_at(am_array *a, int offset, am_site at)
{
    am_linalg_diag_attrs d = {offset, true};
    return am_op_call1(&am_op_linalg_makediag, &d, &a, 1, at);
}

am_array *am_linalg_extracttrian_at(am_array *a, int offset, bool lower, am_site at)
{
    am_linalg_diag_attrs d = {offset, lower};
    return am_op_call1(&am_op_linalg_extracttrian, &d, &a, 1, at);
}

am_array *am_linalg_maketrian_at(am_array *a, int offset, bool lower, am_site at)
{
    am_linalg_diag_attrs d = {offset, lower};
    return am_op_call1(&am_op_linalg_maketrian, &d, &a, 1, at);
}

/* ---- helpers ----------------------------------------------------------------------- */

static am_array *tr(am_array *x, am_site at)
{
    int nd = am_array_ndim(x);
    return am_swap_axis_at(x, nd - 2, nd - 1, at);
}

static am_array *mm(am_array *a, am_array *b, bool ta, bool tb, double alpha, am_site at)
{
    return am_linalg_gemm2_at(a, b, ta, tb, alpha, -2, at);
}

/* The triangle of x from diagonal k on (lower: k <= 0 and below; upper: k >= 0
 * and above), zeros elsewhere. */
static am_array *tri(am_array *x, int k, bool lower, am_site at)
{
    if (!x) return NULL;
    am_shape s = am_array_shape(x);
    if (s.dim[s.ndim - 1] <= (k < 0 ? -k : k)) return am_zeros_like_at(x, at);
    return am_linalg_maketrian_at(am_linalg_extracttrian_at(x, k, lower, at), k, lower, at);
}

/* The symmetric matrix with x's lower (upper) triangle: MXNet's copyLTU. */
static am_array *sym(am_array *x, bool from_lower, am_site at)
{
    am_array *t = tri(x, 0, from_lower, at), *s = tri(x, from_lower ? -1 : 1, from_lower, at);
    return am_broadcast_add_at(t, tr(s, at), at);
}

/* x (shape of leading dims, or (1,) for one matrix) as (..., 1, 1) or (..., 1). */
static am_array *per_matrix(am_array *x, const am_shape *mat, int extra, am_site at)
{
    am_shape s = *mat;
    s.ndim -= 2;
    for (int i = 0; i < extra; i++) s.dim[s.ndim++] = 1;
    if (am_shape_size(&s) == 0) return am_zeros(s, am_array_dtype(x));
    return am_reshape_at(x, s, false, at);
}

#define DONE(i, expr) \
    do { if (!(ig[i] = (expr))) return am_last_status(); } while (0)

/* ---- gradients --------------------------------------------------------------------- */

/* D = alpha op(A) op(B) (+ beta C): dA, dB by gemm2 with the same axis, dC = beta dD. */
am_status am_linalg_gemm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    const am_linalg_gemm_attrs *p = g->attrs;
    bool ta = p->transpose_a, tb = p->transpose_b;
    int ax = (int)p->axis;
    double al = p->alpha;
    AM_UNUSED(out);
    if (g->need_grad[0])
        DONE(0, ta ? am_linalg_gemm2_at(in[1], og[0], tb, true, al, ax, g->at)
                   : am_linalg_gemm2_at(og[0], in[1], false, !tb, al, ax, g->at));
    if (g->need_grad[1])
        DONE(1, tb ? am_linalg_gemm2_at(og[0], in[0], true, ta, al, ax, g->at)
                   : am_linalg_gemm2_at(in[0], og[0], !ta, false, al, ax, g->at));
    if (g->n_in > 2 && g->need_grad[2]) DONE(2, am_mul_scalar_at(og[0], p->beta, g->at));
    return AM_OK;
}

am_status am_linalg_trmm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    const am_linalg_trmm_attrs *p = g->attrs;
    bool t = p->transpose;
    AM_UNUSED(out);
    if (g->need_grad[0]) {
        am_array *d = p->rightside == t ? mm(og[0], in[1], t, !t, p->alpha, g->at)
                                        : mm(in[1], og[0], !t, t, p->alpha, g->at);
        DONE(0, tri(d, 0, p->lower, g->at));
    }
    if (g->need_grad[1])
        DONE(1, am_linalg_trmm_at(in[0], og[0], !t, p->rightside, p->lower, p->alpha, g->at));
    return AM_OK;
}

am_status am_linalg_trsm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    const am_linalg_trmm_attrs *p = g->attrs;
    bool t = p->transpose;
    am_array *db = am_linalg_trsm_at(in[0], og[0], !t, p->rightside, p->lower, p->alpha, g->at);
    if (!db) return am_last_status();
    if (g->need_grad[0]) {
        double s = -1.0 / p->alpha;
        am_array *d = p->rightside == t ? mm(db, out[0], t, !t, s, g->at)
                                        : mm(out[0], db, !t, t, s, g->at);
        DONE(0, tri(d, 0, p->lower, g->at));
    }
    if (g->need_grad[1]) ig[1] = db;
    return AM_OK;
}

/* dA = 0.5 L^-T copyLTU(L^T dL) L^-1 (lower; the transposed steps for upper). */
am_status am_linalg_potrf_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    bool lo = ((const am_linalg_chol_attrs *)g->attrs)->lower;
    am_array *f = out[0];
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x = am_linalg_trmm_at(f, og[0], true, !lo, lo, 1.0, g->at);
    x = sym(x, lo, g->at);
    x = am_linalg_trsm_at(f, x, lo, false, lo, 1.0, g->at);
    DONE(0, am_linalg_trsm_at(f, x, !lo, true, lo, 0.5, g->at));
    return AM_OK;
}

/* dB = -tril(A (dA + dA^T) B^-T) with A = potri(B) (upper: the transpose). */
am_status am_linalg_potri_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    bool lo = ((const am_linalg_chol_attrs *)g->attrs)->lower;
    if (!g->need_grad[0]) return AM_OK;
    am_array *a = out[0], *x;
    if (lo)
        x = am_broadcast_add_at(mm(a, og[0], false, false, 1, g->at),
                                mm(a, og[0], false, true, 1, g->at), g->at);
    else
        x = am_broadcast_add_at(mm(og[0], a, false, false, 1, g->at),
                                mm(og[0], a, true, false, 1, g->at), g->at);
    x = am_linalg_trsm_at(in[0], x, true, lo, lo, -1.0, g->at);
    DONE(0, tri(x, 0, lo, g->at));
    return AM_OK;
}

/* dA = diag(dB / diag(A)). */
am_status am_linalg_sumlogdiag_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_shape s = am_array_shape(in[0]);
    am_array *d = per_matrix(og[0], &s, 1, g->at);
    am_array *q = am_broadcast_div_at(d, am_linalg_extractdiag_at(in[0], 0, g->at), g->at);
    DONE(0, am_linalg_makediag_at(q, 0, g->at));
    return AM_OK;
}

/* B = alpha A A^T: dA = alpha (dB + dB^T) A (transpose: alpha A (dB + dB^T)). */
am_status am_linalg_syrk_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    const am_linalg_syrk_attrs *p = g->attrs;
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    if (p->transpose)
        DONE(0, am_broadcast_add_at(mm(in[0], og[0], false, false, p->alpha, g->at),
                                    mm(in[0], og[0], false, true, p->alpha, g->at), g->at));
    else
        DONE(0, am_broadcast_add_at(mm(og[0], in[0], false, false, p->alpha, g->at),
                                    mm(og[0], in[0], true, false, p->alpha, g->at), g->at));
    return AM_OK;
}

/* (Q, L) = gelqf(A): dA = L^-T (dQ + copyLTU(M) Q), M = L^T dL - dQ Q^T. */
am_status am_linalg_gelqf_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    am_array *q = out[0], *l = out[1];
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    am_array *m = am_broadcast_sub_at(am_linalg_trmm_at(l, og[1], true, false, true, 1, g->at),
                                      mm(og[0], q, false, true, 1, g->at), g->at);
    am_array *x = am_broadcast_add_at(og[0], mm(sym(m, true, g->at), q, false, false, 1, g->at),
                                      g->at);
    DONE(0, am_linalg_trsm_at(l, x, true, false, true, 1.0, g->at));
    return AM_OK;
}

/* (U, L) = syevd(A): dA = U^T Y U with Y's diagonal dL and, off it,
 * (X_ij - X_ji) / (2 (L_i - L_j)) for X = dU U^T, the gap kept at least eps
 * (MXNet: 1e-30 in float32, 1e-100 in float64) on its sign's side. */
am_status am_linalg_syevd_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    am_array *u = out[0], *l = out[1];
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    am_shape s = am_array_shape(u);
    am_array *y = am_linalg_makediag_at(og[1], 0, g->at);
    if (s.dim[s.ndim - 1] > 1) {
        double eps = am_array_dtype(u) == AM_DTYPE_FLOAT32 ? 1e-30 : 1e-100;
        am_array *x = mm(og[0], u, false, true, 1, g->at);
        am_array *a = am_broadcast_sub_at(x, tr(x, g->at), g->at);
        int nd = am_array_ndim(l);
        am_array *d = am_broadcast_sub_at(am_expand_dims_at(l, nd, g->at),
                                          am_expand_dims_at(l, nd - 1, g->at), g->at);
        am_array *lo = am_broadcast_div_at(a, am_mul_scalar_at(am_maximum_scalar_at(d, eps, g->at),
                                                               2, g->at), g->at);
        am_array *up = am_broadcast_div_at(a, am_mul_scalar_at(am_minimum_scalar_at(d, -eps, g->at),
                                                               2, g->at), g->at);
        y = am_broadcast_add_at(y, am_broadcast_add_at(tri(lo, -1, true, g->at),
                                                       tri(up, 1, false, g->at), g->at), g->at);
    }
    DONE(0, mm(mm(u, y, true, false, 1, g->at), u, false, false, 1, g->at));
    return AM_OK;
}

/* A = inverse(B): dB = -A^T dA A^T. */
am_status am_linalg_inverse_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array *const *og, am_array **ig)
{
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    DONE(0, mm(out[0], mm(og[0], out[0], false, true, 1, g->at), true, false, -1, g->at));
    return AM_OK;
}

/* Jacobi's formula: d det = det A^-T, d log|det| = A^-T (the inverse fails on
 * a singular matrix, where MXNet passes zeros). */
static am_status det_like_grad(const am_grad_ctx *g, am_array *a, am_array *scale, am_array **ig)
{
    if (!g->need_grad[0]) return AM_OK;
    am_shape s = am_array_shape(a);
    am_array *f = per_matrix(scale, &s, 2, g->at);
    DONE(0, am_broadcast_mul_at(f, tr(am_linalg_inverse_at(a, g->at), g->at), g->at));
    return AM_OK;
}

am_status am_linalg_det_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    return det_like_grad(g, in[0], am_broadcast_mul_at(og[0], out[0], g->at), ig);
}

/* The sign's gradient is not defined and not passed (MXNet). */
am_status am_linalg_slogdet_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return det_like_grad(g, in[0], og[1], ig);
}

am_status am_linalg_extractdiag_grad(const am_grad_ctx *g, am_array *const *in,
                                     am_array *const *out, am_array *const *og, am_array **ig)
{
    const am_linalg_diag_attrs *p = g->attrs;
    AM_UNUSED(in), AM_UNUSED(out);
    if (g->need_grad[0]) DONE(0, am_linalg_makediag_at(og[0], (int)p->offset, g->at));
    return AM_OK;
}

am_status am_linalg_makediag_grad(const am_grad_ctx *g, am_array *const *in,
                                  am_array *const *out, am_array *const *og, am_array **ig)
{
    const am_linalg_diag_attrs *p = g->attrs;
    AM_UNUSED(in), AM_UNUSED(out);
    if (g->need_grad[0]) DONE(0, am_linalg_extractdiag_at(og[0], (int)p->offset, g->at));
    return AM_OK;
}

am_status am_linalg_extracttrian_grad(const am_grad_ctx *g, am_array *const *in,
                                      am_array *const *out, am_array *const *og, am_array **ig)
{
    const am_linalg_diag_attrs *p = g->attrs;
    AM_UNUSED(in), AM_UNUSED(out);
    if (g->need_grad[0]) DONE(0, am_linalg_maketrian_at(og[0], (int)p->offset, p->lower, g->at));
    return AM_OK;
}

am_status am_linalg_maketrian_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    const am_linalg_diag_attrs *p = g->attrs;
    AM_UNUSED(in), AM_UNUSED(out);
    if (g->need_grad[0])
        DONE(0, am_linalg_extracttrian_at(og[0], (int)p->offset, p->lower, g->at));
    return AM_OK;
}
