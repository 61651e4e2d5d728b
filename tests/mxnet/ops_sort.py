"""Ordering op cases for `make check-mxnet` (category op/): topk, sort,
argsort and reverse/flip.  Inputs of small integers make many ties, which must
come out in MXNet's order (its CPU kernel's std::sort, or std::partial_sort
when k * 8 <= n).  Keys: see docs/check-mxnet.md, "One op at a time"."""

TIES = {0: (0, 4)}

CASES = [
    dict(name="topk_both", op="topk", attrs={"k": 2, "axis": -1, "ret_typ": "both"},
         inputs=[(3, 5)]),
    dict(name="topk_indices_default", op="topk", inputs=[(4, 6)]),
    dict(name="topk_value_axis0_ascend", op="topk",
         attrs={"k": 3, "axis": 0, "ret_typ": "value", "is_ascend": True}, inputs=[(5, 4, 2)]),
    dict(name="topk_mask", op="topk", attrs={"k": 2, "axis": 1, "ret_typ": "mask"},
         inputs=[(2, 6, 3)]),
    dict(name="topk_flat_both", op="topk", attrs={"k": 5, "axis": None, "ret_typ": "both"},
         inputs=[(3, 4)]),
    dict(name="topk_int32_indices", op="topk",
         attrs={"k": 3, "ret_typ": "both", "dtype": "int32"}, inputs=[(2, 9)]),
    # Ties: insertion sort (n <= 16), introsort (n > 16), partial sort (k * 8 <= n).
    dict(name="topk_ties_small", op="topk", attrs={"k": 6, "ret_typ": "both"},
         inputs=[(4, 12)], int_inputs=TIES),
    dict(name="topk_ties_full", op="topk", attrs={"k": 20, "ret_typ": "both", "is_ascend": True},
         inputs=[(3, 90)], int_inputs=TIES),
    dict(name="topk_ties_partial", op="topk", attrs={"k": 7, "ret_typ": "both"},
         inputs=[(3, 100)], int_inputs=TIES),
    dict(name="topk_ties_partial_ascend_axis0", op="topk",
         attrs={"k": 4, "axis": 0, "ret_typ": "indices", "is_ascend": True},
         inputs=[(77, 3)], int_inputs={0: (0, 6)}),
    dict(name="topk_ties_mask", op="topk", attrs={"k": 5, "ret_typ": "mask"},
         inputs=[(2, 50)], int_inputs=TIES),
    dict(name="sort", op="sort", inputs=[(3, 7)]),
    dict(name="sort_desc_axis0", op="sort", attrs={"axis": 0, "is_ascend": False},
         inputs=[(6, 3, 2)]),
    dict(name="sort_flat", op="sort", attrs={"axis": None}, inputs=[(4, 5)]),
    dict(name="argsort", op="argsort", inputs=[(3, 7)]),
    dict(name="argsort_ties", op="argsort", inputs=[(4, 300)], int_inputs={0: (0, 9)}),
    dict(name="argsort_ties_desc", op="argsort", attrs={"is_ascend": False},
         inputs=[(2, 80)], int_inputs={0: (0, 2)}),
    dict(name="argsort_ties_axis1", op="argsort", attrs={"axis": 1, "dtype": "int32"},
         inputs=[(2, 40, 3)], int_inputs=TIES),
    dict(name="argsort_flat_ties", op="argsort", attrs={"axis": None, "is_ascend": False},
         inputs=[(5, 13)], int_inputs=TIES),
    dict(name="reverse", op="reverse", attrs={"axis": (1,)}, inputs=[(3, 4, 2)]),
    dict(name="reverse_two_axes", op="reverse", attrs={"axis": (0, 2)}, inputs=[(3, 4, 2)]),
    dict(name="reverse_axis_twice", op="reverse", attrs={"axis": (1, 0, 1)}, inputs=[(3, 4, 2)]),
    dict(name="flip", op="flip", attrs={"axis": 0}, inputs=[(5, 2)]),
]
