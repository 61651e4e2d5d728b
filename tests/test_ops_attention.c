/* The ops_attention suite: the interleaved attention products against values computed by
 * MXNet 1.9.1 and against naive loops written from MXNet's documented equivalents
 * (reshape, transpose, batch_dot); div_sqrt_dim, arange_like and moments values; and the
 * errors for bad input. */
#include "test_util.h"

/* off + scale * (0, 1, 2, ...) in shape s. */
static am_array *iota(am_shape s, am_dtype t, double scale, double off)
{
    am_array *x = am_empty(s, t);
    am_view v = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&v); i++) am_view_set(&v, i, off + scale * (double)i);
    return x;
}

/* Two axes for am_moments (a compound literal's comma would split a macro argument). */
#define AX2(a, b) ((const int[]){(a), (b)})

/* ---- MXNet's values -------------------------------------------------------------------- */

/* Printed by MXNet 1.9.1 for the same inputs (float32). */
static void test_mxnet_values(void)
{
    am_scope_begin();
    am_dtype f = AM_DTYPE_FLOAT32;
    am_array *qkv = iota(AM_SHAPE(2, 2, 12), f, 0.1, -1);
    /* (b0, h0), q0 = (-1, -0.9), k0 = (-0.8, -0.7): 1.43 / sqrt(2) = 1.0111626. */
    TU_ASSERT_VALUES(am_interleaved_matmul_selfatt_qk(qkv, 2), AM_SHAPE(4, 2, 2), 1e-5,
                     1.0111626386642456, -2.2132441997528076, -1.5344218015670776,
                     3.3870413303375244, 0.07778175175189972, -1.1101576089859009,
                     -0.4313351511955261, 6.526595115661621, 0.16263456642627716,
                     1.0111627578735352, 1.6899850368499756, 10.684383392333984,
                     1.265721082687378, 4.150716781616211, 4.8295392990112305,
                     15.860404968261719);
    am_array *att = iota(AM_SHAPE(4, 2, 2), f, 0.25, -0.5);
    TU_ASSERT_VALUES(am_interleaved_matmul_selfatt_valatt(qkv, att, 2), AM_SHAPE(2, 2, 4), 1e-5,
                     -0.1499999761581421, -0.22499999403953552, 1.8000000715255737,
                     1.9249999523162842, 6.150000095367432, 6.474999904632568,
                     12.899999618530273, 13.425000190734863, 0.44999998807907104,
                     0.4749999940395355, 3.0, 3.2249999046325684, 7.949999809265137, 8.375,
                     15.300000190734863, 15.925000190734863);
    am_array *q = iota(AM_SHAPE(1, 2, 4), f, 0.1, -0.3);
    am_array *kv = iota(AM_SHAPE(3, 2, 8), f, 0.05, -0.4);
    TU_ASSERT_VALUES(am_interleaved_matmul_encdec_qk(q, kv, 2), AM_SHAPE(4, 1, 3), 1e-5,
                     0.13435028493404388, -0.14849242568016052, -0.4313351511955261,
                     0.014142136089503765, -0.04242640733718872, -0.09899494796991348,
                     0.0070710680447518826, 0.1767766922712326, 0.3464823365211487,
                     0.11313708126544952, 0.5091168880462646, 0.905096709728241);
    am_array *att2 = iota(AM_SHAPE(4, 1, 3), f, 0.5, -1);
    TU_ASSERT_VALUES(am_interleaved_matmul_encdec_valatt(kv, att2, 2), AM_SHAPE(1, 2, 4), 1e-5,
                     0.050000011920928955, -0.025000005960464478, 2.9000000953674316,
                     3.049999952316284, 7.550000190734863, 7.925000190734863, 14.0,
                     14.600000381469727);
    am_array *m = NULL, *v = NULL;
    CU_ASSERT_EQUAL(am_moments(iota(AM_SHAPE(2, 3), f, 0.1, 0), (int[]){1}, 1, false, &m, &v),
                    AM_OK);
    TU_ASSERT_VALUES(m, AM_SHAPE(2), 1e-6, 0.1, 0.4);
    TU_ASSERT_VALUES(v, AM_SHAPE(2), 1e-6, 0.0066666672937572, 0.006666665896773338);
    TU_ASSERT_VALUES(am_div_sqrt_dim(iota(AM_SHAPE(2, 4), f, 0.1, 0)), AM_SHAPE(2, 4), 1e-7,
                     0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35);
    am_scope_end();
}

/* ---- naive references ------------------------------------------------------------------ */

/* Element (i, b, h, part, d) of a (L, B, heads * parts * D) projection. */
static double proj(const am_view *p, int64_t heads, int parts, int64_t i, int64_t b, int64_t h,
                   int part, int64_t d)
{
    int64_t D = p->dim[2] / (heads * parts);
    return am_view_get(p, (i * p->dim[1] + b) * p->dim[2] + (h * parts + part) * D + d);
}

/* scores[t, i, j] = sum_d q[i] k[j] / sqrt(D): q from qp (part qpart of qparts), k from kp. */
static am_array *naive_qk(am_array *qa, int qparts, am_array *ka, int kparts, int kpart,
                          int64_t heads)
{
    am_view qv = am_array_view(qa), kv = am_array_view(ka);
    int64_t lq = qv.dim[0], lk = kv.dim[0], B = qv.dim[1], D = qv.dim[2] / (heads * qparts);
    am_array *y = am_empty(AM_SHAPE(B * heads, lq, lk), AM_DTYPE_FLOAT64);
    am_view yv = am_array_view(y);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < heads; h++)
            for (int64_t i = 0; i < lq; i++)
                for (int64_t j = 0; j < lk; j++) {
                    double s = 0;
                    for (int64_t d = 0; d < D; d++)
                        s += proj(&qv, heads, qparts, i, b, h, 0, d) *
                             proj(&kv, heads, kparts, j, b, h, kpart, d);
                    am_view_set(&yv, ((b * heads + h) * lq + i) * lk + j, s / sqrt((double)D));
                }
    return y;
}

/* out[i, b, h * D + d] = sum_j att[b * heads + h, i, j] v[j, b, h, d]. */
static am_array *naive_val(am_array *pa, int parts, int vpart, am_array *aa, int64_t heads)
{
    am_view pv = am_array_view(pa), av = am_array_view(aa);
    int64_t lk = pv.dim[0], B = pv.dim[1], D = pv.dim[2] / (heads * parts), lq = av.dim[1];
    am_array *y = am_empty(AM_SHAPE(lq, B, heads * D), AM_DTYPE_FLOAT64);
    am_view yv = am_array_view(y);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < heads; h++)
            for (int64_t i = 0; i < lq; i++)
                for (int64_t d = 0; d < D; d++) {
                    double s = 0;
                    for (int64_t j = 0; j < lk; j++)
                        s += am_view_get(&av, ((b * heads + h) * lq + i) * lk + j) *
                             proj(&pv, heads, parts, j, b, h, vpart, d);
                    am_view_set(&yv, (i * B + b) * heads * D + h * D + d, s);
                }
    return y;
}

static bool close_to(am_array *got, am_array *want, double tol)
{
    return got && tu_allclose(am_astype(got, AM_DTYPE_FLOAT64), want, tol);
}

/* Random sizes, both dtypes; the larger ones run the batch in parallel. */
static void test_against_naive(void)
{
    static const int64_t sizes[][5] = {/* L, Lk, B, heads, D */
                                       {1, 1, 1, 1, 1}, {3, 5, 2, 2, 4}, {7, 2, 3, 4, 3},
                                       {5, 6, 1, 3, 8}, {16, 12, 4, 8, 16}, {2, 9, 5, 1, 7}};
    for (int k = 0; k < 12; k++) {
        am_scope_begin();
        const int64_t *z = sizes[k % 6];
        int64_t L = z[0], Lk = z[1], B = z[2], H = z[3], D = z[4];
        am_dtype t = k < 6 ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        double tol = k < 6 ? 1e-12 : 1e-5;
        am_seed((uint64_t)k + 1);
        am_array *qkv = tu_random(AM_SHAPE(L, B, H * 3 * D), t, -1, 1);
        am_array *att = tu_random(AM_SHAPE(B * H, L, L), t, -1, 1);
        am_array *q = tu_random(AM_SHAPE(L, B, H * D), t, -1, 1);
        am_array *kv = tu_random(AM_SHAPE(Lk, B, H * 2 * D), t, -1, 1);
        am_array *att2 = tu_random(AM_SHAPE(B * H, L, Lk), t, -1, 1);
        CU_ASSERT(close_to(am_interleaved_matmul_selfatt_qk(qkv, H),
                           naive_qk(qkv, 3, qkv, 3, 1, H), tol));
        CU_ASSERT(close_to(am_interleaved_matmul_selfatt_valatt(qkv, att, H),
                           naive_val(qkv, 3, 2, att, H), tol));
        CU_ASSERT(close_to(am_interleaved_matmul_encdec_qk(q, kv, H),
                           naive_qk(q, 1, kv, 2, 0, H), tol));
        CU_ASSERT(close_to(am_interleaved_matmul_encdec_valatt(kv, att2, H),
                           naive_val(kv, 2, 1, att2, H), tol));
        am_scope_end();
    }
}

/* Self-attention written with the four ops trains: its gradient through autograd matches
 * the gradient through MXNet's documented equivalent in public ops. */
static void test_autograd_composite(void)
{
    am_scope_begin();
    int64_t L = 3, B = 2, H = 2, D = 2;
    am_seed(11);
    am_array *x = tu_random(AM_SHAPE(L, B, H * 3 * D), AM_DTYPE_FLOAT64, -1, 1);
    am_array *x2 = am_astype(x, AM_DTYPE_FLOAT64);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_attach_grad(x2, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *s = am_softmax(am_interleaved_matmul_selfatt_qk(x, H), -1);
    am_array *y = am_sum(am_interleaved_matmul_selfatt_valatt(x, s, H), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    /* The same with reshape, slice, transpose and batch_dot. */
    am_autograd_record_begin(true);
    am_array *t = am_reshape(x2, AM_SHAPE(L, B, H, 3, D));
    am_array *part[3];
    static const int perm[4] = {1, 2, 0, 3};
    for (int p = 0; p < 3; p++) {
        am_array *sl = am_slice_axis(t, 3, p, p + 1);
        am_array *tr = am_transpose(am_reshape(sl, AM_SHAPE(L, B, H, D)), perm, 4);
        part[p] = am_reshape(tr, AM_SHAPE(B * H, L, D));
    }
    am_array *sc = am_batch_dot(am_div_scalar(part[0], sqrt((double)D)), part[1], false, true);
    am_array *o = am_batch_dot(am_softmax(sc, -1), part[2], false, false);
    am_array *y2 = am_sum(o, NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y2), AM_OK);
    CU_ASSERT(tu_allclose(y, y2, 1e-12));
    CU_ASSERT(tu_allclose(am_grad(x), am_grad(x2), 1e-12));
    am_scope_end();
}

/* ---- div_sqrt_dim, arange_like, moments ------------------------------------------------- */

static void test_div_sqrt_dim(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 4), 2, 4, -6, 8, 1, 0, 0, 0);
    TU_ASSERT_VALUES(am_div_sqrt_dim(x), AM_SHAPE(2, 1, 4), 1e-15, 1, 2, -3, 4, 0.5, 0, 0, 0);
    TU_ASSERT_VALUES(am_div_sqrt_dim(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 3)), AM_SHAPE(1),
                     0, 3);
    CU_ASSERT_EQUAL(am_array_size(am_div_sqrt_dim(am_zeros(AM_SHAPE(0, 9), AM_DTYPE_FLOAT32))),
                    0);
    am_scope_end();
}

static void test_arange_like(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT64);
    /* MXNet 1.9.1: start=1, step=2, repeat=2 gives [[1, 1, 3], [3, 5, 5]]. */
    am_array *y = am_arange_like(x, 1, 2, 2, NULL);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 1, 1, 3, 3, 5, 5);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT64);
    /* axis=-1, repeat=2: [0, 0, 1]. */
    TU_ASSERT_VALUES(am_arange_like(x, 0, 1, 2, &(int64_t){-1}), AM_SHAPE(3), 0, 0, 0, 1);
    TU_ASSERT_VALUES(am_arange_like(x, 5, -1, 1, &(int64_t){0}), AM_SHAPE(2), 0, 5, 4);
    am_array *i = am_arange_like(am_zeros(AM_SHAPE(4), AM_DTYPE_INT32), 0, 1.5, 1, NULL);
    CU_ASSERT_EQUAL(am_array_dtype(i), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(i, AM_SHAPE(4), 0, 0, 1, 3, 4); /* 0, 1.5, 3, 4.5 truncated */
    TU_ASSERT_VALUES(tu_invoke1("_contrib_arange_like", am_zeros(AM_SHAPE(), AM_DTYPE_FLOAT32),
                                "start", "7"),
                     AM_SHAPE(), 0, 7);
    am_scope_end();
}

static void test_moments(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *m, *v;
    /* MXNet's documented example. */
    CU_ASSERT_EQUAL(am_moments(x, (int[]){0}, 1, false, &m, &v), AM_OK);
    TU_ASSERT_VALUES(m, AM_SHAPE(3), 0, 2.5, 3.5, 4.5);
    TU_ASSERT_VALUES(v, AM_SHAPE(3), 0, 2.25, 2.25, 2.25);
    CU_ASSERT_EQUAL(am_moments(x, AX2(1, 0), 2, false, &m, &v), AM_OK);
    TU_ASSERT_VALUES(m, AM_SHAPE(1), 1e-7, 3.5);
    TU_ASSERT_VALUES(v, AM_SHAPE(1), 1e-6, 2.9166667);
    CU_ASSERT_EQUAL(am_moments(x, (int[]){-1}, 1, true, &m, &v), AM_OK);
    TU_ASSERT_VALUES(m, AM_SHAPE(2, 1), 0, 2, 5);
    TU_ASSERT_VALUES(v, AM_SHAPE(2, 1), 1e-7, 2.0 / 3, 2.0 / 3);
    /* A middle axis of a 3-D float64 array. */
    am_array *z = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2, 2), 0, 1, 2, 5, 10, 10, 20, 30);
    CU_ASSERT_EQUAL(am_moments(z, (int[]){1}, 1, false, &m, &v), AM_OK);
    TU_ASSERT_VALUES(m, AM_SHAPE(2, 2), 0, 1, 3, 15, 20);
    TU_ASSERT_VALUES(v, AM_SHAPE(2, 2), 0, 1, 4, 25, 100);
    am_scope_end();
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_errors(void)
{
    am_scope_begin();
    am_dtype f = AM_DTYPE_FLOAT32;
    am_array *qkv = am_zeros(AM_SHAPE(3, 2, 12), f);
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_qk(qkv, 3), AM_ERR_SHAPE,
                    "_contrib_interleaved_matmul_selfatt_qk: queries_keys_values (3, 2, 12)");
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_qk(qkv, 0), AM_ERR_ARG, "heads=0");
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_qk(am_zeros(AM_SHAPE(3, 12), f), 1),
                    AM_ERR_SHAPE, "must be 3-D");
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_qk(am_zeros(AM_SHAPE(3, 2, 6),
                                                              AM_DTYPE_INT32), 1),
                    AM_ERR_DTYPE, "int32");
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_valatt(qkv, am_zeros(AM_SHAPE(4, 3, 2), f), 2),
                    AM_ERR_SHAPE, "attention (4, 3, 2)");
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_valatt(qkv, am_zeros(AM_SHAPE(2, 3, 3), f), 2),
                    AM_ERR_SHAPE, "batch * heads");
    TU_ASSERT_FAILS(am_interleaved_matmul_selfatt_valatt(qkv, am_zeros(AM_SHAPE(4, 3, 3),
                                                                       AM_DTYPE_FLOAT64), 2),
                    AM_ERR_DTYPE, "float64");
    am_array *q = am_zeros(AM_SHAPE(2, 2, 4), f);
    TU_ASSERT_FAILS(am_interleaved_matmul_encdec_qk(q, am_zeros(AM_SHAPE(3, 2, 4), f), 2),
                    AM_ERR_SHAPE, "keys_values (3, 2, 4)");
    TU_ASSERT_FAILS(am_interleaved_matmul_encdec_qk(q, am_zeros(AM_SHAPE(3, 1, 8), f), 2),
                    AM_ERR_SHAPE, "batch sizes");
    TU_ASSERT_FAILS(am_interleaved_matmul_encdec_valatt(am_zeros(AM_SHAPE(3, 2, 8), f),
                                                        am_zeros(AM_SHAPE(4, 2, 2), f), 2),
                    AM_ERR_SHAPE, "key length");
    am_array *r[2];
    am_array *in[2] = {am_zeros(AM_SHAPE(4, 3, 2), f), qkv};
    TU_ASSERT_STATUS(tu_invoke("_backward_interleaved_matmul_selfatt_qk", in, 2, "heads", "2",
                               r, 1),
                     AM_ERR_SHAPE, "ograd (4, 3, 2) does not match the forward output (4, 3, 3)");
    TU_ASSERT_FAILS(am_div_sqrt_dim(am_zeros(AM_SHAPE(), f)), AM_ERR_SHAPE,
                    "_contrib_div_sqrt_dim: data () has no last axis");
    TU_ASSERT_FAILS(am_arange_like(qkv, 0, 1, 0, NULL), AM_ERR_ARG, "repeat=0");
    TU_ASSERT_FAILS(am_arange_like(qkv, 0, 1, 1, &(int64_t){3}), AM_ERR_ARG,
                    "_contrib_arange_like: axis=3 is out of range for data (3, 2, 12)");
    am_array *m, *v;
    TU_ASSERT_STATUS(am_moments(qkv, NULL, 0, false, &m, &v), AM_ERR_ARG,
                     "moments: axes is empty");
    TU_ASSERT_STATUS(am_moments(qkv, AX2(1, -2), 2, false, &m, &v), AM_ERR_ARG,
                     "axis 1 is listed twice");
    TU_ASSERT_STATUS(am_moments(qkv, (int[]){3}, 1, false, &m, &v), AM_ERR_ARG,
                     "out of range for data (3, 2, 12)");
    TU_ASSERT_STATUS(tu_invoke("moments", &qkv, 1, "keepdims", "True", r, 2), AM_ERR_ARG,
                     "axes is empty");
    am_scope_end();
}

CU_TestInfo am_tests_ops_attention[] = {
    {"interleaved attention, div_sqrt_dim, moments: MXNet's values", test_mxnet_values},
    {"interleaved attention against naive loops (12 random problems)", test_against_naive},
    {"self-attention from the interleaved ops trains as its equivalent", test_autograd_composite},
    {"_contrib_div_sqrt_dim values", test_div_sqrt_dim},
    {"_contrib_arange_like values, dtypes and axis", test_arange_like},
    {"moments values", test_moments},
    {"attention and moments errors", test_errors},
    CU_TEST_INFO_NULL,
};
