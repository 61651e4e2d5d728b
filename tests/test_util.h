/* Helpers shared by the CUnit suites. */
#ifndef AMBER_TEST_UTIL_H
#define AMBER_TEST_UTIL_H

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../ndarray/ndarray_impl.h"

/* An array from a list of values: tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4). */
#define tu_array(dtype, shape, ...) \
    tu_array_from((dtype), (shape), (const double[]){__VA_ARGS__}, \
                  (int64_t)(sizeof((double[]){__VA_ARGS__}) / sizeof(double)))
am_array *tu_array_from(am_dtype dtype, am_shape shape, const double *v, int64_t n);

/* True when x has the shape and values within tol (absolute + relative);
 * prints the first mismatch. */
bool tu_values_are(am_array *x, am_shape shape, const double *v, int64_t n, double tol);
#define TU_ASSERT_VALUES(x, shape, tol, ...) \
    CU_ASSERT(tu_values_are((x), (shape), (const double[]){__VA_ARGS__}, \
                            (int64_t)(sizeof((double[]){__VA_ARGS__}) / sizeof(double)), (tol)))

/* True when a and b have the same shape and values within tol. */
bool tu_allclose(am_array *a, am_array *b, double tol);

/* Asserts that expr returned NULL (or a failing status) with this code and a
 * message containing substr. */
#define TU_ASSERT_FAILS(expr, code, substr)                                              \
    do {                                                                                 \
        am_clear_error();                                                                \
        CU_ASSERT((expr) == 0);                                                          \
        CU_ASSERT_EQUAL(am_last_status(), (code));                                       \
        if (!strstr(am_last_error(), (substr))) {                                        \
            printf("\n  message '%s' lacks '%s'\n", am_last_error(), (substr));          \
            CU_FAIL("error message");                                                    \
        }                                                                                \
        am_clear_error();                                                                \
    } while (0)

/* Asserts that a status-returning expr failed with code and a message
 * containing substr (TU_ASSERT_FAILS is for expressions that are 0 on failure). */
#define TU_ASSERT_STATUS(expr, code, substr)                                             \
    do {                                                                                 \
        am_clear_error();                                                                \
        CU_ASSERT_EQUAL((expr), (code));                                                 \
        if (!strstr(am_last_error(), (substr))) {                                        \
            printf("\n  message '%s' lacks '%s'\n", am_last_error(), (substr));          \
            CU_FAIL("error message");                                                    \
        }                                                                                \
        am_clear_error();                                                                \
    } while (0)

/* Runs op by name with "k1|k2" = "v1|v2" attributes (at most 16); n_out
 * visible outputs.  tu_invoke1: one input and one output, NULL on failure. */
am_status tu_invoke(const char *op, am_array *const *in, int n_in, const char *keys,
                    const char *vals, am_array **out, int n_out);
am_array *tu_invoke1(const char *op, am_array *x, const char *keys, const char *vals);

/* Calls op's CPU kernel directly on preallocated outputs (hidden ones
 * included) with every request set to req and the training flag given. */
am_status tu_run_kernel(const char *name, const char *keys, const char *vals, am_array **in,
                        int n_in, am_array **out, am_req req, bool training);

/* Nodes of graph g running op (NULL: variables and constants). */
struct am_graph;
int tu_count_op(const struct am_graph *g, const char *op);

/* Exports block b (called once on in) with am_block_export, imports the
 * files with am_symbol_block_import and checks the imported block's first
 * output against b's, eagerly and hybridized, in inference mode.  True when
 * they agree within tol (relative to the output's scale); prints why not. */
struct am_block;
bool tu_export_import_agree(struct am_block *b, am_array *const *in, int n_in, double tol);

/* Random array with values uniform in [lo, hi). */
am_array *tu_random(am_shape shape, am_dtype dtype, double lo, double hi);

/* Case tables for registry-driven op checks (tests/op_cases.c). */
typedef struct am_op_case {
    const char *op;       /* registry name */
    const char *attrs;    /* "key=value;key=value" (values may hold commas) */
    const char *shapes;   /* input shapes "2,3;3" (";" between inputs, "" for a scalar shape) */
    am_dtype dtype;       /* dtype of the value inputs (0 = float32) */
    double lo, hi;        /* value range of inputs; lo == hi means [-1, 1) */
    unsigned index_mask;  /* inputs holding integer indices in [0, index_hi) */
    int64_t index_hi;
    am_dtype index_dtype; /* dtype of index inputs */
    /* Maps the drawn inputs into the op's domain with public ops, replacing
     * in[i] (symmetric positive definite matrices for _linalg_potrf); the
     * registry suite runs the op on the result and the gradient check
     * differentiates through it.  NULL: the inputs as drawn. */
    am_status (*prepare)(am_array **in, int n_in);
} am_op_case;

/* A case's attributes split into keys and values, and its input shapes. */
typedef struct tu_parsed_case {
    char *keys[32], *vals[32];
    int n_attrs;
    am_shape shapes[16];
    int n_in;
    char buf[512];
} tu_parsed_case;

void tu_parse_case(const am_op_case *c, tu_parsed_case *p);
/* Input i of a case: random values in the case's range, or integer indices. */
am_array *tu_case_input(const am_op_case *c, const tu_parsed_case *p, int i);

#endif /* AMBER_TEST_UTIL_H */
