/* The attention ops of Gluon-NLP/BERT exports: MXNet's four interleaved multi-head
 * products (_contrib_interleaved_matmul_{selfatt,encdec}_{qk,valatt}) with their backward
 * ops, _contrib_div_sqrt_dim and _contrib_arange_like.  The products read the heads
 * straight out of the interleaved projections through BLAS leading dimensions, one
 * strided GEMM per (batch, head), so nothing is transposed or copied. */
#include "../ndarray_impl.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>

/* ---- layout ------------------------------------------------------------------------

 * Projections are (seq_len, batch, proj): for self-attention proj = heads * 3 * head_dim,
 * laid out per head as (q, k, v); for encoder-decoder the queries are (seq, batch,
 * heads * head_dim) and keys_values (seq, batch, heads * 2 * head_dim), per head (k, v).
 * Attention batch t = b * heads + h reads head h of sequence b; attention maps are
 * (batch * heads, q_len, k_len) and value outputs (q_len, batch, heads * head_dim). */

typedef struct att_attrs {
    int64_t heads;
} att_attrs;

static const am_attr_field att_fields[] = {
    AM_ATTR_FIELD(att_attrs, heads, AM_ATTR_INT, NULL, "number of attention heads"),
    {0}};

/* One batch of row-major products C_t = alpha op(A_t) op(B_t) (+ C_t when accumulate), A_t
 * at a + t * sa with leading dimension lda, and so on. */
typedef struct sgemm {
    bool ta, tb, accumulate;
    int64_t m, n, k, batch;
    double alpha;
    const void *a, *b;
    void *c;
    int64_t lda, ldb, ldc, sa, sb, sc;
} sgemm;

static void sgemm_one(am_dtype t, const sgemm *g, int64_t i)
{
    CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tb = g->tb ? CblasTrans : CblasNoTrans;
    int m = (int)g->m, n = (int)g->n, k = (int)g->k;
    if (t == AM_DTYPE_FLOAT32)
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float)g->alpha,
                    (const float *)g->a + i * g->sa, (int)g->lda,
                    (const float *)g->b + i * g->sb, (int)g->ldb, g->accumulate ? 1.0f : 0.0f,
                    (float *)g->c + i * g->sc, (int)g->ldc);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, g->alpha, (const double *)g->a + i * g->sa,
                    (int)g->lda, (const double *)g->b + i * g->sb, (int)g->ldb,
                    g->accumulate ? 1.0 : 0.0, (double *)g->c + i * g->sc, (int)g->ldc);
}

/* Zeroes the m x n blocks of C (for k == 0, where BLAS is not called). */
static void sgemm_zero(am_dtype t, const sgemm *g)
{
    size_t es = am_dtype_size(t);
    for (int64_t i = 0; i < g->batch; i++)
        for (int64_t r = 0; r < g->m; r++)
            memset((char *)g->c + (size_t)(i * g->sc + r * g->ldc) * es, 0, (size_t)g->n * es);
}

static am_status sgemm_run(am_dtype t, const sgemm *g)
{
    if (g->batch == 0 || g->m == 0 || g->n == 0) return AM_OK;
    if (g->k == 0) {
        if (!g->accumulate) sgemm_zero(t, g);
        return AM_OK;
    }
    if (g->m > INT_MAX || g->n > INT_MAX || g->k > INT_MAX || g->lda > INT_MAX ||
        g->ldb > INT_MAX || g->ldc > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "matrix dimension exceeds the BLAS limit of %d",
                       INT_MAX);
    int64_t work = g->m * g->n * g->k, n = g->batch * work;
    /* Small products: one single-threaded GEMM per thread; large ones thread in BLAS. */
    bool per_thread = g->batch > 1 && n > AM_OMP_MIN && work <= (1 << 20);
    AM_UNUSED(per_thread);
    #pragma omp parallel for if (per_thread) schedule(static)
    for (int64_t i = 0; i < g->batch; i++) sgemm_one(t, g, i);
    return AM_OK;
}

/* ---- shapes ----------------------------------------------------------------------- */

static am_status need_3d(const char *name, const am_shape *s)
{
    char b[96];
    if (s->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of %s is unknown", name);
    if (s->ndim != 3)
        return am_fail(AM_ERR_SHAPE, "%s %s must be 3-D (seq_length, batch, projection)", name,
                       am_shape_format(s, b, sizeof(b)));
    return AM_OK;
}

/* head_dim of a projection of width proj holding `parts` (q, k, v) per head. */
static am_status head_dim(const char *name, const am_shape *s, int parts, int64_t heads,
                          int64_t *d)
{
    char b[96];
    if (heads < 1) return am_fail(AM_ERR_ARG, "heads=%lld must be at least 1", (long long)heads);
    if (s->dim[2] % (parts * heads) != 0)
        return am_fail(AM_ERR_SHAPE, "%s %s: the last axis must be a multiple of %d * heads "
                       "(heads=%lld)", name, am_shape_format(s, b, sizeof(b)), parts,
                       (long long)heads);
    *d = s->dim[2] / (parts * heads);
    return AM_OK;
}

static am_status att_mismatch(const char *what, const char *n0, const am_shape *s0,
                              const char *n1, const am_shape *s1, int64_t heads)
{
    char b0[96], b1[96];
    return am_fail(AM_ERR_SHAPE, "%s %s and %s %s do not agree (heads=%lld): %s", n0,
                   am_shape_format(s0, b0, sizeof(b0)), n1, am_shape_format(s1, b1, sizeof(b1)),
                   (long long)heads, what);
}

/* A (batch * heads, rows, cols) map. */
static am_shape map_shape(int64_t bh, int64_t rows, int64_t cols)
{
    return (am_shape){.ndim = 3, .dim = {bh, rows, cols}};
}

static am_status selfatt_qk_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const att_attrs *a = attrs;
    int64_t d;
    am_status st = need_3d("queries_keys_values", &in[0]);
    if (st == AM_OK) st = head_dim("queries_keys_values", &in[0], 3, a->heads, &d);
    if (st != AM_OK) return st;
    out[0] = map_shape(in[0].dim[1] * a->heads, in[0].dim[0], in[0].dim[0]);
    return AM_OK;
}

/* The value products: proj (Lk, B, parts * E) with attention (B * heads, Lq, Lk) give
 * (Lq, B, E); self-attention has Lq == Lk. */
static am_status valatt_shape(const char *pname, int parts, const att_attrs *a, am_shape *in,
                              am_shape *out)
{
    int64_t d;
    am_status st = need_3d(pname, &in[0]);
    if (st == AM_OK) st = need_3d("attention", &in[1]);
    if (st == AM_OK) st = head_dim(pname, &in[0], parts, a->heads, &d);
    if (st != AM_OK) return st;
    const am_shape *p = &in[0], *m = &in[1];
    if (m->dim[0] != p->dim[1] * a->heads)
        return att_mismatch("attention.shape[0] must be batch * heads", pname, p, "attention",
                            m, a->heads);
    if (m->dim[2] != p->dim[0])
        return att_mismatch("attention.shape[2] must be the key length", pname, p, "attention",
                            m, a->heads);
    if (parts == 3 && m->dim[1] != p->dim[0])
        return att_mismatch("self-attention maps must be square over the sequence", pname, p,
                            "attention", m, a->heads);
    out[0] = (am_shape){.ndim = 3, .dim = {m->dim[1], p->dim[1], p->dim[2] / parts}};
    return AM_OK;
}

static am_status selfatt_valatt_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return valatt_shape("queries_keys_values", 3, attrs, in, out);
}

static am_status encdec_valatt_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    return valatt_shape("keys_values", 2, attrs, in, out);
}

static am_status encdec_qk_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const att_attrs *a = attrs;
    int64_t d;
    am_status st = need_3d("queries", &in[0]);
    if (st == AM_OK) st = need_3d("keys_values", &in[1]);
    if (st == AM_OK) st = head_dim("queries", &in[0], 1, a->heads, &d);
    if (st != AM_OK) return st;
    if (in[1].dim[2] != 2 * in[0].dim[2])
        return att_mismatch("keys_values.shape[2] must be 2 * queries.shape[2]", "queries",
                            &in[0], "keys_values", &in[1], a->heads);
    if (in[1].dim[1] != in[0].dim[1])
        return att_mismatch("the batch sizes (axis 1) differ", "queries", &in[0],
                            "keys_values", &in[1], a->heads);
    out[0] = map_shape(in[0].dim[1] * a->heads, in[0].dim[0], in[1].dim[0]);
    return AM_OK;
}

/* Backward ops take (ograd, forward inputs...) and give one gradient per forward input. */
static am_status backward_shape(am_status (*fwd)(const void *, am_shape *, int, am_shape *, int),
                                const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    char b0[96], b1[96];
    am_shape y;
    am_status st = fwd(attrs, in + 1, n_in - 1, &y, 1);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) in[0] = y;
    if (in[0].ndim != y.ndim || memcmp(in[0].dim, y.dim, sizeof(int64_t) * (size_t)y.ndim))
        return am_fail(AM_ERR_SHAPE, "ograd %s does not match the forward output %s",
                       am_shape_format(&in[0], b0, sizeof(b0)),
                       am_shape_format(&y, b1, sizeof(b1)));
    for (int i = 0; i < n_out; i++) out[i] = in[i + 1];
    return AM_OK;
}

#define BACKWARD_SHAPE(fwd)                                                                  \
    static am_status fwd##_bwd(const void *attrs, am_shape *in, int n_in, am_shape *out,     \
                               int n_out)                                                    \
    {                                                                                        \
        return backward_shape(fwd, attrs, in, n_in, out, n_out);                             \
    }
BACKWARD_SHAPE(selfatt_qk_shape)
BACKWARD_SHAPE(selfatt_valatt_shape)
BACKWARD_SHAPE(encdec_qk_shape)
BACKWARD_SHAPE(encdec_valatt_shape)

/* ---- kernels ----------------------------------------------------------------------- */

/* Sizes of one call: Lq, Lk, batch * heads (nb), head_dim (d). */
typedef struct att_dims {
    int64_t lq, lk, nb, d;
} att_dims;

static size_t esize(const am_view *v) { return am_dtype_size(v->dtype); }

static const void *at_(const am_view *v, int64_t off)
{
    return (const char *)v->data + (size_t)off * esize(v);
}

static void *atw(const am_view *v, int64_t off) { return (char *)v->data + (size_t)off * esize(v); }

/* Writes zero over an output that the GEMMs fill only in part. */
static void zero_out(const am_view *o, am_req r)
{
    if (r == AM_REQ_WRITE || r == AM_REQ_INPLACE)
        if (am_view_size(o) > 0) memset(o->data, 0, (size_t)am_view_size(o) * esize(o));
}

/* C = alpha Q K^T per t: Q rows of width d at stride ldq, K likewise. */
static am_status qk_forward(const am_view *q, int64_t ldq, int64_t sq, const am_view *k,
                            int64_t koff, int64_t ldk, int64_t sk, const att_dims *s,
                            const am_view *o, am_req r)
{
    sgemm g = {.ta = false, .tb = true, .accumulate = r == AM_REQ_ADD, .m = s->lq, .n = s->lk,
               .k = s->d, .batch = s->nb, .alpha = 1.0 / sqrt((double)s->d), .a = q->data,
               .lda = ldq, .sa = sq, .b = at_(k, koff), .ldb = ldk, .sb = sk, .c = o->data,
               .ldc = s->lk, .sc = s->lq * s->lk};
    if (s->d == 0) g.alpha = 1;
    return sgemm_run(o->dtype, &g);
}

/* dQ = alpha G K and dK = alpha G^T Q (G is the (nb, lq, lk) ograd). */
static am_status qk_backward(const am_view *gr, const am_view *q, int64_t ldq, int64_t sq,
                             const am_view *k, int64_t koff, int64_t ldk, int64_t sk,
                             const att_dims *s, const am_view *dq, const am_view *dk,
                             int64_t dkoff, am_req rq, am_req rk)
{
    double alpha = s->d ? 1.0 / sqrt((double)s->d) : 1.0;
    am_status st = AM_OK;
    if (rq != AM_REQ_NULL) {
        sgemm g = {.accumulate = rq == AM_REQ_ADD, .m = s->lq, .n = s->d, .k = s->lk,
                   .batch = s->nb, .alpha = alpha, .a = gr->data, .lda = s->lk,
                   .sa = s->lq * s->lk, .b = at_(k, koff), .ldb = ldk, .sb = sk,
                   .c = dq->data, .ldc = ldq, .sc = sq};
        st = sgemm_run(gr->dtype, &g);
    }
    if (st == AM_OK && rk != AM_REQ_NULL) {
        sgemm g = {.ta = true, .accumulate = rk == AM_REQ_ADD, .m = s->lk, .n = s->d,
                   .k = s->lq, .batch = s->nb, .alpha = alpha, .a = gr->data, .lda = s->lk,
                   .sa = s->lq * s->lk, .b = q->data, .ldb = ldq, .sb = sq,
                   .c = atw(dk, dkoff), .ldc = ldk, .sc = sk};
        st = sgemm_run(gr->dtype, &g);
    }
    return st;
}

/* O = Att V per t, O rows of width d at stride nb * d. */
static am_status val_forward(const am_view *p, int64_t voff, int64_t ldv, int64_t sv,
                             const am_view *att, const att_dims *s, const am_view *o, am_req r)
{
    sgemm g = {.accumulate = r == AM_REQ_ADD, .m = s->lq, .n = s->d, .k = s->lk, .batch = s->nb,
               .alpha = 1, .a = att->data, .lda = s->lk, .sa = s->lq * s->lk, .b = at_(p, voff),
               .ldb = ldv, .sb = sv, .c = o->data, .ldc = s->nb * s->d, .sc = s->d};
    return sgemm_run(o->dtype, &g);
}

/* dAtt = G V^T and dV = Att^T G (G is the (lq, B, E) ograd). */
static am_status val_backward(const am_view *gr, const am_view *p, int64_t voff, int64_t ldv,
                              int64_t sv, const am_view *att, const att_dims *s,
                              const am_view *dp, const am_view *datt, am_req rp, am_req ra)
{
    am_status st = AM_OK;
    if (ra != AM_REQ_NULL) {
        sgemm g = {.tb = true, .accumulate = ra == AM_REQ_ADD, .m = s->lq, .n = s->lk,
                   .k = s->d, .batch = s->nb, .alpha = 1, .a = gr->data, .lda = s->nb * s->d,
                   .sa = s->d, .b = at_(p, voff), .ldb = ldv, .sb = sv, .c = datt->data,
                   .ldc = s->lk, .sc = s->lq * s->lk};
        st = sgemm_run(gr->dtype, &g);
    }
    if (st == AM_OK && rp != AM_REQ_NULL) {
        sgemm g = {.ta = true, .accumulate = rp == AM_REQ_ADD, .m = s->lk, .n = s->d,
                   .k = s->lq, .batch = s->nb, .alpha = 1, .a = att->data, .lda = s->lk,
                   .sa = s->lq * s->lk, .b = gr->data, .ldb = s->nb * s->d, .sb = s->d,
                   .c = atw(dp, voff), .ldc = ldv, .sc = sv};
        st = sgemm_run(gr->dtype, &g);
    }
    return st;
}

/* Dims of a projection (L, B, parts * heads * d). */
static att_dims proj_dims(const am_view *p, int parts, int64_t heads)
{
    return (att_dims){.lq = p->dim[0], .lk = p->dim[0], .nb = p->dim[1] * heads,
                      .d = p->dim[2] / (parts * heads)};
}

static am_status selfatt_qk_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    att_dims s = proj_dims(&in[0], 3, ((const att_attrs *)attrs)->heads);
    int64_t ld = s.nb * 3 * s.d;
    return qk_forward(&in[0], ld, 3 * s.d, &in[0], s.d, ld, 3 * s.d, &s, &out[0], req[0]);
}

/* (ograd, qkv) -> dqkv. */
static am_status selfatt_qk_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    att_dims s = proj_dims(&in[1], 3, ((const att_attrs *)attrs)->heads);
    int64_t ld = s.nb * 3 * s.d;
    zero_out(&out[0], req[0]);
    am_req r = req[0] == AM_REQ_ADD ? AM_REQ_ADD : AM_REQ_WRITE;
    return qk_backward(&in[0], &in[1], ld, 3 * s.d, &in[1], s.d, ld, 3 * s.d, &s, &out[0],
                       &out[0], s.d, r, r);
}

static am_status selfatt_valatt_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    att_dims s = proj_dims(&in[0], 3, ((const att_attrs *)attrs)->heads);
    return val_forward(&in[0], 2 * s.d, s.nb * 3 * s.d, 3 * s.d, &in[1], &s, &out[0], req[0]);
}

/* (ograd, qkv, attention) -> (dqkv, dattention). */
static am_status selfatt_valatt_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                        const am_view *in, int n_in, const am_view *out,
                                        int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    att_dims s = proj_dims(&in[1], 3, ((const att_attrs *)attrs)->heads);
    if (req[0] != AM_REQ_NULL) zero_out(&out[0], req[0]);
    return val_backward(&in[0], &in[1], 2 * s.d, s.nb * 3 * s.d, 3 * s.d, &in[2], &s, &out[0],
                        &out[1], req[0] == AM_REQ_INPLACE ? AM_REQ_WRITE : req[0], req[1]);
}

/* Dims of queries (Lq, B, heads * d) against keys_values (Lk, B, 2 * heads * d). */
static att_dims encdec_dims(const am_view *q, const am_view *kv, int64_t heads)
{
    return (att_dims){.lq = q->dim[0], .lk = kv->dim[0], .nb = q->dim[1] * heads,
                      .d = q->dim[2] / heads};
}

static am_status encdec_qk_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    att_dims s = encdec_dims(&in[0], &in[1], ((const att_attrs *)attrs)->heads);
    return qk_forward(&in[0], s.nb * s.d, s.d, &in[1], 0, s.nb * 2 * s.d, 2 * s.d, &s, &out[0],
                      req[0]);
}

/* (ograd, queries, keys_values) -> (dqueries, dkeys_values). */
static am_status encdec_qk_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    att_dims s = encdec_dims(&in[1], &in[2], ((const att_attrs *)attrs)->heads);
    if (req[1] != AM_REQ_NULL) zero_out(&out[1], req[1]);
    am_req rk = req[1] == AM_REQ_INPLACE ? AM_REQ_WRITE : req[1];
    return qk_backward(&in[0], &in[1], s.nb * s.d, s.d, &in[2], 0, s.nb * 2 * s.d, 2 * s.d, &s,
                       &out[0], &out[1], 0, req[0] == AM_REQ_INPLACE ? AM_REQ_WRITE : req[0],
                       rk);
}

static am_status encdec_valatt_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    att_dims s = proj_dims(&in[0], 2, ((const att_attrs *)attrs)->heads);
    s.lq = in[1].dim[1];
    return val_forward(&in[0], s.d, s.nb * 2 * s.d, 2 * s.d, &in[1], &s, &out[0], req[0]);
}

/* (ograd, keys_values, attention) -> (dkeys_values, dattention). */
static am_status encdec_valatt_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                       const am_view *in, int n_in, const am_view *out,
                                       int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    att_dims s = proj_dims(&in[1], 2, ((const att_attrs *)attrs)->heads);
    s.lq = in[2].dim[1];
    if (req[0] != AM_REQ_NULL) zero_out(&out[0], req[0]);
    return val_backward(&in[0], &in[1], s.d, s.nb * 2 * s.d, 2 * s.d, &in[2], &s, &out[0],
                        &out[1], req[0] == AM_REQ_INPLACE ? AM_REQ_WRITE : req[0], req[1]);
}

/* ---- gradients and entries ---------------------------------------------------------- */

/* Runs backward op bwd on (ograd, forward inputs) and hands out the wanted gradients. */
static am_status att_grad_via(const am_op_def *bwd, const am_grad_ctx *g, am_array *const *in,
                              am_array *const *og, am_array **ig)
{
    am_array *args[3] = {og[0], in[0], g->n_in > 1 ? in[1] : NULL}, *r[2] = {0};
    am_status st = am_op_call(bwd, g->attrs, args, g->n_in + 1, r, g->n_in, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < g->n_in; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return AM_OK;
}

extern const am_op_def am_op_backward_interleaved_matmul_selfatt_qk,
    am_op_backward_interleaved_matmul_selfatt_valatt, am_op_backward_interleaved_matmul_encdec_qk,
    am_op_backward_interleaved_matmul_encdec_valatt;

#define ATT_GRAD(name)                                                                        \
    static am_status name##_grad(const am_grad_ctx *g, am_array *const *in,                   \
                                 am_array *const *out, am_array *const *og, am_array **ig)    \
    {                                                                                         \
        AM_UNUSED(out);                                                                       \
        return att_grad_via(&am_op_backward_interleaved_matmul_##name, g, in, og, ig);        \
    }
ATT_GRAD(selfatt_qk)
ATT_GRAD(selfatt_valatt)
ATT_GRAD(encdec_qk)
ATT_GRAD(encdec_valatt)

static const char *const qkv_in[] = {"queries_keys_values", NULL};
static const char *const qkv_att_in[] = {"queries_keys_values", "attention", NULL};
static const char *const q_kv_in[] = {"queries", "keys_values", NULL};
static const char *const kv_att_in[] = {"keys_values", "attention", NULL};

const am_op_def am_op_interleaved_matmul_selfatt_qk = {
    .name = "_contrib_interleaved_matmul_selfatt_qk", .input_names = qkv_in, .num_outputs = 1,
    .attrs = att_fields, .attrs_size = sizeof(att_attrs), .infer_shape = selfatt_qk_shape,
    .infer_dtype = am_infer_dtype_float_same, .cpu = selfatt_qk_cpu, .gradient = selfatt_qk_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Self-attention scores (batch * heads, L, L) = q k^T / sqrt(head_dim) from "
           "interleaved (L, batch, heads * 3 * head_dim) projections."};

const am_op_def am_op_interleaved_matmul_selfatt_valatt = {
    .name = "_contrib_interleaved_matmul_selfatt_valatt", .input_names = qkv_att_in,
    .num_outputs = 1, .attrs = att_fields, .attrs_size = sizeof(att_attrs),
    .infer_shape = selfatt_valatt_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = selfatt_valatt_cpu,
    .gradient = selfatt_valatt_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Self-attention output (L, batch, heads * head_dim) = attention v, v read from "
           "interleaved (L, batch, heads * 3 * head_dim) projections."};

const am_op_def am_op_interleaved_matmul_encdec_qk = {
    .name = "_contrib_interleaved_matmul_encdec_qk", .input_names = q_kv_in, .num_outputs = 1,
    .attrs = att_fields, .attrs_size = sizeof(att_attrs), .infer_shape = encdec_qk_shape,
    .infer_dtype = am_infer_dtype_float_same, .cpu = encdec_qk_cpu, .gradient = encdec_qk_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Encoder-decoder scores (batch * heads, Lq, Lk) = q k^T / sqrt(head_dim); k read "
           "from interleaved (Lk, batch, heads * 2 * head_dim) keys_values."};

const am_op_def am_op_interleaved_matmul_encdec_valatt = {
    .name = "_contrib_interleaved_matmul_encdec_valatt", .input_names = kv_att_in,
    .num_outputs = 1, .attrs = att_fields, .attrs_size = sizeof(att_attrs),
    .infer_shape = encdec_valatt_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = encdec_valatt_cpu,
    .gradient = encdec_valatt_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Encoder-decoder output (Lq, batch, heads * head_dim) = attention v; v read from "
           "interleaved (Lk, batch, heads * 2 * head_dim) keys_values."};

#define ATT_BWD(cname, inputs, nout, doc_)                                                    \
    const am_op_def am_op_backward_interleaved_matmul_##cname = {                             \
        .name = "_backward_interleaved_matmul_" #cname, .input_names = inputs,                \
        .num_outputs = nout, .attrs = att_fields, .attrs_size = sizeof(att_attrs),            \
        .infer_shape = cname##_shape_bwd, .infer_dtype = am_infer_dtype_float_same,           \
        .cpu = cname##_bwd_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD, .doc = doc_};

ATT_BWD(selfatt_qk, ((const char *const[]){"ograd", "queries_keys_values", NULL}), 1,
        "Gradient of _contrib_interleaved_matmul_selfatt_qk, from (ograd, "
        "queries_keys_values).")
ATT_BWD(selfatt_valatt,
        ((const char *const[]){"ograd", "queries_keys_values", "attention", NULL}), 2,
        "Gradients of _contrib_interleaved_matmul_selfatt_valatt, from (ograd, "
        "queries_keys_values, attention).")
ATT_BWD(encdec_qk, ((const char *const[]){"ograd", "queries", "keys_values", NULL}), 2,
        "Gradients of _contrib_interleaved_matmul_encdec_qk, from (ograd, queries, "
        "keys_values).")
ATT_BWD(encdec_valatt, ((const char *const[]){"ograd", "keys_values", "attention", NULL}), 2,
        "Gradients of _contrib_interleaved_matmul_encdec_valatt, from (ograd, keys_values, "
        "attention).")

static am_array *att_call(const am_op_def *op, am_array *a, am_array *b, int n,
                          int64_t heads, am_site at)
{
    att_attrs p = {.heads = heads};
    am_array *in[2] = {a, b}, *y = NULL;
    am_op_call(op, &p, in, n, &y, 1, at);
    return y;
}

am_array *am_interleaved_matmul_selfatt_qk_at(am_array *qkv, int64_t heads, am_site at)
{
    return att_call(&am_op_interleaved_matmul_selfatt_qk, qkv, NULL, 1, heads, at);
}

am_array *am_interleaved_matmul_selfatt_valatt_at(am_array *qkv, am_array *attention,
                                                  int64_t heads, am_site at)
{
    return att_call(&am_op_interleaved_matmul_selfatt_valatt, qkv, attention, 2, heads, at);
}

am_array *am_interleaved_matmul_encdec_qk_at(am_array *queries, am_array *keys_values,
                                             int64_t heads, am_site at)
{
    return att_call(&am_op_interleaved_matmul_encdec_qk, queries, keys_values, 2, heads, at);
}

am_array *am_interleaved_matmul_encdec_valatt_at(am_array *keys_values, am_array *attention,
                                                 int64_t heads, am_site at)
{
    return att_call(&am_op_interleaved_matmul_encdec_valatt, keys_values, attention, 2, heads,
                    at);
}

/* ---- _contrib_div_sqrt_dim ------------------------------------------------------------ */

static am_status div_sqrt_dim_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim == 0)
        return am_fail(AM_ERR_SHAPE, "data () has no last axis to take the size of");
    out[0] = in[0];
    return AM_OK;
}

static am_status div_sqrt_dim_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                  const am_view *in, int n_in, const am_view *out, int n_out,
                                  const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = am_view_size(&in[0]);
    bool add = req[0] == AM_REQ_ADD;
    double f = 1.0 / sqrt((double)in[0].dim[in[0].ndim - 1]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *x = in[0].data;
        T *y = out[0].data, s = (T)f;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) y[i] = (add ? y[i] : 0) + x[i] * s;
    });
    return AM_OK;
}

extern const am_op_def am_op_div_sqrt_dim;

/* Linear: the gradient is the same scaling of ograd. */
static am_status div_sqrt_dim_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_div_sqrt_dim, NULL, og, 1, &ig[0], 1, g->at);
}

const am_op_def am_op_div_sqrt_dim = {
    .name = "_contrib_div_sqrt_dim", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = div_sqrt_dim_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = div_sqrt_dim_cpu, .gradient = div_sqrt_dim_grad,
    .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}}, .fuse = AM_FUSE_OPAQUE,
    .doc = "data / sqrt(data.shape[-1])."};

am_array *am_div_sqrt_dim_at(am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(&am_op_div_sqrt_dim, NULL, &x, 1, &y, 1, at);
    return y;
}

/* ---- _contrib_arange_like ------------------------------------------------------------- */

typedef struct arange_like_attrs {
    double start, step;
    int64_t repeat;
    char ctx[AM_MAX_ATTR_STRING];
    am_opt_int axis;
} arange_like_attrs;

static const am_attr_field arange_like_fields[] = {
    AM_ATTR_FIELD(arange_like_attrs, start, AM_ATTR_FLOAT, "0", "first value"),
    AM_ATTR_FIELD(arange_like_attrs, step, AM_ATTR_FLOAT, "1", "spacing between values"),
    AM_ATTR_FIELD(arange_like_attrs, repeat, AM_ATTR_INT, "1",
                  "times each value repeats (at least 1)"),
    AM_ATTR_FIELD(arange_like_attrs, ctx, AM_ATTR_STRING, "",
                  "device of the output in MXNet's imperative calls; ignored"),
    AM_ATTR_FIELD(arange_like_attrs, axis, AM_ATTR_OPT_INT, "None",
                  "None: data's shape; else a 1-D range as long as that axis of data"),
    {0}};

static am_status arange_like_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const arange_like_attrs *a = attrs;
    char b[96];
    int ax;
    if (a->repeat < 1)
        return am_fail(AM_ERR_ARG, "repeat=%lld must be at least 1", (long long)a->repeat);
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (!a->axis.has) {
        out[0] = in[0];
        return AM_OK;
    }
    if (!am_axis_norm(a->axis.v, in[0].ndim, &ax))
        return am_fail(AM_ERR_ARG, "axis=%lld is out of range for data %s", (long long)a->axis.v,
                       am_shape_format(&in[0], b, sizeof(b)));
    out[0] = (am_shape){.ndim = 1, .dim = {in[0].dim[ax]}};
    return AM_OK;
}

static am_status arange_like_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                   int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = in[0];
    return AM_OK;
}

static am_status arange_like_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const arange_like_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = am_view_size(&out[0]), rep = a->repeat;
    bool add = req[0] == AM_REQ_ADD;
    double start = a->start, step = a->step;
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        T *y = out[0].data;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T v = (T)(start + (double)(i / rep) * step);
            y[i] = add ? (T)(y[i] + v) : v;
        }
    });
    return AM_OK;
}

const am_op_def am_op_arange_like = {
    .name = "_contrib_arange_like", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = arange_like_fields, .attrs_size = sizeof(arange_like_attrs),
    .infer_shape = arange_like_shape, .infer_dtype = arange_like_dtype, .cpu = arange_like_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "start + floor(i / repeat) * step over data's shape (or the length of one axis), "
           "in data's dtype; data's values are not read."};

am_array *am_arange_like_at(am_array *x, double start, double step, int64_t repeat,
                            const int64_t *axis, am_site at)
{
    arange_like_attrs a;
    if (am_attrs_init(&am_op_arange_like, &a) != AM_OK) return NULL;
    a.start = start, a.step = step, a.repeat = repeat;
    if (axis) a.axis = (am_opt_int){.has = true, .v = *axis};
    am_array *y = NULL;
    am_op_call(&am_op_arange_like, &a, &x, 1, &y, 1, at);
    return y;
}
