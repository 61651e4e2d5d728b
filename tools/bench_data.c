/* `amber bench loader`: what the data loader's worker thread hides, with
 * the caller "training" (sleeping) as long as one batch takes to make. */
#include <amber/amber.h>
#include <amber/data.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds per batch over an epoch while the caller trains for train_us. */
static double per_batch(am_dataset *d, bool bg, int train_us)
{
    am_loader_opts o = am_loader_defaults(256);
    o.crop_pad = 2;
    o.flip = true;
    o.scale = 1.0f / 255;
    o.n_norm = 1;
    o.mean[0] = 0.286f;
    o.std[0] = 0.353f;
    o.background = bg;
    am_loader *l = am_loader_create(d, &o);
    if (!l) return -1;
    am_array *x, *y;
    int n = 0;
    double t0 = now_s();
    am_scope_begin();
    while (am_loader_next(l, &x, &y) == AM_OK && x) {
        if (train_us) usleep((useconds_t)train_us);
        n++;
    }
    am_scope_end();
    double t = (now_s() - t0) / (n ? n : 1);
    am_loader_free(l);
    return t;
}

int am_cmd_bench_loader(int argc, char **argv)
{
    int rounds = argc > 0 && strcmp(argv[0], "--quick") == 0 ? 1 : 3;
    am_seed(1);
    am_scope_begin();
    am_array *x = am_random_uniform(0, 255, AM_SHAPE(8192, 28, 28), AM_DTYPE_FLOAT32);
    am_dataset *d = am_dataset_arrays(am_astype(x, AM_DTYPE_UINT8), NULL);
    am_scope_end();
    if (!d) {
        fprintf(stderr, "bench loader: %s\n", am_last_error());
        return 1;
    }
    printf("batches of 256x28x28 uint8 with crop, flip and normalize; the caller sleeps as long "
           "as making a batch takes\n");
    for (int r = 0; r < rounds; r++) {
        double load = per_batch(d, false, 0);
        int train_us = (int)(load * 1e6);
        double fg = per_batch(d, false, train_us), bg = per_batch(d, true, train_us);
        printf("making a batch %.3f ms; training + loading: without the thread %.3f ms, with it "
               "%.3f ms per batch (%.2fx)\n", 1e3 * load, 1e3 * fg, 1e3 * bg, fg / bg);
    }
    am_dataset_free(d);
    return 0;
}
