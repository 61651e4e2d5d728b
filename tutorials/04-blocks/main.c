/* Tutorial 04: blocks.  A classifier for two interleaved spirals written as
 * a block: a C struct with child layers and one forward function over arrays.
 * Its parameters find their shapes at the first call; it trains eagerly,
 * prints values from the middle of its forward, and saves its parameters. */
#include <amber/amber.h>
#include <math.h>
#include <stdio.h>

/* ---- the model ------------------------------------------------------------------------------- */

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

static void print_params(am_block *b)
{
    am_param *ps[8];
    int n = am_block_collect_params(b, NULL, ps, 8);
    for (int i = 0; i < n; i++) {
        char shape[64];
        am_shape s = am_param_shape(ps[i]);
        printf("  %-15s %-9s %s\n", am_param_name(ps[i]), am_shape_format(&s, shape, sizeof(shape)),
               am_param_is_initialized(ps[i]) ? "initialized" : "waits for the first call");
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    am_seed(1);
    am_scope_begin();
    am_array *x, *label, *x_test, *label_test;
    spirals(512, &x, &label);
    spirals(1000, &x_test, &label_test);

    /* 1. Build and initialise.  The input size is unknown until the first call. */
    classifier *m = classifier_new();
    am_block *net = &m->base;
    am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});
    printf("parameters before the first call:\n");
    print_params(net);
    am_scope_begin();
    am_block_call(net, x);
    am_scope_end();
    printf("after it:\n");
    print_params(net);

    /* 2. Train eagerly: record a forward, backward, then SGD on every parameter. */
    am_param *ps[8];
    int np = am_block_collect_params(net, NULL, ps, 8);
    for (int step = 0; step <= 1000; step++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *logits = am_block_call(net, x);
        am_array *loss = cross_entropy(logits, label);
        am_autograd_end();
        am_backward(loss);
        for (int i = 0; i < np; i++) {
            float *w = am_array_data_f32(am_param_data(ps[i]));
            const float *g = am_array_data_f32(am_param_grad(ps[i]));
            for (int64_t k = 0; k < am_array_size(am_param_data(ps[i])); k++) w[k] -= 0.5f * g[k];
        }
        if (step % 200 == 0)
            printf("step %4d  loss %.4f  accuracy %.3f\n", step, am_item(loss, 0),
                   accuracy(logits, label));
        am_scope_end();
    }
    am_scope_begin();
    printf("accuracy on 1000 new points: %.3f\n", accuracy(am_block_call(net, x_test), label_test));

    /* 3. Look inside a forward: the probe prints while the model runs. */
    printf("a call on 4 points with the probe on:\n");
    m->probe->on = true;
    am_array *y = am_block_call(net, am_slice_axis(x_test, 0, 0, 4));
    m->probe->on = false;
    printf("  logits:\n");
    am_print(y);
    am_scope_end();

    /* 4. The model's structure, and its parameters on disk. */
    am_block_print(net, stdout);
    char path[512];
    snprintf(path, sizeof(path), "%s/spirals.params", dir);
    if (am_block_save_parameters(net, path) == AM_OK) printf("saved the parameters to %s\n", path);
    else printf("%s\n", am_last_error());

    am_block_release(net);
    am_scope_end();
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return 0;
}
