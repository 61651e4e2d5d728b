/* Binary operators: elemwise_* and MXNet's _-prefixed forms (_maximum ...
 * _logical_xor; equal shapes), broadcast_* (NumPy broadcasting), clip, where and add_n.  Kernels walk collapsed shapes row by row, so every
 * inner loop is a unit-stride or scalar-operand loop that the compiler vectorizes. */
#include "../ndarray_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>

/* ---- loops and dtype dispatch --------------------------------------------------
 * Each dtype has its unsigned twin U: integer sums and products are computed in
 * U so that they wrap (as NumPy's do) instead of being undefined.  For floats U
 * is T itself.  `omp simd` asks for vectorization whatever the cost model (GCC's
 * -O2 only vectorizes loops whose trip count it knows).  In-place calls alias an
 * output with an input at the same index; every loop reads an element before it
 * writes it, so that aliasing is harmless. */

#define SIMD_LOOP(lo, hi, stmt)                                                          \
    do {                                                                                 \
        _Pragma("omp simd") for (int64_t i = (lo); i < (hi); i++) { stmt; }              \
    } while (0)

/* Elements per unit of parallel work; one index division per unit. */
#define CHUNK 32768

/* Runs body for [lo, hi) chunks of n elements, in parallel above AM_OMP_MIN.
 * Bodies copy the pointers they use into locals, so that each chunk's inner
 * loop sees plain local restrict pointers and vectorizes. */
#define PAR_CHUNKS(n, lo, hi, ...)                                                       \
    do {                                                                                 \
        const int64_t n_ = (n), chunks_ = (n_ + CHUNK - 1) / CHUNK;                      \
        _Pragma("omp parallel for if (n_ > AM_OMP_MIN) schedule(static)")               \
        for (int64_t c_ = 0; c_ < chunks_; c_++) {                                       \
            const int64_t lo = c_ * CHUNK, hi = lo + CHUNK < n_ ? lo + CHUNK : n_;       \
            __VA_ARGS__;                                                                 \
        }                                                                                \
    } while (0)

#define WRAP_ADD(T, U, a, b) ((T)((U)(a) + (U)(b)))

/* Runs the body with T bound to dt's C type and U to its unsigned twin. */
#define TU_SWITCH(dt, T, U, ...)                                                         \
    switch (dt) {                                                                        \
    case AM_DTYPE_FLOAT32: { typedef float T; typedef float U; __VA_ARGS__; } break;     \
    case AM_DTYPE_FLOAT64: { typedef double T; typedef double U; __VA_ARGS__; } break;   \
    case AM_DTYPE_INT32: { typedef int32_t T; typedef uint32_t U; __VA_ARGS__; } break;  \
    case AM_DTYPE_INT64: { typedef int64_t T; typedef uint64_t U; __VA_ARGS__; } break;  \
    case AM_DTYPE_UINT8: { typedef uint8_t T; typedef uint8_t U; __VA_ARGS__; } break;   \
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %d", (int)(dt));            \
    }

_Static_assert(AM_DTYPE_KERNEL_COUNT == 5, "add the new dtype to the tables of broadcast.c");

/* ---- scalar functions: f_<op>_<dtype>(a, b) ----------------------------------------
 * MXNet 1.x semantics: comparisons give 0/1 in the input dtype; mod takes the
 * divisor's sign (Python's %), and x mod 0 is 0; maximum/minimum propagate NaN
 * from either side; integer division truncates.  Integer x / 0 and 0 ** -k are
 * 0 (MXNet would trap), and INT_MIN / -1 wraps to INT_MIN. */

#define COMMON_FNS(sfx, T, U)                                                            \
    static inline T f_add_##sfx(T a, T b) { return (T)((U)a + (U)b); }                  \
    static inline T f_sub_##sfx(T a, T b) { return (T)((U)a - (U)b); }                  \
    static inline T f_mul_##sfx(T a, T b) { return (T)((U)a * (U)b); }                  \
    static inline T f_equal_##sfx(T a, T b) { return (T)(a == b); }                      \
    static inline T f_not_equal_##sfx(T a, T b) { return (T)(a != b); }                  \
    static inline T f_greater_##sfx(T a, T b) { return (T)(a > b); }                     \
    static inline T f_greater_equal_##sfx(T a, T b) { return (T)(a >= b); }              \
    static inline T f_lesser_##sfx(T a, T b) { return (T)(a < b); }                      \
    static inline T f_lesser_equal_##sfx(T a, T b) { return (T)(a <= b); }                \
    static inline T f_logical_and_##sfx(T a, T b) { return (T)(a != 0 && b != 0); }       \
    static inline T f_logical_or_##sfx(T a, T b) { return (T)(a != 0 || b != 0); }        \
    static inline T f_logical_xor_##sfx(T a, T b) { return (T)((a != 0) != (b != 0)); }

#define FLOAT_FNS(sfx, T, POW, FMOD, HYPOT)                                                     \
    COMMON_FNS(sfx, T, T)                                                                \
    static inline T f_div_##sfx(T a, T b) { return a / b; }                              \
    static inline T f_mod_##sfx(T a, T b)                                                \
    {                                                                                    \
        if (b == 0) return 0;                                                            \
        T r = FMOD(a, b);                                                                \
        return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;                               \
    }                                                                                    \
    static inline T f_power_##sfx(T a, T b) { return POW(a, b); }                        \
    static inline T f_hypot_##sfx(T a, T b) { return HYPOT(a, b); }                      \
    static inline T f_maximum_##sfx(T a, T b) { return a != a ? a : (a > b ? a : b); }   \
    static inline T f_minimum_##sfx(T a, T b) { return a != a ? a : (a < b ? a : b); }

/* base ** e modulo 2^64; the caller truncates to its width. */
static inline uint64_t ipow_u64(uint64_t base, uint64_t e)
{
    uint64_t r = 1;
    for (; e; e >>= 1, base *= base)
        if (e & 1) r *= base;
    return r;
}

static inline int64_t ipow_i64(int64_t a, int64_t e)
{
    if (e < 0) return a == 1 ? 1 : a == -1 ? ((e & 1) ? -1 : 1) : 0;
    return (int64_t)ipow_u64((uint64_t)a, (uint64_t)e);
}

/* Integer hypot: computed in double and truncated (MXNet), saturated at the
 * dtype's largest value. */
static inline double ihypot(double a, double b, double max)
{
    double r = hypot(a, b);
    /* int64's largest value rounds up to 2^63 in double; the largest double below it. */
    if (max >= 9223372036854775807.0) max = 9223372036854774784.0;
    return r < max ? r : max;
}

#define SINT_FNS(sfx, T, U)                                                              \
    COMMON_FNS(sfx, T, U)                                                                \
    static inline T f_hypot_##sfx(T a, T b)                                              \
    {                                                                                    \
        return (T)ihypot((double)a, (double)b, (double)((U)-1 / 2));                     \
    }                                                                                    \
    static inline T f_div_##sfx(T a, T b)                                                \
    {                                                                                    \
        return b == 0 ? 0 : b == -1 ? (T)(0 - (U)a) : (T)(a / b);                        \
    }                                                                                    \
    static inline T f_mod_##sfx(T a, T b)                                                \
    {                                                                                    \
        if (b == 0 || b == -1) return 0;                                                 \
        T r = (T)(a % b);                                                                \
        return (r != 0 && (r < 0) != (b < 0)) ? (T)(r + b) : r;                          \
    }                                                                                    \
    static inline T f_power_##sfx(T a, T b) { return (T)ipow_i64(a, b); }                \
    static inline T f_maximum_##sfx(T a, T b) { return a > b ? a : b; }                  \
    static inline T f_minimum_##sfx(T a, T b) { return a < b ? a : b; }

#define UINT_FNS(sfx, T)                                                                 \
    COMMON_FNS(sfx, T, T)                                                                \
    static inline T f_hypot_##sfx(T a, T b) { return (T)ihypot(a, b, (T)-1); }           \
    static inline T f_div_##sfx(T a, T b) { return b == 0 ? 0 : (T)(a / b); }            \
    static inline T f_mod_##sfx(T a, T b) { return b == 0 ? 0 : (T)(a % b); }            \
    static inline T f_power_##sfx(T a, T b) { return (T)ipow_u64(a, b); }                \
    static inline T f_maximum_##sfx(T a, T b) { return a > b ? a : b; }                  \
    static inline T f_minimum_##sfx(T a, T b) { return a < b ? a : b; }

FLOAT_FNS(f32, float, powf, fmodf, hypotf)
FLOAT_FNS(f64, double, pow, fmod, hypot)
SINT_FNS(i32, int32_t, uint32_t)
SINT_FNS(i64, int64_t, uint64_t)
UINT_FNS(u8, uint8_t)

/* ---- row kernels ------------------------------------------------------------------
 * row_<op>_<dtype> computes n outputs; pat says which operand is a scalar.  It is
 * called once per row of the collapsed shape, never per element. */

enum { PAT_VV, PAT_VS, PAT_SV }; /* both vectors; b a scalar; a a scalar */

typedef void (*row_fn)(const void *a, const void *b, void *y, int64_t n, int pat, bool acc);

#define PLAIN_LOOP(lo, hi, stmt)                                                         \
    do {                                                                                 \
        for (int64_t i = (lo); i < (hi); i++) { stmt; }                                  \
    } while (0)

#define ROW_LOOPS(LOOP, f, sfx, expr)                                                    \
    do {                                                                                 \
        if (acc) LOOP(0, n, y[i] = f_add_##sfx(y[i], f expr));                           \
        else LOOP(0, n, y[i] = f expr);                                                  \
    } while (0)

#define ROW_FN(op, sfx, T, LOOP)                                                         \
    static void row_##op##_##sfx(const void *a_, const void *b_, void *y_, int64_t n,    \
                                 int pat, bool acc)                                      \
    {                                                                                    \
        const T *restrict a = a_, *restrict b = b_;                                      \
        T *restrict y = y_;                                                              \
        const T sa = a[0], sb = b[0];                                                    \
        if (pat == PAT_VS) ROW_LOOPS(LOOP, f_##op##_##sfx, sfx, (a[i], sb));             \
        else if (pat == PAT_SV) ROW_LOOPS(LOOP, f_##op##_##sfx, sfx, (sa, b[i]));        \
        else ROW_LOOPS(LOOP, f_##op##_##sfx, sfx, (a[i], b[i]));                         \
    }

/* Each op with the loop its float and integer forms get: SIMD where the body
 * vectorizes, PLAIN where it cannot (integer division, fmod, pow), since some
 * compilers warn when a `simd` loop is left scalar. */
#define ROW_FNS(op, FLOAT_LOOP, INT_LOOP)                                                \
    ROW_FN(op, f32, float, FLOAT_LOOP) ROW_FN(op, f64, double, FLOAT_LOOP)               \
    ROW_FN(op, i32, int32_t, INT_LOOP) ROW_FN(op, i64, int64_t, INT_LOOP)                \
    ROW_FN(op, u8, uint8_t, INT_LOOP)

#define BINARY_KINDS(X)                                                                  \
    X(add, SIMD_LOOP, SIMD_LOOP) X(sub, SIMD_LOOP, SIMD_LOOP) X(mul, SIMD_LOOP, SIMD_LOOP) \
    X(div, SIMD_LOOP, PLAIN_LOOP) X(mod, PLAIN_LOOP, PLAIN_LOOP)                         \
    X(power, PLAIN_LOOP, PLAIN_LOOP) X(maximum, SIMD_LOOP, SIMD_LOOP)                    \
    X(minimum, SIMD_LOOP, SIMD_LOOP) X(equal, SIMD_LOOP, SIMD_LOOP)                      \
    X(not_equal, SIMD_LOOP, SIMD_LOOP) X(greater, SIMD_LOOP, SIMD_LOOP)                  \
    X(greater_equal, SIMD_LOOP, SIMD_LOOP) X(lesser, SIMD_LOOP, SIMD_LOOP)               \
    X(lesser_equal, SIMD_LOOP, SIMD_LOOP) X(hypot, PLAIN_LOOP, PLAIN_LOOP)                \
    X(logical_and, SIMD_LOOP, SIMD_LOOP) X(logical_or, SIMD_LOOP, SIMD_LOOP)              \
    X(logical_xor, SIMD_LOOP, SIMD_LOOP)

BINARY_KINDS(ROW_FNS)

enum {
#define KIND_ENUM(op, fl, il) BIN_##op,
    BINARY_KINDS(KIND_ENUM)
#undef KIND_ENUM
    BIN_COUNT
};

static const row_fn row_table[BIN_COUNT][AM_DTYPE_COUNT] = {
#define ROW_ENTRY(op, fl, il)                                                            \
    [BIN_##op] = {[AM_DTYPE_FLOAT32] = row_##op##_f32, [AM_DTYPE_FLOAT64] = row_##op##_f64, \
                  [AM_DTYPE_INT32] = row_##op##_i32, [AM_DTYPE_INT64] = row_##op##_i64,   \
                  [AM_DTYPE_UINT8] = row_##op##_u8},
    BINARY_KINDS(ROW_ENTRY)
#undef ROW_ENTRY
};

/* ---- broadcast plans --------------------------------------------------------------
 * The output shape with its size-1 dimensions dropped and neighbours merged
 * wherever both inputs are either contiguous across them or broadcast along
 * both.  (2, 3) + (3,) becomes 2 rows of 3 with b a vector; (6,) + (1,) becomes
 * one row with b a scalar; (2, 1, 4) + (3, 1) stays (2, 3, 4). */
typedef struct bcast_plan {
    int nd;                       /* >= 1 */
    int64_t dim[AM_MAX_NDIM];
    int64_t sa[AM_MAX_NDIM];      /* element strides of a; 0 where a is broadcast */
    int64_t sb[AM_MAX_NDIM];
    int64_t size;
    int pat;
} bcast_plan;

/* Strides of v aligned to out's dimensions; false when v does not broadcast. */
static bool aligned_strides(const am_view *v, const am_view *out, int64_t *s)
{
    int off = out->ndim - v->ndim;
    int64_t stride = 1;
    if (off < 0) return false;
    for (int d = out->ndim - 1; d >= 0; d--) {
        int64_t n = d >= off ? v->dim[d - off] : 1;
        if (n != 1 && n != out->dim[d]) return false;
        s[d] = n == 1 ? 0 : stride;
        stride *= n;
    }
    return true;
}

static am_status plan_make(const am_view *a, const am_view *b, const am_view *y, bcast_plan *p)
{
    int64_t sa[AM_MAX_NDIM], sb[AM_MAX_NDIM];
    if (!aligned_strides(a, y, sa) || !aligned_strides(b, y, sb))
        return am_fail(AM_ERR_SHAPE, "kernel inputs do not broadcast to the output");
    p->nd = 0;
    p->size = am_view_size(y);
    for (int d = 0; d < y->ndim; d++) {
        int k = p->nd;
        if (y->dim[d] == 1) continue;
        if (k > 0 && p->sa[k - 1] == sa[d] * y->dim[d] && p->sb[k - 1] == sb[d] * y->dim[d]) {
            p->dim[k - 1] *= y->dim[d];
            p->sa[k - 1] = sa[d];
            p->sb[k - 1] = sb[d];
        } else {
            p->dim[k] = y->dim[d];
            p->sa[k] = sa[d];
            p->sb[k] = sb[d];
            p->nd++;
        }
    }
    if (p->nd == 0) {
        p->nd = 1;
        p->dim[0] = 1;
        p->sa[0] = p->sb[0] = 0;
    }
    int64_t ia = p->sa[p->nd - 1], ib = p->sb[p->nd - 1];
    p->pat = (ia && !ib) ? PAT_VS : (!ia && ib) ? PAT_SV : PAT_VV;
    return AM_OK;
}

/* Output elements [lo, hi): one division to find the start, then an odometer
 * over the outer dimensions, one row call per row. */
static void run_range(row_fn f, const bcast_plan *p, const char *a, const char *b, char *y,
                      int64_t es, int64_t lo, int64_t hi, bool acc)
{
    int nd = p->nd;
    int64_t inner = p->dim[nd - 1], ia = p->sa[nd - 1], ib = p->sb[nd - 1];
    int64_t row = lo / inner, col = lo % inner, idx[AM_MAX_NDIM], ra = 0, rb = 0;
    for (int d = nd - 2; d >= 0; d--) {
        idx[d] = row % p->dim[d];
        row /= p->dim[d];
        ra += idx[d] * p->sa[d];
        rb += idx[d] * p->sb[d];
    }
    for (int64_t pos = lo; pos < hi; col = 0) {
        int64_t len = inner - col < hi - pos ? inner - col : hi - pos;
        f(a + (ra + col * ia) * es, b + (rb + col * ib) * es, y + pos * es, len, p->pat, acc);
        pos += len;
        for (int d = nd - 2; d >= 0; d--) {
            ra += p->sa[d];
            rb += p->sb[d];
            if (++idx[d] < p->dim[d]) break;
            ra -= p->sa[d] * p->dim[d];
            rb -= p->sb[d] * p->dim[d];
            idx[d] = 0;
        }
    }
}

/* (M, N) op (N,) with a short row: a row call per N elements would cost more
 * than the work, so the row vector is repeated into a stack tile of tlen
 * elements and the output is walked in tile-long runs. */
#define TILE_BYTES 4096
#define SHORT_ROW_BYTES 256

typedef struct periodic {
    int64_t period, tlen;       /* period 0: not this case */
    bool b_periodic;            /* b is the row vector (else a) */
    _Alignas(64) char tile[TILE_BYTES];
} periodic;

static void periodic_make(const bcast_plan *p, int64_t es, const char **a, const char **b,
                          periodic *t)
{
    int64_t n = p->dim[p->nd - 1];
    t->period = 0;
    if (p->nd != 2 || p->pat != PAT_VV || n * es > SHORT_ROW_BYTES) return;
    if (p->sa[0] == n && p->sb[0] == 0) t->b_periodic = true;
    else if (p->sa[0] == 0 && p->sb[0] == n) t->b_periodic = false;
    else return;
    t->period = n;
    t->tlen = TILE_BYTES / es / n * n;
    const char *src = t->b_periodic ? *b : *a;
    for (int64_t k = 0; k < t->tlen; k++) memcpy(t->tile + k * es, src + k % n * es, (size_t)es);
    *(t->b_periodic ? b : a) = t->tile;
}

static void run_periodic(row_fn f, const periodic *t, const char *a, const char *b, char *y,
                         int64_t es, int64_t lo, int64_t hi, bool acc)
{
    for (int64_t pos = lo; pos < hi;) {
        int64_t ph = pos % t->period, len = t->tlen - ph < hi - pos ? t->tlen - ph : hi - pos;
        int64_t oa = t->b_periodic ? pos : ph, ob = t->b_periodic ? ph : pos;
        f(a + oa * es, b + ob * es, y + pos * es, len, PAT_VV, acc);
        pos += len;
    }
}

static am_status binary_cpu(int kind, const am_view *in, const am_view *out, const am_req *req)
{
    am_dtype t = out[0].dtype;
    bcast_plan p = {0};
    periodic per;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if ((unsigned)t >= AM_DTYPE_COUNT || in[0].dtype != t || in[1].dtype != t)
        return am_fail(AM_ERR_DTYPE, "kernel given %s and %s for a %s output",
                       am_dtype_name(in[0].dtype), am_dtype_name(in[1].dtype), am_dtype_name(t));
    am_status st = plan_make(&in[0], &in[1], &out[0], &p);
    if (st != AM_OK) return st;
    row_fn f = row_table[kind][t];
    const char *a = in[0].data, *b = in[1].data;
    char *y = out[0].data;
    int64_t es = (int64_t)am_dtype_size(t);
    bool acc = req[0] == AM_REQ_ADD;
    periodic_make(&p, es, &a, &b, &per);
    PAR_CHUNKS(p.size, lo, hi, {
        if (per.period) run_periodic(f, &per, a, b, y, es, lo, hi, acc);
        else run_range(f, &p, a, b, y, es, lo, hi, acc);
    });
    return AM_OK;
}

#define BINARY_KERNEL(op, fl, il)                                                        \
    static am_status op##_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                              int n_in, const am_view *out, int n_out, const am_req *req) \
    {                                                                                    \
        AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);             \
        return binary_cpu(BIN_##op, in, out, req);                                       \
    }
BINARY_KINDS(BINARY_KERNEL)

/* ---- shape and dtype inference --------------------------------------------------- */

static bool shape_equal(const am_shape *a, const am_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->dim[d] != b->dim[d]) return false;
    return true;
}

static am_status binary_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0] != in[1])
        return am_fail(AM_ERR_DTYPE, "lhs %s and rhs %s must have the same dtype (cast one "
                       "with am_astype)", am_dtype_name(in[0]), am_dtype_name(in[1]));
    out[0] = in[0];
    return AM_OK;
}

static am_status elemwise_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char a[96], b[96];
    if (in[0].ndim < 0) in[0] = in[1];
    if (in[1].ndim < 0) in[1] = in[0];
    if (!shape_equal(&in[0], &in[1]))
        return am_fail(AM_ERR_SHAPE, "lhs %s and rhs %s must have the same shape (the "
                       "broadcast_* ops broadcast)", am_shape_format(&in[0], a, sizeof(a)),
                       am_shape_format(&in[1], b, sizeof(b)));
    out[0] = in[0];
    return AM_OK;
}

/* NumPy broadcasting: align at the right; each pair of dimensions is equal or
 * one of them is 1.  An unknown input leaves the output unknown. */
static am_status broadcast_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const am_shape *a = &in[0], *b = &in[1];
    char sa[96], sb[96];
    if (a->ndim < 0 || b->ndim < 0) {
        out[0].ndim = -1;
        return AM_OK;
    }
    am_shape r = {.ndim = a->ndim > b->ndim ? a->ndim : b->ndim};
    for (int d = r.ndim - 1, ka = a->ndim - 1, kb = b->ndim - 1; d >= 0; d--, ka--, kb--) {
        int64_t da = ka >= 0 ? a->dim[ka] : 1, db = kb >= 0 ? b->dim[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return am_fail(AM_ERR_SHAPE, "lhs %s and rhs %s cannot be broadcast together",
                           am_shape_format(a, sa, sizeof(sa)), am_shape_format(b, sb, sizeof(sb)));
        r.dim[d] = da == 1 ? db : da;
    }
    out[0] = r;
    return AM_OK;
}

/* ---- gradients ---------------------------------------------------------------------
 * Written with public ops at the forward call's site, so that they run eagerly,
 * symbolically and recorded for higher orders.  Each is MXNet's backward: the
 * output gradient og times the partial derivative, summed back over the axes
 * along which the input was broadcast. */

#define GRAD_PARAMS                                                                      \
    const am_grad_ctx *g, am_array *const *in, am_array *const *out,                     \
        am_array *const *og_, am_array **ig

static bool same_shape(am_array *a, am_array *b)
{
    if (!a || !b) return false;
    am_shape sa = am_array_shape(a), sb = am_array_shape(b);
    return shape_equal(&sa, &sb);
}

/* a op b as elemwise_* when the shapes agree (so graphs stay elementwise),
 * else broadcast_*; a NULL operand gives NULL with the first message. */
#define BIN_HELPER(op)                                                                   \
    static am_array *op##2(am_array *a, am_array *b, am_site at)                         \
    {                                                                                    \
        return same_shape(a, b) ? am_elemwise_##op##_at(a, b, at)                        \
                                : am_broadcast_##op##_at(a, b, at);                      \
    }
BIN_HELPER(mul)
BIN_HELPER(div)

/*
 * The gradient g of a broadcast result, summed over the axes along which x
 * was broadcast and given x's shape: leading axes x lacks, and axes where x
 * has 1 and g does not.  A 0-d x takes the single sum split off a (1,) array,
 * since Reshape cannot make 0-d arrays; an empty x gets zeros.
 */
static am_array *sum_to_shape(am_array *g, am_array *x, am_site at)
{
    if (!g) return NULL; /* an earlier op failed and set the message */
    am_shape s = am_array_shape(g), t = am_array_shape(x);
    int axes[AM_MAX_NDIM], n = 0, off = s.ndim - t.ndim;
    am_array *part = NULL;
    if (shape_equal(&s, &t)) return g;
    if (am_shape_size(&t) == 0) return am_zeros_like_at(x, at);
    for (int d = 0; d < s.ndim; d++)
        if (s.dim[d] != 1 && (d < off || t.dim[d - off] == 1)) axes[n++] = d;
    am_array *r = n > 0 ? am_sum_at(g, axes, n, true, at) : g;
    if (t.ndim > 0) return am_reshape_at(r, t, false, at);
    if (am_split_at(am_reshape_at(r, AM_SHAPE(1), false, at), 1, 0, true, &part, at) != AM_OK)
        return NULL;
    return part;
}

/* Defines <op>_grad: lhs gets GA and rhs GB, expressions of og, a, b and y
 * (the output) in the output's shape, each computed only when wanted. */
#define BINARY_GRAD(op, GA, GB)                                                          \
    static am_status op##_grad(GRAD_PARAMS)                                              \
    {                                                                                    \
        const am_site at = g->at;                                                        \
        am_array *a = in[0], *b = in[1], *y = out[0], *og = og_[0];                      \
        AM_UNUSED(y);                                                                    \
        if (g->need_grad[0] && !(ig[0] = sum_to_shape((GA), a, at))) return am_last_status(); \
        if (g->need_grad[1] && !(ig[1] = sum_to_shape((GB), b, at))) return am_last_status(); \
        return AM_OK;                                                                    \
    }

/* d(a mod b)/db = -floor(a / b); d(a ** b) = b * a^(b-1) da + y * log(a) db;
 * maximum gives og to a where a >= b and to b where a < b, minimum to a where
 * a <= b and to b where a > b (MXNet's ge/lt and le/gt). */
BINARY_GRAD(add, og, og)
BINARY_GRAD(sub, og, am_negative_at(og, at))
BINARY_GRAD(mul, mul2(og, b, at), mul2(og, a, at))
BINARY_GRAD(div, div2(og, b, at), am_negative_at(div2(mul2(og, y, at), b, at), at))
BINARY_GRAD(mod, og,
            am_negative_at(mul2(og, am_floor_at(div2(a, b, at), at), at), at))
BINARY_GRAD(power,
            mul2(og, mul2(b, am_broadcast_power_at(a, am_minus_scalar_at(b, 1, at), at), at), at),
            mul2(og, mul2(y, am_log_at(a, at), at), at))
BINARY_GRAD(maximum, mul2(og, am_broadcast_greater_equal_at(a, b, at), at),
            mul2(og, am_broadcast_lesser_at(a, b, at), at))
BINARY_GRAD(minimum, mul2(og, am_broadcast_lesser_equal_at(a, b, at), at),
            mul2(og, am_broadcast_greater_at(a, b, at), at))
/* d hypot(a, b) = (a da + b db) / y. */
BINARY_GRAD(hypot, div2(mul2(og, a, at), y, at), div2(mul2(og, b, at), y, at))

/* ---- elemwise_* and broadcast_* definitions ---------------------------------------- */

static const char *const lhs_rhs[] = {"lhs", "rhs", NULL};
static const am_inplace_pair lhs_or_rhs[] = {{0, 0}, {1, 0}, {-1, -1}};

/* The algebra facets of the four arithmetic ops, by operands. */
#define ARITH_FACETS(op, OP)                                                             \
    static const am_op_algebra op##_same = {AM_ARITH_##OP, AM_OPERANDS_SAME, NULL};      \
    static const am_op_algebra op##_bcast = {AM_ARITH_##OP, AM_OPERANDS_BROADCAST, NULL};
ARITH_FACETS(add, ADD)
ARITH_FACETS(sub, SUB)
ARITH_FACETS(mul, MUL)
ARITH_FACETS(div, DIV)

#define ELEMWISE_DEF(op, aliases_, doc_)                                                 \
    const am_op_def am_op_elemwise_##op = {                                              \
        .name = "elemwise_" #op, .aliases = aliases_,               \
        .input_names = lhs_rhs, .num_outputs = 1, .infer_shape = elemwise_shape,         \
        .infer_dtype = binary_dtype, .cpu = op##_cpu, .gradient = op##_grad,             \
        .inplace = lhs_or_rhs, .fuse = AM_FUSE_ELEMWISE, .doc = doc_,                    \
        .algebra = &op##_same}
ELEMWISE_DEF(add, ((const char *const[]){"_add", "_plus", "_Plus", "_grad_add", NULL}),
             "lhs + rhs; shapes must match.");
ELEMWISE_DEF(sub, ((const char *const[]){"_sub", "_minus", "_Minus", NULL}),
             "lhs - rhs; shapes must match.");
ELEMWISE_DEF(mul, ((const char *const[]){"_mul", "_Mul", NULL}), "lhs * rhs; shapes must match.");
ELEMWISE_DEF(div, ((const char *const[]){"_div", "_Div", NULL}),
             "lhs / rhs; shapes must match; integer division truncates, x / 0 is 0.");

#define BROADCAST_DEF(op, aliases_, flags_, doc_)                                        \
    const am_op_def am_op_broadcast_##op = {                                             \
        .name = "broadcast_" #op, .aliases = aliases_, .input_names = lhs_rhs,           \
        .num_outputs = 1, .infer_shape = broadcast_shape, .infer_dtype = binary_dtype,   \
        .cpu = op##_cpu, .gradient = GRAD_OF_##flags_(op), .inplace = lhs_or_rhs,        \
        .fuse = AM_FUSE_BROADCAST, .flags = flags_, .doc = doc_,                         \
        .algebra = ALGEBRA_OF_##op}
/* The algebra facet by op: the four arithmetic ops have one. */
#define ALGEBRA_OF_add &add_bcast
#define ALGEBRA_OF_sub &sub_bcast
#define ALGEBRA_OF_mul &mul_bcast
#define ALGEBRA_OF_div &div_bcast
#define ALGEBRA_OF_mod NULL
#define ALGEBRA_OF_power NULL
#define ALGEBRA_OF_maximum NULL
#define ALGEBRA_OF_minimum NULL
#define ALGEBRA_OF_equal NULL
#define ALGEBRA_OF_not_equal NULL
#define ALGEBRA_OF_greater NULL
#define ALGEBRA_OF_greater_equal NULL
#define ALGEBRA_OF_lesser NULL
#define ALGEBRA_OF_lesser_equal NULL
#define ALGEBRA_OF_hypot NULL
#define ALGEBRA_OF_logical_and NULL
#define ALGEBRA_OF_logical_or NULL
#define ALGEBRA_OF_logical_xor NULL
/* The gradient slot by the flags column: none for AM_OP_NO_GRAD. */
#define GRAD_OF_0(op) op##_grad
#define GRAD_OF_AM_OP_NO_GRAD(op) NULL
BROADCAST_DEF(add, ((const char *const[]){"broadcast_plus", NULL}), 0,
              "lhs + rhs with NumPy broadcasting.");
BROADCAST_DEF(sub, ((const char *const[]){"broadcast_minus", NULL}), 0,
              "lhs - rhs with NumPy broadcasting.");
BROADCAST_DEF(mul, NULL, 0, "lhs * rhs with NumPy broadcasting.");
BROADCAST_DEF(div, NULL, 0,
              "lhs / rhs with NumPy broadcasting; integer division truncates, x / 0 is 0.");
BROADCAST_DEF(mod, NULL, 0,
              "lhs mod rhs with the sign of rhs (Python's %); x mod 0 is 0.");
BROADCAST_DEF(power, NULL, 0, "lhs ** rhs with NumPy broadcasting; integer 0 ** -k is 0.");
BROADCAST_DEF(maximum, NULL, 0, "Elementwise maximum with broadcasting; NaN propagates.");
BROADCAST_DEF(minimum, NULL, 0, "Elementwise minimum with broadcasting; NaN propagates.");
BROADCAST_DEF(equal, NULL, AM_OP_NO_GRAD, "1 where lhs == rhs, else 0, in the input dtype.");
BROADCAST_DEF(not_equal, NULL, AM_OP_NO_GRAD, "1 where lhs != rhs, else 0, in the input dtype.");
BROADCAST_DEF(greater, NULL, AM_OP_NO_GRAD, "1 where lhs > rhs, else 0, in the input dtype.");
BROADCAST_DEF(greater_equal, NULL, AM_OP_NO_GRAD,
              "1 where lhs >= rhs, else 0, in the input dtype.");
BROADCAST_DEF(lesser, NULL, AM_OP_NO_GRAD, "1 where lhs < rhs, else 0, in the input dtype.");
BROADCAST_DEF(lesser_equal, NULL, AM_OP_NO_GRAD,
              "1 where lhs <= rhs, else 0, in the input dtype.");

BROADCAST_DEF(hypot, NULL, 0, "sqrt(lhs^2 + rhs^2) with NumPy broadcasting; integers "
              "compute in double and truncate.");
BROADCAST_DEF(logical_and, NULL, AM_OP_NO_GRAD,
              "1 where lhs and rhs are both nonzero, else 0, in the input dtype.");
BROADCAST_DEF(logical_or, NULL, AM_OP_NO_GRAD,
              "1 where lhs or rhs is nonzero, else 0, in the input dtype.");
BROADCAST_DEF(logical_xor, NULL, AM_OP_NO_GRAD,
              "1 where exactly one of lhs and rhs is nonzero, else 0, in the input dtype.");

/* MXNet's _-prefixed binary ops (what F.maximum(a, b) and a > b write in a
 * graph): the same kernels and gradients as broadcast_*, on equal shapes. */
#define UNDERSCORE_DEF(op, mx, alias, flags_, doc_)                                      \
    const am_op_def am_op_elemwise_##op = {                                              \
        .name = mx, .aliases = (const char *const[]){alias, NULL}, .input_names = lhs_rhs, \
        .num_outputs = 1, .infer_shape = elemwise_shape, .infer_dtype = binary_dtype,    \
        .cpu = op##_cpu, .gradient = GRAD_OF_##flags_(op), .inplace = lhs_or_rhs,        \
        .fuse = AM_FUSE_ELEMWISE, .flags = flags_, .doc = doc_}
UNDERSCORE_DEF(maximum, "_maximum", "_Maximum", 0, "Elementwise maximum; NaN propagates.");
UNDERSCORE_DEF(minimum, "_minimum", "_Minimum", 0, "Elementwise minimum; NaN propagates.");
UNDERSCORE_DEF(power, "_power", "_Power", 0, "lhs ** rhs; integer 0 ** -k is 0.");
UNDERSCORE_DEF(mod, "_mod", "_Mod", 0, "lhs mod rhs with the sign of rhs; x mod 0 is 0.");
UNDERSCORE_DEF(hypot, "_hypot", "_Hypot", 0,
               "sqrt(lhs^2 + rhs^2); integers compute in double and truncate.");
UNDERSCORE_DEF(equal, "_equal", "_Equal", AM_OP_NO_GRAD, "1 where lhs == rhs, else 0.");
UNDERSCORE_DEF(not_equal, "_not_equal", "_Not_Equal", AM_OP_NO_GRAD,
               "1 where lhs != rhs, else 0.");
UNDERSCORE_DEF(greater, "_greater", "_Greater", AM_OP_NO_GRAD, "1 where lhs > rhs, else 0.");
UNDERSCORE_DEF(greater_equal, "_greater_equal", "_Greater_Equal", AM_OP_NO_GRAD,
               "1 where lhs >= rhs, else 0.");
UNDERSCORE_DEF(lesser, "_lesser", "_Lesser", AM_OP_NO_GRAD, "1 where lhs < rhs, else 0.");
UNDERSCORE_DEF(lesser_equal, "_lesser_equal", "_Lesser_Equal", AM_OP_NO_GRAD,
               "1 where lhs <= rhs, else 0.");
UNDERSCORE_DEF(logical_and, "_logical_and", "_Logical_And", AM_OP_NO_GRAD,
               "1 where lhs and rhs are both nonzero, else 0.");
UNDERSCORE_DEF(logical_or, "_logical_or", "_Logical_Or", AM_OP_NO_GRAD,
               "1 where lhs or rhs is nonzero, else 0.");
UNDERSCORE_DEF(logical_xor, "_logical_xor", "_Logical_Xor", AM_OP_NO_GRAD,
               "1 where exactly one of lhs and rhs is nonzero, else 0.");

static am_array *call2(const am_op_def *op, am_array *a, am_array *b, am_site at)
{
    am_array *in[2] = {a, b}, *y = NULL;
    am_op_call(op, NULL, in, 2, &y, 1, at);
    return y;
}

#define BINARY_API(name)                                                                 \
    am_array *am_##name##_at(am_array *a, am_array *b, am_site at)                       \
    {                                                                                    \
        return call2(&am_op_##name, a, b, at);                                           \
    }
AM_ELEMWISE_BINARY_OPS(BINARY_API)
AM_BROADCAST_OPS(BINARY_API)
AM_BINARY_OPS2(BINARY_API)

/* ---- clip ------------------------------------------------------------------------ */

typedef struct clip_attrs {
    double a_min, a_max;
} clip_attrs;

static const am_attr_field clip_fields[] = {
    AM_ATTR_FIELD(clip_attrs, a_min, AM_ATTR_FLOAT, NULL, "minimum value"),
    AM_ATTR_FIELD(clip_attrs, a_max, AM_ATTR_FLOAT, NULL, "maximum value"),
    {0}};

/* A float32 bound: out-of-range doubles become infinities, not undefined casts. */
static float f32_bound(double v)
{
    return v > FLT_MAX ? INFINITY : v < -FLT_MAX ? -INFINITY : (float)v;
}

/* An integer bound: truncated and saturated to [lo, hi]; NaN clips nothing. */
static int64_t int_bound(double v, int64_t lo, int64_t hi, int64_t if_nan)
{
    if (isnan(v)) return if_nan;
    if (v >= (double)hi) return hi;
    if (v <= (double)lo) return lo;
    return (int64_t)v;
}

/* MXNet's rule: above a_max gives a_max, else below a_min gives a_min.  For
 * integers the truncated bounds give the same results as comparing in float. */
#define CLIPPED(v) ((v) > hi ? hi : (v) < lo ? lo : (v))
#define CLIP_LOOPS(T, U, lo_, hi_)                                                       \
    do {                                                                                 \
        const T *xs = in[0].data, lo_t = (lo_), hi_t = (hi_);                            \
        T *ys = out[0].data;                                                             \
        PAR_CHUNKS(n, s, e, {                                                            \
            const T *restrict x = xs, lo = lo_t, hi = hi_t;                              \
            T *restrict y = ys;                                                          \
            if (acc) SIMD_LOOP(s, e, y[i] = WRAP_ADD(T, U, y[i], CLIPPED(x[i])));        \
            else SIMD_LOOP(s, e, y[i] = CLIPPED(x[i]));                                  \
        });                                                                              \
    } while (0)

static am_status clip_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const clip_attrs *a = attrs;
    int64_t n = am_view_size(&out[0]);
    bool acc = req[0] == AM_REQ_ADD;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    switch (in[0].dtype) {
    case AM_DTYPE_FLOAT32:
        CLIP_LOOPS(float, float, f32_bound(a->a_min), f32_bound(a->a_max));
        break;
    case AM_DTYPE_FLOAT64:
        CLIP_LOOPS(double, double, a->a_min, a->a_max);
        break;
    case AM_DTYPE_INT32:
        CLIP_LOOPS(int32_t, uint32_t, (int32_t)int_bound(a->a_min, INT32_MIN, INT32_MAX, INT32_MIN),
                   (int32_t)int_bound(a->a_max, INT32_MIN, INT32_MAX, INT32_MAX));
        break;
    case AM_DTYPE_INT64:
        CLIP_LOOPS(int64_t, uint64_t, int_bound(a->a_min, INT64_MIN, INT64_MAX, INT64_MIN),
                   int_bound(a->a_max, INT64_MIN, INT64_MAX, INT64_MAX));
        break;
    case AM_DTYPE_UINT8:
        CLIP_LOOPS(uint8_t, uint8_t, (uint8_t)int_bound(a->a_min, 0, UINT8_MAX, 0),
                   (uint8_t)int_bound(a->a_max, 0, UINT8_MAX, UINT8_MAX));
        break;
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %d", (int)in[0].dtype);
    }
    return AM_OK;
}

/* MXNet's clip_grad: og passes where a_min <= x <= a_max (bounds included)
 * and is 0 outside.  A bound that clips nothing (infinite, NaN, or beyond
 * float32's range for float32 data) leaves its side alone. */
static am_status clip_grad(GRAD_PARAMS)
{
    AM_UNUSED(out);
    const clip_attrs *a = g->attrs;
    const am_site at = g->at;
    bool f32 = am_array_dtype(in[0]) == AM_DTYPE_FLOAT32;
    double lo = f32 ? f32_bound(a->a_min) : a->a_min, hi = f32 ? f32_bound(a->a_max) : a->a_max;
    am_array *r = og_[0];
    if (lo > -INFINITY) r = mul2(r, am_greater_equal_scalar_at(in[0], lo, at), at);
    if (hi < INFINITY) r = mul2(r, am_lesser_equal_scalar_at(in[0], hi, at), at);
    ig[0] = r;
    return r ? AM_OK : am_last_status();
}

const am_op_def am_op_clip = {
    .name = "clip", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = clip_fields, .attrs_size = sizeof(clip_attrs), .infer_shape = am_infer_shape_same,
    .infer_dtype = am_infer_dtype_same, .cpu = clip_cpu, .gradient = clip_grad,
    .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}}, .fuse = AM_FUSE_ELEMWISE,
    .doc = "Limits data to [a_min, a_max]: above a_max gives a_max, below a_min gives a_min."};

am_array *am_clip_at(am_array *x, double a_min, double a_max, am_site at)
{
    clip_attrs a = {.a_min = a_min, .a_max = a_max};
    am_array *y = NULL;
    am_op_call(&am_op_clip, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- where -------------------------------------------------------------------------- */

static am_status where_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape *c = &in[0], *x = &in[1], *y = &in[2];
    char sc[96], sx[96], sy[96];
    if (x->ndim < 0) *x = *y;
    if (y->ndim < 0) *y = *x;
    if (!shape_equal(x, y))
        return am_fail(AM_ERR_SHAPE, "x %s and y %s must have the same shape",
                       am_shape_format(x, sx, sizeof(sx)), am_shape_format(y, sy, sizeof(sy)));
    out[0] = *x;
    if (x->ndim < 0 || c->ndim < 0 || shape_equal(c, x)) return AM_OK;
    if (c->ndim == 1 && x->ndim >= 1 && c->dim[0] == x->dim[0]) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "condition %s must have the shape of x %s or be 1-D with "
                   "x's first dimension", am_shape_format(c, sc, sizeof(sc)),
                   am_shape_format(x, sx, sizeof(sx)));
}

static am_status where_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[1] != in[2])
        return am_fail(AM_ERR_DTYPE, "x %s and y %s must have the same dtype",
                       am_dtype_name(in[1]), am_dtype_name(in[2]));
    out[0] = in[1];
    return AM_OK;
}

/* Same shapes: a select per element.  1-D condition: whole rows of x or y. */
#define WHERE_LOOPS(C, T, U)                                                             \
    do {                                                                                 \
        const C *cs = in[0].data;                                                        \
        const T *xs = in[1].data, *zs = in[2].data;                                      \
        T *ys = out[0].data;                                                             \
        if (rows) {                                                                      \
            WHERE_ROWS(C, T, U);                                                         \
            break;                                                                       \
        }                                                                                \
        PAR_CHUNKS(n, s, e, {                                                            \
            const C *restrict cond = cs;                                                 \
            const T *x = xs, *z = zs;                                                    \
            T *y = ys;                                                                   \
            if (acc) SIMD_LOOP(s, e, y[i] = WRAP_ADD(T, U, y[i], cond[i] != 0 ? x[i] : z[i])); \
            else SIMD_LOOP(s, e, y[i] = cond[i] != 0 ? x[i] : z[i]);                     \
        });                                                                              \
    } while (0)
#define WHERE_ROWS(C, T, U)                                                              \
    _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                    \
    for (int64_t r = 0; r < nrows; r++) {                                                \
        const int64_t len = inner;                                                       \
        const T *src = (cs[r] != 0 ? xs : zs) + r * len;                                 \
        T *dst = ys + r * len;                                                           \
        if (acc) SIMD_LOOP(0, len, dst[i] = WRAP_ADD(T, U, dst[i], src[i]));             \
        else SIMD_LOOP(0, len, dst[i] = src[i]);                                         \
    }

static am_status where_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t n = am_view_size(&out[0]);
    bool rows = in[0].ndim != out[0].ndim, acc = req[0] == AM_REQ_ADD;
    int64_t nrows = rows ? in[0].dim[0] : n, inner = rows && nrows ? n / nrows : 1;
    if (req[0] == AM_REQ_NULL || n == 0) return AM_OK;
    if (rows && (in[0].ndim != 1 || out[0].ndim < 1 || nrows != out[0].dim[0]))
        return am_fail(AM_ERR_SHAPE, "kernel given a condition that does not fit x");
    AM_DTYPE_SWITCH(in[0].dtype, C, { TU_SWITCH(out[0].dtype, T, U, WHERE_LOOPS(C, T, U)); });
    return AM_OK;
}

/* og goes to x where the condition holds and to y elsewhere; the condition
 * gets none (MXNet gives it zeros). */
static am_status where_grad(GRAD_PARAMS)
{
    AM_UNUSED(out);
    const am_site at = g->at;
    am_array *og = og_[0], *zero = am_zeros_like_at(og, at);
    if (g->need_grad[1] && !(ig[1] = am_where_at(in[0], og, zero, at))) return am_last_status();
    if (g->need_grad[2] && !(ig[2] = am_where_at(in[0], zero, og, at))) return am_last_status();
    return AM_OK;
}

const am_op_def am_op_where = {
    .name = "where", .input_names = (const char *const[]){"condition", "x", "y", NULL},
    .num_outputs = 1, .infer_shape = where_shape, .infer_dtype = where_dtype, .cpu = where_cpu,
    .gradient = where_grad,
    .inplace = (const am_inplace_pair[]){{1, 0}, {2, 0}, {-1, -1}},
    .fuse = AM_FUSE_BROADCAST, /* a 1-D condition broadcasts over x's rows */
    .doc = "x where condition is non-zero, else y; condition has x's shape or is 1-D over "
           "x's first axis."};

am_array *am_where_at(am_array *cond, am_array *x, am_array *y, am_site at)
{
    am_array *in[3] = {cond, x, y}, *r = NULL;
    am_op_call(&am_op_where, NULL, in, 3, &r, 1, at);
    return r;
}

/* ---- add_n ------------------------------------------------------------------------- */

typedef struct add_n_attrs {
    int64_t num_args;
} add_n_attrs;

static const am_attr_field add_n_fields[] = {
    AM_ATTR_FIELD(add_n_attrs, num_args, AM_ATTR_INT, NULL, "number of inputs to be summed"),
    {0}};

static int add_n_inputs(const void *attrs)
{
    int64_t k = attrs ? ((const add_n_attrs *)attrs)->num_args : 0;
    return k < 0 ? 0 : k > INT_MAX ? INT_MAX : (int)k;
}

static am_status add_n_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_out);
    char s0[96], si[96];
    int64_t k = ((const add_n_attrs *)attrs)->num_args;
    if (k < 1 || n_in < 1)
        return am_fail(AM_ERR_ARG, "num_args must be at least 1, got %lld", (long long)k);
    for (int i = 1; i < n_in; i++) {
        if (in[0].ndim < 0) in[0] = in[i];
        if (in[i].ndim < 0) in[i] = in[0];
    }
    for (int i = 1; i < n_in; i++)
        if (!shape_equal(&in[i], &in[0]))
            return am_fail(AM_ERR_SHAPE, "args[%d] %s differs from args[0] %s", i,
                           am_shape_format(&in[i], si, sizeof(si)),
                           am_shape_format(&in[0], s0, sizeof(s0)));
    out[0] = in[0];
    return AM_OK;
}

static am_status add_n_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                             int n_out)
{
    if (n_in < 1) return am_fail(AM_ERR_ARG, "num_args must be at least 1");
    return am_infer_dtype_same(attrs, in, n_in, out, n_out);
}

/* Sums inputs four at a time into y[lo, hi), so that y is written once per four
 * inputs, and the chunk stays in cache across groups. */
#define ADDN_FN(sfx, T, U)                                                               \
    static void addn_##sfx(const am_view *in, int nin, void *y_, int64_t lo, int64_t hi, \
                           bool acc)                                                     \
    {                                                                                    \
        T *restrict y = y_;                                                              \
        for (int g = 0; g < nin; g += 4, acc = true) {                                   \
            int m = nin - g < 4 ? nin - g : 4;                                           \
            const T *restrict p = in[g].data, *restrict q = in[g + (m > 1)].data;        \
            const T *restrict r = in[g + (m > 2) * 2].data;                              \
            const T *restrict s = in[g + (m > 3) * 3].data;                              \
            if (m == 1) ADDN_GROUP(T, U, (U)p[i]);                                       \
            else if (m == 2) ADDN_GROUP(T, U, (U)p[i] + (U)q[i]);                        \
            else if (m == 3) ADDN_GROUP(T, U, (U)p[i] + (U)q[i] + (U)r[i]);              \
            else ADDN_GROUP(T, U, (U)p[i] + (U)q[i] + (U)r[i] + (U)s[i]);                \
        }                                                                                \
    }
#define ADDN_GROUP(T, U, sum)                                                            \
    do {                                                                                 \
        if (acc) SIMD_LOOP(lo, hi, y[i] = (T)((U)y[i] + (sum)));                         \
        else SIMD_LOOP(lo, hi, y[i] = (T)(sum));                                         \
    } while (0)

ADDN_FN(f32, float, float)
ADDN_FN(f64, double, double)
ADDN_FN(i32, int32_t, uint32_t)
ADDN_FN(i64, int64_t, uint64_t)
ADDN_FN(u8, uint8_t, uint8_t)

typedef void (*addn_fn)(const am_view *in, int nin, void *y, int64_t lo, int64_t hi, bool acc);
static const addn_fn addn_table[AM_DTYPE_COUNT] = {
    [AM_DTYPE_FLOAT32] = addn_f32, [AM_DTYPE_FLOAT64] = addn_f64, [AM_DTYPE_INT32] = addn_i32,
    [AM_DTYPE_INT64] = addn_i64, [AM_DTYPE_UINT8] = addn_u8};

static am_status add_n_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_dtype t = out[0].dtype;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if ((unsigned)t >= AM_DTYPE_COUNT || n_in < 1)
        return am_fail(AM_ERR_DTYPE, "unsupported dtype %d or no inputs", (int)t);
    addn_fn f = addn_table[t];
    bool acc = req[0] == AM_REQ_ADD;
    void *y = out[0].data;
    PAR_CHUNKS(am_view_size(&out[0]), lo, hi, f(in, n_in, y, lo, hi, acc));
    return AM_OK;
}

/* Every input gets the output gradient itself. */
static am_status add_n_grad(GRAD_PARAMS)
{
    AM_UNUSED(in), AM_UNUSED(out);
    for (int i = 0; i < g->n_in; i++)
        if (g->need_grad[i]) ig[i] = og_[0];
    return AM_OK;
}

const am_op_def am_op_add_n = {
    .name = "add_n", .aliases = (const char *const[]){"ElementWiseSum", NULL},
    .input_names = (const char *const[]){"args", NULL}, .num_inputs = add_n_inputs,
    .num_outputs = 1, .attrs = add_n_fields, .attrs_size = sizeof(add_n_attrs),
    .infer_shape = add_n_shape, .infer_dtype = add_n_dtype, .cpu = add_n_cpu,
    .gradient = add_n_grad, .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}},
    .fuse = AM_FUSE_ELEMWISE, .flags = AM_OP_VARIADIC,
    .doc = "Sum of num_args arrays of one shape and dtype.",
    .algebra = &(const am_op_algebra){AM_ARITH_ADD, AM_OPERANDS_NARY, NULL}};

/* The dispatcher takes at most this many inputs (AM_MAX_OP_IO in dispatch.c). */
#define ADD_N_MAX 64

am_array *am_add_n_at(am_array *const *xs, int n, am_site at)
{
    add_n_attrs a = {.num_args = n};
    am_array *y = NULL;
    if (n > ADD_N_MAX) {
        am_err_ctx c;
        am_err_push(&c, "add_n", at);
        am_fail(AM_ERR_ARG, "at most %d arrays per call, got %d; sum in groups", ADD_N_MAX, n);
        am_err_pop(&c);
        return NULL;
    }
    am_op_call(&am_op_add_n, &a, xs, n < 0 ? 0 : n, &y, 1, at);
    return y;
}
