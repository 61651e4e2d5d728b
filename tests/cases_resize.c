/* Registry-driven cases for ndarray/ops/resize.c: _contrib_BilinearResize2D in each mode and
 * both corner conventions, _contrib_AdaptiveAvgPooling2D, and their backward ops (cases
 * list ograd, then the forward inputs). */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_resize[] = {
    {.op = "_contrib_BilinearResize2D", .attrs = "height=5;width=7", .shapes = "2,3,3,4"},
    {.op = "_contrib_BilinearResize2D", .attrs = "height=2;width=3;align_corners=False",
     .shapes = "1,2,5,7", F64},
    {.op = "_contrib_BilinearResize2D", .attrs = "height=6;width=5;align_corners=False",
     .shapes = "1,2,3,4", F64},
    {.op = "_contrib_BilinearResize2D", .attrs = "scale_height=1.5;scale_width=0.5",
     .shapes = "1,1,4,6", F64},
    {.op = "_contrib_BilinearResize2D", .attrs = "mode=odd_scale;scale_height=2;scale_width=2",
     .shapes = "1,2,3,4"},
    {.op = "_contrib_BilinearResize2D", .attrs = "mode=like", .shapes = "1,2,3,3;1,5,4,6", F64},
    {.op = "_contrib_BilinearResize2D", .attrs = "mode=to_even_up", .shapes = "2,1,3,5"},
    {.op = "_contrib_BilinearResize2D", .attrs = "mode=to_odd_down;align_corners=False",
     .shapes = "1,1,4,6", F64},
    {.op = "_contrib_BilinearResize2D", .attrs = "mode=to_even_down", .shapes = "1,2,4,4"},
    {.op = "_contrib_BilinearResize2D", .attrs = "mode=to_odd_up", .shapes = "1,1,2,3"},
    {.op = "_contrib_BilinearResize2D", .attrs = "height=1;width=1", .shapes = "1,1,3,3"},
    {.op = "_contrib_BilinearResize2D", .attrs = "height=3;width=2", .shapes = "0,2,4,4"},
    {.op = "_backward_contrib_BilinearResize2D", .attrs = "height=5;width=7",
     .shapes = "2,3,5,7;2,3,3,4"},
    {.op = "_backward_contrib_BilinearResize2D", .attrs = "height=2;width=3;align_corners=False",
     .shapes = "1,2,2,3;1,2,5,7", F64},
    {.op = "_backward_contrib_BilinearResize2D", .attrs = "mode=like",
     .shapes = "1,2,4,6;1,2,3,3;1,5,4,6"},
    {.op = "_contrib_AdaptiveAvgPooling2D", .attrs = "output_size=(2, 4)", .shapes = "2,3,5,7"},
    {.op = "_contrib_AdaptiveAvgPooling2D", .attrs = "output_size=3", .shapes = "1,2,7,5", F64},
    {.op = "_contrib_AdaptiveAvgPooling2D", .shapes = "1,2,3,4", F64},
    {.op = "_contrib_AdaptiveAvgPooling2D", .attrs = "output_size=(5, 6)", .shapes = "1,1,3,4",
     F64},
    {.op = "_contrib_AdaptiveAvgPooling2D", .attrs = "output_size=(2, 2)", .shapes = "0,3,4,4"},
    {.op = "_backward_contrib_AdaptiveAvgPooling2D", .attrs = "output_size=(2, 4)",
     .shapes = "2,3,2,4;2,3,5,7"},
    {.op = "_backward_contrib_AdaptiveAvgPooling2D", .attrs = "output_size=(5, 6)",
     .shapes = "1,1,5,6;1,1,3,4", F64},
    {0}};
