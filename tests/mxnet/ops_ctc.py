"""CTCLoss cases for check.py's op/ runner (the format is in docs/check-mxnet.md)."""

CASES = [
    # Blank first: labels 1..C-1, no padding; every label fits its 10 frames.
    dict(name="ctc_loss", op="CTCLoss", inputs=[(10, 3, 5), (3, 4)], int_inputs={1: (1, 5)},
         low=-2.0, high=2.0),
    # Blank last (Gluon's): labels 0..C-2.
    dict(name="ctc_loss_blank_last", op="ctc_loss", attrs={"blank_label": "last"},
         inputs=[(8, 2, 4), (2, 3)], int_inputs={1: (0, 3)}, low=-2.0, high=2.0),
]
