/* Convolution kernels for one element type, included by conv.c once per type with T,
 * GEMM (cblas_sgemm or cblas_dgemm) and CONV_FN(name) defined: im2col and col2im of one
 * image, and the per-image pass shared by Convolution, Deconvolution and their backward ops. */

/* c (m x n, row-major) = op(a) op(b) + beta c over contiguous blocks; empty sizes are
 * allowed (BLAS rejects a leading dimension of 0). */
static void CONV_FN(gemm)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T *a,
                          const T *b, T beta, T *c)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (int64_t i = 0; i < m * n; i++) c[i] = beta != 0 ? c[i] * beta : 0;
        return;
    }
    GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
         (int)m, (int)n, (int)k, 1, a, ta ? (int)m : (int)k, b, tb ? (int)k : (int)n, beta, c,
         (int)n);
}

/* Column block of one image: col (c*kh*kw, oh*ow) with col[(ch, ki, kj), (y, x)] =
 * in[ch, y*sh - ph + ki*dh, x*sw - pw + kj*dw], zero outside the image. */
static void CONV_FN(im2col)(const conv_geom *g, const T *restrict in, T *restrict col, bool par)
{
    const int64_t rows = g->c * g->kh * g->kw, kk = g->kh * g->kw;
    _Pragma("omp parallel for if (par && rows * g->ohw > AM_OMP_MIN) schedule(static)")
    for (int64_t r = 0; r < rows; r++) {
        const int64_t ch = r / kk, ki = r % kk / g->kw, kj = r % g->kw;
        int64_t lo, hi;
        conv_valid_range(g->pw - kj * g->dlw, g->sw, g->w, g->ow, &lo, &hi);
        T *restrict dst = col + r * g->ohw;
        for (int64_t y = 0; y < g->oh; y++, dst += g->ow) {
            const int64_t iy = y * g->sh - g->ph + ki * g->dlh;
            if (iy < 0 || iy >= g->h) {
                for (int64_t x = 0; x < g->ow; x++) dst[x] = 0;
                continue;
            }
            const T *restrict src = in + (ch * g->h + iy) * g->w;
            const int64_t off = kj * g->dlw - g->pw;
            for (int64_t x = 0; x < lo; x++) dst[x] = 0;
            if (g->sw == 1)
                for (int64_t x = lo; x < hi; x++) dst[x] = src[x + off];
            else
                for (int64_t x = lo; x < hi; x++) dst[x] = src[x * g->sw + off];
            for (int64_t x = hi; x < g->ow; x++) dst[x] = 0;
        }
    }
}

/* The adjoint of im2col: adds each column entry back onto the pixel it was read from.
 * Parallel over channels, each of which owns its plane of out. */
static void CONV_FN(col2im)(const conv_geom *g, const T *restrict col, T *restrict out, bool par)
{
    _Pragma("omp parallel for if (par && g->c * g->kh * g->kw * g->ohw > AM_OMP_MIN) schedule(static)")
    for (int64_t ch = 0; ch < g->c; ch++)
        for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++) {
                int64_t lo, hi;
                conv_valid_range(g->pw - kj * g->dlw, g->sw, g->w, g->ow, &lo, &hi);
                const T *restrict src = col + ((ch * g->kh + ki) * g->kw + kj) * g->ohw;
                const int64_t off = kj * g->dlw - g->pw;
                for (int64_t y = 0; y < g->oh; y++, src += g->ow) {
                    const int64_t iy = y * g->sh - g->ph + ki * g->dlh;
                    if (iy < 0 || iy >= g->h) continue;
                    T *restrict dst = out + (ch * g->h + iy) * g->w;
                    if (g->sw == 1)
                        for (int64_t x = lo; x < hi; x++) dst[x + off] += src[x];
                    else
                        for (int64_t x = lo; x < hi; x++) dst[x * g->sw + off] += src[x];
                }
            }
}

/* y[ch, :] += bias[ch] over channels of sp elements. */
static void CONV_FN(add_bias)(T *restrict y, const T *restrict bias, int64_t channels, int64_t sp)
{
    for (int64_t ch = 0; ch < channels; ch++) {
        const T b = bias[ch];
        T *restrict r = y + ch * sp;
        for (int64_t i = 0; i < sp; i++) r[i] += b;
    }
}

/* One image n of a job.  col is this slice's column buffer; dw its weight-gradient
 * accumulator, overwritten when dw_beta is 0. */
static void CONV_FN(image)(const conv_job *j, int64_t n, T *col, T *dw, T dw_beta, bool par)
{
    const conv_geom *g = &j->g;
    const int64_t in_sz = g->c * g->hw, out_sz = g->f * g->ohw;
    const int64_t fg = g->fg, k = g->k, sp = g->ohw;
    const T *w = j->w, *src = NULL;
    if (j->a) {
        const T *an = (const T *)j->a + n * in_sz;
        src = an;
        if (!g->direct) CONV_FN(im2col)(g, an, col, par), src = col;
    }
    if (j->fwd) {
        T *y = (T *)j->fwd + n * out_sz;
        const T beta = j->fwd_req == AM_REQ_ADD ? 1 : 0;
        for (int64_t gr = 0; gr < g->groups; gr++)
            CONV_FN(gemm)(false, false, fg, sp, k, w + gr * fg * k, src + gr * k * sp, beta,
                          y + gr * fg * sp);
        if (j->bias && j->bias_on_fwd) CONV_FN(add_bias)(y, j->bias, g->f, sp);
    }
    const T *b = j->b ? (const T *)j->b + n * out_sz : NULL;
    if (dw)
        for (int64_t gr = 0; gr < g->groups; gr++)
            CONV_FN(gemm)(false, true, fg, k, sp, b + gr * fg * sp, src + gr * k * sp, dw_beta,
                          dw + gr * fg * k);
    if (j->din) {
        T *x = (T *)j->din + n * in_sz;
        const bool add = j->din_req == AM_REQ_ADD;
        /* 1x1, stride 1, no padding: the column block is the image itself. */
        T *dst = g->direct ? x : col;
        for (int64_t gr = 0; gr < g->groups; gr++)
            CONV_FN(gemm)(true, false, k, sp, fg, w + gr * fg * k, b + gr * fg * sp,
                          g->direct && add ? 1 : 0, dst + gr * k * sp);
        if (!g->direct) {
            if (!add) memset(x, 0, (size_t)in_sz * sizeof(T));
            CONV_FN(col2im)(g, col, x, par);
        }
        if (j->bias && !j->bias_on_fwd) CONV_FN(add_bias)(x, j->bias, g->c, g->hw);
    }
}

/* Runs a job over the batch: slices of consecutive images in parallel, each with its own
 * column buffer and weight-gradient accumulator (so OpenBLAS runs single-threaded inside
 * the region); one slice runs the images in turn with threaded GEMMs instead. */
static void CONV_FN(run)(const conv_job *j)
{
    const int64_t ns = j->slices, nb = j->g.n;
    T *ws = j->ws, *dw_out = j->dw;
    if (ns <= 1) {
        /* The accumulator is the output itself. */
        T beta = j->dw_req == AM_REQ_ADD ? 1 : 0;
        for (int64_t n = 0; n < nb; n++, beta = 1) CONV_FN(image)(j, n, ws, dw_out, beta, true);
        if (dw_out && nb == 0 && beta == 0)
            memset(dw_out, 0, (size_t)(j->g.f * j->g.k) * sizeof(T));
        return;
    }
    _Pragma("omp parallel for num_threads(ns) schedule(static, 1)")
    for (int64_t s = 0; s < ns; s++) {
        T *col = ws + s * j->slice_elems, *dw = dw_out ? col + j->col_elems : NULL;
        for (int64_t n = nb * s / ns; n < nb * (s + 1) / ns; n++)
            CONV_FN(image)(j, n, col, dw, n == nb * s / ns ? 0 : 1, false);
    }
    if (!dw_out) return;
    const int64_t m = j->g.f * j->g.k;
    const bool add = j->dw_req == AM_REQ_ADD;
    _Pragma("omp parallel for if (m * ns > AM_OMP_MIN) schedule(static)")
    for (int64_t i = 0; i < m; i++) {
        T acc = add ? dw_out[i] : 0;
        for (int64_t s = 0; s < ns; s++) acc += ws[s * j->slice_elems + j->col_elems + i];
        dw_out[i] = acc;
    }
}

/* out[ch] (op)= sum over the batch and sp elements of src (N, channels, sp): the bias
 * gradient. */
static void CONV_FN(channel_sum)(const T *restrict src, int64_t nb, int64_t channels, int64_t sp,
                                 T *restrict out, am_req req)
{
    const int64_t n = nb * channels * sp;
    _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")
    for (int64_t ch = 0; ch < channels; ch++) {
        double s = 0;
        for (int64_t b = 0; b < nb; b++) {
            const T *restrict r = src + (b * channels + ch) * sp;
            T part = 0;
            _Pragma("omp simd reduction(+:part)")
            for (int64_t i = 0; i < sp; i++) part += r[i];
            s += part;
        }
        out[ch] = req == AM_REQ_ADD ? out[ch] + (T)s : (T)s;
    }
}
