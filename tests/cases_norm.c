/* Registry-driven cases for ndarray/ops/norm.c.  The registry and gradcheck suites run
 * them in inference mode.  BatchNorm's moving statistics are marked as index inputs
 * (bits 3 and 4: integer values 0, 1, 2 in the data's dtype), so that the gradient
 * check leaves them alone: they get no gradient, as in MXNet. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define F32 AM_DTYPE_FLOAT32
#define BN_AUX(t) .index_mask = 0x18, .index_hi = 3, .index_dtype = (t)

const am_op_case am_cases_norm[] = {
    {.op = "BatchNorm", .shapes = "2,3,4;3;3;3;3", BN_AUX(F32)},
    {.op = "BatchNorm", .attrs = "fix_gamma=False", .shapes = "2,3,4,5;3;3;3;3", .dtype = F64,
     BN_AUX(F64)},
    {.op = "BatchNorm", .attrs = "axis=-1;fix_gamma=False;eps=1e-05", .shapes = "4,2,3;3;3;3;3",
     .dtype = F64, BN_AUX(F64)},
    {.op = "BatchNorm", .attrs = "fix_gamma=False", .shapes = "5,4;4;4;4;4", .dtype = F64,
     BN_AUX(F64)},
    {.op = "BatchNorm", .shapes = "5,4;4;4;4;4", .dtype = F64, BN_AUX(F64)},
    {.op = "BatchNorm", .attrs = "output_mean_var=True;fix_gamma=False",
     .shapes = "3,2,2;2;2;2;2", .dtype = F64, BN_AUX(F64)},
    {.op = "BatchNorm", .attrs = "use_global_stats=True;momentum=0.5", .shapes = "2,3;3;3;3;3",
     BN_AUX(F32)},
    {.op = "BatchNorm", .attrs = "axis=3;fix_gamma=False", .shapes = "2,2,2,300;300;300;300;300",
     .dtype = F64, BN_AUX(F64)},
    {.op = "BatchNorm", .attrs = "axis=0", .shapes = "3;3;3;3;3", BN_AUX(F32)},
    {.op = "BatchNorm", .shapes = "0,3;3;3;3;3", BN_AUX(F32)},
    {.op = "BatchNorm", .attrs = "fix_gamma=False", .shapes = "1,1;1;1;1;1", BN_AUX(F32)},
    {.op = "BatchNorm",
     .attrs = "cudnn_off=True;min_calib_range=-1.5;max_calib_range=2.0;output_mean_var=True",
     .shapes = "2,2,3;2;2;2;2", BN_AUX(F32)},
    {.op = "_backward_BatchNorm", .shapes = "2,3,4;3;3;2,3,4;3;3;3;3"},
    {.op = "_backward_BatchNorm", .attrs = "fix_gamma=False;axis=-1",
     .shapes = "4,300;300;300;4,300;300;300;300;300", .dtype = F64},
    {.op = "_backward_BatchNorm", .attrs = "fix_gamma=False", .shapes = "0,2;2;2;0,2;2;2;2;2"},

    {.op = "InstanceNorm", .shapes = "2,3,4;3;3"},
    {.op = "InstanceNorm", .attrs = "eps=1e-05", .shapes = "2,2,3,3;2;2", .dtype = F64},
    {.op = "InstanceNorm", .shapes = "1,1,1;1;1"},
    {.op = "InstanceNorm", .shapes = "0,2,3;2;2"},
    {.op = "InstanceNorm", .shapes = "2,3,0;3;3"},
    {.op = "InstanceNorm", .shapes = "2,0,3;0;0"},
    {.op = "_backward_InstanceNorm", .shapes = "2,3,4;2,3,4;3;2,3;2,3", .lo = 0.5, .hi = 1.5},
    {.op = "_backward_InstanceNorm", .shapes = "2,0,3;2,0,3;0;2,0;2,0"},
    {.op = "_backward_InstanceNorm", .attrs = "eps=0.1", .shapes = "1,2,5,2;1,2,5,2;2;1,2;1,2",
     .dtype = F64, .lo = 0.5, .hi = 1.5},

    {.op = "GroupNorm", .shapes = "3,2,2;1;1"},
    {.op = "GroupNorm", .attrs = "num_groups=2", .shapes = "2,4,3;2;2"},
    {.op = "GroupNorm", .attrs = "num_groups=3;eps=0.001", .shapes = "2,6,2,2;3;3", .dtype = F64},
    {.op = "GroupNorm", .attrs = "num_groups=2;output_mean_var=True", .shapes = "2,4,3;2;2"},
    {.op = "GroupNorm", .attrs = "num_groups=1", .shapes = "1,1,1;1;1"},
    {.op = "GroupNorm", .attrs = "num_groups=2", .shapes = "0,2,3;2;2"},
    {.op = "GroupNorm", .shapes = "2,0,3;1;1"},
    {.op = "_backward_GroupNorm", .attrs = "num_groups=2", .shapes = "2,4,3;2,4,3;2;2,2;2,2",
     .lo = 0.5, .hi = 1.5},
    {.op = "_backward_GroupNorm", .shapes = "2,0,3;2,0,3;1;2,1;2,1", .lo = 0.5, .hi = 1.5},
    {.op = "_backward_GroupNorm", .attrs = "num_groups=2;output_mean_var=True",
     .shapes = "2,4,3;2,4,3;2;2,2;2,2;2,2;2,2", .dtype = F64, .lo = 0.5, .hi = 1.5},

    {.op = "L2Normalization", .shapes = "3,4"},
    {.op = "L2Normalization", .attrs = "mode=channel", .shapes = "2,3,4"},
    {.op = "L2Normalization", .attrs = "mode=spatial;eps=1e-05", .shapes = "2,3,2,2",
     .dtype = F64},
    {.op = "L2Normalization", .attrs = "mode=channel", .shapes = "2,3,300", .dtype = F64},
    {.op = "L2Normalization", .shapes = "5"},
    {.op = "L2Normalization", .shapes = "2,3,2"},
    {.op = "L2Normalization", .shapes = "0,3"},
    {.op = "L2Normalization", .shapes = "2,0"},
    {.op = "_backward_L2Normalization", .shapes = "3,4;3,4;3", .lo = 0.5, .hi = 1.5},
    {.op = "_backward_L2Normalization", .attrs = "mode=channel",
     .shapes = "2,3,300;2,3,300;2,1,300", .dtype = F64, .lo = 0.5, .hi = 1.5},
    {.op = "_backward_L2Normalization", .attrs = "mode=spatial", .shapes = "2,3,4;2,3,4;2,3",
     .lo = 0.5, .hi = 1.5},
    {0}};
