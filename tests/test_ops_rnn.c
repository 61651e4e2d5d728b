/* The ops_rnn suite: the fused RNN op and _backward_RNN against hand-computed cells and
 * a naive double implementation written from the cell equations (forward by loops,
 * gradients by central differences of that forward), dropout, clipping, the request
 * modes, edge shapes and errors. */
#include "test_util.h"

enum { M_RELU, M_TANH, M_LSTM, M_GRU };
static const char *const mode_names[] = {"rnn_relu", "rnn_tanh", "lstm", "gru"};

typedef struct cfg {
    int mode, L, D, T, N, I, H;
    double p;           /* dropout attribute */
    bool clip;
    double lo, hi;
    am_dtype dtype;
} cfg;

static int gates(int mode) { return mode == M_LSTM ? 4 : mode == M_GRU ? 3 : 1; }

/* MXNet's GetRnnParamSize. */
static int64_t param_count(const cfg *c)
{
    int64_t size = (int64_t)gates(c->mode) * c->H * c->D;
    return (c->I + c->H + 2) * size + (c->L - 1) * (c->D * c->H + c->H + 2) * size;
}

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* ---- the naive reference ----------------------------------------------------------------- */

#define REF_MAX_H 128

/* One step of one direction for batch row n: h (and c) updated in place from input xt.
 * wx (G*H, in) and wh (G*H, H) row-major, gate blocks in MXNet's order. */
static void ref_cell(const cfg *c, int in, const double *xt, const double *wx, const double *wh,
                     const double *bx, const double *bh, double *h, double *cell)
{
    int H = c->H, G = gates(c->mode);
    double hn[REF_MAX_H], cn[REF_MAX_H];
    AM_ASSERT(H <= REF_MAX_H);
    for (int k = 0; k < H; k++) {
        double a[4], b[4];
        for (int q = 0; q < G; q++) {
            a[q] = bx[q * H + k], b[q] = bh[q * H + k];
            for (int j = 0; j < in; j++) a[q] += wx[(q * H + k) * in + j] * xt[j];
            for (int j = 0; j < H; j++) b[q] += wh[(q * H + k) * H + j] * h[j];
        }
        if (c->mode == M_RELU) {
            hn[k] = fmax(a[0] + b[0], 0);
        } else if (c->mode == M_TANH) {
            hn[k] = tanh(a[0] + b[0]);
        } else if (c->mode == M_LSTM) {
            double i = sigm(a[0] + b[0]), f = sigm(a[1] + b[1]);
            double g = tanh(a[2] + b[2]), o = sigm(a[3] + b[3]);
            cn[k] = f * cell[k] + i * g;
            if (c->clip) cn[k] = cn[k] < c->lo ? c->lo : cn[k] > c->hi ? c->hi : cn[k];
            hn[k] = o * tanh(cn[k]);
        } else {
            double r = sigm(a[0] + b[0]), z = sigm(a[1] + b[1]);
            double n = tanh(a[2] + r * b[2]);
            hn[k] = (1 - z) * n + z * h[k];
        }
    }
    for (int k = 0; k < H; k++) {
        h[k] = hn[k];
        if (c->mode == M_LSTM) cell[k] = cn[k];
    }
}

/* The stacked network: x (T, N, I), w packed, h0/c0 (L*D, N, H); masks (L-1 blocks of
 * T*N*D*H) multiply each layer's output but the last, NULL for none. */
static void ref_forward(const cfg *c, const double *x, const double *w, const double *h0,
                        const double *c0, const double *masks, double *out, double *hy,
                        double *cy)
{
    int T = c->T, N = c->N, H = c->H, D = c->D, G = gates(c->mode), in = c->I;
    int64_t ny = (int64_t)T * N * D * H;
    const double *wx[8][2], *wh[8][2], *bx[8][2], *bh[8][2], *p = w;
    for (int l = 0; l < c->L; l++)
        for (int d = 0; d < D; d++) {
            int li = l ? D * H : c->I;
            wx[l][d] = p, p += G * H * li;
            wh[l][d] = p, p += G * H * H;
        }
    for (int l = 0; l < c->L; l++)
        for (int d = 0; d < D; d++) bx[l][d] = p, bh[l][d] = p + G * H, p += 2 * G * H;
    double *xin = malloc((size_t)(T * N * (in > D * H ? in : D * H) + 1) * sizeof(double));
    double *y = malloc((size_t)(ny + 1) * sizeof(double)), h[REF_MAX_H], cell[REF_MAX_H];
    memcpy(xin, x, (size_t)T * N * in * sizeof(double));
    for (int l = 0; l < c->L; l++) {
        for (int d = 0; d < D; d++)
            for (int n = 0; n < N; n++) {
                int64_t s0 = ((int64_t)(l * D + d) * N + n) * H;
                memcpy(h, h0 + s0, (size_t)H * sizeof(double));
                if (c0) memcpy(cell, c0 + s0, (size_t)H * sizeof(double));
                for (int s = 0; s < T; s++) {
                    int t = d ? T - 1 - s : s;
                    ref_cell(c, in, xin + ((int64_t)t * N + n) * in, wx[l][d], wh[l][d],
                             bx[l][d], bh[l][d], h, cell);
                    for (int k = 0; k < H; k++) y[((int64_t)t * N + n) * D * H + d * H + k] = h[k];
                }
                memcpy(hy + s0, h, (size_t)H * sizeof(double));
                if (cy) memcpy(cy + s0, cell, (size_t)H * sizeof(double));
            }
        in = D * H;
        bool drop = masks && l < c->L - 1;
        for (int64_t i = 0; i < ny; i++) xin[i] = drop ? y[i] * masks[l * ny + i] : y[i];
    }
    memcpy(out, y, (size_t)ny * sizeof(double));
    free(xin);
    free(y);
}

/* Inputs as plain doubles, outputs of the reference and the loss weights. */
typedef struct ref_io {
    double *in[4];      /* data, parameters, state, state_cell */
    int64_t n_in[4];
    double *out[3], *wt[3];
    int64_t n_out[3];
} ref_io;

static void ref_alloc(const cfg *c, ref_io *r)
{
    int64_t st = (int64_t)c->L * c->D * c->N * c->H;
    int64_t n_in[4] = {(int64_t)c->T * c->N * c->I, param_count(c), st, st};
    int64_t n_out[3] = {(int64_t)c->T * c->N * c->D * c->H, st, st};
    for (int i = 0; i < 4; i++) r->n_in[i] = n_in[i];
    for (int i = 0; i < 3; i++) r->n_out[i] = n_out[i];
    for (int i = 0; i < 4; i++) r->in[i] = calloc((size_t)n_in[i] + 1, sizeof(double));
    for (int i = 0; i < 3; i++) r->out[i] = calloc((size_t)n_out[i] + 1, sizeof(double));
    for (int i = 0; i < 3; i++) r->wt[i] = calloc((size_t)n_out[i] + 1, sizeof(double));
}

static void ref_free(ref_io *r)
{
    for (int i = 0; i < 4; i++) free(r->in[i]);
    for (int i = 0; i < 3; i++) free(r->out[i]), free(r->wt[i]);
}

/* Runs the reference; returns sum_k out_k . wt_k. */
static double ref_loss(const cfg *c, ref_io *r, const double *masks)
{
    bool lstm = c->mode == M_LSTM;
    ref_forward(c, r->in[0], r->in[1], r->in[2], lstm ? r->in[3] : NULL, masks, r->out[0],
                r->out[1], lstm ? r->out[2] : NULL);
    double s = 0;
    for (int k = 0; k < (lstm ? 3 : 2); k++)
        for (int64_t i = 0; i < r->n_out[k]; i++) s += r->out[k][i] * r->wt[k][i];
    return s;
}

/* d loss / d input i by central differences of the reference. */
static void ref_grad(const cfg *c, ref_io *r, int i, const double *masks, double *g)
{
    const double eps = 1e-5;
    for (int64_t j = 0; j < r->n_in[i]; j++) {
        double x0 = r->in[i][j];
        r->in[i][j] = x0 + eps;
        double fp = ref_loss(c, r, masks);
        r->in[i][j] = x0 - eps;
        double fm = ref_loss(c, r, masks);
        r->in[i][j] = x0;
        g[j] = (fp - fm) / (2 * eps);
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */

static am_array *from_doubles(const double *v, int64_t n, am_shape s, am_dtype t)
{
    am_array *x = am_empty(s, t);
    am_view w = am_array_view(x);
    for (int64_t i = 0; i < n; i++) am_view_set(&w, i, v[i]);
    return x;
}

static void to_doubles(am_array *x, double *v)
{
    am_view w = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&w); i++) v[i] = am_view_get(&w, i);
}

/* |a - b| <= atol + rtol |b| everywhere; prints the first mismatch. */
static bool close_to(const char *what, const cfg *c, am_array *a, const double *b, int64_t n,
                     double atol, double rtol)
{
    if (!a) {
        printf("\n  %s: NULL (%s)\n", what, am_last_error());
        return false;
    }
    am_view v = am_array_view(a);
    if (am_view_size(&v) != n) {
        printf("\n  %s: %lld elements, expected %lld\n", what, (long long)am_view_size(&v),
               (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = am_view_get(&v, i);
        if (!(fabs(x - b[i]) <= atol + rtol * fabs(b[i]))) {
            printf("\n  %s %s L=%d D=%d T=%d %s: element %lld is %.10g, expected %.10g\n", what,
                   mode_names[c->mode], c->L, c->D, c->T, am_dtype_name(c->dtype),
                   (long long)i, x, b[i]);
            return false;
        }
    }
    return true;
}

/* Attribute strings for c, state_outputs on. */
typedef struct cfg_attrs {
    const char *k[12], *v[12];
    char buf[12][32];
    int n;
} cfg_attrs;

static void attr_add(cfg_attrs *a, const char *k, const char *fmt, double v)
{
    snprintf(a->buf[a->n], sizeof(a->buf[0]), fmt, v);
    a->k[a->n] = k, a->v[a->n] = a->buf[a->n], a->n++;
}

static void make_attrs(const cfg *c, cfg_attrs *a)
{
    a->n = 0;
    attr_add(a, "state_size", "%.0f", c->H);
    attr_add(a, "num_layers", "%.0f", c->L);
    a->k[a->n] = "mode", a->v[a->n++] = mode_names[c->mode];
    a->k[a->n] = "bidirectional", a->v[a->n++] = c->D == 2 ? "True" : "False";
    a->k[a->n] = "state_outputs", a->v[a->n++] = "True";
    if (c->p > 0) attr_add(a, "p", "%g", c->p);
    if (c->clip) {
        attr_add(a, "lstm_state_clip_min", "%g", c->lo);
        attr_add(a, "lstm_state_clip_max", "%g", c->hi);
    }
}

static int n_inputs(const cfg *c) { return c->mode == M_LSTM ? 4 : 3; }

/* Amber arrays for the reference inputs, in c's dtype. */
static void amber_inputs(const cfg *c, const ref_io *r, am_array **in)
{
    am_shape s[4] = {AM_SHAPE(c->T, c->N, c->I), AM_SHAPE(param_count(c)),
                     AM_SHAPE(c->L * c->D, c->N, c->H), AM_SHAPE(c->L * c->D, c->N, c->H)};
    for (int i = 0; i < n_inputs(c); i++)
        in[i] = from_doubles(r->in[i], r->n_in[i], s[i], c->dtype);
}

/* Random reference inputs (parameters in +-pspan) and loss weights. */
static void ref_random(ref_io *r, double pspan)
{
    double span[4] = {1, pspan, 1, 1};
    for (int i = 0; i < 4; i++)
        for (int64_t j = 0; j < r->n_in[i]; j++)
            r->in[i][j] = span[i] * (2 * am_rng_uniform01(am_rng_state()) - 1);
    for (int k = 0; k < 3; k++)
        for (int64_t j = 0; j < r->n_out[k]; j++)
            r->wt[k][j] = 2 * am_rng_uniform01(am_rng_state()) - 1;
}

/* Forward and gradients of the Amber op against the reference. */
static void check_against_reference(const cfg *c)
{
    ref_io r;
    bool lstm = c->mode == M_LSTM;
    int nvis = lstm ? 3 : 2, nin = n_inputs(c);
    bool f64 = c->dtype == AM_DTYPE_FLOAT64;
    double ftol = f64 ? 1e-12 : 2e-6, gatol = f64 ? 1e-7 : 1e-4, grtol = f64 ? 1e-6 : 1e-4;
    cfg_attrs a;
    ref_alloc(c, &r);
    ref_random(&r, 0.6);
    make_attrs(c, &a);
    am_scope_begin();
    am_array *in[4], *out[3] = {0}, *wt[3], *g[4] = {0};
    amber_inputs(c, &r, in);
    for (int i = 0; i < nin; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_status st = am_invoke("RNN", in, nin, a.k, a.v, a.n, out, nvis);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    for (int k = 0; k < nvis; k++)
        wt[k] = from_doubles(r.wt[k], r.n_out[k], am_array_shape(out[k]), c->dtype);
    CU_ASSERT_EQUAL(am_grad_of(out, wt, nvis, in, nin, false, false, g), AM_OK);
    ref_loss(c, &r, NULL);
    const char *names[] = {"out", "hy", "cy"}, *gnames[] = {"d data", "d parameters", "d state",
                                                             "d state_cell"};
    for (int k = 0; k < nvis; k++)
        CU_ASSERT(close_to(names[k], c, out[k], r.out[k], r.n_out[k], ftol, ftol));
    for (int i = 0; i < nin; i++) {
        double *num = malloc((size_t)(r.n_in[i] + 1) * sizeof(double));
        ref_grad(c, &r, i, NULL, num);
        CU_ASSERT(close_to(gnames[i], c, g[i], num, r.n_in[i], gatol, grtol));
        free(num);
    }
    am_scope_end();
    ref_free(&r);
}

/* The key test: every mode, 1 and 2 layers, uni- and bidirectional, T in {1, 3}. */
static void test_rnn_reference(void)
{
    am_seed(11);
    for (int mode = 0; mode < 4; mode++)
        for (int L = 1; L <= 2; L++)
            for (int D = 1; D <= 2; D++)
                for (int T = 1; T <= 3; T += 2) {
                    cfg c = {.mode = mode, .L = L, .D = D, .T = T, .N = 2, .I = 3, .H = 3,
                             .dtype = AM_DTYPE_FLOAT64};
                    check_against_reference(&c);
                    c.dtype = AM_DTYPE_FLOAT32;
                    check_against_reference(&c);
                }
}

/* ---- hand-computed cells ------------------------------------------------------------------ */

/* Runs RNN with state_outputs on float64 inputs given as value lists. */
static am_status run_rnn(const char *mode, int H, int L, bool bi, am_array **in, am_array **out)
{
    const char *k[] = {"state_size", "num_layers", "mode", "bidirectional", "state_outputs"};
    char hs[16], ls[16];
    snprintf(hs, sizeof(hs), "%d", H), snprintf(ls, sizeof(ls), "%d", L);
    const char *v[] = {hs, ls, mode, bi ? "True" : "False", "True"};
    bool lstm = strcmp(mode, "lstm") == 0;
    return am_invoke("RNN", in, lstm ? 4 : 3, k, v, 5, out, lstm ? 3 : 2);
}

/* One unit, one input: the packing is [W_i2h, W_h2h, b_i2h, b_h2h]. */
static void test_rnn_hand_vanilla(void)
{
    am_scope_begin();
    am_array *in[3] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 1), 1.0, -2.0),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(4), 0.5, -0.4, 0.1, 0.2),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), 0.3)};
    am_array *out[2];
    double h1 = tanh(0.5 * 1.0 + 0.1 - 0.4 * 0.3 + 0.2);
    double h2 = tanh(0.5 * -2.0 + 0.1 - 0.4 * h1 + 0.2);
    CU_ASSERT_EQUAL_FATAL(run_rnn("rnn_tanh", 1, 1, false, in, out), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 1, 1), 1e-12, h1, h2);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 1, 1), 1e-12, h2);
    /* relu: 0.68 passes, -1.0 + 0.1 - 0.4 * 0.68 + 0.2 = -0.972 is cut */
    CU_ASSERT_EQUAL_FATAL(run_rnn("rnn_relu", 1, 1, false, in, out), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 1, 1), 1e-12, 0.68, 0.0);
    am_scope_end();
}

/* LSTM gates in the order i, f, g, o in every block. */
static void test_rnn_hand_lstm(void)
{
    am_scope_begin();
    am_array *in[4] = {
        tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), 1.0),
        tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(16), 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.01,
                 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08),
        tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), 0.5),
        tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), -0.3)};
    am_array *out[3];
    double i = sigm(0.1 + 0.5 * 0.5 + 0.01 + 0.05), f = sigm(0.2 + 0.6 * 0.5 + 0.02 + 0.06);
    double g = tanh(0.3 + 0.7 * 0.5 + 0.03 + 0.07), o = sigm(0.4 + 0.8 * 0.5 + 0.04 + 0.08);
    double c = f * -0.3 + i * g, h = o * tanh(c);
    CU_ASSERT_EQUAL_FATAL(run_rnn("lstm", 1, 1, false, in, out), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1, 1, 1), 1e-12, h);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 1, 1), 1e-12, h);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(1, 1, 1), 1e-12, c);
    am_scope_end();
}

/* GRU as MXNet (and cuDNN) write it: the reset gate scales W_hn h + b_hn. */
static void test_rnn_hand_gru(void)
{
    am_scope_begin();
    am_array *in[3] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), 1.0),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(12), 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                                0.01, 0.02, 0.03, 0.04, 0.05, 0.06),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1, 1), 0.5)};
    am_array *out[2];
    double r = sigm(0.1 + 0.01 + 0.4 * 0.5 + 0.04), z = sigm(0.2 + 0.02 + 0.5 * 0.5 + 0.05);
    double n = tanh(0.3 + 0.03 + r * (0.6 * 0.5 + 0.06)), h = (1 - z) * n + z * 0.5;
    CU_ASSERT_EQUAL_FATAL(run_rnn("gru", 1, 1, false, in, out), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1, 1, 1), 1e-12, h);
    am_scope_end();
}

/* Bidirectional: [Wx_f, Wh_f, Wx_b, Wh_b, bx_f, bh_f, bx_b, bh_b]; the backward direction
 * starts at the last step from state row 1 and fills column 1 of out. */
static void test_rnn_hand_bidirectional(void)
{
    am_scope_begin();
    am_array *in[3] = {tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 1), 1.0, -1.0),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(8), 0.5, 0.25, -0.5, 0.75, 0.1, 0.0,
                                0.2, -0.1),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 1), 0.3, -0.6)};
    am_array *out[2];
    double f0 = tanh(0.5 * 1.0 + 0.25 * 0.3 + 0.1), f1 = tanh(0.5 * -1.0 + 0.25 * f0 + 0.1);
    double b1 = tanh(-0.5 * -1.0 + 0.75 * -0.6 + 0.2 - 0.1);
    double b0 = tanh(-0.5 * 1.0 + 0.75 * b1 + 0.2 - 0.1);
    CU_ASSERT_EQUAL_FATAL(run_rnn("rnn_tanh", 1, 1, true, in, out), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 1, 2), 1e-12, f0, b0, f1, b1);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(2, 1, 1), 1e-12, f1, b0);
    am_scope_end();
}

/* ---- direct kernel calls: the reserve, training, requests -------------------------------- */

/* Calls op's kernel on outputs from its shape inference (hidden ones included); out[i]
 * NULL is allocated as zeros, else written as req[i] says. */
static am_status call_kernel(const char *name, const cfg *c, am_array **in, int n_in,
                             am_array **out, const am_req *req, bool training)
{
    const am_op_def *op = am_op_find(name);
    cfg_attrs a;
    make_attrs(c, &a);
    void *attrs = am_attrs_parse(op, a.k, a.v, a.n);
    am_shape ish[8], osh[4];
    am_dtype ity[8], oty[4];
    am_view vin[8], vout[4];
    for (int i = 0; i < n_in; i++) ish[i] = am_array_shape(in[i]), ity[i] = am_array_dtype(in[i]);
    for (int i = 0; i < 4; i++) osh[i].ndim = -1;
    am_status st = attrs ? op->infer_dtype(attrs, ity, n_in, oty, 4) : am_last_status();
    if (st == AM_OK) st = op->infer_shape(attrs, ish, n_in, osh, 4);
    if (st != AM_OK) goto out;
    for (int i = 0; i < n_in; i++) vin[i] = am_array_view(in[i]);
    for (int i = 0; i < 4; i++) {
        if (!out[i]) out[i] = am_zeros(osh[i], oty[i]);
        vout[i] = am_array_view(out[i]);
    }
    am_kernel_ctx ctx = {.device = am_cpu(), .training = training, .rng = am_rng_state()};
    ctx.workspace_bytes = op->temp_bytes(attrs, ish, n_in);
    ctx.workspace = am_host_alloc(ctx.workspace_bytes + 1);
    st = op->cpu(&ctx, attrs, vin, n_in, vout, 4, req);
    am_host_free(ctx.workspace);
out:
    free(attrs);
    return st;
}

static const am_req all_write[4] = {AM_REQ_WRITE, AM_REQ_WRITE, AM_REQ_WRITE, AM_REQ_WRITE};

/* Where the dropout masks start in the reserve (see ndarray/ops/rnn.c). */
static int64_t mask_offset(const cfg *c)
{
    int64_t saved = c->mode == M_LSTM ? 5 : c->mode == M_GRU ? 4 : 0;
    return (int64_t)c->L * c->T * c->N * c->D * c->H * (1 + saved);
}

/* In training the masks in the reserve are 0 or 1/(1-p), and out is the reference network
 * with those masks; outside training they are ones. */
static void test_rnn_dropout_forward(void)
{
    cfg c = {.mode = M_LSTM, .L = 3, .D = 2, .T = 3, .N = 4, .I = 3, .H = 4, .p = 0.5,
             .dtype = AM_DTYPE_FLOAT64};
    int64_t ny = (int64_t)c.T * c.N * c.D * c.H, nm = (c.L - 1) * ny, zeros = 0;
    ref_io r;
    ref_alloc(&c, &r);
    am_seed(3);
    ref_random(&r, 0.6);
    am_scope_begin();
    am_array *in[4], *out[4] = {0}, *plain[4] = {0};
    amber_inputs(&c, &r, in);
    CU_ASSERT_EQUAL_FATAL(call_kernel("RNN", &c, in, 4, out, all_write, true), AM_OK);
    CU_ASSERT_EQUAL(am_array_size(out[3]), mask_offset(&c) + nm);
    double *m = malloc((size_t)(mask_offset(&c) + nm) * sizeof(double)), *mk;
    to_doubles(out[3], m);
    mk = m + mask_offset(&c);
    for (int64_t i = 0; i < nm; i++) {
        CU_ASSERT(mk[i] == 0 || mk[i] == 2);
        zeros += mk[i] == 0;
    }
    CU_ASSERT(zeros > nm * 3 / 10 && zeros < nm * 7 / 10);
    ref_loss(&c, &r, mk);
    for (int k = 0; k < 3; k++)
        CU_ASSERT(close_to("dropout out", &c, out[k], r.out[k], r.n_out[k], 1e-12, 1e-12));
    CU_ASSERT_EQUAL_FATAL(call_kernel("RNN", &c, in, 4, plain, all_write, false), AM_OK);
    to_doubles(plain[3], m);
    for (int64_t i = 0; i < nm; i++) CU_ASSERT_EQUAL(mk[i], 1.0);
    ref_loss(&c, &r, NULL);
    for (int k = 0; k < 3; k++)
        CU_ASSERT(close_to("no dropout", &c, plain[k], r.out[k], r.n_out[k], 1e-12, 1e-12));
    free(m);
    am_scope_end();
    ref_free(&r);
}

/* Gradients through the dropout masks, against the reference with the same masks. */
static void test_rnn_dropout_gradient(void)
{
    cfg c = {.mode = M_GRU, .L = 2, .D = 2, .T = 3, .N = 2, .I = 3, .H = 3, .p = 0.4,
             .dtype = AM_DTYPE_FLOAT64};
    int64_t ny = (int64_t)c.T * c.N * c.D * c.H;
    ref_io r;
    cfg_attrs a;
    ref_alloc(&c, &r);
    am_seed(4);
    ref_random(&r, 0.6);
    make_attrs(&c, &a);
    am_scope_begin();
    am_array *in[3], *out[4] = {0}, *vis[2], *wt[2], *g[3];
    amber_inputs(&c, &r, in);
    am_seed(9); /* the kernel call and the recorded call draw the same masks */
    CU_ASSERT_EQUAL_FATAL(call_kernel("RNN", &c, in, 3, out, all_write, true), AM_OK);
    double *m = malloc((size_t)am_array_size(out[3]) * sizeof(double));
    to_doubles(out[3], m);
    for (int i = 0; i < 3; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_seed(9);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, 3, a.k, a.v, a.n, vis, 2), AM_OK);
    am_autograd_end();
    for (int k = 0; k < 2; k++) {
        CU_ASSERT(tu_allclose(vis[k], out[k], 0));
        wt[k] = from_doubles(r.wt[k], r.n_out[k], am_array_shape(vis[k]), c.dtype);
    }
    CU_ASSERT_EQUAL_FATAL(am_grad_of(vis, wt, 2, in, 3, false, false, g), AM_OK);
    for (int i = 0; i < 3; i++) {
        double *num = malloc((size_t)r.n_in[i] * sizeof(double));
        ref_grad(&c, &r, i, m + mask_offset(&c), num);
        CU_ASSERT(close_to("dropout gradient", &c, g[i], num, r.n_in[i], 1e-7, 1e-6));
        free(num);
    }
    int64_t dropped = 0;
    for (int64_t i = 0; i < ny; i++) dropped += m[mask_offset(&c) + i] == 0;
    CU_ASSERT(dropped > 0 && dropped < ny);
    free(m);
    am_scope_end();
    ref_free(&r);
}

/* Clipped cell states, and NaN handling with lstm_state_clip_nan. */
static void test_rnn_clip(void)
{
    cfg c = {.mode = M_LSTM, .L = 2, .D = 2, .T = 3, .N = 2, .I = 3, .H = 3, .clip = true,
             .lo = -0.2, .hi = 0.25, .dtype = AM_DTYPE_FLOAT64};
    am_seed(21);
    check_against_reference(&c);
    c.dtype = AM_DTYPE_FLOAT32;
    check_against_reference(&c);

    am_scope_begin();
    const char *k[] = {"state_size", "num_layers", "mode", "state_outputs",
                       "lstm_state_clip_min", "lstm_state_clip_max", "lstm_state_clip_nan"};
    const char *v[] = {"2", "1", "lstm", "True", "-0.5", "0.5", "True"};
    am_array *in[4] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 1), NAN),
                       tu_random(AM_SHAPE(40), AM_DTYPE_FLOAT32, -1, 1),
                       am_zeros(AM_SHAPE(1, 1, 2), AM_DTYPE_FLOAT32),
                       am_zeros(AM_SHAPE(1, 1, 2), AM_DTYPE_FLOAT32)};
    am_array *out[3];
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, 4, k, v, 7, out, 3), AM_OK);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(1, 1, 2), 0, -0.5, -0.5);
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, 4, k, v, 6, out, 3), AM_OK);
    CU_ASSERT(isnan(am_item(out[2], 0)) && isnan(am_item(out[2], 1)));
    am_scope_end();
}

/* AM_REQ_ADD adds the WRITE result onto every output (the registry skips RNN, which is
 * flagged random); AM_REQ_NULL leaves an output alone. */
static void test_rnn_requests(void)
{
    static const cfg cs[] = {
        {.mode = M_LSTM, .L = 2, .D = 2, .T = 3, .N = 2, .I = 3, .H = 2, .p = 0.3},
        {.mode = M_GRU, .L = 2, .D = 1, .T = 2, .N = 3, .I = 2, .H = 3},
        {.mode = M_RELU, .L = 1, .D = 2, .T = 3, .N = 2, .I = 4, .H = 2},
        {.mode = M_TANH, .L = 3, .D = 1, .T = 2, .N = 1, .I = 2, .H = 2,
         .dtype = AM_DTYPE_FLOAT64}};
    static const am_req add[4] = {AM_REQ_ADD, AM_REQ_ADD, AM_REQ_ADD, AM_REQ_ADD};
    for (size_t j = 0; j < sizeof(cs) / sizeof(cs[0]); j++) {
        cfg c = cs[j];
        if (!c.dtype) c.dtype = AM_DTYPE_FLOAT32;
        ref_io r;
        ref_alloc(&c, &r);
        ref_random(&r, 0.6);
        am_scope_begin();
        am_array *in[4], *w[4] = {0}, *base[4], *acc[4], *again[4] = {0};
        amber_inputs(&c, &r, in);
        CU_ASSERT_EQUAL_FATAL(call_kernel("RNN", &c, in, n_inputs(&c), w, all_write, false), AM_OK);
        for (int i = 0; i < 4; i++) {
            base[i] = tu_random(am_array_shape(w[i]), c.dtype, -1, 1);
            acc[i] = am_copy(base[i]);
        }
        CU_ASSERT_EQUAL_FATAL(call_kernel("RNN", &c, in, n_inputs(&c), acc, add, false), AM_OK);
        for (int i = 0; i < 4; i++)
            CU_ASSERT(tu_allclose(acc[i], am_broadcast_add(base[i], w[i]), 1e-6));
        am_req only_out[4] = {AM_REQ_WRITE, AM_REQ_NULL, AM_REQ_NULL, AM_REQ_WRITE};
        for (int i = 1; i < 3; i++) again[i] = am_copy(base[i]);
        CU_ASSERT_EQUAL(call_kernel("RNN", &c, in, n_inputs(&c), again, only_out, false), AM_OK);
        CU_ASSERT(tu_allclose(again[0], w[0], 0));
        for (int i = 1; i < 3; i++) CU_ASSERT(tu_allclose(again[i], base[i], 0));
        /* without the reserve (nothing will run backward) the results are the same */
        am_req no_reserve[4] = {AM_REQ_WRITE, AM_REQ_WRITE, AM_REQ_WRITE, AM_REQ_NULL};
        am_array *lean[4] = {0};
        lean[3] = am_copy(base[3]);
        CU_ASSERT_EQUAL(call_kernel("RNN", &c, in, n_inputs(&c), lean, no_reserve, false), AM_OK);
        for (int i = 0; i < 4; i++) CU_ASSERT(tu_allclose(lean[i], i < 3 ? w[i] : base[i], 0));
        am_scope_end();
        ref_free(&r);
    }
}

/* _backward_RNN with only the parameter gradient asked for, and with ADD. */
static void test_rnn_backward_requests(void)
{
    cfg c = {.mode = M_LSTM, .L = 2, .D = 2, .T = 3, .N = 2, .I = 3, .H = 2,
             .dtype = AM_DTYPE_FLOAT64};
    ref_io r;
    ref_alloc(&c, &r);
    ref_random(&r, 0.6);
    am_scope_begin();
    am_array *in[4], *fw[4] = {0}, *g[4] = {0}, *only[4], *acc[4], *base[4];
    amber_inputs(&c, &r, in);
    CU_ASSERT_EQUAL_FATAL(call_kernel("RNN", &c, in, 4, fw, all_write, false), AM_OK);
    am_array *bin[8] = {in[0], in[1], in[2], fw[3],
                        tu_random(am_array_shape(fw[0]), c.dtype, -1, 1),
                        tu_random(am_array_shape(fw[1]), c.dtype, -1, 1), in[3],
                        tu_random(am_array_shape(fw[2]), c.dtype, -1, 1)};
    CU_ASSERT_EQUAL_FATAL(call_kernel("_backward_RNN", &c, bin, 8, g, all_write, false), AM_OK);
    am_req params_only[4] = {AM_REQ_NULL, AM_REQ_WRITE, AM_REQ_NULL, AM_REQ_NULL};
    static const am_req add[4] = {AM_REQ_ADD, AM_REQ_ADD, AM_REQ_ADD, AM_REQ_ADD};
    for (int i = 0; i < 4; i++) {
        base[i] = tu_random(am_array_shape(g[i]), c.dtype, -1, 1);
        only[i] = am_copy(base[i]), acc[i] = am_copy(base[i]);
    }
    CU_ASSERT_EQUAL(call_kernel("_backward_RNN", &c, bin, 8, only, params_only, false), AM_OK);
    CU_ASSERT_EQUAL(call_kernel("_backward_RNN", &c, bin, 8, acc, add, false), AM_OK);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT(tu_allclose(only[i], i == 1 ? g[i] : base[i], 1e-12));
        CU_ASSERT(tu_allclose(acc[i], am_broadcast_add(base[i], g[i]), 1e-12));
    }
    am_scope_end();
    ref_free(&r);
}

/* T = 0 passes the states through; N = 0 gives empty results. */
static void test_rnn_empty(void)
{
    am_scope_begin();
    const char *k[] = {"state_size", "num_layers", "mode", "bidirectional", "state_outputs"};
    const char *v[] = {"2", "2", "lstm", "True", "True"};
    am_array *in[4] = {am_zeros(AM_SHAPE(0, 3, 5), AM_DTYPE_FLOAT64),
                       tu_random(AM_SHAPE(4 * 2 * 2 * (5 + 2 + 2) + 4 * 2 * 2 * (4 + 2 + 2)),
                                 AM_DTYPE_FLOAT64, -1, 1),
                       tu_random(AM_SHAPE(4, 3, 2), AM_DTYPE_FLOAT64, -1, 1),
                       tu_random(AM_SHAPE(4, 3, 2), AM_DTYPE_FLOAT64, -1, 1)};
    am_array *out[3], *hg[3], *g[4];
    for (int i = 0; i < 4; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, 4, k, v, 5, out, 3), AM_OK);
    am_autograd_end();
    am_shape s = am_array_shape(out[0]);
    CU_ASSERT(s.ndim == 3 && s.dim[0] == 0 && s.dim[1] == 3 && s.dim[2] == 4);
    CU_ASSERT(tu_allclose(out[1], in[2], 0));
    CU_ASSERT(tu_allclose(out[2], in[3], 0));
    for (int i = 0; i < 3; i++) hg[i] = tu_random(am_array_shape(out[i]), AM_DTYPE_FLOAT64, -1, 1);
    CU_ASSERT_EQUAL_FATAL(am_grad_of(out, hg, 3, in, 4, false, false, g), AM_OK);
    CU_ASSERT_EQUAL(am_array_size(g[0]), 0);
    CU_ASSERT(tu_allclose(g[1], am_zeros_like(in[1]), 0));
    CU_ASSERT(tu_allclose(g[2], hg[1], 0));
    CU_ASSERT(tu_allclose(g[3], hg[2], 0));

    const char *kg[] = {"state_size", "num_layers", "mode"};
    const char *vg[] = {"3", "1", "gru"};
    am_array *gin[3] = {am_zeros(AM_SHAPE(2, 0, 2), AM_DTYPE_FLOAT32),
                        am_zeros(AM_SHAPE(3 * 3 * (2 + 3 + 2)), AM_DTYPE_FLOAT32),
                        am_zeros(AM_SHAPE(1, 0, 3), AM_DTYPE_FLOAT32)};
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", gin, 3, kg, vg, 3, out, 1), AM_OK);
    s = am_array_shape(out[0]);
    CU_ASSERT(s.ndim == 3 && s.dim[0] == 2 && s.dim[1] == 0 && s.dim[2] == 3);
    am_scope_end();
}

/* Sum over the visible outputs of out_k . wt_k with Amber's forward (float64). */
static double amber_loss(const cfg *c, am_array **in, am_array **wt)
{
    cfg_attrs a;
    make_attrs(c, &a);
    int nvis = c->mode == M_LSTM ? 3 : 2;
    double s = 0;
    am_scope_begin();
    am_array *out[3];
    if (am_invoke("RNN", in, n_inputs(c), a.k, a.v, a.n, out, nvis) != AM_OK) s = NAN;
    for (int k = 0; k < nvis && s == s; k++) {
        const double *x = am_array_data_f64(out[k]), *w = am_array_data_f64(wt[k]);
        for (int64_t i = 0; i < am_array_size(out[k]); i++) s += x[i] * w[i];
    }
    am_scope_end();
    return s;
}

/* Batches above the parallel threshold: float32 forward against the reference, float64
 * gradients along a random direction against central differences of the forward. */
static void check_large(int mode)
{
    cfg c = {.mode = mode, .L = 2, .D = 2, .T = 3, .N = 64, .I = 8, .H = 80,
             .dtype = AM_DTYPE_FLOAT32};
    int nin = n_inputs(&c), nvis = mode == M_LSTM ? 3 : 2;
    ref_io r;
    cfg_attrs a;
    ref_alloc(&c, &r);
    ref_random(&r, 0.08); /* about 1/sqrt(fan-in), as initialisers scale them */
    make_attrs(&c, &a);
    ref_loss(&c, &r, NULL);
    am_scope_begin();
    am_array *in[4], *out[3], *wt[3], *g[4], *dir[4];
    amber_inputs(&c, &r, in);
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, nin, a.k, a.v, a.n, out, nvis), AM_OK);
    for (int k = 0; k < nvis; k++) { /* float32 rounding grows with the largest values */
        double big = 1;
        for (int64_t i = 0; i < r.n_out[k]; i++) big = fmax(big, fabs(r.out[k][i]));
        CU_ASSERT(close_to("large out", &c, out[k], r.out[k], r.n_out[k], 2e-6 * big, 2e-5));
    }

    c.dtype = AM_DTYPE_FLOAT64;
    amber_inputs(&c, &r, in);
    for (int i = 0; i < nin; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, nin, a.k, a.v, a.n, out, nvis), AM_OK);
    am_autograd_end();
    for (int k = 0; k < nvis; k++)
        wt[k] = from_doubles(r.wt[k], r.n_out[k], am_array_shape(out[k]), c.dtype);
    CU_ASSERT_EQUAL_FATAL(am_grad_of(out, wt, nvis, in, nin, false, false, g), AM_OK);
    /* one random direction over all inputs at once */
    const double eps = 1e-6;
    double ana = 0;
    for (int i = 0; i < nin; i++) {
        dir[i] = tu_random(am_array_shape(in[i]), AM_DTYPE_FLOAT64, -1, 1);
        double *x = am_array_data_f64(in[i]), *v = am_array_data_f64(dir[i]);
        const double *gi = am_array_data_f64(g[i]);
        for (int64_t j = 0; j < am_array_size(in[i]); j++) ana += gi[j] * v[j], x[j] += eps * v[j];
    }
    double fp = amber_loss(&c, in, wt);
    for (int i = 0; i < nin; i++) {
        double *x = am_array_data_f64(in[i]), *v = am_array_data_f64(dir[i]);
        for (int64_t j = 0; j < am_array_size(in[i]); j++) x[j] -= 2 * eps * v[j];
    }
    double num = (amber_loss(&c, in, wt) - fp) / (-2 * eps);
    if (!(fabs(ana - num) <= 1e-5 * (1 + fabs(num))))
        printf("\n  %s: directional derivative %.10g, numerical %.10g\n", mode_names[mode], ana,
               num);
    CU_ASSERT(fabs(ana - num) <= 1e-5 * (1 + fabs(num)));
    am_scope_end();
    ref_free(&r);
}

static void test_rnn_large(void)
{
    am_seed(17);
    for (int mode = 0; mode < 4; mode++) check_large(mode);
}

/* ---- the C function, visibility, errors -------------------------------------------------- */

static void test_rnn_wrapper(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(3, 2, 4), AM_DTYPE_FLOAT32, -1, 1);
    am_array *w = tu_random(AM_SHAPE(4 * 3 * (4 + 3 + 2)), AM_DTYPE_FLOAT32, -1, 1);
    am_array *h = am_zeros(AM_SHAPE(1, 2, 3), AM_DTYPE_FLOAT32), *c = am_zeros_like(h);
    am_array *out[3] = {0}, *all[3] = {0};
    CU_ASSERT_EQUAL_FATAL(am_rnn(x, w, h, c, "lstm", 3, 1, false, false, out), AM_OK);
    CU_ASSERT_PTR_NULL(out[1]);
    CU_ASSERT_EQUAL_FATAL(am_rnn(x, w, h, c, "lstm", 3, 1, false, true, all), AM_OK);
    CU_ASSERT(tu_allclose(out[0], all[0], 0));
    am_shape s = am_array_shape(all[2]);
    CU_ASSERT(s.ndim == 3 && s.dim[0] == 1 && s.dim[1] == 2 && s.dim[2] == 3);
    am_array *wg = tu_random(AM_SHAPE(3 * 3 * (4 + 3 + 2)), AM_DTYPE_FLOAT32, -1, 1);
    am_array *g[3] = {0};
    CU_ASSERT_EQUAL(am_rnn(x, wg, h, NULL, "gru", 3, 1, false, true, g), AM_OK);
    CU_ASSERT_PTR_NOT_NULL(g[1]);
    CU_ASSERT_PTR_NULL(g[2]);

    const am_op_def *op = am_op_find("RNN");
    static const struct { const char *mode, *so; int n; } vis[] = {
        {"lstm", "False", 1}, {"lstm", "True", 3}, {"gru", "True", 2}, {"rnn_relu", "False", 1}};
    for (size_t i = 0; i < 4; i++) {
        const char *k[] = {"state_size", "num_layers", "mode", "state_outputs"};
        const char *v[] = {"2", "1", vis[i].mode, vis[i].so};
        void *a = am_attrs_parse(op, k, v, 4);
        CU_ASSERT_EQUAL(am_op_num_visible(op, a), vis[i].n);
        CU_ASSERT_EQUAL(am_op_num_inputs(op, a), strcmp(vis[i].mode, "lstm") ? 3 : 4);
        free(a);
    }
    void *a = am_attrs_parse(op, (const char *[]){"state_size", "num_layers", "mode"},
                             (const char *[]){"2", "1", "gru"}, 3);
    static const char *const defaults[][2] = {
        {"bidirectional", "False"}, {"p", "0.0"}, {"state_outputs", "False"},
        {"projection_size", "None"}, {"lstm_state_clip_min", "None"},
        {"lstm_state_clip_max", "None"}, {"lstm_state_clip_nan", "False"},
        {"use_sequence_length", "False"}, {"mode", "gru"}};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        for (const am_attr_field *f = op->attrs; f->name; f++)
            if (strcmp(f->name, defaults[i][0]) == 0) {
                char buf[64];
                CU_ASSERT_STRING_EQUAL(am_attr_format(f, a, buf, sizeof(buf)), defaults[i][1]);
            }
    free(a);
    am_scope_end();
}

/* Shape inference fills unknown parameters and states (deferred initialisation needs it)
 * with MXNet's parameter count, and gives the hidden outputs' shapes. */
static void test_rnn_infer_shape(void)
{
    const am_op_def *op = am_op_find("RNN");
    static const cfg cs[] = {{.mode = M_LSTM, .L = 3, .D = 2, .T = 5, .N = 4, .I = 7, .H = 6},
                             {.mode = M_GRU, .L = 2, .D = 1, .T = 2, .N = 3, .I = 5, .H = 4},
                             {.mode = M_RELU, .L = 1, .D = 2, .T = 1, .N = 1, .I = 1, .H = 9}};
    for (size_t j = 0; j < sizeof(cs) / sizeof(cs[0]); j++) {
        const cfg *c = &cs[j];
        cfg_attrs a;
        make_attrs(c, &a);
        void *attrs = am_attrs_parse(op, a.k, a.v, a.n);
        am_shape in[4] = {AM_SHAPE(c->T, c->N, c->I), {.ndim = -1}, {.ndim = -1}, {.ndim = -1}};
        am_shape out[4];
        CU_ASSERT_EQUAL_FATAL(op->infer_shape(attrs, in, n_inputs(c), out, 4), AM_OK);
        CU_ASSERT(in[1].ndim == 1 && in[1].dim[0] == param_count(c));
        am_shape st = AM_SHAPE(c->L * c->D, c->N, c->H);
        CU_ASSERT(in[2].ndim == 3 && !memcmp(in[2].dim, st.dim, 3 * sizeof(int64_t)));
        if (c->mode == M_LSTM) CU_ASSERT(!memcmp(in[3].dim, st.dim, 3 * sizeof(int64_t)));
        CU_ASSERT(out[0].ndim == 3 && out[0].dim[2] == c->D * c->H);
        CU_ASSERT(!memcmp(out[1].dim, st.dim, 3 * sizeof(int64_t)));
        CU_ASSERT(c->mode == M_LSTM ? out[2].ndim == 3 : out[2].ndim == 1 && out[2].dim[0] == 0);
        CU_ASSERT(out[3].ndim == 1 && out[3].dim[0] == mask_offset(c));
        free(attrs);
    }
}

/* Invokes RNN with "k=v;k=v" attributes. */
static am_status invoke_rnn(const char *attrs, am_array **in, int n_in, int n_out)
{
    char buf[512];
    const char *k[16], *v[16];
    int n = 0;
    am_array *out[3];
    snprintf(buf, sizeof(buf), "%s", attrs);
    for (char *save = NULL, *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        k[n] = kv, v[n++] = eq + 1;
    }
    return am_invoke("RNN", in, n_in, k, v, n, out, n_out);
}

static void test_rnn_errors(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(3, 2, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_array *w = tu_random(AM_SHAPE(14), AM_DTYPE_FLOAT32, -1, 1);
    am_array *h = am_zeros(AM_SHAPE(1, 2, 2), AM_DTYPE_FLOAT32), *out[3];
    am_array *w13 = am_zeros(AM_SHAPE(13), AM_DTYPE_FLOAT32);
    const char *base = "state_size=2;num_layers=1;mode=rnn_tanh";
    TU_ASSERT_FAILS(am_rnn(x, w13, h, NULL, "rnn_tanh", 2, 1, false, false, out) == AM_OK,
                    AM_ERR_SHAPE, "RNN: parameters (13,) must be 1-D with 14 elements, got 13");
    TU_ASSERT_FAILS(am_rnn(x, am_zeros(AM_SHAPE(2, 7), AM_DTYPE_FLOAT32), h, NULL, "rnn_tanh",
                           2, 1, false, false, out) == AM_OK, AM_ERR_SHAPE, "must be 1-D");
    TU_ASSERT_FAILS(am_rnn(x, w, am_zeros(AM_SHAPE(1, 3, 2), AM_DTYPE_FLOAT32), NULL, "rnn_tanh",
                           2, 1, false, false, out) == AM_OK, AM_ERR_SHAPE,
                    "state (1, 3, 2) must be (1, 2, 2)");
    TU_ASSERT_FAILS(am_rnn(x, w, am_zeros(AM_SHAPE(2, 2, 2), AM_DTYPE_FLOAT32), NULL, "rnn_tanh",
                           2, 1, false, false, out) == AM_OK, AM_ERR_SHAPE, "state (2, 2, 2)");
    am_array *w56 = am_zeros(AM_SHAPE(56), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_rnn(x, w56, h, NULL, "lstm", 2, 1, false, false, out) == AM_OK,
                    AM_ERR_ARG, "RNN: mode lstm needs state_cell");
    TU_ASSERT_FAILS(am_rnn(x, w56, h, am_zeros(AM_SHAPE(1, 2, 3), AM_DTYPE_FLOAT32), "lstm", 2,
                           1, false, false, out) == AM_OK, AM_ERR_SHAPE,
                    "state_cell (1, 2, 3) must be (1, 2, 2)");
    TU_ASSERT_FAILS(am_rnn(x, w, h, h, "rnn_tanh", 2, 1, false, false, out) == AM_OK,
                    AM_ERR_ARG, "state_cell is taken by mode lstm only");
    TU_ASSERT_FAILS(am_rnn(x, w, h, NULL, "lstmx", 2, 1, false, false, out) == AM_OK, AM_ERR_ARG,
                    "mode 'lstmx' is not one of");
    am_array *lin[3] = {x, w56, h};
    TU_ASSERT_FAILS(invoke_rnn("state_size=2;num_layers=1;mode=lstm", lin, 3, 1) == AM_OK,
                    AM_ERR_ARG, "expects 4 inputs, got 3");
    am_array *in[3] = {am_zeros(AM_SHAPE(3, 6), AM_DTYPE_FLOAT32), w, h};
    TU_ASSERT_FAILS(invoke_rnn(base, in, 3, 1) == AM_OK, AM_ERR_SHAPE, "data (3, 6) must be 3-D");
    in[0] = am_zeros(AM_SHAPE(3, 2, 3), AM_DTYPE_INT32);
    TU_ASSERT_FAILS(invoke_rnn(base, in, 3, 1) == AM_OK, AM_ERR_DTYPE, "int32 data not supported");
    in[0] = x, in[1] = am_astype(w, AM_DTYPE_FLOAT64);
    TU_ASSERT_FAILS(invoke_rnn(base, in, 3, 1) == AM_OK, AM_ERR_DTYPE,
                    "parameters is float64 but data is float32");
    am_scope_end();
}

static void test_rnn_attribute_errors(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(3, 2, 3), AM_DTYPE_FLOAT32, -1, 1), *out[3];
    am_array *w = tu_random(AM_SHAPE(14), AM_DTYPE_FLOAT32, -1, 1);
    am_array *w56 = am_zeros(AM_SHAPE(56), AM_DTYPE_FLOAT32);
    am_array *h = am_zeros(AM_SHAPE(1, 2, 2), AM_DTYPE_FLOAT32), *in[3] = {x, w, h};
    static const struct { const char *attrs, *msg; am_status code; } bad[] = {
        {"state_size=0;num_layers=1;mode=gru", "state_size must be positive", AM_ERR_ARG},
        {"state_size=2;num_layers=0;mode=gru", "num_layers must be positive", AM_ERR_ARG},
        {"state_size=2;num_layers=1;mode=rnn_tanh;p=1.0", "p must be in [0, 1)", AM_ERR_ARG},
        {"state_size=2;num_layers=1;mode=rnn_tanh;projection_size=1", "projection_size",
         AM_ERR_UNSUPPORTED},
        {"state_size=2;num_layers=1;mode=rnn_tanh;use_sequence_length=True",
         "use_sequence_length", AM_ERR_UNSUPPORTED},
        {"state_size=2;num_layers=1;mode=rnn_tanh;lstm_state_clip_min=-1;lstm_state_clip_max=1",
         "apply to mode lstm only", AM_ERR_ARG},
        {"state_size=2;num_layers=1;mode=rnn_tanh;state_outputs=True", "has 2 outputs", AM_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TU_ASSERT_FAILS(invoke_rnn(bad[i].attrs, in, 3, 1) == AM_OK, bad[i].code, bad[i].msg);
    am_array *cin[4] = {x, w56, h, h};
    TU_ASSERT_FAILS(invoke_rnn("state_size=2;num_layers=1;mode=lstm;lstm_state_clip_min=-1",
                               cin, 4, 1) == AM_OK, AM_ERR_ARG, "must be given together");
    TU_ASSERT_FAILS(invoke_rnn("state_size=2;num_layers=1;mode=lstm;lstm_state_clip_min=1;"
                               "lstm_state_clip_max=0", cin, 4, 1) == AM_OK, AM_ERR_ARG,
                    "lstm_state_clip_max (0) is below lstm_state_clip_min (1)");
    TU_ASSERT_FAILS(invoke_rnn("state_size=2;num_layers=1;mode=lsmt", in, 3, 1) == AM_OK,
                    AM_ERR_FORMAT, "mode");
    /* a NULL input keeps the first failure */
    am_clear_error();
    am_array *bad_x = am_astype(x, (am_dtype)99);
    CU_ASSERT_PTR_NULL(bad_x);
    CU_ASSERT_NOT_EQUAL(am_rnn(bad_x, w, h, NULL, "rnn_tanh", 2, 1, false, false, out), AM_OK);
    CU_ASSERT_PTR_NULL(strstr(am_last_error(), "RNN"));
    am_clear_error();
    CU_ASSERT_NOT_EQUAL(am_rnn(bad_x, w56, h, NULL, "lstm", 2, 1, false, false, out), AM_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "input 0 is NULL"));
    am_clear_error();
    am_scope_end();
}

/* ---- the case table's gradients ------------------------------------------------------------ */

/* What the gradcheck suite does for every RNN case (float64, central differences at up to
 * 24 probes per input, |g - n| <= 1e-6 + 1e-5 |n|), with head gradients in place of the
 * sum-of-products loss so that it needs no other op's gradient. */
extern const am_op_case am_cases_rnn[];

static double case_loss(const am_op_case *c, tu_parsed_case *p, am_array **in, int nvis,
                        am_array **wt)
{
    double s = 0;
    am_scope_begin();
    am_array *out[3];
    if (am_invoke("RNN", in, p->n_in, (const char *const *)p->keys, (const char *const *)p->vals,
                  p->n_attrs, out, nvis) != AM_OK) s = NAN;
    for (int k = 0; k < nvis && s == s; k++) {
        am_view o = am_array_view(out[k]), w = am_array_view(wt[k]);
        for (int64_t i = 0; i < am_view_size(&o); i++) s += am_view_get(&o, i) * am_view_get(&w, i);
    }
    am_scope_end();
    AM_UNUSED(c);
    return s;
}

static void check_case_gradient(const am_op_case *c)
{
    tu_parsed_case p;
    tu_parse_case(c, &p);
    const am_op_def *op = am_op_find("RNN");
    void *attrs = am_attrs_parse(op, (const char *const *)p.keys, (const char *const *)p.vals,
                                 p.n_attrs);
    int nvis = am_op_num_visible(op, attrs);
    free(attrs);
    am_scope_begin();
    am_array *in[4], *out[3], *wt[3], *g[4];
    am_seed(7);
    for (int i = 0; i < p.n_in; i++) {
        in[i] = am_astype(tu_case_input(c, &p, i), AM_DTYPE_FLOAT64);
        am_attach_grad(in[i], AM_GRAD_WRITE);
    }
    am_autograd_record_begin(false);
    CU_ASSERT_EQUAL_FATAL(am_invoke("RNN", in, p.n_in, (const char *const *)p.keys,
                                    (const char *const *)p.vals, p.n_attrs, out, nvis), AM_OK);
    am_autograd_end();
    for (int k = 0; k < nvis; k++)
        wt[k] = tu_random(am_array_shape(out[k]), AM_DTYPE_FLOAT64, -1, 1);
    CU_ASSERT_EQUAL_FATAL(am_grad_of(out, wt, nvis, in, p.n_in, false, false, g), AM_OK);
    for (int i = 0; i < p.n_in; i++) {
        int64_t n = am_array_size(in[i]), step = n > 24 ? n / 24 : 1;
        double *x = am_array_data_f64(in[i]);
        const double *gi = am_array_data_f64(g[i]);
        for (int64_t j = 0; j < n; j += step) {
            double x0 = x[j];
            x[j] = x0 + 1e-6;
            double fp = case_loss(c, &p, in, nvis, wt);
            x[j] = x0 - 1e-6;
            double fm = case_loss(c, &p, in, nvis, wt), num = (fp - fm) / 2e-6;
            x[j] = x0;
            bool ok = fabs(gi[j] - num) <= 1e-6 + 1e-5 * fabs(num);
            if (!ok)
                printf("\n  RNN{%s} input %d element %lld: analytic %.9g, numerical %.9g",
                       c->attrs, i, (long long)j, gi[j], num);
            CU_ASSERT(ok);
        }
    }
    am_scope_end();
}

static void test_rnn_case_gradients(void)
{
    for (const am_op_case *c = am_cases_rnn; c->op; c++)
        if (strcmp(c->op, "RNN") == 0) check_case_gradient(c);
}

CU_TestInfo am_tests_ops_rnn[] = {
    {"RNN against a naive reference (all modes, layers, directions)", test_rnn_reference},
    {"RNN tanh and relu cells by hand", test_rnn_hand_vanilla},
    {"RNN lstm gate order by hand", test_rnn_hand_lstm},
    {"RNN gru formulation by hand", test_rnn_hand_gru},
    {"RNN bidirectional layout by hand", test_rnn_hand_bidirectional},
    {"RNN dropout masks in training", test_rnn_dropout_forward},
    {"RNN gradients through dropout", test_rnn_dropout_gradient},
    {"RNN lstm state clipping", test_rnn_clip},
    {"RNN requests WRITE, ADD, NULL", test_rnn_requests},
    {"_backward_RNN requests", test_rnn_backward_requests},
    {"RNN with T = 0 and N = 0", test_rnn_empty},
    {"RNN above the parallel threshold", test_rnn_large},
    {"am_rnn, visible outputs, attributes", test_rnn_wrapper},
    {"RNN shape inference fills parameters and states", test_rnn_infer_shape},
    {"RNN shape, dtype and input errors", test_rnn_errors},
    {"RNN attribute errors", test_rnn_attribute_errors},
    {"RNN case table gradients", test_rnn_case_gradients},
    CU_TEST_INFO_NULL,
};
