/* Registry-driven cases for ndarray/ops/linalg.c and krprod.c (khatri_rao).
 * Each op gets inputs in its domain: a prepare function (tests/test_util.h)
 * makes symmetric positive definite matrices for potrf, symmetric ones for
 * syevd and well-conditioned ones for inverse and the determinants;
 * triangular solves and logs of the diagonal draw from [1, 2). */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

/* n times the identity, batched like x (..., n, n). */
static am_array *scaled_eye(am_array *x, double s)
{
    am_shape d = am_array_shape(x);
    d.ndim--;
    return am_linalg_makediag(am_mul_scalar(am_ones(d, am_array_dtype(x)), s), 0);
}

/* X X^T + n I: symmetric positive definite. */
static am_status spd(am_array **in, int n_in)
{
    AM_UNUSED(n_in);
    am_shape s = am_array_shape(in[0]);
    double n = (double)s.dim[s.ndim - 1];
    in[0] = am_add(am_linalg_syrk(in[0], false, 1.0), scaled_eye(in[0], n));
    return in[0] ? AM_OK : am_last_status();
}

/* X + X^T: symmetric (distinct eigenvalues almost surely). */
static am_status symmetric(am_array **in, int n_in)
{
    AM_UNUSED(n_in);
    int nd = am_array_ndim(in[0]);
    in[0] = am_add(in[0], am_swap_axis(in[0], nd - 2, nd - 1));
    return in[0] ? AM_OK : am_last_status();
}

/* X + 2 I: away from singular. */
static am_status wellcond(am_array **in, int n_in)
{
    AM_UNUSED(n_in);
    in[0] = am_add(in[0], scaled_eye(in[0], 2.0));
    return in[0] ? AM_OK : am_last_status();
}

/* X - 2 I, a negative determinant for odd n. */
static am_status wellcond_neg(am_array **in, int n_in)
{
    AM_UNUSED(n_in);
    in[0] = am_add(in[0], scaled_eye(in[0], -2.0));
    return in[0] ? AM_OK : am_last_status();
}

const am_op_case am_cases_linalg[] = {
    {.op = "_linalg_gemm", .shapes = "2,3;3,4;2,4"},
    {.op = "_linalg_gemm", .attrs = "transpose_a=True;transpose_b=True;alpha=0.5;beta=2.0",
     .shapes = "3,2;4,3;2,4", F64},
    {.op = "_linalg_gemm", .attrs = "transpose_b=True", .shapes = "2,2,3;2,4,3;2,2,4", F64},
    {.op = "_linalg_gemm", .attrs = "axis=0;alpha=1.5", .shapes = "2,5,3;3,5,4;2,5,4", F64},
    {.op = "_linalg_gemm", .attrs = "axis=-3;transpose_a=True", .shapes = "3,2,2;3,2,4;2,2,4"},
    {.op = "_linalg_gemm", .shapes = "0,3;3,4;0,4"},
    {.op = "_linalg_gemm", .shapes = "2,0;0,4;2,4", F64},
    {.op = "_linalg_gemm2", .shapes = "2,3;3,4"},
    {.op = "_linalg_gemm2", .attrs = "transpose_a=True;alpha=-2.0", .shapes = "2,3,2;2,3,4", F64},
    {.op = "_linalg_gemm2", .attrs = "axis=0;transpose_b=True", .shapes = "2,5,3;4,5,3", F64},
    {.op = "_linalg_gemm2", .shapes = "0,2,3;0,3,4"},
    {.op = "_linalg_potrf", .shapes = "3,3", .prepare = spd},
    {.op = "_linalg_potrf", .shapes = "2,3,3", .prepare = spd, F64},
    {.op = "_linalg_potrf", .attrs = "lower=False", .shapes = "2,4,4", .prepare = spd, F64},
    {.op = "_linalg_potrf", .shapes = "0,3,3", .prepare = spd},
    {.op = "_linalg_potri", .shapes = "3,3", .lo = 1, .hi = 2},
    {.op = "_linalg_potri", .shapes = "2,3,3", .lo = 1, .hi = 2, F64},
    {.op = "_linalg_potri", .attrs = "lower=False", .shapes = "2,3,3", .lo = 1, .hi = 2, F64},
    {.op = "_linalg_trmm", .shapes = "3,3;3,2"},
    {.op = "_linalg_trmm", .attrs = "transpose=True;alpha=2.0", .shapes = "2,3,3;2,3,4", F64},
    {.op = "_linalg_trmm", .attrs = "rightside=True;lower=False", .shapes = "2,3,3;2,4,3", F64},
    {.op = "_linalg_trmm", .attrs = "rightside=True;transpose=True", .shapes = "3,3;2,3", F64},
    {.op = "_linalg_trmm", .shapes = "0,3,3;0,3,2"},
    {.op = "_linalg_trsm", .shapes = "3,3;3,2", .lo = 1, .hi = 2},
    {.op = "_linalg_trsm", .attrs = "transpose=True;alpha=0.5", .shapes = "2,3,3;2,3,4", .lo = 1,
     .hi = 2, F64},
    {.op = "_linalg_trsm", .attrs = "rightside=True;lower=False", .shapes = "2,3,3;2,4,3",
     .lo = 1, .hi = 2, F64},
    {.op = "_linalg_trsm", .attrs = "rightside=True;transpose=True;lower=False",
     .shapes = "3,3;2,3", .lo = 1, .hi = 2, F64},
    {.op = "_linalg_sumlogdiag", .shapes = "3,3", .lo = 0.5, .hi = 2},
    {.op = "_linalg_sumlogdiag", .shapes = "2,2,3,3", .lo = 0.5, .hi = 2, F64},
    {.op = "_linalg_sumlogdiag", .shapes = "0,3,3", .lo = 0.5, .hi = 2},
    {.op = "_linalg_syrk", .shapes = "3,4"},
    {.op = "_linalg_syrk", .attrs = "transpose=True;alpha=0.5", .shapes = "2,3,4", F64},
    {.op = "_linalg_syrk", .shapes = "2,3,4", F64},
    {.op = "_linalg_gelqf", .shapes = "2,3"},
    {.op = "_linalg_gelqf", .shapes = "2,3,3", F64},
    {.op = "_linalg_gelqf", .shapes = "2,2,4", F64},
    {.op = "_linalg_syevd", .shapes = "3,3", .prepare = symmetric},
    {.op = "_linalg_syevd", .shapes = "2,4,4", .prepare = symmetric, F64},
    {.op = "_linalg_syevd", .shapes = "1,1", .prepare = symmetric, F64},
    {.op = "_linalg_inverse", .shapes = "3,3", .prepare = wellcond},
    {.op = "_linalg_inverse", .shapes = "2,3,3", .prepare = wellcond, F64},
    {.op = "_linalg_inverse", .shapes = "0,3,3"},
    {.op = "_linalg_det", .shapes = "3,3", .prepare = wellcond},
    {.op = "_linalg_det", .shapes = "2,3,3", .prepare = wellcond_neg, F64},
    {.op = "_linalg_det", .shapes = "2,2,2,2", .prepare = wellcond, F64},
    {.op = "_linalg_slogdet", .shapes = "3,3", .prepare = wellcond_neg},
    {.op = "_linalg_slogdet", .shapes = "2,3,3", .prepare = wellcond, F64},
    {.op = "_linalg_extractdiag", .shapes = "3,3"},
    {.op = "_linalg_extractdiag", .attrs = "offset=-1", .shapes = "2,3,3", F64},
    {.op = "_linalg_extractdiag", .attrs = "offset=2", .shapes = "2,4,4", F64},
    {.op = "_linalg_makediag", .shapes = "3"},
    {.op = "_linalg_makediag", .attrs = "offset=1", .shapes = "2,3", F64},
    {.op = "_linalg_makediag", .attrs = "offset=-2", .shapes = "2,2,2", F64},
    {.op = "_linalg_makediag", .shapes = "0,3"},
    {.op = "_linalg_extracttrian", .shapes = "3,3"},
    {.op = "_linalg_extracttrian", .attrs = "lower=False", .shapes = "2,3,3", F64},
    {.op = "_linalg_extracttrian", .attrs = "offset=-1", .shapes = "2,4,4", F64},
    {.op = "_linalg_extracttrian", .attrs = "offset=1;lower=True", .shapes = "4,4", F64},
    {.op = "_linalg_maketrian", .shapes = "6"},
    {.op = "_linalg_maketrian", .attrs = "lower=False", .shapes = "2,6", F64},
    {.op = "_linalg_maketrian", .attrs = "offset=-1", .shapes = "2,3", F64},
    {.op = "_linalg_maketrian", .attrs = "offset=2;lower=False", .shapes = "2,2,3", F64},
    {.op = "khatri_rao", .attrs = "num_args=2", .shapes = "2,3;4,3"},
    {.op = "khatri_rao", .attrs = "num_args=3", .shapes = "2,2;3,2;2,2", F64},
    {.op = "khatri_rao", .attrs = "num_args=1", .shapes = "3,2", F64},
    {.op = "khatri_rao", .attrs = "num_args=2", .shapes = "0,3;2,3"},
    {0}};
