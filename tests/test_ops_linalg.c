/* The ops_linalg suite: MXNet's _linalg_* ops against numbers MXNet 1.9.1
 * computed (build/mxnet-venv: forward, and autograd with a head gradient),
 * float32 against float64, batches against their matrices one at a time,
 * size-0 batches, and the errors (not positive definite, singular, shapes). */
#include "test_util.h"

#include <amber/executor.h>

#define F64 AM_DTYPE_FLOAT64
#define TOL 1e-6

static am_array *m3(double a, double b, double c, double d, double e, double f, double g,
                    double h, double i)
{
    return tu_array(F64, AM_SHAPE(3, 3), a, b, c, d, e, f, g, h, i);
}

static am_array *spd3(void) { return m3(4, 1, 2, 1, 5, 3, 2, 3, 6); }
static am_array *tri3(void) { return m3(2, 0, 0, 1, 3, 0, 1, 2, 4); }
static am_array *gen3(void) { return m3(0, 1, 2, 3, 4, 5, 6, 7, 9); }
static am_array *w3(void) { return m3(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9); }

static void test_products(void)
{
    am_scope_begin();
    am_array *a = tu_array(F64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *b = tu_array(F64, AM_SHAPE(3, 2), 1, 0, 2, 1, 0, 3);
    am_array *c = tu_array(F64, AM_SHAPE(2, 2), 1, 1, 1, 1);
    TU_ASSERT_VALUES(am_linalg_gemm(a, b, c, false, false, 2.0, 0.5, -2), AM_SHAPE(2, 2), TOL,
                     10.5, 22.5, 28.5, 46.5);
    TU_ASSERT_VALUES(am_linalg_gemm2(b, a, true, true, 1.0, -2), AM_SHAPE(2, 2), TOL, 5, 14, 11,
                     23);
    /* rows on axis 0: (2, 2, 3) x (3, 2, 4), batched over axis 1 */
    am_array *x = am_reshape(am_arange(0, 12, 1, F64), AM_SHAPE(2, 2, 3));
    am_array *y = am_mul_scalar(am_reshape(am_arange(0, 24, 1, F64), AM_SHAPE(3, 2, 4)), 0.5);
    TU_ASSERT_VALUES(am_linalg_gemm2(x, y, false, false, 1.0, 0), AM_SHAPE(2, 2, 4), TOL, 20,
                     21.5, 23, 24.5, 80, 86, 92, 98, 92, 102.5, 113, 123.5, 188, 203, 218, 233);
    TU_ASSERT_VALUES(am_linalg_syrk(a, false, 1.0), AM_SHAPE(2, 2), TOL, 14, 32, 32, 77);
    TU_ASSERT_VALUES(am_linalg_syrk(a, true, 0.5), AM_SHAPE(3, 3), TOL, 8.5, 11, 13.5, 11, 14.5,
                     18, 13.5, 18, 22.5);
    am_array *bm = tu_array(F64, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6);
    TU_ASSERT_VALUES(am_linalg_trmm(tri3(), bm, false, false, true, 0.5), AM_SHAPE(3, 2), TOL, 1,
                     2, 5, 7, 13.5, 17);
    TU_ASSERT_VALUES(am_linalg_trmm(tri3(), am_swap_axis(bm, 0, 1), true, true, true, 1.0),
                     AM_SHAPE(2, 3), TOL, 2, 10, 27, 4, 14, 34);
    TU_ASSERT_VALUES(am_linalg_trsm(tri3(), bm, false, false, true, 1.0), AM_SHAPE(3, 2), 1e-7,
                     0.5, 1, 0.83333333, 1, 0.70833333, 0.75);
    TU_ASSERT_VALUES(am_linalg_trsm(am_swap_axis(tri3(), 0, 1), bm, true, false, false, 2.0),
                     AM_SHAPE(3, 2), 1e-7, 1, 2, 1.6666667, 2, 1.4166667, 1.5);
    am_scope_end();
}

static void test_factorizations(void)
{
    am_scope_begin();
    am_array *s = spd3();
    TU_ASSERT_VALUES(am_linalg_potrf(s, true), AM_SHAPE(3, 3), 1e-7, 2, 0, 0, 0.5, 2.1794495, 0,
                     1, 1.1470787, 1.9194297);
    TU_ASSERT_VALUES(am_linalg_potrf(s, false), AM_SHAPE(3, 3), 1e-7, 2, 0.5, 1, 0, 2.1794495,
                     1.1470787, 0, 0, 1.9194297);
    TU_ASSERT_VALUES(am_linalg_potri(am_linalg_potrf(s, true), true), AM_SHAPE(3, 3), 1e-7, 0.3,
                     0, -0.1, 0, 0.28571429, -0.14285714, -0.1, -0.14285714, 0.27142857);
    TU_ASSERT_VALUES(am_linalg_potri(am_linalg_potrf(s, false), false), AM_SHAPE(3, 3), 1e-7,
                     0.3, 0, -0.1, 0, 0.28571429, -0.14285714, -0.1, -0.14285714, 0.27142857);
    TU_ASSERT_VALUES(am_linalg_inverse(s), AM_SHAPE(3, 3), 1e-7, 0.3, 0, -0.1, 0, 0.28571429,
                     -0.14285714, -0.1, -0.14285714, 0.27142857);
    TU_ASSERT_VALUES(am_linalg_sumlogdiag(s), AM_SHAPE(1), 1e-7, 4.7874917);
    TU_ASSERT_VALUES(am_linalg_det(s), AM_SHAPE(1), 1e-9, 70);
    TU_ASSERT_VALUES(am_linalg_det(gen3()), AM_SHAPE(1), 1e-9, -3);
    am_array *sign = NULL, *logabs = NULL;
    CU_ASSERT_EQUAL(am_linalg_slogdet(gen3(), &sign, &logabs), AM_OK);
    TU_ASSERT_VALUES(sign, AM_SHAPE(1), 0, -1);
    TU_ASSERT_VALUES(logabs, AM_SHAPE(1), 1e-7, 1.0986123);
    am_array *q = NULL, *l = NULL;
    CU_ASSERT_EQUAL(am_linalg_gelqf(tu_array(F64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6), &q, &l),
                    AM_OK);
    TU_ASSERT_VALUES(q, AM_SHAPE(2, 3), 1e-7, -0.26726124, -0.53452248, -0.80178373, 0.87287156,
                     0.21821789, -0.43643578);
    TU_ASSERT_VALUES(l, AM_SHAPE(2, 2), 1e-7, -3.7416574, 0, -8.5523597, 1.963961);
    am_array *u = NULL, *e = NULL;
    CU_ASSERT_EQUAL(am_linalg_syevd(s, &u, &e), AM_OK);
    TU_ASSERT_VALUES(u, AM_SHAPE(3, 3), 1e-7, -0.4412247, -0.57735027, 0.68701342, 0.81558342,
                     -0.57735027, 0.038605088, 0.37435872, 0.57735027, 0.7256185);
    TU_ASSERT_VALUES(e, AM_SHAPE(3), 1e-7, 2.1943972, 3.3867702, 9.4188327);
    /* a singular matrix: det 0, log|det| -inf */
    am_array *z = m3(1, 2, 3, 2, 4, 6, 1, 1, 1);
    TU_ASSERT_VALUES(am_abs(am_linalg_det(z)), AM_SHAPE(1), 0, 0);
    CU_ASSERT_EQUAL(am_linalg_slogdet(z, &sign, &logabs), AM_OK);
    CU_ASSERT(isinf(am_item(logabs, 0)) && am_item(logabs, 0) < 0);
    am_scope_end();
}

static void test_diag_trian(void)
{
    am_scope_begin();
    am_array *m = gen3();
    TU_ASSERT_VALUES(am_linalg_extractdiag(m, -1), AM_SHAPE(2), 0, 3, 7);
    TU_ASSERT_VALUES(am_linalg_makediag(tu_array(F64, AM_SHAPE(2), 1, 2), 1), AM_SHAPE(3, 3), 0,
                     0, 1, 0, 0, 0, 2, 0, 0, 0);
    TU_ASSERT_VALUES(am_linalg_extracttrian(m, 0, false), AM_SHAPE(6), 0, 0, 1, 4, 2, 5, 9);
    TU_ASSERT_VALUES(am_linalg_extracttrian(m, 1, true), AM_SHAPE(3), 0, 1, 2, 5);
    TU_ASSERT_VALUES(am_linalg_extracttrian(m, -1, true), AM_SHAPE(3), 0, 3, 6, 7);
    TU_ASSERT_VALUES(am_linalg_maketrian(tu_array(F64, AM_SHAPE(6), 1, 2, 3, 4, 5, 6), 0, false),
                     AM_SHAPE(3, 3), 0, 1, 2, 4, 0, 3, 5, 0, 0, 6);
    TU_ASSERT_VALUES(am_linalg_maketrian(tu_array(F64, AM_SHAPE(3), 1, 2, 3), -1, true),
                     AM_SHAPE(3, 3), 0, 0, 0, 0, 1, 0, 0, 2, 3, 0);
    am_scope_end();
}

/* d sum(w * f(x)) / dx through autograd. */
static am_array *grad_of(am_array *x, int op, am_array *w, am_array *w2)
{
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = NULL, *y2 = NULL;
    switch (op) {
    case 0: y = am_linalg_potrf(x, true); break;
    case 1: y = am_linalg_potri(x, true); break;
    case 2: y = am_linalg_inverse(x); break;
    case 3: y = am_linalg_det(x); break;
    case 4: am_linalg_slogdet(x, &y, &y2); break;
    case 5: am_linalg_syevd(x, &y, &y2); break;
    case 6: am_linalg_gelqf(x, &y, &y2); break;
    case 7: y = am_linalg_sumlogdiag(x); break;
    default: break;
    }
    am_array *loss = am_sum(am_mul(y, w), NULL, 0, false);
    if (w2) loss = am_add(loss, am_sum(am_mul(y2, w2), NULL, 0, false));
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
    return am_grad(x);
}

static void test_gradients(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(grad_of(spd3(), 0, w3(), NULL), AM_SHAPE(3, 3), 1e-7, -0.0086627431,
                     0.049165942, 0.042742515, 0.049165942, 0.08305488, 0.060140675, 0.042742515,
                     0.060140675, 0.23444463);
    TU_ASSERT_VALUES(grad_of(am_linalg_potrf(spd3(), true), 1, w3(), NULL), AM_SHAPE(3, 3), 1e-7,
                     0.02, 0, 0, -0.014285714, -0.036051044, 0, -0.082857143, -0.062269985,
                     -0.017862448);
    TU_ASSERT_VALUES(grad_of(spd3(), 2, w3(), NULL), AM_SHAPE(3, 3), 1e-7, 0.012, 0.0057142857,
                     -0.0068571429, 0, -0.0020408163, -0.006122449, -0.024, -0.01755102,
                     -0.0046530612);
    am_array *two = tu_array(F64, AM_SHAPE(1), 2.0);
    TU_ASSERT_VALUES(grad_of(gen3(), 3, two, NULL), AM_SHAPE(3, 3), 1e-7, 2, 6, -6, 10, -24, 12,
                     -6, 12, -6);
    TU_ASSERT_VALUES(grad_of(gen3(), 4, tu_array(F64, AM_SHAPE(1), 5.0), two), AM_SHAPE(3, 3),
                     1e-7, -0.66666667, -2, 2, -3.3333333, 8, -4, 2, -4, 2);
    TU_ASSERT_VALUES(grad_of(spd3(), 5, w3(), tu_array(F64, AM_SHAPE(3), 1, 2, 3)),
                     AM_SHAPE(3, 3), 1e-7, 1.9297156, -0.034199334, 0.53338575, -0.034199334,
                     2.0559109, 0.84577221, 0.53338575, 0.84577221, 2.0143735);
    TU_ASSERT_VALUES(grad_of(tu_array(F64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6), 6,
                             tu_array(F64, AM_SHAPE(2, 3), 0, 0.1, 0.2, 0.3, 0.4, 0.5),
                             tu_array(F64, AM_SHAPE(2, 2), 1, 2, 3, 4)),
                     AM_SHAPE(2, 3), 1e-6, -9.7691203, -2.9099872, 3.9491458, 2.6897025,
                     -0.73069589, -4.1510943);
    TU_ASSERT_VALUES(grad_of(spd3(), 7, tu_array(F64, AM_SHAPE(1), 3.0), NULL), AM_SHAPE(3, 3),
                     1e-9, 0.75, 0, 0, 0, 0.6, 0, 0, 0, 0.5);
    am_scope_end();
}

/* potrf's gradient through am_graph_gradient: MXNet's numbers again. */
static void test_symbolic_gradient(void)
{
    am_scope_begin();
    am_array *v = am_var("A", AM_SHAPE(3, 3), F64);
    am_array *y = am_linalg_potrf(v, true);
    am_graph *g = am_graph_create(&y, 1);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"A"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    char *out_name = NULL, hg_name[128];
    CU_ASSERT_EQUAL(am_graph_list_outputs(g, &out_name, 1), 1);
    snprintf(hg_name, sizeof(hg_name), "%s_head_grad", out_name);
    const char *names[2] = {"A", hg_name};
    am_array *vals[2] = {spd3(), w3()}, *outs[2] = {0};
    CU_ASSERT_EQUAL(am_graph_eval(gg, names, vals, 2, true, outs, 2), AM_OK);
    TU_ASSERT_VALUES(outs[0], AM_SHAPE(3, 3), 1e-7, 2, 0, 0, 0.5, 2.1794495, 0, 1, 1.1470787,
                     1.9194297);
    TU_ASSERT_VALUES(outs[1], AM_SHAPE(3, 3), 1e-7, -0.0086627431, 0.049165942, 0.042742515,
                     0.049165942, 0.08305488, 0.060140675, 0.042742515, 0.060140675, 0.23444463);
    free(out_name);
    am_graph_release(gg);
    am_graph_release(g);
    am_scope_end();
}

/* Matrix (i, j) of a (2, 2, 3, 3) batch. */
static am_array *matrix_at(am_array *x, int64_t i, int64_t j)
{
    int64_t begin[2] = {i, j}, end[2] = {i + 1, j + 1};
    return am_reshape(am_slice(x, begin, end, NULL, 2), AM_SHAPE(3, 3));
}

/* Each op on a batch (2, 2, 3, 3) equals the op on its matrices; float32 agrees
 * with float64. */
static void test_batches_and_dtypes(void)
{
    am_scope_begin();
    am_array *x = am_random_uniform(-1, 1, AM_SHAPE(2, 2, 3, 3), F64);
    am_array *a = am_add(am_linalg_syrk(x, false, 1.0),
                         am_linalg_makediag(am_mul_scalar(am_ones(AM_SHAPE(2, 2, 3), F64), 3), 0));
    am_array *f = am_linalg_potrf(a, true), *inv = am_linalg_inverse(a), *d = am_linalg_det(a);
    CU_ASSERT(am_array_ndim(d) == 2 && am_array_dim(d, 0) == 2 && am_array_dim(d, 1) == 2);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            am_array *one = matrix_at(a, i, j), *f1 = matrix_at(f, i, j);
            CU_ASSERT(tu_allclose(am_linalg_potrf(one, true), f1, 1e-12));
            CU_ASSERT(fabs(am_item(am_linalg_det(one), 0) - am_item(d, i * 2 + j)) < 1e-9);
        }
    /* A A^-1 = I for every matrix */
    am_array *eye = am_linalg_makediag(am_ones(AM_SHAPE(2, 2, 3), F64), 0);
    CU_ASSERT(tu_allclose(am_linalg_gemm2(a, inv, false, false, 1.0, -2), eye, 1e-10));
    /* float32 */
    am_array *a32 = am_astype(a, AM_DTYPE_FLOAT32);
    am_array *f32 = am_linalg_potrf(a32, true);
    CU_ASSERT_EQUAL(am_array_dtype(f32), AM_DTYPE_FLOAT32);
    CU_ASSERT(tu_allclose(am_astype(f32, F64), f, 1e-5));
    CU_ASSERT(tu_allclose(am_astype(am_linalg_det(a32), F64), d, 1e-4));
    /* size-0 batches */
    am_array *e = am_zeros(AM_SHAPE(0, 3, 3), F64);
    CU_ASSERT_EQUAL(am_array_dim(am_linalg_potrf(e, true), 0), 0);
    CU_ASSERT_EQUAL(am_array_dim(am_linalg_det(e), 0), 0);
    CU_ASSERT_EQUAL(am_array_dim(am_linalg_inverse(e), 0), 0);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    /* the second matrix of the batch is not positive definite */
    am_array *two[2] = {spd3(), m3(-1, 0, 0, 0, 1, 0, 0, 0, 1)};
    am_array *b = am_stack(two, 2, 0);
    TU_ASSERT_FAILS(am_linalg_potrf(b, true), AM_ERR_ARG, "matrix 1 of A (2, 3, 3) is not "
                    "symmetric positive definite");
    TU_ASSERT_FAILS(am_linalg_potrf(b, true), AM_ERR_ARG, "_linalg_potrf");
    am_array *three[3] = {spd3(), spd3(), m3(1, 2, 3, 2, 4, 6, 1, 1, 1)};
    am_array *sing = am_stack(three, 3, 0);
    TU_ASSERT_FAILS(am_linalg_inverse(sing), AM_ERR_ARG, "matrix 2 of A (3, 3, 3) is singular");
    TU_ASSERT_FAILS(am_linalg_potrf(tu_array(F64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6), true),
                    AM_ERR_SHAPE, "square");
    TU_ASSERT_FAILS(am_linalg_gemm2(tu_array(F64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6), spd3(), true,
                                    false, 1.0, -2),
                    AM_ERR_SHAPE, "A (2, 3) does not match B (3, 3): the contracted");
    TU_ASSERT_FAILS(am_linalg_gemm(spd3(), spd3(), w3(), false, false, 1, 1, 1), AM_ERR_SHAPE,
                    "axis is out of range");
    TU_ASSERT_FAILS(am_linalg_trmm(spd3(), am_zeros(AM_SHAPE(2, 3), F64), false, false, true, 1),
                    AM_ERR_SHAPE, "does not match B (2, 3)");
    TU_ASSERT_FAILS(am_linalg_maketrian(am_zeros(AM_SHAPE(5), F64), 0, true), AM_ERR_SHAPE,
                    "not a triangular number");
    TU_ASSERT_FAILS(am_linalg_extractdiag(spd3(), 3), AM_ERR_SHAPE, "offset 3 does not fit");
    TU_ASSERT_FAILS(am_linalg_gelqf(am_zeros(AM_SHAPE(3, 2), F64), NULL, NULL) == AM_OK,
                    AM_ERR_SHAPE, "m <= n");
    TU_ASSERT_FAILS(am_linalg_det(am_zeros(AM_SHAPE(3, 3), AM_DTYPE_INT32)), AM_ERR_DTYPE,
                    "float32 or float64");
    am_scope_end();
}

static void test_khatri_rao(void)
{
    am_scope_begin();
    am_array *xs[3] = {tu_array(F64, AM_SHAPE(2, 2), 1, 2, 3, 4),
                       tu_array(F64, AM_SHAPE(3, 2), 1, 10, 2, 20, 3, 30),
                       tu_array(F64, AM_SHAPE(1, 2), 2, -1)};
    TU_ASSERT_VALUES(am_khatri_rao(xs, 2), AM_SHAPE(6, 2), 0, 1, 20, 2, 40, 3, 60, 3, 40, 6, 80,
                     9, 120);
    TU_ASSERT_VALUES(am_khatri_rao(xs, 3), AM_SHAPE(6, 2), 0, 2, -20, 4, -40, 6, -60, 6, -40, 12,
                     -80, 18, -120);
    TU_ASSERT_VALUES(am_khatri_rao(xs, 1), AM_SHAPE(2, 2), 0, 1, 2, 3, 4);
    am_array *bad[2] = {xs[0], am_zeros(AM_SHAPE(2, 3), F64)};
    TU_ASSERT_FAILS(am_khatri_rao(bad, 2), AM_ERR_SHAPE, "input 1 (2, 3) does not match input 0");
    am_scope_end();
}

CU_TestInfo am_tests_ops_linalg[] = {
    {"khatri_rao matches MXNet", test_khatri_rao},
    {"gemm, gemm2 (axis), syrk, trmm, trsm match MXNet", test_products},
    {"potrf, potri, inverse, det, slogdet, gelqf, syevd match MXNet", test_factorizations},
    {"extract/make diag and trian match MXNet", test_diag_trian},
    {"gradients match MXNet's autograd", test_gradients},
    {"potrf's gradient through am_graph_gradient", test_symbolic_gradient},
    {"batches, float32 and size-0 batches", test_batches_and_dtypes},
    {"errors name the op, the batch index and the shapes", test_errors},
    CU_TEST_INFO_NULL,
};
