"""3-D (NCDHW) Convolution, Deconvolution and Pooling cases for `make check-mxnet`
(category op/).  Keys: see docs/check-mxnet.md, "One op at a time".

MXNet 1.9.1's CPU build runs 3-D Deconvolution through MKL-DNN only: it refuses
dilate there ("Dilate is not supported in 3d deconvolution") and fails on a
target_shape ("could not create a descriptor for a dilated deconvolution"), so
those are not cases here (Amber computes both; tests/test_ops_conv.c checks
them against naive loops and the gradient check)."""

CASES = [
    dict(name="conv3d", op="Convolution",
         attrs={"kernel": (3, 3, 3), "pad": (1, 1, 1), "num_filter": 4},
         inputs=[(2, 3, 5, 6, 7), (4, 3, 3, 3, 3), (4,)]),
    dict(name="conv3d_stride_dilate_group", op="Convolution",
         attrs={"kernel": (3, 2, 3), "stride": (2, 1, 2), "pad": (1, 0, 1), "dilate": (1, 2, 1),
                "num_filter": 6, "num_group": 2, "no_bias": True, "layout": "NCDHW"},
         inputs=[(2, 4, 5, 6, 7), (6, 2, 3, 2, 3)]),
    dict(name="conv3d_depthwise", op="Convolution",
         attrs={"kernel": (3, 3, 3), "stride": (1, 2, 2), "pad": (1, 1, 1), "num_filter": 3,
                "num_group": 3},
         inputs=[(1, 3, 4, 5, 6), (3, 1, 3, 3, 3), (3,)]),
    dict(name="conv3d_1x1x1", op="Convolution", attrs={"kernel": (1, 1, 1), "num_filter": 5},
         inputs=[(2, 3, 4, 4, 4), (5, 3, 1, 1, 1), (5,)]),
    dict(name="deconv3d", op="Deconvolution",
         attrs={"kernel": (3, 3, 3), "stride": (2, 2, 2), "pad": (1, 1, 1), "adj": (1, 0, 1),
                "num_filter": 4, "no_bias": False},
         inputs=[(2, 3, 3, 4, 5), (3, 4, 3, 3, 3), (4,)]),
    dict(name="deconv3d_group", op="Deconvolution",
         attrs={"kernel": (2, 3, 3), "num_filter": 4, "num_group": 2},
         inputs=[(1, 4, 3, 4, 4), (4, 2, 2, 3, 3)]),
    dict(name="pool3d_max", op="Pooling",
         attrs={"kernel": (3, 3, 2), "stride": (2, 2, 2), "pad": (1, 1, 0), "pool_type": "max"},
         inputs=[(2, 3, 5, 6, 7)]),
    dict(name="pool3d_avg_full", op="Pooling",
         attrs={"kernel": (2, 3, 3), "stride": (2, 2, 2), "pad": (1, 1, 1), "pool_type": "avg",
                "pooling_convention": "full"},
         inputs=[(1, 2, 5, 6, 7)]),
    dict(name="pool3d_avg_exclude_pad", op="Pooling",
         attrs={"kernel": (3, 3, 3), "stride": (2, 2, 2), "pad": (1, 1, 1), "pool_type": "avg",
                "count_include_pad": False, "layout": "NCDHW"},
         inputs=[(1, 2, 5, 6, 7)]),
    dict(name="pool3d_sum", op="Pooling",
         attrs={"kernel": (2, 2, 3), "stride": (1, 2, 2), "pool_type": "sum"},
         inputs=[(1, 2, 4, 5, 6)]),
    dict(name="pool3d_lp2", op="Pooling",
         attrs={"kernel": (2, 2, 2), "stride": (2, 2, 2), "pool_type": "lp", "p_value": 2},
         inputs=[(1, 2, 4, 5, 6)]),
    dict(name="pool3d_global_max", op="Pooling",
         attrs={"kernel": (1, 1, 1), "global_pool": True, "pool_type": "max"},
         inputs=[(2, 3, 3, 4, 5)]),
    dict(name="pool3d_global_avg", op="Pooling",
         attrs={"kernel": (1, 1, 1), "global_pool": True, "pool_type": "avg"},
         inputs=[(2, 3, 3, 4, 5)]),
]
