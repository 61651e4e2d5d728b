/* MXNet's _contrib_hawkesll: the log-likelihood of marked self-exciting (Hawkes) point
 * processes with exponential kernels, one sequence per row, and the states left at
 * max_time; and its gradient op.  Sequences run serially, marks per sequence are
 * independent.  The gradient is the exact derivative of both outputs with respect to lda,
 * alpha, beta and state (MXNet's ignores the states output's gradient and gives state
 * none); the sequence inputs (lags, marks, valid_length, max_time) get none, as in MXNet.
 * docs/ops-misc2.md has the formulas. */
#include <math.h>

#include "shape_impl.h"

enum { HK_MU, HK_ALPHA, HK_BETA, HK_STATE, HK_LAGS, HK_MARKS, HK_VALID, HK_MAXT, HK_N };

static const char *const hk_names[] = {"lda",  "alpha", "beta",         "state",
                                       "lags", "marks", "valid_length", "max_time", NULL};

static am_status hk_want(const am_shape *s, int ndim, const int64_t *dims, int i)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape want = {.ndim = ndim};
    for (int d = 0; d < ndim; d++) want.dim[d] = dims[d];
    if (!am_shape_equal(*s, want))
        return am_fail(AM_ERR_SHAPE, "%s must be %s, not %s (lda (N, K), lags (N, T))",
                       hk_names[i], am_fmt_shape(&want, b0), am_fmt_shape(s, b1));
    return AM_OK;
}

/* lda, state (N, K); alpha, beta (K,); lags, marks (N, T); valid_length, max_time (N,). */
static am_status hk_check(const am_shape *in)
{
    char b[AM_SHAPE_BUF];
    am_status st = am_need_known(in, HK_N);
    if (st != AM_OK) return st;
    if (in[HK_MU].ndim != 2)
        return am_fail(AM_ERR_SHAPE, "lda must be (N, K), not %s", am_fmt_shape(&in[HK_MU], b));
    if (in[HK_LAGS].ndim != 2)
        return am_fail(AM_ERR_SHAPE, "lags must be (N, T), not %s",
                       am_fmt_shape(&in[HK_LAGS], b));
    int64_t n = in[HK_MU].dim[0], k = in[HK_MU].dim[1], t = in[HK_LAGS].dim[1];
    int64_t nk[2] = {n, k}, nt[2] = {n, t};
    if ((st = hk_want(&in[HK_ALPHA], 1, &k, HK_ALPHA)) != AM_OK ||
        (st = hk_want(&in[HK_BETA], 1, &k, HK_BETA)) != AM_OK ||
        (st = hk_want(&in[HK_STATE], 2, nk, HK_STATE)) != AM_OK ||
        (st = hk_want(&in[HK_LAGS], 2, nt, HK_LAGS)) != AM_OK ||
        (st = hk_want(&in[HK_MARKS], 2, nt, HK_MARKS)) != AM_OK ||
        (st = hk_want(&in[HK_VALID], 1, &n, HK_VALID)) != AM_OK ||
        (st = hk_want(&in[HK_MAXT], 1, &n, HK_MAXT)) != AM_OK)
        return st;
    return AM_OK;
}

static am_status hk_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = hk_check(in);
    if (st != AM_OK) return st;
    out[0] = (am_shape){.ndim = 1, .dim = {in[HK_MU].dim[0]}};
    out[1] = in[HK_STATE];
    return AM_OK;
}

/* lda, alpha, beta, state share a float dtype; the sequence inputs may have any (MXNet
 * wants marks int32 and the others lda's dtype; values are read as numbers). */
static am_status hk_dtypes(const am_dtype *in, int first)
{
    if (!am_dtype_is_float(in[first]))
        return am_fail(AM_ERR_DTYPE, "lda must be floating point, not %s",
                       am_dtype_name(in[first]));
    for (int i = 1; i < HK_N; i++) {
        if ((unsigned)in[first + i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of %s is unknown", hk_names[i]);
        if (i <= HK_STATE && in[first + i] != in[first])
            return am_fail(AM_ERR_DTYPE, "%s is %s but lda is %s", hk_names[i],
                           am_dtype_name(in[first + i]), am_dtype_name(in[first]));
    }
    return AM_OK;
}

static am_status hk_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = hk_dtypes(in, 0);
    if (st != AM_OK) return st;
    out[0] = out[1] = in[HK_MU];
    return AM_OK;
}

/* Sequence i's event count and marks, checked: valid_length in [0, T], marks in [0, K). */
static am_status hk_events(const am_view *in, int64_t i, int64_t *count)
{
    int64_t t = in[HK_LAGS].dim[1], k = in[HK_MU].dim[1];
    double v = am_view_get(&in[HK_VALID], i);
    if (!(v >= 0 && v <= (double)t))
        return am_fail(AM_ERR_ARG, "valid_length[%lld] = %g is outside [0, %lld] (T)",
                       (long long)i, v, (long long)t);
    *count = (int64_t)ceil(v); /* MXNet loops while j < valid_length */
    for (int64_t j = 0; j < *count; j++) {
        double m = am_view_get(&in[HK_MARKS], i * t + j);
        if (!(m >= 0 && m < (double)k))
            return am_fail(AM_ERR_ARG, "marks[%lld, %lld] = %g is outside [0, %lld) (K)",
                           (long long)i, (long long)j, m, (long long)k);
    }
    return AM_OK;
}

static size_t hk_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return (size_t)(in[HK_MU].ndim == 2 ? in[HK_MU].dim[1] : 0) * 2 * sizeof(double) + 64;
}

static void hk_store(double *y, double v, am_req req) { *y = req == AM_REQ_ADD ? *y + v : v; }

/* Forward of sequence i: log-likelihood, and S (the states at max_time) in s. */
static double hk_sequence(const am_view *in, int64_t i, int64_t count, double *last, double *s)
{
    int64_t t_len = in[HK_LAGS].dim[1], k = in[HK_MU].dim[1];
    double ll = 0, t = 0;
    for (int64_t m = 0; m < k; m++) last[m] = 0, s[m] = am_view_get(&in[HK_STATE], i * k + m);
    for (int64_t j = 0; j < count; j++) {
        int64_t c = (int64_t)am_view_get(&in[HK_MARKS], i * t_len + j);
        double mu = am_view_get(&in[HK_MU], i * k + c), a = am_view_get(&in[HK_ALPHA], c);
        double b = am_view_get(&in[HK_BETA], c);
        t += am_view_get(&in[HK_LAGS], i * t_len + j);
        double d = t - last[c], ed = exp(-b * d);
        ll += log(mu + a * b * s[c] * ed) - (mu * d + a * s[c] * (1 - ed));
        s[c] = 1 + s[c] * ed;
        last[c] = t;
    }
    double tmax = am_view_get(&in[HK_MAXT], i);
    for (int64_t m = 0; m < k; m++) {
        double mu = am_view_get(&in[HK_MU], i * k + m), a = am_view_get(&in[HK_ALPHA], m);
        double d = tmax - last[m], ed = exp(-am_view_get(&in[HK_BETA], m) * d);
        ll -= mu * d + a * s[m] * (1 - ed);
        s[m] *= ed;
    }
    return ll;
}

static am_status hk_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                        int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t n = in[HK_MU].dim[0], k = in[HK_MU].dim[1];
    double *last = ctx->workspace, *s = last + k;
    for (int64_t i = 0; i < n; i++) {
        int64_t count;
        am_status st = hk_events(in, i, &count);
        if (st != AM_OK) return st;
        double ll = hk_sequence(in, i, count, last, s);
        if (req[0] != AM_REQ_NULL) {
            double y = am_view_get(&out[0], i);
            hk_store(&y, ll, req[0]);
            am_view_set(&out[0], i, y);
        }
        for (int64_t m = 0; req[1] != AM_REQ_NULL && m < k; m++) {
            double y = am_view_get(&out[1], i * k + m);
            hk_store(&y, s[m], req[1]);
            am_view_set(&out[1], i * k + m, y);
        }
    }
    return AM_OK;
}

/* ---- gradient ------------------------------------------------------------------------ */

/* Per mark of one sequence: the state S, its derivatives by beta (sb) and by the initial
 * state (s0), and the log-likelihood's derivatives by mu, alpha, beta and the initial
 * state. */
typedef struct hk_marks {
    double *last, *s, *sb, *s0, *gmu, *ga, *gb, *gs;
} hk_marks;

/* Event (time t, mark c): the derivatives of log(lda) - compensator. */
static void hk_event_grad(hk_marks *w, int64_t c, double t, double mu, double a, double b)
{
    double d = t - w->last[c], ed = exp(-b * d), s = w->s[c], sb = w->sb[c], s0 = w->s0[c];
    double lda = mu + a * b * s * ed;
    w->gmu[c] += 1 / lda - d;
    w->ga[c] += b * s * ed / lda - s * (1 - ed);
    w->gb[c] += a * ed * (s * (1 - b * d) + b * sb) / lda - a * (sb * (1 - ed) + s * d * ed);
    w->gs[c] += a * b * ed * s0 / lda - a * s0 * (1 - ed);
    w->sb[c] = ed * (sb - d * s);
    w->s0[c] = ed * s0;
    w->s[c] = 1 + s * ed;
    w->last[c] = t;
}

/* Inputs: og_ll (N,), og_states (N, K), then hawkesll's eight.  Outputs: the gradients of
 * lda, alpha, beta, state. */
static am_status hk_back_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF];
    am_status st = hk_check(in + 2);
    if (st != AM_OK) return st;
    am_shape ll = {.ndim = 1, .dim = {in[2 + HK_MU].dim[0]}};
    if (in[0].ndim < 0) in[0] = ll;
    if (in[1].ndim < 0) in[1] = in[2 + HK_STATE];
    if (!am_shape_equal(in[0], ll) || !am_shape_equal(in[1], in[2 + HK_STATE]))
        return am_fail(AM_ERR_SHAPE, "the output gradients must be %s and the state's shape",
                       am_fmt_shape(&ll, b0));
    for (int i = 0; i < 4; i++) out[i] = in[2 + i];
    return AM_OK;
}

static am_status hk_back_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = hk_dtypes(in, 2);
    if (st != AM_OK) return st;
    for (int i = 0; i < 2; i++)
        if (in[i] != in[2])
            return am_fail(AM_ERR_DTYPE, "output gradient %d is %s but lda is %s", i,
                           am_dtype_name(in[i]), am_dtype_name(in[2]));
    for (int i = 0; i < 4; i++) out[i] = in[2];
    return AM_OK;
}

static size_t hk_back_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    const am_shape *mu = &in[2 + HK_MU];
    return (size_t)(mu->ndim == 2 ? mu->dim[1] : 0) * 10 * sizeof(double) + 64;
}

/* Accumulates sequence i's gradients: lda and state rows into gmu_row, gs_row; alpha and
 * beta into galpha, gbeta (sums over sequences). */
static void hk_back_sequence(const am_view *in, int64_t i, int64_t count, hk_marks *w,
                             double *galpha, double *gbeta, double *gmu_row, double *gs_row)
{
    const am_view *x = in + 2;
    int64_t t_len = x[HK_LAGS].dim[1], k = x[HK_MU].dim[1];
    for (int64_t m = 0; m < k; m++) {
        w->last[m] = w->sb[m] = w->gmu[m] = w->ga[m] = w->gb[m] = w->gs[m] = 0;
        w->s[m] = am_view_get(&x[HK_STATE], i * k + m), w->s0[m] = 1;
    }
    double t = 0;
    for (int64_t j = 0; j < count; j++) {
        int64_t c = (int64_t)am_view_get(&x[HK_MARKS], i * t_len + j);
        t += am_view_get(&x[HK_LAGS], i * t_len + j);
        hk_event_grad(w, c, t, am_view_get(&x[HK_MU], i * k + c), am_view_get(&x[HK_ALPHA], c),
                      am_view_get(&x[HK_BETA], c));
    }
    double gll = am_view_get(&in[0], i), tmax = am_view_get(&x[HK_MAXT], i);
    for (int64_t m = 0; m < k; m++) {
        double a = am_view_get(&x[HK_ALPHA], m), b = am_view_get(&x[HK_BETA], m);
        double d = tmax - w->last[m], ed = exp(-b * d), s = w->s[m];
        double gst = am_view_get(&in[1], i * k + m); /* gradient of the state at max_time */
        gmu_row[m] = gll * (w->gmu[m] - d);
        galpha[m] += gll * (w->ga[m] - s * (1 - ed));
        gbeta[m] += gll * (w->gb[m] - a * (w->sb[m] * (1 - ed) + s * d * ed)) +
                    gst * ed * (w->sb[m] - d * s);
        gs_row[m] = gll * (w->gs[m] - a * w->s0[m] * (1 - ed)) + gst * ed * w->s0[m];
    }
}

static void hk_put(const am_view *v, int64_t i, double x, am_req req)
{
    if (req == AM_REQ_NULL) return;
    double y = am_view_get(v, i);
    hk_store(&y, x, req);
    am_view_set(v, i, y);
}

static am_status hk_back_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t n = in[2 + HK_MU].dim[0], k = in[2 + HK_MU].dim[1];
    double *p = ctx->workspace;
    hk_marks w = {p, p + k, p + 2 * k, p + 3 * k, p + 4 * k, p + 5 * k, p + 6 * k, p + 7 * k};
    double *galpha = p + 8 * k, *gbeta = p + 9 * k;
    for (int64_t m = 0; m < k; m++) galpha[m] = gbeta[m] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t count;
        am_status st = hk_events(in + 2, i, &count);
        if (st != AM_OK) return st;
        /* each mark's row entries overwrite its own slots of w.gmu, w.gs once read */
        hk_back_sequence(in, i, count, &w, galpha, gbeta, w.gmu, w.gs);
        for (int64_t m = 0; m < k; m++) {
            hk_put(&out[0], i * k + m, w.gmu[m], req[0]);
            hk_put(&out[3], i * k + m, w.gs[m], req[3]);
        }
    }
    for (int64_t m = 0; m < k; m++) {
        hk_put(&out[1], m, galpha[m], req[1]);
        hk_put(&out[2], m, gbeta[m], req[2]);
    }
    return AM_OK;
}

const am_op_def am_op_backward_hawkesll = {
    .name = "_contrib_backward_hawkesll",
    .input_names = (const char *const[]){"out_grad_ll", "out_grad_states", "lda", "alpha",
                                         "beta", "state", "lags", "marks", "valid_length",
                                         "max_time", NULL},
    .num_outputs = 4, .infer_shape = hk_back_shape, .infer_dtype = hk_back_dtype,
    .temp_bytes = hk_back_temp, .cpu = hk_back_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD | AM_OP_NEEDS_TEMP,
    .doc = "_contrib_hawkesll's gradient with respect to lda, alpha, beta and state, given "
           "the gradients of both of its outputs."};

static am_status hk_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!(g->need_grad[HK_MU] || g->need_grad[HK_ALPHA] || g->need_grad[HK_BETA] ||
          g->need_grad[HK_STATE]))
        return AM_OK;
    am_array *x[2 + HK_N] = {og[0], og[1]};
    for (int i = 0; i < HK_N; i++) x[2 + i] = in[i];
    am_array *r[4] = {0};
    am_status st = am_op_call(&am_op_backward_hawkesll, NULL, x, 2 + HK_N, r, 4, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < 4; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return AM_OK;
}

const am_op_def am_op_hawkesll = {
    .name = "_contrib_hawkesll", .input_names = hk_names, .num_outputs = 2,
    .infer_shape = hk_shape, .infer_dtype = hk_dtype, .temp_bytes = hk_temp, .cpu = hk_cpu,
    .gradient = hk_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Log-likelihood of marked Hawkes processes with exponential kernels (lda (N, K), "
           "alpha, beta (K,), state (N, K), lags, marks (N, T), valid_length, max_time (N,)) "
           "and the states at max_time."};

am_status am_hawkesll_at(am_array *const in[8], am_array **ll, am_array **states, am_site at)
{
    am_array *out[2] = {0};
    am_status st = am_op_call(&am_op_hawkesll, NULL, in, HK_N, out, 2, at);
    if (st != AM_OK) return st;
    *ll = out[0], *states = out[1];
    return AM_OK;
}
