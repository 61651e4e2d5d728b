/* Arrays: creation, views, element access, reference counting and scopes. */
#ifndef AMBER_ARRAY_H
#define AMBER_ARRAY_H

/* Example (runs):
 *
 *     am_scope_begin();
 *     am_array *x = am_arange(0, 6, 1, AM_DTYPE_FLOAT32);     // owned by the scope
 *     am_array *m = am_reshape(x, AM_SHAPE(2, 3));            // a view of x
 *     am_print(m);                                            // [[0. 1. 2.] [3. 4. 5.]]
 *     am_array *kept = am_keep(am_sum(m, NULL, 0, false));    // survives the scope
 *     am_scope_end();                                         // frees x and m
 *     printf("%g\n", am_item(kept, 0));                       // 15
 *     am_release(kept);
 *
 * Ownership: every function that returns an am_array * returns a new reference
 * owned by the innermost open scope; with no scope open, the caller owns it
 * and calls am_release.  am_keep moves a reference to the enclosing scope (or,
 * from the outermost scope, to the caller).  am_retain adds a reference that
 * no scope will release.
 */

#include "base.h"
#include "dtype.h"
#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct am_array am_array;

/* ---- reference counting and scopes ---------------------------------- */

/* Adds a reference the caller owns.  NULL is a no-op.  Returns x. */
AM_API am_array *am_retain(am_array *x);

/* Drops one reference.  NULL is a no-op.  Releasing an array that has no
 * references left is a bug and aborts. */
AM_API void am_release(am_array *x);

/* Opens a scope on this thread.  Scopes nest. */
AM_API void am_scope_begin(void);

/* Closes the innermost scope and releases every reference it owns.  Returns
 * AM_ERR_ARG when no scope is open. */
AM_API am_status am_scope_end(void);

/* Moves the scope's reference to x into the enclosing scope (or to the caller
 * when this is the outermost scope).  Returns x; NULL passes through.  When x
 * is not owned by the innermost scope, adds a reference in the enclosing one. */
AM_API am_array *am_keep(am_array *x);

/* Arrays alive in this process; for leak checks in tests. */
AM_API int64_t am_debug_live_arrays(void);

/* ---- creation: all return new references on the CPU ----------------- */

/* Uninitialised storage; use when every element is about to be written. */
AM_API am_array *am_empty(am_shape shape, am_dtype dtype);
AM_API am_array *am_zeros(am_shape shape, am_dtype dtype);
AM_API am_array *am_ones(am_shape shape, am_dtype dtype);
AM_API am_array *am_full(am_shape shape, am_dtype dtype, double value);
/* [start, stop) in steps of step, like numpy.arange. */
AM_API am_array *am_arange(double start, double stop, double step, am_dtype dtype);
/* num points from start to stop inclusive, like numpy.linspace. */
AM_API am_array *am_linspace(double start, double stop, int64_t num, am_dtype dtype);
/* Copies shape-many elements of dtype from data. */
AM_API am_array *am_from_buffer(const void *data, am_shape shape, am_dtype dtype);

/* Seeds this thread's generator; the same seed gives the same numbers.  A
 * thread that never seeds draws a stream of its own (docs/threading.md). */
AM_API void am_seed(uint64_t seed);
/* Uniform on [low, high) and normal(loc, scale), float32 or float64. */
AM_API am_array *am_random_uniform(double low, double high, am_shape shape, am_dtype dtype);
AM_API am_array *am_random_normal(double loc, double scale, am_shape shape, am_dtype dtype);

/* ---- properties ----------------------------------------------------- */

AM_API am_shape am_array_shape(const am_array *x);
AM_API int am_array_ndim(const am_array *x);
/* Size of dimension i; negative i counts from the end.  -1 when out of range. */
AM_API int64_t am_array_dim(const am_array *x, int i);
AM_API int64_t am_array_size(const am_array *x);
AM_API am_dtype am_array_dtype(const am_array *x);
AM_API am_device am_array_device(const am_array *x);
/* True when x shares storage with another array (a view or viewed). */
AM_API bool am_array_is_view(const am_array *x);
/* True when x is a graph value without data (see symbol.h). */
AM_API bool am_array_is_symbolic(const am_array *x);

/* Pointer to the first element, typed by the caller.  NULL (AM_ERR_SYMBOLIC,
 * AM_ERR_DEVICE) for symbolic or GPU arrays.  Borrowed while x lives. */
AM_API void *am_array_data(am_array *x);
#define am_array_data_f32(x) ((float *)am_array_data(x))
#define am_array_data_f64(x) ((double *)am_array_data(x))
#define am_array_data_i32(x) ((int32_t *)am_array_data(x))
#define am_array_data_i64(x) ((int64_t *)am_array_data(x))
#define am_array_data_u8(x)  ((uint8_t *)am_array_data(x))

/* Element at flat (row-major) index i, converted to double.  NaN with
 * AM_ERR_ARG when i is out of range, AM_ERR_SYMBOLIC for symbolic arrays. */
AM_API double am_item_at(am_array *x, int64_t i, am_site at);
#define am_item(x, i) am_item_at((x), (i), AM_HERE)

/* Sets every element to value.  In place: views see the change. */
AM_API am_status am_array_fill(am_array *x, double value);

/* ---- conversion ----------------------------------------------------- */

AM_API am_array *am_copy_at(am_array *x, am_site at);
AM_API am_array *am_astype_at(am_array *x, am_dtype dtype, am_site at);
AM_API am_array *am_to_device_at(am_array *x, am_device dev, am_site at);
#define am_copy(x) am_copy_at((x), AM_HERE)
#define am_astype(x, t) am_astype_at((x), (t), AM_HERE)
#define am_to_device(x, d) am_to_device_at((x), (d), AM_HERE)

/* ---- printing ------------------------------------------------------- */

/* NumPy-style text: "[[1. 2.]\n [3. 4.]]"; arrays over 1000 elements are
 * summarised with "..." (3 items at each end of each axis).  Returns a
 * malloc'd string the caller frees, or NULL on failure. */
AM_API char *am_to_string(am_array *x);

/* Prints am_to_string(x) and a newline to stdout; "NULL" for NULL. */
AM_API void am_print(am_array *x);

/* ---- memory limit (docs/memory.md) --------------------------------- */

/* One limit for the whole process on the host memory Amber holds: arrays,
 * plan arenas and workspaces, and the allocator's cache of free blocks.  An
 * allocation that would pass it fails beforehand with AM_ERR_OOM naming the
 * op (and, in a plan, the node), the bytes asked and the limit.  GPU memory
 * is not counted.  The default is 80% of physical memory, or of the
 * cgroup's memory limit when that is lower; the environment variable
 * AM_MEMORY_LIMIT replaces it ("16G", "512M", "1.5GiB", a byte count,
 * "50%" of physical memory, or "none"; K = 1024).
 *
 * am_set_memory_limit sets it to bytes (> 0) for every thread; 0 restores
 * the default (AM_MEMORY_LIMIT or 80%), INT64_MAX lifts it.  A limit below
 * what is held already only makes later allocations fail.  AM_ERR_ARG for a
 * negative value. */
AM_API am_status am_set_memory_limit(int64_t bytes);

/* The limit in bytes (INT64_MAX when there is none).  -1 with AM_ERR_ARG
 * when AM_MEMORY_LIMIT holds no size and am_set_memory_limit has not
 * replaced it (every allocation then fails with the same error). */
AM_API int64_t am_get_memory_limit(void);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_ARRAY_H */
