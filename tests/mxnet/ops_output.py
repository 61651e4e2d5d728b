"""Module-era output op cases for `make check-mxnet` (category op/): inference
of SoftmaxOutput (Softmax), the regression outputs, SVMOutput, MakeLoss,
make_loss and SoftmaxActivation.  Their gradients (which MXNet computes
from the label, ignoring the head gradient) are checked against MXNet's
numbers in tests/test_ops_output.c.  Keys: see docs/check-mxnet.md."""

CASES = [
    dict(name="SoftmaxOutput", op="SoftmaxOutput", inputs=[(4, 5), (4,)],
         int_inputs={1: (0, 5)}, low=-3.0, high=3.0),
    dict(name="SoftmaxOutput_flat", op="SoftmaxOutput", inputs=[(2, 3, 4), (2, 3)],
         int_inputs={1: (0, 3)}),
    dict(name="SoftmaxOutput_preserve_shape", op="SoftmaxOutput",
         attrs={"preserve_shape": True, "normalization": "valid"},
         inputs=[(2, 3, 4), (2, 3)], int_inputs={1: (0, 4)}),
    dict(name="SoftmaxOutput_multi_output", op="SoftmaxOutput",
         attrs={"multi_output": True, "use_ignore": True, "ignore_label": 2},
         inputs=[(2, 3, 2, 2), (2, 4)], int_inputs={1: (0, 3)}),
    dict(name="SoftmaxOutput_prob_label", op="SoftmaxOutput", attrs={"grad_scale": 2.0},
         inputs=[(3, 4), (3, 4)], low=0.0, high=1.0),
    dict(name="Softmax", op="Softmax", attrs={"smooth_alpha": 0.1}, inputs=[(3, 4), (3,)],
         int_inputs={1: (0, 4)}),
    dict(name="LinearRegressionOutput", op="LinearRegressionOutput", attrs={"grad_scale": 0.5},
         inputs=[(4, 3), (4, 3)]),
    dict(name="LinearRegressionOutput_column", op="LinearRegressionOutput",
         inputs=[(4, 1), (4,)]),
    dict(name="LogisticRegressionOutput", op="LogisticRegressionOutput",
         inputs=[(3, 4), (3, 4)], low=-4.0, high=4.0),
    dict(name="MAERegressionOutput", op="MAERegressionOutput", inputs=[(2, 3, 2), (2, 3, 2)]),
    dict(name="SVMOutput", op="SVMOutput", attrs={"margin": 0.5, "use_linear": True},
         inputs=[(4, 5), (4,)], int_inputs={1: (0, 5)}),
    dict(name="MakeLoss", op="MakeLoss", attrs={"normalization": "valid", "valid_thresh": 0.1},
         inputs=[(3, 4)]),
    dict(name="make_loss", op="make_loss", inputs=[(3, 4)]),
    dict(name="SoftmaxActivation", op="SoftmaxActivation", inputs=[(4, 6)], low=-3.0, high=3.0),
    dict(name="SoftmaxActivation_instance_3d", op="SoftmaxActivation", inputs=[(2, 3, 4)]),
    dict(name="SoftmaxActivation_channel", op="SoftmaxActivation", attrs={"mode": "channel"},
         inputs=[(2, 3, 2, 2)]),
]
