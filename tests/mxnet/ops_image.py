"""Cases for MXNet 1.x's deterministic image ops (ndarray/ops/image.c) in `make check-mxnet`
(category op/).  Keys: see docs/check-mxnet.md, "One op at a time".  Inputs are float32
(the runner's), in [0, 255] where the op reads pixel values."""

CASES = [
    dict(name="image_to_tensor", op="_image_to_tensor", inputs=[(4, 5, 3)], low=0, high=255),
    dict(name="image_to_tensor_batch", op="_image_to_tensor", inputs=[(2, 3, 4, 1)], low=0,
         high=255),
    dict(name="image_normalize", op="_image_normalize",
         attrs={"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)},
         inputs=[(3, 4, 5)], low=0, high=1),
    dict(name="image_normalize_batch_scalar", op="_image_normalize",
         attrs={"mean": (0.5,), "std": (0.25,)}, inputs=[(2, 1, 3, 4)]),
    # An even width: for an odd one MXNet 1.9.1's CPU kernel swaps column pairs into a
    # fresh output and never writes the middle column (it holds whatever memory held).
    dict(name="image_flip_left_right", op="_image_flip_left_right", inputs=[(4, 6, 3)]),
    dict(name="image_flip_top_bottom", op="_image_flip_top_bottom", inputs=[(4, 5, 3)]),
    dict(name="image_crop", op="_image_crop", attrs={"x": 1, "y": 2, "width": 3, "height": 2},
         inputs=[(5, 4, 3)]),
    dict(name="image_crop_batch", op="_image_crop", attrs={"x": 0, "y": 1, "width": 2, "height": 3},
         inputs=[(2, 4, 3, 1)]),
    dict(name="image_adjust_lighting", op="_image_adjust_lighting",
         attrs={"alpha": (0.1, -0.2, 0.3)}, inputs=[(4, 5, 3)], low=0, high=255),
    dict(name="image_resize_up", op="_image_resize", attrs={"size": (7, 5)},
         inputs=[(3, 4, 3)], low=0, high=255),
    dict(name="image_resize_down", op="_image_resize", attrs={"size": (5, 3)},
         inputs=[(7, 11, 3)], low=0, high=255),
    dict(name="image_resize_half", op="_image_resize", attrs={"size": (3, 2)},
         inputs=[(4, 6, 1)], low=0, high=255),
    dict(name="image_resize_keep_ratio", op="_image_resize", attrs={"size": (4,), "keep_ratio": True},
         inputs=[(2, 6, 9, 3)], low=0, high=255),
    dict(name="image_resize_nearest", op="_image_resize", attrs={"size": (7, 3), "interp": 0},
         inputs=[(5, 4, 3)]),
    # uint8 follows OpenCV's fixed-point arithmetic exactly.
    dict(name="image_resize_up_uint8", op="_image_resize", attrs={"size": (23, 9)},
         inputs=[(6, 5, 3)], dtypes={0: "uint8"}, low=0, high=255, tol=0),
    dict(name="image_resize_down_uint8", op="_image_resize", attrs={"size": (13, 5)},
         inputs=[(11, 29, 3)], dtypes={0: "uint8"}, low=0, high=255, tol=0),
    dict(name="image_resize_half_uint8", op="_image_resize", attrs={"size": (4, 3)},
         inputs=[(2, 6, 8, 3)], dtypes={0: "uint8"}, low=0, high=255, tol=0),
]
