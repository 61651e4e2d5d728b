/* Registry-driven cases for ndarray/ops/optimizer.c.  The registry suite reruns each case
 * on the same inputs, and the update ops change their states in place, so these cases use
 * decays of 0 (momentum, beta1, beta2, gamma1, gamma2), for which the new states do not
 * depend on the old ones, and AdaGrad runs on a zero gradient (input bit 1 as indices in
 * [0, 1)).  The update rules themselves are checked against MXNet in test_optimizer.c. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define F32 AM_DTYPE_FLOAT32
#define ZERO_GRAD(t) .index_mask = 0x2, .index_hi = 1, .index_dtype = (t)

const am_op_case am_cases_optimizer[] = {
    {.op = "sgd_update", .attrs = "lr=0.1", .shapes = "2,3;2,3"},
    {.op = "sgd_update", .attrs = "lr=0.1;wd=0.01;rescale_grad=0.5;clip_gradient=0.3",
     .shapes = "4,5;4,5", .dtype = F64},
    {.op = "sgd_update", .attrs = "lr=0.5;lazy_update=False", .shapes = "0,3;0,3"},
    {.op = "sgd_update", .attrs = "lr=0.5", .shapes = ";"},
    {.op = "sgd_mom_update", .attrs = "lr=0.1;wd=0.01", .shapes = "2,3;2,3;2,3"},
    {.op = "sgd_mom_update", .attrs = "lr=0.1;rescale_grad=2.0;clip_gradient=0.5",
     .shapes = "7;7;7", .dtype = F64},
    {.op = "nag_mom_update", .attrs = "lr=0.1;wd=0.01", .shapes = "2,3;2,3;2,3"},
    {.op = "nag_mom_update", .attrs = "lr=0.2;rescale_grad=0.5;clip_gradient=0.2",
     .shapes = "3,1,2;3,1,2;3,1,2", .dtype = F64},
    {.op = "adam_update", .attrs = "lr=0.01;beta1=0.0;beta2=0.0",
     .shapes = "2,3;2,3;2,3;2,3"},
    {.op = "adam_update",
     .attrs = "lr=0.01;beta1=0.0;beta2=0.0;epsilon=0.001;wd=0.1;rescale_grad=0.5;"
              "clip_gradient=0.25",
     .shapes = "5;5;5;5", .dtype = F64},
    {.op = "rmsprop_update", .attrs = "lr=0.01;gamma1=0.0", .shapes = "2,3;2,3;2,3"},
    {.op = "rmsprop_update",
     .attrs = "lr=0.01;gamma1=0.0;epsilon=0.001;wd=0.1;rescale_grad=0.5;clip_gradient=0.25;"
              "clip_weights=0.5",
     .shapes = "4;4;4", .dtype = F64},
    {.op = "rmspropalex_update", .attrs = "lr=0.01;gamma1=0.0;gamma2=0.0;epsilon=0.01",
     .shapes = "2,3;2,3;2,3;2,3;2,3"},
    {.op = "rmspropalex_update",
     .attrs = "lr=0.01;gamma1=0.0;gamma2=0.0;epsilon=0.1;wd=0.1;rescale_grad=0.5;"
              "clip_gradient=0.25;clip_weights=0.5",
     .shapes = "3;3;3;3;3", .dtype = F64},
    {.op = "_sparse_adagrad_update", .attrs = "lr=0.1;wd=0.01", .shapes = "2,3;2,3;2,3",
     ZERO_GRAD(F32)},
    {.op = "_sparse_adagrad_update",
     .attrs = "lr=0.1;epsilon=0.001;rescale_grad=0.5;clip_gradient=0.25",
     .shapes = "4;4;4", .dtype = F64, ZERO_GRAD(F64)},
    {.op = "_adamw_update", .attrs = "lr=0.01;eta=1.0;beta1=0.0;beta2=0.0",
     .shapes = "2,3;2,3;2,3;2,3;1"},
    {.op = "_adamw_update",
     .attrs = "lr=0.01;eta=0.5;beta1=0.0;beta2=0.0;epsilon=0.001;wd=0.1;clip_gradient=0.25",
     .shapes = "4;4;4;4;1", .dtype = F64},
    {.op = "lamb_update_phase1", .attrs = "beta1=0.0;beta2=0.0;t=1;wd=0.01",
     .shapes = "2,3;2,3;2,3;2,3"},
    {.op = "lamb_update_phase1",
     .attrs = "beta1=0.0;beta2=0.0;epsilon=0.001;t=3;bias_correction=False;wd=0.0;"
              "rescale_grad=0.5;clip_gradient=0.25",
     .shapes = "5;5;5;5", .dtype = F64},
    {.op = "lamb_update_phase2", .attrs = "lr=0.1", .shapes = "2,3;2,3;1;1", .lo = 0.5,
     .hi = 1.5},
    {.op = "lamb_update_phase2", .attrs = "lr=0.1;lower_bound=0.8;upper_bound=1.2",
     .shapes = "4;4;1;1", .dtype = F64, .lo = 0.5, .hi = 1.5},
    {0}};
