"""Elementwise op cases for `make check-mxnet` (category op/): unary math,
the `_`-prefixed binary forms that Gluon's F.maximum(a, b) and a > b write,
their _*_scalar forms and the broadcast_* family.  Keys: see
docs/check-mxnet.md, "One op at a time"."""

CASES = [
    # Unary ops, each on a 2-D input, in a range where it is defined.
    dict(name="exp", op="exp", inputs=[(3, 4)]),
    dict(name="log", op="log", inputs=[(3, 4)], low=0.1, high=3.0),
    dict(name="sin", op="sin", inputs=[(2, 3, 4)], low=-3.0, high=3.0),
    dict(name="rsqrt", op="rsqrt", inputs=[(5,)], low=0.2, high=4.0),
    dict(name="erf", op="erf", inputs=[(3, 4)], low=-2.0, high=2.0),
    dict(name="relu", op="relu", inputs=[(4, 5)]),
    dict(name="sigmoid", op="sigmoid", inputs=[(4, 5)], low=-5.0, high=5.0),
    # Binary ops under their _-prefixed names (aliases of elemwise_*).
    dict(name="_plus", op="_plus", inputs=[(3, 4), (3, 4)]),
    dict(name="_Minus", op="_Minus", inputs=[(3, 4), (3, 4)]),
    dict(name="_mul", op="_mul", inputs=[(3, 4), (3, 4)]),
    dict(name="_div", op="_div", inputs=[(3, 4), (3, 4)], low=0.5, high=2.0),
    # Scalar forms.
    dict(name="_rminus_scalar", op="_rminus_scalar", attrs={"scalar": 2.5}, inputs=[(3, 4)]),
    dict(name="_maximum_scalar", op="_maximum_scalar", attrs={"scalar": 0.2}, inputs=[(3, 4)]),
    dict(name="_greater_scalar", op="_greater_scalar", attrs={"scalar": 0.0}, inputs=[(3, 4)]),
    # Broadcasting.
    dict(name="broadcast_maximum", op="broadcast_maximum", inputs=[(3, 1, 4), (1, 5, 4)]),
    dict(name="broadcast_greater", op="broadcast_greater", inputs=[(3, 4), (1, 4)]),
]

# ndarray/ops/math.c: trigonometric, hyperbolic, logarithmic, special and rounding
# functions, each in a range where it is defined and away from its poles.
CASES += [
    dict(name="tan", op="tan", inputs=[(3, 4)], low=-1.2, high=1.2),
    dict(name="arcsin", op="arcsin", inputs=[(3, 4)], low=-0.95, high=0.95),
    dict(name="arccos", op="arccos", inputs=[(3, 4)], low=-0.95, high=0.95),
    dict(name="arctan", op="arctan", inputs=[(3, 4)], low=-4.0, high=4.0),
    dict(name="sinh", op="sinh", inputs=[(3, 4)], low=-3.0, high=3.0),
    dict(name="cosh", op="cosh", inputs=[(3, 4)], low=-3.0, high=3.0),
    dict(name="arcsinh", op="arcsinh", inputs=[(3, 4)], low=-5.0, high=5.0),
    dict(name="arccosh", op="arccosh", inputs=[(3, 4)], low=1.05, high=5.0),
    dict(name="arctanh", op="arctanh", inputs=[(3, 4)], low=-0.95, high=0.95),
    dict(name="log2", op="log2", inputs=[(3, 4)], low=0.1, high=10.0),
    dict(name="log10", op="log10", inputs=[(3, 4)], low=0.1, high=10.0),
    dict(name="cbrt", op="cbrt", inputs=[(3, 4)], low=-8.0, high=8.0),
    dict(name="rcbrt", op="rcbrt", inputs=[(3, 4)], low=0.2, high=8.0),
    dict(name="degrees", op="degrees", inputs=[(3, 4)], low=-3.2, high=3.2),
    dict(name="radians", op="radians", inputs=[(3, 4)], low=-180.0, high=180.0),
    dict(name="gamma", op="gamma", inputs=[(3, 4)], low=0.2, high=5.0),
    dict(name="gamma_negative", op="gamma", inputs=[(3, 4)], low=-2.9, high=-2.1),
    dict(name="gammaln", op="gammaln", inputs=[(3, 4)], low=0.2, high=8.0),
    dict(name="erfinv", op="erfinv", inputs=[(3, 4)], low=-0.99, high=0.99),
    dict(name="trunc", op="trunc", inputs=[(3, 4)], low=-5.0, high=5.0),
    dict(name="fix", op="fix", inputs=[(3, 4)], low=-5.0, high=5.0),
    dict(name="rint", op="rint", inputs=[(3, 4)], low=-5.0, high=5.0),
    # Halves: MXNet's rint takes the lower integer there.
    dict(name="rint_halves", op="rint", inputs=[(4, 5)], int_inputs={0: (-10, 10)}),
    dict(name="logical_not", op="logical_not", inputs=[(4, 5)], int_inputs={0: (-1, 2)}),
    dict(name="hard_sigmoid", op="hard_sigmoid", inputs=[(4, 5)], low=-4.0, high=4.0),
    dict(name="hard_sigmoid_attrs", op="hard_sigmoid", attrs={"alpha": 0.5, "beta": 0.25},
         inputs=[(4, 5)], low=-3.0, high=3.0),
    dict(name="smooth_l1", op="smooth_l1", attrs={"scalar": 1.0}, inputs=[(4, 5)],
         low=-3.0, high=3.0),
    dict(name="smooth_l1_sigma2", op="smooth_l1", attrs={"scalar": 2.0}, inputs=[(4, 5)]),
]

# ndarray/ops/broadcast.c: MXNet's _-prefixed binary forms (equal shapes), and
# the broadcast_hypot / broadcast_logical_* ops; elemwise.c's new scalar forms.
# Logical inputs are integers in {-1, 0, 1} so that zeros occur.
CASES += [
    dict(name="_maximum", op="_maximum", inputs=[(3, 4), (3, 4)]),
    dict(name="_Minimum", op="_Minimum", inputs=[(3, 4), (3, 4)]),
    dict(name="_power", op="_power", inputs=[(3, 4), (3, 4)], low=0.2, high=2.0),
    dict(name="_mod", op="_mod", inputs=[(3, 4), (3, 4)], low=0.5, high=3.0),
    dict(name="_hypot", op="_hypot", inputs=[(3, 4), (3, 4)]),
    dict(name="_equal", op="_equal", inputs=[(4, 5), (4, 5)], int_inputs={0: (0, 3), 1: (0, 3)}),
    dict(name="_not_equal", op="_not_equal", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (0, 3), 1: (0, 3)}),
    dict(name="_greater", op="_greater", inputs=[(3, 4), (3, 4)]),
    dict(name="_greater_equal", op="_greater_equal", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (0, 3), 1: (0, 3)}),
    dict(name="_lesser", op="_lesser", inputs=[(3, 4), (3, 4)]),
    dict(name="_Lesser_Equal", op="_Lesser_Equal", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (0, 3), 1: (0, 3)}),
    dict(name="_logical_and", op="_logical_and", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}),
    dict(name="_logical_or", op="_logical_or", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}),
    dict(name="_logical_xor", op="_logical_xor", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}),
    dict(name="_logical_and_int32", op="_logical_and", inputs=[(4, 5), (4, 5)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}, dtypes={0: "int32", 1: "int32"}),
    dict(name="broadcast_hypot", op="broadcast_hypot", inputs=[(3, 1, 4), (5, 1)]),
    dict(name="broadcast_logical_and", op="broadcast_logical_and", inputs=[(3, 4), (1, 4)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}),
    dict(name="broadcast_logical_or", op="broadcast_logical_or", inputs=[(3, 4), (3, 1)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}),
    dict(name="broadcast_logical_xor", op="broadcast_logical_xor", inputs=[(2, 3, 4), (4,)],
         int_inputs={0: (-1, 2), 1: (-1, 2)}),
    dict(name="_hypot_scalar", op="_hypot_scalar", attrs={"scalar": 0.5}, inputs=[(3, 4)]),
    dict(name="_logical_and_scalar", op="_logical_and_scalar", attrs={"scalar": 1.0},
         inputs=[(4, 5)], int_inputs={0: (-1, 2)}),
    dict(name="_logical_or_scalar_0", op="_logical_or_scalar", attrs={"scalar": 0.0},
         inputs=[(4, 5)], int_inputs={0: (-1, 2)}),
    dict(name="_logical_xor_scalar", op="_logical_xor_scalar", attrs={"scalar": 2.0},
         inputs=[(4, 5)], int_inputs={0: (-1, 2)}),
]

# math.c's contrib ops, nn.c's softmin, and an alias of an op Amber had under
# another name (_grad_add is elemwise_add).  The alias _copyto (_copy) has no
# case: MXNet cannot infer its dtype in a graph, so no graph holds it.
CASES += [
    dict(name="_contrib_round_ste", op="_contrib_round_ste", inputs=[(3, 4)], low=-3.0, high=3.0),
    dict(name="_contrib_sign_ste", op="_contrib_sign_ste", inputs=[(3, 4)]),
    dict(name="_contrib_gradientmultiplier", op="_contrib_gradientmultiplier",
         attrs={"scalar": -1.0}, inputs=[(3, 4)]),
    dict(name="_contrib_quadratic", op="_contrib_quadratic", attrs={"a": 1.5, "b": -2.0, "c": 0.5},
         inputs=[(3, 4)], low=-2.0, high=2.0),
    dict(name="softmin", op="softmin", inputs=[(3, 5)], low=-3.0, high=3.0),
    dict(name="softmin_axis0_temperature", op="softmin", attrs={"axis": 0, "temperature": 2.5},
         inputs=[(4, 3, 2)], low=-3.0, high=3.0),
    dict(name="_grad_add", op="_grad_add", inputs=[(3, 4), (3, 4)]),
    dict(name="_identity_with_attr_like_rhs", op="_identity_with_attr_like_rhs",
         inputs=[(3, 4), (3, 4)]),
]

# eye.c
CASES += [
    dict(name="_eye", op="_eye", attrs={"N": 3, "M": 5, "k": 1}, inputs=[]),
    dict(name="_eye_lower", op="_eye", attrs={"N": 4, "k": -2}, inputs=[]),
]

# MXNet's legacy _v1 ops, which old checkpoints hold: the same attributes,
# defaults and computation as Convolution, Pooling and BatchNorm (aliases;
# MXNet's _v1 forms take only 2-D and 3-D convolutions and 4-D BatchNorm data,
# Amber's take every rank the current ops take).
CASES += [
    dict(name="Convolution_v1", op="Convolution_v1",
         attrs={"kernel": (3, 3), "num_filter": 4, "pad": (1, 1), "stride": (2, 1)},
         inputs=[(2, 3, 7, 6), (4, 3, 3, 3), (4,)]),
    dict(name="Convolution_v1_group_nobias", op="Convolution_v1",
         attrs={"kernel": (3, 2), "num_filter": 4, "num_group": 2, "no_bias": True,
                "dilate": (2, 1)},
         inputs=[(2, 4, 9, 5), (4, 2, 3, 2)]),
    dict(name="Pooling_v1_max", op="Pooling_v1",
         attrs={"kernel": (3, 3), "stride": (2, 2), "pooling_convention": "full"},
         inputs=[(2, 3, 8, 7)]),
    dict(name="Pooling_v1_avg_pad", op="Pooling_v1",
         attrs={"kernel": (3, 3), "pad": (1, 1), "pool_type": "avg"}, inputs=[(2, 3, 6, 5)]),
    dict(name="Pooling_v1_global", op="Pooling_v1",
         attrs={"kernel": (1, 1), "global_pool": True, "pool_type": "avg"}, inputs=[(2, 3, 6, 5)]),
    dict(name="BatchNorm_v1", op="BatchNorm_v1", attrs={"fix_gamma": False, "eps": 1e-3},
         inputs=[(2, 3, 4, 5), (3,), (3,), (3,), (3,)], low=0.5, high=1.5,
         input_keywords=["data", "gamma", "beta", "moving_mean", "moving_var"]),
    dict(name="BatchNorm_v1_fix_gamma", op="BatchNorm_v1",
         inputs=[(2, 3, 4, 2), (3,), (3,), (3,), (3,)], low=0.5, high=1.5,
         input_keywords=["data", "gamma", "beta", "moving_mean", "moving_var"]),
]
