/* The compiled plan's internal types, shared by plan.c (building and
 * running) and memplan.c (liveness and in-place hints for the planner of
 * memplan.h, and its placement read back). */
#ifndef AMBER_PLAN_IMPL_H
#define AMBER_PLAN_IMPL_H

#include "executor_impl.h"

/* Where a value (one output of one node) lives. */
typedef enum pv_kind {
    PV_INPUT,   /* a bound variable: the user's array */
    PV_CONST,   /* a constant node's array */
    PV_ARENA,   /* an intermediate or a head: a region of the arena */
    PV_VIEW,    /* shares another value's bytes (a view op, or in-place reuse) */
} pv_kind;

typedef struct pvalue {
    pv_kind kind;
    am_shape shape;
    am_dtype dtype;
    size_t bytes;
    int base;          /* PV_VIEW: the value whose bytes these are */
    size_t offset;     /* PV_ARENA: byte offset in the arena; PV_VIEW: in base */
    int input;         /* PV_INPUT: index into plan->inputs */
    am_array *array;   /* PV_CONST: its array; a head: a view of the arena (references) */
    int def, last;     /* step that writes it, last step that reads it (-1: none) */
    bool head;         /* an output of the graph: alive from def to the end of the run */
    bool inplace;      /* PV_VIEW made by in-place reuse rather than a view op */
} pvalue;

typedef struct pstep {
    const am_node *node;
    int node_index;
    am_kernel_fn fn;
    int n_in, n_out;
    int *vin, *vout;    /* value ids */
    am_view *in, *out;  /* resolved once per binding */
    am_req *req;
    size_t ws_bytes;
    char what[96];      /* "node 'fc1' (FullyConnected)" for errors */
    void *attrs;        /* owned attributes that replace the node's, or NULL */
} pstep;

typedef struct pinput {
    char *name;
    int value;
    am_array *bound;
    bool optional;     /* read only by gradients (a loss's label): may stay unbound */
} pinput;

struct am_plan {
    am_graph *graph;           /* the optimized graph (its nodes hold the attrs) */
    bool training;
    am_device device;          /* where it runs: kernels, arena, workspace, inputs */
    bool no_schedule;          /* run in the graph's own order (no_optimize) */
    bool stale;                /* a binding changed: the steps' views need resolving */
    pvalue *values;
    int n_values;
    int *first_value;          /* node index -> id of its output 0 */
    pstep *steps;
    int n_steps;
    pinput *inputs;
    int n_inputs;
    char **graph_inputs;       /* the given graph's inputs (passes may drop some) */
    int n_graph_inputs;
    int *heads;                /* value id of each head */
    int n_heads;
    am_array *arena_array;     /* the arena, a uint8 array the outputs are views of */
    am_array *spare_arena;     /* the arena last handed out (am_plan_take_outputs) */
    char *arena;               /* its data */
    size_t arena_bytes;
    char *workspace;
    size_t ws_bytes;
    int ws_step;               /* the step that needs ws_bytes (-1: none) */
    bool sized_only;           /* am_plan_opts.no_alloc: nothing allocated, cannot run */
    /* pools the steps point into */
    int *io_pool;
    am_view *view_pool;
    am_req *req_pool;
    am_plan_stats stats;
};

/* Liveness over the step order, in-place reuse (unless no_share) and
 * placement of every PV_ARENA value in one arena (plan->arena_bytes),
 * through the planner of memplan.h. */
am_status am_memplan(am_plan *p, bool no_share);

/* Checks that every input is bound, resolves the steps' views if a binding
 * changed, and fills the kernel context a run uses; who names the caller
 * in errors. */
am_status am_plan_prepare(am_plan *p, const char *who, am_kernel_ctx *ctx);

/* The profiler's events for a plan (executor/profile.c): compilation (p
 * half-built when st failed), a run, and one step of it. */
struct am_prof_span;
void am_plan_prof_compile(const struct am_prof_span *s, const am_plan *p, am_status st);
void am_plan_prof_run(const am_plan *p, const struct am_prof_span *s, am_status st);
void am_plan_prof_step(const am_plan *p, const pstep *st, const struct am_prof_span *s);

/* The value whose bytes v uses (follows views). */
static inline int pv_root(const am_plan *p, int v)
{
    while (p->values[v].kind == PV_VIEW) v = p->values[v].base;
    return v;
}

#endif /* AMBER_PLAN_IMPL_H */
