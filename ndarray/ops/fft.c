/* MXNet's _contrib_fft and _contrib_ifft: the discrete Fourier transform along the last
 * axis of a 2-D or 4-D array, with complex numbers interleaved (re, im) in the last axis.
 * Neither scales by 1/N (MXNet's cuFFT kernels do not).  Sizes that are powers of two run an
 * iterative radix-2 FFT; other sizes Bluestein's chirp-z transform over a power of two, so
 * every size costs O(N log N).  Work is in double whatever the dtype.  MXNet 1.9.1 has these
 * ops on the GPU only; docs/ops-misc2.md says how Amber's results were checked. */
#include <math.h>

#include "shape_impl.h"

typedef struct fft_attrs {
    int64_t compute_size;
} fft_attrs;

static const am_attr_field fft_fields[] = {
    AM_ATTR_FIELD(fft_attrs, compute_size, AM_ATTR_INT, "128",
                  "rows per sub-batch on MXNet's GPU; no effect on the result"),
    {0}};

static bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* Size of the power-of-two transform that serves length n. */
static int64_t fft_inner_size(int64_t n)
{
    if (is_pow2(n)) return n;
    int64_t m = 1;
    while (m < 2 * n - 1) m <<= 1;
    return m;
}

/* Doubles of workspace for rows of length n. */
static int64_t fft_work_doubles(int64_t n)
{
    if (n <= 1) return 2;
    int64_t m = fft_inner_size(n);
    if (m == n) return 3 * n;    /* row (2n) + twiddles (n) */
    return 4 * n + 5 * m;        /* row, chirp (2n each), a, b (2m each), twiddles (m) */
}

/* In place, size m (a power of two): X_k = sum_j x_j exp(sign 2 pi i jk / m).  tw holds
 * cos and sin of 2 pi j / m for j < m/2 (m/2 each). */
static void fft_pow2(double *re, double *im, int64_t m, const double *tw, int sign)
{
    for (int64_t i = 1, j = 0; i < m; i++) {
        int64_t bit = m >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    const double *tc = tw, *ts = tw + m / 2;
    for (int64_t len = 2; len <= m; len <<= 1) {
        int64_t half = len / 2, step = m / len;
        for (int64_t s = 0; s < m; s += len)
            for (int64_t k = 0; k < half; k++) {
                double wr = tc[k * step], wi = sign * ts[k * step];
                int64_t a = s + k, b = a + half;
                double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr, im[b] = im[a] - xi;
                re[a] += xr, im[a] += xi;
            }
    }
}

static void twiddles(double *tw, int64_t m)
{
    for (int64_t j = 0; j < m / 2; j++) {
        double t = 2 * M_PI * (double)j / (double)m;
        tw[j] = cos(t), tw[m / 2 + j] = sin(t);
    }
}

/* A prepared transform of length n in direction sign (-1 forward, +1 inverse). */
typedef struct dft_plan {
    int64_t n, m;
    int sign;
    double *xr, *xi, *cr, *ci, *ar, *ai, *br, *bi, *tw;
} dft_plan;

/* Lays the plan over work (fft_work_doubles(n) doubles) and precomputes what rows share:
 * twiddles, and for Bluestein the chirp c_j = exp(sign i pi j^2 / n) and the transform of
 * the convolution kernel conj(c). */
static void dft_prepare(dft_plan *p, int64_t n, int sign, double *work)
{
    p->n = n, p->sign = sign, p->m = fft_inner_size(n);
    p->xr = work, p->xi = work + n;
    if (n <= 1) return;
    if (p->m == n) {
        p->tw = work + 2 * n;
        twiddles(p->tw, n);
        return;
    }
    int64_t m = p->m;
    p->cr = work + 2 * n, p->ci = p->cr + n;
    p->ar = p->ci + n, p->ai = p->ar + m, p->br = p->ai + m, p->bi = p->br + m;
    p->tw = p->bi + m;
    twiddles(p->tw, m);
    /* q = j^2 mod 2n keeps the angle small, so the chirp stays exact for large n */
    for (int64_t j = 0, q = 0; j < n; q = (q + 2 * j + 1) % (2 * n), j++) {
        double t = sign * M_PI * (double)q / (double)n;
        p->cr[j] = cos(t), p->ci[j] = sin(t);
    }
    for (int64_t k = 0; k < m; k++) p->br[k] = p->bi[k] = 0;
    for (int64_t j = 0; j < n; j++) {
        p->br[j] = p->cr[j], p->bi[j] = -p->ci[j];
        if (j) p->br[m - j] = p->cr[j], p->bi[m - j] = -p->ci[j];
    }
    fft_pow2(p->br, p->bi, m, p->tw, -1);
}

/* Transforms p->xr, p->xi in place. */
static void dft_run(const dft_plan *p)
{
    int64_t n = p->n, m = p->m;
    if (n <= 1) return;
    if (m == n) {
        fft_pow2(p->xr, p->xi, n, p->tw, p->sign);
        return;
    }
    for (int64_t j = 0; j < m; j++) p->ar[j] = p->ai[j] = 0;
    for (int64_t j = 0; j < n; j++) {
        p->ar[j] = p->xr[j] * p->cr[j] - p->xi[j] * p->ci[j];
        p->ai[j] = p->xr[j] * p->ci[j] + p->xi[j] * p->cr[j];
    }
    fft_pow2(p->ar, p->ai, m, p->tw, -1);
    for (int64_t k = 0; k < m; k++) {
        double r = p->ar[k] * p->br[k] - p->ai[k] * p->bi[k];
        double i = p->ar[k] * p->bi[k] + p->ai[k] * p->br[k];
        p->ar[k] = r, p->ai[k] = i;
    }
    fft_pow2(p->ar, p->ai, m, p->tw, +1);
    for (int64_t k = 0; k < n; k++) {
        double r = p->ar[k] / (double)m, i = p->ai[k] / (double)m;
        p->xr[k] = r * p->cr[k] - i * p->ci[k];
        p->xi[k] = r * p->ci[k] + i * p->cr[k];
    }
}

/* ---- shapes -------------------------------------------------------------------------- */

static am_status fft_check(const am_shape *x, const char *what)
{
    char b[AM_SHAPE_BUF];
    if (x->ndim != 2 && x->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "%s must be 2-D or 4-D (the transform runs along the "
                       "last axis), not %s", what, am_fmt_shape(x, b));
    return AM_OK;
}

static am_status fft_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = fft_check(&in[0], "data");
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[0].dim[out[0].ndim - 1] *= 2;
    return AM_OK;
}

static am_status ifft_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = fft_check(&in[0], "data");
    if (st != AM_OK) return st;
    int64_t last = in[0].dim[in[0].ndim - 1];
    if (last % 2)
        return am_fail(AM_ERR_SHAPE, "data %s must hold (re, im) pairs in its last axis, "
                       "whose size %lld is odd", am_fmt_shape(&in[0], b), (long long)last);
    out[0] = in[0];
    out[0].dim[out[0].ndim - 1] = last / 2;
    return AM_OK;
}

static am_status float_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "data must be floating point, not %s",
                       am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

/* Length of the transform: the output's last axis for fft, the input's (halved) for ifft. */
static size_t fft_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t n = in[0].ndim > 0 ? in[0].dim[in[0].ndim - 1] : 0;
    return (size_t)fft_work_doubles(n) * sizeof(double);
}

static size_t ifft_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t n = in[0].ndim > 0 ? in[0].dim[in[0].ndim - 1] / 2 : 0;
    return (size_t)fft_work_doubles(n) * sizeof(double);
}

/* ---- kernels ------------------------------------------------------------------------- */

/* fft: real rows of n -> interleaved complex rows of 2n.  ifft: complex rows of 2n ->
 * the real part of the unscaled inverse, rows of n. */
#define FFT_KERNEL(name, inverse)                                                          \
    static am_status name(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,   \
                          int n_in, const am_view *out, int n_out, const am_req *req)       \
    {                                                                                      \
        AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);                               \
        if (req[0] == AM_REQ_NULL || am_view_size(&out[0]) == 0) return AM_OK;             \
        int64_t n = inverse ? out[0].dim[out[0].ndim - 1] : in[0].dim[in[0].ndim - 1];     \
        int64_t rows = am_view_size(inverse ? &out[0] : &in[0]) / n;                        \
        dft_plan p;                                                                        \
        dft_prepare(&p, n, inverse ? 1 : -1, ctx->workspace);                              \
        bool add = req[0] == AM_REQ_ADD;                                                   \
        AM_FLOAT_SWITCH(in[0].dtype, T, {                                                  \
            const T *x = in[0].data;                                                       \
            T *y = out[0].data;                                                            \
            for (int64_t r = 0; r < rows; r++) {                                           \
                for (int64_t j = 0; j < n; j++) {                                          \
                    p.xr[j] = inverse ? (double)x[(r * n + j) * 2] : (double)x[r * n + j]; \
                    p.xi[j] = inverse ? (double)x[(r * n + j) * 2 + 1] : 0.0;              \
                }                                                                          \
                dft_run(&p);                                                               \
                for (int64_t k = 0; k < n; k++) {                                          \
                    if (inverse) {                                                         \
                        T v = (T)p.xr[k];                                                  \
                        y[r * n + k] = add ? y[r * n + k] + v : v;                         \
                    } else {                                                               \
                        T vr = (T)p.xr[k], vi = (T)p.xi[k];                                \
                        T *o = y + (r * n + k) * 2;                                        \
                        o[0] = add ? o[0] + vr : vr;                                       \
                        o[1] = add ? o[1] + vi : vi;                                       \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
        });                                                                                \
        return AM_OK;                                                                      \
    }
FFT_KERNEL(fft_cpu, false)
FFT_KERNEL(ifft_cpu, true)

/* Both transforms are linear: fft's gradient is the real part of the unscaled inverse of
 * the output gradient, which is ifft; ifft's is fft of its output gradient. */
static am_status fft_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig);
static am_status ifft_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig);

const am_op_def am_op_fft = {
    .name = "_contrib_fft", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = fft_fields, .attrs_size = sizeof(fft_attrs),
    .infer_shape = fft_shape, .infer_dtype = float_dtype, .temp_bytes = fft_temp,
    .cpu = fft_cpu, .gradient = fft_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Unscaled DFT of the real rows of the last axis (2-D or 4-D data); the output's "
           "last axis interleaves (re, im), twice as long."};

const am_op_def am_op_ifft = {
    .name = "_contrib_ifft", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = fft_fields, .attrs_size = sizeof(fft_attrs),
    .infer_shape = ifft_shape, .infer_dtype = float_dtype, .temp_bytes = ifft_temp,
    .cpu = ifft_cpu, .gradient = ifft_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Real part of the unscaled inverse DFT of interleaved (re, im) rows of the last "
           "axis (2-D or 4-D data); the output's last axis is half as long."};

static am_status fft_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_ifft, g->attrs, og, 1, &ig[0], 1, g->at);
}

static am_status ifft_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_fft, g->attrs, og, 1, &ig[0], 1, g->at);
}

am_array *am_fft_at(am_array *x, am_site at)
{
    fft_attrs a = {.compute_size = 128};
    am_array *y = NULL;
    am_op_call(&am_op_fft, &a, &x, 1, &y, 1, at);
    return y;
}

am_array *am_ifft_at(am_array *x, am_site at)
{
    fft_attrs a = {.compute_size = 128};
    am_array *y = NULL;
    am_op_call(&am_op_ifft, &a, &x, 1, &y, 1, at);
    return y;
}
