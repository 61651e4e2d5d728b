"""Op cases for `make check-mxnet` (category op/): the attention, resize, pooling and
normalization ops of helper E's part of issue 11.  Each dict is one single-op graph that
real MXNet 1.9.1 runs and Amber must match; see tests/mxnet/check.py for the keys."""

CASES = [
    # Gluon-NLP/BERT attention: interleaved (L, batch, heads * 3 * head_dim) projections.
    dict(name="selfatt_qk", op="_contrib_interleaved_matmul_selfatt_qk", attrs={"heads": 2},
         inputs=[(5, 3, 24)]),
    dict(name="selfatt_valatt", op="_contrib_interleaved_matmul_selfatt_valatt",
         attrs={"heads": 2}, inputs=[(5, 3, 24), (6, 5, 5)]),
    dict(name="encdec_qk", op="_contrib_interleaved_matmul_encdec_qk", attrs={"heads": 4},
         inputs=[(3, 2, 16), (7, 2, 32)]),
    dict(name="encdec_valatt", op="_contrib_interleaved_matmul_encdec_valatt",
         attrs={"heads": 4}, inputs=[(7, 2, 32), (8, 3, 7)]),
    dict(name="div_sqrt_dim", op="_contrib_div_sqrt_dim", inputs=[(2, 3, 16)]),
    dict(name="arange_like", op="_contrib_arange_like", attrs={"start": 1.5, "step": 0.5},
         inputs=[(3, 4)]),
    dict(name="arange_like_axis", op="_contrib_arange_like",
         attrs={"axis": -1, "repeat": 2, "step": 3}, inputs=[(2, 7)]),
    dict(name="moments", op="moments", attrs={"axes": (0, 2)}, inputs=[(3, 4, 5)]),
    dict(name="moments_keepdims", op="moments", attrs={"axes": (1,), "keepdims": True},
         inputs=[(2, 6, 3)]),
]

CASES += [
    dict(name="bilinear_resize", op="_contrib_BilinearResize2D",
         attrs={"height": 7, "width": 5}, inputs=[(2, 3, 4, 6)]),
    dict(name="bilinear_resize_half_pixel", op="_contrib_BilinearResize2D",
         attrs={"height": 9, "width": 4, "align_corners": False}, inputs=[(1, 2, 5, 6)]),
    dict(name="bilinear_resize_scale", op="_contrib_BilinearResize2D",
         attrs={"scale_height": 1.7, "scale_width": 0.6}, inputs=[(1, 2, 5, 8)]),
    dict(name="bilinear_resize_scale_width_ignored", op="_contrib_BilinearResize2D",
         attrs={"scale_width": 2.0, "height": 3}, inputs=[(1, 1, 4, 4)]),
    dict(name="bilinear_resize_odd_scale", op="_contrib_BilinearResize2D",
         attrs={"mode": "odd_scale", "scale_height": 2.0, "scale_width": 0.5},
         inputs=[(1, 2, 5, 8)]),
    dict(name="bilinear_resize_like", op="_contrib_BilinearResize2D",
         attrs={"mode": "like", "align_corners": False}, inputs=[(1, 2, 3, 5), (1, 1, 6, 4)]),
    dict(name="bilinear_resize_to_odd_up", op="_contrib_BilinearResize2D",
         attrs={"mode": "to_odd_up"}, inputs=[(1, 2, 4, 5)]),
    dict(name="adaptive_avg_pool", op="_contrib_AdaptiveAvgPooling2D",
         attrs={"output_size": (3, 4)}, inputs=[(2, 3, 7, 9)]),
    dict(name="adaptive_avg_pool_up", op="_contrib_AdaptiveAvgPooling2D",
         attrs={"output_size": 5}, inputs=[(1, 2, 3, 4)]),
    dict(name="adaptive_avg_pool_global", op="_contrib_AdaptiveAvgPooling2D",
         inputs=[(2, 4, 5, 5)]),
]

CASES += [
    dict(name="lrn", op="LRN", attrs={"nsize": 5}, inputs=[(2, 7, 4, 4)]),
    dict(name="lrn_strong", op="LRN", attrs={"nsize": 3, "alpha": 0.5, "beta": 0.9,
                                             "knorm": 1.5}, inputs=[(2, 6, 3, 5)], low=-2, high=2),
    dict(name="amp_cast", op="amp_cast", attrs={"dtype": "float32"}, inputs=[(3, 4)]),
    # amp_cast to float64 is not a case: MXNet 1.9.1's oneDNN build fails on it ("unknown
    # type for MKLDNN").
    dict(name="amp_multicast", op="amp_multicast", attrs={"num_outputs": 2},
         inputs=[(3, 4), (5,)]),
    dict(name="roi_pooling", op="ROIPooling",
         attrs={"pooled_size": (2, 3), "spatial_scale": 1.0}, inputs=[(8, 2, 8, 8), (6, 5)],
         int_inputs={1: (0, 8)}),
    dict(name="roi_pooling_scaled", op="ROIPooling",
         attrs={"pooled_size": (3, 3), "spatial_scale": 0.625}, inputs=[(8, 3, 6, 7), (5, 5)],
         int_inputs={1: (0, 8)}),
]

# _contrib_ROIAlign (Mask R-CNN, GluonCV).  Rois with a negative batch index are not cases:
# MXNet 1.9.1 then writes one zero at the wrong place and leaves that roi's output unset.
CASES += [
    dict(name="nn2_roi_align", op="_contrib_ROIAlign",
         attrs={"pooled_size": (2, 3), "spatial_scale": 1.0}, inputs=[(8, 2, 8, 8), (6, 5)],
         int_inputs={1: (0, 8)}),
    dict(name="roi_align_sampled", op="_contrib_ROIAlign",
         attrs={"pooled_size": (3, 3), "spatial_scale": 0.625, "sample_ratio": 2},
         inputs=[(8, 3, 6, 7), (5, 5)], int_inputs={1: (0, 8)}),
    dict(name="roi_align_position_sensitive", op="_contrib_ROIAlign",
         attrs={"pooled_size": (2, 2), "spatial_scale": 1.0, "position_sensitive": True},
         inputs=[(8, 8, 8, 8), (4, 5)], int_inputs={1: (0, 8)}),
]

# _contrib_box_nms (GluonCV detectors end in it): rows [id, score, xmin, ymin, xmax, ymax].
CASES += [
    dict(name="nn2_box_nms", op="_contrib_box_nms", attrs={"overlap_thresh": 0.3},
         inputs=[(2, 20, 6)], low=0, high=1),
    dict(name="box_nms_classes_topk", op="_contrib_box_nms",
         attrs={"overlap_thresh": 0.2, "topk": 6, "id_index": 0, "valid_thresh": 0.5},
         inputs=[(3, 15, 6)], low=0, high=3),
    dict(name="box_nms_background_force", op="_contrib_box_nms",
         attrs={"id_index": 0, "background_id": 1, "force_suppress": True,
                "overlap_thresh": 0.1}, inputs=[(25, 6)], low=0, high=3),
    # Integers everywhere: ids equal background_id, and tied scores test the stable order.
    dict(name="box_nms_integer_ties", op="_contrib_box_nms",
         attrs={"id_index": 0, "background_id": 1, "overlap_thresh": 0.3},
         inputs=[(2, 30, 6)], int_inputs={0: (0, 4)}),
    dict(name="box_nms_center_to_corner", op="_contrib_box_nms",
         attrs={"in_format": "center", "out_format": "corner", "coord_start": 1,
                "score_index": 0, "valid_thresh": 0.1}, inputs=[(2, 12, 5)], low=0, high=1),
    dict(name="box_non_maximum_suppression", op="_contrib_box_non_maximum_suppression",
         attrs={"overlap_thresh": 0.4, "out_format": "center"}, inputs=[(10, 7)],
         low=0, high=1),
]

CASES += [
    # Uniform corners are mostly inverted boxes (IoU 0), so the random cases use centres.
    dict(name="nn2_box_iou", op="_contrib_box_iou", attrs={"format": "center"},
         inputs=[(2, 5, 4), (7, 4)], low=0.2, high=1),
    dict(name="nn2_box_iou_center", op="_contrib_box_iou", attrs={"format": "center"},
         inputs=[(6, 4), (3, 2, 4)], low=0, high=1),
    dict(name="nn2_box_decode", op="_contrib_box_decode", inputs=[(2, 6, 4), (1, 6, 4)],
         low=0, high=1),
    dict(name="box_decode_corner_clip", op="_contrib_box_decode",
         attrs={"std0": 0.1, "std1": 0.1, "std2": 0.2, "std3": 0.2, "clip": 0.1,
                "format": "corner"}, inputs=[(3, 5, 4), (1, 5, 4)]),
]
