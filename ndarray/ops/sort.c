/* Ordering ops: topk, sort, argsort (and topk's gradient, _backward_topk), and
 * reverse.  Rows along the axis are ordered exactly as MXNet 1.9.1's CPU
 * kernel orders them (GNU libstdc++'s std::sort, or std::partial_sort when
 * k * 8 <= n), so ties and NaNs come out in MXNet's order. */
#include "shape_impl.h"

/* ---- MXNet's row ordering ------------------------------------------------------------ */

/* The algorithms of libstdc++'s std::sort (introsort: median-of-three quicksort
 * down to runs of 16, heapsort past the depth limit, then insertion sort) and
 * std::partial_sort (heap select, then heap sort), on an array of positions
 * idx compared through their values v[pos * stride].  LESS(a, b) is the
 * comparison of positions a and b: v[a] < v[b] ascending, > descending.  The
 * unguarded scans of libstdc++ get bounds checks, which change nothing for
 * consistent comparisons and keep NaN rows in bounds. */
#define DEFINE_ORDER(T)                                                                          \
    typedef struct order_##T {                                                                   \
        const T *v;                                                                              \
        int64_t stride;                                                                          \
        bool desc;                                                                               \
    } order_##T;                                                                                 \
    static inline bool less_##T(const order_##T *o, int64_t a, int64_t b)                        \
    {                                                                                            \
        T x = o->v[a * o->stride], y = o->v[b * o->stride];                                      \
        return o->desc ? x > y : x < y;                                                          \
    }                                                                                            \
    static void push_heap_##T(const order_##T *o, int64_t *f, int64_t hole, int64_t top,         \
                              int64_t val)                                                       \
    {                                                                                            \
        int64_t parent = (hole - 1) / 2;                                                         \
        while (hole > top && less_##T(o, f[parent], val)) {                                      \
            f[hole] = f[parent];                                                                 \
            hole = parent;                                                                       \
            parent = (hole - 1) / 2;                                                             \
        }                                                                                        \
        f[hole] = val;                                                                           \
    }                                                                                            \
    static void adjust_heap_##T(const order_##T *o, int64_t *f, int64_t hole, int64_t len,       \
                                int64_t val)                                                     \
    {                                                                                            \
        int64_t top = hole, child = hole;                                                        \
        while (child < (len - 1) / 2) {                                                          \
            child = 2 * (child + 1);                                                             \
            if (less_##T(o, f[child], f[child - 1])) child--;                                    \
            f[hole] = f[child];                                                                  \
            hole = child;                                                                        \
        }                                                                                        \
        if ((len & 1) == 0 && child == (len - 2) / 2) {                                          \
            child = 2 * (child + 1);                                                             \
            f[hole] = f[child - 1];                                                              \
            hole = child - 1;                                                                    \
        }                                                                                        \
        push_heap_##T(o, f, hole, top, val);                                                     \
    }                                                                                            \
    /* std::partial_sort(f, f + mid, f + n) */                                                   \
    static void partial_sort_##T(const order_##T *o, int64_t *f, int64_t mid, int64_t n)         \
    {                                                                                            \
        if (mid >= 2)                                                                            \
            for (int64_t p = (mid - 2) / 2;; p--) {                                              \
                adjust_heap_##T(o, f, p, mid, f[p]);                                             \
                if (p == 0) break;                                                               \
            }                                                                                    \
        for (int64_t i = mid; i < n; i++)                                                        \
            if (less_##T(o, f[i], f[0])) {                                                       \
                int64_t val = f[i];                                                              \
                f[i] = f[0];                                                                     \
                adjust_heap_##T(o, f, 0, mid, val);                                              \
            }                                                                                    \
        for (int64_t last = mid; last > 1;) {                                                    \
            last--;                                                                              \
            int64_t val = f[last];                                                               \
            f[last] = f[0];                                                                      \
            adjust_heap_##T(o, f, 0, last, val);                                                 \
        }                                                                                        \
    }                                                                                            \
    static void linear_insert_##T(const order_##T *o, int64_t *f, int64_t i, int64_t lo)         \
    {                                                                                            \
        int64_t val = f[i];                                                                      \
        while (i > lo && less_##T(o, val, f[i - 1])) {                                           \
            f[i] = f[i - 1];                                                                     \
            i--;                                                                                 \
        }                                                                                        \
        f[i] = val;                                                                              \
    }                                                                                            \
    static void insertion_sort_##T(const order_##T *o, int64_t *f, int64_t n)                    \
    {                                                                                            \
        for (int64_t i = 1; i < n; i++) {                                                        \
            if (less_##T(o, f[i], f[0])) {                                                       \
                int64_t val = f[i];                                                              \
                memmove(f + 1, f, (size_t)i * sizeof(*f));                                       \
                f[0] = val;                                                                      \
            } else {                                                                             \
                linear_insert_##T(o, f, i, 0);                                                   \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    static void median_to_first_##T(const order_##T *o, int64_t *f, int64_t a, int64_t b,        \
                                    int64_t c)                                                   \
    {                                                                                            \
        int64_t m;                                                                               \
        if (less_##T(o, f[a], f[b])) {                                                           \
            if (less_##T(o, f[b], f[c])) m = b;                                                  \
            else if (less_##T(o, f[a], f[c])) m = c;                                             \
            else m = a;                                                                          \
        } else if (less_##T(o, f[a], f[c])) m = a;                                               \
        else if (less_##T(o, f[b], f[c])) m = c;                                                 \
        else m = b;                                                                              \
        int64_t t = f[0];                                                                        \
        f[0] = f[m], f[m] = t;                                                                   \
    }                                                                                            \
    /* Partitions f[1, n) around the pivot f[0]; returns the cut. */                             \
    static int64_t partition_##T(const order_##T *o, int64_t *f, int64_t n)                      \
    {                                                                                            \
        int64_t lo = 1, hi = n, p = f[0];                                                        \
        for (;;) {                                                                               \
            while (lo < n && less_##T(o, f[lo], p)) lo++;                                        \
            hi--;                                                                                \
            while (hi > 0 && less_##T(o, p, f[hi])) hi--;                                        \
            if (!(lo < hi)) return lo;                                                           \
            int64_t t = f[lo];                                                                   \
            f[lo] = f[hi], f[hi] = t;                                                            \
            lo++;                                                                                \
        }                                                                                        \
    }                                                                                            \
    static void introsort_##T(const order_##T *o, int64_t *f, int64_t n, int depth)              \
    {                                                                                            \
        while (n > 16) {                                                                         \
            if (depth == 0) {                                                                    \
                partial_sort_##T(o, f, n, n);                                                    \
                return;                                                                          \
            }                                                                                    \
            depth--;                                                                             \
            median_to_first_##T(o, f, 1, n / 2, n - 1);                                          \
            int64_t cut = partition_##T(o, f, n);                                                \
            introsort_##T(o, f + cut, n - cut, depth);                                           \
            n = cut;                                                                             \
        }                                                                                        \
    }                                                                                            \
    /* std::sort(f, f + n) */                                                                    \
    static void full_sort_##T(const order_##T *o, int64_t *f, int64_t n)                         \
    {                                                                                            \
        if (n < 2) return;                                                                       \
        int lg = 0;                                                                              \
        while ((n >> (lg + 1)) > 0) lg++;                                                        \
        introsort_##T(o, f, n, 2 * lg);                                                          \
        if (n > 16) {                                                                            \
            insertion_sort_##T(o, f, 16);                                                        \
            for (int64_t i = 16; i < n; i++) linear_insert_##T(o, f, i, 0);                      \
        } else {                                                                                 \
            insertion_sort_##T(o, f, n);                                                         \
        }                                                                                        \
    }                                                                                            \
    /* Positions of the first k of the n values at v (stride apart) in idx. */                   \
    static void order_row_##T(const T *v, int64_t stride, bool desc, int64_t *idx, int64_t n,    \
                              int64_t k)                                                         \
    {                                                                                            \
        order_##T o = {v, stride, desc};                                                         \
        for (int64_t i = 0; i < n; i++) idx[i] = i;                                              \
        if (k * 8 > n) full_sort_##T(&o, idx, n);                                                \
        else partial_sort_##T(&o, idx, k, n);                                                    \
    }

typedef int32_t i32;
typedef int64_t i64;
typedef uint8_t u8;
DEFINE_ORDER(float)
DEFINE_ORDER(double)
DEFINE_ORDER(i32)
DEFINE_ORDER(i64)
DEFINE_ORDER(u8)

/* ---- geometry -------------------------------------------------------------------------- */

/* Rows along the axis: lead * trail rows of len elements, trail apart. */
typedef struct rows {
    int axis;                /* -1: the flattened array */
    int64_t lead, len, trail;
} rows;

static am_status rows_of(const am_opt_int *axis, const am_shape *s, rows *r)
{
    r->axis = -1, r->lead = 1, r->trail = 1;
    if (!axis->has) {
        r->len = am_shape_size(s);
        return AM_OK;
    }
    am_status st = am_norm_axis(axis->v, s->ndim, "axis", &r->axis);
    if (st != AM_OK) return st;
    am_split3(s, r->axis, &r->lead, &r->trail);
    r->len = s->dim[r->axis];
    return AM_OK;
}

/* The shape of a result with k elements per row. */
static am_shape rows_shape(const rows *r, const am_shape *s, int64_t k)
{
    am_shape o = *s;
    if (r->axis < 0) o = (am_shape){.ndim = 1, .dim = {k}};
    else o.dim[r->axis] = k;
    return o;
}

/* Orders every row of x into idx (len positions per row, rows in order). */
static am_status order_rows(const am_view *x, const rows *r, bool ascend, int64_t k,
                            int64_t *idx)
{
    int64_t nrows = r->lead * r->trail, len = r->len, trail = r->trail, n = nrows * len;
    AM_UNUSED(n);
#define ORDER_CASE(dt, T)                                                                     \
    case dt: {                                                                                \
        const T *v = x->data;                                                                 \
        _Pragma("omp parallel for if (n > AM_OMP_MIN / 8) schedule(dynamic, 16)")              \
        for (int64_t q = 0; q < nrows; q++)                                                   \
            order_row_##T(v + (q / trail) * len * trail + q % trail, trail, !ascend,          \
                          idx + q * len, len, k);                                             \
        break;                                                                                \
    }
    switch (x->dtype) {
        ORDER_CASE(AM_DTYPE_FLOAT32, float)
        ORDER_CASE(AM_DTYPE_FLOAT64, double)
        ORDER_CASE(AM_DTYPE_INT32, i32)
        ORDER_CASE(AM_DTYPE_INT64, i64)
        ORDER_CASE(AM_DTYPE_UINT8, u8)
    default:
        return am_fail(AM_ERR_DTYPE, "unsupported dtype %s", am_dtype_name(x->dtype));
    }
#undef ORDER_CASE
    return AM_OK;
}

/* Position q*k + j of a k-per-row result in row-major order of its shape. */
static inline int64_t row_pos(const rows *r, int64_t q, int64_t j, int64_t k)
{
    return ((q / r->trail) * k + j) * r->trail + q % r->trail;
}

/* out = the first k values of each ordered row of x. */
static am_status write_values(const am_view *x, const rows *r, const int64_t *idx, int64_t k,
                              const am_view *out, am_req req)
{
    int64_t nrows = r->lead * r->trail, n = nrows * k;
    if (req == AM_REQ_NULL || n == 0) return AM_OK;
    bool add = req == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *v = x->data;
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t e = 0; e < n; e++) {
            int64_t q = e / k, j = e % k;
            T s = v[((q / r->trail) * r->len + idx[q * r->len + j]) * r->trail + q % r->trail];
            int64_t p = row_pos(r, q, j, k);
            y[p] = add ? y[p] + s : s;
        }
    });
    return AM_OK;
}

/* out = the first k positions of each ordered row, in out's dtype. */
static am_status write_indices(const rows *r, const int64_t *idx, int64_t k, const am_view *out,
                               am_req req)
{
    int64_t nrows = r->lead * r->trail, n = nrows * k;
    if (req == AM_REQ_NULL || n == 0) return AM_OK;
    bool add = req == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t e = 0; e < n; e++) {
            int64_t q = e / k, p = row_pos(r, q, e % k, k);
            T s = (T)idx[q * r->len + e % k];
            y[p] = add ? y[p] + s : s;
        }
    });
    return AM_OK;
}

/* out (data's shape) = 1 at the first k positions of each ordered row, else 0. */
static am_status write_mask(const rows *r, const int64_t *idx, int64_t k, const am_view *out,
                            am_req req)
{
    int64_t nrows = r->lead * r->trail, n = nrows * k;
    if (req == AM_REQ_NULL) return AM_OK;
    if (req != AM_REQ_ADD)
        memset(out->data, 0, (size_t)am_view_size(out) * am_dtype_size(out->dtype));
    AM_DTYPE_SWITCH(out->dtype, T, {
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t e = 0; e < n; e++) {
            int64_t q = e / k;
            y[row_pos(r, q, idx[q * r->len + e % k], r->len)] += (T)1;
        }
    });
    return AM_OK;
}

static size_t order_temp(const am_shape *in)
{
    return (size_t)am_shape_size(&in[0]) * sizeof(int64_t);
}

static am_status workspace_ok(const am_kernel_ctx *ctx, const am_view *x)
{
    if (am_view_size(x) == 0) return AM_OK;
    if (!ctx->workspace || ctx->workspace_bytes < (size_t)am_view_size(x) * sizeof(int64_t))
        return am_fail(AM_ERR_INTERNAL, "the sort workspace is missing or too small");
    return AM_OK;
}

/* ---- topk ------------------------------------------------------------------------------- */

enum { RET_BOTH, RET_INDICES, RET_MASK, RET_VALUE };
static const char *const ret_types[] = {"both", "indices", "mask", "value", NULL};

typedef struct topk_attrs {
    am_opt_int axis;
    int64_t k;
    int ret_typ;
    bool is_ascend;
    int dtype;
} topk_attrs;

static const am_attr_field topk_fields[] = {
    AM_ATTR_FIELD(topk_attrs, axis, AM_ATTR_OPT_INT, "-1",
                  "axis to select along; None: the flattened array"),
    AM_ATTR_FIELD(topk_attrs, k, AM_ATTR_INT, "1", "elements to keep; k < 1 keeps all"),
    AM_ATTR_ENUM_FIELD(topk_attrs, ret_typ, ret_types, "indices",
                       "value, indices, both (value and indices) or a 0/1 mask of data's shape"),
    AM_ATTR_FIELD(topk_attrs, is_ascend, AM_ATTR_BOOL, "False",
                  "select the smallest (True) or the largest (False)"),
    AM_ATTR_FIELD(topk_attrs, dtype, AM_ATTR_DTYPE, "float32", "dtype of the indices"),
    {0}};

/* value keeps its indices as a hidden second output for the gradient. */
static int topk_outputs(const void *attrs)
{
    int t = ((const topk_attrs *)attrs)->ret_typ;
    return t == RET_BOTH || t == RET_VALUE ? 2 : 1;
}

static int topk_visible(const void *attrs)
{
    return ((const topk_attrs *)attrs)->ret_typ == RET_BOTH ? 2 : 1;
}

static int topk_visible_one(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

/* The rows and the resolved k of data s. */
static am_status topk_rows(const topk_attrs *a, const am_shape *s, rows *r, int64_t *k)
{
    char buf[AM_SHAPE_BUF];
    am_status st = rows_of(&a->axis, s, r);
    if (st != AM_OK) return st;
    *k = a->k < 1 ? r->len : a->k;
    if (*k > r->len && r->axis >= 0)
        return am_fail(AM_ERR_ARG, "k=%lld is out of range for data %s: axis %d has %lld "
                       "elements", (long long)a->k, am_fmt_shape(s, buf), r->axis,
                       (long long)r->len);
    if (*k > r->len)
        return am_fail(AM_ERR_ARG, "k=%lld is out of range for data %s of %lld elements "
                       "(axis=None)", (long long)a->k, am_fmt_shape(s, buf), (long long)r->len);
    return AM_OK;
}

static am_status topk_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    const topk_attrs *a = attrs;
    rows r;
    int64_t k;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = topk_rows(a, &in[0], &r, &k);
    if (st != AM_OK) return st;
    out[0] = a->ret_typ == RET_MASK ? in[0] : rows_shape(&r, &in[0], k);
    if (n_out > 1) out[1] = out[0];
    return AM_OK;
}

static am_status topk_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(n_in);
    const topk_attrs *a = attrs;
    am_dtype it = a->dtype < 0 ? AM_DTYPE_FLOAT32 : (am_dtype)a->dtype;
    if ((unsigned)in[0] >= AM_DTYPE_COUNT)
        return am_fail(AM_ERR_DTYPE, "the dtype of data is unknown");
    out[0] = a->ret_typ == RET_INDICES ? it : in[0];
    if (n_out > 1) out[1] = a->ret_typ == RET_BOTH ? it : AM_DTYPE_INT64;
    return AM_OK;
}

static size_t topk_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return order_temp(in);
}

static am_status topk_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in);
    const topk_attrs *a = attrs;
    am_shape s = am_view_shape(&in[0]);
    rows r;
    int64_t k, *idx = ctx->workspace;
    am_status st = topk_rows(a, &s, &r, &k);
    if (st == AM_OK) st = workspace_ok(ctx, &in[0]);
    if (st == AM_OK && am_view_size(&in[0]) > 0) st = order_rows(&in[0], &r, a->is_ascend, k, idx);
    if (st != AM_OK) return st;
    switch (a->ret_typ) {
    case RET_MASK: return write_mask(&r, idx, k, &out[0], req[0]);
    case RET_INDICES: return write_indices(&r, idx, k, &out[0], req[0]);
    default:
        st = write_values(&in[0], &r, idx, k, &out[0], req[0]);
        return st == AM_OK && n_out > 1 ? write_indices(&r, idx, k, &out[1], req[1]) : st;
    }
}

/* _backward_topk's attributes: the forward axis, and data's shape. */
typedef struct backward_topk_attrs {
    am_opt_int axis;
    am_tuple shape;
} backward_topk_attrs;

extern const am_op_def am_op_backward_topk;

static am_array *backward_topk(am_array *og, am_array *indices, am_opt_int axis, am_shape data,
                               am_site at)
{
    backward_topk_attrs b = {.axis = axis};
    am_tuple_from_i64(data.dim, data.ndim, &b.shape);
    am_array *in[2] = {og, indices}, *y = NULL;
    am_op_call(&am_op_backward_topk, &b, in, 2, &y, 1, at);
    return y;
}

/* The value output's gradient goes back to the positions it came from; indices
 * and masks are piecewise constant (no gradient, as MXNet's zeros). */
static am_status topk_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    const topk_attrs *a = g->attrs;
    if (!g->need_grad[0] || (a->ret_typ != RET_VALUE && a->ret_typ != RET_BOTH)) return AM_OK;
    ig[0] = backward_topk(og[0], out[1], a->axis, am_array_shape(in[0]), g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_topk = {
    .name = "topk", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 2, .num_outputs_of = topk_outputs, .num_visible = topk_visible,
    .attrs = topk_fields, .attrs_size = sizeof(topk_attrs), .infer_shape = topk_shape,
    .infer_dtype = topk_dtype, .temp_bytes = topk_temp, .cpu = topk_cpu, .gradient = topk_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "The k largest (or smallest) elements along axis: their values, indices (dtype), "
           "both, or a 0/1 mask; ties in MXNet's CPU order."};

am_status am_topk_at(am_array *x, int64_t axis, int64_t k, const char *ret_typ, bool is_ascend,
                     am_dtype dtype, am_array **out, am_site at)
{
    topk_attrs a = {.axis = {axis != AM_NONE, axis == AM_NONE ? 0 : axis}, .k = k,
                    .is_ascend = is_ascend, .dtype = (int)dtype};
    a.ret_typ = -1;
    for (int i = 0; ret_typ && ret_types[i]; i++)
        if (strcmp(ret_typ, ret_types[i]) == 0) a.ret_typ = i;
    if (a.ret_typ < 0)
        return am_fail_at("topk", at, AM_ERR_ARG, "ret_typ '%s' is not value, indices, both or "
                          "mask", ret_typ ? ret_typ : "(null)");
    if ((unsigned)dtype >= AM_DTYPE_COUNT)
        return am_fail_at("topk", at, AM_ERR_DTYPE, "unknown dtype %d", (int)dtype);
    return am_op_call(&am_op_topk, &a, &x, 1, out, topk_visible(&a), at);
}

/* ---- _backward_topk ---------------------------------------------------------------------- */

static const am_attr_field backward_topk_fields[] = {
    AM_ATTR_FIELD(backward_topk_attrs, axis, AM_ATTR_OPT_INT, "-1",
                  "the forward axis; None: the flattened array"),
    AM_ATTR_FIELD(backward_topk_attrs, shape, AM_ATTR_TUPLE, NULL,
                  "shape of the forward data, and of the result"),
    {0}};

static am_status backward_topk_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_out);
    const backward_topk_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_shape data;
    rows r;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_shape_of_tuple(&a->shape, &data);
    if (st == AM_OK) st = rows_of(&a->axis, &data, &r);
    if (st != AM_OK) return st;
    int64_t k = r.axis < 0 ? (in[0].ndim == 1 ? in[0].dim[0] : -1)
                           : (in[0].ndim == data.ndim ? in[0].dim[r.axis] : -1);
    am_shape want = rows_shape(&r, &data, k);
    bool same = k >= 0 && k <= r.len && in[0].ndim == want.ndim && in[1].ndim == want.ndim;
    for (int i = 0; same && i < want.ndim; i++)
        same = in[0].dim[i] == want.dim[i] && in[1].dim[i] == want.dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "ograd %s and indices %s are not topk results of data %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1),
                       am_fmt_shape(&data, b2));
    out[0] = data;
    return AM_OK;
}

static am_status backward_topk_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                     int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
    out[0] = in[0];
    return AM_OK;
}

/* Each row's positions are distinct, so the additions never collide. */
static am_status backward_topk_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_topk_attrs *a = attrs;
    am_shape s = am_view_shape(&out[0]);
    rows r;
    am_status st = rows_of(&a->axis, &s, &r);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    int64_t k = r.axis < 0 ? in[0].dim[0] : in[0].dim[r.axis], n = am_view_size(&in[0]);
    if (req[0] != AM_REQ_ADD)
        memset(out->data, 0, (size_t)am_view_size(out) * am_dtype_size(out->dtype));
    if (n == 0) return AM_OK;
    const am_view *iv = &in[1];
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *g = in[0].data;
        T *y = out->data;
        for (int64_t e = 0; e < n; e++) {
            int64_t q = e / k, p = row_pos(&r, q, e % k, k);
            double d = am_view_get(iv, p);
            int64_t j = (int64_t)d;
            if (!(d >= 0) || j >= r.len)
                return am_fail(AM_ERR_ARG, "index %g is out of range for axis length %lld", d,
                               (long long)r.len);
            y[row_pos(&r, q, j, r.len)] += g[p];
        }
    });
    return AM_OK;
}

/* Linear in ograd: its gradient gathers ograd's gradient back at the indices,
 * sum(one_hot(indices) * gradient moved to the last axis) over that axis. */
static am_status backward_topk_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    const backward_topk_attrs *a = g->attrs;
    if (!g->need_grad[0]) return AM_OK;
    am_site at = g->at;
    am_array *gy = og[0], *idx = in[1];
    am_shape s = am_array_shape(gy), ks = am_array_shape(idx);
    int axis = 0, perm[AM_MAX_NDIM], n = 0;
    if (!a->axis.has) {
        gy = am_reshape_at(gy, AM_SHAPE(am_shape_size(&s)), false, at);
        s = am_array_shape(gy);
    } else if (!am_axis_norm(a->axis.v, s.ndim, &axis)) {
        return am_fail(AM_ERR_ARG, "axis=%lld is out of range", (long long)a->axis.v);
    }
    for (int i = 0; i < s.ndim; i++)
        if (i != axis) perm[n++] = i;
    perm[n++] = axis;
    am_array *moved = am_expand_dims_at(am_transpose_at(gy, perm, n, at), axis, at);
    am_array *oh = am_one_hot_at(idx, s.dim[axis], 1, 0, am_array_dtype(gy), at);
    int last = ks.ndim;
    ig[0] = am_sum_at(am_broadcast_mul_at(oh, moved, at), &last, 1, false, at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_backward_topk = {
    .name = "_backward_topk", .input_names = (const char *const[]){"ograd", "indices", NULL},
    .num_outputs = 1, .attrs = backward_topk_fields, .attrs_size = sizeof(backward_topk_attrs),
    .infer_shape = backward_topk_shape, .infer_dtype = backward_topk_dtype,
    .cpu = backward_topk_cpu, .gradient = backward_topk_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Gradient of topk and sort: ograd written into zeros of the given shape at the "
           "indices along axis."};

/* ---- sort, argsort -------------------------------------------------------------------- */

typedef struct sort_attrs {
    am_opt_int axis;
    bool is_ascend;
    int dtype;  /* argsort only */
} sort_attrs;

static const am_attr_field sort_fields[] = {
    AM_ATTR_FIELD(sort_attrs, axis, AM_ATTR_OPT_INT, "-1",
                  "axis to sort along; None: the flattened array"),
    AM_ATTR_FIELD(sort_attrs, is_ascend, AM_ATTR_BOOL, "True", "ascending (True) or descending"),
    {0}};

static const am_attr_field argsort_fields[] = {
    AM_ATTR_FIELD(sort_attrs, axis, AM_ATTR_OPT_INT, "-1",
                  "axis to sort along; None: the flattened array"),
    AM_ATTR_FIELD(sort_attrs, is_ascend, AM_ATTR_BOOL, "True", "ascending (True) or descending"),
    AM_ATTR_FIELD(sort_attrs, dtype, AM_ATTR_DTYPE, "float32", "dtype of the indices"),
    {0}};

/* sort is topk(k=0, ret_typ=value) and argsort topk(k=0, ret_typ=indices), as in MXNet. */
static topk_attrs as_topk(const void *attrs, int ret_typ)
{
    const sort_attrs *s = attrs;
    return (topk_attrs){.axis = s->axis, .k = 0, .ret_typ = ret_typ, .is_ascend = s->is_ascend,
                        .dtype = ret_typ == RET_INDICES ? s->dtype : (int)AM_DTYPE_INT64};
}

static am_status sort_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    topk_attrs t = as_topk(attrs, RET_VALUE);
    return topk_shape(&t, in, n_in, out, n_out);
}

static am_status sort_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    topk_attrs t = as_topk(attrs, RET_VALUE);
    return topk_dtype(&t, in, n_in, out, n_out);
}

static am_status sort_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    topk_attrs t = as_topk(attrs, RET_VALUE);
    return topk_cpu(ctx, &t, in, n_in, out, n_out, req);
}

static am_status sort_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    topk_attrs t = as_topk(g->attrs, RET_VALUE);
    am_grad_ctx tg = *g;
    tg.attrs = &t;
    return topk_grad(&tg, in, out, og, ig);
}

const am_op_def am_op_sort = {
    .name = "sort", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 2, .num_visible = topk_visible_one, .attrs = sort_fields,
    .attrs_size = sizeof(sort_attrs), .infer_shape = sort_shape, .infer_dtype = sort_dtype,
    .temp_bytes = topk_temp, .cpu = sort_cpu, .gradient = sort_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "data sorted along axis (None: flattened); ties in MXNet's CPU order."};

static am_status argsort_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    topk_attrs t = as_topk(attrs, RET_INDICES);
    return topk_shape(&t, in, n_in, out, n_out);
}

static am_status argsort_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    topk_attrs t = as_topk(attrs, RET_INDICES);
    return topk_dtype(&t, in, n_in, out, n_out);
}

static am_status argsort_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    topk_attrs t = as_topk(attrs, RET_INDICES);
    return topk_cpu(ctx, &t, in, n_in, out, n_out, req);
}

const am_op_def am_op_argsort = {
    .name = "argsort", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = argsort_fields, .attrs_size = sizeof(sort_attrs),
    .infer_shape = argsort_shape, .infer_dtype = argsort_dtype, .temp_bytes = topk_temp,
    .cpu = argsort_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Indices (dtype) that sort data along axis (None: flattened); ties in MXNet's CPU "
           "order."};

am_array *am_sort_at(am_array *x, int64_t axis, bool is_ascend, am_site at)
{
    sort_attrs a = {.axis = {axis != AM_NONE, axis == AM_NONE ? 0 : axis},
                    .is_ascend = is_ascend};
    return am_call1(&am_op_sort, &a, x, at);
}

am_array *am_argsort_at(am_array *x, int64_t axis, bool is_ascend, am_dtype dtype, am_site at)
{
    sort_attrs a = {.axis = {axis != AM_NONE, axis == AM_NONE ? 0 : axis},
                    .is_ascend = is_ascend, .dtype = (int)dtype};
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail_at("argsort", at, AM_ERR_DTYPE, "unknown dtype %d", (int)dtype);
        return NULL;
    }
    return am_call1(&am_op_argsort, &a, x, at);
}

/* ---- reverse (flip) ------------------------------------------------------------------- */

typedef struct reverse_attrs {
    am_tuple axis;
} reverse_attrs;

static const am_attr_field reverse_fields[] = {
    AM_ATTR_FIELD(reverse_attrs, axis, AM_ATTR_TUPLE, NULL, "axes to reverse"),
    {0}};

/* flip[i]: axis i is reversed.  An axis listed twice is reversed twice (kept), as
 * in MXNet; negative axes count from the end (MXNet 1.x rejects them). */
static am_status reverse_axes(const reverse_attrs *a, int ndim, bool *flip)
{
    char buf[AM_SHAPE_BUF];
    memset(flip, 0, sizeof(bool) * AM_MAX_NDIM);
    if (a->axis.ndim < 0 || a->axis.none)
        return am_fail(AM_ERR_ARG, "axis=%s must list axes", am_fmt_tuple(&a->axis, buf));
    for (int i = 0; i < a->axis.ndim; i++) {
        int ax;
        am_status st = am_norm_axis(a->axis.v[i], ndim, "axis", &ax);
        if (st != AM_OK) return st;
        flip[ax] = !flip[ax];
    }
    return AM_OK;
}

static am_status reverse_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    bool flip[AM_MAX_NDIM];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = reverse_axes(attrs, in[0].ndim, flip);
    if (st == AM_OK) out[0] = in[0];
    return st;
}

static am_status reverse_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    bool flip[AM_MAX_NDIM];
    am_status st = reverse_axes(attrs, in->ndim, flip);
    if (st != AM_OK || am_view_size(out) == 0) return st;
    am_copy_plan p = {0};
    int64_t offset = 0;
    for (int i = 0; i < in->ndim; i++) {
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], flip[i] ? -in->strides[i]
                                                                    : in->strides[i]);
        if (flip[i]) offset += (in->dim[i] - 1) * in->strides[i];
    }
    return am_copy_run(in, out, &p, offset, req[0]);
}

static am_status reverse_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = am_call1(g->op, g->attrs, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_reverse = {
    .name = "reverse", .aliases = (const char *const[]){"flip", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = reverse_fields, .attrs_size = sizeof(reverse_attrs), .infer_shape = reverse_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = reverse_cpu, .gradient = reverse_grad,
    .fuse = AM_FUSE_INJECTIVE, .doc = "data with the order of elements along each listed axis "
                                      "reversed."};

am_array *am_reverse_at(am_array *x, const int *axes, int naxes, am_site at)
{
    reverse_attrs a = {0};
    if (naxes < 0 || naxes > AM_MAX_TUPLE || (naxes > 0 && !axes)) {
        am_fail_at("reverse", at, AM_ERR_ARG, "axes must hold naxes (%d) entries, at most %d",
                   naxes, AM_MAX_TUPLE);
        return NULL;
    }
    a.axis.ndim = naxes;
    for (int i = 0; i < naxes; i++) a.axis.v[i] = axes[i];
    return am_call1(&am_op_reverse, &a, x, at);
}
