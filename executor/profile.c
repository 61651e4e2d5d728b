/* Step timing for a plan: where a run's time goes, per op, so the passes and
 * kernels worth work are the ones that show. */
#include "plan_impl.h"

#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct op_time {
    const char *op;
    double s;
    int steps;
} op_time;

static int by_time_desc(const void *a, const void *b)
{
    const op_time *x = a, *y = b;
    return (x->s < y->s) - (x->s > y->s);
}

static am_status time_steps(am_plan *p, int runs, double *t)
{
    am_kernel_ctx ctx;
    am_status st = am_plan_prepare(p, "am_plan_profile", &ctx);
    if (st != AM_OK) return st;
    for (int r = 0; r < runs; r++)
        for (int s = 0; s < p->n_steps; s++) {
            const pstep *st = &p->steps[s];
            double t0 = now_s();
            am_status rc = st->fn(&ctx, st->node->attrs, st->in, st->n_in, st->out, st->n_out, st->req);
            t[s] += now_s() - t0;
            if (rc != AM_OK) return rc;
        }
    return AM_OK;
}

am_status am_plan_profile(am_plan *p, int runs, FILE *f)
{
    if (!p || !f || runs < 1) return am_fail(AM_ERR_ARG, "am_plan_profile: bad arguments");
    double *t = calloc((size_t)p->n_steps + 1, sizeof(double));
    op_time *ops = calloc((size_t)p->n_steps + 1, sizeof(op_time));
    if (!t || !ops) {
        free(t), free(ops);
        return am_fail(AM_ERR_OOM, "out of memory");
    }
    am_status st = time_steps(p, runs, t);
    int n_ops = 0;
    double total = 0;
    for (int s = 0; st == AM_OK && s < p->n_steps; s++) {
        const char *name = p->steps[s].node->op->name;
        int k = 0;
        while (k < n_ops && strcmp(ops[k].op, name) != 0) k++;
        if (k == n_ops) ops[n_ops++] = (op_time){name, 0, 0};
        ops[k].s += t[s] / runs;
        ops[k].steps++;
        total += t[s] / runs;
    }
    qsort(ops, (size_t)n_ops, sizeof(*ops), by_time_desc);
    if (st == AM_OK) fprintf(f, "%-28s %6s %10s %6s\n", "op", "steps", "ms/run", "share");
    for (int k = 0; st == AM_OK && k < n_ops; k++)
        fprintf(f, "%-28s %6d %10.3f %5.1f%%\n", ops[k].op, ops[k].steps, ops[k].s * 1e3,
                total > 0 ? 100 * ops[k].s / total : 0);
    if (st == AM_OK) fprintf(f, "%-28s %6d %10.3f\n", "total", p->n_steps, total * 1e3);
    free(t), free(ops);
    return st;
}
