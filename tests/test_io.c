/* The io suite: printing arrays as numpy.array2string does, and .npy files
 * (fixtures written by numpy, round trips, header variants, every error). */
#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers -------------------------------------------------------------------- */

/* Asserts that am_to_string(x) is exactly want; prints both when not. */
#define TU_ASSERT_PRINTS(x, want) tu_assert_prints((x), (want), __LINE__)
static void tu_assert_prints(am_array *x, const char *want, int line)
{
    char *s = am_to_string(x);
    if (!s || strcmp(s, want) != 0) {
        printf("\n  line %d: printed\n%s\n  expected\n%s\n", line, s ? s : am_last_error(), want);
        CU_FAIL("am_to_string");
    } else {
        CU_PASS("am_to_string");
    }
    free(s);
}

static am_array *f32(am_shape s, const float *v) { return am_from_buffer(v, s, AM_DTYPE_FLOAT32); }
static am_array *f64(am_shape s, const double *v) { return am_from_buffer(v, s, AM_DTYPE_FLOAT64); }

/* A symbolic array as the symbol module makes them: no storage, a node. */
static am_array fake_symbolic(void)
{
    am_array x;
    memset(&x, 0, sizeof(x));
    atomic_init(&x.refcount, 1);
    x.dtype = AM_DTYPE_FLOAT32;
    x.shape = AM_SHAPE(2);
    x.node = (struct am_node *)&x;
    return x;
}

/* Runs am_print(x) with stdout and stderr sent to files; returns both. */
static void capture_print(am_array *x, char *out, char *err, size_t n)
{
    FILE *fo = tmpfile(), *fe = tmpfile();
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    am_print(x);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    char *bufs[2] = {out, err};
    FILE *fs[2] = {fo, fe};
    for (int i = 0; i < 2; i++) {
        rewind(fs[i]);
        size_t k = fread(bufs[i], 1, n - 1, fs[i]);
        bufs[i][k] = '\0';
        fclose(fs[i]);
    }
}

/* ---- printing ---------------------------------------------------------------------- */

/* Reference strings below come from numpy 2.4's np.array2string on the same
 * values (the expression is in the comment) and were checked by eye. */
static void test_print_floats(void)
{
    am_scope_begin();
    TU_ASSERT_PRINTS(f32(AM_SHAPE(2, 2), (float[]){1, 2, 3, 4}), "[[1. 2.]\n [3. 4.]]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(3), (double[]){1, 2.5, 3.25}), "[1.   2.5  3.25]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){1.0 / 3, 2.0 / 3}), "[0.33333333 0.66666667]");
    /* float32 values get float32's shortest digits */
    TU_ASSERT_PRINTS(f32(AM_SHAPE(2), (float[]){1.0f / 3, 0.1f}), "[0.33333334 0.1       ]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2, 2), (double[]){1.5, -2.25, 1e3, 4}),
                     "[[   1.5    -2.25]\n [1000.      4.  ]]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(3), (double[]){-1.5, 2, -0.0}), "[-1.5  2.  -0. ]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(3), (double[]){0, 0, 0}), "[0. 0. 0.]");
    /* 2**-9 = 0.001953125 rounds half to even at 8 digits */
    TU_ASSERT_PRINTS(f64(AM_SHAPE(1), (double[]){0.001953125}), "[0.00195312]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){0.999999999, 1.23456789012}),
                     "[1.         1.23456789]");
    TU_ASSERT_PRINTS(f32(AM_SHAPE(1), (float[]){1e-4f}), "[0.0001]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(1, 2, 2, 1), (double[]){0, 1, 2, 3}),
                     "[[[[0.]\n   [1.]]\n\n  [[2.]\n   [3.]]]]");
    am_scope_end();
}

static void test_print_scientific(void)
{
    am_scope_begin();
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){1e10, 1.5e-5}), "[1.0e+10 1.5e-05]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){1e10, 1e-10}), "[1.e+10 1.e-10]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){1e100, 1}), "[1.e+100 1.e+000]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){-1e-10, 1}), "[-1.e-10  1.e+00]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){99999999.0, 1e8}),
                     "[9.9999999e+07 1.0000000e+08]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){9.999999999e5, 1e-5}), "[1.e+06 1.e-05]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(1), (double[]){1e16}), "[1.e+16]");
    /* max/min above 1000 switches, at 1000 it does not */
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){1, 1000}), "[   1. 1000.]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){1, 1001}), "[1.000e+00 1.001e+03]");
    TU_ASSERT_PRINTS(f32(AM_SHAPE(2), (float[]){1e-4f, 1}), "[1.e-04 1.e+00]");
    /* float32 turns scientific at 1e6 (numpy >= 2.3), float64 at 1e8 */
    TU_ASSERT_PRINTS(f32(AM_SHAPE(1), (float[]){1954169.8f}), "[1.9541698e+06]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(1), (double[]){1954169.8}), "[1954169.8]");
    /* shorter values are padded with digits of their exact float32 value */
    TU_ASSERT_PRINTS(f32(AM_SHAPE(2), (float[]){0.2506855f, 1.2345678e-5f}),
                     "[2.5068551e-01 1.2345678e-05]");
    TU_ASSERT_PRINTS(f32(AM_SHAPE(2), (float[]){0.1f, 1.2345678e-5f}),
                     "[1.0000000e-01 1.2345678e-05]");
    am_scope_end();
}

static void test_print_nonfinite(void)
{
    am_scope_begin();
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){NAN, 1}), "[nan  1.]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(3), (double[]){NAN, INFINITY, -INFINITY}), "[ nan  inf -inf]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(2), (double[]){INFINITY, 1e-5}), "[   inf 1.e-05]");
    TU_ASSERT_PRINTS(f64(AM_SHAPE(), (double[]){NAN}), "nan");
    am_scope_end();
}

static void test_print_ints_and_scalars(void)
{
    am_scope_begin();
    TU_ASSERT_PRINTS(tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 1, 2, 3), "[1 2 3]");
    TU_ASSERT_PRINTS(tu_array(AM_DTYPE_INT64, AM_SHAPE(3), -1, 10, 100), "[ -1  10 100]");
    int64_t big[] = {INT64_C(4611686018427387904), -5};
    TU_ASSERT_PRINTS(am_from_buffer(big, AM_SHAPE(2), AM_DTYPE_INT64),
                     "[4611686018427387904                  -5]");
    TU_ASSERT_PRINTS(tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 2), 0, 255, 7, 8),
                     "[[  0 255]\n [  7   8]]");
    am_array *r24 = am_arange(0, 24, 1, AM_DTYPE_INT32);
    TU_ASSERT_PRINTS(am_from_buffer(am_array_data(r24), AM_SHAPE(2, 3, 4), AM_DTYPE_INT32),
                     "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n"
                     " [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]");
    /* 0-d arrays print the bare element */
    TU_ASSERT_PRINTS(am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 3), "3.");
    TU_ASSERT_PRINTS(am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 2.5), "2.5");
    TU_ASSERT_PRINTS(am_full(AM_SHAPE(), AM_DTYPE_INT64, 3), "3");
    TU_ASSERT_PRINTS(am_full(AM_SHAPE(), AM_DTYPE_INT32, -7), "-7");
    TU_ASSERT_PRINTS(am_full(AM_SHAPE(), AM_DTYPE_UINT8, 7), "7");
    TU_ASSERT_PRINTS(am_full(AM_SHAPE(1), AM_DTYPE_FLOAT32, 3), "[3.]");
    /* any size-0 array prints as [] */
    TU_ASSERT_PRINTS(am_zeros(AM_SHAPE(0), AM_DTYPE_FLOAT32), "[]");
    TU_ASSERT_PRINTS(am_zeros(AM_SHAPE(2, 0), AM_DTYPE_FLOAT64), "[]");
    TU_ASSERT_PRINTS(am_zeros(AM_SHAPE(0, 3, 4), AM_DTYPE_INT32), "[]");
    am_scope_end();
}

static void test_print_wrapping(void)
{
    am_scope_begin();
    /* rows wrap before column 75, continuation lines indented under the '[' */
    TU_ASSERT_PRINTS(am_arange(0, 30, 1, AM_DTYPE_FLOAT64),
                     "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
                     " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]");
    am_array *a = am_arange(0, 24, 1, AM_DTYPE_FLOAT64);
    double *v = am_array_data_f64(a);
    for (int i = 0; i < 24; i++) v[i] /= 7;
    TU_ASSERT_PRINTS(am_from_buffer(v, AM_SHAPE(2, 1, 12), AM_DTYPE_FLOAT64),
                     "[[[0.         0.14285714 0.28571429 0.42857143 0.57142857 0.71428571\n"
                     "   0.85714286 1.         1.14285714 1.28571429 1.42857143 1.57142857]]\n\n"
                     " [[1.71428571 1.85714286 2.         2.14285714 2.28571429 2.42857143\n"
                     "   2.57142857 2.71428571 2.85714286 3.         3.14285714 3.28571429]]]");
    am_scope_end();
}

static void test_print_summary(void)
{
    am_scope_begin();
    /* 1000 elements print in full, 1001 are summarised */
    char *s = am_to_string(am_arange(0, 1000, 1, AM_DTYPE_INT32));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(strstr(s, "..."));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, " 500 501 502 "));
    free(s);
    TU_ASSERT_PRINTS(am_arange(0, 1001, 1, AM_DTYPE_INT32), "[   0    1    2 ...  998  999 1000]");
    /* the format comes from the shown elements only */
    TU_ASSERT_PRINTS(am_arange(0, 2000, 1, AM_DTYPE_FLOAT64),
                     "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
    am_array *r = am_arange(0, 2000, 1, AM_DTYPE_INT64);
    TU_ASSERT_PRINTS(am_from_buffer(am_array_data(r), AM_SHAPE(20, 100), AM_DTYPE_INT64),
                     "[[   0    1    2 ...   97   98   99]\n"
                     " [ 100  101  102 ...  197  198  199]\n"
                     " [ 200  201  202 ...  297  298  299]\n"
                     " ...\n"
                     " [1700 1701 1702 ... 1797 1798 1799]\n"
                     " [1800 1801 1802 ... 1897 1898 1899]\n"
                     " [1900 1901 1902 ... 1997 1998 1999]]");
    /* only axes longer than 6 are cut */
    TU_ASSERT_PRINTS(am_from_buffer(am_array_data(r), AM_SHAPE(2, 1000), AM_DTYPE_INT64),
                     "[[   0    1    2 ...  997  998  999]\n"
                     " [1000 1001 1002 ... 1997 1998 1999]]");
    /* in 3-d, the summary line sits between blank lines */
    s = am_to_string(am_zeros(AM_SHAPE(10, 10, 20), AM_DTYPE_UINT8));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "[[[0 0 0 ... 0 0 0]\n  [0 0 0 ... 0 0 0]\n"
                                     "  [0 0 0 ... 0 0 0]\n  ...\n  [0 0 0 ... 0 0 0]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "]]\n\n ...\n\n [[0 0 0"));
    free(s);
    am_scope_end();
}

/* Every printed number reads back within the 8 digits shown: a check that
 * does not depend on numpy's reference strings. */
static void test_print_reads_back(void)
{
    am_scope_begin();
    const double scales[] = {1, 1e-3, 1e5, 1e12};
    for (int k = 0; k < 4; k++) {
        am_array *x = tu_random(AM_SHAPE(7, 9), AM_DTYPE_FLOAT64, -scales[k], scales[k]);
        char *s = am_to_string(x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        const double *v = am_array_data_f64(x);
        char *p = s;
        int64_t i = 0;
        for (; *p; i++) {
            while (*p && strchr("[] \n", *p)) p++;
            if (!*p) break;
            char *end;
            double got = strtod(p, &end);
            CU_ASSERT_FATAL(end != p && i < 63);
            double tol = strchr(p, 'e') && strchr(p, 'e') < end ? 5e-9 * fabs(v[i]) : 5.000001e-9;
            if (fabs(got - v[i]) > tol) {
                printf("\n  element %lld printed as %.*s for %.17g\n", (long long)i,
                       (int)(end - p), p, v[i]);
                CU_FAIL("value");
            }
            p = end;
        }
        CU_ASSERT_EQUAL(i, 63);
        free(s);
    }
    am_scope_end();
}

static void test_print_views_and_errors(void)
{
    am_scope_begin();
    /* a view prints its own elements, not its base's first ones */
    am_array *base = am_arange(0, 6, 1, AM_DTYPE_INT32);
    am_array *view = am_scope_own(am_array_new_view(base, AM_SHAPE(2, 2), AM_DTYPE_INT32, 2 * 4));
    TU_ASSERT_PRINTS(view, "[[2 3]\n [4 5]]");
    /* symbolic arrays have no values to print */
    am_array sym = fake_symbolic();
    TU_ASSERT_FAILS(am_to_string(&sym), AM_ERR_SYMBOLIC, "am_to_string: cannot print the values "
                    "of a symbolic array while tracing");
    /* NULL keeps the first failure */
    TU_ASSERT_FAILS(am_to_string(NULL), AM_ERR_ARG, "am_to_string: input 0 is NULL");
    am_fail(AM_ERR_SHAPE, "an earlier failure");
    CU_ASSERT_PTR_NULL(am_to_string(NULL));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_SHAPE);
    CU_ASSERT_STRING_EQUAL(am_last_error(), "an earlier failure");
    am_clear_error();
    am_scope_end();
}

static void test_print_stdout(void)
{
    char out[256], err[256];
    am_scope_begin();
    capture_print(tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 1, 2), out, err, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "[1 2]\n");
    CU_ASSERT_STRING_EQUAL(err, "");
    capture_print(NULL, out, err, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "NULL\n");
    CU_ASSERT_STRING_EQUAL(err, "");
    /* with a failure pending, its message explains the NULL on stderr */
    am_fail(AM_ERR_SHAPE, "add: shapes (2,) and (3,) differ");
    capture_print(NULL, out, err, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "NULL\n");
    CU_ASSERT_STRING_EQUAL(err, "amber: add: shapes (2,) and (3,) differ\n");
    am_clear_error();
    am_array sym = fake_symbolic();
    capture_print(&sym, out, err, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic"));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_SYMBOLIC);
    am_clear_error();
    am_scope_end();
}

/* ---- .npy: fixtures written by numpy ----------------------------------------------- */

/* Made with numpy 2.4.6 from the expression in each comment and checked by
 * hand against the format: magic, version 1.0 (or 2.0/3.0 with a 4-byte
 * length), the dict padded with spaces and a newline to 64 bytes (plus the 21
 * - len(str(shape[0])) spaces numpy leaves for growth), then the data in
 * little-endian C order. */
/* np.save(f, np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1) with numpy 2.4.6 */
static const char npy_f32_2x3[] =
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }        "
    "                                                  \012\000\000\200\277\000\000\000"
    "\277\000\000\000\000\000\000\000\077\000\000\200\077\000\000\300\077";
/* np.save(f, np.array([1.5, -2.0, 1e300])) with numpy 2.4.6 */
static const char npy_f64_3[] =
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }          "
    "                                                  \012\000\000\000\000\000\000\370"
    "\077\000\000\000\000\000\000\000\300\234u\000\210<\3447~";
/* np.save(f, np.array([[1, -2], [3, 2**31 - 1]], np.int32)) with numpy 2.4.6 */
static const char npy_i32_2x2[] =
    "\223NUMPY\001\000v\000{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }        "
    "                                                  \012\001\000\000\000\376\377\377"
    "\377\003\000\000\000\377\377\377\177";
/* np.save(f, np.array(-5, np.int64)) with numpy 2.4.6 */
static const char npy_i64_0d[] =
    "\223NUMPY\001\000v\000{'descr': '<i8', 'fortran_order': False, 'shape': (), }            "
    "                                                  \012\373\377\377\377\377\377\377"
    "\377";
/* np.save(f, np.array([0, 1, 254, 255], np.uint8)) with numpy 2.4.6 */
static const char npy_u8_4[] =
    "\223NUMPY\001\000v\000{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }          "
    "                                                  \012\000\001\376\377";
/* np.save(f, np.array([True, False, True])) with numpy 2.4.6 */
static const char npy_b1_3[] =
    "\223NUMPY\001\000v\000{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }          "
    "                                                  \012\001\000\001";
/* np.save(f, np.zeros((2, 0))) with numpy 2.4.6 */
static const char npy_f64_2x0[] =
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (2, 0), }        "
    "                                                  \012";
/* np.save(f, np.full((1, 1, 2, 1, 1, 1), 7.25, np.float32)) with numpy 2.4.6 */
static const char npy_f32_6d[] =
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 1, 1, 1"
    "), }                                              \012\000\000\350@\000\000\350@";
/* np.lib.format.write_array(f, np.array([7, -8], np.int32), version=(2, 0)) */
static const char npy_i32_v2[] =
    "\223NUMPY\002\000t\000\000\000{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }  "
    "                                                        \012\007\000\000\000\370\377"
    "\377\377";
/* np.lib.format.write_array(f, np.array([7, -8], np.int32), version=(3, 0)) */
static const char npy_i32_v3[] =
    "\223NUMPY\003\000t\000\000\000{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }  "
    "                                                        \012\007\000\000\000\370\377"
    "\377\377";

#define FIX(name) npy_##name, sizeof(npy_##name) - 1

static bool has_shape(am_array *x, am_shape s, am_dtype t)
{
    if (!x) return false;
    am_shape xs = am_array_shape(x);
    if (xs.ndim != s.ndim || am_array_dtype(x) != t) return false;
    for (int i = 0; i < s.ndim; i++)
        if (xs.dim[i] != s.dim[i]) return false;
    return true;
}

static void test_npy_numpy_files(void)
{
    am_scope_begin();
    am_array *x = am_npy_load_buffer(FIX(f32_2x3));
    TU_ASSERT_VALUES(x, AM_SHAPE(2, 3), 0, -1, -0.5, 0, 0.5, 1, 1.5);
    CU_ASSERT(has_shape(x, AM_SHAPE(2, 3), AM_DTYPE_FLOAT32));
    x = am_npy_load_buffer(FIX(f64_3));
    CU_ASSERT(has_shape(x, AM_SHAPE(3), AM_DTYPE_FLOAT64));
    CU_ASSERT(x && am_array_data_f64(x)[0] == 1.5 && am_array_data_f64(x)[1] == -2 &&
              am_array_data_f64(x)[2] == 1e300);
    x = am_npy_load_buffer(FIX(i32_2x2));
    CU_ASSERT(has_shape(x, AM_SHAPE(2, 2), AM_DTYPE_INT32));
    TU_ASSERT_VALUES(x, AM_SHAPE(2, 2), 0, 1, -2, 3, 2147483647);
    x = am_npy_load_buffer(FIX(i64_0d));
    CU_ASSERT(has_shape(x, AM_SHAPE(), AM_DTYPE_INT64));
    TU_ASSERT_VALUES(x, AM_SHAPE(), 0, -5);
    x = am_npy_load_buffer(FIX(u8_4));
    CU_ASSERT(has_shape(x, AM_SHAPE(4), AM_DTYPE_UINT8));
    TU_ASSERT_VALUES(x, AM_SHAPE(4), 0, 0, 1, 254, 255);
    x = am_npy_load_buffer(FIX(b1_3));
    CU_ASSERT(has_shape(x, AM_SHAPE(3), AM_DTYPE_BOOL));
    TU_ASSERT_VALUES(x, AM_SHAPE(3), 0, 1, 0, 1);
    x = am_npy_load_buffer(FIX(f64_2x0));
    CU_ASSERT(has_shape(x, AM_SHAPE(2, 0), AM_DTYPE_FLOAT64));
    x = am_npy_load_buffer(FIX(f32_6d));
    CU_ASSERT(has_shape(x, AM_SHAPE(1, 1, 2, 1, 1, 1), AM_DTYPE_FLOAT32));
    TU_ASSERT_VALUES(x, AM_SHAPE(1, 1, 2, 1, 1, 1), 0, 7.25, 7.25);
    /* format versions 2.0 and 3.0 (4-byte header length) */
    x = am_npy_load_buffer(FIX(i32_v2));
    CU_ASSERT(has_shape(x, AM_SHAPE(2), AM_DTYPE_INT32));
    TU_ASSERT_VALUES(x, AM_SHAPE(2), 0, 7, -8);
    x = am_npy_load_buffer(FIX(i32_v3));
    TU_ASSERT_VALUES(x, AM_SHAPE(2), 0, 7, -8);
    am_scope_end();
}

/* ---- temporary files ---------------------------------------------------------------- */

static char tmpdir[64];

static void tmp_begin(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/amber-io-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
}

static const char *tmp_path(const char *name)
{
    static char buf[sizeof(tmpdir) + 256 + 2];
    snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
    return buf;
}

/* Entries in the temporary folder. */
static int tmp_count(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void tmp_end(void)
{
    DIR *d = opendir(tmpdir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        const char *p = tmp_path(e->d_name);
        if (rmdir(p) != 0) unlink(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* ---- .npy: saving ------------------------------------------------------------------------ */

/* Saves x and compares the file with numpy's bytes for the same array. */
static void assert_saves_as(am_array *x, const char *want, size_t n)
{
    char got[512];
    CU_ASSERT_EQUAL_FATAL(am_npy_save(tmp_path("x.npy"), x), AM_OK);
    size_t k = read_file(tmp_path("x.npy"), got, sizeof(got));
    CU_ASSERT_EQUAL(k, n);
    CU_ASSERT(k == n && memcmp(got, want, n) == 0);
    CU_ASSERT_EQUAL(k > 10 ? (10 + (got[8] & 0xff) + ((got[9] & 0xff) << 8)) % 64 : -1, 0);
}

static void test_npy_save_matches_numpy(void)
{
    am_scope_begin();
    tmp_begin();
    assert_saves_as(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), -1, -0.5, 0, 0.5, 1, 1.5),
                    FIX(f32_2x3));
    assert_saves_as(tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1.5, -2, 1e300), FIX(f64_3));
    assert_saves_as(tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 2), 1, -2, 3, 2147483647), FIX(i32_2x2));
    assert_saves_as(am_full(AM_SHAPE(), AM_DTYPE_INT64, -5), FIX(i64_0d));
    assert_saves_as(tu_array(AM_DTYPE_UINT8, AM_SHAPE(4), 0, 1, 254, 255), FIX(u8_4));
    assert_saves_as(am_zeros(AM_SHAPE(2, 0), AM_DTYPE_FLOAT64), FIX(f64_2x0));
    assert_saves_as(am_full(AM_SHAPE(1, 1, 2, 1, 1, 1), AM_DTYPE_FLOAT32, 7.25), FIX(f32_6d));
    CU_ASSERT_EQUAL(tmp_count(), 1); /* no temporary files left behind */
    tmp_end();
    am_scope_end();
}

static bool same_array(am_array *a, am_array *b)
{
    if (!a || !b || !has_shape(b, am_array_shape(a), am_array_dtype(a))) return false;
    size_t n = (size_t)am_array_size(a) * am_dtype_size(am_array_dtype(a));
    return n == 0 || memcmp(am_array_data(a), am_array_data(b), n) == 0;
}

static void test_npy_round_trips(void)
{
    am_shape shapes[] = {AM_SHAPE(), AM_SHAPE(0), AM_SHAPE(2, 0), AM_SHAPE(1), AM_SHAPE(5),
                         AM_SHAPE(3, 4), AM_SHAPE(2, 3, 4), AM_SHAPE(2, 1, 3, 1, 2, 2),
                         AM_SHAPE(1000)};
    am_scope_begin();
    tmp_begin();
    for (int t = 0; t < AM_DTYPE_COUNT; t++)
        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
            if (t == AM_DTYPE_BFLOAT16) continue; /* no NumPy dtype: test_dtypes.c */
            double lo = t == AM_DTYPE_UINT8 ? 0 : t == AM_DTYPE_INT8 ? -100 : -300;
            am_array *x = tu_random(shapes[k], (am_dtype)t, lo, t == AM_DTYPE_INT8 ? 100 : 300);
            CU_ASSERT_EQUAL_FATAL(am_npy_save(tmp_path("r.npy"), x), AM_OK);
            am_array *y = am_npy_load(tmp_path("r.npy"));
            CU_ASSERT(same_array(x, y));
            char buf[16384];
            size_t n = read_file(tmp_path("r.npy"), buf, sizeof(buf));
            CU_ASSERT(same_array(x, am_npy_load_buffer(buf, n)));
        }
    /* non-finite floats and a view survive too */
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(4), NAN, INFINITY, -INFINITY, -0.0);
    CU_ASSERT_EQUAL(am_npy_save(tmp_path("w.npy"), w), AM_OK);
    CU_ASSERT(same_array(w, am_npy_load(tmp_path("w.npy"))));
    am_array *base = am_arange(0, 10, 1, AM_DTYPE_INT64);
    am_array *view = am_scope_own(am_array_new_view(base, AM_SHAPE(3), AM_DTYPE_INT64, 5 * 8));
    CU_ASSERT_EQUAL(am_npy_save(tmp_path("v.npy"), view), AM_OK);
    TU_ASSERT_VALUES(am_npy_load(tmp_path("v.npy")), AM_SHAPE(3), 0, 5, 6, 7);
    /* saving over a file replaces it */
    CU_ASSERT_EQUAL(am_npy_save(tmp_path("v.npy"), w), AM_OK);
    CU_ASSERT(same_array(w, am_npy_load(tmp_path("v.npy"))));
    CU_ASSERT_EQUAL(tmp_count(), 3);
    tmp_end();
    am_scope_end();
}

/* ---- .npy: headers as other writers spell them ---------------------------------- */

/* A version 1.0 file from a header text and data bytes. */
static size_t make_npy(char *buf, size_t cap, int major, const char *header, const void *data,
                       size_t n)
{
    size_t h = strlen(header), lenb = major == 1 ? 2 : 4, k = 8 + lenb;
    AM_ASSERT(k + h + n <= cap);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (char)major;
    buf[7] = 0;
    for (size_t i = 0; i < lenb; i++) buf[8 + i] = (char)((h >> (8 * i)) & 0xff);
    memcpy(buf + k, header, h);
    if (n) memcpy(buf + k + h, data, n);
    return k + h + n;
}

static void test_npy_header_variants(void)
{
    static const char *const headers[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
        "  {  'fortran_order' :False,'shape':(2,3,),'descr':'=f4' ,}  \n",
        "{'descr': 'f4', 'fortran_order': False, 'shape': (2L, 3L)}",
        "{'descr':'<f4',\n 'fortran_order':False,\n 'shape':( 2 , 3 )\n}\n",
    };
    float v[6] = {1, 2, 3, 4, 5, 6};
    char buf[512];
    am_scope_begin();
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        am_array *x = am_npy_load_buffer(buf, make_npy(buf, sizeof(buf), 1, headers[i], v, 24));
        if (!x) printf("\n  header %zu: %s\n", i, am_last_error());
        CU_ASSERT(has_shape(x, AM_SHAPE(2, 3), AM_DTYPE_FLOAT32));
        TU_ASSERT_VALUES(x, AM_SHAPE(2, 3), 0, 1, 2, 3, 4, 5, 6);
    }
    uint8_t b[3] = {1, 0, 1};
    am_array *x = am_npy_load_buffer(buf, make_npy(buf, sizeof(buf), 1,
        "{'descr': '|b1', 'fortran_order': False, 'shape': (3)}", b, 3)); /* "(3)" as (3,) */
    TU_ASSERT_VALUES(x, AM_SHAPE(3), 0, 1, 0, 1);
    x = am_npy_load_buffer(buf, make_npy(buf, sizeof(buf), 1,
        "{'descr': '>u1', 'fortran_order': False, 'shape': (3,)}", b, 3)); /* 1 byte: no order */
    TU_ASSERT_VALUES(x, AM_SHAPE(3), 0, 1, 0, 1);
    x = am_npy_load_buffer(buf, make_npy(buf, sizeof(buf), 2,
        "{'descr': '<i8', 'fortran_order': False, 'shape': ()}", (int64_t[]){-9}, 8));
    TU_ASSERT_VALUES(x, AM_SHAPE(), 0, -9);
    /* bytes after the data are ignored, as numpy does */
    x = am_npy_load_buffer(buf, make_npy(buf, sizeof(buf), 1,
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2,)}", b, 3));
    TU_ASSERT_VALUES(x, AM_SHAPE(2), 0, 1, 0);
    am_scope_end();
}

/* ---- .npy: errors ------------------------------------------------------------------------ */

#define NPY_FAILS(major, header, data, n, substr)                                           \
    do {                                                                                    \
        char b_[512];                                                                       \
        size_t n_ = make_npy(b_, sizeof(b_), (major), (header), (data), (n));               \
        TU_ASSERT_FAILS(am_npy_load_buffer(b_, n_), AM_ERR_FORMAT, (substr));               \
    } while (0)

static void test_npy_format_errors(void)
{
    static const char zeros[64];
    am_scope_begin();
    TU_ASSERT_FAILS(am_npy_load_buffer("PK\003\004 zip file", 15), AM_ERR_FORMAT,
                    "am_npy_load_buffer: <buffer>: not a .npy file (bad magic 50 4b 03 04 20 7a");
    TU_ASSERT_FAILS(am_npy_load_buffer("\x93NUM", 4), AM_ERR_FORMAT, "only 4 bytes");
    TU_ASSERT_FAILS(am_npy_load_buffer(NULL, 0), AM_ERR_FORMAT, "only 0 bytes");
    NPY_FAILS(4, "{}", NULL, 0, "unsupported .npy format version 4.0");
    NPY_FAILS(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", zeros, 8,
              "big-endian dtype '>f4' is not supported");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}", zeros, 16,
              "fortran_order True is not supported");
    NPY_FAILS(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", zeros, 16,
              "unsupported dtype '<c8' (Amber reads <f4 <f8 <f2 <i4 <i8 |u1 |i1 and |b1)");
    NPY_FAILS(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", zeros, 8,
              "unsupported dtype '<c8'");
    NPY_FAILS(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", zeros, 8,
              "unsupported dtype '|O'");
    NPY_FAILS(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", zeros, 4,
              "structured dtypes are not supported");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", zeros, 20,
              "<buffer>: truncated: shape (2, 3) of <f4 needs 24 bytes of data but only 20 "
              "follow the header");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1)}",
              zeros, 4, "shape has more than 6 dimensions");
    /* absurd sizes fail before anything is allocated */
    NPY_FAILS(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000)}",
              zeros, 8, "shape (1000000000, 1000000000) of <f8 is too large");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,)}", zeros, 8,
              "needs 400000000000 bytes of data but only 8 follow");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
              zeros, 8, "dimension too large");
    am_scope_end();
}

static void test_npy_header_errors(void)
{
    static const char zeros[16];
    char buf[64];
    am_scope_begin();
    NPY_FAILS(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", zeros, 4,
              "garbled header at byte 16: expected ',' or '}' in \"{'descr': '<f4' 'fortran");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False}", zeros, 4, "the header lacks 'shape'");
    NPY_FAILS(1, "{'descr': '<f4', 'shape': (1,)}", zeros, 4, "lacks 'fortran_order'");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", zeros, 4,
              "unexpected key 'x' in the header");
    NPY_FAILS(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", zeros,
              4, "key 'descr' appears twice");
    NPY_FAILS(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", zeros, 4,
              "garbled header");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", zeros, 4,
              "expected True or False");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", zeros, 4,
              "expected a shape tuple");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", zeros, 4,
              "expected a dimension");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", zeros, 4,
              "unexpected text after '}'");
    NPY_FAILS(1, "['descr']", zeros, 4, "expected '{'");
    NPY_FAILS(1, "", zeros, 4, "expected '{'");
    NPY_FAILS(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", zeros, 0,
              "expected ',' or '}'");
    /* a NUL inside the header */
    size_t n = make_npy(buf, sizeof(buf), 1, "{'descr': '<f4'}", zeros, 4);
    buf[12] = '\0';
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, n), AM_ERR_FORMAT,
                    "garbled header: it holds a NUL byte");
    /* header lengths beyond the file or beyond reason */
    n = make_npy(buf, sizeof(buf), 1, "{}", NULL, 0);
    buf[8] = (char)200;
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, n), AM_ERR_FORMAT,
                    "truncated: the header says 200 bytes but only 2 follow");
    n = make_npy(buf, sizeof(buf), 2, "{}", NULL, 0);
    buf[11] = 1; /* 16 MiB */
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, n), AM_ERR_FORMAT,
                    "header of 16777218 bytes is too long (at most 65536)");
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, 9), AM_ERR_FORMAT, "only 9 bytes");
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, 11), AM_ERR_FORMAT, "truncated in the header length");
    am_scope_end();
}

static void test_npy_file_errors(void)
{
    am_scope_begin();
    tmp_begin();
    /* load: messages name the file */
    TU_ASSERT_FAILS(am_npy_load(tmp_path("missing.npy")), AM_ERR_IO,
                    "am_npy_load: cannot open /tmp/amber-io-");
    TU_ASSERT_FAILS(am_npy_load(tmpdir), AM_ERR_IO, "not a regular file");
    TU_ASSERT_FAILS(am_npy_load(NULL), AM_ERR_ARG, "am_npy_load: path is NULL");
    write_bytes(tmp_path("bad.npy"), "\x93NUMPY\x01\x00\x04\x00{}\n", 14);
    char want[400];
    snprintf(want, sizeof(want), "am_npy_load: %s: garbled header", tmp_path("bad.npy"));
    TU_ASSERT_FAILS(am_npy_load(tmp_path("bad.npy")), AM_ERR_FORMAT, want);
    write_bytes(tmp_path("short.npy"), npy_f32_2x3, sizeof(npy_f32_2x3) - 2);
    TU_ASSERT_FAILS(am_npy_load(tmp_path("short.npy")), AM_ERR_FORMAT,
                    "short.npy: truncated: shape (2, 3) of <f4 needs 24 bytes of data but only 23");
    /* save: failures leave no file behind */
    am_array *x = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    TU_ASSERT_STATUS(am_npy_save("/nonexistent-dir/x.npy", x), AM_ERR_IO,
                    "am_npy_save: cannot create a file beside /nonexistent-dir/x.npy");
    CU_ASSERT_EQUAL(mkdir(tmp_path("dir.npy"), 0700), 0);
    int before = tmp_count();
    TU_ASSERT_STATUS(am_npy_save(tmp_path("dir.npy"), x), AM_ERR_IO, "dir.npy: Is a directory");
    CU_ASSERT_EQUAL(tmp_count(), before);
    TU_ASSERT_STATUS(am_npy_save(NULL, x), AM_ERR_ARG, "am_npy_save: path is NULL");
    TU_ASSERT_STATUS(am_npy_save(tmp_path("n.npy"), NULL), AM_ERR_ARG, "input 1 is NULL");
    am_array sym = fake_symbolic();
    TU_ASSERT_STATUS(am_npy_save(tmp_path("s.npy"), &sym), AM_ERR_SYMBOLIC,
                    "am_npy_save: cannot save the values of a symbolic array");
    CU_ASSERT_EQUAL(tmp_count(), before);
    tmp_end();
    am_scope_end();
}

CU_TestInfo am_tests_io[] = {
    {"print floats", test_print_floats},
    {"print scientific notation", test_print_scientific},
    {"print nan and inf", test_print_nonfinite},
    {"print integers, 0-d and size-0", test_print_ints_and_scalars},
    {"print wraps long rows", test_print_wrapping},
    {"print summarises over 1000 elements", test_print_summary},
    {"printed numbers read back", test_print_reads_back},
    {"print views, symbolic and NULL", test_print_views_and_errors},
    {"am_print to stdout", test_print_stdout},
    {"npy files written by numpy", test_npy_numpy_files},
    {"npy save is byte-identical to numpy", test_npy_save_matches_numpy},
    {"npy round trips", test_npy_round_trips},
    {"npy header variants", test_npy_header_variants},
    {"npy format errors", test_npy_format_errors},
    {"npy header errors", test_npy_header_errors},
    {"npy file errors", test_npy_file_errors},
    CU_TEST_INFO_NULL,
};
