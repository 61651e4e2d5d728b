/* Internal declarations shared by ndarray/ and the other modules: the array
 * and storage structs, the allocator, scopes, error context and kernel helpers.
 * Not installed; nothing here is API. */
#ifndef AMBER_NDARRAY_IMPL_H
#define AMBER_NDARRAY_IMPL_H

#include <amber/amber.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts with file:line on a broken internal invariant; never for user input. */
#define AM_ASSERT(cond)                                                                 \
    do {                                                                                \
        if (!(cond)) am_assert_fail(__FILE__, __LINE__, #cond);                         \
    } while (0)
void am_assert_fail(const char *file, int line, const char *cond) __attribute__((noreturn));

#define AM_UNUSED(x) ((void)(x))
#define AM_ALIGN 64

/* ---- devices: how storage is allocated and copied ----------------------- */

typedef struct am_device_ops {
    void *(*alloc)(int id, size_t nbytes);
    void (*free)(int id, void *p);
    am_status (*to_host)(int id, void *dst, const void *src, size_t n);
    am_status (*from_host)(int id, void *dst, const void *src, size_t n);
    am_status (*copy)(int id, void *dst, const void *src, size_t n);
    am_status (*memset0)(int id, void *p, size_t n);
    int (*count)(void);
} am_device_ops;

/* The ops for a device type; NULL when that device is not built in. */
const am_device_ops *am_device_ops_for(am_device_type t);

/* ---- storage and arrays -------------------------------------------------- */

typedef struct am_storage {
    atomic_int refcount;
    void *data;
    size_t nbytes;
    am_device device;
} am_storage;

am_storage *am_storage_create(size_t nbytes, am_device dev);
void am_storage_retain(am_storage *s);
void am_storage_release(am_storage *s);

struct am_node; /* a graph node (symbol/) */
void am_node_release(struct am_node *n);

/* One recorded op call on the autograd tape. */
typedef struct am_tape_node {
    atomic_int refcount;
    const am_op_def *op;
    void *attrs;          /* a copy of the call's attributes */
    int n_in, n_out;
    am_array **in;        /* the inputs as given: they carry their own tape links */
    am_array **out;       /* the output values (hidden ones too), with no tape link */
    am_site at;
    bool training;        /* the training flag of the forward call */
    bool freed;           /* backward ran without retain_graph */
    int visit;            /* scratch for backward */
    void *state;          /* what the gradient function needs beyond in and out, or NULL */
    void (*state_release)(void *state);
} am_tape_node;

void am_tape_node_release(am_tape_node *n);

struct am_array {
    atomic_int refcount;
    am_dtype dtype;
    am_shape shape;
    am_storage *storage;   /* NULL for symbolic arrays */
    size_t offset;         /* bytes from storage->data */
    struct am_node *node;  /* symbolic: the producing graph node */
    int node_output;
    am_tape_node *grad_fn; /* recorded result: the op that made it */
    int grad_index;        /* ... and which of its outputs */
    am_array *grad;        /* attached variable: its gradient buffer */
    int grad_req;          /* am_grad_req of an attached variable */
};

/* A new array with uninitialised storage of the given shape on dev; the
 * caller owns the reference (hand it on with am_scope_own).  NULL with
 * AM_ERR_OOM, AM_ERR_SHAPE or AM_ERR_DEVICE. */
am_array *am_array_alloc(am_shape shape, am_dtype dtype, am_device dev);
/* Adjusts the live-array count for arrays made outside array.c. */
void am_debug_count_array(int delta);
/* A new array sharing base's storage at byte offset; the caller owns it. */
am_array *am_array_new_view(am_array *base, am_shape shape, am_dtype dtype, size_t offset);
/* Hands a fresh reference to the current scope (or the caller). */
am_array *am_scope_own(am_array *x);

static inline void *am_array_ptr(const am_array *x)
{
    return (char *)x->storage->data + x->offset;
}

/* A kernel view of x (contiguous strides). */
am_view am_array_view(const am_array *x);
am_view am_view_make(void *data, am_dtype dtype, const am_shape *shape, am_device dev);

/* Records a finished eager call on the tape when recording is on and an
 * input needs a gradient; links the visible outputs to the new node. */
am_status am_tape_record(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                         am_array **outs, int n_all, int n_visible, am_site at);
/* The same for a call whose gradient needs state (a hybridized block's saved
 * values): the node owns state, hands it to the gradient function in
 * am_grad_ctx.state and calls release(state) when it is freed; release runs
 * at once when nothing is recorded. */
am_status am_tape_record_state(const am_op_def *op, const void *attrs, am_array *const *in,
                               int n_in, am_array **outs, int n_all, int n_visible, am_site at,
                               void *state, void (*release)(void *state));

/* Adds a graph node for a call with a symbolic input (symbol/trace.c). */
am_status am_trace_call(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                        am_array **out, int n_out, am_site at);

/* Runs op's kernel into existing outputs with the given requests (no
 * allocation of outputs, no recording). */
am_status am_op_run_into(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                         am_array *const *out, const am_req *req);

/* Writes path through write(f, ctx) into a temporary file beside it, then
 * syncs and renames it over path: a failure leaves no partial file.  write
 * returns AM_OK or a failure it has reported (AM_ERR_IO without a message
 * gets one naming path). */
am_status am_file_write_atomic(const char *path, am_status (*write)(FILE *f, void *ctx), void *ctx);

/* Opens a regular file for reading and tells its size; AM_ERR_ARG (NULL
 * path) or AM_ERR_IO naming the file.  The caller fcloses *f. */
am_status am_file_open_read(const char *path, FILE **f, uint64_t *size);

/* ---- allocator -------------------------------------------------------------- */

/* 64-byte aligned host memory; blocks of 1 MiB and more are cached for
 * reuse after am_host_free (ndarray/alloc.c).  am_host_free(NULL) is a no-op. */
void *am_host_alloc(size_t nbytes);
void am_host_free(void *p);
/* Under AddressSanitizer blocks are not recycled, so that every use after
 * free stays visible. */
#if defined(__SANITIZE_ADDRESS__)
#define AM_HOST_CACHE 0
#else
#define AM_HOST_CACHE 1
#endif
/* Returns the cached blocks to the system. */
void am_host_trim(void);
/* Host allocations made so far; tests compare counts across runs. */
int64_t am_debug_alloc_count(void);
/* Host bytes in use now, and the most in use at once since the last
 * am_debug_peak_reset (benchmarks report peak memory with these). */
int64_t am_debug_live_bytes(void);
int64_t am_debug_peak_bytes(void);
void am_debug_peak_reset(void);

/* ---- errors ------------------------------------------------------------------ */

/* While an op or API function runs, failures are reported as
 * "<what>: <message> at <file>:<line>".  Push/pop nest. */
typedef struct am_err_ctx {
    const char *what;
    am_site at;
    const struct am_err_ctx *prev;
} am_err_ctx;
void am_err_push(am_err_ctx *c, const char *what, am_site at);
void am_err_pop(am_err_ctx *c);
/* Fails as an op or API function would, naming it and the caller's site: for
 * checks that public functions make before dispatch.  am_fail_null does the
 * same and evaluates to a NULL array, for functions returning arrays. */
am_status am_fail_at(const char *what, am_site at, am_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define am_fail_null(what, at, code, ...) \
    (am_fail_at((what), (at), (code), __VA_ARGS__), (am_array *)NULL)
/* While on, failures are expected and retried (graph inference with unknown
 * inputs): AM_ABORT_ON_ERROR does not abort.  Returns the previous setting. */
bool am_set_speculative(bool on);
/* True when a failure reported now would name a caller's line. */
bool am_err_has_site(void);
/* Adds a note to the message of the failure just reported (its code stays). */
void am_error_append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Keeps the current message: the caller passes a NULL input through. */
am_status am_fail_null_input(const char *what, int index, am_site at);
/* s as a message may quote it: valid UTF-8 as it is, control characters,
 * DEL and bytes that are no UTF-8 as \xNN, cut with "..." to fit len. */
const char *am_escape_text(const char *s, char *buf, size_t len);

/* ---- per-thread state ------------------------------------------------------- */

uint64_t *am_rng_state(void);
double am_rng_uniform01(uint64_t *s);   /* [0, 1) */
double am_rng_normal(uint64_t *s);      /* N(0, 1) */
bool am_is_training(void);
/* Returns the previous value. */
bool am_set_training(bool on);

/* ---- registry and dispatch --------------------------------------------------- */

/* Checks the built-in table once (unique names, required slots). */
am_status am_registry_init(void);
/* Registers the executor's fused ops (executor/passes.c); am_op_find calls
 * it for an unknown "_amber_" name. */
am_status am_executor_register_ops(void);
/* Ops in the built-in table; they come first in registry order. */
int am_registry_builtin_count(void);

/* Prints the registry: one line per op, or docs/ops.md's Markdown. */
void am_ops_print(FILE *f, bool as_markdown);

/* Formats a double as Python's str() does ("0.5", "1e-05", "1.0"). */
char *am_format_double(double v, char *buf, size_t n);

/* Shapes "(2, 3)" of n inputs joined by ", ", for messages. */
char *am_format_shapes(const am_shape *s, int n, char *buf, size_t len);

/* Normalises a possibly negative axis against ndim; false when out of range. */
static inline bool am_axis_norm(int64_t axis, int ndim, int *out)
{
    if (axis < -ndim || axis >= ndim) return false;
    *out = (int)(axis < 0 ? axis + ndim : axis);
    return true;
}

/* Parallel loops over n elements use OpenMP only above this size, so that
 * small ops do not pay for waking threads. */
#define AM_OMP_MIN 32768

/* A parallel loop when the local int64_t `n` (the element count) is above
 * AM_OMP_MIN.  Usable inside macro arguments, unlike #pragma. */
#define AM_OMP_FOR_N _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")

/* Element i of view v as double (any dtype); for references and tests. */
double am_view_get(const am_view *v, int64_t i);
void am_view_set(const am_view *v, int64_t i, double x);
int64_t am_view_size(const am_view *v);

/* Bulk float32 <-> float16 (ndarray/half.c); portable skips F16C (tests). */
void am_half_from_float_n(const float *s, uint16_t *d, int64_t n, bool portable);
void am_half_to_float_n(const uint16_t *s, float *d, int64_t n, bool portable);

/* The dtypes kernels see: float32, float64, int32, int64, uint8 (the first
 * in am_dtype order).  The others compute through one of them
 * (am_dtype_compute): float16, bfloat16, bool through float32, int8 through
 * int32; only ops that say so in .dtypes (Cast) see them. */
#define AM_DTYPE_KERNEL_COUNT 5

/* Runs a switch over the dtype with T bound to the C type, for the dtypes
 * kernels see (AM_DTYPE_KERNEL_COUNT). */
#define AM_DTYPE_SWITCH(dt, T, ...)                                                     \
    switch (dt) {                                                                       \
    case AM_DTYPE_FLOAT32: { typedef float T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_FLOAT64: { typedef double T; __VA_ARGS__; } break;                    \
    case AM_DTYPE_INT32: { typedef int32_t T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_INT64: { typedef int64_t T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_UINT8: { typedef uint8_t T; __VA_ARGS__; } break;                     \
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %s", am_dtype_name(dt));   \
    }
#define AM_FLOAT_SWITCH(dt, T, ...)                                                     \
    switch (dt) {                                                                       \
    case AM_DTYPE_FLOAT32: { typedef float T; __VA_ARGS__; } break;                     \
    case AM_DTYPE_FLOAT64: { typedef double T; __VA_ARGS__; } break;                    \
    default: return am_fail(AM_ERR_DTYPE, "%s input not supported (float32 or float64 only)", \
                            am_dtype_name(dt));                                         \
    }

#endif /* AMBER_NDARRAY_IMPL_H */
