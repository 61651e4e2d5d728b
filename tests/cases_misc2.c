/* Registry-driven cases for ndarray/ops/fft.c, misc2.c and hawkes.c.  The KL sparse
 * regularizer's gradient op updates its moving average in place and the registry suite
 * reruns each case, so its cases use momentum 0 (the new average does not depend on the
 * old).  Hawkes cases draw lda, alpha, beta and state in [0.1, 1) (intensities stay
 * positive) and the sequence inputs as integers in [0, 3) (K = 3 marks, T = 4), with
 * max_time moved past the last event by prepare. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

/* max_time (input at) += the sum of the lags (input at - 3), so it follows every event. */
static am_status past_last_event(am_array **in, int at)
{
    int axis = 1;
    in[at] = am_broadcast_add(in[at], am_sum(in[at - 3], &axis, 1, false));
    return in[at] ? AM_OK : am_last_status();
}
static am_status hawkes_prep(am_array **in, int n_in) { return past_last_event(in, n_in - 1); }

#define HK_SEQ .lo = 0.1, .hi = 1, .index_hi = 3, .index_dtype = AM_DTYPE_INT32, \
    .prepare = hawkes_prep

const am_op_case am_cases_misc2[] = {
    {.op = "_contrib_fft", .shapes = "3,8"},
    {.op = "_contrib_fft", .shapes = "2,5", F64},
    {.op = "_contrib_fft", .attrs = "compute_size=2", .shapes = "2,1,3,6", F64},
    {.op = "_contrib_fft", .shapes = "3,1", F64},
    {.op = "_contrib_fft", .shapes = "0,4", F64},
    {.op = "_contrib_ifft", .shapes = "3,16"},
    {.op = "_contrib_ifft", .shapes = "2,10", F64},
    {.op = "_contrib_ifft", .attrs = "compute_size=1", .shapes = "1,2,2,14", F64},
    {.op = "_contrib_ifft", .shapes = "2,0", F64},
    {.op = "_set_value", .attrs = "src=2.5", .shapes = NULL},
    {.op = "_set_value", .attrs = "src=-1", .shapes = NULL},
    {.op = "reset_arrays", .attrs = "num_arrays=2", .shapes = "2,3;4"},
    {.op = "reset_arrays", .attrs = "num_arrays=3", .shapes = ";0,2;3", F64},
    {.op = "reset_arrays", .attrs = "num_arrays=1", .shapes = "5", .dtype = AM_DTYPE_INT32},
    {.op = "IdentityAttachKLSparseReg", .shapes = "4,3;3", .lo = 0.1, .hi = 0.9},
    {.op = "IdentityAttachKLSparseReg", .attrs = "sparseness_target=0.2;penalty=0.5",
     .shapes = "2,3,1;3", .lo = 0.1, .hi = 0.9, F64},
    {.op = "IdentityAttachKLSparseReg", .shapes = "0,2;2", F64},
    {.op = "_backward_IdentityAttachKLSparseReg", .attrs = "momentum=0",
     .shapes = "4,3;4,3;3", .lo = 0.1, .hi = 0.9},
    {.op = "_backward_IdentityAttachKLSparseReg",
     .attrs = "momentum=0;penalty=0.3;sparseness_target=0.3", .shapes = "2,5;2,5;5",
     .lo = 0.1, .hi = 0.9, F64},
    {.op = "_contrib_hawkesll", .shapes = "2,3;3;3;2,3;2,4;2,4;2;2", .index_mask = 0xF0,
     HK_SEQ},
    {.op = "_contrib_hawkesll", .shapes = "3,3;3;3;3,3;3,4;3,4;3;3", .index_mask = 0xF0,
     HK_SEQ, F64},
    {.op = "_contrib_hawkesll", .shapes = "0,3;3;3;0,3;0,4;0,4;0;0", .index_mask = 0xF0,
     HK_SEQ, F64},
    {.op = "_contrib_backward_hawkesll", .shapes = "2;2,3;2,3;3;3;2,3;2,4;2,4;2;2",
     .index_mask = 0x3C0, HK_SEQ, F64},
    {0}};
