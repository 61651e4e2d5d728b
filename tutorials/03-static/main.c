/* Tutorial 03: the static path.  The same kind of network as tutorial 02 is
 * traced into a graph, trained with a compiled plan of its forward and
 * backward passes, timed against eager training, exported as MXNet symbol
 * JSON and .params, reloaded and run from the files alone. */
#include <amber/amber.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *const names[] = {"fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"};

/* One function for both paths: given concrete arrays it computes, given
 * symbolic ones it builds a graph. */
static am_array *forward(am_array *const *p, am_array *x)
{
    am_array *h = am_tanh(am_fully_connected(x, p[0], p[1], 32, false, true));
    return am_fully_connected(h, p[2], p[3], 2, false, true);
}

static am_array *loss_of(am_array *logits, am_array *label)
{
    return am_mean(am_negative(am_pick(am_log_softmax(logits, -1), label, -1)), NULL, 0, false);
}

static void sgd_step(am_array *w, am_array *g, float lr)
{
    float *p = am_array_data_f32(w);
    const float *d = am_array_data_f32(g);
    for (int64_t i = 0; i < am_array_size(w); i++) p[i] -= lr * d[i];
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static double accuracy(am_array *logits, am_array *label)
{
    am_array *pred = am_argmax(logits, -1, false);
    return am_item(am_mean(am_broadcast_equal(pred, label), NULL, 0, false), 0);
}

/* The training plan: the loss and its gradient for every parameter. */
static am_plan *training_plan(am_array *const *params, am_array *x, am_array *label)
{
    am_scope_begin();
    am_array *sym[4];
    for (int i = 0; i < 4; i++) sym[i] = am_var(names[i], am_array_shape(params[i]), AM_DTYPE_FLOAT32);
    am_array *data = am_var("data", am_array_shape(x), AM_DTYPE_FLOAT32);
    am_array *lab = am_var("label", am_array_shape(label), AM_DTYPE_FLOAT32);
    am_array *loss = loss_of(forward(sym, data), lab);
    am_graph *fwd = am_graph_create(&loss, 1);
    am_graph *train = am_graph_gradient(fwd, names, 4);   /* heads: loss, 4 gradients */
    am_plan *p = train ? am_plan_create(train, &(am_plan_opts){.training = true}) : NULL;
    am_plan_stats s = am_plan_get_stats(p);
    printf("training graph: %d nodes, %d steps per run, arena %lld bytes (%lld unshared)\n",
           am_graph_num_nodes(train), s.n_steps, (long long)s.arena_bytes, (long long)s.naive_bytes);
    am_plan_bind(p, "data", x);
    am_plan_bind(p, "label", label);
    for (int i = 0; i < 4; i++) am_plan_bind(p, names[i], params[i]);
    /* The loss's head gradient, d loss / d loss = 1: "<output name>_head_grad". */
    char *out_name, head_grad[128];
    am_graph_list_outputs(fwd, &out_name, 1);
    snprintf(head_grad, sizeof(head_grad), "%s_head_grad", out_name);
    free(out_name);
    am_plan_bind(p, head_grad, am_keep(am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32)));
    am_graph_release(fwd);
    am_graph_release(train);
    am_scope_end();
    return p;
}

static double eager_step(am_array *const *params, am_array *x, am_array *label)
{
    am_scope_begin();
    am_autograd_record_begin(true);
    am_array *loss = loss_of(forward(params, x), label);
    am_autograd_end();
    am_backward(loss);
    for (int i = 0; i < 4; i++) sgd_step(params[i], am_grad(params[i]), 0.5f);
    double l = am_item(loss, 0);
    am_scope_end();
    return l;
}

/* Writes the inference graph and the parameters as MXNet does; the data
 * variable records the input signature (batch included) the file is for. */
static void export_model(am_array *const *params, int64_t batch, const char *dir)
{
    char path[512];
    am_scope_begin();
    am_array *sym[4];
    for (int i = 0; i < 4; i++) sym[i] = am_var(names[i], am_array_shape(params[i]), AM_DTYPE_FLOAT32);
    am_array *prob = am_softmax(forward(sym, am_var("data", AM_SHAPE(batch, 2), AM_DTYPE_FLOAT32)), -1);
    am_graph *g = am_graph_create(&prob, 1);
    snprintf(path, sizeof(path), "%s/circle-symbol.json", dir);
    if (am_graph_save(g, path) != AM_OK) printf("%s\n", am_last_error());
    am_ndlist *l = am_ndlist_create();
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof(name), "arg:%s", names[i]);
        am_ndlist_add(l, name, params[i]);
    }
    snprintf(path, sizeof(path), "%s/circle-0000.params", dir);
    if (am_ndlist_save(l, path) != AM_OK) printf("%s\n", am_last_error());
    am_ndlist_free(l);
    am_graph_release(g);
    am_scope_end();
}

/* Loads the files back and runs them on new points, as `amber run` does. */
static void run_exported(const char *dir, am_array *x, am_array *label)
{
    char path[512];
    am_scope_begin();
    snprintf(path, sizeof(path), "%s/circle-symbol.json", dir);
    am_graph *g = am_graph_load(path);
    snprintf(path, sizeof(path), "%s/circle-0000.params", dir);
    am_ndlist *l = am_ndlist_load(path);
    const char *data = "data";
    am_shape shape = am_array_shape(x);
    am_plan *p = g && l ? am_plan_create(g, &(am_plan_opts){.names = &data, .shapes = &shape, .n = 1}) : NULL;
    if (!p) {
        printf("reloading: %s\n", am_last_error());
    } else {
        for (int i = 0; i < am_ndlist_size(l); i++)
            am_plan_bind(p, am_ndlist_name(l, i) + 4, am_ndlist_get(l, i)); /* skip "arg:" */
        am_plan_bind(p, "data", x);
        am_plan_run(p);
        printf("reloaded from %s: accuracy on 1000 new points %.3f\n", dir, accuracy(am_plan_output(p, 0), label));
    }
    snprintf(path, sizeof(path), "%s/circle-input.npy", dir);
    am_npy_save(path, x);
    printf("run the files without this program:\n  build/amber run %s/circle-symbol.json "
           "%s/circle-0000.params -i data=%s/circle-input.npy -o %s/circle-output.npy\n", dir, dir, dir, dir);
    am_plan_release(p);
    am_ndlist_free(l);
    am_graph_release(g);
    am_scope_end();
}

static void circle_data(int64_t n, am_array **x, am_array **label)
{
    *x = am_random_uniform(-1, 1, AM_SHAPE(n, 2), AM_DTYPE_FLOAT32);
    *label = am_lesser_scalar(am_sum(am_square(*x), (int[]){1}, 1, false), 0.36);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    am_seed(1);
    am_scope_begin();
    am_array *params[4] = {
        am_random_normal(0, 0.5, AM_SHAPE(32, 2), AM_DTYPE_FLOAT32), am_zeros(AM_SHAPE(32), AM_DTYPE_FLOAT32),
        am_random_normal(0, 0.5, AM_SHAPE(2, 32), AM_DTYPE_FLOAT32), am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT32)};
    am_array *x, *label;
    circle_data(512, &x, &label);

    /* 1. Train with the plan: one am_plan_run is a forward and a backward pass. */
    am_plan *p = training_plan(params, x, label);
    if (!p) {
        printf("%s\n", am_last_error());
        return 1;
    }
    double t0 = now_ms();
    for (int step = 0; step <= 300; step++) {
        am_scope_begin();
        am_plan_run(p);
        for (int i = 0; i < 4; i++) sgd_step(params[i], am_plan_output(p, 1 + i), 0.5f);
        if (step % 100 == 0) printf("step %3d  loss %.4f\n", step, am_item(am_plan_output(p, 0), 0));
        am_scope_end();
    }
    double t_plan = (now_ms() - t0) / 301;

    /* 2. The same steps eagerly, for comparison (training goes on). */
    for (int i = 0; i < 4; i++) am_attach_grad(params[i], AM_GRAD_WRITE);
    t0 = now_ms();
    double loss = 0;
    for (int step = 0; step < 100; step++) loss = eager_step(params, x, label);
    double t_eager = (now_ms() - t0) / 100;
    printf("loss after 100 eager steps more %.4f\n", loss);
    printf("one training step: eager %.3f ms, plan %.3f ms (%.1fx)\n", t_eager, t_plan, t_eager / t_plan);
    am_plan_release(p);

    /* 3. Export, reload, run. */
    export_model(params, 1000, dir);
    am_array *xt, *lt;
    circle_data(1000, &xt, &lt);
    run_exported(dir, xt, lt);
    am_scope_end();
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return 0;
}
