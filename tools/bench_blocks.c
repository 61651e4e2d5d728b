/* `amber bench blocks`: the same block code run eagerly and hybridized, in
 * inference and as a training step (forward, loss, backward); the whole
 * step with the optimizer's update as separate calls against one fused
 * plan (am_train_step); and the cost of a call through the plan cache next
 * to a bare plan run. */
#include <amber/amber.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "commands.h"

/* ---- workloads: blocks written over the ops, as a user writes them ----------------- */

typedef struct model {
    am_block base;
    int kind;
    am_param *p[16];
    int64_t steps, hidden;
} model;

enum { MLP, LENET, LSTM, TRANSFORMER, TINY };

static am_array *P(model *m, int i) { return am_param_value(m->p[i]); }

static am_array *mlp_fwd(model *m, am_array *x)
{
    am_array *h = am_relu(am_fully_connected(x, P(m, 0), P(m, 1), 256, false, true));
    h = am_relu(am_fully_connected(h, P(m, 2), P(m, 3), 256, false, true));
    return am_fully_connected(h, P(m, 4), P(m, 5), 10, false, true);
}

static am_array *lenet_fwd(model *m, am_array *x)
{
    const int64_t k5[] = {5, 5}, k2[] = {2, 2};
    am_array *h = am_relu(am_convolution(x, P(m, 0), P(m, 1), 2, k5, NULL, NULL, NULL, 6, 1));
    h = am_pooling(h, "max", k2, k2, NULL, 2, false, NULL, 0, true);
    h = am_relu(am_convolution(h, P(m, 2), P(m, 3), 2, k5, NULL, NULL, NULL, 16, 1));
    h = am_pooling(h, "max", k2, k2, NULL, 2, false, NULL, 0, true);
    h = am_relu(am_fully_connected(h, P(m, 4), P(m, 5), 120, false, true));
    h = am_relu(am_fully_connected(h, P(m, 6), P(m, 7), 84, false, true));
    return am_fully_connected(h, P(m, 8), P(m, 9), 10, false, true);
}

/* An LSTM written as a loop over time of primitive ops, a linear head on
 * the last state: x (T, N, I). */
static am_array *lstm_fwd(model *m, am_array *x)
{
    int64_t n = am_array_dim(x, 1), hdim = m->hidden;
    am_array *h = am_zeros(AM_SHAPE(n, hdim), AM_DTYPE_FLOAT32), *c = h;
    am_array *wi = P(m, 0), *bi = P(m, 1), *wh = P(m, 2), *bh = P(m, 3);
    for (int64_t t = 0; t < m->steps; t++) {
        am_array *xt = am_reshape(am_slice_axis(x, 0, t, t + 1), AM_SHAPE(n, -1));
        am_array *g = am_add(am_fully_connected(xt, wi, bi, 4 * hdim, false, true),
                             am_fully_connected(h, wh, bh, 4 * hdim, false, true));
        am_array *i = am_sigmoid(am_slice_axis(g, 1, 0, hdim));
        am_array *f = am_sigmoid(am_slice_axis(g, 1, hdim, 2 * hdim));
        am_array *u = am_tanh(am_slice_axis(g, 1, 2 * hdim, 3 * hdim));
        am_array *o = am_sigmoid(am_slice_axis(g, 1, 3 * hdim, 4 * hdim));
        c = am_add(am_mul(f, c), am_mul(i, u));
        h = am_mul(o, am_tanh(c));
    }
    return am_fully_connected(h, P(m, 4), P(m, 5), 10, false, true);
}

/* One post-norm transformer encoder layer (d 256, 4 heads, ff 1024, GELU),
 * then the mean over time and a linear head: x (N, T, D). */
static am_array *transformer_fwd(model *m, am_array *x)
{
    int64_t n = am_array_dim(x, 0), t = am_array_dim(x, 1), d = 256, heads = 4, dh = d / heads;
    am_array *qkv = am_fully_connected(x, P(m, 0), P(m, 1), 3 * d, false, false);
    am_array *part[3];
    const int perm[] = {0, 2, 1, 3};
    for (int k = 0; k < 3; k++) {
        am_array *s = am_slice_axis(qkv, 2, k * d, (k + 1) * d);
        s = am_transpose(am_reshape(s, AM_SHAPE(n, t, heads, dh)), perm, 4);
        part[k] = am_reshape(s, AM_SHAPE(n * heads, t, dh));
    }
    am_array *att = am_softmax(am_mul_scalar(am_batch_dot(part[0], part[1], false, true),
                                             1.0 / 8.0), -1);
    am_array *ctx = am_reshape(am_batch_dot(att, part[2], false, false), AM_SHAPE(n, heads, t, dh));
    ctx = am_reshape(am_transpose(ctx, perm, 4), AM_SHAPE(n, t, d));
    am_array *y = am_layer_norm(am_add(x, am_fully_connected(ctx, P(m, 2), P(m, 3), d, false, false)),
                                P(m, 4), P(m, 5), -1, 1e-5);
    am_array *ff = am_leaky_relu(am_fully_connected(y, P(m, 6), P(m, 7), 1024, false, false), NULL,
                                 "gelu", 0.25);
    y = am_layer_norm(am_add(y, am_fully_connected(ff, P(m, 8), P(m, 9), d, false, false)),
                      P(m, 10), P(m, 11), -1, 1e-5);
    return am_fully_connected(am_mean(y, (int[]){1}, 1, false), P(m, 12), P(m, 13), 10, false, true);
}

static am_array *model_forward(am_block *self, am_array *const *in, int n_in)
{
    model *m = (model *)self;
    (void)n_in;
    switch (m->kind) {
    case MLP: return mlp_fwd(m, in[0]);
    case LENET: return lenet_fwd(m, in[0]);
    case LSTM: return lstm_fwd(m, in[0]);
    case TRANSFORMER: return transformer_fwd(m, in[0]);
    default: return am_relu(in[0]);
    }
}

static const am_block_class model_class = {"BenchModel", sizeof(model), .forward = model_forward};

static model *make(int kind)
{
    static const char *const names[] = {"w0", "b0", "w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4",
                                        "w5", "b5", "w6", "b6"};
    static const int counts[] = {6, 10, 6, 14, 0};
    model *m = am_block_new(&model_class);
    m->kind = kind;
    m->steps = 32;
    m->hidden = 256;
    am_init one = am_init_one(), zero = am_init_zero();
    for (int i = 0; i < counts[kind]; i++) {
        bool gamma = kind == TRANSFORMER && (i == 4 || i == 10), beta = kind == TRANSFORMER && (i == 5 || i == 11);
        /* Biases and LayerNorm's beta are vectors; weights are inferred. */
        am_shape s = (i % 2 && !gamma) || beta ? AM_SHAPE(0) : AM_SHAPE(0, 0);
        if (gamma) s = AM_SHAPE(0);
        if (kind == LENET && (i == 0 || i == 2)) s = AM_SHAPE(0, 0, 0, 0);
        m->p[i] = am_block_param(&m->base, names[i], s, gamma ? &one : (i % 2 || beta) ? &zero : NULL);
    }
    am_block_initialize(&m->base, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});
    return m;
}

/* ---- timing ----------------------------------------------------------------------------- */

typedef struct run_arg {
    am_block *b;
    am_array *x, *label;
    bool train;
} run_arg;

static void run_once(void *p)
{
    run_arg *a = p;
    am_scope_begin();
    if (a->train) {
        am_autograd_record_begin(true);
        am_array *logits = am_block_call(a->b, a->x);
        am_array *loss = am_mean(am_negative(am_pick(am_log_softmax(logits, -1), a->label, -1)),
                                 NULL, 0, false);
        am_autograd_end();
        if (am_backward(loss) != AM_OK) fprintf(stderr, "bench: %s\n", am_last_error());
    } else if (!am_block_call(a->b, a->x)) {
        fprintf(stderr, "bench: %s\n", am_last_error());
    }
    am_scope_end();
}

static const char *const *only; /* workloads named on the command line, NULL-terminated */

static void report(const bench_cfg *cfg, const char *name, int kind, am_shape in, int64_t n)
{
    bool wanted = !only || !only[0];
    for (int i = 0; !wanted && only[i]; i++) wanted = strstr(name, only[i]) != NULL;
    if (!wanted) return;
    model *m = make(kind);
    run_arg a = {&m->base, am_random_uniform(-1, 1, in, AM_DTYPE_FLOAT32),
                 am_zeros(AM_SHAPE(n), AM_DTYPE_FLOAT32), false};
    double t[2][2];
    for (int train = 0; train < 2; train++)
        for (int hybrid = 0; hybrid < 2; hybrid++) {
            am_block_hybridize(&m->base, hybrid, NULL);
            a.train = train;
            t[train][hybrid] = bench_time_median(cfg, run_once, &a) * 1e3;
        }
    printf("| %-26s | %9.3f | %9.3f | %5.2fx | %9.3f | %9.3f | %5.2fx |\n", name, t[0][0], t[0][1],
           t[0][0] / t[0][1], t[1][0], t[1][1], t[1][0] / t[1][1]);
    fflush(stdout);
    am_block_release(&m->base);
}

/* ---- the whole training step: separate calls against one plan ----------------------- */

typedef struct step_arg {
    am_block *b, *loss;
    am_trainer *t;
    am_train_step *fused;
    am_array *x, *label;
    int64_t batch;
} step_arg;

/* Record, forward, loss, backward, then the trainer's update. */
static void run_separate(void *p)
{
    step_arg *a = p;
    am_scope_begin();
    am_autograd_record_begin(true);
    am_array *loss = am_block_call2(a->loss, am_block_call(a->b, a->x), a->label);
    am_autograd_end();
    if (am_backward(loss) != AM_OK || am_trainer_step(a->t, a->batch) != AM_OK)
        fprintf(stderr, "bench: %s\n", am_last_error());
    am_scope_end();
}

static void run_fused(void *p)
{
    step_arg *a = p;
    am_scope_begin();
    if (!am_train_step_run(a->fused, a->x, a->label, a->batch, NULL))
        fprintf(stderr, "bench: %s\n", am_last_error());
    am_scope_end();
}

static void report_step(const bench_cfg *cfg, const char *name, int kind, am_shape in, int64_t n)
{
    bool wanted = !only || !only[0];
    for (int i = 0; !wanted && only[i]; i++) wanted = strstr(name, only[i]) != NULL;
    if (!wanted) return;
    model *m = make(kind);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.momentum = 0.9, o.lr = 1e-3;
    step_arg a = {&m->base, am_softmax_ce_loss(NULL), am_trainer_create(&m->base, NULL, "sgd", &o),
                  NULL, am_random_uniform(-1, 1, in, AM_DTYPE_FLOAT32),
                  am_zeros(AM_SHAPE(n), AM_DTYPE_FLOAT32), n};
    a.fused = am_train_step_create(a.b, a.loss, a.t);
    double t_eager = bench_time_median(cfg, run_separate, &a) * 1e3;
    am_block_hybridize(a.b, true, NULL);
    am_block_hybridize(a.loss, true, NULL);
    double t_sep = bench_time_median(cfg, run_separate, &a) * 1e3;
    double t_fused = bench_time_median(cfg, run_fused, &a) * 1e3;
    printf("| %-26s | %9.3f | %9.3f | %9.3f | %5.2fx |\n", name, t_eager, t_sep, t_fused,
           t_sep / t_fused);
    fflush(stdout);
    am_train_step_free(a.fused);
    am_trainer_free(a.t);
    am_block_release(a.loss);
    am_block_release(&m->base);
}

typedef struct plan_arg {
    am_plan *p;
} plan_arg;

static void run_plan(void *p) { am_plan_run(((plan_arg *)p)->p); }

static void run_eager_relu(void *p)
{
    am_scope_begin();
    am_relu(((run_arg *)p)->x);
    am_scope_end();
}

/* What a call through the cache costs beyond the plan's own run. */
static void overhead(const bench_cfg *cfg)
{
    am_scope_begin();
    model *m = make(TINY);
    am_block_hybridize(&m->base, true, NULL);
    run_arg a = {&m->base, am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32), NULL, false};
    am_array *v = am_var("data", AM_SHAPE(1), AM_DTYPE_FLOAT32), *y = am_relu(v);
    am_graph *g = am_graph_create(&y, 1);
    plan_arg pa = {am_plan_create(g, NULL)};
    am_plan_bind(pa.p, "data", a.x);
    double t_plan = bench_time_median(cfg, run_plan, &pa) * 1e6;
    double t_block = bench_time_median(cfg, run_once, &a) * 1e6;
    double t_eager = bench_time_median(cfg, run_eager_relu, &a) * 1e6;
    printf("\nper call, a one-element relu: bare am_plan_run %.2f us, hybridized block call "
           "%.2f us (%.2f us over the plan), eager am_relu %.2f us\n", t_plan, t_block,
           t_block - t_plan, t_eager);
    am_plan_release(pa.p);
    am_graph_release(g);
    am_block_release(&m->base);
    am_scope_end();
}

int am_cmd_bench_blocks(int argc, char **argv)
{
    bench_cfg cfg = {.quick = false, .reps = 7, .min_s = 0.05};
    const char *names[16] = {0};
    int n_names = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            cfg = (bench_cfg){.quick = true, .reps = 3, .min_s = 0.01};
        } else if (argv[i][0] != '-' && n_names < 15) {
            names[n_names++] = argv[i];
        } else {
            fprintf(stderr, "usage: amber bench blocks [--quick] [WORKLOAD...] (a part of a name: "
                    "MLP, LeNet, LSTM, transformer)\n");
            return 2;
        }
    }
    only = names;
    am_seed(1);
    am_scope_begin();
    bench_print_threads();
    printf("\nms per call, median of %d; training = forward, softmax cross-entropy, backward\n\n", cfg.reps);
    printf("| %-26s | %9s | %9s | %6s | %9s | %9s | %6s |\n", "workload", "eager", "hybrid",
           "speed", "eager tr", "hybrid tr", "speed");
    printf("|%.28s|%.11s|%.11s|%.8s|%.11s|%.11s|%.8s|\n", "----------------------------------",
           "-------------", "-------------", "----------", "-------------", "-------------",
           "----------");
    report(&cfg, "MLP 784-256-256-10, b1", MLP, AM_SHAPE(1, 784), 1);
    report(&cfg, "MLP 784-256-256-10, b64", MLP, AM_SHAPE(64, 784), 64);
    report(&cfg, "LeNet 1x28x28, b64", LENET, AM_SHAPE(64, 1, 28, 28), 64);
    report(&cfg, "LSTM loop 128/256 x32, b16", LSTM, AM_SHAPE(32, 16, 128), 16);
    report(&cfg, "transformer d256 s64, b8", TRANSFORMER, AM_SHAPE(8, 64, 256), 8);
    printf("\nms per training step (forward, softmax cross-entropy, backward, SGD with momentum), "
           "median of %d:\neager and hybridized as separate calls (record, call, loss, "
           "am_backward, am_trainer_step), and the whole step as one plan (am_train_step_run)"
           "\n\n", cfg.reps);
    printf("| %-26s | %9s | %9s | %9s | %6s |\n", "workload", "eager", "hybrid", "one plan",
           "speed");
    printf("|%.28s|%.11s|%.11s|%.11s|%.8s|\n", "----------------------------------",
           "-------------", "-------------", "-------------", "----------");
    report_step(&cfg, "MLP 784-256-256-10, b1", MLP, AM_SHAPE(1, 784), 1);
    report_step(&cfg, "MLP 784-256-256-10, b64", MLP, AM_SHAPE(64, 784), 64);
    report_step(&cfg, "LeNet 1x28x28, b64", LENET, AM_SHAPE(64, 1, 28, 28), 64);
    report_step(&cfg, "LSTM loop 128/256 x32, b16", LSTM, AM_SHAPE(32, 16, 128), 16);
    report_step(&cfg, "transformer d256 s64, b8", TRANSFORMER, AM_SHAPE(8, 64, 256), 8);
    overhead(&cfg);
    bench_profiler_cost(&cfg);
    am_scope_end();
    return 0;
}
