/* Registry-driven cases for ndarray/ops/matrix.c: dot, batch_dot, FullyConnected.
 * They cover every BLAS path (dot, gemv on either side, gemm), each transpose,
 * vectors, N-D inputs, size-0 dimensions (a size-0 k gives zeros) and both dtypes. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64

const am_op_case am_cases_matrix[] = {
    /* dot: matrices, every transpose */
    {.op = "dot", .shapes = "2,3;3,4"},
    {.op = "dot", .attrs = "transpose_a=True", .shapes = "3,2;3,4"},
    {.op = "dot", .attrs = "transpose_b=True", .shapes = "2,3;4,3"},
    {.op = "dot", .attrs = "transpose_a=True;transpose_b=True", .shapes = "3,2;4,3"},
    {.op = "dot", .attrs = "forward_stype=default", .shapes = "5,6;6,7", .dtype = F64},
    {.op = "dot", .shapes = "1,1;1,1"},
    /* vectors: inner product (shape (1,)) and gemv on either side */
    {.op = "dot", .shapes = "5;5"},
    {.op = "dot", .shapes = "7;7", .dtype = F64},
    {.op = "dot", .shapes = "3;3,4"},
    {.op = "dot", .shapes = "2,3;3"},
    {.op = "dot", .attrs = "transpose_a=True", .shapes = "3,2;3"},
    {.op = "dot", .attrs = "transpose_b=True", .shapes = "3;4,3"},
    {.op = "dot", .attrs = "transpose_a=True", .shapes = "3;3,4"},
    /* N-D */
    {.op = "dot", .shapes = "2,3,4;4,5"},
    {.op = "dot", .shapes = "2,3,4;4,2,5", .dtype = F64},
    {.op = "dot", .attrs = "transpose_a=True", .shapes = "4,2,3;4,5"},
    {.op = "dot", .attrs = "transpose_b=True", .shapes = "2,3,4;5,6,4"},
    {.op = "dot", .attrs = "transpose_a=True;transpose_b=True", .shapes = "4,2,3;2,5,4"},
    /* size 0: k (zeros), m, n */
    {.op = "dot", .shapes = "2,0;0,3"},
    {.op = "dot", .shapes = "0;0"},
    {.op = "dot", .shapes = "0,3;3,4"},
    {.op = "dot", .attrs = "transpose_b=True", .shapes = "2,3;0,3"},

    /* batch_dot */
    {.op = "batch_dot", .shapes = "2,3,4;2,4,5"},
    {.op = "batch_dot", .attrs = "transpose_a=True", .shapes = "2,4,3;2,4,5"},
    {.op = "batch_dot", .attrs = "transpose_b=True", .shapes = "2,3,4;2,5,4", .dtype = F64},
    {.op = "batch_dot", .attrs = "transpose_a=True;transpose_b=True", .shapes = "3,4,3;3,5,4"},
    {.op = "batch_dot", .shapes = "2,3,2,4;2,3,4,5"},
    {.op = "batch_dot", .shapes = "1,1,1;1,1,1"},
    {.op = "batch_dot", .shapes = "4,1,6;4,6,3"},
    {.op = "batch_dot", .shapes = "4,3,6;4,6,1"},
    {.op = "batch_dot", .shapes = "130,8,8;130,8,8"}, /* parallel over the batch */
    {.op = "batch_dot", .shapes = "2,3,0;2,0,4"},
    {.op = "batch_dot", .shapes = "0,3,4;0,4,5"},

    /* FullyConnected */
    {.op = "FullyConnected", .attrs = "num_hidden=4", .shapes = "3,5;4,5;4"},
    {.op = "FullyConnected", .attrs = "num_hidden=4;no_bias=True", .shapes = "3,5;4,5"},
    {.op = "FullyConnected", .attrs = "num_hidden=5", .shapes = "2,3,4;5,12;5", .dtype = F64},
    {.op = "FullyConnected", .attrs = "num_hidden=5;flatten=False", .shapes = "2,3,4;5,4;5"},
    {.op = "FullyConnected", .attrs = "num_hidden=5;flatten=False;no_bias=True",
     .shapes = "2,3,4;5,4"},
    {.op = "FullyConnected", .attrs = "num_hidden=4", .shapes = "3,5;4,5;4,1"},
    {.op = "FullyConnected", .attrs = "num_hidden=4", .shapes = "1,5;4,5;4"},
    {.op = "FullyConnected", .attrs = "num_hidden=1", .shapes = "3,5;1,5;1"},
    {.op = "FullyConnected", .attrs = "num_hidden=1", .shapes = "1,5;1,5;1", .dtype = F64},
    {.op = "FullyConnected", .attrs = "num_hidden=4", .shapes = "3;4,1;4"},
    {.op = "FullyConnected", .attrs = "num_hidden=4;flatten=False", .shapes = "5;4,5;4"},
    {.op = "FullyConnected", .attrs = "num_hidden=4", .shapes = "3,0;4,0;4"},
    {.op = "FullyConnected", .attrs = "num_hidden=4;no_bias=True", .shapes = "3,0;4,0"},
    {.op = "FullyConnected", .attrs = "num_hidden=4", .shapes = "0,5;4,5;4"},
    {.op = "FullyConnected", .attrs = "num_hidden=300", .shapes = "200,64;300,64;300"},
    {0}};
