/* CTCLoss: Connectionist Temporal Classification (Graves et al., 2006) over
 * unnormalized activations, as MXNet's CTCLoss takes them.
 *
 * data (T, N, C) holds activations; the op applies log-softmax over C itself.
 * label (N, L) holds class indices; a label ends at its first padding value
 * (0 when blank_label is "first", -1 when "last") unless use_label_lengths
 * gives its length.  data_lengths (N) shortens sequences when
 * use_data_lengths.  Outputs: loss (N), the negative log-likelihood of each
 * label, and a hidden second output holding d loss / d data, which the
 * forward pass computes with the loss (the alpha-beta recursions share all
 * their work) and the gradient function scales by the head gradient.
 *
 * Both recursions run in log space in float64 per sequence.  A label that no
 * alignment of its sequence can produce (too few frames for the labels and
 * the blanks between repeats) has probability 0: its loss is +inf and its
 * gradient 0, so one such sample neither poisons a batch's parameters with
 * NaN nor hides (MXNet returns 0 there; PyTorch returns inf and NaN
 * gradients). */
#include "shape_impl.h"

#include <math.h>
#include <string.h>

enum { BLANK_FIRST, BLANK_LAST };

typedef struct ctc_attrs {
    bool use_data_lengths, use_label_lengths;
    int blank_label;
} ctc_attrs;

static const char *const ctc_blanks[] = {"first", "last", NULL};

static const am_attr_field ctc_fields[] = {
    AM_ATTR_FIELD(ctc_attrs, use_data_lengths, AM_ATTR_BOOL, "False",
                  "take each sequence's length from data_lengths (else T)"),
    AM_ATTR_FIELD(ctc_attrs, use_label_lengths, AM_ATTR_BOOL, "False",
                  "take each label's length from label_lengths (else up to the first padding)"),
    AM_ATTR_ENUM_FIELD(ctc_attrs, blank_label, ctc_blanks, "first",
                       "blank is class 0 (padding 0) or class C-1 (padding -1)"),
    {0}};

static int ctc_num_inputs(const void *attrs)
{
    const ctc_attrs *a = attrs;
    return 2 + a->use_data_lengths + a->use_label_lengths;
}

static int ctc_num_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

/* Index of data_lengths and label_lengths among the inputs, or -1. */
static int data_len_input(const ctc_attrs *a) { return a->use_data_lengths ? 2 : -1; }
static int label_len_input(const ctc_attrs *a)
{
    return a->use_label_lengths ? 2 + a->use_data_lengths : -1;
}

static am_status ctc_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const ctc_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (in[0].ndim < 0 || in[1].ndim < 0)
        return am_fail(AM_ERR_SHAPE, "data and label shapes must be known");
    if (in[0].ndim != 3)
        return am_fail(AM_ERR_SHAPE, "data %s must be (sequence length, batch, alphabet)",
                       am_fmt_shape(&in[0], b0));
    if (in[1].ndim != 2)
        return am_fail(AM_ERR_SHAPE, "label %s must be (batch, label length)",
                       am_fmt_shape(&in[1], b1));
    int64_t t = in[0].dim[0], n = in[0].dim[1], c = in[0].dim[2];
    if (in[1].dim[0] != n)
        return am_fail(AM_ERR_SHAPE, "label %s and data %s differ in batch size",
                       am_fmt_shape(&in[1], b1), am_fmt_shape(&in[0], b0));
    if (c < 2)
        return am_fail(AM_ERR_SHAPE, "data %s has %lld classes; the alphabet needs the blank and "
                       "at least one label", am_fmt_shape(&in[0], b0), (long long)c);
    if (in[1].dim[1] > t)
        return am_fail(AM_ERR_SHAPE, "label %s is longer than the sequences of data %s",
                       am_fmt_shape(&in[1], b1), am_fmt_shape(&in[0], b0));
    for (int i = 2; i < n_in; i++) {
        const char *what = i == data_len_input(a) ? "data_lengths" : "label_lengths";
        if (in[i].ndim < 0) in[i] = AM_SHAPE(n);
        else if (in[i].ndim != 1 || in[i].dim[0] != n)
            return am_fail(AM_ERR_SHAPE, "%s %s must be a vector of the batch size %lld", what,
                           am_fmt_shape(&in[i], b1), (long long)n);
    }
    out[0] = AM_SHAPE(n);
    out[1] = in[0];
    return AM_OK;
}

static am_status ctc_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "data is %s; CTCLoss needs float32 or float64",
                       am_dtype_name(in[0]));
    out[0] = out[1] = in[0];
    return AM_OK;
}

/* Per sequence: log-probabilities and the gradient (T*C each), alpha and beta
 * (T*S each, S = 2L+1), all double, and the extended label (S int64). */
static size_t per_sequence(int64_t t, int64_t c, int64_t l)
{
    int64_t s = 2 * l + 1;
    return (size_t)(2 * t * c + 2 * t * s) * sizeof(double) + (size_t)s * sizeof(int64_t);
}

/* Sequences, then labels (N*L) and both length vectors (N each) as int64. */
static size_t ctc_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    int64_t n = in[0].dim[1], l = in[1].dim[1];
    return (size_t)n * per_sequence(in[0].dim[0], in[0].dim[2], l) +
           (size_t)(n * l + 2 * n) * sizeof(int64_t);
}

static inline double log_add(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* One sequence's loss; grad (T*C, the sequence's own rows, already strided
 * out of the batch by the caller) receives d loss / d activations for t <
 * len and 0 after. */
typedef struct ctc_seq {
    int64_t len, c, n_lab, blank;
    const int64_t *lab;
    double *lp, *alpha, *beta; /* lp: T*C, alpha/beta: T*S */
    int64_t *ext;
} ctc_seq;

static double ctc_one(ctc_seq *q, double *grad)
{
    const int64_t c = q->c, t_len = q->len, s_len = 2 * q->n_lab + 1;
    int64_t *ext = q->ext;
    for (int64_t s = 0; s < s_len; s++) ext[s] = s % 2 ? q->lab[s / 2] : q->blank;
    double *lp = q->lp, *al = q->alpha, *be = q->beta;
    for (int64_t i = 0; i < t_len * s_len; i++) al[i] = be[i] = -INFINITY;
    if (t_len == 0) return q->n_lab == 0 ? 0.0 : INFINITY;
    /* alpha: forward recursion; s may come from s, s-1, or s-2 when l'(s)
     * is a label that differs from l'(s-2). */
    al[0] = lp[ext[0]];
    if (s_len > 1) al[1] = lp[ext[1]];
    for (int64_t t = 1; t < t_len; t++) {
        const double *prev = al + (t - 1) * s_len;
        double *cur = al + t * s_len;
        for (int64_t s = 0; s < s_len; s++) {
            double v = prev[s];
            if (s > 0) v = log_add(v, prev[s - 1]);
            if (s > 1 && ext[s] != q->blank && ext[s] != ext[s - 2]) v = log_add(v, prev[s - 2]);
            cur[s] = v == -INFINITY ? v : v + lp[t * c + ext[s]];
        }
    }
    double *last = al + (t_len - 1) * s_len;
    double ll = s_len > 1 ? log_add(last[s_len - 1], last[s_len - 2]) : last[0];
    if (ll == -INFINITY) {
        for (int64_t i = 0; i < t_len * c; i++) grad[i] = 0;
        return INFINITY;
    }
    /* beta: the same backwards, each entry including its own frame. */
    double *bl = be + (t_len - 1) * s_len;
    bl[s_len - 1] = lp[(t_len - 1) * c + ext[s_len - 1]];
    if (s_len > 1) bl[s_len - 2] = lp[(t_len - 1) * c + ext[s_len - 2]];
    for (int64_t t = t_len - 2; t >= 0; t--) {
        const double *next = be + (t + 1) * s_len;
        double *cur = be + t * s_len;
        for (int64_t s = 0; s < s_len; s++) {
            double v = next[s];
            if (s + 1 < s_len) v = log_add(v, next[s + 1]);
            if (s + 2 < s_len && ext[s] != q->blank && ext[s] != ext[s + 2])
                v = log_add(v, next[s + 2]);
            cur[s] = v == -INFINITY ? v : v + lp[t * c + ext[s]];
        }
    }
    /* d(-ll)/du(t,k) = y(t,k) - sum over s with l'(s)=k of
     * exp(alpha(t,s) + beta(t,s) - lp(t,k) - ll): alpha*beta counts the
     * frame's own probability twice. */
    for (int64_t t = 0; t < t_len; t++) {
        double *g = grad + t * c;
        const double *lpt = lp + t * c, *a = al + t * s_len, *b = be + t * s_len;
        for (int64_t k = 0; k < c; k++) g[k] = -INFINITY;
        for (int64_t s = 0; s < s_len; s++)
            if (a[s] != -INFINITY && b[s] != -INFINITY)
                g[ext[s]] = log_add(g[ext[s]], a[s] + b[s]);
        for (int64_t k = 0; k < c; k++) {
            double y = exp(lpt[k]);
            g[k] = g[k] == -INFINITY ? y : y - exp(g[k] - lpt[k] - ll);
        }
    }
    return -ll;
}

/* Length of label row r: label_lengths, or up to the first padding value. */
static am_status label_length(const ctc_attrs *a, const int64_t *row, int64_t width,
                              const int64_t *given, int64_t r, int64_t *len)
{
    if (given) {
        if (given[r] < 0 || given[r] > width)
            return am_fail(AM_ERR_ARG, "label_lengths[%lld] = %lld is outside [0, %lld]",
                           (long long)r, (long long)given[r], (long long)width);
        *len = given[r];
        return AM_OK;
    }
    int64_t pad = a->blank_label == BLANK_FIRST ? 0 : -1, n = 0;
    while (n < width && row[n] != pad) n++;
    *len = n;
    return AM_OK;
}

/* Runs one sequence r of the batch: log-softmax of its frames, the
 * recursions, then its loss and gradient rows into the outputs. */
#define CTC_SEQUENCE(T)                                                                         \
    static void ctc_sequence_##T(ctc_seq *q, const T *x, int64_t t_max, int64_t stride,        \
                                 double *g, T *loss, T *grad, const am_req *req)                \
    {                                                                                           \
        const int64_t c = q->c;                                                                 \
        for (int64_t t = 0; t < q->len; t++) {                                                  \
            const T *row = x + t * stride;                                                      \
            double m = -INFINITY, sum = 0;                                                      \
            for (int64_t k = 0; k < c; k++) m = row[k] > m ? row[k] : m;                        \
            for (int64_t k = 0; k < c; k++) sum += exp(row[k] - m);                             \
            double lse = m + log(sum);                                                          \
            for (int64_t k = 0; k < c; k++) q->lp[t * c + k] = row[k] - lse;                    \
        }                                                                                       \
        double v = ctc_one(q, g);                                                               \
        if (req[0] == AM_REQ_ADD) *loss += (T)v;                                                \
        else if (req[0] != AM_REQ_NULL) *loss = (T)v;                                           \
        if (req[1] == AM_REQ_NULL) return;                                                      \
        for (int64_t t = 0; t < t_max; t++) {                                                   \
            T *dst = grad + t * stride;                                                         \
            for (int64_t k = 0; k < c; k++) {                                                   \
                T gv = t < q->len ? (T)g[t * c + k] : 0;                                        \
                dst[k] = req[1] == AM_REQ_ADD ? dst[k] + gv : gv;                               \
            }                                                                                   \
        }                                                                                       \
    }
CTC_SEQUENCE(float)
CTC_SEQUENCE(double)

static am_status ctc_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, int n_in,
                         const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const ctc_attrs *a = attrs;
    const int64_t t_max = in[0].dim[0], n = in[0].dim[1], c = in[0].dim[2], width = in[1].dim[1];
    const int64_t blank = a->blank_label == BLANK_FIRST ? 0 : c - 1;
    if (n == 0) return AM_OK;
    const size_t per = per_sequence(t_max, c, width);
    int64_t *labels = (int64_t *)((char *)ctx->workspace + (size_t)n * per);
    int64_t *dlen = labels + n * width, *llen = dlen + n;
    am_indices_to_i64(&in[1], labels);
    int di = data_len_input(a), li = label_len_input(a);
    if (li >= 0) am_indices_to_i64(&in[li], llen);
    if (di >= 0) am_indices_to_i64(&in[di], dlen);
    /* Every check happens before any output is written. */
    for (int64_t r = 0; r < n; r++) {
        int64_t len = 0;
        am_status st = label_length(a, labels + r * width, width, li >= 0 ? llen : NULL, r, &len);
        if (st != AM_OK) return st;
        for (int64_t j = 0; j < len; j++) {
            int64_t v = labels[r * width + j];
            if (v < 0 || v >= c || v == blank)
                return am_fail(AM_ERR_ARG, "label[%lld][%lld] = %lld is not a class in [0, %lld) "
                               "other than the blank %lld", (long long)r, (long long)j,
                               (long long)v, (long long)c, (long long)blank);
        }
        if (di >= 0 && (dlen[r] < 0 || dlen[r] > t_max))
            return am_fail(AM_ERR_ARG, "data_lengths[%lld] = %lld is outside [0, %lld]",
                           (long long)r, (long long)dlen[r], (long long)t_max);
        if (di < 0) dlen[r] = t_max;
        llen[r] = len;
    }
#pragma omp parallel for if (n > 1 && t_max * c * width > 4096) schedule(dynamic)
    for (int64_t r = 0; r < n; r++) {
        double *w = (double *)((char *)ctx->workspace + (size_t)r * per);
        int64_t s_len = 2 * llen[r] + 1;
        ctc_seq q = {.len = dlen[r], .c = c, .n_lab = llen[r], .blank = blank,
                     .lab = labels + r * width, .lp = w};
        double *g = w + t_max * c;
        q.alpha = g + t_max * c;
        q.beta = q.alpha + t_max * s_len;
        q.ext = (int64_t *)(q.beta + t_max * s_len);
        if (in[0].dtype == AM_DTYPE_FLOAT32)
            ctc_sequence_float(&q, (const float *)in[0].data + r * c, t_max, n * c, g,
                               (float *)out[0].data + r, (float *)out[1].data + r * c, req);
        else
            ctc_sequence_double(&q, (const double *)in[0].data + r * c, t_max, n * c, g,
                                (double *)out[0].data + r, (double *)out[1].data + r * c, req);
    }
    return AM_OK;
}

/* d data = the hidden gradient, scaled per sequence by the loss's head
 * gradient; the labels and lengths are not differentiable. */
static am_status ctc_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    am_array *scale = am_reshape_at(og[0], AM_SHAPE(1, -1, 1), false, g->at);
    ig[0] = am_broadcast_mul_at(am_block_grad_at(out[1], g->at), scale, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_ctc_loss = {
    .name = "CTCLoss",
    .aliases = (const char *const[]){"ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss", NULL},
    .input_names = (const char *const[]){"data", "label", "data_lengths", "label_lengths", NULL},
    .num_inputs = ctc_num_inputs, .num_outputs = 2, .num_visible = ctc_num_visible,
    .attrs = ctc_fields, .attrs_size = sizeof(ctc_attrs), .infer_shape = ctc_shape,
    .infer_dtype = ctc_dtype, .temp_bytes = ctc_temp, .cpu = ctc_cpu, .gradient = ctc_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Connectionist temporal classification loss of activations (T, N, C) against "
           "padded labels (N, L); outputs the loss (N) and a hidden d loss / d data."};

am_array *am_ctc_loss_at(am_array *data, am_array *label, am_array *data_lengths,
                         am_array *label_lengths, const char *blank_label, am_site at)
{
    ctc_attrs a = {.use_data_lengths = data_lengths != NULL,
                   .use_label_lengths = label_lengths != NULL};
    if (blank_label && strcmp(blank_label, "last") == 0) a.blank_label = BLANK_LAST;
    else if (blank_label && strcmp(blank_label, "first") != 0)
        return am_fail_null("CTCLoss", at, AM_ERR_ARG,
                            "blank_label '%s' is not one of first, last", blank_label);
    am_array *in[4] = {data, label}, *y = NULL;
    int n_in = 2;
    if (data_lengths) in[n_in++] = data_lengths;
    if (label_lengths) in[n_in++] = label_lengths;
    am_op_call(&am_op_ctc_loss, &a, in, n_in, &y, 1, at);
    return y;
}
