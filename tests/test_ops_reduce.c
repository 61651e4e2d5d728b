/* The ops_reduce suite: sum, mean, prod, max, min, norm, argmax and argmin against
 * hand-checked values and a naive double reference, edge cases and errors. */
#include "test_util.h"

/* An axis list usable inside macro arguments: AX(0, 2). */
#define AX(...) ((const int[]){__VA_ARGS__})

/* x[i] = i in the given shape and dtype. */
static am_array *seq(am_shape shape, am_dtype dtype)
{
    am_array *x = am_empty(shape, dtype);
    am_view v = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&v); i++) am_view_set(&v, i, (double)i);
    return x;
}

/* ---- hand-checked values ---------------------------------------------------------- */

/* x[i, j, k] = 12 i + 4 j + k with shape (2, 3, 4). */
static void test_sum_axes(void)
{
    am_scope_begin();
    am_array *x = seq(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_sum(x, AX(0), 1, false), AM_SHAPE(3, 4), 0,
                     12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34);
    TU_ASSERT_VALUES(am_sum(x, AX(1), 1, false), AM_SHAPE(2, 4), 0,
                     12, 15, 18, 21, 48, 51, 54, 57);
    TU_ASSERT_VALUES(am_sum(x, AX(-1), 1, false), AM_SHAPE(2, 3), 0, 6, 22, 38, 54, 70, 86);
    TU_ASSERT_VALUES(am_sum(x, AX(2, 0), 2, false), AM_SHAPE(3), 0, 60, 92, 124);
    TU_ASSERT_VALUES(am_sum(x, AX(0, 2), 2, true), AM_SHAPE(1, 3, 1), 0, 60, 92, 124);
    TU_ASSERT_VALUES(am_sum(x, AX(0, 1), 2, false), AM_SHAPE(4), 0, 60, 66, 72, 78);
    TU_ASSERT_VALUES(am_sum(x, NULL, 0, false), AM_SHAPE(1), 0, 276);
    TU_ASSERT_VALUES(am_sum(x, NULL, 0, true), AM_SHAPE(1, 1, 1), 0, 276);
    TU_ASSERT_VALUES(am_sum(x, AX(0, 1, 2), 3, false), AM_SHAPE(1), 0, 276);
    /* The attribute strings MXNet writes: an int, a tuple, exclude, None. */
    TU_ASSERT_VALUES(tu_invoke1("sum", x, "axis", "1"), AM_SHAPE(2, 4), 0,
                     12, 15, 18, 21, 48, 51, 54, 57);
    TU_ASSERT_VALUES(tu_invoke1("sum_axis", x, "axis|exclude", "(1,)|True"), AM_SHAPE(3), 0,
                     60, 92, 124);
    TU_ASSERT_VALUES(tu_invoke1("sum", x, "axis|exclude|keepdims", "1|True|True"),
                     AM_SHAPE(1, 3, 1), 0, 60, 92, 124);
    TU_ASSERT_VALUES(tu_invoke1("sum", x, "axis|exclude", "(0, 1, 2)|True"), AM_SHAPE(2, 3, 4), 0,
                     0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                     21, 22, 23);
    TU_ASSERT_VALUES(tu_invoke1("sum", x, "axis", "None"), AM_SHAPE(1), 0, 276);
    TU_ASSERT_VALUES(tu_invoke1("sum", x, "axis", "()"), AM_SHAPE(1), 0, 276);
    /* A size-1 axis and a 0-d array. */
    am_array *r = seq(AM_SHAPE(3, 1), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(am_sum(r, AX(1), 1, false), AM_SHAPE(3), 0, 0, 1, 2);
    TU_ASSERT_VALUES(am_sum(r, AX(0), 1, true), AM_SHAPE(1, 1), 0, 3);
    am_array *s = am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 2.5);
    TU_ASSERT_VALUES(am_sum(s, NULL, 0, false), AM_SHAPE(1), 0, 2.5);
    TU_ASSERT_VALUES(am_sum(s, NULL, 0, true), AM_SHAPE(), 0, 2.5);
    am_scope_end();
}

static void test_mean_prod_max_min(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, -2, 3, 4, 5, -6);
    TU_ASSERT_VALUES(am_mean(x, AX(1), 1, false), AM_SHAPE(2), 1e-6, 2.0 / 3.0, 1);
    TU_ASSERT_VALUES(am_mean(x, AX(0), 1, false), AM_SHAPE(3), 1e-6, 2.5, 1.5, -1.5);
    TU_ASSERT_VALUES(am_mean(x, NULL, 0, false), AM_SHAPE(1), 1e-6, 5.0 / 6.0);
    TU_ASSERT_VALUES(am_prod(x, AX(1), 1, false), AM_SHAPE(2), 0, -6, -120);
    TU_ASSERT_VALUES(am_prod(x, NULL, 0, false), AM_SHAPE(1), 0, 720);
    TU_ASSERT_VALUES(am_max(x, AX(0), 1, false), AM_SHAPE(3), 0, 4, 5, 3);
    TU_ASSERT_VALUES(am_max(x, NULL, 0, false), AM_SHAPE(1), 0, 5);
    TU_ASSERT_VALUES(am_min(x, AX(1), 1, true), AM_SHAPE(2, 1), 0, -2, -6);
    TU_ASSERT_VALUES(am_min(x, NULL, 0, false), AM_SHAPE(1), 0, -6);
    TU_ASSERT_VALUES(tu_invoke1("max_axis", x, "axis", "-1"), AM_SHAPE(2), 0, 3, 5);
    TU_ASSERT_VALUES(tu_invoke1("min_axis", x, "axis", "0"), AM_SHAPE(3), 0, 1, -2, -6);

    /* Integer dtypes keep their dtype; mean divides as integers (toward zero). */
    am_array *i = tu_array(AM_DTYPE_INT32, AM_SHAPE(3, 2), 1, 2, 3, 5, -3, 0);
    am_array *m = am_mean(i, AX(1), 1, false);
    CU_ASSERT_EQUAL(am_array_dtype(m), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(m, AM_SHAPE(3), 0, 1, 4, -1);
    TU_ASSERT_VALUES(am_sum(i, AX(0), 1, false), AM_SHAPE(2), 0, 1, 7);
    TU_ASSERT_VALUES(am_prod(i, AX(0), 1, false), AM_SHAPE(2), 0, -9, 0);
    TU_ASSERT_VALUES(am_max(i, NULL, 0, false), AM_SHAPE(1), 0, 5);
    am_array *u = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2), 200, 100);
    TU_ASSERT_VALUES(am_sum(u, NULL, 0, false), AM_SHAPE(1), 0, 44); /* 300 wraps to 44 */
    TU_ASSERT_VALUES(am_min(u, NULL, 0, false), AM_SHAPE(1), 0, 100);
    /* int64 extremes beyond double's 53 bits stay exact. */
    am_array *big = am_empty(AM_SHAPE(3), AM_DTYPE_INT64);
    int64_t *b = am_array_data_i64(big);
    b[0] = INT64_C(9007199254740993), b[1] = -5, b[2] = INT64_C(9007199254740992);
    CU_ASSERT_EQUAL(am_array_data_i64(am_max(big, NULL, 0, false))[0], INT64_C(9007199254740993));
    CU_ASSERT_EQUAL(am_array_data_i64(am_sum(big, NULL, 0, false))[0],
                    INT64_C(18014398509481980));
    am_array *d = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2), 0.5, 4, -1, 2);
    TU_ASSERT_VALUES(am_prod(d, AX(0), 1, false), AM_SHAPE(2), 0, -0.5, 8);
    am_scope_end();
}

static void test_nan_and_infinity(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, NAN, 3, -INFINITY, 2, 0);
    TU_ASSERT_VALUES(am_max(x, AX(1), 1, false), AM_SHAPE(2), 0, NAN, 2);
    TU_ASSERT_VALUES(am_min(x, AX(1), 1, false), AM_SHAPE(2), 0, NAN, -INFINITY);
    TU_ASSERT_VALUES(am_max(x, AX(0), 1, false), AM_SHAPE(3), 0, 1, NAN, 3);
    TU_ASSERT_VALUES(am_sum(x, AX(0), 1, false), AM_SHAPE(3), 0, -INFINITY, NAN, 3);
    TU_ASSERT_VALUES(am_argmax(x, 1, false), AM_SHAPE(2), 0, 1, 1);
    TU_ASSERT_VALUES(am_argmin(x, 1, false), AM_SHAPE(2), 0, 1, 0);
    /* A long run takes the vectorized path: the NaN must still win. */
    am_array *y = am_zeros(AM_SHAPE(1000), AM_DTYPE_FLOAT64);
    am_array_data_f64(y)[617] = NAN;
    am_array_data_f64(y)[3] = 7;
    TU_ASSERT_VALUES(am_max(y, NULL, 0, false), AM_SHAPE(1), 0, NAN);
    TU_ASSERT_VALUES(am_argmax(y, 0, false), AM_SHAPE(1), 0, 617);
    am_array_data_f64(y)[617] = 0;
    TU_ASSERT_VALUES(am_max(y, NULL, 0, false), AM_SHAPE(1), 0, 7);
    TU_ASSERT_VALUES(am_min(y, NULL, 0, false), AM_SHAPE(1), 0, 0);
    am_scope_end();
}

static void test_empty(void)
{
    am_scope_begin();
    am_array *rows0 = am_zeros(AM_SHAPE(0, 3), AM_DTYPE_FLOAT32);
    am_array *cols0 = am_zeros(AM_SHAPE(3, 0), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_sum(rows0, AX(0), 1, false), AM_SHAPE(3), 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_sum(cols0, AX(1), 1, false), AM_SHAPE(3), 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_prod(rows0, AX(0), 1, true), AM_SHAPE(1, 3), 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_prod(cols0, NULL, 0, false), AM_SHAPE(1), 0, 1);
    TU_ASSERT_VALUES(am_mean(cols0, AX(1), 1, false), AM_SHAPE(3), 0, NAN, NAN, NAN);
    TU_ASSERT_VALUES(am_sum(am_zeros(AM_SHAPE(0), AM_DTYPE_INT32), NULL, 0, false),
                     AM_SHAPE(1), 0, 0);
    /* Nothing reduced over an empty axis: an empty result, no error. */
    CU_ASSERT(tu_values_are(am_max(rows0, AX(1), 1, false), AM_SHAPE(0), NULL, 0, 0));
    CU_ASSERT(tu_values_are(am_argmax(rows0, 1, false), AM_SHAPE(0), NULL, 0, 0));
    CU_ASSERT(tu_values_are(am_sum(cols0, AX(0), 1, false), AM_SHAPE(0), NULL, 0, 0));
    /* max, min, argmax and argmin of an empty axis have no answer. */
    TU_ASSERT_FAILS(am_max(cols0, AX(1), 1, false), AM_ERR_SHAPE,
                    "max: cannot reduce the empty axis 1 of data (3, 0)");
    TU_ASSERT_FAILS(am_min(rows0, NULL, 0, false), AM_ERR_SHAPE, "min: cannot reduce the empty");
    TU_ASSERT_FAILS(am_argmax(cols0, 1, false), AM_ERR_SHAPE, "argmax: cannot search an empty");
    TU_ASSERT_FAILS(am_argmin(rows0, AM_NONE, false), AM_ERR_SHAPE, "empty array");
    am_scope_end();
}

/* ---- accuracy and a naive reference --------------------------------------------------- */

static void test_float32_sum_accuracy(void)
{
    am_scope_begin();
    const int64_t n = 1000000;
    am_array *x = am_full(AM_SHAPE(n), AM_DTYPE_FLOAT32, 0.1);
    double want = (double)0.1f * (double)n;
    double got = am_item(am_sum(x, NULL, 0, false), 0);
    CU_ASSERT(fabs(got - want) <= 1e-5 * want);
    got = am_item(am_mean(x, NULL, 0, false), 0);
    CU_ASSERT(fabs(got - (double)0.1f) <= 1e-6);
    /* Down a long column: each output accumulates 500000 rows. */
    am_array *c = am_full(AM_SHAPE(n / 2, 2), AM_DTYPE_FLOAT32, 0.1);
    am_array *s = am_sum(c, AX(0), 1, false);
    CU_ASSERT(fabs(am_item(s, 0) - want / 2) <= 1e-5 * want / 2);
    CU_ASSERT(fabs(am_item(s, 1) - want / 2) <= 1e-5 * want / 2);
    /* Mixed signs with cancellation, against a double sum. */
    am_array *r = tu_random(AM_SHAPE(300001), AM_DTYPE_FLOAT32, -1, 1);
    am_view v = am_array_view(r);
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < am_view_size(&v); i++)
        ref += am_view_get(&v, i), mag += fabs(am_view_get(&v, i));
    CU_ASSERT(fabs(am_item(am_sum(r, NULL, 0, false), 0) - ref) <= 1e-6 * mag);
    am_scope_end();
}

/* Reduces x over the axes marked in red[] in double, one pass over x, into want[]
 * (integer means truncate, as the integer kernels divide). */
static void naive_reduce(am_view *x, const bool *red, int kind, double *want, int64_t nout)
{
    double init = kind == 2 ? 1 : kind == 3 ? -INFINITY : kind == 4 ? INFINITY : 0;
    int64_t count = nout ? am_view_size(x) / nout : 0;
    for (int64_t o = 0; o < nout; o++) want[o] = init;
    for (int64_t i = 0; i < am_view_size(x); i++) {
        int64_t q = i, o = 0, ostride = 1;
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t c = q % x->dim[d];
            q /= x->dim[d];
            if (!red[d]) o += c * ostride, ostride *= x->dim[d];
        }
        double v = am_view_get(x, i);
        if (kind == 0 || kind == 1) want[o] += v;
        else if (kind == 2) want[o] *= v;
        else if (kind == 3) want[o] = v > want[o] ? v : want[o];
        else want[o] = v < want[o] ? v : want[o];
    }
    if (kind == 1)
        for (int64_t o = 0; o < nout; o++)
            want[o] = am_dtype_is_float(x->dtype) ? want[o] / (double)count
                                                  : trunc(want[o] / (double)count);
}

static void check_against_naive(am_array *x, const int *axes, int naxes, bool exclude)
{
    static const char *const names[] = {"sum", "mean", "prod", "max", "min"};
    am_view xv = am_array_view(x);
    bool red[AM_MAX_NDIM];
    for (int d = 0; d < xv.ndim; d++) {
        bool listed = false;
        for (int k = 0; k < naxes; k++) listed |= (axes[k] + xv.ndim) % xv.ndim == d;
        red[d] = listed != exclude;
    }
    char vals[64] = "(";
    for (int k = 0; k < naxes; k++)
        snprintf(vals + strlen(vals), sizeof(vals) - strlen(vals), "%d, ", axes[k]);
    strcat(vals, exclude ? ")|True" : ")|False");
    for (int kind = 0; kind < 5; kind++) {
        am_array *y = tu_invoke1(names[kind], x, "axis|exclude", vals);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        am_view yv = am_array_view(y);
        int64_t n = am_view_size(&yv);
        double *want = malloc((size_t)n * sizeof(double));
        naive_reduce(&xv, red, kind, want, n);
        bool ok = true;
        for (int64_t o = 0; ok && o < n; o++) {
            double got = am_view_get(&yv, o);
            if (fabs(got - want[o]) > 1e-4 * (1 + fabs(want[o]))) {
                printf("\n  %s axis %s output %lld: %g, expected %g\n", names[kind], vals,
                       (long long)o, got, want[o]);
                ok = false;
            }
        }
        free(want);
        CU_ASSERT(ok);
    }
}

static void test_against_naive(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(3, 4, 5, 6, 7), AM_DTYPE_FLOAT32, 0.5, 1.5);
    check_against_naive(x, AX(0, 2, 4), 3, false);
    check_against_naive(x, AX(1, 3), 2, false);
    check_against_naive(x, AX(-1, 1), 2, true);
    check_against_naive(x, AX(0), 1, false);
    check_against_naive(x, AX(4), 1, false);
    am_array *w = tu_random(AM_SHAPE(2, 3, 600), AM_DTYPE_FLOAT64, -2, 2);
    check_against_naive(w, AX(1), 1, false); /* columns wider than one tile */
    check_against_naive(w, AX(0, 2), 2, false);
    am_array *t = tu_random(AM_SHAPE(40, 1, 2000), AM_DTYPE_FLOAT32, -1, 1);
    check_against_naive(t, AX(2), 1, false); /* parallel over rows */
    check_against_naive(t, AX(0), 1, false); /* parallel over column tiles */
    am_array *i = am_astype(tu_random(AM_SHAPE(4, 5, 6), AM_DTYPE_FLOAT64, -3, 3), AM_DTYPE_INT32);
    check_against_naive(i, AX(0, 2), 2, false);
    check_against_naive(i, AX(1), 1, true);
    am_scope_end();
}

/* ---- norm, argmax, argmin ------------------------------------------------------------- */

static void test_norm(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 3, -4, 6, 8);
    TU_ASSERT_VALUES(am_norm(x, 2, AX(1), 1, false), AM_SHAPE(2), 1e-6, 5, 10);
    TU_ASSERT_VALUES(am_norm(x, 2, NULL, 0, false), AM_SHAPE(1), 1e-6, sqrt(125.0));
    TU_ASSERT_VALUES(am_norm(x, 1, AX(0), 1, false), AM_SHAPE(2), 0, 9, 12);
    TU_ASSERT_VALUES(am_norm(x, 1, AX(-1), 1, true), AM_SHAPE(2, 1), 0, 7, 14);
    TU_ASSERT_VALUES(tu_invoke1("norm", x, "axis", "(0, 1)"), AM_SHAPE(1), 1e-6, sqrt(125.0));
    am_array *d = tu_invoke1("norm", x, "out_dtype|axis", "float64|1");
    CU_ASSERT_EQUAL(am_array_dtype(d), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(d, AM_SHAPE(2), 1e-7, 5, 10);
    am_array *i = tu_invoke1("norm", x, "out_dtype|ord", "int64|1");
    CU_ASSERT_EQUAL(am_array_dtype(i), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(i, AM_SHAPE(1), 0, 21);
    /* Squares of large float32 values do not overflow. */
    am_array *l = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3e20, -4e20);
    TU_ASSERT_VALUES(am_norm(l, 2, NULL, 0, false), AM_SHAPE(1), 1e-6, 5e20);
    am_array *e = am_zeros(AM_SHAPE(0, 2), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(am_norm(e, 2, AX(0), 1, false), AM_SHAPE(2), 0, 0, 0);

    TU_ASSERT_FAILS(am_norm(x, 3, NULL, 0, false), AM_ERR_ARG, "norm: ord must be 1 or 2, got 3");
    TU_ASSERT_FAILS(am_norm(am_astype(x, AM_DTYPE_INT32), 2, NULL, 0, false), AM_ERR_DTYPE,
                    "norm: int32 data not supported");
    TU_ASSERT_FAILS(tu_invoke1("norm", x, "out_dtype", "uint8"), AM_ERR_DTYPE, "out_dtype uint8");
    TU_ASSERT_FAILS(am_norm(x, 2, AX(2), 1, false), AM_ERR_ARG, "axis 2 is out of range");
    am_scope_end();
}

static void test_argmax_argmin(void)
{
    am_scope_begin();
    am_array *x = seq(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_argmax(x, 0, false), AM_SHAPE(3), 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_argmax(x, 1, false), AM_SHAPE(2), 0, 2, 2);
    TU_ASSERT_VALUES(am_argmax(x, -1, true), AM_SHAPE(2, 1), 0, 2, 2);
    TU_ASSERT_VALUES(am_argmin(x, 0, false), AM_SHAPE(3), 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_argmin(x, -2, true), AM_SHAPE(1, 3), 0, 0, 0, 0);
    CU_ASSERT_EQUAL(am_array_dtype(am_argmax(x, 0, false)), AM_DTYPE_FLOAT32);
    /* Ties give the first index; None searches the flattened array. */
    am_array *t = tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 3), 1, 9, 9, 0, 9, 0);
    am_array *ti = am_argmax(t, 1, false);
    CU_ASSERT_EQUAL(am_array_dtype(ti), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(ti, AM_SHAPE(2), 0, 1, 1);
    TU_ASSERT_VALUES(am_argmin(t, 1, false), AM_SHAPE(2), 0, 0, 0);
    TU_ASSERT_VALUES(am_argmax(t, AM_NONE, false), AM_SHAPE(1), 0, 1);
    TU_ASSERT_VALUES(am_argmin(t, AM_NONE, true), AM_SHAPE(1, 1), 0, 3);
    TU_ASSERT_VALUES(tu_invoke1("argmax", t, "axis", "None"), AM_SHAPE(1), 0, 1);
    TU_ASSERT_VALUES(tu_invoke1("argmin", t, "axis|keepdims", "0|True"), AM_SHAPE(1, 3), 0,
                     1, 0, 1);
    /* 1-D data gives (1,), as MXNet 1.x. */
    am_array *v = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(4), 3, -1, 8, 8);
    TU_ASSERT_VALUES(am_argmax(v, 0, false), AM_SHAPE(1), 0, 2);
    TU_ASSERT_VALUES(am_argmin(v, -1, false), AM_SHAPE(1), 0, 1);
    /* Columns wider than one tile, and uint8 data. */
    am_array *w = am_zeros(AM_SHAPE(3, 300), AM_DTYPE_UINT8);
    am_array_data_u8(w)[2 * 300 + 299] = 5;
    am_array_data_u8(w)[1 * 300 + 0] = 5;
    am_array *wi = am_argmax(w, 0, false);
    CU_ASSERT_EQUAL(am_item(wi, 0), 1);
    CU_ASSERT_EQUAL(am_item(wi, 1), 0);
    CU_ASSERT_EQUAL(am_item(wi, 299), 2);
    TU_ASSERT_FAILS(am_argmax(w, 1, false), AM_ERR_DTYPE, "uint8 indices cannot count past 255");
    TU_ASSERT_FAILS(am_argmax(x, 2, false), AM_ERR_ARG,
                    "argmax: axis 2 is out of range for data (2, 3)");
    TU_ASSERT_FAILS(am_argmin(x, -3, false), AM_ERR_ARG, "axis -3 is out of range");
    CU_ASSERT(am_op_find("argmax")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(am_op_find("argmin")->flags & AM_OP_NO_GRAD);
    am_scope_end();
}

/* ---- errors and registry entries ------------------------------------------------------- */

static void test_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_sum(x, AX(2), 1, false), AM_ERR_ARG,
                    "sum: axis 2 is out of range for data (2, 3) at test_ops_reduce.c");
    TU_ASSERT_FAILS(am_mean(x, AX(-3), 1, false), AM_ERR_ARG, "axis -3 is out of range");
    TU_ASSERT_FAILS(am_max(x, AX(1, -1), 2, false), AM_ERR_ARG,
                    "max: axis 1 is listed twice (data (2, 3))");
    TU_ASSERT_FAILS(tu_invoke1("prod", x, "axis", "(0, 0)"), AM_ERR_ARG,
                    "prod: axis 0 is listed twice");
    TU_ASSERT_FAILS(tu_invoke1("sum", x, "axis", "(0, x)"), AM_ERR_FORMAT, "axis");
    TU_ASSERT_FAILS(tu_invoke1("sum", x, "axes", "0"), AM_ERR_ARG, "unknown attribute 'axes'");
    TU_ASSERT_FAILS(tu_invoke1("argmax", x, "axis", "(0, 1)"), AM_ERR_FORMAT, "axis");
    TU_ASSERT_FAILS(am_sum(x, AX(0), 13, false), AM_ERR_ARG, "sum: naxes 13 is outside");
    TU_ASSERT_FAILS(am_sum(am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 1), AX(0), 1, false),
                    AM_ERR_ARG, "axis 0 is out of range for data ()");
    /* A NULL input passes the first failure through. */
    am_clear_error();
    am_array *bad = am_sum(x, AX(5), 1, false);
    CU_ASSERT_PTR_NULL(am_min(am_mean(bad, NULL, 0, false), NULL, 0, false));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "sum: axis 5"));
    am_clear_error();
    am_scope_end();
}

static void test_registry_entries(void)
{
    static const char *const pairs[][2] = {{"sum_axis", "sum"}, {"max_axis", "max"},
                                           {"min_axis", "min"}};
    for (int i = 0; i < 3; i++)
        CU_ASSERT_PTR_EQUAL(am_op_find(pairs[i][0]), am_op_find(pairs[i][1]));
    static const char *const ops[] = {"sum", "mean", "prod", "max",
                                      "min", "norm", "argmax", "argmin"};
    for (int i = 0; i < 8; i++) {
        const am_op_def *op = am_op_find(ops[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        CU_ASSERT_EQUAL(op->fuse, AM_FUSE_REDUCE);
        /* argmax and argmin are not differentiable; the rest are. */
        bool arg = i >= 6;
        CU_ASSERT_EQUAL(op->gradient == NULL, arg);
        CU_ASSERT_EQUAL((op->flags & AM_OP_NO_GRAD) != 0, arg);
    }
    /* MXNet's defaults print as its Python front end writes them. */
    const am_op_def *n = am_op_find("norm");
    void *a = am_attrs_parse(n, NULL, NULL, 0);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(am_attr_format(&n->attrs[0], a, buf, sizeof(buf)), "2");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&n->attrs[1], a, buf, sizeof(buf)), "None");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&n->attrs[2], a, buf, sizeof(buf)), "None");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&n->attrs[3], a, buf, sizeof(buf)), "False");
    free(a);
}

CU_TestInfo am_tests_ops_reduce[] = {
    {"sum over axes, keepdims, exclude", test_sum_axes},
    {"mean, prod, max, min and integer dtypes", test_mean_prod_max_min},
    {"NaN and infinity", test_nan_and_infinity},
    {"size-0 reductions", test_empty},
    {"float32 sums are accurate", test_float32_sum_accuracy},
    {"all reducers against a naive reference", test_against_naive},
    {"norm", test_norm},
    {"argmax and argmin", test_argmax_argmin},
    {"bad axes and attributes", test_errors},
    {"registry entries", test_registry_entries},
    CU_TEST_INFO_NULL,
};
