/* Blocks, parameters and hybridize: models written once as C code, run
 * eagerly or as traced, optimized and cached plans, exported as MXNet files. */
#ifndef AMBER_HYBRID_H
#define AMBER_HYBRID_H

/*
 * A block is a C struct that embeds am_block as its first member, registers
 * its children and parameters by name when it is made, and has one forward
 * function over arrays that works on concrete and symbolic arrays alike.
 * Example (file scope):
 *
 *     typedef struct mlp { am_block base; am_block *fc1, *fc2; } mlp;
 *
 *     static am_array *mlp_forward(am_block *self, am_array *const *in, int n_in)
 *     {
 *         mlp *m = (mlp *)self;
 *         return am_block_call(m->fc2, am_relu(am_block_call(m->fc1, in[0])));
 *     }
 *     static const am_block_class mlp_class = {"MLP", sizeof(mlp), .forward = mlp_forward};
 *
 *     static void use_mlp(am_array *x)
 *     {
 *         mlp *m = am_block_new(&mlp_class);
 *         m->fc1 = am_block_add(&m->base, "fc1", am_dense(64, NULL));
 *         m->fc2 = am_block_add(&m->base, "fc2", am_dense(10, NULL));
 *         am_block_initialize(&m->base, NULL);       // shapes come at the first call
 *         am_array *y = am_block_call(&m->base, x);   // eager
 *         am_block_hybridize(&m->base, true, NULL);
 *         y = am_block_call(&m->base, x);             // traced once, then a cached plan
 *         am_block_release(&m->base);
 *     }
 *
 * Names are structural: the parameters above are "fc1.weight", "fc1.bias",
 * "fc2.weight" and "fc2.bias", whatever else the program has built.
 */

#include <stdio.h>

#include "array.h"
#include "autograd.h"
#include "symbol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct am_block am_block;
typedef struct am_param am_param;

/* ---- initializers ------------------------------------------------------------ */

typedef enum am_init_kind {
    AM_INIT_DEFAULT,    /* the block-wide default (Uniform(0.07), as Gluon's initialize()) */
    AM_INIT_ZERO,
    AM_INIT_ONE,
    AM_INIT_CONSTANT,   /* value */
    AM_INIT_UNIFORM,    /* U(-scale, scale) */
    AM_INIT_NORMAL,     /* N(0, sigma^2) (scale is sigma) */
    AM_INIT_XAVIER,     /* rnd_type, factor_type, magnitude */
    AM_INIT_MSRA,       /* MSRAPrelu / Kaiming: factor_type, slope */
    AM_INIT_ORTHOGONAL, /* scale; rows of the flattened weight orthonormal */
    AM_INIT_KIND_COUNT
} am_init_kind;

typedef enum am_init_factor {
    AM_INIT_FACTOR_AVG, AM_INIT_FACTOR_IN, AM_INIT_FACTOR_OUT, AM_INIT_FACTOR_COUNT
} am_init_factor;

/* How a parameter gets its first values.  Fan-in and fan-out are MXNet's:
 * for a weight of shape (out, in, k...), in * prod(k) and out * prod(k). */
typedef struct am_init {
    am_init_kind kind;
    double value;            /* CONSTANT: the value */
    double scale;            /* UNIFORM: bound; NORMAL: sigma; ORTHOGONAL: gain */
    bool gaussian;           /* XAVIER: normal rather than uniform draws */
    am_init_factor factor;   /* XAVIER, MSRA */
    double magnitude;        /* XAVIER (default 3) */
    double slope;            /* MSRA: the PReLU slope (0: ReLU) */
} am_init;

static inline am_init am_init_zero(void) { return (am_init){.kind = AM_INIT_ZERO}; }
static inline am_init am_init_one(void) { return (am_init){.kind = AM_INIT_ONE}; }
static inline am_init am_init_constant(double v) { return (am_init){.kind = AM_INIT_CONSTANT, .value = v}; }
static inline am_init am_init_uniform(double scale) { return (am_init){.kind = AM_INIT_UNIFORM, .scale = scale}; }
static inline am_init am_init_normal(double sigma) { return (am_init){.kind = AM_INIT_NORMAL, .scale = sigma}; }
static inline am_init am_init_xavier(bool gaussian, am_init_factor factor, double magnitude)
{
    return (am_init){.kind = AM_INIT_XAVIER, .gaussian = gaussian, .factor = factor, .magnitude = magnitude};
}
static inline am_init am_init_msra(am_init_factor factor, double slope)
{
    return (am_init){.kind = AM_INIT_MSRA, .factor = factor, .slope = slope, .magnitude = 2};
}
static inline am_init am_init_orthogonal(double scale) { return (am_init){.kind = AM_INIT_ORTHOGONAL, .scale = scale}; }

/* "zeros", "ones", "constant", "uniform", "normal", "xavier", "msraprelu",
 * "orthogonal" (MXNet's names, which export writes as __init__). */
AM_API const char *am_init_kind_name(am_init_kind k);

/* Fills x (concrete, float) from init with the thread's generator (am_seed).
 * AM_ERR_ARG for a kind that needs a shape x lacks (XAVIER on a vector). */
AM_API am_status am_init_fill(const am_init *init, am_array *x);

/* ---- blocks -------------------------------------------------------------------- */

enum {
    AM_BLOCK_MAX_IO = 16,      /* inputs or outputs of one block call */
    AM_BLOCK_BUILTIN = 1u << 0 /* a layer of Amber's: traced nodes carry the caller's line */
};

/* What a kind of block is.  Exactly one of forward and forward_n is set. */
typedef struct am_block_class {
    const char *name;   /* "MLP": in messages and am_block_print */
    size_t size;        /* sizeof the struct whose first member is am_block */
    /* One output: returns it (owned by the current scope, as op results
     * are), or NULL after an op or am_fail reported the failure. */
    am_array *(*forward)(am_block *self, am_array *const *in, int n_in);
    /* Several outputs: fills out[0 .. count) and returns count (at most
     * cap), or -1 after a failure. */
    int (*forward_n)(am_block *self, am_array *const *in, int n_in, am_array **out, int cap);
    /* Frees what the struct owns beyond am_block (children and parameters
     * are released by the block itself); NULL when there is nothing. */
    void (*destroy)(am_block *self);
    unsigned flags;     /* AM_BLOCK_BUILTIN */
} am_block_class;

/* Embedded as the first member of every block; read it only through the
 * functions below. */
struct am_block {
    const am_block_class *cls;
    struct am_block_impl *impl;
};

/* A new block of cls: cls->size zeroed bytes with the am_block at the front
 * initialised; returns the struct (cast it to its type).  Reference count 1.
 * NULL with AM_ERR_ARG (size too small, no forward) or AM_ERR_OOM. */
AM_API void *am_block_new(const am_block_class *cls);
AM_API am_block *am_block_retain(am_block *b);
/* NULL is a no-op.  The last release frees children, parameters and plans. */
AM_API void am_block_release(am_block *b);

/* Registers child under name and takes over the caller's reference to it.
 * Returns child (borrowed, alive as long as parent), or NULL with AM_ERR_ARG
 * for a NULL child (its error is kept), an empty name, a name with a '.',
 * or one already used; child is released then. */
AM_API am_block *am_block_add(am_block *parent, const char *name, am_block *child);

/* Registers a parameter of block b.  Unknown dimensions are 0 (MXNet's
 * convention) and are inferred at the first call.  init NULL means the
 * block-wide default given to am_block_initialize.  float32, grad_req WRITE.
 * Borrowed (the block owns it), or NULL with AM_ERR_ARG for a bad or
 * repeated name. */
AM_API am_param *am_block_param(am_block *b, const char *name, am_shape shape,
                                const am_init *init);

AM_API const char *am_block_type(const am_block *b);       /* the class name */
/* b's class (borrowed): how code tells a kind of block from another. */
AM_API const am_block_class *am_block_get_class(const am_block *b);
AM_API int am_block_num_children(const am_block *b);
AM_API am_block *am_block_child(const am_block *b, int i);   /* borrowed */
AM_API const char *am_block_child_name(const am_block *b, int i);
/* Prints the tree with parameter names and shapes. */
AM_API void am_block_print(am_block *b, FILE *f);

/* Every parameter of b and its descendants whose structural name
 * ("features.0.weight") matches the POSIX extended regular expression
 * pattern (NULL: all), depth first in registration order, each once.
 * Fills up to cap (borrowed) and returns the total count, or -1 with
 * AM_ERR_ARG for a bad pattern. */
AM_API int am_block_collect_params(am_block *b, const char *pattern, am_param **out, int cap);

/* Initialises every parameter: those of known shape now, the others at the
 * first call, from their own initializer or else from init (NULL: Uniform
 * 0.07).  Parameters that already have values keep them unless force (_ex).
 * A function, not a macro, so that init may be a compound literal. */
AM_API am_status am_block_initialize(am_block *b, const am_init *init);
AM_API am_status am_block_initialize_ex(am_block *b, const am_init *init, bool force);

/* Calls b on inputs: eagerly, or through b's plan cache when b is
 * hybridized.  While an enclosing block is traced the call is traced into
 * the same graph.  The result is a new reference owned by the current
 * scope; NULL with the failing op's error naming the caller's line.
 * am_block_call takes one input and returns output 0. */
AM_API am_array *am_block_call_at(am_block *b, am_array *const *in, int n_in, am_site at);
#define am_block_call(b, x) am_block_call_at((b), (am_array *[]){(x)}, 1, AM_HERE)
#define am_block_call2(b, x, y) am_block_call_at((b), (am_array *[]){(x), (y)}, 2, AM_HERE)
/* Every output: fills out[0 .. count) and returns count, or -1. */
AM_API int am_block_forward_at(am_block *b, am_array *const *in, int n_in, am_array **out,
                               int cap, am_site at);
#define am_block_forward(b, in, n_in, out, cap) am_block_forward_at((b), (in), (n_in), (out), (cap), AM_HERE)

/* Copies every parameter to dtype (float32 or float64); plans are dropped.
 * AM_ERR_DTYPE for another dtype. */
AM_API am_status am_block_cast(am_block *b, am_dtype dtype);
/* Moves every parameter to dev; plans are dropped. */
AM_API am_status am_block_to_device(am_block *b, am_device dev);

/* ---- parameters ------------------------------------------------------------------ */

/* The structural name ("fc1.weight") as the last walk from a root made it
 * (am_block_initialize, collect, a call); borrowed. */
AM_API const char *am_param_name(const am_param *p);
/* The shape, 0 where still unknown. */
AM_API am_shape am_param_shape(const am_param *p);
AM_API am_dtype am_param_dtype(const am_param *p);
AM_API bool am_param_is_initialized(const am_param *p);

/* Inside a forward function: the parameter's value, a new reference owned
 * by the current scope (the variable named after the parameter while
 * tracing).  NULL with AM_ERR_ARG naming the parameter when it has no
 * value yet. */
AM_API am_array *am_param_value_at(am_param *p, am_site at);
#define am_param_value(p) am_param_value_at((p), AM_HERE)

/* The concrete array (borrowed; NULL before initialisation), and its
 * gradient buffer (borrowed; NULL for grad_req NULL): what optimizers read
 * and update in place. */
AM_API am_array *am_param_data(am_param *p);
AM_API am_array *am_param_grad(am_param *p);
/* Copies x's values in (x converted to the parameter's dtype).  Sets the
 * shape of a parameter that has unknown dimensions.  AM_ERR_SHAPE when
 * shapes differ. */
AM_API am_status am_param_set_data(am_param *p, am_array *x);
AM_API am_status am_param_set_init(am_param *p, const am_init *init);

AM_API am_grad_req am_param_grad_req(const am_param *p);
/* Also drops the owning blocks' plans, which depend on what needs gradients. */
AM_API am_status am_param_set_grad_req(am_param *p, am_grad_req req);
AM_API double am_param_lr_mult(const am_param *p);
AM_API double am_param_wd_mult(const am_param *p);
AM_API void am_param_set_lr_mult(am_param *p, double m);
AM_API void am_param_set_wd_mult(am_param *p, double m);
/* Sets every gradient buffer of b's parameters to zero (for grad_req ADD). */
AM_API am_status am_block_zero_grad(am_block *b);

/* ---- saving and loading parameters ------------------------------------------------ */

/* Writes every initialised parameter of b under its structural name in
 * MXNet's .params format (Gluon's save_parameters), to a temporary file
 * renamed over path.  AM_ERR_ARG when a parameter is uninitialised. */
AM_API am_status am_block_save_parameters(am_block *b, const char *path);

enum {
    AM_LOAD_ALLOW_MISSING = 1u << 0, /* parameters absent from the file keep their values */
    AM_LOAD_IGNORE_EXTRA = 1u << 1   /* names in the file that b lacks are skipped */
};
/* Loads values saved by am_block_save_parameters or am_block_export ("arg:"
 * and "aux:" prefixes are stripped).  Checks everything before changing
 * anything: AM_ERR_ARG listing every missing and extra name, AM_ERR_SHAPE
 * listing every shape mismatch, or the reader's error. */
AM_API am_status am_block_load_parameters(am_block *b, const char *path, unsigned flags);

/* ---- hybridize --------------------------------------------------------------------- */

typedef struct am_hybridize_opts {
    int cache_size;       /* input signatures kept per block, least recently used out (0: 8) */
    const char *passes;   /* as am_plan_opts.passes ("-fuse") */
    bool no_optimize;     /* plans run the traced graph node by node */
    FILE *log;            /* each trace and eviction; NULL: stderr when AM_LOG_HYBRID=1 */
} am_hybridize_opts;

/* From the next call on, each input signature (shapes, dtypes, device,
 * training flag, what needs gradients) is traced once into a graph,
 * optimized, planned and cached; later calls with it run the plan.  A call
 * recorded by autograd becomes one tape node whose backward runs the
 * planned backward graph.  on false returns b to eager calls and drops its
 * plans.  opts may be NULL.  Children are covered by their parent's trace. */
AM_API am_status am_block_hybridize(am_block *b, bool on, const am_hybridize_opts *opts);

/* Keeps b eager even inside a hybridized parent: the parent's calls then
 * run eagerly too, with one warning naming b and reason.  reason NULL
 * lifts the mark. */
AM_API void am_block_set_eager(am_block *b, const char *reason);

typedef struct am_cache_stats {
    int64_t traces;      /* signatures traced and planned */
    int64_t hits;        /* calls that ran a cached plan */
    int64_t evictions;   /* plans dropped for the least recently used rule */
    int entries;         /* plans held now */
    int64_t arena_bytes; /* the arenas of the plans held (forward and backward) */
} am_cache_stats;

AM_API am_cache_stats am_block_cache_stats(const am_block *b);

/* The graph of one call of b on inputs of these shapes and dtypes (values
 * are not read): inputs are the variables "data" (one input) or "data0",
 * "data1", ..., parameters the variables named after them.  New reference,
 * or NULL with the trace's error naming the block and line. */
AM_API am_graph *am_block_trace(am_block *b, am_array *const *in, int n_in);

/* Runs b on inputs eagerly and as a plan (in inference mode) and compares
 * every traced node's value: prints the first node whose values differ by
 * more than tol (relative to the value's scale) with its op and origin, and
 * returns AM_ERR_INTERNAL naming it; AM_OK when all agree.  f may be NULL. */
AM_API am_status am_block_check_hybrid(am_block *b, am_array *const *in, int n_in, double tol,
                                       FILE *f);

/* ---- export and import -------------------------------------------------------------- */

/* Writes path-symbol.json and path-%04d.params (epoch) as MXNet's
 * HybridBlock.export does, from a trace with the input signature of b's
 * last successful call: parameters as "arg:<name>", auxiliary states as "aux:<name>",
 * data inputs with __shape__ (the first dimension, the batch, as 0: unknown,
 * so the files run at any batch size) and __dtype__.  Parameters the graph
 * does not use are not written.  AM_ERR_ARG when no call of b has succeeded yet. */
AM_API am_status am_block_export(am_block *b, const char *path, int epoch);

/* A block that runs an exported graph without its model code: inputs are
 * the graph variables named in input_names; every other variable is a
 * parameter loaded from params_path (NULL: none), which may be fine-tuned.
 * Runs eagerly or hybridized like any block.  NULL with the reader's error,
 * or AM_ERR_ARG naming a variable that is neither an input nor in the file. */
AM_API am_block *am_symbol_block_import(const char *json_path, const char *params_path,
                                        const char *const *input_names, int n_inputs,
                                        am_device dev);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_HYBRID_H */
