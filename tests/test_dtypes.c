/* The dtypes suite: float16, bfloat16, int8 and bool (docs/dtypes.md).
 * Conversions bit-exact against independent references (every float16
 * pattern; GCC's _Float16 where the compiler has it), the F16C and portable
 * paths against each other, Cast round trips, .npy and .params files
 * (numpy's and MXNet's own), printing as NumPy does, and ops computing
 * through float32: eager, node by node and in a plan. */
#include "test_util.h"

#include <float.h>

#define FIXD "tests/fixtures/dtypes/"

/* expr returns the failing status code with a message holding substr. */
#define STATUS_FAILS(expr, code, substr)                                            \
    do {                                                                            \
        am_clear_error();                                                           \
        CU_ASSERT_EQUAL((expr), (code));                                            \
        CU_ASSERT(strstr(am_last_error(), (substr)) != NULL);                       \
        am_clear_error();                                                           \
    } while (0)

static uint32_t bits_of(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    return x;
}

static float float_of(uint32_t x)
{
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* float16 h as a double, from the definition (not from the code under test). */
static double half_reference(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double s = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 31) return m ? NAN : s * INFINITY;
    if (e == 0) return s * ldexp(m, -24);
    return s * ldexp(1024 + m, e - 25);
}

static void test_half_every_pattern(void)
{
    int bad = 0;
    static float portable[65536], fast[65536];
    static uint16_t all[65536];
    for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    am_half_to_float_n(all, portable, 65536, true);
    am_half_to_float_n(all, fast, 65536, false);
    for (int i = 0; i < 65536 && bad < 5; i++) {
        uint16_t h = (uint16_t)i;
        float f = am_half_to_float(h);
        double want = half_reference(h);
        bool ok = isnan(want) ? isnan(f) && (bits_of(f) & 0x400000u) /* quiet */
                              : (double)f == want && !signbit(f) == !signbit(want);
        ok = ok && bits_of(portable[i]) == bits_of(f) && bits_of(fast[i]) == bits_of(f);
        /* back to the same bits (NaNs: quiet, payload kept) */
        uint16_t back = am_float_to_half(f);
        ok = ok && (isnan(want) ? back == (h | 0x200) : back == h);
        if (!ok && bad++ < 5) printf("\n  float16 0x%04x: got %.9g (0x%08x), back 0x%04x", h, f,
                                     bits_of(f), back);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Every float halfway between two neighbouring float16 values rounds to the
 * even one; a float ulp either side rounds to the nearer. */
static void test_half_rounding(void)
{
    int bad = 0;
    for (int i = 0; i < 0x7bff; i++) { /* every finite positive h and its upper neighbour */
        float lo = am_half_to_float((uint16_t)i), hi = am_half_to_float((uint16_t)(i + 1));
        float mid = (lo + hi) / 2; /* exact: float16 has 11 significant bits */
        uint16_t even = (i & 1) ? (uint16_t)(i + 1) : (uint16_t)i;
        uint16_t got[3] = {am_float_to_half(mid), am_float_to_half(nextafterf(mid, 0)),
                           am_float_to_half(nextafterf(mid, INFINITY))};
        uint16_t want[3] = {even, (uint16_t)i, (uint16_t)(i + 1)};
        for (int k = 0; k < 3; k++) {
            float v = k == 0 ? mid : k == 1 ? nextafterf(mid, 0) : nextafterf(mid, INFINITY);
            uint16_t neg = am_float_to_half(-v);
            if ((got[k] != want[k] || neg != (want[k] | 0x8000)) && bad++ < 5)
                printf("\n  %.9g -> 0x%04x, want 0x%04x", v, got[k], want[k]);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(am_float_to_half(65519.996f), 0x7bff); /* below the tie: max */
    CU_ASSERT_EQUAL(am_float_to_half(65520.0f), 0x7c00);   /* the tie rounds to even: inf */
    CU_ASSERT_EQUAL(am_float_to_half(1e10f), 0x7c00);
    CU_ASSERT_EQUAL(am_float_to_half(-INFINITY), 0xfc00);
    CU_ASSERT_EQUAL(am_float_to_half(-0.0f), 0x8000);
    CU_ASSERT_EQUAL(am_float_to_half(ldexpf(1, -25)), 0x0000);        /* tie: to 0 */
    CU_ASSERT_EQUAL(am_float_to_half(ldexpf(3, -25)), 0x0002);        /* tie: to even 2 */
    CU_ASSERT_EQUAL(am_float_to_half(nextafterf(ldexpf(1, -25), 1)), 0x0001);
    CU_ASSERT_EQUAL(am_float_to_half(ldexpf(1023.5f, -24)), 0x0400);  /* up to the first normal */
    CU_ASSERT_EQUAL(am_float_to_half(float_of(0x7fc00001)) & 0x7e00, 0x7e00); /* quiet NaN */
    CU_ASSERT_EQUAL(am_float_to_half(float_of(0xff800001)), 0xfe00); /* signalling: made quiet */
}

/* The portable and F16C paths give the same bits on many floats, NaNs and
 * subnormals included; and GCC's _Float16 agrees (an independent rounding). */
static void test_half_paths_agree(void)
{
    enum { N = 1 << 20 };
    float *f = malloc(N * sizeof(float));
    uint16_t *a = malloc(N * 2), *b = malloc(N * 2);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t x = (uint32_t)s;
        if (i % 4 == 1) x = (x & 0x8000ffffu) | (0x33000000u + ((uint32_t)(s >> 40) & 0x0fffffffu));
        f[i] = float_of(x); /* every pattern class: NaNs, infinities, subnormals */
    }
    am_half_from_float_n(f, a, N, true);
    am_half_from_float_n(f, b, N, false);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        bool ok = a[i] == b[i] && a[i] == am_float_to_half(f[i]);
#ifdef __FLT16_MAX__
        if (!isnan(f[i])) {
            _Float16 r = (_Float16)f[i];
            uint16_t rb;
            memcpy(&rb, &r, 2);
            ok = ok && rb == a[i];
        }
#endif
        if (!ok && bad++ < 5) printf("\n  0x%08x: portable 0x%04x, fast 0x%04x", bits_of(f[i]), a[i], b[i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(f), free(a), free(b);
}

static void test_bfloat16(void)
{
    int bad = 0;
    for (int i = 0; i < 65536; i++) { /* every pattern reads as its top half and back */
        float f = am_bfloat16_to_float((uint16_t)i);
        CU_ASSERT_EQUAL(bits_of(f), (uint32_t)i << 16);
        uint16_t back = am_float_to_bfloat16(f);
        if ((isnan(f) ? back != (i | 0x40) : back != i) && bad++ < 5)
            printf("\n  bfloat16 0x%04x back 0x%04x", i, back);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(am_float_to_bfloat16(1.0f + ldexpf(1, -8)), 0x3f80);     /* tie to even */
    CU_ASSERT_EQUAL(am_float_to_bfloat16(1.0f + ldexpf(3, -8)), 0x3f82);     /* tie to even */
    CU_ASSERT_EQUAL(am_float_to_bfloat16(nextafterf(1.0f + ldexpf(1, -8), 2)), 0x3f81);
    CU_ASSERT_EQUAL(am_float_to_bfloat16(-1.0f), 0xbf80);
    CU_ASSERT_EQUAL(am_float_to_bfloat16(FLT_MAX), 0x7f80); /* rounds up to inf */
    CU_ASSERT_EQUAL(am_float_to_bfloat16(float_of(0x00008000)), 0x0000); /* subnormal tie */
    CU_ASSERT_EQUAL(am_float_to_bfloat16(float_of(0x00018000)), 0x0002);
    CU_ASSERT_EQUAL(am_float_to_bfloat16(float_of(0x7f800001)), 0x7fc0); /* quiet NaN */
    CU_ASSERT_EQUAL(am_float_to_bfloat16(0.1f), 0x3dcd);
}

static void test_names_and_flags(void)
{
    static const struct {
        am_dtype t;
        const char *name;
        size_t size;
        int flag;
    } want[] = {{AM_DTYPE_FLOAT16, "float16", 2, 2}, {AM_DTYPE_BFLOAT16, "bfloat16", 2, 12},
                {AM_DTYPE_INT8, "int8", 1, 5},       {AM_DTYPE_BOOL, "bool", 1, 7}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        am_dtype t;
        CU_ASSERT_STRING_EQUAL(am_dtype_name(want[i].t), want[i].name);
        CU_ASSERT_EQUAL(am_dtype_size(want[i].t), want[i].size);
        CU_ASSERT_EQUAL(am_dtype_to_mxnet(want[i].t), want[i].flag);
        CU_ASSERT(am_dtype_from_mxnet(want[i].flag, &t) && t == want[i].t);
        CU_ASSERT(am_dtype_from_name(want[i].name, &t) && t == want[i].t);
    }
    CU_ASSERT(am_dtype_is_float(AM_DTYPE_FLOAT16) && am_dtype_is_float(AM_DTYPE_BFLOAT16));
    CU_ASSERT(!am_dtype_is_float(AM_DTYPE_BOOL) && !am_dtype_is_float(AM_DTYPE_INT8));
    CU_ASSERT_EQUAL(am_dtype_compute(AM_DTYPE_FLOAT16), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_dtype_compute(AM_DTYPE_BOOL), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_dtype_compute(AM_DTYPE_INT8), AM_DTYPE_INT32);
    CU_ASSERT_EQUAL(am_dtype_compute(AM_DTYPE_FLOAT64), AM_DTYPE_FLOAT64);
}

static void test_cast(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(6), 0.1, -2.5, 70000, 1e-8, 0.5, NAN);
    am_array *h = am_astype(x, AM_DTYPE_FLOAT16);
    CU_ASSERT_EQUAL(am_array_dtype(h), AM_DTYPE_FLOAT16);
    const uint16_t *hb = am_array_ptr(h);
    CU_ASSERT(hb[0] == 0x2e66 && hb[1] == 0xc100 && hb[2] == 0x7c00 && hb[3] == 0x0000 &&
              hb[4] == 0x3800 && (hb[5] & 0x7e00) == 0x7e00);
    am_array *back = am_astype(h, AM_DTYPE_FLOAT32);
    CU_ASSERT_DOUBLE_EQUAL(am_item(back, 0), 0.0999755859375, 0);
    CU_ASSERT(isinf(am_item(back, 2)) && isnan(am_item(back, 5)));
    /* to bool: value != 0 (NaN is true, as in NumPy); back gives 0 and 1 */
    am_array *b = am_astype(x, AM_DTYPE_BOOL);
    TU_ASSERT_VALUES(am_astype(b, AM_DTYPE_INT32), AM_SHAPE(6), 0, 1, 1, 1, 1, 1, 1);
    TU_ASSERT_VALUES(am_astype(tu_array(AM_DTYPE_FLOAT16, AM_SHAPE(3), 0, -0.0, 2), AM_DTYPE_BOOL),
                     AM_SHAPE(3), 0, 0, 0, 1);
    /* int8: float truncates toward zero; every int8 goes through float16 exactly */
    TU_ASSERT_VALUES(am_astype(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), -1.7, 1.7, 127), AM_DTYPE_INT8),
                     AM_SHAPE(3), 0, -1, 1, 127);
    am_array *all = am_astype(am_arange(-128, 128, 1, AM_DTYPE_INT32), AM_DTYPE_INT8);
    am_array *rt = am_astype(am_astype(am_astype(all, AM_DTYPE_FLOAT16), AM_DTYPE_BFLOAT16), AM_DTYPE_INT8);
    CU_ASSERT(memcmp(am_array_ptr(rt), am_array_ptr(all), 256) == 0);
    /* float16 -> bfloat16 -> float16 keeps what bfloat16 can hold */
    TU_ASSERT_VALUES(am_astype(am_astype(tu_array(AM_DTYPE_FLOAT16, AM_SHAPE(2), 0.1, 3), AM_DTYPE_BFLOAT16),
                               AM_DTYPE_FLOAT64),
                     AM_SHAPE(2), 0, 0.10009765625, 3);
    /* the gradient of a Cast to float16 comes back in float32 */
    am_array *p = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2);
    am_attach_grad(p, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = am_sum(am_astype(p, AM_DTYPE_FLOAT16), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT16);
    CU_ASSERT_EQUAL_FATAL(am_backward(y), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(am_grad(p)), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_grad(p), AM_SHAPE(2), 0, 1, 1);
    am_scope_end();
}

/* An op on float16 inputs gives the float32 result rounded once to float16. */
static void test_ops_compute_through_float32(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(3, 5), AM_DTYPE_FLOAT16, -2, 2);
    am_array *w = tu_random(AM_SHAPE(4, 5), AM_DTYPE_FLOAT16, -2, 2);
    am_array *b = tu_random(AM_SHAPE(4), AM_DTYPE_FLOAT16, -1, 1);
    am_array *y = am_fully_connected(x, w, b, 4, false, true);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT16);
    am_array *y32 = am_fully_connected(am_astype(x, AM_DTYPE_FLOAT32), am_astype(w, AM_DTYPE_FLOAT32),
                                       am_astype(b, AM_DTYPE_FLOAT32), 4, false, true);
    am_array *want = am_astype(y32, AM_DTYPE_FLOAT16);
    CU_ASSERT(memcmp(am_array_ptr(y), am_array_ptr(want), 12 * 2) == 0);
    /* elementwise in bfloat16; comparisons keep the input dtype (MXNet 1.x) */
    am_array *g = am_broadcast_greater(x, am_zeros(AM_SHAPE(1), AM_DTYPE_FLOAT16));
    CU_ASSERT_EQUAL(am_array_dtype(g), AM_DTYPE_FLOAT16);
    am_array *r = am_relu(am_astype(x, AM_DTYPE_BFLOAT16));
    CU_ASSERT_EQUAL(am_array_dtype(r), AM_DTYPE_BFLOAT16);
    CU_ASSERT(tu_allclose(am_astype(r, AM_DTYPE_FLOAT32), am_relu(am_astype(x, AM_DTYPE_FLOAT32)), 1e-2));
    /* an output the op fixes keeps its dtype */
    am_array *c = am_astype(x, AM_DTYPE_INT32);
    CU_ASSERT_EQUAL(am_array_dtype(c), AM_DTYPE_INT32);
    /* int8 computes through int32 and wraps as MXNet's int8 does; bool through
     * float32: True + True is True (nonzero), as in NumPy */
    am_array *i8 = tu_array(AM_DTYPE_INT8, AM_SHAPE(3), 100, -100, 5);
    TU_ASSERT_VALUES(am_add(i8, i8), AM_SHAPE(3), 0, -56, 56, 10);
    CU_ASSERT_EQUAL(am_array_dtype(am_add(i8, i8)), AM_DTYPE_INT8);
    am_array *t = tu_array(AM_DTYPE_BOOL, AM_SHAPE(2), 1, 0);
    am_array *tt = am_add(t, t);
    CU_ASSERT_EQUAL(am_array_dtype(tt), AM_DTYPE_BOOL);
    CU_ASSERT(((const uint8_t *)am_array_ptr(tt))[0] == 1 && ((const uint8_t *)am_array_ptr(tt))[1] == 0);
    /* creation in every dtype */
    am_array *z = am_full(AM_SHAPE(2), AM_DTYPE_FLOAT16, 0.1);
    CU_ASSERT_EQUAL(((const uint16_t *)am_array_ptr(z))[1], 0x2e66);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_ones(AM_SHAPE(1), AM_DTYPE_BFLOAT16), 0), 1, 0);
    am_scope_end();
}

/* A float16 graph: node by node and in plans (optimized or not) each give
 * the eager result, bit for bit. */
static void test_graphs(void)
{
    am_scope_begin();
    am_array *xv = tu_random(AM_SHAPE(2, 6), AM_DTYPE_FLOAT16, -1, 1);
    am_array *wv = tu_random(AM_SHAPE(3, 6), AM_DTYPE_FLOAT16, -1, 1);
    am_array *want = am_tanh(am_relu(am_fully_connected(xv, wv, NULL, 3, true, true)));
    am_array *x = am_var("x", AM_SHAPE(2, 6), AM_DTYPE_FLOAT16);
    am_array *w = am_var("w", AM_SHAPE(3, 6), AM_DTYPE_FLOAT16);
    am_array *y = am_tanh(am_relu(am_fully_connected(x, w, NULL, 3, true, true)));
    am_graph *g = am_graph_create(&y, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[2] = {"x", "w"};
    am_array *vals[2] = {xv, wv}, *out = NULL;
    CU_ASSERT_EQUAL_FATAL(am_graph_eval(g, names, vals, 2, false, &out, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(out), AM_DTYPE_FLOAT16);
    CU_ASSERT(memcmp(am_array_ptr(out), am_array_ptr(want), 6 * 2) == 0);
    for (int opt = 0; opt < 2; opt++) {
        am_plan *p = am_plan_create(g, &(am_plan_opts){.no_optimize = opt == 1});
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(am_plan_bind(p, "x", xv), AM_OK);
        CU_ASSERT_EQUAL(am_plan_bind(p, "w", wv), AM_OK);
        CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
        am_array *o = am_plan_output(p, 0);
        CU_ASSERT_EQUAL(am_array_dtype(o), AM_DTYPE_FLOAT16);
        CU_ASSERT(memcmp(am_array_ptr(o), am_array_ptr(want), 6 * 2) == 0);
        /* the plan computes in float32 between Casts; its inputs stay float16 */
        STATUS_FAILS(am_plan_bind(p, "x", am_astype(xv, AM_DTYPE_FLOAT32)), AM_ERR_DTYPE, "float16");
        am_plan_release(p);
    }
    /* JSON keeps the variables' dtype (__dtype__ 2) */
    char *json = am_graph_to_json(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT(strstr(json, "\"__dtype__\": \"2\"") != NULL);
    am_graph *g2 = am_graph_from_json(json);
    am_dtype t = AM_DTYPE_COUNT;
    am_shape s;
    CU_ASSERT(g2 && am_graph_input_shape(g2, "x", &s, &t) == AM_OK && t == AM_DTYPE_FLOAT16);
    free(json);
    am_graph_release(g2);
    am_graph_release(g);
    am_scope_end();
}

static void test_print(void)
{
    static const struct {
        am_dtype t;
        am_shape s;
        double v[4];
        const char *want;
    } cases[] = {
        {AM_DTYPE_FLOAT16, {1, {3}}, {0.1, 0.2, 1.0 / 3}, "[0.1    0.2    0.3333]"},
        {AM_DTYPE_FLOAT16, {1, {2}}, {65504, -2}, "[ 6.55e+04 -2.00e+00]"},
        {AM_DTYPE_FLOAT16, {0, {0}}, {0.1}, "0.1"},
        {AM_DTYPE_BFLOAT16, {1, {2}}, {1, 0.1}, "[1.  0.1]"},
        {AM_DTYPE_BOOL, {1, {2}}, {1, 0}, "[ True False]"},
        {AM_DTYPE_BOOL, {2, {1, 2}}, {1, 1}, "[[ True  True]]"},
        {AM_DTYPE_BOOL, {0, {0}}, {0}, "False"},
        {AM_DTYPE_INT8, {1, {3}}, {-128, 7, 127}, "[-128    7  127]"},
    };
    am_scope_begin();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        am_array *x = tu_array_from(cases[i].t, cases[i].s, cases[i].v, am_shape_size(&cases[i].s));
        char *s = am_to_string(x);
        if (!s || strcmp(s, cases[i].want) != 0)
            printf("\n  %s: '%s', want '%s'", am_dtype_name(cases[i].t), s ? s : "(null)", cases[i].want);
        CU_ASSERT(s && strcmp(s, cases[i].want) == 0);
        free(s);
    }
    am_scope_end();
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 16);
    *n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* numpy's files load, and saving them again gives numpy's bytes. */
static void test_npy(void)
{
    static const struct {
        const char *file;
        am_dtype t;
        am_shape s;
        double v[6];
    } files[] = {
        {FIXD "f2.npy", AM_DTYPE_FLOAT16, {2, {2, 3}}, {0.0999755859375, -2.5, 65504, 5.960464477539063e-08, -0.0, 0.333251953125}},
        {FIXD "i1.npy", AM_DTYPE_INT8, {1, {4}}, {-128, -1, 0, 127}},
        {FIXD "b1.npy", AM_DTYPE_BOOL, {2, {1, 3}}, {1, 0, 1}},
    };
    am_scope_begin();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        am_array *x = am_npy_load(files[i].file);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        CU_ASSERT_EQUAL(am_array_dtype(x), files[i].t);
        CU_ASSERT(tu_values_are(x, files[i].s, files[i].v, am_shape_size(&files[i].s), 0));
        size_t n1 = 0, n2 = 0;
        CU_ASSERT_EQUAL_FATAL(am_npy_save("build/test_dtypes.npy", x), AM_OK);
        char *a = read_all(files[i].file, &n1), *b = read_all("build/test_dtypes.npy", &n2);
        CU_ASSERT(a && b && n1 == n2 && memcmp(a, b, n1) == 0);
        free(a), free(b);
    }
    STATUS_FAILS(am_npy_save("build/test_dtypes.npy", am_zeros(AM_SHAPE(2), AM_DTYPE_BFLOAT16)),
                    AM_ERR_DTYPE, "bfloat16 has no NumPy dtype");
    remove("build/test_dtypes.npy");
    am_scope_end();
}

/* MXNet's own file with float16, int8 and bool arrays loads and saves back
 * byte for byte; bfloat16 round trips under flag 12. */
static void test_params(void)
{
    am_scope_begin();
    size_t n = 0;
    char *raw = read_all(FIXD "mxnet_dtypes.params", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    am_ndlist *l = am_ndlist_load_buffer(raw, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    am_array *h = am_ndlist_find(l, "half"), *i8 = am_ndlist_find(l, "int8"), *b = am_ndlist_find(l, "bool");
    CU_ASSERT_FATAL(h && i8 && b);
    CU_ASSERT(am_array_dtype(h) == AM_DTYPE_FLOAT16 && am_array_dtype(i8) == AM_DTYPE_INT8 &&
              am_array_dtype(b) == AM_DTYPE_BOOL);
    TU_ASSERT_VALUES(h, AM_SHAPE(2, 3), 0, 0.0999755859375, -2.5, 65504, 5.960464477539063e-08, -0.0,
                     0.333251953125);
    TU_ASSERT_VALUES(i8, AM_SHAPE(4), 0, -128, -1, 0, 127);
    TU_ASSERT_VALUES(b, AM_SHAPE(3), 0, 1, 0, 1);
    void *out = NULL;
    size_t m = 0;
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save_buffer(l, &out, &m), AM_OK);
    CU_ASSERT(m == n && memcmp(out, raw, n) == 0);
    free(out);
    am_ndlist_free(l);
    free(raw);

    am_ndlist *bl = am_ndlist_create();
    am_array *bf = am_astype(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0.1, -3, 1e30), AM_DTYPE_BFLOAT16);
    CU_ASSERT_EQUAL(am_ndlist_add(bl, "arg:w", bf), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_ndlist_save_buffer(bl, &out, &m), AM_OK);
    am_ndlist *back = am_ndlist_load_buffer(out, m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    am_array *r = am_ndlist_get(back, 0);
    CU_ASSERT(am_array_dtype(r) == AM_DTYPE_BFLOAT16 && memcmp(am_array_ptr(r), am_array_ptr(bf), 6) == 0);
    free(out);
    am_ndlist_free(back);
    am_ndlist_free(bl);
    am_scope_end();
}

CU_TestInfo am_tests_dtypes[] = {
    {"every float16 pattern converts exactly and back", test_half_every_pattern},
    {"float32 -> float16 rounds to nearest even", test_half_rounding},
    {"F16C, portable and _Float16 conversions agree", test_half_paths_agree},
    {"bfloat16 conversions and rounding", test_bfloat16},
    {"names, sizes and MXNet type flags", test_names_and_flags},
    {"Cast round trips, bool and int8", test_cast},
    {"ops compute float16 through float32, int8 through int32", test_ops_compute_through_float32},
    {"float16 graphs node by node and in plans", test_graphs},
    {"printing as NumPy does", test_print},
    {".npy files as numpy writes them", test_npy},
    {".params files as MXNet writes them", test_params},
    CU_TEST_INFO_NULL,
};
