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

/* ---- the hooks symbol/ installs (the layering, docs/design.md) -------------
 *
 * ndarray/ never calls symbol/ or executor/ by name: what it needs of graphs
 * (tracing a call with a symbolic input, releasing the node a symbolic array
 * holds, keeping a control-flow record's subgraphs alive) goes through this
 * table, which symbol/ installs before it makes its first node or graph.  An
 * array or attribute that holds a node or graph exists only after that, so
 * the table is always there when it is read. */
struct am_node; /* a graph node (symbol/) */
typedef struct am_symbol_hooks {
    /* Adds a graph node for a call with a symbolic input: symbolic outputs. */
    am_status (*trace_call)(const am_op_def *op, const void *attrs, am_array *const *in,
                            int n_in, am_array **out, int n_out, am_site at);
    void (*node_release)(struct am_node *n); /* NULL is a no-op */
    am_graph *(*graph_retain)(am_graph *g);
    void (*graph_release)(am_graph *g);
} am_symbol_hooks;
/* Installs h (a static table; the same one every time). */
void am_symbol_hooks_install(const am_symbol_hooks *h);
/* The installed table; asserts that there is one. */
const am_symbol_hooks *am_symbol_hooks_get(void);

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

/* am_op_call for the common case of one visible output, as the public op
 * functions make it: the output (owned by the scope) or NULL with the error. */
am_array *am_op_call1(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                      am_site at);

/* Runs op's kernel into existing outputs with the given requests (no
 * allocation of outputs, no recording). */
am_status am_op_run_into(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                         am_array *const *out, const am_req *req);

/* Writes path through write(f, ctx) into a temporary file beside it, then
 * syncs it, renames it over path and syncs the directory: a failure leaves
 * no partial file (ndarray/fileio.c and docs/files.md say the rest: symbolic
 * links written through, the mode kept, stale temporaries removed).  write
 * returns AM_OK or a failure it has reported; a failed write to f is
 * reported with the system's errno and path, whatever write returned. */
am_status am_file_write_atomic(const char *path, am_status (*write)(FILE *f, void *ctx), void *ctx);

/* The same in two steps, so that several files are replaced only when all
 * of them were written: am_file_stage_write writes and syncs the temporary
 * (*out; NULL on failure, reported), am_file_stage_commit renames it over
 * the target (and frees it), am_file_stage_discard removes it.  Both accept
 * NULL. */
typedef struct am_file_stage am_file_stage;
am_status am_file_stage_write(const char *path, am_status (*write)(FILE *f, void *ctx), void *ctx,
                              am_file_stage **out);
am_status am_file_stage_commit(am_file_stage *s);
void am_file_stage_discard(am_file_stage *s);
/* A stage written over time through a stream (the profiler's trace): *f
 * writes the temporary; am_file_stage_finish flushes and syncs it and, when
 * st (the writer's status) and the stream are fine, commits it, else
 * discards it and reports why.  A killed writer leaves no file behind: the
 * temporary is unnamed where the system allows, else the next save of the
 * same path removes it. */
am_status am_file_stage_stream(const char *path, am_file_stage **out, FILE **f);
am_status am_file_stage_finish(am_file_stage *s, FILE *f, am_status st);

/* Fault injection for the tests of the writers (never set otherwise):
 * write_fd >= 0 sends the bytes there instead (/dev/full gives ENOSPC);
 * fail_errno != 0 fails writes with it once fail_after bytes went out;
 * fsync_errno != 0 fails the temporary's fsync; no_tmpfile uses named
 * temporaries even where O_TMPFILE works. */
typedef struct am_file_test_hooks {
    int write_fd;
    int fail_errno;
    uint64_t fail_after;
    int fsync_errno;
    bool no_tmpfile;
} am_file_test_hooks;
extern am_file_test_hooks am_file_test;

/* am_npy_save into a staged temporary (*stage, NULL on failure), which
 * am_file_stage_commit puts in place (ndarray/npy.c). */
am_status am_npy_stage(const char *path, am_array *x, am_file_stage **stage);

/* Opens a regular file for reading and tells its size.  The open never
 * blocks: a FIFO, device or directory is refused (AM_ERR_IO naming the path
 * and what it is) before anything is read.  AM_ERR_ARG for a NULL path.
 * The caller fcloses *f. */
am_status am_file_open_read(const char *path, FILE **f, uint64_t *size);

/* Bytes read in order from a file or from memory: what the .npy and .params
 * readers parse (ndarray/bytesrc.c). */
typedef struct am_byte_src {
    const char *name;      /* the path, or "<buffer>" */
    FILE *f;               /* NULL when reading from memory */
    const uint8_t *mem;
    uint64_t size, pos;    /* total length and read position */
} am_byte_src;
/* Copies the next n bytes (n <= size - pos, which the caller checks) into
 * dst; AM_ERR_IO naming the file when it cannot. */
am_status am_byte_src_read(am_byte_src *s, void *dst, uint64_t n);
/* Runs load(s, ctx) over the file at path (opened with am_file_open_read)
 * or over size bytes at data, under an error context naming fn (the API
 * function); NULL when the file cannot be opened, data is NULL with a
 * size, or load fails. */
typedef void *(*am_byte_loader)(am_byte_src *s, void *ctx);
void *am_byte_src_load_file(const char *fn, const char *path, am_byte_loader load, void *ctx);
void *am_byte_src_load_buffer(const char *fn, const void *data, size_t size, am_byte_loader load,
                              void *ctx);

/* ---- allocator -------------------------------------------------------------- */

/* 64-byte aligned host memory; blocks of 64 KiB and more are cached by size
 * class for reuse after am_host_free (ndarray/alloc.c).  am_host_free(NULL) is a no-op. */
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
/* The bytes am_host_alloc(nbytes) counts: nbytes rounded up to its block. */
size_t am_host_block_size(size_t nbytes);
/* Host bytes held now: live blocks and cached ones (what the limit counts). */
int64_t am_host_reserved_bytes(void);

/* ---- the memory limit (ndarray/memlimit.c, docs/memory.md) -------------------- */

/* AM_MEMORY_LIMIT's syntax: "17179869184", "16G", "512M", "1.5GiB" (binary
 * units, K = 1024, up to E), "50%" (of physical memory or the cgroup's
 * limit), "none" (INT64_MAX).  -1 with the reason in err when s is none
 * of these or is 0. */
int64_t am_memory_parse_limit(const char *s, char *err, size_t errlen);
/* The limit in bytes (INT64_MAX: none); -1 when AM_MEMORY_LIMIT holds no size. */
int64_t am_memory_limit_bytes(void);
/* AM_OK when nbytes more host bytes (rounded up as am_host_alloc counts
 * them) fit under the limit beside those held
 * (cached blocks are returned to the system first when that makes room).
 * Else AM_ERR_OOM: "<what> needs 8.0 TiB (<detail>); the memory limit is
 * 19.2 GiB (AM_MEMORY_LIMIT)"; detail may be NULL.  AM_ERR_ARG when
 * AM_MEMORY_LIMIT holds no size. */
am_status am_memory_check(uint64_t nbytes, const char *what, const char *detail);
/* am_memory_check for an array of this shape and dtype (the detail names
 * both).  AM_OK for a shape that is invalid or overflows: the array's own
 * checks report those. */
am_status am_memory_check_array(const char *what, const am_shape *shape, am_dtype dtype);
/* am_memory_check_array for an op's outputs first..n-1, each on its own
 * ("output needs ...", or "output 1 needs ..." when there are several). */
am_status am_memory_check_outputs(const am_shape *shapes, const am_dtype *dtypes, int first, int n);
/* "812 B", "40.1 KiB", "8.0 TiB". */
char *am_format_bytes(uint64_t n, char *buf, size_t len);

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
/* The fused GEMM ops (ops/fused_gemm.c).  setup finds, among ops, the
 * activation facets that compute each am_act (the registry passes its
 * built-in table at initialization); derive builds the fused op of base's
 * GEMM facet (not registered; NULL with an error, or NULL when base names
 * none); act_known: the fused ops can apply act. */
void am_fused_gemm_setup(const am_op_def *const *ops, int n);
const am_op_def *am_fused_gemm_derive(const am_op_def *base);
bool am_fused_gemm_act_known(am_act act);
/* act as the fused ops' act_type spells it ("relu"); "none" for AM_ACT_NONE. */
const char *am_act_name(am_act act);
/* Ops in the built-in table; they come first in registry order. */
int am_registry_builtin_count(void);
/* Internal ops (AM_OP_INTERNAL) the registry adds at initialization; they
 * follow the built-in ones in registry order. */
int am_registry_internal_count(void);

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

/* AM_OK when shape s of dtype t may be an array's (am_shape_check; an
 * unknown dimension counts as 1, AM_DTYPE_COUNT as 1 byte), else an
 * AM_ERR_SHAPE failure, under the caller's error context, that names role
 * ("output 0") and the shape.  Shape inference calls it on what it settles,
 * so that nothing after it multiplies out of range. */
am_status am_shape_fits(const am_shape *s, am_dtype t, const char *role);

/* Float to integer as x86 converts, and so MXNet and NumPy there (checked
 * with mx.nd.Cast and numpy astype): truncated toward zero; NaN, the
 * infinities and values outside int32 (int64) give INT32_MIN (INT64_MIN);
 * int8 and uint8 take the low byte of the int32 result (-1 -> 255,
 * 300 -> 44, NaN -> 0).  C leaves these casts undefined; these are not. */
static inline int32_t am_float_to_i32(double x)
{
    return x > -2147483649.0 && x < 2147483648.0 ? (int32_t)x : INT32_MIN;
}
static inline int64_t am_float_to_i64(double x)
{
    return x >= -9223372036854775808.0 && x < 9223372036854775808.0 ? (int64_t)x : INT64_MIN;
}
static inline uint8_t am_float_to_u8(double x) { return (uint8_t)(uint32_t)am_float_to_i32(x); }
static inline int8_t am_float_to_i8(double x)
{
    return (int8_t)(uint8_t)(uint32_t)am_float_to_i32(x); /* gcc and clang wrap */
}

/* (T)x for any two of Amber's C element types, with a float x going to an
 * integer T as above. */
#define AM_FLOAT_TO_INT_(T, x)                                                           \
    _Generic((T)0, int8_t: am_float_to_i8(x), uint8_t: am_float_to_u8(x),              \
             int32_t: am_float_to_i32(x), int64_t: am_float_to_i64(x), default: (T)(x))
#define AM_CONVERT(T, x) \
    ((T)_Generic((x), float: AM_FLOAT_TO_INT_(T, x), double: AM_FLOAT_TO_INT_(T, x), default: (x)))

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

/* Nodes that passes build without naming ops or attributes (ndarray/ops/init.c):
 * the definitions, and new attribute structs for them (free()) with, in
 * *given, the schema fields they set (bit i: field i; a node's attrs_given).
 * NULL with AM_ERR_ARG, AM_ERR_DTYPE or AM_ERR_OOM. */
extern const am_op_def am_op_zeros, am_op_cast;
void *am_zeros_attrs(am_shape shape, am_dtype dtype, uint64_t *given);
void *am_cast_attrs(am_dtype dtype, uint64_t *given);

#endif /* AMBER_NDARRAY_IMPL_H */
