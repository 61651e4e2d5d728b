/* Tutorial 05: hybridize.  The classifier of tutorial 04, unchanged, trained
 * again eagerly and then hybridized: the same losses step by step, the time
 * of a step both ways, the plan cache at work, and what happens to a block
 * that reads values while it is traced. */
#include <amber/amber.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- the model of tutorial 04 ---------------------------------------------------------------- */

/* Passes its input through; when on, prints part of it and says how many
 * units are saturated.  Eager code reads values and branches on them as any
 * C code does. */
typedef struct probe {
    am_block base;
    bool on;
} probe;

static am_array *probe_forward(am_block *self, am_array *const *in, int n_in)
{
    (void)n_in;
    if (!((probe *)self)->on) return in[0];
    printf("  probe: the first 2 rows, first 6 units:\n");
    am_print(am_slice_axis(am_slice_axis(in[0], 0, 0, 2), 1, 0, 6));
    double saturated = am_item(am_mean(am_greater_scalar(am_abs(in[0]), 0.95), NULL, 0, false), 0);
    printf("  probe: %.0f%% of the units saturated (|h| > 0.95)", 100 * saturated);
    if (saturated > 0.25)
        printf(", too many: lower the learning rate\n");
    else
        printf(", fine\n");
    return in[0];
}

static const am_block_class probe_class = {"Probe", sizeof(probe), .forward = probe_forward};

/* 2 -> 32 -> 32 -> 2 with tanh, and the probe after the second layer. */
typedef struct classifier {
    am_block base;
    am_block *hidden1, *hidden2, *output;
    probe *probe;
} classifier;

static am_array *classifier_forward(am_block *self, am_array *const *in, int n_in)
{
    classifier *m = (classifier *)self;
    (void)n_in;
    am_array *h = am_block_call(m->hidden2, am_block_call(m->hidden1, in[0]));
    return am_block_call(m->output, am_block_call(&m->probe->base, h));
}

static const am_block_class classifier_class = {"Classifier", sizeof(classifier),
                                                .forward = classifier_forward};

static classifier *classifier_new(void)
{
    const am_dense_opts tanh_layer = {.activation = "tanh"};
    classifier *m = am_block_new(&classifier_class);
    m->hidden1 = am_block_add(&m->base, "hidden1", am_dense(32, &tanh_layer));
    m->hidden2 = am_block_add(&m->base, "hidden2", am_dense(32, &tanh_layer));
    m->probe = (probe *)am_block_add(&m->base, "probe", am_block_new(&probe_class));
    m->output = am_block_add(&m->base, "output", am_dense(2, NULL));
    return m;
}

/* ---- data, loss, accuracy -------------------------------------------------------------------- */

/* n points on two spirals of one turn each, with a little noise; the label
 * (0 or 1) says which spiral. */
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

static am_array *cross_entropy(am_array *logits, am_array *label)
{
    return am_mean(am_negative(am_pick(am_log_softmax(logits, -1), label, -1)), NULL, 0, false);
}

static double accuracy(am_array *logits, am_array *label)
{
    am_array *pred = am_argmax(logits, -1, false);
    return am_item(am_mean(am_broadcast_equal(pred, label), NULL, 0, false), 0);
}

/* ---- training both ways ---------------------------------------------------------------------- */

enum { STEPS = 1001 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0 .. n), which it sorts. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), by_value);
    return v[n / 2];
}

/* Tutorial 04's program up to the end of its training loop: the same seed,
 * data (d: x, label, x_test, label_test), initial values and steps.  Fills
 * the loss and the time of every step.  hybrid is the only difference. */
static classifier *train(bool hybrid, am_array **d, double *loss, double *ms)
{
    am_seed(1);
    spirals(512, &d[0], &d[1]);
    spirals(1000, &d[2], &d[3]);
    classifier *m = classifier_new();
    am_block *net = &m->base;
    am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});
    am_block_hybridize(net, hybrid, NULL);
    am_param *ps[8];
    int np = am_block_collect_params(net, NULL, ps, 8);
    for (int step = 0; step < STEPS; step++) {
        double t0 = now_ms();
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *l = cross_entropy(am_block_call(net, d[0]), d[1]);
        am_autograd_end();
        am_backward(l);
        for (int i = 0; i < np; i++) {
            float *w = am_array_data_f32(am_param_data(ps[i]));
            const float *g = am_array_data_f32(am_param_grad(ps[i]));
            for (int64_t k = 0; k < am_array_size(am_param_data(ps[i])); k++) w[k] -= 0.5f * g[k];
        }
        loss[step] = am_item(l, 0);
        am_scope_end();
        ms[step] = now_ms() - t0;
    }
    return m;
}

static void print_stats(const char *when, am_block *b)
{
    am_cache_stats s = am_block_cache_stats(b);
    printf("  %-44s traces %lld  hits %4lld  evictions %lld  plans held %d\n", when,
           (long long)s.traces, (long long)s.hits, (long long)s.evictions, s.entries);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* in order with the library's messages on stderr */
    am_scope_begin();
    am_array *d[4];

    /* 1. The same training eagerly and hybridized. */
    static double loss_e[STEPS], ms_e[STEPS], loss_h[STEPS], ms_h[STEPS];
    classifier *eager = train(false, d, loss_e, ms_e);
    classifier *m = train(true, d, loss_h, ms_h);
    am_array *x = d[0], *x_test = d[2], *label_test = d[3];
    am_block *net = &m->base;
    printf("step   eager loss   hybridized loss\n");
    double worst = 0;
    for (int step = 0; step < STEPS; step++) {
        worst = fmax(worst, fabs(loss_h[step] - loss_e[step]) / loss_e[step]);
        if (step % 200 == 0)
            printf("%4d   %.6f     %.6f\n", step, loss_e[step], loss_h[step]);
    }
    printf("largest relative difference over %d steps: %.1e\n", STEPS, worst);

    /* 2. Time per training step (forward, backward, SGD), the median over the steps. */
    double te = median(ms_e + 1, STEPS - 1), th = median(ms_h + 1, STEPS - 1); /* without step 0 */
    printf("one training step: eager %.3f ms, hybridized %.3f ms (%.2fx); "
           "the first hybridized step (trace, optimize, plan) %.1f ms\n", te, th, te / th, ms_h[0]);

    /* 3. The plan cache: one plan per input signature. */
    printf("plan cache of the hybridized classifier:\n");
    print_stats("after training (512 points, recorded):", net);
    am_scope_begin();
    double acc_e = accuracy(am_block_call(&eager->base, x_test), label_test);
    double acc_h = accuracy(am_block_call(net, x_test), label_test);
    print_stats("+ a call on 1000 points, inference:", net);
    am_block_call(net, x);
    print_stats("+ a call on 512 points, inference:", net);
    for (int i = 0; i < 10; i++) am_block_call(net, x_test);
    print_stats("+ 10 more calls on 1000 points:", net);
    printf("accuracy on the 1000 points: eager %.3f, hybridized %.3f\n", acc_e, acc_h);
    am_scope_end();
    am_block_release(&eager->base);

    /* 4. A forward that reads values cannot be traced: the probe of tutorial 04. */
    am_scope_begin();
    am_array *four = am_slice_axis(x_test, 0, 0, 4);
    m->probe->on = true;
    printf("a hybridized call on 1000 points with the probe on:\n");
    am_block_call(net, x_test); /* a cached plan: the probe's C code does not run */
    printf("  (nothing from the probe: the plan was traced while it was off)\n");
    printf("a hybridized call on 4 points, a new signature, with the probe on:\n");
    if (!am_block_call(net, four)) printf("the call failed:\n  %s\n", am_last_error());
    am_clear_error();
    am_block_set_eager(&m->probe->base, "it reads values when on");
    printf("again, with the probe marked eager:\n");
    am_array *y = am_block_call(net, four);
    printf("  logits:\n");
    am_print(y);
    am_scope_end();

    am_block_release(net);
    am_scope_end();
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return 0;
}
