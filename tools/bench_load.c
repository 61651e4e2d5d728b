/* `amber bench load [--quick] [N ...]`: how loading scales with the size of a
 * graph.  For chains of N relu nodes (10k, 100k and 1M by default; --quick:
 * 10k and 100k) written as MXNet writes them, it prints the seconds each
 * step takes: parsing the symbol JSON into a graph (with naming and the
 * topological order; also as the thread's CPU time), shape inference,
 * compiling a plan (passes, schedule, liveness, memory), one run of the
 * plan, node-by-node evaluation, and writing the JSON back.  Every step is
 * meant to grow linearly (or as n log n); docs/benchmarks.md has figures. */
#include "../symbol/symbol_impl.h"
#include "bench.h"

#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* A chain data -> relu0 -> relu1 -> ... -> relu<n-1> as MXNet 1.9 writes it. */
static char *chain_json(int n, size_t *len)
{
    size_t cap = 256 + (size_t)n * 96, k = 0;  /* a node line is at most 72 bytes */
    char *s = malloc(cap);
    if (!s) return NULL;
    k += (size_t)sprintf(s + k, "{\n  \"nodes\": [\n    {\"op\": \"null\", \"name\": \"data\", "
                         "\"inputs\": []}");
    for (int i = 0; i < n; i++)
        k += (size_t)sprintf(s + k, ",\n    {\"op\": \"relu\", \"name\": \"relu%d\", \"inputs\": "
                             "[[%d, 0, 0]]}", i, i);
    k += (size_t)sprintf(s + k, "\n  ],\n  \"arg_nodes\": [0],\n  \"heads\": [[%d, 0, 0]],\n"
                         "  \"attrs\": {\"mxnet_version\": [\"int\", 10901]}\n}\n", n);
    *len = k;
    return s;
}

/* One chain: prints a row, or returns false with the error printed. */
static bool bench_chain(int n)
{
    size_t len;
    char *text = chain_json(n, &len);
    if (!text) {
        fprintf(stderr, "amber bench load: out of memory\n");
        return false;
    }
    const char *names[] = {"data"};
    am_shape shape = AM_SHAPE(16);
    am_dtype dtype = AM_DTYPE_FLOAT32;
    am_graph *g = NULL;
    am_plan *p = NULL;
    char *back = NULL;
    bool ok = false;
    double t[7] = {0};
    am_scope_begin();
    am_array *x = am_random_uniform(-1, 1, shape, dtype), *y = NULL;
    t[0] = now_s();
    double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    if (!(g = am_graph_from_json_buffer(text, len, "chain"))) goto out;
    double load_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    t[1] = now_s();
    if (am_graph_infer(g, names, &shape, &dtype, 1) != AM_OK) goto out;
    t[2] = now_s();
    am_plan_opts o = {.names = names, .shapes = &shape, .dtypes = &dtype, .n = 1};
    if (!(p = am_plan_create(g, &o)) || am_plan_bind(p, "data", x) != AM_OK) goto out;
    t[3] = now_s();
    if (am_plan_run(p) != AM_OK) goto out;
    t[4] = now_s();
    if (am_graph_eval(g, names, &x, 1, false, &y, 1) != AM_OK) goto out;
    t[5] = now_s();
    if (!(back = am_graph_to_json(g))) goto out;
    t[6] = now_s();
    printf("%9d %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", n, t[1] - t[0], load_cpu,
           t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[6] - t[5], t[3] - t[0]);
    fflush(stdout);
    ok = true;
out:
    if (!ok) fprintf(stderr, "amber bench load: chain of %d: %s\n", n, am_last_error());
    free(back);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
    free(text);
    return ok;
}

int am_cmd_bench_load(int argc, char **argv)
{
    int sizes[16], n_sizes = 0;
    bool quick = false;
    for (int i = 0; i < argc; i++) {
        char *e;
        long v = strtol(argv[i], &e, 10);
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (e != argv[i] && !*e && v >= 1 && v <= 999999 && n_sizes < 16) {
            sizes[n_sizes++] = (int)v;
        } else {
            fprintf(stderr, "usage: amber bench load [--quick] [N ...] (chains of N relu nodes, "
                    "1 to 999999)\n");
            return 2;
        }
    }
    if (!n_sizes) {
        sizes[n_sizes++] = 10000;
        sizes[n_sizes++] = 100000;
        if (!quick) sizes[n_sizes++] = 999999;  /* with the variable, the 1M nodes JSON allows */
    }
    printf("amber bench load: chains of relu nodes; seconds for each step (load cpu: the\n"
           "thread's CPU time for load, which a busy machine does not inflate)\n"
           "%9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "nodes", "load", "load cpu", "infer", "plan",
           "run", "eval", "save", "load+plan");
    for (int i = 0; i < n_sizes; i++)
        if (!bench_chain(sizes[i])) return 1;
    return 0;
}
