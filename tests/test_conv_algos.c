/* The conv_algos suite: every algorithm of Convolution's forward (im2col + GEMM, Winograd
 * F(2x2, 3x3) and F(4x4, 3x3), and the timed choice between them), forced with AM_CONV_ALGO, against naive
 * loops in double on randomized shapes (odd sizes, padding, stride, dilation, groups,
 * depthwise), float32 and float64, AM_REQ_WRITE and AM_REQ_ADD; the fallback where
 * Winograd does not apply; the cached choice and what am_conv_algo reports. */
#include "../ndarray/ops/conv_algo.h"
#include "test_util.h"

#include <float.h>
#include <stdlib.h>

static uint64_t rng_state;
static int64_t rnd(int64_t lo, int64_t hi)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int64_t)((rng_state >> 33) % (uint64_t)(hi - lo + 1));
}
static double rndf(void) { return (double)rnd(-1000000, 1000000) / 1000000.0; }

typedef struct cshape {
    int64_t n, c, h, w, f, g, k, s, p, d, oh, ow;
    bool bias;
} cshape;

/* Naive y = conv(x, w) + b in double, and the sum of |terms| per output (the scale of its
 * rounding error). */
static void naive(const cshape *p, const double *x, const double *w, const double *b,
                  double *y, double *mag)
{
    int64_t cg = p->c / p->g, fg = p->f / p->g;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t f = 0; f < p->f; f++)
            for (int64_t oy = 0; oy < p->oh; oy++)
                for (int64_t ox = 0; ox < p->ow; ox++) {
                    double acc = b ? b[f] : 0, m = b ? fabs(b[f]) : 0;
                    for (int64_t cc = 0; cc < cg; cc++)
                        for (int64_t ki = 0; ki < p->k; ki++)
                            for (int64_t kj = 0; kj < p->k; kj++) {
                                int64_t iy = oy * p->s - p->p + ki * p->d;
                                int64_t ix = ox * p->s - p->p + kj * p->d;
                                if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                                int64_t c = f / fg * cg + cc;
                                double t = x[((n * p->c + c) * p->h + iy) * p->w + ix] *
                                           w[((f * cg + cc) * p->k + ki) * p->k + kj];
                                acc += t, m += fabs(t);
                            }
                    int64_t o = ((n * p->f + f) * p->oh + oy) * p->ow + ox;
                    y[o] = acc, mag[o] = m;
                }
}

/* A Convolution kernel call as a plan makes it: parsed attributes, the op's workspace. */
typedef struct ccall {
    const am_op_def *op;
    void *attrs;
    am_shape data;
} ccall;

static bool ccall_init(ccall *cc, const cshape *p)
{
    char k[32], s[32], pd[32], d[32], f[32], g[32];
    snprintf(k, 32, "(%lld, %lld)", (long long)p->k, (long long)p->k);
    snprintf(s, 32, "(%lld, %lld)", (long long)p->s, (long long)p->s);
    snprintf(pd, 32, "(%lld, %lld)", (long long)p->p, (long long)p->p);
    snprintf(d, 32, "(%lld, %lld)", (long long)p->d, (long long)p->d);
    snprintf(f, 32, "%lld", (long long)p->f);
    snprintf(g, 32, "%lld", (long long)p->g);
    const char *keys[] = {"kernel", "stride", "pad", "dilate", "num_filter", "num_group",
                          "no_bias"};
    const char *vals[] = {k, s, pd, d, f, g, p->bias ? "False" : "True"};
    cc->op = am_op_find("Convolution");
    cc->attrs = am_attrs_parse(cc->op, keys, vals, 7);
    cc->data = AM_SHAPE(p->n, p->c, p->h, p->w);
    return cc->attrs != NULL;
}

/* Runs the kernel on x, w[, b] into y with req. */
static am_status ccall_run(const ccall *cc, am_array *x, am_array *w, am_array *b, am_array *y,
                           am_req req)
{
    am_shape in[3] = {am_array_shape(x), am_array_shape(w), b ? am_array_shape(b) : AM_SHAPE(0)};
    am_view vin[3] = {am_array_view(x), am_array_view(w), b ? am_array_view(b) : (am_view){0}};
    am_view vout = am_array_view(y);
    am_kernel_ctx ctx = {.device = am_cpu()};
    ctx.workspace_bytes = cc->op->temp_bytes(cc->attrs, in, b ? 3 : 2);
    ctx.workspace = ctx.workspace_bytes ? am_host_alloc(ctx.workspace_bytes) : NULL;
    am_status st = cc->op->cpu(&ctx, cc->attrs, vin, b ? 3 : 2, &vout, 1, &req);
    am_host_free(ctx.workspace);
    return st;
}

static am_array *filled(const double *v, am_shape s, am_dtype dt)
{
    return tu_array_from(dt, s, v, am_shape_size(&s));
}

/* Runs shape p with AM_CONV_ALGO=algo ("auto", "im2col" or "winograd") in dtype dt, writing
 * and adding, against the naive loops; *used gets what am_conv_algo reported after the run.
 * The tolerance scales with the sum of |terms| of each output: 64 units of roundoff of it
 * covers im2col's accumulation and Winograd's transforms (whose intermediates are sums of up
 * to 16 such terms, each bounded by a few times the largest input times the largest weight;
 * F(2x2, 3x3) amplifies rounding by less than 4x in float32, measured at about 8 ulp of the
 * magnitude sum). */
/* Errors are measured in units of roundoff (eps) of a scale, and must stay within 64 of
 * them.  im2col and F(2x2, 3x3) (whose transforms add a few terms with coefficients 1 and
 * 1/2) are held to each output's own sum of |terms|.  F(4x4, 3x3) is not: an output's
 * transformed products mix the whole 6x6 input tile with coefficients up to 8 and 1/24, so
 * an output near the padding with few terms of its own inherits its neighbours' rounding;
 * it is held to the largest magnitude any output can have, c/groups 9 max|x| max|w| + max|b|
 * (plus |y| before an AM_REQ_ADD), the usual bound for a dot product of that length.  Each
 * measured worst case is printed with AM_CONV_ALGO_ULPS set. */
static bool tile_scaled(const char *algo)
{
    return !strcmp(algo, "winograd4") || !strcmp(algo, "fast");
}

/* The largest error seen, in units of roundoff of the magnitude sum (AM_CONV_ALGO_ULPS
 * prints it per algorithm). */
static double worst_ulps;

static bool check_shape(const cshape *p, const char *algo, am_dtype dt, const char **used, int id)
{
    bool ok = true;
    setenv("AM_CONV_ALGO", algo, 1);
    am_scope_begin();
    int64_t nx = p->n * p->c * p->h * p->w, nw = p->f * (p->c / p->g) * p->k * p->k;
    int64_t ny = p->n * p->f * p->oh * p->ow;
    double *x = malloc((size_t)(nx + 1) * sizeof(double)), *w = malloc((size_t)(nw + 1) * 8);
    double *b = malloc((size_t)(p->f + 1) * 8), *y = malloc((size_t)(ny + 1) * 8);
    double *mag = malloc((size_t)(ny + 1) * 8), *y0 = malloc((size_t)(ny + 1) * 8);
    for (int64_t i = 0; i < nx; i++) x[i] = rndf();
    for (int64_t i = 0; i < nw; i++) w[i] = rndf();
    for (int64_t i = 0; i < p->f; i++) b[i] = rndf();
    for (int64_t i = 0; i < ny; i++) y0[i] = rndf();
    naive(p, x, w, p->bias ? b : NULL, y, mag);
    double mx = 0, mw = 0, mb = 0;
    for (int64_t i = 0; i < nx; i++) mx = fmax(mx, fabs(x[i]));
    for (int64_t i = 0; i < nw; i++) mw = fmax(mw, fabs(w[i]));
    for (int64_t i = 0; p->bias && i < p->f; i++) mb = fmax(mb, fabs(b[i]));
    const double big = (double)(p->c / p->g * p->k * p->k) * mx * mw + mb;
    ccall cc;
    CU_ASSERT_FATAL(ccall_init(&cc, p));
    am_shape ys = AM_SHAPE(p->n, p->f, p->oh, p->ow);
    am_array *ax = filled(x, cc.data, dt);
    am_array *aw = filled(w, AM_SHAPE(p->f, p->c / p->g, p->k, p->k), dt);
    am_array *ab = p->bias ? filled(b, AM_SHAPE(p->f), dt) : NULL;
    const double eps = dt == AM_DTYPE_FLOAT32 ? FLT_EPSILON : DBL_EPSILON;
    for (int add = 0; add < 2 && ok; add++) {
        am_array *ay = filled(y0, ys, dt);
        am_status st = ccall_run(&cc, ax, aw, ab, ay, add ? AM_REQ_ADD : AM_REQ_WRITE);
        if (st != AM_OK) {
            printf("\n  shape %d (%s): %s\n", id, algo, am_last_error());
            ok = false;
            break;
        }
        am_view v = am_array_view(ay);
        for (int64_t i = 0; i < ny && ok; i++) {
            double ref = y[i] + (add ? y0[i] : 0);
            double m = (tile_scaled(algo) ? big : mag[i]) + (add ? fabs(y0[i]) : 0);
            double got = am_view_get(&v, i), ulps = fabs(got - ref) / (eps * (m + 1e-300));
            if (ulps > worst_ulps) worst_ulps = ulps;
            if (!(ulps <= 64)) {
                printf("\n  shape %d (%s, %s, %s): y[%lld] = %.9g, naive %.9g (n %lld c %lld "
                       "%lldx%lld f %lld g %lld k %lld s %lld p %lld d %lld)\n", id, algo,
                       am_dtype_name(dt), add ? "add" : "write", (long long)i, got, ref,
                       (long long)p->n, (long long)p->c, (long long)p->h, (long long)p->w,
                       (long long)p->f, (long long)p->g, (long long)p->k, (long long)p->s,
                       (long long)p->p, (long long)p->d);
                ok = false;
            }
        }
    }
    if (used) *used = am_conv_algo(cc.attrs, &cc.data, dt);
    free(cc.attrs);
    free(x), free(w), free(b), free(y), free(mag), free(y0);
    am_scope_end();
    unsetenv("AM_CONV_ALGO");
    return ok;
}

static cshape finish(cshape p)
{
    int64_t dk = 1 + (p.k - 1) * p.d;
    p.oh = (p.h + 2 * p.p - dk) / p.s + 1, p.ow = (p.w + 2 * p.p - dk) / p.s + 1;
    return p;
}

/* Half of the shapes are 3x3 stride-1 undilated (where Winograd applies), the rest any. */
static cshape random_shape(int i)
{
    cshape p = {.n = rnd(1, 3), .g = rnd(0, 3) ? 1 : rnd(2, 3), .bias = rnd(0, 3) != 0};
    bool wino = i % 2 == 0;
    p.c = p.g * rnd(1, 9), p.f = p.g * rnd(1, 9);
    p.k = wino ? 3 : rnd(1, 5), p.s = wino ? 1 : rnd(1, 3), p.d = wino ? 1 : rnd(1, 2);
    p.p = rnd(0, 3);
    int64_t dk = 1 + (p.k - 1) * p.d, lo = dk - 2 * p.p < 1 ? 1 : dk - 2 * p.p;
    p.h = rnd(lo, lo + 11), p.w = rnd(lo, lo + 11);
    return finish(p);
}

/* As conv.c's rule: 3x3, stride 1, undilated, not depthwise, at least as many 2x2 output
 * tiles as input channels per group. */
static bool applies(const cshape *p, int m)
{
    int64_t tiles = p->n * ((p->oh + m - 1) / m) * ((p->ow + m - 1) / m);
    return p->k == 3 && p->s == 1 && p->d == 1 && !(p->g > 1 && p->c == p->g) &&
           tiles >= p->c / p->g;
}

static void test_random_shapes(void)
{
    static const char *const algos[] = {"im2col", "winograd", "winograd4", "auto", "fast"};
    static const int tile[] = {0, 2, 4, 0, 0};
    double worst[5] = {0};
    int ran_wino = 0;
    rng_state = 14;
    for (int i = 0; i < 48; i++) {
        cshape p = random_shape(i);
        ran_wino += applies(&p, 2) && applies(&p, 4);
        for (int dt = 0; dt < 2; dt++)
            for (int a = 0; a < 5; a++) {
                const char *used = NULL;
                am_dtype t = dt ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
                worst_ulps = 0;
                CU_ASSERT(check_shape(&p, algos[a], t, &used, i));
                if (worst_ulps > worst[a]) worst[a] = worst_ulps;
                /* Forced algorithms run where they apply and fall back to im2col elsewhere. */
                const char *want = p.g > 1 && p.c == p.g ? "depthwise"
                                   : tile[a] && applies(&p, tile[a]) ? algos[a] : "im2col";
                if (a < 3 && (!used || strcmp(used, want))) {
                    printf("\n  shape %d forced %s: ran %s, want %s\n", i, algos[a],
                           used ? used : "NULL", want);
                    CU_FAIL("algorithm");
                }
            }
    }
    CU_ASSERT(ran_wino >= 12); /* of the 24 shapes drawn 3x3 stride 1 */
    if (getenv("AM_CONV_ALGO_ULPS"))
        for (int a = 0; a < 5; a++) printf("\n  %s: worst error %.1f eps of the magnitude", algos[a], worst[a]);
}

/* Shapes spanning several blocks of tiles, threads, groups, images and partial tiles. */
static void test_large_shapes(void)
{
    const cshape shapes[] = {
        finish((cshape){.n = 3, .c = 64, .h = 24, .w = 24, .f = 64, .g = 1, .k = 3, .s = 1,
                        .p = 1, .d = 1, .bias = true}),
        finish((cshape){.n = 2, .c = 32, .h = 33, .w = 31, .f = 48, .g = 2, .k = 3, .s = 1,
                        .p = 1, .d = 1, .bias = true}),
        finish((cshape){.n = 1, .c = 16, .h = 57, .w = 9, .f = 8, .g = 1, .k = 3, .s = 1,
                        .p = 0, .d = 1, .bias = false}),
        finish((cshape){.n = 4, .c = 3, .h = 32, .w = 32, .f = 16, .g = 1, .k = 3, .s = 1,
                        .p = 2, .d = 1, .bias = true}),
    };
    rng_state = 99;
    for (int i = 0; i < (int)(sizeof(shapes) / sizeof(shapes[0])); i++)
        for (int dt = 0; dt < 2; dt++) {
            am_dtype t = dt ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
            const char *used = NULL;
            CU_ASSERT(check_shape(&shapes[i], "winograd", t, &used, 100 + i));
            CU_ASSERT(used && !strcmp(used, "winograd"));
            CU_ASSERT(check_shape(&shapes[i], "winograd4", t, &used, 100 + i));
            CU_ASSERT(used && !strcmp(used, "winograd4"));
            CU_ASSERT(check_shape(&shapes[i], "im2col", t, &used, 100 + i));
            CU_ASSERT(used && !strcmp(used, "im2col"));
        }
}

/* Without an override the first call that overwrites its output times both algorithms and
 * caches the faster; AM_REQ_ADD before that runs im2col and leaves the shape untimed. */
static void test_timed_choice(void)
{
    cshape p = finish((cshape){.n = 2, .c = 16, .h = 20, .w = 20, .f = 16, .g = 1, .k = 3,
                               .s = 1, .p = 1, .d = 1, .bias = true});
    ccall cc;
    CU_ASSERT_FATAL(ccall_init(&cc, &p));
    unsetenv("AM_CONV_ALGO");
    am_conv_algo_reset();
    const char *a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && !strcmp(a, "untimed"));
    /* A tiny layer is not worth timing; a 5x5 one has only im2col. */
    cshape tiny = finish((cshape){.n = 1, .c = 2, .h = 5, .w = 5, .f = 2, .g = 1, .k = 3,
                                  .s = 1, .p = 1, .d = 1});
    ccall ct;
    CU_ASSERT_FATAL(ccall_init(&ct, &tiny));
    a = am_conv_algo(ct.attrs, &ct.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && !strcmp(a, "im2col"));
    free(ct.attrs);
    rng_state = 7;
    am_scope_begin();
    am_array *x = am_random_uniform(-1, 1, cc.data, AM_DTYPE_FLOAT32);
    am_array *w = am_random_uniform(-1, 1, AM_SHAPE(16, 16, 3, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_zeros(AM_SHAPE(2, 16, 20, 20), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(16), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(ccall_run(&cc, x, w, b, y, AM_REQ_ADD), AM_OK);
    a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && !strcmp(a, "untimed"));
    CU_ASSERT_EQUAL(ccall_run(&cc, x, w, b, y, AM_REQ_WRITE), AM_OK);
    a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && (!strcmp(a, "im2col") || !strcmp(a, "winograd")));
    /* fast adds F(4x4, 3x3) to the candidates: a choice of its own. */
    setenv("AM_CONV_ALGO", "fast", 1);
    a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && !strcmp(a, "untimed"));
    CU_ASSERT_EQUAL(ccall_run(&cc, x, w, b, y, AM_REQ_WRITE), AM_OK);
    a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && (!strcmp(a, "im2col") || !strcmp(a, "winograd") || !strcmp(a, "winograd4")));
    unsetenv("AM_CONV_ALGO");
    /* The override wins over the cache, and the dtype is part of the key. */
    setenv("AM_CONV_ALGO", "winograd", 1);
    a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32);
    CU_ASSERT(a && !strcmp(a, "winograd"));
    unsetenv("AM_CONV_ALGO");
    a = am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT64);
    CU_ASSERT(a && !strcmp(a, "untimed"));
    am_scope_end();
    /* The timed runs left the right values: checked by the auto runs of the random shapes. */
    CU_ASSERT(check_shape(&p, "auto", AM_DTYPE_FLOAT32, NULL, 200));
    free(cc.attrs);
    am_conv_algo_reset();
}

static void test_bad_override(void)
{
    cshape p = finish((cshape){.n = 1, .c = 2, .h = 6, .w = 6, .f = 2, .g = 1, .k = 3, .s = 1,
                               .p = 1, .d = 1});
    ccall cc;
    CU_ASSERT_FATAL(ccall_init(&cc, &p));
    am_scope_begin();
    am_array *x = am_zeros(cc.data, AM_DTYPE_FLOAT32);
    am_array *w = am_zeros(AM_SHAPE(2, 2, 3, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_zeros(AM_SHAPE(1, 2, 6, 6), AM_DTYPE_FLOAT32);
    setenv("AM_CONV_ALGO", "direct", 1);
    TU_ASSERT_STATUS(ccall_run(&cc, x, w, NULL, y, AM_REQ_WRITE), AM_ERR_ARG,
                     "AM_CONV_ALGO=direct is not one of auto, fast, im2col, winograd, winograd4");
    TU_ASSERT_FAILS(am_conv_algo(cc.attrs, &cc.data, AM_DTYPE_FLOAT32), AM_ERR_ARG,
                    "AM_CONV_ALGO=direct");
    unsetenv("AM_CONV_ALGO");
    am_scope_end();
    free(cc.attrs);
}

CU_TestInfo am_tests_conv_algos[] = {
    {"each algorithm against naive loops on random shapes", test_random_shapes},
    {"Winograd and im2col over several tile blocks and groups", test_large_shapes},
    {"the timed choice is cached per shape and dtype", test_timed_choice},
    {"a bad AM_CONV_ALGO is an error", test_bad_override},
    CU_TEST_INFO_NULL,
};
