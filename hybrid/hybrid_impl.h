/* Internal declarations of the hybrid module: the block and parameter
 * structs, the per-thread trace context and the plan cache. */
#ifndef AMBER_HYBRID_IMPL_H
#define AMBER_HYBRID_IMPL_H

#include <amber/amber.h>
#include <amber/trainer.h>

#include "../executor/executor_impl.h"

struct am_param {
    char *local;            /* "weight" */
    char *name;             /* "fc1.weight", from the last walk from a root */
    am_block *owner;
    am_shape shape;         /* 0 where unknown */
    am_dtype dtype;
    am_init init;
    bool has_init;          /* init is the parameter's own */
    bool wants_init;        /* am_block_initialize ran; the shape was unknown then */
    am_grad_req req;
    double lr_mult, wd_mult;
    am_array *data;         /* concrete; am_grad(data) is the gradient buffer */
};

typedef struct hy_child {
    char *name;
    am_block *b;
} hy_child;

/* What a cached plan depends on besides the graph: every input's shape,
 * dtype and device, the training flag, whether autograd records, and which
 * inputs need gradients.  Two calls with equal signatures run one plan. */
typedef struct am_signature {
    int n_in;
    am_shape shape[AM_BLOCK_MAX_IO];
    am_dtype dtype[AM_BLOCK_MAX_IO];
    am_device device[AM_BLOCK_MAX_IO];
    uint32_t need_grad;   /* bit i: input i needs a gradient */
    bool training, recording;
    uint64_t hash;        /* of all the above */
} am_signature;

/* The signature of a call on in (concrete) in the thread's current modes.
 * AM_ERR_ARG for too many inputs, AM_ERR_SYMBOLIC for a symbolic one. */
am_status am_signature_make(am_signature *s, am_array *const *in, int n_in);
bool am_signature_equal(const am_signature *a, const am_signature *b);

typedef struct hy_entry hy_entry;

struct am_block_impl {
    atomic_int refcount;
    hy_child *children;
    int n_children, cap_children;
    am_param **params;
    int n_params, cap_params;
    am_init default_init;   /* from am_block_initialize */
    bool has_default_init;
    bool deferred;          /* some parameter waits for its shape */
    char *eager_reason;     /* am_block_set_eager */
    unsigned eager_seen;    /* the eager generation eager_found was found in */
    am_block *eager_found;  /* hy_find_eager's answer then */
    /* hybridize */
    bool hybrid;
    am_hybridize_opts opts;
    char *passes;           /* opts.passes, owned */
    bool warned_eager;
    hy_entry **cache;       /* most recently used last */
    int n_cache;
    uint64_t tick;
    am_cache_stats stats;
    /* the last call's inputs, for export */
    bool called;
    am_site last_site;      /* the line of the last call, for the nodes export traces */
    int last_n_in;
    am_shape last_shape[AM_BLOCK_MAX_IO];
    am_dtype last_dtype[AM_BLOCK_MAX_IO];
};

/* ---- walks (block.c) ------------------------------------------------------------ */

/* Gives every parameter under b its structural name, prefix first ("" at a
 * root).  AM_ERR_OOM. */
am_status hy_name_params(am_block *b, const char *prefix);
/* Calls b's forward (no cache, no deferred check): what eager calls and
 * traces both run.  Returns the output count or -1. */
int hy_forward(am_block *b, am_array *const *in, int n_in, am_array **out, int cap, am_site at);
/* The innermost block whose forward failed during the current trace (reset
 * when a trace starts), for messages. */
extern _Thread_local am_block *hy_failed_block;
/* The first descendant of b (b included) marked eager, or NULL. */
am_block *hy_find_eager(am_block *b);
/* am_block_param without the name rules (an imported graph's variables
 * keep their names, dots and all). */
am_param *hy_param_add(am_block *b, const char *name, am_shape shape, const am_init *init);
/* Initialises p now (its shape is known). */
am_status hy_param_init(am_param *p);

/* ---- tracing (trace.c) ------------------------------------------------------------- */

/* What a trace has made: a variable per parameter read, in order of first
 * reading. */
typedef struct hy_trace {
    am_param **params;
    am_array **vars;        /* references */
    int n, cap;
    bool shape_only;        /* parameters without values become unknown-shape variables */
    struct hy_trace *prev;
} hy_trace;

/* The innermost trace on this thread, or NULL. */
hy_trace *hy_trace_current(void);
/* The variable standing for p in the current trace (owned by the trace). */
am_array *hy_trace_param(hy_trace *tr, am_param *p, am_site at);

/* Traces b on variables shaped like in (names "data" or "data0", ...) into
 * a graph with its n_out outputs as heads; tr receives the parameters read
 * (the caller frees it with hy_trace_free).  NULL with the error, made to
 * name the block and say what to do. */
am_graph *hy_trace_block(am_block *b, const am_shape *shapes, const am_dtype *dtypes, int n_in,
                         bool shape_only, hy_trace *tr, int *n_out, am_site at);
void hy_trace_free(hy_trace *tr);
/* The names of inputs: "data" for one, else "data0", "data1", ... */
void hy_input_name(int i, int n_in, char *buf, size_t len);
/* Calls b on symbolic inputs outside any trace (a user building a graph
 * from blocks): parameters become variables named after them. */
int hy_trace_open_call(am_block *b, am_array *const *in, int n_in, am_array **out, int cap,
                       am_site at);
/* Infers the shapes of b's deferred parameters by tracing it on in, then
 * initialises them. */
am_status hy_resolve_deferred(am_block *b, am_array *const *in, int n_in, am_site at);

/* ---- the trainer's insides, for the fused training step (trainer.c) ------------------- */

int hy_trainer_num_slots(const am_trainer *t);
am_param *hy_trainer_param(const am_trainer *t, int i);
/* Slot i takes part in steps (grad_req not null and a gradient buffer). */
bool hy_trainer_trains(const am_trainer *t, int i);
int hy_trainer_num_states(const am_trainer *t);
/* State k of slot i (NULL before its first update or hy_trainer_make_states). */
am_array *hy_trainer_state(const am_trainer *t, int i, int k);
const am_trainer_opts *hy_trainer_opts(const am_trainer *t);
am_block *hy_trainer_block(const am_trainer *t);
am_status hy_trainer_make_states(am_trainer *t, int i);
/* Counts one more update of slot i; its learning rate and weight decay now. */
am_status hy_trainer_begin_update(am_trainer *t, int i, double *lr, double *wd);
/* The optimizer's update of w with gradient g and states st, as public ops
 * (so symbolic arrays give the graph of it). */
am_array *hy_trainer_update(const am_trainer *t, int i, am_array *w, am_array *g,
                            am_array *const *st, double lr, double wd, double rg);

/* ---- the plan cache (cache.c) ---------------------------------------------------------- */

/* Runs b through its plan cache (b is hybridized and no descendant is
 * eager).  Returns the output count or -1. */
int hy_cached_call(am_block *b, am_array *const *in, int n_in, am_array **out, int cap,
                   am_site at);
/* Drops every plan of b. */
void hy_cache_clear(am_block *b);
/* Drops the plans of every block under root (parameters changed). */
void hy_cache_clear_tree(am_block *root);

/* Logging: opts.log, or stderr under AM_LOG_HYBRID=1; NULL when silent. */
FILE *hy_log(const am_block *b);

#endif /* AMBER_HYBRID_IMPL_H */
