/* Registry-driven cases for ndarray/ops/misc.c (MXNet 1.x's smaller classic ops). */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64

const am_op_case am_cases_misc[] = {
    {.op = "batch_take", .shapes = "3,4;3", .index_mask = 2, .index_hi = 5,
     .index_dtype = AM_DTYPE_INT32},
    {.op = "batch_take", .shapes = "2,3,4;2,3", .dtype = F64, .index_mask = 2, .index_hi = 4},
    {.op = "batch_take", .shapes = "0,4;0", .index_mask = 2, .index_hi = 4},

    {.op = "choose_element_0index", .shapes = "3,4;3", .index_mask = 2, .index_hi = 5},
    {.op = "choose_element_0index", .shapes = "4,3;4", .dtype = F64, .index_mask = 2,
     .index_hi = 3},
    {.op = "choose_element_0index", .shapes = "0,3;0", .index_mask = 2, .index_hi = 3},

    {.op = "fill_element_0index", .shapes = "3,4;3;3", .index_mask = 4, .index_hi = 5},
    {.op = "fill_element_0index", .shapes = "2,3;2;2", .dtype = F64, .index_mask = 4,
     .index_hi = 3},
    {.op = "fill_element_0index", .shapes = "0,3;0;0", .index_mask = 4, .index_hi = 3},

    {.op = "_onehot_encode", .shapes = "3;3,4", .index_mask = 1, .index_hi = 5},
    {.op = "_onehot_encode", .shapes = "2;2,3", .dtype = F64, .index_mask = 1, .index_hi = 3},
    {.op = "_onehot_encode", .shapes = "0;0,3", .index_mask = 1, .index_hi = 3},

    {.op = "_zeros_without_dtype", .attrs = "shape=(2, 3)", .shapes = NULL},
    {.op = "_zeros_without_dtype", .attrs = "shape=(0, 3);dtype=1", .shapes = NULL},
    {.op = "_zeros_without_dtype", .attrs = "shape=();dtype=6", .shapes = NULL},

    {.op = "_contrib_index_array", .shapes = "2,3"},
    {.op = "_contrib_index_array", .attrs = "axes=(-1, 0)", .shapes = "2,3,2", .dtype = F64},
    {.op = "_contrib_index_array", .shapes = ""},
    {.op = "_contrib_index_array", .attrs = "axes=(1,)", .shapes = "2,0"},

    /* one index each: with repeated indices the last copy wins but, as in MXNet, every
     * new row gets its row's gradient, which a numerical check would not confirm */
    {.op = "_contrib_index_copy", .shapes = "4,3;1;1,3", .index_mask = 2, .index_hi = 4},
    {.op = "_contrib_index_copy", .shapes = "5;1;1", .dtype = F64, .index_mask = 2,
     .index_hi = 5},
    {.op = "_contrib_index_copy", .shapes = "3,2;0;0,2", .index_mask = 2, .index_hi = 3},

    {.op = "_contrib_allclose", .shapes = "2,3;2,3"},
    {.op = "_contrib_allclose", .attrs = "rtol=0.5;atol=2;equal_nan=False", .shapes = "4;4",
     .dtype = F64},
    {.op = "_contrib_allclose", .shapes = ";"},
    {.op = "_contrib_allclose", .shapes = "0,2;0,2"},

    {.op = "_histogram", .attrs = "bin_cnt=4;range=(-1, 1)", .shapes = "3,5"},
    {.op = "_histogram", .attrs = "bin_cnt=3;range=(-0.5, 0.25)", .shapes = "7", .dtype = F64},
    {.op = "_histogram", .attrs = "bin_cnt=2;range=(0, 0)", .shapes = "0"},
    {.op = "_histogram", .shapes = "2,4;1"},
    {.op = "_histogram", .shapes = "6;2", .dtype = F64},
    {.op = "_histogram", .attrs = "bin_cnt=2;range=(0, 1)", .shapes = ""},

    {.op = "_contrib_boolean_mask", .shapes = "4,3;4", .index_mask = 2, .index_hi = 2},
    {.op = "_contrib_boolean_mask", .attrs = "axis=1", .shapes = "2,5,2;5", .dtype = F64,
     .index_mask = 2, .index_hi = 2},
    {.op = "_contrib_boolean_mask", .shapes = "0,3;0", .index_mask = 2, .index_hi = 2},
    {.op = "_backward_contrib_boolean_mask", .shapes = "0,3;4,3;4", .dtype = F64,
     .index_mask = 4, .index_hi = 1},
    {.op = "_backward_contrib_boolean_mask", .attrs = "axis=1", .shapes = "2,0,2;2,5,2;5",
     .index_mask = 4, .index_hi = 1},

    /* h holds integers in [0, 3): out_dim 3 or more keeps them in range; s is marked as
     * an index input too, as it gets no gradient (in MXNet neither) */
    {.op = "_contrib_count_sketch", .attrs = "out_dim=3", .shapes = "2,5;1,5;1,5",
     .index_mask = 6, .index_hi = 3},
    {.op = "_contrib_count_sketch", .attrs = "out_dim=4;processing_batch_size=8",
     .shapes = "2,3,4;1,4;1,4", .dtype = F64, .index_mask = 6, .index_hi = 3,
     .index_dtype = F64},
    {.op = "_contrib_count_sketch", .attrs = "out_dim=3", .shapes = "0,2;1,2;1,2",
     .index_mask = 6, .index_hi = 3},
    {0}};
