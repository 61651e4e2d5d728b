/* Tutorial 06: export and deploy.  Part 1 builds the spiral classifier from
 * built-in layers, trains it and exports it as MXNet files.  Part 2 knows
 * nothing of the model: it imports the files, runs them hybridized and checks
 * that its predictions are the original model's. */
#include <amber/amber.h>
#include <math.h>
#include <stdio.h>

/* The two-spirals data of tutorial 04. */
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

static double accuracy(am_array *logits, am_array *label)
{
    am_array *pred = am_argmax(logits, -1, false);
    return am_item(am_mean(am_broadcast_equal(pred, label), NULL, 0, false), 0);
}

/* ---- part 1: the model's owner trains and exports -------------------------------------------- */

/* Returns the logits of the trained model on x_test (owned by the caller's scope). */
static am_array *train_and_export(am_array *x, am_array *label, am_array *x_test, const char *path)
{
    am_block *net = am_sequential();
    am_sequential_add(net, am_dense(32, &(am_dense_opts){.activation = "tanh"}));
    am_sequential_add(net, am_dense(32, &(am_dense_opts){.activation = "tanh"}));
    am_sequential_add(net, am_dense(2, NULL));
    am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});
    am_block_hybridize(net, true, NULL);
    am_param *ps[8];
    int np = am_block_collect_params(net, NULL, ps, 8);
    for (int step = 0; step <= 1000; step++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *logits = am_block_call(net, x);
        am_array *nll = am_negative(am_pick(am_log_softmax(logits, -1), label, -1));
        am_array *loss = am_mean(nll, NULL, 0, false);
        am_autograd_end();
        am_backward(loss);
        for (int i = 0; i < np; i++) {
            float *w = am_array_data_f32(am_param_data(ps[i]));
            const float *g = am_array_data_f32(am_param_grad(ps[i]));
            for (int64_t k = 0; k < am_array_size(am_param_data(ps[i])); k++) w[k] -= 0.5f * g[k];
        }
        if (step % 500 == 0)
            printf("  step %4d  loss %.4f  accuracy %.3f\n", step, am_item(loss, 0),
                   accuracy(logits, label));
        am_scope_end();
    }
    /* Export traces the signature of the last call: 1000 points. */
    am_array *y = am_block_call(net, x_test);
    if (am_block_export(net, path, 0) == AM_OK)
        printf("  exported %s-symbol.json and %s-0000.params\n", path, path);
    else
        printf("  %s\n", am_last_error());
    am_block_release(net);
    return y;
}

/* ---- part 2: a program that only has the files ----------------------------------------------- */

static am_array *import_and_predict(const char *path, am_array *x_test)
{
    char json[600], params[600];
    snprintf(json, sizeof(json), "%s-symbol.json", path);
    snprintf(params, sizeof(params), "%s-0000.params", path);
    const char *inputs[] = {"data"};
    am_block *model = am_symbol_block_import(json, params, inputs, 1, am_cpu());
    if (!model) {
        printf("  %s\n", am_last_error());
        return NULL;
    }
    am_block_hybridize(model, true, NULL);
    am_param *ps[8];
    int np = am_block_collect_params(model, NULL, ps, 8);
    printf("  imported %s: %d parameters:", json, np);
    for (int i = 0; i < np; i++) printf(" %s", am_param_name(ps[i]));
    printf("\n");
    am_array *y = am_block_call(model, x_test);
    /* Any batch size: each new one is traced from the imported graph once. */
    const float points[] = {0.0f, 0.5f, -0.5f, 0.0f, 0.3f, -0.3f};
    am_array *three = am_from_buffer(points, AM_SHAPE(3, 2), AM_DTYPE_FLOAT32);
    am_array *p = am_softmax(am_block_call(model, three), -1);
    printf("  P(second spiral) at (0, 0.5), (-0.5, 0), (0.3, -0.3): %.3f %.3f %.3f\n",
           am_item(p, 1), am_item(p, 3), am_item(p, 5));
    am_block_release(model);
    return y;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[512], npy[600];
    snprintf(path, sizeof(path), "%s/spirals", dir);
    am_seed(1);
    am_scope_begin();
    am_array *x, *label, *x_test, *label_test;
    spirals(512, &x, &label);
    spirals(1000, &x_test, &label_test);

    printf("part 1: train and export\n");
    am_array *original = train_and_export(x, label, x_test, path);

    printf("part 2: import and predict\n");
    am_array *deployed = import_and_predict(path, x_test);
    if (original && deployed) {
        double diff = am_item(am_max(am_abs(am_sub(deployed, original)), NULL, 0, false), 0);
        printf("  accuracy on 1000 new points: original %.3f, imported %.3f\n",
               accuracy(original, label_test), accuracy(deployed, label_test));
        printf("  largest difference between their logits: %g (%s)\n", diff,
               diff == 0 ? "identical" : diff < 1e-5 ? "equal to rounding" : "DIFFERENT");
    }

    /* The same files from the command line. */
    snprintf(npy, sizeof(npy), "%s/spirals-input.npy", dir);
    if (am_npy_save(npy, x_test) != AM_OK) printf("%s\n", am_last_error());
    printf("run the files without this program:\n  build/amber run %s-symbol.json %s-0000.params "
           "-i data=%s -o %s/spirals-output.npy\n", path, path, npy, dir);
    am_scope_end();
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return 0;
}
