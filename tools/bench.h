/* Shared by the `amber bench` subcommands: settings and the timing loop. */
#ifndef AMBER_TOOLS_BENCH_H
#define AMBER_TOOLS_BENCH_H

#include <stdbool.h>

typedef struct bench_cfg {
    bool quick;
    int reps;        /* samples per measurement; the median is reported */
    double min_s;    /* each sample repeats the call until it lasts this long */
} bench_cfg;

typedef void (*bench_fn)(void *arg);

/* Median seconds per call of fn: one warm-up call, a calibration call, then
 * cfg->reps samples of enough calls each to last cfg->min_s. */
double bench_time_median(const bench_cfg *cfg, bench_fn fn, void *arg);

/* The same samples' median, fastest and slowest, in seconds per call. */
typedef struct bench_stats {
    double median, min, max;
} bench_stats;
bench_stats bench_time_stats(const bench_cfg *cfg, bench_fn fn, void *arg);

/* Prints the thread pools and OpenBLAS's kernels, warning about the slow
 * Prescott fallback. */
void bench_print_threads(void);

/* Prints the profiler's cost per eager op, off and recording (bench_profiler.c). */
void bench_profiler_cost(const bench_cfg *cfg);

int am_cmd_bench_conv(int argc, char **argv);
int am_cmd_bench_graph(int argc, char **argv);
int am_cmd_bench_blocks(int argc, char **argv);
int am_cmd_bench_loader(int argc, char **argv);
int am_cmd_bench_models(int argc, char **argv);
int am_cmd_bench_load(int argc, char **argv);

#endif /* AMBER_TOOLS_BENCH_H */
