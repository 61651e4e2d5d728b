/* The pass pipeline: which passes run, in what order, switched by AM_PASSES
 * and am_optimize_opts.passes, logged when asked, and checked against the
 * target device (a pass that introduces an op the device cannot run is
 * undone). */
#include "executor_impl.h"
#include "../ndarray/profiler_impl.h"

#include <stdarg.h>

/* Pipeline order.  Simplification first (it removes inference Dropout and
 * identities other passes would trip on), CSE before folding so shared
 * constants fold once, BatchNorm folding before constant folding so the
 * folded weights are computed once, epilogue fusion before elementwise
 * fusion so bias and activation go into the GEMM first, DCE last. */
static const am_pass passes[] = {
    /* passes: one line each, in pipeline order */
    {"simplify", am_pass_simplify, true, "algebraic simplification (x*1, x+0, double transpose, reshape of reshape, identity Dropout)"},
    {"cse", am_pass_cse, true, "common-subexpression elimination"},
    {"gemm_sum", am_pass_gemm_sum, true, "a sum of dot products with the same transposes becomes one dot over joined operands"},
    {"bnfold", am_pass_bnfold, true, "BatchNorm folded into the preceding Convolution/FullyConnected (inference)"},
    {"gemm_concat", am_pass_gemm_concat, true, "FullyConnected/dot nodes sharing their data become one over joined weights, sliced back"},
    {"fold", am_pass_fold, true, "constant folding"},
    {"gemm_batch", am_pass_gemm_batch, true, "independent GEMMs sharing a weight become one"},
    {"epilogue", am_pass_epilogue, true, "bias and activation folded into FullyConnected/Convolution"},
    {"fuse", am_pass_fuse, true, "elementwise chains and trees become one fused op"},
    {"dce", am_pass_dce, true, "dead-code elimination"},
};

#define N_PASSES ((int)(sizeof(passes) / sizeof(passes[0])))

const char *const *am_pass_names(void)
{
    static const char *names[N_PASSES + 1];
    for (int i = 0; i < N_PASSES; i++) names[i] = passes[i].name;
    return names;
}

void am_pass_log(const am_pass_ctx *ctx, const char *fmt, ...)
{
    if (!ctx->log) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(ctx->log, "pass %s: ", ctx->pass ? ctx->pass : "?");
    vfprintf(ctx->log, fmt, ap);
    fputc('\n', ctx->log);
    va_end(ap);
}

static int find_pass(const char *name, size_t len)
{
    for (int i = 0; i < N_PASSES; i++)
        if (strlen(passes[i].name) == len && strncmp(passes[i].name, name, len) == 0) return i;
    return -1;
}

/* Applies "-a,+b,c" (a bare name turns a pass on) to on[]; "-all" and
 * "+all"/"all" switch every pass.  AM_ERR_ARG naming an unknown pass. */
static am_status apply_switches(const char *spec, bool *on, const char *where)
{
    for (const char *p = spec; p && *p;) {
        while (*p == ',' || *p == ' ') p++;
        if (!*p) break;
        bool enable = *p != '-';
        if (*p == '-' || *p == '+') p++;
        size_t len = strcspn(p, ", ");
        if (len == 3 && strncmp(p, "all", 3) == 0) {
            for (int i = 0; i < N_PASSES; i++) on[i] = enable;
        } else {
            int i = find_pass(p, len);
            if (i < 0) {
                char names[256] = "";
                for (int k = 0; k < N_PASSES; k++)
                    snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                             k ? ", " : "", passes[k].name);
                return am_fail(AM_ERR_ARG, "%s: unknown pass '%.*s' (passes: %s)", where, (int)len,
                               p, names);
            }
            on[i] = enable;
        }
        p += len;
    }
    return AM_OK;
}

static FILE *log_stream(const am_optimize_opts *opts)
{
    if (opts && opts->log) return opts->log;
    const char *env = getenv("AM_LOG_PASSES");
    return env && env[0] && strcmp(env, "0") != 0 ? stderr : NULL;
}

/* The first op of out that dev has no kernel for and g does not use (the
 * ops g uses there are tried first, so that a graph which cannot run
 * anyway still optimizes), or NULL.  On the CPU the loop finds nothing. */
static const am_op_def *new_unsupported(const am_graph *g, const am_graph *out, am_device dev)
{
    const am_op_def *had[16];
    int n_had = 0;
    bool all_known = true; /* had[] lists every op of g dev lacks */
    for (int i = 0; i < g->n_nodes; i++) {
        const am_op_def *op = g->nodes[i]->op;
        if (!op || am_device_supports_op(dev, op)) continue;
        int k = 0;
        while (k < n_had && had[k] != op) k++;
        if (k < n_had) continue;
        if (n_had < (int)(sizeof(had) / sizeof(had[0]))) had[n_had++] = op;
        else all_known = false;
    }
    for (int i = 0; i < out->n_nodes; i++) {
        const am_op_def *op = out->nodes[i]->op;
        if (!op || am_device_supports_op(dev, op)) continue;
        bool old = false;
        for (int k = 0; k < n_had && !old; k++) old = had[k] == op;
        for (int j = 0; j < g->n_nodes && !old && !all_known; j++) old = g->nodes[j]->op == op;
        if (!old) return op;
    }
    return NULL;
}

/* Undoes a pass whose result needs a kernel ctx->device lacks (a fused op
 * the device has none for): passes need not know the devices. */
static am_graph *check_device(am_pass_ctx *ctx, am_graph *g, am_graph *out)
{
    const am_op_def *op = out && out != g ? new_unsupported(g, out, ctx->device) : NULL;
    if (!op) return out;
    char dev[32];
    am_pass_log(ctx, "kept the graph before it: it made %s, which %s has no kernel for", op->name,
                am_device_format(ctx->device, dev, sizeof(dev)));
    am_graph_release(out);
    ctx->changes = 0;
    return am_graph_retain(g);
}

static am_graph *run_one(const am_pass *p, am_graph *g, const am_optimize_opts *opts)
{
    am_pass_ctx ctx = {.training = opts && opts->training, .log = log_stream(opts), .pass = p->name,
                       .device = opts ? opts->device : am_cpu()};
    int before = g->n_nodes;
    am_prof_span s = {0};
    bool prof = am_prof_on();
    if (prof) am_prof_begin(&s);
    am_graph *out = check_device(&ctx, g, p->run(g, &ctx));
    if (prof) {
        am_prof_args a;
        am_prof_args_init(&a);
        am_prof_arg_int(&a, "nodes before", before);
        if (out) am_prof_arg_int(&a, "nodes after", out->n_nodes);
        am_prof_arg_int(&a, "changes", ctx.changes);
        if (!out) am_prof_arg_str(&a, "error", am_last_error());
        char name[64];
        snprintf(name, sizeof(name), "pass %s", p->name);
        am_prof_complete(&s, "pass", name, &a);
    }
    if (out && ctx.log && (ctx.changes || out->n_nodes != before))
        fprintf(ctx.log, "pass %s: %d change%s, %d -> %d nodes\n", p->name, ctx.changes,
                ctx.changes == 1 ? "" : "s", before, out->n_nodes);
    return out;
}

am_graph *am_graph_optimize(am_graph *g, const am_optimize_opts *opts)
{
    bool on[N_PASSES];
    if (!g) {
        am_fail(AM_ERR_ARG, "am_graph_optimize: graph is NULL");
        return NULL;
    }
    for (int i = 0; i < N_PASSES; i++) on[i] = passes[i].on_by_default;
    if (apply_switches(getenv("AM_PASSES"), on, "AM_PASSES") != AM_OK ||
        apply_switches(opts ? opts->passes : NULL, on, "passes") != AM_OK)
        return NULL;
    am_graph *cur = am_graph_retain(g);
    for (int i = 0; i < N_PASSES && cur; i++) {
        if (!on[i]) continue;
        am_graph *next = run_one(&passes[i], cur, opts);
        am_graph_release(cur);
        cur = next;
    }
    return cur;
}

am_graph *am_graph_run_pass(am_graph *g, const char *name, const am_optimize_opts *opts)
{
    int i = name ? find_pass(name, strlen(name)) : -1;
    if (i < 0) {
        am_fail(AM_ERR_ARG, "am_graph_run_pass: unknown pass '%s'", name ? name : "(null)");
        return NULL;
    }
    if (!g) {
        am_fail(AM_ERR_ARG, "am_graph_run_pass: graph is NULL");
        return NULL;
    }
    return run_one(&passes[i], g, opts);
}

am_graph *am_graph_freeze(am_graph *g, const char *const *names, am_array *const *values, int n)
{
    am_rewriter rw;
    if (!g) {
        am_fail(AM_ERR_ARG, "am_graph_freeze: graph is NULL");
        return NULL;
    }
    for (int k = 0; k < n; k++)
        if (!values[k] || !values[k]->storage) {
            am_fail(AM_ERR_ARG, "am_graph_freeze: the value of '%s' is %s", names[k],
                    values[k] ? "symbolic" : "NULL");
            return NULL;
        }
    /* value_of[i]: the first k naming variable i, else n; one lookup per name. */
    int *value_of = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(*value_of));
    if (!value_of) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) value_of[i] = n;
    for (int k = n - 1; k >= 0; k--) {
        int i = am_graph_find_name(g, names[k]);
        if (i >= 0) value_of[i] = k;
    }
    if (am_rw_init(&rw, g) != AM_OK) {
        free(value_of);
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        am_node *v = g->nodes[i];
        int k = value_of[i];
        if (v->op || k == n) {
            if (!am_rw_keep(&rw, i)) return free(value_of), am_rw_fail(&rw);
            continue;
        }
        const am_shape *s = &v->shapes[0];
        am_shape merged = *s;
        if (am_shape_merge(&merged, &values[k]->shape) < 0 ||
            (v->dtypes[0] != AM_DTYPE_COUNT && v->dtypes[0] != values[k]->dtype)) {
            char a[96], b[96];
            am_fail(AM_ERR_SHAPE, "am_graph_freeze: '%s' is %s %s in the graph but the value is %s %s",
                    names[k], am_dtype_name(v->dtypes[0] == AM_DTYPE_COUNT ? values[k]->dtype : v->dtypes[0]),
                    am_format_shapes(s, 1, a, sizeof(a)), am_dtype_name(values[k]->dtype),
                    am_format_shapes(&values[k]->shape, 1, b, sizeof(b)));
            return free(value_of), am_rw_fail(&rw);
        }
        am_node *c = am_node_clone(v, NULL);
        if (!c) return free(value_of), am_rw_fail(&rw);
        am_release(c->value);
        c->value = am_retain(values[k]);
        c->shapes[0] = values[k]->shape;
        c->dtypes[0] = values[k]->dtype;
        am_rw_set(&rw, i, 0, (am_entry){c, 0});
        am_node_release(c);
    }
    free(value_of);
    return am_rw_finish(&rw);
}
