/* The autograd suite: recording modes, backward semantics (write/add,
 * accumulation, retain_graph, detach, views), errors, higher-order gradients,
 * a numerical check of every op's gradient, and a small end-to-end fit. */
#include "test_util.h"


static void test_modes(void)
{
    CU_ASSERT(!am_autograd_is_recording());
    CU_ASSERT(!am_autograd_is_training());
    am_autograd_record_begin(true);
    CU_ASSERT(am_autograd_is_recording() && am_autograd_is_training());
    am_autograd_pause_begin(false);
    CU_ASSERT(!am_autograd_is_recording() && !am_autograd_is_training());
    CU_ASSERT_EQUAL(am_autograd_end(), AM_OK);
    CU_ASSERT(am_autograd_is_recording() && am_autograd_is_training());
    CU_ASSERT_EQUAL(am_autograd_end(), AM_OK);
    CU_ASSERT(!am_autograd_is_recording() && !am_autograd_is_training());
    TU_ASSERT_FAILS(am_autograd_end() == AM_OK, AM_ERR_ARG, "no record or pause scope");
    CU_ASSERT(!am_autograd_set_recording(true));
    CU_ASSERT(am_autograd_set_recording(false));
}

/* d/dx sum(x * x + 3 x) = 2x + 3: x is used three times. */
static void test_backward_accumulates_uses(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, -2, 0.5);
    CU_ASSERT_EQUAL(am_attach_grad(x, AM_GRAD_WRITE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(3), 0, 0, 0, 0);
    am_autograd_record_begin(true);
    am_array *y = am_sum(am_add(am_mul(x, x), am_mul_scalar(x, 3)), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(3), 1e-6, 5, -1, 4);
    am_scope_end();
}

static void test_write_and_add(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2);
    am_array *b = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2);
    am_attach_grad(a, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_ADD);
    for (int step = 0; step < 3; step++) {
        am_autograd_record_begin(true);
        am_array *y = am_sum(am_add(am_square(a), am_square(b)), NULL, 0, false);
        am_autograd_end();
        CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    }
    TU_ASSERT_VALUES(am_grad(a), AM_SHAPE(2), 0, 2, 4);   /* overwritten */
    TU_ASSERT_VALUES(am_grad(b), AM_SHAPE(2), 0, 6, 12);  /* three times added */
    /* A head gradient scales the result. */
    am_autograd_record_begin(true);
    am_array *y = am_square(a);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward_at(y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 10, -1), false,
                                   AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(a), AM_SHAPE(2), 0, 20, -4);
    TU_ASSERT_FAILS(am_backward_at(am_square(a), NULL, false, AM_HERE) == AM_OK, AM_ERR_ARG,
                    "was not recorded");
    am_scope_end();
}

static void test_retain_graph(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3, 4);
    am_attach_grad(x, AM_GRAD_ADD);
    am_autograd_record_begin(true);
    am_array *y = am_sum(am_square(x), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward_at(y, NULL, true, AM_HERE), AM_OK);
    CU_ASSERT_EQUAL(am_backward_at(y, NULL, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2), 0, 12, 16);
    TU_ASSERT_FAILS(am_backward(y) == AM_OK, AM_ERR_ARG, "freed by an earlier backward");
    am_scope_end();
}

static void test_detach_and_block_grad(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3, -1);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_sum(am_mul(x, am_detach(x)), NULL, 0, false);
    am_array *z = am_sum(am_mul(am_block_grad(x), am_square(x)), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2), 0, 3, -1);  /* only the undetached use */
    CU_ASSERT_EQUAL(am_backward(z), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2), 1e-6, 18, 2); /* x * 2x with x blocked */
    am_scope_end();
}

/* Gradients flow through views (reshape, first-axis slice) to the base. */
static void test_views(void)
{
    am_scope_begin();
    am_array *x = am_arange(0, 6, 1, AM_DTYPE_FLOAT64);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *m = am_reshape(x, AM_SHAPE(2, 3));
    CU_ASSERT(am_array_is_view(m));
    am_array *row = am_slice_axis(m, 0, 1, 2); /* second row, a view */
    am_array *y = am_sum(am_mul(row, row), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(6), 0, 0, 0, 0, 6, 8, 10);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2), *g = NULL;
    TU_ASSERT_FAILS(am_backward(x) == AM_OK, AM_ERR_ARG, "was not recorded");
    TU_ASSERT_FAILS(am_grad_of(&x, NULL, 1, &x, 1, false, false, &g) == AM_OK, AM_ERR_ARG,
                    "needs no gradient");
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_exp(x);
    am_autograd_end();
    TU_ASSERT_FAILS(am_attach_grad(y, AM_GRAD_WRITE) == AM_OK, AM_ERR_ARG, "recorded result");
    TU_ASSERT_FAILS(am_backward_at(y, am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32), false, AM_HERE)
                        == AM_OK, AM_ERR_SHAPE, "head gradient 0");
    CU_ASSERT_PTR_NULL(am_grad(y));
    /* Not recording: nothing is taped. */
    am_array *z = am_exp(x);
    TU_ASSERT_FAILS(am_backward(z) == AM_OK, AM_ERR_ARG, "was not recorded");
    am_scope_end();
}

/* Second derivatives through recorded gradients (create_graph). */
static void test_higher_order(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), -0.7, 0.2, 1.3), *g1, *g2;
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *t = am_tanh(x);
    CU_ASSERT_EQUAL(am_grad_of(&t, NULL, 1, &x, 1, true, true, &g1), AM_OK);
    CU_ASSERT_EQUAL(am_grad_of(&g1, NULL, 1, &x, 1, false, false, &g2), AM_OK);
    am_autograd_end();
    double expect1[3], expect2[3], xs[3] = {-0.7, 0.2, 1.3};
    for (int i = 0; i < 3; i++) {
        double th = tanh(xs[i]);
        expect1[i] = 1 - th * th;
        expect2[i] = -2 * th * (1 - th * th);
    }
    CU_ASSERT(tu_values_are(g1, AM_SHAPE(3), expect1, 3, 1e-12));
    CU_ASSERT(tu_values_are(g2, AM_SHAPE(3), expect2, 3, 1e-12));

    /* x^3: 3x^2, then 6x, then 6. */
    am_array *c1, *c2, *c3;
    am_autograd_record_begin(true);
    am_array *cube = am_mul(am_mul(x, x), x);
    CU_ASSERT_EQUAL(am_grad_of(&cube, NULL, 1, &x, 1, true, true, &c1), AM_OK);
    CU_ASSERT_EQUAL(am_grad_of(&c1, NULL, 1, &x, 1, true, true, &c2), AM_OK);
    CU_ASSERT_EQUAL(am_grad_of(&c2, NULL, 1, &x, 1, false, false, &c3), AM_OK);
    am_autograd_end();
    TU_ASSERT_VALUES(c1, AM_SHAPE(3), 1e-12, 3 * 0.49, 3 * 0.04, 3 * 1.69);
    TU_ASSERT_VALUES(c2, AM_SHAPE(3), 1e-12, -4.2, 1.2, 7.8);
    TU_ASSERT_VALUES(c3, AM_SHAPE(3), 1e-12, 6, 6, 6);
    am_scope_end();
}

/* The gradient of an intermediate value, and of a variable not involved. */
static void test_grad_of_intermediate(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2);
    am_array *u = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 5, 5), *g[3];
    am_attach_grad(x, AM_GRAD_WRITE);
    am_attach_grad(u, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *h = am_mul_scalar(x, 3);
    am_array *y = am_sum(am_square(h), NULL, 0, false);
    am_autograd_end();
    am_array *vars[3] = {h, x, u};
    CU_ASSERT_EQUAL(am_grad_of(&y, NULL, 1, vars, 3, false, false, g), AM_OK);
    TU_ASSERT_VALUES(g[0], AM_SHAPE(2), 1e-12, 6, 12);  /* 2h */
    TU_ASSERT_VALUES(g[1], AM_SHAPE(2), 1e-12, 18, 36); /* 2h * 3 */
    TU_ASSERT_VALUES(g[2], AM_SHAPE(2), 0, 0, 0);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2), 0, 0, 0); /* grad_of does not store */
    am_scope_end();
}

/* A 10,000-op recorded chain is differentiated and, when its last result is
 * released, freed without recursion.  No scope is open: the test owns every
 * result and releases each step's input as it goes. */
static void test_long_chain(void)
{
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), 0.5);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_retain(x);
    for (int i = 0; i < 10000; i++) {
        am_array *next = am_mul_scalar(y, 1.0001);
        am_release(y);
        y = next;
    }
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1), 1e-9, pow(1.0001, 10000));
    am_release(y);
    am_release(x);
}

static void test_training_flag(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(1000), AM_DTYPE_FLOAT32);
    am_autograd_record_begin(false);
    am_array *a = am_dropout(x, 0.5);
    am_autograd_end();
    am_autograd_record_begin(true);
    am_array *b = am_dropout(x, 0.5);
    am_autograd_end();
    CU_ASSERT(tu_allclose(a, x, 0));
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_mean(b, NULL, 0, false), 0), 1.0, 0.15);
    CU_ASSERT(am_item(am_min(b, NULL, 0, false), 0) == 0); /* some were dropped */
    am_scope_end();
}

/* Logistic regression by hand-written SGD on a linearly separable set. */
static void test_logistic_regression(void)
{
    am_scope_begin();
    am_seed(3);
    int n = 200;
    am_array *X = am_random_uniform(-1, 1, AM_SHAPE(n, 2), AM_DTYPE_FLOAT32);
    /* Labels from a known separator with a margin: y = [x0 + 2 x1 > 0.1]. */
    am_array *score = am_dot(X, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 1), 1, 2));
    am_array *Y = am_greater_scalar(score, 0.1);
    am_array *w = am_zeros(AM_SHAPE(1, 2), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(1), AM_DTYPE_FLOAT32);
    am_attach_grad(w, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    for (int step = 0; step < 300; step++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *p = am_sigmoid(am_fully_connected(X, w, b, 1, false, true));
        /* binary cross-entropy: -mean(y log p + (1 - y) log(1 - p)) */
        am_array *ll = am_add(am_mul(Y, am_log(p)),
                              am_mul(am_rminus_scalar(Y, 1), am_log(am_rminus_scalar(p, 1))));
        am_array *loss = am_negative(am_mean(ll, NULL, 0, false));
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward(loss), AM_OK);
        am_view wv = am_array_view(w), gw = am_array_view(am_grad(w));
        am_view bv = am_array_view(b), gb = am_array_view(am_grad(b));
        for (int k = 0; k < 2; k++) am_view_set(&wv, k, am_view_get(&wv, k) - 2.0 * am_view_get(&gw, k));
        am_view_set(&bv, 0, am_view_get(&bv, 0) - 2.0 * am_view_get(&gb, 0));
        am_scope_end();
    }
    am_array *pred = am_greater_scalar(am_fully_connected(X, w, b, 1, false, true), 0);
    double acc = am_item(am_mean(am_broadcast_equal(pred, Y), NULL, 0, false), 0);
    CU_ASSERT_DOUBLE_EQUAL(acc, 1.0, 1e-9);
    if (acc < 1) printf("\n  training accuracy %.3f\n", acc);
    am_scope_end();
}

/* A weight used at every step of a loop: backward adds the later gradients into the
 * first sum in place; the result has the same bits as new sums (create_graph makes
 * those), and no gradient held elsewhere (the head gradient, passed through by add)
 * is written to. */
static void test_accumulate_in_place(void)
{
    am_scope_begin();
    am_array *w = tu_random(AM_SHAPE(6, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_array *h0 = tu_random(AM_SHAPE(4, 6), AM_DTYPE_FLOAT32, -1, 1);
    am_array *hg = tu_random(AM_SHAPE(4, 5), AM_DTYPE_FLOAT32, -1, 1), *keep = am_copy(hg);
    am_attach_grad(w, AM_GRAD_WRITE);
    am_attach_grad(h0, AM_GRAD_WRITE);
    am_array *g[2][2];
    for (int create = 0; create < 2; create++) {
        am_autograd_record_begin(true);
        am_array *h = am_tanh(am_dot(h0, w)), *y = h;
        for (int t = 0; t < 7; t++) {
            am_array *both[2] = {h, h0};
            h = am_tanh(am_dot(am_slice_axis(am_concat(both, 2, 1), 1, 0, 6), w));
            y = am_add(y, am_mul_scalar(h, 0.5 + t));
        }
        y = am_add(y, h);
        am_autograd_end();
        am_array *vars[2] = {w, h0};
        CU_ASSERT_EQUAL_FATAL(am_grad_of(&y, &hg, 1, vars, 2, false, create, g[create]), AM_OK);
    }
    for (int v = 0; v < 2; v++) {
        size_t bytes = (size_t)am_array_size(g[0][v]) * sizeof(float);
        CU_ASSERT_EQUAL(memcmp(am_array_data(g[0][v]), am_array_data(g[1][v]), bytes), 0);
    }
    CU_ASSERT(tu_allclose(hg, keep, 0));
    am_scope_end();
}

CU_TestInfo am_tests_autograd[] = {
    {"record and training modes", test_modes},
    {"backward accumulates every use", test_backward_accumulates_uses},
    {"grad_req write and add, head gradients", test_write_and_add},
    {"retain_graph", test_retain_graph},
    {"detach and BlockGrad", test_detach_and_block_grad},
    {"gradients through views", test_views},
    {"errors", test_errors},
    {"second and third derivatives", test_higher_order},
    {"gradients of intermediate values", test_grad_of_intermediate},
    {"10,000-op chain", test_long_chain},
    {"training flag reaches Dropout", test_training_flag},
    {"logistic regression reaches 100% training accuracy", test_logistic_regression},
    {"gradients of a weight used at every step add in place, same bits", test_accumulate_in_place},
    CU_TEST_INFO_NULL,
};
