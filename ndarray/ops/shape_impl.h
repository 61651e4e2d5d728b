/* Internal to the shape and index ops (shape.c, shape_slice.c, index.c): the
 * strided-copy engine (shape_copy.c) behind every data-moving kernel, and small
 * helpers for their messages and checks. */
#ifndef AMBER_OPS_SHAPE_IMPL_H
#define AMBER_OPS_SHAPE_IMPL_H

#include "../ndarray_impl.h"

/* out[i] = the i-th index of v as int64 (any dtype; floats truncate toward zero,
 * NaN and values beyond int64 map to the extremes).  In index.c. */
am_status am_indices_to_i64(const am_view *v, int64_t *out);

/* tile and repeat split each axis in two, so a copy may need twice the axes
 * of an array. */
#define AM_COPY_MAX_DIMS (2 * AM_MAX_NDIM)

/* dst[sum idx[i] * dst_stride[i]] = src[sum idx[i] * src_stride[i]] for every
 * index below dim.  Strides are in elements; a src stride of 0 broadcasts. */
typedef struct am_copy_plan {
    int ndim;
    int64_t dim[AM_COPY_MAX_DIMS];
    int64_t dst_stride[AM_COPY_MAX_DIMS];
    int64_t src_stride[AM_COPY_MAX_DIMS];
} am_copy_plan;

/* Runs the plan honouring req (WRITE/INPLACE overwrite, ADD accumulates,
 * NULL skips).  dst must not overlap src unless the two are the same
 * contiguous layout.  Collapses axes that are contiguous in both layouts,
 * tiles transposes through the cache and runs OpenMP over large copies. */
am_status am_strided_copy(void *dst, const void *src, const am_copy_plan *plan, am_dtype dtype,
                          am_req req);

/* Appends an axis to plan. */
static inline void am_copy_plan_axis(am_copy_plan *p, int64_t dim, int64_t dst_stride,
                                     int64_t src_stride)
{
    AM_ASSERT(p->ndim < AM_COPY_MAX_DIMS);
    p->dim[p->ndim] = dim;
    p->dst_stride[p->ndim] = dst_stride;
    p->src_stride[p->ndim] = src_stride;
    p->ndim++;
}

/* Row-major strides of a shape, in elements. */
static inline void am_shape_strides(const am_shape *s, int64_t *strides)
{
    int64_t st = 1;
    for (int i = s->ndim; i-- > 0;) {
        strides[i] = st;
        st *= s->dim[i];
    }
}


/* The shape of a kernel view. */
static inline am_shape am_view_shape(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int i = 0; i < v->ndim; i++) s.dim[i] = v->dim[i];
    return s;
}

/* Sizes before and after axis. */
static inline void am_split3(const am_shape *s, int axis, int64_t *lead, int64_t *trail)
{
    *lead = *trail = 1;
    for (int i = 0; i < axis; i++) *lead *= s->dim[i];
    for (int i = axis + 1; i < s->ndim; i++) *trail *= s->dim[i];
}

/* One strided copy from in (at src_offset elements) into out. */
static inline am_status am_copy_run(const am_view *in, const am_view *out, const am_copy_plan *p,
                                    int64_t src_offset, am_req req)
{
    const char *src = (const char *)in->data + (size_t)src_offset * am_dtype_size(in->dtype);
    return am_strided_copy(out->data, src, p, out->dtype, req);
}

/* ---- messages and checks ------------------------------------------------------- */

#define AM_SHAPE_BUF 96

/* "(2, 3)" into buf of AM_SHAPE_BUF bytes. */
static inline char *am_fmt_shape(const am_shape *s, char *buf)
{
    return am_shape_format(s, buf, AM_SHAPE_BUF);
}

/* A tuple attribute as MXNet writes it, "(0, None)", into buf of AM_SHAPE_BUF bytes. */
static inline char *am_fmt_tuple(const am_tuple *t, char *buf)
{
    am_attr_field f = {.name = "", .type = AM_ATTR_TUPLE};
    return am_attr_format(&f, t, buf, AM_SHAPE_BUF);
}

/* A shape attribute as a shape: known sizes, at most AM_MAX_NDIM of them. */
static inline am_status am_shape_of_tuple(const am_tuple *t, am_shape *s)
{
    char buf[AM_SHAPE_BUF];
    if (t->ndim < 0 || t->ndim > AM_MAX_NDIM || t->none)
        return am_fail(AM_ERR_ARG, "shape=%s is not a shape of at most %d sizes",
                       am_fmt_tuple(t, buf), AM_MAX_NDIM);
    s->ndim = t->ndim;
    for (int i = 0; i < t->ndim; i++) {
        if (t->v[i] < 0)
            return am_fail(AM_ERR_ARG, "shape=%s has a negative size", am_fmt_tuple(t, buf));
        s->dim[i] = t->v[i];
    }
    return AM_OK;
}

/* AM_ERR_SHAPE unless every input shape is known. */
static inline am_status am_need_known(const am_shape *in, int n_in)
{
    for (int i = 0; i < n_in; i++)
        if (in[i].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of input %d is unknown", i);
    return AM_OK;
}

/* Normalises a possibly negative axis; AM_ERR_ARG naming the attribute what. */
static inline am_status am_norm_axis(int64_t axis, int ndim, const char *what, int *out)
{
    *out = 0;
    if (am_axis_norm(axis, ndim, out)) return AM_OK;
    return am_fail(AM_ERR_ARG, "%s=%lld is out of range for %d dimensions", what,
                   (long long)axis, ndim);
}

/* AM_ERR_SHAPE when a result would have more than AM_MAX_NDIM axes. */
static inline am_status am_check_ndim(int ndim)
{
    if (ndim <= AM_MAX_NDIM) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "the result would have %d dimensions; at most %d are supported",
                   ndim, AM_MAX_NDIM);
}

/* Calls a one-input, one-output op. */
static inline am_array *am_call1(const am_op_def *op, const void *attrs, am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(op, attrs, &x, 1, &y, 1, at);
    return y;
}

/* A tuple attribute from n values; AM_NONE entries become None. */
static inline void am_tuple_from_i64(const int64_t *v, int n, am_tuple *t)
{
    memset(t, 0, sizeof(*t));
    t->ndim = n;
    for (int i = 0; i < n; i++) {
        if (v[i] == AM_NONE) t->none |= 1u << i;
        else t->v[i] = v[i];
    }
}

/* The slice begin/end/step (as slice's attributes) of shape s, NumPy's way: the
 * first index and step per axis, and the slice's shape.  AM_ERR_ARG for bad
 * attributes (shape_slice.c). */
am_status am_slice_range(const am_tuple *begin, const am_tuple *end, const am_tuple *step,
                         const am_shape *s, int64_t *first, int64_t *stride, am_shape *out);

#endif /* AMBER_OPS_SHAPE_IMPL_H */
