/* The ops_misc2 suite: _contrib_fft/_contrib_ifft against hand-worked transforms and a
 * naive O(N^2) DFT, _set_value, reset_arrays, IdentityAttachKLSparseReg and
 * _contrib_hawkesll against MXNet 1.9.1's numbers (MXNet runs fft only on the GPU, so the
 * transforms are checked against the DFT's definition instead), and their errors. */
#include "test_util.h"

#include <math.h>

#include <amber/autograd.h>
#include <amber/symbol.h>

static void test_fft_hand(void)
{
    am_scope_begin();
    /* DFT of (1, 2, 3, 4): 10, -2+2i, -2, -2-2i; the unscaled inverse gives 4x back. */
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 4), 1, 2, 3, 4);
    am_array *y = am_fft(x);
    TU_ASSERT_VALUES(y, AM_SHAPE(1, 8), 1e-5, 10, 0, -2, 2, -2, 0, -2, -2);
    TU_ASSERT_VALUES(am_ifft(y), AM_SHAPE(1, 4), 1e-5, 4, 8, 12, 16);
    /* Length 3 (Bluestein): (1, 0, 0) -> ones; (0, 1, 0) -> exp(-2 pi i k / 3). */
    am_array *z = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1, 0, 0, 0, 1, 0);
    double h = sqrt(3) / 2;
    TU_ASSERT_VALUES(am_fft(z), AM_SHAPE(2, 6), 1e-12, 1, 0, 1, 0, 1, 0, 1, 0, -0.5, -h, -0.5, h);
    /* ifft of a complex row keeps the real part: (i, 0) -> Re(i, i) = (0, 0). */
    am_array *c = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 4), 0, 1, 0, 0);
    TU_ASSERT_VALUES(am_ifft(c), AM_SHAPE(1, 2), 1e-12, 0, 0);
    am_scope_end();
}

/* Every length 1..40 (powers of two and Bluestein) in 4-D against the definition. */
static void test_fft_naive(void)
{
    am_scope_begin();
    for (int n = 1; n <= 40; n++) {
        am_array *x = tu_random(AM_SHAPE(2, 1, 2, n), AM_DTYPE_FLOAT64, -1, 1);
        am_array *y = am_fft(x), *back = am_ifft(y);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        am_view xv = am_array_view(x), yv = am_array_view(y), bv = am_array_view(back);
        double err = 0;
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < n; k++) {
                double re = 0, im = 0;
                for (int j = 0; j < n; j++) {
                    double t = -2 * M_PI * (double)((int64_t)j * k % n) / n;
                    re += am_view_get(&xv, r * n + j) * cos(t);
                    im += am_view_get(&xv, r * n + j) * sin(t);
                }
                err = fmax(err, fabs(re - am_view_get(&yv, (r * n + k) * 2)));
                err = fmax(err, fabs(im - am_view_get(&yv, (r * n + k) * 2 + 1)));
                err = fmax(err, fabs(n * am_view_get(&xv, r * n + k) - am_view_get(&bv, r * n + k)));
            }
        if (err > 1e-11) printf("\n  fft length %d: error %g", n, err);
        CU_ASSERT(err <= 1e-11);
    }
    am_scope_end();
}

static void test_fft_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_fft(am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32)), AM_ERR_SHAPE,
                    "2-D or 4-D");
    TU_ASSERT_FAILS(am_ifft(am_zeros(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32)), AM_ERR_SHAPE, "odd");
    TU_ASSERT_FAILS(am_fft(am_zeros(AM_SHAPE(2, 4), AM_DTYPE_INT32)), AM_ERR_DTYPE,
                    "floating point");
    am_scope_end();
}

/* fft's gradient is ifft of the head gradient: for loss sum(w * fft(x)), d/dx_n =
 * sum_k w_re[k] cos(2 pi kn/N) - w_im[k] sin(2 pi kn/N). */
static void test_fft_grad(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 2), 0.3, -0.7);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_fft(x);
    am_autograd_end();
    /* w = (1, 2, 3, 4): X_0 (re 1, im 2), X_1 (re 3, im 4); d/dx_0 = 1 + 3, d/dx_1 = 1 - 3. */
    CU_ASSERT_EQUAL(am_backward_at(y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 4), 1, 2, 3, 4),
                                   false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 2), 1e-12, 4, -2);
    am_scope_end();
}

static void test_set_value(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT64);
    CU_ASSERT_EQUAL(am_set_value(x, 3.5), AM_OK);
    TU_ASSERT_VALUES(x, AM_SHAPE(2, 3), 0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5);
    am_array *i = am_zeros(AM_SHAPE(3), AM_DTYPE_INT32);
    CU_ASSERT_EQUAL(am_set_value(i, -2), AM_OK);
    TU_ASSERT_VALUES(i, AM_SHAPE(3), 0, -2, -2, -2);
    /* An eager call has no array to fill: a 0-d array holding src. */
    am_array *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_set_value", NULL, 0, "src", "1.25", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, ((am_shape){.ndim = 0}), 0, 1.25);
    TU_ASSERT_STATUS(am_set_value(am_var("v", AM_SHAPE(2), AM_DTYPE_FLOAT32), 1),
                     AM_ERR_SYMBOLIC, "symbolic");
    TU_ASSERT_STATUS(am_set_value(NULL, 1), AM_ERR_ARG, "NULL");
    am_scope_end();
}

static void test_reset_arrays(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_INT64, AM_SHAPE(3), 5, 6, 7);
    am_array *both[2] = {a, b};
    CU_ASSERT_EQUAL(am_reset_arrays(both, 2), AM_OK);
    TU_ASSERT_VALUES(a, AM_SHAPE(2, 2), 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(b, AM_SHAPE(3), 0, 0, 0, 0);
    TU_ASSERT_STATUS(am_reset_arrays(both, 0), AM_ERR_ARG, "reset_arrays");
    am_array *y[2] = {0};
    TU_ASSERT_STATUS(tu_invoke("reset_arrays", both, 2, "num_arrays", "3", y, 2), AM_ERR_ARG,
                     "inputs");
    am_scope_end();
}

/* MXNet 1.9.1 (momentum 0.9, penalty 0.001, rho 0.1, moving_avg (0.5, 0.5)): moving_avg
 * 0.48, 0.5 then 0.462, 0.5; gradients 1.0015224, 1.0016 then 2.0014565, 2.0016. */
static void test_kl_sparse_reg(void)
{
    am_scope_begin();
    am_array *d = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 2), 0.2, 0.4, 0.6, 0.8, 0.1, 0.3);
    am_array *ma = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0.5, 0.5);
    am_attach_grad(d, AM_GRAD_WRITE);
    double head[2] = {1, 2}, g0[2] = {1.0015224, 2.0014565}, m0[2] = {0.48, 0.462};
    for (int step = 0; step < 2; step++) {
        am_autograd_record_begin(true);
        am_array *y = am_identity_attach_kl_sparse_reg(d, ma, 0.1, 0.001, 0.9);
        am_autograd_end();
        TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 1e-7, 0.2, 0.4, 0.6, 0.8, 0.1, 0.3);
        am_array *hg = am_full(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32, head[step]);
        CU_ASSERT_EQUAL(am_backward_at(y, hg, false, AM_HERE), AM_OK);
        TU_ASSERT_VALUES(ma, AM_SHAPE(2), 1e-6, m0[step], 0.5);
        TU_ASSERT_VALUES(am_grad(d), AM_SHAPE(3, 2), 1e-6, g0[step], head[step] + 0.0016,
                         g0[step], head[step] + 0.0016, g0[step], head[step] + 0.0016);
    }
    TU_ASSERT_FAILS(am_identity_attach_kl_sparse_reg(am_zeros(AM_SHAPE(2, 3, 2), AM_DTYPE_FLOAT32),
                                                     ma, 0.1, 0.001, 0.9),
                    AM_ERR_SHAPE, "(N, C)");
    TU_ASSERT_FAILS(am_identity_attach_kl_sparse_reg(d, am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32),
                                                     0.1, 0.001, 0.9),
                    AM_ERR_SHAPE, "moving_avg");
    TU_ASSERT_FAILS(am_identity_attach_kl_sparse_reg(d, ma, 1.5, 0.001, 0.9), AM_ERR_ARG,
                    "sparseness_target");
    am_scope_end();
}

/* Two sequences, K = 3, T = 4, float64; numbers from MXNet 1.9.1 (which computes exp and log
 * in float, hence the tolerance). */
static void hawkes_inputs(am_array **in)
{
    in[0] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 0.5, 0.4, 0.3, 0.2, 0.6, 0.7);
    in[1] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 0.2, 0.3, 0.4);
    in[2] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1.0, 2.0, 0.5);
    in[3] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 0.0, 0.1, 0.2, 0.3, 0.0, 0.5);
    in[4] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 4), 0.5, 1.0, 0.25, 0.7, 0.3, 0.2, 0.4, 9);
    in[5] = tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 4), 0, 1, 0, 2, 2, 2, 1, 0);
    in[6] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 4, 3);
    in[7] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 3.0, 2.0);
}

static void test_hawkesll(void)
{
    am_scope_begin();
    am_array *in[8], *ll = NULL, *st = NULL;
    hawkes_inputs(in);
    for (int i = 0; i < 4; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL_FATAL(am_hawkesll(in, &ll, &st), AM_OK);
    am_autograd_end();
    TU_ASSERT_VALUES(ll, AM_SHAPE(2), 1e-6, -7.751792329, -4.678707695);
    TU_ASSERT_VALUES(st, AM_SHAPE(2, 3), 1e-6, 0.3685898084, 0.0500349421, 0.8041981835,
                     0.0406005861, 0.1108031496, 1.0837211922);
    CU_ASSERT_EQUAL(am_backward_at(ll, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1.0, 0.5), false,
                                   AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(in[0]), AM_SHAPE(2, 3), 1e-6, 0.7943625947, -0.5185317915,
                     0.2076951781, -1.0, -0.1666666998, 0.157534353);
    TU_ASSERT_VALUES(am_grad(in[1]), AM_SHAPE(3), 1e-6, -1.247016399, -1.4698544795,
                     -0.5353977943);
    TU_ASSERT_VALUES(am_grad(in[2]), AM_SHAPE(3), 1e-6, -0.1464934976, -0.0483224906,
                     -0.2743765838);
    am_scope_end();
}

static void test_hawkesll_errors(void)
{
    am_scope_begin();
    am_array *in[8], *ll = NULL, *st = NULL;
    hawkes_inputs(in);
    in[5] = tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 4), 0, 1, 3, 2, 2, 2, 1, 0);
    TU_ASSERT_STATUS(am_hawkesll(in, &ll, &st), AM_ERR_ARG, "marks[0, 2] = 3");
    hawkes_inputs(in);
    in[6] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 5, 3);
    TU_ASSERT_STATUS(am_hawkesll(in, &ll, &st), AM_ERR_ARG, "valid_length[0] = 5");
    hawkes_inputs(in);
    in[1] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 0.2, 0.3);
    TU_ASSERT_STATUS(am_hawkesll(in, &ll, &st), AM_ERR_SHAPE, "alpha must be (3,)");
    hawkes_inputs(in);
    in[2] = am_astype(in[2], AM_DTYPE_FLOAT32);
    TU_ASSERT_STATUS(am_hawkesll(in, &ll, &st), AM_ERR_DTYPE, "beta is float32");
    am_scope_end();
}

CU_TestInfo am_tests_ops_misc2[] = {
    {"fft and ifft on hand-worked rows", test_fft_hand},
    {"fft and ifft of lengths 1 to 40 against the DFT", test_fft_naive},
    {"fft errors", test_fft_errors},
    {"fft gradient", test_fft_grad},
    {"_set_value", test_set_value},
    {"reset_arrays zeroes in place", test_reset_arrays},
    {"IdentityAttachKLSparseReg against MXNet", test_kl_sparse_reg},
    {"hawkesll against MXNet", test_hawkesll},
    {"hawkesll errors", test_hawkesll_errors},
    CU_TEST_INFO_NULL,
};
