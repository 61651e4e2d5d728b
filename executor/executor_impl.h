/* Internal declarations of the executor: the pass interface, the rewriter
 * passes use to build a new graph from an old one, and the plan. */
#ifndef AMBER_EXECUTOR_IMPL_H
#define AMBER_EXECUTOR_IMPL_H

#include <amber/executor.h>

#include "../symbol/symbol_impl.h"

/* ---- passes ----------------------------------------------------------------- */

typedef struct am_pass_ctx {
    bool training;       /* the graph will be trained: keep Dropout, batch statistics */
    am_device device;    /* the target: am_device_supports_op says what it can run */
    FILE *log;           /* NULL: silent */
    const char *pass;    /* the running pass's name, for the log */
    int changes;         /* what the pass changed (it counts; the pipeline logs) */
} am_pass_ctx;

/* A pass returns a new reference to the rewritten graph (g retained when
 * nothing changed) or NULL with an error.  It never mutates g or its nodes:
 * nodes are shared between graphs. */
typedef am_graph *(*am_pass_fn)(am_graph *g, am_pass_ctx *ctx);

typedef struct am_pass {
    const char *name;
    am_pass_fn run;
    bool on_by_default;
    const char *doc;
} am_pass;

/* The passes, one per file (executor/pass_<name>.c). */
am_graph *am_pass_dce(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_cse(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_fold(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_simplify(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_bnfold(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_gemm_batch(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_epilogue(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_fuse(am_graph *g, am_pass_ctx *ctx);

/* Casts around op nodes that compute float16, bfloat16, bool or int8
 * through another dtype (executor/pass_dtype.c); the graph must be inferred.  Returns a new
 * reference (g retained when nothing changes) or NULL with an error. */
am_graph *am_graph_legalize_dtypes(am_graph *g);

/* Prints "pass <name>: <message>\n" to ctx->log when there is one. */
void am_pass_log(const am_pass_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- rewriting: the graph rewriter (am_rw_*), am_node_build, am_node_clone,
 * am_graph_count_uses and am_graph_mark_ancestors are symbol/'s, declared in
 * symbol/symbol_impl.h (composition uses the rewriter too). ---------------- */

/* A topological order of g's nodes for running it with little memory:
 * every node's inputs deepest first (executor/schedule.c).  order holds
 * g->n_nodes indices. */
am_status am_schedule(const am_graph *g, int *order);

/* "node 'fc1' (FullyConnected)" for node i of g, for error messages. */
void am_node_describe(const am_graph *g, int i, char *buf, size_t len);

/* True when node n is a constant: a variable with a value (captured while
 * tracing, or frozen). */
static inline bool am_node_is_const(const am_node *n)
{
    return !n->op && n->value;
}

/* ---- what the plan cache of hybridized blocks needs (executor/split.c, plan.c) ---- */

/* Splits t, whose first n_fwd heads are a forward graph's outputs and the
 * rest gradients (am_graph_gradient), into *fwd (the n_fwd outputs, then
 * the n_saved values the backward part reads) and *bwd (the gradients, with
 * variable saved_names[j] standing for saved value j, besides t's inputs and
 * head gradients).  New references and a malloc'd array of malloc'd names. */
am_status am_graph_split_backward(am_graph *t, int n_fwd, am_graph **fwd, am_graph **bwd,
                                  char ***saved_names, int *n_saved);

/* am_graph_gradient for a graph that will run in the given mode (it is
 * training for am_graph_gradient): a block recorded in inference mode
 * differentiates BatchNorm through its moving statistics, as eagerly. */
am_graph *am_graph_gradient_mode(am_graph *g, const char *const *wrt, int n_wrt, bool training);

/* The plan's inputs by position (a plan keeps only the variables it reads). */
int am_plan_num_inputs(const am_plan *p);
const char *am_plan_input_name(const am_plan *p, int i);
/* am_plan_bind by position; binding the array already bound costs nothing. */
am_status am_plan_bind_index(am_plan *p, int i, am_array *x);
/* Drops the plan's reference to input i's array (bind it again to run). */
void am_plan_unbind_index(am_plan *p, int i);
/* Hands the outputs of the last run to the caller (out[i]: new references,
 * views of the current arena, which they keep alive) and gives the plan
 * another arena, so the next run cannot overwrite them: the one handed out
 * the time before when all its outputs are gone, else a new one. */
am_status am_plan_take_outputs(am_plan *p, am_array **out);
/* Makes the step that runs the node the plan's graph calls name run op with
 * a copy of attrs from now on: for attributes that change between runs
 * without changing any shape (a learning rate).  AM_ERR_ARG when no step
 * runs that node, its op is not op, or the new attributes would change an
 * output's shape. */
am_status am_plan_set_step_attrs(am_plan *p, const char *name, const am_op_def *op,
                                 const void *attrs);

/* ---- gemm: helpers the GEMM passes share (gemm_join.c) -------------------------- */

/* True when every schema field prints the same in a and b. */
bool am_attrs_print_equal(const am_op_def *op, const void *a, const void *b);


#endif /* AMBER_EXECUTOR_IMPL_H */

/* ---- fuse: elementwise fusion (executor/pass_fuse.c) and its op
 * _amber_fused_elemwise (executor/fused_elemwise.c) ---------------------------
 *
 * A fused node carries its program inline in its attribute struct (attribute
 * structs are copied with memcpy and freed with free, so nothing in it owns
 * memory): instructions naming a constituent op (a static definition), its
 * operands and a copy of its parsed attributes.  Values 0 .. num_args-1 are
 * the fused inputs; value num_args + i is instruction i's result.  Output 0
 * is the last instruction's result; outputs 1.. are earlier instructions
 * used outside the group. */
#define AM_FUSE_MAX_OPS 32      /* instructions per fused node */
#define AM_FUSE_MAX_IN 16       /* fused inputs */
#define AM_FUSE_MAX_OUT 8       /* fused outputs */
#define AM_FUSE_MAX_ARGS 4      /* operands of one instruction */
#define AM_FUSE_ATTR_BYTES 128  /* a constituent's parsed attributes, inline */
#define AM_FUSE_CHUNK (AM_OMP_MIN + 4096) /* elements per chunk (why: fused_elemwise.c) */

typedef struct am_fuse_instr {
    const am_op_def *op;
    int n_args;
    int args[AM_FUSE_MAX_ARGS];  /* value ids */
    int slot;                    /* temporary it writes (am_fused_compile); -1: output 0 */
    _Alignas(16) unsigned char attrs[AM_FUSE_ATTR_BYTES];
} am_fuse_instr;

typedef struct am_fused_attrs {
    /* The schema (what JSON and DOT print). */
    int64_t num_args, num_outputs, n_ops;
    char ops[AM_MAX_ATTR_STRING];     /* "exp,_mul_scalar,relu", truncated */
    /* The program: absent (magic 0) in a node read from JSON. */
    uint32_t magic;
    am_dtype dtype;                   /* of every operand and result */
    int n_slots;                      /* chunk temporaries per thread */
    am_shape out_shape;               /* of every output */
    am_shape in_shape[AM_FUSE_MAX_IN];
    int in_slot[AM_FUSE_MAX_IN];      /* broadcast input: gathered here per chunk; else -1 */
    int out_code[AM_FUSE_MAX_OUT];    /* instruction computing output j */
    am_fuse_instr code[AM_FUSE_MAX_OPS];
} am_fused_attrs;

/* The op (registered with the built-in ops); never NULL. */
const am_op_def *am_fused_elemwise_op(void);
/* Checks a program filled in by the pass (num_args, num_outputs, n_ops,
 * dtype, shapes, out_code, code[].op/n_args/args/attrs), assigns the
 * temporaries and fills ops, n_slots and magic.  AM_ERR_INTERNAL on a
 * malformed program. */
am_status am_fused_compile(am_fused_attrs *a);

/* ---- gemm2: the gemm_sum and gemm_concat passes and the operand joins they
 * share (executor/gemm_join.c) ------------------------------------------------ */
#ifndef AMBER_EXECUTOR_GEMM2_H
#define AMBER_EXECUTOR_GEMM2_H
am_graph *am_pass_gemm_sum(am_graph *g, am_pass_ctx *ctx);
am_graph *am_pass_gemm_concat(am_graph *g, am_pass_ctx *ctx);

/* How a join sees each input: as it is, as a matrix (first axis, the rest)
 * or as a matrix (the rest, last axis), the way dot sees its operands. */
enum { AM_JOIN_AS_IS, AM_JOIN_FIRST, AM_JOIN_LAST };

/* The joins one pass run has made (zero-initialise; free with
 * am_join_cache_free, inside the scope the joins were made in). */
typedef struct am_join_cache {
    struct am_join *items;
    int n, cap;
} am_join_cache;

/* Shape s seen in form (AM_JOIN_*). */
am_shape am_join_matrix_shape(am_shape s, int form);
/* The entries in (of the new graph) seen in form and concatenated along
 * axis (Concat of Concats past AM_MAX_OP_IO inputs); the earlier result when
 * c holds the same join.  A symbolic array owned by the current scope, or
 * NULL with the error. */
am_array *am_join(am_join_cache *c, const am_entry *in, int n, int form, int axis, am_site at);
void am_join_cache_free(am_join_cache *c);
/* cst[i] (malloc'd; NULL with the error): node i of g is a constant, or a
 * deterministic op without auxiliary states over such nodes only, which
 * constant folding computes once. */
bool *am_graph_constants(const am_graph *g);
#endif /* AMBER_EXECUTOR_GEMM2_H */
