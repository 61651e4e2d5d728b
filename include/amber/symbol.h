/* Symbols: arrays that stand for values in a graph, and the graphs they make. */
#ifndef AMBER_SYMBOL_H
#define AMBER_SYMBOL_H

/*
 * A symbolic array has a shape, a dtype and the graph node that computes it,
 * but no data.  The ordinary ops accept symbolic inputs and return symbolic
 * outputs, so the same code that runs eagerly builds a graph when it is
 * given variables (DESIGN.md: one array type, concrete or symbolic).
 * Example (runs):
 *
 *     am_scope_begin();
 *     am_array *x = am_var("data", AM_SHAPE(32, 784), AM_DTYPE_FLOAT32);
 *     am_array *w = am_var("fc1_weight", AM_SHAPE(128, 784), AM_DTYPE_FLOAT32);
 *     am_array *y = am_relu(am_fully_connected(x, w, NULL, 128, true, true));
 *     am_graph *g = am_graph_create(&y, 1);      // the graph behind y
 *     char *json = am_graph_to_json(g);          // MXNet 1.x symbol JSON
 *     am_graph_release(g);
 *     free(json);
 *     am_scope_end();
 *
 * Reading values of a symbolic array (am_array_data, am_item, am_print) is
 * an AM_ERR_SYMBOLIC error.  Shapes and dtypes are known while tracing, so
 * model code may compute with am_array_shape().
 */

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct am_graph am_graph;

/* A graph variable (an input or a parameter).  shape.ndim -1 means unknown
 * (filled by shape inference); dtype AM_DTYPE_COUNT means unknown.  A new
 * reference owned by the current scope, as op results are; NULL with
 * AM_ERR_ARG for an empty or NULL name. */
AM_API am_array *am_var_at(const char *name, am_shape shape, am_dtype dtype, am_site at);
#define am_var(name, shape, dtype) am_var_at((name), (shape), (dtype), AM_HERE)

/* The name of the node behind a symbolic array: a variable's name ("data"),
 * or the block-scoped name of a node traced inside a block
 * ("fc1.fullyconnected").  NULL for a concrete array and for a node traced
 * outside any block, which am_graph_create names ("fullyconnected0") in the
 * graph only.  Borrowed while x lives. */
AM_API const char *am_symbol_name(const am_array *x);

/* ---- graphs ---------------------------------------------------------------- */

/* The graph that computes outputs (its heads), in topological order.  Nodes
 * without a name get one from their op and a counter local to this graph
 * ("fullyconnected0"), so names never depend on what was built before.
 * New reference; NULL with AM_ERR_ARG when an output is concrete. */
AM_API am_graph *am_graph_create(am_array *const *outputs, int n);

AM_API am_graph *am_graph_retain(am_graph *g);
/* NULL is a no-op. */
AM_API void am_graph_release(am_graph *g);

AM_API int am_graph_num_nodes(const am_graph *g);
AM_API int am_graph_num_outputs(const am_graph *g);

/* Names of the variables that are arguments (inputs and parameters that are
 * not auxiliary states), auxiliary states (inputs an op mutates, such as
 * BatchNorm's moving_mean) and all variables, in MXNet's order.  Constants
 * captured while tracing are not listed: they need no value.  Fills up to
 * cap names (borrowed from the graph) and returns the total count (-1 with
 * AM_ERR_OOM when the first two cannot allocate their scratch). */
AM_API int am_graph_list_arguments(const am_graph *g, const char **names, int cap);
AM_API int am_graph_list_auxiliary_states(const am_graph *g, const char **names, int cap);
AM_API int am_graph_list_inputs(const am_graph *g, const char **names, int cap);
/* Output names as MXNet makes them ("fc1_output", "split0_output1"): fills
 * up to cap malloc'd strings the caller frees; returns the count or -1. */
AM_API int am_graph_list_outputs(const am_graph *g, char **names, int cap);

/* Symbolic arrays for the graph's heads (output i of the graph), so graphs
 * compose: new references owned by the current scope. */
AM_API am_array *am_graph_output(const am_graph *g, int i);

/* ---- shape and dtype inference --------------------------------------------- */

/* Infers every node's output shapes and dtypes from the named inputs'
 * shapes and dtypes (shapes or dtypes may be NULL; a dtype AM_DTYPE_COUNT
 * leaves that input's as it is) and what the graph already knows (trace-time
 * shapes, __shape__ and __dtype__ from JSON), running each op's inference
 * until nothing changes.  Unknown parameters are filled from their consumers
 * (FullyConnected's weight from its data), as deferred initialisation needs.
 * AM_ERR_SHAPE naming the inputs that stay unknown (what was learned is
 * kept), an op's own error naming the node, or AM_ERR_ARG for an unknown
 * input name. */
AM_API am_status am_graph_infer(am_graph *g, const char *const *names, const am_shape *shapes,
                                const am_dtype *dtypes, int n);

/* What the graph knows of an input (ndim -1 / AM_DTYPE_COUNT when unknown)
 * or of output i.  AM_ERR_ARG for an unknown name or index. */
AM_API am_status am_graph_input_shape(const am_graph *g, const char *name, am_shape *shape,
                                      am_dtype *dtype);
AM_API am_status am_graph_output_shape(const am_graph *g, int i, am_shape *shape,
                                       am_dtype *dtype);

/* ---- MXNet 1.x symbol JSON ------------------------------------------------- */

/* The graph as MXNet 1.9 writes it (docs/formats/symbol-json.md).  Returns a
 * malloc'd string the caller frees, or NULL. */
AM_API char *am_graph_to_json(const am_graph *g);

/* Reads MXNet symbol JSON (1.x, and the older attr/param spellings).  New
 * reference, or NULL with AM_ERR_FORMAT (naming the node and field),
 * AM_ERR_UNKNOWN_OP or AM_ERR_IO. */
AM_API am_graph *am_graph_from_json(const char *json);
AM_API am_graph *am_graph_load(const char *path);
/* Written to a temporary name and renamed (docs/formats/files.md). */
AM_API am_status am_graph_save(const am_graph *g, const char *path);

/* ---- composition and internals ---- */

/* Graphs are values: each function below returns a new graph (a new
 * reference) that shares nodes with its arguments and never changes them.
 * am_graph_output(g, i) turns a head back into a symbolic array, so calling
 * ops on it composes too (docs/symbols.md). */

/* Every visible output of every node of g, variables included, as heads, in
 * g's topological order: MXNet's Symbol.get_internals().  Nodes keep g's
 * names, so am_graph_list_outputs gives "data", "fc1_weight", "fc1_output",
 * ...  Hidden outputs (BatchNorm's saved mean and variance, Dropout's mask)
 * are left out, as MXNet does.  NULL with AM_ERR_ARG for a NULL graph
 * (keeping an earlier failure's message). */
AM_API am_graph *am_graph_get_internals(const am_graph *g);

/* The inputs of g's head nodes as heads, in order (a node that heads g
 * twice counts once): MXNet's Symbol.get_children().  When no head node has
 * inputs (g is a variable) there are no children: NULL with AM_ERR_ARG
 * saying so, where MXNet's Python returns None. */
AM_API am_graph *am_graph_get_children(const am_graph *g);

/* The graph whose one head is the output of g named name, as
 * am_graph_list_outputs names it: MXNet's sym["fc1_output"].  Only g's heads
 * are searched; for an inner node search its internals:
 * am_graph_find_output(am_graph_get_internals(g), "fc1_output").
 * AM_ERR_ARG naming name when no output or more than one has it. */
AM_API am_graph *am_graph_find_output(const am_graph *g, const char *name);

/* One graph with the heads of all n graphs, in order: MXNet's
 * Symbol.Group.  A variable name used by two graphs must be the same node
 * (AM_ERR_ARG naming it otherwise).  Unnamed nodes keep graphs[0]'s names. */
AM_API am_graph *am_graph_group(am_graph *const *graphs, int n);

/* g with variable names[k] replaced by the single head of values[k], for
 * each k: MXNet's sym(name=value, ...) (Symbol._compose with keywords).  Any
 * variable may be replaced (arguments, auxiliary states, constants, by the
 * names am_graph_list_inputs gives).  Nodes that read a replaced value are
 * rebuilt with shapes and dtypes inferred from their new inputs (left
 * unknown while an input is unknown, for am_graph_infer).  AM_ERR_ARG for an
 * unknown or repeated name (the message lists g's inputs), a value with more
 * than one head, or a variable name the result would use twice; the op's
 * error, naming the node, when new shapes do not fit it. */
AM_API am_graph *am_graph_compose(const am_graph *g, const char *const *names,
                                  am_graph *const *values, int n);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_SYMBOL_H */
