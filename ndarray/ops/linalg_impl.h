/* Shared by linalg.c and linalg_grad.c: the gradient functions of the linalg
 * ops and their attribute structs. */
#ifndef AMBER_LINALG_IMPL_H
#define AMBER_LINALG_IMPL_H

#include "../ndarray_impl.h"

typedef struct am_linalg_gemm_attrs {
    bool transpose_a, transpose_b;
    double alpha, beta;
    int64_t axis;
} am_linalg_gemm_attrs;

typedef struct am_linalg_trmm_attrs {
    bool transpose, rightside, lower;
    double alpha;
} am_linalg_trmm_attrs;

typedef struct am_linalg_chol_attrs {
    bool lower;
} am_linalg_chol_attrs;

typedef struct am_linalg_syrk_attrs {
    bool transpose;
    double alpha;
} am_linalg_syrk_attrs;

typedef struct am_linalg_diag_attrs {
    int64_t offset;
    bool lower;
} am_linalg_diag_attrs;

#define AM_LINALG_GRADS(X) \
    X(gemm) X(trmm) X(trsm) X(potrf) X(potri) X(sumlogdiag) X(syrk) X(gelqf) X(syevd) \
    X(inverse) X(det) X(slogdet) X(extractdiag) X(makediag) X(extracttrian) X(maketrian)
#define AM_LINALG_DECLARE_GRAD(n)                                                            \
    am_status am_linalg_##n##_grad(const am_grad_ctx *g, am_array *const *in,              \
                                   am_array *const *out, am_array *const *og, am_array **ig);
AM_LINALG_GRADS(AM_LINALG_DECLARE_GRAD)
#undef AM_LINALG_DECLARE_GRAD

#endif /* AMBER_LINALG_IMPL_H */
