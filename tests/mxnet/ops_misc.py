"""Cases for MXNet 1.x's smaller classic ops (ndarray/ops/misc.c) in `make check-mxnet`
(category op/).  Keys: see docs/check-mxnet.md, "One op at a time".  fill_element_0index
and _onehot_encode are legacy NDArray functions that MXNet's symbol API cannot build
("Not enough argument"), so only tests/test_ops_misc.c checks them; likewise
_contrib_boolean_mask, whose output shape MXNet's symbolic executor cannot infer (Amber
runs it eagerly only)."""

CASES = [
    # batch_take wants int32 indices in MXNet; 5 and -1 are clipped to the row.
    dict(name="batch_take", op="batch_take", inputs=[(4, 3), (4,)], int_inputs={1: (-1, 5)},
         dtypes={1: "int32"}),
    # (MXNet 1.9.1 reads out of bounds for an `a` of more than 2 axes, so no such case.)
    dict(name="choose_element_0index", op="choose_element_0index", inputs=[(5, 4), (5,)],
         int_inputs={1: (-2, 6)}),
    # No _zeros_without_dtype case: MXNet's Python front end accepts no dtype for it
    # (np.dtype(1) fails), and with dtype -1 a lone node's dtype is unknown to MXNet.
    dict(name="index_array", op="_contrib_index_array", inputs=[(2, 3, 4)]),
    dict(name="index_array_axes", op="_contrib_index_array", attrs={"axes": (-1, 0)},
         inputs=[(2, 3, 4)]),
    # Distinct indices: with repeats MXNet's parallel copy leaves the winner unspecified.
    dict(name="index_copy", op="_contrib_index_copy", inputs=[(5, 3), (1,), (1, 3)],
         int_inputs={1: (0, 5)}),
    dict(name="index_copy_int64", op="_contrib_index_copy", inputs=[(6,), (1,), (1,)],
         int_inputs={1: (0, 6)}, dtypes={1: "int64"}),
    dict(name="allclose_far", op="_contrib_allclose", inputs=[(3, 4), (3, 4)]),
    dict(name="allclose_tol", op="_contrib_allclose", attrs={"rtol": 0.5, "atol": 2.5},
         inputs=[(3, 4), (3, 4)]),
    dict(name="histogram_bins", op="_histogram", attrs={"bin_cnt": 5, "range": (-1, 1)},
         inputs=[(4, 6)]),
    dict(name="histogram_partial_range", op="_histogram",
         attrs={"bin_cnt": 3, "range": (-0.5, 0.25)}, inputs=[(20,)]),
    # im2col/col2im: MXNet 1.9.1's CPU kernels take 2-D only (1-D and 3-D fail there).
    dict(name="im2col", op="im2col", attrs={"kernel": (2, 3)}, inputs=[(2, 3, 4, 5)]),
    dict(name="im2col_strided", op="im2col",
         attrs={"kernel": (3, 2), "stride": (2, 1), "dilate": (1, 2), "pad": (1, 1)},
         inputs=[(1, 2, 5, 6)]),
    dict(name="col2im", op="col2im", attrs={"output_size": (4, 5), "kernel": (2, 3)},
         inputs=[(2, 18, 9)]),
    dict(name="col2im_strided", op="col2im",
         attrs={"output_size": (5, 6), "kernel": (3, 2), "stride": (2, 1), "dilate": (1, 2),
                "pad": (1, 1)}, inputs=[(1, 12, 18)]),
    # BatchNorm under other names, in inference (moving statistics); inputs in [0.2, 1.5) keep
    # the variance positive, centred by a moving mean near the data's.  MXNet runs
    # BatchNormWithReLU with MKL-DNN only, on 4-D data.
    dict(name="SyncBatchNorm", op="_contrib_SyncBatchNorm",
         attrs={"key": "bn0", "fix_gamma": False, "eps": 1e-5},
         inputs=[(2, 3, 4, 5), (3,), (3,), (3,), (3,)], low=0.2, high=1.5),
    dict(name="SyncBatchNorm_ndev", op="_contrib_SyncBatchNorm",
         attrs={"key": "bn1", "ndev": 2}, inputs=[(4, 3), (3,), (3,), (3,), (3,)],
         low=0.2, high=1.5),
    dict(name="BatchNormWithReLU", op="_contrib_BatchNormWithReLU",
         attrs={"fix_gamma": False}, inputs=[(2, 3, 4, 5), (3,), (3,), (3,), (3,)],
         low=0.2, high=1.5),
]
