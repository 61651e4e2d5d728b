/* _amber_fused_elemwise: a chain or tree of elementwise ops as one node that
 * makes one pass over memory.  The output is computed in cache-sized chunks,
 * and each chunk runs every constituent op's own CPU kernel on views of it. */
#include "executor_impl.h"


extern int omp_get_max_threads(void) __attribute__((weak));
/* ndarray/ops/init.c: its kernel stores outputs 1.. with their request. */
extern const am_op_def am_op_copy;

#define FUSED_NAME "_amber_fused_elemwise"
#define FUSED_MAGIC 0x46555345u

/*
 * Elements per chunk (AM_FUSE_CHUNK), just above AM_OMP_MIN, for two
 * measured reasons.  An inner kernel call costs about a microsecond even
 * when serial (its OpenMP region is still set up), which 4096-element chunks
 * do not amortize.  And elemwise.c's MAP says `omp parallel for simd if (n >
 * AM_OMP_MIN)`: an if clause without a modifier applies to every construct
 * of a combined one, so below AM_OMP_MIN those loops are not vectorized
 * either.  Inside our own parallel region the inner kernels' regions are
 * nested and run on one thread.  A float32 temporary is 144 KiB, so a few
 * stay in L2.
 */
#define CHUNK AM_FUSE_CHUNK
#define SLOT_BYTES ((size_t)CHUNK * 8)
_Static_assert(SLOT_BYTES % AM_ALIGN == 0, "temporaries must stay aligned");

/* Bytes of one temporary for an output of n elements: a chunk, or less for
 * outputs smaller than one, so small fused nodes need small workspaces. */
static size_t slot_bytes(int64_t n)
{
    size_t b = n < CHUNK ? (size_t)n * 8 : SLOT_BYTES;
    return (b + AM_ALIGN - 1) / AM_ALIGN * AM_ALIGN;
}

static const am_attr_field fused_fields[] = {
    AM_ATTR_FIELD(am_fused_attrs, num_args, AM_ATTR_INT, NULL, "number of fused inputs"),
    AM_ATTR_FIELD(am_fused_attrs, num_outputs, AM_ATTR_INT, "1", "number of outputs"),
    AM_ATTR_FIELD(am_fused_attrs, n_ops, AM_ATTR_INT, "0", "number of fused ops"),
    AM_ATTR_FIELD(am_fused_attrs, ops, AM_ATTR_STRING, "", "the fused ops in order (truncated)"),
    {0}};

static int clamp_count(int64_t v, int lo)
{
    return v < lo ? lo : v > AM_MAX_OP_IO ? AM_MAX_OP_IO : (int)v;
}

static int fused_num_inputs(const void *attrs)
{
    return attrs ? clamp_count(((const am_fused_attrs *)attrs)->num_args, 0) : 0;
}

static int fused_num_outputs(const void *attrs)
{
    return attrs ? clamp_count(((const am_fused_attrs *)attrs)->num_outputs, 1) : 1;
}

static am_status no_program(void)
{
    return am_fail(AM_ERR_UNSUPPORTED,
                   "this fused node has no program: fused nodes cannot be loaded from JSON, "
                   "since fusion happens after loading (save and load the graph before "
                   "optimizing it, and let the passes fuse it again)");
}

/* The node's own checks: it was built for one signature, as plans are. */
static am_status check_program(const am_fused_attrs *a, int n_in, int n_out)
{
    if (a->magic != FUSED_MAGIC) return no_program();
    if (n_in != a->num_args || n_out != a->num_outputs)
        return am_fail(AM_ERR_INTERNAL, "called with %d inputs and %d outputs, built for %lld "
                       "and %lld", n_in, n_out, (long long)a->num_args, (long long)a->num_outputs);
    return AM_OK;
}

static am_status fused_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    const am_fused_attrs *a = attrs;
    am_status st = check_program(a, n_in, n_out);
    if (st != AM_OK) return st;
    for (int k = 0; k < n_in; k++) {
        if (in[k] == AM_DTYPE_COUNT) in[k] = a->dtype;
        if (in[k] != a->dtype)
            return am_fail(AM_ERR_DTYPE, "input %d is %s but the fused ops were built for %s", k,
                           am_dtype_name(in[k]), am_dtype_name(a->dtype));
    }
    for (int j = 0; j < n_out; j++) out[j] = a->dtype;
    return AM_OK;
}

static am_status fused_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    const am_fused_attrs *a = attrs;
    char s1[96], s2[96];
    am_status st = check_program(a, n_in, n_out);
    if (st != AM_OK) return st;
    for (int k = 0; k < n_in; k++) {
        if (in[k].ndim < 0) in[k] = a->in_shape[k];
        if (!am_shape_equal(in[k], a->in_shape[k]))
            return am_fail(AM_ERR_SHAPE, "input %d is %s but the fused ops were built for %s; "
                           "optimize the graph again for new shapes", k,
                           am_shape_format(&in[k], s1, sizeof(s1)),
                           am_shape_format(&a->in_shape[k], s2, sizeof(s2)));
    }
    for (int j = 0; j < n_out; j++) out[j] = a->out_shape;
    return AM_OK;
}

/* Threads for n output elements: one below AM_OMP_MIN, else one per chunk
 * at most. */
static int fused_threads(int64_t n)
{
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    int t = omp_get_max_threads ? omp_get_max_threads() : 1;
    if (n <= AM_OMP_MIN || chunks < 1) return 1;
    return t < chunks ? t : (int)chunks;
}

/* Each thread gets its own n_slots chunk temporaries. */
static size_t fused_temp(const void *attrs, const am_shape *in, int n_in)
{
    const am_fused_attrs *a = attrs;
    AM_UNUSED(in), AM_UNUSED(n_in);
    if (a->magic != FUSED_MAGIC) return 0;
    int64_t n = am_shape_size(&a->out_shape);
    return (size_t)a->n_slots * slot_bytes(n) * (size_t)fused_threads(n);
}

/* ---- broadcast inputs --------------------------------------------------------------
 * An input smaller than the output is gathered into a temporary per chunk:
 * the output's shape with size-1 dimensions dropped and neighbours merged,
 * with the input's element strides (0 along broadcast dimensions).  The
 * innermost stride is then 1 (copy runs) or 0 (fill runs). */
typedef struct gather_plan {
    int nd;
    int64_t dim[AM_MAX_NDIM], st[AM_MAX_NDIM];
} gather_plan;

static bool gather_plan_make(const am_view *x, const am_view *y, gather_plan *p)
{
    int off = y->ndim - x->ndim;
    int64_t st[AM_MAX_NDIM], stride = 1;
    if (off < 0) return false;
    for (int d = y->ndim - 1; d >= 0; d--) {
        int64_t n = d >= off ? x->dim[d - off] : 1;
        if (n != 1 && n != y->dim[d]) return false;
        st[d] = n == 1 ? 0 : stride;
        stride *= n;
    }
    p->nd = 0;
    for (int d = 0; d < y->ndim; d++) {
        int k = p->nd;
        if (y->dim[d] == 1) continue;
        if (k > 0 && p->st[k - 1] == st[d] * y->dim[d]) {
            p->dim[k - 1] *= y->dim[d];
            p->st[k - 1] = st[d];
        } else {
            p->dim[k] = y->dim[d];
            p->st[k] = st[d];
            p->nd++;
        }
    }
    if (p->nd == 0) {
        p->nd = 1;
        p->dim[0] = 1;
        p->st[0] = 0;
    }
    return true;
}

static void fill(char *dst, const char *src, int64_t len, size_t es)
{
    if (es == 8) {
        uint64_t v, *d = (uint64_t *)(void *)dst;
        memcpy(&v, src, 8);
        for (int64_t i = 0; i < len; i++) d[i] = v;
    } else if (es == 4) {
        uint32_t v, *d = (uint32_t *)(void *)dst;
        memcpy(&v, src, 4);
        for (int64_t i = 0; i < len; i++) d[i] = v;
    } else {
        for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * es, src, es);
    }
}

/* Output elements [lo, hi) of a broadcast input into dst: one division to
 * find the start, then an odometer over the outer dimensions. */
static void gather(const gather_plan *p, const char *src, char *dst, int64_t lo, int64_t hi,
                   size_t es)
{
    const int nd = p->nd;
    const int64_t inner = p->dim[nd - 1], is = p->st[nd - 1];
    int64_t row = lo / inner, col = lo % inner, idx[AM_MAX_NDIM], base = 0;
    for (int d = nd - 2; d >= 0; d--) {
        idx[d] = row % p->dim[d];
        row /= p->dim[d];
        base += idx[d] * p->st[d];
    }
    for (int64_t pos = lo; pos < hi; col = 0) {
        int64_t len = inner - col < hi - pos ? inner - col : hi - pos;
        const char *s = src + (size_t)(base + col * is) * es;
        if (is) memcpy(dst, s, (size_t)len * es);
        else fill(dst, s, len, es);
        dst += (size_t)len * es;
        pos += len;
        for (int d = nd - 2; d >= 0; d--) {
            base += p->st[d];
            if (++idx[d] < p->dim[d]) break;
            base -= p->st[d] * p->dim[d];
            idx[d] = 0;
        }
    }
}

/* ---- the kernel ------------------------------------------------------------------ */

typedef struct fused_run {
    const am_fused_attrs *a;
    const am_view *in, *out;
    const am_req *req;
    am_kernel_ctx ctx;                 /* for the inner kernels: no workspace */
    size_t es;
    size_t slot;                       /* bytes of one temporary (slot_bytes) */
    gather_plan plan[AM_FUSE_MAX_IN];
} fused_run;

static am_view chunk_view(const fused_run *r, void *data, int64_t len)
{
    am_view v = {.data = data, .dtype = r->a->dtype, .ndim = 1, .device = r->ctx.device};
    v.dim[0] = len;
    v.strides[0] = 1;
    return v;
}

static bool overlap(const am_view *x, const am_view *y, size_t es)
{
    const char *a = x->data, *b = y->data;
    size_t na = (size_t)am_view_size(x) * es, nb = (size_t)am_view_size(y) * es;
    return na && nb && a < b + nb && b < a + na;
}

/* Checks the views against the program and plans the broadcast inputs. */
static am_status run_prepare(fused_run *r, int n_in, int n_out)
{
    const am_fused_attrs *a = r->a;
    am_status st = check_program(a, n_in, n_out);
    if (st != AM_OK) return st;
    const int64_t n = am_view_size(&r->out[0]);
    r->es = am_dtype_size(a->dtype);
    for (int i = 0; i < a->n_ops; i++) /* the instructions run on the caller's device */
        if (!am_op_kernel(a->code[i].op, r->ctx.device))
            return am_fail(AM_ERR_UNSUPPORTED, "instruction %d (%s) has no kernel on this device",
                           i, a->code[i].op->name);
    if (a->num_outputs > 1 && !am_op_kernel(&am_op_copy, r->ctx.device))
        return am_fail(AM_ERR_UNSUPPORTED, "%s has no kernel on this device", am_op_copy.name);
    for (int j = 0; j < n_out; j++)
        if (r->out[j].dtype != a->dtype || am_view_size(&r->out[j]) != n)
            return am_fail(AM_ERR_SHAPE, "output %d is not %s with %lld elements", j,
                           am_dtype_name(a->dtype), (long long)n);
    for (int k = 0; k < n_in; k++) {
        const am_view *x = &r->in[k];
        bool ok = x->dtype == a->dtype;
        if (a->in_slot[k] < 0) ok = ok && am_view_size(x) == n;
        else ok = ok && gather_plan_make(x, &r->out[0], &r->plan[k]);
        if (!ok)
            return am_fail(AM_ERR_SHAPE, "input %d (%s, %lld elements) does not fit the "
                           "output (%lld elements)", k, am_dtype_name(x->dtype),
                           (long long)am_view_size(x), (long long)n);
        for (int j = 0; a->in_slot[k] >= 0 && j < n_out; j++)
            if (overlap(x, &r->out[j], r->es))
                return am_fail(AM_ERR_INTERNAL, "output %d overlaps the broadcast input %d; "
                               "only full-size inputs may share an output's memory", j, k);
    }
    return AM_OK;
}

/* Output elements [lo, hi): gather the broadcast inputs, run each
 * instruction's kernel on chunk views, store outputs 1.. from their
 * temporaries.  Every read of an input's chunk happens before output 0's
 * chunk is written, so a full-size input may share an output's memory. */
static am_status run_chunk(const fused_run *r, int64_t lo, int64_t hi, char *ws)
{
    const am_fused_attrs *a = r->a;
    const int n_in = (int)a->num_args, n_code = (int)a->n_ops;
    const int64_t len = hi - lo;
    const size_t at = (size_t)lo * r->es;
    char *val[AM_FUSE_MAX_IN + AM_FUSE_MAX_OPS];
    am_status st = AM_OK;
    for (int k = 0; k < n_in; k++) {
        if (a->in_slot[k] < 0) {
            val[k] = (char *)r->in[k].data + at;
            continue;
        }
        val[k] = ws + (size_t)a->in_slot[k] * r->slot;
        gather(&r->plan[k], r->in[k].data, val[k], lo, hi, r->es);
    }
    for (int i = 0; i < n_code && st == AM_OK; i++) {
        const am_fuse_instr *c = &a->code[i];
        const bool last = i == n_code - 1;
        am_view vin[AM_FUSE_MAX_ARGS];
        for (int j = 0; j < c->n_args; j++) vin[j] = chunk_view(r, val[c->args[j]], len);
        val[n_in + i] = last ? (char *)r->out[0].data + at : ws + (size_t)c->slot * r->slot;
        am_view vout = chunk_view(r, val[n_in + i], len);
        am_req q = last ? r->req[0] : AM_REQ_WRITE;
        am_err_ctx e;
        am_err_push(&e, c->op->name, (am_site){0});
        st = am_op_kernel(c->op, r->ctx.device)(&r->ctx, c->attrs, vin, c->n_args, &vout, 1, &q);
        am_err_pop(&e);
    }
    for (int j = 1; j < a->num_outputs && st == AM_OK; j++) {
        am_view src = chunk_view(r, val[n_in + a->out_code[j]], len);
        am_view dst = chunk_view(r, (char *)r->out[j].data + at, len);
        st = am_op_kernel(&am_op_copy, r->ctx.device)(&r->ctx, NULL, &src, 1, &dst, 1, &r->req[j]);
    }
    return st;
}

static int64_t chunk_end(int64_t c, int64_t n)
{
    return (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
}

static am_status fused_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    fused_run r = {.a = attrs, .in = in, .out = out, .req = req, .ctx = *ctx};
    am_status st = run_prepare(&r, n_in, n_out);
    if (st != AM_OK) return st;
    r.ctx.workspace = NULL;
    r.ctx.workspace_bytes = 0;
    const int64_t n = am_view_size(&out[0]), chunks = (n + CHUNK - 1) / CHUNK;
    r.slot = slot_bytes(n);
    const size_t per = (size_t)r.a->n_slots * r.slot;
    int nt = fused_threads(n);
    if (n == 0) return AM_OK;
    if (per) {
        size_t fit = ctx->workspace ? ctx->workspace_bytes / per : 0;
        if ((size_t)nt > fit) nt = (int)fit;
    }
    if (nt < 1)
        return am_fail(AM_ERR_INTERNAL, "a workspace of %zu bytes is less than the %zu one "
                       "thread needs", ctx->workspace ? ctx->workspace_bytes : 0, per);
    int64_t bad = chunks; /* the first chunk that failed */
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int t = 0; t < nt; t++) {
        char *ws = per ? (char *)ctx->workspace + (size_t)t * per : NULL;
        for (int64_t c = chunks * t / nt; c < chunks * (t + 1) / nt; c++)
            if (run_chunk(&r, c * CHUNK, chunk_end(c, n), ws) != AM_OK) {
#pragma omp critical(amber_fused_failure)
                if (c < bad) bad = c;
                break;
            }
    }
    if (bad == chunks) return AM_OK;
    /* A worker thread's message stays in that thread: run the failed chunk
     * again here, so that the caller reads it. */
    st = run_chunk(&r, bad * CHUNK, chunk_end(bad, n), per ? ctx->workspace : NULL);
    return st != AM_OK ? st : am_fail(AM_ERR_INTERNAL, "chunk %lld failed on a worker thread "
                                      "only", (long long)bad);
}

/* ---- building programs ----------------------------------------------------------- */

static int take_slot(bool *used, int *n_slots)
{
    int s = 0;
    while (used[s]) s++;
    used[s] = true;
    if (s + 1 > *n_slots) *n_slots = s + 1;
    return s;
}

/*
 * Temporaries by liveness over the instruction order: a broadcast input
 * holds one from the chunk's start to its last use, an instruction from its
 * own step to its last use (outputs 1.. to the chunk's end, when they are
 * stored).  An instruction never writes over its own operands' slots, so no
 * kernel runs in place.  The last instruction writes output 0 directly.
 */
static void assign_slots(am_fused_attrs *a)
{
    const int n_in = (int)a->num_args, n_code = (int)a->n_ops;
    int last[AM_FUSE_MAX_IN + AM_FUSE_MAX_OPS], slot[AM_FUSE_MAX_IN + AM_FUSE_MAX_OPS];
    bool used[AM_FUSE_MAX_IN + AM_FUSE_MAX_OPS] = {0};
    for (int v = 0; v < n_in + n_code; v++) last[v] = -1, slot[v] = -1;
    for (int i = 0; i < n_code; i++)
        for (int j = 0; j < a->code[i].n_args; j++) last[a->code[i].args[j]] = i;
    for (int j = 1; j < a->num_outputs; j++) last[n_in + a->out_code[j]] = n_code;
    a->n_slots = 0;
    for (int k = 0; k < n_in; k++) {
        bool full = am_shape_equal(a->in_shape[k], a->out_shape);
        a->in_slot[k] = slot[k] = full ? -1 : take_slot(used, &a->n_slots);
    }
    for (int i = 0; i < n_code; i++) {
        am_fuse_instr *c = &a->code[i];
        c->slot = slot[n_in + i] = i == n_code - 1 ? -1 : take_slot(used, &a->n_slots);
        for (int j = 0; j < c->n_args; j++)
            if (last[c->args[j]] == i && slot[c->args[j]] >= 0) used[slot[c->args[j]]] = false;
        if (last[n_in + i] < 0 && c->slot >= 0) used[c->slot] = false;
    }
}

/* "exp,_mul_scalar,relu", ending in "..." when it does not fit. */
static void format_ops(am_fused_attrs *a)
{
    char buf[AM_FUSE_MAX_OPS * 64 + 1];
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->n_ops && n < sizeof(buf) - 1; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "", a->code[i].op->name);
    memset(a->ops, 0, sizeof(a->ops));
    if (strlen(buf) < sizeof(a->ops)) memcpy(a->ops, buf, strlen(buf));
    else snprintf(a->ops, sizeof(a->ops), "%.*s...", (int)sizeof(a->ops) - 4, buf);
}

static am_status check_instr(const am_fused_attrs *a, int i)
{
    const am_fuse_instr *c = &a->code[i];
    if (!c->op || !am_op_kernel(c->op, am_cpu()) || c->op->attrs_size > AM_FUSE_ATTR_BYTES)
        return am_fail(AM_ERR_INTERNAL, "%s: instruction %d has no op, no CPU kernel or "
                       "attributes over %d bytes", FUSED_NAME, i, AM_FUSE_ATTR_BYTES);
    if (c->n_args < 1 || c->n_args > AM_FUSE_MAX_ARGS ||
        c->n_args != am_op_num_inputs(c->op, c->attrs) || am_op_num_outputs(c->op, c->attrs) != 1)
        return am_fail(AM_ERR_INTERNAL, "%s: instruction %d (%s) has %d operands", FUSED_NAME,
                       i, c->op->name, c->n_args);
    for (int j = 0; j < c->n_args; j++)
        if (c->args[j] < 0 || c->args[j] >= a->num_args + i)
            return am_fail(AM_ERR_INTERNAL, "%s: instruction %d (%s) reads value %d, not yet "
                           "computed", FUSED_NAME, i, c->op->name, c->args[j]);
    return AM_OK;
}

am_status am_fused_compile(am_fused_attrs *a)
{
    if (a->num_args < 1 || a->num_args > AM_FUSE_MAX_IN || a->n_ops < 1 ||
        a->n_ops > AM_FUSE_MAX_OPS || a->num_outputs < 1 || a->num_outputs > AM_FUSE_MAX_OUT ||
        a->out_code[0] != a->n_ops - 1 || (unsigned)a->dtype >= AM_DTYPE_COUNT)
        return am_fail(AM_ERR_INTERNAL, "%s: a program of %lld ops, %lld inputs and %lld outputs "
                       "is out of bounds", FUSED_NAME, (long long)a->n_ops,
                       (long long)a->num_args, (long long)a->num_outputs);
    for (int j = 1; j < a->num_outputs; j++)
        for (int k = 0; k < j; k++)
            if (a->out_code[j] < 0 || a->out_code[j] >= a->n_ops - 1 ||
                a->out_code[j] == a->out_code[k])
                return am_fail(AM_ERR_INTERNAL, "%s: output %d comes from instruction %d",
                               FUSED_NAME, j, a->out_code[j]);
    for (int i = 0; i < a->n_ops; i++) {
        am_status st = check_instr(a, i);
        if (st != AM_OK) return st;
    }
    assign_slots(a);
    format_ops(a);
    a->magic = FUSED_MAGIC;
    return AM_OK;
}

/* ---- registration ------------------------------------------------------------------ */

/* Registered by the registry with the built-in ops (ndarray/registry.c). */
const am_op_def am_op_fused_elemwise = {
    .name = FUSED_NAME, .input_names = (const char *const[]){"args", NULL},
    .num_inputs = fused_num_inputs, .num_outputs = 1, .num_outputs_of = fused_num_outputs,
    .attrs = fused_fields, .attrs_size = sizeof(am_fused_attrs), .infer_shape = fused_shape,
    .infer_dtype = fused_dtype, .temp_bytes = fused_temp, .cpu = fused_cpu,
    /* Input 0 is a full-size input when there is one (see run_chunk). */
    .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}},
    .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD | AM_OP_VARIADIC | AM_OP_INTERNAL,
    .doc = "Elementwise ops fused by the fuse pass into one pass over memory; made by the "
           "pass, never loaded."};

const am_op_def *am_fused_elemwise_op(void)
{
    return &am_op_fused_elemwise;
}
