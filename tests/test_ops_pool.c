/* The ops_pool suite: Pooling and UpSampling against hand-checked values, a naive direct
 * pooling in double over hundreds of seeded random problems (forward and backward), a
 * local numerical gradient check of every case in cases_pool.c, and errors. */
#include "mxnet_fixtures.h"
#include "test_util.h"

#include <float.h>

static am_array *pool(am_array *x, const char *keys, const char *vals)
{
    am_array *y = NULL;
    return tu_invoke("Pooling", &x, 1, keys, vals, &y, 1) == AM_OK ? y : NULL;
}

/* _backward_Pooling(ograd, data, output). */
static am_array *unpool(am_array *og, am_array *x, am_array *y, const char *keys,
                        const char *vals)
{
    am_array *in[3] = {og, x, y}, *r = NULL;
    return tu_invoke("_backward_Pooling", in, 3, keys, vals, &r, 1) == AM_OK ? r : NULL;
}

/* 0, 1, 2, ... in shape s, plus base. */
static am_array *iota(am_shape s, am_dtype t, double base)
{
    am_array *x = am_empty(s, t);
    am_view v = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&v); i++) am_view_set(&v, i, base + (double)i);
    return x;
}

/* ---- hand-checked values --------------------------------------------------------------- */

static void test_max_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 4, 4), AM_DTYPE_FLOAT32, 1);
    TU_ASSERT_VALUES(pool(x, "kernel|stride", "(2, 2)|(2, 2)"), AM_SHAPE(1, 1, 2, 2), 0,
                     6, 8, 14, 16);
    /* 3x3 windows, stride 2, pad 1: rows {-1..1}, {1..3} clipped to the data. */
    TU_ASSERT_VALUES(pool(x, "kernel|stride|pad", "(3, 3)|(2, 2)|(1, 1)"), AM_SHAPE(1, 1, 2, 2),
                     0, 6, 8, 14, 16);
    /* full: 1 + ceil((4 - 3) / 2) = 2 per dim; valid: 1 + 1 / 2 = 1. */
    TU_ASSERT_VALUES(pool(x, "kernel|stride|pooling_convention", "(3, 3)|(2, 2)|full"),
                     AM_SHAPE(1, 1, 2, 2), 0, 11, 12, 15, 16);
    TU_ASSERT_VALUES(pool(x, "kernel|stride", "(3, 3)|(2, 2)"), AM_SHAPE(1, 1, 1, 1), 0, 11);
    /* same (1-D): ceil(5 / 2) = 3 windows [0, 3), [2, 5), [4, 5). */
    am_array *r = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 5), 1, 3, 2, 5, 4);
    TU_ASSERT_VALUES(pool(r, "kernel|stride|pooling_convention", "(3,)|(2,)|same"),
                     AM_SHAPE(1, 1, 3), 0, 3, 5, 4);
    /* Padding never wins: negative data with pad. */
    am_array *neg = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 3), -3, -1, -2);
    TU_ASSERT_VALUES(pool(neg, "kernel|pad", "(2,)|(1,)"), AM_SHAPE(1, 1, 4), 0, -3, -1, -1, -2);
    /* NaN is skipped, as MXNet's strict comparison skips it. */
    am_array *nan = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2), NAN, 1);
    TU_ASSERT_VALUES(pool(nan, "kernel", "(2,)"), AM_SHAPE(1, 1, 1), 0, 1);
    /* 3-D, float64. */
    am_array *v = iota(AM_SHAPE(1, 2, 2, 2, 2), AM_DTYPE_FLOAT64, 1);
    TU_ASSERT_VALUES(pool(v, "kernel", "(2, 2, 2)"), AM_SHAPE(1, 2, 1, 1, 1), 0, 8, 16);
    am_scope_end();
}

static void test_avg_sum_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 3, 3), AM_DTYPE_FLOAT32, 1); /* 1..9 */
    /* Corner window holds 1, 2, 4, 5 (sum 12), edge 1..6 (21), centre all (45). */
    TU_ASSERT_VALUES(pool(x, "kernel|pad|pool_type", "(3, 3)|(1, 1)|avg"), AM_SHAPE(1, 1, 3, 3),
                     1e-6, 12 / 9., 21 / 9., 16 / 9., 27 / 9., 45 / 9., 33 / 9., 24 / 9., 39 / 9.,
                     28 / 9.);
    TU_ASSERT_VALUES(pool(x, "kernel|pad|pool_type|count_include_pad", "(3, 3)|(1, 1)|avg|False"),
                     AM_SHAPE(1, 1, 3, 3), 1e-6, 12 / 4., 21 / 6., 16 / 4., 27 / 6., 45 / 9.,
                     33 / 6., 24 / 4., 39 / 6., 28 / 4.);
    TU_ASSERT_VALUES(pool(x, "kernel|pad|pool_type|count_include_pad", "(3, 3)|(1, 1)|avg|True"),
                     AM_SHAPE(1, 1, 3, 3), 1e-6, 12 / 9., 21 / 9., 16 / 9., 27 / 9., 45 / 9.,
                     33 / 9., 24 / 9., 39 / 9., 28 / 9.);
    TU_ASSERT_VALUES(pool(x, "kernel|pad|pool_type", "(3, 3)|(1, 1)|sum"), AM_SHAPE(1, 1, 3, 3),
                     1e-6, 12, 21, 16, 27, 45, 33, 24, 39, 28);
    /* 1-D [1..5], kernel 2, stride 2.  valid: [1,2], [3,4]; full adds [5] (divisor
     * clipped to the padded end: 1). */
    am_array *r = iota(AM_SHAPE(1, 1, 5), AM_DTYPE_FLOAT64, 1);
    TU_ASSERT_VALUES(pool(r, "kernel|stride|pool_type", "(2,)|(2,)|sum"), AM_SHAPE(1, 1, 2), 0,
                     3, 7);
    TU_ASSERT_VALUES(pool(r, "kernel|stride|pool_type|pooling_convention", "(2,)|(2,)|sum|full"),
                     AM_SHAPE(1, 1, 3), 0, 3, 7, 5);
    TU_ASSERT_VALUES(pool(r, "kernel|stride|pool_type|pooling_convention", "(2,)|(2,)|avg|full"),
                     AM_SHAPE(1, 1, 3), 0, 1.5, 3.5, 5);
    /* pad 1, full: starts -1, 1, 3, 5; divisors 2, 2, 2, 1; the last window is padding
     * only and averages to 0. */
    TU_ASSERT_VALUES(pool(r, "kernel|stride|pad|pool_type|pooling_convention",
                          "(2,)|(2,)|(1,)|avg|full"), AM_SHAPE(1, 1, 4), 0, 0.5, 2.5, 4.5, 0);
    /* Global avg ignores a kernel that would not fit. */
    am_array *g = iota(AM_SHAPE(1, 2, 2, 2), AM_DTYPE_FLOAT32, 1);
    TU_ASSERT_VALUES(pool(g, "kernel|global_pool|pool_type", "(9, 9)|True|avg"),
                     AM_SHAPE(1, 2, 1, 1), 0, 2.5, 6.5);
    am_scope_end();
}

static void test_lp_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2, 2), 3, 4, -2, 1);
    TU_ASSERT_VALUES(pool(x, "kernel|pool_type|p_value", "(2,)|lp|2"), AM_SHAPE(1, 2, 1), 1e-6,
                     5, sqrt(5));
    TU_ASSERT_VALUES(pool(x, "kernel|pool_type|p_value", "(2,)|lp|1"), AM_SHAPE(1, 2, 1), 1e-6,
                     7, -1);
    /* cbrt(27 + 64) and cbrt(-8 + 1): odd p keeps the sign. */
    TU_ASSERT_VALUES(pool(x, "kernel|pool_type|p_value", "(2,)|lp|3"), AM_SHAPE(1, 2, 1), 1e-6,
                     cbrt(91), -cbrt(7));
    TU_ASSERT_VALUES(pool(x, "kernel|pool_type|p_value", "(2,)|lp|4"), AM_SHAPE(1, 2, 1), 1e-6,
                     pow(337, 0.25), pow(17, 0.25));
    /* d sqrt(x1^2 + x2^2) = x / 5 for (3, 4). */
    am_array *y = pool(x, "kernel|pool_type|p_value", "(2,)|lp|2");
    am_array *og = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2, 1), 1, 2);
    TU_ASSERT_VALUES(unpool(og, x, y, "kernel|pool_type|p_value", "(2,)|lp|2"), AM_SHAPE(1, 2, 2),
                     1e-6, 0.6, 0.8, 2 * -2 / sqrt(5), 2 / sqrt(5));
    /* An all-zero window has output 0 and passes no gradient (MXNet's guard). */
    am_array *z = am_zeros(AM_SHAPE(1, 1, 2), AM_DTYPE_FLOAT32);
    am_array *one = am_ones(AM_SHAPE(1, 1, 1), AM_DTYPE_FLOAT32);
    am_array *yz = pool(z, "kernel|pool_type|p_value", "(2,)|lp|2");
    TU_ASSERT_VALUES(unpool(one, z, yz, "kernel|pool_type|p_value", "(2,)|lp|2"),
                     AM_SHAPE(1, 1, 2), 0, 0, 0);
    am_scope_end();
}

/* MXNet does not reject pad >= kernel: windows of padding only give the lowest finite
 * value (max) or 0 (avg, sum), and pass no gradient. */
static void test_padding_only_windows(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2), 1, 2);
    am_array *y = pool(x, "kernel|pad", "(1,)|(1,)");
    TU_ASSERT_VALUES(y, AM_SHAPE(1, 1, 4), 0, -FLT_MAX, 1, 2, -FLT_MAX);
    TU_ASSERT_VALUES(pool(x, "kernel|pad|pool_type", "(1,)|(1,)|avg"), AM_SHAPE(1, 1, 4), 0,
                     0, 1, 2, 0);
    am_array *og = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 4), 1, 10, 100, 1000);
    TU_ASSERT_VALUES(unpool(og, x, y, "kernel|pad", "(1,)|(1,)"), AM_SHAPE(1, 1, 2), 0, 10, 100);
    am_array *d = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), 5);
    TU_ASSERT_VALUES(pool(d, "kernel|pad", "(1,)|(1,)"), AM_SHAPE(1, 1, 3), 0, -DBL_MAX, 5,
                     -DBL_MAX);
    am_scope_end();
}

static void test_backward_values(void)
{
    am_scope_begin();
    /* Ties go to the first maximum in row-major order. */
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2, 2), 5, 1, 5, 5);
    am_array *y = pool(x, "kernel", "(2, 2)");
    am_array *og = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 1, 1), 3);
    TU_ASSERT_VALUES(unpool(og, x, y, "kernel", "(2, 2)"), AM_SHAPE(1, 1, 2, 2), 0, 3, 0, 0, 0);
    /* Overlapping windows accumulate: [1, 3, 2] with kernel 2 has maxima 3 and 3. */
    am_array *r = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 3), 1, 3, 2);
    am_array *g2 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 2), 1, 2);
    TU_ASSERT_VALUES(unpool(g2, r, pool(r, "kernel", "(2,)"), "kernel", "(2,)"),
                     AM_SHAPE(1, 1, 3), 0, 0, 3, 0);
    /* avg 1-D [a, b, c, d], kernel 2, stride 1: each window spreads its gradient in halves. */
    am_array *a = iota(AM_SHAPE(1, 1, 4), AM_DTYPE_FLOAT32, 0);
    am_array *g3 = am_ones(AM_SHAPE(1, 1, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(unpool(g3, a, pool(a, "kernel|pool_type", "(2,)|avg"), "kernel|pool_type",
                            "(2,)|avg"), AM_SHAPE(1, 1, 4), 1e-7, 0.5, 1, 1, 0.5);
    /* avg with pad 1, kernel 3, count_include_pad False on [a, b]: both windows hold both. */
    am_array *b = iota(AM_SHAPE(1, 1, 2), AM_DTYPE_FLOAT32, 0);
    am_array *g4 = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2), 2, 4);
    TU_ASSERT_VALUES(unpool(g4, b, g4, "kernel|pad|pool_type|count_include_pad",
                            "(3,)|(1,)|avg|False"), AM_SHAPE(1, 1, 2), 1e-7, 3, 3);
    TU_ASSERT_VALUES(unpool(g4, b, g4, "kernel|pad|pool_type", "(3,)|(1,)|avg"),
                     AM_SHAPE(1, 1, 2), 1e-7, 2, 2);
    am_scope_end();
}

/* Through autograd: the recorded Pooling routes the head gradient via _backward_Pooling. */
static void test_autograd(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 2, 4), AM_DTYPE_FLOAT32, 0);
    CU_ASSERT_EQUAL(am_attach_grad(x, AM_GRAD_WRITE), AM_OK);
    am_autograd_record_begin(true);
    int64_t k[2] = {2, 2};
    am_array *y = am_pooling(x, "max", k, k, NULL, 2, false, NULL, 0, true);
    am_autograd_end();
    TU_ASSERT_VALUES(y, AM_SHAPE(1, 1, 1, 2), 0, 5, 7);
    am_array *hg = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 1, 2), 1, 2);
    CU_ASSERT_EQUAL(am_backward_at(y, hg, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 1, 2, 4), 0, 0, 0, 0, 0, 0, 1, 0, 2);
    am_scope_end();
}

/* The C wrapper fills the attributes as MXNet's Python would. */
static void test_c_api(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(2, 1, 5), AM_DTYPE_FLOAT32, 0);
    int64_t k = 2, s = 2, p = 1;
    TU_ASSERT_VALUES(am_pooling(x, "sum", &k, &s, &p, 1, false, "full", 0, true),
                     AM_SHAPE(2, 1, 4), 0, 0, 3, 7, 0, 5, 13, 17, 0);
    TU_ASSERT_VALUES(am_pooling(x, "avg", &k, &s, &p, 1, false, NULL, 0, false),
                     AM_SHAPE(2, 1, 3), 1e-7, 0, 1.5, 3.5, 5, 6.5, 8.5);
    TU_ASSERT_VALUES(am_pooling(x, "lp", &k, &s, NULL, 1, false, NULL, 2, true),
                     AM_SHAPE(2, 1, 2), 1e-6, 1, sqrt(13), sqrt(61), sqrt(113));
    TU_ASSERT_VALUES(am_pooling(x, NULL, NULL, NULL, NULL, 0, true, NULL, 0, true),
                     AM_SHAPE(2, 1, 1), 0, 4, 9);
    am_scope_end();
}

/* ---- naive direct pooling in double, over seeded random problems ----------------------- */

enum { T_MAX, T_AVG, T_SUM, T_LP };
enum { C_VALID, C_FULL, C_SAME };
static const char *const type_names[] = {"max", "avg", "sum", "lp"};
static const char *const conv_names[] = {"valid", "full", "same"};
static const char *const incl_names[] = {"None", "False", "True"};

/* One problem; spatial dims are (d, h, w) with 3 - nd leading dims of size 1 unused. */
typedef struct pcase {
    int nd, type, conv, p, incl; /* incl indexes incl_names */
    bool global;
    int64_t n, c, in[3], k[3], s[3], pad[3], out[3];
    am_dtype dt;
} pcase;

static uint64_t rnd(uint64_t *st, uint64_t n)
{
    *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
    return *st % n;
}

static int64_t naive_out(const pcase *c, int i)
{
    int64_t span = c->in[i] + 2 * c->pad[i] - c->k[i];
    if (c->global) return 1;
    if (c->conv == C_VALID) return 1 + span / c->s[i];
    if (c->conv == C_FULL) return 1 + (span + c->s[i] - 1) / c->s[i];
    return (c->in[i] + c->s[i] - 1) / c->s[i];
}

static pcase random_pcase(uint64_t *st)
{
    pcase c = {.nd = rnd(st, 10) == 0 ? 3 : 1 + (int)rnd(st, 2), .n = 1 + rnd(st, 2),
               .c = 1 + rnd(st, 3), .type = (int)rnd(st, 4), .p = 1 + (int)rnd(st, 4),
               .conv = (int)rnd(st, 2), .incl = (int)rnd(st, 3), .global = rnd(st, 12) == 0,
               .dt = rnd(st, 2) ? AM_DTYPE_FLOAT32 : AM_DTYPE_FLOAT64};
    if (c.nd == 1 && rnd(st, 4) == 0) c.conv = C_SAME;
    for (int i = 0; i < 3; i++) {
        bool used = i >= 3 - c.nd;
        c.in[i] = used ? 1 + (int64_t)rnd(st, c.nd == 3 ? 4 : 8) : 1;
        c.pad[i] = used && c.conv != C_SAME ? (int64_t)rnd(st, 3) : 0;
        int64_t kmax = c.in[i] + 2 * c.pad[i] < 4 ? c.in[i] + 2 * c.pad[i] : 4;
        c.k[i] = used ? 1 + (int64_t)rnd(st, (uint64_t)kmax) : 1;
        c.s[i] = used ? 1 + (int64_t)rnd(st, 3) : 1;
        if (c.global) c.k[i] = c.in[i], c.s[i] = 1, c.pad[i] = 0;
        c.out[i] = naive_out(&c, i);
    }
    return c;
}

/* The attribute strings of a problem ("k|k|..." and "v|v|..."); a global problem still
 * passes a kernel, which must be ignored. */
static void pcase_attrs(const pcase *c, char *keys, char *vals, size_t n)
{
    char k[64], s[64], p[64];
    const int o = 3 - c->nd;
    #define TUP(buf, a) (c->nd == 1 ? snprintf(buf, 64, "(%lld,)", (long long)a[2])            \
                         : c->nd == 2 ? snprintf(buf, 64, "(%lld, %lld)", (long long)a[1],      \
                                                 (long long)a[2])                               \
                         : snprintf(buf, 64, "(%lld, %lld, %lld)", (long long)a[o],             \
                                    (long long)a[1], (long long)a[2]))
    TUP(k, c->k), TUP(s, c->s), TUP(p, c->pad);
    #undef TUP
    snprintf(keys, n, "kernel|stride|pad|pool_type|pooling_convention|p_value|"
             "count_include_pad|global_pool");
    snprintf(vals, n, "%s|%s|%s|%s|%s|%d|%s|%s", c->global ? "(3, 1)" : k, s, p,
             type_names[c->type], conv_names[c->conv], c->p, incl_names[c->incl],
             c->global ? "True" : "False");
}

/* The window of output o: start per dim, elements inside (row-major order) visited by
 * offsets, and MXNet's avg divisor. */
typedef struct nwin {
    int64_t pos[256], count, divisor;
} nwin;

static void naive_window(const pcase *c, const int64_t *o, nwin *w)
{
    int64_t start[3], padded = 1;
    for (int i = 0; i < 3; i++) {
        start[i] = o[i] * c->s[i] - c->pad[i];
        int64_t end = start[i] + c->k[i] < c->in[i] + c->pad[i] ? start[i] + c->k[i]
                                                                 : c->in[i] + c->pad[i];
        padded *= end - start[i];
    }
    w->count = 0;
    for (int64_t a = 0; a < c->k[0]; a++)
        for (int64_t b = 0; b < c->k[1]; b++)
            for (int64_t e = 0; e < c->k[2]; e++) {
                int64_t d = start[0] + a, h = start[1] + b, x = start[2] + e;
                if (d >= 0 && d < c->in[0] && h >= 0 && h < c->in[1] && x >= 0 && x < c->in[2])
                    w->pos[w->count++] = (d * c->in[1] + h) * c->in[2] + x;
            }
    w->divisor = c->incl == 1 ? w->count : padded;
}

static double naive_value(const pcase *c, const double *x, const nwin *w, int64_t *argmax)
{
    double best = c->dt == AM_DTYPE_FLOAT32 ? -FLT_MAX : -DBL_MAX, sum = 0;
    *argmax = -1;
    for (int64_t j = 0; j < w->count; j++) {
        double v = x[w->pos[j]];
        if (v > best || (*argmax < 0 && v == best)) best = v, *argmax = w->pos[j];
        sum += c->type == T_LP ? pow(v, c->p) : v;
    }
    if (c->type == T_MAX) return best;
    if (c->type == T_AVG) return w->count ? sum / (double)w->divisor : 0;
    if (c->type == T_SUM || c->p == 1) return sum;
    return c->p % 2 ? copysign(pow(fabs(sum), 1.0 / c->p), sum) : pow(sum, 1.0 / c->p);
}

/* Forward y and backward gx (for output gradient g) of a problem, plane by plane. */
static void naive_pool(const pcase *c, const double *x, const double *g, double *y, double *gx)
{
    int64_t isz = c->in[0] * c->in[1] * c->in[2], osz = c->out[0] * c->out[1] * c->out[2];
    nwin w;
    memset(gx, 0, (size_t)(c->n * c->c * isz) * sizeof(double));
    for (int64_t pl = 0; pl < c->n * c->c; pl++) {
        const double *xp = x + pl * isz;
        double *gp = gx + pl * isz;
        int64_t o[3], i = pl * osz, am;
        for (o[0] = 0; o[0] < c->out[0]; o[0]++)
            for (o[1] = 0; o[1] < c->out[1]; o[1]++)
                for (o[2] = 0; o[2] < c->out[2]; o[2]++, i++) {
                    naive_window(c, o, &w);
                    y[i] = naive_value(c, xp, &w, &am);
                    for (int64_t j = 0; j < w.count; j++) {
                        int64_t q = w.pos[j];
                        if (c->type == T_MAX) gp[q] += q == am ? g[i] : 0;
                        else if (c->type == T_AVG) gp[q] += g[i] / (double)w.divisor;
                        else if (c->type == T_SUM || c->p == 1) gp[q] += g[i];
                        else if (y[i] != 0) gp[q] += g[i] * pow(xp[q] / y[i], c->p - 1);
                    }
                }
    }
}

static am_shape pcase_shape(const pcase *c, const int64_t *sp)
{
    am_shape s = {.ndim = c->nd + 2, .dim = {c->n, c->c}};
    for (int i = 0; i < c->nd; i++) s.dim[2 + i] = sp[3 - c->nd + i];
    return s;
}

static double *doubles_of(am_array *a)
{
    am_view v = am_array_view(a);
    double *d = malloc((size_t)(am_view_size(&v) + 1) * sizeof(double));
    for (int64_t i = 0; i < am_view_size(&v); i++) d[i] = am_view_get(&v, i);
    return d;
}

/* Runs one problem: the op's forward and _backward_Pooling against the naive ones, and
 * with autograd (the recorded gradient) when through_tape.  Returns failures. */
static int check_pcase(const pcase *c, bool through_tape)
{
    char keys[256], vals[256];
    int bad = 0;
    double tol = c->dt == AM_DTYPE_FLOAT32 ? 2e-5 : 1e-11;
    am_scope_begin();
    pcase_attrs(c, keys, vals, sizeof(keys));
    am_shape xs = pcase_shape(c, c->in), ys = pcase_shape(c, c->out);
    bool positive = c->type == T_LP;
    am_array *x = tu_random(xs, c->dt, positive ? 0.1 : -1, positive ? 1.1 : 1);
    am_array *g = tu_random(ys, c->dt, -1, 1);
    am_array *ny = am_zeros(ys, AM_DTYPE_FLOAT64), *ngx = am_zeros(xs, AM_DTYPE_FLOAT64);
    double *xd = doubles_of(x), *gd = doubles_of(g);
    naive_pool(c, xd, gd, am_array_ptr(ny), am_array_ptr(ngx));
    free(xd), free(gd);
    am_array *y = pool(x, keys, vals);
    bad += !tu_allclose(y, ny, tol);
    bad += !tu_allclose(unpool(g, x, y, keys, vals), ngx, tol * 10);
    if (through_tape && am_attach_grad(x, AM_GRAD_WRITE) == AM_OK) {
        am_autograd_record_begin(true);
        am_array *yt = pool(x, keys, vals);
        am_autograd_end();
        bad += am_backward_at(yt, g, false, AM_HERE) != AM_OK ||
               !tu_allclose(am_grad(x), ngx, tol * 10);
    }
    if (bad) printf("  (Pooling{%s = %s} on %s)\n", keys, vals, am_shape_format(&xs, keys, 96));
    am_scope_end();
    return bad;
}

static void test_against_naive(void)
{
    uint64_t st = 0x9E3779B97F4A7C15ull;
    int failed = 0, n = 320;
    for (int i = 0; i < n; i++) {
        pcase c = random_pcase(&st);
        failed += check_pcase(&c, i % 4 == 0) > 0;
    }
    if (failed) printf("\n  %d of %d random Pooling problems disagree with the naive pooling\n",
                       failed, n);
    CU_ASSERT_EQUAL(failed, 0);
}

/* Big enough for the parallel paths (more than AM_OMP_MIN units of work). */
static void test_large_against_naive(void)
{
    pcase c = {.nd = 2, .n = 4, .c = 8, .type = T_MAX, .conv = C_FULL, .incl = 0, .p = 1,
               .dt = AM_DTYPE_FLOAT32, .in = {1, 33, 31}, .k = {1, 3, 3}, .s = {1, 2, 2},
               .pad = {0, 1, 1}};
    for (int t = T_MAX; t <= T_LP; t++) {
        c.type = t, c.p = 2;
        for (int i = 0; i < 3; i++) c.out[i] = naive_out(&c, i);
        CU_ASSERT_EQUAL(check_pcase(&c, false), 0);
    }
}

/* ---- UpSampling ------------------------------------------------------------------------- */

static am_array *upsample(am_array *const *xs, int n, const char *keys, const char *vals)
{
    am_array *y = NULL;
    return tu_invoke("UpSampling", xs, n, keys, vals, &y, 1) == AM_OK ? y : NULL;
}

static void test_upsampling_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2, 2), 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_upsampling(x, 2), AM_SHAPE(1, 1, 4, 4), 0,
                     1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4);
    TU_ASSERT_VALUES(am_upsampling(x, 1), AM_SHAPE(1, 1, 2, 2), 0, 1, 2, 3, 4);
    /* Concat: input 1 is already at the output size (factor 1), input 2 grows by 2. */
    am_array *a = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1, 2), 1, 2);
    am_array *b = iota(AM_SHAPE(1, 1, 2, 4), AM_DTYPE_FLOAT64, 10);
    am_array *c = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 2, 1, 2), 5, 6, 7, 8);
    am_array *abc[3] = {a, b, c};
    am_array *y = upsample(abc, 3, "scale|sample_type|num_args", "2|nearest|3");
    TU_ASSERT_VALUES(y, AM_SHAPE(1, 4, 2, 4), 0, 1, 1, 2, 2, 1, 1, 2, 2,
                     10, 11, 12, 13, 14, 15, 16, 17, 5, 5, 6, 6, 5, 5, 6, 6,
                     7, 7, 8, 8, 7, 7, 8, 8);
    CU_ASSERT(tu_allclose(am_upsampling_multi(abc, 3, 2, "concat"), y, 0));
    /* Sum: equal channels; [1] grows by 2, b's first channel by 1. */
    am_array *s0 = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 1, 1), 1);
    am_array *s1 = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2, 2), 1, 2, 3, 4);
    am_array *ss[2] = {s0, s1};
    TU_ASSERT_VALUES(am_upsampling_multi(ss, 2, 2, "sum"), AM_SHAPE(1, 1, 2, 2), 0, 2, 3, 4, 5);
    /* Gradients through the tape: blocks of ograd summed back, per input's channels. */
    CU_ASSERT_EQUAL(am_attach_grad(a, AM_GRAD_WRITE), AM_OK);
    CU_ASSERT_EQUAL(am_attach_grad(c, AM_GRAD_WRITE), AM_OK);
    am_autograd_record_begin(true);
    am_array *yt = am_upsampling_multi(abc, 3, 2, "concat");
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward_at(yt, iota(AM_SHAPE(1, 4, 2, 4), AM_DTYPE_FLOAT64, 0), false,
                                   AM_HERE), AM_OK);
    /* a: ograd channel 0 is 0..7, blocks {0,1,4,5} and {2,3,6,7}; c: channels 2 and 3,
     * 16..23 and 24..31, in the same blocks. */
    TU_ASSERT_VALUES(am_grad(a), AM_SHAPE(1, 1, 1, 2), 0, 10, 18);
    TU_ASSERT_VALUES(am_grad(c), AM_SHAPE(1, 2, 1, 2), 0, 74, 82, 106, 114);
    am_scope_end();
}

static void test_upsampling_backward_op(void)
{
    am_scope_begin();
    am_array *og = iota(AM_SHAPE(1, 1, 2, 4), AM_DTYPE_FLOAT32, 1); /* 1..8 */
    am_array *s0 = am_zeros(AM_SHAPE(1, 1, 1, 2), AM_DTYPE_FLOAT32);
    am_array *s1 = am_zeros(AM_SHAPE(1, 1, 2, 4), AM_DTYPE_FLOAT32);
    am_array *in[3] = {og, s0, s1}, *r[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(tu_invoke("_backward_UpSampling", in, 3,
                           "scale|sample_type|num_args|multi_input_mode", "2|nearest|2|sum", r, 2),
                    AM_OK);
    TU_ASSERT_VALUES(r[0], AM_SHAPE(1, 1, 1, 2), 0, 1 + 2 + 5 + 6, 3 + 4 + 7 + 8);
    CU_ASSERT(tu_allclose(r[1], og, 0));
    /* ograd must be the forward output's shape. */
    in[0] = am_zeros(AM_SHAPE(1, 1, 2, 2), AM_DTYPE_FLOAT32);
    const char *keys = "scale|sample_type|num_args|multi_input_mode";
    TU_ASSERT_FAILS(tu_invoke("_backward_UpSampling", in, 3, keys, "2|nearest|2|sum", r, 2) == AM_OK,
                    AM_ERR_SHAPE, "ograd (1, 1, 2, 2) does not match the UpSampling output "
                    "(1, 1, 2, 4)");
    TU_ASSERT_FAILS(tu_invoke("_backward_UpSampling", in, 2, "scale|sample_type|num_args",
                           "2|nearest|2", r, 2) == AM_OK, AM_ERR_ARG, "expects 3 inputs, got 2");
    am_scope_end();
}

/* MXNet's documented example: ones (3, 3) with a ones 4x4 kernel at scale 2. */
static void test_upsampling_bilinear(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(1, 1, 3, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_ones(AM_SHAPE(1, 1, 4, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_upsampling_bilinear(x, w, 2), AM_SHAPE(1, 1, 6, 6), 0,
                     1, 2, 2, 2, 2, 1, 2, 4, 4, 4, 4, 2, 2, 4, 4, 4, 4, 2,
                     2, 4, 4, 4, 4, 2, 2, 4, 4, 4, 4, 2, 1, 2, 2, 2, 2, 1);
    /* A single pixel spreads the kernel, offset by the pad: y[i*s - P + k] = w[k]. */
    am_array *one = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1, 1), 2);
    am_array *k3 = iota(AM_SHAPE(1, 1, 5, 5), AM_DTYPE_FLOAT64, 0);
    /* scale 3: K 5, P 1, output 3x3 = w[1..3, 1..3] * 2. */
    TU_ASSERT_VALUES(am_upsampling_bilinear(one, k3, 3), AM_SHAPE(1, 1, 3, 3), 0,
                     12, 14, 16, 22, 24, 26, 32, 34, 36);
    am_scope_end();
}

/* Random nearest problems (several inputs, each with its own whole factor, concatenated or
 * summed) and bilinear ones, forward and backward against direct loops in double. */
static int check_nearest(uint64_t *st)
{
    int n_in = 1 + (int)rnd(st, 3), sum = (int)rnd(st, 2), bad = 0;
    int64_t nb = 1 + (int64_t)rnd(st, 2), scale = 1 + (int64_t)rnd(st, 3);
    int64_t h0 = 1 + (int64_t)rnd(st, 3), w0 = 1 + (int64_t)rnd(st, 3);
    int64_t c0 = 1 + (int64_t)rnd(st, 3);
    int64_t oh = h0 * scale, ow = w0 * scale, co = 0, f[3], ch[3];
    am_dtype dt = rnd(st, 2) ? AM_DTYPE_FLOAT32 : AM_DTYPE_FLOAT64;
    am_array *in[4], *r[3];
    am_scope_begin();
    for (int i = 0; i < n_in; i++) {
        f[i] = i == 0 ? scale : 1 + (int64_t)rnd(st, 4);
        while (oh % f[i] || ow % f[i]) f[i]--;
        ch[i] = sum ? c0 : 1 + (int64_t)rnd(st, 3);
        in[i + 1] = tu_random(AM_SHAPE(nb, ch[i], oh / f[i], ow / f[i]), dt, -1, 1);
        co = sum ? c0 : co + ch[i];
    }
    am_array *ny = am_zeros(AM_SHAPE(nb, co, oh, ow), AM_DTYPE_FLOAT64);
    in[0] = tu_random(AM_SHAPE(nb, co, oh, ow), dt, -1, 1); /* ograd */
    am_view vy = am_array_view(ny), vg = am_array_view(in[0]);
    char keys[] = "scale|sample_type|num_args|multi_input_mode", vals[64];
    snprintf(vals, sizeof(vals), "%lld|nearest|%d|%s", (long long)scale, n_in,
             sum ? "sum" : "concat");
    bad += tu_invoke("_backward_UpSampling", in, n_in + 1, keys, vals, r, n_in) != AM_OK;
    for (int i = 0, cb = 0; i < n_in && !bad; cb += sum ? 0 : (int)ch[i], i++) {
        am_view vx = am_array_view(in[i + 1]);
        am_array *ngx = am_zeros(am_array_shape(in[i + 1]), AM_DTYPE_FLOAT64);
        am_view vgx = am_array_view(ngx);
        int64_t hi = oh / f[i], wi = ow / f[i];
        for (int64_t b = 0; b < nb; b++)
            for (int64_t c = 0; c < ch[i]; c++)
                for (int64_t y = 0; y < oh; y++)
                    for (int64_t x = 0; x < ow; x++) {
                        int64_t o = ((b * co + cb + c) * oh + y) * ow + x;
                        int64_t q = ((b * ch[i] + c) * hi + y / f[i]) * wi + x / f[i];
                        am_view_set(&vy, o, am_view_get(&vy, o) + am_view_get(&vx, q));
                        am_view_set(&vgx, q, am_view_get(&vgx, q) + am_view_get(&vg, o));
                    }
        bad += !tu_allclose(r[i], ngx, 1e-5);
    }
    bad += !tu_allclose(upsample(in + 1, n_in, keys, vals), ny, 1e-6);
    if (bad) printf("  (UpSampling{%s})\n", vals);
    am_scope_end();
    return bad;
}

static int check_bilinear(uint64_t *st)
{
    int64_t nb = 1 + (int64_t)rnd(st, 2), c = 1 + (int64_t)rnd(st, 3), s = 1 + (int64_t)rnd(st, 4);
    int64_t h = 1 + (int64_t)rnd(st, 4), w = 1 + (int64_t)rnd(st, 4), k = 2 * s - s % 2;
    int64_t p = s / 2, oh = h * s, ow = w * s, bad = 0; /* ceil((s - 1) / 2) */
    am_dtype dt = rnd(st, 2) ? AM_DTYPE_FLOAT32 : AM_DTYPE_FLOAT64;
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(nb, c, h, w), dt, -1, 1);
    am_array *wt = tu_random(AM_SHAPE(c, 1, k, k), dt, -1, 1);
    am_array *g = tu_random(AM_SHAPE(nb, c, oh, ow), dt, -1, 1);
    am_array *ny = am_zeros(AM_SHAPE(nb, c, oh, ow), AM_DTYPE_FLOAT64);
    am_array *ngx = am_zeros(AM_SHAPE(nb, c, h, w), AM_DTYPE_FLOAT64);
    am_array *ngw = am_zeros(AM_SHAPE(c, 1, k, k), AM_DTYPE_FLOAT64);
    am_view vx = am_array_view(x), vw = am_array_view(wt), vg = am_array_view(g);
    am_view vy = am_array_view(ny), vgx = am_array_view(ngx), vgw = am_array_view(ngw);
    /* Gather form: output (oy, ox) takes x[iy, ix] w[ky, kx] where iy * s - p + ky = oy. */
    for (int64_t b = 0; b < nb; b++)
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++)
                    for (int64_t ky = 0; ky < k; ky++)
                        for (int64_t kx = 0; kx < k; kx++) {
                            int64_t ty = oy + p - ky, tx = ox + p - kx;
                            if (ty < 0 || tx < 0 || ty % s || tx % s || ty / s >= h || tx / s >= w)
                                continue;
                            int64_t o = ((b * c + ci) * oh + oy) * ow + ox;
                            int64_t q = ((b * c + ci) * h + ty / s) * w + tx / s;
                            int64_t e = (ci * k + ky) * k + kx;
                            double xv = am_view_get(&vx, q), wv = am_view_get(&vw, e);
                            double gv = am_view_get(&vg, o);
                            am_view_set(&vy, o, am_view_get(&vy, o) + xv * wv);
                            am_view_set(&vgx, q, am_view_get(&vgx, q) + gv * wv);
                            am_view_set(&vgw, e, am_view_get(&vgw, e) + gv * xv);
                        }
    bad += !tu_allclose(am_upsampling_bilinear(x, wt, s), ny, 1e-5);
    am_array *in[3] = {g, x, wt}, *r[2] = {NULL, NULL};
    char vals[64];
    snprintf(vals, sizeof(vals), "%lld|bilinear|%lld|2", (long long)s, (long long)c);
    bad += tu_invoke("_backward_UpSampling", in, 3, "scale|sample_type|num_filter|num_args", vals, r,
                  2) != AM_OK || !tu_allclose(r[0], ngx, 1e-5) || !tu_allclose(r[1], ngw, 1e-5);
    if (bad) printf("  (bilinear UpSampling, scale %lld, data (%lld, %lld, %lld, %lld))\n",
                    (long long)s, (long long)nb, (long long)c, (long long)h, (long long)w);
    am_scope_end();
    return (int)bad;
}

static void test_upsampling_against_naive(void)
{
    uint64_t st = 0x2545F4914F6CDD1Dull;
    int failed = 0;
    for (int i = 0; i < 60; i++) failed += check_nearest(&st) > 0;
    for (int i = 0; i < 60; i++) failed += check_bilinear(&st) > 0;
    CU_ASSERT_EQUAL(failed, 0);
}

/* ---- gradients of every case in cases_pool.c ------------------------------------------- */

/* The gradcheck suite's check, done here without the ops of other families: the loss is
 * sum(y * w) for a fixed random w, differentiated by the tape with head gradient w and by
 * central differences in float64. */
extern const am_op_case am_cases_pool[];

static double weighted_sum(const am_op_case *c, const tu_parsed_case *p, am_array **in,
                           am_array *w)
{
    am_array *y = NULL;
    double s = NAN;
    am_scope_begin();
    if (am_invoke(c->op, in, p->n_in, (const char *const *)p->keys, (const char *const *)p->vals,
                  p->n_attrs, &y, 1) == AM_OK) {
        am_view v = am_array_view(y), u = am_array_view(w);
        s = 0;
        for (int64_t i = 0; i < am_view_size(&v); i++) s += am_view_get(&v, i) * am_view_get(&u, i);
    }
    am_scope_end();
    return s;
}

static int gradcheck_case(const am_op_case *c)
{
    tu_parsed_case p;
    am_array *in[16], *y = NULL;
    int bad = 0;
    tu_parse_case(c, &p);
    am_scope_begin();
    for (int i = 0; i < p.n_in; i++) {
        in[i] = am_astype(tu_case_input(c, &p, i), AM_DTYPE_FLOAT64);
        am_attach_grad(in[i], AM_GRAD_WRITE);
    }
    am_autograd_record_begin(false);
    am_status st = am_invoke(c->op, in, p.n_in, (const char *const *)p.keys,
                             (const char *const *)p.vals, p.n_attrs, &y, 1);
    am_autograd_end();
    am_array *w = st == AM_OK ? tu_random(am_array_shape(y), AM_DTYPE_FLOAT64, -1, 1) : NULL;
    if (st != AM_OK || am_backward_at(y, w, false, AM_HERE) != AM_OK) {
        printf("\n  %s{%s}: %s", c->op, c->attrs, am_last_error());
        am_scope_end();
        return 1;
    }
    for (int i = 0; i < p.n_in; i++) {
        am_view x = am_array_view(in[i]), g = am_array_view(am_grad(in[i]));
        int64_t n = am_view_size(&x), step = n > 24 ? n / 24 : 1;
        for (int64_t j = 0; j < n; j += step) {
            double x0 = am_view_get(&x, j);
            am_view_set(&x, j, x0 + 1e-6);
            double fp = weighted_sum(c, &p, in, w);
            am_view_set(&x, j, x0 - 1e-6);
            double num = (fp - weighted_sum(c, &p, in, w)) / 2e-6, ana = am_view_get(&g, j);
            am_view_set(&x, j, x0);
            if (!(fabs(ana - num) <= 1e-6 + 1e-5 * fabs(num)) && bad++ < 3)
                printf("\n  %s{%s}[%s] input %d element %lld: analytic %.9g, numerical %.9g",
                       c->op, c->attrs, c->shapes, i, (long long)j, ana, num);
        }
    }
    am_scope_end();
    return bad;
}

static void test_gradcheck_cases(void)
{
    int failed = 0, checked = 0;
    am_seed(7);
    for (const am_op_case *c = am_cases_pool; c->op; c++) {
        const am_op_def *op = am_op_find(c->op);
        if (!op || !op->gradient) continue;
        failed += gradcheck_case(c) > 0;
        checked++;
    }
    if (failed) printf("\n  %d of %d cases have wrong gradients\n", failed, checked);
    CU_ASSERT(checked >= 20);
    CU_ASSERT_EQUAL(failed, 0);
}

/* ---- errors ------------------------------------------------------------------------------ */

#define POOL_FAILS(x, keys, vals, code, msg) TU_ASSERT_FAILS(pool((x), (keys), (vals)), code, msg)

static void test_pooling_errors(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(1, 2, 3, 3), AM_DTYPE_FLOAT32);
    am_array *r = am_ones(AM_SHAPE(1, 2, 5), AM_DTYPE_FLOAT32);
    POOL_FAILS(x, "kernel", "(5, 5)", AM_ERR_SHAPE, "kernel (5, 5) exceeds data (1, 2, 3, 3)");
    POOL_FAILS(x, "kernel|pad|pooling_convention", "(6, 2)|(1, 1)|full", AM_ERR_SHAPE,
               "6 > 5");
    POOL_FAILS(x, "kernel|pool_type", "(2, 2)|median", AM_ERR_FORMAT, "pool_type='median'");
    POOL_FAILS(x, "kernel|pool_type", "(2, 2)|lp", AM_ERR_ARG, "needs p_value");
    POOL_FAILS(x, "kernel|pool_type|p_value", "(2, 2)|lp|0", AM_ERR_ARG, "p_value");
    POOL_FAILS(x, "pool_type", "avg", AM_ERR_ARG, "kernel is required");
    POOL_FAILS(x, "kernel", "(2,)", AM_ERR_SHAPE, "kernel (2,) has 1 entries");
    POOL_FAILS(r, "kernel", "(2, 2)", AM_ERR_SHAPE, "2 entries but data (1, 2, 5)");
    POOL_FAILS(x, "kernel|stride", "(2, 2)|(1,)", AM_ERR_ARG, "stride (1,) must have as many");
    POOL_FAILS(x, "kernel|pad", "(2, 2)|(1, 1, 1)", AM_ERR_ARG, "pad (1, 1, 1)");
    POOL_FAILS(x, "kernel|stride", "(2, 2)|(0, 1)", AM_ERR_ARG, "stride (0, 1) must have entries");
    POOL_FAILS(x, "kernel|pad", "(2, 2)|(-1, 0)", AM_ERR_ARG, "pad (-1, 0)");
    POOL_FAILS(x, "kernel|pooling_convention", "(2, 2)|same", AM_ERR_UNSUPPORTED, "same");
    POOL_FAILS(r, "kernel|pad|pooling_convention", "(2,)|(1,)|same", AM_ERR_ARG, "takes no pad");
    POOL_FAILS(x, "kernel|layout", "(2, 2)|NHWC", AM_ERR_UNSUPPORTED, "layout NHWC");
    POOL_FAILS(x, "kernel|layout", "(2,)|NCW", AM_ERR_SHAPE, "layout NCW does not fit");
    POOL_FAILS(x, "kernel|layout", "(2, 2)|NCHWX", AM_ERR_FORMAT, "layout");
    POOL_FAILS(x, "kernel|count_include_pad", "(2, 2)|maybe", AM_ERR_FORMAT, "count_include_pad");
    am_array *m = am_ones(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    POOL_FAILS(m, "global_pool", "True", AM_ERR_SHAPE, "must be 3-D (N, C, W)");
    am_array *big = am_ones(AM_SHAPE(1, 1, 1, 1, 1, 2), AM_DTYPE_FLOAT32);
    POOL_FAILS(big, "global_pool", "True", AM_ERR_SHAPE, "(1, 1, 1, 1, 1, 2)");
    am_array *xi = am_ones(AM_SHAPE(1, 2, 3, 3), AM_DTYPE_INT32);
    POOL_FAILS(xi, "kernel", "(2, 2)", AM_ERR_DTYPE, "int32");
    int64_t k[4] = {2, 2, 2, 2};
    TU_ASSERT_FAILS(am_pooling(x, "median", k, NULL, NULL, 2, false, NULL, 0, true), AM_ERR_ARG,
                    "Pooling: pool_type 'median'");
    TU_ASSERT_FAILS(am_pooling(x, "max", k, NULL, NULL, 2, false, "ceil", 0, true), AM_ERR_ARG,
                    "pooling_convention 'ceil'");
    TU_ASSERT_FAILS(am_pooling(x, "max", k, NULL, NULL, 4, false, NULL, 0, true), AM_ERR_ARG,
                    "nk 4");
    TU_ASSERT_FAILS(am_pooling(x, "lp", k, NULL, NULL, 2, false, NULL, 0, true), AM_ERR_ARG,
                    "p_value must be a positive integer, got 0");
    /* A NULL input keeps the first failure's message. */
    am_clear_error();
    am_fail(AM_ERR_SHAPE, "first failure");
    CU_ASSERT_PTR_NULL(am_pooling(NULL, "max", k, NULL, NULL, 2, false, NULL, 0, true));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "first failure"));
    am_clear_error();
    /* _backward_Pooling checks ograd and output against the forward shape. */
    am_array *og = am_ones(AM_SHAPE(1, 2, 2, 2), AM_DTYPE_FLOAT32);
    am_array *y1 = am_ones(AM_SHAPE(1, 2, 1, 1), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(unpool(og, x, og, "kernel", "(3, 3)"), AM_ERR_SHAPE,
                    "ograd (1, 2, 2, 2) does not match the Pooling output (1, 2, 1, 1)");
    TU_ASSERT_FAILS(unpool(y1, x, og, "kernel", "(3, 3)"), AM_ERR_SHAPE, "output (1, 2, 2, 2)");
    TU_ASSERT_FAILS(unpool(og, x, am_astype(og, AM_DTYPE_FLOAT64), "kernel", "(2, 2)"),
                    AM_ERR_DTYPE, "input 2 is float64");
    am_scope_end();
}

static void test_upsampling_errors(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(1, 1, 2, 2), AM_DTYPE_FLOAT32);
    am_array *odd = am_ones(AM_SHAPE(1, 1, 3, 3), AM_DTYPE_FLOAT32);
    am_array *wide = am_ones(AM_SHAPE(1, 1, 2, 4), AM_DTYPE_FLOAT32);
    am_array *two = am_ones(AM_SHAPE(1, 2, 4, 4), AM_DTYPE_FLOAT32);
    am_array *batch = am_ones(AM_SHAPE(2, 1, 2, 2), AM_DTYPE_FLOAT32);
    am_array *p[2] = {x, odd};
    TU_ASSERT_FAILS(am_upsampling_multi(p, 2, 2, NULL), AM_ERR_SHAPE,
                    "input 1 (1, 1, 3, 3) does not upsample to (4, 4)");
    p[1] = wide;
    TU_ASSERT_FAILS(am_upsampling_multi(p, 2, 2, NULL), AM_ERR_SHAPE, "by one whole factor");
    p[1] = two;
    TU_ASSERT_FAILS(am_upsampling_multi(p, 2, 2, "sum"), AM_ERR_SHAPE,
                    "'sum' needs equal channels");
    p[1] = batch;
    TU_ASSERT_FAILS(am_upsampling_multi(p, 2, 2, NULL), AM_ERR_SHAPE, "batch size");
    p[1] = am_ones(AM_SHAPE(1, 1, 4, 4), AM_DTYPE_FLOAT64);
    TU_ASSERT_FAILS(am_upsampling_multi(p, 2, 2, NULL), AM_ERR_DTYPE, "input 1 is float64");
    TU_ASSERT_FAILS(am_upsampling_multi(p, 2, 2, "avg"), AM_ERR_ARG, "multi_input_mode 'avg'");
    TU_ASSERT_FAILS(am_upsampling_multi(p, 0, 2, NULL), AM_ERR_ARG, "at least one input");
    TU_ASSERT_FAILS(am_upsampling(x, 0), AM_ERR_ARG, "scale must be at least 1, got 0");
    TU_ASSERT_FAILS(am_upsampling(am_ones(AM_SHAPE(2, 2), AM_DTYPE_FLOAT32), 2), AM_ERR_SHAPE,
                    "must be 4-D");
    TU_ASSERT_FAILS(am_upsampling(am_ones(AM_SHAPE(1, 1, 2, 2), AM_DTYPE_INT64), 2), AM_ERR_DTYPE,
                    "int64");
    TU_ASSERT_FAILS(upsample(&x, 1, "scale", "2"), AM_ERR_ARG, "required attribute 'sample_type'");
    TU_ASSERT_FAILS(upsample(&x, 1, "scale|sample_type|num_args", "2|nearest|2"), AM_ERR_ARG,
                    "expects 2 inputs, got 1");
    am_array *w = am_ones(AM_SHAPE(1, 1, 3, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_upsampling_bilinear(x, w, 2), AM_ERR_SHAPE,
                    "weight (1, 1, 3, 3) must be (1, 1, 4, 4)");
    am_array *xw[2] = {x, am_ones(AM_SHAPE(1, 1, 4, 4), AM_DTYPE_FLOAT32)};
    TU_ASSERT_FAILS(upsample(xw, 2, "scale|sample_type|num_args", "2|bilinear|2"), AM_ERR_ARG,
                    "num_filter 0 must equal the channels");
    am_scope_end();
}

/* 3-D max, avg (full convention, count_include_pad False), sum, lp and global pooling:
 * values and gradients as MXNet 1.9.1 computes them (tests/fixtures/conv3d/make.py). */
static void test_pool3d_mxnet(void)
{
    CU_ASSERT_EQUAL(tu_check_mxnet_fixtures("tests/fixtures/conv3d", "Pooling", 1e-5, 1e-10), 7);
}

/* MXNet takes pooling_convention 'same' for 1-D pooling only, and so does Amber. */
static void test_pool3d_same(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 2, 5, 6, 7), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(tu_invoke1("Pooling", x, "kernel|stride|pooling_convention",
                               "(2, 2, 2)|(2, 2, 2)|same"),
                    AM_ERR_UNSUPPORTED, "pooling_convention 'same' supports 1-D pooling only");
    TU_ASSERT_FAILS(tu_invoke1("Pooling", x, "kernel", "(2, 2)"), AM_ERR_SHAPE,
                    "kernel (2, 2) has 2 entries but data (1, 2, 5, 6, 7) has 3 spatial dims");
    am_scope_end();
}

CU_TestInfo am_tests_ops_pool[] = {
    {"Pooling 3-D: values and gradients against MXNet", test_pool3d_mxnet},
    {"Pooling 3-D: 'same' is 1-D only, kernel rank", test_pool3d_same},
    {"Pooling max: hand-checked values", test_max_values},
    {"Pooling avg and sum: hand-checked values", test_avg_sum_values},
    {"Pooling lp: values and gradient", test_lp_values},
    {"Pooling windows of padding only", test_padding_only_windows},
    {"_backward_Pooling: hand-checked values", test_backward_values},
    {"Pooling through autograd", test_autograd},
    {"am_pooling fills MXNet's attributes", test_c_api},
    {"Pooling against a naive pooling (320 random problems)", test_against_naive},
    {"Pooling on large planes (parallel) against a naive pooling", test_large_against_naive},
    {"UpSampling nearest: values and gradients", test_upsampling_values},
    {"_backward_UpSampling: values", test_upsampling_backward_op},
    {"UpSampling bilinear: values", test_upsampling_bilinear},
    {"UpSampling against naive loops (120 random problems)", test_upsampling_against_naive},
    {"numerical gradients of the pool cases", test_gradcheck_cases},
    {"Pooling errors", test_pooling_errors},
    {"UpSampling errors", test_upsampling_errors},
    CU_TEST_INFO_NULL,
};
