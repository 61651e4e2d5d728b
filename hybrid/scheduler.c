/* Learning-rate schedulers with the semantics of MXNet's lr_scheduler.py, written as pure
 * functions of the update number, and Gluon's global-norm gradient clipping. */
#include "hybrid_impl.h"

#include <amber/trainer.h>
#include <math.h>

extern const am_op_def am_op_copy;

static am_lr_scheduler sched_base(am_sched_kind kind, double base_lr)
{
    return (am_lr_scheduler){.kind = kind, .base_lr = base_lr, .factor = 1,
                             .stop_factor_lr = 1e-8, .pwr = 2};
}

am_lr_scheduler am_scheduler_constant(double base_lr)
{
    return sched_base(AM_SCHED_CONSTANT, base_lr);
}

am_lr_scheduler am_scheduler_factor(double base_lr, int64_t step, double factor)
{
    am_lr_scheduler s = sched_base(AM_SCHED_FACTOR, base_lr);
    s.step = step, s.factor = factor;
    return s;
}

am_lr_scheduler am_scheduler_multi_factor(double base_lr, const int64_t *steps, int n,
                                          double factor)
{
    am_lr_scheduler s = sched_base(AM_SCHED_MULTI_FACTOR, base_lr);
    s.factor = factor;
    s.n_steps = n; /* am_scheduler_check refuses n out of range */
    for (int i = 0; steps && i < n && i < AM_SCHED_MAX_STEPS; i++) s.steps[i] = steps[i];
    return s;
}

am_lr_scheduler am_scheduler_poly(double base_lr, int64_t max_update, double pwr,
                                  double final_lr)
{
    am_lr_scheduler s = sched_base(AM_SCHED_POLY, base_lr);
    s.max_update = max_update, s.pwr = pwr, s.final_lr = final_lr;
    return s;
}

am_lr_scheduler am_scheduler_cosine(double base_lr, int64_t max_update, double final_lr)
{
    am_lr_scheduler s = sched_base(AM_SCHED_COSINE, base_lr);
    s.max_update = max_update, s.final_lr = final_lr;
    return s;
}

static am_status check_kind(const am_lr_scheduler *s)
{
    switch (s->kind) {
    case AM_SCHED_FACTOR:
        if (s->step < 1) return am_fail(AM_ERR_ARG, "scheduler: step %lld < 1", (long long)s->step);
        break;
    case AM_SCHED_MULTI_FACTOR:
        if (s->n_steps < 1 || s->n_steps > AM_SCHED_MAX_STEPS)
            return am_fail(AM_ERR_ARG, "scheduler: %d steps (1 to %d)", s->n_steps,
                           AM_SCHED_MAX_STEPS);
        for (int i = 0; i < s->n_steps; i++)
            if (s->steps[i] < 1 || (i > 0 && s->steps[i] <= s->steps[i - 1]))
                return am_fail(AM_ERR_ARG, "scheduler: steps must be increasing and >= 1 "
                               "(step %d is %lld)", i, (long long)s->steps[i]);
        break;
    case AM_SCHED_POLY:
    case AM_SCHED_COSINE:
        if (s->max_update < 1)
            return am_fail(AM_ERR_ARG, "scheduler: max_update %lld < 1", (long long)s->max_update);
        if (s->max_update <= s->warmup_steps)
            return am_fail(AM_ERR_ARG, "scheduler: max_update %lld <= warmup_steps %lld",
                           (long long)s->max_update, (long long)s->warmup_steps);
        break;
    case AM_SCHED_CONSTANT:
        break;
    default:
        return am_fail(AM_ERR_ARG, "scheduler: unknown kind %d", (int)s->kind);
    }
    if ((s->kind == AM_SCHED_FACTOR || s->kind == AM_SCHED_MULTI_FACTOR) && s->factor > 1)
        return am_fail(AM_ERR_ARG, "scheduler: factor %g > 1 would raise the rate", s->factor);
    return AM_OK;
}

am_status am_scheduler_check(const am_lr_scheduler *s)
{
    if (!s) return am_fail(AM_ERR_ARG, "scheduler: NULL");
    if (s->warmup_steps < 0)
        return am_fail(AM_ERR_ARG, "scheduler: warmup_steps %lld < 0", (long long)s->warmup_steps);
    if (s->warmup_begin_lr > s->base_lr)
        return am_fail(AM_ERR_ARG, "scheduler: warmup_begin_lr %g > base_lr %g",
                       s->warmup_begin_lr, s->base_lr);
    return check_kind(s);
}

/* base_lr times factor once per reduction, as MXNet multiplies (not pow). */
static double reduce(double lr, double factor, int64_t k, double floor_lr)
{
    for (int64_t i = 0; i < k; i++) {
        lr *= factor;
        if (lr < floor_lr) lr = floor_lr;
    }
    return lr;
}

double am_scheduler_lr(const am_lr_scheduler *s, int64_t n)
{
    if (n < s->warmup_steps)
        return s->warmup_constant ? s->warmup_begin_lr
                                  : s->warmup_begin_lr + (s->base_lr - s->warmup_begin_lr) *
                                                             (double)n / (double)s->warmup_steps;
    int64_t k = 0, span = s->max_update - s->warmup_steps;
    double frac = n >= s->max_update ? 1.0 : (double)(n - s->warmup_steps) / (double)span;
    switch (s->kind) {
    case AM_SCHED_FACTOR:
        k = n > s->step ? (n - 1) / s->step : 0; /* reductions while n > count + step */
        return reduce(s->base_lr, s->factor, k, s->stop_factor_lr);
    case AM_SCHED_MULTI_FACTOR:
        while (k < s->n_steps && n > s->steps[k]) k++;
        return reduce(s->base_lr, s->factor, k, -INFINITY);
    case AM_SCHED_POLY:
        return s->final_lr + (s->base_lr - s->final_lr) * pow(1 - frac, s->pwr);
    case AM_SCHED_COSINE:
        return s->final_lr + (s->base_lr - s->final_lr) * (1 + cos(M_PI * frac)) / 2;
    default:
        return s->base_lr;
    }
}

/* ---- global-norm clipping ------------------------------------------------------------- */

am_status am_clip_global_norm(am_array *const *arrays, int n, double max_norm,
                              double *total_norm)
{
    if (!arrays || n < 1 || max_norm <= 0)
        return am_fail(AM_ERR_ARG, "am_clip_global_norm: %s", max_norm <= 0 ? "max_norm <= 0"
                                                                            : "no arrays");
    double sum = 0;
    am_status st = AM_OK;
    am_scope_begin();
    for (int i = 0; i < n && st == AM_OK; i++) {
        am_array *sq = am_sum(am_square(arrays[i]), NULL, 0, false);
        if (!sq) st = am_last_status();
        else sum += am_item(sq, 0);
    }
    double norm = sqrt(sum), scale = max_norm / (norm + 1e-8);
    if (total_norm) *total_norm = norm;
    if (st == AM_OK && !isfinite(norm))
        st = am_fail(AM_ERR_ARG, "am_clip_global_norm: the norm is %g; nothing was scaled", norm);
    for (int i = 0; i < n && st == AM_OK && scale < 1; i++) {
        am_array *y = am_mul_scalar(arrays[i], scale);
        am_req req = AM_REQ_WRITE;
        st = y ? am_op_run_into(&am_op_copy, NULL, &y, 1, &arrays[i], &req) : am_last_status();
    }
    am_scope_end();
    return st;
}
