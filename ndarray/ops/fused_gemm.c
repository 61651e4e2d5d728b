/* The fused GEMM ops the epilogue pass makes (_amber_fused_fc,
 * _amber_fused_conv, and one for any registered op whose GEMM facet names a
 * `fused` op): the GEMM op's own kernel into the output, then an activation
 * applied in place over it by the kernel of an op whose activation facet
 * computes it.
 *
 * They are derived here, in ndarray/, and not in executor/ beside the pass,
 * because the registry derives them when it registers their GEMM op (the
 * built-in ones at initialization, a user's in am_op_register), so that its
 * contents never depend on what has run, and ndarray/ calls nothing above it. */
#include "../ndarray_impl.h"

#include <pthread.h>
#include <stdalign.h>

/* The fused attributes are the GEMM op's own struct followed, at an aligned
 * offset, by this tail: the GEMM kernel and inference read the prefix as
 * they would their own attributes. */
typedef struct fused_tail {
    int act_type;   /* am_act - 1 */
    double slope;
} fused_tail;

/* act_type's spellings: am_act from AM_ACT_RELU on, in order. */
static const char *const act_choices[] = {"relu", "sigmoid", "tanh", "softrelu", "softsign",
                                          "leaky", "elu", "selu", "gelu", NULL};
_Static_assert(sizeof(act_choices) / sizeof(act_choices[0]) == AM_ACT_COUNT,
               "act_choices must spell every am_act but AM_ACT_NONE");

/* Derived ops at most: each needs its own kernel entry points (below). */
enum { MAX_FUSED = 16, MAX_FIELDS = 64 };

typedef struct fused_def {
    am_op_def def;
    am_attr_field fields[MAX_FIELDS];
    const am_op_def *base;
    size_t tail;          /* offset of the fused_tail */
    char doc[192];
} fused_def;

static fused_def fused[MAX_FUSED];
static int n_fused;       /* entries of fused[] in use; grows under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* provider[a]: the op whose activation facet computes a (write() accepts it;
 * else one that computes only a, without attributes); set by
 * am_fused_gemm_setup from the built-in table. */
static const am_op_def *provider[AM_ACT_COUNT];

static const fused_tail *tail_of(const fused_def *f, const void *attrs)
{
    return (const fused_tail *)((const char *)attrs + f->tail);
}

/* The provider of the fused act_type and its attributes for it, in buf. */
static const am_op_def *act_attrs(const fused_tail *t, void *buf, size_t cap)
{
    am_act act = (am_act)(t->act_type + 1);
    const am_op_def *op = act > AM_ACT_NONE && act < AM_ACT_COUNT ? provider[act] : NULL;
    if (!op) {
        am_fail(AM_ERR_INTERNAL, "no op computes act_type %d", t->act_type);
        return NULL;
    }
    AM_ASSERT(op->attrs_size <= cap);
    if (op->attrs && am_attrs_init(op, buf) != AM_OK) return NULL;
    if (op->activation->write && !op->activation->write(buf, act, t->slope)) {
        am_fail(AM_ERR_INTERNAL, "%s cannot compute %s", op->name, act_choices[t->act_type]);
        return NULL;
    }
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
    am_kernel_fn kernel = am_op_kernel(op, ctx->device);
    if (!kernel)
        return am_fail(AM_ERR_UNSUPPORTED, "%s has no kernel on this device", op->name);
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
        failed += kernel(ctx, buf, &v, 1, &v, 1, &req) != AM_OK;
    }
    if (failed)
        return am_fail(AM_ERR_INTERNAL, "%s %s failed on %d chunk%s of the output", op->name,
                       act_choices[t->act_type], failed, failed == 1 ? "" : "s");
    return AM_OK;
}

/* A dense product with a small weight (a cheap product per row, so the pass
 * over the output counts) and an output larger than a cache runs in row
 * blocks across threads: each thread writes a block of about HOT_BYTES with
 * a single-threaded product (OpenBLAS stays on one thread inside a parallel
 * region) and activates it while it is still in its cache. */
#define HOT_BYTES (256 * 1024)
#define HOT_MIN_ROWS 64

extern int omp_get_max_threads(void) __attribute__((weak));

/* Rows per block for a dense output o with weight w, or 0 for one product
 * over all rows (threaded inside BLAS) followed by the activation. */
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
 * (r, cols) matrix give output rows [r0, r0 + r).  Inputs in the order
 * data, weight[, bias]. */
static am_status dense_in_blocks(const fused_def *f, const am_kernel_ctx *ctx, const void *attrs,
                                 const am_view *in, int n_in, const am_view *out, int64_t block)
{
    const am_view *o = &out[0];
    const size_t esz = am_dtype_size(o->dtype);
    const int64_t n = o->dim[o->ndim - 1], rows = am_view_size(o) / n;
    const int64_t cols = am_view_size(&in[0]) / rows, n_blocks = (rows + block - 1) / block;
    const am_req write = AM_REQ_WRITE;
    am_kernel_fn kernel = am_op_kernel(f->base, ctx->device);
    int failed = 0;
    #pragma omp parallel for schedule(static) reduction(+:failed)
    for (int64_t k = 0; k < n_blocks; k++) {
        int64_t r0 = k * block, r = rows - r0 < block ? rows - r0 : block;
        am_shape ds = AM_SHAPE(r, cols), os = AM_SHAPE(r, n);
        am_view v[3] = {am_view_make((char *)in[0].data + (size_t)(r0 * cols) * esz,
                                     in[0].dtype, &ds, in[0].device), in[1], in[n_in - 1]};
        am_view ov = am_view_make((char *)o->data + (size_t)(r0 * n) * esz, o->dtype, &os,
                                  o->device);
        am_status st = kernel(ctx, attrs, v, n_in, &ov, 1, &write);
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
    am_kernel_fn kernel = am_op_kernel(f->base, ctx->device);
    if (!kernel)
        return am_fail(AM_ERR_UNSUPPORTED, "%s has no kernel on this device", f->base->name);
    const am_gemm_facet *g = f->base->gemm;
    bool dense = g->kind == AM_GEMM_DENSE && g->data == 0 && g->weight == 1 &&
                 (g->bias < 0 || g->bias == 2) && n_in <= 3;
    int64_t block = dense ? hot_rows(&out[0], &in[1]) : 0;
    if (block) return dense_in_blocks(f, ctx, attrs, in, n_in, out, block);
    am_req write = AM_REQ_WRITE;
    am_status st = kernel(ctx, attrs, in, n_in, out, n_out, &write);
    if (st != AM_OK) return st;
    return act_in_place(ctx, tail_of(f, attrs), &out[0]);
}

/* Entry points bound to fused[k]: a kernel receives no op, only attributes. */
#define FUSED_ENTRIES(k)                                                                     \
    static am_status cpu_##k(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                             int n_in, const am_view *out, int n_out, const am_req *req)     \
    {                                                                                        \
        return fused_run(&fused[k], ctx, attrs, in, n_in, out, n_out, req);                  \
    }                                                                                        \
    static am_status shape_##k(const void *attrs, am_shape *in, int n_in, am_shape *out,     \
                               int n_out)                                                    \
    {                                                                                        \
        return fused[k].base->infer_shape(attrs, in, n_in, out, n_out);                      \
    }                                                                                        \
    static am_status dtype_##k(const void *attrs, am_dtype *in, int n_in, am_dtype *out,     \
                               int n_out)                                                    \
    {                                                                                        \
        return fused[k].base->infer_dtype(attrs, in, n_in, out, n_out);                      \
    }                                                                                        \
    static int inputs_##k(const void *attrs) { return am_op_num_inputs(fused[k].base, attrs); } \
    static size_t temp_##k(const void *attrs, const am_shape *in, int n_in)                  \
    {                                                                                        \
        return fused[k].base->temp_bytes ? fused[k].base->temp_bytes(attrs, in, n_in) : 0;  \
    }
#define FOR_SLOTS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) \
    X(14) X(15)
FOR_SLOTS(FUSED_ENTRIES)

typedef struct fused_entries {
    am_kernel_fn cpu;
    am_status (*infer_shape)(const void *, am_shape *, int, am_shape *, int);
    am_status (*infer_dtype)(const void *, am_dtype *, int, am_dtype *, int);
    int (*num_inputs)(const void *);
    size_t (*temp_bytes)(const void *, const am_shape *, int);
} fused_entries;

#define ENTRY_ROW(k) {cpu_##k, shape_##k, dtype_##k, inputs_##k, temp_##k},
static const fused_entries entries[MAX_FUSED] = {FOR_SLOTS(ENTRY_ROW)};

void am_fused_gemm_setup(const am_op_def *const *ops, int n)
{
    for (int i = 0; i < n; i++) {
        const am_activation_facet *a = ops[i]->activation;
        if (!a) continue;
        for (int act = AM_ACT_NONE + 1; act < AM_ACT_COUNT; act++) {
            alignas(16) unsigned char buf[256];
            if (provider[act] && provider[act]->activation->write) continue;
            bool can = a->write ? ops[i]->attrs_size <= sizeof(buf) &&
                                      am_attrs_init(ops[i], buf) == AM_OK &&
                                      a->write(buf, (am_act)act, 0.25)
                                : (int)a->act == act && !ops[i]->attrs;
            /* one with attributes (write) first: it computes every kind it takes */
            if (can && (!provider[act] || a->write)) provider[act] = ops[i];
        }
    }
}

/* f's schema: the GEMM op's fields at their offsets, then act_type and slope
 * in the tail. */
static am_status build_def(fused_def *f, const am_op_def *base, const fused_entries *e)
{
    f->base = base;
    f->tail = (base->attrs_size + alignof(fused_tail) - 1) / alignof(fused_tail) *
              alignof(fused_tail);
    int n = 0;
    for (const am_attr_field *b = base->attrs; b && b->name; b++) {
        if (n >= MAX_FIELDS - 3)
            return am_fail(AM_ERR_ARG, "op %s has too many attributes to fuse", base->name);
        f->fields[n++] = *b;
    }
    f->fields[n++] = (am_attr_field){"act_type", AM_ATTR_ENUM,
                                     f->tail + offsetof(fused_tail, act_type), NULL, act_choices,
                                     "activation applied to the product"};
    f->fields[n++] = (am_attr_field){"slope", AM_ATTR_FLOAT,
                                     f->tail + offsetof(fused_tail, slope), "0.25", NULL,
                                     "slope of leaky, alpha of elu (as LeakyReLU's)"};
    f->fields[n] = (am_attr_field){0};
    snprintf(f->doc, sizeof(f->doc), "%s, then an activation (act_type; slope for leaky and "
             "elu) applied in place over its output; made by the epilogue pass.", base->name);
    f->def = (am_op_def){
        .name = base->gemm->fused, .input_names = base->input_names, .num_inputs = e->num_inputs,
        .num_outputs = 1, .attrs = f->fields, .attrs_size = f->tail + sizeof(fused_tail),
        .infer_shape = e->infer_shape, .infer_dtype = e->infer_dtype,
        .temp_bytes = base->temp_bytes ? e->temp_bytes : NULL, .cpu = e->cpu,
        .fuse = AM_FUSE_OPAQUE,
        .flags = AM_OP_NO_GRAD | AM_OP_INTERNAL | (base->flags & AM_OP_NEEDS_TEMP),
        .doc = f->doc};
    return AM_OK;
}

const am_op_def *am_fused_gemm_derive(const am_op_def *base)
{
    if (!base->gemm || !base->gemm->fused) return NULL;
    if (!base->gemm->fused[0] || !base->input_names || base->num_outputs_of ||
        base->num_outputs != 1) {
        am_fail(AM_ERR_ARG, "op %s: a fused GEMM op needs a name, input_names and one output",
                base->name);
        return NULL;
    }
    pthread_mutex_lock(&lock);
    const am_op_def *def = NULL;
    if (n_fused == MAX_FUSED) {
        am_fail(AM_ERR_ARG, "op %s: more than %d fused GEMM ops", base->name, MAX_FUSED);
    } else if (build_def(&fused[n_fused], base, &entries[n_fused]) == AM_OK) {
        def = &fused[n_fused++].def;
    }
    pthread_mutex_unlock(&lock);
    return def;
}

static const fused_def *fused_of(const am_op_def *def)
{
    pthread_mutex_lock(&lock);
    const fused_def *f = NULL;
    for (int k = 0; k < n_fused && !f; k++)
        if (&fused[k].def == def) f = &fused[k];
    pthread_mutex_unlock(&lock);
    return f;
}

const am_op_def *am_op_fused_gemm(const am_op_def *op)
{
    am_registry_init();
    pthread_mutex_lock(&lock);
    const am_op_def *def = NULL;
    for (int k = 0; k < n_fused && !def; k++)
        if (fused[k].base == op) def = &fused[k].def;
    pthread_mutex_unlock(&lock);
    return def;
}

void *am_op_fused_gemm_attrs(const am_op_def *fused_op, const void *gemm_attrs, am_act act,
                             double slope, uint64_t *given)
{
    const fused_def *f = fused_op ? fused_of(fused_op) : NULL;
    if (!f || act <= AM_ACT_NONE || act >= AM_ACT_COUNT || !provider[act]) {
        am_fail(AM_ERR_ARG, "am_op_fused_gemm_attrs: %s", !f ? "not a fused GEMM op"
                                                             : "no op computes that activation");
        return NULL;
    }
    char *a = calloc(1, fused_op->attrs_size);
    if (!a) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    memcpy(a, gemm_attrs, f->base->attrs_size);
    fused_tail *t = (fused_tail *)(a + f->tail);
    t->act_type = (int)act - 1;
    t->slope = slope;
    if (given) {
        int n = 0;
        while (f->fields[n].name) n++;
        *given = 1ull << (n - 2); /* act_type */
        if (act == AM_ACT_LEAKY || act == AM_ACT_ELU) *given |= 1ull << (n - 1);
    }
    return a;
}

bool am_fused_gemm_act_known(am_act act)
{
    am_registry_init(); /* provider[] is filled then */
    return act > AM_ACT_NONE && act < AM_ACT_COUNT && provider[act];
}

const char *am_act_name(am_act act)
{
    return act > AM_ACT_NONE && act < AM_ACT_COUNT ? act_choices[act - 1] : "none";
}
