/* The per-dtype linalg kernels, included twice by linalg.c with LT (float or
 * double), LF(name) (name_f32 / name_f64), LB(name) (cblas_sname / cblas_dname)
 * and LL(name) (LAPACK's sname_ / dname_).  Matrices are row-major; LAPACK is
 * column-major, so each routine sees the transpose of what it is given and the
 * callers pick the triangle and the side accordingly (see linalg.c). */

/* D (already holding C, or anything when beta is 0) = alpha op(A) op(B) + beta D
 * for every matrix of the batch; g gives the layout (rows on g->axis). */
static void LF(gemm)(const lg_geo *g, const LT *A, const LT *B, LT *D, LT alpha, LT beta, bool ta,
                     bool tb)
{
    int64_t m = g->rows_d, n = g->cols_d, k = ta ? g->rows_a : g->cols_a;
    int64_t lda = g->b1 * g->cols_a, ldb = g->b1 * g->cols_b, ldd = g->b1 * g->cols_d;
    for (int64_t p = 0; p < g->b0; p++)
        for (int64_t q = 0; q < g->b1; q++) {
            const LT *a = A + p * g->rows_a * lda + q * g->cols_a;
            const LT *b = B + p * g->rows_b * ldb + q * g->cols_b;
            LT *d = D + p * m * ldd + q * n;
            if (m == 0 || n == 0) continue;
            if (k == 0) {
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++)
                        d[i * ldd + j] = beta == 0 ? 0 : beta * d[i * ldd + j];
                continue;
            }
            if (beta == 0)
                for (int64_t i = 0; i < m; i++) memset(d + i * ldd, 0, (size_t)n * sizeof(LT));
            LB(gemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     (int)m, (int)n, (int)k, alpha, a, (int)(lda ? lda : 1), b,
                     (int)(ldb ? ldb : 1), beta, d, (int)ldd);
        }
}

/* C (holding B) = alpha op(A) C, or alpha C op(A) (rightside), A triangular;
 * solve: C = alpha op(A)^-1 C (or C op(A)^-1). */
static void LF(trmm)(const LT *A, LT *C, int64_t batch, int64_t r, int64_t c, LT alpha,
                     bool solve, bool transpose, bool rightside, bool lower)
{
    int64_t na = rightside ? c : r;
    enum CBLAS_SIDE side = rightside ? CblasRight : CblasLeft;
    enum CBLAS_UPLO uplo = lower ? CblasLower : CblasUpper;
    enum CBLAS_TRANSPOSE ta = transpose ? CblasTrans : CblasNoTrans;
    if (r == 0 || c == 0) return;
    for (int64_t b = 0; b < batch; b++) {
        const LT *a = A + b * na * na;
        LT *x = C + b * r * c;
        if (solve)
            LB(trsm)(CblasRowMajor, side, uplo, ta, CblasNonUnit, (int)r, (int)c, alpha, a, (int)na,
                     x, (int)c);
        else
            LB(trmm)(CblasRowMajor, side, uplo, ta, CblasNonUnit, (int)r, (int)c, alpha, a, (int)na,
                     x, (int)c);
    }
}

/* C = alpha A A^T (or alpha A^T A) for each (r x c) A, both triangles filled. */
static void LF(syrk)(const LT *A, LT *C, int64_t batch, int64_t r, int64_t c, LT alpha,
                     bool transpose)
{
    int64_t n = transpose ? c : r, k = transpose ? r : c;
    memset(C, 0, (size_t)(batch * n * n) * sizeof(LT));
    if (n == 0 || k == 0) return;
    for (int64_t b = 0; b < batch; b++) {
        LT *x = C + b * n * n;
        LB(syrk)(CblasRowMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans, (int)n, (int)k,
                 alpha, A + b * r * c, (int)c, 0, x, (int)n);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++) x[i * n + j] = x[j * n + i];
    }
}

/* Zeroes the strict upper (lower when !lower) triangle of every n x n matrix. */
static void LF(zero_other)(LT *X, int64_t batch, int64_t n, bool lower)
{
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                if (lower ? j > i : j < i) X[(b * n + i) * n + j] = 0;
}

/* Copies the lower (upper) triangle onto the other: a symmetric matrix. */
static void LF(mirror)(LT *X, int64_t batch, int64_t n, bool from_lower)
{
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++) {
                LT *up = X + (b * n + i) * n + j, *lo = X + (b * n + j) * n + i;
                if (from_lower)
                    *up = *lo;
                else
                    *lo = *up;
            }
}

/* Cholesky factor in place; returns the failing matrix's index and order. */
static int64_t LF(potrf)(LT *X, int64_t batch, int64_t n, bool lower, int *info)
{
    int nn = (int)n, lda = nn ? nn : 1;
    for (int64_t b = 0; b < batch && n > 0; b++) {
        /* row-major lower == column-major upper */
        LL(potrf)(lower ? "U" : "L", &nn, X + b * n * n, &lda, info, 1);
        if (*info != 0) return b;
    }
    LF(zero_other)(X, batch, n, lower);
    return -1;
}

/* (L L^T)^-1 (or (U^T U)^-1) from the factor in place, both triangles filled. */
static int64_t LF(potri)(LT *X, int64_t batch, int64_t n, bool lower, int *info)
{
    int nn = (int)n, lda = nn ? nn : 1;
    for (int64_t b = 0; b < batch && n > 0; b++) {
        LL(potri)(lower ? "U" : "L", &nn, X + b * n * n, &lda, info, 1);
        if (*info != 0) return b;
    }
    LF(mirror)(X, batch, n, lower);
    return -1;
}

/* LU of each matrix's transpose (column-major getrf on the row-major data, as
 * MXNet does: the determinant is the same); pivots 1-based. */
static int64_t LF(getrf)(LT *X, int32_t *piv, int64_t batch, int64_t n, int *info)
{
    int nn = (int)n, lda = nn ? nn : 1;
    *info = 0;
    for (int64_t b = 0; b < batch && n > 0; b++) {
        LL(getrf)(&nn, &nn, X + b * n * n, &lda, piv + b * n, info);
        if (*info < 0) return b;
    }
    return -1;
}

/* sign and log|det| from an LU and its pivots. */
static void LF(slogdet)(const LT *LU, const int32_t *piv, int64_t batch, int64_t n, LT *sign,
                        LT *logabs)
{
    for (int64_t b = 0; b < batch; b++) {
        int changes = 0;
        LT s = 1, l = 0;
        for (int64_t j = 0; j < n; j++) {
            changes += piv[b * n + j] != j + 1;
            LT d = LU[(b * n + j) * n + j];
            s *= (LT)((d > 0) - (d < 0));
            l += (LT)log(fabs((double)d));
        }
        sign[b] = changes % 2 ? -s : s;
        logabs[b] = l;
    }
}

/* Inverse in place (getrf + getri); work holds n ints then lwork values. */
static int64_t LF(inverse)(LT *X, int64_t batch, int64_t n, void *work, int *info)
{
    int nn = (int)n, lda = nn ? nn : 1, lwork = (int)(n * LG_NB > 1 ? n * LG_NB : 1);
    int *piv = work;
    LT *w = (LT *)((char *)work + lg_align((size_t)n * sizeof(int)));
    for (int64_t b = 0; b < batch && n > 0; b++) {
        LT *a = X + b * n * n;
        LL(getrf)(&nn, &nn, a, &lda, piv, info);
        if (*info != 0) return b;
        LL(getri)(&nn, a, &lda, piv, w, &lwork, info);
        if (*info != 0) return b;
    }
    return -1;
}

/* LQ of each (m x n) row-major A (m <= n) held in Q: Q gets the orthonormal
 * rows, L the lower triangular factor.  Column-major, the storage is A^T = Q^T
 * L^T, a QR factorization: geqrf + orgqr. */
static int64_t LF(gelqf)(LT *Q, LT *L, int64_t batch, int64_t m, int64_t n, void *work, int *info)
{
    int mm = (int)m, nn = (int)n, lda = nn ? nn : 1, lwork = (int)(m * LG_NB > 1 ? m * LG_NB : 1);
    LT *tau = work, *w = (LT *)((char *)work + lg_align((size_t)(m + 1) * sizeof(LT)));
    for (int64_t b = 0; b < batch && m > 0; b++) {
        LT *a = Q + b * m * n, *l = L + b * m * m;
        LL(geqrf)(&nn, &mm, a, &lda, tau, w, &lwork, info);
        if (*info != 0) return b;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) l[i * m + j] = j <= i ? a[i * n + j] : 0;
        LL(orgqr)(&nn, &mm, &mm, a, &lda, tau, w, &lwork, info);
        if (*info != 0) return b;
    }
    return -1;
}

/* Eigenvalues (ascending) and eigenvectors (rows of U) of each symmetric
 * matrix held in U (its lower triangle read); each row's largest entry (the
 * first of ties) is made positive, as MXNet does. */
static int64_t LF(syevd)(LT *U, LT *L, int64_t batch, int64_t n, void *work, int *info)
{
    int nn = (int)n, lda = nn ? nn : 1;
    int lwork = (int)(1 + 6 * n + 2 * n * n), liwork = (int)(3 + 5 * n);
    int *iw = work;
    LT *w = (LT *)((char *)work + lg_align((size_t)liwork * sizeof(int)));
    for (int64_t b = 0; b < batch && n > 0; b++) {
        LT *a = U + b * n * n;
        LL(syevd)("V", "U", &nn, a, &lda, L + b * n, w, &lwork, iw, &liwork, info, 1, 1);
        if (*info != 0) return b;
        for (int64_t i = 0; i < n; i++) {
            LT *row = a + i * n;
            int64_t k = 0;
            for (int64_t j = 1; j < n; j++)
                if (fabs((double)row[j]) > fabs((double)row[k])) k = j;
            if (row[k] < 0)
                for (int64_t j = 0; j < n; j++) row[j] = -row[j];
        }
    }
    return -1;
}
