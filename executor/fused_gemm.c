/* The fused GEMM ops the epilogue pass makes, _amber_fused_fc and
 * _amber_fused_conv: FullyConnected or Convolution followed by an activation
 * applied in place over the output, each step the registered op's own kernel.
 * Also attribute access by name, which the GEMM passes share. */
#include "executor_impl.h"

#include <pthread.h>
#include <stdalign.h>

/* ---- attributes by name ------------------------------------------------------ */

const am_attr_field *am_attr_by_name(const am_op_def *op, const char *name)
{
    for (const am_attr_field *f = op->attrs; f && f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

bool am_attr_read_int(const am_op_def *op, const void *attrs, const char *name, int64_t *v)
{
    const am_attr_field *f = am_attr_by_name(op, name);
    const char *p = (const char *)attrs + (f ? f->offset : 0);
    if (!f) return false;
    switch (f->type) {
    case AM_ATTR_INT: memcpy(v, p, sizeof(int64_t)); return true;
    case AM_ATTR_BOOL: *v = *(const bool *)p; return true;
    case AM_ATTR_ENUM: *v = *(const int *)p; return true;
    default: return false;
    }
}

bool am_attr_read_float(const am_op_def *op, const void *attrs, const char *name, double *v)
{
    const am_attr_field *f = am_attr_by_name(op, name);
    if (!f || f->type != AM_ATTR_FLOAT) return false;
    memcpy(v, (const char *)attrs + f->offset, sizeof(double));
    return true;
}

bool am_attr_write_int(const am_op_def *op, void *attrs, const char *name, int64_t v)
{
    const am_attr_field *f = am_attr_by_name(op, name);
    char *p = (char *)attrs + (f ? f->offset : 0);
    if (!f) return false;
    switch (f->type) {
    case AM_ATTR_INT: memcpy(p, &v, sizeof(int64_t)); return true;
    case AM_ATTR_BOOL: *(bool *)p = v != 0; return true;
    case AM_ATTR_ENUM: *(int *)p = (int)v; return true;
    default: return false;
    }
}

int am_attr_choice_index(const am_op_def *op, const char *name, const char *choice)
{
    const am_attr_field *f = am_attr_by_name(op, name);
    for (int i = 0; f && f->choices && f->choices[i]; i++)
        if (strcmp(f->choices[i], choice) == 0) return i;
    return -1;
}

bool am_attrs_print_equal(const am_op_def *op, const void *a, const void *b)
{
    char sa[256], sb[256];
    for (const am_attr_field *f = op->attrs; f && f->name; f++)
        if (strcmp(am_attr_format(f, a, sa, sizeof(sa)), am_attr_format(f, b, sb, sizeof(sb))))
            return false;
    return true;
}

/* ---- the fused ops ------------------------------------------------------------ */

/* The fused attributes are the GEMM op's own struct followed, at an aligned
 * offset, by this tail: the GEMM kernel and inference read the prefix as
 * they would their own attributes. */
typedef struct fused_tail {
    int act_type;
    double slope;
} fused_tail;

/* The first five run Activation's kernel, the others LeakyReLU's. */
static const char *const act_choices[] = {"relu", "sigmoid", "tanh", "softrelu", "softsign",
                                          "leaky", "elu", "selu", "gelu", NULL};
enum { N_ACTIVATION_TYPES = 5 };

enum { FUSED_FC, FUSED_CONV, N_FUSED };
enum { MAX_FIELDS = 48 };

typedef struct fused_def {
    am_op_def def;
    am_attr_field fields[MAX_FIELDS];
    const am_op_def *base;
    size_t tail;          /* offset of the fused_tail */
} fused_def;

/* Filled once by register_all (the pthread_once registration). */
static fused_def fused[N_FUSED];
static const am_op_def *activation_op, *leaky_op;
static am_status init_status = AM_OK;
static char init_error[256];

static const fused_tail *tail_of(const fused_def *f, const void *attrs)
{
    return (const fused_tail *)((const char *)attrs + f->tail);
}

/* An activation op's attributes for the fused act_type, in buf. */
static const am_op_def *act_attrs(const fused_tail *t, void *buf, size_t cap)
{
    const am_op_def *op = t->act_type < N_ACTIVATION_TYPES ? activation_op : leaky_op;
    AM_ASSERT(op->attrs_size <= cap);
    if (am_attrs_init(op, buf) != AM_OK) return NULL;
    int k = am_attr_choice_index(op, "act_type", act_choices[t->act_type]);
    AM_ASSERT(k >= 0);
    am_attr_write_int(op, buf, "act_type", k);
    const am_attr_field *s = am_attr_by_name(op, "slope");
    if (s) memcpy((char *)buf + s->offset, &t->slope, sizeof(double));
    return op;
}

/* Chunks of the output the activation runs on, each small enough to stay in
 * cache and below AM_OMP_MIN (so the kernel does not open a nested region). */
#define ACT_CHUNK 16384

/* The activation over out in place, chunk by chunk, chunks across threads. */
static am_status act_in_place(const am_kernel_ctx *ctx, const fused_tail *t, const am_view *out)
{
    alignas(16) unsigned char buf[256];
    const am_op_def *op = act_attrs(t, buf, sizeof(buf));
    if (!op) return am_last_status();
    if (!am_dtype_is_float(out->dtype))
        return am_fail(AM_ERR_DTYPE, "%s output is not supported", am_dtype_name(out->dtype));
    const int64_t n = am_view_size(out), n_chunks = (n + ACT_CHUNK - 1) / ACT_CHUNK;
    const size_t esz = am_dtype_size(out->dtype);
    const am_req req = AM_REQ_INPLACE;
    int failed = 0;
    #pragma omp parallel for if (n > AM_OMP_MIN) schedule(static) reduction(+:failed)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t lo = c * ACT_CHUNK, len = n - lo < ACT_CHUNK ? n - lo : ACT_CHUNK;
        am_shape s = AM_SHAPE(len);
        am_view v = am_view_make((char *)out->data + (size_t)lo * esz, out->dtype, &s,
                                 out->device);
        failed += am_op_kernel(op, ctx->device)(ctx, buf, &v, 1, &v, 1, &req) != AM_OK;
    }
    if (failed)
        return am_fail(AM_ERR_INTERNAL, "%s %s failed on %d chunk%s of the output", op->name,
                       act_choices[t->act_type], failed, failed == 1 ? "" : "s");
    return AM_OK;
}

/* FullyConnected with a small weight (a cheap product per row, so the pass
 * over the output counts) and an output larger than a cache runs in row
 * blocks across threads: each thread writes a block of about HOT_BYTES with
 * a single-threaded product (OpenBLAS stays on one thread inside a parallel
 * region) and activates it while it is still in its cache. */
#define HOT_BYTES (256 * 1024)
#define HOT_MIN_ROWS 64

extern int omp_get_max_threads(void) __attribute__((weak));

/* Rows per block for a FullyConnected output o with weight w, or 0 for one
 * product over all rows (threaded inside BLAS) followed by the activation. */
static int64_t hot_rows(const am_view *o, const am_view *w)
{
    const int64_t esz = (int64_t)am_dtype_size(o->dtype), threads =
        omp_get_max_threads ? omp_get_max_threads() : 1;
    const int64_t n = o->ndim ? o->dim[o->ndim - 1] : 0, rows = n ? am_view_size(o) / n : 0;
    if (!n || rows * n * esz <= HOT_BYTES || am_view_size(w) * esz > HOT_BYTES ||
        w->dim[w->ndim - 1] > INT32_MAX || n > INT32_MAX)
        return 0;
    int64_t block = HOT_BYTES / (n * esz), even = (rows + threads - 1) / threads;
    if (even < block) block = even; /* every thread gets a block */
    return block < HOT_MIN_ROWS ? 0 : block;
}

/* The product and activation block by block: data rows [r0, r0 + r) as an
 * (r, cols) matrix give output rows [r0, r0 + r). */
static am_status fc_in_blocks(const fused_def *f, const am_kernel_ctx *ctx, const void *attrs,
                              const am_view *in, int n_in, const am_view *out, int64_t block)
{
    const am_view *o = &out[0];
    const size_t esz = am_dtype_size(o->dtype);
    const int64_t n = o->dim[o->ndim - 1], rows = am_view_size(o) / n;
    const int64_t cols = am_view_size(&in[0]) / rows, n_blocks = (rows + block - 1) / block;
    const am_req write = AM_REQ_WRITE;
    int failed = 0;
    #pragma omp parallel for schedule(static) reduction(+:failed)
    for (int64_t k = 0; k < n_blocks; k++) {
        int64_t r0 = k * block, r = rows - r0 < block ? rows - r0 : block;
        am_shape ds = AM_SHAPE(r, cols), os = AM_SHAPE(r, n);
        am_view v[3] = {am_view_make((char *)in[0].data + (size_t)(r0 * cols) * esz,
                                     in[0].dtype, &ds, in[0].device), in[1], in[n_in - 1]};
        am_view ov = am_view_make((char *)o->data + (size_t)(r0 * n) * esz, o->dtype, &os,
                                  o->device);
        am_status st = am_op_kernel(f->base, ctx->device)(ctx, attrs, v, n_in, &ov, 1, &write);
        if (st == AM_OK) st = act_in_place(ctx, tail_of(f, attrs), &ov);
        failed += st != AM_OK;
    }
    if (failed)
        return am_fail(AM_ERR_INTERNAL, "%d of %lld row blocks failed", failed,
                       (long long)n_blocks);
    return AM_OK;
}

/* The GEMM op's kernel into the output, then the activation over it. */
static am_status fused_run(const fused_def *f, const am_kernel_ctx *ctx, const void *attrs,
                           const am_view *in, int n_in, const am_view *out, int n_out,
                           const am_req *req)
{
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (req[0] == AM_REQ_ADD)
        return am_fail(AM_ERR_UNSUPPORTED, "accumulating into the output (AM_REQ_ADD) is not "
                       "supported: the activation applies to the product alone");
    int64_t block = f == &fused[FUSED_FC] && n_in <= 3 ? hot_rows(&out[0], &in[1]) : 0;
    if (block) return fc_in_blocks(f, ctx, attrs, in, n_in, out, block);
    am_req write = AM_REQ_WRITE;
    am_status st = am_op_kernel(f->base, ctx->device)(ctx, attrs, in, n_in, out, n_out, &write);
    if (st != AM_OK) return st;
    return act_in_place(ctx, tail_of(f, attrs), &out[0]);
}

/* Per-op entry points: the same functions bound to fused[k]. */
#define FUSED_ENTRIES(k, id)                                                                 \
    static am_status id##_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                              int n_in, const am_view *out, int n_out, const am_req *req)    \
    {                                                                                        \
        return fused_run(&fused[k], ctx, attrs, in, n_in, out, n_out, req);                  \
    }                                                                                        \
    static am_status id##_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,    \
                                int n_out)                                                   \
    {                                                                                        \
        return fused[k].base->infer_shape(attrs, in, n_in, out, n_out);                      \
    }                                                                                        \
    static am_status id##_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,    \
                                int n_out)                                                   \
    {                                                                                        \
        return fused[k].base->infer_dtype(attrs, in, n_in, out, n_out);                      \
    }                                                                                        \
    static int id##_inputs(const void *attrs)                                                \
    {                                                                                        \
        return am_op_num_inputs(fused[k].base, attrs);                                       \
    }                                                                                        \
    static size_t id##_temp(const void *attrs, const am_shape *in, int n_in)                 \
    {                                                                                        \
        return fused[k].base->temp_bytes ? fused[k].base->temp_bytes(attrs, in, n_in) : 0;  \
    }
FUSED_ENTRIES(FUSED_FC, fused_fc)
FUSED_ENTRIES(FUSED_CONV, fused_conv)

typedef struct fused_spec {
    const char *name, *base, *doc;
    am_kernel_fn cpu;
    am_status (*infer_shape)(const void *, am_shape *, int, am_shape *, int);
    am_status (*infer_dtype)(const void *, am_dtype *, int, am_dtype *, int);
    int (*num_inputs)(const void *);
    size_t (*temp_bytes)(const void *, const am_shape *, int);
} fused_spec;

static const fused_spec specs[N_FUSED] = {
    {"_amber_fused_fc", "FullyConnected",
     "FullyConnected then an activation (act_type; slope for leaky and elu) applied in place "
     "over its output; made by the epilogue pass.",
     fused_fc_cpu, fused_fc_shape, fused_fc_dtype, fused_fc_inputs, fused_fc_temp},
    {"_amber_fused_conv", "Convolution",
     "Convolution then an activation (act_type; slope for leaky and elu) applied in place "
     "over its output; made by the epilogue pass.",
     fused_conv_cpu, fused_conv_shape, fused_conv_dtype, fused_conv_inputs, fused_conv_temp},
};

/* fused[k]'s schema: the GEMM op's fields at their offsets, then act_type
 * and slope in the tail. */
static am_status build_def(int k)
{
    const fused_spec *s = &specs[k];
    fused_def *f = &fused[k];
    const am_op_def *base = am_op_find(s->base);
    if (!base) return am_last_status();
    f->base = base;
    f->tail = (base->attrs_size + alignof(fused_tail) - 1) / alignof(fused_tail) *
              alignof(fused_tail);
    int n = 0;
    for (const am_attr_field *b = base->attrs; b && b->name; b++) {
        AM_ASSERT(n < MAX_FIELDS - 3);
        f->fields[n++] = *b;
    }
    f->fields[n++] = (am_attr_field){"act_type", AM_ATTR_ENUM,
                                     f->tail + offsetof(fused_tail, act_type), NULL, act_choices,
                                     "activation applied to the product"};
    f->fields[n++] = (am_attr_field){"slope", AM_ATTR_FLOAT,
                                     f->tail + offsetof(fused_tail, slope), "0.25", NULL,
                                     "slope of leaky, alpha of elu (as LeakyReLU's)"};
    f->fields[n] = (am_attr_field){0};
    f->def = (am_op_def){
        .name = s->name, .input_names = base->input_names, .num_inputs = s->num_inputs,
        .num_outputs = 1, .attrs = f->fields, .attrs_size = f->tail + sizeof(fused_tail),
        .infer_shape = s->infer_shape, .infer_dtype = s->infer_dtype,
        .temp_bytes = base->temp_bytes ? s->temp_bytes : NULL, .cpu = s->cpu,
        .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | (base->flags & AM_OP_NEEDS_TEMP),
        .doc = s->doc};
    return am_op_register(&f->def);
}

static void register_all(void)
{
    am_status st = AM_OK;
    if (!(activation_op = am_op_find("Activation")) || !(leaky_op = am_op_find("LeakyReLU")))
        st = am_last_status();
    for (int k = 0; k < N_FUSED && st == AM_OK; k++) st = build_def(k);
    if (st != AM_OK) snprintf(init_error, sizeof(init_error), "%s", am_last_error());
    init_status = st;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

am_status am_fused_gemm_init(void)
{
    pthread_once(&once, register_all);
    if (init_status != AM_OK)
        return am_fail(init_status, "registering the fused GEMM ops: %s", init_error);
    return AM_OK;
}

const am_op_def *am_fused_gemm_op(const am_op_def *gemm)
{
    if (am_fused_gemm_init() != AM_OK) return NULL;
    for (int k = 0; k < N_FUSED; k++)
        if (fused[k].base == gemm) return &fused[k].def;
    return NULL;
}

bool am_fused_act_known(const char *act_type)
{
    for (int i = 0; act_choices[i]; i++)
        if (strcmp(act_choices[i], act_type) == 0) return true;
    return false;
}

void *am_fused_gemm_attrs(const am_op_def *fused_op, const void *gemm_attrs,
                          const char *act_type, double slope)
{
    const fused_def *f = NULL;
    for (int k = 0; k < N_FUSED; k++)
        if (&fused[k].def == fused_op) f = &fused[k];
    AM_ASSERT(f != NULL);
    char *a = calloc(1, fused_op->attrs_size);
    if (!a) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    memcpy(a, gemm_attrs, f->base->attrs_size);
    fused_tail *t = (fused_tail *)(a + f->tail);
    t->slope = slope;
    for (t->act_type = 0; act_choices[t->act_type]; t->act_type++)
        if (strcmp(act_choices[t->act_type], act_type) == 0) return a;
    free(a);
    am_fail(AM_ERR_ARG, "%s: unknown act_type '%s'", fused_op->name, act_type);
    return NULL;
}
