/* Registry-driven cases for ndarray/ops/multibox.c (SSD's MultiBox ops).  Both
 * are AM_OP_NO_GRAD, as MXNet's gradients of them are zeros. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_multibox[] = {
    {.op = "_contrib_MultiBoxPrior", .shapes = "1,3,2,3"},
    {.op = "_contrib_MultiBoxPrior", .attrs = "sizes=(0.5, 0.25);ratios=(1, 2, 0.5);clip=True",
     .shapes = "2,1,4,4", F64},
    {.op = "_contrib_MultiBoxPrior",
     .attrs = "sizes=[0.3];ratios=[1,3];steps=(0.2, 0.1);offsets=(0.25, 0.75)",
     .shapes = "1,1,3,2"},
    {.op = "_contrib_MultiBoxPrior", .shapes = "0,3,2,2"},
    {.op = "_contrib_MultiBoxDetection", .shapes = "2,3,5;2,20;1,5,4", .lo = 0, .hi = 1},
    {.op = "_contrib_MultiBoxDetection",
     .attrs = "clip=False;threshold=0.3;nms_threshold=0.2;force_suppress=True;nms_topk=3;"
              "variances=(0.2, 0.2, 0.1, 0.1)",
     .shapes = "1,4,6;1,24;1,6,4", .lo = 0, .hi = 1, F64},
    {.op = "_contrib_MultiBoxDetection", .attrs = "nms_threshold=0", .shapes = "1,2,4;1,16;1,4,4",
     .lo = 0, .hi = 1},
    {.op = "_contrib_MultiBoxDetection", .shapes = "0,3,5;0,20;1,5,4"},
    {.op = "_contrib_MultiBoxDetection", .shapes = "2,3,0;2,0;1,0,4"},
    /* Labels: class ids in [0, 3) and random corners; rows of -1 end a batch's labels. */
    {.op = "_contrib_MultiBoxTarget", .shapes = "1,6,4;2,3,5;2,3,6", .lo = 0, .hi = 1},
    {.op = "_contrib_MultiBoxTarget",
     .attrs = "overlap_threshold=0.3;negative_mining_ratio=2;negative_mining_thresh=0.4;"
              "ignore_label=-2;variances=(0.2, 0.2, 0.1, 0.1)",
     .shapes = "1,8,4;1,2,6;1,4,8", .lo = 0, .hi = 1, F64},
    {.op = "_contrib_MultiBoxTarget", .shapes = "1,3,4;0,2,5;0,2,3"},
    {0}};
