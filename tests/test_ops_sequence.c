/* The ops_sequence suite: SequenceMask, SequenceLast and SequenceReverse against
 * MXNet 1.9.1's outputs for the same inputs, their gradients, and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32

/* x[t, b] = 2 * (t * 3 + b) for 4 steps of 3 sequences, one element each. */
static am_array *steps(void)
{
    return tu_array(F32, AM_SHAPE(4, 3), 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22);
}

static void test_sequence_mask(void)
{
    am_scope_begin();
    am_array *x = steps(), *len = tu_array(F32, AM_SHAPE(3), 1, 4, 2);
    TU_ASSERT_VALUES(am_sequence_mask(x, len, 0, -1), AM_SHAPE(4, 3), 0,
                     0, 2, 4, -1, 8, 10, -1, 14, -1, -1, 20, -1);
    TU_ASSERT_VALUES(am_sequence_mask(x, NULL, 0, -1), AM_SHAPE(4, 3), 0,
                     0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22);
    /* axis 1: (batch, time); lengths past the end mask nothing, 0 masks all, fractions
     * truncate */
    am_array *y = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6);
    am_array *l2 = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 5, 0, 1);
    TU_ASSERT_VALUES(am_sequence_mask(y, l2, 1, 9), AM_SHAPE(3, 2), 0, 1, 2, 9, 9, 5, 9);
    am_array *l3 = tu_array(F32, AM_SHAPE(3), 1.7, 2.2, -1);
    TU_ASSERT_VALUES(am_sequence_mask(y, l3, 1, 0), AM_SHAPE(3, 2), 0, 1, 0, 3, 4, 0, 0);
    TU_ASSERT_FAILS(am_sequence_mask(x, tu_array(F32, AM_SHAPE(2), 1, 1), 0, 0), AM_ERR_SHAPE,
                    "SequenceMask: sequence_length (2,) must be (3,), one length per batch "
                    "entry of data (4, 3) (axis=0)");
    TU_ASSERT_FAILS(am_sequence_mask(x, len, 2, 0), AM_ERR_ARG,
                    "SequenceMask: axis=2 is not supported: the time axis must be 0 or 1");
    TU_ASSERT_FAILS(am_sequence_mask(am_zeros(AM_SHAPE(3), F32), len, 0, 0), AM_ERR_SHAPE,
                    "data (3,) must have at least 2 dimensions");
    am_scope_end();
}

static void test_sequence_last(void)
{
    am_scope_begin();
    am_array *x = steps(), *len = tu_array(F32, AM_SHAPE(3), 1, 4, 2);
    TU_ASSERT_VALUES(am_sequence_last(x, len, 0), AM_SHAPE(3), 0, 0, 20, 10);
    TU_ASSERT_VALUES(am_sequence_last(x, NULL, 0), AM_SHAPE(3), 0, 18, 20, 22);
    /* MXNet: SequenceLast of arange(24).reshape(3, 4, 2), lengths (1, 4, 2), axis 1 */
    am_array *y = am_reshape(am_arange(0, 24, 1, F32), AM_SHAPE(3, 4, 2));
    TU_ASSERT_VALUES(am_sequence_last(y, len, 1), AM_SHAPE(3, 2), 0, 0, 1, 14, 15, 18, 19);
    TU_ASSERT_FAILS(am_sequence_last(x, tu_array(F32, AM_SHAPE(3), 1, 0, 2), 0), AM_ERR_ARG,
                    "SequenceLast: sequence_length[1] = 0 is outside [1, 4]");
    TU_ASSERT_FAILS(am_sequence_last(x, tu_array(F32, AM_SHAPE(3), 1, 5, 2), 0), AM_ERR_ARG,
                    "sequence_length[1] = 5 is outside [1, 4]");
    am_scope_end();
}

static void test_sequence_reverse(void)
{
    am_scope_begin();
    /* MXNet: SequenceReverse of arange(24).reshape(4, 3, 2)[:, :, 0], lengths (1, 4, 2) */
    am_array *x = am_reshape(am_arange(0, 24, 1, F32), AM_SHAPE(4, 3, 2));
    am_array *len = tu_array(F32, AM_SHAPE(3), 1, 4, 2);
    am_array *r = am_sequence_reverse(x, len);
    am_array *first = am_reshape(am_slice_axis(r, 2, 0, 1), AM_SHAPE(4, 3));
    TU_ASSERT_VALUES(first, AM_SHAPE(4, 3), 0, 0, 20, 10, 6, 14, 4, 12, 8, 16, 18, 2, 22);
    am_array *full = am_sequence_reverse(steps(), NULL);
    TU_ASSERT_VALUES(full, AM_SHAPE(4, 3), 0, 18, 20, 22, 12, 14, 16, 6, 8, 10, 0, 2, 4);
    const char *k[] = {"axis"}, *v[] = {"1"};
    am_array *y = NULL;
    TU_ASSERT_STATUS(am_invoke("SequenceReverse", &x, 1, k, v, 1, &y, 1), AM_ERR_ARG,
                     "SequenceReverse: axis=1 is not supported: the time axis must be 0");
    TU_ASSERT_FAILS(am_sequence_reverse(x, tu_array(F32, AM_SHAPE(3), 1, 5, 2)), AM_ERR_ARG,
                    "SequenceReverse: sequence_length[1] = 5 is outside [0, 4]");
    am_scope_end();
}

/* Gradients: masked steps get none, the last step gets all, reversal permutes. */
static void test_sequence_gradients(void)
{
    am_scope_begin();
    am_array *x = am_astype(steps(), AM_DTYPE_FLOAT64);
    am_array *len = tu_array(F32, AM_SHAPE(3), 1, 4, 2);
    am_array *w = am_reshape(am_arange(1, 13, 1, AM_DTYPE_FLOAT64), AM_SHAPE(4, 3));
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_mul(am_sequence_mask(x, len, 0, 5), w), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(4, 3), 0, 1, 2, 3, 0, 5, 6, 0, 8, 0, 0, 11, 0);
    am_autograd_record_begin(true);
    am_array *w3 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 10, 20, 30);
    l = am_sum(am_mul(am_sequence_last(x, len, 0), w3), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(4, 3), 0, 10, 0, 0, 0, 0, 30, 0, 0, 0, 0, 20, 0);
    am_autograd_record_begin(true);
    l = am_sum(am_mul(am_sequence_reverse(x, len), w), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(4, 3), 0, 1, 11, 6, 4, 8, 3, 7, 5, 9, 10, 2, 12);
    am_scope_end();
}

CU_TestInfo am_tests_ops_sequence[] = {
    {"SequenceMask", test_sequence_mask},
    {"SequenceLast", test_sequence_last},
    {"SequenceReverse", test_sequence_reverse},
    {"sequence op gradients", test_sequence_gradients},
    CU_TEST_INFO_NULL,
};
