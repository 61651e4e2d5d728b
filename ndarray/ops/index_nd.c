/* N-dimensional indexing: gather_nd, scatter_nd, _scatter_set_nd and
 * _backward_gather_nd, and _ravel_multi_index and _unravel_index.  indices is (M, Y...): column j holds the first M
 * coordinates of one element (or block) of the full array X; negative
 * coordinates count from the end, others outside X are an error naming them.
 * Each kernel first turns the columns into block offsets in its workspace. */
#include "shape_impl.h"

/* The geometry of one indexing: X (the full array), Y (indices' columns), the
 * block of X's trailing axes each column addresses, and M. */
typedef struct nd_geom {
    am_shape full;     /* X */
    int m;             /* coordinates per column */
    int64_t cols;      /* prod Y */
    int64_t block;     /* prod X[M:] */
} nd_geom;

/* The shape of a gather: Y + X[M:]. */
static am_status nd_geom_of(const am_shape *full, const am_shape *indices, nd_geom *g,
                            am_shape *part)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (indices->ndim < 1 || indices->dim[0] < 1 || indices->dim[0] > full->ndim)
        return am_fail(AM_ERR_SHAPE, "indices %s must be (M, ...) with 1 <= M <= %d, the "
                       "dimensions of %s", am_fmt_shape(indices, b1), full->ndim,
                       am_fmt_shape(full, b0));
    g->full = *full;
    g->m = (int)indices->dim[0];
    g->cols = g->block = 1;
    part->ndim = 0;
    for (int i = 1; i < indices->ndim; i++) {
        g->cols *= indices->dim[i];
        part->dim[part->ndim++] = indices->dim[i];
    }
    am_status st = am_check_ndim(indices->ndim - 1 + full->ndim - g->m);
    if (st != AM_OK) return st;
    for (int i = g->m; i < full->ndim; i++) {
        g->block *= full->dim[i];
        part->dim[part->ndim++] = full->dim[i];
    }
    return AM_OK;
}

/* off[j] = the block offset that column j of indices addresses. */
static am_status nd_offsets(const am_kernel_ctx *ctx, const am_view *indices, const nd_geom *g,
                            int64_t **off)
{
    char buf[AM_SHAPE_BUF];
    *off = ctx->workspace;
    if (g->cols == 0) return AM_OK;
    if (!ctx->workspace || ctx->workspace_bytes < (size_t)g->cols * sizeof(int64_t))
        return am_fail(AM_ERR_INTERNAL, "the index workspace is missing or too small");
    int64_t *o = *off;
    for (int64_t j = 0; j < g->cols; j++) {
        int64_t at = 0;
        for (int i = 0; i < g->m; i++) {
            double v = am_view_get(indices, i * g->cols + j);
            int64_t d = g->full.dim[i], k = v < 0 ? (int64_t)v + d : (int64_t)v;
            if (!(v > -1e18 && v < 1e18) || k < 0 || k >= d)
                return am_fail(AM_ERR_ARG, "index %g (indices[%d, %lld]) is out of range for "
                               "axis %d of size %lld of %s", v, i, (long long)j, i,
                               (long long)d, am_fmt_shape(&g->full, buf));
            at = at * d + k;
        }
        o[j] = at;
    }
    return AM_OK;
}

static size_t nd_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs);
    const am_shape *idx = &in[n_in - 1];
    int64_t cols = 1;
    for (int i = 1; i < idx->ndim; i++) cols *= idx->dim[i];
    return (size_t)cols * 3 * sizeof(int64_t);
}

typedef struct nd_pair {
    int64_t off, col;
} nd_pair;

static int pair_cmp(const void *a, const void *b)
{
    const nd_pair *x = a, *y = b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* The columns that write last to their block, each block once, into work (2 * cols
 * words, sorted pairs first); returns how many. */
static int64_t nd_last_writers(const int64_t *off, const nd_geom *g, void *work)
{
    nd_pair *p = work;
    int64_t *kept = work, n = 0;
    for (int64_t j = 0; j < g->cols; j++) p[j] = (nd_pair){off[j], j};
    qsort(p, (size_t)g->cols, sizeof(*p), pair_cmp);
    /* kept[n] lies at word n <= i, below p[i + 1] (words 2i + 2, 2i + 3): safe in place */
    for (int64_t i = 0; i < g->cols; i++)
        if (i + 1 == g->cols || p[i + 1].off != p[i].off) kept[n++] = p[i].col;
    return n;
}

/* The result has input 0's dtype; every input's dtype must be known. */
static am_status nd_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
    if (n_in == 3 && in[1] != in[0])
        return am_fail(AM_ERR_DTYPE, "rhs is %s but lhs is %s", am_dtype_name(in[1]),
                       am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

/* gather: part block j (=, or += with add) full block off[j]; else full block off[j] +=
 * part block j, for the n columns in cols (NULL: every column). */
static am_status nd_move(const am_view *full, const am_view *part, const int64_t *off,
                         const int64_t *cols, int64_t n, const nd_geom *g, bool gather, bool add)
{
    AM_DTYPE_SWITCH(full->dtype, T, {
        T *f = full->data, *p = part->data;
        for (int64_t c = 0; c < n; c++) {
            int64_t j = cols ? cols[c] : c;
            T *a = f + off[j] * g->block, *b = p + j * g->block;
            if (gather) for (int64_t k = 0; k < g->block; k++) b[k] = add ? b[k] + a[k] : a[k];
            else for (int64_t k = 0; k < g->block; k++) a[k] += b[k];
        }
    });
    return AM_OK;
}

/* ---- gather_nd ------------------------------------------------------------------------- */

static am_status gather_nd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    nd_geom g;
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? nd_geom_of(&in[0], &in[1], &g, &out[0]) : st;
}

static am_status gather_nd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s = am_view_shape(&in[0]), is = am_view_shape(&in[1]), part;
    nd_geom g;
    int64_t *off;
    am_status st = nd_geom_of(&s, &is, &g, &part);
    if (st == AM_OK) st = nd_offsets(ctx, &in[1], &g, &off);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    return nd_move(&in[0], &out[0], off, NULL, g.cols, &g, true, req[0] == AM_REQ_ADD);
}

extern const am_op_def am_op_backward_gather_nd, am_op_scatter_nd;

/* shape attribute of a scatter: the full shape. */
typedef struct scatter_attrs {
    am_tuple shape;
} scatter_attrs;

static am_status gather_nd_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    scatter_attrs a;
    am_shape s = am_array_shape(in[0]);
    am_tuple_from_i64(s.dim, s.ndim, &a.shape);
    am_array *x[2] = {og[0], in[1]};
    return am_op_call(&am_op_backward_gather_nd, &a, x, 2, &ig[0], 1, g->at);
}

const am_op_def am_op_gather_nd = {
    .name = "gather_nd", .input_names = (const char *const[]){"data", "indices", NULL},
    .num_outputs = 1, .infer_shape = gather_nd_shape, .infer_dtype = nd_dtype,
    .temp_bytes = nd_temp, .cpu = gather_nd_cpu, .gradient = gather_nd_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "The elements (or trailing blocks) of data at the coordinates in indices' columns."};

am_array *am_gather_nd_at(am_array *data, am_array *indices, am_site at)
{
    am_array *in[2] = {data, indices}, *y = NULL;
    am_op_call(&am_op_gather_nd, NULL, in, 2, &y, 1, at);
    return y;
}

/* ---- scatter_nd, _backward_gather_nd ------------------------------------------------------ */

static const am_attr_field scatter_fields[] = {
    AM_ATTR_FIELD(scatter_attrs, shape, AM_ATTR_TUPLE, NULL, "shape of the result"),
    {0}};

/* data (the part) must be indices' columns by shape's trailing axes. */
static am_status scatter_check(const scatter_attrs *a, const am_shape *part,
                               const am_shape *indices, am_shape *full, nd_geom *g)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_shape want;
    am_status st = am_shape_of_tuple(&a->shape, full);
    if (st == AM_OK) st = nd_geom_of(full, indices, g, &want);
    if (st != AM_OK) return st;
    bool same = part->ndim == want.ndim;
    for (int i = 0; same && i < want.ndim; i++) same = part->dim[i] == want.dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "data %s must be %s for indices %s and shape=%s",
                       am_fmt_shape(part, b0), am_fmt_shape(&want, b1),
                       am_fmt_shape(indices, b2), am_fmt_tuple(&a->shape, b1));
    return AM_OK;
}

static am_status scatter_nd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_out);
    nd_geom g;
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? scatter_check(attrs, &in[0], &in[1], &out[0], &g) : st;
}

/* Adds data's blocks into zeros (or out, for ADD) at the indices: every block when
 * accumulate is set, else only the last one written to each place. */
static am_status scatter_run(const am_kernel_ctx *ctx, const scatter_attrs *a,
                             const am_view *part, const am_view *idx, const am_view *out,
                             am_req req, bool accumulate)
{
    am_shape ps = am_view_shape(part), is = am_view_shape(idx), full;
    nd_geom g;
    int64_t *off;
    am_status st = scatter_check(a, &ps, &is, &full, &g);
    if (st == AM_OK) st = nd_offsets(ctx, idx, &g, &off);
    if (st != AM_OK || req == AM_REQ_NULL) return st;
    if (req != AM_REQ_ADD)
        memset(out->data, 0, (size_t)am_view_size(out) * am_dtype_size(out->dtype));
    if (accumulate || g.cols == 0) return nd_move(out, part, off, NULL, g.cols, &g, false, true);
    int64_t *kept = off + g.cols, n = nd_last_writers(off, &g, kept);
    return nd_move(out, part, off, kept, n, &g, false, true);
}

static am_status scatter_nd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return scatter_run(ctx, attrs, &in[0], &in[1], &out[0], req[0], false);
}

/* 1 for the blocks of part (scattered by idx into shape) that are written last to
 * their place, 0 for those a later column overwrites: each column's number, scattered
 * and gathered back, is its own only where it survived. */
static am_array *survivors(am_array *part, am_array *idx, const scatter_attrs *a, am_site at)
{
    am_shape ps = am_array_shape(part), is = am_array_shape(idx), ys = {.ndim = ps.ndim};
    int64_t cols = 1;
    for (int i = 0; i < ps.ndim; i++) ys.dim[i] = 1;
    for (int i = 1; i < is.ndim; i++) ys.dim[i - 1] = is.dim[i], cols *= is.dim[i];
    am_array *ids = am_reshape_at(am_arange(0, (double)cols, 1, am_array_dtype(part)), ys,
                                  false, at);
    ids = am_broadcast_to_at(ids, ps, at);
    am_array *x[2] = {ids, idx}, *spread = NULL;
    if (am_op_call(&am_op_scatter_nd, a, x, 2, &spread, 1, at) != AM_OK) return NULL;
    return am_broadcast_equal_at(am_gather_nd_at(spread, idx, at), ids, at);
}

/* Each block of data that survived is read back at its index. */
static am_status scatter_nd_grad(const am_grad_ctx *g, am_array *const *in,
                                 am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = am_gather_nd_at(og[0], in[1], g->at);
    if (g->op == &am_op_scatter_nd)
        ig[0] = am_broadcast_mul_at(ig[0], survivors(in[0], in[1], g->attrs, g->at), g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_scatter_nd = {
    .name = "scatter_nd", .input_names = (const char *const[]){"data", "indices", NULL},
    .num_outputs = 1, .attrs = scatter_fields, .attrs_size = sizeof(scatter_attrs),
    .infer_shape = scatter_nd_shape, .infer_dtype = nd_dtype, .temp_bytes = nd_temp,
    .cpu = scatter_nd_cpu, .gradient = scatter_nd_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Zeros of shape with data's blocks written at indices' columns (a repeated index "
           "keeps the last)."};

am_array *am_scatter_nd_at(am_array *data, am_array *indices, am_shape shape, am_site at)
{
    scatter_attrs a;
    if (shape.ndim < 0 || shape.ndim > AM_MAX_NDIM) {
        am_fail_at("scatter_nd", at, AM_ERR_ARG, "shape has %d dimensions; at most %d", shape.ndim,
                   AM_MAX_NDIM);
        return NULL;
    }
    am_tuple_from_i64(shape.dim, shape.ndim, &a.shape);
    am_array *in[2] = {data, indices}, *y = NULL;
    am_op_call(&am_op_scatter_nd, &a, in, 2, &y, 1, at);
    return y;
}

static am_status backward_gather_nd_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                        const am_view *in, int n_in, const am_view *out,
                                        int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return scatter_run(ctx, attrs, &in[0], &in[1], &out[0], req[0], true);
}

const am_op_def am_op_backward_gather_nd = {
    .name = "_backward_gather_nd", .input_names = (const char *const[]){"data", "indices", NULL},
    .num_outputs = 1, .attrs = scatter_fields, .attrs_size = sizeof(scatter_attrs),
    .infer_shape = scatter_nd_shape, .infer_dtype = nd_dtype, .temp_bytes = nd_temp,
    .cpu = backward_gather_nd_cpu, .gradient = scatter_nd_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Gradient of gather_nd: zeros of shape with data's blocks added at indices' "
           "columns (repeated indices accumulate)."};

/* ---- _scatter_set_nd -------------------------------------------------------------------- */

static am_status scatter_set_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    nd_geom g;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = scatter_check(attrs, &in[1], &in[2], &out[0], &g);
    if (st != AM_OK) return st;
    bool same = in[0].ndim == out[0].ndim;
    for (int i = 0; same && i < out[0].ndim; i++) same = in[0].dim[i] == out[0].dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "lhs %s must have shape=%s", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&out[0], b1));
    return AM_OK;
}

/* lhs with rhs's blocks written at the indices (a repeated index keeps the last). */
static am_status scatter_set_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape ps = am_view_shape(&in[1]), is = am_view_shape(&in[2]), full;
    nd_geom g;
    int64_t *off;
    am_status st = scatter_check(attrs, &ps, &is, &full, &g);
    if (st == AM_OK) st = nd_offsets(ctx, &in[2], &g, &off);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    int64_t n = am_view_size(out), *kept = off + g.cols;
    int64_t nk = g.cols ? nd_last_writers(off, &g, kept) : 0;
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *l = in[0].data, *r = in[1].data;
        T *y = out->data;
        if (!add) {
            if (y != l) memcpy(y, l, (size_t)n * sizeof(T));
        } else {
            for (int64_t e = 0; e < n; e++) y[e] += l[e];
        }
        for (int64_t c = 0; c < nk; c++) {
            int64_t j = kept[c];
            T *d = y + off[j] * g.block;
            const T *src = r + j * g.block, *old = l + off[j] * g.block;
            for (int64_t k = 0; k < g.block; k++) d[k] = add ? d[k] - old[k] + src[k] : src[k];
        }
    });
    return AM_OK;
}

/* lhs keeps the gradient where it was not overwritten; rhs reads it at the indices. */
static am_status scatter_set_grad(const am_grad_ctx *g, am_array *const *in,
                                  am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (g->need_grad[0]) {
        am_array *x[3] = {og[0], am_zeros_like_at(in[1], g->at), in[2]};
        am_status st = am_op_call(g->op, g->attrs, x, 3, &ig[0], 1, g->at);
        if (st != AM_OK) return st;
    }
    if (g->need_grad[1]) {
        ig[1] = am_broadcast_mul_at(am_gather_nd_at(og[0], in[2], g->at),
                                    survivors(in[1], in[2], g->attrs, g->at), g->at);
        if (!ig[1]) return am_last_status();
    }
    return AM_OK;
}

const am_op_def am_op_scatter_set_nd = {
    .name = "_scatter_set_nd",
    .input_names = (const char *const[]){"lhs", "rhs", "indices", NULL},
    .num_outputs = 1, .attrs = scatter_fields, .attrs_size = sizeof(scatter_attrs),
    .infer_shape = scatter_set_shape, .infer_dtype = nd_dtype, .temp_bytes = nd_temp,
    .cpu = scatter_set_cpu, .gradient = scatter_set_grad,
    .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}}, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "lhs with rhs's blocks written at indices' columns (a repeated index keeps the "
           "last)."};

/* ---- _ravel_multi_index, _unravel_index --------------------------------------------------- */

typedef struct ravel_attrs {
    am_tuple shape;
} ravel_attrs;

static const am_attr_field ravel_fields[] = {
    AM_ATTR_FIELD(ravel_attrs, shape, AM_ATTR_TUPLE, "None", "the shape the indices address"),
    {0}};

static am_status ravel_dims(const ravel_attrs *a, am_shape *s)
{
    char buf[AM_SHAPE_BUF];
    if (a->shape.ndim < 1)
        return am_fail(AM_ERR_ARG, "shape=%s must be given", am_fmt_tuple(&a->shape, buf));
    return am_shape_of_tuple(&a->shape, s);
}

/* data (ndim of shape, N) -> (N,). */
static am_status ravel_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape s;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = ravel_dims(attrs, &s);
    if (st != AM_OK) return st;
    if (in[0].ndim != 2 || in[0].dim[0] != s.ndim)
        return am_fail(AM_ERR_SHAPE, "data %s must be (%d, N): one row per axis of shape=%s",
                       am_fmt_shape(&in[0], b0), s.ndim,
                       am_fmt_tuple(&((const ravel_attrs *)attrs)->shape, b1));
    out[0] = (am_shape){.ndim = 1, .dim = {in[0].dim[1]}};
    return AM_OK;
}

/* data (N,) -> (ndim of shape, N).  MXNet 1.9.1 gives other data a shape from its
 * first axis only and meaningless values, so Amber refuses it. */
static am_status unravel_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    char buf[AM_SHAPE_BUF];
    am_shape s;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = ravel_dims(attrs, &s);
    if (st != AM_OK) return st;
    if (in[0].ndim != 1)
        return am_fail(AM_ERR_SHAPE, "data %s must be 1-D, one flat index each",
                       am_fmt_shape(&in[0], buf));
    out[0] = (am_shape){.ndim = 2, .dim = {s.ndim, in[0].dim[0]}};
    return AM_OK;
}

/* Plain integer arithmetic on the truncated indices, unchecked, as MXNet's is. */
static am_status ravel_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s;
    am_status st = ravel_dims(attrs, &s);
    int64_t n = am_view_size(out);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    for (int64_t j = 0; j < n; j++) {
        int64_t v = 0;
        for (int i = 0; i < s.ndim; i++) v = v * s.dim[i] + (int64_t)am_view_get(in, i * n + j);
        am_view_set(out, j, req[0] == AM_REQ_ADD ? am_view_get(out, j) + (double)v : (double)v);
    }
    return AM_OK;
}

/* The last coordinates wrap (C's %), the first takes what is left. */
static am_status unravel_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s;
    am_status st = ravel_dims(attrs, &s);
    int64_t n = am_view_size(in);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    for (int64_t j = 0; j < n; j++) {
        int64_t v = (int64_t)am_view_get(in, j);
        for (int i = s.ndim - 1; i >= 0; i--) {
            int64_t c = i == 0 || s.dim[i] == 0 ? v : v % s.dim[i];
            if (i > 0 && s.dim[i] != 0) v /= s.dim[i];
            int64_t e = i * n + j;
            am_view_set(out, e, req[0] == AM_REQ_ADD ? am_view_get(out, e) + (double)c
                                                     : (double)c);
        }
    }
    return AM_OK;
}

const am_op_def am_op_ravel_multi_index = {
    .name = "_ravel_multi_index", .aliases = (const char *const[]){"ravel_multi_index", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1, .attrs = ravel_fields,
    .attrs_size = sizeof(ravel_attrs), .infer_shape = ravel_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = ravel_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "Flat indices into shape of the coordinate columns of data (ndim, N)."};

const am_op_def am_op_unravel_index = {
    .name = "_unravel_index", .aliases = (const char *const[]){"unravel_index", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1, .attrs = ravel_fields,
    .attrs_size = sizeof(ravel_attrs), .infer_shape = unravel_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = unravel_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "The coordinates in shape of flat indices: a leading axis of one row per axis."};
