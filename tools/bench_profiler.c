/* The profiler's own cost (docs/profiling.md): the check every eager op and
 * plan step makes while it is off, and a one-element relu with it off and
 * recording. */
#include "../ndarray/profiler_impl.h"
#include "bench.h"

#include <math.h>

enum { CHECKS = 1000 };

typedef struct flag_arg {
    volatile long hits;
} flag_arg;

/* CHECKS of the test in front of every instrumented place. */
static void check_flag(void *p)
{
    flag_arg *a = p;
    for (int i = 0; i < CHECKS; i++)
        if (am_prof_on()) a->hits++;
}

static void relu_once(void *p)
{
    am_scope_begin();
    am_relu((am_array *)p);
    am_scope_end();
}

void bench_profiler_cost(const bench_cfg *cfg)
{
    char dir[] = "/tmp/amber-bench-trace-XXXXXX", trace[64];
    if (am_profiler_is_recording()) {
        printf("\nprofiler: recording already (AM_PROFILE?); its cost is not measured\n");
        return;
    }
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32);
    flag_arg f = {0};
    double check_ns = bench_time_median(cfg, check_flag, &f) * 1e9 / CHECKS;
    double off_us = bench_time_median(cfg, relu_once, x) * 1e6, on_us = NAN;
    /* Recording writes about 600 bytes per relu (the op and two counter
     * events): a short measurement keeps the trace to a few tens of MB. */
    bench_cfg short_cfg = {.quick = true, .reps = 3, .min_s = 0.01};
    snprintf(trace, sizeof(trace), "%s/trace.json", mkdtemp(dir) ? dir : "/tmp");
    if (am_profiler_start(trace) == AM_OK) {
        on_us = bench_time_median(&short_cfg, relu_once, x) * 1e6;
        if (am_profiler_stop() != AM_OK) on_us = NAN;
        remove(trace);
    }
    remove(dir);
    am_clear_error();
    printf("\nprofiler, per eager op: off, its check costs %.2f ns (one load, one branch not taken) "
           "of a one-element relu's %.2f us; recording, the relu takes %.2f us\n", check_ns,
           off_us, on_us);
    am_scope_end();
}
