/* The limits suite (issue 12, items 1, 2 and 8): shapes whose element count
 * or bytes overflow are refused with an error naming the op and the shape,
 * also when another dimension is 0 (am_shape_check, the one function every
 * reader and op uses), and float -> integer conversions are those of x86
 * (MXNet's mx.nd.Cast and numpy's astype give the numbers below), with no
 * undefined behaviour (make asan runs this suite under UBSan). */
#include "test_util.h"

#include <math.h>

#define P62 ((int64_t)1 << 62)

/* ---- one checked shape size ------------------------------------------------------ */

static void test_shape_check(void)
{
    int64_t n = -7;
    uint64_t b = 7;
    am_shape s = AM_SHAPE(2, 3, 4);
    CU_ASSERT(am_shape_check(&s, 8, &n, &b) && n == 24 && b == 192);
    s = AM_SHAPE(0, P62, P62); /* a zero dimension hides nothing */
    CU_ASSERT(!am_shape_check(&s, 1, NULL, NULL));
    CU_ASSERT_EQUAL(am_shape_size(&s), 0);
    s = AM_SHAPE(P62, P62, 0);
    CU_ASSERT(!am_shape_check(&s, 1, NULL, NULL));
    CU_ASSERT_EQUAL(am_shape_size(&s), 0);
    s = AM_SHAPE(0, P62 / 8);
    CU_ASSERT(am_shape_check(&s, 4, &n, &b) && n == 0 && b == 0);
    CU_ASSERT(!am_shape_check(&s, 8, NULL, NULL)); /* 2^62 bytes of the nonzero part */
    s = AM_SHAPE(P62 - 1);
    CU_ASSERT(am_shape_check(&s, 1, &n, &b) && n == P62 - 1 && b == (uint64_t)P62 - 1);
    CU_ASSERT(!am_shape_check(&s, 2, NULL, NULL));
    s = AM_SHAPE(P62); /* 2^62 bytes: one too many */
    CU_ASSERT(!am_shape_check(&s, 1, NULL, NULL));
    s = AM_SHAPE((int64_t)1 << 40, (int64_t)1 << 40);
    CU_ASSERT(!am_shape_check(&s, 1, NULL, NULL));
    CU_ASSERT_EQUAL(am_shape_size(&s), -1); /* overflows int64: said, not wrapped */
    s = AM_SHAPE(2, -1);
    CU_ASSERT(!am_shape_check(&s, 1, NULL, NULL));
    s = AM_SHAPE();
    CU_ASSERT(am_shape_check(&s, 4, &n, &b) && n == 1 && b == 4);
}

static void test_zeros_hidden_overflow(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_zeros(AM_SHAPE(0, P62, P62), AM_DTYPE_FLOAT32), AM_ERR_SHAPE,
                    "(0, 4611686018427387904, 4611686018427387904)");
    TU_ASSERT_FAILS(am_zeros(AM_SHAPE(0, P62, P62), AM_DTYPE_FLOAT32), AM_ERR_SHAPE, "_zeros");
    TU_ASSERT_FAILS(am_array_alloc(AM_SHAPE(0, P62, P62), AM_DTYPE_UINT8, am_cpu()),
                    AM_ERR_SHAPE, "too large");
    am_array *ok = am_zeros(AM_SHAPE(0, 1 << 20, 1 << 20), AM_DTYPE_FLOAT32);
    CU_ASSERT(ok != NULL && am_array_size(ok) == 0);
    am_scope_end();
}

/* An .npy header, padded as numpy pads it, and no data. */
static size_t npy_header(char *buf, size_t cap, const char *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof(dict), "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                     shape);
    int pad = (64 - (10 + n + 1) % 64) % 64, hlen = n + pad + 1;
    AM_ASSERT((size_t)(10 + hlen) <= cap);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff), buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', (size_t)pad);
    buf[10 + hlen - 1] = '\n';
    return (size_t)(10 + hlen);
}

static void test_npy_hidden_overflow(void)
{
    char buf[512];
    am_scope_begin();
    size_t n = npy_header(buf, sizeof(buf), "(0, 4611686018427387904, 4611686018427387904)");
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, n), AM_ERR_FORMAT,
                    "shape (0, 4611686018427387904, 4611686018427387904) of <f4 is too large");
    n = npy_header(buf, sizeof(buf), "(4611686018427387904, 4611686018427387904, 0)");
    TU_ASSERT_FAILS(am_npy_load_buffer(buf, n), AM_ERR_FORMAT, "too large");
    n = npy_header(buf, sizeof(buf), "(0, 1048576, 1048576)");
    am_array *x = am_npy_load_buffer(buf, n);
    CU_ASSERT(x != NULL && am_array_size(x) == 0 && am_array_dim(x, 2) == 1048576);
    am_scope_end();
}

/* A .params file of one V2 record of float32 with these dimensions, no data. */
static void test_params_hidden_overflow(void)
{
    uint8_t buf[256];
    size_t k = 0;
#define PUT(v, bytes) (memcpy(buf + k, &(v), bytes), k += bytes)
    uint64_t magic = 0x112, reserved = 0, count = 1, names = 0;
    uint32_t rec = 0xF993FAC9u, ndim = 3;
    int32_t stype = 0, dev[2] = {1, 0}, flag = 0;
    int64_t dims[3] = {0, P62, P62};
    PUT(magic, 8), PUT(reserved, 8), PUT(count, 8), PUT(rec, 4), PUT(stype, 4), PUT(ndim, 4);
    PUT(dims, 24), PUT(dev, 8), PUT(flag, 4), PUT(names, 8);
#undef PUT
    TU_ASSERT_FAILS(am_ndlist_load_buffer(buf, k), AM_ERR_FORMAT,
                    "shape (0, 4611686018427387904, 4611686018427387904) of float32 is too large");
}

/* ---- shapes from op attributes ---------------------------------------------------- */

static void test_ops_refuse_huge_shapes(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4);
    TU_ASSERT_FAILS(tu_invoke1("tile", x, "reps", "(1000000000, 1000000000)"), AM_ERR_SHAPE,
                    "tile: output 0 would have shape (2000000000, 2000000000) of float32, too "
                    "large");
    TU_ASSERT_FAILS(tu_invoke1("one_hot", x, "depth", "2305843009213693952"), AM_ERR_SHAPE,
                    "one_hot: output 0 would have shape (2, 2, 2305843009213693952)");
    am_array *v = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 1, 2, 3, 4);
    TU_ASSERT_FAILS(tu_invoke1("repeat", v, "repeats", "1152921504606846976"), AM_ERR_SHAPE,
                    "repeat: output 0 would have shape (4611686018427387904,) of float32");
    am_array *y = NULL;
    TU_ASSERT_STATUS(tu_invoke("_zeros", NULL, 0, "shape",
                               "(2147483648, 2147483648, 2147483648)", &y, 1),
                     AM_ERR_SHAPE, "_zeros: output 0 would have shape (2147483648, 2147483648, "
                     "2147483648) of float32, too large");
    TU_ASSERT_STATUS(tu_invoke("_ones", NULL, 0, "shape|dtype",
                               "(0, 4611686018427387904, 4611686018427387904)|uint8", &y, 1),
                     AM_ERR_SHAPE, "_ones: output 0 would have shape (0, 4611686018427387904");
    am_scope_end();
}

/* A graph of one op node reading variables data (and more), as JSON. */
static am_graph *one_op_graph(const char *op, const char *attrs, int n_vars)
{
    static const char *const vars[] = {"data", "w"};
    char json[2048], nodes[1024] = "", ins[128] = "", args[64] = "", rows[64] = "0";
    for (int i = 0; i < n_vars; i++) {
        size_t k = strlen(nodes), a = strlen(ins), r = strlen(args), w = strlen(rows);
        snprintf(nodes + k, sizeof(nodes) - k, "{\"op\": \"null\", \"name\": \"%s\", "
                 "\"inputs\": []}, ", vars[i]);
        snprintf(ins + a, sizeof(ins) - a, "%s[%d, 0, 0]", i ? ", " : "", i);
        snprintf(args + r, sizeof(args) - r, "%s%d", i ? ", " : "", i);
        snprintf(rows + w, sizeof(rows) - w, ", %d", i + 1);
    }
    snprintf(json, sizeof(json), "{\"nodes\": [%s{\"op\": \"%s\", \"name\": \"n\", \"attrs\": "
             "{%s}, \"inputs\": [%s]}], \"arg_nodes\": [%s], \"node_row_ptr\": [%s, %d], "
             "\"heads\": [[%d, 0, 0]], \"attrs\": {\"mxnet_version\": [\"int\", 10901]}}",
             nodes, op, attrs, ins, args, rows, n_vars + 1, n_vars);
    am_graph *g = am_graph_from_json(json);
    CU_ASSERT_FATAL(g != NULL);
    return g;
}

static void test_graph_refuses_huge_shapes(void)
{
    const char *names[] = {"data"};
    am_shape sh[] = {AM_SHAPE(2, 2)};
    am_dtype ty[] = {AM_DTYPE_FLOAT32};
    am_graph *g = one_op_graph("_zeros", "\"shape\": \"(2147483648, 2147483648, 2147483648)\"", 0);
    TU_ASSERT_STATUS(am_graph_infer(g, NULL, NULL, NULL, 0), AM_ERR_SHAPE,
                     "output 0 of node 'n' (_zeros) would have shape (2147483648, 2147483648, "
                     "2147483648) of float32, too large");
    am_graph_release(g);
    g = one_op_graph("Embedding", "\"input_dim\": \"1000000000000\", \"output_dim\": "
                     "\"1000000000000\"", 2);
    TU_ASSERT_STATUS(am_graph_infer(g, names, sh, ty, 1), AM_ERR_SHAPE,
                     "input 'weight' of node 'n' (Embedding) would have shape (1000000000000, "
                     "1000000000000) of float32, too large");
    am_graph_release(g);
    g = one_op_graph("tile", "\"reps\": \"(1000000000, 1000000000)\"", 1);
    TU_ASSERT_STATUS(am_graph_infer(g, names, sh, ty, 1), AM_ERR_SHAPE,
                     "(tile) would have shape (2000000000, 2000000000) of float32");
    am_graph_release(g);
    /* a legacy 0 is an unknown dimension: the known ones must still fit */
    g = one_op_graph("_ones", "\"shape\": \"(0, 4611686018427387904, 4611686018427387904)\"", 0);
    TU_ASSERT_STATUS(am_graph_infer(g, NULL, NULL, NULL, 0), AM_ERR_SHAPE,
                     "(_ones) would have shape (?, 4611686018427387904, 4611686018427387904)");
    am_graph_release(g);
    /* __shape__ of a variable: refused where it is read */
    TU_ASSERT_FAILS(am_graph_from_json(
                        "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"attrs\": "
                        "{\"__shape__\": \"(1, 4611686018427387904, 4611686018427387904)\"}, "
                        "\"inputs\": []}], \"arg_nodes\": [0], \"heads\": [[0, 0, 0]]}"),
                    AM_ERR_FORMAT, "__shape__");
}

/* ---- float -> integer as x86, MXNet and NumPy convert ----------------------------------- */

#define NV 30
static const double cast_in[NV] = {
    -1.0, -1.5, -0.5, 0.5, 1.5, 2.5, 127.9, 128.0, 200.0, 255.0, 255.9, 256.0, 300.0, -129.0,
    -200.0, -300.0, 2147483647.0, 2147483648.0, 3e9, -2147483649.0, 4294967296.0,
    4294967297.0, 1e10, 9.3e18, 1e19, -1e19, 1e30, NAN, INFINITY, -INFINITY};
/* numpy 1.23.5 astype and MXNet 1.9.1 Cast on x86, from float64; from float32
 * the same but 2147483647, -2147483649 and 4294967297, which round to 2^31,
 * -2^31 and 2^32. */
static const double want_u8[NV] = {255, 255, 0, 0, 1, 2, 127, 128, 200, 255, 255, 0, 44, 127, 56,
                                   212, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const double want_i8[NV] = {-1, -1, 0, 0, 1, 2, 127, -128, -56, -1, -1, 0, 44, 127, 56,
                                   -44, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#define I32MIN (-2147483648.0)
static const double want_i32[NV] = {-1, -1, 0, 0, 1, 2, 127, 128, 200, 255, 255, 256, 300, -129,
                                    -200, -300, 2147483647.0, I32MIN, I32MIN, I32MIN, I32MIN,
                                    I32MIN, I32MIN, I32MIN, I32MIN, I32MIN, I32MIN, I32MIN,
                                    I32MIN, I32MIN};
#define I64MIN (-9223372036854775808.0)
static const double want_i64[NV] = {-1, -1, 0, 0, 1, 2, 127, 128, 200, 255, 255, 256, 300, -129,
                                    -200, -300, 2147483647.0, 2147483648.0, 3e9, -2147483649.0,
                                    4294967296.0, 4294967297.0, 1e10, I64MIN, I64MIN, I64MIN,
                                    I64MIN, I64MIN, I64MIN, I64MIN};

static bool same_values(am_array *y, const double *want, const char *what)
{
    am_array *w = am_astype(y, AM_DTYPE_FLOAT64);
    if (!w) return false;
    const double *v = am_array_data(w);
    for (int i = 0; i < NV; i++)
        if (v[i] != want[i]) {
            printf("\n  %s: element %d (%g) became %.17g, not %.17g\n", what, i, cast_in[i],
                   v[i], want[i]);
            return false;
        }
    return true;
}

static void test_float_to_int(void)
{
    static const am_dtype to[] = {AM_DTYPE_UINT8, AM_DTYPE_INT8, AM_DTYPE_INT32, AM_DTYPE_INT64};
    const double *want[] = {want_u8, want_i8, want_i32, want_i64};
    am_scope_begin();
    am_array *x64 = tu_array_from(AM_DTYPE_FLOAT64, AM_SHAPE(NV), cast_in, NV);
    am_array *x32 = am_astype(x64, AM_DTYPE_FLOAT32);
    for (int t = 0; t < 4; t++) {
        double w32[NV];
        memcpy(w32, want[t], sizeof(w32));
        /* float32 rounds 2147483647 and 4294967297 up to 2^31 and 2^32 */
        w32[16] = to[t] == AM_DTYPE_INT64 ? 2147483648.0 : to[t] == AM_DTYPE_INT32 ? I32MIN : 0;
        w32[19] = to[t] == AM_DTYPE_INT64 ? -2147483648.0 : w32[19];
        w32[21] = to[t] == AM_DTYPE_INT64 ? 4294967296.0 : w32[21];
        CU_ASSERT(same_values(am_astype(x64, to[t]), want[t], am_dtype_name(to[t])));
        CU_ASSERT(same_values(am_astype(x32, to[t]), w32, am_dtype_name(to[t])));
        /* the bulk conversion files and the dispatcher use */
        am_array *y = am_zeros(AM_SHAPE(NV), to[t]);
        CU_ASSERT_EQUAL(am_dtype_convert(am_array_data(x64), AM_DTYPE_FLOAT64, am_array_ptr(y),
                                         to[t], NV), AM_OK);
        CU_ASSERT(same_values(y, want[t], "am_dtype_convert"));
        /* accumulating (AM_REQ_ADD) into zeros gives the same */
        am_array *z = am_zeros(AM_SHAPE(NV), to[t]);
        CU_ASSERT_EQUAL(tu_run_kernel("Cast", "dtype", am_dtype_name(to[t]), &x64, 1, &z,
                                      AM_REQ_ADD, false), AM_OK);
        CU_ASSERT(same_values(z, want[t], "Cast with AM_REQ_ADD"));
    }
    /* float16 goes through float32: 65504 * 2 is inf */
    am_array *h = am_astype(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 1.5, -1.5, NAN, 131008),
                            AM_DTYPE_FLOAT16);
    TU_ASSERT_VALUES(am_astype(h, AM_DTYPE_INT32), AM_SHAPE(4), 0, 1, -1, I32MIN, I32MIN);
    TU_ASSERT_VALUES(am_astype(h, AM_DTYPE_UINT8), AM_SHAPE(4), 0, 1, 255, 0, 0);
    am_scope_end();
}

/* _full and arange write float values into integer arrays the same way. */
static void test_fill_to_int(void)
{
    am_scope_begin();
    am_array *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_full", NULL, 0, "shape|value|dtype", "(2,)|nan|int32", &y, 1),
                    AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, I32MIN, I32MIN);
    CU_ASSERT_EQUAL(tu_invoke("_full", NULL, 0, "shape|value|dtype", "(2,)|-1|uint8", &y, 1),
                    AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, 255, 255);
    CU_ASSERT_EQUAL(tu_invoke("_full", NULL, 0, "shape|value|dtype", "(2,)|1e10|int32", &y, 1),
                    AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, I32MIN, I32MIN);
    CU_ASSERT_EQUAL(tu_invoke("_full", NULL, 0, "shape|value|dtype", "(2,)|300|uint8", &y, 1),
                    AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, 44, 44);
    am_scope_end();
}

/* uint8 x ** -1 is 1 / x truncated (MXNet: 0 1 0 0 0 0), never x ** 255 (3 ** 255 is 171
 * modulo 256). */
static void test_power_scalar_negative_on_uint8(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_UINT8, AM_SHAPE(6), 0, 1, 2, 3, 200, 255);
    TU_ASSERT_VALUES(am_power_scalar(x, -1), AM_SHAPE(6), 0, 0, 1, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_power_scalar(x, -2.5), AM_SHAPE(6), 0, 0, 1, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_power_scalar(x, 2), AM_SHAPE(6), 0, 0, 1, 4, 9, 64, 1);
    am_array *i = tu_array(AM_DTYPE_INT32, AM_SHAPE(4), 1, -1, 2, -2);
    TU_ASSERT_VALUES(am_power_scalar(i, -1), AM_SHAPE(4), 0, 1, -1, 0, 0);
    /* the scalar of the other ops is DType(scalar), as MXNet's: uint8 -1 is 255 */
    TU_ASSERT_VALUES(am_plus_scalar(x, -1), AM_SHAPE(6), 0, 255, 0, 1, 2, 199, 254);
    TU_ASSERT_VALUES(am_rpower_scalar(tu_array(AM_DTYPE_UINT8, AM_SHAPE(4), 0, 1, 2, 3), -1),
                     AM_SHAPE(4), 0, 1, 255, 1, 255);
    am_scope_end();
}

/* ---- what the graph fuzzer found (tests/fuzz/fuzz_graph.c) ------------------------------ */

/* add_n(y, y, y, y, y) of an arena value y: the plan let the output overwrite y
 * while later inputs still read it (in-place through a repeated input). */
static void test_plan_add_n_repeated_input(void)
{
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4), AM_DTYPE_UINT8);
    am_array *y = am_add_n(((am_array *[]){x, x, x, x, x}), 5);
    am_array *z = am_add_n(((am_array *[]){y, y, y, y, y}), 5);
    am_graph *g = am_graph_create(&z, 1);
    CU_ASSERT_FATAL(g != NULL);
    am_plan *p = am_plan_create(g, NULL);
    CU_ASSERT_FATAL(p != NULL);
    am_array *v = tu_array(AM_DTYPE_UINT8, AM_SHAPE(4), 1, 2, 3, 10);
    CU_ASSERT_EQUAL(am_plan_bind(p, "x", v), AM_OK);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    TU_ASSERT_VALUES(am_plan_output(p, 0), AM_SHAPE(4), 0, 25, 50, 75, 250);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
}

/* Empty inputs (NULL data) through Convolution's backward and reverse's
 * negative strides used to do pointer arithmetic UBSan rejects. */
static void test_empty_and_reversed(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    TU_ASSERT_VALUES(tu_invoke1("reverse", x, "axis", "1"), AM_SHAPE(2, 3), 0, 3, 2, 1, 6, 5, 4);
    am_array *d = am_zeros(AM_SHAPE(1, 0, 3, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_zeros(AM_SHAPE(2, 0, 1, 1), AM_DTYPE_FLOAT32);
    am_array *in[2] = {d, w}, *y = NULL;
    am_attach_grad(d, AM_GRAD_WRITE);
    am_attach_grad(w, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke("Convolution", in, 2, "kernel|num_filter|no_bias", "(1, 1)|2|True",
                              &y, 1), AM_OK);
    am_autograd_end();
    CU_ASSERT(y && am_array_size(y) == 18);
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    CU_ASSERT(am_grad(w) && am_array_size(am_grad(w)) == 0);
    am_scope_end();
}

CU_TestInfo am_tests_limits[] = {
    {"am_shape_check: overflow-safe, also past a zero dimension", test_shape_check},
    {"am_zeros (0, 2^62, 2^62) is refused", test_zeros_hidden_overflow},
    {".npy of shape (0, 2^62, 2^62) is refused", test_npy_hidden_overflow},
    {".params of shape (0, 2^62, 2^62) is refused", test_params_hidden_overflow},
    {"tile, one_hot, repeat, _zeros refuse shapes that overflow", test_ops_refuse_huge_shapes},
    {"graph inference refuses shapes that overflow", test_graph_refuses_huge_shapes},
    {"float -> integer casts as x86, MXNet and NumPy", test_float_to_int},
    {"_full into integers converts the same way", test_fill_to_int},
    {"_power_scalar -1 on uint8 keeps the sign of the exponent",
     test_power_scalar_negative_on_uint8},
    {"a plan's add_n of one value five times (graph fuzzer)", test_plan_add_n_repeated_input},
    {"empty convolutions and reverse (graph fuzzer)", test_empty_and_reversed},
    CU_TEST_INFO_NULL,
};
