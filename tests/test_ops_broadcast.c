/* The ops_broadcast suite: elemwise_*, broadcast_*, clip, where and add_n against
 * hand-checked values and a naive per-element reference, plus their errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64
#define U8 AM_DTYPE_UINT8

static am_shape shape_of(const char *s)
{
    am_shape sh = {0};
    while (*s) {
        sh.dim[sh.ndim++] = strtoll(s, (char **)&s, 10);
        if (*s == ',') s++;
    }
    return sh;
}

/* ---- a naive reference: unravel every output index, compute in double ------------- */

typedef am_array *(*binary_api)(am_array *, am_array *, am_site);

static const struct {
    const char *name;
    binary_api fn;
} kinds[] = {
    {"add", am_broadcast_add_at},         {"sub", am_broadcast_sub_at},
    {"mul", am_broadcast_mul_at},         {"div", am_broadcast_div_at},
    {"mod", am_broadcast_mod_at},         {"power", am_broadcast_power_at},
    {"maximum", am_broadcast_maximum_at}, {"minimum", am_broadcast_minimum_at},
    {"equal", am_broadcast_equal_at},     {"not_equal", am_broadcast_not_equal_at},
    {"greater", am_broadcast_greater_at}, {"greater_equal", am_broadcast_greater_equal_at},
    {"lesser", am_broadcast_lesser_at},   {"lesser_equal", am_broadcast_lesser_equal_at},
};
#define N_KINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))

/* The documented semantics, written independently of the kernels. */
static double ref_value(int k, double a, double b, bool is_int)
{
    switch (k) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return is_int ? (b == 0 ? 0 : trunc(a / b)) : a / b;
    case 4: {
        if (b == 0) return 0;
        double r = fmod(a, b); /* exact; then move into the divisor's sign */
        return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
    }
    case 5: return is_int ? (a == 0 && b < 0 ? 0 : trunc(pow(a, b))) : pow(a, b);
    case 6: return isnan(a) || isnan(b) ? NAN : fmax(a, b);
    case 7: return isnan(a) || isnan(b) ? NAN : fmin(a, b);
    case 8: return a == b;
    case 9: return a != b;
    case 10: return a > b;
    case 11: return a >= b;
    case 12: return a < b;
    default: return a <= b;
    }
}

/* Flat index into x (of shape xs, right-aligned to out) for output index i. */
static int64_t source_index(const am_shape *out, const am_shape *xs, int64_t i)
{
    int64_t src = 0, stride = 1;
    for (int d = out->ndim - 1, k = xs->ndim - 1; d >= 0; d--, k--) {
        int64_t idx = i % out->dim[d];
        i /= out->dim[d];
        if (k < 0) continue;
        if (xs->dim[k] != 1) src += idx * stride;
        stride *= xs->dim[k];
    }
    return src;
}

static am_array *ref_binary(int k, am_array *a, am_array *b, am_shape out_shape)
{
    am_array *y = am_zeros(out_shape, am_array_dtype(a));
    am_view va = am_array_view(a), vb = am_array_view(b), vy = am_array_view(y);
    am_shape sa = am_array_shape(a), sb = am_array_shape(b);
    bool is_int = !am_dtype_is_float(am_array_dtype(a));
    for (int64_t i = 0; i < am_view_size(&vy); i++) {
        double x = am_view_get(&va, source_index(&out_shape, &sa, i));
        double z = am_view_get(&vb, source_index(&out_shape, &sb, i));
        am_view_set(&vy, i, ref_value(k, x, z, is_int));
    }
    return y;
}

/* Inputs whose results stay in range: small integers, positive float bases for power. */
static am_array *ref_input(am_shape s, am_dtype t, int k, bool exponent)
{
    if (am_dtype_is_float(t))
        return k == 5 && !exponent ? tu_random(s, t, 0.5, 2) : tu_random(s, t, -2, 2);
    double lo = t == U8 ? 0 : -6, hi = k == 5 ? 4 : 7;
    am_array *r = tu_random(s, F64, lo, hi);
    am_view v = am_array_view(r);
    for (int64_t i = 0; i < am_view_size(&v); i++) am_view_set(&v, i, floor(am_view_get(&v, i)));
    return am_astype(r, t);
}

static void test_reference(void)
{
    static const char *const pairs[][3] = {
        {"2,3", "2,3", "2,3"},     {"2,3", "3", "2,3"},           {"2,1,4", "3,1", "2,3,4"},
        {"1", "2,3", "2,3"},       {"", "4", "4"},                {"4,1", "4,5", "4,5"},
        {"3,1", "1,4", "3,4"},     {"3,1,1,2", "1,4,5,1", "3,4,5,2"},
        {"5", "300,5", "300,5"},   {"300,5", "5", "300,5"},       {"40000,3", "3", "40000,3"},
        {"3,1", "3,40000", "3,40000"}, {"50,7,100", "7,1", "50,7,100"}, {"0,3", "1,3", "0,3"},
    };
    static const am_dtype types[] = {F32, F64, I32, I64, U8};
    for (int p = 0; p < (int)(sizeof(pairs) / sizeof(pairs[0])); p++)
        for (int k = 0; k < N_KINDS; k++)
            for (int t = 0; t < 5; t++) {
                if (types[t] == U8 && k == 1) continue; /* wraps below 0: see test_uint8 */
                am_shape out = shape_of(pairs[p][2]);
                if (am_shape_size(&out) > 10000 && (types[t] == I64 || types[t] == U8)) continue;
                am_scope_begin();
                am_array *a = ref_input(shape_of(pairs[p][0]), types[t], k, false);
                am_array *b = ref_input(shape_of(pairs[p][1]), types[t], k, true);
                am_array *y = kinds[k].fn(a, b, AM_HERE);
                bool ok = tu_allclose(y, ref_binary(k, a, b, out), 1e-5);
                if (!ok) printf("  broadcast_%s %s %s (%s)\n", kinds[k].name, pairs[p][0],
                                pairs[p][1], am_dtype_name(types[t]));
                CU_ASSERT(ok);
                CU_ASSERT_EQUAL(am_array_dtype(y), types[t]);
                am_scope_end();
            }
}

/* ---- hand-checked values -------------------------------------------------------------- */

static void test_elemwise(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *b = tu_array(F32, AM_SHAPE(2, 3), 6, 5, 4, 3, 2, 1);
    TU_ASSERT_VALUES(am_elemwise_add(a, b), AM_SHAPE(2, 3), 0, 7, 7, 7, 7, 7, 7);
    TU_ASSERT_VALUES(am_elemwise_sub(a, b), AM_SHAPE(2, 3), 0, -5, -3, -1, 1, 3, 5);
    TU_ASSERT_VALUES(am_elemwise_mul(a, b), AM_SHAPE(2, 3), 0, 6, 10, 12, 12, 10, 6);
    TU_ASSERT_VALUES(am_elemwise_div(a, b), AM_SHAPE(2, 3), 1e-7, 1.0 / 6, 0.4, 0.75, 4.0 / 3,
                     2.5, 6);
    am_array *i = tu_array(I32, AM_SHAPE(5), 7, -7, 7, -7, 5);
    am_array *j = tu_array(I32, AM_SHAPE(5), 2, 2, -2, -2, 0);
    TU_ASSERT_VALUES(am_elemwise_div(i, j), AM_SHAPE(5), 0, 3, -3, -3, 3, 0); /* truncates */
    am_array *d = tu_array(F64, AM_SHAPE(2), 0.1, -1e300);
    TU_ASSERT_VALUES(am_elemwise_mul(d, d), AM_SHAPE(2), 1e-12, 0.01, INFINITY);
    am_array *e = am_zeros(AM_SHAPE(0, 4), I64);
    CU_ASSERT(tu_values_are(am_elemwise_add(e, e), AM_SHAPE(0, 4), NULL, 0, 0));
    am_array *s = am_full(AM_SHAPE(), F32, 2.5);
    TU_ASSERT_VALUES(am_elemwise_add(s, s), AM_SHAPE(), 0, 5);
    CU_ASSERT_EQUAL(am_array_dtype(am_elemwise_add(i, j)), I32);
    am_scope_end();
}

/* MXNet's aliases reach the same entries, through the registry and am_invoke. */
static void test_aliases(void)
{
    static const char *const alias[][2] = {
        {"_add", "elemwise_add"}, {"_plus", "elemwise_add"}, {"_Plus", "elemwise_add"},
        {"_sub", "elemwise_sub"}, {"_minus", "elemwise_sub"}, {"_Minus", "elemwise_sub"},
        {"_mul", "elemwise_mul"}, {"_Mul", "elemwise_mul"}, {"_div", "elemwise_div"},
        {"_Div", "elemwise_div"}, {"broadcast_plus", "broadcast_add"},
        {"broadcast_minus", "broadcast_sub"}, {"ElementWiseSum", "add_n"},
    };
    for (size_t k = 0; k < sizeof(alias) / sizeof(alias[0]); k++) {
        const am_op_def *op = am_op_find(alias[k][0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        CU_ASSERT_STRING_EQUAL(op->name, alias[k][1]);
    }
    am_scope_begin();
    am_array *in[2] = {tu_array(F32, AM_SHAPE(2, 1), 1, 2), tu_array(F32, AM_SHAPE(3), 10, 20, 30)};
    am_array *y = NULL;
    CU_ASSERT_EQUAL(am_invoke("broadcast_minus", in, 2, NULL, NULL, 0, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, -9, -19, -29, -8, -18, -28);
    CU_ASSERT_EQUAL(am_invoke("ElementWiseSum", in, 1, (const char *[]){"num_args"},
                              (const char *[]){"1"}, 1, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 1), 0, 1, 2);
    am_scope_end();
}

static void test_patterns(void)
{
    am_scope_begin();
    am_array *m = tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *row = tu_array(F32, AM_SHAPE(3), 10, 20, 30);
    am_array *col = tu_array(F32, AM_SHAPE(2, 1), 10, 20);
    TU_ASSERT_VALUES(am_add(m, row), AM_SHAPE(2, 3), 0, 11, 22, 33, 14, 25, 36);
    TU_ASSERT_VALUES(am_sub(row, m), AM_SHAPE(2, 3), 0, 9, 18, 27, 6, 15, 24);
    TU_ASSERT_VALUES(am_sub(m, col), AM_SHAPE(2, 3), 0, -9, -8, -7, -16, -15, -14);
    TU_ASSERT_VALUES(am_sub(col, m), AM_SHAPE(2, 3), 0, 9, 8, 7, 16, 15, 14);
    TU_ASSERT_VALUES(am_mul(m, tu_array(F32, AM_SHAPE(1), 2)), AM_SHAPE(2, 3), 0, 2, 4, 6, 8, 10,
                     12);
    TU_ASSERT_VALUES(am_div(am_full(AM_SHAPE(), F32, 12), m), AM_SHAPE(2, 3), 1e-7, 12, 6, 4, 3,
                     2.4, 2);
    /* (3, 1) + (1, 4): both broadcast */
    am_array *c3 = tu_array(F32, AM_SHAPE(3, 1), 1, 2, 3);
    am_array *r4 = tu_array(F32, AM_SHAPE(1, 4), 10, 20, 30, 40);
    TU_ASSERT_VALUES(am_add(c3, r4), AM_SHAPE(3, 4), 0, 11, 21, 31, 41, 12, 22, 32, 42, 13, 23,
                     33, 43);
    /* (2, 1, 4) + (3, 1) -> (2, 3, 4): out[i, j, k] = a[i, k] + b[j] */
    am_array *a = tu_array(F32, AM_SHAPE(2, 1, 4), 0, 1, 2, 3, 4, 5, 6, 7);
    am_array *b = tu_array(F32, AM_SHAPE(3, 1), 100, 200, 300);
    TU_ASSERT_VALUES(am_add(a, b), AM_SHAPE(2, 3, 4), 0, 100, 101, 102, 103, 200, 201, 202, 203,
                     300, 301, 302, 303, 104, 105, 106, 107, 204, 205, 206, 207, 304, 305, 306,
                     307);
    /* size-0 dimensions broadcast against 1 and give empty results */
    am_array *e03 = am_zeros(AM_SHAPE(0, 3), F32), *e20 = am_zeros(AM_SHAPE(2, 0), F32);
    CU_ASSERT(tu_values_are(am_add(e03, row), AM_SHAPE(0, 3), NULL, 0, 0));
    CU_ASSERT(tu_values_are(am_add(e20, col), AM_SHAPE(2, 0), NULL, 0, 0));
    CU_ASSERT(tu_values_are(am_mul(am_zeros(AM_SHAPE(1, 0), F32), am_zeros(AM_SHAPE(3, 1), F32)),
                            AM_SHAPE(3, 0), NULL, 0, 0));
    am_scope_end();
}

/* Every broadcast op on one float32 pair, then a broadcast pair. */
static void test_each_op(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(6), -3, -1, 0, 2, 5, 7.5);
    am_array *b = tu_array(F32, AM_SHAPE(6), 2, -2, 3, 2, -3, 2);
    TU_ASSERT_VALUES(am_broadcast_add(a, b), AM_SHAPE(6), 0, -1, -3, 3, 4, 2, 9.5);
    TU_ASSERT_VALUES(am_broadcast_sub(a, b), AM_SHAPE(6), 0, -5, 1, -3, 0, 8, 5.5);
    TU_ASSERT_VALUES(am_broadcast_mul(a, b), AM_SHAPE(6), 0, -6, 2, 0, 4, -15, 15);
    TU_ASSERT_VALUES(am_broadcast_div(a, b), AM_SHAPE(6), 1e-7, -1.5, 0.5, 0, 1, -5.0 / 3, 3.75);
    /* Python: -3 % 2 = 1, -1 % -2 = -1, 5 % -3 = -1, 7.5 % 2 = 1.5 */
    TU_ASSERT_VALUES(am_broadcast_mod(a, b), AM_SHAPE(6), 0, 1, -1, 0, 0, -1, 1.5);
    TU_ASSERT_VALUES(am_broadcast_power(a, b), AM_SHAPE(6), 1e-7, 9, 1, 0, 4, 0.008, 56.25);
    TU_ASSERT_VALUES(am_broadcast_maximum(a, b), AM_SHAPE(6), 0, 2, -1, 3, 2, 5, 7.5);
    TU_ASSERT_VALUES(am_broadcast_minimum(a, b), AM_SHAPE(6), 0, -3, -2, 0, 2, -3, 2);
    TU_ASSERT_VALUES(am_broadcast_equal(a, b), AM_SHAPE(6), 0, 0, 0, 0, 1, 0, 0);
    TU_ASSERT_VALUES(am_broadcast_not_equal(a, b), AM_SHAPE(6), 0, 1, 1, 1, 0, 1, 1);
    TU_ASSERT_VALUES(am_broadcast_greater(a, b), AM_SHAPE(6), 0, 0, 1, 0, 0, 1, 1);
    TU_ASSERT_VALUES(am_broadcast_greater_equal(a, b), AM_SHAPE(6), 0, 0, 1, 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_broadcast_lesser(a, b), AM_SHAPE(6), 0, 1, 0, 1, 0, 0, 0);
    TU_ASSERT_VALUES(am_broadcast_lesser_equal(a, b), AM_SHAPE(6), 0, 1, 0, 1, 1, 0, 0);
    CU_ASSERT_EQUAL(am_array_dtype(am_broadcast_lesser_equal(a, b)), F32);

    /* (2, 1) against (3,): every op broadcasts both ways */
    am_array *c = tu_array(F64, AM_SHAPE(2, 1), 4, -5);
    am_array *r = tu_array(F64, AM_SHAPE(3), 3, -4, 4);
    TU_ASSERT_VALUES(am_broadcast_mod(c, r), AM_SHAPE(2, 3), 0, 1, 0, 0, 1, -1, 3);
    TU_ASSERT_VALUES(am_broadcast_mod(r, c), AM_SHAPE(2, 3), 0, 3, 0, 0, -2, -4, -1);
    TU_ASSERT_VALUES(am_broadcast_maximum(c, r), AM_SHAPE(2, 3), 0, 4, 4, 4, 3, -4, 4);
    TU_ASSERT_VALUES(am_broadcast_greater_equal(r, c), AM_SHAPE(2, 3), 0, 0, 0, 1, 1, 1, 1);
    TU_ASSERT_VALUES(am_broadcast_power(c, tu_array(F64, AM_SHAPE(2), 2, -1)), AM_SHAPE(2, 2),
                     1e-12, 16, 0.25, 25, -0.2);
    am_scope_end();
}

static void test_integers(void)
{
    am_scope_begin();
    am_array *a = tu_array(I32, AM_SHAPE(6), 7, -7, 7, -7, 5, -2147483648.0);
    am_array *b = tu_array(I32, AM_SHAPE(6), 2, 2, -2, -2, 0, -1);
    /* truncating division; x / 0 = 0 and INT_MIN / -1 wraps instead of trapping */
    TU_ASSERT_VALUES(am_div(a, b), AM_SHAPE(6), 0, 3, -3, -3, 3, 0, -2147483648.0);
    TU_ASSERT_VALUES(am_broadcast_mod(a, b), AM_SHAPE(6), 0, 1, 1, -1, -1, 0, 0);
    am_array *big = tu_array(I32, AM_SHAPE(2), 2147483647, -2147483648.0);
    TU_ASSERT_VALUES(am_add(big, tu_array(I32, AM_SHAPE(1), 1)), AM_SHAPE(2), 0, -2147483648.0,
                     -2147483647);
    TU_ASSERT_VALUES(am_mul(big, tu_array(I32, AM_SHAPE(1), 2)), AM_SHAPE(2), 0, -2, 0);
    am_array *p = tu_array(I32, AM_SHAPE(10), 2, 3, 0, -1, 2, -1, 1, 0, 2, 3);
    am_array *q = tu_array(I32, AM_SHAPE(10), 10, 3, 2, -1, -1, -2, -5, 0, 31, 21);
    /* 2 ** -1 truncates to 0; 0 ** 0 = 1; 2 ** 31 and 3 ** 21 wrap modulo 2 ** 32 */
    TU_ASSERT_VALUES(am_broadcast_power(p, q), AM_SHAPE(10), 0, 1024, 27, 0, -1, 0, 1, 1, 1,
                     -2147483648.0, 1870418611);
    am_array *zero = tu_array(I32, AM_SHAPE(1), 0), *minus2 = tu_array(I32, AM_SHAPE(1), -2);
    TU_ASSERT_VALUES(am_broadcast_power(zero, minus2), AM_SHAPE(1), 0, 0);
    am_array *l = tu_array(I64, AM_SHAPE(4), 3, -9, 10, -4);
    am_array *m = tu_array(I64, AM_SHAPE(4), 39, 4, 0, 3);
    TU_ASSERT_VALUES(am_broadcast_power(l, m), AM_SHAPE(4), 0, 4052555153018976267.0, 6561, 1,
                     -64);
    TU_ASSERT_VALUES(am_broadcast_mod(l, m), AM_SHAPE(4), 0, 3, 3, 0, 2);
    TU_ASSERT_VALUES(am_div(l, m), AM_SHAPE(4), 0, 0, -2, 0, -1);
    TU_ASSERT_VALUES(am_broadcast_maximum(l, m), AM_SHAPE(4), 0, 39, 4, 10, 3);
    TU_ASSERT_VALUES(am_broadcast_lesser(l, m), AM_SHAPE(4), 0, 1, 1, 0, 1);
    CU_ASSERT_EQUAL(am_array_dtype(am_broadcast_lesser(l, m)), I64);
    am_array *g = am_broadcast_greater(tu_array(I32, AM_SHAPE(2), 1, 5),
                                       tu_array(I32, AM_SHAPE(1), 3));
    TU_ASSERT_VALUES(g, AM_SHAPE(2), 0, 0, 1);
    CU_ASSERT_EQUAL(am_array_dtype(g), I32);
    am_scope_end();
}

static void test_uint8(void)
{
    am_scope_begin();
    am_array *a = tu_array(U8, AM_SHAPE(5), 200, 1, 16, 7, 3);
    am_array *b = tu_array(U8, AM_SHAPE(5), 100, 2, 17, 0, 5);
    TU_ASSERT_VALUES(am_add(a, b), AM_SHAPE(5), 0, 44, 3, 33, 7, 8);       /* 300 wraps */
    TU_ASSERT_VALUES(am_sub(a, b), AM_SHAPE(5), 0, 100, 255, 255, 7, 254); /* wraps below 0 */
    TU_ASSERT_VALUES(am_mul(a, b), AM_SHAPE(5), 0, 32, 2, 16, 0, 15);      /* 272 -> 16 */
    TU_ASSERT_VALUES(am_div(a, b), AM_SHAPE(5), 0, 2, 0, 0, 0, 0);         /* 7 / 0 = 0 */
    TU_ASSERT_VALUES(am_broadcast_mod(a, b), AM_SHAPE(5), 0, 0, 1, 16, 0, 3);
    TU_ASSERT_VALUES(am_broadcast_power(tu_array(U8, AM_SHAPE(3), 2, 3, 0),
                                        tu_array(U8, AM_SHAPE(3), 8, 5, 0)), AM_SHAPE(3), 0, 0,
                     243, 1);
    TU_ASSERT_VALUES(am_broadcast_minimum(a, b), AM_SHAPE(5), 0, 100, 1, 16, 0, 3);
    TU_ASSERT_VALUES(am_broadcast_not_equal(a, tu_array(U8, AM_SHAPE(1), 7)), AM_SHAPE(5), 0, 1,
                     1, 1, 0, 1);
    TU_ASSERT_VALUES(am_elemwise_sub(b, a), AM_SHAPE(5), 0, 156, 1, 1, 249, 2);
    am_scope_end();
}

/* maximum/minimum return NaN when either side is NaN (MXNet's rule, as NumPy's). */
static void test_nan_and_inf(void)
{
    am_scope_begin();
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? F64 : F32;
        am_array *a = tu_array(dt, AM_SHAPE(4), NAN, 1, NAN, -INFINITY);
        am_array *b = tu_array(dt, AM_SHAPE(4), 1, NAN, NAN, 2);
        TU_ASSERT_VALUES(am_broadcast_maximum(a, b), AM_SHAPE(4), 0, NAN, NAN, NAN, 2);
        TU_ASSERT_VALUES(am_broadcast_minimum(a, b), AM_SHAPE(4), 0, NAN, NAN, NAN, -INFINITY);
        TU_ASSERT_VALUES(am_broadcast_equal(a, b), AM_SHAPE(4), 0, 0, 0, 0, 0);
        TU_ASSERT_VALUES(am_broadcast_not_equal(a, b), AM_SHAPE(4), 0, 1, 1, 1, 1);
        TU_ASSERT_VALUES(am_broadcast_greater_equal(a, b), AM_SHAPE(4), 0, 0, 0, 0, 0);
        TU_ASSERT_VALUES(am_broadcast_add(a, b), AM_SHAPE(4), 0, NAN, NAN, NAN, -INFINITY);
        am_array *x = tu_array(dt, AM_SHAPE(4), 1, -1, 0, 5);
        am_array *z = tu_array(dt, AM_SHAPE(1), 0);
        TU_ASSERT_VALUES(am_div(x, z), AM_SHAPE(4), 0, INFINITY, -INFINITY, NAN, INFINITY);
        TU_ASSERT_VALUES(am_broadcast_mod(x, z), AM_SHAPE(4), 0, 0, 0, 0, 0); /* x mod 0 = 0 */
        TU_ASSERT_VALUES(am_broadcast_mod(x, tu_array(dt, AM_SHAPE(1), INFINITY)), AM_SHAPE(4),
                         0, 1, INFINITY, 0, 5); /* Python: -1 % inf = inf */
        TU_ASSERT_VALUES(am_broadcast_mod(a, tu_array(dt, AM_SHAPE(1), 2)), AM_SHAPE(4), 0, NAN, 1,
                         NAN, NAN);
    }
    am_scope_end();
}

static void test_clip(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(2, 3), -2, -0.5, 0, 0.7, 3, NAN);
    TU_ASSERT_VALUES(am_clip(x, -1, 0.5), AM_SHAPE(2, 3), 0, -1, -0.5, 0, 0.5, 0.5, NAN);
    TU_ASSERT_VALUES(am_clip(x, -1e300, 1e300), AM_SHAPE(2, 3), 0, -2, -0.5, 0, 0.7f, 3, NAN);
    /* a_min > a_max: above a_max gives a_max, else below a_min gives a_min (MXNet) */
    TU_ASSERT_VALUES(am_clip(tu_array(F64, AM_SHAPE(3), 0, 1.5, 3), 2, 1), AM_SHAPE(3), 0, 2, 1, 1);
    /* integers compare as MXNet does in float: -5 < -1.5 gives (int)-1.5 = -1 */
    TU_ASSERT_VALUES(am_clip(tu_array(I32, AM_SHAPE(5), -5, -1, 0, 3, 9), -1.5, 2.5), AM_SHAPE(5),
                     0, -1, -1, 0, 2, 2);
    am_array *u = tu_array(U8, AM_SHAPE(3), 0, 100, 255);
    TU_ASSERT_VALUES(am_clip(u, -10, 300), AM_SHAPE(3), 0, 0, 100, 255);
    TU_ASSERT_VALUES(am_clip(u, 50, 60), AM_SHAPE(3), 0, 50, 60, 60);
    TU_ASSERT_VALUES(am_clip(u, NAN, 60), AM_SHAPE(3), 0, 0, 60, 60);
    am_array *l = tu_array(I64, AM_SHAPE(2), -4e18, 4e18);
    TU_ASSERT_VALUES(am_clip(l, -1e30, 1e30), AM_SHAPE(2), 0, -4e18, 4e18);
    TU_ASSERT_VALUES(am_clip(l, 0, 1e30), AM_SHAPE(2), 0, 0, 4e18);
    CU_ASSERT(tu_values_are(am_clip(am_zeros(AM_SHAPE(0), F32), 0, 1), AM_SHAPE(0), NULL, 0, 0));
    am_array *y = NULL;
    TU_ASSERT_FAILS(am_invoke("clip", &x, 1, (const char *[]){"a_min"}, (const char *[]){"0"}, 1,
                              &y, 1) == AM_OK, AM_ERR_ARG, "a_max");
    am_scope_end();
}

static void test_where(void)
{
    am_scope_begin();
    /* MXNet's documented example; any non-zero condition is true */
    am_array *c = tu_array(F32, AM_SHAPE(2, 2), 0, 1, -1, 0);
    am_array *x = tu_array(I32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_array *y = tu_array(I32, AM_SHAPE(2, 2), 5, 6, 7, 8);
    am_array *w = am_where(c, x, y);
    TU_ASSERT_VALUES(w, AM_SHAPE(2, 2), 0, 5, 2, 3, 8);
    CU_ASSERT_EQUAL(am_array_dtype(w), I32);
    /* 1-D condition picks whole rows */
    am_array *c1 = tu_array(I64, AM_SHAPE(3), 1, 0, 2);
    am_array *x1 = tu_array(F32, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6);
    am_array *y1 = tu_array(F32, AM_SHAPE(3, 2), -1, -2, -3, -4, -5, -6);
    TU_ASSERT_VALUES(am_where(c1, x1, y1), AM_SHAPE(3, 2), 0, 1, 2, -3, -4, 5, 6);
    am_array *c3 = tu_array(U8, AM_SHAPE(2), 0, 1);
    am_array *ones = am_ones(AM_SHAPE(2, 1, 2), F64), *zeros = am_zeros(AM_SHAPE(2, 1, 2), F64);
    TU_ASSERT_VALUES(am_where(c3, ones, zeros), AM_SHAPE(2, 1, 2), 0, 0, 0, 1, 1);
    am_array *cn = tu_array(F64, AM_SHAPE(3), NAN, 0, -0.0); /* NaN is true, -0.0 false */
    am_array *u123 = tu_array(U8, AM_SHAPE(3), 1, 2, 3), *u789 = tu_array(U8, AM_SHAPE(3), 7, 8, 9);
    TU_ASSERT_VALUES(am_where(cn, u123, u789), AM_SHAPE(3), 0, 1, 8, 9);
    CU_ASSERT(tu_values_are(am_where(am_zeros(AM_SHAPE(0), F32), am_zeros(AM_SHAPE(0, 3), F32),
                                     am_zeros(AM_SHAPE(0, 3), F32)), AM_SHAPE(0, 3), NULL, 0, 0));
    /* errors */
    TU_ASSERT_FAILS(am_where(tu_array(F32, AM_SHAPE(2), 1, 0), x1, y1), AM_ERR_SHAPE,
                    "condition (2,) must have the shape of x (3, 2)");
    TU_ASSERT_FAILS(am_where(am_ones(AM_SHAPE(2, 3), F32), x1, y1), AM_ERR_SHAPE,
                    "condition (2, 3)");
    TU_ASSERT_FAILS(am_where(c1, x1, am_ones(AM_SHAPE(2, 3), F32)), AM_ERR_SHAPE,
                    "x (3, 2) and y (2, 3) must have the same shape");
    TU_ASSERT_FAILS(am_where(c1, x1, am_ones(AM_SHAPE(3, 2), I32)), AM_ERR_DTYPE,
                    "x float32 and y int32");
    TU_ASSERT_FAILS(am_where(am_ones(AM_SHAPE(1), F32), am_ones(AM_SHAPE(), F32),
                             am_ones(AM_SHAPE(), F32)), AM_ERR_SHAPE, "where: condition (1,)");
    am_scope_end();
}

/* Large enough for several threads and chunks; checked against a plain loop. */
static void test_where_large(void)
{
    am_scope_begin();
    am_shape s = AM_SHAPE(20000, 3);
    am_array *c = tu_random(AM_SHAPE(20000), F32, -1, 1), *x = tu_random(s, F32, 0, 1);
    am_array *y = tu_random(s, F32, -1, 0);
    am_array *w = am_where(am_broadcast_greater(c, am_zeros(AM_SHAPE(1), F32)), x, y);
    am_array *w2 = am_where(am_broadcast_greater(x, am_full(AM_SHAPE(1), F32, 0.5)), x, y);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w2);
    const float *pc = am_array_data(c), *px = am_array_data(x), *py = am_array_data(y);
    const float *pw = am_array_data(w), *pw2 = am_array_data(w2);
    int bad = 0;
    for (int64_t i = 0; i < 60000; i++) {
        bad += pw[i] != (pc[i / 3] > 0 ? px[i] : py[i]);
        bad += pw2[i] != (px[i] > 0.5f ? px[i] : py[i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    am_scope_end();
}

static void test_add_n(void)
{
    am_scope_begin();
    am_array *xs[6] = {
        tu_array(F32, AM_SHAPE(2), 1, 2),         tu_array(F32, AM_SHAPE(2), 10, 20),
        tu_array(F32, AM_SHAPE(2), 100, 200),     tu_array(F32, AM_SHAPE(2), 1000, 2000),
        tu_array(F32, AM_SHAPE(2), 10000, 20000), tu_array(F32, AM_SHAPE(2), 0.5, -1)};
    am_array *one = am_add_n(xs, 1);
    TU_ASSERT_VALUES(one, AM_SHAPE(2), 0, 1, 2);
    CU_ASSERT_PTR_NOT_EQUAL(am_array_data(one), am_array_data(xs[0])); /* a new array */
    TU_ASSERT_VALUES(am_add_n(xs, 4), AM_SHAPE(2), 0, 1111, 2222);
    TU_ASSERT_VALUES(am_add_n(xs, 5), AM_SHAPE(2), 0, 11111, 22222);
    TU_ASSERT_VALUES(am_add_n(xs, 6), AM_SHAPE(2), 0, 11111.5, 22221);
    am_array *is[3] = {tu_array(I32, AM_SHAPE(2), 2147483647, 5), tu_array(I32, AM_SHAPE(2), 1, 6),
                       tu_array(I32, AM_SHAPE(2), 0, -11)};
    TU_ASSERT_VALUES(am_add_n(is, 3), AM_SHAPE(2), 0, -2147483648.0, 0);
    am_array *us[2] = {tu_array(U8, AM_SHAPE(1), 250), tu_array(U8, AM_SHAPE(1), 10)};
    TU_ASSERT_VALUES(am_add_n(us, 2), AM_SHAPE(1), 0, 4);
    /* 9 inputs of 40000 elements: several groups of four, several chunks */
    am_array *big[9];
    for (int i = 0; i < 9; i++) big[i] = am_full(AM_SHAPE(200, 200), F64, (double)(1 << i));
    am_array *sum = am_add_n(big, 9);
    CU_ASSERT(tu_allclose(sum, am_full(AM_SHAPE(200, 200), F64, 511), 0));
    /* errors */
    am_array *mixed[3] = {xs[0], xs[1], am_ones(AM_SHAPE(3), F32)};
    TU_ASSERT_FAILS(am_add_n(mixed, 3), AM_ERR_SHAPE, "args[2] (3,) differs from args[0] (2,)");
    mixed[2] = is[0];
    TU_ASSERT_FAILS(am_add_n(mixed, 3), AM_ERR_DTYPE, "int32");
    TU_ASSERT_FAILS(am_add_n(xs, 0), AM_ERR_ARG, "num_args must be at least 1");
    TU_ASSERT_FAILS(am_add_n(xs, -2), AM_ERR_ARG, "num_args must be at least 1");
    am_array *many[65];
    for (int i = 0; i < 65; i++) many[i] = xs[0];
    TU_ASSERT_FAILS(am_add_n(many, 65), AM_ERR_ARG, "add_n: at most 64 arrays");
    TU_ASSERT_VALUES(am_add_n(many, 64), AM_SHAPE(2), 0, 64, 128);
    am_array *y = NULL;
    TU_ASSERT_FAILS(am_invoke("add_n", xs, 2, (const char *[]){"num_args"}, (const char *[]){"3"},
                              1, &y, 1) == AM_OK, AM_ERR_ARG, "expects 3 inputs, got 2");
    TU_ASSERT_FAILS(am_invoke("add_n", xs, 2, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "num_args");
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *a = am_ones(AM_SHAPE(2, 3), F32), *b = am_ones(AM_SHAPE(4), F32);
    TU_ASSERT_FAILS(am_add(a, b), AM_ERR_SHAPE,
                    "broadcast_add: lhs (2, 3) and rhs (4,) cannot be broadcast together at "
                    "test_ops_broadcast.c");
    TU_ASSERT_FAILS(am_broadcast_maximum(am_ones(AM_SHAPE(0), F32), am_ones(AM_SHAPE(2), F32)),
                    AM_ERR_SHAPE, "lhs (0,) and rhs (2,)");
    am_array *t321 = am_ones(AM_SHAPE(3, 2, 1), F32), *t31 = am_ones(AM_SHAPE(3, 1), F32);
    TU_ASSERT_FAILS(am_broadcast_equal(t321, t31), AM_ERR_SHAPE, "(3, 2, 1) and rhs (3, 1)");
    TU_ASSERT_FAILS(am_mul(a, am_ones(AM_SHAPE(3), I32)), AM_ERR_DTYPE,
                    "broadcast_mul: lhs float32 and rhs int32 must have the same dtype");
    TU_ASSERT_FAILS(am_elemwise_add(a, am_ones(AM_SHAPE(3, 2), F32)), AM_ERR_SHAPE,
                    "elemwise_add: lhs (2, 3) and rhs (3, 2) must have the same shape");
    TU_ASSERT_FAILS(am_elemwise_div(a, am_ones(AM_SHAPE(3), F32)), AM_ERR_SHAPE,
                    "lhs (2, 3) and rhs (3,)");
    TU_ASSERT_FAILS(am_elemwise_sub(am_ones(AM_SHAPE(2), U8), am_ones(AM_SHAPE(2), I64)),
                    AM_ERR_DTYPE, "elemwise_sub: lhs uint8 and rhs int64");
    /* a NULL input passes through and keeps the first message */
    am_clear_error();
    am_array *bad = am_add(am_add(a, b), a);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "(4,)"));
    am_clear_error();
    am_scope_end();
}

/* Calls a kernel directly: in place (output aliasing an input), AM_REQ_NULL. */
static am_status run(const char *name, am_array **in, int n_in, am_view out, am_req req)
{
    const am_op_def *op = am_op_find(name);
    am_view v[4];
    for (int i = 0; i < n_in; i++) v[i] = am_array_view(in[i]);
    am_kernel_ctx ctx = {.device = am_cpu()};
    return op->cpu(&ctx, NULL, v, n_in, &out, 1, &req);
}

static void test_requests(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *r = tu_array(F32, AM_SHAPE(3), 10, 20, 30);
    am_array *in[2] = {a, r};
    CU_ASSERT_EQUAL(run("broadcast_sub", in, 2, am_array_view(a), AM_REQ_INPLACE), AM_OK);
    TU_ASSERT_VALUES(a, AM_SHAPE(2, 3), 0, -9, -18, -27, -6, -15, -24);
    am_array *y = am_full(AM_SHAPE(2, 3), F32, 7);
    CU_ASSERT_EQUAL(run("broadcast_sub", in, 2, am_array_view(y), AM_REQ_NULL), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 7, 7, 7, 7, 7, 7);
    CU_ASSERT_EQUAL(run("broadcast_greater", in, 2, am_array_view(y), AM_REQ_ADD), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 7, 7, 7, 7, 7, 7);
    am_array *b = tu_array(F32, AM_SHAPE(2, 3), 1, 1, 1, 2, 2, 2);
    am_array *ab[2] = {a, b};
    CU_ASSERT_EQUAL(run("elemwise_mul", ab, 2, am_array_view(b), AM_REQ_INPLACE), AM_OK);
    TU_ASSERT_VALUES(b, AM_SHAPE(2, 3), 0, -9, -18, -27, -12, -30, -48);
    /* a mismatched dtype reaching a kernel is an error, not a crash */
    am_array *i = am_ones(AM_SHAPE(3), I32), *ai[2] = {a, i};
    TU_ASSERT_FAILS(run("broadcast_add", ai, 2, am_array_view(y), AM_REQ_WRITE) == AM_OK,
                    AM_ERR_DTYPE, "int32");
    am_scope_end();
}

CU_TestInfo am_tests_ops_broadcast[] = {
    {"elemwise_* values and dtypes", test_elemwise},
    {"MXNet aliases", test_aliases},
    {"broadcasting patterns", test_patterns},
    {"each broadcast op by hand", test_each_op},
    {"integer semantics (truncation, mod, power, wrap)", test_integers},
    {"uint8 wraps", test_uint8},
    {"NaN and infinities", test_nan_and_inf},
    {"all ops against a naive reference", test_reference},
    {"clip", test_clip},
    {"where", test_where},
    {"where on large arrays", test_where_large},
    {"add_n", test_add_n},
    {"errors name shapes and dtypes", test_errors},
    {"in place, AM_REQ_NULL, AM_REQ_ADD", test_requests},
    CU_TEST_INFO_NULL,
};
