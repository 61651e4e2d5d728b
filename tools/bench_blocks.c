/* `amber bench blocks`: the same block code run eagerly and hybridized, in
 * inference and as a training step (forward, loss, backward); the whole
 * step with the optimizer's update as separate calls against one fused
 * plan (am_train_step); and the cost of a call through the plan cache next
 * to a bare plan run. */
#include <amber/amber.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_workloads.h"
#include "commands.h"

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

static void report(const bench_cfg *cfg, const char *name, bench_kind kind, am_shape in, int64_t n)
{
    bool wanted = !only || !only[0];
    for (int i = 0; !wanted && only[i]; i++) wanted = strstr(name, only[i]) != NULL;
    if (!wanted) return;
    am_block *m = bench_model(kind);
    run_arg a = {m, am_random_uniform(-1, 1, in, AM_DTYPE_FLOAT32),
                 am_zeros(AM_SHAPE(n), AM_DTYPE_FLOAT32), false};
    double t[2][2];
    for (int train = 0; train < 2; train++)
        for (int hybrid = 0; hybrid < 2; hybrid++) {
            am_block_hybridize(m, hybrid, NULL);
            a.train = train;
            t[train][hybrid] = bench_time_median(cfg, run_once, &a) * 1e3;
        }
    printf("| %-26s | %9.3f | %9.3f | %5.2fx | %9.3f | %9.3f | %5.2fx |\n", name, t[0][0], t[0][1],
           t[0][0] / t[0][1], t[1][0], t[1][1], t[1][0] / t[1][1]);
    fflush(stdout);
    am_block_release(m);
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

static void report_step(const bench_cfg *cfg, const char *name, bench_kind kind, am_shape in, int64_t n)
{
    bool wanted = !only || !only[0];
    for (int i = 0; !wanted && only[i]; i++) wanted = strstr(name, only[i]) != NULL;
    if (!wanted) return;
    am_block *m = bench_model(kind);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.momentum = 0.9, o.lr = 1e-3;
    step_arg a = {m, am_softmax_ce_loss(NULL), am_trainer_create(m, NULL, "sgd", &o),
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
    am_block_release(m);
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
    am_block *m = bench_model(TINY);
    am_block_hybridize(m, true, NULL);
    run_arg a = {m, am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32), NULL, false};
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
    am_block_release(m);
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
