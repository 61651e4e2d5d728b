/* The ops_matrix suite: dot, batch_dot and FullyConnected against hand-checked
 * numbers and a naive triple loop in double, shape inference (deferred weight
 * shapes) and an error for each kind of bad input. */
#include "test_util.h"

/* ---- reference ------------------------------------------------------------------- */

/* c (m x n) = op(a) op(b) in double; a is (m x k) or, with ta, (k x m) at
 * element offset ao of view va; b likewise. */
static void ref_gemm(const am_view *va, int64_t ao, const am_view *vb, int64_t bo, double *c,
                     int64_t m, int64_t n, int64_t k, bool ta, bool tb)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += am_view_get(va, ao + (ta ? p * m + i : i * k + p)) *
                     am_view_get(vb, bo + (tb ? j * k + p : p * n + j));
            c[i * n + j] = s;
        }
}

static double tol_for(am_dtype t) { return t == AM_DTYPE_FLOAT64 ? 1e-12 : 2e-5; }

/* Compares y with a reference of the expected shape. */
static bool matches(am_array *y, am_shape want, const double *ref, am_dtype t)
{
    return tu_values_are(y, want, ref, am_shape_size(&want), tol_for(t));
}

/* ---- dot ------------------------------------------------------------------------- */

static void test_dot_hand_checked(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 5, 6, 7, 8);
    TU_ASSERT_VALUES(am_dot(a, b), AM_SHAPE(2, 2), 0, 19, 22, 43, 50);
    /* a^T b = [[1,3],[2,4]] [[5,6],[7,8]] */
    TU_ASSERT_VALUES(am_dot_t(a, b, true, false), AM_SHAPE(2, 2), 0, 26, 30, 38, 44);
    /* a b^T = [[1,2],[3,4]] [[5,7],[6,8]] */
    TU_ASSERT_VALUES(am_dot_t(a, b, false, true), AM_SHAPE(2, 2), 0, 17, 23, 39, 53);
    /* a^T b^T = (b a)^T; b a = [[23,34],[31,46]] */
    TU_ASSERT_VALUES(am_dot_t(a, b, true, true), AM_SHAPE(2, 2), 0, 23, 31, 34, 46);

    am_array *u = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 2, 3);
    am_array *v = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 4, 5, 6);
    TU_ASSERT_VALUES(am_dot(u, v), AM_SHAPE(1), 0, 32);
    am_array *m = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1, 0, -1, 2, 1, 0);
    TU_ASSERT_VALUES(am_dot(m, u), AM_SHAPE(2), 0, -2, 4);          /* gemv, n == 1 */
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, -1);
    TU_ASSERT_VALUES(am_dot(w, m), AM_SHAPE(3), 0, -1, -1, -1);     /* gemv, m == 1 */
    TU_ASSERT_VALUES(am_dot_t(m, w, true, false), AM_SHAPE(3), 0, -1, -1, -1);
    TU_ASSERT_VALUES(am_dot_t(u, m, false, true), AM_SHAPE(2), 0, -2, 4);
    am_scope_end();
}

typedef struct dot_spec {
    const char *shapes;  /* "lhs;rhs" dims */
    bool ta, tb;
} dot_spec;

static am_shape parse_shape(const char **s)
{
    am_shape sh = {0};
    while (**s && **s != ';') {
        sh.dim[sh.ndim++] = strtoll(*s, (char **)s, 10);
        if (**s == ',') (*s)++;
    }
    if (**s == ';') (*s)++;
    return sh;
}

/* dot against the naive loop: lhs as (M, K) (or (K, M) transposed, with M the
 * product of the axes kept), rhs as (K, N) (or (N, K)). */
static void check_dot(const dot_spec *d, am_dtype t)
{
    const char *p = d->shapes;
    am_shape ls = parse_shape(&p), rs = parse_shape(&p);
    am_array *a = tu_random(ls, t, -1, 1), *b = tu_random(rs, t, -1, 1);
    int64_t k = d->ta ? ls.dim[0] : ls.dim[ls.ndim - 1];
    int64_t m = am_shape_size(&ls) / (k ? k : 1), n = am_shape_size(&rs) / (k ? k : 1);
    am_shape want = {0};
    for (int i = 0; i < ls.ndim - 1; i++) want.dim[want.ndim++] = ls.dim[d->ta ? i + 1 : i];
    for (int i = 0; i < rs.ndim - 1; i++) want.dim[want.ndim++] = rs.dim[d->tb ? i : i + 1];
    if (ls.ndim == 1 && rs.ndim == 1) want = AM_SHAPE(1);
    double *ref = calloc((size_t)(m * n + 1), sizeof(double));
    am_view va = am_array_view(a), vb = am_array_view(b);
    ref_gemm(&va, 0, &vb, 0, ref, m, n, k, d->ta, d->tb);
    am_array *y = am_dot_t(a, b, d->ta, d->tb);
    if (!matches(y, want, ref, t)) printf("  (dot %s ta=%d tb=%d)\n", d->shapes, d->ta, d->tb);
    CU_ASSERT(matches(y, want, ref, t));
    free(ref);
}

static void test_dot_against_naive(void)
{
    static const dot_spec specs[] = {
        {"7,9;9,5", false, false},   {"9,7;9,5", true, false},     {"7,9;5,9", false, true},
        {"9,7;5,9", true, true},     {"70,130;130,90", false, false},
        {"130,70;90,130", true, true}, {"11;11", false, false},    {"6;6,4", false, false},
        {"4,6;6", false, false},     {"6,4;6", true, false},       {"6;4,6", false, true},
        {"2,3,4;4,5", false, false}, {"4,2,3;4,5", true, false},   {"2,3,4;5,2,4", false, true},
        {"4,2,3;3,5,4", true, true}, {"3;3,2,2", false, false},    {"1,1;1,1", false, false},
    };
    am_scope_begin();
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        check_dot(&specs[i], AM_DTYPE_FLOAT32);
        check_dot(&specs[i], AM_DTYPE_FLOAT64);
    }
    am_scope_end();
}

/* transpose_a on an N-D lhs contracts axis 0 and keeps the others in order
 * (MXNet's rule; not a reversal of all axes). */
static void test_dot_nd_transpose_axes(void)
{
    am_scope_begin();
    am_array *a = tu_random(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT64, -1, 1);
    am_array *b = tu_random(AM_SHAPE(2, 5), AM_DTYPE_FLOAT64, -1, 1);
    am_array *y = am_dot_t(a, b, true, false);
    double ref[3 * 4 * 5];
    am_view va = am_array_view(a), vb = am_array_view(b);
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 4; q++)
            for (int r = 0; r < 5; r++) {
                double s = 0;
                for (int k = 0; k < 2; k++)
                    s += am_view_get(&va, k * 12 + p * 4 + q) * am_view_get(&vb, k * 5 + r);
                ref[(p * 4 + q) * 5 + r] = s;
            }
    CU_ASSERT(matches(y, AM_SHAPE(3, 4, 5), ref, AM_DTYPE_FLOAT64));
    /* transpose_b on N-D rhs contracts its last axis: (3, 4) x (2, 5, 4)^T -> (3, 2, 5) */
    am_array *c = tu_random(AM_SHAPE(3, 4), AM_DTYPE_FLOAT64, -1, 1);
    am_array *d = tu_random(AM_SHAPE(2, 5, 4), AM_DTYPE_FLOAT64, -1, 1);
    am_view vc = am_array_view(c), vd = am_array_view(d);
    double ref2[3 * 2 * 5];
    for (int i = 0; i < 3; i++)
        for (int p = 0; p < 2; p++)
            for (int r = 0; r < 5; r++) {
                double s = 0;
                for (int k = 0; k < 4; k++)
                    s += am_view_get(&vc, i * 4 + k) * am_view_get(&vd, (p * 5 + r) * 4 + k);
                ref2[(i * 2 + p) * 5 + r] = s;
            }
    CU_ASSERT(matches(am_dot_t(c, d, false, true), AM_SHAPE(3, 2, 5), ref2, AM_DTYPE_FLOAT64));
    am_scope_end();
}

static void test_dot_size_zero(void)
{
    am_scope_begin();
    am_array *a = am_ones(AM_SHAPE(2, 0), AM_DTYPE_FLOAT32);
    am_array *b = am_ones(AM_SHAPE(0, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_dot(a, b), AM_SHAPE(2, 3), 0, 0, 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_dot(am_ones(AM_SHAPE(0), AM_DTYPE_FLOAT64),
                            am_ones(AM_SHAPE(0), AM_DTYPE_FLOAT64)), AM_SHAPE(1), 0, 0);
    am_array *y = am_dot(am_ones(AM_SHAPE(0, 3), AM_DTYPE_FLOAT32),
                         am_ones(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32));
    CU_ASSERT(tu_values_are(y, AM_SHAPE(0, 4), NULL, 0, 0));
    am_array *z = am_batch_dot(am_ones(AM_SHAPE(2, 3, 0), AM_DTYPE_FLOAT64),
                               am_ones(AM_SHAPE(2, 0, 1), AM_DTYPE_FLOAT64), false, false);
    TU_ASSERT_VALUES(z, AM_SHAPE(2, 3, 1), 0, 0, 0, 0, 0, 0, 0);
    am_array *f = am_fully_connected(am_ones(AM_SHAPE(2, 0), AM_DTYPE_FLOAT32),
                                     am_ones(AM_SHAPE(3, 0), AM_DTYPE_FLOAT32),
                                     tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3), 3, false,
                                     true);
    TU_ASSERT_VALUES(f, AM_SHAPE(2, 3), 0, 1, 2, 3, 1, 2, 3);
    am_scope_end();
}

/* The kernel accumulates under AM_REQ_ADD (beta = 1), including the vector paths. */
static void test_dot_req_add(void)
{
    am_scope_begin();
    const am_op_def *op = am_op_find("dot");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    void *attrs = am_attrs_parse(op, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    am_array *u = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3);
    am_array *y = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 100);
    am_view in[2] = {am_array_view(u), am_array_view(u)}, out = am_array_view(y);
    am_req req = AM_REQ_ADD;
    am_kernel_ctx ctx = {.device = am_cpu()};
    CU_ASSERT_EQUAL(op->cpu(&ctx, attrs, in, 2, &out, 1, &req), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(1), 0, 114);
    req = AM_REQ_NULL;
    CU_ASSERT_EQUAL(op->cpu(&ctx, attrs, in, 2, &out, 1, &req), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(1), 0, 114);
    free(attrs);
    am_scope_end();
}

/* ---- batch_dot ------------------------------------------------------------------- */

static void check_batch_dot(am_shape ls, am_shape rs, bool ta, bool tb, am_dtype t)
{
    int nd = ls.ndim;
    am_array *a = tu_random(ls, t, -1, 1), *b = tu_random(rs, t, -1, 1);
    int64_t batch = am_shape_size(&ls) / (ls.dim[nd - 1] * ls.dim[nd - 2]);
    int64_t m = ls.dim[ta ? nd - 1 : nd - 2], k = ls.dim[ta ? nd - 2 : nd - 1];
    int64_t n = rs.dim[tb ? nd - 2 : nd - 1];
    am_shape want = ls;
    want.dim[nd - 2] = m, want.dim[nd - 1] = n;
    double *ref = calloc((size_t)(batch * m * n + 1), sizeof(double));
    am_view va = am_array_view(a), vb = am_array_view(b);
    for (int64_t i = 0; i < batch; i++)
        ref_gemm(&va, i * m * k, &vb, i * k * n, ref + i * m * n, m, n, k, ta, tb);
    CU_ASSERT(matches(am_batch_dot(a, b, ta, tb), want, ref, t));
    free(ref);
}

static void test_batch_dot(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 1, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2, 1), 5, 6, 7, 8);
    TU_ASSERT_VALUES(am_batch_dot(a, b, false, false), AM_SHAPE(2, 1, 1), 0, 17, 53);
    /* a_i^T b_i^T: (2x1) x (1x2) outer products */
    TU_ASSERT_VALUES(am_batch_dot(a, b, true, true), AM_SHAPE(2, 2, 2), 0,
                     5, 6, 10, 12, 21, 24, 28, 32);
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        check_batch_dot(AM_SHAPE(3, 4, 5), AM_SHAPE(3, 5, 6), false, false, dt);
        check_batch_dot(AM_SHAPE(3, 5, 4), AM_SHAPE(3, 5, 6), true, false, dt);
        check_batch_dot(AM_SHAPE(3, 4, 5), AM_SHAPE(3, 6, 5), false, true, dt);
        check_batch_dot(AM_SHAPE(3, 5, 4), AM_SHAPE(3, 6, 5), true, true, dt);
        check_batch_dot(AM_SHAPE(2, 3, 4, 5), AM_SHAPE(2, 3, 5, 2), false, false, dt);
        check_batch_dot(AM_SHAPE(300, 6, 7), AM_SHAPE(300, 7, 5), false, false, dt);
        check_batch_dot(AM_SHAPE(2, 1, 40), AM_SHAPE(2, 40, 3), false, false, dt);
        check_batch_dot(AM_SHAPE(2, 40, 3), AM_SHAPE(2, 40, 1), true, false, dt);
        check_batch_dot(AM_SHAPE(2, 90, 70), AM_SHAPE(2, 70, 80), false, false, dt);
    }
    am_scope_end();
}

/* ---- FullyConnected ------------------------------------------------------------ */

static void test_fc_hand_checked(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_array *w = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 2), 1, 0, 0, 1, 1, 1);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 10, 20, 30);
    TU_ASSERT_VALUES(am_fully_connected(x, w, b, 3, false, true), AM_SHAPE(2, 3), 0,
                     11, 22, 33, 13, 24, 37);
    TU_ASSERT_VALUES(am_fully_connected(x, w, NULL, 3, true, true), AM_SHAPE(2, 3), 0,
                     1, 2, 3, 3, 4, 7);
    /* bias (3, 1) is accepted, as in MXNet */
    am_array *b2 = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 1), -1, -2, -3);
    TU_ASSERT_VALUES(am_fully_connected(x, w, b2, 3, false, true), AM_SHAPE(2, 3), 0,
                     0, 0, 0, 2, 2, 4);
    /* flatten: (2, 1, 2) -> (2, 2); flatten False keeps the leading axes */
    am_array *x3 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 2), 1, 2, 3, 4);
    am_array *w64 = am_astype(w, AM_DTYPE_FLOAT64), *b64 = am_astype(b, AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(am_fully_connected(x3, w64, b64, 3, false, true), AM_SHAPE(2, 3), 0,
                     11, 22, 33, 13, 24, 37);
    TU_ASSERT_VALUES(am_fully_connected(x3, w64, b64, 3, false, false), AM_SHAPE(2, 1, 3), 0,
                     11, 22, 33, 13, 24, 37);
    /* 1-D data: flatten gives (n, num_hidden) over 1 feature; else one row */
    am_array *v = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2);
    am_array *w1 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 1), 1, 2, 3);
    TU_ASSERT_VALUES(am_fully_connected(v, w1, NULL, 3, true, true), AM_SHAPE(2, 3), 0,
                     1, 2, 3, 2, 4, 6);
    TU_ASSERT_VALUES(am_fully_connected(v, w64, b64, 3, false, false), AM_SHAPE(3), 0,
                     11, 22, 33);
    am_scope_end();
}

/* FullyConnected against the naive loop, for each layout and both dtypes. */
static void check_fc(am_shape ds, int64_t h, bool no_bias, bool flatten, am_dtype t)
{
    int64_t rows = flatten ? ds.dim[0] : am_shape_size(&ds) / ds.dim[ds.ndim - 1];
    int64_t cols = flatten ? am_shape_size(&ds) / ds.dim[0] : ds.dim[ds.ndim - 1];
    am_array *x = tu_random(ds, t, -1, 1), *w = tu_random(AM_SHAPE(h, cols), t, -1, 1);
    am_array *b = no_bias ? NULL : tu_random(AM_SHAPE(h), t, -1, 1);
    double *ref = calloc((size_t)(rows * h), sizeof(double));
    am_view vx = am_array_view(x), vw = am_array_view(w);
    ref_gemm(&vx, 0, &vw, 0, ref, rows, h, cols, false, true);
    if (b) {
        am_view vb = am_array_view(b);
        for (int64_t i = 0; i < rows * h; i++) ref[i] += am_view_get(&vb, i % h);
    }
    am_shape want = AM_SHAPE(ds.dim[0], h);
    if (!flatten) want = ds, want.dim[ds.ndim - 1] = h;
    CU_ASSERT(matches(am_fully_connected(x, w, b, h, no_bias, flatten), want, ref, t));
    free(ref);
}

static void test_fc_against_naive(void)
{
    am_scope_begin();
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        check_fc(AM_SHAPE(8, 20), 10, false, true, dt);
        check_fc(AM_SHAPE(8, 20), 10, true, true, dt);
        check_fc(AM_SHAPE(4, 3, 5), 7, false, true, dt);
        check_fc(AM_SHAPE(4, 3, 5), 7, false, false, dt);
        check_fc(AM_SHAPE(2, 2, 3, 5), 6, true, false, dt);
        check_fc(AM_SHAPE(1, 33), 9, false, true, dt);   /* gemv: one row */
        check_fc(AM_SHAPE(9, 33), 1, false, true, dt);   /* gemv: one unit */
        check_fc(AM_SHAPE(1, 33), 1, false, true, dt);   /* dot */
        check_fc(AM_SHAPE(130, 70), 150, false, true, dt); /* threaded bias rows */
    }
    am_scope_end();
}

/* Unknown weight and bias shapes (ndim -1) are filled from data and
 * num_hidden, as deferred initialization needs. */
static void test_fc_infers_parameter_shapes(void)
{
    const am_op_def *op = am_op_find("FullyConnected");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    const char *k[] = {"num_hidden", "flatten"}, *v[] = {"10", "True"};
    void *attrs = am_attrs_parse(op, k, v, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    CU_ASSERT_EQUAL(am_op_num_inputs(op, attrs), 3);
    am_shape in[3] = {AM_SHAPE(32, 1, 28, 28), {.ndim = -1}, {.ndim = -1}}, out = {.ndim = -1};
    CU_ASSERT_EQUAL(op->infer_shape(attrs, in, 3, &out, 1), AM_OK);
    CU_ASSERT(in[1].ndim == 2 && in[1].dim[0] == 10 && in[1].dim[1] == 784);
    CU_ASSERT(in[2].ndim == 1 && in[2].dim[0] == 10);
    CU_ASSERT(out.ndim == 2 && out.dim[0] == 32 && out.dim[1] == 10);
    am_dtype ty[3] = {AM_DTYPE_FLOAT64, AM_DTYPE_COUNT, AM_DTYPE_COUNT}, oty = AM_DTYPE_COUNT;
    CU_ASSERT_EQUAL(op->infer_dtype(attrs, ty, 3, &oty, 1), AM_OK);
    CU_ASSERT(ty[1] == AM_DTYPE_FLOAT64 && ty[2] == AM_DTYPE_FLOAT64 && oty == AM_DTYPE_FLOAT64);
    free(attrs);

    const char *k2[] = {"num_hidden", "flatten", "no_bias"}, *v2[] = {"4", "False", "True"};
    attrs = am_attrs_parse(op, k2, v2, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    CU_ASSERT_EQUAL(am_op_num_inputs(op, attrs), 2);
    am_shape in2[2] = {AM_SHAPE(5, 6, 7), {.ndim = -1}};
    CU_ASSERT_EQUAL(op->infer_shape(attrs, in2, 2, &out, 1), AM_OK);
    CU_ASSERT(in2[1].ndim == 2 && in2[1].dim[0] == 4 && in2[1].dim[1] == 7);
    CU_ASSERT(out.ndim == 3 && out.dim[0] == 5 && out.dim[1] == 6 && out.dim[2] == 4);
    am_shape unknown_data[2] = {{.ndim = -1}, {.ndim = -1}};
    TU_ASSERT_FAILS(op->infer_shape(attrs, unknown_data, 2, &out, 1) == AM_OK, AM_ERR_SHAPE,
                    "data shape must be known");
    free(attrs);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_dot_errors(void)
{
    am_scope_begin();
    am_array *a = am_ones(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *b = am_ones(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_dot(a, b), AM_ERR_SHAPE,
                    "dot: lhs (2, 3) does not match rhs (4, 5): the contracted axes differ "
                    "(transpose_a=False, transpose_b=False) at test_ops_matrix.c");
    TU_ASSERT_FAILS(am_dot_t(a, b, true, false), AM_ERR_SHAPE, "transpose_a=True");
    am_array *u = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *w = am_ones(AM_SHAPE(4), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_dot(u, w), AM_ERR_SHAPE, "lhs (3,) does not match rhs (4,): lengths differ");
    TU_ASSERT_FAILS(am_dot_t(u, u, true, false), AM_ERR_SHAPE, "vectors cannot be transposed");
    am_array *s = am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 2);
    TU_ASSERT_FAILS(am_dot(s, u), AM_ERR_SHAPE, "scalar (0-d) inputs are not supported");
    am_array *i = am_ones(AM_SHAPE(3, 3), AM_DTYPE_INT32);
    TU_ASSERT_FAILS(am_dot(i, i), AM_ERR_DTYPE,
                    "int32 inputs are not supported (float32 or float64");
    am_array *d = am_ones(AM_SHAPE(3, 2), AM_DTYPE_FLOAT64);
    TU_ASSERT_FAILS(am_dot(a, d), AM_ERR_DTYPE, "lhs is float32 but rhs is float64");
    am_array *y = NULL, *in[2] = {a, am_ones(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32)};
    const char *key = "forward_stype", *csr = "csr", *bogus = "dense";
    TU_ASSERT_FAILS(am_invoke("dot", in, 2, &key, &csr, 1, &y, 1) == AM_OK, AM_ERR_UNSUPPORTED,
                    "forward_stype 'csr' is not supported");
    TU_ASSERT_FAILS(am_invoke("dot", in, 2, &key, &bogus, 1, &y, 1) == AM_OK, AM_ERR_FORMAT,
                    "forward_stype");
    TU_ASSERT_FAILS(am_invoke("dot", in, 1, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "expects 2 inputs");
    TU_ASSERT_FAILS(am_dot(a, NULL), AM_ERR_ARG, "input 1 is NULL");
    am_scope_end();
}

static void test_batch_dot_errors(void)
{
    am_scope_begin();
    am_array *a = am_ones(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_batch_dot(a, am_ones(AM_SHAPE(3, 4, 5), AM_DTYPE_FLOAT32), false, false),
                    AM_ERR_SHAPE, "batch_dot: lhs (2, 3, 4) does not match rhs (3, 4, 5): the "
                    "batch dimensions differ");
    TU_ASSERT_FAILS(am_batch_dot(a, am_ones(AM_SHAPE(2, 5, 4), AM_DTYPE_FLOAT32), false, false),
                    AM_ERR_SHAPE, "the contracted axes differ (transpose_a=False");
    TU_ASSERT_FAILS(am_batch_dot(a, am_ones(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32), false, false),
                    AM_ERR_SHAPE, "same number (3 or more) of dimensions");
    am_array *m = am_ones(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_batch_dot(m, m, false, true), AM_ERR_SHAPE, "lhs (3, 4) does not match");
    am_array *i = am_ones(AM_SHAPE(2, 2, 2), AM_DTYPE_INT64);
    TU_ASSERT_FAILS(am_batch_dot(i, i, false, false), AM_ERR_DTYPE,
                    "int64 inputs are not supported");
    am_scope_end();
}

static void test_fc_errors(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(32, 780), AM_DTYPE_FLOAT32);
    am_array *w = am_ones(AM_SHAPE(10, 784), AM_DTYPE_FLOAT32);
    am_array *b = am_ones(AM_SHAPE(10), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_fully_connected(x, w, b, 10, false, true), AM_ERR_SHAPE,
                    "FullyConnected: data (32, 780) does not match weight (10, 784) (expected "
                    "weight (10, 780) for num_hidden=10, flatten=True) at test_ops_matrix.c");
    am_array *w2 = am_ones(AM_SHAPE(10, 780), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_fully_connected(x, w2, b, 12, false, true), AM_ERR_SHAPE,
                    "weight (10, 780) (expected weight (12, 780)");
    am_array *b5 = am_ones(AM_SHAPE(5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_fully_connected(x, w2, b5, 10, false, true), AM_ERR_SHAPE,
                    "bias (5,) does not match num_hidden=10 (expected (10,) or (10, 1))");
    TU_ASSERT_FAILS(am_fully_connected(x, w2, b, 0, false, true), AM_ERR_ARG,
                    "num_hidden must be at least 1, got 0");
    TU_ASSERT_FAILS(am_fully_connected(x, w2, b, 10, true, true), AM_ERR_ARG,
                    "FullyConnected: a bias was given but no_bias is True");
    TU_ASSERT_FAILS(am_fully_connected(x, w2, NULL, 10, false, true), AM_ERR_ARG,
                    "input 2 is NULL");
    am_array *x3 = am_ones(AM_SHAPE(4, 5, 6), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_fully_connected(x3, am_ones(AM_SHAPE(3, 30), AM_DTYPE_FLOAT32), NULL, 3,
                                       true, false), AM_ERR_SHAPE,
                    "data (4, 5, 6) does not match weight (3, 30) (expected weight (3, 6) for "
                    "num_hidden=3, flatten=False)");
    am_array *s = am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 1);
    TU_ASSERT_FAILS(am_fully_connected(s, w2, NULL, 10, true, true), AM_ERR_SHAPE,
                    "data must have at least one dimension");
    am_array *xi = am_ones(AM_SHAPE(2, 3), AM_DTYPE_INT32);
    am_array *wi = am_ones(AM_SHAPE(4, 3), AM_DTYPE_INT32);
    TU_ASSERT_FAILS(am_fully_connected(xi, wi, NULL, 4, true, true), AM_ERR_DTYPE,
                    "int32 inputs are not supported");
    am_array *b64 = am_ones(AM_SHAPE(10), AM_DTYPE_FLOAT64);
    TU_ASSERT_FAILS(am_fully_connected(x, w2, b64, 10, false, true), AM_ERR_DTYPE,
                    "data is float32 but bias is float64");
    /* the input count follows no_bias */
    am_array *y = NULL, *in[3] = {x, w2, b};
    const char *k[] = {"num_hidden", "no_bias"}, *v[] = {"10", "True"};
    TU_ASSERT_FAILS(am_invoke("FullyConnected", in, 3, k, v, 2, &y, 1) == AM_OK, AM_ERR_ARG,
                    "expects 2 inputs, got 3");
    TU_ASSERT_FAILS(am_invoke("FullyConnected", in, 2, k, v, 1, &y, 1) == AM_OK, AM_ERR_ARG,
                    "expects 3 inputs, got 2");
    TU_ASSERT_FAILS(am_invoke("FullyConnected", in, 3, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "required attribute 'num_hidden'");
    am_scope_end();
}

CU_TestInfo am_tests_ops_matrix[] = {
    {"dot: hand-checked values, every transpose, vectors", test_dot_hand_checked},
    {"dot against a naive loop (float32, float64)", test_dot_against_naive},
    {"dot: N-D transposes contract axis 0 / the last axis", test_dot_nd_transpose_axes},
    {"size-0 dimensions (size-0 k gives zeros)", test_dot_size_zero},
    {"dot honours AM_REQ_ADD and AM_REQ_NULL", test_dot_req_add},
    {"batch_dot: values and a naive loop", test_batch_dot},
    {"FullyConnected: hand-checked values", test_fc_hand_checked},
    {"FullyConnected against a naive loop", test_fc_against_naive},
    {"FullyConnected infers weight and bias shapes", test_fc_infers_parameter_shapes},
    {"dot errors", test_dot_errors},
    {"batch_dot errors", test_batch_dot_errors},
    {"FullyConnected errors", test_fc_errors},
    CU_TEST_INFO_NULL,
};
