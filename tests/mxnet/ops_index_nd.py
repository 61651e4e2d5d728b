"""gather_nd and scatter_nd cases for `make check-mxnet` (category op/);
integer indices are stored in float32, as MXNet's are.  _scatter_set_nd has
none: MXNet runs it only in place (its output must be lhs), which a bound
one-op symbol is not.  Keys:
see docs/check-mxnet.md, "One op at a time"."""

CASES = [
    dict(name="gather_nd", op="gather_nd", inputs=[(3, 4), (2, 5)], int_inputs={1: (0, 3)}),
    dict(name="gather_nd_blocks", op="gather_nd", inputs=[(4, 3, 2), (1, 2, 3)],
         int_inputs={1: (0, 4)}),
    dict(name="gather_nd_negative", op="gather_nd", inputs=[(3, 4), (2, 6)],
         int_inputs={1: (-3, 3)}),
    dict(name="scatter_nd", op="scatter_nd", attrs={"shape": (3, 4)}, inputs=[(5,), (2, 5)],
         int_inputs={1: (0, 3)}),
    dict(name="scatter_nd_repeated", op="scatter_nd", attrs={"shape": (2, 2)},
         inputs=[(9,), (2, 9)], int_inputs={1: (0, 2)}),
    dict(name="scatter_nd_blocks", op="scatter_nd", attrs={"shape": (4, 3)},
         inputs=[(2, 3), (1, 2)], int_inputs={1: (0, 4)}),
    dict(name="ravel_multi_index", op="ravel_multi_index", attrs={"shape": (3, 4)},
         inputs=[(2, 6)], int_inputs={0: (-1, 5)}),
    dict(name="unravel_index", op="unravel_index", attrs={"shape": (3, 4)},
         inputs=[(7,)], int_inputs={0: (-3, 15)}),
]
