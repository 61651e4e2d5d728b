"""Op cases for check.py's op/ runner (the format is in docs/check-mxnet.md):
the detection ops of issue 11's last batch, Faster R-CNN's RPN proposals first.

Proposal's im_info is set to real image sizes by `prepare`; the other inputs are
uniform in [-0.3, 0.3) (scores and deltas).  The cases keep proposals of score
-1 (padded or too small) out of the rpn_pre_nms_top_n best: MXNet sorts with an
unstable sort, so the order among those equal scores is its own."""
import numpy as np


def image_info(*rows):
    def prepare(inputs):
        info = np.array(rows, dtype=np.float32)
        return inputs[:2] + [info] + inputs[3:]
    return prepare


CASES = [
    # A (3, 4) map at stride 16 with 8x-stride anchors, as Faster R-CNN's defaults.
    dict(name="proposal", op="_contrib_Proposal",
         attrs={"scales": (8,), "ratios": (0.5, 1, 2), "rpn_pre_nms_top_n": 30,
                "rpn_post_nms_top_n": 12},
         inputs=[(1, 6, 3, 4), (1, 12, 3, 4), (1, 3)], low=-0.3, high=0.3,
         prepare=image_info([48, 64, 1])),
    # Small anchors over a padded map (the image covers 3 x 4 of its 4 x 5 cells).
    dict(name="proposal_small_scores", op="_contrib_Proposal",
         attrs={"scales": (1, 2), "ratios": (0.5, 2), "feature_stride": 8, "rpn_min_size": 4,
                "rpn_pre_nms_top_n": 24, "rpn_post_nms_top_n": 15, "threshold": 0.4,
                "output_score": True},
         inputs=[(1, 8, 4, 5), (1, 16, 4, 5), (1, 3)], low=-0.3, high=0.3,
         prepare=image_info([24, 32, 1])),
    dict(name="proposal_iou_loss", op="_contrib_Proposal",
         attrs={"scales": (2,), "ratios": (1,), "feature_stride": 8, "rpn_min_size": 2,
                "rpn_pre_nms_top_n": -1, "rpn_post_nms_top_n": 8, "iou_loss": True,
                "output_score": True},
         inputs=[(1, 2, 3, 4), (1, 4, 3, 4), (1, 3)], low=-0.3, high=0.3,
         prepare=image_info([24, 32, 1])),
    dict(name="multi_proposal", op="_contrib_MultiProposal",
         attrs={"scales": (1.5, 3), "ratios": (0.5, 1, 2), "feature_stride": 8,
                "rpn_min_size": 4, "rpn_pre_nms_top_n": 40, "rpn_post_nms_top_n": 10,
                "threshold": 0.5, "output_score": True},
         inputs=[(2, 12, 4, 5), (2, 24, 4, 5), (2, 3)], low=-0.3, high=0.3,
         prepare=image_info([32, 40, 1], [28, 36, 0.5])),
]


# rois: [batch, x1, y1, x2, y2] with corners in [0, 12) image pixels, some
# reversed (a roi of no extent, at least 0.1 wide).
CASES += [
    dict(name="psroi_pooling", op="_contrib_PSROIPooling",
         attrs={"spatial_scale": 0.5, "output_dim": 2, "pooled_size": 3},
         inputs=[(2, 18, 6, 6), (5, 5)], int_inputs={1: (0, 12)},
         prepare=lambda x: [x[0], np.concatenate([x[1][:, :1] % 2, x[1][:, 1:]], 1)]),
    dict(name="psroi_pooling_groups", op="_contrib_PSROIPooling",
         attrs={"spatial_scale": 0.75, "output_dim": 3, "pooled_size": 4, "group_size": 2},
         inputs=[(3, 12, 7, 8), (6, 5)], int_inputs={1: (0, 12)},
         prepare=lambda x: [x[0], np.concatenate([x[1][:, :1] % 3, x[1][:, 1:]], 1)]),
]


def inner_rois(batch, *boxes):
    """rois [i % batch, box i % len(boxes)] replacing input 1."""
    def prepare(inputs):
        r = inputs[1].shape[0]
        rois = np.array([[i % batch] + list(boxes[i % len(boxes)]) for i in range(r)],
                        dtype=np.float32)
        return [inputs[0], rois] + inputs[2:]
    return prepare


# Deformable R-FCN: rois in image pixels at stride 2; offsets uniform in [-1, 1)
# times trans_std.
CASES += [
    dict(name="deformable_psroi_pooling", op="_contrib_DeformablePSROIPooling",
         attrs={"spatial_scale": 0.5, "output_dim": 2, "group_size": 3, "pooled_size": 3,
                "trans_std": 0.1},
         inputs=[(2, 18, 8, 9), (4, 5), (4, 2, 3, 3)],
         prepare=inner_rois(2, (2, 3, 11, 12), (0, 0, 17, 15), (6, 2, 9, 14), (-3, 4, 20, 5))),
    dict(name="deformable_psroi_pooling_parts", op="_contrib_DeformablePSROIPooling",
         attrs={"spatial_scale": 0.5, "output_dim": 4, "group_size": 2, "pooled_size": 4,
                "part_size": 2, "sample_per_part": 2, "trans_std": 0.2},
         inputs=[(2, 16, 8, 9), (3, 5), (3, 4, 2, 2)],
         prepare=inner_rois(2, (2, 3, 11, 12), (0, 0, 17, 15), (6, 2, 9, 14))),
    dict(name="deformable_psroi_pooling_no_trans", op="_contrib_DeformablePSROIPooling",
         attrs={"spatial_scale": 0.5, "output_dim": 2, "group_size": 2, "pooled_size": 2,
                "sample_per_part": 3, "no_trans": True},
         inputs=[(1, 8, 8, 9), (3, 5)],
         prepare=inner_rois(1, (2, 3, 11, 12), (0, 0, 17, 15), (-4, -2, 9, 14))),
]


# Deformable ConvNets v1 and v2: offsets uniform in [-2, 2) pixels move taps
# past the map's border; masks in [-2, 2) as well.
CASES += [
    dict(name="deformable_convolution", op="_contrib_DeformableConvolution",
         attrs={"kernel": (3, 3), "pad": (1, 1), "num_filter": 5},
         inputs=[(2, 4, 6, 7), (2, 18, 6, 7), (5, 4, 3, 3), (5,)], low=-2.0, high=2.0),
    # Large enough for the parallel im2col (over 32768 column entries).
    dict(name="deformable_convolution_large", op="_contrib_DeformableConvolution",
         attrs={"kernel": (3, 3), "pad": (1, 1), "num_filter": 8},
         inputs=[(1, 16, 20, 20), (1, 18, 20, 20), (8, 16, 3, 3), (8,)], low=-2.0, high=2.0),
    dict(name="deformable_convolution_groups", op="_contrib_DeformableConvolution",
         attrs={"kernel": (2, 3), "stride": (2, 1), "dilate": (1, 2), "pad": (1, 2),
                "num_filter": 4, "num_group": 2, "num_deformable_group": 2, "no_bias": True},
         inputs=[(2, 4, 7, 6), (2, 24, 4, 6), (4, 2, 2, 3)], low=-2.0, high=2.0),
    dict(name="modulated_deformable_convolution", op="_contrib_ModulatedDeformableConvolution",
         attrs={"kernel": (3, 3), "pad": (1, 1), "num_filter": 4, "num_deformable_group": 2},
         inputs=[(2, 4, 5, 6), (2, 36, 5, 6), (2, 18, 5, 6), (4, 4, 3, 3), (4,)],
         low=-2.0, high=2.0),
    dict(name="modulated_deformable_convolution_strided",
         op="_contrib_ModulatedDeformableConvolution",
         attrs={"kernel": (3, 2), "stride": (2, 2), "num_filter": 2, "num_group": 2,
                "no_bias": True},
         inputs=[(1, 4, 7, 6), (1, 12, 3, 3), (1, 6, 3, 3), (2, 2, 3, 2)], low=-2.0, high=2.0),
]


def rotated_rois(batch, *rows):
    """rois [i % batch, cx, cy, w, h, degrees] from rows, replacing input 1."""
    def prepare(inputs):
        r = inputs[1].shape[0]
        rois = np.array([[i % batch] + list(rows[i % len(rows)]) for i in range(r)],
                        dtype=np.float32)
        return [inputs[0], rois]
    return prepare


# Rotated RoIAlign (text detection): rois reaching past the map, below 1 pixel
# and at angles past 90 degrees.
CASES += [
    dict(name="rroi_align", op="_contrib_RROIAlign",
         attrs={"pooled_size": (2, 3), "spatial_scale": 0.5},
         inputs=[(2, 3, 8, 9), (5, 6)],
         prepare=rotated_rois(2, (8, 6, 10, 5, 30), (3, 12, 7, 9, -45), (16, 15, 12, 4, 120),
                              (9, 9, 1, 0.5, 10), (0, 0, 8, 6, 200))),
    dict(name="rroi_align_sampling", op="_contrib_RROIAlign",
         attrs={"pooled_size": (3, 3), "spatial_scale": 1.0, "sampling_ratio": 2},
         inputs=[(1, 2, 7, 6), (3, 6)],
         prepare=rotated_rois(1, (3, 3, 4, 5, 15), (2.5, 4, 6, 3, 90), (5, 1, 3, 3, -170))),
]
