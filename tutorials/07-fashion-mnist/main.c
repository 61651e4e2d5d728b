/* Tutorial 07 and `make demo`: a LeNet-style network learns Fashion-MNIST.
 * It trains eagerly for a while, is hybridized and trains on with the same
 * code, reports test accuracy and the eager/hybridized step time, and
 * exports itself for `amber run`.  With --score it reads amber run's output
 * and the labels, and prints the export's accuracy. */
#include <amber/amber.h>
#include <amber/data.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* conv 8@5x5 - pool - conv 16@5x5 - pool - dense 64 - dense 10, on (N, 1, 28, 28). */
static am_block *lenet(void)
{
    const am_conv_opts relu5 = {.padding = AM_SHAPE(2), .activation = "relu"};
    am_block *net = am_sequential();
    am_sequential_add(net, am_conv2d(8, AM_SHAPE(5), &relu5));
    am_sequential_add(net, am_max_pool2d(NULL));
    am_sequential_add(net, am_conv2d(16, AM_SHAPE(5), &relu5));
    am_sequential_add(net, am_max_pool2d(NULL));
    am_sequential_add(net, am_dense(64, &(am_dense_opts){.activation = "relu"}));
    am_sequential_add(net, am_dense(10, NULL));
    return net;
}

/* ---- progress --------------------------------------------------------------------------- */

typedef struct progress {
    const char *phase;
    int total, done;
    double start, loss;
    bool tty;
} progress;

static void progress_show(progress *p, bool last)
{
    double t = now_s() - p->start, rate = p->done / (t > 0 ? t : 1e-9);
    double eta = (p->total - p->done) / (rate > 0 ? rate : 1);
    if (p->tty) {
        int width = 30, fill = p->total ? width * p->done / p->total : width;
        printf("\r%-11s [%.*s%*s] %4d/%d  %6.1f steps/s  loss %.4f  ETA %4.1f s", p->phase,
               fill, "##############################", width - fill, "", p->done, p->total, rate,
               p->loss, eta);
        if (last) printf("\n");
    } else if (last || p->done % 200 == 0) {
        printf("%-11s step %4d/%d  %6.1f steps/s  loss %.4f\n", p->phase, p->done, p->total, rate,
               p->loss);
    }
    fflush(stdout);
}

/* ---- training and testing ----------------------------------------------------------------- */

/* steps training steps from the loader (new epochs as needed); returns seconds. */
static double train(am_block *net, am_block *loss_fn, am_trainer *tr, am_loader *l, int steps,
                    const char *phase)
{
    progress p = {.phase = phase, .total = steps, .start = now_s(), .tty = isatty(1)};
    while (p.done < steps) {
        am_scope_begin();
        am_array *x, *y;
        if (am_loader_next(l, &x, &y) != AM_OK) {
            printf("\n%s\n", am_last_error());
            am_scope_end();
            return -1;
        }
        if (x) {
            am_autograd_record_begin(true);
            am_array *loss = am_block_call2(loss_fn, am_block_call(net, x), y);
            am_autograd_end();
            if (am_backward(loss) != AM_OK || am_trainer_step(tr, am_array_dim(x, 0)) != AM_OK) {
                printf("\n%s\n", am_last_error());
                am_scope_end();
                return -1;
            }
            p.loss = 0.9 * p.loss + 0.1 * am_item(am_mean(loss, NULL, 0, false), 0);
            if (p.done == 0) p.loss = am_item(am_mean(loss, NULL, 0, false), 0);
            p.done++;
            if (p.done % 20 == 0 || p.done == steps) progress_show(&p, p.done == steps);
        }
        am_scope_end();
    }
    return now_s() - p.start;
}

/* Accuracy of net on the whole loader (one epoch, inference mode). */
static double test_accuracy(am_block *net, am_loader *l)
{
    am_metric *acc = am_metric_accuracy(1);
    am_array *x, *y;
    for (;;) {
        am_scope_begin();
        if (am_loader_next(l, &x, &y) != AM_OK || !x) {
            am_scope_end();
            break;
        }
        am_array *pred = am_block_call(net, x);
        if (pred) am_metric_update(acc, &y, &pred, 1);
        am_scope_end();
    }
    const char *name;
    double v = 0;
    am_metric_get(acc, &name, &v);
    am_metric_free(acc);
    return v;
}

/* Writes the first n test images (as the network takes them) and their labels. */
static void save_test_set(am_dataset *test, int64_t n, const char *dir)
{
    char path[512];
    am_scope_begin();
    am_loader_opts o = am_loader_defaults(n);
    o.shuffle = false, o.scale = 1.0f / 255, o.channel_axis = true, o.background = false;
    am_loader *l = am_loader_create(test, &o);
    am_array *x, *y;
    if (l && am_loader_next(l, &x, &y) == AM_OK && x) {
        snprintf(path, sizeof(path), "%s/fashion-input.npy", dir);
        am_npy_save(path, x);
        snprintf(path, sizeof(path), "%s/fashion-labels.npy", dir);
        am_npy_save(path, y);
    }
    am_loader_free(l);
    am_scope_end();
}

/* --score OUT LABELS: the accuracy of amber run's output. */
static int score(const char *out_path, const char *label_path)
{
    am_scope_begin();
    am_array *out = am_npy_load(out_path), *label = am_npy_load(label_path);
    am_metric *acc = am_metric_accuracy(1);
    const char *name;
    double v = 0;
    if (!out || !label || am_metric_update(acc, &label, &out, 1) != AM_OK ||
        am_metric_get(acc, &name, &v) != AM_OK) {
        printf("score: %s\n", am_last_error());
        am_metric_free(acc);
        am_scope_end();
        return 1;
    }
    printf("amber run on %lld test images: accuracy %.3f (the exported model, without this "
           "program)\n", (long long)am_array_dim(label, 0), v);
    am_metric_free(acc);
    am_scope_end();
    return 0;
}

static am_loader *loader(am_dataset *d, int64_t batch, bool shuffle)
{
    am_loader_opts o = am_loader_defaults(batch);
    o.shuffle = shuffle, o.seed = 7, o.scale = 1.0f / 255, o.channel_axis = true;
    return am_loader_create(d, &o);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--score") == 0) return score(argv[2], argv[3]);
    const char *dir = argc > 1 ? argv[1] : ".";
    am_seed(1);
    am_dataset *train_set = am_dataset_idx(AM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz",
                                           AM_FASHION_MNIST_DIR "/train-labels-idx1-ubyte.gz");
    am_dataset *test_set = am_dataset_idx(AM_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz",
                                          AM_FASHION_MNIST_DIR "/t10k-labels-idx1-ubyte.gz");
    if (!train_set || !test_set) {
        printf("%s\n(Fashion-MNIST comes from Debian's dataset-fashion-mnist: run make deps)\n",
               am_last_error());
        return 1;
    }
    printf("Fashion-MNIST: %lld training and %lld test images of 28x28\n",
           (long long)am_dataset_size(train_set), (long long)am_dataset_size(test_set));

    am_block *net = lenet(), *loss_fn = am_softmax_ce_loss(NULL);
    am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 2.24});
    am_trainer_opts to = am_trainer_defaults("adam");
    to.lr = 2e-3;
    am_trainer *tr = am_trainer_create(net, NULL, "adam", &to);
    am_loader *train_l = loader(train_set, 64, true), *test_l = loader(test_set, 1000, false);
    if (!tr || !train_l || !test_l) {
        printf("%s\n", am_last_error());
        return 1;
    }

    /* 1. Eagerly: every op runs as it is called. */
    const int eager_steps = 300, hybrid_steps = 1100;
    double t_eager = train(net, loss_fn, tr, train_l, eager_steps, "eager");
    /* 2. The same code, hybridized: traced once, then cached plans. */
    am_block_hybridize(net, true, NULL);
    am_block_hybridize(loss_fn, true, NULL);
    double t_hybrid = train(net, loss_fn, tr, train_l, hybrid_steps, "hybridized");
    if (t_eager < 0 || t_hybrid < 0) return 1;
    double ms_e = 1e3 * t_eager / eager_steps, ms_h = 1e3 * t_hybrid / hybrid_steps;
    printf("one training step (batch 64): eager %.2f ms, hybridized %.2f ms (%.2fx)\n", ms_e, ms_h,
           ms_e / ms_h);
    double acc = test_accuracy(net, test_l);
    printf("test accuracy after %d steps (%.1f epochs): %.3f\n", eager_steps + hybrid_steps,
           (eager_steps + hybrid_steps) * 64.0 / (double)am_dataset_size(train_set), acc);

    /* 3. Export: MXNet's files, runnable without this program. */
    char path[512];
    snprintf(path, sizeof(path), "%s/fashion", dir);
    if (am_block_export(net, path, 0) != AM_OK) printf("%s\n", am_last_error());
    else printf("exported %s-symbol.json and %s-0000.params\n", path, path);
    save_test_set(test_set, 1000, dir);

    am_loader_free(train_l), am_loader_free(test_l);
    am_trainer_free(tr);
    am_block_release(net), am_block_release(loss_fn);
    am_dataset_free(train_set), am_dataset_free(test_set);
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return acc >= 0.85 ? 0 : 2;
}
