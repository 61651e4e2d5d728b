/* Internal declarations of the symbol module: graph nodes, graphs and the
 * tracing entry point that eager dispatch calls for symbolic inputs. */
#ifndef AMBER_SYMBOL_IMPL_H
#define AMBER_SYMBOL_IMPL_H

#include <amber/symbol.h>

#include "../ndarray/ndarray_impl.h"

typedef struct am_node am_node;
/* What a graph read from symbol JSON keeps of its file (symbol/json.c). */
typedef struct am_json_source am_json_source;
struct json_t;

/* A map from pointers to ints (symbol/ptrmap.c); zero-initialise to start. */
typedef struct am_ptrmap {
    const void **keys;
    int *vals;
    size_t cap, n;
} am_ptrmap;
bool am_ptrmap_put(am_ptrmap *m, const void *key, int val); /* false: out of memory */
int am_ptrmap_get(const am_ptrmap *m, const void *key, int missing);
void am_ptrmap_free(am_ptrmap *m);

/* One output of a node: what an edge or a head refers to. */
typedef struct am_entry {
    am_node *node;
    int index;
} am_entry;

/* A hidden string attribute carried through JSON ("__shape__", "__init__"). */
typedef struct am_extra_attr {
    char *key, *value;
} am_extra_attr;

struct am_node {
    atomic_int refcount;
    const am_op_def *op;     /* NULL: a variable */
    void *attrs;             /* parsed attributes (op->attrs_size bytes), owned */
    uint64_t attrs_given;    /* bit i: schema field i was given explicitly */
    char *name;              /* NULL until named (variables always have one) */
    am_entry *inputs;        /* references to producer nodes */
    int n_in, n_out;         /* n_out counts hidden outputs */
    am_shape *shapes;        /* per output; ndim -1 unknown */
    am_dtype *dtypes;        /* per output; AM_DTYPE_COUNT unknown */
    am_extra_attr *extra;
    int n_extra;
    am_site site;            /* the call that made it: site.file (owned) is the file's
                              * base name; {0} when unknown (am_node_set_site) */
    char *origin;            /* the same site as "file.c:41" for messages and JSON, or NULL */
    am_array *value;         /* a constant captured while tracing, or NULL */
};

struct am_graph {
    atomic_int refcount;
    am_node **nodes;         /* topological order; references */
    char **names;            /* unique name of each node in this graph */
    int n_nodes;
    am_entry *heads;
    int n_heads;
    am_ptrmap index;         /* node -> position */
    struct am_name_map *by_name; /* name -> position (symbol/graph.c) */
    am_json_source *source;  /* the symbol JSON it was read from, or NULL */
};

/* Installs the hooks ndarray/ calls this module through (am_symbol_hooks);
 * am_node_create and the graph constructor do, before anything exists that
 * needs them.  Cheap enough to call again. */
void am_symbol_install(void);

/* A node with n_out outputs; references to the producers in inputs are
 * taken.  attrs is copied.  NULL with AM_ERR_OOM. */
am_node *am_node_create(const am_op_def *op, const void *attrs, const am_entry *inputs,
                        int n_in, int n_out);
void am_node_retain(am_node *n);
/* NULL is a no-op; frees long chains without recursion. */
void am_node_release(am_node *n);
am_status am_node_set_extra(am_node *n, const char *key, const char *value);
/* Records at (its file's base name and line) as the call site that made n,
 * replacing any; at.file NULL clears it.  AM_ERR_OOM. */
am_status am_node_set_site(am_node *n, am_site at);
/* Gives dst src's call site (site and origin).  AM_ERR_OOM. */
am_status am_node_copy_site(am_node *dst, const am_node *src);
const char *am_node_get_extra(const am_node *n, const char *key);

/* A new symbolic array for output index of n (takes a node reference). */
am_array *am_symbolic_array(am_node *n, int index);

/* Eager dispatch hands calls with a symbolic input here (through the hook
 * table, ndarray_impl.h): infer shapes and dtypes, add a node, return
 * symbolic outputs (owned by the scope). */
am_status am_trace_call(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                        am_array **out, int n_out, am_site at);


/* While a block is traced, the nodes it adds are named "<prefix>.<op>"
 * ("fc1.fullyconnected"; the graph makes repeated names unique) and, when
 * origin is set, carry origin rather than the op call's own site (a built-in
 * layer's nodes point at the model code that called the layer).  Scopes nest
 * per thread; push and pop pair. */
typedef struct am_trace_scope {
    const char *prefix;
    am_site origin;
    const struct am_trace_scope *prev;
} am_trace_scope;
void am_trace_scope_push(am_trace_scope *s, const char *prefix, am_site origin);
void am_trace_scope_pop(am_trace_scope *s);
/* The innermost scope, or NULL. */
const am_trace_scope *am_trace_scope_top(void);

/* Position of node n in g, or -1. */
int am_graph_index(const am_graph *g, const am_node *n);
/* Position of the node named name in g, or -1 (constant time). */
int am_graph_find_name(const am_graph *g, const char *name);
/* Per node of g: true for a variable some op reads as an auxiliary state
 * (mutates).  calloc'd, or NULL with AM_ERR_OOM. */
bool *am_graph_aux_flags(const am_graph *g);
/* Builds a graph over heads (references taken); names nodes uniquely. */
am_graph *am_graph_from_heads(const am_entry *heads, int n_heads);
/* The same, preferring for unnamed nodes the names they have in names_from
 * (executor passes keep names stable this way). */
am_graph *am_graph_from_heads_named(const am_entry *heads, int n_heads, const am_graph *names_from);

/* True when input i of op is an auxiliary state (mutated by the op). */
static inline bool am_op_input_is_aux(const am_op_def *op, const void *attrs, int i)
{
    if (op && op->mutates_input) return op->mutates_input(attrs, i);
    return op && op->num_aux > 0 && i >= am_op_num_inputs(op, attrs) - op->num_aux;
}

/* True when op mutates some of its inputs (num_aux or mutates_input). */
static inline bool am_op_has_aux(const am_op_def *op)
{
    return op && (op->num_aux > 0 || op->mutates_input);
}

/* True when node i of g is a variable (not a constant, not a head) that only
 * grad-only inputs read (am_op_def.grad_only_inputs): inference needs no
 * value for it. */
bool am_graph_input_is_grad_only(const am_graph *g, int i);

/* ---- the graph rewriter (symbol/rewrite.c) -----------------------------------
 *
 * The executor's passes and composition (symbol/compose.c) build a new graph
 * from an old one with it.  A pass walks the old graph in order and says, for each node, what its
 * outputs become in the new graph:
 *
 *     am_rewriter rw;
 *     if (am_rw_init(&rw, g) != AM_OK) return NULL;
 *     for (int i = 0; i < g->n_nodes; i++) {
 *         if (<node i can be replaced by entry e of the new graph>)
 *             am_rw_set(&rw, i, 0, e);           // output 0 of node i is now e
 *         else if (!am_rw_keep(&rw, i))          // the node, inputs remapped
 *             return am_rw_fail(&rw);
 *     }
 *     return am_rw_finish(&rw);                   // graph over the new heads
 *
 * New nodes are built with am_rw_build (shapes and dtypes inferred by
 * am_op_infer, named after and placed at the call site of the node they
 * replace).  am_rw_symbol still lets a pass call the ordinary ops on
 * symbolic arrays of new entries instead, which goes through eager dispatch
 * and tracing. */
typedef struct am_rewriter {
    am_graph *g;         /* the old graph (borrowed) */
    am_entry *map;       /* new entry of output k of node i at map[offset[i] + k] */
    int *offset;
    int n_changed;       /* nodes replaced or rebuilt */
} am_rewriter;

am_status am_rw_init(am_rewriter *rw, am_graph *g);
/* The new entry for an old one (its producer must have been mapped).
 * Borrowed. */
am_entry am_rw_get(const am_rewriter *rw, am_entry old);
/* Output k of old node i becomes e (a reference to e.node is taken). */
void am_rw_set(am_rewriter *rw, int i, int k, am_entry e);
/* Keeps old node i with its inputs remapped: the node itself when no input
 * changed, else a copy (same op, attributes, name, origin).  Maps all its
 * outputs.  Returns the new node (borrowed) or NULL on out of memory. */
am_node *am_rw_keep(am_rewriter *rw, int i);
/* The new graph over the remapped heads, with the old graph's names kept
 * for nodes that survive; frees rw.  When nothing changed it is g retained. */
am_graph *am_rw_finish(am_rewriter *rw);
/* Frees rw after a failure; returns NULL for "return am_rw_fail(&rw);". */
am_graph *am_rw_fail(am_rewriter *rw);

/* A symbolic array (owned by the current scope) for an entry, so passes can
 * build new nodes by calling ops; am_entry_of goes back. */
am_array *am_rw_symbol(am_entry e);
am_entry am_entry_of(const am_array *x);

/* A copy of node n with other inputs (same op, attributes, given-attribute
 * bits, extra attributes, name, origin, value, shapes and dtypes). */
am_node *am_node_clone(const am_node *n, const am_entry *inputs);

/* A new node running op on inputs, shapes and dtypes inferred from the
 * inputs' (which must be known).  NULL with the op's error. */
am_node *am_node_build(const am_op_def *op, const void *attrs, const am_entry *inputs, int n_in);
/* am_node_build for a node that stands in for old node i of rw's graph: it
 * also takes node i's name there and its call site, so a pass's new nodes
 * keep the names and lines of what they replace.  A new reference, or NULL
 * with the op's error (or AM_ERR_OOM). */
am_node *am_rw_build(const am_rewriter *rw, int i, const am_op_def *op, const void *attrs,
                     const am_entry *inputs, int n_in);

/* Uses of every node output in g: uses[offset[i] + k] counts consumers of
 * output k of node i (heads count too).  Caller frees *uses and *offset. */
am_status am_graph_count_uses(const am_graph *g, int **uses, int **offset);

/* Marks every node that a marked node of g depends on (mark has
 * g->n_nodes entries, indexed by position). */
void am_graph_mark_ancestors(const am_graph *g, bool *mark);

/* The call site of node n's origin (file name and line), the file name
 * copied into buf (len bytes); {0} when it has none. */
am_site am_node_site(const am_node *n, char *buf, size_t len);

/* ---- symbol JSON (symbol/json.c, symbol/json_read.c) ---- */

/* am_graph_to_json, with the op nodes' "__origin__" attributes or without. */
char *am_graph_to_json_opts(const am_graph *g, bool origins);
/* Marks schema field key of op node n as given explicitly, so the JSON writer
 * prints it even at its default (as Gluon passes flatten=True).  AM_ERR_ARG
 * when the op has no such field. */
am_status am_node_mark_given(am_node *n, const char *key);
/* Gives g, just read from the document root whose "nodes" made file_nodes,
 * the memory of its file that lets am_graph_to_json write it back byte for
 * byte (a reference to root is taken).  AM_ERR_OOM. */
am_status am_json_source_attach(am_graph *g, struct json_t *root, am_node *const *file_nodes,
                                int n_file, bool np_shape);
/* NULL is a no-op. */
void am_json_source_free(am_json_source *s);
/* True for the keys MXNet before 0.9 wrote without underscores ("lr_mult"),
 * which mean the hidden "__lr_mult__". */
bool am_json_key_is_legacy_hidden(const char *key);
/* Reads n bytes of symbol JSON; src names them in errors ("symbol JSON" or
 * the file's path). */
am_graph *am_graph_from_json_buffer(const char *buf, size_t n, const char *src);
/* Merges shape b into *a (AM_DIM_UNKNOWN dimensions and ndim -1 are
 * unknown): 1 when *a learned something, 0 when not, -1 when they conflict
 * (*a unchanged). */
int am_shape_merge(am_shape *a, const am_shape *b);
/* s as op's infer_shape may see it: a partial shape becomes unknown (ndim
 * -1) unless the op has AM_OP_PARTIAL_SHAPES. */
am_shape am_shape_for_op(const am_op_def *op, am_shape s);

#endif /* AMBER_SYMBOL_IMPL_H */
