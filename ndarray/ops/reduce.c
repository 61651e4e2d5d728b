/* Reductions: sum (sum_axis), mean, prod, max (max_axis), min (min_axis), nansum, nanprod,
 * norm, argmax, argmin, argmax_channel.  Kernels collapse the shape into groups of kept and reduced axes and reduce
 * contiguous runs with loops the compiler vectorizes. */
#include "../ndarray_impl.h"

#include <math.h>
#include <stdarg.h>

static const char *const data_input[] = {"data", NULL};

/* ---- attributes and shapes ----------------------------------------------------- */

typedef struct reduce_attrs {
    am_tuple axis;
    bool keepdims;
    bool exclude;
} reduce_attrs;

static const am_attr_field reduce_fields[] = {
    AM_ATTR_FIELD(reduce_attrs, axis, AM_ATTR_TUPLE, "None",
                  "axes to reduce (an int or a tuple); None or () reduces all"),
    AM_ATTR_FIELD(reduce_attrs, keepdims, AM_ATTR_BOOL, "False", "keep reduced axes as size 1"),
    AM_ATTR_FIELD(reduce_attrs, exclude, AM_ATTR_BOOL, "False", "reduce the axes not listed"),
    {0}};

typedef struct norm_attrs {
    int64_t ord;
    am_tuple axis;
    int out_dtype;
    bool keepdims;
} norm_attrs;

static const am_attr_field norm_fields[] = {
    AM_ATTR_FIELD(norm_attrs, ord, AM_ATTR_INT, "2", "1 (sum of |x|) or 2 (Euclidean)"),
    AM_ATTR_FIELD(norm_attrs, axis, AM_ATTR_TUPLE, "None", "axes to reduce; None: all"),
    AM_ATTR_FIELD(norm_attrs, out_dtype, AM_ATTR_DTYPE, "None",
                  "result dtype (float32, float64, int32, int64); None: data's"),
    AM_ATTR_FIELD(norm_attrs, keepdims, AM_ATTR_BOOL, "False", "keep reduced axes as size 1"),
    {0}};

typedef struct argm_attrs {
    am_opt_int axis;
    bool keepdims;
} argm_attrs;

static const am_attr_field argm_fields[] = {
    AM_ATTR_FIELD(argm_attrs, axis, AM_ATTR_OPT_INT, "None", "axis to search; None: flattened"),
    AM_ATTR_FIELD(argm_attrs, keepdims, AM_ATTR_BOOL, "False", "keep the axis as size 1"),
    {0}};

/* Marks in red[] the axes of an ndim-d input that axis/exclude reduce.  None and ()
 * reduce every axis, as MXNet 1.x does (whatever exclude says). */
static am_status reduce_mask(const am_tuple *axis, bool exclude, const am_shape *s, bool *red)
{
    char buf[96];
    bool listed[AM_MAX_NDIM] = {false};
    for (int i = 0; i < s->ndim; i++) red[i] = true;
    if (axis->ndim <= 0) return AM_OK;
    for (int k = 0; k < axis->ndim; k++) {
        int a;
        if (axis->none & (1u << k)) return am_fail(AM_ERR_ARG, "axis entry %d is None", k);
        if (!am_axis_norm(axis->v[k], s->ndim, &a))
            return am_fail(AM_ERR_ARG, "axis %lld is out of range for data %s",
                           (long long)axis->v[k], am_shape_format(s, buf, sizeof(buf)));
        if (listed[a])
            return am_fail(AM_ERR_ARG, "axis %d is listed twice (data %s)", a,
                           am_shape_format(s, buf, sizeof(buf)));
        listed[a] = true;
    }
    for (int i = 0; i < s->ndim; i++) red[i] = listed[i] != exclude;
    return AM_OK;
}

/* Drops (or keeps as 1) the reduced axes; no axes left gives (1,), as MXNet 1.x. */
static void reduced_shape(const am_shape *in, const bool *red, bool keepdims, am_shape *out)
{
    out->ndim = 0;
    for (int i = 0; i < in->ndim; i++) {
        if (!red[i]) out->dim[out->ndim++] = in->dim[i];
        else if (keepdims) out->dim[out->ndim++] = 1;
    }
    if (out->ndim == 0 && !keepdims) {
        out->ndim = 1;
        out->dim[0] = 1;
    }
}

/* max, min, argmax and argmin have no identity: an empty reduced axis is an error. */
static am_status check_not_empty(const am_shape *s, const bool *red)
{
    char buf[96];
    for (int i = 0; i < s->ndim; i++)
        if (red[i] && s->dim[i] == 0)
            return am_fail(AM_ERR_SHAPE, "cannot reduce the empty axis %d of data %s "
                           "(there is no identity)", i, am_shape_format(s, buf, sizeof(buf)));
    return AM_OK;
}

static am_status reduce_shape_impl(const am_tuple *axis, bool keepdims, bool exclude,
                                   bool no_identity, const am_shape *in, am_shape *out)
{
    bool red[AM_MAX_NDIM];
    am_status st = reduce_mask(axis, exclude, &in[0], red);
    if (st == AM_OK && no_identity) st = check_not_empty(&in[0], red);
    if (st == AM_OK) reduced_shape(&in[0], red, keepdims, &out[0]);
    return st;
}

static am_status reduce_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const reduce_attrs *a = attrs;
    return reduce_shape_impl(&a->axis, a->keepdims, a->exclude, false, in, out);
}

static am_status minmax_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const reduce_attrs *a = attrs;
    return reduce_shape_impl(&a->axis, a->keepdims, a->exclude, true, in, out);
}

static am_status norm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const norm_attrs *a = attrs;
    if (a->ord != 1 && a->ord != 2)
        return am_fail(AM_ERR_ARG, "ord must be 1 or 2, got %lld", (long long)a->ord);
    return reduce_shape_impl(&a->axis, a->keepdims, false, false, in, out);
}

static am_status norm_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    int t = ((const norm_attrs *)attrs)->out_dtype;
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    if (t == AM_DTYPE_UINT8)
        return am_fail(AM_ERR_DTYPE, "out_dtype uint8 not supported (float32, float64, "
                       "int32 or int64)");
    out[0] = t < 0 ? in[0] : (am_dtype)t;
    return AM_OK;
}

/* ---- the reduction plan ------------------------------------------------------------
 * Size-1 axes are dropped and neighbouring axes that are both kept or both reduced are
 * merged.  The innermost group is contiguous: when it is reduced ("rows"), each output
 * reduces runs of `inner` elements; when it is kept ("columns"), each output row of
 * `inner` elements accumulates input rows.  Outer groups are listed innermost first. */

typedef struct red_plan {
    int nk, nr;                              /* outer kept / reduced groups */
    int64_t kdim[AM_MAX_NDIM], kstr[AM_MAX_NDIM];
    int64_t rdim[AM_MAX_NDIM], rstr[AM_MAX_NDIM];
    int64_t nout;                            /* product of kdim */
    int64_t nrow;                            /* product of rdim */
    int64_t inner;                           /* innermost group's size */
    bool inner_red;                          /* innermost group is reduced */
    int64_t count;                           /* elements reduced into each output */
} red_plan;

static void plan_build(const am_shape *s, const bool *red, red_plan *p)
{
    int64_t gd[AM_MAX_NDIM];
    bool gr[AM_MAX_NDIM];
    int m = 0;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dim[i] == 1) continue;
        if (m > 0 && gr[m - 1] == red[i]) gd[m - 1] *= s->dim[i];
        else gd[m] = s->dim[i], gr[m++] = red[i];
    }
    memset(p, 0, sizeof(*p));
    p->nout = p->nrow = p->count = p->inner = 1;
    p->inner_red = true;
    if (m == 0) return;
    p->inner = gd[m - 1];
    p->inner_red = gr[m - 1];
    if (p->inner_red) p->count = p->inner;
    int64_t stride = p->inner;
    for (int g = m - 2; g >= 0; stride *= gd[g], g--) {
        if (gr[g]) {
            p->rdim[p->nr] = gd[g], p->rstr[p->nr++] = stride;
            p->nrow *= gd[g], p->count *= gd[g];
        } else {
            p->kdim[p->nk] = gd[g], p->kstr[p->nk++] = stride;
            p->nout *= gd[g];
        }
    }
}

/* Input offset of the idx-th combination of n groups (innermost first). */
static inline int64_t group_offset(int64_t idx, int n, const int64_t *dim, const int64_t *str)
{
    if (n == 1) return idx * str[0];
    int64_t off = 0;
    for (int g = 0; g < n; g++) {
        off += (idx % dim[g]) * str[g];
        idx /= dim[g];
    }
    return off;
}

/* ---- kernels -------------------------------------------------------------------------
 * One instantiation per (reducer, dtype).  LANE is the type of the 16 partial results
 * that a contiguous run is split over (float for float32 sums: the loop vectorizes);
 * each chunk of RED_CHUNK elements is folded into ACC (double for float32 sums), so
 * float32 sums are blocked-pairwise and accurate.  Integer sums and products wrap in
 * uint64_t, as the C types would, without signed overflow. */

#define RED_LANES 16
#define RED_CHUNK 2048
#define RED_TILE 1024
#define RED_PARTS 64

/* Reduces n contiguous elements. */
#define DEF_BLOCK(K, T, LANE, ACC, INIT, STEP)                                                \
    static ACC K##_block(const T *restrict x, int64_t n)                                      \
    {                                                                                         \
        ACC total = (ACC)(INIT);                                                              \
        if (n < 2 * RED_LANES) {                                                              \
            for (int64_t k = 0; k < n; k++) total = STEP(total, (ACC)x[k]);                   \
            return total;                                                                     \
        }                                                                                     \
        for (int64_t c = 0; c < n; c += RED_CHUNK) {                                          \
            const T *restrict y = x + c;                                                      \
            int64_t m = n - c < RED_CHUNK ? n - c : RED_CHUNK, k = 0;                         \
            LANE l[RED_LANES];                                                                \
            for (int j = 0; j < RED_LANES; j++) l[j] = (LANE)(INIT);                          \
            for (; k + RED_LANES <= m; k += RED_LANES)                                        \
                _Pragma("GCC unroll 16")                                                      \
                for (int j = 0; j < RED_LANES; j++) l[j] = STEP(l[j], (LANE)y[k + j]);        \
            for (; k < m; k++) l[0] = STEP(l[0], (LANE)y[k]);                                 \
            for (int w = RED_LANES / 2; w > 0; w /= 2)                                        \
                for (int j = 0; j < w; j++) l[j] = MERGE_OF(STEP, l[j], l[j + w]);            \
            total = MERGE_OF(STEP, total, (ACC)l[0]);                                         \
        }                                                                                     \
        return total;                                                                         \
    }

/* Splits one long run into RED_PARTS parts reduced in parallel; the result does not
 * depend on the thread count. */
#define DEF_PARALLEL(K, T, ACC, INIT, STEP)                                                   \
    static ACC K##_parallel(const T *x, int64_t n)                                            \
    {                                                                                         \
        ACC part[RED_PARTS], total = (ACC)(INIT);                                             \
        int64_t len = (n + RED_PARTS - 1) / RED_PARTS;                                        \
        len = (len + RED_CHUNK - 1) / RED_CHUNK * RED_CHUNK;                                  \
        _Pragma("omp parallel for schedule(static)")                                          \
        for (int q = 0; q < RED_PARTS; q++) {                                                 \
            int64_t b = q * len, e = b + len < n ? b + len : n;                               \
            part[q] = b < e ? K##_block(x + b, e - b) : (ACC)(INIT);                          \
        }                                                                                     \
        for (int q = 0; q < RED_PARTS; q++) total = MERGE_OF(STEP, total, part[q]);           \
        return total;                                                                         \
    }

/* The innermost group is reduced: each output reduces nrow runs of inner elements. */
#define DEF_ROWS(K, T, ACC, INIT, STEP, FIN)                                                  \
    static void K##_rows(const T *x, T *out, am_req req, const red_plan *p, bool mean)        \
    {                                                                                         \
        int64_t n = p->nout * p->count;                                                       \
        if (p->nout == 1 && n > AM_OMP_MIN) {                                                 \
            T v = (T)FIN(K##_parallel(x, p->inner), p->count, mean);                          \
            out[0] = req == AM_REQ_ADD ? (T)(out[0] + v) : v;                                 \
            return;                                                                           \
        }                                                                                     \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                      \
        for (int64_t o = 0; o < p->nout; o++) {                                               \
            const T *base = x + group_offset(o, p->nk, p->kdim, p->kstr);                     \
            ACC acc = (ACC)(INIT);                                                            \
            for (int64_t r = 0; r < p->nrow; r++) {                                           \
                const T *run = base + group_offset(r, p->nr, p->rdim, p->rstr);               \
                acc = MERGE_OF(STEP, acc, K##_block(run, p->inner));                          \
            }                                                                                 \
            T v = (T)FIN(acc, p->count, mean);                                                \
            out[o] = req == AM_REQ_ADD ? (T)(out[o] + v) : v;                                 \
        }                                                                                     \
    }

/* The innermost group is kept: tiles of RED_TILE output columns accumulate input rows. */
#define DEF_COLS(K, T, ACC, INIT, STEP, FIN)                                                  \
    static void K##_cols(const T *x, T *out, am_req req, const red_plan *p, bool mean)        \
    {                                                                                         \
        int64_t ntile = (p->inner + RED_TILE - 1) / RED_TILE, n = p->nout * p->count;         \
        n *= p->inner;                                                                        \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                      \
        for (int64_t t = 0; t < p->nout * ntile; t++) {                                       \
            int64_t o = t / ntile, j0 = t % ntile * RED_TILE;                                 \
            int64_t w = p->inner - j0 < RED_TILE ? p->inner - j0 : RED_TILE;                  \
            const T *base = x + group_offset(o, p->nk, p->kdim, p->kstr) + j0;                \
            ACC acc[RED_TILE];                                                                \
            for (int64_t j = 0; j < w; j++) acc[j] = (ACC)(INIT);                             \
            for (int64_t r = 0; r < p->nrow; r++) {                                           \
                const T *restrict y = base + group_offset(r, p->nr, p->rdim, p->rstr);        \
                _Pragma("omp simd")                                                           \
                for (int64_t j = 0; j < w; j++) acc[j] = STEP(acc[j], (ACC)y[j]);             \
            }                                                                                 \
            T *restrict dst = out + o * p->inner + j0;                                        \
            if (req == AM_REQ_ADD)                                                            \
                for (int64_t j = 0; j < w; j++)                                               \
                    dst[j] = (T)(dst[j] + (T)FIN(acc[j], p->count, mean));                    \
            else                                                                              \
                for (int64_t j = 0; j < w; j++) dst[j] = (T)FIN(acc[j], p->count, mean);      \
        }                                                                                     \
    }

#define DEF_REDUCER(K, T, LANE, ACC, INIT, STEP, FIN)                                         \
    DEF_BLOCK(K, T, LANE, ACC, INIT, STEP)                                                    \
    DEF_PARALLEL(K, T, ACC, INIT, STEP)                                                       \
    DEF_ROWS(K, T, ACC, INIT, STEP, FIN)                                                      \
    DEF_COLS(K, T, ACC, INIT, STEP, FIN)

/* STEP(acc, x) folds one element; MERGE_OF(STEP, a, b) folds two partial results. */
#define ADD_STEP(a, x) ((a) + (x))
#define ABS_STEP(a, x) ((a) + ((x) < 0 ? -(x) : (x)))
#define SQ_STEP(a, x) ((a) + (x) * (x))
#define MUL_STEP(a, x) ((a) * (x))
#define MAX_STEP(a, x) (((x) > (a) || (x) != (x)) ? (x) : (a)) /* NaN wins, as numpy */
#define MIN_STEP(a, x) (((x) < (a) || (x) != (x)) ? (x) : (a))
#define NANADD_STEP(a, x) ((x) != (x) ? (a) : (a) + (x)) /* NaN counts as 0 */
#define NANMUL_STEP(a, x) ((x) != (x) ? (a) : (a) * (x)) /* NaN counts as 1 */
#define MERGE_OF(STEP, a, b) MERGE_##STEP(a, b)
#define MERGE_ADD_STEP(a, b) ((a) + (b))
#define MERGE_ABS_STEP(a, b) ((a) + (b))
#define MERGE_SQ_STEP(a, b) ((a) + (b))
#define MERGE_MUL_STEP(a, b) ((a) * (b))
#define MERGE_MAX_STEP(a, b) MAX_STEP(a, b)
#define MERGE_MIN_STEP(a, b) MIN_STEP(a, b)
#define MERGE_NANADD_STEP(a, b) ((a) + (b))
#define MERGE_NANMUL_STEP(a, b) ((a) * (b))

/* FIN(acc, count, mean) turns an accumulator into the result. */
#define FSUM_FIN(a, c, mean) ((mean) ? (a) / (double)(c) : (a)) /* 0/0 gives NaN */
#define ISUM_FIN(a, c, mean) ((mean) ? ((c) ? (int64_t)(a) / (c) : 0) : (int64_t)(a))
#define SAME_FIN(a, c, mean) ((void)(mean), (a))
#define IPROD_FIN(a, c, mean) ((void)(mean), (int64_t)(a))
#define SQRT_FIN(a, c, mean) ((void)(mean), sqrt(a))

DEF_REDUCER(sum_f32, float, float, double, 0, ADD_STEP, FSUM_FIN)
DEF_REDUCER(sum_f64, double, double, double, 0, ADD_STEP, FSUM_FIN)
DEF_REDUCER(sum_i32, int32_t, uint64_t, uint64_t, 0, ADD_STEP, ISUM_FIN)
DEF_REDUCER(sum_i64, int64_t, uint64_t, uint64_t, 0, ADD_STEP, ISUM_FIN)
DEF_REDUCER(sum_u8, uint8_t, uint64_t, uint64_t, 0, ADD_STEP, ISUM_FIN)
DEF_REDUCER(prod_f32, float, double, double, 1, MUL_STEP, SAME_FIN)
DEF_REDUCER(prod_f64, double, double, double, 1, MUL_STEP, SAME_FIN)
DEF_REDUCER(prod_i32, int32_t, uint64_t, uint64_t, 1, MUL_STEP, IPROD_FIN)
DEF_REDUCER(prod_i64, int64_t, uint64_t, uint64_t, 1, MUL_STEP, IPROD_FIN)
DEF_REDUCER(prod_u8, uint8_t, uint64_t, uint64_t, 1, MUL_STEP, IPROD_FIN)
DEF_REDUCER(max_f32, float, float, float, -INFINITY, MAX_STEP, SAME_FIN)
DEF_REDUCER(max_f64, double, double, double, -INFINITY, MAX_STEP, SAME_FIN)
DEF_REDUCER(max_i32, int32_t, int32_t, int32_t, INT32_MIN, MAX_STEP, SAME_FIN)
DEF_REDUCER(max_i64, int64_t, int64_t, int64_t, INT64_MIN, MAX_STEP, SAME_FIN)
DEF_REDUCER(max_u8, uint8_t, uint8_t, uint8_t, 0, MAX_STEP, SAME_FIN)
DEF_REDUCER(min_f32, float, float, float, INFINITY, MIN_STEP, SAME_FIN)
DEF_REDUCER(min_f64, double, double, double, INFINITY, MIN_STEP, SAME_FIN)
DEF_REDUCER(min_i32, int32_t, int32_t, int32_t, INT32_MAX, MIN_STEP, SAME_FIN)
DEF_REDUCER(min_i64, int64_t, int64_t, int64_t, INT64_MAX, MIN_STEP, SAME_FIN)
DEF_REDUCER(min_u8, uint8_t, uint8_t, uint8_t, UINT8_MAX, MIN_STEP, SAME_FIN)
DEF_REDUCER(nrm1_f32, float, float, double, 0, ABS_STEP, SAME_FIN)
DEF_REDUCER(nrm1_f64, double, double, double, 0, ABS_STEP, SAME_FIN)
DEF_REDUCER(nrm2_f32, float, double, double, 0, SQ_STEP, SQRT_FIN) /* squares cannot overflow */
DEF_REDUCER(nrm2_f64, double, double, double, 0, SQ_STEP, SQRT_FIN)
DEF_REDUCER(nansum_f32, float, float, double, 0, NANADD_STEP, FSUM_FIN)
DEF_REDUCER(nansum_f64, double, double, double, 0, NANADD_STEP, FSUM_FIN)
DEF_REDUCER(nanprod_f32, float, double, double, 1, NANMUL_STEP, SAME_FIN)
DEF_REDUCER(nanprod_f64, double, double, double, 1, NANMUL_STEP, SAME_FIN)

typedef enum red_kind {
    RED_SUM, RED_MEAN, RED_PROD, RED_MAX, RED_MIN, RED_NRM1, RED_NRM2, RED_NANSUM, RED_NANPROD
} red_kind;

/* Runs reducer K on the plan, as rows or as columns. */
#define RUN(K, T)                                                                             \
    do {                                                                                      \
        if (p->inner_red) K##_rows((const T *)x, (T *)y, req, p, kind == RED_MEAN);           \
        else K##_cols((const T *)x, (T *)y, req, p, kind == RED_MEAN);                        \
    } while (0)

#define RUN_TYPED(K)                                                                          \
    switch (dt) {                                                                             \
    case AM_DTYPE_FLOAT32: RUN(K##_f32, float); break;                                        \
    case AM_DTYPE_FLOAT64: RUN(K##_f64, double); break;                                       \
    case AM_DTYPE_INT32: RUN(K##_i32, int32_t); break;                                        \
    case AM_DTYPE_INT64: RUN(K##_i64, int64_t); break;                                        \
    case AM_DTYPE_UINT8: RUN(K##_u8, uint8_t); break;                                         \
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %d", (int)dt);                   \
    }

#define RUN_FLOAT(K)                                                                          \
    switch (dt) {                                                                             \
    case AM_DTYPE_FLOAT32: RUN(K##_f32, float); break;                                        \
    case AM_DTYPE_FLOAT64: RUN(K##_f64, double); break;                                       \
    default: return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)", \
                            am_dtype_name(dt));                                               \
    }

/* Reduces x (dtype dt) into y (same dtype) as planned. */
static am_status reduce_run(red_kind kind, am_dtype dt, const void *x, void *y, am_req req,
                            const red_plan *p)
{
    if (p->nout == 0 || (!p->inner_red && p->inner == 0)) return AM_OK;
    switch (kind) {
    case RED_SUM:
    case RED_MEAN: RUN_TYPED(sum); break;
    case RED_PROD: RUN_TYPED(prod); break;
    case RED_MAX: RUN_TYPED(max); break;
    case RED_MIN: RUN_TYPED(min); break;
    case RED_NRM1: RUN_FLOAT(nrm1); break;
    case RED_NRM2: RUN_FLOAT(nrm2); break;
    /* integers have no NaN: nansum and nanprod are sum and prod there */
    case RED_NANSUM:
        if (am_dtype_is_float(dt)) RUN_FLOAT(nansum) else RUN_TYPED(sum);
        break;
    case RED_NANPROD:
        if (am_dtype_is_float(dt)) RUN_FLOAT(nanprod) else RUN_TYPED(prod);
        break;
    }
    return AM_OK;
}

/* ---- sum, mean, prod, max, min ---------------------------------------------------------- */

static am_status reduce_kernel(red_kind kind, const am_tuple *axis, bool exclude,
                               const am_view *in, const am_view *out, am_req req)
{
    if (req == AM_REQ_NULL) return AM_OK;
    am_shape s = {.ndim = in->ndim};
    bool red[AM_MAX_NDIM];
    for (int i = 0; i < in->ndim; i++) s.dim[i] = in->dim[i];
    am_status st = reduce_mask(axis, exclude, &s, red);
    if (st != AM_OK) return st;
    red_plan p;
    plan_build(&s, red, &p);
    return reduce_run(kind, in->dtype, in->data, out->data, req, &p);
}

#define REDUCE_KERNEL(name, kind)                                                             \
    static am_status name##_cpu(const am_kernel_ctx *ctx, const void *attrs,                  \
                                const am_view *in, int n_in, const am_view *out, int n_out,   \
                                const am_req *req)                                            \
    {                                                                                         \
        AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);                                    \
        const reduce_attrs *a = attrs;                                                        \
        return reduce_kernel(kind, &a->axis, a->exclude, &in[0], &out[0], req[0]);            \
    }
REDUCE_KERNEL(sum, RED_SUM)
REDUCE_KERNEL(mean, RED_MEAN)
REDUCE_KERNEL(prod, RED_PROD)
REDUCE_KERNEL(max, RED_MAX)
REDUCE_KERNEL(min, RED_MIN)
REDUCE_KERNEL(nansum, RED_NANSUM)
REDUCE_KERNEL(nanprod, RED_NANPROD)

/* ---- gradients ------------------------------------------------------------------------------
 * Written with public ops so that they run eagerly, symbolically and recorded (higher
 * order).  keep_dims reads a reduction's result with x's rank (the reduced axes as size 1),
 * so that it broadcasts against x; callers handle an empty x first (its zeros would read as
 * Reshape's "copy" code). */

extern const am_op_def am_op_sum, am_op_prod;

typedef struct red_grad {
    am_array *x;
    bool red[AM_MAX_NDIM];
    int64_t count; /* elements reduced into each output */
    am_site at;
} red_grad;

static am_status red_grad_init(red_grad *r, am_array *x, const am_tuple *axis, bool exclude,
                               am_site at)
{
    am_shape s = am_array_shape(x);
    r->x = x, r->at = at, r->count = 1;
    am_status st = reduce_mask(axis, exclude, &s, r->red);
    for (int i = 0; i < s.ndim; i++)
        if (r->red[i]) r->count *= s.dim[i];
    return st;
}

static am_array *keep_dims(const red_grad *r, am_array *y)
{
    am_shape s = am_array_shape(r->x), keep;
    if (am_array_size(y) == am_shape_size(&s)) return am_reshape_like_at(y, r->x, r->at);
    reduced_shape(&s, r->red, true, &keep);
    return am_reshape_at(y, keep, false, r->at);
}

/* The gradient of an empty x (nothing reaches it). */
static am_status empty_grad(const red_grad *r, am_array **ig)
{
    *ig = am_zeros_like_at(r->x, r->at);
    return *ig ? AM_OK : am_last_status();
}

static am_status set_grad(am_array **ig, am_array *v)
{
    *ig = v;
    return v ? AM_OK : am_last_status();
}

/* sum, and mean (which scales by 1 / count): the output gradient broadcast back. */
static am_status sum_mean_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *og,
                               am_array **ig, bool mean)
{
    const reduce_attrs *a = g->attrs;
    red_grad r;
    am_status st = red_grad_init(&r, in[0], &a->axis, a->exclude, g->at);
    if (st != AM_OK) return st;
    if (am_array_size(in[0]) == 0) return empty_grad(&r, ig);
    am_array *d = mean ? am_div_scalar_at(og[0], (double)r.count, g->at) : og[0];
    return set_grad(ig, am_broadcast_to_at(keep_dims(&r, d), am_array_shape(in[0]), g->at));
}

static am_status sum_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return sum_mean_grad(g, in, og, ig, false);
}

static am_status mean_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return sum_mean_grad(g, in, og, ig, true);
}

/* d prod / d x_i is the product of the others, computed without dividing by zero: with
 * z = (x == 0) and p the product of x + z (zeros read as 1), it is p / (x_i + z_i) where
 * none of the others is zero, else 0.  Exact wherever x has zeros; higher derivatives are
 * exact away from them. */
static am_status prod_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    const reduce_attrs *a = g->attrs;
    red_grad r;
    am_site at = g->at;
    am_status st = red_grad_init(&r, in[0], &a->axis, a->exclude, at);
    if (st != AM_OK) return st;
    if (am_array_size(in[0]) == 0) return empty_grad(&r, ig);
    am_array *z = am_equal_scalar_at(in[0], 0, at), *nz = am_broadcast_add_at(in[0], z, at);
    am_array *p = NULL, *c = NULL;
    if ((st = am_op_call(&am_op_prod, a, &nz, 1, &p, 1, at)) != AM_OK ||
        (st = am_op_call(&am_op_sum, a, &z, 1, &c, 1, at)) != AM_OK)
        return st;
    am_array *others = am_broadcast_div_at(keep_dims(&r, p), nz, at);
    am_array *alone = am_equal_scalar_at(am_broadcast_sub_at(keep_dims(&r, c), z, at), 0, at);
    am_array *scale = am_broadcast_mul_at(keep_dims(&r, og[0]), alone, at);
    return set_grad(ig, am_broadcast_mul_at(scale, others, at));
}

/* Every element equal to the extreme value gets the output gradient, as in MXNet. */
static am_status minmax_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    const reduce_attrs *a = g->attrs;
    red_grad r;
    am_status st = red_grad_init(&r, in[0], &a->axis, a->exclude, g->at);
    if (st != AM_OK) return st;
    if (am_array_size(in[0]) == 0) return empty_grad(&r, ig);
    am_array *hit = am_broadcast_equal_at(in[0], keep_dims(&r, out[0]), g->at);
    return set_grad(ig, am_broadcast_mul_at(keep_dims(&r, og[0]), hit, g->at));
}

/* nansum: sum's gradient where x is not NaN, 0 where it is. */
static am_status nansum_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    am_status st = sum_mean_grad(g, in, og, ig, false);
    if (st != AM_OK) return st;
    return set_grad(ig, am_elemwise_mul_at(*ig, am_elemwise_equal_at(in[0], in[0], g->at), g->at));
}

/* nanprod: prod's gradient at x with its NaNs read as 1 (nanprod(x) is that product),
 * and 0 at the NaNs. */
static am_status nanprod_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    am_array *ok = am_elemwise_equal_at(in[0], in[0], g->at);
    am_array *x1 = am_where_at(ok, in[0], am_ones_like_at(in[0], g->at), g->at);
    if (!x1) return am_last_status();
    am_status st = prod_grad(g, &x1, out, og, ig);
    if (st != AM_OK) return st;
    return set_grad(ig, am_elemwise_mul_at(*ig, ok, g->at));
}

#define REDUCE_OP(id, mx_name, alias_list, shape_fn, grad_fn, doc_)                           \
    const am_op_def am_op_##id = {                                                            \
        .name = mx_name, .aliases = alias_list, .input_names = data_input,                    \
        .num_outputs = 1, .attrs = reduce_fields, .attrs_size = sizeof(reduce_attrs),         \
        .infer_shape = shape_fn, .infer_dtype = am_infer_dtype_same, .cpu = id##_cpu,         \
        .gradient = grad_fn, .fuse = AM_FUSE_REDUCE, .doc = doc_}
REDUCE_OP(sum, "sum", ((const char *const[]){"sum_axis", NULL}), reduce_shape, sum_grad,
          "Sum over axes; float32 accumulates blockwise in double.");
REDUCE_OP(mean, "mean", NULL, reduce_shape, mean_grad,
          "Mean over axes (integer dtypes divide as integers; empty: NaN).");
REDUCE_OP(prod, "prod", NULL, reduce_shape, prod_grad, "Product over axes.");
REDUCE_OP(max, "max", ((const char *const[]){"max_axis", NULL}), minmax_shape, minmax_grad,
          "Maximum over axes (NaN propagates).");
REDUCE_OP(min, "min", ((const char *const[]){"min_axis", NULL}), minmax_shape, minmax_grad,
          "Minimum over axes (NaN propagates).");
REDUCE_OP(nansum, "nansum", NULL, reduce_shape, nansum_grad,
          "Sum over axes with NaN counted as 0.");
REDUCE_OP(nanprod, "nanprod", NULL, reduce_shape, nanprod_grad,
          "Product over axes with NaN counted as 1.");

static am_array *reduce_call(const am_op_def *op, am_array *x, const int *axes, int naxes,
                             bool keepdims, am_site at)
{
    reduce_attrs a = {.axis = {.ndim = -1}, .keepdims = keepdims};
    if (x && axes && (naxes < 0 || naxes > AM_MAX_TUPLE))
        return am_fail_null(op->name, at, AM_ERR_ARG, "naxes %d is outside [0, %d]", naxes,
                            AM_MAX_TUPLE);
    if (axes) {
        a.axis.ndim = naxes;
        for (int i = 0; i < naxes; i++) a.axis.v[i] = axes[i];
    }
    am_array *y = NULL;
    am_op_call(op, &a, &x, 1, &y, 1, at);
    return y;
}

#define REDUCE_FN(id)                                                                         \
    am_array *am_##id##_at(am_array *x, const int *axes, int naxes, bool keepdims, am_site at) \
    {                                                                                         \
        return reduce_call(&am_op_##id, x, axes, naxes, keepdims, at);                        \
    }
REDUCE_FN(sum)
REDUCE_FN(mean)
REDUCE_FN(prod)
REDUCE_FN(max)
REDUCE_FN(min)
REDUCE_FN(nansum)
REDUCE_FN(nanprod)

/* ---- norm ---------------------------------------------------------------------------------- */

/* With an out_dtype different from data's, the norm is computed in data's dtype into the
 * workspace and then converted. */
static size_t norm_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    const norm_attrs *a = attrs;
    if (a->out_dtype < 0) return 0;
    am_shape out;
    if (reduce_shape_impl(&a->axis, true, false, false, in, &out) != AM_OK) return 0;
    return (size_t)am_shape_size(&out) * sizeof(double);
}

static am_status norm_convert(const am_view *tmp, const am_view *out, am_req req)
{
    int64_t n = am_view_size(out);
    AM_FLOAT_SWITCH(tmp->dtype, S, {
        const S *src = tmp->data;
        AM_DTYPE_SWITCH(out->dtype, T, {
            T *dst = out->data;
            if (req == AM_REQ_ADD)
                for (int64_t i = 0; i < n; i++) dst[i] = (T)(dst[i] + (T)src[i]);
            else
                for (int64_t i = 0; i < n; i++) dst[i] = (T)src[i];
        });
    });
    return AM_OK;
}

static am_status norm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const norm_attrs *a = attrs;
    red_kind kind = a->ord == 1 ? RED_NRM1 : RED_NRM2;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (out[0].dtype == in[0].dtype)
        return reduce_kernel(kind, &a->axis, false, &in[0], &out[0], req[0]);
    am_view tmp = out[0];
    tmp.dtype = in[0].dtype;
    tmp.data = ctx->workspace;
    if (am_view_size(&tmp) * (int64_t)sizeof(double) > (int64_t)ctx->workspace_bytes)
        return am_fail(AM_ERR_INTERNAL, "norm workspace is too small");
    am_status st = reduce_kernel(kind, &a->axis, false, &in[0], &tmp, AM_REQ_WRITE);
    return st != AM_OK ? st : norm_convert(&tmp, &out[0], req[0]);
}

static am_array *as_dtype(am_array *y, am_dtype t, am_site at)
{
    return y && am_array_dtype(y) != t ? am_astype_at(y, t, at) : y;
}

/* ord 1: sign(x) times the output gradient; ord 2: x / norm, and 0 where the norm is 0
 * (MXNet divides by zero there).  Both in x's dtype whatever out_dtype is. */
static am_status norm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    const norm_attrs *a = g->attrs;
    am_dtype t = am_array_dtype(in[0]);
    red_grad r;
    am_status st = red_grad_init(&r, in[0], &a->axis, false, g->at);
    if (st != AM_OK) return st;
    if (am_array_size(in[0]) == 0) return empty_grad(&r, ig);
    am_array *d = keep_dims(&r, as_dtype(og[0], t, g->at)), *unit;
    if (a->ord == 1) {
        unit = am_sign_at(in[0], g->at);
    } else {
        am_array *n = keep_dims(&r, as_dtype(out[0], t, g->at));
        n = am_broadcast_add_at(n, am_equal_scalar_at(n, 0, g->at), g->at);
        unit = am_broadcast_div_at(in[0], n, g->at);
    }
    return set_grad(ig, am_broadcast_mul_at(d, unit, g->at));
}

const am_op_def am_op_norm = {
    .name = "norm", .input_names = data_input, .num_outputs = 1, .attrs = norm_fields,
    .attrs_size = sizeof(norm_attrs), .infer_shape = norm_shape, .infer_dtype = norm_dtype,
    .temp_bytes = norm_temp, .cpu = norm_cpu, .gradient = norm_grad, .fuse = AM_FUSE_REDUCE,
    .flags = AM_OP_NEEDS_TEMP, .doc = "L1 or L2 norm over axes (float data)."};

am_array *am_norm_at(am_array *x, int ord, const int *axes, int naxes, bool keepdims, am_site at)
{
    norm_attrs a = {.ord = ord, .axis = {.ndim = -1}, .out_dtype = -1, .keepdims = keepdims};
    if (x && axes && (naxes < 0 || naxes > AM_MAX_TUPLE))
        return am_fail_null("norm", at, AM_ERR_ARG, "naxes %d is outside [0, %d]", naxes,
                            AM_MAX_TUPLE);
    if (axes) {
        a.axis.ndim = naxes;
        for (int i = 0; i < naxes; i++) a.axis.v[i] = axes[i];
    }
    am_array *y = NULL;
    am_op_call(&am_op_norm, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- argmax, argmin ---------------------------------------------------------------------- */

/* (outer, m, inner) around the searched axis; the flattened array without an axis. */
static void argm_split(const argm_attrs *a, const am_shape *s, int axis, int64_t *outer,
                       int64_t *m, int64_t *inner)
{
    *outer = *inner = 1;
    *m = am_shape_size(s);
    if (!a->axis.has) return;
    *m = s->ndim ? s->dim[axis] : 1;
    for (int i = 0; i < axis; i++) *outer *= s->dim[i];
    for (int i = axis + 1; i < s->ndim; i++) *inner *= s->dim[i];
}

static am_status argm_axis(const argm_attrs *a, const am_shape *s, int *axis)
{
    char buf[96];
    *axis = 0;
    if (!a->axis.has) return AM_OK;
    if (s->ndim == 0 && (a->axis.v == 0 || a->axis.v == -1)) return AM_OK;
    if (!am_axis_norm(a->axis.v, s->ndim, axis))
        return am_fail(AM_ERR_ARG, "axis %lld is out of range for data %s",
                       (long long)a->axis.v, am_shape_format(s, buf, sizeof(buf)));
    return AM_OK;
}

static am_status argm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const argm_attrs *a = attrs;
    char buf[96];
    int axis;
    am_status st = argm_axis(a, &in[0], &axis);
    if (st != AM_OK) return st;
    bool red[AM_MAX_NDIM];
    for (int i = 0; i < in[0].ndim; i++) red[i] = !a->axis.has || i == axis;
    if (am_shape_size(&in[0]) == 0 && (!a->axis.has || in[0].dim[axis] == 0))
        return am_fail(AM_ERR_SHAPE, "cannot search an empty %s of data %s",
                       a->axis.has ? "axis" : "array", am_shape_format(&in[0], buf, sizeof(buf)));
    reduced_shape(&in[0], red, a->keepdims, &out[0]);
    return AM_OK;
}

/* Index of the first maximum (minimum) of each output position; NaN counts as the
 * extreme value, as numpy's argmax does. */
#define ARGM_BETTER_MAX(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))
#define ARGM_BETTER_MIN(v, b) ((v) < (b) || ((v) != (v) && (b) == (b)))

#define DEF_ARGM(K, T, BETTER)                                                                \
    static void K(const T *x, T *out, am_req req, int64_t outer, int64_t m, int64_t inner)    \
    {                                                                                         \
        int64_t ntile = (inner + RED_TILE - 1) / RED_TILE, n = outer * m * inner;             \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                      \
        for (int64_t t = 0; t < outer * ntile; t++) {                                         \
            int64_t o = t / ntile, j0 = t % ntile * RED_TILE;                                 \
            int64_t w = inner - j0 < RED_TILE ? inner - j0 : RED_TILE;                        \
            const T *base = x + o * m * inner + j0;                                           \
            T best[RED_TILE];                                                                 \
            int64_t idx[RED_TILE];                                                            \
            for (int64_t j = 0; j < w; j++) best[j] = base[j], idx[j] = 0;                    \
            for (int64_t r = 1; r < m; r++)                                                   \
                for (int64_t j = 0; j < w; j++) {                                             \
                    T v = base[r * inner + j];                                                \
                    if (BETTER(v, best[j])) best[j] = v, idx[j] = r;                          \
                }                                                                             \
            T *dst = out + o * inner + j0;                                                    \
            for (int64_t j = 0; j < w; j++)                                                   \
                dst[j] = req == AM_REQ_ADD ? (T)(dst[j] + (T)idx[j]) : (T)idx[j];             \
        }                                                                                     \
    }
DEF_ARGM(argmax_f32, float, ARGM_BETTER_MAX)
DEF_ARGM(argmax_f64, double, ARGM_BETTER_MAX)
DEF_ARGM(argmax_i32, int32_t, ARGM_BETTER_MAX)
DEF_ARGM(argmax_i64, int64_t, ARGM_BETTER_MAX)
DEF_ARGM(argmax_u8, uint8_t, ARGM_BETTER_MAX)
DEF_ARGM(argmin_f32, float, ARGM_BETTER_MIN)
DEF_ARGM(argmin_f64, double, ARGM_BETTER_MIN)
DEF_ARGM(argmin_i32, int32_t, ARGM_BETTER_MIN)
DEF_ARGM(argmin_i64, int64_t, ARGM_BETTER_MIN)
DEF_ARGM(argmin_u8, uint8_t, ARGM_BETTER_MIN)

#define ARGM_RUN(K)                                                                           \
    switch (in->dtype) {                                                                      \
    case AM_DTYPE_FLOAT32: K##_f32(in->data, out->data, req, outer, m, inner); break;         \
    case AM_DTYPE_FLOAT64: K##_f64(in->data, out->data, req, outer, m, inner); break;         \
    case AM_DTYPE_INT32: K##_i32(in->data, out->data, req, outer, m, inner); break;           \
    case AM_DTYPE_INT64: K##_i64(in->data, out->data, req, outer, m, inner); break;           \
    case AM_DTYPE_UINT8: K##_u8(in->data, out->data, req, outer, m, inner); break;            \
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %d", (int)in->dtype);           \
    }

static am_status argm_kernel(const argm_attrs *a, const am_view *in, const am_view *out,
                             am_req req, bool is_max)
{
    am_shape s = {.ndim = in->ndim};
    int64_t outer, m, inner;
    int axis;
    for (int i = 0; i < in->ndim; i++) s.dim[i] = in->dim[i];
    am_status st = argm_axis(a, &s, &axis);
    if (st != AM_OK || req == AM_REQ_NULL) return st;
    argm_split(a, &s, axis, &outer, &m, &inner);
    if (in->dtype == AM_DTYPE_UINT8 && m > 256)
        return am_fail(AM_ERR_DTYPE, "uint8 indices cannot count past 255 (axis of %lld); "
                       "cast data to a wider dtype first", (long long)m);
    if (outer * inner == 0 || m == 0) return AM_OK;
    if (is_max) ARGM_RUN(argmax) else ARGM_RUN(argmin);
    return AM_OK;
}

static am_status argmax_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return argm_kernel(attrs, &in[0], &out[0], req[0], true);
}

static am_status argmin_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return argm_kernel(attrs, &in[0], &out[0], req[0], false);
}

/* Indices come back in data's dtype, as MXNet 1.x (ElemwiseType<1, 1>) returns them. */
#define ARGM_OP(id, doc_)                                                                     \
    const am_op_def am_op_##id = {                                                            \
        .name = #id, .input_names = data_input, .num_outputs = 1, .attrs = argm_fields,       \
        .attrs_size = sizeof(argm_attrs), .infer_shape = argm_shape,                          \
        .infer_dtype = am_infer_dtype_same, .cpu = id##_cpu, .fuse = AM_FUSE_REDUCE,          \
        .flags = AM_OP_NO_GRAD, .doc = doc_}
ARGM_OP(argmax, "Index of the first maximum along an axis, in data's dtype.");
ARGM_OP(argmin, "Index of the first minimum along an axis, in data's dtype.");

/* argmax_channel: argmax over axis 1 without keepdims, and no attributes (MXNet). */
static const argm_attrs channel_attrs = {.axis = {true, 1}, .keepdims = false};

static am_status argmax_channel_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(attrs);
    return argm_shape(&channel_attrs, in, n_in, out, n_out);
}

static am_status argmax_channel_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return argm_kernel(&channel_attrs, &in[0], &out[0], req[0], true);
}

const am_op_def am_op_argmax_channel = {
    .name = "argmax_channel", .input_names = data_input, .num_outputs = 1,
    .infer_shape = argmax_channel_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = argmax_channel_cpu, .fuse = AM_FUSE_REDUCE, .flags = AM_OP_NO_GRAD,
    .doc = "argmax over axis 1 (the channels), without keepdims, in data's dtype."};

am_array *am_argmax_channel_at(am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(&am_op_argmax_channel, NULL, &x, 1, &y, 1, at);
    return y;
}

static am_array *argm_call(const am_op_def *op, am_array *x, int64_t axis, bool keepdims,
                           am_site at)
{
    argm_attrs a = {.axis = {axis != AM_NONE, axis}, .keepdims = keepdims};
    am_array *y = NULL;
    am_op_call(op, &a, &x, 1, &y, 1, at);
    return y;
}

am_array *am_argmax_at(am_array *x, int64_t axis, bool keepdims, am_site at)
{
    return argm_call(&am_op_argmax, x, axis, keepdims, at);
}

am_array *am_argmin_at(am_array *x, int64_t axis, bool keepdims, am_site at)
{
    return argm_call(&am_op_argmin, x, axis, keepdims, at);
}
