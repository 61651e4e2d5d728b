/* Tutorial 08: profiling.  A small classifier trains for a few steps eagerly
 * and then hybridized, both recorded into one Chrome trace that Perfetto
 * (ui.perfetto.dev) or chrome://tracing opens. */
#include <amber/amber.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

enum { STEPS = 5, POINTS = 512 };

/* n points on two spirals (tutorial 05's data); the label says which. */
static void spirals(int64_t n, am_array **x, am_array **label)
{
    am_array *t = am_random_uniform(0, 1, AM_SHAPE(n, 1), AM_DTYPE_FLOAT32);
    am_array *c = am_greater_scalar(am_random_uniform(0, 1, AM_SHAPE(n, 1), AM_DTYPE_FLOAT32), 0.5);
    am_array *angle = am_add(am_mul_scalar(t, 2 * M_PI), am_mul_scalar(c, M_PI));
    am_array *r = am_plus_scalar(am_mul_scalar(t, 0.9), 0.1);
    am_array *xy[2] = {am_mul(r, am_cos(angle)), am_mul(r, am_sin(angle))};
    *x = am_add(am_concat(xy, 2, 1), am_random_normal(0, 0.02, AM_SHAPE(n, 2), AM_DTYPE_FLOAT32));
    *label = am_reshape(c, AM_SHAPE(n));
}

/* 2 -> 32 -> 32 -> 2 with tanh. */
static am_block *classifier(void)
{
    const am_dense_opts tanh_layer = {.activation = "tanh"};
    am_block *net = am_sequential();
    am_sequential_add(net, am_dense(32, &tanh_layer));
    am_sequential_add(net, am_dense(32, &tanh_layer));
    am_sequential_add(net, am_dense(2, NULL));
    return net;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

/* One training step: forward, loss, backward, SGD.  Returns its time. */
static double step(am_block *net, am_block *loss, am_trainer *t, am_array *x, am_array *y,
                   double *value)
{
    double t0 = now_ms();
    am_scope_begin();
    am_autograd_record_begin(true);
    am_array *l = am_mean(am_block_call2(loss, am_block_call(net, x), y), NULL, 0, false);
    am_autograd_end();
    am_backward(l);
    am_trainer_step(t, 1);
    *value = am_item(l, 0);
    am_scope_end();
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[1024];
    snprintf(path, sizeof(path), "%s/profile-trace.json", dir);
    setvbuf(stdout, NULL, _IOLBF, 0);
    am_scope_begin();
    am_seed(1);
    am_array *x, *y;
    spirals(POINTS, &x, &y);
    am_block *net = classifier(), *loss = am_softmax_ce_loss(NULL);
    am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.lr = 0.5;
    am_trainer *t = am_trainer_create(net, NULL, "sgd", &o);

    /* 1. Everything between start and stop goes into the trace. */
    if (am_profiler_start(path) != AM_OK) {
        fprintf(stderr, "%s\n", am_last_error());
        return 1;
    }
    double ms[2][STEPS], l;
    printf("step  mode        loss      ms\n");
    for (int mode = 0; mode < 2; mode++) {
        /* 2. The same block, the same loop: only this call differs. */
        am_block_hybridize(net, mode == 1, NULL);
        for (int s = 0; s < STEPS; s++) {
            ms[mode][s] = step(net, loss, t, x, y, &l);
            printf("%4d  %-10s  %.5f  %6.3f\n", mode * STEPS + s, mode ? "hybridized" : "eager",
                   l, ms[mode][s]);
        }
    }
    /* 3. The trace is written, whole, when the profiler stops. */
    if (am_profiler_stop() != AM_OK) {
        fprintf(stderr, "%s\n", am_last_error());
        return 1;
    }
    printf("the first hybridized step traces and compiles: %.3f ms; the later ones %.3f ms "
           "against %.3f ms eagerly\n", ms[1][0], ms[1][STEPS - 1], ms[0][STEPS - 1]);
    printf("trace written to %s\n"
           "open it in https://ui.perfetto.dev (Open trace file) or chrome://tracing (Load);\n"
           "or draw it: python3 tools/trace_png.py %s out.png\n", path, path);

    am_trainer_free(t);
    am_block_release(loss);
    am_block_release(net);
    am_scope_end();
    return 0;
}
