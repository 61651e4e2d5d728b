/* Sequence ops over a time axis with per-batch lengths: SequenceMask,
 * SequenceLast (and its gradient, _backward_SequenceLast) and SequenceReverse.
 * data is (time, batch, ...) with axis=0 or (batch, time, ...) with axis=1;
 * sequence_length, an input only when use_sequence_length is set, holds one
 * length per batch entry (any dtype; fractions truncate, as MXNet's casts do). */
#include "shape_impl.h"

typedef struct seq_attrs {
    bool use_sequence_length;
    double value;   /* SequenceMask only */
    int64_t axis;
} seq_attrs;

static const char *const seq_inputs[] = {"data", "sequence_length", NULL};

#define SEQ_USE_FIELD \
    AM_ATTR_FIELD(seq_attrs, use_sequence_length, AM_ATTR_BOOL, "False", \
                  "read the lengths from sequence_length; else every sequence is full")
#define SEQ_AXIS_FIELD \
    AM_ATTR_FIELD(seq_attrs, axis, AM_ATTR_INT, "0", "the time axis: 0 or 1 (batch is the other)")

static const am_attr_field mask_fields[] = {
    SEQ_USE_FIELD,
    AM_ATTR_FIELD(seq_attrs, value, AM_ATTR_FLOAT, "0", "value of the masked steps"),
    SEQ_AXIS_FIELD,
    {0}};

static const am_attr_field seq_fields[] = {SEQ_USE_FIELD, SEQ_AXIS_FIELD, {0}};

static int seq_num_inputs(const void *attrs)
{
    return ((const seq_attrs *)attrs)->use_sequence_length ? 2 : 1;
}

/* The time and batch sizes and the elements per step of data shape s. */
typedef struct seq_geom {
    int axis;
    int64_t steps, batch, trail;
} seq_geom;

static am_status seq_geom_of(const seq_attrs *a, const am_shape *s, bool axis0_only,
                             seq_geom *g)
{
    char buf[AM_SHAPE_BUF];
    if (a->axis != 0 && (axis0_only || a->axis != 1))
        return am_fail(AM_ERR_ARG, "axis=%lld is not supported: the time axis must be %s",
                       (long long)a->axis, axis0_only ? "0" : "0 or 1");
    if (s->ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s must have at least 2 dimensions (time and batch)",
                       am_fmt_shape(s, buf));
    g->axis = (int)a->axis;
    g->steps = s->dim[g->axis];
    g->batch = s->dim[1 - g->axis];
    g->trail = 1;
    for (int i = 2; i < s->ndim; i++) g->trail *= s->dim[i];
    return AM_OK;
}

/* Offset of step t of batch entry b. */
static inline int64_t seq_at(const seq_geom *g, int64_t t, int64_t b)
{
    return (g->axis == 0 ? t * g->batch + b : b * g->steps + t) * g->trail;
}

/* data's geometry and, with use_sequence_length, a (batch,) sequence_length. */
static am_status seq_check(const seq_attrs *a, const am_shape *in, int n_in, bool axis0_only,
                           seq_geom *g)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = seq_geom_of(a, &in[0], axis0_only, g);
    if (st != AM_OK || !a->use_sequence_length) return st;
    if (in[1].ndim != 1 || in[1].dim[0] != g->batch)
        return am_fail(AM_ERR_SHAPE, "sequence_length %s must be (%lld,), one length per batch "
                       "entry of data %s (axis=%d)", am_fmt_shape(&in[1], b1),
                       (long long)g->batch, am_fmt_shape(&in[0], b0), g->axis);
    return AM_OK;
}

/* The length of batch entry b, truncated; steps without sequence_length. */
static inline int64_t seq_len(const seq_attrs *a, const am_view *lens, const seq_geom *g,
                              int64_t b)
{
    if (!a->use_sequence_length) return g->steps;
    double v = am_view_get(lens, b);
    return v >= (double)INT64_MAX ? INT64_MAX : v <= -(double)INT64_MAX ? -INT64_MAX : (int64_t)v;
}

/* Lengths must lie in [lo, steps] (SequenceLast, SequenceReverse). */
static am_status seq_lens_in(const seq_attrs *a, const am_view *lens, const seq_geom *g,
                             int64_t lo, const char *why)
{
    for (int64_t b = 0; a->use_sequence_length && b < g->batch; b++) {
        int64_t n = seq_len(a, lens, g, b);
        if (n < lo || n > g->steps)
            return am_fail(AM_ERR_ARG, "sequence_length[%lld] = %g is outside [%lld, %lld], %s",
                           (long long)b, am_view_get(lens, b), (long long)lo,
                           (long long)g->steps, why);
    }
    return AM_OK;
}

static am_status seq_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
    out[0] = in[0];
    return AM_OK;
}

/* Copies one step's trail elements (src NULL: fills with v), honouring req. */
#define SEQ_STEP(T, d, s, v, n, add)                                                        \
    do {                                                                                    \
        for (int64_t k_ = 0; k_ < (n); k_++) {                                              \
            T x_ = (s) ? (s)[k_] : (v);                                                     \
            (d)[k_] = (add) ? (d)[k_] + x_ : x_;                                            \
        }                                                                                   \
    } while (0)

/* ---- SequenceMask ----------------------------------------------------------------------- */

static am_status mask_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    seq_geom g;
    am_status st = seq_check(attrs, in, n_in, false, &g);
    if (st == AM_OK) out[0] = in[0];
    return st;
}

static am_status mask_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const seq_attrs *a = attrs;
    am_shape s = am_view_shape(&in[0]);
    seq_geom g;
    am_status st = seq_geom_of(a, &s, false, &g);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *x = in[0].data, v = (T)a->value;
        T *y = out->data;
        for (int64_t b = 0; b < g.batch; b++) {
            int64_t len = seq_len(a, &in[1], &g, b);
            for (int64_t t = 0; t < g.steps; t++) {
                int64_t o = seq_at(&g, t, b);
                SEQ_STEP(T, y + o, t < len ? x + o : NULL, v, g.trail, add);
            }
        }
    });
    return AM_OK;
}

/* The masked steps get no gradient: the gradient is SequenceMask(ograd, value=0). */
static am_status mask_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    seq_attrs a = *(const seq_attrs *)g->attrs;
    if (!g->need_grad[0]) return AM_OK;
    a.value = 0;
    am_array *x[2] = {og[0], g->n_in > 1 ? in[1] : NULL};
    return am_op_call(g->op, &a, x, g->n_in, &ig[0], 1, g->at);
}

const am_op_def am_op_sequence_mask = {
    .name = "SequenceMask", .input_names = seq_inputs, .num_inputs = seq_num_inputs,
    .num_outputs = 1, .attrs = mask_fields, .attrs_size = sizeof(seq_attrs),
    .infer_shape = mask_shape, .infer_dtype = seq_dtype, .cpu = mask_cpu,
    .gradient = mask_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "data with the steps at or past each sequence's length set to value."};

/* ---- SequenceLast ----------------------------------------------------------------------- */

/* data without its time axis. */
static am_shape last_shape_of(const am_shape *s, int axis)
{
    am_shape o = *s;
    o.ndim--;
    for (int i = axis; i < o.ndim; i++) o.dim[i] = s->dim[i + 1];
    return o;
}

static am_status last_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const seq_attrs *a = attrs;
    char buf[AM_SHAPE_BUF];
    seq_geom g;
    am_status st = seq_check(a, in, n_in, false, &g);
    if (st != AM_OK) return st;
    if (g.steps == 0 && g.batch > 0)
        return am_fail(AM_ERR_SHAPE, "data %s has no steps to take the last of",
                       am_fmt_shape(&in[0], buf));
    out[0] = last_shape_of(&in[0], g.axis);
    return AM_OK;
}

/* y[b] (op) data[len_b - 1, b]: gather when scatter is false, else y += into zeros. */
static am_status last_move(const seq_attrs *a, const am_view *data, const am_view *lens,
                           const am_view *res, bool scatter, am_req req)
{
    const am_view *full = scatter ? res : data;
    am_shape s = am_view_shape(full);
    seq_geom g;
    am_status st = seq_geom_of(a, &s, false, &g);
    if (st == AM_OK) st = seq_lens_in(a, lens, &g, 1, "as SequenceLast needs a step to take");
    if (st != AM_OK || req == AM_REQ_NULL) return st;
    bool add = req == AM_REQ_ADD;
    if (scatter && !add)
        memset(res->data, 0, (size_t)am_view_size(res) * am_dtype_size(res->dtype));
    AM_DTYPE_SWITCH(res->dtype, T, {
        const T *x = data->data;
        T *y = res->data;
        for (int64_t b = 0; b < g.batch; b++) {
            int64_t f = seq_at(&g, seq_len(a, lens, &g, b) - 1, b), p = b * g.trail;
            if (scatter) SEQ_STEP(T, y + f, x + p, (T)0, g.trail, true);
            else SEQ_STEP(T, y + p, x + f, (T)0, g.trail, add);
        }
    });
    return AM_OK;
}

static am_status last_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return last_move(attrs, &in[0], &in[1], &out[0], false, req[0]);
}

/* _backward_SequenceLast's attributes: the forward ones, and data's shape. */
typedef struct backward_last_attrs {
    seq_attrs s;
    am_tuple shape;
} backward_last_attrs;

extern const am_op_def am_op_backward_sequence_last;

static am_status last_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    backward_last_attrs b = {.s = *(const seq_attrs *)g->attrs};
    am_shape s = am_array_shape(in[0]);
    am_tuple_from_i64(s.dim, s.ndim, &b.shape);
    am_array *x[2] = {og[0], g->n_in > 1 ? in[1] : NULL};
    return am_op_call(&am_op_backward_sequence_last, &b, x, g->n_in, &ig[0], 1, g->at);
}

const am_op_def am_op_sequence_last = {
    .name = "SequenceLast", .input_names = seq_inputs, .num_inputs = seq_num_inputs,
    .num_outputs = 1, .attrs = seq_fields, .attrs_size = sizeof(seq_attrs),
    .infer_shape = last_shape, .infer_dtype = seq_dtype, .cpu = last_cpu,
    .gradient = last_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "The last step of each sequence (at its length, or the last of the time axis); "
           "lengths must lie in [1, steps]."};

/* ---- _backward_SequenceLast -------------------------------------------------------------- */

static const am_attr_field backward_last_fields[] = {
    {"use_sequence_length", AM_ATTR_BOOL, offsetof(backward_last_attrs, s.use_sequence_length),
     "False", NULL, "the forward use_sequence_length"},
    {"axis", AM_ATTR_INT, offsetof(backward_last_attrs, s.axis), "0", NULL, "the forward axis"},
    {"shape", AM_ATTR_TUPLE, offsetof(backward_last_attrs, shape), NULL, NULL,
     "shape of the forward data, and of the result"},
    {0}};

static int backward_last_inputs(const void *attrs)
{
    return seq_num_inputs(&((const backward_last_attrs *)attrs)->s);
}

static am_status backward_last_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    const backward_last_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_shape fwd[2], want;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_shape_of_tuple(&a->shape, &fwd[0]);
    if (st != AM_OK) return st;
    if (n_in > 1) fwd[1] = in[1];
    if ((st = last_shape(&a->s, fwd, n_in, &want, n_out)) != AM_OK) return st;
    bool same = in[0].ndim == want.ndim;
    for (int i = 0; same && i < want.ndim; i++) same = in[0].dim[i] == want.dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "ograd %s is not %s, SequenceLast's result for data %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&want, b1),
                       am_fmt_shape(&fwd[0], b2));
    out[0] = fwd[0];
    return AM_OK;
}

static am_status backward_last_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return last_move(&((const backward_last_attrs *)attrs)->s, &in[0], &in[1], &out[0], true,
                     req[0]);
}

/* Linear in ograd: its gradient is SequenceLast itself. */
static am_status backward_last_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], g->n_in > 1 ? in[1] : NULL};
    return am_op_call(&am_op_sequence_last, &((const backward_last_attrs *)g->attrs)->s, x,
                      g->n_in, &ig[0], 1, g->at);
}

const am_op_def am_op_backward_sequence_last = {
    .name = "_backward_SequenceLast",
    .input_names = (const char *const[]){"ograd", "sequence_length", NULL},
    .num_inputs = backward_last_inputs, .num_outputs = 1, .attrs = backward_last_fields,
    .attrs_size = sizeof(backward_last_attrs), .infer_shape = backward_last_shape,
    .infer_dtype = seq_dtype, .cpu = backward_last_cpu, .gradient = backward_last_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Gradient of SequenceLast: ograd written into zeros of data's shape at each "
           "sequence's last step."};

/* ---- SequenceReverse ---------------------------------------------------------------------- */

static am_status reverse_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    seq_geom g;
    am_status st = seq_check(attrs, in, n_in, true, &g);
    if (st == AM_OK) out[0] = in[0];
    return st;
}

/* Steps t < len come from len - 1 - t; the rest stay. */
static am_status reverse_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const seq_attrs *a = attrs;
    am_shape s = am_view_shape(&in[0]);
    seq_geom g;
    am_status st = seq_geom_of(a, &s, true, &g);
    if (st == AM_OK) st = seq_lens_in(a, &in[1], &g, 0, "the steps of data");
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *x = in[0].data;
        T *y = out->data;
        for (int64_t b = 0; b < g.batch; b++) {
            int64_t len = seq_len(a, &in[1], &g, b);
            for (int64_t t = 0; t < g.steps; t++)
                SEQ_STEP(T, y + seq_at(&g, t, b), x + seq_at(&g, t < len ? len - 1 - t : t, b),
                         (T)0, g.trail, add);
        }
    });
    return AM_OK;
}

/* A permutation that is its own inverse: the gradient is SequenceReverse(ograd). */
static am_status reverse_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], g->n_in > 1 ? in[1] : NULL};
    return am_op_call(g->op, g->attrs, x, g->n_in, &ig[0], 1, g->at);
}

const am_op_def am_op_sequence_reverse = {
    .name = "SequenceReverse", .input_names = seq_inputs, .num_inputs = seq_num_inputs,
    .num_outputs = 1, .attrs = seq_fields, .attrs_size = sizeof(seq_attrs),
    .infer_shape = reverse_shape, .infer_dtype = seq_dtype, .cpu = reverse_cpu,
    .gradient = reverse_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Each sequence's first length steps reversed along the time axis (axis 0 only, as "
           "in MXNet); lengths must lie in [0, steps]."};

/* ---- C functions ------------------------------------------------------------------------ */

static am_array *seq_call(const am_op_def *op, am_array *x, am_array *lens, int64_t axis,
                          double value, am_site at)
{
    seq_attrs a = {.use_sequence_length = lens != NULL, .value = value, .axis = axis};
    am_array *in[2] = {x, lens}, *y = NULL;
    am_op_call(op, &a, in, lens ? 2 : 1, &y, 1, at);
    return y;
}

am_array *am_sequence_mask_at(am_array *x, am_array *lens, int64_t axis, double value,
                              am_site at)
{
    return seq_call(&am_op_sequence_mask, x, lens, axis, value, at);
}

am_array *am_sequence_last_at(am_array *x, am_array *lens, int64_t axis, am_site at)
{
    return seq_call(&am_op_sequence_last, x, lens, axis, 0, at);
}

am_array *am_sequence_reverse_at(am_array *x, am_array *lens, am_site at)
{
    return seq_call(&am_op_sequence_reverse, x, lens, 0, 0, at);
}
