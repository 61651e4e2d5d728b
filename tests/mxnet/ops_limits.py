"""Float -> integer casts at their edges and _power_scalar's negative exponent
on uint8 (issue 12, item 8): Amber converts as x86, and so MXNet, does
(tests/test_limits.c holds the exact numbers, NaN and infinities too)."""

CASES = [
    dict(name="cast_to_uint8_wraps", op="Cast", attrs={"dtype": "uint8"}, inputs=[(4, 25)],
         low=-400, high=400),
    dict(name="cast_to_int8_wraps", op="Cast", attrs={"dtype": "int8"}, inputs=[(4, 25)],
         low=-400, high=400),
    dict(name="cast_to_int32_out_of_range", op="Cast", attrs={"dtype": "int32"},
         inputs=[(4, 25)], low=-5e9, high=5e9),
    dict(name="cast_f64_to_int64_out_of_range", op="Cast", attrs={"dtype": "int64"},
         inputs=[(4, 25)], low=-2e19, high=2e19, dtypes={0: "float64"}),
    dict(name="cast_f64_to_uint8_big", op="Cast", attrs={"dtype": "uint8"}, inputs=[(4, 25)],
         low=-3e9, high=3e9, dtypes={0: "float64"}),
    dict(name="power_scalar_uint8_negative", op="_power_scalar", attrs={"scalar": -1},
         inputs=[(4, 16)], int_inputs={0: (0, 256)}, dtypes={0: "uint8"}),
    # an integer op's scalar is DType(scalar), converted the same way
    dict(name="plus_scalar_int32_out_of_range", op="_plus_scalar", attrs={"scalar": 3e9},
         inputs=[(2, 8)], int_inputs={0: (-100, 100)}, dtypes={0: "int32"}),
    dict(name="mul_scalar_uint8_negative", op="_mul_scalar", attrs={"scalar": -3},
         inputs=[(2, 8)], int_inputs={0: (0, 256)}, dtypes={0: "uint8"}),
]
