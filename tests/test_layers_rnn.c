/* The layers_rnn suite: recurrent cells against loops written from their equations,
 * the fused layers against cells unrolled with the same weights (which checks the
 * packing order of every parameter), eager against hybridized runs and gradients,
 * deferred input sizes, state conventions, traced graphs and errors. */
#include "test_util.h"

#include "amber/layers_rnn.h"

enum { M_RELU, M_TANH, M_LSTM, M_GRU };

static int gates_of(int mode) { return mode == M_LSTM ? 4 : mode == M_GRU ? 3 : 1; }
static int states_of(int mode) { return mode == M_LSTM ? 2 : 1; }
static double sigm(double x) { return 1 / (1 + exp(-x)); }

static const am_init uniform_half = {.kind = AM_INIT_UNIFORM, .scale = 0.5};
static const am_init constant_two = {.kind = AM_INIT_CONSTANT, .value = 2};

/* ---- helpers ------------------------------------------------------------------------------ */

static am_param *param_of(am_block *b, const char *name)
{
    am_param *ps[256];
    int n = am_block_collect_params(b, NULL, ps, 256);
    for (int i = 0; i < n && i < 256; i++)
        if (strcmp(am_param_name(ps[i]), name) == 0) return ps[i];
    printf("\n  no parameter '%s'\n", name);
    return NULL;
}

/* Every parameter of b gets random values in [-0.5, 0.5). */
static void randomize_params(am_block *b)
{
    am_param *ps[256];
    int n = am_block_collect_params(b, NULL, ps, 256);
    CU_ASSERT_FATAL(n >= 0 && n <= 256);
    am_scope_begin();
    for (int i = 0; i < n; i++) {
        am_array *v = tu_random(am_param_shape(ps[i]), AM_DTYPE_FLOAT32, -0.5, 0.5);
        CU_ASSERT_EQUAL(am_param_set_data(ps[i], v), AM_OK);
    }
    am_scope_end();
}

static am_block *make_cell(int mode, int64_t hidden, int64_t in)
{
    am_rnn_cell_opts o = {.input_size = in};
    if (mode == M_RELU) o.activation = "relu";
    if (mode == M_LSTM) return am_lstm_cell(hidden, &o);
    if (mode == M_GRU) return am_gru_cell(hidden, &o);
    return am_rnn_cell(hidden, &o);
}

static am_block *make_layer(int mode, int64_t hidden, const am_rnn_layer_opts *opts)
{
    am_rnn_layer_opts o = opts ? *opts : (am_rnn_layer_opts){0};
    if (mode == M_TANH) o.activation = "tanh";
    if (mode == M_LSTM) return am_lstm_layer(hidden, &o);
    if (mode == M_GRU) return am_gru_layer(hidden, &o);
    return am_rnn_layer(hidden, &o);
}

/* The time steps of x (T, ...) in reverse order. */
static am_array *reverse_time(am_array *x)
{
    int64_t T = am_array_dim(x, 0);
    am_array *parts[64];
    CU_ASSERT_FATAL(T <= 64);
    for (int64_t t = 0; t < T; t++) parts[T - 1 - t] = am_slice_axis(x, 0, t, t + 1);
    return am_concat(parts, (int)T, 0);
}

/* ---- cells against loops ------------------------------------------------------------------ */

typedef struct cell_case {
    int mode;
    const char *act;        /* RNNCell's activation */
} cell_case;

static double act_of(const char *act, double v)
{
    if (!act) return tanh(v);
    if (strcmp(act, "relu") == 0) return v > 0 ? v : 0;
    if (strcmp(act, "softrelu") == 0) return log1p(exp(v));
    if (strcmp(act, "sigmoid") == 0) return sigm(v);
    return tanh(v);
}

/* One step for batch row n from the cell's equations (Gluon's docs), in double. */
static void ref_step(const cell_case *k, int C, int H, const float *x, const float *h,
                     const float *c, const float *wi, const float *wh, const float *bi,
                     const float *bh, double *hn, double *cn)
{
    int G = gates_of(k->mode);
    for (int u = 0; u < H; u++) {
        double a[4], b[4];
        for (int q = 0; q < G; q++) {
            a[q] = bi[q * H + u], b[q] = bh[q * H + u];
            for (int j = 0; j < C; j++) a[q] += wi[(q * H + u) * C + j] * x[j];
            for (int j = 0; j < H; j++) b[q] += wh[(q * H + u) * H + j] * h[j];
        }
        if (k->mode == M_LSTM) {
            double i = sigm(a[0] + b[0]), f = sigm(a[1] + b[1]);
            double g = tanh(a[2] + b[2]), o = sigm(a[3] + b[3]);
            cn[u] = f * c[u] + i * g;
            hn[u] = o * tanh(cn[u]);
        } else if (k->mode == M_GRU) {
            double r = sigm(a[0] + b[0]), z = sigm(a[1] + b[1]);
            double nn = tanh(a[2] + r * b[2]);
            hn[u] = (1 - z) * nn + z * h[u];
        } else {
            hn[u] = act_of(k->act, a[0] + b[0]);
        }
    }
}

static const float *param_f32(am_block *b, const char *name)
{
    return am_array_data_f32(am_param_data(param_of(b, name)));
}

static void check_cell_case(const cell_case *k)
{
    enum { N = 3, C = 4, H = 5 };
    am_scope_begin();
    am_rnn_cell_opts o = {.input_size = C, .activation = k->act};
    am_block *cell = k->mode == M_LSTM ? am_lstm_cell(H, &o)
                   : k->mode == M_GRU ? am_gru_cell(H, &o) : am_rnn_cell(H, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cell);
    CU_ASSERT_EQUAL(am_block_initialize(cell, NULL), AM_OK);
    randomize_params(cell);
    int ns = states_of(k->mode);
    am_array *in[3] = {tu_random(AM_SHAPE(N, C), AM_DTYPE_FLOAT32, -1, 1),
                       tu_random(AM_SHAPE(N, H), AM_DTYPE_FLOAT32, -1, 1),
                       tu_random(AM_SHAPE(N, H), AM_DTYPE_FLOAT32, -1, 1)}, *out[3];
    CU_ASSERT_EQUAL_FATAL(am_block_forward(cell, in, 1 + ns, out, 3), 1 + ns);
    double hn[N * H], cn[N * H];
    const float *x = am_array_data_f32(in[0]), *h = am_array_data_f32(in[1]);
    const float *c = am_array_data_f32(in[2]);
    for (int n = 0; n < N; n++)
        ref_step(k, C, H, x + n * C, h + n * H, c + n * H, param_f32(cell, "i2h_weight"),
                 param_f32(cell, "h2h_weight"), param_f32(cell, "i2h_bias"),
                 param_f32(cell, "h2h_bias"), hn + n * H, cn + n * H);
    CU_ASSERT(tu_values_are(out[0], AM_SHAPE(N, H), hn, N * H, 1e-5));
    CU_ASSERT(tu_values_are(out[1], AM_SHAPE(N, H), hn, N * H, 1e-5));
    if (ns == 2) CU_ASSERT(tu_values_are(out[2], AM_SHAPE(N, H), cn, N * H, 1e-5));
    am_block_release(cell);
    am_scope_end();
}

static void test_cells_against_loops(void)
{
    static const cell_case cases[] = {
        {M_TANH, NULL}, {M_RELU, "relu"}, {M_TANH, "sigmoid"}, {M_TANH, "softrelu"},
        {M_LSTM, NULL}, {M_GRU, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_cell_case(&cases[i]);
}

/* LSTMCell's activation and recurrent_activation options reach the right gates. */
static void test_lstm_cell_activations(void)
{
    enum { N = 2, C = 3, H = 2 };
    am_scope_begin();
    am_block *cell = am_lstm_cell(H, &(am_rnn_cell_opts){.input_size = C, .activation = "relu",
                                                         .recurrent_activation = "softsign"});
    CU_ASSERT_PTR_NOT_NULL_FATAL(cell);
    am_block_initialize(cell, NULL);
    randomize_params(cell);
    am_array *x = tu_random(AM_SHAPE(N, C), AM_DTYPE_FLOAT32, -1, 1);
    am_array *h = tu_random(AM_SHAPE(N, H), AM_DTYPE_FLOAT32, -1, 1);
    am_array *c = tu_random(AM_SHAPE(N, H), AM_DTYPE_FLOAT32, -1, 1);
    am_array *in[3] = {x, h, c}, *out[3];
    CU_ASSERT_EQUAL_FATAL(am_block_forward(cell, in, 3, out, 3), 3);
    /* the same step by ops: gates from i2h + h2h */
    am_array *gates = am_add(am_fully_connected(x, am_param_data(param_of(cell, "i2h_weight")),
                                                am_param_data(param_of(cell, "i2h_bias")),
                                                4 * H, false, true),
                             am_fully_connected(h, am_param_data(param_of(cell, "h2h_weight")),
                                                am_param_data(param_of(cell, "h2h_bias")),
                                                4 * H, false, true));
    am_array *g[4];
    CU_ASSERT_EQUAL_FATAL(am_split(gates, 4, 1, false, g), AM_OK);
    am_array *next_c = am_add(am_mul(am_softsign(g[1]), c), am_mul(am_softsign(g[0]),
                                                                  am_relu(g[2])));
    am_array *next_h = am_mul(am_softsign(g[3]), am_relu(next_c));
    CU_ASSERT(tu_allclose(out[0], next_h, 1e-6));
    CU_ASSERT(tu_allclose(out[2], next_c, 1e-6));
    am_block_release(cell);
    am_scope_end();
}

/* ---- the fused layers against unrolled cells ---------------------------------------------- */

typedef struct layer_case {
    int mode, L;
    bool bi, ntc;
} layer_case;

/* The stacked network by cells: layer by layer, each direction a cell of that layer's
 * weights unrolled over the sequence (reversed for "r"), begin states from rows l*D + d
 * of h0 (and c0).  x is TNC; fills y (TNC) and the final states (L*D, N, H). */
static void unrolled_reference(const layer_case *k, am_block *layer, am_array *x, am_array *h0,
                               am_array *c0, am_array **y, am_array **hn, am_array **cn)
{
    int D = k->bi ? 2 : 1, ns = states_of(k->mode);
    int64_t T = am_array_dim(x, 0), N = am_array_dim(x, 1), H = am_array_dim(h0, 2);
    am_array *last_h[32], *last_c[32];
    static const char *const suffix[] = {"i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"};
    CU_ASSERT_FATAL(k->L * D <= 32);
    for (int l = 0; l < k->L; l++) {
        am_array *dir_out[2];
        for (int d = 0; d < D; d++) {
            am_block *cell = make_cell(k->mode, H, am_array_dim(x, 2));
            CU_ASSERT_PTR_NOT_NULL_FATAL(cell);
            am_block_initialize(cell, NULL);
            for (int g = 0; g < 4; g++) {
                char name[32];
                snprintf(name, sizeof(name), "%c%d_%s", d ? 'r' : 'l', l, suffix[g]);
                am_param *src = param_of(layer, name);
                CU_ASSERT_EQUAL(am_param_set_data(param_of(cell, suffix[g]), am_param_data(src)),
                                AM_OK);
            }
            int row = l * D + d;
            am_array *begin[2] = {am_reshape(am_slice_axis(h0, 0, row, row + 1), AM_SHAPE(N, H)),
                                  c0 ? am_reshape(am_slice_axis(c0, 0, row, row + 1),
                                                  AM_SHAPE(N, H)) : NULL};
            am_array *seq = d ? reverse_time(x) : x, *outs[1], *st[2];
            CU_ASSERT_EQUAL_FATAL(am_rnn_unroll(cell, T, seq, "TNC", begin, true, outs, st),
                                  AM_OK);
            dir_out[d] = d ? reverse_time(outs[0]) : outs[0];
            last_h[row] = st[0];
            last_c[row] = ns == 2 ? st[1] : NULL;
            am_block_release(cell);
        }
        x = D == 2 ? am_concat(dir_out, 2, 2) : dir_out[0];
    }
    *y = x;
    *hn = am_stack(last_h, k->L * D, 0);
    *cn = ns == 2 ? am_stack(last_c, k->L * D, 0) : NULL;
}

static void check_layer_case(const layer_case *k, int64_t T)
{
    enum { N = 3, C = 4, H = 5 };
    int D = k->bi ? 2 : 1, ns = states_of(k->mode);
    am_scope_begin();
    am_block *layer = make_layer(k->mode, H, &(am_rnn_layer_opts){
        .num_layers = k->L, .bidirectional = k->bi, .layout = k->ntc ? "NTC" : "TNC",
        .input_size = C});
    CU_ASSERT_PTR_NOT_NULL_FATAL(layer);
    CU_ASSERT_EQUAL(am_block_initialize(layer, NULL), AM_OK);
    randomize_params(layer);
    am_array *x = tu_random(AM_SHAPE(T, N, C), AM_DTYPE_FLOAT32, -1, 1);
    am_array *in[3] = {k->ntc ? am_swap_axis(x, 0, 1) : x,
                       tu_random(AM_SHAPE(k->L * D, N, H), AM_DTYPE_FLOAT32, -1, 1),
                       tu_random(AM_SHAPE(k->L * D, N, H), AM_DTYPE_FLOAT32, -1, 1)}, *out[3];
    CU_ASSERT_EQUAL_FATAL(am_block_forward(layer, in, 1 + ns, out, 3), 1 + ns);
    am_array *y, *hn, *cn;
    unrolled_reference(k, layer, x, in[1], ns == 2 ? in[2] : NULL, &y, &hn, &cn);
    if (k->ntc) y = am_swap_axis(y, 0, 1);
    if (!tu_allclose(out[0], y, 1e-4) || !tu_allclose(out[1], hn, 1e-4) ||
        (ns == 2 && !tu_allclose(out[2], cn, 1e-4))) {
        printf("\n  mode %d, %d layers, %s, %s, T %lld\n", k->mode, k->L,
               k->bi ? "bidirectional" : "unidirectional", k->ntc ? "NTC" : "TNC", (long long)T);
        CU_FAIL("fused layer differs from the unrolled cells");
    }
    am_block_release(layer);
    am_scope_end();
}

static void test_layers_against_unrolled_cells(void)
{
    static const struct { int L; bool bi, ntc; } shapes[] = {
        {1, false, false}, {2, false, true}, {1, true, true}, {2, true, false},
    };
    for (int mode = M_RELU; mode <= M_GRU; mode++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
            check_layer_case(&(layer_case){mode, shapes[s].L, shapes[s].bi, shapes[s].ntc}, 6);
}

/* More parameters than one Concat takes (9 bidirectional layers: 72) and more steps than
 * one SliceChannel gives (70). */
static void test_layers_beyond_op_limits(void)
{
    check_layer_case(&(layer_case){M_GRU, 9, true, false}, 3);
    check_layer_case(&(layer_case){M_LSTM, 1, false, true}, 70);
}

/* Without begin states a layer returns its output only, as with zero states. */
static void test_layer_default_states(void)
{
    enum { T = 4, N = 2, C = 3, H = 4 };
    am_scope_begin();
    for (int mode = M_RELU; mode <= M_GRU; mode++) {
        am_block *layer = make_layer(mode, H, &(am_rnn_layer_opts){.num_layers = 2,
                                                                  .bidirectional = true});
        CU_ASSERT_PTR_NOT_NULL_FATAL(layer);
        am_block_initialize(layer, &uniform_half);
        am_array *x = tu_random(AM_SHAPE(T, N, C), AM_DTYPE_FLOAT32, -1, 1), *out[3];
        am_array *zeros[3] = {x};
        CU_ASSERT_EQUAL(am_rnn_begin_state(layer, N, zeros + 1, 2), states_of(mode));
        CU_ASSERT_EQUAL_FATAL(am_block_forward(layer, &x, 1, out, 3), 1);
        am_array *with[3];
        int ns = states_of(mode);
        CU_ASSERT_EQUAL_FATAL(am_block_forward(layer, zeros, 1 + ns, with, 3), 1 + ns);
        CU_ASSERT(tu_allclose(out[0], with[0], 0));
        CU_ASSERT(am_shape_equal(am_array_shape(out[0]), AM_SHAPE(T, N, 2 * H)));
        CU_ASSERT(am_shape_equal(am_array_shape(with[1]), AM_SHAPE(4, N, H)));
        am_block_release(layer);
    }
    am_scope_end();
}

/* ---- eager against hybridized ------------------------------------------------------------- */

/* A user block that unrolls its cell over 5 steps of (N, 5, C) and returns the merged
 * output and the final states: the cell's parameters are shared by every step. */
typedef struct unrolled5 {
    am_block base;
    am_block *cell;
} unrolled5;

static int unrolled5_forward(am_block *self, am_array *const *in, int n_in, am_array **out,
                             int cap)
{
    unrolled5 *u = (unrolled5 *)self;
    int ns = am_rnn_num_states(u->cell);
    am_array *outs[1], *st[2];
    if (n_in != 1 || cap < 1 + ns) return -1;
    if (am_rnn_unroll(u->cell, 5, in[0], "NTC", NULL, true, outs, st) != AM_OK) return -1;
    out[0] = outs[0];
    for (int i = 0; i < ns; i++) out[1 + i] = st[i];
    return 1 + ns;
}

static const am_block_class unrolled5_class = {"Unrolled5", sizeof(unrolled5),
                                               .forward_n = unrolled5_forward};

typedef struct run {
    am_array *out[4];
    int n_out;
    am_array *grad[64];
    int n_grad;
} run;

/* One recorded call: loss = sum over outputs of sum(out * w), then backward.  Keeps
 * copies of the outputs and of every parameter gradient (in the current scope). */
static void run_once(am_block *b, am_array *const *in, int n_in, am_array **w, run *r)
{
    am_param *ps[64];
    am_array *out[4], *terms[4];
    am_autograd_record_begin(true);
    int n = am_block_forward(b, in, n_in, out, 4);
    for (int i = 0; i < n; i++) {
        if (!w[i]) w[i] = tu_random(am_array_shape(out[i]), AM_DTYPE_FLOAT32, -1, 1);
        terms[i] = am_sum(am_mul(out[i], w[i]), NULL, 0, false);
    }
    am_array *loss = n > 0 ? am_add_n(terms, n) : NULL;
    am_autograd_end();
    CU_ASSERT_FATAL(n > 0 && loss != NULL);
    CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
    r->n_out = n;
    for (int i = 0; i < n; i++) r->out[i] = am_copy(out[i]);
    r->n_grad = am_block_collect_params(b, NULL, ps, 64);
    CU_ASSERT_FATAL(r->n_grad > 0 && r->n_grad <= 64);
    for (int i = 0; i < r->n_grad; i++) r->grad[i] = am_copy(am_param_grad(ps[i]));
}

static bool runs_agree(const run *a, const run *b, double tol)
{
    bool ok = a->n_out == b->n_out && a->n_grad == b->n_grad;
    for (int i = 0; ok && i < a->n_out; i++) ok = tu_allclose(b->out[i], a->out[i], tol);
    for (int i = 0; ok && i < a->n_grad; i++) ok = tu_allclose(b->grad[i], a->grad[i], tol);
    return ok;
}

/* Eager, then hybridized (traced), then hybridized again (the cached plan). */
static void check_eager_vs_hybrid(const char *what, am_block *b, am_array *const *in, int n_in)
{
    am_array *w[4] = {NULL};
    run eager, traced, cached;
    am_seed(11);
    CU_ASSERT_EQUAL_FATAL(am_block_initialize(b, &uniform_half), AM_OK);
    run_once(b, in, n_in, w, &eager);
    CU_ASSERT_EQUAL_FATAL(am_block_hybridize(b, true, NULL), AM_OK);
    run_once(b, in, n_in, w, &traced);
    run_once(b, in, n_in, w, &cached);
    am_cache_stats s = am_block_cache_stats(b);
    CU_ASSERT_EQUAL(s.traces, 1);
    CU_ASSERT(s.hits >= 1);
    if (!runs_agree(&eager, &traced, 1e-5) || !runs_agree(&eager, &cached, 1e-5)) {
        printf("\n  %s: eager and hybridized runs differ\n", what);
        CU_FAIL("eager and hybrid differ");
    }
    CU_ASSERT_EQUAL(am_block_hybridize(b, false, NULL), AM_OK);
    CU_ASSERT(tu_export_import_agree(b, in, n_in, 1e-5));
}

static void test_cells_eager_vs_hybrid(void)
{
    enum { N = 3, C = 4, H = 5 };
    for (int mode = M_RELU; mode <= M_GRU; mode++) {
        am_scope_begin();
        am_block *cell = make_cell(mode, H, 0);
        am_array *in[3] = {tu_random(AM_SHAPE(N, C), AM_DTYPE_FLOAT32, -1, 1),
                           tu_random(AM_SHAPE(N, H), AM_DTYPE_FLOAT32, -1, 1),
                           tu_random(AM_SHAPE(N, H), AM_DTYPE_FLOAT32, -1, 1)};
        check_eager_vs_hybrid(am_block_type(cell), cell, in, 1 + states_of(mode));
        am_block_release(cell);
        am_scope_end();
    }
}

static void test_unrolled_cells_eager_vs_hybrid(void)
{
    enum { N = 2, C = 3, H = 4 };
    for (int mode = M_RELU; mode <= M_GRU; mode++) {
        am_scope_begin();
        unrolled5 *u = am_block_new(&unrolled5_class);
        CU_ASSERT_PTR_NOT_NULL_FATAL(u);
        u->cell = am_block_add(&u->base, "cell", make_cell(mode, H, 0));
        CU_ASSERT_PTR_NOT_NULL_FATAL(u->cell);
        am_array *x = tu_random(AM_SHAPE(N, 5, C), AM_DTYPE_FLOAT32, -1, 1);
        check_eager_vs_hybrid("unrolled cell", &u->base, &x, 1);
        CU_ASSERT(am_shape_equal(am_param_shape(param_of(&u->base, "cell.i2h_weight")),
                                 AM_SHAPE(gates_of(mode) * H, C)));
        am_block_release(&u->base);
        am_scope_end();
    }
}

static void test_layers_eager_vs_hybrid(void)
{
    enum { T = 5, N = 3, C = 4, H = 3 };
    static const struct { int L; bool bi, ntc, states; } cfg[] = {
        {1, false, false, false}, {2, true, true, true}, {2, false, false, true},
        {1, true, false, false},
    };
    for (int mode = M_RELU; mode <= M_GRU; mode++)
        for (size_t k = 0; k < sizeof(cfg) / sizeof(cfg[0]); k++) {
            am_scope_begin();
            int D = cfg[k].bi ? 2 : 1;
            am_block *layer = make_layer(mode, H, &(am_rnn_layer_opts){
                .num_layers = cfg[k].L, .bidirectional = cfg[k].bi,
                .layout = cfg[k].ntc ? "NTC" : "TNC"});
            CU_ASSERT_PTR_NOT_NULL_FATAL(layer);
            am_array *in[3] = {tu_random(cfg[k].ntc ? AM_SHAPE(N, T, C) : AM_SHAPE(T, N, C),
                                         AM_DTYPE_FLOAT32, -1, 1),
                               tu_random(AM_SHAPE(cfg[k].L * D, N, H), AM_DTYPE_FLOAT32, -1, 1),
                               tu_random(AM_SHAPE(cfg[k].L * D, N, H), AM_DTYPE_FLOAT32, -1, 1)};
            check_eager_vs_hybrid(am_block_type(layer), layer, in,
                                  cfg[k].states ? 1 + states_of(mode) : 1);
            am_block_release(layer);
            am_scope_end();
        }
}

/* ---- deferred input sizes ----------------------------------------------------------------- */

static void test_deferred_input_size(void)
{
    enum { T = 3, N = 2, C = 7, H = 4 };
    am_scope_begin();
    /* a cell: FullyConnected infers i2h_weight */
    am_block *cell = am_gru_cell(H, NULL);
    CU_ASSERT(am_shape_equal(am_param_shape(param_of(cell, "i2h_weight")), AM_SHAPE(3 * H, 0)));
    am_block_initialize(cell, NULL);
    CU_ASSERT(!am_param_is_initialized(param_of(cell, "i2h_weight")));
    CU_ASSERT(am_param_is_initialized(param_of(cell, "h2h_weight")));
    am_array *in[2] = {tu_random(AM_SHAPE(N, C), AM_DTYPE_FLOAT32, -1, 1),
                       am_zeros(AM_SHAPE(N, H), AM_DTYPE_FLOAT32)}, *out[2];
    CU_ASSERT_EQUAL(am_block_forward(cell, in, 2, out, 2), 2);
    CU_ASSERT(am_shape_equal(am_param_shape(param_of(cell, "i2h_weight")), AM_SHAPE(3 * H, C)));
    CU_ASSERT(am_param_is_initialized(param_of(cell, "i2h_weight")));
    am_block_release(cell);
    /* layers, eager and hybridized before the first call: l0 and r0 wait for C */
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        am_block *lstm = am_lstm_layer(H, &(am_rnn_layer_opts){.num_layers = 2,
                                                              .bidirectional = true,
                                                              .layout = "NTC"});
        CU_ASSERT_PTR_NOT_NULL_FATAL(lstm);
        am_block_initialize(lstm, NULL);
        CU_ASSERT(!am_param_is_initialized(param_of(lstm, "r0_i2h_weight")));
        CU_ASSERT(am_shape_equal(am_param_shape(param_of(lstm, "l1_i2h_weight")),
                                 AM_SHAPE(4 * H, 2 * H)));
        if (hybrid) am_block_hybridize(lstm, true, NULL);
        am_array *y = am_block_call(lstm, tu_random(AM_SHAPE(N, T, C), AM_DTYPE_FLOAT32, -1, 1));
        CU_ASSERT(y && am_shape_equal(am_array_shape(y), AM_SHAPE(N, T, 2 * H)));
        CU_ASSERT(am_shape_equal(am_param_shape(param_of(lstm, "l0_i2h_weight")),
                                 AM_SHAPE(4 * H, C)));
        CU_ASSERT(am_shape_equal(am_param_shape(param_of(lstm, "r0_i2h_weight")),
                                 AM_SHAPE(4 * H, C)));
        CU_ASSERT(am_param_is_initialized(param_of(lstm, "r0_i2h_weight")));
        am_block_release(lstm);
    }
    am_scope_end();
}

/* ---- structure: names, shapes, states, traced graphs -------------------------------------- */

static void test_parameter_names_and_states(void)
{
    am_scope_begin();
    am_block *lstm = am_lstm_layer(3, &(am_rnn_layer_opts){.num_layers = 2,
                                                          .bidirectional = true,
                                                          .input_size = 5});
    am_param *ps[32];
    CU_ASSERT_EQUAL_FATAL(am_block_collect_params(lstm, NULL, ps, 32), 16);
    static const char *const want[] = {
        "l0_i2h_weight", "l0_h2h_weight", "l0_i2h_bias", "l0_h2h_bias",
        "r0_i2h_weight", "r0_h2h_weight", "r0_i2h_bias", "r0_h2h_bias",
        "l1_i2h_weight", "l1_h2h_weight", "l1_i2h_bias", "l1_h2h_bias",
        "r1_i2h_weight", "r1_h2h_weight", "r1_i2h_bias", "r1_h2h_bias"};
    for (int i = 0; i < 16; i++) CU_ASSERT_STRING_EQUAL(am_param_name(ps[i]), want[i]);
    CU_ASSERT(am_shape_equal(am_param_shape(ps[0]), AM_SHAPE(12, 5)));
    CU_ASSERT(am_shape_equal(am_param_shape(ps[1]), AM_SHAPE(12, 3)));
    CU_ASSERT(am_shape_equal(am_param_shape(ps[2]), AM_SHAPE(12)));
    CU_ASSERT(am_shape_equal(am_param_shape(ps[8]), AM_SHAPE(12, 6)));
    CU_ASSERT_STRING_EQUAL(am_block_type(lstm), "LSTM");
    CU_ASSERT_EQUAL(am_rnn_num_states(lstm), 2);
    CU_ASSERT(am_shape_equal(am_rnn_state_shape(lstm, 7), AM_SHAPE(4, 7, 3)));
    /* biases start at zero (Gluon's default), weights from the block-wide initializer */
    am_block_initialize(lstm, &constant_two);
    CU_ASSERT_EQUAL(am_item(am_param_data(ps[2]), 0), 0);
    CU_ASSERT_EQUAL(am_item(am_param_data(ps[0]), 0), 2);
    am_array *st[2];
    CU_ASSERT_EQUAL(am_rnn_begin_state(lstm, 7, st, 2), 2);
    CU_ASSERT(tu_allclose(st[1], am_zeros(AM_SHAPE(4, 7, 3), AM_DTYPE_FLOAT32), 0));
    am_block_release(lstm);

    am_block *gru = am_gru_cell(4, &(am_rnn_cell_opts){.input_size = 2,
                                                      .i2h_bias_init = {.kind = AM_INIT_ONE}});
    CU_ASSERT_EQUAL_FATAL(am_block_collect_params(gru, NULL, ps, 32), 4);
    static const char *const cell_names[] = {"i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"};
    for (int i = 0; i < 4; i++) CU_ASSERT_STRING_EQUAL(am_param_name(ps[i]), cell_names[i]);
    CU_ASSERT(am_shape_equal(am_param_shape(ps[0]), AM_SHAPE(12, 2)));
    am_block_initialize(gru, NULL);
    CU_ASSERT_EQUAL(am_item(am_param_data(ps[2]), 5), 1);
    CU_ASSERT_EQUAL(am_rnn_num_states(gru), 1);
    CU_ASSERT_EQUAL(am_rnn_begin_state(gru, 3, st, 2), 1);
    CU_ASSERT(am_shape_equal(am_array_shape(st[0]), AM_SHAPE(3, 4)));
    CU_ASSERT_STRING_EQUAL(am_block_type(gru), "GRUCell");
    am_block_release(gru);
    am_scope_end();
}

/* The traced graphs are made of the ops Gluon's cells and layers call. */
static void test_traced_graphs(void)
{
    am_scope_begin();
    am_block *lstm = am_lstm_cell(3, &(am_rnn_cell_opts){.input_size = 2});
    am_block_initialize(lstm, NULL);
    am_array *x = am_zeros(AM_SHAPE(4, 2), AM_DTYPE_FLOAT32);
    am_array *h = am_zeros(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_graph *g = am_block_trace(lstm, (am_array *[]){x, h, h}, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_num_outputs(g), 3);
    CU_ASSERT_EQUAL(tu_count_op(g, "FullyConnected"), 2);
    CU_ASSERT_EQUAL(tu_count_op(g, "SliceChannel"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "sigmoid"), 3);
    CU_ASSERT_EQUAL(tu_count_op(g, "tanh"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "Activation"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "elemwise_add"), 2);
    CU_ASSERT_EQUAL(tu_count_op(g, "elemwise_mul"), 3);
    am_graph_release(g);
    am_block_release(lstm);

    am_block *gru = am_gru_cell(3, &(am_rnn_cell_opts){.input_size = 2});
    am_block_initialize(gru, NULL);
    g = am_block_trace(gru, (am_array *[]){x, h}, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(tu_count_op(g, "SliceChannel"), 2);
    CU_ASSERT_EQUAL(tu_count_op(g, "Activation"), 3);
    CU_ASSERT_EQUAL(tu_count_op(g, "ones_like"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "elemwise_sub"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "elemwise_mul"), 3);
    CU_ASSERT_EQUAL(tu_count_op(g, "elemwise_add"), 4);
    am_graph_release(g);
    am_block_release(gru);

    am_block *layer = am_gru_layer(3, &(am_rnn_layer_opts){.bidirectional = true,
                                                          .layout = "NTC", .input_size = 2});
    am_block_initialize(layer, NULL);
    am_array *seq = am_zeros(AM_SHAPE(4, 5, 2), AM_DTYPE_FLOAT32);
    g = am_block_trace(layer, &seq, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(am_graph_num_outputs(g), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "Reshape"), 8);
    CU_ASSERT_EQUAL(tu_count_op(g, "Concat"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "RNN"), 1);
    CU_ASSERT_EQUAL(tu_count_op(g, "SwapAxis"), 2);
    am_shape s;
    am_dtype t;
    CU_ASSERT_EQUAL(am_graph_output_shape(g, 0, &s, &t), AM_OK);
    CU_ASSERT(am_shape_equal(s, AM_SHAPE(4, 5, 6)));
    am_graph_release(g);
    am_block_release(layer);
    am_scope_end();
}

/* ---- unroll ------------------------------------------------------------------------------- */

static void test_unroll_outputs(void)
{
    enum { N = 2, T = 4, C = 3, H = 2 };
    am_scope_begin();
    am_block *cell = am_lstm_cell(H, NULL);
    am_block_initialize(cell, &uniform_half);
    am_array *x = tu_random(AM_SHAPE(T, N, C), AM_DTYPE_FLOAT32, -1, 1);
    am_array *merged[1], *steps[T], *st_m[2], *st_s[2];
    CU_ASSERT_EQUAL_FATAL(am_rnn_unroll(cell, T, x, "TNC", NULL, true, merged, st_m), AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_rnn_unroll(cell, T, x, "TNC", NULL, false, steps, st_s), AM_OK);
    CU_ASSERT(am_shape_equal(am_array_shape(merged[0]), AM_SHAPE(T, N, H)));
    for (int t = 0; t < T; t++) {
        CU_ASSERT(am_shape_equal(am_array_shape(steps[t]), AM_SHAPE(N, H)));
        CU_ASSERT(tu_allclose(steps[t], am_reshape(am_slice_axis(merged[0], 0, t, t + 1),
                                                   AM_SHAPE(N, H)), 0));
    }
    CU_ASSERT(tu_allclose(st_m[0], steps[T - 1], 0));
    CU_ASSERT(tu_allclose(st_s[1], st_m[1], 0));
    /* NTC (the default layout) gives the same steps on the transposed input */
    am_array *ntc[1], *st_n[2];
    CU_ASSERT_EQUAL_FATAL(am_rnn_unroll(cell, T, am_swap_axis(x, 0, 1), NULL, NULL, true, ntc,
                                        st_n), AM_OK);
    CU_ASSERT(tu_allclose(ntc[0], am_swap_axis(merged[0], 0, 1), 1e-6));
    /* two unrolls chained through their states equal one over the whole sequence */
    am_array *half1[1], *half2[1], *st1[2], *st2[2];
    CU_ASSERT_EQUAL(am_rnn_unroll(cell, 2, am_slice_axis(x, 0, 0, 2), "TNC", NULL, true, half1,
                                  st1), AM_OK);
    CU_ASSERT_EQUAL(am_rnn_unroll(cell, 2, am_slice_axis(x, 0, 2, 4), "TNC", st1, true, half2,
                                  st2), AM_OK);
    CU_ASSERT(tu_allclose(st2[1], st_m[1], 1e-6));
    am_block_release(cell);
    am_scope_end();
}

/* ---- dropout between layers --------------------------------------------------------------- */

static void test_layer_dropout(void)
{
    enum { T = 5, N = 4, C = 3, H = 8 };
    am_scope_begin();
    am_block *drop = am_gru_layer(H, &(am_rnn_layer_opts){.num_layers = 2, .dropout = 0.5});
    am_block *plain = am_gru_layer(H, &(am_rnn_layer_opts){.num_layers = 2});
    am_array *x = tu_random(AM_SHAPE(T, N, C), AM_DTYPE_FLOAT32, -1, 1);
    am_block_initialize(drop, &uniform_half);
    am_block_initialize(plain, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(am_block_call(drop, x));   /* l0_i2h_weight gets its shape */
    CU_ASSERT_PTR_NOT_NULL_FATAL(am_block_call(plain, x));
    am_param *pd[16], *pp[16];
    int n = am_block_collect_params(drop, NULL, pd, 16);
    CU_ASSERT_EQUAL_FATAL(am_block_collect_params(plain, NULL, pp, 16), n);
    for (int i = 0; i < n; i++) am_param_set_data(pp[i], am_param_data(pd[i]));
    /* inference: no dropout */
    CU_ASSERT(tu_allclose(am_block_call(drop, x), am_block_call(plain, x), 0));
    /* training: the first layer's output is masked */
    am_autograd_record_begin(true);
    am_array *yd = am_block_call(drop, x), *yp = am_block_call(plain, x);
    am_autograd_end();
    CU_ASSERT_PTR_NOT_NULL_FATAL(yd);
    double diff = am_item(am_max(am_abs(am_sub(yd, yp)), NULL, 0, false), 0);
    CU_ASSERT(diff > 1e-3);
    am_block_release(drop);
    am_block_release(plain);
    am_scope_end();
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_constructor_errors(void)
{
    TU_ASSERT_FAILS(am_lstm_cell(0, NULL), AM_ERR_ARG, "hidden_size must be positive");
    TU_ASSERT_FAILS(am_rnn_cell(4, &(am_rnn_cell_opts){.activation = "swish"}), AM_ERR_ARG,
                    "'swish' is not an activation");
    TU_ASSERT_FAILS(am_gru_cell(4, &(am_rnn_cell_opts){.activation = "relu"}), AM_ERR_ARG,
                    "GRUCell: takes no activation");
    TU_ASSERT_FAILS(am_rnn_cell(4, &(am_rnn_cell_opts){.recurrent_activation = "relu"}),
                    AM_ERR_ARG, "RNNCell: takes no recurrent_activation");
    TU_ASSERT_FAILS(am_lstm_cell(4, &(am_rnn_cell_opts){.input_size = -1}), AM_ERR_ARG,
                    "input_size");
    TU_ASSERT_FAILS(am_lstm_layer(4, &(am_rnn_layer_opts){.layout = "CTN"}), AM_ERR_ARG,
                    "LSTM: layout 'CTN' must be 'TNC' or 'NTC'");
    TU_ASSERT_FAILS(am_gru_layer(4, &(am_rnn_layer_opts){.dropout = 1}), AM_ERR_ARG,
                    "GRU: dropout must be in [0, 1)");
    TU_ASSERT_FAILS(am_gru_layer(4, &(am_rnn_layer_opts){.num_layers = -2}), AM_ERR_ARG,
                    "num_layers");
    TU_ASSERT_FAILS(am_rnn_layer(4, &(am_rnn_layer_opts){.activation = "sigmoid"}), AM_ERR_ARG,
                    "RNN: activation 'sigmoid' must be 'relu' or 'tanh'");
    TU_ASSERT_FAILS(am_lstm_layer(4, &(am_rnn_layer_opts){.activation = "tanh"}), AM_ERR_ARG,
                    "LSTM: takes no activation");
    TU_ASSERT_FAILS(am_rnn_layer(-3, NULL), AM_ERR_ARG, "RNN: hidden_size");
}

/* Bad inputs fail with a clear message, eagerly and hybridized. */
static void test_call_errors(void)
{
    am_scope_begin();
    am_block *cell = am_lstm_cell(4, &(am_rnn_cell_opts){.input_size = 3});
    am_block *layer = am_gru_layer(4, &(am_rnn_layer_opts){.num_layers = 2, .input_size = 3});
    am_block_initialize(cell, NULL);
    am_block_initialize(layer, NULL);
    am_array *x2 = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *x3 = am_zeros(AM_SHAPE(5, 2, 3), AM_DTYPE_FLOAT32);
    am_array *h = am_zeros(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32);
    am_array *bad_h = am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        am_block_hybridize(cell, hybrid, NULL);
        am_block_hybridize(layer, hybrid, NULL);
        TU_ASSERT_FAILS(am_block_call_at(cell, (am_array *[]){x3, h, h}, 3, AM_HERE),
                        AM_ERR_SHAPE, "LSTMCell: input (5, 2, 3) must be 2-D");
        TU_ASSERT_FAILS(am_block_call_at(cell, (am_array *[]){x2, h, bad_h}, 3, AM_HERE),
                        AM_ERR_SHAPE, "LSTMCell: state 1 (3, 4) must be (2, 4)");
        TU_ASSERT_FAILS(am_block_call_at(cell, (am_array *[]){x2, h}, 2, AM_HERE), AM_ERR_ARG,
                        "LSTMCell: takes the input and 2 states (h, c), got 2 arrays");
        TU_ASSERT_FAILS(am_block_call_at(cell, (am_array *[]){am_zeros(AM_SHAPE(2, 5),
                                                                      AM_DTYPE_FLOAT32), h, h},
                                         3, AM_HERE),
                        AM_ERR_SHAPE, "has 5 features; i2h_weight (16, 3) takes 3");
        TU_ASSERT_FAILS(am_block_call(layer, x2), AM_ERR_SHAPE,
                        "GRU: input (2, 3) must be 3-D (time, batch, features)");
        TU_ASSERT_FAILS(am_block_call_at(layer, (am_array *[]){x3, bad_h}, 2, AM_HERE),
                        AM_ERR_SHAPE, "GRU: begin state 0 (3, 4) must be (2, 2, 4)");
        TU_ASSERT_FAILS(am_block_call_at(layer, (am_array *[]){x3, h, h}, 3, AM_HERE),
                        AM_ERR_ARG, "GRU: takes the input and optionally 1 begin state");
        TU_ASSERT_FAILS(am_block_call(layer, am_zeros(AM_SHAPE(5, 2, 6), AM_DTYPE_FLOAT32)),
                        AM_ERR_SHAPE, "GRU: input (5, 2, 6) has 6 features");
    }
    /* unroll and the state helpers */
    am_array *outs[8], *st[2];
    TU_ASSERT_FAILS(am_rnn_unroll(cell, 4, x3, "TNC", NULL, true, outs, st) == AM_OK,
                    AM_ERR_SHAPE,
                    "am_rnn_unroll: inputs (5, 2, 3) must be 3-D with 4 steps along axis 0 "
                    "(layout TNC) at test_layers_rnn.c:");
    TU_ASSERT_FAILS(am_rnn_unroll(cell, 5, x3, "TCN", NULL, true, outs, st) == AM_OK, AM_ERR_ARG,
                    "layout 'TCN'");
    TU_ASSERT_FAILS(am_rnn_unroll(layer, 5, x3, "TNC", NULL, true, outs, st) == AM_OK,
                    AM_ERR_ARG,
                    "am_rnn_unroll: GRU is not a recurrent cell");
    TU_ASSERT_FAILS(am_rnn_unroll(cell, 5, x3, "TNC", ((am_array *[]){h, bad_h}), true, outs,
                                  st) == AM_OK,
                    AM_ERR_SHAPE, "LSTMCell: state 1 (3, 4) must be (2, 4)");
    TU_ASSERT_FAILS(am_rnn_num_states(NULL) + 1, AM_ERR_ARG, "not a recurrent cell or layer");
    TU_ASSERT_FAILS(am_rnn_begin_state(cell, 2, st, 1) + 1, AM_ERR_ARG, "out must hold");
    am_block_release(cell);
    am_block_release(layer);
    am_scope_end();
}

/* ---- the example of docs/layers-rnn.md ---------------------------------------------------- */

static void test_docs_example(void)
{
    am_scope_begin();
    am_array *x = am_random_uniform(-1, 1, AM_SHAPE(8, 20, 16), AM_DTYPE_FLOAT32);  /* N, T, C */

    /* docs/layers-rnn.md, "Example" */
    am_block *lstm = am_lstm_layer(32, &(am_rnn_layer_opts){.num_layers = 2, .layout = "NTC",
                                                           .bidirectional = true});
    am_block_initialize(lstm, NULL);              /* l0_i2h_weight and r0_i2h_weight wait */
    am_array *h0[2];
    am_rnn_begin_state(lstm, 8, h0, 2);           /* zeros (4, 8, 32): h and c */
    am_array *out[3];
    am_array *in[3] = {x, h0[0], h0[1]};
    int n = am_block_forward(lstm, in, 3, out, 3);
    /* n == 3: out[0] (8, 20, 64), out[1] and out[2] (4, 8, 32) */
    am_block_hybridize(lstm, true, NULL);
    am_array *y = am_block_call(lstm, x);         /* output only: (8, 20, 64) */
    am_block_release(lstm);
    /* end of the example */

    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(am_shape_equal(am_array_shape(out[0]), AM_SHAPE(8, 20, 64)));
    CU_ASSERT(am_shape_equal(am_array_shape(out[2]), AM_SHAPE(4, 8, 32)));
    CU_ASSERT(tu_allclose(y, out[0], 1e-5));
    am_scope_end();
}

CU_TestInfo am_tests_layers_rnn[] = {
    {"cells against loops from their equations", test_cells_against_loops},
    {"LSTMCell activation options", test_lstm_cell_activations},
    {"fused layers against unrolled cells (modes, layers, directions, layouts)",
     test_layers_against_unrolled_cells},
    {"fused layers beyond one op's inputs and outputs", test_layers_beyond_op_limits},
    {"layers without begin states", test_layer_default_states},
    {"cells eager vs hybridized, outputs and gradients", test_cells_eager_vs_hybrid},
    {"a cell unrolled 5 steps, eager vs hybridized", test_unrolled_cells_eager_vs_hybrid},
    {"fused layers eager vs hybridized, outputs and gradients", test_layers_eager_vs_hybrid},
    {"deferred input sizes", test_deferred_input_size},
    {"parameter names, shapes, initializers and states", test_parameter_names_and_states},
    {"traced graphs use Gluon's ops", test_traced_graphs},
    {"unroll: merged, per step, layouts, chained states", test_unroll_outputs},
    {"dropout between layers", test_layer_dropout},
    {"constructor errors", test_constructor_errors},
    {"call errors, eager and hybridized", test_call_errors},
    {"the example of docs/layers-rnn.md", test_docs_example},
    CU_TEST_INFO_NULL,
};
