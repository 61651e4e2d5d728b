"""Optimizer op cases for `make check-mxnet` (category op/): the multi-tensor update ops
and the helpers of ndarray/ops/optimizer2.c, run once by MXNet 1.9.1 and by `amber run`
(the new weights are compared; states change in place on both sides).  MXNet's Python
symbol API cannot compose its one-weight update ops ("Not enough argument to call
operator"), nor multi_sgd_mom_update and preloaded_multi_sgd_mom_update (its
FMutateInputs reads the wrong parameter type), and its executor cannot infer the other
multi-tensor updates' output shapes, so those are expected failures here; every update op
is checked against MXNet's own (imperative) trajectories in tests/test_optimizer2.c.
Keys: see docs/check-mxnet.md."""

S = (3, 4)
T = (5,)
NOT_COMPOSABLE = ("MXNet 1.9.1's symbol API cannot compose this update op",
                  r"Not enough argument to call operator")
# MXNet's symbolic shape inference leaves these ops' outputs unknown (infer_shape gives
# None; the executor stops at "Shape is unknown", whose first line is a traceback), so
# only its imperative API runs them.
NO_SYMBOL_SHAPES = ("MXNet 1.9.1's executor cannot infer this multi-tensor op's output shapes",
                    r"Shape is unknown|InferType pass cannot decide dtypes")
MUTATE_BUG = ("MXNet 1.9.1's FMutateInputs of this op reads the wrong parameter type",
              r"stored type mismatch")
LRS = dict(lrs=(0.1, 0.2), wds=(0.05, 0.0), num_weights=2)

CASES = [
    dict(name="multi_sum_sq", op="multi_sum_sq", attrs={"num_arrays": 3},
         inputs=[S, T, (2, 2, 2)]),
    dict(name="all_finite", op="all_finite", inputs=[S]),
    dict(name="multi_all_finite", op="multi_all_finite", attrs={"num_arrays": 2},
         inputs=[S, T]),
    dict(name="multi_lars", op="multi_lars", attrs={"eta": 0.5, "eps": 0.01,
                                                    "rescale_grad": 2.0},
         inputs=[T, T, T, T], low=0.0, high=1.0),
    dict(name="multi_sgd_update", op="multi_sgd_update",
         attrs=dict(LRS, rescale_grad=0.5, clip_gradient=0.3), inputs=[S, S, T, T],
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_mp_sgd_update", op="multi_mp_sgd_update", attrs=LRS,
         inputs=[S, S, S, T, T, T],
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_mp_sgd_mom_update", op="multi_mp_sgd_mom_update",
         attrs=dict(LRS, momentum=0.9), inputs=[S, S, S, S, T, T, T, T],
         xfail=NO_SYMBOL_SHAPES),
    dict(name="preloaded_multi_sgd_update", op="preloaded_multi_sgd_update",
         attrs={"num_weights": 2, "clip_gradient": 0.3}, inputs=[S, S, T, T, (2,), (2,)],
         low=0.0, high=1.0,
         xfail=NO_SYMBOL_SHAPES),
    dict(name="preloaded_multi_mp_sgd_update", op="preloaded_multi_mp_sgd_update",
         attrs={"num_weights": 2}, inputs=[S, S, S, T, T, T, (2,), (2,)],
         xfail=NO_SYMBOL_SHAPES),
    dict(name="preloaded_multi_mp_sgd_mom_update", op="preloaded_multi_mp_sgd_mom_update",
         attrs={"num_weights": 2, "momentum": 0.9},
         inputs=[S, S, S, S, T, T, T, T, (2,), (2,)],
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_adamw_update", op="_multi_adamw_update",
         attrs=dict(LRS, etas=(1.0, 0.5), clip_gradient=0.3),
         inputs=[S, S, S, S, T, T, T, T, (1,)], low=0.1, high=1.0,
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_mp_adamw_update", op="_multi_mp_adamw_update",
         attrs=dict(LRS, etas=(1.0, 0.5)), inputs=[S, S, S, S, S, T, T, T, T, T, (1,)],
         low=0.1, high=1.0,
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_lamb_update", op="_multi_lamb_update",
         attrs=dict(learning_rates=(0.1, 0.2), wds=(0.05, 0.0), step_count=(1, 3),
                    num_tensors=2, lower_bound=0.1, upper_bound=3.0),
         inputs=[S, S, S, S, T, T, T, T], low=0.1, high=1.0,
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_mp_lamb_update", op="_multi_mp_lamb_update",
         attrs=dict(learning_rates=(0.1, 0.2), wds=(0.05, 0.0), step_count=(2, 2),
                    num_tensors=2, bias_correction=False),
         inputs=[S, S, S, S, S, T, T, T, T, T], low=0.1, high=1.0,
         xfail=NO_SYMBOL_SHAPES),
    dict(name="multi_sgd_mom_update", op="multi_sgd_mom_update",
         attrs=dict(LRS, momentum=0.9), inputs=[S, S, S, T, T, T], xfail=MUTATE_BUG),
    dict(name="preloaded_multi_sgd_mom_update", op="preloaded_multi_sgd_mom_update",
         attrs={"num_weights": 2, "momentum": 0.9}, inputs=[S, S, S, T, T, T, (2,), (2,)],
         xfail=MUTATE_BUG),
    dict(name="signsgd_update", op="signsgd_update", attrs={"lr": 0.1}, inputs=[S, S],
         xfail=NOT_COMPOSABLE),
    dict(name="ftrl_update", op="ftrl_update", attrs={"lr": 0.1}, inputs=[S, S, S, S],
         low=0.1, high=1.0, xfail=NOT_COMPOSABLE),
    dict(name="mp_sgd_mom_update", op="mp_sgd_mom_update", attrs={"lr": 0.1, "momentum": 0.9},
         inputs=[S, S, S, S], xfail=NOT_COMPOSABLE),
]
