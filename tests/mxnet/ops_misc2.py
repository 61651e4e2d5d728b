"""Cases for ndarray/ops/hawkes.c and misc2.c in `make check-mxnet` (category op/).  Keys:
see docs/check-mxnet.md, "One op at a time".  _contrib_fft and _contrib_ifft have no case:
MXNet 1.9.1 runs them on the GPU only ("fft is only available for GPU"); tests/test_ops_misc2.c
checks them against the DFT's definition.  _set_value has none either: MXNet's symbol cannot
infer its output's shape (it fills an existing array, out=), and reset_arrays has no outputs
to compare; tests/test_ops_misc2.c checks both (docs/ops-misc2.md)."""
import numpy as np


def _hawkes_domain(inputs):
    """max_time moved past each sequence's last event (the sum of its lags)."""
    out = list(inputs)
    out[7] = inputs[7] + inputs[4].sum(axis=1)
    return out


CASES = [
    # lda, alpha, beta, state, lags in [0.1, 1); marks int32 in [0, K); valid_length in [0, T].
    dict(name="hawkesll", op="_contrib_hawkesll",
         inputs=[(3, 2), (2,), (2,), (3, 2), (3, 5), (3, 5), (3,), (3,)],
         low=0.1, high=1.0, int_inputs={5: (0, 2), 6: (0, 6)}, dtypes={5: "int32"},
         prepare=_hawkes_domain, tol=1e-5),
    dict(name="hawkesll_k4", op="_contrib_hawkesll",
         inputs=[(2, 4), (4,), (4,), (2, 4), (2, 7), (2, 7), (2,), (2,)],
         low=0.1, high=2.0, int_inputs={5: (0, 4), 6: (4, 8)}, dtypes={5: "int32"},
         prepare=_hawkes_domain, tol=1e-5),
    # Inference is the identity; moving_avg (the auxiliary state) only matters to training.
    dict(name="kl_sparse_reg", op="IdentityAttachKLSparseReg", inputs=[(4, 3), (3,)],
         attrs={"sparseness_target": 0.2, "penalty": 0.01}, low=0.1, high=0.9,
         input_keywords=["data", "moving_avg"]),
]
