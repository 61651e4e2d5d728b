/* Runs an MXNet export through am_symbol_block_import, for `make
 * check-mxnet`: the block's eager and hybridized outputs go to two .npy
 * files that check.py compares with MXNet's, and one training step's
 * parameter gradients must agree eagerly and hybridized (the imported block
 * can be fine-tuned).  Public API only.
 *
 *     import_run M-symbol.json M-0000.params x.npy eager.npy hybrid.npy
 */
#include <amber/amber.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Every parameter gradient of one recorded call, loss = sum(output), in
 * training mode (seeded, so Dropout draws the same masks) or not. */
static int gradients(am_block *b, am_array *x, bool training, am_array **grads, int cap)
{
    am_param *ps[1024];
    int n = am_block_collect_params(b, NULL, ps, 1024);
    if (n < 0 || n > 1024) return -1;
    am_seed(7);
    am_autograd_record_begin(training);
    am_array *y = am_block_call(b, x);
    am_array *loss = y ? am_sum(y, NULL, 0, false) : NULL;
    am_autograd_end();
    if (!loss || am_backward(loss) != AM_OK) return -1;
    int k = 0;
    for (int i = 0; i < n && k < cap; i++)
        if (am_param_grad(ps[i])) grads[k++] = am_copy(am_param_grad(ps[i]));
    return k;
}

static double largest(am_array *a)
{
    return am_item(am_max(am_abs(am_astype(a, AM_DTYPE_FLOAT64)), NULL, 0, false), 0);
}

static double rel_diff(am_array *a, am_array *b)
{
    double scale = 1e-30, diff = 0;
    am_array *da = am_astype(a, AM_DTYPE_FLOAT64), *db = am_astype(b, AM_DTYPE_FLOAT64);
    const double *pa = am_array_data(da), *pb = am_array_data(db);
    for (int64_t i = 0; i < am_array_size(a); i++) {
        scale = fmax(scale, fabs(pb[i]));
        diff = fmax(diff, fabs(pa[i] - pb[i]));
    }
    return diff / scale;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: import_run M-symbol.json M-0000.params x.npy eager.npy hybrid.npy\n");
        return 2;
    }
    const char *input = "data";
    am_scope_begin();
    am_array *x = am_npy_load(argv[3]);
    am_block *b = x ? am_symbol_block_import(argv[1], argv[2], &input, 1, am_cpu()) : NULL;
    /* Inference first: training-mode calls move BatchNorm's statistics. */
    am_array *eager = b ? am_block_call(b, x) : NULL, *hybrid = NULL;
    if (eager && am_block_hybridize(b, true, NULL) == AM_OK) hybrid = am_block_call(b, x);
    int rc = hybrid && am_npy_save(argv[4], eager) == AM_OK && am_npy_save(argv[5], hybrid) == AM_OK
             ? 0 : 1;
    for (int training = 0; training < 2 && rc == 0; training++) {
        am_array *ge[1024], *gh[1024];
        am_block_hybridize(b, false, NULL);
        int ne = gradients(b, x, training, ge, 1024);
        am_block_hybridize(b, true, NULL);
        int nh = ne >= 0 ? gradients(b, x, training, gh, 1024) : -1;
        if (ne < 0 || nh < 0) {
            rc = 1;
            break;
        }
        double worst = 0, big = 0;
        for (int i = 0; i < ne && i < nh; i++) {
            worst = fmax(worst, rel_diff(gh[i], ge[i]));
            big = fmax(big, largest(ge[i]));
        }
        printf("%s%d parameter gradients (%s, largest element %.3g), eager against hybridized: "
               "largest difference %.2g of the gradient's scale", training ? "; " : "", ne,
               training ? "training" : "inference", big, worst);
        if (ne != nh || !(worst <= 1e-4) || !(big > 0)) {
            fprintf(stderr, "\neager and hybridized parameter gradients differ (%d and %d "
                    "gradients, by %.3g)", ne, nh, worst);
            rc = 3;
        }
    }
    printf("\n");
    if (rc == 1) fprintf(stderr, "%s\n", am_last_error());
    am_block_release(b);
    am_scope_end();
    return rc;
}
