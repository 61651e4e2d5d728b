/* The fused RNN op against the same network unrolled from primitive ops
 * (FullyConnected, sigmoid, tanh, split, arithmetic), forward and gradients,
 * for one LSTM and one GRU layer. */
#include "test_util.h"

enum { T = 3, N = 2, I = 4, H = 3 };

/* A (rows, cols) block of the packed parameter vector starting at *off. */
static am_array *block(am_array *params, int64_t *off, int64_t rows, int64_t cols)
{
    am_array *b = am_slice_axis(params, 0, *off, *off + rows * cols);
    *off += rows * cols;
    return cols == 1 ? b : am_reshape(b, AM_SHAPE(rows, cols));
}

/* One layer, one direction, in MXNet's packing: W_i2h, W_h2h, b_i2h, b_h2h. */
static am_array *unrolled(am_array *data, am_array *params, am_array *h0, am_array *c0,
                          bool lstm, am_array **hT, am_array **cT)
{
    int64_t G = lstm ? 4 : 3, off = 0;
    am_array *wi = block(params, &off, G * H, I), *wh = block(params, &off, G * H, H);
    am_array *bi = block(params, &off, G * H, 1), *bh = block(params, &off, G * H, 1);
    am_array *h = am_reshape(h0, AM_SHAPE(N, H)), *c = c0 ? am_reshape(c0, AM_SHAPE(N, H)) : NULL;
    am_array *outs[T];
    for (int t = 0; t < T; t++) {
        am_array *x = am_reshape(am_slice_axis(data, 0, t, t + 1), AM_SHAPE(N, I));
        am_array *gi = am_fully_connected(x, wi, bi, G * H, false, true);
        am_array *gh = am_fully_connected(h, wh, bh, G * H, false, true);
        if (lstm) {
            am_array *g[4];
            CU_ASSERT_EQUAL_FATAL(am_split(am_add(gi, gh), 4, 1, false, g), AM_OK);
            c = am_add(am_mul(am_sigmoid(g[1]), c), am_mul(am_sigmoid(g[0]), am_tanh(g[2])));
            h = am_mul(am_sigmoid(g[3]), am_tanh(c));
        } else {
            am_array *a[3], *b[3];
            CU_ASSERT_EQUAL_FATAL(am_split(gi, 3, 1, false, a), AM_OK);
            CU_ASSERT_EQUAL_FATAL(am_split(gh, 3, 1, false, b), AM_OK);
            am_array *r = am_sigmoid(am_add(a[0], b[0])), *z = am_sigmoid(am_add(a[1], b[1]));
            am_array *n = am_tanh(am_add(a[2], am_mul(r, b[2])));
            h = am_add(am_mul(am_rminus_scalar(z, 1), n), am_mul(z, h));
        }
        outs[t] = h;
    }
    *hT = am_reshape(h, AM_SHAPE(1, N, H));
    *cT = c ? am_reshape(c, AM_SHAPE(1, N, H)) : NULL;
    return am_stack(outs, T, 0);
}

static void compare(bool lstm)
{
    am_scope_begin();
    int64_t G = lstm ? 4 : 3, np = G * H * (I + H + 2);
    am_array *data = tu_random(AM_SHAPE(T, N, I), AM_DTYPE_FLOAT64, -1, 1);
    am_array *params = tu_random(AM_SHAPE(np), AM_DTYPE_FLOAT64, -0.5, 0.5);
    am_array *h0 = tu_random(AM_SHAPE(1, N, H), AM_DTYPE_FLOAT64, -1, 1);
    am_array *c0 = lstm ? tu_random(AM_SHAPE(1, N, H), AM_DTYPE_FLOAT64, -1, 1) : NULL;
    am_array *vars[4] = {data, params, h0, c0};
    int nv = lstm ? 4 : 3;
    for (int i = 0; i < nv; i++) am_attach_grad(vars[i], AM_GRAD_WRITE);

    am_autograd_record_begin(false);
    am_array *fused[3] = {0}, *hT, *cT;
    CU_ASSERT_EQUAL_FATAL(am_rnn(data, params, h0, c0, lstm ? "lstm" : "gru", H, 1, false, true,
                                 fused), AM_OK);
    am_array *ref = unrolled(data, params, h0, c0, lstm, &hT, &cT);
    am_autograd_end();
    CU_ASSERT(tu_allclose(fused[0], ref, 1e-12));
    CU_ASSERT(tu_allclose(fused[1], hT, 1e-12));
    if (lstm) CU_ASSERT(tu_allclose(fused[2], cT, 1e-12));

    /* The same weighted loss through both: every input gradient agrees. */
    am_array *w = tu_random(AM_SHAPE(T, N, H), AM_DTYPE_FLOAT64, -1, 1);
    am_array *wh = tu_random(AM_SHAPE(1, N, H), AM_DTYPE_FLOAT64, -1, 1);
    am_autograd_record_begin(false);
    am_array *lf = am_add(am_sum(am_mul(fused[0], w), NULL, 0, false),
                          am_sum(am_mul(fused[1], wh), NULL, 0, false));
    am_array *lr = am_add(am_sum(am_mul(ref, w), NULL, 0, false),
                          am_sum(am_mul(hT, wh), NULL, 0, false));
    am_autograd_end();
    am_array *gf[4], *gr[4];
    CU_ASSERT_EQUAL_FATAL(am_grad_of(&lf, NULL, 1, vars, nv, false, false, gf), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_grad_of(&lr, NULL, 1, vars, nv, false, false, gr), AM_OK);
    for (int i = 0; i < nv; i++) {
        if (!tu_allclose(gf[i], gr[i], 1e-10)) printf("  (gradient of input %d)\n", i);
        CU_ASSERT(tu_allclose(gf[i], gr[i], 1e-10));
    }
    am_scope_end();
}

static void test_lstm_unrolled(void) { compare(true); }
static void test_gru_unrolled(void) { compare(false); }

CU_TestInfo am_tests_ops_rnn_unrolled[] = {
    {"LSTM equals its cell unrolled from primitive ops", test_lstm_unrolled},
    {"GRU equals its cell unrolled from primitive ops", test_gru_unrolled},
    CU_TEST_INFO_NULL,
};
