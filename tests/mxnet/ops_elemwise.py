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
