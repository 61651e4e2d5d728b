/* Shape ops that rearrange whole arrays: Reshape, Flatten, expand_dims, squeeze,
 * transpose, SwapAxis, Concat, stack and SliceChannel (split).  Every kernel is a
 * strided copy (shape_copy.c); slicing and repetition are in shape_slice.c. */
#include "shape_impl.h"

#include <limits.h>

static const char *const data_input[] = {"data", NULL};
static const am_inplace_pair same_slot[] = {{0, 0}, {-1, -1}};

/* Shapes whose elements keep their row-major order: a flat copy. */
static am_status flat_copy_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_copy_plan p = {0};
    am_copy_plan_axis(&p, am_view_size(out), 1, 1);
    return am_copy_run(in, out, &p, 0, req[0]);
}

/* Reshape, Flatten, expand_dims, squeeze: the output is always a view. */
static bool always_view(const void *attrs, const am_shape *in, int64_t *offset)
{
    AM_UNUSED(attrs), AM_UNUSED(in);
    *offset = 0;
    return true;
}

/* d reshape(x) for every op that only changes the shape: the output gradient in
 * x's shape (reshape_like also reaches 0-d shapes, which Reshape cannot). */
static am_status reshape_back_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = am_reshape_like_at(og[0], in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

/* ---- Reshape ------------------------------------------------------------------------ */

typedef struct reshape_attrs {
    am_tuple shape;
    bool reverse;
    am_tuple target_shape;
    bool keep_highest;
} reshape_attrs;

static const am_attr_field reshape_fields[] = {
    AM_ATTR_FIELD(reshape_attrs, shape, AM_ATTR_TUPLE, "()",
                  "target shape; 0 copies, -1 infers, -2 copies the rest, -3 merges two, "
                  "-4 splits one"),
    AM_ATTR_FIELD(reshape_attrs, reverse, AM_ATTR_BOOL, "False",
                  "read the special values from right to left"),
    AM_ATTR_FIELD(reshape_attrs, target_shape, AM_ATTR_TUPLE, "()",
                  "deprecated: target shape in which one 0 is inferred"),
    AM_ATTR_FIELD(reshape_attrs, keep_highest, AM_ATTR_BOOL, "False",
                  "deprecated: with target_shape, keep the first dimension"),
    {0}};

/* Reads "-4, d1, d2": splits input dimension d0 into d1 x d2 (one may be -1). */
static am_status reshape_split(int64_t d0, int64_t d1, int64_t d2, int64_t *out)
{
    if (d1 == -1 && d2 == -1) return am_fail(AM_ERR_ARG, "-4 cannot split into -1 and -1");
    if ((d1 < 0 && d1 != -1) || (d2 < 0 && d2 != -1))
        return am_fail(AM_ERR_ARG, "-4 must be followed by sizes or -1, got %lld, %lld",
                       (long long)d1, (long long)d2);
    if (d1 == -1) d1 = d2 ? d0 / d2 : -1;
    if (d2 == -1) d2 = d1 ? d0 / d1 : -1;
    int64_t prod;
    if (d1 < 0 || d2 < 0 || __builtin_mul_overflow(d1, d2, &prod) || prod != d0)
        return am_fail(AM_ERR_SHAPE, "-4 cannot split dimension %lld into %lld x %lld",
                       (long long)d0, (long long)d1, (long long)d2);
    out[0] = d1, out[1] = d2;
    return AM_OK;
}

/* MXNet's special values, left to right over (reversed when reverse) lists.
 * A -1 or a positive size consumes one input dimension, as in MXNet. */
static am_status reshape_special(const am_tuple *spec, bool reverse, const am_shape *in,
                                 int64_t *tmp, int *nt, int *inf)
{
    int ns = in->ndim, np = spec->ndim, si = 0, n = 0;
    int64_t src[AM_MAX_NDIM], p[AM_MAX_TUPLE];
    for (int i = 0; i < ns; i++) src[i] = in->dim[reverse ? ns - 1 - i : i];
    for (int i = 0; i < np; i++) p[i] = spec->v[reverse ? np - 1 - i : i];
    *inf = -1;
    for (int i = 0; i < np; i++) {
        int64_t v = p[i];
        if (n > AM_MAX_NDIM) break;
        if (v == 0) {
            if (si >= ns)
                return am_fail(AM_ERR_SHAPE, "shape entry 0 has no input dimension to copy");
            tmp[n++] = src[si++];
        } else if (v == -1) {
            if (*inf >= 0) return am_fail(AM_ERR_ARG, "only one dimension can be -1");
            *inf = n, tmp[n++] = 1, si++;
        } else if (v == -2) {
            while (si < ns && n <= AM_MAX_NDIM) tmp[n++] = src[si++];
        } else if (v == -3) {
            if (si + 1 >= ns)
                return am_fail(AM_ERR_SHAPE, "-3 needs two input dimensions to merge");
            tmp[n++] = src[si] * src[si + 1], si += 2;
        } else if (v == -4) {
            if (i + 2 >= np) return am_fail(AM_ERR_ARG, "-4 must be followed by two sizes");
            if (si >= ns) return am_fail(AM_ERR_SHAPE, "-4 has no input dimension to split");
            am_status st = reshape_split(src[si++], p[i + 1], p[i + 2], &tmp[n]);
            if (st != AM_OK) return st;
            n += 2, i += 2;
        } else if (v > 0) {
            tmp[n++] = v, si++;
        } else {
            return am_fail(AM_ERR_ARG, "shape entry %lld is not a size or a special value "
                           "(0, -1, -2, -3, -4)", (long long)v);
        }
    }
    *nt = n;
    return AM_OK;
}

/* The deprecated target_shape: one 0 is inferred; keep_highest keeps dim 0. */
static void reshape_legacy(const reshape_attrs *a, const am_shape *in, int64_t *tmp, int *nt,
                           int *inf)
{
    *nt = a->target_shape.ndim;
    *inf = -1;
    int zeros = 0;
    for (int i = 0; i < *nt; i++) tmp[i] = a->target_shape.v[i];
    if (a->keep_highest && in->ndim > 0) tmp[0] = in->dim[0];
    for (int i = a->keep_highest ? 1 : 0; i < *nt; i++)
        if (tmp[i] == 0) zeros++, *inf = i;
    if (zeros != 1) *inf = -1;
    else tmp[*inf] = 1;
}

/* Product of n sizes; -1 when one is negative or the product overflows. */
static int64_t checked_size(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        if (d[i] < 0 || __builtin_mul_overflow(p, d[i], &p)) return -1;
    return p;
}

static am_status reshape_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    const reshape_attrs *a = attrs;
    bool special = a->shape.ndim > 0, rev = special && a->reverse;
    int64_t tmp[AM_MAX_TUPLE + AM_MAX_NDIM + 2];
    int nt = 0, inf = -1;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (special) st = reshape_special(&a->shape, a->reverse, &in[0], tmp, &nt, &inf);
    else if (a->target_shape.ndim > 0) reshape_legacy(a, &in[0], tmp, &nt, &inf);
    else return am_fail(AM_ERR_ARG, "shape must be given");
    if (st == AM_OK) st = am_check_ndim(nt);
    if (st != AM_OK) return st;
    int64_t size = am_shape_size(&in[0]), known = checked_size(tmp, nt);
    if (inf >= 0) tmp[inf] = known > 0 && size % known == 0 ? size / known : -1;
    out[0].ndim = nt;
    for (int i = 0; i < nt; i++) out[0].dim[i] = tmp[rev ? nt - 1 - i : i];
    if (checked_size(out[0].dim, nt) == size) return AM_OK;
    const am_tuple *t = special ? &a->shape : &a->target_shape;
    if (inf >= 0 && tmp[inf] < 0) am_fmt_tuple(t, b1);
    else am_fmt_shape(&out[0], b1);
    return am_fail(AM_ERR_SHAPE, "cannot reshape data %s (%lld elements) into %s (%s=%s)",
                   am_fmt_shape(&in[0], b0), (long long)size, b1,
                   special ? "shape" : "target_shape", am_fmt_tuple(t, b2));
}

const am_op_def am_op_reshape = {
    .name = "Reshape", .aliases = (const char *const[]){"reshape", NULL},
    .input_names = data_input, .num_outputs = 1, .attrs = reshape_fields,
    .attrs_size = sizeof(reshape_attrs), .infer_shape = reshape_shape,
    .infer_dtype = am_infer_dtype_same, .view = always_view, .cpu = flat_copy_cpu,
    .gradient = reshape_back_grad, .inplace = same_slot, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Gives data a new shape with the same elements; eager calls return a view."};

am_array *am_reshape_at(am_array *x, am_shape shape, bool reverse, am_site at)
{
    reshape_attrs a;
    am_attrs_init(&am_op_reshape, &a);
    if (shape.ndim < 0 || shape.ndim > AM_MAX_NDIM) {
        am_fail_at("Reshape", at, AM_ERR_ARG, "shape has %d entries; at most %d are supported",
                   shape.ndim, AM_MAX_NDIM);
        return NULL;
    }
    a.shape.ndim = shape.ndim;
    for (int i = 0; i < shape.ndim; i++) a.shape.v[i] = shape.dim[i];
    a.reverse = reverse;
    return am_call1(&am_op_reshape, &a, x, at);
}

/* ---- reshape_like ----------------------------------------------------------------- */

typedef struct reshape_like_attrs {
    am_opt_int lhs_begin, lhs_end, rhs_begin, rhs_end;
} reshape_like_attrs;

static const am_attr_field reshape_like_fields[] = {
    AM_ATTR_FIELD(reshape_like_attrs, lhs_begin, AM_ATTR_OPT_INT, "None",
                  "first lhs axis replaced (negative: from the end; None: 0)"),
    AM_ATTR_FIELD(reshape_like_attrs, lhs_end, AM_ATTR_OPT_INT, "None",
                  "end of the lhs axes replaced (None: all)"),
    AM_ATTR_FIELD(reshape_like_attrs, rhs_begin, AM_ATTR_OPT_INT, "None",
                  "first rhs axis copied (negative: from the end; None: 0)"),
    AM_ATTR_FIELD(reshape_like_attrs, rhs_end, AM_ATTR_OPT_INT, "None",
                  "end of the rhs axes copied (None: all)"),
    {0}};

/* [begin, end) over ndim axes, as MXNet canonicalises it; an empty range is allowed
 * (MXNet refuses it), so that 0-d shapes can be matched. */
static am_status like_range(am_opt_int b, am_opt_int e, const am_shape *s, const char *side,
                            int *cb, int *ce)
{
    char buf[AM_SHAPE_BUF];
    int64_t lo = b.has ? b.v : 0, hi = e.has ? e.v : s->ndim;
    if (lo < 0) lo += s->ndim;
    if (hi < 0 && e.has) hi += s->ndim;
    if (lo < 0 || hi > s->ndim || lo > hi)
        return am_fail(AM_ERR_ARG, "%s_begin=%lld, %s_end=%lld is not a range of the axes of "
                       "%s %s", side, (long long)(b.has ? b.v : 0), side,
                       (long long)(e.has ? e.v : s->ndim), side, am_fmt_shape(s, buf));
    *cb = (int)lo, *ce = (int)hi;
    return AM_OK;
}

/* lhs[:lhs_begin] + rhs[rhs_begin:rhs_end] + lhs[lhs_end:], with lhs's size. */
static am_status reshape_like_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(n_out);
    const reshape_like_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    int lb, le, rb, re;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = like_range(a->lhs_begin, a->lhs_end, &in[0], "lhs", &lb, &le);
    if (st == AM_OK) st = like_range(a->rhs_begin, a->rhs_end, &in[1], "rhs", &rb, &re);
    if (st == AM_OK) st = am_check_ndim(in[0].ndim - (le - lb) + (re - rb));
    if (st != AM_OK) return st;
    am_shape *o = &out[0];
    o->ndim = 0;
    for (int i = 0; i < lb; i++) o->dim[o->ndim++] = in[0].dim[i];
    for (int i = rb; i < re; i++) o->dim[o->ndim++] = in[1].dim[i];
    for (int i = le; i < in[0].ndim; i++) o->dim[o->ndim++] = in[0].dim[i];
    if (am_shape_size(o) == am_shape_size(&in[0])) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "cannot reshape lhs %s (%lld elements) into %s like rhs %s",
                   am_fmt_shape(&in[0], b0), (long long)am_shape_size(&in[0]),
                   am_fmt_shape(o, b1), am_fmt_shape(&in[1], b2));
}

/* lhs's dtype; rhs only lends its shape and may have any dtype. */
static am_status reshape_like_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                    int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = in[0];
    return AM_OK;
}

const am_op_def am_op_reshape_like = {
    .name = "reshape_like", .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .attrs = reshape_like_fields, .attrs_size = sizeof(reshape_like_attrs),
    .infer_shape = reshape_like_shape, .infer_dtype = reshape_like_dtype, .view = always_view,
    .cpu = flat_copy_cpu, .gradient = reshape_back_grad, .inplace = same_slot,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "lhs with (some of) its axes replaced by (some of) rhs's; eager calls return a "
           "view; rhs gets no gradient."};

am_array *am_reshape_like_at(am_array *x, am_array *like, am_site at)
{
    reshape_like_attrs a;
    am_attrs_init(&am_op_reshape_like, &a);
    am_array *in[2] = {x, like}, *y = NULL;
    am_op_call(&am_op_reshape_like, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- Flatten, expand_dims, squeeze --------------------------------------------------- */

static am_status flatten_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    int64_t rest = 1;
    for (int i = 1; i < in[0].ndim; i++) rest *= in[0].dim[i];
    out[0].ndim = 2;
    out[0].dim[0] = in[0].ndim > 0 ? in[0].dim[0] : 1;
    out[0].dim[1] = rest;
    return AM_OK;
}

const am_op_def am_op_flatten = {
    .name = "Flatten", .aliases = (const char *const[]){"flatten", NULL},
    .input_names = data_input, .num_outputs = 1, .infer_shape = flatten_shape,
    .infer_dtype = am_infer_dtype_same, .view = always_view, .cpu = flat_copy_cpu,
    .gradient = reshape_back_grad, .inplace = same_slot, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Collapses (N, ...) into (N, prod(...)); eager calls return a view."};

am_array *am_flatten_at(am_array *x, am_site at) { return am_call1(&am_op_flatten, NULL, x, at); }

typedef struct expand_dims_attrs {
    int64_t axis;
} expand_dims_attrs;

static const am_attr_field expand_dims_fields[] = {
    AM_ATTR_FIELD(expand_dims_attrs, axis, AM_ATTR_INT, NULL,
                  "position of the new axis, in [-ndim - 1, ndim]"),
    {0}};

static am_status expand_dims_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_out);
    int axis, nd = in[0].ndim;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_check_ndim(nd + 1);
    int64_t want = ((const expand_dims_attrs *)attrs)->axis;
    if (st == AM_OK) st = am_norm_axis(want, nd + 1, "axis", &axis);
    if (st != AM_OK) return st;
    out[0].ndim = nd + 1;
    for (int i = 0, k = 0; i <= nd; i++) out[0].dim[i] = i == axis ? 1 : in[0].dim[k++];
    return AM_OK;
}

const am_op_def am_op_expand_dims = {
    .name = "expand_dims", .input_names = data_input, .num_outputs = 1,
    .attrs = expand_dims_fields, .attrs_size = sizeof(expand_dims_attrs),
    .infer_shape = expand_dims_shape, .infer_dtype = am_infer_dtype_same, .view = always_view,
    .cpu = flat_copy_cpu, .gradient = reshape_back_grad, .inplace = same_slot,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Inserts a size-1 axis; eager calls return a view."};

am_array *am_expand_dims_at(am_array *x, int axis, am_site at)
{
    expand_dims_attrs a = {.axis = axis};
    return am_call1(&am_op_expand_dims, &a, x, at);
}

typedef struct squeeze_attrs {
    am_tuple axis;
} squeeze_attrs;

static const am_attr_field squeeze_fields[] = {
    AM_ATTR_FIELD(squeeze_attrs, axis, AM_ATTR_TUPLE, "None",
                  "size-1 axes to remove; None removes all"),
    {0}};

static am_status squeeze_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    const am_tuple *ax = &((const squeeze_attrs *)attrs)->axis;
    const am_shape *s = &in[0];
    bool drop[AM_MAX_NDIM] = {0};
    char buf[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    for (int i = 0; i < s->ndim; i++) drop[i] = ax->ndim < 0 && s->dim[i] == 1;
    for (int i = 0; i < ax->ndim; i++) {
        int a;
        if ((st = am_norm_axis(ax->v[i], s->ndim, "axis", &a)) != AM_OK) return st;
        if (s->dim[a] != 1)
            return am_fail(AM_ERR_SHAPE, "cannot squeeze axis %lld of size %lld in data %s",
                           (long long)ax->v[i], (long long)s->dim[a], am_fmt_shape(s, buf));
        if (drop[a]) return am_fail(AM_ERR_ARG, "axis %d is given twice", a);
        drop[a] = true;
    }
    out[0].ndim = 0;
    for (int i = 0; i < s->ndim; i++)
        if (!drop[i]) out[0].dim[out[0].ndim++] = s->dim[i];
    if (out[0].ndim == 0 && s->ndim > 0) out[0].ndim = 1, out[0].dim[0] = 1; /* MXNet 1.x */
    return AM_OK;
}

const am_op_def am_op_squeeze = {
    .name = "squeeze", .input_names = data_input, .num_outputs = 1, .attrs = squeeze_fields,
    .attrs_size = sizeof(squeeze_attrs), .infer_shape = squeeze_shape,
    .infer_dtype = am_infer_dtype_same, .view = always_view, .cpu = flat_copy_cpu,
    .gradient = reshape_back_grad, .inplace = same_slot, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Removes size-1 axes (all, or those given; (1,) when none would remain); "
           "eager calls return a view."};

/* An axis list as a tuple attribute; NULL axes gives a tuple of none_ndim. */
static am_status axes_tuple(const char *op, const int *axes, int naxes, int none_ndim,
                            am_tuple *t, am_site at)
{
    memset(t, 0, sizeof(*t));
    if (!axes) {
        t->ndim = none_ndim;
        return AM_OK;
    }
    if (naxes < 0 || naxes > AM_MAX_TUPLE)
        return am_fail_at(op, at, AM_ERR_ARG, "%d axes given; at most %d are supported", naxes,
                          AM_MAX_TUPLE);
    t->ndim = naxes;
    for (int i = 0; i < naxes; i++) t->v[i] = axes[i];
    return AM_OK;
}

am_array *am_squeeze_at(am_array *x, const int *axes, int naxes, am_site at)
{
    squeeze_attrs a;
    if (axes_tuple("squeeze", axes, naxes, -1, &a.axis, at) != AM_OK) return NULL;
    return am_call1(&am_op_squeeze, &a, x, at);
}

/* ---- transpose, SwapAxis ------------------------------------------------------------- */

typedef struct transpose_attrs {
    am_tuple axes;
} transpose_attrs;

static const am_attr_field transpose_fields[] = {
    AM_ATTR_FIELD(transpose_attrs, axes, AM_ATTR_TUPLE, "()",
                  "output axis i is input axis axes[i]; () reverses the axes"),
    {0}};

/* The permutation axes describe for ndim dimensions; false, setting no
 * error, when they describe none. */
static bool axes_perm(const am_tuple *axes, int ndim, int *perm)
{
    if (ndim < 0 || ndim > AM_MAX_NDIM) return false;
    if (axes->ndim <= 0) {
        for (int i = 0; i < ndim; i++) perm[i] = ndim - 1 - i;
        return true;
    }
    if (axes->ndim != ndim) return false;
    bool seen[AM_MAX_NDIM] = {0};
    for (int i = 0; i < ndim; i++) {
        if (!am_axis_norm(axes->v[i], ndim, &perm[i]) || seen[perm[i]]) return false;
        seen[perm[i]] = true;
    }
    return true;
}

/* The same, failing with a message that says why. */
static am_status transpose_perm(const am_tuple *axes, int ndim, int *perm)
{
    char buf[AM_SHAPE_BUF];
    if (axes_perm(axes, ndim, perm)) return AM_OK;
    if (axes->ndim != ndim)
        return am_fail(AM_ERR_ARG, "axes=%s has %d entries but data has %d dimensions",
                       am_fmt_tuple(axes, buf), axes->ndim, ndim);
    return am_fail(AM_ERR_ARG, "axes=%s is not a permutation of %d axes",
                   am_fmt_tuple(axes, buf), ndim);
}

/* The permutation hook. */
static bool transpose_permutation(const void *attrs, int ndim, int *perm)
{
    return axes_perm(&((const transpose_attrs *)attrs)->axes, ndim, perm);
}

/* Given axes (0, 1, ..., n-1) (or their negative spellings) keep every axis:
 * the identity whatever the data (which must have n axes). */
static const char *transpose_is_identity(const void *attrs, bool training)
{
    const am_tuple *axes = &((const transpose_attrs *)attrs)->axes;
    AM_UNUSED(training);
    if (axes->ndim <= 0) return NULL; /* () reverses the axes */
    for (int i = 0; i < axes->ndim; i++)
        if (axes->v[i] != i && axes->v[i] != i - axes->ndim) return NULL;
    return "identity transpose";
}

static am_status permute_shape(const am_shape *in, const int *perm, am_shape *out)
{
    out->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++) out->dim[i] = in->dim[perm[i]];
    return AM_OK;
}

/* out[i...] = in[perm applied]: output axis i walks input axis perm[i]. */
static am_status permute_cpu(const am_view *in, const am_view *out, const int *perm, am_req req)
{
    am_copy_plan p = {0};
    for (int i = 0; i < out->ndim; i++)
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], in->strides[perm[i]]);
    return am_copy_run(in, out, &p, 0, req);
}

static am_status transpose_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_out);
    int perm[AM_MAX_NDIM];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = transpose_perm(&((const transpose_attrs *)attrs)->axes, in[0].ndim, perm);
    return st == AM_OK ? permute_shape(&in[0], perm, &out[0]) : st;
}

static am_status transpose_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int perm[AM_MAX_NDIM];
    am_status st = transpose_perm(&((const transpose_attrs *)attrs)->axes, in[0].ndim, perm);
    return st == AM_OK ? permute_cpu(&in[0], &out[0], perm, req[0]) : st;
}

/* d transpose(x) = the output gradient under the inverse permutation. */
static am_status transpose_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    int perm[AM_MAX_NDIM], inv[AM_MAX_NDIM], nd = am_array_ndim(in[0]);
    am_status st = transpose_perm(&((const transpose_attrs *)g->attrs)->axes, nd, perm);
    if (st != AM_OK) return st;
    for (int i = 0; i < nd; i++) inv[perm[i]] = i;
    ig[0] = am_transpose_at(og[0], inv, nd, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_transpose = {
    .name = "transpose", .input_names = data_input, .num_outputs = 1,
    .attrs = transpose_fields, .attrs_size = sizeof(transpose_attrs),
    .infer_shape = transpose_shape, .infer_dtype = am_infer_dtype_same, .cpu = transpose_cpu,
    .gradient = transpose_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Permutes the axes (reverses them by default).",
    .is_identity = transpose_is_identity, .permutation = transpose_permutation};

am_array *am_transpose_at(am_array *x, const int *axes, int naxes, am_site at)
{
    transpose_attrs a;
    if (axes_tuple("transpose", axes, naxes, 0, &a.axes, at) != AM_OK) return NULL;
    return am_call1(&am_op_transpose, &a, x, at);
}

typedef struct swap_axis_attrs {
    int64_t dim1, dim2;
} swap_axis_attrs;

static const am_attr_field swap_axis_fields[] = {
    AM_ATTR_FIELD(swap_axis_attrs, dim1, AM_ATTR_INT, "0", "first axis"),
    AM_ATTR_FIELD(swap_axis_attrs, dim2, AM_ATTR_INT, "0", "second axis"),
    {0}};

static am_status swap_perm(const swap_axis_attrs *a, int ndim, int *perm)
{
    int d1, d2;
    am_status st = am_norm_axis(a->dim1, ndim, "dim1", &d1);
    if (st == AM_OK) st = am_norm_axis(a->dim2, ndim, "dim2", &d2);
    if (st != AM_OK) return st;
    for (int i = 0; i < ndim; i++) perm[i] = i;
    perm[d1] = d2, perm[d2] = d1;
    return AM_OK;
}

/* The permutation hook: the quiet twin of swap_perm. */
static bool swap_permutation(const void *attrs, int ndim, int *perm)
{
    const swap_axis_attrs *a = attrs;
    int d1, d2;
    if (ndim < 0 || ndim > AM_MAX_NDIM || !am_axis_norm(a->dim1, ndim, &d1) ||
        !am_axis_norm(a->dim2, ndim, &d2))
        return false;
    for (int i = 0; i < ndim; i++) perm[i] = i;
    perm[d1] = d2, perm[d2] = d1;
    return true;
}

static am_status swap_axis_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_out);
    int perm[AM_MAX_NDIM];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = swap_perm(attrs, in[0].ndim, perm);
    return st == AM_OK ? permute_shape(&in[0], perm, &out[0]) : st;
}

static am_status swap_axis_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int perm[AM_MAX_NDIM];
    am_status st = swap_perm(attrs, in[0].ndim, perm);
    return st == AM_OK ? permute_cpu(&in[0], &out[0], perm, req[0]) : st;
}

/* A swap is its own inverse. */
static am_status swap_axis_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    const swap_axis_attrs *a = g->attrs;
    ig[0] = am_swap_axis_at(og[0], (int)a->dim1, (int)a->dim2, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_swap_axis = {
    .name = "SwapAxis", .aliases = (const char *const[]){"swapaxes", NULL},
    .input_names = data_input, .num_outputs = 1, .attrs = swap_axis_fields,
    .attrs_size = sizeof(swap_axis_attrs), .infer_shape = swap_axis_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = swap_axis_cpu, .gradient = swap_axis_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Swaps two axes.", .permutation = swap_permutation};

am_array *am_swap_axis_at(am_array *x, int dim1, int dim2, am_site at)
{
    swap_axis_attrs a = {.dim1 = dim1, .dim2 = dim2};
    return am_call1(&am_op_swap_axis, &a, x, at);
}

/* ---- Concat, stack -------------------------------------------------------------------- */

typedef struct concat_attrs {
    int64_t num_args;
    int64_t dim;
} concat_attrs;

static const am_attr_field concat_fields[] = {
    AM_ATTR_FIELD(concat_attrs, num_args, AM_ATTR_INT, NULL, "number of inputs"),
    AM_ATTR_FIELD(concat_attrs, dim, AM_ATTR_INT, "1", "axis to join along"),
    {0}};

static int concat_num_inputs(const void *attrs)
{
    int64_t n = ((const concat_attrs *)attrs)->num_args;
    return n < 0 ? -1 : n > INT_MAX ? INT_MAX : (int)n;
}

static am_status check_num_args(int64_t num_args, int n_in)
{
    if (num_args < 1) return am_fail(AM_ERR_ARG, "num_args must be at least 1, got %lld",
                                     (long long)num_args);
    if (num_args != n_in)
        return am_fail(AM_ERR_ARG, "num_args=%lld but %d inputs given", (long long)num_args, n_in);
    return AM_OK;
}

static am_status concat_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const concat_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    int axis;
    am_status st = check_num_args(a->num_args, n_in);
    if (st == AM_OK) st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_norm_axis(a->dim, in[0].ndim, "dim", &axis);
    if (st != AM_OK) return st;
    out[0] = in[0];
    for (int k = 1; k < n_in; k++) {
        bool same = in[k].ndim == in[0].ndim;
        for (int i = 0; same && i < in[0].ndim; i++)
            same = i == axis || in[k].dim[i] == in[0].dim[i];
        if (!same)
            return am_fail(AM_ERR_SHAPE, "input %d %s does not match input 0 %s outside dim=%d",
                           k, am_fmt_shape(&in[k], b1), am_fmt_shape(&in[0], b0), axis);
        out[0].dim[axis] += in[k].dim[axis];
    }
    return AM_OK;
}

/* Copies each input, (lead, mid_k, trail) around axis of out, into its place
 * along axis; stacked inputs lack the axis (mid_k = 1). */
static am_status join_cpu(const am_view *in, int n_in, const am_view *out, int axis,
                          bool stacked, am_req req)
{
    am_shape s = am_view_shape(out);
    int64_t lead, trail, total = s.dim[axis], off = 0;
    am_split3(&s, axis, &lead, &trail);
    for (int k = 0; k < n_in; k++) {
        int64_t mid = stacked ? 1 : in[k].dim[axis];
        am_copy_plan p = {0};
        am_copy_plan_axis(&p, lead, total * trail, mid * trail);
        am_copy_plan_axis(&p, mid * trail, 1, 1);
        char *dst = (char *)out->data + (size_t)(off * trail) * am_dtype_size(out->dtype);
        am_status st = am_strided_copy(dst, in[k].data, &p, out->dtype, req);
        if (st != AM_OK) return st;
        off += mid;
    }
    return AM_OK;
}

static am_status concat_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    int axis;
    am_status st = am_norm_axis(((const concat_attrs *)attrs)->dim, out->ndim, "dim", &axis);
    return st == AM_OK ? join_cpu(in, n_in, out, axis, false, req[0]) : st;
}

/* Each input gets its own range of the output gradient along dim. */
static am_status concat_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    int axis;
    am_status st = am_norm_axis(((const concat_attrs *)g->attrs)->dim, am_array_ndim(out[0]),
                                "dim", &axis);
    int64_t off = 0;
    for (int k = 0; st == AM_OK && k < g->n_in; k++) {
        int64_t len = am_array_dim(in[k], axis);
        if (g->need_grad[k]) {
            /* slice_axis refuses an empty range */
            ig[k] = len ? am_slice_axis_at(og[0], axis, off, off + len, g->at)
                        : am_zeros_like_at(in[k], g->at);
            if (!ig[k]) st = am_last_status();
        }
        off += len;
    }
    return st;
}

const am_op_def am_op_concat = {
    /* _rnn_param_concat: what Gluon's RNN layers pack their flattened
     * parameters with; the same join (MXNet's version differs only in
     * inferring unknown input shapes backwards, issue 11). */
    .name = "Concat", .aliases = (const char *const[]){"concat", "_rnn_param_concat", NULL},
    .input_names = data_input, .num_inputs = concat_num_inputs, .num_outputs = 1,
    .attrs = concat_fields, .attrs_size = sizeof(concat_attrs), .infer_shape = concat_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = concat_cpu, .gradient = concat_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .flags = AM_OP_VARIADIC, .doc = "Joins num_args arrays along dim."};

static am_array *call_n(const am_op_def *op, const void *attrs, am_array *const *xs, int n,
                        am_site at)
{
    am_array *y = NULL;
    if (!xs && n > 0) {
        am_fail_at(op->name, at, AM_ERR_ARG, "the input list is NULL");
        return NULL;
    }
    am_op_call(op, attrs, xs, n, &y, 1, at);
    return y;
}

am_array *am_concat_at(am_array *const *xs, int n, int dim, am_site at)
{
    concat_attrs a = {.num_args = n, .dim = dim};
    return call_n(&am_op_concat, &a, xs, n, at);
}

typedef struct stack_attrs {
    int64_t axis;
    int64_t num_args;
} stack_attrs;

static const am_attr_field stack_fields[] = {
    AM_ATTR_FIELD(stack_attrs, axis, AM_ATTR_INT, "0", "position of the new axis"),
    AM_ATTR_FIELD(stack_attrs, num_args, AM_ATTR_INT, NULL, "number of inputs"),
    {0}};

static int stack_num_inputs(const void *attrs)
{
    int64_t n = ((const stack_attrs *)attrs)->num_args;
    return n < 0 ? -1 : n > INT_MAX ? INT_MAX : (int)n;
}

static am_status stack_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_out);
    const stack_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    int axis, nd = in[0].ndim;
    am_status st = check_num_args(a->num_args, n_in);
    if (st == AM_OK) st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_check_ndim(nd + 1);
    if (st == AM_OK) st = am_norm_axis(a->axis, nd + 1, "axis", &axis);
    if (st != AM_OK) return st;
    for (int k = 1; k < n_in; k++) {
        bool same = in[k].ndim == nd;
        for (int i = 0; same && i < nd; i++) same = in[k].dim[i] == in[0].dim[i];
        if (!same)
            return am_fail(AM_ERR_SHAPE, "input %d %s does not match input 0 %s", k,
                           am_fmt_shape(&in[k], b1), am_fmt_shape(&in[0], b0));
    }
    out[0].ndim = nd + 1;
    for (int i = 0, j = 0; i <= nd; i++) out[0].dim[i] = i == axis ? n_in : in[0].dim[j++];
    return AM_OK;
}

static am_status stack_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    int axis;
    am_status st = am_norm_axis(((const stack_attrs *)attrs)->axis, out->ndim, "axis", &axis);
    return st == AM_OK ? join_cpu(in, n_in, out, axis, true, req[0]) : st;
}

/* The output gradient split along the stacked axis, which is dropped. */
static am_status stack_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    am_array *parts[AM_MAX_OP_IO];
    int axis = (int)((const stack_attrs *)g->attrs)->axis;
    am_status st = am_split_at(og[0], g->n_in, axis, true, parts, g->at);
    for (int k = 0; st == AM_OK && k < g->n_in; k++)
        if (g->need_grad[k]) ig[k] = parts[k];
    return st;
}

const am_op_def am_op_stack = {
    .name = "stack", .input_names = data_input, .num_inputs = stack_num_inputs,
    .num_outputs = 1, .attrs = stack_fields, .attrs_size = sizeof(stack_attrs),
    .infer_shape = stack_shape, .infer_dtype = am_infer_dtype_same, .cpu = stack_cpu,
    .gradient = stack_grad, .fuse = AM_FUSE_INJECTIVE, .flags = AM_OP_VARIADIC,
    .doc = "Joins num_args same-shape arrays along a new axis."};

am_array *am_stack_at(am_array *const *xs, int n, int axis, am_site at)
{
    stack_attrs a = {.axis = axis, .num_args = n};
    return call_n(&am_op_stack, &a, xs, n, at);
}

/* ---- SliceChannel (split) -------------------------------------------------------------- */

/* The number of parts is an attribute, so the output count comes from
 * num_outputs_of; one call makes at most AM_MAX_OP_IO parts. */
#define SPLIT_MAX_OUTPUTS AM_MAX_OP_IO

typedef struct split_attrs {
    int64_t num_outputs;
    int64_t axis;
    bool squeeze_axis;
} split_attrs;

static const am_attr_field split_fields[] = {
    AM_ATTR_FIELD(split_attrs, num_outputs, AM_ATTR_INT, NULL, "number of equal parts"),
    AM_ATTR_FIELD(split_attrs, axis, AM_ATTR_INT, "1", "axis to split"),
    AM_ATTR_FIELD(split_attrs, squeeze_axis, AM_ATTR_BOOL, "False",
                  "drop the split axis (its size must equal num_outputs)"),
    {0}};

/* Clamped: an out-of-range num_outputs is reported by shape inference. */
static int split_num_outputs(const void *attrs)
{
    int64_t n = ((const split_attrs *)attrs)->num_outputs;
    return n < 1 ? 1 : n > SPLIT_MAX_OUTPUTS ? SPLIT_MAX_OUTPUTS : (int)n;
}

static am_status split_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    const split_attrs *a = attrs;
    char buf[AM_SHAPE_BUF];
    int axis;
    /* Graph inference: data from a part the consumers fixed (MXNet infers
     * it backward too: a GRU cell's h2h output split in three). */
    for (int k = 0; k < n_out && in[0].ndim < 0 && a->num_outputs >= 1; k++) {
        int nd = out[k].ndim + (a->squeeze_axis ? 1 : 0);
        if (out[k].ndim < 0 || nd > AM_MAX_NDIM || am_norm_axis(a->axis, nd, "axis", &axis) != AM_OK) {
            am_clear_error();
            continue;
        }
        am_shape d = {.ndim = nd};
        for (int i = 0, j = 0; i < nd; i++) {
            if (i == axis && a->squeeze_axis) d.dim[i] = a->num_outputs;
            else if (i == axis) d.dim[i] = out[k].dim[j++] * a->num_outputs;
            else d.dim[i] = out[k].dim[j++];
        }
        in[0] = d;
    }
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK && (a->num_outputs < 1 || a->num_outputs > SPLIT_MAX_OUTPUTS))
        st = am_fail(AM_ERR_ARG, "num_outputs=%lld is outside [1, %d] (Amber's limit)",
                     (long long)a->num_outputs, SPLIT_MAX_OUTPUTS);
    if (st == AM_OK) st = am_norm_axis(a->axis, in[0].ndim, "axis", &axis);
    if (st != AM_OK) return st;
    int64_t n = a->num_outputs, d = in[0].dim[axis];
    if (d % n != 0)
        return am_fail(AM_ERR_SHAPE, "cannot split axis %d of size %lld of data %s into "
                       "num_outputs=%lld equal parts", axis, (long long)d,
                       am_fmt_shape(&in[0], buf), (long long)n);
    if (a->squeeze_axis && d != n)
        return am_fail(AM_ERR_SHAPE, "squeeze_axis needs axis %d of data %s to have size "
                       "num_outputs=%lld", axis, am_fmt_shape(&in[0], buf), (long long)n);
    am_shape part = in[0];
    part.dim[axis] = d / n;
    if (a->squeeze_axis) {
        for (int i = axis; i + 1 < part.ndim; i++) part.dim[i] = part.dim[i + 1];
        part.ndim--;
    }
    for (int i = 0; i < n_out; i++) out[i] = part;
    return AM_OK;
}

static am_status split_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in);
    const split_attrs *a = attrs;
    int axis;
    am_status st = am_norm_axis(a->axis, in->ndim, "axis", &axis);
    if (st != AM_OK) return st;
    am_shape s = am_view_shape(in);
    int64_t lead, trail, n = a->num_outputs < n_out ? a->num_outputs : n_out;
    am_split3(&s, axis, &lead, &trail);
    int64_t mid = n > 0 ? s.dim[axis] / n : 0;
    for (int64_t k = 0; k < n; k++) {
        am_copy_plan p = {0};
        am_copy_plan_axis(&p, lead, mid * trail, s.dim[axis] * trail);
        am_copy_plan_axis(&p, mid * trail, 1, 1);
        if ((st = am_copy_run(in, &out[k], &p, k * mid * trail, req[k])) != AM_OK) return st;
    }
    return AM_OK;
}

/* The parts' gradients joined again (missing ones arrive as zeros). */
static am_status split_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    const split_attrs *a = g->attrs;
    ig[0] = a->squeeze_axis ? am_stack_at(og, g->n_out, (int)a->axis, g->at)
                            : am_concat_at(og, g->n_out, (int)a->axis, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_split = {
    .name = "SliceChannel", .aliases = (const char *const[]){"split", NULL},
    .input_names = data_input, .num_outputs_of = split_num_outputs, .attrs = split_fields,
    .attrs_size = sizeof(split_attrs), .infer_shape = split_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = split_cpu, .gradient = split_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Splits data into num_outputs equal parts along axis (at most 64 parts)."};

am_status am_split_at(am_array *x, int num_outputs, int axis, bool squeeze_axis,
                      am_array **out, am_site at)
{
    split_attrs a = {.num_outputs = num_outputs, .axis = axis, .squeeze_axis = squeeze_axis};
    if (num_outputs < 1 || num_outputs > SPLIT_MAX_OUTPUTS) {
        am_err_ctx c;
        am_err_push(&c, am_op_split.name, at);
        am_fail(AM_ERR_ARG, "num_outputs=%d is outside [1, %d]", num_outputs, SPLIT_MAX_OUTPUTS);
        am_err_pop(&c);
        return am_last_status();
    }
    if (!out) return am_fail_at("SliceChannel", at, AM_ERR_ARG, "out is NULL");
    return am_op_call(&am_op_split, &a, &x, 1, out, num_outputs, at);
}
