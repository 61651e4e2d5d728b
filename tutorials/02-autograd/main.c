/* Tutorial 02: training with autograd.  A two-layer network learns to
 * classify points inside and outside a circle, with gradients from
 * am_backward and a plain SGD step written by hand. */
#include <amber/amber.h>
#include <stdio.h>

/* Parameters of a 2-32-2 network. */
typedef struct mlp {
    am_array *w1, *b1, *w2, *b2;
} mlp;

static am_array *forward(const mlp *m, am_array *x)
{
    am_array *h = am_tanh(am_fully_connected(x, m->w1, m->b1, 32, false, true));
    return am_fully_connected(h, m->w2, m->b2, 2, false, true);
}

/* w -= lr * grad(w), in place on the parameter's storage. */
static void sgd_step(am_array *w, float lr)
{
    float *p = am_array_data_f32(w), *g = am_array_data_f32(am_grad(w));
    for (int64_t i = 0; i < am_array_size(w); i++) p[i] -= lr * g[i];
}

int main(void)
{
    am_seed(1);
    am_scope_begin(); /* owns the parameters and the data until the end */
    mlp m = {
        .w1 = am_random_normal(0, 0.5, AM_SHAPE(32, 2), AM_DTYPE_FLOAT32),
        .b1 = am_zeros(AM_SHAPE(32), AM_DTYPE_FLOAT32),
        .w2 = am_random_normal(0, 0.5, AM_SHAPE(2, 32), AM_DTYPE_FLOAT32),
        .b2 = am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT32),
    };
    am_array *params[] = {m.w1, m.b1, m.w2, m.b2};
    for (int i = 0; i < 4; i++) am_attach_grad(params[i], AM_GRAD_WRITE);

    /* Data: 512 points in [-1, 1)^2, label 1 inside the circle of radius 0.6. */
    am_array *x = am_random_uniform(-1, 1, AM_SHAPE(512, 2), AM_DTYPE_FLOAT32);
    am_array *r2 = am_sum(am_square(x), (int[]){1}, 1, false);
    am_array *label = am_lesser_scalar(r2, 0.36);

    for (int step = 0; step <= 300; step++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *logits = forward(&m, x);
        /* cross-entropy: -mean(log_softmax(logits)[label]) */
        am_array *nll = am_negative(am_pick(am_log_softmax(logits, -1), label, -1));
        am_array *loss = am_mean(nll, NULL, 0, false);
        am_autograd_end();
        am_backward(loss);
        for (int i = 0; i < 4; i++) sgd_step(params[i], 0.5f);
        if (step % 50 == 0) {
            am_array *pred = am_argmax(logits, -1, false);
            double acc = am_item(am_mean(am_broadcast_equal(pred, label), NULL, 0, false), 0);
            printf("step %3d  loss %.4f  accuracy %.3f\n", step, am_item(loss, 0), acc);
        }
        am_scope_end();
    }

    /* Gradients of gradients: d/dx tanh(x) and d2/dx2 tanh(x) at x = 0.5. */
    am_scope_begin();
    am_array *t = am_full(AM_SHAPE(1), AM_DTYPE_FLOAT64, 0.5), *g1, *g2;
    am_attach_grad(t, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_tanh(t);
    am_grad_of(&y, NULL, 1, &t, 1, true, true, &g1);   /* recorded: create_graph */
    am_grad_of(&g1, NULL, 1, &t, 1, false, false, &g2);
    am_autograd_end();
    printf("tanh'(0.5) = %.6f, tanh''(0.5) = %.6f\n", am_item(g1, 0), am_item(g2, 0));
    am_scope_end();

    am_scope_end();
    printf("arrays still alive: %lld\n", (long long)am_debug_live_arrays());
    return 0;
}
