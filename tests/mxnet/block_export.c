/* Models written as blocks, hybridized, run and exported with
 * am_block_export, for `make check-mxnet`: tests/mxnet/check.py loads each
 * export in real MXNet and compares with the output written here.  Uses the
 * public API only. */
#include <amber/amber.h>
#include <stdio.h>
#include <string.h>

/* ---- a small CNN with BatchNorm, its moving statistics trained ------------------- */

typedef struct convbn {
    am_block base;
    am_param *w, *gamma, *beta, *mean, *var, *fw, *fb;
} convbn;

static am_array *convbn_forward(am_block *self, am_array *const *in, int n_in)
{
    convbn *m = (convbn *)self;
    const int64_t k[] = {3, 3}, pad[] = {1, 1};
    (void)n_in;
    am_array *h = am_convolution(in[0], am_param_value(m->w), NULL, 2, k, NULL, pad, NULL, 8, 1);
    h = am_batch_norm(h, am_param_value(m->gamma), am_param_value(m->beta), am_param_value(m->mean),
                      am_param_value(m->var), 1e-5, 0.9, false, false, 1);
    h = am_pooling(am_relu(h), "avg", NULL, NULL, NULL, 0, true, NULL, 0, true);
    return am_fully_connected(h, am_param_value(m->fw), am_param_value(m->fb), 10, false, true);
}

static const am_block_class convbn_class = {"ConvBN", sizeof(convbn), .forward = convbn_forward};

static am_block *make_convbn(void)
{
    convbn *m = am_block_new(&convbn_class);
    am_init one = am_init_one(), zero = am_init_zero();
    m->w = am_block_param(&m->base, "conv_weight", AM_SHAPE(8, 0, 3, 3), NULL);
    m->gamma = am_block_param(&m->base, "bn_gamma", AM_SHAPE(8), &one);
    m->beta = am_block_param(&m->base, "bn_beta", AM_SHAPE(8), &zero);
    m->mean = am_block_param(&m->base, "bn_running_mean", AM_SHAPE(8), &zero);
    m->var = am_block_param(&m->base, "bn_running_var", AM_SHAPE(8), &one);
    am_param_set_grad_req(m->mean, AM_GRAD_NULL);
    am_param_set_grad_req(m->var, AM_GRAD_NULL);
    m->fw = am_block_param(&m->base, "fc_weight", AM_SHAPE(10, 0), NULL);
    m->fb = am_block_param(&m->base, "fc_bias", AM_SHAPE(10), &zero);
    return &m->base;
}

/* ---- a shared child applied twice, a captured constant, an unused parameter ------- */

typedef struct affine {
    am_block base;
    am_param *w, *b;
} affine;

static am_array *affine_forward(am_block *self, am_array *const *in, int n_in)
{
    affine *a = (affine *)self;
    (void)n_in;
    return am_fully_connected(in[0], am_param_value(a->w), am_param_value(a->b), 12, false, true);
}

static const am_block_class affine_class = {"Affine", sizeof(affine), .forward = affine_forward};

typedef struct tied {
    am_block base;
    am_block *inner;
    am_param *unused; /* registered, never read: export leaves it out */
} tied;

static am_array *tied_forward(am_block *self, am_array *const *in, int n_in)
{
    tied *t = (tied *)self;
    (void)n_in;
    am_array *shift = am_full(AM_SHAPE(12), AM_DTYPE_FLOAT32, 0.25);   /* captured constant */
    am_array *h = am_tanh(am_broadcast_add(am_block_call(t->inner, in[0]), shift));
    return am_softmax(am_block_call(t->inner, h), -1);
}

static const am_block_class tied_class = {"Tied", sizeof(tied), .forward = tied_forward};

static am_block *make_tied(void)
{
    tied *t = am_block_new(&tied_class);
    affine *a = am_block_new(&affine_class);
    a->w = am_block_param(&a->base, "weight", AM_SHAPE(12, 12), NULL);
    a->b = am_block_param(&a->base, "bias", AM_SHAPE(12), &(am_init){.kind = AM_INIT_NORMAL, .scale = 0.1});
    t->inner = am_block_add(&t->base, "inner", &a->base);
    t->unused = am_block_param(&t->base, "unused", AM_SHAPE(3), &(am_init){.kind = AM_INIT_ONE});
    return &t->base;
}

/* ---- models made of the built-in layers ------------------------------------------------- */

/* Conv, BatchNorm, pooling, Dense, Dropout and activations in a Sequential. */
static am_block *make_layers_cnn(void)
{
    am_block *net = am_sequential();
    am_sequential_add(net, am_conv2d(8, AM_SHAPE(3), &(am_conv_opts){.padding = AM_SHAPE(1)}));
    am_sequential_add(net, am_batch_norm_layer(NULL));
    am_sequential_add(net, am_activation_layer("relu"));
    am_sequential_add(net, am_max_pool2d(NULL));
    am_sequential_add(net, am_conv2d(12, AM_SHAPE(3), &(am_conv_opts){.strides = AM_SHAPE(2),
                                                                       .activation = "tanh"}));
    am_sequential_add(net, am_global_avg_pool2d());
    am_sequential_add(net, am_flatten_layer());
    am_sequential_add(net, am_dense(16, &(am_dense_opts){.activation = "relu"}));
    am_sequential_add(net, am_dropout_layer(0.3, NULL));
    am_sequential_add(net, am_layer_norm_layer(NULL));
    am_sequential_add(net, am_dense(5, NULL));
    return net;
}

/* A bidirectional two-layer LSTM over (N, T, C), then a Dense head. */
static am_block *make_layers_lstm(void)
{
    am_block *net = am_sequential();
    am_sequential_add(net, am_lstm_layer(6, &(am_rnn_layer_opts){.num_layers = 2, .layout = "NTC",
                                                                  .bidirectional = true}));
    am_sequential_add(net, am_dense(4, &(am_dense_opts){.no_flatten = true}));
    return net;
}

/* ---- running and exporting ---------------------------------------------------------- */

static int export_one(const char *dir, const char *name, am_block *b, am_array *x, int train_steps)
{
    char path[512];
    int rc = 0;
    am_scope_begin();
    if (am_block_initialize(b, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3}) != AM_OK) rc = 1;
    am_block_hybridize(b, true, NULL);
    /* Training-mode calls move BatchNorm's statistics away from 0 and 1. */
    for (int s = 0; s < train_steps; s++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *y = am_block_call(b, am_random_normal(0.5, 2, am_array_shape(x), AM_DTYPE_FLOAT32));
        am_array *loss = am_sum(y, NULL, 0, false);
        am_autograd_end();
        if (!loss || am_backward(loss) != AM_OK) rc = 1;
        am_scope_end();
    }
    am_array *y = am_block_call(b, x);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!y || am_block_export(b, path, 0) != AM_OK) rc = 1;
    snprintf(path, sizeof(path), "%s/%s-input.npy", dir, name);
    if (rc == 0 && am_npy_save(path, x) != AM_OK) rc = 1;
    snprintf(path, sizeof(path), "%s/%s-output.npy", dir, name);
    if (rc == 0 && am_npy_save(path, y) != AM_OK) rc = 1;
    if (rc) {
        snprintf(path, sizeof(path), "%s/%s-error.txt", dir, name);
        FILE *f = fopen(path, "w");
        if (f) fprintf(f, "%s\n", am_last_error()), fclose(f);
        fprintf(stderr, "block_export: %s: %s\n", name, am_last_error());
    } else {
        printf("block_export: %-18s -> %s/%s-*\n", name, dir, name);
    }
    am_block_release(b);
    am_scope_end();
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int rc = 0;
    am_seed(42);
    am_scope_begin();
    rc |= export_one(dir, "block_convbn", make_convbn(),
                     am_random_normal(0, 1, AM_SHAPE(2, 3, 8, 8), AM_DTYPE_FLOAT32), 5);
    rc |= export_one(dir, "block_tied", make_tied(),
                     am_random_normal(0, 1, AM_SHAPE(4, 12), AM_DTYPE_FLOAT32), 0);
    rc |= export_one(dir, "layers_cnn", make_layers_cnn(),
                     am_random_normal(0, 1, AM_SHAPE(2, 3, 10, 10), AM_DTYPE_FLOAT32), 3);
    rc |= export_one(dir, "layers_lstm", make_layers_lstm(),
                     am_random_normal(0, 1, AM_SHAPE(3, 5, 7), AM_DTYPE_FLOAT32), 1);
    am_scope_end();
    return rc;
}
