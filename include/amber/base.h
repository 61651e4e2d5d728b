/* Amber base definitions: export macro, version, status codes and the
 * thread-local error message shared by every module. */
#ifndef AMBER_BASE_H
#define AMBER_BASE_H

/*
 * Every fallible call either returns NULL (constructors, ops) or an am_status.
 * The reason is kept per thread until the next failure.  Example:
 *
 *     am_array *x = am_ones(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
 *     am_array *w = am_ones(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
 *     am_array *y = am_dot(x, w);                    // (2, 3) . (2, 3): no
 *     if (!y) {
 *         fprintf(stderr, "%s\n", am_last_error());   // "dot: ... at model.c:12"
 *         return am_last_status() == AM_ERR_SHAPE ? 0 : 1;
 *     }
 *
 * A NULL input to an op yields NULL and keeps the first message, so a chained
 * expression reports the first failure.  AM_ABORT_ON_ERROR=1 in the
 * environment aborts at the first failure, for use under a debugger.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define AM_API __declspec(dllexport)
#else
#define AM_API __attribute__((visibility("default")))
#endif

#define AM_VERSION_MAJOR 0
#define AM_VERSION_MINOR 1
#define AM_VERSION_PATCH 0
#define AM_VERSION_STRING "0.1.0"

/* Largest number of dimensions of an array. */
#define AM_MAX_NDIM 6

typedef enum am_status {
    AM_OK = 0,
    AM_ERR_ARG,         /* bad argument: NULL, out of range, unknown attribute */
    AM_ERR_SHAPE,       /* shapes do not agree */
    AM_ERR_DTYPE,       /* dtype not supported or inputs disagree */
    AM_ERR_DEVICE,      /* inputs on different devices, or device unavailable */
    AM_ERR_OOM,         /* allocation failed */
    AM_ERR_IO,          /* a file could not be read or written */
    AM_ERR_FORMAT,      /* malformed file or string */
    AM_ERR_UNKNOWN_OP,  /* no operator of that name */
    AM_ERR_SYMBOLIC,    /* value read from a symbolic array */
    AM_ERR_UNSUPPORTED, /* valid request that Amber does not implement */
    AM_ERR_CUDA,        /* CUDA, cuBLAS or cuDNN failure */
    AM_ERR_INTERNAL,    /* a bug in Amber */
    AM_STATUS_COUNT
} am_status;

/* Name of a status code ("AM_ERR_SHAPE").  Never NULL. */
AM_API const char *am_status_name(am_status s);

/* Where a call was made in user code; ops take one so that errors name the
 * caller's line.  AM_HERE builds it. */
typedef struct am_site {
    const char *file;
    int line;
} am_site;

#define AM_HERE ((am_site){__FILE__, __LINE__})

/* The message of the last failure on this thread, or "" when none.
 * Borrowed: valid until the next Amber call on this thread fails. */
AM_API const char *am_last_error(void);

/* The code of the last failure on this thread, AM_OK when none. */
AM_API am_status am_last_status(void);

/* Forgets the last failure on this thread. */
AM_API void am_clear_error(void);

/* A shape: ndim dimensions, dim[0] outermost.  Plain data. */
typedef struct am_shape {
    int ndim;
    int64_t dim[AM_MAX_NDIM];
} am_shape;

/* A dimension not known yet.  Only graphs hold it: MXNet's legacy files
 * write an unknown dimension as 0 (a Gluon begin state of shape (2, 0, 16),
 * an export's batch), and am_graph_infer fills it from the ops that
 * constrain it (docs/symbols.md, "Unknown dimensions").  Arrays never have
 * one. */
#define AM_DIM_UNKNOWN (-1)

/* True when ndim >= 0 and no dimension is AM_DIM_UNKNOWN (or negative). */
AM_API bool am_shape_known(const am_shape *s);

/* Number of elements of a shape (1 for ndim 0, 0 when a dimension is 0),
 * or -1 when the product of the dimensions overflows int64.  It never
 * overflows itself; am_shape_check says whether an array may have the shape. */
AM_API int64_t am_shape_size(const am_shape *s);

/* The most bytes an array's data may have: 2^62 - 1, so that every element
 * count, stride and byte offset fits in int64 with room to spare. */
#define AM_MAX_BYTES (UINT64_MAX >> 2)

/* Whether an array of elem_size-byte elements may have shape s: ndim in
 * [0, AM_MAX_NDIM], no negative dimension, and the product of the nonzero
 * dimensions times elem_size at most AM_MAX_BYTES, checked also when another
 * dimension is 0 (so that strides never overflow).  Every place that turns a
 * shape into an element count or a byte size checks it here.  Writes the
 * element count to *size and the bytes to *bytes (either may be NULL).
 * Returns false and sets no error when the shape is not allowed; the caller
 * names the op and the shape. */
AM_API bool am_shape_check(const am_shape *s, size_t elem_size, int64_t *size, uint64_t *bytes);

/* True when both shapes have the same ndim and dimensions. */
AM_API bool am_shape_equal(am_shape a, am_shape b);

/* Writes "(2, 3)" into buf (at most n bytes, always terminated), an unknown
 * dimension as "?" and an unknown shape as "unknown".  Returns buf. */
AM_API char *am_shape_format(const am_shape *s, char *buf, size_t n);

/* Builds a shape from ndim sizes; AM_SHAPE(2, 3, 4) builds one from a list. */
AM_API am_shape am_shape_make(int ndim, const int64_t *dim);
#define AM_SHAPE(...) \
    am_shape_make((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

#ifdef __cplusplus
}
#endif
#endif /* AMBER_BASE_H */
