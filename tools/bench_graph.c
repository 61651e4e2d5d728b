/* `amber bench graph [--quick] [--profile]`: node-by-node execution against the compiled
 * plan on three graphs built from primitive ops (an MLP, an LSTM cell
 * unrolled 32 steps, a transformer encoder layer), for inference and for one
 * training step (forward and backward), with the peak memory of each. */
#include "../executor/executor_impl.h"
#include "bench.h"

#include <math.h>

#define MAX_INPUTS 128

typedef struct model {
    const char *name;
    am_array *loss;              /* a scalar training loss */
    am_array *out;               /* the inference output */
    const char *data[4];         /* inputs that are not parameters */
    int n_data;
} model;

static am_array *param(const char *name, am_shape s)
{
    return am_var(name, s, AM_DTYPE_FLOAT32);
}

static am_array *dense(am_array *x, const char *name, int64_t in, int64_t out)
{
    char w[64], b[64];
    snprintf(w, sizeof(w), "%s_weight", name);
    snprintf(b, sizeof(b), "%s_bias", name);
    return am_fully_connected(x, param(w, AM_SHAPE(out, in)), param(b, AM_SHAPE(out)), out, false, true);
}

/* -mean(sum(label * log_softmax(z))) */
static am_array *cross_entropy(am_array *z, am_array *label)
{
    am_array *l = am_sum(am_mul(label, am_log_softmax(z, -1)), NULL, 0, false);
    return am_mul_scalar(l, -1.0 / (double)am_array_shape(z).dim[0]);
}

static model mlp(int64_t batch)
{
    am_array *x = am_var("data", AM_SHAPE(batch, 784), AM_DTYPE_FLOAT32);
    am_array *y = am_var("label", AM_SHAPE(batch, 10), AM_DTYPE_FLOAT32);
    am_array *h = am_relu(dense(x, "fc1", 784, 256));
    h = am_relu(dense(h, "fc2", 256, 256));
    am_array *z = dense(h, "fc3", 256, 10);
    return (model){"MLP 784-256-256-10", cross_entropy(z, y), am_softmax(z, -1), {"data", "label"}, 2};
}

/* An LSTM cell from primitive ops, unrolled over x (T, N, I): the gates are
 * two FullyConnected layers, split four ways. */
static model lstm(int64_t steps, int64_t batch, int64_t hidden)
{
    am_array *x = am_var("data", AM_SHAPE(steps, batch, hidden), AM_DTYPE_FLOAT32);
    am_array *target = am_var("target", AM_SHAPE(batch, hidden), AM_DTYPE_FLOAT32);
    am_array *wx = param("i2h_weight", AM_SHAPE(4 * hidden, hidden)), *bx = param("i2h_bias", AM_SHAPE(4 * hidden));
    am_array *wh = param("h2h_weight", AM_SHAPE(4 * hidden, hidden)), *bh = param("h2h_bias", AM_SHAPE(4 * hidden));
    am_array *h = am_zeros(AM_SHAPE(batch, hidden), AM_DTYPE_FLOAT32), *c = h;
    for (int64_t t = 0; t < steps; t++) {
        am_array *xt = am_reshape(am_slice_axis(x, 0, t, t + 1), AM_SHAPE(batch, hidden));
        am_array *gates = am_add(am_fully_connected(xt, wx, bx, 4 * hidden, false, true),
                                 am_fully_connected(h, wh, bh, 4 * hidden, false, true));
        am_array *g[4];
        if (am_split(gates, 4, 1, false, g) != AM_OK) break;
        c = am_add(am_mul(am_sigmoid(g[1]), c), am_mul(am_sigmoid(g[0]), am_tanh(g[2])));
        h = am_mul(am_sigmoid(g[3]), am_tanh(c));
    }
    am_array *d = am_sub(h, target);
    am_array *loss = am_mul_scalar(am_sum(am_mul(d, d), NULL, 0, false), 1.0 / (double)(batch * hidden));
    return (model){"LSTM unrolled 32 steps", loss, h, {"data", "target"}, 2};
}

static am_array *heads_of(am_array *x, int64_t b, int64_t s, int64_t h, int64_t dh)
{
    int axes[] = {0, 2, 1, 3};
    return am_reshape(am_transpose(am_reshape(x, AM_SHAPE(b, s, h, dh)), axes, 4), AM_SHAPE(b * h, s, dh));
}

/* One post-norm transformer encoder layer from primitive ops. */
static model transformer(int64_t b, int64_t s, int64_t d, int64_t nh)
{
    int64_t dh = d / nh;
    am_array *x = am_var("data", AM_SHAPE(b * s, d), AM_DTYPE_FLOAT32);
    am_array *target = am_var("target", AM_SHAPE(b * s, d), AM_DTYPE_FLOAT32);
    am_array *q = heads_of(dense(x, "q", d, d), b, s, nh, dh);
    am_array *k = heads_of(dense(x, "k", d, d), b, s, nh, dh);
    am_array *v = heads_of(dense(x, "v", d, d), b, s, nh, dh);
    am_array *att = am_softmax(am_mul_scalar(am_batch_dot(q, k, false, true), 1.0 / sqrt((double)dh)), -1);
    am_array *ctx = am_batch_dot(att, v, false, false);
    int axes[] = {0, 2, 1, 3};
    ctx = am_reshape(am_transpose(am_reshape(ctx, AM_SHAPE(b, nh, s, dh)), axes, 4), AM_SHAPE(b * s, d));
    am_array *h = am_add(x, dense(ctx, "proj", d, d));
    h = am_layer_norm(h, param("ln1_gamma", AM_SHAPE(d)), param("ln1_beta", AM_SHAPE(d)), -1, 1e-5);
    /* GELU from erf: 0.5 x (1 + erf(x / sqrt 2)) */
    am_array *f = dense(h, "ffn1", d, 4 * d);
    f = am_mul(am_mul_scalar(f, 0.5), am_plus_scalar(am_erf(am_mul_scalar(f, 1.0 / sqrt(2.0))), 1.0));
    am_array *y = am_add(h, dense(f, "ffn2", 4 * d, d));
    y = am_layer_norm(y, param("ln2_gamma", AM_SHAPE(d)), param("ln2_beta", AM_SHAPE(d)), -1, 1e-5);
    am_array *diff = am_sub(y, target);
    am_array *loss = am_mul_scalar(am_sum(am_mul(diff, diff), NULL, 0, false), 1.0 / (double)(b * s * d));
    return (model){"transformer layer", loss, y, {"data", "target"}, 2};
}

/* ---- measuring ----------------------------------------------------------------- */

typedef struct run_arg {
    am_graph *g;
    const char **names;
    am_array **vals;
    int n;
    bool training;
    am_plan *plan;
    int64_t peak;
} run_arg;

static void run_nodes(void *p)
{
    run_arg *a = p;
    am_array *out[AM_MAX_OP_IO];
    am_scope_begin();
    int64_t base = am_debug_live_bytes();
    am_debug_peak_reset();
    if (am_graph_eval(a->g, a->names, a->vals, a->n, a->training, out, am_graph_num_outputs(a->g)) != AM_OK)
        fprintf(stderr, "node by node: %s\n", am_last_error());
    int64_t peak = am_debug_peak_bytes() - base;
    if (peak > a->peak) a->peak = peak;
    am_scope_end();
}

static void run_plan(void *p)
{
    run_arg *a = p;
    if (am_plan_run(a->plan) != AM_OK) fprintf(stderr, "plan: %s\n", am_last_error());
}

/* The plan's own memory: the arena (outputs included) and the workspace. */
static int64_t plan_bytes(am_plan *p)
{
    am_plan_stats s = am_plan_get_stats(p);
    return s.arena_bytes + s.workspace_bytes;
}

static int bind_random(am_graph *g, const char **names, am_array **vals)
{
    int n = am_graph_list_inputs(g, names, MAX_INPUTS);
    if (n > MAX_INPUTS || am_graph_infer(g, NULL, NULL, NULL, 0) != AM_OK) return -1;
    for (int i = 0; i < n; i++) {
        am_shape s;
        am_graph_input_shape(g, names[i], &s, NULL);
        bool ones = strstr(names[i], "_head_grad") || strstr(names[i], "gamma");
        vals[i] = ones ? am_ones(s, AM_DTYPE_FLOAT32) : am_random_uniform(-0.1, 0.1, s, AM_DTYPE_FLOAT32);
    }
    return n;
}

static bool profile; /* --profile: where each plan's time goes */

static void bench_one(const bench_cfg *cfg, const char *name, const char *mode, am_graph *g, bool training)
{
    const char *names[MAX_INPUTS];
    am_array *vals[MAX_INPUTS];
    am_scope_begin();
    int n = bind_random(g, names, vals);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", name, am_last_error());
        am_scope_end();
        return;
    }
    run_arg a = {g, names, vals, n, training, NULL, 0};
    double t_nodes = bench_time_median(cfg, run_nodes, &a);
    am_plan *p = am_plan_create(g, &(am_plan_opts){.training = training});
    if (!p) {
        fprintf(stderr, "%s: %s\n", name, am_last_error());
        am_scope_end();
        return;
    }
    for (int i = 0; i < n; i++) am_plan_bind(p, names[i], vals[i]);
    am_clear_error();
    a.plan = p;
    double t_plan = bench_time_median(cfg, run_plan, &a);
    am_plan_stats s = am_plan_get_stats(p);
    int64_t mem = plan_bytes(p);
    printf("%-24s %-9s %6d %6d %9.3f %8.3f %6.2fx %9.2f %9.2f %8.2f %6.2f\n", name, mode, s.n_nodes,
           s.n_steps, t_nodes * 1e3, t_plan * 1e3, t_nodes / t_plan, (double)a.peak / (1 << 20),
           (double)s.naive_bytes / (1 << 20), (double)mem / (1 << 20),
           (double)mem / (double)(a.peak ? a.peak : 1));
    if (profile && am_plan_profile(p, cfg->reps, stdout) == AM_OK) putchar('\n');
    am_plan_release(p);
    am_scope_end();
}

/* The training graph: the loss and its gradient for every parameter. */
static am_graph *training_graph(const model *m)
{
    am_graph *fwd = am_graph_create(&m->loss, 1);
    if (!fwd) return NULL;
    const char *all[MAX_INPUTS], *wrt[MAX_INPUTS];
    int n = am_graph_list_arguments(fwd, all, MAX_INPUTS), n_wrt = 0;
    for (int i = 0; i < n && i < MAX_INPUTS; i++) {
        bool data = false;
        for (int k = 0; k < m->n_data; k++) data = data || strcmp(all[i], m->data[k]) == 0;
        if (!data) wrt[n_wrt++] = all[i];
    }
    am_graph *g = am_graph_gradient(fwd, wrt, n_wrt);
    am_graph_release(fwd);
    return g;
}

int am_cmd_bench_graph(int argc, char **argv)
{
    bench_cfg cfg = {.quick = false, .reps = 7, .min_s = 0.2};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            cfg = (bench_cfg){.quick = true, .reps = 3, .min_s = 0.01};
        } else if (strcmp(argv[i], "--profile") == 0) {
            profile = true;
        } else {
            fprintf(stderr, "usage: amber bench graph [--quick] [--profile]\n");
            return 2;
        }
    }
    bench_print_threads();
    printf("node by node: each node through its kernel into fresh arrays, freed after last use;\n"
           "plan: the optimized, memory-planned plan.  Times are medians of %d runs.  Memory\n"
           "(MiB) counts intermediate and output bytes, not inputs and parameters: the peak\n"
           "node by node, the plan's values with a buffer each (unshared), and the plan's\n"
           "arena and workspace; mem = plan / node-by-node peak.\n\n", cfg.reps);
    printf("%-24s %-9s %6s %6s %9s %8s %7s %9s %9s %8s %6s\n", "graph", "mode", "nodes", "steps",
           "nodes ms", "plan ms", "speed", "nodes", "unshared", "plan", "mem");
    for (int k = 0; k < 3; k++) {
        am_scope_begin();
        model m = k == 0 ? mlp(cfg.quick ? 8 : 64)
                : k == 1 ? lstm(cfg.quick ? 4 : 32, 16, cfg.quick ? 32 : 256)
                         : transformer(cfg.quick ? 2 : 8, cfg.quick ? 8 : 64, cfg.quick ? 32 : 256, 4);
        if (!m.loss || !m.out) {
            fprintf(stderr, "%s: %s\n", m.name, am_last_error());
            am_scope_end();
            return 1;
        }
        am_graph *inf = am_graph_create(&m.out, 1), *train = training_graph(&m);
        if (!inf || !train) fprintf(stderr, "%s: %s\n", m.name, am_last_error());
        if (inf) bench_one(&cfg, m.name, "inference", inf, false);
        if (train) bench_one(&cfg, m.name, "training", train, true);
        am_graph_release(inf);
        am_graph_release(train);
        am_scope_end();
    }
    return 0;
}
