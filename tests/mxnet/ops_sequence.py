"""Sequence op cases for `make check-mxnet` (category op/): SequenceMask,
SequenceLast and SequenceReverse, with and without sequence_length, on either
time axis.  Keys: see docs/check-mxnet.md, "One op at a time"."""

CASES = [
    dict(name="SequenceMask_full", op="SequenceMask", inputs=[(4, 3, 2)]),
    dict(name="SequenceMask_lengths", op="SequenceMask",
         attrs={"use_sequence_length": True, "value": -2.5},
         inputs=[(5, 3, 2), (3,)], int_inputs={1: (0, 7)}),
    dict(name="SequenceMask_axis1", op="SequenceMask",
         attrs={"use_sequence_length": True, "axis": 1},
         inputs=[(4, 6, 3), (4,)], int_inputs={1: (0, 7)}),
    dict(name="SequenceLast_full", op="SequenceLast", inputs=[(4, 3, 2)]),
    dict(name="SequenceLast_lengths", op="SequenceLast", attrs={"use_sequence_length": True},
         inputs=[(5, 3, 2), (3,)], int_inputs={1: (1, 6)}),
    dict(name="SequenceLast_axis1", op="SequenceLast",
         attrs={"use_sequence_length": True, "axis": 1},
         inputs=[(4, 6), (4,)], int_inputs={1: (1, 7)}),
    dict(name="SequenceReverse_full", op="SequenceReverse", inputs=[(4, 3, 2)]),
    dict(name="SequenceReverse_lengths", op="SequenceReverse",
         attrs={"use_sequence_length": True},
         inputs=[(6, 4, 3), (4,)], int_inputs={1: (0, 7)}),
]
