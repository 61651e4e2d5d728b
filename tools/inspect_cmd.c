/* `amber inspect MODEL-symbol.json [MODEL.params] [-i NAME=SHAPE ...] [--training]`:
 * compiles a plan for the given input shapes and prints what the passes did,
 * the steps, and the memory planned against one buffer per value.  The plan
 * is sized, never allocated; a plan that would not fit under the memory
 * limit is reported after it is printed, and the command fails. */
#include "commands.h"

static const char *const usage_line =
    "usage: amber inspect MODEL-symbol.json [MODEL.params] [-i NAME=SHAPE ...] [--training]";

#define USAGE(...) am_cmd_usage_error("inspect", usage_line, __VA_ARGS__)

typedef struct inspect_args {
    const char *json, *params;
    am_cmd_values inputs;    /* -i NAME=SHAPE */
    bool training;
} inspect_args;

static int parse_args(int argc, char **argv, inspect_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int rc = 0;
        if (strcmp(s, "--training") == 0)
            a->training = true;
        else if (strcmp(s, "-i") == 0 && i + 1 < argc)
            rc = am_cmd_add_shape_arg("inspect", usage_line, argv[++i], &a->inputs);
        else if (s[0] == '-' && s[1])
            rc = USAGE("unknown option or missing value '%s'", s);
        else if (!a->json)
            a->json = s;
        else if (!a->params)
            a->params = s;
        else
            rc = USAGE("unexpected argument '%s'", s);
        if (rc) return rc;
    }
    return a->json ? 0 : USAGE("no model given");
}

/* "812 B", "40.1 KiB", "3.25 MiB", "1.50 TiB". */
static const char *format_bytes(int64_t n, char *buf, size_t len)
{
    static const char *const big[] = {"MiB", "GiB", "TiB", "PiB", "EiB"};
    if (n < 1024) {
        snprintf(buf, len, "%lld B", (long long)n);
    } else if (n < 1024 * 1024) {
        snprintf(buf, len, "%.1f KiB", (double)n / 1024);
    } else {
        double v = (double)n / (1024.0 * 1024.0);
        int u = 0;
        while (v >= 1024 && u < 4) v /= 1024, u++;
        snprintf(buf, len, "%.2f %s", v, big[u]);
    }
    return buf;
}

static int count_ops(const am_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i]->op != NULL;
    return n;
}

static void print_plan(const am_graph *g, const am_plan *p)
{
    am_plan_stats s = am_plan_get_stats(p);
    const am_graph *pg = am_plan_graph(p);
    char b1[32], b2[32];
    printf("nodes: %d before the passes (%d ops), %d after (%d ops)\n", s.n_nodes, count_ops(g),
           am_graph_num_nodes(pg), count_ops(pg));
    printf("steps: %d kernel call%s per run\n", s.n_steps, s.n_steps == 1 ? "" : "s");
    am_plan_print(p, stdout);
    printf("memory: arena %s for the intermediate values, %s with a buffer for each",
           format_bytes(s.arena_bytes, b1, sizeof(b1)),
           format_bytes(s.naive_bytes, b2, sizeof(b2)));
    if (s.naive_bytes > 0)
        printf(" (%.0f%%)", 100.0 * (double)s.arena_bytes / (double)s.naive_bytes);
    printf("\nworkspace: %s shared by the steps\n",
           format_bytes(s.workspace_bytes, b1, sizeof(b1)));
    printf("in-place: %d value%s written over an input\n", s.n_inplace,
           s.n_inplace == 1 ? "" : "s");
    printf("views: %d value%s sharing another's storage (no step)\n", s.n_views,
           s.n_views == 1 ? "" : "s");
    int64_t limit = am_get_memory_limit();
    if (limit > 0 && limit < INT64_MAX)
        printf("memory limit: %s (a run needs the arena and the workspace beside its inputs "
               "and parameters)\n", format_bytes(limit, b1, sizeof(b1)));
    am_clear_error();
}

/* The plan's input signature: the -i shapes, and in training the
 * parameters' shapes and dtypes too (they stay variables there). */
static int make_signature(const inspect_args *a, const am_graph *g, const am_cmd_values *params,
                          am_cmd_values *sig)
{
    const am_cmd_values *in = &a->inputs;
    for (int k = 0; k < in->n; k++) {
        if (am_cmd_find_variable(g, in->names[k]) < 0)
            return am_cmd_fail("inspect", "-i names '%s', which is no input of the graph",
                               in->names[k]);
        if (am_cmd_values_find(params, in->names[k]) >= 0)
            return am_cmd_fail("inspect", "-i gives '%s', which %s holds already",
                               in->names[k], a->params);
        if (!am_cmd_values_add_shape(sig, in->names[k], in->shapes[k], in->dtypes[k]))
            return am_cmd_fail("inspect", "out of memory");
    }
    for (int k = 0; a->training && k < params->n; k++)
        if (!am_cmd_values_add_shape(sig, params->names[k], params->shapes[k], params->dtypes[k]))
            return am_cmd_fail("inspect", "out of memory");
    return 0;
}

/* Inference freezes the parameters, so that folding can compute with them. */
static am_graph *graph_to_plan(const inspect_args *a, am_graph *g, const am_cmd_values *params)
{
    if (a->training) return am_graph_retain(g);
    return am_graph_freeze(g, am_cmd_names(params), params->values, params->n);
}

static int inspect(const inspect_args *a)
{
    am_cmd_values params = {0}, sig = {0};
    am_graph *g = am_graph_load(a->json), *planned = NULL;
    am_plan *p = NULL;
    int rc = g ? 0 : am_cmd_fail_last("inspect");
    if (rc == 0 && a->params) rc = am_cmd_load_params("inspect", a->params, g, false, &params);
    if (rc == 0) rc = make_signature(a, g, &params, &sig);
    if (rc == 0 && !(planned = graph_to_plan(a, g, &params))) rc = am_cmd_fail_last("inspect");
    if (rc == 0) {
        printf("graph: %s, %d nodes (%d ops), %s\n", a->json, am_graph_num_nodes(g), count_ops(g),
               a->training ? "training" : "inference");
        fflush(stdout);  /* the passes log to stdout too */
        am_plan_opts opts = {.training = a->training, .log = stdout, .names = am_cmd_names(&sig),
                             .shapes = sig.shapes, .dtypes = sig.dtypes, .n = sig.n,
                             .no_alloc = true};
        if (!(p = am_plan_create(planned, &opts))) rc = am_cmd_fail_last("inspect");
    }
    if (rc == 0) print_plan(g, p);
    if (rc == 0 && am_plan_check_memory(p) != AM_OK) {
        fflush(stdout);
        rc = am_cmd_fail_last("inspect");
    }
    am_plan_release(p);
    am_graph_release(planned);
    am_graph_release(g);
    am_cmd_values_free(&params);
    am_cmd_values_free(&sig);
    return rc;
}

int am_cmd_inspect(int argc, char **argv)
{
    inspect_args a = {0};
    am_scope_begin();
    int rc = parse_args(argc, argv, &a);
    if (rc == 0) rc = inspect(&a);
    am_cmd_values_free(&a.inputs);
    am_scope_end();
    return rc;
}
