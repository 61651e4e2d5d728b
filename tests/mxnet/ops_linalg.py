"""Op cases for MXNet's linalg family (ndarray/ops/linalg.c), run by MXNet
and by `amber run` (docs/check-mxnet.md, "One op at a time").  Inputs outside
an op's domain go through `prepare`: symmetric positive definite matrices for
potrf, symmetric ones for syevd, well-conditioned ones for inverse and the
determinants; the triangular solves and sumlogdiag draw from [1, 2)."""
import numpy as np


def spd(arrays):
    a = arrays[0].astype(np.float64)
    n = a.shape[-1]
    return [a @ np.swapaxes(a, -1, -2) + n * np.eye(n)]


def symmetric(arrays):
    a = arrays[0]
    return [a + np.swapaxes(a, -1, -2)]


def wellcond(arrays):
    a = arrays[0]
    return [a + 2 * np.eye(a.shape[-1], dtype=a.dtype)]


CASES = [
    dict(name="linalg_gemm", op="linalg_gemm", inputs=[(2, 3), (3, 4), (2, 4)],
         attrs={"alpha": 2.0, "beta": 0.5}),
    dict(name="linalg_gemm_tt_batch", op="linalg_gemm", inputs=[(2, 3, 2), (2, 4, 3), (2, 2, 4)],
         attrs={"transpose_a": True, "transpose_b": True}),
    dict(name="linalg_gemm_axis0", op="linalg_gemm", inputs=[(2, 5, 3), (3, 5, 4), (2, 5, 4)],
         attrs={"axis": 0}),
    dict(name="linalg_gemm2", op="linalg_gemm2", inputs=[(2, 2, 3), (2, 3, 4)],
         attrs={"alpha": -1.5}),
    dict(name="linalg_gemm2_tb_axis", op="linalg_gemm2", inputs=[(2, 5, 3), (4, 5, 3)],
         attrs={"axis": -3, "transpose_b": True}),
    dict(name="linalg_potrf", op="linalg_potrf", inputs=[(2, 3, 3)], prepare=spd),
    dict(name="linalg_potrf_upper", op="linalg_potrf", inputs=[(4, 4)], prepare=spd,
         attrs={"lower": False}),
    dict(name="linalg_potri", op="linalg_potri", inputs=[(2, 3, 3)], low=1, high=2),
    dict(name="linalg_potri_upper", op="linalg_potri", inputs=[(3, 3)], low=1, high=2,
         attrs={"lower": False}),
    dict(name="linalg_trmm", op="linalg_trmm", inputs=[(2, 3, 3), (2, 3, 4)],
         attrs={"alpha": 2.0}),
    dict(name="linalg_trmm_right_upper_t", op="linalg_trmm", inputs=[(3, 3), (2, 3)],
         attrs={"rightside": True, "lower": False, "transpose": True}),
    dict(name="linalg_trsm", op="linalg_trsm", inputs=[(2, 3, 3), (2, 3, 4)], low=1, high=2),
    dict(name="linalg_trsm_right_t", op="linalg_trsm", inputs=[(3, 3), (2, 3)], low=1, high=2,
         attrs={"rightside": True, "transpose": True, "alpha": 0.5}),
    dict(name="linalg_sumlogdiag", op="linalg_sumlogdiag", inputs=[(2, 3, 3)], low=0.5, high=2),
    dict(name="linalg_sumlogdiag_one", op="linalg_sumlogdiag", inputs=[(4, 4)], low=0.5, high=2),
    dict(name="linalg_syrk", op="linalg_syrk", inputs=[(2, 3, 4)]),
    dict(name="linalg_syrk_t", op="linalg_syrk", inputs=[(3, 4)],
         attrs={"transpose": True, "alpha": 0.5}),
    dict(name="linalg_gelqf", op="linalg_gelqf", inputs=[(2, 3, 4)]),
    dict(name="linalg_syevd", op="_linalg_syevd", inputs=[(2, 4, 4)], prepare=symmetric),
    dict(name="linalg_inverse", op="linalg_inverse", inputs=[(2, 3, 3)], prepare=wellcond),
    dict(name="linalg_det", op="linalg_det", inputs=[(2, 3, 3)], prepare=wellcond),
    dict(name="linalg_det_one", op="linalg_det", inputs=[(4, 4)]),
    dict(name="linalg_slogdet", op="linalg_slogdet", inputs=[(3, 3, 3)]),
    dict(name="linalg_extractdiag", op="linalg_extractdiag", inputs=[(2, 4, 4)],
         attrs={"offset": -1}),
    dict(name="linalg_makediag", op="linalg_makediag", inputs=[(2, 3)], attrs={"offset": 2}),
    dict(name="linalg_extracttrian", op="linalg_extracttrian", inputs=[(2, 4, 4)],
         attrs={"lower": False}),
    dict(name="linalg_extracttrian_off", op="linalg_extracttrian", inputs=[(4, 4)],
         attrs={"offset": -1}),
    dict(name="linalg_maketrian", op="linalg_maketrian", inputs=[(2, 6)],
         attrs={"offset": 1}),
    dict(name="linalg_maketrian_upper", op="linalg_maketrian", inputs=[(10,)],
         attrs={"lower": False}),
]

CASES += [
    dict(name="khatri_rao", op="khatri_rao", inputs=[(2, 3), (4, 3)]),
    dict(name="khatri_rao_3", op="khatri_rao", inputs=[(2, 2), (3, 2), (2, 2)]),
]
