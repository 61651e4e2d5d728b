/* Matrix products: dot, batch_dot and FullyConnected.  Every product goes
 * through OpenBLAS (sgemm/dgemm, or gemv/dot when one side is a vector);
 * float32 and float64 only, as in MXNet 1.x on the CPU. */
#include "../ndarray_impl.h"

#include <cblas.h>
#include <limits.h>

/* ---- shared helpers -------------------------------------------------------------- */

/* batch_dot runs its batch in parallel, one single-threaded GEMM per thread,
 * when each product is at most SMALL_GEMM_WORK (m*n*k; OpenBLAS 0.3.21 keeps
 * these on one thread anyway), or at most MID_GEMM_WORK (256^3) with a batch
 * that fills every thread.  On 2 cores, 8 products of 256^3 ran at 300 GFLOP/s
 * split over the batch and at 145-170 threaded inside OpenBLAS (one thread:
 * 155); see docs/benchmarks.md.  Larger products thread inside BLAS. */
#define SMALL_GEMM_WORK (1 << 18)
#define MID_GEMM_WORK (1 << 24)

static const char *const bool_str[] = {"False", "True"};

static char *shape_str(const am_shape *s, char *buf, size_t n)
{
    return am_shape_format(s, buf, n);
}

/* Product of dim[lo..hi), as am_shape_size counts (0 with a zero
 * dimension, -1 when it overflows; checked shapes never do). */
static int64_t dims_prod(const am_shape *s, int lo, int hi)
{
    am_shape part = {.ndim = hi > lo ? hi - lo : 0};
    for (int i = 0; i < part.ndim; i++) part.dim[i] = s->dim[lo + i];
    return am_shape_size(&part);
}

static bool dtype_known(am_dtype t) { return (unsigned)t < AM_DTYPE_COUNT; }

/* All inputs share one float dtype (unknown ones take it); out[0] gets it. */
static am_status float_dtypes(const char *const *names, am_dtype *in, int n_in, am_dtype *out)
{
    int known = -1;
    for (int i = 0; i < n_in && known < 0; i++)
        if (dtype_known(in[i])) known = i;
    if (known < 0) return am_fail(AM_ERR_DTYPE, "input dtypes are unknown");
    am_dtype t = in[known];
    for (int i = 0; i < n_in; i++) {
        if (!dtype_known(in[i])) in[i] = t;
        if (in[i] != t)
            return am_fail(AM_ERR_DTYPE, "%s is %s but %s is %s; both must have one dtype",
                           names[known], am_dtype_name(t), names[i], am_dtype_name(in[i]));
    }
    if (!am_dtype_is_float(t))
        return am_fail(AM_ERR_DTYPE, "%s inputs are not supported (float32 or float64 only)",
                       am_dtype_name(t));
    out[0] = t;
    return AM_OK;
}

/* One row-major product C (m x n) = op(A) op(B) + (accumulate ? C : 0), where
 * A is stored (m x k), or (k x m) when ta, and B is (k x n), or (n x k) when tb.
 * Vector shapes go to dot or gemv, which OpenBLAS runs faster than a
 * degenerate GEMM.  k == 0 gives zeros (or leaves C alone when accumulating). */
typedef struct gemm_job {
    bool ta, tb;
    int64_t m, n, k;
    const void *a, *b;
    void *c;
    bool accumulate;
} gemm_job;

static am_status gemm_check(const gemm_job *j)
{
    if (j->m > INT_MAX || j->n > INT_MAX || j->k > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "matrix dimension (%lld x %lld x %lld) exceeds the "
                       "BLAS limit of %d", (long long)j->m, (long long)j->n, (long long)j->k,
                       INT_MAX);
    return AM_OK;
}

static void gemm_f32(const gemm_job *j)
{
    const int m = (int)j->m, n = (int)j->n, k = (int)j->k;
    const float *a = j->a, *b = j->b;
    float *c = j->c, beta = j->accumulate ? 1.0f : 0.0f;
    if (m == 1 && n == 1) {
        /* not beta * c[0]: a write must not read what was there (0 * NaN) */
        c[0] = (j->accumulate ? c[0] : 0.0f) + cblas_sdot(k, a, 1, b, 1);
    } else if (n == 1) { /* c (m) = op(A) b */
        cblas_sgemv(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->ta ? k : m,
                    j->ta ? m : k, 1.0f, a, j->ta ? m : k, b, 1, beta, c, 1);
    } else if (m == 1) { /* c (n) = op(B)^T a */
        cblas_sgemv(CblasRowMajor, j->tb ? CblasNoTrans : CblasTrans, j->tb ? n : k,
                    j->tb ? k : n, 1.0f, b, j->tb ? k : n, a, 1, beta, c, 1);
    } else {
        cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                    j->tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, j->ta ? m : k, b,
                    j->tb ? k : n, beta, c, n);
    }
}

static void gemm_f64(const gemm_job *j)
{
    const int m = (int)j->m, n = (int)j->n, k = (int)j->k;
    const double *a = j->a, *b = j->b;
    double *c = j->c, beta = j->accumulate ? 1.0 : 0.0;
    if (m == 1 && n == 1) {
        c[0] = (j->accumulate ? c[0] : 0.0) + cblas_ddot(k, a, 1, b, 1);
    } else if (n == 1) {
        cblas_dgemv(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->ta ? k : m,
                    j->ta ? m : k, 1.0, a, j->ta ? m : k, b, 1, beta, c, 1);
    } else if (m == 1) {
        cblas_dgemv(CblasRowMajor, j->tb ? CblasNoTrans : CblasTrans, j->tb ? n : k,
                    j->tb ? k : n, 1.0, b, j->tb ? k : n, a, 1, beta, c, 1);
    } else {
        cblas_dgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                    j->tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, j->ta ? m : k, b,
                    j->tb ? k : n, beta, c, n);
    }
}

/* Runs one product; the caller has checked sizes with gemm_check. */
static void gemm_run(am_dtype dt, const gemm_job *j)
{
    if (j->m == 0 || j->n == 0) return;
    if (j->k == 0) {
        if (!j->accumulate) memset(j->c, 0, (size_t)(j->m * j->n) * am_dtype_size(dt));
        return;
    }
    if (dt == AM_DTYPE_FLOAT32)
        gemm_f32(j);
    else
        gemm_f64(j);
}

/* ---- dot ------------------------------------------------------------------------- */

typedef struct dot_attrs {
    bool transpose_a, transpose_b;
    int forward_stype;
} dot_attrs;

static const char *const stype_choices[] = {"None", "default", "row_sparse", "csr", NULL};

static const am_attr_field dot_fields[] = {
    AM_ATTR_FIELD(dot_attrs, transpose_a, AM_ATTR_BOOL, "False",
                  "contract lhs's first axis instead of its last"),
    AM_ATTR_FIELD(dot_attrs, transpose_b, AM_ATTR_BOOL, "False",
                  "contract rhs's last axis instead of its first"),
    AM_ATTR_ENUM_FIELD(dot_attrs, forward_stype, stype_choices, "None",
                       "output storage; dense only (None or default)"),
    {0}};

static const char *const lhs_rhs[] = {"lhs", "rhs", NULL};

static am_status check_stype(const dot_attrs *a)
{
    if (a->forward_stype >= 2)
        return am_fail(AM_ERR_UNSUPPORTED, "forward_stype '%s' is not supported (Amber arrays "
                       "are dense: use None or default)", stype_choices[a->forward_stype]);
    return AM_OK;
}

static am_status dot_mismatch(const char *what, const dot_attrs *a, const am_shape *l,
                              const am_shape *r)
{
    char sl[96], sr[96];
    return am_fail(AM_ERR_SHAPE, "lhs %s does not match rhs %s: %s (transpose_a=%s, "
                   "transpose_b=%s)", shape_str(l, sl, sizeof(sl)), shape_str(r, sr, sizeof(sr)),
                   what, bool_str[a->transpose_a], bool_str[a->transpose_b]);
}

/* MXNet's rule: lhs is viewed as a matrix (prod(dims[:-1]), dims[-1]), or with
 * transpose_a as (dims[0], prod(dims[1:])) transposed, so that axis 0 is the
 * one contracted; rhs likewise with its first (or, transposed, last) axis.
 * The result keeps the remaining axes of lhs, then those of rhs, in order. */
static am_status dot_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const dot_attrs *a = attrs;
    const am_shape *l = &in[0], *r = &in[1];
    am_status st = check_stype(a);
    if (st != AM_OK) return st;
    if (l->ndim < 0 || r->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shapes must be known");
    if (l->ndim == 0 || r->ndim == 0)
        return dot_mismatch("scalar (0-d) inputs are not supported", a, l, r);
    if (l->ndim == 1 && r->ndim == 1) {
        if (a->transpose_a || a->transpose_b)
            return dot_mismatch("vectors cannot be transposed", a, l, r);
        if (l->dim[0] != r->dim[0]) return dot_mismatch("lengths differ", a, l, r);
        out[0] = AM_SHAPE(1);
        return AM_OK;
    }
    int64_t lk = a->transpose_a ? l->dim[0] : l->dim[l->ndim - 1];
    int64_t rk = a->transpose_b ? r->dim[r->ndim - 1] : r->dim[0];
    if (lk != rk) return dot_mismatch("the contracted axes differ", a, l, r);
    int nd = (l->ndim - 1) + (r->ndim - 1);
    if (nd > AM_MAX_NDIM) return dot_mismatch("the result has too many dimensions", a, l, r);
    out[0].ndim = 0;
    for (int i = 0; i < l->ndim - 1; i++)
        out[0].dim[out[0].ndim++] = l->dim[a->transpose_a ? i + 1 : i];
    for (int i = 0; i < r->ndim - 1; i++)
        out[0].dim[out[0].ndim++] = r->dim[a->transpose_b ? i : i + 1];
    return AM_OK;
}

static am_status dot_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    return float_dtypes(lhs_rhs, in, n_in, out);
}

/* The (m, n, k) of a dot on these views, after dot_shape's rule. */
static gemm_job dot_job(const dot_attrs *a, const am_view *l, const am_view *r, const am_view *o,
                        am_req req)
{
    am_shape ls = {.ndim = l->ndim}, rs = {.ndim = r->ndim};
    memcpy(ls.dim, l->dim, sizeof(ls.dim));
    memcpy(rs.dim, r->dim, sizeof(rs.dim));
    bool ta = a->transpose_a, tb = a->transpose_b;
    gemm_job j = {.ta = ta, .tb = tb, .a = l->data, .b = r->data, .c = o->data,
                  .accumulate = req == AM_REQ_ADD};
    j.k = ta ? ls.dim[0] : ls.dim[ls.ndim - 1];
    j.m = ta ? dims_prod(&ls, 1, ls.ndim) : dims_prod(&ls, 0, ls.ndim - 1);
    j.n = tb ? dims_prod(&rs, 0, rs.ndim - 1) : dims_prod(&rs, 1, rs.ndim);
    return j;
}

static am_status dot_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    gemm_job j = dot_job(attrs, &in[0], &in[1], &out[0], req[0]);
    am_status st = gemm_check(&j);
    if (st != AM_OK) return st;
    gemm_run(out[0].dtype, &j);
    return AM_OK;
}


/* ---- gradients ------------------------------------------------------------------- */

/* x in shape s exactly: Reshape reads a 0 as "copy this dimension", so an
 * empty target (which holds no values) is made fresh instead. */
static am_array *reshape_exact(am_array *x, am_shape s, am_site at)
{
    if (am_shape_size(&s) == 0) return am_zeros(s, am_array_dtype(x));
    return am_reshape_at(x, s, false, at);
}

/* x as the 2-D matrix a dot sees: the contracted axis is the last (or, when
 * transposed, the first) axis of a, the first (or last) axis of b; a vector
 * is a row or a column accordingly. */
static am_array *as_matrix(am_array *x, bool lhs, bool transposed, am_site at)
{
    am_shape s = am_array_shape(x);
    bool contract_last = lhs != transposed;
    if (s.ndim == 1)
        return reshape_exact(x, contract_last ? AM_SHAPE(1, s.dim[0]) : AM_SHAPE(s.dim[0], 1), at);
    int64_t k = contract_last ? s.dim[s.ndim - 1] : s.dim[0], rest = 1;
    for (int i = contract_last ? 0 : 1; i < (contract_last ? s.ndim - 1 : s.ndim); i++)
        rest *= s.dim[i];
    return reshape_exact(x, contract_last ? AM_SHAPE(rest, k) : AM_SHAPE(k, rest), at);
}

/* With A, B the matrices above and G the output gradient as (M, N):
 *   dA = G op(B)^T  (or op(B) G^T when A is transposed),
 *   dB = op(A)^T G  (or G^T op(A) when B is transposed). */
static am_status dot_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    const dot_attrs *d = g->attrs;
    bool ta = d->transpose_a, tb = d->transpose_b;
    AM_UNUSED(out);
    am_array *A = as_matrix(in[0], true, ta, g->at), *B = as_matrix(in[1], false, tb, g->at);
    if (!A || !B) return am_last_status();
    am_shape sa = am_array_shape(A), sb = am_array_shape(B);
    int64_t m = ta ? sa.dim[1] : sa.dim[0], n = tb ? sb.dim[0] : sb.dim[1];
    am_array *G = reshape_exact(og[0], AM_SHAPE(m, n), g->at);
    if (g->need_grad[0]) {
        am_array *dA = ta ? am_dot_at(B, G, tb, true, g->at) : am_dot_at(G, B, false, !tb, g->at);
        if (!(ig[0] = reshape_exact(dA, am_array_shape(in[0]), g->at))) return am_last_status();
    }
    if (g->need_grad[1]) {
        am_array *dB = tb ? am_dot_at(G, A, true, ta, g->at) : am_dot_at(A, G, !ta, false, g->at);
        if (!(ig[1] = reshape_exact(dB, am_array_shape(in[1]), g->at))) return am_last_status();
    }
    return AM_OK;
}

/* The same identities per batch entry on the last two axes. */
static am_status batch_dot_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    const dot_attrs *d = g->attrs;
    bool ta = d->transpose_a, tb = d->transpose_b;
    AM_UNUSED(out);
    if (g->need_grad[0] &&
        !(ig[0] = ta ? am_batch_dot_at(in[1], og[0], tb, true, g->at)
                     : am_batch_dot_at(og[0], in[1], false, !tb, g->at)))
        return am_last_status();
    if (g->need_grad[1] &&
        !(ig[1] = tb ? am_batch_dot_at(og[0], in[0], true, ta, g->at)
                     : am_batch_dot_at(in[0], og[0], !ta, false, g->at)))
        return am_last_status();
    return AM_OK;
}

/* The GEMM facet of dot and batch_dot: no bias, no width; the transposes. */
static void dot_gemm_read(const void *attrs, am_gemm_attrs *g)
{
    const dot_attrs *d = attrs;
    *g = (am_gemm_attrs){.transpose_a = d->transpose_a, .transpose_b = d->transpose_b};
}

static const am_gemm_facet dot_gemm = {.kind = AM_GEMM_MATMUL, .data = 0, .weight = 1, .bias = -1,
                                    .read = dot_gemm_read};
static const am_gemm_facet batch_dot_gemm = {.kind = AM_GEMM_BATCHED, .data = 0, .weight = 1,
                                          .bias = -1, .read = dot_gemm_read};

const am_op_def am_op_dot = {
    .name = "dot", .input_names = lhs_rhs, .num_outputs = 1, .attrs = dot_fields,
    .attrs_size = sizeof(dot_attrs), .infer_shape = dot_shape, .infer_dtype = dot_dtype,
    .cpu = dot_cpu, .gradient = dot_grad, .fuse = AM_FUSE_OPAQUE, .gemm = &dot_gemm,
    .doc = "Dot product: lhs's last axis (first with transpose_a) with rhs's first (last "
           "with transpose_b); two vectors give shape (1,)."};

am_array *am_dot_at(am_array *a, am_array *b, bool transpose_a, bool transpose_b, am_site at)
{
    dot_attrs d = {.transpose_a = transpose_a, .transpose_b = transpose_b};
    am_array *in[2] = {a, b}, *y = NULL;
    am_op_call(&am_op_dot, &d, in, 2, &y, 1, at);
    return y;
}

/* ---- batch_dot ------------------------------------------------------------------- */

/* (..., n, k) x (..., k, m) with equal leading (batch) dimensions, N >= 3. */
static am_status batch_dot_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const dot_attrs *a = attrs;
    const am_shape *l = &in[0], *r = &in[1];
    am_status st = check_stype(a);
    if (st != AM_OK) return st;
    if (l->ndim < 0 || r->ndim < 0) return am_fail(AM_ERR_SHAPE, "input shapes must be known");
    if (l->ndim < 3 || l->ndim != r->ndim)
        return dot_mismatch("both must have the same number (3 or more) of dimensions", a, l, r);
    int nd = l->ndim;
    for (int i = 0; i < nd - 2; i++)
        if (l->dim[i] != r->dim[i]) return dot_mismatch("the batch dimensions differ", a, l, r);
    int64_t lk = l->dim[a->transpose_a ? nd - 2 : nd - 1];
    int64_t rk = r->dim[a->transpose_b ? nd - 1 : nd - 2];
    if (lk != rk) return dot_mismatch("the contracted axes differ", a, l, r);
    out[0] = *l;
    out[0].dim[nd - 2] = l->dim[a->transpose_a ? nd - 1 : nd - 2];
    out[0].dim[nd - 1] = r->dim[a->transpose_b ? nd - 2 : nd - 1];
    return AM_OK;
}

static am_status batch_dot_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const dot_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    const am_view *l = &in[0], *r = &in[1], *o = &out[0];
    int nd = l->ndim;
    int64_t batch = 1;
    for (int i = 0; i < nd - 2; i++) batch *= l->dim[i];
    gemm_job j = {.ta = a->transpose_a, .tb = a->transpose_b, .accumulate = req[0] == AM_REQ_ADD,
                  .m = o->dim[nd - 2], .n = o->dim[nd - 1],
                  .k = l->dim[a->transpose_a ? nd - 2 : nd - 1]};
    am_status st = gemm_check(&j);
    if (st != AM_OK) return st;
    size_t es = am_dtype_size(o->dtype);
    size_t sa = (size_t)(j.m * j.k) * es, sb = (size_t)(j.k * j.n) * es;
    size_t sc = (size_t)(j.m * j.n) * es;
    int64_t work = j.m * j.n * j.k;
    am_dtype dt = o->dtype;
    /* Small matrices: one GEMM per thread (OpenBLAS stays single-threaded inside
     * a parallel region); large ones: let OpenBLAS thread each product. */
    bool per_thread = batch > 1 && batch * work > AM_OMP_MIN &&
                      (work <= SMALL_GEMM_WORK ||
                       (work <= MID_GEMM_WORK && batch >= openblas_get_num_threads()));
    AM_UNUSED(per_thread); /* without OpenMP */
    #pragma omp parallel for if (per_thread) schedule(static)
    for (int64_t b = 0; b < batch; b++) {
        gemm_job jb = j;
        jb.a = (const char *)l->data + (size_t)b * sa;
        jb.b = (const char *)r->data + (size_t)b * sb;
        jb.c = (char *)o->data + (size_t)b * sc;
        gemm_run(dt, &jb);
    }
    return AM_OK;
}

const am_op_def am_op_batch_dot = {
    .name = "batch_dot", .input_names = lhs_rhs, .num_outputs = 1, .attrs = dot_fields,
    .attrs_size = sizeof(dot_attrs), .infer_shape = batch_dot_shape, .infer_dtype = dot_dtype,
    .cpu = batch_dot_cpu, .gradient = batch_dot_grad, .fuse = AM_FUSE_OPAQUE,
    .gemm = &batch_dot_gemm,
    .doc = "Batched matrix product: (..., n, k) x (..., k, m), with optional transposes of the "
           "last two axes."};

am_array *am_batch_dot_at(am_array *a, am_array *b, bool transpose_a, bool transpose_b,
                          am_site at)
{
    dot_attrs d = {.transpose_a = transpose_a, .transpose_b = transpose_b};
    am_array *in[2] = {a, b}, *y = NULL;
    am_op_call(&am_op_batch_dot, &d, in, 2, &y, 1, at);
    return y;
}

/* ---- FullyConnected ------------------------------------------------------------ */

typedef struct fc_attrs {
    int64_t num_hidden;
    bool no_bias, flatten;
} fc_attrs;

static const am_attr_field fc_fields[] = {
    AM_ATTR_FIELD(fc_attrs, num_hidden, AM_ATTR_INT, NULL, "number of output units"),
    AM_ATTR_FIELD(fc_attrs, no_bias, AM_ATTR_BOOL, "False", "no bias input"),
    AM_ATTR_FIELD(fc_attrs, flatten, AM_ATTR_BOOL, "True",
                  "flatten data to (N, rest); False: apply to the last axis"),
    {0}};

static const char *const fc_inputs[] = {"data", "weight", "bias", NULL};

static int fc_num_inputs(const void *attrs) { return ((const fc_attrs *)attrs)->no_bias ? 2 : 3; }

/* Rows and input features of data under flatten (MXNet: flatten views data as
 * (dim0, prod(rest)); otherwise the last axis is the feature axis). */
static void fc_rows_cols(const fc_attrs *a, const am_shape *d, int64_t *rows, int64_t *cols)
{
    if (a->flatten) {
        *rows = d->dim[0];
        *cols = dims_prod(d, 1, d->ndim);
    } else {
        *rows = dims_prod(d, 0, d->ndim - 1);
        *cols = d->dim[d->ndim - 1];
    }
}

static am_status fc_check_bias(const fc_attrs *a, am_shape *bias)
{
    int64_t h = a->num_hidden;
    if (bias->ndim < 0 || (bias->ndim == 1 && bias->dim[0] < 0)) {
        *bias = AM_SHAPE(h);
        return AM_OK;
    }
    if ((bias->ndim == 1 && bias->dim[0] == h) ||
        (bias->ndim == 2 && bias->dim[0] == h && bias->dim[1] == 1))
        return AM_OK;
    char sb[96];
    return am_fail(AM_ERR_SHAPE, "bias %s does not match num_hidden=%lld (expected (%lld,) or "
                   "(%lld, 1))", shape_str(bias, sb, sizeof(sb)), (long long)h, (long long)h,
                   (long long)h);
}

/* Fills an unknown weight (and bias) shape from data and num_hidden, as
 * MXNet's deferred initialization needs; checks known ones. */
static am_status fc_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const fc_attrs *a = attrs;
    am_shape *d = &in[0], *w = &in[1];
    char sd[96], sw[96], se[96];
    if (a->num_hidden < 1)
        return am_fail(AM_ERR_ARG, "num_hidden must be at least 1, got %lld",
                       (long long)a->num_hidden);
    if (d->ndim < 0) return am_fail(AM_ERR_SHAPE, "data shape must be known");
    if (d->ndim == 0) return am_fail(AM_ERR_SHAPE, "data must have at least one dimension");
    /* Graph inference: the rows of data (flatten: its first axis) may be
     * unknown, and are then taken from the output's hint. */
    const am_shape *o = &out[0];
    int first_feature = a->flatten ? 1 : d->ndim - 1;
    for (int i = first_feature; i < d->ndim; i++)
        if (d->dim[i] < 0)
            return am_fail(AM_ERR_SHAPE, "data %s: the feature dimensions must be known",
                           shape_str(d, sd, sizeof(sd)));
    if (o->ndim == (a->flatten ? 2 : d->ndim))
        for (int i = 0; i < first_feature; i++)
            if (d->dim[i] < 0 && i < o->ndim) d->dim[i] = o->dim[a->flatten ? 0 : i];
    int64_t rows, cols;
    fc_rows_cols(a, d, &rows, &cols);
    am_shape want = AM_SHAPE(a->num_hidden, cols);
    if (w->ndim < 0) *w = want;
    for (int i = 0; i < 2 && w->ndim == 2; i++)
        if (w->dim[i] < 0) w->dim[i] = want.dim[i];
    if (w->ndim != 2 || w->dim[0] != want.dim[0] || w->dim[1] != want.dim[1])
        return am_fail(AM_ERR_SHAPE, "data %s does not match weight %s (expected weight %s for "
                       "num_hidden=%lld, flatten=%s)", shape_str(d, sd, sizeof(sd)),
                       shape_str(w, sw, sizeof(sw)), shape_str(&want, se, sizeof(se)),
                       (long long)a->num_hidden, bool_str[a->flatten]);
    if (n_in > 2) {
        am_status st = fc_check_bias(a, &in[2]);
        if (st != AM_OK) return st;
    }
    if (a->flatten) {
        out[0] = AM_SHAPE(d->dim[0], a->num_hidden);
    } else {
        out[0] = *d;
        out[0].dim[d->ndim - 1] = a->num_hidden;
    }
    return AM_OK;
}

static am_status fc_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    if (!dtype_known(in[0])) return am_fail(AM_ERR_DTYPE, "data dtype must be known");
    return float_dtypes(fc_inputs, in, n_in, out);
}

/* y (rows x h) = bias broadcast over rows, or y += it when accumulating. */
#define BIAS_ROWS(T, y, b, rows, h, add)                                                  \
    do {                                                                                  \
        int64_t n = (rows) * (h);                                                         \
        AM_UNUSED(n);                                                                     \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                  \
        for (int64_t r = 0; r < (rows); r++) {                                            \
            T *restrict yr = (y) + r * (h);                                               \
            const T *restrict br = (b);                                                   \
            if (add)                                                                      \
                for (int64_t i = 0; i < (h); i++) yr[i] += br[i];                         \
            else                                                                          \
                for (int64_t i = 0; i < (h); i++) yr[i] = br[i];                          \
        }                                                                                 \
    } while (0)

static void fc_bias(am_dtype dt, void *y, const void *b, int64_t rows, int64_t h, bool add)
{
    if (dt == AM_DTYPE_FLOAT32)
        BIAS_ROWS(float, (float *)y, (const float *)b, rows, h, add);
    else
        BIAS_ROWS(double, (double *)y, (const double *)b, rows, h, add);
}

/* y = data weight^T (+ bias).  The bias is fused into the GEMM: y starts as
 * the broadcast bias (or y + bias under AM_REQ_ADD) and the GEMM adds onto it
 * with beta = 1, so no second pass over y follows the product. */
static am_status fc_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                        int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    const fc_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    am_shape d = {.ndim = in[0].ndim};
    memcpy(d.dim, in[0].dim, sizeof(d.dim));
    int64_t rows, cols;
    fc_rows_cols(a, &d, &rows, &cols);
    gemm_job j = {.tb = true, .m = rows, .n = a->num_hidden, .k = cols, .a = in[0].data,
                  .b = in[1].data, .c = out[0].data, .accumulate = req[0] == AM_REQ_ADD};
    am_status st = gemm_check(&j);
    if (st != AM_OK) return st;
    if (n_in > 2 && rows > 0) {
        fc_bias(out[0].dtype, out[0].data, in[2].data, rows, j.n, j.accumulate);
        j.accumulate = true;
    }
    gemm_run(out[0].dtype, &j);
    return AM_OK;
}


/* With X the data as (rows, in) and G the output gradient as (rows, h):
 * d data = G W, d weight = G^T X, d bias = the column sums of G. */
static am_status fc_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *og, am_array **ig)
{
    const fc_attrs *a = g->attrs;
    AM_UNUSED(out);
    am_shape ds = am_array_shape(in[0]);
    int64_t rows, cols;
    fc_rows_cols(a, &ds, &rows, &cols);
    am_array *G = reshape_exact(og[0], AM_SHAPE(rows, a->num_hidden), g->at);
    if (g->need_grad[0]) {
        am_array *dX = am_dot_at(G, in[1], false, false, g->at);
        if (!(ig[0] = reshape_exact(dX, ds, g->at))) return am_last_status();
    }
    if (g->need_grad[1]) {
        am_array *X = reshape_exact(in[0], AM_SHAPE(rows, cols), g->at);
        if (!(ig[1] = am_dot_at(G, X, true, false, g->at))) return am_last_status();
    }
    if (g->n_in > 2 && g->need_grad[2]) {
        am_array *db = am_sum_at(G, (int[]){0}, 1, false, g->at);
        if (!(ig[2] = reshape_exact(db, am_array_shape(in[2]), g->at))) return am_last_status();
    }
    return AM_OK;
}

/* The GEMM facet: data (rows, cols) x weight (num_hidden, cols)^T + bias. */
static void fc_gemm_read(const void *attrs, am_gemm_attrs *g)
{
    const fc_attrs *a = attrs;
    *g = (am_gemm_attrs){.num_out = a->num_hidden, .no_bias = a->no_bias, .flatten = a->flatten};
}

static void fc_gemm_write(void *attrs, const am_gemm_attrs *g)
{
    fc_attrs *a = attrs;
    a->num_hidden = g->num_out, a->no_bias = g->no_bias, a->flatten = g->flatten;
}

static int fc_channel_axis(const void *attrs, int ndim)
{
    AM_UNUSED(attrs);
    return ndim - 1;
}

static const am_gemm_facet fc_gemm = {
    .kind = AM_GEMM_DENSE, .data = 0, .weight = 1, .bias = 2, .channel_axis = fc_channel_axis,
    .read = fc_gemm_read, .write = fc_gemm_write, .fused = "_amber_fused_fc"};

const am_op_def am_op_fully_connected = {
    .name = "FullyConnected", .input_names = fc_inputs, .num_inputs = fc_num_inputs,
    .num_outputs = 1, .attrs = fc_fields, .attrs_size = sizeof(fc_attrs),
    .infer_shape = fc_shape, .infer_dtype = fc_dtype, .cpu = fc_cpu, .gradient = fc_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_PARTIAL_SHAPES, .gemm = &fc_gemm,
    .doc = "y = data weight^T + bias; weight (num_hidden, in); flatten views data as "
           "(N, in), else the last axis is in."};

am_array *am_fully_connected_at(am_array *x, am_array *weight, am_array *bias,
                                int64_t num_hidden, bool no_bias, bool flatten, am_site at)
{
    fc_attrs a = {.num_hidden = num_hidden, .no_bias = no_bias, .flatten = flatten};
    am_array *in[3] = {x, weight, bias}, *y = NULL;
    if (no_bias && bias && x && weight) {
        am_err_ctx c;
        am_err_push(&c, am_op_fully_connected.name, at);
        am_fail(AM_ERR_ARG, "a bias was given but no_bias is True");
        am_err_pop(&c);
        return NULL;
    }
    am_op_call(&am_op_fully_connected, &a, in, no_bias ? 2 : 3, &y, 1, at);
    return y;
}
