/* Step timing for a plan: where a run's time goes, per op, so the passes and
 * kernels worth work are the ones that show; and the profiler's events for
 * plans (docs/profiling.md). */
#include "plan_impl.h"
#include "../ndarray/profiler_impl.h"

#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The time of one op's steps: grouped by definition (one per op name). */
typedef struct op_time {
    const am_op_def *op;
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
        const am_op_def *op = p->steps[s].node->op;
        int k = 0;
        while (k < n_ops && ops[k].op != op) k++;
        if (k == n_ops) ops[n_ops++] = (op_time){op, 0, 0};
        ops[k].s += t[s] / runs;
        ops[k].steps++;
        total += t[s] / runs;
    }
    qsort(ops, (size_t)n_ops, sizeof(*ops), by_time_desc);
    if (st == AM_OK) fprintf(f, "%-28s %6s %10s %6s\n", "op", "steps", "ms/run", "share");
    for (int k = 0; st == AM_OK && k < n_ops; k++)
        fprintf(f, "%-28s %6d %10.3f %5.1f%%\n", ops[k].op->name, ops[k].steps, ops[k].s * 1e3,
                total > 0 ? 100 * ops[k].s / total : 0);
    if (st == AM_OK) fprintf(f, "%-28s %6d %10.3f\n", "total", p->n_steps, total * 1e3);
    free(t), free(ops);
    return st;
}

/* ---- the profiler's events ------------------------------------------------------ */

void am_plan_prof_compile(const am_prof_span *s, const am_plan *p, am_status st)
{
    am_prof_args a;
    am_prof_args_init(&a);
    am_prof_arg_int(&a, "nodes", p->stats.n_nodes);
    if (st == AM_OK) {
        am_prof_arg_int(&a, "nodes after passes", p->graph->n_nodes);
        am_prof_arg_int(&a, "steps", p->n_steps);
        am_prof_arg_int(&a, "arena bytes", (int64_t)p->arena_bytes);
        am_prof_arg_int(&a, "workspace bytes", (int64_t)p->ws_bytes);
    } else {
        am_prof_arg_str(&a, "error", am_last_error());
    }
    am_prof_arg_bool(&a, "training", p->training);
    am_prof_complete(s, "compile", "plan compile", &a);
}

void am_plan_prof_run(const am_plan *p, const am_prof_span *s, am_status st)
{
    am_prof_args a;
    am_prof_args_init(&a);
    am_prof_arg_int(&a, "steps", p->n_steps);
    am_prof_arg_int(&a, "arena bytes", (int64_t)p->arena_bytes);
    am_prof_arg_bool(&a, "training", p->training);
    if (st != AM_OK) am_prof_arg_str(&a, "error", am_last_error());
    am_prof_complete(s, "plan", "plan run", &a);
}

void am_plan_prof_step(const am_plan *p, const pstep *st, const am_prof_span *s)
{
    am_prof_args a;
    int64_t bytes = 0;
    am_prof_args_init(&a);
    am_prof_arg_str(&a, "node", p->graph->names[st->node_index]);
    if (st->node->origin) am_prof_arg_str(&a, "origin", st->node->origin);
    am_prof_arg_views(&a, "inputs", st->in, st->n_in, &bytes);
    am_prof_arg_views(&a, "outputs", st->out, st->n_out, &bytes);
    am_prof_arg_int(&a, "bytes", bytes);
    am_prof_complete(s, "step", st->node->op->name, &a);
}
