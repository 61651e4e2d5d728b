/* Learning-rate schedulers, global-norm clipping and the trainer (hybrid/scheduler.c,
 * hybrid/trainer.c): schedules against MXNet 1.9.1's lr_scheduler.py, steps against the
 * update ops called by hand, gradient accumulation, resuming from saved states, and a
 * hybridized block trained like an eager one. */
#include "test_util.h"

#include <amber/trainer.h>
#include <unistd.h>

/* ---- schedulers ------------------------------------------------------------------------ */

/* MXNet 1.9.1's schedulers called with updates 0 .. 25, as printed by
 * `tests/fixtures/optimizer/make_fixtures.py --schedules`. */
static const double want_factor[26] = {
    0.01, 0.04, 0.07, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025,
    0.025, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.01, 0.01, 0.01, 0.01, 0.01,
};
static const double want_multi[26] = {
    0, 0.05, 0.1, 0.1, 0.1, 0.03, 0.03, 0.03, 0.03, 0.03, 0.009, 0.009, 0.009, 0.009, 0.009,
    0.009, 0.0027, 0.0027, 0.0027, 0.0027, 0.0027, 0.0027, 0.0027, 0.0027, 0.0027, 0.0027,
};
static const double want_poly[26] = {
    0.02, 0.036, 0.052, 0.068, 0.084, 0.1, 0.08724, 0.07536, 0.06436, 0.05424, 0.045, 0.03664,
    0.02916, 0.02256, 0.01684, 0.012, 0.00804, 0.00496, 0.00276, 0.00144, 0.001, 0.001, 0.001,
    0.001, 0.001, 0.001,
};
static const double want_cosine[26] = {
    0, 0.025, 0.05, 0.075, 0.1, 0.0991353376181, 0.096574578963, 0.0924161325536,
    0.0868198051534, 0.0800006604859, 0.0722207544564, 0.0637790644907, 0.055, 0.0462209355093,
    0.0377792455436, 0.0299993395141, 0.0231801948466, 0.0175838674464, 0.013425421037,
    0.0108646623819, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01,
};
static const double want_cosine_const[26] = {
    0.05, 0.05, 0.05, 0.1, 0.0969846310393, 0.0883022221559, 0.075, 0.0586824088833,
    0.0413175911167, 0.025, 0.0116977778441, 0.0030153689607, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0,
};

static void check_schedule(const am_lr_scheduler *s, const double *want, const char *what)
{
    CU_ASSERT_EQUAL(am_scheduler_check(s), AM_OK);
    for (int n = 0; n < 26; n++) {
        double got = am_scheduler_lr(s, n);
        bool ok = fabs(got - want[n]) <= 1e-11 * (1 + fabs(want[n]));
        if (!ok) printf("\n  %s at %d: %.12g, MXNet %.12g\n", what, n, got, want[n]);
        CU_ASSERT(ok);
    }
}

static void test_schedulers(void)
{
    am_lr_scheduler f = am_scheduler_factor(0.1, 5, 0.5);
    f.stop_factor_lr = 0.01, f.warmup_steps = 3, f.warmup_begin_lr = 0.01;
    check_schedule(&f, want_factor, "factor");
    am_lr_scheduler m = am_scheduler_multi_factor(0.1, (const int64_t[]){4, 9, 15}, 3, 0.3);
    m.warmup_steps = 2;
    check_schedule(&m, want_multi, "multi-factor");
    am_lr_scheduler p = am_scheduler_poly(0.1, 20, 2, 0.001);
    p.warmup_steps = 5, p.warmup_begin_lr = 0.02;
    check_schedule(&p, want_poly, "poly");
    am_lr_scheduler c = am_scheduler_cosine(0.1, 20, 0.01);
    c.warmup_steps = 4;
    check_schedule(&c, want_cosine, "cosine");
    am_lr_scheduler cc = am_scheduler_cosine(0.1, 12, 0.0);
    cc.warmup_steps = 3, cc.warmup_begin_lr = 0.05, cc.warmup_constant = true;
    check_schedule(&cc, want_cosine_const, "cosine, constant warmup");
    am_lr_scheduler k = am_scheduler_constant(0.25);
    CU_ASSERT_EQUAL(am_scheduler_lr(&k, 1000), 0.25);
}

static void test_scheduler_errors(void)
{
    am_lr_scheduler s = am_scheduler_factor(0.1, 0, 0.5);
    TU_ASSERT_FAILS(am_scheduler_check(&s) == AM_OK, AM_ERR_ARG, "step 0 < 1");
    s = am_scheduler_factor(0.1, 2, 1.5);
    TU_ASSERT_FAILS(am_scheduler_check(&s) == AM_OK, AM_ERR_ARG, "factor 1.5 > 1");
    s = am_scheduler_multi_factor(0.1, (const int64_t[]){4, 4}, 2, 0.5);
    TU_ASSERT_FAILS(am_scheduler_check(&s) == AM_OK, AM_ERR_ARG, "increasing");
    s = am_scheduler_cosine(0.1, 0, 0);
    TU_ASSERT_FAILS(am_scheduler_check(&s) == AM_OK, AM_ERR_ARG, "max_update 0 < 1");
    s = am_scheduler_poly(0.1, 10, 2, 0);
    s.warmup_begin_lr = 0.5;
    TU_ASSERT_FAILS(am_scheduler_check(&s) == AM_OK, AM_ERR_ARG, "warmup_begin_lr");
}

static void test_clip_global_norm(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3, 4);
    am_array *b = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 1), 12);
    double norm = 0;
    CU_ASSERT_EQUAL(am_clip_global_norm((am_array *[]){a, b}, 2, 6.5, &norm), AM_OK);
    CU_ASSERT_DOUBLE_EQUAL(norm, 13, 1e-12);
    TU_ASSERT_VALUES(a, AM_SHAPE(2), 1e-6, 1.5, 2);
    TU_ASSERT_VALUES(b, AM_SHAPE(1, 1), 1e-9, 6);
    CU_ASSERT_EQUAL(am_clip_global_norm((am_array *[]){a, b}, 2, 100, &norm), AM_OK);
    TU_ASSERT_VALUES(a, AM_SHAPE(2), 1e-6, 1.5, 2); /* under the limit: unchanged */
    TU_ASSERT_FAILS(am_clip_global_norm(&a, 1, 0, NULL) == AM_OK, AM_ERR_ARG, "max_norm");
    am_scope_end();
}

/* ---- the trainer ------------------------------------------------------------------------- */

#define N_IN 4
#define N_OUT 3
#define BATCH 4

/* A two-layer MLP with known shapes, the same values for the same seed. */
static am_block *make_net(uint64_t seed)
{
    am_block *net = am_sequential();
    am_sequential_add(net, am_dense(6, &(am_dense_opts){.activation = "tanh", .in_units = N_IN}));
    am_sequential_add(net, am_dense(N_OUT, &(am_dense_opts){.in_units = 6}));
    am_seed(seed);
    CU_ASSERT_EQUAL(am_block_initialize(net, &(am_init){.kind = AM_INIT_UNIFORM, .scale = 0.5}),
                    AM_OK);
    return net;
}

/* Fixed data: x (BATCH, N_IN), y (BATCH, N_OUT); rows lo .. hi of them. */
static am_array *rows(bool target, int lo, int hi)
{
    int cols = target ? N_OUT : N_IN;
    double v[BATCH * N_IN];
    for (int i = lo; i < hi; i++)
        for (int j = 0; j < cols; j++)
            v[(i - lo) * cols + j] = target ? sin(1.0 + i * cols + j) : cos(0.5 * (i * cols + j));
    return tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(hi - lo, cols), v, (hi - lo) * cols);
}

/* Forward and backward of a summed squared error on rows lo .. hi. */
static void backward(am_block *net, int lo, int hi)
{
    am_scope_begin();
    am_autograd_record_begin(true);
    am_array *out = am_block_call(net, rows(false, lo, hi));
    am_array *loss = am_sum(am_square(am_sub(out, rows(true, lo, hi))), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
    am_scope_end();
}

static int params_of(am_block *net, am_param **ps)
{
    return am_block_collect_params(net, NULL, ps, 8);
}

/* Every parameter of a and b agrees within tol (0: bit for bit). */
static bool same_params(am_block *a, am_block *b, double tol)
{
    am_param *pa[8], *pb[8];
    int n = params_of(a, pa);
    CU_ASSERT_EQUAL_FATAL(n, params_of(b, pb));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        am_array *x = am_param_data(pa[i]), *y = am_param_data(pb[i]);
        bool same = tol > 0 ? tu_allclose(x, y, tol)
                            : memcmp(am_array_data(x), am_array_data(y),
                                     (size_t)am_array_size(x) * sizeof(float)) == 0;
        if (!same) printf("\n  parameter %s differs\n", am_param_name(pa[i]));
        ok &= same;
    }
    return ok;
}

/* SGD with momentum and Adam (with a scheduler) give what the update ops give when
 * called by hand with Gluon's rescaling, multipliers and Adam's bias correction. */
static void by_hand(am_block *net, const char *opt, am_array **states, int t,
                    const am_lr_scheduler *s)
{
    am_param *ps[8];
    int n = params_of(net, ps);
    am_scope_begin();
    for (int i = 0; i < n; i++) {
        am_array *w = am_param_data(ps[i]), *g = am_param_grad(ps[i]), *y;
        double lr = (s ? am_scheduler_lr(s, t) : 0.1) * am_param_lr_mult(ps[i]);
        double wd = 0.01 * am_param_wd_mult(ps[i]);
        if (strcmp(opt, "sgd") == 0) {
            y = am_sgd_mom_update(w, g, states[2 * i], lr, 0.9, wd, 1.0 / BATCH, -1);
        } else {
            lr *= sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t));
            y = am_adam_update(w, g, states[2 * i], states[2 * i + 1], lr, 0.9, 0.999, 1e-8, wd,
                               1.0 / BATCH, 0.5);
        }
        CU_ASSERT_EQUAL(am_param_set_data(ps[i], y), AM_OK);
    }
    am_scope_end();
}

static void check_against_ops(const char *opt)
{
    am_block *a = make_net(7), *b = make_net(7);
    am_param *pa[8], *pb[8];
    int n = params_of(a, pa);
    params_of(b, pb);
    am_param_set_lr_mult(pa[0], 0.5), am_param_set_lr_mult(pb[0], 0.5);
    am_param_set_wd_mult(pa[1], 0.0), am_param_set_wd_mult(pb[1], 0.0);
    am_lr_scheduler s = am_scheduler_cosine(0.02, 10, 0.001);
    s.warmup_steps = 2;
    am_trainer_opts o = am_trainer_defaults(opt);
    o.wd = 0.01;
    if (strcmp(opt, "sgd") == 0) o.lr = 0.1, o.momentum = 0.9;
    else o.lr = 0.02, o.clip_gradient = 0.5, o.scheduler = &s;
    am_trainer *t = am_trainer_create(a, NULL, opt, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    am_scope_begin();
    am_array *states[16]; /* parameter i: 2i (mom or mean) and 2i + 1 (var) */
    for (int i = 0; i < 2 * n; i++)
        states[i] = am_retain(am_zeros(am_param_shape(pb[i / 2]), AM_DTYPE_FLOAT32));
    for (int step = 1; step <= 3; step++) {
        backward(a, 0, BATCH), backward(b, 0, BATCH);
        CU_ASSERT_EQUAL(am_trainer_step(t, BATCH), AM_OK);
        by_hand(b, opt, states, step, strcmp(opt, "adam") == 0 ? &s : NULL);
    }
    CU_ASSERT_EQUAL(am_trainer_num_update(t), 3);
    CU_ASSERT(same_params(a, b, 0));
    for (int i = 0; i < 2 * n; i++) am_release(states[i]);
    am_scope_end();
    am_trainer_free(t);
    am_block_release(a), am_block_release(b);
}

static void test_sgd_momentum(void) { check_against_ops("sgd"); }
static void test_adam(void) { check_against_ops("adam"); }

/* grad_req ADD over two micro-batches, then one step, equals one step on the whole batch;
 * gradients are zeroed after each step, as in Gluon. */
static void test_accumulation(void)
{
    am_block *a = make_net(3), *b = make_net(3);
    am_param *pa[8];
    int n = params_of(a, pa);
    for (int i = 0; i < n; i++) am_param_set_grad_req(pa[i], AM_GRAD_ADD);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.lr = 0.1, o.momentum = 0.9;
    am_trainer *ta = am_trainer_create(a, NULL, "sgd", &o);
    am_trainer *tb = am_trainer_create(b, NULL, "sgd", &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    for (int step = 0; step < 3; step++) {
        backward(a, 0, 2), backward(a, 2, BATCH);
        CU_ASSERT_EQUAL(am_trainer_step(ta, BATCH), AM_OK);
        CU_ASSERT_EQUAL(am_block_zero_grad(a), AM_OK);
        backward(b, 0, BATCH);
        CU_ASSERT_EQUAL(am_trainer_step(tb, BATCH), AM_OK);
    }
    CU_ASSERT(same_params(a, b, 1e-6));
    am_trainer_free(ta), am_trainer_free(tb);
    am_block_release(a), am_block_release(b);
}

/* Parameters with grad_req NULL are left alone; lr_mult 0 freezes a parameter too. */
static void test_skips_null(void)
{
    am_block *a = make_net(5), *b = make_net(5);
    am_param *pa[8];
    params_of(a, pa);
    am_param_set_grad_req(pa[0], AM_GRAD_NULL);
    am_trainer *t = am_trainer_create(a, NULL, "adam", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    backward(a, 0, BATCH);
    CU_ASSERT_EQUAL(am_trainer_step(t, BATCH), AM_OK);
    am_param *pb[8];
    params_of(b, pb);
    CU_ASSERT(tu_allclose(am_param_data(pa[0]), am_param_data(pb[0]), 0));
    CU_ASSERT(memcmp(am_array_data(am_param_data(pa[1])), am_array_data(am_param_data(pb[1])),
                     sizeof(float)) != 0); /* the bias moved */
    am_trainer_free(t);
    am_block_release(a), am_block_release(b);
}

/* Global-norm clipping: the step on clipped gradients equals am_clip_global_norm by
 * hand followed by a plain step. */
static void test_trainer_clip_global_norm(void)
{
    am_block *a = make_net(9), *b = make_net(9);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.lr = 0.5, o.clip_global_norm = 0.05;
    am_trainer_opts plain = o;
    plain.clip_global_norm = 0;
    am_trainer *ta = am_trainer_create(a, NULL, "sgd", &o);
    am_trainer *tb = am_trainer_create(b, NULL, "sgd", &plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    am_param *pb[8];
    int n = params_of(b, pb);
    for (int step = 0; step < 2; step++) {
        backward(a, 0, BATCH), backward(b, 0, BATCH);
        am_array *g[8];
        for (int i = 0; i < n; i++) g[i] = am_param_grad(pb[i]);
        double norm = 0;
        CU_ASSERT_EQUAL(am_clip_global_norm(g, n, 0.05, &norm), AM_OK);
        CU_ASSERT(norm > 0.05); /* the clipping is active */
        CU_ASSERT_EQUAL(am_trainer_step(ta, BATCH), AM_OK);
        CU_ASSERT_EQUAL(am_trainer_step(tb, BATCH), AM_OK);
    }
    CU_ASSERT(same_params(a, b, 0));
    am_trainer_free(ta), am_trainer_free(tb);
    am_block_release(a), am_block_release(b);
}

/* Saving states after k steps and continuing equals loading them (and the parameters)
 * into a fresh model and trainer and continuing: bit for bit. */
static void test_resume(void)
{
    char states[128], params[128];
    snprintf(states, sizeof(states), "/tmp/amber_test_trainer_%d.states", (int)getpid());
    snprintf(params, sizeof(params), "/tmp/amber_test_trainer_%d.params", (int)getpid());
    am_lr_scheduler s = am_scheduler_factor(0.01, 2, 0.5);
    am_trainer_opts o = am_trainer_defaults("adam");
    o.lr = 0.01, o.wd = 0.001, o.scheduler = &s;
    am_block *a = make_net(11), *b = make_net(12);
    am_trainer *ta = am_trainer_create(a, NULL, "adam", &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    for (int step = 0; step < 3; step++) {
        backward(a, 0, BATCH);
        CU_ASSERT_EQUAL(am_trainer_step(ta, BATCH), AM_OK);
    }
    CU_ASSERT_EQUAL(am_trainer_save_states(ta, states), AM_OK);
    CU_ASSERT_EQUAL(am_block_save_parameters(a, params), AM_OK);
    am_trainer *tb = am_trainer_create(b, NULL, "adam", &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    CU_ASSERT_EQUAL(am_block_load_parameters(b, params, 0), AM_OK);
    CU_ASSERT_EQUAL(am_trainer_load_states(tb, states), AM_OK);
    CU_ASSERT_EQUAL(am_trainer_num_update(tb), 3);
    CU_ASSERT_DOUBLE_EQUAL(am_trainer_learning_rate(tb), am_trainer_learning_rate(ta), 0);
    for (int step = 0; step < 3; step++) {
        backward(a, 0, BATCH), backward(b, 0, BATCH);
        CU_ASSERT_EQUAL(am_trainer_step(ta, BATCH), AM_OK);
        CU_ASSERT_EQUAL(am_trainer_step(tb, BATCH), AM_OK);
    }
    CU_ASSERT(same_params(a, b, 0));

    /* The states of another optimizer, or of other shapes, are refused whole. */
    am_trainer_opts so = am_trainer_defaults("sgd");
    so.momentum = 0.9;
    am_trainer *tc = am_trainer_create(b, NULL, "sgd", &so);
    TU_ASSERT_FAILS(am_trainer_load_states(tc, states) == AM_OK, AM_ERR_ARG,
                    "0.weight.mean', which is no state of this sgd trainer");
    am_block *d = am_sequential();
    am_sequential_add(d, am_dense(5, &(am_dense_opts){.activation = "tanh", .in_units = N_IN}));
    am_sequential_add(d, am_dense(N_OUT, &(am_dense_opts){.in_units = 5}));
    CU_ASSERT_EQUAL(am_block_initialize(d, NULL), AM_OK);
    am_trainer *td = am_trainer_create(d, NULL, "adam", &o);
    TU_ASSERT_FAILS(am_trainer_load_states(td, states) == AM_OK, AM_ERR_SHAPE,
                    "'0.weight.mean' is (6, 4), the parameter is (5, 4)");
    TU_ASSERT_FAILS(am_trainer_load_states(td, "/nonexistent/x.states") == AM_OK, AM_ERR_IO,
                    "x.states");
    unlink(states), unlink(params);
    am_trainer_free(ta), am_trainer_free(tb), am_trainer_free(tc), am_trainer_free(td);
    am_block_release(a), am_block_release(b), am_block_release(d);
}

/* A hybridized block trains to the parameters of an eager one. */
static void test_hybridized(void)
{
    am_block *a = make_net(13), *b = make_net(13);
    CU_ASSERT_EQUAL(am_block_hybridize(a, true, NULL), AM_OK);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.lr = 0.1, o.momentum = 0.9, o.wd = 0.01;
    am_trainer *ta = am_trainer_create(a, NULL, "sgd", &o);
    am_trainer *tb = am_trainer_create(b, NULL, "sgd", &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    for (int step = 0; step < 4; step++) {
        backward(a, 0, BATCH), backward(b, 0, BATCH);
        CU_ASSERT_EQUAL(am_trainer_step(ta, BATCH), AM_OK);
        CU_ASSERT_EQUAL(am_trainer_step(tb, BATCH), AM_OK);
    }
    CU_ASSERT(am_block_cache_stats(a).hits >= 3);
    CU_ASSERT(same_params(a, b, 1e-5));
    am_trainer_free(ta), am_trainer_free(tb);
    am_block_release(a), am_block_release(b);
}

/* The fused step (am_train_step) gives the parameters, losses, counts and rates of
 * record + backward + am_trainer_step, for every optimizer, with a schedule changing
 * the rate (and Adam's bias correction changing with the count) at every step. */
static void test_fused_step(void)
{
    static const char *const opts[] = {"sgd", "nag", "adam", "adamw", "rmsprop", "adagrad",
                                       "lamb"};
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        am_block *a = make_net(21), *b = make_net(21);
        am_block *la = am_l2_loss(NULL), *lb = am_l2_loss(NULL);
        am_lr_scheduler sched = am_scheduler_factor(0.05, 2, 0.5);
        am_trainer_opts o = am_trainer_defaults(opts[k]);
        o.lr = 0.05, o.wd = 0.01, o.momentum = 0.9, o.scheduler = &sched;
        am_trainer *ta = am_trainer_create(a, NULL, opts[k], &o);
        am_trainer *tb = am_trainer_create(b, NULL, opts[k], &o);
        am_train_step *fused = am_train_step_create(b, lb, tb);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fused);
        bool ok = true;
        for (int step = 0; step < 5; step++) {
            am_scope_begin();
            am_array *x = rows(false, 0, BATCH), *y = rows(true, 0, BATCH);
            am_autograd_record_begin(true);
            am_array *out = am_block_call(a, x);
            am_array *want = am_block_call2(la, out, y);
            am_autograd_end();
            CU_ASSERT_EQUAL(am_backward(want), AM_OK);
            CU_ASSERT_EQUAL(am_trainer_step(ta, BATCH), AM_OK);
            am_array *pred = NULL;
            am_array *got = am_train_step_run(fused, x, y, BATCH, &pred);
            CU_ASSERT_PTR_NOT_NULL_FATAL(got);
            ok &= tu_allclose(got, want, 1e-5) && tu_allclose(pred, out, 1e-5);
            am_scope_end();
        }
        if (!ok) printf("\n  %s: losses differ\n", opts[k]);
        CU_ASSERT(ok);
        if (!same_params(a, b, 1e-5)) printf("  (%s)\n", opts[k]);
        CU_ASSERT(same_params(a, b, 1e-5));
        CU_ASSERT_EQUAL(am_trainer_num_update(tb), 5);
        CU_ASSERT_DOUBLE_EQUAL(am_trainer_learning_rate(tb), am_trainer_learning_rate(ta), 0);
        am_train_step_stats st = am_train_step_get_stats(fused);
        CU_ASSERT_EQUAL(st.traces, 1);
        CU_ASSERT_EQUAL(st.steps, 5);
        am_train_step_free(fused);
        am_trainer_free(ta), am_trainer_free(tb);
        am_block_release(a), am_block_release(b), am_block_release(la), am_block_release(lb);
    }
}

/* A new batch size plans again; a fused step refuses what it cannot do. */
static void test_fused_step_signatures(void)
{
    am_block *net = make_net(22), *loss = am_l2_loss(NULL);
    am_trainer *t = am_trainer_create(net, NULL, "sgd", NULL);
    am_train_step *s = am_train_step_create(net, loss, t);
    am_scope_begin();
    CU_ASSERT_PTR_NOT_NULL(am_train_step_run(s, rows(false, 0, BATCH), rows(true, 0, BATCH),
                                             BATCH, NULL));
    CU_ASSERT_PTR_NOT_NULL(am_train_step_run(s, rows(false, 0, 2), rows(true, 0, 2), 2, NULL));
    CU_ASSERT_EQUAL(am_train_step_get_stats(s).traces, 2);
    TU_ASSERT_FAILS(am_train_step_run(s, rows(false, 0, 2), rows(true, 0, 3), 2, NULL),
                    AM_ERR_SHAPE, "");
    TU_ASSERT_FAILS(am_train_step_run(s, rows(false, 0, 2), rows(true, 0, 2), 0, NULL),
                    AM_ERR_ARG, "batch_size 0 < 1");
    am_scope_end();
    am_train_step_free(s);
    am_trainer_free(t);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.clip_global_norm = 1;
    t = am_trainer_create(net, NULL, "sgd", &o);
    TU_ASSERT_FAILS(am_train_step_create(net, loss, t), AM_ERR_UNSUPPORTED, "global norm");
    am_trainer_free(t);
    am_block_release(net), am_block_release(loss);
}

/* Every optimizer takes steps that lower the loss on a fixed batch. */
static void test_every_optimizer_descends(void)
{
    static const char *const opts[] = {"sgd", "nag", "adam", "adamw", "rmsprop", "adagrad",
                                       "lamb"};
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
        for (int centered = 0; centered < 2; centered++) {
            am_block *net = make_net(17);
            am_trainer_opts o = am_trainer_defaults(opts[k]);
            o.lr = strcmp(opts[k], "sgd") == 0 || strcmp(opts[k], "nag") == 0 ? 0.05 : 0.01;
            o.momentum = centered ? 0.9 : o.momentum; /* sgd, nag: with and without momentum */
            o.centered = centered;
            am_trainer *t = am_trainer_create(net, NULL, opts[k], &o);
            CU_ASSERT_PTR_NOT_NULL_FATAL(t);
            double first = 0, last = 0;
            for (int step = 0; step < 20; step++) {
                am_scope_begin();
                am_autograd_record_begin(true);
                am_array *out = am_block_call(net, rows(false, 0, BATCH));
                am_array *loss = am_sum(am_square(am_sub(out, rows(true, 0, BATCH))), NULL, 0,
                                        false);
                am_autograd_end();
                CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
                last = am_item(loss, 0);
                if (step == 0) first = last;
                CU_ASSERT_EQUAL(am_trainer_step(t, BATCH), AM_OK);
                am_scope_end();
            }
            if (!(last < first)) printf("\n  %s: loss %g -> %g\n", opts[k], first, last);
            CU_ASSERT(last < first);
            am_trainer_free(t);
            am_block_release(net);
        }
}

static void test_trainer_errors(void)
{
    am_block *net = make_net(1);
    TU_ASSERT_FAILS(am_trainer_create(net, NULL, "sgdd", NULL), AM_ERR_ARG,
                    "unknown optimizer 'sgdd'");
    TU_ASSERT_FAILS(am_trainer_create(net, "^nothing$", "sgd", NULL), AM_ERR_ARG,
                    "no parameter matches");
    am_lr_scheduler s = am_scheduler_factor(0.1, 0, 0.5);
    am_trainer_opts o = am_trainer_defaults("sgd");
    o.scheduler = &s;
    TU_ASSERT_FAILS(am_trainer_create(net, NULL, "sgd", &o), AM_ERR_ARG, "step 0 < 1");
    am_trainer *t = am_trainer_create(net, "weight$", "sgd", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    TU_ASSERT_FAILS(am_trainer_step(t, 0) == AM_OK, AM_ERR_ARG, "batch_size 0 < 1");
    CU_ASSERT_EQUAL(am_trainer_set_learning_rate(t, 0.5), AM_OK);
    CU_ASSERT_DOUBLE_EQUAL(am_trainer_learning_rate(t), 0.5, 0);
    am_trainer_free(t);
    am_trainer_free(NULL);
    am_block_release(net);
}

/* The example of docs/training.md ("A training loop"), with checks added: it fits
 * y = x0^2 + x1^2 with an MLP, SGD with momentum and a cosine schedule with warmup. */
static void test_docs_example(void)
{
    am_scope_begin();
    am_seed(42);
    am_array *x = am_random_uniform(-1, 1, AM_SHAPE(32, 2), AM_DTYPE_FLOAT32);
    am_array *y = am_sum(am_square(x), (const int[]){1}, 1, true);

    am_block *net = am_sequential();
    am_sequential_add(net, am_dense(16, &(am_dense_opts){.activation = "tanh"}));
    am_sequential_add(net, am_dense(1, NULL));
    am_block_initialize(net, &(am_init){.kind = AM_INIT_XAVIER, .magnitude = 3});

    am_lr_scheduler sched = am_scheduler_cosine(0.1, 200, 0.001);
    sched.warmup_steps = 10;
    am_trainer_opts opts = am_trainer_defaults("sgd");
    opts.lr = 0.1, opts.momentum = 0.9, opts.wd = 1e-4, opts.scheduler = &sched;
    am_trainer *trainer = am_trainer_create(net, NULL, "sgd", &opts);

    double first = 0, last = 0;
    for (int step = 0; step < 200; step++) {
        am_scope_begin();
        am_autograd_record_begin(true);
        am_array *loss = am_sum(am_square(am_sub(am_block_call(net, x), y)), NULL, 0, false);
        am_autograd_end();
        am_backward(loss);
        am_trainer_step(trainer, 32);
        last = am_item(loss, 0) / 32;
        if (step == 0) first = last;
        am_scope_end();
    }
    CU_ASSERT_PTR_NOT_NULL(trainer);
    if (!(last < 0.1 * first)) printf("\n  mean squared error %g -> %g\n", first, last);
    CU_ASSERT(last < 0.1 * first);
    CU_ASSERT_EQUAL(am_trainer_num_update(trainer), 200);
    am_trainer_free(trainer);
    am_block_release(net);
    am_scope_end();
}

CU_TestInfo am_tests_trainer[] = {
    {"schedulers match MXNet 1.9.1", test_schedulers},
    {"scheduler errors", test_scheduler_errors},
    {"global-norm clipping", test_clip_global_norm},
    {"sgd with momentum equals the ops by hand", test_sgd_momentum},
    {"adam with a schedule equals the ops by hand", test_adam},
    {"grad_req ADD over micro-batches equals one batch", test_accumulation},
    {"grad_req NULL parameters are skipped", test_skips_null},
    {"the step clips the global norm", test_trainer_clip_global_norm},
    {"saved states resume bit for bit", test_resume},
    {"hybridized and eager blocks train alike", test_hybridized},
    {"every optimizer lowers the loss", test_every_optimizer_descends},
    {"a fused step equals the separate calls", test_fused_step},
    {"fused step signatures and errors", test_fused_step_signatures},
    {"errors", test_trainer_errors},
    {"the example of docs/training.md", test_docs_example},
    CU_TEST_INFO_NULL,
};
