/* `amber run MODEL-symbol.json [MODEL.params] -i NAME=FILE.npy ... -o OUT.npy ...`:
 * runs an exported model on .npy inputs through a compiled plan (or node by
 * node with --no-optimize) and writes its outputs as .npy files; --profile
 * writes a Chrome trace of it (docs/profiling.md). */
#include "commands.h"
#include "../ndarray/ndarray_impl.h"

#include <time.h>

static const char *const usage_line =
    "usage: amber run MODEL-symbol.json [MODEL.params] -i NAME=FILE.npy ... -o OUT.npy ... "
    "[--no-optimize] [--repeat N] [--ignore-extra] [--profile TRACE.json]";

#define USAGE(...) am_cmd_usage_error("run", usage_line, __VA_ARGS__)

typedef struct run_args {
    const char *json, *params;
    char **in_names;         /* -i NAME=FILE: names malloc'd, files in argv */
    const char **in_files;
    int n_in;
    const char **outs;       /* -o files, in output order */
    int n_out;
    bool no_optimize, ignore_extra;
    bool timed;              /* --repeat given: print the times */
    int repeat;
    const char *profile;     /* --profile: the trace to write, or NULL */
} run_args;

static int parse_repeat(const char *s, int *n)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (e == s || *e || v < 1 || v > 1000000)
        return USAGE("--repeat takes a count from 1, not '%s'", s);
    *n = (int)v;
    return 0;
}

/* Takes argv[*i] and its value, if it has one; returns 0 or the exit status. */
static int parse_one(int argc, char **argv, int *i, run_args *a)
{
    const char *s = argv[*i], *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(s, "--no-optimize") == 0) {
        a->no_optimize = true;
    } else if (strcmp(s, "--ignore-extra") == 0) {
        a->ignore_extra = true;
    } else if (value && strcmp(s, "--repeat") == 0) {
        ++*i;
        a->timed = true;
        return parse_repeat(value, &a->repeat);
    } else if (value && strcmp(s, "--profile") == 0) {
        ++*i;
        a->profile = value;
    } else if (value && strcmp(s, "-o") == 0) {
        ++*i;
        a->outs[a->n_out++] = value;
    } else if (value && strcmp(s, "-i") == 0) {
        ++*i;
        if (!am_cmd_split(value, &a->in_names[a->n_in], &a->in_files[a->n_in]))
            return USAGE("-i takes NAME=FILE.npy, not '%s'", value);
        a->n_in++;
    } else if (s[0] == '-' && s[1]) {
        return USAGE("unknown option or missing value '%s'", s);
    } else if (!a->json) {
        a->json = s;
    } else if (!a->params) {
        a->params = s;
    } else {
        return USAGE("unexpected argument '%s'", s);
    }
    return 0;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    a->in_names = calloc((size_t)argc + 1, sizeof(*a->in_names));
    a->in_files = calloc((size_t)argc + 1, sizeof(*a->in_files));
    a->outs = calloc((size_t)argc + 1, sizeof(*a->outs));
    a->repeat = 1;
    if (!a->in_names || !a->in_files || !a->outs) return am_cmd_fail("run", "out of memory");
    for (int i = 0; i < argc; i++) {
        int rc = parse_one(argc, argv, &i, a);
        if (rc) return rc;
    }
    return a->json ? 0 : USAGE("no model given");
}

static void free_args(run_args *a)
{
    for (int k = 0; k < a->n_in; k++) free(a->in_names[k]);
    free(a->in_names);
    free(a->in_files);
    free(a->outs);
}

/* ---- values ---------------------------------------------------------------------- */

/* Loads each -i file and checks it against the graph's variable. */
static int load_inputs(const run_args *a, const am_graph *g, const am_cmd_values *params,
                       am_cmd_values *in)
{
    for (int k = 0; k < a->n_in; k++) {
        const char *name = a->in_names[k], *file = a->in_files[k];
        if (am_cmd_find_variable(g, name) < 0)
            return am_cmd_fail("run", "-i names '%s', which is no input of the graph", name);
        if (am_cmd_values_find(in, name) >= 0)
            return am_cmd_fail("run", "-i gives '%s' twice", name);
        if (am_cmd_values_find(params, name) >= 0)
            return am_cmd_fail("run", "-i gives '%s', which %s holds already", name, a->params);
        am_array *x = am_npy_load(file);
        if (!x) return am_cmd_fail_last("run");
        int rc = am_cmd_check_value("run", g, name, x, file);
        if (rc) return rc;
        if (!am_cmd_values_add(in, name, x)) return am_cmd_fail("run", "out of memory");
    }
    return 0;
}

/* Every variable that is not a constant needs a value, but for those only a
 * gradient reads (a loss output's label: inference never reads it). */
static int check_bound(const run_args *a, const am_graph *g, const am_cmd_values *params,
                       const am_cmd_values *in)
{
    /* Which variables have a value: one lookup per value, not per node. */
    bool *has = calloc((size_t)g->n_nodes + 1, sizeof(*has));
    if (!has) return am_cmd_fail("run", "out of memory");
    for (int k = 0; k < params->n + in->n; k++) {
        int i = am_cmd_find_variable(g, k < params->n ? params->names[k] : in->names[k - params->n]);
        if (i >= 0) has[i] = true;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const am_node *n = g->nodes[i];
        const char *name = g->names[i];
        if (n->op || n->value || has[i] || am_graph_input_is_grad_only(g, i)) continue;
        free(has);
        if (a->params)
            return am_cmd_fail("run", "the graph input '%s' has no value: %s lacks it and no "
                               "-i %s=FILE.npy gives it", name, a->params, name);
        return am_cmd_fail("run", "the graph input '%s' has no value: give it with -i "
                           "%s=FILE.npy (or a parameter file)", name, name);
    }
    free(has);
    return 0;
}

/* ---- running ---------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

/* Node by node through am_graph_eval, every variable bound.  outs gets the
 * first n_out outputs of the last run, owned by the caller's scope. */
static int run_eval(const am_graph *g, const am_cmd_values *all, int repeat, double *ms,
                    am_array **outs, int n_out)
{
    for (int r = 0; r < repeat; r++) {
        am_scope_begin();
        double t0 = now_ms();
        am_status st = am_graph_eval(g, am_cmd_names(all), all->values, all->n, false, outs,
                                     n_out);
        ms[r] = now_ms() - t0;
        int rc = st == AM_OK ? 0 : am_cmd_fail_last("run");
        for (int k = 0; rc == 0 && r == repeat - 1 && k < n_out; k++) am_keep(outs[k]);
        am_scope_end();
        if (rc) return rc;
    }
    return 0;
}

/* Through a plan over the graph with the parameters frozen, the inputs' shapes
 * and dtypes as its signature.  outs gets the first n_out outputs of the last
 * run; they belong to *plan, which the caller releases after using them. */
static int run_plan(am_graph *g, const am_cmd_values *params, const am_cmd_values *in,
                    int repeat, double *ms, am_plan **plan, am_array **outs, int n_out)
{
    am_graph *frozen = am_graph_freeze(g, am_cmd_names(params), params->values, params->n);
    if (!frozen) return am_cmd_fail_last("run");
    am_plan_opts opts = {.training = false, .names = am_cmd_names(in), .shapes = in->shapes,
                         .dtypes = in->dtypes, .n = in->n};
    am_plan *p = *plan = am_plan_create(frozen, &opts);
    am_graph_release(frozen);
    if (!p) return am_cmd_fail_last("run");
    for (int k = 0; k < in->n; k++)
        if (am_plan_bind(p, in->names[k], in->values[k]) != AM_OK) return am_cmd_fail_last("run");
    for (int r = 0; r < repeat; r++) {
        double t0 = now_ms();
        am_status st = am_plan_run(p);
        ms[r] = now_ms() - t0;
        if (st != AM_OK) return am_cmd_fail_last("run");
    }
    for (int k = 0; k < n_out; k++)
        if (!(outs[k] = am_plan_output(p, k))) return am_cmd_fail_last("run");
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_times(double *ms, int n, bool planned)
{
    qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
    double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    printf("run: %d run%s %s, median %.3f ms, min %.3f ms\n", n, n == 1 ? "" : "s",
           planned ? "of the plan" : "node by node", median, ms[0]);
}

/* ---- the command ------------------------------------------------------------------- */

/* Every output goes to a temporary first; they are renamed over the -o
 * files only when all of them were written, so a failing output leaves the
 * others as they were. */
static int write_outputs(const run_args *a, am_array *const *outs)
{
    am_file_stage **staged = calloc((size_t)a->n_out + 1, sizeof(*staged));
    int rc = staged ? 0 : am_cmd_fail("run", "out of memory");
    for (int k = 0; rc == 0 && k < a->n_out; k++)
        if (am_npy_stage(a->outs[k], outs[k], &staged[k]) != AM_OK) rc = am_cmd_fail_last("run");
    for (int k = 0; staged && k < a->n_out; k++) {
        if (rc == 0 && am_file_stage_commit(staged[k]) != AM_OK) rc = am_cmd_fail_last("run");
        else if (rc != 0) am_file_stage_discard(staged[k]);
    }
    free(staged);
    return rc;
}

/* Parameters and inputs, checked against the graph, then in one list whose
 * shapes and dtypes go through the whole graph: a mismatch between a
 * parameter and an input is reported by the op that sees it, before running. */
static int bind_values(const run_args *a, am_graph *g, am_cmd_values *params, am_cmd_values *in,
                       am_cmd_values *all)
{
    int rc = 0, n_heads = am_graph_num_outputs(g);
    if (a->n_out > n_heads)
        rc = am_cmd_fail("run", "%d -o files for a graph of %d output%s", a->n_out, n_heads,
                         n_heads == 1 ? "" : "s");
    if (rc == 0 && a->params) rc = am_cmd_load_params("run", a->params, g, a->ignore_extra, params);
    if (rc == 0) rc = load_inputs(a, g, params, in);
    if (rc == 0) rc = check_bound(a, g, params, in);
    for (int k = 0; rc == 0 && k < params->n; k++)
        if (!am_cmd_values_add(all, params->names[k], params->values[k]))
            rc = am_cmd_fail("run", "out of memory");
    for (int k = 0; rc == 0 && k < in->n; k++)
        if (!am_cmd_values_add(all, in->names[k], in->values[k]))
            rc = am_cmd_fail("run", "out of memory");
    if (rc == 0 && am_graph_infer(g, am_cmd_names(all), all->shapes, all->dtypes, all->n) != AM_OK)
        rc = am_cmd_fail_last("run");
    return rc;
}

static int run(const run_args *a)
{
    am_cmd_values params = {0}, in = {0}, all = {0};
    am_plan *plan = NULL;
    am_array **outs = calloc((size_t)a->n_out + 1, sizeof(*outs));
    double *ms = calloc((size_t)a->repeat, sizeof(*ms));
    am_graph *g = am_graph_load(a->json);
    int rc = 0;
    if (!outs || !ms) rc = am_cmd_fail("run", "out of memory");
    else if (!g) rc = am_cmd_fail_last("run");
    if (rc == 0) rc = bind_values(a, g, &params, &in, &all);
    if (rc == 0 && a->no_optimize) rc = run_eval(g, &all, a->repeat, ms, outs, a->n_out);
    else if (rc == 0) rc = run_plan(g, &params, &in, a->repeat, ms, &plan, outs, a->n_out);
    if (rc == 0) rc = write_outputs(a, outs);
    if (rc == 0 && a->timed) print_times(ms, a->repeat, !a->no_optimize);
    am_plan_release(plan);
    am_cmd_values_free(&all);
    am_cmd_values_free(&in);
    am_cmd_values_free(&params);
    am_graph_release(g);
    free(outs);
    free(ms);
    return rc;
}

int am_cmd_run(int argc, char **argv)
{
    run_args a = {0};
    am_scope_begin();
    int rc = parse_args(argc, argv, &a);
    if (rc == 0 && a.profile && am_profiler_start(a.profile) != AM_OK) rc = am_cmd_fail_last("run");
    if (rc == 0) rc = run(&a);
    /* The trace is written even when the run failed: it shows how far it got. */
    if (a.profile && am_profiler_is_recording() && am_profiler_stop() != AM_OK && rc == 0)
        rc = am_cmd_fail_last("run");
    if (rc == 0 && a.profile) printf("run: trace written to %s (open it in ui.perfetto.dev)\n", a.profile);
    free_args(&a);
    am_scope_end();
    return rc;
}
