/* Registry-driven cases for the detection ops of issue 11's last batch
 * (ndarray/ops/proposal.c, psroi_pooling.c, deformable_psroi_pooling.c,
 * deformable_conv.c, rroi_align.c).  Proposal's im_info is replaced by
 * real image sizes (a prepare function): random values would make negative
 * heights.  rois are index inputs (integers in [0, index_hi), so every batch
 * index is valid): the gradient check differentiates data only. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64, .index_dtype = AM_DTYPE_FLOAT64

/* im_info rows [48, 64, 1] and [40, 50, 0.5] alternately: the first fills a
 * (3, 4) map at stride 16, the second leaves its last row and column padded. */
static am_status image_info(am_array **in, int n_in)
{
    AM_UNUSED(n_in);
    am_shape s = am_array_shape(in[2]);
    double v[3 * 8];
    for (int64_t i = 0; i < s.dim[0] && i < 8; i++) {
        v[i * 3 + 0] = i % 2 ? 40 : 48, v[i * 3 + 1] = i % 2 ? 50 : 64;
        v[i * 3 + 2] = i % 2 ? 0.5 : 1;
    }
    in[2] = tu_array_from(am_array_dtype(in[0]), s, v, s.dim[0] * 3);
    return in[2] ? AM_OK : am_last_status();
}

/* rois well inside a 6 x 7 map at spatial_scale 1 (cycling through 3 boxes,
 * batch index i % 2): with trans_std 0.1 every sample stays inside the map,
 * where DeformablePSROIPooling's trans gradient is the true derivative. */
static am_status inner_rois(am_array **in, int n_in)
{
    AM_UNUSED(n_in);
    static const double boxes[3][4] = {{1, 1, 3, 4}, {2, 1, 4, 3}, {1, 2, 4, 3}};
    am_shape s = am_array_shape(in[1]);
    double v[5 * 8];
    for (int64_t i = 0; i < s.dim[0] && i < 8; i++) {
        v[i * 5] = (double)(i % 2);
        for (int k = 0; k < 4; k++) v[i * 5 + 1 + k] = boxes[i % 3][k];
    }
    in[1] = tu_array_from(am_array_dtype(in[0]), s, v, s.dim[0] * 5);
    return in[1] ? AM_OK : am_last_status();
}

const am_op_case am_cases_detection2[] = {
    {.op = "_contrib_Proposal", .attrs = "scales=(8,);ratios=(0.5, 1, 2);rpn_post_nms_top_n=6;"
     "rpn_pre_nms_top_n=20", .shapes = "1,6,3,4;1,12,3,4;1,3", .prepare = image_info},
    {.op = "_contrib_Proposal", .attrs = "scales=(4, 8);ratios=(1,);rpn_post_nms_top_n=10;"
     "threshold=0.5;output_score=True;iou_loss=True", .shapes = "1,4,3,4;1,8,3,4;1,3",
     .prepare = image_info, F64},
    {.op = "_contrib_Proposal", .attrs = "scales=(8,);ratios=(1,);rpn_post_nms_top_n=0",
     .shapes = "1,2,3,4;1,4,3,4;1,3", .prepare = image_info},
    {.op = "_contrib_MultiProposal", .attrs = "scales=(8,);ratios=(0.5, 1, 2);"
     "rpn_post_nms_top_n=5;rpn_min_size=8;output_score=True",
     .shapes = "2,6,3,4;2,12,3,4;2,3", .prepare = image_info},
    {.op = "_contrib_MultiProposal", .attrs = "scales=(8, 16);ratios=(1,);rpn_post_nms_top_n=4",
     .shapes = "3,4,3,4;3,8,3,4;3,3", .prepare = image_info, F64},
    {.op = "_contrib_MultiProposal", .attrs = "scales=(8,);ratios=(1,);rpn_post_nms_top_n=4",
     .shapes = "0,2,3,4;0,4,3,4;0,3", .prepare = image_info},
    {.op = "_contrib_PSROIPooling", .attrs = "spatial_scale=1.0;output_dim=2;pooled_size=2",
     .shapes = "3,8,5,5;4,5", .index_mask = 2, .index_hi = 3},
    {.op = "_contrib_PSROIPooling", .attrs = "spatial_scale=0.5;output_dim=1;pooled_size=3;"
     "group_size=2", .shapes = "3,5,6,7;3,5", .index_mask = 2, .index_hi = 3, F64},
    {.op = "_contrib_PSROIPooling", .attrs = "spatial_scale=0.75;output_dim=3;pooled_size=2",
     .shapes = "2,12,4,4;5,5", .index_mask = 2, .index_hi = 2, F64},
    {.op = "_contrib_PSROIPooling", .attrs = "spatial_scale=1.0;output_dim=2;pooled_size=2",
     .shapes = "1,8,4,4;0,5", .index_mask = 2, .index_hi = 1},
    {.op = "_backward__contrib_PSROIPooling", .attrs = "spatial_scale=1.0;output_dim=2;"
     "pooled_size=2", .shapes = "4,2,2,2;4,5;3,8,5,5", .index_mask = 2, .index_hi = 3, F64},
    {.op = "_contrib_DeformablePSROIPooling", .attrs = "spatial_scale=1.0;output_dim=2;"
     "group_size=2;pooled_size=2;trans_std=0.1", .shapes = "2,8,6,7;3,5;3,2,2,2",
     .index_mask = 2, .index_hi = 2, .prepare = inner_rois},
    {.op = "_contrib_DeformablePSROIPooling", .attrs = "spatial_scale=1.0;output_dim=2;"
     "group_size=2;pooled_size=3;part_size=2;sample_per_part=2;trans_std=0.1",
     .shapes = "2,8,6,7;4,5;4,4,2,2", .index_mask = 2, .index_hi = 2, .prepare = inner_rois,
     F64},
    {.op = "_contrib_DeformablePSROIPooling", .attrs = "spatial_scale=1.0;output_dim=2;"
     "group_size=2;pooled_size=2;sample_per_part=2;no_trans=True", .shapes = "2,8,6,7;3,5",
     .index_mask = 2, .index_hi = 2, .prepare = inner_rois, F64},
    {.op = "_contrib_DeformablePSROIPooling", .attrs = "spatial_scale=1.0;output_dim=1;"
     "group_size=1;pooled_size=2;trans_std=0.1", .shapes = "1,1,4,4;0,5;0,2,2,2",
     .index_mask = 2, .index_hi = 1},
    {.op = "_backward__contrib_DeformablePSROIPooling", .attrs = "spatial_scale=1.0;"
     "output_dim=2;group_size=2;pooled_size=2;trans_std=0.1",
     .shapes = "3,2,2,2;2,8,6,7;3,5;3,2,2,2", .index_mask = 4, .index_hi = 2, F64},
    {.op = "_backward__contrib_DeformablePSROIPooling", .attrs = "spatial_scale=1.0;"
     "output_dim=2;group_size=2;pooled_size=2;no_trans=True", .shapes = "3,2,2,2;2,8,6,7;3,5",
     .index_mask = 4, .index_hi = 2},
    {.op = "_contrib_DeformableConvolution", .attrs = "kernel=(3, 3);pad=(1, 1);num_filter=3",
     .shapes = "2,4,5,5;2,18,5,5;3,4,3,3;3"},
    {.op = "_contrib_DeformableConvolution", .attrs = "kernel=(2, 3);stride=(2, 1);"
     "dilate=(1, 2);pad=(1, 1);num_filter=4;num_group=2;num_deformable_group=2;no_bias=True",
     .shapes = "1,4,6,5;1,24,4,3;4,2,2,3", F64},
    {.op = "_contrib_DeformableConvolution", .attrs = "kernel=(3, 3);num_filter=2",
     .shapes = "0,2,4,4;0,18,2,2;2,2,3,3;2"},
    {.op = "_contrib_ModulatedDeformableConvolution", .attrs = "kernel=(3, 3);pad=(1, 1);"
     "num_filter=2", .shapes = "2,2,4,4;2,18,4,4;2,9,4,4;2,2,3,3;2", F64},
    {.op = "_contrib_ModulatedDeformableConvolution", .attrs = "kernel=(1, 2);stride=(1, 2);"
     "num_filter=2;num_deformable_group=2;no_bias=True", .shapes = "1,2,3,4;1,8,3,2;1,4,3,2;2,2,1,2"},
    {.op = "_backward__contrib_DeformableConvolution", .attrs = "kernel=(3, 3);pad=(1, 1);"
     "num_filter=3", .shapes = "2,3,5,5;2,4,5,5;2,18,5,5;3,4,3,3", F64},
    {.op = "_backward__contrib_ModulatedDeformableConvolution", .attrs = "kernel=(3, 3);"
     "pad=(1, 1);num_filter=2;no_bias=True", .shapes = "2,2,4,4;2,2,4,4;2,18,4,4;2,9,4,4;2,2,3,3"},
    {.op = "_contrib_RROIAlign", .attrs = "pooled_size=(2, 3);spatial_scale=1.0",
     .shapes = "3,2,6,7;4,6", .index_mask = 2, .index_hi = 3},
    {.op = "_contrib_RROIAlign", .attrs = "pooled_size=(2, 2);spatial_scale=0.5;"
     "sampling_ratio=2", .shapes = "3,3,5,5;3,6", .index_mask = 2, .index_hi = 3, F64},
    {.op = "_contrib_RROIAlign", .attrs = "pooled_size=(1, 2);spatial_scale=1.0",
     .shapes = "2,2,4,4;0,6", .index_mask = 2, .index_hi = 2},
    {0}};
