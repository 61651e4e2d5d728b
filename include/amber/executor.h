/* The static path: graph passes, the compiled plan and symbolic gradients. */
#ifndef AMBER_EXECUTOR_H
#define AMBER_EXECUTOR_H

/*
 * A graph (symbol.h) runs in one of two ways:
 *
 *   - node by node: am_graph_eval calls each node's kernel on freshly
 *     allocated outputs (shapes from the registry's inference, as eager
 *     calls have them) and frees a value after its last use; the reference
 *     that optimized runs are checked against;
 *   - as a plan: am_plan_create optimizes the graph (am_graph_optimize),
 *     plans its memory into one arena and resolves every kernel, buffer and
 *     view once; am_plan_run then only calls kernels.  Example:
 *
 *     am_graph *g = am_graph_load("model-symbol.json");
 *     am_array *x = am_zeros(AM_SHAPE(1, 784), AM_DTYPE_FLOAT32);
 *     am_plan *p = am_plan_create(g, &(am_plan_opts){.training = false});
 *     am_plan_bind(p, "data", x);                  // and each parameter
 *     am_plan_run(p);
 *     am_array *y = am_plan_output(p, 0);          // valid until the next run
 *     am_plan_release(p);
 *
 * Passes are graph-to-graph functions, named and switchable: AM_PASSES
 * ("-cse,-fuse") or am_plan_opts.passes turns them off or on, and
 * AM_LOG_PASSES=1 (or opts.log) prints what each changed.
 *
 * A plan runs on one device (am_plan_opts.device, the CPU by default): its
 * kernels, arena and workspace come from that device, and a pass that
 * introduces an op the device has no kernel for (am_device_supports_op) is
 * undone (docs/executor.md, "Devices").
 */

#include <stdio.h>

#include "array.h"
#include "symbol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- node-by-node evaluation ---------------------------------------------- */

/* Runs g with the named variables bound to concrete arrays, node by node
 * (each node's kernel on freshly allocated outputs), in inference (training
 * false) or training mode.
 * out receives the first n_out heads (new references owned by the current
 * scope, as op results are).  Variables that are not bound are an AM_ERR_ARG
 * naming them; a failing node reports its own error and names the node. */
AM_API am_status am_graph_eval(const am_graph *g, const char *const *names,
                               am_array *const *values, int n, bool training, am_array **out,
                               int n_out);

/* ---- passes ---------------------------------------------------------------- */

typedef struct am_optimize_opts {
    bool training;       /* keep what training needs (Dropout, BatchNorm statistics) */
    const char *passes;  /* "-cse,-fold": passes off (or "+name" on) on top of AM_PASSES */
    FILE *log;           /* where each pass says what it changed; NULL: AM_LOG_PASSES */
    /* The device the graph will run on ({0}: the CPU).  A pass whose result
     * uses an op this device has no kernel for (am_device_supports_op), and
     * its input graph did not, is undone: the pipeline keeps the graph
     * before it and logs "kept the graph before it". */
    am_device device;
} am_optimize_opts;

/* The names of the passes in pipeline order ("simplify", "cse", ..., "dce"),
 * NULL-terminated. */
AM_API const char *const *am_pass_names(void);

/* Runs the enabled passes over g, each checked against opts->device as
 * am_optimize_opts says.  New reference (g itself, retained, when nothing
 * changed), or NULL with the failing pass's error.  opts may be NULL. */
AM_API am_graph *am_graph_optimize(am_graph *g, const am_optimize_opts *opts);

/* Runs one pass by name; NULL with AM_ERR_ARG for an unknown name. */
AM_API am_graph *am_graph_run_pass(am_graph *g, const char *pass, const am_optimize_opts *opts);

/* A copy of g in which the named variables are constants with the given
 * values (references taken), so constant folding and BatchNorm folding may
 * compute with them once: parameters frozen for inference. */
AM_API am_graph *am_graph_freeze(am_graph *g, const char *const *names,
                                 am_array *const *values, int n);

/* ---- symbolic gradients ---------------------------------------------------- */

/* The graph whose heads are g's heads followed by the gradients of the sum
 * of g's heads, each weighted by a head gradient, with respect to the named
 * variables (in the order given).  Head gradient h is the variable
 * "<output name>_head_grad" of the head's shape and dtype.  Built from the
 * registry's gradient functions, the same ones eager autograd runs.
 * AM_ERR_ARG for an unknown name; a variable no head depends on gets zeros. */
AM_API am_graph *am_graph_gradient(am_graph *g, const char *const *wrt, int n_wrt);

/* ---- plans ----------------------------------------------------------------- */

typedef struct am_plan am_plan;

typedef struct am_plan_opts {
    bool training;             /* training mode (Dropout on, BatchNorm batch statistics) */
    bool no_optimize;          /* skip the passes and memory sharing: node by node order */
    const char *passes;        /* as am_optimize_opts.passes */
    FILE *log;                 /* as am_optimize_opts.log */
    /* Input signature: shapes and dtypes for named inputs whose graph
     * variables do not say (NULL dtypes: float32).  Others come from the
     * graph. */
    const char *const *names;
    const am_shape *shapes;
    const am_dtype *dtypes;
    int n;
    /* Plan and size the arena and workspace but allocate neither (nor check
     * them against the memory limit): the plan can be printed, its stats
     * read and am_plan_check_memory asked, but it cannot run. */
    bool no_alloc;
    /* The device the plan runs on ({0}: the CPU).  The passes are checked
     * against it (am_optimize_opts.device), every step takes its kernel
     * from it (am_op_kernel), the arena and workspace come from its
     * allocator, constants are copied to it, and inputs must be bound on
     * it.  AM_ERR_DEVICE when it is not available, except with no_alloc
     * (constants then stay where they are). */
    am_device device;
} am_plan_opts;

/* Compiles g for one input signature on opts->device.  NULL with the error
 * of the pass, inference or allocation that failed; AM_ERR_UNSUPPORTED
 * naming the node and op when the device has no kernel for an op of the
 * optimized graph.  Before allocating on the CPU, the arena and workspace
 * are checked against the memory limit (am_set_memory_limit): AM_ERR_OOM as
 * am_plan_check_memory says. */
AM_API am_plan *am_plan_create(am_graph *g, const am_plan_opts *opts);

/* AM_OK when the memory p would allocate (arena and workspace) fits under
 * the memory limit beside the host memory held now, or p holds it already,
 * or p runs on a device other than the CPU (the limit bounds host memory).
 * Else AM_ERR_OOM with a message naming the bytes, the limit and the node
 * whose value (or workspace) is the largest part. */
AM_API am_status am_plan_check_memory(const am_plan *p);
/* NULL is a no-op. */
AM_API void am_plan_release(am_plan *p);

/* Binds variable name to x, an array on the plan's device, for the
 * following runs (a reference is kept).
 * A variable of the graph that the passes made unneeded (BatchNorm's gamma
 * under fix_gamma, folded away) is accepted and not read, as MXNet's
 * executors accept every argument.  AM_ERR_SHAPE / AM_ERR_DTYPE when x does
 * not match the plan's signature, which names both, AM_ERR_DEVICE when it
 * is on another device, AM_ERR_ARG for a name the graph does not have. */
AM_API am_status am_plan_bind(am_plan *p, const char *name, am_array *x);

/* Runs every step.  Allocates nothing.  AM_ERR_ARG naming an unbound input. */
AM_API am_status am_plan_run(am_plan *p);

/* Output i of the last run: a new reference owned by the current scope (as
 * op results are) to an array whose bytes the plan overwrites on the next
 * run (copy it to keep the values). */
AM_API am_array *am_plan_output(am_plan *p, int i);
AM_API int am_plan_num_outputs(const am_plan *p);

/* The graph the plan runs (after the passes); borrowed. */
AM_API const am_graph *am_plan_graph(const am_plan *p);

typedef struct am_plan_stats {
    int n_steps;               /* kernel calls per run */
    int n_nodes;               /* nodes of the graph before the passes */
    int64_t arena_bytes;       /* the one arena holding every intermediate value and output */
    int64_t naive_bytes;       /* the sum of those values' sizes (each 64-byte aligned) */
    int64_t workspace_bytes;   /* the largest kernel workspace (shared) */
    int n_inplace;             /* values written over one of their inputs */
    int n_views;               /* values that are views of another (no step) */
} am_plan_stats;

AM_API am_plan_stats am_plan_get_stats(const am_plan *p);

/* A line per step: index, node name, op, buffer offsets and sizes. */
AM_API void am_plan_print(const am_plan *p, FILE *f);

/* Runs the plan `runs` times timing every step, and prints the time per run
 * of each op (summed over its steps), the largest first, with its share.
 * Inputs must be bound.  Returns the status of the runs. */
AM_API am_status am_plan_profile(am_plan *p, int runs, FILE *f);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_EXECUTOR_H */
