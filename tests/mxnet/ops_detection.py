"""Detection box op cases for check.py's op/ runner (the format is in
docs/check-mxnet.md): GluonCV's SSD, Faster R-CNN and YOLO exports write these.
Boxes are random uniform values, so some are degenerate (xmax < xmin): those
have zero area, as MXNet treats them."""

CASES = [
    dict(name="box_iou", op="_contrib_box_iou", inputs=[(8, 4), (2, 6, 4)], low=-1.0, high=1.0),
    dict(name="box_iou_center", op="_contrib_box_iou", attrs={"format": "center"},
         inputs=[(2, 4, 4), (6, 4)], low=0.0, high=1.0),
    dict(name="box_nms", op="_contrib_box_nms", inputs=[(2, 20, 6)], low=0.0, high=1.0),
    dict(name="box_nms_classes", op="_contrib_box_nms",
         attrs={"id_index": 0, "overlap_thresh": 0.2, "topk": 8, "valid_thresh": 0.3,
                "out_format": "center"},
         inputs=[(3, 16, 6)], low=0.0, high=1.0),
    dict(name="box_nms_force", op="_contrib_box_non_maximum_suppression",
         attrs={"id_index": 5, "score_index": 0, "coord_start": 1, "force_suppress": True,
                "in_format": "center", "background_id": 0},
         inputs=[(12, 6)], low=0.0, high=1.0),
    dict(name="bipartite_matching", op="_contrib_bipartite_matching",
         attrs={"threshold": 0.3}, inputs=[(2, 5, 7)], low=0.0, high=1.0),
    dict(name="bipartite_matching_asc", op="_contrib_bipartite_matching",
         attrs={"threshold": 0.5, "is_ascend": True, "topk": 2}, inputs=[(6, 4)],
         low=0.0, high=1.0),
    # Random corners give some boxes a negative width, and the log of a negative
    # width ratio is NaN, which the runner refuses: the name picks a seed whose
    # draw has 4 positive samples, all with finite targets.
    dict(name="box_encode_164", op="_contrib_box_encode",
         inputs=[(2, 4), (2, 4), (2, 4, 4), (2, 3, 4), (4,), (4,)],
         int_inputs={0: (0, 2), 1: (0, 3)}, low=0.2, high=1.0),
    dict(name="box_decode", op="_contrib_box_decode", inputs=[(2, 5, 4), (1, 5, 4)],
         low=0.1, high=1.0),
    dict(name="box_decode_corner", op="_contrib_box_decode",
         attrs={"std0": 0.1, "std1": 0.1, "std2": 0.2, "std3": 0.2, "clip": 0.3,
                "format": "corner"},
         inputs=[(1, 5, 4), (1, 5, 4)]),
    # SSD: anchors for a feature map (only its shape is read) and detections.
    dict(name="multibox_prior", op="_contrib_MultiBoxPrior",
         attrs={"sizes": (0.5, 0.25), "ratios": (1, 2, 0.5)}, inputs=[(1, 3, 4, 5)]),
    dict(name="multibox_prior_steps", op="_contrib_MultiBoxPrior",
         attrs={"sizes": (0.3,), "ratios": (1, 3), "steps": (0.2, 0.1), "offsets": (0.25, 0.75),
                "clip": True}, inputs=[(2, 1, 3, 2)]),
    dict(name="multibox_detection", op="_contrib_MultiBoxDetection",
         inputs=[(2, 4, 10), (2, 40), (1, 10, 4)], low=0.0, high=1.0),
    dict(name="multibox_detection_topk", op="_contrib_MultiBoxDetection",
         attrs={"clip": False, "threshold": 0.2, "nms_threshold": 0.1, "nms_topk": 4,
                "force_suppress": True, "variances": (0.2, 0.2, 0.1, 0.1)},
         inputs=[(1, 3, 12), (1, 48), (1, 12, 4)], low=0.0, high=1.0),
    # Random labels in [0, 1): class ids are fractions and boxes may be degenerate,
    # which the targets carry through as MXNet computes them.
    dict(name="multibox_target", op="_contrib_MultiBoxTarget",
         inputs=[(1, 12, 4), (2, 3, 5), (2, 4, 12)], low=0.0, high=1.0),
    dict(name="multibox_target_mining", op="_contrib_MultiBoxTarget",
         attrs={"overlap_threshold": 0.2, "negative_mining_ratio": 1.0,
                "negative_mining_thresh": 0.9, "ignore_label": -2},
         inputs=[(1, 20, 4), (2, 4, 6), (2, 3, 20)], low=0.0, high=1.0),
    # rois as integers in [0, 8): batch indices of the 8 images and corners.
    dict(name="roi_align", op="_contrib_ROIAlign",
         attrs={"pooled_size": (2, 3), "spatial_scale": 1.0},
         inputs=[(8, 3, 7, 8), (6, 5)], int_inputs={1: (0, 8)}),
    # (aligned=True is left to tests/test_ops_roi.c: MXNet aborts the process on a
    # roi of no positive size, which random corners give.)
    dict(name="roi_align_ps", op="_contrib_ROIAlign",
         attrs={"pooled_size": (2, 2), "spatial_scale": 0.75, "sample_ratio": 2,
                "position_sensitive": True},
         inputs=[(8, 8, 6, 6), (5, 5)], int_inputs={1: (0, 8)}),
    # Spatial transformer networks.
    dict(name="grid_generator_affine", op="GridGenerator",
         attrs={"transform_type": "affine", "target_shape": (5, 6)}, inputs=[(2, 6)]),
    dict(name="grid_generator_warp", op="GridGenerator", attrs={"transform_type": "warp"},
         inputs=[(2, 2, 4, 5)], low=-3.0, high=3.0),
    dict(name="bilinear_sampler", op="BilinearSampler", inputs=[(2, 3, 6, 7), (2, 2, 4, 5)],
         low=-1.2, high=1.2),
    dict(name="spatial_transformer", op="SpatialTransformer",
         attrs={"target_shape": (4, 5), "transform_type": "affine", "sampler_type": "bilinear"},
         inputs=[(2, 3, 6, 7), (2, 6)]),
    # FlowNet's correlation.
    dict(name="correlation", op="Correlation", inputs=[(2, 3, 6, 7), (2, 3, 6, 7)]),
    dict(name="correlation_strided", op="Correlation",
         attrs={"kernel_size": 3, "max_displacement": 4, "stride1": 2, "stride2": 2,
                "pad_size": 4, "is_multiply": False},
         inputs=[(1, 4, 8, 9), (1, 4, 8, 9)]),
]
