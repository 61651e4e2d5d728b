/* The amber subcommands, and the helpers that run, viz and inspect share
 * (tools/cmd_util.c): error lines, NAME=VALUE arguments, shapes, parameters. */
#ifndef AMBER_TOOLS_COMMANDS_H
#define AMBER_TOOLS_COMMANDS_H

#include <amber/io.h>

#include "../executor/executor_impl.h"

/* Each takes the arguments after its name and returns the exit status:
 * 0 done, 1 failed (one line on stderr), 2 bad usage. */
int am_cmd_ops(int argc, char **argv);
int am_cmd_bench(int argc, char **argv);
int am_cmd_run(int argc, char **argv);
int am_cmd_viz(int argc, char **argv);
int am_cmd_inspect(int argc, char **argv);
int am_cmd_convert(int argc, char **argv);

/* Prints "amber <cmd>: <message>" as one line on stderr; returns 1. */
int am_cmd_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with am_last_error() as the message (clearing it). */
int am_cmd_fail_last(const char *cmd);
/* A usage error: "amber <cmd>: <message> (<usage>)" on stderr; returns 2. */
int am_cmd_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Splits "NAME=VALUE": *name is a malloc'd copy, *value points into arg.
 * False (nothing allocated) when there is no '=' or either side is empty. */
bool am_cmd_split(const char *arg, char **name, const char **value);

/* Parses "1x3x224x224", "(1, 3, 224, 224)", "[2,3]" or "()" into a shape of
 * positive dimensions.  False when it is not one. */
bool am_cmd_parse_shape(const char *s, am_shape *out);

/* Named values for a graph's variables: arrays, or for a plan's signature
 * shapes alone.  Zero-initialise to start. */
typedef struct am_cmd_values {
    char **names;        /* malloc'd */
    am_array **values;   /* references held; NULL for a shape alone */
    am_shape *shapes;    /* each entry's shape and dtype */
    am_dtype *dtypes;
    int n, cap;
} am_cmd_values;

/* Appends name (copied) with a reference to x, or (x NULL) with the shape
 * and dtype alone.  False on out of memory. */
bool am_cmd_values_add(am_cmd_values *v, const char *name, am_array *x);
bool am_cmd_values_add_shape(am_cmd_values *v, const char *name, am_shape shape, am_dtype dtype);
/* Adds "-i NAME=SHAPE" (arg) to v as a float32 input; 0, or the exit status
 * after printing the error line. */
int am_cmd_add_shape_arg(const char *cmd, const char *usage, const char *arg, am_cmd_values *v);
/* Index of name, or -1. */
int am_cmd_values_find(const am_cmd_values *v, const char *name);
void am_cmd_values_free(am_cmd_values *v);
/* v->names for the APIs that take const names. */
static inline const char *const *am_cmd_names(const am_cmd_values *v)
{
    return (const char *const *)v->names;
}

/* Index of the variable node called name in g, or -1 (an op node's name
 * does not count). */
int am_cmd_find_variable(const am_graph *g, const char *name);

/* Loads a .params file into v: names lose their "arg:"/"aux:" prefix.  A
 * name that is no variable of g is an error, or skipped when ignore_extra.
 * Returns 0, or 1 after printing the error line. */
int am_cmd_load_params(const char *cmd, const char *path, const am_graph *g, bool ignore_extra,
                       am_cmd_values *v);

/* Checks x (from source: a file name, for the message) against what g says
 * of variable name: its shape and dtype where the graph knows them.
 * Returns 0, or 1 after printing the error line. */
int am_cmd_check_value(const char *cmd, const am_graph *g, const char *name, const am_array *x,
                       const char *source);

#endif /* AMBER_TOOLS_COMMANDS_H */
