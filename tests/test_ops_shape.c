/* The ops_shape suite: Reshape (every special value), reshape_like, Flatten, expand_dims,
 * squeeze, transpose, SwapAxis, Concat, stack, SliceChannel, slice,
 * slice_axis, tile, repeat and broadcast_to against hand-checked values and
 * naive loops; views; errors. */
#include "test_util.h"

/* Array literals that survive being macro arguments. */
#define AM_LIST(...) ((am_array *[]){__VA_ARGS__})
#define INTS(...) ((int[]){__VA_ARGS__})
#define I64S(...) ((int64_t[]){__VA_ARGS__})

/* ---- helpers --------------------------------------------------------------------------- */

static am_array *iota(am_shape s, am_dtype t)
{
    am_array *x = am_arange(0, (double)am_shape_size(&s), 1, t);
    return am_reshape(x, s);
}

static bool shape_is(am_array *x, am_shape s)
{
    char a[96], b[96];
    if (!x) {
        printf("\n  array is NULL: %s\n", am_last_error());
        return false;
    }
    am_shape got = am_array_shape(x);
    bool same = got.ndim == s.ndim;
    for (int i = 0; same && i < s.ndim; i++) same = got.dim[i] == s.dim[i];
    if (!same)
        printf("\n  shape %s, expected %s\n", am_shape_format(&got, a, sizeof(a)),
               am_shape_format(&s, b, sizeof(b)));
    return same;
}

/* Reshape through the attribute strings, as a JSON graph would call it. */
static am_array *reshape_str(am_array *x, const char *shape, const char *reverse)
{
    const char *keys[] = {"shape", "reverse"}, *vals[] = {shape, reverse};
    am_array *y = NULL;
    return am_invoke("Reshape", &x, 1, keys, vals, reverse ? 2 : 1, &y, 1) == AM_OK ? y : NULL;
}

static am_array *call_str(const char *op, am_array **in, int n_in, const char *key,
                          const char *val)
{
    am_array *y = NULL;
    const char *keys[] = {key}, *vals[] = {val};
    return am_invoke(op, in, n_in, keys, vals, key ? 1 : 0, &y, 1) == AM_OK ? y : NULL;
}

/* Element x[idx] of a row-major array, by explicit index arithmetic. */
static double at_index(am_array *x, const int64_t *idx)
{
    am_view v = am_array_view(x);
    int64_t flat = 0;
    for (int i = 0; i < v.ndim; i++) flat = flat * v.dim[i] + idx[i];
    return am_view_get(&v, flat);
}

/* Advances a row-major multi-index; false after the last one. */
static bool next_index(int64_t *idx, const am_shape *s)
{
    for (int i = s->ndim - 1; i >= 0; i--) {
        if (++idx[i] < s->dim[i]) return true;
        idx[i] = 0;
    }
    return false;
}

/* y == transpose(x, perm) element by element (a naive reference). */
static bool is_permutation_of(am_array *y, am_array *x, const int *perm)
{
    am_shape xs = am_array_shape(x), ys = am_array_shape(y);
    if (ys.ndim != xs.ndim || am_array_size(y) != am_array_size(x)) return false;
    for (int i = 0; i < xs.ndim; i++)
        if (ys.dim[i] != xs.dim[perm[i]]) return false;
    if (am_array_size(y) == 0) return true;
    int64_t oi[AM_MAX_NDIM] = {0}, ii[AM_MAX_NDIM];
    do {
        for (int i = 0; i < xs.ndim; i++) ii[perm[i]] = oi[i];
        if (at_index(y, oi) != at_index(x, ii)) {
            printf("\n  transpose mismatch\n");
            return false;
        }
    } while (next_index(oi, &ys));
    return true;
}

/* ---- Reshape ---------------------------------------------------------------------------- */

/* MXNet's documented examples, one per special value. */
static void test_reshape_special_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32);
    am_array *x4 = iota(AM_SHAPE(2, 3, 4, 5), AM_DTYPE_FLOAT32);
    static const struct { const char *spec; am_shape want; } cases[] = {
        {"(4, 0, 2)", {3, {4, 3, 2}}},     {"(2, 0, 0)", {3, {2, 3, 4}}},
        {"(6, 1, -1)", {3, {6, 1, 4}}},    {"(3, -1, 8)", {3, {3, 1, 8}}},
        {"(-1,)", {1, {24}}},              {"(-2,)", {3, {2, 3, 4}}},
        {"(2, -2)", {3, {2, 3, 4}}},       {"(-2, 1, 1)", {5, {2, 3, 4, 1, 1}}},
        {"(-3, 4)", {2, {6, 4}}},          {"(0, -3)", {2, {2, 12}}},
        {"(-3, -2)", {2, {6, 4}}},         {"(-4, 1, 2, -2)", {4, {1, 2, 3, 4}}},
        {"(2, -4, -1, 3, -2)", {4, {2, 1, 3, 4}}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        am_array *y = reshape_str(x, cases[i].spec, NULL);
        if (!shape_is(y, cases[i].want)) printf("  (shape=%s)\n", cases[i].spec);
        CU_ASSERT(shape_is(y, cases[i].want));
    }
    CU_ASSERT(shape_is(reshape_str(x4, "(-3, -3)", NULL), AM_SHAPE(6, 20)));
    am_array *r = iota(AM_SHAPE(10, 5, 4), AM_DTYPE_FLOAT32);
    CU_ASSERT(shape_is(reshape_str(r, "(-1, 0)", NULL), AM_SHAPE(40, 5)));
    CU_ASSERT(shape_is(reshape_str(r, "(-1, 0)", "True"), AM_SHAPE(50, 4)));
    CU_ASSERT(shape_is(am_reshape_at(r, AM_SHAPE(-1, 0), true, AM_HERE), AM_SHAPE(50, 4)));
    /* reshape([1,2,3,4], shape=(2,2)) = [[1,2],[3,4]] */
    am_array *v = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_reshape(v, AM_SHAPE(2, 2)), AM_SHAPE(2, 2), 0, 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_reshape(am_reshape(x, AM_SHAPE(-1)), AM_SHAPE(0)), AM_SHAPE(24), 0, 0, 1,
                     2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                     23);
    /* size-0 dimensions keep the shape rules */
    am_array *z = am_zeros(AM_SHAPE(0, 3), AM_DTYPE_INT64);
    CU_ASSERT(shape_is(am_reshape(z, AM_SHAPE(3, -1)), AM_SHAPE(3, 0)));
    CU_ASSERT(shape_is(am_reshape(z, AM_SHAPE(-1, 0, 1)), AM_SHAPE(0, 3, 1)));
    am_scope_end();
}

/* The deprecated target_shape and keep_highest keep their old meaning. */
static void test_reshape_legacy(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT64), *y = NULL;
    const char *k1[] = {"target_shape"}, *v1[] = {"(0, 4)"};
    CU_ASSERT_EQUAL(am_invoke("Reshape", &x, 1, k1, v1, 1, &y, 1), AM_OK);
    CU_ASSERT(shape_is(y, AM_SHAPE(6, 4)));
    const char *k2[] = {"target_shape", "keep_highest"}, *v2[] = {"(5, 0)", "True"};
    CU_ASSERT_EQUAL(am_invoke("Reshape", &x, 1, k2, v2, 2, &y, 1), AM_OK);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 12)));
    CU_ASSERT_EQUAL(am_item(y, 13), 13);
    const char *v3[] = {"(2, 0, 0)"};
    TU_ASSERT_FAILS(am_invoke("Reshape", &x, 1, k1, v3, 1, &y, 1) == AM_OK, AM_ERR_SHAPE,
                    "Reshape: cannot reshape data (2, 3, 4) (24 elements) into (2, 0, 0)");
    am_scope_end();
}

static void test_reshape_errors(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(4, 2)), AM_ERR_SHAPE,
                    "Reshape: cannot reshape data (2, 3) (6 elements) into (4, 2) "
                    "(shape=(4, 2)) at test_ops_shape.c");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(4, -1)), AM_ERR_SHAPE,
                    "cannot reshape data (2, 3) (6 elements) into (4, -1)");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(-1, -1)), AM_ERR_ARG, "only one dimension can be -1");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(-5, 6)), AM_ERR_ARG, "shape entry -5 is not a size");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(0, 0, 0)), AM_ERR_SHAPE, "no input dimension to copy");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(2, -3)), AM_ERR_SHAPE, "-3 needs two input dimensions");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(-4, 4, -1)), AM_ERR_SHAPE,
                    "-4 cannot split dimension 2");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(-4, -1, -1)), AM_ERR_ARG, "-4 cannot split into -1");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(-4, 2)), AM_ERR_ARG, "-4 must be followed by two");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE()), AM_ERR_ARG, "Reshape: shape must be given");
    TU_ASSERT_FAILS(am_reshape(x, AM_SHAPE(-2, 1, 1, 1, 1, 1)), AM_ERR_SHAPE, "7 dimensions");
    TU_ASSERT_FAILS(am_reshape(NULL, AM_SHAPE(6)), AM_ERR_ARG, "Reshape: input 0 is NULL");
    am_scope_end();
}

/* ---- views -------------------------------------------------------------------------------- */

/* y shares x's storage: a write through y shows in x at flat index at. */
static bool writes_through(am_array *y, am_array *x, int64_t y_index, int64_t x_index)
{
    if (!y || !am_array_is_view(y) || !am_array_is_view(x)) return false;
    am_view v = am_array_view(y);
    am_view_set(&v, y_index, 77);
    return am_item(x, x_index) == 77;
}

static void test_views(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    CU_ASSERT(writes_through(am_reshape(x, AM_SHAPE(3, 4)), x, 5, 5));
    CU_ASSERT(writes_through(am_flatten(am_reshape(x, AM_SHAPE(2, 2, 3))), x, 7, 7));
    CU_ASSERT(writes_through(am_expand_dims(x, 1), x, 2, 2));
    am_array *c = am_reshape(iota(AM_SHAPE(3), AM_DTYPE_INT32), AM_SHAPE(1, 3, 1));
    CU_ASSERT(writes_through(am_squeeze(c, NULL, 0), c, 1, 1));
    /* a step-1 range of the first axis is a view at the right offset */
    am_array *s = am_slice_axis(x, 0, 1, 3);
    TU_ASSERT_VALUES(s, AM_SHAPE(2, 3), 0, 3, 4, 77, 6, 77, 8);
    CU_ASSERT(writes_through(s, x, 0, 3));
    int64_t b[] = {2}, e[] = {AM_NONE};
    CU_ASSERT(writes_through(am_slice(x, b, e, NULL, 1), x, 1, 7));
    int64_t b2[] = {1, 0}, e2[] = {2, 3};
    CU_ASSERT(writes_through(am_slice(x, b2, e2, NULL, 2), x, 2, 5)); /* one whole row */
    /* copies: a strided slice, a column range, a transpose */
    int64_t b3[] = {0}, e3[] = {4}, st3[] = {2};
    am_array *strided = am_slice(x, b3, e3, st3, 1);
    CU_ASSERT(!am_array_is_view(strided));
    TU_ASSERT_VALUES(strided, AM_SHAPE(2, 3), 0, 0, 1, 77, 6, 77, 8);
    CU_ASSERT(!am_array_is_view(am_slice_axis(x, 1, 0, 2)));
    CU_ASSERT(!am_array_is_view(am_transpose(x, NULL, 0)));
    am_scope_end();
}

/* ---- reshape_like ------------------------------------------------------------------------- */

static am_array *reshape_like_str(am_array *x, am_array *like, const char *const *keys,
                                  const char *const *vals, int n)
{
    am_array *in[2] = {x, like}, *y = NULL;
    return am_invoke("reshape_like", in, 2, keys, vals, n, &y, 1) == AM_OK ? y : NULL;
}

static void test_reshape_like(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(6), AM_DTYPE_FLOAT32);
    am_array *like = am_zeros(AM_SHAPE(3, 2), AM_DTYPE_INT32); /* any dtype lends its shape */
    am_array *y = am_reshape_like(x, like);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 0, 0, 1, 2, 3, 4, 5);
    CU_ASSERT(am_array_dtype(y) == AM_DTYPE_FLOAT32 && writes_through(y, x, 4, 4));
    /* 0-d shapes both ways, which Reshape cannot express */
    am_array *one = am_full(AM_SHAPE(1, 1), AM_DTYPE_FLOAT64, 5);
    am_array *scalar = am_reshape_like(one, am_zeros(AM_SHAPE(), AM_DTYPE_UINT8));
    TU_ASSERT_VALUES(scalar, AM_SHAPE(), 0, 5);
    TU_ASSERT_VALUES(am_reshape_like(scalar, am_zeros(AM_SHAPE(1), AM_DTYPE_INT64)), AM_SHAPE(1),
                     0, 5);
    CU_ASSERT(shape_is(am_reshape_like(am_zeros(AM_SHAPE(0, 4), AM_DTYPE_FLOAT32),
                                       am_zeros(AM_SHAPE(2, 0), AM_DTYPE_FLOAT32)),
                       AM_SHAPE(2, 0)));
    /* MXNet's examples for the ranges */
    am_array *a = am_zeros(AM_SHAPE(30, 7), AM_DTYPE_FLOAT32);
    const char *k1[] = {"lhs_begin", "lhs_end", "rhs_begin", "rhs_end"};
    const char *v1[] = {"0", "1", "0", "2"};
    CU_ASSERT(shape_is(reshape_like_str(a, am_zeros(AM_SHAPE(15, 2, 4), AM_DTYPE_FLOAT32), k1, v1,
                                        4), AM_SHAPE(15, 2, 7)));
    const char *v2[] = {"0", "2", "1", "2"};
    CU_ASSERT(shape_is(reshape_like_str(am_zeros(AM_SHAPE(3, 5), AM_DTYPE_FLOAT32),
                                        am_zeros(AM_SHAPE(1, 15, 4), AM_DTYPE_FLOAT32), k1, v2, 4),
                       AM_SHAPE(15)));
    const char *v3[] = {"-1", "None", "1", "None"};
    CU_ASSERT(shape_is(reshape_like_str(am_zeros(AM_SHAPE(30, 12), AM_DTYPE_FLOAT32),
                                        am_zeros(AM_SHAPE(4, 2, 2, 3), AM_DTYPE_FLOAT32), k1, v3,
                                        4), AM_SHAPE(30, 2, 2, 3)));
    /* errors */
    TU_ASSERT_FAILS(am_reshape_like(x, am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT32)), AM_ERR_SHAPE,
                    "reshape_like: cannot reshape lhs (6,) (6 elements) into (4,) like rhs (4,)");
    const char *v4[] = {"1", "3", "0", "1"};
    TU_ASSERT_FAILS(reshape_like_str(a, like, k1, v4, 4), AM_ERR_ARG,
                    "lhs_begin=1, lhs_end=3 is not a range of the axes of lhs (30, 7)");
    const char *v5[] = {"0", "1", "-3", "None"};
    TU_ASSERT_FAILS(reshape_like_str(a, like, k1, v5, 4), AM_ERR_ARG,
                    "rhs_begin=-3, rhs_end=2 is not a range of the axes of rhs (3, 2)");
    TU_ASSERT_FAILS(am_reshape_like(x, NULL), AM_ERR_ARG, "reshape_like: input 1 is NULL");
    am_scope_end();
}

/* ---- Flatten, expand_dims, squeeze -------------------------------------------------------- */

static void test_flatten_expand_squeeze(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(2, 3, 2), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(am_flatten(x), AM_SHAPE(2, 6), 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    TU_ASSERT_VALUES(am_flatten(am_arange(0, 3, 1, AM_DTYPE_FLOAT32)), AM_SHAPE(3, 1), 0, 0, 1, 2);
    CU_ASSERT(shape_is(am_flatten(am_zeros(AM_SHAPE(0, 2, 3), AM_DTYPE_UINT8)), AM_SHAPE(0, 6)));
    CU_ASSERT(shape_is(am_flatten(am_zeros(AM_SHAPE(4, 0, 3), AM_DTYPE_UINT8)), AM_SHAPE(4, 0)));
    CU_ASSERT(am_op_find("flatten") == am_op_find("Flatten"));

    am_array *m = iota(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_expand_dims(m, -1), AM_SHAPE(2, 3, 1), 0, 0, 1, 2, 3, 4, 5);
    CU_ASSERT(shape_is(am_expand_dims(m, 0), AM_SHAPE(1, 2, 3)));
    CU_ASSERT(shape_is(am_expand_dims(m, 2), AM_SHAPE(2, 3, 1)));
    CU_ASSERT(shape_is(am_expand_dims(m, -3), AM_SHAPE(1, 2, 3)));
    CU_ASSERT(shape_is(am_expand_dims(am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 4), 0), AM_SHAPE(1)));
    TU_ASSERT_FAILS(am_expand_dims(m, 3), AM_ERR_ARG, "expand_dims: axis=3 is out of range for 3");
    TU_ASSERT_FAILS(am_expand_dims(m, -4), AM_ERR_ARG, "axis=-4 is out of range");
    TU_ASSERT_FAILS(am_expand_dims(am_zeros(AM_SHAPE(1, 1, 1, 1, 1, 1), AM_DTYPE_FLOAT32), 0),
                    AM_ERR_SHAPE, "7 dimensions");

    am_array *s = iota(AM_SHAPE(2, 1, 3, 1), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_squeeze(s, NULL, 0), AM_SHAPE(2, 3), 0, 0, 1, 2, 3, 4, 5);
    CU_ASSERT(shape_is(am_squeeze(s, INTS(-1), 1), AM_SHAPE(2, 1, 3)));
    CU_ASSERT(shape_is(am_squeeze(s, INTS(1, 3), 2), AM_SHAPE(2, 3)));
    CU_ASSERT(shape_is(am_squeeze(s, INTS(0), 0), AM_SHAPE(2, 1, 3, 1))); /* () removes none */
    am_array *ones = am_ones(AM_SHAPE(1, 1), AM_DTYPE_FLOAT32);
    CU_ASSERT(shape_is(am_squeeze(ones, NULL, 0), AM_SHAPE(1))); /* MXNet 1.x keeps one axis */
    CU_ASSERT(shape_is(am_squeeze(am_ones(AM_SHAPE(0, 1), AM_DTYPE_FLOAT32), NULL, 0),
                       AM_SHAPE(0)));
    TU_ASSERT_FAILS(am_squeeze(s, INTS(0), 1), AM_ERR_SHAPE,
                    "squeeze: cannot squeeze axis 0 of size 2 in data (2, 1, 3, 1)");
    TU_ASSERT_FAILS(am_squeeze(s, INTS(1, -3), 2), AM_ERR_ARG, "axis 1 is given twice");
    TU_ASSERT_FAILS(am_squeeze(s, INTS(4), 1), AM_ERR_ARG, "axis=4 is out of range");
    am_scope_end();
}

/* ---- transpose, SwapAxis -------------------------------------------------------------------- */

static void test_transpose_values(void)
{
    am_scope_begin();
    am_array *m = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    TU_ASSERT_VALUES(am_transpose(m, NULL, 0), AM_SHAPE(3, 2), 0, 1, 4, 2, 5, 3, 6);
    TU_ASSERT_VALUES(am_transpose(m, INTS(-1, 0), 2), AM_SHAPE(3, 2), 0, 1, 4, 2, 5, 3, 6);
    TU_ASSERT_VALUES(am_transpose(m, INTS(0, 1), 2), AM_SHAPE(2, 3), 0, 1, 2, 3, 4, 5, 6);
    /* (2, 2, 2) with axes (2, 0, 1): out[i, j, k] = x[j, k, i] */
    am_array *c = iota(AM_SHAPE(2, 2, 2), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(am_transpose(c, INTS(2, 0, 1), 3), AM_SHAPE(2, 2, 2), 0,
                     0, 2, 4, 6, 1, 3, 5, 7);
    CU_ASSERT(shape_is(am_transpose(am_zeros(AM_SHAPE(0, 3, 2), AM_DTYPE_FLOAT32), NULL, 0),
                       AM_SHAPE(2, 3, 0)));
    TU_ASSERT_VALUES(am_transpose(am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 5), NULL, 0), AM_SHAPE(),
                     0, 5);
    TU_ASSERT_FAILS(am_transpose(m, INTS(0, 0), 2), AM_ERR_ARG,
                    "transpose: axes=(0, 0) is not a permutation of 2 axes");
    TU_ASSERT_FAILS(am_transpose(m, INTS(1, 0, 2), 3), AM_ERR_ARG,
                    "axes=(1, 0, 2) has 3 entries but data has 2 dimensions");
    TU_ASSERT_FAILS(am_transpose(m, INTS(0, 2), 2), AM_ERR_ARG, "not a permutation");
    am_scope_end();
}

/* Every layout path of the copy engine (runs, tiles, broadcast, odd sizes)
 * against a naive reference, in every dtype. */
static void test_transpose_against_naive(void)
{
    static const struct { am_shape s; int perm[AM_MAX_NDIM]; } cases[] = {
        {{2, {67, 45}}, {1, 0}},
        {{2, {256, 300}}, {1, 0}},
        {{3, {3, 40, 50}}, {0, 2, 1}},
        {{3, {40, 3, 50}}, {2, 1, 0}},
        {{4, {5, 6, 7, 8}}, {3, 1, 0, 2}},
        {{4, {9, 1, 33, 2}}, {2, 3, 1, 0}},
        {{5, {2, 3, 2, 3, 2}}, {4, 2, 0, 3, 1}},
        {{6, {2, 1, 3, 2, 2, 3}}, {5, 4, 3, 2, 1, 0}},
        {{3, {100, 2, 70}}, {1, 2, 0}},
    };
    for (int t = 0; t < AM_DTYPE_COUNT; t++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            am_scope_begin();
            am_array *x = tu_random(cases[i].s, (am_dtype)t, 0, 100);
            am_array *y = am_transpose(x, cases[i].perm, cases[i].s.ndim);
            CU_ASSERT(is_permutation_of(y, x, cases[i].perm));
            am_scope_end();
        }
}

static void test_swap_axis(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT64, -1, 1);
    CU_ASSERT(is_permutation_of(am_swap_axis(x, 0, 2), x, INTS(2, 1, 0)));
    CU_ASSERT(is_permutation_of(am_swap_axis(x, -1, 1), x, INTS(0, 2, 1)));
    CU_ASSERT(tu_allclose(am_swap_axis(x, 1, 1), x, 0));
    am_array *y = call_str("swapaxes", &x, 1, NULL, NULL); /* dim1 = dim2 = 0 */
    CU_ASSERT(tu_allclose(y, x, 0));
    am_array *m = tu_array(AM_DTYPE_UINT8, AM_SHAPE(1, 3), 1, 2, 3);
    TU_ASSERT_VALUES(am_swap_axis(m, 0, 1), AM_SHAPE(3, 1), 0, 1, 2, 3);
    TU_ASSERT_FAILS(am_swap_axis(x, 0, 3), AM_ERR_ARG, "SwapAxis: dim2=3 is out of range");
    TU_ASSERT_FAILS(am_swap_axis(x, -4, 0), AM_ERR_ARG, "dim1=-4 is out of range");
    am_scope_end();
}

/* ---- Concat, stack, SliceChannel ----------------------------------------------------------- */

static void test_concat(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 1), 5, 6);
    am_array *c = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2), 7, 8);
    TU_ASSERT_VALUES(am_concat(AM_LIST(a, b), 2, 1), AM_SHAPE(2, 3), 0, 1, 2, 5, 3, 4, 6);
    TU_ASSERT_VALUES(am_concat(AM_LIST(b, a, b), 3, -1), AM_SHAPE(2, 4), 0,
                     5, 1, 2, 5, 6, 3, 4, 6);
    TU_ASSERT_VALUES(am_concat(AM_LIST(a, c), 2, 0), AM_SHAPE(3, 2), 0, 1, 2, 3, 4, 7, 8);
    TU_ASSERT_VALUES(am_concat(AM_LIST(c), 1, 0), AM_SHAPE(1, 2), 0, 7, 8);
    am_array *e = am_zeros(AM_SHAPE(0, 2), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_concat(AM_LIST(e, c, e), 3, 0), AM_SHAPE(1, 2), 0, 7, 8);
    am_array *i = tu_array(AM_DTYPE_INT64, AM_SHAPE(3), 1, 2, 3);
    TU_ASSERT_VALUES(am_concat(AM_LIST(i, i), 2, 0), AM_SHAPE(6), 0, 1, 2, 3, 1, 2, 3);
    am_array *y = NULL;
    const char *k[] = {"num_args", "dim"}, *v[] = {"2", "0"};
    CU_ASSERT_EQUAL(am_invoke("concat", AM_LIST(a, c), 2, k, v, 2, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 0, 1, 2, 3, 4, 7, 8);

    TU_ASSERT_FAILS(am_concat(AM_LIST(a, b, c), 3, 1), AM_ERR_SHAPE,
                    "Concat: input 2 (1, 2) does not match input 0 (2, 2) outside dim=1");
    TU_ASSERT_FAILS(am_concat(AM_LIST(a, am_astype(i, AM_DTYPE_FLOAT32)), 2, 0),
                    AM_ERR_SHAPE, "input 1 (3,) does not match input 0 (2, 2)");
    TU_ASSERT_FAILS(am_concat(AM_LIST(a, am_astype(a, AM_DTYPE_FLOAT64)), 2, 0),
                    AM_ERR_DTYPE, "Concat: input dtypes differ");
    TU_ASSERT_FAILS(am_concat(AM_LIST(a, a), 2, 2), AM_ERR_ARG, "dim=2 is out of range");
    const char *v3[] = {"3", "0"};
    TU_ASSERT_FAILS(am_invoke("Concat", AM_LIST(a, c), 2, k, v3, 2, &y, 1) == AM_OK, AM_ERR_ARG,
                    "Concat: expects 3 inputs, got 2");
    TU_ASSERT_FAILS(am_concat(NULL, 0, 0), AM_ERR_ARG, "num_args must be at least 1");
    am_scope_end();
}

static void test_stack(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 1, 2);
    am_array *b = tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 3, 4);
    TU_ASSERT_VALUES(am_stack(AM_LIST(a, b), 2, 0), AM_SHAPE(2, 2), 0, 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_stack(AM_LIST(a, b, a), 3, -1), AM_SHAPE(2, 3), 0,
                     1, 3, 1, 2, 4, 2);
    am_array *m = iota(AM_SHAPE(2, 2), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_stack(AM_LIST(m, m), 2, 1), AM_SHAPE(2, 2, 2), 0,
                     0, 1, 0, 1, 2, 3, 2, 3);
    CU_ASSERT(shape_is(am_stack(AM_LIST(am_zeros(AM_SHAPE(0), AM_DTYPE_FLOAT32)), 1, 0),
                       AM_SHAPE(1, 0)));
    TU_ASSERT_FAILS(am_stack(AM_LIST(a, am_astype(m, AM_DTYPE_INT32)), 2, 0), AM_ERR_SHAPE,
                    "stack: input 1 (2, 2) does not match input 0 (2,)");
    TU_ASSERT_FAILS(am_stack(AM_LIST(a, b), 2, 2), AM_ERR_ARG, "axis=2 is out of range");
    am_scope_end();
}

static void test_split(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32), *out[16];
    CU_ASSERT_EQUAL(am_split(x, 2, 1, false, out), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 2), 0, 0, 1, 4, 5);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2, 2), 0, 2, 3, 6, 7);
    CU_ASSERT_EQUAL(am_split(x, 4, -1, true, out), AM_OK);
    TU_ASSERT_VALUES(out[3], AM_SHAPE(2), 0, 3, 7);
    CU_ASSERT_EQUAL(am_split(x, 2, 0, true, out), AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(4), 0, 4, 5, 6, 7);
    CU_ASSERT_EQUAL(am_split(x, 1, 1, false, out), AM_OK);
    CU_ASSERT(tu_allclose(out[0], x, 0));
    am_array *big = iota(AM_SHAPE(16, 1), AM_DTYPE_INT64);
    CU_ASSERT_EQUAL(am_split(big, 16, 0, true, out), AM_OK);
    TU_ASSERT_VALUES(out[15], AM_SHAPE(1), 0, 15);
    CU_ASSERT_EQUAL(am_split(am_zeros(AM_SHAPE(0, 4), AM_DTYPE_FLOAT32), 2, 1, false, out), AM_OK);
    CU_ASSERT(shape_is(out[1], AM_SHAPE(0, 2)));
    /* through the alias with attribute strings; two visible outputs */
    const char *k[] = {"num_outputs", "axis"}, *v[] = {"2", "0"};
    CU_ASSERT_EQUAL(am_invoke("split", &x, 1, k, v, 2, out, 2), AM_OK);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 4), 0, 4, 5, 6, 7);
    TU_ASSERT_FAILS(am_invoke("split", &x, 1, k, v, 2, out, 3) == AM_OK, AM_ERR_ARG,
                    "SliceChannel: has 2 outputs, caller asked for 3");

    TU_ASSERT_FAILS(am_split(iota(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32), 2, 1, false, out) == AM_OK,
                    AM_ERR_SHAPE, "SliceChannel: cannot split axis 1 of size 5 of data (2, 5) "
                    "into num_outputs=2 equal parts");
    TU_ASSERT_FAILS(am_split(x, 2, 1, true, out) == AM_OK, AM_ERR_SHAPE,
                    "squeeze_axis needs axis 1 of data (2, 4) to have size num_outputs=2");
    TU_ASSERT_FAILS(am_split(x, 2, 2, false, out) == AM_OK, AM_ERR_ARG, "axis=2 is out of range");
    TU_ASSERT_FAILS(am_split(x, 65, 1, false, out) == AM_OK, AM_ERR_ARG,
                    "num_outputs=65 is outside [1, 64]");
    TU_ASSERT_FAILS(am_split(x, 0, 1, false, out) == AM_OK, AM_ERR_ARG, "num_outputs=0 is outside");
    am_scope_end();
}

/* ---- slice, slice_axis --------------------------------------------------------------------- */

static void test_slice(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32), *y;
    /* x[1:, :-1] */
    y = am_slice(x, I64S(1, AM_NONE), I64S(AM_NONE, -1), NULL, 2);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 4), 0, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18);
    /* x[::-2, 3:0:-2] */
    y = am_slice(x, I64S(AM_NONE, 3), I64S(AM_NONE, 0), I64S(-2, -2), 2);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2), 0, 18, 16, 8, 6);
    /* x[-10:2] clamps; x[3:1] is empty; x[:, -1] keeps the axis */
    TU_ASSERT_VALUES(am_slice(x, I64S(-10), I64S(2), NULL, 1), AM_SHAPE(2, 5), 0,
                     0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    CU_ASSERT(shape_is(am_slice(x, I64S(3), I64S(1), NULL, 1), AM_SHAPE(0, 5)));
    TU_ASSERT_VALUES(am_slice(x, I64S(0, -1), I64S(AM_NONE, AM_NONE), NULL, 2),
                     AM_SHAPE(4, 1), 0, 4, 9, 14, 19);
    /* x[10:0:-1] starts from the end */
    TU_ASSERT_VALUES(am_slice(x, I64S(10, 2), I64S(0, 3), I64S(-1, 1), 2),
                     AM_SHAPE(3, 1), 0, 17, 12, 7);
    /* three axes with steps: x3[0:2, 1:3:2, 0:4:3] */
    am_array *x3 = iota(AM_SHAPE(3, 4, 5), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(am_slice(x3, I64S(0, 1, 0), I64S(2, 3, 4),
                              I64S(1, 2, 3), 3), AM_SHAPE(2, 1, 2), 0, 5, 8, 25, 28);
    /* through the string path with None entries, and the crop alias */
    const char *k[] = {"begin", "end", "step"}, *v[] = {"(None, 1)", "(2, None)", "(None, 2)"};
    am_array *z = NULL;
    CU_ASSERT_EQUAL(am_invoke("crop", &x, 1, k, v, 3, &z, 1), AM_OK);
    TU_ASSERT_VALUES(z, AM_SHAPE(2, 2), 0, 1, 3, 6, 8);
    CU_ASSERT(shape_is(am_slice(am_zeros(AM_SHAPE(0, 3), AM_DTYPE_UINT8), I64S(1),
                                I64S(2), NULL, 1), AM_SHAPE(0, 3)));

    TU_ASSERT_FAILS(am_slice(x, I64S(0), I64S(2), I64S(0), 1), AM_ERR_ARG,
                    "slice: step=(0,) has a zero step");
    TU_ASSERT_FAILS(am_slice(x, I64S(0, 0, 0), I64S(1, 1, 1), NULL, 3), AM_ERR_ARG,
                    "begin=(0, 0, 0) has more entries than data (4, 5) has dimensions");
    const char *v2[] = {"(0, 1)", "(2,)", "()"};
    TU_ASSERT_FAILS(am_invoke("slice", &x, 1, k, v2, 3, &z, 1) == AM_OK, AM_ERR_ARG,
                    "begin=(0, 1) and end=(2,) must have the same length");
    TU_ASSERT_FAILS(am_slice(am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 1), I64S(0),
                             I64S(1), NULL, 1), AM_ERR_SHAPE, "at least one dimension");
    am_scope_end();
}

static void test_slice_axis(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(3, 4), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(am_slice_axis(x, 1, 1, AM_NONE), AM_SHAPE(3, 3), 0,
                     1, 2, 3, 5, 6, 7, 9, 10, 11);
    TU_ASSERT_VALUES(am_slice_axis(x, -1, -2, -1), AM_SHAPE(3, 1), 0, 2, 6, 10);
    TU_ASSERT_VALUES(am_slice_axis(x, 0, -1, AM_NONE), AM_SHAPE(1, 4), 0, 8, 9, 10, 11);
    CU_ASSERT(shape_is(am_slice_axis(am_zeros(AM_SHAPE(2, 0), AM_DTYPE_FLOAT32), 1, 0, AM_NONE),
                       AM_SHAPE(2, 0)));
    TU_ASSERT_FAILS(am_slice_axis(x, 1, 2, 2), AM_ERR_ARG,
                    "slice_axis: begin=2, end=2 is not a non-empty range of axis 1 of size 4");
    TU_ASSERT_FAILS(am_slice_axis(x, 1, 0, 5), AM_ERR_ARG, "end=5");
    TU_ASSERT_FAILS(am_slice_axis(x, 1, -5, 2), AM_ERR_ARG, "begin=-5");
    TU_ASSERT_FAILS(am_slice_axis(x, 2, 0, 1), AM_ERR_ARG, "axis=2 is out of range");
    am_scope_end();
}

/* ---- tile, repeat, broadcast_to ------------------------------------------------------------ */

static void test_tile(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    /* MXNet's example: tile(x, reps=(2, 3)) */
    TU_ASSERT_VALUES(am_tile(x, I64S(2, 3), 2), AM_SHAPE(4, 6), 0,
                     1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4);
    TU_ASSERT_VALUES(am_tile(x, I64S(2), 1), AM_SHAPE(2, 4), 0, 1, 2, 1, 2, 3, 4, 3, 4);
    am_array *v = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 1, 2, 3);
    TU_ASSERT_VALUES(am_tile(v, I64S(2, 1, 2), 3), AM_SHAPE(2, 1, 6), 0,
                     1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3);
    CU_ASSERT(tu_allclose(am_tile(x, NULL, 0), x, 0));
    CU_ASSERT(shape_is(am_tile(x, I64S(0, 2), 2), AM_SHAPE(0, 4)));
    TU_ASSERT_FAILS(am_tile(x, I64S(-1, 2), 2), AM_ERR_ARG,
                    "tile: reps=(-1, 2) has a negative entry");
    TU_ASSERT_FAILS(am_tile(x, I64S(1, 1, 1, 1, 1, 1, 1), 7), AM_ERR_SHAPE, "7 dimensions");
    am_scope_end();
}

static void test_repeat(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_INT64, AM_SHAPE(2, 2), 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_repeat(x, 2, AM_NONE), AM_SHAPE(8), 0, 1, 1, 2, 2, 3, 3, 4, 4);
    TU_ASSERT_VALUES(am_repeat(x, 2, 1), AM_SHAPE(2, 4), 0, 1, 1, 2, 2, 3, 3, 4, 4);
    TU_ASSERT_VALUES(am_repeat(x, 2, 0), AM_SHAPE(4, 2), 0, 1, 2, 1, 2, 3, 4, 3, 4);
    TU_ASSERT_VALUES(am_repeat(x, 3, -1), AM_SHAPE(2, 6), 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4);
    TU_ASSERT_VALUES(am_repeat(x, 1, 0), AM_SHAPE(2, 2), 0, 1, 2, 3, 4);
    CU_ASSERT(shape_is(am_repeat(x, 0, 1), AM_SHAPE(0)));
    CU_ASSERT(shape_is(am_repeat(am_zeros(AM_SHAPE(2, 0), AM_DTYPE_FLOAT32), 3, 1),
                       AM_SHAPE(2, 0)));
    TU_ASSERT_FAILS(am_repeat(x, -1, 0), AM_ERR_ARG, "repeat: repeats=-1 is negative");
    TU_ASSERT_FAILS(am_repeat(x, 2, 2), AM_ERR_ARG, "axis=2 is out of range");
    am_scope_end();
}

static void test_broadcast_to(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 3), 1, 2, 3);
    TU_ASSERT_VALUES(am_broadcast_to(x, AM_SHAPE(2, 3)), AM_SHAPE(2, 3), 0, 1, 2, 3, 1, 2, 3);
    TU_ASSERT_VALUES(am_broadcast_to(x, AM_SHAPE(2, 0)), AM_SHAPE(2, 3), 0, 1, 2, 3, 1, 2, 3);
    am_array *c = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 1), 7, 9);
    TU_ASSERT_VALUES(am_broadcast_to(c, AM_SHAPE(2, 3)), AM_SHAPE(2, 3), 0, 7, 7, 7, 9, 9, 9);
    CU_ASSERT(shape_is(am_broadcast_to(x, AM_SHAPE(0, 3)), AM_SHAPE(1, 3))); /* 0 keeps */
    CU_ASSERT(shape_is(am_broadcast_to(am_zeros(AM_SHAPE(1, 0), AM_DTYPE_FLOAT32), AM_SHAPE(2, 0)),
                       AM_SHAPE(2, 0)));
    TU_ASSERT_FAILS(am_broadcast_to(x, AM_SHAPE(2, 4)), AM_ERR_SHAPE,
                    "broadcast_to: cannot broadcast data (1, 3) to shape=(2, 4) (axis 1)");
    TU_ASSERT_FAILS(am_broadcast_to(x, AM_SHAPE(2, 2, 3)), AM_ERR_SHAPE,
                    "the number of dimensions differs");
    am_scope_end();
}

/* ---- large inputs: the OpenMP paths against index arithmetic --------------------------------- */

static void test_large_inputs(void)
{
    am_scope_begin();
    am_array *a = tu_random(AM_SHAPE(200, 100), AM_DTYPE_FLOAT32, -1, 1);
    am_array *b = tu_random(AM_SHAPE(200, 80), AM_DTYPE_FLOAT32, -1, 1);
    am_array *c = am_concat(AM_LIST(a, b), 2, 1);
    bool ok = shape_is(c, AM_SHAPE(200, 180));
    for (int64_t r = 0; ok && r < 200; r++)
        for (int64_t k = 0; ok && k < 180; k++)
            ok = am_item(c, r * 180 + k) == (k < 100 ? am_item(a, r * 100 + k)
                                                     : am_item(b, r * 80 + k - 100));
    CU_ASSERT(ok);

    am_array *t = am_tile(a, I64S(2, 3), 2);
    ok = shape_is(t, AM_SHAPE(400, 300));
    for (int64_t r = 0; ok && r < 400; r++)
        for (int64_t k = 0; ok && k < 300; k++)
            ok = am_item(t, r * 300 + k) == am_item(a, (r % 200) * 100 + k % 100);
    CU_ASSERT(ok);

    am_array *rp = am_repeat(a, 3, 0);
    ok = shape_is(rp, AM_SHAPE(600, 100));
    for (int64_t r = 0; ok && r < 600; r++)
        for (int64_t k = 0; ok && k < 100; k++)
            ok = am_item(rp, r * 100 + k) == am_item(a, (r / 3) * 100 + k);
    CU_ASSERT(ok);

    am_array *row = tu_random(AM_SHAPE(1, 40000), AM_DTYPE_INT32, -50, 50);
    am_array *bc = am_broadcast_to(row, AM_SHAPE(3, 40000));
    ok = shape_is(bc, AM_SHAPE(3, 40000));
    for (int64_t k = 0; ok && k < 120000; k++) ok = am_item(bc, k) == am_item(row, k % 40000);
    CU_ASSERT(ok);

    am_array *big = tu_random(AM_SHAPE(300, 200), AM_DTYPE_FLOAT64, -1, 1);
    am_array *s = am_slice(big, I64S(AM_NONE, 5), I64S(AM_NONE, 190), I64S(-1, 2), 2);
    ok = shape_is(s, AM_SHAPE(300, 93));
    for (int64_t r = 0; ok && r < 300; r++)
        for (int64_t k = 0; ok && k < 93; k++)
            ok = am_item(s, r * 93 + k) == am_item(big, (299 - r) * 200 + 5 + 2 * k);
    CU_ASSERT(ok);

    am_array *parts[16];
    CU_ASSERT_EQUAL_FATAL(am_split(big, 4, 1, false, parts), AM_OK);
    ok = shape_is(parts[2], AM_SHAPE(300, 50));
    for (int64_t r = 0; ok && r < 300; r++)
        for (int64_t k = 0; ok && k < 50; k++)
            ok = am_item(parts[2], r * 50 + k) == am_item(big, r * 200 + 100 + k);
    CU_ASSERT(ok);
    am_scope_end();
}

CU_TestInfo am_tests_ops_shape[] = {
    {"Reshape: every special value (MXNet's examples)", test_reshape_special_values},
    {"Reshape: deprecated target_shape, keep_highest", test_reshape_legacy},
    {"Reshape: errors name both shapes", test_reshape_errors},
    {"reshape_like: shapes, ranges, 0-d, errors", test_reshape_like},
    {"views share storage; copies do not", test_views},
    {"Flatten, expand_dims, squeeze", test_flatten_expand_squeeze},
    {"transpose: values and errors", test_transpose_values},
    {"transpose: every dtype against a naive loop", test_transpose_against_naive},
    {"SwapAxis", test_swap_axis},
    {"Concat", test_concat},
    {"stack", test_stack},
    {"SliceChannel (split)", test_split},
    {"slice", test_slice},
    {"slice_axis", test_slice_axis},
    {"tile", test_tile},
    {"repeat", test_repeat},
    {"broadcast_to", test_broadcast_to},
    {"large inputs match index arithmetic", test_large_inputs},
    CU_TEST_INFO_NULL,
};
