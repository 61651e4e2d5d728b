"""Pad cases for `make check-mxnet` (category op/): constant, edge and reflect
padding of 4-D and 5-D inputs, under both names.  Keys: see
docs/check-mxnet.md, "One op at a time"."""

CASES = [
    dict(name="Pad_constant", op="Pad",
         attrs={"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1), "constant_value": 0.5},
         inputs=[(2, 3, 4, 5)]),
    dict(name="Pad_edge", op="Pad", attrs={"mode": "edge", "pad_width": (0, 0, 0, 0, 3, 1, 0, 2)},
         inputs=[(2, 2, 3, 4)]),
    dict(name="Pad_reflect", op="Pad",
         attrs={"mode": "reflect", "pad_width": (0, 0, 0, 0, 2, 1, 1, 3)}, inputs=[(1, 3, 4, 5)]),
    dict(name="Pad_reflect_5d", op="Pad",
         attrs={"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 1, 0, 2, 2, 1)},
         inputs=[(2, 2, 3, 4, 3)]),
    dict(name="Pad_edge_5d", op="Pad",
         attrs={"mode": "edge", "pad_width": (0, 0, 0, 0, 1, 0, 2, 2, 0, 1)},
         inputs=[(1, 2, 2, 3, 2)]),
    dict(name="pad_constant_5d", op="pad",
         attrs={"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 1, 1, 1, 1, 1)},
         inputs=[(1, 1, 2, 2, 2)]),
]
