/* The ops_index suite: one_hot, take, Embedding and pick against hand-checked
 * values, with indices of every dtype, each out-of-range mode, and errors. */
#include "test_util.h"

/* Array literals that survive being macro arguments. */
#define AM_LIST(...) ((am_array *[]){__VA_ARGS__})
#define INTS(...) ((int[]){__VA_ARGS__})
#define I64S(...) ((int64_t[]){__VA_ARGS__})

static am_array *iota(am_shape s, am_dtype t)
{
    return am_reshape(am_arange(0, (double)am_shape_size(&s), 1, t), s);
}

/* ---- one_hot ------------------------------------------------------------------------------ */

static void test_one_hot(void)
{
    am_scope_begin();
    /* out-of-range and negative indices give a row of off_value, as in MXNet */
    am_array *i = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(5), 1, 0, 3, 5, -1);
    TU_ASSERT_VALUES(am_one_hot(i, 4), AM_SHAPE(5, 4), 0,
                     0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    am_array *j = tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 2), 0, 2, 1, 1);
    am_array *y = am_one_hot_at(j, 3, 2.5, -1, AM_DTYPE_FLOAT64, AM_HERE);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2, 3), 0,
                     2.5, -1, -1, -1, -1, 2.5, -1, 2.5, -1, -1, 2.5, -1);
    /* float indices truncate toward zero, as C and MXNet casts do */
    am_array *f = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1.7, -0.5, 2.2);
    TU_ASSERT_VALUES(am_one_hot_at(f, 3, 1, 0, AM_DTYPE_INT32, AM_HERE), AM_SHAPE(3, 3), 0,
                     0, 1, 0, 1, 0, 0, 0, 0, 1);
    am_array *u = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2), 2, 0);
    TU_ASSERT_VALUES(am_one_hot_at(u, 3, 1, 0, AM_DTYPE_UINT8, AM_HERE), AM_SHAPE(2, 3), 0,
                     0, 0, 1, 1, 0, 0);
    CU_ASSERT_EQUAL(am_array_size(am_one_hot(i, 0)), 0);
    CU_ASSERT_EQUAL(am_array_size(am_one_hot(am_zeros(AM_SHAPE(0), AM_DTYPE_INT64), 3)), 0);
    const char *k[] = {"depth", "dtype"}, *v[] = {"2", "int64"};
    CU_ASSERT_EQUAL(am_invoke("one_hot", &u, 1, k, v, 2, &y, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2), 0, 0, 0, 1, 0);
    CU_ASSERT(am_op_find("one_hot")->flags & AM_OP_NO_GRAD);
    TU_ASSERT_FAILS(am_one_hot(i, -1), AM_ERR_ARG, "one_hot: depth=-1 is negative");
    TU_ASSERT_FAILS(am_one_hot_at(i, 2, 1, 0, (am_dtype)9, AM_HERE), AM_ERR_DTYPE,
                    "one_hot: unknown dtype 9 at test_ops_index.c");
    TU_ASSERT_FAILS(am_invoke("one_hot", &u, 1, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "required attribute 'depth'");
    am_scope_end();
}

/* ---- take ---------------------------------------------------------------------------------- */

static void test_take(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6);
    am_array *i2 = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 0, 1, 1, 2);
    TU_ASSERT_VALUES(am_take(a, i2, 0), AM_SHAPE(2, 2, 2), 0, 1, 2, 3, 4, 3, 4, 5, 6);
    am_array *c = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 1, 0, 1);
    TU_ASSERT_VALUES(am_take(a, c, 1), AM_SHAPE(3, 3), 0, 2, 1, 2, 4, 3, 4, 6, 5, 6);
    TU_ASSERT_VALUES(am_take(a, c, -1), AM_SHAPE(3, 3), 0, 2, 1, 2, 4, 3, 4, 6, 5, 6);
    /* a scalar index drops the axis: a3[:, 2, :] */
    am_array *a3 = iota(AM_SHAPE(2, 3, 2), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(am_take(a3, am_full(AM_SHAPE(), AM_DTYPE_INT64, 2), 1), AM_SHAPE(2, 2), 0,
                     4, 5, 10, 11);
    /* modes: clip (the default) and wrap */
    am_array *out = tu_array(AM_DTYPE_INT64, AM_SHAPE(3), -1, 3, 7);
    TU_ASSERT_VALUES(am_take(a, out, 0), AM_SHAPE(3, 2), 0, 1, 2, 5, 6, 5, 6);
    TU_ASSERT_VALUES(am_take_at(a, out, 0, "wrap", AM_HERE), AM_SHAPE(3, 2), 0, 5, 6, 1, 2, 3, 4);
    am_array *ok = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2), 2, 0);
    TU_ASSERT_VALUES(am_take_at(a, ok, 0, "raise", AM_HERE), AM_SHAPE(2, 2), 0, 5, 6, 1, 2);
    am_array *fl = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), 1.9);
    TU_ASSERT_VALUES(am_take(a, fl, 0), AM_SHAPE(1, 2), 0, 3, 4);
    CU_ASSERT_EQUAL(am_array_ndim(am_take(a, am_zeros(AM_SHAPE(0), AM_DTYPE_INT32), 0)), 2);
    CU_ASSERT_EQUAL(am_array_size(am_take(a, am_zeros(AM_SHAPE(0), AM_DTYPE_INT32), 0)), 0);
    am_array *y = NULL;
    const char *k[] = {"axis", "mode"}, *v[] = {"0", "wrap"};
    CU_ASSERT_EQUAL(am_invoke("take", AM_LIST(a, out), 2, k, v, 2, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 0, 5, 6, 1, 2, 3, 4);

    am_array *bad = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0, 3);
    TU_ASSERT_FAILS(am_take_at(a, bad, 0, "raise", AM_HERE), AM_ERR_ARG,
                    "take: index 3 (indices element 1) is out of range for axis 0 of size 3 "
                    "(mode=raise) at test_ops_index.c");
    TU_ASSERT_FAILS(am_take_at(a, out, 1, "raise", AM_HERE), AM_ERR_ARG, "index -1");
    TU_ASSERT_FAILS(am_take_at(a, ok, 0, "nearest", AM_HERE), AM_ERR_ARG,
                    "take: mode 'nearest' is not one of {raise, wrap, clip}");
    TU_ASSERT_FAILS(am_take(a, ok, 2), AM_ERR_ARG, "take: axis=2 is out of range");
    TU_ASSERT_FAILS(am_take(am_zeros(AM_SHAPE(0, 2), AM_DTYPE_FLOAT32), ok, 0), AM_ERR_SHAPE,
                    "cannot take from axis 0 of size 0");
    TU_ASSERT_FAILS(am_take(a, NULL, 0), AM_ERR_ARG, "take: input 1 is NULL");
    am_scope_end();
}

/* ---- Embedding ------------------------------------------------------------------------------ */

static void test_embedding(void)
{
    am_scope_begin();
    am_array *w = iota(AM_SHAPE(4, 2), AM_DTYPE_FLOAT32);
    am_array *d = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 0, 3, 1, 1);
    TU_ASSERT_VALUES(am_embedding(d, w, 4, 2), AM_SHAPE(2, 2, 2), 0, 0, 1, 6, 7, 2, 3, 2, 3);
    /* out-of-range indices are clipped, as MXNet's Embedding does */
    am_array *o = tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 7, -2);
    TU_ASSERT_VALUES(am_embedding(o, w, 4, 2), AM_SHAPE(2, 2), 0, 6, 7, 0, 1);
    am_array *w64 = am_astype(w, AM_DTYPE_FLOAT64);
    am_array *y = am_embedding(tu_array(AM_DTYPE_UINT8, AM_SHAPE(1), 2), w64, 4, 2);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(y, AM_SHAPE(1, 2), 0, 4, 5);
    const char *k[] = {"input_dim", "output_dim", "dtype"}, *v[] = {"4", "2", "float64"};
    CU_ASSERT_EQUAL(am_invoke("Embedding", AM_LIST(d, w64), 2, k, v, 3, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2, 2), 0, 0, 1, 6, 7, 2, 3, 2, 3);

    TU_ASSERT_FAILS(am_embedding(d, w, 3, 2), AM_ERR_SHAPE,
                    "Embedding: weight (4, 2) does not match (input_dim, output_dim) = (3, 2)");
    TU_ASSERT_FAILS(am_embedding(d, am_reshape(w, AM_SHAPE(8)), 4, 2), AM_ERR_SHAPE,
                    "weight (8,) does not match");
    TU_ASSERT_FAILS(am_embedding(d, w, 0, 2), AM_ERR_ARG, "input_dim=0 and output_dim=2 must be");
    am_scope_end();
}

/* Shape inference fills an unknown weight (deferred initialisation). */
static void test_embedding_infers_weight(void)
{
    const am_op_def *op = am_op_find("Embedding");
    const char *k[] = {"input_dim", "output_dim"}, *v[] = {"10", "3"};
    void *attrs = am_attrs_parse(op, k, v, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    am_shape in[2] = {AM_SHAPE(2, 5), {.ndim = -1}}, out[1];
    am_dtype it[2] = {AM_DTYPE_INT32, AM_DTYPE_COUNT}, ot[1];
    CU_ASSERT_EQUAL(op->infer_shape(attrs, in, 2, out, 1), AM_OK);
    CU_ASSERT(in[1].ndim == 2 && in[1].dim[0] == 10 && in[1].dim[1] == 3);
    CU_ASSERT(out[0].ndim == 3 && out[0].dim[2] == 3);
    CU_ASSERT_EQUAL(op->infer_dtype(attrs, it, 2, ot, 1), AM_OK);
    CU_ASSERT_EQUAL(it[1], AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(ot[0], AM_DTYPE_FLOAT32);
    free(attrs);
}

/* ---- pick ----------------------------------------------------------------------------------- */

static void test_pick(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6);
    am_array *i = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0, 1, 0);
    TU_ASSERT_VALUES(am_pick(x, i, -1), AM_SHAPE(3), 0, 1, 4, 5);
    TU_ASSERT_VALUES(am_pick_at(x, i, 1, true, "clip", AM_HERE), AM_SHAPE(3, 1), 0, 1, 4, 5);
    am_array *r = tu_array(AM_DTYPE_INT64, AM_SHAPE(2), 2, 0);
    TU_ASSERT_VALUES(am_pick(x, r, 0), AM_SHAPE(2), 0, 5, 2);
    am_array *rk = tu_array(AM_DTYPE_INT64, AM_SHAPE(1, 2), 2, 0); /* index with the kept axis */
    TU_ASSERT_VALUES(am_pick_at(x, rk, 0, true, "clip", AM_HERE), AM_SHAPE(1, 2), 0, 5, 2);
    /* out of range: clip (default) and wrap */
    am_array *o = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), -1, 2, 5);
    TU_ASSERT_VALUES(am_pick(x, o, -1), AM_SHAPE(3), 0, 1, 4, 6);
    TU_ASSERT_VALUES(am_pick_at(x, o, -1, false, "wrap", AM_HERE), AM_SHAPE(3), 0, 2, 3, 6);
    /* the middle axis: out[i, k] = x3[i, idx[i, k], k] */
    am_array *x3 = iota(AM_SHAPE(2, 3, 2), AM_DTYPE_FLOAT64);
    am_array *i3 = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 2), 2, 0, 1, 1);
    TU_ASSERT_VALUES(am_pick(x3, i3, 1), AM_SHAPE(2, 2), 0, 4, 1, 8, 9);
    am_array *y = NULL;
    CU_ASSERT_EQUAL(am_invoke("pick", AM_LIST(x, i), 2, NULL, NULL, 0, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, 1, 4, 5);
    CU_ASSERT_EQUAL(am_array_size(am_pick(am_zeros(AM_SHAPE(0, 2), AM_DTYPE_FLOAT32),
                                          am_zeros(AM_SHAPE(0), AM_DTYPE_FLOAT32), 1)), 0);

    TU_ASSERT_FAILS(am_pick(x, r, -1), AM_ERR_SHAPE,
                    "pick: index (2,) does not match data (3, 2) without axis 1");
    TU_ASSERT_FAILS(am_pick(x, i, 2), AM_ERR_ARG, "axis=2 is out of range");
    TU_ASSERT_FAILS(am_pick_at(x, i, -1, false, "raise", AM_HERE), AM_ERR_ARG,
                    "pick: mode 'raise' is not one of {wrap, clip}");
    const char *k[] = {"axis"}, *v[] = {"None"};
    TU_ASSERT_FAILS(am_invoke("pick", AM_LIST(x, i), 2, k, v, 1, &y, 1) == AM_OK,
                    AM_ERR_UNSUPPORTED, "axis=None is not supported");
    TU_ASSERT_FAILS(am_pick(am_zeros(AM_SHAPE(2, 0), AM_DTYPE_FLOAT32),
                            am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT32), 1),
                    AM_ERR_SHAPE, "cannot pick from axis 1 of size 0");
    am_scope_end();
}

/* ---- large inputs: the OpenMP paths against naive loops -------------------------------------- */

static am_array *random_indices(int64_t n, int64_t hi, am_dtype t)
{
    am_array *r = am_random_uniform(0, (double)hi, AM_SHAPE(n), AM_DTYPE_FLOAT64);
    am_view v = am_array_view(r);
    for (int64_t i = 0; i < n; i++) am_view_set(&v, i, floor(am_view_get(&v, i)));
    return am_astype(r, t);
}

static void test_large_inputs(void)
{
    am_scope_begin();
    int64_t n = 6000;
    am_array *a = tu_random(AM_SHAPE(100, 8), AM_DTYPE_FLOAT32, -1, 1);
    am_array *i = random_indices(n, 100, AM_DTYPE_FLOAT64);
    am_array *t = am_take(a, i, 0), *e = am_embedding(i, a, 100, 8);
    bool ok = t && e;
    for (int64_t r = 0; ok && r < n; r++)
        for (int64_t k = 0; k < 8; k++) {
            double want = am_item(a, (int64_t)am_item(i, r) * 8 + k);
            ok = am_item(t, r * 8 + k) == want && am_item(e, r * 8 + k) == want;
        }
    CU_ASSERT(ok);

    am_array *d = tu_random(AM_SHAPE(40000, 3), AM_DTYPE_FLOAT64, -1, 1);
    am_array *j = random_indices(40000, 3, AM_DTYPE_INT32);
    am_array *p = am_pick(d, j, 1);
    ok = p != NULL;
    for (int64_t r = 0; ok && r < 40000; r++)
        ok = am_item(p, r) == am_item(d, r * 3 + (int64_t)am_item(j, r));
    CU_ASSERT(ok);

    am_array *h = am_one_hot(j, 4);
    ok = h != NULL;
    for (int64_t r = 0; ok && r < 40000; r++)
        for (int64_t k = 0; k < 4; k++) ok = am_item(h, r * 4 + k) == (k == am_item(j, r));
    CU_ASSERT(ok);
    am_scope_end();
}

CU_TestInfo am_tests_ops_index[] = {
    {"one_hot", test_one_hot},
    {"take: axes, modes, index dtypes", test_take},
    {"Embedding", test_embedding},
    {"Embedding infers an unknown weight", test_embedding_infers_weight},
    {"pick", test_pick},
    {"large inputs match naive loops", test_large_inputs},
    CU_TEST_INFO_NULL,
};
