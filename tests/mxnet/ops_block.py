"""depth_to_space, space_to_depth, diag, Crop, _split_v2, shape_array and
size_array cases for `make check-mxnet` (category op/).  Keys: see
docs/check-mxnet.md, "One op at a time"."""

CASES = [
    dict(name="depth_to_space", op="depth_to_space", attrs={"block_size": 2},
         inputs=[(2, 8, 2, 3)]),
    dict(name="space_to_depth", op="space_to_depth", attrs={"block_size": 3},
         inputs=[(1, 2, 6, 3)]),
    dict(name="diag", op="diag", inputs=[(3, 4)]),
    dict(name="diag_k1", op="diag", attrs={"k": 1}, inputs=[(4, 3)]),
    dict(name="diag_axes", op="diag", attrs={"k": -1, "axis1": 2, "axis2": 0},
         inputs=[(3, 2, 4)]),
    dict(name="diag_vector", op="diag", attrs={"k": -2}, inputs=[(3,)]),
    dict(name="Crop_h_w", op="Crop", attrs={"num_args": 1, "h_w": (2, 3), "offset": (1, 2)},
         inputs=[(2, 2, 5, 6)]),
    dict(name="Crop_center", op="Crop", attrs={"num_args": 1, "h_w": (3, 2),
                                               "center_crop": True}, inputs=[(1, 2, 6, 5)]),
    dict(name="Crop_like", op="Crop", attrs={"num_args": 2, "offset": (1, 1)},
         inputs=[(1, 3, 5, 6), (2, 2, 3, 4)]),
    dict(name="_split_v2_indices", op="_split_v2", attrs={"indices": (0, 1, 3), "axis": 1},
         inputs=[(2, 5, 3)]),
    dict(name="_split_v2_sections", op="_split_v2",
         attrs={"indices": (), "sections": 3, "axis": 0, "squeeze_axis": True},
         inputs=[(3, 4)]),
    dict(name="shape_array", op="shape_array", inputs=[(2, 3, 4)]),
    dict(name="size_array", op="size_array", inputs=[(2, 3, 4)]),
]
