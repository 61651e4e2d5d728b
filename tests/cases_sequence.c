/* Registry-driven cases for the sequence ops (ndarray/ops/sequence.c).  Lengths
 * are index inputs, or values in [1, steps + 1) where a length of 0 is an error. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64

const am_op_case am_cases_sequence[] = {
    {.op = "SequenceMask", .shapes = "3,2,4"},
    {.op = "SequenceMask", .attrs = "use_sequence_length=True;value=-1", .shapes = "4,3,2;3",
     .index_mask = 2, .index_hi = 6},
    {.op = "SequenceMask", .attrs = "use_sequence_length=True;axis=1", .shapes = "3,5;3",
     .dtype = F64, .index_mask = 2, .index_hi = 6, .index_dtype = I32},
    {.op = "SequenceMask", .attrs = "use_sequence_length=True;value=7", .shapes = "4,2;2",
     .dtype = I64, .lo = -5, .hi = 5, .index_mask = 2, .index_hi = 5, .index_dtype = I64},
    {.op = "SequenceMask", .attrs = "use_sequence_length=True", .shapes = "0,3;3", .dtype = F64,
     .index_mask = 2, .index_hi = 2},
    {.op = "SequenceLast", .shapes = "3,2,4"},
    {.op = "SequenceLast", .attrs = "use_sequence_length=True", .shapes = "4,3,2;3",
     .dtype = F64, .lo = 1, .hi = 5},
    {.op = "SequenceLast", .attrs = "use_sequence_length=True;axis=1", .shapes = "3,5;3",
     .lo = 1, .hi = 6},
    {.op = "SequenceLast", .attrs = "axis=1", .shapes = "2,3,2", .dtype = I32, .lo = -9, .hi = 9},
    {.op = "SequenceLast", .shapes = "0,0,2", .dtype = F64},
    {.op = "_backward_SequenceLast", .attrs = "shape=(3, 2, 4)", .shapes = "2,4"},
    {.op = "_backward_SequenceLast", .attrs = "use_sequence_length=True;axis=1;shape=(3, 5)",
     .shapes = "3;3", .dtype = F64, .lo = 1, .hi = 6},
    {.op = "SequenceReverse", .shapes = "3,2,4"},
    {.op = "SequenceReverse", .attrs = "use_sequence_length=True", .shapes = "4,3,2;3",
     .dtype = F64, .index_mask = 2, .index_hi = 5},
    {.op = "SequenceReverse", .attrs = "use_sequence_length=True", .shapes = "5,2;2",
     .dtype = I32, .lo = -9, .hi = 9, .index_mask = 2, .index_hi = 6, .index_dtype = I64},
    {.op = "SequenceReverse", .shapes = "0,2", .dtype = F64},
    {0}};
