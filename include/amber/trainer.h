/* Training: learning-rate schedulers and the trainer, which steps every parameter of a
 * block with an optimizer update op (MXNet's Optimizer and Gluon's Trainer). */
#ifndef AMBER_TRAINER_H
#define AMBER_TRAINER_H

/*
 * A training loop, as Gluon writes it.  Example (runs):
 *
 *     am_block *net = am_dense(1, NULL);
 *     am_block_initialize(net, NULL);
 *     am_array *x = am_ones(AM_SHAPE(8, 3), AM_DTYPE_FLOAT32), *y = am_zeros(AM_SHAPE(8, 1), AM_DTYPE_FLOAT32);
 *     int64_t batch_size = 8;
 *     am_trainer_opts o = am_trainer_defaults("sgd");
 *     o.lr = 0.1, o.momentum = 0.9, o.wd = 1e-4;
 *     am_lr_scheduler s = am_scheduler_cosine(0.1, 1000, 0.0);
 *     s.warmup_steps = 50;
 *     o.scheduler = &s;
 *     am_trainer *t = am_trainer_create(net, NULL, "sgd", &o);
 *     for (int epoch = 0; epoch < 3; epoch++) {
 *         am_scope_begin();
 *         am_autograd_record_begin(true);
 *         am_array *loss = am_sum(am_square(am_sub(am_block_call(net, x), y)), NULL, 0, false);
 *         am_autograd_end();
 *         am_backward(loss);
 *         am_trainer_step(t, batch_size);     // rescale_grad = 1 / batch_size
 *         am_scope_end();
 *     }
 *     am_trainer_save_states(t, "run.states");
 *     am_trainer_free(t);
 *     am_block_release(net);
 */

#include "array.h"
#include "hybrid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- learning-rate schedulers -------------------------------------------------------- */

typedef enum am_sched_kind {
    AM_SCHED_CONSTANT,      /* base_lr (warmup still applies) */
    AM_SCHED_FACTOR,        /* base_lr * factor^k, k = ceil(n / step) - 1, >= stop_factor_lr */
    AM_SCHED_MULTI_FACTOR,  /* base_lr * factor^(number of steps[i] < n) */
    AM_SCHED_POLY,          /* final + (base - final) * (1 - (n - warmup) / (max - warmup))^pwr */
    AM_SCHED_COSINE,        /* final + (base - final) * (1 + cos(pi (n - warmup) / (max -
                               warmup))) / 2 */
    AM_SCHED_KIND_COUNT
} am_sched_kind;

enum { AM_SCHED_MAX_STEPS = 16 };

/* A schedule as MXNet's lr_scheduler.py defines it: the learning rate of update n (the
 * first update is n = 1).  Before warmup_steps it rises linearly from warmup_begin_lr to
 * base_lr (or stays at warmup_begin_lr with warmup_constant); poly and cosine reach
 * final_lr at max_update and keep it.  A value: copy it, change fields, pass a pointer. */
typedef struct am_lr_scheduler {
    am_sched_kind kind;
    double base_lr;
    int64_t warmup_steps;        /* 0: no warmup */
    double warmup_begin_lr;
    bool warmup_constant;        /* MXNet's warmup_mode='constant' */
    int64_t step;                /* FACTOR: updates between reductions */
    double factor;               /* FACTOR, MULTI_FACTOR */
    double stop_factor_lr;       /* FACTOR: the floor (MXNet's default 1e-8) */
    int64_t steps[AM_SCHED_MAX_STEPS]; /* MULTI_FACTOR: increasing update numbers */
    int n_steps;
    int64_t max_update;          /* POLY, COSINE */
    double pwr;                  /* POLY (MXNet's default 2) */
    double final_lr;             /* POLY, COSINE */
} am_lr_scheduler;

AM_API am_lr_scheduler am_scheduler_constant(double base_lr);
AM_API am_lr_scheduler am_scheduler_factor(double base_lr, int64_t step, double factor);
/* steps: n (at most AM_SCHED_MAX_STEPS) increasing update numbers. */
AM_API am_lr_scheduler am_scheduler_multi_factor(double base_lr, const int64_t *steps, int n,
                                                 double factor);
AM_API am_lr_scheduler am_scheduler_poly(double base_lr, int64_t max_update, double pwr,
                                         double final_lr);
AM_API am_lr_scheduler am_scheduler_cosine(double base_lr, int64_t max_update,
                                           double final_lr);

/* AM_OK, or AM_ERR_ARG naming what MXNet would refuse (factor > 1, step < 1, steps not
 * increasing, max_update < 1, warmup_begin_lr > base_lr, negative warmup_steps). */
AM_API am_status am_scheduler_check(const am_lr_scheduler *s);

/* The learning rate of update num_update (a pure function: MXNet's stateful schedulers
 * give the same values when called with increasing update numbers). */
AM_API double am_scheduler_lr(const am_lr_scheduler *s, int64_t num_update);

/* ---- gradient clipping --------------------------------------------------------------- */

/* Gluon's clip_global_norm: scales every array in place by min(1, max_norm / (norm +
 * 1e-8)), where norm is the L2 norm of all of them together, and stores norm in
 * *total_norm (may be NULL).  AM_ERR_ARG for n < 1 or max_norm <= 0; a norm that is
 * not finite is reported (AM_ERR_ARG) and nothing is scaled. */
AM_API am_status am_clip_global_norm(am_array *const *arrays, int n, double max_norm,
                                     double *total_norm);

/* ---- the trainer --------------------------------------------------------------------- */

typedef struct am_trainer am_trainer;

/* Hyperparameters.  Start from am_trainer_defaults(optimizer), which fills MXNet's
 * defaults for that optimizer, and change what you need. */
typedef struct am_trainer_opts {
    double lr;               /* learning rate (replaces scheduler->base_lr, as in MXNet) */
    double wd;               /* weight decay, times each parameter's wd_mult */
    double momentum;         /* sgd, nag; rmsprop (centered): gamma2 */
    double beta1, beta2;     /* adam, adamw, lamb */
    double epsilon;          /* adam, adamw, lamb, rmsprop, adagrad */
    double rho;              /* rmsprop: decay of the squared gradient (gamma1) */
    bool centered;           /* rmsprop: Graves' variant (rmspropalex_update) */
    double clip_gradient;    /* clips each rescaled gradient to [-c, c]; < 0: off */
    double clip_weights;     /* rmsprop: clips weights to [-c, c]; < 0: off */
    double clip_global_norm; /* > 0: am_clip_global_norm of all gradients before a step */
    double lower_bound, upper_bound; /* lamb: bounds of ||weight||; < 0: none */
    bool bias_correction;    /* lamb */
    const am_lr_scheduler *scheduler; /* copied at creation; NULL: constant lr */
} am_trainer_opts;

/* MXNet's defaults for optimizer: "sgd" (lr 0.01), "nag", "adam" (lr 0.001, 0.9, 0.999,
 * 1e-8), "adamw", "rmsprop" (lr 0.001, rho 0.9, momentum 0.9, 1e-8), "adagrad" (lr 0.01,
 * 1e-7), "lamb" (lr 0.001, 0.9, 0.999, 1e-6); clipping off.  An unknown name gives
 * the SGD defaults (am_trainer_create reports it). */
AM_API am_trainer_opts am_trainer_defaults(const char *optimizer);

/* A trainer over the parameters of b whose names match the extended regular expression
 * pattern (NULL: all), with optimizer "sgd", "nag", "adam", "adamw", "rmsprop", "adagrad"
 * or "lamb" and opts (NULL: its defaults).  Keeps a reference to b.  Parameters must be
 * initialised by the first step (deferred shapes are fine until then).  NULL with
 * AM_ERR_ARG for an unknown optimizer, a bad pattern, no parameter, or a bad scheduler. */
AM_API am_trainer *am_trainer_create(am_block *b, const char *pattern, const char *optimizer,
                                     const am_trainer_opts *opts);
/* NULL is a no-op. */
AM_API void am_trainer_free(am_trainer *t);

/* One update of every parameter with a gradient (grad_req WRITE or ADD; NULL is skipped),
 * as Gluon's Trainer.step: rescale_grad = 1 / batch_size, lr from the scheduler at the
 * update count, times lr_mult; wd times wd_mult; states (zeros) made at a parameter's
 * first update.  Weights and states change in place; gradients are left as they are
 * (zero them with am_block_zero_grad when they accumulate).  AM_ERR_ARG for
 * batch_size < 1 or an uninitialised parameter, or the failing op's error. */
AM_API am_status am_trainer_step(am_trainer *t, int64_t batch_size);

/* The learning rate at the current update count, before lr_mult (MXNet's
 * Trainer.learning_rate); the number of updates made so far (the largest per parameter). */
AM_API double am_trainer_learning_rate(const am_trainer *t);
AM_API int64_t am_trainer_num_update(const am_trainer *t);
/* Replaces the learning rate (AM_ERR_ARG when a scheduler sets it). */
AM_API am_status am_trainer_set_learning_rate(am_trainer *t, double lr);

/* Writes every optimizer state ("<param>.<state>", e.g. "fc1.weight.mom") and the update
 * counts ("__counts__", int64 per parameter) in MXNet's .params format, to a temporary
 * file renamed over path.  AM_ERR_IO when the file cannot be written. */
AM_API am_status am_trainer_save_states(am_trainer *t, const char *path);
/* Loads what am_trainer_save_states wrote, checking everything first: AM_ERR_ARG naming
 * an unknown state name, a count array of the wrong size, or AM_ERR_SHAPE / AM_ERR_DTYPE
 * naming a state that does not fit its parameter.  Nothing changes on failure. */
AM_API am_status am_trainer_load_states(am_trainer *t, const char *path);

/* ---- the whole training step as one plan ------------------------------------------- */

/* A training step fused into one plan: net's forward pass on data, loss(prediction,
 * label), the backward pass of the loss's sum, and t's update of every parameter it
 * trains, planned together (memory shared across all of it) once per signature (data
 * and label shapes and dtypes, batch_size) and run by one call.  Example (runs):
 *
 *     am_block *net = am_dense(1, NULL), *l2 = am_l2_loss(NULL);
 *     am_block_initialize(net, NULL);
 *     am_trainer *trainer = am_trainer_create(net, NULL, "sgd", NULL);
 *     am_array *x = am_ones(AM_SHAPE(8, 3), AM_DTYPE_FLOAT32), *y = am_zeros(AM_SHAPE(8, 1), AM_DTYPE_FLOAT32);
 *     am_train_step *step = am_train_step_create(net, l2, trainer);
 *     for (int i = 0; i < 3; i++) {
 *         am_array *loss = am_train_step_run(step, x, y, 8, NULL);   // (8,)
 *         printf("%g\n", am_item(am_mean(loss, NULL, 0, false), 0));
 *     }
 *     am_train_step_free(step);
 *
 * It does what am_autograd_record_begin, the two calls, am_backward and
 * am_trainer_step(t, batch_size) do, in training mode, with these differences: the
 * gradients live inside the plan (the parameters' gradient buffers are not written),
 * and parameters the loss does not depend on are not updated.  The trainer's counts,
 * learning rate (scheduler, lr_mult) and states advance exactly as with
 * am_trainer_step, so the two can be mixed and the trainer's states saved.  Keeps
 * references to net and loss; t must outlive the step.  Parameters must be
 * initialised.  AM_ERR_UNSUPPORTED for a trainer clipping by global norm or a
 * parameter with grad_req add. */
typedef struct am_train_step am_train_step;
AM_API am_train_step *am_train_step_create(am_block *net, am_block *loss, am_trainer *t);
/* NULL is a no-op. */
AM_API void am_train_step_free(am_train_step *s);
/* Runs one step; returns the loss (a new array, the loss block's output before the
 * backward pass's sum) and, when pred is not NULL, the prediction in *pred (new).
 * NULL with the error of the trace, the plan or the failing op. */
AM_API am_array *am_train_step_run(am_train_step *s, am_array *data, am_array *label,
                                   int64_t batch_size, am_array **pred);

typedef struct am_train_step_stats {
    int64_t traces;   /* plans built: one per signature seen in a row */
    int64_t steps;    /* steps run */
} am_train_step_stats;
AM_API am_train_step_stats am_train_step_get_stats(const am_train_step *s);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_TRAINER_H */
