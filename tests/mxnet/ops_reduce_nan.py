"""nansum, nanprod, argmax_channel and cumsum (_np_cumsum) cases for `make check-mxnet` (category
op/); the runner's inputs hold no NaN, so these check the reductions and
shapes (tests/test_ops_reduce_nan.c checks NaN against MXNet's values).  Keys:
see docs/check-mxnet.md, "One op at a time"."""

CASES = [
    dict(name="nansum", op="nansum", inputs=[(3, 4)]),
    dict(name="nansum_axis", op="nansum", attrs={"axis": 1}, inputs=[(2, 3, 4)]),
    dict(name="nansum_exclude", op="nansum", attrs={"axis": (0, 2), "exclude": True,
                                                    "keepdims": True}, inputs=[(2, 3, 4)]),
    dict(name="nanprod", op="nanprod", attrs={"axis": -1}, inputs=[(3, 4)], low=0.5, high=1.5),
    dict(name="nanprod_all", op="nanprod", inputs=[(2, 3)], low=0.5, high=1.5),
    dict(name="argmax_channel", op="argmax_channel", inputs=[(4, 6)]),
    dict(name="argmax_channel_3d", op="argmax_channel", inputs=[(2, 5, 3)]),
    dict(name="argmax_channel_ties", op="argmax_channel", inputs=[(6, 7)],
         int_inputs={0: (0, 3)}),
    dict(name="cumsum", op="cumsum", inputs=[(3, 4)]),
    dict(name="cumsum_axis", op="cumsum", attrs={"axis": 1}, inputs=[(2, 3, 4)]),
    dict(name="cumsum_float64", op="cumsum", attrs={"axis": 0, "dtype": "float64"},
         inputs=[(4, 3)]),
]
