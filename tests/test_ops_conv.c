/* The ops_conv suite: Convolution and Deconvolution with their _backward_ ops against
 * hand-checked values and a naive direct convolution in double over randomized shapes,
 * shape inference, gradients through autograd, and errors. */
#include "mxnet_fixtures.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------------- */

static const int64_t ONE2[2] = {1, 1};

/* Deterministic generator for the randomized shapes. */
static uint64_t rng_state;
static int64_t rnd(int64_t lo, int64_t hi)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int64_t)((rng_state >> 33) % (uint64_t)(hi - lo + 1));
}

/* ---- naive reference ----------------------------------------------------------------- */

/* A convolution in 2-D form (1-D: h = oh = kh = 1). */
typedef struct ncv {
    int nk;
    int64_t n, c, h, w, f, g, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
} ncv;

static double *values(am_array *x)
{
    int64_t n = x ? am_array_size(x) : 0;
    double *v = calloc((size_t)(n ? n : 1), sizeof(double));
    am_view w = x ? am_array_view(x) : (am_view){0};
    for (int64_t i = 0; i < n; i++) v[i] = am_view_get(&w, i);
    return v;
}

/* The seven loops: y = conv(x, w) + b and, from dy, the gradients dx, dw, db (each may be
 * NULL).  All arrays are dense doubles in NCHW order. */
static void naive(const ncv *p, const double *x, const double *w, const double *b,
                  const double *dy, double *y, double *dx, double *dw, double *db)
{
    int64_t cg = p->c / p->g, fg = p->f / p->g;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t f = 0; f < p->f; f++)
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    int64_t o = ((n * p->f + f) * p->oh + oy) * p->ow + ox;
                    double acc = b ? b[f] : 0, g = dy ? dy[o] : 0;
                    if (db) db[f] += g;
                    for (int64_t cc = 0; cc < cg; cc++)
                        for (int64_t ki = 0; ki < p->kh; ki++)
                            for (int64_t kj = 0; kj < p->kw; kj++) {
                                int64_t iy = oy * p->sh - p->ph + ki * p->dh;
                                int64_t ix = ox * p->sw - p->pw + kj * p->dw;
                                if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                                int64_t c = f / fg * cg + cc;
                                int64_t xi = ((n * p->c + c) * p->h + iy) * p->w + ix;
                                int64_t wi = ((f * cg + cc) * p->kh + ki) * p->kw + kj;
                                acc += x[xi] * w[wi];
                                if (dx) dx[xi] += w[wi] * g;
                                if (dw) dw[wi] += x[xi] * g;
                            }
                    if (y) y[o] = acc;
                }
}

/* True when a's values are within tol (relative to 1 + |ref|) of ref. */
static bool close_to(am_array *a, const double *ref, double tol, const char *what, int id)
{
    if (!a) {
        printf("\n  combo %d %s: NULL (%s)\n", id, what, am_last_error());
        return false;
    }
    am_view v = am_array_view(a);
    for (int64_t i = 0; i < am_view_size(&v); i++) {
        double got = am_view_get(&v, i);
        if (!(fabs(got - ref[i]) <= tol * (1 + fabs(ref[i])))) {
            printf("\n  combo %d %s[%lld]: %.9g, naive %.9g\n", id, what, (long long)i, got,
                   ref[i]);
            return false;
        }
    }
    return true;
}

/* Draws a random convolution: 1-D or 2-D, groups, kernel, stride, pad, dilation; every
 * eighth one is large enough to be split across threads. */
static ncv random_conv(void)
{
    ncv p = {.nk = (int)rnd(1, 2), .n = rnd(1, 3), .g = rnd(1, 3)};
    bool big = rnd(0, 7) == 0;
    p.c = p.g * (big ? 8 : rnd(1, 3)), p.f = p.g * (big ? 8 : rnd(1, 3));
    int64_t *k[2] = {&p.kh, &p.kw}, *s[2] = {&p.sh, &p.sw}, *pd[2] = {&p.ph, &p.pw};
    int64_t *d[2] = {&p.dh, &p.dw}, *sz[2] = {&p.h, &p.w}, *o[2] = {&p.oh, &p.ow};
    if (big) p.n = 4;
    for (int i = 0; i < 2; i++) {
        bool flat = p.nk == 1 && i == 0;
        *k[i] = flat ? 1 : rnd(1, 4), *s[i] = flat ? 1 : rnd(1, 3);
        *pd[i] = flat ? 0 : rnd(0, 2), *d[i] = flat ? 1 : rnd(1, 3);
        int64_t dk = 1 + (*k[i] - 1) * *d[i], lo = dk - 2 * *pd[i];
        *sz[i] = flat ? 1 : rnd(lo > 1 ? lo : 1, (lo > 1 ? lo : 1) + (big ? 12 : 6));
        *o[i] = (*sz[i] + 2 * *pd[i] - dk) / *s[i] + 1;
    }
    return p;
}

static am_shape shp(int nk, int64_t a, int64_t b, int64_t h, int64_t w)
{
    return nk == 2 ? AM_SHAPE(a, b, h, w) : AM_SHAPE(a, b, w);
}

/* ---- hand-checked values ------------------------------------------------------------- */

static void test_conv_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    am_array *w = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 0.5);
    const int64_t k[2] = {2, 2}, two[2] = {2, 2};
    /* 1*1 + 2*2 + 4*3 + 5*4 = 37 at the first position, and so on. */
    TU_ASSERT_VALUES(am_convolution(x, w, b, 2, k, NULL, NULL, NULL, 1, 1), AM_SHAPE(1, 1, 2, 2),
                     1e-6, 37.5, 47.5, 67.5, 77.5);
    /* Stride 2, pad 1: the corners see one, two or four pixels. */
    TU_ASSERT_VALUES(am_convolution(x, w, b, 2, k, two, ONE2, NULL, 1, 1), AM_SHAPE(1, 1, 2, 2),
                     1e-6, 4.5, 18.5, 36.5, 77.5);
    /* 1-D: [1, 0, -1] with pad 1 takes x[i-1] - x[i+1]; with dilate 2, pad 2: x[i-2] - x[i+2]. */
    am_array *x1 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 5), 1, 2, 3, 4, 5);
    am_array *w1 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 3), 1, 0, -1);
    const int64_t k3 = 3, p1 = 1, p2 = 2, d2 = 2;
    TU_ASSERT_VALUES(am_convolution(x1, w1, NULL, 1, &k3, NULL, &p1, NULL, 1, 1),
                     AM_SHAPE(1, 1, 5), 1e-12, -2, -2, -2, -2, 4);
    TU_ASSERT_VALUES(am_convolution(x1, w1, NULL, 1, &k3, NULL, &p2, &d2, 1, 1),
                     AM_SHAPE(1, 1, 5), 1e-12, -3, -4, -4, 2, 3);
    /* Two groups scale their own channel; one group mixes both. */
    am_array *xg = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2, 1, 2), 1, 2, 3, 4);
    am_array *wg = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 1, 1, 1), 10, 100);
    am_array *wm = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2, 1, 1), 1, 1, 1, -1);
    TU_ASSERT_VALUES(am_convolution(xg, wg, NULL, 2, ONE2, NULL, NULL, NULL, 2, 2),
                     AM_SHAPE(1, 2, 1, 2), 1e-6, 10, 20, 300, 400);
    TU_ASSERT_VALUES(am_convolution(xg, wm, NULL, 2, ONE2, NULL, NULL, NULL, 2, 1),
                     AM_SHAPE(1, 2, 1, 2), 1e-6, 4, 6, -2, -2);
    /* No input channels: the bias alone; an empty batch: an empty result. */
    am_array *x0 = am_zeros(AM_SHAPE(1, 0, 2, 2), AM_DTYPE_FLOAT32);
    am_array *w0 = am_zeros(AM_SHAPE(1, 0, 1, 1), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_convolution(x0, w0, b, 2, ONE2, NULL, NULL, NULL, 1, 1),
                     AM_SHAPE(1, 1, 2, 2), 1e-6, 0.5, 0.5, 0.5, 0.5);
    am_array *y0 = am_convolution(am_zeros(AM_SHAPE(0, 1, 3, 3), AM_DTYPE_FLOAT32), w, b, 2, k,
                                  NULL, NULL, NULL, 1, 1);
    CU_ASSERT(y0 && am_array_size(y0) == 0 && am_array_dim(y0, 1) == 1);
    am_scope_end();
}

static void test_conv_backward_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    am_array *w = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 0.5);
    am_array *dy = am_ones(AM_SHAPE(1, 1, 2, 2), AM_DTYPE_FLOAT32);
    am_array *in[4] = {dy, x, w, b}, *g[3] = {0};
    CU_ASSERT_EQUAL_FATAL(tu_invoke("_backward_Convolution", in, 4, "kernel|num_filter", "(2, 2)|1",
                                 g, 3), AM_OK);
    /* dx counts how often each pixel meets each weight; dw sums each weight's window. */
    TU_ASSERT_VALUES(g[0], AM_SHAPE(1, 1, 3, 3), 1e-6, 1, 3, 2, 4, 10, 6, 3, 7, 4);
    TU_ASSERT_VALUES(g[1], AM_SHAPE(1, 1, 2, 2), 1e-6, 12, 16, 24, 28);
    TU_ASSERT_VALUES(g[2], AM_SHAPE(1), 1e-6, 4);
    /* no_bias: two visible outputs. */
    CU_ASSERT_EQUAL(tu_invoke("_backward_Convolution", in, 3, "kernel|num_filter|no_bias",
                           "(2, 2)|1|True", g, 2), AM_OK);
    TU_ASSERT_VALUES(g[1], AM_SHAPE(1, 1, 2, 2), 1e-6, 12, 16, 24, 28);
    am_scope_end();
}

static void test_deconv_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2, 2), 1, 2, 3, 4);
    am_array *w = am_ones(AM_SHAPE(1, 1, 2, 2), AM_DTYPE_FLOAT32);
    const int64_t k[2] = {2, 2}, two[2] = {2, 2}, three[2] = {3, 3};
    /* Stride 1: the transpose of the counts above. */
    TU_ASSERT_VALUES(am_deconvolution(x, w, NULL, 2, k, NULL, NULL, NULL, NULL, NULL, 1, 1),
                     AM_SHAPE(1, 1, 3, 3), 1e-6, 1, 3, 2, 4, 10, 6, 3, 7, 4);
    /* Stride 2: each pixel becomes a 2x2 block. */
    TU_ASSERT_VALUES(am_deconvolution(x, w, NULL, 2, k, two, NULL, NULL, NULL, NULL, 1, 1),
                     AM_SHAPE(1, 1, 4, 4), 1e-6, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4);
    /* pad 1 crops a pixel from each side; adj 1 gives back one row and column at the end. */
    TU_ASSERT_VALUES(am_deconvolution(x, w, NULL, 2, k, two, ONE2, NULL, NULL, NULL, 1, 1),
                     AM_SHAPE(1, 1, 2, 2), 1e-6, 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_deconvolution(x, w, NULL, 2, k, two, ONE2, NULL, ONE2, NULL, 1, 1),
                     AM_SHAPE(1, 1, 3, 3), 1e-6, 1, 2, 2, 3, 4, 4, 3, 4, 4);
    /* target_shape 3: 4 - 3 = 1 is odd, so pad 1 and adj 1 as above (pad is ignored). */
    TU_ASSERT_VALUES(am_deconvolution(x, w, NULL, 2, k, two, two, NULL, NULL, three, 1, 1),
                     AM_SHAPE(1, 1, 3, 3), 1e-6, 1, 2, 2, 3, 4, 4, 3, 4, 4);
    /* 1-D with two output channels and a bias. */
    am_array *x1 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 3), 1, 2, 3);
    am_array *w1 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 2, 2), 1, 1, 1, -1);
    am_array *b1 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 0, 10);
    const int64_t k2 = 2, s2 = 2;
    TU_ASSERT_VALUES(am_deconvolution(x1, w1, b1, 1, &k2, &s2, NULL, NULL, NULL, NULL, 2, 1),
                     AM_SHAPE(1, 2, 6), 1e-12, 1, 1, 2, 2, 3, 3, 11, 9, 12, 8, 13, 7);
    am_scope_end();
}

/* ---- against the naive reference ----------------------------------------------------- */

static char *conv_attr_vals(const ncv *p, bool no_bias, char *buf, size_t n)
{
    if (p->nk == 2)
        snprintf(buf, n, "(%lld, %lld)|(%lld, %lld)|(%lld, %lld)|(%lld, %lld)|%lld|%lld|%s",
                 (long long)p->kh, (long long)p->kw, (long long)p->sh, (long long)p->sw,
                 (long long)p->ph, (long long)p->pw, (long long)p->dh, (long long)p->dw,
                 (long long)p->f, (long long)p->g, no_bias ? "True" : "False");
    else
        snprintf(buf, n, "(%lld,)|(%lld,)|(%lld,)|(%lld,)|%lld|%lld|%s", (long long)p->kw,
                 (long long)p->sw, (long long)p->pw, (long long)p->dw, (long long)p->f,
                 (long long)p->g, no_bias ? "True" : "False");
    return buf;
}

#define CONV_KEYS "kernel|stride|pad|dilate|num_filter|num_group|no_bias"

/* Forward and the three gradients of one random convolution against the naive loops. */
static int check_conv_combo(const ncv *p, int id, am_dtype dt, bool no_bias)
{
    char vals[256];
    double tol = dt == AM_DTYPE_FLOAT32 ? 1e-4 : 1e-10;
    am_shape xs = shp(p->nk, p->n, p->c, p->h, p->w);
    am_shape ws = shp(p->nk, p->f, p->c / p->g, p->kh, p->kw);
    am_shape ys = shp(p->nk, p->n, p->f, p->oh, p->ow);
    am_array *x = tu_random(xs, dt, -1, 1), *w = tu_random(ws, dt, -1, 1);
    am_array *b = no_bias ? NULL : tu_random(AM_SHAPE(p->f), dt, -1, 1);
    am_array *dy = tu_random(ys, dt, -1, 1), *y = NULL, *g[3] = {0}, *in[4] = {dy, x, w, b};
    conv_attr_vals(p, no_bias, vals, sizeof(vals));
    tu_invoke("Convolution", in + 1, no_bias ? 2 : 3, CONV_KEYS, vals, &y, 1);
    tu_invoke("_backward_Convolution", in, no_bias ? 3 : 4, CONV_KEYS, vals, g, no_bias ? 2 : 3);
    double *xv = values(x), *wv = values(w), *bv = values(b), *dyv = values(dy);
    double *yr = calloc((size_t)am_shape_size(&ys) + 1, sizeof(double));
    double *dxr = calloc((size_t)am_shape_size(&xs) + 1, sizeof(double));
    double *dwr = calloc((size_t)am_shape_size(&ws) + 1, sizeof(double));
    double *dbr = calloc((size_t)p->f, sizeof(double));
    naive(p, xv, wv, no_bias ? NULL : bv, dyv, yr, dxr, dwr, dbr);
    bool ok = close_to(y, yr, tol, "Convolution", id) && close_to(g[0], dxr, tol, "data grad", id)
              && close_to(g[1], dwr, tol, "weight grad", id)
              && (no_bias || close_to(g[2], dbr, tol, "bias grad", id));
    if (!ok) printf("  attrs %s, data %lldx%lld\n", vals, (long long)p->h, (long long)p->w);
    free(xv), free(wv), free(bv), free(dyv), free(yr), free(dxr), free(dwr), free(dbr);
    return ok ? 0 : 1;
}

static void test_conv_reference(void)
{
    int bad = 0, parallel = 0;
    rng_state = 12345;
    am_seed(99);
    for (int id = 0; id < 240; id++) {
        ncv p = random_conv();
        parallel += p.c >= 8;
        am_scope_begin();
        bad += check_conv_combo(&p, id, id % 3 ? AM_DTYPE_FLOAT32 : AM_DTYPE_FLOAT64,
                                rnd(0, 3) == 0);
        am_scope_end();
    }
    CU_ASSERT(parallel >= 20);
    CU_ASSERT_EQUAL(bad, 0);
}

/* Deconvolution of data (n, f, oh, ow) is the data gradient of the convolution p; its
 * gradients are p's forward (data) and weight gradient with the roles swapped. */
static int check_deconv_combo(const ncv *p, int id, am_dtype dt, const char *vals, bool no_bias)
{
    double tol = dt == AM_DTYPE_FLOAT32 ? 1e-4 : 1e-10;
    am_shape xs = shp(p->nk, p->n, p->f, p->oh, p->ow);
    am_shape ws = shp(p->nk, p->f, p->c / p->g, p->kh, p->kw);
    am_shape ys = shp(p->nk, p->n, p->c, p->h, p->w);
    am_array *x = tu_random(xs, dt, -1, 1), *w = tu_random(ws, dt, -1, 1);
    am_array *b = no_bias ? NULL : tu_random(AM_SHAPE(p->c), dt, -1, 1);
    am_array *dy = tu_random(ys, dt, -1, 1), *y = NULL, *g[3] = {0}, *in[4] = {dy, x, w, b};
    const char *keys = "kernel|stride|pad|dilate|adj|target_shape|num_filter|num_group|no_bias";
    tu_invoke("Deconvolution", in + 1, no_bias ? 2 : 3, keys, vals, &y, 1);
    tu_invoke("_backward_Deconvolution", in, no_bias ? 3 : 4, keys, vals, g, no_bias ? 2 : 3);
    double *xv = values(x), *wv = values(w), *bv = values(b), *dyv = values(dy);
    double *yr = calloc((size_t)am_shape_size(&ys) + 1, sizeof(double));
    double *dxr = calloc((size_t)am_shape_size(&xs) + 1, sizeof(double));
    double *dwr = calloc((size_t)am_shape_size(&ws) + 1, sizeof(double));
    double *dbr = calloc((size_t)p->c, sizeof(double));
    double *zero = calloc((size_t)am_shape_size(&ys) + 1, sizeof(double));
    naive(p, zero, wv, NULL, xv, NULL, yr, NULL, NULL);         /* y = conv data grad of x */
    for (int64_t i = 0; !no_bias && i < am_shape_size(&ys); i++)
        yr[i] += bv[i / (p->h * p->w) % p->c];
    naive(p, dyv, wv, NULL, xv, dxr, NULL, dwr, NULL);          /* dx = conv(dy), dw */
    for (int64_t i = 0; i < am_shape_size(&ys); i++) dbr[i / (p->h * p->w) % p->c] += dyv[i];
    bool ok = close_to(y, yr, tol, "Deconvolution", id) && close_to(g[0], dxr, tol, "data grad", id)
              && close_to(g[1], dwr, tol, "weight grad", id)
              && (no_bias || close_to(g[2], dbr, tol, "bias grad", id));
    if (!ok) printf("  attrs %s\n", vals);
    free(zero);
    free(xv), free(wv), free(bv), free(dyv), free(yr), free(dxr), free(dwr), free(dbr);
    return ok ? 0 : 1;
}

/* A random deconvolution: a convolution p whose input size comes from adj, or from
 * target_shape (which sets pad and adj the way MXNet's InferPad does). */
static void random_deconv(ncv *p, char vals[256], bool *no_bias)
{
    *p = random_conv();
    int64_t adj[2] = {0, 0}, ts[2] = {0, 0}, *pd[2] = {&p->ph, &p->pw}, *s[2] = {&p->sh, &p->sw};
    int64_t *k[2] = {&p->kh, &p->kw}, *d[2] = {&p->dh, &p->dw}, *sz[2] = {&p->h, &p->w};
    int64_t in[2] = {p->oh, p->ow};
    bool target = rnd(0, 2) == 0;
    for (int i = 2 - p->nk; i < 2; i++) {
        int64_t full = *s[i] * (in[i] - 1) + 1 + (*k[i] - 1) * *d[i];
        if (target) {
            ts[i] = full - rnd(0, 2 * *s[i] - 1 < full - 1 ? 2 * *s[i] - 1 : full - 1);
            int64_t excess = full - ts[i];
            adj[i] = excess % 2, *pd[i] = (excess + 1) / 2;
            if (adj[i] >= *s[i]) ts[i] = full - (excess - 1), adj[i] = 0, *pd[i] = (excess - 1) / 2;
        } else {
            adj[i] = rnd(0, *s[i] - 1);
            while (full - 2 * *pd[i] + adj[i] < 1) (*pd[i])--;
        }
        *sz[i] = full - 2 * *pd[i] + adj[i];
    }
    *no_bias = rnd(0, 1);
    char kb[6][32];
    const int64_t *tv[6] = {(int64_t[]){p->kh, p->kw}, (int64_t[]){p->sh, p->sw},
                            (int64_t[]){p->ph, p->pw}, (int64_t[]){p->dh, p->dw}, adj, ts};
    for (int t = 0; t < 6; t++)
        snprintf(kb[t], sizeof(kb[t]), p->nk == 2 ? "(%d, %d)" : "(%d,)",
                 (int)tv[t][p->nk == 2 ? 0 : 1], (int)tv[t][1]);
    if (target) strcpy(kb[4], "()");
    else strcpy(kb[5], "()");
    snprintf(vals, 256, "%s|%s|%s|%s|%s|%s|%d|%d|%s", kb[0], kb[1], kb[2], kb[3], kb[4], kb[5],
             (int)p->c, (int)p->g, *no_bias ? "True" : "False");
}

static void test_deconv_reference(void)
{
    int bad = 0;
    rng_state = 777;
    am_seed(98);
    for (int id = 0; id < 120; id++) {
        ncv p;
        char vals[256];
        bool no_bias;
        random_deconv(&p, vals, &no_bias);
        am_scope_begin();
        bad += check_deconv_combo(&p, id, id % 2 ? AM_DTYPE_FLOAT32 : AM_DTYPE_FLOAT64, vals,
                                  no_bias);
        am_scope_end();
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Serial slices (workspace=0: one image at a time with threaded GEMMs) and parallel slices
 * give the naive result on a batch that does not split evenly. */
static void test_conv_slices(void)
{
    am_scope_begin();
    ncv p = {.nk = 2, .n = 5, .c = 16, .h = 15, .w = 13, .f = 12, .g = 2, .kh = 3, .kw = 3,
             .sh = 1, .sw = 2, .ph = 1, .pw = 0, .dh = 1, .dw = 2};
    p.oh = (p.h + 2 * p.ph - 3) / p.sh + 1, p.ow = (p.w + 2 * p.pw - 5) / p.sw + 1;
    am_array *x = tu_random(AM_SHAPE(5, 16, 15, 13), AM_DTYPE_FLOAT32, -1, 1);
    am_array *w = tu_random(AM_SHAPE(12, 8, 3, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_array *dy = tu_random(AM_SHAPE(5, 12, p.oh, p.ow), AM_DTYPE_FLOAT32, -1, 1);
    double *xv = values(x), *wv = values(w), *dyv = values(dy);
    double *yr = calloc(5 * 12 * (size_t)(p.oh * p.ow), sizeof(double));
    double *dxr = calloc(5 * 16 * 15 * 13, sizeof(double));
    double *dwr = calloc(12 * 8 * 9, sizeof(double));
    naive(&p, xv, wv, NULL, dyv, yr, dxr, dwr, NULL);
    const char *keys = "kernel|stride|pad|dilate|num_filter|num_group|no_bias|workspace";
    const char *ws[2] = {"0", "1024"};
    for (int i = 0; i < 2; i++) {
        char vals[128];
        snprintf(vals, sizeof(vals), "(3, 3)|(1, 2)|(1, 0)|(1, 2)|12|2|True|%s", ws[i]);
        am_array *in[3] = {dy, x, w}, *y = NULL, *g[2] = {0};
        CU_ASSERT_EQUAL(tu_invoke("Convolution", in + 1, 2, keys, vals, &y, 1), AM_OK);
        CU_ASSERT_EQUAL(tu_invoke("_backward_Convolution", in, 3, keys, vals, g, 2), AM_OK);
        CU_ASSERT(close_to(y, yr, 1e-4, "Convolution", i));
        CU_ASSERT(close_to(g[0], dxr, 1e-4, "data grad", i));
        CU_ASSERT(close_to(g[1], dwr, 1e-4, "weight grad", i));
    }
    free(xv), free(wv), free(dyv), free(yr), free(dxr), free(dwr);
    am_scope_end();
}

/* Images wide and deep enough that im2col and col2im run in several bands of output rows:
 * the shifted-plane path (stride 1, same width) and the row-by-row path. */
static void test_conv_bands(void)
{
    static const ncv convs[] = {
        {.nk = 2, .n = 2, .c = 64, .h = 20, .w = 64, .f = 4, .g = 1, .oh = 20, .ow = 64,
         .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1},
        {.nk = 2, .n = 1, .c = 64, .h = 20, .w = 64, .f = 6, .g = 2, .oh = 20, .ow = 31,
         .kh = 3, .kw = 3, .sh = 1, .sw = 2, .ph = 2, .pw = 0, .dh = 2, .dw = 1},
        {.nk = 2, .n = 1, .c = 48, .h = 23, .w = 70, .f = 3, .g = 3, .oh = 12, .ow = 70,
         .kh = 3, .kw = 5, .sh = 2, .sw = 1, .ph = 1, .pw = 4, .dh = 1, .dw = 2},
    };
    for (int i = 0; i < 3; i++) {
        am_scope_begin();
        CU_ASSERT_EQUAL(check_conv_combo(&convs[i], 1000 + i, AM_DTYPE_FLOAT32, i == 1), 0);
        am_scope_end();
    }
    /* Deconvolution bands run over its input's rows. */
    static const char *const vals[] = {
        "(3, 3)|(1, 1)|(1, 1)|(1, 1)|()|()|64|1|False",
        "(3, 3)|(1, 2)|(2, 0)|(2, 1)|(0, 1)|()|64|2|True",
    };
    ncv d0 = convs[0], d1 = convs[1];
    d0.n = 1;
    d1.w = 2 * (31 - 1) + 3 + 1; /* stride 2, kernel 3, adj 1: 64 */
    const ncv *decs[2] = {&d0, &d1};
    for (int i = 0; i < 2; i++) {
        am_scope_begin();
        CU_ASSERT_EQUAL(check_deconv_combo(decs[i], 1010 + i, AM_DTYPE_FLOAT32, vals[i], i == 1),
                        0);
        am_scope_end();
    }
}

/* Depthwise (one input channel per group, here with 1 or 2 filters each) takes direct loops
 * instead of GEMMs; large enough to run over threads, and as Deconvolution. */
static void test_depthwise(void)
{
    static const ncv convs[] = {
        {.nk = 2, .n = 4, .c = 32, .h = 24, .w = 24, .f = 64, .g = 32, .oh = 24, .ow = 24,
         .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1},
        {.nk = 2, .n = 3, .c = 8, .h = 17, .w = 16, .f = 8, .g = 8, .oh = 8, .ow = 6,
         .kh = 3, .kw = 2, .sh = 2, .sw = 3, .ph = 1, .pw = 2, .dh = 2, .dw = 3},
        {.nk = 1, .n = 2, .c = 6, .h = 1, .w = 30, .f = 12, .g = 6, .oh = 1, .ow = 13,
         .kh = 1, .kw = 5, .sh = 1, .sw = 2, .ph = 0, .pw = 0, .dh = 1, .dw = 1},
    };
    for (int i = 0; i < 3; i++) {
        am_scope_begin();
        am_dtype dt = i == 1 ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        CU_ASSERT_EQUAL(check_conv_combo(&convs[i], 2000 + i, dt, i == 2), 0);
        am_scope_end();
    }
    /* Deconvolution from 64 channels to 32, one per group (weight (64, 1, 3, 3)). */
    ncv d = {.nk = 2, .n = 2, .c = 32, .h = 24, .w = 24, .f = 64, .g = 32, .oh = 12, .ow = 12,
             .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1};
    am_scope_begin();
    CU_ASSERT_EQUAL(check_deconv_combo(&d, 2010, AM_DTYPE_FLOAT32,
                                       "(3, 3)|(2, 2)|(1, 1)|(1, 1)|(1, 1)|()|32|32|False", false),
                    0);
    am_scope_end();
}

/* The gradient functions through autograd agree with the naive loops. */
static void test_conv_autograd(void)
{
    rng_state = 4321;
    for (int id = 0; id < 12; id++) {
        am_scope_begin();
        ncv p = random_conv();
        am_dtype dt = AM_DTYPE_FLOAT64;
        am_array *x = tu_random(shp(p.nk, p.n, p.c, p.h, p.w), dt, -1, 1);
        am_array *w = tu_random(shp(p.nk, p.f, p.c / p.g, p.kh, p.kw), dt, -1, 1);
        am_array *b = tu_random(AM_SHAPE(p.f), dt, -1, 1);
        am_array *dy = tu_random(shp(p.nk, p.n, p.f, p.oh, p.ow), dt, -1, 1);
        am_attach_grad(x, AM_GRAD_WRITE), am_attach_grad(w, AM_GRAD_WRITE);
        am_attach_grad(b, AM_GRAD_WRITE);
        const int64_t k[2] = {p.kh, p.kw}, s[2] = {p.sh, p.sw}, pd[2] = {p.ph, p.pw};
        const int64_t d[2] = {p.dh, p.dw};
        int o = 2 - p.nk;
        am_autograd_record_begin(true);
        am_array *y = am_convolution(x, w, b, p.nk, k + o, s + o, pd + o, d + o, p.f, p.g);
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward_at(y, dy, false, AM_HERE), AM_OK);
        double *xv = values(x), *wv = values(w), *dyv = values(dy);
        double *dxr = calloc((size_t)am_array_size(x), sizeof(double));
        double *dwr = calloc((size_t)am_array_size(w), sizeof(double));
        double *dbr = calloc((size_t)p.f, sizeof(double));
        naive(&p, xv, wv, NULL, dyv, NULL, dxr, dwr, dbr);
        CU_ASSERT(close_to(am_grad(x), dxr, 1e-10, "autograd data", id));
        CU_ASSERT(close_to(am_grad(w), dwr, 1e-10, "autograd weight", id));
        CU_ASSERT(close_to(am_grad(b), dbr, 1e-10, "autograd bias", id));
        free(xv), free(wv), free(dyv), free(dxr), free(dwr), free(dbr);
        am_scope_end();
    }
}

/* Deconvolution through autograd: its data gradient is a convolution of the head gradient. */
static void test_deconv_autograd(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 4, 3, 3), AM_DTYPE_FLOAT64, -1, 1);
    am_array *w = tu_random(AM_SHAPE(4, 3, 3, 3), AM_DTYPE_FLOAT64, -1, 1);
    am_array *b = tu_random(AM_SHAPE(3), AM_DTYPE_FLOAT64, -1, 1);
    am_attach_grad(x, AM_GRAD_WRITE), am_attach_grad(w, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    const int64_t k[2] = {3, 3}, s[2] = {2, 2};
    am_autograd_record_begin(true);
    am_array *y = am_deconvolution(x, w, b, 2, k, s, ONE2, NULL, ONE2, NULL, 3, 1);
    am_autograd_end();
    am_array *dy = tu_random(am_array_shape(y), AM_DTYPE_FLOAT64, -1, 1);
    CU_ASSERT_EQUAL(am_array_dim(y, 2), 6); /* 2 * 2 + 3 - 2 + 1 */
    CU_ASSERT_EQUAL_FATAL(am_backward_at(y, dy, false, AM_HERE), AM_OK);
    /* d loss / d x = Convolution(dy, w) without bias; d loss / d b sums dy per channel. */
    am_array *dx = am_convolution(dy, w, NULL, 2, k, s, ONE2, NULL, 4, 1);
    CU_ASSERT(tu_allclose(am_grad(x), dx, 1e-12));
    const int axes[3] = {0, 2, 3};
    CU_ASSERT(tu_allclose(am_grad(b), am_sum(dy, axes, 3, false), 1e-12));
    am_scope_end();
}

/* The _backward_ ops are not differentiable (as in MXNet): a gradient taken with
 * create_graph is right to first order but is not recorded. */
static void test_second_order(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(1, 2, 4, 4), AM_DTYPE_FLOAT64, -1, 1);
    am_array *w = tu_random(AM_SHAPE(3, 2, 3, 3), AM_DTYPE_FLOAT64, -1, 1);
    am_attach_grad(x, AM_GRAD_WRITE);
    const int64_t k[2] = {3, 3};
    am_autograd_record_begin(true);
    am_array *y = am_convolution(x, w, NULL, 2, k, NULL, NULL, NULL, 3, 1);
    am_array *gx = NULL;
    CU_ASSERT_EQUAL_FATAL(am_grad_of(&y, NULL, 1, &x, 1, true, true, &gx), AM_OK);
    am_autograd_end();
    am_array *in[3] = {am_ones(AM_SHAPE(1, 3, 2, 2), AM_DTYPE_FLOAT64), x, w}, *g[2];
    CU_ASSERT_EQUAL(tu_invoke("_backward_Convolution", in, 3, "kernel|num_filter|no_bias",
                           "(3, 3)|3|True", g, 2), AM_OK);
    CU_ASSERT(tu_allclose(gx, g[0], 1e-12));
    TU_ASSERT_FAILS(am_backward(gx) == AM_OK, AM_ERR_ARG, "not recorded");
    CU_ASSERT(am_op_find("_backward_Convolution")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(am_op_find("_backward_Deconvolution")->flags & AM_OP_NO_GRAD);
    CU_ASSERT_PTR_NOT_NULL(am_op_find("Convolution")->gradient);
    CU_ASSERT_PTR_NOT_NULL(am_op_find("Deconvolution")->gradient);
    am_scope_end();
}

/* ---- shape inference and attributes -------------------------------------------------- */

static void *parse(const char *op, const char *keys, const char *vals)
{
    const char *k[16], *v[16];
    char kb[256], vb[256];
    int n = 0;
    snprintf(kb, sizeof(kb), "%s", keys), snprintf(vb, sizeof(vb), "%s", vals);
    for (char *sk = NULL, *sv = NULL, *a = strtok_r(kb, "|", &sk), *b = strtok_r(vb, "|", &sv);
         a && b; a = strtok_r(NULL, "|", &sk), b = strtok_r(NULL, "|", &sv))
        k[n] = a, v[n++] = b;
    return am_attrs_parse(am_op_find(op), k, v, n);
}

static bool shape_is(am_shape s, am_shape want)
{
    bool same = s.ndim == want.ndim;
    for (int i = 0; same && i < s.ndim; i++) same = s.dim[i] == want.dim[i];
    return same;
}

static void test_shape_inference(void)
{
    const am_op_def *op = am_op_find("Convolution");
    void *a = parse("Convolution", "kernel|num_filter|num_group", "(3, 3)|8|2");
    am_shape in[4] = {AM_SHAPE(2, 4, 10, 9), {.ndim = -1}, {.ndim = -1}}, out[3];
    CU_ASSERT_EQUAL(op->infer_shape(a, in, 3, out, 1), AM_OK);
    CU_ASSERT(shape_is(in[1], AM_SHAPE(8, 2, 3, 3)));
    CU_ASSERT(shape_is(in[2], AM_SHAPE(8)));
    CU_ASSERT(shape_is(out[0], AM_SHAPE(2, 8, 8, 7)));
    CU_ASSERT_EQUAL(am_op_num_inputs(op, a), 3);
    free(a);
    /* 1-D, no_bias: two inputs. */
    a = parse("Convolution", "kernel|stride|pad|num_filter|no_bias", "(5,)|(2,)|(1,)|3|True");
    in[0] = AM_SHAPE(1, 2, 11), in[1].ndim = -1;
    CU_ASSERT_EQUAL(op->infer_shape(a, in, 2, out, 1), AM_OK);
    CU_ASSERT(shape_is(in[1], AM_SHAPE(3, 2, 5)));
    CU_ASSERT(shape_is(out[0], AM_SHAPE(1, 3, 5)));
    CU_ASSERT_EQUAL(am_op_num_inputs(op, a), 2);
    /* The backward op fills its out_grad and has one hidden output. */
    const am_op_def *bw = am_op_find("_backward_Convolution");
    am_shape bin[3] = {{.ndim = -1}, AM_SHAPE(1, 2, 11), AM_SHAPE(3, 2, 5)};
    CU_ASSERT_EQUAL(bw->infer_shape(a, bin, 3, out, 3), AM_OK);
    CU_ASSERT(shape_is(bin[0], AM_SHAPE(1, 3, 5)) && shape_is(out[1], AM_SHAPE(3, 2, 5)));
    CU_ASSERT(shape_is(out[2], AM_SHAPE(0)));
    CU_ASSERT_EQUAL(am_op_num_visible(bw, a), 2);
    free(a);
    /* Deconvolution: weight (C_in, num_filter / num_group, kh, kw). */
    const am_op_def *dop = am_op_find("Deconvolution");
    a = parse("Deconvolution", "kernel|num_filter|num_group|no_bias", "(3, 3)|6|2|False");
    in[0] = AM_SHAPE(1, 4, 5, 5), in[1].ndim = in[2].ndim = -1;
    CU_ASSERT_EQUAL(dop->infer_shape(a, in, 3, out, 1), AM_OK);
    CU_ASSERT(shape_is(in[1], AM_SHAPE(4, 3, 3, 3)) && shape_is(in[2], AM_SHAPE(6)));
    CU_ASSERT(shape_is(out[0], AM_SHAPE(1, 6, 7, 7)));
    free(a);
}

static void test_attributes(void)
{
    static const char *const conv_defaults[][2] = {
        {"stride", "()"}, {"dilate", "()"}, {"pad", "()"}, {"num_group", "1"},
        {"workspace", "1024"}, {"no_bias", "False"}, {"cudnn_tune", "None"},
        {"cudnn_off", "False"}, {"layout", "None"}};
    static const char *const deconv_defaults[][2] = {
        {"adj", "()"}, {"target_shape", "()"}, {"workspace", "512"}, {"no_bias", "True"},
        {"layout", "None"}};
    const am_op_def *ops[2] = {am_op_find("Convolution"), am_op_find("Deconvolution")};
    for (int o = 0; o < 2; o++) {
        void *a = parse(ops[o]->name, "kernel|num_filter", "(3, 3)|4");
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        int n = o ? 5 : 9;
        for (int i = 0; i < n; i++) {
            const char *key = o ? deconv_defaults[i][0] : conv_defaults[i][0];
            const char *want = o ? deconv_defaults[i][1] : conv_defaults[i][1];
            const am_attr_field *f = ops[o]->attrs;
            while (f->name && strcmp(f->name, key) != 0) f++;
            char buf[64];
            CU_ASSERT_PTR_NOT_NULL_FATAL(f->name);
            CU_ASSERT_STRING_EQUAL(am_attr_format(f, a, buf, sizeof(buf)), want);
        }
        free(a);
    }
    CU_ASSERT_PTR_EQUAL(am_op_find("_npx_convolution"), ops[0]);
    CU_ASSERT_PTR_EQUAL(am_op_find("_npx_deconvolution"), ops[1]);
    TU_ASSERT_FAILS(parse("Convolution", "kernel|num_filter", "(3, 3)"), AM_ERR_ARG, "num_filter");
    TU_ASSERT_FAILS(parse("Convolution", "kernel|num_filter|cudnn_tune", "(3, 3)|2|slow"),
                    AM_ERR_FORMAT, "cudnn_tune");
    TU_ASSERT_FAILS(parse("Convolution", "kernel|num_filter|layout", "(3, 3)|2|NWC"),
                    AM_ERR_FORMAT, "layout");
}

/* ---- errors -------------------------------------------------------------------------- */

static am_array *conv_str(am_array *x, am_array *w, am_array *b, const char *keys,
                          const char *vals)
{
    am_array *in[3] = {x, w, b}, *y = NULL;
    return tu_invoke("Convolution", in, b ? 3 : 2, keys, vals, &y, 1) == AM_OK ? y : NULL;
}

static void test_conv_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 3, 5, 5), AM_DTYPE_FLOAT32);
    am_array *w = am_zeros(AM_SHAPE(4, 3, 3, 3), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT32);
    const int64_t k[2] = {3, 3}, k7[2] = {7, 7}, zero[2] = {0, 1}, dil3[2] = {3, 1};
    TU_ASSERT_FAILS(am_convolution(x, w, b, 2, k, NULL, NULL, NULL, 4, 2), AM_ERR_SHAPE,
                    "data (1, 3, 5, 5) has 3 channels, not divisible by num_group 2");
    TU_ASSERT_FAILS(am_convolution(x, am_zeros(AM_SHAPE(4, 1, 3, 3), AM_DTYPE_FLOAT32), NULL, 2,
                                   k, NULL, NULL, NULL, 4, 3),
                    AM_ERR_ARG, "num_filter 4 is not divisible by num_group 3");
    TU_ASSERT_FAILS(am_convolution(x, w, b, 2, k7, NULL, NULL, NULL, 4, 1), AM_ERR_SHAPE,
                    "kernel (7, 7) with dilate spans 7, more than data (1, 3, 5, 5) padded to 5");
    CU_ASSERT_PTR_NOT_NULL(am_convolution(x, am_zeros(AM_SHAPE(4, 3, 7, 7), AM_DTYPE_FLOAT32), b,
                                          2, k7, NULL, ONE2, NULL, 4, 1));
    TU_ASSERT_FAILS(am_convolution(x, w, b, 2, k, NULL, NULL, dil3, 4, 1),
                    AM_ERR_SHAPE, "spans 7");
    TU_ASSERT_FAILS(am_convolution(x, am_zeros(AM_SHAPE(4, 2, 3, 3), AM_DTYPE_FLOAT32), b, 2, k,
                                   NULL, NULL, NULL, 4, 1),
                    AM_ERR_SHAPE, "weight (4, 2, 3, 3) does not match (4, 3, 3, 3) for data "
                                  "(1, 3, 5, 5) with num_filter 4, num_group 1, kernel (3, 3)");
    TU_ASSERT_FAILS(am_convolution(x, w, am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32), 2, k, NULL,
                                   NULL, NULL, 4, 1),
                    AM_ERR_SHAPE, "bias (3,) does not match (4,)");
    TU_ASSERT_FAILS(am_convolution(am_zeros(AM_SHAPE(1, 3, 5), AM_DTYPE_FLOAT32), w, b, 2, k,
                                   NULL, NULL, NULL, 4, 1),
                    AM_ERR_SHAPE, "data (1, 3, 5) must be 4-D (N, C, H, W) for the 2-D kernel");
    TU_ASSERT_FAILS(am_convolution(x, w, b, 2, k, zero, NULL, NULL, 4, 1), AM_ERR_ARG,
                    "stride (0, 1) must have entries of at least 1");
    TU_ASSERT_FAILS(am_convolution(x, w, b, 0, k, NULL, NULL, NULL, 4, 1), AM_ERR_ARG,
                    "Convolution: kernel must have 1, 2 or 3 entries, got 0");
    TU_ASSERT_FAILS(am_convolution(x, w, b, 2, k, NULL, NULL, NULL, 0, 1), AM_ERR_ARG,
                    "num_filter must be at least 1");
    am_scope_end();
}

/* Layouts (NCW/NCHW/NCDHW by kernel rank; channels-last is not supported), attribute
 * ranks and ranges, dtypes, the backward op's out_grad, and NULL inputs. */
static void test_conv_attr_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 3, 5, 5), AM_DTYPE_FLOAT32);
    am_array *w = am_zeros(AM_SHAPE(4, 3, 3, 3), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT32);
    const int64_t k[2] = {3, 3};
    const char *kf = "kernel|num_filter|no_bias";
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|layout", "(3, 3)|4|NHWC"),
                    AM_ERR_UNSUPPORTED, "layout NHWC is not supported");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|layout", "(3, 3)|4|NDHWC"),
                    AM_ERR_UNSUPPORTED, "layout NDHWC is not supported");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|layout", "(3, 3)|4|NCDHW"),
                    AM_ERR_ARG, "layout NCDHW does not fit a 2-D kernel (use NCHW)");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|layout", "(3, 3, 3)|4|NCHW"),
                    AM_ERR_ARG, "layout NCHW does not fit a 3-D kernel (use NCDHW)");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|layout", "(3, 3)|4|NCW"), AM_ERR_ARG,
                    "layout NCW does not fit a 2-D kernel (use NCHW)");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter", "(3, 3, 3)|4"), AM_ERR_SHAPE,
                    "data (1, 3, 5, 5) must be 5-D (N, C, D, H, W) for the 3-D kernel (3, 3, 3)");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter", "(3, 3, 3, 3)|4"), AM_ERR_ARG,
                    "kernel (3, 3, 3, 3) must have 1, 2 or 3 entries");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|stride", "(3, 3)|4|(1, 1, 1)"),
                    AM_ERR_ARG, "stride (1, 1, 1) must have 2 entries, as kernel (3, 3) has");
    TU_ASSERT_FAILS(conv_str(x, w, b, "kernel|num_filter|pad", "(3, 3)|4|(-1, 0)"), AM_ERR_ARG,
                    "pad (-1, 0) must have entries of at least 0");
    TU_ASSERT_FAILS(conv_str(x, w, NULL, kf, "(3, 3)|4|False"), AM_ERR_ARG,
                    "expects 3 inputs, got 2");
    /* dtypes */
    TU_ASSERT_FAILS(am_convolution(am_zeros(AM_SHAPE(1, 3, 5, 5), AM_DTYPE_INT32),
                                   am_zeros(AM_SHAPE(4, 3, 3, 3), AM_DTYPE_INT32), NULL, 2, k,
                                   NULL, NULL, NULL, 4, 1),
                    AM_ERR_DTYPE, "int32 data not supported (float32 or float64 only)");
    TU_ASSERT_FAILS(am_convolution(x, am_zeros(AM_SHAPE(4, 3, 3, 3), AM_DTYPE_FLOAT64), NULL, 2,
                                   k, NULL, NULL, NULL, 4, 1),
                    AM_ERR_DTYPE, "weight is float64 but data is float32");
    /* The backward op checks out_grad against the forward output. */
    am_array *in[4] = {am_zeros(AM_SHAPE(1, 4, 2, 3), AM_DTYPE_FLOAT32), x, w, b}, *g[3];
    TU_ASSERT_FAILS(tu_invoke("_backward_Convolution", in, 4, "kernel|num_filter", "(3, 3)|4", g,
                           3) == AM_OK,
                    AM_ERR_SHAPE, "out_grad (1, 4, 2, 3) does not match the output (1, 4, 3, 3)");
    /* A NULL input keeps the first message. */
    am_clear_error();
    am_array *bad = am_convolution(x, w, b, 2, k, NULL, NULL, NULL, 4, 2);
    CU_ASSERT_PTR_NULL(am_convolution(bad, w, b, 2, k, NULL, NULL, NULL, 4, 1));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "num_group 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "test_ops_conv.c"));
    am_clear_error();
    am_scope_end();
}

static void test_deconv_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 4, 3, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_zeros(AM_SHAPE(4, 2, 3, 3), AM_DTYPE_FLOAT32);
    const int64_t k[2] = {3, 3}, two[2] = {2, 2}, big[2] = {20, 5}, pad30[2] = {3, 0};
    TU_ASSERT_FAILS(am_deconvolution(x, w, NULL, 2, k, two, NULL, NULL, two, NULL, 2, 1),
                    AM_ERR_ARG, "adj 2 must be smaller than stride (2, 2)");
    TU_ASSERT_FAILS(am_deconvolution(x, w, NULL, 2, k, NULL, ONE2, NULL, ONE2, NULL, 2, 1),
                    AM_ERR_ARG, "adj 1 must be smaller than stride ()");
    TU_ASSERT_FAILS(am_deconvolution(x, w, NULL, 2, k, two, NULL, NULL, NULL, big, 2, 1),
                    AM_ERR_SHAPE, "target_shape (20, 5) is too big for data (1, 4, 3, 3) "
                                  "(at most 7)");
    TU_ASSERT_FAILS(am_deconvolution(x, w, NULL, 2, k, NULL, pad30, NULL, NULL, NULL, 2, 1),
                    AM_ERR_SHAPE, "pad (3, 0) leaves no output for data (1, 4, 3, 3)");
    TU_ASSERT_FAILS(am_deconvolution(x, am_zeros(AM_SHAPE(4, 3, 3, 3), AM_DTYPE_FLOAT32), NULL, 2,
                                     k, NULL, NULL, NULL, NULL, NULL, 2, 1),
                    AM_ERR_SHAPE, "weight (4, 3, 3, 3) does not match (4, 2, 3, 3)");
    TU_ASSERT_FAILS(am_deconvolution(x, w, NULL, 2, k, NULL, NULL, NULL, NULL, NULL, 4, 3),
                    AM_ERR_SHAPE, "data (1, 4, 3, 3) has 4 channels, not divisible by num_group 3");
    am_array *in[2] = {x, w}, *y;
    TU_ASSERT_FAILS(tu_invoke("Deconvolution", in, 2, "kernel|num_filter|target_shape",
                           "(3, 3)|2|(5,)", &y, 1) == AM_OK,
                    AM_ERR_ARG, "target_shape (5,) must have 2 entries");
    TU_ASSERT_FAILS(tu_invoke("Deconvolution", in, 2, "kernel|num_filter|layout", "(3, 3)|2|NHWC",
                           &y, 1) == AM_OK,
                    AM_ERR_UNSUPPORTED, "layout NHWC is not supported");
    am_scope_end();
}

/* ---- 3-D ----------------------------------------------------------------------------- */

/* A 3-D convolution (NCDHW): sizes, kernel, stride, pad, dilation as (d, h, w). */
typedef struct ncv3 {
    int64_t n, c, f, g, in[3], out[3], k[3], s[3], p[3], d[3];
} ncv3;

/* y = conv(x, w) and, from dy, dx and dw (each may be NULL), in double. */
static void naive3(const ncv3 *q, const double *x, const double *w, const double *dy, double *y,
                   double *dx, double *dw)
{
    const int64_t cg = q->c / q->g, fg = q->f / q->g, osz = q->out[0] * q->out[1] * q->out[2];
    const int64_t isz = q->in[0] * q->in[1] * q->in[2], ksz = q->k[0] * q->k[1] * q->k[2];
    for (int64_t n = 0; n < q->n; n++)
        for (int64_t f = 0; f < q->f; f++)
            for (int64_t o = 0; o < osz; o++) {
                const int64_t oz = o / (q->out[1] * q->out[2]), oy = o / q->out[2] % q->out[1];
                const int64_t ox = o % q->out[2], yi = (n * q->f + f) * osz + o;
                double acc = 0, g = dy ? dy[yi] : 0;
                for (int64_t cc = 0; cc < cg; cc++)
                    for (int64_t t = 0; t < ksz; t++) {
                        const int64_t kz = t / (q->k[1] * q->k[2]), ky = t / q->k[2] % q->k[1];
                        const int64_t kx = t % q->k[2];
                        const int64_t iz = oz * q->s[0] - q->p[0] + kz * q->d[0];
                        const int64_t iy = oy * q->s[1] - q->p[1] + ky * q->d[1];
                        const int64_t ix = ox * q->s[2] - q->p[2] + kx * q->d[2];
                        if (iz < 0 || iz >= q->in[0] || iy < 0 || iy >= q->in[1] || ix < 0 ||
                            ix >= q->in[2])
                            continue;
                        const int64_t c = f / fg * cg + cc;
                        const int64_t xi = (n * q->c + c) * isz +
                                           (iz * q->in[1] + iy) * q->in[2] + ix;
                        const int64_t wi = (f * cg + cc) * ksz + t;
                        acc += x[xi] * w[wi];
                        if (dx) dx[xi] += w[wi] * g;
                        if (dw) dw[wi] += x[xi] * g;
                    }
                if (y) y[yi] = acc;
            }
}

static void tuple3(char *buf, size_t n, const int64_t v[3])
{
    snprintf(buf, n, "(%lld, %lld, %lld)", (long long)v[0], (long long)v[1], (long long)v[2]);
}

/* All four ops of one 3-D geometry against naive3, with workspace ws: Convolution and its
 * backward; Deconvolution of dy with the same weight (the convolution's data gradient, adj
 * making up the sizes) and its backward, whose data gradient is a convolution of its
 * out_grad and whose weight gradient pairs that out_grad with dy. */
static void check_conv3(const ncv3 *q, const char *ws, int id)
{
    am_scope_begin();
    am_shape xs = AM_SHAPE(q->n, q->c, q->in[0], q->in[1], q->in[2]);
    am_shape ys = AM_SHAPE(q->n, q->f, q->out[0], q->out[1], q->out[2]);
    am_shape wsh = AM_SHAPE(q->f, q->c / q->g, q->k[0], q->k[1], q->k[2]);
    am_array *x = tu_random(xs, AM_DTYPE_FLOAT32, -1, 1), *w = tu_random(wsh, AM_DTYPE_FLOAT32, -1, 1);
    am_array *dy = tu_random(ys, AM_DTYPE_FLOAT32, -1, 1);
    double *xv = values(x), *wv = values(w), *dyv = values(dy);
    const size_t nx = (size_t)am_array_size(x), ny = (size_t)am_array_size(dy);
    const size_t nw = (size_t)am_array_size(w);
    double *yr = calloc(ny, sizeof(double)), *dxr = calloc(nx, sizeof(double));
    double *dwr = calloc(nw, sizeof(double));
    naive3(q, xv, wv, dyv, yr, dxr, dwr);
    char k[48], s[48], p[48], d[48], adj[48], vals[320];
    int64_t a[3];
    for (int i = 0; i < 3; i++)
        a[i] = q->in[i] - (q->s[i] * (q->out[i] - 1) + 1 + (q->k[i] - 1) * q->d[i] - 2 * q->p[i]);
    tuple3(k, sizeof(k), q->k), tuple3(s, sizeof(s), q->s), tuple3(p, sizeof(p), q->p);
    tuple3(d, sizeof(d), q->d), tuple3(adj, sizeof(adj), a);
    snprintf(vals, sizeof(vals), "%s|%s|%s|%s|%lld|%lld|True|%s", k, s, p, d, (long long)q->f,
             (long long)q->g, ws);
    const char *keys = "kernel|stride|pad|dilate|num_filter|num_group|no_bias|workspace";
    am_array *in[3] = {dy, x, w}, *y = NULL, *g[2] = {0};
    CU_ASSERT_EQUAL(tu_invoke("Convolution", in + 1, 2, keys, vals, &y, 1), AM_OK);
    CU_ASSERT_EQUAL(tu_invoke("_backward_Convolution", in, 3, keys, vals, g, 2), AM_OK);
    CU_ASSERT(close_to(y, yr, 1e-4, "3-D Convolution", id));
    CU_ASSERT(close_to(g[0], dxr, 1e-4, "3-D data grad", id));
    CU_ASSERT(close_to(g[1], dwr, 1e-4, "3-D weight grad", id));
    /* Deconvolution(dy) = dxr; its backward with out_grad x: data grad yr, weight grad dwr. */
    snprintf(vals, sizeof(vals), "%s|%s|%s|%s|%s|%lld|%lld|True|%s", k, s, p, d, adj,
             (long long)q->c, (long long)q->g, ws);
    keys = "kernel|stride|pad|dilate|adj|num_filter|num_group|no_bias|workspace";
    am_array *din[3] = {x, dy, w}, *dec = NULL, *dg[2] = {0};
    CU_ASSERT_EQUAL(tu_invoke("Deconvolution", din + 1, 2, keys, vals, &dec, 1), AM_OK);
    CU_ASSERT_EQUAL(tu_invoke("_backward_Deconvolution", din, 3, keys, vals, dg, 2), AM_OK);
    CU_ASSERT(close_to(dec, dxr, 1e-4, "3-D Deconvolution", id));
    CU_ASSERT(close_to(dg[0], yr, 1e-4, "3-D Deconvolution data grad", id));
    CU_ASSERT(close_to(dg[1], dwr, 1e-4, "3-D Deconvolution weight grad", id));
    free(xv), free(wv), free(dyv), free(yr), free(dxr), free(dwr);
    am_scope_end();
}

/* 3-D geometries against naive loops: column blocks whose bands of output rows cross depth
 * slices (the shifted-plane path and the row-by-row one), depthwise, and 1x1x1; serial
 * (workspace 0) and with batch slices. */
static void test_conv3d_reference(void)
{
    static const ncv3 qs[] = {
        {.n = 2, .c = 16, .f = 6, .g = 2, .in = {6, 10, 20}, .out = {6, 10, 20}, .k = {3, 3, 3},
         .s = {1, 1, 1}, .p = {1, 1, 1}, .d = {1, 1, 1}},
        {.n = 2, .c = 32, .f = 4, .g = 1, .in = {12, 10, 20}, .out = {5, 8, 11}, .k = {3, 3, 3},
         .s = {2, 1, 2}, .p = {1, 0, 2}, .d = {2, 1, 1}},
        {.n = 2, .c = 4, .f = 8, .g = 4, .in = {5, 6, 7}, .out = {3, 6, 3}, .k = {3, 3, 2},
         .s = {2, 1, 2}, .p = {1, 1, 0}, .d = {1, 1, 1}},
        {.n = 3, .c = 3, .f = 5, .g = 1, .in = {4, 5, 6}, .out = {4, 5, 6}, .k = {1, 1, 1},
         .s = {1, 1, 1}, .p = {0, 0, 0}, .d = {1, 1, 1}},
    };
    for (int i = 0; i < 4; i++) {
        check_conv3(&qs[i], "0", 2 * i);
        check_conv3(&qs[i], "1024", 2 * i + 1);
    }
}

/* Values and gradients of 3-D Convolution and Deconvolution as MXNet 1.9.1 computes them
 * (tests/fixtures/conv3d/make.py).  Its Deconvolution ran in float32, hence the looser
 * float64 tolerance there. */
static void test_conv3d_mxnet(void)
{
    CU_ASSERT_EQUAL(tu_check_mxnet_fixtures("tests/fixtures/conv3d", "Convolution", 1e-4, 1e-10),
                    3);
    CU_ASSERT_EQUAL(tu_check_mxnet_fixtures("tests/fixtures/conv3d", "Deconvolution", 1e-4, 1e-5),
                    1);
}

/* 3-D shape rules and errors. */
static void test_conv3d_shapes(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 4, 5, 6, 7), AM_DTYPE_FLOAT32);
    const int64_t k[3] = {3, 2, 3}, s[3] = {2, 1, 2}, p[3] = {1, 0, 1}, d[3] = {1, 2, 1};
    am_array *w = am_zeros(AM_SHAPE(6, 2, 3, 2, 3), AM_DTYPE_FLOAT32);
    /* (5 + 2 - 3) / 2 + 1 = 3, (6 - 3) / 1 + 1 = 4, (7 + 2 - 3) / 2 + 1 = 4 */
    am_array *y = am_convolution(x, w, NULL, 3, k, s, p, d, 6, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT(am_shape_equal(am_array_shape(y), AM_SHAPE(2, 6, 3, 4, 4)));
    /* Deconvolution: 2 (3 - 1) + 3 - 2 + 1 = 6, 1 (4 - 1) + 2 + 1 = 6, 2 (4 - 1) + 3 - 2 = 7;
     * target_shape (5, 3, 8) recomputes pad and adj per dimension. */
    const int64_t adj[3] = {1, 0, 0}, ts[3] = {5, 3, 8}, k2[3] = {3, 2, 3};
    am_array *wd = am_zeros(AM_SHAPE(6, 4, 3, 2, 3), AM_DTYPE_FLOAT32);
    am_array *dz = am_deconvolution(y, wd, NULL, 3, k2, s, p, NULL, adj, NULL, 4, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dz);
    CU_ASSERT(am_shape_equal(am_array_shape(dz), AM_SHAPE(2, 4, 6, 5, 7)));
    am_array *dt = am_deconvolution(y, wd, NULL, 3, k2, s, NULL, NULL, NULL, ts, 4, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dt);
    CU_ASSERT(am_shape_equal(am_array_shape(dt), AM_SHAPE(2, 4, 5, 3, 8)));
    /* Errors name the 3-D shapes. */
    TU_ASSERT_FAILS(am_convolution(am_zeros(AM_SHAPE(2, 4, 6, 7), AM_DTYPE_FLOAT32), w, NULL, 3,
                                   k, NULL, NULL, NULL, 6, 2),
                    AM_ERR_SHAPE, "data (2, 4, 6, 7) must be 5-D (N, C, D, H, W) for the 3-D "
                                  "kernel (3, 2, 3)");
    TU_ASSERT_FAILS(am_convolution(x, am_zeros(AM_SHAPE(6, 2, 3, 3, 3), AM_DTYPE_FLOAT32), NULL,
                                   3, k, NULL, NULL, NULL, 6, 2),
                    AM_ERR_SHAPE, "weight (6, 2, 3, 3, 3) does not match (6, 2, 3, 2, 3)");
    const int64_t big[3] = {6, 1, 1};
    am_array *wb = am_zeros(AM_SHAPE(6, 4, 6, 1, 1), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_convolution(x, wb, NULL, 3, big, NULL, NULL, NULL, 6, 1), AM_ERR_SHAPE,
                    "kernel (6, 1, 1) with dilate spans 6, more than data (2, 4, 5, 6, 7) "
                    "padded to 5");
    const int64_t adj2[3] = {2, 0, 0};
    TU_ASSERT_FAILS(am_deconvolution(y, wd, NULL, 3, k2, s, p, NULL, adj2, NULL, 4, 1),
                    AM_ERR_ARG, "adj 2 must be smaller than stride (2, 1, 2)");
    TU_ASSERT_FAILS(conv_str(x, w, NULL, "kernel|num_filter|no_bias|stride",
                             "(3, 2, 3)|6|True|(1, 1)"),
                    AM_ERR_ARG, "stride (1, 1) must have 3 entries, as kernel (3, 2, 3) has");
    am_scope_end();
}

CU_TestInfo am_tests_ops_conv[] = {
    {"Convolution hand-checked values", test_conv_values},
    {"_backward_Convolution hand-checked values", test_conv_backward_values},
    {"Deconvolution hand-checked values (adj, target_shape)", test_deconv_values},
    {"Convolution and gradients against naive loops", test_conv_reference},
    {"Deconvolution and gradients against naive loops", test_deconv_reference},
    {"serial and parallel batch slices", test_conv_slices},
    {"im2col and col2im in several bands", test_conv_bands},
    {"depthwise by direct loops", test_depthwise},
    {"Convolution gradients through autograd", test_conv_autograd},
    {"Deconvolution gradients through autograd", test_deconv_autograd},
    {"no second-order gradient through _backward_ ops", test_second_order},
    {"shape inference fills weight, bias and out_grad", test_shape_inference},
    {"attribute defaults and aliases", test_attributes},
    {"Convolution shape errors", test_conv_errors},
    {"Convolution attribute, dtype and input errors", test_conv_attr_errors},
    {"Deconvolution errors", test_deconv_errors},
    {"3-D: all four ops against naive loops", test_conv3d_reference},
    {"3-D: values and gradients against MXNet", test_conv3d_mxnet},
    {"3-D: shape rules and errors", test_conv3d_shapes},
    CU_TEST_INFO_NULL,
};
