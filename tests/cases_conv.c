/* Registry-driven cases for ndarray/ops/conv.c: small shapes (the gradient check runs them
 * all), plus one case per op above the size where the batch is split across threads. */
#include "test_util.h"

const am_op_case am_cases_conv[] = {
    /* Convolution: data; weight[; bias] */
    {.op = "Convolution", .attrs = "kernel=(3, 3);num_filter=2", .shapes = "1,2,5,5;2,2,3,3;2"},
    {.op = "Convolution", .attrs = "kernel=(3, 3);stride=(2, 2);pad=(1, 1);num_filter=3",
     .shapes = "2,2,5,5;3,2,3,3;3"},
    {.op = "Convolution", .attrs = "kernel=(3, 2);dilate=(2, 1);pad=(2, 0);num_filter=2",
     .shapes = "1,2,6,5;2,2,3,2;2", .dtype = AM_DTYPE_FLOAT64},
    {.op = "Convolution", .attrs = "kernel=(3,);num_filter=3;no_bias=True",
     .shapes = "2,2,7;3,2,3"},
    {.op = "Convolution", .attrs = "kernel=(2,);stride=(2,);pad=(1,);dilate=(2,);num_filter=2;"
                                   "layout=NCW", .shapes = "1,3,6;2,3,2;2"},
    {.op = "Convolution", .attrs = "kernel=(2, 2);num_filter=4;num_group=2",
     .shapes = "1,4,4,4;4,2,2,2;4"},
    {.op = "Convolution", .attrs = "kernel=(3, 3);pad=(1, 1);num_filter=3;num_group=3",
     .shapes = "1,3,4,4;3,1,3,3;3"},
    {.op = "Convolution", .attrs = "kernel=(1, 1);num_filter=3", .shapes = "2,2,3,3;3,2,1,1;3",
     .dtype = AM_DTYPE_FLOAT64},
    {.op = "Convolution", .attrs = "kernel=(2, 2);stride=(1, 1);dilate=(1, 1);pad=(0, 0);"
                                   "num_filter=2;num_group=1;no_bias=False;layout=NCHW;"
                                   "cudnn_tune=off;cudnn_off=True;workspace=512",
     .shapes = "1,1,3,3;2,1,2,2;2"},
    {.op = "Convolution", .attrs = "kernel=(3, 3);num_filter=2", .shapes = "0,2,4,4;2,2,3,3;2"},
    {.op = "Convolution", .attrs = "kernel=(3, 3);pad=(1, 1);num_filter=2",
     .shapes = "2,0,4,4;2,0,3,3;2"},
    {.op = "Convolution", .attrs = "kernel=(3, 3);pad=(1, 1);num_filter=16",
     .shapes = "4,8,14,14;16,8,3,3;16"},
    /* _backward_Convolution: out_grad; data; weight[; bias] */
    {.op = "_backward_Convolution", .attrs = "kernel=(3, 3);num_filter=2",
     .shapes = "1,2,3,3;1,2,5,5;2,2,3,3;2"},
    {.op = "_backward_Convolution", .attrs = "kernel=(3,);num_filter=3;no_bias=True",
     .shapes = "2,3,5;2,2,7;3,2,3"},
    {.op = "_backward_Convolution",
     .attrs = "kernel=(3, 3);stride=(2, 2);pad=(1, 1);dilate=(1, 2);num_filter=4;num_group=2",
     .shapes = "1,4,3,2;1,4,5,5;4,2,3,3;4", .dtype = AM_DTYPE_FLOAT64},
    {.op = "_backward_Convolution",
     .attrs = "kernel=(3, 3);stride=(2, 1);pad=(1, 1);num_filter=4;num_group=2",
     .shapes = "1,4,3,5;1,2,5,5;4,1,3,3;4"},
    {.op = "_backward_Convolution", .attrs = "kernel=(1, 1);num_filter=3",
     .shapes = "2,3,3,3;2,2,3,3;3,2,1,1;3"},
    {.op = "_backward_Convolution", .attrs = "kernel=(3, 3);num_filter=2",
     .shapes = "0,2,2,2;0,2,4,4;2,2,3,3;2"},
    {.op = "_backward_Convolution", .attrs = "kernel=(3,);pad=(1,);num_filter=2",
     .shapes = "2,2,4;2,0,4;2,0,3;2"},
    {.op = "_backward_Convolution", .attrs = "kernel=(3, 3);pad=(1, 1);num_filter=16",
     .shapes = "4,16,14,14;4,8,14,14;16,8,3,3;16"},
    /* Deconvolution: data; weight[; bias] */
    {.op = "Deconvolution", .attrs = "kernel=(3, 3);num_filter=2", .shapes = "1,3,4,4;3,2,3,3"},
    {.op = "Deconvolution",
     .attrs = "kernel=(3, 3);stride=(2, 2);pad=(1, 1);adj=(1, 1);num_filter=2;no_bias=False",
     .shapes = "1,2,3,3;2,2,3,3;2"},
    {.op = "Deconvolution", .attrs = "kernel=(4, 4);stride=(2, 2);target_shape=(7, 8);num_filter=1",
     .shapes = "1,2,4,4;2,1,4,4", .dtype = AM_DTYPE_FLOAT64},
    {.op = "Deconvolution", .attrs = "kernel=(3,);stride=(2,);num_filter=2;no_bias=False",
     .shapes = "2,2,5;2,2,3;2"},
    {.op = "Deconvolution", .attrs = "kernel=(2, 2);dilate=(2, 2);num_filter=4;num_group=2",
     .shapes = "1,4,3,3;4,2,2,2"},
    {.op = "Deconvolution", .attrs = "kernel=(3, 3);stride=(2, 2);num_filter=3;num_group=3;"
                                     "no_bias=False", .shapes = "1,6,3,3;6,1,3,3;3"},
    {.op = "Deconvolution", .attrs = "kernel=(3, 3);num_filter=2;no_bias=False",
     .shapes = "2,2,0,3;2,2,3,3;2"},
    {.op = "Deconvolution", .attrs = "kernel=(1, 1);num_filter=3;no_bias=False",
     .shapes = "2,2,3,3;2,3,1,1;3"},
    {.op = "Deconvolution", .attrs = "kernel=(3, 3);stride=(2, 2);pad=(1, 1);num_filter=8",
     .shapes = "4,16,8,8;16,8,3,3"},
    /* _backward_Deconvolution: out_grad; data; weight[; bias] */
    {.op = "_backward_Deconvolution", .attrs = "kernel=(3, 3);num_filter=2",
     .shapes = "1,2,6,6;1,3,4,4;3,2,3,3"},
    {.op = "_backward_Deconvolution",
     .attrs = "kernel=(3, 3);stride=(2, 2);pad=(1, 1);adj=(1, 1);num_filter=2;no_bias=False",
     .shapes = "1,2,6,6;1,2,3,3;2,2,3,3;2"},
    {.op = "_backward_Deconvolution", .attrs = "kernel=(3,);stride=(2,);num_filter=2;"
                                               "num_group=2;no_bias=False",
     .shapes = "2,2,11;2,2,5;2,1,3;2", .dtype = AM_DTYPE_FLOAT64},
    {.op = "_backward_Deconvolution", .attrs = "kernel=(3, 3);stride=(2, 2);num_filter=3;"
                                               "num_group=3;no_bias=False",
     .shapes = "1,3,7,7;1,6,3,3;6,1,3,3;3"},
    {.op = "_backward_Deconvolution", .attrs = "kernel=(3, 3);num_filter=2;no_bias=False",
     .shapes = "2,2,2,5;2,2,0,3;2,2,3,3;2"},
    {.op = "_backward_Deconvolution", .attrs = "kernel=(1, 1);num_filter=3",
     .shapes = "2,3,3,3;2,2,3,3;2,3,1,1"},
    {.op = "_backward_Deconvolution", .attrs = "kernel=(3, 3);stride=(2, 2);pad=(1, 1);"
                                               "num_filter=8",
     .shapes = "4,8,15,15;4,16,8,8;16,8,3,3"},
    {0}};
