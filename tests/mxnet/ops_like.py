"""broadcast_like, broadcast_axis/broadcast_axes, slice_like and
_slice_assign/_slice_assign_scalar cases for `make check-mxnet` (category op/).  Keys: see docs/check-mxnet.md, "One op at a
time"."""

CASES = [
    dict(name="broadcast_like", op="broadcast_like", inputs=[(2, 1, 3), (2, 4, 3)]),
    dict(name="broadcast_like_axes", op="broadcast_like",
         attrs={"lhs_axes": (1,), "rhs_axes": (-1,)}, inputs=[(2, 1, 3), (5, 7)]),
    dict(name="broadcast_axis", op="broadcast_axis", attrs={"axis": (0, 2), "size": (3, 4)},
         inputs=[(1, 2, 1)]),
    dict(name="broadcast_axes", op="broadcast_axes", attrs={"axis": 1, "size": 5},
         inputs=[(2, 1)]),
    dict(name="slice_like", op="slice_like", inputs=[(3, 4, 5), (2, 3, 4)]),
    dict(name="slice_like_axes", op="slice_like", attrs={"axes": (0, -1)},
         inputs=[(3, 4, 5), (1, 2, 2)]),
    dict(name="_slice_assign", op="_slice_assign",
         attrs={"begin": (1, None), "end": (None, -1)}, inputs=[(4, 5), (3, 4)]),
    dict(name="_crop_assign_step", op="_crop_assign",
         attrs={"begin": (None, 0), "end": (None, 5), "step": (-2, 2)}, inputs=[(5, 5), (3, 3)]),
    dict(name="_slice_assign_scalar", op="_slice_assign_scalar",
         attrs={"scalar": 2.5, "begin": (1,), "end": (3,)}, inputs=[(4, 3)]),
]
