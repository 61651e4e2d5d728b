/* Convolution kernels for one element type, included by conv.c once per type with T,
 * GEMM (cblas_sgemm or cblas_dgemm) and CONV_FN(name) defined: im2col and col2im over a band
 * of output rows, and the per-image pass shared by Convolution, Deconvolution and their
 * backward ops.  Bands keep the column block in L2 between im2col and the GEMM. */

/* c (m x n, row-major) = op(a) op(b) + beta c; empty sizes are allowed (BLAS rejects a
 * leading dimension of 0). */
static void CONV_FN(gemm)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T *a,
                          int64_t lda, const T *b, int64_t ldb, T beta, T *c, int64_t ldc)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta != 0 ? c[i * ldc + j] * beta : 0;
        return;
    }
    GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
         (int)m, (int)n, (int)k, 1, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Copies n elements.  Rows of a column block are often a few dozen bytes, where a libc call
 * costs more than the copy: those move in (overlapping) 32-byte pieces. */
static inline void CONV_FN(copy)(T *restrict dst, const T *restrict src, int64_t n)
{
    const size_t bytes = (size_t)n * sizeof(T);
    char *restrict d = (char *)dst;
    const char *restrict s = (const char *)src;
    if (bytes > 256) {
        memcpy(d, s, bytes);
    } else if (bytes >= 32) {
        size_t i = 0;
        for (; i + 32 <= bytes; i += 32) memcpy(d + i, s + i, 32);
        if (i < bytes) memcpy(d + bytes - 32, s + bytes - 32, 32);
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

/* Rows of a column-block row: dst[y, x] = src[y * rs + x * s + off] for x in [lo, hi), zero
 * elsewhere. */
static inline void CONV_FN(gather_rows)(T *restrict dst, const T *restrict src, int64_t rows,
                                        int64_t rs, int64_t ow, int64_t s, int64_t off,
                                        int64_t lo, int64_t hi)
{
    for (int64_t y = 0; y < rows; y++, dst += ow, src += rs) {
        for (int64_t x = 0; x < lo; x++) dst[x] = 0;
        if (s == 1) CONV_FN(copy)(dst + lo, src + lo + off, hi - lo);
        else
            for (int64_t x = lo; x < hi; x++) dst[x] = src[x * s + off];
        for (int64_t x = hi; x < ow; x++) dst[x] = 0;
    }
}

/* Stride 1 and ow == w ("same" width): rows y in [ylo, yhi) of a column-block row are one
 * shifted copy of the input plane; the columns outside [lo, hi) that picked up a neighbouring
 * row's pixels are zeroed after.  The copy stays inside the plane: what the clipping skips is
 * such a column. */
static void CONV_FN(gather_plane)(T *restrict dst, const T *restrict plane, const conv_geom *g,
                                  int64_t rows, int64_t iy0, int64_t off, int64_t lo, int64_t hi)
{
    const int64_t w = g->w, size = g->h * w;
    int64_t d0 = 0, d1 = rows * w, s0 = iy0 * w + off;
    if (s0 < 0) d0 -= s0, s0 = 0;
    if (s0 + (d1 - d0) > size) d1 = d0 + (size - s0);
    if (d1 > d0) memcpy(dst + d0, plane + s0, (size_t)(d1 - d0) * sizeof(T));
    for (int64_t x = 0; x < lo; x++)
        for (int64_t y = 0; y < rows; y++) dst[y * w + x] = 0;
    for (int64_t x = hi; x < w; x++)
        for (int64_t y = 0; y < rows; y++) dst[y * w + x] = 0;
}

/* Column-block rows of output rows [y0, y1) of one depth slice: for channel ch and tap
 * (ki, kj), col[ch * ccs + (ki * kw + kj) * n + (y - y0) * ow + x] =
 * in[ch * ics + (y*sh - ph + ki*dlh) * w + x*sw - pw + kj*dlw], zero outside the plane.
 * In 1-D and 2-D this is the whole column block (ics = h w, ccs = kh kw n). */
static void CONV_FN(im2col_slice)(const conv_geom *g, const T *restrict in, int64_t ics,
                                  T *restrict col, int64_t ccs, int64_t n, int64_t y0,
                                  int64_t y1, bool par)
{
    const int64_t kh = g->kh, kw = g->kw, ow = g->ow;
    const int64_t h = g->h, w = g->w, sh = g->sh, sw = g->sw;
    const bool same = sw == 1 && ow == w && sh == 1;
    _Pragma("omp parallel for if (par && g->c * kh * kw * n > AM_OMP_MIN) schedule(static)")
    for (int64_t ch = 0; ch < g->c; ch++) {
        const T *restrict plane = in + ch * ics;
        for (int64_t ki = 0; ki < kh; ki++) {
            /* Output rows [ya, yb) read input rows y * sh + dy inside the image. */
            const int64_t dy = ki * g->dlh - g->ph;
            int64_t ya, yb;
            conv_valid_range(-dy, sh, h, y1, &ya, &yb);
            ya = ya > y0 ? ya : y0, yb = yb > ya ? yb : ya;
            for (int64_t kj = 0; kj < kw; kj++) {
                const int64_t off = kj * g->dlw - g->pw;
                int64_t lo, hi;
                conv_valid_range(-off, sw, w, ow, &lo, &hi);
                T *restrict dst = col + ch * ccs + (ki * kw + kj) * n;
                if (ya > y0) memset(dst, 0, (size_t)((ya - y0) * ow) * sizeof(T));
                if (same)
                    CONV_FN(gather_plane)(dst + (ya - y0) * ow, plane, g, yb - ya, ya + dy, off,
                                          lo, hi);
                else if (yb > ya)
                    CONV_FN(gather_rows)(dst + (ya - y0) * ow, plane + (ya * sh + dy) * w,
                                         yb - ya, sh * w, ow, sw, off, lo, hi);
                if (y1 > yb) memset(dst + (yb - y0) * ow, 0, (size_t)((y1 - yb) * ow) * sizeof(T));
            }
        }
    }
}

/* Column block of output rows [r0, r1) of one image: col (c*kd*kh*kw, (r1-r0)*ow) with
 * col[(ch, kz, ki, kj), (z, y, x)] = in[ch, z*sd - pd + kz*dld, y*sh - ph + ki*dlh,
 * x*sw - pw + kj*dlw], zero outside.  1-D and 2-D data is one slice; 3-D runs the slice code
 * per depth slice and kernel depth. */
static void CONV_FN(im2col)(const conv_geom *g, const T *restrict in, T *restrict col,
                            int64_t r0, int64_t r1, bool par)
{
    const int64_t n = (r1 - r0) * g->ow, plane = g->h * g->w, kk = g->kh * g->kw;
    if (g->d == 1 && g->od == 1) {
        CONV_FN(im2col_slice)(g, in, plane, col, kk * n, n, r0, r1, par);
        return;
    }
    /* Rows [y0, y1) of depth slice z, starting at row r. */
    for (int64_t z = r0 / g->oh, y0 = r0 - z * g->oh, r = r0; r < r1; z++, y0 = 0) {
        const int64_t y1 = g->oh - y0 < r1 - r ? g->oh : y0 + (r1 - r);
        for (int64_t kz = 0; kz < g->kd; kz++) {
            const int64_t iz = z * g->sd - g->pd + kz * g->dld;
            T *dst = col + kz * kk * n + (r - r0) * g->ow;
            if (iz >= 0 && iz < g->d) {
                CONV_FN(im2col_slice)(g, in + iz * plane, g->d * plane, dst, g->kd * kk * n, n,
                                      y0, y1, par);
                continue;
            }
            for (int64_t ch = 0; ch < g->c; ch++)
                for (int64_t t = 0; t < kk; t++)
                    memset(dst + ch * g->kd * kk * n + t * n, 0,
                           (size_t)((y1 - y0) * g->ow) * sizeof(T));
        }
        r += y1 - y0;
    }
}

/* The adjoint of im2col_slice: adds each column entry back onto the pixel it was read from.
 * Parallel over channels, each of which owns its plane of out. */
static void CONV_FN(col2im_slice)(const conv_geom *g, const T *restrict col, int64_t ccs,
                                  int64_t n, T *restrict out, int64_t ocs, int64_t y0,
                                  int64_t y1, bool par)
{
    _Pragma("omp parallel for if (par && g->c * g->kh * g->kw * n > AM_OMP_MIN) schedule(static)")
    for (int64_t ch = 0; ch < g->c; ch++)
        for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++) {
                const int64_t off = kj * g->dlw - g->pw;
                int64_t lo, hi;
                conv_valid_range(-off, g->sw, g->w, g->ow, &lo, &hi);
                const T *restrict src = col + ch * ccs + (ki * g->kw + kj) * n;
                for (int64_t y = y0; y < y1; y++, src += g->ow) {
                    const int64_t iy = y * g->sh - g->ph + ki * g->dlh;
                    if (iy < 0 || iy >= g->h) continue;
                    T *restrict dst = out + ch * ocs + iy * g->w;
                    if (g->sw == 1)
                        for (int64_t x = lo; x < hi; x++) dst[x + off] += src[x];
                    else
                        for (int64_t x = lo; x < hi; x++) dst[x * g->sw + off] += src[x];
                }
            }
}

/* The adjoint of im2col over output rows [r0, r1). */
static void CONV_FN(col2im)(const conv_geom *g, const T *restrict col, T *restrict out,
                            int64_t r0, int64_t r1, bool par)
{
    const int64_t n = (r1 - r0) * g->ow, plane = g->h * g->w, kk = g->kh * g->kw;
    if (g->d == 1 && g->od == 1) {
        CONV_FN(col2im_slice)(g, col, kk * n, n, out, plane, r0, r1, par);
        return;
    }
    for (int64_t z = r0 / g->oh, y0 = r0 - z * g->oh, r = r0; r < r1; z++, y0 = 0) {
        const int64_t y1 = g->oh - y0 < r1 - r ? g->oh : y0 + (r1 - r);
        for (int64_t kz = 0; kz < g->kd; kz++) {
            const int64_t iz = z * g->sd - g->pd + kz * g->dld;
            if (iz >= 0 && iz < g->d)
                CONV_FN(col2im_slice)(g, col + kz * kk * n + (r - r0) * g->ow, g->kd * kk * n, n,
                                      out + iz * plane, g->d * plane, y0, y1, par);
        }
        r += y1 - y0;
    }
}

/* y[ch, 0:n] = bias[ch] (or += when add) over channels whose rows are ld apart. */
static void CONV_FN(put_bias)(T *restrict y, const T *restrict bias, int64_t channels, int64_t ld,
                              int64_t sp, bool add)
{
    for (int64_t ch = 0; ch < channels; ch++) {
        const T b = bias[ch];
        T *restrict r = y + ch * ld;
        if (add)
            for (int64_t i = 0; i < sp; i++) r[i] += b;
        else
            for (int64_t i = 0; i < sp; i++) r[i] = b;
    }
}

#ifndef CONV_AT
/* p + off, where an empty input's data may be NULL (and NULL + 0 is undefined in C). */
#define CONV_AT(p, off) ((p) ? (p) + (off) : (p))
#endif

/* Output rows [y0, y1) of image n.  src is the column block (or, for 1x1 convolutions, the
 * image itself) with leading dimension ld; dw accumulates with *dw_beta, then 1. */
static void CONV_FN(band)(const conv_job *j, int64_t n, int64_t y0, int64_t y1, T *col, T *dw,
                          T *dw_beta, bool par)
{
    const conv_geom *g = &j->g;
    const int64_t fg = g->fg, k = g->k, sp = g->ohw, c0 = y0 * g->ow, nc = (y1 - y0) * g->ow;
    const T *w = j->w, *src = NULL;
    int64_t ld = g->direct ? g->hw : nc;
    if (j->a) {
        const T *an = (const T *)j->a + n * g->c * g->hw;
        if (g->direct) src = an + c0;
        else CONV_FN(im2col)(g, an, col, y0, y1, par), src = col;
    }
    if (j->fwd) {
        /* The GEMMs accumulate onto the bias. */
        T *y = (T *)j->fwd + n * g->f * sp + c0;
        const bool bias = j->bias && j->bias_on_fwd;
        const T beta = j->fwd_req == AM_REQ_ADD || bias ? 1 : 0;
        if (bias) CONV_FN(put_bias)(y, j->bias, g->f, sp, nc, j->fwd_req == AM_REQ_ADD);
        for (int64_t gr = 0; gr < g->groups; gr++)
            CONV_FN(gemm)(false, false, fg, nc, k, CONV_AT(w, gr * fg * k), k,
                          CONV_AT(src, gr * k * ld), ld, beta, CONV_AT(y, gr * fg * sp), sp);
    }
    const T *b = j->b ? (const T *)j->b + n * g->f * sp + c0 : NULL;
    if (dw) {
        for (int64_t gr = 0; gr < g->groups; gr++)
            CONV_FN(gemm)(false, true, fg, k, nc, CONV_AT(b, gr * fg * sp), sp,
                          CONV_AT(src, gr * k * ld), ld, *dw_beta, CONV_AT(dw, gr * fg * k), k);
        *dw_beta = 1;
    }
    if (j->din) {
        /* 1x1, stride 1, no padding: straight into the image. */
        T *x = (T *)j->din + n * g->c * g->hw;
        T beta = g->direct && j->din_req == AM_REQ_ADD ? 1 : 0;
        for (int64_t gr = 0; gr < g->groups; gr++)
            CONV_FN(gemm)(true, false, k, nc, fg, CONV_AT(w, gr * fg * k), k,
                          CONV_AT(b, gr * fg * sp), sp, beta,
                          g->direct ? CONV_AT(x, gr * k * g->hw + c0) : CONV_AT(col, gr * k * nc),
                          ld);
        if (!g->direct) CONV_FN(col2im)(g, col, x, y0, y1, par);
    }
}

/* Image n of a job, band by band.  col is this slice's column buffer; dw its weight-gradient
 * accumulator, overwritten first when *dw_beta is 0. */
static void CONV_FN(image)(const conv_job *j, int64_t n, T *col, T *dw, T *dw_beta, bool par)
{
    const conv_geom *g = &j->g;
    T *din = j->din ? (T *)j->din + n * g->c * g->hw : NULL;
    /* col2im accumulates onto the bias or zeros. */
    if (din && j->bias && !j->bias_on_fwd && !g->direct)
        CONV_FN(put_bias)(din, j->bias, g->c, g->hw, g->hw, j->din_req == AM_REQ_ADD);
    else if (din && !g->direct && j->din_req != AM_REQ_ADD)
        memset(din, 0, (size_t)(g->c * g->hw) * sizeof(T));
    for (int64_t y0 = 0; y0 < g->rows; y0 += g->band) {
        int64_t y1 = y0 + g->band < g->rows ? y0 + g->band : g->rows;
        CONV_FN(band)(j, n, y0, y1, col, dw, dw_beta, par);
    }
    if (din && j->bias && !j->bias_on_fwd && g->direct)
        CONV_FN(put_bias)(din, j->bias, g->c, g->hw, g->hw, true);
}

/* Work item i: an image, or with no col2im (whose bands overlap in the image) one band of
 * an image, so that a small batch still spreads over the threads. */
static void CONV_FN(item)(const conv_job *j, int64_t i, T *col, T *dw, T *dw_beta)
{
    const conv_geom *g = &j->g;
    if (j->din) {
        CONV_FN(image)(j, i, col, dw, dw_beta, false);
        return;
    }
    int64_t y0 = i % g->nbands * g->band, y1 = y0 + g->band < g->rows ? y0 + g->band : g->rows;
    CONV_FN(band)(j, i / g->nbands, y0, y1, col, dw, dw_beta, false);
}

/* Runs a job: slices of consecutive work items in parallel, each with its own column buffer
 * and weight-gradient accumulator (so OpenBLAS runs single-threaded inside the region); one
 * slice runs the images in turn with threaded GEMMs instead. */
static void CONV_FN(run)(const conv_job *j)
{
    const int64_t ns = j->slices, items = conv_items(j);
    T *ws = j->ws, *dw_out = j->dw;
    if (ns <= 1) {
        /* The accumulator is the output itself. */
        T beta = j->dw_req == AM_REQ_ADD ? 1 : 0;
        for (int64_t n = 0; n < j->g.n; n++) CONV_FN(image)(j, n, ws, dw_out, &beta, true);
        if (dw_out && beta == 0) memset(dw_out, 0, (size_t)(j->g.f * j->g.k) * sizeof(T));
        return;
    }
    _Pragma("omp parallel for num_threads(ns) schedule(static, 1)")
    for (int64_t s = 0; s < ns; s++) {
        T *col = ws + s * j->slice_elems, *dw = dw_out ? col + j->col_elems : NULL, beta = 0;
        for (int64_t i = items * s / ns; i < items * (s + 1) / ns; i++)
            CONV_FN(item)(j, i, col, dw, &beta);
        if (dw && beta == 0) memset(dw, 0, (size_t)(j->g.f * j->g.k) * sizeof(T));
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

/* ---- depthwise (one input channel per group): direct loops, no GEMM ------------------ */

/* y (oh, ow) += the correlation of one input plane x with one kernel. */
static void CONV_FN(dw_fwd)(const conv_geom *g, const T *restrict x, const T *restrict k,
                            T *restrict y)
{
    const int64_t ow = g->ow, w = g->w, sw = g->sw;
    for (int64_t ki = 0; ki < g->kh; ki++) {
        const int64_t dy = ki * g->dlh - g->ph;
        int64_t ya, yb;
        conv_valid_range(-dy, g->sh, g->h, g->oh, &ya, &yb);
        for (int64_t kj = 0; kj < g->kw; kj++) {
            const int64_t off = kj * g->dlw - g->pw;
            const T kv = k[ki * g->kw + kj];
            int64_t lo, hi;
            conv_valid_range(-off, sw, w, ow, &lo, &hi);
            for (int64_t yy = ya; yy < yb; yy++) {
                const T *restrict xr = x + (yy * g->sh + dy) * w;
                T *restrict yr = y + yy * ow;
                if (sw == 1)
                    for (int64_t xx = lo; xx < hi; xx++) yr[xx] += kv * xr[xx + off];
                else
                    for (int64_t xx = lo; xx < hi; xx++) yr[xx] += kv * xr[xx * sw + off];
            }
        }
    }
}

/* Its adjoints: x += the kernel scattered by b (data gradient), and k += b correlated with
 * x (weight gradient).  Stride 1 gets its own loops so that they vectorize. */
static void CONV_FN(dw_bwd)(const conv_geom *g, const T *restrict b, const T *restrict k,
                            T *restrict x, const T *restrict xin, T *restrict kg)
{
    const int64_t ow = g->ow, w = g->w, sw = g->sw;
    for (int64_t ki = 0; ki < g->kh; ki++) {
        const int64_t dy = ki * g->dlh - g->ph;
        int64_t ya, yb;
        conv_valid_range(-dy, g->sh, g->h, g->oh, &ya, &yb);
        for (int64_t kj = 0; kj < g->kw; kj++) {
            const int64_t off = kj * g->dlw - g->pw;
            int64_t lo, hi;
            conv_valid_range(-off, sw, w, ow, &lo, &hi);
            const T kv = k[ki * g->kw + kj];
            T acc = 0;
            for (int64_t yy = ya; yy < yb; yy++) {
                const T *restrict br = b + yy * ow;
                const int64_t row = (yy * g->sh + dy) * w + off;
                if (x && sw == 1) {
                    T *restrict xr = x + row;
                    for (int64_t xx = lo; xx < hi; xx++) xr[xx] += kv * br[xx];
                } else if (x) {
                    for (int64_t xx = lo; xx < hi; xx++) x[row + xx * sw] += kv * br[xx];
                }
                if (kg && sw == 1) {
                    const T *restrict xr = xin + row;
                    _Pragma("omp simd reduction(+:acc)")
                    for (int64_t xx = lo; xx < hi; xx++) acc += br[xx] * xr[xx];
                } else if (kg) {
                    for (int64_t xx = lo; xx < hi; xx++) acc += br[xx] * xin[row + xx * sw];
                }
            }
            if (kg) kg[ki * g->kw + kj] += acc;
        }
    }
}

/* The same over volumes: each pair of output depth z and kernel depth kz that reads an
 * input depth slice runs the 2-D routine on it (in 1-D and 2-D, the one pair (0, 0)). */
static void CONV_FN(dw_vol)(const conv_geom *g, const T *restrict x, const T *restrict k,
                            T *restrict y, const T *restrict b, T *restrict gx, T *restrict kg)
{
    const int64_t plane = g->h * g->w, oplane = g->oh * g->ow, kk = g->kh * g->kw;
    for (int64_t z = 0; z < g->od; z++)
        for (int64_t kz = 0; kz < g->kd; kz++) {
            const int64_t iz = z * g->sd - g->pd + kz * g->dld;
            if (iz < 0 || iz >= g->d) continue;
            if (y) CONV_FN(dw_fwd)(g, x + iz * plane, k + kz * kk, y + z * oplane);
            if (gx || kg)
                CONV_FN(dw_bwd)(g, b + z * oplane, k + kz * kk, gx ? gx + iz * plane : NULL,
                                x ? x + iz * plane : NULL, kg ? kg + kz * kk : NULL);
        }
}

/* A whole job for depthwise geometry, parallel over input channels: each owns its data
 * gradient planes and its filters' outputs and weight gradients. */
static void CONV_FN(depthwise)(const conv_job *j)
{
    const conv_geom *g = &j->g;
    const int64_t fg = g->fg, kk = g->kd * g->kh * g->kw, hw = g->hw, ohw = g->ohw;
    const T *a = j->a, *b = j->b, *w = j->w, *bias = j->bias;
    T *fwd = j->fwd, *din = j->din, *dw = j->dw;
    const double work = (double)g->n * (double)g->f * (double)ohw * (double)kk;
    _Pragma("omp parallel for if (work > CONV_PAR_MIN_FLOPS) schedule(static)")
    for (int64_t c = 0; c < g->c; c++) {
        if (dw && j->dw_req != AM_REQ_ADD)
            memset(dw + c * fg * kk, 0, (size_t)(fg * kk) * sizeof(T));
        for (int64_t n = 0; n < g->n; n++) {
            T *dn = din ? din + (n * g->c + c) * hw : NULL;
            if (dn) {
                const T init = bias && !j->bias_on_fwd ? bias[c] : 0;
                const bool add = j->din_req == AM_REQ_ADD;
                for (int64_t i = 0; i < hw; i++) dn[i] = (add ? dn[i] : 0) + init;
            }
            for (int64_t f = c * fg; f < (c + 1) * fg; f++) {
                const T *an = a ? a + (n * g->c + c) * hw : NULL;
                const T *bn = b ? b + (n * g->f + f) * ohw : NULL;
                if (fwd) {
                    T *yn = fwd + (n * g->f + f) * ohw, init = bias && j->bias_on_fwd ? bias[f] : 0;
                    for (int64_t i = 0; i < ohw; i++)
                        yn[i] = (j->fwd_req == AM_REQ_ADD ? yn[i] : 0) + init;
                    CONV_FN(dw_vol)(g, an, w + f * kk, yn, NULL, NULL, NULL);
                }
                if (dn || dw)
                    CONV_FN(dw_vol)(g, an, w + f * kk, NULL, bn, dn, dw ? dw + f * kk : NULL);
            }
        }
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
