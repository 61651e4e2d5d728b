/* Eager dispatch: the one function every op call goes through.  It checks
 * inputs, infers output shapes and dtypes, allocates (or views) outputs and
 * runs the device kernel. */
#include "ndarray_impl.h"
#include "device_impl.h"
#include "profiler_impl.h"

/* Checks the inputs and fills their shapes, dtypes and common device. */
static am_status check_inputs(const am_op_def *op, am_array *const *in, int n_in,
                              am_shape *shapes, am_dtype *dtypes, am_device *dev)
{
    *dev = am_cpu();
    for (int i = 0; i < n_in; i++) {
        am_device d = in[i]->storage->device;
        if (i == 0) {
            *dev = d;
        } else if (!am_device_equal(d, *dev)) {
            char a[32], b[32];
            return am_fail(AM_ERR_DEVICE, "input 0 is on %s but input %d is on %s",
                           am_device_format(*dev, a, sizeof(a)), i,
                           am_device_format(d, b, sizeof(b)));
        }
        shapes[i] = in[i]->shape;
        dtypes[i] = in[i]->dtype;
    }
    AM_UNUSED(op);
    return AM_OK;
}

/* ---- dtypes that compute through another ------------------------------------ */

/* True when the op's kernels do not take t themselves (float16, bfloat16,
 * bool or int8 without the op's .dtypes bit): they see am_dtype_compute(t). */
static bool via_compute(const am_op_def *op, am_dtype t)
{
    return (unsigned)t < AM_DTYPE_COUNT && am_dtype_compute(t) != t &&
           !(op->dtypes & (1u << t));
}

/* The dtype that tells "follows the input" from "fixed": float64 for a
 * float compute dtype, int64 for an integer one. */
static am_dtype probe_dtype(am_dtype compute)
{
    return compute == AM_DTYPE_FLOAT32 ? AM_DTYPE_FLOAT64 : AM_DTYPE_INT64;
}

am_status am_op_infer_dtype(const am_op_def *op, const void *attrs, am_dtype *in, int n_in,
                            am_dtype *out, int n_out)
{
    am_dtype narrow = AM_DTYPE_COUNT;
    for (int i = 0; i < n_in && narrow == AM_DTYPE_COUNT; i++)
        if (via_compute(op, in[i])) narrow = in[i];
    if (narrow == AM_DTYPE_COUNT) return op->infer_dtype(attrs, in, n_in, out, n_out);
    AM_ASSERT(n_in <= AM_MAX_OP_IO * 4 && n_out <= AM_MAX_OP_IO);
    /* Shown as the compute dtype (float32), then as the probe (float64): what
     * follows the narrow inputs changes with them; what the op fixes does
     * not.  When the probe fails (an op taking float32 only, or mixed with a
     * float32 input such as BatchNorm's statistics) every result in the
     * compute dtype follows.  The first such input decides the dtype. */
    am_dtype ct = am_dtype_compute(narrow), pt = probe_dtype(ct);
    am_dtype in32[AM_MAX_OP_IO * 4], in64[AM_MAX_OP_IO * 4], out32[AM_MAX_OP_IO],
        out64[AM_MAX_OP_IO];
    for (int i = 0; i < n_in; i++) {
        bool sub = via_compute(op, in[i]);
        in32[i] = sub ? am_dtype_compute(in[i]) : in[i];
        in64[i] = sub ? probe_dtype(am_dtype_compute(in[i])) : in[i];
    }
    for (int k = 0; k < n_out; k++) out32[k] = out64[k] = out[k];
    am_status st = op->infer_dtype(attrs, in32, n_in, out32, n_out);
    if (st != AM_OK) return st;
    bool was = am_set_speculative(true);
    bool probe = op->infer_dtype(attrs, in64, n_in, out64, n_out) == AM_OK;
    am_set_speculative(was);
    if (!probe) am_clear_error();
    for (int k = 0; k < n_out; k++)
        out[k] = out32[k] == ct && (!probe || out64[k] == pt) ? narrow : out32[k];
    for (int i = 0; i < n_in; i++)
        if (in[i] == AM_DTYPE_COUNT)
            in[i] = in32[i] == ct && (!probe || in64[i] == pt) ? narrow : in32[i];
    return AM_OK;
}

am_status am_shape_fits(const am_shape *s, am_dtype t, const char *role)
{
    if (s->ndim < 0) return AM_OK;
    am_shape k = *s;
    for (int i = 0; i < k.ndim; i++)
        if (k.dim[i] == AM_DIM_UNKNOWN) k.dim[i] = 1;
    bool known = (unsigned)t < AM_DTYPE_COUNT;
    if (am_shape_check(&k, known ? am_dtype_size(t) : 1, NULL, NULL)) return AM_OK;
    char b[AM_MAX_NDIM * 24 + 4];
    return am_fail(AM_ERR_SHAPE, "%s would have shape %s%s%s, too large for an array (its "
                   "nonzero dimensions need 2^62 bytes or more)", role,
                   am_shape_format(s, b, sizeof(b)), known ? " of " : "",
                   known ? am_dtype_name(t) : "");
}

/* The output shapes of an op with value_shape, from the inputs' values (CPU only). */
static am_status infer_from_values(const am_op_def *op, const void *attrs, am_array *const *in,
                                   int n_in, am_shape *oshape, int n_out)
{
    am_view v[AM_MAX_OP_IO];
    for (int i = 0; i < n_in; i++) {
        if (am_array_device(in[i]).type != AM_DEVICE_CPU)
            return am_fail(AM_ERR_UNSUPPORTED, "its output shape depends on input values, "
                           "which it reads on the CPU only (input %d is not there)", i);
        v[i] = am_array_view(in[i]);
    }
    return op->value_shape(attrs, v, n_in, oshape, n_out);
}

am_kernel_fn am_op_kernel(const am_op_def *op, am_device dev)
{
    switch (dev.type) {
    case AM_DEVICE_CPU: return op->cpu;
    case AM_DEVICE_GPU: return op->gpu;
    default: { /* a registered backend's kernel table (device_impl.h) */
        const am_device_backend *b = am_device_backend_for(dev.type);
        return b ? b->kernel(op) : NULL;
    }
    }
}

am_status am_op_infer(const am_op_def *op, const void *attrs, am_shape *in_shapes,
                      am_dtype *in_dtypes, int n_in, am_shape *out_shapes, am_dtype *out_dtypes,
                      int n_out, bool *dtypes_ok)
{
    am_status st = am_op_infer_dtype(op, attrs, in_dtypes, n_in, out_dtypes, n_out);
    if (dtypes_ok) *dtypes_ok = st == AM_OK;
    return st == AM_OK ? op->infer_shape(attrs, in_shapes, n_in, out_shapes, n_out) : st;
}

/* Infers all outputs (hidden ones included). */
static am_status infer(const am_op_def *op, const void *attrs, am_array *const *in,
                       am_shape *shapes, am_dtype *dtypes, int n_in, am_shape *oshape,
                       am_dtype *otype, int n_out)
{
    for (int i = 0; i < n_out; i++) {
        oshape[i].ndim = -1;
        otype[i] = AM_DTYPE_COUNT;
    }
    am_status st;
    if (op->value_shape) { /* the output shape depends on input values */
        st = am_op_infer_dtype(op, attrs, dtypes, n_in, otype, n_out);
        if (st == AM_OK) st = infer_from_values(op, attrs, in, n_in, oshape, n_out);
    } else {
        st = am_op_infer(op, attrs, shapes, dtypes, n_in, oshape, otype, n_out, NULL);
    }
    if (st != AM_OK) return st;
    for (int i = 0; i < n_out; i++) {
        if (oshape[i].ndim < 0 || oshape[i].ndim > AM_MAX_NDIM ||
            (unsigned)otype[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_INTERNAL, "output %d was not inferred", i);
        char b[96];
        if (!am_shape_known(&oshape[i]))
            return am_fail(AM_ERR_SHAPE, "output %d would have shape %s: an array cannot have "
                           "an unknown (-1) dimension", i,
                           am_shape_format(&oshape[i], b, sizeof(b)));
        snprintf(b, sizeof(b), "output %d", i);
        if ((st = am_shape_fits(&oshape[i], otype[i], b)) != AM_OK) return st;
    }
    return AM_OK;
}

static am_status run_kernel(const am_op_def *op, const void *attrs, am_array *const *in,
                            int n_in, am_array *const *outs, int n_out, const am_req *req,
                            am_device dev)
{
    am_view vin[AM_MAX_OP_IO], vout[AM_MAX_OP_IO];
    am_shape ishape[AM_MAX_OP_IO];
    for (int i = 0; i < n_in; i++) {
        vin[i] = am_array_view(in[i]);
        ishape[i] = in[i]->shape;
    }
    for (int i = 0; i < n_out; i++) vout[i] = am_array_view(outs[i]);
    am_kernel_fn fn = am_op_kernel(op, dev);
    if (!fn)
        return am_fail(AM_ERR_UNSUPPORTED, "no kernel for %s",
                       dev.type == AM_DEVICE_GPU ? "the GPU yet" : "this device");
    /* float16, bfloat16, bool and int8 the kernel does not take: copies in
     * the compute dtype (float32, int32). */
    am_storage *conv[AM_MAX_OP_IO * 2] = {0};
    am_req kreq[AM_MAX_OP_IO];
    bool any_conv = false;
    am_status st = AM_OK;
    for (int i = 0; i < n_out; i++) kreq[i] = req[i];
    for (int i = 0; i < n_in + n_out && st == AM_OK; i++) {
        am_view *v = i < n_in ? &vin[i] : &vout[i - n_in];
        if (!via_compute(op, v->dtype)) continue;
        if (dev.type != AM_DEVICE_CPU) {
            st = am_fail(AM_ERR_UNSUPPORTED, "%s %s on %s: it computes through %s, which "
                         "only the CPU does yet", i < n_in ? "input" : "output",
                         am_dtype_name(v->dtype), "the GPU",
                         am_dtype_name(am_dtype_compute(v->dtype)));
            break;
        }
        int64_t n = am_view_size(v);
        am_dtype ct = am_dtype_compute(v->dtype);
        any_conv = true;
        if (!(conv[i] = am_storage_create((size_t)(n ? n : 1) * am_dtype_size(ct), dev))) {
            st = am_last_status();
            break;
        }
        int o = i - n_in;
        if (i < n_in || req[o] == AM_REQ_ADD)
            st = am_dtype_convert(v->data, v->dtype, conv[i]->data, ct, n);
        if (i >= n_in && kreq[o] == AM_REQ_INPLACE) kreq[o] = AM_REQ_WRITE;
        v->data = conv[i]->data;
        v->dtype = ct;
    }
    if (st != AM_OK) {
        for (int i = 0; i < n_in + n_out; i++) am_storage_release(conv[i]);
        return st;
    }
    am_kernel_ctx ctx = {.device = dev, .training = am_is_training(), .rng = am_rng_state()};
    am_storage *tmp = NULL;
    if (op->temp_bytes) {
        ctx.workspace_bytes = op->temp_bytes(attrs, ishape, n_in);
        if (ctx.workspace_bytes) {
            if ((dev.type != AM_DEVICE_CPU ||
                 (st = am_memory_check(ctx.workspace_bytes, "workspace", NULL)) == AM_OK) &&
                !(tmp = am_storage_create(ctx.workspace_bytes, dev)))
                st = am_last_status();
            ctx.workspace = tmp ? tmp->data : NULL;
        }
    }
    if (st == AM_OK) st = fn(&ctx, attrs, vin, n_in, vout, n_out, kreq);
    am_storage_release(tmp);
    for (int o = 0; any_conv && o < n_out; o++)
        if (conv[n_in + o] && st == AM_OK && req[o] != AM_REQ_NULL)
            st = am_dtype_convert(vout[o].data, vout[o].dtype, am_array_ptr(outs[o]),
                                  am_array_dtype(outs[o]), am_view_size(&vout[o]));
    for (int i = 0; i < n_in + n_out; i++) am_storage_release(conv[i]);
    return st;
}

am_status am_op_run_into(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                         am_array *const *out, const am_req *req)
{
    int n_out = am_op_num_outputs(op, attrs);
    AM_ASSERT(n_in <= AM_MAX_OP_IO && n_out <= AM_MAX_OP_IO && n_out > 0);
    if (am_prof_on()) {
        am_prof_span s;
        am_prof_begin(&s);
        am_status st = run_kernel(op, attrs, in, n_in, out, n_out, req, am_array_device(out[0]));
        am_prof_op(&s, op, in, n_in, out, n_out, st, (am_site){0});
        return st;
    }
    return run_kernel(op, attrs, in, n_in, out, n_out, req, am_array_device(out[0]));
}

/* Allocates outputs; output 0 becomes a view of input 0 when the op allows. */
static am_status make_outputs(const am_op_def *op, const void *attrs, am_array *const *in,
                              int n_in, const am_shape *oshape, const am_dtype *otype,
                              int n_out, am_device dev, am_array **outs, bool *is_view)
{
    int64_t offset = 0;
    *is_view = op->view && n_in > 0 && n_out == 1 && otype[0] == in[0]->dtype &&
               op->view(attrs, &in[0]->shape, &offset);
    if (dev.type == AM_DEVICE_CPU &&  /* before any is made */
        am_memory_check_outputs(oshape, otype, *is_view, n_out) != AM_OK)
        return am_last_status();
    for (int i = 0; i < n_out; i++) {
        if (i == 0 && *is_view)
            outs[i] = am_array_new_view(in[0], oshape[0], otype[0],
                                        (size_t)offset * am_dtype_size(otype[0]));
        else
            outs[i] = am_array_alloc(oshape[i], otype[i], dev);
        if (!outs[i]) return am_last_status();
    }
    return AM_OK;
}

static am_status op_call(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                         am_array **out, int n_out, am_site at)
{
    am_array *outs[AM_MAX_OP_IO] = {0};
    am_shape shapes[AM_MAX_OP_IO], oshape[AM_MAX_OP_IO];
    am_dtype dtypes[AM_MAX_OP_IO], otype[AM_MAX_OP_IO];
    am_device dev;
    am_err_ctx c;
    bool is_view = false;

    am_registry_init();
    if (!op) return am_fail(AM_ERR_ARG, "am_op_call: op is NULL");
    for (int i = 0; i < n_in; i++)
        if (!in || !in[i]) return am_fail_null_input(op->name, i, at);
    am_err_push(&c, op->name, at);
    am_status st = AM_OK;
    int want_in = am_op_num_inputs(op, attrs), visible = am_op_num_visible(op, attrs);
    int n_all = am_op_num_outputs(op, attrs);
    if (n_in != want_in || n_in > AM_MAX_OP_IO) {
        st = am_fail(AM_ERR_ARG, "expects %d inputs, got %d", want_in, n_in);
        goto out;
    }
    if (n_out != visible || n_all > AM_MAX_OP_IO || n_all < visible) {
        st = am_fail(AM_ERR_ARG, "has %d outputs, caller asked for %d", visible, n_out);
        goto out;
    }
    for (int i = 0; i < n_in; i++)
        if (!in[i]->storage) { /* a symbolic input: add a graph node instead */
            st = am_symbol_hooks_get()->trace_call(op, attrs, in, n_in, out, n_out, at);
            goto out;
        }
    if ((st = check_inputs(op, in, n_in, shapes, dtypes, &dev)) != AM_OK) goto out;
    if ((st = infer(op, attrs, in, shapes, dtypes, n_in, oshape, otype, n_all)) != AM_OK)
        goto out;
    if ((st = make_outputs(op, attrs, in, n_in, oshape, otype, n_all, dev, outs, &is_view)) != AM_OK)
        goto out_release;
    if (!is_view) {
        am_req req[AM_MAX_OP_IO];
        for (int i = 0; i < n_all; i++) req[i] = AM_REQ_WRITE;
        if ((st = run_kernel(op, attrs, in, n_in, outs, n_all, req, dev)) != AM_OK) goto out_release;
    }
    if ((st = am_tape_record(op, attrs, in, n_in, outs, n_all, n_out, at)) != AM_OK)
        goto out_release;
    for (int i = 0; i < n_out; i++) out[i] = am_scope_own(outs[i]);
    for (int i = n_out; i < n_all; i++) am_release(outs[i]);
    goto out;

out_release:
    for (int i = 0; i < n_all; i++) am_release(outs[i]);
out:
    am_err_pop(&c);
    return st;
}

/* The profiler's flag is checked before anything else: when it is off, an
 * op pays one load and one branch for it (docs/profiling.md). */
am_status am_op_call(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                     am_array **out, int n_out, am_site at)
{
    if (am_prof_on() && op) {
        am_prof_span s;
        am_prof_begin(&s);
        am_status st = op_call(op, attrs, in, n_in, out, n_out, at);
        if (in || n_in == 0) am_prof_op(&s, op, in, n_in, out, n_out, st, at);
        return st;
    }
    return op_call(op, attrs, in, n_in, out, n_out, at);
}

am_status am_invoke_at(const char *name, am_array *const *in, int n_in, const char *const *keys,
                       const char *const *vals, int n_attrs, am_array **out, int n_out,
                       am_site at)
{
    am_err_ctx c;
    am_err_push(&c, NULL, at);
    const am_op_def *op = am_op_find(name);
    void *attrs = op ? am_attrs_parse(op, keys, vals, n_attrs) : NULL;
    am_err_pop(&c);
    if (!attrs) return am_last_status();
    am_status st = am_op_call(op, attrs, in, n_in, out, n_out, at);
    free(attrs);
    return st;
}

am_array *am_op_call1(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                      am_site at)
{
    am_array *y = NULL;
    am_op_call(op, attrs, in, n_in, &y, 1, at);
    return y;
}
