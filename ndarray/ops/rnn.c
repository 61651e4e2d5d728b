/* The fused recurrent op RNN (MXNet's rnn_relu, rnn_tanh, lstm and gru cells, stacked and
 * bidirectional) and _backward_RNN on the CPU: one GEMM per layer and direction projects the
 * whole sequence, then the recurrence runs step by step; BPTT reads a saved reserve space. */
#include "../ndarray_impl.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>

#undef I /* <complex.h>, included by cblas.h, defines it; here I is the input size */

/*
 * Layout (MXNet 1.x, rnn-inl.h / rnn_impl.h, and Gluon's _rnn_param_concat):
 *   data (T, N, I), state and state_cell (L*D, N, H) with row l*D + d for layer l and
 *   direction d (0 forward, 1 backward in time), out (T, N, D*H) with direction d's units at
 *   columns d*H .. d*H+H-1.  The parameter vector holds, for every layer and then every
 *   direction, W_i2h (G*H, in_l) followed by W_h2h (G*H, H); then, in the same order,
 *   b_i2h (G*H) and b_h2h (G*H).  in_0 = I and in_l = D*H above.  Gates are stacked in
 *   MXNet's order: lstm i, f, g, o; gru r, z, n.
 *
 * Cells:
 *   rnn:  h' = act(W_i x + b_i + W_h h + b_h)
 *   lstm: i, f, o = sigmoid(.), g = tanh(.); c' = f c + i g; h' = o tanh(c')
 *   gru:  r, z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
 *         h' = (1 - z) n + z h
 *
 * Outputs: out, hy, cy and a hidden reserve space (num_outputs 4).  hy is visible with
 * state_outputs, and cy too for lstm; for the other modes cy is a (0,) placeholder.  The
 * reserve (1-D, the forward's dtype) holds what BPTT needs:
 *   Y:     every layer's output (T, N, D*H), L blocks;
 *   gates: per layer and direction (T, N, S*H): lstm [i f g o c] (S = 5), gru [r z n hn]
 *          with hn = W_hn h + b_hn (S = 4), nothing for rnn (S = 0: h is in Y);
 *   masks: with p > 0 and L > 1, the dropout mask (0 or 1/(1-p)) applied to the output of
 *          layers 0 .. L-2, (T, N, D*H) each; all ones outside training.
 * _backward_RNN takes data, parameters, state, reserve, the out and hy gradients, and for
 * lstm state_cell and the cy gradient (the lstm-only inputs last, so that the names of the
 * other modes' inputs stay a prefix), and returns the gradients of data, parameters, state
 * and state_cell ((0,) placeholder unless lstm).
 *
 * lstm_state_clip_min/max clip the cell state after every step, as cuDNN does (MXNet's own
 * CPU kernel refuses them); the clip passes no gradient where it is active.
 */

enum { RNN_RELU, RNN_TANH, RNN_LSTM, RNN_GRU };
static const char *const rnn_modes[] = {"rnn_relu", "rnn_tanh", "lstm", "gru", NULL};

/* Per-step elementwise work of one cell runs in parallel over the batch above this many
 * elements: each element costs several exp/tanh, so the break-even is lower than AM_OMP_MIN. */
#define RNN_OMP_MIN 4096

typedef struct rnn_attrs {
    int64_t state_size, num_layers;
    bool bidirectional;
    int mode;
    double p;
    bool state_outputs;
    am_opt_int projection_size;
    am_opt_float lstm_state_clip_min, lstm_state_clip_max;
    bool lstm_state_clip_nan;
    bool use_sequence_length;
} rnn_attrs;

static const am_attr_field rnn_fields[] = {
    AM_ATTR_FIELD(rnn_attrs, state_size, AM_ATTR_INT, NULL, "hidden units H of every layer"),
    AM_ATTR_FIELD(rnn_attrs, num_layers, AM_ATTR_INT, NULL, "stacked layers L"),
    AM_ATTR_FIELD(rnn_attrs, bidirectional, AM_ATTR_BOOL, "False",
                  "also run every layer backwards in time and concatenate (D = 2)"),
    AM_ATTR_ENUM_FIELD(rnn_attrs, mode, rnn_modes, NULL, "cell: rnn_relu, rnn_tanh, lstm, gru"),
    AM_ATTR_FIELD(rnn_attrs, p, AM_ATTR_FLOAT, "0.0",
                  "dropout rate on the output of every layer but the last, in training"),
    AM_ATTR_FIELD(rnn_attrs, state_outputs, AM_ATTR_BOOL, "False",
                  "also return the final states hy (and cy for lstm)"),
    AM_ATTR_FIELD(rnn_attrs, projection_size, AM_ATTR_OPT_INT, "None",
                  "LSTM projection size (not supported)"),
    AM_ATTR_FIELD(rnn_attrs, lstm_state_clip_min, AM_ATTR_OPT_FLOAT, "None",
                  "lower bound of the lstm cell state; with lstm_state_clip_max"),
    AM_ATTR_FIELD(rnn_attrs, lstm_state_clip_max, AM_ATTR_OPT_FLOAT, "None",
                  "upper bound of the lstm cell state; with lstm_state_clip_min"),
    AM_ATTR_FIELD(rnn_attrs, lstm_state_clip_nan, AM_ATTR_BOOL, "False",
                  "with clipping, a NaN cell state becomes lstm_state_clip_min"),
    AM_ATTR_FIELD(rnn_attrs, use_sequence_length, AM_ATTR_BOOL, "False",
                  "take per-sequence lengths (not supported)"),
    {0}};

/* ---- sizes and offsets ------------------------------------------------------------------ */

typedef struct rnn_dims {
    int mode;
    int64_t L, D, T, N, I, H;
    int64_t G;    /* gates: 1, 4 or 3 */
    int64_t S;    /* values saved per step and unit in the reserve: 0, 5 or 4 */
    double p;
    bool dropout; /* p > 0 with more than one layer: the reserve holds masks */
    bool clip, clip_nan;
    double lo, hi;
} rnn_dims;

static am_status check_attrs(const rnn_attrs *a)
{
    const char *m = rnn_modes[a->mode];
    bool cmin = a->lstm_state_clip_min.has, cmax = a->lstm_state_clip_max.has;
    if (a->state_size < 1)
        return am_fail(AM_ERR_ARG, "state_size must be positive, got %lld",
                       (long long)a->state_size);
    if (a->num_layers < 1)
        return am_fail(AM_ERR_ARG, "num_layers must be positive, got %lld",
                       (long long)a->num_layers);
    if (!(a->p >= 0 && a->p < 1)) return am_fail(AM_ERR_ARG, "p must be in [0, 1), got %g", a->p);
    if (a->projection_size.has)
        return am_fail(AM_ERR_UNSUPPORTED, "projection_size is not supported (MXNet has it "
                       "only with cuDNN); leave it None");
    if (a->use_sequence_length)
        return am_fail(AM_ERR_UNSUPPORTED, "use_sequence_length is not supported (MXNet has it "
                       "only with cuDNN); pad the sequences instead");
    if ((cmin || cmax) && a->mode != RNN_LSTM)
        return am_fail(AM_ERR_ARG, "lstm_state_clip_min/max apply to mode lstm only, not %s", m);
    if (cmin != cmax)
        return am_fail(AM_ERR_ARG, "lstm_state_clip_min and lstm_state_clip_max must be given "
                       "together");
    if (cmin && !(a->lstm_state_clip_max.v >= a->lstm_state_clip_min.v))
        return am_fail(AM_ERR_ARG, "lstm_state_clip_max (%g) is below lstm_state_clip_min (%g)",
                       a->lstm_state_clip_max.v, a->lstm_state_clip_min.v);
    return AM_OK;
}

/* Checks the attributes and data (T, N, I) and fills the dimensions. */
static am_status dims_make(const rnn_attrs *a, const am_shape *data, rnn_dims *d)
{
    char b[96];
    am_status st = check_attrs(a);
    if (st != AM_OK) return st;
    if (data->ndim != 3)
        return am_fail(AM_ERR_SHAPE, "data %s must be 3-D (sequence length, batch, input size)",
                       data->ndim < 0 ? "(unknown)" : am_shape_format(data, b, sizeof(b)));
    static const int64_t gates[] = {1, 1, 4, 3}, saved[] = {0, 0, 5, 4};
    *d = (rnn_dims){.mode = a->mode, .L = a->num_layers, .D = a->bidirectional ? 2 : 1,
                    .T = data->dim[0], .N = data->dim[1], .I = data->dim[2], .H = a->state_size,
                    .G = gates[a->mode], .S = saved[a->mode], .p = a->p,
                    .dropout = a->p > 0 && a->num_layers > 1,
                    .clip = a->lstm_state_clip_min.has, .clip_nan = a->lstm_state_clip_nan,
                    .lo = a->lstm_state_clip_min.v, .hi = a->lstm_state_clip_max.v};
    if (d->T * d->N > INT_MAX || d->G * d->D * d->H > INT_MAX || d->I > INT_MAX)
        return am_fail(AM_ERR_UNSUPPORTED, "data %s with state_size %lld exceeds BLAS's 32-bit "
                       "dimensions", am_shape_format(data, b, sizeof(b)), (long long)d->H);
    return AM_OK;
}

static int64_t in_size(const rnn_dims *d, int64_t l) { return l ? d->D * d->H : d->I; }

/* Offset of W_i2h of layer l, direction dir (W_h2h follows it). */
static int64_t w_offset(const rnn_dims *d, int64_t l, int64_t dir)
{
    int64_t gh = d->G * d->H, off = 0;
    for (int64_t j = 0; j < l; j++) off += d->D * gh * (in_size(d, j) + d->H);
    return off + dir * gh * (in_size(d, l) + d->H);
}

/* Offset of b_i2h of layer l, direction dir (b_h2h follows it). */
static int64_t b_offset(const rnn_dims *d, int64_t l, int64_t dir)
{
    return w_offset(d, d->L, 0) + (l * d->D + dir) * 2 * d->G * d->H;
}

/* MXNet's GetRnnParamSize. */
static int64_t param_count(const rnn_dims *d) { return b_offset(d, d->L, 0); }

static int64_t y_size(const rnn_dims *d) { return d->T * d->N * d->D * d->H; }
static int64_t rs_y(const rnn_dims *d, int64_t l) { return l * y_size(d); }
static int64_t rs_gates(const rnn_dims *d, int64_t l, int64_t dir)
{
    return d->L * y_size(d) + (l * d->D + dir) * d->T * d->N * d->S * d->H;
}
static int64_t rs_mask(const rnn_dims *d, int64_t l)
{
    return d->L * y_size(d) * (1 + d->S) + (l - 1) * y_size(d);
}
static int64_t reserve_count(const rnn_dims *d)
{
    return rs_mask(d, 1) + (d->dropout ? (d->L - 1) * y_size(d) : 0);
}

/* Workspace elements: forward (two layer outputs, the input projection, gru's recurrent
 * part, lstm's cell) and backward (two output gradients, a masked input, gate gradients). */
static int64_t fwd_ws_count(const rnn_dims *d)
{
    int64_t gh = d->G * d->H, nb = d->L < 2 ? d->L : 2;
    return nb * y_size(d) + d->T * d->N * gh + d->N * gh + d->N * d->H;
}

static int64_t bwd_ws_count(const rnn_dims *d)
{
    int64_t gh = d->G * d->H, nb = d->L - 1 < 2 ? d->L - 1 : 2;
    return (nb + d->dropout) * y_size(d) + 2 * d->T * d->N * gh + 2 * d->N * d->H;
}

/* ---- shape and dtype inference ---------------------------------------------------------- */

static bool same_shape(const am_shape *a, const am_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

/* Fills an unknown shape or checks a known one against want. */
static am_status match_shape(am_shape *s, const am_shape *want, const char *name,
                             const rnn_dims *d)
{
    char b1[96], b2[96];
    if (s->ndim < 0) *s = *want;
    if (same_shape(s, want)) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "%s %s must be %s (num_layers %lld x %lld directions, batch "
                   "%lld, state_size %lld)", name, am_shape_format(s, b1, sizeof(b1)),
                   am_shape_format(want, b2, sizeof(b2)), (long long)d->L, (long long)d->D,
                   (long long)d->N, (long long)d->H);
}

static am_status match_params(am_shape *s, const rnn_dims *d)
{
    char b[96];
    int64_t want = param_count(d), got = 1;
    if (s->ndim < 0) *s = (am_shape){.ndim = 1, .dim = {want}};
    for (int i = 0; i < s->ndim; i++) got *= s->dim[i];
    if (s->ndim == 1 && got == want) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "parameters %s must be 1-D with %lld elements, got %lld (mode "
                   "%s, num_layers %lld, %s, input size %lld, state_size %lld)",
                   am_shape_format(s, b, sizeof(b)), (long long)want, (long long)got,
                   rnn_modes[d->mode], (long long)d->L,
                   d->D == 2 ? "bidirectional" : "unidirectional", (long long)d->I,
                   (long long)d->H);
}

/* The shapes every input must have; fills unknown ones. */
static am_status match_inputs(const rnn_dims *d, am_shape *params, am_shape *state,
                              am_shape *cell)
{
    am_shape st = {.ndim = 3, .dim = {d->L * d->D, d->N, d->H}};
    am_status s = match_params(params, d);
    if (s == AM_OK) s = match_shape(state, &st, "state", d);
    if (s == AM_OK && cell) s = match_shape(cell, &st, "state_cell", d);
    return s;
}

static int rnn_num_inputs(const void *attrs)
{
    return ((const rnn_attrs *)attrs)->mode == RNN_LSTM ? 4 : 3;
}

static int rnn_visible(const void *attrs)
{
    const rnn_attrs *a = attrs;
    return !a->state_outputs ? 1 : a->mode == RNN_LSTM ? 3 : 2;
}

static am_status rnn_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    rnn_dims d;
    am_status st = dims_make(attrs, &in[0], &d);
    if (st == AM_OK) st = match_inputs(&d, &in[1], &in[2], d.mode == RNN_LSTM ? &in[3] : NULL);
    if (st != AM_OK) return st;
    out[0] = (am_shape){.ndim = 3, .dim = {d.T, d.N, d.D * d.H}};
    out[1] = in[2];
    out[2] = d.mode == RNN_LSTM ? in[2] : (am_shape){.ndim = 1, .dim = {0}};
    out[3] = (am_shape){.ndim = 1, .dim = {reserve_count(&d)}};
    return AM_OK;
}

/* _backward_RNN inputs: data, parameters, state, reserve, out grad, hy grad, then for lstm
 * state_cell and cy grad; outputs: gradients of data, parameters, state, state_cell. */
enum { BW_DATA, BW_PARAMS, BW_STATE, BW_RESERVE, BW_DOUT, BW_DHY, BW_CELL, BW_DCY };

static am_status rnn_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    rnn_dims d = {0};
    bool lstm = ((const rnn_attrs *)attrs)->mode == RNN_LSTM;
    am_status st = dims_make(attrs, &in[BW_DATA], &d);
    if (st == AM_OK)
        st = match_inputs(&d, &in[BW_PARAMS], &in[BW_STATE], lstm ? &in[BW_CELL] : NULL);
    am_shape rs = {.ndim = 1, .dim = {st == AM_OK ? reserve_count(&d) : 0}};
    am_shape ys = {.ndim = 3, .dim = {d.T, d.N, d.D * d.H}};
    if (st == AM_OK) st = match_shape(&in[BW_RESERVE], &rs, "reserve", &d);
    if (st == AM_OK) st = match_shape(&in[BW_DOUT], &ys, "out gradient", &d);
    if (st == AM_OK) st = match_shape(&in[BW_DHY], &in[BW_STATE], "state gradient", &d);
    if (st == AM_OK && lstm)
        st = match_shape(&in[BW_DCY], &in[BW_STATE], "state_cell gradient", &d);
    if (st != AM_OK) return st;
    out[0] = in[BW_DATA];
    out[1] = in[BW_PARAMS];
    out[2] = in[BW_STATE];
    out[3] = lstm ? in[BW_CELL] : (am_shape){.ndim = 1, .dim = {0}};
    return AM_OK;
}

static int rnn_backward_num_inputs(const void *attrs)
{
    return ((const rnn_attrs *)attrs)->mode == RNN_LSTM ? 8 : 6;
}

static int rnn_backward_visible(const void *attrs)
{
    return ((const rnn_attrs *)attrs)->mode == RNN_LSTM ? 4 : 3;
}

static const char *const rnn_input_names[] = {"data", "parameters", "state", "state_cell", NULL};
static const char *const rnn_backward_input_names[] = {
    "data", "parameters", "state", "reserve", "out_grad", "state_grad",
    "state_cell", "state_cell_grad", NULL};

/* Every input has data's dtype, float32 or float64; so do the outputs. */
static am_status rnn_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs);
    const char *const *names = n_in > 4 ? rnn_backward_input_names : rnn_input_names;
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "%s is %s but data is %s", names[i],
                           am_dtype_name(in[i]), am_dtype_name(in[0]));
    for (int i = 0; i < n_out; i++) out[i] = in[0];
    return AM_OK;
}

static size_t rnn_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    rnn_dims d;
    if (dims_make(attrs, &in[0], &d) != AM_OK) return 0;
    return (size_t)fwd_ws_count(&d) * sizeof(double);
}

static size_t rnn_backward_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    rnn_dims d;
    if (dims_make(attrs, &in[0], &d) != AM_OK) return 0;
    return (size_t)bwd_ws_count(&d) * sizeof(double);
}

/* ---- typed kernels ---------------------------------------------------------------------- */

static inline char *el(const void *p, int64_t i, size_t es) { return (char *)p + i * (int64_t)es; }

/* One forward step of one direction: n batch rows of h units. */
typedef struct fwd_step {
    int64_t n, h;
    void *g;           /* (n, G*h) gate pre-activations in, activations out */
    const void *hh;    /* gru: (n, 3h) recurrent pre-activations W_h h + b_h */
    const void *hp;    /* gru: h_{t-1}, row stride ldp */
    int64_t ldp;
    void *c;           /* lstm: (n, h) c_{t-1} in, c_t out */
    void *y;           /* h_t out, row stride ldy */
    int64_t ldy;
    bool relu, clip, clip_nan;
    double lo, hi;
} fwd_step;

/* One backward step: gradients of the gate pre-activations from dL/dh_t. */
typedef struct bwd_step {
    int64_t n, h;
    const void *rs;    /* the step's saved values, (n, S*h) */
    const void *cp;    /* lstm: c_{t-1}, row stride ldc */
    int64_t ldc;
    const void *hp;    /* gru: h_{t-1}, row stride ldp */
    int64_t ldp;
    const void *y;     /* rnn: h_t, row stride ldy */
    const void *dy;    /* gradient reaching h_t through the layer output, row stride ldy */
    int64_t ldy;
    void *dh;          /* (n, h) gradient reaching h_t through the recurrence; gru: z * dh_t out */
    void *dc;          /* lstm: (n, h) dL/dc_t in, dL/dc_{t-1} out */
    void *dg;          /* (n, G*h) out: gradients of the input pre-activations */
    void *dgh;         /* gru: (n, 3h) out: gradients of the recurrent pre-activations */
    bool relu, clip;
    double lo, hi;
} bwd_step;

typedef struct rnn_kernels {
    /* c = a b (a, b transposed as asked) + beta c, row-major with leading dimensions. */
    void (*gemm)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *c, int64_t ldc);
    /* dst rows (stride ldd) = or += src rows (stride lds) as req says. */
    void (*put)(void *dst, int64_t ldd, const void *src, int64_t lds, int64_t rows,
                int64_t cols, am_req req);
    void (*add_bias)(void *c, int64_t rows, int64_t cols, const void *b1, const void *b2);
    void (*colsum)(void *dst, const void *src, int64_t rows, int64_t cols);
    void (*mul)(void *x, const void *m, int64_t n);
    void (*draw)(void *m, int64_t n, double p, uint64_t *rng, bool training);
    void (*fwd[4])(const fwd_step *s);
    void (*bwd[4])(const bwd_step *s);
} rnn_kernels;

#define DEF_RNN_BLAS(T, SFX, GEMM)                                                            \
    static void gemm_##SFX(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a,   \
                           int64_t lda, const void *b, int64_t ldb, double beta, void *c,     \
                           int64_t ldc)                                                        \
    {                                                                                         \
        if (m == 0 || n == 0) return;                                                         \
        if (k == 0) { /* BLAS wants lda >= 1; the product is empty: c = beta c */             \
            T *restrict y = c;                                                                \
            for (int64_t i = 0; beta != 1 && i < m; i++)                                      \
                for (int64_t j = 0; j < n; j++)                                               \
                    y[i * ldc + j] = beta != 0 ? (T)beta * y[i * ldc + j] : (T)0;             \
            return;                                                                           \
        }                                                                                     \
        GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,   \
             (int)m, (int)n, (int)k, 1, a, (int)lda, b, (int)ldb, (T)beta, c, (int)ldc);      \
    }                                                                                         \
    static void put_##SFX(void *dst, int64_t ldd, const void *src, int64_t lds, int64_t rows, \
                          int64_t cols, am_req req)                                            \
    {                                                                                         \
        T *restrict y = dst;                                                                  \
        const T *restrict x = src;                                                            \
        if (req == AM_REQ_NULL) return;                                                       \
        for (int64_t r = 0; r < rows; r++) {                                                  \
            if (req == AM_REQ_ADD)                                                            \
                for (int64_t j = 0; j < cols; j++) y[r * ldd + j] += x[r * lds + j];          \
            else                                                                              \
                for (int64_t j = 0; j < cols; j++) y[r * ldd + j] = x[r * lds + j];           \
        }                                                                                     \
    }                                                                                         \
    static void add_bias_##SFX(void *c, int64_t rows, int64_t cols, const void *b1,           \
                               const void *b2)                                                 \
    {                                                                                         \
        T *restrict y = c;                                                                    \
        const T *restrict u = b1, *restrict v = b2;                                           \
        for (int64_t r = 0; r < rows; r++) {                                                  \
            if (v)                                                                            \
                for (int64_t j = 0; j < cols; j++) y[r * cols + j] += u[j] + v[j];            \
            else                                                                              \
                for (int64_t j = 0; j < cols; j++) y[r * cols + j] += u[j];                   \
        }                                                                                     \
    }                                                                                         \
    static void colsum_##SFX(void *dst, const void *src, int64_t rows, int64_t cols)          \
    {                                                                                         \
        T *restrict y = dst;                                                                  \
        const T *restrict x = src;                                                            \
        for (int64_t r = 0; r < rows; r++)                                                    \
            for (int64_t j = 0; j < cols; j++) y[j] += x[r * cols + j];                       \
    }                                                                                         \
    static void mul_##SFX(void *x, const void *m, int64_t n)                                  \
    {                                                                                         \
        T *restrict y = x;                                                                    \
        const T *restrict s = m;                                                              \
        AM_OMP_FOR_N for (int64_t i = 0; i < n; i++) y[i] *= s[i];                            \
    }                                                                                         \
    /* Dropout masks as the Dropout op draws them: kept with probability 1 - p, scaled. */    \
    static void draw_##SFX(void *m, int64_t n, double p, uint64_t *rng, bool training)        \
    {                                                                                         \
        T *restrict y = m;                                                                    \
        const double keep = 1.0 - p;                                                          \
        const T scale = (T)(1.0 / keep);                                                      \
        for (int64_t i = 0; i < n; i++)                                                       \
            y[i] = !training ? (T)1 : am_rng_uniform01(rng) < keep ? scale : (T)0;            \
    }
DEF_RNN_BLAS(float, f32, cblas_sgemm)
DEF_RNN_BLAS(double, f64, cblas_dgemm)

/* tanh for float32 through double exp: glibc's tanhf (by expm1f) costs about three times as
 * much, and the quotient in double stays within an ulp of tanh.  Below 1e-4, tanh(x) = x to
 * float precision. */
static inline float tanh_f32(float x)
{
    double ax = fabs((double)x);
    if (ax < 1e-4) return x;
    double e = exp(-2 * ax);
    return (float)copysign((1 - e) / (1 + e), (double)x);
}

/* Clips the lstm cell state; NaN stays NaN unless clip_nan (then it becomes lo). */
#define RNN_CLIP(T, c, s)                                                                     \
    ((s)->clip_nan && (c) != (c) ? (T)(s)->lo                                                 \
     : (c) < (T)(s)->lo ? (T)(s)->lo : (c) > (T)(s)->hi ? (T)(s)->hi : (c))

#define DEF_RNN_FWD(T, SFX, EXP, TANH)                                                        \
    static inline T sigm_##SFX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                       \
    static void lstm_fwd_##SFX(const fwd_step *s)                                             \
    {                                                                                         \
        const int64_t h = s->h, n = s->n * h;                                                 \
        _Pragma("omp parallel for if (n > RNN_OMP_MIN) schedule(static)")                     \
        for (int64_t r = 0; r < s->n; r++) {                                                  \
            T *restrict g = (T *)s->g + r * 4 * h, *restrict c = (T *)s->c + r * h;           \
            T *restrict y = (T *)s->y + r * s->ldy;                                           \
            for (int64_t k = 0; k < h; k++) {                                                 \
                T i = sigm_##SFX(g[k]), f = sigm_##SFX(g[h + k]);                             \
                T gg = TANH(g[2 * h + k]), o = sigm_##SFX(g[3 * h + k]);                      \
                T cn = f * c[k] + i * gg;                                                     \
                if (s->clip) cn = RNN_CLIP(T, cn, s);                                         \
                g[k] = i, g[h + k] = f, g[2 * h + k] = gg, g[3 * h + k] = o;                  \
                c[k] = cn;                                                                    \
                y[k] = o * TANH(cn);                                                          \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void gru_fwd_##SFX(const fwd_step *s)                                              \
    {                                                                                         \
        const int64_t h = s->h, n = s->n * h;                                                 \
        _Pragma("omp parallel for if (n > RNN_OMP_MIN) schedule(static)")                     \
        for (int64_t r = 0; r < s->n; r++) {                                                  \
            T *restrict g = (T *)s->g + r * 3 * h, *restrict y = (T *)s->y + r * s->ldy;      \
            const T *restrict u = (const T *)s->hh + r * 3 * h;                               \
            const T *restrict hp = (const T *)s->hp + r * s->ldp;                             \
            for (int64_t k = 0; k < h; k++) {                                                 \
                T rr = sigm_##SFX(g[k] + u[k]), z = sigm_##SFX(g[h + k] + u[h + k]);          \
                T nn = TANH(g[2 * h + k] + rr * u[2 * h + k]);                                \
                g[k] = rr, g[h + k] = z, g[2 * h + k] = nn;                                   \
                y[k] = ((T)1 - z) * nn + z * hp[k];                                           \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void vanilla_fwd_##SFX(const fwd_step *s)                                          \
    {                                                                                         \
        const int64_t h = s->h, n = s->n * h;                                                 \
        _Pragma("omp parallel for if (n > RNN_OMP_MIN) schedule(static)")                     \
        for (int64_t r = 0; r < s->n; r++) {                                                  \
            const T *restrict g = (const T *)s->g + r * h;                                    \
            T *restrict y = (T *)s->y + r * s->ldy;                                           \
            if (s->relu)                                                                      \
                for (int64_t k = 0; k < h; k++) y[k] = g[k] > 0 ? g[k] : (T)0;                \
            else                                                                              \
                for (int64_t k = 0; k < h; k++) y[k] = TANH(g[k]);                            \
        }                                                                                     \
    }
DEF_RNN_FWD(float, f32, expf, tanh_f32)
DEF_RNN_FWD(double, f64, exp, tanh)

#define DEF_RNN_BWD(T, SFX, TANH)                                                             \
    static void lstm_bwd_##SFX(const bwd_step *s)                                             \
    {                                                                                         \
        const int64_t h = s->h, n = s->n * h;                                                 \
        const T lo = (T)s->lo, hi = (T)s->hi;                                                 \
        _Pragma("omp parallel for if (n > RNN_OMP_MIN) schedule(static)")                     \
        for (int64_t r = 0; r < s->n; r++) {                                                  \
            const T *restrict v = (const T *)s->rs + r * 5 * h;                               \
            const T *restrict cp = (const T *)s->cp + r * s->ldc;                             \
            const T *restrict dy = (const T *)s->dy + r * s->ldy;                             \
            T *restrict dh = (T *)s->dh + r * h, *restrict dc = (T *)s->dc + r * h;           \
            T *restrict dg = (T *)s->dg + r * 4 * h;                                          \
            for (int64_t k = 0; k < h; k++) {                                                 \
                T i = v[k], f = v[h + k], gg = v[2 * h + k], o = v[3 * h + k], c = v[4 * h + k]; \
                T tc = TANH(c), d = dh[k] + dy[k];                                            \
                T dct = dc[k] + d * o * ((T)1 - tc * tc);                                     \
                if (s->clip && !(c > lo && c < hi)) dct = 0; /* clipped: no gradient */       \
                dg[k] = dct * gg * i * ((T)1 - i);                                            \
                dg[h + k] = dct * cp[k] * f * ((T)1 - f);                                     \
                dg[2 * h + k] = dct * i * ((T)1 - gg * gg);                                   \
                dg[3 * h + k] = d * tc * o * ((T)1 - o);                                      \
                dc[k] = dct * f;                                                              \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void gru_bwd_##SFX(const bwd_step *s)                                              \
    {                                                                                         \
        const int64_t h = s->h, n = s->n * h;                                                 \
        _Pragma("omp parallel for if (n > RNN_OMP_MIN) schedule(static)")                     \
        for (int64_t r = 0; r < s->n; r++) {                                                  \
            const T *restrict v = (const T *)s->rs + r * 4 * h;                               \
            const T *restrict hp = (const T *)s->hp + r * s->ldp;                             \
            const T *restrict dy = (const T *)s->dy + r * s->ldy;                             \
            T *restrict dh = (T *)s->dh + r * h;                                              \
            T *restrict dg = (T *)s->dg + r * 3 * h, *restrict dgh = (T *)s->dgh + r * 3 * h; \
            for (int64_t k = 0; k < h; k++) {                                                 \
                T rr = v[k], z = v[h + k], nn = v[2 * h + k], hn = v[3 * h + k];              \
                T d = dh[k] + dy[k];                                                          \
                T dan = d * ((T)1 - z) * ((T)1 - nn * nn);                                    \
                T dar = dan * hn * rr * ((T)1 - rr);                                          \
                T daz = d * (hp[k] - nn) * z * ((T)1 - z);                                    \
                dg[k] = dgh[k] = dar;                                                         \
                dg[h + k] = dgh[h + k] = daz;                                                 \
                dg[2 * h + k] = dan;                                                          \
                dgh[2 * h + k] = dan * rr;                                                    \
                dh[k] = d * z;                                                                \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void vanilla_bwd_##SFX(const bwd_step *s)                                          \
    {                                                                                         \
        const int64_t h = s->h, n = s->n * h;                                                 \
        _Pragma("omp parallel for if (n > RNN_OMP_MIN) schedule(static)")                     \
        for (int64_t r = 0; r < s->n; r++) {                                                  \
            const T *restrict y = (const T *)s->y + r * s->ldy;                               \
            const T *restrict dy = (const T *)s->dy + r * s->ldy;                             \
            const T *restrict dh = (const T *)s->dh + r * h;                                  \
            T *restrict dg = (T *)s->dg + r * h;                                              \
            if (s->relu)                                                                      \
                for (int64_t k = 0; k < h; k++) dg[k] = y[k] > 0 ? dh[k] + dy[k] : (T)0;      \
            else                                                                              \
                for (int64_t k = 0; k < h; k++) dg[k] = (dh[k] + dy[k]) * ((T)1 - y[k] * y[k]); \
        }                                                                                     \
    }
DEF_RNN_BWD(float, f32, tanh_f32)
DEF_RNN_BWD(double, f64, tanh)

#define RNN_KERNELS(SFX)                                                                      \
    {gemm_##SFX, put_##SFX, add_bias_##SFX, colsum_##SFX, mul_##SFX, draw_##SFX,              \
     {vanilla_fwd_##SFX, vanilla_fwd_##SFX, lstm_fwd_##SFX, gru_fwd_##SFX},                   \
     {vanilla_bwd_##SFX, vanilla_bwd_##SFX, lstm_bwd_##SFX, gru_bwd_##SFX}}
static const rnn_kernels kernels_f32 = RNN_KERNELS(f32), kernels_f64 = RNN_KERNELS(f64);

/* ---- forward ------------------------------------------------------------------------------ */

typedef struct rnn_run {
    const rnn_dims *d;
    const rnn_kernels *k;
    size_t es;                 /* element size */
    const char *w;             /* parameters */
    const char *hx, *cx;       /* initial states (cx: lstm) */
    const am_view *out;
    const am_req *req;
    /* forward workspace */
    char *ybuf[2], *gx, *hh, *c;
    /* backward */
    const char *rs, *dhy, *dcy;
    char *dw;                  /* parameter gradient; NULL when not asked for */
    char *dybuf[2], *xm, *dg, *dgh, *dh, *dc;
} rnn_run;

/* Saves step t's gate activations (and lstm's cell, gru's hn) into the reserve. */
static void save_step(const rnn_run *f, char *rs, const char *g)
{
    const rnn_dims *d = f->d;
    int64_t h = d->H, gh = d->G * h, sh = d->S * h;
    am_req req = f->req[3];
    if (d->mode == RNN_LSTM) {
        f->k->put(rs, sh, g, gh, d->N, gh, req);
        f->k->put(el(rs, gh, f->es), sh, f->c, h, d->N, h, req);
    } else if (d->mode == RNN_GRU) {
        f->k->put(rs, sh, g, gh, d->N, gh, req);
        f->k->put(el(rs, gh, f->es), sh, el(f->hh, 2 * h, f->es), gh, d->N, h, req);
    }
}

/* Layer l, direction dir: x (T*N, in_l) -> direction dir's columns of y (T, N, D*H). */
static void forward_dir(const rnn_run *f, int64_t l, int64_t dir, const char *x, char *y)
{
    const rnn_dims *d = f->d;
    const rnn_kernels *k = f->k;
    size_t es = f->es;
    int64_t T = d->T, N = d->N, H = d->H, gh = d->G * H, dh = d->D * H, in = in_size(d, l);
    int64_t sl = l * d->D + dir, t_end = dir ? 0 : T - 1;
    const char *wx = el(f->w, w_offset(d, l, dir), es), *wh = el(wx, gh * in, es);
    const char *bx = el(f->w, b_offset(d, l, dir), es), *bh = el(bx, gh, es);
    const char *h0 = el(f->hx, sl * N * H, es);
    char *rs = el(f->out[3].data, rs_gates(d, l, dir), es);
    bool gru = d->mode == RNN_GRU;
    fwd_step s = {.n = N, .h = H, .hh = f->hh, .c = f->c, .ldy = dh, .relu = d->mode == RNN_RELU,
                  .clip = d->clip, .clip_nan = d->clip_nan, .lo = d->lo, .hi = d->hi};

    k->gemm(false, true, T * N, gh, in, x, in, wx, in, 0.0, f->gx, gh);
    k->add_bias(f->gx, T * N, gh, bx, gru ? NULL : bh);
    if (d->mode == RNN_LSTM) k->put(f->c, H, el(f->cx, sl * N * H, es), H, N, H, AM_REQ_WRITE);
    for (int64_t i = 0; i < T; i++) {
        int64_t t = dir ? T - 1 - i : i, tp = dir ? t + 1 : t - 1;
        s.hp = i ? el(y, tp * N * dh + dir * H, es) : h0;
        s.ldp = i ? dh : H;
        s.g = el(f->gx, t * N * gh, es);
        s.y = el(y, t * N * dh + dir * H, es);
        if (gru) {
            k->gemm(false, true, N, gh, H, s.hp, s.ldp, wh, H, 0.0, f->hh, gh);
            k->add_bias(f->hh, N, gh, bh, NULL);
        } else {
            k->gemm(false, true, N, gh, H, s.hp, s.ldp, wh, H, 1.0, s.g, gh);
        }
        k->fwd[d->mode](&s);
        save_step(f, el(rs, t * N * d->S * H, es), s.g);
    }
    if (T) k->put(el(f->out[1].data, sl * N * H, es), H, el(y, t_end * N * dh + dir * H, es),
                  dh, N, H, f->req[1]);
    else k->put(el(f->out[1].data, sl * N * H, es), H, h0, H, N, H, f->req[1]);
    if (d->mode == RNN_LSTM)
        k->put(el(f->out[2].data, sl * N * H, es), H, f->c, H, N, H, f->req[2]);
}

/* Runs the layers bottom-up; every layer's output lands in the reserve, the last in out. */
static void rnn_forward(rnn_run *f, const char *x, uint64_t *rng, bool training)
{
    const rnn_dims *d = f->d;
    const rnn_kernels *k = f->k;
    int64_t ny = y_size(d), dh = d->D * d->H, rows = d->T * d->N;
    for (int64_t l = 0; l < d->L; l++) {
        char *y = f->ybuf[l % 2];
        for (int64_t dir = 0; dir < d->D; dir++) forward_dir(f, l, dir, x, y);
        k->put(el(f->out[3].data, rs_y(d, l), f->es), dh, y, dh, rows, dh, f->req[3]);
        if (l == d->L - 1) {
            k->put(f->out[0].data, dh, y, dh, rows, dh, f->req[0]);
        } else if (d->dropout) { /* the next layer's buffer is free: draw the mask there */
            char *m = f->ybuf[(l + 1) % 2];
            k->draw(m, ny, d->p, rng, training);
            k->put(el(f->out[3].data, rs_mask(d, l + 1), f->es), dh, m, dh, rows, dh, f->req[3]);
            k->mul(y, m, ny);
        }
        x = y;
    }
}

static const rnn_kernels *kernels_for(am_dtype t)
{
    if (t == AM_DTYPE_FLOAT32) return &kernels_f32;
    if (t == AM_DTYPE_FLOAT64) return &kernels_f64;
    am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)", am_dtype_name(t));
    return NULL;
}

static am_shape view_shape(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int i = 0; i < v->ndim; i++) s.dim[i] = v->dim[i];
    return s;
}

/* Checks the workspace and splits it into n pieces of the given element counts. */
static am_status carve(const am_kernel_ctx *ctx, size_t es, int64_t total, char **const *parts,
                       const int64_t *counts, int n)
{
    if ((size_t)total * es > ctx->workspace_bytes)
        return am_fail(AM_ERR_INTERNAL, "workspace of %zu bytes is too small (%zu needed)",
                       ctx->workspace_bytes, (size_t)total * es);
    char *p = ctx->workspace;
    for (int i = 0; i < n; i++) {
        *parts[i] = p;
        p = el(p, counts[i], es);
    }
    return AM_OK;
}

static am_status rnn_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    rnn_dims d;
    am_shape ds = view_shape(&in[0]);
    am_status st = dims_make(attrs, &ds, &d);
    const rnn_kernels *k = st == AM_OK ? kernels_for(in[0].dtype) : NULL;
    if (!k) return am_last_status();
    rnn_run f = {.d = &d, .k = k, .es = am_dtype_size(in[0].dtype), .w = in[1].data,
                 .hx = in[2].data, .cx = d.mode == RNN_LSTM ? in[3].data : NULL, .out = out,
                 .req = req};
    int64_t ny = y_size(&d), gh = d.G * d.H;
    const int64_t counts[] = {ny, d.L > 1 ? ny : 0, d.T * d.N * gh, d.N * gh, d.N * d.H};
    char **parts[] = {&f.ybuf[0], &f.ybuf[1], &f.gx, &f.hh, &f.c};
    if ((st = carve(ctx, f.es, fwd_ws_count(&d), parts, counts, 5)) != AM_OK) return st;
    rnn_forward(&f, in[0].data, ctx->rng, ctx->training);
    return AM_OK;
}

/* ---- backward ----------------------------------------------------------------------------- */

/* Adds layer l, direction dir's weight gradients: dW_i2h += dG^T x, dW_h2h += dGh^T h_{t-1},
 * and the bias gradients. */
static void weight_grads(const rnn_run *b, int64_t l, int64_t dir, const char *x, const char *y)
{
    const rnn_dims *d = b->d;
    const rnn_kernels *k = b->k;
    size_t es = b->es;
    int64_t T = d->T, N = d->N, H = d->H, gh = d->G * H, dh = d->D * H, in = in_size(d, l);
    int64_t sl = l * d->D + dir, rows = T * N;
    char *dwx = el(b->dw, w_offset(d, l, dir), es), *dwh = el(dwx, gh * in, es);
    char *dbx = el(b->dw, b_offset(d, l, dir), es), *dbh = el(dbx, gh, es);
    const char *dgh = d->mode == RNN_GRU ? b->dgh : b->dg, *h0 = el(b->hx, sl * N * H, es);
    k->gemm(true, false, gh, in, rows, b->dg, gh, x, in, 1.0, dwx, in);
    if (T) { /* h_{t-1} is y one step earlier in the direction's order, h0 at its start */
        int64_t first = dir ? T - 1 : 0, later = dir ? 0 : 1, prev = dir ? 1 : 0;
        k->gemm(true, false, gh, H, (T - 1) * N, el(dgh, later * N * gh, es), gh,
                el(y, prev * N * dh + dir * H, es), dh, 1.0, dwh, H);
        k->gemm(true, false, gh, H, N, el(dgh, first * N * gh, es), gh, h0, H, 1.0, dwh, H);
    }
    k->colsum(dbx, b->dg, rows, gh);
    k->colsum(dbh, dgh, rows, gh);
}

/* BPTT through layer l, direction dir, given dy = dL/d(layer output); leaves the gate
 * gradients in dg (and dgh) and writes the initial-state gradients. */
static void backward_dir(const rnn_run *b, int64_t l, int64_t dir, const char *dy)
{
    const rnn_dims *d = b->d;
    const rnn_kernels *k = b->k;
    size_t es = b->es;
    int64_t T = d->T, N = d->N, H = d->H, gh = d->G * H, dh = d->D * H, sh = d->S * H;
    int64_t sl = l * d->D + dir;
    const char *wh = el(b->w, w_offset(d, l, dir) + gh * in_size(d, l), es);
    const char *y = el(b->rs, rs_y(d, l), es), *grs = el(b->rs, rs_gates(d, l, dir), es);
    bool lstm = d->mode == RNN_LSTM, gru = d->mode == RNN_GRU;
    bwd_step s = {.n = N, .h = H, .ldy = dh, .dh = b->dh, .dc = b->dc,
                  .relu = d->mode == RNN_RELU, .clip = d->clip, .lo = d->lo, .hi = d->hi};

    k->put(b->dh, H, el(b->dhy, sl * N * H, es), H, N, H, AM_REQ_WRITE);
    if (lstm) k->put(b->dc, H, el(b->dcy, sl * N * H, es), H, N, H, AM_REQ_WRITE);
    for (int64_t i = T - 1; i >= 0; i--) {
        int64_t t = dir ? T - 1 - i : i, tp = dir ? t + 1 : t - 1;
        s.rs = el(grs, t * N * sh, es);
        if (lstm) s.cp = i ? el(grs, tp * N * sh + 4 * H, es) : el(b->cx, sl * N * H, es);
        s.ldc = i ? sh : H;
        s.hp = i ? el(y, tp * N * dh + dir * H, es) : el(b->hx, sl * N * H, es);
        s.ldp = i ? dh : H;
        s.y = el(y, t * N * dh + dir * H, es);
        s.dy = el(dy, t * N * dh + dir * H, es);
        s.dg = el(b->dg, t * N * gh, es);
        s.dgh = gru ? el(b->dgh, t * N * gh, es) : NULL;
        k->bwd[d->mode](&s);
        /* dL/dh_{t-1}: gru keeps z dh_t in dh and adds to it */
        k->gemm(false, false, N, H, gh, gru ? s.dgh : s.dg, gh, wh, H, gru ? 1.0 : 0.0, b->dh, H);
    }
    k->put(el(b->out[2].data, sl * N * H, es), H, b->dh, H, N, H, b->req[2]);
    if (lstm) k->put(el(b->out[3].data, sl * N * H, es), H, b->dc, H, N, H, b->req[3]);
}

/* The input of layer l as the forward saw it: data, or the layer below's output (masked). */
static const char *layer_input(const rnn_run *b, int64_t l, const char *data)
{
    const rnn_dims *d = b->d;
    if (l == 0) return data;
    const char *y = el(b->rs, rs_y(d, l - 1), b->es);
    if (!d->dropout) return y;
    int64_t dh = d->D * d->H;
    b->k->put(b->xm, dh, y, dh, d->T * d->N, dh, AM_REQ_WRITE);
    b->k->mul(b->xm, el(b->rs, rs_mask(d, l), b->es), y_size(d));
    return b->xm;
}

/* Runs the layers top-down; dx of layer l is dy of layer l-1 (through its dropout mask). */
static void rnn_backward(rnn_run *b, const char *data, const char *dout)
{
    const rnn_dims *d = b->d;
    const rnn_kernels *k = b->k;
    int64_t rows = d->T * d->N, gh = d->G * d->H;
    const char *dy = dout;
    if (b->req[1] != AM_REQ_NULL) {
        b->dw = b->out[1].data;
        if (b->req[1] != AM_REQ_ADD) memset(b->dw, 0, (size_t)param_count(d) * b->es);
    }
    for (int64_t l = d->L - 1; l >= 0; l--) {
        int64_t in = in_size(d, l);
        const char *x = layer_input(b, l, data);
        char *dx = l ? b->dybuf[(d->L - 1 - l) % 2] : b->req[0] != AM_REQ_NULL ? b->out[0].data
                                                                             : NULL;
        for (int64_t dir = 0; dir < d->D; dir++) {
            const char *wx = el(b->w, w_offset(d, l, dir), b->es);
            double beta = dir || (l == 0 && b->req[0] == AM_REQ_ADD) ? 1.0 : 0.0;
            backward_dir(b, l, dir, dy);
            if (b->dw) weight_grads(b, l, dir, x, el(b->rs, rs_y(d, l), b->es));
            if (dx) k->gemm(false, false, rows, in, gh, b->dg, gh, wx, in, beta, dx, in);
        }
        if (l && d->dropout) k->mul(dx, el(b->rs, rs_mask(d, l), b->es), y_size(d));
        dy = dx;
    }
}

static am_status rnn_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                  int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    rnn_dims d;
    am_shape ds = view_shape(&in[BW_DATA]);
    am_status st = dims_make(attrs, &ds, &d);
    const rnn_kernels *k = st == AM_OK ? kernels_for(in[0].dtype) : NULL;
    if (!k) return am_last_status();
    bool lstm = d.mode == RNN_LSTM;
    rnn_run b = {.d = &d, .k = k, .es = am_dtype_size(in[0].dtype), .w = in[BW_PARAMS].data,
                 .hx = in[BW_STATE].data, .cx = lstm ? in[BW_CELL].data : NULL,
                 .rs = in[BW_RESERVE].data, .dhy = in[BW_DHY].data,
                 .dcy = lstm ? in[BW_DCY].data : NULL, .out = out, .req = req};
    int64_t ny = y_size(&d), g = d.T * d.N * d.G * d.H, nh = d.N * d.H;
    const int64_t counts[] = {d.L > 1 ? ny : 0, d.L > 2 ? ny : 0, d.dropout ? ny : 0, g, g, nh, nh};
    char **parts[] = {&b.dybuf[0], &b.dybuf[1], &b.xm, &b.dg, &b.dgh, &b.dh, &b.dc};
    if ((st = carve(ctx, b.es, bwd_ws_count(&d), parts, counts, 7)) != AM_OK) return st;
    rnn_backward(&b, in[BW_DATA].data, in[BW_DOUT].data);
    return AM_OK;
}

/* ---- registry entries --------------------------------------------------------------------- */

const am_op_def am_op_backward_rnn;

/* One _backward_RNN call gives the gradients of data, parameters and the initial states. */
static am_status rnn_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    bool lstm = ((const rnn_attrs *)g->attrs)->mode == RNN_LSTM;
    am_array *bin[8] = {in[0], in[1], in[2], out[3], og[0], og[1]}, *res[4] = {0};
    if (lstm) bin[BW_CELL] = in[3], bin[BW_DCY] = og[2];
    am_status st = am_op_call(&am_op_backward_rnn, g->attrs, bin, lstm ? 8 : 6, res,
                              lstm ? 4 : 3, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < g->n_in; i++)
        if (g->need_grad[i]) ig[i] = res[i];
    return AM_OK;
}

/* AM_OP_RANDOM: with p > 0 in training the op draws dropout masks, so two calls with the
 * same inputs must not be merged or folded. */
const am_op_def am_op_rnn = {
    .name = "RNN", .input_names = rnn_input_names, .num_inputs = rnn_num_inputs,
    .num_outputs = 4, .num_visible = rnn_visible, .attrs = rnn_fields,
    .attrs_size = sizeof(rnn_attrs), .infer_shape = rnn_shape, .infer_dtype = rnn_dtype,
    .temp_bytes = rnn_temp, .cpu = rnn_cpu, .gradient = rnn_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_VARIADIC | AM_OP_NEEDS_TEMP | AM_OP_RANDOM,
    .doc = "Fused multi-layer rnn_relu/rnn_tanh/lstm/gru over data (T, N, I) with MXNet's packed "
           "parameters; outputs (out, hy, cy, reserve), cy (0,) unless lstm."};

const am_op_def am_op_backward_rnn = {
    .name = "_backward_RNN", .input_names = rnn_backward_input_names,
    .num_inputs = rnn_backward_num_inputs, .num_outputs = 4, .num_visible = rnn_backward_visible,
    .attrs = rnn_fields, .attrs_size = sizeof(rnn_attrs), .infer_shape = rnn_backward_shape,
    .infer_dtype = rnn_dtype, .temp_bytes = rnn_backward_temp, .cpu = rnn_backward_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC | AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Gradients of RNN's data, parameters, state and state_cell (lstm) by BPTT over the "
           "forward's reserve."};

/* Errors raised by the C wrapper before dispatch, named like dispatch errors. */
static am_status wrapper_fail(am_site at, am_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    am_err_ctx c;
    am_err_push(&c, "RNN", at);
    am_fail(code, "%s", msg);
    am_err_pop(&c);
    return code;
}

am_status am_rnn_at(am_array *data, am_array *params, am_array *state, am_array *state_cell,
                    const char *mode, int64_t state_size, int64_t num_layers, bool bidirectional,
                    bool state_outputs, am_array **out, am_site at)
{
    rnn_attrs a;
    am_attrs_init(&am_op_rnn, &a);
    a.state_size = state_size, a.num_layers = num_layers;
    a.bidirectional = bidirectional, a.state_outputs = state_outputs;
    a.mode = -1;
    for (int i = 0; mode && rnn_modes[i]; i++)
        if (strcmp(mode, rnn_modes[i]) == 0) a.mode = i;
    if (!out) return wrapper_fail(at, AM_ERR_ARG, "out is NULL");
    if (a.mode < 0)
        return wrapper_fail(at, AM_ERR_ARG, "mode '%s' is not one of rnn_relu, rnn_tanh, lstm, gru",
                            mode ? mode : "(null)");
    bool lstm = a.mode == RNN_LSTM;
    if (lstm && !state_cell && data && params && state) {
        if (am_last_status() != AM_OK) return am_last_status(); /* keep the first failure */
        return wrapper_fail(at, AM_ERR_ARG, "mode lstm needs state_cell (the initial cell state)");
    }
    if (!lstm && state_cell)
        return wrapper_fail(at, AM_ERR_ARG, "state_cell is taken by mode lstm only, not %s", mode);
    am_array *in[4] = {data, params, state, state_cell};
    return am_op_call(&am_op_rnn, &a, in, lstm ? 4 : 3, out, rnn_visible(&a), at);
}
