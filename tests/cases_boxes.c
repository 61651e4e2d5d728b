/* Registry-driven cases for ndarray/ops/boxes.c (detection box ops).  box_nms
 * is the one differentiable op: its cases keep in_format == out_format, since
 * MXNet's gradient (followed here) ignores the output conversion. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64, .index_dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_boxes[] = {
    {.op = "_contrib_box_iou", .shapes = "3,4;5,4", .lo = 0, .hi = 1},
    {.op = "_contrib_box_iou", .attrs = "format=center", .shapes = "2,3,4;4,4", .lo = 0, .hi = 1,
     F64},
    {.op = "_contrib_box_iou", .shapes = "0,4;3,4"},
    {.op = "_contrib_box_nms", .shapes = "6,6", .lo = 0, .hi = 1},
    {.op = "_contrib_box_nms", .attrs = "overlap_thresh=0.1;topk=4", .shapes = "2,5,6", .lo = 0,
     .hi = 1, F64},
    {.op = "_contrib_box_nms", .attrs = "id_index=0;score_index=5;coord_start=1;valid_thresh=0.2",
     .shapes = "7,6", .lo = 0, .hi = 1, F64},
    {.op = "_contrib_box_nms",
     .attrs = "id_index=0;force_suppress=True;in_format=center;out_format=center",
     .shapes = "2,6,6", .lo = 0, .hi = 1, F64},
    {.op = "_contrib_box_nms", .attrs = "topk=0;score_index=0;coord_start=1", .shapes = "2,3,5", F64},
    {.op = "_contrib_box_non_maximum_suppression", .attrs = "in_format=center;out_format=center;"
     "score_index=4;coord_start=0",
     .shapes = "4,5", .lo = 0, .hi = 1},
    {.op = "_contrib_box_nms", .shapes = "0,6"},
    {.op = "_contrib_box_nms", .shapes = "3,0,6"},
    {.op = "_backward_contrib_box_nms", .shapes = "2,4,6;2,4,1", .index_mask = 2, .index_hi = 8},
    {.op = "_backward_contrib_box_nms", .shapes = "3,5;3,1", .index_mask = 2, .index_hi = 3, F64},
    {.op = "_contrib_bipartite_matching", .attrs = "threshold=0.1", .shapes = "4,3", .lo = 0,
     .hi = 1},
    {.op = "_contrib_bipartite_matching", .attrs = "threshold=0.6;is_ascend=True;topk=2",
     .shapes = "2,3,5", .lo = 0, .hi = 1, F64},
    {.op = "_contrib_bipartite_matching", .attrs = "threshold=0", .shapes = "2,0,3"},
    {.op = "_contrib_box_encode", .shapes = "2,5;2,5;2,5,4;2,3,4;4;4", .index_mask = 2,
     .index_hi = 3, .lo = 0.2, .hi = 1},
    {.op = "_contrib_box_encode", .shapes = "1,4;1,4;1,4,4;1,2,4;4;4", .index_mask = 2,
     .index_hi = 2, .lo = 0.2, .hi = 1, F64},
    {.op = "_contrib_box_encode", .shapes = "2,0;2,0;2,0,4;2,3,4;4;4", .index_mask = 2,
     .index_hi = 3},
    {.op = "_contrib_box_decode", .shapes = "2,3,4;1,3,4", .lo = 0.1, .hi = 1},
    {.op = "_contrib_box_decode", .attrs = "std0=0.1;std1=0.1;std2=0.2;std3=0.2;clip=0.5;"
     "format=corner", .shapes = "1,5,4;1,5,4", F64},
    {.op = "_contrib_box_decode", .shapes = "0,3,4;1,3,4"},
    {0}};
