/* The per-element loop shared by the elementwise families (elemwise.c,
 * math.c): MAP and MAP_FLOAT_CASES, and the compiler settings they rely on.
 * Include it once, from a .c file, after ndarray_impl.h. */
#ifndef AMBER_OPS_ELEMWISE_MAP_H
#define AMBER_OPS_ELEMWISE_MAP_H

/* Amber never reads floating-point exception flags, so GCC may evaluate both
 * arms of `x > 0 ? x : x * slope` and vectorize it (values are unchanged).
 * Clang assumes that already, but reports `omp simd` loops of libm calls
 * that it cannot vectorize; they are correct as scalar loops. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpass-failed"
#elif defined(__GNUC__)
#pragma GCC optimize("no-trapping-math")
#endif
/* The integer expressions below are instantiated for uint8 too, where tests
 * such as `v < 0` are constant; that is intended, not a bug. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/*
 * y[i] = EXPR for i < n, where EXPR reads `v`, element i of x converted to V,
 * honouring req (WRITE/INPLACE store, ADD accumulates, NULL skips).  x may be
 * y itself (in-place): each element is read before its own slot is written,
 * so `omp simd` (which also lets GCC vectorize at -O2, where its cost model
 * would not) is safe.  Threads join only above AM_OMP_MIN elements.
 */
#define MAP(req, TI, V, TO, xp, yp, n, EXPR)                                               \
    do {                                                                                   \
        const TI *x_ = (const TI *)(xp);                                                   \
        TO *y_ = (TO *)(yp);                                                               \
        const int64_t n_ = (n);                                                            \
        if ((req) == AM_REQ_ADD) {                                                         \
            _Pragma("omp parallel for simd if (parallel: n_ > AM_OMP_MIN) schedule(static)") \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                          \
                const V v = (V)x_[i_];                                                     \
                y_[i_] += (TO)(EXPR);                                                      \
            }                                                                              \
        } else if ((req) != AM_REQ_NULL) {                                                 \
            _Pragma("omp parallel for simd if (parallel: n_ > AM_OMP_MIN) schedule(static)") \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                          \
                const V v = (V)x_[i_];                                                     \
                y_[i_] = (TO)(EXPR);                                                       \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* The same-type map of the two float dtypes: FE in float, DE in double. */
#define MAP_FLOAT_CASES(req, xp, yp, n, FE, DE)                                            \
    case AM_DTYPE_FLOAT32: MAP(req, float, float, float, xp, yp, n, FE); break;            \
    case AM_DTYPE_FLOAT64: MAP(req, double, double, double, xp, yp, n, DE); break;

#endif /* AMBER_OPS_ELEMWISE_MAP_H */
